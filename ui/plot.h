/* Line charts rendered to PNG images, with axes, ticks, labels and a
 * legend, for `--plot FILE.png`.  Needs neither ncurses nor SDL, so headless
 * builds have it: text comes from stb_easy_font, files from stb_image_write.
 *
 * A chart is drawn into a rectangle of an RGB image, so one image can hold
 * several charts side by side. */
#ifndef UI_PLOT_H
#define UI_PLOT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define PLOT_MAX_SERIES 12

/* One curve: n points (x[i], y[i]); a NaN y leaves a gap. */
typedef struct plot_series {
    const char *label;     /* legend text; NULL keeps it out of the legend */
    const double *x, *y;
    int n;
    uint32_t rgb;          /* 0xRRGGBB */
    float width;           /* line width in pixels; 0 draws no line */
    int markers;           /* 1: a dot on every point */
} plot_series;

typedef struct plot_chart {
    const char *title, *x_label, *y_label;
    int log_y;             /* logarithmic y axis (non-positive values are skipped) */
    double y_min, y_max;   /* fixed y range when y_min < y_max, else fitted to the data */
    double x_min, x_max;   /* fixed x range when x_min < x_max, else fitted to the data */
    int legend_bottom;     /* legend in the bottom right corner instead of the top right */
    int n_series;
    plot_series series[PLOT_MAX_SERIES];
} plot_chart;

typedef struct plot_image {
    int width, height;
    unsigned char *rgb;    /* width * height * 3, rows top to bottom */
} plot_image;

/* A white image. */
int plot_image_new(plot_image *img, int width, int height, nn_error *err);
void plot_image_free(plot_image *img);
/* Draw chart c into the rectangle (x, y, w, h) of img. */
void plot_draw_chart(plot_image *img, int x, int y, int w, int h, const plot_chart *c);
/* Write img as a PNG file. */
int plot_image_write_png(const plot_image *img, const char *path, nn_error *err);

/* Text at (x, y) (top left) in pixels of `scale` times stb_easy_font's size;
 * vertical text reads bottom to top with (x, y) its bottom left. */
void plot_text(plot_image *img, int x, int y, const char *text, uint32_t rgb, int scale, int vertical);
/* Width and height of text in pixels at scale. */
int plot_text_width(const char *text, int scale);
int plot_text_height(int scale);

/* Tick positions for an axis from lo to hi: at most max ticks at 1, 2 or 5
 * times a power of ten (log: powers of ten, with 2 and 5 between them when
 * the range spans few decades).  Returns the count written to ticks. */
int plot_ticks(double lo, double hi, int log_scale, int max, double *ticks);

/* The curves of one training run, as `train --plot` draws them. */
typedef struct plot_run {
    const char *title;            /* "mlp on data/mnist-small: momentum lr=0.1 ..." */
    int steps_per_epoch;
    long n_steps;                 /* per-step figures, step 1..n_steps */
    const float *step_loss;
    const float *step_accuracy;   /* batch accuracy, 0..1 (NaN: none) */
    int n_epochs;                 /* per-epoch figures, after epoch 1..n_epochs */
    const double *train_loss, *train_accuracy, *test_loss, *test_accuracy;
} plot_run;

/* Loss (left) and accuracy (right) against epochs, into a PNG file. */
int plot_training_png(const char *path, const plot_run *run, nn_error *err);

#endif
