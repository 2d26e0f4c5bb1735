/* The monitor: what a training thread publishes for the user interfaces.
 *
 * One writer (the trainer thread) appends after every step; any number of
 * readers (the dashboard, the drawing pad, tests) copy out under a short
 * lock into buffers they own and draw from those copies, never under the
 * lock.  Every history is a fixed-capacity series that decimates itself
 * when full (every second point is dropped and the stride doubles), so a
 * run of millions of steps stays bounded in memory while all of it stays
 * visible.
 *
 * The per-step publish never waits for a reader: it takes the lock with
 * trylock and, when a reader holds it, keeps the step in a private queue
 * that the next step flushes. */
#ifndef NN_MONITOR_H
#define NN_MONITOR_H

#include <pthread.h>
#include <stddef.h>

#include "graph.h"
#include "hparams.h"
#include "trainer.h"

/* A decimating history of (x, y) points, x increasing. */
typedef struct nn_series {
    int cap;        /* points it can hold (even) */
    int n;          /* points held */
    long stride;    /* pushes per kept point: 1, 2, 4, ... */
    long seen;      /* points pushed since the last clear */
    float *x, *y;
} nn_series;

int nn_series_init(nn_series *s, int cap, nn_error *err);
void nn_series_free(nn_series *s);
void nn_series_clear(nn_series *s);
/* Append a point; keeps it when the count of pushes is a multiple of the
 * stride, halving the held points and doubling the stride when full. */
void nn_series_push(nn_series *s, float x, float y);
/* Copy the held points (up to cap, the newest when there are more). */
int nn_series_copy(const nn_series *s, float *x, float *y, int cap);

enum nn_run_state {
    NN_STATE_RUNNING,   /* training at full speed or at the speed limit */
    NN_STATE_PAUSED,    /* waiting for a command */
    NN_STATE_STEPPING,  /* running one batch or one epoch, then PAUSED */
    NN_STATE_DONE,      /* all epochs trained */
    NN_STATE_DIVERGED   /* a NaN or Inf appeared; paused */
};
const char *nn_state_name(int state);

/* What a reader can ask for with nn_monitor_series. */
enum nn_series_id {
    NN_SERIES_LOSS,             /* per step: batch loss */
    NN_SERIES_LOSS_SMOOTH,      /* per step: debiased EMA of the loss */
    NN_SERIES_ACCURACY,         /* per step: batch accuracy, 0..1 */
    NN_SERIES_ACCURACY_SMOOTH,  /* per step: debiased EMA of the accuracy */
    NN_SERIES_TRAIN_LOSS,       /* per epoch (x = step at its end): mean training loss */
    NN_SERIES_TRAIN_ACCURACY,   /* per epoch */
    NN_SERIES_TEST_LOSS,        /* per epoch */
    NN_SERIES_TEST_ACCURACY,    /* per epoch */
    NN_SERIES_RUN_COUNT,
    /* index = parameter tensor */
    NN_SERIES_GRAD_NORM = NN_SERIES_RUN_COUNT,
    NN_SERIES_WEIGHT_NORM,
    NN_SERIES_UPDATE_RATIO,
    /* index = previous run, 0 the most recent one (see nn_run_status.prev_runs) */
    NN_SERIES_PREV_LOSS_SMOOTH,
    NN_SERIES_PREV_ACCURACY_SMOOTH,
    NN_SERIES_COUNT
};

#define NN_MONITOR_POINTS 4096      /* per-step and per-epoch histories */
#define NN_MONITOR_TENSOR_POINTS 512 /* per-tensor histories */
#define NN_MONITOR_PREV_RUNS 3      /* curves kept from before resets */
#define NN_MONITOR_EVENTS 256
#define NN_MONITOR_MARKS 256
#define NN_MONITOR_EPOCHS 4096
#define NN_MONITOR_SMOOTHING 0.95   /* EMA factor of the smoothed curves */

/* What a prune, quantize or measure command found. */
typedef struct nn_probe {
    long count;             /* 1, 2, ... one per measurement */
    char what[16];          /* "prune", "quantize", "measure" */
    double train_accuracy, test_accuracy; /* measure: 0..1, dropout off */
    double accuracy_before, accuracy;   /* test accuracy, 0..1 */
    double bytes_before, bytes;         /* weight storage: float32 dense, then as compressed */
    double sparsity;        /* zeros among the weights after it, 0..1 */
} nn_probe;

