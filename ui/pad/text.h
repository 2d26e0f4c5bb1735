/* Text for the pad: TrueType glyphs baked by stb_truetype into one texture
 * per size, at the window's real pixel density, so text stays sharp when
 * the window is scaled up on a projector. */
#ifndef PAD_TEXT_H
#define PAD_TEXT_H

#include <SDL.h>
#include <stb_truetype.h>

#include "error.h"

typedef struct pad_font {
    float size;             /* logical pixel height */
    float scale;            /* output pixels per logical pixel it was baked for */
    int first, count;       /* characters baked: first .. first+count-1 */
    float ascent;           /* logical pixels above the baseline */
    int atlas_w, atlas_h;
    stbtt_bakedchar *chars;
    SDL_Texture *atlas;
} pad_font;

/* Bake size-pixel glyphs first..first+count-1 of the TrueType data ttf
 * (kept by the caller) for drawing at scale output pixels per logical one. */
int pad_font_bake(pad_font *f, SDL_Renderer *r, const unsigned char *ttf, float size, float scale, int first,
                  int count, nn_error *err);
void pad_font_free(pad_font *f);
/* Width of text in logical pixels. */
float pad_text_width(const pad_font *f, const char *text);
/* Draw text with its top-left corner at (x, y) in logical pixels; returns
 * the x where it ended. */
float pad_text_draw(const pad_font *f, SDL_Renderer *r, float x, float y, SDL_Color colour, const char *text);

#endif
