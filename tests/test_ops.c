/* Tests for nn/ops.c and nn/graph.c: every op's forward values on tiny
 * hand-built graphs, and hand-worked backward passes.  Gradient checks
 * against central differences are in test_gradcheck.c. */
#include "gradcheck.h"
#include "graph.h"
#include "model.h"
#include "spec.h"
#include "graph_fixtures.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OP_TOLERANCE 1e-3

/* ---- the op table and graph building ---------------------------------- */

START_TEST(test_op_table)
{
    static const struct {
        int op;
        const char *name;
        int arity;
    } table[] = {
        {NN_OP_INPUT, "input", 0},          {NN_OP_PARAM, "param", 0},
        {NN_OP_MATMUL, "matmul", 2},        {NN_OP_BIAS, "bias", 2},
        {NN_OP_RELU, "relu", 1},            {NN_OP_TANH, "tanh", 1},
        {NN_OP_SIGMOID, "sigmoid", 1},      {NN_OP_DROPOUT, "dropout", 1},
        {NN_OP_RESHAPE, "reshape", 1},      {NN_OP_SOFTMAX_XENT, "softmax_xent", 2},
        {NN_OP_SIGMOID_BCE, "sigmoid_bce", 2}, {NN_OP_MSE, "mse", 2},
        {NN_OP_CONV2D, "conv2d", 3},        {NN_OP_MAXPOOL, "maxpool", 1},
        {NN_OP_AVGPOOL, "avgpool", 1},      {NN_OP_LSTM, "lstm", 3},
        {NN_OP_GAUSSIAN, "gaussian", 1},    {NN_OP_KL, "kl", 1},
        {NN_OP_ADD, "add", 2},
    };
    ck_assert_int_eq(sizeof table / sizeof table[0], NN_OP_COUNT);
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        ck_assert_str_eq(nn_op_name(table[i].op), table[i].name);
        ck_assert_int_eq(nn_op_arity(table[i].op), table[i].arity);
    }
    ck_assert_str_eq(nn_op_name(-1), "?");
    ck_assert_str_eq(nn_op_name(NN_OP_COUNT), "?");
    ck_assert_int_eq(nn_op_arity(NN_OP_COUNT), 0);
}
END_TEST


START_TEST(test_graph_build_errors)
{
    nn_graph g;
    ck_assert_int_eq(nn_graph_init(&g, 0, &err), NN_EINPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "batch size 0 is out of range 1..1048576"));

    init_graph(&g, 2);
    int five = 5, w_dim[2] = {3, 4};
    int x = add_input(&g, "x", 1, &five);
    int w = add_param(&g, "w", 2, w_dim, 1);
    int in[2] = {x, w};
    ck_assert_int_eq(nn_graph_op(&g, NN_OP_MATMUL, "mm", in, 2, 0, &err), -1);
    ck_assert_str_eq(err.msg, "mm: input has 5 features per sample but the weight expects 4");
    ck_assert_int_eq(nn_graph_op(&g, NN_OP_RELU, "r", in, 2, 0, &err), -1);
    ck_assert_str_eq(err.msg, "r: relu takes 1 inputs, got 2");
    ck_assert_int_eq(nn_graph_op(&g, NN_OP_CONV2D, "c", &x, 1, 0, &err), -1); /* the bias is optional, W not */
    ck_assert_str_eq(err.msg, "c: conv2d takes 2 to 3 inputs, got 1");
    int bad = 7;
    ck_assert_int_eq(nn_graph_op(&g, NN_OP_RELU, "r", &bad, 1, 0, &err), -1);
    ck_assert_str_eq(err.msg, "r: input 0 is not an earlier node");
    ck_assert_int_eq(nn_graph_op(&g, NN_OP_PARAM, "p", NULL, 0, 0, &err), -1);
    ck_assert_str_eq(err.msg, "p: not an op");
    ck_assert_int_eq(nn_graph_op(&g, NN_OP_DROPOUT, "d", &x, 1, 1.0f, &err), -1);
    ck_assert_str_eq(err.msg, "d: dropout rate 1 is not in [0, 1)");
    int four = 4;
    ck_assert_int_eq(nn_graph_reshape(&g, x, "rs", 1, &four, &err), -1);
    ck_assert_str_eq(err.msg, "rs: cannot reshape 5 values into 4");
    int b_dim = 3;
    int b = add_param(&g, "b", 1, &b_dim, 0);
    in[1] = b;
    ck_assert_int_eq(nn_graph_op(&g, NN_OP_BIAS, "add", in, 2, 0, &err), -1);
    ck_assert_str_eq(err.msg, "add: bias of 3 values does not match 5 channels");
    int t = add_input(&g, "t", 1, &four);
    in[1] = t;
    ck_assert_int_eq(nn_graph_op(&g, NN_OP_MSE, "loss", in, 2, 0, &err), -1);
    ck_assert_str_eq(err.msg, "loss: prediction has 5 values per sample but the target has 4");
    int zero = 0;
    ck_assert_int_eq(nn_graph_input(&g, "z", 1, &zero, &err), -1);
    ck_assert_str_eq(err.msg, "z: invalid shape");

    /* Failed additions leave no node behind. */
    ck_assert_int_eq(g.n_nodes, 4);
    finalise(&g);
    ck_assert_int_eq(nn_graph_input(&g, "late", 1, &four, &err), -1);
    ck_assert_str_eq(err.msg, "graph: cannot add 'late' after finalising");
    nn_graph_free(&g);
}
END_TEST


