/* The bandwidth reference: shapes, sizes, validation, real measurements. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "bandwidth.h"
#include "par.h"

#include <sched.h>

START_TEST(test_shape_for)
{
    pb_bw_shape s;
    /* pool1 forward: 3211264 read, 802816 written -> read-4/write-1 */
    ck_assert_int_eq(pb_bw_shape_for(3211264, 802816, &s), PB_OK);
    ck_assert_int_eq(s.reads, 4);
    ck_assert_int_eq(s.writes, 1);
    /* its max backward: 1605632 read, 3211264 written -> read-1/write-2 */
    ck_assert_int_eq(pb_bw_shape_for(1605632, 3211264, &s), PB_OK);
    ck_assert_int_eq(s.reads, 1);
    ck_assert_int_eq(s.writes, 2);
    /* copy, rounding (2.4 -> 2, 2.6 -> 3), and the clamp at 16 (global 7x7: 49) */
    ck_assert_int_eq(pb_bw_shape_for(100, 100, &s), PB_OK);
    ck_assert(s.reads == 1 && s.writes == 1);
    ck_assert_int_eq(pb_bw_shape_for(240, 100, &s), PB_OK);
    ck_assert(s.reads == 2 && s.writes == 1);
    ck_assert_int_eq(pb_bw_shape_for(100, 260, &s), PB_OK);
    ck_assert(s.reads == 1 && s.writes == 3);
    ck_assert_int_eq(pb_bw_shape_for(49 * 4096, 4096, &s), PB_OK);
    ck_assert(s.reads == 16 && s.writes == 1);
    ck_assert_int_eq(pb_bw_shape_for(0, 10, &s), PB_ERR_SHAPE);
    ck_assert_int_eq(pb_bw_shape_for(10, 10, NULL), PB_ERR_NULL);
    ck_assert(!pb_bw_shape_ok((pb_bw_shape){2, 2}));
    ck_assert(!pb_bw_shape_ok((pb_bw_shape){17, 1}));
    ck_assert(!pb_bw_shape_ok((pb_bw_shape){0, 1}));
}
END_TEST

/* Every shape, ISA and store kind computes what validation expects;
 * sizes honoured. */
START_TEST(test_all_kernels_validate)
{
    for (int isa = 0; isa < PB_ISA_COUNT; isa++) {
        if (!pb_cpu_can_run((pb_isa)isa, NULL)) continue;
        for (int nt = 0; nt < 2; nt++)
        for (int side = 0; side < 2; side++)
            for (int k = side ? 2 : 1; k <= PB_BW_MAX_STREAMS; k++) {
                pb_bw_shape sh = side ? (pb_bw_shape){1, k} : (pb_bw_shape){k, 1};
                pb_bw_buffers b;
                int64_t bytes = (int64_t)(k + 1) * 4 * 1000; /* 1000 floats/stream */
                ck_assert_int_eq(pb_bw_alloc(sh, bytes, 2, &b), PB_OK);
                ck_assert_int_eq(b.elems, 960); /* rounded down to 64-float blocks */
                ck_assert_int_eq(pb_bw_pass_bytes(&b), (int64_t)(k + 1) * 4 * 960);
                char msg[200];
                ck_assert(!pb_bw_validate(&b, msg, sizeof msg)); /* NaN-poisoned */
                ck_assert_int_eq(pb_bw_pass(&b, 2, (pb_isa)isa, nt), PB_OK);
                ck_assert_msg(pb_bw_validate(&b, msg, sizeof msg), "isa %d r%dw%d nt %d: %s",
                              isa, sh.reads, sh.writes, nt, msg);
                for (int s = 0; s < sh.reads + sh.writes; s++) {
                    const void *p = s < sh.reads ? (const void *)b.src[s]
                                                 : (const void *)b.dst[s - sh.reads];
                    ck_assert_int_eq((uintptr_t)p % 64, 0);
                }
                pb_bw_free(&b);
            }
    }
}
END_TEST

