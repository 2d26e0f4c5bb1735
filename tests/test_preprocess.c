/* Tests for nn/preprocess.c and the classify step of nn/predictor.c: the
 * MNIST recipe must make a digit look the same to the network wherever and
 * however large it was drawn, put its centre of mass at (14, 14), keep it in
 * a 20 px box, and say "blank" rather than guess on an empty canvas.  Also
 * image decoding: polarity, transparency, contrast and the size limit. */
#include "canvas.h"
#include "data.h"
#include "predictor.h"
#include "preprocess.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stb_image_resize.h>
#include <stb_image_write.h>

#define SIDE NN_MNIST_SIDE
#define CANVAS NN_CANVAS_SIZE

static nn_dataset test_set;

static void load_test_set(void)
{
    const char *root = getenv("NNLAB_SOURCE_ROOT");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/data/mnist-small", root ? root : ".");
    nn_dataset train;
    nn_error err;
    ck_assert_msg(nn_dataset_load_dir(dir, &train, &test_set, &err) == NN_OK, "%s", err.msg);
    nn_dataset_free(&train);
}

static void free_test_set(void)
{
    nn_dataset_free(&test_set);
}

/* MNIST test digit i as ink, scaled (tent filter) to size x size and placed
 * with its top left corner at (x, y) on a blank canvas. */
static void place_digit(float *canvas, size_t i, int size, int x, int y)
{
    float digit[SIDE * SIDE];
    for (int p = 0; p < SIDE * SIDE; p++)
        digit[p] = test_set.images[i * SIDE * SIDE + p] / 255.0f;
    memset(canvas, 0, sizeof(float) * CANVAS * CANVAS);
    ck_assert(stbir_resize_float_generic(digit, SIDE, SIDE, SIDE * 4, canvas + (size_t)y * CANVAS + x, size, size,
                                         CANVAS * 4, 1, STBIR_ALPHA_CHANNEL_NONE, 0, STBIR_EDGE_ZERO,
                                         STBIR_FILTER_TRIANGLE, STBIR_COLORSPACE_LINEAR, NULL));
}

static double l2(const float *a, const float *b, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return sqrt(s);
}

/* Distance between a and b moved by (dx, dy) whole pixels. */
static double shifted_l2(const float *a, const float *b, int dx, int dy)
{
    double s = 0;
    for (int y = 0; y < SIDE; y++)
        for (int x = 0; x < SIDE; x++) {
            int bx = x - dx, by = y - dy;
            double v = bx >= 0 && bx < SIDE && by >= 0 && by < SIDE ? b[by * SIDE + bx] : 0.0;
            s += (a[y * SIDE + x] - v) * (a[y * SIDE + x] - v);
        }
    return sqrt(s);
}

static double norm(const float *a, int n)
{
    return sqrt(nn_vec_sumsq(a, (size_t)n));
}

/* Extent of the nonzero pixels of a 28x28 image. */
static void extent(const float *img, int *w, int *h)
{
    int x0 = SIDE, x1 = -1, y0 = SIDE, y1 = -1;
    for (int y = 0; y < SIDE; y++)
        for (int x = 0; x < SIDE; x++)
            if (img[y * SIDE + x] > 0) {
                x0 = x < x0 ? x : x0;
                x1 = x > x1 ? x : x1;
                y0 = y < y0 ? y : y0;
                y1 = y > y1 ? y : y1;
            }
    *w = x1 < 0 ? 0 : x1 - x0 + 1;
    *h = y1 < 0 ? 0 : y1 - y0 + 1;
}

static void centre_of_mass(const float *img, double *cx, double *cy)
{
    double m = 0, x = 0, y = 0;
    for (int i = 0; i < SIDE * SIDE; i++) {
        m += img[i];
        x += (double)img[i] * (i % SIDE);
        y += (double)img[i] * (i / SIDE);
    }
    *cx = x / m;
    *cy = y / m;
}

/* ---- position and size invariance ------------------------------------- */

