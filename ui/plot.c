/* Line charts into RGB images: anti-aliased lines, nice ticks, text from
 * stb_easy_font's quads, PNG files through stb_image_write (compiled here
 * with static linkage, so other files may include stb's headers freely). */
#include "plot.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STBI_WRITE_NO_STDIO
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wconversion"
#endif
#include <stb_easy_font.h>
#include <stb_image_write.h>

#define TEXT_LINE 12   /* stb_easy_font's line height at scale 1 */
#define TEXT_CAP 9     /* its glyphs' height above the baseline, descenders aside */

static const uint32_t ink = 0x202020, grid_rgb = 0xe4e4e4, frame_rgb = 0x606060;

int plot_image_new(plot_image *img, int width, int height, nn_error *err)
{
    memset(img, 0, sizeof *img);
    if (width < 1 || height < 1 || width > 16384 || height > 16384)
        return nn_error_set(err, NN_EINPUT, "plot: image size %dx%d out of range", width, height);
    img->rgb = malloc((size_t)width * (size_t)height * 3);
    if (!img->rgb)
        return nn_error_set(err, NN_ERUNTIME, "plot: out of memory");
    memset(img->rgb, 255, (size_t)width * (size_t)height * 3);
    img->width = width;
    img->height = height;
    return NN_OK;
}

void plot_image_free(plot_image *img)
{
    free(img->rgb);
    memset(img, 0, sizeof *img);
}

/* Blend colour rgb over pixel (x, y) with coverage a in [0, 1]. */
static void blend(plot_image *img, int x, int y, uint32_t rgb, float a)
{
    if (x < 0 || y < 0 || x >= img->width || y >= img->height || a <= 0)
        return;
    if (a > 1)
        a = 1;
    unsigned char *p = img->rgb + ((size_t)y * (size_t)img->width + (size_t)x) * 3;
    for (int c = 0; c < 3; c++) {
        float v = (float)((rgb >> (16 - 8 * c)) & 0xff);
        p[c] = (unsigned char)lrintf((float)p[c] * (1 - a) + v * a);
    }
}

static void fill_rect(plot_image *img, int x0, int y0, int x1, int y1, uint32_t rgb)
{
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            blend(img, x, y, rgb, 1);
}

typedef struct clip_rect {
    int x0, y0, x1, y1;
} clip_rect;

/* An anti-aliased segment of the given width: each pixel's coverage falls
 * off over one pixel at the edge of a capsule around the segment. */
static void draw_segment(plot_image *img, const clip_rect *clip, float ax, float ay, float bx, float by, float width,
                         uint32_t rgb)
{
    float r = width / 2;
    int x0 = (int)floorf(fminf(ax, bx) - r - 1), x1 = (int)ceilf(fmaxf(ax, bx) + r + 1);
    int y0 = (int)floorf(fminf(ay, by) - r - 1), y1 = (int)ceilf(fmaxf(ay, by) + r + 1);
    if (x0 < clip->x0)
        x0 = clip->x0;
    if (y0 < clip->y0)
        y0 = clip->y0;
    if (x1 > clip->x1)
        x1 = clip->x1;
    if (y1 > clip->y1)
        y1 = clip->y1;
    float dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            float px = (float)x + 0.5f - ax, py = (float)y + 0.5f - ay;
            float t = len2 > 0 ? (px * dx + py * dy) / len2 : 0;
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            float ex = px - t * dx, ey = py - t * dy;
            float d = sqrtf(ex * ex + ey * ey);
            blend(img, x, y, rgb, r + 0.5f - d);
        }
}

static void draw_dot(plot_image *img, const clip_rect *clip, float cx, float cy, float radius, uint32_t rgb)
{
    draw_segment(img, clip, cx, cy, cx, cy, 2 * radius, rgb);
}

/* ---- text ------------------------------------------------------------------ */

/* stb_easy_font knows printable ASCII only. */
static void ascii(const char *text, char *out, size_t len)
{
    size_t i = 0;
    for (; text[i] && i + 1 < len; i++)
        out[i] = text[i] >= 32 && text[i] < 127 ? text[i] : '?';
    out[i] = '\0';
}

int plot_text_width(const char *text, int scale)
{
    char buf[512];
    ascii(text, buf, sizeof buf);
    return stb_easy_font_width(buf) * scale;
}

int plot_text_height(int scale)
{
    return TEXT_CAP * scale;
}

