/* A helper thread for the memory-bound loops between matrix products.
 *
 * OpenBLAS spreads each product over the cores, but the optimiser's update
 * and other elementwise passes would run on one core while the other idles.
 * nn_parallel_for splits such a loop in two at a fixed point, so results do
 * not depend on timing.  Matrix products are split over the same helper
 * (gemm.h); OpenBLAS itself runs single-threaded. */
#ifndef NN_PARALLEL_H
#define NN_PARALLEL_H

#include <stddef.h>

typedef void (*nn_range_fn)(void *ctx, size_t begin, size_t end, int part);

/* Use a helper thread when threads > 1 (started on first use). */
void nn_parallel_set_threads(int threads);
/* Run fn(ctx, 0, mid, 0) here and fn(ctx, mid, n, 1) on the helper, with mid
 * n/2 (rounded to a multiple of 16 for long ranges); or fn(ctx, 0, n, 0) alone when n < min_split or
 * there is no helper.  Returns the number of parts used (1 or 2). */
int nn_parallel_for(size_t n, size_t min_split, nn_range_fn fn, void *ctx);

#endif
