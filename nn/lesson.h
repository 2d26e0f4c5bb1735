/* Lessons: classroom scenarios as text files (assets/lessons/NAME.lesson).
 *
 * A lesson names a model, a data subset and training options, then a list
 * of steps.  Each step has a caption per language, the actions it takes on
 * the running session and the assertions that must hold once they are
 * done.  Line-oriented, `#` comments, errors read "file:line:col: what was
 * expected", like model specs:
 *
 *     title en Gradient descent and the learning rate
 *     title zh 梯度下降与学习率
 *     model linear                 # a preset, a spec file, or `layer` lines
 *     train-limit 2000             # the first 2000 training digits
 *     test-limit 500
 *     option optimizer=sgd lr=0.001 epochs=1 schedule=constant
 *     speed 40                     # steps per second on the dashboard (not --auto)
 *
 *     step
 *     caption en A tiny learning rate: the loss barely moves.
 *     caption zh 很小的学习率：损失几乎不动。
 *     train epochs 1
 *     expect loss > 1
 *
 * Actions: set KEY VALUE, run [LABEL] (a new run from fresh initial
 * weights; earlier runs stay on the chart), train epochs N, train steps N,
 * pause at epoch N, step N (N single batches), key K (a dashboard key),
 * model NAME (switch to another model; the previous one's curves stay),
 * prune SPARSITY, quantize, pad latent|weights|draw.
 *
 * Assertions: expect diverged, expect finite, expect identical-hidden-units
 * layer N, expect distinct-hidden-units layer N, expect gap OP X, expect gap
 * shrinks, expect accuracy OP X, expect loss OP X, expect grad-norm layer N
 * OP X, expect sparsity OP X, expect accuracy-drop OP X, expect size-ratio
 * OP X, with OP one of < <= > >=.  Accuracy, gap and drop are percentages. */
#ifndef NN_LESSON_H
#define NN_LESSON_H

#include <stddef.h>

#include "error.h"

enum nn_lang { NN_LANG_EN, NN_LANG_ZH, NN_LANG_COUNT };
/* "en" or "zh". */
const char *nn_lang_name(int lang);
/* The language a locale string (LANG, LC_ALL...) asks for: zh for zh*, else en. */
int nn_lang_from_locale(const char *locale);

enum nn_lesson_op {
    /* actions */
    NN_LESSON_SET,          /* key, value */
    NN_LESSON_RUN,          /* value: a label, may be empty */
    NN_LESSON_TRAIN_EPOCHS, /* number: epochs more */
    NN_LESSON_TRAIN_STEPS,  /* number: batches more, at full speed */
    NN_LESSON_PAUSE_AT,     /* number: train until this many epochs are done */
    NN_LESSON_STEP,         /* number: single batches, one at a time */
    NN_LESSON_KEY,          /* value: one key */
    NN_LESSON_MODEL,        /* value: preset name or spec file */
    NN_LESSON_PRUNE,        /* number: sparsity 0..1 */
    NN_LESSON_QUANTIZE,
    NN_LESSON_PAD,          /* value: latent, weights, draw */
    /* assertions */
    NN_LESSON_EXPECT_DIVERGED,
    NN_LESSON_EXPECT_FINITE,
    NN_LESSON_EXPECT_IDENTICAL, /* layer */
    NN_LESSON_EXPECT_DISTINCT,  /* layer */
    NN_LESSON_EXPECT_GAP,       /* cmp, number */
    NN_LESSON_EXPECT_GAP_SHRINKS,
    NN_LESSON_EXPECT_ACCURACY,  /* cmp, number */
    NN_LESSON_EXPECT_LOSS,      /* cmp, number */
    NN_LESSON_EXPECT_GRAD_NORM, /* layer, cmp, number */
    NN_LESSON_EXPECT_SPARSITY,  /* cmp, number */
    NN_LESSON_EXPECT_DROP,      /* cmp, number */
    NN_LESSON_EXPECT_SIZE_RATIO,/* cmp, number */
    NN_LESSON_OP_COUNT
};

enum nn_lesson_cmp { NN_CMP_LT, NN_CMP_LE, NN_CMP_GT, NN_CMP_GE };

/* One action or assertion. */
typedef struct nn_lesson_action {
    int op;                 /* enum nn_lesson_op */
    int line;               /* where it was written */
    int layer;              /* 1-based: the layer's weight tensor (dense or conv, in order) */
    int cmp;                /* enum nn_lesson_cmp */
    double number;
    char key[24];
    char value[128];
} nn_lesson_action;

typedef struct nn_lesson_step {
    int line;
    char *caption[NN_LANG_COUNT];   /* NULL when not given */
    int first, count;               /* its actions in nn_lesson.actions */
} nn_lesson_step;

#define NN_LESSON_MAX_OPTIONS 32

typedef struct nn_lesson {
    char source[256];               /* file name used in messages */
    char *title[NN_LANG_COUNT];
    char model[256];                /* preset or spec file; empty with layer lines */
    char *spec_text;                /* the `layer` lines as a model spec, or NULL */
    long train_limit, test_limit;   /* 0: the whole set */
    long speed;                     /* steps per second when shown live (0: unlimited) */
    int n_options;
    char option_key[NN_LESSON_MAX_OPTIONS][24];
    char option_value[NN_LESSON_MAX_OPTIONS][64];
    int n_steps;
    nn_lesson_step *steps;
    int n_actions;
    nn_lesson_action *actions;
} nn_lesson;

/* Parse a lesson from text[0..len) (need not end in a NUL); name is the
 * file name for messages.  On error out is left empty. */
int nn_lesson_parse(nn_lesson *out, const char *name, const char *text, size_t len, nn_error *err);
/* Read and parse a file. */
int nn_lesson_load(nn_lesson *out, const char *path, nn_error *err);
void nn_lesson_free(nn_lesson *l);
/* The caption or title in lang, falling back to English (never NULL). */
const char *nn_lesson_caption(const nn_lesson *l, int step, int lang);
const char *nn_lesson_title(const nn_lesson *l, int lang);
/* An action as written, e.g. "set lr 5" or "expect gap > 5", into buf. */
char *nn_lesson_action_text(const nn_lesson_action *a, char *buf, size_t len);
/* 1 if op is an assertion. */
int nn_lesson_is_expect(int op);
/* v OP x. */
int nn_lesson_compare(double v, int cmp, double x);

#endif
