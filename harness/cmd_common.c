/* Selector parsing shared by the subcommands. */
#include "cmd_common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "problem.h"

const pb_impl pb_best_marker = {.name = "best", .summary = "highest-priority implementation "
                                                           "that accepts each case"};

int pb_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "poolbench: %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return PB_EXIT_USAGE;
}

/* Calls fn on each comma-separated item of list (copied, so list may be
 * argv's); stops at the first non-zero return. */
static int each_item(const char *list, int (*fn)(void *ctx, const char *item), void *ctx)
{
    char *copy = strdup(list ? list : "");
    if (!copy) return PB_EXIT_FAIL;
    int rc = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save))
        rc = fn(ctx, tok);
    free(copy);
    return rc;
}

static int add_impl(pb_selection *s, const char *cmd, const pb_impl *impl)
{
    for (size_t i = 0; i < s->n_impls; i++)
        if (s->impls[i] == impl) return 0;
    if (s->n_impls == PB_MAX_SELECTED_IMPLS)
        return pb_usage_error(cmd, "too many implementations selected");
    s->impls[s->n_impls++] = impl;
    return 0;
}

struct impl_ctx { pb_selection *s; const char *cmd; };

static int impl_item(void *vctx, const char *name)
{
    struct impl_ctx *c = vctx;
    if (strcmp(name, "all") == 0) {
        for (size_t i = 0; i < pb_impl_count(); i++)
            if (add_impl(c->s, c->cmd, pb_impl_get(i))) return PB_EXIT_USAGE;
        return 0;
    }
    if (strcmp(name, "best") == 0) return add_impl(c->s, c->cmd, &pb_best_marker);
    const pb_impl *impl = pb_impl_find(name);
    if (!impl) {
        char names[512] = "";
        for (size_t i = 0; i < pb_impl_count(); i++) {
            strncat(names, pb_impl_get(i)->name, sizeof names - strlen(names) - 1);
            strncat(names, ", ", sizeof names - strlen(names) - 1);
        }
        return pb_usage_error(c->cmd, "unknown implementation '%s' (known: %sall, best)", name,
                              names);
    }
    return add_impl(c->s, c->cmd, impl);
}

int pb_sel_impls(pb_selection *s, const char *cmd, const char *list)
{
    struct impl_ctx c = {s, cmd};
    if (!list || !*list) return pb_usage_error(cmd, "--impl needs a name");
    return each_item(list, impl_item, &c);
}

static int add_problem(pb_selection *s, const char *cmd, const char *text, const char *suite)
{
    pb_sel_problem p = {.suite = suite};
    char msg[256];
    pb_desc_init(&p.desc);
    pb_status st = pb_problem_parse(text, &p.desc, msg, sizeof msg);
    if (st != PB_OK) return pb_usage_error(cmd, "%s", msg);
    snprintf(p.text, sizeof p.text, "%s", text);
    pb_sel_problem *grown = realloc(s->problems, (s->n_problems + 1) * sizeof *grown);
    if (!grown) return pb_usage_error(cmd, "out of memory");
    s->problems = grown;
    s->problems[s->n_problems++] = p;
    return 0;
}

static int suite_item(void *vctx, const char *name)
{
    struct impl_ctx *c = vctx;
    if (strcmp(name, "all") == 0) {
        for (size_t i = 0; i < pb_suite_count(); i++)
            if (suite_item(vctx, pb_suite_get(i)->name)) return PB_EXIT_USAGE;
        return 0;
    }
    const pb_suite *su = pb_suite_find(name);
    if (!su) {
        char names[512] = "";
        for (size_t i = 0; i < pb_suite_count(); i++) {
            if (i) strncat(names, ", ", sizeof names - strlen(names) - 1);
            strncat(names, pb_suite_get(i)->name, sizeof names - strlen(names) - 1);
        }
        return pb_usage_error(c->cmd, "unknown suite '%s' (known: %s, all)", name, names);
    }
    for (size_t i = 0; i < su->count; i++)
        if (add_problem(c->s, c->cmd, su->problems[i], su->name)) return PB_EXIT_USAGE;
    return 0;
}

