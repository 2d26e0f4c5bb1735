/* Single-sample inference on a private graph. */
#include "predictor.h"

#include <math.h>
#include <string.h>

#include "model.h"
#include "ops.h"

int nn_predictor_init(nn_predictor *p, const nn_spec *spec, nn_error *err)
{
    memset(p, 0, sizeof *p);
    int rc = nn_model_build(&p->graph, spec, &spec->hp, 1, err);
    if (rc)
        return rc;
    nn_graph *g = &p->graph;
    if (g->input < 0 || g->output < 0) {
        nn_graph_free(g);
        return nn_error_set(err, NN_EINPUT, "%s: the model has no input or no output", spec->source);
    }
    p->loss_kind = NN_LAYER_SOFTMAX_XENT;
    for (int i = 0; i < spec->n_layers; i++)
        if (nn_layer_is_loss(spec->layers[i].kind))
            p->loss_kind = spec->layers[i].kind;
    p->inputs = g->nodes[g->input].size;
    size_t outputs = g->nodes[g->output].size;
    if (outputs < 2 || outputs > NN_PREDICTOR_MAX_CLASSES) {
        nn_graph_free(g);
        return nn_error_set(err, NN_EINPUT, "%s: a classifier needs 2 to %d outputs, this model has %zu",
                            spec->source, NN_PREDICTOR_MAX_CLASSES, outputs);
    }
    p->classes = (int)outputs;
    g->training = 0;
    return NN_OK;
}

void nn_predictor_free(nn_predictor *p)
{
    nn_graph_free(&p->graph);
    memset(p, 0, sizeof *p);
}

int nn_predictor_set_params(nn_predictor *p, const float *params, size_t n, nn_error *err)
{
    if (n != p->graph.n_params)
        return nn_error_set(err, NN_EINPUT, "predictor: %zu weights given, the model has %zu", n,
                            p->graph.n_params);
    memcpy(p->graph.params, params, n * sizeof *params);
    return NN_OK;
}

int nn_predictor_run(nn_predictor *p, const float *input, float *probs)
{
    nn_graph *g = &p->graph;
    memcpy(g->nodes[g->input].value, input, p->inputs * sizeof *input);
    /* Forward up to the output only (the loss needs a target we do not
     * have), through int8 layers if a quantised model attached them. */
    nn_graph_forward_range(g, 0, g->output, 1);
    const float *out = g->nodes[g->output].value;
    int k = p->classes;
    if (p->loss_kind == NN_LAYER_SOFTMAX_XENT) {
        float top = out[0];
        for (int c = 1; c < k; c++)
            top = out[c] > top ? out[c] : top;
        double sum = 0;
        for (int c = 0; c < k; c++)
            sum += probs[c] = expf(out[c] - top);
        for (int c = 0; c < k; c++)
            probs[c] = (float)(probs[c] / sum);
    } else {
        double sum = 0;
        for (int c = 0; c < k; c++) {
            float v = p->loss_kind == NN_LAYER_SIGMOID_BCE ? 1.0f / (1.0f + expf(-out[c])) : out[c];
            sum += probs[c] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
        }
        for (int c = 0; c < k; c++)
            probs[c] = sum > 0 ? (float)(probs[c] / sum) : 1.0f / (float)k;
    }
    return nn_vec_argmax(probs, k);
}

int nn_predictor_classify_ink(nn_predictor *p, const float *ink, int w, int h, int stride, float *seen,
                              float *probs, int *label, nn_preprocess_info *info, nn_error *err)
{
    float input[NN_MNIST_SIDE * NN_MNIST_SIDE];
    nn_preprocess_info local;
    if (!info)
        info = &local;
    *label = -1;
    memset(probs, 0, (size_t)p->classes * sizeof *probs);
    if (p->inputs != NN_MNIST_SIDE * NN_MNIST_SIDE)
        return nn_error_set(err, NN_EINPUT, "the model takes %zu inputs, not a %dx%d image", p->inputs,
                            NN_MNIST_SIDE, NN_MNIST_SIDE);
    int rc = nn_preprocess_mnist(ink, w, h, stride, input, info, err);
    if (rc)
        return rc;
    if (seen)
        memcpy(seen, input, sizeof input);
    if (!info->blank)
        *label = nn_predictor_run(p, input, probs);
    return NN_OK;
}
