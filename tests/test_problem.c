/* Problem strings and suites: malformed strings with their codes and
 * messages, short-form equivalences, the canonical format, round trips,
 * and that every built-in suite problem parses and covers what it claims. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "problem.h"

/* Every field that parse/format/finalize touch, compared one by one. */
static bool desc_eq(const pb_desc *a, const pb_desc *b)
{
    return a->n == b->n && a->c == b->c && a->ih == b->ih && a->iw == b->iw && a->kh == b->kh &&
           a->kw == b->kw && a->sh == b->sh && a->sw == b->sw && a->pt == b->pt &&
           a->pl == b->pl && a->pb == b->pb && a->pr == b->pr && a->dh == b->dh &&
           a->dw == b->dw && a->ceil_mode == b->ceil_mode && a->global == b->global &&
           a->alg == b->alg && a->layout == b->layout && a->dtype == b->dtype &&
           a->threads == b->threads && a->oh == b->oh && a->ow == b->ow &&
           a->src_elems == b->src_elems && a->dst_elems == b->dst_elems;
}

static void parse_ok(const char *s, pb_desc *d)
{
    char msg[512];
    pb_desc_init(d);
    pb_status st = pb_problem_parse(s, d, msg, sizeof msg);
    ck_assert_msg(st == PB_OK, "parse(\"%s\") = %s: %s", s, pb_status_str(st), msg);
}

/* ---- malformed strings and invalid values --------------------------- */