void plot_text(plot_image *img, int x, int y, const char *text, uint32_t rgb, int scale, int vertical)
{
    char buf[512];
    ascii(text, buf, sizeof buf);
    /* ~270 bytes a character, by the header's own estimate. */
    static _Thread_local unsigned char quads[512 * 300];
    int n = stb_easy_font_print(0, 0, buf, NULL, quads, (int)sizeof quads);
    for (int q = 0; q < n; q++) {
        float v[4][2];
        for (int k = 0; k < 4; k++)
            memcpy(v[k], quads + (size_t)q * 64 + (size_t)k * 16, sizeof v[k]);
        int qx0 = (int)lrintf(v[0][0] * (float)scale), qy0 = (int)lrintf(v[0][1] * (float)scale);
        int qx1 = (int)lrintf(v[2][0] * (float)scale), qy1 = (int)lrintf(v[2][1] * (float)scale);
        if (!vertical)
            fill_rect(img, x + qx0, y + qy0, x + qx1, y + qy1, rgb);
        else /* rotated a quarter turn anticlockwise about (x, y) */
            fill_rect(img, x + qy0, y - qx1, x + qy1, y - qx0, rgb);
    }
}

/* ---- axes ------------------------------------------------------------------ */

static double nice_step(double range, int max)
{
    double raw = range / (max > 1 ? max - 1 : 1);
    double step = pow(10, floor(log10(raw)));
    double m = raw / step;
    return m > 5 ? 10 * step : m > 2 ? 5 * step : m > 1 ? 2 * step : step;
}

static int linear_ticks(double lo, double hi, int max, double *ticks)
{
    if (!(hi > lo) || max < 1)
        return 0;
    double step = nice_step(hi - lo, max);
    int n = 0;
    for (double k = ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9 && n < max + 1; k++) {
        double v = k * step;
        ticks[n++] = fabs(v) < step * 1e-9 ? 0 : v;
    }
    return n;
}

int plot_ticks(double lo, double hi, int log_scale, int max, double *ticks)
{
    if (!log_scale)
        return linear_ticks(lo, hi, max, ticks);
    if (!(lo > 0 && hi > lo))
        return 0;
    int d0 = (int)floor(log10(lo) + 1e-9), d1 = (int)ceil(log10(hi) - 1e-9);
    int decades = d1 - d0;
    static const double within[] = {1, 2, 5};
    int per = decades <= 3 ? 3 : 1;
    int n = 0;
    for (int d = d0; d <= d1; d++)
        for (int k = 0; k < per; k++) {
            double v = within[k] * pow(10, d);
            if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9) && n < 64)
                ticks[n++] = v;
        }
    if (n > max) { /* too many decades: every k-th power of ten */
        int every = (n + max - 1) / max, m = 0;
        for (int i = 0; i < n; i++) {
            int d = (int)lrint(log10(ticks[i]));
            if (d % every == 0)
                ticks[m++] = ticks[i];
        }
        n = m;
    }
    if (n < 2) /* within one decade: plain steps read better */
        n = linear_ticks(lo, hi, max, ticks);
    return n;
}

static void format_tick(double v, char *buf, size_t len)
{
    snprintf(buf, len, "%.6g", v);
}

typedef struct axes {
    int x0, y0, x1, y1;          /* plot area in pixels */
    double xlo, xhi, ylo, yhi;   /* data range (ylo/yhi as log10 when log_y) */
    int log_y;
} axes;

static float map_x(const axes *a, double x)
{
    return (float)(a->x0 + (x - a->xlo) / (a->xhi - a->xlo) * (a->x1 - a->x0));
}

static float map_y(const axes *a, double y)
{
    double t = a->log_y ? log10(y) : y;
    return (float)(a->y1 - (t - a->ylo) / (a->yhi - a->ylo) * (a->y1 - a->y0));
}

/* The data range of the chart's series (log: positive values only). */
static void data_range(const plot_chart *c, double *xlo, double *xhi, double *ylo, double *yhi)
{
    *xlo = *ylo = INFINITY;
    *xhi = *yhi = -INFINITY;
    for (int s = 0; s < c->n_series; s++) {
        const plot_series *ps = &c->series[s];
        for (int i = 0; i < ps->n; i++) {
            double x = ps->x[i], y = ps->y[i];
            if (!isfinite(x) || !isfinite(y) || (c->log_y && y <= 0))
                continue;
            *xlo = fmin(*xlo, x);
            *xhi = fmax(*xhi, x);
            *ylo = fmin(*ylo, y);
            *yhi = fmax(*yhi, y);
        }
    }
    if (!(*xlo <= *xhi)) {
        *xlo = 0;
        *xhi = 1;
    }
    if (!(*ylo <= *yhi)) {
        *ylo = c->log_y ? 0.1 : 0;
        *yhi = 1;
    }
    if (c->x_min < c->x_max) {
        *xlo = c->x_min;
        *xhi = c->x_max;
    }
    if (*xhi == *xlo) {
        *xlo -= 0.5;
        *xhi += 0.5;
    }
    if (c->y_min < c->y_max) {
        *ylo = c->y_min;
        *yhi = c->y_max;
    } else if (c->log_y) {
        *ylo /= *yhi > *ylo ? pow(*yhi / *ylo, 0.04) : 2;
        *yhi *= *yhi > *ylo ? pow(*yhi / *ylo, 0.04) : 2;
    } else {
        double pad = *yhi > *ylo ? 0.05 * (*yhi - *ylo) : (fabs(*ylo) > 0 ? 0.1 * fabs(*ylo) : 0.5);
        *ylo -= pad;
        *yhi += pad;
    }
}

