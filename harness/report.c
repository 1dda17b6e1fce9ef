/* Figures and reports from results records; see report.h. */
#include "report.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "csv.h"
#include "gbrun.h"
#include "problem.h"
#include "stats.h"

static void copy_str(char *dst, size_t n, const char *src)
{
    if (!src) src = "";
    size_t l = strlen(src);
    if (l >= n) l = n - 1;
    memcpy(dst, src, l);
    dst[l] = 0;
}

/* out = a "/" b; false (and out truncated) when it does not fit.  Used
 * instead of snprintf for paths so truncation is an answer, not a warning. */
static bool join(char *out, size_t len, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la + 1 + lb >= len) {
        copy_str(out, len, a);
        return false;
    }
    memcpy(out, a, la);
    out[la] = '/';
    memcpy(out + la + 1, b, lb + 1);
    return true;
}

/* ---- the record, as the report sees it ---- */

typedef struct rcase {
    const char *impl, *problem, *alg, *layout, *dir, *status;
    int threads;
    double median_ns, gbps, bw_gbps, pct_bw, speedup, bytes_total;
    char key[320];   /* problem|alg|layout|dir|threads: one bar group */
    char key_nt[320];/* the same without threads (thread scaling) */
    char label[96];  /* short axis label */
    bool ok;         /* status OK with a finite GB/s */
    bool sweep;      /* a `bench --sweep` case: its label starts "sweep" */
} rcase;

typedef struct rrun {
    char dir[PATH_MAX];
    char name[256];          /* the record directory's name */
    pb_csv csv;
    rcase *c;
    size_t n;
    char host[64], stamp[48], commit[48], cpu[128], cc[160], suite[64];
    bool dirty;
    int cpus;
    int64_t l1d, l2, llc;    /* 0 when the record does not say */
} rrun;

static double num(const char *s)
{
    if (!s || !*s) return NAN;
    char *end;
    double v = strtod(s, &end);
    return *end ? NAN : v;
}

/* "c64 112x112 k3s2p1" from a problem string; the string itself if it
 * does not parse.  Labels of network layers (nresnet50:pool1_...) are
 * kept in front. */
static void short_label(const char *problem, char *out, size_t len)
{
    pb_desc d;
    pb_desc_init(&d);
    char msg[160];
    if (pb_problem_parse(problem, &d, msg, sizeof msg) != PB_OK) {
        copy_str(out, len, problem);
        return;
    }
    char name[48] = "";
    if (problem[0] == 'n') {
        const char *u = strchr(problem, '_');
        size_t l = u ? (size_t)(u - problem - 1) : 0;
        if (l >= sizeof name - 1) l = sizeof name - 2;
        memcpy(name, problem + 1, l);
        name[l] = ' ';
        name[l + 1] = 0;
    }
    char mb[24] = "", win[64];
    if (d.n != 1) snprintf(mb, sizeof mb, "mb%lld ", (long long)d.n);
    if (d.global) {
        snprintf(win, sizeof win, "global");
    } else {
        int w = d.kh == d.kw ? snprintf(win, sizeof win, "k%lld", (long long)d.kh)
                             : snprintf(win, sizeof win, "k%lldx%lld", (long long)d.kh, (long long)d.kw);
        if (w > 0 && (size_t)w < sizeof win)
            w += d.sh == d.sw ? snprintf(win + w, sizeof win - (size_t)w, "s%lld", (long long)d.sh)
                              : snprintf(win + w, sizeof win - (size_t)w, "s%lldx%lld", (long long)d.sh, (long long)d.sw);
        if (w > 0 && (size_t)w < sizeof win && (d.pt || d.pb || d.pl || d.pr))
            w += d.pt == d.pb && d.pl == d.pr && d.pt == d.pl
                     ? snprintf(win + w, sizeof win - (size_t)w, "p%lld", (long long)d.pt)
                     : snprintf(win + w, sizeof win - (size_t)w, "p%lld.%lld.%lld.%lld", (long long)d.pt,
                                (long long)d.pb, (long long)d.pl, (long long)d.pr);
        if (w > 0 && (size_t)w < sizeof win && (d.dh != 1 || d.dw != 1))
            w += snprintf(win + w, sizeof win - (size_t)w, "d%lld", (long long)d.dh);
        if (w > 0 && (size_t)w < sizeof win && d.ceil_mode) snprintf(win + w, sizeof win - (size_t)w, "c");
    }
    char buf[256];
    snprintf(buf, sizeof buf, "%s%sc%lld %lldx%lld %s", name, mb, (long long)d.c, (long long)d.ih, (long long)d.iw, win);
    copy_str(out, len, buf);
}

/* The record's context: the "poolbench" block of the JSON if there is
 * one; the CSV's own columns otherwise. */
static void read_context(rrun *r)
{
    char path[PATH_MAX + 64];
    if (pb_gbrun_find_json(r->dir, path, sizeof path, NULL, 0) != PB_OK) return;
    json_t *root = json_load_file(path, JSON_ALLOW_NUL, NULL);
    if (!root) {
        /* Google Benchmark writes NaN bare; the gbrun reader copes */
        pb_gbrun g;
        if (pb_gbrun_load(path, &g, NULL, 0) != PB_OK) return;
        root = json_incref((json_t *)g.json);
        pb_gbrun_free(&g);
    }
    json_t *ctx = json_object_get(root, "context");
    json_t *pb = json_object_get(ctx, "poolbench");
    const char *s;
    if ((s = json_string_value(json_object_get(json_object_get(pb, "cpu"), "model")))) copy_str(r->cpu, sizeof r->cpu, s);
    json_t *lc = json_object_get(json_object_get(pb, "cpu"), "logical_cpus");
    if (json_is_integer(lc)) r->cpus = (int)json_integer_value(lc);
    else if (json_is_integer(json_object_get(ctx, "num_cpus"))) r->cpus = (int)json_integer_value(json_object_get(ctx, "num_cpus"));
    json_t *build = json_object_get(pb, "build");
    if ((s = json_string_value(json_object_get(build, "cc_version"))) && *s) copy_str(r->cc, sizeof r->cc, s);
    else if ((s = json_string_value(json_object_get(build, "cc")))) copy_str(r->cc, sizeof r->cc, s);
    json_t *src = json_object_get(pb, "source");
    if (!r->commit[0] && (s = json_string_value(json_object_get(src, "commit_short")))) copy_str(r->commit, sizeof r->commit, s);
    if (json_is_true(json_object_get(src, "dirty"))) r->dirty = true;
    if ((s = json_string_value(json_object_get(json_object_get(pb, "options"), "suite")))) copy_str(r->suite, sizeof r->suite, s);
    if (!r->host[0] && (s = json_string_value(json_object_get(pb, "host")))) copy_str(r->host, sizeof r->host, s);
    if (!r->stamp[0] && (s = json_string_value(json_object_get(pb, "timestamp_utc")))) copy_str(r->stamp, sizeof r->stamp, s);
    /* caches: poolbench's levels, else Google Benchmark's own list */
    json_t *levels = json_object_get(json_object_get(pb, "caches"), "levels");
    bool from_gb = !json_is_array(levels) || json_array_size(levels) == 0;
    if (from_gb) levels = json_object_get(ctx, "caches");
    size_t i;
    json_t *lv;
    json_array_foreach(levels, i, lv)
    {
        json_int_t level = json_integer_value(json_object_get(lv, "level"));
        json_t *sz = json_object_get(lv, from_gb ? "size" : "size_bytes");
        const char *type = json_string_value(json_object_get(lv, "type"));
        int64_t bytes = json_is_number(sz) ? (int64_t)json_number_value(sz) : 0;
        if (bytes <= 0 || !type) continue;
        bool data = strcasecmp(type, "data") == 0;
        bool unified = strcasecmp(type, "unified") == 0;
        if (level == 1 && data) r->l1d = bytes;
        if (level == 2 && (data || unified)) r->l2 = bytes;
        if (level >= 2 && (data || unified) && level >= 3) r->llc = bytes;
    }
    if (!r->llc && r->l2) r->llc = r->l2;
    json_decref(root);
}

static pb_status find_csv(const char *dir, char *out, size_t len, char *msg, size_t mlen)
{
    snprintf(out, len, "%s/results.csv", dir);
    if (access(out, R_OK) == 0) return PB_OK;
    DIR *d = opendir(dir);
    if (!d) return pb_errorf(msg, mlen, PB_ERR_IO, "%s: %s", dir, strerror(errno));
    struct dirent *e;
    bool found = false;
    while ((e = readdir(d)) && !found) {
        size_t l = strlen(e->d_name);
        if (l > 4 && e->d_name[0] != '.' && strcmp(e->d_name + l - 4, ".csv") == 0) {
            found = join(out, len, dir, e->d_name);
        }
    }
    closedir(d);
    return found ? PB_OK : pb_errorf(msg, mlen, PB_ERR_IO, "%s: no results.csv in this directory", dir);
}

