/* Tests for nn/lesson.c: a full lesson parsed into its header, steps,
 * actions and assertions; every shipped lesson; each error with its exact
 * "file:line:col:" and what was expected; and every prefix of a valid
 * lesson, which must parse or fail cleanly (what the fuzz target does at
 * random). */
#include "lesson.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static nn_error err;

static const char good[] =
    "# a comment\n"
    "title en Gradient descent\n"
    "title zh 梯度下降\n"
    "model linear   # the preset\n"
    "train-limit 2000\n"
    "test-limit 500\n"
    "option optimizer=sgd lr=0.001 epochs=1\n"
    "speed 40\n"
    "\n"
    "step\n"
    "caption en A tiny learning rate;\n"
    "caption en the loss # barely moves.\n"
    "caption zh 很小的学习率。\n"
    "set lr 0.0005\n"
    "run lr 0.0005 (tiny)\n"
    "train epochs 2\n"
    "expect loss > 1\n"
    "expect finite\n"
    "step\r\n"
    "caption en Too large.\r\n"
    "set lr 5\n"
    "reset\n"
    "train steps 30\n"
    "pause at epoch 3\n"
    "step 4\n"
    "key G\n"
    "model lenet\n"
    "prune 0.8\n"
    "quantize\n"
    "pad latent\n"
    "expect diverged\n"
    "expect identical-hidden-units layer 1\n"
    "expect distinct-hidden-units layer 2\n"
    "expect gap > 5\n"
    "expect gap shrinks\n"
    "expect accuracy >= 90\n"
    "expect grad-norm layer 1 < 0.01\n"
    "expect sparsity >= 0.79\n"
    "expect accuracy-drop < 2\n"
    "expect size-ratio > 3.5\n";

