/* Strokes files (SPEC §6): drawings given as pen strokes, for
 * `nnlab predict --strokes` and for test sets of drawn digits.
 *
 *     # a seven                   comments run from # to the end of a line
 *     0.2,0.2 0.8,0.2 0.45,0.9    one stroke: x,y pairs in [0,1], origin top left
 *     =                           a line holding only = ends a drawing
 *
 * Blank lines are ignored.  A drawing with no strokes is blank.  Text after
 * the last `=` that holds strokes is one more drawing.  Each drawing is
 * rendered with the pad's own brush on a canvas of the pad's size, so a
 * file looks to the network exactly as the same strokes drawn by hand. */
#ifndef NN_STROKES_H
#define NN_STROKES_H

#include "canvas.h"
#include "error.h"

#define NN_STROKES_MAX_BYTES (64 << 20) /* larger files are refused */

typedef struct nn_point {
    float x, y; /* in [0,1], origin top left */
} nn_point;

typedef struct nn_stroke {
    int n_points;
    nn_point *points;
} nn_stroke;

typedef struct nn_drawing {
    int line;        /* where it starts in the file, for messages */
    int n_strokes;
    nn_stroke *strokes;
} nn_drawing;

typedef struct nn_strokes {
    int n_drawings;
    nn_drawing *drawings;
    nn_stroke *all_strokes; /* every stroke, drawing by drawing */
    nn_point *storage;      /* every point of every stroke */
} nn_strokes;

/* Parse strokes text; source names it in messages, which read
 * "source:line:column: what was expected". */
int nn_strokes_parse(nn_strokes *s, const char *text, const char *source, nn_error *err);
/* Read and parse a strokes file. */
int nn_strokes_load(nn_strokes *s, const char *path, nn_error *err);
void nn_strokes_free(nn_strokes *s);

/* Clear the canvas and draw the drawing on it, each stroke as the pad would
 * (a single point is a dot). */
void nn_strokes_render(const nn_drawing *d, nn_canvas *c);

#endif
