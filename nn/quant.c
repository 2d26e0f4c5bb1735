/* int8 quantisation: per-channel weight scales, calibrated input scales,
 * and the int8 forward pass of dense and convolution layers. */
#include "quant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "ops.h"

static size_t round_up(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

static void *aligned(size_t bytes)
{
    return aligned_alloc(NN_QUANT_ALIGN, round_up(bytes ? bytes : 1, NN_QUANT_ALIGN));
}

int32_t nn_dot_i8(const int8_t *a, const int8_t *b, int n)
{
#if defined(__AVX2__)
    /* maddubs multiplies unsigned by signed bytes: |a| times b with a's
     * sign moved onto b.  Pairs sum to at most 2 * 127 * 128, inside int16. */
    __m256i acc = _mm256_setzero_si256();
    const __m256i ones = _mm256_set1_epi16(1);
    for (int i = 0; i < n; i += 32) {
        __m256i va = _mm256_load_si256((const __m256i *)(const void *)(a + i));
        __m256i vb = _mm256_load_si256((const __m256i *)(const void *)(b + i));
        __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(va, va), _mm256_sign_epi8(vb, va));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, ones));
    }
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
#else
    /* Widening multiply-adds that GCC turns into pmaddwd. */
    int32_t sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int i = 0; i < n; i++)
        sum += (int16_t)a[i] * (int16_t)b[i];
    return sum;
#endif
}

#if defined(__AVX2__)
/* |a| and b with a's sign, so maddubs (unsigned x signed) gives a * b. */
static inline __m256i mul_pairs(__m256i a, __m256i b)
{
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a)),
                             _mm256_set1_epi16(1));
}
#endif

void nn_dot_rows_i8(const int8_t *w, int rows, int k_pad, const int8_t *x, int32_t *out)
{
    int r = 0;
#if defined(__AVX2__)
    /* Eight rows share each load of x (and its absolute value); their eight
     * sums are reduced together with hadds and one cross-lane add. */
    const __m256i ones = _mm256_set1_epi16(1);
    for (; r + 8 <= rows; r += 8) {
        const int8_t *w0 = w + (size_t)r * (size_t)k_pad;
        __m256i acc[8];
        for (int j = 0; j < 8; j++)
            acc[j] = _mm256_setzero_si256();
        for (int i = 0; i < k_pad; i += 32) {
            __m256i xv = _mm256_load_si256((const __m256i *)(const void *)(x + i));
            __m256i ax = _mm256_sign_epi8(xv, xv);
            for (int j = 0; j < 8; j++) {
                __m256i wv = _mm256_load_si256((const __m256i *)(const void *)(w0 + (size_t)j * (size_t)k_pad + i));
                acc[j] = _mm256_add_epi32(acc[j],
                                          _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(wv, xv)), ones));
            }
        }
        __m256i s0 = _mm256_hadd_epi32(_mm256_hadd_epi32(acc[0], acc[1]), _mm256_hadd_epi32(acc[2], acc[3]));
        __m256i s1 = _mm256_hadd_epi32(_mm256_hadd_epi32(acc[4], acc[5]), _mm256_hadd_epi32(acc[6], acc[7]));
        __m256i sum = _mm256_add_epi32(_mm256_permute2x128_si256(s0, s1, 0x20), _mm256_permute2x128_si256(s0, s1, 0x31));
        _mm256_storeu_si256((__m256i *)(void *)(out + r), sum);
    }
    /* Then four at a time. */
    for (; r + 4 <= rows; r += 4) {
        const int8_t *w0 = w + (size_t)r * (size_t)k_pad;
        __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
        for (int i = 0; i < k_pad; i += 32) {
            __m256i xv = _mm256_load_si256((const __m256i *)(const void *)(x + i));
            a0 = _mm256_add_epi32(a0, mul_pairs(xv, _mm256_load_si256((const __m256i *)(const void *)(w0 + i))));
            a1 = _mm256_add_epi32(
                a1, mul_pairs(xv, _mm256_load_si256((const __m256i *)(const void *)(w0 + k_pad + i))));
            a2 = _mm256_add_epi32(
                a2, mul_pairs(xv, _mm256_load_si256((const __m256i *)(const void *)(w0 + 2 * (size_t)k_pad + i))));
            a3 = _mm256_add_epi32(
                a3, mul_pairs(xv, _mm256_load_si256((const __m256i *)(const void *)(w0 + 3 * (size_t)k_pad + i))));
        }
        __m256i s = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
        __m128i sum = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        _mm_storeu_si128((__m128i *)(void *)(out + r), sum);
    }
