/* The pad's input: the mouse on the canvas or the latent plane, the keys
 * (the dashboard's training keys, sent as session commands), classifying
 * the drawing, and the --events log. */
#include "pad_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define VISIBLE_CHANGE 5e-4f /* smaller moves of a probability do not show */

/* ---- events log ---------------------------------------------------------- */

void pad_log_prediction(pad *p, const char *cause, double latency_ms)
{
    FILE *f = p->cfg.events;
    if (!f)
        return;
    fprintf(f, "{\"event\":\"prediction\",\"time\":%.4f,\"cause\":\"%s\",", pad_now() - p->start, cause);
    if (p->label < 0) {
        fputs("\"label\":null,\"probs\":null", f);
    } else {
        fprintf(f, "\"label\":%d,\"probs\":[", p->label);
        for (int k = 0; k < p->predictor.classes; k++)
            fprintf(f, "%s%.6g", k ? "," : "", p->probs[k]);
        fputc(']', f);
    }
    if (p->monitor)
        fprintf(f, ",\"step\":%ld,\"epoch\":%d,\"state\":\"%s\",\"weights_version\":%ld", p->status.step,
                p->status.epoch, nn_state_name(p->status.state), p->weights_version);
    if (latency_ms >= 0)
        fprintf(f, ",\"latency_ms\":%.3f,\"classify_ms\":%.3f,\"render_ms\":%.3f,\"render_cpu_ms\":%.3f",
                latency_ms, p->classify_ms, p->render_ms, p->render_cpu_ms);
    fputs("}\n", f);
    fflush(f);
}

void pad_log_latent(pad *p, double latency_ms)
{
    FILE *f = p->cfg.events;
    if (!f)
        return;
    fprintf(f, "{\"event\":\"latent\",\"time\":%.4f,", pad_now() - p->start);
    if (p->pointing)
        fprintf(f, "\"z\":[%.4f,%.4f]", p->z[0], p->z[1]);
    else
        fputs("\"z\":null", f);
    if (p->monitor)
        fprintf(f, ",\"step\":%ld,\"state\":\"%s\"", p->status.step, nn_state_name(p->status.state));
    if (latency_ms >= 0)
        fprintf(f, ",\"latency_ms\":%.3f", latency_ms);
    fputs("}\n", f);
    fflush(f);
}

static void log_key(pad *p, const char *key, const char *action)
{
    if (p->cfg.events) {
        fprintf(p->cfg.events, "{\"event\":\"key\",\"time\":%.4f,\"key\":\"%s\",\"action\":\"%s\"}\n",
                pad_now() - p->start, key, action);
        fflush(p->cfg.events);
    }
}

void pad_say(pad *p, const char *text)
{
    snprintf(p->message, sizeof p->message, "%.*s", (int)sizeof p->message - 1, text);
    p->message_until = pad_now() + 3.0;
    p->damage |= PANEL_FOOTER;
}

/* ---- classification ------------------------------------------------------- */

/* Classify the canvas.  After a drawing change the screen is redrawn at
 * once; after new weights only if a bar visibly moved. */
void pad_classify(pad *p, int stroke)
{
    nn_error err;
    float before[NN_PREDICTOR_MAX_CLASSES];
    int label_before = p->label;
    memcpy(before, p->probs, sizeof before);
    if (nn_predictor_classify_ink(&p->predictor, p->canvas.ink, p->canvas.width, p->canvas.height,
                                  p->canvas.width, p->seen, p->probs, &p->label, &p->info, &err)) {
        pad_say(p, err.msg);
        return;
    }
    for (int k = 0; k < p->predictor.classes && p->label >= 0; k++)
        if (!isfinite(p->probs[k])) { /* diverged weights: no honest answer */
            p->label = -1;
            break;
        }
    p->predictions++;
    if (stroke) {
        p->damage |= PANEL_LEFT | PANEL_PREDICTION | PANEL_BARS;
        if ((p->label < 0) != (label_before < 0)) /* the hint comes or goes */
            p->left_full = 1;
        return;
    }
    int moved = p->label != label_before;
    for (int k = 0; k < p->predictor.classes && !moved; k++)
        moved = fabsf(p->probs[k] - before[k]) >= VISIBLE_CHANGE;
    if (moved)
        p->stale_prediction |= PANEL_PREDICTION | PANEL_BARS;
}

/* ---- keys ------------------------------------------------------------------- */

/* Steps per second, 0 unlimited: the dashboard's ladder. */
static const long speed_levels[] = {0, 1000, 500, 200, 100, 50, 20, 10, 5, 2, 1};

