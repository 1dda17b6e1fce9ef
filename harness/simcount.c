/* Deterministic instruction and cache-miss counts under callgrind; see
 * simcount.h. */
#include "simcount.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <valgrind/callgrind.h>

#include "problem.h"

const char *const pb_sim_counter_names[PB_SIM_NCOUNTERS] = {
    "sim_Ir", "sim_Dr", "sim_Dw", "sim_I1mr", "sim_D1mr", "sim_D1mw", "sim_ILmr", "sim_DLmr", "sim_DLmw"};

/* callgrind's event names, in the order of pb_simcount's fields */
static const char *const cg_events[PB_SIM_NCOUNTERS] = {"Ir",   "Dr",   "Dw",   "I1mr", "D1mr",
                                                        "D1mw", "ILmr", "DLmr", "DLmw"};

static uint64_t *field(pb_simcount *s, int i)
{
    uint64_t *f[PB_SIM_NCOUNTERS] = {&s->ir,   &s->dr,   &s->dw,   &s->i1mr, &s->d1mr,
                                     &s->d1mw, &s->ilmr, &s->dlmr, &s->dlmw};
    return f[i];
}

void pb_sim_values(const pb_simcount *s, double values[PB_SIM_NCOUNTERS])
{
    if (!s || !values) return;
    for (int i = 0; i < PB_SIM_NCOUNTERS; i++) values[i] = (double)*field((pb_simcount *)s, i);
}

/* Copies src into dst (n bytes), truncating. */
static void copy_str(char *dst, size_t n, const char *src)
{
    size_t l = strlen(src);
    if (l >= n) l = n - 1;
    memcpy(dst, src, l);
    dst[l] = 0;
}

static void chomp(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r')) s[--n] = 0;
}

pb_status pb_sim_parse_callgrind(const char *path, pb_simcount *out, char *msg, size_t msg_len)
{
    if (!path || !out) return PB_ERR_NULL;
    FILE *f = fopen(path, "r");
    if (!f) return pb_errorf(msg, msg_len, PB_ERR_IO, "%s: %s", path, strerror(errno));
    pb_simcount s;
    memset(&s, 0, sizeof s);
    char line[4096], events[512] = "", totals[1024] = "", summary[1024] = "";
    while (fgets(line, sizeof line, f)) {
        chomp(line);
        if (strncmp(line, "events:", 7) == 0) copy_str(events, sizeof events, line + 7);
        else if (strncmp(line, "totals:", 7) == 0) copy_str(totals, sizeof totals, line + 7);
        else if (strncmp(line, "summary:", 8) == 0) copy_str(summary, sizeof summary, line + 8);
        else if (strncmp(line, "desc: D1 cache:", 15) == 0)
            copy_str(s.d1_desc, sizeof s.d1_desc, line + 15 + strspn(line + 15, " "));
        else if (strncmp(line, "desc: LL cache:", 15) == 0)
            copy_str(s.ll_desc, sizeof s.ll_desc, line + 15 + strspn(line + 15, " "));
    }
    bool rerr = ferror(f);
    fclose(f);
    if (rerr) return pb_errorf(msg, msg_len, PB_ERR_IO, "%s: read error", path);
    const char *vals = totals[0] ? totals : summary;
    if (!events[0] || !vals[0])
        return pb_errorf(msg, msg_len, PB_ERR_PARSE, "%s: no events:/totals: lines (not callgrind output?)", path);

    /* the events line must be exactly callgrind's cache-simulation set */
    char *save = NULL, *tok = strtok_r(events, " \t", &save);
    int ne = 0;
    for (; tok; tok = strtok_r(NULL, " \t", &save), ne++)
        if (ne >= PB_SIM_NCOUNTERS || strcmp(tok, cg_events[ne]) != 0)
            return pb_errorf(msg, msg_len, PB_ERR_PARSE,
                        "%s: events are not Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw (run with --cache-sim=yes)",
                        path);
    if (ne != PB_SIM_NCOUNTERS)
        return pb_errorf(msg, msg_len, PB_ERR_PARSE, "%s: %d events, want %d (run with --cache-sim=yes)", path,
                    ne, PB_SIM_NCOUNTERS);
    const char *p = vals;
    for (int i = 0; i < PB_SIM_NCOUNTERS; i++) {
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) break; /* trailing zero counts are omitted by callgrind */
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        if (end == p || errno || (*end && *end != ' ' && *end != '\t'))
            return pb_errorf(msg, msg_len, PB_ERR_PARSE, "%s: bad count in totals line: '%s'", path, vals);
        *field(&s, i) = v;
        p = end;
    }
    while (*p == ' ' || *p == '\t') p++;
    if (*p) return pb_errorf(msg, msg_len, PB_ERR_PARSE, "%s: more totals than events: '%s'", path, vals);
    *out = s;
    return PB_OK;
}

