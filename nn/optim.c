/* The update rules, written to match PyTorch's so results are comparable:
 *   sgd       w -= lr g
 *   momentum  b = mu b + g;  w -= lr (nesterov ? g + mu b : b)
 *   adam      m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *             w -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
 *   rmsprop   v = a v + (1-a) g^2;  w -= lr g / (sqrt(v) + eps)
 * where g already includes weight_decay * w and l1 * sign(w) for weights. */
#include "optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int nn_optim_init(nn_optim *opt, const nn_graph *g, nn_error *err)
{
    memset(opt, 0, sizeof *opt);
    opt->n = g->n_params;
    opt->m = calloc(opt->n + 1, sizeof(float));
    opt->v = calloc(opt->n + 1, sizeof(float));
    if (!opt->m || !opt->v) {
        nn_optim_free(opt);
        return nn_error_set(err, NN_ERUNTIME, "optimiser: out of memory for %zu parameters", g->n_params);
    }
    return NN_OK;
}

void nn_optim_free(nn_optim *opt)
{
    free(opt->m);
    free(opt->v);
    memset(opt, 0, sizeof *opt);
}

void nn_optim_reset(nn_optim *opt)
{
    memset(opt->m, 0, opt->n * sizeof(float));
    memset(opt->v, 0, opt->n * sizeof(float));
    opt->t = 0;
}

/* Sums for one tensor's statistics, kept in eight lanes so the loop
 * vectorises without reassociating float additions globally. */
typedef struct sums {
    float grad[8], before[8], update[8], after[8];
} sums;

static void update_tensor(nn_optim *opt, const nn_hparams *hp, float lr, float *w, const float *grad,
                          size_t offset, size_t n, int decay, nn_param_stats *st)
{
    float *m = opt->m + offset, *v = opt->v + offset;
    float wd = decay ? hp->weight_decay : 0.0f, l1 = decay ? hp->l1 : 0.0f;
    float mu = hp->momentum, b1 = hp->beta1, b2 = hp->beta2, alpha = hp->alpha, eps = hp->eps;
    float c1 = 1.0f - powf(b1, (float)opt->t), c2 = 1.0f - powf(b2, (float)opt->t);
    float adam_lr = lr / c1, adam_c2 = 1.0f / sqrtf(c2);
    int kind = hp->optimizer, nesterov = hp->nesterov;
    sums s;
    memset(&s, 0, sizeof s);
    double total[4] = {0, 0, 0, 0};
    for (size_t base = 0; base < n; base += 8) {
        int lanes = n - base >= 8 ? 8 : (int)(n - base);
        for (int k = 0; k < lanes; k++) {
            size_t i = base + k;
            float w0 = w[i], g0 = grad[i];
            float g = g0 + wd * w0 + (l1 != 0.0f ? l1 * (float)((w0 > 0.0f) - (w0 < 0.0f)) : 0.0f);
            float d;
            switch (kind) {
            case NN_MOMENTUM:
                m[i] = mu * m[i] + g;
                d = lr * (nesterov ? g + mu * m[i] : m[i]);
                break;
            case NN_ADAM:
                m[i] = b1 * m[i] + (1.0f - b1) * g;
                v[i] = b2 * v[i] + (1.0f - b2) * g * g;
                d = adam_lr * m[i] / (sqrtf(v[i]) * adam_c2 + eps);
                break;
            case NN_RMSPROP:
                v[i] = alpha * v[i] + (1.0f - alpha) * g * g;
                d = lr * g / (sqrtf(v[i]) + eps);
                break;
            default:
                d = lr * g;
            }
            float w1 = w0 - d;
            w[i] = w1;
            s.grad[k] += g0 * g0;
            s.before[k] += w0 * w0;
            s.update[k] += d * d;
            s.after[k] += w1 * w1;
        }
        /* Fold the lanes into double now and then so long tensors stay exact. */
        if ((base & 4095) == 4088 || base + 8 >= n) {
            for (int k = 0; k < 8; k++) {
                total[0] += s.grad[k];
                total[1] += s.before[k];
                total[2] += s.update[k];
                total[3] += s.after[k];
            }
            memset(&s, 0, sizeof s);
        }
    }
    st->grad_norm = (float)sqrt(total[0]);
    st->weight_norm = (float)sqrt(total[3]);
    st->update_ratio = total[1] > 0 ? (float)sqrt(total[2] / total[1]) : (total[2] > 0 ? INFINITY : 0.0f);
}

void nn_optim_step(nn_optim *opt, nn_graph *g, const nn_hparams *hp, float lr)
{
    opt->t++;
    for (int t = 0; t < g->n_param_tensors; t++) {
        nn_node *p = nn_graph_param_node(g, t);
        update_tensor(opt, hp, lr, p->value, p->grad, p->param_offset, p->size, p->decay, &g->stats[t]);
    }
}
