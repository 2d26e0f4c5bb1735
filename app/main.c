/* nnlab's entry point: dispatch to a subcommand, or run the demo. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "nnlab_config.h"

static const char main_help[] =
    "nnlab " NNLAB_VERSION " - an interactive neural-network workbench\n"
    "\n"
    "Usage: nnlab [COMMAND] [options]\n"
    "\n"
    "With no command, nnlab trains the default model (lenet, a LeNet-5 style\n"
    "convolutional network) on the bundled MNIST digits (data/mnist-small), as\n"
    "`nnlab train` does.\n"
    "\n"
    "Commands:\n"
    "  train        train a model and report loss and accuracy per epoch\n"
    "  eval MODEL   test loss, accuracy, per-class accuracy, confusion matrix\n"
    "  info MODEL   architecture, parameters and training record; --graph draws the graph\n"
    "  predict MODEL FILE...  classify digit images (or --strokes drawings)\n"
    "  draw MODEL   the drawing pad on a saved model: draw a digit, see the prediction\n"
    "  gradcheck    check every op's gradient against central differences\n"
    "  bench        training and inference speed per preset against the sgemm ceiling\n"
    "  search       hyperparameter search: grid or random, with successive halving\n"
    "  prune MODEL  magnitude pruning with fine-tuning, stored sparsely\n"
    "  quantize MODEL  post-training int8 quantisation with int8 inference\n"
    "  lesson [NAME]  classroom lessons: a scenario per idea, with captions\n"
    "  help CMD     help for a command (same as nnlab CMD --help)\n"
    "\n"
    "Examples:\n"
    "  nnlab                                     the demo\n"
    "  nnlab train --model mlp --epochs 10       train the 784-128-10 MLP\n"
    "  nnlab train --model cnn --augment         the most accurate preset\n"
    "  nnlab train --model vae --sample-grid grid.png   a VAE, and digits it imagines\n"
    "  nnlab train --model linear --json         figures as JSON for scripts\n"
    "  nnlab train --epochs 5 --save mlp.nnl     keep the trained model\n"
    "  nnlab train --resume mlp.nnl --epochs 10  continue it to 10 epochs\n"
    "  nnlab eval mlp.nnl                        its test figures and confusion matrix\n"
    "  nnlab info mlp.nnl                        its layers and training record\n"
    "  nnlab gradcheck --model lstm              verify backprop through time\n"
    "  nnlab search --grid 'lr=0.03,0.1 batch=32,64' --epochs 3   the best of four\n"
    "  nnlab prune mlp.nnl --sparsity 0.9 --finetune 2 -o mlp-90.nnl\n"
    "  nnlab quantize mlp.nnl -o mlp-int8.nnl    int8, read by eval, predict and draw\n"
    "  nnlab lesson gradient-descent             a lesson on the dashboard (nnlab lesson lists them)\n"
    "\n"
    "Models are presets in assets/models/ (linear, mlp, mlp-tanh, lenet, cnn,\n"
    "lstm, vae) or spec files in the same format. Exit status: 0 success,\n"
    "1 runtime failure, 2 bad usage or bad input file, 130 interrupted.\n";

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
    {"train", cmd_train},
    {"eval", cmd_eval},
    {"info", cmd_info},
    {"predict", cmd_predict},
    {"draw", cmd_draw},
    {"gradcheck", cmd_gradcheck},
    {"bench", cmd_bench},
    {"search", cmd_search},
    {"prune", cmd_prune},
    {"quantize", cmd_quantize},
    {"lesson", cmd_lesson},
};

static const command *find(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return cmd_train(argc, argv);
    const char *name = argv[1];
    if (!strcmp(name, "-h") || !strcmp(name, "--help")) {
        fputs(main_help, stdout);
        return 0;
    }
    if (!strcmp(name, "--version")) {
        puts("nnlab " NNLAB_VERSION);
        return 0;
    }
    if (!strcmp(name, "help")) {
        if (argc < 3) {
            fputs(main_help, stdout);
            return 0;
        }
        const command *c = find(argv[2]);
        if (!c) {
            cli_error("no command '%s' (see nnlab --help)", argv[2]);
            return EXIT_USAGE;
        }
        char *help_argv[] = {argv[2], "--help", NULL};
        return c->run(2, help_argv);
    }
    if (name[0] == '-') /* options without a command belong to train */
        return cmd_train(argc, argv);
    const command *c = find(name);
    if (!c) {
        cli_error("no command '%s' (see nnlab --help)", name);
        return EXIT_USAGE;
    }
    return c->run(argc - 1, argv + 1);
}
