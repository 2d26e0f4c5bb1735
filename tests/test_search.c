/* Tests for nn/search.c and nn/search_run.c: parsing spaces and the errors
 * that name the bad token, grid expansion order, the distribution and
 * reproducibility of random trials, the successive-halving plan, that
 * halving keeps the top fraction, and that a trial's figures are exactly
 * those of a plain trainer with the same options. */
#include "data.h"
#include "search.h"
#include "spec.h"
#include "trainer.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static nn_error err;

/* ---- parsing ----------------------------------------------------------- */

START_TEST(test_grid_expansion)
{
    nn_search_space space;
    ck_assert_int_eq(nn_search_parse(&space, "  lr=0.01,0.03,0.1\tbatch=32,64 ", &err), NN_OK);
    ck_assert_int_eq(space.n_params, 2);
    ck_assert_int_eq(space.has_ranges, 0);
    int n;
    ck_assert_int_eq(nn_search_grid_size(&space, &n, &err), NN_OK);
    ck_assert_int_eq(n, 6);
    const char *want[6][2] = {{"0.01", "32"}, {"0.01", "64"}, {"0.03", "32"},
                              {"0.03", "64"}, {"0.1", "32"},  {"0.1", "64"}};
    for (int i = 0; i < n; i++) {
        nn_trial_config c;
        nn_search_grid_point(&space, i, &c);
        ck_assert_int_eq(c.n, 2);
        ck_assert_str_eq(c.key[0], "lr");
        ck_assert_str_eq(c.key[1], "batch");
        ck_assert_str_eq(c.value[0], want[i][0]);
        ck_assert_str_eq(c.value[1], want[i][1]);
        nn_hparams hp;
        nn_hparams_defaults(&hp);
        ck_assert_int_eq(nn_trial_config_apply(&c, &hp, &err), NN_OK);
        ck_assert_float_eq(hp.lr, strtof(want[i][0], NULL));
        ck_assert_int_eq(hp.batch, atoi(want[i][1]));
    }
    nn_trial_config c;
    nn_search_grid_point(&space, 3, &c);
    char buf[128];
    ck_assert_str_eq(nn_trial_config_format(&c, buf, sizeof buf), "lr=0.03 batch=64");
    ck_assert_str_eq(nn_trial_config_get(&c, "batch"), "64");
    ck_assert_ptr_null(nn_trial_config_get(&c, "momentum"));
}
END_TEST

START_TEST(test_every_training_option_parses)
{
    nn_search_space space;
    ck_assert_int_eq(nn_search_parse(&space,
                                     "weight-decay=0,1e-4 optimizer=sgd,adam schedule=constant,cosine "
                                     "init=he,xavier augment=0,1 nesterov=0,1 dropout=0,0.2 model=mlp,linear",
                                     &err),
                     NN_OK);
    ck_assert_str_eq(space.params[0].key, "weight_decay");
    int n;
    ck_assert_int_eq(nn_search_grid_size(&space, &n, &err), NN_OK);
    ck_assert_int_eq(n, 256);
    nn_trial_config c;
    nn_search_grid_point(&space, 255, &c);
    nn_hparams hp;
    nn_hparams_defaults(&hp);
    ck_assert_int_eq(nn_trial_config_apply(&c, &hp, &err), NN_OK);
    ck_assert_int_eq(hp.optimizer, NN_ADAM);
    ck_assert_int_eq(hp.schedule, NN_SCHEDULE_COSINE);
    ck_assert_int_eq(hp.augment, 1);
    ck_assert_float_eq(hp.dropout, 0.2f);
    ck_assert_str_eq(nn_trial_config_get(&c, "model"), "linear");
}
END_TEST

