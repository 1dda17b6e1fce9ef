/* poolbench run: the main job of `make run` on the built-in default suites:
 * verify every implementation, then gradcheck every backward kernel. */
#include <stdio.h>
#include <string.h>

#include "cmd_common.h"

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
                   "the seed and edge suites, every implementation.\n");
            return PB_EXIT_OK;
        }
        return pb_usage_error("run", "unexpected argument '%s'", argv[1]);
    }
    char *verify_argv[] = {"verify", "--suite", "seed,edge", "--quiet", NULL};
    char *grad_argv[] = {"gradcheck", "--suite", "seed,edge", "--quiet", NULL};
    int worst = PB_EXIT_OK, rc;
    rc = step("verify --suite seed,edge --quiet", pb_cmd_verify, verify_argv);
    if (rc > worst) worst = rc;
    rc = step("gradcheck --suite seed,edge --quiet", pb_cmd_gradcheck, grad_argv);
    if (rc > worst) worst = rc;
    printf("poolbench run: %s\n", worst == PB_EXIT_OK ? "all checks passed" : "FAILURES above");
    return worst;
}
