/* The search runner: a coordinator thread walks the rungs of the plan (one
 * rung when not halving), and for each rung `jobs` worker threads take
 * trials from a queue and train them up to the rung's epochs.  Between
 * rungs the coordinator keeps the best fraction and frees the others.
 *
 * Every trial's trainer is its own, so a trial's numbers do not depend on
 * which worker ran it or when: they are those of `nnlab train` with the
 * same options and thread count.  BLAS threads are global; the caller sets
 * them (nn_set_threads) before starting. */
#include "search.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_JOBS 64

struct nn_search {
    int n;
    nn_trial *trials;
    nn_trainer **trainers;        /* per trial; NULL before it starts and once it is dropped */
    nn_search_options opt;
    nn_halving_plan plan;
    const nn_dataset *train, *test;
    pthread_mutex_t lock;         /* trials[], the queue, best */
    pthread_mutex_t event_lock;   /* one on_event call at a time */
    pthread_t coordinator;
    int started;
    atomic_int cancel;
    atomic_int finished;
    int *queue;                   /* trial ids of the current rung */
    int queue_len, queue_next;
    int rung_target;              /* epochs of the current rung (halving) */
    int best;                     /* best DONE trial, -1 */
    nn_trainer *best_trainer;
};

static const char *state_names[] = {"pending", "running", "waiting", "done", "cut", "failed", "cancelled"};

