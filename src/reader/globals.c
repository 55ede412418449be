/* globals.c — what the globals named in a pickle mean, without calling them.
 *
 * A weight file's pickle names globals (torch._utils._rebuild_tensor_v2,
 * collections.OrderedDict, torch.FloatStorage, ...) and asks the unpickler
 * to call them.  This file is a fixed table of the globals rcc understands
 * and, for each, the value the call would have produced, built from inert
 * data.  Every other global is "inert": a call of it yields a PV_OBJECT
 * recording the global's name, its arguments and its BUILD state, which is
 * all a later pass needs to rebuild a whole pickled module.  A short list
 * of globals that only an attack would name (os.system, builtins.eval, ...)
 * makes the file unreadable: there is no reason to read further.
 *
 * Argument shapes are checked exactly (arity, types); a tensor is checked
 * against its storage by pt_tensor_new before it exists.
 */
#include <string.h>

#include "internal.h"

#define STORAGE(n, t) {"torch", n, GL_STORAGE_TYPE, t, #t}
#define DTYPE(n, t)   {"torch", n, GL_TORCH_DTYPE, t, n}

static const Global table[] = {
    {"collections", "OrderedDict", GL_ORDERED_DICT, -1, NULL},
    {"builtins", "dict", GL_DICT, -1, NULL},
    {"__builtin__", "dict", GL_DICT, -1, NULL},
    {"builtins", "set", GL_SET, -1, NULL},
    {"__builtin__", "set", GL_SET, -1, NULL},
    {"builtins", "frozenset", GL_FROZENSET, -1, NULL},
    {"__builtin__", "frozenset", GL_FROZENSET, -1, NULL},
    {"builtins", "bytearray", GL_BYTEARRAY, -1, NULL},
    {"__builtin__", "bytearray", GL_BYTEARRAY, -1, NULL},
    /* bytes() is how protocols 0-2 pickle b'' (bytearray's arguments, same result) */
    {"builtins", "bytes", GL_BYTEARRAY, -1, NULL},
    {"__builtin__", "bytes", GL_BYTEARRAY, -1, NULL},
    {"_codecs", "encode", GL_CODECS_ENCODE, -1, NULL},
    {"copy_reg", "_reconstructor", GL_RECONSTRUCTOR, -1, NULL},
    {"copyreg", "_reconstructor", GL_RECONSTRUCTOR, -1, NULL},
    {"torch._utils", "_rebuild_tensor_v2", GL_REBUILD_TENSOR_V2, -1, NULL},
    {"torch._utils", "_rebuild_tensor_v3", GL_REBUILD_TENSOR_V3, -1, NULL},
    {"torch._utils", "_rebuild_parameter", GL_REBUILD_PARAMETER, -1, NULL},
    {"torch._utils", "_rebuild_parameter_with_state", GL_REBUILD_PARAMETER_WITH_STATE, -1, NULL},
    {"torch._utils", "_rebuild_qtensor", GL_REBUILD_QTENSOR, -1, NULL},
    {"torch._tensor", "_rebuild_from_type_v2", GL_REBUILD_FROM_TYPE_V2, -1, NULL},
    {"torch", "device", GL_TORCH_DEVICE, -1, NULL},
    {"torch", "Size", GL_TORCH_SIZE, -1, NULL},
    {"torch", "Tensor", GL_TENSOR_CLASS, -1, NULL},
    {"torch._tensor", "Tensor", GL_TENSOR_CLASS, -1, NULL},
    {"torch.nn.parameter", "Parameter", GL_PARAMETER_CLASS, -1, NULL},
    {"numpy.core.multiarray", "scalar", GL_NP_SCALAR, -1, NULL},
    {"numpy._core.multiarray", "scalar", GL_NP_SCALAR, -1, NULL},
    {"numpy", "dtype", GL_NP_DTYPE, -1, NULL},
    STORAGE("FloatStorage", RCC_F32), STORAGE("DoubleStorage", RCC_F64),
    STORAGE("HalfStorage", RCC_F16), STORAGE("BFloat16Storage", RCC_BF16),
    STORAGE("LongStorage", RCC_I64), STORAGE("IntStorage", RCC_I32),
    STORAGE("ShortStorage", RCC_I16), STORAGE("CharStorage", RCC_I8),
    STORAGE("ByteStorage", RCC_U8), STORAGE("BoolStorage", RCC_BOOL),
    STORAGE("UntypedStorage", RCC_U8),
    STORAGE("ComplexFloatStorage", -1), STORAGE("ComplexDoubleStorage", -1),
    STORAGE("QInt32Storage", -1), STORAGE("QUInt8Storage", -1), STORAGE("QInt8Storage", -1),
    STORAGE("QUInt4x2Storage", -1), STORAGE("QUInt2x4Storage", -1),
    DTYPE("float32", RCC_F32), DTYPE("float", RCC_F32), DTYPE("float64", RCC_F64),
    DTYPE("double", RCC_F64), DTYPE("float16", RCC_F16), DTYPE("half", RCC_F16),
    DTYPE("bfloat16", RCC_BF16), DTYPE("int64", RCC_I64), DTYPE("long", RCC_I64),
    DTYPE("int32", RCC_I32), DTYPE("int", RCC_I32), DTYPE("int16", RCC_I16),
    DTYPE("short", RCC_I16), DTYPE("int8", RCC_I8), DTYPE("uint8", RCC_U8), DTYPE("bool", RCC_BOOL),
    DTYPE("complex32", -1), DTYPE("complex64", -1), DTYPE("complex128", -1), DTYPE("cfloat", -1),
    DTYPE("cdouble", -1), DTYPE("uint16", -1), DTYPE("uint32", -1), DTYPE("uint64", -1),
    DTYPE("float8_e4m3fn", -1), DTYPE("float8_e5m2", -1), DTYPE("float8_e4m3fnuz", -1),
    DTYPE("float8_e5m2fnuz", -1), DTYPE("qint8", -1), DTYPE("quint8", -1), DTYPE("qint32", -1),
    /* Exact names that only code execution would use. */
    {"builtins", "eval", GL_UNSAFE, -1, NULL}, {"builtins", "exec", GL_UNSAFE, -1, NULL},
    {"builtins", "compile", GL_UNSAFE, -1, NULL}, {"builtins", "open", GL_UNSAFE, -1, NULL},
    {"builtins", "getattr", GL_UNSAFE, -1, NULL}, {"builtins", "setattr", GL_UNSAFE, -1, NULL},
    {"builtins", "delattr", GL_UNSAFE, -1, NULL}, {"builtins", "__import__", GL_UNSAFE, -1, NULL},
    {"builtins", "breakpoint", GL_UNSAFE, -1, NULL}, {"builtins", "input", GL_UNSAFE, -1, NULL},
    {"builtins", "globals", GL_UNSAFE, -1, NULL}, {"builtins", "vars", GL_UNSAFE, -1, NULL},
    {"__builtin__", "eval", GL_UNSAFE, -1, NULL}, {"__builtin__", "exec", GL_UNSAFE, -1, NULL},
    {"__builtin__", "execfile", GL_UNSAFE, -1, NULL}, {"__builtin__", "compile", GL_UNSAFE, -1, NULL},
    {"__builtin__", "open", GL_UNSAFE, -1, NULL}, {"__builtin__", "file", GL_UNSAFE, -1, NULL},
    {"__builtin__", "getattr", GL_UNSAFE, -1, NULL}, {"__builtin__", "apply", GL_UNSAFE, -1, NULL},
    {"__builtin__", "__import__", GL_UNSAFE, -1, NULL},
    {"functools", "partial", GL_UNSAFE, -1, NULL}, {"operator", "attrgetter", GL_UNSAFE, -1, NULL},
    {"operator", "itemgetter", GL_UNSAFE, -1, NULL}, {"operator", "methodcaller", GL_UNSAFE, -1, NULL},
    {"torch.serialization", "load", GL_UNSAFE, -1, NULL}, {"torch", "load", GL_UNSAFE, -1, NULL},
    {"torch.jit", "load", GL_UNSAFE, -1, NULL},
};

