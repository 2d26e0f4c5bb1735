/* Tests for nn/spec.c, nn/hparams.c and nn/model.c: the presets, setting
 * hyperparameters by name, every way a spec can be wrong, and turning a
 * spec into a graph with initialised weights.
 *
 * A spec error is all a user sees when an edited preset is wrong, so each
 * case asserts the exact "file:line:col:" prefix (the column pointing at
 * the offending word or character) and the phrase that says what was
 * expected. */
#include "graph.h"
#include "hparams.h"
#include "model.h"
#include "spec.h"

#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static nn_error err;

static void preset_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/assets/models/%s.spec", getenv("NNLAB_SOURCE_ROOT"), name);
}

static void load_preset(nn_spec *spec, const char *name)
{
    char path[1024];
    preset_path(path, sizeof path, name);
    ck_assert_msg(nn_spec_load(spec, path, &err) == NN_OK, "%s", err.msg);
}

static void parse_ok(nn_spec *spec, const char *text)
{
    ck_assert_msg(nn_spec_parse(spec, text, "test.spec", &err) == NN_OK, "%s", err.msg);
}

/* ---- presets ---------------------------------------------------------- */

/* The text of line `line` (1-based) of text, without leading blanks. */
static const char *line_start(const char *text, int line)
{
    for (int l = 1; l < line && text; l++) {
        text = strchr(text, '\n');
        if (text)
            text++;
    }
    ck_assert_ptr_nonnull(text);
    while (*text == ' ' || *text == '\t')
        text++;
    return text;
}

/* The preset's layers are the expected kinds, in order, with each layer's
 * line number pointing at the line that declares it; the hyperparameters
 * are the defaults overridden by exactly the `train` line's settings.
 * (Line numbers and recipes are read from the file so that editing a
 * preset's comments or recipe does not break the test.) */
static void check_preset(const char *name, const int *kinds, const int *units, int n)
{
    nn_spec spec;
    load_preset(&spec, name);
    ck_assert_int_eq(spec.n_layers, n);
    int dense = 0;
    for (int i = 0; i < n; i++) {
        const nn_layer *layer = &spec.layers[i];
        ck_assert_msg(layer->kind == kinds[i], "%s layer %d is %s, expected %s", name, i, nn_layer_name(layer->kind),
                      nn_layer_name(kinds[i]));
        const char *text = line_start(spec.text, layer->line);
        const char *word = nn_layer_name(layer->kind);
        ck_assert_msg(strncmp(text, word, strlen(word)) == 0, "%s: layer %d (%s) points at line %d: %.20s", name, i,
                      word, layer->line, text);
        if (i > 0)
            ck_assert_int_gt(layer->line, spec.layers[i - 1].line);
        if (layer->kind == NN_LAYER_DENSE) {
            ck_assert_int_eq(layer->units, units[dense++]);
            ck_assert_int_eq(layer->bias, 1);
        }
    }
    const nn_layer *in = &spec.layers[0];
    ck_assert_int_eq(in->ndim, 3);
    ck_assert_int_eq(in->dim[0], 1);
    ck_assert_int_eq(in->dim[1], 28);
    ck_assert_int_eq(in->dim[2], 28);

    nn_hparams want;
    nn_hparams_defaults(&want);
    int train_lines = 0;
    for (const char *line = spec.text; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, "train ", 6) != 0)
            continue;
        train_lines++;
        char copy[512];
        size_t len = strcspn(line, "\n#");
        ck_assert_uint_lt(len, sizeof copy);
        memcpy(copy, line, len);
        copy[len] = '\0';
        char *save, *word = strtok_r(copy + 6, " \t", &save);
        for (; word; word = strtok_r(NULL, " \t", &save)) {
            char *eq = strchr(word, '=');
            ck_assert_ptr_nonnull(eq);
            *eq = '\0';
            ck_assert_int_eq(nn_hparams_set(&want, word, eq + 1, &err), NN_OK);
        }
    }
    ck_assert_int_eq(train_lines, 1); /* every preset gives its recipe */
    ck_assert_int_eq(memcmp(&want, &spec.hp, sizeof want), 0);
    ck_assert_ptr_nonnull(strstr(spec.source, name));
    nn_spec_free(&spec);
    ck_assert_ptr_null(spec.layers);
    ck_assert_ptr_null(spec.text);
}

START_TEST(test_preset_linear)
{
    const int kinds[] = {NN_LAYER_INPUT, NN_LAYER_DENSE, NN_LAYER_SOFTMAX_XENT};
    const int units[] = {10};
    check_preset("linear", kinds, units, 3);
}
END_TEST

START_TEST(test_preset_mlp)
{
    const int kinds[] = {NN_LAYER_INPUT, NN_LAYER_DENSE, NN_LAYER_RELU, NN_LAYER_DENSE, NN_LAYER_SOFTMAX_XENT};
    const int units[] = {128, 10};
    check_preset("mlp", kinds, units, 5);
}
END_TEST

START_TEST(test_preset_mlp_tanh)
{
    /* The textbook network: tanh hidden layer, sigmoid outputs with BCE. */
    const int kinds[] = {NN_LAYER_INPUT, NN_LAYER_DENSE, NN_LAYER_TANH, NN_LAYER_DENSE, NN_LAYER_SIGMOID_BCE};
    const int units[] = {100, 10};
    check_preset("mlp-tanh", kinds, units, 5);
}
END_TEST

/* Whatever presets exist, each parses, ends in a loss and builds into a
 * graph for 28x28 inputs and ten classes. */