START_TEST(small_corner_matches_large_centre)
{
    /* 200 test digits, each enlarged (tent filter) to a third of the canvas
     * in its top left corner, and to nearly all of it in the centre. */
    enum { N = 200 };
    static float canvas[CANVAS * CANVAS], small[N][SIDE * SIDE], large[N][SIDE * SIDE];
    for (size_t i = 0; i < N; i++) {
        nn_preprocess_info info;
        place_digit(canvas, i, 84, 4, 6);
        ck_assert_int_eq(nn_preprocess_mnist(canvas, CANVAS, CANVAS, CANVAS, small[i], &info, NULL), NN_OK);
        ck_assert(!info.blank);
        place_digit(canvas, i, 252, 14, 14);
        ck_assert_int_eq(nn_preprocess_mnist(canvas, CANVAS, CANVAS, CANVAS, large[i], &info, NULL), NN_OK);
        ck_assert(!info.blank);
    }
    /* Relative L2 distance, |a - b| / sqrt(|a| |b|); two different test
     * digits of one class are typically 0.6-1.0 apart.  The centre of mass
     * is rounded to a whole pixel, as MNIST's was, so when it falls near a
     * half pixel the two copies can land a pixel apart: allow that much
     * realignment, and every small copy is nearer its own large copy than
     * any other digit. */
    double total = 0, total_aligned = 0;
    int nearest_self = 0, nearest_aligned = 0;
    for (size_t i = 0; i < N; i++) {
        double self = 0, aligned = INFINITY, best_other = INFINITY;
        for (size_t j = 0; j < N; j++) {
            double scale = sqrt(norm(small[i], SIDE * SIDE) * norm(large[j], SIDE * SIDE));
            double d = l2(small[i], large[j], SIDE * SIDE) / scale;
            if (j != i) {
                best_other = d < best_other ? d : best_other;
                continue;
            }
            self = d;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    double a = shifted_l2(small[i], large[j], dx, dy) / scale;
                    aligned = a < aligned ? a : aligned;
                }
        }
        total += self;
        total_aligned += aligned;
        nearest_self += self < best_other;
        nearest_aligned += aligned < best_other;
    }
    ck_assert_msg(total / N < 0.15, "mean relative distance %.3f", total / N);
    ck_assert_msg(total_aligned / N < 0.12, "mean relative distance, realigned %.3f", total_aligned / N);
    ck_assert_msg(nearest_self >= N * 95 / 100, "%d of %d small digits are nearest their own large copy",
                  nearest_self, N);
    ck_assert_msg(nearest_aligned == N, "%d of %d small digits, realigned, are nearest their own large copy",
                  nearest_aligned, N);
}
END_TEST

START_TEST(small_corner_drawing_matches_large_centre)
{
    /* A drawn "2", small near the bottom right with a proportionally small
     * brush, and large in the middle. */
    static const float two[][2] = {{0.22f, 0.28f}, {0.35f, 0.14f}, {0.55f, 0.10f}, {0.72f, 0.2f}, {0.74f, 0.38f},
                                   {0.6f, 0.56f},  {0.4f, 0.72f},  {0.22f, 0.88f}, {0.5f, 0.86f}, {0.8f, 0.87f}};
    float in[2][SIDE * SIDE];
    const float scales[2] = {0.3f, 0.8f}, origins[2][2] = {{0.65f, 0.62f}, {0.1f, 0.1f}};
    for (int k = 0; k < 2; k++) {
        nn_canvas c;
        ck_assert_int_eq(nn_canvas_new(&c, CANVAS, CANVAS, NULL), NN_OK);
        c.radius = NN_CANVAS_BRUSH_RADIUS * scales[k] / 0.8f;
        float s = scales[k] * CANVAS, ox = origins[k][0] * CANVAS, oy = origins[k][1] * CANVAS;
        nn_canvas_begin(&c, ox + two[0][0] * s, oy + two[0][1] * s, 0);
        for (size_t p = 1; p < sizeof two / sizeof *two; p++)
            nn_canvas_line_to(&c, ox + two[p][0] * s, oy + two[p][1] * s);
        nn_canvas_end(&c);
        ck_assert_int_eq(nn_preprocess_mnist(c.ink, CANVAS, CANVAS, CANVAS, in[k], NULL, NULL), NN_OK);
        nn_canvas_free(&c);
    }
    double d = l2(in[0], in[1], SIDE * SIDE) / norm(in[1], SIDE * SIDE);
    ck_assert_msg(d < 0.15, "relative distance %.3f", d);
}
END_TEST

/* ---- centre of mass and bounding box ------------------------------------ */

START_TEST(centre_of_mass_at_14_14)
{
    static float canvas[CANVAS * CANVAS];
    float out[SIDE * SIDE];
    for (size_t i = 0; i < test_set.count; i += 7) {
        /* Sizes and places vary with i. */
        int size = 60 + (int)(i * 37 % 200), x = (int)(i * 13 % (CANVAS - size)), y = (int)(i * 29 % (CANVAS - size));
        place_digit(canvas, i, size, x, y);
        nn_preprocess_info info;
        ck_assert_int_eq(nn_preprocess_mnist(canvas, CANVAS, CANVAS, CANVAS, out, &info, NULL), NN_OK);
        double cx, cy;
        centre_of_mass(out, &cx, &cy);
        ck_assert_msg(fabs(cx - 14) <= 0.5 && fabs(cy - 14) <= 0.5, "digit %zu: centre (%.2f, %.2f)", i, cx, cy);
        ck_assert_msg(fabs(cx - info.centre_x) < 1e-3 && fabs(cy - info.centre_y) < 1e-3, "info centre");
    }
}
END_TEST

