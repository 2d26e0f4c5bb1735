/* Stride-1 convolution kernels over shifted planes (see conv_kernels.h).
 *
 * The forward kernel holds up to 6 output channels x 16 positions in 12
 * AVX registers: per kernel tap it loads 16 shifted inputs once and
 * broadcasts each channel's weight, so every load feeds 2 to 12 FMAs.  The
 * weight-gradient kernel holds 4 channels x 3 taps: per 8 positions it loads
 * 4 output gradients and 3 shifted inputs for 12 FMAs, and sums each
 * accumulator's lanes once at the end.  Block sizes are fixed per function
 * so that the compiler keeps the accumulators in registers; the edges of a
 * layer use the smaller blocks.
 *
 * Every output element is summed in a fixed order (channel, row, column of
 * the kernel; positions in lane order for the weight gradient), whatever the
 * thread or the batch. */
#include "conv_kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <immintrin.h>

#define KERNEL __attribute__((target("avx2,fma")))
/* The block loops run a constant number of times; unrolled, their
 * accumulators live in registers.  Clang unrolls them unasked. */
#if defined(__clang__)
#define UNROLLED
#else
#define UNROLLED _Pragma("GCC unroll 12")
#endif

int nn_conv_kernels_available(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* ---- forward: OB output channels x NV * 8 positions ---------------------- */

#define SHIFTED_BLOCK(OB, NV)                                                                                     \
    KERNEL static void shifted_##OB##_##NV(const float *w, size_t w_stride, const float *x, size_t plane, int wp,   \
                                           int c_in, int kh, int kw, float *out, size_t qa)                         \
    {                                                                                                               \
        __m256 acc[OB][NV];                                                                                         \
        UNROLLED for (int o = 0; o < OB; o++)                                                                       \
            UNROLLED for (int v = 0; v < NV; v++)                                                                   \
                acc[o][v] = _mm256_setzero_ps();                                                                    \
        for (int c = 0; c < c_in; c++)                                                                              \
            for (int i = 0; i < kh; i++) {                                                                          \
                const float *xr = x + c * plane + (size_t)i * wp, *wr = w + ((size_t)c * kh + i) * kw;              \
                for (int j = 0; j < kw; j++) {                                                                      \
                    __m256 xv[NV];                                                                                  \
                    UNROLLED for (int v = 0; v < NV; v++)                                                           \
                        xv[v] = _mm256_loadu_ps(xr + j + 8 * v);                                                    \
                    UNROLLED for (int o = 0; o < OB; o++) {                                                         \
                        __m256 wv = _mm256_broadcast_ss(wr + o * w_stride + j);                                     \
                        UNROLLED for (int v = 0; v < NV; v++)                                                       \
                            acc[o][v] = _mm256_fmadd_ps(wv, xv[v], acc[o][v]);                                      \
                    }                                                                                               \
                }                                                                                                   \
            }                                                                                                       \
        UNROLLED for (int o = 0; o < OB; o++)                                                                       \
            UNROLLED for (int v = 0; v < NV; v++)                                                                   \
                _mm256_storeu_ps(out + o * qa + 8 * v, acc[o][v]);                                                  \
    }

SHIFTED_BLOCK(1, 2)
SHIFTED_BLOCK(2, 2)
SHIFTED_BLOCK(3, 2)
SHIFTED_BLOCK(4, 2)
SHIFTED_BLOCK(5, 2)
SHIFTED_BLOCK(6, 2)
SHIFTED_BLOCK(4, 3)
SHIFTED_BLOCK(4, 1)

typedef void (*shifted_fn)(const float *, size_t, const float *, size_t, int, int, int, int, float *, size_t);
static const shifted_fn shifted_16[6] = {shifted_1_2, shifted_2_2, shifted_3_2, shifted_4_2, shifted_5_2, shifted_6_2};

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
                shifted_4_3(w + o * w_stride, w_stride, x + q, plane, wp, c_in, kh, kw, out + o * qa + q, qa);
            for (; q < qa; q += 8)
                shifted_4_1(w + o * w_stride, w_stride, x + q, plane, wp, c_in, kh, kw, out + o * qa + q, qa);
        }
        return;
    }
    /* as few blocks of at most 6 channels as will do, of even sizes: 10
     * channels run as 5 + 5 rather than 6 + 4 */
    int blocks = (o_out + 5) / 6;
    for (int b = 0, o = 0; b < blocks; b++) {
        int ob = (o_out - o + (blocks - b) - 1) / (blocks - b);
        shifted_fn fn = shifted_16[ob - 1];
        for (size_t q = 0; q < qa; q += NN_CONV_BLOCK)
            fn(w + o * w_stride, w_stride, x + q, plane, wp, c_in, kh, kw, out + o * qa + q, qa);
        o += ob;
    }
}

