/* A training session: a trainer running in its own thread, steered by
 * commands and watched through a monitor (SPEC §2).
 *
 * The session owns the trainer (and so the model); the spec and the
 * datasets are borrowed and must outlive it.  Commands go through a bounded
 * queue and take effect before the next batch.  After every step the thread
 * publishes into the monitor (nn/monitor.h), which any thread may read.
 * Neither side ever waits for the other longer than a short copy, so a slow
 * or absent user interface does not slow training.
 *
 *     nn_session *s;
 *     nn_session_new(&s, &spec, &hp, &train, &test, NULL, &err);
 *     nn_session_start(s, &err);
 *     nn_session_set(s, "lr", "0.05");        // applies to the next batch
 *     nn_monitor_status(nn_session_monitor(s), &status);
 *     nn_session_free(s);                      // quits and joins */
#ifndef NN_SESSION_H
#define NN_SESSION_H

#include "data.h"
#include "error.h"
#include "graph_desc.h"
#include "hparams.h"
#include "monitor.h"
#include "spec.h"
#include "trainer.h"

typedef struct nn_session nn_session;

enum nn_command_kind {
    NN_CMD_PAUSE,       /* stop before the next batch (cancels stepping) */
    NN_CMD_RESUME,      /* run on (also out of DIVERGED) */
    NN_CMD_TOGGLE,      /* PAUSE when running, else RESUME */
    NN_CMD_STEP_BATCH,  /* pause, then train exactly one more batch */
    NN_CMD_STEP_EPOCH,  /* pause, then train to the end of the current epoch */
    NN_CMD_SET,         /* set hyperparameter key to value (see nn_session_set) */
    NN_CMD_SPEED,       /* limit to number steps per second, 0 for unlimited */
    NN_CMD_SAVE,        /* write a checkpoint to value (empty: the configured path) */
    NN_CMD_RESET,       /* start over from the initial weights, same seed */
    NN_CMD_RESTORE,     /* go back to the last good weights (after DIVERGED) */
    NN_CMD_QUIT,        /* end the trainer thread */
    NN_CMD_NOTE,        /* write value into the event log */
    NN_CMD_PRUNE,       /* zero the smallest weights, sparsity value (0..1); figures in the status */
    NN_CMD_QUANTIZE,    /* measure the model as int8 (the weights stay float); figures in the status */
    NN_CMD_MEASURE      /* evaluate on the training and the test set (dropout off); figures in the status */
};

typedef struct nn_command {
    int kind;           /* enum nn_command_kind */
    long number;        /* NN_CMD_SPEED; NN_CMD_STEP_BATCH: batches (0 is 1) */
    char key[24];       /* NN_CMD_SET */
    char value[512];    /* NN_CMD_SET, NN_CMD_SAVE, NN_CMD_NOTE, NN_CMD_PRUNE */
} nn_command;

typedef struct nn_session_config {
    int max_batch;          /* largest batch size settable live; 0: max(hp.batch, 512) */
    int start_paused;       /* 1: wait for a command before the first batch */
    long good_every;        /* steps between copies of the last good weights; 0: 100
                               (a copy is also kept at the end of every epoch) */
    int weights_ms;         /* weight snapshots at most this often; 0: 50; < 0: never */
    const char *save_path;  /* where NN_CMD_SAVE without a path writes; NULL: nnlab-stepN.nnl */
    const char *dataset;    /* data directory recorded in saved model files */
    const struct nn_checkpoint *resume; /* continue this saved run instead of starting afresh */
    /* Called on the trainer thread after every step and every epoch. */
    void (*on_step)(void *ctx, const nn_step_info *s);
    void (*on_epoch)(void *ctx, const nn_epoch_summary *r);
    void *ctx;
} nn_session_config;

/* Build the trainer (cfg may be NULL for the defaults), or continue the run
 * of cfg->resume with hp.  The thread starts with nn_session_start. */
