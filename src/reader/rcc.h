/* rcc.h — the rcc runtime library: read PyTorch weight files safely.
 *
 * This is the one public header of librcc (pkg-config rcc).  Every name it
 * declares starts with rcc_ / RCC_.  The library never exits, never prints
 * and never executes anything found in a file: errors come back as values,
 * with a one-line message written into a caller-supplied buffer.
 *
 * A weight file is opened once (the file is mmap'ed and only its metadata
 * is parsed), its tensors are enumerated as read-only rcc_tensor records
 * owned by the rcc_file, and a tensor's data is read on request, as
 * contiguous elements in the tensor's own dtype or converted to float32.
 * One rcc_file may be read from several threads at once; it is freed by
 * rcc_close, which invalidates every pointer obtained from it.
 */
#ifndef RCC_H
#define RCC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define RCC_API __attribute__((visibility("default")))
#else
#define RCC_API
#endif

/* Element types: DESIGN.md's ten, then those of newer files (PyTorch >= 2.1
 * and safetensors), appended so that the first ten keep their values.
 * rcc_dtype_name gives the short name used by `rcc dump --json` ("f32",
 * "bf16", "f8e4m3fn", ...) and by specs.
 *   f8e4m3fn    FP8 E4M3, OCP: bias 7, no infinities, NaN S.1111.111
 *   f8e5m2      FP8 E5M2, OCP: bias 15, IEEE-like infinities and NaNs
 *   f8e4m3fnuz  FP8 E4M3, bias 8, no infinities, no -0: 0x80 is NaN
 *   f8e5m2fnuz  FP8 E5M2, bias 16, no infinities, no -0: 0x80 is NaN
 *   f8e8m0fnu   an exponent only (OCP MX scale): 2^(e-127), 0xFF is NaN
 *   u16 u32 u64 unsigned integers
 *   c64 c128    complex: two f32 / two f64, real part first
 *   f4e2m1fn    OCP MX FP4 (bias 1, max 6, no inf/NaN), two to a byte:
 *               element 2i in bits 0-3, 2i+1 in bits 4-7 (safetensors F4,
 *               torch's float4_e2m1fn_x2 layout)
 *   f6e2m3fn    OCP MX FP6 E2M3 and E3M2, four to three bytes (safetensors
 *   f6e3m2fn    F6_E2M3, F6_E3M2), in an order the format does not fix
 * The packed ones (f4e2m1fn, f6*) are smaller than a byte: their size is
 * rcc_dtype_bits, rcc_dtype_size is 0, and a tensor of one is a whole
 * contiguous storage of numel * bits / 8 bytes. */
typedef enum rcc_dtype {
    RCC_F32, RCC_F16, RCC_BF16, RCC_F64,
    RCC_I64, RCC_I32, RCC_I16, RCC_I8, RCC_U8, RCC_BOOL,
    RCC_F8E4M3FN, RCC_F8E5M2, RCC_F8E4M3FNUZ, RCC_F8E5M2FNUZ, RCC_F8E8M0FNU,
    RCC_U16, RCC_U32, RCC_U64,
    RCC_C64, RCC_C128,
    RCC_F4E2M1FN, RCC_F6E2M3FN, RCC_F6E3M2FN,
    RCC_DTYPE_COUNT
} rcc_dtype;

RCC_API const char *rcc_dtype_name(rcc_dtype t);
RCC_API size_t      rcc_dtype_size(rcc_dtype t);   /* bytes; 0 for a packed dtype */
RCC_API int         rcc_dtype_bits(rcc_dtype t);   /* 4, 6, or 8 * size; 0 outside the enum */
/* What kind of number an element is: 'f' floating point (f32 ... the FP8,
 * FP4 and FP6 formats), 'i' signed integer, 'u' unsigned integer (u8 ... u64), 'b'
 * bool, 'c' complex; 0 for a value outside the enum. */
RCC_API int         rcc_dtype_kind(rcc_dtype t);

#define RCC_MAX_NDIM 64