START_TEST(test_graph_layout)
{
    nn_graph g;
    init_graph(&g, 3);
    int six = 6, w_dim[2] = {4, 6}, b_dim = 4, u_dim = 5;
    int x = add_input(&g, "x", 1, &six);
    int w = add_param(&g, "w", 2, w_dim, 1);
    int b = add_param(&g, "b", 1, &b_dim, 0);
    int unused = add_param(&g, "unused", 1, &u_dim, 1);
    int z = add_op(&g, NN_OP_MATMUL, "z", x, w, 0);
    int y = add_op(&g, NN_OP_BIAS, "y", z, b, 0);
    finalise(&g);

    ck_assert_int_eq(g.n_param_tensors, 3);
    ck_assert_int_eq(nn_graph_param_node(&g, 0) - g.nodes, w);
    ck_assert_int_eq(nn_graph_param_node(&g, 1) - g.nodes, b);
    ck_assert_int_eq(nn_graph_param_node(&g, 2) - g.nodes, unused);
    ck_assert_int_eq(g.nodes[w].decay, 1);
    ck_assert_int_eq(g.nodes[b].decay, 0);
    /* Parameters sit in the flat arrays, in order, without overlapping. */
    ck_assert_ptr_eq(g.nodes[w].value, g.params + g.nodes[w].param_offset);
    ck_assert_ptr_eq(g.nodes[b].grad, g.grads + g.nodes[b].param_offset);
    ck_assert_uint_ge(g.nodes[b].param_offset, 24);
    ck_assert_uint_ge(g.nodes[unused].param_offset, g.nodes[b].param_offset + 4);
    ck_assert_uint_ge(g.n_params, g.nodes[unused].param_offset + 5);
    ck_assert_uint_eq(g.param_count, 24 + 4 + 5);
    /* Gradients exist exactly where they can flow. */
    ck_assert_int_eq(g.nodes[x].needs_grad, 0);
    ck_assert_ptr_null(g.nodes[x].grad);
    ck_assert_int_eq(g.nodes[z].needs_grad, 1);
    ck_assert_ptr_nonnull(g.nodes[y].grad);
    ck_assert_int_eq(g.nodes[y].batched, 1);
    ck_assert_uint_eq(g.nodes[y].size, 4);

    ck_assert_int_eq(nn_graph_find(&g, "y"), y);
    ck_assert_int_eq(nn_graph_find(&g, "unused"), unused);
    ck_assert_int_eq(nn_graph_find(&g, "nope"), -1);
    ck_assert_ptr_eq(nn_graph_sample(&g, y, 2), g.nodes[y].value + 8);
    ck_assert_ptr_eq(nn_graph_sample(&g, w, 2), g.nodes[w].value); /* not batched */
    nn_graph_free(&g);
}
END_TEST


/* ---- forward values --------------------------------------------------- */

START_TEST(test_matmul_forward)
{
    enum { N = 3, K = 5, M = 4 };
    nn_graph g;
    init_graph(&g, N);
    int k = K, w_dim[2] = {M, K};
    int x = add_input(&g, "x", 1, &k);
    int w = add_param(&g, "w", 2, w_dim, 1);
    int y = add_op(&g, NN_OP_MATMUL, "y", x, w, 0);
    finalise(&g);
    ck_assert_int_eq(g.nodes[y].dim[0], M);

    nn_rng rng;
    nn_rng_seed(&rng, 1);
    fill_uniform(g.nodes[x].value, N * K, -1, 1, &rng);
    fill_uniform(g.nodes[w].value, M * K, -1, 1, &rng);
    nn_graph_forward(&g, N);

    /* y = x W^T against the reference product with W transposed by hand. */
    float wt[K * M], ref[N * M];
    for (int m = 0; m < M; m++)
        for (int j = 0; j < K; j++)
            wt[j * M + m] = g.nodes[w].value[m * K + j];
    nn_matmul_ref(ref, g.nodes[x].value, wt, N, K, M);
    for (int i = 0; i < N * M; i++)
        ck_assert_float_eq_tol(g.nodes[y].value[i], ref[i], 1e-5f);

    /* And one row by hand. */
    const float x0[K] = {1, 2, 0, -1, 0.5f};
    const float w0[M * K] = {1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 2, -1, 3, 0, 4};
    set_values(&g, x, x0, K);
    set_values(&g, w, w0, M * K);
    nn_graph_forward(&g, 1);
    const double want[M] = {1, 2, 2.5, 2};
    assert_close(g.nodes[y].value, want, M, 1e-6, "y");
    ck_assert_int_eq(g.batch, 1);
    nn_graph_free(&g);
}
END_TEST


START_TEST(test_bias_broadcast)
{
    /* Per-sample shape [C=2, S=3]: the bias adds per channel. */
    nn_graph g;
    init_graph(&g, 2);
    int shape[2] = {2, 3}, c = 2;
    int x = add_input(&g, "x", 2, shape);
    int b = add_param(&g, "b", 1, &c, 0);
    int y = add_op(&g, NN_OP_BIAS, "y", x, b, 0);
    finalise(&g);
    ck_assert_int_eq(g.nodes[y].ndim, 2);
    ck_assert_int_eq(g.nodes[y].dim[1], 3);
    const float xs[12] = {1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6};
    const float bs[2] = {10, -0.5f};
    set_values(&g, x, xs, 12);
    set_values(&g, b, bs, 2);
    nn_graph_forward(&g, 2);
    const double want[12] = {11, 12, 13, 3.5, 4.5, 5.5, 9, 8, 7, -4.5, -5.5, -6.5};
    assert_close(g.nodes[y].value, want, 12, 0, "y");
    nn_graph_free(&g);
}
END_TEST


