/* Search spaces: parsing, grid and random trial generation, and the
 * successive-halving plan.  The runner that trains trials is search_run.c. */
#include "search.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

/* Keys whose values are whole numbers: their ranges draw integers. */
static const char *integer_keys[] = {"epochs", "batch", "lr_step", "seed", "threads"};

static int is_integer_key(const char *key)
{
    for (size_t i = 0; i < sizeof integer_keys / sizeof *integer_keys; i++)
        if (!strcmp(key, integer_keys[i]))
            return 1;
    return 0;
}

/* Keys whose values are names or yes/no: only lists make sense. */
static int is_named_key(const char *key)
{
    static const char *names[] = {"model", "optimizer", "schedule", "init", "augment", "flip", "nesterov"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(key, names[i]))
            return 1;
    return 0;
}

int nn_search_find(const nn_search_space *space, const char *key)
{
    for (int i = 0; i < space->n_params; i++)
        if (!strcmp(space->params[i].key, key))
            return i;
    return -1;
}

/* Check one value of key as training would; models are checked by the caller. */
static int check_value(const char *token, const char *key, const char *value, nn_error *err)
{
    if (!strcmp(key, "model"))
        return NN_OK;
    nn_hparams hp;
    nn_hparams_defaults(&hp);
    nn_error e;
    if (nn_hparams_set(&hp, key, value, &e))
        return nn_error_set(err, NN_EINPUT, "'%s': %s", token, e.msg);
    return NN_OK;
}

static int parse_number(const char *token, const char *s, size_t len, double *out, nn_error *err)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return nn_error_set(err, NN_EINPUT, "'%s': a range needs two numbers, as in lr=1e-4..1e-1", token);
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (end == buf || *end || errno || !isfinite(v))
        return nn_error_set(err, NN_EINPUT, "'%s': '%s' is not a number", token, buf);
    *out = v;
    return NN_OK;
}

/* lo..hi or lo..hi:log */
static int parse_range(nn_search_param *p, const char *token, const char *spec, nn_error *err)
{
    const char *dots = strstr(spec, "..");
    const char *colon = strchr(dots, ':');
    const char *hi_end = colon ? colon : spec + strlen(spec);
    if (colon && strcmp(colon, ":log") != 0)
        return nn_error_set(err, NN_EINPUT, "'%s': unknown range suffix '%s' (expected :log)", token, colon);
    if (is_named_key(p->key))
        return nn_error_set(err, NN_EINPUT, "'%s': %s takes names or yes/no, listed as in %s=a,b", token, p->key,
                            p->key);
    int rc = parse_number(token, spec, (size_t)(dots - spec), &p->lo, err);
    if (!rc)
        rc = parse_number(token, dots + 2, (size_t)(hi_end - dots - 2), &p->hi, err);
    if (rc)
        return rc;
    p->kind = colon ? NN_SEARCH_LOG_RANGE : NN_SEARCH_RANGE;
    p->integer = is_integer_key(p->key);
    if (!(p->lo < p->hi))
        return nn_error_set(err, NN_EINPUT, "'%s': empty range (the low end must be below the high end)", token);
    if (p->kind == NN_SEARCH_LOG_RANGE && p->lo <= 0)
        return nn_error_set(err, NN_EINPUT, "'%s': a :log range must be above 0", token);
    if (p->integer && (p->lo != floor(p->lo) || p->hi != floor(p->hi)))
        return nn_error_set(err, NN_EINPUT, "'%s': %s takes whole numbers", token, p->key);
    /* Both ends must be values training accepts. */
    char value[64];
    snprintf(value, sizeof value, "%.17g", p->lo);
    if ((rc = check_value(token, p->key, value, err)))
        return rc;
    /* The top of a float range is never drawn; check just below it, so that
     * dropout=0..1 (rates below 1) is fine. */
    snprintf(value, sizeof value, "%.9g", p->integer ? p->hi : p->hi - (p->hi - p->lo) * 1e-6);
    return check_value(token, p->key, value, err);
}

static int parse_list(nn_search_param *p, const char *token, const char *spec, nn_error *err)
{
    p->kind = NN_SEARCH_LIST;
    const char *s = spec;
    for (;;) {
        size_t len = strcspn(s, ",");
        if (len == 0)
            return nn_error_set(err, NN_EINPUT, "'%s': empty value in the list", token);
        if (len >= NN_SEARCH_VALUE_LEN)
            return nn_error_set(err, NN_EINPUT, "'%s': value too long", token);
        if (p->n_values == NN_SEARCH_MAX_VALUES)
            return nn_error_set(err, NN_EINPUT, "'%s': more than %d values", token, NN_SEARCH_MAX_VALUES);
        char *v = p->values[p->n_values++];
        memcpy(v, s, len);
        v[len] = '\0';
        int rc = check_value(token, p->key, v, err);
        if (rc)
            return rc;
        if (!s[len])
            return NN_OK;
        s += len + 1;
    }
}