#endif
    for (; r < rows; r++)
        out[r] = nn_dot_i8(w + (size_t)r * (size_t)k_pad, x, k_pad);
}

void nn_quantize_i8(const float *x, size_t n, float scale, int8_t *out)
{
    float inv = scale > 0 ? 1.0f / scale : 0.0f;
    size_t i = 0;
#if defined(__AVX2__)
    /* cvtps rounds to nearest even, as lrintf does; packs saturate. */
    const __m256 k = _mm256_set1_ps(inv), hi = _mm256_set1_ps(127.0f), lo = _mm256_set1_ps(-127.0f);
    for (; i + 32 <= n; i += 32) {
        __m256i v[4];
        for (int j = 0; j < 4; j++) {
            __m256 f = _mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * (size_t)j), k);
            v[j] = _mm256_cvtps_epi32(_mm256_max_ps(_mm256_min_ps(f, hi), lo));
        }
        __m256i w16a = _mm256_packs_epi32(v[0], v[1]), w16b = _mm256_packs_epi32(v[2], v[3]);
        __m256i b = _mm256_packs_epi16(w16a, w16b);
        /* packs works within 128-bit lanes: put the 32-bit groups back in order. */
        b = _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)(void *)(out + i), b);
    }
#endif
    for (; i < n; i++) {
        float v = x[i] * inv;
        v = v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v;
        out[i] = (int8_t)lrintf(v);
    }
}

/* ---- building ------------------------------------------------------------ */

static int is_layer(const nn_graph *g, const nn_node *node)
{
    return (node->op == NN_OP_MATMUL || node->op == NN_OP_CONV2D) && g->nodes[node->in[1]].op == NN_OP_PARAM;
}

/* A layer nn_quant_build quantises: not a convolution of few inputs. */
static int worth_int8(const nn_graph *g, const nn_node *node)
{
    const nn_node *w = &g->nodes[node->in[1]];
    return is_layer(g, node) && (node->op != NN_OP_CONV2D || w->size / (size_t)w->dim[0] >= NN_QUANT_MIN_CONV_K);
}

/* A convolution's shape: input C x H x W, kernel kh x kw, output OH x OW. */
typedef struct conv_shape {
    int c, h, w, kh, kw, oh, ow, stride, pad;
} conv_shape;

static void conv_shape_of(const nn_graph *g, const nn_node *node, conv_shape *cs)
{
    const nn_node *x = &g->nodes[node->in[0]], *w = &g->nodes[node->in[1]];
    cs->c = x->dim[0];
    cs->h = x->dim[1];
    cs->w = x->dim[2];
    cs->kh = w->dim[2];
    cs->kw = w->dim[3];
    cs->oh = node->dim[1];
    cs->ow = node->dim[2];
    cs->stride = node->args.stride;
    cs->pad = node->args.pad;
}

/* Scratch one sample of this layer needs: bytes for the quantised input
 * (and a convolution's columns), and int32 sums. */
static void layer_scratch(const nn_graph *g, const nn_quant_layer *l, size_t *bytes, size_t *sums)
{
    const nn_node *node = &g->nodes[l->node];
    if (node->op != NN_OP_CONV2D) {
        *bytes = (size_t)l->k_pad;
        *sums = (size_t)l->rows;
        return;
    }
    conv_shape cs;
    conv_shape_of(g, node, &cs);
    size_t positions = (size_t)cs.oh * (size_t)cs.ow;
    size_t padded = (size_t)cs.c * (size_t)(cs.h + 2 * cs.pad) * (size_t)(cs.w + 2 * cs.pad);
    *bytes = round_up((size_t)cs.c * (size_t)cs.h * (size_t)cs.w, NN_QUANT_ALIGN) +
             round_up(padded, NN_QUANT_ALIGN) + positions * (size_t)l->k_pad;
    *sums = positions;
}

