/* Central-difference gradient checks for single ops and whole models. */
#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The loss with the dropout stream rewound, so every evaluation draws the
 * same masks. */
static double loss_at(nn_graph *g, int n, const nn_rng *rng)
{
    g->rng = *rng;
    nn_graph_forward(g, n);
    return nn_graph_loss(g);
}

/* A fingerprint of which side of its kink every relu input is on.  Where
 * w - h and w + h give different fingerprints, the difference quotient
 * straddles a kink and says nothing about the derivative at w. */
static uint64_t kink_signature(const nn_graph *g, int n)
{
    uint64_t hash = 1469598103934665603ULL;
    for (int i = 0; i < g->n_nodes; i++) {
        const nn_node *node = &g->nodes[i];
        if (node->op != NN_OP_RELU)
            continue;
        for (size_t j = 0; j < (size_t)n * node->size; j++)
            hash = (hash ^ (uint64_t)(node->value[j] > 0.0f) ^ (j << 1)) * 1099511628211ULL;
    }
    return hash;
}

double nn_gradcheck_graph(nn_graph *g, int n, double h, int max_coords, uint64_t seed,
                          nn_gradcheck_result *out)
{
    nn_rng saved = g->rng, pick;
    nn_rng_seed(&pick, seed);
    loss_at(g, n, &saved);
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
            double plus = loss_at(g, n, &saved);
            uint64_t plus_kinks = kink_signature(g, n);
            p->value[i] = (float)(w - h);
            double minus = loss_at(g, n, &saved);
            uint64_t minus_kinks = kink_signature(g, n);
            p->value[i] = w;
            if (plus_kinks != minus_kinks) {
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
    g->rng = saved;
    loss_at(g, n, &saved); /* leave the activations of the unperturbed weights */
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

int nn_gradcheck_op(int op, uint64_t seed, nn_gradcheck_result *out, nn_error *err)
{
    enum { N = 3, IN = 6, HID = 4 };
    nn_graph g;
    nn_rng rng;
    nn_rng_seed(&rng, seed);
    if (nn_graph_init(&g, N, err))
        return err ? err->code : NN_ERUNTIME;
    int in_dim = IN, w_dim[2] = {HID, IN}, b_dim = HID;
    int x = nn_graph_input(&g, "input", 1, &in_dim, err);
    int w = nn_graph_param(&g, "weight", 2, w_dim, 1, err);
    int pair[2] = {x, w};
    int z = nn_graph_op(&g, NN_OP_MATMUL, "matmul", pair, 2, 0, err);
    int y = z, b = -1, loss_op = NN_OP_MSE;
    switch (op) {
    case NN_OP_MATMUL:
        break;
    case NN_OP_BIAS:
        b = nn_graph_param(&g, "bias", 1, &b_dim, 0, err);
        pair[0] = z;
        pair[1] = b;
        y = nn_graph_op(&g, NN_OP_BIAS, "bias_add", pair, 2, 0, err);
        break;
    case NN_OP_RELU:
    case NN_OP_TANH:
    case NN_OP_SIGMOID:
        y = nn_graph_op(&g, op, nn_op_name(op), &z, 1, 0, err);
        break;
    case NN_OP_DROPOUT:
        y = nn_graph_op(&g, op, "dropout", &z, 1, 0.5f, err);
        break;
    case NN_OP_RESHAPE: {
        int shape[2] = {2, 2};
        y = nn_graph_reshape(&g, z, "reshape", 2, shape, err);
        break;
    }
    case NN_OP_SOFTMAX_XENT:
    case NN_OP_SIGMOID_BCE:
    case NN_OP_MSE:
        loss_op = op;
        break;
    default:
        nn_graph_free(&g);
        return nn_error_set(err, NN_EINPUT, "gradcheck: op '%s' has no gradient to check", nn_op_name(op));
    }
    int size = HID;
    int t = y < 0 ? -1 : nn_graph_input(&g, "target", 1, &size, err);
    pair[0] = y;
    pair[1] = t;
    g.output = y;
    g.target = t;
    g.loss = t < 0 ? -1 : nn_graph_op(&g, loss_op, "loss", pair, 2, 0, err);
    if (g.loss < 0 || nn_graph_finalise(&g, err)) {
        nn_graph_free(&g);
        return err ? err->code : NN_ERUNTIME;
    }
    g.training = 1;
    nn_rng_seed(&g.rng, seed + 1);
    fill_uniform(g.nodes[x].value, (size_t)N * IN, -1, 1, &rng);
    fill_uniform(g.nodes[w].value, (size_t)HID * IN, -1, 1, &rng);
    if (b >= 0)
        fill_uniform(g.nodes[b].value, HID, -0.5f, 0.5f, &rng);
    float *target = g.nodes[t].value;
    for (int s = 0; s < N; s++) {
        float *row = target + s * HID;
        if (loss_op == NN_OP_SOFTMAX_XENT) { /* a soft label: non-negative, sums to 1 */
            float sum = 0;
            fill_uniform(row, HID, 0.1f, 1, &rng);
            for (int k = 0; k < HID; k++)
                sum += row[k];
            for (int k = 0; k < HID; k++)
                row[k] /= sum;
        } else {
            fill_uniform(row, HID, 0, 1, &rng);
        }
    }
    if (op == NN_OP_RELU)
        avoid_kinks(&g, N, z, w, &rng);
    nn_gradcheck_result per_tensor[2];
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
