/* Stride-1 convolution kernels (see conv_kernels.h).
 *
 * Shifted planes, one sample at a time: the forward kernel holds up to 6
 * output channels x 16 positions in 12 AVX registers; per kernel tap it
 * loads 16 shifted inputs once and broadcasts each channel's weight.
 *
 * The batch in the lanes, 8 samples at a time: the forward kernel holds 4
 * output channels x 3 positions (or 6 x 2), so that per tap 3 loads and 4
 * broadcasts feed 12 FMAs; dW holds 4 channels x 3 taps, loading 4 output
 * gradients and 3 inputs per position for 12 FMAs, and sums its lanes once
 * per group; dx holds 4 taps x 3 positions, summing W^T dy over the output
 * channels in registers before adding it onto the input positions.
 *
 * Block sizes are fixed per function so that the compiler keeps the
 * accumulators in registers; the edges of a layer use smaller blocks.
 * Every output element is summed in a fixed order (the forward over
 * channel, row and column of the kernel, on either layout), whatever the
 * thread or the batch. */
#include "conv_kernels.h"

#include "simd.h"

#if NN_X86_KERNELS

#include <immintrin.h>

/* The block loops run a constant number of times; unrolled, their
 * accumulators live in registers.  Clang unrolls them unasked. */
#if defined(__clang__)
#define UNROLLED
#else
#define UNROLLED _Pragma("GCC unroll 12")
#endif

int nn_conv_kernels_available(void)
{
    return nn_cpu_has_avx2();
}

/* ---- forward: OB output channels x NV vectors of 8 --------------------- */

/* acc[o][v] = sum over c, i, j of w[o][c][i][j] * the vector at
 * x + c*c_stride + i*row_stride + j*tap_stride + 8*v: on shifted planes a
 * tap moves one float (v: 8 positions further), in lanes 8 (v: the next
 * position of 8 samples).  Either way every output is summed in the order
 * c, i, j from zero, so the two layouts agree bit for bit. */
#define FORWARD_BLOCK(OB, NV)                                                                                     \
    NN_AVX2 static void forward_##OB##_##NV(const float *w, size_t w_stride, const float *x, size_t c_stride,       \
                                           size_t row_stride, size_t tap_stride, int c_in, int kh, int kw,          \
                                           float *out, size_t out_stride)                                           \
    {                                                                                                               \
        __m256 acc[OB][NV];                                                                                         \
        UNROLLED for (int o = 0; o < OB; o++)                                                                       \
            UNROLLED for (int v = 0; v < NV; v++)                                                                   \
                acc[o][v] = _mm256_setzero_ps();                                                                    \
        for (int c = 0; c < c_in; c++)                                                                              \
            for (int i = 0; i < kh; i++) {                                                                          \
                const float *xr = x + c * c_stride + i * row_stride, *wr = w + ((size_t)c * kh + i) * kw;           \
                for (int j = 0; j < kw; j++, xr += tap_stride) {                                                    \
                    __m256 xv[NV];                                                                                  \
                    UNROLLED for (int v = 0; v < NV; v++)                                                           \
                        xv[v] = _mm256_loadu_ps(xr + 8 * v);                                                        \
                    UNROLLED for (int o = 0; o < OB; o++) {                                                         \
                        __m256 wv = _mm256_broadcast_ss(wr + o * w_stride + j);                                     \
                        UNROLLED for (int v = 0; v < NV; v++)                                                       \
                            acc[o][v] = _mm256_fmadd_ps(wv, xv[v], acc[o][v]);                                      \
                    }                                                                                               \
                }                                                                                                   \
            }                                                                                                       \
        UNROLLED for (int o = 0; o < OB; o++)                                                                       \
            UNROLLED for (int v = 0; v < NV; v++)                                                                   \
                _mm256_storeu_ps(out + o * out_stride + 8 * v, acc[o][v]);                                          \
    }

FORWARD_BLOCK(1, 1)
FORWARD_BLOCK(1, 2)
FORWARD_BLOCK(1, 3)
FORWARD_BLOCK(2, 1)
FORWARD_BLOCK(2, 2)
FORWARD_BLOCK(2, 3)
FORWARD_BLOCK(3, 1)
FORWARD_BLOCK(3, 2)
FORWARD_BLOCK(3, 3)
FORWARD_BLOCK(4, 1)
FORWARD_BLOCK(4, 2)
FORWARD_BLOCK(4, 3)
FORWARD_BLOCK(5, 2)
FORWARD_BLOCK(6, 1)
FORWARD_BLOCK(6, 2)

