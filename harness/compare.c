/* Regression comparison of two results records; see compare.h. */
#include "compare.h"

#include <jansson.h>
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "results.h"
#include "stats.h"

static const char *const verdict_names[] = {
    [PB_CMP_SAME] = "same",         [PB_CMP_FASTER] = "faster",
    [PB_CMP_SLOWER] = "slower",     [PB_CMP_ONLY_OLD] = "only_old",
    [PB_CMP_ONLY_NEW] = "only_new", [PB_CMP_ERROR] = "error",
    [PB_CMP_UNTIMED] = "untimed",
};

const char *pb_cmp_verdict_name(pb_cmp_verdict v)
{
    return (unsigned)v < sizeof verdict_names / sizeof verdict_names[0] ? verdict_names[v] : "?";
}

/* The usable timings of a case: finite and > 0 (a record may carry zeros
 * or nulls for cases that were counted, not timed). */
static size_t usable_times(const pb_gbrun_case *c, bool cpu, double *buf)
{
    const double *t = cpu ? c->cpu_ns : c->real_ns;
    size_t m = 0;
    for (size_t i = 0; i < c->n; i++)
        if (isfinite(t[i]) && t[i] > 0) buf[m++] = t[i];
    return m;
}

static double rel_change(double o, double n)
{
    if (o == n) return 0;
    if (o == 0) return n > 0 ? INFINITY : -INFINITY;
    return n / o - 1;
}

static pb_status compare_counters(const pb_gbrun_case *o, const pb_gbrun_case *n, double threshold,
                                  pb_cmp_row *row)
{
    for (size_t i = 0; i < n->ncounters; i++) {
        const pb_gbrun_counter *nc = &n->counters[i];
        if (!nc->exact) continue;
        const pb_gbrun_counter *oc = NULL;
        for (size_t k = 0; k < o->ncounters && !oc; k++)
            if (strcmp(o->counters[k].name, nc->name) == 0) oc = &o->counters[k];
        if (!oc) continue;
        pb_cmp_counter *a = realloc(row->counters, (row->ncounters + 1) * sizeof *a);
        if (!a) return PB_ERR_NOMEM;
        row->counters = a;
        pb_cmp_counter *c = &a[row->ncounters++];
        c->name = nc->name;
        c->old_v = oc->value;
        c->new_v = nc->value;
        c->change = rel_change(oc->value, nc->value);
        c->regression = c->change > threshold;
        if (c->old_v != c->new_v) row->counters_changed++;
        if (c->regression) row->regression = true;
    }
    return PB_OK;
}

static pb_status compare_case(const pb_gbrun_case *o, const pb_gbrun_case *n, const pb_compare_opts *opts,
                              pb_cmp_row *row)
{
    row->old_med = row->new_med = row->change = row->p = NAN;
    row->error_old = o->error;
    row->error_new = n->error;
    if (o->error || n->error) {
        row->verdict = PB_CMP_ERROR;
        row->regression = n->error && !o->error;
        return PB_OK;
    }
    pb_status st = compare_counters(o, n, opts->threshold, row);
    if (st != PB_OK) return st;

    double *a = malloc((o->n + 1) * sizeof *a), *b = malloc((n->n + 1) * sizeof *b);
    if (!a || !b) {
        free(a);
        free(b);
        return PB_ERR_NOMEM;
    }
    size_t na = usable_times(o, opts->cpu_time, a), nb = usable_times(n, opts->cpu_time, b);
    row->old_n = na;
    row->new_n = nb;
    /* no repetitions: fall back to the record's median aggregate */
    row->old_med = opts->cpu_time ? o->median_cpu_ns : o->median_real_ns;
    row->new_med = opts->cpu_time ? n->median_cpu_ns : n->median_real_ns;
    if (na) st = pb_median(a, na, &row->old_med);
    if (st == PB_OK && nb) st = pb_median(b, nb, &row->new_med);
    if (st == PB_OK && na >= PB_COMPARE_MIN_REPS && nb >= PB_COMPARE_MIN_REPS) {
        pb_utest t;
        st = pb_mann_whitney(a, na, b, nb, PB_UTEST_AUTO, &t);
        if (st == PB_OK) row->p = t.p;
    }
    free(a);
    free(b);
    if (st != PB_OK) return st;

    if (!(isfinite(row->old_med) && row->old_med > 0 && isfinite(row->new_med) &&
          row->new_med > 0)) {
        row->old_med = isfinite(row->old_med) && row->old_med > 0 ? row->old_med : NAN;
        row->new_med = isfinite(row->new_med) && row->new_med > 0 ? row->new_med : NAN;
        row->verdict = PB_CMP_UNTIMED;
        return PB_OK;
    }
    row->change = row->new_med / row->old_med - 1;
    bool significant = isnan(row->p) || row->p < opts->alpha;
    if (significant && row->change > opts->threshold) row->verdict = PB_CMP_SLOWER;
    else if (significant && row->change < -opts->threshold) row->verdict = PB_CMP_FASTER;
    else row->verdict = PB_CMP_SAME;
    if (row->verdict == PB_CMP_SLOWER && !opts->exact_only) row->regression = true;
    return PB_OK;
}

