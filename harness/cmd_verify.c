/* poolbench verify / gradcheck / run.
 *
 * verify:    every selected implementation x problem x alg x layout x dir,
 *            against the reference, over several input fills; one row per
 *            case.  --random N draws N valid random problems and shrinks a
 *            failing one to a minimal problem string.
 * gradcheck: the finite-difference check of every backward kernel.
 * run:       the main job on the default suites. */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_common.h"
#include "problem.h"
#include "verify.h"

#define DEFAULT_SUITES "seed,edge"

typedef struct opts {
    pb_selection sel;
    unsigned fills;    /* PB_BIT(pb_fill) */
    long random;       /* --random N: N random problems instead of suites */
    bool quiet;        /* only failures and the summary */
} opts;

typedef struct tally { long pass, fail, skip; } tally;

static void verify_help(const char *cmd)
{
    printf("usage: poolbench %s [--impl NAMES|all|best] [--suite S,..] [--problem STR]...\n"
           "         [--alg max,avg_incl,avg_excl|all] [--layout nchw,nhwc|all]\n"
           "         [--dir fwd_inf,fwd_train,bwd|all] [--seed N]%s [--quiet]\n"
           "  Defaults: every implementation, suites %s, every alg/layout/dir, seed 1.\n"
           "  Exit status 0 only when nothing failed; 2 for a usage error.\n",
           cmd,
           strcmp(cmd, "verify") == 0 ? "\n         [--fill distinct,ties,nan,inf|all] [--random N]"
                                      : "",
           DEFAULT_SUITES);
}

static int fill_mask(unsigned *mask, const char *list)
{
    char *copy = strdup(list), *save = NULL;
    int rc = 0;
    for (char *t = strtok_r(copy, ",", &save); t && !rc; t = strtok_r(NULL, ",", &save)) {
        if (strcmp(t, "all") == 0) {
            *mask |= (1u << PB_FILL_COUNT) - 1;
            continue;
        }
        int f = 0;
        while (f < PB_FILL_COUNT && strcmp(t, pb_fill_name((pb_fill)f)) != 0) f++;
        if (f == PB_FILL_COUNT)
            rc = pb_usage_error("verify", "unknown fill '%s' (known: distinct, ties, nan, inf, all)", t);
        else
            *mask |= PB_BIT(f);
    }
    free(copy);
    return rc;
}

static int parse_opts(int argc, char **argv, const char *cmd, opts *o)
{
    static const struct option long_opts[] = {
        {"impl", required_argument, 0, 'i'},   {"suite", required_argument, 0, 's'},
        {"problem", required_argument, 0, 'p'}, {"alg", required_argument, 0, 'a'},
        {"layout", required_argument, 0, 'l'}, {"dir", required_argument, 0, 'd'},
        {"seed", required_argument, 0, 'S'},   {"fill", required_argument, 0, 'f'},
        {"random", required_argument, 0, 'r'}, {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    bool is_verify = strcmp(cmd, "verify") == 0;
    memset(o, 0, sizeof *o);
    o->sel.seed = 1;
    opterr = 0;
    optind = 1;
    int c, rc = 0;
    while (!rc && (c = getopt_long(argc, argv, ":", long_opts, NULL)) != -1) {
        switch (c) {
        case 'i': rc = pb_sel_impls(&o->sel, cmd, optarg); break;
        case 's': rc = pb_sel_suites(&o->sel, cmd, optarg); break;
        case 'p': rc = pb_sel_add_problem(&o->sel, cmd, optarg); break;
        case 'a': rc = pb_sel_mask(&o->sel.algs, cmd, "alg", optarg); break;
        case 'l': rc = pb_sel_mask(&o->sel.layouts, cmd, "layout", optarg); break;
        case 'd': rc = pb_sel_mask(&o->sel.dirs, cmd, "dir", optarg); break;
        case 'S': rc = pb_sel_seed(&o->sel, cmd, optarg); break;
        case 'q': o->quiet = true; break;
        case 'f':
            rc = is_verify ? fill_mask(&o->fills, optarg)
                           : pb_usage_error(cmd, "unknown option '--fill'");
            break;
        case 'r': {
            char *end;
            errno = 0;
            o->random = strtol(optarg, &end, 10);
            if (!is_verify) rc = pb_usage_error(cmd, "unknown option '--random'");
            else if (*end || errno || o->random < 1 || o->random > 100000000)
                rc = pb_usage_error(cmd, "--random '%s' must be an integer >= 1", optarg);
            break;
        }
        case 'h': verify_help(cmd); pb_sel_free(&o->sel); return -1;
        case ':': rc = pb_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]); break;
        default:
            rc = pb_usage_error(cmd, "unknown option '%s' (see poolbench %s --help)",
                                argv[optind - 1], cmd);
        }
    }
    if (!rc && optind < argc) rc = pb_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!rc && o->random && o->sel.n_problems)
        rc = pb_usage_error(cmd, "--random replaces --suite/--problem; give one or the other");
    if (!rc && !o->random) rc = pb_sel_finish(&o->sel, cmd, DEFAULT_SUITES);
    if (!rc && o->random) rc = pb_sel_finish(&o->sel, cmd, "seed"), o->sel.n_problems = 0;
    if (!o->fills) o->fills = (1u << PB_FILL_COUNT) - 1;
    if (rc) pb_sel_free(&o->sel);
    return rc;
}