START_TEST(bounding_box_at_most_20)
{
    static float canvas[CANVAS * CANVAS];
    float out[SIDE * SIDE];
    for (size_t i = 0; i < test_set.count; i += 5) {
        place_digit(canvas, i, 120 + (int)(i % 150), 3, 5);
        nn_preprocess_info info;
        ck_assert_int_eq(nn_preprocess_mnist(canvas, CANVAS, CANVAS, CANVAS, out, &info, NULL), NN_OK);
        int w, h;
        extent(out, &w, &h);
        ck_assert_msg(w <= 20 && h <= 20, "digit %zu spans %dx%d", i, w, h);
        ck_assert_msg(w == 20 || h == 20, "digit %zu spans %dx%d: the longer side should be 20", i, w, h);
    }
}
END_TEST

START_TEST(aspect_ratio_and_grey_levels_kept)
{
    /* A solid 200x50 bar: 20x5 after scaling, full intensity inside. */
    static float canvas[CANVAS * CANVAS];
    memset(canvas, 0, sizeof canvas);
    for (int y = 100; y < 150; y++)
        for (int x = 40; x < 240; x++)
            canvas[y * CANVAS + x] = 0.5f;
    float out[SIDE * SIDE];
    nn_preprocess_info info;
    ck_assert_int_eq(nn_preprocess_mnist(canvas, CANVAS, CANVAS, CANVAS, out, &info, NULL), NN_OK);
    ck_assert_int_eq(info.box_w, 200);
    ck_assert_int_eq(info.box_h, 50);
    ck_assert_int_eq(info.scaled_w, 20);
    ck_assert_int_eq(info.scaled_h, 5);
    int w, h;
    extent(out, &w, &h);
    ck_assert_int_eq(w, 20);
    ck_assert_int_eq(h, 5);
    for (int i = 0; i < SIDE * SIDE; i++)
        ck_assert(out[i] == 0.0f || fabsf(out[i] - 0.5f) < 1e-4f);
    /* A tall thin stroke stays thin: a "1". */
    memset(canvas, 0, sizeof canvas);
    nn_canvas c = {.width = CANVAS, .height = CANVAS, .radius = NN_CANVAS_BRUSH_RADIUS, .ink = canvas};
    nn_canvas_segment(&c, 140, 40, 140, 240, 0);
    ck_assert_int_eq(nn_preprocess_mnist(canvas, CANVAS, CANVAS, CANVAS, out, &info, NULL), NN_OK);
    extent(out, &w, &h);
    ck_assert_int_eq(h, 20);
    ck_assert_int_le(w, 4);
}
END_TEST

START_TEST(tiny_drawing_is_enlarged)
{
    static float canvas[CANVAS * CANVAS];
    memset(canvas, 0, sizeof canvas);
    for (int y = 10; y < 20; y++) /* a 5x10 blob */
        for (int x = 10; x < 15; x++)
            canvas[y * CANVAS + x] = 1.0f;
    float out[SIDE * SIDE];
    nn_preprocess_info info;
    ck_assert_int_eq(nn_preprocess_mnist(canvas, CANVAS, CANVAS, CANVAS, out, &info, NULL), NN_OK);
    ck_assert_int_eq(info.scaled_h, 20);
    ck_assert_int_eq(info.scaled_w, 10);
    double cx, cy;
    centre_of_mass(out, &cx, &cy);
    ck_assert(fabs(cx - 14) <= 0.5 && fabs(cy - 14) <= 0.5);
}
END_TEST

/* ---- blank canvases ------------------------------------------------------ */

