/* Convolution and pooling over per-sample [C,H,W] images.
 *
 * conv2d with stride 1, on CPUs with AVX2 and FMA, runs the kernels of
 * conv_kernels.c with the batch in the vector lanes: each group of 8
 * samples is transposed so that a vector holds one position of 8 images,
 * and the forward pass, dW and dx run over the real positions only.
 * Samples left over when a thread's share is not a multiple of 8 (batch-1
 * inference, the pad) run forward one at a time on the shifted-plane
 * kernel, whose sums come out bit for bit the same; backward, a short
 * group runs with its missing lanes zero, so dx never depends on where a
 * sample falls.  Other strides and CPUs lower each sample to columns
 * (im2col) so that its convolution is one cblas_sgemm: col[K, P] holds,
 * for each of the P = OH*OW output positions, the K = C*kh*kw input values
 * its kernel sees, y[O, P] = W[O, K] col and dcol = W^T dy.
 *
 * The two threads take half the batch each; the second sums its dW apart
 * and the caller adds it in.  Measured on one core of the 2-core test
 * machine (lenet, batch 64, one thread): im2col and sgemm 4.9k samples/s,
 * the shifted-plane kernels per sample with dx through sgemm 6.7k, the
 * lanes 9.3k.  Per sample, the shifted planes computed the junk columns
 * past each output row (44% more on lenet's second layer) and dx paid for
 * sgemm's small products and col2im.
 *
 * The layer's bias, when it has one, is an input of the op rather than a
 * node of its own: it is added as each output leaves the kernels' layout,
 * and its gradient summed per sample from dy (into aux, then over the
 * samples in order, so that it does not depend on the thread count).  As
 * separate passes over the batch, bias took 7% of a lenet step.
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
    int hp, wp;         /* the zero-padded input's rows and columns */
    size_t xl_size;     /* a group of 8 padded inputs in lanes */
    size_t yl_size;     /* a group of 8 outputs in lanes */
    size_t plane;       /* one padded input plane, hp * wp, for the shifted kernel */
    size_t xp_size;     /* all C of them and the slack its shifted reads reach */
    size_t qa;          /* its output planes: oh * wp positions, rounded up */
    size_t per_thread;  /* scratch floats for one thread */
} conv_geom;

static int direct_allowed = 1;

void nn_conv_use_direct(int on)
{
    direct_allowed = on;
}

static size_t max_size(size_t a, size_t b)
{
    return a > b ? a : b;
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
    cg->per_thread = cg->k * cg->p; /* im2col's columns */
    cg->direct = cg->stride == 1 && direct_allowed && nn_conv_kernels_available();
    if (cg->stride != 1)
        return;
    cg->hp = cg->h + 2 * cg->pad;
    cg->wp = cg->w + 2 * cg->pad;
    cg->xl_size = (size_t)cg->c * cg->hp * cg->wp * 8;
    cg->yl_size = (size_t)cg->o * cg->p * 8;
    cg->plane = (size_t)cg->hp * cg->wp;
    cg->qa = ((size_t)cg->oh * cg->wp + NN_CONV_BLOCK - 1) / NN_CONV_BLOCK * NN_CONV_BLOCK;
    /* the last plane's shifted reads run kh-1 rows and kw-1 columns past
     * its first qa positions */
    size_t reach = (size_t)(cg->c - 1) * cg->plane + (size_t)(cg->kh - 1) * cg->wp + (size_t)(cg->kw - 1) + cg->qa;
    cg->xp_size = max_size((size_t)cg->c * cg->plane, reach);
    /* room for every path, one at a time: tests switch between them */
    size_t lanes = 2 * cg->xl_size + cg->yl_size, shifted = cg->xp_size + (size_t)cg->o * cg->qa;
    cg->per_thread = max_size(cg->per_thread, max_size(lanes, shifted));
}

/* ---- conv2d: y[n,O,OH,OW] = W[O,C,kh,kw] * x[n,C,H,W] -------------------- */

