/* What nn/session.c (the thread, set-up and the caller's side) and
 * nn/session_commands.c (what each command does) share.  Not public:
 * everything outside nn/ goes through session.h. */
#ifndef NN_SESSION_INTERNAL_H
#define NN_SESSION_INTERNAL_H

#include <pthread.h>

#include "graph_desc.h"
#include "prune.h"
#include "session.h"

#define QUEUE_CAP 64

/* A copy of everything a restore puts back. */
typedef struct good_copy {
    float *params, *m, *v;
    long optim_t;
    long step;              /* -1: none kept yet */
} good_copy;

struct nn_session {
    nn_trainer trainer;
    const nn_spec *spec;
    const nn_dataset *test;
    nn_session_config cfg;
    nn_monitor monitor;
    pthread_t thread;
    int started;
    /* the command queue and what waits on it; all under qlock */
    pthread_mutex_t qlock;
    pthread_cond_t qcond;       /* a command arrived */
    pthread_cond_t applied;     /* a command was applied or the thread went idle */
    nn_command queue[QUEUE_CAP];
    long queue_seq[QUEUE_CAP];
    int q_head, q_n;
    long next_seq, applied_seq;
    int idle;
    /* trainer-thread state */
    int running;                /* 1: run on; 0: paused */
    long steps_left;            /* STEPPING: batches still to run */
    int step_epoch;             /* STEPPING: run to the end of the epoch */
    int diverged;
    int quit;                   /* trainer thread: NN_CMD_QUIT applied */
    int stop;                   /* under qlock: nn_session_stop asked, whatever is queued */
    long speed;                 /* steps per second, 0 unlimited */
    double next_step_at;
    double last_weights;
    double epoch_start;
    int dropout_layers;
    good_copy good;
    nn_graph_desc graph;        /* the model's graph, described once */
    nn_prune_mask prune;        /* after a prune command: keeps pruned weights at zero (keep NULL: none) */
};

/* Monotonic seconds. */
double session_now(void);
/* The state the monitor should show (enum nn_run_state). */
int session_state(const nn_session *s);
/* 1 while there is a batch to train (running or stepping). */
int session_busy(const nn_session *s);
/* Copy the weights and optimiser state as the last good ones. */
void session_keep_good(nn_session *s);
/* Publish the state, the live hyperparameters and the speed limit. */
void session_publish_state(nn_session *s);
/* Offer the monitor a weight snapshot. */
void session_publish_weights(nn_session *s, double now);
/* Carry out one command on the trainer thread. */
void session_apply(nn_session *s, const nn_command *c);

#endif
