/* Central-difference gradient checks for single ops and whole models. */
#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The loss with the dropout and noise streams rewound, so every evaluation
 * draws the same masks and the same latent noise; *kinks receives a hash of
 * every piecewise choice the forward pass made (which relu inputs were
 * positive, where each max-pooling window had its maximum). */
static double loss_at(nn_graph *g, int n, const nn_rng saved[2], uint64_t *kinks)
{
    g->rng = saved[0];
    g->noise_rng = saved[1];
    nn_graph_forward(g, n);
    uint64_t hash = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (int i = 0; i < g->n_nodes; i++) {
        const nn_node *node = &g->nodes[i];
        size_t len = (size_t)n * node->size;
        if (node->op == NN_OP_RELU)
            for (size_t k = 0; k < len; k++)
                hash = (hash ^ (uint64_t)(g->nodes[node->in[0]].value[k] > 0.0f)) * 0x100000001b3ULL;
        else if (node->op == NN_OP_MAXPOOL)
            for (size_t k = 0; k < len; k++)
                hash = (hash ^ (uint64_t)((const int32_t *)node->aux)[k]) * 0x100000001b3ULL;
    }
    *kinks = hash;
    return nn_graph_loss(g);
}

double nn_gradcheck_graph(nn_graph *g, int n, double h, int max_coords, uint64_t seed,
                          nn_gradcheck_result *out)
{
    nn_rng saved[2] = {g->rng, g->noise_rng}, pick;
    nn_rng_seed(&pick, seed);
    uint64_t kinks, plus_kinks, minus_kinks;
    loss_at(g, n, saved, &kinks);
    nn_graph_backward(g);
    double worst = 0;
    for (int t = 0; t < g->n_param_tensors; t++) {
        nn_node *p = nn_graph_param_node(g, t);
        int coords = p->size < (size_t)max_coords ? (int)p->size : max_coords;
        int compared = 0, skipped = 0;
        double diff = 0, a_norm = 0, n_norm = 0;
        for (int c = 0; c < coords; c++) {
            size_t i = coords == (int)p->size ? (size_t)c : nn_rng_below(&pick, (uint32_t)p->size);
            float w = p->value[i];
            p->value[i] = (float)(w + h);
            double plus = loss_at(g, n, saved, &plus_kinks);
            p->value[i] = (float)(w - h);
            double minus = loss_at(g, n, saved, &minus_kinks);
            p->value[i] = w;
            /* A difference across a kink measures the jump, not the slope. */
            if (plus_kinks != kinks || minus_kinks != kinks) {
                skipped++;
                continue;
            }
            double numeric = (plus - minus) / (2 * h), analytic = p->grad[i];
            diff += (analytic - numeric) * (analytic - numeric);
            a_norm += analytic * analytic;
            n_norm += numeric * numeric;
            compared++;
        }
        double denom = sqrt(a_norm) + sqrt(n_norm);
        double error = denom > 1e-12 ? sqrt(diff) / denom : 0;
        if (out) {
            snprintf(out[t].name, sizeof out[t].name, "%s", p->name);
            out[t].max_error = error;
            out[t].coords = compared;
            out[t].skipped = skipped;
        }
        worst = error > worst ? error : worst;
    }
    loss_at(g, n, saved, &kinks); /* leave the activations of the unperturbed weights */
    g->rng = saved[0];
    g->noise_rng = saved[1];
    return worst;
}

static void fill_uniform(float *x, size_t n, float lo, float hi, nn_rng *rng)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * nn_rng_uniform(rng);
}

/* Keep pre-activations away from relu's kink, where a difference quotient
 * straddling 0 is meaningless: nudge weights until every |z| > 0.05. */
static void avoid_kinks(nn_graph *g, int n, int z, int w, nn_rng *rng)
{
    nn_node *zn = &g->nodes[z], *wn = &g->nodes[w];
    for (int attempt = 0; attempt < 100; attempt++) {
        nn_graph_forward(g, n);
        int close = 0;
        for (size_t i = 0; i < (size_t)n * zn->size; i++)
            close |= fabsf(zn->value[i]) < 0.05f;
        if (!close)
            return;
        fill_uniform(wn->value, wn->size, -1, 1, rng);
    }
}

/* The smallest gap between the largest and second largest value of any
 * max-pooling window: below the step h, the argmax may change between the
 * two evaluations of a difference. */
