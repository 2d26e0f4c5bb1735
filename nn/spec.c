/* The model-spec parser.  A line is a keyword, positional arguments and
 * key=value options; every error points at the line and column it found. */
#include "spec.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOKENS 32
#define MAX_LAYERS 256
#define MAX_SPEC_BYTES (1 << 20)

static const char *layer_names[NN_LAYER_COUNT] = {
    [NN_LAYER_INPUT] = "input",
    [NN_LAYER_DENSE] = "dense",
    [NN_LAYER_RELU] = "relu",
    [NN_LAYER_TANH] = "tanh",
    [NN_LAYER_SIGMOID] = "sigmoid",
    [NN_LAYER_DROPOUT] = "dropout",
    [NN_LAYER_FLATTEN] = "flatten",
    [NN_LAYER_RESHAPE] = "reshape",
    [NN_LAYER_SOFTMAX_XENT] = "softmax_xent",
    [NN_LAYER_SIGMOID_BCE] = "sigmoid_bce",
    [NN_LAYER_MSE] = "mse",
    [NN_LAYER_CONV] = "conv",
    [NN_LAYER_MAXPOOL] = "maxpool",
    [NN_LAYER_AVGPOOL] = "avgpool",
    [NN_LAYER_LSTM] = "lstm",
    [NN_LAYER_GAUSSIAN] = "gaussian",
};

const char *nn_layer_name(int kind)
{
    return kind >= 0 && kind < NN_LAYER_COUNT ? layer_names[kind] : "?";
}

int nn_layer_is_loss(int kind)
{
    return kind == NN_LAYER_SOFTMAX_XENT || kind == NN_LAYER_SIGMOID_BCE || kind == NN_LAYER_MSE;
}

typedef struct token {
    char text[128];
    int col; /* 1-based */
} token;

typedef struct parser {
    const char *source;
    int line;
    token tok[MAX_TOKENS];
    int n;
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

/* Split one line into tokens, dropping a # comment. */
static int tokenize(parser *p, const char *line, size_t len)
{
    p->n = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && isspace((unsigned char)line[i]))
            i++;
        if (i >= len || line[i] == '#')
            break;
        size_t start = i;
        while (i < len && !isspace((unsigned char)line[i]) && line[i] != '#')
            i++;
        if (p->n == MAX_TOKENS)
            return fail(p, (int)start + 1, "too many words on one line (at most %s)", "32");
        if (i - start >= sizeof p->tok[0].text)
            return fail(p, (int)start + 1, "word too long (at most %s characters)", "127");
        token *t = &p->tok[p->n++];
        memcpy(t->text, line + start, i - start);
        t->text[i - start] = '\0';
        t->col = (int)start + 1;
    }
    return NN_OK;
}

static int parse_positive(parser *p, const token *t, const char *what, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(t->text, &end, 10);
    if (end == t->text || *end || errno || v < 1 || v > 1 << 24)
        return fail(p, t->col, "expected %s (a whole number from 1 to 16777216)", what);
    *out = (int)v;
    return NN_OK;
}

/* A shape like 1x28x28 or 784. */
static int parse_shape(parser *p, const token *t, int *ndim, int *dim)
{
    const char *s = t->text;
    *ndim = 0;
    for (;;) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (end == s || errno || v < 1 || v > 1 << 24)
            return fail(p, t->col + (int)(s - t->text), "expected a shape such as %s", "1x28x28");
        if (*ndim == NN_MAX_DIMS - 1)
            return fail(p, t->col, "a shape has at most %s dimensions", "3");
        dim[(*ndim)++] = (int)v;
        if (*end == '\0')
            return NN_OK;
        if (*end != 'x')
            return fail(p, t->col + (int)(end - t->text), "expected 'x' between dimensions, as in %s", "1x28x28");
        s = end + 1;
    }
}

static int parse_rate(parser *p, const token *t, float *out)
{
    char *end;
    errno = 0;
    double v = strtod(t->text, &end);
    if (end == t->text || *end || errno || !(v >= 0 && v < 1))
        return fail(p, t->col, "expected a dropout rate in [0, 1), such as %s", "0.5");
    *out = (float)v;
    return NN_OK;
}

/* Split key=value; returns the value or NULL. */
static char *split_option(token *t)
{
    char *eq = strchr(t->text, '=');
    if (!eq || eq == t->text)
        return NULL;
    *eq = '\0';
    return eq + 1;
}

