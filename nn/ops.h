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
    /* Accumulate into the inputs' gradients (see nn_grad_begin). */
    void (*backward)(nn_graph *g, nn_node *node, int n);
} nn_op_def;

extern const nn_op_def nn_ops[NN_OP_COUNT];

#endif
