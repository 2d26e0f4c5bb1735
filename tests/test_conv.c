/* Tests for nn/ops_conv.c: conv2d against a direct convolution written out
 * as the textbook sum, max and average pooling on tiny images worked by
 * hand, central-difference gradient checks, and the conv and pooling
 * layers of the spec format (the lenet preset, errors with line:column).
 *
 * Tolerances: forward and backward against the double-precision reference
 * within 1e-5 relative (float32 sums of at most a few hundred products);
 * gradient checks below 1e-3, where a wrong backward measures 1e-1. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph_helpers.h"
#include "model.h"
#include "ops.h"
#include "parallel.h"
#include "spec.h"

typedef struct conv_case {
    int c, h, w, o, kh, kw, stride, pad;
} conv_case;

static const conv_case cases[] = {
    {1, 6, 6, 2, 3, 3, 1, 0},  /* valid convolution */
    {2, 7, 5, 3, 3, 3, 1, 1},  /* padded, not square */
    {3, 8, 8, 4, 5, 5, 1, 2},  /* "same" padding of a 5x5 kernel */
    {2, 9, 9, 3, 3, 3, 2, 1},  /* strided */
    {2, 8, 7, 2, 2, 3, 2, 0},  /* rectangular kernel, stride 2 */
    {1, 28, 28, 6, 5, 5, 1, 2}, /* lenet's first layer */
    {2, 5, 5, 2, 3, 3, 3, 2},  /* stride larger than the kernel's reach into the padding */
    {6, 14, 14, 16, 5, 5, 1, 0}, /* lenet's second layer */
    {4, 9, 9, 13, 3, 3, 1, 1}, /* channel counts off the kernels' block sizes */
    {3, 7, 7, 8, 3, 3, 1, 1},  /* 4-channel blocks of 24 positions and a tail of 16 */
    {3, 7, 6, 7, 1, 1, 1, 0},  /* 1x1 kernel */
    {2, 6, 5, 3, 3, 2, 1, 1},  /* pad = kw - 1 */
    {1, 5, 5, 2, 3, 3, 1, 3},  /* padding wider than the kernel */
};
#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

/* Loop tests run every case twice: _i < N_CASES with the direct kernels
 * (where the CPU has them), the rest lowered to im2col and sgemm. */
static const conv_case *case_for(int i)
{
    nn_conv_use_direct(i < N_CASES);
    return &cases[i % N_CASES];
}

static int out_size(int in, int k, int stride, int pad)
{
    return (in + 2 * pad - k) / stride + 1;
}

/* y[O,OH,OW] = sum over c, i, j of W[o,c,i,j] x[c, oh*s-p+i, ow*s-p+j]. */
static void conv_direct(const conv_case *k, const float *x, const float *w, double *y)
{
    int oh = out_size(k->h, k->kh, k->stride, k->pad), ow = out_size(k->w, k->kw, k->stride, k->pad);
    for (int o = 0; o < k->o; o++)
        for (int r = 0; r < oh; r++)
            for (int q = 0; q < ow; q++) {
                double sum = 0;
                for (int c = 0; c < k->c; c++)
                    for (int i = 0; i < k->kh; i++)
                        for (int j = 0; j < k->kw; j++) {
                            int ih = r * k->stride - k->pad + i, iw = q * k->stride - k->pad + j;
                            if (ih >= 0 && ih < k->h && iw >= 0 && iw < k->w)
                                sum += (double)w[((o * k->c + c) * k->kh + i) * k->kw + j] *
                                       x[(c * k->h + ih) * k->w + iw];
                        }
                y[(o * oh + r) * ow + q] = sum;
            }
}

