/* `nnlab draw`: the drawing pad alone, on a saved model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "cli.h"
#include "commands.h"
#include "nnlab_config.h"
#include "graph.h"

#if NNLAB_HAVE_GUI
#include "pad.h"
#endif

static const char draw_help[] =
    "Usage: nnlab draw MODEL [options]\n"
    "\n"
    "Open the drawing pad on a model file (saved by nnlab train --save): draw a\n"
    "digit with the mouse and watch the network's prediction, the 28x28 image it\n"
    "actually sees and the probability of every class. The drawing is prepared\n"
    "exactly as nnlab predict prepares images.\n"
    "\n"
    "In the window: left button draws, right button erases, c or Backspace\n"
    "clears, w shows the first layer's weights, ? lists the keys, q quits.\n"
    "For a model with a 2-D latent code (the vae preset) the window is a\n"
    "latent-space explorer instead: a grid of decoded samples, and the digit\n"
    "decoded wherever the pointer is.\n"
    "The window scales to any size (for a projector, maximise it).\n"
    "\n"
    "Options:\n"
    "  --events FILE     write every prediction and key press as a line of JSON\n"
    "                    (JSON Lines; - for stdout), with its latency\n"
    "  --size WxH        initial window size in pixels (default 1040x640)\n"
    "  -h, --help        this help\n"
    "\n"
    "Needs a display (DISPLAY or WAYLAND_DISPLAY) and an nnlab built with SDL2.\n"
    "Exit status: 0 success, 1 no display or runtime failure, 2 bad usage or a\n"
    "bad model file.\n"
    "\n"
    "Examples:\n"
    "  nnlab draw lenet.nnl\n"
    "  nnlab draw mlp.nnl --size 1920x1180\n"
    "  nnlab draw lenet.nnl --events - | jq .label\n";

/* Parse "WxH". */
static int parse_size(const char *s, int *w, int *h)
{
    char x;
    return sscanf(s, "%d%c%d", w, &x, h) == 3 && (x == 'x' || x == 'X') && *w >= 100 && *h >= 100 && *w <= 16384 &&
           *h <= 16384;
}

int cmd_draw(int argc, char **argv)
{
    const char *model = NULL, *events_path = NULL;
    int width = 0, height = 0;
    for (int i = 1; i < argc; i++) {
        const char *value;
        int r;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(draw_help, stdout);
            return 0;
        } else if ((r = cli_option(argc, argv, &i, "events", &value))) {
            if (r < 0)
                return EXIT_USAGE;
            events_path = value;
        } else if ((r = cli_option(argc, argv, &i, "size", &value))) {
            if (r < 0)
                return EXIT_USAGE;
            if (!parse_size(value, &width, &height)) {
                cli_error("--size: '%s' is not WIDTHxHEIGHT with sides from 100 to 16384", value);
                return EXIT_USAGE;
            }
        } else if (argv[i][0] == '-' && argv[i][1]) {
            cli_error("draw: unknown option '%s' (see nnlab draw --help)", argv[i]);
            return EXIT_USAGE;
        } else if (!model) {
            model = argv[i];
        } else {
            cli_error("draw: one model file only (see nnlab draw --help)");
            return EXIT_USAGE;
        }
    }
    if (!model) {
        cli_error("draw: give a model file (see nnlab draw --help)");
        return EXIT_USAGE;
    }
#if !NNLAB_HAVE_GUI
    (void)events_path;
    cli_error("draw: this nnlab was built without the drawing pad (SDL2); rebuild with -Dgui=enabled");
    return EXIT_RUNTIME;
#else
    nn_checkpoint ck;
    nn_error err;
    if (nn_checkpoint_load(&ck, model, &err))
        return cli_report(&err);
    nn_graph weights; /* the stored model, for its flat weights */
    if (nn_checkpoint_build(&ck, &weights, 1, &err)) {
        nn_checkpoint_free(&ck);
        return cli_report(&err);
    }
    int rc = 0;
    if (!pad_display_available()) {
        cli_error("draw: no display to open the pad on (DISPLAY and WAYLAND_DISPLAY are unset)");
        rc = EXIT_RUNTIME;
        goto out;
    }
    FILE *events = events_path ? cli_open_events(events_path) : NULL;
    if (events_path && !events) {
        rc = EXIT_RUNTIME;
        goto out;
    }
    char about[200] = "", font[4096], title[200];
    /* The figures of the model as written (as nnlab info shows them): a
     * pruned or int8 file's own, not those of the last training epoch. */
    const char *reduced = ck.weights[0] ? "\nweights: " : "";
    if (ck.n_history && weights.reconstructs)
        snprintf(about, sizeof about, "%d epoch%s, test loss %.2f%s%s", ck.n_history, ck.n_history == 1 ? "" : "s",
                 ck.test_loss, reduced, ck.weights);
    else if (ck.n_history)
        snprintf(about, sizeof about, "%d epoch%s, test accuracy %.2f%%%s%s", ck.n_history,
                 ck.n_history == 1 ? "" : "s", 100.0 * ck.test_accuracy, reduced, ck.weights);
    cli_font_path(font, sizeof font);
    snprintf(title, sizeof title, "%s (%s)", ck.model[0] ? ck.model : "model", model);
    pad_config cfg = {.title = title, .font_path = font, .spec = &ck.spec, .params = weights.params,
                      .n_params = weights.n_params, .model_file = &ck, .about = about, .events = events,
                      .width = width, .height = height};
    pad *p;
    if (pad_open(&p, &cfg, &err)) {
        rc = cli_report(&err);
    } else {
        while (pad_update(p, 250) == PAD_CONTINUE)
            ;
        pad_close(p);
    }
    if (events && events != stdout)
        fclose(events);
out:
    nn_graph_free(&weights);
    nn_checkpoint_free(&ck);
    return rc;
#endif
}
