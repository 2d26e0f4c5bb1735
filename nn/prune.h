/* Global magnitude pruning: the weights (not the biases) of the whole
 * model, ranked together by magnitude, lose the smallest fraction; a mask
 * keeps them at zero while the remaining weights are fine-tuned. */
#ifndef NN_PRUNE_H
#define NN_PRUNE_H

#include <stddef.h>

#include "error.h"
#include "graph.h"

/* One byte per float of g->params: 1 where the weight stays trainable. */
typedef struct nn_prune_mask {
    unsigned char *keep;
    size_t n;            /* g->n_params */
    size_t weights;      /* weights considered (the tensors weight decay applies to) */
    size_t pruned;       /* of those, set to zero */
} nn_prune_mask;

/* Zero exactly round(sparsity * weights) of g's weights, the smallest in
 * magnitude (ties: the earlier one first), and fill mask.  0 <= sparsity < 1. */
int nn_prune_magnitude(nn_graph *g, double sparsity, nn_prune_mask *mask, nn_error *err);
/* Zero every masked weight again (after an optimiser step). */
void nn_prune_apply(nn_graph *g, const nn_prune_mask *mask);
void nn_prune_mask_free(nn_prune_mask *mask);
/* Zeros among g's weights, 0..1. */
double nn_prune_sparsity(const nn_graph *g);

#endif
