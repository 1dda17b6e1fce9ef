/* Results records: atomic write, no overwrite, clean failure; the CSV and
 * the JSON context block. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json.h"
#include "results.h"

static char base[64];

static void make_base(void)
{
    snprintf(base, sizeof base, "/tmp/pb_results_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(base));
}

/* Names in dir (excluding . and ..), sorted, joined by ' '. */
static void list_dir(const char *dir, char *out, size_t len)
{
    struct dirent **ents;
    out[0] = '\0';
    int n = scandir(dir, &ents, NULL, alphasort);
    ck_assert_int_ge(n, 0);
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(ents[i]->d_name, ".") && strcmp(ents[i]->d_name, ".."))
            at += (size_t)snprintf(out + at, len - at, "%s%s", at ? " " : "", ents[i]->d_name);
        free(ents[i]);
    }
    free(ents);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

static void read_text(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
}

static void rm_rf(const char *path)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", path, path);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_stamp)
{
    char buf[32];
    ck_assert_int_eq(pb_record_stamp(0, buf, sizeof buf), PB_OK);
    ck_assert_str_eq(buf, "19700101T000000Z");
    ck_assert_int_eq(pb_record_stamp(1795487486, buf, sizeof buf), PB_OK);
    ck_assert_str_eq(buf, "20261124T023126Z");
    ck_assert_int_eq(pb_record_stamp(0, buf, 8), PB_ERR_PARSE); /* too small */
    ck_assert_int_eq(pb_record_stamp(0, NULL, 8), PB_ERR_NULL);
}
END_TEST

START_TEST(test_atomic_commit)
{
    make_base();
    char root[128], parent[160], listing[512], path[600], final[512], msg[256];
    snprintf(root, sizeof root, "%s/results/nested", base);
    snprintf(parent, sizeof parent, "%s/hostA", root);
    pb_record *r;
    ck_assert_int_eq(pb_record_begin(root, "hostA", "20261124T023126Z-0123456789ab", &r, msg,
                                     sizeof msg),
                     PB_OK);
    /* while writing, only a hidden temporary directory exists */
    ck_assert_int_eq(pb_record_path(r, "results.csv", path, sizeof path), PB_OK);
    write_text(path, "a,b\n1,2\n");
    list_dir(parent, listing, sizeof listing);
    ck_assert_msg(strncmp(listing, ".tmp-20261124T023126Z-0123456789ab-", 35) == 0 &&
                      !strchr(listing, ' '),
                  "listing: %s", listing);
    ck_assert_str_eq(strrchr(pb_record_tmpdir(r), '/') + 1, listing);
    ck_assert_int_eq(pb_record_commit(r, final, sizeof final, msg, sizeof msg), PB_OK);
    char want[512];
    snprintf(want, sizeof want, "%s/20261124T023126Z-0123456789ab", parent);
    ck_assert_str_eq(final, want);
    /* afterwards, only the record, complete */
    list_dir(parent, listing, sizeof listing);
    ck_assert_str_eq(listing, "20261124T023126Z-0123456789ab");
    list_dir(final, listing, sizeof listing);
    ck_assert_str_eq(listing, "results.csv");
    char text[64];
    snprintf(path, sizeof path, "%s/results.csv", final);
    read_text(path, text, sizeof text);
    ck_assert_str_eq(text, "a,b\n1,2\n");
    rm_rf(base);
}
END_TEST

START_TEST(test_no_overwrite)
{
    make_base();
    char parent[160], path[600], final[512], msg[256], text[64], listing[512];
    snprintf(parent, sizeof parent, "%s/h", base);
    /* an existing record of the same name, which must survive untouched */
    ck_assert_int_eq(mkdir(parent, 0777), 0);
    snprintf(path, sizeof path, "%s/run", parent);
    ck_assert_int_eq(mkdir(path, 0777), 0);
    snprintf(path, sizeof path, "%s/run/results.csv", parent);
    write_text(path, "old\n");
    for (int k = 2; k <= 3; k++) {
        pb_record *r;
        ck_assert_int_eq(pb_record_begin(base, "h", "run", &r, msg, sizeof msg), PB_OK);
        ck_assert_int_eq(pb_record_path(r, "results.csv", path, sizeof path), PB_OK);
        write_text(path, k == 2 ? "second\n" : "third\n");
        ck_assert_int_eq(pb_record_commit(r, final, sizeof final, msg, sizeof msg), PB_OK);
        char want[512];
        snprintf(want, sizeof want, "%s/run-%d", parent, k);
        ck_assert_str_eq(final, want);
    }
    snprintf(path, sizeof path, "%s/run/results.csv", parent);
    read_text(path, text, sizeof text);
    ck_assert_str_eq(text, "old\n");
    snprintf(path, sizeof path, "%s/run-2/results.csv", parent);
    read_text(path, text, sizeof text);
    ck_assert_str_eq(text, "second\n");
    list_dir(parent, listing, sizeof listing);
    ck_assert_str_eq(listing, "run run-2 run-3");
    rm_rf(base);
}
END_TEST