static const struct bad_case {
    const char *s;
    pb_status code;
    const char *needle; /* must appear in the message: the token and where */
} bad_cases[] = {
    /* syntax */
    {"", PB_ERR_PARSE, "empty problem string"},
    {"mb1ic3_ih4_xx3", PB_ERR_PARSE, "'xx3' at 12"},
    {"mb1ic3ih4xx3k2", PB_ERR_PARSE, "'xx3' at 10"},
    {"MB1ic3_ih4_k2", PB_ERR_PARSE, "'MB1' at 1"},
    {"mb1ic3ih4kh", PB_ERR_PARSE, "'kh' at 10"},
    {"mb1ic3_ih4_kh_sh2", PB_ERR_PARSE, "'kh' at 12"},
    {"mb1ic3_ih-4_k2", PB_ERR_PARSE, "'ih' at 8"},
    {"mb1ic3_ih4ih5_k2", PB_ERR_PARSE, "'ih5' at 11 in \"mb1ic3_ih4ih5_k2\": duplicate of 'ih4' at 8"},
    {"mb1ic3_ih4_k2_mb2", PB_ERR_PARSE, "'mb2' at 15"},
    {"mb1ic3_ih99999999999_k2", PB_ERR_PARSE, "'ih99999999999' at 8"},
    {"mb1ic3_ih2147483648_k2", PB_ERR_PARSE, "'ih2147483648' at 8"},
    {"mb1ic3_ih4_k2 ", PB_ERR_PARSE, "' ' at 14"},
    {"mb1ic3 ih4_k2", PB_ERR_PARSE, "' ' at 7"},
    {"mb1ic3_ih4_k2$", PB_ERR_PARSE, "'$' at 14"},
    {"mb1ic3_ih4_k2\t", PB_ERR_PARSE, "0x09 at 14"},
    {"mb1ic3_ih4_k2_", PB_ERR_PARSE, "'_' at 14"},
    {"mb1ic3__ih4_k2", PB_ERR_PARSE, "'_' at 8"},
    {"_mb1ic3_ih4_k2", PB_ERR_PARSE, "'_' at 1"},
    {"mb1ic3_ih4_k2_7", PB_ERR_PARSE, "'7' at 15"},
    {"mb1ic3_ih4_k2_ceil1", PB_ERR_PARSE, "'ceil1' at 15"},
    {"mb1ic3_ih4_kh3_ph1pt1", PB_ERR_PARSE, "'pt1' at 19 in \"mb1ic3_ih4_kh3_ph1pt1\": conflicts with 'ph1' at 16"},
    {"mb1ic3_ih4_kh3_pr1pw1", PB_ERR_PARSE, "'pw1' at 19"},
    {"mb1ic3_ih4_k3_p1pl1", PB_ERR_PARSE, "'pl1' at 17"},
    {"mb1ic3_ih4_k3_kh3", PB_ERR_PARSE, "'kh3' at 15"},
    {"mb1ic3_ih4_k3_s1_sw1", PB_ERR_PARSE, "'sw1' at 18"},
    {"mb1ic3_ih4_k3_dh2d2", PB_ERR_PARSE, "'d2' at 18"},
    {"mb1ic3_ih4_global_k2", PB_ERR_PARSE, "'k2' at 19"},
    {"mb1ic3_ih4_s1_global", PB_ERR_PARSE, "'global' at 15"},
    {"mb1ic3_ih4_global_pt1", PB_ERR_PARSE, "'pt1' at 19"},
    {"mb1ic3_ih4_global_dw2", PB_ERR_PARSE, "'dw2' at 19"},
    {"mb1ic3_ih4_ceil_global", PB_ERR_PARSE, "'global' at 17"},
    {"nvgg", PB_ERR_PARSE, "'nvgg' at 1"},
    {"n_mb1ic3_ih4_k2", PB_ERR_PARSE, "'n' at 1"},
    {"nvgg!pool_mb1ic3_ih4_k2", PB_ERR_PARSE, "'nvgg!pool' at 1"},
    {"nvgg_", PB_ERR_PARSE, "'_' at 5"},
    /* required tokens */
    {"mb1_ih4_k2", PB_ERR_PARSE, "missing 'ic'"},
    {"mb1ic3_iw4_k2", PB_ERR_PARSE, "missing 'ih'"},
    {"mb1ic3_ih4", PB_ERR_PARSE, "missing window"},
    {"mb1ic3_ih4_kw2", PB_ERR_PARSE, "missing window"},
    /* an explicit stride 0 (pb_desc reads 0 as "stride = window") */
    {"mb1ic3_ih4_k2_s0", PB_ERR_STRIDE, "'s0' at 15"},
    {"mb1ic3_ih4_kh2sh1sw0", PB_ERR_STRIDE, "'sw0' at 18"},
    /* oh / ow checked against the computed output */
    {"mb1ic3_ih4_k2_oh3", PB_ERR_PARSE, "'oh3' at 15 in \"mb1ic3_ih4_k2_oh3\": the output height is 2"},
    {"mb1ic3_ih4iw6_k2_oh2ow2", PB_ERR_PARSE, "'ow2' at 21 in \"mb1ic3_ih4iw6_k2_oh2ow2\": the output width is 3"},
    /* values: pb_desc_finalize's code and message, field named */
    {"mb0ic3_ih4_k2", PB_ERR_SHAPE, "mb=0"},
    {"mb1ic0_ih4_k2", PB_ERR_SHAPE, "ic=0"},
    {"mb1ic3_ih0_k2", PB_ERR_SHAPE, "ih=0"},
    {"mb1ic3_ih4iw0_k2", PB_ERR_SHAPE, "iw=0"},
    {"mb1ic3_ih4_k0", PB_ERR_WINDOW, "kh=0"},
    {"mb1ic3_ih4_kh2kw0", PB_ERR_WINDOW, "kw=0"},
    {"mb1ic3_ih4_k2_d0", PB_ERR_DILATION, "dh=0"},
    {"mb1ic3_ih4_k3_p2", PB_ERR_PADDING, "padding along h (2,2)"},
    {"mb1ic3_ih4_kh3kw2_pl0pr2", PB_ERR_PADDING, "padding along w (0,2)"},
    {"mb1ic3_ih2_k3", PB_ERR_OUTPUT, "output along h is 0"},
    {"mb1ic1_ih2_k2_d3_p1", PB_ERR_EMPTY_WINDOW, "window 0 along h"},
    {"mb1ic1_ih65536_k1", PB_ERR_OVERFLOW, "plane ih*iw"},
    {"mb2147483647ic2147483647_ih46340_k1", PB_ERR_OVERFLOW, "mb*ic*ih*iw"},
    {"mb1ic4096_ih1024_k1", PB_ERR_TOO_LARGE, "source tensor"},
};

