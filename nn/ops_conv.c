/* Convolution and pooling over per-sample [C,H,W] images.
 *
 * conv2d lowers the input to columns (im2col) so that the convolution is one
 * cblas_sgemm: col[K, P] holds, for each of the P = OH*OW output positions,
 * the K = C*kh*kw input values its kernel sees, and y[O, P] = W[O, K] col.
 * A group of samples shares one product (their columns side by side, then
 * copied out to [n, O, P]) so that OpenBLAS gets a wide matrix; the group is
 * as large as fits a fixed column budget, sized when the graph is built.
 * Backward rebuilds the columns instead of keeping them for the whole batch,
 * which would cost K times the input's memory.
 *
 * Pooling takes no padding and drops a partial window at the edge, as
 * PyTorch does by default; max pooling keeps each window's argmax. */
#include "ops.h"

#include <cblas.h>
#include <float.h>
#include <stdint.h>
#include <string.h>

#include "parallel.h"

/* Floats of column matrix per group: large enough for a wide product, small
 * enough to stay in the last-level cache while the product reads it. */
#define COL_BUDGET ((size_t)1 << 19)

typedef struct conv_geom {
    int c, h, w;        /* input channels and size */
    int o, kh, kw;      /* output channels, kernel size */
    int oh, ow;         /* output size */
    int stride, pad;
    size_t k, p;        /* C*kh*kw rows, OH*OW positions per sample */
    int group;          /* samples per product */
} conv_geom;

static void conv_geometry(const nn_node *node, const nn_node *x, const nn_node *w, conv_geom *cg)
{
    cg->c = x->dim[0];
    cg->h = x->dim[1];
    cg->w = x->dim[2];
    cg->o = w->dim[0];
    cg->kh = w->dim[2];
    cg->kw = w->dim[3];
    cg->stride = node->args.stride;
    cg->pad = node->args.pad;
    cg->oh = (cg->h + 2 * cg->pad - cg->kh) / cg->stride + 1;
    cg->ow = (cg->w + 2 * cg->pad - cg->kw) / cg->stride + 1;
    cg->k = (size_t)cg->c * cg->kh * cg->kw;
    cg->p = (size_t)cg->oh * cg->ow;
    cg->group = node->args.group > 0 ? node->args.group : 1;
}

/* ---- conv2d: y[n,O,OH,OW] = W[O,C,kh,kw] * x[n,C,H,W] -------------------- */

int nn_conv2d_infer(nn_graph *g, nn_node *node, nn_error *err)
{
    const nn_node *x = nn_op_input(g, node, 0), *w = nn_op_input(g, node, 1);
    if (!x->batched || x->ndim != 3)
        return nn_error_set(err, NN_EINPUT, "%s: conv needs images of shape CxHxW, such as 1x28x28", node->name);
    if (w->batched || w->ndim != 4 || w->dim[1] != x->dim[0])
        return nn_error_set(err, NN_EINPUT, "%s: the weight does not match %d input channels", node->name,
                            x->dim[0]);
    if (node->args.stride < 1 || node->args.pad < 0)
        return nn_error_set(err, NN_EINPUT, "%s: stride must be at least 1 and padding at least 0", node->name);
    if (w->dim[2] > x->dim[1] + 2 * node->args.pad || w->dim[3] > x->dim[2] + 2 * node->args.pad)
        return nn_error_set(err, NN_EINPUT, "%s: a %dx%d kernel does not fit the %dx%d input (padding %d)",
                            node->name, w->dim[2], w->dim[3], x->dim[1], x->dim[2], node->args.pad);
    conv_geom cg;
    conv_geometry(node, x, w, &cg);
    size_t per = cg.k * cg.p;
    size_t group = per >= COL_BUDGET ? 1 : COL_BUDGET / per;
    if (group > (size_t)g->max_batch)
        group = (size_t)g->max_batch;
    node->args.group = (int)group;
    node->batched = 1;
    node->ndim = 3;
    node->dim[0] = cg.o;
    node->dim[1] = cg.oh;
    node->dim[2] = cg.ow;
    node->size = (size_t)cg.o * cg.p;
    /* columns [K, group*P], and the product [O, group*P] before it is copied out */
    node->scratch_size = group * cg.p * (cg.k + (group > 1 ? (size_t)cg.o : 0));
    return NN_OK;
}

