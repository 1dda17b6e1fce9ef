/* The Google Benchmark shim: a C benchmark registered, run and reported. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gbench_shim.h"

#define N 256

typedef struct seen {
    int reps, aggregates, errors;
    double answer;        /* the plain counter of the last repetition */
    double rate;          /* bytes_per_second of the last repetition */
    double real_ns;       /* its time per iteration */
    int64_t iterations;
    char error_message[128];
    char name[128];
} seen;

static float data[N];

static void sum_body(pb_gb_state *st, void *user)
{
    (void)user;
    float acc = 0;
    while (pb_gb_keep_running(st))
        for (int i = 0; i < N; i++) acc += data[i];
    data[0] = acc * 0.0f; /* keep the loop */
    ck_assert_int_eq(pb_gb_set_counter(st, "answer", 42.0, 0), PB_OK);
    ck_assert_int_eq(pb_gb_set_counter(st, "bytes_per_second",
                                       (double)pb_gb_iterations(st) * N * sizeof(float),
                                       PB_GB_COUNTER_RATE),
                     PB_OK);
    /* invalid flag bits and names are refused, not passed on */
    ck_assert_int_eq(pb_gb_set_counter(st, "x", 1.0, 0x1000), PB_ERR_PARSE);
    ck_assert_int_eq(pb_gb_set_counter(st, "", 1.0, 0), PB_ERR_PARSE);
    ck_assert_int_eq(pb_gb_set_counter(NULL, "x", 1.0, 0), PB_ERR_NULL);
}

static void failing_body(pb_gb_state *st, void *user)
{
    (void)user;
    pb_gb_skip_with_error(st, "verify FAILED: poisoned output");
    ck_assert(pb_gb_error_occurred(st));
    while (pb_gb_keep_running(st)) {
    }
}

/* Batches of 8 with the clock paused around untimed work: the counter of
 * what the body ran must equal the iterations the library reports. */
static void batch_body(pb_gb_state *st, void *user)
{
    (void)user;
    double ran = 0;
    while (pb_gb_keep_running_batch(st, 8)) {
        pb_gb_pause(st);
        data[1] += 1.0f; /* untimed */
        pb_gb_resume(st);
        ran += 8;
    }
    pb_gb_set_counter(st, "answer", ran, 0);
    ck_assert(!pb_gb_keep_running_batch(st, 0)); /* n < 1 refused */
}

static void observe(const pb_gb_report *r, void *user)
{
    seen *s = user;
    if (r->error) {
        s->errors++;
        snprintf(s->error_message, sizeof s->error_message, "%s", r->error_message);
        return;
    }
    if (r->aggregate[0]) {
        s->aggregates++;
        return;
    }
    s->reps++;
    s->iterations = r->iterations;
    s->real_ns = r->real_time_ns;
    snprintf(s->name, sizeof s->name, "%s", r->name);
    for (size_t i = 0; i < r->counter_count; i++) {
        if (!strcmp(r->counter_names[i], "answer")) s->answer = r->counter_values[i];
        if (!strcmp(r->counter_names[i], "bytes_per_second")) s->rate = r->counter_values[i];
    }
}

static void init(const char *filter)
{
    static char arg0[] = "test_gbench", a1[] = "--benchmark_min_time=0.002",
                a2[] = "--benchmark_repetitions=3", a3[] = "--keep-me", fbuf[128];
    snprintf(fbuf, sizeof fbuf, "--benchmark_filter=%s", filter);
    char *argv[] = {arg0, a1, a2, fbuf, a3, NULL};
    int argc = 5;
    ck_assert_int_eq(pb_gb_init(&argc, argv), PB_OK);
    /* the library consumed its own flags and kept ours */
    ck_assert_int_eq(argc, 2);
    ck_assert_str_eq(argv[1], "--keep-me");
    pb_gb_clear();
}

START_TEST(test_runs_and_reports_counters)
{
    init("c_sum");
    pb_gb_bench *b = NULL;
    ck_assert_int_eq(pb_gb_register("c_sum", sum_body, NULL, &b), PB_OK);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(pb_gb_register("c_other", sum_body, NULL, NULL), PB_OK); /* filtered */
    seen s = {0};
    size_t ran = 0;
    ck_assert_int_eq(pb_gb_run(NULL, NULL, NULL, observe, &s, &ran), PB_OK);
    ck_assert_int_eq(ran, 1);
    ck_assert_int_eq(s.reps, 3);       /* --benchmark_repetitions=3 */
    ck_assert_int_eq(s.aggregates, 4); /* mean, median, stddev, cv */
    ck_assert_int_eq(s.errors, 0);
    ck_assert_str_eq(s.name, "c_sum/real_time");
    ck_assert(s.answer == 42.0);
    ck_assert(s.iterations > 1);
    /* the rate counter is bytes / elapsed real time: N*4 bytes per
     * iteration over the reported time per iteration, within rounding */
    double expect = N * 4.0 / (s.real_ns * 1e-9);
    ck_assert_msg(fabs(s.rate - expect) <= 1e-6 * expect, "rate %g expected %g", s.rate,
                  expect);
}
END_TEST

