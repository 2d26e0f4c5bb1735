/* The op table: one entry per op, with shape inference, forward and backward
 * side by side.  The elementwise, dense and loss ops live in ops.c, the
 * spatial ones in ops_conv.c, the recurrent one in ops_lstm.c and the
 * variational ones in ops_vae.c.  Private to libnnlab. */
#ifndef NN_OPS_H
#define NN_OPS_H

#include <math.h>

#include "graph.h"

typedef struct nn_op_def {
    const char *name;
    int arity;
    /* Set the node's batched flag, shape, size, aux_size and scratch_size
     * from its inputs; report a mismatch in err. */
    int (*infer)(nn_graph *g, nn_node *node, nn_error *err);
    void (*forward)(nn_graph *g, nn_node *node, int n);
    /* Write or accumulate into the inputs' gradients (see nn_grad_first). */
    void (*backward)(nn_graph *g, nn_node *node, int n);
} nn_op_def;

extern const nn_op_def nn_ops[NN_OP_COUNT];

/* Input i of an op node. */
static inline nn_node *nn_op_input(nn_graph *g, const nn_node *node, int i)
{
    return &g->nodes[node->in[i]];
}

/* True if this backward pass is the first to write x's gradient; marks it
 * written.  The caller overwrites when true and accumulates otherwise. */
static inline int nn_grad_first(nn_node *x)
{
    int first = x->grad_fresh;
    x->grad_fresh = 0;
    return first;
}

/* Floats a node holds for n samples. */
static inline size_t nn_node_extent(const nn_node *node, int n)
{
    return node->batched ? (size_t)n * node->size : node->size;
}

/* The logistic function, split by sign so exp() never overflows. */
static inline float nn_sigmoidf(float x)
{
    if (x >= 0.0f)
        return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

/* Shape inference of elementwise ops: the output has the input's shape. */
int nn_infer_same(nn_graph *g, nn_node *node, nn_error *err);

/* ops_conv.c */
int nn_conv2d_infer(nn_graph *g, nn_node *node, nn_error *err);
void nn_conv2d_forward(nn_graph *g, nn_node *node, int n);
void nn_conv2d_backward(nn_graph *g, nn_node *node, int n);
int nn_pool_infer(nn_graph *g, nn_node *node, nn_error *err);
void nn_maxpool_forward(nn_graph *g, nn_node *node, int n);
void nn_maxpool_backward(nn_graph *g, nn_node *node, int n);
void nn_avgpool_forward(nn_graph *g, nn_node *node, int n);
void nn_avgpool_backward(nn_graph *g, nn_node *node, int n);

/* ops_lstm.c */
int nn_lstm_infer(nn_graph *g, nn_node *node, nn_error *err);
void nn_lstm_forward(nn_graph *g, nn_node *node, int n);
void nn_lstm_backward(nn_graph *g, nn_node *node, int n);

/* ops_vae.c */
int nn_gaussian_infer(nn_graph *g, nn_node *node, nn_error *err);
void nn_gaussian_forward(nn_graph *g, nn_node *node, int n);
void nn_gaussian_backward(nn_graph *g, nn_node *node, int n);
int nn_kl_infer(nn_graph *g, nn_node *node, nn_error *err);
void nn_kl_forward(nn_graph *g, nn_node *node, int n);
void nn_kl_backward(nn_graph *g, nn_node *node, int n);
int nn_add_infer(nn_graph *g, nn_node *node, nn_error *err);
void nn_add_forward(nn_graph *g, nn_node *node, int n);
void nn_add_backward(nn_graph *g, nn_node *node, int n);

#endif
