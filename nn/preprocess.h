/* Image preprocessing shared by `nnlab predict` and the drawing pad, so both
 * show the network digits prepared the way MNIST's were (LeCun et al.):
 *
 *   1. crop to the bounding box of the ink;
 *   2. scale so the longer side is 20 px, keeping the aspect ratio and the
 *      grey levels (area averaging, through stb_image_resize);
 *   3. place the result in a 28x28 field with the intensity centre of mass
 *      at pixel (14, 14), to the nearest whole pixel.
 *
 * Images are "ink" arrays: floats in [0,1], 1 = full ink, 0 = background,
 * i.e. white digits on black as MNIST stores them.  nn_image_to_ink turns
 * decoded image files (any polarity, grey or colour) into that form. */
#ifndef NN_PREPROCESS_H
#define NN_PREPROCESS_H

#include <stddef.h>

#include "error.h"

#define NN_MNIST_SIDE 28       /* output is NN_MNIST_SIDE x NN_MNIST_SIDE */
#define NN_MNIST_BOX 20        /* the longer side of the ink after scaling */
#define NN_MNIST_CENTRE 14.0f  /* centre of mass lands here (pixel index units) */
#define NN_INK_THRESHOLD 0.05f /* ink below this does not count for the bounding box */
#define NN_IMAGE_MAX_SIDE 8192 /* larger images are refused before decoding */

/* How to decide whether an image is dark ink on a light background. */
enum nn_invert {
    NN_INVERT_AUTO,  /* light border: dark on light, invert it */
    NN_INVERT_NEVER, /* already light ink on dark, as MNIST */
    NN_INVERT_ALWAYS /* dark ink on light paper */
};

/* What preprocessing found, for display and for tests. */
typedef struct nn_preprocess_info {
    int blank;                 /* 1: no ink, nothing to classify */
    int box_x, box_y, box_w, box_h; /* ink bounding box in the source image */
    int scaled_w, scaled_h;    /* its size after scaling (longer side 20) */
    int offset_x, offset_y;    /* where the scaled box went in the 28x28 field */
    float centre_x, centre_y;  /* final centre of mass, pixel index units */
} nn_preprocess_info;

/* Turn ink (w x h, row-major, stride floats a row) into the 28x28 input
 * `out` (784 floats).  A blank image gives all zeros and info->blank = 1.
 * Fails only when out of memory. */
int nn_preprocess_mnist(const float *ink, int w, int h, int stride, float *out,
                        nn_preprocess_info *info, nn_error *err);

/* Convert decoded 8-bit pixels (channels 1 grey, 2 grey+alpha, 3 RGB,
 * 4 RGBA) to ink in [0,1] (w*h floats).  Colour is averaged to grey; where
 * the image has real transparency, opacity is the ink.  Otherwise the
 * polarity follows `invert` (AUTO looks at the border), and the background
 * level (the median) is subtracted and the contrast stretched to [0,1], so
 * grey paper and pale pencil work.  *inverted (may be NULL) says whether the
 * image was taken as dark on light. */
int nn_image_to_ink(const unsigned char *pixels, int w, int h, int channels, int invert,
                    float *ink, int *inverted, nn_error *err);

/* Decode an image file (PNG, JPEG, BMP, PGM/PPM, GIF, TGA through stb_image)
 * into ink, refusing images wider or taller than NN_IMAGE_MAX_SIDE before
 * the pixels are decoded.  *ink is malloc'ed (w*h floats); free it. */
int nn_image_load_ink(const char *path, int invert, float **ink, int *w, int *h, int *inverted,
                      nn_error *err);
/* The same from the file's bytes in memory (len of them); path names it in
 * messages. */
int nn_image_decode_ink(const unsigned char *file, size_t len, const char *path, int invert, float **ink, int *w,
                        int *h, int *inverted, nn_error *err);

#endif
