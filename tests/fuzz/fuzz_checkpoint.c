/* libFuzzer target: the model-file reader on arbitrary bytes.
 *
 * A fuzzer cannot compute checksums, so an input that ends as a model file
 * does (section END, length 4, then the CRC) gets the right CRC written in
 * before it is read: otherwise almost every mutation would stop at the
 * checksum, and the checks after it (the spec built, the tensors fitted to
 * it) would never run. The checksum test itself is in test_checkpoint. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "checkpoint_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned char end[NN_CKPT_SECTION_HEADER_LEN] = {'E', 'N', 'D', ' ', 4};
    unsigned char *file = malloc(size ? size : 1);
    if (!file)
        return 0;
    memcpy(file, data, size);
    if (size >= NN_CKPT_HEADER_LEN + sizeof end + 4 && !memcmp(file + size - 4 - sizeof end, end, sizeof end)) {
        uint32_t crc = nn_checkpoint_crc(file, size - 4);
        for (int i = 0; i < 4; i++)
            file[size - 4 + i] = (unsigned char)(crc >> (8 * i));
    }
    nn_checkpoint ck;
    nn_error err = {0};
    int rc = nn_checkpoint_load_memory(&ck, file, size, "fuzz.nnl", &err);
    free(file);
    if (rc != NN_OK) {
        if (err.msg[0] == '\0' || (err.code != NN_EINPUT && err.code != NN_ERUNTIME))
            abort();
        return 0;
    }
    /* A file that loads builds its model and takes its weights. */
    nn_graph g;
    if (nn_checkpoint_build(&ck, &g, 1, &err) == NN_OK)
        nn_graph_free(&g);
    nn_checkpoint_free(&ck);
    return 0;
}
