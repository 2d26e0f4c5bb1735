/* Tests for nn/gradcheck.c: every op's gradient against central
 * differences, whole preset models, and that a wrong gradient is caught.
 *
 * Gradient checks run in float32 with central differences of step
 * h = 5e-3.  A correct op then measures a relative error of about 1e-5 to
 * 1e-4 (truncation error h^2 f''' plus float rounding of the loss over h),
 * while a wrong backward (a missing factor, a transposed product, a
 * dropped term) measures 1e-1 or more.  The tests assert 1e-3: ten times
 * the noise, a hundred times below a real mistake. */
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

/* ---- gradient checks of single ops ------------------------------------ */

START_TEST(test_gradcheck_every_op)
{
    int op = NN_OP_MATMUL + _i;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        nn_gradcheck_result r;
        memset(&r, 0, sizeof r);
        ck_assert_int_eq(nn_gradcheck_op(op, seed, &r, &err), NN_OK);
        ck_assert_str_eq(r.name, nn_op_name(op));
        /* The 4x6 weight, plus the 4 biases for the bias op. */
        ck_assert_int_eq(r.coords, op == NN_OP_BIAS ? 28 : 24);
        ck_assert_msg(r.max_error < OP_TOLERANCE, "%s, seed %llu: relative error %.3g", r.name,
                      (unsigned long long)seed, r.max_error);
        ck_assert_msg(r.max_error > 0, "%s: an error of exactly 0 means nothing was compared", r.name);
    }
}
END_TEST


START_TEST(test_gradcheck_op_rejects_non_ops)
{
    nn_gradcheck_result r;
    ck_assert_int_eq(nn_gradcheck_op(NN_OP_INPUT, 1, &r, &err), NN_EINPUT);
    ck_assert_str_eq(err.msg, "gradcheck: op 'input' has no gradient to check");
    ck_assert_int_eq(nn_gradcheck_op(NN_OP_PARAM, 1, &r, &err), NN_EINPUT);
    ck_assert_int_eq(nn_gradcheck_op(NN_OP_COUNT, 1, &r, &err), NN_EINPUT);
}
END_TEST


/* ---- whole graphs ----------------------------------------------------- */

/* A parameter behind a loss's target gets no gradient: the losses treat the
 * target as a constant.  For a parameter that does change the loss that
 * is a wrong gradient, and the check must say so and name the tensor. */
START_TEST(test_gradcheck_catches_wrong_gradient)
{
    enum { N = 3, K = 4, M = 3 };
    nn_graph g;
    init_graph(&g, N);
    int k = K, w_dim[2] = {M, K};
    int x = add_input(&g, "x", 1, &k);
    int w_pred = add_param(&g, "w_pred", 2, w_dim, 1);
    int w_target = add_param(&g, "w_target", 2, w_dim, 1);
    int p = add_op(&g, NN_OP_MATMUL, "p", x, w_pred, 0);
    int q = add_op(&g, NN_OP_MATMUL, "q", x, w_target, 0);
    g.loss = add_op(&g, NN_OP_MSE, "loss", p, q, 0);
    finalise(&g);
    nn_rng rng;
    nn_rng_seed(&rng, 6);
    fill_uniform(g.nodes[x].value, N * K, -1, 1, &rng);
    fill_uniform(g.nodes[w_pred].value, M * K, -1, 1, &rng);
    fill_uniform(g.nodes[w_target].value, M * K, -1, 1, &rng);

    nn_gradcheck_result r[2];
    double worst = nn_gradcheck_graph(&g, N, NN_GRADCHECK_H_STEP, 1000, 1, r);
    ck_assert_str_eq(r[0].name, "w_pred");
    ck_assert_str_eq(r[1].name, "w_target");
    ck_assert_int_eq(r[0].coords, M * K);
    ck_assert_msg(r[0].max_error < OP_TOLERANCE, "w_pred: %.3g", r[0].max_error);
    /* Analytic 0 against a real numeric gradient: |0 - n| / (0 + |n|) = 1. */
    ck_assert_double_eq_tol(r[1].max_error, 1.0, 1e-9);
    ck_assert_double_eq(worst, r[1].max_error);
    nn_graph_free(&g);
}
END_TEST


/* softmax_xent with a teacher (nn_distill): the distillation term's
 * gradient, at a temperature and weight where both terms count, against
 * central differences; and dropping its factor T is caught. */
