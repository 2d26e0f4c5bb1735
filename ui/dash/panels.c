/* One drawing routine per dashboard panel.  Each draws from the frame's
 * copy of the monitor in struct dash, never from the monitor itself. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "view.h"

/* ---- text helpers ---------------------------------------------------------- */

void dash_style(dash *d, WINDOW *w, int role)
{
    wattr_set(w, d->attr[role], d->pair[role], NULL);
}

/* Display width of UTF-8 text (every glyph used here is one cell wide). */
int dash_next_char(const char *s, unsigned *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    int len = u[0] < 0x80 ? 1 : u[0] < 0xe0 ? 2 : u[0] < 0xf0 ? 3 : 4;
    unsigned c = len == 1 ? u[0] : len == 2 ? u[0] & 0x1fu : len == 3 ? u[0] & 0x0fu : u[0] & 0x07u;
    for (int i = 1; i < len; i++) {
        if ((u[i] & 0xc0) != 0x80) { /* broken text: one byte, one cell */
            *cp = '?';
            return 1;
        }
        c = (c << 6) | (u[i] & 0x3fu);
    }
    *cp = c;
    return len;
}

int dash_char_width(unsigned cp)
{
    int w = wcwidth((wchar_t)cp);
    if (w >= 0)
        return w;
    /* A locale without width tables: the wide East Asian blocks by hand. */
    if ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) ||
        (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
        (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x20000 && cp <= 0x3fffd))
        return 2;
    return cp < 32 ? 0 : 1;
}

int dash_text_width(const char *s)
{
    int n = 0;
    unsigned cp;
    while (*s) {
        s += dash_next_char(s, &cp);
        n += dash_char_width(cp);
    }
    return n;
}

/* Write s at (y, x) in role, cut to at most max cells; returns cells written. */
int dash_put(dash *d, WINDOW *w, int y, int x, int max, int role, const char *s)
{
    int rows, cols;
    getmaxyx(w, rows, cols);
    if (y < 0 || y >= rows || x < 0 || x >= cols)
        return 0;
    if (max < 0 || x + max > cols)
        max = cols - x;
    const char *end = s;
    int cells = 0;
    while (*end) {
        unsigned cp;
        int len = dash_next_char(end, &cp);
        int cw = dash_char_width(cp);
        if (cells + cw > max)
            break;
        end += len;
        cells += cw;
    }
    dash_style(d, w, role);
    mvwaddnstr(w, y, x, s, (int)(end - s));
    return cells;
}

int dash_putf(dash *d, WINDOW *w, int y, int x, int max, int role, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return dash_put(d, w, y, x, max, role, buf);
}

const char *dash_glyph(const dash *d, const char *utf8, const char *ascii)
{
    return d->utf8 && d->glyphs != UI_GLYPHS_ASCII ? utf8 : ascii;
}

/* A panel's title row: a rule with the title and optional right-hand text. */
void dash_title(dash *d, WINDOW *w, const char *title, const char *right)
{
    int cols = getmaxx(w);
    dash_style(d, w, ROLE_DIM);
    mvwhline(w, 0, 0, d->utf8 ? ACS_HLINE : '-', cols);
    dash_put(d, w, 0, 1, cols - 2, ROLE_TITLE, " ");
    int x = 2 + dash_put(d, w, 0, 2, cols - 3, ROLE_TITLE, title);
    dash_put(d, w, 0, x, 1, ROLE_TITLE, " ");
    if (right && *right) {
        int rw = dash_text_width(right);
        if (x + 2 + rw < cols)
            dash_put(d, w, 0, cols - rw - 2, rw, ROLE_DIM, right);
    }
}

/* ---- header -------------------------------------------------------------------- */

static int state_role(int state)
{
    switch (state) {
    case NN_STATE_RUNNING: return ROLE_RUNNING;
    case NN_STATE_PAUSED: return ROLE_PAUSED;
    case NN_STATE_STEPPING: return ROLE_STEPPING;
    case NN_STATE_DONE: return ROLE_DONE;
    default: return ROLE_DIVERGED;
    }
}