START_TEST(blank_canvas_has_no_prediction)
{
    nn_canvas c;
    ck_assert_int_eq(nn_canvas_new(&c, CANVAS, CANVAS, NULL), NN_OK);
    float out[SIDE * SIDE];
    nn_preprocess_info info;
    ck_assert_int_eq(nn_preprocess_mnist(c.ink, CANVAS, CANVAS, CANVAS, out, &info, NULL), NN_OK);
    ck_assert_int_eq(info.blank, 1);
    for (int i = 0; i < SIDE * SIDE; i++)
        ck_assert(out[i] == 0.0f);
    /* Faint dust below the threshold is blank too. */
    c.ink[5000] = NN_INK_THRESHOLD * 0.5f;
    ck_assert_int_eq(nn_preprocess_mnist(c.ink, CANVAS, CANVAS, CANVAS, out, &info, NULL), NN_OK);
    ck_assert_int_eq(info.blank, 1);
    c.ink[5000] = 0;

    /* Through a predictor: label -1 and no probabilities. */
    nn_spec spec;
    nn_error err;
    ck_assert_msg(nn_spec_parse(&spec, "input 1x28x28\ndense 10\nsoftmax_xent\n", "t.spec", &err) == NN_OK, "%s",
                  err.msg);
    nn_predictor p;
    ck_assert_msg(nn_predictor_init(&p, &spec, &err) == NN_OK, "%s", err.msg);
    float probs[10], seen[SIDE * SIDE];
    int label = 5;
    ck_assert_int_eq(nn_predictor_classify_ink(&p, c.ink, CANVAS, CANVAS, CANVAS, seen, probs, &label, &info, &err),
                     NN_OK);
    ck_assert_int_eq(label, -1);
    for (int k = 0; k < 10; k++)
        ck_assert(probs[k] == 0.0f);
    /* Erasing a stroke entirely makes the canvas blank again. */
    nn_canvas_begin(&c, 100, 100, 0);
    nn_canvas_line_to(&c, 180, 180);
    nn_canvas_end(&c);
    ck_assert_int_eq(nn_predictor_classify_ink(&p, c.ink, CANVAS, CANVAS, CANVAS, seen, probs, &label, &info, &err),
                     NN_OK);
    ck_assert_int_ge(label, 0);
    double sum = 0;
    for (int k = 0; k < 10; k++)
        sum += probs[k];
    ck_assert(fabs(sum - 1) < 1e-5);
    nn_canvas_begin(&c, 100, 100, 1);
    nn_canvas_line_to(&c, 180, 180);
    nn_canvas_end(&c);
    ck_assert(nn_canvas_blank(&c));
    ck_assert_int_eq(nn_predictor_classify_ink(&p, c.ink, CANVAS, CANVAS, CANVAS, seen, probs, &label, &info, &err),
                     NN_OK);
    ck_assert_int_eq(label, -1);
    nn_predictor_free(&p);
    nn_spec_free(&spec);
    nn_canvas_free(&c);
}
END_TEST

/* ---- image files ---------------------------------------------------------- */

/* A 40x30 grey image: background bg, a 10x20 block of ink colour at (15,5). */
static void make_image(unsigned char *px, int channels, int bg, int ink_level, int alpha_bg)
{
    for (int y = 0; y < 30; y++)
        for (int x = 0; x < 40; x++) {
            int inside = x >= 15 && x < 25 && y >= 5 && y < 25;
            unsigned char *p = px + (y * 40 + x) * channels;
            for (int k = 0; k < channels; k++)
                p[k] = (unsigned char)(inside ? ink_level : bg);
            if (channels == 2 || channels == 4)
                p[channels - 1] = (unsigned char)(inside ? 255 : alpha_bg);
        }
}

START_TEST(image_polarity)
{
    unsigned char px[40 * 30 * 4];
    float ink[40 * 30];
    int inverted;
    /* Dark ink on white paper (RGB): detected and inverted. */
    make_image(px, 3, 255, 0, 255);
    ck_assert_int_eq(nn_image_to_ink(px, 40, 30, 3, NN_INVERT_AUTO, ink, &inverted, NULL), NN_OK);
    ck_assert_int_eq(inverted, 1);
    ck_assert_float_eq_tol(ink[15 * 40 + 20], 1.0f, 1e-6f);
    ck_assert_float_eq_tol(ink[0], 0.0f, 1e-6f);
    /* White on black (grey, as MNIST): left alone. */
    make_image(px, 1, 0, 255, 255);
    ck_assert_int_eq(nn_image_to_ink(px, 40, 30, 1, NN_INVERT_AUTO, ink, &inverted, NULL), NN_OK);
    ck_assert_int_eq(inverted, 0);
    ck_assert_float_eq_tol(ink[15 * 40 + 20], 1.0f, 1e-6f);
    /* Forcing the polarity the wrong way leaves no ink (the block is now
     * background-dark against a white field that is the median). */
    ck_assert_int_eq(nn_image_to_ink(px, 40, 30, 1, NN_INVERT_ALWAYS, ink, &inverted, NULL), NN_OK);
    ck_assert_int_eq(inverted, 1);
    ck_assert_float_eq_tol(ink[15 * 40 + 20], 0.0f, 1e-6f);
    ck_assert_int_eq(nn_image_to_ink(px, 40, 30, 1, NN_INVERT_NEVER, ink, &inverted, NULL), NN_OK);
    ck_assert_int_eq(inverted, 0);
    /* Pencil on grey paper: background 180, ink 100, stretched to [0,1]. */
    make_image(px, 1, 180, 100, 255);
    ck_assert_int_eq(nn_image_to_ink(px, 40, 30, 1, NN_INVERT_AUTO, ink, &inverted, NULL), NN_OK);
    ck_assert_int_eq(inverted, 1);
    ck_assert_float_eq_tol(ink[15 * 40 + 20], 1.0f, 1e-6f);
    ck_assert_float_eq_tol(ink[0], 0.0f, 1e-6f);
    /* Too little contrast is no ink at all. */
    make_image(px, 1, 120, 130, 255);
    ck_assert_int_eq(nn_image_to_ink(px, 40, 30, 1, NN_INVERT_AUTO, ink, &inverted, NULL), NN_OK);
    for (int i = 0; i < 40 * 30; i++)
        ck_assert(ink[i] == 0.0f);
    /* Black strokes on a transparent layer: opacity is the ink. */
    make_image(px, 4, 0, 0, 0);
    ck_assert_int_eq(nn_image_to_ink(px, 40, 30, 4, NN_INVERT_AUTO, ink, &inverted, NULL), NN_OK);
    ck_assert_float_eq_tol(ink[15 * 40 + 20], 1.0f, 1e-6f);
    ck_assert_float_eq_tol(ink[0], 0.0f, 1e-6f);
}
END_TEST

