/* globals.c — what the globals named in a pickle mean, without calling them.
 *
 * A weight file's pickle names globals (torch._utils._rebuild_tensor_v2,
 * collections.OrderedDict, torch.FloatStorage, ...) and asks the unpickler
 * to call them.  This file is an allowlist: a fixed table of the globals
 * rcc understands and, for each, the value the call would have produced,
 * built from inert data.  Every call is one of three kinds (rcc_use):
 *   interpreted  a table entry called as it is meant to be;
 *   class        an instance made without calling anything but the class's
 *                own __new__: NEWOBJ with no arguments, or
 *                copyreg._reconstructor(cls, object, None), which is what
 *                torch.save(model) writes for every module;
 *   code         anything else: a call torch.load would make with the
 *                file's arguments (os.system, getattr, a class's __init__).
 * There is no list of dangerous names: a global is safe to call only if it
 * is in the table.  A code call yields an inert PV_OBJECT recording the
 * callable and its arguments; the VM decides whether to go on (audit.c).
 *
 * Argument shapes are checked exactly (arity, types); a tensor is checked
 * against its storage by pt_tensor_new before it exists.
 */
#include <string.h>

#include "internal.h"

#define STORAGE(n, t) {"torch", n, GL_STORAGE_TYPE, t, #t}
#define DTYPE(n, t)   {"torch", n, GL_TORCH_DTYPE, t, n}
#define BUILTIN(n, k) {"builtins", n, k, -1, NULL}, {"__builtin__", n, k, -1, NULL}   /* Python 3, 2 */
#define VALUE(m, n)   {m, n, GL_VALUE, -1, NULL}
#define UNREAD(n, what) {"torch._utils", n, GL_REBUILD_UNSUPPORTED, -1, what}
#define PASS(n)       {"torch.jit._pickle", n, GL_PASS, -1, NULL}