START_TEST(test_activations_forward)
{
    enum { K = 8 };
    nn_graph g;
    init_graph(&g, 1);
    int k = K;
    int x = add_input(&g, "x", 1, &k);
    int relu = add_op(&g, NN_OP_RELU, "relu", x, -1, 0);
    int th = add_op(&g, NN_OP_TANH, "tanh", x, -1, 0);
    int sg = add_op(&g, NN_OP_SIGMOID, "sigmoid", x, -1, 0);
    finalise(&g);
    const float xs[K] = {-100, -2, -0.5f, 0, 0.5f, 2, 100, 1e-3f};
    set_values(&g, x, xs, K);
    nn_graph_forward(&g, 1);

    const double want_relu[K] = {0, 0, 0, 0, 0.5, 2, 100, 1e-3f};
    assert_close(g.nodes[relu].value, want_relu, K, 0, "relu");
    const double want_tanh[K] = {-1, -0.9640275800758169, -0.46211715726000974, 0, 0.46211715726000974,
                                 0.9640275800758169, 1, 0.0009999996666668};
    assert_close(g.nodes[th].value, want_tanh, K, 1e-6, "tanh");
    const double want_sigmoid[K] = {0, 0.11920292202211755, 0.3775406687981454, 0.5, 0.6224593312018546,
                                    0.8807970779778823, 1, 0.50025};
    assert_close(g.nodes[sg].value, want_sigmoid, K, 1e-6, "sigmoid");
    /* No overflow at the extremes: sigmoid(-100) is tiny but positive (the
     * exponent is clamped at 87, so e^-87 = 1.6e-38 in place of 3.7e-44),
     * sigmoid(100) rounds to exactly 1. */
    float lo = g.nodes[sg].value[0];
    ck_assert_msg(lo > 0.0f && lo < 1e-37f, "sigmoid(-100) = %g", (double)lo);
    ck_assert(g.nodes[sg].value[6] == 1.0f);
    ck_assert(g.nodes[relu].value[3] == 0.0f && !signbit(g.nodes[relu].value[3]));
    nn_graph_free(&g);
}
END_TEST


START_TEST(test_dropout_eval_is_identity)
{
    enum { K = 1000 };
    nn_graph g;
    init_graph(&g, 2);
    int k = K;
    int x = add_input(&g, "x", 1, &k);
    int d = add_op(&g, NN_OP_DROPOUT, "d", x, -1, 0.5f);
    finalise(&g);
    nn_rng rng;
    nn_rng_seed(&rng, 2);
    fill_uniform(g.nodes[x].value, 2 * K, -3, 3, &rng);
    g.training = 0;
    nn_graph_forward(&g, 2);
    ck_assert_int_eq(memcmp(g.nodes[d].value, g.nodes[x].value, 2 * K * sizeof(float)), 0);

    /* Rate 0 in training is the identity as well. */
    g.training = 1;
    g.nodes[d].fparam = 0.0f;
    nn_graph_forward(&g, 2);
    ck_assert_int_eq(memcmp(g.nodes[d].value, g.nodes[x].value, 2 * K * sizeof(float)), 0);
    nn_graph_free(&g);
}
END_TEST


START_TEST(test_dropout_training)
{
    enum { N = 2, K = 5000 };
    const float p = 0.25f;
    nn_graph g;
    init_graph(&g, N);
    int k = K;
    int x = add_input(&g, "x", 1, &k);
    int d = add_op(&g, NN_OP_DROPOUT, "d", x, -1, p);
    finalise(&g);
    nn_rng rng;
    nn_rng_seed(&rng, 3);
    fill_uniform(g.nodes[x].value, N * K, 0.5f, 2, &rng);
    g.training = 1;
    nn_rng_seed(&g.rng, 99);
    nn_graph_forward(&g, N);

    const float *in = g.nodes[x].value, *out = g.nodes[d].value;
    const float scale = 1.0f / (1.0f - p);
    int zeros = 0;
    double sum_in = 0, sum_out = 0;
    for (int i = 0; i < N * K; i++) {
        if (out[i] == 0.0f)
            zeros++;
        else
            ck_assert_msg(out[i] == in[i] * scale, "kept element %d: %.9g is not %.9g * 4/3", i,
                          (double)out[i], (double)in[i]);
        sum_in += in[i];
        sum_out += out[i];
    }
    /* 10000 elements at p = 0.25: 2500 zeros, standard deviation 43. */
    ck_assert_msg(abs(zeros - 2500) < 220, "%d of 10000 zeroed at p = 0.25", zeros);
    /* Inverted dropout keeps the expected sum (here within 3%). */
    ck_assert_double_eq_tol(sum_out / sum_in, 1.0, 0.03);

    /* The mask comes from the graph's generator: the next pass draws a new
     * one, and rewinding the generator draws the same one again. */
    float first[N * K];
    memcpy(first, out, sizeof first);
    nn_graph_forward(&g, N);
    ck_assert_int_ne(memcmp(first, out, sizeof first), 0);
    nn_rng_seed(&g.rng, 99);
    nn_graph_forward(&g, N);
    ck_assert_int_eq(memcmp(first, out, sizeof first), 0);
    nn_graph_free(&g);
}
END_TEST


