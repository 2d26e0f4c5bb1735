/* `nnlab train`: train a model on a dataset, on the dashboard when stdout
 * is a terminal, else headless with one line per epoch (and a live progress
 * bar on a terminal), a CSV log and --json figures. */
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
#include "latent.h"
#include "nnlab_config.h"
#include "plot.h"
#include "png.h"
#include "session.h"
#include "trainer.h"
#if NNLAB_HAVE_TUI
#include "dash.h"
#endif
#if NNLAB_HAVE_GUI
#include "pad.h"
#endif

static const char train_help[] =
    "Usage: nnlab train [options]\n"
    "\n"
    "Train a model on an MNIST-style dataset and report test loss and accuracy\n"
    "after every epoch. Evaluation time is excluded from samples/s.\n"
    "\n"
    "On a terminal, training runs under a live dashboard: loss and accuracy\n"
    "charts, per-layer gradient health, the confusion matrix, and keys to pause,\n"
    "single-step, change hyperparameters while it trains, reset and save (press ?\n"
    "for the list). When it ends, the epoch lines are printed as without it.\n"
    "\n"
    "Where a display is available, the drawing pad opens too: draw a digit with\n"
    "the mouse and watch the prediction change as the network learns; the same\n"
    "keys steer training from the window (q in either quits, closing the window\n"
    "only closes the pad).\n"
    "\n"
    "Options:\n"
    "  --model NAME|FILE     preset (linear, mlp, mlp-tanh, lenet, cnn, lstm, vae) or a\n"
    "                        spec file (default lenet)\n"
    "  --data DIR            directory with the four IDX files (default data/mnist-small,\n"
    "                        or with --resume the one recorded in the model file)\n"
    "  --save FILE           save the model file (weights, optimiser and random\n"
    "                        state, history) at the end, and on Ctrl-C\n"
    "  --resume FILE         continue the run saved in FILE exactly: the model and\n"
    "                        hyperparameters come from it (options given here\n"
    "                        override them) and --epochs counts all epochs, so\n"
    "                        --epochs 4 after a 2-epoch run trains 2 more\n"
    "  --log FILE.csv        write one row per step and one per epoch (appended\n"
    "                        to with --resume)\n"
    "  --plot FILE.png       draw the loss and accuracy curves (per step and per\n"
    "                        epoch, train and test) when training ends\n"
    "  --sample-grid FILE.png  after training a model with a latent code (vae), decode\n"
    "                        a 20x20 grid of latent points and write the digits as a PNG\n"
    "  --json                print the final figures as one JSON object on stdout\n"
    "                        (progress then goes to stderr)\n"
    "  --no-tui              plain progress lines instead of the dashboard\n"
    "  --no-gui              no drawing pad\n"
    "  --events FILE         the pad's predictions and keys as JSON Lines (- for\n"
    "                        stdout), each with its latency from the mouse event\n"
    "  --no-color            a dashboard without colours (as does NO_COLOR=1)\n"
    "  --ascii               dashboard charts in ASCII instead of braille\n"
    "  --fps N               dashboard redraws per second (default 10)\n"
    "  --max-batch N         largest batch size the dashboard can switch to while\n"
    "                        training (default the larger of --batch and 512)\n"
    "  --exit-when-done      close the dashboard and the pad when the last epoch ends\n"
    "  -h, --help            this help\n"
    "\n"
    "%s"
    "\n"
    "A model that reconstructs its input has no accuracy; the loss of a variational\n"
    "one (vae) is the negative evidence lower bound per image (reconstruction +\n"
    "KL), in nats.\n"
    "\n"
    "Examples:\n"
    "  nnlab train --model mlp --epochs 10\n"
    "  nnlab train --model linear --optimizer sgd --lr 0.1 --batch 32\n"
    "  nnlab train --model my-net.spec --data data/fashion --schedule cosine --json\n"
    "  nnlab train --model mlp --log run.csv --seed 7\n"
    "  nnlab train --model lenet --epochs 15\n"
    "  nnlab train --model vae --sample-grid vae-grid.png\n"
    "  nnlab train --model mlp --epochs 5 --plot curves.png\n"
    "  nnlab train --model mlp --epochs 5 --save mlp.nnl\n"
    "  nnlab train --resume mlp.nnl --epochs 10 --save mlp.nnl\n"
    "  nnlab train --model mlp --epochs 50 --no-color --fps 5\n"
    "\n"
    "A run stopped with Ctrl-C and resumed continues bit for bit. A run that ended\n"
    "and is extended with a larger --epochs matches one that ran that long from the\n"
    "start when the learning rate does not depend on the total (constant\n"
    "schedule); cosine and step schedules span each run's own --epochs.\n";

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

typedef struct train_options {
    const char *model;
    const char *data;
    const char *log;
    const char *plot;
    const char *sample_grid;
    const char *save;
    const char *resume;
    const char *events;
    int json;
    int no_tui, no_gui, no_color, ascii, exit_when_done;
    long fps, max_batch;
    cli_hparams hparams;
} train_options;

