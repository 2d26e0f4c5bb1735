/* Hyperparameter search: the space to search, the trials drawn from it, the
 * successive-halving plan, and a runner that trains the trials.
 *
 * A space is written as whitespace-separated key=values tokens, with the
 * keys of nn_hparams_set (and `model`):
 *
 *     lr=0.01,0.03,0.1 batch=32,64            a grid: every combination
 *     lr=1e-4..1e-1:log dropout=0..0.5        random: ranges (uniform, or
 *     optimizer=sgd,adam                      log-uniform with :log) and choices
 *
 * A trial is a list of key=value settings applied over the base
 * hyperparameters, so "train with the same options" reproduces it exactly.
 * Random trial i draws its values from the search seed and i alone, so a
 * search of 20 trials begins with the 10 trials of a search of 10. */
#ifndef NN_SEARCH_H
#define NN_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "data.h"
#include "error.h"
#include "hparams.h"
#include "spec.h"
#include "trainer.h"

#define NN_SEARCH_MAX_PARAMS 16
#define NN_SEARCH_MAX_VALUES 32
#define NN_SEARCH_KEY_LEN 32
#define NN_SEARCH_VALUE_LEN 96
#define NN_SEARCH_MAX_TRIALS 4096

enum nn_search_kind {
    NN_SEARCH_LIST,      /* listed values: a grid axis, or random choices */
    NN_SEARCH_RANGE,     /* lo..hi, uniform */
    NN_SEARCH_LOG_RANGE  /* lo..hi:log, uniform in log(value) */
};

/* One searched hyperparameter. */
typedef struct nn_search_param {
    char key[NN_SEARCH_KEY_LEN];   /* as nn_hparams_set names it ("weight_decay"), or "model" */
    int kind;                      /* enum nn_search_kind */
    int integer;                   /* a whole-number key: ranges draw integers in [lo, hi] */
    double lo, hi;                 /* ranges */
    int n_values;                  /* lists */
    char values[NN_SEARCH_MAX_VALUES][NN_SEARCH_VALUE_LEN];
} nn_search_param;

typedef struct nn_search_space {
    int n_params;
    int has_ranges;                /* at least one range: only random search can use it */
    nn_search_param params[NN_SEARCH_MAX_PARAMS];
} nn_search_space;

/* One trial's settings, in the order the space names them. */
typedef struct nn_trial_config {
    int n;
    char key[NN_SEARCH_MAX_PARAMS][NN_SEARCH_KEY_LEN];
    char value[NN_SEARCH_MAX_PARAMS][NN_SEARCH_VALUE_LEN];
} nn_trial_config;

/* Parse a space.  Each value is checked as nn_hparams_set would check it
 * (models are the caller's to check); errors quote the offending token.
 * Hyphens in keys read as underscores (weight-decay=...). */
int nn_search_parse(nn_search_space *space, const char *text, nn_error *err);
/* Index of key in space, or -1. */
int nn_search_find(const nn_search_space *space, const char *key);

/* Number of grid points (the product of the list lengths); ranges are an
 * error here, and so is a grid of more than NN_SEARCH_MAX_TRIALS points. */
int nn_search_grid_size(const nn_search_space *space, int *count, nn_error *err);
/* Grid point i (0 <= i < count): the first key varies slowest. */
void nn_search_grid_point(const nn_search_space *space, int i, nn_trial_config *out);
/* Random trial i of the search seeded with seed: ranges sampled, lists
 * chosen uniformly.  Floats are written with 4 significant digits. */
void nn_search_random_point(const nn_search_space *space, uint64_t seed, int i, nn_trial_config *out);

/* Apply a trial's settings (except `model`) over hp. */
int nn_trial_config_apply(const nn_trial_config *c, nn_hparams *hp, nn_error *err);
/* The value of key in c, or NULL. */
const char *nn_trial_config_get(const nn_trial_config *c, const char *key);
/* "key=value key=value"; returns buf. */
char *nn_trial_config_format(const nn_trial_config *c, char *buf, size_t len);

/* Successive halving: rung r trains trials[r] trials up to epochs[r]
 * epochs; the best fraction `keep` of them go on to the next rung, which
 * has 1/keep times the epochs.  The last rung always reaches max_epochs. */
