/* rk_matmul.c — torch.matmul with batch broadcasting, bmm/baddbmm, and
 * two-operand einsum, all on cblas_sgemm.
 *
 * requires: rk_layout.c
 *
 * torch.matmul (rk_matmul_nd; "_nd" keeps the name clear of a 2-d
 * matmul in rk_gemm.c): the last two dims are the matrices (a 1-d operand is a
 * row or a column that disappears from the result), the dims before them
 * broadcast.  When b has no batch dims (x @ W on a [B, T, C] activation),
 * the batch folds into the rows of a single GEMM; otherwise one GEMM per
 * broadcast batch index, each operand addressed through its own batch
 * strides (0 where broadcast), so nothing is materialised.  A vector
 * operand turns the GEMM into a GEMV.  Cost: 2*M*N*K flops per batch, at
 * OpenBLAS's speed.
 *
 * einsum parses the subscripts generally (letters, implicit output when
 * there is no "->"; no ellipsis, no repeated label within an operand, no
 * label summed out of a single operand) and classifies each label as
 * batch (both inputs and the output), M (a and out), N (b and out) or K
 * (contracted).  It then needs no copy whenever each group of labels is
 * one run of memory in an operand and one of the matrix dims has stride
 * 1: the GEMM reads that operand in place through lda/ldb (possibly
 * transposed) and writes the output in place through ldc, or computes
 * the transposed product when the output's M dim is the contiguous one.
 * The attention forms "bhqd,bhkd->bhqk", "bqhd,bkhd->bhqk",
 * "bhqk,bkhd->bqhd" and "bhqk,bhkd->bhqd" run with no copy at all.  An
 * operand that does not fit is first permuted into scratch
 * (rk_copy_strided), and so is an output that does not: rk_einsum_scratch
 * gives the exact need, at most numel(a) + numel(b) + numel(y) floats.
 */
#include <cblas.h>

#include "rk_common.h"

/* C = alpha * op(A) op(B) + beta * C for `batch` dense matrices in a row:
 * a is [batch, M, K] ([batch, K, M] when ta), b is [batch, K, N]
 * ([batch, N, K] when tb), y is [batch, M, N].  beta 0 ignores y's old
 * contents (NaN included), as BLAS does. */
static void rk_bmm_scaled(float *y, const float *a, const float *b, int64_t batch, int64_t M, int64_t N, int64_t K,
                   int ta, int tb, float alpha, float beta)
{
    for (int64_t i = 0; i < batch; i++)
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M, (int)N,
                    (int)K, alpha, a + i * M * K, ta ? (int)(M > 1 ? M : 1) : (int)(K > 1 ? K : 1), b + i * K * N,
                    tb ? (int)(K > 1 ? K : 1) : (int)(N > 1 ? N : 1), beta, y + i * M * N, (int)(N > 1 ? N : 1));
}

/* torch.baddbmm(c, a, b, beta, alpha): y = beta * c + alpha * a @ b over
 * [batch, M, K] @ [batch, K, N]; c is [batch, M, N], or one [M, N]
 * shared by every batch when c_batched is 0.  y may be c when batched.
 * beta 0 ignores c, as torch does. */
static void rk_baddbmm(float *y, const float *c, int c_batched, const float *a, const float *b, int64_t batch,
                       int64_t M, int64_t N, int64_t K, float beta, float alpha)
{
    if (beta != 0.0f)
        for (int64_t i = 0; i < batch; i++) {
            const float *ci = c_batched ? c + i * M * N : c;
            if (ci != y + i * M * N) memcpy(y + i * M * N, ci, sizeof *y * (size_t)(M * N));
        }
    rk_bmm_scaled(y, a, b, batch, M, N, K, 0, 0, alpha, beta);
}

/* The shape of torch.matmul(a, b); returns its rank, -1 when the inner
 * sizes differ or the batch dims do not broadcast. */
