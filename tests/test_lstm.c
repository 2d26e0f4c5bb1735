/* Tests for nn/ops_lstm.c: two steps of a one-unit LSTM worked by hand, the
 * op against a double-precision reference of the same equations, gradients
 * through time by central differences, and the lstm layer of the spec
 * format (the lstm preset, initialisation, errors).
 *
 * Tolerances: hand-worked values within 1e-6; the reference within 1e-5
 * relative; gradient checks below 1e-3 (a wrong gate derivative measures
 * above 1e-1). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph_helpers.h"
#include "model.h"
#include "spec.h"

/* input[T,F] -> lstm W[4H,F+H], b[4H] (-> mse on the output). */
static int lstm_graph(nn_graph *g, int n, int t, int f, int h, int all_steps)
{
    nn_error err;
    ck_assert_int_eq(nn_graph_init(g, n, &err), NN_OK);
    int shape[2] = {t, f}, wshape[2] = {4 * h, f + h};
    g->input = nn_graph_input(g, "input", 2, shape, &err);
    int in[3] = {g->input, nn_graph_param(g, "lstm.weight", 2, wshape, 1, &err),
                 nn_graph_param(g, "lstm.bias", 1, wshape, 0, &err)};
    nn_op_args args = {.all_steps = all_steps};
    int y = nn_graph_op_args(g, NN_OP_LSTM, "lstm", in, 3, &args, &err);
    ck_assert_msg(y >= 0, "%s", err.msg);
    return y;
}

/* One unit, two inputs per step, two steps; the weights' rows are the gates
 * i, f, g, o and their columns x1, x2, h. */
START_TEST(test_lstm_two_steps_by_hand)
{
    nn_graph g;
    int y = lstm_graph(&g, 1, 2, 2, 1, 1);
    finish(&g, y, 1, 1);
    const float w[12] = {0.5f, -0.25f, 0.1f, 0.3f, 0.2f, -0.4f, -0.6f, 0.5f, 0.3f, 0.2f, 0.1f, 0.5f};
    const float b[4] = {0.1f, 1.0f, 0.0f, -0.2f};
    const float x[4] = {1.0f, 2.0f, -1.0f, 0.5f};
    memcpy(nn_graph_param_node(&g, 0)->value, w, sizeof w);
    memcpy(nn_graph_param_node(&g, 1)->value, b, sizeof b);
    memcpy(g.nodes[g.input].value, x, sizeof x);
    nn_graph_forward(&g, 1);
    /* Step 1: a = (0.1, 1.7, 0.4, 0.2); c1 = sigmoid(0.1) tanh(0.4) = 0.199465297
     *         h1 = sigmoid(0.2) tanh(c1) = 0.108241087
     * Step 2: a = W (-1, 0.5, h1) + b = (-0.514176, 0.756704, 0.882472, -0.295879)
     *         c2 = sigmoid(0.756704) c1 + sigmoid(-0.514176) tanh(0.882472) = 0.400579049
     *         h2 = sigmoid(-0.295879) tanh(c2) = 0.162284262 */
    ck_assert_close(g.nodes[y].value[0], 0.108241087, 1e-6);
    ck_assert_close(g.nodes[y].value[1], 0.162284262, 1e-6);
    nn_graph_free(&g);
}
END_TEST

static double sigmoid(double v)
{
    return 1 / (1 + exp(-v));
}

/* The LSTM equations in double, one sample: out is [T,H] or [H]. */
static void lstm_reference(int t_steps, int f, int h, const float *x, const float *w, const float *b, int all,
                           double *out)
{
    double *hs = calloc((size_t)h, sizeof *hs), *cs = calloc((size_t)h, sizeof *cs);
    double *a = malloc((size_t)4 * h * sizeof *a);
    for (int t = 0; t < t_steps; t++) {
        for (int r = 0; r < 4 * h; r++) {
            const float *row = w + (size_t)r * (f + h);
            double sum = b[r];
            for (int k = 0; k < f; k++)
                sum += (double)row[k] * x[t * f + k];
            for (int k = 0; k < h; k++)
                sum += row[f + k] * hs[k];
            a[r] = sum;
        }
        for (int j = 0; j < h; j++) {
            cs[j] = sigmoid(a[h + j]) * cs[j] + sigmoid(a[j]) * tanh(a[2 * h + j]);
            hs[j] = sigmoid(a[3 * h + j]) * tanh(cs[j]);
            if (all)
                out[t * h + j] = hs[j];
        }
    }
    if (!all)
        memcpy(out, hs, (size_t)h * sizeof *out);
    free(hs);
    free(cs);
    free(a);
}

