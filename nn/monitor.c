/* Histories, event log and weight snapshots shared between the trainer
 * thread and the user interfaces. */
#include "monitor.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PENDING_STEPS 256
#define RATE_WINDOW 0.5     /* seconds of steps behind the throughput figure */
#define RATE_GAP 5.0        /* a longer gap between steps restarts it */

/* ---- series --------------------------------------------------------------- */

int nn_series_init(nn_series *s, int cap, nn_error *err)
{
    memset(s, 0, sizeof *s);
    s->cap = cap < 2 ? 2 : cap & ~1;
    s->stride = 1;
    s->x = malloc((size_t)s->cap * sizeof *s->x);
    s->y = malloc((size_t)s->cap * sizeof *s->y);
    if (!s->x || !s->y) {
        nn_series_free(s);
        return nn_error_set(err, NN_ERUNTIME, "monitor: out of memory");
    }
    return NN_OK;
}

void nn_series_free(nn_series *s)
{
    free(s->x);
    free(s->y);
    memset(s, 0, sizeof *s);
}

void nn_series_clear(nn_series *s)
{
    s->n = 0;
    s->stride = 1;
    s->seen = 0;
}

void nn_series_push(nn_series *s, float x, float y)
{
    if (s->seen++ % s->stride)
        return;
    if (s->n == s->cap) {
        /* Kept points sit at pushes 0, k, 2k, ...; keeping the even ones
         * leaves 0, 2k, 4k, ... and this push (cap * k) is the next of those. */
        for (int i = 0; i < s->cap / 2; i++) {
            s->x[i] = s->x[2 * i];
            s->y[i] = s->y[2 * i];
        }
        s->n = s->cap / 2;
        s->stride *= 2;
    }
    s->x[s->n] = x;
    s->y[s->n] = y;
    s->n++;
}

int nn_series_copy(const nn_series *s, float *x, float *y, int cap)
{
    int n = s->n < cap ? s->n : cap;
    int first = s->n - n;
    memcpy(x, s->x + first, (size_t)n * sizeof *x);
    memcpy(y, s->y + first, (size_t)n * sizeof *y);
    return n;
}

/* ---- set-up --------------------------------------------------------------- */

const char *nn_state_name(int state)
{
    static const char *names[] = {"RUNNING", "PAUSED", "STEPPING", "DONE", "DIVERGED"};
    return state >= 0 && state < (int)(sizeof names / sizeof *names) ? names[state] : "?";
}

int nn_monitor_init(nn_monitor *m, int n_tensors, size_t n_params, nn_error *err)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->lock, NULL);
    m->n_tensors = n_tensors;
    m->n_params = n_params;
    m->status.state = NN_STATE_PAUSED;
    m->status.run = 1;
    m->status.eta = -1;
    m->status.good_step = -1;
    m->status.n_tensors = n_tensors;
    m->status.dropout = -1;
    int ok = 1;
    for (int i = 0; i < NN_SERIES_RUN_COUNT; i++)
        ok &= nn_series_init(&m->run[i], NN_MONITOR_POINTS, err) == NN_OK;
    for (int r = 0; r < NN_MONITOR_PREV_RUNS; r++)
        for (int k = 0; k < 2; k++)
            ok &= nn_series_init(&m->prev[r][k], NN_MONITOR_POINTS, err) == NN_OK;
    m->tensor = calloc((size_t)(3 * n_tensors + 1), sizeof *m->tensor);
    ok &= m->tensor != NULL;
    for (int i = 0; m->tensor && i < 3 * n_tensors; i++)
        ok &= nn_series_init(&m->tensor[i], NN_MONITOR_TENSOR_POINTS, err) == NN_OK;
    m->epochs = calloc(NN_MONITOR_EPOCHS, sizeof *m->epochs);
    m->weights[0] = calloc(n_params + 1, sizeof(float));
    m->weights[1] = calloc(n_params + 1, sizeof(float));
    m->pending.cap = PENDING_STEPS;
    m->pending.steps = calloc(PENDING_STEPS, sizeof *m->pending.steps);
    m->pending.smooth = calloc(2 * PENDING_STEPS, sizeof *m->pending.smooth);
    m->pending.stats = calloc((size_t)PENDING_STEPS * (size_t)(n_tensors + 1), sizeof *m->pending.stats);
    ok &= m->epochs && m->weights[0] && m->weights[1] && m->pending.steps && m->pending.smooth && m->pending.stats;
    if (!ok) {
        nn_monitor_free(m);
        return nn_error_set(err, NN_ERUNTIME, "monitor: out of memory");
    }
    return NN_OK;
}

