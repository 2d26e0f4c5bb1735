/* Building a graph, sizing its buffers once, and running it forward and
 * backward.  The ops themselves live in ops.c. */
#include "graph.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops.h"
#include "quant.h"

#define ALIGN_FLOATS 16 /* 64-byte alignment inside the flat buffers */

static size_t align_up(size_t n)
{
    return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
}

int nn_graph_init(nn_graph *g, int max_batch, nn_error *err)
{
    memset(g, 0, sizeof *g);
    if (max_batch < 1 || max_batch > 1 << 20)
        return nn_error_set(err, NN_EINPUT, "batch size %d is out of range 1..%d", max_batch, 1 << 20);
    g->max_batch = max_batch;
    g->batch = max_batch;
    g->input = g->target = g->output = g->loss = -1;
    nn_rng_seed(&g->rng, 0);
    nn_rng_seed(&g->noise_rng, 1);
    return NN_OK;
}

void nn_graph_free(nn_graph *g)
{
    if (g->quant) {
        nn_quant_free(g->quant);
        free(g->quant);
    }
    free(g->nodes);
    free(g->param_nodes);
    free(g->params);
    free(g->grads);
    free(g->stats);
    free(g->arena);
    memset(g, 0, sizeof *g);
}

static nn_node *add_node(nn_graph *g, int op, const char *name, nn_error *err)
{
    if (g->finalised) {
        nn_error_set(err, NN_ERUNTIME, "graph: cannot add '%s' after finalising", name);
        return NULL;
    }
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? g->cap_nodes * 2 : 16;
        nn_node *nodes = realloc(g->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes) {
            nn_error_set(err, NN_ERUNTIME, "graph: out of memory");
            return NULL;
        }
        g->nodes = nodes;
        g->cap_nodes = cap;
    }
    nn_node *node = &g->nodes[g->n_nodes];
    memset(node, 0, sizeof *node);
    node->op = op;
    node->param_index = -1;
    snprintf(node->name, sizeof node->name, "%s", name);
    return node;
}

static int set_shape(nn_node *node, int ndim, const int *dim, nn_error *err)
{
    if (ndim < 1 || ndim > NN_MAX_DIMS)
        return nn_error_set(err, NN_EINPUT, "%s: %d dimensions (1..%d allowed)", node->name, ndim, NN_MAX_DIMS);
    node->ndim = ndim;
    memcpy(node->dim, dim, (size_t)ndim * sizeof(int));
    node->size = nn_shape_size(ndim, dim);
    if (node->size == 0 || node->size > (size_t)1 << 30)
        return nn_error_set(err, NN_EINPUT, "%s: invalid shape", node->name);
    return NN_OK;
}

int nn_graph_input(nn_graph *g, const char *name, int ndim, const int *dim, nn_error *err)
{
    nn_node *node = add_node(g, NN_OP_INPUT, name, err);
    if (!node || set_shape(node, ndim, dim, err))
        return -1;
    node->batched = 1;
    return g->n_nodes++;
}

int nn_graph_param(nn_graph *g, const char *name, int ndim, const int *dim, int decay, nn_error *err)
{
    nn_node *node = add_node(g, NN_OP_PARAM, name, err);
    if (!node || set_shape(node, ndim, dim, err))
        return -1;
    node->needs_grad = 1;
    node->decay = decay;
    return g->n_nodes++;
}

static int add_op(nn_graph *g, nn_node *node, const int *in, int n_in, nn_error *err)
{
    int op = node->op;
    if (op <= NN_OP_PARAM || op >= NN_OP_COUNT)
        return nn_error_set(err, NN_EINPUT, "%s: not an op", node->name);
    int most = nn_ops[op].arity, fewest = nn_ops[op].min_arity ? nn_ops[op].min_arity : most;
    if (n_in < fewest || n_in > most) {
        if (fewest == most)
            return nn_error_set(err, NN_EINPUT, "%s: %s takes %d inputs, got %d", node->name, nn_ops[op].name,
                                most, n_in);
        return nn_error_set(err, NN_EINPUT, "%s: %s takes %d to %d inputs, got %d", node->name, nn_ops[op].name,
                            fewest, most, n_in);
    }
    node->n_in = n_in;
    for (int i = 0; i < n_in; i++) {
        if (in[i] < 0 || in[i] >= g->n_nodes)
            return nn_error_set(err, NN_EINPUT, "%s: input %d is not an earlier node", node->name, i);
        node->in[i] = in[i];
        node->needs_grad |= g->nodes[in[i]].needs_grad;
    }
    return nn_ops[op].infer(g, node, err);
}