/* ---- weight gradient: OB output channels x TB kernel taps --------------- */

KERNEL static inline float lane_sum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#define SHIFTED_DW_BLOCK(OB, TB)                                                                                  \
    KERNEL static void shifted_dw_##OB##_##TB(const float *dy, size_t qa, const float *x, const size_t *off,       \
                                              float *dw, size_t dw_stride)                                          \
    {                                                                                                               \
        __m256 acc[OB][TB];                                                                                         \
        UNROLLED for (int o = 0; o < OB; o++)                                                                                \
            UNROLLED for (int u = 0; u < TB; u++)                                                                            \
                acc[o][u] = _mm256_setzero_ps();                                                                    \
        for (size_t q = 0; q < qa; q += 8) {                                                                        \
            __m256 xv[TB];                                                                                          \
            UNROLLED for (int u = 0; u < TB; u++)                                                                            \
                xv[u] = _mm256_loadu_ps(x + off[u] + q);                                                            \
            UNROLLED for (int o = 0; o < OB; o++) {                                                                          \
                __m256 d = _mm256_loadu_ps(dy + o * qa + q);                                                        \
                UNROLLED for (int u = 0; u < TB; u++)                                                                        \
                    acc[o][u] = _mm256_fmadd_ps(d, xv[u], acc[o][u]);                                               \
            }                                                                                                       \
        }                                                                                                           \
        UNROLLED for (int o = 0; o < OB; o++)                                                                                \
            UNROLLED for (int u = 0; u < TB; u++)                                                                            \
                dw[o * dw_stride + u] += lane_sum(acc[o][u]);                                                       \
    }

SHIFTED_DW_BLOCK(1, 1)
SHIFTED_DW_BLOCK(1, 2)
SHIFTED_DW_BLOCK(1, 3)
SHIFTED_DW_BLOCK(2, 1)
SHIFTED_DW_BLOCK(2, 2)
SHIFTED_DW_BLOCK(2, 3)
SHIFTED_DW_BLOCK(3, 1)
SHIFTED_DW_BLOCK(3, 2)
SHIFTED_DW_BLOCK(3, 3)
SHIFTED_DW_BLOCK(4, 1)
SHIFTED_DW_BLOCK(4, 2)
SHIFTED_DW_BLOCK(4, 3)

typedef void (*shifted_dw_fn)(const float *, size_t, const float *, const size_t *, float *, size_t);
static const shifted_dw_fn shifted_dw_blocks[4][3] = {
    {shifted_dw_1_1, shifted_dw_1_2, shifted_dw_1_3},
    {shifted_dw_2_1, shifted_dw_2_2, shifted_dw_2_3},
    {shifted_dw_3_1, shifted_dw_3_2, shifted_dw_3_3},
    {shifted_dw_4_1, shifted_dw_4_2, shifted_dw_4_3},
};

void nn_conv_shifted_dw(int o_out, int c_in, int kh, int kw, const float *dy, const float *x, size_t plane, int wp,
                        size_t qa, float *dw)
{
    size_t taps = (size_t)c_in * kh * kw, taps_per_channel = (size_t)kh * kw;
    for (size_t t = 0; t < taps; t += 3) {
        int tb = taps - t < 3 ? (int)(taps - t) : 3;
        size_t off[3];
        for (int u = 0; u < tb; u++) {
            size_t c = (t + u) / taps_per_channel, r = (t + u) % taps_per_channel;
            off[u] = c * plane + r / (size_t)kw * (size_t)wp + r % (size_t)kw;
        }
        for (int o = 0; o < o_out; o += 4) {
            int ob = o_out - o < 4 ? o_out - o : 4;
            shifted_dw_blocks[ob - 1][tb - 1](dy + (size_t)o * qa, qa, x, off, dw + (size_t)o * taps + t, taps);
        }
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

void nn_conv_shifted_dw(int o_out, int c_in, int kh, int kw, const float *dy, const float *x, size_t plane, int wp,
                        size_t qa, float *dw)
{
    for (int o = 0; o < o_out; o++)
        for (int c = 0; c < c_in; c++)
            for (int i = 0; i < kh; i++)
                for (int j = 0; j < kw; j++) {
                    float sum = 0.0f;
                    for (size_t q = 0; q < qa; q++)
                        sum += dy[o * qa + q] * x[c * plane + q + (size_t)i * wp + j];
                    dw[(((size_t)o * c_in + c) * kh + i) * kw + j] += sum;
                }
}

#endif