static char temp_dir[] = "/tmp/nnlab-test-preprocess-XXXXXX";

/* Decoding from memory, as the fuzz target does: a PNG whose header claims
 * 10000x10000 pixels is refused before any pixel is decoded, with the size
 * in the message; one claiming 8000x8000 with no pixel data fails to decode
 * with a reason. */
typedef struct memory_file {
    unsigned char data[4096];
    int len;
} memory_file;

static void append_bytes(void *context, void *data, int size)
{
    memory_file *m = context;
    ck_assert_int_le(m->len + size, (int)sizeof m->data);
    memcpy(m->data + m->len, data, (size_t)size);
    m->len += size;
}

START_TEST(image_from_memory)
{
    unsigned char px[6 * 6] = {0};
    px[14] = 255;
    static memory_file file;
    ck_assert(stbi_write_png_to_func(append_bytes, &file, 6, 6, 1, px, 6));
    const unsigned char *png = file.data;
    size_t len = (size_t)file.len;
    float *ink = NULL;
    int w, h, inverted;
    nn_error err;
    ck_assert_msg(nn_image_decode_ink(png, len, "mem.png", NN_INVERT_NEVER, &ink, &w, &h, &inverted, &err) ==
                      NN_OK,
                  "%s", err.msg);
    ck_assert_int_eq(w, 6);
    ck_assert_int_eq(h, 6);
    ck_assert_float_eq_tol(ink[14], 1.0f, 1e-6f);
    free(ink);

    unsigned char header[33];
    memcpy(header, png, sizeof header);
    const unsigned char huge[8] = {0, 0, 0x27, 0x10, 0, 0, 0x27, 0x10}; /* 10000 x 10000, big-endian */
    memcpy(header + 16, huge, sizeof huge);
    ck_assert_int_eq(nn_image_decode_ink(header, sizeof header, "mem.png", NN_INVERT_AUTO, &ink, &w, &h, &inverted,
                                         &err),
                     NN_EINPUT);
    ck_assert_ptr_null(ink);
    ck_assert_msg(strstr(err.msg, "mem.png: image is 10000x10000; at most 8192x8192"), "%s", err.msg);

    const unsigned char large[8] = {0, 0, 0x1f, 0x40, 0, 0, 0x1f, 0x40}; /* 8000 x 8000 */
    memcpy(header + 16, large, sizeof large);
    ck_assert_int_eq(nn_image_decode_ink(header, sizeof header, "mem.png", NN_INVERT_AUTO, &ink, &w, &h, &inverted,
                                         &err),
                     NN_EINPUT);
    ck_assert_ptr_null(ink);
    ck_assert_msg(strstr(err.msg, "mem.png: cannot decode image: "), "%s", err.msg);
    ck_assert_msg(err.msg[strlen(err.msg) - 1] != ' ', "no reason in '%s'", err.msg);

    /* The same PNG cut after 60 bytes: stb_image gives an empty reason, and
     * the message still says why (tests/fuzz/corpus/image/cut-60.png). */
    ck_assert_msg(nn_image_decode_ink(png, 60, "cut.png", NN_INVERT_AUTO, &ink, &w, &h, &inverted, &err) == NN_EINPUT,
                  "%s", err.msg);
    ck_assert_msg(strstr(err.msg, "cut.png: cannot decode image: "), "%s", err.msg);
    ck_assert_msg(err.msg[strlen(err.msg) - 1] != ' ', "no reason in '%s'", err.msg);
}
END_TEST

