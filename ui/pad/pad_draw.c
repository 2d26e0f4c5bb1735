/* Drawing the pad: one routine per panel, all in logical pixels (see the
 * layout in pad_internal.h), then one present. */
#include "pad_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const SDL_Color BG = {18, 20, 26, 255}, PANEL = {30, 33, 41, 255}, BORDER = {58, 63, 76, 255},
                       TEXT = {232, 234, 238, 255}, DIM = {140, 146, 158, 255}, ACCENT = {79, 195, 247, 255},
                       BAR = {66, 108, 168, 255}, TOP = {255, 183, 77, 255}, GOOD = {102, 187, 106, 255},
                       WARN = {255, 202, 40, 255}, BAD = {239, 83, 80, 255}, DONE = {126, 87, 194, 255};

static void fill(pad *p, float x, float y, float w, float h, SDL_Color c)
{
    SDL_SetRenderDrawColor(p->renderer, c.r, c.g, c.b, c.a);
    SDL_FRect r = {x, y, w, h};
    SDL_RenderFillRectF(p->renderer, &r);
}

static void outline(pad *p, float x, float y, float w, float h, SDL_Color c)
{
    SDL_SetRenderDrawColor(p->renderer, c.r, c.g, c.b, c.a);
    SDL_FRect r = {x, y, w, h};
    SDL_RenderDrawRectF(p->renderer, &r);
}

/* printf-style text; align 0 left at x, 1 right-aligned to x, 2 centred on x.
 * Returns the width drawn. */
static float text(pad *p, int font, float x, float y, int align, SDL_Color c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 7, 8)))
#endif
    ;

static float text(pad *p, int font, float x, float y, int align, SDL_Color c, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    const pad_font *f = &p->fonts[font];
    float w = pad_text_width(f, buf);
    if (align == 1)
        x -= w;
    else if (align == 2)
        x -= w / 2;
    pad_text_draw(f, p->renderer, x, y, c, buf);
    return w;
}

static void format_count(double v, char *buf, size_t len)
{
    if (v >= 1e6)
        snprintf(buf, len, "%.2fM", v / 1e6);
    else if (v >= 1e4)
        snprintf(buf, len, "%.1fk", v / 1e3);
    else
        snprintf(buf, len, "%.0f", v);
}

/* ---- header --------------------------------------------------------------- */

static void draw_header(pad *p)
{
    float x = 20;
    x += text(p, FONT_LARGE, x, 12, 0, ACCENT, "nnlab");
    char params[32];
    format_count((double)pad_graph(p)->param_count, params, sizeof params);
    text(p, FONT_NORMAL, x + 14, 17, 0, TEXT, "%s  (%s parameters)", p->cfg.title ? p->cfg.title : "model", params);

    const char *state = "SAVED MODEL";
    SDL_Color colour = DIM;
    if (p->monitor) {
        state = nn_state_name(p->status.state);
        switch (p->status.state) {
        case NN_STATE_RUNNING: colour = GOOD; break;
        case NN_STATE_PAUSED: colour = WARN; break;
        case NN_STATE_STEPPING: colour = ACCENT; break;
        case NN_STATE_DONE: colour = DONE; break;
        case NN_STATE_DIVERGED: colour = BAD; break;
        }
    }
    float w = pad_text_width(&p->fonts[FONT_NORMAL], state) + 24;
    fill(p, PAD_W - 20 - w, 12, w, 30, colour);
    text(p, FONT_NORMAL, PAD_W - 20 - w / 2, 16, 2, BG, "%s", state);
}

/* ---- the canvas ------------------------------------------------------------- */

/* The canvas texture has a texel per logical pixel, so drawing it needs no
 * scaling; only the part the brush changed is converted and uploaded.
 * Returns 1 and that part (texture pixels) in *changed, 0 if none. */
