/* Baked-font text drawing: one glyph quad per character from the atlas. */
#include "text.h"

#include <stdlib.h>
#include <string.h>

int pad_font_bake(pad_font *f, SDL_Renderer *r, const unsigned char *ttf, float size, float scale, int first,
                  int count, nn_error *err)
{
    memset(f, 0, sizeof *f);
    stbtt_fontinfo info;
    if (!stbtt_InitFont(&info, ttf, stbtt_GetFontOffsetForIndex(ttf, 0)))
        return nn_error_set(err, NN_EINPUT, "pad: the font is not a TrueType font");
    float px = size * scale;
    f->chars = calloc((size_t)count, sizeof *f->chars);
    if (!f->chars)
        return nn_error_set(err, NN_ERUNTIME, "pad: out of memory for a font");
    /* Grow the atlas until every glyph fits. */
    unsigned char *bitmap = NULL;
    int w = 256, h = 256;
    for (;;) {
        free(bitmap);
        bitmap = malloc((size_t)w * h);
        if (!bitmap) {
            pad_font_free(f);
            return nn_error_set(err, NN_ERUNTIME, "pad: out of memory for a font atlas");
        }
        if (stbtt_BakeFontBitmap(ttf, 0, px, bitmap, w, h, first, count, f->chars) > 0)
            break;
        if (w > 8192) {
            free(bitmap);
            pad_font_free(f);
            return nn_error_set(err, NN_ERUNTIME, "pad: %.0f px glyphs do not fit a font atlas", px);
        }
        if (w == h)
            w *= 2;
        else
            h *= 2;
    }
    SDL_Surface *s = SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_ARGB8888);
    if (!s) {
        free(bitmap);
        pad_font_free(f);
        return nn_error_set(err, NN_ERUNTIME, "pad: %s", SDL_GetError());
    }
    for (int y = 0; y < h; y++) {
        Uint32 *row = (Uint32 *)((Uint8 *)s->pixels + (size_t)y * s->pitch);
        for (int x = 0; x < w; x++)
            row[x] = (Uint32)bitmap[(size_t)y * w + x] << 24 | 0xFFFFFFu;
    }
    free(bitmap);
    f->atlas = SDL_CreateTextureFromSurface(r, s);
    SDL_FreeSurface(s);
    if (!f->atlas) {
        pad_font_free(f);
        return nn_error_set(err, NN_ERUNTIME, "pad: %s", SDL_GetError());
    }
    SDL_SetTextureBlendMode(f->atlas, SDL_BLENDMODE_BLEND);
    int ascent, descent, gap;
    stbtt_GetFontVMetrics(&info, &ascent, &descent, &gap);
    f->ascent = (float)ascent * stbtt_ScaleForPixelHeight(&info, px) / scale;
    f->size = size;
    f->scale = scale;
    f->first = first;
    f->count = count;
    f->atlas_w = w;
    f->atlas_h = h;
    return NN_OK;
}

void pad_font_free(pad_font *f)
{
    if (f->atlas)
        SDL_DestroyTexture(f->atlas);
    free(f->chars);
    memset(f, 0, sizeof *f);
}

float pad_text_width(const pad_font *f, const char *text)
{
    float w = 0;
    for (const unsigned char *c = (const unsigned char *)text; *c; c++)
        if (*c >= f->first && *c < f->first + f->count)
            w += f->chars[*c - f->first].xadvance;
    return w / f->scale;
}

float pad_text_draw(const pad_font *f, SDL_Renderer *r, float x, float y, SDL_Color colour, const char *text)
{
    if (!f->atlas)
        return x;
    SDL_SetTextureColorMod(f->atlas, colour.r, colour.g, colour.b);
    SDL_SetTextureAlphaMod(f->atlas, colour.a);
    /* Glyph positions are computed in output pixels from a baseline at the
     * origin and mapped back to logical pixels. */
    float px = 0, py = 0;
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c < f->first || *c >= f->first + f->count)
            continue;
        stbtt_aligned_quad q;
        stbtt_GetBakedQuad(f->chars, f->atlas_w, f->atlas_h, *c - f->first, &px, &py, &q, 1);
        SDL_Rect src = {(int)(q.s0 * f->atlas_w + 0.5f), (int)(q.t0 * f->atlas_h + 0.5f),
                        (int)((q.s1 - q.s0) * f->atlas_w + 0.5f), (int)((q.t1 - q.t0) * f->atlas_h + 0.5f)};
        SDL_FRect dst = {x + q.x0 / f->scale, y + f->ascent + q.y0 / f->scale, (q.x1 - q.x0) / f->scale,
                         (q.y1 - q.y0) / f->scale};
        SDL_RenderCopyF(r, f->atlas, &src, &dst);
    }
    return x + px / f->scale;
}
