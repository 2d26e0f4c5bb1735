/* The dense, elementwise and loss ops, and the op table of every op: shape
 * inference, forward and backward side by side.
 *
 * Shapes in comments: n is the batch, K/M feature counts, C channels, S the
 * spatial size per channel.  Backward functions never assume the input
 * gradient was zeroed: the first writer in a pass overwrites it (beta 0),
 * later writers accumulate, so no memset of gradients is needed per step. */
#include "ops.h"

#include "gemm.h"
#include "parallel.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

int nn_infer_same(nn_graph *g, nn_node *node, nn_error *err)
{
    (void)err;
    const nn_node *x = nn_op_input(g, node, 0);
    node->batched = x->batched;
    node->ndim = x->ndim;
    memcpy(node->dim, x->dim, sizeof node->dim);
    node->size = x->size;
    return NN_OK;
}

/* ---- matmul: y[n,M] = x[n,K] W[M,K]^T -------------------------------- */

static int matmul_infer(nn_graph *g, nn_node *node, nn_error *err)
{
    const nn_node *x = nn_op_input(g, node, 0), *w = nn_op_input(g, node, 1);
    if (!x->batched || w->batched || w->ndim != 2)
        return nn_error_set(err, NN_EINPUT, "%s: matmul needs a batched input and a 2-D weight", node->name);
    if ((size_t)w->dim[1] != x->size)
        return nn_error_set(err, NN_EINPUT, "%s: input has %zu features per sample but the weight expects %d",
                            node->name, x->size, w->dim[1]);
    node->batched = 1;
    node->ndim = 1;
    node->dim[0] = w->dim[0];
    node->size = (size_t)w->dim[0];
    return NN_OK;
}

static void matmul_forward(nn_graph *g, nn_node *node, int n)
{
    const nn_node *x = nn_op_input(g, node, 0), *w = nn_op_input(g, node, 1);
    int m = w->dim[0], k = w->dim[1];
    if (n == 1) /* one sample (the pad, predict): gemv skips sgemm's packing of W */
        cblas_sgemv(CblasRowMajor, CblasNoTrans, m, k, 1.0f, w->value, k, x->value, 1, 0.0f, node->value, 1);
    else
        nn_sgemm(&(nn_sgemm_args){.trans_b = 1, .m = n, .n = m, .k = k, .a = x->value, .lda = k,
                                  .b = w->value, .ldb = k, .c = node->value, .ldc = m});
}

static void matmul_backward(nn_graph *g, nn_node *node, int n)
{
    nn_node *x = nn_op_input(g, node, 0), *w = nn_op_input(g, node, 1);
    int m = w->dim[0], k = w->dim[1];
    /* dW[M,K] = dy^T[M,n] x[n,K] */
    nn_sgemm_args dw = {.trans_a = 1, .m = m, .n = k, .k = n, .a = node->grad, .lda = m, .b = x->value, .ldb = k,
                        .beta = w->needs_grad && !nn_grad_first(w), .c = w->grad, .ldc = k};
    /* dx[n,K] = dy[n,M] W[M,K] */
    nn_sgemm_args dx = {.m = n, .n = k, .k = m, .a = node->grad, .lda = m, .b = w->value, .ldb = k,
                        .beta = x->needs_grad && !nn_grad_first(x), .c = x->grad, .ldc = k};
    if (w->needs_grad && x->needs_grad) /* as many flops each: one per thread */
        nn_sgemm_pair(&dw, &dx);
    else if (w->needs_grad)
        nn_sgemm(&dw);
    else if (x->needs_grad)
        nn_sgemm(&dx);
}

static void matmul_gemms(const nn_graph *g, const nn_node *node, int n, nn_gemm_list *out)
{
    const nn_node *x = &g->nodes[node->in[0]], *w = &g->nodes[node->in[1]];
    int m = w->dim[0], k = w->dim[1];
    nn_gemm_add(out, 0, 1, n, m, k); /* forward */
    if (w->needs_grad)
        nn_gemm_add(out, 1, 0, m, k, n);
    if (x->needs_grad)
        nn_gemm_add(out, 0, 0, n, k, m);
}

/* ---- bias: y[n,C,S] = x[n,C,S] + b[C] --------------------------------- */

