/* CPU feature probe, done once: cpuid bits AND the OS's XSAVE state (XCR0),
 * since a CPU with AVX-512 under an OS that does not save zmm registers
 * must not run AVX-512 code.  POOLBENCH_MAX_ISA caps the result so a user
 * can reproduce a lower-ISA run on a bigger machine. */
#include "pool.h"

#include <cpuid.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const isa_names[PB_ISA_COUNT] = {"baseline", "avx2", "avx512"};

const char *pb_isa_name(pb_isa i) { return (unsigned)i < PB_ISA_COUNT ? isa_names[i] : "?"; }

pb_status pb_isa_parse(const char *s, pb_isa *out)
{
    if (!s || !out) return PB_ERR_NULL;
    for (unsigned i = 0; i < PB_ISA_COUNT; i++)
        if (strcmp(s, isa_names[i]) == 0) {
            *out = (pb_isa)i;
            return PB_OK;
        }
    return PB_ERR_UNKNOWN_NAME;
}

static struct {
    pb_isa hw;             /* what CPU + OS support */
    pb_isa cap;            /* after POOLBENCH_MAX_ISA */
    char hw_why[PB_ISA_COUNT][96]; /* why each ISA above hw is missing */
    char cap_why[96];
} cpu;

static unsigned long long xgetbv0(void)
{
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static void probe_once(void)
{
    unsigned a, b, c, d;
    unsigned max_leaf = __get_cpuid_max(0, NULL);
    bool osxsave = false, avx = false, fma = false, avx2 = false;
    bool f512 = false, bw512 = false, vl512 = false;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        osxsave = c & bit_OSXSAVE;
        avx = c & bit_AVX;
        fma = c & bit_FMA;
    }
    if (max_leaf >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        avx2 = b & bit_AVX2;
        f512 = b & bit_AVX512F;
        bw512 = b & bit_AVX512BW;
        vl512 = b & bit_AVX512VL;
    }
    unsigned long long xcr0 = osxsave ? xgetbv0() : 0;
    bool os_ymm = (xcr0 & 0x6) == 0x6;    /* SSE + AVX state */
    bool os_zmm = (xcr0 & 0xe6) == 0xe6;  /* + opmask, ZMM_Hi256, Hi16_ZMM */

    cpu.hw = PB_ISA_BASELINE;
    if (!(avx && avx2 && fma))
        snprintf(cpu.hw_why[PB_ISA_AVX2], 96, "CPU lacks %s", !avx2 ? "avx2" : !fma ? "fma" : "avx");
    else if (!os_ymm)
        snprintf(cpu.hw_why[PB_ISA_AVX2], 96, "OS does not save ymm state (XCR0)");
    else
        cpu.hw = PB_ISA_AVX2;
    if (cpu.hw < PB_ISA_AVX2)
        snprintf(cpu.hw_why[PB_ISA_AVX512], 96, "%s", cpu.hw_why[PB_ISA_AVX2]);
    else if (!(f512 && bw512 && vl512))
        snprintf(cpu.hw_why[PB_ISA_AVX512], 96, "CPU lacks %s",
                 !f512 ? "avx512f" : !bw512 ? "avx512bw" : "avx512vl");
    else if (!os_zmm)
        snprintf(cpu.hw_why[PB_ISA_AVX512], 96, "OS does not save zmm/opmask state (XCR0)");
    else
        cpu.hw = PB_ISA_AVX512;

    cpu.cap = cpu.hw;
    const char *env = getenv("POOLBENCH_MAX_ISA");
    pb_isa lim;
    if (env && *env) {
        if (pb_isa_parse(env, &lim) == PB_OK) {
            if (lim < cpu.cap) {
                cpu.cap = lim;
                snprintf(cpu.cap_why, sizeof cpu.cap_why, "capped by POOLBENCH_MAX_ISA=%s", env);
            }
        } else {
            /* a typo must not silently run at full ISA */
            fprintf(stderr,
                    "poolbench: warning: POOLBENCH_MAX_ISA=%s is not one of baseline, avx2, "
                    "avx512; using baseline\n", env);
            cpu.cap = PB_ISA_BASELINE;
            snprintf(cpu.cap_why, sizeof cpu.cap_why, "capped by invalid POOLBENCH_MAX_ISA=%s",
                     env);
        }
    }
}

/* pthread_once: kernels may ask from several OpenMP threads at once */
static void probe(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, probe_once);
}

pb_isa pb_cpu_isa(void)
{
    probe();
    return cpu.cap;
}

bool pb_cpu_can_run(pb_isa isa, const char **why)
{
    probe();
    if ((unsigned)isa >= PB_ISA_COUNT) {
        if (why) *why = "unknown ISA";
        return false;
    }
    if (isa > cpu.hw) {
        if (why) *why = cpu.hw_why[isa];
        return false;
    }
    if (isa > cpu.cap) {
        if (why) *why = cpu.cap_why;
        return false;
    }
    return true;
}
