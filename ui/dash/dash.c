/* The dashboard's main loop: layout, keys, the fixed-rate redraw, and
 * copying the monitor out for each frame. */
#include "dash.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "term.h"
#include "view.h"

#define COMMAND_WAIT 0.15   /* seconds a frame waits for a command to apply */
#define COMMAND_POLL 0.002  /* how often it looks meanwhile */
#define SERVE_SLICE_MS 8    /* ms a served window may wait before the terminal is looked at */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- the hyperparameter panel's entries ------------------------------------------ */

static const char *const hp_keys[HP_COUNT] = {"lr", "momentum", "weight_decay", "l1", "dropout", "batch"};
static const char *const hp_labels[HP_COUNT] = {"lr", "momentum", "weight decay", "L1", "dropout", "batch"};

const char *dash_hparam_key(int i) { return hp_keys[i]; }
const char *dash_hparam_label(int i) { return hp_labels[i]; }

double dash_hparam_value(const dash *d, int i)
{
    const nn_hparams *hp = &d->st.hp;
    switch (i) {
    case HP_LR: return hp->lr;
    case HP_MOMENTUM: return hp->momentum;
    case HP_WEIGHT_DECAY: return hp->weight_decay;
    case HP_L1: return hp->l1;
    case HP_DROPOUT: return d->st.dropout;
    default: return hp->batch;
    }
}

/* ---- layout --------------------------------------------------------------------------- */

static void free_windows(dash *d)
{
    for (int i = 0; i < P_COUNT; i++)
        if (d->win[i]) {
            delwin(d->win[i]);
            d->win[i] = NULL;
        }
    if (d->overlay) {
        delwin(d->overlay);
        d->overlay = NULL;
    }
}

static void layout_normal(dash *d, int rows, int cols);

/* Rows from the top: header (2), hyperparameters (1), then the charts on
 * the left beside the confusion matrix and event log on the right, the
 * per-layer table across the bottom, and the key line last. */
static void layout(dash *d)
{
    free_windows(d);
    getmaxyx(stdscr, d->rows, d->cols);
    d->too_small = d->rows < DASH_MIN_ROWS + (d->lesson ? 6 : 0) || d->cols < DASH_MIN_COLS;
    d->force = 1;
    if (d->too_small) {
        d->overlay = newwin(d->rows, d->cols, 0, 0);
        return;
    }
    int rows = d->rows, cols = d->cols;
    memset(d->rect, 0, sizeof d->rect);
    /* The caption panel as tall as the caption needs, up to a third of
     * the screen. */
    int caption_h = d->lesson ? dash_caption_height(d, cols) : 0;
    if (caption_h > rows / 3)
        caption_h = rows / 3;
    d->caption_step = d->caption.step;
    if (d->lesson)
        d->rect[P_CAPTION] = (dash_rect){rows - 1 - caption_h, 0, caption_h, cols};
    if (d->opt.big) {
        /* Header, the two charts side by side with the per-layer table
         * under them, the caption: what a room can read from afar. */
        int body = rows - 4 - caption_h;
        int table_rows = d->n_tensors < body / 3 ? d->n_tensors : body / 3;
        if (table_rows < 2)
            table_rows = 2;
        int table_h = 1 + table_rows;
        int chart_h = body - table_h;
        int loss_w = cols * 3 / 5;
        d->rect[P_HEADER] = (dash_rect){0, 0, 2, cols};
        d->rect[P_HPARAMS] = (dash_rect){2, 0, 1, cols};
        d->rect[P_LOSS] = (dash_rect){3, 0, chart_h, loss_w};
        d->rect[P_ACC] = (dash_rect){3, loss_w, chart_h, cols - loss_w};
        d->rect[P_LAYERS] = (dash_rect){3 + chart_h, 0, table_h, cols};
        d->rect[P_KEYS] = (dash_rect){rows - 1, 0, 1, cols};
    } else {
        layout_normal(d, rows - caption_h, cols);
        d->rect[P_KEYS] = (dash_rect){rows - 1, 0, 1, cols};
    }
    /* the graph view (G) in place of everything between the hyperparameters and the caption */
    d->rect[P_GRAPH] = (dash_rect){3, 0, rows - 4 - caption_h, cols};
    for (int i = 0; i < P_COUNT; i++) {
        dash_rect *r = &d->rect[i];
        if (r->h > 0 && r->w > 0)
            d->win[i] = newwin(r->h, r->w, r->y, r->x);
        /* High contrast owns the background too, whatever the terminal's. */
        if (d->win[i] && d->opt.contrast && d->colors)
            wbkgd(d->win[i], COLOR_PAIR(d->pair[ROLE_TEXT]));
    }
    int help_h = 19 < rows ? 19 : rows, help_w = 62 < cols ? 62 : cols;
    d->overlay = newwin(help_h, help_w, (rows - help_h) / 2, (cols - help_w) / 2);
}

