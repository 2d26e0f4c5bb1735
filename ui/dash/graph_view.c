/* The dashboard's graph view (key G): the model's computational graph, one
 * node per line in the order data flows, with the lanes that join them in
 * a gutter on the left, and beside each node the gradient norm of its
 * output and of the parameters it reads, as numbers and as bars on a log
 * scale.  While it is open the trainer computes the per-node norms every
 * step (nn_monitor_want_node_grads); a single step (n) computes them too. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "graph_desc.h"
#include "view.h"

/* Where the bars start and end, and what counts as vanishing or exploding:
 * an activation gradient of a mean loss over a batch is typically 1e-4..1. */
#define BAR_LO 1e-6
#define BAR_HI 1e1
#define VANISHING 1e-5
#define EXPLODING 1e1

int dash_graph_init(dash *d)
{
    const nn_graph_desc *g = nn_session_graph(d->session);
    d->graph = g;
    d->graph_lane = calloc((size_t)g->n_edges + 1, sizeof *d->graph_lane);
    d->node_grad = calloc((size_t)g->n_nodes + 1, sizeof *d->node_grad);
    if (!d->graph_lane || !d->node_grad)
        return -1;
    for (int i = 0; i < g->n_nodes; i++)
        d->node_grad[i] = NAN;
    d->graph_lanes = nn_graph_desc_lanes(g, 1, d->graph_lane);
    d->graph_gutter = calloc((size_t)g->n_rows * (size_t)(2 * d->graph_lanes + 1) + 1, 1);
    if (!d->graph_gutter)
        return -1;
    nn_graph_desc_gutter(g, d->graph_lane, d->graph_lanes, d->graph_gutter);
    return 0;
}

void dash_graph_free(dash *d)
{
    free(d->graph_lane);
    free(d->graph_gutter);
    free(d->node_grad);
}

/* Rows of nodes the view shows at once in a window of this height. */
int dash_graph_page(const dash *d, WINDOW *w)
{
    (void)d;
    int rows = getmaxy(w) - 2;
    return rows > 1 ? rows : 1;
}

static int grad_role(double v)
{
    if (!isfinite(v))
        return isnan(v) ? ROLE_DIM : ROLE_BAD;
    return v < VANISHING ? ROLE_COLD : v > EXPLODING ? ROLE_BAD : ROLE_GOOD;
}

/* The L2 norm of the gradients of the parameters node i reads, from the
 * newest per-tensor statistics; NaN if it reads none. */
