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
static int text_width(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Write s at (y, x) in role, cut to at most max cells; returns cells written. */
static int put(dash *d, WINDOW *w, int y, int x, int max, int role, const char *s)
{
    int rows, cols;
    getmaxyx(w, rows, cols);
    if (y < 0 || y >= rows || x < 0 || x >= cols)
        return 0;
    if (max < 0 || x + max > cols)
        max = cols - x;
    const char *end = s;
    int cells = 0;
    while (*end && cells < max) {
        end++;
        while (((unsigned char)*end & 0xC0) == 0x80)
            end++;
        cells++;
    }
    dash_style(d, w, role);
    mvwaddnstr(w, y, x, s, (int)(end - s));
    return cells;
}

static int putf(dash *d, WINDOW *w, int y, int x, int max, int role, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 7, 8)))
#endif
    ;
static int putf(dash *d, WINDOW *w, int y, int x, int max, int role, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return put(d, w, y, x, max, role, buf);
}

static const char *glyph(const dash *d, const char *utf8, const char *ascii)
{
    return d->utf8 && d->glyphs != UI_GLYPHS_ASCII ? utf8 : ascii;
}

/* A panel's title row: a rule with the title and optional right-hand text. */
static void title_row(dash *d, WINDOW *w, const char *title, const char *right)
{
    int cols = getmaxx(w);
    dash_style(d, w, ROLE_DIM);
    mvwhline(w, 0, 0, d->utf8 ? ACS_HLINE : '-', cols);
    put(d, w, 0, 1, cols - 2, ROLE_TITLE, " ");
    int x = 2 + put(d, w, 0, 2, cols - 3, ROLE_TITLE, title);
    put(d, w, 0, x, 1, ROLE_TITLE, " ");
    if (right && *right) {
        int rw = text_width(right);
        if (x + 2 + rw < cols)
            put(d, w, 0, cols - rw - 2, rw, ROLE_DIM, right);
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
        width += text_width(p[i].text);
    while (width > room && keep > 0) {
        keep--;
        width = 0;
        for (int i = 0; i < n; i++)
            if (p[i].priority <= keep)
                width += text_width(p[i].text);
    }
    for (int i = 0; i < n; i++)
        if (p[i].priority <= keep)
            x += put(d, w, y, x, room - x, p[i].role, p[i].text);
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
    put(d, w, 0, cols - bw, bw, state_role(st->state), badge);

    int epochs = st->hp.epochs;
    int shown_epoch = st->epoch < epochs ? st->epoch + 1 : epochs;
    double within = 1;
    if (st->epoch < epochs && st->samples_per_epoch > 0)
        within = (double)(st->samples - (long)st->epoch * st->samples_per_epoch) / (double)st->samples_per_epoch;
    char bar[64];
    ui_bar(within, 8, !d->utf8 || d->glyphs == UI_GLYPHS_ASCII, bar, sizeof bar);
    const char *dot = glyph(d, " \u00b7 ", " - ");
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
    const char *sep = glyph(d, " \u2502 ", " | ");
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
    int x = put(d, w, 0, 0, cols, ROLE_DIM, wide ? " hyperparameters " : " ");
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
        snprintf(line, sizeof line, "%s%s %s ", i == d->selected ? glyph(d, "\u25b8", ">") : " ", label, v);
        int sel = i == d->selected;
        x += put(d, w, 0, x, cols - x, sel ? ROLE_SELECT : ROLE_TEXT, line);
        x += put(d, w, 0, x, cols - x, ROLE_TEXT, " ");
    }
    const char *hint = wide ? glyph(d, "  \u2191\u2193 select  + - change  = type a value",
                                    "  up/down select  + - change  = type a value")
                            : glyph(d, " \u2191\u2193 +- =", " +- =");
    if (x + text_width(hint) <= cols)
        put(d, w, 0, x, cols - x, ROLE_DIM, hint);
    wnoutrefresh(w);
}

/* ---- charts ------------------------------------------------------------------------ */