static int parse_train(parser *p, nn_spec *spec)
{
    for (int i = 1; i < p->n; i++) {
        token *t = &p->tok[i];
        char *value = split_option(t);
        if (!value)
            return fail(p, t->col, "expected key=value, such as %s", "lr=0.01");
        nn_error inner;
        if (nn_hparams_set(&spec->hp, t->text, value, &inner))
            return fail(p, t->col, "%s", inner.msg);
    }
    return NN_OK;
}

/* A kernel or window: "5x5", "3x2" or "5" (square). */
static int parse_window(parser *p, const token *t, const char *example, int *kh, int *kw)
{
    int ndim, dim[NN_MAX_DIMS];
    if (parse_shape(p, t, &ndim, dim))
        return fail(p, t->col, "expected a window size such as %s", example);
    if (ndim > 2)
        return fail(p, t->col, "expected a 2-D window such as %s", example);
    *kh = dim[0];
    *kw = ndim == 2 ? dim[1] : dim[0];
    return NN_OK;
}

static int parse_flag(parser *p, const token *t, const char *key, const char *value, int *out)
{
    if (strcmp(value, "0") && strcmp(value, "1"))
        return fail(p, t->col + (int)strlen(key) + 1, "expected %s=0 or %s=1, not '%s'", key, key, value);
    *out = value[0] == '1';
    return NN_OK;
}

/* Which key=value options each layer kind takes. */
enum { OPT_INIT = 1, OPT_BIAS = 2, OPT_PAD = 4, OPT_STRIDE = 8, OPT_SEQ = 16, OPT_TARGET = 32 };

static int layer_options(int kind)
{
    switch (kind) {
    case NN_LAYER_DENSE:
        return OPT_INIT | OPT_BIAS;
    case NN_LAYER_CONV:
        return OPT_INIT | OPT_BIAS | OPT_PAD | OPT_STRIDE;
    case NN_LAYER_MAXPOOL:
    case NN_LAYER_AVGPOOL:
        return OPT_STRIDE;
    case NN_LAYER_LSTM:
        return OPT_INIT | OPT_SEQ;
    case NN_LAYER_GAUSSIAN:
        return OPT_INIT;
    case NN_LAYER_SIGMOID_BCE:
    case NN_LAYER_MSE:
        return OPT_TARGET;
    default:
        return 0;
    }
}

static const char *option_names(int allowed)
{
    switch (allowed) {
    case OPT_INIT | OPT_BIAS:
        return "init or bias";
    case OPT_INIT | OPT_BIAS | OPT_PAD | OPT_STRIDE:
        return "pad, stride, init or bias";
    case OPT_STRIDE:
        return "stride";
    case OPT_INIT | OPT_SEQ:
        return "init or seq";
    case OPT_INIT:
        return "init";
    case OPT_TARGET:
        return "target";
    default:
        return "none";
    }
}

static int parse_option(parser *p, nn_layer *layer, token *t)
{
    const char *kind = layer_names[layer->kind];
    int allowed = layer_options(layer->kind);
    char *value = split_option(t);
    if (!value)
        return fail(p, t->col, "unexpected '%s' (options of %s: %s)", t->text, kind, option_names(allowed));
    int col = t->col + (int)strlen(t->text) + 1;
    if (!strcmp(t->text, "init") && (allowed & OPT_INIT)) {
        nn_hparams hp;
        nn_hparams_defaults(&hp);
        nn_error inner;
        if (nn_hparams_set(&hp, "init", value, &inner))
            return fail(p, t->col, "%s", inner.msg);
        layer->init = hp.init;
    } else if (!strcmp(t->text, "bias") && (allowed & OPT_BIAS)) {
        return parse_flag(p, t, "bias", value, &layer->bias);
    } else if (!strcmp(t->text, "seq") && (allowed & OPT_SEQ)) {
        return parse_flag(p, t, "seq", value, &layer->all_steps);
    } else if (!strcmp(t->text, "stride") && (allowed & OPT_STRIDE)) {
        token v = {.col = col};
        snprintf(v.text, sizeof v.text, "%s", value);
        return parse_positive(p, &v, "a stride", &layer->stride);
    } else if (!strcmp(t->text, "pad") && (allowed & OPT_PAD)) {
        if (!strcmp(value, "same")) {
            if (layer->kh != layer->kw || layer->kh % 2 == 0)
                return fail(p, col, "pad=same needs a square kernel of odd size, such as %s", "3x3");
            layer->pad = (layer->kh - 1) / 2;
            return NN_OK;
        }
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (end == value || *end || errno || v < 0 || v > 1 << 16)
            return fail(p, col, "expected pad=N (0 to 65536) or pad=same, not '%s'", value);
        layer->pad = (int)v;
    } else if (!strcmp(t->text, "target") && (allowed & OPT_TARGET)) {
        if (strcmp(value, "input") && strcmp(value, "labels"))
            return fail(p, col, "expected target=input or target=labels, not '%s'", value);
        layer->target_input = !strcmp(value, "input");
    } else {
        return fail(p, t->col, "unknown option '%s' for %s (expected %s)", t->text, kind, option_names(allowed));
    }
    return NN_OK;
}

