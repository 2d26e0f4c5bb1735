/* Post-training int8 quantisation and int8 inference.
 *
 * The weights of every dense (matmul) and convolution layer become int8
 * with one symmetric scale per output channel (w = q * scale[row]), except
 * convolutions with fewer than NN_QUANT_MIN_CONV_K inputs per output; the
 * input of each such layer is quantised on the fly with one symmetric scale
 * per layer, calibrated from the largest magnitude seen on training
 * batches.  The layer then runs as int8 x int8 dot products accumulated in
 * int32 (AVX2 when the build targets it, else loops the compiler
 * vectorises) and scaled back once per output.  Every other op (bias,
 * activations, pooling, the loss) runs in float on the layer outputs, as
 * in the float graph. */
#ifndef NN_QUANT_H
#define NN_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "data.h"
#include "error.h"
#include "graph.h"
#include "trainer.h"

/* Dot products run over lengths padded to this many bytes (zeros). */
#define NN_QUANT_ALIGN 32
/* A convolution with fewer inputs per output (C * kh * kw) stays float: its
 * int8 products would be a quarter padding or more, and lenet's first
 * layer (25) ran at half the speed of the float kernels of ops_conv.c.
 * Such a layer holds a few hundred weights at most. */
#define NN_QUANT_MIN_CONV_K 32

/* One int8 layer. */
typedef struct nn_quant_layer {
    int node;            /* the matmul or conv2d node */
    int param;           /* its weight's parameter tensor index */
    int rows;            /* output channels */
    int k, k_pad;        /* inputs per output, and that rounded up to NN_QUANT_ALIGN */
    int8_t *w;           /* rows * k_pad, zero padded */
    float *w_scale;      /* rows */
    float x_scale;       /* input scale: x ~ q * x_scale, |q| <= 127 */
    float *out_scale;    /* rows: w_scale * x_scale, what an int32 sum is worth */
} nn_quant_layer;

typedef struct nn_quant {
    int n_layers;
    nn_quant_layer *layers;
    int8_t *xq;          /* scratch: one sample's quantised input or im2col rows */
    size_t xq_size;
    int32_t *acc;        /* scratch: one sum per output row */
} nn_quant;

/* Quantise every matmul and conv2d weight of g (a float graph holding
 * trained weights) per output channel, but for the small convolutions
 * above, and calibrate the input scales on up to `samples` images of ds
 * (forward passes in float, dropout off). */
int nn_quant_build(nn_quant *q, nn_graph *g, const nn_dataset *ds, size_t samples, nn_error *err);
/* Set up q from stored int8 tensors: for layer weight tensor `param`,
 * q values (rows x k, unpadded) and row scales; x_scale its input scale.
 * Call nn_quant_begin, then nn_quant_add for each layer, then nn_quant_end. */
int nn_quant_begin(nn_quant *q, const nn_graph *g, nn_error *err);
int nn_quant_add(nn_quant *q, const nn_graph *g, int param, const int8_t *values, const float *scales, float x_scale,
                 nn_error *err);
/* Size the scratch buffers, so the forward pass allocates nothing. */
int nn_quant_end(nn_quant *q, const nn_graph *g, nn_error *err);
void nn_quant_free(nn_quant *q);

/* The name of the k-th (from 0) dense or convolution layer of g that q
 * leaves float, or NULL past the last. */
const char *nn_quant_float_layer(const nn_quant *q, const nn_graph *g, int k);
/* The layer whose weight is parameter tensor `param`, or NULL. */
const nn_quant_layer *nn_quant_find(const nn_quant *q, int param);
/* Unpadded copy of a layer's int8 weights (rows x k) into out. */
void nn_quant_layer_values(const nn_quant_layer *l, int8_t *out);

/* If node is one of q's layers, run it in int8 on n samples and return 1;
 * else 0.  nn_graph_forward calls this when q is attached to the graph
 * (g->quant), so every caller of the graph runs the int8 layers. */
int nn_quant_run_node(nn_quant *q, nn_graph *g, int node, int n);
/* Run g forward on n samples (inputs filled), with q's layers in int8. */
void nn_quant_forward(nn_quant *q, nn_graph *g, int n);
/* As nn_trainer_evaluate, through nn_quant_forward. */
void nn_quant_evaluate(nn_quant *q, nn_graph *g, const nn_dataset *ds, nn_eval *out);

/* The int8 kernel: sum of a[i] * b[i] over n bytes, n a multiple of
 * NN_QUANT_ALIGN, both arrays NN_QUANT_ALIGN-byte aligned, |a[i]| <= 127. */
int32_t nn_dot_i8(const int8_t *a, const int8_t *b, int n);
/* out[r] = dot(row r of w, x) for rows of k_pad bytes (same conditions). */
void nn_dot_rows_i8(const int8_t *w, int rows, int k_pad, const int8_t *x, int32_t *out);
/* Quantise n floats with scale (round to nearest, clamp to +-127). */
void nn_quantize_i8(const float *x, size_t n, float scale, int8_t *out);

#endif
