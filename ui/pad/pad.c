/* The pad's window and its loop.  Each pad_update drains the event queue
 * (so a burst of mouse motion becomes one classification), pulls a new
 * weight snapshot if there is one, classifies when the drawing or the
 * weights changed, and redraws when anything on screen did.  Input itself
 * is handled in pad_input.c. */
#include "pad_internal.h"

#include <SDL_syswm.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checkpoint.h"
#include "latent.h"
#include "model.h"

#define STATUS_PERIOD 0.1     /* seconds between reads of the trainer's state */
/* A drawing change is shown at once; what training changes (new weights,
 * the figures) is shown at most this often, so the pad costs training
 * little CPU. */
#define PREDICTION_PERIOD 0.1
#define STATUS_REDRAW_PERIOD 0.25

double pad_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int pad_display_available(void)
{
    const char *x = getenv("DISPLAY"), *wayland = getenv("WAYLAND_DISPLAY");
    return (x && *x) || (wayland && *wayland);
}

/* ---- fonts --------------------------------------------------------------- */

static int read_font(pad *p, const char *path, nn_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return nn_error_set(err, NN_ERUNTIME, "%s: cannot open the pad's font", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (len <= 0 || len > 64L << 20) {
        fclose(f);
        return nn_error_set(err, NN_ERUNTIME, "%s: not a font file", path);
    }
    p->ttf = malloc((size_t)len);
    size_t got = p->ttf ? fread(p->ttf, 1, (size_t)len, f) : 0;
    fclose(f);
    if (got != (size_t)len)
        return nn_error_set(err, NN_ERUNTIME, "%s: cannot read the font", path);
    return NN_OK;
}

/* Bake the fonts for the window's current pixel density when it changed. */
int pad_update_scale(pad *p, nn_error *err)
{
    int w, h;
    if (SDL_GetRendererOutputSize(p->renderer, &w, &h) != 0)
        return nn_error_set(err, NN_ERUNTIME, "pad: %s", SDL_GetError());
    float sx = (float)w / PAD_W, sy = (float)h / PAD_H;
    float scale = sx < sy ? sx : sy;
    if (scale < 0.25f)
        scale = 0.25f;
    if (p->fonts[0].atlas && fabsf(scale - p->scale) < 0.02f * p->scale)
        return NN_OK;
    static const float sizes[FONT_COUNT] = {[FONT_SMALL] = 15, [FONT_NORMAL] = 19, [FONT_LARGE] = 26, [FONT_HUGE] = 150,
                                            [FONT_BIG] = 64};
    for (int i = 0; i < FONT_COUNT; i++) {
        pad_font_free(&p->fonts[i]);
        /* The huge size only shows a digit (or a question mark). */
        int first = i == FONT_HUGE ? '0' : 32, count = i == FONT_HUGE ? '?' - '0' + 1 : 95;
        if (i == FONT_BIG && !p->cfg.big) /* only the projector readout uses it */
            count = 1;
        int rc = pad_font_bake(&p->fonts[i], p->renderer, p->ttf, sizes[i], scale, first, count, err);
        if (rc)
            return rc;
    }
    p->scale = scale;
    p->damage = PANEL_ALL;
    return NN_OK;
}

/* ---- open and close ----------------------------------------------------- */

static int sdl_fail(nn_error *err, const char *what)
{
    return nn_error_set(err, NN_ERUNTIME, "pad: %s: %s", what, SDL_GetError());
}

/* 1 if the renderer is OpenGL drawn in software (Mesa's llvmpipe, as on a
 * machine without a GPU or under Xvfb). */
static int software_gl(SDL_Renderer *r)
{
    SDL_RendererInfo info;
    if (SDL_GetRendererInfo(r, &info) != 0 || strncmp(info.name, "opengl", 6) != 0)
        return 0;
    typedef const unsigned char *(*get_string_fn)(unsigned name);
    void *symbol = SDL_GL_GetProcAddress("glGetString");
    get_string_fn get_string;
    if (!symbol)
        return 0;
    memcpy(&get_string, &symbol, sizeof get_string);
    const char *name = (const char *)get_string(0x1F01 /* GL_RENDERER */);
    return name && (strstr(name, "llvmpipe") || strstr(name, "softpipe") || strstr(name, "Software"));
}

/* The window and its renderer.  Without a GPU, SDL's own software renderer
 * is cheaper than OpenGL in software, and it draws into the window's
 * pixels, so a frame can show just the panels that changed; the user can
 * still choose with SDL_RENDER_DRIVER. */
static int make_window(pad *p, const char *title, int w, int h, nn_error *err)
{
    const char *chosen = SDL_GetHint(SDL_HINT_RENDER_DRIVER);
    for (int attempt = 0; attempt < 2; attempt++) {
        /* Hidden until the renderer is settled, so no window flashes up
         * and goes again. */
        p->window = SDL_CreateWindow(title, SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, w, h,
                                     SDL_WINDOW_RESIZABLE | SDL_WINDOW_ALLOW_HIGHDPI | SDL_WINDOW_HIDDEN);
        if (!p->window)
            return sdl_fail(err, "cannot open a window");
        /* No vsync: a frame is drawn only when something changed, and
         * waiting for the refresh would add to the latency. */
        p->renderer = SDL_CreateRenderer(p->window, -1, attempt ? SDL_RENDERER_SOFTWARE : 0);
        if (!p->renderer)
            return sdl_fail(err, "cannot draw in the window");
        if (attempt || (chosen && *chosen) || !software_gl(p->renderer))
            break;
        SDL_DestroyRenderer(p->renderer);
        SDL_DestroyWindow(p->window);
        p->renderer = NULL;
        p->window = NULL;
        /* The window's pixels in shared memory, not an OpenGL texture. */
        SDL_SetHint(SDL_HINT_FRAMEBUFFER_ACCELERATION, "0");
    }
    SDL_RendererInfo info;
    p->partial = SDL_GetRendererInfo(p->renderer, &info) == 0 && !strcmp(info.name, "software");
    SDL_SetWindowMinimumSize(p->window, PAD_W / 3, PAD_H / 3);
    SDL_ShowWindow(p->window);
    /* On X11 the pad waits on the display connection itself (see
     * wait_input). */
    p->x11_fd = -1;
#if defined(SDL_VIDEO_DRIVER_X11)
    SDL_SysWMinfo wm;
    SDL_VERSION(&wm.version);
    if (SDL_GetWindowWMInfo(p->window, &wm) && wm.subsystem == SDL_SYSWM_X11)
        p->x11_fd = ConnectionNumber(wm.info.x11.display);
#endif
    return NN_OK;
}

/* A model with a 2-D latent code gets the latent explorer (a graph for a
 * grid of samples); any other must classify 28x28 images. */
static int open_model(pad *p, const nn_spec *spec, nn_error *err)
{
    int rc = nn_model_build(&p->decoder, spec, &spec->hp, PAD_GRID * PAD_GRID, err);
    if (rc)
        return rc;
    if (p->decoder.reconstructs && nn_latent_size(&p->decoder) > 0) {
        int dims = nn_latent_size(&p->decoder);
        if (dims != 2) {
            nn_graph_free(&p->decoder);
            return nn_error_set(err, NN_EINPUT, "pad: the latent explorer needs a 2-D code; this model's has %d "
                                "dimensions", dims);
        }
        p->decoder.training = 0;
        p->vae = 1;
        p->view = VIEW_LATENT;
        return NN_OK;
    }
    nn_graph_free(&p->decoder);
    if ((rc = nn_predictor_init(&p->predictor, spec, err)))
        return rc;
    if (p->predictor.inputs != NN_MNIST_SIDE * NN_MNIST_SIDE) {
        size_t inputs = p->predictor.inputs;
        nn_predictor_free(&p->predictor);
        return nn_error_set(err, NN_EINPUT, "pad: the model takes %zu inputs; the pad draws 28x28 digits", inputs);
    }
    return NN_OK;
}

/* Copy a weight snapshot into the pad's own model. */
static int set_weights(pad *p, const float *params, size_t n, nn_error *err)
{
    if (!p->vae)
        return nn_predictor_set_params(&p->predictor, params, n, err);
    if (n != p->decoder.n_params)
        return nn_error_set(err, NN_EINPUT, "pad: %zu weights given, the model has %zu", n, p->decoder.n_params);
    memcpy(p->decoder.params, params, n * sizeof *params);
    if (!p->monitor)
        p->weights_version++; /* a saved model's grid is decoded once */
    return NN_OK;
}

int pad_open(pad **out, const pad_config *cfg, nn_error *err)
{
    *out = NULL;
    pad *p = calloc(1, sizeof *p);
    if (!p)
        return nn_error_set(err, NN_ERUNTIME, "pad: out of memory");
    p->cfg = *cfg;
    p->label = -1;
    p->start = pad_now();
    int rc = open_model(p, cfg->spec, err);
    if (rc) {
        free(p);
        return rc;
    }
    size_t n_params = pad_graph(p)->n_params;
    p->weights = malloc((n_params + 1) * sizeof *p->weights);
    if (!p->weights || (rc = nn_canvas_new(&p->canvas, NN_CANVAS_SIZE, NN_CANVAS_SIZE, err))) {
        rc = rc ? rc : nn_error_set(err, NN_ERUNTIME, "pad: out of memory");
        goto fail;
    }
    if (cfg->session) {
        p->monitor = nn_session_monitor(cfg->session);
        p->weights_version = -1;
    } else if (cfg->params && (rc = set_weights(p, cfg->params, cfg->n_params, err))) {
        goto fail;
    } else if (!p->vae && cfg->model_file &&
               (rc = nn_checkpoint_attach_quant(cfg->model_file, &p->predictor.graph, err))) {
        goto fail;
    }
    if ((rc = read_font(p, cfg->font_path, err)))
        goto fail;

    /* Signals are the application's business (Ctrl-C ends training, not
     * just the window). */
    SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
    if (!SDL_WasInit(SDL_INIT_VIDEO) && SDL_InitSubSystem(SDL_INIT_VIDEO) != 0) {
        rc = sdl_fail(err, "cannot open a window");
        goto fail;
    }
    SDL_SetHint(SDL_HINT_VIDEO_X11_NET_WM_BYPASS_COMPOSITOR, "0");
    char title[160];
    snprintf(title, sizeof title, "nnlab pad - %s", cfg->title ? cfg->title : "model");
    int w = cfg->width > 0 ? cfg->width : PAD_W, h = cfg->height > 0 ? cfg->height : PAD_H;
    if ((rc = make_window(p, title, w, h, err)))
        goto fail;
    SDL_RenderSetLogicalSize(p->renderer, PAD_W, PAD_H);
    SDL_SetRenderDrawBlendMode(p->renderer, SDL_BLENDMODE_BLEND);
    SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "linear");
    p->canvas_tex = SDL_CreateTexture(p->renderer, SDL_PIXELFORMAT_ARGB8888, SDL_TEXTUREACCESS_STREAMING,
                                      NN_CANVAS_SIZE * PAD_CANVAS_ZOOM, NN_CANVAS_SIZE * PAD_CANVAS_ZOOM);
    SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "nearest");
    p->seen_tex = SDL_CreateTexture(p->renderer, SDL_PIXELFORMAT_ARGB8888, SDL_TEXTUREACCESS_STREAMING,
                                    NN_MNIST_SIDE, NN_MNIST_SIDE);
    if (!p->canvas_tex || !p->seen_tex) {
        rc = sdl_fail(err, "cannot make a texture");
        goto fail;
    }
    if (p->vae && (rc = pad_latent_textures(p, err)))
        goto fail;
    if ((rc = pad_update_scale(p, err)))
        goto fail;
    p->canvas_seen = -1;
    p->canvas_uploaded = -1;
    p->seen_uploaded = -1;
    p->damage = PANEL_ALL;
    *out = p;
    return NN_OK;
