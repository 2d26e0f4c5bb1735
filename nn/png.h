/* Writing images as PNG files (through stb_image_write). */
#ifndef NN_PNG_H
#define NN_PNG_H

#include "error.h"

/* Write a width x height greyscale image, one byte per pixel, row by row,
 * to path as an 8-bit PNG. */
int nn_png_write_gray(const char *path, int width, int height, const unsigned char *pixels, nn_error *err);

#endif