/* Canvas colour layers, lowest first: a cell shows the highest one. */
enum { LAYER_PREV = 1, LAYER_RAW, LAYER_MARK, LAYER_MAIN, LAYER_TEST };

typedef struct chart_layer {
    const dash_series *s;
    int layer;
    int style;
} chart_layer;

static void mark_label(const char *key, char *out, size_t len)
{
    static const char *const keys[][2] = {{"lr", "lr"}, {"momentum", "m"}, {"weight_decay", "wd"}, {"l1", "l1"},
                                          {"dropout", "do"}, {"batch", "b"}, {"epochs", "ep"}};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (!strcmp(key, keys[i][0])) {
            snprintf(out, len, "%s", keys[i][1]);
            return;
        }
    snprintf(out, len, "%.2s", key);
}

/* Draw a chart panel: a title row, y labels on the left, the plot, and
 * x labels (steps) at the bottom. */
static void draw_chart(dash *d, WINDOW *w, const char *title, const char *legend, const chart_layer *layers,
                       int n_layers, int main_role, int log_y, int percent, int with_marks)
{
    int rows, cols;
    getmaxyx(w, rows, cols);
    werase(w);
    title_row(d, w, title, legend);
    const int label_w = 8;
    int pw = cols - label_w - 1, ph = rows - 2;
    if (pw < 4 || ph < 2) {
        wnoutrefresh(w);
        return;
    }
    ui_canvas *cv = &d->canvas;
    ui_canvas_resize(cv, pw, ph, d->glyphs);
    ui_axis ax, ay;
    ui_axis_begin(&ax, 0);
    ui_axis_fit_value(&ax, 0);
    ui_axis_fit_value(&ax, 1);
    ui_axis_begin(&ay, log_y);
    for (int i = 0; i < n_layers; i++) {
        ui_axis_fit(&ax, layers[i].s->x, layers[i].s->n);
        ui_axis_fit(&ay, layers[i].s->y, layers[i].s->n);
    }
    ui_axis_finish(&ax);
    ui_axis_finish(&ay);
    for (int i = 0; i < n_layers; i++)
        ui_chart_plot(cv, &ax, &ay, layers[i].s->x, layers[i].s->y, layers[i].s->n, layers[i].layer,
                      layers[i].style);
    if (with_marks)
        for (int i = 0; i < d->n_marks; i++)
            ui_chart_vline(cv, &ax, (double)d->marks[i].step + 0.5, LAYER_MARK);

    static const int layer_role[] = {ROLE_TEXT, ROLE_PREV, ROLE_DIM, ROLE_MARK, ROLE_TEXT, ROLE_TEST};
    for (int y = 0; y < ph; y++)
        for (int x = 0; x < pw; x++) {
            wchar_t glyph_text[2] = {(wchar_t)ui_canvas_codepoint(cv, x, y), 0};
            if (!glyph_text[0])
                continue;
            int layer = ui_canvas_color(cv, x, y);
            int role = layer == LAYER_MAIN ? main_role : layer_role[layer];
            cchar_t cell;
            setcchar(&cell, glyph_text, d->attr[role], d->pair[role], NULL);
            mvwadd_wch(w, 1 + y, label_w + 1 + x, &cell);
        }
    /* hyperparameter change labels along the top */
    if (with_marks) {
        for (int i = 0; i < d->n_marks; i++) {
            double f = ui_axis_frac(&ax, (double)d->marks[i].step + 0.5);
            if (isnan(f) || f < 0 || f > 1)
                continue;
            int col = (int)lround(f * (pw * cv->sx - 1)) / cv->sx;
            char label[8];
            mark_label(d->marks[i].key, label, sizeof label);
            int lw = (int)strlen(label);
            int at = col + 1 + lw <= pw ? col + 1 : col - lw; /* right of the line, or left at the edge */
            if (at >= 0)
                put(d, w, 1, label_w + 1 + at, lw, ROLE_MARK, label);
        }
    }
    /* y axis */
    dash_style(d, w, ROLE_DIM);
    mvwvline(w, 1, label_w, d->utf8 ? ACS_VLINE : '|', ph);
    double ticks[16];
    int nt = ui_axis_ticks(&ay, ticks, ph / 2 + 1 < 8 ? ph / 2 + 1 : 8);
    int last_row = -2;
    for (int i = nt - 1; i >= 0; i--) {
        double f = ui_axis_frac(&ay, ticks[i]);
        int row = (int)lround((1 - f) * (ph * cv->sy - 1)) / cv->sy;
        if (row < 0 || row >= ph || row == last_row)
            continue;
        last_row = row;
        char num[24], label[32];
        if (percent)
            snprintf(label, sizeof label, "%s%%", ui_fmt_num(100 * ticks[i], num, sizeof num));
        else
            ui_fmt_num(ticks[i], label, sizeof label);
        int lw = text_width(label);
        put(d, w, 1 + row, label_w - lw > 0 ? label_w - lw : 0, label_w, ROLE_DIM, label);
        dash_style(d, w, ROLE_DIM);
        mvwaddch(w, 1 + row, label_w, d->utf8 ? ACS_RTEE : '+');
    }
    /* x axis: step numbers */
    double xt[16];
    int nx = ui_axis_ticks(&ax, xt, pw / 12 > 1 ? (pw / 12 < 16 ? pw / 12 : 16) : 2);
    int next_free = 0;
    for (int i = 0; i < nx; i++) {
        double f = ui_axis_frac(&ax, xt[i]);
        int col = label_w + 1 + (int)lround(f * (pw * cv->sx - 1)) / cv->sx;
        char label[24];
        snprintf(label, sizeof label, "%.0f", xt[i]);
        int lw = (int)strlen(label);
        int at = col - lw / 2;
        if (at < label_w)
            at = label_w;
        if (at + lw > cols)
            at = cols - lw;
        if (at < next_free)
            continue;
        put(d, w, rows - 1, at, lw, ROLE_DIM, label);
        next_free = at + lw + 1;
    }
    if (next_free + 6 < cols - 1 && pw > 30)
        put(d, w, rows - 1, cols - 5, 5, ROLE_DIM, " step");
    wnoutrefresh(w);
}