static void free_run(rrun *r)
{
    pb_csv_free(&r->csv);
    free(r->c);
    memset(r, 0, sizeof *r);
}

static pb_status load_run(const char *dir, rrun *r, bool context, char *msg, size_t mlen)
{
    memset(r, 0, sizeof *r);
    copy_str(r->dir, sizeof r->dir, dir);
    size_t l = strlen(r->dir);
    while (l > 1 && r->dir[l - 1] == '/') r->dir[--l] = 0;
    const char *base = strrchr(r->dir, '/');
    copy_str(r->name, sizeof r->name, base ? base + 1 : r->dir);
    char path[PATH_MAX + 64];
    pb_status st = find_csv(r->dir, path, sizeof path, msg, mlen);
    if (st != PB_OK) return st;
    st = pb_csv_load(path, &r->csv, msg, mlen);
    if (st != PB_OK) return st;
    const pb_csv *t = &r->csv;
    int c_impl = pb_csv_col(t, "impl"),
        c_prob = pb_csv_col(t, "problem"), c_alg = pb_csv_col(t, "alg"),
        c_lay = pb_csv_col(t, "layout"), c_dir = pb_csv_col(t, "dir"),
        c_thr = pb_csv_col(t, "threads"), c_st = pb_csv_col(t, "status"),
        c_med = pb_csv_col(t, "median_ns"), c_gbps = pb_csv_col(t, "gbps"),
        c_bw = pb_csv_col(t, "bw_ref_gbps"), c_pct = pb_csv_col(t, "pct_bw"),
        c_sp = pb_csv_col(t, "speedup_vs_naive"), c_bytes = pb_csv_col(t, "bytes_total"),
        c_label = pb_csv_col(t, "label");
    if (c_impl < 0 || c_prob < 0 || c_gbps < 0) {
        pb_csv_free(&r->csv);
        return pb_errorf(msg, mlen, PB_ERR_PARSE, "%s: not a poolbench results CSV (no impl/problem/gbps columns)", path);
    }
    r->c = calloc(t->nrows ? t->nrows : 1, sizeof *r->c);
    if (!r->c) {
        pb_csv_free(&r->csv);
        return pb_errorf(msg, mlen, PB_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < t->nrows; i++) {
        rcase *c = &r->c[r->n++];
        /* "best" is a selector: the bars are per implementation selected,
         * as the user asked for them */
        c->impl = pb_csv_get(t, i, c_impl);
        c->problem = pb_csv_get(t, i, c_prob);
        c->alg = pb_csv_get(t, i, c_alg);
        c->layout = pb_csv_get(t, i, c_lay);
        c->dir = pb_csv_get(t, i, c_dir);
        c->status = pb_csv_get(t, i, c_st);
        double th = num(pb_csv_get(t, i, c_thr));
        c->threads = isfinite(th) ? (int)th : 1;
        c->median_ns = num(pb_csv_get(t, i, c_med));
        c->gbps = num(pb_csv_get(t, i, c_gbps));
        c->bw_gbps = num(pb_csv_get(t, i, c_bw));
        c->pct_bw = num(pb_csv_get(t, i, c_pct));
        c->speedup = num(pb_csv_get(t, i, c_sp));
        c->bytes_total = num(pb_csv_get(t, i, c_bytes));
        c->ok = (!*c->status || strcmp(c->status, "OK") == 0) && isfinite(c->gbps) && c->gbps > 0;
        snprintf(c->key_nt, sizeof c->key_nt, "%s|%s|%s|%s", c->problem, c->alg, c->layout, c->dir);
        snprintf(c->key, sizeof c->key, "%.300s|%d", c->key_nt, c->threads);
        /* the record's label (a network layer, a sweep point), else the
         * shape in short */
        const char *lab = pb_csv_get(t, i, c_label);
        if (*lab) copy_str(c->label, sizeof c->label, lab);
        else short_label(c->problem, c->label, sizeof c->label);
        c->sweep = strncmp(lab, "sweep", 5) == 0;
    }
    if (t->nrows) {
        copy_str(r->host, sizeof r->host, pb_csv_get(t, 0, pb_csv_col(t, "host")));
        copy_str(r->stamp, sizeof r->stamp, pb_csv_get(t, 0, pb_csv_col(t, "timestamp_utc")));
        copy_str(r->commit, sizeof r->commit, pb_csv_get(t, 0, pb_csv_col(t, "commit")));
        r->dirty = num(pb_csv_get(t, 0, pb_csv_col(t, "dirty"))) == 1;
    }
    if (context) read_context(r);
    return PB_OK;
}

/* ---- small sets of strings, in first-seen order ---- */

typedef struct strset {
    const char *v[512];
    size_t n;
} strset;

static size_t set_add(strset *s, const char *x)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], x) == 0) return i;
    if (s->n < sizeof s->v / sizeof s->v[0]) s->v[s->n++] = x;
    return s->n - 1;
}

static int set_find(const strset *s, const char *x)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], x) == 0) return (int)i;
    return -1;
}

/* ---- gnuplot ---- */

/* A gnuplot single-quoted string: no escapes, quotes doubled. */
static void gp_str(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') fputc('\'', f);
        if (*s != '\n') fputc(*s, f);
    }
    fputc('\'', f);
}

static void footer_text(const rrun *r, char *buf, size_t len)
{
    char cpu[200];
    if (r->cpus) snprintf(cpu, sizeof cpu, "%s, %d CPUs", r->cpu[0] ? r->cpu : "CPU unknown", r->cpus);
    else snprintf(cpu, sizeof cpu, "%s", r->cpu[0] ? r->cpu : "CPU unknown");
    snprintf(buf, len, "%s | %s | %s | commit %s%s | %s", r->host[0] ? r->host : "unknown host", cpu,
             r->cc[0] ? r->cc : "compiler unknown", r->commit[0] ? r->commit : "unknown",
             r->dirty ? " (dirty)" : "", r->stamp);
}

typedef struct figure {
    char name[96];
    char title[200];
    char caption[400];   /* one line for report.md */
    bool drawn;
} figure;

typedef struct figlist {
    figure f[128];
    size_t n;
} figlist;

/* Opens NAME.gp with the PNG terminal, title and footer set; the caller
 * writes the plot and calls gp_close. */
static FILE *gp_open(const char *rdir, const rrun *r, const char *name, const char *title, int w, int h)
{
    char path[PATH_MAX + 128];
    snprintf(path, sizeof path, "%s/%s.gp", rdir, name);
    FILE *f = fopen(path, "w");
    if (!f) return NULL;
    char foot[600];
    footer_text(r, foot, sizeof foot);
    fprintf(f, "# generated by poolbench report from record %s; do not edit\n", r->name);
    fprintf(f, "set encoding utf8\n");
    fprintf(f, "set terminal pngcairo size %d,%d font 'DejaVu Sans,11' noenhanced\n", w, h);
    fprintf(f, "set output '%s.png'\n", name);
    fprintf(f, "set title ");
    gp_str(f, title);
    fprintf(f, " font ',14'\n");
    fprintf(f, "set label 900 ");
    gp_str(f, foot);
    fprintf(f, " at screen 0.01, screen 0.02 left font ',8' textcolor rgb '#444444'\n");
    fprintf(f, "set datafile missing '?'\n");
    fprintf(f, "set grid ytics linecolor rgb '#dddddd'\n");
    fprintf(f, "set border 3\nset tics nomirror\n");
    return f;
}

static void gp_close(FILE *f, const char *name, int w, int h)
{
    fprintf(f, "set terminal svg size %d,%d dynamic font 'DejaVu Sans,11' noenhanced background rgb 'white'\n", w, h);
    fprintf(f, "set output '%s.svg'\n", name);
    fprintf(f, "replot\nunset output\n");
    fclose(f);
}