START_TEST(test_every_preset_builds)
{
    char dir_path[1024];
    snprintf(dir_path, sizeof dir_path, "%s/assets/models", getenv("NNLAB_SOURCE_ROOT"));
    DIR *dir = opendir(dir_path);
    ck_assert_ptr_nonnull(dir);
    struct dirent *entry;
    int count = 0;
    while ((entry = readdir(dir)) != NULL) {
        size_t len = strlen(entry->d_name);
        if (len < 6 || strcmp(entry->d_name + len - 5, ".spec") != 0)
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir_path, entry->d_name);
        nn_spec spec;
        ck_assert_msg(nn_spec_load(&spec, path, &err) == NN_OK, "%s", err.msg);
        ck_assert(nn_layer_is_loss(spec.layers[spec.n_layers - 1].kind));
        nn_graph g;
        ck_assert_msg(nn_model_build(&g, &spec, &spec.hp, 2, &err) == NN_OK, "%s: %s", entry->d_name, err.msg);
        ck_assert_uint_eq(g.nodes[g.input].size, 784);
        /* A classifier has 10 outputs; the vae reconstructs its 784 inputs. */
        ck_assert_uint_eq(g.nodes[g.output].size, g.reconstructs ? 784 : 10);
        ck_assert_uint_gt(g.param_count, 0);
        nn_graph_free(&g);
        nn_spec_free(&spec);
        count++;
    }
    closedir(dir);
    ck_assert_int_ge(count, 3);
}
END_TEST

/* ---- parsing what is valid -------------------------------------------- */

START_TEST(test_parse_options)
{
    nn_spec spec;
    parse_ok(&spec, "# a comment line\n"
                    "\n"
                    "  input 1x28x28   # trailing comment\n"
                    "flatten\n"
                    "dense 64 init=he bias=0\n"
                    "dropout 0.25\n"
                    "sigmoid#no space before the comment\n"
                    "reshape 8x8\n"
                    "\tdense\t10  init=zero\r\n"
                    "mse\n"
                    "train optimizer=rmsprop lr=0.005 batch=16 epochs=3 seed=7 augment=yes\n");
    ck_assert_int_eq(spec.n_layers, 8);
    ck_assert_int_eq(spec.layers[0].line, 3);
    ck_assert_int_eq(spec.layers[1].kind, NN_LAYER_FLATTEN);
    const nn_layer *d1 = &spec.layers[2];
    ck_assert_int_eq(d1->kind, NN_LAYER_DENSE);
    ck_assert_int_eq(d1->units, 64);
    ck_assert_int_eq(d1->init, NN_INIT_HE);
    ck_assert_int_eq(d1->bias, 0);
    ck_assert_int_eq(spec.layers[3].kind, NN_LAYER_DROPOUT);
    ck_assert_float_eq(spec.layers[3].rate, 0.25f);
    ck_assert_int_eq(spec.layers[4].kind, NN_LAYER_SIGMOID);
    ck_assert_int_eq(spec.layers[5].kind, NN_LAYER_RESHAPE);
    ck_assert_int_eq(spec.layers[5].ndim, 2);
    ck_assert_int_eq(spec.layers[5].dim[1], 8);
    ck_assert_int_eq(spec.layers[6].units, 10);
    ck_assert_int_eq(spec.layers[6].init, NN_INIT_ZERO);
    ck_assert_int_eq(spec.layers[6].bias, 1);
    ck_assert_int_eq(spec.layers[6].line, 9);
    ck_assert_int_eq(spec.layers[7].kind, NN_LAYER_MSE);
    ck_assert_int_eq(spec.hp.optimizer, NN_RMSPROP);
    ck_assert_float_eq(spec.hp.lr, 0.005f);
    ck_assert_int_eq(spec.hp.batch, 16);
    ck_assert_int_eq(spec.hp.epochs, 3);
    ck_assert(spec.hp.seed == 7);
    ck_assert_int_eq(spec.hp.augment, 1);
    /* Untouched keys keep their defaults. */
    ck_assert_float_eq(spec.hp.momentum, 0.9f);
    ck_assert_str_eq(spec.source, "test.spec");
    nn_spec_free(&spec);

    /* `train` may come anywhere, also after the loss, and no newline at the end is fine. */
    parse_ok(&spec, "train lr=0.2\ninput 4\nsigmoid_bce\ntrain batch=3");
    ck_assert_int_eq(spec.n_layers, 2);
    ck_assert_float_eq(spec.hp.lr, 0.2f);
    ck_assert_int_eq(spec.hp.batch, 3);
    nn_spec_free(&spec);
}
END_TEST

START_TEST(test_layer_names)
{
    static const char *names[NN_LAYER_COUNT] = {"input",   "dense",   "relu",         "tanh",
                                                "sigmoid", "dropout", "flatten",      "reshape",
                                                "softmax_xent", "sigmoid_bce", "mse", "conv",
                                                "maxpool", "avgpool", "lstm", "gaussian"};
    for (int k = 0; k < NN_LAYER_COUNT; k++) {
        ck_assert_str_eq(nn_layer_name(k), names[k]);
        ck_assert_int_eq(nn_layer_is_loss(k),
                         k == NN_LAYER_SOFTMAX_XENT || k == NN_LAYER_SIGMOID_BCE || k == NN_LAYER_MSE);
    }
    ck_assert_str_eq(nn_layer_name(NN_LAYER_COUNT), "?");
    ck_assert_str_eq(nn_layer_name(-1), "?");
}
END_TEST

/* ---- hyperparameters by name ------------------------------------------ */

START_TEST(test_hparams_defaults)
{
    nn_hparams hp;
    nn_hparams_defaults(&hp);
    ck_assert_int_eq(hp.optimizer, NN_ADAM);
    ck_assert_float_eq(hp.lr, 1e-3f);
    ck_assert_int_eq(hp.batch, 64);
    ck_assert_int_eq(hp.epochs, 10);
    ck_assert(hp.seed == 1);
    ck_assert_float_lt(hp.dropout, 0.0f); /* keep the spec's rates */
    ck_assert_int_eq(hp.schedule, NN_SCHEDULE_CONSTANT);
    ck_assert_int_eq(hp.init, NN_INIT_DEFAULT);
    ck_assert_str_eq(nn_optimizer_name(NN_RMSPROP), "rmsprop");
    ck_assert_str_eq(nn_schedule_name(NN_SCHEDULE_COSINE), "cosine");
    ck_assert_str_eq(nn_init_name(NN_INIT_XAVIER), "xavier");
    ck_assert_str_eq(nn_optimizer_name(9), "?");
}
END_TEST

