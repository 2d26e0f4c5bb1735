/* `nnlab search`: grid and random hyperparameter search, optionally with
 * successive halving; plain progress lines, a results table, --json. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "cli.h"
#include "commands.h"
#include "data.h"
#include "json.h"
#include "nnlab_config.h"
#include "plot.h"
#include "search.h"
#include "trainer.h"
#if NNLAB_HAVE_TUI
#include "dash.h"
#endif

/* Measured with tests/bench/search_jobs on the 2-core development machine. */
#define JOBS_MEASUREMENT                                                                 \
    "Medians of 3 runs of tests/bench/search_jobs (a\n"                                  \
    "6-trial grid on mnist-small, 2 cores): mlp, 3 epochs: one at a time with 2 BLAS\n"   \
    "threads 7.1 s, two at a time with 1 thread each 5.8 s; lenet, 1 epoch: 21.3 s\n"    \
    "against 17.5 s."

static const char search_help[] =
    "Usage: nnlab search (--grid SPACE | --random N SPACE) [options]\n"
    "\n"
    "Trains one model per point of a hyperparameter space and names the best by\n"
    "test accuracy. SPACE is key=values tokens (one argument, or several), with\n"
    "the keys of the training options below (weight-decay or weight_decay) and\n"
    "`model`:\n"
    "  grid:    lr=0.01,0.03,0.1 batch=32,64       every combination, first key slowest\n"
    "  random:  lr=1e-4..1e-1:log dropout=0..0.5   uniform ranges, :log for log-uniform;\n"
    "           optimizer=sgd,adam                 lists are uniform choices\n"
    "Every trial trains with --seed (default 1), so a trial's figures are exactly\n"
    "those of `nnlab train` with the same options and thread count; the command\n"
    "that reproduces the best trial is printed. Random trial i draws its values\n"
    "from --seed and i alone.\n"
    "\n"
    "Options:\n"
    "  --grid SPACE          grid search\n"
    "  --random N            N trials drawn at random from SPACE\n"
    "  --halving             successive halving: train every trial for --min-epochs,\n"
    "                        keep the best --keep fraction, train those 1/keep times\n"
    "                        longer, and so on up to --epochs\n"
    "  --keep F              fraction kept per halving rung (default 0.5)\n"
    "  --min-epochs N        epochs of the first rung (default 1)\n"
    "  --jobs N              trials trained at once (default: cores, here %ld)\n"
    "  --model NAME|FILE     preset or spec file (default lenet, as for train), unless searched\n"
    "  --data DIR            data directory (default data/mnist-small)\n"
    "  --json                every trial's parameters and figures as one JSON object\n"
    "  --plot FILE.png       test accuracy per epoch of each trial (the best %d),\n"
    "                        the best trial drawn thick\n"
    "  --save-best FILE      save the best trial's trained model (a model file, as\n"
    "                        train --save writes; kept even on Ctrl-C)\n"
    "  --no-tui              plain progress lines instead of the live table (on a\n"
    "                        terminal, a table of the trials with the best one\n"
    "                        highlighted; q stops the search, keeping finished trials)\n"
    "  --no-gui              accepted, as for train\n"
    "  --no-color            a table without colours (as does NO_COLOR=1)\n"
    "  --exit-when-done      close the table when the last trial ends\n"
    "  -h, --help            this help\n"
    "\n"
    "Trials and threads: trials run one per core with one BLAS thread each\n"
    "(here %ld at a time), which measured faster than one trial at a time with\n"
    "every core's BLAS thread. " JOBS_MEASUREMENT "\n"
    "\n"
    "%s"
    "\n"
    "Examples:\n"
    "  nnlab search --grid 'lr=0.01,0.03,0.1 batch=32,64' --model mlp --epochs 3\n"
    "  nnlab search --random 20 lr=1e-4..1e-1:log weight-decay=1e-6..1e-3:log --epochs 5\n"
    "  nnlab search --random 27 --halving --epochs 9 'lr=1e-3..0.3:log optimizer=sgd,momentum,adam'\n"
    "  nnlab search --grid 'model=mlp,linear lr=0.05,0.1' --json > results.json\n"
    "  nnlab search --grid 'lr=0.05,0.1,0.2' --epochs 5 --save-best best.nnl\n";

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static long cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? n : 1;
}

