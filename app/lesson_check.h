/* A lesson's assertions (the `expect` lines of nn/lesson.h), checked on a
 * session that is not training: after the runner has waited for it. */
#ifndef APP_LESSON_CHECK_H
#define APP_LESSON_CHECK_H

#include <stddef.h>

#include "lesson.h"
#include "monitor.h"
#include "session.h"

/* The train/test gap measured last, which `expect gap shrinks` compares with. */
typedef struct lesson_gap {
    double last;            /* percentage points */
    int have;
} lesson_gap;

/* Check assertion a; value gets the figure it compared (for diverged and
 * finite the loss: the one that passed max_loss when that ended the run;
 * for the unit checks the largest difference between units; NaN when there
 * is none), detail the figures in words.  Returns 1 when it holds.
 * Accuracy, gap and compression figures are those of the status's probe
 * (the last measure, prune or quantize command). */
int lesson_check(const nn_lesson_action *a, nn_session *s, lesson_gap *gap, double *value, char *detail,
                 size_t len);
/* "DIVERGED at step N: ..." for a diverged status. */
const char *lesson_diverged_text(const nn_run_status *st, char *buf, size_t len);

#endif