/* Runs gnuplot NAME.gp in rdir.  PB_ERR_LIBRARY with its last line. */
static pb_status gp_run(const char *rdir, const char *name, const pb_report_opts *o, char *msg, size_t mlen)
{
    char gp[200], log[PATH_MAX + 64];
    snprintf(gp, sizeof gp, "%s.gp", name);
    snprintf(log, sizeof log, "%s/.%s.log", rdir, name);
    const char *prog = o && o->gnuplot ? o->gnuplot : "gnuplot";
    pid_t pid = fork();
    if (pid < 0) return pb_errorf(msg, mlen, PB_ERR_LIBRARY, "fork: %s", strerror(errno));
    if (pid == 0) {
        if (chdir(rdir) != 0) _exit(126);
        FILE *lf = fopen(log, "w");
        if (lf) {
            dup2(fileno(lf), STDERR_FILENO);
            dup2(fileno(lf), STDOUT_FILENO);
        }
        execlp(prog, prog, gp, (char *)NULL);
        fprintf(stderr, "cannot run %s: %s\n", prog, strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return pb_errorf(msg, mlen, PB_ERR_LIBRARY, "waitpid: %s", strerror(errno));
    char last[512] = "";
    FILE *lf = fopen(log, "r");
    if (lf) {
        char line[512];
        while (fgets(line, sizeof line, lf)) {
            line[strcspn(line, "\n")] = 0;
            if (line[0]) copy_str(last, sizeof last, line);
        }
        fclose(lf);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return pb_errorf(msg, mlen, PB_ERR_LIBRARY, "gnuplot %s in %s: %s", gp, rdir, last[0] ? last : "failed");
    unlink(log);
    return PB_OK;
}

/* ---- figures ---- */

static const char *const palette[] = {"#4472c4", "#ed7d31", "#70ad47", "#7030a0", "#ffc000",
                                      "#5b9bd5", "#c00000", "#264478", "#9e480e", "#636363"};
#define NPAL (sizeof palette / sizeof palette[0])

typedef enum metric { M_GBPS, M_PCT, M_SPEEDUP } metric;

static double metric_of(const rcase *c, metric m)
{
    return m == M_GBPS ? c->gbps : m == M_PCT ? c->pct_bw : c->speedup;
}

/* Grouped bars for one direction and thread count (threads < 0: all):
 * groups = cases (problem, alg, layout), one bar per implementation.
 * Sweep cases have their own figure. */
static pb_status fig_bars(const rrun *r, const char *rdir, const char *dir, int threads, bool split_threads,
                          metric m, figure *fig, char *msg, size_t mlen)
{
    strset groups = {0}, impls = {0};
    const rcase *first[512] = {0};
    for (size_t i = 0; i < r->n; i++) {
        const rcase *c = &r->c[i];
        if (strcmp(c->dir, dir) != 0 || !c->ok || c->sweep || (threads >= 0 && c->threads != threads)) continue;
        if (m == M_SPEEDUP && (strcmp(c->impl, "naive") == 0 || !isfinite(c->speedup))) continue;
        if (m == M_PCT && !isfinite(c->pct_bw)) continue;
        size_t g = set_add(&groups, c->key);
        if (g < 512 && !first[g]) first[g] = c;
        set_add(&impls, c->impl);
    }
    if (!groups.n || !impls.n) return PB_OK;
    static const char *const prefix[] = {"gbps", "pct_bw", "speedup"};
    if (split_threads) snprintf(fig->name, sizeof fig->name, "%s_%s_t%d", prefix[m], dir, threads);
    else snprintf(fig->name, sizeof fig->name, "%s_%s", prefix[m], dir);

    char path[PATH_MAX + 128];
    snprintf(path, sizeof path, "%s/%s.dat", rdir, fig->name);
    FILE *d = fopen(path, "w");
    if (!d) return pb_errorf(msg, mlen, PB_ERR_IO, "%s: %s", path, strerror(errno));
    fprintf(d, "# generated by poolbench report from record %s; do not edit\n# case", r->name);
    for (size_t k = 0; k < impls.n; k++) fprintf(d, " %s", impls.v[k]);
    fprintf(d, " bandwidth_ref_gbps\n");
    double vmax = 0, vmin = INFINITY;
    size_t maxlen = 0;
    for (size_t g = 0; g < groups.n; g++) {
        char label[160];
        snprintf(label, sizeof label, "%s %s %s", first[g]->label, first[g]->alg, first[g]->layout);
        if (strlen(label) > maxlen) maxlen = strlen(label);
        fputc('"', d);
        for (const char *p = label; *p; p++) fputc(*p == '"' ? '\'' : *p, d);
        fputc('"', d);
        double ref = NAN;
        for (size_t k = 0; k < impls.n; k++) {
            double v = NAN;
            for (size_t i = 0; i < r->n; i++) {
                const rcase *c = &r->c[i];
                if (c->ok && !c->sweep && strcmp(c->key, groups.v[g]) == 0 && strcmp(c->impl, impls.v[k]) == 0) {
                    v = metric_of(c, m);
                    if (isfinite(c->bw_gbps)) ref = c->bw_gbps;
                    break;
                }
            }
            if (isfinite(v)) {
                fprintf(d, " %.6g", v);
                vmax = fmax(vmax, v);
                if (v > 0) vmin = fmin(vmin, v);
            } else {
                fprintf(d, " ?");
            }
        }
        if (m == M_GBPS && isfinite(ref)) {
            fprintf(d, " %.6g\n", ref);
            vmax = fmax(vmax, ref);
        } else {
            fprintf(d, " ?\n");
        }
    }
    fclose(d);

    static const char *const dir_words[] = {"forward inference", "forward training", "backward"};
    pb_dir dv;
    const char *dw = pb_dir_parse(dir, &dv) == PB_OK ? dir_words[dv] : dir;
    static const char *const what[] = {"Throughput", "Share of the in-run bandwidth reference",
                                       "Speedup over naive"};
    char thr[32] = "";
    if (threads >= 0) snprintf(thr, sizeof thr, ", %d thread%s", threads, threads == 1 ? "" : "s");
    snprintf(fig->title, sizeof fig->title, "%s, %s (%s)%s", what[m], dw, dir, thr);
    int w = (int)fmin(1800, fmax(1000, 260 + 40.0 * (double)groups.n * (0.6 + (double)impls.n)));
    int h = 640;
    FILE *f = gp_open(rdir, r, fig->name, fig->title, w, h);
    if (!f) return pb_errorf(msg, mlen, PB_ERR_IO, "%s/%s.gp: %s", rdir, fig->name, strerror(errno));
    fprintf(f, "set style data histograms\nset style histogram clustered gap 1\n");
    fprintf(f, "set style fill solid 0.9 border -1\nset boxwidth 0.9\n");
    /* rotated case names need room: about a fifth of a line per character */
    fprintf(f, "set xtics rotate by -30 left font ',10' scale 0\n");
    fprintf(f, "set bmargin %d\n", 4 + (int)((double)maxlen * 0.22));
    fprintf(f, "set key outside right top vertical Left reverse\n");
    fprintf(f, "set xrange [-0.6:%zu.6]\n", groups.n - 1);
    if (m == M_GBPS) {
        /* bars far below the reference would be invisible on a linear axis */
        bool logy = vmin > 0 && vmax / vmin > 20;
        fprintf(f, "set ylabel 'GB/s (10^9 bytes/s, byte model of the direction%s)'\n", logy ? "; log scale" : "");
        if (logy) fprintf(f, "set logscale y 10\nset yrange [%g:%g]\n", vmin / 2, vmax * 2);
        else fprintf(f, "set yrange [0:%g]\n", vmax * 1.1);
    }
    if (m == M_PCT) {
        fprintf(f, "set ylabel '%% of the bandwidth reference (same traffic shape, size, threads)'\n");
        fprintf(f, "set yrange [0:%g]\n", fmax(110, vmax * 1.1));
        fprintf(f, "set arrow 1 from graph 0, first 100 to graph 1, first 100 nohead dashtype 2 linewidth 1.5 linecolor rgb '#000000'\n");
    }
    if (m == M_SPEEDUP) {
        bool logy = vmin > 0 && vmax / vmin > 30;
        fprintf(f, "set ylabel 'speedup over naive (x, naive median / median)'\n");
        if (logy) fprintf(f, "set logscale y 2\nset yrange [%g:%g]\n", fmin(0.5, vmin / 1.5), vmax * 1.5);
        else fprintf(f, "set yrange [0:%g]\n", fmax(1.2, vmax * 1.1));
        fprintf(f, "set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dashtype 2 linewidth 1.5 linecolor rgb '#000000'\n");
    }
    fprintf(f, "plot ");
    for (size_t k = 0; k < impls.n; k++) {
        fprintf(f, "%s'%s.dat' using %zu%s title ", k ? ", \\\n     " : "", fig->name, k + 2, k ? "" : ":xtic(1)");
        gp_str(f, impls.v[k]);
        fprintf(f, " linecolor rgb '%s'", palette[k % NPAL]);
    }
    if (m == M_GBPS)
        fprintf(f, ", \\\n     '%s.dat' using 0:%zu:(0.46) with xerrorbars pointtype 7 pointsize 0 linewidth 3 "
                   "linecolor rgb '#000000' title 'bandwidth reference'",
                fig->name, impls.n + 2);
    if (m == M_PCT) fprintf(f, ", \\\n     NaN with lines dashtype 2 linewidth 1.5 linecolor rgb '#000000' title '100%% = reference'");
    if (m == M_SPEEDUP) fprintf(f, ", \\\n     NaN with lines dashtype 2 linewidth 1.5 linecolor rgb '#000000' title '1x = naive'");
    fprintf(f, "\n");
    gp_close(f, fig->name, w, h);
    static const char *const cap[] = {
        "GB/s of each implementation (median time, byte model of the direction); the black bar over each "
        "group is the in-run bandwidth reference with the same traffic shape, size and threads.",
        "GB/s as a share of the matching in-run bandwidth reference: how close each kernel is to the "
        "memory limit (100% dashed).",
        "Speedup of each implementation over naive on the same case (naive's median time / this median time; "
        "1x dashed)."};
    copy_str(fig->caption, sizeof fig->caption, cap[m]);
    fig->drawn = true;
    return PB_OK;
}

static int cmp_rcase_bytes(const void *a, const void *b)
{
    const rcase *x = *(const rcase *const *)a, *y = *(const rcase *const *)b;
    return (x->bytes_total > y->bytes_total) - (x->bytes_total < y->bytes_total);
}

static void fmt_bytes(double b, char *buf, size_t len)
{
    if (b >= 1 << 30) snprintf(buf, len, "%g GiB", b / (1 << 30));
    else if (b >= 1 << 20) snprintf(buf, len, "%g MiB", b / (1 << 20));
    else if (b >= 1 << 10) snprintf(buf, len, "%g KiB", b / (1 << 10));
    else snprintf(buf, len, "%g B", b);
}

/* One figure per direction and thread count (the reference depends on
 * both). */
static pb_status fig_sweep(const rrun *r, const char *rdir, const char *dir, int nthreads, bool split_threads,
                           figure *fig, char *msg, size_t mlen)
{
    /* series: implementation (+ layout and threads when they vary) */
    const rcase **pick = malloc((r->n + 1) * sizeof *pick);
    if (!pick) return pb_errorf(msg, mlen, PB_ERR_NOMEM, "out of memory");
    size_t np = 0;
    strset sizes = {0}, layouts = {0}, threads = {0};
    char tbuf[512][8];
    for (size_t i = 0; i < r->n; i++) {
        const rcase *c = &r->c[i];
        if (!c->ok || !c->sweep || strcmp(c->dir, dir) != 0 || !isfinite(c->bytes_total) ||
            c->threads != nthreads)
            continue;
        pick[np++] = c;
        set_add(&sizes, c->problem);
        set_add(&layouts, c->layout);
        if (threads.n < 512) {
            snprintf(tbuf[threads.n], 8, "%d", c->threads);
            if (set_find(&threads, tbuf[threads.n]) < 0) set_add(&threads, tbuf[threads.n]);
        }
    }
    if (sizes.n < 3) {
        free(pick);
        return PB_OK;
    }
    qsort(pick, np, sizeof *pick, cmp_rcase_bytes);
    if (split_threads) snprintf(fig->name, sizeof fig->name, "sweep_%s_t%d", dir, nthreads);
    else snprintf(fig->name, sizeof fig->name, "sweep_%s", dir);
    char path[PATH_MAX + 128];
    snprintf(path, sizeof path, "%s/%s.dat", rdir, fig->name);
    FILE *d = fopen(path, "w");
    if (!d) {
        free(pick);
        return pb_errorf(msg, mlen, PB_ERR_IO, "%s: %s", path, strerror(errno));
    }
    /* one data block per series (separated by two blank lines), then the
     * reference as the last block: gnuplot's `index` selects them */
    fprintf(d, "# generated by poolbench report from record %s; do not edit\n", r->name);
    fprintf(d, "# blocks: one per series (bytes gbps), the last is the bandwidth reference\n");
    strset series = {0};
    char names[64][96];
    const rcase *sfirst[64];
    for (size_t i = 0; i < np && series.n < 64; i++) {
        const rcase *c = pick[i];
        char nm[96];
        int w = snprintf(nm, sizeof nm, "%s", c->impl);
        if (layouts.n > 1 && w > 0 && (size_t)w < sizeof nm) w += snprintf(nm + w, sizeof nm - (size_t)w, " %s", c->layout);
        if (threads.n > 1 && w > 0 && (size_t)w < sizeof nm) snprintf(nm + w, sizeof nm - (size_t)w, " t%d", c->threads);
        if (set_find(&series, nm) < 0) {
            copy_str(names[series.n], sizeof names[0], nm);
            sfirst[series.n] = c;
            set_add(&series, names[series.n]);
        }
    }
    double xmin = INFINITY, xmax = 0, ymax = 0, ymin = INFINITY;
    for (size_t s = 0; s < series.n; s++) {
        fprintf(d, "# %s\n", series.v[s]);
        for (size_t i = 0; i < np; i++) {
            const rcase *c = pick[i];
            if (strcmp(c->impl, sfirst[s]->impl) != 0 || (layouts.n > 1 && strcmp(c->layout, sfirst[s]->layout) != 0) ||
                (threads.n > 1 && c->threads != sfirst[s]->threads))
                continue;
            fprintf(d, "%.0f %.6g\n", c->bytes_total, c->gbps);
            xmin = fmin(xmin, c->bytes_total);
            xmax = fmax(xmax, c->bytes_total);
            ymax = fmax(ymax, c->gbps);
            if (c->gbps > 0) ymin = fmin(ymin, c->gbps);
        }
        fprintf(d, "\n\n");
    }
    fprintf(d, "# bandwidth reference\n");
    double last = -1;
    for (size_t i = 0; i < np; i++)
        if (isfinite(pick[i]->bw_gbps) && pick[i]->bytes_total != last) {
            fprintf(d, "%.0f %.6g\n", pick[i]->bytes_total, pick[i]->bw_gbps);
            last = pick[i]->bytes_total;
            ymax = fmax(ymax, pick[i]->bw_gbps);
        }
    fclose(d);
    free(pick);

    pb_dir dv;
    static const char *const dir_words[] = {"forward inference", "forward training", "backward"};
    const char *dw = pb_dir_parse(dir, &dv) == PB_OK ? dir_words[dv] : dir;
    snprintf(fig->title, sizeof fig->title, "Cache-size sweep: 2x2/2 max pooling, %s (%s), %d thread%s", dw, dir,
             nthreads, nthreads == 1 ? "" : "s");
    int w = 1000, h = 620;
    FILE *f = gp_open(rdir, r, fig->name, fig->title, w, h);
    if (!f) return pb_errorf(msg, mlen, PB_ERR_IO, "%s/%s.gp: %s", rdir, fig->name, strerror(errno));
    fprintf(f, "set logscale x 2\nset xlabel 'working set (bytes moved per call, log scale)'\n");
    /* headroom above the data for the cache-size labels; a log axis when
     * the kernels sit far below the reference */
    if (ymin > 0 && ymax / ymin > 20)
        fprintf(f, "set ylabel 'GB/s (10^9 bytes/s, log scale)'\nset logscale y 10\nset yrange [%g:%g]\n", ymin / 2,
                ymax * 12);
    else
        fprintf(f, "set ylabel 'GB/s (10^9 bytes/s)'\nset yrange [0:%g]\n", ymax * 1.3);
    fprintf(f, "set xrange [%g:%g]\n", xmin / 1.5, xmax * 1.5);
    fprintf(f, "set bmargin 6\nset key outside right top vertical Left reverse\n");
    /* tics at powers of 4 with KiB / MiB / GiB names */
    fprintf(f, "set xtics (");
    bool firstt = true;
    for (double b = 1024; b <= xmax * 4; b *= 4) {
        if (b < xmin / 4) continue;
        char lb[32];
        fmt_bytes(b, lb, sizeof lb);
        fprintf(f, "%s'%s' %.0f", firstt ? "" : ", ", lb, b);
        firstt = false;
    }
    fprintf(f, ")\n");
    const struct {
        const char *name;
        int64_t bytes;
    } caches[] = {{"L1d", r->l1d}, {"L2", r->l2}, {"LLC", r->llc}};
    int ncache = 0;
    for (int k = 0; k < 3; k++) {
        if (caches[k].bytes <= 0 || (k == 2 && caches[k].bytes == r->l2)) continue;
        char lb[32];
        fmt_bytes((double)caches[k].bytes, lb, sizeof lb);
        fprintf(f, "set arrow %d from %lld, graph 0 to %lld, graph 1 nohead dashtype 3 linewidth 1.5 linecolor rgb '#7f7f7f'\n",
                10 + k, (long long)caches[k].bytes, (long long)caches[k].bytes);
        fprintf(f, "set label %d '%s %s' at %lld, graph 0.97 rotate by 90 right offset -0.8,0 font ',9' textcolor rgb '#555555'\n",
                10 + k, caches[k].name, lb, (long long)caches[k].bytes);
        ncache++;
    }
    fprintf(f, "plot ");
    for (size_t s = 0; s < series.n; s++) {
        fprintf(f, "%s'%s.dat' index %zu using 1:2 with linespoints linewidth 2 pointtype 7 pointsize 0.8 linecolor rgb '%s' title ",
                s ? ", \\\n     " : "", fig->name, s, palette[s % NPAL]);
        gp_str(f, series.v[s]);
    }
    fprintf(f, ", \\\n     '%s.dat' index %zu using 1:2 with lines dashtype 2 linewidth 2 linecolor rgb '#000000' title 'bandwidth reference'\n",
            fig->name, series.n);
    gp_close(f, fig->name, w, h);
    snprintf(fig->caption, sizeof fig->caption,
             "GB/s against the bytes one call moves, log scale; dotted lines: %s from the record "
             "(the kernel leaves a cache level once its working set exceeds it).",
             ncache ? "cache sizes" : "no cache sizes in the record");
    fig->drawn = true;
    return PB_OK;
}

static pb_status fig_threads(const rrun *r, const char *rdir, figure *fig, char *msg, size_t mlen)
{
    int tv[64];
    size_t nt = 0;
    strset impls = {0}, keys = {0};
    for (size_t i = 0; i < r->n; i++) {
        const rcase *c = &r->c[i];
        if (!c->ok) continue;
        bool seen = false;
        for (size_t k = 0; k < nt; k++) seen |= tv[k] == c->threads;
        if (!seen && nt < 64) tv[nt++] = c->threads;
        set_add(&impls, c->impl);
        set_add(&keys, c->key_nt);
    }
    if (nt < 2) return PB_OK;
    for (size_t a = 0; a < nt; a++) /* ascending thread counts */
        for (size_t b = a + 1; b < nt; b++)
            if (tv[b] < tv[a]) {
                int t = tv[a];
                tv[a] = tv[b];
                tv[b] = t;
            }
    snprintf(fig->name, sizeof fig->name, "threads");
    char path[PATH_MAX + 128];
    snprintf(path, sizeof path, "%s/threads.dat", rdir);
    FILE *d = fopen(path, "w");
    if (!d) return pb_errorf(msg, mlen, PB_ERR_IO, "%s: %s", path, strerror(errno));
    fprintf(d, "# generated by poolbench report from record %s; do not edit\n", r->name);
    fprintf(d, "# geometric mean GB/s over the cases an implementation ran at every thread count\n# threads");
    for (size_t k = 0; k < impls.n; k++) fprintf(d, " %s", impls.v[k]);
    fprintf(d, " bandwidth_ref\n");
    double *vals = malloc(r->n * sizeof *vals + 1), *refs = malloc(r->n * sizeof *refs + 1);
    if (!vals || !refs) {
        free(vals);
        free(refs);
        fclose(d);
        return pb_errorf(msg, mlen, PB_ERR_NOMEM, "out of memory");
    }
    double ymax = 0;
    size_t ncases_used = 0;
    for (size_t t = 0; t < nt; t++) {
        fprintf(d, "%d", tv[t]);
        size_t nref = 0;
        for (size_t k = 0; k < impls.n; k++) {
            size_t nv = 0;
            for (size_t q = 0; q < keys.n; q++) {
                /* the case must exist for this impl at every thread count */
                double here = NAN, bw = NAN;
                bool all = true;
                for (size_t tt = 0; tt < nt && all; tt++) {
                    bool found = false;
                    for (size_t i = 0; i < r->n && !found; i++) {
                        const rcase *c = &r->c[i];
                        if (c->ok && c->threads == tv[tt] && strcmp(c->impl, impls.v[k]) == 0 &&
                            strcmp(c->key_nt, keys.v[q]) == 0) {
                            found = true;
                            if (tt == t) {
                                here = c->gbps;
                                bw = c->bw_gbps;
                            }
                        }
                    }
                    all = found;
                }
                if (all && isfinite(here)) {
                    vals[nv++] = here;
                    if (isfinite(bw) && bw > 0) refs[nref++] = bw;
                }
            }
            double g = NAN;
            if (nv && pb_geomean(vals, nv, &g) == PB_OK) {
                fprintf(d, " %.6g", g);
                ymax = fmax(ymax, g);
                if (nv > ncases_used) ncases_used = nv;
            } else {
                fprintf(d, " ?");
            }
        }
        double gr = NAN;
        if (nref && pb_geomean(refs, nref, &gr) == PB_OK) {
            fprintf(d, " %.6g\n", gr);
            ymax = fmax(ymax, gr);
        } else {
            fprintf(d, " ?\n");
        }
    }
    free(vals);
    free(refs);
    fclose(d);
    snprintf(fig->title, sizeof fig->title, "Thread scaling: geometric mean GB/s over cases run at every thread count");
    int w = 1000, h = 620;
    FILE *f = gp_open(rdir, r, "threads", fig->title, w, h);
    if (!f) return pb_errorf(msg, mlen, PB_ERR_IO, "%s/threads.gp: %s", rdir, strerror(errno));
    fprintf(f, "set xlabel 'threads'\nset ylabel 'GB/s (10^9 bytes/s, geometric mean)'\n");
    fprintf(f, "set xtics (");
    for (size_t t = 0; t < nt; t++) fprintf(f, "%s'%d' %d", t ? ", " : "", tv[t], tv[t]);
    fprintf(f, ")\nset xrange [%g:%g]\nset yrange [0:%g]\n", tv[0] - 0.3, tv[nt - 1] + 0.3, ymax * 1.15);
    fprintf(f, "set bmargin 6\nset key outside right top vertical Left reverse\n");
    fprintf(f, "plot ");
    for (size_t k = 0; k < impls.n; k++) {
        fprintf(f, "%s'threads.dat' using 1:%zu with linespoints linewidth 2 pointtype 7 linecolor rgb '%s' title ",
                k ? ", \\\n     " : "", k + 2, palette[k % NPAL]);
        gp_str(f, impls.v[k]);
    }
    fprintf(f, ", \\\n     'threads.dat' using 1:%zu with linespoints dashtype 2 linewidth 2 pointtype 6 linecolor rgb '#000000' title 'bandwidth reference'\n",
            impls.n + 2);
    gp_close(f, "threads", w, h);
    snprintf(fig->caption, sizeof fig->caption,
             "GB/s against the thread count, geometric mean over the cases each implementation ran at every count "
             "(up to %zu), with the bandwidth reference at the same thread counts.",
             ncases_used);
    fig->drawn = true;
    return PB_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The sibling records of r (same host directory), sorted by name, up to
 * and including r itself. */
static size_t list_history(const rrun *r, char ***out)
{
    *out = NULL;
    char parent[PATH_MAX];
    copy_str(parent, sizeof parent, r->dir);
    char *slash = strrchr(parent, '/');
    if (slash) *slash = 0;
    else copy_str(parent, sizeof parent, ".");
    DIR *dd = opendir(parent);
    if (!dd) return 0;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(dd))) {
        if (e->d_name[0] == '.') continue;
        if (strcmp(e->d_name, r->name) > 0) continue; /* newer than this record */
        char p[PATH_MAX + 300];
        snprintf(p, sizeof p, "%s/%s", parent, e->d_name);
        struct stat sb;
        if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode)) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 32;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) break;
            names = nn;
        }
        names[n] = strdup(p);
        if (names[n]) n++;
    }
    closedir(dd);
    qsort(names, n, sizeof *names, cmp_str);
    *out = names;
    return n;
}

