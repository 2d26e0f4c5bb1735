/* Helpers of the fuzz targets whose parsers read text. */
#ifndef FUZZ_TEXT_H
#define FUZZ_TEXT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

/* The input as a NUL-terminated string (free it), or NULL. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text) {
        memcpy(text, data, size);
        text[size] = '\0';
    }
    return text;
}

/* A parser's refusal must name the place, "SOURCE:LINE:COL: ...", and be
 * bad input (or, out of memory, a runtime error): anything else aborts. */
static inline void fuzz_check_refusal(const nn_error *err, const char *source)
{
    size_t n = strlen(source);
    if (strncmp(err->msg, source, n) != 0 || err->msg[n] != ':' ||
        (err->code != NN_EINPUT && err->code != NN_ERUNTIME))
        abort();
}

#endif