static int rk_matmul_nd_shape(int na, const int64_t *asize, int nb, const int64_t *bsize, int64_t *out)
{
    if (na < 1 || nb < 1 || na > RK_MAXDIM || nb > RK_MAXDIM) return -1;
    int64_t K = asize[na - 1], Kb = nb >= 2 ? bsize[nb - 2] : bsize[0];
    if (K != Kb) return -1;
    int n = 0;
    if (na > 2 || nb > 2) {
        n = rk_broadcast_shape(na > 2 ? na - 2 : 0, asize, nb > 2 ? nb - 2 : 0, bsize, out);
        if (n < 0) return -1;
    }
    if (n + 2 > RK_MAXDIM) return -1;
    if (na >= 2) out[n++] = asize[na - 2];
    if (nb >= 2) out[n++] = bsize[nb - 1];
    return n;
}

/* y = torch.matmul(a, b), y dense in rk_matmul_nd_shape's shape.  -1 on
 * mismatched shapes. */
static int rk_matmul_nd(float *y, const float *a, int na, const int64_t *asize, const float *b, int nb,
                     const int64_t *bsize)
{
    int64_t out[RK_MAXDIM], bat[RK_MAXDIM], sa[RK_MAXDIM], sb[RK_MAXDIM], idx[RK_MAXDIM] = {0};
    if (rk_matmul_nd_shape(na, asize, nb, bsize, out) < 0) return -1;
    int64_t M = na >= 2 ? asize[na - 2] : 1, K = asize[na - 1], N = nb >= 2 ? bsize[nb - 1] : 1;
    int nba = na > 2 ? na - 2 : 0, nbb = nb > 2 ? nb - 2 : 0;
    int nbat = nba || nbb ? rk_broadcast_shape(nba, asize, nbb, bsize, bat) : 0;
    int64_t batch = 1;
    for (int i = 0; i < nbat; i++) batch *= bat[i];
    if (batch == 0 || M == 0 || N == 0) return 0;
    int lda = (int)(K > 1 ? K : 1), ldb = (int)(N > 1 ? N : 1);
    if (K == 0) {
        memset(y, 0, sizeof *y * (size_t)(batch * M * N));
        return 0;
    }
    if (nbb == 0) {                  /* b is one matrix (or vector): fold the batch into M */
        int64_t rows = batch * M;
        if (N == 1 && nb == 1)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)rows, (int)K, 1.0f, a, lda, b, 1, 0.0f, y, 1);
        else if (rows == 1)
            cblas_sgemv(CblasRowMajor, CblasTrans, (int)K, (int)N, 1.0f, b, ldb, a, 1, 0.0f, y, 1);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)N, (int)K, 1.0f, a, lda, b, ldb,
                        0.0f, y, ldb);
        return 0;
    }
    rk_broadcast_strides(nbat, bat, nba, asize, sa);
    rk_broadcast_strides(nbat, bat, nbb, bsize, sb);
    for (;;) {
        int64_t oa = 0, ob = 0;
        for (int i = 0; i < nbat; i++) {
            oa += idx[i] * sa[i];
            ob += idx[i] * sb[i];
        }
        const float *ai = a + oa * M * K, *bi = b + ob * K * N;
        if (M == 1)
            cblas_sgemv(CblasRowMajor, CblasTrans, (int)K, (int)N, 1.0f, bi, ldb, ai, 1, 0.0f, y, 1);
        else if (N == 1)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)M, (int)K, 1.0f, ai, lda, bi, 1, 0.0f, y, 1);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N, (int)K, 1.0f, ai, lda, bi, ldb,
                        0.0f, y, ldb);
        y += M * N;
        int d = nbat - 1;
        while (d >= 0 && ++idx[d] == bat[d]) idx[d--] = 0;
        if (d < 0) return 0;
    }
}

/* ------------------------------------------------------------- einsum */

enum { RK_ES_BATCH, RK_ES_M, RK_ES_N, RK_ES_K };

/* One operand's view of a group of labels: the group's total size, the
 * stride of its innermost non-trivial label, and whether it is one run. */
typedef struct rk_es_group { int64_t size, stride; int run; } rk_es_group;

typedef struct rk_es_plan {
    int n[3];                 /* labels of a, b, y */
    int lab[3][RK_MAXDIM];    /* label ids 0..51, in each operand's order */
    int64_t size[52];
    int64_t st[3][52];        /* each label's stride in a, b, y (dense) */
    int grp[4][RK_MAXDIM];    /* the labels of each class, in canonical order */
    int ng[4];
    int copy[3];              /* operand goes through scratch */
    int64_t numel[3];
} rk_es_plan;

