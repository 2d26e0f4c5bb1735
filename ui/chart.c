/* Dot canvases, axes, sparklines and bars (see chart.h). */
#include "chart.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- canvas ---------------------------------------------------------------- */

static void dots_per_cell(int glyphs, int *sx, int *sy)
{
    switch (glyphs) {
    case UI_GLYPHS_BRAILLE:
        *sx = 2, *sy = 4;
        break;
    case UI_GLYPHS_BLOCK:
        *sx = 2, *sy = 2;
        break;
    default:
        *sx = 1, *sy = 3;
        break;
    }
}

int ui_canvas_init(ui_canvas *c, int w, int h, int glyphs)
{
    memset(c, 0, sizeof *c);
    return ui_canvas_resize(c, w, h, glyphs);
}

void ui_canvas_free(ui_canvas *c)
{
    free(c->dots);
    free(c->color);
    memset(c, 0, sizeof *c);
}

int ui_canvas_resize(ui_canvas *c, int w, int h, int glyphs)
{
    if (w < 0)
        w = 0;
    if (h < 0)
        h = 0;
    size_t need = (size_t)w * (size_t)h, have = (size_t)c->w * (size_t)c->h;
    if (need > have || !c->dots) {
        unsigned char *dots = realloc(c->dots, need + 1), *color;
        if (!dots)
            return -1;
        c->dots = dots;
        color = realloc(c->color, need + 1);
        if (!color)
            return -1;
        c->color = color;
    }
    c->w = w;
    c->h = h;
    c->glyphs = glyphs;
    dots_per_cell(glyphs, &c->sx, &c->sy);
    ui_canvas_clear(c);
    return 0;
}

void ui_canvas_clear(ui_canvas *c)
{
    size_t n = (size_t)c->w * (size_t)c->h;
    memset(c->dots, 0, n);
    memset(c->color, 0, n);
}

/* Braille dot bits by (column, row) within a cell: dots 1-2-3-7 down the
 * left column, 4-5-6-8 down the right. */
static const unsigned char braille_bit[2][4] = {{0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}};

void ui_canvas_set(ui_canvas *c, int px, int py, int color)
{
    if (px < 0 || py < 0 || px >= c->w * c->sx || py >= c->h * c->sy)
        return;
    int cx = px / c->sx, cy = py / c->sy, dx = px % c->sx, dy = py % c->sy;
    size_t i = (size_t)cy * (size_t)c->w + (size_t)cx;
    unsigned char bit;
    if (c->glyphs == UI_GLYPHS_BRAILLE)
        bit = braille_bit[dx][dy];
    else /* row-major bits: block 2x2 (1 2 / 4 8), ASCII 1x3 (1 2 4 top down) */
        bit = (unsigned char)(1u << (dy * c->sx + dx));
    c->dots[i] |= bit;
    if (color >= c->color[i])
        c->color[i] = (unsigned char)color;
}

void ui_canvas_line(ui_canvas *c, int x0, int y0, int x1, int y1, int color)
{
    int dx = abs(x1 - x0), dy = -abs(y1 - y0);
    int stepx = x0 < x1 ? 1 : -1, stepy = y0 < y1 ? 1 : -1;
    int e = dx + dy;
    for (;;) {
        ui_canvas_set(c, x0, y0, color);
        if (x0 == x1 && y0 == y1)
            break;
        int e2 = 2 * e;
        if (e2 >= dy) {
            e += dy;
            x0 += stepx;
        }
        if (e2 <= dx) {
            e += dx;
            y0 += stepy;
        }
    }
}

/* Quadrant blocks indexed by the 2x2 mask (bit 1 top left, 2 top right,
 * 4 bottom left, 8 bottom right). */
static const char *const block_glyph[16] = {
    " ", "\u2598", "\u259d", "\u2580", "\u2596", "\u258c", "\u259e", "\u259b",
    "\u2597", "\u259a", "\u2590", "\u259c", "\u2584", "\u2599", "\u259f", "\u2588",
};

/* ASCII by the 1x3 mask (bit 1 top, 2 middle, 4 bottom). */
static const char *const ascii_glyph[8] = {" ", "'", "-", "|", ".", ":", "|", "|"};