START_TEST(test_reshape_keeps_data)
{
    nn_graph g;
    init_graph(&g, 2);
    int six = 6, shape[3] = {1, 2, 3};
    int x = add_input(&g, "x", 1, &six);
    int r = add_reshape(&g, x, "r", 3, shape);
    finalise(&g);
    ck_assert_int_eq(g.nodes[r].ndim, 3);
    ck_assert_int_eq(g.nodes[r].dim[0], 1);
    ck_assert_int_eq(g.nodes[r].dim[1], 2);
    ck_assert_int_eq(g.nodes[r].dim[2], 3);
    ck_assert_uint_eq(g.nodes[r].size, 6);
    ck_assert_int_eq(g.nodes[r].batched, 1);
    const float xs[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    set_values(&g, x, xs, 12);
    nn_graph_forward(&g, 2);
    ck_assert_int_eq(memcmp(g.nodes[r].value, xs, sizeof xs), 0);
    nn_graph_free(&g);
}
END_TEST


/* A graph x -> matmul(identity) -> z -> loss(z, t), so z = x exactly and
 * z's gradient is the loss's gradient with respect to its prediction. */
typedef struct loss_graph {
    nn_graph g;
    int x, w, z, t, loss;
} loss_graph;

static void build_loss_graph(loss_graph *lg, int op, int n, int k)
{
    init_graph(&lg->g, n);
    lg->x = add_input(&lg->g, "x", 1, &k);
    lg->w = add_identity(&lg->g, "w", k);
    lg->z = add_op(&lg->g, NN_OP_MATMUL, "z", lg->x, lg->w, 0);
    lg->t = add_input(&lg->g, "t", 1, &k);
    lg->loss = lg->g.loss = add_op(&lg->g, op, "loss", lg->z, lg->t, 0);
    lg->g.input = lg->x;
    lg->g.target = lg->t;
    lg->g.output = lg->z;
    finalise(&lg->g);
    set_identity(&lg->g, lg->w);
}

static float run_loss(loss_graph *lg, int n, const float *x, const float *t)
{
    int k = (int)lg->g.nodes[lg->x].size;
    set_values(&lg->g, lg->x, x, (size_t)n * k);
    set_values(&lg->g, lg->t, t, (size_t)n * k);
    nn_graph_forward(&lg->g, n);
    return nn_graph_loss(&lg->g);
}

START_TEST(test_softmax_xent_value)
{
    loss_graph lg;
    build_loss_graph(&lg, NN_OP_SOFTMAX_XENT, 2, 3);
    ck_assert_int_eq(lg.g.nodes[lg.loss].ndim, 0);
    ck_assert_int_eq(lg.g.nodes[lg.loss].batched, 0);

    /* loss = log(e^1 + e^2 + e^3) - x[target] = 3.4076059644 - x[target] */
    const float logits[6] = {1, 2, 3, 1, 2, 3};
    const float onehot_2[6] = {0, 0, 1, 0, 0, 1};
    ck_assert_double_eq_tol(run_loss(&lg, 1, logits, onehot_2), 0.40760596444438, 1e-6);
    const float mixed[6] = {0, 0, 1, 1, 0, 0};
    /* The batch mean of 0.4076 and 2.4076. */
    ck_assert_double_eq_tol(run_loss(&lg, 2, logits, mixed), 1.40760596444438, 1e-6);
    /* A soft target: lse - sum t x = 3.4076 - 2.3. */
    const float soft[3] = {0.2f, 0.3f, 0.5f};
    ck_assert_double_eq_tol(run_loss(&lg, 1, logits, soft), 1.10760596444438, 1e-6);

    /* Large logits: the same differences give the same loss, no overflow. */
    const float large[6] = {1000, 1001, 1002, -1000, 0, 1000};
    const float targets[6] = {0, 0, 1, 1, 0, 0};
    ck_assert_double_eq_tol(run_loss(&lg, 1, large, targets), 0.40760596444438, 1e-5);
    /* Sample 2 puts all mass on the wrong class: loss 2000, finite. */
    ck_assert_double_eq_tol(run_loss(&lg, 2, large, targets), (0.40760596444438 + 2000) / 2, 1e-3);
    const float tiny[3] = {-1e4f, -1e4f, -1e4f};
    const float first[3] = {1, 0, 0};
    ck_assert_double_eq_tol(run_loss(&lg, 1, tiny, first), log(3.0), 1e-6);
    nn_graph_free(&lg.g);
}
END_TEST


START_TEST(test_sigmoid_bce_value)
{
    loss_graph lg;
    build_loss_graph(&lg, NN_OP_SIGMOID_BCE, 2, 4);
    /* Saturated logits: right answers cost ~0, wrong ones cost |z|, and
     * nothing overflows. */
    const float x[8] = {100, 100, -100, -100, 0, 0, 2, -2};
    const float t[8] = {1, 0, 1, 0, 0, 1, 1, 0.5f};
    float loss = run_loss(&lg, 1, x, t);
    ck_assert_msg(isfinite(loss), "loss %g", (double)loss);
    ck_assert_double_eq_tol(loss, 200.0, 1e-4);
    /* Sample 2: log 2 + log 2 + log(1 + e^-2) + (1 + log(1 + e^-2)). */
    ck_assert_double_eq_tol(run_loss(&lg, 2, x, t), (200.0 + 2.6401503832058353) / 2, 1e-4);
    ck_assert_double_eq_tol(run_loss(&lg, 1, x + 4, t + 4), 2.6401503832058353, 1e-6);
    nn_graph_free(&lg.g);
}
END_TEST


START_TEST(test_mse_value)
{
    loss_graph lg;
    build_loss_graph(&lg, NN_OP_MSE, 2, 2);
    const float x[4] = {1, 2, 3, 4};
    const float t[4] = {0, 0, 1, 1};
    /* 0.5 * (1 + 4) = 2.5 and 0.5 * (4 + 9) = 6.5: the mean over the batch
     * (not over elements) is 4.5. */
    ck_assert_double_eq_tol(run_loss(&lg, 1, x, t), 2.5, 1e-6);
    ck_assert_double_eq_tol(run_loss(&lg, 2, x, t), 4.5, 1e-6);
    ck_assert_float_eq(run_loss(&lg, 1, x, x), 0.0f);
    nn_graph_free(&lg.g);
}
END_TEST


/* ---- hand-checked backward ------------------------------------------- */

START_TEST(test_softmax_xent_backward)
{
    enum { N = 2, K = 3 };
    loss_graph lg;
    build_loss_graph(&lg, NN_OP_SOFTMAX_XENT, N, K);
    const float x[N * K] = {1, 2, 3, 3, 2, 1};
    const float t[N * K] = {0, 0, 1, 0, 1, 0};
    run_loss(&lg, N, x, t);
    nn_graph_backward(&lg.g);

    /* dL/dz = (softmax(z) - t) / n */
    const double p[K] = {0.09003057317038046, 0.24472847105479767, 0.6652409557748219};
    double want[N * K];
    for (int j = 0; j < K; j++) {
        want[j] = (p[j] - t[j]) / N;
        want[K + j] = (p[K - 1 - j] - t[K + j]) / N;
    }
    assert_close(lg.g.nodes[lg.z].grad, want, N * K, 1e-6, "dz");
    ck_assert_float_eq(lg.g.nodes[lg.loss].grad[0], 1.0f);

    /* dW = dz^T x for the identity weight. */
    float dzt[K * N], dw[K * K];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < K; j++)
            dzt[j * N + i] = lg.g.nodes[lg.z].grad[i * K + j];
    nn_matmul_ref(dw, dzt, x, K, N, K);
    for (int i = 0; i < K * K; i++)
        ck_assert_float_eq_tol(lg.g.nodes[lg.w].grad[i], dw[i], 1e-6f);
    /* One entry by hand: dW[0][2] = dz[0][0] x[0][2] + dz[1][0] x[1][2]. */
    ck_assert_double_eq_tol(lg.g.nodes[lg.w].grad[2], want[0] * 3 + want[3] * 1, 1e-6);
    nn_graph_free(&lg.g);
}
END_TEST


