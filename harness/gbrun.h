/*
 * Reading a results record back: Google Benchmark's JSON (as written by
 * `poolbench bench` or any Google Benchmark program) into per-case series.
 *
 * What is read, from each entry of "benchmarks":
 *   case name   "run_name" (Google Benchmark >= 1.5), else "name";
 *   timings     "real_time" and "cpu_time" of every entry whose "run_type"
 *               is "iteration" (or absent: older versions), converted to
 *               nanoseconds by "time_unit"; with --benchmark_repetitions
 *               there is one such entry per repetition;
 *   aggregates  entries with run_type "aggregate" are not timings; the
 *               "median" one is kept as a fallback for records written with
 *               --benchmark_report_aggregates_only;
 *   counters    every other numeric key of an iteration entry; a counter
 *               is EXACT (deterministic, compared for any change) when its
 *               name starts with "sim_" or is listed in the record's
 *               context.poolbench.exact_counters array;
 *   errors      "error_occurred": true marks the case failed, with
 *               "error_message" (Google Benchmark's SkipWithError).
 * And from context.poolbench.cases[] (results/README.md), by benchmark
 * "name" (matched with or without the "/real_time" suffix):
 *   exact counters of its "counters" object (counted in a separate pass,
 *   e.g. `bench --counters sim`), attached to the case or, for a case
 *   that was not timed, to a new case without timings;
 *   "verify": FAIL or ERROR marks the case failed ("verify FAIL: detail").
 * Google Benchmark writes NaN and Infinity as bare words, which strict
 * JSON parsers refuse; they are read as missing values.
 */
#ifndef POOLBENCH_GBRUN_H
#define POOLBENCH_GBRUN_H

#include <stdbool.h>
#include <stddef.h>

#include "pool.h"

typedef struct pb_gbrun_counter {
    char *name;
    double value;    /* from the first iteration entry of the case */
    bool exact;      /* deterministic count: compared exactly */
} pb_gbrun_counter;

typedef struct pb_gbrun_case {
    char *name;                /* run_name */
    double *real_ns, *cpu_ns;  /* one per iteration entry (repetition) */
    size_t n;                  /* entries in real_ns / cpu_ns */
    size_t cap;
    double median_real_ns;     /* the "median" aggregate, NaN if absent */
    double median_cpu_ns;
    pb_gbrun_counter *counters;
    size_t ncounters;
    char *error;               /* error_message if the case failed, else NULL */
} pb_gbrun_case;

typedef struct pb_gbrun {
    char *path;                /* the JSON file actually read */
    pb_gbrun_case *cases;        /* in order of first appearance */
    size_t ncases;
    size_t cap;
    void *json;                /* the parsed document (jansson json_t *),
                                  for callers that read the context */
} pb_gbrun;

/* Loads `path`: a JSON file, or a run directory holding one (see
 * pb_gbrun_find_json).  On failure returns PB_ERR_IO (cannot open or
 * parse; msg says where and why), PB_ERR_PARSE (valid JSON but not a
 * benchmark record), PB_ERR_NOMEM or PB_ERR_NULL; *rec is then empty and
 * needs no free.  msg (msg_len bytes) gets one line without a newline. */
pb_status pb_gbrun_load(const char *path, pb_gbrun *rec, char *msg, size_t msg_len);

/* Frees what pb_gbrun_load allocated; safe on a zeroed record. */
void pb_gbrun_free(pb_gbrun *rec);

/* The JSON file of a run directory: "gbench.json" if present, else the only
 * *.json file in it.  Writes the path into out (out_len bytes).  PB_ERR_IO
 * when the directory cannot be read, has no JSON, or several candidates. */
pb_status pb_gbrun_find_json(const char *dir, char *out, size_t out_len, char *msg,
                              size_t msg_len);

/* The case named `name`, or NULL. */
const pb_gbrun_case *pb_gbrun_find(const pb_gbrun *rec, const char *name);

#endif
