/* Small builders shared by the graph tests: add nodes with checked
 * results, fill values, compare against references.  Each test file that
 * includes this gets its own copy of what it uses. */
#ifndef TESTS_GRAPH_FIXTURES_H
#define TESTS_GRAPH_FIXTURES_H

#include "graph.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Not every test file uses every builder. */
#define FIXTURE __attribute__((unused)) static


FIXTURE nn_error err;

FIXTURE int add_input(nn_graph *g, const char *name, int ndim, const int *dim)
{
    int i = nn_graph_input(g, name, ndim, dim, &err);
    ck_assert_msg(i >= 0, "%s", err.msg);
    return i;
}

FIXTURE int add_param(nn_graph *g, const char *name, int ndim, const int *dim, int decay)
{
    int i = nn_graph_param(g, name, ndim, dim, decay, &err);
    ck_assert_msg(i >= 0, "%s", err.msg);
    return i;
}

/* Unary op when b < 0. */
FIXTURE int add_op(nn_graph *g, int op, const char *name, int a, int b, float fparam)
{
    int in[2] = {a, b};
    int i = nn_graph_op(g, op, name, in, b < 0 ? 1 : 2, fparam, &err);
    ck_assert_msg(i >= 0, "%s", err.msg);
    return i;
}

FIXTURE int add_reshape(nn_graph *g, int x, const char *name, int ndim, const int *dim)
{
    int i = nn_graph_reshape(g, x, name, ndim, dim, &err);
    ck_assert_msg(i >= 0, "%s", err.msg);
    return i;
}

FIXTURE void init_graph(nn_graph *g, int max_batch)
{
    ck_assert_int_eq(nn_graph_init(g, max_batch, &err), NN_OK);
}

FIXTURE void finalise(nn_graph *g)
{
    ck_assert_msg(nn_graph_finalise(g, &err) == NN_OK, "%s", err.msg);
}

FIXTURE void fill_uniform(float *x, size_t n, float lo, float hi, nn_rng *rng)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * nn_rng_uniform(rng);
}

FIXTURE void set_values(nn_graph *g, int node, const float *values, size_t n)
{
    memcpy(g->nodes[node].value, values, n * sizeof(float));
}

FIXTURE void assert_close(const float *got, const double *want, size_t n, double tol, const char *what)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabs(got[i] - want[i]) <= tol, "%s[%zu] = %.9g, expected %.9g", what, i,
                      (double)got[i], want[i]);
}

/* An identity parameter W [k,k], so matmul(x, W) = x exactly and the
 * gradient of whatever follows lands in a node we can read. */
FIXTURE int add_identity(nn_graph *g, const char *name, int k)
{
    int dim[2] = {k, k};
    return add_param(g, name, 2, dim, 1);
}

FIXTURE void set_identity(nn_graph *g, int w)
{
    nn_node *node = &g->nodes[w];
    int k = node->dim[0];
    memset(node->value, 0, node->size * sizeof(float));
    for (int i = 0; i < k; i++)
        node->value[i * k + i] = 1.0f;
}


/* A graph with every op, for the two tests below. */
typedef struct all_ops {
    nn_graph g;
    int unused;
} all_ops;

FIXTURE void build_all_ops(all_ops *a, int max_batch)
{
    nn_graph *g = &a->g;
    init_graph(g, max_batch);
    int six = 6, four = 4, three = 3, two = 2;
    int w1_dim[2] = {4, 6}, w2_dim[2] = {3, 4}, sq[2] = {2, 2};
    int x = add_input(g, "x", 1, &six);
    int w1 = add_param(g, "w1", 2, w1_dim, 1);
    int b1 = add_param(g, "b1", 1, &four, 0);
    int b2 = add_param(g, "b2", 1, &two, 0);
    a->unused = add_param(g, "unused", 1, &three, 1);
    int w2 = add_param(g, "w2", 2, w2_dim, 1);
    int z = add_op(g, NN_OP_MATMUL, "z", x, w1, 0);
    int y = add_op(g, NN_OP_BIAS, "y", z, b1, 0);
    int r = add_op(g, NN_OP_RELU, "r", y, -1, 0);
    int s = add_reshape(g, r, "s", 2, sq);
    int c = add_op(g, NN_OP_BIAS, "c", s, b2, 0);
    int th = add_op(g, NN_OP_TANH, "th", c, -1, 0);
    int d = add_op(g, NN_OP_DROPOUT, "d", th, -1, 0.3f);
    int f = add_reshape(g, d, "f", 1, &four);
    int sg = add_op(g, NN_OP_SIGMOID, "sg", f, -1, 0);
    int o = add_op(g, NN_OP_MATMUL, "o", sg, w2, 0);
    int t = add_input(g, "t", 1, &three);
    g->input = x;
    g->target = t;
    g->output = o;
    g->loss = add_op(g, NN_OP_SOFTMAX_XENT, "loss", o, t, 0);
    finalise(g);
    nn_rng rng;
    nn_rng_seed(&rng, 10);
    fill_uniform(g->params, g->n_params, -1, 1, &rng);
    fill_uniform(g->nodes[x].value, (size_t)max_batch * 6, -1, 1, &rng);
    memset(g->nodes[t].value, 0, (size_t)max_batch * 3 * sizeof(float));
    for (int i = 0; i < max_batch; i++)
        g->nodes[t].value[i * 3 + i % 3] = 1.0f;
    g->training = 1;
    nn_rng_seed(&g->rng, 11);
}

#endif
