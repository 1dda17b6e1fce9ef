/* poolbench: the command-line program.  One table of subcommands; each
 * lives in harness/cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "cmd_common.h"

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"list", pb_cmd_list, "implementations (and whether this CPU runs them), suites"},
    {"show", pb_cmd_show, "pool a small problem and print input, output and argmax"},
    {"verify", pb_cmd_verify, "cross-check implementations against the reference"},
    {"gradcheck", pb_cmd_gradcheck, "finite-difference check of every backward kernel"},
    {"bench", pb_cmd_bench, "time verified cases against the in-run bandwidth reference"},
    {"run", pb_cmd_run, "the main job: verify + gradcheck on the default suites"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: poolbench COMMAND [OPTIONS]   (poolbench COMMAND --help for its options)\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return PB_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return PB_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "poolbench: unknown command '%s' (try poolbench --help)\n", argv[1]);
    return PB_EXIT_USAGE;
}
