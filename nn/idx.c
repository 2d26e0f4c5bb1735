/* IDX reader and the labelled data sets built on it.
 *
 * An IDX file is a 4-byte magic (0, 0, type, ndim), ndim big-endian uint32
 * dimensions, then the payload.  Every field is checked before anything is
 * allocated from it, and the payload must be exactly as long as the header
 * says: a short or padded file means the header and data disagree, and
 * guessing which one is right would hide a broken download.  zlib reads plain
 * and gzipped files alike, so all length checks are on the decompressed
 * bytes. */
#include "data.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

_Static_assert(SIZE_MAX / 2 >= NN_IDX_MAX_BYTES,
               "NN_IDX_MAX_BYTES must fit in size_t with room to spare");

enum {
    NN_IDX_TYPE_UBYTE = 0x08,
    NN_IDX_MAGIC_IMAGES = 0x00000803,
    NN_IDX_MAGIC_LABELS = 0x00000801,
};

/* gzread takes an unsigned and returns an int, so large payloads are read in
 * pieces no larger than this. */
#define NN_IDX_READ_CHUNK ((size_t)1 << 30)

/* The payload buffer starts at this size and doubles, so a header that
 * claims gigabytes for a small file costs at most twice the bytes the file
 * really holds before the shortfall is noticed. */
#define NN_IDX_FIRST_CAPACITY ((size_t)1 << 20)

static uint32_t nn_idx_big_endian(const unsigned char *bytes)
{
    return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 |
           (uint32_t)bytes[2] << 8 | (uint32_t)bytes[3];
}

/* Reads up to `want` bytes; *got says how many arrived before end of file.
 * Returns NN_OK, or an error for a failed read or corrupt compressed data. */
static int nn_idx_read_bytes(gzFile file, const char *path, void *buffer,
                             size_t want, size_t *got, nn_error *err)
{
    unsigned char *out = buffer;
    *got = 0;
    while (*got < want) {
        size_t piece = want - *got;
        if (piece > NN_IDX_READ_CHUNK)
            piece = NN_IDX_READ_CHUNK;
        int n = gzread(file, out + *got, (unsigned)piece);
        if (n > 0) {
            *got += (size_t)n;
            continue;
        }
        int zlib_status = Z_OK;
        const char *zlib_message = gzerror(file, &zlib_status);
        /* A gzip stream cut short is reported as Z_BUF_ERROR; that is a
         * truncated file, which the caller describes with the byte counts.
         * (Bytes after a complete gzip stream are skipped by zlib itself, so
         * the trailing-data check covers the decompressed payload only.) */
        if (n == 0 || zlib_status == Z_BUF_ERROR)
            return NN_OK;
        if (zlib_status == Z_ERRNO)
            return nn_error_set(err, NN_ERUNTIME, "%s: read error: %s", path,
                                strerror(errno));
        if (zlib_status == Z_MEM_ERROR)
            return nn_error_set(err, NN_ERUNTIME, "%s: out of memory while decompressing",
                                path);
        return nn_error_set(err, NN_EINPUT, "%s: corrupt gzip data: %s", path,
                            zlib_message);
    }
    return NN_OK;
}

/* Validates the 4-byte magic and the dimensions, filling idx->ndim, dims,
 * count and item_size.  *payload gets the exact payload length. */