/* The usual panels in rows x cols (the key line is the last row). */
static void layout_normal(dash *d, int rows, int cols)
{
    int body = rows - 4;
    int table_rows = d->n_tensors < body / 4 ? d->n_tensors : body / 4;
    if (table_rows < 2)
        table_rows = 2;
    int table_h = 1 + table_rows;
    int top = body - table_h;
    int right_w = cols >= 150 ? 52 : cols >= 110 ? 44 : 28;
    int left_w = cols - right_w;
    int loss_h = top * 3 / 5, acc_h = top - loss_h;
    int confusion_h = top - 4 < 12 ? top - 4 : 12;
    if (confusion_h > 11 && right_w < 44)
        confusion_h = 11;
    d->rect[P_HEADER] = (dash_rect){0, 0, 2, cols};
    d->rect[P_HPARAMS] = (dash_rect){2, 0, 1, cols};
    d->rect[P_LOSS] = (dash_rect){3, 0, loss_h, left_w};
    d->rect[P_ACC] = (dash_rect){3 + loss_h, 0, acc_h, left_w};
    d->rect[P_CONFUSION] = (dash_rect){3, left_w, confusion_h, right_w};
    d->rect[P_EVENTS] = (dash_rect){3 + confusion_h, left_w, top - confusion_h, right_w};
    d->rect[P_LAYERS] = (dash_rect){3 + top, 0, table_h, cols};
}

/* ---- the frame's copy of the monitor ------------------------------------------------------- */

static int alloc_series(dash_series *s, int cap)
{
    s->x = malloc((size_t)cap * sizeof *s->x);
    s->y = malloc((size_t)cap * sizeof *s->y);
    s->n = 0;
    return s->x && s->y ? 0 : -1;
}

static void free_series(dash_series *s)
{
    free(s->x);
    free(s->y);
}

static int alloc_view(dash *d)
{
    int rc = 0;
    for (int i = 0; i < NN_SERIES_RUN_COUNT; i++)
        rc |= alloc_series(&d->run[i], NN_MONITOR_POINTS);
    for (int r = 0; r < NN_MONITOR_PREV_RUNS; r++)
        for (int k = 0; k < 2; k++)
            rc |= alloc_series(&d->prev[r][k], NN_MONITOR_POINTS);
    d->n_tensors = nn_session_tensor_count(d->session);
    d->tensor = calloc((size_t)(3 * d->n_tensors + 1), sizeof *d->tensor);
    if (!d->tensor)
        return -1;
    for (int i = 0; i < 3 * d->n_tensors; i++)
        rc |= alloc_series(&d->tensor[i], NN_MONITOR_TENSOR_POINTS);
    rc |= dash_graph_init(d);
    return rc;
}

static void free_view(dash *d)
{
    for (int i = 0; i < NN_SERIES_RUN_COUNT; i++)
        free_series(&d->run[i]);
    for (int r = 0; r < NN_MONITOR_PREV_RUNS; r++)
        for (int k = 0; k < 2; k++)
            free_series(&d->prev[r][k]);
    for (int i = 0; d->tensor && i < 3 * d->n_tensors; i++)
        free_series(&d->tensor[i]);
    free(d->tensor);
    dash_graph_free(d);
    ui_canvas_free(&d->canvas);
}

