/* Datasets: IDX files (MNIST's format, gzipped or plain) kept as bytes.
 *
 * Images stay uint8 in memory; nn_dataset_batch converts the samples a batch
 * needs to float in [0,1] as it copies them out. */
#ifndef NN_DATA_H
#define NN_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Hard limits that keep allocation sizes sane before a header is trusted. */
#define NN_IDX_MAX_DIMS 4
#define NN_IDX_MAX_BYTES ((size_t)1 << 32) /* 4 GiB of payload at most */

/* One IDX file of unsigned bytes (type code 0x08). */
typedef struct nn_idx {
    int ndim;                     /* 1..NN_IDX_MAX_DIMS */
    uint32_t dims[NN_IDX_MAX_DIMS];
    size_t count;                 /* dims[0] */
    size_t item_size;             /* product of dims[1..] (1 for labels) */
    uint8_t *data;                /* count * item_size bytes */
} nn_idx;

/* Read an IDX file (plain or gzip, detected by content).  Validates magic,
 * type, dimension count, each dimension, overflow of their product and the
 * exact payload length; errors name the file and the field. */
int nn_idx_read(const char *path, nn_idx *out, nn_error *err);
/* The same from an open descriptor (a pipe or memfd works too), which it
 * closes; path names it in messages. */
int nn_idx_read_fd(int fd, const char *path, nn_idx *out, nn_error *err);
void nn_idx_free(nn_idx *idx);

/* A labelled image set: images [count, rows, cols] and labels [count]. */
typedef struct nn_dataset {
    size_t count;
    int rows, cols;     /* 28x28 for MNIST */
    int classes;        /* 10 */
    uint8_t *images;    /* count * rows * cols */
    uint8_t *labels;    /* count, each < classes */
} nn_dataset;

/* Load a pair of image/label IDX files; checks that counts agree and every
 * label is below `classes`. */
int nn_dataset_load(nn_dataset *ds, const char *images_path,
                    const char *labels_path, int classes, nn_error *err);

/* Load DIR/train-images-idx3-ubyte[.gz] … DIR/t10k-labels-idx1-ubyte[.gz]. */
int nn_dataset_load_dir(const char *dir, nn_dataset *train, nn_dataset *test,
                        nn_error *err);
void nn_dataset_free(nn_dataset *ds);

/* Copy samples idx[0..n) out as floats in [0,1] (x: n*rows*cols) and one-hot
 * targets (y: n*classes, may be NULL).  Labels go to `labels` if not NULL. */
void nn_dataset_batch(const nn_dataset *ds, const size_t *idx, int n,
                      float *x, float *y, int *labels);

#endif
