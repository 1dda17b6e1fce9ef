/* poolbench show: pool one small problem and print input, output and
 * argmax as matrices, per (n, c) plane: the quickest way to see the
 * semantics (padding, ties, divisors) on numbers you choose. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_common.h"
#include "problem.h"
#include "verify.h"

/* The seed's worked example (issue 2): 2x2 stride 2 on this 4x4 plane
 * gives max 6 8 / 3 4 and avg 3.25 5.25 / 2 2. */
static const char seed_problem[] = "mb1ic1_ih4iw4_kh2kw2";
static const float seed_values[16] = {1, 1, 2, 4, 5, 6, 7, 8, 3, 2, 1, 0, 1, 2, 3, 4};

#define SHOW_MAX_ELEMS 4096 /* show is for problems one can read */

static void help(void)
{
    printf("usage: poolbench show [--problem STR] [--alg max,avg_incl,avg_excl]\n"
           "                      [--layout nchw|nhwc] [--impl NAME] [--values v1,v2,...]\n"
           "  Pools a small problem and prints input, output and argmax per (n, c) plane.\n"
           "  Default problem: the seed example %s with its values\n"
           "  1 1 2 4 / 5 6 7 8 / 3 2 1 0 / 1 2 3 4.  --values lists all mb*ic*ih*iw inputs in\n"
           "  n, c, h, w order (whatever the layout); without it, seeded distinct integers.\n",
           seed_problem);
}

static int parse_values(const char *text, float *out, int64_t n)
{
    const char *p = text;
    int64_t i = 0;
    while (*p) {
        char *end;
        errno = 0;
        float v = strtof(p, &end);
        if (end == p || errno == ERANGE)
            return pb_usage_error("show", "--values: '%.20s' is not a number", p);
        if (i == n)
            return pb_usage_error("show", "--values has more than the %lld inputs of the problem",
                                  (long long)n);
        out[i++] = v;
        p = end;
        if (*p == ',') p++;
        else if (*p)
            return pb_usage_error("show", "--values: expected ',' at '%.20s'", p);
    }
    if (i != n)
        return pb_usage_error("show", "--values has %lld numbers, the problem has %lld inputs",
                              (long long)i, (long long)n);
    return 0;
}

static void print_plane_f(const char *what, const pb_desc *d, const float *t, int64_t H,
                          int64_t W, int64_t n, int64_t c)
{
    printf("n%lld c%lld %s (%lldx%lld):\n", (long long)n, (long long)c, what, (long long)H,
           (long long)W);
    for (int64_t h = 0; h < H; h++) {
        for (int64_t w = 0; w < W; w++)
            printf(" %8.4g", t[pb_offset(d->layout, d->c, H, W, n, c, h, w)]);
        printf("\n");
    }
}

static void print_plane_i(const pb_desc *d, const int32_t *t, int64_t n, int64_t c)
{
    printf("n%lld c%lld argmax (flat h*W+w in the input plane):\n", (long long)n, (long long)c);
    for (int64_t h = 0; h < d->oh; h++) {
        for (int64_t w = 0; w < d->ow; w++)
            printf(" %8d", t[pb_offset(d->layout, d->c, d->oh, d->ow, n, c, h, w)]);
        printf("\n");
    }
}