START_TEST(test_bad_strings)
{
    const struct bad_case *c = &bad_cases[_i];
    pb_desc d, before;
    pb_desc_init(&d);
    d.alg = PB_ALG_AVG_EXCL;
    d.c = 77; /* a sentinel: a failed parse leaves *d alone */
    before = d;
    char msg[512];
    memset(msg, 'x', sizeof msg);
    pb_status st = pb_problem_parse(c->s, &d, msg, sizeof msg);
    ck_assert_msg(st == c->code, "\"%s\": got %s, want %s (%s)", c->s, pb_status_str(st),
                  pb_status_str(c->code), msg);
    ck_assert_msg(strstr(msg, c->needle) != NULL, "\"%s\": message \"%s\" lacks \"%s\"", c->s,
                  msg, c->needle);
    ck_assert_msg(strchr(msg, '\n') == NULL, "message is not one line");
    ck_assert(desc_eq(&d, &before));
}
END_TEST

START_TEST(test_parse_null_and_short_msg)
{
    pb_desc d;
    pb_desc_init(&d);
    char msg[64];
    ck_assert_int_eq(pb_problem_parse(NULL, &d, msg, sizeof msg), PB_ERR_NULL);
    ck_assert_int_eq(pb_problem_parse("ic1_ih1_k1", NULL, msg, sizeof msg), PB_ERR_NULL);
    /* no message buffer, or a tiny one: still the right code, no overrun */
    ck_assert_int_eq(pb_problem_parse("ic1_ih1_zz", &d, NULL, 0), PB_ERR_PARSE);
    char tiny[8];
    ck_assert_int_eq(pb_problem_parse("ic1_ih1_zz", &d, tiny, sizeof tiny), PB_ERR_PARSE);
    ck_assert_str_eq(tiny, "bad tok");
    /* success clears the message */
    ck_assert_int_eq(pb_problem_parse("ic1_ih1_k1", &d, msg, sizeof msg), PB_OK);
    ck_assert_str_eq(msg, "");
}
END_TEST

/* ---- what a string means ---------------------------------------------- */