int nn_conv2d_infer(nn_graph *g, nn_node *node, nn_error *err)
{
    const nn_node *x = nn_op_input(g, node, 0), *w = nn_op_input(g, node, 1);
    const nn_node *b = nn_conv2d_bias(g, node);
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

/* Samples [0, g) of src, `size` floats apart, each planes of h x w, into
 * lanes: planes of hp x wp, pad rows and columns in.  A whole group goes
 * through 8 x 8 transposes, row by row or, unpadded, as one run. */
static void to_lanes(const float *restrict src, size_t size, int g, int planes, int h, int w, int pad, int hp,
                     int wp, float *restrict dst)
{
    if (g == 8) {
        const float *rows[8];
        if (pad == 0) {
            for (int l = 0; l < 8; l++)
                rows[l] = src + l * size;
            nn_lanes_in(rows, (size_t)planes * h * w, dst);
            return;
        }
        for (int c = 0; c < planes; c++)
            for (int i = 0; i < h; i++) {
                for (int l = 0; l < 8; l++)
                    rows[l] = src + l * size + ((size_t)c * h + i) * w;
                nn_lanes_in(rows, (size_t)w, dst + (((size_t)c * hp + i + pad) * wp + pad) * 8);
            }
        return;
    }
    for (int l = 0; l < g; l++)
        for (int c = 0; c < planes; c++)
            for (int i = 0; i < h; i++) {
                const float *restrict from = src + l * size + ((size_t)c * h + i) * w;
                float *restrict to = dst + (((size_t)c * hp + i + pad) * wp + pad) * 8 + l;
                for (int j = 0; j < w; j++)
                    to[(size_t)j * 8] = from[j];
            }
}

/* The reverse, for samples [0, g): written, or added when `add` is set,
 * plus bias[c] on plane c when there is a bias. */
static void from_lanes(const float *restrict src, int g, int planes, int h, int w, int pad, int hp, int wp,
                       const float *restrict bias, float *restrict dst, size_t size, int add)
{
    if (g == 8) {
        float *rows[8];
        for (int c = 0; c < planes; c++) {
            float b = bias ? bias[c] : 0.0f;
            if (pad == 0) { /* the plane as one run */
                for (int l = 0; l < 8; l++)
                    rows[l] = dst + l * size + (size_t)c * h * w;
                nn_lanes_out(src + (size_t)c * h * w * 8, (size_t)h * w, rows, b, add);
                continue;
            }
            for (int i = 0; i < h; i++) {
                for (int l = 0; l < 8; l++)
                    rows[l] = dst + l * size + ((size_t)c * h + i) * w;
                nn_lanes_out(src + (((size_t)c * hp + i + pad) * wp + pad) * 8, (size_t)w, rows, b, add);
            }
        }
        return;
    }
    for (int l = 0; l < g; l++)
        for (int c = 0; c < planes; c++) {
            float b = bias ? bias[c] : 0.0f;
            for (int i = 0; i < h; i++) {
                const float *restrict from = src + (((size_t)c * hp + i + pad) * wp + pad) * 8 + l;
                float *restrict to = dst + l * size + ((size_t)c * h + i) * w;
                for (int j = 0; j < w; j++)
                    to[j] = (add ? to[j] : 0.0f) + (from[(size_t)j * 8] + b);
            }
        }
}

/* Full groups of 8 in lanes; the rest one at a time on the shifted planes,
 * which sum each output in the same order (c, i, j from zero). */
static void conv_forward_direct(void *ctx, size_t begin, size_t end, int part)
{
    const conv_job *job = ctx;
    const conv_geom *cg = &job->cg;
    const nn_node *x = job->x;
    nn_node *node = job->node;
    float *scratch = thread_scratch(job, part);
    size_t s = begin;
    if (end - begin >= 8) {
        float *xl = scratch, *yl = xl + cg->xl_size;
        memset(xl, 0, cg->xl_size * sizeof *xl); /* the padding */
        for (; s + 8 <= end; s += 8) {
            to_lanes(x->value + s * x->size, x->size, 8, cg->c, cg->h, cg->w, cg->pad, cg->hp, cg->wp, xl);
            nn_conv_lanes(cg->o, cg->c, cg->kh, cg->kw, cg->hp, cg->wp, job->w->value, xl, yl);
            from_lanes(yl, 8, cg->o, cg->oh, cg->ow, 0, cg->oh, cg->ow, job->bias, node->value + s * node->size,
                       node->size, 0);
        }
    }
    if (s == end)
        return;
    float *xp = scratch, *yq = xp + cg->xp_size;
    memset(xp, 0, cg->xp_size * sizeof *xp);
    for (; s < end; s++) {
        pad_planes(x->value + s * x->size, cg->c, cg->h, cg->w, xp, cg->plane, cg->wp, cg->pad);
        nn_conv_shifted(cg->o, cg->c, cg->kh, cg->kw, job->w->value, xp, cg->plane, cg->wp, cg->qa, yq);
        unpad_planes(yq, cg->o, cg->oh, cg->ow, cg->qa, cg->wp, job->bias, node->value + s * node->size);
    }
}

/* Groups of 8 in lanes, the last one short with its missing lanes zero. */
static void conv_backward_direct(void *ctx, size_t begin, size_t end, int part)
{
    const conv_job *job = ctx;
    const conv_geom *cg = &job->cg;
    const nn_node *node = job->node;
    nn_node *x = job->x, *w = job->w;
    float *xl = thread_scratch(job, part), *dxl = xl + cg->xl_size, *dyl = dxl + cg->xl_size;
    float *dw = part == 0 ? w->grad : second_dw(job);
    if (w->needs_grad && (part == 1 || job->w_first))
        memset(dw, 0, (size_t)cg->o * cg->k * sizeof *dw);
    memset(xl, 0, cg->xl_size * sizeof *xl);
    for (size_t s = begin; s < end; s += 8) {
        int g = end - s < 8 ? (int)(end - s) : 8;
        const float *dy = node->grad + s * node->size;
        if (job->db_rows)
            for (int l = 0; l < g; l++)
                channel_sums(dy + l * node->size, cg->o, cg->p, job->db_rows + (s + l) * cg->o);
        if (g < 8) {
            memset(xl, 0, cg->xl_size * sizeof *xl);
            memset(dyl, 0, cg->yl_size * sizeof *dyl);
        }
        to_lanes(dy, node->size, g, cg->o, cg->oh, cg->ow, 0, cg->oh, cg->ow, dyl);
        if (w->needs_grad) {
            to_lanes(x->value + s * x->size, x->size, g, cg->c, cg->h, cg->w, cg->pad, cg->hp, cg->wp, xl);
            nn_conv_lanes_dw(cg->o, cg->c, cg->kh, cg->kw, cg->hp, cg->wp, dyl, xl, dw);
        }
        if (x->needs_grad) {
            memset(dxl, 0, cg->xl_size * sizeof *dxl);
            nn_conv_lanes_dx(cg->o, cg->c, cg->kh, cg->kw, cg->hp, cg->wp, w->value, dyl, dxl);
            from_lanes(dxl, g, cg->c, cg->h, cg->w, cg->pad, cg->hp, cg->wp, NULL, x->grad + s * x->size, x->size,
                       !job->x_first);
        }
    }
}

void nn_conv2d_forward(nn_graph *g, nn_node *node, int n)
{
    conv_job job = {.node = node, .x = nn_op_input(g, node, 0), .w = nn_op_input(g, node, 1)};
    const nn_node *b = nn_conv2d_bias(g, node);
    job.bias = b ? b->value : NULL;
    conv_geometry(node, job.x, job.w, &job.cg);
    nn_parallel_for((size_t)n, 2, job.cg.direct ? conv_forward_direct : conv_forward_im2col, &job);
}

void nn_conv2d_backward(nn_graph *g, nn_node *node, int n)
{
    conv_job job = {.node = node, .x = nn_op_input(g, node, 0), .w = nn_op_input(g, node, 1)};
    conv_geometry(node, job.x, job.w, &job.cg);
    job.w_first = job.w->needs_grad && nn_grad_first(job.w);
    job.x_first = job.x->needs_grad && nn_grad_first(job.x);
    nn_node *b = nn_conv2d_bias(g, node);
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
 * direct path does the same arithmetic (dx without col2im's adds): these
 * products are the sgemm-bound either way. */
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