#define MAX_MODELS 16

typedef struct search_options {
    const char *model;
    const char *data;
    const char *save_best;
    const char *plot;
    char space[4096];
    int random;          /* trials, 0 for a grid */
    int grid;
    int halving;
    double keep;
    int min_epochs;
    int jobs;
    int json;
    int no_tui, no_color, exit_when_done;
    cli_hparams hparams;
} search_options;

static void print_help(void)
{
    printf(search_help, cores(), PLOT_MAX_SERIES, cores(), cli_hparams_help);
}

static int append_space(search_options *o, const char *text)
{
    size_t at = strlen(o->space);
    if (at + strlen(text) + 2 > sizeof o->space) {
        cli_error("search: the search space is too long");
        return -1;
    }
    snprintf(o->space + at, sizeof o->space - at, "%s%s", at ? " " : "", text);
    return 0;
}

static int parse_count(const char *opt, const char *value, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (end == value || *end || errno || v < lo || v > hi) {
        cli_error("--%s: '%s' is not a whole number in %ld..%ld", opt, value, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_options(int argc, char **argv, search_options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *value;
        int r;
        long n;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            print_help();
            exit(0);
        } else if ((r = cli_option(argc, argv, &i, "model", &value))) {
            if (r < 0)
                return EXIT_USAGE;
            o->model = value;
        } else if ((r = cli_option(argc, argv, &i, "data", &value))) {
            if (r < 0)
                return EXIT_USAGE;
            o->data = value;
        } else if ((r = cli_option(argc, argv, &i, "save-best", &value))) {
            if (r < 0)
                return EXIT_USAGE;
            o->save_best = value;
        } else if ((r = cli_option(argc, argv, &i, "plot", &value))) {
            if (r < 0)
                return EXIT_USAGE;
            o->plot = value;
        } else if ((r = cli_option(argc, argv, &i, "grid", &value))) {
            if (r < 0 || append_space(o, value))
                return EXIT_USAGE;
            o->grid = 1;
        } else if ((r = cli_option(argc, argv, &i, "random", &value))) {
            if (r < 0 || parse_count("random", value, 1, NN_SEARCH_MAX_TRIALS, &n))
                return EXIT_USAGE;
            o->random = (int)n;
        } else if ((r = cli_option(argc, argv, &i, "keep", &value))) {
            char *end;
            if (r < 0)
                return EXIT_USAGE;
            o->keep = strtod(value, &end);
            if (end == value || *end || !(o->keep > 0 && o->keep < 1)) {
                cli_error("--keep: '%s' is not a fraction between 0 and 1", value);
                return EXIT_USAGE;
            }
        } else if ((r = cli_option(argc, argv, &i, "min-epochs", &value))) {
            if (r < 0 || parse_count("min-epochs", value, 1, NN_TRIAL_MAX_EPOCHS, &n))
                return EXIT_USAGE;
            o->min_epochs = (int)n;
        } else if ((r = cli_option(argc, argv, &i, "jobs", &value))) {
            if (r < 0 || parse_count("jobs", value, 1, 64, &n))
                return EXIT_USAGE;
            o->jobs = (int)n;
        } else if (!strcmp(argv[i], "--halving")) {
            o->halving = 1;
        } else if (!strcmp(argv[i], "--json")) {
            o->json = 1;
        } else if (!strcmp(argv[i], "--no-tui")) {
            o->no_tui = 1;
        } else if (!strcmp(argv[i], "--no-gui")) {
            /* no pad for a search */
        } else if (!strcmp(argv[i], "--no-color")) {
            o->no_color = 1;
        } else if (!strcmp(argv[i], "--exit-when-done")) {
            o->exit_when_done = 1;
        } else if ((r = cli_hparam_option(&o->hparams, argc, argv, &i))) {
            if (r < 0)
                return EXIT_USAGE;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            cli_error("search: unknown option '%s' (see nnlab search --help)", argv[i]);
            return EXIT_USAGE;
        } else if (append_space(o, argv[i])) {
            return EXIT_USAGE;
        }
    }
    if (o->grid && o->random) {
        cli_error("search: give --grid or --random N, not both");
        return EXIT_USAGE;
    }
    if (!o->space[0]) {
        cli_error("search: no search space; give one, as in --grid 'lr=0.01,0.1 batch=32,64' (see --help)");
        return EXIT_USAGE;
    }
    return 0;
}

/* ---- progress lines ---------------------------------------------------- */

typedef struct progress {
    FILE *out;
    int n;
} progress;

static void on_event(void *ctx, const nn_trial *t)
{
    progress *p = ctx;
    char params[1024];
    nn_trial_config_format(&t->config, params, sizeof params);
    switch (t->state) {
    case NN_TRIAL_RUNNING:
        if (t->epoch == 0 || isnan(t->test_accuracy)) {
            if (t->step == 0)
                fprintf(p->out, "trial %*d/%d  %s  started\n", p->n >= 10 ? 2 : 1, t->id + 1, p->n, params);
            break;
        }
        fprintf(p->out, "trial %*d/%d  %s  epoch %d/%d  train loss %.4f  test loss %.4f  acc %.2f%%  %.1fs\n",
                p->n >= 10 ? 2 : 1, t->id + 1, p->n, params, t->epoch, t->hp.epochs, t->train_loss, t->test_loss,
                100 * t->test_accuracy, t->seconds);
        break;
    case NN_TRIAL_DONE:
        fprintf(p->out, "trial %*d/%d  %s  done: test accuracy %.2f%% after %d epochs\n", p->n >= 10 ? 2 : 1,
                t->id + 1, p->n, params, 100 * t->test_accuracy, t->epoch);
        break;
    case NN_TRIAL_CUT:
        fprintf(p->out, "trial %*d/%d  %s  cut after %d epoch%s (test accuracy %.2f%%)\n", p->n >= 10 ? 2 : 1,
                t->id + 1, p->n, params, t->epoch, t->epoch == 1 ? "" : "s", 100 * t->test_accuracy);
        break;
    case NN_TRIAL_FAILED:
        fprintf(p->out, "trial %*d/%d  %s  failed: %s\n", p->n >= 10 ? 2 : 1, t->id + 1, p->n, params, t->error);
        break;
    default:
        break;
    }
    fflush(p->out);
}

static int given(const search_options *o, const char *key)
{
    for (int k = 0; k < o->hparams.n; k++)
        if (!strcmp(o->hparams.key[k], key))
            return 1;
    return 0;
}

/* The `nnlab train` command line that reproduces trial t. */
static void reproduce_command(const search_options *o, const nn_trial *t, char *buf, size_t len)
{
    size_t at = 0;
    const char *model = nn_trial_config_get(&t->config, "model");
#define ADD(...)                                                            \
    do {                                                                    \
        int w_ = snprintf(buf + at, at < len ? len - at : 0, __VA_ARGS__); \
        if (w_ > 0)                                                         \
            at += (size_t)w_;                                               \
    } while (0)
    ADD("nnlab train --model %s", model ? model : o->model);
    if (o->data)
        ADD(" --data %s", o->data);
    for (int k = 0; k < o->hparams.n; k++)
        ADD(" --%s=%s", o->hparams.key[k], o->hparams.value[k]);
    for (int k = 0; k < t->config.n; k++)
        if (strcmp(t->config.key[k], "model") != 0)
            ADD(" --%s=%s", t->config.key[k], t->config.value[k]);
    /* What the trial used without it being said: its epochs, seed and threads. */
    if (!nn_trial_config_get(&t->config, "epochs") && !given(o, "epochs"))
        ADD(" --epochs=%d", t->hp.epochs);
    if (!nn_trial_config_get(&t->config, "seed") && !given(o, "seed"))
        ADD(" --seed=%llu", (unsigned long long)t->hp.seed);
    if (!given(o, "threads"))
        ADD(" --threads=%d", t->hp.threads);
#undef ADD
    if (at >= len && len > 0)
        buf[len - 1] = '\0';
}

static void print_table(FILE *out, const nn_trial *trials, int n, int best)
{
    int *order = malloc((size_t)n * sizeof *order);
    if (!order)
        return;
    /* Best first: finished trials by accuracy, then the others by accuracy. */
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int i = 1; i < n; i++) {
        int v = order[i], j = i;
        while (j > 0) {
            const nn_trial *a = &trials[order[j - 1]], *b = &trials[v];
            int ra = a->state == NN_TRIAL_DONE, rb = b->state == NN_TRIAL_DONE;
            double xa = isnan(a->test_accuracy) ? -1 : a->test_accuracy;
            double xb = isnan(b->test_accuracy) ? -1 : b->test_accuracy;
            if (ra > rb || (ra == rb && xa >= xb))
                break;
            order[j] = order[j - 1];
            j--;
        }
        order[j] = v;
    }
    fprintf(out, "\n   trial  %-40s  epochs  test loss  test acc  state\n", "parameters");
    for (int k = 0; k < n; k++) {
        const nn_trial *t = &trials[order[k]];
        char params[1024];
        nn_trial_config_format(&t->config, params, sizeof params);
        fprintf(out, "%s %5d  %-40s  %6d  %9.4f  %7.2f%%  %s\n", order[k] == best ? "*" : " ", t->id + 1, params,
                t->epoch, t->test_loss, 100 * t->test_accuracy, nn_trial_state_name(t->state));
    }
    free(order);
}

