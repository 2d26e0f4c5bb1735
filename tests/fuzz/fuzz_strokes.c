/* libFuzzer target: the strokes parser on arbitrary text, and the pad's
 * brush on whatever it accepts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_text.h"
#include "strokes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstring(data, size);
    if (!text)
        return 0;
    nn_strokes s;
    nn_error err = {0};
    int rc = nn_strokes_parse(&s, text, "fuzz.strokes", &err);
    free(text);
    if (rc != NN_OK) {
        fuzz_check_refusal(&err, "fuzz.strokes");
        return 0;
    }
    /* A small canvas keeps each run fast; the brush clips the same way at
     * any size. */
    nn_canvas c;
    if (nn_canvas_new(&c, 28, 28, &err) == NN_OK) {
        for (int i = 0; i < s.n_drawings && i < 8; i++)
            nn_strokes_render(&s.drawings[i], &c);
        nn_canvas_free(&c);
    }
    nn_strokes_free(&s);
    return 0;
}