void dash_draw_loss(dash *d, WINDOW *w)
{
    chart_layer layers[NN_MONITOR_PREV_RUNS + 4];
    int n = 0;
    for (int r = d->st.prev_runs - 1; r >= 0; r--)
        layers[n++] = (chart_layer){&d->prev[r][0], LAYER_PREV, UI_PLOT_LINE};
    layers[n++] = (chart_layer){&d->run[NN_SERIES_LOSS], LAYER_RAW, UI_PLOT_POINTS};
    layers[n++] = (chart_layer){&d->run[NN_SERIES_LOSS_SMOOTH], LAYER_MAIN, UI_PLOT_LINE};
    layers[n++] = (chart_layer){&d->run[NN_SERIES_TEST_LOSS], LAYER_TEST, UI_PLOT_LINE};
    char legend[160];
    const char *dot = glyph(d, "\u2022", "*");
    snprintf(legend, sizeof legend, "%s smoothed  %s raw  %s test%s  %s", dot, dot, dot,
             d->st.prev_runs ? "  - previous runs" : "", d->log_y ? "log y (g)" : "linear y (g)");
    if (getmaxx(w) < 60)
        snprintf(legend, sizeof legend, "%s", d->log_y ? "log y" : "linear y");
    draw_chart(d, w, "loss", legend, layers, n, ROLE_LOSS, d->log_y, 0, 1);
}

