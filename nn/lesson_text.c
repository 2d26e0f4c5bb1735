/* Lessons in words: language names, captions with their fallback, and
 * actions printed back as a lesson file writes them. */
#include "lesson.h"

#include <ctype.h>
#include <stdio.h>

static const char *lang_names[NN_LANG_COUNT] = {"en", "zh"};

const char *nn_lang_name(int lang) { return lang >= 0 && lang < NN_LANG_COUNT ? lang_names[lang] : "?"; }

int nn_lang_from_locale(const char *locale)
{
    return locale && tolower((unsigned char)locale[0]) == 'z' && tolower((unsigned char)locale[1]) == 'h'
               ? NN_LANG_ZH
               : NN_LANG_EN;
}

int nn_lesson_is_expect(int op) { return op >= NN_LESSON_EXPECT_DIVERGED && op < NN_LESSON_OP_COUNT; }

int nn_lesson_compare(double v, int cmp, double x)
{
    switch (cmp) {
    case NN_CMP_LT: return v < x;
    case NN_CMP_LE: return v <= x;
    case NN_CMP_GT: return v > x;
    default: return v >= x;
    }
}

const char *nn_lesson_caption(const nn_lesson *l, int step, int lang)
{
    if (step < 0 || step >= l->n_steps)
        return "";
    const nn_lesson_step *s = &l->steps[step];
    const char *c = lang >= 0 && lang < NN_LANG_COUNT ? s->caption[lang] : NULL;
    return c ? c : s->caption[NN_LANG_EN] ? s->caption[NN_LANG_EN] : "";
}

const char *nn_lesson_title(const nn_lesson *l, int lang)
{
    const char *t = lang >= 0 && lang < NN_LANG_COUNT ? l->title[lang] : NULL;
    return t ? t : l->title[NN_LANG_EN] ? l->title[NN_LANG_EN] : "";
}

char *nn_lesson_action_text(const nn_lesson_action *a, char *buf, size_t len)
{
    static const char *cmp[] = {"<", "<=", ">", ">="};
    const char *c = a->cmp >= 0 && a->cmp < 4 ? cmp[a->cmp] : "?";
    switch (a->op) {
    case NN_LESSON_SET: snprintf(buf, len, "set %s %s", a->key, a->value); break;
    case NN_LESSON_RUN: snprintf(buf, len, "run%s%s", a->value[0] ? " " : "", a->value); break;
    case NN_LESSON_TRAIN_EPOCHS: snprintf(buf, len, "train epochs %g", a->number); break;
    case NN_LESSON_TRAIN_STEPS: snprintf(buf, len, "train steps %g", a->number); break;
    case NN_LESSON_PAUSE_AT: snprintf(buf, len, "pause at epoch %g", a->number); break;
    case NN_LESSON_STEP: snprintf(buf, len, "step %g", a->number); break;
    case NN_LESSON_KEY: snprintf(buf, len, "key %s", a->value); break;
    case NN_LESSON_MODEL: snprintf(buf, len, "model %s", a->value); break;
    case NN_LESSON_PRUNE: snprintf(buf, len, "prune %g", a->number); break;
    case NN_LESSON_QUANTIZE: snprintf(buf, len, "quantize"); break;
    case NN_LESSON_PAD: snprintf(buf, len, "pad %s", a->value); break;
    case NN_LESSON_EXPECT_DIVERGED: snprintf(buf, len, "expect diverged"); break;
    case NN_LESSON_EXPECT_FINITE: snprintf(buf, len, "expect finite"); break;
    case NN_LESSON_EXPECT_IDENTICAL: snprintf(buf, len, "expect identical-hidden-units layer %d", a->layer); break;
    case NN_LESSON_EXPECT_DISTINCT: snprintf(buf, len, "expect distinct-hidden-units layer %d", a->layer); break;
    case NN_LESSON_EXPECT_GAP: snprintf(buf, len, "expect gap %s %g", c, a->number); break;
    case NN_LESSON_EXPECT_GAP_SHRINKS: snprintf(buf, len, "expect gap shrinks"); break;
    case NN_LESSON_EXPECT_ACCURACY: snprintf(buf, len, "expect accuracy %s %g", c, a->number); break;
    case NN_LESSON_EXPECT_LOSS: snprintf(buf, len, "expect loss %s %g", c, a->number); break;
    case NN_LESSON_EXPECT_GRAD_NORM:
        snprintf(buf, len, "expect grad-norm layer %d %s %g", a->layer, c, a->number);
        break;
    case NN_LESSON_EXPECT_SPARSITY: snprintf(buf, len, "expect sparsity %s %g", c, a->number); break;
    case NN_LESSON_EXPECT_DROP: snprintf(buf, len, "expect accuracy-drop %s %g", c, a->number); break;
    case NN_LESSON_EXPECT_SIZE_RATIO: snprintf(buf, len, "expect size-ratio %s %g", c, a->number); break;
    default: snprintf(buf, len, "?"); break;
    }
    return buf;
}