static const Global table[] = {
    {"collections", "OrderedDict", GL_ORDERED_DICT, -1, NULL},
    {"collections", "Counter", GL_DICT, -1, NULL},
    {"collections", "defaultdict", GL_DEFAULTDICT, -1, NULL},
    {"collections", "deque", GL_LIST, -1, NULL},
    BUILTIN("dict", GL_DICT), BUILTIN("list", GL_LIST), BUILTIN("set", GL_SET),
    /* bytes() is how protocols 0-2 pickle b'' (bytearray's arguments, same result) */
    BUILTIN("frozenset", GL_FROZENSET), BUILTIN("bytearray", GL_BYTEARRAY), BUILTIN("bytes", GL_BYTEARRAY),
    BUILTIN("complex", GL_VALUE), BUILTIN("slice", GL_VALUE), BUILTIN("range", GL_VALUE),
    {"__builtin__", "xrange", GL_VALUE, -1, NULL},   /* range, as protocol 2 names it */
    {"_codecs", "encode", GL_CODECS_ENCODE, -1, NULL},
    {"copy_reg", "_reconstructor", GL_RECONSTRUCTOR, -1, NULL},
    {"copyreg", "_reconstructor", GL_RECONSTRUCTOR, -1, NULL},
    {"copy_reg", "__newobj__", GL_NEWOBJ, -1, NULL},
    {"copyreg", "__newobj__", GL_NEWOBJ, -1, NULL},
    {"torch._utils", "_rebuild_tensor", GL_REBUILD_TENSOR, -1, NULL},
    {"torch._utils", "_rebuild_tensor_v2", GL_REBUILD_TENSOR_V2, -1, NULL},
    {"torch._utils", "_rebuild_tensor_v3", GL_REBUILD_TENSOR_V3, -1, NULL},
    {"torch._utils", "_rebuild_parameter", GL_REBUILD_PARAMETER, -1, NULL},
    {"torch._utils", "_rebuild_parameter_with_state", GL_REBUILD_PARAMETER_WITH_STATE, -1, NULL},
    {"torch._tensor", "_rebuild_from_type_v2", GL_REBUILD_FROM_TYPE_V2, -1, NULL},
    UNREAD("_rebuild_qtensor", "quantized tensors"), UNREAD("_rebuild_sparse_tensor", "sparse tensors"),
    UNREAD("_rebuild_sparse_csr_tensor", "sparse compressed tensors"),
    UNREAD("_rebuild_meta_tensor_no_storage", "meta tensors (they hold no data)"),
    UNREAD("_rebuild_nested_tensor", "nested tensors"),
    UNREAD("_rebuild_wrapper_subclass", "tensor subclasses without storage"),
    UNREAD("_rebuild_device_tensor_from_numpy", "device tensors rebuilt from numpy arrays"),
    UNREAD("_rebuild_xla_tensor", "XLA tensors"), UNREAD("_rebuild_mtia_tensor", "MTIA tensors"),
    {"torch", "device", GL_TORCH_DEVICE, -1, NULL},
    {"torch", "Size", GL_TORCH_SIZE, -1, NULL},
    {"torch", "Tensor", GL_TENSOR_CLASS, -1, NULL},
    {"torch._tensor", "Tensor", GL_TENSOR_CLASS, -1, NULL},
    {"torch.nn.parameter", "Parameter", GL_PARAMETER_CLASS, -1, NULL},
    VALUE("torch.serialization", "_get_layout"),
    PASS("restore_type_tag"), PASS("build_intlist"), PASS("build_tensorlist"), PASS("build_doublelist"),
    PASS("build_boollist"),
    {"numpy.core.multiarray", "scalar", GL_NP_SCALAR, -1, NULL},
    {"numpy._core.multiarray", "scalar", GL_NP_SCALAR, -1, NULL},
    {"numpy.core.multiarray", "_reconstruct", GL_NP_RECONSTRUCT, -1, NULL},
    {"numpy._core.multiarray", "_reconstruct", GL_NP_RECONSTRUCT, -1, NULL},
    {"numpy", "dtype", GL_NP_DTYPE, -1, NULL},
    VALUE("argparse", "Namespace"), VALUE("functools", "partial"),
    VALUE("datetime", "datetime"), VALUE("datetime", "date"), VALUE("datetime", "time"),
    VALUE("datetime", "timedelta"), VALUE("datetime", "timezone"), VALUE("decimal", "Decimal"),
    VALUE("fractions", "Fraction"), VALUE("pathlib", "Path"), VALUE("pathlib", "PosixPath"),
    VALUE("pathlib", "WindowsPath"), VALUE("pathlib", "PurePath"), VALUE("pathlib", "PurePosixPath"),
    VALUE("pathlib", "PureWindowsPath"),
    STORAGE("FloatStorage", RCC_F32), STORAGE("DoubleStorage", RCC_F64),
    STORAGE("HalfStorage", RCC_F16), STORAGE("BFloat16Storage", RCC_BF16),
    STORAGE("LongStorage", RCC_I64), STORAGE("IntStorage", RCC_I32),
    STORAGE("ShortStorage", RCC_I16), STORAGE("CharStorage", RCC_I8),
    STORAGE("ByteStorage", RCC_U8), STORAGE("BoolStorage", RCC_BOOL),
    STORAGE("UntypedStorage", RCC_U8),
    STORAGE("ComplexFloatStorage", RCC_C64), STORAGE("ComplexDoubleStorage", RCC_C128),
    STORAGE("QInt32Storage", -1), STORAGE("QUInt8Storage", -1), STORAGE("QInt8Storage", -1),
    STORAGE("QUInt4x2Storage", -1), STORAGE("QUInt2x4Storage", -1),
    /* TorchScript's C++ pickler names a storage toString(ScalarType) +
     * "Storage" for every dtype, the new ones included (pickler.cpp) */
    STORAGE("Float8_e4m3fnStorage", RCC_F8E4M3FN), STORAGE("Float8_e5m2Storage", RCC_F8E5M2),
    STORAGE("Float8_e4m3fnuzStorage", RCC_F8E4M3FNUZ), STORAGE("Float8_e5m2fnuzStorage", RCC_F8E5M2FNUZ),
    STORAGE("Float8_e8m0fnuStorage", RCC_F8E8M0FNU), STORAGE("UInt16Storage", RCC_U16),
    STORAGE("UInt32Storage", RCC_U32), STORAGE("UInt64Storage", RCC_U64),
    STORAGE("ComplexHalfStorage", -1), STORAGE("Float4_e2m1fn_x2Storage", -1), STORAGE("Bits8Storage", -1),
    STORAGE("Bits16Storage", -1), STORAGE("Bits1x8Storage", -1), STORAGE("Bits2x4Storage", -1),
    STORAGE("Bits4x2Storage", -1),
    DTYPE("float32", RCC_F32), DTYPE("float", RCC_F32), DTYPE("float64", RCC_F64),
    DTYPE("double", RCC_F64), DTYPE("float16", RCC_F16), DTYPE("half", RCC_F16),
    DTYPE("bfloat16", RCC_BF16), DTYPE("int64", RCC_I64), DTYPE("long", RCC_I64),
    DTYPE("int32", RCC_I32), DTYPE("int", RCC_I32), DTYPE("int16", RCC_I16),
    DTYPE("short", RCC_I16), DTYPE("int8", RCC_I8), DTYPE("uint8", RCC_U8), DTYPE("bool", RCC_BOOL),
    /* PyTorch >= 2.1 pickles these with _rebuild_tensor_v3 on an UntypedStorage */
    DTYPE("complex64", RCC_C64), DTYPE("cfloat", RCC_C64), DTYPE("complex128", RCC_C128),
    DTYPE("cdouble", RCC_C128), DTYPE("uint16", RCC_U16), DTYPE("uint32", RCC_U32),
    DTYPE("uint64", RCC_U64), DTYPE("float8_e4m3fn", RCC_F8E4M3FN), DTYPE("float8_e5m2", RCC_F8E5M2),
    DTYPE("float8_e4m3fnuz", RCC_F8E4M3FNUZ), DTYPE("float8_e5m2fnuz", RCC_F8E5M2FNUZ),
    DTYPE("float8_e8m0fnu", RCC_F8E8M0FNU),
    /* dtypes rcc does not read: a tensor of one is refused, naming it */
    DTYPE("complex32", -1), DTYPE("chalf", -1), DTYPE("float4_e2m1fn_x2", -1), DTYPE("bits8", -1),
    DTYPE("bits16", -1), DTYPE("bits1x8", -1), DTYPE("bits2x4", -1), DTYPE("bits4x2", -1),
    DTYPE("qint8", -1), DTYPE("quint8", -1), DTYPE("qint32", -1), DTYPE("quint4x2", -1),
    DTYPE("quint2x4", -1), DTYPE("int1", -1), DTYPE("int2", -1), DTYPE("int3", -1), DTYPE("int4", -1),
    DTYPE("int5", -1), DTYPE("int6", -1), DTYPE("int7", -1), DTYPE("uint1", -1), DTYPE("uint2", -1),
    DTYPE("uint3", -1), DTYPE("uint4", -1), DTYPE("uint5", -1), DTYPE("uint6", -1), DTYPE("uint7", -1),
};