/* Index of the first output position whose tap at offset d (input index =
 * pos*stride + d) lands inside [0, len), and one past the last. */
static void valid_range(int d, int stride, int len, int out, int *lo, int *hi)
{
    int a = d >= 0 ? 0 : (-d + stride - 1) / stride;
    int b = len - 1 - d < 0 ? 0 : (len - 1 - d) / stride + 1;
    *lo = a < out ? a : out;
    *hi = b < out ? b : out;
    if (*hi < *lo)
        *hi = *lo;
}

/* Row r of one sample's columns: the input value under kernel tap r at each
 * output position, zero where the tap falls in the padding. */
static void im2col_row(const conv_geom *cg, const float *restrict x, size_t r, float *restrict out)
{
    int kk = cg->kh * cg->kw, c = (int)(r / (size_t)kk), ki = (int)(r % (size_t)kk) / cg->kw,
        kj = (int)(r % (size_t)cg->kw), s = cg->stride;
    const float *plane = x + (size_t)c * cg->h * cg->w;
    int lo, hi;
    valid_range(kj - cg->pad, s, cg->w, cg->ow, &lo, &hi);
    for (int oh = 0; oh < cg->oh; oh++) {
        float *restrict o = out + (size_t)oh * cg->ow;
        int ih = oh * s - cg->pad + ki;
        if (ih < 0 || ih >= cg->h) {
            memset(o, 0, (size_t)cg->ow * sizeof(float));
            continue;
        }
        for (int j = 0; j < lo; j++)
            o[j] = 0.0f;
        if (hi > lo) {
            const float *restrict src = plane + (size_t)ih * cg->w + (lo * s - cg->pad + kj);
            if (s == 1)
                memcpy(o + lo, src, (size_t)(hi - lo) * sizeof(float));
            else
                for (int j = lo; j < hi; j++)
                    o[j] = src[(j - lo) * s];
        }
        for (int j = hi; j < cg->ow; j++)
            o[j] = 0.0f;
    }
}

/* The reverse of im2col_row: add row r's values back onto the input
 * positions they were read from. */
static void col2im_row(const conv_geom *cg, const float *restrict in, size_t r, float *restrict dx)
{
    int kk = cg->kh * cg->kw, c = (int)(r / (size_t)kk), ki = (int)(r % (size_t)kk) / cg->kw,
        kj = (int)(r % (size_t)cg->kw), s = cg->stride;
    float *plane = dx + (size_t)c * cg->h * cg->w;
    int lo, hi;
    valid_range(kj - cg->pad, s, cg->w, cg->ow, &lo, &hi);
    for (int oh = 0; oh < cg->oh; oh++) {
        int ih = oh * s - cg->pad + ki;
        if (ih < 0 || ih >= cg->h || hi <= lo)
            continue;
        const float *restrict src = in + (size_t)oh * cg->ow;
        float *restrict d = plane + (size_t)ih * cg->w + (lo * s - cg->pad + kj);
        if (s == 1)
            for (int j = lo; j < hi; j++)
                d[j - lo] += src[j];
        else
            for (int j = lo; j < hi; j++)
                d[(j - lo) * s] += src[j];
    }
}

typedef struct conv_job {
    const conv_geom *cg;
    const float *x;     /* im2col: the group's first input sample */
    float *dx;          /* col2im: the group's first input gradient */
    float *col;         /* [K, ld] */
    size_t ld;          /* group samples * P */
    int samples;
    int overwrite;      /* col2im: dx was not written yet this pass */
} conv_job;