/* The same sum differentiated: dx and dW (accumulated) from dy. */
static void conv_direct_backward(const conv_case *k, const float *x, const float *w, const float *dy, double *dx,
                                 double *dw)
{
    int oh = out_size(k->h, k->kh, k->stride, k->pad), ow = out_size(k->w, k->kw, k->stride, k->pad);
    for (int o = 0; o < k->o; o++)
        for (int r = 0; r < oh; r++)
            for (int q = 0; q < ow; q++)
                for (int c = 0; c < k->c; c++)
                    for (int i = 0; i < k->kh; i++)
                        for (int j = 0; j < k->kw; j++) {
                            int ih = r * k->stride - k->pad + i, iw = q * k->stride - k->pad + j;
                            if (ih < 0 || ih >= k->h || iw < 0 || iw >= k->w)
                                continue;
                            int wi = ((o * k->c + c) * k->kh + i) * k->kw + j, xi = (c * k->h + ih) * k->w + iw;
                            double d = dy[(o * oh + r) * ow + q];
                            dx[xi] += d * w[wi];
                            dw[wi] += d * x[xi];
                        }
}

/* input[C,H,W] -> bias b[C] (zero: makes the conv's input need a gradient)
 * -> conv with its own bias -> mse.  Returns the conv node; *xin is the
 * node feeding it. */
static int conv_graph(nn_graph *g, const conv_case *k, int n, int *xin)
{
    nn_error err;
    ck_assert_int_eq(nn_graph_init(g, n, &err), NN_OK);
    int shape[3] = {k->c, k->h, k->w}, wshape[4] = {k->o, k->c, k->kh, k->kw};
    g->input = nn_graph_input(g, "input", 3, shape, &err);
    int b = nn_graph_param(g, "shift", 1, &k->c, 0, &err);
    int pair[2] = {g->input, b};
    *xin = nn_graph_op(g, NN_OP_BIAS, "shifted", pair, 2, 0, &err);
    int in[3] = {*xin, nn_graph_param(g, "conv.weight", 4, wshape, 1, &err),
                 nn_graph_param(g, "conv.bias", 1, &k->o, 0, &err)};
    nn_op_args args = {.stride = k->stride, .pad = k->pad};
    int y = nn_graph_op_args(g, NN_OP_CONV2D, "conv", in, 3, &args, &err);
    ck_assert_msg(y >= 0, "%s", err.msg);
    return y;
}

START_TEST(test_conv_matches_direct_convolution)
{
    const conv_case *k = case_for(_i);
    enum { N = 11 }; /* a group of 8 in the lanes and 3 more */
    nn_graph g;
    int xin, y = conv_graph(&g, k, N, &xin);
    finish(&g, y, N, 100 + (uint64_t)(_i % N_CASES));
    memset(g.nodes[g.nodes[xin].in[1]].value, 0, (size_t)k->c * sizeof(float)); /* the zero shift */
    nn_graph_forward(&g, N);
    nn_graph_backward(&g);

    const nn_node *conv = &g.nodes[y], *x = &g.nodes[g.input], *w = &g.nodes[conv->in[1]], *b = &g.nodes[conv->in[2]];
    int oh = out_size(k->h, k->kh, k->stride, k->pad), ow = out_size(k->w, k->kw, k->stride, k->pad);
    ck_assert_int_eq(conv->dim[0], k->o);
    ck_assert_int_eq(conv->dim[1], oh);
    ck_assert_int_eq(conv->dim[2], ow);
    size_t xs = x->size, ys = conv->size;
    double *ref = calloc(ys, sizeof *ref), *dx = calloc(xs, sizeof *dx), *dw = calloc(w->size, sizeof *dw);
    double *db = calloc((size_t)k->o, sizeof *db);
    float *dy = malloc(ys * sizeof *dy);
    const float *t = g.nodes[g.target].value;
    for (int s = 0; s < N; s++) {
        conv_direct(k, x->value + s * xs, w->value, ref);
        for (size_t i = 0; i < ys; i++) {
            size_t o = i / (size_t)(oh * ow);
            ck_assert_close(conv->value[s * ys + i], ref[i] + b->value[o], 1e-5);
            dy[i] = (conv->value[s * ys + i] - t[s * ys + i]) / N; /* mse's gradient */
            db[o] += dy[i];
        }
        memset(dx, 0, xs * sizeof *dx);
        conv_direct_backward(k, x->value + s * xs, w->value, dy, dx, dw);
        for (size_t i = 0; i < xs; i++)
            ck_assert_close(g.nodes[xin].grad[s * xs + i], dx[i], 1e-5);
    }
    for (size_t i = 0; i < w->size; i++)
        ck_assert_close(w->grad[i], dw[i], 1e-5);
    for (int o = 0; o < k->o; o++)
        ck_assert_close(b->grad[o], db[o], 1e-5);
    free(ref);
    free(dx);
    free(dw);
    free(db);
    free(dy);
    nn_graph_free(&g);
}
END_TEST