/* --name N with N in [lo, hi]; returns 1, 0 when not this option, -1 on error. */
static int number_option(int argc, char **argv, int *i, const char *name, long lo, long hi, long *out)
{
    const char *value;
    int r = cli_option(argc, argv, i, name, &value);
    if (r <= 0)
        return r;
    char *end;
    long v = strtol(value, &end, 10);
    if (end == value || *end || v < lo || v > hi) {
        cli_error("--%s: '%s' is not a whole number in %ld..%ld", name, value, lo, hi);
        return -1;
    }
    *out = v;
    return 1;
}

static int parse_options(int argc, char **argv, train_options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *value;
        int r;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf(train_help, cli_hparams_help);
            exit(0);
        } else if ((r = cli_option(argc, argv, &i, "model", &value))) {
            if (r < 0)
                return EXIT_USAGE;
            o->model = value;
        } else if ((r = cli_option(argc, argv, &i, "data", &value))) {
            if (r < 0)
                return EXIT_USAGE;
            o->data = value;
        } else if ((r = cli_option(argc, argv, &i, "log", &value))) {
            if (r < 0)
                return EXIT_USAGE;
            o->log = value;
        } else if ((r = cli_option(argc, argv, &i, "plot", &value))) {
            if (r < 0)
                return EXIT_USAGE;
            o->plot = value;
        } else if ((r = cli_option(argc, argv, &i, "sample-grid", &value))) {
            if (r < 0)
                return EXIT_USAGE;
            o->sample_grid = value;
        } else if ((r = cli_option(argc, argv, &i, "save", &value))) {
            if (r < 0)
                return EXIT_USAGE;
            o->save = value;
        } else if ((r = cli_option(argc, argv, &i, "resume", &value))) {
            if (r < 0)
                return EXIT_USAGE;
            o->resume = value;
        } else if (!strcmp(argv[i], "--json")) {
            o->json = 1;
        } else if (!strcmp(argv[i], "--no-tui")) {
            o->no_tui = 1;
        } else if (!strcmp(argv[i], "--no-gui")) {
            o->no_gui = 1;
        } else if ((r = cli_option(argc, argv, &i, "events", &value))) {
            if (r < 0)
                return EXIT_USAGE;
            o->events = value;
        } else if (!strcmp(argv[i], "--no-color")) {
            o->no_color = 1;
        } else if (!strcmp(argv[i], "--ascii")) {
            o->ascii = 1;
        } else if (!strcmp(argv[i], "--exit-when-done")) {
            o->exit_when_done = 1;
        } else if ((r = number_option(argc, argv, &i, "fps", 1, 60, &o->fps)) ||
                   (r = number_option(argc, argv, &i, "max-batch", 1, 65536, &o->max_batch))) {
            if (r < 0)
                return EXIT_USAGE;
        } else if ((r = cli_hparam_option(&o->hparams, argc, argv, &i))) {
            if (r < 0)
                return EXIT_USAGE;
        } else {
            cli_error("train: unknown option '%s' (see nnlab train --help)", argv[i]);
            return EXIT_USAGE;
        }
    }
    return 0;
}

/* A CSV field: the number, or empty when there is none (NaN). */
static const char *csv_number(double v, char buf[32])
{
    if (isnan(v))
        buf[0] = '\0';
    else
        snprintf(buf, 32, "%.9g", v);
    return buf;
}

static void format_rate(double rate, char *buf, size_t len)
{
    if (rate >= 1e6)
        snprintf(buf, len, "%.2fM", rate / 1e6);
    else if (rate >= 1e3)
        snprintf(buf, len, "%.1fk", rate / 1e3);
    else
        snprintf(buf, len, "%.0f", rate);
}

static void draw_progress(FILE *out, const nn_trainer *t, const nn_step_info *s, double elapsed)
{
    long done = t->pos ? (long)t->pos : (long)t->train->count;
    double frac = (double)done / (double)t->train->count;
    int width = 24, fill = (int)(frac * width + 0.5);
    double loss, acc;
    nn_trainer_epoch_stats(t, &loss, &acc);
    char rate[32];
    format_rate(nn_trainer_samples_per_sec(t), rate, sizeof rate);
    char acc_text[32] = "";
    if (!isnan(acc))
        snprintf(acc_text, sizeof acc_text, "  acc %.2f%%", 100 * acc);
    fprintf(out, "\r\033[Kepoch %d/%d [%.*s%*s] %3.0f%%  loss %.4g%s  lr %.3g  %s samples/s  %.1fs",
            s->epoch + 1, t->hp.epochs, fill, "########################", width - fill, "", 100 * frac, loss,
            acc_text, s->lr, rate, elapsed);
    fflush(out);
}

/* Per-step figures kept for --plot. */
typedef struct step_series {
    long n, cap;
    float *loss, *accuracy;
} step_series;

static int step_series_add(step_series *s, const nn_step_info *info)
{
    if (s->n == s->cap) {
        long cap = s->cap ? 2 * s->cap : 1024;
        float *loss = realloc(s->loss, (size_t)cap * sizeof *loss);
        if (loss)
            s->loss = loss;
        float *accuracy = realloc(s->accuracy, (size_t)cap * sizeof *accuracy);
        if (accuracy)
            s->accuracy = accuracy;
        if (!loss || !accuracy)
            return -1;
        s->cap = cap;
    }
    s->loss[s->n] = info->loss;
    s->accuracy[s->n] = info->accuracy;
    s->n++;
    return 0;
}