/* The positional arguments of each layer kind; returns how many tokens
 * (keyword included) they took. */
static int parse_arguments(parser *p, nn_layer *layer)
{
    token *kw = &p->tok[0];
    int after = kw->col + (int)strlen(kw->text) + 1;
    switch (layer->kind) {
    case NN_LAYER_INPUT:
    case NN_LAYER_RESHAPE:
        if (p->n < 2)
            return -fail(p, after, "expected a shape such as %s", "1x28x28");
        return parse_shape(p, &p->tok[1], &layer->ndim, layer->dim) ? -1 : 2;
    case NN_LAYER_DENSE:
        if (p->n < 2)
            return -fail(p, after, "expected the number of units, as in %s", "dense 128");
        return parse_positive(p, &p->tok[1], "the number of units", &layer->units) ? -1 : 2;
    case NN_LAYER_LSTM:
        if (p->n < 2)
            return -fail(p, after, "expected the number of hidden units, as in %s", "lstm 128");
        return parse_positive(p, &p->tok[1], "the number of hidden units", &layer->units) ? -1 : 2;
    case NN_LAYER_GAUSSIAN:
        if (p->n < 2)
            return -fail(p, after, "expected the size of the latent code, as in %s", "gaussian 2");
        return parse_positive(p, &p->tok[1], "the size of the latent code", &layer->units) ? -1 : 2;
    case NN_LAYER_CONV:
        if (p->n < 2)
            return -fail(p, after, "expected the number of filters, as in %s", "conv 6 5x5");
        if (parse_positive(p, &p->tok[1], "the number of filters", &layer->units))
            return -1;
        if (p->n < 3)
            return -fail(p, p->tok[1].col + (int)strlen(p->tok[1].text) + 1, "expected the kernel size, as in %s",
                         "conv 6 5x5");
        return parse_window(p, &p->tok[2], "5x5", &layer->kh, &layer->kw) ? -1 : 3;
    case NN_LAYER_MAXPOOL:
    case NN_LAYER_AVGPOOL:
        if (p->n < 2)
            return -fail(p, after, "expected the window size, as in %s 2", kw->text);
        if (parse_window(p, &p->tok[1], "2x2", &layer->kh, &layer->kw))
            return -1;
        layer->stride = layer->kh; /* non-overlapping by default */
        return 2;
    case NN_LAYER_DROPOUT:
        if (p->n < 2)
            return -fail(p, after, "expected the dropout rate, as in %s", "dropout 0.5");
        return parse_rate(p, &p->tok[1], &layer->rate) ? -1 : 2;
    default:
        return 1;
    }
}

