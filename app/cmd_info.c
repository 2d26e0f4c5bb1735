/* `nnlab info`: what a model file holds: the architecture layer by layer,
 * parameter counts, hyperparameters and how it was trained; for a preset or
 * a spec, the architecture alone.  --graph and --dot draw the computational
 * graph from nn_graph_describe. */
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "cli.h"
#include "commands.h"
#include "graph_desc.h"
#include "json.h"
#include "model.h"

static const char info_help[] =
    "Usage: nnlab info MODEL [--json | --graph | --dot FILE]\n"
    "\n"
    "Describe a model file (saved by nnlab train --save): its layers with their\n"
    "output shapes and parameter counts, the hyperparameters it was trained with,\n"
    "and its training record: epochs, last test accuracy, dataset, speed, the\n"
    "history per epoch, when and by which nnlab it was written, its size and\n"
    "format version.  MODEL may also be a preset (mlp, lenet, lstm, vae, ...) or\n"
    "a spec file: then the layers and the recipe in its train line.\n"
    "\n"
    "--graph draws the computational graph: every node (the input, each op and\n"
    "the loss) in a box with its op, output shape (N is the batch size) and the\n"
    "parameters it reads, top to bottom; an arrow joins a node to the one under\n"
    "it, and lanes on the right carry every other edge (branches, the target\n"
    "into the loss).  Box drawing on a UTF-8 terminal, ASCII otherwise.\n"
    "--dot writes the same graph, parameter tensors included, for Graphviz.\n"
    "\n"
    "Options:\n"
    "  --json          print one JSON object on stdout\n"
    "  --graph         draw the computational graph\n"
    "  --dot FILE      write it in Graphviz DOT (- for stdout)\n"
    "  --ascii         draw with ASCII even on a UTF-8 terminal\n"
    "  -h, --help      this help\n"
    "\n"
    "Examples:\n"
    "  nnlab info mlp.nnl\n"
    "  nnlab info mlp.nnl --json\n"
    "  nnlab info lenet --graph\n"
    "  nnlab info vae --dot vae.dot && dot -Tpng vae.dot -o vae.png\n";

/* One spec layer: its name as the graph knows it, output shape and
 * parameter count. */
typedef struct layer_row {
    char name[NN_NAME_LEN];
    const char *kind;
    char shape[64];
    size_t params;
} layer_row;

/* Nodes of layer "dense1" are "dense1" and "dense1.*"; its output is the
 * last of them that is not a parameter. */
static int belongs(const char *node, const char *layer)
{
    size_t n = strlen(layer);
    return !strncmp(node, layer, n) && (node[n] == '\0' || node[n] == '.');
}

static void describe_layer(const nn_graph *g, const nn_layer *layer, int count, layer_row *row)
{
    memset(row, 0, sizeof *row);
    row->kind = nn_layer_name(layer->kind);
    snprintf(row->name, sizeof row->name, "%s%d", row->kind, count);
    int out = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        const nn_node *node = &g->nodes[i];
        if (!belongs(node->name, row->name))
            continue;
        if (node->op == NN_OP_PARAM)
            row->params += node->size;
        else
            out = i;
    }
    if (layer->kind == NN_LAYER_INPUT) {
        snprintf(row->name, sizeof row->name, "input");
        out = g->input;
    }
    if (nn_layer_is_loss(layer->kind))
        snprintf(row->shape, sizeof row->shape, "1 (loss)");
    else if (out < 0)
        snprintf(row->shape, sizeof row->shape, "?");
    else
        nn_shape_format(g->nodes[out].ndim, g->nodes[out].dim, row->shape, sizeof row->shape);
}