/* A line of pieces, each with a priority: when the line is too wide, the
 * least important pieces are left out, and the rest keep their order. */
typedef struct piece {
    char text[160];
    int role;
    int priority;       /* 0 is kept longest */
} piece;

static void put_pieces(dash *d, WINDOW *w, int y, int x, int room, piece *p, int n)
{
    int width = 0, keep = 9;
    for (int i = 0; i < n; i++)
        width += dash_text_width(p[i].text);
    while (width > room && keep > 0) {
        keep--;
        width = 0;
        for (int i = 0; i < n; i++)
            if (p[i].priority <= keep)
                width += dash_text_width(p[i].text);
    }
    for (int i = 0; i < n; i++)
        if (p[i].priority <= keep)
            x += dash_put(d, w, y, x, room - x, p[i].role, p[i].text);
}

#define PIECE(pr, role_, prio, ...)                                                                  \
    do {                                                                                              \
        snprintf((pr)->text, sizeof (pr)->text, __VA_ARGS__);                                        \
        (pr)->role = (role_);                                                                         \
        (pr)->priority = (prio);                                                                      \
        (pr)++;                                                                                       \
    } while (0)

void dash_draw_header(dash *d, WINDOW *w)
{
    const nn_run_status *st = &d->st;
    int cols = getmaxx(w);
    char a[32], b[32];
    werase(w);
    char badge[24];
    snprintf(badge, sizeof badge, " %s ", nn_state_name(st->state));
    int bw = (int)strlen(badge);
    dash_put(d, w, 0, cols - bw, bw, state_role(st->state), badge);

    int epochs = st->hp.epochs;
    int shown_epoch = st->epoch < epochs ? st->epoch + 1 : epochs;
    double within = 1;
    if (st->epoch < epochs && st->samples_per_epoch > 0)
        within = (double)(st->samples - (long)st->epoch * st->samples_per_epoch) / (double)st->samples_per_epoch;
    char bar[64];
    ui_bar(within, 8, !d->utf8 || d->glyphs == UI_GLYPHS_ASCII, bar, sizeof bar);
    const char *dot = dash_glyph(d, " \u00b7 ", " - ");
    piece row[12], *p = row;
    PIECE(p, ROLE_TITLE, 0, " nnlab ");
    PIECE(p, ROLE_TEXT, 1, " %s", d->opt.model);
    PIECE(p, ROLE_TEXT, 4, "%s%s params", dot, ui_fmt_count((long long)nn_session_param_count(d->session), a, sizeof a));
    PIECE(p, ROLE_TEXT, 5, "%s%s", dot, d->opt.data);
    PIECE(p, ROLE_TITLE, 0, "  epoch %d/%d ", shown_epoch, epochs);
    PIECE(p, ROLE_LOSS, 2, "%s", bar);
    PIECE(p, ROLE_TITLE, 0, "  step %ld", st->step);
    if (st->samples_per_sec > 0 && (st->state == NN_STATE_RUNNING || st->state == NN_STATE_STEPPING))
        PIECE(p, ROLE_TEXT, 3, "  %s samples/s", ui_fmt_rate(st->samples_per_sec, a, sizeof a));
    put_pieces(d, w, 0, 0, cols - bw - 1, row, (int)(p - row));

    /* second row: how it is being trained, and where it stands */
    const char *sep = dash_glyph(d, " \u2502 ", " | ");
    p = row;
    PIECE(p, ROLE_TEXT, 0, " lr %s", ui_fmt_num(st->hp.lr, a, sizeof a));
    /* the scheduled rate, when the schedule has moved it visibly */
    if (st->step > 0 && strcmp(ui_fmt_num(st->lr_now, b, sizeof b), a) != 0)
        PIECE(p, ROLE_DIM, 3, " (now %s)", b);
    PIECE(p, ROLE_TEXT, 4, "%s%s", sep, nn_optimizer_name(st->hp.optimizer));
    if (st->step > 0) {
        PIECE(p, ROLE_LOSS, 0, "%sloss %s", sep, ui_fmt_num(st->loss_smooth, a, sizeof a));
        PIECE(p, ROLE_ACC, 1, "%sacc %.1f%%", sep, 100.0 * st->accuracy_smooth);
    }
    PIECE(p, ROLE_TEXT, 2, "%selapsed %s", sep, ui_fmt_duration(st->elapsed, a, sizeof a));
    PIECE(p, ROLE_TEXT, 1, "%sETA %s", sep,
          st->state == NN_STATE_DONE ? "0:00" : ui_fmt_duration(st->eta, b, sizeof b));
    if (st->speed_limit)
        PIECE(p, ROLE_WARN, 1, "%sspeed %d steps/s", sep, st->speed_limit);
    else
        PIECE(p, ROLE_TEXT, 5, "%sspeed max", sep);
    PIECE(p, ROLE_TEXT, 5, "%sseed %llu", sep, (unsigned long long)st->hp.seed);
    if (st->run > 1 || st->prev_runs)
        PIECE(p, ROLE_TEXT, 3, "%srun %d", sep, st->run);
    put_pieces(d, w, 1, 0, cols, row, (int)(p - row));
    wnoutrefresh(w);
}