/* A searched value as a JSON number when it is one, else a string. */
static void json_value(json_writer *j, const char *key, const char *value)
{
    char *end;
    double v = strtod(value, &end);
    if (end != value && !*end && isfinite(v))
        json_number(j, key, v);
    else
        json_string(j, key, value);
}

static void write_json(const search_options *o, const nn_trial *trials, int n, int best, int jobs, int threads,
                       double seconds)
{
    json_writer j;
    json_init(&j, stdout);
    json_object_begin(&j, NULL);
    json_string(&j, "mode", o->random ? "random" : "grid");
    json_string(&j, "space", o->space);
    json_string(&j, "model", o->model);
    json_bool(&j, "halving", o->halving);
    json_int(&j, "jobs", jobs);
    json_int(&j, "threads_per_trial", threads);
    json_int(&j, "seed", n ? (long long)trials[0].hp.seed : 0);
    json_number(&j, "seconds", seconds);
    json_bool(&j, "interrupted", interrupted);
    json_array_begin(&j, "trials");
    for (int i = 0; i < n; i++) {
        const nn_trial *t = &trials[i];
        json_object_begin(&j, NULL);
        json_int(&j, "trial", t->id + 1);
        json_object_begin(&j, "params");
        for (int k = 0; k < t->config.n; k++)
            json_value(&j, t->config.key[k], t->config.value[k]);
        json_object_end(&j);
        json_string(&j, "state", nn_trial_state_name(t->state));
        json_int(&j, "epochs", t->epoch);
        json_int(&j, "steps", t->step);
        json_number(&j, "train_loss", t->train_loss);
        json_number(&j, "train_accuracy", t->train_accuracy);
        json_number(&j, "test_loss", t->test_loss);
        json_number(&j, "test_accuracy", t->test_accuracy);
        json_array_begin(&j, "test_accuracy_per_epoch");
        for (int e = 0; e < t->epoch && e < NN_TRIAL_MAX_EPOCHS; e++)
            json_number(&j, NULL, t->test_history[e]);
        json_array_end(&j);
        json_number(&j, "samples_per_sec", t->samples_per_sec);
        json_number(&j, "seconds", t->seconds);
        if (t->state == NN_TRIAL_FAILED)
            json_string(&j, "error", t->error);
        json_object_end(&j);
    }
    json_array_end(&j);
    if (best >= 0) {
        const nn_trial *t = &trials[best];
        char cmd[4096];
        reproduce_command(o, t, cmd, sizeof cmd);
        json_object_begin(&j, "best");
        json_int(&j, "trial", t->id + 1);
        json_object_begin(&j, "params");
        for (int k = 0; k < t->config.n; k++)
            json_value(&j, t->config.key[k], t->config.value[k]);
        json_object_end(&j);
        json_number(&j, "test_accuracy", t->test_accuracy);
        json_number(&j, "test_loss", t->test_loss);
        json_string(&j, "command", cmd);
        json_object_end(&j);
    } else {
        json_null(&j, "best");
    }
    json_object_end(&j);
    json_finish(&j);
}

