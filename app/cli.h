/* Command-line helpers shared by the subcommands: option values, locating
 * presets and data, loading a spec with training options applied, and the
 * one place that prints errors and maps them to exit codes. */
#ifndef APP_CLI_H
#define APP_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "checkpoint.h"
#include "data.h"
#include "error.h"
#include "hparams.h"
#include "spec.h"
#include "trainer.h"

enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2, EXIT_INTERRUPTED = 130 };

/* Print "nnlab: message" to stderr. */
void cli_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* Print an nn_error and return the exit code that fits it. */
int cli_report(const nn_error *err);

/* If argv[*i] is --name or --name=value, store the value (from the same or
 * the next argument) in *value, advance *i and return 1; 0 if it is another
 * option; -1 (after printing) if the value is missing. */
int cli_option(int argc, char **argv, int *i, const char *name, const char **value);

/* Where assets/ and data/ are: $NNLAB_ROOT, else the source tree. */
const char *cli_root(void);
/* Resolve a model name (a preset such as "mlp") or a spec file path. */
int cli_model_path(const char *name, char *path, size_t len);
/* Default data directory (the bundled data/mnist-small). */
void cli_default_data(char *path, size_t len);
/* The drawing pad's font (assets/fonts). */
void cli_font_path(char *path, size_t len);
/* Open the file of an --events option for writing; "-" is stdout.  NULL
 * (after printing why) if it cannot be opened. */
FILE *cli_open_events(const char *path);

/* Training options collected from the command line, applied over a spec's
 * own `train` line once the spec is known. */
typedef struct cli_hparams {
    int n;
    const char *key[64];
    const char *value[64];
    char key_storage[64][32];
} cli_hparams;

/* If argv[*i] is a training option (--lr, --epochs, --augment, ...), record
 * it and return 1; 0 if not one; -1 on a usage error (printed). */
int cli_hparam_option(cli_hparams *opts, int argc, char **argv, int *i);
/* Load the model spec for name and apply opts over its train line; prints
 * errors and returns an exit code (0 on success). */
int cli_load_model(const char *name, const cli_hparams *opts, nn_spec *spec, nn_hparams *hp);

/* Load a model file and its data set (--data, else the directory recorded
 * in the file, else the bundled one; dir gets the one used); prints errors
 * and returns an exit code (0 on success, everything freed otherwise). */
int cli_load_model_file(const char *path, const char *data, nn_checkpoint *ck, nn_dataset *train, nn_dataset *test,
                        char *dir, size_t len);

/* A trainer holding a model file's weights, and where prune and quantize
 * start from: test loss and accuracy in ev, and in dense_size the size of
 * the file with the weights stored dense and no training state.  Prints
 * errors and returns an exit code; on failure t is freed. */
int cli_model_baseline(nn_trainer *t, const nn_checkpoint *ck, const nn_hparams *hp, const nn_dataset *train,
                       const nn_dataset *test, nn_eval *ev, size_t *dense_size);

/* The training options' help text, shared by train and future commands. */
extern const char cli_hparams_help[];

#endif