/* Each bad space is rejected with a message quoting the token at fault. */
START_TEST(test_bad_spaces)
{
    static const struct {
        const char *text;
        const char *message;
    } cases[] = {
        {"", "empty search space"},
        {"   ", "empty search space"},
        {"lr", "'lr': expected key=values"},
        {"=0.1", "'=0.1': expected key=values"},
        {"lr=", "'lr=': no values"},
        {"lr=abc", "'lr=abc': lr: 'abc' is not a number"},
        {"lr=0.1,,0.2", "'lr=0.1,,0.2': empty value"},
        {"lr=0.1,", "'lr=0.1,': empty value"},
        {"frobs=1,2", "'frobs=1,2': unknown hyperparameter 'frobs'"},
        {"epochs=0,1", "'epochs=0,1': epochs: 0 is out of range"},
        {"optimizer=sgd,lbfgs", "unknown value 'lbfgs'"},
        {"lr=0.1 lr=0.2", "'lr=0.2': lr is given twice"},
        {"lr=0.1..0.1", "'lr=0.1..0.1': empty range"},
        {"lr=0.1..0.01", "empty range"},
        {"lr=..0.1", "a range needs two numbers"},
        {"lr=0.1..x", "'x' is not a number"},
        {"lr=0..0.1:log", "a :log range must be above 0"},
        {"lr=1e-4..1e-1:lin", "unknown range suffix ':lin'"},
        {"batch=1.5..8", "batch takes whole numbers"},
        {"dropout=0..1.5", "dropout"},
        {"optimizer=sgd..adam", "optimizer takes names"},
        {"model=mlp..lenet", "model takes names"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        nn_search_space space;
        memset(&err, 0, sizeof err);
        ck_assert_msg(nn_search_parse(&space, cases[i].text, &err) == NN_EINPUT, "'%s' was accepted", cases[i].text);
        ck_assert_int_eq(err.code, NN_EINPUT);
        ck_assert_msg(strstr(err.msg, cases[i].message), "'%s': message '%s' lacks '%s'", cases[i].text, err.msg,
                      cases[i].message);
    }
    /* A range is fine for random search but not for a grid. */
    nn_search_space space;
    ck_assert_int_eq(nn_search_parse(&space, "lr=1e-4..1e-1:log batch=32,64", &err), NN_OK);
    ck_assert_int_eq(space.has_ranges, 1);
    int n;
    ck_assert_int_eq(nn_search_grid_size(&space, &n, &err), NN_EINPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "ranges need --random"));
    /* dropout=0..1 draws rates below 1, which training accepts. */
    ck_assert_int_eq(nn_search_parse(&space, "dropout=0..1", &err), NN_OK);
    /* A grid too big to run. */
    ck_assert_int_eq(nn_search_parse(&space, "seed=1,2,3,4,5,6,7,8,9 batch=1,2,3,4,5,6,7,8 epochs=1,2,3,4,5,6,7,8 "
                                             "lr_step=1,2,3,4,5,6,7,8",
                                     &err),
                     NN_OK);
    ck_assert_int_eq(nn_search_grid_size(&space, &n, &err), NN_EINPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "more than 4096 points"));
}
END_TEST

/* ---- random trials ----------------------------------------------------- */

START_TEST(test_log_uniform_sampling)
{
    nn_search_space space;
    ck_assert_int_eq(nn_search_parse(&space, "lr=1e-4..1e-1:log dropout=0..0.5 batch=16..128 optimizer=sgd,adam",
                                     &err),
                     NN_OK);
    enum { N = 3000 };
    int decade[3] = {0, 0, 0}, adam = 0, batch_lo = 0, batch_hi = 0;
    double dropout_sum = 0;
    for (int i = 0; i < N; i++) {
        nn_trial_config c;
        nn_search_random_point(&space, 7, i, &c);
        double lr = strtod(c.value[0], NULL), dropout = strtod(c.value[1], NULL);
        char *end;
        long batch = strtol(c.value[2], &end, 10);
        ck_assert_msg(lr >= 1e-4 && lr < 1e-1, "lr %s", c.value[0]);
        ck_assert_msg(dropout >= 0 && dropout < 0.5, "dropout %s", c.value[1]);
        ck_assert_msg(*end == '\0' && batch >= 16 && batch <= 128, "batch %s", c.value[2]);
        decade[lr < 1e-3 ? 0 : lr < 1e-2 ? 1 : 2]++;
        dropout_sum += dropout;
        adam += !strcmp(c.value[3], "adam");
        batch_lo += batch == 16;
        batch_hi += batch == 128;
        /* Every drawn value is one training accepts. */
        nn_hparams hp;
        nn_hparams_defaults(&hp);
        ck_assert_int_eq(nn_trial_config_apply(&c, &hp, &err), NN_OK);
    }
    /* Log-uniform: each decade gets a third (binomial sd ~ 26 of 1000). */
    for (int d = 0; d < 3; d++)
        ck_assert_msg(abs(decade[d] - N / 3) < 120, "decade %d got %d of %d", d, decade[d], N);
    ck_assert_double_lt(fabs(dropout_sum / N - 0.25), 0.01);
    ck_assert_int_lt(abs(adam - N / 2), 150);
    ck_assert_int_gt(batch_lo, 0); /* both ends of an integer range are drawn */
    ck_assert_int_gt(batch_hi, 0);
}
END_TEST

