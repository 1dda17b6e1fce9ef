/* poolbench run: the main job of `make run` on the built-in default suites:
 * verify every implementation, gradcheck every backward kernel, then a
 * short benchmark of resnet50 whose record path bench prints. */
#include <stdio.h>
#include <string.h>

#include "cmd_common.h"

/* The default benchmark: the real ResNet-50 pooling layers, our best
 * kernel beside naive and the two libraries, at 1 thread and at every
 * allowed CPU (bench's default), plus the cache-size sweep (2x2/2 max,
 * 20 KiB .. 1 GiB) without naive, whose NHWC and 1 GiB calls take
 * seconds each; 5 repetitions: enough for a median and the report's
 * figures (regression runs want 9, see README). */
#define RUN_BENCH_ARGS "--suite", "resnet50", "--impl", "naive,best,onednn,xnnpack", "--sweep", \
                       "--sweep-impl", "best,onednn,xnnpack", "--reps", "5", "--min-time", "0.05"
#define RUN_BENCH_TEXT "--suite resnet50 --impl naive,best,onednn,xnnpack --sweep " \
                       "--sweep-impl best,onednn,xnnpack --reps 5 --min-time 0.05"

static int step(const char *title, int (*fn)(int, char **), char **argv)
{
    int argc = 0;
    while (argv[argc]) argc++;
    printf("== poolbench %s\n", title);
    fflush(stdout);
    int rc = fn(argc, argv);
    printf("\n");
    fflush(stdout);
    return rc;
}

int pb_cmd_run(int argc, char **argv)
{
    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0) {
            printf("usage: poolbench run\n  The main job: verify --quiet and gradcheck --quiet on "
                   "the seed and edge suites, every implementation,\n  then bench %s.\n",
                   RUN_BENCH_TEXT);
            return PB_EXIT_OK;
        }
        return pb_usage_error("run", "unexpected argument '%s'", argv[1]);
    }
    char *verify_argv[] = {"verify", "--suite", "seed,edge", "--quiet", NULL};
    char *grad_argv[] = {"gradcheck", "--suite", "seed,edge", "--quiet", NULL};
    char *bench_argv[] = {"bench", RUN_BENCH_ARGS, NULL};
    int worst = PB_EXIT_OK, rc;
    rc = step("verify --suite seed,edge --quiet", pb_cmd_verify, verify_argv);
    if (rc > worst) worst = rc;
    rc = step("gradcheck --suite seed,edge --quiet", pb_cmd_gradcheck, grad_argv);
    if (rc > worst) worst = rc;
    rc = step("bench " RUN_BENCH_TEXT, pb_cmd_bench, bench_argv);
    if (rc > worst) worst = rc;
    printf("poolbench run: %s\n", worst == PB_EXIT_OK ? "all checks passed" : "FAILURES above");
    return worst;
}
