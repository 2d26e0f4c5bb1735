/* Tests for ui/plot.c: tick placement on linear and log axes, text metrics,
 * and a rendered training plot read back from its PNG file: its size, its
 * colours where the curves and labels must be. */
#include "plot.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#endif
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_PNG
#include <stb_image.h>

static nn_error err;

START_TEST(test_linear_ticks)
{
    double t[64];
    int n = plot_ticks(0, 1, 0, 8, t);
    ck_assert_int_eq(n, 6);
    for (int i = 0; i < n; i++)
        ck_assert_double_eq_tol(t[i], 0.2 * i, 1e-12);
    n = plot_ticks(0.03, 0.97, 0, 8, t); /* inside the range only */
    ck_assert_double_eq_tol(t[0], 0.2, 1e-12);
    ck_assert_double_eq_tol(t[n - 1], 0.8, 1e-12);
    n = plot_ticks(-3, 7, 0, 10, t); /* step 1 would give 11 ticks: step 2 */
    ck_assert_int_eq(n, 5);
    ck_assert_double_eq(t[0], -2);
    ck_assert_double_eq(t[1], 0); /* exactly zero, not -1e-17 */
    n = plot_ticks(-0.3, 0.7, 0, 6, t);
    ck_assert_double_eq(t[1], 0);
    n = plot_ticks(0, 250, 0, 6, t);
    ck_assert_double_eq_tol(t[1] - t[0], 50, 1e-9);
    ck_assert_int_eq(plot_ticks(1, 1, 0, 8, t), 0);
}
END_TEST

START_TEST(test_log_ticks)
{
    double t[64];
    /* A few decades: 1, 2 and 5 times each power of ten. */
    int n = plot_ticks(0.04, 2.5, 1, 12, t);
    double want[] = {0.05, 0.1, 0.2, 0.5, 1, 2};
    ck_assert_int_eq(n, 6);
    for (int i = 0; i < n; i++)
        ck_assert_double_eq_tol(t[i], want[i], 1e-12);
    /* Many decades: powers of ten only, thinned to fit. */
    n = plot_ticks(1e-8, 1e4, 1, 7, t);
    ck_assert_int_le(n, 7);
    ck_assert_int_ge(n, 4);
    for (int i = 0; i < n; i++)
        ck_assert_double_eq_tol(log10(t[i]), round(log10(t[i])), 1e-9);
    /* Within one decade: plain steps. */
    n = plot_ticks(0.22, 0.48, 1, 8, t);
    ck_assert_int_ge(n, 3);
    ck_assert_int_eq(plot_ticks(0, 1, 1, 8, t), 0); /* no log axis through 0 */
}
END_TEST

START_TEST(test_text_metrics)
{
    ck_assert_int_gt(plot_text_width("epoch", 1), 20);
    ck_assert_int_eq(plot_text_width("epoch", 2), 2 * plot_text_width("epoch", 1));
    ck_assert_int_eq(plot_text_width("", 2), 0);
    /* Non-ASCII bytes are drawn as '?', not read past stb's table. */
    ck_assert_int_eq(plot_text_width("\xc3\x97", 1), plot_text_width("??", 1));

    plot_image img;
    ck_assert_int_eq(plot_image_new(&img, 200, 60, &err), NN_OK);
    plot_text(&img, 10, 10, "Loss 0.5", 0x000000, 2, 0);
    int dark = 0, outside = 0;
    for (int y = 0; y < img.height; y++)
        for (int x = 0; x < img.width; x++) {
            int black = img.rgb[(y * img.width + x) * 3] == 0;
            dark += black;
            if (black && (x < 10 || y < 10 || y > 10 + 2 * 12 || x > 10 + plot_text_width("Loss 0.5", 2)))
                outside++;
        }
    ck_assert_int_gt(dark, 100);
    ck_assert_int_eq(outside, 0);
    plot_image_free(&img);
}
END_TEST

static int count_colour(const unsigned char *px, int w, int x0, int y0, int x1, int y1, uint32_t rgb, int tol)
{
    int n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            const unsigned char *p = px + (y * w + x) * 3;
            if (abs(p[0] - (int)(rgb >> 16)) <= tol && abs(p[1] - (int)((rgb >> 8) & 255)) <= tol &&
                abs(p[2] - (int)(rgb & 255)) <= tol)
                n++;
        }
    return n;
}

START_TEST(test_training_png)
{
    enum { STEPS = 500, EPOCHS = 5 };
    static float loss[STEPS], acc[STEPS];
    double tl[EPOCHS], ta[EPOCHS], vl[EPOCHS], va[EPOCHS];
    for (int i = 0; i < STEPS; i++) {
        loss[i] = 2.3f * expf(-i / 80.0f) + 0.05f * (float)(i % 7);
        acc[i] = 1 - loss[i] / 2.6f;
    }
    for (int e = 0; e < EPOCHS; e++) {
        tl[e] = vl[e] = 2.3 * exp(-(e + 1) * 100 / 80.0) + 0.1;
        ta[e] = va[e] = 1 - vl[e] / 2.6;
    }
    plot_run run = {.title = "test run", .steps_per_epoch = 100, .n_steps = STEPS, .step_loss = loss,
                    .step_accuracy = acc, .n_epochs = EPOCHS, .train_loss = tl, .train_accuracy = ta,
                    .test_loss = vl, .test_accuracy = va};
    char path[] = "/tmp/nnlab-plot-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_msg(plot_training_png(path, &run, &err) == NN_OK, "%s", err.msg);
    int w, h, channels;
    unsigned char *px = stbi_load(path, &w, &h, &channels, 3);
    ck_assert_ptr_nonnull(px);
    ck_assert_int_eq(w, 1600);
    ck_assert_int_eq(h, 660);
    /* The title in the top band, dark on white. */
    ck_assert_int_gt(count_colour(px, w, 0, 0, w, 40, 0x202020, 40), 50);
    /* Both charts hold the test curve (orange) and the smoothed train curve (blue). */
    ck_assert_int_gt(count_colour(px, w, 0, 40, w / 2, h, 0xd9601a, 30), 300);
    ck_assert_int_gt(count_colour(px, w, w / 2, 40, w, h, 0xd9601a, 30), 300);
    ck_assert_int_gt(count_colour(px, w, 0, 40, w / 2, h, 0x1f5fa8, 30), 300);
    ck_assert_int_gt(count_colour(px, w, w / 2, 40, w, h, 0x1f5fa8, 30), 300);
    /* Mostly background. */
    ck_assert_int_gt(count_colour(px, w, 0, 0, w, h, 0xffffff, 0), w * h / 2);
    stbi_image_free(px);
    unlink(path);

    /* An unwritable path is a runtime error naming it. */
    ck_assert_int_eq(plot_training_png("/nonexistent-dir/x.png", &run, &err), NN_ERUNTIME);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent-dir/x.png"));
    /* No epochs yet (interrupted early): the step curves alone. */
    run.n_epochs = 0;
    ck_assert_int_eq(plot_training_png(path, &run, &err), NN_OK);
    unlink(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("plot");
    TCase *tc = tcase_create("plot");
    tcase_add_test(tc, test_linear_ticks);
    tcase_add_test(tc, test_log_ticks);
    tcase_add_test(tc, test_text_metrics);
    tcase_add_test(tc, test_training_png);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