START_TEST(test_random_reproducible)
{
    nn_search_space space;
    ck_assert_int_eq(nn_search_parse(&space, "lr=1e-4..1e-1:log momentum=0.5..0.99", &err), NN_OK);
    nn_trial_config a, b, c;
    int differ = 0;
    for (int i = 0; i < 20; i++) {
        nn_search_random_point(&space, 42, i, &a);
        nn_search_random_point(&space, 42, i, &b);
        nn_search_random_point(&space, 43, i, &c);
        ck_assert_mem_eq(&a, &b, sizeof a);
        differ += strcmp(a.value[0], c.value[0]) != 0;
    }
    ck_assert_int_ge(differ, 19);
    /* 4 significant digits, as the trial prints them. */
    nn_search_random_point(&space, 42, 0, &a);
    ck_assert_int_le((int)strlen(a.value[0]), 10);
}
END_TEST

/* ---- successive halving ------------------------------------------------- */

START_TEST(test_halving_plan)
{
    nn_halving_plan p;
    ck_assert_int_eq(nn_halving_plan_make(&p, 6, 3, 1, 0.5, &err), NN_OK);
    ck_assert_int_eq(p.rungs, 3);
    int want6[3][2] = {{6, 1}, {3, 2}, {1, 3}};
    for (int r = 0; r < 3; r++) {
        ck_assert_int_eq(p.trials[r], want6[r][0]);
        ck_assert_int_eq(p.epochs[r], want6[r][1]);
    }
    ck_assert_int_eq(nn_halving_plan_make(&p, 27, 9, 1, 1.0 / 3, &err), NN_OK);
    int want27[3][2] = {{27, 1}, {9, 3}, {3, 9}};
    ck_assert_int_eq(p.rungs, 3);
    for (int r = 0; r < 3; r++) {
        ck_assert_int_eq(p.trials[r], want27[r][0]);
        ck_assert_int_eq(p.epochs[r], want27[r][1]);
    }
    /* One trial, or a first rung as long as the whole run: a single rung. */
    ck_assert_int_eq(nn_halving_plan_make(&p, 1, 5, 1, 0.5, &err), NN_OK);
    ck_assert_int_eq(p.rungs, 1);
    ck_assert_int_eq(p.epochs[0], 5);
    ck_assert_int_eq(nn_halving_plan_make(&p, 8, 4, 4, 0.5, &err), NN_OK);
    ck_assert_int_eq(p.rungs, 1);
    ck_assert_int_eq(nn_halving_plan_make(&p, 8, 4, 1, 1.0, &err), NN_EINPUT);
    ck_assert_int_eq(nn_halving_plan_make(&p, 8, 4, 5, 0.5, &err), NN_EINPUT);
}
END_TEST

START_TEST(test_top_fraction)
{
    double scores[] = {0.5, 0.9, NAN, 0.9, 0.7, 0.1};
    int chosen[6];
    nn_search_top(scores, 6, 3, chosen);
    ck_assert_int_eq(chosen[0], 1); /* tie with 3: the lower index first */
    ck_assert_int_eq(chosen[1], 3);
    ck_assert_int_eq(chosen[2], 4);
    nn_search_top(scores, 6, 6, chosen);
    ck_assert_int_eq(chosen[5], 2); /* NaN last */
}
END_TEST

/* ---- running ------------------------------------------------------------ */

static nn_dataset train_full, test_full, train_set;

static void load_data(void)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/data/mnist-small", getenv("NNLAB_SOURCE_ROOT"));
    if (nn_dataset_load_dir(dir, &train_full, &test_full, &err) != NN_OK) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    train_set = train_full;
    train_set.count = 2000; /* the first 2,000 digits keep the runs short */
    nn_set_threads(1);
}

static void free_data(void)
{
    nn_dataset_free(&train_full);
    nn_dataset_free(&test_full);
}

static void load_preset(nn_spec *spec, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/assets/models/%s.spec", getenv("NNLAB_SOURCE_ROOT"), name);
    ck_assert_msg(nn_spec_load(spec, path, &err) == NN_OK, "%s", err.msg);
}

/* The trials of a grid over the linear preset. */
static int grid_trials(const char *text, const nn_spec *spec, int epochs, nn_trial *trials)
{
    nn_search_space space;
    ck_assert_msg(nn_search_parse(&space, text, &err) == NN_OK, "%s", err.msg);
    int n;
    ck_assert_int_eq(nn_search_grid_size(&space, &n, &err), NN_OK);
    for (int i = 0; i < n; i++) {
        memset(&trials[i], 0, sizeof trials[i]);
        nn_search_grid_point(&space, i, &trials[i].config);
        trials[i].spec = spec;
        trials[i].hp = spec->hp;
        trials[i].hp.epochs = epochs;
        trials[i].hp.threads = 1;
        ck_assert_int_eq(nn_trial_config_apply(&trials[i].config, &trials[i].hp, &err), NN_OK);
    }
    return n;
}

