/* Results records (see results.h and results/README.md). */
#include "results.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "par.h"

struct pb_record {
    char parent[PATH_MAX];  /* <root>/<host> */
    char name[128];
    char tmp[PATH_MAX];     /* <parent>/.tmp-<name>-XXXXXX */
    char files[PB_RECORD_MAX_FILES][PATH_MAX];
    volatile sig_atomic_t n_files; /* entries complete before counted */
};

/* The open record, for the signal and exit handlers. */
static pb_record *volatile active;

/* Async-signal-safe: unlink, rmdir only. */
static void remove_tmp(pb_record *r)
{
    for (sig_atomic_t i = 0; i < r->n_files; i++) unlink(r->files[i]);
    rmdir(r->tmp);
}

static const int cleanup_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define N_SIGNALS (sizeof cleanup_signals / sizeof cleanup_signals[0])
static struct sigaction saved[N_SIGNALS];

static void on_signal(int sig)
{
    pb_record *r = active;
    if (r) {
        active = NULL;
        remove_tmp(r);
    }
    /* then die of the signal as if we had not caught it */
    signal(sig, SIG_DFL);
    raise(sig);
}

static void on_exit_cleanup(void)
{
    pb_record *r = active;
    if (r) {
        active = NULL;
        remove_tmp(r);
    }
}

static void install_handlers(void)
{
    static bool atexit_done;
    if (!atexit_done) atexit_done = atexit(on_exit_cleanup) == 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < N_SIGNALS; i++) {
        sigaction(cleanup_signals[i], NULL, &saved[i]);
        /* keep a signal the user chose to ignore (nohup) ignored */
        if (saved[i].sa_handler != SIG_IGN) sigaction(cleanup_signals[i], &sa, NULL);
    }
}

static void restore_handlers(void)
{
    for (size_t i = 0; i < N_SIGNALS; i++)
        if (saved[i].sa_handler != SIG_IGN) sigaction(cleanup_signals[i], &saved[i], NULL);
}

static void close_record(pb_record *r)
{
    if (active == r) {
        active = NULL;
        restore_handlers();
    }
    free(r);
}

/* mkdir -p; on failure errno is set and *failed names the component. */
static int mkdir_p(const char *path, char *failed, size_t len)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        snprintf(failed, len, "%s", path);
        return -1;
    }
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            struct stat st;
            if (mkdir(buf, 0777) != 0) {
                int e = errno;
                if (e != EEXIST || stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
                    errno = e == EEXIST ? ENOTDIR : e;
                    snprintf(failed, len, "%s", buf);
                    return -1;
                }
            }
            *p = c;
            if (c == '\0') break;
        }
    }
    return 0;
}

static bool plain_name(const char *s)
{
    return s && *s && s[0] != '.' && !strchr(s, '/') && strlen(s) < 128;
}

pb_status pb_record_begin(const char *root, const char *host, const char *name,
                          pb_record **out, char *msg, size_t msg_len)
{
    if (msg && msg_len) msg[0] = '\0';
    if (out) *out = NULL;
    if (!root || !host || !name || !out) return PB_ERR_NULL;
    if (!*root || !plain_name(host) || !plain_name(name)) {
        if (msg) snprintf(msg, msg_len, "bad results path: root '%s', host '%s', name '%s'",
                          root, host, name);
        return PB_ERR_PARSE;
    }
    if (active) {
        if (msg) snprintf(msg, msg_len, "another results record is open");
        return PB_ERR_IO;
    }
    pb_record *r = calloc(1, sizeof *r);
    if (!r) return PB_ERR_NOMEM;
    if (snprintf(r->parent, sizeof r->parent, "%s/%s", root, host) >= (int)sizeof r->parent ||
        snprintf(r->tmp, sizeof r->tmp, "%s/.tmp-%s-XXXXXX", r->parent, name) >=
            (int)sizeof r->tmp) {
        if (msg) snprintf(msg, msg_len, "results path too long: '%s'", root);
        free(r);
        return PB_ERR_PARSE;
    }
    snprintf(r->name, sizeof r->name, "%s", name);
    char failed[PATH_MAX];
    if (mkdir_p(r->parent, failed, sizeof failed) != 0) {
        if (msg) snprintf(msg, msg_len, "cannot create results directory '%s': %s", failed,
                          strerror(errno));
        free(r);
        return PB_ERR_IO;
    }
    if (!mkdtemp(r->tmp)) {
        if (msg) snprintf(msg, msg_len, "cannot write in results directory '%s': %s",
                          r->parent, strerror(errno));
        free(r);
        return PB_ERR_IO;
    }
    /* mkdtemp makes it 0700; a record is as readable as the umask allows */
    mode_t um = umask(0);
    umask(um);
    chmod(r->tmp, 0777 & ~um);
    active = r;
    install_handlers();
    *out = r;
    return PB_OK;
}