START_TEST(test_hparams_set_valid)
{
    nn_hparams hp;
    nn_hparams_defaults(&hp);
    static const struct {
        const char *key, *value;
    } settings[] = {
        {"epochs", "3"},        {"batch", "65536"},     {"optimizer", "momentum"}, {"lr", "1e3"},
        {"momentum", "0.5"},    {"nesterov", "true"},   {"beta1", "0.8"},          {"beta2", "0.99"},
        {"alpha", "0.9"},       {"eps", "1e-6"},        {"weight_decay", "0.0005"}, {"l1", "0"},
        {"dropout", "0"},       {"schedule", "step"},   {"lr_step", "4"},          {"lr_gamma", "0.5"},
        {"init", "uniform"},    {"augment", "on"},      {"seed", "18446744073709551615"},
        {"threads", "256"},
    };
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        ck_assert_msg(nn_hparams_known(settings[i].key), "%s", settings[i].key);
        ck_assert_msg(nn_hparams_set(&hp, settings[i].key, settings[i].value, &err) == NN_OK, "%s=%s: %s",
                      settings[i].key, settings[i].value, err.msg);
    }
    ck_assert_int_eq(hp.epochs, 3);
    ck_assert_int_eq(hp.batch, 65536);
    ck_assert_int_eq(hp.optimizer, NN_MOMENTUM);
    ck_assert_float_eq(hp.lr, 1000.0f);
    ck_assert_float_eq(hp.momentum, 0.5f);
    ck_assert_int_eq(hp.nesterov, 1);
    ck_assert_float_eq(hp.beta1, 0.8f);
    ck_assert_float_eq(hp.beta2, 0.99f);
    ck_assert_float_eq(hp.alpha, 0.9f);
    ck_assert_float_eq(hp.eps, 1e-6f);
    ck_assert_float_eq(hp.weight_decay, 0.0005f);
    ck_assert_float_eq(hp.l1, 0.0f);
    ck_assert_float_eq(hp.dropout, 0.0f);
    ck_assert_int_eq(hp.schedule, NN_SCHEDULE_STEP);
    ck_assert_int_eq(hp.lr_step, 4);
    ck_assert_float_eq(hp.lr_gamma, 0.5f);
    ck_assert_int_eq(hp.init, NN_INIT_UNIFORM);
    ck_assert_int_eq(hp.augment, 1);
    ck_assert(hp.seed == UINT64_MAX);
    ck_assert_int_eq(hp.threads, 256);

    /* Every spelling of yes and no. */
    const char *yes[] = {"1", "true", "yes", "on"}, *no[] = {"0", "false", "no", "off"};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(nn_hparams_set(&hp, "augment", no[i], &err), NN_OK);
        ck_assert_int_eq(hp.augment, 0);
        ck_assert_int_eq(nn_hparams_set(&hp, "augment", yes[i], &err), NN_OK);
        ck_assert_int_eq(hp.augment, 1);
    }
    ck_assert_int_eq(nn_hparams_known("learning_rate"), 0);
    ck_assert_int_eq(nn_hparams_known(""), 0);
}
END_TEST

START_TEST(test_hparams_set_invalid)
{
    static const struct {
        const char *key, *value, *message;
    } cases[] = {
        {"lr", "0", "lr: 0 is out of range (expected >0..1000)"},
        {"lr", "-0.1", "lr: -0.1 is out of range (expected >0..1000)"},
        {"lr", "1001", "lr: 1001 is out of range (expected >0..1000)"},
        {"lr", "fast", "lr: 'fast' is not a number"},
        {"lr", "0.1x", "lr: '0.1x' is not a number"},
        {"lr", "", "lr: '' is not a number"},
        {"lr", "nan", "lr: 'nan' is not a number"},
        {"lr", "inf", "lr: 'inf' is not a number"},
        {"epochs", "0", "epochs: 0 is out of range (expected 1..100000)"},
        {"batch", "0", "batch: 0 is out of range (expected 1..65536)"},
        {"batch", "65537", "batch: 65537 is out of range (expected 1..65536)"},
        {"batch", "1.5", "batch: '1.5' is not a whole number"},
        {"batch", "99999999999999999999", "batch: '99999999999999999999' is not a whole number"},
        {"optimizer", "adamw", "optimizer: unknown value 'adamw' (expected sgd|momentum|adam|rmsprop)"},
        {"optimizer", "SGD", "optimizer: unknown value 'SGD' (expected sgd|momentum|adam|rmsprop)"},
        {"momentum", "1", "momentum: 1 is out of range (expected 0..0.999999)"},
        {"nesterov", "maybe", "nesterov: 'maybe' is not a yes/no value (expected 1|0|true|false)"},
        {"eps", "0", "eps: 0 is out of range (expected >0..1)"},
        {"weight_decay", "-1", "weight_decay: -1 is out of range (expected 0..1)"},
        {"dropout", "1", "dropout: 1 is out of range (expected 0 <= rate < 1)"},
        {"dropout", "-0.5", "dropout: -0.5 is out of range (expected 0 <= rate < 1)"},
        {"schedule", "linear", "schedule: unknown value 'linear' (expected constant|step|cosine)"},
        {"lr_gamma", "0", "lr_gamma: 0 is out of range (expected >0..1)"},
        {"init", "glorot", "init: unknown value 'glorot' (expected default|uniform|xavier|he|zero)"},
        {"seed", "-1", "seed: '-1' is not a non-negative whole number"},
        {"seed", "18446744073709551616", "seed: '18446744073709551616' is not a non-negative whole number"},
        {"seed", "12abc", "seed: '12abc' is not a non-negative whole number"},
        {"threads", "257", "threads: 257 is out of range (expected 0..256)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nn_hparams hp, before;
        nn_hparams_defaults(&hp);
        memcpy(&before, &hp, sizeof hp);
        memset(&err, 0, sizeof err);
        ck_assert_msg(nn_hparams_set(&hp, cases[i].key, cases[i].value, &err) == NN_EINPUT, "%s=%s accepted",
                      cases[i].key, cases[i].value);
        ck_assert_int_eq(err.code, NN_EINPUT);
        /* The whole message, or its start where the range is cut off above. */
        ck_assert_msg(strncmp(err.msg, cases[i].message, strlen(cases[i].message)) == 0, "'%s' is not '%s'", err.msg,
                      cases[i].message);
        ck_assert(strlen(cases[i].message) >= strlen(err.msg) - 4);
        /* A refused value changes nothing. */
        ck_assert_msg(memcmp(&hp, &before, sizeof hp) == 0, "%s=%s changed the hyperparameters", cases[i].key,
                      cases[i].value);
    }

    nn_hparams hp;
    nn_hparams_defaults(&hp);
    ck_assert_int_eq(nn_hparams_set(&hp, "learning_rate", "0.1", &err), NN_EINPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "unknown hyperparameter 'learning_rate' (known: epochs, batch, "
                                          "optimizer, lr, momentum,"));
    ck_assert_ptr_nonnull(strstr(err.msg, "seed, threads, max_loss)"));
}
END_TEST