/* Whole modules (and their submodules) that a weight file never needs. */
static const char *const unsafe_modules[] = {
    "os", "posix", "nt", "subprocess", "sys", "runpy", "shutil", "socket", "ctypes", "pty",
    "pdb", "bdb", "webbrowser", "importlib", "pickle", "_pickle", "marshal", "code", "codeop",
    "commands", "asyncio", "multiprocessing", "threading", "signal", "timeit", "pydoc", "venv",
    "pip", "ensurepip", "httplib", "http", "urllib", "requests", "ftplib", "smtplib", "telnetlib",
    "tempfile", "glob", "io", "_io", "pathlib", "platform", "cProfile", "profile", "trace",
    "doctest", "idlelib", "lib2to3", "distutils", "setuptools", "torch._dynamo",
    "torch._inductor", "torch.fx", "torch.utils.cpp_extension", "torch.ops", "torch._ops",
};

static int module_matches(const char *module, const char *m)
{
    size_t n = strlen(m);
    return strncmp(module, m, n) == 0 && (module[n] == 0 || module[n] == '.');
}

const Global *gl_lookup(const char *module, const char *name)
{
    static const Global unsafe = {"", "", GL_UNSAFE, -1, NULL};
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (strcmp(table[i].module, module) == 0 && strcmp(table[i].name, name) == 0)
            return &table[i];
    for (size_t i = 0; i < sizeof unsafe_modules / sizeof *unsafe_modules; i++)
        if (module_matches(module, unsafe_modules[i]))
            return &unsafe;
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

/* _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])
 * _rebuild_tensor_v3(storage, offset, size, stride, requires_grad, hooks, dtype[, metadata]) */
static Pv *rebuild_tensor(Arena *a, const Pv *fn, const Pv *args, int v3, Err *err)
{
    if (arity(fn, args, v3 ? 7 : 6, v3 ? 8 : 7, err) < 0)
        return NULL;
    Pv *s = arg(args, 0);
    if (s->kind != PV_STORAGE) {
        err_set(err, "%s: first argument is not a storage", fn->u.glob.qualname);
        return NULL;
    }
    rcc_dtype dt = s->u.storage->dtype;
    if (v3) {
        Pv *d = arg(args, 6);
        if (d->kind != PV_DTYPE || !d->u.dtype.known) {
            err_set(err, "%s: unsupported dtype %s", fn->u.glob.qualname,
                    d->kind == PV_DTYPE ? d->u.dtype.name : pv_kind_name(d->kind));
            return NULL;
        }
        dt = d->u.dtype.t;
    }
    int rg = bool_arg(fn, arg(args, 4), "requires_grad", err);
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

static Pv *dict_from_pairs(Arena *a, const Pv *fn, const Pv *args, Err *err)
{
    Pv *d = pv_new(a, PV_DICT);
    if (!d)
        return NULL;
    d->depth = 1;
    d->ordered = 1;
    if (args->u.seq.n == 0)
        return d;
    Pv *items = arg(args, 0);
    if (args->u.seq.n != 1 || (items->kind != PV_LIST && items->kind != PV_TUPLE)) {
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
        {"i2", RCC_I16}, {"i1", RCC_I8}, {"u1", RCC_U8}, {"b1", RCC_BOOL},
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
        raw->u.str.len != rcc_dtype_size(d->u.dtype.t) || d->u.dtype.t == RCC_F16) {
        err_set(err, "%s: unsupported numpy scalar", fn->u.glob.qualname);
        return NULL;
    }
    uint8_t b[8] = {0};
    size_t n = raw->u.str.len;
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)raw->u.str.s[d->u.dtype.big_endian ? n - 1 - i : i];
    rcc_dtype t = d->u.dtype.t;
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
    default: v->u.i = (int64_t)u; break;
    }
    return v;
}

