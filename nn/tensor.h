/* Dense float32 tensors of up to four dimensions, and the vector kernels the
 * ops and optimisers share.  A tensor is contiguous, row-major, and owns its
 * data unless it was made as a view of a larger buffer. */
#ifndef NN_TENSOR_H
#define NN_TENSOR_H

#include <stddef.h>

#include "error.h"

#define NN_MAX_DIMS 4

typedef struct nn_tensor {
    int ndim;               /* 0..NN_MAX_DIMS (0 is a scalar) */
    int dim[NN_MAX_DIMS];   /* outermost first */
    float *data;
} nn_tensor;

/* Number of elements of a shape; 0 if a dimension is not positive or the
 * product does not fit in size_t. */
size_t nn_shape_size(int ndim, const int *dim);
/* Allocate a zero-filled tensor of the given shape. */
int nn_tensor_new(nn_tensor *t, int ndim, const int *dim, nn_error *err);
/* Free a tensor made by nn_tensor_new and clear it. */
void nn_tensor_free(nn_tensor *t);
/* Number of elements. */
size_t nn_tensor_size(const nn_tensor *t);
/* Write the shape as "64x1x28x28" into buf; returns buf. */
char *nn_shape_format(int ndim, const int *dim, char *buf, size_t len);

/* y[i] = value */
void nn_vec_fill(float *y, size_t n, float value);
/* y += a*x */
void nn_vec_axpy(float *y, float a, const float *x, size_t n);
/* Sum of squares, accumulated in double so long vectors stay exact enough. */
double nn_vec_sumsq(const float *x, size_t n);
/* Index of the largest element (first one on ties). */
int nn_vec_argmax(const float *x, int n);
/* Index of the first NaN or infinity, or -1 if all are finite. */
long nn_vec_first_nonfinite(const float *x, size_t n);
/* C = A * B for row-major A [m,k], B [k,n]; a reference used by tests. */
void nn_matmul_ref(float *c, const float *a, const float *b, int m, int k, int n);

#endif