static pb_status fig_history(const rrun *r, const char *rdir, const pb_report_opts *o, figure *fig, char *msg,
                             size_t mlen)
{
    /* chosen cases: the patterns, else one per implementation (its first
     * OK case, forward inference preferred) */
    const rcase *chosen[8];
    size_t nc = 0;
    if (o && o->n_history) {
        for (size_t i = 0; i < r->n && nc < 8; i++) {
            const rcase *c = &r->c[i];
            char full[512];
            snprintf(full, sizeof full, "%s %s %s %s %s t%d", c->impl, c->problem, c->alg, c->layout, c->dir, c->threads);
            bool match = false;
            for (size_t k = 0; k < o->n_history; k++) match |= strstr(full, o->history[k]) != NULL;
            if (c->ok && match) chosen[nc++] = c;
        }
    } else {
        strset impls = {0};
        for (size_t i = 0; i < r->n; i++)
            if (r->c[i].ok) set_add(&impls, r->c[i].impl);
        for (size_t k = 0; k < impls.n && nc < 8; k++) {
            const rcase *best = NULL;
            for (size_t i = 0; i < r->n; i++) {
                const rcase *c = &r->c[i];
                if (!c->ok || strcmp(c->impl, impls.v[k]) != 0) continue;
                if (!best || (strcmp(best->dir, "fwd_inf") != 0 && strcmp(c->dir, "fwd_inf") == 0)) best = c;
            }
            if (best) chosen[nc++] = best;
        }
    }
    if (!nc) return PB_OK;
    char **hist;
    size_t nh = list_history(r, &hist);
    if (!nh) return PB_OK;
    snprintf(fig->name, sizeof fig->name, "history");
    char path[PATH_MAX + 128];
    snprintf(path, sizeof path, "%s/history.dat", rdir);
    FILE *d = fopen(path, "w");
    pb_status st = PB_OK;
    if (!d) st = pb_errorf(msg, mlen, PB_ERR_IO, "%s: %s", path, strerror(errno));
    size_t used = 0;
    double ymax = 0;
    if (d) {
        fprintf(d, "# generated by poolbench report from record %s; do not edit\n", r->name);
        fprintf(d, "# index commit record");
        for (size_t k = 0; k < nc; k++) fprintf(d, " case%zu", k + 1);
        fprintf(d, "\n");
        for (size_t h = 0; h < nh; h++) {
            rrun hr;
            if (load_run(hist[h], &hr, false, NULL, 0) != PB_OK) continue;
            const char *slash = strrchr(hist[h], '/');
            fprintf(d, "%zu \"%s%s\" \"%s\"", used, hr.commit[0] ? hr.commit : "?", hr.dirty ? "+" : "",
                    slash ? slash + 1 : hist[h]);
            for (size_t k = 0; k < nc; k++) {
                double v = NAN;
                for (size_t i = 0; i < hr.n && isnan(v); i++)
                    if (hr.c[i].ok && strcmp(hr.c[i].key, chosen[k]->key) == 0 &&
                        strcmp(hr.c[i].impl, chosen[k]->impl) == 0)
                        v = hr.c[i].gbps;
                if (isfinite(v)) {
                    fprintf(d, " %.6g", v);
                    ymax = fmax(ymax, v);
                } else {
                    fprintf(d, " ?");
                }
            }
            fprintf(d, "\n");
            used++;
            free_run(&hr);
        }
        fclose(d);
    }
    for (size_t h = 0; h < nh; h++) free(hist[h]);
    free(hist);
    if (st != PB_OK || !used) return st;
    snprintf(fig->title, sizeof fig->title, "History on %.60s: %zu record%s up to %.60s", r->host[0] ? r->host : "this host",
             used, used == 1 ? "" : "s", r->commit[0] ? r->commit : r->name);
    int w = (int)fmin(1800, fmax(1200, 500 + 60.0 * (double)used)), h = 640;
    FILE *f = gp_open(rdir, r, "history", fig->title, w, h);
    if (!f) return pb_errorf(msg, mlen, PB_ERR_IO, "%s/history.gp: %s", rdir, strerror(errno));
    fprintf(f, "set xlabel 'record (commit, oldest first; + = uncommitted changes)'\n");
    fprintf(f, "set ylabel 'GB/s (10^9 bytes/s)'\nset yrange [0:%g]\n", ymax * 1.15);
    fprintf(f, "set xrange [-0.5:%zu.5]\nset xtics rotate by -30 left font ',9'\n", used - 1);
    fprintf(f, "set bmargin 7\nset key outside right top vertical Left reverse font ',9'\n");
    fprintf(f, "plot ");
    for (size_t k = 0; k < nc; k++) {
        char t[400];
        const rcase *c = chosen[k];
        snprintf(t, sizeof t, "%s: %s %s %s %s t%d", c->impl, c->label, c->alg, c->layout, c->dir, c->threads);
        fprintf(f, "%s'history.dat' using 1:%zu:xtic(2) with linespoints linewidth 2 pointtype 7 linecolor rgb '%s' title ",
                k ? ", \\\n     " : "", k + 4, palette[k % NPAL]);
        gp_str(f, t);
    }
    fprintf(f, "\n");
    gp_close(f, "history", w, h);
    snprintf(fig->caption, sizeof fig->caption,
             "GB/s of %s across the records of this host, by commit (from each record's CSV).",
             o && o->n_history ? "the chosen cases" : "one case per implementation");
    fig->drawn = true;
    return PB_OK;
}

