/* The CSV reader and `poolbench report` on synthetic records written by
 * the test in the results format (results.csv + gbench.json with its
 * "poolbench" context block). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csv.h"
#include "report.h"

static char tmp[64];

static void setup(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/pb_test_report_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    ck_assert_int_eq(system(cmd), 0);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* The whole file as a string (caller frees). */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = 0;
    fclose(f);
    return s;
}

START_TEST(test_csv_reader)
{
    char p[128];
    snprintf(p, sizeof p, "%s/t.csv", tmp);
    /* quoted comma, doubled quote, quoted line break, CRLF, a short row
     * (padded), a blank line (skipped), no final newline */
    write_text(p, "a,b,c\r\n1,\"x,y\",\"say \"\"hi\"\"\"\r\n\n2,\"two\nlines\"\n3\n4,,");
    pb_csv t;
    char msg[256];
    ck_assert_int_eq(pb_csv_load(p, &t, msg, sizeof msg), PB_OK);
    ck_assert_int_eq(t.ncols, 3);
    ck_assert_int_eq(t.nrows, 4);
    ck_assert_int_eq(pb_csv_col(&t, "c"), 2);
    ck_assert_int_eq(pb_csv_col(&t, "zz"), -1);
    ck_assert_str_eq(pb_csv_get(&t, 0, 1), "x,y");
    ck_assert_str_eq(pb_csv_get(&t, 0, 2), "say \"hi\"");
    ck_assert_str_eq(pb_csv_get(&t, 1, 1), "two\nlines");
    ck_assert_str_eq(pb_csv_get(&t, 2, 0), "3");
    ck_assert_str_eq(pb_csv_get(&t, 2, 2), "");
    ck_assert_str_eq(pb_csv_get(&t, 3, 0), "4");
    ck_assert_str_eq(pb_csv_get(&t, 3, 2), "");
    ck_assert_str_eq(pb_csv_get(&t, 9, 0), "");
    ck_assert_str_eq(pb_csv_get(&t, 0, -1), "");
    pb_csv_free(&t);

    write_text(p, "a,b\n1,2,3\n");
    ck_assert_int_eq(pb_csv_load(p, &t, msg, sizeof msg), PB_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(msg, "more fields"));
    write_text(p, "a,b\n1,\"open\n");
    ck_assert_int_eq(pb_csv_load(p, &t, msg, sizeof msg), PB_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(msg, "unterminated"));
    write_text(p, "");
    ck_assert_int_eq(pb_csv_load(p, &t, msg, sizeof msg), PB_ERR_PARSE);
    snprintf(p, sizeof p, "%s/missing.csv", tmp);
    ck_assert_int_eq(pb_csv_load(p, &t, msg, sizeof msg), PB_ERR_IO);
}
END_TEST

static const char csv_header[] =
    "timestamp_utc,commit,dirty,host,impl,resolved,problem,label,alg,layout,dir,threads,status,detail,"
    "reps,iterations,median_ns,mean_ns,stddev_ns,cv,min_ns,max_ns,bytes_read,bytes_written,bytes_total,"
    "elements,gbps,elements_per_s,bw_ref,bw_ref_gbps,pct_bw,speedup_vs_naive,setup_ms,convert_ms,ipc,"
    "bytes_per_llc_miss\n";

/* One CSV row; gbps etc. given, the rest plausible. */
static void row(FILE *f, const char *commit, const char *impl, const char *problem, const char *label,
                const char *dir, int threads, const char *status, double median_ns, double bytes, double gbps,
                double ref, double pct, double speedup)
{
    fprintf(f, "2026-11-24T10:00:00Z,%s,0,vm,%s,%s,%s,%s,max,nchw,%s,%d,%s,,5,100,", commit, impl, impl, problem,
            label, dir, threads, status);
    /* not measured: empty fields, as the results writer does */
    if (median_ns > 0) fprintf(f, "%.6g,%.6g,1,0.01,%.6g,%.6g,", median_ns, median_ns, median_ns, median_ns);
    else fprintf(f, ",,,,,,");
    fprintf(f, "%.0f,0,%.0f,1,", bytes, bytes);
    if (gbps > 0) fprintf(f, "%.6g,1,r1w1,%.6g,%.6g,%.6g,,,,\n", gbps, ref, pct, speedup);
    else fprintf(f, ",,,,,,,,,\n");
}