static int upload_canvas(pad *p, SDL_Rect *changed)
{
    if (p->canvas_uploaded == p->canvas.version)
        return 0;
    int x0, y0, x1, y1;
    nn_canvas_take_dirty(&p->canvas, &x0, &y0, &x1, &y1);
    p->canvas_uploaded = p->canvas.version;
    if (x0 >= x1 || y0 >= y1)
        return 0;
    const int z = PAD_CANVAS_ZOOM;
    SDL_Rect rect = {x0 * z, y0 * z, (x1 - x0) * z, (y1 - y0) * z};
    void *pixels;
    int pitch;
    if (SDL_LockTexture(p->canvas_tex, &rect, &pixels, &pitch) != 0)
        return 0;
    const float *ink = p->canvas.ink;
    for (int y = y0; y < y1; y++) {
        const float *src = ink + (size_t)y * NN_CANVAS_SIZE;
        for (int dy = 0; dy < z; dy++) {
            Uint32 *row = (Uint32 *)((Uint8 *)pixels + (size_t)((y - y0) * z + dy) * pitch);
            for (int x = x0; x < x1; x++) {
                float v = src[x];
                /* Paper a shade lighter than the window, ink white. */
                Uint32 r = (Uint32)(14 + v * 241), g = (Uint32)(16 + v * 239), b = (Uint32)(21 + v * 234);
                Uint32 c = 0xFF000000u | r << 16 | g << 8 | b;
                for (int dx = 0; dx < z; dx++)
                    row[(x - x0) * z + dx] = c;
            }
        }
    }
    SDL_UnlockTexture(p->canvas_tex);
    *changed = rect;
    return 1;
}

static void draw_canvas(pad *p)
{
    const float x = PAD_CANVAS_X, y = PAD_CANVAS_Y, side = NN_CANVAS_SIZE * PAD_CANVAS_ZOOM;
    SDL_Rect changed;
    upload_canvas(p, &changed);
    SDL_FRect dst = {x, y, side, side};
    SDL_RenderCopyF(p->renderer, p->canvas_tex, NULL, &dst);
    outline(p, x - 1, y - 1, side + 2, side + 2, BORDER);
    if (p->label < 0 && !p->canvas.pen) {
        text(p, FONT_LARGE, x + side / 2, y + side / 2 - 40, 2, DIM, "Draw a digit here");
        text(p, FONT_SMALL, x + side / 2, y + side / 2, 2, DIM, "left button draws, right button erases");
        text(p, FONT_SMALL, x + side / 2, y + side / 2 + 22, 2, DIM, "c or Backspace clears");
    }
}

static void draw_weights(pad *p)
{
    const float x = PAD_CANVAS_X, y = PAD_CANVAS_Y, side = NN_CANVAS_SIZE * PAD_CANVAS_ZOOM;
    fill(p, x, y, side, side, PANEL);
    outline(p, x - 1, y - 1, side + 2, side + 2, BORDER);
    if (p->weights_shown != p->weights_version || !p->weights_tex) {
        if (pad_build_weights(p) == 0)
            p->weights_shown = p->weights_version;
    }
    char caption[160];
    pad_weights_caption(p, caption, sizeof caption);
    text(p, FONT_SMALL, x + 10, y + 8, 0, TEXT, "%s", caption);
    text(p, FONT_SMALL, x + side - 10, y + 8, 1, DIM, p->vae ? "w: back to the plane" : "w: back to drawing");
    if (!p->weights_tex)
        return;
    float room_y = y + 34, room = side - 44;
    float zoom = fminf(room / (float)p->weights_tex_w, room / (float)p->weights_tex_h);
    float w = zoom * (float)p->weights_tex_w, h = zoom * (float)p->weights_tex_h;
    SDL_FRect dst = {x + (side - w) / 2, room_y + (room - h) / 2, w, h};
    SDL_RenderCopyF(p->renderer, p->weights_tex, NULL, &dst);
}

/* ---- the latent explorer ---------------------------------------------------------- */

static void draw_latent(pad *p)
{
    const float x = PAD_CANVAS_X, y = PAD_CANVAS_Y, side = NN_CANVAS_SIZE * PAD_CANVAS_ZOOM;
    SDL_FRect dst = {x, y, side, side};
    SDL_RenderCopyF(p->renderer, p->grid_tex, NULL, &dst);
    outline(p, x - 1, y - 1, side + 2, side + 2, BORDER);
    if (p->pointing) {
        float px = x + p->latent_u * side, py = y + p->latent_v * side;
        SDL_Color cross = {TOP.r, TOP.g, TOP.b, 200};
        fill(p, px - 12, py - 1, 24, 2, cross);
        fill(p, px - 1, py - 12, 2, 24, cross);
    }
}

