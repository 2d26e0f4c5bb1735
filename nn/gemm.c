#include "gemm.h"

#include <cblas.h>

#include "parallel.h"

/* Below this many flops a product takes a few microseconds, about what
 * handing half of it to the helper costs. */
#define SPLIT_MIN_FLOPS 1.5e6

static void run(const nn_sgemm_args *g)
{
    if (g->m <= 0 || g->n <= 0)
        return;
    cblas_sgemm(CblasRowMajor, g->trans_a ? CblasTrans : CblasNoTrans, g->trans_b ? CblasTrans : CblasNoTrans,
                g->m, g->n, g->k, 1.0f, g->a, g->lda, g->b, g->ldb, g->beta, g->c, g->ldc);
}

static void run_part(void *ctx, size_t begin, size_t end, int part)
{
    (void)part;
    for (size_t i = begin; i < end; i++)
        run((const nn_sgemm_args *)ctx + i);
}

/* Split the larger of C's two sides at a multiple of 16 (the kernels'
 * tile height and a cache line of floats); a product with A transposed (a
 * weight gradient, whose inner dimension is the batch) splits along n,
 * which measured faster at every shape the presets use. */
static void split(const nn_sgemm_args *g, nn_sgemm_args half[2])
{
    half[0] = half[1] = *g;
    if (g->m >= g->n && !g->trans_a) {
        int cut = (g->m / 2 + 8) / 16 * 16;
        cut = cut > 0 && cut < g->m ? cut : g->m / 2;
        half[0].m = cut;
        half[1].m = g->m - cut;
        half[1].a = g->trans_a ? g->a + cut : g->a + (size_t)cut * g->lda;
        half[1].c = g->c + (size_t)cut * g->ldc;
    } else {
        int cut = (g->n / 2 + 8) / 16 * 16;
        cut = cut > 0 && cut < g->n ? cut : g->n / 2;
        half[0].n = cut;
        half[1].n = g->n - cut;
        half[1].b = g->trans_b ? g->b + (size_t)cut * g->ldb : g->b + cut;
        half[1].c = g->c + cut;
    }
}

static double flops(const nn_sgemm_args *g)
{
    return 2.0 * g->m * g->n * g->k;
}

void nn_sgemm(const nn_sgemm_args *g)
{
    if (flops(g) < SPLIT_MIN_FLOPS || (g->m < 2 && g->n < 2)) {
        run(g);
        return;
    }
    nn_sgemm_args half[2];
    split(g, half);
    nn_parallel_for(2, 2, run_part, half);
}

void nn_sgemm_pair(const nn_sgemm_args *g1, const nn_sgemm_args *g2)
{
    nn_sgemm_args both[2] = {*g1, *g2};
    nn_parallel_for(2, flops(g1) + flops(g2) < SPLIT_MIN_FLOPS ? 3 : 2, run_part, both);
}