START_TEST(test_sigmoid_bce_and_mse_backward)
{
    enum { N = 2, K = 2 };
    const float x[N * K] = {0, 2, -1, 0.5f};
    const float t[N * K] = {1, 0, 0.5f, 1};
    loss_graph lg;
    build_loss_graph(&lg, NN_OP_SIGMOID_BCE, N, K);
    run_loss(&lg, N, x, t);
    nn_graph_backward(&lg.g);
    double want[N * K];
    for (int i = 0; i < N * K; i++) /* (sigmoid(z) - t) / n */
        want[i] = (1.0 / (1.0 + exp(-x[i])) - t[i]) / N;
    assert_close(lg.g.nodes[lg.z].grad, want, N * K, 1e-6, "bce dz");
    nn_graph_free(&lg.g);

    build_loss_graph(&lg, NN_OP_MSE, N, K);
    run_loss(&lg, N, x, t);
    nn_graph_backward(&lg.g);
    for (int i = 0; i < N * K; i++) /* (x - t) / n */
        want[i] = (x[i] - t[i]) / N;
    assert_close(lg.g.nodes[lg.z].grad, want, N * K, 1e-7, "mse dz");
    nn_graph_free(&lg.g);
}
END_TEST


/* Two layers, so matmul has to pass a gradient to its input as well as to
 * its weight: x -> W1 -> tanh -> h -> W2 -> y -> mse. */