START_TEST(test_lstm_matches_reference)
{
    int all = _i;
    enum { N = 3, T = 5, F = 3, H = 11 }; /* a vector of 8 units (AVX2) and 3 more */
    nn_graph g;
    int y = lstm_graph(&g, N, T, F, H, all);
    finish(&g, y, N, 10 + (uint64_t)_i);
    nn_graph_forward(&g, N);
    const nn_node *out = &g.nodes[y];
    ck_assert_uint_eq(out->size, all ? T * H : H);
    double ref[T * H];
    for (int s = 0; s < N; s++) {
        lstm_reference(T, F, H, g.nodes[g.input].value + s * T * F, nn_graph_param_node(&g, 0)->value,
                       nn_graph_param_node(&g, 1)->value, all, ref);
        for (size_t j = 0; j < out->size; j++)
            ck_assert_close(out->value[s * out->size + j], ref[j], 1e-5);
    }
    nn_graph_free(&g);
}
END_TEST

/* Gradients through time: front -> [T,F] -> lstm, last step or all steps,
 * and (case 2) a seq=1 lstm into a last-step one. */
START_TEST(test_lstm_gradient_check)
{
    enum { N = 3, T = 4, F = 3, H = 9, H2 = 2 };
    nn_graph g;
    int shape[2] = {T, F}, w1[2] = {4 * H, F + H}, w2[2] = {4 * H2, H + H2};
    int x = front(&g, N, 2, shape);
    nn_error err;
    int in[3] = {x, nn_graph_param(&g, "lstm1.weight", 2, w1, 1, &err), nn_graph_param(&g, "lstm1.bias", 1, w1, 0, &err)};
    nn_op_args args = {.all_steps = _i >= 1};
    int y = nn_graph_op_args(&g, NN_OP_LSTM, "lstm1", in, 3, &args, &err);
    if (_i == 2) {
        int in2[3] = {y, nn_graph_param(&g, "lstm2.weight", 2, w2, 1, &err),
                      nn_graph_param(&g, "lstm2.bias", 1, w2, 0, &err)};
        args.all_steps = 0;
        y = nn_graph_op_args(&g, NN_OP_LSTM, "lstm2", in2, 3, &args, &err);
    }
    ck_assert_msg(y >= 0, "%s", err.msg);
    finish(&g, y, N, 20 + (uint64_t)_i);
    double worst = worst_gradient_error(&g, N);
    ck_assert_msg(worst < 1e-3, "case %d: worst relative error %g", _i, worst);
    nn_graph_free(&g);
}
END_TEST

/* The input gradient of the first layer is skipped (nobody needs it), but
 * the weights' gradients must not change because of it. */
START_TEST(test_lstm_weight_gradient_without_input_gradient)
{
    enum { N = 2, T = 6, F = 2, H = 3 };
    nn_graph g;
    int y = lstm_graph(&g, N, T, F, H, 0);
    finish(&g, y, N, 30);
    double worst = worst_gradient_error(&g, N);
    ck_assert_msg(worst < 1e-3, "worst relative error %g", worst);
    nn_graph_free(&g);
}
END_TEST

/* A smaller batch than the graph was built for reads the same sample data. */
START_TEST(test_lstm_batch_smaller_than_max)
{
    enum { N = 4, T = 3, F = 2, H = 2 };
    nn_graph g;
    int y = lstm_graph(&g, N, T, F, H, 1);
    finish(&g, y, N, 40);
    nn_graph_forward(&g, N);
    float first[T * H];
    memcpy(first, g.nodes[y].value, sizeof first);
    nn_graph_forward(&g, 1);
    for (int j = 0; j < T * H; j++)
        ck_assert_close(g.nodes[y].value[j], first[j], 1e-6);
    nn_graph_free(&g);
}
END_TEST

/* ---- specs -------------------------------------------------------------- */