void dash_draw_accuracy(dash *d, WINDOW *w)
{
    chart_layer layers[NN_MONITOR_PREV_RUNS + 4];
    int n = 0;
    for (int r = d->st.prev_runs - 1; r >= 0; r--)
        layers[n++] = (chart_layer){&d->prev[r][1], LAYER_PREV, UI_PLOT_LINE};
    layers[n++] = (chart_layer){&d->run[NN_SERIES_ACCURACY], LAYER_RAW, UI_PLOT_POINTS};
    layers[n++] = (chart_layer){&d->run[NN_SERIES_ACCURACY_SMOOTH], LAYER_MAIN, UI_PLOT_LINE};
    layers[n++] = (chart_layer){&d->run[NN_SERIES_TEST_ACCURACY], LAYER_TEST, UI_PLOT_LINE};
    char legend[96] = "";
    const dash_series *test = &d->run[NN_SERIES_TEST_ACCURACY];
    if (test->n)
        snprintf(legend, sizeof legend, "test %.2f%%", 100.0 * test->y[test->n - 1]);
    draw_chart(d, w, "accuracy", legend, layers, n, ROLE_ACC, 0, 1, 0);
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
    title_row(d, w, "layers", "");
    for (int k = 0; k < 3; k++)
        put(d, w, 0, name_w + 2 + k * metric_w + 1, metric_w - 1, ROLE_TITLE, heads[k]);
    int shown = d->n_tensors;
    if (shown > rows - 1)
        shown = rows - 2;
    char cell[256], spark[2048], bar[256], value[32];
    for (int t = 0; t < shown; t++) {
        int y = 1 + t;
        snprintf(cell, sizeof cell, " %s", nn_session_tensor_name(d->session, t));
        put(d, w, y, 0, name_w + 1, ROLE_TEXT, cell);
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
            x += put(d, w, y, x, value_w, role, value) + 1;
            if (spark_w > 0 && s->n) {
                ui_sparkline(s->y, s->n, spark_w, 1, ascii, spark, sizeof spark);
                put(d, w, y, x, spark_w, k == 2 ? ROLE_ACC : ROLE_LOSS, spark);
            }
            x += spark_w + 1;
            if (bar_w && s->n) {
                ui_logbar(v, lo[k], hi[k], bar_w, ascii, bar, sizeof bar);
                put(d, w, y, x, bar_w, ROLE_DIM, bar);
            }
        }
    }
    if (shown < d->n_tensors)
        putf(d, w, rows - 1, 1, cols - 2, ROLE_DIM, "... %d more tensors (a taller terminal shows them)",
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
        snprintf(title, sizeof title, "confusion %s test", glyph(d, "\u00b7", "-"));
    else
        snprintf(title, sizeof title, "confusion");
    char right[32] = "";
    if (d->eval_version)
        snprintf(right, sizeof right, "epoch %d", d->eval_epoch);
    title_row(d, w, title, right);
    if (!d->eval_version) {
        put(d, w, 1, 1, cols - 2, ROLE_DIM, "after the first epoch");
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
        put(d, w, 1, 0, 3, ROLE_DIM, numbers ? "t\\p" : " ");
        for (int p = 0; p < k; p++)
            putf(d, w, 1, 3 + p * cell_w, cell_w, ROLE_DIM, "%*d", cell_w - (numbers ? 0 : 1), p);
    }
    static const char *const shade_utf8[5] = {"\u00b7", "\u2591", "\u2592", "\u2593", "\u2588"};
    static const char *const shade_ascii[5] = {".", ":", "+", "#", "@"};
    int ascii = !d->utf8 || d->glyphs == UI_GLYPHS_ASCII;
    for (int r = 0; r < k && y0 + r < rows; r++) {
        long total = 0;
        for (int p = 0; p < k; p++)
            total += e->confusion[r][p];
        putf(d, w, y0 + r, 0, 3, ROLE_DIM, " %d", r);
        for (int p = 0; p < k; p++) {
            long n = e->confusion[r][p];
            double f = total ? (double)n / (double)total : 0;
            int role = p == r ? ROLE_GOOD : n ? (f > 0.05 ? ROLE_BAD : ROLE_WARN) : ROLE_DIM;
            int x = 3 + p * cell_w;
            if (numbers) {
                putf(d, w, y0 + r, x, cell_w, n ? role : ROLE_DIM, "%*ld", cell_w, n);
            } else {
                /* the square root lifts the small off-diagonal fractions into view */
                int level = n ? 1 + (int)lround(sqrt(f) * 3) : 0;
                put(d, w, y0 + r, x + 1, 1, role, (ascii ? shade_ascii : shade_utf8)[level > 4 ? 4 : level]);
            }
        }
        int x = 3 + k * cell_w + 1;
        if (x + 5 <= cols)
            putf(d, w, y0 + r, x, cols - x, ROLE_DIM, "%3.0f%%", 100 * e->class_accuracy[r]);
    }
    wnoutrefresh(w);
}

