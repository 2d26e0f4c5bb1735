/* Tests for the model files (nn/checkpoint_*.c): what is saved comes back
 * bit for bit, a resumed run takes exactly the steps the uninterrupted run
 * takes, and a file that is cut short, corrupted, of an unknown version or
 * with parameters that do not fit its spec is rejected with NN_EINPUT and a
 * message naming it.  Saving that fails leaves the old file in place.
 *
 * The model is tiny (4x4 images, 3 classes) so every byte offset of its file
 * can be tried, but it has every kind of state: Adam moments, dropout,
 * augmentation shifts and a position in the middle of an epoch. */
#include "checkpoint.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "model.h"

static char temp_dir[] = "/tmp/nnlab-test-checkpoint-XXXXXX";

static const char spec_text[] =
    "# a tiny model with every kind of training state\n"
    "input 1x4x4\n"
    "dense 5\n"
    "relu\n"
    "dropout 0.25\n"
    "dense 3\n"
    "softmax_xent\n"
    "train optimizer=adam lr=0.01 batch=8 epochs=3 augment=1\n";

/* ---- fixtures --------------------------------------------------------- */

static const char *temp_path(const char *name)
{
    static char path[4][512];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", temp_dir, name);
    return p;
}

/* count 4x4 images whose pixels depend on their class, so training learns. */
static void make_dataset(nn_dataset *ds, size_t count, unsigned salt)
{
    ds->count = count;
    ds->rows = ds->cols = 4;
    ds->classes = 3;
    ds->images = malloc(count * 16);
    ds->labels = malloc(count);
    ck_assert(ds->images && ds->labels);
    for (size_t s = 0; s < count; s++) {
        unsigned label = (unsigned)(s * 7 + salt) % 3;
        ds->labels[s] = (uint8_t)label;
        for (int i = 0; i < 16; i++)
            ds->images[s * 16 + i] = (uint8_t)((i % 3 == (int)label ? 200 : 20) + (s * 13 + (size_t)i * 5) % 40);
    }
}

typedef struct fixture {
    nn_spec spec;
    nn_hparams hp;
    nn_dataset train, test;
} fixture;

static void fixture_init(fixture *f, int optimizer)
{
    nn_error err;
    ck_assert_msg(nn_spec_parse(&f->spec, spec_text, "tiny.spec", &err) == NN_OK, "%s", err.msg);
    f->hp = f->spec.hp;
    if (optimizer >= 0)
        f->hp.optimizer = optimizer;
    f->hp.nesterov = optimizer == NN_MOMENTUM;
    f->hp.lr = 0.0123456789f; /* needs all nine digits to come back exactly */
    make_dataset(&f->train, 40, 0);
    make_dataset(&f->test, 12, 1);
    nn_set_threads(1);
}

static void fixture_free(fixture *f)
{
    nn_spec_free(&f->spec);
    nn_dataset_free(&f->train);
    nn_dataset_free(&f->test);
}

static void train_steps(nn_trainer *t, const nn_dataset *test, int steps)
{
    for (int i = 0; i < steps; i++) {
        nn_step_info s;
        nn_trainer_step(t, &s);
        if (s.epoch_done) {
            nn_epoch_record r = {.seconds = 0.5};
            nn_trainer_epoch_stats(t, &r.train_loss, &r.train_accuracy);
            nn_eval ev;
            nn_trainer_evaluate(t, test, &ev);
            r.test_loss = ev.loss;
            r.test_accuracy = ev.accuracy;
            ck_assert_int_eq(nn_trainer_record_epoch(t, &r, NULL), NN_OK);
        }
    }
}

static void new_trainer(nn_trainer *t, fixture *f)
{
    nn_error err;
    ck_assert_msg(nn_trainer_init(t, &f->spec, &f->hp, &f->train, &err) == NN_OK, "%s", err.msg);
    snprintf(t->dataset, sizeof t->dataset, "data/tiny");
    t->test_count = f->test.count;
}

/* Saves a trainer 7 steps in (epoch 1 of 3, mid-epoch) to name. */
static const char *save_small_model(const char *name)
{
    fixture f;
    fixture_init(&f, -1);
    nn_trainer t;
    new_trainer(&t, &f);
    train_steps(&t, &f.test, 7);
    const char *path = temp_path(name);
    nn_error err;
    ck_assert_msg(nn_checkpoint_save(&t, &f.spec, path, &err) == NN_OK, "%s", err.msg);
    nn_trainer_free(&t);
    fixture_free(&f);
    return path;
}

