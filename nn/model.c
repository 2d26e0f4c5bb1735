/* Turning a parsed spec into a graph, and the weight initialisers. */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Independent random streams derived from the one user seed. */
#define STREAM_INIT 0x1d1f2a3bULL
#define STREAM_DROPOUT 0x2e2f3a4bULL
#define STREAM_NOISE 0x5b5c6d6eULL

static uint64_t stream_seed(uint64_t seed, uint64_t stream)
{
    return seed * 0x9e3779b97f4a7c15ULL ^ stream;
}

/* The initialiser a layer with weights gets when neither spec nor options
 * say: He when a relu follows, Xavier otherwise (uniform for lstm, whose
 * gates are sigmoids and tanh). */
static int default_init(const nn_spec *spec, int layer)
{
    if (spec->layers[layer].kind == NN_LAYER_LSTM)
        return NN_INIT_UNIFORM;
    for (int i = layer + 1; i < spec->n_layers; i++) {
        int k = spec->layers[i].kind;
        if (k == NN_LAYER_DROPOUT || k == NN_LAYER_FLATTEN || k == NN_LAYER_RESHAPE || k == NN_LAYER_MAXPOOL ||
            k == NN_LAYER_AVGPOOL)
            continue;
        return k == NN_LAYER_RELU ? NN_INIT_HE : NN_INIT_XAVIER;
    }
    return NN_INIT_XAVIER;
}

/* Fill n weights for a layer with the given fan-in and fan-out. */
static void init_weight(float *w, size_t n, int fan_in, int fan_out, int init, nn_rng *rng)
{
    float a;
    switch (init) {
    case NN_INIT_ZERO:
        memset(w, 0, n * sizeof(float));
        return;
    case NN_INIT_HE: {
        float sd = sqrtf(2.0f / (float)fan_in);
        for (size_t i = 0; i < n; i++)
            w[i] = sd * nn_rng_normal(rng);
        return;
    }
    case NN_INIT_UNIFORM:
        a = 1.0f / sqrtf((float)fan_in);
        break;
    default: /* Xavier/Glorot uniform */
        a = sqrtf(6.0f / (float)(fan_in + fan_out));
        break;
    }
    for (size_t i = 0; i < n; i++)
        w[i] = a * (2.0f * nn_rng_uniform(rng) - 1.0f);
}

/* The node name of layer i ("conv2", "dense1"): its kind and its number
 * among the layers of that kind. */
static void layer_node_name(const nn_spec *spec, int i, char *name, size_t len)
{
    int kind = spec->layers[i].kind, count = 0;
    for (int k = 0; k <= i; k++)
        count += spec->layers[k].kind == kind;
    snprintf(name, len, "%s%d", nn_layer_name(kind), count);
}

static int has_weights(int kind)
{
    return kind == NN_LAYER_DENSE || kind == NN_LAYER_CONV || kind == NN_LAYER_LSTM || kind == NN_LAYER_GAUSSIAN;
}

void nn_model_init_params(nn_graph *g, const nn_spec *spec, const nn_hparams *hp)
{
    nn_rng rng;
    nn_rng_seed(&rng, stream_seed(hp->seed, STREAM_INIT));
    nn_rng_seed(&g->rng, stream_seed(hp->seed, STREAM_DROPOUT));
    nn_rng_seed(&g->noise_rng, stream_seed(hp->seed, STREAM_NOISE));
    for (int i = 0; i < spec->n_layers; i++) {
        const nn_layer *layer = &spec->layers[i];
        if (!has_weights(layer->kind))
            continue;
        char base[NN_NAME_LEN - 8], name[NN_NAME_LEN];
        layer_node_name(spec, i, base, sizeof base);
        snprintf(name, sizeof name, "%s.weight", base);
        nn_node *w = &g->nodes[nn_graph_find(g, name)];
        int init = hp->init != NN_INIT_DEFAULT ? hp->init
                   : layer->init != NN_INIT_DEFAULT ? layer->init : default_init(spec, i);
        /* conv: [O, C, kh, kw] has fan-in C*kh*kw and fan-out O*kh*kw */
        int receptive = w->ndim == 4 ? w->dim[2] * w->dim[3] : 1;
        int fan_in = (int)(w->size / (size_t)w->dim[0]), fan_out = w->dim[0] * receptive;
        if (layer->kind == NN_LAYER_LSTM) /* as PyTorch: 1/sqrt(H), H the hidden size */
            fan_in = fan_out = w->dim[0] / 4;
        init_weight(w->value, w->size, fan_in, fan_out, init, &rng);
        snprintf(name, sizeof name, "%s.bias", base);
        int b = nn_graph_find(g, name);
        if (b < 0)
            continue;
        nn_node *bias = &g->nodes[b];
        memset(bias->value, 0, bias->size * sizeof(float));
        if (layer->kind == NN_LAYER_LSTM) /* forget gates start open, so memory lasts from the start */
            for (size_t j = bias->size / 4; j < bias->size / 2; j++)
                bias->value[j] = 1.0f;
    }
}

