/* Hardware counters through PAPI; see counters.h.  Without PAPI at build
 * time (no PB_HAVE_PAPI) the same API opens handles with 0 events whose
 * status says so, so callers need no #ifdef. */
#include "counters.h"

#include <cpuid.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef PB_HAVE_PAPI
#include <papi.h>
#endif

#define STATUS_LEN 1024
#define NAME_LEN 128

struct pb_counters {
    int n;                            /* events in the event set */
    char names[PB_COUNTERS_MAX][NAME_LEN];
    int eventset;                     /* PAPI event set, -1 when n == 0 */
    bool running;
    char status[STATUS_LEN];
};

static _Thread_local char open_error[256];

const char *pb_counters_open_error(void) { return open_error; }

static pb_status open_fail(pb_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(open_error, sizeof open_error, fmt, ap);
    va_end(ap);
    return st;
}

/* Appends to a fixed buffer, truncating (the status is one line of
 * context, never parsed for values). */
static void append(char *buf, size_t len, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used + 1 >= len) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

/* "; perf_event_paranoid=<v>; hypervisor: yes (<vendor>)|no": the two facts
 * that explain missing counters on Linux x86. */
static void append_environment(char *buf, size_t len)
{
    char paranoid[32] = "unreadable";
    FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
    if (f) {
        if (fgets(paranoid, sizeof paranoid, f)) paranoid[strcspn(paranoid, "\r\n")] = '\0';
        else snprintf(paranoid, sizeof paranoid, "unreadable");
        fclose(f);
    }
    unsigned a = 0, b = 0, c = 0, d = 0;
    bool hv = __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 31)); /* ECX.31: hypervisor */
    append(buf, len, "; perf_event_paranoid=%s; hypervisor: %s", paranoid, hv ? "yes" : "no");
    if (hv) {
        /* leaf 0x40000000: the hypervisor's vendor signature in EBX ECX EDX */
        unsigned r[4];
        __cpuid(0x40000000, r[0], r[1], r[2], r[3]);
        char vendor[13];
        memcpy(vendor, &r[1], 4);
        memcpy(vendor + 4, &r[2], 4);
        memcpy(vendor + 8, &r[3], 4);
        vendor[12] = '\0';
        size_t n = strlen(vendor);
        while (n > 0 && (vendor[n - 1] == ' ' || (unsigned char)vendor[n - 1] < 0x20))
            vendor[--n] = '\0';
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)vendor[i] < 0x20 || (unsigned char)vendor[i] > 0x7e) vendor[i] = '?';
        if (n > 0) append(buf, len, " (%s)", vendor);
    }
}

/* Splits a comma list into names; PB_ERR_PARSE on an empty item or too
 * many. */
static pb_status split_names(const char *spec, char names[][NAME_LEN], int *count)
{
    int n = 0;
    const char *p = spec;
    for (;;) {
        size_t len = strcspn(p, ",");
        if (len == 0) return open_fail(PB_ERR_PARSE, "counters: empty event name in \"%s\"", spec);
        if (len >= NAME_LEN)
            return open_fail(PB_ERR_PARSE, "counters: event name too long in \"%s\"", spec);
        if (n == PB_COUNTERS_MAX)
            return open_fail(PB_ERR_PARSE, "counters: more than %d events in \"%s\"",
                             PB_COUNTERS_MAX, spec);
        memcpy(names[n], p, len);
        names[n][len] = '\0';
        n++;
        if (p[len] == '\0') break;
        p += len + 1;
    }
    *count = n;
    return PB_OK;
}

static pb_counters *new_handle(void)
{
    pb_counters *c = calloc(1, sizeof *c);
    if (c) c->eventset = -1;
    return c;
}

#ifdef PB_HAVE_PAPI

static pthread_once_t papi_once = PTHREAD_ONCE_INIT;
static int papi_init_ret; /* PAPI_VER_CURRENT on success */

static unsigned long thread_id(void) { return (unsigned long)pthread_self(); }

static void papi_init(void)
{
    papi_init_ret = PAPI_library_init(PAPI_VER_CURRENT);
    /* event sets are per thread: tell PAPI how to tell threads apart */
    if (papi_init_ret == PAPI_VER_CURRENT && PAPI_thread_init(thread_id) != PAPI_OK)
        papi_init_ret = PAPI_EMISC;
}

static bool papi_ready(void)
{
    pthread_once(&papi_once, papi_init);
    return papi_init_ret == PAPI_VER_CURRENT;
}

static const char *init_error(void)
{
    return papi_init_ret < 0 ? PAPI_strerror(papi_init_ret)
                             : "PAPI_library_init: header and library versions differ";
}

