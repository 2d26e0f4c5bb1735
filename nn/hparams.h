/* Training hyperparameters: one struct, settable by name.
 *
 * The same key=value names serve a model spec's `train` line, the command
 * line (--lr 0.1 is lr=0.1) and hyperparameter search, so every option is
 * parsed and validated in one place. */
#ifndef NN_HPARAMS_H
#define NN_HPARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum nn_optimizer { NN_SGD, NN_MOMENTUM, NN_ADAM, NN_RMSPROP };
enum nn_schedule { NN_SCHEDULE_CONSTANT, NN_SCHEDULE_STEP, NN_SCHEDULE_COSINE };
enum nn_init {
    NN_INIT_DEFAULT, /* He before relu, Xavier otherwise */
    NN_INIT_UNIFORM, /* U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
    NN_INIT_XAVIER,  /* U(-a, a), a = sqrt(6 / (fan_in + fan_out)) */
    NN_INIT_HE,      /* N(0, 2 / fan_in) */
    NN_INIT_ZERO     /* all zero: shows the symmetry problem */
};

typedef struct nn_hparams {
    int epochs;
    int batch;
    int optimizer;        /* enum nn_optimizer */
    float lr;
    float momentum;       /* momentum and rmsprop's alpha use their own keys */
    int nesterov;
    float beta1, beta2;   /* Adam */
    float alpha;          /* RMSprop smoothing */
    float eps;            /* Adam and RMSprop */
    float weight_decay;   /* L2, added to the gradient of weights */
    float l1;             /* L1, sign(w) * l1 added to the gradient of weights */
    float dropout;        /* < 0: each dropout layer keeps the spec's rate */
    int schedule;         /* enum nn_schedule */
    int lr_step;          /* step schedule: epochs between decays (0: epochs/3) */
    float lr_gamma;       /* step schedule: factor per decay */
    int init;             /* enum nn_init */
    int augment;          /* random shifts of up to 2 px */
    int flip;             /* mirror half the images left to right (clothing, not digits) */
    uint64_t seed;
    int threads;          /* BLAS threads, 0: all cores */
    float max_loss;       /* > 0: a batch loss above this also counts as diverged */
} nn_hparams;

/* The defaults (Adam, lr 1e-3, batch 64, 10 epochs, seed 1). */
void nn_hparams_defaults(nn_hparams *hp);
/* Set one hyperparameter by name ("lr", "batch", "optimizer", ...), checking
 * its range; the message in err names the key and the accepted values. */
int nn_hparams_set(nn_hparams *hp, const char *key, const char *value, nn_error *err);
/* 1 if key names a hyperparameter. */
int nn_hparams_known(const char *key);
/* Write every hyperparameter as "key=value key=value ..." (dropout and
 * max_loss only when set), each number in the shortest form that nn_hparams_set reads back
 * exactly; returns buf. */
char *nn_hparams_format(const nn_hparams *hp, char *buf, size_t len);

const char *nn_optimizer_name(int optimizer);
const char *nn_schedule_name(int schedule);
const char *nn_init_name(int init);

/* Learning rate at a given point: epoch is 0-based, progress in [0,1] is the
 * fraction of all training steps done (cosine anneals over it). */
float nn_hparams_lr_at(const nn_hparams *hp, int epoch, double progress);

#endif
