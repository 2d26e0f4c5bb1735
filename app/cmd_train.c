/* `nnlab train`: train a model on a dataset, headless, with one line per
 * epoch, a live progress bar on a terminal, a CSV log and --json figures. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "data.h"
#include "json.h"
#include "plot.h"
#include "trainer.h"

static const char train_help[] =
    "Usage: nnlab train [options]\n"
    "\n"
    "Train a model on an MNIST-style dataset and report test loss and accuracy\n"
    "after every epoch. Evaluation time is excluded from samples/s.\n"
    "\n"
    "Options:\n"
    "  --model NAME|FILE     preset (linear, mlp, mlp-tanh) or a spec file (default mlp)\n"
    "  --data DIR            directory with the four IDX files (default data/mnist-small)\n"
    "  --log FILE.csv        write one row per step and one per epoch\n"
    "  --plot FILE.png       draw the loss and accuracy curves (per step and per\n"
    "                        epoch, train and test) when training ends\n"
    "  --json                print the final figures as one JSON object on stdout\n"
    "                        (progress then goes to stderr)\n"
    "  --no-tui, --no-gui    plain progress lines (the dashboard and pad are not built yet)\n"
    "  -h, --help            this help\n"
    "\n"
    "%s"
    "\n"
    "Examples:\n"
    "  nnlab train --model mlp --epochs 10\n"
    "  nnlab train --model linear --optimizer sgd --lr 0.1 --batch 32\n"
    "  nnlab train --model my-net.spec --data data/fashion --schedule cosine --json\n"
    "  nnlab train --model mlp --log run.csv --seed 7\n"
    "  nnlab train --model mlp --epochs 5 --plot curves.png\n";

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

typedef struct epoch_record {
    double train_loss, train_accuracy, test_loss, test_accuracy, seconds;
} epoch_record;

typedef struct train_options {
    const char *model;
    const char *data;
    const char *log;
    const char *plot;
    int json;
    cli_hparams hparams;
} train_options;

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
        } else if (!strcmp(argv[i], "--json")) {
            o->json = 1;
        } else if (!strcmp(argv[i], "--no-tui") || !strcmp(argv[i], "--no-gui")) {
            /* Headless is all this build offers; accepted so scripts stay valid. */
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
    fprintf(out, "\r\033[Kepoch %d/%d [%.*s%*s] %3.0f%%  loss %.4g  acc %.2f%%  lr %.3g  %s samples/s  %.1fs",
            s->epoch + 1, t->hp.epochs, fill, "########################", width - fill, "", 100 * frac, loss,
            100 * acc, s->lr, rate, elapsed);
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

static int write_plot(const train_options *o, const nn_trainer *t, const step_series *steps,
                      const epoch_record *hist, int epochs_done)
{
    double *cols = malloc((size_t)(4 * epochs_done + 1) * sizeof *cols);
    if (!cols) {
        cli_error("out of memory");
        return EXIT_RUNTIME;
    }
    for (int e = 0; e < epochs_done; e++) {
        cols[e] = hist[e].train_loss;
        cols[epochs_done + e] = hist[e].train_accuracy;
        cols[2 * epochs_done + e] = hist[e].test_loss;
        cols[3 * epochs_done + e] = hist[e].test_accuracy;
    }
    char title[512];
    snprintf(title, sizeof title, "%s on %s: %s lr=%g batch=%d, seed %llu", o->model,
             o->data ? o->data : "data/mnist-small", nn_optimizer_name(t->hp.optimizer), t->hp.lr, t->hp.batch,
             (unsigned long long)t->hp.seed);
    plot_run run = {.title = title, .steps_per_epoch = (int)t->steps_per_epoch, .n_steps = steps->n,
                    .step_loss = steps->loss, .step_accuracy = steps->accuracy, .n_epochs = epochs_done,
                    .train_loss = cols, .train_accuracy = cols + epochs_done, .test_loss = cols + 2 * epochs_done,
                    .test_accuracy = cols + 3 * epochs_done};
    nn_error err;
    int rc = plot_training_png(o->plot, &run, &err) ? cli_report(&err) : 0;
    free(cols);
    return rc;
}