static const char *valgrind_prog(const pb_sim_config *cfg)
{
    return cfg && cfg->valgrind ? cfg->valgrind : "valgrind";
}

/* Runs argv with stdout+stderr to log_fd and the env settings for counting;
 * returns the wait status, or -1 with errno. */
static int spawn(char *const argv[], int log_fd)
{
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        if (log_fd >= 0) {
            dup2(log_fd, STDOUT_FILENO);
            dup2(log_fd, STDERR_FILENO);
        }
        setenv("OMP_NUM_THREADS", "1", 1);
        setenv("OMP_WAIT_POLICY", "passive", 1);
        execvp(argv[0], argv);
        dprintf(STDERR_FILENO, "poolbench: sim: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return status;
}

pb_status pb_sim_available(const pb_sim_config *cfg, char *why, size_t why_len)
{
    int fd = open("/dev/null", O_WRONLY);
    char *argv[] = {(char *)valgrind_prog(cfg), (char *)"--version", NULL};
    int st = spawn(argv, fd);
    if (fd >= 0) close(fd);
    if (st < 0) return pb_errorf(why, why_len, PB_ERR_IO, "cannot start %s: %s", argv[0], strerror(errno));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return pb_errorf(why, why_len, PB_ERR_IO, "%s not found or not working (install valgrind)", argv[0]);
    return PB_OK;
}

pb_status pb_sim_self_exe(char *buf, size_t len)
{
    if (!buf || len < 2) return PB_ERR_NULL;
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);
    if (n < 0 || (size_t)n >= len - 1) return PB_ERR_IO;
    buf[n] = 0;
    return PB_OK;
}

/* Last line of the log that names a reason: "poolbench: sim-case: ..." if
 * present, else the last non-empty line. */
static void last_reason(int fd, char *out, size_t len)
{
    if (!out || !len) return;
    out[0] = 0;
    if (lseek(fd, 0, SEEK_SET) < 0) return;
    FILE *f = fdopen(dup(fd), "r");
    if (!f) return;
    char line[1024], tagged[1024] = "", last[1024] = "";
    while (fgets(line, sizeof line, f)) {
        chomp(line);
        if (!line[0]) continue;
        copy_str(last, sizeof last, line);
        if (strstr(line, "poolbench: sim-case: ")) copy_str(tagged, sizeof tagged, line);
    }
    fclose(f);
    const char *r = tagged[0] ? strstr(tagged, "poolbench: sim-case: ") + 21 : last;
    copy_str(out, len, r);
}

static pb_sim_cache or_default(pb_sim_cache c, pb_sim_cache def)
{
    return c.size || c.assoc || c.line ? c : def;
}