static int run_search(nn_trial *trials, int n, const nn_search_options *opt, nn_trial *out, nn_search **keep)
{
    nn_search *s;
    ck_assert_msg(nn_search_new(&s, trials, n, opt, &train_set, &test_full, &err) == NN_OK, "%s", err.msg);
    ck_assert_int_eq(nn_search_start(s, &err), NN_OK);
    nn_search_wait(s);
    ck_assert_int_eq(nn_search_finished(s), 1);
    nn_search_snapshot(s, out);
    if (keep)
        *keep = s;
    else
        nn_search_free(s);
    return n;
}

/* The best trial's figures are those of a plain trainer with its options,
 * and running two trials at a time changes no number. */
START_TEST(test_trial_matches_plain_training)
{
    nn_spec spec;
    load_preset(&spec, "linear");
    static nn_trial trials[4], one[4], two[4];
    int n = grid_trials("lr=0.05,0.5 batch=32,64", &spec, 2, trials);
    ck_assert_int_eq(n, 4);
    nn_search_options opt = {.jobs = 1};
    nn_search *s;
    run_search(trials, n, &opt, one, &s);
    opt.jobs = 2;
    run_search(trials, n, &opt, two, NULL);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(one[i].state, NN_TRIAL_DONE);
        ck_assert_int_eq(one[i].epoch, 2);
        ck_assert_double_eq(one[i].test_accuracy, two[i].test_accuracy);
        ck_assert_double_eq(one[i].test_loss, two[i].test_loss);
        ck_assert_double_eq(one[i].test_history[0], two[i].test_history[0]);
    }
    int best = nn_search_best_of(one, n), best_id;
    ck_assert_int_ge(best, 0);
    nn_trainer *bt = nn_search_best_trainer(s, &best_id);
    ck_assert_int_eq(best_id, best);
    ck_assert_ptr_nonnull(bt);

    /* A plain trainer with the best trial's options. */
    nn_hparams hp = spec.hp;
    hp.epochs = 2;
    hp.threads = 1;
    ck_assert_int_eq(nn_trial_config_apply(&one[best].config, &hp, &err), NN_OK);
    nn_trainer t;
    ck_assert_int_eq(nn_trainer_init(&t, &spec, &hp, &train_set, &err), NN_OK);
    nn_eval ev;
    while (!nn_trainer_done(&t)) {
        nn_step_info info;
        nn_trainer_step(&t, &info);
        if (info.epoch_done)
            nn_trainer_evaluate(&t, &test_full, &ev);
    }
    ck_assert_double_eq(ev.accuracy, one[best].test_accuracy);
    ck_assert_double_eq(ev.loss, one[best].test_loss);
    /* The kept trainer holds the trained weights. */
    ck_assert_mem_eq(bt->graph.params, t.graph.params, t.graph.n_params * sizeof(float));
    nn_trainer_free(&t);
    nn_search_free(s);
    nn_spec_free(&spec);
}
END_TEST

/* Successive halving trains the best half of each rung further and drops
 * the rest, choosing by the test accuracy at the end of the rung. */
START_TEST(test_halving_keeps_top_fraction)
{
    nn_spec spec;
    load_preset(&spec, "linear");
    static nn_trial trials[8], plain[8], halved[8];
    int n = grid_trials("lr=0.001,0.01,0.1,0.5 batch=32,128", &spec, 3, trials);
    ck_assert_int_eq(n, 8);
    /* Every trial for all three epochs, to know each rung's scores (a trial
     * is trained as for its full run, cosine schedule included). */
    nn_search_options opt = {.jobs = 2};
    run_search(trials, n, &opt, plain, NULL);
    double scores[8];
    for (int i = 0; i < n; i++)
        scores[i] = plain[i].test_history[0];
    int top[4];
    nn_search_top(scores, n, 4, top);

    opt.halving = 1;
    opt.min_epochs = 1;
    opt.keep = 0.5;
    run_search(trials, n, &opt, halved, NULL);
    /* Plan: 8 trials to epoch 1, 4 to epoch 2, 2 to epoch 3. */
    int done = 0, cut1 = 0, cut2 = 0;
    for (int i = 0; i < n; i++) {
        int in_top = 0;
        for (int k = 0; k < 4; k++)
            in_top |= top[k] == i;
        ck_assert_double_eq(halved[i].test_history[0], plain[i].test_history[0]);
        if (!in_top) {
            ck_assert_int_eq(halved[i].state, NN_TRIAL_CUT);
            ck_assert_int_eq(halved[i].epoch, 1);
            cut1++;
        } else if (halved[i].state == NN_TRIAL_CUT) {
            ck_assert_int_eq(halved[i].epoch, 2);
            cut2++;
        } else {
            ck_assert_int_eq(halved[i].state, NN_TRIAL_DONE);
            ck_assert_int_eq(halved[i].epoch, 3);
            ck_assert_double_eq(halved[i].test_accuracy, plain[i].test_accuracy);
            done++;
        }
    }
    ck_assert_int_eq(cut1, 4);
    ck_assert_int_eq(cut2, 2);
    ck_assert_int_eq(done, 2);
    /* The two finishers were the best two at epoch 2. */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (halved[i].state == NN_TRIAL_DONE && halved[j].state == NN_TRIAL_CUT && halved[j].epoch == 2)
                ck_assert_double_ge(halved[i].test_history[1], halved[j].test_history[1]);
    nn_spec_free(&spec);
}
END_TEST

