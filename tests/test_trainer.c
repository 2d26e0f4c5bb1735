/* Tests for nn/trainer.c on the bundled mnist-small set: that training
 * learns, that a seed reproduces a run bit for bit, the epoch and batch
 * bookkeeping, evaluation and its confusion matrix, augmentation, and
 * that a diverging run is flagged.
 *
 * BLAS runs on one thread throughout: SPEC §3 promises identical numbers
 * for the same seed and the same thread count. */
#include "data.h"
#include "spec.h"
#include "trainer.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static nn_dataset train_set, test_set;
static nn_error err;

/* Loaded once in the runner, before each test's fork. */
static void load_data(void)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/data/mnist-small", getenv("NNLAB_SOURCE_ROOT"));
    if (nn_dataset_load_dir(dir, &train_set, &test_set, &err) != NN_OK) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    nn_set_threads(1);
}

static void free_data(void)
{
    nn_dataset_free(&train_set);
    nn_dataset_free(&test_set);
}

static void load_preset(nn_spec *spec, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/assets/models/%s.spec", getenv("NNLAB_SOURCE_ROOT"), name);
    ck_assert_msg(nn_spec_load(spec, path, &err) == NN_OK, "%s", err.msg);
}

/* A fixed recipe, so the tests do not move when a preset's `train` line
 * is retuned. */
static nn_hparams recipe(int optimizer, float lr, int batch)
{
    nn_hparams hp;
    nn_hparams_defaults(&hp);
    hp.optimizer = optimizer;
    hp.lr = lr;
    hp.momentum = 0.9f;
    hp.batch = batch;
    hp.epochs = 1;
    return hp;
}

static void trainer_init(nn_trainer *t, const nn_spec *spec, const nn_hparams *hp)
{
    ck_assert_msg(nn_trainer_init(t, spec, hp, &train_set, &err) == NN_OK, "%s", err.msg);
}

/* ---- learning --------------------------------------------------------- */

/* One epoch of the linear preset (SGD, lr 0.1, batch 64) takes logistic
 * regression from chance to well over 80% on the 2,000 test digits. */
START_TEST(test_linear_learns)
{
    nn_spec spec;
    load_preset(&spec, "linear");
    nn_hparams hp = recipe(NN_SGD, 0.1f, 64);
    nn_trainer t;
    trainer_init(&t, &spec, &hp);

    nn_eval before, after;
    nn_trainer_evaluate(&t, &test_set, &before);
    ck_assert_uint_eq(before.count, 2000);
    ck_assert_double_lt(before.accuracy, 0.3);

    nn_step_info info;
    long steps = 0;
    double first_losses = 0, last_losses = 0;
    while (!nn_trainer_done(&t)) {
        nn_trainer_step(&t, &info);
        ck_assert_int_eq(info.bad_loss, 0);
        ck_assert_int_eq(info.bad_tensor, -1);
        ck_assert(info.accuracy >= 0.0f && info.accuracy <= 1.0f);
        if (steps < 10)
            first_losses += info.loss;
        if (steps >= t.steps_per_epoch - 10)
            last_losses += info.loss;
        steps++;
    }
    ck_assert_int_eq(steps, 125);
    ck_assert_double_lt(last_losses, 0.5 * first_losses);

    nn_trainer_evaluate(&t, &test_set, &after);
    ck_assert_msg(after.accuracy > 0.80, "test accuracy %.4f after one epoch", after.accuracy);
    ck_assert_double_lt(after.loss, 0.6);
    ck_assert_double_lt(after.loss, before.loss / 3);
    /* Evaluation leaves the training mode as it was. */
    ck_assert_int_eq(t.graph.training, 1);
    ck_assert_double_gt(nn_trainer_samples_per_sec(&t), 0);
    ck_assert_double_gt(t.train_seconds, 0);
    nn_trainer_free(&t);
    nn_spec_free(&spec);
}
END_TEST

/* ---- determinism ------------------------------------------------------ */

enum { DETERMINISM_STEPS = 40 };

static void run_steps(nn_trainer *t, float *losses, int steps)
{
    nn_step_info info;
    for (int i = 0; i < steps; i++) {
        nn_trainer_step(t, &info);
        losses[i] = info.loss;
    }
}

/* Runs 0 and 1 on one thread, without and with augmentation; runs 2 and
 * 3 the same on two threads, where the helper thread assembles half of
 * each batch and updates half of each large tensor. */
