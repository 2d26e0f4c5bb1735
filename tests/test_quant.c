/* Tests for nn/quant.c and int8 model files: the int8 kernels against
 * plain integer arithmetic, quantisation's rounding and clamping, the int8
 * forward pass against float within a stated tolerance, and int8 files
 * that read back to the same predictions and are at least 3.5x smaller. */
#include "checkpoint.h"
#include "data.h"
#include "model.h"
#include "quant.h"
#include "rng.h"
#include "spec.h"
#include "trainer.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static nn_error err;
static nn_dataset train_full, test_set;

static void load_data(void)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/data/mnist-small", getenv("NNLAB_SOURCE_ROOT"));
    if (nn_dataset_load_dir(dir, &train_full, &test_set, &err) != NN_OK) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    nn_set_threads(1);
}

static void load_preset(nn_spec *spec, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/assets/models/%s.spec", getenv("NNLAB_SOURCE_ROOT"), name);
    ck_assert_msg(nn_spec_load(spec, path, &err) == NN_OK, "%s", err.msg);
}

static int8_t random_i8(nn_rng *rng)
{
    return (int8_t)((int)nn_rng_below(rng, 255) - 127);
}

START_TEST(test_dot_kernels)
{
    nn_rng rng;
    nn_rng_seed(&rng, 5);
    int8_t *a = aligned_alloc(32, 1024), *w = aligned_alloc(32, 9 * 1024);
    int32_t out[9];
    for (int n = 32; n <= 1024; n += 32) {
        for (int i = 0; i < n; i++)
            a[i] = random_i8(&rng);
        for (int i = 0; i < 9 * n; i++)
            w[i] = random_i8(&rng);
        if (n == 64) /* the extremes: 127 * 127 and -127 * 127 in every pair */
            for (int i = 0; i < n; i++) {
                a[i] = i % 2 ? 127 : -127;
                w[i] = i % 2 ? 127 : -127;
            }
        int32_t want = 0;
        for (int i = 0; i < n; i++)
            want += a[i] * w[i];
        ck_assert_int_eq(nn_dot_i8(w, a, n), want);
        for (int rows = 1; rows <= 9; rows++) {
            nn_dot_rows_i8(w, rows, n, a, out);
            for (int r = 0; r < rows; r++) {
                int32_t s = 0;
                for (int i = 0; i < n; i++)
                    s += w[r * n + i] * a[i];
                ck_assert_int_eq(out[r], s);
            }
        }
    }
    free(a);
    free(w);
}
END_TEST

START_TEST(test_quantize_rounding)
{
    float x[75];
    int8_t q[75];
    for (int i = 0; i < 75; i++)
        x[i] = (float)(i - 37) * 0.37f;
    x[0] = 1e9f;
    x[1] = -1e9f;
    x[2] = 0.5f * 0.1f;  /* exactly half a step: rounds to even (0) */
    x[3] = 1.5f * 0.1f;  /* rounds to 2 */
    nn_quantize_i8(x, 75, 0.1f, q);
    ck_assert_int_eq(q[0], 127);
    ck_assert_int_eq(q[1], -127);
    for (int i = 2; i < 75; i++) {
        float v = fmaxf(-127.0f, fminf(127.0f, x[i] / 0.1f));
        ck_assert_msg(fabsf((float)q[i] - v) <= 0.5f + 1e-4f, "x %g -> %d", x[i], q[i]);
    }
}
END_TEST

/* Largest |int8 - float| over the logits of n test images, against the
 * largest logit, and the fraction of images with the same predicted class. */
static void compare(nn_graph *g, nn_quant *q, int n, double *rel_error, double *agree)
{
    nn_node *in = &g->nodes[g->input], *target = &g->nodes[g->target];
    const nn_node *out = &g->nodes[g->output];
    /* the output node before the loss: logits */
    int logits = out->in[0];
    size_t size = g->nodes[logits].size;
    float *ref = malloc((size_t)n * size * sizeof *ref);
    size_t *idx = malloc((size_t)n * sizeof *idx);
    int *labels = malloc((size_t)n * sizeof *labels);
    for (int i = 0; i < n; i++)
        idx[i] = (size_t)i;
    nn_dataset_batch(&test_set, idx, n, in->value, target->value, labels);
    nn_graph_forward(g, n);
    memcpy(ref, g->nodes[logits].value, (size_t)n * size * sizeof *ref);
    nn_quant_forward(q, g, n);
    double worst = 0, biggest = 0;
    int same = 0;
    for (int s = 0; s < n; s++) {
        const float *a = ref + (size_t)s * size, *b = g->nodes[logits].value + (size_t)s * size;
        for (size_t k = 0; k < size; k++) {
            worst = fmax(worst, fabs((double)a[k] - b[k]));
            biggest = fmax(biggest, fabs((double)a[k]));
        }
        same += nn_vec_argmax(a, (int)size) == nn_vec_argmax(b, (int)size);
    }
    *rel_error = worst / biggest;
    *agree = (double)same / n;
    free(ref);
    free(idx);
    free(labels);
}