/* ---- hyperparameters --------------------------------------------------------------- */

void dash_draw_hparams(dash *d, WINDOW *w)
{
    int cols = getmaxx(w);
    int wide = cols >= 110;
    char v[32], line[96];
    werase(w);
    int x = dash_put(d, w, 0, 0, cols, ROLE_DIM, wide ? " hyperparameters " : " ");
    for (int i = 0; i < HP_COUNT; i++) {
        double value = dash_hparam_value(d, i);
        if (i == HP_DROPOUT && value < 0)
            snprintf(v, sizeof v, "-");
        else if (i == HP_BATCH)
            snprintf(v, sizeof v, "%d/%d", (int)value, d->st.max_batch);
        else
            ui_fmt_num(value, v, sizeof v);
        const char *label = dash_hparam_label(i);
        if (!wide && i == HP_WEIGHT_DECAY)
            label = "wd";
        snprintf(line, sizeof line, "%s%s %s ", i == d->selected ? dash_glyph(d, "\u25b8", ">") : " ", label, v);
        int sel = i == d->selected;
        x += dash_put(d, w, 0, x, cols - x, sel ? ROLE_SELECT : ROLE_TEXT, line);
        x += dash_put(d, w, 0, x, cols - x, ROLE_TEXT, " ");
    }
    const char *hint = wide ? dash_glyph(d, "  \u2191\u2193 select  + - change  = type a value",
                                    "  up/down select  + - change  = type a value")
                            : dash_glyph(d, " \u2191\u2193 +- =", " +- =");
    if (x + dash_text_width(hint) <= cols)
        dash_put(d, w, 0, x, cols - x, ROLE_DIM, hint);
    wnoutrefresh(w);
}

/* ---- per-layer table ---------------------------------------------------------------- */