void nn_model_set_dropout(nn_graph *g, float rate)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == NN_OP_DROPOUT)
            g->nodes[i].fparam = rate;
}

static int layer_error(const nn_spec *spec, const nn_layer *layer, nn_error *err)
{
    char msg[sizeof err->msg];
    snprintf(msg, sizeof msg, "%s", err->msg);
    return nn_error_set(err, NN_EINPUT, "%s:%d: %s", spec->source, layer->line, msg);
}

/* Add "NAME.weight" [dims] and, if bias, "NAME.bias" [units]. */
static int add_weights(nn_graph *g, const char *name, int ndim, const int *dim, int bias, int *w, int *b,
                       nn_error *err)
{
    char pname[NN_NAME_LEN];
    snprintf(pname, sizeof pname, "%s.weight", name);
    *w = nn_graph_param(g, pname, ndim, dim, 1, err);
    *b = -1;
    if (*w < 0 || !bias)
        return *w < 0 ? NN_EINPUT : NN_OK;
    snprintf(pname, sizeof pname, "%s.bias", name);
    *b = nn_graph_param(g, pname, 1, dim, 0, err);
    return *b < 0 ? NN_EINPUT : NN_OK;
}

/* x + bias, as node "NAME.add"; x itself when there is no bias. */
static int add_bias(nn_graph *g, const char *name, int x, int b, nn_error *err)
{
    if (x < 0 || b < 0)
        return x;
    char pname[NN_NAME_LEN];
    snprintf(pname, sizeof pname, "%s.add", name);
    int in[2] = {x, b};
    return nn_graph_op(g, NN_OP_BIAS, pname, in, 2, 0, err);
}

/* Dense layer: x[n,K] -> [n,units]. */
static int build_dense(nn_graph *g, const char *name, int x, int units, int bias, nn_error *err)
{
    int shape[2] = {units, (int)g->nodes[x].size}, w, b;
    if (add_weights(g, name, 2, shape, bias, &w, &b, err))
        return -1;
    int in[2] = {x, w};
    return add_bias(g, name, nn_graph_op(g, NN_OP_MATMUL, name, in, 2, 0, err), b, err);
}

/* The layer's node(s) on top of x; returns the new top or -1.  Latent
 * layers record their KL node in *kl so the loss can add it. */
