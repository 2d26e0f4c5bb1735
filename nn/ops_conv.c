/* Convolution and pooling over per-sample [C,H,W] images.
 *
 * conv2d with stride 1 runs the kernels of conv_kernels.c on a zero-padded
 * copy of each sample: y is a sum of shifted input planes, and dW the same
 * sum taken against the output gradient.  Other strides, CPUs without AVX2,
 * and dx on every path lower each sample to columns (im2col) so that its
 * convolution is one cblas_sgemm: col[K, P] holds, for each of the
 * P = OH*OW output positions, the K = C*kh*kw input values its kernel
 * sees, y[O, P] = W[O, K] col and dcol = W^T dy.  Measured on one core of
 * the 2-core test machine, the direct kernels run lenet's and cnn's first
 * layers 2 to 3 times as fast as im2col and sgemm, whose products there
 * have a K of 25 or 9; on lenet's second layer they gain less (as a whole
 * the lenet step went from 8.6k to 11.9k samples/s on two threads).
 *
 * Either way the two threads take half the batch each, one sample at a
 * time: products over groups of samples measured slower, their operands no
 * longer fitting the cache.  The second thread sums its dW apart and the
 * caller adds it in.
 *
 * The layer's bias, when it has one, is an input of the op rather than a
 * node of its own: it is added as each output is copied out of the
 * kernels' layout, and its gradient summed per sample from dy while dy is
 * in the cache (into aux, then over the samples in order, so that it does
 * not depend on the thread count).  As separate passes over the batch,
 * bias took 7% of a lenet step.
 *
 * Pooling takes no padding and drops a partial window at the edge, as
 * PyTorch does by default; max pooling keeps each window's argmax. */
#include "ops.h"

#include <cblas.h>
#include <float.h>
#include <stdint.h>
#include <string.h>

#include "conv_kernels.h"
#include "parallel.h"

typedef struct conv_geom {
    int c, h, w;        /* input channels and size */
    int o, kh, kw;      /* output channels, kernel size */
    int oh, ow;         /* output size */
    int stride, pad;
    size_t k, p;        /* C*kh*kw rows, OH*OW positions per sample */
    int direct;         /* run the kernels of conv_kernels.c, with the layouts below */
    int wp;             /* the zero-padded input: rows of wp floats, */
    size_t plane;       /* planes of (h + 2 pad) * wp, */
    size_t xp_size;     /* all C of them and the slack the shifted reads reach */
    size_t qa;          /* an output plane: oh * wp positions, rounded up */
    size_t per_thread;  /* scratch floats for one thread */
} conv_geom;

static int direct_allowed = 1;

void nn_conv_use_direct(int on)
{
    direct_allowed = on;
}

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
    cg->per_thread = cg->k * cg->p; /* im2col's columns, which dx uses on either path */
    cg->direct = cg->stride == 1 && direct_allowed && nn_conv_kernels_available();
    if (cg->stride != 1)
        return;
    cg->wp = cg->w + 2 * cg->pad;
    cg->plane = (size_t)(cg->h + 2 * cg->pad) * cg->wp;
    cg->qa = ((size_t)cg->oh * cg->wp + NN_CONV_BLOCK - 1) / NN_CONV_BLOCK * NN_CONV_BLOCK;
    /* the last plane's shifted reads run kh-1 rows and kw-1 columns past
     * its first qa positions */
    size_t reach = (size_t)(cg->c - 1) * cg->plane + (size_t)(cg->kh - 1) * cg->wp + (size_t)(cg->kw - 1) + cg->qa;
    cg->xp_size = (size_t)cg->c * cg->plane > reach ? (size_t)cg->c * cg->plane : reach;
    /* room for the direct path too: tests switch between them */
    cg->per_thread += cg->xp_size + (size_t)cg->o * cg->qa;
}

/* ---- conv2d: y[n,O,OH,OW] = W[O,C,kh,kw] * x[n,C,H,W] -------------------- */