int nn_graph_op(nn_graph *g, int op, const char *name, const int *in, int n_in, float fparam, nn_error *err)
{
    nn_node *node = add_node(g, op, name, err);
    if (!node)
        return -1;
    node->fparam = fparam;
    if (add_op(g, node, in, n_in, err))
        return -1;
    return g->n_nodes++;
}

int nn_graph_op_args(nn_graph *g, int op, const char *name, const int *in, int n_in, const nn_op_args *args,
                     nn_error *err)
{
    nn_node *node = add_node(g, op, name, err);
    if (!node)
        return -1;
    node->args = *args;
    if (add_op(g, node, in, n_in, err))
        return -1;
    return g->n_nodes++;
}

int nn_graph_reshape(nn_graph *g, int x, const char *name, int ndim, const int *dim, nn_error *err)
{
    nn_node *node = add_node(g, NN_OP_RESHAPE, name, err);
    if (!node || set_shape(node, ndim, dim, err) || add_op(g, node, &x, 1, err))
        return -1;
    return g->n_nodes++;
}

int nn_graph_finalise(nn_graph *g, nn_error *err)
{
    size_t n_params = 0, arena = 0;
    int n_tensors = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        nn_node *node = &g->nodes[i];
        size_t per = node->batched ? (size_t)g->max_batch : 1;
        if (node->op == NN_OP_PARAM) {
            node->param_offset = n_params;
            node->param_index = n_tensors++;
            n_params += align_up(node->size);
            g->param_count += node->size;
            continue;
        }
        if (node->size > SIZE_MAX / 4 / per)
            return nn_error_set(err, NN_EINPUT, "%s: too large for batch %d", node->name, g->max_batch);
        arena += align_up(per * node->size);
        if (node->needs_grad)
            arena += align_up(per * node->size);
        if (node->aux_size > SIZE_MAX / 4 / (size_t)g->max_batch)
            return nn_error_set(err, NN_EINPUT, "%s: too large for batch %d", node->name, g->max_batch);
        arena += align_up((size_t)g->max_batch * node->aux_size);
        arena += align_up(node->scratch_size);
    }
    g->params = aligned_alloc(64, align_up(n_params + 1) * sizeof(float));
    g->grads = aligned_alloc(64, align_up(n_params + 1) * sizeof(float));
    g->arena = aligned_alloc(64, align_up(arena + 1) * sizeof(float));
    g->param_nodes = calloc((size_t)n_tensors + 1, sizeof(int));
    g->stats = calloc((size_t)n_tensors + 1, sizeof(nn_param_stats));
    if (!g->params || !g->grads || !g->arena || !g->param_nodes || !g->stats)
        return nn_error_set(err, NN_ERUNTIME, "graph: out of memory for %zu parameters and %zu activations",
                            n_params, arena);
    memset(g->params, 0, align_up(n_params + 1) * sizeof(float));
    memset(g->grads, 0, align_up(n_params + 1) * sizeof(float));
    memset(g->arena, 0, align_up(arena + 1) * sizeof(float));
    g->n_params = n_params;
    g->n_param_tensors = n_tensors;

    float *at = g->arena;
    for (int i = 0; i < g->n_nodes; i++) {
        nn_node *node = &g->nodes[i];
        size_t per = node->batched ? (size_t)g->max_batch : 1;
        if (node->op == NN_OP_PARAM) {
            node->value = g->params + node->param_offset;
            node->grad = g->grads + node->param_offset;
            g->param_nodes[node->param_index] = i;
            continue;
        }
        node->value = at;
        at += align_up(per * node->size);
        if (node->needs_grad) {
            node->grad = at;
            at += align_up(per * node->size);
        }
        if (node->aux_size) {
            node->aux = at;
            at += align_up((size_t)g->max_batch * node->aux_size);
        }
        if (node->scratch_size) {
            node->scratch = at;
            at += align_up(node->scratch_size);
        }
    }
    g->finalised = 1;
    return NN_OK;
}

