/* Byte-order helpers: values are written and read byte by byte, so files
 * are the same on every machine and no struct is ever dumped. */
#include "bytes.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void nn_bytes_free(nn_bytes *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

static unsigned char *grow(nn_bytes *b, size_t n)
{
    if (b->failed)
        return NULL;
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < n) {
            if (cap > SIZE_MAX / 2) {
                b->failed = 1;
                return NULL;
            }
            cap *= 2;
        }
        unsigned char *data = realloc(b->data, cap);
        if (!data) {
            b->failed = 1;
            return NULL;
        }
        b->data = data;
        b->cap = cap;
    }
    unsigned char *at = b->data + b->len;
    b->len += n;
    return at;
}

static void store_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t load_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void nn_bytes_put(nn_bytes *b, const void *data, size_t n)
{
    unsigned char *p = grow(b, n);
    if (p && n)
        memcpy(p, data, n);
}

static void put_le(nn_bytes *b, uint64_t v, int n)
{
    unsigned char *p = grow(b, (size_t)n);
    if (p)
        store_le(p, v, n);
}

void nn_bytes_put_u16(nn_bytes *b, uint16_t v) { put_le(b, v, 2); }
void nn_bytes_put_u32(nn_bytes *b, uint32_t v) { put_le(b, v, 4); }
void nn_bytes_put_u64(nn_bytes *b, uint64_t v) { put_le(b, v, 8); }

void nn_bytes_put_f64(nn_bytes *b, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    put_le(b, bits, 8);
}

void nn_bytes_put_floats(nn_bytes *b, const float *v, size_t n)
{
    if (n > SIZE_MAX / 4) {
        b->failed = 1;
        return;
    }
    unsigned char *p = grow(b, 4 * n);
    if (!p)
        return;
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &v[i], sizeof bits);
        store_le(p + 4 * i, bits, 4);
    }
}

void nn_bytes_put_string(nn_bytes *b, const char *s)
{
    size_t n = strlen(s);
    if (n > UINT32_MAX) {
        b->failed = 1;
        return;
    }
    nn_bytes_put_u32(b, (uint32_t)n);
    nn_bytes_put(b, s, n);
}

static void patch_le(nn_bytes *b, size_t at, uint64_t v, int n)
{
    if (!b->failed && at <= b->len && b->len - at >= (size_t)n)
        store_le(b->data + at, v, n);
}

void nn_bytes_patch_u32(nn_bytes *b, size_t at, uint32_t v) { patch_le(b, at, v, 4); }
void nn_bytes_patch_u64(nn_bytes *b, size_t at, uint64_t v) { patch_le(b, at, v, 8); }

void nn_bytes_reader_init(nn_bytes_reader *r, const unsigned char *data, size_t size, const char *path,
                          nn_error *err)
{
    memset(r, 0, sizeof *r);
    r->data = data;
    r->size = r->limit = size;
    r->path = path;
    r->err = err;
}

int nn_bytes_fail(nn_bytes_reader *r, const char *fmt, ...)
{
    if (r->failed)
        return NN_EINPUT;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->failed = 1;
    return nn_error_set(r->err, NN_EINPUT, "%s: offset %zu: %s", r->path, r->pos, msg);
}

size_t nn_bytes_left(const nn_bytes_reader *r)
{
    return r->limit > r->pos ? r->limit - r->pos : 0;
}

int nn_bytes_need(nn_bytes_reader *r, size_t n, const char *what)
{
    if (r->failed)
        return NN_EINPUT;
    size_t left = nn_bytes_left(r);
    if (n <= left)
        return NN_OK;
    if (r->limit >= r->size) /* the file itself ends here */
        return nn_bytes_fail(r, "truncated in %s (expected %zu bytes, %zu left)", what, n, left);
    return nn_bytes_fail(r, "%s runs past the end of section %s (expected %zu bytes, %zu left in it)", what,
                         r->section ? r->section : "?", n, left);
}

const unsigned char *nn_bytes_get_span(nn_bytes_reader *r, size_t n, const char *what)
{
    if (nn_bytes_need(r, n, what))
        return NULL;
    const unsigned char *p = r->data + r->pos;
    r->pos += n;
    return p;
}

static uint64_t get_le(nn_bytes_reader *r, int n, const char *what)
{
    const unsigned char *p = nn_bytes_get_span(r, (size_t)n, what);
    return p ? load_le(p, n) : 0;
}

uint16_t nn_bytes_get_u16(nn_bytes_reader *r, const char *what) { return (uint16_t)get_le(r, 2, what); }
uint32_t nn_bytes_get_u32(nn_bytes_reader *r, const char *what) { return (uint32_t)get_le(r, 4, what); }
uint64_t nn_bytes_get_u64(nn_bytes_reader *r, const char *what) { return get_le(r, 8, what); }

double nn_bytes_get_f64(nn_bytes_reader *r, const char *what)
{
    uint64_t bits = get_le(r, 8, what);
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

int nn_bytes_get_floats(nn_bytes_reader *r, float *out, size_t n, const char *what)
{
    if (n > SIZE_MAX / 4)
        return nn_bytes_fail(r, "%s: %zu floats is too many", what, n);
    const unsigned char *p = nn_bytes_get_span(r, 4 * n, what);
    if (!p)
        return NN_EINPUT;
    for (size_t i = 0; i < n; i++) {
        uint32_t bits = (uint32_t)load_le(p + 4 * i, 4);
        memcpy(&out[i], &bits, sizeof bits);
    }
    return NN_OK;
}

int nn_bytes_get_string(nn_bytes_reader *r, char *out, size_t cap, const char *what)
{
    size_t at = r->pos;
    uint32_t n = nn_bytes_get_u32(r, what);
    if (r->failed)
        return NN_EINPUT;
    if (n >= cap) {
        r->pos = at;
        return nn_bytes_fail(r, "%s is %u bytes long (at most %zu expected)", what, n, cap - 1);
    }
    const unsigned char *p = nn_bytes_get_span(r, n, what);
    if (!p)
        return NN_EINPUT;
    if (memchr(p, 0, n)) {
        r->pos = at;
        return nn_bytes_fail(r, "%s contains a NUL byte", what);
    }
    memcpy(out, p, n);
    out[n] = '\0';
    return NN_OK;
}