START_TEST(test_conv_gradient_check)
{
    const conv_case *k = case_for(_i);
    if (k->h * k->w > 100) /* the 28x28 case costs too many loss evaluations */
        return;
    enum { N = 2 };
    nn_graph g;
    int shape[3] = {k->c, k->h, k->w}, wshape[4] = {k->o, k->c, k->kh, k->kw};
    int x = front(&g, N, 3, shape);
    nn_error err;
    /* odd cases without the optional bias */
    int in[3] = {x, nn_graph_param(&g, "conv.weight", 4, wshape, 1, &err),
                 _i % 2 ? -1 : nn_graph_param(&g, "conv.bias", 1, &k->o, 0, &err)};
    nn_op_args args = {.stride = k->stride, .pad = k->pad};
    int y = nn_graph_op_args(&g, NN_OP_CONV2D, "conv", in, _i % 2 ? 2 : 3, &args, &err);
    ck_assert_msg(y >= 0, "%s", err.msg);
    finish(&g, y, N, 200 + (uint64_t)(_i % N_CASES));
    double worst = worst_gradient_error(&g, N);
    ck_assert_msg(worst < 1e-3, "case %d: worst relative error %g", _i, worst);
    nn_graph_free(&g);
}
END_TEST

/* The two threads split the batch: outputs, dx and the bias gradient must
 * be bitwise the same as on one thread, and the weight gradient the same up
 * to summation order. */
START_TEST(test_conv_two_threads_match_one)
{
    const conv_case *k = &cases[2];
    enum { N = 21 }; /* groups of 8 and short ones, split differently on two threads */
    nn_conv_use_direct(1);
    nn_graph g;
    int xin, y = conv_graph(&g, k, N, &xin);
    finish(&g, y, N, 300);
    nn_node *conv = &g.nodes[y], *w = &g.nodes[conv->in[1]], *b = &g.nodes[conv->in[2]];
    float *y1 = malloc(N * conv->size * sizeof *y1), *dw1 = malloc(w->size * sizeof *dw1);
    float *db1 = malloc(b->size * sizeof *db1);
    float *dx1 = malloc(N * g.nodes[xin].size * sizeof *dx1);
    nn_parallel_set_threads(1);
    nn_graph_forward(&g, N);
    nn_graph_backward(&g);
    memcpy(y1, conv->value, N * conv->size * sizeof *y1);
    memcpy(dw1, w->grad, w->size * sizeof *dw1);
    memcpy(db1, b->grad, b->size * sizeof *db1);
    memcpy(dx1, g.nodes[xin].grad, N * g.nodes[xin].size * sizeof *dx1);
    nn_parallel_set_threads(2);
    nn_graph_forward(&g, N);
    nn_graph_backward(&g);
    nn_parallel_set_threads(1);
    ck_assert_mem_eq(conv->value, y1, N * conv->size * sizeof *y1);
    ck_assert_mem_eq(g.nodes[xin].grad, dx1, N * g.nodes[xin].size * sizeof *dx1);
    ck_assert_mem_eq(b->grad, db1, b->size * sizeof *db1);
    for (size_t i = 0; i < w->size; i++)
        ck_assert_close(w->grad[i], dw1[i], 1e-5);
    free(y1);
    free(dw1);
    free(db1);
    free(dx1);
    nn_graph_free(&g);
}
END_TEST

/* A sample's output is the same, bit for bit, whether it runs in a group of
 * 8 in the lanes or alone on the shifted planes (batch-1 inference). */
