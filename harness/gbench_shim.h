/*
 * A thin C API over Google Benchmark 1.7 (the project's only C++ lives in
 * gbench_shim.cc).  The harness registers one C callback per case, runs
 * them with the library's own timing loop, flags and statistics, and gets
 * both the library's console output and its JSON, the JSON with a
 * `poolbench` object spliced into its "context".
 *
 * Timing loop: the callback runs its own loop,
 *     while (pb_gb_keep_running(st)) kernel(...);
 * pb_gb_keep_running() is one out-of-line call around the library's inline
 * State::KeepRunning(), about 1-2 ns per iteration here (measured by the
 * shim's unit test), below 1% of the smallest pooling case (a few hundred
 * ns).  A batch API (the callback runs N iterations per call) would hide
 * even that, but it would take setup, pause/resume for --cold and error
 * handling away from the C side; where a body is so short that 2 ns
 * matter, pb_gb_keep_running_batch() amortizes the call over n iterations.
 *
 * Flags: pb_gb_init() hands argv to benchmark::Initialize(), which consumes
 * the library's own flags (--benchmark_filter, --benchmark_repetitions,
 * --benchmark_min_time, --benchmark_enable_random_interleaving,
 * --benchmark_out, --benchmark_out_format, --benchmark_format,
 * --benchmark_color, ...) and leaves the rest in argv.
 */
#ifndef POOLBENCH_GBENCH_SHIM_H
#define POOLBENCH_GBENCH_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pool.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pb_gb_state pb_gb_state; /* a benchmark::State, opaque */
typedef struct pb_gb_bench pb_gb_bench; /* a registered benchmark, opaque */

/* The benchmark body.  Called several times per repetition (the library
 * first grows the iteration count until --benchmark_min_time is reached),
 * so it must be repeatable; it must run pb_gb_keep_running() until false
 * (or call pb_gb_skip_with_error() and return without looping). */
typedef void (*pb_gb_fn)(pb_gb_state *st, void *user);

/* Counter flags: combinations of Google Benchmark's Counter::Flags. */
#define PB_GB_COUNTER_RATE       0x1u /* kIsRate: value / elapsed seconds */
#define PB_GB_COUNTER_AVG_THREADS 0x2u /* kAvgThreads */
#define PB_GB_COUNTER_ITER_INVARIANT 0x4u /* kIsIterationInvariant: x iterations */
#define PB_GB_COUNTER_AVG_ITERS  0x8u /* kAvgIterations: / iterations */
#define PB_GB_COUNTER_INVERT     0x10u /* kInvert: 1 / value, last */
#define PB_GB_COUNTER_BASE1024   0x20u /* display with 1024 steps (Ki, Mi) */
#define PB_GB_COUNTER_ALL        0x3fu

/* Initializes the library from argv (benchmark::Initialize), consuming its
 * own flags; *argc and argv are updated to hold the rest.  Call once,
 * before pb_gb_register(); argv[0] is kept.  PB_ERR_NULL on NULL input.
 * Note: the library exits on a malformed value of one of its flags, as its
 * own programs do. */
pb_status pb_gb_init(int *argc, char **argv);

/* Registers `fn(st, user)` under `name` (copied).  The benchmark uses real
 * (wall) time, since the timed kernels may run OpenMP threads the library
 * cannot see.  *out (may be NULL) receives a handle for the setters below.
 * PB_ERR_NULL for a NULL name or fn, PB_ERR_PARSE for an empty name. */
pb_status pb_gb_register(const char *name, pb_gb_fn fn, void *user, pb_gb_bench **out);

/* Per-benchmark settings (they append "/repeats:N" or "/min_time:S" to the
 * name, as in the library; global flags do not).  n >= 1, seconds > 0,
 * else PB_ERR_PARSE. */
pb_status pb_gb_bench_repetitions(pb_gb_bench *b, int n);
pb_status pb_gb_bench_min_time(pb_gb_bench *b, double seconds);

