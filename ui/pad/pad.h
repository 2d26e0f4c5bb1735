/* The drawing pad: an SDL2 window to draw a digit in and watch the
 * network's prediction, live while it trains or on a saved model.
 *
 * The pad runs on the main thread.  It classifies on its own single-sample
 * copy of the model (nn/predictor.h), refreshed from the trainer's weight
 * snapshots, and steers training only through the session's commands, so
 * it never touches the trainer's graph.  A caller's loop calls pad_update,
 * which waits for input at most the given time, so the same loop can also
 * serve the terminal dashboard.
 *
 *     pad *p;
 *     pad_open(&p, &cfg, &err);
 *     while (pad_update(p, 10) != PAD_QUIT)
 *         ;
 *     pad_close(p); */
#ifndef PAD_PAD_H
#define PAD_PAD_H

#include <stddef.h>
#include <stdio.h>

#include "error.h"
#include "session.h"
#include "spec.h"

#define PAD_LATENCY_SAMPLES 4096

typedef struct pad pad;

typedef struct pad_config {
    const char *title;         /* model name for the header */
    const char *font_path;     /* a TrueType font */
    const nn_spec *spec;       /* the model; borrowed */
    nn_session *session;       /* live training, or NULL for a saved model */
    const float *params;       /* a saved model's weights (session NULL) */
    size_t n_params;
    const struct nn_checkpoint *model_file; /* a saved model: a quantised one runs its int8 layers */
    const char *about;         /* under the state, e.g. a saved model's test accuracy; up to 3
                                   lines split at '\n' */
    FILE *events;              /* JSON Lines of predictions and key presses, or NULL */
    int width, height;         /* initial window size in screen pixels; 0 for the default */
    int big;                   /* 1: a large readout of the prediction and accuracy (a projector) */
} pad_config;

enum pad_result {
    PAD_CONTINUE,
    PAD_QUIT,     /* q: the user wants to stop altogether */
    PAD_CLOSED    /* the window was closed */
};

/* Latency from a mouse event to the updated bars on screen, over the
 * drawing changes the pad has seen. */
typedef struct pad_stats {
    long predictions;          /* classifications run, for any reason */
    long samples;              /* drawing changes timed */
    double mean_ms, p50_ms, p95_ms, max_ms;
} pad_stats;

/* 1 if a window can probably be opened here (an X11 or Wayland display). */
int pad_display_available(void);
/* Open the window; errors (no display, no font) are in err. */
int pad_open(pad **out, const pad_config *cfg, nn_error *err);
/* Close the window and free everything. */
void pad_close(pad *p);
/* Wait up to timeout_ms for input, handle it, classify again if the drawing
 * or the weights changed, and redraw what changed.  Returns an enum
 * pad_result. */
int pad_update(pad *p, int timeout_ms);
/* Switch the left panel to a view: "latent" (a model with a 2-D code),
 * "weights" or "draw"; returns 0, or -1 if the model has no such view. */
int pad_show(pad *p, const char *view);
/* Latency figures so far. */
void pad_get_stats(const pad *p, pad_stats *out);

#endif