const Global *gl_lookup(const char *module, const char *name)
{
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (strcmp(table[i].module, module) == 0 && strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

/* ------------------------------------------------------------ arguments */

static Pv *arg(const Pv *args, size_t i) { return args->u.seq.v[i]; }

static int arity(const Pv *fn, const Pv *args, size_t lo, size_t hi, Err *err)
{
    if (args->u.seq.n < lo || args->u.seq.n > hi)
        return err_set(err, "%s called with %zu arguments", fn->u.glob.qualname, (size_t)args->u.seq.n);
    return 0;
}

static PtTensor *tensor_arg(const Pv *fn, const Pv *v, Err *err)
{
    if (v->kind != PV_TENSOR) {
        err_set(err, "%s expects a tensor, got %s", fn->u.glob.qualname, pv_kind_name(v->kind));
        return NULL;
    }
    return v->u.tensor;
}

static int bool_arg(const Pv *fn, const Pv *v, const char *what, Err *err)
{
    if (v->kind != PV_BOOL)
        return err_set(err, "%s: %s must be a bool, got %s", fn->u.glob.qualname, what,
                       pv_kind_name(v->kind));
    return v->u.b;
}

static Pv *tensor_value(Arena *a, PtTensor *t)
{
    Pv *v = pv_new(a, PV_TENSOR);
    if (v)
        v->u.tensor = t;
    return v;
}

/* _rebuild_tensor(storage, offset, size, stride)
 * _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])
 * _rebuild_tensor_v3(storage, offset, size, stride, requires_grad, hooks, dtype[, metadata]) */
static Pv *rebuild_tensor(Arena *a, const Pv *fn, const Pv *args, GlobalKind k, Err *err)
{
    int v3 = k == GL_REBUILD_TENSOR_V3, v1 = k == GL_REBUILD_TENSOR;
    if (arity(fn, args, v1 ? 4 : v3 ? 7 : 6, v1 ? 4 : v3 ? 8 : 7, err) < 0)
        return NULL;
    Pv *s = arg(args, 0);
    if (s->kind != PV_STORAGE) {
        err_set(err, "%s: first argument is not a storage", fn->u.glob.qualname);
        return NULL;
    }
    rcc_dtype dt = s->u.storage->dtype;
    if (v3) {
        Pv *d = arg(args, 6);
        if (d->kind != PV_DTYPE) {
            err_set(err, "%s: the dtype argument is %s", fn->u.glob.qualname,
                    d->kind == PV_GLOBAL ? d->u.glob.qualname : pv_kind_name(d->kind));
            return NULL;
        }
        if (!d->u.dtype.known) {
            err_set(err, "tensors of dtype torch.%s are not supported", d->u.dtype.name);
            return NULL;
        }
        dt = d->u.dtype.t;
    }
    int rg = v1 ? 0 : bool_arg(fn, arg(args, 4), "requires_grad", err);
    if (rg < 0)
        return NULL;
    PtTensor *t = pt_tensor_new(a, s->u.storage, dt, arg(args, 1), arg(args, 2), arg(args, 3), err);
    if (!t)
        return NULL;
    t->requires_grad = rg;
    return tensor_value(a, t);
}

/* A copy of a tensor that shares its storage, marked as a parameter. */
static Pv *rebuild_parameter(Arena *a, const Pv *fn, const Pv *args, size_t n, Err *err)
{
    if (arity(fn, args, n, n, err) < 0)
        return NULL;
    PtTensor *src = tensor_arg(fn, arg(args, 0), err);
    int rg = src ? bool_arg(fn, arg(args, 1), "requires_grad", err) : -1;
    if (rg < 0)
        return NULL;
    PtTensor *t = ARENA_NEW(a, PtTensor);
    if (!t)
        return NULL;
    *t = *src;
    t->requires_grad = rg;
    t->is_parameter = 1;
    return tensor_value(a, t);
}

/* bytes from a str of code points < 256 (latin-1), as _codecs.encode and
 * bytearray do for what protocol 2 writes. */
static Pv *latin1_bytes(Arena *a, const Pv *fn, const Pv *s, Err *err)
{
    Pv *b = pv_new(a, PV_BYTES);
    char *out = b ? arena_alloc(a, s->u.str.len + 1) : NULL;
    if (!out)
        return NULL;
    size_t n = 0;
    const uint8_t *p = (const uint8_t *)s->u.str.s, *end = p + s->u.str.len;
    while (p < end) {
        if (*p < 0x80) {
            out[n++] = (char)*p++;
        } else if ((*p == 0xC2 || *p == 0xC3) && end - p >= 2) {
            out[n++] = (char)(((p[0] & 0x1F) << 6) | (p[1] & 0x3F));
            p += 2;
        } else {
            err_set(err, "%s: character outside latin-1", fn->u.glob.qualname);
            return NULL;
        }
    }
    b->u.str.s = out;
    b->u.str.len = n;
    return b;
}

/* dict(pairs), OrderedDict(pairs), Counter(mapping), defaultdict(factory,
 * pairs): the items come from the first argument after skip ones. */
static Pv *dict_from_pairs(Arena *a, const Pv *fn, const Pv *args, size_t skip, Err *err)
{
    Pv *d = pv_new(a, PV_DICT);
    if (!d)
        return NULL;
    d->depth = 1;
    d->ordered = 1;
    if (args->u.seq.n <= skip)
        return d;
    Pv *items = arg(args, skip);
    if (args->u.seq.n != skip + 1) {
        err_set(err, "%s: unsupported arguments", fn->u.glob.qualname);
        return NULL;
    }
    if (items->kind == PV_DICT) {   /* a copy: either may be changed later */
        for (size_t i = 0; i < items->u.dict.n; i++)
            if (pv_dict_push(a, d, items->u.dict.keys[i], items->u.dict.vals[i]) < 0)
                return NULL;
        d->depth = items->depth;
        return d;
    }
    if (items->kind != PV_LIST && items->kind != PV_TUPLE) {
        err_set(err, "%s: unsupported arguments", fn->u.glob.qualname);
        return NULL;
    }
    for (size_t i = 0; i < items->u.seq.n; i++) {
        Pv *kv = items->u.seq.v[i];
        if ((kv->kind != PV_LIST && kv->kind != PV_TUPLE) || kv->u.seq.n != 2) {
            err_set(err, "%s: item %zu is not a pair", fn->u.glob.qualname, i);
            return NULL;
        }
        if (pv_dict_push(a, d, kv->u.seq.v[0], kv->u.seq.v[1]) < 0)
            return NULL;
    }
    d->depth = items->depth;
    return d;
}

/* numpy.dtype('f8', False, True): the element type named by its code. */
static Pv *np_dtype(Arena *a, const Pv *fn, const Pv *args, Err *err)
{
    static const struct { const char *code; rcc_dtype t; } codes[] = {
        {"f4", RCC_F32}, {"f8", RCC_F64}, {"f2", RCC_F16}, {"i8", RCC_I64}, {"i4", RCC_I32},
        {"i2", RCC_I16}, {"i1", RCC_I8}, {"u1", RCC_U8}, {"b1", RCC_BOOL}, {"u2", RCC_U16},
        {"u4", RCC_U32}, {"u8", RCC_U64}, {"c8", RCC_C64}, {"c16", RCC_C128},
    };
    if (arity(fn, args, 1, 3, err) < 0)
        return NULL;
    Pv *code = arg(args, 0);
    if (code->kind != PV_STR) {
        err_set(err, "%s: dtype code is not a str", fn->u.glob.qualname);
        return NULL;
    }
    Pv *d = pv_new(a, PV_DTYPE);
    if (!d)
        return NULL;
    d->u.dtype.name = code->u.str.s;
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++)
        if (strcmp(code->u.str.s, codes[i].code) == 0) {
            d->u.dtype.known = 1;
            d->u.dtype.t = codes[i].t;
        }
    return d;
}

/* numpy.core.multiarray.scalar(dtype, raw bytes): a Python int/float/bool. */
static Pv *np_scalar(Arena *a, const Pv *fn, const Pv *args, Err *err)
{
    if (arity(fn, args, 2, 2, err) < 0)
        return NULL;
    Pv *d = arg(args, 0), *raw = arg(args, 1);
    if (d->kind != PV_DTYPE || !d->u.dtype.known || raw->kind != PV_BYTES ||
        raw->u.str.len != rcc_dtype_size(d->u.dtype.t) || d->u.dtype.t == RCC_F16 ||
        rcc_dtype_kind(d->u.dtype.t) == 'c') {
        err_set(err, "%s: unsupported numpy scalar", fn->u.glob.qualname);
        return NULL;
    }
    uint8_t b[8] = {0};
    size_t n = raw->u.str.len;
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)raw->u.str.s[d->u.dtype.big_endian ? n - 1 - i : i];
    rcc_dtype t = d->u.dtype.t;
    if (t == RCC_U64 && b[7] & 0x80)   /* above int64: a Python long's bytes */
        return pv_strk(a, PV_BIGINT, (const char *)(uint8_t[9]){b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], 0}, 9);
    Pv *v = pv_new(a, t == RCC_F32 || t == RCC_F64 ? PV_FLOAT : t == RCC_BOOL ? PV_BOOL : PV_INT);
    if (!v)
        return NULL;
    uint64_t u = rd_u64(b);
    switch (t) {
    case RCC_F32: { float f; uint32_t w = (uint32_t)u; memcpy(&f, &w, 4); v->u.f = f; break; }
    case RCC_F64: memcpy(&v->u.f, &u, 8); break;
    case RCC_BOOL: v->u.b = b[0] != 0; break;
    case RCC_I32: v->u.i = (int32_t)u; break;
    case RCC_I16: v->u.i = (int16_t)u; break;
    case RCC_I8: v->u.i = (int8_t)u; break;
    case RCC_U8: v->u.i = (uint8_t)u; break;
    case RCC_U16: v->u.i = (uint16_t)u; break;
    case RCC_U32: v->u.i = (uint32_t)u; break;
    default: v->u.i = (int64_t)u; break;
    }
    return v;
}