pb_status pb_sim_run(const char *exe, const pb_sim_case *c, const pb_sim_config *cfg,
                     pb_simcount *out, char *msg, size_t msg_len)
{
    if (!exe || !c || !c->impl || !c->problem || !out) return PB_ERR_NULL;
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp) tmp = "/tmp";
    char cg_path[512], log_path[512];
    snprintf(cg_path, sizeof cg_path, "%s/poolbench-cg-XXXXXX", tmp);
    snprintf(log_path, sizeof log_path, "%s/poolbench-cglog-XXXXXX", tmp);
    int cg_fd = mkstemp(cg_path);
    if (cg_fd < 0) return pb_errorf(msg, msg_len, PB_ERR_IO, "%s: %s", cg_path, strerror(errno));
    close(cg_fd);
    int log_fd = mkstemp(log_path);
    if (log_fd < 0) {
        unlink(cg_path);
        return pb_errorf(msg, msg_len, PB_ERR_IO, "%s: %s", log_path, strerror(errno));
    }
    unlink(log_path); /* the open descriptor keeps it until we close it */

    pb_sim_cache i1 = or_default(cfg ? cfg->i1 : (pb_sim_cache){0}, PB_SIM_I1_DEFAULT);
    pb_sim_cache d1 = or_default(cfg ? cfg->d1 : (pb_sim_cache){0}, PB_SIM_D1_DEFAULT);
    pb_sim_cache ll = or_default(cfg ? cfg->ll : (pb_sim_cache){0}, PB_SIM_LL_DEFAULT);
    char o_out[600], o_i1[64], o_d1[64], o_ll[64];
    snprintf(o_out, sizeof o_out, "--callgrind-out-file=%s", cg_path);
    snprintf(o_i1, sizeof o_i1, "--I1=%ld,%ld,%ld", i1.size, i1.assoc, i1.line);
    snprintf(o_d1, sizeof o_d1, "--D1=%ld,%ld,%ld", d1.size, d1.assoc, d1.line);
    snprintf(o_ll, sizeof o_ll, "--LL=%ld,%ld,%ld", ll.size, ll.assoc, ll.line);
    char *argv[] = {(char *)valgrind_prog(cfg),
                    (char *)"--tool=callgrind",
                    (char *)"--cache-sim=yes",
                    (char *)"--instr-atstart=no",
                    (char *)"--collect-atstart=no",
                    o_i1,
                    o_d1,
                    o_ll,
                    o_out,
                    (char *)exe,
                    (char *)"sim-case",
                    (char *)"--impl",
                    (char *)c->impl,
                    (char *)"--problem",
                    (char *)c->problem,
                    (char *)"--alg",
                    (char *)pb_alg_name(c->alg),
                    (char *)"--layout",
                    (char *)pb_layout_name(c->layout),
                    (char *)"--dir",
                    (char *)pb_dir_name(c->dir),
                    NULL};
    int st = spawn(argv, log_fd);
    pb_status res = PB_OK;
    char reason[512];
    if (st < 0) {
        res = pb_errorf(msg, msg_len, PB_ERR_LIBRARY, "cannot start %s: %s", argv[0], strerror(errno));
    } else if (WIFEXITED(st) && WEXITSTATUS(st) == PB_SIM_CASE_DECLINED) {
        last_reason(log_fd, reason, sizeof reason);
        res = pb_errorf(msg, msg_len, PB_ERR_UNSUPPORTED, "%s", reason);
    } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        last_reason(log_fd, reason, sizeof reason);
        res = pb_errorf(msg, msg_len, PB_ERR_LIBRARY, "%s under valgrind %s %d: %s", c->impl,
                   WIFEXITED(st) ? "exited with" : "killed by signal",
                   WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), reason);
    } else {
        res = pb_sim_parse_callgrind(cg_path, out, msg, msg_len);
        if (res == PB_OK) {
            last_reason(log_fd, reason, sizeof reason);
            const char *r = strncmp(reason, "ran ", 4) == 0 ? reason + 4 : c->impl;
            copy_str(out->impl, sizeof out->impl, r);
        }
    }
    close(log_fd);
    unlink(cg_path);
    return res;
}

/* ---- inside the counted process ---- */

/* Deterministic fill: splitmix64 of the index, as small integers so max
 * comparisons and sums are exact and the data-dependent path is fixed. */
static void fill(float *p, int64_t n, uint64_t seed)
{
    for (int64_t i = 0; i < n; i++) {
        uint64_t z = seed + (uint64_t)i * 0x9e3779b97f4a7c15ull;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        p[i] = (float)((int64_t)(z % 2001) - 1000) / 8;
    }
}