/* ---- report.md and report.html ---- */

static void fmt_ns(double ns, char *buf, size_t len)
{
    if (!isfinite(ns)) snprintf(buf, len, "-");
    else if (ns < 1e3) snprintf(buf, len, "%.1f ns", ns);
    else if (ns < 1e6) snprintf(buf, len, "%.2f us", ns / 1e3);
    else if (ns < 1e9) snprintf(buf, len, "%.3f ms", ns / 1e6);
    else snprintf(buf, len, "%.3f s", ns / 1e9);
}

static void fmt_num(double v, const char *fmt, char *buf, size_t len)
{
    if (isfinite(v)) snprintf(buf, len, fmt, v);
    else snprintf(buf, len, "-");
}

typedef struct impl_summary {
    const char *impl;
    size_t ok, other;
    double gm_gbps, gm_pct, gm_speedup;
} impl_summary;

static size_t summarize(const rrun *r, impl_summary *out, size_t max)
{
    strset impls = {0};
    for (size_t i = 0; i < r->n; i++) set_add(&impls, r->c[i].impl);
    double *a = malloc((r->n + 1) * sizeof *a), *b = malloc((r->n + 1) * sizeof *b),
           *c = malloc((r->n + 1) * sizeof *c);
    size_t n = 0;
    for (size_t k = 0; k < impls.n && n < max && a && b && c; k++) {
        impl_summary *s = &out[n++];
        memset(s, 0, sizeof *s);
        s->impl = impls.v[k];
        size_t na = 0, nb = 0, nc = 0;
        for (size_t i = 0; i < r->n; i++) {
            const rcase *x = &r->c[i];
            if (strcmp(x->impl, s->impl) != 0 || x->sweep) continue;
            if (!x->ok) {
                s->other++;
                continue;
            }
            s->ok++;
            a[na++] = x->gbps;
            if (isfinite(x->pct_bw) && x->pct_bw > 0) b[nb++] = x->pct_bw;
            if (isfinite(x->speedup) && x->speedup > 0) c[nc++] = x->speedup;
        }
        s->gm_gbps = s->gm_pct = s->gm_speedup = NAN;
        if (na) pb_geomean(a, na, &s->gm_gbps);
        if (nb) pb_geomean(b, nb, &s->gm_pct);
        if (nc) pb_geomean(c, nc, &s->gm_speedup);
    }
    free(a);
    free(b);
    free(c);
    return n;
}

