/* libFuzzer target: the lesson-file parser on arbitrary bytes (the parser
 * takes a length, so the input needs no terminating NUL). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_text.h"
#include "lesson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy of exactly size bytes, so ASan catches any read past the end */
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    nn_lesson lesson;
    nn_error err = {0};
    int rc = nn_lesson_parse(&lesson, "fuzz.lesson", text, size, &err);
    free(text);
    if (rc != NN_OK) {
        fuzz_check_refusal(&err, "fuzz.lesson");
        return 0;
    }
    /* A lesson that parses has steps, and every step's actions lie inside
     * the action list; every caption can be asked for in every language. */
    if (lesson.n_steps < 1)
        abort();
    for (int s = 0; s < lesson.n_steps; s++) {
        const nn_lesson_step *st = &lesson.steps[s];
        if (st->first < 0 || st->count < 0 || st->first + st->count > lesson.n_actions)
            abort();
        for (int lang = 0; lang < NN_LANG_COUNT; lang++)
            if (!nn_lesson_caption(&lesson, s, lang))
                abort();
    }
    nn_lesson_free(&lesson);
    return 0;
}
