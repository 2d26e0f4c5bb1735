/* Tests for nn/optim.c and the learning-rate schedules of nn/hparams.c.
 *
 * Each optimiser takes one or two steps on a one-element parameter whose
 * gradient the test writes directly, and the result is compared with the
 * update worked out by hand from PyTorch's formulas (nn/optim.c's header):
 *   sgd       w -= lr g
 *   momentum  b = mu b + g;  w -= lr (nesterov ? g + mu b : b)
 *   adam      m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *             w -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
 *   rmsprop   v = a v + (1-a) g^2;  w -= lr g / (sqrt(v) + eps)
 * with weight_decay * w and l1 * sign(w) added to g for weights only.
 * Every case uses gradients g1 = 0.5 then g2 = -0.25 from w = 1. */
#include "graph.h"
#include "hparams.h"
#include "model.h"
#include "optim.h"
#include "spec.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static nn_error err;

/* A graph of bare parameters: "w" (decayed, `n` values) and "b" (not
 * decayed, `n` values).  Optimisers only read parameters and gradients, so
 * no ops are needed. */
typedef struct params {
    nn_graph g;
    nn_optim opt;
    nn_node *w, *b;
} params;

static void params_init(params *p, int n)
{
    ck_assert_int_eq(nn_graph_init(&p->g, 1, &err), NN_OK);
    ck_assert_int_ge(nn_graph_param(&p->g, "w", 1, &n, 1, &err), 0);
    ck_assert_int_ge(nn_graph_param(&p->g, "b", 1, &n, 0, &err), 0);
    ck_assert_int_eq(nn_graph_finalise(&p->g, &err), NN_OK);
    ck_assert_int_eq(nn_optim_init(&p->opt, &p->g, &err), NN_OK);
    p->w = nn_graph_param_node(&p->g, 0);
    p->b = nn_graph_param_node(&p->g, 1);
    ck_assert_uint_eq(p->opt.n, p->g.n_params);
    ck_assert_int_eq(p->opt.t, 0);
}

static void params_free(params *p)
{
    nn_optim_free(&p->opt);
    nn_graph_free(&p->g);
}

static nn_hparams hparams(int optimizer, float lr)
{
    nn_hparams hp;
    nn_hparams_defaults(&hp);
    hp.optimizer = optimizer;
    hp.lr = lr;
    return hp;
}

/* Two steps of one optimiser on w = 1 with gradients 0.5 then -0.25;
 * checks w after each step against the hand values. */
static void two_steps(const char *label, const nn_hparams *hp, double after1, double after2, double tol)
{
    params p;
    params_init(&p, 1);
    p.w->value[0] = 1.0f;
    p.w->grad[0] = 0.5f;
    nn_optim_step(&p.opt, &p.g, hp, hp->lr);
    ck_assert_int_eq(p.opt.t, 1);
    ck_assert_msg(fabs(p.w->value[0] - after1) <= tol, "%s step 1: w = %.9g, expected %.9g", label,
                  (double)p.w->value[0], after1);
    p.w->grad[0] = -0.25f;
    nn_optim_step(&p.opt, &p.g, hp, hp->lr);
    ck_assert_int_eq(p.opt.t, 2);
    ck_assert_msg(fabs(p.w->value[0] - after2) <= tol, "%s step 2: w = %.9g, expected %.9g", label,
                  (double)p.w->value[0], after2);
    /* The bias had no gradient, no decay: it stays at 0. */
    ck_assert_float_eq(p.b->value[0], 0.0f);
    params_free(&p);
}

/* ---- the update rules ------------------------------------------------- */

START_TEST(test_sgd)
{
    nn_hparams hp = hparams(NN_SGD, 0.1f);
    /* 1 - 0.1 * 0.5 = 0.95;  0.95 + 0.1 * 0.25 = 0.975 */
    two_steps("sgd", &hp, 0.95, 0.975, 1e-7);
}
END_TEST

START_TEST(test_momentum)
{
    nn_hparams hp = hparams(NN_MOMENTUM, 0.1f);
    hp.momentum = 0.9f;
    /* step 1: b = 0.5, w = 1 - 0.05 = 0.95
     * step 2: b = 0.9 * 0.5 - 0.25 = 0.2, w = 0.95 - 0.02 = 0.93 */
    two_steps("momentum", &hp, 0.95, 0.93, 1e-7);
}
END_TEST

