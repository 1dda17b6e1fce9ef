/* The registry: the table built from impls.def, lookup, acceptance and the
 * `best` choice.  Nothing else in the project keeps a list of kernels. */
#include "pool.h"

#include <string.h>

#define PB_IMPL(name) extern const pb_impl pb_impl_##name;
#include "impls.def"
#undef PB_IMPL

static const pb_impl *const table[] = {
#define PB_IMPL(name) &pb_impl_##name,
#include "impls.def"
#undef PB_IMPL
};

size_t pb_impl_count(void) { return sizeof table / sizeof table[0]; }

const pb_impl *pb_impl_get(size_t i) { return i < pb_impl_count() ? table[i] : NULL; }

const pb_impl *pb_impl_find(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < pb_impl_count(); i++)
        if (strcmp(table[i]->name, name) == 0) return table[i];
    return NULL;
}

const pb_impl *pb_impl_reference(void)
{
    for (size_t i = 0; i < pb_impl_count(); i++)
        if (table[i]->is_reference) return table[i];
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
    for (size_t i = 0; i < pb_impl_count(); i++) {
        const pb_impl *im = table[i];
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
