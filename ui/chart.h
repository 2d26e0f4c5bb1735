/* Charts drawn into an off-screen grid of character cells.
 *
 * A canvas is a grid of cells, each subdivided into dots: 2x4 with braille
 * (U+2800..U+28FF), 2x2 with quadrant blocks, 1x3 with plain ASCII for
 * terminals that are not UTF-8.  Plotting sets dots and gives each cell the
 * colour of the highest layer drawn into it; the caller turns cells into
 * glyphs on whatever screen it has (ncurses, SDL, a test's string compare).
 * Nothing here knows about terminals. */
#ifndef UI_CHART_H
#define UI_CHART_H

#include <stddef.h>

enum ui_glyphs { UI_GLYPHS_BRAILLE, UI_GLYPHS_BLOCK, UI_GLYPHS_ASCII };

typedef struct ui_canvas {
    int w, h;               /* cells */
    int glyphs;             /* enum ui_glyphs */
    int sx, sy;             /* dots per cell across and down */
    unsigned char *dots;    /* w*h dot masks */
    unsigned char *color;   /* w*h: the highest colour layer set in the cell */
} ui_canvas;

int ui_canvas_init(ui_canvas *c, int w, int h, int glyphs);
void ui_canvas_free(ui_canvas *c);
/* Resize (keeping the allocation when it is large enough) and clear. */
int ui_canvas_resize(ui_canvas *c, int w, int h, int glyphs);
void ui_canvas_clear(ui_canvas *c);
/* Set the dot at (px, py), counted from the top left, with a colour layer;
 * a cell shows the highest layer any of its dots was set with. */
void ui_canvas_set(ui_canvas *c, int px, int py, int color);
void ui_canvas_line(ui_canvas *c, int x0, int y0, int x1, int y1, int color);
/* The cell's glyph as a UTF-8 (or ASCII) string; " " when empty. */
const char *ui_canvas_glyph(const ui_canvas *c, int x, int y);
int ui_canvas_color(const ui_canvas *c, int x, int y);
/* The same glyph as a Unicode code point; 0 when the cell is empty. */
unsigned ui_canvas_codepoint(const ui_canvas *c, int x, int y);

/* An axis: the data range it shows, linear or log10. */
typedef struct ui_axis {
    double lo, hi;
    int log;
} ui_axis;

/* Start an empty axis. */
void ui_axis_begin(ui_axis *a, int log);
/* Widen it over every finite value (every positive one on a log axis):
 * nothing is left out as an outlier. */
void ui_axis_fit(ui_axis *a, const float *v, int n);
void ui_axis_fit_value(ui_axis *a, double v);
/* Settle an axis after fitting: an empty or zero-width range gets a width. */
void ui_axis_finish(ui_axis *a);
/* Where v falls, 0 at lo and 1 at hi (outside when out of range); NAN for
 * values the axis cannot show (non-finite, or <= 0 on a log axis). */
double ui_axis_frac(const ui_axis *a, double v);
/* Up to max round tick values inside the axis (1-2-5 steps, or decades on
 * a log axis); returns how many. */
int ui_axis_ticks(const ui_axis *a, double *ticks, int max);

enum ui_plot_style {
    UI_PLOT_LINE,       /* consecutive points joined */
    UI_PLOT_POINTS      /* each point alone */
};

/* Plot n points on the canvas (points the axes cannot show are skipped,
 * and a line restarts after them). */
void ui_chart_plot(ui_canvas *c, const ui_axis *ax, const ui_axis *ay, const float *x, const float *y, int n,
                   int color, int style);
/* A dotted vertical line at x. */
void ui_chart_vline(ui_canvas *c, const ui_axis *ax, double x, int color);

/* A sparkline of n values in width cells: values are averaged into width
 * buckets (the newest on the right) and scaled between their min and max,
 * on a log scale if log.  Writes UTF-8 (or ASCII) into out. */
void ui_sparkline(const float *v, int n, int width, int log, int ascii, char *out, size_t len);
/* A bar of width cells filled to fraction f (0..1), with eighth-cell
 * resolution in UTF-8 and '#' in ASCII. */
void ui_bar(double f, int width, int ascii, char *out, size_t len);
/* A bar of width cells whose length is the position of v between lo and hi
 * on a log scale, with eighth-cell resolution in UTF-8. */
void ui_logbar(double v, double lo, double hi, int width, int ascii, char *out, size_t len);

#endif