START_TEST(test_nesterov)
{
    nn_hparams hp = hparams(NN_MOMENTUM, 0.1f);
    hp.momentum = 0.9f;
    hp.nesterov = 1;
    /* step 1: b = 0.5, w = 1 - 0.1 (0.5 + 0.45) = 0.905
     * step 2: b = 0.2, w = 0.905 - 0.1 (-0.25 + 0.18) = 0.912 */
    two_steps("nesterov", &hp, 0.905, 0.912, 1e-7);
}
END_TEST

START_TEST(test_adam)
{
    nn_hparams hp = hparams(NN_ADAM, 0.1f);
    /* beta1 0.9, beta2 0.999, eps 1e-8 (the defaults)
     * step 1: m = 0.05, v = 0.00025; m^ = 0.5, v^ = 0.25, so the first step
     *         is lr * 0.5 / (0.5 + 1e-8) = 0.1 whatever the gradient's size
     * step 2: m = 0.045 - 0.025 = 0.02, v = 0.00024975 + 0.0000625 = 0.00031225
     *         m^ = 0.02 / 0.19 = 0.1052632, v^ = 0.00031225 / 0.001999 = 0.1562031
     *         step 0.1 * 0.1052632 / 0.3952254 = 0.0266337 */
    ck_assert_float_eq(hp.beta1, 0.9f);
    ck_assert_float_eq(hp.beta2, 0.999f);
    ck_assert_float_eq(hp.eps, 1e-8f);
    two_steps("adam", &hp, 0.9, 0.8733663, 2e-6);
}
END_TEST

START_TEST(test_rmsprop)
{
    nn_hparams hp = hparams(NN_RMSPROP, 0.01f);
    /* alpha 0.99, eps 1e-8
     * step 1: v = 0.01 * 0.25 = 0.0025, w = 1 - 0.01 * 0.5 / 0.05 = 0.9
     * step 2: v = 0.002475 + 0.000625 = 0.0031, sqrt 0.0556776
     *         w = 0.9 + 0.01 * 0.25 / 0.0556776 = 0.9449013 */
    ck_assert_float_eq(hp.alpha, 0.99f);
    two_steps("rmsprop", &hp, 0.9, 0.9449013, 1e-6);
}
END_TEST

/* The learning rate passed to the step is the one used, not hp.lr (the
 * trainer passes the scheduled rate). */
START_TEST(test_step_uses_given_lr)
{
    params p;
    params_init(&p, 1);
    nn_hparams hp = hparams(NN_SGD, 123.0f);
    p.w->value[0] = 1.0f;
    p.w->grad[0] = 0.5f;
    nn_optim_step(&p.opt, &p.g, &hp, 0.2f);
    ck_assert_float_eq_tol(p.w->value[0], 0.9f, 1e-7f);
    params_free(&p);
}
END_TEST

/* Forgetting the state makes the next step a first step again. */
START_TEST(test_reset)
{
    nn_hparams hp = hparams(NN_ADAM, 0.1f);
    params p;
    params_init(&p, 1);
    p.w->value[0] = 1.0f;
    p.w->grad[0] = 0.5f;
    nn_optim_step(&p.opt, &p.g, &hp, hp.lr);
    nn_optim_step(&p.opt, &p.g, &hp, hp.lr);
    ck_assert_int_eq(p.opt.t, 2);
    nn_optim_reset(&p.opt);
    ck_assert_int_eq(p.opt.t, 0);
    for (size_t i = 0; i < p.opt.n; i++)
        ck_assert(p.opt.m[i] == 0.0f && p.opt.v[i] == 0.0f);
    p.w->value[0] = 1.0f;
    p.w->grad[0] = -0.25f; /* any size: Adam's first step is lr * sign */
    nn_optim_step(&p.opt, &p.g, &hp, hp.lr);
    ck_assert_float_eq_tol(p.w->value[0], 1.1f, 1e-6f);
    params_free(&p);
}
END_TEST

/* ---- weight decay and L1 ---------------------------------------------- */