START_TEST(test_conv_alone_matches_group)
{
    const conv_case *k = &cases[_i];
    enum { N = 9 };
    nn_conv_use_direct(1);
    nn_parallel_set_threads(1);
    nn_graph g;
    int xin, y = conv_graph(&g, k, N, &xin);
    finish(&g, y, N, 400 + (uint64_t)_i);
    nn_node *conv = &g.nodes[y];
    nn_graph_forward(&g, N);
    float *grouped = malloc(N * conv->size * sizeof *grouped);
    memcpy(grouped, conv->value, N * conv->size * sizeof *grouped);
    nn_node *in = &g.nodes[g.input];
    for (int s = 0; s < N; s += 4) { /* samples 0 and 4 ran in the lanes, 8 alone */
        memcpy(in->value, in->value + s * in->size, in->size * sizeof(float));
        nn_graph_forward(&g, 1);
        ck_assert_mem_eq(conv->value, grouped + s * conv->size, conv->size * sizeof *grouped);
    }
    free(grouped);
    nn_graph_free(&g);
}
END_TEST

/* ---- pooling ------------------------------------------------------------ */

/* input[1,H,W] -> bias (zero) -> pool -> mse; x values set by the caller. */
static int pool_graph(nn_graph *g, int op, int h, int w, int k, int stride, int *xin)
{
    nn_error err;
    ck_assert_int_eq(nn_graph_init(g, 1, &err), NN_OK);
    int shape[3] = {1, h, w}, one = 1;
    g->input = nn_graph_input(g, "input", 3, shape, &err);
    int pair[2] = {g->input, nn_graph_param(g, "shift", 1, &one, 0, &err)};
    *xin = nn_graph_op(g, NN_OP_BIAS, "shifted", pair, 2, 0, &err);
    nn_op_args args = {.kh = k, .kw = k, .stride = stride};
    int y = nn_graph_op_args(g, op, "pool", xin, 1, &args, &err);
    ck_assert_msg(y >= 0, "%s", err.msg);
    finish(g, y, 1, 400);
    memset(g->nodes[g->nodes[*xin].in[1]].value, 0, sizeof(float));
    return y;
}

static const float image4[16] = {
    1, 5, 2, 0,  /* 2x2 windows: max 5, 3; mean 2.25, 1.5 */
    3, 0, 3, 1,
    -1, -2, 7, 8, /* max 0, 9; mean -1.75, 7.25 */
    0, -4, 9, 5,
};

START_TEST(test_maxpool_by_hand)
{
    nn_graph g;
    int xin, y = pool_graph(&g, NN_OP_MAXPOOL, 4, 4, 2, 2, &xin);
    memcpy(g.nodes[g.input].value, image4, sizeof image4);
    float *t = g.nodes[g.target].value;
    t[0] = t[1] = t[2] = t[3] = 0;
    nn_graph_forward(&g, 1);
    const float want[4] = {5, 3, 0, 9};
    ck_assert_mem_eq(g.nodes[y].value, want, sizeof want);
    nn_graph_backward(&g);
    /* mse: dy = y - t = y; each lands on its window's maximum */
    const float dx[16] = {0, 5, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 9, 0};
    ck_assert_mem_eq(g.nodes[xin].grad, dx, sizeof dx);
    nn_graph_free(&g);
}
END_TEST

/* Overlapping windows (3x3, stride 1): the 9 is the maximum of two, so its
 * gradient is the sum of theirs. */
START_TEST(test_maxpool_overlapping_windows_accumulate)
{
    nn_graph g;
    int xin, y = pool_graph(&g, NN_OP_MAXPOOL, 4, 4, 3, 1, &xin);
    memcpy(g.nodes[g.input].value, image4, sizeof image4);
    float *t = g.nodes[g.target].value;
    t[0] = 8;
    t[1] = 7;
    t[2] = 6;
    t[3] = 5;
    nn_graph_forward(&g, 1);
    const float want[4] = {7, 8, 9, 9};
    ck_assert_mem_eq(g.nodes[y].value, want, sizeof want);
    nn_graph_backward(&g);
    const float *dx = g.nodes[xin].grad; /* dy = y - t = (-1, 1, 3, 4) */
    ck_assert_float_eq(dx[10], -1);      /* the 7 */
    ck_assert_float_eq(dx[11], 1);       /* the 8 */
    ck_assert_float_eq(dx[14], 3 + 4);   /* the 9 */
    float total = 0;
    for (int i = 0; i < 16; i++)
        total += fabsf(dx[i]);
    ck_assert_float_eq(total, 9);
    nn_graph_free(&g);
}
END_TEST

