/* The trainer thread: drains the command queue between batches, trains,
 * evaluates at the end of every epoch and publishes into the monitor. */
#include "session.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checkpoint.h"
#include "session_internal.h"

#define DEFAULT_MAX_BATCH 512
#define DEFAULT_GOOD_EVERY 100
#define DEFAULT_WEIGHTS_MS 50

double session_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static struct timespec deadline(double seconds)
{
    struct timespec ts;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* ---- the thread ---------------------------------------------------------------- */

static void end_epoch(nn_session *s)
{
    nn_trainer *t = &s->trainer;
    nn_epoch_summary r = {.epoch = t->n_history + 1, .step = t->step};
    nn_trainer_epoch_stats(t, &r.train_loss, &r.train_accuracy);
    nn_eval ev;
    int have_eval = s->test && s->test->count;
    if (have_eval) {
        nn_trainer_evaluate(t, s->test, &ev);
        r.test_loss = ev.loss;
        r.test_accuracy = ev.accuracy;
    } else {
        r.test_loss = r.test_accuracy = NAN;
    }
    double end = session_now();
    r.seconds = end - s->epoch_start;
    r.samples_per_sec = nn_trainer_samples_per_sec(t);
    s->epoch_start = end;
    nn_epoch_record kept = {r.train_loss, r.train_accuracy, r.test_loss, r.test_accuracy, r.seconds};
    nn_error err;
    if (nn_trainer_record_epoch(t, &kept, &err))
        nn_monitor_event(&s->monitor, t->step, NN_EVENT_ERROR, "%s", err.msg);
    nn_monitor_publish_epoch(&s->monitor, &r, have_eval ? &ev : NULL);
    if (s->cfg.on_epoch)
        s->cfg.on_epoch(s->cfg.ctx, &r);
    nn_monitor_event(&s->monitor, t->step, NN_EVENT_EPOCH, "epoch %d: loss %.3g, test %.3g, acc %.2f%%", r.epoch,
                     r.train_loss, r.test_loss, 100 * r.test_accuracy);
    if (isfinite(r.train_loss))
        session_keep_good(s);
    if (nn_trainer_done(t))
        nn_monitor_event(&s->monitor, t->step, NN_EVENT_STATE, "done: %d epochs, test accuracy %.2f%%", r.epoch,
                         100 * r.test_accuracy);
}

static void train_one(nn_session *s)
{
    nn_trainer *t = &s->trainer;
    nn_step_info info;
    /* Per-node gradient norms while someone watches them, and for every
     * single step (n), which is how a lesson shows backprop. */
    t->node_grads = s->steps_left > 0 || nn_monitor_node_grads_wanted(&s->monitor);
    nn_trainer_step(t, &info);
    if (s->prune.keep) /* fine-tuning a pruned model: the pruned weights stay zero */
        nn_prune_apply(&t->graph, &s->prune);
    double now = session_now();
    if (s->cfg.on_step)
        s->cfg.on_step(s->cfg.ctx, &info);
    if (t->node_grads)
        nn_monitor_publish_node_grads(&s->monitor, info.step, t->node_grad_norm);
    nn_monitor_publish_step(&s->monitor, &info, t->graph.stats, now);
    if (s->steps_left > 0)
        s->steps_left--;
    int state_changed = s->steps_left == 0 && !s->step_epoch && !s->running;
    if (info.bad_loss || info.bad_tensor >= 0) {
        const char *name = info.bad_tensor >= 0 ? nn_graph_param_node(&t->graph, info.bad_tensor)->name : "loss";
        int too_high = info.bad_loss == 2 && info.bad_tensor < 0;
        s->diverged = 1;
        s->running = 0;
        s->steps_left = 0;
        s->step_epoch = 0;
        nn_monitor_flush(&s->monitor);
        nn_run_status *st = nn_monitor_lock(&s->monitor);
        st->diverged_step = info.step;
        st->diverged_loss = too_high ? info.loss : NAN;
        snprintf(st->bad_name, sizeof st->bad_name, "%s", name);
        nn_monitor_unlock(&s->monitor);
        char why[96];
        if (too_high)
            snprintf(why, sizeof why, "the loss %.3g passed max_loss %g", info.loss, t->hp.max_loss);
        else
            snprintf(why, sizeof why, "%s is NaN/Inf", name);
        if (s->good.step >= 0)
            nn_monitor_event(&s->monitor, info.step, NN_EVENT_WARN, "diverged at step %ld: %s; b restores step %ld",
                             info.step, why, s->good.step);
        else
            nn_monitor_event(&s->monitor, info.step, NN_EVENT_WARN, "diverged at step %ld: %s", info.step, why);
        state_changed = 1;
    } else if (info.step % s->cfg.good_every == 0) {
        session_keep_good(s);
    }
    if (info.epoch_done && !s->diverged) {
        end_epoch(s);
        if (s->step_epoch) {
            s->step_epoch = 0;
            state_changed = 1;
        }
        state_changed |= nn_trainer_done(t);
    }
    if (s->cfg.weights_ms >= 0 && (now - s->last_weights) * 1000 >= s->cfg.weights_ms)
        session_publish_weights(s, now);
    if (state_changed) {
        nn_monitor_flush(&s->monitor);
        session_publish_state(s);
    }
}

static void *trainer_main(void *arg)
{
    nn_session *s = arg;
    pthread_mutex_lock(&s->qlock);
    for (;;) {
        if (s->stop)
            break;
        /* A single step runs before the commands queued behind it, so n, n,
         * + means two batches and then the change. */
        if (s->q_n > 0 && s->steps_left == 0) {
            nn_command c = s->queue[s->q_head];
            long seq = s->queue_seq[s->q_head];
            s->q_head = (s->q_head + 1) % QUEUE_CAP;
            s->q_n--;
            s->idle = 0;
            pthread_mutex_unlock(&s->qlock);
            session_apply(s, &c);
            nn_monitor_lock(&s->monitor)->applied_seq = seq;
            nn_monitor_unlock(&s->monitor);
            pthread_mutex_lock(&s->qlock);
            s->applied_seq = seq;
            pthread_cond_broadcast(&s->applied);
            if (s->quit)
                break;
            continue;
        }
        if (!session_busy(s)) {
            if (!s->idle) {
                s->idle = 1;
                pthread_cond_broadcast(&s->applied);
            }
            pthread_cond_wait(&s->qcond, &s->qlock);
            continue;
        }
        s->idle = 0;
        if (s->speed > 0) {
            double now = session_now();
            if (now < s->next_step_at) {
                struct timespec ts = deadline(s->next_step_at);
                pthread_cond_timedwait(&s->qcond, &s->qlock, &ts);
                continue;
            }
            double interval = 1.0 / (double)s->speed;
            s->next_step_at = s->next_step_at + interval > now ? s->next_step_at + interval : now + interval;
        }
        pthread_mutex_unlock(&s->qlock);
        train_one(s);
        pthread_mutex_lock(&s->qlock);
    }
    s->idle = 1;
    pthread_cond_broadcast(&s->applied);
    pthread_mutex_unlock(&s->qlock);
    nn_monitor_flush(&s->monitor);
    return NULL;
}

/* ---- set-up --------------------------------------------------------------------- */

int nn_session_new(nn_session **out, const nn_spec *spec, const nn_hparams *hp, const nn_dataset *train,
                   const nn_dataset *test, const nn_session_config *cfg, nn_error *err)
{
    *out = NULL;
    nn_session *s = calloc(1, sizeof *s);
    if (!s)
        return nn_error_set(err, NN_ERUNTIME, "session: out of memory");
    if (cfg)
        s->cfg = *cfg;
    if (s->cfg.max_batch <= 0)
        s->cfg.max_batch = hp->batch > DEFAULT_MAX_BATCH ? hp->batch : DEFAULT_MAX_BATCH;
    if (s->cfg.good_every <= 0)
        s->cfg.good_every = DEFAULT_GOOD_EVERY;
    if (s->cfg.weights_ms == 0)
        s->cfg.weights_ms = DEFAULT_WEIGHTS_MS;
    s->spec = spec;
    s->test = test;
    int rc = s->cfg.resume ? nn_checkpoint_resume_max(&s->trainer, s->cfg.resume, hp, train, s->cfg.max_batch, err)
                           : nn_trainer_init_max(&s->trainer, spec, hp, train, s->cfg.max_batch, err);
    if (rc) {
        free(s);
        return rc;
    }
    nn_trainer *t = &s->trainer;
    if (s->cfg.dataset)
        snprintf(t->dataset, sizeof t->dataset, "%.*s", (int)sizeof t->dataset - 1, s->cfg.dataset);
    if (test)
        t->test_count = test->count;
    size_t n = t->graph.n_params;
    s->good.params = malloc((n + 1) * sizeof(float));
    s->good.m = malloc((n + 1) * sizeof(float));
    s->good.v = malloc((n + 1) * sizeof(float));
    s->good.step = -1;
    if (!s->good.params || !s->good.m || !s->good.v ||
        nn_monitor_init(&s->monitor, t->graph.n_param_tensors, n, err) ||
        nn_monitor_track_nodes(&s->monitor, t->graph.n_nodes, err) || nn_graph_describe(&t->graph, &s->graph, err)) {
        if (s->monitor.tensor)
            nn_monitor_free(&s->monitor);
        free(s->good.params);
        free(s->good.m);
        free(s->good.v);
        nn_trainer_free(t);
        free(s);
        return nn_error_set(err, NN_ERUNTIME, "session: out of memory");
    }
    pthread_mutex_init(&s->qlock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->qcond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_cond_init(&s->applied, NULL);
    s->running = !s->cfg.start_paused;
    float dropout = -1;
    for (int i = 0; i < t->graph.n_nodes; i++)
        if (t->graph.nodes[i].op == NN_OP_DROPOUT) {
            s->dropout_layers++;
            dropout = t->graph.nodes[i].fparam;
        }
    nn_run_status *st = nn_monitor_lock(&s->monitor);
    st->samples_per_epoch = (long)train->count;
    st->step = t->step; /* a resumed run starts part way */
    st->epoch = t->epoch;
    st->samples = (long)t->epoch * (long)train->count + (long)t->pos;
    st->max_batch = t->graph.max_batch;
    st->dropout = dropout;
    nn_monitor_unlock(&s->monitor);
    session_keep_good(s);
    session_publish_state(s);
    session_publish_weights(s, 0);
    *out = s;
    return NN_OK;
}

int nn_session_start(nn_session *s, nn_error *err)
{
    if (s->started)
        return NN_OK;
    /* Asynchronous signals belong to the interface's thread. */
    sigset_t block, old;
    sigemptyset(&block);
    int signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGCONT, SIGWINCH, SIGPIPE, SIGALRM,
                     SIGCHLD, SIGUSR1, SIGUSR2, SIGTTIN, SIGTTOU};
    for (size_t i = 0; i < sizeof signals / sizeof *signals; i++)
        sigaddset(&block, signals[i]);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    s->epoch_start = session_now();
    int rc = pthread_create(&s->thread, NULL, trainer_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc)
        return nn_error_set(err, NN_ERUNTIME, "session: cannot start the trainer thread: %s", strerror(rc));
    s->started = 1;
    return NN_OK;
}

void nn_session_stop(nn_session *s)
{
    if (!s->started)
        return;
    pthread_mutex_lock(&s->qlock); /* not through the queue, which may be full */
    s->stop = 1;
    pthread_cond_signal(&s->qcond);
    pthread_mutex_unlock(&s->qlock);
    pthread_join(s->thread, NULL);
    s->started = 0;
}

void nn_session_free(nn_session *s)
{
    if (!s)
        return;
    nn_session_stop(s);
    nn_monitor_free(&s->monitor);
    nn_prune_mask_free(&s->prune);
    nn_trainer_free(&s->trainer);
    nn_graph_desc_free(&s->graph);
    free(s->good.params);
    free(s->good.m);
    free(s->good.v);
    pthread_mutex_destroy(&s->qlock);
    pthread_cond_destroy(&s->qcond);
    pthread_cond_destroy(&s->applied);
    free(s);
}

/* ---- the caller's side ----------------------------------------------------------- */

long nn_session_send(nn_session *s, const nn_command *c)
{
    pthread_mutex_lock(&s->qlock);
    long seq = -1;
    if (s->q_n < QUEUE_CAP) {
        int slot = (s->q_head + s->q_n) % QUEUE_CAP;
        s->queue[slot] = *c;
        seq = s->queue_seq[slot] = ++s->next_seq;
        s->q_n++;
        s->idle = 0;
        pthread_cond_signal(&s->qcond);
    }
    pthread_mutex_unlock(&s->qlock);
    return seq;
}

static long send_kind(nn_session *s, int kind)
{
    nn_command c = {.kind = kind};
    return nn_session_send(s, &c);
}

long nn_session_pause(nn_session *s) { return send_kind(s, NN_CMD_PAUSE); }
long nn_session_resume(nn_session *s) { return send_kind(s, NN_CMD_RESUME); }
long nn_session_toggle(nn_session *s) { return send_kind(s, NN_CMD_TOGGLE); }
long nn_session_step_batch(nn_session *s) { return send_kind(s, NN_CMD_STEP_BATCH); }
long nn_session_step_epoch(nn_session *s) { return send_kind(s, NN_CMD_STEP_EPOCH); }
long nn_session_reset(nn_session *s) { return send_kind(s, NN_CMD_RESET); }
long nn_session_restore(nn_session *s) { return send_kind(s, NN_CMD_RESTORE); }
long nn_session_quit(nn_session *s) { return send_kind(s, NN_CMD_QUIT); }

long nn_session_note(nn_session *s, const char *text)
{
    nn_command c = {.kind = NN_CMD_NOTE};
    snprintf(c.value, sizeof c.value, "%s", text);
    return nn_session_send(s, &c);
}

long nn_session_prune(nn_session *s, double sparsity)
{
    nn_command c = {.kind = NN_CMD_PRUNE};
    snprintf(c.value, sizeof c.value, "%.17g", sparsity);
    return nn_session_send(s, &c);
}

long nn_session_quantize(nn_session *s) { return send_kind(s, NN_CMD_QUANTIZE); }
long nn_session_measure(nn_session *s) { return send_kind(s, NN_CMD_MEASURE); }

long nn_session_step_batches(nn_session *s, long n)
{
    nn_command c = {.kind = NN_CMD_STEP_BATCH, .number = n};
    return nn_session_send(s, &c);
}

void nn_session_adopt_runs(nn_session *s, nn_session *from) { nn_monitor_adopt_runs(&s->monitor, &from->monitor); }

long nn_session_set(nn_session *s, const char *key, const char *value)
{
    nn_command c = {.kind = NN_CMD_SET};
    snprintf(c.key, sizeof c.key, "%s", key);
    snprintf(c.value, sizeof c.value, "%s", value);
    return nn_session_send(s, &c);
}

long nn_session_set_speed(nn_session *s, long steps_per_sec)
{
    nn_command c = {.kind = NN_CMD_SPEED, .number = steps_per_sec};
    return nn_session_send(s, &c);
}

long nn_session_save(nn_session *s, const char *path)
{
    nn_command c = {.kind = NN_CMD_SAVE};
    snprintf(c.value, sizeof c.value, "%s", path ? path : "");
    return nn_session_send(s, &c);
}

static int wait_for(nn_session *s, long seq, int need_idle, int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double end = (double)ts.tv_sec + ts.tv_nsec * 1e-9 + timeout_ms / 1000.0;
    struct timespec until = deadline(end);
    int rc = 0;
    pthread_mutex_lock(&s->qlock);
    while (s->applied_seq < seq || (need_idle && (!s->idle || s->q_n > 0))) {
        if (!s->started && s->q_n > 0) {
            rc = -1;
            break;
        }
        if (pthread_cond_timedwait(&s->applied, &s->qlock, &until) == ETIMEDOUT) {
            rc = -1;
            break;
        }
    }
    pthread_mutex_unlock(&s->qlock);
    return rc;
}

int nn_session_wait_applied(nn_session *s, long seq, int timeout_ms) { return wait_for(s, seq, 0, timeout_ms); }
int nn_session_wait_idle(nn_session *s, long seq, int timeout_ms) { return wait_for(s, seq, 1, timeout_ms); }

nn_monitor *nn_session_monitor(nn_session *s) { return &s->monitor; }
const nn_spec *nn_session_spec(const nn_session *s) { return s->spec; }
int nn_session_tensor_count(const nn_session *s) { return s->trainer.graph.n_param_tensors; }
size_t nn_session_param_count(const nn_session *s) { return s->trainer.graph.param_count; }
size_t nn_session_param_floats(const nn_session *s) { return s->trainer.graph.n_params; }
const nn_trainer *nn_session_trainer(const nn_session *s) { return &s->trainer; }
const nn_graph_desc *nn_session_graph(const nn_session *s) { return &s->graph; }

const char *nn_session_tensor_name(const nn_session *s, int tensor)
{
    const nn_graph *g = &s->trainer.graph;
    return tensor >= 0 && tensor < g->n_param_tensors ? g->nodes[g->param_nodes[tensor]].name : "?";
}