/* The image fuzz target's seed NAME (in the source tree) is refused with a
 * message naming the file and holding text. */
static void image_seed_refused(const char *name, const char *text)
{
    const char *root = getenv("NNLAB_SOURCE_ROOT");
    ck_assert_msg(root != NULL, "NNLAB_SOURCE_ROOT is not set");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fuzz/corpus/image/%s", root, name);
    float *ink = NULL;
    int w, h, inverted;
    nn_error err;
    ck_assert_int_eq(nn_image_load_ink(path, NN_INVERT_AUTO, &ink, &w, &h, &inverted, &err), NN_EINPUT);
    ck_assert_ptr_null(ink);
    ck_assert_msg(strstr(err.msg, path) && strstr(err.msg, text), "%s", err.msg);
}

/* A JPEG whose Huffman table lists more than 256 codes is refused before
 * stb_image reads it (stb 2.27 writes past the table while building it),
 * found by the image fuzz target (tests/fuzz/corpus/image/
 * jpeg-dht-overflow.jpg); a table of exactly 256 codes is no reason to. */
START_TEST(jpeg_huffman_table_too_long)
{
    image_seed_refused("jpeg-dht-overflow.jpg",
                       "cannot decode image: corrupt JPEG: a Huffman table of 473 codes (at most 256)");
    float *ink = NULL;
    int w, h, inverted;
    nn_error err;

    /* SOI, then one DHT segment whose table lists 16 x 16 = 256 codes, then
     * nothing: stb_image's own error, not ours. */
    unsigned char jpeg[4 + 2 + 17 + 256] = {0xFF, 0xD8, 0xFF, 0xC4, (2 + 17 + 256) >> 8, (2 + 17 + 256) & 0xFF, 0x00};
    for (int i = 0; i < 16; i++)
        jpeg[7 + i] = 16;
    ck_assert_int_eq(nn_image_decode_ink(jpeg, sizeof jpeg, "256.jpg", NN_INVERT_AUTO, &ink, &w, &h, &inverted, &err),
                     NN_EINPUT);
    ck_assert_msg(strstr(err.msg, "256.jpg") && !strstr(err.msg, "Huffman table of"), "%s", err.msg);
    /* One more code, in a second table of the same segment after a valid
     * first one, or after a start of scan: refused. */
    unsigned char two[4 + 2 + 17 + 1 + 17 + 257] = {0xFF, 0xD8, 0xFF, 0xC4, 0, 0, 0x00, 1};
    two[4 + 2 + 17] = 0x00; /* the first table's one code */
    two[4 + 2 + 18] = 0x01; /* the second table: DC table 1 */
    for (int i = 0; i < 16; i++)
        two[4 + 2 + 19 + i] = i == 0 ? 17 : 16;
    two[4] = (unsigned char)((2 + 17 + 1 + 17 + 257) >> 8);
    two[5] = (unsigned char)((2 + 17 + 1 + 17 + 257) & 0xFF);
    ck_assert_int_eq(nn_image_decode_ink(two, sizeof two, "257.jpg", NN_INVERT_AUTO, &ink, &w, &h, &inverted, &err),
                     NN_EINPUT);
    ck_assert_msg(strstr(err.msg, "257.jpg: cannot decode image: corrupt JPEG: a Huffman table of 257 codes"), "%s",
                  err.msg);
    /* the same table after a start of scan and some entropy-coded data */
    unsigned char scan[2 + 4 + 6 + 4 + 2 + 17] = {0xFF, 0xD8, 0xFF, 0xDA, 0, 2, 0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0,
                                                  0x56, 0xFF, 0xFF, 0xC4, 0, 19, 0x00};
    for (int i = 0; i < 16; i++)
        scan[19 + i] = 17;
    ck_assert_int_eq(nn_image_decode_ink(scan, sizeof scan, "scan.jpg", NN_INVERT_AUTO, &ink, &w, &h, &inverted, &err),
                     NN_EINPUT);
    ck_assert_msg(strstr(err.msg, "scan.jpg: cannot decode image: corrupt JPEG: a Huffman table of 272 codes"), "%s",
                  err.msg);
}
END_TEST

/* A PNG whose first IDAT chunk is empty decodes as if it were not there
 * (stb 2.27 adds 0 to a NULL pointer on it), found by the image fuzz
 * target (tests/fuzz/corpus/image/png-empty-idat.png).  Empty IDATs before,
 * between and after the data; a file cut inside a chunk is still refused. */
