/* The pad's preprocessing round trip: every test digit of a dataset is
 * enlarged to the pad's canvas (280x280, as if drawn there), brought back
 * to 28x28 by the pad's preprocessing, and classified by a saved model; the
 * accuracy is compared with classifying the digits as they are.  MNIST's
 * digits were prepared by the same recipe, so the two should agree closely.
 *
 * usage: roundtrip MODEL DATA_DIR [tent|box]
 * Prints one JSON object: count, direct_accuracy, pad_accuracy,
 * difference_pp (pad minus direct, in percentage points), agreement (the
 * fraction of digits given the same label both ways). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image_resize.h>

#include "canvas.h"
#include "checkpoint.h"
#include "data.h"
#include "predictor.h"
#include "preprocess.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: roundtrip MODEL DATA_DIR [tent|box]\n");
        return 2;
    }
    stbir_filter filter = argc > 3 && !strcmp(argv[3], "box") ? STBIR_FILTER_BOX : STBIR_FILTER_TRIANGLE;
    nn_error err;
    nn_checkpoint ck;
    nn_predictor p;
    nn_dataset train, test;
    if (nn_checkpoint_load(&ck, argv[1], &err) || nn_predictor_init(&p, &ck.spec, &err) ||
        nn_checkpoint_apply(&ck, &p.graph, &err) || nn_dataset_load_dir(argv[2], &train, &test, &err)) {
        fprintf(stderr, "roundtrip: %s\n", err.msg);
        return 1;
    }
    const int side = NN_MNIST_SIDE, canvas = NN_CANVAS_SIZE;
    float digit[NN_MNIST_SIDE * NN_MNIST_SIDE], probs[NN_PREDICTOR_MAX_CLASSES];
    float *big = malloc(sizeof(float) * canvas * canvas);
    if (!big)
        return 1;
    long direct = 0, pad = 0, agree = 0;
    for (size_t i = 0; i < test.count; i++) {
        size_t index = i;
        int label;
        nn_dataset_batch(&test, &index, 1, digit, NULL, &label);
        int a = nn_predictor_run(&p, digit, probs);
        if (!stbir_resize_float_generic(digit, side, side, side * (int)sizeof(float), big, canvas, canvas,
                                        canvas * (int)sizeof(float), 1, STBIR_ALPHA_CHANNEL_NONE, 0, STBIR_EDGE_ZERO,
                                        filter, STBIR_COLORSPACE_LINEAR, NULL)) {
            fprintf(stderr, "roundtrip: out of memory\n");
            return 1;
        }
        int b;
        if (nn_predictor_classify_ink(&p, big, canvas, canvas, canvas, NULL, probs, &b, NULL, &err)) {
            fprintf(stderr, "roundtrip: %s\n", err.msg);
            return 1;
        }
        direct += a == label;
        pad += b == label;
        agree += a == b;
    }
    double n = (double)test.count;
    printf("{\"count\":%zu,\"filter\":\"%s\",\"direct_accuracy\":%.4f,\"pad_accuracy\":%.4f,\"difference_pp\":%.2f,"
           "\"agreement\":%.4f}\n",
           test.count, filter == STBIR_FILTER_BOX ? "box" : "tent", direct / n, pad / n, 100.0 * (pad - direct) / n,
           agree / n);
    free(big);
    nn_predictor_free(&p);
    nn_checkpoint_free(&ck);
    nn_dataset_free(&train);
    nn_dataset_free(&test);
    return 0;
}
