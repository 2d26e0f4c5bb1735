/* PNG output through stb_image_write, compiled into this file alone (its
 * functions static) so that other files may use stb's headers freely. */
#include "png.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STBI_WRITE_NO_STDIO
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif
#include <stb_image_write.h>
/* Not popped: the unused static functions are reported at the end of the file. */

typedef struct png_sink {
    FILE *f;
    int failed;
} png_sink;

static void write_bytes(void *ctx, void *data, int size)
{
    png_sink *sink = ctx;
    if (!sink->failed && fwrite(data, 1, (size_t)size, sink->f) != (size_t)size)
        sink->failed = 1;
}

int nn_png_write_gray(const char *path, int width, int height, const unsigned char *pixels, nn_error *err)
{
    if (width < 1 || height < 1)
        return nn_error_set(err, NN_EINPUT, "%s: cannot write an empty %dx%d image", path, width, height);
    png_sink sink = {fopen(path, "wb"), 0};
    if (!sink.f)
        return nn_error_set(err, NN_ERUNTIME, "%s: cannot write: %s", path, strerror(errno));
    int ok = stbi_write_png_to_func(write_bytes, &sink, width, height, 1, pixels, width);
    int closed = fclose(sink.f) == 0;
    if (!ok || sink.failed || !closed) {
        remove(path);
        return nn_error_set(err, NN_ERUNTIME, "%s: error writing the PNG file", path);
    }
    return NN_OK;
}