pb_status pb_record_path(pb_record *r, const char *file, char *path, size_t len)
{
    if (!r || !file || !path) return PB_ERR_NULL;
    if (!plain_name(file)) return PB_ERR_PARSE;
    if (r->n_files >= PB_RECORD_MAX_FILES) return PB_ERR_TOO_LARGE;
    if (snprintf(path, len, "%s/%s", r->tmp, file) >= (int)len) return PB_ERR_PARSE;
    for (sig_atomic_t i = 0; i < r->n_files; i++)
        if (!strcmp(r->files[i], path)) return PB_OK;
    snprintf(r->files[r->n_files], PATH_MAX, "%s", path);
    r->n_files = r->n_files + 1; /* after the entry is complete */
    return PB_OK;
}

const char *pb_record_tmpdir(const pb_record *r) { return r ? r->tmp : NULL; }

static int fsync_path(const char *path, int flags)
{
    int fd = open(path, flags);
    if (fd < 0) return errno == ENOENT ? 0 : -1; /* a registered file never written */
    int rc = fsync(fd);
    close(fd);
    return rc;
}

pb_status pb_record_commit(pb_record *r, char *final_path, size_t len, char *msg,
                           size_t msg_len)
{
    if (msg && msg_len) msg[0] = '\0';
    if (!r || !final_path) return PB_ERR_NULL;
    /* the data reaches the disk before the name does */
    for (sig_atomic_t i = 0; i < r->n_files; i++)
        if (fsync_path(r->files[i], O_RDONLY) != 0) {
            if (msg) snprintf(msg, msg_len, "cannot sync '%s': %s", r->files[i],
                              strerror(errno));
            pb_record_abort(r);
            return PB_ERR_IO;
        }
    (void)fsync_path(r->tmp, O_RDONLY | O_DIRECTORY);
    char dest[PATH_MAX];
    int err = EEXIST;
    for (int k = 1; k <= 999 && err == EEXIST; k++) {
        int n = k == 1 ? snprintf(dest, sizeof dest, "%s/%s", r->parent, r->name)
                       : snprintf(dest, sizeof dest, "%s/%s-%d", r->parent, r->name, k);
        if (n >= (int)sizeof dest) {
            err = ENAMETOOLONG;
            break;
        }
        /* never over an existing record: RENAME_NOREPLACE fails with
         * EEXIST; where the file system lacks it, claim the name with an
         * exclusive mkdir and rename onto that empty directory */
        if (renameat2(AT_FDCWD, r->tmp, AT_FDCWD, dest, RENAME_NOREPLACE) == 0) {
            err = 0;
        } else if (errno == EINVAL || errno == ENOSYS) {
            if (mkdir(dest, 0700) != 0)
                err = errno;
            else
                err = rename(r->tmp, dest) == 0 ? 0 : errno;
        } else {
            err = errno;
        }
    }
    if (err) {
        if (msg) snprintf(msg, msg_len, "cannot move record into '%s': %s", r->parent,
                          strerror(err));
        pb_record_abort(r);
        return PB_ERR_IO;
    }
    (void)fsync_path(r->parent, O_RDONLY | O_DIRECTORY);
    int n = snprintf(final_path, len, "%s", dest);
    close_record(r);
    return n < (int)len ? PB_OK : PB_ERR_PARSE;
}

void pb_record_abort(pb_record *r)
{
    if (!r) return;
    remove_tmp(r);
    close_record(r);
}

pb_status pb_record_stamp(time_t t, char *buf, size_t len)
{
    if (!buf) return PB_ERR_NULL;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(buf, len, "%Y%m%dT%H%M%SZ", &tm) == 0)
        return PB_ERR_PARSE;
    return PB_OK;
}

/* ---- cases ---- */

void pb_case_result_init(pb_case_result *c)
{
    if (!c) return;
    memset(c, 0, sizeof *c);
    c->median_ns = c->mean_ns = c->stddev_ns = c->cv = c->min_ns = c->max_ns = NAN;
    c->gbps = c->elems_per_s = c->pct_bw = c->speedup = c->setup_ms = c->convert_ms = NAN;
    c->ipc = c->bytes_per_llc_miss = NAN;
    for (int i = 0; i < PB_MAX_EVENTS; i++) c->events[i] = NAN;
    c->bw_index = -1;
}