START_TEST(test_parse_full)
{
    nn_lesson l;
    ck_assert_msg(nn_lesson_parse(&l, "gd.lesson", good, strlen(good), &err) == NN_OK, "%s", err.msg);
    ck_assert_str_eq(l.title[NN_LANG_EN], "Gradient descent");
    ck_assert_str_eq(l.title[NN_LANG_ZH], "梯度下降");
    ck_assert_str_eq(l.model, "linear");
    ck_assert_ptr_null(l.spec_text);
    ck_assert_int_eq(l.train_limit, 2000);
    ck_assert_int_eq(l.test_limit, 500);
    ck_assert_int_eq(l.speed, 40);
    ck_assert_int_eq(l.n_options, 3);
    ck_assert_str_eq(l.option_key[1], "lr");
    ck_assert_str_eq(l.option_value[1], "0.001");
    ck_assert_int_eq(l.n_steps, 2);
    /* continuation lines join with a space; a # inside a caption is text */
    ck_assert_str_eq(l.steps[0].caption[NN_LANG_EN], "A tiny learning rate; the loss # barely moves.");
    ck_assert_str_eq(nn_lesson_caption(&l, 0, NN_LANG_ZH), "很小的学习率。");
    ck_assert_str_eq(nn_lesson_caption(&l, 1, NN_LANG_ZH), "Too large."); /* falls back to English */
    ck_assert_int_eq(l.steps[0].first, 0);
    ck_assert_int_eq(l.steps[0].count, 5);
    ck_assert_int_eq(l.steps[1].first, 5);
    ck_assert_int_eq(l.steps[1].count, 20);
    ck_assert_int_eq(l.n_actions, 25);
    const nn_lesson_action *a = l.actions;
    ck_assert_int_eq(a[0].op, NN_LESSON_SET);
    ck_assert_str_eq(a[0].key, "lr");
    ck_assert_str_eq(a[0].value, "0.0005");
    ck_assert_int_eq(a[0].line, 14);
    ck_assert_int_eq(a[1].op, NN_LESSON_RUN);
    ck_assert_str_eq(a[1].value, "lr 0.0005 (tiny)");
    ck_assert_int_eq(a[2].op, NN_LESSON_TRAIN_EPOCHS);
    ck_assert(a[2].number == 2);
    ck_assert_int_eq(a[3].op, NN_LESSON_EXPECT_LOSS);
    ck_assert_int_eq(a[3].cmp, NN_CMP_GT);
    ck_assert(a[3].number == 1);
    ck_assert_int_eq(a[4].op, NN_LESSON_EXPECT_FINITE);
    int ops[] = {NN_LESSON_SET, NN_LESSON_RUN, NN_LESSON_TRAIN_STEPS, NN_LESSON_PAUSE_AT, NN_LESSON_STEP,
                 NN_LESSON_KEY, NN_LESSON_MODEL, NN_LESSON_PRUNE, NN_LESSON_QUANTIZE, NN_LESSON_PAD,
                 NN_LESSON_EXPECT_DIVERGED, NN_LESSON_EXPECT_IDENTICAL, NN_LESSON_EXPECT_DISTINCT,
                 NN_LESSON_EXPECT_GAP, NN_LESSON_EXPECT_GAP_SHRINKS, NN_LESSON_EXPECT_ACCURACY,
                 NN_LESSON_EXPECT_GRAD_NORM, NN_LESSON_EXPECT_SPARSITY, NN_LESSON_EXPECT_DROP,
                 NN_LESSON_EXPECT_SIZE_RATIO};
    for (int i = 0; i < 20; i++)
        ck_assert_msg(a[5 + i].op == ops[i], "action %d is op %d, expected %d", 5 + i, a[5 + i].op, ops[i]);
    ck_assert_str_eq(a[7].value, "");
    ck_assert(a[8].number == 3);
    ck_assert(a[9].number == 4);
    ck_assert_str_eq(a[10].value, "G");
    ck_assert_str_eq(a[11].value, "lenet");
    ck_assert(a[12].number == 0.8);
    ck_assert_str_eq(a[14].value, "latent");
    ck_assert_int_eq(a[16].layer, 1);
    ck_assert_int_eq(a[17].layer, 2);
    ck_assert_int_eq(a[21].layer, 1);
    ck_assert_int_eq(a[21].cmp, NN_CMP_LT);
    ck_assert(a[21].number == 0.01);
    ck_assert_int_eq(a[20].cmp, NN_CMP_GE);
    /* actions print back as written */
    char text[200];
    ck_assert_str_eq(nn_lesson_action_text(&a[21], text, sizeof text), "expect grad-norm layer 1 < 0.01");
    ck_assert_str_eq(nn_lesson_action_text(&a[1], text, sizeof text), "run lr 0.0005 (tiny)");
    ck_assert_str_eq(nn_lesson_action_text(&a[8], text, sizeof text), "pause at epoch 3");
    nn_lesson_free(&l);
    ck_assert_ptr_null(l.steps);
}
END_TEST

START_TEST(test_inline_model)
{
    const char text[] = "title en Inline\n"
                        "layer input 1x28x28\n"
                        "layer dense 32   # hidden\n"
                        "layer softmax_xent\n"
                        "step\n"
                        "caption en Go.\n"
                        "step 3\n";
    nn_lesson l;
    ck_assert_msg(nn_lesson_parse(&l, "inline.lesson", text, strlen(text), &err) == NN_OK, "%s", err.msg);
    ck_assert_str_eq(l.model, "");
    ck_assert_str_eq(l.spec_text, "input 1x28x28\ndense 32   # hidden\nsoftmax_xent\n");
    ck_assert_int_eq(l.n_actions, 1);
    ck_assert_int_eq(l.actions[0].op, NN_LESSON_STEP);
    nn_lesson_free(&l);
}
END_TEST

/* The buffer need not end in a NUL: the length decides. */
START_TEST(test_not_terminated)
{
    const char text[] = "title en T\nmodel mlp\nstep\ncaption en C\ntrain epochs 12XYZ";
    size_t len = strlen(text) - 3;
    char *copy = malloc(len);
    memcpy(copy, text, len);
    nn_lesson l;
    ck_assert_msg(nn_lesson_parse(&l, "t.lesson", copy, len, &err) == NN_OK, "%s", err.msg);
    ck_assert(l.actions[0].number == 12);
    nn_lesson_free(&l);
    free(copy);
}
END_TEST