static int bias_infer(nn_graph *g, nn_node *node, nn_error *err)
{
    const nn_node *x = nn_op_input(g, node, 0), *b = nn_op_input(g, node, 1);
    if (!x->batched || b->batched || b->ndim != 1 || b->dim[0] != x->dim[0])
        return nn_error_set(err, NN_EINPUT, "%s: bias of %d values does not match %d channels",
                            node->name, b->dim[0], x->dim[0]);
    return nn_infer_same(g, node, err);
}

/* Elementwise passes over at least this many floats are split between
 * the two threads: a conv layer's activations are megabytes, and one core
 * alone moves them no faster than it multiplies. */
#define SPLIT_MIN_FLOATS 32768

/* nn_parallel_for's min_split that splits a pass over len floats when it
 * is long enough. */
static size_t split_if_long(size_t count, size_t len)
{
    return len >= SPLIT_MIN_FLOATS ? 2 : count + 1;
}

typedef struct bias_job {
    const float *x, *b, *dy;
    float *y, *dx, *db;
    size_t c, s, size; /* channels, positions per channel, floats per sample */
    int n, first;
} bias_job;

static void bias_forward_samples(void *ctx, size_t begin, size_t end, int part)
{
    (void)part;
    const bias_job *job = ctx;
    size_t c = job->c, s = job->s;
    const float *restrict bias = job->b;
    for (size_t i = begin; i < end; i++) {
        const float *restrict xs = job->x + i * job->size;
        float *restrict ys = job->y + i * job->size;
        if (s == 1) { /* dense: one value per channel, vectorise across channels */
            for (size_t k = 0; k < c; k++)
                ys[k] = xs[k] + bias[k];
            continue;
        }
        for (size_t ch = 0; ch < c; ch++)
            for (size_t j = 0; j < s; j++)
                ys[ch * s + j] = xs[ch * s + j] + bias[ch];
    }
}

static void bias_forward(nn_graph *g, nn_node *node, int n)
{
    const nn_node *x = nn_op_input(g, node, 0), *b = nn_op_input(g, node, 1);
    bias_job job = {.x = x->value, .b = b->value, .y = node->value, .c = (size_t)b->dim[0], .size = x->size};
    job.s = x->size / job.c;
    nn_parallel_for((size_t)n, split_if_long((size_t)n, (size_t)n * x->size), bias_forward_samples, &job);
}

/* db[ch] (+)= the sum of dy over samples and positions, for channels
 * [begin, end); sample by sample, in the same order on any thread. */
static void bias_grad_channels(void *ctx, size_t begin, size_t end, int part)
{
    (void)part;
    const bias_job *job = ctx;
    size_t s = job->s;
    for (size_t ch = begin; ch < end; ch++) {
        float total = job->first ? 0.0f : job->db[ch];
        for (int i = 0; i < job->n; i++) {
            const float *restrict dy = job->dy + (size_t)i * job->size + ch * s;
            float sum = 0;
#pragma omp simd reduction(+ : sum)
            for (size_t j = 0; j < s; j++)
                sum += dy[j];
            total += sum;
        }
        job->db[ch] = total;
    }
}

/* dx (+)= dy over floats [begin, end). */
static void pass_gradient(void *ctx, size_t begin, size_t end, int part)
{
    (void)part;
    const bias_job *job = ctx;
    if (job->first)
        memcpy(job->dx + begin, job->dy + begin, (end - begin) * sizeof(float));
    else
        nn_vec_axpy(job->dx + begin, 1.0f, job->dy + begin, end - begin);
}

static void bias_backward(nn_graph *g, nn_node *node, int n)
{
    nn_node *x = nn_op_input(g, node, 0), *b = nn_op_input(g, node, 1);
    bias_job job = {.dy = node->grad, .c = (size_t)b->dim[0], .size = x->size, .n = n};
    job.s = x->size / job.c;
    size_t len = nn_node_extent(x, n);
    if (b->needs_grad) {
        job.db = b->grad;
        job.first = nn_grad_first(b);
        if (job.s == 1) { /* dense: vectorise across channels */
            if (job.first)
                memset(job.db, 0, job.c * sizeof(float));
            for (int i = 0; i < n; i++)
                for (size_t k = 0; k < job.c; k++)
                    job.db[k] += job.dy[(size_t)i * job.size + k];
        } else {
            nn_parallel_for(job.c, split_if_long(job.c, len), bias_grad_channels, &job);
        }
    }
    if (x->needs_grad) {
        job.dx = x->grad;
        job.first = nn_grad_first(x);
        nn_parallel_for(len, split_if_long(len, len), pass_gradient, &job);
    }
}

