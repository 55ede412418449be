/* rk_dtype.c — rounding to torch's narrow floating dtypes.
 *
 * The generated code keeps float16 and bfloat16 tensors as float arrays
 * whose values are exactly representable in the dtype (src/gen/gen.h):
 * each operation computes in float, as torch's CPU kernels do for these
 * dtypes, and rounds its result with these functions.  O(1) per value.
 */
#include "rk_common.h"

/* f rounded to the nearest IEEE binary16 value, ties to even, as a float
 * (overflow gives an infinity, a NaN stays a NaN, subnormal halves kept). */
static float rk_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = x & 0x80000000u, ax = x & 0x7FFFFFFFu;
    if (ax >= 0x7F800000u) return f;                  /* inf, NaN */
    if (ax >= 0x477FF000u) {                          /* >= 65520: rounds to infinity */
        uint32_t inf = sign | 0x7F800000u;
        memcpy(&f, &inf, 4);
        return f;
    }
    if (ax < 0x38800000u) {                           /* below 2^-14: a multiple of 2^-24 */
        float a;
        memcpy(&a, &ax, 4);
        float q = a * 16777216.0f, r = (float)(int32_t)q, frac = q - r;
        if (frac > 0.5f || (frac == 0.5f && ((int32_t)r & 1))) r += 1.0f;
        float v = r / 16777216.0f;
        return sign ? -v : v;
    }
    uint32_t rest = ax & 0x1FFFu, keep = ax & ~0x1FFFu;   /* 10 mantissa bits kept of 23 */
    if (rest > 0x1000u || (rest == 0x1000u && (keep & 0x2000u))) keep += 0x2000u;
    keep |= sign;
    memcpy(&f, &keep, 4);
    return f;
}

/* f rounded to the nearest bfloat16 value, ties to even (torch's
 * round_to_nearest_even), as a float; a NaN stays a NaN. */
static float rk_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7FFFFFFFu) > 0x7F800000u) return f;
    x += 0x7FFFu + ((x >> 16) & 1u);
    x &= 0xFFFF0000u;
    memcpy(&f, &x, 4);
    return f;
}

/* Integer arithmetic as torch's CPU kernels do it, wrapping modulo 2^64
 * (the caller converts to a narrower dtype, which wraps again).  Division
 * by zero is the caller's check (torch raises). */

/* a ** b: negative b gives 1 for a == 1, +-1 for a == -1, else 0. */
static int64_t rk_ipow(int64_t a, int64_t b)
{
    if (b < 0) return a == 1 ? 1 : a == -1 ? ((-(b + 1)) % 2 ? 1 : -1) : 0;
    uint64_t r = 1, base = (uint64_t)a;
    while (b) {
        if (b & 1) r *= base;
        b /= 2;
        base *= base;
    }
    return (int64_t)r;
}

/* a // b rounded toward negative infinity (b != 0). */
static int64_t rk_idiv_floor(int64_t a, int64_t b)
{
    if (b == -1) return (int64_t)(0 - (uint64_t)a);
    int64_t q = a / b, r = a % b;
    return r && ((a < 0) != (b < 0)) ? q - 1 : q;
}

/* a mod b with the sign of b (Python's %, torch.remainder; b != 0). */
static int64_t rk_imod_floor(int64_t a, int64_t b)
{
    if (b == -1) return 0;
    int64_t r = a % b;
    return r && ((r < 0) != (b < 0)) ? r + b : r;
}

/* torch.remainder of floating values: fmod moved to the sign of b. */
static double rk_fmod_floor(double a, double b)
{
    double m = fmod(a, b);
    if (m != 0 && ((b < 0) != (m < 0))) m += b;
    return m;
}

/* torch.floor_divide of floating values (div_floor_floating). */
static double rk_fdiv_floor(double a, double b)
{
    if (b == 0) return a / b;
    double m = fmod(a, b), d = (a - m) / b;
    if (m != 0 && ((b < 0) != (m < 0))) d -= 1;
    if (d == 0) return copysign(0.0, a / b);
    double f = floor(d);
    return d - f > 0.5 ? f + 1 : f;
}
