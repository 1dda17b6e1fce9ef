/* Shared pieces of the poolbench subcommands: selector parsing (--impl,
 * --suite, --problem, --alg, --layout, --dir, --seed) and one-line errors. */
#ifndef POOLBENCH_CMD_COMMON_H
#define POOLBENCH_CMD_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "pool.h"

/* Exit codes of every subcommand. */
enum { PB_EXIT_OK = 0, PB_EXIT_FAIL = 1, PB_EXIT_USAGE = 2 };

#define PB_MAX_SELECTED_IMPLS 32

/* A problem of the selection: its descriptor (alg/layout still to be set
 * per case) and the string it came from. */
typedef struct pb_sel_problem {
    pb_desc desc;
    char text[160];
    const char *suite; /* NULL for --problem */
} pb_sel_problem;

typedef struct pb_selection {
    const pb_impl *impls[PB_MAX_SELECTED_IMPLS];
    size_t n_impls;          /* may include pb_best_marker, resolved per case */
    pb_sel_problem *problems;
    size_t n_problems;
    unsigned algs, layouts, dirs; /* PB_BIT masks */
    uint64_t seed;
} pb_selection;

/* Prints "poolbench: CMD: <message>" to stderr and returns PB_EXIT_USAGE. */
int pb_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Selector option handlers; each returns 0 or prints a one-line error and
 * returns PB_EXIT_USAGE. */
int pb_sel_impls(pb_selection *s, const char *cmd, const char *list);
int pb_sel_suites(pb_selection *s, const char *cmd, const char *list);
int pb_sel_add_problem(pb_selection *s, const char *cmd, const char *text);
int pb_sel_mask(unsigned *mask, const char *cmd, const char *what, const char *list);
int pb_sel_seed(pb_selection *s, const char *cmd, const char *text);
/* Defaults for whatever was not given: every impl, the given default
 * suites, every alg/layout/dir. */
int pb_sel_finish(pb_selection *s, const char *cmd, const char *default_suites);
void pb_sel_free(pb_selection *s);

/* Stands for `best` in a selection: not in the registry, never run. */
extern const pb_impl pb_best_marker;

/* The implementation to run for a case: `impl`, or `best` resolved. */
const pb_impl *pb_sel_resolve(const pb_impl *impl, const pb_desc *d, pb_dir dir);

/* The subcommands. */
int pb_cmd_list(int argc, char **argv);
int pb_cmd_show(int argc, char **argv);
int pb_cmd_verify(int argc, char **argv);
int pb_cmd_gradcheck(int argc, char **argv);
/* bench: 0 when every selected case was timed or skipped with a reason;
 * 1 when a case failed verification or could not be timed, a reference
 * failed its validation, or the record could not be written. */
int pb_cmd_bench(int argc, char **argv);
int pb_cmd_run(int argc, char **argv);

#endif