/* The curves of this run: its steps, and the epochs it trained (a resumed
 * run's earlier epochs have no step figures here, so they are left out). */
static int write_plot(const char *path, const char *model, const char *data, const nn_trainer *t,
                      const step_series *steps, int first_epoch)
{
    int epochs = t->n_history - first_epoch;
    double *cols = malloc((size_t)(4 * epochs + 1) * sizeof *cols);
    if (!cols) {
        cli_error("out of memory");
        return EXIT_RUNTIME;
    }
    for (int e = 0; e < epochs; e++) {
        const nn_epoch_record *r = &t->history[first_epoch + e];
        cols[e] = r->train_loss;
        cols[epochs + e] = r->train_accuracy;
        cols[2 * epochs + e] = r->test_loss;
        cols[3 * epochs + e] = r->test_accuracy;
    }
    char title[512];
    snprintf(title, sizeof title, "%.100s on %.200s: %s lr=%g batch=%d, seed %llu%s", model, data,
             nn_optimizer_name(t->hp.optimizer), t->hp.lr, t->hp.batch, (unsigned long long)t->hp.seed,
             first_epoch ? " (resumed: this run's epochs)" : "");
    plot_run run = {.title = title, .steps_per_epoch = (int)t->steps_per_epoch, .n_steps = steps->n,
                    .step_loss = steps->loss, .step_accuracy = steps->accuracy, .n_epochs = epochs,
                    .train_loss = cols, .train_accuracy = cols + epochs, .test_loss = cols + 2 * epochs,
                    .test_accuracy = cols + 3 * epochs};
    nn_error err;
    int rc = plot_training_png(path, &run, &err) ? cli_report(&err) : 0;
    free(cols);
    return rc;
}

