/* OpenMP threads for the harness (see par.h). */
#include "par.h"

#include <errno.h>
#include <omp.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

pb_status pb_par_run(int threads, pb_par_fn fn, void *ctx)
{
    if (!fn) return PB_ERR_NULL;
    if (threads < 1) return PB_ERR_PARSE;
    if (threads == 1) {
        fn(ctx, 0, 1);
        return PB_OK;
    }
#pragma omp parallel num_threads(threads)
    fn(ctx, omp_get_thread_num(), omp_get_num_threads());
    return PB_OK;
}

static struct {
    cpu_set_t orig;  /* the process's mask at the first call */
    int cpus[CPU_SETSIZE];
    int ncpus;
} aff;

static void aff_once(void)
{
    CPU_ZERO(&aff.orig);
    if (sched_getaffinity(0, sizeof aff.orig, &aff.orig) != 0) {
        /* no mask to read: treat CPU 0 as the only one (never pins badly) */
        CPU_SET(0, &aff.orig);
    }
    aff.ncpus = 0;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &aff.orig)) aff.cpus[aff.ncpus++] = c;
}

static void aff_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, aff_once);
}

int pb_par_cpus(void)
{
    aff_init();
    return aff.ncpus > 0 ? aff.ncpus : 1;
}

void pb_par_cpu_list(char *buf, size_t len)
{
    if (!buf || len == 0) return;
    aff_init();
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < aff.ncpus && at < len; i++) {
        int j = i;
        while (j + 1 < aff.ncpus && aff.cpus[j + 1] == aff.cpus[j] + 1) j++;
        int w = j > i ? snprintf(buf + at, len - at, "%s%d-%d", at ? "," : "", aff.cpus[i],
                                 aff.cpus[j])
                      : snprintf(buf + at, len - at, "%s%d", at ? "," : "", aff.cpus[i]);
        if (w < 0) break;
        at += (size_t)w;
        i = j;
    }
}

static int pin_self(int cpu)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    return sched_setaffinity(0, sizeof one, &one) == 0 ? 0 : errno;
}

pb_status pb_par_pin(int threads, char *msg, size_t msg_len)
{
    aff_init();
    if (threads < 1 || threads > aff.ncpus) {
        if (msg) snprintf(msg, msg_len, "cannot pin %d threads to %d allowed CPUs", threads,
                          aff.ncpus);
        return PB_ERR_PARSE;
    }
    int err = 0;
    if (threads == 1) {
        err = pin_self(aff.cpus[0]);
    } else {
        /* each team member pins itself: sched_setaffinity(0) acts on the
         * calling thread only */
        int errs[CPU_SETSIZE] = {0};
#pragma omp parallel num_threads(threads)
        {
            int t = omp_get_thread_num();
            errs[t] = pin_self(aff.cpus[t]);
        }
        for (int t = 0; t < threads; t++)
            if (errs[t]) err = errs[t];
    }
    if (err) {
        if (msg) snprintf(msg, msg_len, "sched_setaffinity: %s", strerror(err));
        return PB_ERR_LIBRARY;
    }
    return PB_OK;
}

pb_status pb_par_pin_set(int threads, char *msg, size_t msg_len)
{
    aff_init();
    if (threads < 1 || threads > aff.ncpus) {
        if (msg) snprintf(msg, msg_len, "cannot pin %d threads to %d allowed CPUs", threads,
                          aff.ncpus);
        return PB_ERR_PARSE;
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int t = 0; t < threads; t++) CPU_SET(aff.cpus[t], &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
        if (msg) snprintf(msg, msg_len, "sched_setaffinity: %s", strerror(errno));
        return PB_ERR_LIBRARY;
    }
    return PB_OK;
}

void pb_par_unpin(void)
{
    aff_init();
    (void)sched_setaffinity(0, sizeof aff.orig, &aff.orig);
}

void pb_par_info_get(pb_par_info *out)
{
    if (!out) return;
    static const char *const bind[] = {"false", "true", "master", "close", "spread"};
    int b = (int)omp_get_proc_bind();
    out->max_threads = omp_get_max_threads();
    out->proc_bind = b >= 0 && b < 5 ? bind[b] : "unknown";
    out->dynamic = omp_get_dynamic();
    out->openmp_version = _OPENMP;
}
