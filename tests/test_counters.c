/* PAPI counters against the real library (no mock): initialization, event
 * lookup, spec errors, and whichever path this machine takes: with a PMU,
 * start/stop must count positive cycles; without one (this project's VMs:
 * PAPI reports 0 hardware counters), 0 events and a status that quotes
 * PAPI's own reason, perf_event_paranoid and the hypervisor bit.  The test
 * prints which path it took. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "counters.h"

#ifdef PB_HAVE_PAPI
#include <cpuid.h>
#include <papi.h>

/* What PAPI itself says about the CPU counter component, asked directly. */
static const PAPI_component_info_t *cpu_component_info(int *hwctrs)
{
    if (!PAPI_is_initialized()) ck_assert_int_eq(PAPI_library_init(PAPI_VER_CURRENT), PAPI_VER_CURRENT);
    for (int i = 0; i < PAPI_num_components(); i++) {
        const PAPI_component_info_t *ci = PAPI_get_component_info(i);
        if (ci && strcmp(ci->name, "perf_event") == 0) {
            *hwctrs = PAPI_num_cmp_hwctrs(i);
            return ci;
        }
    }
    *hwctrs = 0;
    return NULL;
}

START_TEST(test_lookup)
{
    int code = 0;
    /* resolves on any machine: presets are PAPI's own table */
    ck_assert_int_eq(pb_counters_lookup("PAPI_TOT_CYC", &code), PB_OK);
    ck_assert_int_eq(code, PAPI_TOT_CYC);
    ck_assert_int_eq(pb_counters_lookup("PAPI_L1_DCM", &code), PB_OK);
    ck_assert_int_eq(code, PAPI_L1_DCM);
    ck_assert_int_eq(pb_counters_lookup("PAPI_NO_SUCH_EVENT", &code), PB_ERR_UNKNOWN_NAME);
    ck_assert_int_eq(pb_counters_lookup("", &code), PB_ERR_UNKNOWN_NAME);
    ck_assert_int_eq(pb_counters_lookup(NULL, &code), PB_ERR_NULL);
    ck_assert_int_eq(pb_counters_lookup("PAPI_TOT_CYC", NULL), PB_ERR_NULL);
}
END_TEST

START_TEST(test_spec_errors)
{
    pb_counters *c = (pb_counters *)&c;
    ck_assert_int_eq(pb_counters_open("PAPI_TOT_CYC,PAPI_BOGUS_EVENT", &c), PB_ERR_UNKNOWN_NAME);
    ck_assert_ptr_null(c);
    ck_assert_ptr_nonnull(strstr(pb_counters_open_error(), "\"PAPI_BOGUS_EVENT\""));
    ck_assert_int_eq(pb_counters_open("PAPI_TOT_CYC,,PAPI_TOT_INS", &c), PB_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(pb_counters_open_error(), "empty event name"));
    ck_assert_int_eq(pb_counters_open("", &c), PB_ERR_PARSE);
    char many[400] = "PAPI_TOT_CYC";
    for (int i = 1; i <= PB_COUNTERS_MAX; i++) strcat(many, ",PAPI_TOT_CYC");
    ck_assert_int_eq(pb_counters_open(many, &c), PB_ERR_PARSE);
    ck_assert_int_eq(pb_counters_open(NULL, &c), PB_ERR_NULL);
    ck_assert_int_eq(pb_counters_open("papi", NULL), PB_ERR_NULL);
}
END_TEST

START_TEST(test_none)
{
    pb_counters *c = NULL;
    ck_assert_int_eq(pb_counters_open("none", &c), PB_OK);
    ck_assert_str_eq(pb_counters_open_error(), "");
    ck_assert_int_eq(pb_counters_count(c), 0);
    ck_assert_str_eq(pb_counters_status(c), "unavailable: not requested (none)");
    ck_assert_int_eq(pb_counters_start(c), PB_ERR_UNSUPPORTED);
    pb_counters_close(c);
    ck_assert_int_eq(pb_counters_count(NULL), 0);
    ck_assert_ptr_null(pb_counters_event(NULL, 0));
    ck_assert_str_eq(pb_counters_status(NULL), "invalid handle");
    ck_assert_int_eq(pb_counters_start(NULL), PB_ERR_NULL);
    pb_counters_close(NULL);
}
END_TEST