void nn_monitor_free(nn_monitor *m)
{
    for (int i = 0; i < NN_SERIES_RUN_COUNT; i++)
        nn_series_free(&m->run[i]);
    for (int r = 0; r < NN_MONITOR_PREV_RUNS; r++)
        for (int k = 0; k < 2; k++)
            nn_series_free(&m->prev[r][k]);
    for (int i = 0; m->tensor && i < 3 * m->n_tensors; i++)
        nn_series_free(&m->tensor[i]);
    free(m->tensor);
    free(m->epochs);
    free(m->weights[0]);
    free(m->weights[1]);
    free(m->pending.steps);
    free(m->pending.smooth);
    free(m->pending.stats);
    free(m->node_grad);
    free(m->node_grad_next);
    pthread_mutex_destroy(&m->lock);
    memset(m, 0, sizeof *m);
}

int nn_monitor_track_nodes(nn_monitor *m, int n_nodes, nn_error *err)
{
    free(m->node_grad);
    free(m->node_grad_next);
    m->node_grad = malloc(((size_t)n_nodes + 1) * sizeof(float));
    m->node_grad_next = malloc(((size_t)n_nodes + 1) * sizeof(float));
    m->n_nodes = 0;
    if (!m->node_grad || !m->node_grad_next)
        return nn_error_set(err, NN_ERUNTIME, "monitor: out of memory");
    for (int i = 0; i < n_nodes; i++)
        m->node_grad[i] = m->node_grad_next[i] = NAN;
    m->n_nodes = n_nodes;
    return NN_OK;
}

/* ---- reading -------------------------------------------------------------- */

long nn_monitor_node_grads(nn_monitor *m, float *out, int cap)
{
    pthread_mutex_lock(&m->lock);
    int n = m->n_nodes < cap ? m->n_nodes : cap;
    if (n > 0)
        memcpy(out, m->node_grad, (size_t)n * sizeof(float));
    long step = m->status.node_grads_step;
    pthread_mutex_unlock(&m->lock);
    return step;
}

void nn_monitor_want_node_grads(nn_monitor *m, int on)
{
    pthread_mutex_lock(&m->lock);
    m->node_grads_wanted = on;
    pthread_mutex_unlock(&m->lock);
}

void nn_monitor_status(nn_monitor *m, nn_run_status *out)
{
    pthread_mutex_lock(&m->lock);
    *out = m->status;
    pthread_mutex_unlock(&m->lock);
}

static const nn_series *find_series(const nn_monitor *m, int id, int index)
{
    if (id >= 0 && id < NN_SERIES_RUN_COUNT)
        return &m->run[id];
    if (id >= NN_SERIES_GRAD_NORM && id <= NN_SERIES_UPDATE_RATIO)
        return index >= 0 && index < m->n_tensors ? &m->tensor[3 * index + (id - NN_SERIES_GRAD_NORM)] : NULL;
    if (id == NN_SERIES_PREV_LOSS_SMOOTH || id == NN_SERIES_PREV_ACCURACY_SMOOTH)
        return index >= 0 && index < m->status.prev_runs ? &m->prev[index][id - NN_SERIES_PREV_LOSS_SMOOTH] : NULL;
    return NULL;
}

int nn_monitor_series(nn_monitor *m, int id, int index, float *x, float *y, int cap)
{
    pthread_mutex_lock(&m->lock);
    const nn_series *s = find_series(m, id, index);
    int n = s ? nn_series_copy(s, x, y, cap) : 0;
    pthread_mutex_unlock(&m->lock);
    return n;
}

int nn_monitor_events(nn_monitor *m, long after, nn_event *out, int cap)
{
    pthread_mutex_lock(&m->lock);
    long first = m->n_events - NN_MONITOR_EVENTS;
    if (first < after)
        first = after;
    if (first < m->n_events - cap)
        first = m->n_events - cap;
    if (first < 0)
        first = 0;
    int n = 0;
    for (long i = first; i < m->n_events; i++)
        out[n++] = m->events[i % NN_MONITOR_EVENTS];
    pthread_mutex_unlock(&m->lock);
    return n;
}