START_TEST(png_empty_idat)
{
    /* there, the IDAT's length was changed to 0, so its data reads as
     * the next chunk */
    image_seed_refused("png-empty-idat.png", "cannot decode image: ");
    float *ink = NULL;
    int w, h, inverted;
    nn_error err;

    unsigned char px[6 * 6] = {0};
    px[20] = 200;
    static memory_file file;
    file.len = 0;
    ck_assert(stbi_write_png_to_func(append_bytes, &file, 6, 6, 1, px, 6));
    /* signature (8) and IHDR (25), then the IDAT, then IEND (12) */
    static const unsigned char empty[12] = {0, 0, 0, 0, 'I', 'D', 'A', 'T', 0x35, 0xAF, 0x06, 0x1E};
    int idat = 33, iend = file.len - 12;
    unsigned char png[sizeof file.data + 36];
    int n = 0;
    memcpy(png, file.data, (size_t)idat), n = idat;
    memcpy(png + n, empty, 12), n += 12;
    memcpy(png + n, file.data + idat, (size_t)(iend - idat)), n += iend - idat;
    memcpy(png + n, empty, 12), n += 12;
    memcpy(png + n, empty, 12), n += 12;
    memcpy(png + n, file.data + iend, 12), n += 12;
    float *plain = NULL;
    ck_assert_msg(nn_image_decode_ink(file.data, (size_t)file.len, "plain.png", NN_INVERT_NEVER, &plain, &w, &h,
                                      &inverted, &err) == NN_OK,
                  "%s", err.msg);
    ck_assert_msg(nn_image_decode_ink(png, (size_t)n, "empty.png", NN_INVERT_NEVER, &ink, &w, &h, &inverted, &err) ==
                      NN_OK,
                  "%s", err.msg);
    ck_assert_int_eq(w, 6);
    ck_assert_int_eq(h, 6);
    ck_assert_float_gt(ink[20], 0.5f);
    ck_assert_mem_eq(ink, plain, sizeof(float) * 6 * 6);
    free(ink);
    free(plain);
    ck_assert_int_eq(nn_image_decode_ink(png, (size_t)idat + 20, "cut.png", NN_INVERT_NEVER, &ink, &w, &h, &inverted,
                                         &err),
                     NN_EINPUT);
    ck_assert_ptr_null(ink);
}
END_TEST

/* A binary PGM whose header holds a number past INT_MAX is refused before
 * stb_image reads it (stb 2.27 overflows an int on it), found by the image
 * fuzz target (tests/fuzz/corpus/image/pnm-header-overflow.pgm); comments
 * and the largest int are still read. */
START_TEST(pnm_header_number_too_large)
{
    image_seed_refused("pnm-header-overflow.pgm",
                       "cannot decode image: a PGM/PPM header number larger than 2147483647");
    float *ink = NULL;
    int w, h, inverted;
    nn_error err;

    static const char *const too_large[] = {"P5 2 2147483648 255\n", "P6\n# a comment\n2 2 99999999999\n",
                                            "P5 2\n#\n 3000000000"};
    for (size_t i = 0; i < sizeof too_large / sizeof too_large[0]; i++) {
        const unsigned char *bytes = (const unsigned char *)too_large[i];
        ck_assert_int_eq(nn_image_decode_ink(bytes, strlen(too_large[i]), "big.pgm", NN_INVERT_AUTO, &ink, &w, &h,
                                             &inverted, &err),
                         NN_EINPUT);
        ck_assert_msg(strstr(err.msg, "header number larger than"), "%s: %s", too_large[i], err.msg);
    }
    /* 2147483647 is an int: stb's own size check answers. */
    static const char largest[] = "P5 # width\n2147483647 1 255\n";
    ck_assert_int_eq(nn_image_decode_ink((const unsigned char *)largest, sizeof largest - 1, "wide.pgm",
                                         NN_INVERT_AUTO, &ink, &w, &h, &inverted, &err),
                     NN_EINPUT);
    ck_assert_msg(!strstr(err.msg, "header number larger than"), "%s", err.msg);
    /* and a real PGM with a comment still decodes */
    static const unsigned char pgm[] = "P5\n# made by hand\n2 1\n255\n\x10\xf0";
    ck_assert_msg(nn_image_decode_ink(pgm, sizeof pgm - 1, "ok.pgm", NN_INVERT_NEVER, &ink, &w, &h, &inverted, &err) ==
                      NN_OK,
                  "%s", err.msg);
    ck_assert_int_eq(w, 2);
    ck_assert_int_eq(h, 1);
    free(ink);
}
END_TEST

