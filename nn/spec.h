/* Model specs: the small text format of SPEC §4, one layer per line.
 *
 *     input 1x28x28        # per-sample shape
 *     conv 6 5x5 pad=2     # 6 filters of 5x5; pad=N|same, stride=N, init=, bias=0
 *     relu                 # also tanh, sigmoid
 *     maxpool 2            # 2x2 windows, stride 2; also avgpool, KxK stride=N
 *     dense 128 init=he    # fully connected, bias unless bias=0
 *     dropout 0.2
 *     dense 10
 *     softmax_xent         # or sigmoid_bce, mse: the loss, last
 *     train optimizer=momentum lr=0.1 batch=64 epochs=10
 *
 * `lstm 128` reads its input as rows of features (a 1x28x28 digit as 28
 * steps of 28) and outputs the last hidden state (`seq=1`: every step's).
 * `gaussian 2` is a variational autoencoder's latent layer: a dense layer to
 * the mean and log-variance of a 2-D code, a sample of it, and the KL term
 * added to the loss; `sigmoid_bce target=input` then scores the decoder's
 * reconstruction of the input.
 *
 * `train` gives the recipe the model is meant to be trained with; command-
 * line options override it.  Errors read "file:line:col: what was expected". */
#ifndef NN_SPEC_H
#define NN_SPEC_H

#include "error.h"
#include "hparams.h"
#include "tensor.h"

enum nn_layer_kind {
    NN_LAYER_INPUT,
    NN_LAYER_DENSE,
    NN_LAYER_RELU,
    NN_LAYER_TANH,
    NN_LAYER_SIGMOID,
    NN_LAYER_DROPOUT,
    NN_LAYER_FLATTEN,
    NN_LAYER_RESHAPE,
    NN_LAYER_SOFTMAX_XENT,
    NN_LAYER_SIGMOID_BCE,
    NN_LAYER_MSE,
    NN_LAYER_CONV,
    NN_LAYER_MAXPOOL,
    NN_LAYER_AVGPOOL,
    NN_LAYER_LSTM,
    NN_LAYER_GAUSSIAN,
    NN_LAYER_COUNT
};

typedef struct nn_layer {
    int kind;              /* enum nn_layer_kind */
    int line;              /* where it was written, for error messages */
    int units;             /* dense, lstm, gaussian (latent size); conv: filters */
    int ndim;              /* input, reshape */
    int dim[NN_MAX_DIMS];
    float rate;            /* dropout */
    int init;              /* layers with weights: enum nn_init, NN_INIT_DEFAULT to choose */
    int bias;              /* dense, conv: 1 to add a bias */
    int kh, kw;            /* conv kernel, pooling window */
    int stride;            /* conv, pooling */
    int pad;               /* conv: zeros on each side */
    int all_steps;         /* lstm: seq=1 */
    int target_input;      /* loss: target=input, the loss reconstructs the input */
} nn_layer;

typedef struct nn_spec {
    char source[256];      /* file name used in messages */
    char *text;            /* the whole spec, stored in model files */
    int n_layers;
    nn_layer *layers;
    nn_hparams hp;         /* defaults overridden by the `train` line */
} nn_spec;

/* Name of a layer kind as written in specs. */
const char *nn_layer_name(int kind);
/* 1 if the layer kind is a loss. */
int nn_layer_is_loss(int kind);

/* Parse spec text; source names it in messages. */
int nn_spec_parse(nn_spec *spec, const char *text, const char *source, nn_error *err);
/* Read and parse a spec file. */
int nn_spec_load(nn_spec *spec, const char *path, nn_error *err);
void nn_spec_free(nn_spec *spec);

#endif