START_TEST(test_avgpool_by_hand)
{
    nn_graph g;
    int xin, y = pool_graph(&g, NN_OP_AVGPOOL, 4, 4, 2, 2, &xin);
    memcpy(g.nodes[g.input].value, image4, sizeof image4);
    float *t = g.nodes[g.target].value;
    t[0] = 2.25f;
    t[1] = 0.5f;
    t[2] = -0.75f;
    t[3] = 7.25f;
    nn_graph_forward(&g, 1);
    const float want[4] = {2.25f, 1.5f, -1.75f, 7.25f};
    ck_assert_mem_eq(g.nodes[y].value, want, sizeof want);
    nn_graph_backward(&g);
    /* dy = (0, 1, -1, 0), spread as a quarter over each window */
    const float *dx = g.nodes[xin].grad;
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) {
            float d = r < 2 ? (c < 2 ? 0.0f : 0.25f) : (c < 2 ? -0.25f : 0.0f);
            ck_assert_float_eq(dx[r * 4 + c], d);
        }
    nn_graph_free(&g);
}
END_TEST

/* A 5x5 image in 2x2 windows: the last row and column are dropped. */
START_TEST(test_pool_drops_partial_windows)
{
    nn_graph g;
    int xin, y = pool_graph(&g, NN_OP_MAXPOOL, 5, 5, 2, 2, &xin);
    ck_assert_int_eq(g.nodes[y].dim[1], 2);
    ck_assert_int_eq(g.nodes[y].dim[2], 2);
    float *x = g.nodes[g.input].value;
    for (int i = 0; i < 25; i++)
        x[i] = i % 5 == 4 || i >= 20 ? 100.0f : (float)i;
    nn_graph_forward(&g, 1);
    const float want[4] = {6, 8, 16, 18};
    ck_assert_mem_eq(g.nodes[y].value, want, sizeof want);
    nn_graph_free(&g);
}
END_TEST

/* A difference quotient that moves a window's argmax is meaningless: draw
 * the front's weights again until every window's two largest values are
 * further apart than the step can bridge. */
static void separate_window_maxima(nn_graph *g, int n, int pool)
{
    const nn_node *y = &g->nodes[pool], *x = &g->nodes[y->in[0]];
    nn_node *w = nn_graph_param_node(g, 0);
    nn_rng rng;
    nn_rng_seed(&rng, 99);
    int h = x->dim[1], wd = x->dim[2], k = y->args.kh, s = y->args.stride;
    for (int attempt = 0; attempt < 1000; attempt++) {
        nn_graph_forward(g, n);
        float gap = INFINITY;
        for (int q = 0; q < n * x->dim[0]; q++)
            for (int i = 0; i < y->dim[1]; i++)
                for (int j = 0; j < y->dim[2]; j++) {
                    float first = -INFINITY, second = -INFINITY;
                    for (int a = 0; a < k; a++)
                        for (int b = 0; b < k; b++) {
                            float v = x->value[(size_t)q * h * wd + (size_t)(i * s + a) * wd + j * s + b];
                            second = v > first ? first : fmaxf(second, v);
                            first = fmaxf(first, v);
                        }
                    gap = fminf(gap, first - second);
                }
        if (gap > 0.03f)
            return;
        fill_uniform(w->value, w->size, -1, 1, &rng);
    }
    ck_abort_msg("no weights found that keep the windows' maxima apart");
}

START_TEST(test_pool_gradient_check)
{
    /* _i: 0 max 2x2/2, 1 max 3x3/2, 2 avg 2x2/2, 3 avg 3x3/1 */
    int op = _i < 2 ? NN_OP_MAXPOOL : NN_OP_AVGPOOL, k = _i % 2 ? 3 : 2, stride = _i == 3 ? 1 : 2;
    enum { N = 2 };
    nn_graph g;
    int shape[3] = {2, 6, 6};
    int x = front(&g, N, 3, shape);
    nn_error err;
    nn_op_args args = {.kh = k, .kw = k, .stride = stride};
    int y = nn_graph_op_args(&g, op, "pool", &x, 1, &args, &err);
    ck_assert_msg(y >= 0, "%s", err.msg);
    finish(&g, y, N, 500 + (uint64_t)_i);
    if (op == NN_OP_MAXPOOL)
        separate_window_maxima(&g, N, y);
    double worst = worst_gradient_error(&g, N);
    ck_assert_msg(worst < 1e-3, "case %d: worst relative error %g", _i, worst);
    nn_graph_free(&g);
}
END_TEST

