/* Parsing, validating and printing training hyperparameters by name. */
#include "hparams.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *optimizer_names[] = {"sgd", "momentum", "adam", "rmsprop"};
static const char *schedule_names[] = {"constant", "step", "cosine"};
static const char *init_names[] = {"default", "uniform", "xavier", "he", "zero"};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

const char *nn_optimizer_name(int v) { return v >= 0 && v < COUNT(optimizer_names) ? optimizer_names[v] : "?"; }
const char *nn_schedule_name(int v) { return v >= 0 && v < COUNT(schedule_names) ? schedule_names[v] : "?"; }
const char *nn_init_name(int v) { return v >= 0 && v < COUNT(init_names) ? init_names[v] : "?"; }

void nn_hparams_defaults(nn_hparams *hp)
{
    memset(hp, 0, sizeof *hp);
    hp->epochs = 10;
    hp->batch = 64;
    hp->optimizer = NN_ADAM;
    hp->lr = 1e-3f;
    hp->momentum = 0.9f;
    hp->beta1 = 0.9f;
    hp->beta2 = 0.999f;
    hp->alpha = 0.99f;
    hp->eps = 1e-8f;
    hp->dropout = -1.0f;
    hp->schedule = NN_SCHEDULE_CONSTANT;
    hp->lr_gamma = 0.1f;
    hp->init = NN_INIT_DEFAULT;
    hp->seed = 1;
}

static int parse_float(const char *key, const char *s, double lo, double hi, int lo_open, float *out, nn_error *err)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || (errno && errno != ERANGE) || !isfinite(v))
        return nn_error_set(err, NN_EINPUT, "%s: '%s' is not a number", key, s);
    /* ERANGE here is underflow: a value that would be stored as 0. */
    if (v < lo || v > hi || (lo_open && (errno == ERANGE || (float)v == (float)lo)))
        return nn_error_set(err, NN_EINPUT, "%s: %s is out of range (expected %s%g..%g)", key, s,
                            lo_open ? ">" : "", lo, hi);
    *out = (float)v;
    return NN_OK;
}

static int parse_int(const char *key, const char *s, long lo, long hi, long *out, nn_error *err)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno)
        return nn_error_set(err, NN_EINPUT, "%s: '%s' is not a whole number", key, s);
    if (v < lo || v > hi)
        return nn_error_set(err, NN_EINPUT, "%s: %s is out of range (expected %ld..%ld)", key, s, lo, hi);
    *out = v;
    return NN_OK;
}

static int parse_name(const char *key, const char *s, const char **names, int count, int *out, nn_error *err)
{
    char list[128] = "";
    for (int i = 0; i < count; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return NN_OK;
        }
        strncat(list, i ? "|" : "", sizeof list - strlen(list) - 1);
        strncat(list, names[i], sizeof list - strlen(list) - 1);
    }
    return nn_error_set(err, NN_EINPUT, "%s: unknown value '%s' (expected %s)", key, s, list);
}