int nn_quant_begin(nn_quant *q, const nn_graph *g, nn_error *err)
{
    memset(q, 0, sizeof *q);
    int count = 0;
    for (int i = 0; i < g->n_nodes; i++)
        count += is_layer(g, &g->nodes[i]);
    q->layers = calloc(count ? (size_t)count : 1, sizeof *q->layers);
    if (!q->layers)
        return nn_error_set(err, NN_ERUNTIME, "quantise: out of memory");
    return NN_OK;
}

int nn_quant_add(nn_quant *q, const nn_graph *g, int param, const int8_t *values, const float *scales, float x_scale,
                 nn_error *err)
{
    int node = -1;
    for (int i = 0; i < g->n_nodes && node < 0; i++)
        if (is_layer(g, &g->nodes[i]) && g->nodes[g->nodes[i].in[1]].param_index == param)
            node = i;
    const nn_node *w = &g->nodes[g->param_nodes[param]];
    if (node < 0)
        return nn_error_set(err, NN_EINPUT, "quantise: %s is not the weight of a dense or convolution layer", w->name);
    if (!(x_scale > 0) || !isfinite(x_scale))
        return nn_error_set(err, NN_EINPUT, "quantise: input scale %g of %s is not a positive number", x_scale,
                            w->name);
    nn_quant_layer *l = &q->layers[q->n_layers];
    memset(l, 0, sizeof *l);
    l->node = node;
    l->param = param;
    l->rows = w->dim[0];
    l->k = (int)(w->size / (size_t)l->rows);
    l->k_pad = (int)round_up((size_t)l->k, NN_QUANT_ALIGN);
    l->x_scale = x_scale;
    l->w = aligned((size_t)l->rows * (size_t)l->k_pad);
    l->w_scale = malloc((size_t)l->rows * sizeof *l->w_scale);
    l->out_scale = malloc((size_t)l->rows * sizeof *l->out_scale);
    if (!l->w || !l->w_scale || !l->out_scale) {
        free(l->w);
        free(l->w_scale);
        free(l->out_scale);
        return nn_error_set(err, NN_ERUNTIME, "quantise: out of memory");
    }
    memset(l->w, 0, (size_t)l->rows * (size_t)l->k_pad);
    for (int r = 0; r < l->rows; r++) {
        for (int c = 0; c < l->k; c++) {
            int8_t v = values[(size_t)r * (size_t)l->k + (size_t)c];
            l->w[(size_t)r * (size_t)l->k_pad + (size_t)c] = v < -127 ? -127 : v;
        }
        if (!(scales[r] >= 0) || !isfinite(scales[r]))
            return nn_error_set(err, NN_EINPUT, "quantise: scale %g of %s row %d is not a number >= 0", scales[r],
                                w->name, r);
        l->w_scale[r] = scales[r];
        l->out_scale[r] = scales[r] * x_scale;
    }
    q->n_layers++;
    return NN_OK;
}

int nn_quant_end(nn_quant *q, const nn_graph *g, nn_error *err)
{
    size_t bytes = NN_QUANT_ALIGN, rows = 1;
    for (int i = 0; i < q->n_layers; i++) {
        size_t b, r;
        layer_scratch(g, &q->layers[i], &b, &r);
        bytes = b > bytes ? b : bytes;
        rows = r > rows ? r : rows;
    }
    free(q->acc);
    q->acc = malloc(rows * sizeof *q->acc);
    free(q->xq);
    q->xq = aligned(bytes);
    q->xq_size = round_up(bytes, NN_QUANT_ALIGN);
    if (!q->xq || !q->acc)
        return nn_error_set(err, NN_ERUNTIME, "quantise: out of memory");
    return NN_OK;
}

void nn_quant_free(nn_quant *q)
{
    for (int i = 0; i < q->n_layers; i++) {
        free(q->layers[i].w);
        free(q->layers[i].w_scale);
        free(q->layers[i].out_scale);
    }
    free(q->acc);
    free(q->layers);
    free(q->xq);
    memset(q, 0, sizeof *q);
}

const char *nn_quant_float_layer(const nn_quant *q, const nn_graph *g, int k)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const nn_node *node = &g->nodes[i];
        if (is_layer(g, node) && !nn_quant_find(q, g->nodes[node->in[1]].param_index) && k-- == 0)
            return node->name;
    }
    return NULL;
}