static void read_monitor(dash *d)
{
    nn_monitor *m = d->monitor;
    int prev_run = d->st.run;
    /* Values changed by keys whose commands are still queued stay as the
     * keys set them, so a second + doubles the doubled value. */
    nn_hparams hp = d->st.hp;
    float dropout = d->st.dropout;
    int speed = d->st.speed_limit;
    nn_monitor_status(m, &d->st);
    if (d->st.applied_seq < d->last_sent) {
        d->st.hp = hp;
        d->st.dropout = dropout;
        d->st.speed_limit = speed;
    }
    for (int i = 0; i < NN_SERIES_RUN_COUNT; i++)
        d->run[i].n = nn_monitor_series(m, i, 0, d->run[i].x, d->run[i].y, NN_MONITOR_POINTS);
    if (d->st.run != prev_run || !d->prev[0][0].n) /* previous runs change only on a reset */
        for (int r = 0; r < d->st.prev_runs; r++)
            for (int k = 0; k < 2; k++)
                d->prev[r][k].n = nn_monitor_series(m, NN_SERIES_PREV_LOSS_SMOOTH + k, r, d->prev[r][k].x,
                                                    d->prev[r][k].y, NN_MONITOR_POINTS);
    for (int t = 0; t < d->n_tensors; t++)
        for (int k = 0; k < 3; k++) {
            dash_series *s = &d->tensor[3 * t + k];
            s->n = nn_monitor_series(m, NN_SERIES_GRAD_NORM + k, t, s->x, s->y, NN_MONITOR_TENSOR_POINTS);
        }
    if (d->graph_view)
        d->node_grads_step = nn_monitor_node_grads(m, d->node_grad, d->graph->n_nodes);
    d->n_marks = nn_monitor_marks(m, d->marks, DASH_MARKS);
    d->n_events = nn_monitor_events(m, 0, d->events, DASH_EVENTS);
    if (d->st.eval_version != d->eval_version || !d->st.evaluated) {
        d->eval_version = nn_monitor_eval(m, &d->eval);
        d->eval_epoch = d->st.epoch;
    }
}

/* The lesson moved on to another model: watch its session. */
static int rebind(dash *d, nn_session *s)
{
    free_view(d);
    d->session = s;
    d->monitor = nn_session_monitor(s);
    memset(&d->st, 0, sizeof d->st);
    d->last_sent = 0;
    d->eval_version = 0;
    memset(&d->eval, 0, sizeof d->eval);
    if (alloc_view(d) || ui_canvas_init(&d->canvas, 1, 1, UI_GLYPHS_ASCII))
        return -1;
    d->opt.model = d->caption.model;
    layout(d);
    return 0;
}

/* Let the lesson take its next action; -1 when the view cannot follow it to a new model. */
static int lesson_tick(dash *d)
{
    nn_session *s = d->opt.lesson_tick(d->opt.lesson_ctx, &d->caption);
    if (s && s != d->session) {
        if (rebind(d, s))
            return -1;
    } else if (d->caption.step != d->caption_step && d->rows) {
        layout(d); /* the new caption may need another height */
    }
    return 0;
}

/* ---- drawing ------------------------------------------------------------------------------- */

