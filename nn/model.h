/* A model: a spec turned into a graph with initialised parameters.
 *
 * Building names the nodes after the layers ("dense1.weight", "relu1"), adds
 * the input and target nodes, and draws the initial weights from the seed. */
#ifndef NN_MODEL_H
#define NN_MODEL_H

#include "graph.h"
#include "hparams.h"
#include "spec.h"

/* Build spec's graph for batches of up to max_batch samples, apply hp's
 * init and dropout overrides, and initialise the parameters from hp->seed.
 * Shape errors name the spec file and line. */
int nn_model_build(nn_graph *g, const nn_spec *spec, const nn_hparams *hp, int max_batch, nn_error *err);
/* Only the first half of nn_model_build: the nodes and their shapes, with
 * no buffer allocated (nn_graph_free it), so that shapes can be checked
 * before a model of any size is paid for. */
int nn_model_plan(nn_graph *g, const nn_spec *spec, const nn_hparams *hp, int max_batch, nn_error *err);

/* Draw every parameter again from seed (biases zero), as at build time. */
void nn_model_init_params(nn_graph *g, const nn_spec *spec, const nn_hparams *hp);

/* Set the rate of every dropout node. */
void nn_model_set_dropout(nn_graph *g, float rate);

#endif