START_TEST(test_weight_decay_and_l1)
{
    /* Four weights and four biases, gradient 0.1 0.2 -0.3 0.4 on both. */
    params p;
    params_init(&p, 4);
    const float w0[4] = {1, -2, 0.5f, 0};
    const float g[4] = {0.1f, 0.2f, -0.3f, 0.4f};
    memcpy(p.w->value, w0, sizeof w0);
    memcpy(p.b->value, w0, sizeof w0);
    memcpy(p.w->grad, g, sizeof g);
    memcpy(p.b->grad, g, sizeof g);
    nn_hparams hp = hparams(NN_SGD, 0.1f);
    hp.weight_decay = 0.01f;
    hp.l1 = 0.001f;
    nn_optim_step(&p.opt, &p.g, &hp, hp.lr);
    /* Weights: g + 0.01 w + 0.001 sign(w), sign(0) = 0:
     *   1:    0.1 + 0.01 + 0.001 = 0.111   -> 1 - 0.0111     = 0.9889
     *   -2:   0.2 - 0.02 - 0.001 = 0.179   -> -2 - 0.0179    = -2.0179
     *   0.5: -0.3 + 0.005 + 0.001 = -0.294 -> 0.5 + 0.0294   = 0.5294
     *   0:    0.4                         -> 0 - 0.04       = -0.04 */
    const double want_w[4] = {0.9889, -2.0179, 0.5294, -0.04};
    /* Biases: plain SGD. */
    const double want_b[4] = {0.99, -2.02, 0.53, -0.04};
    for (int i = 0; i < 4; i++) {
        ck_assert_msg(fabs(p.w->value[i] - want_w[i]) < 1e-6, "w[%d] = %.9g, expected %.9g", i,
                      (double)p.w->value[i], want_w[i]);
        ck_assert_msg(fabs(p.b->value[i] - want_b[i]) < 1e-6, "b[%d] = %.9g, expected %.9g", i,
                      (double)p.b->value[i], want_b[i]);
    }
    /* The step consumed the gradients: they are cleared for the next
     * backward pass, which accumulates into them. */
    for (int i = 0; i < 4; i++)
        ck_assert(p.w->grad[i] == 0.0f && p.b->grad[i] == 0.0f);
    ck_assert_int_eq(p.g.grads_zeroed, 1);
    params_free(&p);
}
END_TEST

/* Decay with no loss gradient, through momentum: the decay term enters
 * the momentum buffer like any gradient. */
START_TEST(test_weight_decay_momentum)
{
    params p;
    params_init(&p, 2);
    p.w->value[0] = 1.0f;
    p.w->value[1] = -1.0f;
    p.b->value[0] = 1.0f;
    p.b->value[1] = -1.0f;
    nn_hparams hp = hparams(NN_MOMENTUM, 0.5f);
    hp.momentum = 0.9f;
    hp.weight_decay = 0.1f;
    nn_optim_step(&p.opt, &p.g, &hp, hp.lr);
    /* g = 0.1 w: b = 0.1, w = 1 - 0.05 = 0.95 */
    ck_assert_float_eq_tol(p.w->value[0], 0.95f, 1e-7f);
    ck_assert_float_eq_tol(p.w->value[1], -0.95f, 1e-7f);
    nn_optim_step(&p.opt, &p.g, &hp, hp.lr);
    /* g = 0.095: b = 0.09 + 0.095 = 0.185, w = 0.95 - 0.0925 = 0.8575 */
    ck_assert_float_eq_tol(p.w->value[0], 0.8575f, 1e-6f);
    ck_assert_float_eq_tol(p.w->value[1], -0.8575f, 1e-6f);
    /* Biases are not decayed. */
    ck_assert_float_eq(p.b->value[0], 1.0f);
    ck_assert_float_eq(p.b->value[1], -1.0f);
    params_free(&p);
}
END_TEST