/* Rows [begin, end) of the group's columns, for every sample. */
static void im2col_rows(void *ctx, size_t begin, size_t end, int part)
{
    (void)part;
    const conv_job *job = ctx;
    const conv_geom *cg = job->cg;
    size_t xs = (size_t)cg->c * cg->h * cg->w;
    for (size_t r = begin; r < end; r++)
        for (int j = 0; j < job->samples; j++)
            im2col_row(cg, job->x + j * xs, r, job->col + r * job->ld + j * cg->p);
}

/* Input planes [begin, end) of the group (sample-major), each from the
 * kh*kw column rows of its channel. */
static void col2im_planes(void *ctx, size_t begin, size_t end, int part)
{
    (void)part;
    const conv_job *job = ctx;
    const conv_geom *cg = job->cg;
    size_t xs = (size_t)cg->c * cg->h * cg->w, plane = (size_t)cg->h * cg->w, kk = (size_t)cg->kh * cg->kw;
    for (size_t q = begin; q < end; q++) {
        size_t j = q / (size_t)cg->c, c = q % (size_t)cg->c;
        float *dx = job->dx + j * xs;
        if (job->overwrite)
            memset(dx + c * plane, 0, plane * sizeof(float));
        for (size_t r = c * kk; r < (c + 1) * kk; r++)
            col2im_row(cg, job->col + r * job->ld + j * cg->p, r, dx);
    }
}

static float *conv_columns(const conv_geom *cg, nn_node *node, const float *x, int samples, size_t ld)
{
    conv_job job = {.cg = cg, .x = x, .col = node->scratch, .ld = ld, .samples = samples};
    nn_parallel_for(cg->k, 2, im2col_rows, &job);
    return node->scratch;
}

void nn_conv2d_forward(nn_graph *g, nn_node *node, int n)
{
    const nn_node *x = nn_op_input(g, node, 0), *w = nn_op_input(g, node, 1);
    conv_geom cg;
    conv_geometry(node, x, w, &cg);
    for (int s0 = 0; s0 < n; s0 += cg.group) {
        int gn = n - s0 < cg.group ? n - s0 : cg.group;
        size_t ld = (size_t)gn * cg.p;
        float *col = conv_columns(&cg, node, x->value + s0 * x->size, gn, ld);
        float *y = node->value + s0 * node->size;
        if (gn == 1) { /* y[O, P] = W[O, K] col[K, P] */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cg.o, (int)cg.p, (int)cg.k, 1.0f, w->value,
                        (int)cg.k, col, (int)ld, 0.0f, y, (int)cg.p);
            continue;
        }
        float *prod = node->scratch + cg.k * (size_t)cg.group * cg.p; /* [O, gn*P] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cg.o, (int)ld, (int)cg.k, 1.0f, w->value,
                    (int)cg.k, col, (int)ld, 0.0f, prod, (int)ld);
        for (int j = 0; j < gn; j++)
            for (int o = 0; o < cg.o; o++)
                memcpy(y + j * node->size + (size_t)o * cg.p, prod + (size_t)o * ld + j * cg.p,
                       cg.p * sizeof(float));
    }
}

void nn_conv2d_backward(nn_graph *g, nn_node *node, int n)
{
    nn_node *x = nn_op_input(g, node, 0), *w = nn_op_input(g, node, 1);
    conv_geom cg;
    conv_geometry(node, x, w, &cg);
    int w_first = w->needs_grad && nn_grad_first(w);
    int x_first = x->needs_grad && nn_grad_first(x);
    for (int s0 = 0; s0 < n; s0 += cg.group) {
        int gn = n - s0 < cg.group ? n - s0 : cg.group;
        size_t ld = (size_t)gn * cg.p;
        float *col = conv_columns(&cg, node, x->value + s0 * x->size, gn, ld);
        float *dy = node->grad + s0 * node->size;
        if (gn > 1) { /* gather dy[gn, O, P] into [O, gn*P], beside the columns */
            float *prod = node->scratch + cg.k * (size_t)cg.group * cg.p;
            for (int j = 0; j < gn; j++)
                for (int o = 0; o < cg.o; o++)
                    memcpy(prod + (size_t)o * ld + j * cg.p, dy + j * node->size + (size_t)o * cg.p,
                           cg.p * sizeof(float));
            dy = prod;
        }
        if (w->needs_grad) /* dW[O, K] += dy[O, P'] col[K, P']^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, cg.o, (int)cg.k, (int)ld, 1.0f, dy, (int)ld, col,
                        (int)ld, w_first && s0 == 0 ? 0.0f : 1.0f, w->grad, (int)cg.k);
        if (!x->needs_grad)
            continue;
        /* dcol[K, P'] = W[O, K]^T dy[O, P'], in place of the columns */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)cg.k, (int)ld, cg.o, 1.0f, w->value, (int)cg.k,
                    dy, (int)ld, 0.0f, col, (int)ld);
        conv_job job = {.cg = &cg, .dx = x->grad + s0 * x->size, .col = col, .ld = ld, .samples = gn,
                        .overwrite = x_first};
        nn_parallel_for((size_t)gn * cg.c, 2, col2im_planes, &job);
    }
}

