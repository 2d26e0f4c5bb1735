/* A long short-term memory layer over a sequence, with backpropagation
 * through time.
 *
 * The input x[n, T, F] is read as T steps of F features (a 1x28x28 digit is
 * 28 rows of 28 pixels).  At step t, with [x_t, h_{t-1}] the step's input and
 * the previous hidden state side by side (h_{-1} = c_{-1} = 0):
 *
 *     a = [x_t, h_{t-1}] W^T + b                  W[4H, F+H], b[4H]
 *     i = sigmoid(a_i)  f = sigmoid(a_f)  g = tanh(a_g)  o = sigmoid(a_o)
 *     c_t = f c_{t-1} + i g        h_t = o tanh(c_t)
 *
 * with the gates in PyTorch's order (i, f, g, o).  The output is h_{T-1}
 * [n, H], or every h_t [n, T, H] when args.all_steps is set.
 *
 * Everything a step needs for backward is kept time-major in aux, so that
 * step t of the whole batch is one contiguous block: the step inputs
 * XH[T, n, F+H], the activated gates G[T, n, 4H], the cells C[T, n, H] and
 * tanh(C).  Each step is then one product, and so is the weight gradient of
 * the whole sequence, dW = dA[T*n, 4H]^T XH[T*n, F+H].  The gate
 * nonlinearities use nn_fast_expf so their loops vectorise, and the two
 * threads take half the batch each through the whole sequence. */
#include "ops.h"

#include <cblas.h>
#include <string.h>

#include "gemm.h"
#include "parallel.h"
#include "simd.h"

typedef struct lstm_dims {
    int t, f, h;        /* steps, features per step, hidden units */
    size_t fh;          /* F + H: one step's input width */
} lstm_dims;

/* The arrays of aux, each sized for max_batch samples.  XH and C have one
 * block more than there are steps: XH[T] receives the last hidden state
 * (so every step writes h_t to XH[t+1]), and C[0] is c_{-1} = 0. */
typedef struct lstm_buffers {
    float *xh;          /* [T+1, n, F+H] step inputs */
    float *gates;       /* [T, n, 4H] i, f, g, o after their nonlinearity */
    float *cell;        /* [T+1, n, H] c_{t-1} in block t */
    float *tanh_cell;   /* [T, n, H] tanh(c_t) */
    float *da;          /* [T, n, 4H] gradient of the gate pre-activations */
    float *dh, *dc;     /* [n, H] gradients flowing to the previous step */
    float *dxh;         /* [n, F+H] gradient of one step's input */
} lstm_buffers;

static void lstm_dims_of(const nn_graph *g, const nn_node *node, lstm_dims *d)
{
    const nn_node *x = &g->nodes[node->in[0]], *w = &g->nodes[node->in[1]];
    d->f = x->dim[x->ndim - 1];
    d->t = (int)(x->size / (size_t)d->f);
    d->h = w->dim[0] / 4;
    d->fh = (size_t)d->f + (size_t)d->h;
}

static size_t lstm_aux_per_sample(const lstm_dims *d)
{
    size_t t = (size_t)d->t, h = (size_t)d->h;
    return (t + 1) * d->fh + 2 * t * 4 * h + (2 * t + 1) * h + 2 * h + d->fh;
}

static lstm_buffers lstm_buffers_of(const nn_graph *g, const nn_node *node, const lstm_dims *d)
{
    size_t mb = (size_t)g->max_batch, t = (size_t)d->t, h = (size_t)d->h;
    lstm_buffers b;
    b.xh = node->aux;
    b.gates = b.xh + mb * (t + 1) * d->fh;
    b.cell = b.gates + mb * t * 4 * h;
    b.tanh_cell = b.cell + mb * (t + 1) * h;
    b.da = b.tanh_cell + mb * t * h;
    b.dh = b.da + mb * t * 4 * h;
    b.dc = b.dh + mb * h;
    b.dxh = b.dc + mb * h;
    return b;
}

