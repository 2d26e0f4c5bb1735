/* Optimisers: SGD, momentum (optionally Nesterov), Adam and RMSprop over the
 * graph's flat parameter array, with L2 weight decay and L1 on weights.
 *
 * One step updates every parameter tensor and records its gradient norm,
 * weight norm and update/weight ratio in the graph's stats. */
#ifndef NN_OPTIM_H
#define NN_OPTIM_H

#include "graph.h"
#include "hparams.h"

typedef struct nn_optim {
    size_t n;        /* floats of optimiser state per buffer */
    float *m;        /* momentum buffer or Adam's first moment */
    float *v;        /* Adam's second moment or RMSprop's mean square */
    long t;          /* steps taken (Adam's bias correction) */
} nn_optim;

/* Allocate zeroed state for the graph's parameters. */
int nn_optim_init(nn_optim *opt, const nn_graph *g, nn_error *err);
void nn_optim_free(nn_optim *opt);
/* Forget the state (moments and step count), as for a fresh start. */
void nn_optim_reset(nn_optim *opt);
/* Apply one update with learning rate lr using hp's optimiser settings;
 * fills g->stats and clears the gradients (the next backward needs zeros). */
void nn_optim_step(nn_optim *opt, nn_graph *g, const nn_hparams *hp, float lr);

#endif