int nn_conv2d_infer(nn_graph *g, nn_node *node, nn_error *err)
{
    const nn_node *x = nn_op_input(g, node, 0), *w = nn_op_input(g, node, 1);
    const nn_node *b = node->n_in > 2 ? nn_op_input(g, node, 2) : NULL;
    if (!x->batched || x->ndim != 3)
        return nn_error_set(err, NN_EINPUT, "%s: conv needs images of shape CxHxW, such as 1x28x28", node->name);
    if (w->batched || w->ndim != 4 || w->dim[1] != x->dim[0])
        return nn_error_set(err, NN_EINPUT, "%s: the weight does not match %d input channels", node->name,
                            x->dim[0]);
    if (b && (b->batched || b->ndim != 1 || b->dim[0] != w->dim[0]))
        return nn_error_set(err, NN_EINPUT, "%s: the bias must have %d values, one per output channel", node->name,
                            w->dim[0]);
    if (node->args.stride < 1 || node->args.pad < 0)
        return nn_error_set(err, NN_EINPUT, "%s: stride must be at least 1 and padding at least 0", node->name);
    if (w->dim[2] > x->dim[1] + 2 * node->args.pad || w->dim[3] > x->dim[2] + 2 * node->args.pad)
        return nn_error_set(err, NN_EINPUT, "%s: a %dx%d kernel does not fit the %dx%d input (padding %d)",
                            node->name, w->dim[2], w->dim[3], x->dim[1], x->dim[2], node->args.pad);
    conv_geom cg;
    conv_geometry(node, x, w, &cg);
    node->batched = 1;
    node->ndim = 3;
    node->dim[0] = cg.o;
    node->dim[1] = cg.oh;
    node->dim[2] = cg.ow;
    node->size = (size_t)cg.o * cg.p;
    /* each thread's own scratch and the second thread's dW */
    node->scratch_size = 2 * cg.per_thread + (size_t)cg.o * cg.k;
    node->aux_size = b ? (size_t)cg.o : 0; /* each sample's share of the bias gradient */
    return NN_OK;
}

typedef struct conv_job {
    conv_geom cg;
    nn_node *node, *x, *w;
    const float *bias;  /* b[O] when the layer has one */
    float *db_rows;     /* [n, O]: dy summed per sample and channel, when b needs a gradient */
    int x_first, w_first;
} conv_job;

/* One sample's dy[O, P] summed over the positions of each channel. */
static void channel_sums(const float *restrict dy, int o_out, size_t p, float *restrict out)
{
    for (int o = 0; o < o_out; o++) {
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (size_t q = 0; q < p; q++)
            sum += dy[(size_t)o * p + q];
        out[o] = sum;
    }
}

static float *thread_scratch(const conv_job *job, int part)
{
    return job->node->scratch + (size_t)part * job->cg.per_thread;
}

/* The second thread's weight gradient. */
static float *second_dw(const conv_job *job)
{
    return job->node->scratch + 2 * job->cg.per_thread;
}

/* ---- the im2col path ------------------------------------------------------ */

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
            if (s == 1) /* rows are short: a loop beats a call to memcpy */
                for (int j = lo; j < hi; j++)
                    o[j] = src[j - lo];
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

/* One sample's columns col[K, P]. */
static void im2col(const conv_geom *cg, const float *x, float *col)
{
    for (size_t r = 0; r < cg->k; r++)
        im2col_row(cg, x, r, col + r * cg->p);
}

/* Add one sample's column gradient dcol[K, P] onto dx, which is cleared
 * first when overwrite is set. */
static void col2im(const conv_geom *cg, const float *dcol, float *dx, int overwrite)
{
    if (overwrite)
        memset(dx, 0, (size_t)cg->c * cg->h * cg->w * sizeof(float));
    for (size_t r = 0; r < cg->k; r++)
        col2im_row(cg, dcol + r * cg->p, r, dx);
}

/* dx for one sample as the im2col path computes it: dcol[K, P] = W^T dy,
 * added back onto the input positions each column was read from. */
static void conv_dx_lowered(const conv_geom *cg, const float *w, const float *dy, float *col, float *dx,
                            int overwrite)
{
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)cg->k, (int)cg->p, cg->o, 1.0f, w, (int)cg->k, dy,
                (int)cg->p, 0.0f, col, (int)cg->p);
    col2im(cg, col, dx, overwrite);
}

static void conv_forward_im2col(void *ctx, size_t begin, size_t end, int part)
{
    const conv_job *job = ctx;
    const conv_geom *cg = &job->cg;
    float *col = thread_scratch(job, part);
    for (size_t s = begin; s < end; s++) { /* y[O, P] = W[O, K] col[K, P] */
        im2col(cg, job->x->value + s * job->x->size, col);
        float *y = job->node->value + s * job->node->size;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cg->o, (int)cg->p, (int)cg->k, 1.0f,
                    job->w->value, (int)cg->k, col, (int)cg->p, 0.0f, y, (int)cg->p);
        if (job->bias)
            for (int o = 0; o < cg->o; o++)
                for (size_t q = 0; q < cg->p; q++)
                    y[(size_t)o * cg->p + q] += job->bias[o];
    }
}

