/* Problem strings: the parser and the canonical formatter.  The grammar is
 * in problem.h; the value rules are pb_desc_finalize()'s, never repeated
 * here. */
#include "problem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Token names.  Order matters only for the tables below. */
typedef enum tok {
    T_MB, T_IC, T_IH, T_IW, T_KH, T_KW, T_SH, T_SW,
    T_PH, T_PW, T_PT, T_PB, T_PL, T_PR, T_DH, T_DW,
    T_OH, T_OW, T_K, T_S, T_P, T_D, T_CEIL, T_GLOBAL,
    T_COUNT
} tok;

static const char *const tok_names[T_COUNT] = {
    "mb", "ic", "ih", "iw", "kh", "kw", "sh", "sw",
    "ph", "pw", "pt", "pb", "pl", "pr", "dh", "dw",
    "oh", "ow", "k", "s", "p", "d", "ceil", "global",
};

#define TB(t) (1u << (t))
/* Tokens that set the same field twice when written together.  `global`
 * fixes window, stride, padding and dilation and excludes ceil mode. */
static const unsigned conflicts[T_COUNT] = {
    [T_K] = TB(T_KH) | TB(T_KW),
    [T_S] = TB(T_SH) | TB(T_SW),
    [T_D] = TB(T_DH) | TB(T_DW),
    [T_P] = TB(T_PH) | TB(T_PW) | TB(T_PT) | TB(T_PB) | TB(T_PL) | TB(T_PR),
    [T_PH] = TB(T_PT) | TB(T_PB),
    [T_PW] = TB(T_PL) | TB(T_PR),
    [T_GLOBAL] = TB(T_K) | TB(T_KH) | TB(T_KW) | TB(T_S) | TB(T_SH) | TB(T_SW) | TB(T_P) |
                 TB(T_PH) | TB(T_PW) | TB(T_PT) | TB(T_PB) | TB(T_PL) | TB(T_PR) | TB(T_D) |
                 TB(T_DH) | TB(T_DW) | TB(T_CEIL),
};

static bool conflict(tok a, tok b) { return (conflicts[a] & TB(b)) || (conflicts[b] & TB(a)); }

static bool is_flag(tok t) { return t == T_CEIL || t == T_GLOBAL; }
static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_label_char(char c)
{
    return is_alpha(c) || is_digit(c) || c == ':' || c == '.' || c == '-' || c == '+' || c == '/';
}

/* What the scan found for each token name. */
typedef struct seen {
    unsigned mask;          /* TB(t) for each token given */
    int64_t val[T_COUNT];   /* its number (flags: unused) */
    size_t pos[T_COUNT];    /* 0-based offset of its first character */
    size_t len[T_COUNT];    /* its length in the string */
} seen;