static double param_grad(const dash *d, int i)
{
    const nn_graph_node_info *info = &d->graph->nodes[i];
    double sum = 0;
    int any = 0;
    for (int k = 0; k < info->n_in; k++) {
        const nn_graph_node_info *p = &d->graph->nodes[info->in[k]];
        if (p->tensor < 0 || p->tensor >= d->n_tensors)
            continue;
        const dash_series *s = &d->tensor[3 * p->tensor];
        if (!s->n)
            continue;
        double v = s->y[s->n - 1];
        sum += v * v;
        any = 1;
    }
    return any ? sqrt(sum) : NAN;
}

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void dash_draw_graph(dash *d, WINDOW *w)
{
    const nn_graph_desc *g = d->graph;
    int cols = getmaxx(w);
    werase(w);
    int utf8 = d->utf8 && d->glyphs != UI_GLYPHS_ASCII;
    int page = dash_graph_page(d, w);
    int max_scroll = g->n_rows > page ? g->n_rows - page : 0;
    d->graph_scroll = clampi(d->graph_scroll, 0, max_scroll);

    char title[96], right[96], a[32];
    if (d->node_grads_step > 0)
        snprintf(title, sizeof title, "graph %s gradient norms after step %ld", dash_glyph(d, "\u00b7", "-"),
                 d->node_grads_step);
    else
        snprintf(title, sizeof title, "graph %s gradient norms after the next step", dash_glyph(d, "\u00b7", "-"));
    if (max_scroll)
        snprintf(right, sizeof right, "%d-%d of %d  PgUp/PgDn scroll", d->graph_scroll + 1,
                 d->graph_scroll + page < g->n_rows ? d->graph_scroll + page : g->n_rows, g->n_rows);
    else
        snprintf(right, sizeof right, "%s params", ui_fmt_count((long long)g->params, a, sizeof a));
    dash_title(d, w, title, right);

    /* columns: gutter, name, op, shape, params, output gradient (value and
     * bar), parameter gradient */
    char shape[64], value[32], bar[256];
    int gutter = 2 * d->graph_lanes;
    int name_w = 4, op_w = 2, shape_w = 6;
    for (int r = 0; r < g->n_rows; r++) {
        const nn_graph_node_info *info = &g->nodes[g->rows[r]];
        name_w = clampi((int)strlen(info->name), name_w, 16);
        op_w = clampi((int)strlen(info->op_text), op_w, 16);
        shape_w = clampi(dash_text_width(nn_graph_shape_text(info, utf8, shape, sizeof shape)), shape_w, 14);
    }
    const int params_w = 7, value_w = 7;
    int bar_w = cols - 1 - (gutter + 1 + name_w + 1 + op_w + 1 + shape_w + 1 + params_w + 2 + value_w + 1 + 2 + value_w);
    while (bar_w < 8 && op_w > 8) {
        op_w--;
        bar_w++;
    }
    while (bar_w < 8 && name_w > 10) {
        name_w--;
        bar_w++;
    }
    bar_w = clampi(bar_w, 0, 40);
    int x_name = gutter + 1, x_op = x_name + name_w + 1, x_shape = x_op + op_w + 1;
    int x_params = x_shape + shape_w + 1, x_grad = x_params + params_w + 2, x_bar = x_grad + value_w + 1;
    int x_pgrad = x_bar + bar_w + 2;

    dash_put(d, w, 1, x_name, name_w, ROLE_DIM, "node");
    dash_put(d, w, 1, x_op, op_w, ROLE_DIM, "op");
    dash_put(d, w, 1, x_shape, shape_w, ROLE_DIM, "output");
    dash_putf(d, w, 1, x_params, params_w, ROLE_DIM, "%*s", params_w, "params");
    dash_put(d, w, 1, x_grad, value_w + 1 + bar_w, ROLE_DIM, dash_glyph(d, "\u2207 output", "grad out"));
    dash_putf(d, w, 1, x_pgrad, cols - x_pgrad, ROLE_DIM, "%*s", value_w, dash_glyph(d, "\u2207 param", "grad par"));

    int stale = d->node_grads_step != d->st.step;
    for (int k = 0; k < page && d->graph_scroll + k < g->n_rows; k++) {
        int r = d->graph_scroll + k, y = 2 + k;
        int i = g->rows[r];
        const nn_graph_node_info *info = &g->nodes[i];
        for (int c = 0; c < gutter; c++) {
            unsigned mask = d->graph_gutter[(size_t)r * (size_t)gutter + (size_t)c];
            /* lines running in from rows above or on to rows below the page */
            if (mask)
                dash_put(d, w, y, c, 1, ROLE_DIM, nn_graph_line_glyph(mask, utf8));
        }
        int name_role = info->role & NN_ROLE_LOSS ? ROLE_LOSS : info->op == NN_OP_INPUT ? ROLE_INFO : ROLE_TEXT;
        dash_put(d, w, y, x_name, name_w, name_role, info->name);
        dash_put(d, w, y, x_op, op_w, ROLE_TEXT, info->op_text);
        dash_put(d, w, y, x_shape, shape_w, ROLE_DIM, nn_graph_shape_text(info, utf8, shape, sizeof shape));
        if (info->params) {
            char count[32];
            if (info->params >= 1000000)
                snprintf(count, sizeof count, "%.1fM", (double)info->params / 1e6);
            else
                ui_fmt_count((long long)info->params, count, sizeof count);
            dash_putf(d, w, y, x_params, params_w, ROLE_TEXT, "%*s", params_w, count);
        }
        double v = d->node_grads_step > 0 ? d->node_grad[i] : NAN;
        if (isnan(v)) {
            dash_putf(d, w, y, x_grad, value_w, ROLE_DIM, "%*s", value_w, "-");
        } else {
            int role = stale ? ROLE_DIM : grad_role(v);
            snprintf(value, sizeof value, "%.1e", v);
            dash_putf(d, w, y, x_grad, value_w, role, "%*s", value_w, value);
            if (bar_w > 0) {
                ui_logbar(v, BAR_LO, BAR_HI, bar_w, !utf8, bar, sizeof bar);
                dash_put(d, w, y, x_bar, bar_w, role, bar);
            }
        }
        double p = param_grad(d, i);
        if (!isnan(p)) {
            snprintf(value, sizeof value, "%.1e", p);
            dash_putf(d, w, y, x_pgrad, cols - x_pgrad, grad_role(p), "%*s", value_w, value);
        }
    }
    wnoutrefresh(w);
}