static void change_speed(pad *p, int faster)
{
    int n = (int)(sizeof speed_levels / sizeof *speed_levels), at = 0;
    for (int i = 0; i < n; i++)
        if (speed_levels[i] == p->status.speed_limit)
            at = i;
    if (p->status.speed_limit && at == 0) /* a limit off the ladder */
        for (at = 1; at < n - 1 && speed_levels[at] > p->status.speed_limit; at++)
            ;
    at = faster ? (at > 0 ? at - 1 : 0) : (at < n - 1 ? at + 1 : n - 1);
    nn_session_set_speed(p->cfg.session, speed_levels[at]);
    p->status.speed_limit = (int)speed_levels[at]; /* so a second press goes on from here */
    char text[64];
    if (speed_levels[at])
        snprintf(text, sizeof text, "speed limit %ld steps/s", speed_levels[at]);
    else
        snprintf(text, sizeof text, "no speed limit");
    pad_say(p, text);
}

static void change_lr(pad *p, double factor)
{
    char value[32], text[64];
    float lr = (float)(p->status.hp.lr * factor);
    snprintf(value, sizeof value, "%.6g", lr);
    nn_session_set(p->cfg.session, "lr", value);
    p->status.hp.lr = lr;
    snprintf(text, sizeof text, "learning rate %s", value);
    pad_say(p, text);
}

/* A key that steers training; returns 0 if c is not one. */
static int training_key(pad *p, int c)
{
    static const char keys[] = " neEs+-<>,.rb";
    if (!strchr(keys, c) || !c)
        return 0;
    if (!p->cfg.session) {
        pad_say(p, "a saved model: nothing is training in this window");
        return 1;
    }
    nn_session *s = p->cfg.session;
    const char *action = "";
    switch (c) {
    case ' ': nn_session_toggle(s); action = "toggle"; break;
    case 'n': nn_session_step_batch(s); action = "step-batch"; pad_say(p, "one batch"); break;
    case 'e': case 'E': nn_session_step_epoch(s); action = "step-epoch"; pad_say(p, "one epoch"); break;
    case 's': nn_session_save(s, ""); action = "save"; pad_say(p, "saving a checkpoint"); break;
    case '+': change_lr(p, 2.0); action = "lr-up"; break;
    case '-': change_lr(p, 0.5); action = "lr-down"; break;
    case '<': case ',': change_speed(p, 0); action = "slower"; break;
    case '>': case '.': change_speed(p, 1); action = "faster"; break;
    case 'r': nn_session_reset(s); action = "reset"; pad_say(p, "reset to the initial weights"); break;
    case 'b': nn_session_restore(s); action = "restore"; pad_say(p, "back to the last good weights"); break;
    }
    char key[2] = {(char)c, 0};
    log_key(p, c == ' ' ? "space" : key, action);
    return 1;
}

int pad_show(pad *p, const char *view)
{
    int v;
    if (!strcmp(view, "latent")) {
        if (!p->vae)
            return -1;
        v = VIEW_LATENT;
    } else if (!strcmp(view, "weights")) {
        v = VIEW_WEIGHTS;
    } else {
        v = p->vae ? VIEW_LATENT : VIEW_CANVAS;
    }
    p->view = v;
    p->weights_shown = -2;
    p->damage |= PANEL_LEFT;
    p->left_full = 1;
    return 0;
}

static int handle_text(pad *p, const char *text)
{
    for (const char *c = text; *c; c++) {
        if (training_key(p, *c))
            continue;
        switch (*c) {
        case 'q': case 'Q':
            log_key(p, "q", "quit");
            return PAD_QUIT;
        case 'c': case 'C':
            nn_canvas_clear(&p->canvas);
            log_key(p, "c", "clear");
            break;
        case 'w': case 'W':
            p->view = p->view != VIEW_WEIGHTS ? VIEW_WEIGHTS : p->vae ? VIEW_LATENT : VIEW_CANVAS;
            p->weights_shown = -2;
            log_key(p, "w", p->view == VIEW_WEIGHTS ? "weights" : p->vae ? "latent" : "canvas");
            p->damage |= PANEL_LEFT;
            p->left_full = 1;
            break;
        case '?': case 'h':
            p->show_help = !p->show_help;
            p->damage = PANEL_ALL;
            break;
        }
    }
    return PAD_CONTINUE;
}

/* ---- mouse -------------------------------------------------------------------- */

