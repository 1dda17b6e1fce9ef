/*
 * Problem strings (benchdnn style) and the built-in suites.
 *
 * Grammar (as implemented in problem.c):
 *   problem  := [ 'n' LABEL '_' ] token { ['_'] token }
 *   token    := NAME NUMBER | FLAG
 *   NAME     := mb ic ih iw kh kw sh sw ph pw pt pb pl pr dh dw oh ow k s p d
 *   FLAG     := ceil | global
 *   NUMBER   := decimal digits, at most 2147483647 (leading zeros allowed)
 *   LABEL    := letters, digits and : . - + /  (a name for people, ignored)
 * Tokens are separated by '_' or written back to back
 * (mb1ic64ih112kh3sh2ph1); a flag may run into the next token (ceilmb1).
 * Lower case only; '_' may not lead, trail or double; order is free.
 *   required   ic, ih, and a window: kh (or k) or global
 *   ih112      also sets iw = 112 when iw is absent; likewise kh -> kw,
 *              sh -> sw, dh -> dw, and ph -> pw when no width padding
 *              (pw, pl, pr) is given.  A width token alone keeps the
 *              height's default (sw2: sh = kh).  iw or kw without ih or kh
 *              is an error.
 *   k3 s2 p1 d2  short forms for both axes (p1: all four sides)
 *   ph1        top = bottom = 1; pw1: left = right = 1; pt pb pl pr set
 *              one side each (asymmetric padding)
 *   ceil       PyTorch's ceil mode;  global: window = plane, output 1x1
 *   oh ow      optional, checked against the computed output size
 *   defaults   mb1, stride = window, padding 0, dilation 1
 * Rejected (PB_ERR_PARSE unless noted): empty string, unknown name,
 * missing number, number on a flag, number without a name, number above
 * 2147483647, duplicate token, two tokens setting one field (k with kh/kw,
 * s with sh/sw, d with dh/dw, p with any padding, ph with pt/pb, pw with
 * pl/pr), global with any window, stride, padding, dilation or ceil token,
 * bad characters, a missing required token, oh/ow not matching; an
 * explicit stride 0 is PB_ERR_STRIDE.  Value rules are pb_desc_finalize's
 * (its code and message pass through, the string appended).
 * Messages: bad token 'xx3' at 17 in "...": unknown name 'xx'
 * (1-based position of the token's first character).
 * Algorithm, layout and direction are NOT part of the string.
 * Canonical form (pb_problem_format): mb ic _ ih iw _ kh kw _ sh sw, then
 * _ph pw (symmetric padding, when not 0) or _pt pb pl pr (asymmetric),
 * _dh dw (when not 1), _ceil; a global problem is mb ic _ ih iw _global.
 * Example: mb32ic64_ih112iw112_kh3kw3_sh2sw2_ph1pw1
 */
#ifndef POOLBENCH_PROBLEM_H
#define POOLBENCH_PROBLEM_H

#include "pool.h"

/* Parses into *d (from pb_desc_init's defaults; alg, layout, dtype and
 * threads are kept from *d) and finalizes it.  On failure *d is left
 * unchanged, msg (may be NULL) gets a one-line message that quotes the
 * offending token and its position, and the code says why (PB_ERR_PARSE
 * for syntax, the pb_desc_finalize code for bad values). */
pb_status pb_problem_parse(const char *s, pb_desc *d, char *msg, size_t msg_len);

/* Canonical string of a descriptor's shape, as pb_desc_finalize makes it
 * (the parser's inverse: parse(format(d)) == d for a finalized d).
 * Returns the length written, or -1 (buf set to "" when len > 0) for NULL
 * arguments, a descriptor finalize rejects, a field above 2147483647 (the
 * grammar's limit; possible for mb, ic, or dilation with a 1-tap window)
 * or a buffer too small. */
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