static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *file = fopen(path, "rb");
    ck_assert_ptr_nonnull(file);
    unsigned char *data = malloc(1 << 20);
    ck_assert_ptr_nonnull(data);
    *size = fread(data, 1, 1 << 20, file);
    fclose(file);
    return data;
}

static void write_file(const char *path, const unsigned char *data, size_t size)
{
    FILE *file = fopen(path, "wb");
    ck_assert_ptr_nonnull(file);
    ck_assert_uint_eq(fwrite(data, 1, size, file), size);
    ck_assert_int_eq(fclose(file), 0);
}

/* Recompute the CRC in the last four bytes, as a writer would have. */
static void fix_crc(unsigned char *data, size_t size)
{
    uint32_t crc = (uint32_t)crc32(0L, data, (uInt)(size - 4));
    for (int i = 0; i < 4; i++)
        data[size - 4 + i] = (unsigned char)(crc >> (8 * i));
}

#define ck_assert_rejected(rc, err, path, keyword)                                                 \
    do {                                                                                           \
        ck_assert_int_eq((rc), NN_EINPUT);                                                         \
        ck_assert_msg(strstr((err).msg, (path)) != NULL, "'%s' does not name %s", (err).msg, (path)); \
        ck_assert_msg(strstr((err).msg, (keyword)) != NULL, "'%s' lacks '%s'", (err).msg, (keyword)); \
    } while (0)

/* ---- round trip and exact resumption ----------------------------------- */

START_TEST(test_round_trip)
{
    fixture f;
    fixture_init(&f, -1);
    f.hp.dropout = 0.125f;
    nn_trainer t;
    new_trainer(&t, &f);
    train_steps(&t, &f.test, 7);
    const char *path = temp_path("round.nnl");
    nn_error err;
    ck_assert_msg(nn_checkpoint_save(&t, &f.spec, path, &err) == NN_OK, "%s", err.msg);

    nn_checkpoint ck;
    ck_assert_msg(nn_checkpoint_load(&ck, path, &err) == NN_OK, "%s", err.msg);
    ck_assert_uint_eq(ck.major, NN_CHECKPOINT_MAJOR);
    ck_assert_uint_eq(ck.minor, 0); /* no pruned or int8 tensors: still a 1.0 file */
    ck_assert_str_eq(ck.spec.text, spec_text);
    char a[1024], b[1024];
    ck_assert_str_eq(nn_hparams_format(&ck.hp, a, sizeof a), nn_hparams_format(&t.hp, b, sizeof b));
    ck_assert(ck.hp.lr == t.hp.lr && ck.hp.dropout == 0.125f && ck.hp.seed == t.hp.seed);
    ck_assert_int_eq(ck.n_tensors, 4);
    for (int i = 0; i < ck.n_tensors; i++) {
        const nn_node *p = nn_graph_param_node(&t.graph, i);
        ck_assert_str_eq(ck.tensors[i].name, p->name);
        ck_assert_uint_eq(ck.tensors[i].size, p->size);
        ck_assert(memcmp(ck.tensors[i].value, p->value, p->size * 4) == 0);
        ck_assert(memcmp(ck.tensors[i].m, t.optim.m + p->param_offset, p->size * 4) == 0);
        ck_assert(memcmp(ck.tensors[i].v, t.optim.v + p->param_offset, p->size * 4) == 0);
    }
    ck_assert_int_eq(ck.has_optim, 1);
    ck_assert_int_eq(ck.optim_t, 7);
    ck_assert_int_eq(ck.n_rngs, 4);
    ck_assert(memcmp(&ck.rngs[0].state, &t.shuffle_rng, sizeof t.shuffle_rng) == 0);
    ck_assert(memcmp(&ck.rngs[1].state, &t.augment_rng, sizeof t.augment_rng) == 0);
    ck_assert(memcmp(&ck.rngs[2].state, &t.graph.rng, sizeof t.graph.rng) == 0);
    ck_assert(memcmp(&ck.rngs[3].state, &t.graph.noise_rng, sizeof t.graph.noise_rng) == 0);
    ck_assert_int_eq(ck.has_position, 1);
    ck_assert_int_eq(ck.epoch, 1);
    ck_assert_int_eq(ck.step, 7);
    ck_assert_uint_eq(ck.pos, 16);
    ck_assert_uint_eq(ck.train_count, 40);
    ck_assert(memcmp(ck.order, t.order, 40 * sizeof *t.order) == 0);
    ck_assert(ck.epoch_loss == t.epoch_loss && ck.epoch_seen == 16 && ck.epoch_correct == t.epoch_correct);
    ck_assert(ck.train_seconds == t.train_seconds);
    ck_assert_int_eq(ck.n_history, 1);
    ck_assert(memcmp(&ck.history[0], &t.history[0], sizeof t.history[0]) == 0);
    ck_assert_str_eq(ck.model, "tiny");
    ck_assert_str_eq(ck.spec_source, "tiny.spec");
    ck_assert_str_eq(ck.dataset, "data/tiny");
    ck_assert_uint_eq(ck.test_count, 12);
    ck_assert(ck.test_accuracy == t.history[0].test_accuracy);
    ck_assert_int_eq((int)strlen(ck.created), 20);
    ck_assert_str_ne(ck.version, "");

    /* an inference graph from the file computes what the trainer does */
    nn_spec spec;
    nn_graph g;
    ck_assert_msg(nn_checkpoint_load_model(path, &spec, &g, 12, &err) == NN_OK, "%s", err.msg);
    ck_assert_int_eq(g.training, 0);
    nn_eval ev;
    nn_trainer_evaluate(&t, &f.test, &ev);
    nn_node *in = &g.nodes[g.input];
    size_t idx[12];
    int labels[12];
    for (int i = 0; i < 12; i++)
        idx[i] = (size_t)i;
    nn_dataset_batch(&f.test, idx, 12, in->value, g.nodes[g.target].value, labels);
    nn_graph_forward(&g, 12);
    ck_assert(fabsf(nn_graph_loss(&g) - (float)ev.loss) < 1e-5f);
    nn_graph_free(&g);
    nn_spec_free(&spec);
    nn_checkpoint_free(&ck);
    nn_trainer_free(&t);
    fixture_free(&f);
}
END_TEST