START_TEST(test_lstm_preset)
{
    char path[4096];
    const char *root = getenv("NNLAB_SOURCE_ROOT");
    snprintf(path, sizeof path, "%s/assets/models/lstm.spec", root ? root : ".");
    nn_spec spec;
    nn_error err;
    ck_assert_msg(nn_spec_load(&spec, path, &err) == NN_OK, "%s", err.msg);
    nn_graph g;
    ck_assert_msg(nn_model_build(&g, &spec, &spec.hp, 2, &err) == NN_OK, "%s", err.msg);
    /* 28 rows of 28 pixels into 128 units: W[512, 156], b[512]; dense 128 -> 10 */
    ck_assert_uint_eq(g.param_count, 512 * 156 + 512 + 1290);
    const nn_node *b = &g.nodes[nn_graph_find(&g, "lstm1.bias")];
    for (int j = 0; j < 512; j++) /* forget gates start at 1, the rest at 0 */
        ck_assert_float_eq(b->value[j], j >= 128 && j < 256 ? 1.0f : 0.0f);
    const nn_node *w = &g.nodes[nn_graph_find(&g, "lstm1.weight")];
    float bound = 1 / sqrtf(128), largest = 0;
    for (size_t j = 0; j < w->size; j++)
        largest = fmaxf(largest, fabsf(w->value[j]));
    ck_assert_float_le(largest, bound); /* PyTorch's U(-1/sqrt(H), 1/sqrt(H)) */
    ck_assert_float_gt(largest, 0.9f * bound);
    nn_graph_free(&g);
    nn_spec_free(&spec);
}
END_TEST

START_TEST(test_lstm_spec_every_step)
{
    nn_spec spec;
    nn_error err;
    ck_assert_msg(nn_spec_parse(&spec, "input 1x28x28\nlstm 16 seq=1\nlstm 8\ndense 10\nsoftmax_xent\n", "t.spec",
                                &err) == NN_OK,
                  "%s", err.msg);
    nn_graph g;
    ck_assert_msg(nn_model_build(&g, &spec, &spec.hp, 2, &err) == NN_OK, "%s", err.msg);
    const nn_node *l1 = &g.nodes[nn_graph_find(&g, "lstm1")], *l2 = &g.nodes[nn_graph_find(&g, "lstm2")];
    ck_assert_int_eq(l1->ndim, 2);
    ck_assert_int_eq(l1->dim[0], 28);
    ck_assert_int_eq(l1->dim[1], 16);
    ck_assert_int_eq(l2->ndim, 1);
    ck_assert_int_eq(l2->dim[0], 8);
    ck_assert_int_eq(g.nodes[nn_graph_find(&g, "lstm2.weight")].dim[1], 16 + 8);
    nn_graph_free(&g);
    nn_spec_free(&spec);
}
END_TEST

static const struct {
    const char *text, *message;
} spec_errors[] = {
    {"input 1x28x28\nlstm\nsoftmax_xent\n", "t.spec:2:6: expected the number of hidden units"},
    {"input 1x28x28\nlstm 0\nsoftmax_xent\n", "t.spec:2:6: expected the number of hidden units"},
    {"input 1x28x28\nlstm 64 seq=2\nsoftmax_xent\n", "t.spec:2:13: expected seq=0 or seq=1"},
    {"input 1x28x28\nlstm 64 bias=0\nsoftmax_xent\n", "t.spec:2:9: unknown option 'bias' for lstm"},
};

START_TEST(test_lstm_spec_errors)
{
    nn_spec spec;
    nn_error err;
    ck_assert_int_eq(nn_spec_parse(&spec, spec_errors[_i].text, "t.spec", &err), NN_EINPUT);
    ck_assert_msg(strstr(err.msg, spec_errors[_i].message), "got '%s', expected '%s'", err.msg,
                  spec_errors[_i].message);
}
END_TEST

static Suite *lstm_suite(void)
{
    Suite *suite = suite_create("lstm");
    TCase *op = tcase_create("op");
    tcase_add_test(op, test_lstm_two_steps_by_hand);
    tcase_add_loop_test(op, test_lstm_matches_reference, 0, 2);
    tcase_add_loop_test(op, test_lstm_gradient_check, 0, 3);
    tcase_add_test(op, test_lstm_weight_gradient_without_input_gradient);
    tcase_add_test(op, test_lstm_batch_smaller_than_max);
    suite_add_tcase(suite, op);
    TCase *spec = tcase_create("spec");
    tcase_add_test(spec, test_lstm_preset);
    tcase_add_test(spec, test_lstm_spec_every_step);
    tcase_add_loop_test(spec, test_lstm_spec_errors, 0, (int)(sizeof spec_errors / sizeof spec_errors[0]));
    suite_add_tcase(suite, spec);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(lstm_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