/* What the decoder makes of the point under the pointer. */
static void draw_decoded(pad *p)
{
    const float x = PAD_SIDE_X, y = PAD_CANVAS_Y;
    text(p, FONT_SMALL, x, y, 0, DIM, "decoded at the pointer (28x28)");
    pad_latent_upload(p);
    SDL_FRect dst = {x, y + 22, 168, 168};
    SDL_RenderCopyF(p->renderer, p->decoded_tex, NULL, &dst);
    outline(p, x - 1, y + 21, 170, 170, BORDER);
    const float cx = 908;
    text(p, FONT_SMALL, cx, y, 2, DIM, "latent code");
    if (!p->pointing) {
        text(p, FONT_NORMAL, cx, y + 80, 2, DIM, "move the pointer over");
        text(p, FONT_NORMAL, cx, y + 104, 2, DIM, "the plane to decode it");
        return;
    }
    text(p, FONT_LARGE, cx, y + 60, 2, TOP, "z1 %+.2f", p->z[0]);
    text(p, FONT_LARGE, cx, y + 100, 2, TOP, "z2 %+.2f", p->z[1]);
}

static void draw_latent_note(pad *p)
{
    static const char *lines[] = {
        "A variational autoencoder squeezes each digit",
        "into two numbers, z1 and z2, and its decoder",
        "turns any such pair back into a digit.",
        "",
        "The plane on the left decodes a 15x15 grid of",
        "codes, spread as N(0,1) is: z1 grows to the",
        "right, z2 upwards. As it trains, similar digits",
        "gather in regions and blend at the borders.",
    };
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
        text(p, FONT_NORMAL, PAD_SIDE_X, 264 + 26 * (float)i, 0, i < 3 ? TEXT : DIM, "%s", lines[i]);
}

/* ---- the right-hand column ------------------------------------------------------ */

static void upload_seen(pad *p)
{
    if (p->seen_uploaded == p->predictions)
        return;
    void *pixels;
    int pitch;
    if (SDL_LockTexture(p->seen_tex, NULL, &pixels, &pitch) != 0)
        return;
    for (int y = 0; y < NN_MNIST_SIDE; y++) {
        Uint32 *row = (Uint32 *)((Uint8 *)pixels + (size_t)y * pitch);
        for (int x = 0; x < NN_MNIST_SIDE; x++) {
            float v = p->label >= 0 ? p->seen[y * NN_MNIST_SIDE + x] : 0.0f;
            Uint32 g = (Uint32)(v * 255.0f + 0.5f);
            row[x] = 0xFF000000u | g << 16 | g << 8 | g;
        }
    }
    SDL_UnlockTexture(p->seen_tex);
    p->seen_uploaded = p->predictions;
}

static void draw_prediction(pad *p)
{
    const float x = PAD_SIDE_X, y = PAD_CANVAS_Y;
    text(p, FONT_SMALL, x, y, 0, DIM, "what the network sees (28x28)");
    upload_seen(p);
    SDL_FRect dst = {x, y + 22, 168, 168};
    SDL_RenderCopyF(p->renderer, p->seen_tex, NULL, &dst);
    outline(p, x - 1, y + 21, 170, 170, BORDER);

    const float cx = 908;
    text(p, FONT_SMALL, cx, y, 2, DIM, "prediction");
    if (p->label < 0) {
        text(p, FONT_NORMAL, cx, y + 80, 2, DIM, "draw a digit to see");
        text(p, FONT_NORMAL, cx, y + 104, 2, DIM, "what the network thinks");
        return;
    }
    char digit[2] = {(char)('0' + (p->label < 10 ? p->label : 0)), 0};
    text(p, FONT_HUGE, cx, y + 4, 2, TOP, "%s", p->label < 10 ? digit : "?");
    text(p, FONT_NORMAL, cx, y + 166, 2, TEXT, "%.1f%% sure", 100.0 * p->probs[p->label]);
}

