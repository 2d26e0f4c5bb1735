/* The weights view: the first layer's weights as images in a diverging
 * colour map (blue negative, white zero, red positive), one tile per dense
 * unit (its 28x28 input weights) or per convolution filter. */
#include "pad_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TILES 256
#define SCALE_SAMPLES 8192

/* How the first parameter tensor is cut into tiles. */
typedef struct tiling {
    const nn_node *node;
    int tiles, tile_w, tile_h;
    size_t tile_stride;   /* floats from one tile to the next */
    const char *what;     /* "units", "filters", "matrix" */
} tiling;

static void get_tiling(const pad *p, tiling *t)
{
    const nn_graph *g = &p->predictor.graph;
    memset(t, 0, sizeof *t);
    if (g->n_param_tensors < 1)
        return;
    const nn_node *w = &g->nodes[g->param_nodes[0]];
    t->node = w;
    if (w->ndim == 2 && w->dim[1] == NN_MNIST_SIDE * NN_MNIST_SIDE) {
        t->tiles = w->dim[0];
        t->tile_w = t->tile_h = NN_MNIST_SIDE;
        t->what = "units";
    } else if (w->ndim == 4) { /* [out, in, kh, kw] */
        t->tiles = w->dim[0] * w->dim[1];
        t->tile_h = w->dim[2];
        t->tile_w = w->dim[3];
        t->what = "filters";
    } else if (w->ndim == 2) {
        t->tiles = 1;
        t->tile_h = w->dim[0];
        t->tile_w = w->dim[1];
        t->what = "matrix";
    } else {
        t->tiles = 1;
        t->tile_h = 1;
        t->tile_w = (int)w->size;
        t->what = "vector";
    }
    t->tile_stride = (size_t)t->tile_w * t->tile_h;
    if (t->tiles > MAX_TILES)
        t->tiles = MAX_TILES;
}

static int compare_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The colour scale: the 99th percentile of |w|, so one outlier does not
 * wash out the rest. */
static float weight_scale(const float *w, size_t n)
{
    static float sample[SCALE_SAMPLES];
    size_t step = n > SCALE_SAMPLES ? n / SCALE_SAMPLES : 1, m = 0;
    for (size_t i = 0; i < n && m < SCALE_SAMPLES; i += step)
        sample[m++] = isfinite(w[i]) ? fabsf(w[i]) : 0.0f;
    if (!m)
        return 1.0f;
    qsort(sample, m, sizeof *sample, compare_float);
    float s = sample[(size_t)(0.99 * (double)(m - 1))];
    return s > 1e-12f ? s : 1.0f;
}

/* Red-white-blue, reversed RdBu: t in [-1, 1]. */
static Uint32 diverging(float t)
{
    static const float stops[5][3] = {
        {33, 102, 172}, {146, 197, 222}, {247, 247, 247}, {244, 165, 130}, {178, 24, 43}};
    if (!isfinite(t))
        return 0xFF000000u;
    t = t < -1 ? -1 : t > 1 ? 1 : t;
    float u = (t + 1) * 2; /* 0..4 */
    int i = u >= 4 ? 3 : (int)u;
    float f = u - (float)i;
    Uint32 rgb[3];
    for (int k = 0; k < 3; k++)
        rgb[k] = (Uint32)(stops[i][k] + f * (stops[i + 1][k] - stops[i][k]) + 0.5f);
    return 0xFF000000u | rgb[0] << 16 | rgb[1] << 8 | rgb[2];
}

int pad_build_weights(pad *p)
{
    tiling t;
    get_tiling(p, &t);
    if (!t.node || t.tiles < 1)
        return -1;
    int cols = (int)ceil(sqrt((double)t.tiles * t.tile_h / t.tile_w));
    if (cols < 1)
        cols = 1;
    if (cols > t.tiles)
        cols = t.tiles;
    int rows = (t.tiles + cols - 1) / cols;
    int tex_w = cols * (t.tile_w + 1) + 1, tex_h = rows * (t.tile_h + 1) + 1;
    if (tex_w > 4096 || tex_h > 4096)
        return -1;
    if (!p->weights_tex || p->weights_tex_w != tex_w || p->weights_tex_h != tex_h) {
        if (p->weights_tex)
            SDL_DestroyTexture(p->weights_tex);
        SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "nearest");
        p->weights_tex = SDL_CreateTexture(p->renderer, SDL_PIXELFORMAT_ARGB8888, SDL_TEXTUREACCESS_STREAMING,
                                           tex_w, tex_h);
        if (!p->weights_tex)
            return -1;
        p->weights_tex_w = tex_w;
        p->weights_tex_h = tex_h;
    }
    void *pixels;
    int pitch;
    if (SDL_LockTexture(p->weights_tex, NULL, &pixels, &pitch) != 0)
        return -1;
    for (int y = 0; y < tex_h; y++) { /* the grid lines */
        Uint32 *row = (Uint32 *)((Uint8 *)pixels + (size_t)y * pitch);
        for (int x = 0; x < tex_w; x++)
            row[x] = 0xFF1E2129u;
    }
    const float *w = t.node->value;
    float scale = weight_scale(w, t.node->size);
    for (int i = 0; i < t.tiles; i++) {
        int ox = 1 + (i % cols) * (t.tile_w + 1), oy = 1 + (i / cols) * (t.tile_h + 1);
        const float *tile = w + (size_t)i * t.tile_stride;
        for (int y = 0; y < t.tile_h; y++) {
            Uint32 *row = (Uint32 *)((Uint8 *)pixels + (size_t)(oy + y) * pitch) + ox;
            for (int x = 0; x < t.tile_w; x++)
                row[x] = diverging(tile[y * t.tile_w + x] / scale);
        }
    }
    SDL_UnlockTexture(p->weights_tex);
    return 0;
}

void pad_weights_caption(const pad *p, char *buf, size_t len)
{
    tiling t;
    get_tiling(p, &t);
    if (!t.node) {
        snprintf(buf, len, "this model has no weights");
        return;
    }
    if (t.tiles > 1)
        snprintf(buf, len, "%s: %d %s of %dx%d, blue < 0 < red", t.node->name, t.tiles, t.what, t.tile_h, t.tile_w);
    else
        snprintf(buf, len, "%s: %dx%d, blue < 0 < red", t.node->name, t.tile_h, t.tile_w);
}