fail:
    pad_close(p);
    return rc;
}

void pad_close(pad *p)
{
    if (!p)
        return;
    for (int i = 0; i < FONT_COUNT; i++)
        pad_font_free(&p->fonts[i]);
    if (p->canvas_tex)
        SDL_DestroyTexture(p->canvas_tex);
    if (p->seen_tex)
        SDL_DestroyTexture(p->seen_tex);
    if (p->weights_tex)
        SDL_DestroyTexture(p->weights_tex);
    if (p->grid_tex)
        SDL_DestroyTexture(p->grid_tex);
    if (p->decoded_tex)
        SDL_DestroyTexture(p->decoded_tex);
    if (p->renderer)
        SDL_DestroyRenderer(p->renderer);
    if (p->window)
        SDL_DestroyWindow(p->window);
    if (SDL_WasInit(SDL_INIT_VIDEO))
        SDL_QuitSubSystem(SDL_INIT_VIDEO);
    nn_canvas_free(&p->canvas);
    if (p->vae)
        nn_graph_free(&p->decoder);
    else
        nn_predictor_free(&p->predictor);
    free(p->weights);
    free(p->ttf);
    free(p);
}

/* ---- the loop ---------------------------------------------------------------- */

static void read_trainer(pad *p, double now)
{
    if (!p->monitor || now - p->last_status_read < STATUS_PERIOD)
        return;
    p->last_status_read = now;
    nn_run_status st;
    nn_monitor_status(p->monitor, &st);
    if (st.version != p->status_version) {
        /* A change of state (paused, done) shows at once, figures later. */
        if (st.state != p->status.state || st.run != p->status.run)
            p->damage |= PANEL_HEADER | PANEL_TRAINER;
        p->status = st;
        p->status_version = st.version;
        p->stale_status |= PANEL_TRAINER;
    }
    if (st.eval_version != p->eval_version) {
        nn_eval ev;
        p->eval_version = st.eval_version;
        p->evaluated = nn_monitor_eval(p->monitor, &ev) && st.evaluated;
        p->test_accuracy = ev.accuracy;
        p->test_loss = ev.loss;
        p->damage |= PANEL_TRAINER;
    }
}