START_TEST(test_validation_catches_corruption)
{
    pb_bw_buffers b;
    ck_assert_int_eq(pb_bw_alloc((pb_bw_shape){3, 1}, 64 * 1024, 1, &b), PB_OK);
    ck_assert_int_eq(pb_bw_pass(&b, 1, PB_ISA_BASELINE, false), PB_OK);
    char msg[200];
    ck_assert(pb_bw_validate(&b, msg, sizeof msg));
    /* element 1000 = src0 + src1 + src2 = 1000 + 1003 + 1006 & 1023 ... */
    float good = b.dst[0][1000];
    ck_assert(good == (float)(1000 + 1003 + (1006 & 1023)));
    b.dst[0][1000] = good + 1.0f;
    ck_assert(!pb_bw_validate(&b, msg, sizeof msg));
    ck_assert_ptr_nonnull(strstr(msg, "element 1000"));
    pb_bw_free(&b);

    ck_assert_int_eq(pb_bw_alloc((pb_bw_shape){1, 4}, 64 * 1024, 1, &b), PB_OK);
    ck_assert_int_eq(pb_bw_pass(&b, 1, PB_ISA_BASELINE, false), PB_OK);
    ck_assert(pb_bw_validate(&b, msg, sizeof msg));
    ck_assert(b.dst[3][7] == 7.0f + 3.0f);
    b.dst[3][b.elems - 1] = NAN; /* the last element of the last stream */
    ck_assert(!pb_bw_validate(&b, msg, sizeof msg));
    ck_assert_ptr_nonnull(strstr(msg, "destination 3"));
    pb_bw_free(&b);
}
END_TEST

START_TEST(test_measure)
{
    /* a real measurement: positive finite GB/s, ordered best >= mean >=
     * worst, the requested size and thread count, validated */
    int threads[] = {1, 2};
    for (int t = 0; t < 2; t++)
        for (int cold = 0; cold < 2; cold++) {
            pb_bw_config c = {.shape = {4, 1}, .bytes = 1 << 20, .threads = threads[t],
                              .trials = 4, .min_trial_s = 2e-4, .cold = cold,
                              .isa = PB_ISA_COUNT};
            pb_bw_result r;
            char msg[200];
            ck_assert_int_eq(pb_bw_measure(&c, &r, msg, sizeof msg), PB_OK);
            ck_assert_msg(r.valid, "%s", msg);
            ck_assert(isfinite(r.best_gbps) && r.best_gbps > 0);
            ck_assert(r.best_gbps >= r.mean_gbps && r.mean_gbps >= r.worst_gbps);
            ck_assert(r.worst_gbps > 0 && r.spread >= 0);
            /* 1 MiB over 5 streams: 52428 floats -> 52416 (819 blocks) */
            ck_assert_int_eq(r.elems, 52416);
            ck_assert_int_eq(r.bytes, 5 * 4 * 52416);
            ck_assert_int_eq(r.threads, threads[t]);
            ck_assert_int_eq(r.cold, cold);
            ck_assert_int_eq(r.trials, 4);
            ck_assert_int_eq(r.isa, pb_cpu_isa());
            if (cold) ck_assert_int_eq(r.passes, 1);
            /* both store kinds timed; the reference is the faster one */
            ck_assert(isfinite(r.ordinary_gbps) && isfinite(r.streaming_gbps));
            ck_assert(r.best_gbps == (r.streaming ? r.streaming_gbps : r.ordinary_gbps));
            ck_assert(r.best_gbps >= r.ordinary_gbps && r.best_gbps >= r.streaming_gbps);
            ck_assert(r.timer_res_s > 0 && r.timer_res_s < 1e-3);
            char id[64];
            pb_bw_id(&r, id, sizeof id);
            ck_assert_str_eq(id, cold ? (t ? "r4w1-1.05MB-t2-cold" : "r4w1-1.05MB-t1-cold")
                                      : (t ? "r4w1-1.05MB-t2" : "r4w1-1.05MB-t1"));
        }
}
END_TEST

/* One store kind on request: the other is not timed. */
START_TEST(test_measure_one_store_kind)
{
    for (int k = PB_BW_STORES_ORDINARY; k <= PB_BW_STORES_STREAMING; k++) {
        pb_bw_config c = {.shape = {1, 2}, .bytes = 256 << 10, .threads = 1, .trials = 2,
                          .min_trial_s = 2e-4, .isa = PB_ISA_COUNT, .stores = (pb_bw_stores)k};
        pb_bw_result r;
        char msg[200];
        ck_assert_int_eq(pb_bw_measure(&c, &r, msg, sizeof msg), PB_OK);
        ck_assert_msg(r.valid, "%s", msg);
        bool nt = k == PB_BW_STORES_STREAMING;
        ck_assert_int_eq(r.streaming, nt);
        ck_assert(isnan(nt ? r.ordinary_gbps : r.streaming_gbps));
        ck_assert(r.best_gbps == (nt ? r.streaming_gbps : r.ordinary_gbps));
    }
    pb_bw_config bad = {.shape = {1, 1}, .bytes = 4096, .threads = 1, .isa = PB_ISA_COUNT,
                        .stores = (pb_bw_stores)3};
    pb_bw_result r;
    ck_assert_int_eq(pb_bw_measure(&bad, &r, NULL, 0), PB_ERR_PARSE);
}
END_TEST