/* ---- pooling: y[n,C,OH,OW] from kh x kw windows of x[n,C,H,W] ------------ */

int nn_pool_infer(nn_graph *g, nn_node *node, nn_error *err)
{
    const nn_node *x = nn_op_input(g, node, 0);
    const nn_op_args *a = &node->args;
    if (!x->batched || x->ndim != 3)
        return nn_error_set(err, NN_EINPUT, "%s: pooling needs images of shape CxHxW, such as 6x28x28",
                            node->name);
    if (a->kh < 1 || a->kw < 1 || a->stride < 1)
        return nn_error_set(err, NN_EINPUT, "%s: window and stride must be at least 1", node->name);
    if (a->kh > x->dim[1] || a->kw > x->dim[2])
        return nn_error_set(err, NN_EINPUT, "%s: a %dx%d window does not fit the %dx%d input", node->name, a->kh,
                            a->kw, x->dim[1], x->dim[2]);
    node->batched = 1;
    node->ndim = 3;
    node->dim[0] = x->dim[0];
    node->dim[1] = (x->dim[1] - a->kh) / a->stride + 1;
    node->dim[2] = (x->dim[2] - a->kw) / a->stride + 1;
    node->size = nn_shape_size(3, node->dim);
    node->aux_size = node->op == NN_OP_MAXPOOL ? node->size : 0; /* argmax per output, as int32 */
    return NN_OK;
}

typedef struct pool_job {
    const nn_node *node;
    const nn_node *x;
    float *dx;
    int overwrite;
} pool_job;

/* Each output the maximum of its window; idx keeps where it was. */
static void maxpool_planes(void *ctx, size_t begin, size_t end, int part)
{
    (void)part;
    const pool_job *job = ctx;
    const nn_node *node = job->node, *x = job->x;
    int h = x->dim[1], w = x->dim[2], oh = node->dim[1], ow = node->dim[2];
    int kh = node->args.kh, kw = node->args.kw, s = node->args.stride;
    size_t in_plane = (size_t)h * w, out_plane = (size_t)oh * ow;
    for (size_t q = begin; q < end; q++) {
        const float *restrict xp = x->value + q * in_plane;
        float *restrict yp = node->value + q * out_plane;
        int32_t *restrict ip = (int32_t *)node->aux + q * out_plane;
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                int at = i * s * w + j * s;
                float best = xp[at];
                int best_at = at;
                for (int a = 0; a < kh; a++)
                    for (int b = 0; b < kw; b++) {
                        int k = at + a * w + b;
                        if (xp[k] > best) {
                            best = xp[k];
                            best_at = k;
                        }
                    }
                yp[i * ow + j] = best;
                ip[i * ow + j] = best_at;
            }
    }
}

void nn_maxpool_forward(nn_graph *g, nn_node *node, int n)
{
    pool_job job = {.node = node, .x = nn_op_input(g, node, 0)};
    nn_parallel_for((size_t)n * node->dim[0], 2, maxpool_planes, &job);
}