typedef void (*forward_fn)(const float *, size_t, const float *, size_t, size_t, size_t, int, int, int, float *,
                           size_t);
/* [OB - 1][NV - 1] for OB <= 4 */
static const forward_fn forward_blocks[4][3] = {
    {forward_1_1, forward_1_2, forward_1_3},
    {forward_2_1, forward_2_2, forward_2_3},
    {forward_3_1, forward_3_2, forward_3_3},
    {forward_4_1, forward_4_2, forward_4_3},
};
static const forward_fn shifted_16[6] = {forward_1_2, forward_2_2, forward_3_2, forward_4_2, forward_5_2, forward_6_2};

void nn_conv_shifted(int o_out, int c_in, int kh, int kw, const float *w, const float *x, size_t plane, int wp,
                     size_t qa, float *out)
{
    size_t w_stride = (size_t)c_in * kh * kw;
    if (o_out % 4 == 0) {
        /* 4 channels x 24 positions: 3 loads and 4 broadcasts per 12 FMAs,
         * against 2 and 6 for 6 x 16 (10-14% faster on lenet's and cnn's
         * second layers); the last 8 or 16 positions 8 at a time */
        for (int o = 0; o < o_out; o += 4) {
            size_t q = 0;
            for (; q + 24 <= qa; q += 24)
                forward_4_3(w + o * w_stride, w_stride, x + q, plane, (size_t)wp, 1, c_in, kh, kw, out + o * qa + q, qa);
            for (; q < qa; q += 8)
                forward_4_1(w + o * w_stride, w_stride, x + q, plane, (size_t)wp, 1, c_in, kh, kw, out + o * qa + q, qa);
        }
        return;
    }
    /* as few blocks of at most 6 channels as will do, of even sizes: 10
     * channels run as 5 + 5 rather than 6 + 4 */
    int blocks = (o_out + 5) / 6;
    for (int b = 0, o = 0; b < blocks; b++) {
        int ob = (o_out - o + (blocks - b) - 1) / (blocks - b);
        forward_fn fn = shifted_16[ob - 1];
        for (size_t q = 0; q < qa; q += NN_CONV_BLOCK)
            fn(w + o * w_stride, w_stride, x + q, plane, (size_t)wp, 1, c_in, kh, kw, out + o * qa + q, qa);
        o += ob;
    }
}

/* ---- the batch in the lanes (see conv_kernels.h) ------------------------ */

NN_AVX2 static inline float lane_sum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* r[l] = 8 floats of row l becomes r[m] = float m of every row. */
NN_AVX2 static inline void transpose8(__m256 r[8])
{
    __m256 t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 2; i++) {
        u[4 * i] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
}

NN_AVX2 void nn_lanes_in(const float *const src[8], size_t count, float *dst)
{
    size_t k = 0;
    for (; k + 8 <= count; k += 8) {
        __m256 r[8];
        for (int l = 0; l < 8; l++)
            r[l] = _mm256_loadu_ps(src[l] + k);
        transpose8(r);
        for (int m = 0; m < 8; m++)
            _mm256_storeu_ps(dst + (k + m) * 8, r[m]);
    }
    for (; k < count; k++)
        for (int l = 0; l < 8; l++)
            dst[k * 8 + l] = src[l][k];
}

NN_AVX2 void nn_lanes_out(const float *src, size_t count, float *const dst[8], float bias, int add)
{
    size_t k = 0;
    __m256 b = _mm256_set1_ps(bias);
    for (; k + 8 <= count; k += 8) {
        __m256 r[8];
        for (int m = 0; m < 8; m++)
            r[m] = _mm256_loadu_ps(src + (k + m) * 8);
        transpose8(r);
        for (int l = 0; l < 8; l++) {
            __m256 v = _mm256_add_ps(r[l], b);
            if (add)
                v = _mm256_add_ps(_mm256_loadu_ps(dst[l] + k), v);
            _mm256_storeu_ps(dst[l] + k, v);
        }
    }
    for (; k < count; k++)
        for (int l = 0; l < 8; l++)
            dst[l][k] = (add ? dst[l][k] : 0.0f) + (src[k * 8 + l] + bias);
}

/* Even blocks of at most `most`: 10 positions run as 3 + 3 + 2 + 2. */
static int even_block(int left, int most)
{
    int blocks = (left + most - 1) / most;
    return (left + blocks - 1) / blocks;
}

