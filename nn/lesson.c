/* The lesson parser: header lines, then `step` blocks of captions, actions
 * and assertions.  Every error points at the line and column it found. */
#include "lesson.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hparams.h"

#define MAX_TOKENS 16
#define MAX_LESSON_BYTES (1 << 20)
#define MAX_LINE 4096
#define MAX_STEPS 256
#define MAX_ACTIONS 2048
#define MAX_TEXT 4096       /* bytes of one caption or title, continuation lines included */

typedef struct token {
    const char *text;   /* into the line buffer, NUL-terminated */
    int col;            /* 1-based, in bytes */
} token;

typedef struct parser {
    const char *source;
    int line;
    char buf[MAX_LINE + 1];
    char words[MAX_LINE + MAX_TOKENS + 1];
    token tok[MAX_TOKENS];
    int n;
    nn_lesson *l;
    int cap_actions;
    nn_error *err;
} parser;

static int fail(parser *p, int col, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Report "file:line:col: message"; returns NN_EINPUT. */
static int fail(parser *p, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = nn_error_at(p->err, p->source, p->line, col, fmt, ap);
    va_end(ap);
    return rc;
}

/* Length of the valid UTF-8 sequence at s (of n bytes), 0 if invalid. */
static size_t utf8_length(const unsigned char *s, size_t n)
{
    size_t len;
    unsigned min;
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        min = 0x80;
        c &= 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        min = 0x800;
        c &= 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        min = 0x10000;
        c &= 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    return len;
}

/* The line must be UTF-8 without control characters (tabs allowed). */
static int check_text(parser *p, const char *line, size_t len)
{
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)line[i];
        if (c == 0 || (c < 32 && c != '\t') || c == 127)
            return fail(p, (int)i + 1, "unexpected control character 0x%02x (expected text)", c);
        size_t n = utf8_length((const unsigned char *)line + i, len - i);
        if (!n)
            return fail(p, (int)i + 1, "invalid UTF-8 (lessons are UTF-8 text)");
        i += n;
    }
    return NN_OK;
}

/* Split the line into words, dropping a # comment. */
static int tokenize(parser *p)
{
    const char *line = p->buf;
    size_t len = strlen(line), i = 0, w = 0;
    p->n = 0;
    while (i < len) {
        while (i < len && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i >= len || line[i] == '#')
            break;
        size_t start = i;
        while (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '#')
            i++;
        if (p->n == MAX_TOKENS)
            return fail(p, (int)start + 1, "too many words on one line (at most %d)", MAX_TOKENS);
        /* The text of a caption, a title, a layer or a run's label is taken
         * raw from its first word on: no need to split it further. */
        if (p->n >= 1) {
            const char *kw = p->tok[0].text;
            int text_from = !strcmp(kw, "caption") || !strcmp(kw, "title") ? 2
                            : !strcmp(kw, "layer") || !strcmp(kw, "run") || !strcmp(kw, "reset") ? 1
                                                                                                 : MAX_TOKENS;
            if (p->n > text_from)
                break;
        }
        memcpy(p->words + w, line + start, i - start);
        p->words[w + i - start] = '\0';
        p->tok[p->n++] = (token){p->words + w, (int)start + 1};
        w += i - start + 1;
    }
    return NN_OK;
}

/* The raw text of the line from token i on, trailing blanks dropped. */
static const char *rest_of_line(parser *p, int i, size_t *len)
{
    const char *s = p->buf + p->tok[i].col - 1;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    *len = n;
    return s;
}

/* Append text to *dst (joined with a space), within MAX_TEXT bytes. */
static int append_text(parser *p, char **dst, const char *s, size_t n, int col)
{
    size_t have = *dst ? strlen(*dst) : 0;
    if (have + 1 + n > MAX_TEXT)
        return fail(p, col, "text too long (at most %d bytes)", MAX_TEXT);
    char *t = realloc(*dst, have + n + 2);
    if (!t)
        return nn_error_set(p->err, NN_ERUNTIME, "%s: out of memory", p->source);
    if (have)
        t[have++] = ' ';
    memcpy(t + have, s, n);
    t[have + n] = '\0';
    *dst = t;
    return NN_OK;
}

