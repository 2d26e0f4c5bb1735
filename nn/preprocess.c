/* MNIST-style preprocessing and image-file decoding.  The area-averaged
 * downscale is stb_image_resize's box filter; everything else is a few
 * loops over the pixels. */
#include "preprocess.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stb_image.h>
#include <stb_image_resize.h>

/* Bounding box of pixels above the ink threshold; 0 if there are none. */
static int ink_box(const float *ink, int w, int h, int stride, int *x0, int *y0, int *x1, int *y1)
{
    int bx0 = w, by0 = h, bx1 = -1, by1 = -1;
    for (int y = 0; y < h; y++) {
        const float *row = ink + (size_t)y * stride;
        int first = -1, last = -1;
        for (int x = 0; x < w; x++)
            if (row[x] > NN_INK_THRESHOLD) {
                if (first < 0)
                    first = x;
                last = x;
            }
        if (first < 0)
            continue;
        if (by1 < 0)
            by0 = y;
        by1 = y;
        if (first < bx0)
            bx0 = first;
        if (last > bx1)
            bx1 = last;
    }
    if (bx1 < 0)
        return 0;
    *x0 = bx0;
    *y0 = by0;
    *x1 = bx1 + 1;
    *y1 = by1 + 1;
    return 1;
}

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

int nn_preprocess_mnist(const float *ink, int w, int h, int stride, float *out,
                        nn_preprocess_info *info, nn_error *err)
{
    const int side = NN_MNIST_SIDE;
    nn_preprocess_info local;
    if (!info)
        info = &local;
    memset(info, 0, sizeof *info);
    memset(out, 0, (size_t)side * side * sizeof *out);
    int x0, y0, x1, y1;
    if (w < 1 || h < 1 || !ink_box(ink, w, h, stride, &x0, &y0, &x1, &y1)) {
        info->blank = 1;
        return NN_OK;
    }
    int bw = x1 - x0, bh = y1 - y0;
    int longer = bw > bh ? bw : bh;
    /* One scale for both axes keeps the aspect ratio.  The shorter side
     * usually scales to a fraction of a pixel: pad it with background to
     * the width that scales to the next whole pixel, so the filter covers
     * its last column in part and the ink keeps its true width (a jump of
     * a whole pixel as a stroke grows would show). */
    float scale = (float)NN_MNIST_BOX / (float)longer;
    int tw = clampi((int)ceilf((float)bw * scale - 1e-3f), 1, NN_MNIST_BOX);
    int th = clampi((int)ceilf((float)bh * scale - 1e-3f), 1, NN_MNIST_BOX);
    int pw = bw, ph = bh;
    if (bw != longer && (pw = (int)lroundf((float)tw / scale)) < bw)
        pw = bw;
    if (bh != longer && (ph = (int)lroundf((float)th / scale)) < bh)
        ph = bh;
    float *padded = calloc((size_t)pw * ph, sizeof *padded);
    if (!padded)
        return nn_error_set(err, NN_ERUNTIME, "preprocess: out of memory for a %dx%d crop", pw, ph);
    int px = (pw - bw) / 2, py = (ph - bh) / 2;
    for (int y = 0; y < bh; y++)
        memcpy(padded + (size_t)(y + py) * pw + px, ink + (size_t)(y + y0) * stride + x0, (size_t)bw * sizeof *ink);
    float box[NN_MNIST_BOX * NN_MNIST_BOX];
    /* Box filter when shrinking is area averaging; a tiny drawing being
     * enlarged gets the tent filter instead, which does not make blocks. */
    stbir_filter filter = longer >= NN_MNIST_BOX ? STBIR_FILTER_BOX : STBIR_FILTER_TRIANGLE;
    int ok = stbir_resize_float_generic(padded, pw, ph, pw * (int)sizeof(float), box, tw, th, tw * (int)sizeof(float),
                                        1, STBIR_ALPHA_CHANNEL_NONE, 0, STBIR_EDGE_ZERO, filter,
                                        STBIR_COLORSPACE_LINEAR, NULL);
    free(padded);
    if (!ok)
        return nn_error_set(err, NN_ERUNTIME, "preprocess: out of memory scaling a %dx%d image", bw, bh);

    double mass = 0, mx = 0, my = 0;
    for (int y = 0; y < th; y++)
        for (int x = 0; x < tw; x++) {
            float v = box[y * tw + x];
            v = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
            box[y * tw + x] = v;
            mass += v;
            mx += (double)v * x;
            my += (double)v * y;
        }
    if (mass <= 0) { /* ink too faint to survive scaling */
        info->blank = 1;
        return NN_OK;
    }
    mx /= mass;
    my /= mass;
    /* A whole-pixel shift keeps the strokes as sharp as the scaling left
     * them; the box must stay inside the field. */
    int ox = clampi((int)lround(NN_MNIST_CENTRE - mx), 0, side - tw);
    int oy = clampi((int)lround(NN_MNIST_CENTRE - my), 0, side - th);
    for (int y = 0; y < th; y++)
        memcpy(out + (size_t)(y + oy) * side + ox, box + (size_t)y * tw, (size_t)tw * sizeof *out);

    info->box_x = x0;
    info->box_y = y0;
    info->box_w = bw;
    info->box_h = bh;
    info->scaled_w = tw;
    info->scaled_h = th;
    info->offset_x = ox;
    info->offset_y = oy;
    info->centre_x = (float)(mx + ox);
    info->centre_y = (float)(my + oy);
    return NN_OK;
}