/* Test accuracy per epoch of the best PLOT_MAX_SERIES trials. */
static int write_plot(const search_options *o, const nn_trial *trials, int n, int best)
{
    static const uint32_t palette[] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b,
                                       0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf, 0x393b79, 0xad494a};
    int order[PLOT_MAX_SERIES], shown = 0;
    /* The best first, then by accuracy after their last epoch. */
    for (int pass = 0; pass < PLOT_MAX_SERIES && pass < n; pass++) {
        int pick = -1;
        for (int i = 0; i < n; i++) {
            int taken = 0;
            for (int k = 0; k < shown; k++)
                taken |= order[k] == i;
            if (taken || trials[i].epoch == 0)
                continue;
            double a = trials[i].test_accuracy, b = pick >= 0 ? trials[pick].test_accuracy : -1;
            if (pick < 0 || i == best || (pick != best && (isnan(b) || a > b)))
                pick = i;
        }
        if (pick < 0)
            break;
        order[shown++] = pick;
    }
    static double xs[NN_TRIAL_MAX_EPOCHS], ys[PLOT_MAX_SERIES][NN_TRIAL_MAX_EPOCHS];
    static char labels[PLOT_MAX_SERIES][160];
    for (int e = 0; e < NN_TRIAL_MAX_EPOCHS; e++)
        xs[e] = e + 1;
    plot_chart c = {.title = "Test accuracy per epoch", .x_label = "epoch", .y_label = "test accuracy (%)",
                    .legend_bottom = 1};
    for (int k = shown - 1; k >= 0; k--) { /* the best last, so it is drawn on top */
        const nn_trial *t = &trials[order[k]];
        char params[128];
        nn_trial_config_format(&t->config, params, sizeof params);
        snprintf(labels[k], sizeof labels[k], "%s%d: %s  %.2f%%", order[k] == best ? "best, trial " : "trial ",
                 t->id + 1, params, 100 * t->test_accuracy);
        for (int e = 0; e < t->epoch && e < NN_TRIAL_MAX_EPOCHS; e++)
            ys[k][e] = 100 * t->test_history[e];
        c.series[c.n_series++] = (plot_series){labels[k], xs, ys[k], t->epoch, palette[k % 12],
                                               order[k] == best ? 4.0f : 1.5f, 1};
    }
    plot_image img;
    nn_error err;
    int rc = plot_image_new(&img, 1200, 720, &err);
    if (!rc) {
        plot_draw_chart(&img, 0, 0, 1200, 720, &c);
        rc = plot_image_write_png(&img, o->plot, &err);
        plot_image_free(&img);
    }
    return rc ? cli_report(&err) : 0;
}