int nn_lstm_infer(nn_graph *g, nn_node *node, nn_error *err)
{
    const nn_node *x = nn_op_input(g, node, 0), *w = nn_op_input(g, node, 1), *b = nn_op_input(g, node, 2);
    if (!x->batched)
        return nn_error_set(err, NN_EINPUT, "%s: lstm needs a batched input", node->name);
    if (w->batched || w->ndim != 2 || w->dim[0] % 4 != 0 ||
        w->dim[1] != x->dim[x->ndim - 1] + w->dim[0] / 4)
        return nn_error_set(err, NN_EINPUT, "%s: the weight must be [4H, F+H] for %d features per step",
                            node->name, x->dim[x->ndim - 1]);
    if (b->batched || b->ndim != 1 || b->dim[0] != w->dim[0])
        return nn_error_set(err, NN_EINPUT, "%s: the bias must have %d values", node->name, w->dim[0]);
    lstm_dims d;
    lstm_dims_of(g, node, &d);
    node->batched = 1;
    if (node->args.all_steps) {
        node->ndim = 2;
        node->dim[0] = d.t;
        node->dim[1] = d.h;
    } else {
        node->ndim = 1;
        node->dim[0] = d.h;
    }
    node->size = nn_shape_size(node->ndim, node->dim);
    node->aux_size = lstm_aux_per_sample(&d);
    return NN_OK;
}

/* One pass over the batch.  Samples never meet in the recurrence, so the
 * two threads each take half the batch through every step on their own,
 * with no hand-over between steps; only the weight gradient, a product over
 * the whole sequence, is shared afterwards. */
typedef struct lstm_step {
    const lstm_dims *d;
    const lstm_buffers *buf;
    const nn_node *node, *x;
    const float *w, *bias;
    float *dx;          /* x's gradient, or NULL when x needs none */
    int n, t, x_first;
} lstm_step;

/* One sample's gates, cell and hidden state from its pre-activations a
 * (activated in place) and the bias, for units [from, H). */
static void lstm_cell_row(float *restrict a, const float *restrict b, const float *restrict c_prev,
                          float *restrict c, float *restrict tc, float *restrict h, int from, int H)
{
#pragma omp simd
    for (int j = from; j < H; j++) {
        float ig = nn_fast_sigmoidf(a[j] + b[j]);
        float fg = nn_fast_sigmoidf(a[H + j] + b[H + j]);
        float gg = nn_fast_tanhf(a[2 * H + j] + b[2 * H + j]);
        float og = nn_fast_sigmoidf(a[3 * H + j] + b[3 * H + j]);
        float cv = fg * c_prev[j] + ig * gg;
        float tv = nn_fast_tanhf(cv);
        a[j] = ig;
        a[H + j] = fg;
        a[2 * H + j] = gg;
        a[3 * H + j] = og;
        c[j] = cv;
        tc[j] = tv;
        h[j] = og * tv;
    }
}

#if NN_X86_KERNELS
#include <immintrin.h>

