/* poolbench: the command-line program.  Subcommands live in cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "pool.h"

int pb_cmd_compare(int argc, char **argv);
int pb_cmd_report(int argc, char **argv);
int pb_cmd_sim(int argc, char **argv);
int pb_cmd_sim_case(int argc, char **argv);

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "compare") == 0) return pb_cmd_compare(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "report") == 0) return pb_cmd_report(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "sim") == 0) return pb_cmd_sim(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "sim-case") == 0) return pb_cmd_sim_case(argc - 1, argv + 1);
    for (size_t i = 0; i < pb_impl_count(); i++) printf("%s\n", pb_impl_get(i)->name);
    return 0;
}
