/* Machine, build and source facts for the results record (see sysinfo.h). */
#include "sysinfo.h"

#include <cpuid.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Filled by the Makefile for this file only (see there). */
#ifndef PB_BUILD_CC
#define PB_BUILD_CC ""
#endif
#ifndef PB_BUILD_CFLAGS
#define PB_BUILD_CFLAGS ""
#endif
#ifndef PB_BUILD_CPPFLAGS
#define PB_BUILD_CPPFLAGS ""
#endif
#ifndef PB_BUILD_CXX
#define PB_BUILD_CXX ""
#endif
#ifndef PB_BUILD_CXXFLAGS
#define PB_BUILD_CXXFLAGS ""
#endif
#ifndef PB_BUILD_ISA_AVX2
#define PB_BUILD_ISA_AVX2 ""
#endif
#ifndef PB_BUILD_ISA_AVX512
#define PB_BUILD_ISA_AVX512 ""
#endif
#ifndef PB_BUILD_OPENMP
#define PB_BUILD_OPENMP ""
#endif
#ifndef PB_BUILD_LDLIBS
#define PB_BUILD_LDLIBS ""
#endif
#ifndef PB_BUILD_GBENCH_VERSION
#define PB_BUILD_GBENCH_VERSION ""
#endif
#ifndef PB_BUILD_COMMIT /* build/buildcommit.h, from the Makefile */
#define PB_BUILD_COMMIT ""
#define PB_BUILD_DIRTY 0
#endif
#ifndef PB_SOURCE_DIR
#define PB_SOURCE_DIR "."
#endif

const pb_buildinfo *pb_buildinfo_get(void)
{
    static const pb_buildinfo b = {
        .cc = PB_BUILD_CC,
#if defined(__clang__)
        .cc_version = "clang " __clang_version__,
#elif defined(__GNUC__)
        .cc_version = "gcc " __VERSION__,
#else
        .cc_version = "unknown",
#endif
        .cflags = PB_BUILD_CFLAGS,
        .cppflags = PB_BUILD_CPPFLAGS,
        .cxx = PB_BUILD_CXX,
        .cxxflags = PB_BUILD_CXXFLAGS,
        .isa_avx2_flags = PB_BUILD_ISA_AVX2,
        .isa_avx512_flags = PB_BUILD_ISA_AVX512,
        .openmp_flags = PB_BUILD_OPENMP,
        .ldlibs = PB_BUILD_LDLIBS,
        .gbench_version = PB_BUILD_GBENCH_VERSION,
    };
    return &b;
}

/* Copies s into d (n bytes), truncating: for fields whose source may be
 * longer than the record keeps. */
static void scopy(char *d, size_t n, const char *s)
{
    size_t l = strnlen(s, n - 1);
    memcpy(d, s, l);
    d[l] = '\0';
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    size_t i = 0;
    while (s[i] && isspace((unsigned char)s[i])) i++;
    if (i) memmove(s, s + i, n - i + 1);
}

/* First line of a small file, trimmed; false if unreadable. */
static bool read_line(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f) return false;
    bool ok = fgets(buf, (int)len, f) != NULL;
    fclose(f);
    if (ok) trim(buf);
    return ok;
}

/* Value of the first "key : value" line of /proc/cpuinfo. */
static bool cpuinfo_field(const char *key, char *buf, size_t len)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return false;
    /* the flags line of a modern CPU is well under 4 KiB */
    char line[4096];
    bool found = false;
    size_t klen = strlen(key);
    while (!found && fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) != 0) continue;
        char *colon = strchr(line, ':');
        if (!colon || strspn(line + klen, " \t") != (size_t)(colon - line - (long)klen))
            continue;
        snprintf(buf, len, "%s", colon + 1);
        trim(buf);
        found = true;
    }
    fclose(f);
    return found;
}

static void add_cache(pb_sysinfo *s, int level, const char *type, int64_t size, int line,
                      int shared)
{
    if (s->n_caches >= PB_MAX_CACHES || size <= 0) return;
    pb_cache_info *c = &s->caches[s->n_caches++];
    c->level = level;
    scopy(c->type, sizeof c->type, type);
    c->size_bytes = size;
    c->line_bytes = line;
    c->shared_cpus = shared;
}

static int64_t parse_size(const char *s)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end == 'K') v *= 1024;
    else if (*end == 'M') v *= 1024 * 1024;
    return v;
}

static int count_cpu_list(const char *s)
{
    int n = 0;
    while (*s) {
        char *end;
        long a = strtol(s, &end, 10);
        if (end == s) break;
        long b = a;
        if (*end == '-') b = strtol(end + 1, &end, 10);
        n += (int)(b - a + 1);
        s = *end == ',' ? end + 1 : end;
    }
    return n;
}