/* What nn_hparams_format writes, nn_hparams_set reads back: the same names
 * serve specs, the command line and search, so a formatted set of
 * hyperparameters (in a log, a model file, a `train` line) must parse into
 * the same values. */
START_TEST(test_hparams_format_round_trip)
{
    nn_hparams hp;
    nn_hparams_defaults(&hp);
    hp.optimizer = NN_RMSPROP;
    hp.lr = 0.0025f;
    hp.batch = 100;
    hp.nesterov = 1;
    hp.schedule = NN_SCHEDULE_COSINE;
    hp.init = NN_INIT_HE;
    hp.seed = 1234567890123ULL;
    hp.weight_decay = 1e-4f;

    for (int variant = 0; variant < 2; variant++) {
        if (variant == 1)
            nn_hparams_defaults(&hp); /* the defaults as they are, dropout -1 included */
        char buf[1024];
        ck_assert_ptr_eq(nn_hparams_format(&hp, buf, sizeof buf), buf);
        ck_assert_ptr_nonnull(strstr(buf, variant ? "optimizer=adam" : "optimizer=rmsprop"));

        nn_hparams back;
        nn_hparams_defaults(&back);
        back.lr = 0.5f; /* differ from hp before parsing */
        back.epochs = 99;
        char *save, *word = strtok_r(buf, " ", &save);
        int words = 0;
        for (; word; word = strtok_r(NULL, " ", &save), words++) {
            char *eq = strchr(word, '=');
            ck_assert_ptr_nonnull(eq);
            *eq = '\0';
            ck_assert_msg(nn_hparams_set(&back, word, eq + 1, &err) == NN_OK, "formatted %s=%s does not parse: %s",
                          word, eq + 1, err.msg);
        }
        ck_assert_int_ge(words, 19); /* every key, perhaps less an unset dropout */
        ck_assert_int_eq(back.optimizer, hp.optimizer);
        ck_assert_float_eq_tol(back.lr, hp.lr, hp.lr * 1e-5f);
        ck_assert_int_eq(back.epochs, hp.epochs);
        ck_assert_int_eq(back.batch, hp.batch);
        ck_assert_int_eq(back.nesterov, hp.nesterov);
        ck_assert_int_eq(back.schedule, hp.schedule);
        ck_assert_int_eq(back.init, hp.init);
        ck_assert(back.seed == hp.seed);
        ck_assert_float_eq(back.dropout, hp.dropout);
    }
}
END_TEST

/* ---- spec errors ------------------------------------------------------ */