int nn_monitor_marks(nn_monitor *m, nn_mark *out, int cap)
{
    pthread_mutex_lock(&m->lock);
    int n = m->n_marks < cap ? m->n_marks : cap;
    memcpy(out, m->marks + (m->n_marks - n), (size_t)n * sizeof *out);
    pthread_mutex_unlock(&m->lock);
    return n;
}

int nn_monitor_epochs(nn_monitor *m, nn_epoch_summary *out, int cap)
{
    pthread_mutex_lock(&m->lock);
    long held = m->n_epochs < NN_MONITOR_EPOCHS ? m->n_epochs : NN_MONITOR_EPOCHS;
    int n = held < cap ? (int)held : cap;
    for (int i = 0; i < n; i++)
        out[i] = m->epochs[(m->n_epochs - n + i) % NN_MONITOR_EPOCHS];
    pthread_mutex_unlock(&m->lock);
    return n;
}

long nn_monitor_eval(nn_monitor *m, nn_eval *out)
{
    pthread_mutex_lock(&m->lock);
    long v = m->status.evaluated ? m->status.eval_version : 0;
    if (v)
        *out = m->eval;
    pthread_mutex_unlock(&m->lock);
    return v;
}

int nn_monitor_weights(nn_monitor *m, float *out, long *version)
{
    pthread_mutex_lock(&m->lock);
    long v = m->status.weights_version;
    int fresh = v != 0 && v != *version;
    if (fresh) {
        memcpy(out, m->weights[m->front], m->n_params * sizeof(float));
        *version = v;
    }
    pthread_mutex_unlock(&m->lock);
    return fresh;
}

/* ---- writing -------------------------------------------------------------- */

/* Move the queued steps into the shared histories; the lock is held. */
static void flush_locked(nn_monitor *m)
{
    nn_monitor_pending *p = &m->pending;
    nn_run_status *st = &m->status;
    for (int i = 0; i < p->n; i++) {
        const nn_step_info *s = &p->steps[i];
        float x = (float)s->step;
        nn_series_push(&m->run[NN_SERIES_LOSS], x, s->loss);
        nn_series_push(&m->run[NN_SERIES_LOSS_SMOOTH], x, p->smooth[2 * i]);
        nn_series_push(&m->run[NN_SERIES_ACCURACY], x, s->accuracy);
        nn_series_push(&m->run[NN_SERIES_ACCURACY_SMOOTH], x, p->smooth[2 * i + 1]);
        const nn_param_stats *stats = p->stats + (size_t)i * (size_t)m->n_tensors;
        for (int t = 0; t < m->n_tensors; t++) {
            nn_series_push(&m->tensor[3 * t], x, stats[t].grad_norm);
            nn_series_push(&m->tensor[3 * t + 1], x, stats[t].weight_norm);
            nn_series_push(&m->tensor[3 * t + 2], x, stats[t].update_ratio);
        }
        st->samples += s->batch;
    }
    if (p->n) {
        const nn_step_info *last = &p->steps[p->n - 1];
        st->step = last->step;
        st->loss = last->loss;
        st->accuracy = last->accuracy;
        st->loss_smooth = p->smooth[2 * (p->n - 1)];
        st->accuracy_smooth = p->smooth[2 * (p->n - 1) + 1];
        st->lr_now = last->lr;
        st->elapsed = m->elapsed;
        st->samples_per_sec = m->rate;
        long total = (long)st->hp.epochs * st->samples_per_epoch;
        st->eta = m->rate > 0 && total >= st->samples ? (double)(total - st->samples) / m->rate : -1;
        st->version++;
    }
    p->n = 0;
    if (m->node_grad_next_step) {
        memcpy(m->node_grad, m->node_grad_next, (size_t)m->n_nodes * sizeof(float));
        st->node_grads_step = m->node_grad_next_step;
        m->node_grad_next_step = 0;
        st->version++;
    }
    m->node_grads_on = m->node_grads_wanted;
}

/* Throughput over the last RATE_WINDOW seconds of steps and time spent
 * running; writer-private until flush_locked copies them out. */
static void update_rate(nn_monitor *m, int batch, double now)
{
    if (m->rate_last == 0 || now - m->rate_last > RATE_GAP) { /* first step, or after a pause */
        m->rate_start = now;
        m->rate_samples = 0;
    } else {
        m->elapsed += now - m->rate_last;
        m->rate_samples += batch;
        double span = now - m->rate_start;
        if (span >= RATE_WINDOW) {
            double rate = (double)m->rate_samples / span;
            m->rate = m->rate > 0 ? 0.5 * m->rate + 0.5 * rate : rate;
            m->rate_start = now;
            m->rate_samples = 0;
        }
    }
    m->rate_last = now;
}