/* ---- setting up the trials ---------------------------------------------- */

typedef struct model_slot {
    const char *name;
    nn_spec spec;
    nn_hparams hp;  /* the spec's train line with the command-line options */
} model_slot;

static model_slot *find_model(model_slot *models, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(models[i].name, name))
            return &models[i];
    return NULL;
}

/* Load every model the trials use; returns an exit code. */
static int load_models(const search_options *o, const nn_search_space *space, model_slot *models, int *n)
{
    const char *names[MAX_MODELS];
    int count = 0;
    int k = nn_search_find(space, "model");
    if (k >= 0) {
        for (int v = 0; v < space->params[k].n_values && count < MAX_MODELS; v++)
            names[count++] = space->params[k].values[v];
        if (space->params[k].n_values > MAX_MODELS) {
            cli_error("search: at most %d models", MAX_MODELS);
            return EXIT_USAGE;
        }
    } else {
        names[count++] = o->model;
    }
    for (int i = 0; i < count; i++) {
        if (find_model(models, *n, names[i]))
            continue;
        model_slot *m = &models[*n];
        m->name = names[i];
        int rc = cli_load_model(names[i], &o->hparams, &m->spec, &m->hp);
        if (rc)
            return rc;
        ++*n;
    }
    return 0;
}

static int make_trials(const search_options *o, const nn_search_space *space, model_slot *models, int n_models,
                       int threads, nn_trial **out, int *n_out)
{
    nn_error err;
    int n = o->random;
    if (!n && nn_search_grid_size(space, &n, &err))
        return cli_report(&err);
    nn_trial *trials = calloc((size_t)n, sizeof *trials);
    if (!trials) {
        cli_error("out of memory");
        return EXIT_RUNTIME;
    }
    for (int i = 0; i < n; i++) {
        nn_trial *t = &trials[i];
        if (o->random)
            nn_search_random_point(space, n_models ? models[0].hp.seed : 1, i, &t->config);
        else
            nn_search_grid_point(space, i, &t->config);
        const char *name = nn_trial_config_get(&t->config, "model");
        model_slot *m = find_model(models, n_models, name ? name : o->model);
        t->spec = &m->spec;
        t->hp = m->hp;
        if (nn_trial_config_apply(&t->config, &t->hp, &err)) {
            free(trials);
            return cli_report(&err);
        }
        t->hp.threads = threads;
    }
    *out = trials;
    *n_out = n;
    return 0;
}