const nn_quant_layer *nn_quant_find(const nn_quant *q, int param)
{
    for (int i = 0; i < q->n_layers; i++)
        if (q->layers[i].param == param)
            return &q->layers[i];
    return NULL;
}

void nn_quant_layer_values(const nn_quant_layer *l, int8_t *out)
{
    for (int r = 0; r < l->rows; r++)
        memcpy(out + (size_t)r * (size_t)l->k, l->w + (size_t)r * (size_t)l->k_pad, (size_t)l->k);
}

/* Symmetric per-row scales and values of a float weight matrix. */
static void quantise_rows(const float *w, int rows, int k, int8_t *q, float *scales)
{
    for (int r = 0; r < rows; r++) {
        const float *row = w + (size_t)r * (size_t)k;
        float m = 0;
        for (int c = 0; c < k; c++)
            m = fmaxf(m, fabsf(row[c]));
        scales[r] = m / 127.0f;
        nn_quantize_i8(row, (size_t)k, scales[r], q + (size_t)r * (size_t)k);
    }
}

int nn_quant_build(nn_quant *q, nn_graph *g, const nn_dataset *ds, size_t samples, nn_error *err)
{
    /* The largest input magnitude of each layer over the calibration images. */
    float *peak = calloc((size_t)g->n_nodes, sizeof *peak);
    int *labels = malloc((size_t)g->max_batch * sizeof *labels);
    size_t *idx = malloc((size_t)g->max_batch * sizeof *idx);
    if (!peak || !labels || !idx) {
        free(peak);
        free(labels);
        free(idx);
        return nn_error_set(err, NN_ERUNTIME, "quantise: out of memory");
    }
    int saved = g->training;
    g->training = 0;
    nn_node *in = &g->nodes[g->input], *target = &g->nodes[g->target];
    if (samples > ds->count)
        samples = ds->count;
    for (size_t start = 0; start < samples; start += (size_t)g->max_batch) {
        int n = samples - start < (size_t)g->max_batch ? (int)(samples - start) : g->max_batch;
        for (int i = 0; i < n; i++)
            idx[i] = start + (size_t)i;
        nn_dataset_batch(ds, idx, n, in->value, target->value, labels);
        nn_graph_forward(g, n);
        for (int i = 0; i < g->n_nodes; i++) {
            if (!is_layer(g, &g->nodes[i]))
                continue;
            const nn_node *x = &g->nodes[g->nodes[i].in[0]];
            size_t extent = x->batched ? (size_t)n * x->size : x->size;
            float m = peak[i];
            for (size_t e = 0; e < extent; e++)
                m = fmaxf(m, fabsf(x->value[e]));
            peak[i] = m;
        }
    }
    g->training = saved;
    free(labels);
    free(idx);

    int rc = nn_quant_begin(q, g, err);
    for (int i = 0; i < g->n_nodes && !rc; i++) {
        if (!worth_int8(g, &g->nodes[i]))
            continue;
        const nn_node *w = &g->nodes[g->nodes[i].in[1]];
        int rows = w->dim[0], k = (int)(w->size / (size_t)rows);
        int8_t *values = malloc(w->size);
        float *scales = malloc((size_t)rows * sizeof *scales);
        if (!values || !scales) {
            rc = nn_error_set(err, NN_ERUNTIME, "quantise: out of memory");
        } else {
            quantise_rows(w->value, rows, k, values, scales);
            /* An input that was always zero still needs a usable scale. */
            float x_scale = peak[i] > 0 ? peak[i] / 127.0f : 1.0f / 127.0f;
            rc = nn_quant_add(q, g, w->param_index, values, scales, x_scale, err);
        }
        free(values);
        free(scales);
    }
    free(peak);
    if (!rc)
        rc = nn_quant_end(q, g, err);
    if (rc)
        nn_quant_free(q);
    return rc;
}

/* ---- int8 forward ---------------------------------------------------------- */