int nn_image_to_ink(const unsigned char *pixels, int w, int h, int channels, int invert,
                    float *ink, int *inverted, nn_error *err)
{
    if (w < 1 || h < 1 || channels < 1 || channels > 4)
        return nn_error_set(err, NN_EINPUT, "image: unsupported layout %dx%d with %d channels", w, h, channels);
    size_t n = (size_t)w * h;
    int has_alpha = channels == 2 || channels == 4;
    int transparent = 0;
    if (has_alpha)
        for (size_t i = 0; i < n && !transparent; i++)
            transparent = pixels[i * channels + channels - 1] < 128;
    if (inverted)
        *inverted = 0;
    if (transparent) { /* a drawing on a transparent layer: opacity is the ink */
        for (size_t i = 0; i < n; i++)
            ink[i] = pixels[i * channels + channels - 1] / 255.0f;
        return NN_OK;
    }

    int colours = channels >= 3 ? 3 : 1;
    long histogram[256] = {0};
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = pixels + i * channels;
        int grey = colours == 3 ? (p[0] + p[1] + p[2] + 1) / 3 : p[0];
        histogram[grey]++;
        ink[i] = (float)grey;
    }
    int flip = invert == NN_INVERT_ALWAYS;
    if (invert == NN_INVERT_AUTO) {
        /* Paper shows at the border; a light border means dark ink. */
        double border = 0;
        long count = 0;
        for (int x = 0; x < w; x++) {
            border += ink[x] + ink[(size_t)(h - 1) * w + x];
            count += 2;
        }
        for (int y = 1; y < h - 1; y++) {
            border += ink[(size_t)y * w] + ink[(size_t)y * w + w - 1];
            count += 2;
        }
        flip = border / (double)count > 127.5;
    }
    if (flip) {
        for (int i = 0; i < 128; i++) {
            long t = histogram[i];
            histogram[i] = histogram[255 - i];
            histogram[255 - i] = t;
        }
        for (size_t i = 0; i < n; i++)
            ink[i] = 255.0f - ink[i];
    }
    if (inverted)
        *inverted = flip;
    /* The background is the median level; the brightest level is full ink. */
    long seen = 0;
    int median = 0, top = 0;
    for (int v = 0; v < 256; v++) {
        if (seen * 2 < (long)n && (seen += histogram[v]) * 2 >= (long)n)
            median = v;
        if (histogram[v])
            top = v;
    }
    float range = (float)(top - median);
    /* Less than 10% contrast is paper texture or noise, not a digit. */
    if (range < 25.5f) {
        memset(ink, 0, n * sizeof *ink);
        return NN_OK;
    }
    for (size_t i = 0; i < n; i++) {
        float v = (ink[i] - (float)median) / range;
        ink[i] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
    }
    return NN_OK;
}

/* Read a whole file; image files over 256 MiB are refused. */
static int read_file(const char *path, unsigned char **data, size_t *len, nn_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return nn_error_set(err, NN_EINPUT, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return nn_error_set(err, NN_EINPUT, "%s: cannot read: %s", path, strerror(EISDIR));
    }
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || cap >= (size_t)1 << 28)
            break;
        unsigned char *grown = realloc(buf, cap * 2);
        if (!grown) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = grown;
        cap *= 2;
    }
    int failed = ferror(f), full = buf && n == cap, read_errno = errno;
    fclose(f);
    if (!buf)
        return nn_error_set(err, NN_ERUNTIME, "%s: out of memory reading the file", path);
    if (failed || full) {
        free(buf);
        if (failed)
            return nn_error_set(err, NN_EINPUT, "%s: read error: %s", path, strerror(read_errno));
        return nn_error_set(err, NN_EINPUT, "%s: file larger than 256 MiB", path);
    }
    *data = buf;
    *len = n;
    return NN_OK;
}

