/* The session's commands, carried out on the trainer thread between
 * batches: run state, live hyperparameters, speed, save, reset, restore. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "model.h"
#include "prune.h"
#include "quant.h"
#include "session_internal.h"

/* ---- keeping the last good weights ---------------------------------------- */

void session_keep_good(nn_session *s)
{
    nn_trainer *t = &s->trainer;
    size_t n = t->graph.n_params;
    memcpy(s->good.params, t->graph.params, n * sizeof(float));
    memcpy(s->good.m, t->optim.m, n * sizeof(float));
    memcpy(s->good.v, t->optim.v, n * sizeof(float));
    s->good.optim_t = t->optim.t;
    s->good.step = t->step;
    nn_run_status *st = nn_monitor_lock(&s->monitor);
    st->good_step = t->step;
    nn_monitor_unlock(&s->monitor);
}

/* ---- state published to the monitor ----------------------------------------- */

int session_state(const nn_session *s)
{
    if (s->diverged)
        return NN_STATE_DIVERGED;
    if (s->steps_left > 0 || s->step_epoch)
        return NN_STATE_STEPPING;
    if (nn_trainer_done(&s->trainer))
        return NN_STATE_DONE;
    return s->running ? NN_STATE_RUNNING : NN_STATE_PAUSED;
}

int session_busy(const nn_session *s)
{
    int state = session_state(s);
    return state == NN_STATE_RUNNING || state == NN_STATE_STEPPING;
}

void session_publish_state(nn_session *s)
{
    int state = session_state(s);
    nn_run_status *st = nn_monitor_lock(&s->monitor);
    int was = st->state;
    st->state = state;
    st->hp = s->trainer.hp;
    st->speed_limit = (int)s->speed;
    nn_monitor_unlock(&s->monitor);
    if (was != state && (was == NN_STATE_RUNNING || was == NN_STATE_STEPPING))
        nn_monitor_stop_clock(&s->monitor);
}

void session_publish_weights(nn_session *s, double now)
{
    if (s->cfg.weights_ms < 0)
        return;
    if (nn_monitor_publish_weights(&s->monitor, s->trainer.graph.params))
        s->last_weights = now;
}

/* ---- commands ------------------------------------------------------------------ */

static const char *live_keys[] = {"lr", "momentum", "weight_decay", "l1", "dropout", "batch", "epochs",
                                  "nesterov", "beta1", "beta2", "alpha", "eps", "schedule", "lr_step",
                                  "lr_gamma", "augment", "init", "seed", "max_loss"};

int nn_session_live_key(const char *key)
{
    for (size_t i = 0; i < sizeof live_keys / sizeof *live_keys; i++)
        if (!strcmp(key, live_keys[i]))
            return 1;
    return 0;
}

/* The numeric value of a live key, for marks on the chart. */
static double hp_value(const nn_hparams *hp, const char *key, float dropout)
{
    if (!strcmp(key, "lr")) return hp->lr;
    if (!strcmp(key, "momentum")) return hp->momentum;
    if (!strcmp(key, "weight_decay")) return hp->weight_decay;
    if (!strcmp(key, "l1")) return hp->l1;
    if (!strcmp(key, "dropout")) return dropout;
    if (!strcmp(key, "batch")) return hp->batch;
    if (!strcmp(key, "epochs")) return hp->epochs;
    if (!strcmp(key, "nesterov")) return hp->nesterov;
    if (!strcmp(key, "beta1")) return hp->beta1;
    if (!strcmp(key, "beta2")) return hp->beta2;
    if (!strcmp(key, "alpha")) return hp->alpha;
    if (!strcmp(key, "eps")) return hp->eps;
    if (!strcmp(key, "schedule")) return hp->schedule;
    if (!strcmp(key, "lr_step")) return hp->lr_step;
    if (!strcmp(key, "lr_gamma")) return hp->lr_gamma;
    if (!strcmp(key, "augment")) return hp->augment;
    if (!strcmp(key, "init")) return hp->init;
    if (!strcmp(key, "seed")) return (double)hp->seed;
    if (!strcmp(key, "max_loss")) return hp->max_loss;
    return NAN;
}