static void conv_backward_im2col(void *ctx, size_t begin, size_t end, int part)
{
    const conv_job *job = ctx;
    const conv_geom *cg = &job->cg;
    const nn_node *node = job->node;
    nn_node *x = job->x, *w = job->w;
    float *col = thread_scratch(job, part);
    float *dw = part == 0 ? w->grad : second_dw(job);
    int dw_fresh = part == 0 ? job->w_first : 1;
    for (size_t s = begin; s < end; s++) {
        const float *dy = node->grad + s * node->size;
        if (job->db_rows)
            channel_sums(dy, cg->o, cg->p, job->db_rows + s * cg->o);
        if (w->needs_grad) { /* dW[O, K] += dy[O, P] col[K, P]^T */
            im2col(cg, x->value + s * x->size, col);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, cg->o, (int)cg->k, (int)cg->p, 1.0f, dy,
                        (int)cg->p, col, (int)cg->p, dw_fresh && s == begin ? 0.0f : 1.0f, dw, (int)cg->k);
        }
        if (!x->needs_grad)
            continue;
        conv_dx_lowered(cg, w->value, dy, col, x->grad + s * x->size, job->x_first); /* in place of the columns */
    }
}

/* ---- the direct path ----------------------------------------------------- */

/* Copy planes of h x w into a padded layout: rows of `row` floats, planes
 * of `plane`, starting `pad` rows and columns in.  The border is left as it
 * was (zero, cleared once per batch). */
static void pad_planes(const float *restrict src, int planes, int h, int w, float *restrict dst, size_t plane,
                       int row, int pad)
{
    for (int c = 0; c < planes; c++)
        for (int i = 0; i < h; i++)
            memcpy(dst + c * plane + (size_t)(pad + i) * row + pad, src + ((size_t)c * h + i) * w,
                   (size_t)w * sizeof(float));
}

/* The reverse: planes of h x w out of rows of `row` floats, planes of
 * `plane`, plus bias[c] on plane c when there is a bias. */
static void unpad_planes(const float *restrict src, int planes, int h, int w, size_t plane, int row,
                         const float *restrict bias, float *restrict dst)
{
    for (int c = 0; c < planes; c++)
        for (int i = 0; i < h; i++) {
            const float *restrict from = src + c * plane + (size_t)i * row;
            float *restrict to = dst + ((size_t)c * h + i) * w;
            if (!bias) {
                memcpy(to, from, (size_t)w * sizeof(float));
                continue;
            }
            float b = bias[c];
            for (int j = 0; j < w; j++)
                to[j] = from[j] + b;
        }
}

static void conv_forward_direct(void *ctx, size_t begin, size_t end, int part)
{
    const conv_job *job = ctx;
    const conv_geom *cg = &job->cg;
    float *xp = thread_scratch(job, part) + cg->k * cg->p, *yq = xp + cg->xp_size;
    memset(xp, 0, cg->xp_size * sizeof *xp);
    for (size_t s = begin; s < end; s++) {
        pad_planes(job->x->value + s * job->x->size, cg->c, cg->h, cg->w, xp, cg->plane, cg->wp, cg->pad);
        nn_conv_shifted(cg->o, cg->c, cg->kh, cg->kw, job->w->value, xp, cg->plane, cg->wp, cg->qa, yq);
        unpad_planes(yq, cg->o, cg->oh, cg->ow, cg->qa, cg->wp, job->bias, job->node->value + s * job->node->size);
    }
}

/* dW by the direct kernel; dx as on the im2col path, which measured as fast
 * on lenet and cnn as the direct ways to it (the forward kernel over dy
 * padded by k - 1 - pad, with the kernel flipped; or W^T dy by the kernel,
 * added back tap by tap). */
static void conv_backward_direct(void *ctx, size_t begin, size_t end, int part)
{
    const conv_job *job = ctx;
    const conv_geom *cg = &job->cg;
    const nn_node *node = job->node;
    nn_node *x = job->x, *w = job->w;
    float *col = thread_scratch(job, part), *xp = col + cg->k * cg->p, *dyq = xp + cg->xp_size;
    float *dw = part == 0 ? w->grad : second_dw(job);
    if (w->needs_grad) {
        /* the padding, and dy's columns past ow, must read as zeros */
        memset(xp, 0, cg->xp_size * sizeof *xp);
        memset(dyq, 0, (size_t)cg->o * cg->qa * sizeof *dyq);
        if (part == 1 || job->w_first)
            memset(dw, 0, (size_t)cg->o * cg->k * sizeof *dw);
    }
    for (size_t s = begin; s < end; s++) {
        const float *dy = node->grad + s * node->size;
        if (job->db_rows)
            channel_sums(dy, cg->o, cg->p, job->db_rows + s * cg->o);
        if (w->needs_grad) {
            pad_planes(x->value + s * x->size, cg->c, cg->h, cg->w, xp, cg->plane, cg->wp, cg->pad);
            pad_planes(dy, cg->o, cg->oh, cg->ow, dyq, cg->qa, cg->wp, 0);
            nn_conv_shifted_dw(cg->o, cg->c, cg->kh, cg->kw, dyq, xp, cg->plane, cg->wp, cg->qa, dw);
        }
        if (x->needs_grad)
            conv_dx_lowered(cg, w->value, dy, col, x->grad + s * x->size, job->x_first);
    }
}