/* ---- the JSON context block ---- */

static void json_bw(pb_json *j, const pb_bw_result *b)
{
    char id[64];
    pb_bw_id(b, id, sizeof id);
    pb_json_begin_object(j, NULL);
    pb_json_str(j, "id", id);
    pb_json_int(j, "reads", b->shape.reads);
    pb_json_int(j, "writes", b->shape.writes);
    pb_json_int(j, "bytes", b->bytes);
    pb_json_int(j, "threads", b->threads);
    pb_json_bool(j, "cold", b->cold);
    pb_json_str(j, "isa", pb_isa_name(b->isa));
    pb_json_int(j, "trials", b->trials);
    pb_json_int(j, "passes_per_trial", b->passes);
    pb_json_str(j, "stores", b->streaming ? "streaming" : "ordinary");
    pb_json_num(j, "best_gbps", b->best_gbps);
    pb_json_num(j, "mean_gbps", b->mean_gbps);
    pb_json_num(j, "worst_gbps", b->worst_gbps);
    pb_json_num(j, "spread", b->spread);
    pb_json_num(j, "timer_resolution_ns", b->timer_res_s * 1e9);
    pb_json_num(j, "ticks_per_trial", b->ticks_per_trial);
    pb_json_num(j, "ordinary_gbps", b->ordinary_gbps);
    pb_json_num(j, "streaming_gbps", b->streaming_gbps);
    pb_json_bool(j, "valid", b->valid);
    pb_json_end_object(j);
}

static void json_case(pb_json *j, const pb_run_info *ri, const pb_case_result *c)
{
    pb_json_begin_object(j, NULL);
    pb_json_str(j, "name", c->name);
    pb_json_str(j, "impl", c->impl);
    pb_json_str(j, "resolved", c->resolved);
    pb_json_str(j, "problem", c->problem);
    pb_json_str(j, "label", c->label);
    pb_json_str(j, "alg", pb_alg_name(c->alg));
    pb_json_str(j, "layout", pb_layout_name(c->layout));
    pb_json_str(j, "dir", pb_dir_name(c->dir));
    pb_json_int(j, "threads", c->threads);
    pb_json_str(j, "verify", c->verify);
    pb_json_str(j, "status", c->status);
    pb_json_str(j, "detail", c->detail);
    pb_json_int(j, "reps", c->reps);
    pb_json_num(j, "median_ns", c->median_ns);
    pb_json_num(j, "cv", c->cv);
    pb_json_num(j, "gbps", c->gbps);
    pb_json_num(j, "elements_per_s", c->elems_per_s);
    pb_json_num(j, "pct_bw", c->pct_bw);
    pb_json_num(j, "speedup_vs_naive", c->speedup);
    pb_json_begin_object(j, "bytes");
    pb_json_int(j, "read", c->bytes.read);
    pb_json_int(j, "write", c->bytes.write);
    pb_json_int(j, "total", c->bytes.total);
    pb_json_int(j, "elements", c->bytes.elements);
    pb_json_end_object(j);
    char id[64] = "";
    if (c->bw_index >= 0 && (size_t)c->bw_index < ri->n_bw) pb_bw_id(&ri->bw[c->bw_index], id, sizeof id);
    if (id[0])
        pb_json_str(j, "bandwidth_ref", id);
    else
        pb_json_null(j, "bandwidth_ref");
    pb_json_num(j, "setup_ms", c->setup_ms);
    pb_json_num(j, "convert_ms", c->convert_ms);
    pb_json_begin_object(j, "counters");
    for (size_t e = 0; e < ri->n_events && e < PB_MAX_EVENTS; e++)
        pb_json_num(j, ri->events[e], c->events[e]);
    pb_json_num(j, "ipc", c->ipc);
    pb_json_num(j, "bytes_per_llc_miss", c->bytes_per_llc_miss);
    pb_json_end_object(j);
    pb_json_end_object(j);
}