int pb_cmd_show(int argc, char **argv)
{
    static const struct option opts[] = {
        {"problem", required_argument, 0, 'p'}, {"alg", required_argument, 0, 'a'},
        {"layout", required_argument, 0, 'l'},  {"values", required_argument, 0, 'v'},
        {"impl", required_argument, 0, 'i'},    {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *problem = seed_problem, *values = NULL, *impl_name = "naive";
    unsigned algs = 0, layouts = 0;
    bool custom_problem = false;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'p': problem = optarg; custom_problem = true; break;
        case 'a': if (pb_sel_mask(&algs, "show", "alg", optarg)) return PB_EXIT_USAGE; break;
        case 'l': if (pb_sel_mask(&layouts, "show", "layout", optarg)) return PB_EXIT_USAGE; break;
        case 'v': values = optarg; break;
        case 'i': impl_name = optarg; break;
        case 'h': help(); return PB_EXIT_OK;
        case ':': return pb_usage_error("show", "option '%s' needs a value", argv[optind - 1]);
        default: return pb_usage_error("show", "unknown option '%s' (see poolbench show --help)",
                                       argv[optind - 1]);
        }
    }
    if (optind < argc) return pb_usage_error("show", "unexpected argument '%s'", argv[optind]);
    const pb_impl *impl = pb_impl_find(impl_name);
    if (!impl) return pb_usage_error("show", "unknown implementation '%s'", impl_name);
    if (!algs) algs = PB_BIT(PB_ALG_MAX);
    if (!layouts) layouts = PB_BIT(PB_LAYOUT_NCHW);

    pb_desc d;
    char msg[256];
    pb_desc_init(&d);
    if (pb_problem_parse(problem, &d, msg, sizeof msg) != PB_OK)
        return pb_usage_error("show", "%s", msg);
    if (d.src_elems > SHOW_MAX_ELEMS)
        return pb_usage_error("show", "problem has %lld inputs; show prints at most %d",
                              (long long)d.src_elems, SHOW_MAX_ELEMS);

    /* logical (n,c,h,w) values, placed into each layout below */
    float *logical = malloc((size_t)d.src_elems * sizeof *logical);
    float *src = malloc((size_t)d.src_elems * sizeof *src);
    float *dst = malloc((size_t)d.dst_elems * sizeof *dst);
    int32_t *ws = malloc((size_t)d.dst_elems * sizeof *ws);
    int rc = PB_EXIT_OK;
    if (!logical || !src || !dst || !ws) {
        rc = pb_usage_error("show", "out of memory");
        goto out;
    }
    if (values) {
        if (parse_values(values, logical, d.src_elems)) {
            rc = PB_EXIT_USAGE;
            goto out;
        }
    } else if (!custom_problem) {
        memcpy(logical, seed_values, sizeof seed_values);
    } else {
        pb_fill_src(&d, PB_FILL_DISTINCT, 1, logical, d.src_elems);
    }

    for (int l = 0; l < PB_LAYOUT_COUNT; l++) {
        if (!(layouts & PB_BIT(l))) continue;
        for (int a = 0; a < PB_ALG_COUNT; a++) {
            if (!(algs & PB_BIT(a))) continue;
            pb_desc k = d;
            k.alg = (pb_alg)a;
            k.layout = (pb_layout)l;
            for (int64_t n = 0; n < k.n; n++)
                for (int64_t ch = 0; ch < k.c; ch++)
                    for (int64_t h = 0; h < k.ih; h++)
                        for (int64_t w = 0; w < k.iw; w++)
                            src[pb_offset(k.layout, k.c, k.ih, k.iw, n, ch, h, w)] =
                                logical[((n * k.c + ch) * k.ih + h) * k.iw + w];
            pb_args args = {.src = src, .dst = dst, .ws = k.alg == PB_ALG_MAX ? ws : NULL};
            pb_dir dir = k.alg == PB_ALG_MAX ? PB_DIR_FWD_TRAIN : PB_DIR_FWD_INF;
            char text[160];
            pb_problem_format(&k, text, sizeof text);
            printf("problem %s  alg %s  layout %s  impl %s  output %lldx%lld\n", text,
                   pb_alg_name(k.alg), pb_layout_name(k.layout), impl->name, (long long)k.oh,
                   (long long)k.ow);
            pb_status st = pb_impl_run(impl, &k, dir, &args);
            if (st != PB_OK) {
                const char *why = "";
                pb_impl_accepts(impl, &k, dir, &why);
                fprintf(stderr, "poolbench: show: %s: %s%s%s\n", impl->name, pb_status_str(st),
                        *why ? ": " : "", why);
                rc = PB_EXIT_FAIL;
                continue;
            }
            for (int64_t n = 0; n < k.n; n++)
                for (int64_t ch = 0; ch < k.c; ch++) {
                    print_plane_f("input", &k, src, k.ih, k.iw, n, ch);
                    print_plane_f("output", &k, dst, k.oh, k.ow, n, ch);
                    if (k.alg == PB_ALG_MAX) print_plane_i(&k, ws, n, ch);
                }
            printf("\n");
        }
    }
out:
    free(logical);
    free(src);
    free(dst);
    free(ws);
    return rc;
}