START_TEST(test_matmul_backward)
{
    enum { N = 3, K = 4, H = 3, M = 2 };
    nn_graph g;
    init_graph(&g, N);
    int k = K, m = M, w1_dim[2] = {H, K}, w2_dim[2] = {M, H};
    int x = add_input(&g, "x", 1, &k);
    int w1 = add_param(&g, "w1", 2, w1_dim, 1);
    int w2 = add_param(&g, "w2", 2, w2_dim, 1);
    int z = add_op(&g, NN_OP_MATMUL, "z", x, w1, 0);
    int h = add_op(&g, NN_OP_TANH, "h", z, -1, 0);
    int y = add_op(&g, NN_OP_MATMUL, "y", h, w2, 0);
    int t = add_input(&g, "t", 1, &m);
    g.loss = add_op(&g, NN_OP_MSE, "loss", y, t, 0);
    finalise(&g);
    nn_rng rng;
    nn_rng_seed(&rng, 4);
    fill_uniform(g.nodes[x].value, N * K, -1, 1, &rng);
    fill_uniform(g.nodes[w1].value, H * K, -1, 1, &rng);
    fill_uniform(g.nodes[w2].value, M * H, -1, 1, &rng);
    fill_uniform(g.nodes[t].value, N * M, -1, 1, &rng);
    nn_graph_forward(&g, N);
    nn_graph_backward(&g);

    const float *dy = g.nodes[y].grad, *hv = g.nodes[h].value;
    for (int i = 0; i < N * M; i++) /* mse: (y - t) / n */
        ck_assert_float_eq_tol(dy[i], (g.nodes[y].value[i] - g.nodes[t].value[i]) / N, 1e-7f);

    /* dW2 = dy^T h */
    float dyt[M * N], dw2[M * H];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < M; j++)
            dyt[j * N + i] = dy[i * M + j];
    nn_matmul_ref(dw2, dyt, hv, M, N, H);
    for (int i = 0; i < M * H; i++)
        ck_assert_float_eq_tol(g.nodes[w2].grad[i], dw2[i], 1e-6f);

    /* dh = dy W2 */
    float dh[N * H];
    nn_matmul_ref(dh, dy, g.nodes[w2].value, N, M, H);
    for (int i = 0; i < N * H; i++)
        ck_assert_float_eq_tol(g.nodes[h].grad[i], dh[i], 1e-6f);

    /* dz = dh (1 - h^2), then dW1 = dz^T x */
    float dzt[H * N], dw1[H * K];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < H; j++) {
            float dz = dh[i * H + j] * (1.0f - hv[i * H + j] * hv[i * H + j]);
            ck_assert_float_eq_tol(g.nodes[z].grad[i * H + j], dz, 1e-6f);
            dzt[j * N + i] = dz;
        }
    nn_matmul_ref(dw1, dzt, g.nodes[x].value, H, N, K);
    for (int i = 0; i < H * K; i++)
        ck_assert_float_eq_tol(g.nodes[w1].grad[i], dw1[i], 1e-6f);
    nn_graph_free(&g);
}
END_TEST


START_TEST(test_dropout_backward)
{
    /* z = x, d = dropout(z), loss = mse(d, 0): dz = mask * d / n. */
    enum { N = 2, K = 50 };
    loss_graph lg;
    init_graph(&lg.g, N);
    int k = K;
    lg.x = add_input(&lg.g, "x", 1, &k);
    lg.w = add_identity(&lg.g, "w", K);
    lg.z = add_op(&lg.g, NN_OP_MATMUL, "z", lg.x, lg.w, 0);
    int d = add_op(&lg.g, NN_OP_DROPOUT, "d", lg.z, -1, 0.5f);
    lg.t = add_input(&lg.g, "t", 1, &k);
    lg.g.loss = add_op(&lg.g, NN_OP_MSE, "loss", d, lg.t, 0);
    finalise(&lg.g);
    set_identity(&lg.g, lg.w);
    nn_rng rng;
    nn_rng_seed(&rng, 5);
    fill_uniform(lg.g.nodes[lg.x].value, N * K, 1, 2, &rng);

    lg.g.training = 1;
    nn_graph_forward(&lg.g, N);
    nn_graph_backward(&lg.g);
    const nn_node *dn = &lg.g.nodes[d];
    int dropped = 0;
    for (int i = 0; i < N * K; i++) {
        float want = dn->value[i] / N * (dn->value[i] == 0.0f ? 0.0f : 2.0f);
        ck_assert_float_eq_tol(lg.g.nodes[lg.z].grad[i], want, 1e-6f);
        dropped += dn->value[i] == 0.0f;
    }
    ck_assert_int_gt(dropped, 10);
    ck_assert_int_lt(dropped, 90);

    /* In evaluation the gradient passes straight through. */
    lg.g.training = 0;
    nn_graph_forward(&lg.g, N);
    nn_graph_backward(&lg.g);
    for (int i = 0; i < N * K; i++)
        ck_assert_float_eq_tol(lg.g.nodes[lg.z].grad[i], lg.g.nodes[lg.x].value[i] / N, 1e-7f);
    nn_graph_free(&lg.g);
}
END_TEST


