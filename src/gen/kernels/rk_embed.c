/* rk_embed.c — embedding lookup.
 *
 * The ids are data, so they are checked: every id must lie in
 * [0, num_embeddings), as torch requires (it raises IndexError).  All ids
 * are checked before anything is written, so a bad id leaves the output
 * untouched and nothing is read outside the table.  padding_idx changes
 * only the gradient: its row is looked up like any other.
 *
 * Cost: one row copy (dim floats) per id.
 */
#include "rk_common.h"

/* embedding: ids (n) int64, table (num, dim) -> y (n, dim).  Returns 0, or
 * -1 when an id is outside [0, num) (y unchanged). */
static int rk_embedding(float *restrict y, const int64_t *ids, int64_t n, const float *restrict table,
                        int64_t num, int64_t dim)
{
    for (int64_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= num) return -1;
    for (int64_t i = 0; i < n; i++)
        memcpy(y + i * dim, table + ids[i] * dim, (size_t)dim * sizeof *y);
    return 0;
}
