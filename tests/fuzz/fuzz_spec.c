/* libFuzzer target: the model-spec parser on arbitrary text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_text.h"
#include "spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstring(data, size);
    if (!text)
        return 0;
    nn_spec spec;
    nn_error err = {0};
    int rc = nn_spec_parse(&spec, text, "fuzz.spec", &err);
    free(text);
    if (rc != NN_OK) {
        fuzz_check_refusal(&err, "fuzz.spec");
        return 0;
    }
    if (spec.n_layers < 1 || !spec.text)
        abort();
    nn_spec_free(&spec);
    return 0;
}