static void record_latency(pad *p, double ms)
{
    p->latency[p->latency_count % PAD_LATENCY_SAMPLES] = ms;
    p->latency_count++;
}

/* Handle every queued event; returns the first result that is not
 * PAD_CONTINUE, and through *any whether there were events. */
static int drain_events(pad *p, int *any)
{
    SDL_Event e;
    int result = PAD_CONTINUE;
    while (SDL_PollEvent(&e)) {
        *any = 1;
        int r = pad_handle_event(p, &e);
        if (r != PAD_CONTINUE && result == PAD_CONTINUE)
            result = r;
    }
    return result;
}

/* Wait up to timeout_ms for input and handle it.  On X11 this polls the
 * display connection rather than calling SDL_WaitEventTimeout, whose
 * wake-up messages go to the window over a second connection and can reach
 * the X server after the window is destroyed; the server's BadWindow reply
 * then ends the process as the pad closes. */
static int wait_input(pad *p, int timeout_ms)
{
    int any = 0, result = drain_events(p, &any);
    if (any || timeout_ms <= 0)
        return result;
    if (p->x11_fd >= 0) {
        struct pollfd fd = {.fd = p->x11_fd, .events = POLLIN};
        poll(&fd, 1, timeout_ms);
        return drain_events(p, &any);
    }
    SDL_Event e;
    if (!SDL_WaitEventTimeout(&e, timeout_ms))
        return PAD_CONTINUE;
    result = pad_handle_event(p, &e);
    int more = drain_events(p, &any);
    return result != PAD_CONTINUE ? result : more;
}