static int parse_lang(parser *p, int i, int *lang)
{
    if (i >= p->n)
        return fail(p, (int)strlen(p->buf) + 1, "expected a language (en or zh) and the text");
    for (int k = 0; k < NN_LANG_COUNT; k++)
        if (!strcmp(p->tok[i].text, nn_lang_name(k))) {
            *lang = k;
            if (i + 1 >= p->n)
                return fail(p, p->tok[i].col + (int)strlen(p->tok[i].text), "expected the text after '%s'",
                            nn_lang_name(k));
            return NN_OK;
        }
    return fail(p, p->tok[i].col, "unknown language '%s' (expected en or zh)", p->tok[i].text);
}

static int parse_text_line(parser *p, char **texts)
{
    int lang = NN_LANG_EN;
    if (parse_lang(p, 1, &lang))
        return NN_EINPUT;
    size_t n;
    const char *s = rest_of_line(p, 2, &n);
    return append_text(p, &texts[lang], s, n, p->tok[2].col);
}

static int parse_long(parser *p, int i, const char *what, long lo, long hi, long *out)
{
    if (i >= p->n)
        return fail(p, (int)strlen(p->buf) + 1, "expected %s", what);
    const token *t = &p->tok[i];
    char *end;
    errno = 0;
    long v = strtol(t->text, &end, 10);
    if (end == t->text || *end || errno || v < lo || v > hi)
        return fail(p, t->col, "expected %s (a whole number from %ld to %ld), not '%s'", what, lo, hi, t->text);
    *out = v;
    return NN_OK;
}

static int parse_double(parser *p, int i, const char *what, double *out)
{
    if (i >= p->n)
        return fail(p, (int)strlen(p->buf) + 1, "expected %s", what);
    const token *t = &p->tok[i];
    char *end;
    errno = 0;
    double v = strtod(t->text, &end);
    if (end == t->text || *end || errno || !isfinite(v))
        return fail(p, t->col, "expected %s (a number), not '%s'", what, t->text);
    *out = v;
    return NN_OK;
}

static int no_more(parser *p, int i)
{
    if (i < p->n)
        return fail(p, p->tok[i].col, "unexpected '%s' (nothing more was expected on this line)", p->tok[i].text);
    return NN_OK;
}

static int copy_word(parser *p, int i, char *dst, size_t cap, const char *what)
{
    if (i >= p->n)
        return fail(p, (int)strlen(p->buf) + 1, "expected %s", what);
    if (strlen(p->tok[i].text) >= cap)
        return fail(p, p->tok[i].col, "%s too long (at most %zu characters)", what, cap - 1);
    snprintf(dst, cap, "%s", p->tok[i].text);
    return NN_OK;
}

/* ---- the header --------------------------------------------------------- */

static int parse_option(parser *p)
{
    nn_lesson *l = p->l;
    if (p->n < 2)
        return fail(p, (int)strlen(p->buf) + 1, "expected key=value, such as %s", "lr=0.01");
    for (int i = 1; i < p->n; i++) {
        const token *t = &p->tok[i];
        const char *eq = strchr(t->text, '=');
        if (!eq || eq == t->text || !eq[1])
            return fail(p, t->col, "expected key=value, such as %s, not '%s'", "lr=0.01", t->text);
        size_t klen = (size_t)(eq - t->text);
        if (klen >= sizeof l->option_key[0] || strlen(eq + 1) >= sizeof l->option_value[0])
            return fail(p, t->col, "option too long");
        if (l->n_options == NN_LESSON_MAX_OPTIONS)
            return fail(p, t->col, "too many options (at most %d)", NN_LESSON_MAX_OPTIONS);
        char key[24];
        memcpy(key, t->text, klen);
        key[klen] = '\0';
        nn_hparams hp;
        nn_hparams_defaults(&hp);
        nn_error inner;
        if (nn_hparams_set(&hp, key, eq + 1, &inner))
            return fail(p, t->col, "%s", inner.msg);
        snprintf(l->option_key[l->n_options], sizeof l->option_key[0], "%s", key);
        snprintf(l->option_value[l->n_options], sizeof l->option_value[0], "%s", eq + 1);
        l->n_options++;
    }
    return NN_OK;
}