static void md_tables(FILE *f, const rrun *r)
{
    impl_summary s[64];
    size_t ns = summarize(r, s, 64);
    fprintf(f, "## Summary per implementation\n\n");
    fprintf(f, "Geometric means over the cases each implementation ran (status OK; sweep cases excluded).\n\n");
    fprintf(f, "| implementation | cases | GB/s | %% of bandwidth | speedup vs naive | not run |\n");
    fprintf(f, "|:--|--:|--:|--:|--:|--:|\n");
    for (size_t k = 0; k < ns; k++) {
        char g[32], p[32], sp[32];
        fmt_num(s[k].gm_gbps, "%.2f", g, sizeof g);
        fmt_num(s[k].gm_pct, "%.1f%%", p, sizeof p);
        fmt_num(s[k].gm_speedup, "%.2fx", sp, sizeof sp);
        fprintf(f, "| %s | %zu | %s | %s | %s | %zu |\n", s[k].impl, s[k].ok, g, p, sp, s[k].other);
    }
    fprintf(f, "\n## All cases\n\n");
    fprintf(f, "| problem | alg | layout | dir | threads | impl | median | GB/s | %% of bw | speedup | status |\n");
    fprintf(f, "|:--|:--|:--|:--|--:|:--|--:|--:|--:|--:|:--|\n");
    for (size_t i = 0; i < r->n; i++) {
        const rcase *c = &r->c[i];
        char med[32], g[32], p[32], sp[32];
        fmt_ns(c->median_ns, med, sizeof med);
        fmt_num(c->gbps, "%.2f", g, sizeof g);
        fmt_num(c->pct_bw, "%.1f%%", p, sizeof p);
        fmt_num(c->speedup, "%.2fx", sp, sizeof sp);
        fprintf(f, "| %s | %s | %s | %s | %d | %s | %s | %s | %s | %s | %s |\n", c->label, c->alg, c->layout, c->dir,
                c->threads, c->impl, med, g, p, sp, c->status[0] ? c->status : "OK");
    }
}