int pad_update(pad *p, int timeout_ms)
{
    int result = wait_input(p, timeout_ms);
    if (result != PAD_CONTINUE)
        return result;

    double now = pad_now();
    read_trainer(p, now);
    int new_weights = 0;
    if (p->monitor && nn_monitor_weights(p->monitor, p->weights, &p->weights_version)) {
        set_weights(p, p->weights, pad_graph(p)->n_params, NULL);
        new_weights = 1;
        if (p->view == VIEW_WEIGHTS)
            p->stale_prediction |= PANEL_LEFT;
    }
    int stroke = p->canvas.version != p->canvas_seen && !p->vae, latent = p->latent_pending;
    double t0 = pad_now();
    if (stroke || (new_weights && p->label >= 0 && !p->vae)) {
        p->canvas_seen = p->canvas.version;
        pad_classify(p, stroke);
    }
    if (p->vae) {
        if (pad_latent_grid(p, now) && p->view == VIEW_LATENT)
            p->damage |= PANEL_LEFT;
        if (latent || (new_weights && p->pointing)) {
            if (p->pointing)
                pad_latent_decode(p, p->latent_u, p->latent_v);
            else
                p->decodes++; /* shows the hint again */
            if (latent)
                p->damage |= PANEL_LEFT | PANEL_PREDICTION; /* the crosshair and the digit */
            else
                p->stale_prediction |= PANEL_PREDICTION;
            p->latent_pending = 0;
        }
    }
    double t1 = pad_now();
    struct timespec cpu0;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu0);
    if (p->message[0] && now > p->message_until) {
        p->message[0] = '\0';
        p->damage |= PANEL_FOOTER;
    }
    if (p->stale_prediction && now - p->prediction_shown >= PREDICTION_PERIOD)
        p->damage |= p->stale_prediction;
    if (p->stale_status && now - p->status_shown >= STATUS_REDRAW_PERIOD)
        p->damage |= p->stale_status;
    if (p->damage) {
        /* Whatever is drawn now is up to date. */
        p->stale_prediction &= ~p->damage;
        p->stale_status &= ~p->damage;
        pad_render(p, p->damage);
        if (p->damage & (PANEL_LEFT | PANEL_PREDICTION | PANEL_BARS))
            p->prediction_shown = now;
        if (p->damage & PANEL_TRAINER)
            p->status_shown = now;
        p->damage = 0;
        if (!p->shown && p->cfg.events) { /* the window is up: input from now on is seen */
            int w, h;
            SDL_RendererInfo info;
            SDL_GetWindowSize(p->window, &w, &h);
            if (SDL_GetRendererInfo(p->renderer, &info) != 0)
                info.name = "?";
            fprintf(p->cfg.events,
                    "{\"event\":\"ready\",\"time\":%.4f,\"width\":%d,\"height\":%d,\"renderer\":\"%s\"}\n",
                    pad_now() - p->start, w, h, info.name);
            fflush(p->cfg.events);
        }
        p->shown = 1;
    }
    p->classify_ms = 1000.0 * (t1 - t0);
    p->render_ms = 1000.0 * (pad_now() - t1);
    struct timespec cpu1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu1);
    p->render_cpu_ms = 1000.0 * ((double)(cpu1.tv_sec - cpu0.tv_sec) + (cpu1.tv_nsec - cpu0.tv_nsec) * 1e-9);
    if (latent) {
        double latency = -1;
        if (p->pending) {
            latency = 1000.0 * (pad_now() - p->pending_since);
            record_latency(p, latency);
            p->pending = 0;
        }
        pad_log_latent(p, latency);
    } else if (stroke) {
        double latency = -1;
        if (p->pending) {
            latency = 1000.0 * (pad_now() - p->pending_since);
            record_latency(p, latency);
            p->pending = 0;
        }
        pad_log_prediction(p, "stroke", latency);
    } else if (new_weights && p->label >= 0) {
        pad_log_prediction(p, "weights", -1);
    }
    return PAD_CONTINUE;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void pad_get_stats(const pad *p, pad_stats *out)
{
    memset(out, 0, sizeof *out);
    out->predictions = p->predictions;
    long n = p->latency_count < PAD_LATENCY_SAMPLES ? p->latency_count : PAD_LATENCY_SAMPLES;
    out->samples = p->latency_count;
    if (!n)
        return;
    double *sorted = malloc((size_t)n * sizeof *sorted);
    if (!sorted)
        return;
    memcpy(sorted, p->latency, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, compare_double);
    double sum = 0;
    for (long i = 0; i < n; i++)
        sum += sorted[i];
    out->mean_ms = sum / (double)n;
    out->p50_ms = sorted[n / 2];
    out->p95_ms = sorted[(long)(0.95 * (double)(n - 1))];
    out->max_ms = sorted[n - 1];
    free(sorted);
}
