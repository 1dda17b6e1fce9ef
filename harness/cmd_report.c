/* `poolbench report [RUN_DIR...]`: see harness/report.h. */
#include <stdio.h>

#include "report.h"

int pb_cmd_report(int argc, char **argv) { return pb_report_main(argc, argv, stdout, stderr); }