int nn_session_new(nn_session **out, const nn_spec *spec, const nn_hparams *hp, const nn_dataset *train,
                   const nn_dataset *test, const nn_session_config *cfg, nn_error *err);
/* Start the trainer thread.  Asynchronous signals (SIGINT, SIGTERM,
 * SIGWINCH, SIGTSTP, ...) are blocked in it, so they reach the caller's
 * threads; faults are not, so a crash handler still runs. */
int nn_session_start(nn_session *s, nn_error *err);
/* Quit the thread (after the batch in progress) and wait for it. */
void nn_session_stop(nn_session *s);
/* Stop if running, then free everything. */
void nn_session_free(nn_session *s);

/* Queue a command; returns its sequence number (> 0), or -1 when the queue
 * is full.  The status's applied_seq reaches it once it took effect. */
long nn_session_send(nn_session *s, const nn_command *c);
long nn_session_pause(nn_session *s);
long nn_session_resume(nn_session *s);
long nn_session_toggle(nn_session *s);
long nn_session_step_batch(nn_session *s);
long nn_session_step_epoch(nn_session *s);
/* Change a hyperparameter by its nn_hparams_set name; the same validation
 * applies, and a bad value is reported in the event log.  Live keys: lr,
 * momentum, weight_decay, l1, dropout, batch (up to the maximum), epochs,
 * nesterov, beta1, beta2, alpha, eps, schedule, lr_step, lr_gamma, augment;
 * init and seed take effect at the next reset. */
long nn_session_set(nn_session *s, const char *key, const char *value);
long nn_session_set_speed(nn_session *s, long steps_per_sec);
long nn_session_save(nn_session *s, const char *path);
long nn_session_reset(nn_session *s);
long nn_session_restore(nn_session *s);
long nn_session_quit(nn_session *s);
/* Write a line into the event log (a lesson's step, a run's label). */
long nn_session_note(nn_session *s, const char *text);
/* Magnitude-prune the weights to sparsity (0 <= sparsity < 1) and measure
 * test accuracy and weight storage before and after (status.probe).  Until
 * the next reset, further training keeps the pruned weights at zero, so
 * it fine-tunes the weights that are left. */
long nn_session_prune(nn_session *s, double sparsity);
/* Quantise a copy of the model to int8 and measure it the same way. */
long nn_session_quantize(nn_session *s);
/* Accuracy on the whole training and test sets now (status.probe). */
long nn_session_measure(nn_session *s);
/* Pause, then train exactly n more batches. */
long nn_session_step_batches(nn_session *s, long n);

/* Wait until command seq has been applied; 0, or -1 after timeout_ms. */
int nn_session_wait_applied(nn_session *s, long seq, int timeout_ms);
/* Wait until command seq has been applied and the trainer is idle (paused,
 * done or diverged, with no step to run); 0, or -1 after timeout_ms. */
int nn_session_wait_idle(nn_session *s, long seq, int timeout_ms);

/* Copy the curves of another (stopped) session's monitor into this one's
 * previous runs, so a new model is compared with the one before it. */
void nn_session_adopt_runs(nn_session *s, nn_session *from);
/* The monitor the thread publishes into. */
nn_monitor *nn_session_monitor(nn_session *s);
/* 1 if name is a hyperparameter the session can change while training. */
int nn_session_live_key(const char *key);
/* Fixed facts about the model, safe to read at any time. */
const nn_spec *nn_session_spec(const nn_session *s);
int nn_session_tensor_count(const nn_session *s);
const char *nn_session_tensor_name(const nn_session *s, int tensor);
size_t nn_session_param_count(const nn_session *s);  /* trainable values */
size_t nn_session_param_floats(const nn_session *s); /* floats in a weight snapshot */
/* The model's computational graph, described (nn/graph_desc.h). */
const nn_graph_desc *nn_session_graph(const nn_session *s);
/* The trainer itself: read it only while the session is idle (after
 * nn_session_wait_idle returned 0) or stopped. */
const nn_trainer *nn_session_trainer(const nn_session *s);

#endif
