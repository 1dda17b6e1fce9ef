/*
 * Threads for the harness: run a function on T OpenMP threads (the same
 * runtime and fork-join cost the parallel kernels pay), pin those threads,
 * and describe the OpenMP settings for the results record.  Implemented in
 * par_openmp.c, the only harness file built with -fopenmp.
 */
#ifndef POOLBENCH_PAR_H
#define POOLBENCH_PAR_H

#include <stddef.h>

#include "pool.h"

/* Work of thread `tid` of `nth` (nth may be below the requested count if
 * the runtime gives fewer threads; fn must partition by nth). */
typedef void (*pb_par_fn)(void *ctx, int tid, int nth);

/* Runs fn on `threads` >= 1 threads: one call on the calling thread for 1,
 * an OpenMP parallel region otherwise.  PB_ERR_NULL / PB_ERR_PARSE on bad
 * input. */
pb_status pb_par_run(int threads, pb_par_fn fn, void *ctx);

/* Pins the calling thread to the first CPU it may run on and, for
 * threads > 1, the OpenMP team of that size one thread per CPU in the
 * order of the allowed set (libgomp reuses its threads, so later regions
 * of the same size run where they were pinned).  The CPUs are those of the
 * process's mask at the first call.  PB_ERR_PARSE if threads exceeds the
 * allowed CPUs; PB_ERR_LIBRARY (with msg) if sched_setaffinity fails. */
pb_status pb_par_pin(int threads, char *msg, size_t msg_len);
/* Restricts the calling thread to the first `threads` allowed CPUs as a
 * set, not one each: threads a library creates next (a pthreadpool in
 * prepare()) inherit the set and spread over it, where after pb_par_pin()
 * they would all inherit the one CPU of the caller.  Errors as pb_par_pin. */
pb_status pb_par_pin_set(int threads, char *msg, size_t msg_len);
/* Restores the calling thread's mask from before the first pb_par_pin(). */
void pb_par_unpin(void);
/* Number of CPUs the process may run on (its affinity mask), >= 1. */
int pb_par_cpus(void);
/* The allowed CPUs as a list ("0-1"), for the record. */
void pb_par_cpu_list(char *buf, size_t len);

/* OpenMP runtime settings: omp_get_max_threads(), the proc_bind policy
 * name, omp_get_dynamic(), and the _OPENMP version macro. */
typedef struct pb_par_info {
    int max_threads;
    const char *proc_bind; /* "false", "true", "master", "close", "spread" */
    int dynamic;
    int openmp_version;    /* e.g. 201511 */
} pb_par_info;
void pb_par_info_get(pb_par_info *out);

#endif