static int rk_es_id(char c)
{
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= 'A' && c <= 'Z') return c - 'A';
    return -1;
}

static rk_es_group rk_es_group_of(const rk_es_plan *p, int op, int g)
{
    rk_es_group r = {1, 1, 1};
    int prev = -1;
    for (int i = 0; i < p->ng[g]; i++) {
        int l = p->grp[g][i];
        if (p->size[l] == 1) continue;
        if (prev >= 0 && p->st[op][prev] != p->st[op][l] * p->size[l]) r.run = 0;
        r.size *= p->size[l];
        r.stride = p->st[op][l];
        prev = l;
    }
    for (int i = 0; i < p->ng[g]; i++)
        if (p->size[p->grp[g][i]] == 0) r.size = 0;
    return r;
}

/* How a GEMM reads a rows x cols matrix: 0 as is (ld = row stride), 1
 * transposed (ld = col stride); -1 when it cannot. */
static int rk_es_mat(rk_es_group r, rk_es_group c, int *ld)
{
    int64_t rmin = r.size > 1 ? r.size : 1, cmin = c.size > 1 ? c.size : 1;
    if (!r.run || !c.run) return -1;
    if (c.size <= 1 || c.stride == 1) {
        int64_t l = r.size <= 1 ? cmin : r.stride;
        if (l >= cmin && l <= INT32_MAX) return *ld = (int)l, 0;
    }
    if (r.size <= 1 || r.stride == 1) {
        int64_t l = c.size <= 1 ? rmin : c.stride;
        if (l >= rmin && l <= INT32_MAX) return *ld = (int)l, 1;
    }
    return -1;
}

/* Dense strides of operand op from its labels. */
static void rk_es_dense(rk_es_plan *p, int op)
{
    int64_t s = 1;
    for (int i = 0; i < 52; i++) p->st[op][i] = 0;
    for (int i = p->n[op] - 1; i >= 0; i--) {
        p->st[op][p->lab[op][i]] = s;
        s *= p->size[p->lab[op][i]];
    }
    p->numel[op] = s;
}

/* Strides of operand op as if permuted densely into canonical order:
 * batch, then its two matrix groups (a: M K, b: K N, y: M N). */
static void rk_es_canon(rk_es_plan *p, int op)
{
    static const int order[3][3] = {{RK_ES_BATCH, RK_ES_M, RK_ES_K}, {RK_ES_BATCH, RK_ES_K, RK_ES_N},
                                    {RK_ES_BATCH, RK_ES_M, RK_ES_N}};
    int64_t s = 1;
    for (int gi = 2; gi >= 0; gi--) {
        int g = order[op][gi];
        for (int i = p->ng[g] - 1; i >= 0; i--) {
            p->st[op][p->grp[g][i]] = s;
            s *= p->size[p->grp[g][i]];
        }
    }
}

/* Parses and plans; 0, or -1 when the form is unsupported or the shapes
 * disagree.  yshape (may be NULL) gets the output's shape, *ny its rank. */