START_TEST(test_values)
{
    pb_desc d;
    parse_ok("mb32ic64_ih112iw112_kh3kw3_sh2sw2_ph1pw1", &d);
    ck_assert_int_eq(d.n, 32);
    ck_assert_int_eq(d.c, 64);
    ck_assert_int_eq(d.ih, 112);
    ck_assert_int_eq(d.iw, 112);
    ck_assert_int_eq(d.kh, 3);
    ck_assert_int_eq(d.kw, 3);
    ck_assert_int_eq(d.sh, 2);
    ck_assert_int_eq(d.sw, 2);
    ck_assert_int_eq(d.pt, 1);
    ck_assert_int_eq(d.pb, 1);
    ck_assert_int_eq(d.pl, 1);
    ck_assert_int_eq(d.pr, 1);
    ck_assert_int_eq(d.dh, 1);
    ck_assert_int_eq(d.dw, 1);
    ck_assert(!d.ceil_mode);
    ck_assert(!d.global);
    ck_assert_int_eq(d.oh, 56); /* (112 + 2 - 3) / 2 + 1 */
    ck_assert_int_eq(d.ow, 56);

    /* defaults: mb1, stride = window, no padding, dense */
    parse_ok("ic5_ih9iw7_kh3kw2", &d);
    ck_assert_int_eq(d.n, 1);
    ck_assert_int_eq(d.sh, 3);
    ck_assert_int_eq(d.sw, 2);
    ck_assert_int_eq(d.pt + d.pb + d.pl + d.pr, 0);
    ck_assert_int_eq(d.dh, 1);
    ck_assert_int_eq(d.dw, 1);
    ck_assert_int_eq(d.oh, 3); /* (9 - 3) / 3 + 1 */
    ck_assert_int_eq(d.ow, 3); /* (7 - 2) / 2 + 1 */

    /* per-side padding, one side each */
    parse_ok("ic1_ih8_k4s2_pt2pb1pl0pr2", &d);
    ck_assert_int_eq(d.pt, 2);
    ck_assert_int_eq(d.pb, 1);
    ck_assert_int_eq(d.pl, 0);
    ck_assert_int_eq(d.pr, 2);
    ck_assert_int_eq(d.oh, 4); /* (8 + 3 - 4) / 2 + 1 */
    ck_assert_int_eq(d.ow, 4); /* (8 + 0 + 2 - 4) / 2 + 1 */

    /* sw alone: sh keeps its default (the window) */
    parse_ok("ic1_ih7iw5_kh3kw2_sw1", &d);
    ck_assert_int_eq(d.sh, 3);
    ck_assert_int_eq(d.sw, 1);

    /* ceil, global, and alg/layout/dtype/threads kept from *d */
    pb_desc_init(&d);
    d.alg = PB_ALG_AVG_INCL;
    d.layout = PB_LAYOUT_NHWC;
    d.threads = 3;
    char msg[256];
    ck_assert_int_eq(pb_problem_parse("ic2_ih5_k2_ceil", &d, msg, sizeof msg), PB_OK);
    ck_assert(d.ceil_mode);
    ck_assert_int_eq(d.oh, 3); /* ceil((5 - 2) / 2) + 1 */
    ck_assert_int_eq(d.alg, PB_ALG_AVG_INCL);
    ck_assert_int_eq(d.layout, PB_LAYOUT_NHWC);
    ck_assert_int_eq(d.threads, 3);
    ck_assert_int_eq(pb_problem_parse("mb2ic3_ih13iw11_global", &d, msg, sizeof msg), PB_OK);
    ck_assert(d.global);
    ck_assert_int_eq(d.kh, 13);
    ck_assert_int_eq(d.kw, 11);
    ck_assert_int_eq(d.oh, 1);
    ck_assert_int_eq(d.ow, 1);
    ck_assert_int_eq(d.dst_elems, 6);
    ck_assert_int_eq(d.alg, PB_ALG_AVG_INCL);

    /* the largest number accepted */
    parse_ok("ic1_ih2147483647iw1_kh1", &d);
    ck_assert_int_eq(d.ih, 2147483647);
}
END_TEST

/* Pairs that must mean the same descriptor. */
static const char *const equiv[][2] = {
    {"mb1ic64_ih112_k3s2p1", "mb1ic64_ih112iw112_kh3kw3_sh2sw2_ph1pw1"},
    {"ic3_ih7_k1", "ic3_ih7iw7_k1"},
    {"ic3_ih7_kh3", "mb1ic3_ih7iw7_kh3kw3_sh3sw3_ph0pw0_dh1dw1"},
    {"ic3_ih7_kh3sh1", "ic3_ih7_kh3kw3_sh1sw1"},
    {"ic3_ih7_kh3_ph1", "ic3_ih7_kh3_pt1pb1pl1pr1"},
    {"ic3_ih7_kh3_ph1", "ic3_ih7_kh3_ph1pw1"},
    {"ic3_ih7_k3_p1", "ic3_ih7_kh3kw3_ph1pw1"},
    {"ic3_ih7_k3s1_dh2", "ic3_ih7_k3s1_dh2dw2"},
    {"ic3_ih7_k3s1_d2", "ic3_ih7_kh3kw3_sh1sw1_dh2dw2"},
    {"ic3_ih7_k3_ph1pl0", "ic3_ih7_k3_pt1pb1pl0pr0"},
    {"ic3_ih7_k3_ph1pr1", "ic3_ih7_k3_pt1pb1pl0pr1"},
    {"ic3_ih7iw5_kh3kw2_sw1", "ic3_ih7iw5_kh3kw2_sh3sw1"},
    {"mb2ic3ih7iw5kh3kw2sh2sw1ph1pw1ceil", "mb2_ic3_ih7_iw5_kh3_kw2_sh2_sw1_ph1_pw1_ceil"},
    {"k3_ih7_ic3_mb1", "mb1ic3_ih7_k3"},
    {"nresnet50:pool1_ic3_ih7_k3", "ic3_ih7_k3"},
    {"ceilic3ih7k3", "ic3_ih7_k3_ceil"},
    {"globalic3ih7", "ic3_ih7iw7_global"},
    {"ic3_ih7_k3_oh2ow2", "ic3_ih7_k3"},
    {"ic003_ih07_k3", "ic3_ih7_k3"},
};

