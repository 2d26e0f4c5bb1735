/* `train --plot`: a training run's loss and accuracy curves side by side. */
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define WIDTH 1600
#define HEIGHT 660
#define TITLE_H 44

#define RAW_RGB 0xa9c6e8
#define TRAIN_RGB 0x1f5fa8
#define EPOCH_RGB 0x2e9e4f
#define TEST_RGB 0xd9601a

/* Debiased exponential moving average of v (NaN entries skipped). */
static void smooth(const float *v, long n, double beta, double *out)
{
    double avg = 0, weight = 0;
    for (long i = 0; i < n; i++) {
        if (isfinite(v[i])) {
            avg = beta * avg + (1 - beta) * v[i];
            weight = beta * weight + (1 - beta);
        }
        out[i] = weight > 0 ? avg / weight : NAN;
    }
}

int plot_training_png(const char *path, const plot_run *run, nn_error *err)
{
    long n = run->n_steps;
    int e = run->n_epochs;
    double *buf = malloc(((size_t)n * 4 + (size_t)e * 6 + 2) * sizeof *buf);
    if (!buf)
        return nn_error_set(err, NN_ERUNTIME, "plot: out of memory");
    double *x = buf, *raw = x + n, *loss = raw + n, *acc = loss + n, *ex = acc + n, *mid = ex + e;
    double *train_loss = mid + e + 1, *test_loss = train_loss + e, *train_acc = test_loss + e,
           *test_acc = train_acc + e;
    double spe = run->steps_per_epoch > 0 ? run->steps_per_epoch : 1;
    /* An average over about a quarter of an epoch, between 5 and 200 steps. */
    double window = fmin(200, fmax(5, spe / 4));
    smooth(run->step_loss, n, 1 - 1 / window, loss);
    smooth(run->step_accuracy, n, 1 - 1 / window, acc);
    double lo = INFINITY, hi = 0;
    for (long i = 0; i < n; i++) {
        x[i] = (double)(i + 1) / spe;
        raw[i] = run->step_loss[i];
        acc[i] *= 100;
        if (raw[i] > 0 && isfinite(raw[i])) {
            lo = fmin(lo, raw[i]);
            hi = fmax(hi, raw[i]);
        }
    }
    for (int k = 0; k < e; k++) {
        ex[k] = k + 1;
        mid[k] = k + 0.5; /* an epoch's mean belongs to its middle */
        train_loss[k] = run->train_loss[k];
        test_loss[k] = run->test_loss[k];
        train_acc[k] = 100 * run->train_accuracy[k];
        test_acc[k] = 100 * run->test_accuracy[k];
    }

    char test_label[64] = "test loss (per epoch)", acc_label[64] = "test accuracy (per epoch)";
    if (e > 0) {
        snprintf(test_label, sizeof test_label, "test loss (per epoch), last %.4f", test_loss[e - 1]);
        snprintf(acc_label, sizeof acc_label, "test accuracy (per epoch), last %.2f%%", test_acc[e - 1]);
    }
    plot_chart lc = {.title = "Loss", .x_label = "epoch", .y_label = "loss", .x_min = 0,
                     .x_max = fmax(e, (double)n / spe), .log_y = lo > 0 && hi / lo > 10};
    lc.series[lc.n_series++] = (plot_series){"train loss (per step)", x, raw, (int)n, RAW_RGB, 1, 0};
    lc.series[lc.n_series++] = (plot_series){"train loss (smoothed)", x, loss, (int)n, TRAIN_RGB, 2.5f, 0};
    lc.series[lc.n_series++] = (plot_series){test_label, ex, test_loss, e, TEST_RGB, 2.5f, 1};
    plot_chart ac = {.title = "Accuracy", .x_label = "epoch", .y_label = "accuracy (%)", .x_min = lc.x_min,
                     .x_max = lc.x_max, .legend_bottom = 1};
    ac.series[ac.n_series++] = (plot_series){"train batch accuracy (smoothed)", x, acc, (int)n, TRAIN_RGB, 2.5f, 0};
    ac.series[ac.n_series++] = (plot_series){"train accuracy (epoch mean)", mid, train_acc, e, EPOCH_RGB, 2, 1};
    ac.series[ac.n_series++] = (plot_series){acc_label, ex, test_acc, e, TEST_RGB, 2.5f, 1};

    plot_image img;
    int rc = plot_image_new(&img, WIDTH, HEIGHT, err);
    if (!rc) {
        if (run->title)
            plot_text(&img, WIDTH / 2 - plot_text_width(run->title, 2) / 2, 14, run->title, 0x202020, 2, 0);
        plot_draw_chart(&img, 0, TITLE_H, WIDTH / 2, HEIGHT - TITLE_H, &lc);
        plot_draw_chart(&img, WIDTH / 2, TITLE_H, WIDTH / 2, HEIGHT - TITLE_H, &ac);
        rc = plot_image_write_png(&img, path, err);
        plot_image_free(&img);
    }
    free(buf);
    return rc;
}
