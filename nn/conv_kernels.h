/* Stride-1 convolution as sums of shifted planes, vectorised by hand.
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
 * block of output channels times 16 positions in registers.  The weight
 * gradient is the same sum taken against the output gradient.
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

/* dw[((o*c_in + c)*kh + i)*kw + j] += sum over q < qa of
 * dy[o*qa + q] * x[c*plane + q + i*wp + j]: the weight gradient, given an
 * output gradient laid out as out above with zeros in its junk columns. */
void nn_conv_shifted_dw(int o_out, int c_in, int kh, int kw, const float *dy, const float *x, size_t plane, int wp,
                        size_t qa, float *dw);

#endif