/* "bad token 'TOK' at POS in "S": REASON" -- POS is 1-based. */
static pb_status bad_token(char *msg, size_t len, pb_status st, const char *s, size_t pos,
                           size_t tlen, const char *fmt, ...)
{
    char reason[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return pb_errorf(msg, len, st, "bad token '%.*s' at %zu in \"%s\": %s", (int)tlen, s + pos,
                pos + 1, s, reason);
}

static bool has(const seen *sn, tok t) { return sn->mask & TB(t); }

/* The optional leading `nLABEL_`: skipped, it names the problem for people.
 * Returns the offset after the '_' (0 without a label), or SIZE_MAX on
 * error with msg written. */
static size_t skip_label(const char *s, char *msg, size_t len, pb_status *st)
{
    if (s[0] != 'n') return 0;
    size_t j = 1;
    while (is_label_char(s[j])) j++;
    if (j == 1 || s[j] != '_') {
        /* the label runs to the first '_'; quote what there is */
        size_t e = j;
        while (s[e] && s[e] != '_') e++;
        *st = bad_token(msg, len, PB_ERR_PARSE, s, 0, e,
                        j == 1 ? "empty label after 'n'"
                        : s[j] == '\0'
                            ? "a label must be followed by '_' and the problem"
                            : "a label takes letters, digits and : . - + / only");
        return SIZE_MAX;
    }
    return j + 1;
}

/* Scans the tokens of s into *sn: syntax only (names, numbers,
 * duplicates, conflicts, separators). */
static pb_status scan(const char *s, seen *sn, char *msg, size_t len)
{
    pb_status st = PB_OK;
    size_t i = skip_label(s, msg, len, &st);
    if (i == SIZE_MAX) return st;
    bool after_sep = i > 0; /* a '_' may not start, end or double */
    for (;;) {
        char c = s[i];
        if (c == '\0') {
            if (after_sep)
                return bad_token(msg, len, PB_ERR_PARSE, s, i - 1, 1,
                                 "'_' must be followed by a token");
            break;
        }
        if (c == '_') {
            if (after_sep || i == 0)
                return bad_token(msg, len, PB_ERR_PARSE, s, i, 1,
                                 "empty token (a '_' must separate two tokens)");
            after_sep = true;
            i++;
            continue;
        }
        after_sep = false;
        size_t start = i;
        while (is_alpha(s[i])) i++;
        size_t lend = i;
        if (lend == start) {
            if (!is_digit(c)) {
                if (c >= 0x20 && c < 0x7f)
                    return pb_errorf(msg, len, PB_ERR_PARSE, "bad character '%c' at %zu in \"%s\"",
                                c, start + 1, s);
                return pb_errorf(msg, len, PB_ERR_PARSE, "bad character 0x%02x at %zu in \"%s\"",
                            (unsigned)(unsigned char)c, start + 1, s);
            }
            while (is_digit(s[i])) i++;
            return bad_token(msg, len, PB_ERR_PARSE, s, start, i - start,
                             "a number needs a name before it");
        }
        /* the whole letter run must be a name, except that a flag may run
         * into the next token (`ceilmb1`): flags take no number */
        tok t = T_COUNT;
        for (int k = 0; k < T_COUNT; k++)
            if (strlen(tok_names[k]) == lend - start &&
                memcmp(tok_names[k], s + start, lend - start) == 0)
                t = (tok)k;
        if (t == T_COUNT)
            for (tok f = T_CEIL; f <= T_GLOBAL; f++) {
                size_t fl = strlen(tok_names[f]);
                if (fl < lend - start && memcmp(tok_names[f], s + start, fl) == 0) {
                    t = f;
                    i = lend = start + fl;
                    break;
                }
            }
        int64_t v = 0;
        bool range = true;
        size_t dstart = i;
        while (is_digit(s[i])) {
            if (v <= INT32_MAX) v = v * 10 + (s[i] - '0');
            i++;
        }
        if (v > INT32_MAX) range = false;
        size_t tlen = i - start;
        if (t == T_COUNT)
            return bad_token(msg, len, PB_ERR_PARSE, s, start, tlen, "unknown name '%.*s'",
                             (int)(lend - start), s + start);
        if (is_flag(t) && i > dstart)
            return bad_token(msg, len, PB_ERR_PARSE, s, start, tlen, "a flag takes no number");
        if (!is_flag(t) && i == dstart)
            return bad_token(msg, len, PB_ERR_PARSE, s, start, tlen,
                             "missing number after '%s'", tok_names[t]);
        if (!range)
            return bad_token(msg, len, PB_ERR_PARSE, s, start, tlen,
                             "number out of range (max %d)", INT32_MAX);
        for (int u = 0; u < T_COUNT; u++)
            if (has(sn, (tok)u) && (u == (int)t || conflict(t, (tok)u)))
                return bad_token(msg, len, PB_ERR_PARSE, s, start, tlen, "%s '%.*s' at %zu",
                                 u == (int)t ? "duplicate of" : "conflicts with",
                                 (int)sn->len[u], s + sn->pos[u], sn->pos[u] + 1);
        sn->mask |= TB(t);
        sn->val[t] = v;
        sn->pos[t] = start;
        sn->len[t] = tlen;
    }
    return PB_OK;
}

/* The number of token t if given, else dflt. */
static int64_t val_or(const seen *sn, tok t, int64_t dflt) { return has(sn, t) ? sn->val[t] : dflt; }

/* One field with a short form (k for kh and kw) and a height token it
 * copies when its own token is absent (kw copies kh). */
static int64_t pick(const seen *sn, tok shortf, tok own, tok copy, int64_t dflt)
{
    if (has(sn, shortf)) return sn->val[shortf];
    if (has(sn, own)) return sn->val[own];
    return val_or(sn, copy, dflt);
}

pb_status pb_problem_parse(const char *s, pb_desc *d, char *msg, size_t msg_len)
{
    if (msg && msg_len) msg[0] = '\0';
    if (!s || !d) return pb_errorf(msg, msg_len, PB_ERR_NULL, "problem string or descriptor is NULL");
    if (s[0] == '\0') return pb_errorf(msg, msg_len, PB_ERR_PARSE, "empty problem string");

    seen sn;
    memset(&sn, 0, sizeof sn);
    pb_status st = scan(s, &sn, msg, msg_len);
    if (st != PB_OK) return st;

    /* required tokens: the plane and the window (or global) */
    if (!has(&sn, T_IC)) return pb_errorf(msg, msg_len, PB_ERR_PARSE, "missing 'ic' in \"%s\"", s);
    if (!has(&sn, T_IH))
        return pb_errorf(msg, msg_len, PB_ERR_PARSE, "missing 'ih' in \"%s\" (iw alone is not enough)",
                    s);
    if (!has(&sn, T_GLOBAL) && !has(&sn, T_K) && !has(&sn, T_KH))
        return pb_errorf(msg, msg_len, PB_ERR_PARSE,
                    "missing window in \"%s\": give 'kh' (or 'k') or 'global'", s);
    /* pb_desc reads stride 0 as "not given", so an explicit 0 is refused
     * here, where it is still visible */
    const tok strides[] = {T_SH, T_SW, T_S};
    for (size_t i = 0; i < sizeof strides / sizeof strides[0]; i++) {
        tok k = strides[i];
        if (has(&sn, k) && sn.val[k] == 0)
            return bad_token(msg, msg_len, PB_ERR_STRIDE, s, sn.pos[k], sn.len[k],
                             "stride must be >= 1");
    }

    pb_desc t;
    pb_desc_init(&t);
    t.alg = d->alg;
    t.layout = d->layout;
    t.dtype = d->dtype;
    t.threads = d->threads;
    t.n = val_or(&sn, T_MB, 1);
    t.c = sn.val[T_IC];
    t.ih = sn.val[T_IH];
    t.iw = val_or(&sn, T_IW, t.ih);
    t.global = has(&sn, T_GLOBAL);
    t.ceil_mode = has(&sn, T_CEIL);
    if (!t.global) {
        t.kh = pick(&sn, T_K, T_KH, T_COUNT, 0);
        t.kw = pick(&sn, T_K, T_KW, T_KH, 0);
        t.sh = pick(&sn, T_S, T_SH, T_COUNT, 0); /* 0: finalize makes it the window */
        t.sw = pick(&sn, T_S, T_SW, T_SH, 0);
        t.dh = pick(&sn, T_D, T_DH, T_COUNT, 1);
        t.dw = pick(&sn, T_D, T_DW, T_DH, 1);
        if (has(&sn, T_P)) {
            t.pt = t.pb = t.pl = t.pr = sn.val[T_P];
        } else {
            t.pt = val_or(&sn, T_PH, val_or(&sn, T_PT, 0));
            t.pb = val_or(&sn, T_PH, val_or(&sn, T_PB, 0));
            /* ph copies to the width only when no width padding is given */
            int64_t wdef = has(&sn, T_PL) || has(&sn, T_PR) ? 0 : val_or(&sn, T_PH, 0);
            t.pl = val_or(&sn, T_PW, val_or(&sn, T_PL, wdef));
            t.pr = val_or(&sn, T_PW, val_or(&sn, T_PR, wdef));
        }
    }

    char fmsg[256];
    st = pb_desc_finalize(&t, fmsg, sizeof fmsg);
    if (st != PB_OK) return pb_errorf(msg, msg_len, st, "%s in \"%s\"", fmsg, s);

    /* oh / ow are only checked: they restate what the rest implies, so a
     * mismatch is a typo in the string or a misunderstanding of the rule */
    if (has(&sn, T_OH) && sn.val[T_OH] != t.oh) {
        return bad_token(msg, msg_len, PB_ERR_PARSE, s, sn.pos[T_OH], sn.len[T_OH],
                         "the output height is %lld", (long long)t.oh);
    }
    if (has(&sn, T_OW) && sn.val[T_OW] != t.ow) {
        return bad_token(msg, msg_len, PB_ERR_PARSE, s, sn.pos[T_OW], sn.len[T_OW],
                         "the output width is %lld", (long long)t.ow);
    }
    *d = t;
    return PB_OK;
}

/* snprintf at *at, advancing; false once the buffer is too small. */
static bool put(char *buf, size_t len, size_t *at, const char *fmt, ...)
{
    if (*at >= len) return false;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *at, len - *at, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len - *at) return false;
    *at += (size_t)n;
    return true;
}

