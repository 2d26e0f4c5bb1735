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

/* How weights are ranked before the lowest are zeroed. */
enum nn_prune_criterion {
    NN_PRUNE_MAGNITUDE, /* |w|, all layers on one scale */
    NN_PRUNE_LAMP       /* w^2 over the sum of w'^2 for the layer's weights at least as large
                           (Lee et al., 2021): still magnitude within a layer, but a small
                           layer of large weights is not emptied first */
};

/* Zero exactly round(sparsity * weights) of g's weights, the lowest ranked
 * over all layers together (ties: the earlier one first), and fill mask.
 * 0 <= sparsity < 1. */
int nn_prune_global(nn_graph *g, double sparsity, int criterion, nn_prune_mask *mask, nn_error *err);
/* nn_prune_global by magnitude. */
int nn_prune_magnitude(nn_graph *g, double sparsity, nn_prune_mask *mask, nn_error *err);
/* Zero every masked weight again (after an optimiser step). */
void nn_prune_apply(nn_graph *g, const nn_prune_mask *mask);
void nn_prune_mask_free(nn_prune_mask *mask);
/* Gradual pruning's target after a fraction progress (0..1) of the ramp:
 * final * (1 - (1 - progress)^3), which prunes fast while the weights are
 * redundant and slowly near the end (Zhu and Gupta, 2017). */
double nn_prune_schedule(double final, double progress);
/* Zeros among g's weights, 0..1. */
double nn_prune_sparsity(const nn_graph *g);

#endif
