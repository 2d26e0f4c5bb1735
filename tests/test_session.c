/* Tests for nn/session.c and nn/monitor.c: the trainer thread obeys its
 * commands at batch boundaries, exactly, and its histories stay bounded.
 *
 * Every comparison with a plain trainer is bit for bit: a session must train
 * exactly as the headless loop does, and a command must change exactly the
 * batches after it. */
#include "monitor.h"
#include "session.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SMALL_SPEC                                                                                       \
    "input 1x28x28\n"                                                                                    \
    "dense 32\n"                                                                                         \
    "relu\n"                                                                                             \
    "dropout 0.1\n"                                                                                      \
    "dense 10\n"                                                                                         \
    "softmax_xent\n"

static nn_dataset train_set, test_set;
static nn_spec spec;

static void load_data(void)
{
    const char *root = getenv("NNLAB_SOURCE_ROOT");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/data/mnist-small", root ? root : ".");
    nn_error err;
    ck_assert_msg(nn_dataset_load_dir(dir, &train_set, &test_set, &err) == NN_OK, "%s", err.msg);
    ck_assert_int_eq(nn_spec_parse(&spec, SMALL_SPEC, "small.spec", &err), NN_OK);
    nn_set_threads(1);
}

static void free_data(void)
{
    nn_dataset_free(&train_set);
    nn_dataset_free(&test_set);
    nn_spec_free(&spec);
}

static nn_hparams base_hp(void)
{
    nn_hparams hp;
    nn_hparams_defaults(&hp);
    hp.optimizer = NN_MOMENTUM;
    hp.lr = 0.05f;
    hp.momentum = 0.9f;
    hp.batch = 32;
    hp.epochs = 2;
    hp.augment = 1;
    hp.seed = 7;
    return hp;
}

static nn_session *new_session(const nn_hparams *hp, int paused)
{
    nn_session_config cfg = {.start_paused = paused, .max_batch = 256};
    nn_session *s;
    nn_error err;
    ck_assert_msg(nn_session_new(&s, &spec, hp, &train_set, &test_set, &cfg, &err) == NN_OK, "%s", err.msg);
    ck_assert_int_eq(nn_session_start(s, &err), NN_OK);
    return s;
}