const char *nn_trial_state_name(int state)
{
    return state >= 0 && state < (int)(sizeof state_names / sizeof *state_names) ? state_names[state] : "?";
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int nn_search_new(nn_search **out, const nn_trial *trials, int n, const nn_search_options *opt,
                  const nn_dataset *train, const nn_dataset *test, nn_error *err)
{
    *out = NULL;
    if (n < 1 || n > NN_SEARCH_MAX_TRIALS)
        return nn_error_set(err, NN_EINPUT, "search: %d trials (expected 1..%d)", n, NN_SEARCH_MAX_TRIALS);
    if (opt->jobs < 1 || opt->jobs > MAX_JOBS)
        return nn_error_set(err, NN_EINPUT, "search: %d jobs (expected 1..%d)", opt->jobs, MAX_JOBS);
    for (int i = 0; i < n; i++) {
        if (trials[i].hp.epochs > NN_TRIAL_MAX_EPOCHS)
            return nn_error_set(err, NN_EINPUT, "search: trial %d has %d epochs (at most %d)", i + 1,
                                trials[i].hp.epochs, NN_TRIAL_MAX_EPOCHS);
        if (opt->halving && trials[i].hp.epochs != trials[0].hp.epochs)
            return nn_error_set(err, NN_EINPUT, "search: successive halving needs one epoch count for all trials "
                                                "(do not search epochs with --halving)");
    }
    nn_search *s = calloc(1, sizeof *s);
    if (!s)
        return nn_error_set(err, NN_ERUNTIME, "search: out of memory");
    s->n = n;
    s->opt = *opt;
    s->train = train;
    s->test = test;
    s->best = -1;
    s->trials = calloc((size_t)n, sizeof *s->trials);
    s->trainers = calloc((size_t)n, sizeof *s->trainers);
    s->queue = calloc((size_t)n, sizeof *s->queue);
    if (!s->trials || !s->trainers || !s->queue) {
        nn_search_free(s);
        return nn_error_set(err, NN_ERUNTIME, "search: out of memory");
    }
    if (opt->halving) {
        int rc = nn_halving_plan_make(&s->plan, n, trials[0].hp.epochs, opt->min_epochs, opt->keep, err);
        if (rc) {
            nn_search_free(s);
            return rc;
        }
    } else {
        s->plan.rungs = 1;
        s->plan.trials[0] = n;
        s->plan.epochs[0] = 0; /* each trial's own epochs */
    }
    for (int i = 0; i < n; i++) {
        nn_trial *t = &s->trials[i];
        *t = trials[i];
        t->id = i;
        t->state = NN_TRIAL_PENDING;
        t->epoch = 0;
        t->step = 0;
        t->train_loss = t->train_accuracy = t->test_loss = t->test_accuracy = NAN;
        for (int e = 0; e < NN_TRIAL_MAX_EPOCHS; e++)
            t->test_history[e] = NAN;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->event_lock, NULL);
    *out = s;
    return NN_OK;
}

static void free_trainer(nn_trainer *t)
{
    if (t) {
        nn_trainer_free(t);
        free(t);
    }
}

void nn_search_free(nn_search *s)
{
    if (!s)
        return;
    if (s->started)
        nn_search_wait(s);
    if (s->trainers)
        for (int i = 0; i < s->n; i++)
            free_trainer(s->trainers[i]);
    free_trainer(s->best_trainer);
    if (s->trials) {
        pthread_mutex_destroy(&s->lock);
        pthread_mutex_destroy(&s->event_lock);
    }
    free(s->trials);
    free(s->trainers);
    free(s->queue);
    free(s);
}

/* Tell the caller about trial id (a copy taken under the lock). */
static void emit(nn_search *s, int id)
{
    if (!s->opt.on_event)
        return;
    nn_trial copy;
    pthread_mutex_lock(&s->event_lock);
    pthread_mutex_lock(&s->lock);
    copy = s->trials[id];
    pthread_mutex_unlock(&s->lock);
    s->opt.on_event(s->opt.ctx, &copy);
    pthread_mutex_unlock(&s->event_lock);
}

static void set_state(nn_search *s, int id, int state)
{
    pthread_mutex_lock(&s->lock);
    s->trials[id].state = state;
    pthread_mutex_unlock(&s->lock);
    emit(s, id);
}

static void fail(nn_search *s, int id, const char *msg)
{
    pthread_mutex_lock(&s->lock);
    s->trials[id].state = NN_TRIAL_FAILED;
    snprintf(s->trials[id].error, sizeof s->trials[id].error, "%s", msg);
    pthread_mutex_unlock(&s->lock);
    free_trainer(s->trainers[id]);
    s->trainers[id] = NULL;
    emit(s, id);
}

/* A finished trial becomes the best if it beats the best so far (ties go to
 * the lower id, so the outcome does not depend on finishing order); the
 * best keeps its trainer for nn_search_best_trainer. */
static void finish(nn_search *s, int id)
{
    nn_trainer *drop = NULL;
    pthread_mutex_lock(&s->lock);
    nn_trial *t = &s->trials[id];
    t->state = NN_TRIAL_DONE;
    const nn_trial *b = s->best >= 0 ? &s->trials[s->best] : NULL;
    int better = !isnan(t->test_accuracy) &&
                 (!b || t->test_accuracy > b->test_accuracy || (t->test_accuracy == b->test_accuracy && id < b->id));
    if (better) {
        drop = s->best_trainer;
        s->best_trainer = s->trainers[id];
        s->best = id;
    } else {
        drop = s->trainers[id];
    }
    s->trainers[id] = NULL;
    pthread_mutex_unlock(&s->lock);
    free_trainer(drop);
    emit(s, id);
}

/* Train trial id up to target epochs (or until cancelled). */
static void run_trial(nn_search *s, int id, int target)
{
    nn_trial *t = &s->trials[id];
    double start = now_seconds();
    if (!s->trainers[id]) {
        nn_trainer *tr = malloc(sizeof *tr);
        nn_error err;
        if (!tr) {
            fail(s, id, "out of memory");
            return;
        }
        if (nn_trainer_init(tr, t->spec, &t->hp, s->train, &err)) {
            free(tr);
            fail(s, id, err.msg);
            return;
        }
        s->trainers[id] = tr;
    }
    nn_trainer *tr = s->trainers[id];
    pthread_mutex_lock(&s->lock);
    t->state = NN_TRIAL_RUNNING;
    t->target = target;
    t->steps_per_epoch = tr->steps_per_epoch;
    pthread_mutex_unlock(&s->lock);
    emit(s, id);

    while (tr->epoch < target && !atomic_load(&s->cancel)) {
        nn_step_info info;
        nn_trainer_step(tr, &info);
        if (info.bad_loss || info.bad_tensor >= 0) {
            char msg[256];
            snprintf(msg, sizeof msg, "diverged at step %ld (epoch %d): %s is NaN or infinite", info.step,
                     info.epoch + 1,
                     info.bad_tensor >= 0 ? nn_graph_param_node(&tr->graph, info.bad_tensor)->name : "the loss");
            pthread_mutex_lock(&s->lock);
            t->seconds += now_seconds() - start;
            pthread_mutex_unlock(&s->lock);
            fail(s, id, msg);
            return;
        }
        if (!info.epoch_done) {
            pthread_mutex_lock(&s->lock);
            t->step = info.step;
            pthread_mutex_unlock(&s->lock);
            continue;
        }
        double train_loss, train_accuracy;
        nn_trainer_epoch_stats(tr, &train_loss, &train_accuracy);
        nn_eval ev;
        nn_trainer_evaluate(tr, s->test, &ev);
        /* The trainer's own history, which a saved model file keeps. */
        nn_epoch_record rec = {train_loss, train_accuracy, ev.loss, ev.accuracy, now_seconds() - start};
        nn_error err;
        if (nn_trainer_record_epoch(tr, &rec, &err)) {
            fail(s, id, err.msg);
            return;
        }
        pthread_mutex_lock(&s->lock);
        t->step = info.step;
        t->epoch = tr->epoch;
        t->train_loss = train_loss;
        t->train_accuracy = train_accuracy;
        t->test_loss = ev.loss;
        t->test_accuracy = ev.accuracy;
        if (tr->epoch - 1 < NN_TRIAL_MAX_EPOCHS)
            t->test_history[tr->epoch - 1] = ev.accuracy;
        t->samples_per_sec = nn_trainer_samples_per_sec(tr);
        t->seconds += now_seconds() - start;
        start = now_seconds();
        pthread_mutex_unlock(&s->lock);
        emit(s, id);
    }
    pthread_mutex_lock(&s->lock);
    t->seconds += now_seconds() - start;
    pthread_mutex_unlock(&s->lock);
    if (tr->epoch >= t->hp.epochs)
        finish(s, id);
    else if (tr->epoch >= target)
        set_state(s, id, NN_TRIAL_WAITING);
    else {
        free_trainer(tr);
        s->trainers[id] = NULL;
        set_state(s, id, NN_TRIAL_CANCELLED);
    }
}

static void *worker_main(void *arg)
{
    nn_search *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        if (atomic_load(&s->cancel) || s->queue_next >= s->queue_len) {
            pthread_mutex_unlock(&s->lock);
            return NULL;
        }
        int id = s->queue[s->queue_next++];
        int target = s->rung_target ? s->rung_target : s->trials[id].hp.epochs;
        pthread_mutex_unlock(&s->lock);
        run_trial(s, id, target);
    }
}