static float smallest_window_gap(const nn_graph *g, int pool, int n)
{
    const nn_node *y = &g->nodes[pool], *x = &g->nodes[y->in[0]];
    const nn_op_args *a = &y->args;
    float smallest = INFINITY;
    for (int q = 0; q < n * y->dim[0]; q++)
        for (int i = 0; i < y->dim[1]; i++)
            for (int j = 0; j < y->dim[2]; j++) {
                const float *win = x->value + (size_t)q * x->dim[1] * x->dim[2] +
                                   (size_t)i * a->stride * x->dim[2] + (size_t)j * a->stride;
                float first = -INFINITY, second = -INFINITY;
                for (int r = 0; r < a->kh; r++)
                    for (int c = 0; c < a->kw; c++) {
                        float v = win[r * x->dim[2] + c];
                        if (v > first) {
                            second = first;
                            first = v;
                        } else if (v > second) {
                            second = v;
                        }
                    }
                smallest = fminf(smallest, first - second);
            }
    return smallest;
}

static void avoid_ties(nn_graph *g, int n, int pool, int w, nn_rng *rng)
{
    for (int attempt = 0; attempt < 200; attempt++) {
        nn_graph_forward(g, n);
        if (smallest_window_gap(g, pool, n) > 0.05f)
            return;
        fill_uniform(g->nodes[w].value, g->nodes[w].size, -1, 1, rng);
    }
}

/* Per-sample outputs of the matmul in front of the op under test. */
static int front_size(int op)
{
    switch (op) {
    case NN_OP_CONV2D:
    case NN_OP_AVGPOOL:
        return 2 * 5 * 5; /* read as 2x5x5 */
    case NN_OP_MAXPOOL:
        return 2 * 4 * 4;
    case NN_OP_LSTM:
        return 3 * 4; /* 3 steps of 4 features */
    default:
        return 4;
    }
}

/* The op under test on top of z; returns the node the loss scores (-1 on
 * error, or the loss itself for kl). */
static int build_op(nn_graph *g, int op, int z, nn_error *err)
{
    nn_op_args args = {.stride = 1};
    int y = z, pair[3];
    switch (op) {
    case NN_OP_MATMUL:
        return z;
    case NN_OP_BIAS: {
        int b_dim = 4;
        pair[0] = z;
        pair[1] = nn_graph_param(g, "bias", 1, &b_dim, 0, err);
        return pair[1] < 0 ? -1 : nn_graph_op(g, NN_OP_BIAS, "bias_add", pair, 2, 0, err);
    }
    case NN_OP_RELU:
    case NN_OP_TANH:
    case NN_OP_SIGMOID:
        return nn_graph_op(g, op, nn_op_name(op), &z, 1, 0, err);
    case NN_OP_DROPOUT:
        return nn_graph_op(g, op, "dropout", &z, 1, 0.5f, err);
    case NN_OP_RESHAPE: {
        int shape[2] = {2, 2};
        return nn_graph_reshape(g, z, "reshape", 2, shape, err);
    }
    case NN_OP_CONV2D: { /* 3 filters of 3x3 with a bias, stride 2, padding 1: 2x5x5 -> 3x3x3 */
        int image[3] = {2, 5, 5}, shape[4] = {3, 2, 3, 3}, channels = 3;
        y = nn_graph_reshape(g, z, "image", 3, image, err);
        pair[0] = y;
        pair[1] = nn_graph_param(g, "conv.weight", 4, shape, 1, err);
        pair[2] = nn_graph_param(g, "conv.bias", 1, &channels, 0, err);
        args.stride = 2;
        args.pad = 1;
        return y < 0 || pair[1] < 0 || pair[2] < 0 ? -1 : nn_graph_op_args(g, op, "conv2d", pair, 3, &args, err);
    }
    case NN_OP_MAXPOOL: /* overlapping 2x2 windows, stride 1: 2x4x4 -> 2x3x3 */
    case NN_OP_AVGPOOL: { /* 3x3 windows, stride 2: 2x5x5 -> 2x2x2 */
        int image[3] = {2, op == NN_OP_MAXPOOL ? 4 : 5, op == NN_OP_MAXPOOL ? 4 : 5};
        args.kh = args.kw = op == NN_OP_MAXPOOL ? 2 : 3;
        args.stride = op == NN_OP_MAXPOOL ? 1 : 2;
        y = nn_graph_reshape(g, z, "image", 3, image, err);
        return y < 0 ? -1 : nn_graph_op_args(g, op, nn_op_name(op), &y, 1, &args, err);
    }
    case NN_OP_LSTM: { /* every step of a 3-unit lstm into the last step of a 2-unit one */
        int seq[2] = {3, 4}, w1[2] = {12, 4 + 3}, w2[2] = {8, 3 + 2};
        y = nn_graph_reshape(g, z, "sequence", 2, seq, err);
        pair[0] = y;
        pair[1] = nn_graph_param(g, "lstm1.weight", 2, w1, 1, err);
        pair[2] = nn_graph_param(g, "lstm1.bias", 1, w1, 0, err);
        args.all_steps = 1;
        y = y < 0 || pair[2] < 0 ? -1 : nn_graph_op_args(g, op, "lstm1", pair, 3, &args, err);
        pair[0] = y;
        pair[1] = nn_graph_param(g, "lstm2.weight", 2, w2, 1, err);
        pair[2] = nn_graph_param(g, "lstm2.bias", 1, w2, 0, err);
        args.all_steps = 0;
        return y < 0 || pair[2] < 0 ? -1 : nn_graph_op_args(g, op, "lstm2", pair, 3, &args, err);
    }
    case NN_OP_GAUSSIAN:
        return nn_graph_op(g, op, "gaussian", &z, 1, 0, err);
    case NN_OP_KL:
        return g->loss = nn_graph_op(g, op, "kl", &z, 1, 0, err);
    case NN_OP_ADD: /* z + tanh(z): z's gradient is written once, then accumulated */
        pair[0] = z;
        pair[1] = nn_graph_op(g, NN_OP_TANH, "tanh", &z, 1, 0, err);
        return pair[1] < 0 ? -1 : nn_graph_op(g, op, "add", pair, 2, 0, err);
    default:
        return z;
    }
}