static void draw_legend(plot_image *img, const axes *a, const plot_chart *c, int scale)
{
    int rows = 0, wmax = 0;
    for (int s = 0; s < c->n_series; s++)
        if (c->series[s].label) {
            rows++;
            int w = plot_text_width(c->series[s].label, scale);
            wmax = w > wmax ? w : wmax;
        }
    if (!rows)
        return;
    int pad = 6 * scale, sample = 16 * scale, row_h = TEXT_LINE * scale;
    int w = pad + sample + pad + wmax + pad, h = pad + rows * row_h + pad / 2;
    int lx = a->x1 - w - 8 * scale, ly = c->legend_bottom ? a->y1 - h - 8 * scale : a->y0 + 8 * scale;
    for (int y = ly; y < ly + h; y++)
        for (int x = lx; x < lx + w; x++)
            blend(img, x, y, 0xffffff, 0.9f);
    clip_rect all = {0, 0, img->width, img->height};
    draw_segment(img, &all, (float)lx, (float)ly, (float)(lx + w), (float)ly, 1, 0xb0b0b0);
    draw_segment(img, &all, (float)lx, (float)(ly + h), (float)(lx + w), (float)(ly + h), 1, 0xb0b0b0);
    draw_segment(img, &all, (float)lx, (float)ly, (float)lx, (float)(ly + h), 1, 0xb0b0b0);
    draw_segment(img, &all, (float)(lx + w), (float)ly, (float)(lx + w), (float)(ly + h), 1, 0xb0b0b0);
    int row = 0;
    for (int s = 0; s < c->n_series; s++) {
        const plot_series *ps = &c->series[s];
        if (!ps->label)
            continue;
        int ty = ly + pad + row * row_h;
        float cy = (float)ty + (float)plot_text_height(scale) / 2;
        float sx0 = (float)(lx + pad), sx1 = (float)(lx + pad + sample);
        if (ps->width > 0)
            draw_segment(img, &all, sx0, cy, sx1, cy, ps->width > 2 ? ps->width : 2, ps->rgb);
        if (ps->markers)
            draw_dot(img, &all, (sx0 + sx1) / 2, cy, 3.5f, ps->rgb);
        plot_text(img, lx + pad + sample + pad, ty, ps->label, ink, scale, 0);
        row++;
    }
}