/* dx gets each output's gradient at its window's argmax. */
static void maxpool_back_planes(void *ctx, size_t begin, size_t end, int part)
{
    (void)part;
    const pool_job *job = ctx;
    const nn_node *node = job->node, *x = job->x;
    size_t in_plane = (size_t)x->dim[1] * x->dim[2], out_plane = (size_t)node->dim[1] * node->dim[2];
    for (size_t q = begin; q < end; q++) {
        float *restrict dx = job->dx + q * in_plane;
        const float *restrict dy = node->grad + q * out_plane;
        const int32_t *restrict ip = (const int32_t *)node->aux + q * out_plane;
        if (job->overwrite)
            memset(dx, 0, in_plane * sizeof(float));
        for (size_t k = 0; k < out_plane; k++)
            dx[ip[k]] += dy[k];
    }
}

void nn_maxpool_backward(nn_graph *g, nn_node *node, int n)
{
    nn_node *x = nn_op_input(g, node, 0);
    pool_job job = {.node = node, .x = x, .dx = x->grad, .overwrite = nn_grad_first(x)};
    nn_parallel_for((size_t)n * node->dim[0], 2, maxpool_back_planes, &job);
}

static void avgpool_planes(void *ctx, size_t begin, size_t end, int part)
{
    (void)part;
    const pool_job *job = ctx;
    const nn_node *node = job->node, *x = job->x;
    int h = x->dim[1], w = x->dim[2], oh = node->dim[1], ow = node->dim[2];
    int kh = node->args.kh, kw = node->args.kw, s = node->args.stride;
    float scale = 1.0f / (float)(kh * kw);
    size_t in_plane = (size_t)h * w, out_plane = (size_t)oh * ow;
    for (size_t q = begin; q < end; q++) {
        const float *restrict xp = x->value + q * in_plane;
        float *restrict yp = node->value + q * out_plane;
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                const float *win = xp + (size_t)i * s * w + (size_t)j * s;
                float sum = 0.0f;
                for (int a = 0; a < kh; a++)
                    for (int b = 0; b < kw; b++)
                        sum += win[a * w + b];
                yp[i * ow + j] = sum * scale;
            }
    }
}

void nn_avgpool_forward(nn_graph *g, nn_node *node, int n)
{
    pool_job job = {.node = node, .x = nn_op_input(g, node, 0)};
    nn_parallel_for((size_t)n * node->dim[0], 2, avgpool_planes, &job);
}

/* dx gets each output's gradient spread evenly over its window. */
static void avgpool_back_planes(void *ctx, size_t begin, size_t end, int part)
{
    (void)part;
    const pool_job *job = ctx;
    const nn_node *node = job->node, *x = job->x;
    int h = x->dim[1], w = x->dim[2], oh = node->dim[1], ow = node->dim[2];
    int kh = node->args.kh, kw = node->args.kw, s = node->args.stride;
    float scale = 1.0f / (float)(kh * kw);
    size_t in_plane = (size_t)h * w, out_plane = (size_t)oh * ow;
    for (size_t q = begin; q < end; q++) {
        float *restrict dx = job->dx + q * in_plane;
        const float *restrict dy = node->grad + q * out_plane;
        if (job->overwrite)
            memset(dx, 0, in_plane * sizeof(float));
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                float d = dy[i * ow + j] * scale;
                float *win = dx + (size_t)i * s * w + (size_t)j * s;
                for (int a = 0; a < kh; a++)
                    for (int b = 0; b < kw; b++)
                        win[a * w + b] += d;
            }
    }
}

void nn_avgpool_backward(nn_graph *g, nn_node *node, int n)
{
    nn_node *x = nn_op_input(g, node, 0);
    pool_job job = {.node = node, .x = x, .dx = x->grad, .overwrite = nn_grad_first(x)};
    nn_parallel_for((size_t)n * node->dim[0], 2, avgpool_back_planes, &job);
}
