/* Running a lesson (nn/lesson.h): its model on its data subset in a
 * session, each step's actions sent as session commands, its assertions
 * checked against what the monitor and the trainer show.
 *
 * The runner never blocks: the caller's loop (the dashboard's frame, or a
 * plain loop without one) calls lesson_run_tick, which starts the next
 * action when the one before it has completed.  With auto_advance the
 * next step starts as soon as a step is done; otherwise lesson_run_next
 * (Enter) starts it. */
#ifndef APP_LESSON_RUN_H
#define APP_LESSON_RUN_H

#include <stdio.h>

#include "lesson.h"
#include "session.h"
#include "spec.h"

typedef struct lesson_run lesson_run;

typedef struct lesson_run_config {
    const nn_lesson *lesson;
    const char *name;        /* the lesson's name, for messages */
    int lang;                /* enum nn_lang */
    int auto_advance;        /* 1: each step follows the one before when its actions are done */
    FILE *out;               /* captions and results as plain lines; NULL for none */
    const char *data_dir;
    int snapshots;           /* 1: publish weight snapshots (a pad reads them) */
    int pace_ms;             /* pause after each single step of `step N` (0: none) */
    /* A new session (a `model` action) is about to start: a window can
     * bind to it.  The previous session stays valid until lesson_run_free. */
    void (*on_session)(void *ctx, nn_session *s, const nn_spec *spec, const char *model);
    void (*on_key)(void *ctx, int key);       /* a `key` action */
    void (*on_pad)(void *ctx, const char *view); /* a `pad` action */
    void *ctx;
} lesson_run_config;

enum lesson_state {
    LESSON_BUSY,        /* an action is in progress */
    LESSON_WAITING,     /* a step is done: Enter for the next */
    LESSON_END          /* every step is done */
};

/* What a caption panel shows. */
typedef struct lesson_view {
    const char *title;
    const char *caption;
    int step, steps;        /* 1-based step shown, and the count */
    int state;              /* enum lesson_state */
    char doing[160];        /* the action in progress, or the last one */
    char results[3][192];   /* the newest assertion results, newest last ("" when none) */
    int passed, failed;
} lesson_view;

/* Load the data and the first model and start its session (paused);
 * prints errors and returns an exit code (0 on success). */
int lesson_run_new(lesson_run **out, const lesson_run_config *cfg);
void lesson_run_free(lesson_run *r);
/* The session the lesson currently drives. */
nn_session *lesson_run_session(lesson_run *r);
const nn_spec *lesson_run_spec(lesson_run *r);
const char *lesson_run_model(lesson_run *r);
/* Do what can be done now; returns an enum lesson_state. */
int lesson_run_tick(lesson_run *r);
/* Enter: start the next step (when the current one is done). */
void lesson_run_next(lesson_run *r);
void lesson_run_view(lesson_run *r, lesson_view *v);
/* Assertions that failed so far. */
int lesson_run_failures(const lesson_run *r);

/* One checked assertion, for --json. */
typedef struct lesson_result {
    int step;               /* 1-based */
    char expect[160];       /* as written, without "expect " */
    int ok;
    double value;           /* the figure compared (NaN: none) */
    char detail[192];
} lesson_result;

/* The assertions checked so far, in order; returns their count. */
int lesson_run_results(const lesson_run *r, const lesson_result **out);
/* Seconds since the lesson started. */
double lesson_run_seconds(const lesson_run *r);

#endif