int nn_gradcheck_op(int op, uint64_t seed, nn_gradcheck_result *out, nn_error *err)
{
    enum { N = 3, IN = 6 };
    if (op <= NN_OP_PARAM || op >= NN_OP_COUNT)
        return nn_error_set(err, NN_EINPUT, "gradcheck: op '%s' has no gradient to check", nn_op_name(op));
    nn_graph g;
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    if (nn_graph_init(&g, N, err))
        return err ? err->code : NN_ERUNTIME;
    int in_dim = IN, w_dim[2] = {front_size(op), IN};
    int x = nn_graph_input(&g, "input", 1, &in_dim, err);
    int w = nn_graph_param(&g, "weight", 2, w_dim, 1, err);
    int pair[2] = {x, w};
    int z = w < 0 ? -1 : nn_graph_op(&g, NN_OP_MATMUL, "matmul", pair, 2, 0, err);
    int y = z < 0 ? -1 : build_op(&g, op, z, err);
    int loss_op = op == NN_OP_SOFTMAX_XENT || op == NN_OP_SIGMOID_BCE || op == NN_OP_MSE ? op : NN_OP_MSE;
    int t = -1;
    if (y >= 0 && g.loss < 0) {
        int size = (int)g.nodes[y].size;
        t = nn_graph_input(&g, "target", 1, &size, err);
        pair[0] = y;
        pair[1] = t;
        g.output = y;
        g.target = t;
        g.loss = t < 0 ? -1 : nn_graph_op(&g, loss_op, "loss", pair, 2, 0, err);
    }
    if (y < 0 || g.loss < 0 || nn_graph_finalise(&g, err)) {
        nn_graph_free(&g);
        return err ? err->code : NN_ERUNTIME;
    }
    g.training = 1;
    nn_rng_seed(&g.rng, seed + 1);
    nn_rng_seed(&g.noise_rng, seed + 3);
    fill_uniform(g.nodes[x].value, (size_t)N * IN, -1, 1, &rng);
    for (int p = 0; p < g.n_param_tensors; p++) { /* the front weight first, then the op's */
        nn_node *param = nn_graph_param_node(&g, p);
        float a = p == 0 ? 1.0f : param->ndim == 1 ? 0.5f : 0.7f;
        fill_uniform(param->value, param->size, -a, a, &rng);
    }
    if (t >= 0) {
        int k = (int)g.nodes[t].size;
        for (int s = 0; s < N; s++) {
            float *row = g.nodes[t].value + s * k;
            if (loss_op == NN_OP_SOFTMAX_XENT) { /* a soft label: non-negative, sums to 1 */
                float sum = 0;
                fill_uniform(row, (size_t)k, 0.1f, 1, &rng);
                for (int j = 0; j < k; j++)
                    sum += row[j];
                for (int j = 0; j < k; j++)
                    row[j] /= sum;
            } else {
                fill_uniform(row, (size_t)k, 0, 1, &rng);
            }
        }
    }
    if (op == NN_OP_RELU)
        avoid_kinks(&g, N, z, w, &rng);
    if (op == NN_OP_MAXPOOL)
        avoid_ties(&g, N, y, w, &rng);
    nn_gradcheck_result per_tensor[8];
    double worst = nn_gradcheck_graph(&g, N, NN_GRADCHECK_H_STEP, 1 << 30, seed + 2, per_tensor);
    snprintf(out->name, sizeof out->name, "%s", nn_op_name(op));
    out->max_error = worst;
    out->coords = out->skipped = 0;
    for (int i = 0; i < g.n_param_tensors; i++) {
        out->coords += per_tensor[i].coords;
        out->skipped += per_tensor[i].skipped;
    }
    nn_graph_free(&g);
    return NN_OK;
}