static void write_json(const train_options *o, const nn_spec *spec, const nn_trainer *t, const epoch_record *hist,
                       int epochs_done, double seconds, int stopped)
{
    json_writer j;
    json_init(&j, stdout);
    json_object_begin(&j, NULL);
    json_string(&j, "model", o->model);
    json_string(&j, "spec", spec->source);
    json_int(&j, "params", (long long)t->graph.param_count);
    json_int(&j, "epochs", epochs_done);
    json_int(&j, "seed", (long long)t->hp.seed);
    json_int(&j, "batch", t->hp.batch);
    json_string(&j, "optimizer", nn_optimizer_name(t->hp.optimizer));
    json_number(&j, "lr", t->hp.lr);
    json_int(&j, "threads", t->hp.threads);
    json_int(&j, "steps", t->step);
    const epoch_record *last = epochs_done ? &hist[epochs_done - 1] : NULL;
    json_number(&j, "train_loss", last ? last->train_loss : NAN);
    json_number(&j, "train_accuracy", last ? last->train_accuracy : NAN);
    json_number(&j, "test_loss", last ? last->test_loss : NAN);
    json_number(&j, "test_accuracy", last ? last->test_accuracy : NAN);
    json_number(&j, "samples_per_sec", nn_trainer_samples_per_sec(t));
    json_number(&j, "train_seconds", t->train_seconds);
    json_number(&j, "seconds", seconds);
    json_bool(&j, "interrupted", stopped);
    json_array_begin(&j, "history");
    for (int e = 0; e < epochs_done; e++) {
        json_object_begin(&j, NULL);
        json_int(&j, "epoch", e + 1);
        json_number(&j, "train_loss", hist[e].train_loss);
        json_number(&j, "train_accuracy", hist[e].train_accuracy);
        json_number(&j, "test_loss", hist[e].test_loss);
        json_number(&j, "test_accuracy", hist[e].test_accuracy);
        json_number(&j, "seconds", hist[e].seconds);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
    json_finish(&j);
}

int cmd_train(int argc, char **argv)
{
    train_options o = {.model = "mlp"};
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc;
    char data_dir[4096];
    if (o.data)
        snprintf(data_dir, sizeof data_dir, "%s", o.data);
    else
        cli_default_data(data_dir, sizeof data_dir);

    nn_spec spec;
    nn_hparams hp;
    if ((rc = cli_load_model(o.model, &o.hparams, &spec, &hp)))
        return rc;
    nn_error err;
    nn_dataset train, test;
    if (nn_dataset_load_dir(data_dir, &train, &test, &err)) {
        nn_spec_free(&spec);
        return cli_report(&err);
    }
    hp.threads = nn_set_threads(hp.threads);
    nn_trainer t;
    if (nn_trainer_init(&t, &spec, &hp, &train, &err)) {
        rc = cli_report(&err);
        goto out_data;
    }
    FILE *log = NULL;
    if (o.log) {
        log = fopen(o.log, "w");
        if (!log) {
            cli_error("%s: cannot write log: %s", o.log, strerror(errno));
            rc = EXIT_RUNTIME;
            goto out_trainer;
        }
        fputs("kind,step,epoch,loss,accuracy,lr,test_loss,test_accuracy\n", log);
    }
    epoch_record *hist = calloc((size_t)hp.epochs, sizeof *hist);
    if (!hist) {
        cli_error("out of memory");
        rc = EXIT_RUNTIME;
        goto out_log;
    }

    FILE *progress = o.json ? stderr : stdout;
    int live = isatty(fileno(progress));
    fprintf(progress, "Training %s (%zu parameters) on %s: %zu train / %zu test images\n"
            "  %s lr=%g batch=%d, %d epoch%s, seed %llu, %d thread%s\n",
            o.model, t.graph.param_count, o.data ? o.data : "data/mnist-small", train.count, test.count,
            nn_optimizer_name(hp.optimizer), hp.lr, hp.batch, hp.epochs, hp.epochs == 1 ? "" : "s",
            (unsigned long long)hp.seed, hp.threads, hp.threads == 1 ? "" : "s");

    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    double start = now_seconds(), last_draw = 0, epoch_start = start;
    int epochs_done = 0;
    step_series steps = {0};
    while (!nn_trainer_done(&t) && !interrupted) {
        nn_step_info s;
        nn_trainer_step(&t, &s);
        if (log)
            fprintf(log, "step,%ld,%d,%.9g,%.9g,%.9g,,\n", s.step, s.epoch + 1, s.loss, s.accuracy, s.lr);
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
                      "NaN or infinite", hp.lr);
            rc = EXIT_RUNTIME;
            break;
        }
        double now = now_seconds();
        if (live && (now - last_draw > 0.1 || s.epoch_done)) {
            draw_progress(progress, &t, &s, now - start);
            last_draw = now;
        }
        if (!s.epoch_done)
            continue;
        epoch_record *r = &hist[epochs_done];
        nn_trainer_epoch_stats(&t, &r->train_loss, &r->train_accuracy);
        nn_eval ev;
        nn_trainer_evaluate(&t, &test, &ev);
        r->test_loss = ev.loss;
        r->test_accuracy = ev.accuracy;
        r->seconds = now_seconds() - epoch_start;
        epoch_start = now_seconds();
        epochs_done++;
        char rate[32];
        format_rate(nn_trainer_samples_per_sec(&t), rate, sizeof rate);
        fprintf(progress, "%sepoch %*d/%d  train loss %.4f  acc %.2f%%  |  test loss %.4f  acc %.2f%%  |  %s samples/s  %.1fs\n",
                live ? "\r\033[K" : "", hp.epochs >= 10 ? 2 : 1, epochs_done, hp.epochs, r->train_loss,
                100 * r->train_accuracy, r->test_loss, 100 * r->test_accuracy, rate, now_seconds() - start);
        fflush(progress);
        if (log)
            fprintf(log, "epoch,%ld,%d,%.9g,%.9g,%.9g,%.9g,%.9g\n", t.step, epochs_done, r->train_loss,
                    r->train_accuracy, s.lr, r->test_loss, r->test_accuracy);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (interrupted) {
        if (live)
            fputs("\r\033[K", progress);
        fprintf(progress, "Interrupted at epoch %d, step %ld.\n", t.epoch + 1, t.step);
        rc = EXIT_INTERRUPTED;
    }
    if (o.plot && steps.n > 0) {
        int prc = write_plot(&o, &t, &steps, hist, epochs_done);
        rc = rc ? rc : prc;
    }
    free(steps.loss);
    free(steps.accuracy);
    if (o.json)
        write_json(&o, &spec, &t, hist, epochs_done, now_seconds() - start, interrupted);
    free(hist);
out_log:
    if (log && fclose(log) != 0) {
        cli_error("%s: error writing log: %s", o.log, strerror(errno));
        rc = rc ? rc : EXIT_RUNTIME;
    }
out_trainer:
    nn_trainer_free(&t);
out_data:
    nn_dataset_free(&train);
    nn_dataset_free(&test);
    nn_spec_free(&spec);
    return rc;
}
