/* `nnlab predict`: classify digit images, or drawings given as strokes,
 * with a saved model and the pad's own preprocessing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canvas.h"
#include "checkpoint.h"
#include "cli.h"
#include "commands.h"
#include "json.h"
#include "predictor.h"
#include "preprocess.h"
#include "strokes.h"

static const char predict_help[] =
    "Usage: nnlab predict MODEL FILE... [options]\n"
    "       nnlab predict MODEL --strokes FILE [options]\n"
    "\n"
    "Classify digits with a model file (saved by nnlab train --save). Each input\n"
    "is prepared as MNIST's digits were, exactly as the drawing pad prepares a\n"
    "drawing: cropped to the ink, scaled so the longer side is 20 px (area\n"
    "averaging), and placed in 28x28 with its centre of mass in the middle.\n"
    "\n"
    "Images: PNG, JPEG, BMP, PGM/PPM, GIF or TGA, up to 8192 px a side, grey or\n"
    "colour. Dark ink on light paper is detected from the image's border and\n"
    "inverted (see --invert); the background level is subtracted. An image with\n"
    "a transparent background counts its opaque pixels as ink.\n"
    "\n"
    "Strokes files hold drawings as pen strokes, one stroke per line of x,y\n"
    "points in [0,1] (origin top left), and a line holding only '=' ends a\n"
    "drawing; '#' starts a comment. Each drawing is drawn with the pad's brush\n"
    "on its 280x280 canvas:\n"
    "\n"
    "    # a seven\n"
    "    0.25,0.2 0.75,0.2 0.45,0.85\n"
    "    =\n"
    "\n"
    "Options:\n"
    "  --strokes FILE      classify every drawing in a strokes file (repeatable)\n"
    "  --invert MODE       auto (default), yes (dark ink on light paper) or no\n"
    "                      (light ink on dark, as MNIST)\n"
    "  --show              also print each 28x28 input the network saw\n"
    "  --json              print one JSON array on stdout, one object per input\n"
    "                      in order: input, label (null for a blank input) and\n"
    "                      probs (ten numbers)\n"
    "  -h, --help          this help\n"
    "\n"
    "A blank input (no ink) gets no label. Exit status: 0 success, 1 runtime\n"
    "failure, 2 bad usage or an unreadable model, image or strokes file (nothing\n"
    "is printed on stdout then).\n"
    "\n"
    "Examples:\n"
    "  nnlab predict lenet.nnl digit.png\n"
    "  nnlab predict lenet.nnl scans/*.jpg --invert yes\n"
    "  nnlab predict lenet.nnl --strokes tests/data/digits.strokes --json\n";

typedef struct result {
    char input[600];
    int line;                   /* strokes: where the drawing starts; 0 for images */
    int label;                  /* -1: blank */
    int inverted;
    float probs[NN_PREDICTOR_MAX_CLASSES];
    float seen[NN_MNIST_SIDE * NN_MNIST_SIDE];
} result;

typedef struct results {
    result *items;
    size_t n, cap;
} results;

static result *add_result(results *r)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        result *grown = realloc(r->items, cap * sizeof *grown);
        if (!grown)
            return NULL;
        r->items = grown;
        r->cap = cap;
    }
    result *out = &r->items[r->n++];
    memset(out, 0, sizeof *out);
    return out;
}

static int classify_image(nn_predictor *p, const char *path, int invert, results *out)
{
    float *ink;
    int w, h, inverted;
    nn_error err;
    if (nn_image_load_ink(path, invert, &ink, &w, &h, &inverted, &err))
        return cli_report(&err);
    result *r = add_result(out);
    int rc = r ? nn_predictor_classify_ink(p, ink, w, h, w, r->seen, r->probs, &r->label, NULL, &err) : NN_ERUNTIME;
    free(ink);
    if (!r) {
        cli_error("out of memory");
        return EXIT_RUNTIME;
    }
    if (rc)
        return cli_report(&err);
    snprintf(r->input, sizeof r->input, "%s", path);
    r->inverted = inverted;
    return 0;
}

static int classify_strokes(nn_predictor *p, const char *path, results *out)
{
    nn_strokes s;
    nn_error err;
    if (nn_strokes_load(&s, path, &err))
        return cli_report(&err);
    if (s.n_drawings == 0) {
        nn_strokes_free(&s);
        nn_error_set(&err, NN_EINPUT, "%s: no drawings in the file (expected lines of x,y points)", path);
        return cli_report(&err);
    }
    nn_canvas canvas;
    if (nn_canvas_new(&canvas, NN_CANVAS_SIZE, NN_CANVAS_SIZE, &err)) {
        nn_strokes_free(&s);
        return cli_report(&err);
    }
    int rc = 0;
    for (int d = 0; d < s.n_drawings && !rc; d++) {
        nn_strokes_render(&s.drawings[d], &canvas);
        result *r = add_result(out);
        if (!r) {
            cli_error("out of memory");
            rc = EXIT_RUNTIME;
            break;
        }
        if (nn_predictor_classify_ink(p, canvas.ink, canvas.width, canvas.height, canvas.width, r->seen, r->probs,
                                      &r->label, NULL, &err)) {
            rc = cli_report(&err);
            break;
        }
        snprintf(r->input, sizeof r->input, "%s#%d", path, d + 1);
        r->line = s.drawings[d].line;
    }
    nn_canvas_free(&canvas);
    nn_strokes_free(&s);
    return rc;
}