/* Everything about the run that fits in a few numbers. */
typedef struct nn_run_status {
    int state;              /* enum nn_run_state */
    int run;                /* 1, then +1 on every reset */
    long step;              /* steps done in this run */
    int epoch;              /* epochs completed */
    long samples;           /* training samples seen in this run */
    long samples_per_epoch; /* the training set's size */
    double samples_per_sec; /* recent throughput while running (0 before it is known) */
    double train_seconds;   /* time spent inside training steps */
    double elapsed;         /* seconds the run has been running (pauses excluded) */
    double eta;             /* seconds to the last epoch at the recent rate, < 0 unknown */
    float loss, loss_smooth;         /* last batch, and the EMA */
    float accuracy, accuracy_smooth; /* 0..1 */
    float lr_now;           /* learning rate the last step used (schedule applied) */
    nn_hparams hp;          /* the live hyperparameters */
    int max_batch;          /* largest batch size the graph takes */
    float dropout;          /* rate of the model's dropout layers, < 0 if it has none */
    int speed_limit;        /* steps per second, 0 for unlimited */
    long applied_seq;       /* sequence number of the last command applied */
    long good_step;         /* step of the last good weights kept, -1 none */
    long diverged_step;     /* DIVERGED: the step at which it happened */
    char bad_name[NN_NAME_LEN]; /* DIVERGED: the first tensor that went bad, or "loss" */
    float diverged_loss;    /* DIVERGED by passing hp.max_loss: the loss then; else NaN */
    int prev_runs;          /* previous runs' curves kept (0..NN_MONITOR_PREV_RUNS) */
    int n_tensors;          /* parameter tensors */
    long version;           /* changes on every publish */
    long eval_version;      /* changes with every evaluation */
    int evaluated;          /* this run has an evaluation */
    long event_seq;         /* sequence number of the newest event */
    long weights_version;   /* changes with every weight snapshot */
    long node_grads_step;   /* the step the per-node gradient norms are from; 0: none this run */
    nn_probe probe;         /* the last prune, quantize or measure */
} nn_run_status;

enum nn_event_kind {
    NN_EVENT_INFO,
    NN_EVENT_STATE,     /* paused, resumed, done, reset, restored */
    NN_EVENT_HPARAM,    /* a hyperparameter changed (also a mark) */
    NN_EVENT_EPOCH,     /* an epoch finished and was evaluated */
    NN_EVENT_SAVE,      /* a checkpoint was written */
    NN_EVENT_WARN,      /* divergence */
    NN_EVENT_ERROR      /* a command failed */
};

typedef struct nn_event {
    long seq;           /* 1, 2, 3, ... over the whole session */
    long step;          /* the step it happened after */
    int run;
    int kind;           /* enum nn_event_kind */
    char text[112];
} nn_event;

/* A hyperparameter change, drawn on the loss chart where it happened. */
typedef struct nn_mark {
    long step;          /* the first step that used the new value is step + 1 */
    char key[16];
    double from, to;
} nn_mark;

/* One epoch's figures. */
typedef struct nn_epoch_summary {
    int epoch;          /* 1-based */
    long step;          /* steps done at its end */
    double train_loss, train_accuracy, test_loss, test_accuracy;
    double seconds;     /* wall time of the epoch, evaluation included */
    double samples_per_sec; /* training samples per second of training time, so far */
} nn_epoch_summary;

/* Writer-private queue of steps not yet flushed. */
typedef struct nn_monitor_pending {
    int n, cap;
    nn_step_info *steps;
    float *smooth;          /* 2 per step: loss and accuracy EMA */
    nn_param_stats *stats;  /* n_tensors per step */
} nn_monitor_pending;

typedef struct nn_monitor {
    pthread_mutex_t lock;
    int n_tensors;
    size_t n_params;
    nn_run_status status;
    nn_series run[NN_SERIES_RUN_COUNT];
    nn_series *tensor;      /* 3 per tensor: grad norm, weight norm, update ratio */
    nn_series prev[NN_MONITOR_PREV_RUNS][2];
    nn_event events[NN_MONITOR_EVENTS];
    long n_events;
    nn_mark marks[NN_MONITOR_MARKS];
    int n_marks;
    nn_epoch_summary *epochs;
    long n_epochs;
    nn_eval eval;
    float *weights[2];      /* the published snapshot is weights[front] */
    int front;
    /* per graph node: the gradient norms of one step, computed only while
     * a reader wants them (or when single-stepping) */
    int n_nodes;
    float *node_grad;       /* n_nodes; shared */
    int node_grads_wanted;  /* shared: set by readers */
    float *node_grad_next;  /* writer only: waiting for the next flush */
    long node_grad_next_step;
    int node_grads_on;      /* writer only: node_grads_wanted as of the last flush */
    /* writer only */
    nn_monitor_pending pending;
    double ema[2];
    long ema_count;
    double rate_start, rate_last, rate, elapsed;
    long rate_samples;
} nn_monitor;

