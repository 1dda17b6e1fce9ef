/*
 * What the results record says about the machine, the build and the
 * source: CPU model and flags, cache sizes, the ISA probe, compiler and
 * exact flags (baked in by the Makefile), the commit and its dirty flag
 * (asked of git at run time in the source tree the binary was built from).
 */
#ifndef POOLBENCH_SYSINFO_H
#define POOLBENCH_SYSINFO_H

#include <stdbool.h>
#include <stdint.h>

#include "pool.h"

#define PB_MAX_CACHES 8

typedef struct pb_cache_info {
    int level;           /* 1, 2, 3 */
    char type[16];       /* "data", "instruction", "unified" */
    int64_t size_bytes;  /* as the source reports it (a hypervisor may
                            report the whole socket's L3) */
    int line_bytes;      /* 0 if unknown */
    int shared_cpus;     /* logical CPUs sharing it, 0 if unknown */
} pb_cache_info;

typedef struct pb_sysinfo {
    char host[64];          /* gethostname(), made safe for a path */
    char cpu_vendor[16];    /* cpuid vendor string */
    char cpu_model[96];     /* cpuid brand string, else /proc/cpuinfo */
    int cpu_family, cpu_model_id, cpu_stepping;
    int logical_cpus;       /* online */
    bool hypervisor;        /* cpuid leaf 1 ECX bit 31 */
    char cpu_flags[2048];   /* /proc/cpuinfo "flags", "" if unreadable */
    pb_cache_info caches[PB_MAX_CACHES];
    int n_caches;
    char cache_source[48];  /* "sysfs", "cpuid 0x8000001d", "cpuid 4",
                               "cpuid 0x80000005/6", "sysconf", "none" */
    pb_isa isa;             /* pb_cpu_isa() */
    char isa_env[32];       /* POOLBENCH_MAX_ISA, "" if unset */
    char commit[48];        /* full hash, "unknown" without git */
    char commit_short[16];  /* 12 hex digits, "unknown" */
    bool dirty;             /* tracked files differ from the commit */
    char source_dir[256];   /* where git was asked */
} pb_sysinfo;

/* Fills *out.  Never fails on a missing source (it says "unknown" or
 * leaves the field empty and names the source); PB_ERR_NULL on NULL. */
pb_status pb_sysinfo_probe(pb_sysinfo *out);

/* Build facts baked in by the Makefile (empty strings when built without
 * it): compiler command and version, flags of each kind of file. */
typedef struct pb_buildinfo {
    const char *cc, *cc_version;
    const char *cflags, *cppflags;
    const char *cxx, *cxxflags;
    const char *isa_avx2_flags, *isa_avx512_flags, *openmp_flags;
    const char *ldlibs;
    const char *gbench_version;
} pb_buildinfo;
const pb_buildinfo *pb_buildinfo_get(void);

/* `perf_event_paranoid` as a number, or INT32_MIN when unreadable. */
int pb_sysinfo_perf_paranoid(void);

#endif
