/* `nnlab eval`: a model file's loss, accuracy, per-class accuracy and
 * confusion matrix on a test set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "cli.h"
#include "commands.h"
#include "json.h"
#include "trainer.h"

static const char eval_help[] =
    "Usage: nnlab eval MODEL [--data DIR] [--json] [--threads N]\n"
    "\n"
    "Evaluate a model file (saved by nnlab train --save) on the test images of\n"
    "an MNIST-style dataset: loss, accuracy, accuracy per class and the confusion\n"
    "matrix (rows: true class, columns: predicted class). The figures are those\n"
    "train reports for the same weights. A quantised model (nnlab quantize) runs\n"
    "through its int8 layers.\n"
    "\n"
    "Options:\n"
    "  --data DIR      directory with the four IDX files (default: the one\n"
    "                  recorded in the model file, else data/mnist-small)\n"
    "  --json          print one JSON object on stdout: loss, accuracy,\n"
    "                  per_class_accuracy, confusion, count\n"
    "  --threads N     BLAS threads (default: as the model was trained)\n"
    "  -h, --help      this help\n"
    "\n"
    "Exit status: 0 success, 1 runtime failure, 2 bad usage or a bad model or\n"
    "data file.\n"
    "\n"
    "Examples:\n"
    "  nnlab eval mlp.nnl\n"
    "  nnlab eval mlp.nnl --data data/fashion\n"
    "  nnlab eval mlp.nnl --json\n";

static void print_json(const char *model, const char *data, const nn_eval *ev, int int8)
{
    json_writer j;
    json_init(&j, stdout);
    json_object_begin(&j, NULL);
    json_string(&j, "model", model);
    json_string(&j, "data", data);
    json_bool(&j, "int8", int8);
    json_int(&j, "count", (long long)ev->count);
    json_number(&j, "loss", ev->loss);
    json_number(&j, "accuracy", ev->accuracy);
    json_array_begin(&j, "per_class_accuracy");
    for (int c = 0; c < ev->classes; c++)
        json_number(&j, NULL, ev->class_accuracy[c]);
    json_array_end(&j);
    json_array_begin(&j, "confusion");
    for (int c = 0; c < ev->classes; c++) {
        json_array_begin(&j, NULL);
        for (int p = 0; p < ev->classes; p++)
            json_int(&j, NULL, ev->confusion[c][p]);
        json_array_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
    json_finish(&j);
}

static void print_table(const char *model, const char *data, const nn_eval *ev, int int8)
{
    printf("%s%s on %s: %zu test images\n", model, int8 ? " (int8)" : "", data, ev->count);
    printf("loss %.4f  accuracy %.2f%%\n\n", ev->loss, 100 * ev->accuracy);
    printf("class     ");
    for (int c = 0; c < ev->classes; c++)
        printf(" %6d", c);
    printf("\naccuracy  ");
    for (int c = 0; c < ev->classes; c++)
        printf(" %5.1f%%", 100 * ev->class_accuracy[c]);
    printf("\n\nConfusion matrix (rows: true class, columns: predicted):\n\n  true \\ pred");
    for (int c = 0; c < ev->classes; c++)
        printf(" %5d", c);
    printf("\n");
    for (int c = 0; c < ev->classes; c++) {
        printf("  %11d", c);
        for (int p = 0; p < ev->classes; p++)
            printf(" %5ld", ev->confusion[c][p]);
        printf("\n");
    }
}

int cmd_eval(int argc, char **argv)
{
    const char *model = NULL, *data = NULL, *threads = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        int r;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(eval_help, stdout);
            return 0;
        } else if ((r = cli_option(argc, argv, &i, "data", &data)) ||
                   (r = cli_option(argc, argv, &i, "threads", &threads))) {
            if (r < 0)
                return EXIT_USAGE;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            cli_error("eval: unknown option '%s' (see nnlab eval --help)", argv[i]);
            return EXIT_USAGE;
        } else if (model) {
            cli_error("eval: one model file expected, got '%s' and '%s'", model, argv[i]);
            return EXIT_USAGE;
        } else {
            model = argv[i];
        }
    }
    if (!model) {
        cli_error("eval: which model? (usage: nnlab eval MODEL [--data DIR])");
        return EXIT_USAGE;
    }

    nn_error err;
    nn_checkpoint ck;
    if (nn_checkpoint_load(&ck, model, &err))
        return cli_report(&err);
    nn_hparams hp = ck.hp;
    if (threads && nn_hparams_set(&hp, "threads", threads, &err)) {
        nn_checkpoint_free(&ck);
        cli_error("--threads: %s", err.msg);
        return EXIT_USAGE;
    }
    char dir[4096];
    if (data)
        snprintf(dir, sizeof dir, "%s", data);
    else if (ck.dataset[0])
        snprintf(dir, sizeof dir, "%s", ck.dataset);
    else
        cli_default_data(dir, sizeof dir);
    nn_dataset train, test;
    if (nn_dataset_load_dir(dir, &train, &test, &err)) {
        int rc = cli_report(&err);
        if (!data && ck.dataset[0])
            fprintf(stderr, "(%s is the data directory recorded in %s; use --data DIR for another)\n", dir, model);
        nn_checkpoint_free(&ck);
        return rc;
    }
    nn_dataset_free(&train);
    nn_set_threads(hp.threads);

    /* A trainer over the test set evaluates exactly as training did: the same
     * batch size, so the same sums in the same order. */
    nn_trainer t;
    int rc = 0;
    if (nn_trainer_init(&t, &ck.spec, &hp, &test, &err) || nn_checkpoint_apply(&ck, &t.graph, &err)) {
        rc = cli_report(&err);
    } else if (nn_checkpoint_attach_quant(&ck, &t.graph, &err)) { /* int8 files run their int8 layers */
        rc = cli_report(&err);
    } else {
        nn_eval ev;
        nn_trainer_evaluate(&t, &test, &ev);
        if (json)
            print_json(model, dir, &ev, ck.quantised);
        else
            print_table(model, dir, &ev, ck.quantised);
    }
    nn_trainer_free(&t);
    nn_dataset_free(&test);
    nn_checkpoint_free(&ck);
    return rc;
}