START_TEST(test_batch_and_pause)
{
    init("c_batch");
    ck_assert_int_eq(pb_gb_register("c_batch", batch_body, NULL, NULL), PB_OK);
    seen s = {0};
    ck_assert_int_eq(pb_gb_run(NULL, NULL, NULL, observe, &s, NULL), PB_OK);
    ck_assert_int_eq(s.reps, 3);
    ck_assert(s.iterations >= 8 && s.iterations % 8 == 0);
    ck_assert(s.answer == (double)s.iterations);
}
END_TEST

START_TEST(test_skip_with_error)
{
    init("c_fail");
    ck_assert_int_eq(pb_gb_register("c_fail", failing_body, NULL, NULL), PB_OK);
    seen s = {0};
    ck_assert_int_eq(pb_gb_run(NULL, NULL, NULL, observe, &s, NULL), PB_OK);
    ck_assert_int_eq(s.reps, 0);
    ck_assert(s.errors >= 1);
    ck_assert_str_eq(s.error_message, "verify FAILED: poisoned output");
}
END_TEST

/* The context block is made after the runs: it can describe them. */
static pb_status context_block(void *user, char **json)
{
    const seen *s = user;
    ck_assert_int_eq(s->reps, 3); /* called after the runs */
    *json = strdup("{\"schema\": 1, \"cpu\": {\"model\": \"x\"}}");
    return *json ? PB_OK : PB_ERR_NOMEM;
}

static pb_status failing_block(void *user, char **json)
{
    (void)user;
    *json = NULL;
    return PB_ERR_NOMEM;
}

START_TEST(test_json_with_context)
{
    init("c_sum");
    ck_assert_int_eq(pb_gb_register("c_sum", sum_body, NULL, NULL), PB_OK);
    ck_assert_int_eq(pb_gb_add_context("poolbench_commit", "abc123"), PB_OK);
    char path[] = "/tmp/pb_gbench_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    seen s = {0};
    ck_assert_int_eq(pb_gb_run(path, context_block, &s, observe, &s, NULL), PB_OK);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    unlink(path);
    /* a real nested object first in the context, the custom context key,
     * and the repetitions and aggregates of the run */
    ck_assert_ptr_nonnull(
        strstr(text, "\"context\": {\n    \"poolbench\": {\"schema\": 1, \"cpu\": {\"model\": \"x\"}},"));
    ck_assert_ptr_nonnull(strstr(text, "\"poolbench_commit\": \"abc123\""));
    ck_assert_ptr_nonnull(strstr(text, "\"name\": \"c_sum/real_time\""));
    ck_assert_ptr_nonnull(strstr(text, "\"aggregate_name\": \"median\""));
    ck_assert_ptr_nonnull(strstr(text, "\"answer\": 4.2000000000000000e+01"));
    /* an unwritable JSON path is an error, not a silent loss */
    ck_assert_int_eq(pb_gb_run("/nonexistent-dir/x.json", NULL, NULL, NULL, NULL, NULL),
                     PB_ERR_IO);
    /* a failing context callback fails the run's JSON */
    ck_assert_int_eq(pb_gb_run(path, failing_block, NULL, NULL, NULL, NULL), PB_ERR_NOMEM);
    unlink(path);
}
END_TEST

START_TEST(test_rejects)
{
    int argc = 1;
    ck_assert_int_eq(pb_gb_init(&argc, NULL), PB_ERR_NULL);
    ck_assert_int_eq(pb_gb_init(NULL, NULL), PB_ERR_NULL);
    pb_gb_bench *b = (pb_gb_bench *)&argc;
    ck_assert_int_eq(pb_gb_register(NULL, sum_body, NULL, &b), PB_ERR_NULL);
    ck_assert_ptr_null(b);
    ck_assert_int_eq(pb_gb_register("x", NULL, NULL, NULL), PB_ERR_NULL);
    ck_assert_int_eq(pb_gb_register("", sum_body, NULL, NULL), PB_ERR_PARSE);
    ck_assert_int_eq(pb_gb_register("rej", sum_body, NULL, &b), PB_OK);
    ck_assert_int_eq(pb_gb_bench_repetitions(b, 0), PB_ERR_PARSE);
    ck_assert_int_eq(pb_gb_bench_min_time(b, 0.0), PB_ERR_PARSE);
    ck_assert_int_eq(pb_gb_bench_min_time(b, NAN), PB_ERR_PARSE);
    ck_assert_int_eq(pb_gb_bench_repetitions(NULL, 3), PB_ERR_NULL);
    ck_assert_int_eq(pb_gb_bench_repetitions(b, 2), PB_OK);
    ck_assert_int_eq(pb_gb_bench_min_time(b, 0.001), PB_OK);
    ck_assert_int_eq(pb_gb_add_context(NULL, "v"), PB_ERR_NULL);
    ck_assert(!pb_gb_keep_running(NULL));
    ck_assert_int_eq(pb_gb_iterations(NULL), 0);
    pb_gb_clear();
}
END_TEST

Suite *pb_test_suite_gbench(void)
{
    Suite *s = suite_create("gbench");
    TCase *tc = tcase_create("shim");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_runs_and_reports_counters);
    tcase_add_test(tc, test_batch_and_pause);
    tcase_add_test(tc, test_skip_with_error);
    tcase_add_test(tc, test_json_with_context);
    tcase_add_test(tc, test_rejects);
    suite_add_tcase(s, tc);
    return s;
}
