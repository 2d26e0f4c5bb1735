/* Stride-1 convolution, vectorised by hand: over shifted planes, one
 * sample at a time, and with the batch in the vector lanes.
 *
 * A convolution with stride 1 over an input padded to [C, HP, WP] is, for
 * every flat position q = oh*WP + ow of an output laid out with the input's
 * row width WP,
 *
 *     y[o][q] = sum over c, i, j of w[o][c][i][j] * x[c][q + i*WP + j]:
 *
 * each kernel tap reads the whole plane shifted by i*WP + j.  The columns
 * ow >= OW of such an output are junk and the caller drops them.  Lowering
 * to im2col and cblas_sgemm instead makes products with 6 to 64 rows, the
 * shapes at which OpenBLAS runs far below its peak; these kernels keep a
 * block of output channels times 16 positions in registers.
 *
 * Only x86-64 CPUs with AVX2 and FMA run them (checked at run time);
 * elsewhere nn_conv_kernels_available says no and the caller lowers to
 * sgemm. */
#ifndef NN_CONV_KERNELS_H
#define NN_CONV_KERNELS_H

#include <stddef.h>

/* Positions are processed 16 at a time; qa below is a multiple of this. */
#define NN_CONV_BLOCK 16

int nn_conv_kernels_available(void);

/* out[o*qa + q] = sum over c < c_in, i < kh, j < kw of
 * w[((o*c_in + c)*kh + i)*kw + j] * x[c*plane + q + i*wp + j], for o < o_out
 * and q < qa.  Reads x up to index (c_in-1)*plane + (kh-1)*wp + kw-1 + qa-1. */
void nn_conv_shifted(int o_out, int c_in, int kh, int kw, const float *w, const float *x, size_t plane, int wp,
                     size_t qa, float *out);

/* ---- the same convolutions with the batch in the vector lanes ---------
 *
 * A group of 8 samples laid out as [C][HP][WP][8], lane l holding sample l,
 * makes every vector hold one position of 8 images: the loops run over the
 * real positions only, with no junk columns, and the weight gradient sums
 * its lanes once per group rather than once per sample.  dx is a scatter:
 * for each output position, W^T dy added onto the input positions under
 * each kernel tap, in registers before it touches memory.
 *
 * Planes: x and dx [c_in][hp][wp][8] (the input zero-padded by the caller),
 * y and dy [o_out][oh][ow][8] with oh = hp - kh + 1 and ow = wp - kw + 1;
 * w [o_out][c_in][kh][kw]. */

/* dst[k*8 + l] = src[l][k] for k < count: 8 rows into lanes. */
void nn_lanes_in(const float *const src[8], size_t count, float *dst);

/* The reverse: dst[l][k] = src[k*8 + l] + bias, added to dst[l][k] when
 * `add` is set. */
void nn_lanes_out(const float *src, size_t count, float *const dst[8], float bias, int add);

/* y = the convolution of x by w. */
void nn_conv_lanes(int o_out, int c_in, int kh, int kw, int hp, int wp, const float *w, const float *x, float *y);

/* dw[((o*c_in + c)*kh + i)*kw + j] += sum over positions and lanes of
 * dy[o][r][s] * x[c][r + i][s + j]. */
void nn_conv_lanes_dw(int o_out, int c_in, int kh, int kw, int hp, int wp, const float *dy, const float *x, float *dw);

/* dx[c][r + i][s + j] += sum over o of w[o][c][i][j] * dy[o][r][s]. */
void nn_conv_lanes_dx(int o_out, int c_in, int kh, int kw, int hp, int wp, const float *w, const float *dy, float *dx);

#endif