static void print_seen(const float *seen)
{
    static const char shades[] = " .:-=+*#%@";
    for (int y = 0; y < NN_MNIST_SIDE; y++) {
        fputs("    ", stdout);
        for (int x = 0; x < NN_MNIST_SIDE; x++) {
            float v = seen[y * NN_MNIST_SIDE + x];
            int k = (int)(v * 9.0f + 0.5f);
            k = k < 0 ? 0 : k > 9 ? 9 : k;
            putchar(shades[k]);
            putchar(shades[k]);
        }
        putchar('\n');
    }
}

static void print_text(const results *rs, int classes, int show)
{
    size_t width = 0;
    for (size_t i = 0; i < rs->n; i++)
        if (strlen(rs->items[i].input) > width)
            width = strlen(rs->items[i].input);
    if (width > 60)
        width = 60;
    for (size_t i = 0; i < rs->n; i++) {
        const result *r = &rs->items[i];
        if (r->label < 0) {
            printf("%-*s  blank (no ink)\n", (int)width, r->input);
            continue;
        }
        int second = r->label == 0 ? 1 : 0;
        for (int k = 0; k < classes; k++)
            if (k != r->label && r->probs[k] > r->probs[second])
                second = k;
        printf("%-*s  %d  %5.1f%%   (then %d %.1f%%)%s\n", (int)width, r->input, r->label, 100.0 * r->probs[r->label],
               second, 100.0 * r->probs[second], r->inverted ? "  [dark on light, inverted]" : "");
        if (show)
            print_seen(r->seen);
    }
}

static void print_json(const results *rs, int classes)
{
    json_writer j;
    json_init(&j, stdout);
    json_array_begin(&j, NULL);
    for (size_t i = 0; i < rs->n; i++) {
        const result *r = &rs->items[i];
        json_object_begin(&j, NULL);
        json_string(&j, "input", r->input);
        if (r->line)
            json_int(&j, "line", r->line);
        if (r->label < 0) {
            json_null(&j, "label");
            json_null(&j, "probs");
        } else {
            json_int(&j, "label", r->label);
            json_array_begin(&j, "probs");
            for (int k = 0; k < classes; k++)
                json_number(&j, NULL, r->probs[k]);
            json_array_end(&j);
        }
        if (!r->line)
            json_bool(&j, "inverted", r->inverted);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_finish(&j);
}

int cmd_predict(int argc, char **argv)
{
    const char *model = NULL;
    const char **images = calloc((size_t)argc + 1, sizeof *images), **strokes = calloc((size_t)argc + 1, sizeof *strokes);
    int n_images = 0, n_strokes = 0, json = 0, show = 0, invert = NN_INVERT_AUTO, rc = 0;
    if (!images || !strokes) {
        cli_error("out of memory");
        rc = EXIT_RUNTIME;
        goto out_args;
    }
    for (int i = 1; i < argc; i++) {
        const char *value;
        int r;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(predict_help, stdout);
            goto out_args;
        } else if ((r = cli_option(argc, argv, &i, "strokes", &value))) {
            if (r < 0) {
                rc = EXIT_USAGE;
                goto out_args;
            }
            strokes[n_strokes++] = value;
        } else if ((r = cli_option(argc, argv, &i, "invert", &value))) {
            if (r < 0) {
                rc = EXIT_USAGE;
                goto out_args;
            }
            if (!strcmp(value, "auto"))
                invert = NN_INVERT_AUTO;
            else if (!strcmp(value, "yes"))
                invert = NN_INVERT_ALWAYS;
            else if (!strcmp(value, "no"))
                invert = NN_INVERT_NEVER;
            else {
                cli_error("--invert: '%s' is not auto, yes or no", value);
                rc = EXIT_USAGE;
                goto out_args;
            }
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--show")) {
            show = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            cli_error("predict: unknown option '%s' (see nnlab predict --help)", argv[i]);
            rc = EXIT_USAGE;
            goto out_args;
        } else if (!model) {
            model = argv[i];
        } else {
            images[n_images++] = argv[i];
        }
    }
    if (!model || (!n_images && !n_strokes)) {
        cli_error("predict: %s (see nnlab predict --help)",
                  model ? "give images to classify, or --strokes FILE" : "give a model file and inputs");
        rc = EXIT_USAGE;
        goto out_args;
    }

    nn_checkpoint ck;
    nn_error err;
    if (nn_checkpoint_load(&ck, model, &err)) {
        rc = cli_report(&err);
        goto out_args;
    }
    nn_predictor p;
    /* A quantised model's int8 layers run in every forward pass of p's graph. */
    if (nn_predictor_init(&p, &ck.spec, &err) || nn_checkpoint_apply(&ck, &p.graph, &err) ||
        nn_checkpoint_attach_quant(&ck, &p.graph, &err)) {
        rc = cli_report(&err);
        nn_checkpoint_free(&ck);
        goto out_args;
    }
    nn_checkpoint_free(&ck);
    if (p.inputs != NN_MNIST_SIDE * NN_MNIST_SIDE) {
        cli_error("%s: the model takes %zu inputs, not a 28x28 image", model, p.inputs);
        rc = EXIT_USAGE;
        goto out_predictor;
    }

    results rs = {0};
    for (int i = 0; i < n_images && !rc; i++)
        rc = classify_image(&p, images[i], invert, &rs);
    for (int i = 0; i < n_strokes && !rc; i++)
        rc = classify_strokes(&p, strokes[i], &rs);
    if (!rc) {
        if (json)
            print_json(&rs, p.classes);
        else
            print_text(&rs, p.classes, show);
    }
    free(rs.items);
out_predictor:
    nn_predictor_free(&p);
out_args:
    free(images);
    free(strokes);
    return rc;
}