/* ---- specs -------------------------------------------------------------- */

static int parse(nn_spec *spec, const char *text, nn_error *err)
{
    return nn_spec_parse(spec, text, "t.spec", err);
}

START_TEST(test_lenet_preset_shapes)
{
    char path[4096];
    const char *root = getenv("NNLAB_SOURCE_ROOT");
    snprintf(path, sizeof path, "%s/assets/models/lenet.spec", root ? root : ".");
    nn_spec spec;
    nn_error err;
    ck_assert_msg(nn_spec_load(&spec, path, &err) == NN_OK, "%s", err.msg);
    nn_graph g;
    ck_assert_msg(nn_model_build(&g, &spec, &spec.hp, 4, &err) == NN_OK, "%s", err.msg);
    /* conv1 6*25+6, conv2 16*150+16, 400*120+120, 120*84+84, 84*10+10 */
    ck_assert_uint_eq(g.param_count, 156 + 2416 + 48120 + 10164 + 850);
    const int expect[][4] = {{NN_OP_CONV2D, 6, 28, 28}, {NN_OP_MAXPOOL, 6, 14, 14},
                             {NN_OP_CONV2D, 16, 10, 10}, {NN_OP_MAXPOOL, 16, 5, 5}};
    int found = 0;
    for (int i = 0; i < g.n_nodes && found < 4; i++) {
        const nn_node *node = &g.nodes[i];
        if (node->op != expect[found][0])
            continue;
        ck_assert_int_eq(node->dim[0], expect[found][1]);
        ck_assert_int_eq(node->dim[1], expect[found][2]);
        ck_assert_int_eq(node->dim[2], expect[found][3]);
        found++;
    }
    ck_assert_int_eq(found, 4);
    ck_assert_int_ge(nn_graph_find(&g, "conv1.bias"), 0);
    nn_graph_free(&g);
    nn_spec_free(&spec);
}
END_TEST

START_TEST(test_conv_spec_options)
{
    nn_spec spec;
    nn_error err;
    ck_assert_msg(parse(&spec,
                        "input 3x32x32\n"
                        "conv 8 3x3 pad=same stride=2 init=he bias=0\n"
                        "avgpool 2x2 stride=1\n"
                        "maxpool 3\n"
                        "dense 10\nsoftmax_xent\n",
                        &err) == NN_OK,
                  "%s", err.msg);
    const nn_layer *conv = &spec.layers[1], *avg = &spec.layers[2], *max = &spec.layers[3];
    ck_assert_int_eq(conv->units, 8);
    ck_assert_int_eq(conv->kh, 3);
    ck_assert_int_eq(conv->pad, 1);
    ck_assert_int_eq(conv->stride, 2);
    ck_assert_int_eq(conv->bias, 0);
    ck_assert_int_eq(avg->stride, 1);
    ck_assert_int_eq(max->kh, 3);
    ck_assert_int_eq(max->stride, 3);
    nn_graph g;
    ck_assert_msg(nn_model_build(&g, &spec, &spec.hp, 2, &err) == NN_OK, "%s", err.msg);
    ck_assert_int_lt(nn_graph_find(&g, "conv1.bias"), 0);
    /* 32 -> conv stride 2: 16 -> avgpool 2/1: 15 -> maxpool 3: 5 */
    ck_assert_int_eq(g.nodes[g.output].dim[0], 10);
    ck_assert_int_eq(g.nodes[nn_graph_find(&g, "maxpool1")].dim[1], 5);
    nn_graph_free(&g);
    nn_spec_free(&spec);
}
END_TEST