void dash_draw_layers(dash *d, WINDOW *w)
{
    int rows, cols;
    getmaxyx(w, rows, cols);
    werase(w);
    int ascii = !d->utf8 || d->glyphs == UI_GLYPHS_ASCII;
    int name_w = 4;
    for (int t = 0; t < d->n_tensors; t++) {
        int len = (int)strlen(nn_session_tensor_name(d->session, t));
        if (len > name_w)
            name_w = len;
    }
    if (name_w > 18)
        name_w = 18;
    if (name_w > cols / 5)
        name_w = cols / 5;
    int metric_w = (cols - name_w - 2) / 3;
    int value_w = 8, bar_w = metric_w >= 30 ? 10 : metric_w >= 22 ? 5 : 0;
    int spark_w = metric_w - value_w - bar_w - 2 - (bar_w ? 1 : 0);
    if (spark_w < 0)
        spark_w = 0;
    static const char *const heads[3] = {"gradient norm", "weight norm", "update/weight"};
    static const double lo[3] = {1e-4, 1e-2, 1e-6}, hi[3] = {1e2, 1e3, 1};
    dash_title(d, w, "layers", "");
    for (int k = 0; k < 3; k++)
        dash_put(d, w, 0, name_w + 2 + k * metric_w + 1, metric_w - 1, ROLE_TITLE, heads[k]);
    int shown = d->n_tensors;
    if (shown > rows - 1)
        shown = rows - 2;
    char cell[256], spark[2048], bar[256], value[32];
    for (int t = 0; t < shown; t++) {
        int y = 1 + t;
        snprintf(cell, sizeof cell, " %s", nn_session_tensor_name(d->session, t));
        dash_put(d, w, y, 0, name_w + 1, ROLE_TEXT, cell);
        for (int k = 0; k < 3; k++) {
            const dash_series *s = &d->tensor[3 * t + k];
            int x = name_w + 2 + k * metric_w;
            double v = s->n ? s->y[s->n - 1] : NAN;
            int role = ROLE_TEXT;
            if (!isfinite(v) && s->n)
                role = ROLE_BAD;
            else if (k == 2 && s->n)
                role = v > 1e-1 ? ROLE_BAD : (v < 1e-4 || v > 1e-2) ? ROLE_WARN : ROLE_GOOD;
            snprintf(value, sizeof value, "%*s", value_w, s->n ? ui_fmt_num(v, cell, sizeof cell) : "-");
            x += dash_put(d, w, y, x, value_w, role, value) + 1;
            if (spark_w > 0 && s->n) {
                ui_sparkline(s->y, s->n, spark_w, 1, ascii, spark, sizeof spark);
                dash_put(d, w, y, x, spark_w, k == 2 ? ROLE_ACC : ROLE_LOSS, spark);
            }
            x += spark_w + 1;
            if (bar_w && s->n) {
                ui_logbar(v, lo[k], hi[k], bar_w, ascii, bar, sizeof bar);
                dash_put(d, w, y, x, bar_w, ROLE_DIM, bar);
            }
        }
    }
    if (shown < d->n_tensors)
        dash_putf(d, w, rows - 1, 1, cols - 2, ROLE_DIM, "... %d more tensors (a taller terminal shows them)",
             d->n_tensors - shown);
    wnoutrefresh(w);
}

/* ---- confusion matrix ------------------------------------------------------------------ */

void dash_draw_confusion(dash *d, WINDOW *w)
{
    int rows, cols;
    getmaxyx(w, rows, cols);
    werase(w);
    char title[64];
    if (d->eval_version)
        snprintf(title, sizeof title, "confusion %s test", dash_glyph(d, "\u00b7", "-"));
    else
        snprintf(title, sizeof title, "confusion");
    char right[32] = "";
    if (d->eval_version)
        snprintf(right, sizeof right, "epoch %d", d->eval_epoch);
    dash_title(d, w, title, right);
    if (!d->eval_version) {
        dash_put(d, w, 1, 1, cols - 2, ROLE_DIM, "after the first epoch");
        wnoutrefresh(w);
        return;
    }
    const nn_eval *e = &d->eval;
    int k = e->classes > 10 ? 10 : e->classes;
    int numbers = cols >= 4 * k + 9;
    int cell_w = numbers ? 4 : 2;
    int header = rows >= k + 2;
    int y0 = 1 + header;
    if (header) {
        dash_put(d, w, 1, 0, 3, ROLE_DIM, numbers ? "t\\p" : " ");
        for (int p = 0; p < k; p++)
            dash_putf(d, w, 1, 3 + p * cell_w, cell_w, ROLE_DIM, "%*d", cell_w - (numbers ? 0 : 1), p);
    }
    static const char *const shade_utf8[5] = {"\u00b7", "\u2591", "\u2592", "\u2593", "\u2588"};
    static const char *const shade_ascii[5] = {".", ":", "+", "#", "@"};
    int ascii = !d->utf8 || d->glyphs == UI_GLYPHS_ASCII;
    for (int r = 0; r < k && y0 + r < rows; r++) {
        long total = 0;
        for (int p = 0; p < k; p++)
            total += e->confusion[r][p];
        dash_putf(d, w, y0 + r, 0, 3, ROLE_DIM, " %d", r);
        for (int p = 0; p < k; p++) {
            long n = e->confusion[r][p];
            double f = total ? (double)n / (double)total : 0;
            int role = p == r ? ROLE_GOOD : n ? (f > 0.05 ? ROLE_BAD : ROLE_WARN) : ROLE_DIM;
            int x = 3 + p * cell_w;
            if (numbers) {
                dash_putf(d, w, y0 + r, x, cell_w, n ? role : ROLE_DIM, "%*ld", cell_w, n);
            } else {
                /* the square root lifts the small off-diagonal fractions into view */
                int level = n ? 1 + (int)lround(sqrt(f) * 3) : 0;
                dash_put(d, w, y0 + r, x + 1, 1, role, (ascii ? shade_ascii : shade_utf8)[level > 4 ? 4 : level]);
            }
        }
        int x = 3 + k * cell_w + 1;
        if (x + 5 <= cols)
            dash_putf(d, w, y0 + r, x, cols - x, ROLE_DIM, "%3.0f%%", 100 * e->class_accuracy[r]);
    }
    wnoutrefresh(w);
}