static void draw_bars(pad *p)
{
    const float x = PAD_SIDE_X, y0 = 262, row = 22, bar_x = x + 26, bar_w = 330;
    int k = p->predictor.classes < 10 ? p->predictor.classes : 10;
    for (int c = 0; c < k; c++) {
        float y = y0 + row * (float)c;
        int top = c == p->label;
        text(p, FONT_NORMAL, x + 6, y, 0, top ? TOP : TEXT, "%d", c);
        fill(p, bar_x, y + 3, bar_w, row - 6, PANEL);
        if (p->label < 0)
            continue;
        float v = p->probs[c];
        v = v < 0 ? 0 : v > 1 ? 1 : v;
        if (v > 0)
            fill(p, bar_x, y + 3, fmaxf(1.0f, v * bar_w), row - 6, top ? TOP : BAR);
        text(p, FONT_SMALL, PAD_W - 20, y + 2, 1, top ? TOP : DIM, "%.1f%%", 100.0 * v);
    }
}

/* The projector's readout: the accuracy (or a VAE's loss) in large type,
 * what it is and where training is in one line above it. */
static void draw_readout(pad *p)
{
    const float x = PAD_SIDE_X, y = 496;
    const nn_run_status *st = &p->status;
    fill(p, x - 8, y - 8, PAD_W - 20 - (x - 8), 124, PANEL);
    text(p, FONT_NORMAL, x, y, 0, TEXT, "epoch %d/%d   step %ld   lr %.3g",
         st->epoch + (st->state == NN_STATE_DONE ? 0 : 1), st->hp.epochs, st->step, st->lr_now);
    if (st->state == NN_STATE_DIVERGED) {
        text(p, FONT_BIG, x, y + 28, 0, BAD, "DIVERGED");
        return;
    }
    float w;
    if (p->vae) {
        w = text(p, FONT_BIG, x, y + 28, 0, TOP, "%.1f", p->evaluated ? p->test_loss : st->loss_smooth);
        text(p, FONT_NORMAL, x + w + 16, y + 62, 0, DIM, p->evaluated ? "test loss" : "loss");
    } else {
        w = text(p, FONT_BIG, x, y + 28, 0, TOP, "%.1f%%",
                 100.0 * (p->evaluated ? p->test_accuracy : st->accuracy_smooth));
        text(p, FONT_NORMAL, x + w + 16, y + 62, 0, DIM, p->evaluated ? "test accuracy" : "accuracy (training)");
    }
}

static void draw_trainer(pad *p)
{
    const float x = PAD_SIDE_X, y = 496, line = 25;
    if (p->cfg.big && p->monitor) {
        draw_readout(p);
        return;
    }
    fill(p, x - 8, y - 8, PAD_W - 20 - (x - 8), 124, PANEL);
    if (!p->monitor) {
        text(p, FONT_NORMAL, x, y, 0, TEXT, "A saved model; nothing is training.");
        /* about: up to three lines, split at '\n' */
        const char *about = p->cfg.about;
        for (int k = 1; about && *about && k <= 3; k++) {
            size_t len = strcspn(about, "\n");
            text(p, FONT_NORMAL, x, y + k * line, 0, DIM, "%.*s", (int)len, about);
            about += len + (about[len] == '\n');
        }
        return;
    }
    const nn_run_status *st = &p->status;
    char rate[32];
    format_count(st->samples_per_sec, rate, sizeof rate);
    text(p, FONT_NORMAL, x, y, 0, TEXT, "epoch %d/%d   step %ld", st->epoch + (st->state == NN_STATE_DONE ? 0 : 1),
         st->hp.epochs, st->step);
    if (p->vae) { /* no classes: the loss is all there is */
        text(p, FONT_NORMAL, x, y + line, 0, TEXT, "loss %.2f (negative ELBO per image)", st->loss_smooth);
        if (p->evaluated)
            text(p, FONT_NORMAL, x, y + 2 * line, 0, TEXT, "test loss %.2f (last epoch)", p->test_loss);
        else
            text(p, FONT_NORMAL, x, y + 2 * line, 0, DIM, "test loss after the first epoch");
    } else {
        text(p, FONT_NORMAL, x, y + line, 0, TEXT, "loss %.4f   accuracy %.1f%%", st->loss_smooth,
             100.0 * st->accuracy_smooth);
        if (p->evaluated)
            text(p, FONT_NORMAL, x, y + 2 * line, 0, TEXT, "test accuracy %.2f%% (last epoch)",
                 100.0 * p->test_accuracy);
        else
            text(p, FONT_NORMAL, x, y + 2 * line, 0, DIM, "test accuracy after the first epoch");
    }
    text(p, FONT_NORMAL, x, y + 3 * line, 0, TEXT, "lr %.3g %s   %s samples/s", st->lr_now,
         nn_optimizer_name(st->hp.optimizer), rate);
    if (st->state == NN_STATE_DIVERGED && isfinite(st->diverged_loss))
        text(p, FONT_SMALL, x, y + 4 * line - 2, 0, BAD, "the loss reached %.3g: b goes back to the last good weights",
             st->diverged_loss);
    else if (st->state == NN_STATE_DIVERGED)
        text(p, FONT_SMALL, x, y + 4 * line - 2, 0, BAD, "%s went NaN/Inf: b goes back to the last good weights",
             st->bad_name);
}