int cmd_search(int argc, char **argv)
{
    search_options o = {.model = "lenet", .keep = 0.5, .min_epochs = 1};
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc;
    nn_error err;
    nn_search_space *space = malloc(sizeof *space);
    if (!space) {
        cli_error("out of memory");
        return EXIT_RUNTIME;
    }
    if (nn_search_parse(space, o.space, &err)) {
        cli_error("search: %s", err.msg);
        free(space);
        return EXIT_USAGE;
    }
    if (space->has_ranges && !o.random) {
        int dummy;
        nn_search_grid_size(space, &dummy, &err);
        cli_error("search: %s", err.msg);
        free(space);
        return EXIT_USAGE;
    }
    for (int k = 0; k < o.hparams.n; k++)
        if (nn_search_find(space, o.hparams.key[k]) >= 0) {
            cli_error("search: %s is both set (--%s) and searched; drop one", o.hparams.key[k], o.hparams.key[k]);
            free(space);
            return EXIT_USAGE;
        }

    model_slot models[MAX_MODELS];
    int n_models = 0;
    nn_trial *trials = NULL;
    nn_search *search = NULL;
    nn_dataset train = {0}, test = {0};
    if ((rc = load_models(&o, space, models, &n_models)))
        goto out;

    /* Trials at once, and BLAS threads for each: see --help for the measurement. */
    int threads = 1, jobs;
    int k_threads = -1;
    for (int k = 0; k < o.hparams.n; k++)
        if (!strcmp(o.hparams.key[k], "threads"))
            k_threads = k;
    if (k_threads >= 0 && models[0].hp.threads > 0)
        threads = models[0].hp.threads;
    jobs = o.jobs ? o.jobs : (int)(cores() / threads > 0 ? cores() / threads : 1);
    if (o.jobs && k_threads < 0)
        threads = (int)(cores() / o.jobs > 0 ? cores() / o.jobs : 1);
    if (nn_search_find(space, "threads") >= 0) {
        cli_error("search: threads cannot be searched (set --jobs and --threads)");
        rc = EXIT_USAGE;
        goto out;
    }
    if ((rc = make_trials(&o, space, models, n_models, threads, &trials, &(int){0})))
        goto out;
    int n = o.random;
    if (!n)
        nn_search_grid_size(space, &n, &err);
    if (jobs > n)
        jobs = n;

    char data_dir[4096];
    if (o.data)
        snprintf(data_dir, sizeof data_dir, "%s", o.data);
    else
        cli_default_data(data_dir, sizeof data_dir);
    if (nn_dataset_load_dir(data_dir, &train, &test, &err)) {
        rc = cli_report(&err);
        goto out;
    }
    nn_set_threads(threads);

    FILE *out = o.json ? stderr : stdout;
    progress prog = {out, n};
    int use_dash = 0;
#if NNLAB_HAVE_TUI
    const char *term = getenv("TERM");
    use_dash = !o.no_tui && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO) && term && *term && strcmp(term, "dumb");
#endif
    nn_search_options sopt = {.jobs = jobs, .halving = o.halving, .min_epochs = o.min_epochs, .keep = o.keep,
                              .on_event = use_dash ? NULL : on_event, .ctx = &prog};
    if (nn_search_new(&search, trials, n, &sopt, &train, &test, &err)) {
        rc = cli_report(&err);
        goto out;
    }
    fprintf(out, "Searching %s: %d %s trial%s on %s, %d at a time with %d BLAS thread%s each, seed %llu\n",
            o.space, n, o.random ? "random" : "grid", n == 1 ? "" : "s", o.data ? o.data : "data/mnist-small", jobs,
            threads, threads == 1 ? "" : "s", (unsigned long long)trials[0].hp.seed);
    if (o.halving) {
        nn_halving_plan plan;
        nn_halving_plan_make(&plan, n, trials[0].hp.epochs, o.min_epochs, o.keep, &err);
        fprintf(out, "  successive halving:");
        for (int r = 0; r < plan.rungs; r++)
            fprintf(out, "%s %d trial%s to epoch %d", r ? "," : "", plan.trials[r], plan.trials[r] == 1 ? "" : "s",
                    plan.epochs[r]);
        fputc('\n', out);
    }
    fflush(out);

    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    double start = now_seconds();
    if (nn_search_start(search, &err)) {
        rc = cli_report(&err);
        goto out_signals;
    }
    int stopped = 0;