static int parse_layer(parser *p, nn_spec *spec)
{
    token *kw = &p->tok[0];
    if (!strcmp(kw->text, "train"))
        return parse_train(p, spec);

    int kind = -1;
    for (int k = 0; k < NN_LAYER_COUNT; k++)
        if (!strcmp(kw->text, layer_names[k]))
            kind = k;
    if (kind < 0)
        return fail(p, kw->col,
                    "unknown layer '%s' (expected input, dense, conv, maxpool, avgpool, lstm, gaussian, relu, "
                    "tanh, sigmoid, dropout, flatten, reshape, softmax_xent, sigmoid_bce, mse or train)",
                    kw->text);
    if (spec->n_layers == MAX_LAYERS)
        return fail(p, kw->col, "too many layers (at most %s)", "256");
    if (spec->n_layers == 0 && kind != NN_LAYER_INPUT)
        return fail(p, kw->col, "the first layer must be 'input SHAPE', not '%s'", kw->text);
    if (spec->n_layers > 0 && kind == NN_LAYER_INPUT)
        return fail(p, kw->col, "'input' may appear only once, as the first layer%s", "");
    if (spec->n_layers > 0 && nn_layer_is_loss(spec->layers[spec->n_layers - 1].kind))
        return fail(p, kw->col, "'%s' after the loss: the loss must be the last layer", kw->text);

    nn_layer *layer = &spec->layers[spec->n_layers];
    memset(layer, 0, sizeof *layer);
    layer->kind = kind;
    layer->line = p->line;
    layer->bias = 1;
    layer->stride = 1;
    int used = parse_arguments(p, layer);
    if (used < 0)
        return NN_EINPUT;
    if (layer_options(kind)) {
        for (int i = used; i < p->n; i++)
            if (parse_option(p, layer, &p->tok[i]))
                return NN_EINPUT;
        used = p->n;
    }
    if (p->n > used)
        return fail(p, p->tok[used].col, "unexpected '%s' at the end of the line", p->tok[used].text);
    spec->n_layers++;
    return NN_OK;
}

int nn_spec_parse(nn_spec *spec, const char *text, const char *source, nn_error *err)
{
    memset(spec, 0, sizeof *spec);
    snprintf(spec->source, sizeof spec->source, "%s", source);
    nn_hparams_defaults(&spec->hp);
    spec->text = strdup(text);
    spec->layers = calloc(MAX_LAYERS, sizeof *spec->layers);
    if (!spec->text || !spec->layers) {
        nn_spec_free(spec);
        return nn_error_set(err, NN_ERUNTIME, "%s: out of memory", source);
    }
    parser p = {.source = spec->source, .err = err};
    const char *at = text;
    while (*at) {
        const char *nl = strchr(at, '\n');
        size_t len = nl ? (size_t)(nl - at) : strlen(at);
        p.line++;
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)at[i] < 0x20 && at[i] != '\t' && at[i] != '\r') {
                fail(&p, (int)i + 1, "unexpected control character%s", "");
                nn_spec_free(spec);
                return NN_EINPUT;
            }
        if (tokenize(&p, at, len) || (p.n > 0 && parse_layer(&p, spec))) {
            nn_spec_free(spec);
            return NN_EINPUT;
        }
        at += len + (nl ? 1 : 0);
    }
    if (spec->n_layers == 0) {
        p.line = 1;
        fail(&p, 1, "the spec has no layers (expected 'input SHAPE' first%s)", "");
    } else if (!nn_layer_is_loss(spec->layers[spec->n_layers - 1].kind)) {
        p.line = spec->layers[spec->n_layers - 1].line;
        fail(&p, 1, "the spec ends without a loss after this layer (expected softmax_xent, sigmoid_bce or mse last%s)", "");
    } else {
        return NN_OK;
    }
    nn_spec_free(spec);
    return NN_EINPUT;
}

int nn_spec_load(nn_spec *spec, const char *path, nn_error *err)
{
    memset(spec, 0, sizeof *spec);
    FILE *f = fopen(path, "rb");
    if (!f)
        return nn_error_set(err, NN_EINPUT, "%s: cannot open model spec: %s", path, strerror(errno));
    char *text = malloc(MAX_SPEC_BYTES + 1);
    if (!text) {
        fclose(f);
        return nn_error_set(err, NN_ERUNTIME, "%s: out of memory", path);
    }
    size_t len = fread(text, 1, MAX_SPEC_BYTES + 1, f);
    int read_error = ferror(f);
    fclose(f);
    if (read_error || len > MAX_SPEC_BYTES) {
        free(text);
        return nn_error_set(err, NN_EINPUT, "%s: %s", path,
                            read_error ? "read error" : "model spec larger than 1 MiB");
    }
    text[len] = '\0';
    if (strlen(text) != len) {
        free(text);
        return nn_error_set(err, NN_EINPUT, "%s: model spec contains a NUL byte", path);
    }
    int rc = nn_spec_parse(spec, text, path, err);
    free(text);
    return rc;
}

void nn_spec_free(nn_spec *spec)
{
    free(spec->text);
    free(spec->layers);
    spec->text = NULL;
    spec->layers = NULL;
    spec->n_layers = 0;
}