/* A trained mlp: int8 logits within 3% of the largest float logit, the
 * same class for at least 98% of images, and accuracy within a point. */
START_TEST(test_int8_matches_float)
{
    nn_spec spec;
    load_preset(&spec, "mlp");
    nn_hparams hp = spec.hp;
    hp.epochs = 1;
    hp.batch = 100;
    nn_trainer t;
    ck_assert_int_eq(nn_trainer_init(&t, &spec, &hp, &train_full, &err), NN_OK);
    while (!nn_trainer_done(&t)) {
        nn_step_info s;
        nn_trainer_step(&t, &s);
    }
    nn_quant q;
    ck_assert_msg(nn_quant_build(&q, &t.graph, &train_full, 500, &err) == NN_OK, "%s", err.msg);
    ck_assert_int_eq(q.n_layers, 2);
    ck_assert_int_eq(q.layers[0].rows, 128);
    ck_assert_int_eq(q.layers[0].k, 784);
    ck_assert_int_eq(q.layers[0].k_pad, 800);
    /* Inputs are pixels in [0, 1]: the first layer's input scale is 1/127. */
    ck_assert_float_eq_tol(q.layers[0].x_scale, 1.0f / 127, 1e-7f);
    double rel, agree;
    t.graph.training = 0;
    compare(&t.graph, &q, 100, &rel, &agree);
    ck_assert_msg(rel < 0.03, "int8 logits off by %.4f of the largest", rel);
    ck_assert_msg(agree >= 0.98, "int8 agrees on %.3f of the images", agree);
    nn_eval f, i8;
    nn_trainer_evaluate(&t, &test_set, &f);
    nn_quant_evaluate(&q, &t.graph, &test_set, &i8);
    ck_assert_msg(f.accuracy > 0.85, "float accuracy %.4f", f.accuracy);
    ck_assert_msg(fabs(f.accuracy - i8.accuracy) <= 0.01, "float %.4f int8 %.4f", f.accuracy, i8.accuracy);

    /* Per-row scales: each row's largest weight maps to +-127. */
    const nn_node *w = nn_graph_param_node(&t.graph, 0);
    for (int r = 0; r < 128; r++) {
        float m = 0;
        int qm = 0;
        for (int c = 0; c < 784; c++) {
            m = fmaxf(m, fabsf(w->value[r * 784 + c]));
            qm = abs(q.layers[0].w[r * 800 + c]) > qm ? abs(q.layers[0].w[r * 800 + c]) : qm;
        }
        ck_assert_float_eq_tol(q.layers[0].w_scale[r], m / 127, 1e-9f);
        ck_assert_int_eq(qm, 127);
        for (int c = 784; c < 800; c++)
            ck_assert_int_eq(q.layers[0].w[r * 800 + c], 0);
    }

    /* The int8 file: read back, the same figures; 3.5x smaller than dense. */
    char dense_path[] = "/tmp/nnlab-f32-XXXXXX", int8_path[] = "/tmp/nnlab-i8-XXXXXX";
    close(mkstemp(dense_path));
    close(mkstemp(int8_path));
    nn_export dense = {.encoding = NN_TENSOR_DENSE, .test_loss = NAN, .test_accuracy = NAN};
    nn_export int8 = {.encoding = NN_TENSOR_INT8, .quant = &q, .weights = "int8", .test_loss = NAN,
                      .test_accuracy = NAN};
    size_t dense_size, int8_size;
    ck_assert_int_eq(nn_checkpoint_export(&t.graph, &spec, &hp, &dense, dense_path, &dense_size, &err), NN_OK);
    ck_assert_int_eq(nn_checkpoint_export(&t.graph, &spec, &hp, &int8, int8_path, &int8_size, &err), NN_OK);
    ck_assert_msg(int8_size * 3.5 <= dense_size, "int8 %zu bytes, dense %zu", int8_size, dense_size);
    nn_checkpoint ck;
    ck_assert_msg(nn_checkpoint_load(&ck, int8_path, &err) == NN_OK, "%s", err.msg);
    ck_assert_int_eq(ck.quantised, 1);
    ck_assert_int_eq(ck.tensors[0].encoding, NN_TENSOR_INT8);
    ck_assert_int_eq(ck.tensors[1].encoding, NN_TENSOR_DENSE);
    ck_assert_float_eq(ck.tensors[0].x_scale, q.layers[0].x_scale);
    nn_graph g;
    nn_quant q2;
    ck_assert_int_eq(nn_checkpoint_build(&ck, &g, 100, &err), NN_OK);
    ck_assert_msg(nn_checkpoint_quant(&ck, &g, &q2, &err) == NN_OK, "%s", err.msg);
    ck_assert_mem_eq(q2.layers[0].w, q.layers[0].w, 128 * 800);
    /* nn_checkpoint_build attached the int8 layers: the graph's own forward
     * pass runs them, bit for bit as nn_quant_forward does. */
    ck_assert_ptr_nonnull(g.quant);
    {
        nn_node *in = &g.nodes[g.input], *tg = &g.nodes[g.target];
        size_t idx[10];
        int lab[10];
        for (int i = 0; i < 10; i++)
            idx[i] = (size_t)(i * 13);
        nn_dataset_batch(&test_set, idx, 10, in->value, tg->value, lab);
        int logits = g.nodes[g.output].in[0];
        size_t len = 10 * g.nodes[logits].size;
        nn_graph_forward(&g, 10);
        float *via_graph = malloc(len * sizeof *via_graph);
        memcpy(via_graph, g.nodes[logits].value, len * sizeof *via_graph);
        nn_quant_forward(&q2, &g, 10);
        ck_assert_mem_eq(via_graph, g.nodes[logits].value, len * sizeof *via_graph);
        free(via_graph);
    }
    nn_eval back;
    nn_quant_evaluate(&q2, &g, &test_set, &back);
    ck_assert_double_eq(back.accuracy, i8.accuracy);
    ck_assert_double_eq(back.loss, i8.loss);
    /* A float file is not run as int8. */
    nn_checkpoint fck;
    nn_quant q3;
    ck_assert_int_eq(nn_checkpoint_load(&fck, dense_path, &err), NN_OK);
    ck_assert_int_eq(nn_checkpoint_quant(&fck, &g, &q3, &err), NN_EINPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "not a quantised model"));
    nn_checkpoint_free(&fck);
    nn_quant_free(&q2);
    nn_graph_free(&g);
    nn_checkpoint_free(&ck);
    unlink(dense_path);
    unlink(int8_path);
    nn_quant_free(&q);
    nn_trainer_free(&t);
    nn_spec_free(&spec);
}
END_TEST

