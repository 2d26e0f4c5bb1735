/* Tests for nn/ops_vae.c and nn/latent.c: the KL term against its closed
 * form, the reparameterised sample (its distribution, its noise stream, its
 * gradient), gradient checks of gaussian, kl and add, the vae preset, a
 * short training run whose negative ELBO must fall, and the sample grid.
 *
 * Tolerances: closed forms within 1e-6 relative; sample mean and standard
 * deviation of 4000 draws within about four standard errors; gradient
 * checks below 1e-3. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data.h"
#include "graph_helpers.h"
#include "latent.h"
#include "model.h"
#include "png.h"
#include "spec.h"
#include "trainer.h"

/* input[2L] -> bias (zero: gives the op's input a gradient) -> op. */
static int params_graph(nn_graph *g, int n, int l, int op, int *p)
{
    nn_error err;
    ck_assert_int_eq(nn_graph_init(g, n, &err), NN_OK);
    int size = 2 * l;
    g->input = nn_graph_input(g, "input", 1, &size, &err);
    int pair[2] = {g->input, nn_graph_param(g, "shift", 1, &size, 0, &err)};
    *p = nn_graph_op(g, NN_OP_BIAS, "p", pair, 2, 0, &err);
    int y = nn_graph_op(g, op, "op", p, 1, 0, &err);
    ck_assert_msg(y >= 0, "%s", err.msg);
    return y;
}

START_TEST(test_kl_closed_form)
{
    enum { N = 3, L = 2 };
    nn_graph g;
    int p, kl = params_graph(&g, N, L, NN_OP_KL, &p);
    g.loss = kl;
    nn_error err;
    ck_assert_int_eq(nn_graph_finalise(&g, &err), NN_OK);
    const float rows[N][2 * L] = {
        {0, 0, 0, 0},                  /* N(0, 1) itself: 0 */
        {1, -2, 0, 0},                 /* unit variance: |mu|^2 / 2 = 2.5 */
        {0, 0, logf(4.0f), -logf(4.0f)}, /* (4 - 1 - ln 4)/2 + (1/4 - 1 + ln 4)/2 = 1.125 */
    };
    memcpy(g.nodes[g.input].value, rows, sizeof rows);
    nn_graph_forward(&g, N);
    ck_assert_close(nn_graph_loss(&g), (0 + 2.5 + 1.125) / N, 1e-6);
    nn_graph_backward(&g);
    /* dmu = mu / n, dlogvar = (exp(logvar) - 1) / (2 n) */
    const float *d = g.nodes[p].grad;
    ck_assert_close(d[4], 1.0 / N, 1e-6);
    ck_assert_close(d[5], -2.0 / N, 1e-6);
    ck_assert_close(d[10], 1.5 / N, 1e-6);
    ck_assert_close(d[11], -0.375 / N, 1e-6);
    ck_assert_close(d[0], 0, 1e-7);
    nn_graph_free(&g);
}
END_TEST

START_TEST(test_gaussian_sample_distribution)
{
    enum { N = 4000 };
    nn_graph g;
    int p, z = params_graph(&g, N, 1, NN_OP_GAUSSIAN, &p);
    nn_error err;
    ck_assert_int_eq(nn_graph_finalise(&g, &err), NN_OK);
    nn_rng_seed(&g.noise_rng, 5);
    float *in = g.nodes[g.input].value;
    for (int i = 0; i < N; i++) { /* mu 2, sd 0.5 */
        in[2 * i] = 2.0f;
        in[2 * i + 1] = logf(0.25f);
    }
    nn_graph_forward(&g, N);
    const nn_node *zn = &g.nodes[z];
    double sum = 0, sq = 0;
    for (int i = 0; i < N; i++) {
        float eps = zn->aux[i]; /* the noise drawn for sample i */
        ck_assert_close(zn->value[i], 2.0 + 0.5 * eps, 1e-6);
        sum += zn->value[i];
        sq += (double)zn->value[i] * zn->value[i];
    }
    double mean = sum / N, sd = sqrt(sq / N - mean * mean);
    ck_assert_msg(fabs(mean - 2.0) < 4 * 0.5 / sqrt(N), "mean %g", mean);
    ck_assert_msg(fabs(sd - 0.5) < 4 * 0.5 / sqrt(2.0 * N), "sd %g", sd);

    /* The noise comes from the graph's noise stream, and from it alone. */
    float first = zn->value[0];
    nn_rng_seed(&g.noise_rng, 5);
    nn_rng_seed(&g.rng, 12345);
    nn_graph_forward(&g, 1);
    ck_assert_float_eq(zn->value[0], first);
    nn_rng_seed(&g.noise_rng, 6);
    nn_graph_forward(&g, 1);
    ck_assert_float_ne(zn->value[0], first);
    nn_graph_free(&g);
}
END_TEST