static void draw(dash *d)
{
    if (d->too_small) {
        dash_draw_too_small(d, d->overlay);
        doupdate();
        return;
    }
    /* stdscr is never drawn on; refreshing it first keeps it from
     * repainting over the panels later */
    wnoutrefresh(stdscr);
    dash_draw_header(d, d->win[P_HEADER]);
    dash_draw_hparams(d, d->win[P_HPARAMS]);
    if (d->graph_view) {
        dash_draw_graph(d, d->win[P_GRAPH]);
        dash_draw_keys(d, d->win[P_KEYS]);
        if (d->help) {
            touchwin(d->overlay);
            dash_draw_help(d, d->overlay);
        }
        doupdate();
        d->force = 1; /* the panels under it are drawn afresh when it closes */
        return;
    }
    dash_draw_loss(d, d->win[P_LOSS]);
    dash_draw_accuracy(d, d->win[P_ACC]);
    /* These two change a few times per epoch at most: drawn only then. */
    if (d->win[P_CONFUSION] && (d->force || d->drawn_eval != d->eval_version)) {
        dash_draw_confusion(d, d->win[P_CONFUSION]);
        d->drawn_eval = d->eval_version;
    }
    long events = d->st.event_seq * 64 + d->st.run;
    if (d->win[P_EVENTS] && (d->force || d->drawn_events != events)) {
        dash_draw_events(d, d->win[P_EVENTS]);
        d->drawn_events = events;
    }
    dash_draw_layers(d, d->win[P_LAYERS]);
    if (d->win[P_CAPTION])
        dash_draw_caption(d, d->win[P_CAPTION]);
    dash_draw_keys(d, d->win[P_KEYS]);
    if (d->help) {
        touchwin(d->overlay);
        dash_draw_help(d, d->overlay);
    }
    doupdate();
    d->force = d->help; /* under the help, everything is drawn every time */
}

/* ---- keys ------------------------------------------------------------------------------------ */

static void sent(dash *d, long seq)
{
    if (seq > 0)
        d->last_sent = seq;
}

static void set_value(dash *d, int i, double v)
{
    char value[32];
    if (i == HP_BATCH)
        snprintf(value, sizeof value, "%d", (int)v);
    else
        snprintf(value, sizeof value, "%.6g", v);
    sent(d, nn_session_set(d->session, hp_keys[i], value));
    /* Shown at once; the next frame's status confirms it (or the event log
     * says why not). */
    nn_error err;
    if (i == HP_DROPOUT) {
        if (d->st.dropout >= 0)
            d->st.dropout = (float)v;
    } else if (nn_hparams_set(&d->st.hp, hp_keys[i], value, &err) != NN_OK) {
        return;
    }
}

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static void adjust(dash *d, int dir)
{
    int i = d->selected;
    double v = dash_hparam_value(d, i);
    switch (i) {
    case HP_LR:
        v = clamp(dir > 0 ? v * 2 : v / 2, 1e-8, 1000);
        break;
    case HP_MOMENTUM:
        v = clamp(round((v + 0.05 * dir) * 100) / 100, 0, 0.99);
        break;
    case HP_DROPOUT:
        if (v < 0) {
            sent(d, nn_session_set(d->session, "dropout", "0")); /* the session explains */
            return;
        }
        v = clamp(round((v + 0.05 * dir) * 100) / 100, 0, 0.95);
        break;
    case HP_WEIGHT_DECAY:
    case HP_L1:
        if (dir > 0)
            v = v > 0 ? clamp(v * 2, 0, 1) : 1e-5;
        else
            v = v / 2 < 1e-6 ? 0 : v / 2;
        break;
    case HP_BATCH:
        v = clamp(dir > 0 ? v * 2 : floor(v / 2), 1, d->st.max_batch);
        break;
    }
    set_value(d, i, v);
}

static const int speed_ladder[] = {0, 1000, 500, 200, 100, 50, 20, 10, 5, 2, 1};
#define SPEED_STEPS (int)(sizeof speed_ladder / sizeof *speed_ladder)

static void change_speed(dash *d, int slower)
{
    int cur = 0;
    for (int i = 0; i < SPEED_STEPS; i++)
        if (speed_ladder[i] == d->st.speed_limit)
            cur = i;
    if (d->st.speed_limit && cur == 0) /* a limit off the ladder */
        for (cur = 1; cur < SPEED_STEPS - 1 && speed_ladder[cur] > d->st.speed_limit; cur++)
            ;
    int next = slower ? (cur + 1 < SPEED_STEPS ? cur + 1 : cur) : (cur > 0 ? cur - 1 : 0);
    d->st.speed_limit = speed_ladder[next];
    sent(d, nn_session_set_speed(d->session, speed_ladder[next]));
}