static void html_esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else if (*s == '"') fputs("&quot;", f);
        else fputc(*s, f);
    }
}

/* Copies an SVG file into f without its XML declaration and doctype, so
 * it can sit inline in HTML. */
static bool embed_svg(FILE *f, const char *path)
{
    FILE *s = fopen(path, "r");
    if (!s) return false;
    char line[8192];
    bool started = false;
    while (fgets(line, sizeof line, s)) {
        if (!started) {
            char *p = strstr(line, "<svg");
            if (!p) continue;
            started = true;
            fputs(p, f);
            continue;
        }
        fputs(line, f);
    }
    fclose(s);
    return started;
}

static pb_status write_md(const rrun *r, const char *rdir, const figlist *figs, char *msg, size_t mlen)
{
    char path[PATH_MAX + 64], foot[600];
    snprintf(path, sizeof path, "%s/report.md", rdir);
    FILE *f = fopen(path, "w");
    if (!f) return pb_errorf(msg, mlen, PB_ERR_IO, "%s: %s", path, strerror(errno));
    footer_text(r, foot, sizeof foot);
    fprintf(f, "<!-- generated by poolbench report from record %s; do not edit -->\n", r->name);
    fprintf(f, "# poolbench report: %s\n\n", r->name);
    fprintf(f, "- host: %s\n- CPU: %s\n- compiler: %s\n- commit: %s%s\n- recorded: %s\n", r->host,
            r->cpu[0] ? r->cpu : "unknown", r->cc[0] ? r->cc : "unknown",
            r->commit[0] ? r->commit : "unknown", r->dirty ? " (uncommitted changes)" : "", r->stamp);
    if (r->cpus) fprintf(f, "- logical CPUs: %d\n", r->cpus);
    if (r->l1d || r->l2 || r->llc) {
        char a[32], b[32], c[32];
        fmt_bytes((double)r->l1d, a, sizeof a);
        fmt_bytes((double)r->l2, b, sizeof b);
        fmt_bytes((double)r->llc, c, sizeof c);
        fprintf(f, "- caches (from the record): L1d %s, L2 %s, last level %s\n", a, b, c);
    }
    if (r->suite[0]) fprintf(f, "- suite: %s\n", r->suite);
    fprintf(f, "- source: `%s`\n\n", r->dir);
    md_tables(f, r);
    fprintf(f, "\n## Figures\n\n");
    size_t nd = 0;
    for (size_t i = 0; i < figs->n; i++) {
        if (!figs->f[i].drawn) continue;
        nd++;
        fprintf(f, "### %s\n\n![%s](%s.png)\n\n%s ([SVG](%s.svg), data `%s.dat`, script `%s.gp`)\n\n", figs->f[i].title,
                figs->f[i].title, figs->f[i].name, figs->f[i].caption, figs->f[i].name, figs->f[i].name, figs->f[i].name);
    }
    if (!nd) fprintf(f, "No figures (run without plots, or no case with a measured GB/s).\n");
    bool ok = !ferror(f);
    ok = fclose(f) == 0 && ok;
    return ok ? PB_OK : pb_errorf(msg, mlen, PB_ERR_IO, "%s: write error", path);
}

static pb_status write_html(const rrun *r, const char *rdir, const figlist *figs, char *msg, size_t mlen)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/report.html", rdir);
    FILE *f = fopen(path, "w");
    if (!f) return pb_errorf(msg, mlen, PB_ERR_IO, "%s: %s", path, strerror(errno));
    fprintf(f, "<!DOCTYPE html>\n<!-- generated by poolbench report from record ");
    html_esc(f, r->name);
    fprintf(f, "; do not edit -->\n<html><head><meta charset=\"utf-8\"><title>poolbench report ");
    html_esc(f, r->name);
    fprintf(f, "</title>\n<style>body{font-family:sans-serif;max-width:1400px;margin:1em auto;padding:0 1em}"
               "table{border-collapse:collapse;font-size:90%%}td,th{border:1px solid #ccc;padding:2px 6px}"
               "td.n{text-align:right}svg{max-width:100%%;height:auto}figure{margin:1.5em 0}</style>\n</head><body>\n");
    fprintf(f, "<h1>poolbench report: ");
    html_esc(f, r->name);
    char foot[600];
    footer_text(r, foot, sizeof foot);
    fprintf(f, "</h1>\n<p>");
    html_esc(f, foot);
    fprintf(f, "</p>\n<h2>Summary per implementation</h2>\n<p>Geometric means over the cases each implementation ran (status OK; sweep cases excluded).</p>\n");
    fprintf(f, "<table><tr><th>implementation</th><th>cases</th><th>GB/s</th><th>%% of bandwidth</th><th>speedup vs naive</th><th>not run</th></tr>\n");
    impl_summary s[64];
    size_t ns = summarize(r, s, 64);
    for (size_t k = 0; k < ns; k++) {
        char g[32], p[32], sp[32];
        fmt_num(s[k].gm_gbps, "%.2f", g, sizeof g);
        fmt_num(s[k].gm_pct, "%.1f%%", p, sizeof p);
        fmt_num(s[k].gm_speedup, "%.2fx", sp, sizeof sp);
        fprintf(f, "<tr><td>");
        html_esc(f, s[k].impl);
        fprintf(f, "</td><td class=n>%zu</td><td class=n>%s</td><td class=n>%s</td><td class=n>%s</td><td class=n>%zu</td></tr>\n",
                s[k].ok, g, p, sp, s[k].other);
    }
    fprintf(f, "</table>\n");
    for (size_t i = 0; i < figs->n; i++) {
        if (!figs->f[i].drawn) continue;
        fprintf(f, "<figure>\n");
        char svg[PATH_MAX + 128];
        snprintf(svg, sizeof svg, "%s/%s.svg", rdir, figs->f[i].name);
        if (!embed_svg(f, svg)) {
            fclose(f);
            return pb_errorf(msg, mlen, PB_ERR_IO, "%s: missing or not SVG", svg);
        }
        fprintf(f, "<figcaption>");
        html_esc(f, figs->f[i].caption);
        fprintf(f, "</figcaption>\n</figure>\n");
    }
    fprintf(f, "<h2>All cases</h2>\n<table><tr><th>problem</th><th>alg</th><th>layout</th><th>dir</th><th>threads</th><th>impl</th>"
               "<th>median</th><th>GB/s</th><th>%% of bw</th><th>speedup</th><th>status</th></tr>\n");
    for (size_t i = 0; i < r->n; i++) {
        const rcase *c = &r->c[i];
        char med[32], g[32], p[32], sp[32];
        fmt_ns(c->median_ns, med, sizeof med);
        fmt_num(c->gbps, "%.2f", g, sizeof g);
        fmt_num(c->pct_bw, "%.1f%%", p, sizeof p);
        fmt_num(c->speedup, "%.2fx", sp, sizeof sp);
        const char *cells[] = {c->label, c->alg, c->layout, c->dir};
        fprintf(f, "<tr>");
        for (size_t k = 0; k < 4; k++) {
            fprintf(f, "<td>");
            html_esc(f, cells[k]);
            fprintf(f, "</td>");
        }
        fprintf(f, "<td class=n>%d</td><td>", c->threads);
        html_esc(f, c->impl);
        fprintf(f, "</td><td class=n>%s</td><td class=n>%s</td><td class=n>%s</td><td class=n>%s</td><td>", med, g, p, sp);
        html_esc(f, c->status[0] ? c->status : "OK");
        fprintf(f, "</td></tr>\n");
    }
    fprintf(f, "</table>\n</body></html>\n");
    bool ok = !ferror(f);
    ok = fclose(f) == 0 && ok;
    return ok ? PB_OK : pb_errorf(msg, mlen, PB_ERR_IO, "%s: write error", path);
}

/* ---- entry points ---- */

/* Removes what an earlier report wrote into rdir (figures of a kind this
 * record no longer has would otherwise linger beside the new ones). */