static Pv *inert(Arena *a, const Pv *fn, Pv *args)
{
    Pv *o = pv_new(a, PV_OBJECT);
    if (!o)
        return NULL;
    o->u.obj.qualname = fn->u.glob.qualname;
    o->u.obj.args = args;
    o->depth = args->depth + 1;
    return o;
}

Pv *gl_call(Arena *a, const PkHooks *h, Pv *fn, Pv *args, Err *err)
{
    const Global *g = fn->u.glob.known;
    Pv *v;
    switch (g ? g->kind : GL_INERT) {
    case GL_ORDERED_DICT:
    case GL_DICT:
        v = dict_from_pairs(a, fn, args, err);
        if (v)
            v->ordered = g->kind == GL_ORDERED_DICT;
        return v;
    case GL_SET:
    case GL_FROZENSET:
        if (arity(fn, args, 0, 1, err) < 0)
            return NULL;
        if (!(v = pv_new(a, PV_SET)))
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
    case GL_REBUILD_TENSOR_V2:
    case GL_REBUILD_TENSOR_V3:
        return rebuild_tensor(a, fn, args, g->kind == GL_REBUILD_TENSOR_V3, err);
    case GL_REBUILD_PARAMETER:
        return rebuild_parameter(a, fn, args, 3, err);
    case GL_REBUILD_PARAMETER_WITH_STATE:
        return rebuild_parameter(a, fn, args, 4, err);
    case GL_REBUILD_FROM_TYPE_V2: {
        /* (func, new_type, args, state): a tensor subclass; rebuild the tensor. */
        if (arity(fn, args, 4, 4, err) < 0)
            return NULL;
        Pv *f = arg(args, 0), *inner = arg(args, 2);
        if (f->kind != PV_GLOBAL || inner->kind != PV_TUPLE) {
            err_set(err, "%s: malformed arguments", fn->u.glob.qualname);
            return NULL;
        }
        v = gl_call(a, h, f, inner, err);
        Pv *type = arg(args, 1);
        if (v && v->kind == PV_TENSOR && type->kind == PV_GLOBAL && type->u.glob.known &&
            type->u.glob.known->kind == GL_PARAMETER_CLASS)
            v->u.tensor->is_parameter = 1;
        return v;
    }
    case GL_REBUILD_QTENSOR:
        err_set(err, "quantized tensors are not supported");
        return NULL;
    case GL_TORCH_DEVICE:
        if (arity(fn, args, 1, 2, err) < 0)
            return NULL;
        return arg(args, 0)->kind == PV_STR ? arg(args, 0) : inert(a, fn, args);
    case GL_TORCH_SIZE:
        if (arity(fn, args, 1, 1, err) < 0)
            return NULL;
        return arg(args, 0);
    case GL_NP_DTYPE:
        return np_dtype(a, fn, args, err);
    case GL_NP_SCALAR:
        return np_scalar(a, fn, args, err);
    case GL_RECONSTRUCTOR:
        /* copyreg._reconstructor(cls, base, state): an instance of cls. */
        if (arity(fn, args, 3, 3, err) < 0)
            return NULL;
        if (arg(args, 0)->kind != PV_GLOBAL) {
            err_set(err, "%s: first argument is not a class", fn->u.glob.qualname);
            return NULL;
        }
        return inert(a, arg(args, 0), args);
    case GL_STORAGE_TYPE:
    case GL_TORCH_DTYPE:
        err_set(err, "unexpected call of %s", fn->u.glob.qualname);
        return NULL;
    case GL_UNSAFE:   /* refused at GLOBAL already */
        err_set(err, "unsafe global %s", fn->u.glob.qualname);
        return NULL;
    case GL_TENSOR_CLASS:
    case GL_PARAMETER_CLASS:
    case GL_INERT:
        break;
    }
    return inert(a, fn, args);
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