START_TEST(test_cancel_keeps_finished)
{
    nn_spec spec;
    load_preset(&spec, "linear");
    static nn_trial trials[4], out[4];
    int n = grid_trials("lr=0.1,0.2,0.3,0.4", &spec, 50, trials);
    trials[0].hp.epochs = 1; /* finishes quickly */
    nn_search_options opt = {.jobs = 1};
    nn_search *s;
    ck_assert_int_eq(nn_search_new(&s, trials, n, &opt, &train_set, &test_full, &err), NN_OK);
    ck_assert_int_eq(nn_search_start(s, &err), NN_OK);
    for (;;) { /* wait for the first trial to finish, then interrupt */
        nn_search_snapshot(s, out);
        if (out[0].state == NN_TRIAL_DONE)
            break;
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    nn_search_cancel(s);
    nn_search_wait(s);
    nn_search_snapshot(s, out);
    ck_assert_int_eq(out[0].state, NN_TRIAL_DONE);
    ck_assert(out[0].test_accuracy > 0.2); /* 31 steps of plain SGD: well above chance */
    for (int i = 1; i < n; i++)
        ck_assert_int_eq(out[i].state, NN_TRIAL_CANCELLED);
    ck_assert_int_eq(nn_search_best_of(out, n), 0);
    nn_search_free(s);
    nn_spec_free(&spec);
}
END_TEST

/* A trial that cannot be built fails alone; the others go on. */
START_TEST(test_failed_trial)
{
    nn_spec spec, small;
    load_preset(&spec, "linear");
    ck_assert_int_eq(nn_spec_parse(&small, "input 1x10x10\ndense 10\nsoftmax_xent\n", "small.spec", &err), NN_OK);
    static nn_trial trials[2], out[2];
    int n = grid_trials("lr=0.1,0.2", &spec, 1, trials);
    trials[1].spec = &small;
    nn_search_options opt = {.jobs = 2};
    run_search(trials, n, &opt, out, NULL);
    ck_assert_int_eq(out[0].state, NN_TRIAL_DONE);
    ck_assert_int_eq(out[1].state, NN_TRIAL_FAILED);
    ck_assert_msg(strstr(out[1].error, "small.spec: the model takes 100 inputs"), "%s", out[1].error);
    ck_assert_int_eq(nn_search_best_of(out, n), 0);
    /* halving with differing epochs is refused */
    trials[1].hp.epochs = 3;
    opt.halving = 1;
    opt.min_epochs = 1;
    opt.keep = 0.5;
    nn_search *s;
    ck_assert_int_eq(nn_search_new(&s, trials, n, &opt, &train_set, &test_full, &err), NN_EINPUT);
    nn_spec_free(&small);
    nn_spec_free(&spec);
}
END_TEST

int main(void)
{
    load_data();
    Suite *s = suite_create("search");
    TCase *parse = tcase_create("parse");
    tcase_add_test(parse, test_grid_expansion);
    tcase_add_test(parse, test_every_training_option_parses);
    tcase_add_test(parse, test_bad_spaces);
    tcase_add_test(parse, test_log_uniform_sampling);
    tcase_add_test(parse, test_random_reproducible);
    tcase_add_test(parse, test_halving_plan);
    tcase_add_test(parse, test_top_fraction);
    suite_add_tcase(s, parse);
    TCase *run = tcase_create("run");
    tcase_add_test(run, test_trial_matches_plain_training);
    tcase_add_test(run, test_halving_keeps_top_fraction);
    tcase_add_test(run, test_cancel_keeps_finished);
    tcase_add_test(run, test_failed_trial);
    suite_add_tcase(s, run);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    free_data();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