/* ---- events --------------------------------------------------------------------------- */

void dash_draw_events(dash *d, WINDOW *w)
{
    int rows, cols;
    getmaxyx(w, rows, cols);
    werase(w);
    dash_title(d, w, "events", "");
    int lines = rows - 1;
    int first = d->n_events > lines ? d->n_events - lines : 0;
    for (int i = first; i < d->n_events; i++) {
        const nn_event *e = &d->events[i];
        int role = ROLE_TEXT;
        switch (e->kind) {
        case NN_EVENT_HPARAM: role = ROLE_MARK; break;
        case NN_EVENT_WARN:
        case NN_EVENT_ERROR: role = ROLE_BAD; break;
        case NN_EVENT_SAVE: role = ROLE_GOOD; break;
        case NN_EVENT_STATE: role = ROLE_INFO; break;
        default: break;
        }
        if (e->run != d->st.run && e->kind != NN_EVENT_STATE)
            role = ROLE_DIM; /* an earlier run's, before a reset */
        int y = 1 + i - first;
        int x = dash_putf(d, w, y, 0, 8, ROLE_DIM, "%7ld ", e->step);
        dash_put(d, w, y, x, cols - x, role, e->text);
    }
    wnoutrefresh(w);
}

/* ---- key line ------------------------------------------------------------------------------ */

void dash_draw_keys(dash *d, WINDOW *w)
{
    int cols = getmaxx(w);
    werase(w);
    if (d->typing) {
        int x = dash_putf(d, w, 0, 0, cols, ROLE_SELECT, " %s = %s", dash_hparam_label(d->selected), d->input);
        x += dash_put(d, w, 0, x, cols - x, ROLE_SELECT, dash_glyph(d, "\u258f", "_"));
        dash_put(d, w, 0, x, cols - x, ROLE_DIM, "   Enter sets it, Esc cancels");
        wnoutrefresh(w);
        return;
    }
    int x = 0;
    if (d->st.state == NN_STATE_DIVERGED) {
        char msg[256], what[96];
        if (isfinite(d->st.diverged_loss))
            snprintf(what, sizeof what, "the loss reached %.3g (max %g)", d->st.diverged_loss, d->st.hp.max_loss);
        else
            snprintf(what, sizeof what, "%s is NaN/Inf", d->st.bad_name);
        if (d->st.good_step >= 0)
            snprintf(msg, sizeof msg, " DIVERGED: %s at step %ld %s b restores step %ld, r resets ", what,
                     d->st.diverged_step, dash_glyph(d, "\u2014", "-"), d->st.good_step);
        else
            snprintf(msg, sizeof msg, " DIVERGED: %s at step %ld %s r resets ", what, d->st.diverged_step,
                     dash_glyph(d, "\u2014", "-"));
        x += dash_put(d, w, 0, x, cols, ROLE_DIVERGED, msg) + 1;
    }
    static const char *const keys[][2] = {
        {"Enter", "next"}, {"space", "pause"}, {"n", "step"},      {"e", "epoch"}, {"<>", "speed"},
        {"g", "log-y"},    {"G", "graph"},     {"s", "save"},      {"r", "reset"}, {"b", "restore"},
        {"?", "help"},     {"q", "quit"},
    };
    const int quit_w = 8; /* " q quit " always fits */
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        int is_quit = !strcmp(keys[i][0], "q");
        if (!strcmp(keys[i][0], "b") && d->st.state != NN_STATE_DIVERGED)
            continue;
        if (!strcmp(keys[i][0], "Enter") && !(d->lesson && d->caption.waiting))
            continue;
        int need = (int)strlen(keys[i][0]) + (int)strlen(keys[i][1]) + 3;
        if (!is_quit && x + need > cols - quit_w)
            continue;
        x += dash_put(d, w, 0, x, cols - x, ROLE_TITLE, " ");
        x += dash_put(d, w, 0, x, cols - x, ROLE_SELECT, keys[i][0]);
        x += dash_putf(d, w, 0, x, cols - x, ROLE_TEXT, " %s ", keys[i][1]);
    }
    wnoutrefresh(w);
}

