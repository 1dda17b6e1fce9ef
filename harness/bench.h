/*
 * `poolbench bench`: verify, then time every selected case with Google
 * Benchmark, against the in-run bandwidth reference, and write a results
 * record (results.h).  Run `poolbench bench --help` for the options.
 */
#ifndef POOLBENCH_BENCH_H
#define POOLBENCH_BENCH_H

/* The subcommand.  argv[0] is the subcommand's name (ignored); the rest
 * are options.  Returns the exit status: 0 when every selected case was
 * timed or skipped with a reason, 1 when a case failed verification or
 * could not be timed, a reference failed its validation, or the record
 * could not be written (one-line message on stderr), 2 for a usage error
 * (one line on stderr). */
int pb_cmd_bench(int argc, char **argv);

#endif