void nn_conv_lanes(int o_out, int c_in, int kh, int kw, int hp, int wp, const float *w, const float *x, float *y)
{
    int oh = hp - kh + 1, ow = wp - kw + 1;
    size_t w_stride = (size_t)c_in * kh * kw, y_stride = (size_t)oh * ow * 8;
    for (int o = 0; o < o_out;) {
        /* 4 channels x 3 positions: 3 loads and 4 broadcasts per 12 FMAs;
         * 6 channels (as lenet's first layer has) x 2 rather than 3 + 3 */
        int ob = (o_out - o) % 6 == 0 && (o_out - o) % 4 != 0 ? 6 : even_block(o_out - o, 4);
        for (int r = 0; r < oh; r++)
            for (int s = 0; s < ow;) {
                int xb = even_block(ow - s, ob == 6 ? 2 : 3);
                forward_fn fn = ob == 6 ? (xb == 2 ? forward_6_2 : forward_6_1) : forward_blocks[ob - 1][xb - 1];
                fn(w + o * w_stride, w_stride, x + ((size_t)r * wp + s) * 8, (size_t)hp * wp * 8, (size_t)wp * 8, 8,
                   c_in, kh, kw, y + o * y_stride + ((size_t)r * ow + s) * 8, y_stride);
                s += xb;
            }
        o += ob;
    }
}

/* OB output channels x TB kernel taps, over every position of the group. */
#define LANES_DW_BLOCK(OB, TB)                                                                                    \
    NN_AVX2 static void lanes_dw_##OB##_##TB(const float *dy, size_t dy_stride, const float *x, const size_t *off,  \
                                            int oh, int ow, int wp, float *dw, size_t dw_stride)                    \
    {                                                                                                               \
        __m256 acc[OB][TB];                                                                                         \
        UNROLLED for (int o = 0; o < OB; o++)                                                                       \
            UNROLLED for (int u = 0; u < TB; u++)                                                                   \
                acc[o][u] = _mm256_setzero_ps();                                                                    \
        for (int r = 0; r < oh; r++) {                                                                              \
            const float *dyr = dy + (size_t)r * ow * 8, *xr = x + (size_t)r * wp * 8;                               \
            for (int s = 0; s < ow; s++) {                                                                          \
                __m256 xv[TB];                                                                                      \
                UNROLLED for (int u = 0; u < TB; u++)                                                               \
                    xv[u] = _mm256_loadu_ps(xr + off[u] + (size_t)s * 8);                                           \
                UNROLLED for (int o = 0; o < OB; o++) {                                                             \
                    __m256 d = _mm256_loadu_ps(dyr + o * dy_stride + (size_t)s * 8);                                \
                    UNROLLED for (int u = 0; u < TB; u++)                                                           \
                        acc[o][u] = _mm256_fmadd_ps(d, xv[u], acc[o][u]);                                           \
                }                                                                                                   \
            }                                                                                                       \
        }                                                                                                           \
        UNROLLED for (int o = 0; o < OB; o++)                                                                       \
            UNROLLED for (int u = 0; u < TB; u++)                                                                   \
                dw[o * dw_stride + u] += lane_sum(acc[o][u]);                                                       \
    }

LANES_DW_BLOCK(1, 1)
LANES_DW_BLOCK(1, 2)
LANES_DW_BLOCK(1, 3)
LANES_DW_BLOCK(2, 1)
LANES_DW_BLOCK(2, 2)
LANES_DW_BLOCK(2, 3)
LANES_DW_BLOCK(3, 1)
LANES_DW_BLOCK(3, 2)
LANES_DW_BLOCK(3, 3)
LANES_DW_BLOCK(4, 1)
LANES_DW_BLOCK(4, 2)
LANES_DW_BLOCK(4, 3)

typedef void (*lanes_dw_fn)(const float *, size_t, const float *, const size_t *, int, int, int, float *, size_t);
static const lanes_dw_fn lanes_dw_blocks[4][3] = {
    {lanes_dw_1_1, lanes_dw_1_2, lanes_dw_1_3},
    {lanes_dw_2_1, lanes_dw_2_2, lanes_dw_2_3},
    {lanes_dw_3_1, lanes_dw_3_2, lanes_dw_3_3},
    {lanes_dw_4_1, lanes_dw_4_2, lanes_dw_4_3},
};

