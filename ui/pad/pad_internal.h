/* The pad's state, shared by its input handling (pad.c), its drawing
 * (pad_draw.c) and its weight and latent views (pad_views.c).  Private to
 * ui/pad. */
#ifndef PAD_INTERNAL_H
#define PAD_INTERNAL_H

#include <SDL.h>

#include "canvas.h"
#include "monitor.h"
#include "pad.h"
#include "predictor.h"
#include "preprocess.h"
#include "text.h"

/* The layout, in logical pixels; SDL scales it to the window. */
#define PAD_W 1040
#define PAD_H 640
#define PAD_CANVAS_X 20
#define PAD_CANVAS_Y 56
#define PAD_CANVAS_ZOOM 2 /* logical pixels per canvas pixel */
#define PAD_SIDE_X 604    /* the right-hand column */

enum pad_font_id { FONT_SMALL, FONT_NORMAL, FONT_LARGE, FONT_HUGE, FONT_COUNT };

enum pad_view { VIEW_CANVAS, VIEW_WEIGHTS };

/* The panels, as bits of what needs drawing again. */
enum pad_panel {
    PANEL_HEADER = 1,
    PANEL_LEFT = 2,        /* the canvas or the weights view */
    PANEL_PREDICTION = 4,  /* the 28x28 input and the top class */
    PANEL_BARS = 8,
    PANEL_TRAINER = 16,
    PANEL_FOOTER = 32,
    PANEL_ALL = 63
};

struct pad {
    pad_config cfg;
    SDL_Window *window;
    SDL_Renderer *renderer;
    int x11_fd;                   /* the X display connection, or -1 */
    unsigned char *ttf;           /* the font file, kept for re-baking */
    pad_font fonts[FONT_COUNT];
    float scale;                  /* output pixels per logical pixel */
    SDL_Texture *canvas_tex, *seen_tex, *weights_tex;
    int weights_tex_w, weights_tex_h;

    nn_canvas canvas;
    long canvas_seen;             /* canvas version last classified */
    nn_predictor predictor;
    nn_monitor *monitor;          /* NULL without a session */
    float *weights;               /* snapshot buffer */
    long weights_version;
    long weights_shown;           /* version the weights view was built from */

    /* the latest classification */
    float seen[NN_MNIST_SIDE * NN_MNIST_SIDE];
    float probs[NN_PREDICTOR_MAX_CLASSES];
    int label;                    /* -1: blank canvas */
    nn_preprocess_info info;
    long predictions;

    /* the trainer, as last read */
    nn_run_status status;
    long status_version;
    double last_status_read;
    double test_accuracy;         /* last evaluation, < 0 none */
    long eval_version;

    int view;                     /* enum pad_view */
    int show_help;
    char message[128];            /* a transient note at the bottom */
    double message_until;
    int damage;                   /* panels to draw again now */
    int stale_prediction;         /* panels new weights changed: draw soon */
    int stale_status;             /* panels the trainer's figures changed: draw soon */
    double prediction_shown, status_shown; /* when they were last drawn */
    int shown;                    /* the first frame is out */
    int partial;                  /* the renderer draws into the window's own pixels,
                                     so panels can be drawn and shown alone */
    int left_full;                /* the left panel needs drawing whole, not just
                                     the part of the canvas a stroke changed */

    /* latency of drawing changes: when the oldest unshown event arrived */
    double pending_since;         /* pad_now() seconds */
    int pending;
    long canvas_uploaded, seen_uploaded; /* versions in the textures */
    double latency[PAD_LATENCY_SAMPLES];
    long latency_count;
    double classify_ms, render_ms; /* the last update's preprocessing + inference, and drawing */
    double render_cpu_ms;         /* the drawing's CPU time on this thread */
    double start;
};

/* Seconds on a monotonic clock. */
double pad_now(void);

/* Draw the damaged panels (enum pad_panel bits) and show them (pad_draw.c). */
void pad_render(pad *p, int damage);
/* Rebuild the weights view's texture from the predictor's weights
 * (pad_views.c); returns 0 or an SDL error. */
int pad_build_weights(pad *p);
/* A line describing the weights view, for its caption. */
void pad_weights_caption(const pad *p, char *buf, size_t len);

#endif
