/* A lesson's assertions, checked against what the session's monitor and
 * its (idle) trainer show. */
#include "lesson_check.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *lesson_diverged_text(const nn_run_status *st, char *buf, size_t len)
{
    if (isfinite(st->diverged_loss))
        snprintf(buf, len, "DIVERGED at step %ld: the loss reached %.3g, above max_loss %g", st->diverged_step,
                 st->diverged_loss, st->hp.max_loss);
    else
        snprintf(buf, len, "DIVERGED at step %ld: %s went NaN/Inf", st->diverged_step, st->bad_name);
    return buf;
}

/* The weight tensor of the layer-th layer with weights (1-based), or -1. */
static int layer_tensor(const nn_graph *g, int layer)
{
    int seen = 0;
    for (int i = 0; i < g->n_param_tensors; i++) {
        const nn_node *p = &g->nodes[g->param_nodes[i]];
        if (p->decay && p->ndim >= 2 && ++seen == layer)
            return i;
    }
    return -1;
}

/* The largest difference between any unit's incoming weights (and bias)
 * and the first unit's, and the largest weight magnitude. */
static void unit_spread(const nn_graph *g, int tensor, double *spread, double *scale, int *units)
{
    const nn_node *w = &g->nodes[g->param_nodes[tensor]];
    int rows = w->dim[0];
    size_t cols = w->size / (size_t)rows;
    double d = 0, m = 0;
    for (int i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) {
            double v = w->value[(size_t)i * cols + j];
            d = fmax(d, fabs(v - w->value[j]));
            m = fmax(m, fabs(v));
        }
    if (tensor + 1 < g->n_param_tensors) {
        const nn_node *b = &g->nodes[g->param_nodes[tensor + 1]];
        if (!b->decay && b->size == (size_t)rows)
            for (int i = 0; i < rows; i++) {
                d = fmax(d, fabs((double)b->value[i] - b->value[0]));
                m = fmax(m, fabs((double)b->value[i]));
            }
    }
    *spread = d;
    *scale = m;
    *units = rows;
}

/* Mean of the newest (up to 20) gradient norms of a tensor this run. */
static double recent_grad_norm(nn_session *s, int tensor)
{
    enum { CAP = NN_MONITOR_TENSOR_POINTS };
    static float x[CAP], y[CAP];
    int n = nn_monitor_series(nn_session_monitor(s), NN_SERIES_GRAD_NORM, tensor, x, y, CAP);
    if (n <= 0)
        return NAN;
    int from = n > 20 ? n - 20 : 0;
    double sum = 0;
    for (int i = from; i < n; i++)
        sum += y[i];
    return sum / (n - from);
}

