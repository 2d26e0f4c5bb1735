/* Little-endian encoding into a growable buffer, and checked decoding from a
 * file held in memory, for nnlab's binary files.
 *
 * Encoding never fails halfway: an allocation failure sets `failed` and
 * later writes do nothing, so a caller checks once at the end.  Every
 * decoding call checks the bytes left before reading, and its error names
 * the file, the offset and the field ("model.nnl: offset 1234: truncated in
 * parameter dense1.weight (expected 401408 bytes, 17 left)"); after the
 * first error, reads return zeros and the first message stays. */
#ifndef NN_BYTES_H
#define NN_BYTES_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct nn_bytes {
    unsigned char *data;
    size_t len, cap;
    int failed;          /* out of memory: the contents are incomplete */
} nn_bytes;

void nn_bytes_free(nn_bytes *b);
void nn_bytes_put(nn_bytes *b, const void *data, size_t n);
void nn_bytes_put_u16(nn_bytes *b, uint16_t v);
void nn_bytes_put_u32(nn_bytes *b, uint32_t v);
void nn_bytes_put_u64(nn_bytes *b, uint64_t v);
void nn_bytes_put_f64(nn_bytes *b, double v);
void nn_bytes_put_floats(nn_bytes *b, const float *v, size_t n);
/* A u32 length, then the bytes (no NUL). */
void nn_bytes_put_string(nn_bytes *b, const char *s);
/* Overwrite a value written before at offset `at` (a count or a length
 * known only later). */
void nn_bytes_patch_u32(nn_bytes *b, size_t at, uint32_t v);
void nn_bytes_patch_u64(nn_bytes *b, size_t at, uint64_t v);

typedef struct nn_bytes_reader {
    const unsigned char *data;
    size_t size;         /* bytes in data: the whole file */
    size_t pos;          /* next byte to read */
    size_t limit;        /* reads stop here: the end of the current section */
    const char *path;    /* file name for messages */
    const char *section; /* name of the current section for messages, or NULL */
    nn_error *err;
    int failed;
} nn_bytes_reader;

/* Start reading size bytes of the file path, up to its end. */
void nn_bytes_reader_init(nn_bytes_reader *r, const unsigned char *data, size_t size, const char *path,
                          nn_error *err);
/* Fail with "path: offset POS: message"; returns NN_EINPUT. */
int nn_bytes_fail(nn_bytes_reader *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Check that n more bytes can be read for `what`; fails (truncated, or past
 * the end of the current section) if not. */
int nn_bytes_need(nn_bytes_reader *r, size_t n, const char *what);
/* Bytes left before the limit. */
size_t nn_bytes_left(const nn_bytes_reader *r);
uint16_t nn_bytes_get_u16(nn_bytes_reader *r, const char *what);
uint32_t nn_bytes_get_u32(nn_bytes_reader *r, const char *what);
uint64_t nn_bytes_get_u64(nn_bytes_reader *r, const char *what);
double nn_bytes_get_f64(nn_bytes_reader *r, const char *what);
/* n floats into out (n is checked against the bytes left first). */
int nn_bytes_get_floats(nn_bytes_reader *r, float *out, size_t n, const char *what);
/* A string written by nn_bytes_put_string into out (cap bytes, NUL added);
 * fails if it is longer than cap - 1 or holds a NUL. */
int nn_bytes_get_string(nn_bytes_reader *r, char *out, size_t cap, const char *what);
/* n raw bytes, or NULL. */
const unsigned char *nn_bytes_get_span(nn_bytes_reader *r, size_t n, const char *what);

#endif