static void write_json(const char *model, const nn_spec *spec, const nn_trainer *t, double seconds, int stopped)
{
    json_writer j;
    json_init(&j, stdout);
    json_object_begin(&j, NULL);
    json_string(&j, "model", model);
    json_string(&j, "spec", spec->source);
    json_int(&j, "params", (long long)t->graph.param_count);
    json_int(&j, "epochs", t->n_history);
    json_int(&j, "seed", (long long)t->hp.seed);
    json_int(&j, "batch", t->hp.batch);
    json_string(&j, "optimizer", nn_optimizer_name(t->hp.optimizer));
    json_number(&j, "lr", t->hp.lr);
    json_int(&j, "threads", t->hp.threads);
    json_int(&j, "steps", t->step);
    const nn_epoch_record *last = t->n_history ? &t->history[t->n_history - 1] : NULL;
    json_number(&j, "train_loss", last ? last->train_loss : NAN);
    json_number(&j, "train_accuracy", last ? last->train_accuracy : NAN);
    json_number(&j, "test_loss", last ? last->test_loss : NAN);
    json_number(&j, "test_accuracy", last ? last->test_accuracy : NAN);
    json_number(&j, "samples_per_sec", nn_trainer_samples_per_sec(t));
    json_number(&j, "train_seconds", t->train_seconds);
    json_number(&j, "seconds", seconds);
    json_bool(&j, "interrupted", stopped);
    json_array_begin(&j, "history");
    for (int e = 0; e < t->n_history; e++) {
        const nn_epoch_record *r = &t->history[e];
        json_object_begin(&j, NULL);
        json_int(&j, "epoch", e + 1);
        json_number(&j, "train_loss", r->train_loss);
        json_number(&j, "train_accuracy", r->train_accuracy);
        json_number(&j, "test_loss", r->test_loss);
        json_number(&j, "test_accuracy", r->test_accuracy);
        json_number(&j, "seconds", r->seconds);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
    json_finish(&j);
}

/* The decoder's view of the latent space, as a PNG of 20x20 digits. */
static int write_sample_grid(nn_trainer *t, const char *path)
{
    enum { GRID = 20 };
    const nn_node *out = &t->graph.nodes[t->graph.output];
    unsigned char *pixels = malloc(GRID * GRID * out->size);
    if (!pixels) {
        cli_error("out of memory for the sample grid");
        return EXIT_RUNTIME;
    }
    nn_error err;
    int width, height, rc = 0;
    if (nn_latent_grid(&t->graph, GRID, GRID, t->hp.seed, pixels, &width, &height, &err) ||
        nn_png_write_gray(path, width, height, pixels, &err))
        rc = cli_report(&err);
    free(pixels);
    return rc;
}

/* What a run starts from: a fresh model, or a model file to resume. */
typedef struct run_setup {
    nn_spec spec;
    nn_hparams hp;
    char model[128];        /* name for messages and --json */
    int resuming;
    nn_checkpoint ck;       /* the model file, while resuming */
} run_setup;

/* Load --resume's file, check --model against it and apply the training
 * options over its hyperparameters. */
static int setup_resume(const train_options *o, run_setup *r)
{
    nn_error err;
    if (nn_checkpoint_load(&r->ck, o->resume, &err))
        return cli_report(&err);
    r->resuming = 1;
    int rc = 0;
    if (o->model) {
        nn_spec named;
        nn_hparams unused;
        cli_hparams none = {0};
        if ((rc = cli_load_model(o->model, &none, &named, &unused)))
            return rc;
        int same = !strcmp(named.text, r->ck.spec.text);
        nn_spec_free(&named);
        if (!same) {
            cli_error("--model %s is not the model stored in %s (leave out --model to resume it)", o->model,
                      o->resume);
            return EXIT_USAGE;
        }
    }
    r->hp = r->ck.hp;
    for (int k = 0; k < o->hparams.n; k++) {
        const char *key = o->hparams.key[k];
        if (!strcmp(key, "seed") || !strcmp(key, "init")) {
            cli_error("--%s cannot change a resumed run: its weights and random state come from %s", key,
                      o->resume);
            return EXIT_USAGE;
        }
        if (nn_hparams_set(&r->hp, key, o->hparams.value[k], &err)) {
            cli_error("--%s: %s", key, err.msg);
            return EXIT_USAGE;
        }
    }
    const char *source = r->ck.spec_source[0] ? r->ck.spec_source : r->ck.path;
    if (nn_spec_parse(&r->spec, r->ck.spec.text, source, &err))
        return cli_report(&err);
    snprintf(r->model, sizeof r->model, "%s", r->ck.model[0] ? r->ck.model : o->resume);
    return 0;
}

static int setup_run(const train_options *o, run_setup *r)
{
    memset(r, 0, sizeof *r);
    if (o->resume)
        return setup_resume(o, r);
    snprintf(r->model, sizeof r->model, "%s", o->model ? o->model : "lenet");
    return cli_load_model(r->model, &o->hparams, &r->spec, &r->hp);
}

static FILE *open_log(const char *path, int append)
{
    FILE *log = fopen(path, append ? "a" : "w");
    if (!log) {
        cli_error("%s: cannot write log: %s", path, strerror(errno));
        return NULL;
    }
    if (ftell(log) <= 0)
        fputs("kind,step,epoch,loss,accuracy,lr,test_loss,test_accuracy\n", log);
    return log;
}

static void print_start(FILE *progress, const run_setup *r, const nn_trainer *t, const char *data,
                        const nn_dataset *train, const nn_dataset *test)
{
    const nn_hparams *hp = &t->hp;
    if (nn_trainer_done(t)) {
        fprintf(progress, "%s has trained %d epoch%s already, and --epochs %d counts them all: nothing to train "
                "(a larger --epochs trains more).\n", r->ck.path, t->n_history, t->n_history == 1 ? "" : "s",
                hp->epochs);
        return;
    }
    if (r->resuming)
        fprintf(progress, "Resuming %s from %s at epoch %d/%d, step %ld (%zu parameters) on %s: %zu train / %zu "
                "test images\n", r->model, r->ck.path, t->epoch + 1, hp->epochs, t->step, t->graph.param_count, data,
                train->count, test->count);
    else
        fprintf(progress, "Training %s (%zu parameters) on %s: %zu train / %zu test images\n", r->model,
                t->graph.param_count, data, train->count, test->count);
    fprintf(progress, "  %s lr=%g batch=%d, %d epoch%s, seed %llu, %d thread%s\n", nn_optimizer_name(hp->optimizer),
            hp->lr, hp->batch, hp->epochs, hp->epochs == 1 ? "" : "s", (unsigned long long)hp->seed, hp->threads,
            hp->threads == 1 ? "" : "s");
    if (t->graph.reconstructs && nn_latent_size(&t->graph) > 0)
        fprintf(progress, "loss: negative ELBO per image in nats (reconstruction + KL); %d-D latent code\n",
                nn_latent_size(&t->graph));
    else if (t->graph.reconstructs)
        fputs("loss: reconstruction error per image, summed over its pixels\n", progress);
}

/* The line of finished epoch e (0-based) of t's history. */
static void print_epoch(FILE *progress, const nn_trainer *t, int e, double samples_per_sec, double elapsed, int live)
{
    const nn_epoch_record *r = &t->history[e];
    char rate[32];
    format_rate(samples_per_sec, rate, sizeof rate);
    char train_acc[32] = "", test_acc[32] = "";
    if (!t->graph.reconstructs) { /* a vae has no accuracy */
        snprintf(train_acc, sizeof train_acc, "  acc %.2f%%", 100 * r->train_accuracy);
        snprintf(test_acc, sizeof test_acc, "  acc %.2f%%", 100 * r->test_accuracy);
    }
    fprintf(progress, "%sepoch %*d/%d  train loss %.4f%s  |  test loss %.4f%s  |  %s samples/s  %.1fs\n",
            live ? "\r\033[K" : "", t->hp.epochs >= 10 ? 2 : 1, e + 1, t->hp.epochs, r->train_loss, train_acc,
            r->test_loss, test_acc, rate, elapsed);
    fflush(progress);
}

/* Evaluate the epoch that just ended, record it and print its line. */
static int finish_epoch(nn_trainer *t, const nn_dataset *test, FILE *progress, int live, double epoch_start,
                        double start)
{
    nn_epoch_record r;
    nn_trainer_epoch_stats(t, &r.train_loss, &r.train_accuracy);
    nn_eval ev;
    nn_trainer_evaluate(t, test, &ev);
    r.test_loss = ev.loss;
    r.test_accuracy = ev.accuracy;
    r.seconds = now_seconds() - epoch_start;
    nn_error err;
    if (nn_trainer_record_epoch(t, &r, &err))
        return cli_report(&err);
    print_epoch(progress, t, t->n_history - 1, nn_trainer_samples_per_sec(t), now_seconds() - start, live);
    return 0;
}

#if NNLAB_HAVE_TUI || NNLAB_HAVE_GUI
static int train_live(const train_options *o, run_setup *run, const char *data_dir, const nn_dataset *train,
                      const nn_dataset *test, FILE *log, int use_tui, int use_gui);
#endif

#if NNLAB_HAVE_TUI || NNLAB_HAVE_GUI
/* The dashboard when stdin and stdout are a terminal that can show it. */
static int want_tui(const train_options *o)
{
    const char *term = getenv("TERM");
    return NNLAB_HAVE_TUI && !o->no_tui && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO) && term && *term &&
           strcmp(term, "dumb") != 0;
}