static int build_layer(nn_graph *g, const nn_spec *spec, int i, const nn_hparams *hp, int x, int *kl,
                       nn_error *err)
{
    const nn_layer *layer = &spec->layers[i];
    char name[NN_NAME_LEN - 8], pname[NN_NAME_LEN];
    layer_node_name(spec, i, name, sizeof name);
    const nn_node *top = x >= 0 ? &g->nodes[x] : NULL;
    nn_op_args args = {.kh = layer->kh, .kw = layer->kw, .stride = layer->stride, .pad = layer->pad,
                       .all_steps = layer->all_steps};
    switch (layer->kind) {
    case NN_LAYER_INPUT:
        return g->input = nn_graph_input(g, "input", layer->ndim, layer->dim, err);
    case NN_LAYER_DENSE:
        return build_dense(g, name, x, layer->units, layer->bias, err);
    case NN_LAYER_CONV: {
        if (top->ndim != 3) {
            nn_error_set(err, NN_EINPUT, "%s: conv needs images of shape CxHxW, such as 1x28x28, not %zu values",
                         name, top->size);
            return -1;
        }
        int shape[4] = {layer->units, top->dim[0], layer->kh, layer->kw}, w, b;
        if (add_weights(g, name, 4, shape, layer->bias, &w, &b, err))
            return -1;
        int in[3] = {x, w, b}; /* the bias is the op's own input: it adds it in the same pass */
        return nn_graph_op_args(g, NN_OP_CONV2D, name, in, b >= 0 ? 3 : 2, &args, err);
    }
    case NN_LAYER_MAXPOOL:
    case NN_LAYER_AVGPOOL:
        return nn_graph_op_args(g, layer->kind == NN_LAYER_MAXPOOL ? NN_OP_MAXPOOL : NN_OP_AVGPOOL, name, &x, 1,
                                &args, err);
    case NN_LAYER_LSTM: {
        int h = layer->units, shape[2] = {4 * h, top->dim[top->ndim - 1] + h}, w, b;
        if (add_weights(g, name, 2, shape, 1, &w, &b, err))
            return -1;
        int in[3] = {x, w, b};
        return nn_graph_op_args(g, NN_OP_LSTM, name, in, 3, &args, err);
    }
    case NN_LAYER_GAUSSIAN: {
        /* p = [mu, logvar], z ~ N(mu, exp(logvar)), and the KL term */
        int p = build_dense(g, name, x, 2 * layer->units, 1, err);
        snprintf(pname, sizeof pname, "%s.sample", name);
        int z = p < 0 ? -1 : nn_graph_op(g, NN_OP_GAUSSIAN, pname, &p, 1, 0, err);
        snprintf(pname, sizeof pname, "%s.kl", name);
        int k = z < 0 ? -1 : nn_graph_op(g, NN_OP_KL, pname, &p, 1, 0, err);
        if (k < 0)
            return -1;
        if (*kl >= 0) { /* a second latent layer: sum the KL terms */
            int in[2] = {*kl, k};
            snprintf(pname, sizeof pname, "%s.kl_sum", name);
            k = nn_graph_op(g, NN_OP_ADD, pname, in, 2, 0, err);
        }
        *kl = k;
        return k < 0 ? -1 : z;
    }
    case NN_LAYER_RELU:
        return nn_graph_op(g, NN_OP_RELU, name, &x, 1, 0, err);
    case NN_LAYER_TANH:
        return nn_graph_op(g, NN_OP_TANH, name, &x, 1, 0, err);
    case NN_LAYER_SIGMOID:
        return nn_graph_op(g, NN_OP_SIGMOID, name, &x, 1, 0, err);
    case NN_LAYER_DROPOUT:
        return nn_graph_op(g, NN_OP_DROPOUT, name, &x, 1, hp->dropout >= 0 ? hp->dropout : layer->rate, err);
    case NN_LAYER_FLATTEN: {
        int size = (int)top->size;
        return nn_graph_reshape(g, x, name, 1, &size, err);
    }
    case NN_LAYER_RESHAPE:
        return nn_graph_reshape(g, x, name, layer->ndim, layer->dim, err);
    case NN_LAYER_SOFTMAX_XENT:
    case NN_LAYER_SIGMOID_BCE:
    case NN_LAYER_MSE: {
        static const int ops[] = {[NN_LAYER_SOFTMAX_XENT] = NN_OP_SOFTMAX_XENT,
                                  [NN_LAYER_SIGMOID_BCE] = NN_OP_SIGMOID_BCE, [NN_LAYER_MSE] = NN_OP_MSE};
        int size = (int)top->size, t;
        g->output = x;
        if (layer->target_input) {
            t = g->input;
            g->reconstructs = 1;
        } else {
            t = g->target = nn_graph_input(g, "target", 1, &size, err);
        }
        int in[2] = {x, t};
        if (*kl < 0)
            return g->loss = t < 0 ? -1 : nn_graph_op(g, ops[layer->kind], "loss", in, 2, 0, err);
        /* the negative evidence lower bound: reconstruction + KL */
        int recon = t < 0 ? -1 : nn_graph_op(g, ops[layer->kind], "reconstruction", in, 2, 0, err);
        in[0] = recon;
        in[1] = *kl;
        return g->loss = recon < 0 ? -1 : nn_graph_op(g, NN_OP_ADD, "loss", in, 2, 0, err);
    }
    }
    nn_error_set(err, NN_EINPUT, "%s: unknown layer", name);
    return -1;
}

int nn_model_plan(nn_graph *g, const nn_spec *spec, const nn_hparams *hp, int max_batch, nn_error *err)
{
    nn_error local;
    if (!err)
        err = &local;
    if (nn_graph_init(g, max_batch, err))
        return err->code;
    int x = -1, kl = -1;
    for (int i = 0; i < spec->n_layers; i++) {
        const nn_layer *layer = &spec->layers[i];
        x = build_layer(g, spec, i, hp, x, &kl, err);
        if (x < 0) {
            layer_error(spec, layer, err);
            nn_graph_free(g);
            return NN_EINPUT;
        }
    }
    return NN_OK;
}

int nn_model_build(nn_graph *g, const nn_spec *spec, const nn_hparams *hp, int max_batch, nn_error *err)
{
    nn_error local;
    if (!err)
        err = &local;
    int rc = nn_model_plan(g, spec, hp, max_batch, err);
    if (rc)
        return rc;
    if (nn_graph_finalise(g, err)) {
        nn_graph_free(g);
        return err->code;
    }
    nn_model_init_params(g, spec, hp);
    return NN_OK;
}
