/* What the dashboard's main loop and its panels share: the copy of the
 * monitor taken for each frame, the interface state, and one drawing
 * routine per panel. */
#ifndef DASH_VIEW_H
#define DASH_VIEW_H

/* The wide-character API (cchar_t, wadd_wch) of ncursesw. */
#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <wchar.h>

#include "chart.h"
#include "dash.h"
#include "graph_desc.h"
#include "monitor.h"
#include "session.h"

#define DASH_MIN_COLS 80
#define DASH_MIN_ROWS 24
#define DASH_EVENTS 64
#define DASH_MARKS 64

enum dash_role {
    ROLE_TEXT,
    ROLE_DIM,       /* faint: raw series, axes, hints */
    ROLE_TITLE,
    ROLE_LOSS,      /* the smoothed loss */
    ROLE_ACC,       /* the smoothed accuracy */
    ROLE_TEST,      /* per-epoch test figures */
    ROLE_PREV,      /* previous runs */
    ROLE_MARK,      /* hyperparameter changes */
    ROLE_GOOD,
    ROLE_WARN,
    ROLE_BAD,
    ROLE_INFO,
    ROLE_SELECT,    /* the selected hyperparameter */
    ROLE_RUNNING,   /* state badges */
    ROLE_PAUSED,
    ROLE_STEPPING,
    ROLE_DONE,
    ROLE_DIVERGED,
    ROLE_COLD,      /* vanishing gradients */
    ROLE_COUNT
};

enum dash_panel { P_HEADER, P_HPARAMS, P_LOSS, P_ACC, P_LAYERS, P_CONFUSION, P_EVENTS, P_CAPTION, P_KEYS, P_GRAPH, P_COUNT };

typedef struct dash_rect {
    int y, x, h, w;
} dash_rect;

typedef struct dash_series {
    float *x, *y;
    int n;
} dash_series;

/* The hyperparameters the panel offers, in its order. */
enum { HP_LR, HP_MOMENTUM, HP_WEIGHT_DECAY, HP_L1, HP_DROPOUT, HP_BATCH, HP_COUNT };

typedef struct dash {
    nn_session *session;
    nn_monitor *monitor;
    dash_options opt;
    int utf8, colors, glyphs;
    attr_t attr[ROLE_COUNT];
    short pair[ROLE_COUNT];
    /* layout */
    int rows, cols, too_small;
    dash_rect rect[P_COUNT];
    WINDOW *win[P_COUNT];       /* NULL for a panel the layout leaves out */
    WINDOW *overlay;
    ui_canvas canvas;
    /* the frame's copy of the monitor */
    nn_run_status st;
    dash_series run[NN_SERIES_RUN_COUNT];
    dash_series prev[NN_MONITOR_PREV_RUNS][2];
    dash_series *tensor;        /* 3 per tensor */
    int n_tensors;
    nn_mark marks[DASH_MARKS];
    int n_marks;
    nn_event events[DASH_EVENTS];
    int n_events;
    nn_eval eval;
    long eval_version;
    int eval_epoch;
    /* what the slow-changing panels were last drawn from */
    long drawn_eval, drawn_events;
    int force;                  /* redraw every panel on the next frame */
    /* interface state */
    int log_y;
    int help;
    int selected;               /* HP_* */
    int typing;                 /* '=' prompt open */
    char input[48];
    long last_sent;             /* sequence number of the last command sent */
    /* the graph view (G), in place of the charts and tables */
    int graph_view;
    int graph_scroll;           /* first row shown */
    const nn_graph_desc *graph;
    int *graph_lane;            /* lane of each edge */
    int graph_lanes;
    unsigned char *graph_gutter; /* line masks, rows x 2 * lanes */
    float *node_grad;           /* the frame's copy of the per-node gradient norms */
    long node_grads_step;       /* the step they are from; 0: none yet */
    /* a lesson */
    dash_caption caption;
    int lesson;
    int caption_step;           /* the step the layout was made for */
} dash;

/* Set up every role's colour pair and attributes (styles.c). */
void dash_init_styles(dash *d);
/* Colour pair and attributes of a role. */
void dash_style(dash *d, WINDOW *w, int role);
/* Text helpers shared by the panels: write s at (y, x) in a role, cut to
 * max cells (< 0: to the edge), returning the cells written; its printf
 * form; the display width of UTF-8 text; the UTF-8 or the ASCII form of a
 * symbol as the terminal allows; a panel's title rule. */
int dash_put(dash *d, WINDOW *w, int y, int x, int max, int role, const char *s);
int dash_putf(dash *d, WINDOW *w, int y, int x, int max, int role, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 7, 8)))
#endif
    ;
int dash_text_width(const char *s);
const char *dash_glyph(const dash *d, const char *utf8, const char *ascii);
void dash_title(dash *d, WINDOW *w, const char *title, const char *right);
/* One routine per panel; each draws the whole window it is given. */
void dash_draw_header(dash *d, WINDOW *w);
void dash_draw_hparams(dash *d, WINDOW *w);
void dash_draw_loss(dash *d, WINDOW *w);
void dash_draw_accuracy(dash *d, WINDOW *w);
void dash_draw_layers(dash *d, WINDOW *w);
void dash_draw_confusion(dash *d, WINDOW *w);
void dash_draw_events(dash *d, WINDOW *w);
void dash_draw_keys(dash *d, WINDOW *w);
void dash_draw_help(dash *d, WINDOW *w);
void dash_draw_too_small(dash *d, WINDOW *w);
/* The graph view: set up from the session's graph description, free, draw,
 * and the node rows one page shows. */
int dash_graph_init(dash *d);
void dash_graph_free(dash *d);
void dash_draw_graph(dash *d, WINDOW *w);
int dash_graph_page(const dash *d, WINDOW *w);
void dash_draw_caption(dash *d, WINDOW *w);
/* Rows the caption panel needs at this width for the current caption. */
int dash_caption_height(const dash *d, int cols);
/* Display cells of one code point (2 for wide CJK characters, 0 for
 * combining marks); the next code point of UTF-8 text s and its length. */
int dash_char_width(unsigned cp);
int dash_next_char(const char *s, unsigned *cp);

/* The hyperparameter panel's entries. */
const char *dash_hparam_key(int i);     /* nn_hparams_set name */
const char *dash_hparam_label(int i);   /* as shown */
double dash_hparam_value(const dash *d, int i);

#endif