static bool caches_sysfs(pb_sysinfo *s)
{
    for (int i = 0; i < 16; i++) {
        char path[128], level[16], type[32], size[32], line[32], shared[256];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
        if (!read_line(path, level, sizeof level)) break;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/type", i);
        if (!read_line(path, type, sizeof type)) break;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
        if (!read_line(path, size, sizeof size)) break;
        snprintf(path, sizeof path,
                 "/sys/devices/system/cpu/cpu0/cache/index%d/coherency_line_size", i);
        if (!read_line(path, line, sizeof line)) snprintf(line, sizeof line, "0");
        snprintf(path, sizeof path,
                 "/sys/devices/system/cpu/cpu0/cache/index%d/shared_cpu_list", i);
        int sh = read_line(path, shared, sizeof shared) ? count_cpu_list(shared) : 0;
        for (char *p = type; *p; p++) *p = (char)tolower((unsigned char)*p);
        add_cache(s, atoi(level), type, parse_size(size), atoi(line), sh);
    }
    return s->n_caches > 0;
}

/* Deterministic cache parameters: leaf 4 (Intel) or 0x8000001D (AMD with
 * topology extensions), same register layout. */
static bool caches_cpuid_det(pb_sysinfo *s, unsigned leaf)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned a, b, c, d;
        __cpuid_count(leaf, i, a, b, c, d);
        unsigned type = a & 31;
        if (type == 0) break;
        static const char *const names[] = {"", "data", "instruction", "unified"};
        int64_t line = (b & 0xfff) + 1, parts = ((b >> 12) & 0x3ff) + 1,
                ways = ((b >> 22) & 0x3ff) + 1, sets = (int64_t)c + 1;
        add_cache(s, (int)((a >> 5) & 7), type <= 3 ? names[type] : "unknown",
                  line * parts * ways * sets, (int)line, (int)((a >> 14) & 0xfff) + 1);
    }
    return s->n_caches > 0;
}

/* AMD's legacy leaves: L1 in 0x80000005, L2 and L3 in 0x80000006. */
static bool caches_cpuid_amd_legacy(pb_sysinfo *s)
{
    unsigned a, b, c, d;
    if (__get_cpuid_max(0x80000000, NULL) < 0x80000006) return false;
    __cpuid(0x80000005, a, b, c, d);
    add_cache(s, 1, "data", (int64_t)(c >> 24) * 1024, (int)(c & 0xff), 0);
    add_cache(s, 1, "instruction", (int64_t)(d >> 24) * 1024, (int)(d & 0xff), 0);
    __cpuid(0x80000006, a, b, c, d);
    add_cache(s, 2, "unified", (int64_t)(c >> 16) * 1024, (int)(c & 0xff), 0);
    add_cache(s, 3, "unified", (int64_t)(d >> 18) * 512 * 1024, (int)(d & 0xff), 0);
    return s->n_caches > 0;
}

static bool caches_sysconf(pb_sysinfo *s)
{
    add_cache(s, 1, "data", sysconf(_SC_LEVEL1_DCACHE_SIZE),
              (int)sysconf(_SC_LEVEL1_DCACHE_LINESIZE), 0);
    add_cache(s, 2, "unified", sysconf(_SC_LEVEL2_CACHE_SIZE),
              (int)sysconf(_SC_LEVEL2_CACHE_LINESIZE), 0);
    add_cache(s, 3, "unified", sysconf(_SC_LEVEL3_CACHE_SIZE),
              (int)sysconf(_SC_LEVEL3_CACHE_LINESIZE), 0);
    return s->n_caches > 0;
}

static void probe_caches(pb_sysinfo *s)
{
    unsigned a, b, c, d;
    unsigned max_ext = __get_cpuid_max(0x80000000, NULL);
    bool topoext = false;
    if (max_ext >= 0x80000001) {
        __cpuid(0x80000001, a, b, c, d);
        topoext = (c >> 22) & 1;
    }
    const char *src = "none";
    if (caches_sysfs(s))
        src = "sysfs";
    else if (!strcmp(s->cpu_vendor, "GenuineIntel") && __get_cpuid_max(0, NULL) >= 4 &&
             caches_cpuid_det(s, 4))
        src = "cpuid 4";
    else if (topoext && max_ext >= 0x8000001d && caches_cpuid_det(s, 0x8000001d))
        src = "cpuid 0x8000001d";
    else if (!strcmp(s->cpu_vendor, "AuthenticAMD") && caches_cpuid_amd_legacy(s))
        src = "cpuid 0x80000005/6";
    else if (caches_sysconf(s))
        src = "sysconf";
    snprintf(s->cache_source, sizeof s->cache_source, "%s", src);
}

