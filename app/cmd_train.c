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
#include "latent.h"
#include "png.h"
#include "trainer.h"

static const char train_help[] =
    "Usage: nnlab train [options]\n"
    "\n"
    "Train a model on an MNIST-style dataset and report test loss and accuracy\n"
    "after every epoch. Evaluation time is excluded from samples/s.\n"
    "\n"
    "Options:\n"
    "  --model NAME|FILE     preset (linear, mlp, mlp-tanh, lenet, cnn, lstm, vae) or a\n"
    "                        spec file (default lenet)\n"
    "  --data DIR            directory with the four IDX files (default data/mnist-small)\n"
    "  --log FILE.csv        write one row per step and one per epoch\n"
    "  --sample-grid FILE.png  after training a model with a latent code (vae), decode\n"
    "                        a 20x20 grid of latent points and write the digits as a PNG\n"
    "  --json                print the final figures as one JSON object on stdout\n"
    "                        (progress then goes to stderr)\n"
    "  --no-tui, --no-gui    plain progress lines (the dashboard and pad are not built yet)\n"
    "  -h, --help            this help\n"
    "\n"
    "%s"
    "\n"
    "A model that reconstructs its input has no accuracy; the loss of a variational\n"
    "one (vae) is the negative evidence lower bound per image (reconstruction +\n"
    "KL), in nats.\n"
    "\n"
    "Examples:\n"
    "  nnlab train --model lenet --epochs 15\n"
    "  nnlab train --model vae --sample-grid vae-grid.png\n"
    "  nnlab train --model linear --optimizer sgd --lr 0.1 --batch 32\n"
    "  nnlab train --model my-net.spec --data data/fashion --schedule cosine --json\n"
    "  nnlab train --model mlp --log run.csv --seed 7\n";

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
    const char *sample_grid;
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
        } else if ((r = cli_option(argc, argv, &i, "sample-grid", &value))) {
            if (r < 0)
                return EXIT_USAGE;
            o->sample_grid = value;
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

int cmd_train(int argc, char **argv)
{
    train_options o = {.model = "lenet"};
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
    if (o.sample_grid && nn_latent_size(&t.graph) == 0) {
        cli_error("--sample-grid: %s has no latent code to sample (it needs a gaussian layer, as in vae)", o.model);
        rc = EXIT_USAGE;
        goto out_trainer;
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
    fprintf(progress, "Training %s (%zu parameters) on %s: %zu train / %zu test images, %s lr=%g batch=%d, "
            "%d epoch%s, seed %llu\n",
            o.model, t.graph.param_count, o.data ? o.data : "data/mnist-small", train.count, test.count, nn_optimizer_name(hp.optimizer), hp.lr,
            hp.batch, hp.epochs, hp.epochs == 1 ? "" : "s", (unsigned long long)hp.seed);
    if (t.graph.reconstructs && nn_latent_size(&t.graph) > 0)
        fprintf(progress, "loss: negative ELBO per image in nats (reconstruction + KL); %d-D latent code\n",
                nn_latent_size(&t.graph));
    else if (t.graph.reconstructs)
        fputs("loss: reconstruction error per image, summed over its pixels\n", progress);

    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    double start = now_seconds(), last_draw = 0, epoch_start = start;
    int epochs_done = 0;
    while (!nn_trainer_done(&t) && !interrupted) {
        nn_step_info s;
        nn_trainer_step(&t, &s);
        if (log) {
            char acc[32];
            fprintf(log, "step,%ld,%d,%.9g,%s,%.9g,,\n", s.step, s.epoch + 1, s.loss, csv_number(s.accuracy, acc),
                    s.lr);
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
        char train_acc[32] = "", test_acc[32] = "";
        if (!t.graph.reconstructs) {
            snprintf(train_acc, sizeof train_acc, "  acc %.2f%%", 100 * r->train_accuracy);
            snprintf(test_acc, sizeof test_acc, "  acc %.2f%%", 100 * r->test_accuracy);
        }
        fprintf(progress, "%sepoch %*d/%d  train loss %.4f%s  |  test loss %.4f%s  |  %s samples/s  %.1fs\n",
                live ? "\r\033[K" : "", hp.epochs >= 10 ? 2 : 1, epochs_done, hp.epochs, r->train_loss, train_acc,
                r->test_loss, test_acc, rate, now_seconds() - start);
        fflush(progress);
        if (log) {
            char train_acc_csv[32], test_acc_csv[32];
            fprintf(log, "epoch,%ld,%d,%.9g,%s,%.9g,%.9g,%s\n", t.step, epochs_done, r->train_loss,
                    csv_number(r->train_accuracy, train_acc_csv), s.lr, r->test_loss,
                    csv_number(r->test_accuracy, test_acc_csv));
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (interrupted) {
        if (live)
            fputs("\r\033[K", progress);
        fprintf(progress, "Interrupted at epoch %d, step %ld.\n", t.epoch + 1, t.step);
        rc = EXIT_INTERRUPTED;
    }
    if (o.sample_grid && rc != EXIT_RUNTIME) {
        int rc_grid = write_sample_grid(&t, o.sample_grid);
        rc = rc ? rc : rc_grid;
        if (!rc_grid)
            fprintf(progress, "Wrote a grid of decoded samples to %s\n", o.sample_grid);
    }
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
