/* poolbench: the command-line program.  Subcommands live in cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "pool.h"

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < pb_impl_count(); i++) printf("%s\n", pb_impl_get(i)->name);
    return 0;
}