/* Convolutions (lenet, as initialised): the first convolution, with 25
 * inputs per output, stays float; on the same images, the first int8
 * layer's output (the second convolution's, 150 products of quantised
 * pooled activations) is within 2% of the float one's largest magnitude
 * (both see the same input; 1.3% measured), and every later layer's within
 * 5% (its input carries the error of the layers before).  A wrong int8
 * product is off by the whole magnitude. */
START_TEST(test_int8_conv_matches_float)
{
    nn_spec spec;
    load_preset(&spec, "lenet");
    nn_graph g;
    ck_assert_int_eq(nn_model_build(&g, &spec, &spec.hp, 16, &err), NN_OK);
    g.training = 0;
    nn_quant q;
    ck_assert_msg(nn_quant_build(&q, &g, &train_full, 300, &err) == NN_OK, "%s", err.msg);
    ck_assert_int_eq(q.n_layers, 4); /* the second convolution, three dense layers */
    ck_assert_int_eq(q.layers[0].k, 150);
    ck_assert_int_eq(q.layers[0].k_pad, 160);
    ck_assert_int_eq(q.layers[1].k, 400);
    ck_assert_str_eq(nn_quant_float_layer(&q, &g, 0), "conv1");
    ck_assert_ptr_null(nn_quant_float_layer(&q, &g, 1));
    nn_node *in = &g.nodes[g.input], *target = &g.nodes[g.target];
    size_t idx[16];
    int labels[16];
    for (int i = 0; i < 16; i++)
        idx[i] = (size_t)(i * 97);
    nn_dataset_batch(&test_set, idx, 16, in->value, target->value, labels);
    nn_graph_forward(&g, 16);
    float *ref[4];
    for (int k = 0; k < 4; k++) {
        const nn_node *node = &g.nodes[q.layers[k].node];
        ref[k] = malloc(16 * node->size * sizeof(float));
        memcpy(ref[k], node->value, 16 * node->size * sizeof(float));
    }
    nn_quant_forward(&q, &g, 16);
    for (int k = 0; k < 4; k++) {
        const nn_node *node = &g.nodes[q.layers[k].node];
        double worst = 0, biggest = 0;
        for (size_t i = 0; i < 16 * node->size; i++) {
            worst = fmax(worst, fabs((double)ref[k][i] - node->value[i]));
            biggest = fmax(biggest, fabs((double)ref[k][i]));
        }
        ck_assert_msg(worst <= (k == 0 ? 0.02 : 0.05) * biggest, "%s: int8 off by %g of %g", node->name, worst,
                      biggest);
        free(ref[k]);
    }
    nn_quant_free(&q);
    nn_graph_free(&g);
    nn_spec_free(&spec);
}
END_TEST

int main(void)
{
    load_data();
    Suite *s = suite_create("quant");
    TCase *tc = tcase_create("quant");
    tcase_add_test(tc, test_dot_kernels);
    tcase_add_test(tc, test_quantize_rounding);
    tcase_add_test(tc, test_int8_matches_float);
    tcase_add_test(tc, test_int8_conv_matches_float);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    nn_dataset_free(&train_full);
    nn_dataset_free(&test_set);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