const char *ui_canvas_glyph(const ui_canvas *c, int x, int y)
{
    static char braille[256][4];
    static int braille_ready;
    unsigned mask = c->dots[(size_t)y * (size_t)c->w + (size_t)x];
    if (!mask)
        return " ";
    switch (c->glyphs) {
    case UI_GLYPHS_BRAILLE:
        if (!braille_ready) {
            for (unsigned m = 0; m < 256; m++) { /* U+2800 + m in UTF-8 */
                unsigned cp = 0x2800 + m;
                braille[m][0] = (char)(0xE0 | cp >> 12);
                braille[m][1] = (char)(0x80 | (cp >> 6 & 0x3F));
                braille[m][2] = (char)(0x80 | (cp & 0x3F));
                braille[m][3] = 0;
            }
            braille_ready = 1;
        }
        return braille[mask];
    case UI_GLYPHS_BLOCK:
        return block_glyph[mask & 15];
    default:
        return ascii_glyph[mask & 7];
    }
}

unsigned ui_canvas_codepoint(const ui_canvas *c, int x, int y)
{
    static const unsigned short block_cp[16] = {0x20,   0x2598, 0x259d, 0x2580, 0x2596, 0x258c, 0x259e, 0x259b,
                                                0x2597, 0x259a, 0x2590, 0x259c, 0x2584, 0x2599, 0x259f, 0x2588};
    unsigned mask = c->dots[(size_t)y * (size_t)c->w + (size_t)x];
    if (!mask)
        return 0;
    switch (c->glyphs) {
    case UI_GLYPHS_BRAILLE:
        return 0x2800 + mask;
    case UI_GLYPHS_BLOCK:
        return block_cp[mask & 15];
    default:
        return (unsigned char)ascii_glyph[mask & 7][0];
    }
}

int ui_canvas_color(const ui_canvas *c, int x, int y)
{
    return c->color[(size_t)y * (size_t)c->w + (size_t)x];
}

/* ---- axes ------------------------------------------------------------------ */

void ui_axis_begin(ui_axis *a, int log)
{
    a->lo = INFINITY;
    a->hi = -INFINITY;
    a->log = log;
}

void ui_axis_fit_value(ui_axis *a, double v)
{
    if (!isfinite(v) || (a->log && v <= 0))
        return;
    if (v < a->lo)
        a->lo = v;
    if (v > a->hi)
        a->hi = v;
}

void ui_axis_fit(ui_axis *a, const float *v, int n)
{
    for (int i = 0; i < n; i++)
        ui_axis_fit_value(a, v[i]);
}

void ui_axis_finish(ui_axis *a)
{
    if (!(a->lo <= a->hi)) { /* nothing fitted */
        a->lo = a->log ? 0.1 : 0;
        a->hi = 1;
    } else if (a->lo == a->hi) {
        if (a->log) {
            a->lo /= 2;
            a->hi *= 2;
        } else {
            double pad = a->lo != 0 ? fabs(a->lo) * 0.5 : 0.5;
            a->lo -= pad;
            a->hi += pad;
        }
    }
}