pb_status pb_results_context_json(const pb_run_info *ri, pb_json *j)
{
    if (!ri || !j || !ri->sys) return PB_ERR_NULL;
    const pb_sysinfo *s = ri->sys;
    const pb_buildinfo *b = pb_buildinfo_get();
    pb_json_begin_object(j, NULL);
    pb_json_int(j, "schema", 1);
    pb_json_str(j, "timestamp_utc", ri->timestamp_utc);
    pb_json_str(j, "command_line", ri->command_line);
    pb_json_str(j, "host", s->host);

    pb_json_begin_object(j, "source");
    pb_json_str(j, "commit", s->commit);
    pb_json_str(j, "commit_short", s->commit_short);
    pb_json_bool(j, "dirty", s->dirty);
    pb_json_str(j, "dir", s->source_dir);
    pb_json_end_object(j);

    pb_json_begin_object(j, "cpu");
    pb_json_str(j, "vendor", s->cpu_vendor);
    pb_json_str(j, "model", s->cpu_model);
    pb_json_int(j, "family", s->cpu_family);
    pb_json_int(j, "model_id", s->cpu_model_id);
    pb_json_int(j, "stepping", s->cpu_stepping);
    pb_json_int(j, "logical_cpus", s->logical_cpus);
    pb_json_bool(j, "hypervisor", s->hypervisor);
    pb_json_str(j, "flags", s->cpu_flags);
    pb_json_str(j, "isa", pb_isa_name(s->isa));
    pb_json_str(j, "max_isa_env", s->isa_env[0] ? s->isa_env : NULL);
    pb_json_end_object(j);

    pb_json_begin_object(j, "caches");
    pb_json_str(j, "source", s->cache_source);
    pb_json_begin_array(j, "levels");
    for (int i = 0; i < s->n_caches; i++) {
        const pb_cache_info *c = &s->caches[i];
        pb_json_begin_object(j, NULL);
        pb_json_int(j, "level", c->level);
        pb_json_str(j, "type", c->type);
        pb_json_int(j, "size_bytes", c->size_bytes);
        pb_json_int(j, "line_bytes", c->line_bytes);
        pb_json_int(j, "shared_cpus", c->shared_cpus);
        pb_json_end_object(j);
    }
    pb_json_end_array(j);
    pb_json_end_object(j);

    pb_json_begin_object(j, "build");
    pb_json_str(j, "cc", b->cc);
    pb_json_str(j, "cc_version", b->cc_version);
    pb_json_str(j, "cflags", b->cflags);
    pb_json_str(j, "cppflags", b->cppflags);
    pb_json_str(j, "cxx", b->cxx);
    pb_json_str(j, "cxxflags", b->cxxflags);
    pb_json_str(j, "avx2_file_flags", b->isa_avx2_flags);
    pb_json_str(j, "avx512_file_flags", b->isa_avx512_flags);
    pb_json_str(j, "openmp_file_flags", b->openmp_flags);
    pb_json_str(j, "ldlibs", b->ldlibs);
    pb_json_str(j, "google_benchmark", b->gbench_version);
    pb_json_end_object(j);

    pb_par_info pi;
    pb_par_info_get(&pi);
    pb_json_begin_object(j, "openmp");
    pb_json_int(j, "version", pi.openmp_version);
    pb_json_int(j, "max_threads", pi.max_threads);
    pb_json_str(j, "proc_bind", pi.proc_bind);
    pb_json_bool(j, "dynamic", pi.dynamic != 0);
    static const char *const env[] = {"OMP_NUM_THREADS", "OMP_PROC_BIND", "OMP_PLACES",
                                      "OMP_WAIT_POLICY", "OMP_DYNAMIC", "GOMP_SPINCOUNT",
                                      "GOMP_CPU_AFFINITY"};
    pb_json_begin_object(j, "env");
    for (size_t i = 0; i < sizeof env / sizeof env[0]; i++) pb_json_str(j, env[i], getenv(env[i]));
    pb_json_end_object(j);
    pb_json_str(j, "pinned_cpus", ri->pinned_cpus);
    pb_json_end_object(j);

    pb_json_begin_object(j, "options");
    pb_json_str(j, "suite", ri->suite);
    pb_json_int(j, "reps", ri->reps);
    pb_json_num(j, "min_time_s", ri->min_time_s > 0 ? ri->min_time_s : NAN);
    pb_json_bool(j, "cold", ri->cold);
    pb_json_str(j, "threads", ri->threads_list);
    pb_json_end_object(j);

    pb_json_begin_array(j, "bandwidth");
    for (size_t i = 0; i < ri->n_bw; i++) json_bw(j, &ri->bw[i]);
    pb_json_end_array(j);

    pb_json_begin_object(j, "counters");
    pb_json_str(j, "requested", ri->counters_spec);
    pb_json_str(j, "backend", ri->counters_backend);
    pb_json_bool(j, "available", ri->counters_available);
    pb_json_str(j, "status", ri->counters_status);
    int par = pb_sysinfo_perf_paranoid();
    if (par == INT32_MIN)
        pb_json_null(j, "perf_event_paranoid");
    else
        pb_json_int(j, "perf_event_paranoid", par);
    pb_json_bool(j, "hypervisor", s->hypervisor);
    pb_json_begin_array(j, "events");
    for (size_t e = 0; e < ri->n_events; e++) pb_json_str(j, NULL, ri->events[e]);
    pb_json_end_array(j);
    pb_json_end_object(j);

    pb_json_begin_array(j, "cases");
    for (size_t i = 0; i < ri->n_cases; i++) json_case(j, ri, &ri->cases[i]);
    pb_json_end_array(j);
    pb_json_end_object(j);
    return pb_json_status(j);
}

