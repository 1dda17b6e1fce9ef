/* `poolbench sim`: deterministic instruction and cache-miss counts of one
 * case under callgrind, and the hidden `sim-case` it runs under valgrind.
 * See harness/simcount.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simcount.h"

static const char usage[] =
    "usage: poolbench sim --impl NAME --problem P [--alg A] [--layout L] [--dir D] [--repeat N]\n"
    "  runs the case under valgrind's callgrind (simulated caches: I1 32K/8, D1 48K/12,\n"
    "  LL 32M/16, 64 B lines) and prints exact instruction counts and simulated misses\n"
    "  of one kernel call; --repeat N runs it N times and checks the counts repeat.\n"
    "  defaults: --alg max --layout nchw --dir fwd_inf --repeat 1\n";

/* Options shared by sim and sim-case; returns 0, or 2 after a message. */
static int parse_case(int argc, char **argv, pb_sim_case *c, int *repeat, const char *cmd)
{
    c->impl = NULL;
    c->problem = NULL;
    c->alg = PB_ALG_MAX;
    c->layout = PB_LAYOUT_NCHW;
    c->dir = PB_DIR_FWD_INF;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
            fputs(usage, stdout);
            exit(0);
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "poolbench: %s: '%s' needs a value (see --help)\n", cmd, o);
            return 2;
        }
        const char *v = argv[++i];
        pb_status st = PB_OK;
        if (strcmp(o, "--impl") == 0) c->impl = v;
        else if (strcmp(o, "--problem") == 0) c->problem = v;
        else if (strcmp(o, "--alg") == 0) st = pb_alg_parse(v, &c->alg);
        else if (strcmp(o, "--layout") == 0) st = pb_layout_parse(v, &c->layout);
        else if (strcmp(o, "--dir") == 0) st = pb_dir_parse(v, &c->dir);
        else if (strcmp(o, "--repeat") == 0 && repeat) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n < 1 || n > 100) st = PB_ERR_PARSE;
            else *repeat = (int)n;
        } else {
            fprintf(stderr, "poolbench: %s: unknown option '%s' (see --help)\n", cmd, o);
            return 2;
        }
        if (st != PB_OK) {
            fprintf(stderr, "poolbench: %s: bad value '%s' for %s: %s\n", cmd, v, o, pb_status_str(st));
            return 2;
        }
    }
    if (!c->impl || !c->problem) {
        fprintf(stderr, "poolbench: %s: need --impl and --problem (see --help)\n", cmd);
        return 2;
    }
    return 0;
}

int pb_cmd_sim_case(int argc, char **argv)
{
    pb_sim_case c;
    int rc = parse_case(argc, argv, &c, NULL, "sim-case");
    if (rc) return rc;
    char msg[512];
    const char *ran = NULL;
    pb_status st = pb_sim_case_exec(&c, &ran, msg, sizeof msg);
    if (st == PB_ERR_UNSUPPORTED) {
        fprintf(stderr, "poolbench: sim-case: %s\n", msg);
        return PB_SIM_CASE_DECLINED;
    }
    if (st != PB_OK) {
        fprintf(stderr, "poolbench: sim-case: %s\n", msg);
        return 1;
    }
    printf("poolbench: sim-case: ran %s\n", ran);
    return 0;
}

int pb_cmd_sim(int argc, char **argv)
{
    pb_sim_case c;
    int repeat = 1;
    int rc = parse_case(argc, argv, &c, &repeat, "sim");
    if (rc) return rc;
    char msg[600], exe[4096];
    if (pb_sim_available(NULL, msg, sizeof msg) != PB_OK) {
        fprintf(stderr, "poolbench: sim: %s\n", msg);
        return 2;
    }
    if (pb_sim_self_exe(exe, sizeof exe) != PB_OK) {
        fprintf(stderr, "poolbench: sim: cannot find the program's own path\n");
        return 2;
    }
    pb_simcount first;
    bool same = true;
    for (int r = 0; r < repeat; r++) {
        pb_simcount s;
        pb_status st = pb_sim_run(exe, &c, NULL, &s, msg, sizeof msg);
        if (st != PB_OK) {
            fprintf(stderr, "poolbench: sim: %s %s: %s\n", c.impl, c.problem, msg);
            return st == PB_ERR_UNSUPPORTED ? 3 : 1;
        }
        double v[PB_SIM_NCOUNTERS];
        pb_sim_values(&s, v);
        if (r == 0) {
            printf("%-4s %-10s", "run", "impl");
            for (int k = 0; k < PB_SIM_NCOUNTERS; k++) printf(" %12s", pb_sim_counter_names[k] + 4);
            printf("\n");
        }
        printf("%-4d %-10s", r + 1, s.impl);
        for (int k = 0; k < PB_SIM_NCOUNTERS; k++) printf(" %12.0f", v[k]);
        printf("\n");
        if (r == 0) first = s;
        else same &= memcmp(&first, &s, sizeof s) == 0;
        if (r == repeat - 1) printf("simulated D1: %s; LL: %s\n", s.d1_desc, s.ll_desc);
    }
    if (repeat > 1) printf("%d runs: counts %s\n", repeat, same ? "identical" : "DIFFER");
    return same ? 0 : 1;
}