int pb_problem_format(const pb_desc *d, char *buf, size_t len)
{
    if (!buf || len == 0) return -1;
    buf[0] = '\0';
    if (!d) return -1;
    /* format what finalize makes of d, so that stride "not given" and a
     * global window come out as they will be used */
    pb_desc t = *d;
    if (pb_desc_finalize(&t, NULL, 0) != PB_OK) return -1;
    /* the parser reads int32 numbers: a field beyond (possible for mb, ic
     * and, with k = 1, dilation) has no string */
    const int64_t f[] = {t.n, t.c, t.ih, t.iw, t.kh, t.kw, t.sh, t.sw,
                         t.pt, t.pb, t.pl, t.pr, t.dh, t.dw};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i] > INT32_MAX) return -1;

    size_t at = 0;
    bool ok = put(buf, len, &at, "mb%lldic%lld_ih%lldiw%lld", (long long)t.n, (long long)t.c,
                  (long long)t.ih, (long long)t.iw);
    if (t.global) {
        ok = ok && put(buf, len, &at, "_global");
    } else {
        ok = ok && put(buf, len, &at, "_kh%lldkw%lld_sh%lldsw%lld", (long long)t.kh,
                       (long long)t.kw, (long long)t.sh, (long long)t.sw);
        if (t.pt == t.pb && t.pl == t.pr) {
            if (t.pt || t.pl)
                ok = ok && put(buf, len, &at, "_ph%lldpw%lld", (long long)t.pt, (long long)t.pl);
        } else {
            ok = ok && put(buf, len, &at, "_pt%lldpb%lldpl%lldpr%lld", (long long)t.pt,
                           (long long)t.pb, (long long)t.pl, (long long)t.pr);
        }
        if (t.dh != 1 || t.dw != 1)
            ok = ok && put(buf, len, &at, "_dh%llddw%lld", (long long)t.dh, (long long)t.dw);
        if (t.ceil_mode) ok = ok && put(buf, len, &at, "_ceil");
    }
    if (!ok) {
        buf[0] = '\0';
        return -1;
    }
    return (int)at;
}