static void json_hparams(json_writer *j, const nn_hparams *hp)
{
    char text[1024];
    nn_hparams_format(hp, text, sizeof text);
    json_object_begin(j, "hparams");
    for (char *save, *tok = strtok_r(text, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            continue;
        *eq = '\0';
        char *end;
        double v = strtod(eq + 1, &end);
        if (*end == '\0' && end != eq + 1)
            json_number(j, tok, v);
        else
            json_string(j, tok, eq + 1);
    }
    json_object_end(j);
}

/* The "layers" array and the total parameter count. */
static void json_layers(json_writer *j, const layer_row *rows, int n, size_t total)
{
    json_array_begin(j, "layers");
    for (int i = 0; i < n; i++) {
        json_object_begin(j, NULL);
        json_string(j, "name", rows[i].name);
        json_string(j, "kind", rows[i].kind);
        json_string(j, "shape", rows[i].shape);
        json_int(j, "params", (long long)rows[i].params);
        json_object_end(j);
    }
    json_array_end(j);
    json_int(j, "params", (long long)total);
}

static void print_json(const nn_checkpoint *ck, const layer_row *rows, size_t total)
{
    json_writer j;
    json_init(&j, stdout);
    json_object_begin(&j, NULL);
    json_string(&j, "file", ck->path);
    json_int(&j, "size", (long long)ck->file_size);
    char version[32];
    snprintf(version, sizeof version, "%u.%u", ck->major, ck->minor);
    json_string(&j, "format_version", version);
    json_string(&j, "nnlab_version", ck->version);
    json_string(&j, "created", ck->created);
    json_string(&j, "model", ck->model);
    json_string(&j, "spec", ck->spec_source);
    json_layers(&j, rows, ck->spec.n_layers, total);
    json_hparams(&j, &ck->hp);
    json_object_begin(&j, "training");
    json_int(&j, "epochs", ck->n_history);
    json_int(&j, "steps", ck->step);
    json_bool(&j, "resumable", ck->has_position && ck->has_optim);
    json_string(&j, "dataset", ck->dataset);
    json_int(&j, "train_count", (long long)ck->train_count);
    json_int(&j, "test_count", (long long)ck->test_count);
    if (ck->n_history) {
        json_number(&j, "test_loss", ck->test_loss);
        json_number(&j, "test_accuracy", ck->test_accuracy);
    } else {
        json_null(&j, "test_loss");
        json_null(&j, "test_accuracy");
    }
    json_number(&j, "samples_per_sec", ck->samples_per_sec);
    json_number(&j, "train_seconds", ck->train_seconds);
    json_array_begin(&j, "history");
    for (int e = 0; e < ck->n_history; e++) {
        const nn_epoch_record *r = &ck->history[e];
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
    json_object_end(&j);
    json_finish(&j);
}

/* The hyperparameters as "key=value" words, wrapped. */
static void print_hparams(const nn_hparams *hp)
{
    char text[1024];
    nn_hparams_format(hp, text, sizeof text);
    int col = 0;
    for (char *save, *tok = strtok_r(text, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        int len = (int)strlen(tok);
        if (col && col + 1 + len > 76) {
            putchar('\n');
            col = 0;
        }
        col += printf("%s%s", col ? " " : "  ", tok);
    }
    putchar('\n');
}

static void print_text(const nn_checkpoint *ck, const layer_row *rows, size_t total)
{
    printf("%s: nnlab model file, format %u.%u, %zu bytes, written by nnlab %s on %s\n\n", ck->path, ck->major,
           ck->minor, ck->file_size, ck->version[0] ? ck->version : "?", ck->created[0] ? ck->created : "?");
    printf("Model %s%s%s%s\n", ck->model[0] ? ck->model : "?", ck->spec_source[0] ? " (from " : "",
           ck->spec_source, ck->spec_source[0] ? ")" : "");
    printf("  %-16s %-12s %12s\n", "layer", "output", "parameters");
    for (int i = 0; i < ck->spec.n_layers; i++)
        printf("  %-16s %-12s %12zu\n", rows[i].name, rows[i].shape, rows[i].params);
    printf("  %-16s %-12s %12zu\n\n", "total", "", total);
    printf("Hyperparameters\n");
    print_hparams(&ck->hp);
    printf("\nTraining\n");
    printf("  epochs         %d (step %ld)%s\n", ck->n_history, ck->step,
           ck->has_position && ck->has_optim ? ", resumable with nnlab train --resume" : "");
    if (ck->dataset[0])
        printf("  dataset        %s (%zu train / %zu test images)\n", ck->dataset, ck->train_count, ck->test_count);
    if (ck->n_history)
        printf("  last test      loss %.4f, accuracy %.2f%%\n", ck->test_loss, 100 * ck->test_accuracy);
    printf("  speed          %.0f samples/s, %.1f s of training\n", ck->samples_per_sec, ck->train_seconds);
    if (!ck->n_history)
        return;
    printf("\n  %5s  %10s  %9s  %9s  %8s  %7s\n", "epoch", "train loss", "train acc", "test loss", "test acc",
           "seconds");
    for (int e = 0; e < ck->n_history; e++) {
        const nn_epoch_record *r = &ck->history[e];
        printf("  %5d  %10.4f  %8.2f%%  %9.4f  %7.2f%%  %7.1f\n", e + 1, r->train_loss, 100 * r->train_accuracy,
               r->test_loss, 100 * r->test_accuracy, r->seconds);
    }
}

/* The architecture of a preset or spec: layers, shapes, parameters. */
static void print_spec_text(const char *name, const nn_spec *spec, const layer_row *rows, size_t total)
{
    printf("Model %s (from %s)\n", name, spec->source);
    printf("  %-16s %-12s %12s\n", "layer", "output", "parameters");
    for (int i = 0; i < spec->n_layers; i++)
        printf("  %-16s %-12s %12zu\n", rows[i].name, rows[i].shape, rows[i].params);
    printf("  %-16s %-12s %12zu\n\n", "total", "", total);
    printf("Recipe\n");
    print_hparams(&spec->hp);
}

static void print_spec_json(const char *name, const nn_spec *spec, const layer_row *rows, size_t total)
{
    json_writer j;
    json_init(&j, stdout);
    json_object_begin(&j, NULL);
    json_string(&j, "model", name);
    json_string(&j, "spec", spec->source);
    json_layers(&j, rows, spec->n_layers, total);
    json_hparams(&j, &spec->hp);
    json_object_end(&j);
    json_finish(&j);
}

/* 1 when the terminal's character set is UTF-8. */
static int utf8_locale(void)
{
    setlocale(LC_CTYPE, "");
    const char *codeset = nl_langinfo(CODESET);
    return codeset && (!strcmp(codeset, "UTF-8") || !strcmp(codeset, "utf8"));
}

/* --graph and --dot: the drawing on stdout, DOT to a file or stdout. */
static int print_graph(const nn_graph *g, const char *title, int graph, const char *dot, int ascii)
{
    nn_error err;
    nn_graph_desc d;
    if (nn_graph_describe(g, &d, &err))
        return cli_report(&err);
    int rc = 0;
    if (graph && nn_graph_write_text(&d, title, !ascii && utf8_locale(), stdout, &err))
        rc = cli_report(&err);
    if (!rc && dot) {
        FILE *f = strcmp(dot, "-") ? fopen(dot, "w") : stdout;
        if (!f) {
            cli_error("%s: cannot write: %s", dot, strerror(errno));
            rc = EXIT_RUNTIME;
        } else {
            if (nn_graph_write_dot(&d, title, f, &err))
                rc = cli_report(&err);
            if (f != stdout && fclose(f) != 0 && !rc) {
                cli_error("%s: cannot write: %s", dot, strerror(errno));
                rc = EXIT_RUNTIME;
            }
        }
    }
    nn_graph_desc_free(&d);
    return rc;
}

static int describe_rows(const nn_graph *g, const nn_spec *spec, layer_row **out)
{
    layer_row *rows = calloc((size_t)spec->n_layers + 1, sizeof *rows);
    if (!rows) {
        cli_error("out of memory");
        return EXIT_RUNTIME;
    }
    int count[NN_LAYER_COUNT] = {0};
    for (int i = 0; i < spec->n_layers; i++) {
        const nn_layer *layer = &spec->layers[i];
        describe_layer(g, layer, ++count[layer->kind], &rows[i]);
    }
    *out = rows;
    return 0;
}

/* A preset or a spec file: built with its own recipe, never trained. */
static int info_spec(const char *name, int json, int graph, const char *dot, int ascii)
{
    nn_spec spec;
    nn_hparams hp;
    cli_hparams none = {0};
    int rc = cli_load_model(name, &none, &spec, &hp);
    if (rc)
        return rc;
    nn_error err;
    nn_graph g;
    if (nn_model_build(&g, &spec, &hp, 1, &err)) {
        nn_spec_free(&spec);
        return cli_report(&err);
    }
    const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    char title[256];
    snprintf(title, sizeof title, "%.*s", (int)strcspn(base, "."), base);
    layer_row *rows = NULL;
    if (graph || dot)
        rc = print_graph(&g, title, graph, dot, ascii);
    else if (!(rc = describe_rows(&g, &spec, &rows)))
        (json ? print_spec_json : print_spec_text)(title, &spec, rows, g.param_count);
    free(rows);
    nn_graph_free(&g);
    nn_spec_free(&spec);
    return rc;
}

int cmd_info(int argc, char **argv)
{
    const char *model = NULL, *dot = NULL;
    int json = 0, graph = 0, ascii = 0;
    for (int i = 1; i < argc; i++) {
        int got;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(info_help, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--graph")) {
            graph = 1;
        } else if (!strcmp(argv[i], "--ascii")) {
            ascii = 1;
        } else if ((got = cli_option(argc, argv, &i, "dot", &dot)) != 0) {
            if (got < 0)
                return EXIT_USAGE;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            cli_error("info: unknown option '%s' (see nnlab info --help)", argv[i]);
            return EXIT_USAGE;
        } else if (model) {
            cli_error("info: one model expected, got '%s' and '%s'", model, argv[i]);
            return EXIT_USAGE;
        } else {
            model = argv[i];
        }
    }
    if (!model) {
        cli_error("info: which model? (usage: nnlab info MODEL)");
        return EXIT_USAGE;
    }
    if (json && (graph || dot)) {
        cli_error("info: --json describes the layers; --graph and --dot draw the graph: one at a time");
        return EXIT_USAGE;
    }
    if (graph && dot && !strcmp(dot, "-")) {
        cli_error("info: --graph and --dot - would both go to stdout; give --dot a file");
        return EXIT_USAGE;
    }
    /* A file named .nnl is a model file whatever it holds, so that a wrong
     * file gets the model reader's message rather than a spec error. */
    size_t len = strlen(model);
    int named_nnl = len > 4 && strcmp(model + len - 4, ".nnl") == 0;
    if (!named_nnl && !nn_checkpoint_is_file(model))
        return info_spec(model, json, graph, dot, ascii);
    nn_error err;
    nn_checkpoint ck;
    if (nn_checkpoint_load(&ck, model, &err))
        return cli_report(&err);
    nn_graph g;
    if (nn_checkpoint_build(&ck, &g, 1, &err)) {
        nn_checkpoint_free(&ck);
        return cli_report(&err);
    }
    int rc = 0;
    layer_row *rows = NULL;
    if (graph || dot)
        rc = print_graph(&g, ck.model[0] ? ck.model : model, graph, dot, ascii);
    else if (!(rc = describe_rows(&g, &ck.spec, &rows)))
        (json ? print_json : print_text)(&ck, rows, g.param_count);
    free(rows);
    nn_graph_free(&g);
    nn_checkpoint_free(&ck);
    return rc;
}