START_TEST(test_equivalences)
{
    for (size_t i = 0; i < sizeof equiv / sizeof equiv[0]; i++) {
        const char *a = equiv[i][0], *b = equiv[i][1];
        pb_desc da, db;
        parse_ok(a, &da);
        parse_ok(b, &db);
        ck_assert_msg(desc_eq(&da, &db), "\"%s\" != \"%s\"", a, b);
    }
}
END_TEST

/* ---- the canonical format ---------------------------------------------- */

static const char *const canon[][2] = {
    {"mb1ic64_ih112_k3s2p1", "mb1ic64_ih112iw112_kh3kw3_sh2sw2_ph1pw1"},
    {"ic1_ih4_k2", "mb1ic1_ih4iw4_kh2kw2_sh2sw2"},
    {"ic3_ih7_k3_pt1", "mb1ic3_ih7iw7_kh3kw3_sh3sw3_pt1pb0pl0pr0"},
    {"ic3_ih7_k3_ph1pw0", "mb1ic3_ih7iw7_kh3kw3_sh3sw3_ph1pw0"},
    {"ic3_ih9_k3s2d2p1_ceil", "mb1ic3_ih9iw9_kh3kw3_sh2sw2_ph1pw1_dh2dw2_ceil"},
    {"ic3_ih9iw8_kh3kw2_s1_dw3", "mb1ic3_ih9iw8_kh3kw2_sh1sw1_dh1dw3"},
    {"mb32ic1280_ih7_global", "mb32ic1280_ih7iw7_global"},
    {"nvgg16:pool1_mb1ic64_ih224oh112_k2", "mb1ic64_ih224iw224_kh2kw2_sh2sw2"},
};

START_TEST(test_format)
{
    char buf[256];
    for (size_t i = 0; i < sizeof canon / sizeof canon[0]; i++) {
        pb_desc d;
        parse_ok(canon[i][0], &d);
        int n = pb_problem_format(&d, buf, sizeof buf);
        ck_assert_str_eq(buf, canon[i][1]);
        ck_assert_int_eq(n, (int)strlen(canon[i][1]));
    }
    /* an unfinalized descriptor: formatted as finalize will make it */
    pb_desc d;
    pb_desc_init(&d);
    d.c = 2; d.ih = 6; d.iw = 4; d.kh = 3; d.kw = 2;
    ck_assert_int_eq(pb_problem_format(&d, buf, sizeof buf), 27);
    ck_assert_str_eq(buf, "mb1ic2_ih6iw4_kh3kw2_sh3sw2");
    /* exactly enough room, then one byte short */
    ck_assert_int_eq(pb_problem_format(&d, buf, 28), 27);
    ck_assert_int_eq(pb_problem_format(&d, buf, 27), -1);
    ck_assert_str_eq(buf, "");
    /* errors: NULLs, an invalid descriptor, fields past the grammar's int32 */
    ck_assert_int_eq(pb_problem_format(NULL, buf, sizeof buf), -1);
    ck_assert_int_eq(pb_problem_format(&d, NULL, 16), -1);
    ck_assert_int_eq(pb_problem_format(&d, buf, 0), -1);
    pb_desc bad = d;
    bad.kh = 0;
    ck_assert_int_eq(pb_problem_format(&bad, buf, sizeof buf), -1);
    bad = d;
    bad.n = (int64_t)1 << 31; /* 2^31 samples of 1x1: exactly the 8 GiB limit */
    bad.c = 1; bad.ih = bad.iw = 1; bad.kh = bad.kw = 1;
    ck_assert_int_eq(pb_desc_finalize(&bad, NULL, 0), PB_OK);
    ck_assert_int_eq(pb_problem_format(&bad, buf, sizeof buf), -1);
    bad = d;
    bad.kh = 1; bad.sh = 1;
    bad.dh = (int64_t)1 << 40; /* a 1-tap window allows any dilation */
    ck_assert_int_eq(pb_desc_finalize(&bad, NULL, 0), PB_OK);
    ck_assert_int_eq(pb_problem_format(&bad, buf, sizeof buf), -1);
}
END_TEST