/* One entry of the state dict.  All pointers are owned by the rcc_file. */
typedef struct rcc_tensor {
    const char    *name;            /* state-dict key, UTF-8 */
    rcc_dtype      dtype;
    int            ndim;            /* 0 for a scalar */
    const int64_t *shape;           /* [ndim] sizes, each >= 0 */
    const int64_t *strides;         /* [ndim] in elements, each >= 0 */
    int64_t        storage_offset;  /* in elements */
    uint64_t       numel;           /* product of shape (1 for a scalar) */
    uint64_t       nbytes;          /* numel * dtype size: bytes when contiguous */
    size_t         storage;         /* index into rcc_storage_at() */
    int            requires_grad;   /* as pickled */
    int            is_parameter;    /* rebuilt through _rebuild_parameter */
    int            intact;          /* 0: its bytes are lost (a damaged file
                                       opened with allow_damaged) */
} rcc_tensor;

/* A storage: one block of raw elements that one or more tensors view. */
typedef struct rcc_storage {
    const char *key;         /* the record key ("0", "1", ...) */
    rcc_dtype   dtype;
    uint64_t    numel;       /* elements */
    uint64_t    nbytes;      /* numel * dtype size */
    uint64_t    file_offset; /* where the bytes start in the file (stored records) */
    int         compressed;  /* the record is deflated: reading inflates it */
    size_t      users;       /* how many state-dict tensors view it */
} rcc_storage;

typedef struct rcc_file rcc_file;

/* Options for rcc_open; a zeroed struct (or NULL) means the defaults. */
typedef struct rcc_open_options {
    const char *key;      /* dotted path of the state dict inside a checkpoint
                             ("model", "state.ema"); NULL: the dict with the
                             most tensors */
    int allow_calls;      /* read past the calls that torch.load would make
                             with the file's arguments (rcc_call_at: never
                             made by rcc): each becomes an inert object and
                             a warning.  Without it, the first such call
                             fails the open, naming it. */
    int scan;             /* only find what torch.load would do: the pickles
                             are run (executing nothing) and their globals
                             and calls recorded; no state dict is looked
                             for.  A pickle that fails after its first bytes
                             still opens: rcc_scan_error says why it stopped. */
    int allow_damaged;    /* open a truncated archive, or one whose central
                             directory is lost, from its local headers: the
                             tensors whose bytes are lost have intact == 0.
                             Without it such a file fails to open, saying
                             how many tensors are intact.  With it, the
                             state dict's records are also checked against
                             their CRC-32 at open (reading all its bytes),
                             so that intact is a promise. */
} rcc_open_options;

/* Open a weight file.  Returns NULL and writes a message naming what is
 * wrong (never the path: the caller knows it) into err on failure. */
RCC_API rcc_file *rcc_open(const char *path, const rcc_open_options *opt,
                           char *err, size_t errlen);
/* The same for a weight file already in memory: data[0..len) is borrowed
 * and must stay valid and unchanged until rcc_close. */
RCC_API rcc_file *rcc_open_memory(const void *data, size_t len, const rcc_open_options *opt,
                                  char *err, size_t errlen);
RCC_API void rcc_close(rcc_file *f);

/* "zip" (torch.save, PyTorch >= 1.6), "legacy" (older torch.save),
 * "torchscript" (torch.jit.save) or "safetensors". */
RCC_API const char *rcc_format(const rcc_file *f);
/* "big" when the file's tensor data is big-endian (a zip archive whose
 * byteorder record says so, written on s390x by PyTorch >= 2.1; rcc_read
 * swaps every element), else "little". */
RCC_API const char *rcc_byteorder(const rcc_file *f);
/* 1 when the file is damaged (allow_damaged): read from its local headers,
 * or a storage record failed its CRC-32. */
RCC_API int rcc_damaged(const rcc_file *f);
/* Dotted path of the state dict inside the file's top-level object, "" when
 * the top-level object is the state dict itself. */