/* In a model built from a spec, dense weights decay and biases do not. */
START_TEST(test_decay_applies_to_model_weights_only)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/assets/models/mlp.spec", getenv("NNLAB_SOURCE_ROOT"));
    nn_spec spec;
    ck_assert_msg(nn_spec_load(&spec, path, &err) == NN_OK, "%s", err.msg);
    nn_graph g;
    ck_assert_msg(nn_model_build(&g, &spec, &spec.hp, 2, &err) == NN_OK, "%s", err.msg);
    ck_assert_int_eq(g.n_param_tensors, 4);
    for (int t = 0; t < g.n_param_tensors; t++) {
        nn_node *p = nn_graph_param_node(&g, t);
        ck_assert_int_eq(p->decay, strstr(p->name, ".weight") != NULL);
        nn_vec_fill(p->value, p->size, 0.5f); /* biases start at 0 */
    }
    memset(g.grads, 0, g.n_params * sizeof(float));
    nn_optim opt;
    ck_assert_int_eq(nn_optim_init(&opt, &g, &err), NN_OK);
    nn_hparams hp = hparams(NN_SGD, 0.5f);
    hp.weight_decay = 0.1f;
    hp.l1 = 0.01f;
    nn_optim_step(&opt, &g, &hp, hp.lr);
    for (int t = 0; t < g.n_param_tensors; t++) {
        nn_node *p = nn_graph_param_node(&g, t);
        /* weights: 0.5 - 0.5 (0.05 + 0.01) = 0.47 */
        float want = p->decay ? 0.47f : 0.5f;
        for (size_t i = 0; i < p->size; i++)
            ck_assert_msg(fabsf(p->value[i] - want) < 1e-6f, "%s[%zu] = %.9g, expected %g", p->name, i,
                          (double)p->value[i], (double)want);
    }
    nn_optim_free(&opt);
    nn_graph_free(&g);
    nn_spec_free(&spec);
}
END_TEST

/* ---- per-tensor statistics -------------------------------------------- */

START_TEST(test_stats)
{
    params p;
    params_init(&p, 4);
    const float w0[4] = {1, -2, 0.5f, 0};
    const float g[4] = {0.1f, 0.2f, -0.3f, 0.4f};
    memcpy(p.w->value, w0, sizeof w0);
    memcpy(p.w->grad, g, sizeof g);
    /* b: zero weights, zero gradient. */
    nn_hparams hp = hparams(NN_SGD, 0.1f);
    nn_optim_step(&p.opt, &p.g, &hp, hp.lr);
    const nn_param_stats *st = &p.g.stats[0];
    /* |g| = sqrt(0.01 + 0.04 + 0.09 + 0.16) = sqrt(0.3) */
    ck_assert_double_eq_tol(st->grad_norm, 0.5477225575, 1e-6);
    /* after: 0.99 -2.02 0.53 -0.04 */
    ck_assert_double_eq_tol(st->weight_norm, 2.3114930240, 1e-6);
    /* |update| / |w before| = 0.1 sqrt(0.3) / sqrt(5.25) */
    ck_assert_double_eq_tol(st->update_ratio, 0.0239045722, 1e-7);

    /* Nothing to update and nothing there: all zero. */
    ck_assert_float_eq(p.g.stats[1].grad_norm, 0.0f);
    ck_assert_float_eq(p.g.stats[1].weight_norm, 0.0f);
    ck_assert_float_eq(p.g.stats[1].update_ratio, 0.0f);

    /* The gradient norm is the loss gradient's, without the decay terms;
     * the update includes them. */
    hp.weight_decay = 0.5f;
    memcpy(p.w->value, w0, sizeof w0);
    memset(p.w->grad, 0, sizeof g);
    nn_optim_step(&p.opt, &p.g, &hp, hp.lr);
    ck_assert_float_eq(st->grad_norm, 0.0f);
    /* update = 0.1 * 0.5 * w: ratio 0.05, weights scaled by 0.95 */
    ck_assert_double_eq_tol(st->update_ratio, 0.05, 1e-7);
    ck_assert_double_eq_tol(st->weight_norm, 0.95 * sqrt(5.25), 1e-6);

    /* Zero weights that move have an infinite ratio (biases on step 1). */
    p.b->grad[0] = 1.0f;
    nn_optim_step(&p.opt, &p.g, &hp, hp.lr);
    ck_assert_float_eq(p.g.stats[1].grad_norm, 1.0f);
    ck_assert_double_eq_tol(p.g.stats[1].weight_norm, 0.1, 1e-7);
    ck_assert(isinf(p.g.stats[1].update_ratio));
    params_free(&p);
}
END_TEST

/* On a tensor the size of mlp's first layer the statistics agree with a
 * double-precision reference to 1e-4, in release builds (vectorised float
 * lanes) and debug builds (one float accumulator) alike; the dashboard
 * shows three digits. */
