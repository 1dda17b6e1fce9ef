/*
 * `poolbench compare OLD NEW`: regression comparison of two results
 * records, case by case (the case is Google Benchmark's run_name).
 *
 * Timings (real_time by default, --metric cpu_time for CPU time):
 *   old / new   medians of the repetitions (the "median" aggregate when a
 *               record holds aggregates only);
 *   change      new/old - 1;
 *   p           two-sided Mann-Whitney U test over the repetitions, as
 *               Google Benchmark's tools/compare.py does it: computed when
 *               both sides have >= 2 repetitions, flagged unreliable below
 *               9 (compare.py's UTEST_OPTIMAL_REPETITIONS);
 *   verdict     slower  change > +threshold and p < alpha,
 *               faster  change < -threshold and p < alpha,
 *               same    otherwise.  Without a p-value (one repetition on a
 *               side) the threshold alone decides, and the row says so.
 * Exact counters (gbrun.h: sim_* or context.poolbench.exact_counters) are
 * deterministic: every change is reported with its relative difference,
 * and an increase beyond the threshold counts as a regression.
 * A case that failed (error_occurred) in NEW but not in OLD is a
 * regression too.  With exact_only, slower timings are reported but do not
 * count: exact counters and failures alone decide.  Cases found on one side only are listed, never dropped.
 * The geometric mean of new/old median ratios is over the cases timed on
 * both sides.
 */
#ifndef POOLBENCH_COMPARE_H
#define POOLBENCH_COMPARE_H

#include <stdbool.h>
#include <stdio.h>

#include "gbrun.h"

#define PB_COMPARE_MIN_REPS 2     /* fewer on a side: no U test */
#define PB_COMPARE_GOOD_REPS 9    /* fewer: p-value flagged unreliable */

typedef struct pb_compare_opts {
    double threshold;   /* relative, e.g. 0.05 for 5% */
    double alpha;       /* significance level, e.g. 0.05 */
    bool cpu_time;      /* compare cpu_time instead of real_time */
    const char *filter; /* POSIX extended regex: only cases whose name
                           matches (either side); NULL: all */
    bool exact_only;    /* only exact counters (and new failures) decide;
                           timings are shown, not judged: the gate for
                           noisy machines with `bench --counters sim` */
} pb_compare_opts;

typedef enum pb_cmp_verdict {
    PB_CMP_SAME = 0,
    PB_CMP_FASTER,
    PB_CMP_SLOWER,
    PB_CMP_ONLY_OLD,    /* case absent from NEW */
    PB_CMP_ONLY_NEW,    /* case absent from OLD */
    PB_CMP_ERROR,       /* failed on a side (see error_old / error_new) */
    PB_CMP_UNTIMED      /* present on both sides, no usable timing */
} pb_cmp_verdict;

const char *pb_cmp_verdict_name(pb_cmp_verdict v); /* "same", "faster", ... */

typedef struct pb_cmp_counter {
    const char *name;   /* borrowed from the NEW record */
    double old_v, new_v;
    double change;      /* new/old - 1 (inf when old is 0 and new is not) */
    bool regression;    /* increase beyond the threshold */
} pb_cmp_counter;

typedef struct pb_cmp_row {
    const char *name;           /* borrowed from the records */
    pb_cmp_verdict verdict;
    double old_med, new_med;    /* ns; NaN when not available */
    double change;              /* new_med/old_med - 1, NaN if unknown */
    double p;                   /* NaN when no U test was possible */
    size_t old_n, new_n;        /* repetitions used */
    const char *error_old, *error_new;  /* error messages, borrowed */
    bool regression;            /* counts toward exit status 1 */
    pb_cmp_counter *counters;   /* exact counters present on both sides */
    size_t ncounters;
    size_t counters_changed;
} pb_cmp_row;

typedef struct pb_comparison {
    pb_compare_opts opts;
    const char *old_path, *new_path;  /* borrowed */
    pb_cmp_row *rows;           /* OLD's cases in order, then NEW-only ones */
    size_t nrows;
    double geomean;             /* of new/old ratios; NaN if no pair */
    size_t geomean_n;
    size_t regressions;         /* rows with regression set */
    size_t few_reps;            /* tested rows with fewer than 9 reps a side */
    size_t counters_compared, counters_changed;
} pb_comparison;

/* Compares two loaded records; the result borrows names from them, so
 * keep both alive until pb_comparison_free.  PB_ERR_NULL, PB_ERR_NOMEM,
 * PB_ERR_SHAPE for a threshold < 0 or alpha outside (0, 1), PB_ERR_PARSE
 * for a filter that is not a valid regex. */
pb_status pb_compare_records(const pb_gbrun *old_rec, const pb_gbrun *new_rec,
                             const pb_compare_opts *opts, pb_comparison *out);
void pb_comparison_free(pb_comparison *c);

typedef enum pb_cmp_format { PB_FMT_MD = 0, PB_FMT_CSV, PB_FMT_JSON } pb_cmp_format;

/* Writes the comparison to f in the given format.  PB_ERR_IO on a write
 * error, PB_ERR_NULL. */
pb_status pb_compare_print(const pb_comparison *c, pb_cmp_format fmt, FILE *f);

/* The whole subcommand: argv[0] is "compare", then options and OLD NEW.
 * Output goes to out, diagnostics to err.  Returns the exit status:
 * 0 no regression, 1 a significant regression, 2 usage or input error
 * (one line on err). */
int pb_compare_main(int argc, char **argv, FILE *out, FILE *err);

#endif