static void probe_cpu(pb_sysinfo *s)
{
    unsigned a, b, c, d;
    __cpuid(0, a, b, c, d);
    memcpy(s->cpu_vendor, &b, 4);
    memcpy(s->cpu_vendor + 4, &d, 4);
    memcpy(s->cpu_vendor + 8, &c, 4);
    s->cpu_vendor[12] = '\0';
    __cpuid(1, a, b, c, d);
    int fam = (a >> 8) & 0xf, mod = (a >> 4) & 0xf;
    if (fam == 0xf) fam += (a >> 20) & 0xff;
    if (fam == 0x6 || fam >= 0xf) mod += ((a >> 16) & 0xf) << 4;
    s->cpu_family = fam;
    s->cpu_model_id = mod;
    s->cpu_stepping = a & 0xf;
    s->hypervisor = (c >> 31) & 1;
    if (__get_cpuid_max(0x80000000, NULL) >= 0x80000004) {
        unsigned r[12];
        for (unsigned i = 0; i < 3; i++)
            __cpuid(0x80000002 + i, r[4 * i], r[4 * i + 1], r[4 * i + 2], r[4 * i + 3]);
        memcpy(s->cpu_model, r, 48);
        s->cpu_model[48] = '\0';
        trim(s->cpu_model);
    }
    if (!s->cpu_model[0] && !cpuinfo_field("model name", s->cpu_model, sizeof s->cpu_model))
        snprintf(s->cpu_model, sizeof s->cpu_model, "unknown");
    if (!cpuinfo_field("flags", s->cpu_flags, sizeof s->cpu_flags)) s->cpu_flags[0] = '\0';
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    s->logical_cpus = n > 0 ? (int)n : 1;
}

/* First line of `git -C dir ARGS` output, false on any failure. */
static bool git_line(const char *dir, const char *args, char *buf, size_t len, bool *any)
{
    if (strchr(dir, '\'')) return false; /* never build a broken command */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "git -C '%s' %s 2>/dev/null", dir, args);
    FILE *p = popen(cmd, "r");
    if (!p) return false;
    char line[256];
    bool got = fgets(line, sizeof line, p) != NULL;
    if (got && buf) {
        scopy(buf, len, line);
        trim(buf);
    }
    if (any) *any = got;
    while (fgets(line, sizeof line, p)) {
    }
    return pclose(p) == 0;
}

static void probe_git(pb_sysinfo *s)
{
    snprintf(s->source_dir, sizeof s->source_dir, "%s", PB_SOURCE_DIR);
    snprintf(s->commit, sizeof s->commit, "unknown");
    snprintf(s->commit_short, sizeof s->commit_short, "unknown");
    s->dirty = false;
    char full[64];
    const bool have_now = git_line(s->source_dir, "rev-parse HEAD", full, sizeof full, NULL) &&
                          strlen(full) >= 12;
    if (strlen(PB_BUILD_COMMIT) >= 12) {
        /* the commit the binary was built from: the source tree may have
         * moved on since (a checkout, a commit, a binary kept aside) */
        scopy(s->commit, sizeof s->commit, PB_BUILD_COMMIT);
        snprintf(s->commit_short, sizeof s->commit_short, "%.12s", PB_BUILD_COMMIT);
        s->dirty = PB_BUILD_DIRTY != 0;
        if (have_now && strcmp(full, PB_BUILD_COMMIT) != 0)
            fprintf(stderr, "poolbench: built from commit %.12s; %s is now at %.12s\n",
                    PB_BUILD_COMMIT, s->source_dir, full);
        return;
    }
    if (!have_now) return;
    scopy(s->commit, sizeof s->commit, full);
    snprintf(s->commit_short, sizeof s->commit_short, "%.12s", full);
    bool any = false;
    /* tracked files only: an untracked results/ or build/ is not a change */
    if (git_line(s->source_dir, "status --porcelain --untracked-files=no", NULL, 0, &any))
        s->dirty = any;
}

static void probe_host(pb_sysinfo *s)
{
    char h[256];
    if (gethostname(h, sizeof h) != 0) snprintf(h, sizeof h, "unknown");
    h[sizeof h - 1] = '\0';
    /* a directory name: keep [A-Za-z0-9._-], never "." or ".." */
    size_t j = 0;
    for (size_t i = 0; h[i] && j + 1 < sizeof s->host; i++) {
        unsigned char c = (unsigned char)h[i];
        s->host[j++] = (char)(isalnum(c) || c == '-' || c == '_' || c == '.' ? c : '_');
    }
    s->host[j] = '\0';
    if (!j || !strcmp(s->host, ".") || !strcmp(s->host, ".."))
        snprintf(s->host, sizeof s->host, "unknown");
}

pb_status pb_sysinfo_probe(pb_sysinfo *out)
{
    if (!out) return PB_ERR_NULL;
    memset(out, 0, sizeof *out);
    probe_host(out);
    probe_cpu(out);
    probe_caches(out);
    out->isa = pb_cpu_isa();
    const char *env = getenv("POOLBENCH_MAX_ISA");
    snprintf(out->isa_env, sizeof out->isa_env, "%s", env ? env : "");
    probe_git(out);
    return PB_OK;
}

int pb_sysinfo_perf_paranoid(void)
{
    char buf[32];
    if (!read_line("/proc/sys/kernel/perf_event_paranoid", buf, sizeof buf)) return INT32_MIN;
    return atoi(buf);
}