/* parse(format(d)) == d, with d's alg/layout/dtype/threads kept. */
static void check_round_trip(const pb_desc *d, const char *origin)
{
    char buf[256], msg[256];
    int n = pb_problem_format(d, buf, sizeof buf);
    ck_assert_msg(n > 0, "format failed for %s", origin);
    ck_assert_int_eq((size_t)n, strlen(buf));
    pb_desc e = *d;
    e.oh = e.ow = e.src_elems = e.dst_elems = -1; /* parse must rederive them */
    pb_status st = pb_problem_parse(buf, &e, msg, sizeof msg);
    ck_assert_msg(st == PB_OK, "%s: \"%s\" does not parse: %s", origin, buf, msg);
    ck_assert_msg(desc_eq(d, &e), "%s: round trip through \"%s\" changed it", origin, buf);
}

START_TEST(test_round_trip_suites)
{
    size_t total = 0;
    for (size_t i = 0; i < pb_suite_count(); i++) {
        const pb_suite *su = pb_suite_get(i);
        for (size_t j = 0; j < su->count; j++) {
            pb_desc d;
            parse_ok(su->problems[j], &d);
            d.alg = (pb_alg)(j % PB_ALG_COUNT);
            d.layout = (pb_layout)(j % PB_LAYOUT_COUNT);
            check_round_trip(&d, su->problems[j]);
            total++;
        }
    }
    ck_assert_int_ge(total, 60);
}
END_TEST

static uint64_t rng_state;
static int64_t rnd(int64_t lo, int64_t hi) /* uniform-ish in [lo, hi] */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return lo + (int64_t)(rng_state % (uint64_t)(hi - lo + 1));
}

START_TEST(test_round_trip_random)
{
    rng_state = 0x9e3779b97f4a7c15ull;
    int valid = 0, asym = 0, dil = 0, ceil = 0, glob = 0;
    for (int iter = 0; iter < 20000 && valid < 3000; iter++) {
        pb_desc d;
        pb_desc_init(&d);
        d.n = rnd(1, 4);
        d.c = rnd(1, 70);
        d.ih = rnd(1, 40);
        d.iw = rnd(1, 40);
        d.global = rnd(0, 9) == 0;
        d.kh = rnd(1, 7);
        d.kw = rnd(1, 7);
        d.sh = rnd(0, 4); /* 0: stride = window */
        d.sw = rnd(0, 4);
        d.pt = rnd(0, d.kh / 2);
        d.pb = rnd(0, 2) ? d.pt : rnd(0, d.kh / 2);
        d.pl = rnd(0, d.kw / 2);
        d.pr = rnd(0, 2) ? d.pl : rnd(0, d.kw / 2);
        d.dh = rnd(0, 2) ? 1 : rnd(1, 3);
        d.dw = rnd(0, 2) ? 1 : rnd(1, 3);
        d.ceil_mode = rnd(0, 1);
        d.alg = (pb_alg)rnd(0, PB_ALG_COUNT - 1);
        d.layout = (pb_layout)rnd(0, PB_LAYOUT_COUNT - 1);
        d.threads = (int)rnd(0, 4);
        if (pb_desc_finalize(&d, NULL, 0) != PB_OK) continue;
        valid++;
        asym += d.pt != d.pb || d.pl != d.pr;
        dil += d.dh != 1 || d.dw != 1;
        ceil += d.ceil_mode;
        glob += d.global;
        char origin[32];
        snprintf(origin, sizeof origin, "random #%d", iter);
        check_round_trip(&d, origin);
    }
    ck_assert_int_eq(valid, 3000);
    /* the generator did reach every part of the grammar */
    ck_assert_int_gt(asym, 100);
    ck_assert_int_gt(dil, 100);
    ck_assert_int_gt(ceil, 100);
    ck_assert_int_gt(glob, 100);
}
END_TEST