void nn_conv2d_forward(nn_graph *g, nn_node *node, int n)
{
    conv_job job = {.node = node, .x = nn_op_input(g, node, 0), .w = nn_op_input(g, node, 1)};
    if (node->n_in > 2)
        job.bias = nn_op_input(g, node, 2)->value;
    conv_geometry(node, job.x, job.w, &job.cg);
    nn_parallel_for((size_t)n, 2, job.cg.direct ? conv_forward_direct : conv_forward_im2col, &job);
}

void nn_conv2d_backward(nn_graph *g, nn_node *node, int n)
{
    conv_job job = {.node = node, .x = nn_op_input(g, node, 0), .w = nn_op_input(g, node, 1)};
    conv_geometry(node, job.x, job.w, &job.cg);
    job.w_first = job.w->needs_grad && nn_grad_first(job.w);
    job.x_first = job.x->needs_grad && nn_grad_first(job.x);
    nn_node *b = node->n_in > 2 ? nn_op_input(g, node, 2) : NULL;
    if (b && b->needs_grad)
        job.db_rows = node->aux;
    int parts = nn_parallel_for((size_t)n, 2, job.cg.direct ? conv_backward_direct : conv_backward_im2col, &job);
    if (parts == 2 && job.w->needs_grad)
        nn_vec_axpy(job.w->grad, 1.0f, second_dw(&job), job.cg.k * (size_t)job.cg.o);
    if (job.db_rows) { /* db (+)= the samples' sums, in sample order */
        if (nn_grad_first(b))
            memset(b->grad, 0, (size_t)job.cg.o * sizeof(float));
        for (int s = 0; s < n; s++)
            nn_vec_axpy(b->grad, 1.0f, job.db_rows + (size_t)s * job.cg.o, (size_t)job.cg.o);
    }
}

/* The products of the im2col path, one per sample each: the forward, the
 * weight gradient and, when the input needs one, the column gradient.  The
 * direct path does this arithmetic and some more (the junk columns, and the
 * zeros around dy for dx): these products are the sgemm-bound either way. */
void nn_conv2d_gemms(const nn_graph *g, const nn_node *node, int n, nn_gemm_list *out)
{
    const nn_node *x = &g->nodes[node->in[0]], *w = &g->nodes[node->in[1]];
    conv_geom cg;
    conv_geometry(node, x, w, &cg);
    int o = cg.o, k = (int)cg.k, p = (int)cg.p;
    for (int s = 0; s < n; s++)
        nn_gemm_add(out, 0, 0, o, p, k); /* y[O, P] = W[O, K] col[K, P] */
    for (int s = 0; s < n; s++) {
        if (w->needs_grad)
            nn_gemm_add(out, 0, 1, o, k, p); /* dW[O, K] += dy[O, P] col[K, P]^T */
        if (x->needs_grad)
            nn_gemm_add(out, 1, 0, k, p, o); /* dcol[K, P] = W[O, K]^T dy[O, P] */
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
        if (kh == 2 && kw == 2 && s == 2) { /* the common case, branch-free so it vectorises */
            for (int i = 0; i < oh; i++) {
                const float *restrict top = xp + 2 * i * w, *restrict bottom = top + w;
#pragma omp simd
                for (int j = 0; j < ow; j++) {
                    float a = top[2 * j], b = top[2 * j + 1], c = bottom[2 * j], d = bottom[2 * j + 1];
                    float up = b > a ? b : a, down = d > c ? d : c;
                    int up_at = b > a ? 1 : 0, down_at = d > c ? w + 1 : w;
                    yp[i * ow + j] = down > up ? down : up; /* the first maximum on ties */
                    ip[i * ow + j] = 2 * i * w + 2 * j + (down > up ? down_at : up_at);
                }
            }
            continue;
        }
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