static const char context_json[] =
    "{\"context\": {\"date\": \"2026-11-24\", \"num_cpus\": 2, \"caches\": [],\n"
    " \"poolbench\": {\"schema\": 1, \"host\": \"vm\", \"timestamp_utc\": \"2026-11-24T10:00:00Z\",\n"
    "  \"source\": {\"commit_short\": \"c0ffee123456\", \"dirty\": true},\n"
    "  \"cpu\": {\"model\": \"Test CPU 9000\", \"logical_cpus\": 2},\n"
    "  \"caches\": {\"levels\": [{\"level\": 1, \"type\": \"data\", \"size_bytes\": 49152},\n"
    "     {\"level\": 2, \"type\": \"unified\", \"size_bytes\": 1048576},\n"
    "     {\"level\": 3, \"type\": \"unified\", \"size_bytes\": 33554432}]},\n"
    "  \"build\": {\"cc_version\": \"gcc 12.2.0\"}, \"options\": {\"suite\": \"seed\"}}},\n"
    " \"benchmarks\": [], \"x\": NaN}\n";

/* A record: two problems x {naive, fast}, fwd_inf, 1 thread, plus a
 * skipped case and, with sweep, three sweep points.  GB/s values chosen so
 * the geometric means are exact by hand:
 *   naive 2 and 8 GB/s -> 4;  fast 10 and 40 -> 20;
 *   % of bw: naive 5% and 20% -> 10%;  fast 25% and 100% -> 50%;
 *   speedup: fast 5x and 5x -> 5x. */
static void make_record(const char *host_dir, const char *name, const char *commit, bool sweep, double scale)
{
    char d[256], p[300];
    mkdir(host_dir, 0755);
    snprintf(d, sizeof d, "%s/%s", host_dir, name);
    ck_assert_int_eq(mkdir(d, 0755), 0);
    snprintf(p, sizeof p, "%s/results.csv", d);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(csv_header, f);
    const char *pa = "mb1ic64_ih56iw56_oh28ow28_kh2kw2_sh2sw2", *pb = "mb1ic8_ih8iw8_oh4ow4_kh2kw2_sh2sw2";
    row(f, commit, "naive", pa, "", "fwd_inf", 1, "OK", 1000, 2000, 2 * scale, 40, 5, 1);
    row(f, commit, "fast", pa, "", "fwd_inf", 1, "OK", 200, 2000, 10 * scale, 40, 25, 5);
    row(f, commit, "naive", pb, "net:layer2", "fwd_inf", 1, "OK", 100, 800, 8 * scale, 40, 20, 1);
    row(f, commit, "fast", pb, "net:layer2", "fwd_inf", 1, "OK", 20, 800, 40 * scale, 40, 100, 5);
    row(f, commit, "broken", pb, "net:layer2", "fwd_inf", 1, "FAIL", 0, 800, 0, 0, 0, 0);
    if (sweep) {
        const char *sp[] = {"mb1ic16_ih8iw8_kh2kw2_sh2sw2", "mb1ic16_ih64iw64_kh2kw2_sh2sw2",
                            "mb1ic16_ih512iw512_kh2kw2_sh2sw2"};
        const double sb[] = {5120, 327680, 20971520};
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < 2; k++)
                row(f, commit, k ? "fast" : "naive", sp[i], "sweep:x", "fwd_inf", 1, "OK", 100, sb[i],
                    k ? 30 - 5 * i : 3, 35 - 5 * i, 50, k ? 10 : 1);
    }
    ck_assert_int_eq(fclose(f), 0);
    snprintf(p, sizeof p, "%s/gbench.json", d);
    write_text(p, context_json);
}

START_TEST(test_report_tables)
{
    char hd[128], rd[300], md[600];
    snprintf(hd, sizeof hd, "%s/vm", tmp);
    make_record(hd, "20261124T100000Z-c0ffee123456", "c0ffee123456", false, 1);
    snprintf(rd, sizeof rd, "%s/20261124T100000Z-c0ffee123456", hd);
    pb_report_opts o = {.plots = false};
    char out_dir[512], msg[512];
    ck_assert_msg(pb_report_run(rd, &o, out_dir, sizeof out_dir, msg, sizeof msg) == PB_OK, "%s", msg);
    snprintf(md, sizeof md, "%s/report.md", out_dir);
    char *s = slurp(md);
    ck_assert_ptr_nonnull(s);
    /* context from the JSON block */
    ck_assert_ptr_nonnull(strstr(s, "- CPU: Test CPU 9000\n"));
    ck_assert_ptr_nonnull(strstr(s, "- compiler: gcc 12.2.0\n"));
    ck_assert_ptr_nonnull(strstr(s, "- commit: c0ffee123456 (uncommitted changes)\n"));
    ck_assert_ptr_nonnull(strstr(s, "L1d 48 KiB, L2 1 MiB, last level 32 MiB"));
    /* the hand-computed geometric means (see make_record) */
    ck_assert_ptr_nonnull(strstr(s, "| naive | 2 | 4.00 | 10.0% | 1.00x | 0 |\n"));
    ck_assert_ptr_nonnull(strstr(s, "| fast | 2 | 20.00 | 50.0% | 5.00x | 0 |\n"));
    ck_assert_ptr_nonnull(strstr(s, "| broken | 0 | - | - | - | 1 |\n"));
    /* every case listed; the unlabelled problem in short form */
    ck_assert_ptr_nonnull(strstr(s, "| c64 56x56 k2s2 | max | nchw | fwd_inf | 1 | fast | 200.0 ns | 10.00 | 25.0% | 5.00x | OK |\n"));
    ck_assert_ptr_nonnull(strstr(s, "| net:layer2 | max | nchw | fwd_inf | 1 | broken | - | - | - | - | FAIL |\n"));
    free(s);
}
END_TEST