static int parse_header(parser *p)
{
    nn_lesson *l = p->l;
    const char *kw = p->tok[0].text;
    if (!strcmp(kw, "title"))
        return parse_text_line(p, l->title);
    if (!strcmp(kw, "model")) {
        if (l->model[0] || l->spec_text)
            return fail(p, p->tok[0].col, "the model is already given (one `model` line, or `layer` lines)");
        if (copy_word(p, 1, l->model, sizeof l->model, "a preset name or spec file"))
            return NN_EINPUT;
        return no_more(p, 2);
    }
    if (!strcmp(kw, "layer")) {
        if (l->model[0])
            return fail(p, p->tok[0].col, "the model is already given by `model`");
        if (p->n < 2)
            return fail(p, (int)strlen(p->buf) + 1, "expected a spec line, such as %s", "layer dense 128");
        size_t n;
        const char *s = rest_of_line(p, 1, &n);
        size_t have = l->spec_text ? strlen(l->spec_text) : 0;
        if (have + n + 2 > MAX_TEXT)
            return fail(p, p->tok[1].col, "model spec too long (at most %d bytes)", MAX_TEXT);
        char *t = realloc(l->spec_text, have + n + 2);
        if (!t)
            return nn_error_set(p->err, NN_ERUNTIME, "%s: out of memory", p->source);
        memcpy(t + have, s, n);
        t[have + n] = '\n';
        t[have + n + 1] = '\0';
        l->spec_text = t;
        return NN_OK;
    }
    if (!strcmp(kw, "train-limit") || !strcmp(kw, "test-limit")) {
        long v;
        if (parse_long(p, 1, "a number of samples", 1, 100000000L, &v))
            return NN_EINPUT;
        *(kw[1] == 'r' ? &l->train_limit : &l->test_limit) = v;
        return no_more(p, 2);
    }
    if (!strcmp(kw, "option"))
        return parse_option(p);
    if (!strcmp(kw, "speed")) {
        if (parse_long(p, 1, "steps per second", 1, 100000, &l->speed))
            return NN_EINPUT;
        return no_more(p, 2);
    }
    return fail(p, p->tok[0].col,
                "unknown keyword '%s' (expected title, model, layer, train-limit, test-limit, option, speed or step)",
                kw);
}

/* ---- steps -------------------------------------------------------------- */

static nn_lesson_action *new_action(parser *p, int op)
{
    nn_lesson *l = p->l;
    if (l->n_actions == MAX_ACTIONS) {
        fail(p, 1, "too many actions (at most %d)", MAX_ACTIONS);
        return NULL;
    }
    if (l->n_actions == p->cap_actions) {
        int cap = p->cap_actions ? 2 * p->cap_actions : 32;
        nn_lesson_action *a = realloc(l->actions, (size_t)cap * sizeof *a);
        if (!a) {
            nn_error_set(p->err, NN_ERUNTIME, "%s: out of memory", p->source);
            return NULL;
        }
        l->actions = a;
        p->cap_actions = cap;
    }
    nn_lesson_action *a = &l->actions[l->n_actions++];
    memset(a, 0, sizeof *a);
    a->op = op;
    a->line = p->line;
    l->steps[l->n_steps - 1].count++;
    return a;
}

static int parse_cmp(parser *p, int i, int *cmp)
{
    static const char *names[] = {"<", "<=", ">", ">="};
    if (i >= p->n)
        return fail(p, (int)strlen(p->buf) + 1, "expected a comparison (<, <=, > or >=)");
    for (int k = 0; k < 4; k++)
        if (!strcmp(p->tok[i].text, names[k])) {
            *cmp = k;
            return NN_OK;
        }
    return fail(p, p->tok[i].col, "expected a comparison (<, <=, > or >=), not '%s'", p->tok[i].text);
}

/* `layer N` at token i. */
static int parse_layer(parser *p, int i, int *layer)
{
    if (i >= p->n || strcmp(p->tok[i].text, "layer"))
        return fail(p, i < p->n ? p->tok[i].col : (int)strlen(p->buf) + 1, "expected 'layer N'");
    long v;
    if (parse_long(p, i + 1, "a layer number", 1, 256, &v))
        return NN_EINPUT;
    *layer = (int)v;
    return NN_OK;
}

