/* The update rules, written to match PyTorch's so results are comparable:
 *   sgd       w -= lr g
 *   momentum  b = mu b + g;  w -= lr (nesterov ? g + mu b : b)
 *   adam      m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *             w -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
 *   rmsprop   v = a v + (1-a) g^2;  w -= lr g / (sqrt(v) + eps)
 * where g already includes weight_decay * w and l1 * sign(w) for weights. */
#include "optim.h"

#include "parallel.h"

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

/* One parameter tensor's update, split between threads by range. */
typedef struct update_job {
    const nn_optim *opt;
    const nn_hparams *hp;
    float lr;
    float *w;
    float *grad;        /* read, then cleared for the next backward pass */
    size_t offset;
    int decay;
    float sums[2][4]; /* per part: |g|^2, |w before|^2, |update|^2, |w after|^2 */
} update_job;

/* One loop per rule so each vectorises; the statistics are reductions the
 * compiler may reorder (omp simd), which is deterministic for a given build. */
#define UPDATE_LOOP(DELTA)                                                        \
    _Pragma("omp simd reduction(+ : sg, sw0, sd, sw1)")                           \
    for (size_t i = begin; i < end; i++) {                                        \
        float w0 = w[i], g0 = grad[i];                                            \
        float g = g0 + wd * w0 + l1 * (float)((w0 > 0.0f) - (w0 < 0.0f));        \
        float d = (DELTA);                                                        \
        float w1 = w0 - d;                                                        \
        w[i] = w1;                                                                \
        grad[i] = 0.0f;                                                           \
        sg += g0 * g0;                                                            \
        sw0 += w0 * w0;                                                           \
        sd += d * d;                                                              \
        sw1 += w1 * w1;                                                           \
    }

static float momentum_delta(float *restrict m, float g, float mu, float lr, int nesterov)
{
    *m = mu * *m + g;
    return lr * (nesterov ? g + mu * *m : *m);
}

static float adam_delta(float *restrict m, float *restrict v, float g, float b1, float b2, float lr_c1,
                        float inv_sqrt_c2, float eps)
{
    *m = b1 * *m + (1.0f - b1) * g;
    *v = b2 * *v + (1.0f - b2) * g * g;
    return lr_c1 * *m / (sqrtf(*v) * inv_sqrt_c2 + eps);
}

static float rmsprop_delta(float *restrict v, float g, float alpha, float lr, float eps)
{
    *v = alpha * *v + (1.0f - alpha) * g * g;
    return lr * g / (sqrtf(*v) + eps);
}

static void update_range(void *ctx, size_t begin, size_t end, int part)
{
    update_job *job = ctx;
    const nn_hparams *hp = job->hp;
    float *restrict w = job->w;
    float *restrict grad = job->grad;
    float *restrict m = job->opt->m + job->offset, *restrict v = job->opt->v + job->offset;
    float lr = job->lr;
    float wd = job->decay ? hp->weight_decay : 0.0f, l1 = job->decay ? hp->l1 : 0.0f;
    float mu = hp->momentum, b1 = hp->beta1, b2 = hp->beta2, alpha = hp->alpha, eps = hp->eps;
    float lr_c1 = lr / (1.0f - powf(b1, (float)job->opt->t));
    float inv_sqrt_c2 = 1.0f / sqrtf(1.0f - powf(b2, (float)job->opt->t));
    /* Float sums keep this memory-bound loop vectorised (double sums cost a
     * third of the mlp step); they overflow only for |w| > 1e19, and the
     * trainer confirms a non-finite norm against the weights themselves. */
    float sg = 0, sw0 = 0, sd = 0, sw1 = 0;
    switch (hp->optimizer) {
    case NN_MOMENTUM:
        if (hp->nesterov)
            UPDATE_LOOP(momentum_delta(&m[i], g, mu, lr, 1))
        else
            UPDATE_LOOP(momentum_delta(&m[i], g, mu, lr, 0))
        break;
    case NN_ADAM:
        UPDATE_LOOP(adam_delta(&m[i], &v[i], g, b1, b2, lr_c1, inv_sqrt_c2, eps))
        break;
    case NN_RMSPROP:
        UPDATE_LOOP(rmsprop_delta(&v[i], g, alpha, lr, eps))
        break;
    default:
        UPDATE_LOOP(lr * g)
    }
    job->sums[part][0] = sg;
    job->sums[part][1] = sw0;
    job->sums[part][2] = sd;
    job->sums[part][3] = sw1;
}

/* Tensors smaller than this are not worth handing to the helper thread. */
#define PARALLEL_MIN_PARAMS 16384

void nn_optim_step(nn_optim *opt, nn_graph *g, const nn_hparams *hp, float lr)
{
    opt->t++;
    for (int t = 0; t < g->n_param_tensors; t++) {
        nn_node *p = nn_graph_param_node(g, t);
        update_job job = {.opt = opt, .hp = hp, .lr = lr, .w = p->value, .grad = p->grad,
                          .offset = p->param_offset, .decay = p->decay};
        int parts = nn_parallel_for(p->size, PARALLEL_MIN_PARAMS, update_range, &job);
        float sum[4] = {0, 0, 0, 0};
        for (int part = 0; part < parts; part++)
            for (int k = 0; k < 4; k++)
                sum[k] += job.sums[part][k];
        nn_param_stats *st = &g->stats[t];
        st->grad_norm = sqrtf(sum[0]);
        st->weight_norm = sqrtf(sum[3]);
        st->update_ratio = sum[1] > 0 ? sqrtf(sum[2] / sum[1]) : (sum[2] > 0 ? INFINITY : 0.0f);
    }
    /* The padding between tensors was never written, so all of grads is 0. */
    g->grads_zeroed = 1;
}