START_TEST(test_abort_leaves_nothing)
{
    make_base();
    char parent[160], path[512], msg[256], listing[512];
    snprintf(parent, sizeof parent, "%s/h", base);
    pb_record *r;
    ck_assert_int_eq(pb_record_begin(base, "h", "run", &r, msg, sizeof msg), PB_OK);
    /* one record at a time: the signal cleanup knows only one */
    pb_record *r2;
    ck_assert_int_eq(pb_record_begin(base, "h", "other", &r2, msg, sizeof msg), PB_ERR_IO);
    ck_assert_int_eq(pb_record_path(r, "gbench.json", path, sizeof path), PB_OK);
    write_text(path, "{}");
    ck_assert_int_eq(pb_record_path(r, "results.csv", path, sizeof path), PB_OK); /* never written */
    ck_assert_int_eq(pb_record_path(r, "../escape", path, sizeof path), PB_ERR_PARSE);
    pb_record_abort(r);
    list_dir(parent, listing, sizeof listing);
    ck_assert_str_eq(listing, "");
    rm_rf(base);
}
END_TEST

/* A run killed by a signal, or exiting from inside a library, leaves no
 * record and no temporary directory. */
static void interrupted(int how)
{
    make_base();
    char parent[160], listing[512];
    snprintf(parent, sizeof parent, "%s/h", base);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        pb_record *r;
        char path[512], msg[256];
        if (pb_record_begin(base, "h", "run", &r, msg, sizeof msg) != PB_OK) _exit(10);
        if (pb_record_path(r, "gbench.json", path, sizeof path) != PB_OK) _exit(11);
        FILE *f = fopen(path, "w");
        if (!f) _exit(12);
        fputs("{\"half\": ", f); /* half-written */
        fflush(f);
        if (how == 0) raise(SIGTERM);
        if (how == 1) raise(SIGINT);
        exit(3);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    if (how == 2) {
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 3);
    } else {
        ck_assert(WIFSIGNALED(status));
        ck_assert_int_eq(WTERMSIG(status), how == 0 ? SIGTERM : SIGINT);
    }
    list_dir(parent, listing, sizeof listing);
    ck_assert_str_eq(listing, "");
    rm_rf(base);
}

START_TEST(test_interrupted_sigterm) { interrupted(0); }
END_TEST
START_TEST(test_interrupted_sigint) { interrupted(1); }
END_TEST
START_TEST(test_interrupted_exit) { interrupted(2); }
END_TEST

