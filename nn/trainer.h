/* The trainer: mini-batch training of a model on a dataset, one step at a
 * time, so a caller (a progress loop, a UI thread) decides when to step,
 * evaluate, pause or stop.
 *
 * A trainer owns its graph and optimiser state; the datasets are borrowed
 * and must outlive it.  The shuffle order of each epoch and every other
 * random choice come from hp.seed. */
#ifndef NN_TRAINER_H
#define NN_TRAINER_H

#include <stddef.h>
#include <stdint.h>

#include "data.h"
#include "graph.h"
#include "hparams.h"
#include "optim.h"
#include "spec.h"

/* What one training step did. */
typedef struct nn_step_info {
    long step;          /* global step number, from 1 */
    int epoch;          /* 0-based epoch the step belongs to */
    int batch;          /* samples in this batch */
    float loss;         /* batch loss */
    float accuracy;     /* batch accuracy, 0..1; NaN for a model that reconstructs its input */
    float lr;           /* learning rate used */
    int epoch_done;     /* 1 if this step finished its epoch */
    int bad_tensor;     /* >= 0: parameter tensor that became NaN/Inf */
    int bad_loss;       /* 1 if the loss was NaN/Inf, 2 if above hp.max_loss */
} nn_step_info;

/* An evaluation over a whole dataset. */
typedef struct nn_eval {
    double loss;
    double accuracy;            /* 0..1; NaN for a model that reconstructs its input */
    size_t count;
    int classes;
    long confusion[16][16];     /* rows: true class, columns: predicted */
    double class_accuracy[16];
} nn_eval;

#define NN_EVAL_MAX_CLASSES 16

/* One finished epoch, as model files keep it. */
typedef struct nn_epoch_record {
    double train_loss, train_accuracy;  /* means over the epoch */
    double test_loss, test_accuracy;    /* evaluation after it */
    double seconds;                     /* wall time of the epoch, evaluation included */
} nn_epoch_record;

typedef struct nn_trainer {
    nn_hparams hp;              /* live: a caller may change lr, momentum... */
    nn_graph graph;
    nn_optim optim;
    const nn_dataset *train;
    size_t *order;              /* this epoch's shuffled sample order */
    size_t pos;                 /* next position in order */
    int epoch;                  /* current 0-based epoch */
    long step;                  /* steps done */
    long steps_per_epoch;       /* at the configured batch size */
    nn_rng shuffle_rng;
    nn_rng augment_rng;
    int *labels;                /* max_batch labels of the current batch */
    float *scratch;             /* two images, for augmentation by two threads */
    signed char *shifts;        /* max_batch (dx, dy) pairs drawn for a batch */
    unsigned char *flips;       /* max_batch mirror choices drawn for a batch */
    double train_seconds;       /* time inside nn_trainer_step only */
    int node_grads;             /* 1: each step fills node_grad_norm (costs a pass over the gradients) */
    float *node_grad_norm;      /* graph.n_nodes: nn_graph_grad_norms of the last step */
    /* running sums for the current epoch */
    double epoch_loss;
    long epoch_seen, epoch_correct;
    /* provenance and history, for model files (nn_checkpoint_save) */
    char dataset[512];          /* data directory, set by the caller */
    size_t test_count;          /* test images evaluated per epoch, set by the caller */
    nn_epoch_record *history;   /* n_history finished epochs, oldest first */
    int n_history, cap_history;
    /* distillation (nn_trainer_set_teacher) */
    nn_graph *teacher;          /* runs forward on every training batch when set; owned */
    nn_distill distill;         /* its logits, temperature and weight, for the loss */
} nn_trainer;

/* Build the model of spec with hp and prepare training on train. */
int nn_trainer_init(nn_trainer *t, const nn_spec *spec, const nn_hparams *hp, const nn_dataset *train,
                    nn_error *err);
/* The same, with a graph built for batches of up to max_batch samples, so
 * hp.batch can later be raised up to that while training. */
int nn_trainer_init_max(nn_trainer *t, const nn_spec *spec, const nn_hparams *hp, const nn_dataset *train,
                        int max_batch, nn_error *err);
void nn_trainer_free(nn_trainer *t);
/* Start over: initial weights drawn again from hp.seed (spec must be the one
 * the trainer was built from), optimiser state cleared, sample order, random
 * streams and epoch history as at init; a following run is bit-identical to
 * a fresh trainer with the current hp. */
void nn_trainer_reset(nn_trainer *t, const nn_spec *spec);
/* Train on the next batch. */
void nn_trainer_step(nn_trainer *t, nn_step_info *info);
/* 1 when all hp.epochs epochs are done. */
int nn_trainer_done(const nn_trainer *t);
/* Mean training loss and accuracy of the epoch so far. */
void nn_trainer_epoch_stats(const nn_trainer *t, double *loss, double *accuracy);
/* Distil from a teacher (nn_distill): from the next step on, a copy of the
 * model of spec holding params (t->graph.n_params floats, laid out as
 * t->graph.params) runs forward on every training batch, dropout off, and the
 * loss mixes the labels with the teacher's outputs softened by temperature,
 * the teacher's term weighted by weight.  Evaluation is unaffected.  A
 * temperature of 0 removes the teacher.  Needs a softmax_xent loss. */
int nn_trainer_set_teacher(nn_trainer *t, const nn_spec *spec, const float *params, float temperature,
                           float weight, nn_error *err);
/* Evaluate the model (dropout off) on a dataset. */
void nn_trainer_evaluate(nn_trainer *t, const nn_dataset *ds, nn_eval *out);
/* Append a finished epoch to the history that model files keep. */
int nn_trainer_record_epoch(nn_trainer *t, const nn_epoch_record *r, nn_error *err);
/* Samples per second of training time so far. */
double nn_trainer_samples_per_sec(const nn_trainer *t);
/* Use this many BLAS threads (0: one per core); returns the number set. */
int nn_set_threads(int threads);

#endif
