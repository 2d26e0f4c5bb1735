/* `nnlab gradcheck`: every op's analytic gradient against central
 * differences, and optionally every parameter tensor of a whole model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "gradcheck.h"
#include "json.h"
#include "model.h"

static const char gradcheck_help[] =
    "Usage: nnlab gradcheck [--model NAME|FILE] [--seed N] [--json]\n"
    "\n"
    "Compares each op's backward pass with central differences of the loss\n"
    "(h = 5e-3, float32) and prints the worst relative error |a-n|/(|a|+|n|).\n"
    "A correct op measures about 1e-5..1e-4; anything above 1e-2 fails.\n"
    "With --model, also checks every parameter tensor of that model on a\n"
    "batch of 4 random inputs (up to 40 coordinates per tensor). A coordinate\n"
    "whose step flips a relu or moves a max-pooling window's maximum is\n"
    "skipped, since across such a kink the difference measures a jump; the\n"
    "coords column counts those compared, skipped those left out.\n"
    "\n"
    "Exit status: 0 if every check passes, 1 if one fails.\n"
    "\n"
    "Examples:\n"
    "  nnlab gradcheck\n"
    "  nnlab gradcheck --model mlp-tanh\n"
    "  nnlab gradcheck --json\n";

static void print_row(const nn_gradcheck_result *r, int *failed)
{
    int ok = r->max_error <= NN_GRADCHECK_TOLERANCE;
    *failed |= !ok;
    if (r->coords == 0)
        printf("  %-20s %8d %8d   %10s   skipped: every step crossed a relu or max-pooling kink\n", r->name, 0,
               r->skipped, "-");
    else
        printf("  %-20s %8d %8d   %10.3e   %s\n", r->name, r->coords, r->skipped, r->max_error, ok ? "ok" : "FAIL");
}

int cmd_gradcheck(int argc, char **argv)
{
    const char *model = NULL;
    int json = 0;
    cli_hparams opts = {0};
    nn_hparams seed_hp;
    nn_hparams_defaults(&seed_hp);
    for (int i = 1; i < argc; i++) {
        const char *value;
        int r;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(gradcheck_help, stdout);
            return 0;
        } else if ((r = cli_option(argc, argv, &i, "model", &value))) {
            if (r < 0)
                return EXIT_USAGE;
            model = value;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if ((r = cli_option(argc, argv, &i, "seed", &value))) {
            nn_error err;
            if (r < 0)
                return EXIT_USAGE;
            if (nn_hparams_set(&seed_hp, "seed", value, &err))
                return cli_report(&err);
            opts.key[opts.n] = "seed";
            opts.value[opts.n++] = value;
        } else {
            cli_error("gradcheck: unknown option '%s' (see nnlab gradcheck --help)", argv[i]);
            return EXIT_USAGE;
        }
    }

    nn_gradcheck_result ops[NN_OP_COUNT];
    int n_ops = 0, failed = 0;
    for (int op = NN_OP_PARAM + 1; op < NN_OP_COUNT; op++) {
        nn_error err;
        if (nn_gradcheck_op(op, seed_hp.seed, &ops[n_ops], &err))
            return cli_report(&err);
        failed |= ops[n_ops].max_error > NN_GRADCHECK_TOLERANCE;
        n_ops++;
    }

    nn_gradcheck_result *tensors = NULL;
    int n_tensors = 0;
    nn_graph g = {0};
    nn_spec spec = {0};
    if (model) {
        nn_hparams hp;
        int rc = cli_load_model(model, &opts, &spec, &hp);
        if (rc)
            return rc;
        nn_error err;
        enum { N = 4 };
        if (nn_model_build(&g, &spec, &hp, N, &err)) {
            nn_spec_free(&spec);
            return cli_report(&err);
        }
        g.training = 1;
        nn_rng rng;
        nn_rng_seed(&rng, hp.seed);
        nn_node *in = &g.nodes[g.input];
        for (size_t i = 0; i < N * in->size; i++)
            in->value[i] = nn_rng_uniform(&rng);
        if (g.target >= 0) { /* one-hot labels; a model that reconstructs its input has none */
            nn_node *target = &g.nodes[g.target];
            memset(target->value, 0, N * target->size * sizeof(float));
            for (int s = 0; s < N; s++)
                target->value[s * target->size + nn_rng_below(&rng, (uint32_t)target->size)] = 1.0f;
        }
        tensors = calloc((size_t)g.n_param_tensors, sizeof *tensors);
        if (!tensors) {
            cli_error("out of memory");
            return EXIT_RUNTIME;
        }
        n_tensors = g.n_param_tensors;
        nn_gradcheck_graph(&g, N, NN_GRADCHECK_H_STEP, 40, hp.seed, tensors);
        for (int t = 0; t < n_tensors; t++)
            failed |= tensors[t].max_error > NN_GRADCHECK_TOLERANCE;
    }

    if (json) {
        json_writer j;
        json_init(&j, stdout);
        json_object_begin(&j, NULL);
        json_number(&j, "h", NN_GRADCHECK_H_STEP);
        json_number(&j, "tolerance", NN_GRADCHECK_TOLERANCE);
        json_bool(&j, "passed", !failed);
        json_array_begin(&j, "ops");
        for (int i = 0; i < n_ops; i++) {
            json_object_begin(&j, NULL);
            json_string(&j, "op", ops[i].name);
            json_int(&j, "coords", ops[i].coords);
            json_int(&j, "skipped_at_kinks", ops[i].skipped);
            json_number(&j, "max_rel_error", ops[i].max_error);
            json_object_end(&j);
        }
        json_array_end(&j);
        if (model) {
            json_string(&j, "model", model);
            json_array_begin(&j, "tensors");
            for (int i = 0; i < n_tensors; i++) {
                json_object_begin(&j, NULL);
                json_string(&j, "tensor", tensors[i].name);
                json_int(&j, "coords", tensors[i].coords);
                json_int(&j, "skipped_at_kinks", tensors[i].skipped);
                json_number(&j, "max_rel_error", tensors[i].max_error);
                json_object_end(&j);
            }
            json_array_end(&j);
        }
        json_object_end(&j);
        json_finish(&j);
    } else {
        int dummy = 0;
        printf("Gradient check, central differences, h = %g, tolerance %g\n\n", NN_GRADCHECK_H_STEP,
               NN_GRADCHECK_TOLERANCE);
        printf("  %-20s %8s %8s   %10s\n", "op", "coords", "at kinks", "worst err");
        for (int i = 0; i < n_ops; i++)
            print_row(&ops[i], &dummy);
        if (model) {
            printf("\n  %-20s %8s %8s   %10s   (model %s)\n", "tensor", "coords", "at kinks", "worst err", model);
            for (int i = 0; i < n_tensors; i++)
                print_row(&tensors[i], &dummy);
        }
        printf("\n%s\n", failed ? "FAILED: an analytic gradient disagrees with the numeric one."
                                : "All gradients agree.");
    }
    free(tensors);
    nn_graph_free(&g);
    nn_spec_free(&spec);
    return failed ? EXIT_RUNTIME : 0;
}
