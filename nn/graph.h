/* The computational graph and reverse-mode automatic differentiation.
 *
 * A graph is a list of nodes in topological order.  Input and parameter nodes
 * hold data; every other node applies one op to up to three earlier nodes.
 * Batched nodes (activations) have a per-sample shape and room for max_batch
 * samples; forward and backward run on any batch size n <= max_batch.
 *
 * All buffers are sized when the graph is finalised: parameters and their
 * gradients live in two flat arrays (so optimisers and savers are single
 * loops), activations and their gradients in one arena.  Nothing is
 * allocated inside forward or backward. */
#ifndef NN_GRAPH_H
#define NN_GRAPH_H

#include <stddef.h>

#include "error.h"
#include "rng.h"
#include "tensor.h"

/* Op identifiers; the order matches the op table in ops.c. */
enum nn_op {
    NN_OP_INPUT,        /* data fed by the caller (images, targets) */
    NN_OP_PARAM,        /* trainable parameter */
    NN_OP_MATMUL,       /* y[n,M] = x[n,K] W[M,K]^T        in: x, W */
    NN_OP_BIAS,         /* y[n,C,...] = x + b[C]           in: x, b */
    NN_OP_RELU,
    NN_OP_TANH,
    NN_OP_SIGMOID,
    NN_OP_DROPOUT,      /* inverted dropout, rate in fparam */
    NN_OP_RESHAPE,      /* same data, new per-sample shape */
    NN_OP_SOFTMAX_XENT, /* mean over batch of -sum t log softmax(x)   in: x, t */
    NN_OP_SIGMOID_BCE,  /* mean over batch of sum BCE(sigmoid(x), t)  in: x, t */
    NN_OP_MSE,          /* mean over batch of 0.5 * |x - t|^2         in: x, t */
    NN_OP_CONV2D,       /* y[n,O,OH,OW] = W[O,C,kh,kw] * x[n,C,H,W] (+ b[O])  in: x, W[, b] */
    NN_OP_MAXPOOL,      /* y[n,C,OH,OW] = max over each kh x kw window   in: x */
    NN_OP_AVGPOOL,      /* y[n,C,OH,OW] = mean over each kh x kw window  in: x */
    NN_OP_LSTM,         /* x[n,T,F] read row by row; y[n,H] or [n,T,H]  in: x, W[4H,F+H], b[4H] */
    NN_OP_GAUSSIAN,     /* z[n,L] = mu + exp(logvar/2) eps, eps ~ N(0,1)  in: p[n,2L] = mu|logvar */
    NN_OP_KL,           /* mean over batch of KL(N(mu, e^logvar) || N(0,1))  in: p[n,2L] */
    NN_OP_ADD,          /* y = a + b, same shape (sums of losses)        in: a, b */
    NN_OP_COUNT
};

#define NN_MAX_INPUTS 3
#define NN_NAME_LEN 32

/* An op's integer attributes, fixed when its node is added. */
typedef struct nn_op_args {
    int kh, kw;         /* pooling window (conv2d takes its kernel from W) */
    int stride;         /* conv2d and pooling, >= 1 */
    int pad;            /* conv2d: zeros added on each side */
    int all_steps;      /* lstm: output h at every step, not just the last */
} nn_op_args;

typedef struct nn_node {
    int op;                     /* enum nn_op */
    int n_in;
    int in[NN_MAX_INPUTS];      /* indices of earlier nodes */
    int batched;                /* 1: shape is per sample, data has a batch axis */
    int ndim;
    int dim[NN_MAX_DIMS];       /* per-sample shape if batched, else full shape */
    size_t size;                /* elements per sample (batched) or in all */
    int needs_grad;             /* gradient flows into this node */
    float fparam;               /* op attribute: dropout rate */
    nn_op_args args;            /* op attributes: window, stride, padding */
    float *value;               /* max_batch * size (batched) or size floats */
    float *grad;                /* same extent, NULL when !needs_grad */
    float *aux;                 /* op scratch: dropout mask, probabilities */
    size_t aux_size;            /* floats per sample, for max_batch samples */
    float *scratch;             /* op scratch not tied to samples: im2col columns */
    size_t scratch_size;        /* floats in all */
    int grad_fresh;             /* backward: grad not written yet this pass */
    char name[NN_NAME_LEN];     /* "dense1.weight", "relu2", "loss", ... */
    /* parameters only */
    int param_index;            /* position among the parameter tensors */
    int decay;                  /* weight decay and L1 apply (weights, not biases) */
    size_t param_offset;        /* into nn_graph.params / grads */
} nn_node;

/* One parameter tensor's health after a step; the dashboard plots these. */
typedef struct nn_param_stats {
    float grad_norm;     /* L2 norm of the loss gradient */
    float weight_norm;   /* L2 norm of the weights after the update */
    float update_ratio;  /* |update| / |weights before| */
} nn_param_stats;

/* Seconds spent in each node's forward and backward, summed over the
 * passes made while a graph's profile is set (nnlab bench --profile). */
typedef struct nn_graph_profile {
    double *forward, *backward; /* one per node */
    long forwards, backwards;   /* passes timed */
} nn_graph_profile;

