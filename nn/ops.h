/* The op table: one entry per op, with shape inference, forward and backward
 * side by side.  The elementwise, dense and loss ops live in ops.c, the
 * spatial ones in ops_conv.c, the recurrent one in ops_lstm.c and the
 * variational ones in ops_vae.c.  Private to libnnlab. */
#ifndef NN_OPS_H
#define NN_OPS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

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
    /* List the matrix products one training step of this node performs
     * (forward and backward), for the sgemm-bound rate; NULL if none. */
    void (*gemms)(const nn_graph *g, const nn_node *node, int n, nn_gemm_list *out);
    /* The fewest inputs when the last ones are optional (0: all of them). */
    int min_arity;
} nn_op_def;

/* Add a product to a list: a new shape is appended (while there is room),
 * a listed one has its count raised. */
void nn_gemm_add(nn_gemm_list *out, int trans_a, int trans_b, int m, int n, int k);

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

/* exp(x) to about 2 ulp for |x| < 87, clamped beyond, in plain arithmetic
 * so that loops calling it vectorise (libm's expf does not without
 * -ffast-math).  Range reduction to r in [-ln2/2, ln2/2] and Cephes' degree-6
 * polynomial, scaled by 2^k through the exponent bits. */
static inline float nn_fast_expf(float x)
{
    x = x < -87.0f ? -87.0f : x > 87.0f ? 87.0f : x;
    float k = floorf(x * 1.44269504f + 0.5f);
    float r = x - k * 0.693359375f + k * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)k + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* The logistic function through nn_fast_expf: vectorisable, and without
 * overflow since the exponent is clamped. */
static inline float nn_fast_sigmoidf(float x)
{
    return 1.0f / (1.0f + nn_fast_expf(-x));
}

/* tanh(x) = 2 sigmoid(2x) - 1, to about 1e-7 absolute. */
static inline float nn_fast_tanhf(float x)
{
    return 2.0f / (1.0f + nn_fast_expf(-2.0f * x)) - 1.0f;
}

/* log(1 + x) for x in [0, 1] to about 1e-8, vectorisable: with m = 1 + x,
 * log m = 2 atanh(s) for s = (m - 1) / (m + 1) = x / (2 + x) <= 1/3, whose
 * odd series is summed to s^13; exact in relative terms as x goes to 0. */
static inline float nn_fast_log1pf(float x)
{
    float s = x / (2.0f + x), s2 = s * s;
    float p = 1.0f / 13;
    p = p * s2 + 1.0f / 11;
    p = p * s2 + 1.0f / 9;
    p = p * s2 + 1.0f / 7;
    p = p * s2 + 1.0f / 5;
    p = p * s2 + 1.0f / 3;
    p = p * s2 + 1.0f;
    return 2.0f * s * p;
}

/* Shape inference of elementwise ops: the output has the input's shape. */
int nn_infer_same(nn_graph *g, nn_node *node, nn_error *err);

/* ops_conv.c */
/* A conv2d node's bias: its optional third input, or NULL. */
static inline nn_node *nn_conv2d_bias(nn_graph *g, const nn_node *node)
{
    return node->n_in > 2 ? nn_op_input(g, node, 2) : NULL;
}
int nn_conv2d_infer(nn_graph *g, nn_node *node, nn_error *err);
void nn_conv2d_forward(nn_graph *g, nn_node *node, int n);
void nn_conv2d_backward(nn_graph *g, nn_node *node, int n);
void nn_conv2d_gemms(const nn_graph *g, const nn_node *node, int n, nn_gemm_list *out);
/* 0 makes every conv2d lower to im2col and sgemm, 1 (the default) lets
 * stride-1 layers use the direct kernels where the CPU has them; tests run
 * both.  Takes effect for graphs built and passes run after the call. */
void nn_conv_use_direct(int on);
int nn_pool_infer(nn_graph *g, nn_node *node, nn_error *err);
void nn_maxpool_forward(nn_graph *g, nn_node *node, int n);
void nn_maxpool_backward(nn_graph *g, nn_node *node, int n);
void nn_avgpool_forward(nn_graph *g, nn_node *node, int n);
void nn_avgpool_backward(nn_graph *g, nn_node *node, int n);

/* ops_lstm.c */
int nn_lstm_infer(nn_graph *g, nn_node *node, nn_error *err);
void nn_lstm_forward(nn_graph *g, nn_node *node, int n);
void nn_lstm_backward(nn_graph *g, nn_node *node, int n);
void nn_lstm_gemms(const nn_graph *g, const nn_node *node, int n, nn_gemm_list *out);

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