void nn_monitor_publish_step(nn_monitor *m, const nn_step_info *s, const nn_param_stats *stats, double now)
{
    nn_monitor_pending *p = &m->pending;
    if (p->n == p->cap)
        nn_monitor_flush(m);
    /* Debiased EMA, as TensorBoard smooths: the first points are not pulled
     * towards zero. */
    double beta = NN_MONITOR_SMOOTHING;
    m->ema_count++;
    double correction = 1.0 - pow(beta, (double)m->ema_count);
    if (isfinite(s->loss))
        m->ema[0] = beta * m->ema[0] + (1 - beta) * s->loss;
    m->ema[1] = beta * m->ema[1] + (1 - beta) * s->accuracy;
    p->steps[p->n] = *s;
    p->smooth[2 * p->n] = (float)(m->ema[0] / correction);
    p->smooth[2 * p->n + 1] = (float)(m->ema[1] / correction);
    memcpy(p->stats + (size_t)p->n * (size_t)m->n_tensors, stats, (size_t)m->n_tensors * sizeof *stats);
    p->n++;
    update_rate(m, s->batch, now);
    if (pthread_mutex_trylock(&m->lock) == 0) {
        flush_locked(m);
        pthread_mutex_unlock(&m->lock);
    }
}

void nn_monitor_publish_node_grads(nn_monitor *m, long step, const float *norms)
{
    if (!m->n_nodes)
        return;
    memcpy(m->node_grad_next, norms, (size_t)m->n_nodes * sizeof(float));
    m->node_grad_next_step = step;
}

int nn_monitor_node_grads_wanted(const nn_monitor *m)
{
    return m->node_grads_on;
}

void nn_monitor_flush(nn_monitor *m)
{
    pthread_mutex_lock(&m->lock);
    flush_locked(m);
    pthread_mutex_unlock(&m->lock);
}

void nn_monitor_publish_epoch(nn_monitor *m, const nn_epoch_summary *r, const nn_eval *ev)
{
    pthread_mutex_lock(&m->lock);
    flush_locked(m);
    float x = (float)r->step;
    nn_series_push(&m->run[NN_SERIES_TRAIN_LOSS], x, (float)r->train_loss);
    nn_series_push(&m->run[NN_SERIES_TRAIN_ACCURACY], x, (float)r->train_accuracy);
    nn_series_push(&m->run[NN_SERIES_TEST_LOSS], x, (float)r->test_loss);
    nn_series_push(&m->run[NN_SERIES_TEST_ACCURACY], x, (float)r->test_accuracy);
    m->epochs[m->n_epochs % NN_MONITOR_EPOCHS] = *r;
    m->n_epochs++;
    m->status.epoch = r->epoch;
    if (ev) {
        m->eval = *ev;
        m->status.eval_version++;
        m->status.evaluated = 1;
    }
    m->status.version++;
    pthread_mutex_unlock(&m->lock);
}

int nn_monitor_publish_weights(nn_monitor *m, const float *params)
{
    int back = 1 - m->front;
    /* The back buffer is the writer's alone until the swap below. */
    memcpy(m->weights[back], params, m->n_params * sizeof(float));
    if (pthread_mutex_trylock(&m->lock) != 0)
        return 0;
    m->front = back;
    m->status.weights_version++;
    pthread_mutex_unlock(&m->lock);
    return 1;
}

void nn_monitor_event(nn_monitor *m, long step, int kind, const char *fmt, ...)
{
    pthread_mutex_lock(&m->lock);
    nn_event *e = &m->events[m->n_events % NN_MONITOR_EVENTS];
    e->seq = ++m->n_events;
    e->step = step;
    e->run = m->status.run;
    e->kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof e->text, fmt, ap);
    va_end(ap);
    m->status.event_seq = e->seq;
    m->status.version++;
    pthread_mutex_unlock(&m->lock);
}

void nn_monitor_mark(nn_monitor *m, long step, const char *key, double from, double to)
{
    pthread_mutex_lock(&m->lock);
    if (m->n_marks == NN_MONITOR_MARKS) {
        memmove(m->marks, m->marks + 1, (NN_MONITOR_MARKS - 1) * sizeof *m->marks);
        m->n_marks--;
    }
    nn_mark *k = &m->marks[m->n_marks++];
    k->step = step;
    snprintf(k->key, sizeof k->key, "%s", key);
    k->from = from;
    k->to = to;
    m->status.version++;
    pthread_mutex_unlock(&m->lock);
}