START_TEST(test_unwritable)
{
    make_base();
    char root[160], msg[256];
    pb_record *r = (pb_record *)&root;
    /* a file where the results directory should be: fails for root too */
    snprintf(root, sizeof root, "%s/results", base);
    write_text(root, "not a directory\n");
    ck_assert_int_eq(pb_record_begin(root, "h", "run", &r, msg, sizeof msg), PB_ERR_IO);
    ck_assert_ptr_null(r);
    char want[256];
    /* the message names the component that failed */
    snprintf(want, sizeof want, "cannot create results directory '%s': Not a directory", root);
    ck_assert_str_eq(msg, want);
    ck_assert_ptr_null(strchr(msg, '\n')); /* one line */
    /* a read-only directory (permissions do not bind root) */
    if (geteuid() != 0) {
        snprintf(root, sizeof root, "%s/ro", base);
        ck_assert_int_eq(mkdir(root, 0500), 0);
        ck_assert_int_eq(pb_record_begin(root, "h", "run", &r, msg, sizeof msg), PB_ERR_IO);
        snprintf(want, sizeof want, "cannot create results directory '%s/h': Permission denied",
                 root);
        ck_assert_str_eq(msg, want);
        /* host directory exists but is read-only */
        ck_assert_int_eq(chmod(root, 0700), 0);
        char host[200];
        snprintf(host, sizeof host, "%s/h", root);
        ck_assert_int_eq(mkdir(host, 0500), 0);
        ck_assert_int_eq(pb_record_begin(root, "h", "run", &r, msg, sizeof msg), PB_ERR_IO);
        snprintf(want, sizeof want, "cannot write in results directory '%s': Permission denied",
                 host);
        ck_assert_str_eq(msg, want);
    }
    /* bad names */
    ck_assert_int_eq(pb_record_begin(base, "../x", "run", &r, msg, sizeof msg), PB_ERR_PARSE);
    ck_assert_int_eq(pb_record_begin(base, "h", ".hidden", &r, msg, sizeof msg), PB_ERR_PARSE);
    ck_assert_int_eq(pb_record_begin(base, "h", "", &r, msg, sizeof msg), PB_ERR_PARSE);
    ck_assert_int_eq(pb_record_begin(NULL, "h", "run", &r, msg, sizeof msg), PB_ERR_NULL);
    rm_rf(base);
}
END_TEST

/* ---- the CSV and JSON contents ---- */

static pb_sysinfo fake_sys(void)
{
    pb_sysinfo s;
    memset(&s, 0, sizeof s);
    snprintf(s.host, sizeof s.host, "vm");
    snprintf(s.cpu_vendor, sizeof s.cpu_vendor, "AuthenticAMD");
    snprintf(s.cpu_model, sizeof s.cpu_model, "AMD \"EPYC\"");
    s.cpu_family = 26;
    s.logical_cpus = 2;
    s.hypervisor = true;
    snprintf(s.cpu_flags, sizeof s.cpu_flags, "fpu sse2 avx512f");
    s.n_caches = 1;
    s.caches[0] = (pb_cache_info){1, "data", 49152, 64, 1};
    snprintf(s.cache_source, sizeof s.cache_source, "cpuid 0x80000005/6");
    s.isa = PB_ISA_AVX512;
    snprintf(s.commit, sizeof s.commit, "0123456789abcdef0123456789abcdef01234567");
    snprintf(s.commit_short, sizeof s.commit_short, "0123456789ab");
    s.dirty = true;
    return s;
}

static const char *const events[] = {"PAPI_TOT_CYC", "PAPI_TOT_INS"};

static void fake_run(pb_run_info *ri, pb_case_result *cases, pb_bw_result *bw,
                     const pb_sysinfo *sys)
{
    memset(bw, 0, sizeof *bw);
    bw->shape = (pb_bw_shape){4, 1};
    bw->threads = 1;
    bw->bytes = 4014080;
    bw->best_gbps = 50.0;
    bw->valid = true;
    pb_case_result_init(&cases[0]);
    snprintf(cases[0].impl, sizeof cases[0].impl, "best");
    snprintf(cases[0].resolved, sizeof cases[0].resolved, "avx512");
    snprintf(cases[0].problem, sizeof cases[0].problem, "mb1ic64_ih112iw112_kh3kw3_sh2sw2_ph1pw1");
    snprintf(cases[0].label, sizeof cases[0].label, "resnet50:maxpool");
    cases[0].setup_ms = 0.25;
    cases[0].threads = 1;
    snprintf(cases[0].status, sizeof cases[0].status, "OK");
    snprintf(cases[0].verify, sizeof cases[0].verify, "PASS");
    cases[0].bytes = (pb_bytes){.read = 3211264, .write = 802816, .total = 4014080,
                                .elements = 802816};
    cases[0].reps = 5;
    cases[0].iterations = 1000;
    cases[0].median_ns = 200000;
    cases[0].gbps = 20.0704;
    cases[0].bw_index = 0;
    cases[0].pct_bw = 40.125;
    cases[0].events[0] = 1.5e6;
    pb_case_result_init(&cases[1]);
    snprintf(cases[1].impl, sizeof cases[1].impl, "broken");
    snprintf(cases[1].problem, sizeof cases[1].problem, "mb1ic1_ih4iw4_kh2kw2");
    cases[1].alg = PB_ALG_AVG_EXCL;
    cases[1].layout = PB_LAYOUT_NHWC;
    cases[1].dir = PB_DIR_BWD;
    cases[1].threads = 2;
    snprintf(cases[1].status, sizeof cases[1].status, "FAIL");
    snprintf(cases[1].verify, sizeof cases[1].verify, "FAIL");
    snprintf(cases[1].detail, sizeof cases[1].detail, "seed 7, at (0,0,1,2): got 1, want \"2\"");
    memset(ri, 0, sizeof *ri);
    ri->timestamp_utc = "2026-11-24T02:31:26Z";
    ri->command_line = "poolbench bench --impl best";
    ri->sys = sys;
    ri->reps = 5;
    ri->threads_list = "1,2";
    ri->bw = bw;
    ri->n_bw = 1;
    ri->counters_spec = "papi";
    ri->counters_backend = "papi";
    ri->counters_status = "PAPI: no hardware counters";
    ri->events = events;
    ri->n_events = 2;
    ri->cases = cases;
    ri->n_cases = 2;
}