/* Train 17 steps straight, or k steps, save, load and train the rest: the
 * weights, moments and random streams must agree bit for bit. */
static void check_resume(int optimizer, int k)
{
    const int total = 17;
    fixture f;
    fixture_init(&f, optimizer);
    nn_trainer straight, first, resumed;
    f.hp.epochs = 4;
    new_trainer(&straight, &f);
    train_steps(&straight, &f.test, total);

    new_trainer(&first, &f);
    first.hp.epochs = 2; /* as --epochs 2 --save, then --epochs 4 --resume */
    train_steps(&first, &f.test, k);
    const char *path = temp_path("resume.nnl");
    nn_error err;
    ck_assert_msg(nn_checkpoint_save(&first, &f.spec, path, &err) == NN_OK, "%s", err.msg);
    nn_trainer_free(&first);

    nn_checkpoint ck;
    ck_assert_msg(nn_checkpoint_load(&ck, path, &err) == NN_OK, "%s", err.msg);
    nn_hparams hp = ck.hp;
    hp.epochs = 4;
    ck_assert_msg(nn_checkpoint_resume(&resumed, &ck, &hp, &f.train, &err) == NN_OK, "%s", err.msg);
    nn_checkpoint_free(&ck);
    train_steps(&resumed, &f.test, total - k);

    ck_assert_int_eq(resumed.step, straight.step);
    ck_assert_int_eq(resumed.epoch, straight.epoch);
    ck_assert_uint_eq(resumed.pos, straight.pos);
    ck_assert_msg(memcmp(resumed.graph.params, straight.graph.params, straight.graph.n_params * 4) == 0,
                  "%s, %d steps then resumed: weights differ", nn_optimizer_name(optimizer), k);
    ck_assert(memcmp(resumed.optim.m, straight.optim.m, straight.optim.n * 4) == 0);
    ck_assert(memcmp(resumed.optim.v, straight.optim.v, straight.optim.n * 4) == 0);
    ck_assert_int_eq(resumed.optim.t, straight.optim.t);
    ck_assert(memcmp(&resumed.shuffle_rng, &straight.shuffle_rng, sizeof(nn_rng)) == 0);
    ck_assert(memcmp(&resumed.augment_rng, &straight.augment_rng, sizeof(nn_rng)) == 0);
    ck_assert(memcmp(&resumed.graph.rng, &straight.graph.rng, sizeof(nn_rng)) == 0);
    ck_assert(memcmp(resumed.order, straight.order, 40 * sizeof *straight.order) == 0);
    ck_assert(resumed.epoch_loss == straight.epoch_loss);
    ck_assert_int_eq(resumed.n_history, straight.n_history);
    for (int e = 0; e < straight.n_history; e++) {
        ck_assert(resumed.history[e].train_loss == straight.history[e].train_loss);
        ck_assert(resumed.history[e].test_accuracy == straight.history[e].test_accuracy);
    }
    ck_assert_int_eq(nn_trainer_done(&resumed), 0);
    nn_trainer_free(&resumed);
    nn_trainer_free(&straight);
    fixture_free(&f);
}