static void set_hparam(nn_session *s, const char *key, const char *value)
{
    nn_trainer *t = &s->trainer;
    long step = t->step;
    if (!nn_session_live_key(key)) {
        nn_monitor_event(&s->monitor, step, NN_EVENT_ERROR, "%s cannot change while training", key);
        return;
    }
    nn_hparams hp = t->hp;
    nn_error err;
    if (nn_hparams_set(&hp, key, value, &err)) {
        nn_monitor_event(&s->monitor, step, NN_EVENT_ERROR, "%s", err.msg);
        return;
    }
    if (hp.batch > t->graph.max_batch) {
        nn_monitor_event(&s->monitor, step, NN_EVENT_ERROR, "batch: %d is above %d, the most this graph takes",
                         hp.batch, t->graph.max_batch);
        return;
    }
    if (!strcmp(key, "dropout") && !s->dropout_layers) {
        nn_monitor_event(&s->monitor, step, NN_EVENT_ERROR, "dropout: the model has no dropout layer");
        return;
    }
    nn_run_status *st = nn_monitor_lock(&s->monitor);
    float old_dropout = st->dropout;
    if (!strcmp(key, "dropout"))
        st->dropout = hp.dropout;
    float new_dropout = st->dropout;
    nn_monitor_unlock(&s->monitor);
    double from = hp_value(&t->hp, key, old_dropout), to = hp_value(&hp, key, new_dropout);
    if (!strcmp(key, "dropout"))
        nn_model_set_dropout(&t->graph, hp.dropout);
    t->hp = hp;
    t->steps_per_epoch = (long)((t->train->count + (size_t)hp.batch - 1) / (size_t)hp.batch);
    if (from == to)
        return;
    /* No mark for these: init and seed change nothing before a reset, and
     * the epoch count changes no step (a lesson sets it for every stage). */
    if (!strcmp(key, "init") || !strcmp(key, "seed") || !strcmp(key, "epochs")) {
        if (strcmp(key, "epochs"))
            nn_monitor_event(&s->monitor, step, NN_EVENT_HPARAM, "%s %s (from the next reset)", key, value);
        else
            nn_monitor_event(&s->monitor, step, NN_EVENT_HPARAM, "epochs %.0f -> %.0f", from, to);
        return;
    }
    nn_monitor_event(&s->monitor, step, NN_EVENT_HPARAM, "%s %.3g -> %.3g", key, from, to);
    nn_monitor_mark(&s->monitor, step, key, from, to);
}

static void save(nn_session *s, const char *path)
{
    nn_trainer *t = &s->trainer;
    char fallback[64];
    if (!path || !*path)
        path = s->cfg.save_path;
    if (!path || !*path) {
        snprintf(fallback, sizeof fallback, "nnlab-step%ld.nnl", t->step);
        path = fallback;
    }
    nn_error err;
    if (s->diverged)
        nn_monitor_event(&s->monitor, t->step, NN_EVENT_ERROR, "not saving %s: the weights are not finite", path);
    else if (nn_checkpoint_save(t, s->spec, path, &err))
        nn_monitor_event(&s->monitor, t->step, NN_EVENT_ERROR, "save: %s", err.msg);
    else
        nn_monitor_event(&s->monitor, t->step, NN_EVENT_SAVE, "saved %s", path);
}

static void reset(nn_session *s)
{
    nn_trainer *t = &s->trainer;
    nn_trainer_reset(t, s->spec);
    nn_prune_mask_free(&s->prune);
    s->diverged = 0;
    s->steps_left = 0;
    s->step_epoch = 0;
    nn_monitor_new_run(&s->monitor);
    session_keep_good(s);
    s->epoch_start = session_now();
    nn_run_status st;
    nn_monitor_status(&s->monitor, &st);
    nn_monitor_event(&s->monitor, 0, NN_EVENT_STATE, "reset: run %d from the initial weights, seed %llu", st.run,
                     (unsigned long long)t->hp.seed);
    session_publish_weights(s, session_now());
}