static int nn_idx_read_header(gzFile file, const char *path, nn_idx *idx,
                              size_t *payload, nn_error *err)
{
    unsigned char magic[4];
    size_t got = 0;
    int status = nn_idx_read_bytes(file, path, magic, sizeof magic, &got, err);
    if (status != NN_OK)
        return status;
    if (got < sizeof magic)
        return nn_error_set(err, NN_EINPUT,
                            "%s: truncated: file ends inside the magic number (%zu of 4 bytes)",
                            path, got);
    if (magic[0] != 0 || magic[1] != 0)
        return nn_error_set(err, NN_EINPUT,
                            "%s: bad magic 0x%08lx (expected 0x%08x for images or 0x%08x for labels)",
                            path, (unsigned long)nn_idx_big_endian(magic),
                            NN_IDX_MAGIC_IMAGES, NN_IDX_MAGIC_LABELS);
    if (magic[2] != NN_IDX_TYPE_UBYTE)
        return nn_error_set(err, NN_EINPUT,
                            "%s: unsupported type code 0x%02x in the magic number (only 0x08, unsigned byte, is read)",
                            path, magic[2]);
    if (magic[3] < 1 || magic[3] > NN_IDX_MAX_DIMS)
        return nn_error_set(err, NN_EINPUT,
                            "%s: dimension count %d in the magic number is out of range 1..%d",
                            path, magic[3], NN_IDX_MAX_DIMS);
    idx->ndim = magic[3];

    unsigned char dims[4 * NN_IDX_MAX_DIMS];
    size_t dims_bytes = 4 * (size_t)idx->ndim;
    status = nn_idx_read_bytes(file, path, dims, dims_bytes, &got, err);
    if (status != NN_OK)
        return status;
    if (got < dims_bytes)
        return nn_error_set(err, NN_EINPUT,
                            "%s: truncated: file ends inside the dimensions (%zu of %zu bytes)",
                            path, got, dims_bytes);

    /* The product is built in 64 bits and checked against the limit before
     * every multiplication, so no header can wrap it around. */
    uint64_t total = 1;
    for (int d = 0; d < idx->ndim; d++) {
        uint32_t size = nn_idx_big_endian(dims + 4 * d);
        if (size == 0)
            return nn_error_set(err, NN_EINPUT, "%s: dimension %d%s is 0", path, d,
                                d == 0 ? " (item count)" : "");
        idx->dims[d] = size;
        if (total > NN_IDX_MAX_BYTES / size) {
            /* Ten digits and " x " per dimension fit with room to spare. */
            char shape[NN_IDX_MAX_DIMS * 16];
            size_t used = 0;
            for (int k = 0; k < idx->ndim && used < sizeof shape; k++)
                used += (size_t)snprintf(shape + used, sizeof shape - used, "%s%lu",
                                         k ? " x " : "",
                                         (unsigned long)nn_idx_big_endian(dims + 4 * k));
            return nn_error_set(err, NN_EINPUT,
                                "%s: dimensions %s exceed the %zu-byte limit for one file",
                                path, shape, (size_t)NN_IDX_MAX_BYTES);
        }
        total *= size;
    }
    idx->count = idx->dims[0];
    idx->item_size = (size_t)(total / idx->dims[0]);
    *payload = (size_t)total;
    return NN_OK;
}

/* Reads exactly `payload` bytes into a buffer grown as data arrives, then
 * makes sure nothing follows them. */
static int nn_idx_read_payload(gzFile file, const char *path, size_t payload,
                               uint8_t **data, nn_error *err)
{
    size_t capacity = payload < NN_IDX_FIRST_CAPACITY ? payload : NN_IDX_FIRST_CAPACITY;
    uint8_t *buffer = malloc(capacity);
    if (!buffer)
        return nn_error_set(err, NN_ERUNTIME, "%s: out of memory for %zu bytes", path,
                            capacity);
    size_t have = 0;
    for (;;) {
        size_t got = 0;
        int status = nn_idx_read_bytes(file, path, buffer + have, capacity - have, &got, err);
        if (status != NN_OK) {
            free(buffer);
            return status;
        }
        have += got;
        if (have < capacity) {
            free(buffer);
            return nn_error_set(err, NN_EINPUT,
                                "%s: truncated: expected %zu bytes of data, found %zu",
                                path, payload, have);
        }
        if (capacity == payload)
            break;
        size_t grown = capacity > payload / 2 ? payload : capacity * 2;
        uint8_t *bigger = realloc(buffer, grown);
        if (!bigger) {
            free(buffer);
            return nn_error_set(err, NN_ERUNTIME, "%s: out of memory for %zu bytes", path,
                                grown);
        }
        buffer = bigger;
        capacity = grown;
    }

    /* Count what follows so the message says how far off the header is. */
    size_t trailing = 0;
    unsigned char scratch[4096];
    for (;;) {
        size_t got = 0;
        int status = nn_idx_read_bytes(file, path, scratch, sizeof scratch, &got, err);
        if (status != NN_OK) {
            free(buffer);
            return status;
        }
        trailing += got;
        if (got < sizeof scratch)
            break;
    }
    if (trailing > 0) {
        free(buffer);
        return nn_error_set(err, NN_EINPUT,
                            "%s: trailing data: %zu bytes after the %zu bytes of data the header describes",
                            path, trailing, payload);
    }
    *data = buffer;
    return NN_OK;
}