static void typing_key(dash *d, int ch)
{
    size_t len = strlen(d->input);
    if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
        if (len)
            sent(d, nn_session_set(d->session, hp_keys[d->selected], d->input));
        d->typing = 0;
    } else if (ch == 27) {
        d->typing = 0;
    } else if (ch == 21) { /* Ctrl-U, as in a shell */
        d->input[0] = 0;
    } else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
        if (len)
            d->input[len - 1] = 0;
    } else if (ch >= 32 && ch < 127 && len + 1 < sizeof d->input) {
        d->input[len] = (char)ch;
        d->input[len + 1] = 0;
    }
}

/* Returns 1 when the key asks to quit. */
static int key(dash *d, int ch)
{
    if (d->typing) {
        typing_key(d, ch);
        return 0;
    }
    if (d->help && ch != 'q' && ch != 'Q') {
        d->help = 0;
        d->force = 1;
        return 0;
    }
    switch (ch) {
    case 'q':
    case 'Q':
    case KEY_F(10):
        return 1;
    case '\n':
    case '\r':
    case KEY_ENTER:
        if (d->lesson && d->opt.lesson_enter)
            d->opt.lesson_enter(d->opt.lesson_ctx);
        break;
    case ' ':
        sent(d, nn_session_toggle(d->session));
        break;
    case 'n':
        sent(d, nn_session_step_batch(d->session));
        break;
    case 'e':
        sent(d, nn_session_step_epoch(d->session));
        break;
    case '<':
    case ',':
        change_speed(d, 1);
        break;
    case '>':
    case '.':
        change_speed(d, 0);
        break;
    case 'g':
        d->log_y = !d->log_y;
        break;
    case 'G':
        d->graph_view = !d->graph_view;
        nn_monitor_want_node_grads(d->monitor, d->graph_view);
        d->force = 1;
        break;
    case KEY_NPAGE:
    case KEY_PPAGE:
        if (d->graph_view && d->win[P_GRAPH])
            d->graph_scroll += (ch == KEY_NPAGE ? 1 : -1) * dash_graph_page(d, d->win[P_GRAPH]);
        break;
    case KEY_HOME:
        d->graph_scroll = 0;
        break;
    case KEY_END:
        d->graph_scroll = d->graph ? d->graph->n_rows : 0;
        break;
    case 's':
        sent(d, nn_session_save(d->session, d->opt.save_path));
        break;
    case 'r':
        sent(d, nn_session_reset(d->session));
        break;
    case 'b':
        sent(d, nn_session_restore(d->session));
        break;
    case '?':
    case 'h':
    case KEY_F(1):
        d->help = 1;
        break;
    case KEY_UP:
    case KEY_LEFT:
    case 'k':
        d->selected = (d->selected + HP_COUNT - 1) % HP_COUNT;
        break;
    case KEY_DOWN:
    case KEY_RIGHT:
    case 'j':
    case '\t':
        d->selected = (d->selected + 1) % HP_COUNT;
        break;
    case '+':
        adjust(d, 1);
        break;
    case '-':
    case '_':
        adjust(d, -1);
        break;
    case '=': {
        double v = dash_hparam_value(d, d->selected);
        if (d->selected == HP_BATCH)
            snprintf(d->input, sizeof d->input, "%d", (int)v);
        else
            snprintf(d->input, sizeof d->input, "%.6g", v < 0 ? 0 : v);
        d->typing = 1;
        break;
    }
    case 12: /* Ctrl-L */
        clearok(curscr, TRUE);
        d->force = 1;
        break;
    default:
        break;
    }
    return 0;
}

/* ---- the loop ---------------------------------------------------------------------------------- */

