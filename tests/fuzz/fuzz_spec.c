/* libFuzzer target: the model-spec parser on arbitrary text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    nn_spec spec;
    nn_error err = {0};
    int rc = nn_spec_parse(&spec, text, "fuzz.spec", &err);
    free(text);
    if (rc != NN_OK) {
        /* Every refusal names the place: "fuzz.spec:LINE:COL: ..." */
        if (strncmp(err.msg, "fuzz.spec:", 10) != 0 || (err.code != NN_EINPUT && err.code != NN_ERUNTIME))
            abort();
        return 0;
    }
    if (spec.n_layers < 1 || !spec.text)
        abort();
    nn_spec_free(&spec);
    return 0;
}