#define NN_SEARCH_MAX_RUNGS 16
typedef struct nn_halving_plan {
    int rungs;
    int trials[NN_SEARCH_MAX_RUNGS];
    int epochs[NN_SEARCH_MAX_RUNGS];
} nn_halving_plan;

/* Plan for n trials; min_epochs >= 1, 0 < keep < 1. */
int nn_halving_plan_make(nn_halving_plan *plan, int n, int max_epochs, int min_epochs, double keep,
                         nn_error *err);
/* The indices of the `keep` highest scores among n (NaN lowest; ties to the
 * lower index), best first, into chosen. */
void nn_search_top(const double *scores, int n, int keep, int *chosen);

/* ---- running trials -------------------------------------------------- */

enum nn_trial_state {
    NN_TRIAL_PENDING,   /* not started */
    NN_TRIAL_RUNNING,
    NN_TRIAL_WAITING,   /* finished its rung, waiting for the others */
    NN_TRIAL_DONE,      /* trained for all its epochs */
    NN_TRIAL_CUT,       /* dropped by successive halving */
    NN_TRIAL_FAILED,    /* diverged, or could not be built */
    NN_TRIAL_CANCELLED  /* interrupted before it finished */
};

#define NN_TRIAL_MAX_EPOCHS 256

/* A trial and its figures so far. */
typedef struct nn_trial {
    int id;                        /* 0-based, in generation order */
    nn_trial_config config;
    nn_hparams hp;                 /* base options with config applied */
    const nn_spec *spec;           /* borrowed model spec */
    int state;                     /* enum nn_trial_state */
    int epoch;                     /* epochs finished */
    int target;                    /* epochs to reach in the current rung */
    long step, steps_per_epoch;    /* progress */
    double train_loss, train_accuracy, test_loss, test_accuracy; /* after the last epoch */
    double test_history[NN_TRIAL_MAX_EPOCHS]; /* test accuracy after each epoch */
    double seconds;                /* wall time spent training and evaluating */
    double samples_per_sec;
    char error[512];               /* why it failed */
} nn_trial;

const char *nn_trial_state_name(int state);

typedef struct nn_search nn_search;

/* Called (from a worker thread, one call at a time) whenever a trial
 * changes state or finishes an epoch; t is a snapshot. */
typedef void (*nn_search_event_fn)(void *ctx, const nn_trial *t);

typedef struct nn_search_options {
    int jobs;                      /* trials trained at once (>= 1) */
    int halving;                   /* 1: successive halving */
    int min_epochs;                /* halving: epochs of the first rung */
    double keep;                   /* halving: fraction kept per rung */
    nn_search_event_fn on_event;
    void *ctx;
} nn_search_options;

/* A search over n trials (copied; each trial's hp, spec and config must be
 * set, and every trial's hp.epochs must be equal when halving).  Datasets
 * and specs are borrowed. */
int nn_search_new(nn_search **out, const nn_trial *trials, int n, const nn_search_options *opt,
                  const nn_dataset *train, const nn_dataset *test, nn_error *err);
void nn_search_free(nn_search *s);
/* Start training in background threads. */
int nn_search_start(nn_search *s, nn_error *err);
/* Ask the workers to stop after their current step; trials in progress end CANCELLED. */
void nn_search_cancel(nn_search *s);
/* 1 once every worker has finished (all trials trained, or cancelled). */
int nn_search_finished(nn_search *s);
/* Wait for the workers to finish. */
void nn_search_wait(nn_search *s);
/* Copy every trial out (n of them) under the lock; returns n. */
int nn_search_snapshot(nn_search *s, nn_trial *out);
/* Number of trials. */
int nn_search_count(const nn_search *s);
/* Index of the best DONE trial by test accuracy (ties to the lower id), or -1. */
int nn_search_best_of(const nn_trial *trials, int n);
/* After the search: the best DONE trial's trainer (still holding its
 * trained weights), or NULL.  Owned by the search. */
nn_trainer *nn_search_best_trainer(nn_search *s, int *trial_id);

#endif