RCC_API const char *rcc_state_dict_path(const rcc_file *f);

RCC_API size_t             rcc_tensor_count(const rcc_file *f);
RCC_API const rcc_tensor  *rcc_tensor_at(const rcc_file *f, size_t i);
RCC_API const rcc_tensor  *rcc_find_tensor(const rcc_file *f, const char *name);
RCC_API size_t             rcc_storage_count(const rcc_file *f);
RCC_API const rcc_storage *rcc_storage_at(const rcc_file *f, size_t i);

/* Read a tensor's elements, contiguous in row-major order, in its own dtype
 * (bool as bytes 0/1).  dstlen must be at least t->nbytes.  0 on success,
 * -1 with a message in err. */
RCC_API int rcc_read(const rcc_file *f, const rcc_tensor *t, void *dst, size_t dstlen,
                     char *err, size_t errlen);
/* The same, converted to float32: f16, bf16, FP8 and FP4 exactly (an FP8
 * NaN becomes the quiet NaN of its sign, positive for the unsigned ones,
 * fnuz 0x80 and e8m0fnu 0xFF: the formats carry no payload), f64 and
 * integers rounded to nearest even; dst holds at least t->numel floats.  A complex tensor has no float32 value, nor has an f6
 * one (its packing is not fixed): -1 and a message (read it with
 * rcc_read, which gives the bytes as stored). */
RCC_API int rcc_read_f32(const rcc_file *f, const rcc_tensor *t, float *dst, size_t count,
                         char *err, size_t errlen);

/* Load one tensor the way a generated model's loader does (`rcc gen`): the
 * tensor whose key is exactly `name`, which must have exactly ndim
 * dimensions of the sizes shape[0..ndim), read contiguous into dst, which
 * holds the product of shape elements.  rcc_load_f32 takes a floating
 * tensor (f32, f16, bf16, f64, FP8, FP4; converted as rcc_read_f32 does),
 * rcc_load_i64 an integer one (i64 ... i8, u8 ... u64, bool; widened,
 * bool 0/1, a u64 element above INT64_MAX refused).  0 on success; -1
 * with one line naming the tensor and the first mismatch:
 *     missing tensor 'fc.weight'
 *     'fc.weight' has shape [10, 512]; the model expects [1000, 512]
 *     'fc.weight' is i64; the model expects a floating-point tensor
 *     'ids' is f32; the model expects an integer tensor
 * or the message of rcc_read (a damaged file's lost bytes). */
RCC_API int rcc_load_f32(const rcc_file *f, const char *name, int ndim, const int64_t *shape,
                         float *dst, char *err, size_t errlen);
RCC_API int rcc_load_i64(const rcc_file *f, const char *name, int ndim, const int64_t *shape,
                         int64_t *dst, char *err, size_t errlen);

/* The module tree of a pickled whole model (torch.save(model)) or a
 * TorchScript archive, rebuilt from its pickled attributes without the
 * class source; empty for a bare state dict. */
typedef enum rcc_attr_kind {
    RCC_ATTR_NONE, RCC_ATTR_BOOL, RCC_ATTR_INT, RCC_ATTR_FLOAT, RCC_ATTR_STR,
    RCC_ATTR_INTS,     /* a tuple or list of ints: kernel_size, stride, ... */
    RCC_ATTR_OTHER
} rcc_attr_kind;

typedef struct rcc_attr {
    const char    *name;
    rcc_attr_kind  kind;
    int64_t        i;       /* BOOL (0/1), INT */
    double         f;       /* FLOAT */
    const char    *s;       /* STR */
    size_t         n;       /* INTS */
    const int64_t *ints;
    const char    *repr;    /* every kind: a short Python-like rendering */
} rcc_attr;

typedef struct rcc_module {
    const char     *path;   /* "" for the root, "layer1.0.conv1" */
    const char     *type;   /* the class as pickled, "torch.nn.modules.conv.Conv2d" */
    int             depth;  /* 0 for the root */
    size_t          nattrs; /* hyperparameters: in_features, stride, eps, ... */
    const rcc_attr *attrs;
} rcc_module;