START_TEST(test_bias_backward)
{
    /* Per-sample shape [C=2, S=2]; db[c] sums dy over the batch and the
     * channel's positions, dx = dy. */
    enum { N = 2 };
    nn_graph g;
    init_graph(&g, N);
    int shape[2] = {2, 2}, c = 2, four = 4;
    int x = add_input(&g, "x", 2, shape);
    int w_dim[2] = {4, 4};
    int w = add_param(&g, "w", 2, w_dim, 1);
    int flat = add_reshape(&g, x, "flat", 1, &four);
    int z = add_op(&g, NN_OP_MATMUL, "z", flat, w, 0);
    int zr = add_reshape(&g, z, "zr", 2, shape);
    int b = add_param(&g, "b", 1, &c, 0);
    int y = add_op(&g, NN_OP_BIAS, "y", zr, b, 0);
    int yf = add_reshape(&g, y, "yf", 1, &four);
    int t = add_input(&g, "t", 1, &four);
    g.loss = add_op(&g, NN_OP_MSE, "loss", yf, t, 0);
    finalise(&g);
    set_identity(&g, w);
    const float xs[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const float bs[2] = {0.5f, -1};
    set_values(&g, x, xs, 8);
    set_values(&g, b, bs, 2);
    memset(g.nodes[t].value, 0, 8 * sizeof(float));
    nn_graph_forward(&g, N);
    nn_graph_backward(&g);
    /* y = {1.5, 2.5, 2, 3, 5.5, 6.5, 6, 7}; dy = y / 2. */
    const double dy[8] = {0.75, 1.25, 1, 1.5, 2.75, 3.25, 3, 3.5};
    assert_close(g.nodes[y].grad, dy, 8, 1e-6, "dy");
    assert_close(g.nodes[zr].grad, dy, 8, 1e-6, "dx");
    const double db[2] = {0.75 + 1.25 + 2.75 + 3.25, 1 + 1.5 + 3 + 3.5};
    assert_close(g.nodes[b].grad, db, 2, 1e-6, "db");
    nn_graph_free(&g);
}
END_TEST




/* A weight used by two matmuls gets the sum of both uses' gradients: the
 * later consumer's backward runs first, the earlier one must add to what it
 * wrote.  If the second write replaced the first, or both added to a stale
 * value, the check would fail. */
START_TEST(test_shared_weight)
{
    enum { N = 3, K = 4 };
    for (uint64_t seed = 1; seed <= 4; seed++) {
        nn_graph g;
        init_graph(&g, N);
        int k = K, w_dim[2] = {K, K};
        int x = add_input(&g, "x", 1, &k);
        int w = add_param(&g, "w", 2, w_dim, 1);
        int z1 = add_op(&g, NN_OP_MATMUL, "z1", x, w, 0);
        int h = add_op(&g, NN_OP_TANH, "h", z1, -1, 0);
        int z2 = add_op(&g, NN_OP_MATMUL, "z2", h, w, 0);
        int t = add_input(&g, "t", 1, &k);
        g.loss = add_op(&g, NN_OP_MSE, "loss", z2, t, 0);
        finalise(&g);
        nn_rng rng;
        nn_rng_seed(&rng, seed);
        fill_uniform(g.nodes[x].value, N * K, -1, 1, &rng);
        fill_uniform(g.nodes[w].value, K * K, -1, 1, &rng);
        fill_uniform(g.nodes[t].value, N * K, -1, 1, &rng);
        nn_gradcheck_result r;
        double e = nn_gradcheck_graph(&g, N, NN_GRADCHECK_H_STEP, 1000, seed, &r);
        ck_assert_msg(e < OP_TOLERANCE, "seed %llu: shared weight error %.3g", (unsigned long long)seed, e);

        /* The gradient is the sum of the two uses: dz2^T h + dz1^T x. */
        nn_graph_forward(&g, N);
        nn_graph_backward(&g);
        float a[K * K], b[K * K], dt[K * N];
        for (int i = 0; i < N; i++)
            for (int j = 0; j < K; j++)
                dt[j * N + i] = g.nodes[z2].grad[i * K + j];
        nn_matmul_ref(a, dt, g.nodes[h].value, K, N, K);
        for (int i = 0; i < N; i++)
            for (int j = 0; j < K; j++)
                dt[j * N + i] = g.nodes[z1].grad[i * K + j];
        nn_matmul_ref(b, dt, g.nodes[x].value, K, N, K);
        for (int i = 0; i < K * K; i++)
            ck_assert_float_eq_tol(g.nodes[w].grad[i], a[i] + b[i], 1e-5f);
        nn_graph_free(&g);
    }
}
END_TEST


/* An op node (not a parameter) consumed twice: T = sigmoid(P) serves as the
 * weight of two matmuls, so T's gradient is overwritten then accumulated
 * before flowing through a non-batched sigmoid into P.  A shared bias does
 * the same through the bias op. */
START_TEST(test_shared_op_node)
{
    enum { N = 3, K = 4 };
    for (uint64_t seed = 1; seed <= 4; seed++) {
        nn_graph g;
        init_graph(&g, N);
        int k = K, w_dim[2] = {K, K};
        int x = add_input(&g, "x", 1, &k);
        int p = add_param(&g, "p", 2, w_dim, 1);
        int b = add_param(&g, "b", 1, &k, 0);
        int tw = add_op(&g, NN_OP_SIGMOID, "tw", p, -1, 0);
        ck_assert_int_eq(g.nodes[tw].batched, 0);
        int z1 = add_op(&g, NN_OP_MATMUL, "z1", x, tw, 0);
        int y1 = add_op(&g, NN_OP_BIAS, "y1", z1, b, 0);
        int h = add_op(&g, NN_OP_TANH, "h", y1, -1, 0);
        int z2 = add_op(&g, NN_OP_MATMUL, "z2", h, tw, 0);
        int y2 = add_op(&g, NN_OP_BIAS, "y2", z2, b, 0);
        int t = add_input(&g, "t", 1, &k);
        g.loss = add_op(&g, NN_OP_SIGMOID_BCE, "loss", y2, t, 0);
        finalise(&g);
        nn_rng rng;
        nn_rng_seed(&rng, seed);
        fill_uniform(g.nodes[x].value, N * K, -1, 1, &rng);
        fill_uniform(g.nodes[p].value, K * K, -2, 2, &rng);
        fill_uniform(g.nodes[b].value, K, -1, 1, &rng);
        fill_uniform(g.nodes[t].value, N * K, 0, 1, &rng);
        nn_gradcheck_result r[2];
        double e = nn_gradcheck_graph(&g, N, NN_GRADCHECK_H_STEP, 1000, seed, r);
        ck_assert_msg(e < OP_TOLERANCE, "seed %llu: p %.3g, b %.3g", (unsigned long long)seed, r[0].max_error,
                      r[1].max_error);
        nn_graph_free(&g);
    }
}
END_TEST



/* Gradients do not accumulate across passes: every backward writes each
 * gradient afresh, whatever a previous pass (or anything else) left in the
 * buffers.  Poison every gradient buffer with NaN between two passes and
 * the result is bit-identical.  (Only after an optimiser step, which leaves
 * the parameter gradients zero and says so, may backward skip clearing.) */
START_TEST(test_backward_overwrites_stale_gradients)
{
    enum { N = 4 };
    all_ops a;
    build_all_ops(&a, N);
    nn_graph *g = &a.g;
    nn_rng rng = g->rng;
    nn_graph_forward(g, N);
    nn_graph_backward(g);
    float *first = malloc(g->n_params * sizeof *first);
    ck_assert_ptr_nonnull(first);
    memcpy(first, g->grads, g->n_params * sizeof *first);

    /* A second backward on the same forward gives the same gradients. */
    nn_graph_backward(g);
    ck_assert_int_eq(memcmp(first, g->grads, g->n_params * sizeof *first), 0);

    /* So does a fresh forward and backward over buffers full of NaN. */
    for (int i = 0; i < g->n_nodes; i++) {
        nn_node *node = &g->nodes[i];
        if (node->grad)
            nn_vec_fill(node->grad, node->batched ? (size_t)N * node->size : node->size, NAN);
    }
    g->rng = rng;
    nn_graph_forward(g, N);
    nn_graph_backward(g);
    ck_assert_int_eq(memcmp(first, g->grads, g->n_params * sizeof *first), 0);

    /* The unused parameter's gradient is zero, not NaN, and the others are
     * not all zero. */
    const nn_node *u = &g->nodes[a.unused];
    for (size_t i = 0; i < u->size; i++)
        ck_assert_msg(u->grad[i] == 0.0f, "unused gradient %zu is %g", i, (double)u->grad[i]);
    for (int t = 0; t < g->n_param_tensors; t++) {
        const nn_node *p = nn_graph_param_node(g, t);
        if (p == u)
            continue;
        ck_assert_msg(sqrt(nn_vec_sumsq(p->grad, p->size)) > 1e-6, "%s has no gradient", p->name);
    }
    free(first);
    nn_graph_free(g);
}
END_TEST




/* A smaller batch than the graph was built for uses only the first n
 * samples: forward values, the loss and the gradients match a graph that
 * only ever saw those samples. */
START_TEST(test_partial_batch)
{
    all_ops big, small;
    build_all_ops(&big, 4);
    build_all_ops(&small, 2);
    big.g.training = small.g.training = 0; /* no dropout: the masks would differ */
    memcpy(small.g.params, big.g.params, big.g.n_params * sizeof(float));
    int x = nn_graph_find(&big.g, "x"), t = nn_graph_find(&big.g, "t");
    memcpy(small.g.nodes[x].value, big.g.nodes[x].value, 2 * 6 * sizeof(float));
    memcpy(small.g.nodes[t].value, big.g.nodes[t].value, 2 * 3 * sizeof(float));

    nn_graph_forward(&big.g, 2);
    nn_graph_backward(&big.g);
    nn_graph_forward(&small.g, 2);
    nn_graph_backward(&small.g);
    ck_assert_int_eq(big.g.batch, 2);
    ck_assert_float_eq(nn_graph_loss(&big.g), nn_graph_loss(&small.g));
    ck_assert_int_eq(memcmp(big.g.grads, small.g.grads, big.g.n_params * sizeof(float)), 0);

    /* And the full batch gives a different loss. */
    nn_graph_forward(&big.g, 4);
    ck_assert_float_ne(nn_graph_loss(&big.g), nn_graph_loss(&small.g));
    nn_graph_free(&big.g);
    nn_graph_free(&small.g);
}
END_TEST


/* ---- runner ----------------------------------------------------------- */

static Suite *ops_suite(void)
{
    Suite *suite = suite_create("ops");

    TCase *graph = tcase_create("graph");
    tcase_add_test(graph, test_op_table);
    tcase_add_test(graph, test_graph_build_errors);
    tcase_add_test(graph, test_graph_layout);
    suite_add_tcase(suite, graph);

    TCase *forward = tcase_create("forward");
    tcase_add_test(forward, test_matmul_forward);
    tcase_add_test(forward, test_bias_broadcast);
    tcase_add_test(forward, test_activations_forward);
    tcase_add_test(forward, test_dropout_eval_is_identity);
    tcase_add_test(forward, test_dropout_training);
    tcase_add_test(forward, test_reshape_keeps_data);
    tcase_add_test(forward, test_softmax_xent_value);
    tcase_add_test(forward, test_sigmoid_bce_value);
    tcase_add_test(forward, test_mse_value);
    suite_add_tcase(suite, forward);

    TCase *backward = tcase_create("backward");
    tcase_add_test(backward, test_softmax_xent_backward);
    tcase_add_test(backward, test_sigmoid_bce_and_mse_backward);
    tcase_add_test(backward, test_matmul_backward);
    tcase_add_test(backward, test_dropout_backward);
    tcase_add_test(backward, test_bias_backward);
    tcase_add_test(backward, test_shared_weight);
    tcase_add_test(backward, test_shared_op_node);
    tcase_add_test(backward, test_backward_overwrites_stale_gradients);
    tcase_add_test(backward, test_partial_batch);
    suite_add_tcase(suite, backward);

    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(ops_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
