/* Tensor allocation and the small vector kernels used across the core. */
#include "tensor.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t nn_shape_size(int ndim, const int *dim)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (dim[i] <= 0 || n > SIZE_MAX / (size_t)dim[i])
            return 0;
        n *= (size_t)dim[i];
    }
    return n;
}

int nn_tensor_new(nn_tensor *t, int ndim, const int *dim, nn_error *err)
{
    memset(t, 0, sizeof *t);
    if (ndim < 0 || ndim > NN_MAX_DIMS)
        return nn_error_set(err, NN_EINPUT, "tensor: %d dimensions (at most %d)", ndim, NN_MAX_DIMS);
    size_t n = nn_shape_size(ndim, dim);
    if (n == 0 || n > SIZE_MAX / sizeof(float))
        return nn_error_set(err, NN_EINPUT, "tensor: invalid shape");
    t->data = calloc(n, sizeof(float));
    if (!t->data)
        return nn_error_set(err, NN_ERUNTIME, "tensor: out of memory for %zu floats", n);
    t->ndim = ndim;
    memcpy(t->dim, dim, (size_t)ndim * sizeof(int));
    return NN_OK;
}

void nn_tensor_free(nn_tensor *t)
{
    free(t->data);
    memset(t, 0, sizeof *t);
}

size_t nn_tensor_size(const nn_tensor *t)
{
    return nn_shape_size(t->ndim, t->dim);
}

char *nn_shape_format(int ndim, const int *dim, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < ndim && at < len; i++) {
        int w = snprintf(buf + at, len - at, i ? "x%d" : "%d", dim[i]);
        if (w < 0)
            break;
        at += (size_t)w;
    }
    if (ndim == 0)
        snprintf(buf, len, "scalar");
    return buf;
}

void nn_vec_fill(float *y, size_t n, float value)
{
    for (size_t i = 0; i < n; i++)
        y[i] = value;
}

void nn_vec_axpy(float *y, float a, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] += a * x[i];
}

double nn_vec_sumsq(const float *x, size_t n)
{
    double total = 0;
#pragma omp simd reduction(+ : total)
    for (size_t i = 0; i < n; i++)
        total += (double)x[i] * x[i];
    return total;
}

int nn_vec_argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

long nn_vec_first_nonfinite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return (long)i;
    return -1;
}

void nn_matmul_ref(float *c, const float *a, const float *b, int m, int k, int n)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int p = 0; p < k; p++)
                s += (double)a[(size_t)i * k + p] * b[(size_t)p * n + j];
            c[(size_t)i * n + j] = (float)s;
        }
}