static int parse_expect(parser *p)
{
    static const struct {
        const char *name;
        int op;
        int layer, cmp;
    } kinds[] = {
        {"diverged", NN_LESSON_EXPECT_DIVERGED, 0, 0},
        {"finite", NN_LESSON_EXPECT_FINITE, 0, 0},
        {"identical-hidden-units", NN_LESSON_EXPECT_IDENTICAL, 1, 0},
        {"distinct-hidden-units", NN_LESSON_EXPECT_DISTINCT, 1, 0},
        {"gap", NN_LESSON_EXPECT_GAP, 0, 1},
        {"accuracy", NN_LESSON_EXPECT_ACCURACY, 0, 1},
        {"loss", NN_LESSON_EXPECT_LOSS, 0, 1},
        {"grad-norm", NN_LESSON_EXPECT_GRAD_NORM, 1, 1},
        {"sparsity", NN_LESSON_EXPECT_SPARSITY, 0, 1},
        {"accuracy-drop", NN_LESSON_EXPECT_DROP, 0, 1},
        {"size-ratio", NN_LESSON_EXPECT_SIZE_RATIO, 0, 1},
    };
    if (p->n < 2)
        return fail(p, (int)strlen(p->buf) + 1, "expected what to expect, such as %s", "expect diverged");
    const token *what = &p->tok[1];
    if (!strcmp(what->text, "gap") && p->n >= 3 && !strcmp(p->tok[2].text, "shrinks")) {
        if (!new_action(p, NN_LESSON_EXPECT_GAP_SHRINKS))
            return NN_EINPUT;
        return no_more(p, 3);
    }
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        if (strcmp(what->text, kinds[k].name))
            continue;
        nn_lesson_action a = {.op = kinds[k].op};
        int i = 2;
        if (kinds[k].layer) {
            if (parse_layer(p, i, &a.layer))
                return NN_EINPUT;
            i += 2;
        }
        if (kinds[k].cmp) {
            if (parse_cmp(p, i, &a.cmp) || parse_double(p, i + 1, "a number to compare with", &a.number))
                return NN_EINPUT;
            i += 2;
        }
        if (no_more(p, i))
            return NN_EINPUT;
        nn_lesson_action *slot = new_action(p, a.op);
        if (!slot)
            return NN_EINPUT;
        a.line = slot->line;
        *slot = a;
        return NN_OK;
    }
    return fail(p, what->col,
                "unknown expectation '%s' (expected diverged, finite, identical-hidden-units, "
                "distinct-hidden-units, gap, accuracy, loss, grad-norm, sparsity, accuracy-drop or size-ratio)",
                what->text);
}