/* Modules in pre-order (a parent before its children). */
RCC_API size_t            rcc_module_count(const rcc_file *f);
RCC_API const rcc_module *rcc_module_at(const rcc_file *f, size_t i);
RCC_API const rcc_module *rcc_find_module(const rcc_file *f, const char *path);

/* Reads the bytes of every storage the state dict uses once, checking
 * each record's CRC-32 and, for deflated records, its exact size: what
 * rcc_read would find wrong, found up front.  0, or -1 with a message. */
RCC_API int rcc_verify(const rcc_file *f, char *err, size_t errlen);

/* What the file holds besides the state dict, one line per top-level entry
 * of a checkpoint ("epoch = 7", "optimizer: 2 param groups, 12 state
 * tensors").  Empty when the file is a bare state dict. */
RCC_API size_t      rcc_summary_count(const rcc_file *f);
RCC_API const char *rcc_summary_at(const rcc_file *f, size_t i);

/* Warnings collected while reading (e.g. a global that was not executed). */
RCC_API size_t      rcc_warning_count(const rcc_file *f);
RCC_API const char *rcc_warning_at(const rcc_file *f, size_t i);

/* What torch.load would do with the file (PyTorch's pickle unpickler
 * with weights_only=False, or True where the verdict says so), found
 * without doing it.  Every global its pickles name is listed with the most
 * dangerous use they put it to:
 *   INTERPRETED  a call rcc understands and rebuilds from data (tensor
 *                rebuilds, OrderedDict, torch.Size, numpy scalars, ...)
 *   CLASS        a class instantiated with a plain state (what
 *                torch.save(model) writes): torch.load imports it
 *   CODE         any other call: torch.load would make it with the file's
 *                arguments (os.system, eval, getattr chains, a BUILD that
 *                calls a __setstate__ the pickle put there, ...) */
typedef enum rcc_use {
    RCC_USE_REFERENCED, RCC_USE_INTERPRETED, RCC_USE_CLASS, RCC_USE_CODE
} rcc_use;

typedef enum rcc_verdict {
    RCC_SAFE,            /* torch.load(weights_only=True) takes it: every
                            global is in its allowlist */
    RCC_NEEDS_CLASSES,   /* weights_only=False and its classes importable;
                            it calls nothing else */
    RCC_RUNS_CODE        /* torch.load would make a CODE call */
} rcc_verdict;

typedef struct rcc_global {
    const char *name;          /* "collections.OrderedDict" */
    rcc_use     use;
    int         weights_only;  /* in torch.load(weights_only=True)'s allowlist */
    size_t      references;    /* GLOBAL, STACK_GLOBAL and INST opcodes naming it */
    size_t      calls;
    const char *record;        /* the pickle of its first reference ("data.pkl") */
    uint64_t    offset;        /* byte offset of that reference in the pickle */
} rcc_global;

typedef struct rcc_call {
    const char *text;          /* "uuid._get_command_stdout('id')", one line, cut short */
    const char *callable;      /* "uuid._get_command_stdout" (or the called value, rendered) */
    const char *record;
    uint64_t    offset;        /* the calling opcode's byte offset in the pickle */
} rcc_call;

RCC_API rcc_verdict       rcc_load_verdict(const rcc_file *f);
RCC_API size_t            rcc_global_count(const rcc_file *f);
RCC_API const rcc_global *rcc_global_at(const rcc_file *f, size_t i);
/* The CODE calls, in pickle order (the first 1000 of them). */
RCC_API size_t            rcc_call_count(const rcc_file *f);
RCC_API const rcc_call   *rcc_call_at(const rcc_file *f, size_t i);
/* With the scan option: why a pickle stopped before its end, or NULL. */
RCC_API const char       *rcc_scan_error(const rcc_file *f);

RCC_API const char *rcc_version(void);

#ifdef __cplusplus
}
#endif
#endif /* RCC_H */