/* nn_fast_expf, 8 at a time. */
NN_AVX2 static inline __m256 exp8(__m256 x)
{
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(87.0f));
    __m256 k = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504f), _mm256_set1_ps(0.5f)));
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fmadd_ps(k, _mm256_set1_ps(2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/* 1 / (1 + exp(-x)): the reciprocal estimate and one Newton step, to
 * about 2e-7 relative, in place of a division (Zen 1 divides 8 floats
 * every 10 cycles or so). */
NN_AVX2 static inline __m256 sigmoid8(__m256 x)
{
    __m256 d = _mm256_add_ps(_mm256_set1_ps(1.0f), exp8(_mm256_sub_ps(_mm256_setzero_ps(), x)));
    __m256 r = _mm256_rcp_ps(d);
    return _mm256_mul_ps(r, _mm256_fnmadd_ps(d, r, _mm256_set1_ps(2.0f)));
}

NN_AVX2 static inline __m256 tanh8(__m256 x)
{
    __m256 s = sigmoid8(_mm256_add_ps(x, x));
    return _mm256_sub_ps(_mm256_add_ps(s, s), _mm256_set1_ps(1.0f));
}

/* lstm_cell_row for the units in whole vectors; returns how many. */
NN_AVX2 static int lstm_cell_row_avx2(float *a, const float *b, const float *c_prev, float *c, float *tc, float *h,
                                   int H)
{
    int j = 0;
    for (; j + 8 <= H; j += 8) {
        __m256 ig = sigmoid8(_mm256_add_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j)));
        __m256 fg = sigmoid8(_mm256_add_ps(_mm256_loadu_ps(a + H + j), _mm256_loadu_ps(b + H + j)));
        __m256 gg = tanh8(_mm256_add_ps(_mm256_loadu_ps(a + 2 * H + j), _mm256_loadu_ps(b + 2 * H + j)));
        __m256 og = sigmoid8(_mm256_add_ps(_mm256_loadu_ps(a + 3 * H + j), _mm256_loadu_ps(b + 3 * H + j)));
        __m256 cv = _mm256_fmadd_ps(fg, _mm256_loadu_ps(c_prev + j), _mm256_mul_ps(ig, gg));
        __m256 tv = tanh8(cv);
        _mm256_storeu_ps(a + j, ig);
        _mm256_storeu_ps(a + H + j, fg);
        _mm256_storeu_ps(a + 2 * H + j, gg);
        _mm256_storeu_ps(a + 3 * H + j, og);
        _mm256_storeu_ps(c + j, cv);
        _mm256_storeu_ps(tc + j, tv);
        _mm256_storeu_ps(h + j, _mm256_mul_ps(og, tv));
    }
    return j;
}
#else
static int lstm_cell_row_avx2(float *a, const float *b, const float *c_prev, float *c, float *tc, float *h, int H)
{
    (void)a, (void)b, (void)c_prev, (void)c, (void)tc, (void)h, (void)H;
    return 0;
}
#endif

/* Gates, cell and hidden state of step t from its pre-activations. */
static void lstm_cells(void *ctx, size_t begin, size_t end, int part)
{
    (void)part;
    const lstm_step *st = ctx;
    int H = st->d->h, t = st->t, avx2 = nn_cpu_has_avx2();
    size_t step_c = (size_t)st->n * H, fh = st->d->fh;
    for (size_t i = begin; i < end; i++) {
        float *a = st->buf->gates + ((size_t)t * st->n + i) * 4 * H;
        const float *c_prev = st->buf->cell + t * step_c + i * H;
        float *c = st->buf->cell + (t + 1) * step_c + i * H;
        float *tc = st->buf->tanh_cell + t * step_c + i * H;
        float *h = st->buf->xh + ((size_t)(t + 1) * st->n + i) * fh + st->d->f;
        int done = avx2 ? lstm_cell_row_avx2(a, st->bias, c_prev, c, tc, h, H) : 0;
        lstm_cell_row(a, st->bias, c_prev, c, tc, h, done, H);
    }
}