/* The pad when there is a display to show it on. */
static int want_gui(const train_options *o)
{
#if NNLAB_HAVE_GUI
    return !o->no_gui && pad_display_available();
#else
    (void)o;
    return 0;
#endif
}
#endif

int cmd_train(int argc, char **argv)
{
    train_options o = {0};
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc;
    run_setup run;
    if ((rc = setup_run(&o, &run))) {
        nn_spec_free(&run.spec);
        nn_checkpoint_free(&run.ck);
        return rc;
    }
    char data_dir[4096];
    if (o.data)
        snprintf(data_dir, sizeof data_dir, "%s", o.data);
    else if (run.resuming && run.ck.dataset[0])
        snprintf(data_dir, sizeof data_dir, "%s", run.ck.dataset);
    else
        cli_default_data(data_dir, sizeof data_dir);

    nn_hparams *hp = &run.hp;
    nn_error err;
    nn_dataset train, test;
    nn_trainer t;
    FILE *log = NULL;
    if (nn_dataset_load_dir(data_dir, &train, &test, &err)) {
        rc = cli_report(&err);
        if (run.resuming && !o.data)
            fprintf(stderr, "(%s is the data directory recorded in %s; use --data DIR for another)\n", data_dir,
                    o.resume);
        goto out_setup;
    }
    hp->threads = nn_set_threads(hp->threads);
#if NNLAB_HAVE_TUI || NNLAB_HAVE_GUI
    int use_tui = want_tui(&o), use_gui = want_gui(&o);
    if (use_tui || use_gui) {
        if (o.log && !(log = open_log(o.log, run.resuming)))
            rc = EXIT_RUNTIME;
        else
            rc = train_live(&o, &run, data_dir, &train, &test, log, use_tui, use_gui);
        if (log && fclose(log) != 0) {
            cli_error("%s: error writing log: %s", o.log, strerror(errno));
            rc = rc ? rc : EXIT_RUNTIME;
        }
        goto out_data;
    }
#endif
    if (run.resuming ? nn_checkpoint_resume(&t, &run.ck, hp, &train, &err)
                     : nn_trainer_init(&t, &run.spec, hp, &train, &err)) {
        rc = cli_report(&err);
        goto out_data;
    }
    snprintf(t.dataset, sizeof t.dataset, "%.*s", (int)sizeof t.dataset - 1, data_dir);
    t.test_count = test.count;
    if (o.sample_grid && nn_latent_size(&t.graph) == 0) {
        cli_error("--sample-grid: %s has no latent code to sample (it needs a gaussian layer, as in vae)", run.model);
        rc = EXIT_USAGE;
        goto out_trainer;
    }
    if (o.log && !(log = open_log(o.log, run.resuming))) {
        rc = EXIT_RUNTIME;
        goto out_trainer;
    }

    FILE *progress = o.json ? stderr : stdout;
    int live = isatty(fileno(progress));
    print_start(progress, &run, &t, o.data ? o.data : run.resuming ? data_dir : "data/mnist-small", &train, &test);

    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    double start = now_seconds(), last_draw = 0, epoch_start = start;
    int diverged = 0, first_epoch = t.n_history;
    step_series steps = {0};
    while (!nn_trainer_done(&t) && !interrupted) {
        nn_step_info s;
        nn_trainer_step(&t, &s);
        if (log) {
            char acc[32];
            fprintf(log, "step,%ld,%d,%.9g,%s,%.9g,,\n", s.step, s.epoch + 1, s.loss, csv_number(s.accuracy, acc),
                    s.lr);
        }
        if (o.plot && step_series_add(&steps, &s)) {
            cli_error("out of memory");
            rc = EXIT_RUNTIME;
            break;
        }
        if (s.bad_loss || s.bad_tensor >= 0) {
            if (live)
                fputs("\r\033[K", progress);
            cli_error("training diverged at step %ld (epoch %d): %s is %s; try a smaller --lr (now %g)", s.step,
                      s.epoch + 1, s.bad_tensor >= 0 ? nn_graph_param_node(&t.graph, s.bad_tensor)->name : "the loss",
                      s.bad_tensor < 0 && s.bad_loss == 2 ? "above --max-loss" : "NaN or infinite", hp->lr);
            rc = EXIT_RUNTIME;
            diverged = 1;
            break;
        }
        double now = now_seconds();
        if (live && (now - last_draw > 0.1 || s.epoch_done)) {
            draw_progress(progress, &t, &s, now - start);
            last_draw = now;
        }
        if (!s.epoch_done)
            continue;
        if ((rc = finish_epoch(&t, &test, progress, live, epoch_start, start)))
            break;
        epoch_start = now_seconds();
        const nn_epoch_record *r = &t.history[t.n_history - 1];
        if (log) {
            char train_acc[32], test_acc[32];
            fprintf(log, "epoch,%ld,%d,%.9g,%s,%.9g,%.9g,%s\n", t.step, t.n_history, r->train_loss,
                    csv_number(r->train_accuracy, train_acc), s.lr, r->test_loss,
                    csv_number(r->test_accuracy, test_acc));
        }
    }
    if (interrupted) {
        if (live)
            fputs("\r\033[K", progress);
        fprintf(progress, "Interrupted at epoch %d, step %ld.\n", t.epoch + 1, t.step);
        rc = EXIT_INTERRUPTED;
    }
    if (o.save && diverged) {
        fprintf(progress, "Not saving %s: the weights are no longer finite.\n", o.save);
    } else if (o.save) {
        if (nn_checkpoint_save(&t, &run.spec, o.save, &err)) {
            cli_report(&err);
            rc = EXIT_RUNTIME;
        } else {
            fprintf(progress, "Saved %s (%d epoch%s done, step %ld).\n", o.save, t.n_history,
                    t.n_history == 1 ? "" : "s", t.step);
        }
    }
    /* Restored only now, so a second Ctrl-C cannot cut the save short. */
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (o.sample_grid && !diverged) {
        int rc_grid = write_sample_grid(&t, o.sample_grid);
        rc = rc ? rc : rc_grid;
        if (!rc_grid)
            fprintf(progress, "Wrote a grid of decoded samples to %s\n", o.sample_grid);
    }
    if (o.plot && steps.n > 0) {
        int prc = write_plot(o.plot, run.model, o.data ? o.data : run.resuming ? data_dir : "data/mnist-small", &t,
                             &steps, first_epoch);
        rc = rc ? rc : prc;
    }
    free(steps.loss);
    free(steps.accuracy);
    if (o.json)
        write_json(run.model, &run.spec, &t, now_seconds() - start, interrupted);
    if (log && fclose(log) != 0) {
        cli_error("%s: error writing log: %s", o.log, strerror(errno));
        rc = rc ? rc : EXIT_RUNTIME;
    }
out_trainer:
    nn_trainer_free(&t);
out_data:
    nn_dataset_free(&train);
    nn_dataset_free(&test);
out_setup:
    nn_spec_free(&run.spec);
    nn_checkpoint_free(&run.ck);
    return rc;
}