START_TEST(test_csv)
{
    make_base();
    pb_sysinfo sys = fake_sys();
    pb_case_result cases[2];
    pb_bw_result bw;
    pb_run_info ri;
    fake_run(&ri, cases, &bw, &sys);
    char path[128];
    snprintf(path, sizeof path, "%s/results.csv", base);
    ck_assert_int_eq(pb_results_write_csv(path, &ri), PB_OK);
    static char text[4096];
    read_text(path, text, sizeof text);
    const char *want =
        "timestamp_utc,commit,dirty,host,impl,resolved,problem,label,alg,layout,dir,threads,"
        "status,detail,reps,iterations,median_ns,mean_ns,stddev_ns,cv,min_ns,max_ns,bytes_read,"
        "bytes_written,bytes_total,elements,gbps,elements_per_s,bw_ref,bw_ref_gbps,pct_bw,"
        "speedup_vs_naive,setup_ms,convert_ms,PAPI_TOT_CYC,PAPI_TOT_INS,ipc,bytes_per_llc_miss\n"
        "2026-11-24T02:31:26Z,0123456789ab,1,vm,best,avx512,"
        "mb1ic64_ih112iw112_kh3kw3_sh2sw2_ph1pw1,resnet50:maxpool,max,nchw,fwd_inf,1,OK,,5,1000,"
        "200000,,,,,,3211264,802816,4014080,802816,20.0704,,r4w1-4.01MB-t1,50,40.125,,0.25,,"
        "1500000,,,\n"
        "2026-11-24T02:31:26Z,0123456789ab,1,vm,broken,,mb1ic1_ih4iw4_kh2kw2,,avg_excl,nhwc,"
        "bwd,2,FAIL,\"seed 7, at (0,0,1,2): got 1, want \"\"2\"\"\",0,0,,,,,,,0,0,0,0,,,,,,,,,"
        ",,,\n";
    ck_assert_str_eq(text, want);
    ck_assert_int_eq(pb_results_write_csv("/nonexistent-dir/x.csv", &ri), PB_ERR_IO);
    ck_assert_int_eq(pb_results_write_csv(path, NULL), PB_ERR_NULL);
    rm_rf(base);
}
END_TEST

