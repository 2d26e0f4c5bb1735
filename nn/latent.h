/* Decoding latent codes of a variational autoencoder into images: the grid
 * of samples `nnlab train --sample-grid` writes, and what a latent-space
 * explorer shows as the pointer moves. */
#ifndef NN_LATENT_H
#define NN_LATENT_H

#include <stdint.h>

#include "graph.h"

/* Index of the latent sample node (the last gaussian layer's), or -1. */
int nn_latent_node(const nn_graph *g);
/* Size L of the latent code; 0 if the model has none. */
int nn_latent_size(const nn_graph *g);
/* Decode n codes z[n, L] into images[n, output size] with values in [0, 1],
 * dropout off; the model must reconstruct its input. */
int nn_latent_decode(nn_graph *g, const float *z, int n, float *images, nn_error *err);
/* Decode a rows x cols grid into one greyscale image of rows*H by cols*W
 * bytes (H x W the model's images): with a 2-D code, evenly spaced quantiles
 * of N(0, 1) on each axis (z1 left to right, z2 bottom to top); otherwise
 * random codes drawn with seed.  pixels must hold rows*H*cols*W bytes. */
int nn_latent_grid(nn_graph *g, int rows, int cols, uint64_t seed, unsigned char *pixels, int *width,
                   int *height, nn_error *err);

#endif
