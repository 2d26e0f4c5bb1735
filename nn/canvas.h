/* The drawing canvas: a grey ink image and the round, anti-aliased brush the
 * pad and `predict --strokes` draw with, so a drawing looks the same to the
 * network whichever way it arrived.
 *
 * The canvas is NN_CANVAS_SIZE logical pixels square (ten per MNIST pixel);
 * a stroke is a polyline whose segments are swept with a disc of
 * NN_CANVAS_BRUSH_RADIUS, so strokes are continuous however fast the mouse
 * moved.  Ink is in [0,1], 1 = full ink, and overlapping dabs take the
 * maximum rather than adding up, so slow strokes are not darker than fast
 * ones. */
#ifndef NN_CANVAS_H
#define NN_CANVAS_H

#include "error.h"

#define NN_CANVAS_SIZE 280          /* logical pixels a side */
#define NN_CANVAS_BRUSH_RADIUS 13.0f /* pixels; lands 2-3 px wide at 28x28 */
#define NN_CANVAS_ERASER_SCALE 2.0f  /* the eraser is this much wider */

typedef struct nn_canvas {
    int width, height;
    float radius;          /* brush radius in canvas pixels */
    float *ink;            /* width * height, row-major, 0 = blank, 1 = ink */
    int pen;               /* 0 up, 1 drawing, -1 erasing */
    float last_x, last_y;  /* end of the stroke so far */
    long version;          /* bumped on every change, for cheap redraw checks */
    int dirty_x0, dirty_y0, dirty_x1, dirty_y1; /* changed since nn_canvas_take_dirty */
} nn_canvas;

/* Allocate a blank width x height canvas with the default brush. */
int nn_canvas_new(nn_canvas *c, int width, int height, nn_error *err);
void nn_canvas_free(nn_canvas *c);
/* Wipe all ink. */
void nn_canvas_clear(nn_canvas *c);
/* 1 if no pixel holds ink. */
int nn_canvas_blank(const nn_canvas *c);

/* Put the pen down at (x, y) in canvas pixels and leave a dab there;
 * erase: 1 removes ink instead of laying it. */
void nn_canvas_begin(nn_canvas *c, float x, float y, int erase);
/* Continue the stroke with a segment to (x, y); does nothing if the pen is up. */
void nn_canvas_line_to(nn_canvas *c, float x, float y);
/* Lift the pen. */
void nn_canvas_end(nn_canvas *c);

/* Sweep the brush along the segment (x0,y0)-(x1,y1) without touching the
 * pen state; erase as above. */
void nn_canvas_segment(nn_canvas *c, float x0, float y0, float x1, float y1, int erase);

/* The rectangle [x0,x1) x [y0,y1) changed since the last call (empty when
 * x0 >= x1), and start collecting afresh. */
void nn_canvas_take_dirty(nn_canvas *c, int *x0, int *y0, int *x1, int *y1);

#endif