/* The bytes of a file in memory load as the file does; cut short, they are
 * refused with the name given. */
START_TEST(test_load_from_memory)
{
    const char *path = save_small_model("memory.nnl");
    size_t size;
    unsigned char *data = read_file(path, &size);
    nn_checkpoint a, b;
    nn_error err;
    ck_assert_msg(nn_checkpoint_load(&a, path, &err) == NN_OK, "%s", err.msg);
    ck_assert_msg(nn_checkpoint_load_memory(&b, data, size, "in-memory.nnl", &err) == NN_OK, "%s", err.msg);
    ck_assert_str_eq(b.path, "in-memory.nnl");
    ck_assert_uint_eq(b.file_size, size);
    ck_assert_int_eq(b.n_tensors, a.n_tensors);
    ck_assert_int_eq(b.step, a.step);
    for (int i = 0; i < a.n_tensors; i++)
        ck_assert(memcmp(a.tensors[i].value, b.tensors[i].value, a.tensors[i].size * 4) == 0);
    nn_checkpoint_free(&a);
    nn_checkpoint_free(&b);
    ck_assert_rejected(nn_checkpoint_load_memory(&b, data, size / 2, "in-memory.nnl", &err), err, "in-memory.nnl",
                       "truncated");
    free(data);
}
END_TEST

START_TEST(test_resume_exact)
{
    static const int optimizers[] = {NN_SGD, NN_MOMENTUM, NN_ADAM, NN_RMSPROP};
    static const int ks[] = {1, 3, 5, 10, 12}; /* 5 steps per epoch: 5 and 10 end one */
    check_resume(optimizers[_i / 5], ks[_i % 5]);
}
END_TEST

START_TEST(test_resume_needs_same_training_set)
{
    const char *path = save_small_model("other-data.nnl");
    nn_checkpoint ck;
    nn_error err;
    ck_assert_int_eq(nn_checkpoint_load(&ck, path, &err), NN_OK);
    nn_dataset other;
    make_dataset(&other, 30, 0);
    nn_trainer t;
    ck_assert_rejected(nn_checkpoint_resume(&t, &ck, NULL, &other, &err), err, path, "same --data");
    nn_dataset_free(&other);
    nn_checkpoint_free(&ck);
}
END_TEST

/* ---- damaged files ----------------------------------------------------- */

START_TEST(test_truncated_at_every_offset)
{
    const char *path = save_small_model("whole.nnl");
    size_t size;
    unsigned char *data = read_file(path, &size);
    ck_assert_uint_gt(size, 500);
    const char *cut = temp_path("cut.nnl");
    for (size_t len = 0; len < size; len++) {
        write_file(cut, data, len);
        nn_checkpoint ck;
        nn_error err = {0};
        int rc = nn_checkpoint_load(&ck, cut, &err);
        ck_assert_msg(rc == NN_EINPUT, "cut at %zu: status %d (%s)", len, rc, err.msg);
        ck_assert_msg(strstr(err.msg, cut) && strstr(err.msg, "truncated"), "cut at %zu: '%s'", len, err.msg);
        ck_assert_ptr_null(ck.tensors);
    }
    free(data);
}
END_TEST

