/* The brush rasteriser.  A segment is drawn as the set of points within the
 * brush radius of it (a "capsule"); a pixel's coverage is estimated from
 * the distance of its centre to the segment, ramping over one pixel, which
 * is the usual cheap anti-aliasing for round pens. */
#include "canvas.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int nn_canvas_new(nn_canvas *c, int width, int height, nn_error *err)
{
    memset(c, 0, sizeof *c);
    if (width < 1 || height < 1 || width > 8192 || height > 8192)
        return nn_error_set(err, NN_EINPUT, "canvas: size %dx%d out of range (1..8192)", width, height);
    c->ink = calloc((size_t)width * height, sizeof *c->ink);
    if (!c->ink)
        return nn_error_set(err, NN_ERUNTIME, "canvas: out of memory");
    c->width = width;
    c->height = height;
    c->radius = NN_CANVAS_BRUSH_RADIUS * (float)(width < height ? width : height) / NN_CANVAS_SIZE;
    c->dirty_x0 = c->dirty_y0 = 0;
    c->dirty_x1 = width;
    c->dirty_y1 = height;
    return NN_OK;
}

void nn_canvas_free(nn_canvas *c)
{
    free(c->ink);
    memset(c, 0, sizeof *c);
}

static void mark_dirty(nn_canvas *c, int x0, int y0, int x1, int y1)
{
    if (c->dirty_x0 >= c->dirty_x1) {
        c->dirty_x0 = x0;
        c->dirty_y0 = y0;
        c->dirty_x1 = x1;
        c->dirty_y1 = y1;
    } else {
        if (x0 < c->dirty_x0) c->dirty_x0 = x0;
        if (y0 < c->dirty_y0) c->dirty_y0 = y0;
        if (x1 > c->dirty_x1) c->dirty_x1 = x1;
        if (y1 > c->dirty_y1) c->dirty_y1 = y1;
    }
    c->version++;
}

void nn_canvas_clear(nn_canvas *c)
{
    memset(c->ink, 0, (size_t)c->width * c->height * sizeof *c->ink);
    c->pen = 0;
    mark_dirty(c, 0, 0, c->width, c->height);
}

int nn_canvas_blank(const nn_canvas *c)
{
    size_t n = (size_t)c->width * c->height;
    for (size_t i = 0; i < n; i++)
        if (c->ink[i] > 0.0f)
            return 0;
    return 1;
}

void nn_canvas_take_dirty(nn_canvas *c, int *x0, int *y0, int *x1, int *y1)
{
    *x0 = c->dirty_x0;
    *y0 = c->dirty_y0;
    *x1 = c->dirty_x1;
    *y1 = c->dirty_y1;
    c->dirty_x0 = c->dirty_y0 = c->dirty_x1 = c->dirty_y1 = 0;
}

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void nn_canvas_segment(nn_canvas *c, float x0, float y0, float x1, float y1, int erase)
{
    if (!isfinite(x0) || !isfinite(y0) || !isfinite(x1) || !isfinite(y1))
        return;
    float r = erase ? NN_CANVAS_ERASER_SCALE * c->radius : c->radius;
    float reach = r + 1.0f;
    int px0 = clampi((int)floorf(fminf(x0, x1) - reach), 0, c->width);
    int px1 = clampi((int)ceilf(fmaxf(x0, x1) + reach), 0, c->width);
    int py0 = clampi((int)floorf(fminf(y0, y1) - reach), 0, c->height);
    int py1 = clampi((int)ceilf(fmaxf(y0, y1) + reach), 0, c->height);
    if (px0 >= px1 || py0 >= py1)
        return;
    float dx = x1 - x0, dy = y1 - y0;
    float len2 = dx * dx + dy * dy;
    float inv = len2 > 1e-12f ? 1.0f / len2 : 0.0f;
    for (int py = py0; py < py1; py++) {
        float cy = (float)py + 0.5f;
        float *row = c->ink + (size_t)py * c->width;
        for (int px = px0; px < px1; px++) {
            float cx = (float)px + 0.5f;
            /* Distance from the pixel centre to the nearest point of the segment. */
            float t = ((cx - x0) * dx + (cy - y0) * dy) * inv;
            t = t < 0.0f ? 0.0f : t > 1.0f ? 1.0f : t;
            float ex = cx - (x0 + t * dx), ey = cy - (y0 + t * dy);
            float d = sqrtf(ex * ex + ey * ey);
            float cover = r + 0.5f - d;
            if (cover <= 0.0f)
                continue;
            if (cover > 1.0f)
                cover = 1.0f;
            if (erase) {
                float keep = 1.0f - cover;
                if (row[px] > keep)
                    row[px] = keep;
            } else if (row[px] < cover) {
                row[px] = cover;
            }
        }
    }
    mark_dirty(c, px0, py0, px1, py1);
}

void nn_canvas_begin(nn_canvas *c, float x, float y, int erase)
{
    c->pen = erase ? -1 : 1;
    c->last_x = x;
    c->last_y = y;
    nn_canvas_segment(c, x, y, x, y, erase);
}

void nn_canvas_line_to(nn_canvas *c, float x, float y)
{
    if (!c->pen)
        return;
    nn_canvas_segment(c, c->last_x, c->last_y, x, y, c->pen < 0);
    c->last_x = x;
    c->last_y = y;
}

void nn_canvas_end(nn_canvas *c)
{
    c->pen = 0;
}