static const struct bad_spec {
    const char *what;
    const char *text;
    const char *prefix;  /* exact start of the message */
    const char *phrase;  /* must appear after it */
} bad_specs[] = {
    {"unknown layer", "input 784\nfrob 6 5x5\nsoftmax_xent\n", "test.spec:2:1: ",
     "unknown layer 'frob' (expected input, dense, conv, maxpool, avgpool, lstm, gaussian, relu, tanh, sigmoid, "
     "dropout, flatten, reshape, softmax_xent, sigmoid_bce, mse or train)"},
    {"unknown layer, indented", "input 784\n   Dense 10\nmse\n", "test.spec:2:4: ", "unknown layer 'Dense'"},
    {"missing shape", "input\ndense 10\nmse\n", "test.spec:1:7: ", "expected a shape such as 1x28x28"},
    {"missing shape, indented", "  input   # no shape\n", "test.spec:1:9: ", "expected a shape such as 1x28x28"},
    {"bad shape separator", "input 1x28y28\ndense 10\nmse\n", "test.spec:1:11: ",
     "expected 'x' between dimensions, as in 1x28x28"},
    {"zero dimension", "input 1x0x28\n", "test.spec:1:9: ", "expected a shape such as 1x28x28"},
    {"empty dimension", "input 1xx28\n", "test.spec:1:9: ", "expected a shape such as 1x28x28"},
    {"shape not a number", "input big\n", "test.spec:1:7: ", "expected a shape such as 1x28x28"},
    {"four dimensions", "input 1x1x28x28\n", "test.spec:1:7: ", "a shape has at most 3 dimensions"},
    {"reshape without shape", "input 784\nreshape\n", "test.spec:2:9: ", "expected a shape such as 1x28x28"},
    {"dense without units", "input 784\ndense\nsoftmax_xent\n", "test.spec:2:7: ",
     "expected the number of units, as in dense 128"},
    {"dense 0", "input 784\ndense 0\nsoftmax_xent\n", "test.spec:2:7: ",
     "expected the number of units (a whole number from 1 to 16777216)"},
    {"dense -5", "input 784\ndense -5\nsoftmax_xent\n", "test.spec:2:7: ", "expected the number of units"},
    {"dense 2.5", "input 784\ndense 2.5\nsoftmax_xent\n", "test.spec:2:7: ", "expected the number of units"},
    {"dense too many", "input 784\ndense 16777217\nsoftmax_xent\n", "test.spec:2:7: ",
     "expected the number of units"},
    {"unknown dense option", "input 784\ndense 10 act=relu\nsoftmax_xent\n", "test.spec:2:10: ",
     "unknown option 'act' for dense (expected init or bias)"},
    {"dense stray word", "input 784\ndense 10 relu\nsoftmax_xent\n", "test.spec:2:10: ",
     "unexpected 'relu' (options of dense: init or bias)"},
    {"dense bad bias", "input 784\ndense 10 bias=yes\nsoftmax_xent\n", "test.spec:2:15: ",
     "expected bias=0 or bias=1, not 'yes'"},
    {"dense bad init", "input 784\ndense 10 bias=0 init=magic\nsoftmax_xent\n", "test.spec:2:17: ",
     "init: unknown value 'magic' (expected default|uniform|xavier|he|zero)"},
    {"dropout without rate", "input 784\ndropout\nmse\n", "test.spec:2:9: ",
     "expected the dropout rate, as in dropout 0.5"},
    {"dropout rate 1", "input 784\ndropout 1\nmse\n", "test.spec:2:9: ",
     "expected a dropout rate in [0, 1), such as 0.5"},
    {"bad train key", "input 784\ndense 10\nsoftmax_xent\ntrain speed=3\n", "test.spec:4:7: ",
     "unknown hyperparameter 'speed' (known: epochs, batch,"},
    {"bad train value", "input 784\ndense 10\nsoftmax_xent\ntrain optimizer=sgd lr=fast\n", "test.spec:4:21: ",
     "lr: 'fast' is not a number"},
    {"train value out of range", "train batch=0\ninput 784\nmse\n", "test.spec:1:7: ",
     "batch: 0 is out of range (expected 1..65536)"},
    {"train word without =", "input 784\nmse\ntrain lr\n", "test.spec:3:7: ", "expected key=value, such as lr=0.01"},
    {"train empty key", "input 784\nmse\ntrain =5\n", "test.spec:3:7: ", "expected key=value, such as lr=0.01"},
    {"input not first", "dense 10\nsoftmax_xent\n", "test.spec:1:1: ",
     "the first layer must be 'input SHAPE', not 'dense'"},
    {"input not first, after comments", "# model\n\n  relu\n", "test.spec:3:3: ",
     "the first layer must be 'input SHAPE', not 'relu'"},
    {"second input", "input 784\ninput 784\nmse\n", "test.spec:2:1: ",
     "'input' may appear only once, as the first layer"},
    {"layer after the loss", "input 784\ndense 10\nsoftmax_xent\nrelu\n", "test.spec:4:1: ",
     "'relu' after the loss: the loss must be the last layer"},
    {"second loss", "input 784\nmse\n  mse\n", "test.spec:3:3: ", "'mse' after the loss"},
    {"missing loss", "input 784\ndense 10\n", "test.spec:2:1: ",
     "the spec ends without a loss after this layer (expected softmax_xent, sigmoid_bce or mse last)"},
    {"empty spec", "", "test.spec:1:1: ", "the spec has no layers (expected 'input SHAPE' first)"},
    {"blank spec", "\n  \n\t\n", "test.spec:1:1: ", "the spec has no layers"},
    {"comment-only spec", "# nothing\n# here\n", "test.spec:1:1: ", "the spec has no layers"},
    {"train line only", "train lr=0.1\n", "test.spec:1:1: ", "the spec has no layers"},
    {"trailing word after input", "input 784 extra\nmse\n", "test.spec:1:11: ",
     "unexpected 'extra' at the end of the line"},
    {"trailing word after relu", "input 784\nrelu now\nmse\n", "test.spec:2:6: ",
     "unexpected 'now' at the end of the line"},
    {"trailing word after dropout", "input 784\ndropout 0.5 0.2\nmse\n", "test.spec:2:13: ",
     "unexpected '0.2' at the end of the line"},
    {"control character", "input 784\ndense\x01 10\nmse\n", "test.spec:2:6: ", "unexpected control character"},
    {"escape character", "input 784\x1b[0m\nmse\n", "test.spec:1:10: ", "unexpected control character"},
    {"control character in a comment", "input 784 # \x07\nmse\n", "test.spec:1:13: ",
     "unexpected control character"},
    {"word too long",
     "input 784\n"
     "relu xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxx\n",
     "test.spec:2:6: ", "word too long (at most 127 characters)"},
};

START_TEST(test_spec_error)
{
    const struct bad_spec *c = &bad_specs[_i];
    nn_spec spec;
    memset(&err, 0, sizeof err);
    int status = nn_spec_parse(&spec, c->text, "test.spec", &err);
    ck_assert_msg(status == NN_EINPUT, "%s: parsed without error", c->what);
    ck_assert_int_eq(err.code, NN_EINPUT);
    ck_assert_msg(strncmp(err.msg, c->prefix, strlen(c->prefix)) == 0, "%s: message '%s' does not start with '%s'",
                  c->what, err.msg, c->prefix);
    ck_assert_msg(strstr(err.msg + strlen(c->prefix), c->phrase) != NULL, "%s: message '%s' lacks '%s'", c->what,
                  err.msg, c->phrase);
    /* A failed parse leaves nothing to free. */
    ck_assert_ptr_null(spec.layers);
    ck_assert_ptr_null(spec.text);
    ck_assert_int_eq(spec.n_layers, 0);
}
END_TEST