/* The table header, printed before the first row only, so a --quiet run
 * with nothing to report prints just its summary line. */
static bool header_done;

static void print_header(void)
{
    if (header_done) return;
    header_done = true;
    printf("%-10s %-44s %-8s %-6s %-9s %-7s %-19s %s\n", "impl", "problem", "alg", "layout", "dir",
           "result", "max error", "detail");
}

static void print_row(const char *impl, const char *problem, const pb_desc *d, pb_dir dir,
                      const pb_check *r, const char *detail)
{
    char err[32] = "-";
    print_header();
    if (r->verdict != PB_SKIP) snprintf(err, sizeof err, "%.1e/%.1fulp", r->max_abs_err, r->max_ulp_err);
    printf("%-10s %-44s %-8s %-6s %-9s %-7s %-19s %s\n", impl, problem, pb_alg_name(d->alg),
           pb_layout_name(d->layout), pb_dir_name(dir), pb_verdict_name(r->verdict), err, detail);
}

/* One case over the selected fills: FAIL if any fill fails, SKIPPED if all
 * skip, else PASS; skipped fills are named in the detail. */
static pb_status verify_one(const pb_impl *impl, const pb_desc *d, pb_dir dir, unsigned fills,
                            uint64_t seed, pb_check *agg, char *detail, size_t len)
{
    memset(agg, 0, sizeof *agg);
    detail[0] = '\0';
    const char *why;
    if (!pb_impl_accepts(impl, d, dir, &why)) {
        agg->verdict = PB_SKIP;
        snprintf(detail, len, "%s", why);
        return PB_OK;
    }
    agg->verdict = PB_SKIP;
    for (int f = 0; f < PB_FILL_COUNT; f++) {
        if (!(fills & PB_BIT(f))) continue;
        pb_check r;
        pb_status st = pb_verify_case(impl, d, dir, (pb_fill)f, seed, &r);
        if (st != PB_OK) return st;
        if (r.max_abs_err > agg->max_abs_err) agg->max_abs_err = r.max_abs_err;
        if (r.max_ulp_err > agg->max_ulp_err) agg->max_ulp_err = r.max_ulp_err;
        agg->compared += r.compared;
        if (r.verdict == PB_FAIL) {
            agg->verdict = PB_FAIL;
            snprintf(detail, len, "fill %s: %s", pb_fill_name((pb_fill)f), r.detail);
            return PB_OK;
        }
        if (r.verdict == PB_PASS) {
            agg->verdict = PB_PASS;
            continue;
        }
        /* a fill skipped for a declared semantic difference is named */
        size_t used = strlen(detail);
        snprintf(detail + used, len - used, "%sfill %s skipped: %s", used ? "; " : "",
                 pb_fill_name((pb_fill)f), r.detail);
    }
    return PB_OK;
}