START_TEST(test_flipped_bits)
{
    const char *path = save_small_model("flip.nnl");
    size_t size;
    unsigned char *data = read_file(path, &size);
    const char *bad = temp_path("flipped.nnl");
    for (int i = 0; i < 200; i++) {
        size_t at = (size_t)i * (size - 1) / 199;
        data[at] ^= (unsigned char)(1u << (i % 8));
        write_file(bad, data, size);
        data[at] ^= (unsigned char)(1u << (i % 8));
        nn_checkpoint ck;
        nn_error err = {0};
        int rc = nn_checkpoint_load(&ck, bad, &err);
        ck_assert_msg(rc == NN_EINPUT, "bit %d of byte %zu: status %d (%s)", i % 8, at, rc, err.msg);
        ck_assert_msg(strstr(err.msg, bad), "bit flip at %zu: '%s'", at, err.msg);
    }
    free(data);
}
END_TEST

START_TEST(test_unknown_version)
{
    const char *path = save_small_model("version.nnl");
    size_t size;
    unsigned char *data = read_file(path, &size);
    data[8] = 2; /* major 2 */
    fix_crc(data, size);
    const char *bad = temp_path("v2.nnl");
    write_file(bad, data, size);
    nn_checkpoint ck;
    nn_error err;
    ck_assert_rejected(nn_checkpoint_load(&ck, bad, &err), err, bad, "format version 2.0 is not supported");
    free(data);
}
END_TEST

/* A section this version does not know: skipped in a newer minor version
 * (1.1), an error in 1.0. */