START_TEST(test_shipped_lessons)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/assets/lessons", getenv("NNLAB_SOURCE_ROOT"));
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    const char *want[] = {"gradient-descent", "init", "overfitting", "cnn-vs-mlp", "backprop-step", "vae",
                          "compression"};
    int found[7] = {0};
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 8 || strcmp(e->d_name + len - 7, ".lesson"))
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        nn_lesson l;
        ck_assert_msg(nn_lesson_load(&l, path, &err) == NN_OK, "%s", err.msg);
        ck_assert_ptr_nonnull(l.title[NN_LANG_ZH]);
        for (int s = 0; s < l.n_steps; s++) {
            ck_assert_msg(l.steps[s].caption[NN_LANG_ZH], "%s: step %d has no Chinese caption", e->d_name, s + 1);
        }
        int expects = 0;
        for (int a = 0; a < l.n_actions; a++)
            expects += nn_lesson_is_expect(l.actions[a].op);
        ck_assert_msg(expects > 0, "%s checks nothing", e->d_name);
        for (int w = 0; w < 7; w++)
            found[w] |= !strncmp(e->d_name, want[w], len - 7) && strlen(want[w]) == len - 7;
        nn_lesson_free(&l);
        n++;
    }
    closedir(d);
    for (int w = 0; w < 7; w++)
        ck_assert_msg(found[w], "no lesson %s", want[w]);
    ck_assert_int_ge(n, 7);
}
END_TEST

START_TEST(test_locale)
{
    ck_assert_int_eq(nn_lang_from_locale("zh_CN.UTF-8"), NN_LANG_ZH);
    ck_assert_int_eq(nn_lang_from_locale("zh_TW"), NN_LANG_ZH);
    ck_assert_int_eq(nn_lang_from_locale("en_GB.UTF-8"), NN_LANG_EN);
    ck_assert_int_eq(nn_lang_from_locale("C"), NN_LANG_EN);
    ck_assert_int_eq(nn_lang_from_locale(""), NN_LANG_EN);
    ck_assert_int_eq(nn_lang_from_locale(NULL), NN_LANG_EN);
    ck_assert_str_eq(nn_lang_name(NN_LANG_ZH), "zh");
}
END_TEST

/* ---- errors ------------------------------------------------------------------ */

#define HEAD "title en T\nmodel linear\n"         /* lines 1-2 */
#define STEP HEAD "step\ncaption en C\n"           /* lines 1-4 */