/* dmu = dz and dlogvar = dz (z - mu) / 2, with dz from mse: z - t. */
START_TEST(test_gaussian_gradient_by_hand)
{
    nn_graph g;
    int p, z = params_graph(&g, 1, 2, NN_OP_GAUSSIAN, &p);
    finish(&g, z, 1, 7);
    memset(g.nodes[g.nodes[p].in[1]].value, 0, 4 * sizeof(float));
    nn_graph_forward(&g, 1);
    nn_graph_backward(&g);
    const float *mu = g.nodes[g.input].value, *zv = g.nodes[z].value, *t = g.nodes[g.target].value;
    const float *d = g.nodes[p].grad;
    for (int j = 0; j < 2; j++) {
        ck_assert_close(d[j], zv[j] - t[j], 1e-6);
        ck_assert_close(d[2 + j], 0.5 * (zv[j] - t[j]) * (zv[j] - mu[j]), 1e-6);
    }
    nn_graph_free(&g);
}
END_TEST

/* _i: 0 gaussian, 1 kl + mse summed by add, 2 add of a node and its tanh */
START_TEST(test_vae_ops_gradient_check)
{
    enum { N = 3 };
    nn_graph g;
    int shape[1] = {6};
    int x = front(&g, N, 1, shape);
    nn_error err;
    int y;
    if (_i == 0) {
        y = nn_graph_op(&g, NN_OP_GAUSSIAN, "gaussian", &x, 1, 0, &err);
        finish(&g, y, N, 50);
    } else if (_i == 1) {
        int size = 6, kl = nn_graph_op(&g, NN_OP_KL, "kl", &x, 1, 0, &err);
        g.output = x;
        g.target = nn_graph_input(&g, "target", 1, &size, &err);
        int pair[2] = {x, g.target};
        int recon = nn_graph_op(&g, NN_OP_MSE, "reconstruction", pair, 2, 0, &err);
        pair[0] = recon;
        pair[1] = kl;
        g.loss = nn_graph_op(&g, NN_OP_ADD, "loss", pair, 2, 0, &err);
        ck_assert_msg(g.loss >= 0, "%s", err.msg);
        ck_assert_int_eq(nn_graph_finalise(&g, &err), NN_OK);
        nn_rng rng;
        nn_rng_seed(&rng, 51);
        fill_uniform(g.nodes[g.input].value, N * FRONT_INPUTS, -1, 1, &rng);
        fill_uniform(g.nodes[g.target].value, N * 6, -1, 1, &rng);
        fill_uniform(nn_graph_param_node(&g, 0)->value, 6 * FRONT_INPUTS, -0.7f, 0.7f, &rng);
        g.training = 1;
    } else {
        int pair[2] = {x, nn_graph_op(&g, NN_OP_TANH, "tanh", &x, 1, 0, &err)};
        y = nn_graph_op(&g, NN_OP_ADD, "add", pair, 2, 0, &err);
        finish(&g, y, N, 52);
    }
    double worst = worst_gradient_error(&g, N);
    ck_assert_msg(worst < 1e-3, "case %d: worst relative error %g", _i, worst);
    nn_graph_free(&g);
}
END_TEST

/* ---- the preset, training and the sample grid --------------------------------- */

static void load_preset(const char *name, nn_spec *spec)
{
    char path[4096];
    const char *root = getenv("NNLAB_SOURCE_ROOT");
    snprintf(path, sizeof path, "%s/assets/models/%s.spec", root ? root : ".", name);
    nn_error err;
    ck_assert_msg(nn_spec_load(spec, path, &err) == NN_OK, "%s", err.msg);
}

