/* `nnlab quantize`: post-training int8 quantisation of a model file, with
 * accuracy, file size and batch-1 inference speed before and after. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checkpoint.h"
#include "cli.h"
#include "commands.h"
#include "json.h"
#include "quant.h"
#include "trainer.h"

static const char quantize_help[] =
    "Usage: nnlab quantize MODEL -o OUT [options]\n"
    "\n"
    "Post-training int8 quantisation: every dense and convolution weight becomes\n"
    "int8 with a symmetric scale per output channel, and each such layer's input\n"
    "gets a symmetric int8 scale calibrated on training images (the largest\n"
    "magnitude seen). OUT runs those layers as int8 x int8 dot products summed\n"
    "in int32 (AVX2 where the build targets it), scaled back once per output;\n"
    "biases, activations and pooling stay float. A convolution with fewer than\n"
    "32 inputs per output (lenet's and cnn's first, with 25 and 9) stays float\n"
    "too, and the report names it: its int8 products would be mostly padding,\n"
    "and ran at half the speed of the float kernels. eval, predict and the pad\n"
    "run OUT through the int8 layers. Reports test accuracy, file size and\n"
    "batch-1 inference samples/s (one thread; medians of 7 runs of each, taken\n"
    "in turn) before and after.\n"
    "\n"
    "Options:\n"
    "  -o, --output OUT      the quantised model file\n"
    "  --calibrate N         training images for the activation ranges (default 1000)\n"
    "  --data DIR            data (default: as recorded in MODEL)\n"
    "  --json                the figures as one JSON object\n"
    "  -h, --help            this help\n"
    "\n"
    "Examples:\n"
    "  nnlab quantize lenet.nnl -o lenet-int8.nnl\n"
    "  nnlab eval lenet-int8.nnl\n"
    "  nnlab quantize mlp.nnl -o mlp-int8.nnl --calibrate 4000 --json\n";

typedef struct quantize_options {
    const char *model, *out, *data;
    long calibrate;
    int json;
} quantize_options;

static int parse_options(int argc, char **argv, quantize_options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *value;
        int r;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(quantize_help, stdout);
            exit(0);
        } else if ((r = cli_option(argc, argv, &i, "output", &value))) {
            if (r < 0)
                return EXIT_USAGE;
            o->out = value;
        } else if (!strcmp(argv[i], "-o")) {
            if (i + 1 >= argc) {
                cli_error("option -o needs a value (see --help)");
                return EXIT_USAGE;
            }
            o->out = argv[++i];
        } else if ((r = cli_option(argc, argv, &i, "calibrate", &value))) {
            char *end;
            if (r < 0)
                return EXIT_USAGE;
            errno = 0;
            o->calibrate = strtol(value, &end, 10);
            if (end == value || *end || errno || o->calibrate < 1) {
                cli_error("--calibrate: '%s' is not a positive number of images", value);
                return EXIT_USAGE;
            }
        } else if ((r = cli_option(argc, argv, &i, "data", &value))) {
            if (r < 0)
                return EXIT_USAGE;
            o->data = value;
        } else if (!strcmp(argv[i], "--json")) {
            o->json = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            cli_error("quantize: unknown option '%s' (see nnlab quantize --help)", argv[i]);
            return EXIT_USAGE;
        } else if (o->model) {
            cli_error("quantize: one model file expected, got '%s' and '%s'", o->model, argv[i]);
            return EXIT_USAGE;
        } else {
            o->model = argv[i];
        }
    }
    if (!o->model || !o->out) {
        cli_error("quantize: usage: nnlab quantize MODEL -o OUT (see --help)");
        return EXIT_USAGE;
    }
    return 0;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Samples/s of one run of about 0.2 s classifying test images one at a time. */
static double batch1_run(nn_graph *g, const nn_dataset *ds, size_t *next)
{
    nn_node *in = &g->nodes[g->input], *target = &g->nodes[g->target];
    long count = 0;
    double start = now_seconds(), elapsed;
    do {
        for (int k = 0; k < 50; k++, count++) {
            size_t idx = (*next)++ % ds->count;
            int label;
            nn_dataset_batch(ds, &idx, 1, in->value, target->value, &label);
            nn_graph_forward(g, 1); /* int8 where the graph has int8 layers attached */
        }
        elapsed = now_seconds() - start;
    } while (elapsed < 0.2);
    return (double)count / elapsed;
}

/* Batch-1 inference samples/s of the float graph a and the int8 graph b:
 * runs taken in turn (a, b, a, b, ...) so that a change in the machine's
 * load falls on both, and the median of 7 each. */
static void batch1_rates(nn_graph *a, nn_graph *b, const nn_dataset *ds, double *rate_a, double *rate_b)
{
    enum { RUNS = 7 };
    double ra[RUNS], rb[RUNS];
    size_t next_a = 0, next_b = 0;
    for (int r = 0; r < RUNS; r++) {
        ra[r] = batch1_run(a, ds, &next_a);
        rb[r] = batch1_run(b, ds, &next_b);
    }
    qsort(ra, RUNS, sizeof *ra, compare_doubles);
    qsort(rb, RUNS, sizeof *rb, compare_doubles);
    *rate_a = ra[RUNS / 2];
    *rate_b = rb[RUNS / 2];
}

typedef struct quantize_report {
    double acc_before, loss_before, acc_after, loss_after, rate_float, rate_int8;
    size_t size_before, size_dense, size_after;
    int layers;
} quantize_report;