/* ---- the built-in suites ------------------------------------------------ */

START_TEST(test_suite_registry)
{
    static const struct { const char *name; size_t count; } want[] = {
        {"seed", 2}, {"resnet50", 2}, {"vgg16", 5}, {"alexnet", 3},
        {"googlenet", 11}, {"global", 3}, {"edge", 40},
    };
    ck_assert_int_eq(pb_suite_count(), sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const pb_suite *s = pb_suite_find(want[i].name);
        ck_assert_ptr_nonnull(s);
        ck_assert_ptr_eq(s, pb_suite_get(i));
        ck_assert_str_eq(s->name, want[i].name);
        ck_assert_int_eq(s->count, want[i].count);
        ck_assert(s->summary && s->summary[0]);
    }
    ck_assert_ptr_null(pb_suite_find("resnet"));
    ck_assert_ptr_null(pb_suite_find(NULL));
    ck_assert_ptr_null(pb_suite_get(pb_suite_count()));
}
END_TEST

/* Every problem parses, finalizes and matches the oh/ow it states. */
START_TEST(test_suites_parse)
{
    for (size_t i = 0; i < pb_suite_count(); i++) {
        const pb_suite *su = pb_suite_get(i);
        for (size_t j = 0; j < su->count; j++) {
            pb_desc d;
            parse_ok(su->problems[j], &d);
            ck_assert_msg(strstr(su->problems[j], "oh") && strstr(su->problems[j], "ow"),
                          "\"%s\" does not state its output size", su->problems[j]);
            ck_assert_int_ge(d.oh, 1);
        }
    }
}
END_TEST

START_TEST(test_suite_values)
{
    pb_desc d;
    const pb_suite *s = pb_suite_find("seed");
    parse_ok(s->problems[0], &d);
    ck_assert(d.n == 1 && d.c == 1 && d.ih == 4 && d.iw == 4 && d.kh == 2 && d.sh == 2);
    ck_assert(d.oh == 2 && d.ow == 2);
    parse_ok(s->problems[1], &d);
    ck_assert(d.c == 64 && d.ih == 224 && d.oh == 112 && d.dst_elems == 64 * 112 * 112);
    parse_ok(pb_suite_find("resnet50")->problems[0], &d);
    ck_assert(d.c == 64 && d.ih == 112 && d.kh == 3 && d.sh == 2 && d.pt == 1 && d.oh == 56);
    parse_ok(pb_suite_find("resnet50")->problems[1], &d);
    ck_assert(d.c == 2048 && d.global && d.kh == 7 && d.oh == 1);
    parse_ok(pb_suite_find("googlenet")->problems[0], &d);
    /* ceil mode matters here: floor mode would give (112-3)/2+1 = 55 */
    ck_assert(d.ceil_mode && d.oh == 56);
    d.ceil_mode = false;
    ck_assert_int_eq(pb_desc_finalize(&d, NULL, 0), PB_OK);
    ck_assert_int_eq(d.oh, 55);
    parse_ok(pb_suite_find("global")->problems[2], &d);
    ck_assert(d.n == 32 && d.c == 1280 && d.global && d.dst_elems == 32 * 1280);
}
END_TEST