START_TEST(test_rejects)
{
    pb_bw_buffers b;
    ck_assert_int_eq(pb_bw_alloc((pb_bw_shape){2, 2}, 4096, 1, &b), PB_ERR_SHAPE);
    ck_assert_int_eq(pb_bw_alloc((pb_bw_shape){1, 1}, 4096, 0, &b), PB_ERR_PARSE);
    ck_assert_int_eq(pb_bw_alloc((pb_bw_shape){1, 1}, 0, 1, &b), PB_ERR_PARSE);
    ck_assert_int_eq(pb_bw_alloc((pb_bw_shape){1, 1}, 5 * PB_MAX_BUFFER_BYTES, 1, &b),
                     PB_ERR_TOO_LARGE);
    ck_assert_int_eq(pb_bw_alloc((pb_bw_shape){1, 1}, 4096, 1, NULL), PB_ERR_NULL);
    /* a tiny request still gets one block per stream */
    ck_assert_int_eq(pb_bw_alloc((pb_bw_shape){1, 1}, 8, 1, &b), PB_OK);
    ck_assert_int_eq(b.elems, PB_BW_BLOCK);
    ck_assert_int_eq(pb_bw_pass(&b, 1, PB_ISA_COUNT, false), PB_ERR_ISA);
    pb_bw_free(&b);
    ck_assert_int_eq(pb_bw_pass(&b, 1, PB_ISA_BASELINE, false), PB_ERR_NULL); /* freed */
    pb_bw_result r;
    ck_assert_int_eq(pb_bw_measure(NULL, &r, NULL, 0), PB_ERR_NULL);
    pb_bw_config c = {.shape = {1, 1}, .bytes = 4096, .threads = 1, .trials = -1,
                      .isa = PB_ISA_COUNT};
    ck_assert_int_eq(pb_bw_measure(&c, &r, NULL, 0), PB_ERR_PARSE);
}
END_TEST

static void mark(void *ctx, int tid, int nth)
{
    int *seen = ctx;
    __atomic_fetch_add(&seen[tid], 1, __ATOMIC_RELAXED);
    __atomic_store_n(&seen[8], nth, __ATOMIC_RELAXED);
}

START_TEST(test_par_run_and_pin)
{
    int seen[9] = {0};
    ck_assert_int_eq(pb_par_run(1, mark, seen), PB_OK);
    ck_assert(seen[0] == 1 && seen[8] == 1);
    memset(seen, 0, sizeof seen);
    ck_assert_int_eq(pb_par_run(2, mark, seen), PB_OK);
    ck_assert_int_eq(seen[8], 2); /* each thread once */
    ck_assert(seen[0] == 1 && seen[1] == 1);
    ck_assert_int_eq(pb_par_run(0, mark, seen), PB_ERR_PARSE);
    ck_assert_int_eq(pb_par_run(1, NULL, seen), PB_ERR_NULL);

    int n = pb_par_cpus();
    ck_assert_int_ge(n, 1);
    cpu_set_t set;
    char msg[128];
    ck_assert_int_eq(pb_par_pin(1, msg, sizeof msg), PB_OK);
    ck_assert_int_eq(sched_getaffinity(0, sizeof set, &set), 0);
    ck_assert_int_eq(CPU_COUNT(&set), 1);
    ck_assert_int_eq(pb_par_pin_set(n, msg, sizeof msg), PB_OK);
    ck_assert_int_eq(sched_getaffinity(0, sizeof set, &set), 0);
    ck_assert_int_eq(CPU_COUNT(&set), n);
    ck_assert_int_eq(pb_par_pin(n + 1, msg, sizeof msg), PB_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(msg, "allowed CPUs"));
    ck_assert_int_eq(pb_par_pin(1, msg, sizeof msg), PB_OK);
    pb_par_unpin();
    ck_assert_int_eq(sched_getaffinity(0, sizeof set, &set), 0);
    ck_assert_int_eq(CPU_COUNT(&set), n); /* the mask from before */
    char list[64];
    pb_par_cpu_list(list, sizeof list);
    ck_assert(list[0] >= '0' && list[0] <= '9');
}
END_TEST

Suite *pb_test_suite_bandwidth(void)
{
    Suite *s = suite_create("bandwidth");
    TCase *tc = tcase_create("reference");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_shape_for);
    tcase_add_test(tc, test_all_kernels_validate);
    tcase_add_test(tc, test_validation_catches_corruption);
    tcase_add_test(tc, test_measure);
    tcase_add_test(tc, test_measure_one_store_kind);
    tcase_add_test(tc, test_rejects);
    tcase_add_test(tc, test_par_run_and_pin);
    suite_add_tcase(s, tc);
    return s;
}