static bool have_gnuplot(void) { return system("gnuplot --version >/dev/null 2>&1") == 0; }

static void check_png(const char *dir, const char *name)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s.png", dir, name);
    FILE *f = fopen(p, "rb");
    ck_assert_msg(f != NULL, "%s missing", p);
    unsigned char sig[8] = {0};
    ck_assert_int_eq(fread(sig, 1, 8, f), 8);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    ck_assert_msg(memcmp(sig, "\x89PNG\r\n\x1a\n", 8) == 0, "%s is not a PNG", p);
    ck_assert_msg(n > 5000, "%s is suspiciously small (%ld bytes)", p, n);
}

START_TEST(test_report_figures)
{
    if (!have_gnuplot()) {
        printf("report: figure test SKIPPED: gnuplot not installed\n");
        return;
    }
    char hd[128], rd[300], p[700], msg[512], out_dir[512];
    snprintf(hd, sizeof hd, "%s/vm", tmp);
    make_record(hd, "20261120T100000Z-aaaa00000000", "aaaa00000000", false, 0.5);
    make_record(hd, "20261124T100000Z-c0ffee123456", "c0ffee123456", true, 1);
    make_record(hd, "20261130T100000Z-ffff00000000", "ffff00000000", false, 2); /* newer: not in the history */
    snprintf(rd, sizeof rd, "%s/20261124T100000Z-c0ffee123456", hd);
    pb_report_opts o = {.plots = true};
    ck_assert_msg(pb_report_run(rd, &o, out_dir, sizeof out_dir, msg, sizeof msg) == PB_OK, "%s", msg);
    const char *figs[] = {"gbps_fwd_inf", "pct_bw_fwd_inf", "speedup_fwd_inf", "sweep_fwd_inf", "history"};
    for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++) check_png(out_dir, figs[i]);
    /* one thread count: no thread-scaling figure; no backward cases */
    snprintf(p, sizeof p, "%s/threads.png", out_dir);
    ck_assert_int_ne(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/gbps_bwd.png", out_dir);
    ck_assert_int_ne(access(p, F_OK), 0);

    /* the script: title, axis label with units, legend entries, footer */
    snprintf(p, sizeof p, "%s/gbps_fwd_inf.gp", out_dir);
    char *gp = slurp(p);
    ck_assert_ptr_nonnull(gp);
    ck_assert_ptr_nonnull(strstr(gp, "generated by poolbench report"));
    ck_assert_ptr_nonnull(strstr(gp, "set title 'Throughput, forward inference (fwd_inf), 1 thread'"));
    ck_assert_ptr_nonnull(strstr(gp, "set ylabel 'GB/s (10^9 bytes/s"));
    ck_assert_ptr_nonnull(strstr(gp, "title 'naive'"));
    ck_assert_ptr_nonnull(strstr(gp, "title 'bandwidth reference'"));
    ck_assert_ptr_nonnull(strstr(gp, "vm | Test CPU 9000, 2 CPUs | gcc 12.2.0 | commit c0ffee123456 (dirty)"));
    free(gp);
    /* the data: sweep cases are not bars; the failed case is not a bar */
    snprintf(p, sizeof p, "%s/gbps_fwd_inf.dat", out_dir);
    char *dat = slurp(p);
    ck_assert_ptr_nonnull(strstr(dat, "# case naive fast bandwidth_ref_gbps\n"));
    ck_assert_ptr_nonnull(strstr(dat, "\"c64 56x56 k2s2 max nchw\" 2 10 40\n"));
    ck_assert_ptr_nonnull(strstr(dat, "\"net:layer2 max nchw\" 8 40 40\n"));
    ck_assert_ptr_null(strstr(dat, "sweep"));
    free(dat);
    /* the sweep: cache sizes from the record as vertical lines */
    snprintf(p, sizeof p, "%s/sweep_fwd_inf.gp", out_dir);
    gp = slurp(p);
    ck_assert_ptr_nonnull(strstr(gp, "set logscale x 2"));
    ck_assert_ptr_nonnull(strstr(gp, "'L1d 48 KiB' at 49152"));
    ck_assert_ptr_nonnull(strstr(gp, "'L2 1 MiB' at 1048576"));
    ck_assert_ptr_nonnull(strstr(gp, "'LLC 32 MiB' at 33554432"));
    free(gp);
    snprintf(p, sizeof p, "%s/sweep_fwd_inf.dat", out_dir);
    dat = slurp(p);
    ck_assert_ptr_nonnull(strstr(dat, "# fast\n5120 30\n327680 25\n20971520 20\n"));
    ck_assert_ptr_nonnull(strstr(dat, "# bandwidth reference\n5120 35\n327680 30\n20971520 25\n"));
    free(dat);
    /* history: the older record and this one, not the newer one; the
     * first case per implementation (naive, fast: the c64 problem) */
    snprintf(p, sizeof p, "%s/history.dat", out_dir);
    dat = slurp(p);
    ck_assert_ptr_nonnull(strstr(dat, "0 \"aaaa00000000\" \"20261120T100000Z-aaaa00000000\" 1 5\n"));
    ck_assert_ptr_nonnull(strstr(dat, "1 \"c0ffee123456\" \"20261124T100000Z-c0ffee123456\" 2 10\n"));
    ck_assert_ptr_null(strstr(dat, "ffff"));
    free(dat);
    /* report.html: self-contained, one inline SVG per figure */
    snprintf(p, sizeof p, "%s/report.html", out_dir);
    char *html = slurp(p);
    size_t nsvg = 0;
    for (const char *q = html; (q = strstr(q, "<svg")); q++) nsvg++;
    ck_assert_int_eq(nsvg, 5);
    ck_assert_ptr_null(strstr(html, "<?xml"));
    ck_assert_ptr_null(strstr(html, "<img"));
    free(html);
    snprintf(p, sizeof p, "%s/report.md", out_dir);
    char *md = slurp(p);
    ck_assert_ptr_nonnull(strstr(md, "![Throughput, forward inference (fwd_inf), 1 thread](gbps_fwd_inf.png)"));
    ck_assert_ptr_nonnull(strstr(md, "(sweep_fwd_inf.png)"));
    free(md);
}
END_TEST