/* ---- footer and help ------------------------------------------------------------ */

static void draw_footer(pad *p)
{
    const float y = PAD_H - 20;
    if (p->message[0]) {
        text(p, FONT_SMALL, 20, y, 0, ACCENT, "%s", p->message);
        return;
    }
    if (p->monitor)
        text(p, FONT_SMALL, 20, y, 0, DIM,
             "space pause   n batch   e epoch   +/- lr   </> speed   r reset   s save   w weights   %s? help   q quit",
             p->vae ? "" : "c clear   ");
    else if (p->vae)
        text(p, FONT_SMALL, 20, y, 0, DIM, "point at the plane to decode   w weights   ? help   q quit");
    else
        text(p, FONT_SMALL, 20, y, 0, DIM, "w weights   c clear   ? help   q quit");
}

static void draw_help(pad *p)
{
    static const char *lines[][2] = {
        {"left button", "draw"},          {"right button", "erase"},
        {"c, Backspace", "clear"},        {"w", "first layer's weights / drawing"},
        {"space", "pause / resume"},      {"n", "train one batch"},
        {"e", "train to the end of the epoch"}, {"+  -", "learning rate x2 / /2"},
        {"<  >", "slower / faster (steps per second)"}, {"r", "reset to the initial weights"},
        {"b", "back to the last good weights"}, {"s", "save a checkpoint"},
        {"?", "this help"},               {"q", "quit"},
    };
    int n = (int)(sizeof lines / sizeof *lines);
    float w = 560, h = 60 + 26 * (float)n, x = (PAD_W - w) / 2, y = (PAD_H - h) / 2;
    fill(p, 0, 0, PAD_W, PAD_H, (SDL_Color){0, 0, 0, 150});
    fill(p, x, y, w, h, PANEL);
    outline(p, x, y, w, h, BORDER);
    text(p, FONT_LARGE, x + 24, y + 14, 0, ACCENT, "Keys");
    for (int i = 0; i < n; i++) {
        text(p, FONT_NORMAL, x + 24, y + 52 + 26 * (float)i, 0, TOP, "%s", lines[i][0]);
        text(p, FONT_NORMAL, x + 200, y + 52 + 26 * (float)i, 0, TEXT, "%s", lines[i][1]);
    }
}

/* Where each panel lies, with its border. */
static SDL_Rect panel_rect(int panel)
{
    switch (panel) {
    case PANEL_HEADER: return (SDL_Rect){0, 0, PAD_W, 50};
    case PANEL_LEFT: return (SDL_Rect){PAD_CANVAS_X - 2, PAD_CANVAS_Y - 2, NN_CANVAS_SIZE * PAD_CANVAS_ZOOM + 4,
                                       NN_CANVAS_SIZE * PAD_CANVAS_ZOOM + 4};
    case PANEL_PREDICTION: return (SDL_Rect){PAD_SIDE_X - 2, PAD_CANVAS_Y - 2, PAD_W - PAD_SIDE_X, 200};
    case PANEL_BARS: return (SDL_Rect){PAD_SIDE_X - 2, 258, PAD_W - PAD_SIDE_X, 228};
    case PANEL_TRAINER: return (SDL_Rect){PAD_SIDE_X - 10, 486, PAD_W - PAD_SIDE_X + 10, 130};
    default: return (SDL_Rect){0, PAD_H - 22, PAD_W, 22}; /* PANEL_FOOTER */
    }
}