/* ---- the CSV ---- */

void pb_csv_field(FILE *f, const char *s)
{
    if (!f) return;
    if (!s) s = "";
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* A number, or an empty field when not measured. */
static void csv_num(FILE *f, double v)
{
    fputc(',', f);
    if (isfinite(v)) fprintf(f, "%.9g", v);
}

static void csv_int(FILE *f, int64_t v) { fprintf(f, ",%lld", (long long)v); }

static void csv_str(FILE *f, const char *s)
{
    fputc(',', f);
    pb_csv_field(f, s);
}

pb_status pb_results_write_csv(const char *path, const pb_run_info *ri)
{
    if (!path || !ri || !ri->sys) return PB_ERR_NULL;
    FILE *f = fopen(path, "w");
    if (!f) return PB_ERR_IO;
    fputs("timestamp_utc,commit,dirty,host,impl,resolved,problem,label,alg,layout,dir,threads,"
          "status,detail,reps,iterations,median_ns,mean_ns,stddev_ns,cv,min_ns,max_ns,"
          "bytes_read,bytes_written,bytes_total,elements,gbps,elements_per_s,bw_ref,"
          "bw_ref_gbps,pct_bw,speedup_vs_naive,setup_ms,convert_ms",
          f);
    for (size_t e = 0; e < ri->n_events && e < PB_MAX_EVENTS; e++) csv_str(f, ri->events[e]);
    fputs(",ipc,bytes_per_llc_miss\n", f);
    for (size_t i = 0; i < ri->n_cases; i++) {
        const pb_case_result *c = &ri->cases[i];
        pb_csv_field(f, ri->timestamp_utc);
        csv_str(f, ri->sys->commit_short);
        csv_int(f, ri->sys->dirty);
        csv_str(f, ri->sys->host);
        csv_str(f, c->impl);
        csv_str(f, c->resolved);
        csv_str(f, c->problem);
        csv_str(f, c->label);
        csv_str(f, pb_alg_name(c->alg));
        csv_str(f, pb_layout_name(c->layout));
        csv_str(f, pb_dir_name(c->dir));
        csv_int(f, c->threads);
        csv_str(f, c->status);
        csv_str(f, c->detail);
        csv_int(f, c->reps);
        csv_int(f, c->iterations);
        csv_num(f, c->median_ns);
        csv_num(f, c->mean_ns);
        csv_num(f, c->stddev_ns);
        csv_num(f, c->cv);
        csv_num(f, c->min_ns);
        csv_num(f, c->max_ns);
        csv_int(f, c->bytes.read);
        csv_int(f, c->bytes.write);
        csv_int(f, c->bytes.total);
        csv_int(f, c->bytes.elements);
        csv_num(f, c->gbps);
        csv_num(f, c->elems_per_s);
        const pb_bw_result *bw =
            c->bw_index >= 0 && (size_t)c->bw_index < ri->n_bw ? &ri->bw[c->bw_index] : NULL;
        char id[64] = "";
        if (bw) pb_bw_id(bw, id, sizeof id);
        csv_str(f, id);
        csv_num(f, bw ? bw->best_gbps : NAN);
        csv_num(f, c->pct_bw);
        csv_num(f, c->speedup);
        csv_num(f, c->setup_ms);
        csv_num(f, c->convert_ms);
        for (size_t e = 0; e < ri->n_events && e < PB_MAX_EVENTS; e++) csv_num(f, c->events[e]);
        csv_num(f, c->ipc);
        csv_num(f, c->bytes_per_llc_miss);
        fputc('\n', f);
    }
    bool ok = !ferror(f);
    ok = fclose(f) == 0 && ok;
    return ok ? PB_OK : PB_ERR_IO;
}