static int rk_es_plan_make(rk_es_plan *p, const char *eq, int na, const int64_t *asize, int nb,
                           const int64_t *bsize, int *ny, int64_t *yshape)
{
    int where[52] = {0};      /* bit 0: in a, bit 1: in b, bit 2: in y */
    int nin[52] = {0};
    int op = 0, explicit_out = 0;
    const int64_t *sizes[2] = {asize, bsize};
    int nd[2] = {na, nb};
    memset(p, 0, sizeof *p);
    for (const char *c = eq; *c; c++) {
        if (*c == ' ') continue;
        if (*c == ',') {
            if (op != 0) return -1;
            op = 1;
            continue;
        }
        if (*c == '-') {
            if (c[1] != '>' || op != 1 || explicit_out) return -1;
            op = 2;
            explicit_out = 1;
            c++;
            continue;
        }
        int l = rk_es_id(*c);
        if (l < 0 || p->n[op] >= RK_MAXDIM || (where[l] >> op & 1)) return -1;
        where[l] |= 1 << op;
        p->lab[op][p->n[op]++] = l;
        if (op < 2) nin[l]++;
    }
    if (op < 1 || p->n[0] != na || p->n[1] != nb) return -1;
    if (!explicit_out) {                 /* labels seen once, in alphabetical (ASCII) order */
        for (int l = 0; l < 52; l++)
            if (nin[l] == 1) {
                where[l] |= 4;
                p->lab[2][p->n[2]++] = l;
            }
    }
    for (int l = 0; l < 52; l++) p->size[l] = -1;
    for (int o = 0; o < 2; o++)
        for (int i = 0; i < nd[o]; i++) {
            int l = p->lab[o][i];
            if (sizes[o][i] < 0 || (p->size[l] >= 0 && p->size[l] != sizes[o][i])) return -1;
            p->size[l] = sizes[o][i];
        }
    for (int i = 0; i < p->n[2]; i++) {
        int l = p->lab[2][i];
        if (!(where[l] & 3)) return -1;
        if (yshape) yshape[i] = p->size[l];
    }
    if (ny) *ny = p->n[2];
    /* classes, canonical orders: batch, M, N in the output's order, K in a's */
    for (int i = 0; i < p->n[2]; i++) {
        int l = p->lab[2][i], w = where[l] & 3;
        int g = w == 3 ? RK_ES_BATCH : w == 1 ? RK_ES_M : RK_ES_N;
        p->grp[g][p->ng[g]++] = l;
    }
    for (int i = 0; i < na; i++) {
        int l = p->lab[0][i];
        if (where[l] & 4) continue;
        if (!(where[l] & 2)) return -1;  /* summed out of a alone: not supported */
        p->grp[RK_ES_K][p->ng[RK_ES_K]++] = l;
    }
    for (int i = 0; i < nb; i++)
        if (!(where[p->lab[1][i]] & 5)) return -1;
    for (int o = 0; o < 3; o++) rk_es_dense(p, o);
    /* which operands fit a GEMM in place */
    int ld;
    p->copy[0] = rk_es_mat(rk_es_group_of(p, 0, RK_ES_M), rk_es_group_of(p, 0, RK_ES_K), &ld) < 0;
    p->copy[1] = rk_es_mat(rk_es_group_of(p, 1, RK_ES_K), rk_es_group_of(p, 1, RK_ES_N), &ld) < 0;
    rk_es_group ym = rk_es_group_of(p, 2, RK_ES_M), yn = rk_es_group_of(p, 2, RK_ES_N);
    p->copy[2] = !ym.run || !yn.run || rk_es_mat(ym, yn, &ld) < 0;
    return 0;
}

/* The output shape of rk_einsum: returns its rank, -1 if unsupported. */
static int rk_einsum_shape(const char *eq, int na, const int64_t *asize, int nb, const int64_t *bsize, int64_t *out)
{
    rk_es_plan p;
    int ny;
    if (rk_es_plan_make(&p, eq, na, asize, nb, bsize, &ny, out) < 0) return -1;
    return ny;
}

/* The scratch rk_einsum needs, in floats (0 for the attention forms);
 * -1 when the form is unsupported. */
static int64_t rk_einsum_scratch(const char *eq, int na, const int64_t *asize, int nb, const int64_t *bsize)
{
    rk_es_plan p;
    if (rk_es_plan_make(&p, eq, na, asize, nb, bsize, NULL, NULL) < 0) return -1;
    return (p.copy[0] ? p.numel[0] : 0) + (p.copy[1] ? p.numel[1] : 0) + (p.copy[2] ? p.numel[2] : 0);
}

/* y = torch.einsum(eq, a, b), y dense in rk_einsum_shape's shape.
 * scratch: rk_einsum_scratch floats (scratch_len of them are there).
 * -1 when the form is unsupported, the sizes disagree or the scratch is
 * short. */