static int parse_token(nn_search_space *space, const char *token, nn_error *err)
{
    const char *eq = strchr(token, '=');
    if (!eq || eq == token)
        return nn_error_set(err, NN_EINPUT, "'%s': expected key=values, as in lr=0.01,0.1 or lr=1e-4..1e-1:log",
                            token);
    nn_search_param p;
    memset(&p, 0, sizeof p);
    size_t klen = (size_t)(eq - token);
    if (klen >= sizeof p.key)
        return nn_error_set(err, NN_EINPUT, "'%s': unknown hyperparameter", token);
    memcpy(p.key, token, klen);
    for (char *c = p.key; *c; c++)
        if (*c == '-')
            *c = '_';
    if (strcmp(p.key, "model") != 0 && !nn_hparams_known(p.key)) {
        nn_error e;
        nn_hparams hp;
        nn_hparams_defaults(&hp);
        nn_hparams_set(&hp, p.key, "0", &e); /* its message lists the known keys */
        return nn_error_set(err, NN_EINPUT, "'%s': %s, or model", token, e.msg);
    }
    if (nn_search_find(space, p.key) >= 0)
        return nn_error_set(err, NN_EINPUT, "'%s': %s is given twice", token, p.key);
    if (space->n_params == NN_SEARCH_MAX_PARAMS)
        return nn_error_set(err, NN_EINPUT, "'%s': more than %d searched hyperparameters", token,
                            NN_SEARCH_MAX_PARAMS);
    const char *spec = eq + 1;
    if (!*spec)
        return nn_error_set(err, NN_EINPUT, "'%s': no values after '='", token);
    int rc = strstr(spec, "..") ? parse_range(&p, token, spec, err) : parse_list(&p, token, spec, err);
    if (rc)
        return rc;
    if (p.kind != NN_SEARCH_LIST)
        space->has_ranges = 1;
    space->params[space->n_params++] = p;
    return NN_OK;
}

int nn_search_parse(nn_search_space *space, const char *text, nn_error *err)
{
    memset(space, 0, sizeof *space);
    const char *s = text;
    for (;;) {
        while (isspace((unsigned char)*s))
            s++;
        if (!*s)
            break;
        size_t len = 0;
        while (s[len] && !isspace((unsigned char)s[len]))
            len++;
        char token[512];
        if (len >= sizeof token)
            return nn_error_set(err, NN_EINPUT, "'%.40s...': token too long", s);
        memcpy(token, s, len);
        token[len] = '\0';
        int rc = parse_token(space, token, err);
        if (rc)
            return rc;
        s += len;
    }
    if (space->n_params == 0)
        return nn_error_set(err, NN_EINPUT, "empty search space: give key=values, as in lr=0.01,0.1 batch=32,64");
    return NN_OK;
}

int nn_search_grid_size(const nn_search_space *space, int *count, nn_error *err)
{
    long n = 1;
    for (int i = 0; i < space->n_params; i++) {
        const nn_search_param *p = &space->params[i];
        if (p->kind != NN_SEARCH_LIST)
            return nn_error_set(err, NN_EINPUT,
                                "%s: a grid takes listed values, as in %s=0.1,0.2; ranges need --random N",
                                p->key, p->key);
        n *= p->n_values;
        if (n > NN_SEARCH_MAX_TRIALS)
            return nn_error_set(err, NN_EINPUT, "the grid has more than %d points", NN_SEARCH_MAX_TRIALS);
    }
    *count = (int)n;
    return NN_OK;
}

void nn_search_grid_point(const nn_search_space *space, int i, nn_trial_config *out)
{
    memset(out, 0, sizeof *out);
    out->n = space->n_params;
    for (int k = space->n_params - 1; k >= 0; k--) {
        const nn_search_param *p = &space->params[k];
        snprintf(out->key[k], sizeof out->key[k], "%s", p->key);
        snprintf(out->value[k], sizeof out->value[k], "%s", p->values[i % p->n_values]);
        i /= p->n_values;
    }
}

