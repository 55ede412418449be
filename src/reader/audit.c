/* audit.c — what torch.load would do with a file's pickles.
 *
 * rcc executes nothing, but its users decide from its output whether a
 * file is safe to hand to torch.load.  A denylist of dangerous globals
 * cannot answer that (any importable callable will do for an attacker),
 * so the VM classifies every call instead (globals.c): the calls rcc
 * interprets, class instantiations with a plain state, and everything
 * else, which torch.load would make with the file's arguments.  This file
 * keeps the record: each global named, with the most dangerous use it is
 * put to, and each code call rendered with its arguments; and from it the
 * verdict.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* What torch.load(weights_only=True) resolves (PyTorch 2.x's
 * _get_allowed_globals, without add_safe_globals), besides the tensor and
 * storage classes and dtypes matched by name below. */
static const char *const weights_only_names[] = {
    "collections.OrderedDict", "torch.nn.parameter.Parameter", "torch.serialization._get_layout",
    "torch.Size", "torch.Tensor", "torch.device", "_codecs.encode", "builtins.bytearray", "builtins.set",
    "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
    "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3",
    "torch._utils._rebuild_sparse_tensor", "torch._utils._rebuild_meta_tensor_no_storage",
    "torch._utils._rebuild_sparse_csr_tensor", "torch._utils._rebuild_wrapper_subclass",
    "torch._utils._rebuild_qtensor", "torch._utils._rebuild_nested_tensor",
    "torch._tensor._rebuild_from_type_v2",
};

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

int audit_weights_only(const char *name)
{
    /* Protocol 2 names Python 3's builtins as Python 2 did; the
     * unpickler maps them back (_compat_pickle), and so does torch's. */
    if (strncmp(name, "__builtin__.", 12) == 0) {
        char py3[300];
        snprintf(py3, sizeof py3, "builtins.%s", name + 12);
        return audit_weights_only(py3);
    }
    for (size_t i = 0; i < sizeof weights_only_names / sizeof *weights_only_names; i++)
        if (strcmp(name, weights_only_names[i]) == 0)
            return 1;
    /* torch.FloatStorage, torch.cuda.HalfTensor, torch.float32, ... */
    const char *rest = strncmp(name, "torch.cuda.", 11) == 0 ? name + 11
                     : strncmp(name, "torch.", 6) == 0 ? name + 6 : NULL;
    if (!rest || strchr(rest, '.'))
        return 0;
    if (ends_with(rest, "Storage") || ends_with(rest, "Tensor"))
        return 1;
    const char *dot = strrchr(name, '.');
    const Global *g = dot ? gl_lookup("torch", dot + 1) : NULL;
    return g && g->kind == GL_TORCH_DTYPE && rest == name + 6;
}

/* The global's record, made on first sight; NULL when out of memory. */
static rcc_global *find_or_add(Audit *au, Arena *a, const char *name, size_t at)
{
    uint32_t h = (uint32_t)util_hash(name, strlen(name));
    if (au->slots)
        for (size_t j = h & (au->slots_cap - 1); au->slots[j].index; j = (j + 1) & (au->slots_cap - 1))
            if (au->slots[j].hash == h && strcmp(au->globals[au->slots[j].index - 1].name, name) == 0)
                return &au->globals[au->slots[j].index - 1];
    if (au->nglobals >= UINT32_MAX / 4)
        return NULL;
    if ((au->nglobals + 1) * 2 > au->slots_cap) {   /* regrow the index, at most half full */
        size_t cap = au->slots_cap ? au->slots_cap * 2 : 64;
        HashSlot *ns = arena_array(a, cap, sizeof *ns);
        if (!ns)
            return NULL;
        for (size_t i = 0; i < au->nglobals; i++) {
            const char *n = au->globals[i].name;
            uint32_t hi = (uint32_t)util_hash(n, strlen(n));
            size_t j = hi & (cap - 1);
            while (ns[j].index)
                j = (j + 1) & (cap - 1);
            ns[j] = (HashSlot){hi, (uint32_t)i + 1};
        }
        au->slots = ns;
        au->slots_cap = cap;
    }
    if (arena_grow(a, (void **)&au->globals, &au->globals_cap, au->nglobals + 1, sizeof *au->globals) < 0)
        return NULL;
    rcc_global *g = &au->globals[au->nglobals++];
    if (!(g->name = arena_strndup(a, name, strlen(name))))
        return NULL;
    g->weights_only = audit_weights_only(name);
    g->record = au->record;
    g->offset = at;
    size_t j = h & (au->slots_cap - 1);
    while (au->slots[j].index)
        j = (j + 1) & (au->slots_cap - 1);
    au->slots[j] = (HashSlot){h, (uint32_t)au->nglobals};
    return g;
}

int audit_global(Audit *au, Arena *a, const char *name, size_t at)
{
    rcc_global *g = find_or_add(au, a, name, at);
    if (!g)
        return -1;
    g->references++;
    return 0;
}

int audit_call(Audit *au, Arena *a, const char *name, const char *callable, rcc_use use, const char *text,
               size_t at)
{
    rcc_global *g = name ? find_or_add(au, a, name, at) : NULL;
    if (name && !g)
        return -1;
    if (g) {
        g->calls++;
        if (use > g->use)
            g->use = use;
        callable = g->name;
    }
    if (use != RCC_USE_CODE)
        return 0;
    au->ncode++;
    if (au->ncalls >= AUDIT_MAX_CALLS)
        return 0;
    if (arena_grow(a, (void **)&au->calls, &au->calls_cap, au->ncalls + 1, sizeof *au->calls) < 0)
        return -1;
    au->calls[au->ncalls++] = (rcc_call){.text = text, .callable = callable, .record = au->record, .offset = at};
    return 0;
}

rcc_verdict audit_verdict(const Audit *au)
{
    if (au->ncode)
        return RCC_RUNS_CODE;
    rcc_verdict v = RCC_SAFE;
    for (size_t i = 0; i < au->nglobals; i++) {
        if (au->globals[i].use == RCC_USE_CLASS || !au->globals[i].weights_only)
            v = RCC_NEEDS_CLASSES;
    }
    return v;
}

/* ------------------------------------------------------------ accessors */

rcc_verdict rcc_load_verdict(const rcc_file *f) { return audit_verdict(&f->audit); }
size_t rcc_global_count(const rcc_file *f) { return f->audit.nglobals; }
size_t rcc_call_count(const rcc_file *f) { return f->audit.ncalls; }
const char *rcc_scan_error(const rcc_file *f) { return f->audit.error; }

const rcc_global *rcc_global_at(const rcc_file *f, size_t i)
{
    return i < f->audit.nglobals ? &f->audit.globals[i] : NULL;
}

const rcc_call *rcc_call_at(const rcc_file *f, size_t i)
{
    return i < f->audit.ncalls ? &f->audit.calls[i] : NULL;
}