static int parse_bool(const char *key, const char *s, int *out, nn_error *err)
{
    if (!strcmp(s, "1") || !strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on"))
        *out = 1;
    else if (!strcmp(s, "0") || !strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off"))
        *out = 0;
    else
        return nn_error_set(err, NN_EINPUT, "%s: '%s' is not a yes/no value (expected 1|0|true|false)", key, s);
    return NN_OK;
}

static const char *known_keys[] = {
    "epochs", "batch", "optimizer", "lr", "momentum", "nesterov", "beta1", "beta2", "alpha", "eps",
    "weight_decay", "l1", "dropout", "schedule", "lr_step", "lr_gamma", "init", "augment", "flip", "seed",
    "threads", "max_loss",
};

int nn_hparams_known(const char *key)
{
    for (int i = 0; i < COUNT(known_keys); i++)
        if (strcmp(key, known_keys[i]) == 0)
            return 1;
    return 0;
}

int nn_hparams_set(nn_hparams *hp, const char *key, const char *value, nn_error *err)
{
    long n;
    float f;
    int rc;
    if (!strcmp(key, "epochs")) {
        if (!(rc = parse_int(key, value, 1, 100000, &n, err)))
            hp->epochs = (int)n;
    } else if (!strcmp(key, "batch")) {
        if (!(rc = parse_int(key, value, 1, 65536, &n, err)))
            hp->batch = (int)n;
    } else if (!strcmp(key, "optimizer")) {
        rc = parse_name(key, value, optimizer_names, COUNT(optimizer_names), &hp->optimizer, err);
    } else if (!strcmp(key, "lr")) {
        rc = parse_float(key, value, 0, 1e3, 1, &hp->lr, err);
    } else if (!strcmp(key, "momentum")) {
        rc = parse_float(key, value, 0, 0.999999, 0, &hp->momentum, err);
    } else if (!strcmp(key, "nesterov")) {
        rc = parse_bool(key, value, &hp->nesterov, err);
    } else if (!strcmp(key, "beta1")) {
        rc = parse_float(key, value, 0, 0.999999, 0, &hp->beta1, err);
    } else if (!strcmp(key, "beta2")) {
        rc = parse_float(key, value, 0, 0.999999999, 0, &hp->beta2, err);
    } else if (!strcmp(key, "alpha")) {
        rc = parse_float(key, value, 0, 0.999999999, 0, &hp->alpha, err);
    } else if (!strcmp(key, "eps")) {
        rc = parse_float(key, value, 0, 1, 1, &hp->eps, err);
    } else if (!strcmp(key, "weight_decay")) {
        rc = parse_float(key, value, 0, 1, 0, &hp->weight_decay, err);
    } else if (!strcmp(key, "l1")) {
        rc = parse_float(key, value, 0, 1, 0, &hp->l1, err);
    } else if (!strcmp(key, "dropout")) {
        if (!(rc = parse_float(key, value, -INFINITY, INFINITY, 0, &f, err))) {
            if (!(f >= 0.0f && f < 1.0f))
                return nn_error_set(err, NN_EINPUT, "dropout: %s is out of range (expected 0 <= rate < 1)", value);
            hp->dropout = f;
        }
    } else if (!strcmp(key, "schedule")) {
        rc = parse_name(key, value, schedule_names, COUNT(schedule_names), &hp->schedule, err);
    } else if (!strcmp(key, "lr_step")) {
        if (!(rc = parse_int(key, value, 0, 100000, &n, err)))
            hp->lr_step = (int)n;
    } else if (!strcmp(key, "lr_gamma")) {
        rc = parse_float(key, value, 0, 1, 1, &hp->lr_gamma, err);
    } else if (!strcmp(key, "init")) {
        rc = parse_name(key, value, init_names, COUNT(init_names), &hp->init, err);
    } else if (!strcmp(key, "augment")) {
        rc = parse_bool(key, value, &hp->augment, err);
    } else if (!strcmp(key, "flip")) {
        rc = parse_bool(key, value, &hp->flip, err);
    } else if (!strcmp(key, "seed")) {
        char *end;
        errno = 0;
        unsigned long long s = strtoull(value, &end, 10);
        if (end == value || *end || errno || value[0] == '-')
            return nn_error_set(err, NN_EINPUT, "seed: '%s' is not a non-negative whole number", value);
        hp->seed = s;
        rc = NN_OK;
    } else if (!strcmp(key, "max_loss")) {
        rc = parse_float(key, value, 0, 1e30, 0, &hp->max_loss, err);
    } else if (!strcmp(key, "threads")) {
        if (!(rc = parse_int(key, value, 0, 256, &n, err)))
            hp->threads = (int)n;
    } else {
        char list[400] = "";
        for (int i = 0; i < COUNT(known_keys); i++) {
            strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, known_keys[i], sizeof list - strlen(list) - 1);
        }
        return nn_error_set(err, NN_EINPUT, "unknown hyperparameter '%s' (known: %s)", key, list);
    }
    return rc;
}

/* The shortest decimal form that nn_hparams_set reads back as the same
 * float, so a model file's hyperparameters restore bit for bit. */
static const char *format_float(float v, char *buf, size_t len)
{
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(buf, len, "%.*g", digits, (double)v);
        if ((float)strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

char *nn_hparams_format(const nn_hparams *hp, char *buf, size_t len)
{
    char f[11][24], dropout[40] = "", max_loss[48] = "";
    if (hp->dropout >= 0)
        snprintf(dropout, sizeof dropout, " dropout=%s", format_float(hp->dropout, f[9], sizeof f[9]));
    if (hp->max_loss > 0)
        snprintf(max_loss, sizeof max_loss, " max_loss=%s", format_float(hp->max_loss, f[10], sizeof f[10]));
    snprintf(buf, len,
             "epochs=%d batch=%d optimizer=%s lr=%s momentum=%s nesterov=%d beta1=%s beta2=%s "
             "alpha=%s eps=%s weight_decay=%s l1=%s%s schedule=%s lr_step=%d lr_gamma=%s "
             "init=%s augment=%d flip=%d seed=%llu threads=%d%s",
             hp->epochs, hp->batch, nn_optimizer_name(hp->optimizer), format_float(hp->lr, f[0], sizeof f[0]),
             format_float(hp->momentum, f[1], sizeof f[1]), hp->nesterov, format_float(hp->beta1, f[2], sizeof f[2]),
             format_float(hp->beta2, f[3], sizeof f[3]), format_float(hp->alpha, f[4], sizeof f[4]),
             format_float(hp->eps, f[5], sizeof f[5]), format_float(hp->weight_decay, f[6], sizeof f[6]),
             format_float(hp->l1, f[7], sizeof f[7]), dropout, nn_schedule_name(hp->schedule), hp->lr_step,
             format_float(hp->lr_gamma, f[8], sizeof f[8]), nn_init_name(hp->init), hp->augment, hp->flip,
             (unsigned long long)hp->seed, hp->threads, max_loss);
    return buf;
}

float nn_hparams_lr_at(const nn_hparams *hp, int epoch, double progress)
{
    switch (hp->schedule) {
    case NN_SCHEDULE_STEP: {
        int step = hp->lr_step > 0 ? hp->lr_step : (hp->epochs >= 3 ? hp->epochs / 3 : 1);
        return hp->lr * powf(hp->lr_gamma, (float)(epoch / step));
    }
    case NN_SCHEDULE_COSINE:
        if (progress > 1)
            progress = 1;
        return (float)(hp->lr * 0.5 * (1.0 + cos(3.14159265358979323846 * progress)));
    default:
        return hp->lr;
    }
}