/* Median and repetition count of a case found on one side only. */
static pb_status one_side(const pb_gbrun_case *c, bool cpu, double *med, size_t *n)
{
    *med = cpu ? c->median_cpu_ns : c->median_real_ns;
    double *t = malloc((c->n + 1) * sizeof *t);
    if (!t) return PB_ERR_NOMEM;
    *n = usable_times(c, cpu, t);
    pb_status st = *n ? pb_median(t, *n, med) : PB_OK;
    free(t);
    return st;
}

void pb_comparison_free(pb_comparison *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->nrows; i++) free(c->rows[i].counters);
    free(c->rows);
    memset(c, 0, sizeof *c);
}

pb_status pb_compare_records(const pb_gbrun *old_rec, const pb_gbrun *new_rec,
                             const pb_compare_opts *opts, pb_comparison *out)
{
    if (!old_rec || !new_rec || !opts || !out) return PB_ERR_NULL;
    memset(out, 0, sizeof *out);
    if (!(opts->threshold >= 0) || !(opts->alpha > 0 && opts->alpha < 1)) return PB_ERR_SHAPE;
    regex_t re;
    if (opts->filter && regcomp(&re, opts->filter, REG_EXTENDED | REG_NOSUB) != 0) return PB_ERR_PARSE;
    out->opts = *opts;
    out->old_path = old_rec->path;
    out->new_path = new_rec->path;
    out->geomean = NAN;
    size_t cap = old_rec->ncases + new_rec->ncases;
    out->rows = calloc(cap ? cap : 1, sizeof *out->rows);
    double *ratios = malloc((cap ? cap : 1) * sizeof *ratios);
    if (!out->rows || !ratios) {
        free(ratios);
        if (opts->filter) regfree(&re);
        pb_comparison_free(out);
        return PB_ERR_NOMEM;
    }
    pb_status st = PB_OK;
    for (size_t i = 0; i < old_rec->ncases && st == PB_OK; i++) {
        const pb_gbrun_case *o = &old_rec->cases[i];
        if (opts->filter && regexec(&re, o->name, 0, NULL, 0) != 0) continue;
        const pb_gbrun_case *n = pb_gbrun_find(new_rec, o->name);
        pb_cmp_row *row = &out->rows[out->nrows++];
        row->name = o->name;
        if (!n) {
            row->verdict = PB_CMP_ONLY_OLD;
            row->error_old = o->error;
            st = one_side(o, opts->cpu_time, &row->old_med, &row->old_n);
            row->new_med = row->change = row->p = NAN;
            continue;
        }
        st = compare_case(o, n, opts, row);
    }
    for (size_t i = 0; i < new_rec->ncases && st == PB_OK; i++) {
        const pb_gbrun_case *n = &new_rec->cases[i];
        if (opts->filter && regexec(&re, n->name, 0, NULL, 0) != 0) continue;
        if (pb_gbrun_find(old_rec, n->name)) continue;
        pb_cmp_row *row = &out->rows[out->nrows++];
        row->name = n->name;
        row->verdict = PB_CMP_ONLY_NEW;
        row->error_new = n->error;
        st = one_side(n, opts->cpu_time, &row->new_med, &row->new_n);
        row->old_med = row->change = row->p = NAN;
    }
    if (opts->filter) regfree(&re);
    if (st != PB_OK) {
        free(ratios);
        pb_comparison_free(out);
        return st;
    }
    for (size_t i = 0; i < out->nrows; i++) {
        const pb_cmp_row *r = &out->rows[i];
        if (isfinite(r->change)) ratios[out->geomean_n++] = r->new_med / r->old_med;
        if (r->regression) out->regressions++;
        if (!isnan(r->p) && (r->old_n < PB_COMPARE_GOOD_REPS || r->new_n < PB_COMPARE_GOOD_REPS))
            out->few_reps++;
        out->counters_compared += r->ncounters;
        out->counters_changed += r->counters_changed;
    }
    if (out->geomean_n) st = pb_geomean(ratios, out->geomean_n, &out->geomean);
    free(ratios);
    if (st != PB_OK) pb_comparison_free(out);
    return st;
}