static void restore(nn_session *s)
{
    nn_trainer *t = &s->trainer;
    if (s->good.step < 0) {
        nn_monitor_event(&s->monitor, t->step, NN_EVENT_ERROR, "restore: no good weights kept yet");
        return;
    }
    size_t n = t->graph.n_params;
    memcpy(t->graph.params, s->good.params, n * sizeof(float));
    memcpy(t->optim.m, s->good.m, n * sizeof(float));
    memcpy(t->optim.v, s->good.v, n * sizeof(float));
    t->optim.t = s->good.optim_t;
    s->diverged = 0;
    nn_monitor_event(&s->monitor, t->step, NN_EVENT_STATE, "restored the weights of step %ld", s->good.step);
    session_publish_weights(s, session_now());
}

/* ---- compression, measured on the test set ---------------------------------------- */

/* Bytes of the weights stored as float32, the matrices' zeros left out
 * (a bitmap marks the kept ones) when sparse is set. */
static double weight_bytes(const nn_graph *g, int sparse)
{
    double bytes = 0;
    for (int i = 0; i < g->n_param_tensors; i++) {
        const nn_node *p = &g->nodes[g->param_nodes[i]];
        if (!sparse || !p->decay) {
            bytes += 4.0 * (double)p->size;
            continue;
        }
        size_t nonzero = 0;
        for (size_t k = 0; k < p->size; k++)
            nonzero += p->value[k] != 0.0f;
        bytes += 4.0 * (double)nonzero + ceil((double)p->size / 8.0);
    }
    return bytes;
}

static void publish_probe(nn_session *s, const nn_probe *probe)
{
    nn_run_status *st = nn_monitor_lock(&s->monitor);
    long count = st->probe.count;
    st->probe = *probe;
    st->probe.count = count + 1;
    nn_monitor_unlock(&s->monitor);
}

static void prune(nn_session *s, const char *value)
{
    nn_trainer *t = &s->trainer;
    double sparsity = strtod(value, NULL);
    nn_probe probe = {.what = "prune"};
    nn_eval ev;
    int have_test = s->test && s->test->count;
    if (have_test) {
        nn_trainer_evaluate(t, s->test, &ev);
        probe.accuracy_before = ev.accuracy;
    }
    probe.bytes_before = weight_bytes(&t->graph, 0);
    nn_prune_mask mask;
    nn_error err;
    if (nn_prune_magnitude(&t->graph, sparsity, &mask, &err)) {
        nn_monitor_event(&s->monitor, t->step, NN_EVENT_ERROR, "prune: %s", err.msg);
        return;
    }
    nn_prune_mask_free(&s->prune);
    s->prune = mask;
    probe.sparsity = nn_prune_sparsity(&t->graph);
    probe.bytes = weight_bytes(&t->graph, 1);
    if (have_test) {
        nn_trainer_evaluate(t, s->test, &ev);
        probe.accuracy = ev.accuracy;
    }
    publish_probe(s, &probe);
    nn_monitor_event(&s->monitor, t->step, NN_EVENT_INFO, "pruned to %.0f%% zeros: accuracy %.2f%% -> %.2f%%, %.0f -> %.0f kB",
                     100 * probe.sparsity, 100 * probe.accuracy_before, 100 * probe.accuracy,
                     probe.bytes_before / 1024, probe.bytes / 1024);
    session_publish_weights(s, session_now());
}

static void quantize(nn_session *s)
{
    nn_trainer *t = &s->trainer;
    nn_graph *g = &t->graph;
    nn_probe probe = {.what = "quantize"};
    if (!s->test || !s->test->count || g->target < 0) {
        nn_monitor_event(&s->monitor, t->step, NN_EVENT_ERROR, "quantize: needs a classifier and a test set");
        return;
    }
    nn_eval ev;
    nn_trainer_evaluate(t, s->test, &ev);
    probe.accuracy_before = ev.accuracy;
    probe.bytes_before = weight_bytes(g, 0);
    probe.sparsity = nn_prune_sparsity(g);
    nn_quant q;
    nn_error err;
    if (nn_quant_build(&q, g, t->train, 1024, &err)) {
        nn_monitor_event(&s->monitor, t->step, NN_EVENT_ERROR, "quantize: %s", err.msg);
        return;
    }
    nn_quant_evaluate(&q, g, s->test, &ev);
    probe.accuracy = ev.accuracy;
    /* int8 weights and a float scale per output channel; the rest stays float */
    double bytes = weight_bytes(g, 0);
    for (int i = 0; i < q.n_layers; i++) {
        const nn_quant_layer *l = &q.layers[i];
        bytes -= 4.0 * (double)l->rows * l->k;
        bytes += (double)l->rows * l->k + 4.0 * l->rows + 4;
    }
    probe.bytes = bytes;
    nn_quant_free(&q);
    publish_probe(s, &probe);
    nn_monitor_event(&s->monitor, t->step, NN_EVENT_INFO, "int8: accuracy %.2f%% -> %.2f%%, %.0f -> %.0f kB",
                     100 * probe.accuracy_before, 100 * probe.accuracy, probe.bytes_before / 1024,
                     probe.bytes / 1024);
}