START_TEST(test_gradcheck_distill)
{
    enum { N = 3, K = 6, M = 5 };
    for (uint64_t seed = 1; seed <= 4; seed++) {
        nn_graph g;
        init_graph(&g, N);
        int k = K, m = M, w_dim[2] = {M, K};
        int x = add_input(&g, "x", 1, &k);
        int w = add_param(&g, "w", 2, w_dim, 1);
        int z = add_op(&g, NN_OP_MATMUL, "z", x, w, 0);
        int t = add_input(&g, "target", 1, &m);
        g.output = z;
        g.target = t;
        g.loss = add_op(&g, NN_OP_SOFTMAX_XENT, "loss", z, t, 0);
        finalise(&g);
        nn_rng rng;
        nn_rng_seed(&rng, seed);
        fill_uniform(g.nodes[x].value, N * K, -1, 1, &rng);
        fill_uniform(g.nodes[w].value, M * K, -1.5f, 1.5f, &rng);
        memset(g.nodes[t].value, 0, N * M * sizeof(float));
        for (int s = 0; s < N; s++)
            g.nodes[t].value[s * M + nn_rng_below(&rng, M)] = 1.0f;
        float teacher[N * M];
        fill_uniform(teacher, N * M, -3, 3, &rng);
        nn_distill distill = {teacher, 2.5f, 0.7f};
        g.distill = &distill;
        g.training = 1;
        nn_gradcheck_result r;
        double worst = nn_gradcheck_graph(&g, N, NN_GRADCHECK_H_STEP, 1000, seed, &r);
        ck_assert_int_eq(r.coords, M * K);
        ck_assert_msg(worst < OP_TOLERANCE, "seed %llu: relative error %.3g", (unsigned long long)seed, worst);
        ck_assert_msg(worst > 0, "an error of exactly 0 means nothing was compared");
        nn_graph_free(&g);
    }
}
END_TEST

static void fill_mnist_like(nn_graph *g, int n, uint64_t seed)
{
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    nn_node *in = &g->nodes[g->input], *target = &g->nodes[g->target];
    fill_uniform(in->value, (size_t)n * in->size, 0, 1, &rng);
    memset(target->value, 0, (size_t)n * target->size * sizeof(float));
    for (int s = 0; s < n; s++)
        target->value[(size_t)s * target->size + nn_rng_below(&rng, (uint32_t)target->size)] = 1.0f;
}

static void build_preset(nn_graph *g, nn_spec *spec, const char *name, int max_batch, uint64_t seed)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/assets/models/%s.spec", getenv("NNLAB_SOURCE_ROOT"), name);
    ck_assert_msg(nn_spec_load(spec, path, &err) == NN_OK, "%s", err.msg);
    nn_hparams hp = spec->hp;
    hp.seed = seed;
    ck_assert_msg(nn_model_build(g, spec, &hp, max_batch, &err) == NN_OK, "%s", err.msg);
}

/* Check a preset built from its spec file the way `nnlab gradcheck --model`
 * does: 4 samples of random pixels, 40 coordinates per tensor, tolerance
 * NN_GRADCHECK_TOLERANCE.  Returns the number of failing tensors. */
static int gradcheck_preset(const char *name, uint64_t seed, char *report, size_t report_len)
{
    nn_graph g;
    nn_spec spec;
    build_preset(&g, &spec, name, 4, seed);
    g.training = 1;
    fill_mnist_like(&g, 4, seed);
    nn_gradcheck_result r[8];
    ck_assert_int_le(g.n_param_tensors, 8);
    double worst = nn_gradcheck_graph(&g, 4, NN_GRADCHECK_H_STEP, 40, seed, r);
    ck_assert_double_gt(worst, 0);
    int failed = 0;
    for (int t = 0; t < g.n_param_tensors; t++) {
        size_t size = nn_graph_param_node(&g, t)->size;
        ck_assert_str_eq(r[t].name, nn_graph_param_node(&g, t)->name);
        /* every chosen coordinate is compared or, straddling a relu kink, skipped */
        ck_assert_int_eq(r[t].coords + r[t].skipped, size < 40 ? (int)size : 40);
        ck_assert_int_le(r[t].skipped, 4);
        if (r[t].max_error >= NN_GRADCHECK_TOLERANCE) {
            size_t used = strlen(report);
            snprintf(report + used, report_len - used, " %s seed %llu %s: %.3g;", name,
                     (unsigned long long)seed, r[t].name, r[t].max_error);
            failed++;
        }
    }
    nn_graph_free(&g);
    nn_spec_free(&spec);
    return failed;
}

/* The smooth presets pass for every seed. */
START_TEST(test_gradcheck_smooth_presets)
{
    char report[1024] = "";
    int failed = 0;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        failed += gradcheck_preset("linear", seed, report, sizeof report);
        failed += gradcheck_preset("mlp-tanh", seed, report, sizeof report);
    }
    ck_assert_msg(failed == 0, "%d tensors failed:%s", failed, report);
}
END_TEST


/* A correct relu model must pass too, whatever the seed.  A central
 * difference whose two points lie on either side of a relu kink measures
 * the average of two slopes, not the derivative: for mlp with --seed 3,
 * dense1.weight[6775] moves one hidden pre-activation across 0 between
 * w - h and w + h (analytic -0.0201, numeric -0.0026), and
 * `nnlab gradcheck --model mlp --seed 3` reports a failure on a correct
 * backward (likewise --seed 5, through dense1.bias[67]).  nn_gradcheck_op
 * avoids kinks for the relu op; nn_gradcheck_graph has to skip such
 * coordinates itself. */
