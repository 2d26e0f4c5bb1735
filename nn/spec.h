/* Model specs: the small text format of SPEC §4, one layer per line.
 *
 *     input 1x28x28        # per-sample shape
 *     dense 128 init=he    # fully connected, bias unless bias=0
 *     relu                 # also tanh, sigmoid
 *     dropout 0.2
 *     dense 10
 *     softmax_xent         # or sigmoid_bce, mse: the loss, last
 *     train optimizer=momentum lr=0.1 batch=64 epochs=10
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
    NN_LAYER_COUNT
};

typedef struct nn_layer {
    int kind;              /* enum nn_layer_kind */
    int line;              /* where it was written, for error messages */
    int units;             /* dense */
    int ndim;              /* input, reshape */
    int dim[NN_MAX_DIMS];
    float rate;            /* dropout */
    int init;              /* dense: enum nn_init, NN_INIT_DEFAULT to choose */
    int bias;              /* dense: 1 to add a bias */
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