void plot_draw_chart(plot_image *img, int x, int y, int w, int h, const plot_chart *c)
{
    int scale = w >= 500 && h >= 300 ? 2 : 1;
    int th = plot_text_height(scale);
    double xlo, xhi, ylo, yhi;
    data_range(c, &xlo, &xhi, &ylo, &yhi);
    double yt[70], xt[70];
    int ny = plot_ticks(ylo, yhi, c->log_y, 8, yt);
    int nx = plot_ticks(xlo, xhi, 0, 10, xt);
    char buf[64];
    int ylab_w = 0;
    for (int i = 0; i < ny; i++) {
        format_tick(yt[i], buf, sizeof buf);
        int tw = plot_text_width(buf, scale);
        ylab_w = tw > ylab_w ? tw : ylab_w;
    }
    axes a;
    a.x0 = x + 10 * scale + (c->y_label ? th + 10 * scale : 0) + ylab_w + 8 * scale;
    a.x1 = x + w - 12 * scale;
    a.y0 = y + (c->title ? th + 14 * scale : 8 * scale);
    a.y1 = y + h - (th + 12 * scale) - (c->x_label ? th + 10 * scale : 0);
    a.xlo = xlo;
    a.xhi = xhi;
    a.log_y = c->log_y;
    a.ylo = c->log_y ? log10(ylo) : ylo;
    a.yhi = c->log_y ? log10(yhi) : yhi;
    if (a.x1 - a.x0 < 20 || a.y1 - a.y0 < 20)
        return;
    clip_rect all = {0, 0, img->width, img->height};
    clip_rect area = {a.x0, a.y0, a.x1 + 1, a.y1 + 1};

    /* grid, ticks and tick labels */
    for (int i = 0; i < ny; i++) {
        float py = roundf(map_y(&a, yt[i])) + 0.5f;
        draw_segment(img, &area, (float)a.x0, py, (float)a.x1, py, 1, grid_rgb);
        draw_segment(img, &all, (float)(a.x0 - 5 * scale), py, (float)a.x0, py, 1, frame_rgb);
        format_tick(yt[i], buf, sizeof buf);
        plot_text(img, a.x0 - 8 * scale - plot_text_width(buf, scale), (int)py - th / 2, buf, ink, scale, 0);
    }
    for (int i = 0; i < nx; i++) {
        float px = roundf(map_x(&a, xt[i])) + 0.5f;
        draw_segment(img, &area, px, (float)a.y0, px, (float)a.y1, 1, grid_rgb);
        draw_segment(img, &all, px, (float)a.y1, px, (float)(a.y1 + 5 * scale), 1, frame_rgb);
        format_tick(xt[i], buf, sizeof buf);
        plot_text(img, (int)px - plot_text_width(buf, scale) / 2, a.y1 + 8 * scale, buf, ink, scale, 0);
    }
    /* frame */
    float fx0 = (float)a.x0 + 0.5f, fx1 = (float)a.x1 + 0.5f, fy0 = (float)a.y0 + 0.5f, fy1 = (float)a.y1 + 0.5f;
    draw_segment(img, &all, fx0, fy0, fx1, fy0, 1, frame_rgb);
    draw_segment(img, &all, fx0, fy1, fx1, fy1, 1, frame_rgb);
    draw_segment(img, &all, fx0, fy0, fx0, fy1, 1, frame_rgb);
    draw_segment(img, &all, fx1, fy0, fx1, fy1, 1, frame_rgb);

    /* series, in order, so later ones draw on top */
    for (int s = 0; s < c->n_series; s++) {
        const plot_series *ps = &c->series[s];
        int have = 0;
        float px = 0, py = 0;
        for (int i = 0; i < ps->n; i++) {
            double vx = ps->x[i], vy = ps->y[i];
            if (!isfinite(vx) || !isfinite(vy) || (c->log_y && vy <= 0)) {
                have = 0;
                continue;
            }
            float qx = map_x(&a, vx), qy = map_y(&a, vy);
            if (have && ps->width > 0)
                draw_segment(img, &area, px, py, qx, qy, ps->width, ps->rgb);
            px = qx;
            py = qy;
            have = 1;
        }
        if (ps->markers)
            for (int i = 0; i < ps->n; i++)
                if (isfinite(ps->x[i]) && isfinite(ps->y[i]) && !(c->log_y && ps->y[i] <= 0))
                    draw_dot(img, &area, map_x(&a, ps->x[i]), map_y(&a, ps->y[i]), 2.5f * (float)scale, ps->rgb);
    }

    /* title and axis labels */
    if (c->title)
        plot_text(img, (a.x0 + a.x1) / 2 - plot_text_width(c->title, scale) / 2, y + 6 * scale, c->title, ink, scale,
                  0);
    if (c->x_label)
        plot_text(img, (a.x0 + a.x1) / 2 - plot_text_width(c->x_label, scale) / 2, a.y1 + th + 20 * scale,
                  c->x_label, ink, scale, 0);
    if (c->y_label)
        plot_text(img, x + 8 * scale, (a.y0 + a.y1) / 2 + plot_text_width(c->y_label, scale) / 2, c->y_label, ink,
                  scale, 1);
    draw_legend(img, &a, c, scale);
}

/* ---- files ------------------------------------------------------------------ */

typedef struct png_sink {
    FILE *f;
    int failed;
} png_sink;

static void write_bytes(void *ctx, void *data, int size)
{
    png_sink *sink = ctx;
    if (!sink->failed && fwrite(data, 1, (size_t)size, sink->f) != (size_t)size)
        sink->failed = 1;
}

int plot_image_write_png(const plot_image *img, const char *path, nn_error *err)
{
    png_sink sink = {fopen(path, "wb"), 0};
    if (!sink.f)
        return nn_error_set(err, NN_ERUNTIME, "%s: cannot write: %s", path, strerror(errno));
    int ok = stbi_write_png_to_func(write_bytes, &sink, img->width, img->height, 3, img->rgb, img->width * 3);
    int closed = fclose(sink.f) == 0;
    if (!ok || sink.failed || !closed) {
        remove(path);
        return nn_error_set(err, NN_ERUNTIME, "%s: error writing the PNG file", path);
    }
    return NN_OK;
}