static void count(tally *t, pb_verdict v)
{
    if (v == PB_PASS) t->pass++;
    else if (v == PB_FAIL) t->fail++;
    else t->skip++;
}

/* Every selected (impl, alg, layout, dir) on one problem. */
static int verify_problem(const opts *o, const pb_sel_problem *p, tally *t, bool print_all)
{
    for (size_t i = 0; i < o->sel.n_impls; i++)
        for (int a = 0; a < PB_ALG_COUNT; a++) {
            if (!(o->sel.algs & PB_BIT(a))) continue;
            for (int l = 0; l < PB_LAYOUT_COUNT; l++) {
                if (!(o->sel.layouts & PB_BIT(l))) continue;
                for (int dir = 0; dir < PB_DIR_COUNT; dir++) {
                    if (!(o->sel.dirs & PB_BIT(dir))) continue;
                    pb_desc d = p->desc;
                    d.alg = (pb_alg)a;
                    d.layout = (pb_layout)l;
                    const pb_impl *impl = pb_sel_resolve(o->sel.impls[i], &d, (pb_dir)dir);
                    pb_check r;
                    char detail[1024];
                    pb_status st = verify_one(impl, &d, (pb_dir)dir, o->fills, o->sel.seed, &r,
                                              detail, sizeof detail);
                    if (st != PB_OK) {
                        r.verdict = PB_FAIL;
                        snprintf(detail, sizeof detail, "could not run: %s", pb_status_str(st));
                    }
                    count(t, r.verdict);
                    char name[40];
                    snprintf(name, sizeof name, "%s%s%s", o->sel.impls[i]->name,
                             impl != o->sel.impls[i] ? ":" : "",
                             impl != o->sel.impls[i] ? impl->name : "");
                    if (print_all || r.verdict == PB_FAIL)
                        print_row(name, p->text, &d, (pb_dir)dir, &r, detail);
                }
            }
        }
    return 0;
}

/* splitmix64: the random-problem generator (seeded, reproducible). */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static int64_t rnd(uint64_t *s, int64_t lo, int64_t hi) { return lo + (int64_t)(next_rand(s) % (uint64_t)(hi - lo + 1)); }

/* A valid random problem: small enough that thousands run in seconds, with
 * channel counts and widths around the vector widths. */
static void random_problem(uint64_t *s, pb_desc *d)
{
    for (;;) {
        pb_desc_init(d);
        d->n = rnd(s, 1, 2);
        d->c = rnd(s, 1, 35);
        d->ih = rnd(s, 1, 40);
        d->iw = rnd(s, 1, 40);
        if (rnd(s, 0, 15) == 0) {
            d->global = true;
        } else {
            d->kh = rnd(s, 1, 5);
            d->kw = rnd(s, 1, 5);
            d->sh = rnd(s, 1, 4);
            d->sw = rnd(s, 1, 4);
            d->pt = rnd(s, 0, d->kh / 2);
            d->pb = rnd(s, 0, 3) ? d->pt : rnd(s, 0, d->kh / 2);
            d->pl = rnd(s, 0, d->kw / 2);
            d->pr = rnd(s, 0, 3) ? d->pl : rnd(s, 0, d->kw / 2);
            if (rnd(s, 0, 5) == 0) d->dh = rnd(s, 1, 3), d->dw = rnd(s, 1, 3);
            d->ceil_mode = rnd(s, 0, 3) == 0;
        }
        if (pb_desc_finalize(d, NULL, 0) == PB_OK) return;
    }
}