/* The path this machine takes, for the default set and an explicit one. */
START_TEST(test_this_machine)
{
    static const char *const specs[] = {"papi", "PAPI_TOT_CYC"};
    const char *spec = specs[_i];
    int hw = 0;
    const PAPI_component_info_t *ci = cpu_component_info(&hw);
    pb_counters *c = NULL;
    pb_status st = pb_counters_open(spec, &c);
    if (st == PB_ERR_UNSUPPORTED) {
        /* a PMU, but this explicitly listed event cannot be added (e.g.
         * perf_event_paranoid): an error that names PAPI's reason */
        printf("counters [%s]: PMU present, event refused: %s\n", spec, pb_counters_open_error());
        ck_assert(ci && !ci->disabled && hw > 0);
        ck_assert_ptr_nonnull(strstr(pb_counters_open_error(), "cannot count"));
        return;
    }
    ck_assert_int_eq(st, PB_OK);
    const char *status = pb_counters_status(c);
    long long v[PB_COUNTERS_MAX];
    if (ci && !ci->disabled && hw > 0 && pb_counters_count(c) > 0) {
        printf("counters [%s]: PMU path: %s\n", spec, status);
        ck_assert_ptr_nonnull(strstr(status, "available: "));
        ck_assert_str_eq(pb_counters_event(c, 0), "PAPI_TOT_CYC");
        ck_assert_ptr_null(pb_counters_event(c, pb_counters_count(c)));
        ck_assert_int_eq(pb_counters_start(c), PB_OK);
        volatile double x = 0.0;
        for (int i = 0; i < 1000000; i++) x += i * 0.5;
        ck_assert_int_eq(pb_counters_stop(c, v), PB_OK);
        printf("counters [%s]: PAPI_TOT_CYC = %lld over a 1e6-iteration loop\n", spec, v[0]);
        ck_assert(v[0] > 0);
        ck_assert_int_eq(pb_counters_stop(c, v), PB_ERR_LIBRARY); /* not running */
    } else {
        printf("counters [%s]: no-counter path: %s\n", spec, status);
        ck_assert_int_eq(pb_counters_count(c), 0);
        ck_assert_ptr_null(pb_counters_event(c, 0));
        ck_assert_msg(strncmp(status, "unavailable: ", 13) == 0, "%s", status);
        /* PAPI's own words, as PAPI reports them to us directly */
        if (ci && ci->disabled) ck_assert_ptr_nonnull(strstr(status, ci->disabled_reason));
        char want[64];
        snprintf(want, sizeof want, "PAPI reports %d hardware counters", hw > 0 ? hw : 0);
        if (ci && (ci->disabled || hw <= 0)) ck_assert_ptr_nonnull(strstr(status, want));
        FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
        if (f) {
            char p[32] = "";
            ck_assert_ptr_nonnull(fgets(p, sizeof p, f));
            fclose(f);
            p[strcspn(p, "\n")] = '\0';
            snprintf(want, sizeof want, "perf_event_paranoid=%s;", p);
            ck_assert_ptr_nonnull(strstr(status, want));
        }
        unsigned a, b, cx, d;
        bool hv = __get_cpuid(1, &a, &b, &cx, &d) && (cx & (1u << 31));
        ck_assert_ptr_nonnull(strstr(status, hv ? "hypervisor: yes" : "hypervisor: no"));
        ck_assert(strchr(status, '\n') == NULL);
        /* nothing to count, nothing made up */
        ck_assert_int_eq(pb_counters_start(c), PB_ERR_UNSUPPORTED);
        ck_assert_int_eq(pb_counters_stop(c, v), PB_ERR_UNSUPPORTED);
    }
    ck_assert_int_eq(pb_counters_stop(c, NULL), PB_ERR_NULL);
    pb_counters_close(c);
}
END_TEST

#endif /* PB_HAVE_PAPI */

/* Without PAPI the API still answers, and says why there is nothing. */
START_TEST(test_always_answers)
{
    pb_counters *c = NULL;
    ck_assert_int_eq(pb_counters_open("papi", &c), PB_OK);
    ck_assert_ptr_nonnull(c);
    const char *s = pb_counters_status(c);
    ck_assert(strncmp(s, "available: ", 11) == 0 || strncmp(s, "unavailable: ", 13) == 0);
#ifndef PB_HAVE_PAPI
    ck_assert_ptr_nonnull(strstr(s, "built without PAPI"));
#endif
    pb_counters_close(c);
}
END_TEST

Suite *pb_test_suite_counters(void)
{
    Suite *s = suite_create("counters");
    TCase *tc = tcase_create("papi");
    tcase_add_test(tc, test_always_answers);
#ifdef PB_HAVE_PAPI
    tcase_add_test(tc, test_lookup);
    tcase_add_test(tc, test_spec_errors);
    tcase_add_test(tc, test_none);
    tcase_add_loop_test(tc, test_this_machine, 0, 2);
#endif
    suite_add_tcase(s, tc);
    return s;
}