/* Run the queue with opt.jobs workers (this thread being one of them). */
static void run_rung(nn_search *s)
{
    pthread_t threads[MAX_JOBS];
    int started = 0;
    int helpers = s->opt.jobs < s->queue_len ? s->opt.jobs - 1 : s->queue_len - 1;
    for (int j = 0; j < helpers; j++)
        if (pthread_create(&threads[started], NULL, worker_main, s) == 0)
            started++;
    worker_main(s);
    for (int j = 0; j < started; j++)
        pthread_join(threads[j], NULL);
}

static void *coordinator_main(void *arg)
{
    nn_search *s = arg;
    for (int i = 0; i < s->n; i++)
        s->queue[i] = i;
    int in_rung = s->n;
    double *scores = malloc((size_t)s->n * sizeof *scores);
    int *chosen = malloc((size_t)s->n * sizeof *chosen);
    for (int r = 0; r < s->plan.rungs && scores && chosen; r++) {
        pthread_mutex_lock(&s->lock);
        s->queue_len = in_rung;
        s->queue_next = 0;
        s->rung_target = s->plan.epochs[r];
        pthread_mutex_unlock(&s->lock);
        run_rung(s);
        if (atomic_load(&s->cancel) || r + 1 == s->plan.rungs)
            break;
        /* Keep the best of this rung; a failed trial is never kept. */
        pthread_mutex_lock(&s->lock);
        for (int k = 0; k < in_rung; k++) {
            const nn_trial *t = &s->trials[s->queue[k]];
            scores[k] = t->state == NN_TRIAL_WAITING ? t->test_accuracy : NAN;
        }
        int keep = s->plan.trials[r + 1];
        nn_search_top(scores, in_rung, keep, chosen);
        int next[NN_SEARCH_MAX_TRIALS];
        int kept = 0;
        for (int k = 0; k < keep; k++)
            if (!isnan(scores[chosen[k]]))
                next[kept++] = s->queue[chosen[k]];
        pthread_mutex_unlock(&s->lock);
        for (int k = 0; k < in_rung; k++) {
            int id = s->queue[k], stays = 0;
            for (int j = 0; j < kept; j++)
                stays |= next[j] == id;
            if (!stays && s->trials[id].state == NN_TRIAL_WAITING) {
                free_trainer(s->trainers[id]);
                s->trainers[id] = NULL;
                set_state(s, id, NN_TRIAL_CUT);
            }
        }
        /* Next rung in id order, so the table reads top to bottom. */
        in_rung = 0;
        for (int id = 0; id < s->n; id++)
            for (int j = 0; j < kept; j++)
                if (next[j] == id)
                    s->queue[in_rung++] = id;
        if (in_rung == 0)
            break;
    }
    free(scores);
    free(chosen);
    /* Whatever did not finish was interrupted. */
    for (int id = 0; id < s->n; id++) {
        int st = s->trials[id].state;
        if (st == NN_TRIAL_PENDING || st == NN_TRIAL_WAITING || st == NN_TRIAL_RUNNING) {
            free_trainer(s->trainers[id]);
            s->trainers[id] = NULL;
            set_state(s, id, NN_TRIAL_CANCELLED);
        }
    }
    atomic_store(&s->finished, 1);
    return NULL;
}