#if NNLAB_HAVE_TUI
    if (use_dash) {
        char subtitle[512];
        snprintf(subtitle, sizeof subtitle, "%s on %s: %d %s trial%s, %d at a time x %d BLAS thread%s, seed %llu%s",
                 o.model, o.data ? o.data : "data/mnist-small", n, o.random ? "random" : "grid", n == 1 ? "" : "s",
                 jobs, threads, threads == 1 ? "" : "s", (unsigned long long)trials[0].hp.seed,
                 o.halving ? ", successive halving" : "");
        const char *no_color = getenv("NO_COLOR");
        dash_search_options d = {.title = o.space, .subtitle = subtitle, .fps = 10,
                                 .color = !o.no_color && !(no_color && *no_color),
                                 .exit_when_done = o.exit_when_done};
        int how = dash_search_run(search, &d);
        if (how == DASH_EXIT_ERROR)
            cli_error("cannot set up the terminal for the live table (--no-tui prints plain lines)");
        if (!nn_search_finished(search)) {
            nn_search_cancel(search);
            if (how == DASH_EXIT_INTERRUPTED || how == DASH_EXIT_TERMINATED)
                interrupted = 1;
            else
                stopped = 1;
        }
    }
#endif
    while (!nn_search_finished(search)) {
        if (interrupted)
            nn_search_cancel(search);
        nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    }
    nn_search_wait(search);
    double seconds = now_seconds() - start;

    nn_search_snapshot(search, trials);
    int best = nn_search_best_of(trials, n);
    print_table(out, trials, n, best);
    if (interrupted) {
        int done = 0;
        for (int i = 0; i < n; i++)
            done += trials[i].state == NN_TRIAL_DONE;
        fprintf(out, "Interrupted: %d of %d trials had finished.\n", done, n);
    } else if (stopped) {
        int done = 0;
        for (int i = 0; i < n; i++)
            done += trials[i].state == NN_TRIAL_DONE;
        fprintf(out, "Stopped: %d of %d trials had finished.\n", done, n);
    }
    if (best >= 0) {
        char params[1024], cmd[4096];
        nn_trial_config_format(&trials[best].config, params, sizeof params);
        reproduce_command(&o, &trials[best], cmd, sizeof cmd);
        fprintf(out, "\nBest: trial %d  %s  test accuracy %.2f%% after %d epochs (%.1fs for the search)\n"
                     "  reproduce: %s\n",
                best + 1, params, 100 * trials[best].test_accuracy, trials[best].epoch, seconds, cmd);
    } else {
        fprintf(out, "\nNo trial finished.\n");
    }
    if (o.save_best && best >= 0) {
        int id;
        nn_trainer *bt = nn_search_best_trainer(search, &id);
        snprintf(bt->dataset, sizeof bt->dataset, "%.*s", (int)sizeof bt->dataset - 1, data_dir);
        bt->test_count = test.count;
        if (nn_checkpoint_save(bt, trials[id].spec, o.save_best, &err)) {
            rc = cli_report(&err);
        } else {
            fprintf(out, "Saved trial %d to %s.\n", id + 1, o.save_best);
        }
    }
    if (o.plot) {
        int prc = write_plot(&o, trials, n, best);
        rc = rc ? rc : prc;
    }
    if (o.json)
        write_json(&o, trials, n, best, jobs, threads, seconds);
    if (interrupted)
        rc = EXIT_INTERRUPTED;
    else if (best < 0 || rc)
        rc = EXIT_RUNTIME;
out_signals:
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
out:
    nn_search_free(search);
    free(trials);
    for (int i = 0; i < n_models; i++)
        nn_spec_free(&models[i].spec);
    nn_dataset_free(&train);
    nn_dataset_free(&test);
    free(space);
    return rc;
}