START_TEST(test_same_seed_same_run)
{
    /* Momentum, so optimiser state carries from step to step. */
    nn_spec spec;
    load_preset(&spec, "mlp");
    nn_hparams hp = recipe(NN_MOMENTUM, 0.05f, 64);
    hp.seed = 3;
    hp.augment = _i % 2;
    ck_assert_int_eq(nn_set_threads(1 + _i / 2), 1 + _i / 2);
    nn_trainer a, b, c;
    trainer_init(&a, &spec, &hp);
    trainer_init(&b, &spec, &hp);
    hp.seed = 4;
    trainer_init(&c, &spec, &hp);

    float la[DETERMINISM_STEPS], lb[DETERMINISM_STEPS], lc[DETERMINISM_STEPS];
    run_steps(&a, la, DETERMINISM_STEPS);
    run_steps(&b, lb, DETERMINISM_STEPS);
    run_steps(&c, lc, DETERMINISM_STEPS);
    ck_assert_int_eq(memcmp(la, lb, sizeof la), 0);
    ck_assert_int_eq(memcmp(a.graph.params, b.graph.params, a.graph.n_params * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(a.optim.m, b.optim.m, a.optim.n * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(a.order, b.order, train_set.count * sizeof *a.order), 0);

    /* Another seed: other weights, another order, other losses from the start. */
    ck_assert(la[0] != lc[0]);
    ck_assert_int_ne(memcmp(a.order, c.order, train_set.count * sizeof *a.order), 0);
    int differ = 0;
    for (size_t i = 0; i < a.graph.n_params; i++)
        differ += a.graph.params[i] != c.graph.params[i];
    ck_assert_int_gt(differ, (int)(a.graph.param_count / 2));
    nn_trainer_free(&a);
    nn_trainer_free(&b);
    nn_trainer_free(&c);
    nn_spec_free(&spec);
    nn_set_threads(1);
}
END_TEST

/* ---- bookkeeping ------------------------------------------------------ */

START_TEST(test_epoch_bookkeeping)
{
    /* batch 96 does not divide 8000: 83 full batches and one of 32. */
    nn_spec spec;
    load_preset(&spec, "linear");
    nn_hparams hp = recipe(NN_SGD, 0.1f, 96);
    hp.epochs = 2;
    nn_trainer t;
    trainer_init(&t, &spec, &hp);
    ck_assert_int_eq(t.steps_per_epoch, 84);
    ck_assert_int_eq(8000 % 96, 32);

    size_t *first_order = malloc(train_set.count * sizeof *first_order);
    ck_assert_ptr_nonnull(first_order);
    nn_step_info info;
    for (int epoch = 0; epoch < 2; epoch++) {
        double loss_sum = 0;
        long correct = 0, seen = 0;
        for (long s = 1; s <= 84; s++) {
            ck_assert_int_eq(nn_trainer_done(&t), 0);
            nn_trainer_step(&t, &info);
            ck_assert_int_eq(info.step, epoch * 84 + s);
            ck_assert_int_eq(info.epoch, epoch);
            ck_assert_int_eq(info.batch, s < 84 ? 96 : 32);
            ck_assert_int_eq(info.epoch_done, s == 84);
            ck_assert_float_eq(info.lr, 0.1f);
            loss_sum += (double)info.loss * info.batch;
            correct += lround(info.accuracy * info.batch);
            seen += info.batch;
            if (s == 1 || s == 83) {
                /* The epoch's running means are the batch-weighted means. */
                double mean_loss, accuracy;
                nn_trainer_epoch_stats(&t, &mean_loss, &accuracy);
                ck_assert_double_eq_tol(mean_loss, loss_sum / seen, 1e-6);
                ck_assert_double_eq_tol(accuracy, (double)correct / seen, 1e-9);
            }
        }
        ck_assert_int_eq(seen, 8000);
        ck_assert_int_eq(t.epoch, epoch + 1);
        ck_assert_uint_eq(t.pos, 0);
        /* Each epoch visits every sample once: the order is a permutation. */
        char *visited = calloc(train_set.count, 1);
        ck_assert_ptr_nonnull(visited);
        for (size_t i = 0; i < train_set.count; i++) {
            ck_assert_uint_lt(t.order[i], train_set.count);
            ck_assert_int_eq(visited[t.order[i]]++, 0);
        }
        free(visited);
        if (epoch == 0)
            memcpy(first_order, t.order, train_set.count * sizeof *first_order);
        else /* and is reshuffled for the next */
            ck_assert_int_ne(memcmp(first_order, t.order, train_set.count * sizeof *first_order), 0);
    }
    ck_assert_int_eq(nn_trainer_done(&t), 1);
    ck_assert_int_eq(t.step, 168);
    free(first_order);
    nn_trainer_free(&t);
    nn_spec_free(&spec);
}
END_TEST

START_TEST(test_lr_schedule_and_live_changes)
{
    nn_spec spec;
    load_preset(&spec, "linear");
    nn_hparams hp = recipe(NN_SGD, 0.1f, 200); /* 40 steps per epoch */
    hp.epochs = 2;
    hp.schedule = NN_SCHEDULE_COSINE;
    nn_trainer t;
    trainer_init(&t, &spec, &hp);
    nn_step_info info;
    for (long s = 0; s < 80; s++) {
        nn_trainer_step(&t, &info);
        /* progress is the fraction of the 80 steps done before this one */
        double want = 0.1 * 0.5 * (1 + cos(3.14159265358979323846 * (double)s / 80));
        ck_assert_msg(fabs(info.lr - want) < 1e-6, "step %ld: lr %.9g, expected %.9g", s + 1, (double)info.lr,
                      want);
    }
    nn_trainer_free(&t);

    /* A caller changing t.hp.lr (the dashboard's + and -) takes effect on
     * the next step. */
    hp.schedule = NN_SCHEDULE_CONSTANT;
    trainer_init(&t, &spec, &hp);
    nn_trainer_step(&t, &info);
    ck_assert_float_eq(info.lr, 0.1f);
    t.hp.lr = 0.025f;
    nn_trainer_step(&t, &info);
    ck_assert_float_eq(info.lr, 0.025f);
    nn_trainer_free(&t);
    nn_spec_free(&spec);
}
END_TEST

/* ---- evaluation ------------------------------------------------------- */

START_TEST(test_confusion_matrix)
{
    nn_spec spec;
    load_preset(&spec, "linear");
    nn_hparams hp = recipe(NN_SGD, 0.1f, 128);
    nn_trainer t;
    trainer_init(&t, &spec, &hp);
    nn_step_info info;
    for (int s = 0; s < 30; s++)
        nn_trainer_step(&t, &info);
    nn_eval ev;
    nn_trainer_evaluate(&t, &test_set, &ev);
    ck_assert_int_eq(ev.classes, 10);
    ck_assert_uint_eq(ev.count, 2000);

    long class_count[10] = {0};
    for (size_t i = 0; i < test_set.count; i++)
        class_count[test_set.labels[i]]++;
    long total = 0, trace = 0;
    for (int c = 0; c < 10; c++) {
        long row = 0;
        for (int p = 0; p < 10; p++) {
            ck_assert_int_ge(ev.confusion[c][p], 0);
            row += ev.confusion[c][p];
        }
        ck_assert_msg(row == class_count[c], "row %d sums to %ld, the test set has %ld", c, row, class_count[c]);
        ck_assert_double_eq_tol(ev.class_accuracy[c], (double)ev.confusion[c][c] / row, 1e-12);
        total += row;
        trace += ev.confusion[c][c];
    }
    ck_assert_int_eq(total, 2000);
    ck_assert_double_eq_tol(ev.accuracy, (double)trace / total, 1e-12);
    /* Unused rows and columns stay empty. */
    ck_assert_int_eq(ev.confusion[10][10], 0);
    ck_assert_int_eq(ev.confusion[0][10], 0);

    /* Evaluating twice gives the same numbers and does not train. */
    float *before = malloc(t.graph.n_params * sizeof *before);
    ck_assert_ptr_nonnull(before);
    memcpy(before, t.graph.params, t.graph.n_params * sizeof *before);
    nn_eval again;
    nn_trainer_evaluate(&t, &test_set, &again);
    ck_assert_double_eq(again.loss, ev.loss);
    ck_assert_int_eq(memcmp(again.confusion, ev.confusion, sizeof ev.confusion), 0);
    ck_assert_int_eq(memcmp(before, t.graph.params, t.graph.n_params * sizeof *before), 0);
    free(before);

    /* The mean loss is the per-sample mean however the set is chunked: an
     * evaluation of the training set with batch 128 (chunks of 128, last
     * one 64) matches a trainer with batch 1000 (8 chunks). */
    nn_eval small_chunks, large_chunks;
    nn_trainer_evaluate(&t, &train_set, &small_chunks);
    nn_trainer other;
    hp.batch = 1000;
    trainer_init(&other, &spec, &hp);
    memcpy(other.graph.params, t.graph.params, t.graph.n_params * sizeof(float));
    nn_trainer_evaluate(&other, &train_set, &large_chunks);
    ck_assert_double_eq_tol(small_chunks.loss, large_chunks.loss, 1e-5 * small_chunks.loss);
    ck_assert_double_eq(small_chunks.accuracy, large_chunks.accuracy);
    nn_trainer_free(&other);
    nn_trainer_free(&t);
    nn_spec_free(&spec);
}
END_TEST

/* ---- augmentation ----------------------------------------------------- */

/* The shift (dx, dy) in [-2, 2]^2 that turns `plain` into `shifted`, with
 * zeros shifted in; -99 if there is none. */
static int find_shift(const float *plain, const float *shifted, int rows, int cols, int *dx_out)
{
    for (int dy = -2; dy <= 2; dy++)
        for (int dx = -2; dx <= 2; dx++) {
            int match = 1;
            for (int r = 0; r < rows && match; r++)
                for (int c = 0; c < cols && match; c++) {
                    int sr = r - dy, sc = c - dx;
                    float want = sr >= 0 && sr < rows && sc >= 0 && sc < cols ? plain[sr * cols + sc] : 0.0f;
                    match = shifted[r * cols + c] == want;
                }
            if (match) {
                *dx_out = dx;
                return dy;
            }
        }
    return -99;
}

START_TEST(test_augment)
{
    enum { PIXELS = 784 };
    nn_spec spec;
    load_preset(&spec, "linear");
    nn_hparams hp = recipe(NN_SGD, 0.1f, 64);
    hp.augment = 1;
    nn_trainer a, b;
    trainer_init(&a, &spec, &hp);
    trainer_init(&b, &spec, &hp);
    nn_step_info ia, ib;
    nn_trainer_step(&a, &ia);
    nn_trainer_step(&b, &ib);
    const float *xa = a.graph.nodes[a.graph.input].value, *xb = b.graph.nodes[b.graph.input].value;
    /* Deterministic: the same shifts for the same seed. */
    ck_assert_int_eq(memcmp(xa, xb, (size_t)64 * PIXELS * sizeof(float)), 0);
    ck_assert_float_eq(ia.loss, ib.loss);

    /* Each input is its digit shifted by at most 2 px, most by something. */
    float *plain = malloc((size_t)64 * PIXELS * sizeof *plain);
    ck_assert_ptr_nonnull(plain);
    nn_dataset_batch(&train_set, a.order, 64, plain, NULL, NULL);
    int moved = 0, seen_dx[5] = {0}, seen_dy[5] = {0};
    for (int i = 0; i < 64; i++) {
        int dx = 0, dy = find_shift(plain + i * PIXELS, xa + i * PIXELS, 28, 28, &dx);
        ck_assert_msg(dy != -99, "input %d is not a shift of sample %zu by at most 2 px", i, a.order[i]);
        moved += dx != 0 || dy != 0;
        seen_dx[dx + 2]++;
        seen_dy[dy + 2]++;
    }
    /* 24 of 25 shifts move the digit; all five offsets occur on each axis. */
    ck_assert_int_gt(moved, 48);
    for (int k = 0; k < 5; k++)
        ck_assert_msg(seen_dx[k] > 0 && seen_dy[k] > 0, "offset %d never drawn", k - 2);

    /* Without augmentation the input is the plain batch. */
    nn_trainer c;
    hp.augment = 0;
    trainer_init(&c, &spec, &hp);
    nn_step_info ic;
    nn_trainer_step(&c, &ic);
    ck_assert_int_eq(memcmp(c.order, a.order, train_set.count * sizeof *a.order), 0);
    ck_assert_int_eq(memcmp(c.graph.nodes[c.graph.input].value, plain, (size_t)64 * PIXELS * sizeof(float)), 0);
    ck_assert_float_ne(ic.loss, ia.loss);

    /* Evaluation never augments. */
    nn_eval ea, ec;
    memcpy(c.graph.params, a.graph.params, a.graph.n_params * sizeof(float));
    nn_trainer_evaluate(&a, &test_set, &ea);
    nn_trainer_evaluate(&c, &test_set, &ec);
    ck_assert_double_eq(ea.loss, ec.loss);
    free(plain);
    nn_trainer_free(&a);
    nn_trainer_free(&b);
    nn_trainer_free(&c);
    nn_spec_free(&spec);
}
END_TEST

/* ---- failure ---------------------------------------------------------- */

/* A run that overflows must be flagged at the step it happens rather than
 * train on NaN silently.  With a squared-error loss the gradient grows with
 * the error, so SGD far above the stable rate (here lr 100 against a
 * largest curvature of about 50) grows the weights geometrically and
 * overflows float within a few steps.  (A softmax cross-entropy model does
 * not serve: its gradient is bounded, so even lr 1e4 only drives the loss
 * up to ~1e16, finite.) */
START_TEST(test_divergence_detected)
{
    nn_spec spec;
    ck_assert_int_eq(nn_spec_parse(&spec, "input 1x28x28\ndense 64\nrelu\ndense 10\nmse\n", "diverge.spec", &err),
                     NN_OK);
    nn_hparams hp = recipe(NN_SGD, 100.0f, 64);
    nn_trainer t;
    trainer_init(&t, &spec, &hp);
    nn_step_info info;
    int flagged = 0;
    long s;
    for (s = 1; s <= 300 && !flagged; s++) {
        nn_trainer_step(&t, &info);
        flagged = info.bad_loss || info.bad_tensor >= 0;
    }
    ck_assert_msg(flagged, "no divergence flagged in 300 steps at lr 100");
    ck_assert_int_lt(s, 50);
    if (info.bad_tensor >= 0) {
        ck_assert_int_lt(info.bad_tensor, t.graph.n_param_tensors);
        /* A flagged tensor holds a NaN or infinite value, and it is the first
         * such tensor: an overflowing norm alone does not flag. */
        const nn_node *p = nn_graph_param_node(&t.graph, info.bad_tensor);
        ck_assert_msg(nn_vec_first_nonfinite(p->value, p->size) >= 0, "%s flagged but finite", p->name);
        for (int k = 0; k < info.bad_tensor; k++) {
            const nn_node *q = nn_graph_param_node(&t.graph, k);
            ck_assert(nn_vec_first_nonfinite(q->value, q->size) < 0);
        }
    }
    ck_assert_int_eq(info.bad_loss, !isfinite(info.loss));

    /* The same model at a sane rate trains without a flag. */
    nn_trainer_free(&t);
    hp.lr = 0.01f;
    trainer_init(&t, &spec, &hp);
    for (s = 1; s <= 125; s++) {
        nn_trainer_step(&t, &info);
        ck_assert_int_eq(info.bad_loss, 0);
        ck_assert_int_eq(info.bad_tensor, -1);
    }
    nn_trainer_free(&t);
    nn_spec_free(&spec);
}
END_TEST

START_TEST(test_init_mismatch)
{
    nn_spec spec;
    ck_assert_int_eq(nn_spec_parse(&spec, "input 100\ndense 10\nsoftmax_xent\n", "small.spec", &err), NN_OK);
    nn_trainer t;
    ck_assert_int_eq(nn_trainer_init(&t, &spec, &spec.hp, &train_set, &err), NN_EINPUT);
    ck_assert_str_eq(err.msg, "small.spec: the model takes 100 inputs but the images are 28x28");
    nn_spec_free(&spec);

    ck_assert_int_eq(nn_spec_parse(&spec, "input 1x28x28\ndense 5\nsoftmax_xent\n", "five.spec", &err), NN_OK);
    ck_assert_int_eq(nn_trainer_init(&t, &spec, &spec.hp, &train_set, &err), NN_EINPUT);
    ck_assert_str_eq(err.msg, "five.spec: the model has 5 outputs but the data has 10 classes");
    nn_spec_free(&spec);
}
END_TEST

/* ---- runner ----------------------------------------------------------- */

static Suite *trainer_suite(void)
{
    Suite *suite = suite_create("trainer");
    TCase *tc = tcase_create("mnist-small");
    tcase_add_unchecked_fixture(tc, load_data, free_data);
    tcase_add_test(tc, test_linear_learns);
    tcase_add_loop_test(tc, test_same_seed_same_run, 0, 4);
    tcase_add_test(tc, test_epoch_bookkeeping);
    tcase_add_test(tc, test_lr_schedule_and_live_changes);
    tcase_add_test(tc, test_confusion_matrix);
    tcase_add_test(tc, test_augment);
    tcase_add_test(tc, test_divergence_detected);
    tcase_add_test(tc, test_init_mismatch);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(trainer_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
