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

enum pad_font_id { FONT_SMALL, FONT_NORMAL, FONT_LARGE, FONT_HUGE, FONT_BIG, FONT_COUNT }; /* FONT_BIG: the projector readout */

/* A model with a 2-D latent code (the vae preset) gets the latent-space
 * explorer instead of the canvas: a grid of PAD_GRID x PAD_GRID decoded
 * samples, and the digit decoded at the pointer. */
#define PAD_GRID 15

enum pad_view { VIEW_CANVAS, VIEW_WEIGHTS, VIEW_LATENT };

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
    nn_predictor predictor;       /* a classifier's single-sample copy */
    int vae;                      /* the model decodes a 2-D latent code instead */
    nn_graph decoder;             /* vae: the model for a grid of samples, own weights */
    SDL_Texture *grid_tex, *decoded_tex;
    long grid_version;            /* weights version the grid was decoded with */
    double grid_built;
    int pointing;                 /* the pointer is over the latent plane */
    float latent_u, latent_v;     /* where, as fractions of the plane */
    int latent_pending;           /* it moved since the last decode */
    float z[2];                   /* the code under the pointer */
    float decoded[NN_MNIST_SIDE * NN_MNIST_SIDE];
    long decodes, decoded_uploaded;
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
    int evaluated;                /* this run has an evaluation: */
    double test_accuracy, test_loss;
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
/* The model's own graph: the classifier's or the decoder's. */
nn_graph *pad_graph(pad *p);

/* Bake the fonts again if the window's pixel density changed (pad.c). */
int pad_update_scale(pad *p, nn_error *err);

/* Input (pad_input.c): handle one event, returning an enum pad_result. */
int pad_handle_event(pad *p, const SDL_Event *e);
/* Classify the canvas (stroke: because the drawing changed). */
void pad_classify(pad *p, int stroke);
/* A transient note in the footer. */
void pad_say(pad *p, const char *text);
/* --events lines: a prediction (cause "stroke" or "weights"), a latent code. */
void pad_log_prediction(pad *p, const char *cause, double latency_ms);
void pad_log_latent(pad *p, double latency_ms);

/* Draw the damaged panels (enum pad_panel bits) and show them (pad_draw.c). */
void pad_render(pad *p, int damage);
/* Rebuild the weights view's texture from the predictor's weights
 * (pad_views.c); returns 0 or an SDL error. */
int pad_build_weights(pad *p);
/* A line describing the weights view, for its caption. */
void pad_weights_caption(pad *p, char *buf, size_t len);

/* The latent explorer (pad_views.c).  The plane is the left panel; a point
 * (u, v) in [0,1]^2 of it maps to the code z1 = Q(0.05 + 0.9 u),
 * z2 = Q(0.05 + 0.9 (1 - v)) with Q the standard normal quantile, so the
 * grid's tiles sit where nn_latent_grid puts its codes. */
int pad_latent_textures(pad *p, nn_error *err);
/* Decode the grid again if the weights changed (at most every 0.5 s);
 * returns 1 if it did. */
int pad_latent_grid(pad *p, double now);
/* Decode the code at plane point (u, v) into p->decoded. */
void pad_latent_decode(pad *p, float u, float v);
/* Upload p->decoded to its texture if it changed. */
void pad_latent_upload(pad *p);

#endif