/* Set up for a model with n_tensors parameter tensors of n_params floats. */
int nn_monitor_init(nn_monitor *m, int n_tensors, size_t n_params, nn_error *err);
void nn_monitor_free(nn_monitor *m);

/* Keep per-node gradient norms for a graph of n_nodes nodes. */
int nn_monitor_track_nodes(nn_monitor *m, int n_nodes, nn_error *err);

/* ---- reading: each call copies under the lock and returns ---------------- */

/* Copy the newest per-node gradient norms (graph order, NaN where none
 * flows; at most cap); returns the step they are from, 0 if none yet. */
long nn_monitor_node_grads(nn_monitor *m, float *out, int cap);
/* Ask the trainer to compute per-node gradient norms every step (on: 1)
 * or stop (0); they cost a pass over the activation gradients. */
void nn_monitor_want_node_grads(nn_monitor *m, int on);

void nn_monitor_status(nn_monitor *m, nn_run_status *out);
/* Copy a series (id from enum nn_series_id; index is the tensor or the
 * previous run where the id takes one); returns the number of points. */
int nn_monitor_series(nn_monitor *m, int id, int index, float *x, float *y, int cap);
/* Events with seq > after, oldest first; at most cap (the newest ones). */
int nn_monitor_events(nn_monitor *m, long after, nn_event *out, int cap);
/* The current run's hyperparameter marks, oldest first. */
int nn_monitor_marks(nn_monitor *m, nn_mark *out, int cap);
/* The current run's epoch records, oldest first (the newest cap of them). */
int nn_monitor_epochs(nn_monitor *m, nn_epoch_summary *out, int cap);
/* The last evaluation of this run; returns its version (0: none yet). */
long nn_monitor_eval(nn_monitor *m, nn_eval *out);
/* Copy the newest weight snapshot (n_params floats, the graph's flat
 * parameter array) if its version differs from *version; returns 1 and
 * updates *version when it copied. */
int nn_monitor_weights(nn_monitor *m, float *out, long *version);

/* ---- writing: the trainer thread ----------------------------------------- */

/* Record a step and its per-tensor statistics; never blocks. */
void nn_monitor_publish_step(nn_monitor *m, const nn_step_info *s, const nn_param_stats *stats, double now);
/* Offer the per-node gradient norms of step (n_nodes floats); they are
 * published with the next flush.  Never blocks. */
void nn_monitor_publish_node_grads(nn_monitor *m, long step, const float *norms);
/* Whether a reader wanted per-node gradient norms as of the last flush. */
int nn_monitor_node_grads_wanted(const nn_monitor *m);
/* Flush queued steps, waiting for the lock. */
void nn_monitor_flush(nn_monitor *m);
/* Record a finished epoch and its evaluation (ev may be NULL). */
void nn_monitor_publish_epoch(nn_monitor *m, const nn_epoch_summary *r, const nn_eval *ev);
/* Offer a copy of the weights; returns 1 if published, 0 if a reader held
 * the lock (try again later).  Never blocks. */
int nn_monitor_publish_weights(nn_monitor *m, const float *params);
/* Append to the event log. */
void nn_monitor_event(nn_monitor *m, long step, int kind, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* Record a hyperparameter change at step. */
void nn_monitor_mark(nn_monitor *m, long step, const char *key, double from, double to);
/* Start a new run: the smoothed curves move to the previous runs, the
 * current histories, marks and epoch records are cleared. */
void nn_monitor_new_run(nn_monitor *m);
/* Copy src's current smoothed curves and its previous runs into m's
 * previous runs (the newest first), as if src's runs had been m's. */
void nn_monitor_adopt_runs(nn_monitor *m, nn_monitor *src);
/* Training stopped (paused, done): the time until the next step counts
 * neither as elapsed nor in the throughput. */
void nn_monitor_stop_clock(nn_monitor *m);
/* Lock and return the status for the writer to change fields; unlock after. */
nn_run_status *nn_monitor_lock(nn_monitor *m);
void nn_monitor_unlock(nn_monitor *m);

#endif
