/* libFuzzer target: image decoding (the stb_image size check before any
 * pixel is decoded, the decoders, and the conversion to ink), then MNIST
 * preprocessing of whatever decodes. */
#include <stdint.h>
#include <stdlib.h>

#include "preprocess.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    float *ink = NULL;
    int w = 0, h = 0, inverted = 0;
    nn_error err = {0};
    if (nn_image_decode_ink(data, size, "fuzz.img", NN_INVERT_AUTO, &ink, &w, &h, &inverted, &err) != NN_OK) {
        if (err.msg[0] == '\0' || ink)
            abort();
        return 0;
    }
    if (w < 1 || h < 1 || w > NN_IMAGE_MAX_SIDE || h > NN_IMAGE_MAX_SIDE)
        abort();
    float out[784];
    nn_preprocess_info info;
    nn_preprocess_mnist(ink, w, h, w, out, &info, &err);
    free(ink);
    return 0;
}