/* y[n,M] = x[n,K] W[M,K]^T with x quantised one sample at a time. */
static void matmul_i8(nn_quant *q, const nn_quant_layer *l, nn_graph *g, nn_node *node, int n)
{
    const nn_node *x = &g->nodes[node->in[0]];
    int8_t *xq = q->xq;
    memset(xq + l->k, 0, (size_t)(l->k_pad - l->k));
    int32_t *acc = q->acc;
    for (int s = 0; s < n; s++) {
        nn_quantize_i8(x->value + (size_t)s * x->size, (size_t)l->k, l->x_scale, xq);
        float *y = node->value + (size_t)s * node->size;
        nn_dot_rows_i8(l->w, l->rows, l->k_pad, xq, acc);
        for (int r = 0; r < l->rows; r++)
            y[r] = (float)acc[r] * l->out_scale[r];
    }
}

/* Copy n bytes, n small; a constant size per case lets the compiler inline it. */
static inline void copy_run(int8_t *dst, const int8_t *src, int n)
{
    switch (n) {
    case 1: memcpy(dst, src, 1); break;
    case 2: memcpy(dst, src, 2); break;
    case 3: memcpy(dst, src, 3); break;
    case 4: memcpy(dst, src, 4); break;
    case 5: memcpy(dst, src, 5); break;
    case 7: memcpy(dst, src, 7); break;
    default: memcpy(dst, src, (size_t)n); break;
    }
}

/* One sample's columns, a row of k_pad bytes per output position: the
 * quantised input under each kernel tap (c, i, j), from a plane with the
 * padding already around it, so every tap row is one run of kw bytes. */
static void im2col_i8(const conv_shape *cs, const int8_t *padded, int k_pad, int8_t *cols)
{
    int k = cs->c * cs->kh * cs->kw, hp = cs->h + 2 * cs->pad, wp = cs->w + 2 * cs->pad;
    /* Runs of up to 8 bytes are copied as 8: each run's spill is overwritten
     * by the next, and the last one's by the zero tail, which must then be
     * at least 8 - kw long.  (The source may read up to 7 bytes past the
     * padded plane, into the columns after it in the same buffer.) */
    int wide = cs->kw <= 8 && k_pad - k >= 8 - cs->kw;
    for (int oy = 0; oy < cs->oh; oy++)
        for (int ox = 0; ox < cs->ow; ox++) {
            int8_t *row = cols + ((size_t)oy * (size_t)cs->ow + (size_t)ox) * (size_t)k_pad;
            const int8_t *at = padded + (size_t)oy * (size_t)cs->stride * (size_t)wp + (size_t)ox * (size_t)cs->stride;
            for (int c = 0; c < cs->c; c++, at += (size_t)hp * (size_t)wp)
                for (int i = 0; i < cs->kh; i++, row += cs->kw) {
                    if (wide)
                        memcpy(row, at + (size_t)i * (size_t)wp, 8);
                    else
                        copy_run(row, at + (size_t)i * (size_t)wp, cs->kw);
                }
            memset(row, 0, (size_t)(k_pad - k));
        }
}

/* Quantise one sample's C x H x W input into a plane with pad zeros around
 * each channel. */
static void quantize_padded(const conv_shape *cs, const float *x, float scale, int8_t *plain, int8_t *padded)
{
    size_t plane = (size_t)cs->c * (size_t)cs->h * (size_t)cs->w;
    nn_quantize_i8(x, plane, scale, plain);
    if (cs->pad == 0) {
        memcpy(padded, plain, plane);
        return;
    }
    int hp = cs->h + 2 * cs->pad, wp = cs->w + 2 * cs->pad;
    memset(padded, 0, (size_t)cs->c * (size_t)hp * (size_t)wp);
    for (int c = 0; c < cs->c; c++)
        for (int y = 0; y < cs->h; y++)
            memcpy(padded + ((size_t)c * (size_t)hp + (size_t)(y + cs->pad)) * (size_t)wp + (size_t)cs->pad,
                   plain + ((size_t)c * (size_t)cs->h + (size_t)y) * (size_t)cs->w, (size_t)cs->w);
}

/* y[n,O,OH,OW] = W[O,K] . columns, each output channel against every
 * position's column row (four positions share each load of W's row). */
