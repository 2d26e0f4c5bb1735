/* Option handling shared by every subcommand. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nnlab_config.h"

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("nnlab: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_report(const nn_error *err)
{
    cli_error("%s", err->msg);
    return err->code == NN_EINPUT ? EXIT_USAGE : EXIT_RUNTIME;
}

int cli_option(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *arg = argv[*i];
    size_t len = strlen(name);
    if (strncmp(arg, "--", 2) != 0 || strncmp(arg + 2, name, len) != 0)
        return 0;
    if (arg[2 + len] == '=') {
        *value = arg + 3 + len;
        return 1;
    }
    if (arg[2 + len] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        cli_error("option --%s needs a value (see --help)", name);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

const char *cli_root(void)
{
    const char *root = getenv("NNLAB_ROOT");
    return root && *root ? root : NNLAB_DATADIR;
}

int cli_model_path(const char *name, char *path, size_t len)
{
    if (strchr(name, '/') || access(name, R_OK) == 0) {
        snprintf(path, len, "%s", name);
        return 0;
    }
    snprintf(path, len, "%s/assets/models/%s.spec", cli_root(), name);
    return access(path, R_OK) == 0 ? 0 : -1;
}

void cli_font_path(char *path, size_t len)
{
    snprintf(path, len, "%s/assets/fonts/DejaVuSans.ttf", cli_root());
}

FILE *cli_open_events(const char *path)
{
    if (!strcmp(path, "-"))
        return stdout;
    FILE *f = fopen(path, "w");
    if (!f)
        cli_error("%s: cannot write events: %s", path, strerror(errno));
    return f;
}

void cli_default_data(char *path, size_t len)
{
    snprintf(path, len, "%s/data/mnist-small", cli_root());
}

/* Options that take no value; --flag=0 turns them off. */
static const char *flag_options[] = {"augment", "flip", "nesterov"};

int cli_hparam_option(cli_hparams *opts, int argc, char **argv, int *i)
{
    const char *arg = argv[*i];
    if (strncmp(arg, "--", 2) != 0)
        return 0;
    char key[32];
    size_t n = strcspn(arg + 2, "=");
    if (n == 0 || n >= sizeof key)
        return 0;
    memcpy(key, arg + 2, n);
    key[n] = '\0';
    for (char *c = key; *c; c++)
        if (*c == '-')
            *c = '_';
    if (!nn_hparams_known(key))
        return 0;
    if (opts->n == 64) {
        cli_error("too many training options");
        return -1;
    }
    const char *value = NULL;
    if (arg[2 + n] == '=') {
        value = arg + 3 + n;
    } else {
        for (size_t f = 0; f < sizeof flag_options / sizeof *flag_options; f++)
            if (!strcmp(key, flag_options[f]))
                value = "1";
        if (!value) {
            if (*i + 1 >= argc) {
                cli_error("option --%.*s needs a value (see --help)", (int)n, arg + 2);
                return -1;
            }
            value = argv[++*i];
        }
    }
    snprintf(opts->key_storage[opts->n], sizeof opts->key_storage[0], "%s", key);
    opts->key[opts->n] = opts->key_storage[opts->n];
    opts->value[opts->n] = value;
    opts->n++;
    return 1;
}

int cli_load_model(const char *name, const cli_hparams *opts, nn_spec *spec, nn_hparams *hp)
{
    char path[4096];
    if (cli_model_path(name, path, sizeof path)) {
        cli_error("no model '%s': not a file, and not a preset in %s/assets/models "
                  "(presets: linear, mlp, mlp-tanh, lenet, cnn, lstm, vae)", name, cli_root());
        return EXIT_USAGE;
    }
    nn_error err;
    if (nn_spec_load(spec, path, &err))
        return cli_report(&err);
    *hp = spec->hp;
    for (int k = 0; k < opts->n; k++) {
        if (nn_hparams_set(hp, opts->key[k], opts->value[k], &err)) {
            nn_spec_free(spec);
            cli_error("--%s: %s", opts->key[k], err.msg);
            return EXIT_USAGE;
        }
    }
    return 0;
}

int cli_load_model_file(const char *path, const char *data, nn_checkpoint *ck, nn_dataset *train, nn_dataset *test,
                        char *dir, size_t len)
{
    nn_error err;
    if (nn_checkpoint_load(ck, path, &err))
        return cli_report(&err);
    if (data)
        snprintf(dir, len, "%s", data);
    else if (ck->dataset[0])
        snprintf(dir, len, "%s", ck->dataset);
    else
        cli_default_data(dir, len);
    if (nn_dataset_load_dir(dir, train, test, &err)) {
        int rc = cli_report(&err);
        if (!data && ck->dataset[0])
            fprintf(stderr, "(%s is the data directory recorded in %s; use --data DIR for another)\n", dir, path);
        nn_checkpoint_free(ck);
        return rc;
    }
    return 0;
}

int cli_model_baseline(nn_trainer *t, const nn_checkpoint *ck, const nn_hparams *hp, const nn_dataset *train,
                       const nn_dataset *test, nn_eval *ev, size_t *dense_size)
{
    nn_error err;
    if (nn_trainer_init(t, &ck->spec, hp, train, &err))
        return cli_report(&err);
    nn_export dense = {.encoding = NN_TENSOR_DENSE, .from = ck, .test_loss = NAN, .test_accuracy = NAN};
    if (nn_checkpoint_apply(ck, &t->graph, &err) ||
        nn_checkpoint_export(&t->graph, &ck->spec, &ck->hp, &dense, NULL, dense_size, &err)) {
        nn_trainer_free(t);
        return cli_report(&err);
    }
    nn_trainer_evaluate(t, test, ev);
    return 0;
}

const char cli_hparams_help[] =
    "Training options (override the model's own `train` line):\n"
    "  --epochs N            passes over the training set (default 10)\n"
    "  --batch N             samples per step (default 64)\n"
    "  --lr X                learning rate\n"
    "  --optimizer NAME      sgd | momentum | adam | rmsprop\n"
    "  --momentum X          momentum factor (default 0.9)\n"
    "  --nesterov            Nesterov momentum\n"
    "  --beta1 X, --beta2 X  Adam moment decay (0.9, 0.999)\n"
    "  --alpha X             RMSprop smoothing (0.99)\n"
    "  --eps X               Adam/RMSprop epsilon (1e-8)\n"
    "  --weight-decay X      L2 penalty on weights (not biases)\n"
    "  --l1 X                L1 penalty on weights (not biases)\n"
    "  --dropout P           rate of every dropout layer of the model\n"
    "  --init NAME           default | uniform | xavier | he | zero\n"
    "  --schedule NAME       constant | step | cosine\n"
    "  --lr-step N           step schedule: epochs between decays (default epochs/3)\n"
    "  --lr-gamma X          step schedule: decay factor (default 0.1)\n"
    "  --augment             random shifts of up to 2 pixels\n"
    "  --flip                mirror half the training images left to right\n"
    "                        (for clothing such as Fashion-MNIST, not for digits)\n"
    "  --seed N              random seed (default 1)\n"
    "  --threads N           BLAS threads (default: one per core)\n"
    "  --max-loss X          a batch loss above X also counts as diverged (default:\n"
    "                        only a NaN or infinite loss or weight)\n";