START_TEST(test_trailing_word_after_loss)
{
    nn_spec spec;
    ck_assert_int_eq(nn_spec_parse(&spec, "input 784\nmse please\n", "test.spec", &err), NN_EINPUT);
    ck_assert_str_eq(err.msg, "test.spec:2:5: unexpected 'please' (options of mse: target)");
}
END_TEST

START_TEST(test_spec_tabs_and_crlf)
{
    /* Tabs and carriage returns are white space, not control characters. */
    nn_spec spec;
    parse_ok(&spec, "input\t784\r\ndense 10\r\nsoftmax_xent\r\n");
    ck_assert_int_eq(spec.n_layers, 3);
    ck_assert_int_eq(spec.layers[1].units, 10);
    nn_spec_free(&spec);
}
END_TEST

START_TEST(test_spec_load_errors)
{
    nn_spec spec;
    ck_assert_int_eq(nn_spec_load(&spec, "/nonexistent/model.spec", &err), NN_EINPUT);
    ck_assert_str_eq(err.msg, "/nonexistent/model.spec: cannot open model spec: No such file or directory");

    char path[] = "/tmp/nnlab-test-spec-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char text[] = "input 784\nmse\0\n";
    ck_assert_int_eq(write(fd, text, sizeof text - 1), (int)sizeof text - 1);
    close(fd);
    ck_assert_int_eq(nn_spec_load(&spec, path, &err), NN_EINPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, path));
    ck_assert_ptr_nonnull(strstr(err.msg, "model spec contains a NUL byte"));

    /* A parse error from a file names the file. */
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("input 784\ndense ten\nmse\n", f);
    fclose(f);
    ck_assert_int_eq(nn_spec_load(&spec, path, &err), NN_EINPUT);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s:2:7: ", path);
    ck_assert_msg(strncmp(err.msg, prefix, strlen(prefix)) == 0, "%s", err.msg);
    unlink(path);
}
END_TEST

/* ---- building models -------------------------------------------------- */