int nn_image_load_ink(const char *path, int invert, float **ink, int *w, int *h, int *inverted,
                      nn_error *err)
{
    *ink = NULL;
    unsigned char *file = NULL;
    size_t len = 0;
    int rc = read_file(path, &file, &len, err);
    if (rc)
        return rc;
    rc = nn_image_decode_ink(file, len, path, invert, ink, w, h, inverted, err);
    free(file);
    return rc;
}

/* stb_image 2.27 (Debian 12's libstb) builds a JPEG Huffman table from a
 * DHT segment before checking that its 16 code counts add up to at most
 * 256, and a larger sum writes past the table, as early as stbi_info.
 * Until a fixed stb_image is what the system has, every DHT segment stb
 * could read is checked here first: the segments between markers are
 * walked as stb walks them (non-0xFF bytes and 0xFF fill skipped, each
 * segment skipped by its length), and after a start of scan every 0xFF
 * that begins a marker in the entropy-coded data is taken as one.  Returns
 * the first bad count sum, or 0 when there is none. */
static int jpeg_bad_huffman_table(const unsigned char *f, size_t len)
{
    size_t pos = 0;
    while (pos < len && f[pos] == 0xFF)
        pos++;
    if (pos == 0 || pos >= len || f[pos] != 0xD8)
        return 0; /* not a JPEG */
    pos++;
    while (pos < len) {
        if (f[pos] != 0xFF) {
            pos++;
            continue;
        }
        while (pos < len && f[pos] == 0xFF)
            pos++;
        if (pos + 2 >= len)
            break;
        int marker = f[pos++];
        if (marker == 0xD9)
            break; /* end of image */
        if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8))
            continue; /* markers without a length */
        size_t seg = (size_t)f[pos] << 8 | f[pos + 1];
        if (marker == 0xC4) {
            /* stb reads tables while the segment's length lasts, 17 bytes
             * and the codes each, with zeros past the end of the file. */
            long left = (long)seg - 2;
            size_t at = pos + 2;
            while (left > 0) {
                int n = 0;
                for (int i = 0; i < 16; i++)
                    n += at + 1 + i < len ? f[at + 1 + i] : 0;
                if (n > 256)
                    return n;
                at += 17 + (size_t)n;
                left -= 17 + n;
            }
        }
        pos += seg < 2 ? 2 : seg;
        if (marker == 0xDA) {
            /* Entropy-coded data up to the next marker: 0xFF is followed
             * by 0x00 (a stuffed byte), a restart marker or more fill. */
            while (pos + 1 < len &&
                   !(f[pos] == 0xFF && f[pos + 1] != 0x00 && f[pos + 1] != 0xFF && (f[pos + 1] & 0xF8) != 0xD0))
                pos++;
        }
    }
    return 0;
}

/* The same stb_image reads the width, height and maximum value of a binary
 * PGM/PPM header into an int, digit by digit, with no check for overflow
 * (undefined behaviour past 2147483647).  The header is read here first, as
 * stb reads it (whitespace and # comments between the numbers); returns 1
 * when a number is too large. */
static int pnm_number_too_large(const unsigned char *f, size_t len)
{
    if (len < 2 || f[0] != 'P' || (f[1] != '5' && f[1] != '6'))
        return 0;
    size_t pos = 2;
    for (int field = 0; field < 3; field++) {
        for (;;) {
            while (pos < len && (f[pos] == ' ' || (f[pos] >= '\t' && f[pos] <= '\r')))
                pos++;
            if (pos >= len || f[pos] != '#')
                break;
            while (pos < len && f[pos] != '\n' && f[pos] != '\r')
                pos++;
        }
        long long value = 0;
        while (pos < len && f[pos] >= '0' && f[pos] <= '9') {
            value = value * 10 + (f[pos++] - '0');
            if (value > INT_MAX)
                return 1;
        }
    }
    return 0;
}

