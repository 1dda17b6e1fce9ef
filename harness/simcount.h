/*
 * Deterministic counts where there is no PMU: one case run under
 * valgrind's callgrind with cache simulation, counting the kernel call only.
 *
 * How: the driver (pb_sim_run) starts
 *     valgrind --tool=callgrind --cache-sim=yes --instr-atstart=no
 *              --collect-atstart=no --I1=.. --D1=.. --LL=..
 *              --callgrind-out-file=TMP  EXE sim-case --impl .. --problem ..
 * and the hidden subcommand `sim-case` (pb_sim_case_exec) sets the case up
 * (allocation, fill, the library's prepare: all uncounted), then
 *     CALLGRIND_START_INSTRUMENTATION    the cache simulator starts seeing
 *     kernel call                        warm-up: first touch, lazy init
 *     CALLGRIND_TOGGLE_COLLECT           counting on
 *     kernel call                        the counted call
 *     CALLGRIND_TOGGLE_COLLECT           counting off
 * so the counts cover exactly one kernel call with caches as the timed loop
 * sees them.  The driver then reads the `events:` and `totals:` lines of
 * callgrind's output file.
 *
 * Determinism: same binary, same case -> same counts.  The input is filled
 * from a fixed seed and the case runs with one thread (OMP_NUM_THREADS=1,
 * passive waiting), since thread interleaving changes spin counts.  The
 * simulated caches are pinned (defaults: I1 32 KiB 8-way, D1 48 KiB
 * 12-way, LL 32 MiB 16-way, 64 B lines, i.e. one Zen 5 core's L1 and a CCD's
 * L3) so counts do not depend on what valgrind detects on the host.
 * Valgrind does not emulate AVX-512: under it, the CPU probe reports AVX2 at
 * most and AVX-512 implementations are skipped with that reason.
 */
#ifndef POOLBENCH_SIMCOUNT_H
#define POOLBENCH_SIMCOUNT_H

#include <stdint.h>

#include "pool.h"

/* One case to count.  impl is a registry name or "best". */
typedef struct pb_sim_case {
    const char *impl;
    const char *problem;   /* problem string (harness/problem.h) */
    pb_alg alg;
    pb_layout layout;
    pb_dir dir;
} pb_sim_case;

/* A simulated cache level: total bytes, associativity, line bytes. */
typedef struct pb_sim_cache {
    long size, assoc, line;
} pb_sim_cache;

#define PB_SIM_I1_DEFAULT ((pb_sim_cache){32768, 8, 64})
#define PB_SIM_D1_DEFAULT ((pb_sim_cache){49152, 12, 64})
#define PB_SIM_LL_DEFAULT ((pb_sim_cache){33554432, 16, 64})

typedef struct pb_sim_config {
    const char *valgrind;   /* program to run; NULL: "valgrind" from PATH */
    pb_sim_cache i1, d1, ll;/* all-zero member: the default above */
} pb_sim_config;

/* Callgrind's events with --cache-sim=yes, for the counted kernel call. */
typedef struct pb_simcount {
    uint64_t ir;            /* instructions executed */
    uint64_t dr, dw;        /* data reads, writes */
    uint64_t i1mr;          /* I1 misses */
    uint64_t d1mr, d1mw;    /* D1 read, write misses */
    uint64_t ilmr;          /* LL instruction misses */
    uint64_t dlmr, dlmw;    /* LL data read, write misses */
    char d1_desc[80];       /* the simulated caches as callgrind reports */
    char ll_desc[80];       /* them, e.g. "49152 B, 64 B, 12-way associative" */
    char impl[64];          /* the implementation that ran ("best" resolved
                               under valgrind's CPU); pb_sim_run only */
} pb_simcount;

/* Counter names a record stores (sim_*: exact, see gbrun.h), in the order
 * pb_sim_values() returns them. */
#define PB_SIM_NCOUNTERS 9
extern const char *const pb_sim_counter_names[PB_SIM_NCOUNTERS];
void pb_sim_values(const pb_simcount *s, double values[PB_SIM_NCOUNTERS]);

/* Reads a callgrind output file: the `events:` line and the `totals:` line
 * (else `summary:`); events missing from the end of the totals line are 0,
 * as the format allows.  PB_ERR_IO if unreadable, PB_ERR_PARSE when the
 * lines are missing or the events are not callgrind's cache-sim set. */
pb_status pb_sim_parse_callgrind(const char *path, pb_simcount *out, char *msg, size_t msg_len);

/* Whether valgrind can be run: PB_OK, or PB_ERR_IO with the reason in why. */
pb_status pb_sim_available(const pb_sim_config *cfg, char *why, size_t why_len);

/* The running program's own path (/proc/self/exe), for pb_sim_run. */
pb_status pb_sim_self_exe(char *buf, size_t len);

/* Runs `exe sim-case ...` for case c under callgrind and returns its
 * counts.  cfg may be NULL (defaults).  PB_ERR_UNSUPPORTED when the
 * implementation declines the case under valgrind (msg: why, e.g. the
 * AVX-512 note above); PB_ERR_LIBRARY when valgrind or the case fails
 * (msg: the last line it printed); PB_ERR_IO for temporary-file trouble. */
pb_status pb_sim_run(const char *exe, const pb_sim_case *c, const pb_sim_config *cfg,
                     pb_simcount *out, char *msg, size_t msg_len);

/* Exit status of `sim-case` when the implementation declines the case;
 * on success it prints "poolbench: sim-case: ran IMPL" on stdout. */
#define PB_SIM_CASE_DECLINED 3

/* The inside of `sim-case`: sets the case up, runs the kernel with the
 * callgrind client requests around it (no-ops outside valgrind); *ran (may
 * be NULL) gets the implementation's registry name.
 * PB_ERR_UNSUPPORTED (msg says why) when the implementation declines;
 * other codes for bad arguments or a failing kernel. */
pb_status pb_sim_case_exec(const pb_sim_case *c, const char **ran, char *msg, size_t msg_len);

#endif