START_TEST(test_unknown_section)
{
    const char *path = save_small_model("section.nnl");
    size_t size;
    unsigned char *data = read_file(path, &size);
    static const unsigned char extra[] = {'X', 'T', 'R', 'A', 5, 0, 0, 0, 0, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'};
    unsigned char *longer = malloc(size + sizeof extra);
    size_t end = size - 16; /* END's tag, length and CRC */
    memcpy(longer, data, end);
    memcpy(longer + end, extra, sizeof extra);
    memcpy(longer + end + sizeof extra, data + end, 16);
    size_t n = size + sizeof extra;
    const char *bad = temp_path("extra.nnl");
    nn_checkpoint ck;
    nn_error err;

    fix_crc(longer, n);
    write_file(bad, longer, n);
    ck_assert_rejected(nn_checkpoint_load(&ck, bad, &err), err, bad, "unknown section 'XTRA'");

    longer[10] = NN_CHECKPOINT_MINOR + 1; /* a newer minor version */
    fix_crc(longer, n);
    write_file(bad, longer, n);
    ck_assert_msg(nn_checkpoint_load(&ck, bad, &err) == NN_OK, "%s", err.msg);
    ck_assert_uint_eq(ck.minor, NN_CHECKPOINT_MINOR + 1);
    ck_assert_int_eq(ck.n_tensors, 4);
    nn_checkpoint_free(&ck);
    free(longer);
    free(data);
}
END_TEST

START_TEST(test_params_do_not_fit_spec)
{
    const char *path = save_small_model("fit.nnl");
    size_t size;
    unsigned char *data = read_file(path, &size);
    unsigned char *at = NULL;
    for (size_t i = 0; i + 7 <= size && !at; i++)
        if (!memcmp(data + i, "dense 5", 7))
            at = data + i;
    ck_assert_ptr_nonnull(at);
    at[6] = '6'; /* the spec now builds dense1 with 6 units */
    fix_crc(data, size);
    const char *bad = temp_path("misfit.nnl");
    write_file(bad, data, size);
    nn_checkpoint ck;
    nn_error err;
    ck_assert_rejected(nn_checkpoint_load(&ck, bad, &err), err, bad, "do not fit the spec");
    ck_assert_msg(strstr(err.msg, "dense1.weight [5x16]") && strstr(err.msg, "[6x16]"), "%s", err.msg);

    /* and a graph of another spec refuses the weights */
    ck_assert_int_eq(nn_checkpoint_load(&ck, path, &err), NN_OK);
    nn_spec other;
    ck_assert_int_eq(nn_spec_parse(&other, "input 1x4x4\ndense 3\nsoftmax_xent\n", "other.spec", &err), NN_OK);
    nn_graph g;
    ck_assert_int_eq(nn_model_build(&g, &other, &other.hp, 1, &err), NN_OK);
    ck_assert_rejected(nn_checkpoint_apply(&ck, &g, &err), err, path, "4 parameter tensors, the model 2");
    nn_graph_free(&g);
    nn_spec_free(&other);
    nn_checkpoint_free(&ck);
    free(data);
}
END_TEST

/* A small file whose spec asks for a huge layer: refused for not fitting
 * before the model is built, so without allocating the 16777216x16 weights
 * (1 GiB, and as much again for their gradients). */
START_TEST(test_huge_spec_in_small_file)
{
    const char *path = save_small_model("huge.nnl");
    size_t size;
    unsigned char *data = read_file(path, &size);
    static const char spec_tag[] = "SPEC";
    ck_assert(memcmp(data + 12, spec_tag, 4) == 0);
    uint64_t len = 0;
    for (int i = 0; i < 8; i++)
        len |= (uint64_t)data[16 + i] << (8 * i);
    ck_assert_uint_eq(len, sizeof spec_text - 1);
    const char *from = strstr(spec_text, "dense 5\n");
    ck_assert_ptr_nonnull(from);
    char huge[1024];
    int n = snprintf(huge, sizeof huge, "%.*sdense 16777216\n%s", (int)(from - spec_text), spec_text, from + 8);
    size_t grown = size + (size_t)n - len;
    unsigned char *bigger = malloc(grown);
    ck_assert_ptr_nonnull(bigger);
    memcpy(bigger, data, 16);
    for (int i = 0; i < 8; i++)
        bigger[16 + i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(bigger + 24, huge, (size_t)n);
    memcpy(bigger + 24 + n, data + 24 + len, size - 24 - len);
    fix_crc(bigger, grown);
    const char *bad = temp_path("huge-spec.nnl");
    write_file(bad, bigger, grown);
    nn_checkpoint ck;
    nn_error err;
    ck_assert_rejected(nn_checkpoint_load(&ck, bad, &err), err, bad, "do not fit the spec");
    ck_assert_msg(strstr(err.msg, "dense1.weight [5x16] in the file, dense1.weight [16777216x16] in the model"), "%s",
                  err.msg);
    free(bigger);
    free(data);
}
END_TEST

/* Inputs the model-file fuzz target found (tests/fuzz/corpus/checkpoint),
 * each refused with NN_EINPUT and the message it must give. */
START_TEST(test_fuzz_regressions)
{
    static const struct {
        const char *file, *message;
    } cases[] = {
        /* A sparse TENS tensor of 50331654x16 values in a 932-byte file:
         * its 3 GB of values were allocated before its bitmap was found
         * missing. */
        {"tens-huge-shape-oom", "offset 352: parameter dense1.weight runs past the end of section TENS "
                                "(expected 100663308 bytes, 302 left in it)"},
        /* The same claiming 2^30 x 2^20 values: the allocation failed and
         * the file was reported as "out of memory" (exit 1), not as bad. */
        {"tens-huge-shape-2e50", "offset 352: parameter dense1.weight runs past the end of section TENS "
                                 "(expected 140737488355328 bytes, 302 left in it)"},
        {"huge-spec-small-file.nnl", "dense1.weight [6x16] in the file, dense1.weight [16777216x16] in the model"},
    };
    const char *root = getenv("NNLAB_SOURCE_ROOT");
    ck_assert_msg(root != NULL, "NNLAB_SOURCE_ROOT is not set");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/tests/fuzz/corpus/checkpoint/%s", root, cases[i].file);
        nn_checkpoint ck;
        nn_error err;
        ck_assert_rejected(nn_checkpoint_load(&ck, path, &err), err, path, cases[i].message);
    }
}
END_TEST

START_TEST(test_not_a_model)
{
    const char *path = temp_path("spec-as-model.nnl");
    write_file(path, (const unsigned char *)spec_text, sizeof spec_text - 1);
    nn_checkpoint ck;
    nn_error err;
    ck_assert_rejected(nn_checkpoint_load(&ck, path, &err), err, path, "not an nnlab model file");
    const char *missing = temp_path("missing.nnl");
    ck_assert_rejected(nn_checkpoint_load(&ck, missing, &err), err, missing, "No such file");
    ck_assert_rejected(nn_checkpoint_load(&ck, temp_dir, &err), err, temp_dir, "not a regular file");
}
END_TEST

/* ---- saving that fails --------------------------------------------------- */

static int temp_files_left(void)
{
    DIR *dir = opendir(temp_dir);
    ck_assert_ptr_nonnull(dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(dir));)
        n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(dir);
    return n;
}