static void draw_panel(pad *p, int panel)
{
    switch (panel) {
    case PANEL_HEADER: draw_header(p); break;
    case PANEL_LEFT:
        if (p->view == VIEW_WEIGHTS)
            draw_weights(p);
        else if (p->view == VIEW_LATENT)
            draw_latent(p);
        else
            draw_canvas(p);
        break;
    case PANEL_PREDICTION:
        if (p->vae)
            draw_decoded(p);
        else
            draw_prediction(p);
        break;
    case PANEL_BARS:
        if (p->vae)
            draw_latent_note(p);
        else
            draw_bars(p);
        break;
    case PANEL_TRAINER: draw_trainer(p); break;
    case PANEL_FOOTER: draw_footer(p); break;
    }
}

/* A logical rectangle in the window's pixels, as SDL's logical scaling
 * places it (centred, scaled by the smaller ratio), a pixel wider all
 * round for rounding and filtering. */
static SDL_Rect to_window(pad *p, SDL_Rect r)
{
    int w, h;
    SDL_GetWindowSize(p->window, &w, &h);
    float s = fminf((float)w / PAD_W, (float)h / PAD_H);
    float ox = ((float)w - PAD_W * s) / 2, oy = ((float)h - PAD_H * s) / 2;
    int x0 = (int)floorf(ox + (float)r.x * s) - 1, y0 = (int)floorf(oy + (float)r.y * s) - 1;
    int x1 = (int)ceilf(ox + (float)(r.x + r.w) * s) + 1, y1 = (int)ceilf(oy + (float)(r.y + r.h) * s) + 1;
    x0 = x0 < 0 ? 0 : x0;
    y0 = y0 < 0 ? 0 : y0;
    x1 = x1 > w ? w : x1;
    y1 = y1 > h ? h : y1;
    return (SDL_Rect){x0, y0, x1 - x0, y1 - y0};
}

void pad_render(pad *p, int damage)
{
    int left_whole = p->left_full;
    if (damage & PANEL_LEFT)
        p->left_full = 0;
    if (!p->partial || damage == PANEL_ALL || p->show_help) {
        SDL_SetRenderDrawColor(p->renderer, BG.r, BG.g, BG.b, 255);
        SDL_RenderClear(p->renderer);
        for (int panel = 1; panel < PANEL_ALL; panel <<= 1)
            draw_panel(p, panel);
        if (p->show_help)
            draw_help(p);
        SDL_RenderPresent(p->renderer);
        return;
    }
    /* The software renderer draws straight into the window's pixels: draw
     * the damaged panels alone and send only them to the display, which is
     * most of the cost of a frame. */
    SDL_Rect shown[8];
    int n = 0;
    for (int panel = 1; panel < PANEL_ALL; panel <<= 1) {
        if (!(damage & panel))
            continue;
        if (panel == PANEL_LEFT && p->view == VIEW_CANVAS && !left_whole) {
            /* A stroke: only the part of the canvas it touched. */
            SDL_Rect part;
            if (upload_canvas(p, &part)) {
                SDL_Rect dst = {PAD_CANVAS_X + part.x, PAD_CANVAS_Y + part.y, part.w, part.h};
                SDL_RenderCopy(p->renderer, p->canvas_tex, &part, &dst);
                shown[n++] = to_window(p, dst);
            }
            continue;
        }
        SDL_Rect r = panel_rect(panel);
        SDL_RenderSetClipRect(p->renderer, &r);
        fill(p, (float)r.x, (float)r.y, (float)r.w, (float)r.h, BG);
        draw_panel(p, panel);
        shown[n++] = to_window(p, r);
    }
    SDL_RenderSetClipRect(p->renderer, NULL);
    SDL_RenderFlush(p->renderer);
    if (n)
        SDL_UpdateWindowSurfaceRects(p->window, shown, n);
}