int pb_sel_suites(pb_selection *s, const char *cmd, const char *list)
{
    struct impl_ctx c = {s, cmd};
    if (!list || !*list) return pb_usage_error(cmd, "--suite needs a name");
    return each_item(list, suite_item, &c);
}

int pb_sel_add_problem(pb_selection *s, const char *cmd, const char *text)
{
    if (!text || !*text) return pb_usage_error(cmd, "--problem needs a problem string");
    return add_problem(s, cmd, text, NULL);
}

struct mask_ctx { unsigned *mask; const char *cmd; const char *what; };

static int mask_item(void *vctx, const char *name)
{
    struct mask_ctx *c = vctx;
    /* by name: PB_ALL_ALGS and PB_ALL_DIRS are the same bits (three each) */
    enum { ALG, LAYOUT, DIR } kind = strcmp(c->what, "alg") == 0      ? ALG
                                     : strcmp(c->what, "layout") == 0 ? LAYOUT
                                                                      : DIR;
    unsigned all = kind == ALG ? PB_ALL_ALGS : kind == LAYOUT ? PB_ALL_LAYOUTS : PB_ALL_DIRS;
    if (strcmp(name, "all") == 0) {
        *c->mask |= all;
        return 0;
    }
    pb_status st;
    unsigned bit;
    if (kind == ALG) {
        pb_alg v;
        st = pb_alg_parse(name, &v);
        bit = PB_BIT(v);
    } else if (kind == LAYOUT) {
        pb_layout v;
        st = pb_layout_parse(name, &v);
        bit = PB_BIT(v);
    } else {
        pb_dir v;
        st = pb_dir_parse(name, &v);
        bit = PB_BIT(v);
    }
    if (st != PB_OK) {
        const char *known = kind == ALG      ? "max, avg_incl, avg_excl, all"
                            : kind == LAYOUT ? "nchw, nhwc, all"
                                             : "fwd_inf, fwd_train, bwd, all";
        return pb_usage_error(c->cmd, "unknown %s '%s' (known: %s)", c->what, name, known);
    }
    *c->mask |= bit;
    return 0;
}

int pb_sel_mask(unsigned *mask, const char *cmd, const char *what, const char *list)
{
    struct mask_ctx c = {mask, cmd, what};
    if (!list || !*list) return pb_usage_error(cmd, "--%s needs a value", what);
    return each_item(list, mask_item, &c);
}

int pb_sel_seed(pb_selection *s, const char *cmd, const char *text)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text ? text : "", &end, 0);
    if (!text || !*text || *end || errno || text[0] == '-')
        return pb_usage_error(cmd, "--seed '%s' is not a non-negative integer", text ? text : "");
    s->seed = v;
    return 0;
}

int pb_sel_finish(pb_selection *s, const char *cmd, const char *default_suites)
{
    if (s->n_impls == 0)
        for (size_t i = 0; i < pb_impl_count(); i++)
            if (add_impl(s, cmd, pb_impl_get(i))) return PB_EXIT_USAGE;
    if (s->n_problems == 0 && pb_sel_suites(s, cmd, default_suites)) return PB_EXIT_USAGE;
    if (!s->algs) s->algs = PB_ALL_ALGS;
    if (!s->layouts) s->layouts = PB_ALL_LAYOUTS;
    if (!s->dirs) s->dirs = PB_ALL_DIRS;
    return 0;
}

void pb_sel_free(pb_selection *s)
{
    free(s->problems);
    s->problems = NULL;
    s->n_problems = 0;
}

const pb_impl *pb_sel_resolve(const pb_impl *impl, const pb_desc *d, pb_dir dir)
{
    return impl == &pb_best_marker ? pb_impl_best(d, dir) : impl;
}
