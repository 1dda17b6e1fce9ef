/* The registry: the table built from impls.def, lookup, acceptance and the
 * `best` choice.  Nothing else in the project keeps a list of kernels. */
#include "pool.h"

#include <pthread.h>
#include <string.h>

#define PB_IMPL(name) extern const pb_impl pb_impl_##name;
#include "impls.def"
#undef PB_IMPL

static const pb_impl *const listed[] = {
#define PB_IMPL(name) &pb_impl_##name,
#include "impls.def"
#undef PB_IMPL
};
#define N_IMPLS (sizeof listed / sizeof listed[0])

/* The table in priority order, highest first, sorted once: impls.def is
 * merged by union (its lines may land in any order), and everything that
 * enumerates the registry should see the order `best` uses.  Insertion
 * sort keeps equal priorities in file order. */
static const pb_impl *table[N_IMPLS];

static void sort_table(void)
{
    for (size_t i = 0; i < N_IMPLS; i++) {
        size_t j = i;
        for (; j > 0 && table[j - 1]->priority < listed[i]->priority; j--) table[j] = table[j - 1];
        table[j] = listed[i];
    }
}

static void ensure_sorted(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sort_table);
}

size_t pb_impl_count(void) { return N_IMPLS; }

const pb_impl *pb_impl_get(size_t i)
{
    ensure_sorted();
    return i < N_IMPLS ? table[i] : NULL;
}

const pb_impl *pb_impl_find(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < N_IMPLS; i++)
        if (strcmp(listed[i]->name, name) == 0) return listed[i];
    return NULL;
}

const pb_impl *pb_impl_reference(void)
{
    for (size_t i = 0; i < N_IMPLS; i++)
        if (listed[i]->is_reference) return listed[i];
    return NULL;
}

bool pb_impl_accepts(const pb_impl *impl, const pb_desc *d, pb_dir dir, const char **why)
{
    const char *dummy;
    if (!why) why = &dummy;
    if (!impl || !d) {
        *why = "null implementation or descriptor";
        return false;
    }
    if ((unsigned)dir >= PB_DIR_COUNT || !(impl->dirs & PB_BIT(dir))) {
        *why = "direction not supported";
        return false;
    }
    if (!(impl->algs & PB_BIT(d->alg))) {
        *why = "algorithm not supported";
        return false;
    }
    if (!(impl->layouts & PB_BIT(d->layout))) {
        *why = "layout not supported";
        return false;
    }
    if (d->dtype != PB_DT_F32) {
        *why = "data type not supported";
        return false;
    }
    if (!pb_cpu_can_run(impl->isa, why)) return false;
    if (impl->supports && !impl->supports(d, dir, why)) return false;
    return true;
}

const pb_impl *pb_impl_best(const pb_desc *d, pb_dir dir)
{
    const pb_impl *best = NULL;
    for (size_t i = 0; i < N_IMPLS; i++) {
        const pb_impl *im = listed[i];
        if (im->external || (im->parallel && d->threads == 1) ||
            !pb_impl_accepts(im, d, dir, NULL))
            continue;
        if (!best || im->priority > best->priority) best = im;
    }
    return best ? best : pb_impl_reference();
}

pb_status pb_impl_run(const pb_impl *impl, const pb_desc *d, pb_dir dir, const pb_args *a)
{
    if (!impl || !d || !a) return PB_ERR_NULL;
    const char *why;
    if (!pb_impl_accepts(impl, d, dir, &why))
        return pb_cpu_can_run(impl->isa, NULL) ? PB_ERR_UNSUPPORTED : PB_ERR_ISA;
    void *state = NULL;
    pb_status st = impl->prepare ? impl->prepare(d, dir, a, &state) : PB_OK;
    if (st != PB_OK) return st;
    st = dir == PB_DIR_BWD ? impl->bwd(d, a, state) : impl->fwd(d, a, state);
    if (impl->release) impl->release(state);
    return st;
}