/* An inert instance of the class or callable named name. */
static Pv *inert(Arena *a, const char *name, Pv *args)
{
    Pv *o = pv_new(a, PV_OBJECT);
    if (!o)
        return NULL;
    o->u.obj.qualname = name;
    o->u.obj.args = args;
    o->depth = args->depth + 1;
    return o;
}

/* A sequence copied into a new value of kind k (set, list). */
static Pv *seq_from(Arena *a, const Pv *fn, const Pv *args, PvKind k, size_t max, Err *err)
{
    if (arity(fn, args, 0, max, err) < 0)
        return NULL;
    Pv *v = pv_new(a, k);
    if (!v)
        return NULL;
    v->depth = 1;
    if (args->u.seq.n) {
        Pv *src = arg(args, 0);
        if (src->kind != PV_LIST && src->kind != PV_TUPLE && src->kind != PV_SET) {
            err_set(err, "%s: argument is not a sequence", fn->u.glob.qualname);
            return NULL;
        }
        v->u.seq = src->u.seq;
        v->depth = src->depth;
    }
    return v;
}

static int is_named(const Pv *v, const char *name)
{
    if (v->kind != PV_GLOBAL)
        return 0;
    const char *q = v->u.glob.qualname;
    return (strncmp(q, "builtins.", 9) == 0 && strcmp(q + 9, name) == 0) ||
           (strncmp(q, "__builtin__.", 12) == 0 && strcmp(q + 12, name) == 0);
}

