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

/* LAMP scores of one tensor's n weights into score: w^2 over the sum of the
 * squares of the weights at least as large (by rank). */
static int lamp_scores(const float *w, size_t n, float *score)
{
    ranked *order = malloc(n * sizeof *order);
    if (!order)
        return -1;
    for (size_t i = 0; i < n; i++)
        order[i] = (ranked){fabsf(w[i]), i};
    qsort(order, n, sizeof *order, by_magnitude);
    double suffix = 0;
    for (size_t r = n; r-- > 0;) {
        double sq = (double)order[r].magnitude * order[r].magnitude;
        suffix += sq;
        score[order[r].index] = suffix > 0 ? (float)(sq / suffix) : 0.0f;
    }
    free(order);
    return 0;
}

int nn_prune_magnitude(nn_graph *g, double sparsity, nn_prune_mask *mask, nn_error *err)
{
    return nn_prune_global(g, sparsity, NN_PRUNE_MAGNITUDE, mask, err);
}

int nn_prune_global(nn_graph *g, double sparsity, int criterion, nn_prune_mask *mask, nn_error *err)
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
        float *score = criterion == NN_PRUNE_LAMP ? malloc(p->size * sizeof *score) : NULL;
        if (criterion == NN_PRUNE_LAMP && (!score || lamp_scores(p->value, p->size, score))) {
            free(score);
            free(all);
            nn_prune_mask_free(mask);
            return nn_error_set(err, NN_ERUNTIME, "prune: out of memory");
        }
        for (size_t i = 0; i < p->size; i++)
            all[k++] = (ranked){score ? score[i] : fabsf(p->value[i]), p->param_offset + i};
        free(score);
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

double nn_prune_schedule(double final, double progress)
{
    progress = progress < 0 ? 0 : progress > 1 ? 1 : progress;
    double left = 1 - progress;
    return final * (1 - left * left * left);
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