int nn_idx_read(const char *path, nn_idx *out, nn_error *err)
{
    memset(out, 0, sizeof *out);
    /* Opened here rather than by gzopen so a directory is reported as such
     * instead of as a read error. */
    int descriptor = open(path, O_RDONLY);
    if (descriptor < 0)
        return nn_error_set(err, NN_EINPUT, "%s: cannot open: %s", path, strerror(errno));
    return nn_idx_read_fd(descriptor, path, out, err);
}

int nn_idx_read_fd(int descriptor, const char *path, nn_idx *out, nn_error *err)
{
    memset(out, 0, sizeof *out);
    struct stat info;
    int error = fstat(descriptor, &info) != 0 ? errno : S_ISDIR(info.st_mode) ? EISDIR : 0;
    if (error != 0) {
        close(descriptor);
        return nn_error_set(err, NN_EINPUT, "%s: cannot read: %s", path, strerror(error));
    }
    gzFile file = gzdopen(descriptor, "rb");
    if (!file) {
        close(descriptor);
        return nn_error_set(err, NN_ERUNTIME, "%s: out of memory opening the file", path);
    }
    gzbuffer(file, 1 << 17);

    nn_idx idx = {0};
    size_t payload = 0;
    int status = nn_idx_read_header(file, path, &idx, &payload, err);
    if (status == NN_OK)
        status = nn_idx_read_payload(file, path, payload, &idx.data, err);
    gzclose(file);
    if (status == NN_OK)
        *out = idx;
    return status;
}

void nn_idx_free(nn_idx *idx)
{
    if (!idx)
        return;
    free(idx->data);
    memset(idx, 0, sizeof *idx);
}

int nn_dataset_load(nn_dataset *ds, const char *images_path,
                    const char *labels_path, int classes, nn_error *err)
{
    memset(ds, 0, sizeof *ds);
    if (classes < 1 || classes > 256)
        return nn_error_set(err, NN_EINPUT,
                            "%s: %d classes cannot be stored in byte labels (1..256)",
                            labels_path, classes);

    nn_idx images, labels;
    int status = nn_idx_read(images_path, &images, err);
    if (status != NN_OK)
        return status;
    if (images.ndim != 3) {
        int ndim = images.ndim;
        nn_idx_free(&images);
        return nn_error_set(err, NN_EINPUT,
                            "%s: not an image file: %d dimension(s), expected 3 (count, rows, columns; magic 0x%08x)",
                            images_path, ndim, NN_IDX_MAGIC_IMAGES);
    }
    /* Callers index pixels with int arithmetic, so one image must fit. */
    if (images.item_size > INT_MAX) {
        size_t item_size = images.item_size;
        nn_idx_free(&images);
        return nn_error_set(err, NN_EINPUT,
                            "%s: dimensions of one image (%zu pixels) are too large",
                            images_path, item_size);
    }

    status = nn_idx_read(labels_path, &labels, err);
    if (status != NN_OK) {
        nn_idx_free(&images);
        return status;
    }
    if (labels.ndim != 1) {
        int ndim = labels.ndim;
        nn_idx_free(&images);
        nn_idx_free(&labels);
        return nn_error_set(err, NN_EINPUT,
                            "%s: not a label file: %d dimensions, expected 1 (magic 0x%08x)",
                            labels_path, ndim, NN_IDX_MAGIC_LABELS);
    }
    if (labels.count != images.count) {
        size_t image_count = images.count, label_count = labels.count;
        nn_idx_free(&images);
        nn_idx_free(&labels);
        return nn_error_set(err, NN_EINPUT, "%s: %zu images but %zu labels in %s",
                            images_path, image_count, label_count, labels_path);
    }
    for (size_t i = 0; i < labels.count; i++) {
        if (labels.data[i] >= classes) {
            unsigned label = labels.data[i];
            nn_idx_free(&images);
            nn_idx_free(&labels);
            return nn_error_set(err, NN_EINPUT,
                                "%s: label %u at index %zu is out of range 0..%d",
                                labels_path, label, i, classes - 1);
        }
    }

    ds->count = images.count;
    ds->rows = (int)images.dims[1];
    ds->cols = (int)images.dims[2];
    ds->classes = classes;
    ds->images = images.data;
    ds->labels = labels.data;
    return NN_OK;
}

