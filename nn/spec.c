/* The model-spec parser.  A line is a keyword, positional arguments and
 * key=value options; every error points at the line and column it found. */
#include "spec.h"

#include <ctype.h>
#include <errno.h>
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

static int fail(parser *p, int col, const char *fmt, const char *arg)
{
    char what[sizeof p->err->msg];
    snprintf(what, sizeof what, fmt, arg);
    return nn_error_set(p->err, NN_EINPUT, "%s:%d:%d: %s", p->source, p->line, col, what);
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

static int parse_dense_option(parser *p, nn_layer *layer, token *t)
{
    char *value = split_option(t);
    if (!value)
        return fail(p, t->col, "unexpected '%s' (dense takes UNITS, then init=... or bias=0|1)", t->text);
    if (!strcmp(t->text, "init")) {
        nn_hparams hp;
        nn_hparams_defaults(&hp);
        nn_error inner;
        if (nn_hparams_set(&hp, "init", value, &inner))
            return fail(p, t->col, "%s", inner.msg);
        layer->init = hp.init;
    } else if (!strcmp(t->text, "bias")) {
        if (strcmp(value, "0") && strcmp(value, "1"))
            return fail(p, t->col + 5, "expected bias=0 or bias=1, not '%s'", value);
        layer->bias = value[0] == '1';
    } else {
        return fail(p, t->col, "unknown option '%s' for dense (expected init or bias)", t->text);
    }
    return NN_OK;
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
                    "unknown layer '%s' (expected input, dense, relu, tanh, sigmoid, dropout, flatten, "
                    "reshape, softmax_xent, sigmoid_bce, mse or train)",
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
    int want_args = 0;
    switch (kind) {
    case NN_LAYER_INPUT:
    case NN_LAYER_RESHAPE:
        if (p->n < 2)
            return fail(p, kw->col + (int)strlen(kw->text) + 1, "expected a shape such as %s", "1x28x28");
        if (parse_shape(p, &p->tok[1], &layer->ndim, layer->dim))
            return NN_EINPUT;
        want_args = 2;
        break;
    case NN_LAYER_DENSE:
        if (p->n < 2)
            return fail(p, kw->col + 6, "expected the number of units, as in %s", "dense 128");
        if (parse_positive(p, &p->tok[1], "the number of units", &layer->units))
            return NN_EINPUT;
        for (int i = 2; i < p->n; i++)
            if (parse_dense_option(p, layer, &p->tok[i]))
                return NN_EINPUT;
        want_args = p->n;
        break;
    case NN_LAYER_DROPOUT:
        if (p->n < 2)
            return fail(p, kw->col + 8, "expected the dropout rate, as in %s", "dropout 0.5");
        if (parse_rate(p, &p->tok[1], &layer->rate))
            return NN_EINPUT;
        want_args = 2;
        break;
    default:
        want_args = 1;
    }
    if (p->n > want_args)
        return fail(p, p->tok[want_args].col, "unexpected '%s' at the end of the line", p->tok[want_args].text);
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