START_TEST(image_files)
{
    ck_assert_ptr_nonnull(mkdtemp(temp_dir));
    char path[256];
    unsigned char px[40 * 30 * 3];
    make_image(px, 3, 250, 10, 255);
    snprintf(path, sizeof path, "%s/digit.png", temp_dir);
    ck_assert(stbi_write_png(path, 40, 30, 3, px, 40 * 3));
    float *ink;
    int w, h, inverted;
    nn_error err;
    ck_assert_msg(nn_image_load_ink(path, NN_INVERT_AUTO, &ink, &w, &h, &inverted, &err) == NN_OK, "%s", err.msg);
    ck_assert_int_eq(w, 40);
    ck_assert_int_eq(h, 30);
    ck_assert_int_eq(inverted, 1);
    ck_assert_float_eq_tol(ink[15 * 40 + 20], 1.0f, 1e-6f);
    free(ink);
    unlink(path);

    /* A PGM header promising 9000x10 pixels is refused before decoding. */
    snprintf(path, sizeof path, "%s/huge.pgm", temp_dir);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs("P5\n9000 10\n255\n", f);
    fputs("0123456789", f);
    fclose(f);
    ck_assert_int_eq(nn_image_load_ink(path, NN_INVERT_AUTO, &ink, &w, &h, &inverted, &err), NN_EINPUT);
    ck_assert_ptr_null(ink);
    ck_assert_msg(strstr(err.msg, "9000x10") && strstr(err.msg, "at most 8192x8192") && strstr(err.msg, path), "%s",
                  err.msg);
    unlink(path);

    /* Not an image. */
    snprintf(path, sizeof path, "%s/notes.txt", temp_dir);
    f = fopen(path, "wb");
    fputs("hello, this is text\n", f);
    fclose(f);
    ck_assert_int_eq(nn_image_load_ink(path, NN_INVERT_AUTO, &ink, &w, &h, &inverted, &err), NN_EINPUT);
    ck_assert_msg(strstr(err.msg, "not a readable image") && strstr(err.msg, path), "%s", err.msg);
    unlink(path);

    /* A truncated PNG. */
    snprintf(path, sizeof path, "%s/cut.png", temp_dir);
    ck_assert(stbi_write_png(path, 40, 30, 3, px, 40 * 3));
    ck_assert_int_eq(truncate(path, 60), 0);
    ck_assert_int_eq(nn_image_load_ink(path, NN_INVERT_AUTO, &ink, &w, &h, &inverted, &err), NN_EINPUT);
    ck_assert_msg(strstr(err.msg, path) && strstr(err.msg, "cannot decode image: "), "%s", err.msg);
    ck_assert_msg(err.msg[strlen(err.msg) - 1] != ' ', "no reason in '%s'", err.msg);
    unlink(path);

    /* A directory says so, rather than "read error". */
    ck_assert_int_eq(nn_image_load_ink(temp_dir, NN_INVERT_AUTO, &ink, &w, &h, &inverted, &err), NN_EINPUT);
    ck_assert_msg(strstr(err.msg, temp_dir) && strstr(err.msg, "cannot read: Is a directory"), "%s", err.msg);

    snprintf(path, sizeof path, "%s/missing.png", temp_dir);
    ck_assert_int_eq(nn_image_load_ink(path, NN_INVERT_AUTO, &ink, &w, &h, &inverted, &err), NN_EINPUT);
    ck_assert_msg(strstr(err.msg, "cannot open"), "%s", err.msg);
    rmdir(temp_dir);
}
END_TEST

static Suite *preprocess_suite(void)
{
    Suite *s = suite_create("preprocess");
    TCase *tc = tcase_create("mnist recipe");
    tcase_add_unchecked_fixture(tc, load_test_set, free_test_set);
    tcase_add_test(tc, small_corner_matches_large_centre);
    tcase_add_test(tc, small_corner_drawing_matches_large_centre);
    tcase_add_test(tc, centre_of_mass_at_14_14);
    tcase_add_test(tc, bounding_box_at_most_20);
    tcase_add_test(tc, aspect_ratio_and_grey_levels_kept);
    tcase_add_test(tc, tiny_drawing_is_enlarged);
    tcase_add_test(tc, blank_canvas_has_no_prediction);
    suite_add_tcase(s, tc);
    tc = tcase_create("images");
    tcase_add_test(tc, image_polarity);
    tcase_add_test(tc, image_files);
    tcase_add_test(tc, image_from_memory);
    tcase_add_test(tc, jpeg_huffman_table_too_long);
    tcase_add_test(tc, pnm_header_number_too_large);
    tcase_add_test(tc, png_empty_idat);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(preprocess_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