/* Does impl fail (d, dir) on any fill? */
static bool fails(const pb_impl *impl, const pb_desc *d, pb_dir dir, unsigned fills, uint64_t seed,
                  char *detail, size_t len)
{
    pb_check r;
    return verify_one(impl, d, dir, fills, seed, &r, detail, len) == PB_OK && r.verdict == PB_FAIL;
}

/* Greedy shrink: repeatedly try smaller variants of each field, keeping a
 * change while the case still fails and the descriptor stays valid. */
static void shrink(const pb_impl *impl, pb_desc *d, pb_dir dir, unsigned fills, uint64_t seed)
{
    char detail[1024];
    bool progress = true;
    while (progress) {
        progress = false;
        /* shape first, then window fields (meaningless for global) */
        static const struct { size_t off; int64_t floor; } fields[] = {
            {offsetof(pb_desc, n), 1},  {offsetof(pb_desc, c), 1},  {offsetof(pb_desc, ih), 1},
            {offsetof(pb_desc, iw), 1}, {offsetof(pb_desc, kh), 1}, {offsetof(pb_desc, kw), 1},
            {offsetof(pb_desc, sh), 1}, {offsetof(pb_desc, sw), 1}, {offsetof(pb_desc, pt), 0},
            {offsetof(pb_desc, pb), 0}, {offsetof(pb_desc, pl), 0}, {offsetof(pb_desc, pr), 0},
            {offsetof(pb_desc, dh), 1}, {offsetof(pb_desc, dw), 1}};
        for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
            if (d->global && f >= 4) break;
            int64_t orig = *(int64_t *)((char *)d + fields[f].off);
            int64_t tries[] = {fields[f].floor, orig / 2, orig - 1};
            for (size_t t = 0; t < 3; t++) {
                if (tries[t] >= orig || tries[t] < fields[f].floor) continue;
                pb_desc cand = *d;
                *(int64_t *)((char *)&cand + fields[f].off) = tries[t];
                if (pb_desc_finalize(&cand, NULL, 0) != PB_OK) continue;
                if (fails(impl, &cand, dir, fills, seed, detail, sizeof detail)) {
                    *d = cand;
                    progress = true;
                    break;
                }
            }
        }
        if (d->ceil_mode) {
            pb_desc cand = *d;
            cand.ceil_mode = false;
            if (pb_desc_finalize(&cand, NULL, 0) == PB_OK &&
                fails(impl, &cand, dir, fills, seed, detail, sizeof detail)) {
                *d = cand;
                progress = true;
            }
        }
    }
}

static int verify_random(opts *o, tally *t)
{
    uint64_t state = o->sel.seed;
    pb_sel_problem p = {.suite = NULL};
    long failures_shown = 0;
    for (long i = 0; i < o->random; i++) {
        random_problem(&state, &p.desc);
        pb_problem_format(&p.desc, p.text, sizeof p.text);
        tally before = *t;
        verify_problem(o, &p, t, false);
        if (t->fail == before.fail || failures_shown >= 5) continue;
        /* shrink the first failing case of this problem */
        for (size_t k = 0; k < o->sel.n_impls; k++)
            for (int a = 0; a < PB_ALG_COUNT; a++)
                for (int l = 0; l < PB_LAYOUT_COUNT; l++)
                    for (int dir = 0; dir < PB_DIR_COUNT; dir++) {
                        pb_desc d = p.desc;
                        d.alg = (pb_alg)a;
                        d.layout = (pb_layout)l;
                        if (!(o->sel.algs & PB_BIT(a)) || !(o->sel.layouts & PB_BIT(l)) ||
                            !(o->sel.dirs & PB_BIT(dir)))
                            continue;
                        const pb_impl *impl = pb_sel_resolve(o->sel.impls[k], &d, (pb_dir)dir);
                        char detail[1024];
                        if (!fails(impl, &d, (pb_dir)dir, o->fills, o->sel.seed, detail, sizeof detail))
                            continue;
                        shrink(impl, &d, (pb_dir)dir, o->fills, o->sel.seed);
                        char text[160];
                        pb_problem_format(&d, text, sizeof text);
                        fails(impl, &d, (pb_dir)dir, o->fills, o->sel.seed, detail, sizeof detail);
                        printf("minimal failing case (random problem %ld, seed %llu): poolbench "
                               "verify --impl %s --problem %s --alg %s --layout %s --dir %s\n  %s\n",
                               i, (unsigned long long)o->sel.seed, impl->name, text,
                               pb_alg_name(d.alg), pb_layout_name(d.layout),
                               pb_dir_name((pb_dir)dir), detail);
                        failures_shown++;
                        goto next;
                    }
    next:;
    }
    return 0;
}