void nn_conv_lanes_dw(int o_out, int c_in, int kh, int kw, int hp, int wp, const float *dy, const float *x, float *dw)
{
    int oh = hp - kh + 1, ow = wp - kw + 1;
    size_t taps = (size_t)c_in * kh * kw, taps_per_channel = (size_t)kh * kw, dy_stride = (size_t)oh * ow * 8;
    for (int o = 0; o < o_out;) { /* a block of dy stays in L1 while every tap passes */
        int ob = even_block(o_out - o, 4);
        for (size_t t = 0; t < taps;) {
            int tb = even_block((int)(taps - t), 3);
            size_t off[3];
            for (int u = 0; u < tb; u++) {
                size_t c = (t + u) / taps_per_channel, k = (t + u) % taps_per_channel;
                off[u] = ((c * hp + k / kw) * wp + k % kw) * 8;
            }
            lanes_dw_blocks[ob - 1][tb - 1](dy + o * dy_stride, dy_stride, x, off, oh, ow, wp, dw + o * taps + t,
                                            taps);
            t += tb;
        }
        o += ob;
    }
}

/* TB kernel taps of one input channel x XB positions of one output row:
 * sum W^T dy over the output channels, then add it onto dx. */
#define LANES_DX_BLOCK(TB, XB)                                                                                    \
    NN_AVX2 static void lanes_dx_##TB##_##XB(const float *w, size_t w_stride, const float *dy, size_t dy_stride,    \
                                            int o_out, const size_t *off, float *dx)                                \
    {                                                                                                               \
        __m256 acc[TB][XB];                                                                                         \
        UNROLLED for (int u = 0; u < TB; u++)                                                                       \
            UNROLLED for (int v = 0; v < XB; v++)                                                                   \
                acc[u][v] = _mm256_setzero_ps();                                                                    \
        for (int o = 0; o < o_out; o++) {                                                                           \
            __m256 d[XB];                                                                                           \
            UNROLLED for (int v = 0; v < XB; v++)                                                                   \
                d[v] = _mm256_loadu_ps(dy + o * dy_stride + 8 * v);                                                 \
            UNROLLED for (int u = 0; u < TB; u++) {                                                                 \
                __m256 wv = _mm256_broadcast_ss(w + o * w_stride + u);                                              \
                UNROLLED for (int v = 0; v < XB; v++)                                                               \
                    acc[u][v] = _mm256_fmadd_ps(wv, d[v], acc[u][v]);                                               \
            }                                                                                                       \
        }                                                                                                           \
        UNROLLED for (int u = 0; u < TB; u++)                                                                       \
            UNROLLED for (int v = 0; v < XB; v++) {                                                                 \
                float *p = dx + off[u] + 8 * v;                                                                     \
                _mm256_storeu_ps(p, _mm256_add_ps(_mm256_loadu_ps(p), acc[u][v]));                                  \
            }                                                                                                       \
    }

LANES_DX_BLOCK(1, 1)
LANES_DX_BLOCK(1, 2)
LANES_DX_BLOCK(1, 3)
LANES_DX_BLOCK(2, 1)
LANES_DX_BLOCK(2, 2)
LANES_DX_BLOCK(2, 3)
LANES_DX_BLOCK(3, 1)
LANES_DX_BLOCK(3, 2)
LANES_DX_BLOCK(3, 3)
LANES_DX_BLOCK(4, 1)
LANES_DX_BLOCK(4, 2)
LANES_DX_BLOCK(4, 3)

typedef void (*lanes_dx_fn)(const float *, size_t, const float *, size_t, int, const size_t *, float *);
static const lanes_dx_fn lanes_dx_blocks[4][3] = {
    {lanes_dx_1_1, lanes_dx_1_2, lanes_dx_1_3},
    {lanes_dx_2_1, lanes_dx_2_2, lanes_dx_2_3},
    {lanes_dx_3_1, lanes_dx_3_2, lanes_dx_3_3},
    {lanes_dx_4_1, lanes_dx_4_2, lanes_dx_4_3},
};

void nn_conv_lanes_dx(int o_out, int c_in, int kh, int kw, int hp, int wp, const float *w, const float *dy, float *dx)
{
    int oh = hp - kh + 1, ow = wp - kw + 1, taps = kh * kw;
    size_t w_stride = (size_t)c_in * taps, dy_stride = (size_t)oh * ow * 8;
    for (int c = 0; c < c_in; c++)
        for (int t = 0; t < taps;) {
            int tb = even_block(taps - t, 4);
            size_t off[4];
            for (int u = 0; u < tb; u++)
                off[u] = ((size_t)((t + u) / kw) * wp + (size_t)((t + u) % kw)) * 8;
            const float *wt = w + (size_t)c * taps + t;
            for (int r = 0; r < oh; r++)
                for (int s = 0; s < ow;) {
                    int xb = even_block(ow - s, 3);
                    lanes_dx_blocks[tb - 1][xb - 1](wt, w_stride, dy + ((size_t)r * ow + s) * 8, dy_stride, o_out,
                                                    off, dx + (((size_t)c * hp + r) * wp + s) * 8);
                    s += xb;
                }
            t += tb;
        }
}

