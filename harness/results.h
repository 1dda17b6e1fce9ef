/*
 * Results records: results/<host>/<UTC stamp>-<short commit>/ holding
 *   gbench.json  Google Benchmark's JSON (readable by its tools/compare.py)
 *                with a "poolbench" object first in its "context";
 *   results.csv  one row per case, flat, for gnuplot.
 * Both are documented field by field in results/README.md.
 *
 * A record is written into a hidden temporary directory next to its final
 * place (.tmp-<name>-XXXXXX) and renamed into place only when complete,
 * never over an existing record (a taken name gets -2, -3, ...).  An
 * aborted run (error, SIGINT, SIGTERM, SIGHUP, exit() from a library)
 * removes the temporary directory, so no half-written record is ever
 * visible under a record's name.  Readers ignore names starting with '.'.
 */
#ifndef POOLBENCH_RESULTS_H
#define POOLBENCH_RESULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "bandwidth.h"
#include "bytes.h"
#include "json.h"
#include "pool.h"
#include "sysinfo.h"

/* ---- the record directory ---- */

typedef struct pb_record pb_record;

/* Creates <root>/<host>/ (and root) as needed and the temporary directory
 * for a record named `name` (no '/', not starting with '.').  On failure
 * returns PB_ERR_IO with a one-line message naming the path and the
 * system's reason (e.g. "cannot create results directory 'r/vm':
 * Permission denied"), PB_ERR_PARSE for a bad host or name, PB_ERR_NULL,
 * PB_ERR_NOMEM.  Only one record may be open at a time (PB_ERR_IO
 * otherwise): its cleanup runs from signal handlers. */
pb_status pb_record_begin(const char *root, const char *host, const char *name,
                          pb_record **out, char *msg, size_t msg_len);

/* Path of file `file` (a plain name) inside the record, for writing, and
 * registers it for cleanup.  At most PB_RECORD_MAX_FILES files. */
#define PB_RECORD_MAX_FILES 8
pb_status pb_record_path(pb_record *r, const char *file, char *path, size_t len);

/* The temporary directory (for messages and tests). */
const char *pb_record_tmpdir(const pb_record *r);

/* Syncs the files and renames the temporary directory to
 * <root>/<host>/<name>, or <name>-2 ... <name>-999 if taken, writing the
 * final path into final_path.  The record is closed either way (on
 * failure its temporary directory is removed).  PB_ERR_IO with msg. */
pb_status pb_record_commit(pb_record *r, char *final_path, size_t len, char *msg,
                           size_t msg_len);

/* Removes the temporary directory and its registered files; closes r. */
void pb_record_abort(pb_record *r);

/* "20261124T023126Z" for t (UTC); buf >= 17 bytes.  PB_ERR_NULL. */
pb_status pb_record_stamp(time_t t, char *buf, size_t len);

/* ---- what a run produced ---- */

#define PB_MAX_EVENTS 8

/* One case: an implementation on a problem, algorithm, layout, direction
 * and thread count.  Numbers not measured are NaN (empty in the CSV, null
 * in the JSON). */
typedef struct pb_case_result {
    char impl[32];        /* as selected: a registry name or "best" */
    char resolved[32];    /* the implementation that ran */
    char problem[160];    /* problem string (pb_problem_format) */
    char label[64];       /* the problem's label (nLABEL_ token), "" if none */
    pb_alg alg;
    pb_layout layout;
    pb_dir dir;
    int threads;
    char name[288];       /* Google Benchmark name, "" if not registered */
    char verify[8];       /* verdict before timing: "PASS", "FAIL",
                             "SKIPPED", "ERROR" (the check could not run) */
    char status[8];       /* final: "OK" (timed), "FAIL", "SKIPPED",
                             "ERROR" (verify or timing failed to run),
                             "NOTRUN" (filtered out by the library's flags) */
    char detail[320];     /* why, for anything but OK */
    pb_bytes bytes;       /* the byte model */
    int64_t reps;         /* repetitions measured */
    int64_t iterations;   /* iterations of the median repetition */
    double median_ns, mean_ns, stddev_ns, cv, min_ns, max_ns; /* per iteration */
    double gbps;          /* bytes.total / median, 1e9 B/s */
    double elems_per_s;   /* bytes.elements / median */
    int bw_index;         /* the matching reference in pb_run_info.bw, -1 none */
    double pct_bw;        /* 100 * gbps / reference best_gbps */
    double speedup;       /* naive's median / this median (same case) */
    double setup_ms;      /* prepare() outside the timed region (conversions,
                             primitive creation), one call */
    double convert_ms;    /* layout conversions of a backend that runs on its
                             own layout (onednn_blocked), to and back */
    double events[PB_MAX_EVENTS]; /* per iteration, aligned with pb_run_info.events */
    double ipc;           /* PAPI_TOT_INS / PAPI_TOT_CYC */
    double bytes_per_llc_miss; /* bytes.total / PAPI_L3_TCM */
} pb_case_result;

/* Clears a case: strings empty, numbers NaN, bw_index -1. */
void pb_case_result_init(pb_case_result *c);

typedef struct pb_run_info {
    const char *timestamp_utc;  /* ISO 8601, e.g. "2026-11-24T02:31:26Z" */
    const char *command_line;
    const pb_sysinfo *sys;
    /* options */
    const char *suite;          /* or NULL */
    int reps;
    double min_time_s;          /* 0 = the library's default */
    bool cold;
    const char *threads_list;   /* e.g. "1,2" */
    char pinned_cpus[64];       /* allowed CPU list threads were pinned to */
    /* bandwidth references */
    const pb_bw_result *bw;
    size_t n_bw;
    /* counters */
    const char *counters_spec;  /* as requested: "papi", "none", a list */
    const char *counters_backend;
    bool counters_available;
    const char *counters_status; /* one line, in PAPI's words when missing */
    const char *const *events;  /* event names, the CSV's counter columns */
    size_t n_events;
    /* cases */
    const pb_case_result *cases;
    size_t n_cases;
} pb_run_info;

/* Appends the "poolbench" context object for ri to j (as its top-level
 * value; init j with indent 4 to sit inside Google Benchmark's context).
 * PB_ERR_NULL, or the builder's status. */
pb_status pb_results_context_json(const pb_run_info *ri, pb_json *j);

/* Writes the CSV (header + one row per case) to path.  PB_ERR_IO. */
pb_status pb_results_write_csv(const char *path, const pb_run_info *ri);

/* One CSV field: written bare when it contains no comma, quote or line
 * break, else quoted with quotes doubled (RFC 4180). */
void pb_csv_field(FILE *f, const char *s);

#endif