/* The CPU counter component (perf_event on Linux); -1 if none is compiled in. */
static int cpu_component(void)
{
    int n = PAPI_num_components();
    for (int i = 0; i < n; i++) {
        const PAPI_component_info_t *ci = PAPI_get_component_info(i);
        if (ci && strcmp(ci->name, "perf_event") == 0) return i;
    }
    return n > 0 ? 0 : -1;
}

/* True when the CPU component is enabled with at least one counter; else
 * appends PAPI's own explanation to buf. */
static bool cpu_counters(char *buf, size_t len)
{
    int cidx = cpu_component();
    const PAPI_component_info_t *ci = cidx >= 0 ? PAPI_get_component_info(cidx) : NULL;
    if (!ci) {
        append(buf, len, "PAPI has no CPU counter component");
        return false;
    }
    int hw = PAPI_num_cmp_hwctrs(cidx);
    if (!ci->disabled && hw > 0) return true;
    if (ci->disabled)
        append(buf, len, "PAPI component %s disabled: %s (%s); ", ci->name, ci->disabled_reason,
               PAPI_strerror(ci->disabled));
    append(buf, len, "PAPI reports %d hardware counters", hw > 0 ? hw : 0);
    return false;
}

pb_status pb_counters_lookup(const char *name, int *code)
{
    if (!name || !code) return PB_ERR_NULL;
    if (!papi_ready()) return PB_ERR_LIBRARY;
    int c = 0;
    if (PAPI_event_name_to_code(name, &c) != PAPI_OK) return PB_ERR_UNKNOWN_NAME;
    *code = c;
    return PB_OK;
}

static const char *const default_events[] = {"PAPI_TOT_CYC", "PAPI_TOT_INS", "PAPI_L1_DCM",
                                             "PAPI_L2_DCM", "PAPI_L3_TCM"};

pb_status pb_counters_open(const char *spec, pb_counters **out)
{
    open_error[0] = '\0';
    if (!out) return open_fail(PB_ERR_NULL, "counters: NULL output handle");
    *out = NULL;
    if (!spec) return open_fail(PB_ERR_NULL, "counters: NULL spec");
    pb_counters *c = new_handle();
    if (!c) return open_fail(PB_ERR_NOMEM, "counters: out of memory");
    if (strcmp(spec, "none") == 0) {
        snprintf(c->status, sizeof c->status, "unavailable: not requested (none)");
        *out = c;
        return PB_OK;
    }
    bool is_default = strcmp(spec, "papi") == 0;
    char names[PB_COUNTERS_MAX][NAME_LEN];
    int count = 0;
    if (is_default) {
        count = (int)(sizeof default_events / sizeof default_events[0]);
        for (int i = 0; i < count; i++) snprintf(names[i], NAME_LEN, "%s", default_events[i]);
    } else {
        pb_status st = split_names(spec, names, &count);
        if (st != PB_OK) {
            free(c);
            return st;
        }
    }
    if (!papi_ready()) {
        snprintf(c->status, sizeof c->status, "unavailable: %s", init_error());
        append_environment(c->status, sizeof c->status);
        *out = c;
        return PB_OK;
    }
    char why[STATUS_LEN] = "";
    bool have_cpu = cpu_counters(why, sizeof why);

    /* resolve every name first: a typo is an error on any machine */
    int codes[PB_COUNTERS_MAX];
    bool resolved[PB_COUNTERS_MAX];
    for (int i = 0; i < count; i++) {
        int r = PAPI_event_name_to_code(names[i], &codes[i]);
        resolved[i] = r == PAPI_OK;
        if (resolved[i]) continue;
        /* presets resolve whatever the hardware; native names only through
         * an enabled component */
        if (strncmp(names[i], "PAPI_", 5) == 0 || have_cpu) {
            free(c);
            return open_fail(PB_ERR_UNKNOWN_NAME, "counters: PAPI does not know event \"%s\": %s",
                             names[i], PAPI_strerror(r));
        }
    }

    char skipped[STATUS_LEN] = "";
    int es = PAPI_NULL;
    int r = PAPI_create_eventset(&es);
    if (r != PAPI_OK) {
        free(c);
        return open_fail(PB_ERR_LIBRARY, "counters: PAPI_create_eventset: %s", PAPI_strerror(r));
    }
    for (int i = 0; i < count; i++) {
        r = resolved[i] ? PAPI_query_event(codes[i]) : PAPI_ENOEVNT;
        if (r == PAPI_OK) r = PAPI_add_event(es, codes[i]);
        if (r == PAPI_OK) {
            snprintf(c->names[c->n++], NAME_LEN, "%s", names[i]);
            continue;
        }
        if (!is_default && have_cpu) {
            PAPI_cleanup_eventset(es);
            PAPI_destroy_eventset(&es);
            free(c);
            return open_fail(PB_ERR_UNSUPPORTED, "counters: cannot count \"%s\" here: %s",
                             names[i], PAPI_strerror(r));
        }
        append(skipped, sizeof skipped, "%s%s (%s)", skipped[0] ? ", " : "", names[i],
               resolved[i] ? PAPI_strerror(r) : "cannot be resolved without the CPU component");
    }
    if (c->n == 0) {
        PAPI_cleanup_eventset(es);
        PAPI_destroy_eventset(&es);
        /* without the CPU component its reason covers every event; with
         * it, each event's own reason is the explanation */
        if (have_cpu)
            append(c->status, sizeof c->status, "unavailable: not countable: %s", skipped);
        else
            append(c->status, sizeof c->status, "unavailable: %s", why);
        append_environment(c->status, sizeof c->status);
    } else {
        c->eventset = es;
        snprintf(c->status, sizeof c->status, "available: %d events (", c->n);
        for (int i = 0; i < c->n; i++)
            append(c->status, sizeof c->status, "%s%s", i ? "," : "", c->names[i]);
        append(c->status, sizeof c->status, ")");
        if (skipped[0]) append(c->status, sizeof c->status, "; not countable: %s", skipped);
    }
    *out = c;
    return PB_OK;
}