/* ---- output ---- */

static void fmt_time(double ns, char *buf, size_t len)
{
    if (!isfinite(ns)) snprintf(buf, len, "-");
    else if (ns < 1e3) snprintf(buf, len, "%.1f ns", ns);
    else if (ns < 1e6) snprintf(buf, len, "%.2f us", ns / 1e3);
    else if (ns < 1e9) snprintf(buf, len, "%.3f ms", ns / 1e6);
    else snprintf(buf, len, "%.3f s", ns / 1e9);
}

static void fmt_change(double c, char *buf, size_t len)
{
    if (isnan(c)) snprintf(buf, len, "-");
    else if (isinf(c)) snprintf(buf, len, "%s", c > 0 ? "+inf" : "-inf");
    else snprintf(buf, len, "%+.1f%%", 100 * c);
}

static void fmt_count(double v, char *buf, size_t len)
{
    if (v == floor(v) && fabs(v) < 1e15) snprintf(buf, len, "%.0f", v);
    else snprintf(buf, len, "%.6g", v);
}

static const char *verdict_text(const pb_cmp_row *r)
{
    switch (r->verdict) {
    case PB_CMP_ONLY_OLD: return r->error_old ? "only in OLD, failed" : "only in OLD";
    case PB_CMP_ONLY_NEW: return r->error_new ? "only in NEW, failed" : "only in NEW";
    case PB_CMP_ERROR: return r->error_new ? (r->error_old ? "error in both" : "error in NEW") : "error in OLD";
    default: return pb_cmp_verdict_name(r->verdict);
    }
}

static bool few(const pb_cmp_row *r)
{
    return r->old_n < PB_COMPARE_GOOD_REPS || r->new_n < PB_COMPARE_GOOD_REPS;
}

