/*
 * Problem strings (benchdnn style) and the built-in suites.
 *
 * Grammar: tokens joined by '_' or written back to back, each a name and a
 * non-negative integer: mb ic ih iw kh kw sh sw ph pw pt pb pl pr dh dw,
 * plus the flags `ceil` and `global`, and an optional leading `nNAME_`
 * label (benchdnn's name token, kept for display only).
 *   ih112      sets ih = iw = 112 (likewise kh/kw via k, sh/sw via s,
 *              ph/pw via p, dh/dw via d when the width token is absent:
 *              `k3` is kh3kw3)
 *   ph1        sets top = bottom = 1; pt/pb/pl/pr set one side each
 *   defaults   mb1, stride = window, padding 0, dilation 1
 * Algorithm, layout and direction are NOT part of the string.
 * Example: mb32ic64_ih112iw112_kh3kw3_sh2sw2_ph1pw1
 */
#ifndef POOLBENCH_PROBLEM_H
#define POOLBENCH_PROBLEM_H

#include "pool.h"

/* Parses into *d (after pb_desc_init; alg/layout/dtype are left as they
 * were in *d) and finalizes it.  On failure, msg gets a one-line message
 * that quotes the offending token and its position, and the code says why
 * (PB_ERR_PARSE for syntax, the pb_desc_finalize code for bad values). */
pb_status pb_problem_parse(const char *s, pb_desc *d, char *msg, size_t msg_len);

/* Canonical string of a finalized descriptor's shape (the parser's inverse:
 * parse(format(d)) == d).  Returns the length written, or -1 on error. */
int pb_problem_format(const pb_desc *d, char *buf, size_t len);

/* A named list of problem strings. */
typedef struct pb_suite {
    const char *name;      /* e.g. "resnet50" */
    const char *summary;   /* one line for `poolbench list` */
    const char *const *problems;
    size_t count;
} pb_suite;

size_t pb_suite_count(void);
const pb_suite *pb_suite_get(size_t i);
const pb_suite *pb_suite_find(const char *name); /* NULL if unknown */

#endif