static int parse_action(parser *p)
{
    const char *kw = p->tok[0].text;
    nn_lesson_action *a;
    long n;
    if (!strcmp(kw, "set")) {
        if (p->n < 3)
            return fail(p, (int)strlen(p->buf) + 1, "expected a key and a value, such as %s", "set lr 0.1");
        nn_hparams hp;
        nn_hparams_defaults(&hp);
        nn_error inner;
        if (!nn_hparams_known(p->tok[1].text))
            return fail(p, p->tok[1].col, "unknown hyperparameter '%s'", p->tok[1].text);
        if (nn_hparams_set(&hp, p->tok[1].text, p->tok[2].text, &inner))
            return fail(p, p->tok[2].col, "%s", inner.msg);
        if (no_more(p, 3) || !(a = new_action(p, NN_LESSON_SET)))
            return NN_EINPUT;
        snprintf(a->key, sizeof a->key, "%.*s", (int)sizeof a->key - 1, p->tok[1].text);
        return copy_word(p, 2, a->value, sizeof a->value, "a value");
    }
    if (!strcmp(kw, "run") || !strcmp(kw, "reset")) {
        if (!(a = new_action(p, NN_LESSON_RUN)))
            return NN_EINPUT;
        if (p->n > 1) {
            size_t len;
            const char *s = rest_of_line(p, 1, &len);
            if (len >= sizeof a->value)
                return fail(p, p->tok[1].col, "run label too long (at most %zu bytes)", sizeof a->value - 1);
            memcpy(a->value, s, len);
            a->value[len] = '\0';
        }
        return NN_OK;
    }
    if (!strcmp(kw, "train")) {
        if (p->n < 2 || (strcmp(p->tok[1].text, "epochs") && strcmp(p->tok[1].text, "steps")))
            return fail(p, p->n < 2 ? (int)strlen(p->buf) + 1 : p->tok[1].col,
                        "expected 'epochs N' or 'steps N' after train");
        int epochs = p->tok[1].text[0] == 'e';
        if (parse_long(p, 2, epochs ? "a number of epochs" : "a number of steps", 1, epochs ? 1000 : 10000000L,
                       &n) ||
            no_more(p, 3) || !(a = new_action(p, epochs ? NN_LESSON_TRAIN_EPOCHS : NN_LESSON_TRAIN_STEPS)))
            return NN_EINPUT;
        a->number = (double)n;
        return NN_OK;
    }
    if (!strcmp(kw, "pause")) {
        if (p->n < 2 || strcmp(p->tok[1].text, "at") || p->n < 3 || strcmp(p->tok[2].text, "epoch"))
            return fail(p, p->n < 2 ? (int)strlen(p->buf) + 1 : p->tok[1].col, "expected 'pause at epoch N'");
        if (parse_long(p, 3, "an epoch", 1, 100000, &n) || no_more(p, 4) || !(a = new_action(p, NN_LESSON_PAUSE_AT)))
            return NN_EINPUT;
        a->number = (double)n;
        return NN_OK;
    }
    if (!strcmp(kw, "step")) {
        if (parse_long(p, 1, "a number of single steps", 1, 1000, &n) || no_more(p, 2) ||
            !(a = new_action(p, NN_LESSON_STEP)))
            return NN_EINPUT;
        a->number = (double)n;
        return NN_OK;
    }
    if (!strcmp(kw, "key")) {
        if (p->n < 2 || strlen(p->tok[1].text) != 1 || !isgraph((unsigned char)p->tok[1].text[0]))
            return fail(p, p->n < 2 ? (int)strlen(p->buf) + 1 : p->tok[1].col,
                        "expected one key, such as %s", "key G");
        if (no_more(p, 2) || !(a = new_action(p, NN_LESSON_KEY)))
            return NN_EINPUT;
        a->value[0] = p->tok[1].text[0];
        return NN_OK;
    }
    if (!strcmp(kw, "model")) {
        if (p->n < 2)
            return fail(p, (int)strlen(p->buf) + 1, "expected a preset name or spec file");
        if (no_more(p, 2) || !(a = new_action(p, NN_LESSON_MODEL)))
            return NN_EINPUT;
        return copy_word(p, 1, a->value, sizeof a->value, "a preset name or spec file");
    }
    if (!strcmp(kw, "prune")) {
        double s;
        if (parse_double(p, 1, "a sparsity", &s))
            return NN_EINPUT;
        if (!(s >= 0 && s < 1))
            return fail(p, p->tok[1].col, "expected a sparsity in [0, 1), such as 0.9");
        if (no_more(p, 2) || !(a = new_action(p, NN_LESSON_PRUNE)))
            return NN_EINPUT;
        a->number = s;
        return NN_OK;
    }
    if (!strcmp(kw, "quantize") || !strcmp(kw, "quantise")) {
        if (no_more(p, 1) || !new_action(p, NN_LESSON_QUANTIZE))
            return NN_EINPUT;
        return NN_OK;
    }
    if (!strcmp(kw, "pad")) {
        if (p->n < 2 || (strcmp(p->tok[1].text, "latent") && strcmp(p->tok[1].text, "weights") &&
                         strcmp(p->tok[1].text, "draw")))
            return fail(p, p->n < 2 ? (int)strlen(p->buf) + 1 : p->tok[1].col,
                        "expected a pad view: latent, weights or draw");
        if (no_more(p, 2) || !(a = new_action(p, NN_LESSON_PAD)))
            return NN_EINPUT;
        return copy_word(p, 1, a->value, sizeof a->value, "a pad view");
    }
    if (!strcmp(kw, "expect"))
        return parse_expect(p);
    if (!strcmp(kw, "caption"))
        return parse_text_line(p, p->l->steps[p->l->n_steps - 1].caption);
    return fail(p, p->tok[0].col,
                "unknown action '%s' (expected caption, set, run, reset, train, pause, step, key, model, prune, "
                "quantize, pad, expect or step)",
                kw);
}

static int new_step(parser *p)
{
    nn_lesson *l = p->l;
    if (p->n > 1)
        return fail(p, p->tok[1].col, "unexpected '%s' ('step' stands alone; 'step N' belongs inside a step)",
                    p->tok[1].text);
    if (l->n_steps == MAX_STEPS)
        return fail(p, p->tok[0].col, "too many steps (at most %d)", MAX_STEPS);
    if (!l->steps && !(l->steps = calloc(MAX_STEPS, sizeof *l->steps)))
        return nn_error_set(p->err, NN_ERUNTIME, "%s: out of memory", p->source);
    nn_lesson_step *s = &l->steps[l->n_steps++];
    memset(s, 0, sizeof *s);
    s->line = p->line;
    s->first = l->n_actions;
    return NN_OK;
}