pb_status pb_counters_start(pb_counters *c)
{
    if (!c) return PB_ERR_NULL;
    if (c->n == 0) return PB_ERR_UNSUPPORTED;
    if (PAPI_start(c->eventset) != PAPI_OK) return PB_ERR_LIBRARY;
    c->running = true;
    return PB_OK;
}

pb_status pb_counters_stop(pb_counters *c, long long *values)
{
    if (!c || !values) return PB_ERR_NULL;
    if (c->n == 0) return PB_ERR_UNSUPPORTED;
    if (!c->running) return PB_ERR_LIBRARY;
    long long tmp[PB_COUNTERS_MAX];
    int r = PAPI_stop(c->eventset, tmp);
    c->running = false;
    if (r != PAPI_OK) return PB_ERR_LIBRARY;
    memcpy(values, tmp, (size_t)c->n * sizeof *values);
    return PB_OK;
}

void pb_counters_close(pb_counters *c)
{
    if (!c) return;
    if (c->eventset != -1) {
        if (c->running) {
            long long tmp[PB_COUNTERS_MAX];
            PAPI_stop(c->eventset, tmp);
        }
        PAPI_cleanup_eventset(c->eventset);
        PAPI_destroy_eventset(&c->eventset);
    }
    free(c);
}

#else /* !PB_HAVE_PAPI */

pb_status pb_counters_lookup(const char *name, int *code)
{
    if (!name || !code) return PB_ERR_NULL;
    return PB_ERR_LIBRARY;
}

pb_status pb_counters_open(const char *spec, pb_counters **out)
{
    open_error[0] = '\0';
    if (!out) return open_fail(PB_ERR_NULL, "counters: NULL output handle");
    *out = NULL;
    if (!spec) return open_fail(PB_ERR_NULL, "counters: NULL spec");
    if (strcmp(spec, "none") != 0 && strcmp(spec, "papi") != 0) {
        char names[PB_COUNTERS_MAX][NAME_LEN];
        int count;
        pb_status st = split_names(spec, names, &count);
        if (st != PB_OK) return st;
    }
    pb_counters *c = new_handle();
    if (!c) return open_fail(PB_ERR_NOMEM, "counters: out of memory");
    if (strcmp(spec, "none") == 0) {
        snprintf(c->status, sizeof c->status, "unavailable: not requested (none)");
    } else {
        snprintf(c->status, sizeof c->status,
                 "unavailable: poolbench was built without PAPI (libpapi-dev not installed)");
        append_environment(c->status, sizeof c->status);
    }
    *out = c;
    return PB_OK;
}

pb_status pb_counters_start(pb_counters *c) { return c ? PB_ERR_UNSUPPORTED : PB_ERR_NULL; }

pb_status pb_counters_stop(pb_counters *c, long long *values)
{
    return c && values ? PB_ERR_UNSUPPORTED : PB_ERR_NULL;
}

void pb_counters_close(pb_counters *c) { free(c); }

#endif

int pb_counters_count(const pb_counters *c) { return c ? c->n : 0; }

const char *pb_counters_event(const pb_counters *c, int i)
{
    return c && i >= 0 && i < c->n ? c->names[i] : NULL;
}

const char *pb_counters_status(const pb_counters *c) { return c ? c->status : "invalid handle"; }
