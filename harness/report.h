/*
 * `poolbench report [RUN_DIR...]`: figures and a report for results
 * records, made from the record's flat CSV (results.csv) and the
 * "poolbench" block of its Google Benchmark JSON context only.
 *
 * Into RUN_DIR/report/ it writes, for each figure NAME, NAME.dat (the data
 * plotted), NAME.gp (the gnuplot script, "generated ...; do not edit"),
 * NAME.png and NAME.svg, then report.md and a self-contained report.html
 * that embeds the SVGs.  Figures, each drawn when the run has the data:
 *   gbps_DIR        GB/s per implementation, bars grouped by case, with the
 *                   in-run bandwidth reference of each case (one per
 *                   direction DIR: fwd_inf, fwd_train, bwd);
 *   pct_bw_DIR      the same as % of the bandwidth reference;
 *   speedup_DIR     speedup over naive per implementation;
 *   sweep_DIR       GB/s versus working-set bytes (log x) for the 2x2/2 max
 *                   cases of `bench --sweep`, one line per implementation,
 *                   the bandwidth reference, and the record's L1d, L2 and
 *                   last-level cache sizes as vertical lines (>= 3 sizes);
 *   threads         GB/s versus threads per implementation and the
 *                   reference (geometric mean over cases measured at every
 *                   thread count; >= 2 thread counts);
 *   history         chosen cases across all records of the same host (the
 *                   run directory's siblings), by commit.
 * Every figure has a title, axis labels with units, a legend and a footer
 * naming host, CPU, compiler and commit.
 */
#ifndef POOLBENCH_REPORT_H
#define POOLBENCH_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "pool.h"

#define PB_REPORT_MAX_HISTORY 16 /* --history-case patterns */

typedef struct pb_report_opts {
    bool plots;                 /* false: tables only (no gnuplot run) */
    const char *gnuplot;        /* program; NULL: "gnuplot" from PATH */
    const char *history[PB_REPORT_MAX_HISTORY]; /* case patterns (substring
                                   of "impl problem alg layout dir tN");
                                   none: one case per implementation */
    size_t n_history;
} pb_report_opts;

/* Writes RUN_DIR/report/.  On success *report_dir (may be NULL) gets
 * its path.  PB_ERR_IO / PB_ERR_PARSE with msg when the record cannot be
 * read or the output written; PB_ERR_LIBRARY when gnuplot fails (msg: its
 * last line); PB_ERR_NULL. */
pb_status pb_report_run(const char *run_dir, const pb_report_opts *opts, char *report_dir,
                        size_t report_dir_len, char *msg, size_t msg_len);

/* The newest record under `root` (default "results"): the greatest
 * record name (they start with a UTC timestamp) under root/<this host>/,
 * else under any root/<host>/.  PB_ERR_IO when there is none. */
pb_status pb_report_latest(const char *root, char *out, size_t out_len, char *msg,
                           size_t msg_len);

/* The subcommand: argv[0] is "report".  Returns the exit status: 0, or 2
 * with one line on err. */
int pb_report_main(int argc, char **argv, FILE *out, FILE *err);

#endif
