/* `poolbench compare`: reading Google Benchmark JSON records and the
 * regression verdicts, on synthetic records written by the test in the
 * exact shape Google Benchmark 1.7 writes (one "iteration" entry per
 * repetition, then mean/median/stddev/cv aggregates, NaN as a bare word). */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compare.h"

typedef struct syn_case {
    const char *name;
    const double *times;   /* per repetition, in `unit` */
    int reps;
    const char *unit;      /* "ns", "us", ... */
    double sim_ir;         /* < 0: no counter */
    const char *error;     /* error_message, or NULL */
} syn_case;

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/pb_test_compare_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void rm_tmpdir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

static void write_entry(FILE *f, const syn_case *c, const char *type, int rep, const char *agg,
                        double t, bool *first)
{
    fprintf(f, "%s    {\n      \"name\": \"%s%s%s\",\n      \"family_index\": 0,\n"
               "      \"per_family_instance_index\": 0,\n      \"run_name\": \"%s\",\n"
               "      \"run_type\": \"%s\",\n      \"repetitions\": %d,\n",
            *first ? "" : ",\n", c->name, agg ? "_" : "", agg ? agg : "", c->name, type, c->reps);
    *first = false;
    if (agg) fprintf(f, "      \"aggregate_name\": \"%s\",\n      \"aggregate_unit\": \"time\",\n", agg);
    else fprintf(f, "      \"repetition_index\": %d,\n", rep);
    if (c->error)
        fprintf(f, "      \"error_occurred\": true,\n      \"error_message\": \"%s\",\n", c->error);
    fprintf(f, "      \"threads\": 1,\n      \"iterations\": 1000,\n      \"real_time\": %.17g,\n"
               "      \"cpu_time\": %.17g,\n      \"time_unit\": \"%s\",\n      \"GB/s\": NaN",
            t, t * 0.99, c->unit);
    if (c->sim_ir >= 0) fprintf(f, ",\n      \"sim_Ir\": %.17g", c->sim_ir);
    fprintf(f, "\n    }");
}