START_TEST(test_build_shape_errors)
{
    static const struct {
        const char *text, *message;
    } cases[] = {
        {"input 784\nrelu\nreshape 5\ndense 10\nsoftmax_xent\n",
         "test.spec:3: reshape1: cannot reshape 784 values into 5"},
        {"input 1x28x28\nflatten\ndense 10\nreshape 3x3\nmse\n", "test.spec:4: reshape1: cannot reshape 10 values into 9"},
        {"input 784\ndense 16777216\nsoftmax_xent\n", "test.spec:2: dense1.weight: invalid shape"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nn_spec spec;
        parse_ok(&spec, cases[i].text);
        nn_hparams hp = spec.hp;
        nn_graph g;
        ck_assert_int_eq(nn_model_build(&g, &spec, &hp, 4, &err), NN_EINPUT);
        ck_assert_str_eq(err.msg, cases[i].message);
        ck_assert_ptr_null(g.nodes);
        ck_assert_ptr_null(g.params);
        nn_spec_free(&spec);
    }

    nn_spec spec;
    parse_ok(&spec, "input 784\nmse\n");
    nn_graph g;
    ck_assert_int_eq(nn_model_build(&g, &spec, &spec.hp, 0, &err), NN_EINPUT);
    ck_assert_str_eq(err.msg, "batch size 0 is out of range 1..1048576");
    nn_spec_free(&spec);
}
END_TEST

START_TEST(test_build_mlp)
{
    nn_spec spec;
    load_preset(&spec, "mlp");
    nn_graph g;
    ck_assert_int_eq(nn_model_build(&g, &spec, &spec.hp, 8, &err), NN_OK);
    ck_assert_int_eq(g.max_batch, 8);

    /* 784*128 + 128 + 128*10 + 10 */
    ck_assert_uint_eq(g.param_count, 101770);
    static const struct {
        const char *name;
        int ndim, d0, d1, decay;
    } tensors[] = {
        {"dense1.weight", 2, 128, 784, 1},
        {"dense1.bias", 1, 128, 0, 0},
        {"dense2.weight", 2, 10, 128, 1},
        {"dense2.bias", 1, 10, 0, 0},
    };
    ck_assert_int_eq(g.n_param_tensors, 4);
    size_t total = 0;
    for (int t = 0; t < 4; t++) {
        const nn_node *p = nn_graph_param_node(&g, t);
        ck_assert_str_eq(p->name, tensors[t].name);
        ck_assert_int_eq(p->ndim, tensors[t].ndim);
        ck_assert_int_eq(p->dim[0], tensors[t].d0);
        if (p->ndim == 2)
            ck_assert_int_eq(p->dim[1], tensors[t].d1);
        ck_assert_int_eq(p->decay, tensors[t].decay);
        ck_assert_int_eq(p->param_index, t);
        total += p->size;
    }
    ck_assert_uint_eq(total, 101770);
    ck_assert_uint_ge(g.n_params, total);

    /* The well-known nodes, named after the layers. */
    ck_assert_str_eq(g.nodes[g.input].name, "input");
    ck_assert_uint_eq(g.nodes[g.input].size, 784);
    ck_assert_str_eq(g.nodes[g.output].name, "dense2.add");
    ck_assert_str_eq(g.nodes[g.target].name, "target");
    ck_assert_uint_eq(g.nodes[g.target].size, 10);
    ck_assert_str_eq(g.nodes[g.loss].name, "loss");
    ck_assert_int_eq(g.nodes[g.loss].op, NN_OP_SOFTMAX_XENT);
    ck_assert_int_eq(g.nodes[nn_graph_find(&g, "relu1")].op, NN_OP_RELU);
    ck_assert_int_eq(g.nodes[nn_graph_find(&g, "dense1")].op, NN_OP_MATMUL);
    ck_assert_int_eq(g.nodes[nn_graph_find(&g, "dense1.add")].op, NN_OP_BIAS);
    ck_assert_int_eq(g.finalised, 1);
    nn_graph_free(&g);

    /* bias=0 drops the bias tensor and its node. */
    nn_spec_free(&spec);
    parse_ok(&spec, "input 784\ndense 128 bias=0\nrelu\ndense 10\nsoftmax_xent\n");
    ck_assert_int_eq(nn_model_build(&g, &spec, &spec.hp, 8, &err), NN_OK);
    ck_assert_uint_eq(g.param_count, 101770 - 128);
    ck_assert_int_eq(g.n_param_tensors, 3);
    ck_assert_int_eq(nn_graph_find(&g, "dense1.bias"), -1);
    ck_assert_str_eq(nn_graph_param_node(&g, 1)->name, "dense2.weight");
    nn_graph_free(&g);
    nn_spec_free(&spec);
}
END_TEST

START_TEST(test_init_deterministic)
{
    nn_spec spec;
    load_preset(&spec, "mlp");
    nn_hparams hp = spec.hp;
    hp.seed = 42;
    nn_graph a, b, c;
    ck_assert_int_eq(nn_model_build(&a, &spec, &hp, 4, &err), NN_OK);
    ck_assert_int_eq(nn_model_build(&b, &spec, &hp, 4, &err), NN_OK);
    hp.seed = 43;
    ck_assert_int_eq(nn_model_build(&c, &spec, &hp, 4, &err), NN_OK);
    ck_assert_int_eq(memcmp(a.params, b.params, a.n_params * sizeof(float)), 0);
    ck_assert_int_ne(memcmp(a.params, c.params, a.n_params * sizeof(float)), 0);
    /* Not just a shifted copy: almost every weight differs. */
    const nn_node *wa = nn_graph_param_node(&a, 0), *wc = nn_graph_param_node(&c, 0);
    size_t same = 0;
    for (size_t i = 0; i < wa->size; i++)
        same += wa->value[i] == wc->value[i];
    ck_assert_uint_lt(same, wa->size / 1000);
    /* The dropout stream is seeded too. */
    ck_assert_int_eq(memcmp(&a.rng, &b.rng, sizeof a.rng), 0);
    ck_assert_int_ne(memcmp(&a.rng, &c.rng, sizeof a.rng), 0);

    /* Biases start at zero. */
    for (int t = 1; t < 4; t += 2) {
        const nn_node *bias = nn_graph_param_node(&a, t);
        for (size_t i = 0; i < bias->size; i++)
            ck_assert(bias->value[i] == 0.0f);
    }

    /* Drawing again from the same seed restores the initial weights (the
     * dashboard's reset). */
    hp.seed = 42;
    for (int t = 0; t < a.n_param_tensors; t++)
        nn_vec_fill(nn_graph_param_node(&a, t)->value, nn_graph_param_node(&a, t)->size, 7.0f);
    nn_model_init_params(&a, &spec, &hp);
    ck_assert_int_eq(memcmp(a.params, b.params, a.n_params * sizeof(float)), 0);
    nn_graph_free(&a);
    nn_graph_free(&b);
    nn_graph_free(&c);
    nn_spec_free(&spec);
}
END_TEST

typedef struct moments {
    double mean, var, max_abs;
} moments;

static moments tensor_moments(const nn_node *p)
{
    double sum = 0, sumsq = 0, max_abs = 0;
    for (size_t i = 0; i < p->size; i++) {
        sum += p->value[i];
        sumsq += (double)p->value[i] * p->value[i];
        max_abs = fabs(p->value[i]) > max_abs ? fabs(p->value[i]) : max_abs;
    }
    moments m = {sum / p->size, sumsq / p->size - (sum / p->size) * (sum / p->size), max_abs};
    return m;
}

/* Initial weight statistics for each initialiser on a 1000 -> 500 -> 10
 * network.  The first layer has 500,000 weights, so its sample variance
 * is within 0.5% of the true one for a normal draw; 3% is a safe bound
 * that still tells the initialisers apart (their variances differ by 1.5x
 * and more). */
START_TEST(test_init_statistics)
{
    const char *text = "input 1000\ndense 500\nrelu\ndense 10\nsoftmax_xent\n";
    nn_spec spec;
    parse_ok(&spec, text);
    static const struct {
        int init;
        double var1, bound1, var2; /* bound: largest |w| possible, 0 if none */
    } cases[] = {
        /* default: He before relu, Xavier before the loss */
        {NN_INIT_DEFAULT, 2.0 / 1000, 0, 2.0 / 510},
        /* He: N(0, 2/fan_in) */
        {NN_INIT_HE, 2.0 / 1000, 0, 2.0 / 500},
        /* Xavier: U(-a, a), a = sqrt(6 / (fan_in + fan_out)), variance a^2/3 */
        {NN_INIT_XAVIER, 2.0 / 1500, 0.0632455532, 2.0 / 510},
        /* uniform: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), variance 1/(3 fan_in) */
        {NN_INIT_UNIFORM, 1.0 / 3000, 0.0316227766, 1.0 / 1500},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nn_hparams hp = spec.hp;
        hp.init = cases[i].init;
        hp.seed = 5;
        nn_graph g;
        ck_assert_int_eq(nn_model_build(&g, &spec, &hp, 1, &err), NN_OK);
        moments m1 = tensor_moments(nn_graph_param_node(&g, 0));
        moments m2 = tensor_moments(nn_graph_param_node(&g, 2));
        const char *name = nn_init_name(cases[i].init);
        ck_assert_msg(fabs(m1.mean) < 0.01 * sqrt(cases[i].var1), "%s: layer 1 mean %g", name, m1.mean);
        ck_assert_msg(fabs(m1.var / cases[i].var1 - 1) < 0.03, "%s: layer 1 variance %g, expected %g", name, m1.var,
                      cases[i].var1);
        /* 5000 weights: a sample variance within 10%. */
        ck_assert_msg(fabs(m2.var / cases[i].var2 - 1) < 0.1, "%s: layer 2 variance %g, expected %g", name, m2.var,
                      cases[i].var2);
        if (cases[i].bound1 > 0) {
            ck_assert_msg(m1.max_abs <= cases[i].bound1 * (1 + 1e-6) && m1.max_abs > 0.999 * cases[i].bound1,
                          "%s: largest |w| %g, bound %g", name, m1.max_abs, cases[i].bound1);
        } else {
            /* A normal draw of 500,000 reaches past 4 standard deviations. */
            ck_assert_msg(m1.max_abs > 4 * sqrt(cases[i].var1), "%s: largest |w| %g", name, m1.max_abs);
        }
        nn_graph_free(&g);
    }

    /* zero: every weight and bias is 0. */
    nn_hparams hp = spec.hp;
    hp.init = NN_INIT_ZERO;
    nn_graph g;
    ck_assert_int_eq(nn_model_build(&g, &spec, &hp, 1, &err), NN_OK);
    for (size_t i = 0; i < g.n_params; i++)
        ck_assert(g.params[i] == 0.0f);
    nn_graph_free(&g);
    nn_spec_free(&spec);
}
END_TEST

/* A layer's init= wins over the default, and hp.init (the command line)
 * wins over both; He is chosen through dropout before a relu. */
START_TEST(test_init_precedence)
{
    nn_spec spec;
    parse_ok(&spec, "input 1000\ndense 500 init=uniform\nrelu\ndense 400\ndropout 0.5\nrelu\ndense 10\nmse\n");
    nn_hparams hp = spec.hp;
    nn_graph g;
    ck_assert_int_eq(nn_model_build(&g, &spec, &hp, 1, &err), NN_OK);
    moments m1 = tensor_moments(nn_graph_param_node(&g, 0));
    moments m2 = tensor_moments(nn_graph_param_node(&g, 2));
    ck_assert_double_le(m1.max_abs, 0.0316227766 * (1 + 1e-6)); /* uniform, as the layer says */
    ck_assert_double_eq_tol(m2.var / (2.0 / 500), 1.0, 0.05); /* He through the dropout */
    nn_graph_free(&g);

    hp.init = NN_INIT_ZERO;
    ck_assert_int_eq(nn_model_build(&g, &spec, &hp, 1, &err), NN_OK);
    ck_assert_double_eq(tensor_moments(nn_graph_param_node(&g, 0)).max_abs, 0.0);
    nn_graph_free(&g);
    nn_spec_free(&spec);
}
END_TEST

START_TEST(test_dropout_rate_override)
{
    nn_spec spec;
    parse_ok(&spec, "input 784\ndense 100\ndropout 0.3\nrelu\ndropout 0.1\ndense 10\nsoftmax_xent\n");
    nn_hparams hp = spec.hp;
    nn_graph g;
    ck_assert_int_eq(nn_model_build(&g, &spec, &hp, 1, &err), NN_OK);
    ck_assert_float_eq(g.nodes[nn_graph_find(&g, "dropout1")].fparam, 0.3f);
    ck_assert_float_eq(g.nodes[nn_graph_find(&g, "dropout2")].fparam, 0.1f);
    nn_model_set_dropout(&g, 0.6f);
    ck_assert_float_eq(g.nodes[nn_graph_find(&g, "dropout1")].fparam, 0.6f);
    ck_assert_float_eq(g.nodes[nn_graph_find(&g, "dropout2")].fparam, 0.6f);
    nn_graph_free(&g);

    hp.dropout = 0.0f; /* --dropout 0 switches them all off */
    ck_assert_int_eq(nn_model_build(&g, &spec, &hp, 1, &err), NN_OK);
    ck_assert_float_eq(g.nodes[nn_graph_find(&g, "dropout1")].fparam, 0.0f);
    ck_assert_float_eq(g.nodes[nn_graph_find(&g, "dropout2")].fparam, 0.0f);
    nn_graph_free(&g);
    nn_spec_free(&spec);
}
END_TEST

/* ---- runner ----------------------------------------------------------- */

static Suite *spec_suite(void)
{
    Suite *suite = suite_create("spec");

    TCase *presets = tcase_create("presets");
    tcase_add_test(presets, test_preset_linear);
    tcase_add_test(presets, test_preset_mlp);
    tcase_add_test(presets, test_preset_mlp_tanh);
    tcase_add_test(presets, test_every_preset_builds);
    suite_add_tcase(suite, presets);

    TCase *parse = tcase_create("parse");
    tcase_add_test(parse, test_parse_options);
    tcase_add_test(parse, test_layer_names);
    tcase_add_test(parse, test_spec_tabs_and_crlf);
    suite_add_tcase(suite, parse);

    TCase *hparams = tcase_create("hparams");
    tcase_add_test(hparams, test_hparams_defaults);
    tcase_add_test(hparams, test_hparams_set_valid);
    tcase_add_test(hparams, test_hparams_set_invalid);
    tcase_add_test(hparams, test_hparams_format_round_trip);
    suite_add_tcase(suite, hparams);

    TCase *errors = tcase_create("errors");
    tcase_add_loop_test(errors, test_spec_error, 0, (int)(sizeof bad_specs / sizeof bad_specs[0]));
    tcase_add_test(errors, test_trailing_word_after_loss);
    tcase_add_test(errors, test_spec_load_errors);
    suite_add_tcase(suite, errors);

    TCase *model = tcase_create("model");
    tcase_add_test(model, test_build_shape_errors);
    tcase_add_test(model, test_build_mlp);
    tcase_add_test(model, test_init_deterministic);
    tcase_add_test(model, test_init_statistics);
    tcase_add_test(model, test_init_precedence);
    tcase_add_test(model, test_dropout_rate_override);
    suite_add_tcase(suite, model);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(spec_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
