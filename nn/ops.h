/* The op table: one entry per op, with shape inference, forward and backward
 * side by side in ops.c.  Private to libnnlab. */
#ifndef NN_OPS_H
#define NN_OPS_H

#include "graph.h"

typedef struct nn_op_def {
    const char *name;
    int arity;
    /* Set the node's batched flag, shape, size and aux_size from its inputs;
     * report a mismatch in err. */
    int (*infer)(nn_graph *g, nn_node *node, nn_error *err);
    void (*forward)(nn_graph *g, nn_node *node, int n);
    /* Accumulate into the inputs' gradients (first writer overwrites). */
    void (*backward)(nn_graph *g, nn_node *node, int n);
    /* List the matrix products one training step of this node performs
     * (forward and backward), for the sgemm-bound rate; NULL if none. */
    void (*gemms)(const nn_graph *g, const nn_node *node, int n, nn_gemm_list *out);
} nn_op_def;

/* Append a product to a list (dropped silently when the list is full). */
void nn_gemm_add(nn_gemm_list *out, int trans_a, int trans_b, int m, int n, int k);

extern const nn_op_def nn_ops[NN_OP_COUNT];

#endif