START_TEST(test_context_json)
{
    pb_sysinfo sys = fake_sys();
    pb_case_result cases[2];
    pb_bw_result bw;
    pb_run_info ri;
    fake_run(&ri, cases, &bw, &sys);
    pb_json j;
    pb_json_init(&j, 4);
    ck_assert_int_eq(pb_results_context_json(&ri, &j), PB_OK);
    const char *t = j.text;
    ck_assert(t[0] == '{' && t[strlen(t) - 1] == '}');
    const char *must[] = {
        "\n        \"schema\": 1,",
        "\"commit\": \"0123456789abcdef0123456789abcdef01234567\"",
        "\"dirty\": true",
        "\"model\": \"AMD \\\"EPYC\\\"\"", /* escaped quotes */
        "\"source\": \"cpuid 0x80000005/6\"",
        "\"size_bytes\": 49152",
        "\"isa\": \"avx512\"",
        "\"max_isa_env\": null",
        "\"id\": \"r4w1-4.01MB-t1\"",
        "\"best_gbps\": 50,",
        "\"status\": \"PAPI: no hardware counters\"",
        "\"events\": [\n                \"PAPI_TOT_CYC\",\n                \"PAPI_TOT_INS\"\n            ]",
        "\"bandwidth_ref\": \"r4w1-4.01MB-t1\"",
        "\"bandwidth_ref\": null",
        "\"PAPI_TOT_CYC\": 1500000,",
        "\"PAPI_TOT_INS\": null,", /* NaN -> null */
        "\"detail\": \"seed 7, at (0,0,1,2): got 1, want \\\"2\\\"\"",
        "\"cflags\": ",
        "\"label\": \"resnet50:maxpool\"",
        "\"verify\": \"PASS\",\n                \"status\": \"OK\"",
        "\"median_ns\": 200000,",
        "\"pct_bw\": 40.125,",
        "\"speedup_vs_naive\": null,",
        "\"verify\": \"FAIL\"",
        "\"setup_ms\": 0.25,",
        "\"convert_ms\": null,",
    };
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        ck_assert_msg(strstr(t, must[i]) != NULL, "missing %s", must[i]);
    /* balanced outside strings */
    int depth = 0;
    bool in_str = false;
    for (const char *p = t; *p; p++) {
        if (in_str) {
            if (*p == '\\') p++;
            else if (*p == '"') in_str = false;
        } else if (*p == '"') in_str = true;
        else if (*p == '{' || *p == '[') depth++;
        else if (*p == '}' || *p == ']') ck_assert_int_ge(--depth, 0);
    }
    ck_assert_int_eq(depth, 0);
    ck_assert(!in_str);
    pb_json_free(&j);
}
END_TEST

START_TEST(test_json_writer)
{
    pb_json j;
    pb_json_init(&j, 0);
    pb_json_begin_object(&j, NULL);
    pb_json_str(&j, "s", "a\"b\\c\n\x01");
    pb_json_num(&j, "x", 0.5);
    pb_json_num(&j, "nan", NAN);
    pb_json_int(&j, "i", -3);
    pb_json_begin_array(&j, "empty");
    pb_json_end_array(&j);
    pb_json_begin_array(&j, "a");
    pb_json_bool(&j, NULL, true);
    pb_json_null(&j, NULL);
    pb_json_end_array(&j);
    pb_json_end_object(&j);
    ck_assert_int_eq(pb_json_status(&j), PB_OK);
    ck_assert_str_eq(j.text, "{\n    \"s\": \"a\\\"b\\\\c\\n\\u0001\",\n    \"x\": 0.5,\n"
                             "    \"nan\": null,\n    \"i\": -3,\n    \"empty\": [],\n"
                             "    \"a\": [\n        true,\n        null\n    ]\n}");
    pb_json_free(&j);
    /* misuse is reported, not written */
    pb_json_init(&j, 0);
    pb_json_begin_object(&j, NULL);
    ck_assert_int_eq(pb_json_status(&j), PB_ERR_PARSE); /* unclosed */
    pb_json_end_object(&j);
    ck_assert_int_eq(pb_json_end_object(&j), PB_ERR_PARSE); /* one too many */
    ck_assert_int_eq(pb_json_str(&j, "k", "v"), PB_ERR_PARSE); /* sticky */
    pb_json_free(&j);
    char buf[8];
    ck_assert_int_eq(pb_json_escape(buf, sizeof buf, "abcdefghij"), 12);
    ck_assert_str_eq(buf, "\"abcdef"); /* truncated, terminated */
}
END_TEST

Suite *pb_test_suite_results(void)
{
    Suite *s = suite_create("results");
    TCase *tc = tcase_create("record");
    tcase_add_test(tc, test_stamp);
    tcase_add_test(tc, test_atomic_commit);
    tcase_add_test(tc, test_no_overwrite);
    tcase_add_test(tc, test_abort_leaves_nothing);
    tcase_add_test(tc, test_interrupted_sigterm);
    tcase_add_test(tc, test_interrupted_sigint);
    tcase_add_test(tc, test_interrupted_exit);
    tcase_add_test(tc, test_unwritable);
    suite_add_tcase(s, tc);
    tc = tcase_create("contents");
    tcase_add_test(tc, test_csv);
    tcase_add_test(tc, test_context_json);
    tcase_add_test(tc, test_json_writer);
    suite_add_tcase(s, tc);
    return s;
}