#if NNLAB_HAVE_TUI || NNLAB_HAVE_GUI
/* ---- training live: under the dashboard, the pad, or both ------------------- */

/* How a live run ended (the dashboard's reasons, which the pad shares). */
enum live_end { LIVE_QUIT, LIVE_DONE, LIVE_INTERRUPTED, LIVE_TERMINATED, LIVE_ERROR };

/* Written on the trainer thread: --log rows, --plot's step figures, and
 * the epoch lines when no dashboard holds the screen. */
typedef struct live_output {
    FILE *log;
    step_series *steps;  /* --plot, or NULL */
    int out_of_memory;
    float lr;
    FILE *progress;     /* NULL while the dashboard is up */
    int epochs;
    double start;
} live_output;

static void live_step(void *ctx, const nn_step_info *s)
{
    live_output *l = ctx;
    l->lr = s->lr;
    if (l->log) {
        char acc[32];
        fprintf(l->log, "step,%ld,%d,%.9g,%s,%.9g,,\n", s->step, s->epoch + 1, s->loss, csv_number(s->accuracy, acc),
                s->lr);
    }
    if (l->steps) {
        if (s->step == 1) /* a reset started the run again: plot the last run */
            l->steps->n = 0;
        l->out_of_memory |= step_series_add(l->steps, s) != 0;
    }
}

static void live_epoch(void *ctx, const nn_epoch_summary *r)
{
    live_output *l = ctx;
    if (l->log) {
        char train_acc[32], test_acc[32];
        fprintf(l->log, "epoch,%ld,%d,%.9g,%s,%.9g,%.9g,%s\n", r->step, r->epoch, r->train_loss,
                csv_number(r->train_accuracy, train_acc), l->lr, r->test_loss, csv_number(r->test_accuracy, test_acc));
    }
    if (l->progress) {
        char rate[32], train_acc[32] = "", test_acc[32] = "";
        format_rate(r->samples_per_sec, rate, sizeof rate);
        if (!isnan(r->test_accuracy)) { /* a vae has no accuracy */
            snprintf(train_acc, sizeof train_acc, "  acc %.2f%%", 100 * r->train_accuracy);
            snprintf(test_acc, sizeof test_acc, "  acc %.2f%%", 100 * r->test_accuracy);
        }
        fprintf(l->progress, "epoch %*d/%d  train loss %.4f%s  |  test loss %.4f%s  |  %s samples/s  %.1fs\n",
                l->epochs >= 10 ? 2 : 1, r->epoch, l->epochs, r->train_loss, train_acc, r->test_loss, test_acc, rate,
                now_seconds() - l->start);
        fflush(l->progress);
    }
}