static void measure(nn_session *s)
{
    nn_trainer *t = &s->trainer;
    nn_probe probe = {.what = "measure", .train_accuracy = NAN, .test_accuracy = NAN};
    nn_eval ev;
    nn_trainer_evaluate(t, t->train, &ev);
    probe.train_accuracy = ev.accuracy;
    if (s->test && s->test->count) {
        nn_trainer_evaluate(t, s->test, &ev);
        probe.test_accuracy = ev.accuracy;
    }
    probe.accuracy = probe.test_accuracy;
    probe.sparsity = nn_prune_sparsity(&t->graph);
    publish_probe(s, &probe);
}

void session_apply(nn_session *s, const nn_command *c)
{
    nn_trainer *t = &s->trainer;
    int was_busy = session_busy(s);
    switch (c->kind) {
    case NN_CMD_TOGGLE:
    case NN_CMD_PAUSE:
    case NN_CMD_RESUME: {
        int run = c->kind == NN_CMD_RESUME || (c->kind == NN_CMD_TOGGLE && !was_busy);
        s->running = run;
        s->steps_left = 0;
        s->step_epoch = 0;
        if (run)
            s->diverged = 0;
        if (run && nn_trainer_done(t))
            nn_monitor_event(&s->monitor, t->step, NN_EVENT_INFO, "all %d epochs are done (r starts over)",
                             t->hp.epochs);
        else if (run != was_busy)
            nn_monitor_event(&s->monitor, t->step, NN_EVENT_STATE, run ? "resumed" : "paused");
        break;
    }
    case NN_CMD_STEP_BATCH:
    case NN_CMD_STEP_EPOCH:
        s->running = 0;
        if (nn_trainer_done(t)) {
            s->steps_left = 0;
            s->step_epoch = 0;
            nn_monitor_event(&s->monitor, t->step, NN_EVENT_INFO, "all %d epochs are done (r starts over)",
                             t->hp.epochs);
        } else if (c->kind == NN_CMD_STEP_BATCH) {
            s->step_epoch = 0;
            s->steps_left += c->number > 0 ? c->number : 1;
            s->diverged = 0;
        } else {
            s->steps_left = 0;
            s->step_epoch = 1;
            s->diverged = 0;
        }
        break;
    case NN_CMD_SET:
        set_hparam(s, c->key, c->value);
        break;
    case NN_CMD_SPEED:
        s->speed = c->number > 0 ? c->number : 0;
        s->next_step_at = 0;
        if (s->speed)
            nn_monitor_event(&s->monitor, t->step, NN_EVENT_INFO, "speed limit %ld steps/s", s->speed);
        else
            nn_monitor_event(&s->monitor, t->step, NN_EVENT_INFO, "speed unlimited");
        break;
    case NN_CMD_SAVE:
        save(s, c->value);
        break;
    case NN_CMD_RESET:
        reset(s);
        break;
    case NN_CMD_RESTORE:
        restore(s);
        break;
    case NN_CMD_QUIT:
        s->quit = 1;
        break;
    case NN_CMD_NOTE:
        nn_monitor_event(&s->monitor, t->step, NN_EVENT_INFO, "%.100s", c->value);
        break;
    case NN_CMD_PRUNE:
        prune(s, c->value);
        break;
    case NN_CMD_QUANTIZE:
        quantize(s);
        break;
    case NN_CMD_MEASURE:
        measure(s);
        break;
    }
    session_publish_state(s);
}