/* Run a command and wait until the trainer is idle again. */
static void settle(nn_session *s, long seq)
{
    ck_assert_int_gt(seq, 0);
    ck_assert_int_eq(nn_session_wait_idle(s, seq, 30000), 0);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Queue n single steps, waiting whenever the queue is full, and settle. */
static void steps(nn_session *s, int n)
{
    long seq = 0;
    for (int i = 0; i < n; i++) {
        while ((seq = nn_session_step_batch(s)) < 0)
            sleep_ms(1);
    }
    if (n)
        settle(s, seq);
}

static void assert_same_params(const nn_trainer *a, const nn_trainer *b)
{
    ck_assert_uint_eq(a->graph.n_params, b->graph.n_params);
    ck_assert_msg(memcmp(a->graph.params, b->graph.params, a->graph.n_params * sizeof(float)) == 0,
                  "parameters differ");
}

/* Everything that decides the next batches, from src to dst (same model). */
static void copy_training_state(nn_trainer *dst, const nn_trainer *src)
{
    size_t n = src->graph.n_params;
    memcpy(dst->graph.params, src->graph.params, n * sizeof(float));
    memcpy(dst->optim.m, src->optim.m, n * sizeof(float));
    memcpy(dst->optim.v, src->optim.v, n * sizeof(float));
    dst->optim.t = src->optim.t;
    dst->graph.rng = src->graph.rng;
    memcpy(dst->order, src->order, src->train->count * sizeof *dst->order);
    dst->pos = src->pos;
    dst->epoch = src->epoch;
    dst->step = src->step;
    dst->shuffle_rng = src->shuffle_rng;
    dst->augment_rng = src->augment_rng;
    dst->epoch_loss = src->epoch_loss;
    dst->epoch_seen = src->epoch_seen;
    dst->epoch_correct = src->epoch_correct;
}

/* ---- pause and step -------------------------------------------------------- */

START_TEST(pause_then_step_is_one_batch)
{
    nn_hparams hp = base_hp();
    hp.epochs = 1000;
    nn_session *s = new_session(&hp, 0);
    nn_monitor *m = nn_session_monitor(s);
    nn_run_status st;
    do { /* let it run a little */
        sleep_ms(5);
        nn_monitor_status(m, &st);
    } while (st.step < 5);
    settle(s, nn_session_pause(s));
    nn_monitor_status(m, &st);
    ck_assert_int_eq(st.state, NN_STATE_PAUSED);
    long k = nn_session_trainer(s)->step;
    ck_assert_int_eq(st.step, k);
    sleep_ms(100); /* paused means paused */
    nn_monitor_status(m, &st);
    ck_assert_int_eq(st.step, k);

    settle(s, nn_session_step_batch(s));
    nn_monitor_status(m, &st);
    ck_assert_int_eq(nn_session_trainer(s)->step, k + 1);
    ck_assert_int_eq(st.step, k + 1);
    ck_assert_int_eq(st.state, NN_STATE_PAUSED);
    ck_assert_int_eq(st.samples, (k + 1) * hp.batch);

    /* three presses, three batches */
    nn_session_step_batch(s);
    nn_session_step_batch(s);
    settle(s, nn_session_step_batch(s));
    ck_assert_int_eq(nn_session_trainer(s)->step, k + 4);

    /* a whole epoch from mid-epoch ends exactly at the epoch boundary */
    settle(s, nn_session_step_epoch(s));
    const nn_trainer *t = nn_session_trainer(s);
    ck_assert_int_eq(t->pos, 0);
    ck_assert_int_eq(t->epoch, 1);
    ck_assert_int_eq(t->step, (long)(train_set.count + (size_t)hp.batch - 1) / hp.batch);
    nn_monitor_status(m, &st);
    ck_assert_int_eq(st.epoch, 1);
    ck_assert_int_eq(st.state, NN_STATE_PAUSED);
    nn_eval ev;
    ck_assert_int_gt(nn_monitor_eval(m, &ev), 0);
    long total = 0;
    for (int r = 0; r < 10; r++)
        for (int c = 0; c < 10; c++)
            total += ev.confusion[r][c];
    ck_assert_int_eq(total, (long)test_set.count);
    nn_session_free(s);
}
END_TEST

START_TEST(session_trains_like_the_plain_loop)
{
    nn_hparams hp = base_hp();
    nn_session *s = new_session(&hp, 1);
    for (int i = 0; i < 9; i++)
        nn_session_step_batch(s);
    settle(s, nn_session_step_batch(s));
    nn_trainer ref;
    nn_error err;
    ck_assert_int_eq(nn_trainer_init(&ref, &spec, &hp, &train_set, &err), NN_OK);
    nn_step_info info;
    for (int i = 0; i < 10; i++)
        nn_trainer_step(&ref, &info);
    assert_same_params(nn_session_trainer(s), &ref);
    nn_run_status st;
    nn_monitor_status(nn_session_monitor(s), &st);
    ck_assert_float_eq(st.loss, info.loss);
    nn_trainer_free(&ref);
    nn_session_free(s);
}
END_TEST

/* ---- live hyperparameters ---------------------------------------------------- */

START_TEST(lr_change_applies_to_the_next_batch)
{
    nn_hparams hp = base_hp();
    nn_session *s = new_session(&hp, 1);
    nn_monitor *m = nn_session_monitor(s);
    for (int i = 0; i < 2; i++)
        nn_session_step_batch(s);
    settle(s, nn_session_step_batch(s));
    nn_run_status st;
    nn_monitor_status(m, &st);
    ck_assert_float_eq(st.lr_now, 0.05f);
    settle(s, nn_session_set(s, "lr", "0.0125"));
    nn_monitor_status(m, &st);
    ck_assert_float_eq(st.hp.lr, 0.0125f);
    settle(s, nn_session_step_batch(s));
    nn_monitor_status(m, &st);
    ck_assert_float_eq(st.lr_now, 0.0125f);

    nn_trainer ref;
    nn_error err;
    ck_assert_int_eq(nn_trainer_init(&ref, &spec, &hp, &train_set, &err), NN_OK);
    nn_step_info info;
    for (int i = 0; i < 3; i++)
        nn_trainer_step(&ref, &info);
    ref.hp.lr = 0.0125f;
    nn_trainer_step(&ref, &info);
    assert_same_params(nn_session_trainer(s), &ref);

    /* the change is logged and marked at the step it followed */
    nn_mark mk[4];
    ck_assert_int_eq(nn_monitor_marks(m, mk, 4), 1);
    ck_assert_int_eq(mk[0].step, 3);
    ck_assert_str_eq(mk[0].key, "lr");
    ck_assert_double_eq_tol(mk[0].from, 0.05, 1e-7);
    ck_assert_double_eq_tol(mk[0].to, 0.0125, 1e-7);
    nn_event ev[NN_MONITOR_EVENTS];
    int n = nn_monitor_events(m, 0, ev, NN_MONITOR_EVENTS);
    int found = 0;
    for (int i = 0; i < n; i++)
        found |= ev[i].kind == NN_EVENT_HPARAM && ev[i].step == 3 && strstr(ev[i].text, "lr 0.05 -> 0.0125");
    ck_assert_msg(found, "no event for the lr change");

    /* bad values are refused with the validator's message */
    settle(s, nn_session_set(s, "lr", "-1"));
    settle(s, nn_session_set(s, "batch", "1000"));
    settle(s, nn_session_set(s, "optimizer", "sgd"));
    nn_monitor_status(m, &st);
    ck_assert_float_eq(st.hp.lr, 0.0125f);
    n = nn_monitor_events(m, 0, ev, NN_MONITOR_EVENTS);
    ck_assert_int_eq(ev[n - 3].kind, NN_EVENT_ERROR);
    ck_assert_ptr_nonnull(strstr(ev[n - 3].text, "lr: -1 is out of range"));
    ck_assert_ptr_nonnull(strstr(ev[n - 2].text, "above 256"));
    ck_assert_ptr_nonnull(strstr(ev[n - 1].text, "optimizer cannot change"));
    nn_trainer_free(&ref);
    nn_session_free(s);
}
END_TEST

typedef struct lr_log {
    long n;
    float lr[100000];
} lr_log;

static void record_lr(void *ctx, const nn_step_info *info)
{
    lr_log *log = ctx;
    if (info->step <= 100000)
        log->lr[info->step - 1] = info->lr;
    log->n = info->step;
}

START_TEST(lr_change_while_running_splits_at_a_batch)
{
    nn_hparams hp = base_hp();
    hp.epochs = 1000;
    static lr_log log;
    nn_session_config cfg = {.on_step = record_lr, .ctx = &log};
    nn_session *s;
    nn_error err;
    ck_assert_int_eq(nn_session_new(&s, &spec, &hp, &train_set, &test_set, &cfg, &err), NN_OK);
    ck_assert_int_eq(nn_session_start(s, &err), NN_OK);
    nn_run_status st;
    do {
        sleep_ms(2);
        nn_monitor_status(nn_session_monitor(s), &st);
    } while (st.step < 20);
    ck_assert_int_eq(nn_session_wait_applied(s, nn_session_set(s, "lr", "0.02"), 30000), 0);
    sleep_ms(20);
    settle(s, nn_session_pause(s));
    nn_mark mk;
    ck_assert_int_eq(nn_monitor_marks(nn_session_monitor(s), &mk, 1), 1);
    ck_assert_int_lt(mk.step, log.n);
    for (long i = 0; i < log.n && i < 100000; i++)
        ck_assert_float_eq(log.lr[i], i < mk.step ? 0.05f : 0.02f);
    nn_session_free(s);
}
END_TEST

START_TEST(batch_momentum_decay_change_matches_a_run_started_with_them)
{
    nn_hparams hp0 = base_hp();
    nn_hparams hp1 = hp0;
    hp1.batch = 100;
    hp1.momentum = 0.5f;
    hp1.weight_decay = 1e-3f;
    const int k = 7, more = 6;

    nn_session *s = new_session(&hp0, 1);
    for (int i = 0; i < k; i++)
        nn_session_step_batch(s);
    nn_session_set(s, "batch", "100");
    nn_session_set(s, "momentum", "0.5");
    settle(s, nn_session_set(s, "weight_decay", "0.001"));
    nn_run_status st;
    nn_monitor_status(nn_session_monitor(s), &st);
    ck_assert_int_eq(st.step, k);
    ck_assert_int_eq(st.samples, (long)k * hp0.batch);
    settle(s, nn_session_step_batch(s));
    nn_monitor_status(nn_session_monitor(s), &st);
    ck_assert_int_eq(st.samples, (long)k * hp0.batch + hp1.batch); /* the very next batch is larger */
    steps(s, more - 1);

    /* The reference: k steps with hp0, then a trainer built with hp1 from
     * the start takes over that state and trains on. */
    nn_trainer before, after;
    nn_error err;
    ck_assert_int_eq(nn_trainer_init(&before, &spec, &hp0, &train_set, &err), NN_OK);
    nn_step_info info;
    for (int i = 0; i < k; i++)
        nn_trainer_step(&before, &info);
    ck_assert_int_eq(nn_trainer_init(&after, &spec, &hp1, &train_set, &err), NN_OK);
    copy_training_state(&after, &before);
    float losses[16];
    for (int i = 0; i < more; i++) {
        nn_trainer_step(&after, &info);
        losses[i] = info.loss;
        ck_assert_int_eq(info.batch, 100);
    }
    assert_same_params(nn_session_trainer(s), &after);
    float x[16], y[16];
    int n = nn_monitor_series(nn_session_monitor(s), NN_SERIES_LOSS, 0, x, y, 16);
    ck_assert_int_eq(n, k + more);
    for (int i = 0; i < more; i++) {
        ck_assert_float_eq(x[k + i], (float)(k + i + 1));
        ck_assert_float_eq(y[k + i], losses[i]);
    }
    /* the same momentum buffer, not a fresh one */
    ck_assert(memcmp(nn_session_trainer(s)->optim.m, after.optim.m, after.graph.n_params * sizeof(float)) == 0);
    nn_trainer_free(&before);
    nn_trainer_free(&after);
    nn_session_free(s);
}
END_TEST

START_TEST(dropout_changes_live)
{
    nn_hparams hp = base_hp();
    nn_session *s = new_session(&hp, 1);
    settle(s, nn_session_set(s, "dropout", "0.5"));
    const nn_trainer *t = nn_session_trainer(s);
    int seen = 0;
    for (int i = 0; i < t->graph.n_nodes; i++)
        if (t->graph.nodes[i].op == NN_OP_DROPOUT) {
            ck_assert_float_eq(t->graph.nodes[i].fparam, 0.5f);
            seen++;
        }
    ck_assert_int_eq(seen, 1);
    nn_run_status st;
    nn_monitor_status(nn_session_monitor(s), &st);
    ck_assert_float_eq(st.dropout, 0.5f);
    nn_session_free(s);
}
END_TEST

/* ---- reset, divergence ------------------------------------------------------- */

START_TEST(reset_reproduces_the_initial_weights)
{
    nn_hparams hp = base_hp();
    nn_session *s = new_session(&hp, 1);
    nn_trainer fresh;
    nn_error err;
    ck_assert_int_eq(nn_trainer_init(&fresh, &spec, &hp, &train_set, &err), NN_OK);
    assert_same_params(nn_session_trainer(s), &fresh);

    settle(s, nn_session_step_epoch(s));
    steps(s, 31);
    ck_assert(memcmp(nn_session_trainer(s)->graph.params, fresh.graph.params, fresh.graph.n_params * 4) != 0);
    settle(s, nn_session_reset(s));
    assert_same_params(nn_session_trainer(s), &fresh);
    const nn_trainer *t = nn_session_trainer(s);
    ck_assert_int_eq(t->step, 0);
    ck_assert_int_eq(t->epoch, 0);
    ck_assert_int_eq(t->optim.t, 0);

    /* and trains on exactly as a fresh trainer, across an epoch boundary */
    steps(s, 301);
    nn_step_info info;
    for (int i = 0; i < 301; i++)
        nn_trainer_step(&fresh, &info);
    assert_same_params(nn_session_trainer(s), &fresh);

    /* the previous run's curves are kept */
    nn_run_status st;
    nn_monitor_status(nn_session_monitor(s), &st);
    ck_assert_int_eq(st.run, 2);
    ck_assert_int_eq(st.prev_runs, 1);
    ck_assert_int_eq(st.step, 301);
    float x[NN_MONITOR_POINTS], y[NN_MONITOR_POINTS];
    int n = nn_monitor_series(nn_session_monitor(s), NN_SERIES_PREV_LOSS_SMOOTH, 0, x, y, NN_MONITOR_POINTS);
    ck_assert_int_eq(n, 250 + 31);
    ck_assert_float_eq(x[n - 1], 281.0f);
    nn_trainer_free(&fresh);
    nn_session_free(s);
}
END_TEST

START_TEST(reset_after_an_lr_change_equals_a_fresh_start_with_it)
{
    nn_hparams hp = base_hp();
    nn_session *s = new_session(&hp, 1);
    for (int i = 0; i < 20; i++)
        nn_session_step_batch(s);
    nn_session_set(s, "lr", "0.2");
    nn_session_reset(s);
    for (int i = 0; i < 4; i++)
        nn_session_step_batch(s);
    settle(s, nn_session_step_batch(s));
    hp.lr = 0.2f;
    nn_trainer fresh;
    nn_error err;
    ck_assert_int_eq(nn_trainer_init(&fresh, &spec, &hp, &train_set, &err), NN_OK);
    nn_step_info info;
    for (int i = 0; i < 5; i++)
        nn_trainer_step(&fresh, &info);
    assert_same_params(nn_session_trainer(s), &fresh);
    nn_trainer_free(&fresh);
    nn_session_free(s);
}
END_TEST

START_TEST(divergence_pauses_names_the_tensor_and_restores)
{
    /* A linear model with a squared error blows up geometrically when the
     * learning rate is far too large. */
    nn_spec linear;
    nn_error err;
    ck_assert_int_eq(nn_spec_parse(&linear, "input 1x28x28\ndense 10\nmse\n", "linear.spec", &err), NN_OK);
    nn_hparams hp = base_hp();
    hp.optimizer = NN_SGD;
    hp.lr = 0.01f;
    hp.epochs = 100;
    hp.augment = 0;
    nn_session_config cfg = {.start_paused = 1, .good_every = 20};
    nn_session *s;
    ck_assert_int_eq(nn_session_new(&s, &linear, &hp, &train_set, &test_set, &cfg, &err), NN_OK);
    ck_assert_int_eq(nn_session_start(s, &err), NN_OK);
    nn_monitor *m = nn_session_monitor(s);
    steps(s, 30);
    settle(s, nn_session_set(s, "lr", "10"));
    settle(s, nn_session_resume(s));
    nn_run_status st;
    nn_monitor_status(m, &st);
    ck_assert_int_eq(st.state, NN_STATE_DIVERGED);
    ck_assert_int_gt(st.diverged_step, 30);
    ck_assert_int_eq(st.step, st.diverged_step);
    ck_assert_msg(!strcmp(st.bad_name, "loss") || !strcmp(st.bad_name, "dense1.weight") ||
                      !strcmp(st.bad_name, "dense1.bias"), "bad name '%s'", st.bad_name);
    ck_assert_int_eq(st.good_step % 20, 0);
    ck_assert_int_lt(st.good_step, st.diverged_step);
    nn_event ev;
    ck_assert_int_eq(nn_monitor_events(m, st.event_seq - 1, &ev, 1), 1);
    ck_assert_int_eq(ev.kind, NN_EVENT_WARN);
    ck_assert_ptr_nonnull(strstr(ev.text, st.bad_name));
    ck_assert_ptr_nonnull(strstr(ev.text, "NaN/Inf"));

    /* restore puts back the weights of good_step, all finite */
    settle(s, nn_session_restore(s));
    nn_monitor_status(m, &st);
    ck_assert_int_eq(st.state, NN_STATE_PAUSED);
    const nn_trainer *t = nn_session_trainer(s);
    for (size_t i = 0; i < t->graph.n_params; i++)
        ck_assert(isfinite(t->graph.params[i]));
    nn_trainer ref;
    ck_assert_int_eq(nn_trainer_init(&ref, &linear, &hp, &train_set, &err), NN_OK);
    nn_step_info info;
    for (long i = 0; i < st.good_step; i++) {
        if (i == 30)
            ref.hp.lr = 10.0f;
        nn_trainer_step(&ref, &info);
    }
    assert_same_params(t, &ref);
    nn_trainer_free(&ref);
    nn_session_free(s);
    nn_spec_free(&linear);
}
END_TEST

/* What lessons use: init and seed take effect at the reset (zero
 * initialisation leaves every hidden unit identical), a loss above
 * max_loss counts as diverged, a prune keeps its zeros through further
 * training until the next reset, measure evaluates both sets, an untrained
 * run leaves no curve behind, and another session's curves can be adopted. */
START_TEST(lesson_commands)
{
    nn_hparams hp = base_hp();
    hp.augment = 0;
    nn_session *s = new_session(&hp, 1);
    nn_monitor *m = nn_session_monitor(s);
    nn_run_status st;

    settle(s, nn_session_set(s, "init", "zero"));
    settle(s, nn_session_reset(s));
    nn_monitor_status(m, &st);
    ck_assert_int_eq(st.prev_runs, 0); /* run 1 never trained */
    ck_assert_int_eq(st.run, 2);
    settle(s, nn_session_step_batches(s, 20));
    nn_monitor_status(m, &st);
    ck_assert_int_eq(st.step, 20);
    const nn_graph *g = &nn_session_trainer(s)->graph;
    const nn_node *w = &g->nodes[g->param_nodes[0]];
    size_t cols = w->size / (size_t)w->dim[0];
    for (int unit = 1; unit < w->dim[0]; unit++)
        ck_assert_int_eq(memcmp(w->value, w->value + (size_t)unit * cols, cols * sizeof(float)), 0);

    settle(s, nn_session_set(s, "init", "he"));
    settle(s, nn_session_reset(s));
    nn_monitor_status(m, &st);
    ck_assert_int_eq(st.prev_runs, 1); /* the zero run stays on the chart */
    ck_assert_int_ne(memcmp(w->value, w->value + cols, cols * sizeof(float)), 0);
    settle(s, nn_session_step_batches(s, 60));
    settle(s, nn_session_measure(s));
    nn_monitor_status(m, &st);
    ck_assert_str_eq(st.probe.what, "measure");
    ck_assert_double_gt(st.probe.train_accuracy, 0.5);
    ck_assert_double_gt(st.probe.test_accuracy, 0.5);

    settle(s, nn_session_prune(s, 0.75));
    nn_monitor_status(m, &st);
    ck_assert_str_eq(st.probe.what, "prune");
    ck_assert_double_ge(st.probe.sparsity, 0.749);
    ck_assert_double_gt(st.probe.bytes_before / st.probe.bytes, 2.5);
    settle(s, nn_session_step_batches(s, 10));
    settle(s, nn_session_measure(s));
    nn_monitor_status(m, &st);
    ck_assert_double_ge(st.probe.sparsity, 0.749); /* fine-tuning kept the zeros */
    settle(s, nn_session_quantize(s));
    nn_monitor_status(m, &st);
    ck_assert_str_eq(st.probe.what, "quantize");
    ck_assert_double_lt(fabs(st.probe.accuracy - st.probe.accuracy_before), 0.03);

    settle(s, nn_session_set(s, "max_loss", "0.01"));
    settle(s, nn_session_step_batch(s));
    nn_monitor_status(m, &st);
    ck_assert_int_eq(st.state, NN_STATE_DIVERGED);
    ck_assert(isfinite(st.diverged_loss) && st.diverged_loss > 0.01f);
    ck_assert_str_eq(st.bad_name, "loss");

    /* a second model's chart starts with the first model's curves */
    nn_session *t = new_session(&hp, 1);
    nn_session_stop(s);
    nn_session_adopt_runs(t, s);
    nn_run_status tst;
    nn_monitor_status(nn_session_monitor(t), &tst);
    ck_assert_int_eq(tst.prev_runs, 2);
    float x[NN_MONITOR_POINTS], y[NN_MONITOR_POINTS];
    ck_assert_int_gt(nn_monitor_series(nn_session_monitor(t), NN_SERIES_PREV_LOSS_SMOOTH, 0, x, y, NN_MONITOR_POINTS), 0);
    nn_session_free(t);
    nn_session_free(s);
}
END_TEST

START_TEST(speed_limit_slows_training)
{
    nn_hparams hp = base_hp();
    hp.epochs = 1000;
    nn_session *s = new_session(&hp, 1);
    settle(s, nn_session_set_speed(s, 20));
    nn_session_resume(s);
    sleep_ms(500);
    settle(s, nn_session_pause(s));
    nn_run_status st;
    nn_monitor_status(nn_session_monitor(s), &st);
    ck_assert_int_eq(st.speed_limit, 20);
    ck_assert_int_ge(st.step, 5);
    ck_assert_int_le(st.step, 13);
    nn_session_free(s);
}
END_TEST

START_TEST(weight_snapshots_follow_training)
{
    nn_hparams hp = base_hp();
    nn_session *s = new_session(&hp, 1);
    nn_monitor *m = nn_session_monitor(s);
    size_t n = nn_session_param_floats(s);
    float *w = malloc(n * sizeof *w);
    long version = 0;
    ck_assert_int_eq(nn_monitor_weights(m, w, &version), 1);
    ck_assert_int_eq(nn_monitor_weights(m, w, &version), 0);
    ck_assert(memcmp(w, nn_session_trainer(s)->graph.params, n * sizeof *w) == 0);
    settle(s, nn_session_step_batch(s));
    sleep_ms(60);
    settle(s, nn_session_step_batch(s));
    ck_assert_int_eq(nn_monitor_weights(m, w, &version), 1);
    ck_assert(memcmp(w, nn_session_trainer(s)->graph.params, n * sizeof *w) == 0);
    free(w);
    nn_session_free(s);
}
END_TEST

/* ---- bounded histories ---------------------------------------------------------- */

START_TEST(series_stays_bounded_over_a_million_points)
{
    nn_series sr;
    nn_error err;
    ck_assert_int_eq(nn_series_init(&sr, 4096, &err), NN_OK);
    for (long i = 0; i < 1000000; i++)
        nn_series_push(&sr, (float)i, (float)(2 * i));
    ck_assert_int_eq(sr.cap, 4096);
    ck_assert_int_le(sr.n, 4096);
    ck_assert_int_ge(sr.n, 2048);
    ck_assert_int_eq(sr.stride, 256); /* 1e6 / 4096 rounded up to a power of two */
    ck_assert_float_eq(sr.x[0], 0.0f);
    for (int i = 1; i < sr.n; i++) {
        ck_assert_float_eq(sr.x[i] - sr.x[i - 1], (float)sr.stride);
        ck_assert_float_eq(sr.y[i], 2 * sr.x[i]);
    }
    ck_assert_float_ge(sr.x[sr.n - 1], 1000000.0f - (float)sr.stride);
    nn_series_free(&sr);
}
END_TEST

START_TEST(monitor_stays_bounded_over_a_million_steps)
{
    nn_monitor m;
    nn_error err;
    ck_assert_int_eq(nn_monitor_init(&m, 4, 100, &err), NN_OK);
    nn_param_stats stats[4] = {{1, 2, 3}, {1, 2, 3}, {1, 2, 3}, {1, 2, 3}};
    nn_step_info info = {.batch = 64};
    for (long i = 1; i <= 1000000; i++) {
        info.step = i;
        info.loss = 1.0f / (float)i;
        info.accuracy = 0.5f;
        nn_monitor_publish_step(&m, &info, stats, (double)i * 1e-3);
        if (i % 1000 == 0)
            nn_monitor_event(&m, i, NN_EVENT_INFO, "event %ld", i);
    }
    nn_monitor_flush(&m);
    nn_run_status st;
    nn_monitor_status(&m, &st);
    ck_assert_int_eq(st.step, 1000000);
    ck_assert_int_eq(st.samples, 64000000L);
    for (int i = 0; i < NN_SERIES_RUN_COUNT; i++)
        ck_assert_int_le(m.run[i].n, NN_MONITOR_POINTS);
    for (int i = 0; i < 12; i++)
        ck_assert_int_le(m.tensor[i].n, NN_MONITOR_TENSOR_POINTS);
    static float x[NN_MONITOR_POINTS], y[NN_MONITOR_POINTS];
    int n = nn_monitor_series(&m, NN_SERIES_LOSS, 0, x, y, NN_MONITOR_POINTS);
    ck_assert_int_le(n, NN_MONITOR_POINTS);
    ck_assert_float_eq(x[0], 1.0f); /* the whole run stays visible */
    ck_assert_float_ge(x[n - 1], 1000000.0f - 256.0f);
    nn_event ev[NN_MONITOR_EVENTS + 10];
    ck_assert_int_eq(nn_monitor_events(&m, 0, ev, NN_MONITOR_EVENTS + 10), NN_MONITOR_EVENTS);
    ck_assert_str_eq(ev[NN_MONITOR_EVENTS - 1].text, "event 1000000");
    /* throughput: 64 samples per millisecond */
    ck_assert_double_eq_tol(st.samples_per_sec, 64000.0, 1.0);
    nn_monitor_free(&m);
}
END_TEST

START_TEST(smoothing_is_debiased)
{
    nn_monitor m;
    nn_error err;
    ck_assert_int_eq(nn_monitor_init(&m, 1, 1, &err), NN_OK);
    nn_param_stats stats = {0, 0, 0};
    nn_step_info info = {.batch = 1, .loss = 2.0f, .accuracy = 0.25f};
    for (long i = 1; i <= 3; i++) {
        info.step = i;
        nn_monitor_publish_step(&m, &info, &stats, 0);
    }
    nn_run_status st;
    nn_monitor_status(&m, &st);
    /* a constant series smooths to itself from the first point on */
    ck_assert_float_eq_tol(st.loss_smooth, 2.0f, 1e-6f);
    ck_assert_float_eq_tol(st.accuracy_smooth, 0.25f, 1e-6f);
    nn_monitor_free(&m);
}
END_TEST

static Suite *session_suite(void)
{
    Suite *s = suite_create("session");
    TCase *c = tcase_create("commands");
    tcase_add_unchecked_fixture(c, load_data, free_data);
    tcase_set_timeout(c, 300);
    tcase_add_test(c, pause_then_step_is_one_batch);
    tcase_add_test(c, session_trains_like_the_plain_loop);
    tcase_add_test(c, lr_change_applies_to_the_next_batch);
    tcase_add_test(c, lr_change_while_running_splits_at_a_batch);
    tcase_add_test(c, batch_momentum_decay_change_matches_a_run_started_with_them);
    tcase_add_test(c, dropout_changes_live);
    tcase_add_test(c, reset_reproduces_the_initial_weights);
    tcase_add_test(c, reset_after_an_lr_change_equals_a_fresh_start_with_it);
    tcase_add_test(c, divergence_pauses_names_the_tensor_and_restores);
    tcase_add_test(c, speed_limit_slows_training);
    tcase_add_test(c, weight_snapshots_follow_training);
    tcase_add_test(c, lesson_commands);
    suite_add_tcase(s, c);
    TCase *b = tcase_create("monitor");
    tcase_set_timeout(b, 300);
    tcase_add_test(b, series_stays_bounded_over_a_million_points);
    tcase_add_test(b, monitor_stays_bounded_over_a_million_steps);
    tcase_add_test(b, smoothing_is_debiased);
    suite_add_tcase(s, b);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(session_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