START_TEST(test_vae_preset_graph)
{
    nn_spec spec;
    load_preset("vae", &spec);
    nn_graph g;
    nn_error err;
    ck_assert_msg(nn_model_build(&g, &spec, &spec.hp, 4, &err) == NN_OK, "%s", err.msg);
    /* 784-400, 400-(2+2), 2-400, 400-784, each with its bias */
    ck_assert_uint_eq(g.param_count, 784 * 400 + 400 + 400 * 4 + 4 + 2 * 400 + 400 + 400 * 784 + 784);
    ck_assert_int_eq(g.reconstructs, 1);
    ck_assert_int_eq(g.target, -1);
    ck_assert_int_eq(nn_latent_size(&g), 2);
    const nn_node *loss = &g.nodes[g.loss];
    ck_assert_int_eq(loss->op, NN_OP_ADD);
    ck_assert_str_eq(g.nodes[loss->in[0]].name, "reconstruction");
    ck_assert_int_eq(g.nodes[loss->in[0]].op, NN_OP_SIGMOID_BCE);
    ck_assert_int_eq(g.nodes[loss->in[0]].in[1], g.input); /* the input is the target */
    ck_assert_str_eq(g.nodes[loss->in[1]].name, "gaussian1.kl");
    nn_graph_free(&g);
    nn_spec_free(&spec);
}
END_TEST

START_TEST(test_vae_training_lowers_the_negative_elbo)
{
    char dir[4096];
    const char *root = getenv("NNLAB_SOURCE_ROOT");
    snprintf(dir, sizeof dir, "%s/data/mnist-small", root ? root : ".");
    nn_dataset train, test;
    nn_error err;
    ck_assert_msg(nn_dataset_load_dir(dir, &train, &test, &err) == NN_OK, "%s", err.msg);
    train.count = 1024; /* enough to learn something, quick under sanitizers */
    test.count = 256;
    nn_spec spec;
    load_preset("vae", &spec);
    nn_hparams hp = spec.hp;
    hp.epochs = 2;
    hp.threads = 1;
    nn_trainer t;
    ck_assert_msg(nn_trainer_init(&t, &spec, &hp, &train, &err) == NN_OK, "%s", err.msg);
    nn_eval before, again, after;
    nn_trainer_evaluate(&t, &test, &before);
    nn_trainer_evaluate(&t, &test, &again);
    ck_assert_double_eq(before.loss, again.loss); /* evaluation noise is its own, fixed stream */
    ck_assert(isnan(before.accuracy));
    ck_assert_double_gt(before.loss, 500); /* 784 pixels at about ln 2 each */
    while (!nn_trainer_done(&t)) {
        nn_step_info s;
        nn_trainer_step(&t, &s);
        ck_assert(isfinite(s.loss));
        ck_assert(isnan(s.accuracy));
    }
    nn_trainer_evaluate(&t, &test, &after);
    ck_assert_msg(after.loss < 0.5 * before.loss, "negative ELBO %g -> %g", before.loss, after.loss);

    enum { ROWS = 3, COLS = 4 };
    unsigned char pixels[ROWS * 28 * COLS * 28];
    int width, height;
    ck_assert_msg(nn_latent_grid(&t.graph, ROWS, COLS, 1, pixels, &width, &height, &err) == NN_OK, "%s", err.msg);
    ck_assert_int_eq(width, COLS * 28);
    ck_assert_int_eq(height, ROWS * 28);
    long ink = 0;
    int darkest = 255, brightest = 0;
    for (size_t i = 0; i < sizeof pixels; i++) {
        ink += pixels[i];
        darkest = pixels[i] < darkest ? pixels[i] : darkest;
        brightest = pixels[i] > brightest ? pixels[i] : brightest;
    }
    ck_assert_int_lt(darkest, 20);   /* a background */
    ck_assert_int_gt(brightest, 150); /* and strokes on it */
    ck_assert_int_lt(ink / (long)sizeof pixels, 100);

    char png[] = "/tmp/nnlab-test-vae-XXXXXX";
    int fd = mkstemp(png);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_msg(nn_png_write_gray(png, width, height, pixels, &err) == NN_OK, "%s", err.msg);
    FILE *f = fopen(png, "rb");
    unsigned char head[8];
    ck_assert_uint_eq(fread(head, 1, 8, f), 8);
    fclose(f);
    unlink(png);
    ck_assert_mem_eq(head, "\x89PNG\r\n\x1a\n", 8);

    nn_trainer_free(&t);
    nn_spec_free(&spec);
    nn_dataset_free(&train);
    nn_dataset_free(&test);
}
END_TEST