/* The forward pass of samples [begin, end) through every step. */
static void lstm_forward_samples(void *ctx, size_t begin, size_t end, int part)
{
    lstm_step st = *(const lstm_step *)ctx;
    const lstm_buffers *buf = st.buf;
    int T = st.d->t, F = st.d->f, H = st.d->h, n = st.n, rows = (int)(end - begin);
    size_t fh = st.d->fh, step_xh = (size_t)n * fh;
    /* x_t of every sample beside h_{t-1}; h_{-1} = c_{-1} = 0 */
    for (size_t i = begin; i < end; i++) {
        for (int t = 0; t < T; t++)
            memcpy(buf->xh + t * step_xh + i * fh, st.x->value + i * st.x->size + (size_t)t * F,
                   (size_t)F * sizeof(float));
        memset(buf->xh + i * fh + F, 0, (size_t)H * sizeof(float));
        memset(buf->cell + i * H, 0, (size_t)H * sizeof(float));
    }
    for (int t = 0; t < T; t++) {
        /* a[rows, 4H] = [x_t, h_{t-1}][rows, F+H] W[4H, F+H]^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, 4 * H, (int)fh, 1.0f,
                    buf->xh + t * step_xh + begin * fh, (int)fh, st.w, (int)fh, 0.0f,
                    buf->gates + ((size_t)t * n + begin) * 4 * H, 4 * H);
        st.t = t;
        lstm_cells(&st, begin, end, part);
    }
    for (size_t i = begin; i < end; i++) {
        float *y = st.node->value + i * st.node->size;
        if (!st.node->args.all_steps)
            memcpy(y, buf->xh + T * step_xh + i * fh + F, (size_t)H * sizeof(float));
        else
            for (int t = 0; t < T; t++)
                memcpy(y + (size_t)t * H, buf->xh + (t + 1) * step_xh + i * fh + F, (size_t)H * sizeof(float));
    }
}

void nn_lstm_forward(nn_graph *g, nn_node *node, int n)
{
    const nn_node *x = nn_op_input(g, node, 0), *w = nn_op_input(g, node, 1), *bias = nn_op_input(g, node, 2);
    lstm_dims d;
    lstm_dims_of(g, node, &d);
    lstm_buffers buf = lstm_buffers_of(g, node, &d);
    lstm_step st = {.d = &d, .buf = &buf, .node = node, .x = x, .w = w->value, .bias = bias->value, .n = n};
    nn_parallel_for((size_t)n, 2, lstm_forward_samples, &st);
}

/* Gradients of step t's gate pre-activations from dh and dc, which become
 * the gradient reaching c_{t-1}. */
static void lstm_cells_backward(void *ctx, size_t begin, size_t end, int part)
{
    (void)part;
    const lstm_step *st = ctx;
    int H = st->d->h, t = st->t;
    size_t step_c = (size_t)st->n * H;
    for (size_t i = begin; i < end; i++) {
        const float *restrict gi = st->buf->gates + ((size_t)t * st->n + i) * 4 * H;
        const float *restrict tc = st->buf->tanh_cell + t * step_c + i * H;
        const float *restrict c_prev = st->buf->cell + t * step_c + i * H;
        const float *restrict dh = st->buf->dh + i * H;
        float *restrict dc = st->buf->dc + i * H;
        float *restrict da = st->buf->da + ((size_t)t * st->n + i) * 4 * H;
#pragma omp simd
        for (int j = 0; j < H; j++) {
            float ig = gi[j], fg = gi[H + j], gg = gi[2 * H + j], og = gi[3 * H + j], tv = tc[j];
            float dct = dc[j] + dh[j] * og * (1.0f - tv * tv);
            da[j] = dct * gg * ig * (1.0f - ig);
            da[H + j] = dct * c_prev[j] * fg * (1.0f - fg);
            da[2 * H + j] = dct * ig * (1.0f - gg * gg);
            da[3 * H + j] = dh[j] * tv * og * (1.0f - og);
            dc[j] = dct * fg;
        }
    }
}

/* Backpropagation through time of samples [begin, end), down to the
 * gradients of every step's gate pre-activations (and of x). */
static void lstm_backward_samples(void *ctx, size_t begin, size_t end, int part)
{
    lstm_step st = *(const lstm_step *)ctx;
    const lstm_buffers *buf = st.buf;
    int T = st.d->t, F = st.d->f, H = st.d->h, n = st.n, rows = (int)(end - begin);
    int all = st.node->args.all_steps;
    size_t fh = st.d->fh, step_g = (size_t)n * 4 * H, size = st.node->size;
    const float *dy = st.node->grad;
    /* dh: the gradient reaching h_{T-1}, from the output */
    for (size_t i = begin; i < end; i++) {
        memcpy(buf->dh + i * H, dy + i * size + (all ? (size_t)(T - 1) * H : 0), (size_t)H * sizeof(float));
        memset(buf->dc + i * H, 0, (size_t)H * sizeof(float));
    }
    for (int t = T - 1; t >= 0; t--) {
        st.t = t;
        lstm_cells_backward(&st, begin, end, part);
        const float *da = buf->da + t * step_g + begin * 4 * H;
        if (st.dx) { /* d[x_t, h_{t-1}][rows, F+H] = da[rows, 4H] W[4H, F+H] */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, (int)fh, 4 * H, 1.0f, da, 4 * H, st.w,
                        (int)fh, 0.0f, buf->dxh + begin * fh, (int)fh);
            for (size_t i = begin; i < end; i++) {
                float *restrict dx = st.dx + i * st.x->size + (size_t)t * F;
                const float *restrict src = buf->dxh + i * fh;
                for (int j = 0; j < F; j++)
                    dx[j] = st.x_first ? src[j] : dx[j] + src[j];
                if (t > 0)
                    memcpy(buf->dh + i * H, src + F, (size_t)H * sizeof(float));
            }
        } else if (t > 0) { /* dh_{t-1}[rows, H] = da[rows, 4H] W[4H, F:F+H] */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, H, 4 * H, 1.0f, da, 4 * H, st.w + F,
                        (int)fh, 0.0f, buf->dh + begin * H, H);
        }
        if (all && t > 0) /* h_{t-1} is also an output */
            for (size_t i = begin; i < end; i++)
                nn_vec_axpy(buf->dh + i * H, 1.0f, dy + i * size + (size_t)(t - 1) * H, (size_t)H);
    }
}

