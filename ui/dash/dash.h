/* The training dashboard (SPEC §7): an ncurses view of a running
 * nn_session, steered from the keyboard.  It runs on the calling thread,
 * which must be the one that owns the terminal, and talks to the trainer
 * only through the session's commands and monitor. */
#ifndef DASH_H
#define DASH_H

#include "search.h"
#include "session.h"

/* A lesson's caption panel, filled by the lesson on every frame. */
typedef struct dash_caption {
    char title[256];
    char text[4200];        /* the step's caption, UTF-8, wrapped to the panel */
    char doing[160];        /* the action in progress, or the last one */
    char results[3][192];   /* the newest assertion results, newest last */
    char model[128];        /* the model the lesson trains now */
    int step, steps;        /* 1-based */
    int waiting;            /* the step is done: Enter for the next */
    int ended;              /* every step is done */
    int passed, failed;
    int key;                /* a key the lesson presses (0: none) */
} dash_caption;

typedef struct dash_options {
    const char *model;      /* model name for the header */
    const char *data;       /* dataset name for the header */
    int fps;                /* redraws per second; 0: 10 */
    int color;              /* 0: no colour (NO_COLOR, --no-color) */
    int ascii;              /* 1: ASCII charts even on a UTF-8 terminal */
    int exit_when_done;     /* 1: return as soon as training is done */
    const char *save_path;  /* where s saves (NULL: the session's default) */
    /* Another window served from the same loop (the drawing pad): called on
     * every pass with the longest it may wait for its own input, in place of
     * the loop's sleep; returns nonzero when the user quit there. */
    int (*serve)(void *ctx, int timeout_ms);
    void *serve_ctx;
    int big;                /* 1: fewer, larger panels (a projector) */
    int contrast;           /* 1: a high-contrast colour scheme */
    /* A lesson: called before every frame to advance it and fill the
     * caption panel; returns the session to show, which changes when the
     * lesson moves on to another model.  Enter calls lesson_enter.  With
     * exit_when_done, the dashboard returns when the lesson has ended. */
    nn_session *(*lesson_tick)(void *ctx, dash_caption *out);
    void (*lesson_enter)(void *ctx);
    void *lesson_ctx;
} dash_options;

enum dash_exit {
    DASH_EXIT_QUIT,         /* q */
    DASH_EXIT_DONE,         /* training finished and exit_when_done was set */
    DASH_EXIT_INTERRUPTED,  /* Ctrl-C */
    DASH_EXIT_TERMINATED,   /* SIGTERM or SIGHUP */
    DASH_EXIT_ERROR         /* the terminal could not be set up */
};

/* Show the dashboard until the user quits or a signal ends it; the
 * terminal is restored on return whatever the reason.  Returns an enum
 * dash_exit.  The session keeps running: the caller stops it. */
int dash_run(nn_session *s, const dash_options *opt);

/* The search dashboard: a live table of a search's trials, the best one
 * highlighted.  It only watches the search (started by the caller), until
 * the user quits (q, Ctrl-C, SIGTERM) or, with exit_when_done, the search
 * ends; the caller then cancels or waits.  Returns an enum dash_exit. */
typedef struct dash_search_options {
    const char *title;      /* the first line: the space searched */
    const char *subtitle;   /* the second: model, data, trials at once, seed */
    int fps;                /* redraws per second; 0: 10 */
    int color;              /* 0: no colour */
    int exit_when_done;     /* 1: return when every trial has finished */
} dash_search_options;

int dash_search_run(nn_search *s, const dash_search_options *opt);

#endif