static const struct {
    const char *text, *message;
} spec_errors[] = {
    {"input 1x28x28\nconv 6\nsoftmax_xent\n", "t.spec:2:8: expected the kernel size"},
    {"input 1x28x28\nconv 6 5y5\nsoftmax_xent\n", "t.spec:2:8: expected a window size"},
    {"input 1x28x28\nconv 6 5x5 pad=x\nsoftmax_xent\n", "t.spec:2:16: expected pad=N"},
    {"input 1x28x28\nconv 6 4x4 pad=same\nsoftmax_xent\n", "t.spec:2:16: pad=same needs a square kernel of odd"},
    {"input 1x28x28\nconv 6 5x5 dilation=2\nsoftmax_xent\n", "t.spec:2:12: unknown option 'dilation' for conv"},
    {"input 1x28x28\nmaxpool\nsoftmax_xent\n", "t.spec:2:9: expected the window size"},
    {"input 1x28x28\nmaxpool 2 stride=0\nsoftmax_xent\n", "t.spec:2:18: expected a stride"},
    {"input 1x28x28\nmaxpool 2 pad=1\nsoftmax_xent\n", "t.spec:2:11: unknown option 'pad' for maxpool"},
    {"input 1x28x28\nconv 6 5x5x5\nsoftmax_xent\n", "t.spec:2:8: expected a 2-D window"},
};

START_TEST(test_conv_spec_errors)
{
    nn_spec spec;
    nn_error err;
    ck_assert_int_eq(parse(&spec, spec_errors[_i].text, &err), NN_EINPUT);
    ck_assert_msg(strstr(err.msg, spec_errors[_i].message), "got '%s', expected '%s'", err.msg,
                  spec_errors[_i].message);
}
END_TEST

static const struct {
    const char *text, *message;
} build_errors[] = {
    {"input 784\nconv 6 5x5\ndense 10\nsoftmax_xent\n", "t.spec:2: conv1: conv needs images of shape CxHxW"},
    {"input 1x28x28\nconv 6 31x31\ndense 10\nsoftmax_xent\n", "t.spec:2: conv1: a 31x31 kernel does not fit"},
    {"input 1x4x4\nmaxpool 5\ndense 10\nsoftmax_xent\n", "t.spec:2: maxpool1: a 5x5 window does not fit"},
    {"input 1x28x28\ndense 10\navgpool 2\nsoftmax_xent\n", "t.spec:3: avgpool1: pooling needs images"},
};

START_TEST(test_conv_build_errors_name_the_line)
{
    nn_spec spec;
    nn_error err;
    ck_assert_msg(parse(&spec, build_errors[_i].text, &err) == NN_OK, "%s", err.msg);
    nn_graph g;
    ck_assert_int_eq(nn_model_build(&g, &spec, &spec.hp, 2, &err), NN_EINPUT);
    ck_assert_msg(strstr(err.msg, build_errors[_i].message), "got '%s', expected '%s'", err.msg,
                  build_errors[_i].message);
    nn_spec_free(&spec);
}
END_TEST

static Suite *conv_suite(void)
{
    Suite *suite = suite_create("conv");
    TCase *conv = tcase_create("conv2d");
    tcase_add_loop_test(conv, test_conv_matches_direct_convolution, 0, 2 * N_CASES);
    tcase_add_loop_test(conv, test_conv_gradient_check, 0, 2 * N_CASES);
    tcase_add_test(conv, test_conv_two_threads_match_one);
    tcase_add_loop_test(conv, test_conv_alone_matches_group, 0, N_CASES);
    suite_add_tcase(suite, conv);
    TCase *pool = tcase_create("pooling");
    tcase_add_test(pool, test_maxpool_by_hand);
    tcase_add_test(pool, test_maxpool_overlapping_windows_accumulate);
    tcase_add_test(pool, test_avgpool_by_hand);
    tcase_add_test(pool, test_pool_drops_partial_windows);
    tcase_add_loop_test(pool, test_pool_gradient_check, 0, 4);
    suite_add_tcase(suite, pool);
    TCase *spec = tcase_create("spec");
    tcase_add_test(spec, test_lenet_preset_shapes);
    tcase_add_test(spec, test_conv_spec_options);
    tcase_add_loop_test(spec, test_conv_spec_errors, 0, (int)(sizeof spec_errors / sizeof spec_errors[0]));
    tcase_add_loop_test(spec, test_conv_build_errors_name_the_line, 0,
                        (int)(sizeof build_errors / sizeof build_errors[0]));
    suite_add_tcase(suite, spec);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(conv_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