START_TEST(test_stats_large_tensor)
{
    enum { N = 784 * 128 };
    params p;
    params_init(&p, N);
    nn_rng rng;
    nn_rng_seed(&rng, 1);
    double sg = 0, sw0 = 0, sw1 = 0, sd = 0;
    const float lr = 0.01f;
    for (int i = 0; i < N; i++) {
        p.w->value[i] = 0.1f * nn_rng_normal(&rng);
        p.w->grad[i] = 0.01f * nn_rng_normal(&rng) + (i % 7 == 0 ? 0.05f : 0.0f);
        float d = lr * p.w->grad[i], w1 = p.w->value[i] - d;
        sg += (double)p.w->grad[i] * p.w->grad[i];
        sw0 += (double)p.w->value[i] * p.w->value[i];
        sw1 += (double)w1 * w1;
        sd += (double)d * d;
    }
    nn_hparams hp = hparams(NN_SGD, lr);
    nn_optim_step(&p.opt, &p.g, &hp, lr);
    const nn_param_stats *st = &p.g.stats[0];
    ck_assert_msg(fabs(st->grad_norm / sqrt(sg) - 1) < 1e-4, "grad norm %.9g, reference %.9g",
                  (double)st->grad_norm, sqrt(sg));
    ck_assert_msg(fabs(st->weight_norm / sqrt(sw1) - 1) < 1e-4, "weight norm %.9g, reference %.9g",
                  (double)st->weight_norm, sqrt(sw1));
    ck_assert_msg(fabs(st->update_ratio / sqrt(sd / sw0) - 1) < 1e-4, "update ratio %.9g, reference %.9g",
                  (double)st->update_ratio, sqrt(sd / sw0));
    params_free(&p);
}
END_TEST

/* One SGD step through a real backward pass moves the parameters by
 * exactly -lr times the gradient and lowers the loss. */
START_TEST(test_step_after_backward)
{
    nn_graph g;
    ck_assert_int_eq(nn_graph_init(&g, 2, &err), NN_OK);
    int three = 3, two = 2, w_dim[2] = {2, 3};
    int x = nn_graph_input(&g, "x", 1, &three, &err);
    int w = nn_graph_param(&g, "w", 2, w_dim, 1, &err);
    int b = nn_graph_param(&g, "b", 1, &two, 0, &err);
    int in[2] = {x, w};
    int z = nn_graph_op(&g, NN_OP_MATMUL, "z", in, 2, 0, &err);
    in[0] = z;
    in[1] = b;
    int y = nn_graph_op(&g, NN_OP_BIAS, "y", in, 2, 0, &err);
    int t = nn_graph_input(&g, "t", 1, &two, &err);
    in[0] = y;
    in[1] = t;
    g.loss = nn_graph_op(&g, NN_OP_MSE, "loss", in, 2, 0, &err);
    ck_assert_int_ge(g.loss, 0);
    ck_assert_int_eq(nn_graph_finalise(&g, &err), NN_OK);
    const float xs[6] = {1, 0, -1, 0.5f, 2, 0};
    const float ws[6] = {0.1f, 0.2f, 0.3f, -0.1f, 0, 0.1f};
    const float ts[4] = {1, 0, 0, 1};
    memcpy(g.nodes[x].value, xs, sizeof xs);
    memcpy(g.nodes[w].value, ws, sizeof ws);
    memcpy(g.nodes[t].value, ts, sizeof ts);
    nn_graph_forward(&g, 2);
    float before = nn_graph_loss(&g);
    nn_graph_backward(&g);
    float *params = malloc(g.n_params * sizeof *params), *grads = malloc(g.n_params * sizeof *grads);
    ck_assert(params && grads);
    memcpy(params, g.params, g.n_params * sizeof *params);
    memcpy(grads, g.grads, g.n_params * sizeof *grads);

    nn_optim opt;
    ck_assert_int_eq(nn_optim_init(&opt, &g, &err), NN_OK);
    nn_hparams hp = hparams(NN_SGD, 0.1f);
    nn_optim_step(&opt, &g, &hp, hp.lr);
    for (size_t i = 0; i < g.n_params; i++)
        ck_assert_float_eq(g.params[i], params[i] - 0.1f * grads[i]);
    nn_graph_forward(&g, 2);
    ck_assert_float_lt(nn_graph_loss(&g), before);
    free(params);
    free(grads);
    nn_optim_free(&opt);
    nn_graph_free(&g);
}
END_TEST