START_TEST(test_latest_and_errors)
{
    char hd[128], latest[512], msg[512];
    snprintf(hd, sizeof hd, "%s/otherhost", tmp);
    make_record(hd, "20261120T100000Z-aaaa00000000", "aaaa00000000", false, 1);
    make_record(hd, "20261122T100000Z-bbbb00000000", "bbbb00000000", false, 1);
    char hidden[300];
    snprintf(hidden, sizeof hidden, "%s/.tmp-20261199T000000Z-x-abcdef", hd); /* being written */
    ck_assert_int_eq(mkdir(hidden, 0755), 0);
    ck_assert_int_eq(pb_report_latest(tmp, latest, sizeof latest, msg, sizeof msg), PB_OK);
    ck_assert_ptr_nonnull(strstr(latest, "/otherhost/20261122T100000Z-bbbb00000000"));
    char empty[128];
    snprintf(empty, sizeof empty, "%s/none", tmp);
    ck_assert_int_eq(pb_report_latest(empty, latest, sizeof latest, msg, sizeof msg), PB_ERR_IO);

    /* pb_report_main: missing record -> one line, exit 2 */
    char *argv[] = {"report", "--no-plots", empty, NULL};
    FILE *out = tmpfile(), *err = tmpfile();
    ck_assert_int_eq(pb_report_main(3, argv, out, err), 2);
    rewind(err);
    char line[600] = "";
    ck_assert_ptr_nonnull(fgets(line, sizeof line, err));
    ck_assert_msg(strncmp(line, "poolbench: report: ", 19) == 0, "%s", line);
    ck_assert_ptr_null(fgets(line + strlen(line), 10, err)); /* one line only */
    fclose(out);
    fclose(err);

    /* a CSV that is not a results CSV */
    char bad[300], p[400];
    snprintf(bad, sizeof bad, "%s/bad", tmp);
    ck_assert_int_eq(mkdir(bad, 0755), 0);
    snprintf(p, sizeof p, "%s/results.csv", bad);
    write_text(p, "x,y\n1,2\n");
    pb_report_opts o = {.plots = false};
    ck_assert_int_eq(pb_report_run(bad, &o, NULL, 0, msg, sizeof msg), PB_ERR_PARSE);
    ck_assert_ptr_nonnull(strstr(msg, "not a poolbench results CSV"));
}
END_TEST

Suite *pb_test_suite_report(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("report");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_csv_reader);
    tcase_add_test(tc, test_report_tables);
    tcase_add_test(tc, test_report_figures);
    tcase_add_test(tc, test_latest_and_errors);
    suite_add_tcase(s, tc);
    return s;
}