int nn_search_start(nn_search *s, nn_error *err)
{
    if (s->started)
        return nn_error_set(err, NN_ERUNTIME, "search: already started");
    if (pthread_create(&s->coordinator, NULL, coordinator_main, s) != 0)
        return nn_error_set(err, NN_ERUNTIME, "search: cannot start a thread");
    s->started = 1;
    return NN_OK;
}

void nn_search_cancel(nn_search *s)
{
    atomic_store(&s->cancel, 1);
}

int nn_search_finished(nn_search *s)
{
    return atomic_load(&s->finished);
}

void nn_search_wait(nn_search *s)
{
    if (s->started) {
        pthread_join(s->coordinator, NULL);
        s->started = 0;
    }
}

int nn_search_snapshot(nn_search *s, nn_trial *out)
{
    pthread_mutex_lock(&s->lock);
    memcpy(out, s->trials, (size_t)s->n * sizeof *out);
    pthread_mutex_unlock(&s->lock);
    return s->n;
}

int nn_search_count(const nn_search *s)
{
    return s->n;
}

int nn_search_best_of(const nn_trial *trials, int n)
{
    int best = -1;
    for (int i = 0; i < n; i++) {
        if (trials[i].state != NN_TRIAL_DONE || isnan(trials[i].test_accuracy))
            continue;
        if (best < 0 || trials[i].test_accuracy > trials[best].test_accuracy)
            best = i;
    }
    return best;
}

nn_trainer *nn_search_best_trainer(nn_search *s, int *trial_id)
{
    if (trial_id)
        *trial_id = s->best;
    return s->best_trainer;
}