/* ---- events --------------------------------------------------------------------------- */

void dash_draw_events(dash *d, WINDOW *w)
{
    int rows, cols;
    getmaxyx(w, rows, cols);
    werase(w);
    title_row(d, w, "events", "");
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
        int x = putf(d, w, y, 0, 8, ROLE_DIM, "%7ld ", e->step);
        put(d, w, y, x, cols - x, role, e->text);
    }
    wnoutrefresh(w);
}

/* ---- key line ------------------------------------------------------------------------------ */

void dash_draw_keys(dash *d, WINDOW *w)
{
    int cols = getmaxx(w);
    werase(w);
    if (d->typing) {
        int x = putf(d, w, 0, 0, cols, ROLE_SELECT, " %s = %s", dash_hparam_label(d->selected), d->input);
        x += put(d, w, 0, x, cols - x, ROLE_SELECT, glyph(d, "\u258f", "_"));
        put(d, w, 0, x, cols - x, ROLE_DIM, "   Enter sets it, Esc cancels");
        wnoutrefresh(w);
        return;
    }
    int x = 0;
    if (d->st.state == NN_STATE_DIVERGED) {
        char msg[160];
        if (d->st.good_step >= 0)
            snprintf(msg, sizeof msg, " DIVERGED: %s is NaN/Inf at step %ld %s b restores step %ld, r resets ",
                     d->st.bad_name, d->st.diverged_step, glyph(d, "\u2014", "-"), d->st.good_step);
        else
            snprintf(msg, sizeof msg, " DIVERGED: %s is NaN/Inf at step %ld %s r resets ", d->st.bad_name,
                     d->st.diverged_step, glyph(d, "\u2014", "-"));
        x += put(d, w, 0, x, cols, ROLE_DIVERGED, msg) + 1;
    }
    static const char *const keys[][2] = {
        {"space", "pause"}, {"n", "step"}, {"e", "epoch"}, {"<>", "speed"}, {"g", "log-y"},
        {"s", "save"},      {"r", "reset"}, {"b", "restore"}, {"?", "help"}, {"q", "quit"},
    };
    const int quit_w = 8; /* " q quit " always fits */
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        int is_quit = !strcmp(keys[i][0], "q");
        if (!strcmp(keys[i][0], "b") && d->st.state != NN_STATE_DIVERGED)
            continue;
        int need = (int)strlen(keys[i][0]) + (int)strlen(keys[i][1]) + 3;
        if (!is_quit && x + need > cols - quit_w)
            continue;
        x += put(d, w, 0, x, cols - x, ROLE_TITLE, " ");
        x += put(d, w, 0, x, cols - x, ROLE_SELECT, keys[i][0]);
        x += putf(d, w, 0, x, cols - x, ROLE_TEXT, " %s ", keys[i][1]);
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
        "up down  select a hyperparameter (learning rate first)",
        "+ -      double / halve it (rates step by 0.05)",
        "=        type an exact value",
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
    put(d, w, 0, 2, cols - 4, ROLE_TITLE, " keys ");
    for (int i = 0; i < (int)(sizeof lines / sizeof *lines) && 1 + i < rows - 1; i++)
        put(d, w, 1 + i, 2, cols - 4, i < 13 ? ROLE_TEXT : ROLE_DIM, lines[i]);
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
    put(d, w, y, (cols - (int)strlen(line1)) / 2 > 0 ? (cols - (int)strlen(line1)) / 2 : 0, cols, ROLE_BAD, line1);
    put(d, w, y + 1, (cols - (int)strlen(line2)) / 2 > 0 ? (cols - (int)strlen(line2)) / 2 : 0, cols, ROLE_TEXT,
        line2);
    wnoutrefresh(w);
}