START_TEST(test_save_failure_keeps_old_file)
{
    const char *path = save_small_model("keep.nnl");
    size_t size;
    unsigned char *before = read_file(path, &size);

    /* a write that fails halfway (the file size limit stands in for a full disk) */
    fixture f;
    fixture_init(&f, -1);
    nn_trainer t;
    new_trainer(&t, &f);
    train_steps(&t, &f.test, 3);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit = {.rlim_cur = 256, .rlim_max = RLIM_INFINITY};
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &limit), 0);
    nn_error err;
    ck_assert_int_eq(nn_checkpoint_save(&t, &f.spec, path, &err), NN_ERUNTIME);
    limit.rlim_cur = RLIM_INFINITY;
    setrlimit(RLIMIT_FSIZE, &limit);
    ck_assert_msg(strstr(err.msg, path) && strstr(err.msg, strerror(EFBIG)), "%s", err.msg);
    size_t after_size;
    unsigned char *after = read_file(path, &after_size);
    ck_assert_uint_eq(after_size, size);
    ck_assert(memcmp(before, after, size) == 0);
    ck_assert_int_eq(temp_files_left(), 0);

    /* a directory that does not exist */
    const char *nowhere = temp_path("no/such/dir/model.nnl");
    ck_assert_int_eq(nn_checkpoint_save(&t, &f.spec, nowhere, &err), NN_ERUNTIME);
    ck_assert_msg(strstr(err.msg, nowhere) && strstr(err.msg, strerror(ENOENT)), "%s", err.msg);

    /* a full device is written in place, never replaced */
    struct stat st;
    if (stat("/dev/full", &st) == 0 && S_ISCHR(st.st_mode)) {
        ck_assert_int_eq(nn_checkpoint_save(&t, &f.spec, "/dev/full", &err), NN_ERUNTIME);
        ck_assert_msg(strstr(err.msg, "/dev/full") && strstr(err.msg, strerror(ENOSPC)), "%s", err.msg);
        ck_assert_int_eq(stat("/dev/full", &st), 0);
        ck_assert(S_ISCHR(st.st_mode));
    }
    nn_trainer_free(&t);
    fixture_free(&f);
    free(before);
    free(after);
}
END_TEST

static Suite *checkpoint_suite(void)
{
    Suite *suite = suite_create("checkpoint");
    TCase *state = tcase_create("state");
    tcase_add_test(state, test_round_trip);
    tcase_add_test(state, test_load_from_memory);
    tcase_add_loop_test(state, test_resume_exact, 0, 20);
    tcase_add_test(state, test_resume_needs_same_training_set);
    suite_add_tcase(suite, state);
    TCase *damaged = tcase_create("damaged");
    tcase_add_test(damaged, test_truncated_at_every_offset);
    tcase_add_test(damaged, test_flipped_bits);
    tcase_add_test(damaged, test_unknown_version);
    tcase_add_test(damaged, test_unknown_section);
    tcase_add_test(damaged, test_params_do_not_fit_spec);
    tcase_add_test(damaged, test_huge_spec_in_small_file);
    tcase_add_test(damaged, test_fuzz_regressions);
    tcase_add_test(damaged, test_not_a_model);
    tcase_add_test(damaged, test_save_failure_keeps_old_file);
    suite_add_tcase(suite, damaged);
    return suite;
}

static void remove_temp_dir(void)
{
    DIR *dir = opendir(temp_dir);
    if (!dir)
        return;
    char path[1024];
    for (struct dirent *e; (e = readdir(dir));) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", temp_dir, e->d_name);
            unlink(path);
        }
    }
    closedir(dir);
    rmdir(temp_dir);
}

int main(void)
{
    if (!mkdtemp(temp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    SRunner *runner = srunner_create(checkpoint_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    remove_temp_dir();
    return failed == 0 ? 0 : 1;
}