static void canvas_point(int x, int y, float *cx, float *cy)
{
    *cx = (float)(x - PAD_CANVAS_X) / PAD_CANVAS_ZOOM;
    *cy = (float)(y - PAD_CANVAS_Y) / PAD_CANVAS_ZOOM;
}

static int on_canvas(float cx, float cy)
{
    return cx >= 0 && cy >= 0 && cx < NN_CANVAS_SIZE && cy < NN_CANVAS_SIZE;
}

/* A drawing change from an event SDL queued at tick `timestamp`: time it
 * from then (the queueing delay in whole milliseconds, the rest with the
 * monotonic clock). */
static void note_change(pad *p, Uint32 timestamp)
{
    if (!p->pending) {
        Uint32 queued = SDL_GetTicks() - timestamp;
        p->pending = 1;
        p->pending_since = pad_now() - (queued < 1000 ? queued : 0) / 1000.0;
    }
}

/* The pointer over the latent plane: decode where it is (in pad_update,
 * once for a burst of motion). */
static void handle_latent_pointer(pad *p, const SDL_Event *e)
{
    int x = e->type == SDL_MOUSEMOTION ? e->motion.x : e->button.x;
    int y = e->type == SDL_MOUSEMOTION ? e->motion.y : e->button.y;
    float cx, cy;
    canvas_point(x, y, &cx, &cy);
    int inside = on_canvas(cx, cy);
    if (!inside && !p->pointing)
        return;
    p->pointing = inside;
    p->latent_u = cx / NN_CANVAS_SIZE;
    p->latent_v = cy / NN_CANVAS_SIZE;
    p->latent_pending = 1;
    note_change(p, e->common.timestamp);
}

static void handle_mouse(pad *p, const SDL_Event *e)
{
    if (p->view == VIEW_LATENT && e->type != SDL_MOUSEBUTTONUP) {
        handle_latent_pointer(p, e);
        return;
    }
    if (p->view != VIEW_CANVAS)
        return;
    float cx, cy;
    long before = p->canvas.version;
    if (e->type == SDL_MOUSEBUTTONDOWN) {
        canvas_point(e->button.x, e->button.y, &cx, &cy);
        if (!on_canvas(cx, cy) || (e->button.button != SDL_BUTTON_LEFT && e->button.button != SDL_BUTTON_RIGHT))
            return;
        nn_canvas_begin(&p->canvas, cx, cy, e->button.button == SDL_BUTTON_RIGHT);
    } else if (e->type == SDL_MOUSEMOTION) {
        if (!p->canvas.pen)
            return;
        canvas_point(e->motion.x, e->motion.y, &cx, &cy);
        nn_canvas_line_to(&p->canvas, cx, cy);
    } else if (e->type == SDL_MOUSEBUTTONUP) {
        nn_canvas_end(&p->canvas);
    }
    if (p->canvas.version != before)
        note_change(p, e->common.timestamp);
}

int pad_handle_event(pad *p, const SDL_Event *e)
{
    switch (e->type) {
    case SDL_QUIT:
        return PAD_CLOSED;
    case SDL_WINDOWEVENT:
        if (e->window.event == SDL_WINDOWEVENT_CLOSE)
            return PAD_CLOSED;
        if (e->window.event == SDL_WINDOWEVENT_LEAVE && p->pointing) {
            p->pointing = 0;
            p->latent_pending = 1;
        }
        if (e->window.event == SDL_WINDOWEVENT_SIZE_CHANGED) {
            nn_error err;
            if (pad_update_scale(p, &err))
                pad_say(p, err.msg);
        }
        p->damage = PANEL_ALL;
        break;
    case SDL_MOUSEBUTTONDOWN:
    case SDL_MOUSEBUTTONUP:
    case SDL_MOUSEMOTION:
        handle_mouse(p, e);
        break;
    case SDL_TEXTINPUT:
        return handle_text(p, e->text.text);
    case SDL_KEYDOWN:
        if (e->key.keysym.sym == SDLK_BACKSPACE || e->key.keysym.sym == SDLK_DELETE) {
            long before = p->canvas.version;
            nn_canvas_clear(&p->canvas);
            if (p->canvas.version != before)
                note_change(p, e->common.timestamp);
            log_key(p, "backspace", "clear");
        } else if (e->key.keysym.sym == SDLK_ESCAPE && p->show_help) {
            p->show_help = 0;
            p->damage = PANEL_ALL;
        }
        break;
    }
    return PAD_CONTINUE;
}