START_TEST(test_latent_grid_needs_a_latent_code)
{
    nn_spec spec;
    load_preset("mlp", &spec);
    nn_graph g;
    nn_error err;
    ck_assert_msg(nn_model_build(&g, &spec, &spec.hp, 4, &err) == NN_OK, "%s", err.msg);
    ck_assert_int_eq(nn_latent_size(&g), 0);
    unsigned char pixels[28 * 28];
    int width, height;
    ck_assert_int_eq(nn_latent_grid(&g, 1, 1, 1, pixels, &width, &height, &err), NN_EINPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "no latent code"));
    nn_graph_free(&g);
    nn_spec_free(&spec);
}
END_TEST

static const struct {
    const char *text, *message;
} spec_errors[] = {
    {"input 1x28x28\ngaussian\nsigmoid_bce target=input\n", "t.spec:2:10: expected the size of the latent code"},
    {"input 1x28x28\ndense 10\nsoftmax_xent target=input\n", "t.spec:3:14: unexpected 'target=input'"},
    {"input 1x28x28\ndense 784\nsigmoid_bce target=image\n", "t.spec:3:20: expected target=input or target=labels"},
    {"input 1x28x28\ngaussian 2 bias=0\nsigmoid_bce target=input\n", "t.spec:2:12: unknown option 'bias' for gaussian"},
};

START_TEST(test_vae_spec_errors)
{
    nn_spec spec;
    nn_error err;
    ck_assert_int_eq(nn_spec_parse(&spec, spec_errors[_i].text, "t.spec", &err), NN_EINPUT);
    ck_assert_msg(strstr(err.msg, spec_errors[_i].message), "got '%s', expected '%s'", err.msg,
                  spec_errors[_i].message);
}
END_TEST

/* A reconstruction must have the input's size; the error names the line. */
START_TEST(test_vae_build_error_names_the_line)
{
    nn_spec spec;
    nn_error err;
    ck_assert_msg(nn_spec_parse(&spec, "input 1x28x28\ngaussian 2\ndense 100\nsigmoid_bce target=input\n", "t.spec",
                                &err) == NN_OK,
                  "%s", err.msg);
    nn_graph g;
    ck_assert_int_eq(nn_model_build(&g, &spec, &spec.hp, 2, &err), NN_EINPUT);
    ck_assert_msg(strstr(err.msg, "t.spec:4: reconstruction: prediction has 100 values per sample but the target has 784"),
                  "%s", err.msg);
    nn_spec_free(&spec);
}
END_TEST

static Suite *vae_suite(void)
{
    Suite *suite = suite_create("vae");
    TCase *ops = tcase_create("ops");
    tcase_add_test(ops, test_kl_closed_form);
    tcase_add_test(ops, test_gaussian_sample_distribution);
    tcase_add_test(ops, test_gaussian_gradient_by_hand);
    tcase_add_loop_test(ops, test_vae_ops_gradient_check, 0, 3);
    suite_add_tcase(suite, ops);
    TCase *model = tcase_create("model");
    tcase_set_timeout(model, 120);
    tcase_add_test(model, test_vae_preset_graph);
    tcase_add_test(model, test_vae_training_lowers_the_negative_elbo);
    tcase_add_test(model, test_latent_grid_needs_a_latent_code);
    tcase_add_loop_test(model, test_vae_spec_errors, 0, (int)(sizeof spec_errors / sizeof spec_errors[0]));
    tcase_add_test(model, test_vae_build_error_names_the_line);
    suite_add_tcase(suite, model);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(vae_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