void nn_monitor_new_run(nn_monitor *m)
{
    pthread_mutex_lock(&m->lock);
    flush_locked(m);
    /* A run that never trained leaves no curve behind. */
    if (m->run[NN_SERIES_LOSS_SMOOTH].n > 0) {
        /* The oldest kept run is recycled as the newest. */
        nn_series oldest[2] = {m->prev[NN_MONITOR_PREV_RUNS - 1][0], m->prev[NN_MONITOR_PREV_RUNS - 1][1]};
        memmove(m->prev[1], m->prev[0], (NN_MONITOR_PREV_RUNS - 1) * sizeof m->prev[0]);
        m->prev[0][0] = oldest[0];
        m->prev[0][1] = oldest[1];
        nn_series *sources[2] = {&m->run[NN_SERIES_LOSS_SMOOTH], &m->run[NN_SERIES_ACCURACY_SMOOTH]};
        for (int k = 0; k < 2; k++) {
            nn_series *d = &m->prev[0][k];
            nn_series_clear(d);
            d->n = nn_series_copy(sources[k], d->x, d->y, d->cap);
            d->stride = sources[k]->stride;
            d->seen = sources[k]->seen;
        }
        if (m->status.prev_runs < NN_MONITOR_PREV_RUNS)
            m->status.prev_runs++;
    }
    for (int i = 0; i < NN_SERIES_RUN_COUNT; i++)
        nn_series_clear(&m->run[i]);
    for (int i = 0; i < 3 * m->n_tensors; i++)
        nn_series_clear(&m->tensor[i]);
    m->n_marks = 0;
    m->n_epochs = 0;
    m->ema[0] = m->ema[1] = 0;
    m->ema_count = 0;
    m->rate_last = 0;
    m->rate = 0;
    m->elapsed = 0;
    nn_run_status *st = &m->status;
    st->run++;
    st->step = 0;
    st->epoch = 0;
    st->samples = 0;
    st->elapsed = 0;
    st->eta = -1;
    st->loss = st->loss_smooth = st->accuracy = st->accuracy_smooth = 0;
    st->good_step = -1;
    st->evaluated = 0;
    st->node_grads_step = 0;
    m->node_grad_next_step = 0;
    for (int i = 0; i < m->n_nodes; i++)
        m->node_grad[i] = NAN;
    st->samples_per_sec = 0;
    st->version++;
    pthread_mutex_unlock(&m->lock);
}

static void copy_series(nn_series *dst, const nn_series *src)
{
    nn_series_clear(dst);
    dst->n = nn_series_copy(src, dst->x, dst->y, dst->cap);
    dst->stride = src->stride;
    dst->seen = src->seen;
}

void nn_monitor_adopt_runs(nn_monitor *m, nn_monitor *src)
{
    if (m == src)
        return;
    nn_monitor_flush(src);
    pthread_mutex_lock(&src->lock);
    pthread_mutex_lock(&m->lock);
    /* src's current run first, then its previous runs, as many as fit. */
    int kept = 0;
    const nn_series *current[2] = {&src->run[NN_SERIES_LOSS_SMOOTH], &src->run[NN_SERIES_ACCURACY_SMOOTH]};
    if (current[0]->n > 0 && kept < NN_MONITOR_PREV_RUNS) {
        for (int k = 0; k < 2; k++)
            copy_series(&m->prev[kept][k], current[k]);
        kept++;
    }
    for (int r = 0; r < src->status.prev_runs && kept < NN_MONITOR_PREV_RUNS; r++, kept++)
        for (int k = 0; k < 2; k++)
            copy_series(&m->prev[kept][k], &src->prev[r][k]);
    m->status.prev_runs = kept;
    m->status.run = src->status.run + 1;
    m->status.version++;
    pthread_mutex_unlock(&m->lock);
    pthread_mutex_unlock(&src->lock);
}

void nn_monitor_stop_clock(nn_monitor *m)
{
    m->rate_last = 0;
}

nn_run_status *nn_monitor_lock(nn_monitor *m)
{
    pthread_mutex_lock(&m->lock);
    return &m->status;
}

void nn_monitor_unlock(nn_monitor *m)
{
    m->status.version++;
    pthread_mutex_unlock(&m->lock);
}