int pb_cmd_verify(int argc, char **argv)
{
    opts o;
    int rc = parse_opts(argc, argv, "verify", &o);
    if (rc) return rc < 0 ? PB_EXIT_OK : rc;
    tally t = {0, 0, 0};
    header_done = false;
    if (o.random) {
        printf("verify: %ld random problems, seed %llu\n", o.random,
               (unsigned long long)o.sel.seed);
        verify_random(&o, &t);
    } else {
        for (size_t p = 0; p < o.sel.n_problems; p++)
            verify_problem(&o, &o.sel.problems[p], &t, !o.quiet);
    }
    printf("verify: %ld passed, %ld failed, %ld skipped\n", t.pass, t.fail, t.skip);
    pb_sel_free(&o.sel);
    return t.fail ? PB_EXIT_FAIL : PB_EXIT_OK;
}

int pb_cmd_gradcheck(int argc, char **argv)
{
    opts o;
    int rc = parse_opts(argc, argv, "gradcheck", &o);
    if (rc) return rc < 0 ? PB_EXIT_OK : rc;
    tally t = {0, 0, 0};
    bool grad_header = false;
    for (size_t p = 0; p < o.sel.n_problems; p++)
        for (size_t i = 0; i < o.sel.n_impls; i++)
            for (int a = 0; a < PB_ALG_COUNT; a++) {
                if (!(o.sel.algs & PB_BIT(a))) continue;
                for (int l = 0; l < PB_LAYOUT_COUNT; l++) {
                    if (!(o.sel.layouts & PB_BIT(l))) continue;
                    pb_desc d = o.sel.problems[p].desc;
                    d.alg = (pb_alg)a;
                    d.layout = (pb_layout)l;
                    const pb_impl *impl = pb_sel_resolve(o.sel.impls[i], &d, PB_DIR_BWD);
                    pb_check r;
                    pb_status st = pb_gradcheck_case(impl, &d, o.sel.seed, &r);
                    if (st != PB_OK) {
                        r.verdict = PB_FAIL;
                        snprintf(r.detail, sizeof r.detail, "could not run: %s", pb_status_str(st));
                    }
                    count(&t, r.verdict);
                    if (o.quiet && r.verdict != PB_FAIL) continue;
                    if (!grad_header)
                        printf("%-10s %-44s %-8s %-6s %-7s %-9s %-9s %s\n", "impl", "problem",
                               "alg", "layout", "result", "max abs", "max rel", "detail");
                    grad_header = true;
                    char abs_s[16] = "-", rel_s[16] = "-";
                    if (r.verdict != PB_SKIP) {
                        snprintf(abs_s, sizeof abs_s, "%.2e", r.max_abs_err);
                        snprintf(rel_s, sizeof rel_s, "%.2e", r.max_ulp_err);
                    }
                    printf("%-10s %-44s %-8s %-6s %-7s %-9s %-9s %s\n", impl->name,
                           o.sel.problems[p].text, pb_alg_name(d.alg), pb_layout_name(d.layout),
                           pb_verdict_name(r.verdict), abs_s, rel_s, r.detail);
                }
            }
    printf("gradcheck: %ld passed, %ld failed, %ld skipped\n", t.pass, t.fail, t.skip);
    pb_sel_free(&o.sel);
    return t.fail ? PB_EXIT_FAIL : PB_EXIT_OK;
}