static const struct {
    const char *text;
    const char *where;  /* "line:col:" */
    const char *what;
} bad[] = {
    {"title fr Bonjour\n", "1:7:", "unknown language 'fr' (expected en or zh)"},
    {"title en\n", "1:9:", "expected the text after 'en'"},
    {"title\n", "1:6:", "expected a language (en or zh) and the text"},
    {HEAD "colour red\n", "3:1:", "unknown keyword 'colour'"},
    {HEAD "model mlp\n", "3:1:", "the model is already given"},
    {"title en T\nlayer dense 10\nmodel mlp\n", "3:1:", "the model is already given (one `model` line, or `layer` lines)"},
    {HEAD "layer dense 10\n", "3:1:", "the model is already given by `model`"},
    {HEAD "train-limit -5\n", "3:13:", "expected a number of samples (a whole number from 1"},
    {HEAD "train-limit 100 200\n", "3:17:", "unexpected '200'"},
    {HEAD "test-limit\n", "3:11:", "expected a number of samples"},
    {HEAD "option lr=abc\n", "3:8:", "lr: 'abc' is not a number"},
    {HEAD "option learning_rate=0.1\n", "3:8:", "unknown hyperparameter 'learning_rate'"},
    {HEAD "option lr\n", "3:8:", "expected key=value, such as lr=0.01, not 'lr'"},
    {HEAD "option\n", "3:7:", "expected key=value"},
    {HEAD "speed 0\n", "3:7:", "expected steps per second"},
    {HEAD "step 3\n", "3:6:", "unexpected '3' ('step' stands alone"},
    {STEP "set lr\n", "5:7:", "expected a key and a value"},
    {STEP "set rate 0.1\n", "5:5:", "unknown hyperparameter 'rate'"},
    {STEP "set lr -1\n", "5:8:", "lr: -1 is out of range"},
    {STEP "set lr 0.1 now\n", "5:12:", "unexpected 'now'"},
    {STEP "train epochz 2\n", "5:7:", "expected 'epochs N' or 'steps N' after train"},
    {STEP "train\n", "5:6:", "expected 'epochs N' or 'steps N' after train"},
    {STEP "train epochs 0\n", "5:14:", "expected a number of epochs (a whole number from 1 to 1000)"},
    {STEP "train steps x\n", "5:13:", "expected a number of steps"},
    {STEP "pause at 3\n", "5:7:", "expected 'pause at epoch N'"},
    {STEP "pause at epoch\n", "5:15:", "expected an epoch"},
    {STEP "step 0\n", "5:6:", "expected a number of single steps (a whole number from 1 to 1000)"},
    {STEP "key Enter\n", "5:5:", "expected one key, such as key G"},
    {STEP "model\n", "5:6:", "expected a preset name or spec file"},
    {STEP "prune 1.5\n", "5:7:", "expected a sparsity in [0, 1)"},
    {STEP "prune\n", "5:6:", "expected a sparsity"},
    {STEP "quantize now\n", "5:10:", "unexpected 'now'"},
    {STEP "pad zoom\n", "5:5:", "expected a pad view: latent, weights or draw"},
    {STEP "fly away\n", "5:1:", "unknown action 'fly'"},
    {STEP "expect\n", "5:7:", "expected what to expect, such as expect diverged"},
    {STEP "expect happiness\n", "5:8:", "unknown expectation 'happiness'"},
    {STEP "expect gap 5\n", "5:12:", "expected a comparison (<, <=, > or >=), not '5'"},
    {STEP "expect gap >\n", "5:13:", "expected a number to compare with"},
    {STEP "expect gap > five\n", "5:14:", "expected a number to compare with (a number), not 'five'"},
    {STEP "expect accuracy == 90\n", "5:17:", "expected a comparison"},
    {STEP "expect identical-hidden-units\n", "5:30:", "expected 'layer N'"},
    {STEP "expect identical-hidden-units layer 0\n", "5:37:", "expected a layer number (a whole number from 1"},
    {STEP "expect grad-norm layer 1\n", "5:25:", "expected a comparison"},
    {STEP "expect diverged now\n", "5:17:", "unexpected 'now'"},
    {STEP "expect gap shrinks more\n", "5:20:", "unexpected 'more'"},
    {STEP "caption de Hallo\n", "5:9:", "unknown language 'de'"},
    {STEP "set lr 0.1\x01\n", "5:11:", "unexpected control character 0x01"},
    {STEP "caption en caf\xc3\n", "5:15:", "invalid UTF-8"},
    {STEP "caption en \xed\xa0\x80\n", "5:12:", "invalid UTF-8"},
    {STEP "a b c d e f g h i j k l m n o p q\n", "5:33:", "too many words on one line (at most 16)"},
    /* what is missing is reported at the end, or at the step that lacks it */
    {"model linear\nstep\ncaption en C\n", "4:1:", "missing `title en ...`"},
    {"title zh 标题\nmodel linear\nstep\ncaption en C\n", "5:1:", "missing `title en ...`"},
    {"title en T\nstep\ncaption en C\n", "4:1:", "missing the model"},
    {HEAD, "3:1:", "no steps"},
    {HEAD "step\nset lr 0.1\nstep\ncaption en C\n", "3:1:", "step 1 has no `caption en ...`"},
    {HEAD "step\ncaption zh 只有中文\n", "3:1:", "step 1 has no `caption en ...`"},
};

START_TEST(test_lesson_error)
{
    const char *text = bad[_i].text;
    nn_lesson l;
    int rc = nn_lesson_parse(&l, "bad.lesson", text, strlen(text), &err);
    ck_assert_msg(rc == NN_EINPUT, "case %d parsed: %s", _i, text);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "bad.lesson:%s ", bad[_i].where);
    ck_assert_msg(!strncmp(err.msg, prefix, strlen(prefix)), "case %d: '%s' does not start with '%s'", _i, err.msg,
                  prefix);
    ck_assert_msg(strstr(err.msg, bad[_i].what), "case %d: '%s' lacks '%s'", _i, err.msg, bad[_i].what);
    ck_assert_int_eq(l.n_steps, 0);
    ck_assert_ptr_null(l.actions);
}
END_TEST