static void print_md(const pb_comparison *c, FILE *f)
{
    fprintf(f, "# poolbench compare\n\nOLD: `%s`  \nNEW: `%s`  \n", c->old_path, c->new_path);
    fprintf(f, "metric %s, threshold %.1f%%, alpha %g\n\n", c->opts.cpu_time ? "cpu_time" : "real_time",
            100 * c->opts.threshold, c->opts.alpha);
    if (c->opts.exact_only)
        fprintf(f, "Exact counters only (--exact-only): the timings below are shown, not judged.\n\n");
    fprintf(f, "| case | old | new | change | p-value | reps | verdict |\n");
    fprintf(f, "|:-----|----:|----:|-------:|--------:|-----:|:--------|\n");
    bool untested = false;
    for (size_t i = 0; i < c->nrows; i++) {
        const pb_cmp_row *r = &c->rows[i];
        char o[32], n[32], ch[32], p[40];
        fmt_time(r->old_med, o, sizeof o);
        fmt_time(r->new_med, n, sizeof n);
        fmt_change(r->change, ch, sizeof ch);
        if (isnan(r->p)) {
            snprintf(p, sizeof p, "-");
            if (r->verdict <= PB_CMP_SLOWER) untested = true;
        } else {
            snprintf(p, sizeof p, "%.4f%s", r->p, few(r) ? "*" : "");
        }
        const char *v = verdict_text(r);
        fprintf(f, "| %s | %s | %s | %s | %s | %zu/%zu | %s%s%s |\n", r->name, o, n, ch, p, r->old_n,
                r->new_n, r->regression ? "**" : "", v, r->regression ? "**" : "");
    }
    if (c->few_reps)
        fprintf(f, "\n\\* fewer than %d repetitions on a side: the U test's p-value is unreliable "
                   "(run with --reps %d or more).\n",
                PB_COMPARE_GOOD_REPS, PB_COMPARE_GOOD_REPS);
    if (untested)
        fprintf(f, "\nA p-value of `-` means fewer than %d repetitions on a side: no U test, "
                   "the threshold alone decides.\n",
                PB_COMPARE_MIN_REPS);
    bool any_error = false;
    for (size_t i = 0; i < c->nrows; i++) {
        const pb_cmp_row *r = &c->rows[i];
        if ((r->error_old || r->error_new) && !any_error) fprintf(f, "\nErrors:\n");
        any_error |= r->error_old || r->error_new;
        if (r->error_old) fprintf(f, "- OLD error in %s: %s\n", r->name, r->error_old);
        if (r->error_new) fprintf(f, "- NEW error in %s: %s\n", r->name, r->error_new);
    }
    if (c->counters_compared) {
        fprintf(f, "\nExact counters: %zu compared, %zu changed.\n", c->counters_compared,
                c->counters_changed);
        if (c->counters_changed) {
            fprintf(f, "\n| case | counter | old | new | change |\n");
            fprintf(f, "|:-----|:--------|----:|----:|-------:|\n");
            for (size_t i = 0; i < c->nrows; i++)
                for (size_t k = 0; k < c->rows[i].ncounters; k++) {
                    const pb_cmp_counter *x = &c->rows[i].counters[k];
                    if (x->old_v == x->new_v) continue;
                    char o[32], n[32], ch[32];
                    fmt_count(x->old_v, o, sizeof o);
                    fmt_count(x->new_v, n, sizeof n);
                    fmt_change(x->change, ch, sizeof ch);
                    fprintf(f, "| %s | %s | %s | %s | %s%s |\n", c->rows[i].name, x->name, o, n, ch,
                            x->regression ? " **regression**" : "");
                }
        }
    }
    if (c->geomean_n)
        fprintf(f, "\nGeometric mean of new/old over %zu cases: %.4f (%+.1f%%)\n", c->geomean_n,
                c->geomean, 100 * (c->geomean - 1));
    else
        fprintf(f, "\nGeometric mean: no case timed on both sides\n");
    if (c->regressions)
        fprintf(f, "Result: %zu regression%s (exit 1)\n", c->regressions, c->regressions == 1 ? "" : "s");
    else
        fprintf(f, "Result: no regression\n");
}

static void csv_num(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, ",%.10g", v);
    else if (isinf(v)) fprintf(f, ",%s", v > 0 ? "inf" : "-inf");
    else fputc(',', f);
}