#if NNLAB_HAVE_GUI
/* Open the pad on the session; on failure say why and train without it. */
static pad *open_pad(const train_options *o, const run_setup *run, nn_session *s, FILE *events)
{
    char font[4096];
    cli_font_path(font, sizeof font);
    pad_config cfg = {.title = run->model, .font_path = font, .spec = &run->spec, .session = s, .events = events};
    pad *p;
    nn_error err;
    if (pad_open(&p, &cfg, &err)) {
        cli_error("no drawing pad: %s (training goes on without it%s)", err.msg, o->no_gui ? "" : "; --no-gui");
        return NULL;
    }
    return p;
}

/* The dashboard's loop serves the pad too (dash_options.serve). */
static int serve_pad(void *ctx, int timeout_ms)
{
    pad **p = ctx;
    if (!*p) {
        if (timeout_ms > 0)
            nanosleep(&(struct timespec){0, timeout_ms * 1000000L}, NULL);
        return 0;
    }
    int r = pad_update(*p, timeout_ms);
    if (r == PAD_CLOSED) { /* the window went; the dashboard stays */
        pad_close(*p);
        *p = NULL;
        return 0;
    }
    return r == PAD_QUIT;
}

/* The pad alone: its window is the loop.  It stays open when training is
 * done, so the finished network can still be tried, unless told not to. */
static int run_pad(nn_session *s, pad *p, const train_options *o, FILE *progress)
{
    nn_monitor *m = nn_session_monitor(s);
    int said_done = 0;
    for (;;) {
        if (interrupted)
            return LIVE_INTERRUPTED;
        if (pad_update(p, 20) != PAD_CONTINUE) /* input wakes it at once */
            return LIVE_QUIT;
        nn_run_status st;
        nn_monitor_status(m, &st);
        if (st.state == NN_STATE_DONE && o->exit_when_done)
            return LIVE_DONE;
        if (st.state == NN_STATE_DONE && !said_done) {
            fprintf(progress, "Training done; the pad stays open until it is closed (or q).\n");
            fflush(progress);
            said_done = 1;
        }
    }
}
#endif

/* No window could be opened after all: wait for the end, epoch lines and all. */
static int run_headless(nn_session *s)
{
    nn_monitor *m = nn_session_monitor(s);
    for (;;) {
        if (interrupted)
            return LIVE_INTERRUPTED;
        nn_run_status st;
        nn_monitor_status(m, &st);
        if (st.state == NN_STATE_DONE || st.state == NN_STATE_DIVERGED)
            return LIVE_DONE;
        nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
    }
}

/* The trainer runs on its own thread while this one serves the dashboard
 * and the pad; afterwards the epoch lines go to the normal screen, where
 * they stay. */