int lesson_check(const nn_lesson_action *a, nn_session *s, lesson_gap *gap, double *value, char *detail, size_t len)
{
    *value = NAN;
    nn_run_status st;
    nn_monitor_status(nn_session_monitor(s), &st);
    const nn_probe *p = &st.probe;
    int ok = 0;
    switch (a->op) {
    case NN_LESSON_EXPECT_DIVERGED:
    case NN_LESSON_EXPECT_FINITE:
        ok = (st.state == NN_STATE_DIVERGED) == (a->op == NN_LESSON_EXPECT_DIVERGED);
        *value = st.state == NN_STATE_DIVERGED && isfinite(st.diverged_loss) ? st.diverged_loss : st.loss_smooth;
        if (st.state == NN_STATE_DIVERGED)
            lesson_diverged_text(&st, detail, len);
        else
            snprintf(detail, len, "%s, loss %.4g", nn_state_name(st.state), st.loss_smooth);
        break;
    case NN_LESSON_EXPECT_IDENTICAL:
    case NN_LESSON_EXPECT_DISTINCT: {
        const nn_graph *g = &nn_session_trainer(s)->graph;
        int tensor = layer_tensor(g, a->layer);
        if (tensor < 0) {
            snprintf(detail, len, "the model has no layer %d with weights", a->layer);
            break;
        }
        double spread, scale;
        int units;
        unit_spread(g, tensor, &spread, &scale, &units);
        int identical = spread <= 1e-6 * (1 + scale);
        ok = identical == (a->op == NN_LESSON_EXPECT_IDENTICAL);
        *value = spread;
        snprintf(detail, len, "%s: %d units, largest difference between units %.3g (weights up to %.3g)",
                 nn_session_tensor_name(s, tensor), units, spread, scale);
        break;
    }
    case NN_LESSON_EXPECT_GAP:
    case NN_LESSON_EXPECT_GAP_SHRINKS: {
        double now = 100 * (p->train_accuracy - p->test_accuracy);
        *value = now;
        if (a->op == NN_LESSON_EXPECT_GAP) {
            ok = nn_lesson_compare(now, a->cmp, a->number);
            snprintf(detail, len, "train %.2f%%, test %.2f%%: gap %.2f points", 100 * p->train_accuracy,
                     100 * p->test_accuracy, now);
        } else if (!gap->have) {
            snprintf(detail, len, "no earlier gap to compare with (expect gap ... first)");
        } else {
            ok = now < gap->last;
            snprintf(detail, len, "train %.2f%%, test %.2f%%: gap %.2f points, was %.2f",
                     100 * p->train_accuracy, 100 * p->test_accuracy, now, gap->last);
        }
        gap->last = now;
        gap->have = isfinite(now);
        break;
    }
    case NN_LESSON_EXPECT_ACCURACY: {
        double acc = 100 * p->accuracy;
        ok = nn_lesson_compare(acc, a->cmp, a->number);
        *value = acc;
        snprintf(detail, len, "test accuracy %.2f%%%s", acc,
                 !strcmp(p->what, "quantize") ? " (int8)" : !strcmp(p->what, "prune") ? " (pruned)" : "");
        break;
    }
    case NN_LESSON_EXPECT_LOSS:
        ok = nn_lesson_compare(st.loss_smooth, a->cmp, a->number);
        *value = st.loss_smooth;
        snprintf(detail, len, "training loss (smoothed) %.4g", st.loss_smooth);
        break;
    case NN_LESSON_EXPECT_GRAD_NORM: {
        int tensor = layer_tensor(&nn_session_trainer(s)->graph, a->layer);
        if (tensor < 0) {
            snprintf(detail, len, "the model has no layer %d with weights", a->layer);
            break;
        }
        double norm = recent_grad_norm(s, tensor);
        ok = nn_lesson_compare(norm, a->cmp, a->number);
        *value = norm;
        snprintf(detail, len, "%s: gradient norm %.3g (mean of the last steps)",
                 nn_session_tensor_name(s, tensor), norm);
        break;
    }
    case NN_LESSON_EXPECT_SPARSITY:
        ok = nn_lesson_compare(p->sparsity, a->cmp, a->number);
        *value = p->sparsity;
        snprintf(detail, len, "%.2f%% of the weights are zero", 100 * p->sparsity);
        break;
    case NN_LESSON_EXPECT_DROP: {
        double drop = 100 * (p->accuracy_before - p->accuracy);
        ok = nn_lesson_compare(drop, a->cmp, a->number);
        *value = drop;
        snprintf(detail, len, "%s: accuracy %.2f%% -> %.2f%% (%.2f points)", p->what,
                 100 * p->accuracy_before, 100 * p->accuracy, drop);
        break;
    }
    case NN_LESSON_EXPECT_SIZE_RATIO: {
        double ratio = p->bytes > 0 ? p->bytes_before / p->bytes : NAN;
        ok = nn_lesson_compare(ratio, a->cmp, a->number);
        *value = ratio;
        snprintf(detail, len, "%s: weights %.1f kB -> %.1f kB (%.2fx smaller)", p->what,
                 p->bytes_before / 1024, p->bytes / 1024, ratio);
        break;
    }
    default:
        snprintf(detail, len, "?");
        break;
    }
    return ok;
}