/* ---- the whole file ------------------------------------------------------- */

static int finish(parser *p)
{
    nn_lesson *l = p->l;
    p->line++;
    if (!l->title[NN_LANG_EN])
        return fail(p, 1, "missing `title en ...` (every lesson has an English title)");
    if (!l->model[0] && !l->spec_text)
        return fail(p, 1, "missing the model (`model NAME` or `layer` lines)");
    if (!l->n_steps)
        return fail(p, 1, "no steps (a lesson is a list of `step` blocks)");
    for (int i = 0; i < l->n_steps; i++)
        if (!l->steps[i].caption[NN_LANG_EN]) {
            p->line = l->steps[i].line;
            return fail(p, 1, "step %d has no `caption en ...`", i + 1);
        }
    return NN_OK;
}

int nn_lesson_parse(nn_lesson *out, const char *name, const char *text, size_t len, nn_error *err)
{
    memset(out, 0, sizeof *out);
    snprintf(out->source, sizeof out->source, "%s", name ? name : "lesson");
    parser *p = calloc(1, sizeof *p);
    if (!p)
        return nn_error_set(err, NN_ERUNTIME, "%s: out of memory", out->source);
    p->source = out->source;
    p->l = out;
    p->err = err;
    int rc = NN_OK;
    if (len > MAX_LESSON_BYTES) {
        rc = nn_error_set(err, NN_EINPUT, "%s: too large (%zu bytes, at most %d)", p->source, len, MAX_LESSON_BYTES);
        goto done;
    }
    size_t pos = 0;
    /* A UTF-8 byte order mark is allowed and skipped. */
    if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
        pos = 3;
    while (pos < len) {
        p->line++;
        size_t end = pos;
        while (end < len && text[end] != '\n')
            end++;
        size_t n = end - pos;
        if (n && text[pos + n - 1] == '\r')
            n--;
        if (n > MAX_LINE) {
            rc = fail(p, MAX_LINE + 1, "line too long (at most %d bytes)", MAX_LINE);
            goto done;
        }
        if ((rc = check_text(p, text + pos, n)))
            goto done;
        memcpy(p->buf, text + pos, n);
        p->buf[n] = '\0';
        pos = end + 1;
        if ((rc = tokenize(p)))
            goto done;
        if (!p->n)
            continue;
        if (!strcmp(p->tok[0].text, "step") && (p->n == 1 || !out->n_steps))
            rc = new_step(p);
        else if (!out->n_steps)
            rc = parse_header(p);
        else
            rc = parse_action(p);
        if (rc)
            goto done;
    }
    rc = finish(p);
done:
    free(p);
    if (rc)
        nn_lesson_free(out);
    return rc;
}

int nn_lesson_load(nn_lesson *out, const char *path, nn_error *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return nn_error_set(err, NN_EINPUT, "%s: cannot open: %s", path, strerror(errno));
    char *buf = malloc(MAX_LESSON_BYTES + 1);
    if (!buf) {
        fclose(f);
        return nn_error_set(err, NN_ERUNTIME, "%s: out of memory", path);
    }
    size_t n = fread(buf, 1, MAX_LESSON_BYTES + 1, f);
    int bad = ferror(f);
    fclose(f);
    int rc = bad ? nn_error_set(err, NN_ERUNTIME, "%s: read error", path) : nn_lesson_parse(out, path, buf, n, err);
    free(buf);
    return rc;
}

void nn_lesson_free(nn_lesson *l)
{
    for (int k = 0; k < NN_LANG_COUNT; k++)
        free(l->title[k]);
    for (int i = 0; i < l->n_steps; i++)
        for (int k = 0; k < NN_LANG_COUNT; k++)
            free(l->steps[i].caption[k]);
    free(l->steps);
    free(l->actions);
    free(l->spec_text);
    char source[sizeof l->source];
    memcpy(source, l->source, sizeof source);
    memset(l, 0, sizeof *l);
    memcpy(l->source, source, sizeof source);
}