/* The same stb_image, given an IDAT chunk of length 0 before any data,
 * adds 0 to its still-NULL data pointer (undefined behaviour, harmless in
 * practice, but a sanitizer stops on it).  An empty IDAT carries nothing,
 * so such chunks are dropped: when the file has any, *copy is set to a
 * new buffer without them (the caller frees it) and its length returned;
 * otherwise *copy is NULL.  The chunks are walked as stb walks them
 * (length, type, data, CRC), stopping at the first that does not fit. */
static size_t png_without_empty_idat(const unsigned char *f, size_t len, unsigned char **copy)
{
    static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    *copy = NULL;
    if (len < 8 || memcmp(f, signature, 8) != 0)
        return 0;
    unsigned char *out = NULL;
    size_t n = 0, pos = 8;
    while (pos + 12 <= len) {
        size_t length = (size_t)f[pos] << 24 | (size_t)f[pos + 1] << 16 | (size_t)f[pos + 2] << 8 | f[pos + 3];
        size_t end = length > len - pos - 12 ? len : pos + 12 + length;
        if (length == 0 && memcmp(f + pos + 4, "IDAT", 4) == 0) {
            if (!out) {
                out = malloc(len);
                if (!out)
                    return 0; /* left to stb, which reads it all the same */
                memcpy(out, f, pos);
                n = pos;
            }
        } else if (out) {
            memcpy(out + n, f + pos, end - pos);
            n += end - pos;
        }
        pos = end;
    }
    if (!out)
        return 0;
    /* Whatever follows the last whole chunk is kept as it was. */
    memcpy(out + n, f + pos, len - pos);
    n += len - pos;
    *copy = out;
    return n;
}

static int image_decode_ink(const unsigned char *file, size_t len, const char *path, int invert, float **ink, int *w,
                            int *h, int *inverted, nn_error *err)
{
    if (pnm_number_too_large(file, len))
        return nn_error_set(err, NN_EINPUT, "%s: cannot decode image: a PGM/PPM header number larger than %d", path,
                            INT_MAX);
    int codes = jpeg_bad_huffman_table(file, len);
    if (codes)
        return nn_error_set(err, NN_EINPUT, "%s: cannot decode image: corrupt JPEG: a Huffman table of %d codes "
                            "(at most 256)", path, codes);
    /* The header is checked before any pixel is decoded, so a small file
     * claiming a huge image costs nothing. */
    int iw, ih, channels;
    if (len > INT_MAX || !stbi_info_from_memory(file, (int)len, &iw, &ih, &channels)) {
        const char *why = stbi_failure_reason();
        return nn_error_set(err, NN_EINPUT, "%s: not a readable image (PNG, JPEG, BMP, PGM/PPM, GIF, TGA): %s",
                            path, why ? why : "unknown format");
    }
    if (iw > NN_IMAGE_MAX_SIDE || ih > NN_IMAGE_MAX_SIDE || iw < 1 || ih < 1)
        return nn_error_set(err, NN_EINPUT, "%s: image is %dx%d; at most %dx%d is accepted", path, iw, ih,
                            NN_IMAGE_MAX_SIDE, NN_IMAGE_MAX_SIDE);
    unsigned char *pixels = stbi_load_from_memory(file, (int)len, &iw, &ih, &channels, 0);
    if (!pixels) {
        /* stb_image gives an empty reason for data that stops early. */
        const char *why = stbi_failure_reason();
        return nn_error_set(err, NN_EINPUT, "%s: cannot decode image: %s", path,
                            why && *why ? why : "the data is damaged or cut short");
    }
    float *out = malloc((size_t)iw * ih * sizeof *out);
    if (!out) {
        stbi_image_free(pixels);
        return nn_error_set(err, NN_ERUNTIME, "%s: out of memory for a %dx%d image", path, iw, ih);
    }
    int rc = nn_image_to_ink(pixels, iw, ih, channels, invert, out, inverted, err);
    stbi_image_free(pixels);
    if (rc) {
        free(out);
        return rc;
    }
    *ink = out;
    *w = iw;
    *h = ih;
    return NN_OK;
}

int nn_image_decode_ink(const unsigned char *file, size_t len, const char *path, int invert, float **ink, int *w,
                        int *h, int *inverted, nn_error *err)
{
    *ink = NULL;
    unsigned char *png = NULL;
    size_t png_len = png_without_empty_idat(file, len, &png);
    int rc = image_decode_ink(png ? png : file, png ? png_len : len, path, invert, ink, w, h, inverted, err);
    free(png);
    return rc;
}
