/* Turning a parsed spec into a graph, and the weight initialisers. */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Independent random streams derived from the one user seed. */
#define STREAM_INIT 0x1d1f2a3bULL
#define STREAM_DROPOUT 0x2e2f3a4bULL

static uint64_t stream_seed(uint64_t seed, uint64_t stream)
{
    return seed * 0x9e3779b97f4a7c15ULL ^ stream;
}

/* The initialiser a dense layer gets when neither spec nor options say. */
static int default_init(const nn_spec *spec, int layer)
{
    for (int i = layer + 1; i < spec->n_layers; i++) {
        int k = spec->layers[i].kind;
        if (k == NN_LAYER_DROPOUT || k == NN_LAYER_FLATTEN || k == NN_LAYER_RESHAPE)
            continue;
        return k == NN_LAYER_RELU ? NN_INIT_HE : NN_INIT_XAVIER;
    }
    return NN_INIT_XAVIER;
}

static void init_weight(float *w, int fan_out, int fan_in, int init, nn_rng *rng)
{
    size_t n = (size_t)fan_out * fan_in;
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

void nn_model_init_params(nn_graph *g, const nn_spec *spec, const nn_hparams *hp)
{
    nn_rng rng;
    nn_rng_seed(&rng, stream_seed(hp->seed, STREAM_INIT));
    nn_rng_seed(&g->rng, stream_seed(hp->seed, STREAM_DROPOUT));
    int dense = 0;
    for (int i = 0; i < spec->n_layers; i++) {
        const nn_layer *layer = &spec->layers[i];
        if (layer->kind != NN_LAYER_DENSE)
            continue;
        dense++;
        char name[NN_NAME_LEN];
        snprintf(name, sizeof name, "dense%d.weight", dense);
        int w = nn_graph_find(g, name);
        int init = hp->init != NN_INIT_DEFAULT ? hp->init
                   : layer->init != NN_INIT_DEFAULT ? layer->init : default_init(spec, i);
        nn_node *node = &g->nodes[w];
        init_weight(node->value, node->dim[0], node->dim[1], init, &rng);
        snprintf(name, sizeof name, "dense%d.bias", dense);
        int b = nn_graph_find(g, name);
        if (b >= 0)
            memset(g->nodes[b].value, 0, g->nodes[b].size * sizeof(float));
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

int nn_model_build(nn_graph *g, const nn_spec *spec, const nn_hparams *hp, int max_batch, nn_error *err)
{
    nn_error local;
    if (!err)
        err = &local;
    if (nn_graph_init(g, max_batch, err))
        return err->code;
    int x = -1;
    int count[NN_LAYER_COUNT] = {0};
    for (int i = 0; i < spec->n_layers; i++) {
        const nn_layer *layer = &spec->layers[i];
        char name[20], pname[NN_NAME_LEN];
        snprintf(name, sizeof name, "%s%d", nn_layer_name(layer->kind), ++count[layer->kind]);
        switch (layer->kind) {
        case NN_LAYER_INPUT:
            x = g->input = nn_graph_input(g, "input", layer->ndim, layer->dim, err);
            break;
        case NN_LAYER_DENSE: {
            int shape[2] = {layer->units, (int)g->nodes[x].size};
            snprintf(pname, sizeof pname, "%s.weight", name);
            int w = nn_graph_param(g, pname, 2, shape, 1, err);
            int in[2] = {x, w};
            x = w < 0 ? -1 : nn_graph_op(g, NN_OP_MATMUL, name, in, 2, 0, err);
            if (x >= 0 && layer->bias) {
                snprintf(pname, sizeof pname, "%s.bias", name);
                int b = nn_graph_param(g, pname, 1, &layer->units, 0, err);
                in[0] = x;
                in[1] = b;
                snprintf(pname, sizeof pname, "%s.add", name);
                x = b < 0 ? -1 : nn_graph_op(g, NN_OP_BIAS, pname, in, 2, 0, err);
            }
            break;
        }
        case NN_LAYER_RELU:
            x = nn_graph_op(g, NN_OP_RELU, name, &x, 1, 0, err);
            break;
        case NN_LAYER_TANH:
            x = nn_graph_op(g, NN_OP_TANH, name, &x, 1, 0, err);
            break;
        case NN_LAYER_SIGMOID:
            x = nn_graph_op(g, NN_OP_SIGMOID, name, &x, 1, 0, err);
            break;
        case NN_LAYER_DROPOUT:
            x = nn_graph_op(g, NN_OP_DROPOUT, name, &x, 1, hp->dropout >= 0 ? hp->dropout : layer->rate, err);
            break;
        case NN_LAYER_FLATTEN: {
            int size = (int)g->nodes[x].size;
            x = nn_graph_reshape(g, x, name, 1, &size, err);
            break;
        }
        case NN_LAYER_RESHAPE:
            x = nn_graph_reshape(g, x, name, layer->ndim, layer->dim, err);
            break;
        case NN_LAYER_SOFTMAX_XENT:
        case NN_LAYER_SIGMOID_BCE:
        case NN_LAYER_MSE: {
            static const int ops[] = {[NN_LAYER_SOFTMAX_XENT] = NN_OP_SOFTMAX_XENT,
                                      [NN_LAYER_SIGMOID_BCE] = NN_OP_SIGMOID_BCE,
                                      [NN_LAYER_MSE] = NN_OP_MSE};
            int size = (int)g->nodes[x].size;
            g->output = x;
            g->target = nn_graph_input(g, "target", 1, &size, err);
            int in[2] = {x, g->target};
            x = g->target < 0 ? -1 : nn_graph_op(g, ops[layer->kind], "loss", in, 2, 0, err);
            g->loss = x;
            break;
        }
        }
        if (x < 0) {
            layer_error(spec, layer, err);
            nn_graph_free(g);
            return NN_EINPUT;
        }
    }
    if (nn_graph_finalise(g, err)) {
        nn_graph_free(g);
        return err->code;
    }
    nn_model_init_params(g, spec, hp);
    return NN_OK;
}
