/* A predictor: a model's graph built for one sample, on its own copy of the
 * weights, for classifying drawings while (or after) the model trains.
 *
 * The pad runs one on the main thread and refreshes its weights from the
 * trainer's snapshots, so inference never touches the trainer's graph.
 * Dropout is off; the output is turned into class probabilities the way the
 * model's loss reads it (softmax for softmax_xent; for sigmoid_bce and mse,
 * the per-class outputs clamped to [0,1] and scaled to sum to one). */
#ifndef NN_PREDICTOR_H
#define NN_PREDICTOR_H

#include <stddef.h>

#include "graph.h"
#include "preprocess.h"
#include "spec.h"

#define NN_PREDICTOR_MAX_CLASSES 16

typedef struct nn_predictor {
    nn_graph graph;     /* max_batch 1 */
    int loss_kind;      /* enum nn_layer_kind of the spec's loss */
    int classes;        /* outputs of the model */
    size_t inputs;      /* floats per input sample */
} nn_predictor;

/* Build spec's graph for single samples (initial weights from the spec's
 * seed until nn_predictor_set_params). */
int nn_predictor_init(nn_predictor *p, const nn_spec *spec, nn_error *err);
void nn_predictor_free(nn_predictor *p);
/* Copy n parameter floats (a graph's flat params of the same spec). */
int nn_predictor_set_params(nn_predictor *p, const float *params, size_t n, nn_error *err);
/* Classify one input (p->inputs floats); fills probs (p->classes floats)
 * and returns the most probable class. */
int nn_predictor_run(nn_predictor *p, const float *input, float *probs);
/* Preprocess ink (w x h, stride floats a row; see preprocess.h) and classify
 * it: *label is the class, or -1 for a blank image, which is not classified
 * (probs all zero).  seen (may be NULL) receives the 28x28 input the network
 * saw, info (may be NULL) what preprocessing found.  The model must take
 * 28x28 inputs. */
int nn_predictor_classify_ink(nn_predictor *p, const float *ink, int w, int h, int stride, float *seen,
                              float *probs, int *label, nn_preprocess_info *info, nn_error *err);

#endif
