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
    NN_OP_COUNT
};

#define NN_MAX_INPUTS 3
#define NN_NAME_LEN 32

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
    float *value;               /* max_batch * size (batched) or size floats */
    float *grad;                /* same extent, NULL when !needs_grad */
    float *aux;                 /* op scratch: dropout mask, probabilities */
    size_t aux_size;            /* floats per sample, for max_batch samples */
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

typedef struct nn_graph {
    nn_node *nodes;
    int n_nodes, cap_nodes;
    int max_batch;
    int batch;                  /* batch size of the last forward */
    int training;               /* 1: dropout active */
    nn_rng rng;                 /* dropout masks */
    int input, target, output, loss; /* well-known nodes (-1 if absent) */
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
} nn_graph;

/* One matrix product C[m,n] = op(A)[m,k] op(B)[k,n] (row-major). */
typedef struct nn_gemm {
    int trans_a, trans_b;
    int m, n, k;
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
/* Add a reshape to a new per-sample shape of the same size. */
int nn_graph_reshape(nn_graph *g, int x, const char *name, int ndim, const int *dim,
                     nn_error *err);
/* Allocate every buffer.  After this, no node may be added. */
int nn_graph_finalise(nn_graph *g, nn_error *err);

/* Run the graph forward on n samples (the input nodes' values must be filled). */
void nn_graph_forward(nn_graph *g, int n);
/* Back-propagate from the loss node; fills every parameter gradient. */
void nn_graph_backward(nn_graph *g);
/* Loss of the last forward pass. */
float nn_graph_loss(const nn_graph *g);
/* Parameter tensor i's node. */
nn_node *nn_graph_param_node(nn_graph *g, int i);
/* Value of node i for sample s of the last forward (batched nodes). */
float *nn_graph_sample(const nn_graph *g, int node, int s);
/* The matrix products of one training step on n samples (forward, weight
 * gradients, and input gradients where they are needed). */
void nn_graph_gemms(const nn_graph *g, int n, nn_gemm_list *out);
/* Floating-point operations of those products: sum of 2 m n k. */
double nn_gemm_flops(const nn_gemm_list *list);
/* Find a node by name; -1 if none. */
int nn_graph_find(const nn_graph *g, const char *name);

#endif