/* ---- activations ------------------------------------------------------ */

typedef struct unary_job {
    const float *x, *y, *dy;
    float *out;
    int first;
} unary_job;

/* y = f(x) over [begin, end), and the op that runs it over the batch. */
#define ACTIVATION_FORWARD(fname, EXPR)                                                 \
    static void fname##_range(void *ctx, size_t begin, size_t end, int part)            \
    {                                                                                   \
        (void)part;                                                                     \
        const unary_job *job = ctx;                                                     \
        const float *restrict x = job->x;                                               \
        float *restrict y = job->out;                                                   \
        for (size_t i = begin; i < end; i++)                                            \
            y[i] = (EXPR);                                                              \
    }                                                                                   \
    static void fname(nn_graph *g, nn_node *node, int n)                                \
    {                                                                                   \
        unary_job job = {.x = nn_op_input(g, node, 0)->value, .out = node->value};      \
        size_t len = nn_node_extent(node, n);                                           \
        nn_parallel_for(len, split_if_long(len, len), fname##_range, &job);             \
    }

/* The backward of y = f(x) written in terms of y: dx = dy * f'(y).  The
 * restrict pointers and branch-free derivatives let the loops vectorise. */
#define ACTIVATION_BACKWARD(fname, DERIV)                                               \
    static void fname##_range(void *ctx, size_t begin, size_t end, int part)            \
    {                                                                                   \
        (void)part;                                                                     \
        const unary_job *job = ctx;                                                     \
        const float *restrict y = job->y, *restrict dy = job->dy;                       \
        float *restrict dx = job->out;                                                  \
        if (job->first)                                                                 \
            for (size_t i = begin; i < end; i++)                                        \
                dx[i] = dy[i] * (DERIV);                                                \
        else                                                                            \
            for (size_t i = begin; i < end; i++)                                        \
                dx[i] += dy[i] * (DERIV);                                               \
    }                                                                                   \
    static void fname(nn_graph *g, nn_node *node, int n)                                \
    {                                                                                   \
        nn_node *x = nn_op_input(g, node, 0);                                           \
        unary_job job = {.y = node->value, .dy = node->grad, .out = x->grad,            \
                         .first = nn_grad_first(x)};                                    \
        size_t len = nn_node_extent(node, n);                                           \
        nn_parallel_for(len, split_if_long(len, len), fname##_range, &job);             \
    }

ACTIVATION_FORWARD(relu_forward, x[i] > 0.0f ? x[i] : 0.0f)
ACTIVATION_BACKWARD(relu_backward, (float)(y[i] > 0.0f))
ACTIVATION_FORWARD(tanh_forward, nn_fast_tanhf(x[i]))
ACTIVATION_BACKWARD(tanh_backward, 1.0f - y[i] * y[i])
ACTIVATION_FORWARD(sigmoid_forward, nn_fast_sigmoidf(x[i]))
ACTIVATION_BACKWARD(sigmoid_backward, y[i] * (1.0f - y[i]))

/* ---- dropout (inverted: scaled at training time, identity at eval) ----- */

static int dropout_infer(nn_graph *g, nn_node *node, nn_error *err)
{
    if (!(node->fparam >= 0.0f && node->fparam < 1.0f))
        return nn_error_set(err, NN_EINPUT, "%s: dropout rate %g is not in [0, 1)", node->name, node->fparam);
    nn_infer_same(g, node, err);
    node->aux_size = node->size; /* the mask: 0 or 1/(1-p) per element */
    return NN_OK;
}

static int dropout_active(const nn_graph *g, const nn_node *node)
{
    return g->training && node->fparam > 0.0f;
}

static void dropout_forward(nn_graph *g, nn_node *node, int n)
{
    const float *x = nn_op_input(g, node, 0)->value;
    size_t len = nn_node_extent(node, n);
    if (!dropout_active(g, node)) {
        memcpy(node->value, x, len * sizeof(float));
        return;
    }
    float p = node->fparam, scale = 1.0f / (1.0f - p), *restrict mask = node->aux, *restrict y = node->value;
    nn_rng_fill_uniform(&g->rng, mask, len);
    for (size_t i = 0; i < len; i++) {
        mask[i] = mask[i] < p ? 0.0f : scale;
        y[i] = x[i] * mask[i];
    }
}

static void dropout_backward(nn_graph *g, nn_node *node, int n)
{
    nn_node *x = nn_op_input(g, node, 0);
    size_t len = nn_node_extent(node, n);
    int first = nn_grad_first(x), active = dropout_active(g, node);
    for (size_t i = 0; i < len; i++) {
        float d = active ? node->grad[i] * node->aux[i] : node->grad[i];
        x->grad[i] = first ? d : x->grad[i] + d;
    }
}

/* ---- reshape (the per-sample shape is set by nn_graph_reshape) --------- */

static int reshape_infer(nn_graph *g, nn_node *node, nn_error *err)
{
    const nn_node *x = nn_op_input(g, node, 0);
    node->batched = x->batched;
    node->size = nn_shape_size(node->ndim, node->dim);
    if (node->size != x->size)
        return nn_error_set(err, NN_EINPUT, "%s: cannot reshape %zu values into %zu",
                            node->name, x->size, node->size);
    return NN_OK;
}

static void reshape_forward(nn_graph *g, nn_node *node, int n)
{
    memcpy(node->value, nn_op_input(g, node, 0)->value, nn_node_extent(node, n) * sizeof(float));
}

static void reshape_backward(nn_graph *g, nn_node *node, int n)
{
    nn_node *x = nn_op_input(g, node, 0);
    size_t len = nn_node_extent(node, n);
    if (nn_grad_first(x))
        memcpy(x->grad, node->grad, len * sizeof(float));
    else
        nn_vec_axpy(x->grad, 1.0f, node->grad, len);
}

/* ---- losses: scalar output, mean over the batch ------------------------ */

static int loss_infer(nn_graph *g, nn_node *node, nn_error *err)
{
    const nn_node *x = nn_op_input(g, node, 0), *t = nn_op_input(g, node, 1);
    if (!x->batched || !t->batched || x->size != t->size)
        return nn_error_set(err, NN_EINPUT, "%s: prediction has %zu values per sample but the target has %zu",
                            node->name, x->size, t->size);
    node->batched = 0;
    node->ndim = 0;
    node->size = 1;
    node->aux_size = x->size; /* per-sample probabilities (softmax, sigmoid) */
    return NN_OK;
}

/* Loss gradients scale with dL/dloss so a loss can also feed a sum. */
static void write_loss_grad(nn_node *x, size_t i, float d, int first)
{
    x->grad[i] = first ? d : x->grad[i] + d;
}

/* log sum_j exp(v_j / T) over k values: the normaliser of softmax(v / T). */
static double log_sum_exp_over(const float *v, size_t k, double inv_t)
{
    float max = v[0];
    for (size_t j = 1; j < k; j++)
        max = v[j] > max ? v[j] : max;
    double sum = 0;
    for (size_t j = 0; j < k; j++)
        sum += exp((v[j] - max) * inv_t);
    return max * inv_t + log(sum);
}

/* T^2 KL(softmax(s / T) || softmax(x / T)) of one sample (nn_distill). */
static double distill_term(const float *xs, const float *ss, size_t k, double temperature)
{
    double inv_t = 1.0 / temperature, lse_x = log_sum_exp_over(xs, k, inv_t), lse_s = log_sum_exp_over(ss, k, inv_t);
    double kl = 0;
    for (size_t j = 0; j < k; j++) {
        double log_q = ss[j] * inv_t - lse_s;
        kl += exp(log_q) * (log_q - (xs[j] * inv_t - lse_x));
    }
    return temperature * temperature * kl;
}

static void softmax_xent_forward(nn_graph *g, nn_node *node, int n)
{
    const nn_node *x = nn_op_input(g, node, 0), *t = nn_op_input(g, node, 1);
    const nn_distill *d = g->distill;
    size_t k = x->size;
    double total = 0, soft = 0;
    for (int i = 0; i < n; i++) {
        const float *xs = x->value + i * k, *ts = t->value + i * k;
        float *p = node->aux + i * k;
        float max = xs[0];
        for (size_t j = 1; j < k; j++)
            max = xs[j] > max ? xs[j] : max;
        double sum = 0;
        for (size_t j = 0; j < k; j++) {
            p[j] = expf(xs[j] - max);
            sum += p[j];
        }
        double lse = max + log(sum);
        for (size_t j = 0; j < k; j++) {
            /* Probabilities below 1e-30 become 0: they change no result,
             * and as subnormal floats they would slow every product the
             * gradient (p - t) / n flows through by an order of magnitude. */
            p[j] = p[j] < 1e-30 * sum ? 0.0f : (float)(p[j] / sum);
            if (ts[j] != 0.0f)
                total += ts[j] * (lse - xs[j]);
        }
        if (d)
            soft += distill_term(xs, d->teacher + i * k, k, d->temperature);
    }
    if (d)
        total = (1.0 - d->weight) * total + d->weight * soft;
    node->value[0] = (float)(total / n);
}

static void softmax_xent_backward(nn_graph *g, nn_node *node, int n)
{
    nn_node *x = nn_op_input(g, node, 0), *t = nn_op_input(g, node, 1);
    if (!x->needs_grad)
        return;
    const nn_distill *d = g->distill;
    size_t k = x->size;
    float scale = node->grad[0] / (float)n; /* dL/dloss, 1 at the root */
    float hard = d ? 1.0f - d->weight : 1.0f;
    int first = nn_grad_first(x);
    for (int i = 0; i < n; i++) {
        const float *p = node->aux + i * k, *ts = t->value + i * k;
        float mass = 0; /* sum of the target row: 1 for a label, kept for soft targets */
        for (size_t j = 0; j < k; j++)
            mass += ts[j];
        if (!d) {
            for (size_t j = 0; j < k; j++) /* (p sum(t) - t) / n: the fused gradient */
                write_loss_grad(x, i * k + j, (p[j] * mass - ts[j]) * scale, first);
            continue;
        }
        /* plus weight T (p_T - q) / n for the teacher's term */
        const float *xs = x->value + i * k, *ss = d->teacher + i * k;
        double inv_t = 1.0 / d->temperature, lse_x = log_sum_exp_over(xs, k, inv_t),
               lse_s = log_sum_exp_over(ss, k, inv_t);
        for (size_t j = 0; j < k; j++) {
            double gap = exp(xs[j] * inv_t - lse_x) - exp(ss[j] * inv_t - lse_s);
            float soft = (float)(d->weight * d->temperature * gap);
            write_loss_grad(x, i * k + j, (hard * (p[j] * mass - ts[j]) + soft) * scale, first);
        }
    }
}

static void sigmoid_bce_forward(nn_graph *g, nn_node *node, int n)
{
    const nn_node *x = nn_op_input(g, node, 0), *t = nn_op_input(g, node, 1);
    size_t len = (size_t)n * x->size;
    const float *restrict xs = x->value, *restrict ts = t->value;
    float *restrict prob = node->aux;
    double total = 0;
#pragma omp simd reduction(+ : total)
    for (size_t i = 0; i < len; i++) {
        float z = xs[i], y = ts[i];
        float e = nn_fast_expf(-fabsf(z)), inv = 1.0f / (1.0f + e); /* e in (0, 1] */
        /* log(1 + e^z) - z y, written so that neither term overflows */
        total += (z > 0.0f ? z : 0.0f) - z * y + nn_fast_log1pf(e);
        prob[i] = z >= 0.0f ? inv : e * inv; /* sigmoid(z) */
    }
    node->value[0] = (float)(total / n);
}

static void mse_forward(nn_graph *g, nn_node *node, int n)
{
    const nn_node *x = nn_op_input(g, node, 0), *t = nn_op_input(g, node, 1);
    size_t len = (size_t)n * x->size;
    double total = 0;
    for (size_t i = 0; i < len; i++) {
        double d = (double)x->value[i] - t->value[i];
        total += 0.5 * d * d;
        node->aux[i] = x->value[i];
    }
    node->value[0] = (float)(total / n);
}

/* Both sigmoid_bce and mse keep their prediction in aux (sigmoid(x) and x
 * itself), and both gradients are (prediction - t) / n. */
static void prediction_loss_backward(nn_graph *g, nn_node *node, int n)
{
    nn_node *x = nn_op_input(g, node, 0), *t = nn_op_input(g, node, 1);
    if (!x->needs_grad)
        return;
    size_t len = (size_t)n * x->size;
    float scale = node->grad[0] / (float)n; /* dL/dloss, 1 at the root */
    int first = nn_grad_first(x);
    for (size_t i = 0; i < len; i++)
        write_loss_grad(x, i, (node->aux[i] - t->value[i]) * scale, first);
}

const nn_op_def nn_ops[NN_OP_COUNT] = {
    [NN_OP_INPUT] = {.name = "input", .arity = 0},
    [NN_OP_PARAM] = {.name = "param", .arity = 0},
    [NN_OP_MATMUL] = {.name = "matmul", .arity = 2, .infer = matmul_infer, .forward = matmul_forward,
                      .backward = matmul_backward, .gemms = matmul_gemms},
    [NN_OP_BIAS] = {.name = "bias", .arity = 2, .infer = bias_infer, .forward = bias_forward,
                    .backward = bias_backward},
    [NN_OP_RELU] = {.name = "relu", .arity = 1, .infer = nn_infer_same, .forward = relu_forward,
                    .backward = relu_backward},
    [NN_OP_TANH] = {.name = "tanh", .arity = 1, .infer = nn_infer_same, .forward = tanh_forward,
                    .backward = tanh_backward},
    [NN_OP_SIGMOID] = {.name = "sigmoid", .arity = 1, .infer = nn_infer_same, .forward = sigmoid_forward,
                       .backward = sigmoid_backward},
    [NN_OP_DROPOUT] = {.name = "dropout", .arity = 1, .infer = dropout_infer, .forward = dropout_forward,
                       .backward = dropout_backward},
    [NN_OP_RESHAPE] = {.name = "reshape", .arity = 1, .infer = reshape_infer, .forward = reshape_forward,
                       .backward = reshape_backward},
    [NN_OP_SOFTMAX_XENT] = {.name = "softmax_xent", .arity = 2, .infer = loss_infer, .forward = softmax_xent_forward,
                            .backward = softmax_xent_backward},
    [NN_OP_SIGMOID_BCE] = {.name = "sigmoid_bce", .arity = 2, .infer = loss_infer, .forward = sigmoid_bce_forward,
                           .backward = prediction_loss_backward},
    [NN_OP_MSE] = {.name = "mse", .arity = 2, .infer = loss_infer, .forward = mse_forward,
                   .backward = prediction_loss_backward},
    [NN_OP_CONV2D] = {.name = "conv2d", .arity = 3, .infer = nn_conv2d_infer, .forward = nn_conv2d_forward,
                      .backward = nn_conv2d_backward, .gemms = nn_conv2d_gemms, .min_arity = 2},
    [NN_OP_MAXPOOL] = {.name = "maxpool", .arity = 1, .infer = nn_pool_infer, .forward = nn_maxpool_forward,
                       .backward = nn_maxpool_backward},
    [NN_OP_AVGPOOL] = {.name = "avgpool", .arity = 1, .infer = nn_pool_infer, .forward = nn_avgpool_forward,
                       .backward = nn_avgpool_backward},
    [NN_OP_LSTM] = {.name = "lstm", .arity = 3, .infer = nn_lstm_infer, .forward = nn_lstm_forward,
                    .backward = nn_lstm_backward, .gemms = nn_lstm_gemms},
    [NN_OP_GAUSSIAN] = {.name = "gaussian", .arity = 1, .infer = nn_gaussian_infer, .forward = nn_gaussian_forward,
                        .backward = nn_gaussian_backward},
    [NN_OP_KL] = {.name = "kl", .arity = 1, .infer = nn_kl_infer, .forward = nn_kl_forward,
                  .backward = nn_kl_backward},
    [NN_OP_ADD] = {.name = "add", .arity = 2, .infer = nn_add_infer, .forward = nn_add_forward,
                   .backward = nn_add_backward},
};

void nn_gemm_add(nn_gemm_list *out, int trans_a, int trans_b, int m, int n, int k)
{
    /* A shape already listed is counted again rather than listed twice. */
    for (int i = 0; i < out->count; i++) {
        nn_gemm *g = &out->gemm[i];
        if (g->trans_a == trans_a && g->trans_b == trans_b && g->m == m && g->n == n && g->k == k) {
            g->count++;
            return;
        }
    }
    if (out->count < NN_MAX_GEMMS)
        out->gemm[out->count++] = (nn_gemm){trans_a, trans_b, m, n, k, 1};
}

const char *nn_op_name(int op)
{
    return op >= 0 && op < NN_OP_COUNT ? nn_ops[op].name : "?";
}

int nn_op_arity(int op)
{
    return op >= 0 && op < NN_OP_COUNT ? nn_ops[op].arity : 0;
}