/* Knowledge distillation (Hinton et al. 2015) for a softmax_xent loss x, t:
 * while a graph's distill is set, the loss of a pass is
 *     (1 - weight) * sum_j -t_j log p_j + weight * T^2 * KL(q || p_T)
 * averaged over the batch, with p = softmax(x), p_T = softmax(x / T) and
 * q = softmax(s / T) for a teacher's logits s on the same samples; the
 * gradient on x is (1 - weight) (p sum(t) - t) + weight T (p_T - q). */
typedef struct nn_distill {
    const float *teacher;       /* [max_batch, K]: the teacher's logits (K as x) */
    float temperature;          /* T > 0: above 1 softens both distributions */
    float weight;               /* of the teacher's term, 0..1 */
} nn_distill;

typedef struct nn_graph {
    nn_node *nodes;
    int n_nodes, cap_nodes;
    int max_batch;
    int batch;                  /* batch size of the last forward */
    int training;               /* 1: dropout active */
    nn_rng rng;                 /* dropout masks */
    nn_rng noise_rng;           /* reparameterisation noise (gaussian) */
    /* Well-known nodes (-1 if absent).  A loss that reconstructs its input
     * (an autoencoder) has the input as its target: then target is -1 and
     * reconstructs is 1. */
    int input, target, output, loss;
    int reconstructs;
    /* parameters, collated */
    int n_param_tensors;
    int *param_nodes;           /* node index of each parameter tensor */
    size_t n_params;            /* floats in the flat arrays (tensors are padded) */
    size_t param_count;         /* trainable values, without padding */
    float *params, *grads;
    nn_param_stats *stats;      /* one per parameter tensor */
    int grads_zeroed;           /* grads are all zero (an optimiser step cleared them) */
    float *arena;               /* activations, gradients and op scratch */
    int finalised;
    struct nn_quant *quant;     /* when set, forward runs its layers in int8 (quant.h); owned */
    nn_graph_profile *profile;  /* when set, passes time every node; not owned */
    const nn_distill *distill;  /* when set, softmax_xent also matches a teacher; not owned */
} nn_graph;

/* A matrix product C[m,n] = op(A)[m,k] op(B)[k,n] (row-major), made
 * count times in one step (a convolution makes one per sample). */
typedef struct nn_gemm {
    int trans_a, trans_b;
    int m, n, k;
    long count;
} nn_gemm;

#define NN_MAX_GEMMS 256

typedef struct nn_gemm_list {
    int count;
    nn_gemm gemm[NN_MAX_GEMMS];
} nn_gemm_list;

/* Name of an op ("matmul", "relu", ...). */
const char *nn_op_name(int op);
/* Number of inputs an op takes. */
int nn_op_arity(int op);

/* Start an empty graph that will run batches of at most max_batch samples. */
int nn_graph_init(nn_graph *g, int max_batch, nn_error *err);
void nn_graph_free(nn_graph *g);

/* Add an input node with a per-sample shape; returns its index or -1. */
int nn_graph_input(nn_graph *g, const char *name, int ndim, const int *dim, nn_error *err);
/* Add a parameter tensor (not batched); decay says whether weight decay and
 * L1 apply to it.  Returns its index or -1. */
int nn_graph_param(nn_graph *g, const char *name, int ndim, const int *dim,
                   int decay, nn_error *err);
/* Add an op node on earlier nodes; the output shape is inferred, and a
 * shape mismatch is reported in err.  Returns its index or -1. */
int nn_graph_op(nn_graph *g, int op, const char *name, const int *in, int n_in,
                float fparam, nn_error *err);
/* Add an op node with integer attributes (conv2d, pooling, lstm). */
int nn_graph_op_args(nn_graph *g, int op, const char *name, const int *in, int n_in,
                     const nn_op_args *args, nn_error *err);
/* Add a reshape to a new per-sample shape of the same size. */
int nn_graph_reshape(nn_graph *g, int x, const char *name, int ndim, const int *dim,
                     nn_error *err);
/* Allocate every buffer.  After this, no node may be added. */
int nn_graph_finalise(nn_graph *g, nn_error *err);

/* Run the graph forward on n samples (the input nodes' values must be filled). */
void nn_graph_forward(nn_graph *g, int n);
/* Run nodes first..last (inclusive) forward on n samples, reading the
 * current values of every earlier node: decoding from a latent code. */
void nn_graph_forward_range(nn_graph *g, int first, int last, int n);
/* Back-propagate from the loss node; fills every parameter gradient. */
void nn_graph_backward(nn_graph *g);
/* After backward: the L2 norm of each node's gradient over the last batch,
 * norm[i] for node i (n_nodes floats); NaN where no gradient flows (inputs),
 * 0 where none arrived in this pass. */
void nn_graph_grad_norms(const nn_graph *g, float *norm);
/* Loss of the last forward pass. */
float nn_graph_loss(const nn_graph *g);
/* Parameter tensor i's node. */
nn_node *nn_graph_param_node(nn_graph *g, int i);
/* Value of node i for sample s of the last forward (batched nodes). */
float *nn_graph_sample(const nn_graph *g, int node, int s);
/* The matrix products of one training step on n samples (forward, weight
 * gradients, and input gradients where they are needed). */
void nn_graph_gemms(const nn_graph *g, int n, nn_gemm_list *out);
/* Floating-point operations of those products: sum of 2 m n k count. */
double nn_gemm_flops(const nn_gemm_list *list);
/* Find a node by name; -1 if none. */
int nn_graph_find(const nn_graph *g, const char *name);

#endif
