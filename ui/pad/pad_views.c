/* The pad's two views besides the canvas.  The weights view shows the first
 * layer's weights as images in a diverging colour map (blue negative, white
 * zero, red positive), one tile per dense unit (its 28x28 input weights) or
 * per convolution filter.  The latent explorer decodes a grid of points of a
 * variational autoencoder's 2-D code, and the point under the pointer. */
#include "pad_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "latent.h"

#define MAX_TILES 256
#define SCALE_SAMPLES 8192

/* How the first parameter tensor is cut into tiles. */
typedef struct tiling {
    const nn_node *node;
    int tiles, tile_w, tile_h;
    size_t tile_stride;   /* floats from one tile to the next */
    const char *what;     /* "units", "filters", "matrix" */
    int all;              /* tiles there are; more than MAX_TILES are not shown */
} tiling;

nn_graph *pad_graph(pad *p)
{
    return p->vae ? &p->decoder : &p->predictor.graph;
}

static void get_tiling(pad *p, tiling *t)
{
    const nn_graph *g = pad_graph(p);
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
    t->all = t->tiles;
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

void pad_weights_caption(pad *p, char *buf, size_t len)
{
    tiling t;
    get_tiling(p, &t);
    if (!t.node) {
        snprintf(buf, len, "this model has no weights");
        return;
    }
    if (t.tiles < t.all)
        snprintf(buf, len, "%s: the first %d of %d %s, %dx%d, blue < 0 < red", t.node->name, t.tiles, t.all, t.what,
                 t.tile_h, t.tile_w);
    else if (t.tiles > 1)
        snprintf(buf, len, "%s: %d %s of %dx%d, blue < 0 < red", t.node->name, t.tiles, t.what, t.tile_h, t.tile_w);
    else
        snprintf(buf, len, "%s: %dx%d, blue < 0 < red", t.node->name, t.tile_h, t.tile_w);
}

/* ---- the latent explorer ----------------------------------------------------- */

#define GRID_PERIOD 0.5 /* seconds between decodings of the whole grid */

/* The p-quantile of N(0, 1), by bisection on the normal CDF. */
static double normal_quantile(double prob)
{
    double lo = -10, hi = 10;
    for (int i = 0; i < 60; i++) {
        double mid = 0.5 * (lo + hi);
        if (0.5 * erfc(-mid / sqrt(2.0)) < prob)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

int pad_latent_textures(pad *p, nn_error *err)
{
    SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "linear");
    p->grid_tex = SDL_CreateTexture(p->renderer, SDL_PIXELFORMAT_ARGB8888, SDL_TEXTUREACCESS_STREAMING,
                                    PAD_GRID * NN_MNIST_SIDE, PAD_GRID * NN_MNIST_SIDE);
    SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "nearest");
    p->decoded_tex = SDL_CreateTexture(p->renderer, SDL_PIXELFORMAT_ARGB8888, SDL_TEXTUREACCESS_STREAMING,
                                       NN_MNIST_SIDE, NN_MNIST_SIDE);
    if (!p->grid_tex || !p->decoded_tex)
        return nn_error_set(err, NN_ERUNTIME, "pad: cannot make a texture: %s", SDL_GetError());
    p->grid_version = -2;
    p->decoded_uploaded = -1;
    return NN_OK;
}

/* Grey bytes or floats in [0,1] to a row of opaque pixels. */
static Uint32 grey(float v)
{
    Uint32 g = (Uint32)(fminf(fmaxf(v, 0.0f), 1.0f) * 255.0f + 0.5f);
    return 0xFF000000u | g << 16 | g << 8 | g;
}

int pad_latent_grid(pad *p, double now)
{
    if (p->grid_version == p->weights_version || now - p->grid_built < GRID_PERIOD)
        return 0;
    enum { SIDE = PAD_GRID * NN_MNIST_SIDE };
    static unsigned char pixels[SIDE * SIDE];
    int w, h;
    nn_error err;
    if (nn_latent_grid(&p->decoder, PAD_GRID, PAD_GRID, 1, pixels, &w, &h, &err) || w != SIDE || h != SIDE)
        return 0;
    void *dst;
    int pitch;
    if (SDL_LockTexture(p->grid_tex, NULL, &dst, &pitch) != 0)
        return 0;
    for (int y = 0; y < SIDE; y++) {
        Uint32 *row = (Uint32 *)((Uint8 *)dst + (size_t)y * pitch);
        for (int x = 0; x < SIDE; x++)
            row[x] = grey(pixels[y * SIDE + x] / 255.0f);
    }
    SDL_UnlockTexture(p->grid_tex);
    p->grid_version = p->weights_version;
    p->grid_built = now;
    return 1;
}

void pad_latent_decode(pad *p, float u, float v)
{
    u = fminf(fmaxf(u, 0.0f), 1.0f);
    v = fminf(fmaxf(v, 0.0f), 1.0f);
    p->z[0] = (float)normal_quantile(0.05 + 0.9 * u);
    p->z[1] = (float)normal_quantile(0.05 + 0.9 * (1.0 - v));
    nn_error err;
    if (nn_latent_decode(&p->decoder, p->z, 1, p->decoded, &err) == NN_OK)
        p->decodes++;
}

void pad_latent_upload(pad *p)
{
    if (p->decoded_uploaded == p->decodes)
        return;
    void *dst;
    int pitch;
    if (SDL_LockTexture(p->decoded_tex, NULL, &dst, &pitch) != 0)
        return;
    for (int y = 0; y < NN_MNIST_SIDE; y++) {
        Uint32 *row = (Uint32 *)((Uint8 *)dst + (size_t)y * pitch);
        for (int x = 0; x < NN_MNIST_SIDE; x++)
            row[x] = grey(p->pointing ? p->decoded[y * NN_MNIST_SIDE + x] : 0.0f);
    }
    SDL_UnlockTexture(p->decoded_tex);
    p->decoded_uploaded = p->decodes;
}
