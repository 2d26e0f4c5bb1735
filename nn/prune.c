/* Global magnitude pruning and its mask. */
#include "prune.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct ranked {
    float magnitude;
    size_t index;
} ranked;

static int by_magnitude(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->magnitude != y->magnitude)
        return x->magnitude < y->magnitude ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

int nn_prune_magnitude(nn_graph *g, double sparsity, nn_prune_mask *mask, nn_error *err)
{
    memset(mask, 0, sizeof *mask);
    if (!(sparsity >= 0 && sparsity < 1))
        return nn_error_set(err, NN_EINPUT, "sparsity %g is out of range (expected 0 <= S < 1)", sparsity);
    size_t weights = 0;
    for (int t = 0; t < g->n_param_tensors; t++) {
        const nn_node *p = nn_graph_param_node(g, t);
        if (p->decay)
            weights += p->size;
    }
    if (weights == 0)
        return nn_error_set(err, NN_EINPUT, "the model has no weights to prune");
    mask->keep = malloc(g->n_params);
    ranked *all = malloc(weights * sizeof *all);
    if (!mask->keep || !all) {
        free(all);
        nn_prune_mask_free(mask);
        return nn_error_set(err, NN_ERUNTIME, "prune: out of memory");
    }
    memset(mask->keep, 1, g->n_params);
    size_t k = 0;
    for (int t = 0; t < g->n_param_tensors; t++) {
        const nn_node *p = nn_graph_param_node(g, t);
        if (!p->decay)
            continue;
        for (size_t i = 0; i < p->size; i++)
            all[k++] = (ranked){fabsf(p->value[i]), p->param_offset + i};
    }
    qsort(all, weights, sizeof *all, by_magnitude);
    size_t prune = (size_t)llround(sparsity * (double)weights);
    for (size_t i = 0; i < prune; i++) {
        mask->keep[all[i].index] = 0;
        g->params[all[i].index] = 0.0f;
    }
    free(all);
    mask->n = g->n_params;
    mask->weights = weights;
    mask->pruned = prune;
    return NN_OK;
}

void nn_prune_apply(nn_graph *g, const nn_prune_mask *mask)
{
    float *w = g->params;
    const unsigned char *keep = mask->keep;
#pragma omp simd
    for (size_t i = 0; i < mask->n; i++)
        w[i] = keep[i] ? w[i] : 0.0f;
}

void nn_prune_mask_free(nn_prune_mask *mask)
{
    free(mask->keep);
    memset(mask, 0, sizeof *mask);
}

double nn_prune_sparsity(const nn_graph *g)
{
    size_t weights = 0, zeros = 0;
    for (int t = 0; t < g->n_param_tensors; t++) {
        const nn_node *p = nn_graph_param_node((nn_graph *)g, t);
        if (!p->decay)
            continue;
        weights += p->size;
        for (size_t i = 0; i < p->size; i++)
            zeros += p->value[i] == 0.0f;
    }
    return weights ? (double)zeros / (double)weights : 0;
}