static void print_csv(const pb_comparison *c, FILE *f)
{
    fprintf(f, "kind,case,metric,old,new,change,p_value,old_reps,new_reps,verdict,regression\n");
    const char *metric = c->opts.cpu_time ? "cpu_time_ns" : "real_time_ns";
    for (size_t i = 0; i < c->nrows; i++) {
        const pb_cmp_row *r = &c->rows[i];
        fputs("time,", f);
        pb_csv_field(f, r->name);
        fprintf(f, ",%s", metric);
        csv_num(f, r->old_med);
        csv_num(f, r->new_med);
        csv_num(f, r->change);
        csv_num(f, r->p);
        /* the row's own regression: counters report theirs below */
        bool time_regression = (r->verdict == PB_CMP_SLOWER && !c->opts.exact_only) ||
                               (r->verdict == PB_CMP_ERROR && r->regression);
        fprintf(f, ",%zu,%zu,%s,%d\n", r->old_n, r->new_n, pb_cmp_verdict_name(r->verdict),
                time_regression);
        for (size_t k = 0; k < r->ncounters; k++) {
            const pb_cmp_counter *x = &r->counters[k];
            fputs("counter,", f);
            pb_csv_field(f, r->name);
            fputc(',', f);
            pb_csv_field(f, x->name);
            csv_num(f, x->old_v);
            csv_num(f, x->new_v);
            csv_num(f, x->change);
            fprintf(f, ",,,,%s,%d\n", x->old_v == x->new_v ? "same" : "changed", x->regression);
        }
    }
    fprintf(f, "geomean,,ratio,,");
    csv_num(f, c->geomean);
    fprintf(f, ",,,%zu,,%s,%zu\n", c->geomean_n, c->regressions ? "regression" : "ok", c->regressions);
}