/* Sets *path to DIR/NAME if it exists, else to DIR/NAME.gz if that exists;
 * the caller frees it.  Uncompressed wins so a user who gunzipped the files
 * gets what they unpacked. */
static int nn_dataset_find_file(const char *dir, const char *name, char **path,
                                nn_error *err)
{
    size_t length = strlen(dir) + 1 + strlen(name) + sizeof ".gz";
    *path = malloc(length);
    if (!*path)
        return nn_error_set(err, NN_ERUNTIME, "%s: out of memory", dir);
    struct stat info;
    snprintf(*path, length, "%s/%s", dir, name);
    if (stat(*path, &info) == 0)
        return NN_OK;
    snprintf(*path, length, "%s/%s.gz", dir, name);
    if (stat(*path, &info) == 0)
        return NN_OK;
    int status = nn_error_set(err, NN_EINPUT, "%s/%s: cannot open: %s (nor %s)", dir,
                              name, strerror(errno), *path);
    free(*path);
    *path = NULL;
    return status;
}

static int nn_dataset_load_pair(const char *dir, const char *images_name,
                                const char *labels_name, nn_dataset *ds, nn_error *err)
{
    memset(ds, 0, sizeof *ds);
    char *images_path = NULL, *labels_path = NULL;
    int status = nn_dataset_find_file(dir, images_name, &images_path, err);
    if (status != NN_OK)
        return status;
    status = nn_dataset_find_file(dir, labels_name, &labels_path, err);
    if (status != NN_OK) {
        free(images_path);
        return status;
    }
    status = nn_dataset_load(ds, images_path, labels_path, 10, err);
    free(images_path);
    free(labels_path);
    return status;
}

int nn_dataset_load_dir(const char *dir, nn_dataset *train, nn_dataset *test,
                        nn_error *err)
{
    memset(test, 0, sizeof *test);
    int status = nn_dataset_load_pair(dir, "train-images-idx3-ubyte",
                                      "train-labels-idx1-ubyte", train, err);
    if (status != NN_OK)
        return status;
    status = nn_dataset_load_pair(dir, "t10k-images-idx3-ubyte",
                                  "t10k-labels-idx1-ubyte", test, err);
    if (status != NN_OK) {
        nn_dataset_free(train);
        return status;
    }
    if (train->rows != test->rows || train->cols != test->cols) {
        int train_rows = train->rows, train_cols = train->cols;
        int test_rows = test->rows, test_cols = test->cols;
        nn_dataset_free(train);
        nn_dataset_free(test);
        return nn_error_set(err, NN_EINPUT,
                            "%s: training images are %dx%d but test images are %dx%d",
                            dir, train_rows, train_cols, test_rows, test_cols);
    }
    return NN_OK;
}

void nn_dataset_free(nn_dataset *ds)
{
    if (!ds)
        return;
    free(ds->images);
    free(ds->labels);
    memset(ds, 0, sizeof *ds);
}

void nn_dataset_batch(const nn_dataset *ds, const size_t *idx, int n,
                      float *x, float *y, int *labels)
{
    size_t pixels = (size_t)ds->rows * (size_t)ds->cols;
    size_t classes = (size_t)ds->classes;
    for (int i = 0; i < n; i++) {
        size_t sample = idx[i];
        assert(sample < ds->count);
        const uint8_t *restrict image = ds->images + sample * pixels;
        float *restrict row = x + (size_t)i * pixels;
        /* Dividing (not multiplying by 1/255) gives the correctly rounded
         * byte/255 the tests expect; the division vectorises exactly. */
        for (size_t p = 0; p < pixels; p++)
            row[p] = (float)image[p] / 255.0f;
        int label = ds->labels[sample];
        if (y) {
            float *target = y + (size_t)i * classes;
            memset(target, 0, classes * sizeof *target);
            target[label] = 1.0f;
        }
        if (labels)
            labels[i] = label;
    }
}