/* Removes every registered benchmark (benchmark::ClearRegisteredBenchmarks);
 * handles become invalid. */
void pb_gb_clear(void);

/* The timing loop (see the header comment).  False once enough iterations
 * ran, or after pb_gb_skip_with_error(). */
bool pb_gb_keep_running(pb_gb_state *st);
/* The same for n >= 1 iterations at a time; the loop may overshoot by up
 * to n - 1 iterations, which the library counts. */
bool pb_gb_keep_running_batch(pb_gb_state *st, int64_t n);
/* Iterations completed so far (after the loop: the total of this run). */
int64_t pb_gb_iterations(const pb_gb_state *st);
/* Stop and restart the clock around untimed work inside the loop (costly,
 * a few hundred ns each: for --cold cache flushes, not per iteration of
 * short kernels). */
void pb_gb_pause(pb_gb_state *st);
void pb_gb_resume(pb_gb_state *st);

/* Sets counter `name` of this run.  With PB_GB_COUNTER_RATE the value is
 * a total over the run and the library divides by elapsed time, e.g.
 * bytes * iterations -> bytes/s.  PB_ERR_NULL / PB_ERR_PARSE on bad input
 * (unknown flag bits, empty name). */
pb_status pb_gb_set_counter(pb_gb_state *st, const char *name, double value, unsigned flags);
/* Label shown after the run (State::SetLabel). */
void pb_gb_set_label(pb_gb_state *st, const char *label);
/* Marks the run failed with `msg`; the library reports the message and
 * no timing.  If called before the loop, the loop is not entered. */
void pb_gb_skip_with_error(pb_gb_state *st, const char *msg);
bool pb_gb_error_occurred(const pb_gb_state *st);

/* Adds "key": "value" to the context of every report (console header and
 * JSON), via benchmark::AddCustomContext.  PB_ERR_NULL on NULL. */
pb_status pb_gb_add_context(const char *key, const char *value);

/* One report of a finished run, handed to the observer of pb_gb_run(). */
typedef struct pb_gb_report {
    const char *name;          /* run name, e.g. "naive/.../real_time" */
    const char *aggregate;     /* "" for a repetition, else "mean",
                                  "median", "stddev", "cv", ... */
    bool error;                /* SkipWithError was called */
    const char *error_message; /* "" unless error */
    int64_t iterations;
    int64_t repetition_index;  /* -1 for aggregates */
    int64_t repetitions;
    double real_time_ns;       /* per iteration; for "cv" a fraction */
    double cpu_time_ns;
    size_t counter_count;      /* user counters, finalized (rates are per second) */
    const char *const *counter_names;
    const double *counter_values;
} pb_gb_report;

typedef void (*pb_gb_observer)(const pb_gb_report *r, void *user);

/* Produces the "poolbench" context object once the benchmarks have run (so
 * it can describe the whole run): *json = a malloc'd JSON object (freed by
 * the shim), or NULL for none.  A status other than PB_OK aborts the
 * writing of the JSON and is returned by pb_gb_run(). */
typedef pb_status (*pb_gb_context_fn)(void *user, char **json);

/* Runs the registered benchmarks that match --benchmark_filter, reporting
 * to the console (the library's default display reporter, so
 * --benchmark_format and --benchmark_color apply; repetitions show as their
 * aggregates only) and, in full, as JSON to json_path (NULL: no JSON; the
 * file is opened first, so a bad path fails before anything runs).
 * context (may be NULL) is called after the runs; its object is inserted
 * as "poolbench", the first member of the JSON's "context".  observer (may
 * be NULL) sees every repetition and aggregate as it is reported.  *ran
 * (may be NULL) gets the number of benchmarks that matched.  PB_ERR_IO if
 * the JSON cannot be written; the file is empty when nothing ran
 * (--benchmark_list_tests). */
pb_status pb_gb_run(const char *json_path, pb_gb_context_fn context, void *context_user,
                    pb_gb_observer observer, void *user, size_t *ran);

#ifdef __cplusplus
}
#endif

#endif