/* copyreg._reconstructor(cls, base, state): base.__new__(cls, state), and
 * base.__init__(obj, state) unless base is object.  With base object or a
 * builtin container, that is an instance of cls made from data (what
 * protocols 0 and 1 write for every object); any other base's __init__ is
 * code.  *who is the global the call is charged to. */
static Pv *reconstructor(Arena *a, const Pv *fn, Pv *args, rcc_use *use, const char **who, Err *err)
{
    static const char *const plain[] = {"object", "dict", "list", "tuple", "set", "frozenset",
                                        "int", "float", "str", "bytes"};
    if (arity(fn, args, 3, 3, err) < 0)
        return NULL;
    Pv *cls = arg(args, 0), *base = arg(args, 1);
    if (cls->kind != PV_GLOBAL || base->kind != PV_GLOBAL) {
        err_set(err, "%s: the class or its base is not a global", fn->u.glob.qualname);
        return NULL;
    }
    *use = RCC_USE_CODE;   /* base.__init__(obj, state) */
    *who = base->u.glob.qualname;
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++)
        if (is_named(base, plain[i])) {
            *use = RCC_USE_CLASS;
            *who = cls->u.glob.qualname;
        }
    return inert(a, cls->u.glob.qualname, args);
}

Pv *gl_call(Arena *a, const PkHooks *h, CallOp op, Pv *fn, Pv *args, rcc_use *use, const char **who, Err *err)
{
    const Global *g = fn->u.glob.known;
    int scan = h && h->audit && h->audit->mode == AUDIT_SCAN;
    Pv *v;
    *use = RCC_USE_INTERPRETED;
    *who = fn->u.glob.qualname;
    /* NEWOBJ does not call the class: on a table entry it is a class
     * instantiation (argparse.Namespace), and only its __new__ runs. */
    if (op == CALL_NEWOBJ && (!g || g->kind == GL_VALUE || g->kind == GL_TENSOR_CLASS ||
                              g->kind == GL_PARAMETER_CLASS)) {
        if (!g || g->kind != GL_VALUE)
            *use = args->u.seq.n == 0 ? RCC_USE_CLASS : RCC_USE_CODE;
        return inert(a, fn->u.glob.qualname, args);
    }
    switch (g ? g->kind : GL_INERT) {
    case GL_ORDERED_DICT:
    case GL_DICT:
    case GL_DEFAULTDICT:
        if (g->kind == GL_DEFAULTDICT && arity(fn, args, 0, 2, err) < 0)
            return NULL;
        /* defaultdict(factory, ...): the factory is kept uncalled, as torch.load keeps it */
        v = dict_from_pairs(a, fn, args, g->kind == GL_DEFAULTDICT && args->u.seq.n, err);
        if (v)
            v->ordered = g->kind != GL_DICT;
        return v;
    case GL_SET:
    case GL_FROZENSET:
        return seq_from(a, fn, args, PV_SET, 1, err);
    case GL_LIST:
        return seq_from(a, fn, args, PV_LIST, 2, err);
    case GL_BYTEARRAY:
    case GL_CODECS_ENCODE:
        if (arity(fn, args, g->kind == GL_BYTEARRAY ? 0 : 2, 2, err) < 0)
            return NULL;
        if (args->u.seq.n == 0)
            return pv_new(a, PV_BYTES);
        if (arg(args, 0)->kind == PV_BYTES && args->u.seq.n == 1)
            return arg(args, 0);
        if (args->u.seq.n != 2 || arg(args, 0)->kind != PV_STR ||
            !(pv_is_str(arg(args, 1), "latin1") || pv_is_str(arg(args, 1), "latin-1"))) {
            err_set(err, "%s: only (str, 'latin1') is supported", fn->u.glob.qualname);
            return NULL;
        }
        return latin1_bytes(a, fn, arg(args, 0), err);
    case GL_REBUILD_TENSOR:
    case GL_REBUILD_TENSOR_V2:
    case GL_REBUILD_TENSOR_V3:
        return rebuild_tensor(a, fn, args, g->kind, err);
    case GL_REBUILD_PARAMETER:
        return rebuild_parameter(a, fn, args, 3, err);
    case GL_REBUILD_PARAMETER_WITH_STATE:
        return rebuild_parameter(a, fn, args, 4, err);
    case GL_REBUILD_FROM_TYPE_V2: {
        /* (func, new_type, args, state): a tensor subclass; rebuild the tensor. */
        if (arity(fn, args, 4, 4, err) < 0)
            return NULL;
        Pv *f = arg(args, 0), *inner = arg(args, 2), *type = arg(args, 1);
        if (f->kind != PV_GLOBAL || inner->kind != PV_TUPLE || type->kind != PV_GLOBAL) {
            err_set(err, "%s: malformed arguments", fn->u.glob.qualname);
            return NULL;
        }
        /* func(*args) is a call of its own, judged as one; a subclass
         * other than Parameter is a class torch.load imports. */
        v = gl_call(a, h, CALL_REDUCE, f, inner, use, who, err);
        if (*use == RCC_USE_INTERPRETED && !(type->u.glob.known && (type->u.glob.known->kind == GL_PARAMETER_CLASS ||
                                                                     type->u.glob.known->kind == GL_TENSOR_CLASS))) {
            *use = RCC_USE_CLASS;
            *who = type->u.glob.qualname;
        }
        if (v && v->kind == PV_TENSOR && type->u.glob.known && type->u.glob.known->kind == GL_PARAMETER_CLASS)
            v->u.tensor->is_parameter = 1;
        return v;
    }
    case GL_REBUILD_UNSUPPORTED:
        if (scan)
            return inert(a, fn->u.glob.qualname, args);
        err_set(err, "%s are not supported (%s)", g->dtype_name, fn->u.glob.qualname);
        return NULL;
    case GL_TORCH_DEVICE:
        if (arity(fn, args, 1, 2, err) < 0)
            return NULL;
        return arg(args, 0)->kind == PV_STR ? arg(args, 0) : inert(a, fn->u.glob.qualname, args);
    case GL_TORCH_SIZE:
        if (arity(fn, args, 1, 1, err) < 0)
            return NULL;
        return arg(args, 0);
    case GL_NP_DTYPE:
        return np_dtype(a, fn, args, err);
    case GL_NP_SCALAR:
        return np_scalar(a, fn, args, err);
    case GL_NP_RECONSTRUCT: {
        /* _reconstruct(ndarray, (0,), b'b'): an empty array its BUILD
         * fills; an ndarray subclass is a class torch.load imports. */
        if (arity(fn, args, 3, 3, err) < 0)
            return NULL;
        Pv *cls = arg(args, 0);
        if (cls->kind != PV_GLOBAL) {
            err_set(err, "%s: the array type is not a global", fn->u.glob.qualname);
            return NULL;
        }
        if (strcmp(cls->u.glob.qualname, "numpy.ndarray") != 0) {
            *use = RCC_USE_CLASS;
            *who = cls->u.glob.qualname;
        }
        return inert(a, cls->u.glob.qualname, args);
    }
    case GL_RECONSTRUCTOR:
        return reconstructor(a, fn, args, use, who, err);
    case GL_NEWOBJ: {
        /* copyreg.__newobj__(cls, *args) is cls.__new__(cls, *args): NEWOBJ
         * (of a class: itself is not one, so this recurses once at most) */
        if (args->u.seq.n == 0 || arg(args, 0)->kind != PV_GLOBAL ||
            (arg(args, 0)->u.glob.known && arg(args, 0)->u.glob.known->kind == GL_NEWOBJ)) {
            err_set(err, "%s: the first argument is not a class", fn->u.glob.qualname);
            return NULL;
        }
        Pv *rest = pv_new(a, PV_TUPLE);
        if (!rest)
            return NULL;
        rest->u.seq.v = args->u.seq.v + 1;
        rest->u.seq.n = rest->u.seq.cap = args->u.seq.n - 1;
        rest->depth = args->depth;
        return gl_call(a, h, CALL_NEWOBJ, arg(args, 0), rest, use, who, err);
    }
    case GL_VALUE:
        return inert(a, fn->u.glob.qualname, args);
    case GL_PASS:
        if (arity(fn, args, 1, 2, err) < 0)
            return NULL;
        return arg(args, 0);
    case GL_STORAGE_TYPE:
    case GL_TORCH_DTYPE:
    case GL_TENSOR_CLASS:
    case GL_PARAMETER_CLASS:
    case GL_INERT:
        break;
    }
    *use = RCC_USE_CODE;   /* a call rcc does not interpret: torch.load would make it */
    return inert(a, fn->u.glob.qualname, args);
}

int gl_build(Arena *a, Pv *obj, Pv *state, Err *err)
{
    (void)a;
    switch (obj->kind) {
    case PV_DICT:   /* OrderedDict.__setstate__: the state dict's _metadata */
        if (state->kind != PV_DICT && state->kind != PV_NONE)
            return err_set(err, "BUILD of a dict with a %s state", pv_kind_name(state->kind));
        return 0;
    case PV_OBJECT:
        obj->u.obj.state = state;
        return 0;
    case PV_DTYPE:  /* numpy dtype: (version, byteorder, ...) */
        if (state->kind == PV_TUPLE && state->u.seq.n >= 2 && state->u.seq.v[1]->kind == PV_STR) {
            obj->u.dtype.big_endian = pv_is_str(state->u.seq.v[1], ">");
            return 0;
        }
        return err_set(err, "BUILD of a numpy dtype with a malformed state");
    default:
        return err_set(err, "BUILD on a %s is not allowed", pv_kind_name(obj->kind));
    }
}