#else /* no AVX2 kernels on this architecture: callers lower to sgemm */

int nn_conv_kernels_available(void)
{
    return 0;
}

/* The same sums, plainly, so that the functions are defined everywhere. */
void nn_conv_shifted(int o_out, int c_in, int kh, int kw, const float *w, const float *x, size_t plane, int wp,
                     size_t qa, float *out)
{
    for (int o = 0; o < o_out; o++)
        for (size_t q = 0; q < qa; q++) {
            float sum = 0.0f;
            for (int c = 0; c < c_in; c++)
                for (int i = 0; i < kh; i++)
                    for (int j = 0; j < kw; j++)
                        sum += w[(((size_t)o * c_in + c) * kh + i) * kw + j] * x[c * plane + q + (size_t)i * wp + j];
            out[o * qa + q] = sum;
        }
}

void nn_conv_lanes(int o_out, int c_in, int kh, int kw, int hp, int wp, const float *w, const float *x, float *y)
{
    int oh = hp - kh + 1, ow = wp - kw + 1;
    for (int o = 0; o < o_out; o++)
        for (int r = 0; r < oh; r++)
            for (int s = 0; s < ow; s++)
                for (int l = 0; l < 8; l++) {
                    float sum = 0.0f;
                    for (int c = 0; c < c_in; c++)
                        for (int i = 0; i < kh; i++)
                            for (int j = 0; j < kw; j++)
                                sum += w[(((size_t)o * c_in + c) * kh + i) * kw + j] *
                                       x[(((size_t)c * hp + r + i) * wp + s + j) * 8 + l];
                    y[(((size_t)o * oh + r) * ow + s) * 8 + l] = sum;
                }
}

void nn_conv_lanes_dw(int o_out, int c_in, int kh, int kw, int hp, int wp, const float *dy, const float *x, float *dw)
{
    int oh = hp - kh + 1, ow = wp - kw + 1;
    for (int o = 0; o < o_out; o++)
        for (int c = 0; c < c_in; c++)
            for (int i = 0; i < kh; i++)
                for (int j = 0; j < kw; j++) {
                    float sum = 0.0f;
                    for (int r = 0; r < oh; r++)
                        for (int s = 0; s < ow; s++)
                            for (int l = 0; l < 8; l++)
                                sum += dy[(((size_t)o * oh + r) * ow + s) * 8 + l] *
                                       x[(((size_t)c * hp + r + i) * wp + s + j) * 8 + l];
                    dw[(((size_t)o * c_in + c) * kh + i) * kw + j] += sum;
                }
}

void nn_conv_lanes_dx(int o_out, int c_in, int kh, int kw, int hp, int wp, const float *w, const float *dy, float *dx)
{
    int oh = hp - kh + 1, ow = wp - kw + 1;
    for (int c = 0; c < c_in; c++)
        for (int r = 0; r < oh; r++)
            for (int s = 0; s < ow; s++)
                for (int i = 0; i < kh; i++)
                    for (int j = 0; j < kw; j++)
                        for (int l = 0; l < 8; l++) {
                            float sum = 0.0f;
                            for (int o = 0; o < o_out; o++)
                                sum += w[(((size_t)o * c_in + c) * kh + i) * kw + j] *
                                       dy[(((size_t)o * oh + r) * ow + s) * 8 + l];
                            dx[(((size_t)c * hp + r + i) * wp + s + j) * 8 + l] += sum;
                        }
}

void nn_lanes_in(const float *const src[8], size_t count, float *dst)
{
    for (size_t k = 0; k < count; k++)
        for (int l = 0; l < 8; l++)
            dst[k * 8 + l] = src[l][k];
}

void nn_lanes_out(const float *src, size_t count, float *const dst[8], float bias, int add)
{
    for (size_t k = 0; k < count; k++)
        for (int l = 0; l < 8; l++)
            dst[l][k] = (add ? dst[l][k] : 0.0f) + (src[k * 8 + l] + bias);
}

#endif