START_TEST(test_limits)
{
    /* a line longer than 4096 bytes */
    size_t n = 5000;
    char *text = malloc(n + 64);
    strcpy(text, "title en ");
    memset(text + 9, 'a', n);
    strcpy(text + 9 + n, "\n");
    nn_lesson l;
    ck_assert_int_eq(nn_lesson_parse(&l, "long.lesson", text, strlen(text), &err), NN_EINPUT);
    ck_assert_str_eq(err.msg, "long.lesson:1:4097: line too long (at most 4096 bytes)");
    /* a caption that grows past 4096 bytes over continuation lines */
    text = realloc(text, 20000);
    strcpy(text, "title en T\nmodel mlp\nstep\n");
    for (int i = 0; i < 50; i++) {
        strcat(text, "caption en ");
        size_t at = strlen(text);
        memset(text + at, 'b', 100);
        strcpy(text + at + 100, "\n");
    }
    ck_assert_int_eq(nn_lesson_parse(&l, "grow.lesson", text, strlen(text), &err), NN_EINPUT);
    ck_assert_msg(strstr(err.msg, "text too long (at most 4096 bytes)"), "%s", err.msg);
    free(text);
    ck_assert_int_eq(nn_lesson_load(&l, "/nonexistent/x.lesson", &err), NN_EINPUT);
    ck_assert_msg(strstr(err.msg, "/nonexistent/x.lesson: cannot open"), "%s", err.msg);
}
END_TEST

/* Every prefix and every single-byte corruption of a valid lesson parses
 * or fails with a message; nothing leaks or reads out of bounds (under
 * ASan in script/test). */
START_TEST(test_prefixes_and_corruptions)
{
    size_t len = strlen(good);
    char *buf = malloc(len);
    for (size_t n = 0; n <= len; n++) {
        memcpy(buf, good, n);
        nn_lesson l;
        if (nn_lesson_parse(&l, "p.lesson", buf, n, &err) == NN_OK)
            nn_lesson_free(&l);
        else
            ck_assert_msg(!strncmp(err.msg, "p.lesson:", 9), "%s", err.msg);
    }
    const char junk[] = {'\0', '\n', ' ', '#', '\xff', '9', '=', '>'};
    for (size_t i = 0; i < len; i += 3)
        for (size_t j = 0; j < sizeof junk; j++) {
            memcpy(buf, good, len);
            buf[i] = junk[j];
            nn_lesson l;
            if (nn_lesson_parse(&l, "c.lesson", buf, len, &err) == NN_OK)
                nn_lesson_free(&l);
            else
                ck_assert_msg(!strncmp(err.msg, "c.lesson:", 9), "%s", err.msg);
        }
    free(buf);
}
END_TEST

START_TEST(test_compare)
{
    ck_assert(nn_lesson_compare(5, NN_CMP_GT, 4));
    ck_assert(!nn_lesson_compare(4, NN_CMP_GT, 4));
    ck_assert(nn_lesson_compare(4, NN_CMP_GE, 4));
    ck_assert(nn_lesson_compare(3, NN_CMP_LT, 4));
    ck_assert(nn_lesson_compare(4, NN_CMP_LE, 4));
    /* NaN (a diverged run's accuracy) satisfies nothing */
    ck_assert(!nn_lesson_compare(0.0 / 0.0, NN_CMP_LT, 4));
    ck_assert(!nn_lesson_compare(0.0 / 0.0, NN_CMP_GE, 4));
}
END_TEST

static Suite *lesson_suite(void)
{
    Suite *suite = suite_create("lesson");
    TCase *parse = tcase_create("parse");
    tcase_add_test(parse, test_parse_full);
    tcase_add_test(parse, test_inline_model);
    tcase_add_test(parse, test_not_terminated);
    tcase_add_test(parse, test_shipped_lessons);
    tcase_add_test(parse, test_locale);
    tcase_add_test(parse, test_compare);
    suite_add_tcase(suite, parse);
    TCase *errors = tcase_create("errors");
    tcase_add_loop_test(errors, test_lesson_error, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(errors, test_limits);
    tcase_add_test(errors, test_prefixes_and_corruptions);
    suite_add_tcase(suite, errors);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(lesson_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