static void clean_report_dir(const char *rdir)
{
    DIR *d = opendir(rdir);
    if (!d) return;
    static const char *const ext[] = {".png", ".svg", ".dat", ".gp", ".log"};
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        bool ours = !strcmp(e->d_name, "report.md") || !strcmp(e->d_name, "report.html");
        for (size_t k = 0; k < sizeof ext / sizeof ext[0] && !ours; k++) {
            size_t x = strlen(ext[k]);
            ours = l > x && !strcmp(e->d_name + l - x, ext[k]);
        }
        char p[PATH_MAX + 300];
        if (ours && join(p, sizeof p, rdir, e->d_name)) unlink(p);
    }
    closedir(d);
}

pb_status pb_report_run(const char *run_dir, const pb_report_opts *opts, char *report_dir,
                        size_t report_dir_len, char *msg, size_t msg_len)
{
    if (!run_dir) return PB_ERR_NULL;
    pb_report_opts defaults = {.plots = true};
    if (!opts) opts = &defaults;
    rrun r;
    pb_status st = load_run(run_dir, &r, true, msg, msg_len);
    if (st != PB_OK) return st;
    char rdir[PATH_MAX + 16];
    snprintf(rdir, sizeof rdir, "%s/report", r.dir);
    if (mkdir(rdir, 0777) != 0 && errno != EEXIST) {
        st = pb_errorf(msg, msg_len, PB_ERR_IO, "cannot create %s: %s", rdir, strerror(errno));
        free_run(&r);
        return st;
    }
    clean_report_dir(rdir);
    figlist *figs = calloc(1, sizeof *figs);
    if (!figs) {
        free_run(&r);
        return pb_errorf(msg, msg_len, PB_ERR_NOMEM, "out of memory");
    }
    if (opts->plots) {
        static const char *const dirs[] = {"fwd_inf", "fwd_train", "bwd"};
        /* one set of bar charts per direction and thread count */
        int tv[8];
        size_t nt = 0;
        for (size_t i = 0; i < r.n; i++) {
            bool seen = false;
            for (size_t k = 0; k < nt; k++) seen |= tv[k] == r.c[i].threads;
            if (!seen && nt < 8 && r.c[i].ok && !r.c[i].sweep) tv[nt++] = r.c[i].threads;
        }
        for (size_t a = 0; a < nt; a++)
            for (size_t b = a + 1; b < nt; b++)
                if (tv[b] < tv[a]) {
                    int x = tv[a];
                    tv[a] = tv[b];
                    tv[b] = x;
                }
        for (int m = M_GBPS; m <= M_SPEEDUP && st == PB_OK; m++)
            for (size_t k = 0; k < 3 && st == PB_OK; k++)
                for (size_t t = 0; t < nt && st == PB_OK; t++)
                    st = fig_bars(&r, rdir, dirs[k], tv[t], nt > 1, (metric)m, &figs->f[figs->n++], msg, msg_len);
        int sv[8];
        size_t ns = 0;
        for (size_t i = 0; i < r.n; i++) {
            bool seen = false;
            for (size_t k = 0; k < ns; k++) seen |= sv[k] == r.c[i].threads;
            if (!seen && ns < 8 && r.c[i].ok && r.c[i].sweep) sv[ns++] = r.c[i].threads;
        }
        for (size_t k = 0; k < 3 && st == PB_OK; k++)
            for (size_t t = 0; t < ns && st == PB_OK; t++)
                st = fig_sweep(&r, rdir, dirs[k], sv[t], ns > 1, &figs->f[figs->n++], msg, msg_len);
        if (st == PB_OK) st = fig_threads(&r, rdir, &figs->f[figs->n++], msg, msg_len);
        if (st == PB_OK) st = fig_history(&r, rdir, opts, &figs->f[figs->n++], msg, msg_len);
        for (size_t i = 0; i < figs->n && st == PB_OK; i++)
            if (figs->f[i].drawn) st = gp_run(rdir, figs->f[i].name, opts, msg, msg_len);
    }
    if (st == PB_OK) st = write_md(&r, rdir, figs, msg, msg_len);
    if (st == PB_OK && opts->plots) st = write_html(&r, rdir, figs, msg, msg_len);
    if (st == PB_OK && report_dir) copy_str(report_dir, report_dir_len, rdir);
    free(figs);
    free_run(&r);
    return st;
}

/* The greatest record name under dir (names starting with '.' are
 * records being written); "" if none. */
static void newest_in(const char *dir, char *best, size_t len)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[PATH_MAX + 300];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode)) continue;
        const char *cur = strrchr(best, '/');
        if (!best[0] || strcmp(e->d_name, cur ? cur + 1 : best) > 0) copy_str(best, len, p);
    }
    closedir(d);
}

pb_status pb_report_latest(const char *root, char *out, size_t out_len, char *msg, size_t msg_len)
{
    if (!out || !out_len) return PB_ERR_NULL;
    if (!root) root = "results";
    out[0] = 0;
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) == 0)
        for (char *p = host; *p; p++)
            if (!(((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')) || *p == '-' ||
                  *p == '_' || *p == '.'))
                *p = '_';
    char hdir[PATH_MAX];
    snprintf(hdir, sizeof hdir, "%s/%s", root, host);
    if (host[0]) newest_in(hdir, out, out_len);
    if (out[0]) return PB_OK;
    DIR *d = opendir(root);
    if (!d) return pb_errorf(msg, msg_len, PB_ERR_IO, "%s: %s (run `poolbench bench` first)", root, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%.200s", root, e->d_name);
        char cand[PATH_MAX] = "";
        newest_in(p, cand, sizeof cand);
        if (!cand[0]) continue;
        const char *a = strrchr(cand, '/'), *b = out[0] ? strrchr(out, '/') : NULL;
        if (!out[0] || strcmp(a + 1, b ? b + 1 : out) > 0) copy_str(out, out_len, cand);
    }
    closedir(d);
    return out[0] ? PB_OK : pb_errorf(msg, msg_len, PB_ERR_IO, "no record under %s (run `poolbench bench` first)", root);
}

static const char usage[] =
    "usage: poolbench report [--results DIR] [--no-plots] [--history-case PATTERN]... [RUN_DIR...]\n"
    "  writes RUN_DIR/report/: figures (PNG + SVG, gnuplot), report.md, report.html\n"
    "  RUN_DIR          a record directory results/<host>/<stamp>-<commit>/; default: the newest\n"
    "  --results DIR    where records live (default results)\n"
    "  --no-plots       tables only, no gnuplot\n"
    "  --history-case P cases for the history chart: substring of\n"
    "                   \"impl problem alg layout dir tN\" (default: one per implementation)\n";

int pb_report_main(int argc, char **argv, FILE *out, FILE *err)
{
    if (!argv || !out || !err) return 2;
    pb_report_opts o = {.plots = true};
    const char *root = "results";
    const char **dirs = calloc((size_t)argc + 1, sizeof *dirs);
    if (!dirs) return 2;
    size_t nd = 0;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(usage, out);
            free(dirs);
            return 0;
        } else if (!strcmp(argv[i], "--no-plots")) {
            o.plots = false;
        } else if (!strcmp(argv[i], "--results") || !strcmp(argv[i], "--history-case")) {
            if (i + 1 >= argc) {
                fprintf(err, "poolbench: report: %s needs a value\n", argv[i]);
                free(dirs);
                return 2;
            }
            if (!strcmp(argv[i], "--results")) {
                root = argv[++i];
            } else if (o.n_history < PB_REPORT_MAX_HISTORY) {
                o.history[o.n_history++] = argv[++i];
            } else {
                fprintf(err, "poolbench: report: at most %d --history-case patterns\n", PB_REPORT_MAX_HISTORY);
                free(dirs);
                return 2;
            }
        } else if (argv[i][0] == '-') {
            fprintf(err, "poolbench: report: unknown option '%s' (see --help)\n", argv[i]);
            free(dirs);
            return 2;
        } else {
            dirs[nd++] = argv[i];
        }
    }
    char latest[PATH_MAX], msg[PATH_MAX + 256];
    if (!nd) {
        if (pb_report_latest(root, latest, sizeof latest, msg, sizeof msg) != PB_OK) {
            fprintf(err, "poolbench: report: %s\n", msg);
            free(dirs);
            return 2;
        }
        dirs[nd++] = latest;
    }
    for (size_t k = 0; k < nd; k++) {
        char rdir[PATH_MAX + 16];
        pb_status st = pb_report_run(dirs[k], &o, rdir, sizeof rdir, msg, sizeof msg);
        if (st != PB_OK) {
            fprintf(err, "poolbench: report: %s\n", msg);
            rc = 2;
            continue;
        }
        fprintf(out, "poolbench: report: wrote %s/report.md%s\n", rdir, o.plots ? " and report.html" : "");
    }
    free(dirs);
    return rc;
}
