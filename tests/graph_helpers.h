/* Small graphs for the op tests: an op under test between a trainable
 * front and a mean-squared-error loss, filled with seeded random values.
 *
 *     input[IN] -> matmul W0[S, IN] -> reshape to the op's input shape
 *               -> op(s) under test -> mse against a random target
 *
 * The front makes the op's input gradient observable: W0's gradient is
 * only right if the op passes the right gradient back to its input. */
#ifndef TESTS_GRAPH_HELPERS_H
#define TESTS_GRAPH_HELPERS_H

#include <check.h>
#include <math.h>
#include <stdint.h>

#include "gradcheck.h"
#include "graph.h"
#include "rng.h"

enum { FRONT_INPUTS = 5 };

static inline void fill_uniform(float *x, size_t n, float lo, float hi, nn_rng *rng)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * nn_rng_uniform(rng);
}

/* Start a graph for batches of n and return its front, reshaped to shape. */
static inline int front(nn_graph *g, int n, int ndim, const int *shape)
{
    nn_error err;
    ck_assert_int_eq(nn_graph_init(g, n, &err), NN_OK);
    int in = FRONT_INPUTS, size = 1;
    for (int d = 0; d < ndim; d++)
        size *= shape[d];
    int w_dim[2] = {size, FRONT_INPUTS};
    int x = g->input = nn_graph_input(g, "input", 1, &in, &err);
    int w = nn_graph_param(g, "front.weight", 2, w_dim, 1, &err);
    int pair[2] = {x, w};
    int z = nn_graph_op(g, NN_OP_MATMUL, "front", pair, 2, 0, &err);
    int y = nn_graph_reshape(g, z, "front.shape", ndim, shape, &err);
    ck_assert_msg(y >= 0, "%s", err.msg);
    return y;
}

/* Add the target and the mse loss on y, finalise, and fill the input, the
 * target and every parameter with values from seed. */
static inline void finish(nn_graph *g, int y, int n, uint64_t seed)
{
    nn_error err;
    int size = (int)g->nodes[y].size;
    g->output = y;
    g->target = nn_graph_input(g, "target", 1, &size, &err);
    int pair[2] = {y, g->target};
    g->loss = nn_graph_op(g, NN_OP_MSE, "loss", pair, 2, 0, &err);
    ck_assert_msg(g->loss >= 0, "%s", err.msg);
    ck_assert_msg(nn_graph_finalise(g, &err) == NN_OK, "%s", err.msg);
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    nn_rng_seed(&g->noise_rng, seed + 1);
    fill_uniform(g->nodes[g->input].value, (size_t)n * g->nodes[g->input].size, -1, 1, &rng);
    fill_uniform(g->nodes[g->target].value, (size_t)n * size, -1, 1, &rng);
    for (int p = 0; p < g->n_param_tensors; p++) {
        nn_node *param = nn_graph_param_node(g, p);
        fill_uniform(param->value, param->size, -0.7f, 0.7f, &rng);
    }
    g->training = 1;
}

/* Worst relative error of any parameter tensor's gradient. */
static inline double worst_gradient_error(nn_graph *g, int n)
{
    nn_gradcheck_result results[16];
    ck_assert_int_le(g->n_param_tensors, 16);
    return nn_gradcheck_graph(g, n, NN_GRADCHECK_H_STEP, 1 << 30, 7, results);
}

/* |a - b| <= tol * max(1, |b|) */
#define ck_assert_close(a, b, tol)                                                                       \
    do {                                                                                                 \
        double a_ = (a), b_ = (b);                                                                      \
        ck_assert_msg(fabs(a_ - b_) <= (tol) * fmax(1.0, fabs(b_)), "%s = %.9g, expected %.9g (%s:%d)", #a, \
                      a_, b_, __FILE__, __LINE__);                                                       \
    } while (0)

#endif