static void conv_i8(nn_quant *q, const nn_quant_layer *l, nn_graph *g, nn_node *node, int n)
{
    const nn_node *x = &g->nodes[node->in[0]];
    conv_shape cs;
    conv_shape_of(g, node, &cs);
    size_t plane = (size_t)cs.c * (size_t)cs.h * (size_t)cs.w, positions = (size_t)cs.oh * (size_t)cs.ow;
    size_t padded_plane = (size_t)cs.c * (size_t)(cs.h + 2 * cs.pad) * (size_t)(cs.w + 2 * cs.pad);
    int8_t *plain = q->xq, *padded = plain + round_up(plane, NN_QUANT_ALIGN);
    int8_t *cols = padded + round_up(padded_plane, NN_QUANT_ALIGN);
    int32_t *acc = q->acc;
    const nn_node *b = nn_conv2d_bias(g, node);
    const float *bias = b ? b->value : NULL;
    for (int s = 0; s < n; s++) {
        quantize_padded(&cs, x->value + (size_t)s * x->size, l->x_scale, plain, padded);
        im2col_i8(&cs, padded, l->k_pad, cols);
        float *y = node->value + (size_t)s * node->size;
        for (int o = 0; o < l->rows; o++) {
            nn_dot_rows_i8(cols, (int)positions, l->k_pad, l->w + (size_t)o * (size_t)l->k_pad, acc);
            float scale = l->out_scale[o], b = bias ? bias[o] : 0.0f;
            float *yo = y + (size_t)o * positions;
            for (size_t p = 0; p < positions; p++)
                yo[p] = (float)acc[p] * scale + b;
        }
    }
}

int nn_quant_run_node(nn_quant *q, nn_graph *g, int node, int n)
{
    for (int k = 0; k < q->n_layers; k++) {
        if (q->layers[k].node != node)
            continue;
        if (g->nodes[node].op == NN_OP_CONV2D)
            conv_i8(q, &q->layers[k], g, &g->nodes[node], n);
        else
            matmul_i8(q, &q->layers[k], g, &g->nodes[node], n);
        return 1;
    }
    return 0;
}

void nn_quant_forward(nn_quant *q, nn_graph *g, int n)
{
    g->batch = n;
    for (int i = 0; i < g->n_nodes; i++) {
        nn_node *node = &g->nodes[i];
        if (node->op > NN_OP_PARAM && !nn_quant_run_node(q, g, i, n))
            nn_ops[node->op].forward(g, node, n);
    }
}

void nn_quant_evaluate(nn_quant *q, nn_graph *g, const nn_dataset *ds, nn_eval *out)
{
    memset(out, 0, sizeof *out);
    out->classes = ds->classes < NN_EVAL_MAX_CLASSES ? ds->classes : NN_EVAL_MAX_CLASSES;
    int saved = g->training;
    g->training = 0;
    nn_node *in = &g->nodes[g->input], *target = &g->nodes[g->target];
    const nn_node *pred = &g->nodes[g->output];
    size_t idx[1024];
    int labels[1024];
    int chunk = g->max_batch < 1024 ? g->max_batch : 1024;
    double loss = 0;
    long correct = 0;
    for (size_t start = 0; start < ds->count; start += (size_t)chunk) {
        int n = ds->count - start < (size_t)chunk ? (int)(ds->count - start) : chunk;
        for (int i = 0; i < n; i++)
            idx[i] = start + (size_t)i;
        nn_dataset_batch(ds, idx, n, in->value, target->value, labels);
        nn_quant_forward(q, g, n);
        loss += (double)nn_graph_loss(g) * n;
        for (int i = 0; i < n; i++) {
            int p = nn_vec_argmax(pred->value + (size_t)i * pred->size, (int)pred->size);
            int y = labels[i];
            correct += p == y;
            if (y < out->classes && p < out->classes)
                out->confusion[y][p]++;
        }
    }
    g->training = saved;
    out->count = ds->count;
    out->loss = ds->count ? loss / (double)ds->count : 0;
    out->accuracy = ds->count ? (double)correct / (double)ds->count : 0;
    for (int c = 0; c < out->classes; c++) {
        long total = 0;
        for (int p = 0; p < out->classes; p++)
            total += out->confusion[c][p];
        out->class_accuracy[c] = total ? (double)out->confusion[c][c] / (double)total : 0;
    }
}