/* Backward, step, backward: the second backward starts from the cleared
 * gradients, so with lr 0 (weights unchanged) it gives exactly the first
 * backward's gradients, for every optimiser; and two backward passes
 * without a step in between do not add up either. */
START_TEST(test_backward_after_step)
{
    nn_graph g;
    ck_assert_int_eq(nn_graph_init(&g, 3, &err), NN_OK);
    int four = 4, w_dim[2] = {4, 4};
    int x = nn_graph_input(&g, "x", 1, &four, &err);
    int w = nn_graph_param(&g, "w", 2, w_dim, 1, &err);
    int b = nn_graph_param(&g, "b", 1, &four, 0, &err);
    int in[2] = {x, w};
    int z = nn_graph_op(&g, NN_OP_MATMUL, "z", in, 2, 0, &err);
    in[0] = z;
    in[1] = b;
    int y = nn_graph_op(&g, NN_OP_BIAS, "y", in, 2, 0, &err);
    int h = nn_graph_op(&g, NN_OP_TANH, "h", &y, 1, 0, &err);
    in[0] = h;
    in[1] = w; /* w used twice: its gradient accumulates within a pass */
    int z2 = nn_graph_op(&g, NN_OP_MATMUL, "z2", in, 2, 0, &err);
    int t = nn_graph_input(&g, "t", 1, &four, &err);
    in[0] = z2;
    in[1] = t;
    g.loss = nn_graph_op(&g, NN_OP_SOFTMAX_XENT, "loss", in, 2, 0, &err);
    ck_assert_int_ge(g.loss, 0);
    ck_assert_int_eq(nn_graph_finalise(&g, &err), NN_OK);
    nn_rng rng;
    nn_rng_seed(&rng, 1);
    for (size_t i = 0; i < g.n_params; i++)
        g.params[i] = nn_rng_uniform(&rng) - 0.5f;
    for (int i = 0; i < 12; i++)
        g.nodes[x].value[i] = nn_rng_uniform(&rng);
    for (int i = 0; i < 3; i++)
        g.nodes[t].value[i * 4 + i] = 1.0f;

    float *first = malloc(g.n_params * sizeof *first), *weights = malloc(g.n_params * sizeof *weights);
    ck_assert(first && weights);
    nn_graph_forward(&g, 3);
    nn_graph_backward(&g);
    memcpy(first, g.grads, g.n_params * sizeof *first);
    memcpy(weights, g.params, g.n_params * sizeof *weights);
    ck_assert_double_gt(nn_vec_sumsq(first, g.n_params), 1e-8);
    nn_graph_backward(&g);
    ck_assert_int_eq(memcmp(first, g.grads, g.n_params * sizeof *first), 0);

    for (int optimizer = NN_SGD; optimizer <= NN_RMSPROP; optimizer++) {
        nn_optim opt;
        ck_assert_int_eq(nn_optim_init(&opt, &g, &err), NN_OK);
        nn_hparams hp = hparams(optimizer, 0.0f);
        nn_optim_step(&opt, &g, &hp, 0.0f);
        ck_assert_int_eq(memcmp(weights, g.params, g.n_params * sizeof *weights), 0);
        /* The statistics saw the gradient before it was cleared. */
        ck_assert_double_eq_tol(g.stats[0].grad_norm, sqrt(nn_vec_sumsq(first, 16)), 1e-6); /* w: 4x4 at 0 */
        for (size_t i = 0; i < g.n_params; i++)
            ck_assert(g.grads[i] == 0.0f);
        nn_graph_forward(&g, 3);
        nn_graph_backward(&g);
        ck_assert_msg(memcmp(first, g.grads, g.n_params * sizeof *first) == 0,
                      "%s: gradients after a step differ from a fresh backward", nn_optimizer_name(optimizer));
        nn_optim_free(&opt);
    }
    free(first);
    free(weights);
    nn_graph_free(&g);
}
END_TEST

/* ---- learning-rate schedules ------------------------------------------ */

START_TEST(test_schedule_constant)
{
    nn_hparams hp = hparams(NN_SGD, 0.05f);
    ck_assert_int_eq(hp.schedule, NN_SCHEDULE_CONSTANT);
    for (int epoch = 0; epoch < 20; epoch += 3)
        for (double progress = 0; progress <= 1.0; progress += 0.25)
            ck_assert_float_eq(nn_hparams_lr_at(&hp, epoch, progress), 0.05f);
}
END_TEST

