/*
 * Hardware counters through PAPI (harness/counters.c, built when
 * libpapi-dev is installed: PB_HAVE_PAPI).
 *
 * A pb_counters handle is one PAPI event set for the calling thread:
 * PAPI counts the thread that calls start/stop, not OpenMP or pthreadpool
 * workers, so multi-threaded cases count the calling thread only.
 *
 * Where PAPI finds no usable counters (a VM without a virtual PMU: PAPI
 * reports 0 hardware counters), opening still succeeds with 0 events and
 * the status line says why, in PAPI's own words, with
 * /proc/sys/kernel/perf_event_paranoid and whether cpuid reports a
 * hypervisor.  No value is ever made up: with 0 events there is nothing to
 * start or read.
 */
#ifndef POOLBENCH_COUNTERS_H
#define POOLBENCH_COUNTERS_H

#include "pool.h"

#define PB_COUNTERS_MAX 16 /* events in one handle */

typedef struct pb_counters pb_counters;

/* Opens a handle.  spec:
 *   "papi"   the default set PAPI_TOT_CYC, PAPI_TOT_INS, PAPI_L1_DCM,
 *            PAPI_L2_DCM, PAPI_L3_TCM, each where this machine can count
 *            it (the others are named in the status);
 *   "none"   no events (status "unavailable: not requested (none)");
 *   a comma list of PAPI preset or native event names, all of which must
 *            be countable when the machine has counters at all.
 * Errors: PB_ERR_NULL; PB_ERR_PARSE for an empty name or more than
 * PB_COUNTERS_MAX names; PB_ERR_UNKNOWN_NAME for a name PAPI does not know
 * (a preset name always; a native name when the CPU component is enabled,
 * since a disabled component cannot resolve native names at all);
 * PB_ERR_UNSUPPORTED when the machine has counters but an explicitly
 * listed event cannot be added; PB_ERR_NOMEM.  On error *out is NULL and
 * pb_counters_open_error() has a one-line message. */
pb_status pb_counters_open(const char *spec, pb_counters **out);

/* The message of the calling thread's last failed pb_counters_open(), or
 * "" when the last one succeeded. */
const char *pb_counters_open_error(void);

/* Resolves one event name through PAPI into its code.  PB_ERR_NULL,
 * PB_ERR_UNKNOWN_NAME when PAPI does not know it, PB_ERR_LIBRARY when PAPI
 * cannot be initialized. */
pb_status pb_counters_lookup(const char *name, int *code);

/* Events the handle counts (0 when none can be counted) and the i-th one's
 * PAPI name (NULL when i is out of range or c is NULL). */
int pb_counters_count(const pb_counters *c);
const char *pb_counters_event(const pb_counters *c, int i);

/* Starts counting on the calling thread.  PB_ERR_UNSUPPORTED when the
 * handle has 0 events, PB_ERR_LIBRARY when PAPI refuses (e.g. already
 * running). */
pb_status pb_counters_start(pb_counters *c);

/* Stops and writes pb_counters_count(c) values, in event order, into
 * values.  PB_ERR_NULL, PB_ERR_UNSUPPORTED (0 events), PB_ERR_LIBRARY (not
 * running, or PAPI failed; values untouched). */
pb_status pb_counters_stop(pb_counters *c, long long *values);

/* One line for records and the terminal:
 *   "available: N events (A,B,...)" [+ "; not countable: X (PAPI's reason)"]
 *   "unavailable: <PAPI's own words>; perf_event_paranoid=<v>; hypervisor: yes (vendor)|no"
 * Valid until pb_counters_close(c); "invalid handle" for NULL. */
const char *pb_counters_status(const pb_counters *c);

/* Stops if running and frees.  NULL is a no-op. */
void pb_counters_close(pb_counters *c);

#endif
