/* The loss and accuracy chart panels: a title row, y labels, the plot
 * drawn into the shared canvas, hyperparameter markers and step labels. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "view.h"

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
    dash_title(d, w, title, legend);
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
                dash_put(d, w, 1, label_w + 1 + at, lw, ROLE_MARK, label);
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
        int lw = dash_text_width(label);
        dash_put(d, w, 1 + row, label_w - lw > 0 ? label_w - lw : 0, label_w, ROLE_DIM, label);
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
        dash_put(d, w, rows - 1, at, lw, ROLE_DIM, label);
        next_free = at + lw + 1;
    }
    if (next_free + 6 < cols - 1 && pw > 30)
        dash_put(d, w, rows - 1, cols - 5, 5, ROLE_DIM, " step");
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
    const char *dot = dash_glyph(d, "\u2022", "*");
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