int dash_run(nn_session *s, const dash_options *opt)
{
    dash d;
    memset(&d, 0, sizeof d);
    d.session = s;
    d.monitor = nn_session_monitor(s);
    d.opt = *opt;
    if (d.opt.fps <= 0)
        d.opt.fps = 10;
    if (!d.opt.model)
        d.opt.model = "model";
    if (!d.opt.data)
        d.opt.data = "data";
    if (alloc_view(&d) || ui_canvas_init(&d.canvas, 1, 1, UI_GLYPHS_ASCII)) {
        free_view(&d);
        return DASH_EXIT_ERROR;
    }
    if (dash_term_open(d.opt.color, &d.utf8, &d.colors)) {
        free_view(&d);
        return DASH_EXIT_ERROR;
    }
    d.glyphs = d.utf8 && !d.opt.ascii ? UI_GLYPHS_BRAILLE : UI_GLYPHS_ASCII;
    dash_init_styles(&d);
    d.lesson = d.opt.lesson_tick != NULL;
    if (d.lesson && lesson_tick(&d)) {
        dash_term_close();
        free_view(&d);
        return DASH_EXIT_ERROR;
    }
    layout(&d);
    read_monitor(&d);
    draw(&d);

    double period = 1.0 / d.opt.fps;
    double next_frame = now_seconds() + period, waiting_since = 0;
    int result = -1;
    struct pollfd fds[2] = {{.fd = STDIN_FILENO, .events = POLLIN}, {.fd = dash_term_signal_fd(), .events = POLLIN}};
    while (result < 0) {
        double now = now_seconds();
        int timeout = next_frame > now ? (int)ceil((next_frame - now) * 1000) : 0;
        if (d.opt.serve) {
            /* Sleep in the other window's wait, in slices short enough that
             * a key on the terminal is not kept waiting either. */
            int ready = poll(fds, 2, 0);
            if (ready < 0 && errno != EINTR)
                break;
            if (d.opt.serve(d.opt.serve_ctx, ready > 0 ? 0 : timeout < SERVE_SLICE_MS ? timeout : SERVE_SLICE_MS)) {
                result = DASH_EXIT_QUIT;
                break;
            }
        } else if (poll(fds, 2, timeout) < 0 && errno != EINTR) {
            break;
        }

        int sig = dash_term_take_signals();
        if (sig & DASH_SIG_INT) {
            result = DASH_EXIT_INTERRUPTED;
            break;
        }
        if (sig & DASH_SIG_TERM) {
            result = DASH_EXIT_TERMINATED;
            break;
        }
        if (sig & DASH_SIG_TSTP) {
            dash_term_suspend();
            sig |= DASH_SIG_WINCH;
        }
        if (sig & (DASH_SIG_WINCH | DASH_SIG_CONT)) {
            dash_term_resize();
            clearok(curscr, TRUE);
            layout(&d);
            next_frame = 0;
        }

        long before = d.last_sent;
        int ch;
        while (result < 0 && (ch = getch()) != ERR) {
            if (ch == KEY_RESIZE) {
                layout(&d);
                next_frame = 0;
            } else if (key(&d, ch)) {
                result = DASH_EXIT_QUIT;
            } else {
                next_frame = 0; /* show the key's effect now */
            }
        }
        if (result >= 0)
            break;
        if (d.last_sent != before)
            waiting_since = now_seconds();

        now = now_seconds();
        if (now < next_frame)
            continue;
        if (d.lesson) {
            if (lesson_tick(&d)) {
                result = DASH_EXIT_ERROR;
                break;
            }
            if (d.caption.key) {
                int k = d.caption.key;
                d.caption.key = 0;
                if (key(&d, k)) {
                    result = DASH_EXIT_QUIT;
                    break;
                }
            }
            if (d.opt.exit_when_done && d.caption.ended) {
                read_monitor(&d);
                draw(&d);
                result = DASH_EXIT_DONE;
                break;
            }
        }
        read_monitor(&d);
        /* A command in flight takes effect before the next batch: wait for
         * it in short polls, so the screen shows it rather than the state
         * before it. */
        if (d.st.applied_seq < d.last_sent && now - waiting_since < COMMAND_WAIT) {
            next_frame = now + COMMAND_POLL;
            continue;
        }
        draw(&d);
        next_frame = now + period;
        if (!d.lesson && d.opt.exit_when_done && d.st.state == NN_STATE_DONE && d.st.applied_seq >= d.last_sent)
            result = DASH_EXIT_DONE;
    }
    nn_monitor_want_node_grads(d.monitor, 0);
    free_windows(&d);
    dash_term_close();
    free_view(&d);
    return result < 0 ? DASH_EXIT_QUIT : result;
}