typedef struct lstm_bias_job {
    const float *da;
    float *db;
    int rows, width, first;
} lstm_bias_job;

/* db[j] (+)= column j's sum of dA, for columns [begin, end). */
static void lstm_bias_columns(void *ctx, size_t begin, size_t end, int part)
{
    (void)part;
    const lstm_bias_job *job = ctx;
    float *restrict db = job->db;
    if (job->first)
        memset(db + begin, 0, (end - begin) * sizeof(float));
    for (int r = 0; r < job->rows; r++) {
        const float *restrict dar = job->da + (size_t)r * job->width;
        for (size_t j = begin; j < end; j++)
            db[j] += dar[j];
    }
}

void nn_lstm_backward(nn_graph *g, nn_node *node, int n)
{
    nn_node *x = nn_op_input(g, node, 0), *w = nn_op_input(g, node, 1), *bias = nn_op_input(g, node, 2);
    lstm_dims d;
    lstm_dims_of(g, node, &d);
    lstm_buffers buf = lstm_buffers_of(g, node, &d);
    int H = d.h, rows = d.t * n;
    size_t fh = d.fh;
    lstm_step st = {.d = &d, .buf = &buf, .node = node, .x = x, .w = w->value, .n = n,
                    .dx = x->needs_grad ? x->grad : NULL};
    st.x_first = x->needs_grad && nn_grad_first(x);
    nn_parallel_for((size_t)n, 2, lstm_backward_samples, &st);
    if (w->needs_grad) /* dW[4H, F+H] += dA[T*n, 4H]^T XH[T*n, F+H] */
        nn_sgemm(&(nn_sgemm_args){.trans_a = 1, .m = 4 * H, .n = (int)fh, .k = rows, .a = buf.da, .lda = 4 * H,
                                  .b = buf.xh, .ldb = (int)fh, .beta = !nn_grad_first(w), .c = w->grad,
                                  .ldc = (int)fh});
    if (bias->needs_grad) {
        lstm_bias_job job = {.da = buf.da, .db = bias->grad, .rows = rows, .width = 4 * H,
                             .first = nn_grad_first(bias)};
        nn_parallel_for((size_t)4 * H, 64, lstm_bias_columns, &job);
    }
}

/* The products above: one per step forward, one per step backward (all of
 * [x_t, h_{t-1}]'s gradient when the input needs one, else only h_{t-1}'s,
 * which step 0 does not need), and one for the whole sequence's dW. */
void nn_lstm_gemms(const nn_graph *g, const nn_node *node, int n, nn_gemm_list *out)
{
    const nn_node *x = &g->nodes[node->in[0]], *w = &g->nodes[node->in[1]];
    lstm_dims d;
    lstm_dims_of(g, node, &d);
    int T = d.t, H = d.h, fh = (int)d.fh;
    for (int t = 0; t < T; t++)
        nn_gemm_add(out, 0, 1, n, 4 * H, fh); /* a[n, 4H] = xh[n, F+H] W[4H, F+H]^T */
    for (int t = T - 1; t >= 0; t--) {
        if (x->needs_grad)
            nn_gemm_add(out, 0, 0, n, fh, 4 * H); /* dxh[n, F+H] = da[n, 4H] W[4H, F+H] */
        else if (t > 0)
            nn_gemm_add(out, 0, 0, n, H, 4 * H); /* dh[n, H] = da[n, 4H] W[4H, F:F+H] */
    }
    if (w->needs_grad)
        nn_gemm_add(out, 1, 0, 4 * H, fh, T * n); /* dW[4H, F+H] += dA[T*n, 4H]^T XH[T*n, F+H] */
}