START_TEST(test_gradcheck_relu_preset_no_false_alarm)
{
    char report[1024] = "";
    int failed = 0;
    for (uint64_t seed = 1; seed <= 8; seed++)
        failed += gradcheck_preset("mlp", seed, report, sizeof report);
    ck_assert_msg(failed == 0, "%d tensors failed on a correct model:%s", failed, report);
}
END_TEST


/* First-order Taylor: moving the parameters by -e g/|g| changes the loss
 * by -e |g| up to O(e^2), and the symmetric difference along any direction
 * d is 2 e (g . d) up to O(e^3). */
START_TEST(test_loss_follows_gradient)
{
    enum { N = 8 };
    nn_graph g;
    nn_spec spec;
    build_preset(&g, &spec, "mlp-tanh", N, 7);
    fill_mnist_like(&g, N, 7);
    nn_graph_forward(&g, N);
    double l0 = nn_graph_loss(&g);
    nn_graph_backward(&g);

    size_t total = g.n_params;
    float *w0 = malloc(total * sizeof *w0), *grad = malloc(total * sizeof *grad);
    float *dir = malloc(total * sizeof *dir);
    ck_assert(w0 && grad && dir);
    memcpy(w0, g.params, total * sizeof *w0);
    memcpy(grad, g.grads, total * sizeof *grad);
    double gnorm = sqrt(nn_vec_sumsq(grad, total));
    ck_assert_double_gt(gnorm, 1e-3);

    const double e = 1e-2;
    for (size_t i = 0; i < total; i++)
        g.params[i] = w0[i] - (float)(e * grad[i] / gnorm);
    nn_graph_forward(&g, N);
    double predicted = -e * gnorm, actual = nn_graph_loss(&g) - l0;
    ck_assert_msg(fabs(actual - predicted) < 0.05 * fabs(predicted),
                  "loss changed by %.6g, the gradient predicts %.6g", actual, predicted);

    /* A random direction of unit length. */
    nn_rng rng;
    nn_rng_seed(&rng, 8);
    double dnorm = 0, gd = 0;
    for (size_t i = 0; i < total; i++) {
        dir[i] = nn_rng_normal(&rng);
        dnorm += (double)dir[i] * dir[i];
    }
    dnorm = sqrt(dnorm);
    for (size_t i = 0; i < total; i++) {
        dir[i] = (float)(dir[i] / dnorm);
        gd += (double)grad[i] * dir[i];
    }
    const double s = 5e-2;
    for (size_t i = 0; i < total; i++)
        g.params[i] = w0[i] + (float)(s * dir[i]);
    nn_graph_forward(&g, N);
    double plus = nn_graph_loss(&g);
    for (size_t i = 0; i < total; i++)
        g.params[i] = w0[i] - (float)(s * dir[i]);
    nn_graph_forward(&g, N);
    double minus = nn_graph_loss(&g);
    ck_assert_msg(fabs((plus - minus) - 2 * s * gd) < 0.01 * fabs(2 * s * gd) + 1e-6,
                  "symmetric difference %.6g, the gradient predicts %.6g", plus - minus, 2 * s * gd);
    free(w0);
    free(grad);
    free(dir);
    nn_graph_free(&g);
    nn_spec_free(&spec);
}
END_TEST
START_TEST(test_gradcheck_all_ops_graph)
{
    all_ops a;
    build_all_ops(&a, 4);
    nn_gradcheck_result r[5];
    ck_assert_int_eq(a.g.n_param_tensors, 5);
    nn_gradcheck_graph(&a.g, 4, NN_GRADCHECK_H_STEP, 1000, 3, r);
    for (int t = 0; t < 5; t++) {
        if (strcmp(r[t].name, "unused") == 0) {
            ck_assert_double_eq(r[t].max_error, 0); /* 0 against 0 */
            continue;
        }
        ck_assert_msg(r[t].max_error < OP_TOLERANCE, "%s: %.3g", r[t].name, r[t].max_error);
    }
    nn_graph_free(&a.g);
}
END_TEST
/* ---- runner ----------------------------------------------------------- */

static Suite *gradcheck_suite(void)
{
    Suite *suite = suite_create("gradcheck");




    TCase *gradcheck = tcase_create("gradcheck");
    tcase_add_loop_test(gradcheck, test_gradcheck_every_op, 0, NN_OP_MSE - NN_OP_MATMUL + 1);
    tcase_add_test(gradcheck, test_gradcheck_op_rejects_non_ops);
    tcase_add_test(gradcheck, test_gradcheck_catches_wrong_gradient);
    tcase_add_test(gradcheck, test_gradcheck_all_ops_graph);
    tcase_add_test(gradcheck, test_gradcheck_distill);
    tcase_add_test(gradcheck, test_gradcheck_smooth_presets);
    tcase_add_test(gradcheck, test_gradcheck_relu_preset_no_false_alarm);
    tcase_add_test(gradcheck, test_loss_follows_gradient);
    suite_add_tcase(suite, gradcheck);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(gradcheck_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