double ui_axis_frac(const ui_axis *a, double v)
{
    if (!isfinite(v))
        return NAN;
    if (a->log) {
        if (v <= 0)
            return NAN;
        return (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
    }
    return (v - a->lo) / (a->hi - a->lo);
}

int ui_axis_ticks(const ui_axis *a, double *ticks, int max)
{
    int n = 0;
    if (max <= 0)
        return 0;
    if (a->log) {
        double first = ceil(log10(a->lo) - 1e-9), last = floor(log10(a->hi) + 1e-9);
        double step = ceil((last - first + 1) / max);
        if (step < 1)
            step = 1;
        for (double e = first; e <= last && n < max; e += step)
            ticks[n++] = pow(10, e);
        return n;
    }
    double span = a->hi - a->lo;
    double raw = span / max;
    double mag = pow(10, floor(log10(raw)));
    double step = mag;
    if (raw > 5 * mag)
        step = 10 * mag;
    else if (raw > 2 * mag)
        step = 5 * mag;
    else if (raw > mag)
        step = 2 * mag;
    for (double t = ceil(a->lo / step - 1e-9) * step; t <= a->hi + step * 1e-9 && n < max; t += step)
        ticks[n++] = fabs(t) < step * 1e-9 ? 0 : t;
    return n;
}

/* ---- plotting -------------------------------------------------------------- */

void ui_chart_plot(ui_canvas *c, const ui_axis *ax, const ui_axis *ay, const float *x, const float *y, int n,
                   int color, int style)
{
    int width = c->w * c->sx, height = c->h * c->sy;
    if (width <= 0 || height <= 0)
        return;
    int have_prev = 0, px0 = 0, py0 = 0;
    for (int i = 0; i < n; i++) {
        double fx = ui_axis_frac(ax, x[i]), fy = ui_axis_frac(ay, y[i]);
        if (isnan(fx) || isnan(fy)) {
            have_prev = 0;
            continue;
        }
        /* Clamped to the edges so that a line leaving the range still shows. */
        if (fx < -1)
            fx = -1;
        if (fx > 2)
            fx = 2;
        if (fy < -1)
            fy = -1;
        if (fy > 2)
            fy = 2;
        int px = (int)lround(fx * (width - 1));
        int py = (int)lround((1 - fy) * (height - 1));
        if (style == UI_PLOT_LINE && have_prev)
            ui_canvas_line(c, px0, py0, px, py, color);
        else
            ui_canvas_set(c, px, py, color);
        have_prev = 1;
        px0 = px;
        py0 = py;
    }
}

void ui_chart_vline(ui_canvas *c, const ui_axis *ax, double x, int color)
{
    int width = c->w * c->sx, height = c->h * c->sy;
    double fx = ui_axis_frac(ax, x);
    if (isnan(fx) || fx < 0 || fx > 1 || width <= 0)
        return;
    int px = (int)lround(fx * (width - 1));
    for (int py = 0; py < height; py += 2)
        ui_canvas_set(c, px, py, color);
}

/* ---- sparklines and bars ----------------------------------------------------- */

static void append(char *out, size_t len, size_t *at, const char *s)
{
    size_t n = strlen(s);
    if (*at + n < len) {
        memcpy(out + *at, s, n);
        *at += n;
        out[*at] = 0;
    }
}

void ui_sparkline(const float *v, int n, int width, int log, int ascii, char *out, size_t len)
{
    static const char *const bars[8] = {"\u2581", "\u2582", "\u2583", "\u2584",
                                        "\u2585", "\u2586", "\u2587", "\u2588"};
    static const char *const ascii_bars[8] = {"_", ".", "-", "~", "=", "+", "*", "#"};
    size_t at = 0;
    if (len)
        out[0] = 0;
    if (width <= 0)
        return;
    double bucket[512];
    int filled[512];
    if (width > 512)
        width = 512;
    /* The newest points fill the right; with fewer points than cells the
     * line starts part way. */
    int cells = n < width ? n : width;
    double lo = INFINITY, hi = -INFINITY;
    for (int b = 0; b < cells; b++) {
        long from = (long)((double)b * n / cells), to = (long)((double)(b + 1) * n / cells);
        double sum = 0;
        int count = 0;
        for (long i = from; i < to; i++) {
            double y = v[i];
            if (!isfinite(y) || (log && y <= 0))
                continue;
            sum += log ? log10(y) : y;
            count++;
        }
        filled[b] = count > 0;
        bucket[b] = count ? sum / count : 0;
        if (count) {
            if (bucket[b] < lo)
                lo = bucket[b];
            if (bucket[b] > hi)
                hi = bucket[b];
        }
    }
    for (int b = 0; b < width - cells; b++)
        append(out, len, &at, " ");
    for (int b = 0; b < cells; b++) {
        if (!filled[b]) {
            append(out, len, &at, " ");
            continue;
        }
        int level = hi > lo ? (int)lround((bucket[b] - lo) / (hi - lo) * 7) : 3;
        append(out, len, &at, ascii ? ascii_bars[level] : bars[level]);
    }
}

void ui_bar(double f, int width, int ascii, char *out, size_t len)
{
    static const char *const eighths[8] = {"", "\u258f", "\u258e", "\u258d", "\u258c", "\u258b", "\u258a", "\u2589"};
    size_t at = 0;
    if (len)
        out[0] = 0;
    if (!(f > 0))
        f = 0;
    if (f > 1)
        f = 1;
    int units = (int)lround(f * width * 8);
    int full = units / 8, part = units % 8, used = 0;
    for (int i = 0; i < full; i++, used++)
        append(out, len, &at, ascii ? "#" : "\u2588");
    if (part && used < width) {
        append(out, len, &at, ascii ? (part >= 4 ? "=" : "-") : eighths[part]);
        used++;
    }
    for (; used < width; used++)
        append(out, len, &at, ascii ? "." : " ");
}

void ui_logbar(double v, double lo, double hi, int width, int ascii, char *out, size_t len)
{
    double f = 0;
    if (isfinite(v) && v > 0)
        f = (log10(v) - log10(lo)) / (log10(hi) - log10(lo));
    else if (isinf(v) && v > 0)
        f = 1;
    ui_bar(f, width, ascii, out, len);
}