START_TEST(test_schedule_step)
{
    nn_hparams hp = hparams(NN_SGD, 0.1f);
    hp.schedule = NN_SCHEDULE_STEP;
    hp.lr_step = 2;
    hp.lr_gamma = 0.5f;
    const double want[7] = {0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125};
    for (int epoch = 0; epoch < 7; epoch++)
        ck_assert_msg(fabs(nn_hparams_lr_at(&hp, epoch, 0.5) - want[epoch]) < 1e-8, "epoch %d: %.9g, expected %g",
                      epoch, (double)nn_hparams_lr_at(&hp, epoch, 0.5), want[epoch]);

    /* lr_step 0 means a third of the epochs (at least one); default gamma 0.1. */
    nn_hparams_defaults(&hp);
    hp.lr = 1.0f;
    hp.schedule = NN_SCHEDULE_STEP;
    hp.epochs = 9;
    ck_assert_float_eq(hp.lr_gamma, 0.1f);
    ck_assert_float_eq(nn_hparams_lr_at(&hp, 2, 0), 1.0f);
    ck_assert_float_eq_tol(nn_hparams_lr_at(&hp, 3, 0), 0.1f, 1e-8f);
    ck_assert_float_eq_tol(nn_hparams_lr_at(&hp, 8, 0), 0.01f, 1e-9f);
    hp.epochs = 2;
    ck_assert_float_eq_tol(nn_hparams_lr_at(&hp, 1, 0), 0.1f, 1e-8f);
}
END_TEST

START_TEST(test_schedule_cosine)
{
    nn_hparams hp = hparams(NN_SGD, 0.1f);
    hp.schedule = NN_SCHEDULE_COSINE;
    /* lr/2 (1 + cos(pi p)) */
    ck_assert_double_eq_tol(nn_hparams_lr_at(&hp, 0, 0.0), 0.1, 1e-8);
    ck_assert_double_eq_tol(nn_hparams_lr_at(&hp, 0, 0.25), 0.0853553391, 1e-8);
    ck_assert_double_eq_tol(nn_hparams_lr_at(&hp, 3, 0.5), 0.05, 1e-8);
    ck_assert_double_eq_tol(nn_hparams_lr_at(&hp, 9, 1.0), 0.0, 1e-9);
    /* Past the end it stays at the bottom rather than rising again. */
    ck_assert_double_eq_tol(nn_hparams_lr_at(&hp, 9, 1.5), 0.0, 1e-9);
    /* Monotonically decreasing. */
    float last = 1;
    for (double p = 0; p <= 1.0; p += 0.01) {
        float lr = nn_hparams_lr_at(&hp, 0, p);
        ck_assert_float_le(lr, last);
        last = lr;
    }
}
END_TEST

/* ---- runner ----------------------------------------------------------- */

static Suite *optim_suite(void)
{
    Suite *suite = suite_create("optim");

    TCase *rules = tcase_create("rules");
    tcase_add_test(rules, test_sgd);
    tcase_add_test(rules, test_momentum);
    tcase_add_test(rules, test_nesterov);
    tcase_add_test(rules, test_adam);
    tcase_add_test(rules, test_rmsprop);
    tcase_add_test(rules, test_step_uses_given_lr);
    tcase_add_test(rules, test_reset);
    tcase_add_test(rules, test_step_after_backward);
    tcase_add_test(rules, test_backward_after_step);
    suite_add_tcase(suite, rules);

    TCase *decay = tcase_create("decay");
    tcase_add_test(decay, test_weight_decay_and_l1);
    tcase_add_test(decay, test_weight_decay_momentum);
    tcase_add_test(decay, test_decay_applies_to_model_weights_only);
    suite_add_tcase(suite, decay);

    TCase *stats = tcase_create("stats");
    tcase_add_test(stats, test_stats);
    tcase_add_test(stats, test_stats_large_tensor);
    suite_add_tcase(suite, stats);

    TCase *schedules = tcase_create("schedules");
    tcase_add_test(schedules, test_schedule_constant);
    tcase_add_test(schedules, test_schedule_step);
    tcase_add_test(schedules, test_schedule_cosine);
    suite_add_tcase(suite, schedules);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(optim_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
