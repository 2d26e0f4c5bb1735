/* libFuzzer target: the model-file reader on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>

#include "checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nn_checkpoint ck;
    nn_error err = {0};
    if (nn_checkpoint_load_memory(&ck, data, size, "fuzz.nnl", &err) != NN_OK) {
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