void nn_search_random_point(const nn_search_space *space, uint64_t seed, int i, nn_trial_config *out)
{
    memset(out, 0, sizeof *out);
    nn_rng rng;
    /* A stream per trial, so trial i does not depend on how many came before. */
    nn_rng_seed(&rng, seed * 0x9e3779b97f4a7c15ULL ^ (0x5ea4c400ULL + (uint64_t)i * 0xbf58476d1ce4e5b9ULL));
    out->n = space->n_params;
    for (int k = 0; k < space->n_params; k++) {
        const nn_search_param *p = &space->params[k];
        snprintf(out->key[k], sizeof out->key[k], "%s", p->key);
        /* Two 32-bit halves give a uniform double with more than float resolution. */
        double u = (double)(nn_rng_next(&rng) >> 11) * 0x1.0p-53;
        if (p->kind == NN_SEARCH_LIST) {
            int pick = (int)(u * p->n_values);
            snprintf(out->value[k], sizeof out->value[k], "%s", p->values[pick < p->n_values ? pick : p->n_values - 1]);
        } else if (p->integer) {
            double v;
            if (p->kind == NN_SEARCH_LOG_RANGE)
                v = floor(exp(log(p->lo) + u * (log(p->hi + 1) - log(p->lo))));
            else
                v = p->lo + floor(u * (p->hi - p->lo + 1));
            if (v > p->hi)
                v = p->hi;
            snprintf(out->value[k], sizeof out->value[k], "%.0f", v);
        } else {
            double v = p->kind == NN_SEARCH_LOG_RANGE ? exp(log(p->lo) + u * (log(p->hi) - log(p->lo)))
                                                      : p->lo + u * (p->hi - p->lo);
            /* 4 digits read well; if rounding reaches hi or leaves what
             * training accepts (dropout just below 1), use more. */
            char buf[NN_SEARCH_VALUE_LEN];
            static const char *formats[] = {"%.4g", "%.6g", "%.9g"};
            for (int f = 0; f < 3; f++) {
                snprintf(buf, sizeof buf, formats[f], v);
                double r = strtod(buf, NULL);
                if (r >= p->lo && r < p->hi && check_value(buf, p->key, buf, NULL) == NN_OK)
                    break;
                if (f == 2) /* v rounds up to an edge training refuses: take the low end */
                    snprintf(buf, sizeof buf, "%.9g", p->lo);
            }
            snprintf(out->value[k], sizeof out->value[k], "%s", buf);
        }
    }
}

int nn_trial_config_apply(const nn_trial_config *c, nn_hparams *hp, nn_error *err)
{
    for (int k = 0; k < c->n; k++) {
        if (!strcmp(c->key[k], "model"))
            continue;
        int rc = nn_hparams_set(hp, c->key[k], c->value[k], err);
        if (rc)
            return rc;
    }
    return NN_OK;
}

const char *nn_trial_config_get(const nn_trial_config *c, const char *key)
{
    for (int k = 0; k < c->n; k++)
        if (!strcmp(c->key[k], key))
            return c->value[k];
    return NULL;
}

char *nn_trial_config_format(const nn_trial_config *c, char *buf, size_t len)
{
    size_t at = 0;
    if (len)
        buf[0] = '\0';
    for (int k = 0; k < c->n && at < len; k++) {
        int w = snprintf(buf + at, len - at, "%s%s=%s", k ? " " : "", c->key[k], c->value[k]);
        if (w < 0)
            break;
        at += (size_t)w;
    }
    return buf;
}

int nn_halving_plan_make(nn_halving_plan *plan, int n, int max_epochs, int min_epochs, double keep,
                         nn_error *err)
{
    memset(plan, 0, sizeof *plan);
    if (!(keep > 0 && keep < 1))
        return nn_error_set(err, NN_EINPUT, "halving: keep %g is out of range (expected 0 < keep < 1)", keep);
    if (min_epochs < 1 || min_epochs > max_epochs)
        return nn_error_set(err, NN_EINPUT, "halving: the first rung's %d epochs must be in 1..%d (--epochs)",
                            min_epochs, max_epochs);
    if (n < 1)
        return nn_error_set(err, NN_EINPUT, "halving: no trials");
    int trials = n;
    double epochs = min_epochs;
    for (;;) {
        int r = plan->rungs++;
        int e = epochs >= max_epochs || trials == 1 || r == NN_SEARCH_MAX_RUNGS - 1 ? max_epochs : (int)epochs;
        plan->trials[r] = trials;
        plan->epochs[r] = e;
        if (e == max_epochs)
            break;
        int next = (int)floor(trials * keep + 1e-9);
        trials = next < 1 ? 1 : next;
        /* Each rung trains 1/keep times longer; at least one epoch more. */
        double grown = ceil(epochs / keep - 1e-9);
        epochs = grown > epochs ? grown : epochs + 1;
    }
    return NN_OK;
}

void nn_search_top(const double *scores, int n, int keep, int *chosen)
{
    if (keep > n)
        keep = n;
    for (int k = 0; k < keep; k++) {
        int best = -1;
        for (int i = 0; i < n; i++) {
            int taken = 0;
            for (int j = 0; j < k; j++)
                taken |= chosen[j] == i;
            if (taken)
                continue;
            /* Strictly better wins, so ties keep the lower index; NaN never beats anything. */
            if (best < 0 || (!isnan(scores[i]) && (isnan(scores[best]) || scores[i] > scores[best])))
                best = i;
        }
        chosen[k] = best;
    }
}