/* The edge suite covers each case it claims, counted from the parsed
 * descriptors, not from the strings. */
START_TEST(test_edge_coverage)
{
    const pb_suite *s = pb_suite_find("edge");
    ck_assert_int_ge(s->count, 30);
    ck_assert_int_le(s->count, 50);
    enum { ODD, C_ODD, OVERLAP, GAP, ASYM, DIL, CEIL, DROPPED, PLANE1, WIN_PLANE, GLOB_ODD,
           BATCH, PAD_OUT_GT_IN, NCOV };
    int cov[NCOV] = {0};
    bool chan[40] = {false};
    int max_in = 0;
    for (size_t j = 0; j < s->count; j++) {
        pb_desc d;
        parse_ok(s->problems[j], &d);
        ck_assert_int_le(d.ih, 37);
        ck_assert_int_le(d.iw, 37);
        if (d.ih > max_in) max_in = (int)d.ih;
        cov[ODD] += (d.ih % 2) && (d.iw % 2);
        cov[C_ODD] += d.c % 8 != 0;
        if (d.c < 40) chan[d.c] = true;
        cov[OVERLAP] += !d.global && (d.kh > d.sh || d.kw > d.sw);
        cov[GAP] += d.kh < d.sh || d.kw < d.sw;
        cov[ASYM] += d.pt != d.pb || d.pl != d.pr;
        cov[DIL] += d.dh > 1 || d.dw > 1;
        cov[CEIL] += d.ceil_mode;
        /* the dropped-last-window rule fired: the ceil formula without the
         * drop gives one more output than finalize did */
        int64_t num = d.ih + d.pt + d.pb - d.dh * (d.kh - 1) - 1 + d.sh - 1;
        cov[DROPPED] += d.ceil_mode && num / d.sh + 1 == d.oh + 1;
        cov[PLANE1] += d.ih == 1 && d.iw == 1;
        cov[WIN_PLANE] += !d.global && d.kh == d.ih && d.kw == d.iw;
        cov[GLOB_ODD] += d.global && d.ih % 2 && d.ih > 1;
        cov[BATCH] += d.n > 1;
        cov[PAD_OUT_GT_IN] += d.oh > d.ih;
    }
    for (int k = 0; k < NCOV; k++) ck_assert_msg(cov[k] >= 1, "edge lacks case %d", k);
    ck_assert_int_ge(cov[DROPPED], 2);
    ck_assert_int_eq(max_in, 37);
    static const int want_c[] = {1, 3, 5, 7, 9, 13, 15, 17, 31, 33};
    for (size_t k = 0; k < sizeof want_c / sizeof want_c[0]; k++)
        ck_assert_msg(chan[want_c[k]], "edge lacks ic%d", want_c[k]);
}
END_TEST

Suite *pb_test_suite_problem(void)
{
    Suite *s = suite_create("problem");
    TCase *tc = tcase_create("parse");
    tcase_add_loop_test(tc, test_bad_strings, 0, (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_add_test(tc, test_parse_null_and_short_msg);
    tcase_add_test(tc, test_values);
    tcase_add_test(tc, test_equivalences);
    suite_add_tcase(s, tc);
    tc = tcase_create("format");
    tcase_add_test(tc, test_format);
    tcase_add_test(tc, test_round_trip_suites);
    tcase_add_test(tc, test_round_trip_random);
    suite_add_tcase(s, tc);
    tc = tcase_create("suites");
    tcase_add_test(tc, test_suite_registry);
    tcase_add_test(tc, test_suites_parse);
    tcase_add_test(tc, test_suite_values);
    tcase_add_test(tc, test_edge_coverage);
    suite_add_tcase(s, tc);
    return s;
}