static double profile_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void nn_graph_forward_range(nn_graph *g, int first, int last, int n)
{
    g->batch = n;
    nn_graph_profile *prof = g->profile;
    if (prof)
        prof->forwards++;
    for (int i = first < 0 ? 0 : first; i <= last && i < g->n_nodes; i++) {
        nn_node *node = &g->nodes[i];
        if (node->op <= NN_OP_PARAM)
            continue;
        double start = prof ? profile_clock() : 0;
        if (!(g->quant && nn_quant_run_node(g->quant, g, i, n)))
            nn_ops[node->op].forward(g, node, n);
        if (prof)
            prof->forward[i] += profile_clock() - start;
    }
}

void nn_graph_forward(nn_graph *g, int n)
{
    nn_graph_forward_range(g, 0, g->n_nodes - 1, n);
}

void nn_graph_backward(nn_graph *g)
{
    /* Activation gradients are overwritten by their first writer in the
     * pass; parameter gradients start from zero and are accumulated into,
     * since OpenBLAS's beta = 0 path (which clears C itself) measured slower
     * than clearing plus beta = 1.  An optimiser step clears them as it
     * reads them, which saves the memset here. */
    for (int i = 0; i < g->n_nodes; i++)
        g->nodes[i].grad_fresh = g->nodes[i].op != NN_OP_PARAM;
    if (!g->grads_zeroed)
        memset(g->grads, 0, g->n_params * sizeof(float));
    g->grads_zeroed = 0;
    nn_node *loss = &g->nodes[g->loss];
    if (!loss->needs_grad)
        return;
    loss->grad[0] = 1.0f;
    loss->grad_fresh = 0;
    nn_graph_profile *prof = g->profile;
    if (prof)
        prof->backwards++;
    for (int i = g->loss; i >= 0; i--) {
        nn_node *node = &g->nodes[i];
        /* A node whose gradient nobody wrote contributes nothing. */
        if (node->op <= NN_OP_PARAM || !node->needs_grad || node->grad_fresh)
            continue;
        double start = prof ? profile_clock() : 0;
        nn_ops[node->op].backward(g, node, g->batch);
        if (prof)
            prof->backward[i] += profile_clock() - start;
    }
}

void nn_graph_grad_norms(const nn_graph *g, float *norm)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const nn_node *node = &g->nodes[i];
        if (!node->needs_grad || !node->grad)
            norm[i] = NAN;
        else if (node->grad_fresh)
            norm[i] = 0.0f;
        else
            norm[i] = (float)sqrt(nn_vec_sumsq(node->grad, nn_node_extent(node, g->batch)));
    }
}

float nn_graph_loss(const nn_graph *g)
{
    return g->loss >= 0 ? g->nodes[g->loss].value[0] : 0.0f;
}

nn_node *nn_graph_param_node(nn_graph *g, int i)
{
    return &g->nodes[g->param_nodes[i]];
}

float *nn_graph_sample(const nn_graph *g, int node, int s)
{
    const nn_node *x = &g->nodes[node];
    return x->value + (x->batched ? (size_t)s * x->size : 0);
}

void nn_graph_gemms(const nn_graph *g, int n, nn_gemm_list *out)
{
    out->count = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const nn_node *node = &g->nodes[i];
        if (node->op > NN_OP_PARAM && nn_ops[node->op].gemms)
            nn_ops[node->op].gemms(g, node, n, out);
    }
}

double nn_gemm_flops(const nn_gemm_list *list)
{
    double flops = 0;
    for (int i = 0; i < list->count; i++)
        flops += 2.0 * list->gemm[i].m * list->gemm[i].n * list->gemm[i].k * list->gemm[i].count;
    return flops;
}

int nn_graph_find(const nn_graph *g, const char *name)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i].name, name) == 0)
            return i;
    return -1;
}