static void write_json(const quantize_options *o, const quantize_report *r, const nn_quant *q, const nn_graph *g)
{
    json_writer j;
    json_init(&j, stdout);
    json_object_begin(&j, NULL);
    json_string(&j, "model", o->model);
    json_string(&j, "output", o->out);
    json_int(&j, "int8_layers", r->layers);
    json_array_begin(&j, "float_layers");
    for (int k = 0; nn_quant_float_layer(q, g, k); k++)
        json_string(&j, NULL, nn_quant_float_layer(q, g, k));
    json_array_end(&j);
    json_int(&j, "calibration_images", o->calibrate);
    json_number(&j, "accuracy_before", r->acc_before);
    json_number(&j, "accuracy_after", r->acc_after);
    json_number(&j, "loss_before", r->loss_before);
    json_number(&j, "loss_after", r->loss_after);
    json_int(&j, "size_before", (long long)r->size_before);
    json_int(&j, "size_dense", (long long)r->size_dense);
    json_int(&j, "size_after", (long long)r->size_after);
    json_number(&j, "float_samples_per_sec_batch1", r->rate_float);
    json_number(&j, "int8_samples_per_sec_batch1", r->rate_int8);
    json_object_end(&j);
    json_finish(&j);
}

int cmd_quantize(int argc, char **argv)
{
    quantize_options o = {.calibrate = 1000};
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc;
    nn_checkpoint ck, ck8 = {0};
    nn_dataset train, test;
    char dir[4096];
    if ((rc = cli_load_model_file(o.model, o.data, &ck, &train, &test, dir, sizeof dir)))
        return rc;
    nn_error err;
    nn_trainer t;
    nn_graph one = {0}, one8 = {0};
    nn_quant q = {0};
    quantize_report rep = {0};
    int have_trainer = 0;
    FILE *out = o.json ? stderr : stdout;
    if (ck.quantised) {
        cli_error("%s is already an int8 model", o.model);
        rc = EXIT_USAGE;
        goto out;
    }
    /* Figures on one thread, so both sides are measured alike. */
    nn_hparams hp = ck.hp;
    hp.threads = nn_set_threads(1);
    nn_eval ev;
    if ((rc = cli_model_baseline(&t, &ck, &hp, &train, &test, &ev, &rep.size_dense)))
        goto out;
    have_trainer = 1;
    rep.acc_before = ev.accuracy;
    rep.loss_before = ev.loss;
    rep.size_before = ck.file_size;
    if (nn_quant_build(&q, &t.graph, &train, (size_t)o.calibrate, &err)) {
        rc = cli_report(&err);
        goto out;
    }
    rep.layers = q.n_layers;
    if (q.n_layers == 0) {
        cli_error("%s has no dense or convolution layer to quantise", o.model);
        rc = EXIT_USAGE;
        goto out;
    }
    nn_quant_evaluate(&q, &t.graph, &test, &ev);
    nn_export int8 = {.encoding = NN_TENSOR_INT8, .quant = &q, .weights = "int8", .from = &ck,
                      .test_loss = ev.loss, .test_accuracy = ev.accuracy, .test_count = test.count};
    if (nn_checkpoint_export(&t.graph, &ck.spec, &ck.hp, &int8, o.out, &rep.size_after, &err)) {
        rc = cli_report(&err);
        goto out;
    }
    /* The figures after come from the file as eval will read it. */
    if (nn_checkpoint_load(&ck8, o.out, &err) || nn_checkpoint_apply(&ck8, &t.graph, &err) ||
        nn_checkpoint_attach_quant(&ck8, &t.graph, &err)) {
        rc = cli_report(&err);
        goto out;
    }
    nn_trainer_evaluate(&t, &test, &ev);
    rep.acc_after = ev.accuracy;
    rep.loss_after = ev.loss;

    if (nn_checkpoint_build(&ck, &one, 1, &err) || nn_checkpoint_build(&ck8, &one8, 1, &err)) {
        rc = cli_report(&err);
        goto out;
    }
    batch1_rates(&one, &one8, &test, &rep.rate_float, &rep.rate_int8);

    fprintf(out, "%s: %d layer%s quantised to int8, inputs calibrated on %ld training images\n", o.model,
            rep.layers, rep.layers == 1 ? "" : "s", o.calibrate < (long)train.count ? o.calibrate : (long)train.count);
    for (int k = 0; nn_quant_float_layer(&q, &t.graph, k); k++)
        fprintf(out, "%s%s", k ? ", " : "", nn_quant_float_layer(&q, &t.graph, k));
    if (nn_quant_float_layer(&q, &t.graph, 0))
        fprintf(out, " kept in float: fewer than %d inputs per output\n", NN_QUANT_MIN_CONV_K);
    fputc('\n', out);
    fprintf(out, "                 test accuracy   file size          batch-1 inference\n");
    fprintf(out, "  float          %12.2f%%   %9zu bytes   %9.0f samples/s  (%s)\n", 100 * rep.acc_before,
            rep.size_before, rep.rate_float, o.model);
    fprintf(out, "  int8           %12.2f%%   %9zu bytes   %9.0f samples/s  (%s)\n", 100 * rep.acc_after,
            rep.size_after, rep.rate_int8, o.out);
    fprintf(out, "  change         %+11.2f pts  %8.2fx smaller  %8.2fx as fast\n", 100 * (rep.acc_after - rep.acc_before),
            (double)rep.size_before / (double)rep.size_after, rep.rate_int8 / rep.rate_float);
    fprintf(out, "  (the same float model stored without training state: %zu bytes, %.2fx the int8 file)\n",
            rep.size_dense, (double)rep.size_dense / (double)rep.size_after);
    if (o.json)
        write_json(&o, &rep, &q, &t.graph);
out:
    nn_quant_free(&q);
    nn_graph_free(&one);
    nn_graph_free(&one8);
    if (have_trainer)
        nn_trainer_free(&t);
    nn_checkpoint_free(&ck8);
    nn_dataset_free(&train);
    nn_dataset_free(&test);
    nn_checkpoint_free(&ck);
    return rc;
}