static json_t *jnum(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *build_json(const pb_comparison *c)
{
    json_t *root = json_object(), *cases = json_array();
    if (!root || !cases) {
        json_decref(root);
        json_decref(cases);
        return NULL;
    }
    json_object_set_new(root, "old", json_string(c->old_path));
    json_object_set_new(root, "new", json_string(c->new_path));
    json_object_set_new(root, "metric", json_string(c->opts.cpu_time ? "cpu_time" : "real_time"));
    json_object_set_new(root, "threshold", json_real(c->opts.threshold));
    json_object_set_new(root, "alpha", json_real(c->opts.alpha));
    json_object_set_new(root, "exact_only", json_boolean(c->opts.exact_only));
    for (size_t i = 0; i < c->nrows; i++) {
        const pb_cmp_row *r = &c->rows[i];
        json_t *o = json_object(), *ctr = json_array();
        json_object_set_new(o, "case", json_string(r->name));
        json_object_set_new(o, "verdict", json_string(pb_cmp_verdict_name(r->verdict)));
        json_object_set_new(o, "old_median_ns", jnum(r->old_med));
        json_object_set_new(o, "new_median_ns", jnum(r->new_med));
        json_object_set_new(o, "change", jnum(r->change));
        json_object_set_new(o, "p_value", jnum(r->p));
        json_object_set_new(o, "old_reps", json_integer((json_int_t)r->old_n));
        json_object_set_new(o, "new_reps", json_integer((json_int_t)r->new_n));
        json_object_set_new(o, "p_value_reliable",
                            json_boolean(!isnan(r->p) && !few(r)));
        json_object_set_new(o, "regression", json_boolean(r->regression));
        if (r->error_old) json_object_set_new(o, "error_old", json_string(r->error_old));
        if (r->error_new) json_object_set_new(o, "error_new", json_string(r->error_new));
        for (size_t k = 0; k < r->ncounters; k++) {
            const pb_cmp_counter *x = &r->counters[k];
            json_t *e = json_object();
            json_object_set_new(e, "name", json_string(x->name));
            json_object_set_new(e, "old", json_real(x->old_v));
            json_object_set_new(e, "new", json_real(x->new_v));
            json_object_set_new(e, "change", isinf(x->change) ? json_string(x->change > 0 ? "inf" : "-inf")
                                                              : jnum(x->change));
            json_object_set_new(e, "regression", json_boolean(x->regression));
            json_array_append_new(ctr, e);
        }
        json_object_set_new(o, "exact_counters", ctr);
        json_array_append_new(cases, o);
    }
    json_object_set_new(root, "cases", cases);
    json_object_set_new(root, "geomean_ratio", jnum(c->geomean));
    json_object_set_new(root, "geomean_cases", json_integer((json_int_t)c->geomean_n));
    json_object_set_new(root, "counters_compared", json_integer((json_int_t)c->counters_compared));
    json_object_set_new(root, "counters_changed", json_integer((json_int_t)c->counters_changed));
    json_object_set_new(root, "regressions", json_integer((json_int_t)c->regressions));
    return root;
}

pb_status pb_compare_print(const pb_comparison *c, pb_cmp_format fmt, FILE *f)
{
    if (!c || !f) return PB_ERR_NULL;
    if (fmt == PB_FMT_MD) {
        print_md(c, f);
    } else if (fmt == PB_FMT_CSV) {
        print_csv(c, f);
    } else if (fmt == PB_FMT_JSON) {
        json_t *j = build_json(c);
        if (!j) return PB_ERR_NOMEM;
        int rc = json_dumpf(j, f, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        json_decref(j);
        fputc('\n', f);
        if (rc != 0) return PB_ERR_IO;
    } else {
        return PB_ERR_UNKNOWN_NAME;
    }
    return fflush(f) == 0 && !ferror(f) ? PB_OK : PB_ERR_IO;
}

/* ---- the subcommand ---- */

static const char usage[] =
    "usage: poolbench compare [--threshold PCT] [--alpha A] [--metric real_time|cpu_time]\n"
    "                         [--format md|csv|json] [--filter REGEX] [--exact-only] OLD NEW\n"
    "  OLD, NEW       run directories (results/<host>/<run>/) or their JSON files\n"
    "  --threshold    relative change that counts, in percent (default 5)\n"
    "  --alpha        significance level of the Mann-Whitney U test (default 0.05)\n"
    "  --metric       which Google Benchmark time to compare (default real_time)\n"
    "  --format       md (default), csv or json\n"
    "  --filter       only cases whose name matches this POSIX extended regex\n"
    "  --exact-only   only exact counters (bench --counters sim) and new failures\n"
    "                 decide the exit status; timings are shown, not judged\n"
    "exit status: 0 no regression, 1 a significant regression beyond the threshold,\n"
    "2 bad usage or unreadable input\n";

/* Value of option `name` at argv[*i]: "--name=V" or "--name V". */
static const char *opt_value(int argc, char **argv, int *i, const char *name, bool *matched)
{
    size_t len = strlen(name);
    *matched = false;
    if (strncmp(argv[*i], name, len) != 0) return NULL;
    if (argv[*i][len] == '=') {
        *matched = true;
        return argv[*i] + len + 1;
    }
    if (argv[*i][len] != 0) return NULL;
    *matched = true;
    return *i + 1 < argc ? argv[++*i] : NULL;
}

static bool parse_double(const char *s, double *out)
{
    if (!s || !*s) return false;
    char *end;
    double v = strtod(s, &end);
    if (*end == '%') end++;
    if (*end != 0 || !isfinite(v)) return false;
    *out = v;
    return true;
}

int pb_compare_main(int argc, char **argv, FILE *out, FILE *err)
{
    if (!argv || !out || !err) return 2;
    pb_compare_opts opts = {.threshold = 0.05, .alpha = 0.05, .cpu_time = false};
    pb_cmp_format fmt = PB_FMT_MD;
    const char *paths[2] = {NULL, NULL};
    int npaths = 0;
    for (int i = 1; i < argc; i++) {
        bool m;
        const char *v;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage, out);
            return 0;
        }
        if (strcmp(argv[i], "--exact-only") == 0) {
            opts.exact_only = true;
            continue;
        }
        if ((v = opt_value(argc, argv, &i, "--threshold", &m)), m) {
            double t;
            if (!parse_double(v, &t) || t < 0) {
                fprintf(err, "poolbench: compare: --threshold needs a percentage >= 0, got '%s'\n", v ? v : "");
                return 2;
            }
            opts.threshold = t / 100;
        } else if ((v = opt_value(argc, argv, &i, "--alpha", &m)), m) {
            double a;
            if (!parse_double(v, &a) || !(a > 0 && a < 1)) {
                fprintf(err, "poolbench: compare: --alpha needs a value in (0, 1), got '%s'\n", v ? v : "");
                return 2;
            }
            opts.alpha = a;
        } else if ((v = opt_value(argc, argv, &i, "--metric", &m)), m) {
            if (v && strcmp(v, "real_time") == 0) opts.cpu_time = false;
            else if (v && strcmp(v, "cpu_time") == 0) opts.cpu_time = true;
            else {
                fprintf(err, "poolbench: compare: --metric is real_time or cpu_time, got '%s'\n", v ? v : "");
                return 2;
            }
        } else if ((v = opt_value(argc, argv, &i, "--format", &m)), m) {
            if (v && strcmp(v, "md") == 0) fmt = PB_FMT_MD;
            else if (v && strcmp(v, "csv") == 0) fmt = PB_FMT_CSV;
            else if (v && strcmp(v, "json") == 0) fmt = PB_FMT_JSON;
            else {
                fprintf(err, "poolbench: compare: --format is md, csv or json, got '%s'\n", v ? v : "");
                return 2;
            }
        } else if ((v = opt_value(argc, argv, &i, "--filter", &m)), m) {
            regex_t re;
            if (!v || regcomp(&re, v, REG_EXTENDED | REG_NOSUB) != 0) {
                fprintf(err, "poolbench: compare: --filter needs a POSIX extended regex, got '%s'\n", v ? v : "");
                return 2;
            }
            regfree(&re);
            opts.filter = v;
        } else if (argv[i][0] == '-' && argv[i][1] != 0) {
            fprintf(err, "poolbench: compare: unknown option '%s' (see --help)\n", argv[i]);
            return 2;
        } else if (npaths < 2) {
            paths[npaths++] = argv[i];
        } else {
            fprintf(err, "poolbench: compare: too many arguments: '%s' (want OLD NEW)\n", argv[i]);
            return 2;
        }
    }
    if (npaths != 2) {
        fprintf(err, "poolbench: compare: need OLD and NEW (see --help)\n");
        return 2;
    }
    pb_gbrun rec[2];
    char msg[1400];
    for (int k = 0; k < 2; k++) {
        pb_status st = pb_gbrun_load(paths[k], &rec[k], msg, sizeof msg);
        if (st != PB_OK) {
            fprintf(err, "poolbench: compare: %s: %s\n", k ? "NEW" : "OLD", msg);
            if (k) pb_gbrun_free(&rec[0]);
            return 2;
        }
    }
    pb_comparison c;
    int rc = 2;
    pb_status st = pb_compare_records(&rec[0], &rec[1], &opts, &c);
    if (st != PB_OK) {
        fprintf(err, "poolbench: compare: %s\n", pb_status_str(st));
    } else {
        st = pb_compare_print(&c, fmt, out);
        if (st != PB_OK) fprintf(err, "poolbench: compare: writing the output: %s\n", pb_status_str(st));
        else rc = c.regressions ? 1 : 0;
        pb_comparison_free(&c);
    }
    pb_gbrun_free(&rec[0]);
    pb_gbrun_free(&rec[1]);
    return rc;
}