/* Writes a Google Benchmark style record to tmpdir/name; returns its path. */
static const char *write_record(const char *name, const syn_case *cases, int n)
{
    static char paths[8][256];
    static int slot;
    char *path = paths[slot++ % 8];
    snprintf(path, 256, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "{\n  \"context\": {\n    \"date\": \"2025-01-01T00:00:00+00:00\",\n"
               "    \"host_name\": \"test\",\n    \"num_cpus\": 2,\n"
               "    \"load_avg\": [-Infinity, 0.5]\n  },\n  \"benchmarks\": [\n");
    bool first = true;
    for (int i = 0; i < n; i++) {
        const syn_case *c = &cases[i];
        for (int r = 0; r < c->reps; r++) write_entry(f, c, "iteration", r, NULL, c->times[r], &first);
        if (c->reps > 1 && !c->error) {
            write_entry(f, c, "aggregate", 0, "mean", c->times[0], &first);
            write_entry(f, c, "aggregate", 0, "median", c->times[0], &first);
        }
    }
    fprintf(f, "\n  ]\n}\n");
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

/* Runs the subcommand; captures stdout and stderr into the buffers. */
static int run_compare(const char *const *args, int nargs, char *out, size_t out_len, char *err,
                       size_t err_len)
{
    char *argv[16];
    argv[0] = (char *)"compare";
    for (int i = 0; i < nargs; i++) argv[i + 1] = (char *)args[i];
    FILE *fo = tmpfile(), *fe = tmpfile();
    ck_assert_ptr_nonnull(fo);
    ck_assert_ptr_nonnull(fe);
    int rc = pb_compare_main(nargs + 1, argv, fo, fe);
    rewind(fo);
    rewind(fe);
    size_t n = fread(out, 1, out_len - 1, fo);
    out[n] = 0;
    n = fread(err, 1, err_len - 1, fe);
    err[n] = 0;
    fclose(fo);
    fclose(fe);
    return rc;
}

static char out[1 << 16], err[4096];

/* Nine repetitions around 100 us, spread +-4% (a noisy but stable case). */
static const double base9[9] = {100, 103, 98, 101, 97, 104, 99, 102, 96};
static double slow9[9]; /* base9 * 2 */

static void setup(void)
{
    make_tmpdir();
    for (int i = 0; i < 9; i++) slow9[i] = 2 * base9[i];
}

START_TEST(test_identical_no_regression)
{
    syn_case c[] = {{"max/fwd_inf/nchw/naive/mb1ic64_ih56_k3s2", base9, 9, "us", 1000, NULL},
                    {"avg_incl/bwd/nhwc/naive/mb1ic64_ih56_k3s2", base9, 9, "ns", -1, NULL}};
    const char *a = write_record("a.json", c, 2), *b = write_record("b.json", c, 2);
    const char *args[] = {a, b};
    ck_assert_int_eq(run_compare(args, 2, out, sizeof out, err, sizeof err), 0);
    ck_assert_str_eq(err, "");
    ck_assert_ptr_nonnull(strstr(out, "| max/fwd_inf/nchw/naive/mb1ic64_ih56_k3s2 | 100.00 us | 100.00 us | +0.0% | 1.0000 | 9/9 | same |"));
    ck_assert_ptr_nonnull(strstr(out, "Exact counters: 1 compared, 0 changed."));
    ck_assert_ptr_nonnull(strstr(out, "Geometric mean of new/old over 2 cases: 1.0000 (+0.0%)"));
    ck_assert_ptr_nonnull(strstr(out, "Result: no regression"));
    ck_assert_ptr_null(strstr(out, "unreliable")); /* 9 reps: no warning */
}
END_TEST

/* A 2x slowdown over 9 reps: both samples completely separated, so
 * U = 81 and p = 4.1229e-4 (see test_stats.c, test_asymptotic_separated_9,
 * for the hand computation). */
START_TEST(test_2x_slowdown)
{
    syn_case o[] = {{"max/fwd_inf/nchw/best/p1", base9, 9, "us", -1, NULL}};
    syn_case n[] = {{"max/fwd_inf/nchw/best/p1", slow9, 9, "us", -1, NULL}};
    const char *a = write_record("old.json", o, 1), *b = write_record("new.json", n, 1);
    const char *args[] = {"--format", "json", a, b};
    ck_assert_int_eq(run_compare(args, 4, out, sizeof out, err, sizeof err), 1);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    ck_assert_msg(j != NULL, "output is not JSON: %s", je.text);
    json_t *row = json_array_get(json_object_get(j, "cases"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(row, "verdict")), "slower");
    ck_assert_double_eq_tol(json_number_value(json_object_get(row, "p_value")), 4.1229480206e-4, 1e-12);
    ck_assert(json_number_value(json_object_get(row, "p_value")) < 0.05);
    /* medians: 100 us -> 200 us, change +100% */
    ck_assert_double_eq_tol(json_number_value(json_object_get(row, "old_median_ns")), 100e3, 1e-6);
    ck_assert_double_eq_tol(json_number_value(json_object_get(row, "new_median_ns")), 200e3, 1e-6);
    ck_assert_double_eq_tol(json_number_value(json_object_get(row, "change")), 1.0, 1e-12);
    ck_assert(json_is_true(json_object_get(row, "regression")));
    ck_assert(json_is_true(json_object_get(row, "p_value_reliable")));
    ck_assert_int_eq(json_integer_value(json_object_get(j, "regressions")), 1);
    ck_assert_double_eq_tol(json_number_value(json_object_get(j, "geomean_ratio")), 2.0, 1e-9);
    json_decref(j);

    /* --exact-only: the slowdown is shown, not judged (no exact counter) */
    const char *eo[] = {"--exact-only", a, b};
    ck_assert_int_eq(run_compare(eo, 3, out, sizeof out, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(out, "| 100.00 us | 200.00 us | +100.0% | 0.0004 | 9/9 | slower |"));
    ck_assert_ptr_nonnull(strstr(out, "Result: no regression"));
    /* the same pair reversed is a speed-up: verdict faster, exit 0 */
    const char *rev[] = {b, a};
    ck_assert_int_eq(run_compare(rev, 2, out, sizeof out, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(out, "| 200.00 us | 100.00 us | -50.0% | 0.0004 | 9/9 | faster |"));
}
END_TEST

/* A shift inside the threshold is "same" even when significant; a large
 * median change on overlapping samples is "same" when p >= alpha. */
START_TEST(test_threshold_and_alpha)
{
    /* tight: 100.0 .. 100.8 us; up3 = tight * 1.03 = 103.0 .. 103.8 us,
     * every new value above every old one (U = 81, p = 4.1e-4) */
    double tight[9], up3[9];
    for (int i = 0; i < 9; i++) {
        tight[i] = 100 + 0.1 * i;
        up3[i] = tight[i] * 1.03;
    }
    /* overlap: four new repetitions tie old ones, five are ~20% slower.
     * By hand, U(new) = 0.5 + 1.5 + 2.5 + 3.5 (96..99 each beat the old
     * values below them and tie one) + 5 * 9 (120..124 beat all) = 53;
     * four tie pairs give a tie term of 4 * (8 - 2) = 24;
     * sigma^2 = 81/12 * (19 - 24/(18*17)) = 127.7205882...,
     * z = (53 - 40.5 - 0.5) / sigma = 1.06181973..., p = erfc(z/sqrt 2)
     * = 0.28831753... (Python math.erfc).  Medians 100 -> 120: +20%. */
    const double overlap[9] = {96, 97, 98, 99, 120, 121, 122, 123, 124};
    syn_case o[] = {{"shift3", tight, 9, "us", -1, NULL}, {"overlap", base9, 9, "us", -1, NULL}};
    syn_case n[] = {{"shift3", up3, 9, "us", -1, NULL}, {"overlap", overlap, 9, "us", -1, NULL}};
    pb_gbrun ro, rn;
    char msg[256];
    ck_assert_int_eq(pb_gbrun_load(write_record("o.json", o, 2), &ro, msg, sizeof msg), PB_OK);
    ck_assert_int_eq(pb_gbrun_load(write_record("n.json", n, 2), &rn, msg, sizeof msg), PB_OK);
    pb_compare_opts opts = {.threshold = 0.05, .alpha = 0.05, .cpu_time = false};
    pb_comparison c;
    ck_assert_int_eq(pb_compare_records(&ro, &rn, &opts, &c), PB_OK);
    ck_assert_int_eq(c.nrows, 2);
    /* +3% is below the 5% threshold: same, although significant */
    ck_assert_str_eq(c.rows[0].name, "shift3");
    ck_assert_double_eq_tol(c.rows[0].change, 0.03, 1e-12);
    ck_assert_double_eq_tol(c.rows[0].p, 4.1229480206e-4, 1e-12);
    ck_assert_int_eq(c.rows[0].verdict, PB_CMP_SAME);
    ck_assert_str_eq(c.rows[1].name, "overlap");
    ck_assert_double_eq_tol(c.rows[1].change, 0.20, 1e-12);
    ck_assert_double_eq_tol(c.rows[1].p, 0.2883175308961086, 1e-12);
    ck_assert_int_eq(c.rows[1].verdict, PB_CMP_SAME);
    ck_assert_int_eq(c.regressions, 0);
    pb_comparison_free(&c);
    /* at --threshold 2% the +3% shift is slower; at --alpha 0.3 the overlap is too */
    opts.threshold = 0.02;
    ck_assert_int_eq(pb_compare_records(&ro, &rn, &opts, &c), PB_OK);
    ck_assert_int_eq(c.rows[0].verdict, PB_CMP_SLOWER);
    ck_assert_int_eq(c.rows[1].verdict, PB_CMP_SAME);
    pb_comparison_free(&c);
    opts.alpha = 0.3;
    ck_assert_int_eq(pb_compare_records(&ro, &rn, &opts, &c), PB_OK);
    ck_assert_int_eq(c.rows[1].verdict, PB_CMP_SLOWER);
    ck_assert_int_eq(c.regressions, 2);
    pb_comparison_free(&c);
    pb_gbrun_free(&ro);
    pb_gbrun_free(&rn);
}
END_TEST

START_TEST(test_one_sided_cases_listed)
{
    syn_case o[] = {{"gone", base9, 9, "us", -1, NULL}, {"both", base9, 9, "us", -1, NULL}};
    syn_case n[] = {{"both", base9, 9, "us", -1, NULL}, {"added", base9, 9, "us", -1, NULL}};
    const char *a = write_record("o1.json", o, 2), *b = write_record("n1.json", n, 2);
    const char *args[] = {a, b};
    ck_assert_int_eq(run_compare(args, 2, out, sizeof out, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(out, "| gone | 100.00 us | - | - | - | 9/0 | only in OLD |"));
    ck_assert_ptr_nonnull(strstr(out, "| added | - | 100.00 us | - | - | 0/9 | only in NEW |"));
    ck_assert_ptr_nonnull(strstr(out, "| both | 100.00 us | 100.00 us | +0.0% |"));
    ck_assert_ptr_nonnull(strstr(out, "over 1 cases"));
    /* --filter keeps the matching cases only, on both sides */
    const char *flt[] = {"--filter", "^(gone|added)$", a, b};
    ck_assert_int_eq(run_compare(flt, 4, out, sizeof out, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(out, "| gone |"));
    ck_assert_ptr_nonnull(strstr(out, "| added |"));
    ck_assert_ptr_null(strstr(out, "| both |"));
    ck_assert_ptr_nonnull(strstr(out, "Geometric mean: no case timed on both sides"));
    const char *badre[] = {"--filter", "(", a, b};
    ck_assert_int_eq(run_compare(badre, 4, out, sizeof out, err, sizeof err), 2);
    ck_assert_ptr_nonnull(strstr(err, "--filter"));
    /* CSV lists them too, one row each */
    const char *csv[] = {"--format=csv", a, b};
    ck_assert_int_eq(run_compare(csv, 3, out, sizeof out, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(out, "kind,case,metric,old,new,change,p_value,old_reps,new_reps,verdict,regression\n"));
    ck_assert_ptr_nonnull(strstr(out, "time,gone,real_time_ns,100000,,,,9,0,only_old,0\n"));
    ck_assert_ptr_nonnull(strstr(out, "time,added,real_time_ns,,100000,,,0,9,only_new,0\n"));
    ck_assert_ptr_nonnull(strstr(out, "time,both,real_time_ns,100000,100000,0,1,9,9,same,0\n"));
}
END_TEST

START_TEST(test_few_reps_flagged)
{
    /* 5 reps each, separated: exact two-sided p = 2/C(10,5) = 2/252 =
     * 0.0079365 (by hand: one ordering of 252 has U = 0), flagged '*' */
    const double o5[] = {10, 11, 12, 13, 14}, n5[] = {30, 31, 32, 33, 34};
    syn_case o[] = {{"k", o5, 5, "ns", -1, NULL}};
    syn_case n[] = {{"k", n5, 5, "ns", -1, NULL}};
    const char *a = write_record("o5.json", o, 1), *b = write_record("n5.json", n, 1);
    const char *args[] = {a, b};
    ck_assert_int_eq(run_compare(args, 2, out, sizeof out, err, sizeof err), 1);
    ck_assert_ptr_nonnull(strstr(out, "| k | 12.0 ns | 32.0 ns | +166.7% | 0.0079* | 5/5 | **slower** |"));
    ck_assert_ptr_nonnull(strstr(out, "fewer than 9 repetitions on a side"));
    /* one repetition: no U test, the threshold alone decides */
    syn_case o1[] = {{"k", o5, 1, "ns", -1, NULL}};
    syn_case n1[] = {{"k", n5, 1, "ns", -1, NULL}};
    a = write_record("o1r.json", o1, 1);
    b = write_record("n1r.json", n1, 1);
    const char *args1[] = {a, b};
    ck_assert_int_eq(run_compare(args1, 2, out, sizeof out, err, sizeof err), 1);
    ck_assert_ptr_nonnull(strstr(out, "| k | 10.0 ns | 30.0 ns | +200.0% | - | 1/1 | **slower** |"));
    ck_assert_ptr_nonnull(strstr(out, "no U test"));
}
END_TEST

START_TEST(test_exact_counters)
{
    /* times identical; Ir 1000000 -> 1000001 (+0.0001%): reported, not a
     * regression; Ir 1000000 -> 1100000 (+10%): a regression */
    syn_case o[] = {{"a", base9, 9, "us", 1000000, NULL}, {"b", base9, 9, "us", 1000000, NULL}};
    syn_case n[] = {{"a", base9, 9, "us", 1000001, NULL}, {"b", base9, 9, "us", 1100000, NULL}};
    const char *pa = write_record("oc.json", o, 2), *pb = write_record("nc.json", n, 2);
    const char *args[] = {pa, pb};
    ck_assert_int_eq(run_compare(args, 2, out, sizeof out, err, sizeof err), 1);
    ck_assert_ptr_nonnull(strstr(out, "Exact counters: 2 compared, 2 changed."));
    ck_assert_ptr_nonnull(strstr(out, "| a | sim_Ir | 1000000 | 1000001 | +0.0% |\n"));
    ck_assert_ptr_nonnull(strstr(out, "| b | sim_Ir | 1000000 | 1100000 | +10.0% **regression** |\n"));
    /* --exact-only: the counters still decide */
    const char *eo[] = {"--exact-only", pa, pb};
    ck_assert_int_eq(run_compare(eo, 3, out, sizeof out, err, sizeof err), 1);
    ck_assert_ptr_nonnull(strstr(out, "Exact counters only (--exact-only)"));
    const char *js[] = {"--format", "json", pa, pb};
    ck_assert_int_eq(run_compare(js, 4, out, sizeof out, err, sizeof err), 1);
    json_t *j = json_loads(out, 0, NULL);
    ck_assert_ptr_nonnull(j);
    json_t *ca = json_array_get(json_object_get(json_array_get(json_object_get(j, "cases"), 0), "exact_counters"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(ca, "name")), "sim_Ir");
    ck_assert_double_eq_tol(json_number_value(json_object_get(ca, "change")), 1e-6, 1e-15);
    ck_assert(json_is_false(json_object_get(ca, "regression")));
    json_decref(j);
}
END_TEST

START_TEST(test_errors_and_bad_input)
{
    syn_case o[] = {{"a", base9, 9, "us", -1, NULL}};
    syn_case n[] = {{"a", base9, 9, "us", -1, "verify failed: max differs at (0,0,1,2)"}};
    const char *pa = write_record("oe.json", o, 1), *pb = write_record("ne.json", n, 1);
    const char *args[] = {pa, pb};
    /* a case that now fails is a regression */
    ck_assert_int_eq(run_compare(args, 2, out, sizeof out, err, sizeof err), 1);
    ck_assert_ptr_nonnull(strstr(out, "| a | - | - | - | - | 0/0 | **error in NEW** |"));
    ck_assert_ptr_nonnull(strstr(out, "- NEW error in a: verify failed: max differs at (0,0,1,2)"));

    /* unreadable inputs: one line on stderr, exit 2, nothing on stdout */
    char missing[300], notjson[300], notbench[300];
    snprintf(missing, sizeof missing, "%s/missing.json", tmpdir);
    snprintf(notjson, sizeof notjson, "%s/bad.json", tmpdir);
    snprintf(notbench, sizeof notbench, "%s/other.json", tmpdir);
    FILE *f = fopen(notjson, "w");
    fputs("{ \"benchmarks\": [ ", f);
    fclose(f);
    f = fopen(notbench, "w");
    fputs("{ \"hello\": 1 }", f);
    fclose(f);
    const char *const bad[][2] = {{missing, pb}, {pa, notjson}, {notbench, pb}, {tmpdir, pb}};
    const char *why[] = {"No such file", "not valid JSON", "not a Google Benchmark record",
                         ".json files, name one"};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(run_compare(bad[i], 2, out, sizeof out, err, sizeof err), 2);
        ck_assert_str_eq(out, "");
        ck_assert_msg(strstr(err, why[i]) != NULL, "case %d: %s", i, err);
        ck_assert_msg(strncmp(err, "poolbench: compare: ", 20) == 0, "%s", err);
        ck_assert_msg(strchr(err, '\n') == err + strlen(err) - 1, "not one line: %s", err);
    }
    /* bad options */
    const char *o1[] = {"--threshold", "abc", pa, pb};
    ck_assert_int_eq(run_compare(o1, 4, out, sizeof out, err, sizeof err), 2);
    const char *o2[] = {"--alpha", "1.5", pa, pb};
    ck_assert_int_eq(run_compare(o2, 4, out, sizeof out, err, sizeof err), 2);
    const char *o3[] = {"--format", "xml", pa, pb};
    ck_assert_int_eq(run_compare(o3, 4, out, sizeof out, err, sizeof err), 2);
    const char *o4[] = {pa};
    ck_assert_int_eq(run_compare(o4, 1, out, sizeof out, err, sizeof err), 2);
}
END_TEST

/* A run directory is accepted for a JSON file: the only .json in it, or
 * gbench.json among several. */
START_TEST(test_run_directory)
{
    char run[300], file[400];
    snprintf(run, sizeof run, "%s/run1", tmpdir);
    ck_assert_int_eq(mkdir(run, 0755), 0);
    syn_case c[] = {{"a", base9, 9, "us", -1, NULL}};
    const char *p = write_record("run1/gbench.json", c, 1);
    char found[512];
    ck_assert_int_eq(pb_gbrun_find_json(run, found, sizeof found, NULL, 0), PB_OK);
    ck_assert_str_eq(found, p);
    snprintf(file, sizeof file, "%s/run1/notes.json", tmpdir);
    FILE *f = fopen(file, "w");
    fputs("{}", f);
    fclose(f);
    ck_assert_int_eq(pb_gbrun_find_json(run, found, sizeof found, NULL, 0), PB_OK);
    ck_assert_str_eq(found, p);
    const char *args[] = {run, p};
    ck_assert_int_eq(run_compare(args, 2, out, sizeof out, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(out, "| a | 100.00 us | 100.00 us | +0.0% | 1.0000 | 9/9 | same |"));
}
END_TEST

/* The reader itself: time units, aggregates, counters, NaN words. */
START_TEST(test_record_reader)
{
    const double t3[] = {1.5, 2.5, 3.5};
    syn_case c[] = {{"ms_case", t3, 3, "ms", 42, NULL}};
    pb_gbrun r;
    char msg[256];
    ck_assert_int_eq(pb_gbrun_load(write_record("r.json", c, 1), &r, msg, sizeof msg), PB_OK);
    ck_assert_int_eq(r.ncases, 1);
    const pb_gbrun_case *k = pb_gbrun_find(&r, "ms_case");
    ck_assert_ptr_nonnull(k);
    ck_assert_int_eq(k->n, 3); /* aggregates are not repetitions */
    ck_assert_double_eq(k->real_ns[1], 2.5e6);
    ck_assert_double_eq_tol(k->cpu_ns[1], 2.5e6 * 0.99, 1e-3);
    ck_assert_double_eq(k->median_real_ns, 1.5e6); /* the writer's "median" entry */
    /* GB/s (NaN -> null, not a number) is dropped; sim_Ir is exact */
    ck_assert_int_eq(k->ncounters, 1);
    ck_assert_str_eq(k->counters[0].name, "sim_Ir");
    ck_assert(k->counters[0].exact);
    ck_assert_double_eq(k->counters[0].value, 42);
    ck_assert_ptr_null(pb_gbrun_find(&r, "nope"));
    pb_gbrun_free(&r);
    pb_gbrun_free(&r); /* idempotent on a freed record */
}
END_TEST

/* A record as `poolbench bench` writes it: exact counters and verify
 * verdicts live in context.poolbench.cases[], keyed by the benchmark name
 * without "/real_time". */
static const char *write_pb_record(const char *file, double ir_a, const char *verify_b)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, file);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "{\"context\": {\"poolbench\": {\"cases\": [\n"
               " {\"name\": \"naive/p/max/nchw/fwd_inf/threads:1\", \"verify\": \"PASS\",\n"
               "  \"counters\": {\"sim_Ir\": %.17g, \"sim_D1mr\": 40, \"ipc\": null}},\n"
               " {\"name\": \"avx2/p/max/nchw/fwd_inf/threads:1\", \"verify\": \"%s\",\n"
               "  \"detail\": \"max differs at (0,0,1,2)\", \"counters\": {\"PAPI_TOT_INS\": 5}}]}},\n"
               " \"benchmarks\": [", ir_a, verify_b);
    for (int r = 0; r < 9; r++)
        fprintf(f, "%s{\"name\": \"naive/p/max/nchw/fwd_inf/threads:1/real_time\", \"run_name\": "
                   "\"naive/p/max/nchw/fwd_inf/threads:1/real_time\", \"run_type\": \"iteration\", "
                   "\"real_time\": %g, \"cpu_time\": %g, \"time_unit\": \"ns\", \"bytes_per_second\": 1e9}",
                r ? ",\n" : "", base9[r], base9[r]);
    fprintf(f, "]}\n");
    fclose(f);
    return path;
}

START_TEST(test_poolbench_context_cases)
{
    char a[256], b[256];
    snprintf(a, sizeof a, "%s", write_pb_record("pa.json", 1000, "PASS"));
    snprintf(b, sizeof b, "%s", write_pb_record("pb.json", 1250, "FAIL"));
    pb_gbrun r;
    char msg[256];
    ck_assert_int_eq(pb_gbrun_load(a, &r, msg, sizeof msg), PB_OK);
    /* the timed case got its exact counters from the context (not ipc:
     * null, not PAPI: not exact, not bytes_per_second: a rate) */
    const pb_gbrun_case *c = pb_gbrun_find(&r, "naive/p/max/nchw/fwd_inf/threads:1/real_time");
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->n, 9);
    size_t exact = 0;
    for (size_t k = 0; k < c->ncounters; k++) exact += c->counters[k].exact;
    ck_assert_int_eq(exact, 2);
    /* the PASSing, untimed avx2 case with no exact counter is not a case */
    ck_assert_ptr_null(pb_gbrun_find(&r, "avx2/p/max/nchw/fwd_inf/threads:1"));
    pb_gbrun_free(&r);

    const char *args[] = {a, b};
    ck_assert_int_eq(run_compare(args, 2, out, sizeof out, err, sizeof err), 1);
    /* Ir +25%: an exact-counter regression; avx2 failing verify: listed */
    ck_assert_ptr_nonnull(strstr(out, "| naive/p/max/nchw/fwd_inf/threads:1/real_time | sim_Ir | 1000 | 1250 | +25.0% **regression** |"));
    ck_assert_ptr_nonnull(strstr(out, "| avx2/p/max/nchw/fwd_inf/threads:1 | - | - | - | - | 0/0 | only in NEW, failed |"));
    ck_assert_ptr_nonnull(strstr(out, "- NEW error in avx2/p/max/nchw/fwd_inf/threads:1: verify FAIL: max differs at (0,0,1,2)\n"));
    ck_assert_ptr_nonnull(strstr(out, "Exact counters: 2 compared, 1 changed."));
}
END_TEST

Suite *pb_test_suite_compare(void)
{
    Suite *s = suite_create("compare");
    TCase *tc = tcase_create("compare");
    tcase_add_checked_fixture(tc, setup, rm_tmpdir);
    tcase_add_test(tc, test_identical_no_regression);
    tcase_add_test(tc, test_2x_slowdown);
    tcase_add_test(tc, test_threshold_and_alpha);
    tcase_add_test(tc, test_one_sided_cases_listed);
    tcase_add_test(tc, test_few_reps_flagged);
    tcase_add_test(tc, test_exact_counters);
    tcase_add_test(tc, test_errors_and_bad_input);
    tcase_add_test(tc, test_run_directory);
    tcase_add_test(tc, test_record_reader);
    tcase_add_test(tc, test_poolbench_context_cases);
    suite_add_tcase(s, tc);
    return s;
}