static int rk_einsum(float *y, const char *eq, const float *a, int na, const int64_t *asize, const float *b,
                     int nb, const int64_t *bsize, float *scratch, int64_t scratch_len)
{
    rk_es_plan p;
    int64_t cpsz[RK_MAXDIM], cpst[RK_MAXDIM], idx[RK_MAXDIM] = {0};
    if (rk_es_plan_make(&p, eq, na, asize, nb, bsize, NULL, NULL) < 0) return -1;
    int64_t need = (p.copy[0] ? p.numel[0] : 0) + (p.copy[1] ? p.numel[1] : 0) + (p.copy[2] ? p.numel[2] : 0);
    if (need > scratch_len) return -1;
    const float *src[2] = {a, b};
    float *at = scratch;
    static const int order[3][3] = {{RK_ES_BATCH, RK_ES_M, RK_ES_K}, {RK_ES_BATCH, RK_ES_K, RK_ES_N},
                                    {RK_ES_BATCH, RK_ES_M, RK_ES_N}};
    for (int o = 0; o < 2; o++) {
        if (!p.copy[o]) continue;
        int k = 0;                        /* permute into [batch, rows, cols] */
        for (int gi = 0; gi < 3; gi++)
            for (int i = 0; i < p.ng[order[o][gi]]; i++) {
                int l = p.grp[order[o][gi]][i];
                cpsz[k] = p.size[l];
                cpst[k++] = p.st[o][l];
            }
        rk_copy_strided(at, src[o], 4, k, cpsz, cpst);
        rk_es_canon(&p, o);
        src[o] = at;
        at += p.numel[o];
    }
    float *yt = y;
    if (p.copy[2]) {
        rk_es_canon(&p, 2);
        yt = at;
    }
    if (p.numel[2] == 0) return 0;
    int lda, ldb, ldy;
    int ta = rk_es_mat(rk_es_group_of(&p, 0, RK_ES_M), rk_es_group_of(&p, 0, RK_ES_K), &lda);
    int tb = rk_es_mat(rk_es_group_of(&p, 1, RK_ES_K), rk_es_group_of(&p, 1, RK_ES_N), &ldb);
    int ty = rk_es_mat(rk_es_group_of(&p, 2, RK_ES_M), rk_es_group_of(&p, 2, RK_ES_N), &ldy);
    int64_t M = rk_es_group_of(&p, 0, RK_ES_M).size, N = rk_es_group_of(&p, 1, RK_ES_N).size;
    int64_t K = rk_es_group_of(&p, 0, RK_ES_K).size;
    if (ta < 0 || tb < 0 || ty < 0 || M > INT32_MAX || N > INT32_MAX || K > INT32_MAX) return -1;
    int nbt = p.ng[RK_ES_BATCH];
    const int *bl = p.grp[RK_ES_BATCH];
    for (;;) {
        int64_t oa = 0, ob = 0, oy = 0;
        for (int i = 0; i < nbt; i++) {
            oa += idx[i] * p.st[0][bl[i]];
            ob += idx[i] * p.st[1][bl[i]];
            oy += idx[i] * p.st[2][bl[i]];
        }
        if (K == 0) {
            for (int64_t i = 0; i < M; i++)
                for (int64_t j = 0; j < N; j++) yt[oy + (ty ? j * ldy + i : i * ldy + j)] = 0.0f;
        } else if (ty == 0) {
            cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M, (int)N,
                        (int)K, 1.0f, src[0] + oa, lda, src[1] + ob, ldb, 0.0f, yt + oy, ldy);
        } else {                           /* y's M dim is the contiguous one: y^T = b^T a^T */
            cblas_sgemm(CblasRowMajor, tb ? CblasNoTrans : CblasTrans, ta ? CblasNoTrans : CblasTrans, (int)N, (int)M,
                        (int)K, 1.0f, src[1] + ob, ldb, src[0] + oa, lda, 0.0f, yt + oy, ldy);
        }
        int d = nbt - 1;
        while (d >= 0 && ++idx[d] == p.size[bl[d]]) idx[d--] = 0;
        if (d < 0) break;
    }
    if (p.copy[2]) {                       /* scratch [batch, M, N] -> y in its own order */
        for (int i = 0; i < p.n[2]; i++) {
            cpsz[i] = p.size[p.lab[2][i]];
            cpst[i] = p.st[2][p.lab[2][i]];
        }
        rk_copy_strided(y, yt, 4, p.n[2], cpsz, cpst);
    }
    return 0;
}
