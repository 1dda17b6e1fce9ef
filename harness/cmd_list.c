/* poolbench list: the registry and the suites, and what this CPU can run. */
#include <stdio.h>
#include <string.h>

#include "cmd_common.h"
#include "problem.h"

static void mask_names(char *buf, size_t len, unsigned mask, unsigned count,
                       const char *(*name)(unsigned))
{
    buf[0] = '\0';
    for (unsigned i = 0; i < count; i++)
        if (mask & PB_BIT(i)) {
            if (buf[0]) strncat(buf, ",", len - strlen(buf) - 1);
            strncat(buf, name(i), len - strlen(buf) - 1);
        }
}

static const char *alg_n(unsigned i) { return pb_alg_name((pb_alg)i); }
static const char *layout_n(unsigned i) { return pb_layout_name((pb_layout)i); }
static const char *dir_n(unsigned i) { return pb_dir_name((pb_dir)i); }

int pb_cmd_list(int argc, char **argv)
{
    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0) {
            printf("usage: poolbench list\n  Lists implementations (ISA, algorithms, layouts, "
                   "directions, whether this CPU runs them) and the built-in suites.\n");
            return PB_EXIT_OK;
        }
        return pb_usage_error("list", "unexpected argument '%s'", argv[1]);
    }
    printf("CPU ISA: %s", pb_isa_name(pb_cpu_isa()));
    const char *why;
    for (int i = 0; i < PB_ISA_COUNT; i++)
        if (!pb_cpu_can_run((pb_isa)i, &why)) {
            printf(" (%s: %s)", pb_isa_name((pb_isa)i), why);
            break;
        }
    printf("\n\nimplementations (priority order):\n");
    printf("  %-15s %-8s %-22s %-9s %-20s %s\n", "name", "isa", "algorithms", "layouts",
           "directions", "status");
    for (size_t i = 0; i < pb_impl_count(); i++) {
        const pb_impl *im = pb_impl_get(i);
        char algs[64], layouts[32], dirs[48];
        mask_names(algs, sizeof algs, im->algs, PB_ALG_COUNT, alg_n);
        mask_names(layouts, sizeof layouts, im->layouts, PB_LAYOUT_COUNT, layout_n);
        mask_names(dirs, sizeof dirs, im->dirs, PB_DIR_COUNT, dir_n);
        bool ok = pb_cpu_can_run(im->isa, &why);
        printf("  %-15s %-8s %-22s %-9s %-20s %s%s%s\n", im->name, pb_isa_name(im->isa), algs,
               layouts, dirs, ok ? "runs here" : "SKIPPED: ", ok ? "" : why,
               im->is_reference ? " (reference)" : im->external ? " (comparison backend)" : "");
        printf("  %-15s   %s\n", "", im->summary);
    }
    printf("  %-15s   %s\n", "best", pb_best_marker.summary);
    printf("\nsuites:\n");
    for (size_t i = 0; i < pb_suite_count(); i++) {
        const pb_suite *s = pb_suite_get(i);
        printf("  %-10s %3zu problems  %s\n", s->name, s->count, s->summary);
    }
    return PB_EXIT_OK;
}