/* ---- overlays --------------------------------------------------------------------------------- */

void dash_draw_help(dash *d, WINDOW *w)
{
    static const char *const lines[] = {
        "space    pause / resume",
        "n        train one batch, then pause",
        "e        train to the end of the epoch, then pause",
        "< >      slower / faster (steps per second, down to 1)",
        "g        loss chart: log / linear y axis",
        "G        graph view: each node's gradient norm (PgUp PgDn)",
        "up down  select a hyperparameter (learning rate first)",
        "+ -      double / halve it (rates step by 0.05)",
        "=        type an exact value (Ctrl-U clears it)",
        "s        save a checkpoint",
        "r        start over from the initial weights, same seed",
        "b        restore the last good weights (after DIVERGED)",
        "?        this help (any key closes it)",
        "q        quit (Ctrl-C also quits, and saves with --save)",
        "",
        "Changes apply before the next batch; each is logged",
        "and marked on the loss chart where it happened.",
    };
    int rows, cols;
    getmaxyx(w, rows, cols);
    werase(w);
    dash_style(d, w, ROLE_TEXT);
    if (d->utf8)
        box(w, 0, 0);
    else
        wborder(w, '|', '|', '-', '-', '+', '+', '+', '+');
    dash_put(d, w, 0, 2, cols - 4, ROLE_TITLE, " keys ");
    for (int i = 0; i < (int)(sizeof lines / sizeof *lines) && 1 + i < rows - 1; i++) {
        if (i == 14 && d->lesson) /* the blank line makes room for a lesson's key */
            dash_put(d, w, 1 + i, 2, cols - 4, ROLE_TEXT, "Enter    the lesson's next step, once this one is done");
        else
            dash_put(d, w, 1 + i, 2, cols - 4, i < 14 ? ROLE_TEXT : ROLE_DIM, lines[i]);
    }
    wnoutrefresh(w);
}

void dash_draw_too_small(dash *d, WINDOW *w)
{
    int rows, cols;
    getmaxyx(w, rows, cols);
    werase(w);
    char line1[96], line2[64];
    snprintf(line1, sizeof line1, "Terminal too small: %dx%d", cols, rows);
    snprintf(line2, sizeof line2, "needs %dx%d  (q quits)", DASH_MIN_COLS, DASH_MIN_ROWS);
    int y = rows / 2 - 1;
    dash_put(d, w, y, (cols - (int)strlen(line1)) / 2 > 0 ? (cols - (int)strlen(line1)) / 2 : 0, cols, ROLE_BAD, line1);
    dash_put(d, w, y + 1, (cols - (int)strlen(line2)) / 2 > 0 ? (cols - (int)strlen(line2)) / 2 : 0, cols, ROLE_TEXT,
        line2);
    wnoutrefresh(w);
}
