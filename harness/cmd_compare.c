/* `poolbench compare OLD NEW`: see harness/compare.h. */
#include <stdio.h>

#include "compare.h"

int pb_cmd_compare(int argc, char **argv) { return pb_compare_main(argc, argv, stdout, stderr); }