pb_status pb_sim_case_exec(const pb_sim_case *c, const char **ran, char *msg, size_t msg_len)
{
    if (!c || !c->impl || !c->problem) return pb_errorf(msg, msg_len, PB_ERR_NULL, "missing case fields");
    pb_desc d;
    pb_desc_init(&d);
    d.alg = c->alg;
    d.layout = c->layout;
    d.threads = 1; /* one thread: counts must not depend on interleaving */
    char pmsg[256];
    pb_status st = pb_problem_parse(c->problem, &d, pmsg, sizeof pmsg);
    if (st != PB_OK) return pb_errorf(msg, msg_len, st, "problem '%s': %s", c->problem, pmsg);
    if ((unsigned)c->dir >= PB_DIR_COUNT) return pb_errorf(msg, msg_len, PB_ERR_DIR, "bad direction");
    const pb_impl *impl = strcmp(c->impl, "best") == 0 ? pb_impl_best(&d, c->dir) : pb_impl_find(c->impl);
    if (!impl) return pb_errorf(msg, msg_len, PB_ERR_UNKNOWN_NAME, "no implementation '%s'", c->impl);
    if (ran) *ran = impl->name;
    const char *why = NULL;
    if (!pb_impl_accepts(impl, &d, c->dir, &why)) {
        bool vg = RUNNING_ON_VALGRIND && impl->isa == PB_ISA_AVX512;
        return pb_errorf(msg, msg_len, PB_ERR_UNSUPPORTED, "%s declines %s %s %s: %s%s", impl->name,
                    pb_alg_name(d.alg), pb_layout_name(d.layout), pb_dir_name(c->dir), why,
                    vg ? " (valgrind does not emulate AVX-512)" : "");
    }

    float *src = malloc((size_t)d.src_elems * sizeof *src);
    float *dst = malloc((size_t)d.dst_elems * sizeof *dst);
    int32_t *ws = malloc((size_t)d.dst_elems * sizeof *ws);
    float *diff_dst = malloc((size_t)d.dst_elems * sizeof *diff_dst);
    float *diff_src = malloc((size_t)d.src_elems * sizeof *diff_src);
    void *state = NULL;
    bool prepared = false;
    if (!src || !dst || !ws || !diff_dst || !diff_src) {
        st = pb_errorf(msg, msg_len, PB_ERR_NOMEM, "out of memory for %s", c->problem);
        goto out;
    }
    fill(src, d.src_elems, 1);
    fill(diff_dst, d.dst_elems, 2);
    memset(dst, 0, (size_t)d.dst_elems * sizeof *dst);
    memset(diff_src, 0, (size_t)d.src_elems * sizeof *diff_src);
    memset(ws, 0, (size_t)d.dst_elems * sizeof *ws);
    pb_args a = {.src = src, .dst = dst, .ws = ws, .diff_dst = diff_dst, .diff_src = diff_src};
    if (c->dir == PB_DIR_BWD && d.alg == PB_ALG_MAX) {
        /* backward of max needs the argmax: the reference computes it */
        st = pb_impl_run(pb_impl_reference(), &d, PB_DIR_FWD_TRAIN, &a);
        if (st != PB_OK) {
            pb_errorf(msg, msg_len, st, "reference forward for the argmax failed: %s", pb_status_str(st));
            goto out;
        }
    }
    if (impl->prepare) {
        st = impl->prepare(&d, c->dir, &a, &state);
        if (st != PB_OK) {
            pb_errorf(msg, msg_len, st, "%s prepare: %s", impl->name, pb_status_str(st));
            goto out;
        }
    }
    prepared = true;
    pb_exec_fn run = c->dir == PB_DIR_BWD ? impl->bwd : impl->fwd;
    CALLGRIND_START_INSTRUMENTATION;
    st = run(&d, &a, state); /* warm-up: caches, first touch, lazy init */
    CALLGRIND_TOGGLE_COLLECT;
    pb_status st2 = run(&d, &a, state);
    CALLGRIND_TOGGLE_COLLECT;
    CALLGRIND_STOP_INSTRUMENTATION;
    if (st == PB_OK) st = st2;
    if (st != PB_OK) pb_errorf(msg, msg_len, st, "%s: %s", impl->name, pb_status_str(st));
out:
    if (prepared && impl->release) impl->release(state);
    free(src);
    free(dst);
    free(ws);
    free(diff_dst);
    free(diff_src);
    return st;
}