static int train_live(const train_options *o, run_setup *run, const char *data_dir, const nn_dataset *train,
                      const nn_dataset *test, FILE *log, int use_tui, int use_gui)
{
    nn_error err;
    FILE *progress = o->json ? stderr : stdout;
    step_series steps = {0};
    live_output out = {.log = log, .steps = o->plot ? &steps : NULL, .progress = use_tui ? NULL : progress,
                       .epochs = run->hp.epochs};
    nn_session_config cfg = {
        .max_batch = (int)o->max_batch,
        .weights_ms = use_gui ? 0 : -1, /* snapshots only for a pad to read */
        .save_path = o->save,
        .dataset = data_dir,
        .resume = run->resuming ? &run->ck : NULL,
        .on_step = live_step,
        .on_epoch = live_epoch,
        .ctx = &out,
    };
    nn_session *s;
    if (nn_session_new(&s, &run->spec, &run->hp, train, test, &cfg, &err))
        return cli_report(&err);
    const nn_trainer *t = nn_session_trainer(s);
    if (o->sample_grid && nn_latent_size(&t->graph) == 0) {
        cli_error("--sample-grid: %s has no latent code to sample (it needs a gaussian layer, as in vae)", run->model);
        nn_session_free(s);
        return EXIT_USAGE;
    }
    const char *data_name = o->data ? o->data : run->resuming ? data_dir : "data/mnist-small";
    /* Printed before the dashboard takes the screen, so it is still there
     * above the epoch lines once the dashboard leaves. */
    print_start(progress, run, t, data_name, train, test);
    if (nn_trainer_done(t)) {
        nn_session_free(s);
        return 0;
    }
    FILE *events = NULL;
    if (o->events && !(events = cli_open_events(o->events))) {
        nn_session_free(s);
        return EXIT_RUNTIME;
    }
    int first_epoch = t->n_history;
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
#if NNLAB_HAVE_GUI
    /* Before the trainer thread starts: opening a window may fork (D-Bus),
     * and OpenBLAS's fork handler cannot stop its threads in mid-product. */
    pad *p = use_gui ? open_pad(o, run, s, events) : NULL;
#else
    (void)use_gui;
#endif
    out.start = now_seconds();
    if (nn_session_start(s, &err)) {
#if NNLAB_HAVE_GUI
        pad_close(p);
#endif
        nn_session_free(s);
        if (events && events != stdout)
            fclose(events);
        return cli_report(&err);
    }
    double start = now_seconds();
    int how = LIVE_QUIT;
#if NNLAB_HAVE_TUI
    if (use_tui) {
        const char *no_color = getenv("NO_COLOR");
        dash_options d = {
            .model = run->model,
            .data = data_name,
            .fps = (int)o->fps,
            .color = !o->no_color && !(no_color && *no_color),
            .ascii = o->ascii,
            .exit_when_done = o->exit_when_done,
            .save_path = o->save,
        };
#if NNLAB_HAVE_GUI
        if (p) {
            d.serve = serve_pad;
            d.serve_ctx = &p;
        }
#endif
        switch (dash_run(s, &d)) {
        case DASH_EXIT_DONE: how = LIVE_DONE; break;
        case DASH_EXIT_INTERRUPTED: how = LIVE_INTERRUPTED; break;
        case DASH_EXIT_TERMINATED: how = LIVE_TERMINATED; break;
        case DASH_EXIT_ERROR: how = LIVE_ERROR; break;
        default: how = LIVE_QUIT; break;
        }
    } else
#endif
    {
#if NNLAB_HAVE_GUI
        how = p ? run_pad(s, p, o, progress) : run_headless(s);
#else
        how = run_headless(s);
#endif
    }
    nn_session_stop(s);
    double seconds = now_seconds() - start;
#if NNLAB_HAVE_GUI
    if (p) {
        pad_stats ps;
        pad_get_stats(p, &ps);
        if (events && ps.samples)
            fprintf(events, "{\"event\":\"latency\",\"samples\":%ld,\"mean_ms\":%.3f,\"p50_ms\":%.3f,"
                    "\"p95_ms\":%.3f,\"max_ms\":%.3f}\n", ps.samples, ps.mean_ms, ps.p50_ms, ps.p95_ms, ps.max_ms);
        pad_close(p);
    }
#endif
    if (events && events != stdout)
        fclose(events);

    int rc = 0;
    if (how == LIVE_ERROR) {
        cli_error("cannot set up the terminal for the dashboard (nnlab train --no-tui trains without it)");
        rc = EXIT_RUNTIME;
    }
    nn_run_status st;
    nn_monitor *m = nn_session_monitor(s);
    nn_monitor_status(m, &st);
    /* After a reset the history holds only the last run's epochs. */
    if (st.run > 1 || first_epoch > t->n_history)
        first_epoch = 0;
    if (use_tui) { /* without the dashboard they were printed as they came */
        nn_epoch_summary sums[256];
        int n_sums = nn_monitor_epochs(m, sums, 256);
        double elapsed = 0;
        for (int e = first_epoch; e < t->n_history; e++) {
            double rate = nn_trainer_samples_per_sec(t);
            for (int i = 0; i < n_sums; i++)
                if (sums[i].epoch == e + 1)
                    rate = sums[i].samples_per_sec;
            elapsed += t->history[e].seconds;
            print_epoch(progress, t, e, rate, elapsed, 0);
        }
    }
    int diverged = st.state == NN_STATE_DIVERGED;
    int stopped = how == LIVE_INTERRUPTED || how == LIVE_TERMINATED || interrupted;
    if (diverged) {
        cli_error("training diverged at step %ld: %s is NaN or infinite; try a smaller --lr (now %g)",
                  st.diverged_step, st.bad_name, st.hp.lr);
        rc = EXIT_RUNTIME;
    } else if (stopped) {
        fprintf(progress, "%s at epoch %d, step %ld.\n", how == LIVE_TERMINATED ? "Terminated" : "Interrupted",
                t->epoch + 1, t->step);
        rc = EXIT_INTERRUPTED;
    } else if (!nn_trainer_done(t) && how == LIVE_QUIT) {
        fprintf(progress, "Stopped at epoch %d, step %ld.\n", t->epoch + 1, t->step);
    }
    if (o->save && diverged) {
        fprintf(progress, "Not saving %s: the weights are no longer finite.\n", o->save);
    } else if (o->save && rc != EXIT_RUNTIME) {
        if (nn_checkpoint_save(t, &run->spec, o->save, &err)) {
            cli_report(&err);
            rc = EXIT_RUNTIME;
        } else {
            fprintf(progress, "Saved %s (%d epoch%s done, step %ld).\n", o->save, t->n_history,
                    t->n_history == 1 ? "" : "s", t->step);
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    /* The session has stopped: its trainer is this thread's to use. */
    if (o->sample_grid && !diverged) {
        int rc_grid = write_sample_grid((nn_trainer *)t, o->sample_grid);
        rc = rc ? rc : rc_grid;
        if (!rc_grid)
            fprintf(progress, "Wrote a grid of decoded samples to %s\n", o->sample_grid);
    }
    if (o->plot && out.out_of_memory) {
        cli_error("out of memory for --plot's step figures");
        rc = rc ? rc : EXIT_RUNTIME;
    } else if (o->plot && steps.n > 0) {
        int prc = write_plot(o->plot, run->model, data_name, t, &steps, first_epoch);
        rc = rc ? rc : prc;
    }
    free(steps.loss);
    free(steps.accuracy);
    if (o->json)
        write_json(run->model, &run->spec, t, seconds, stopped);
    nn_session_free(s);
    if (how == LIVE_TERMINATED) {
        /* End as SIGTERM would have ended us, now that the terminal is back. */
        fflush(NULL);
        signal(SIGTERM, SIG_DFL);
        raise(SIGTERM);
    }
    return rc;
}
#endif
