/* Describing a graph for people, and drawing it as text and as Graphviz
 * DOT.  The drawings are built on a grid of cells, each either a glyph or
 * a mask of line directions, so lines that meet or cross join up. */
#include "graph_desc.h"

#include <stdlib.h>
#include <string.h>

/* ---- the description ------------------------------------------------------ */

static void op_text(const nn_graph *g, const nn_node *node, char *buf, size_t len)
{
    const nn_op_args *a = &node->args;
    const char *name = nn_op_name(node->op);
    switch (node->op) {
    case NN_OP_CONV2D: {
        const nn_node *w = &g->nodes[node->in[1]];
        int n = snprintf(buf, len, "%s %dx%d", name, w->dim[2], w->dim[3]);
        if (a->pad > 0 && n > 0 && (size_t)n < len)
            n += snprintf(buf + n, len - (size_t)n, " pad %d", a->pad);
        if (a->stride > 1 && n > 0 && (size_t)n < len)
            snprintf(buf + n, len - (size_t)n, " stride %d", a->stride);
        return;
    }
    case NN_OP_MAXPOOL:
    case NN_OP_AVGPOOL:
        if (a->stride != a->kh)
            snprintf(buf, len, "%s %dx%d stride %d", name, a->kh, a->kw, a->stride);
        else
            snprintf(buf, len, "%s %dx%d", name, a->kh, a->kw);
        return;
    case NN_OP_DROPOUT:
        snprintf(buf, len, "%s %g", name, (double)node->fparam);
        return;
    case NN_OP_LSTM:
        snprintf(buf, len, "%s%s", name, a->all_steps ? " every step" : "");
        return;
    case NN_OP_GAUSSIAN:
        snprintf(buf, len, "%s sample", name);
        return;
    default:
        snprintf(buf, len, "%s", name);
    }
}

/* "dense1.weight" -> "weight" */
static const char *param_short_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot ? dot + 1 : name;
}

int nn_graph_describe(const nn_graph *g, nn_graph_desc *out, nn_error *err)
{
    memset(out, 0, sizeof *out);
    int n = g->n_nodes;
    out->nodes = calloc((size_t)n + 1, sizeof *out->nodes);
    out->rows = calloc((size_t)n + 1, sizeof *out->rows);
    out->edges = calloc((size_t)n * NN_MAX_INPUTS + 1, sizeof *out->edges);
    if (!out->nodes || !out->rows || !out->edges) {
        nn_graph_desc_free(out);
        return nn_error_set(err, NN_ERUNTIME, "graph description: out of memory");
    }
    out->n_nodes = n;
    int tensors = 0;
    for (int i = 0; i < n; i++) {
        const nn_node *node = &g->nodes[i];
        nn_graph_node_info *info = &out->nodes[i];
        info->op = node->op;
        snprintf(info->name, sizeof info->name, "%s", node->name);
        info->batched = node->batched;
        info->ndim = node->ndim;
        memcpy(info->dim, node->dim, sizeof info->dim);
        info->n_in = node->n_in;
        memcpy(info->in, node->in, sizeof info->in);
        info->has_grad = node->needs_grad;
        info->tensor = -1;
        info->row = -1;
        info->role = (i == g->input ? NN_ROLE_INPUT : 0) | (i == g->target ? NN_ROLE_TARGET : 0) |
                     (i == g->output ? NN_ROLE_OUTPUT : 0) | (i == g->loss ? NN_ROLE_LOSS : 0);
        if (node->op == NN_OP_PARAM) {
            /* finalising numbers the tensors in graph order, so this count agrees */
            info->tensor = node->param_index >= 0 ? node->param_index : tensors;
            tensors++;
            info->params = node->size;
            snprintf(info->op_text, sizeof info->op_text, "parameter");
            out->params += node->size;
            continue;
        }
        if (node->op == NN_OP_INPUT)
            snprintf(info->op_text, sizeof info->op_text, "input");
        else
            op_text(g, node, info->op_text, sizeof info->op_text);
        for (int k = 0; k < node->n_in; k++) {
            const nn_node *p = &g->nodes[node->in[k]];
            if (p->op == NN_OP_PARAM)
                info->params += p->size;
        }
    }
    out->n_tensors = tensors;

    /* Rows: extra inputs (the target) first, then the main input and every
     * op in graph order, so each layer sits right under the one it reads. */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++) {
            const nn_node *node = &g->nodes[i];
            int extra_input = node->op == NN_OP_INPUT && i != g->input;
            if (node->op == NN_OP_PARAM || extra_input != (pass == 0))
                continue;
            out->nodes[i].row = out->n_rows;
            out->rows[out->n_rows++] = i;
        }
    for (int r = 0; r < out->n_rows; r++) {
        const nn_graph_node_info *info = &out->nodes[out->rows[r]];
        for (int k = 0; k < info->n_in; k++) {
            int from = out->nodes[info->in[k]].row;
            int dup = 0;
            for (int e = 0; e < out->n_edges; e++)
                dup |= out->edges[e].from == from && out->edges[e].to == r;
            if (from >= 0 && !dup)
                out->edges[out->n_edges++] = (nn_graph_edge){from, r};
        }
    }
    return NN_OK;
}

void nn_graph_desc_free(nn_graph_desc *d)
{
    free(d->nodes);
    free(d->rows);
    free(d->edges);
    memset(d, 0, sizeof *d);
}

char *nn_graph_shape_text(const nn_graph_node_info *n, int utf8, char *buf, size_t len)
{
    const char *times = utf8 ? "\u00d7" : "x";
    if (n->ndim == 0) {
        snprintf(buf, len, "scalar");
        return buf;
    }
    size_t at = 0;
    buf[0] = '\0';
    if (n->batched) {
        int w = snprintf(buf, len, "N");
        at = w > 0 ? (size_t)w : 0;
    }
    for (int i = 0; i < n->ndim && at < len; i++) {
        int w = snprintf(buf + at, len - at, "%s%d", at ? times : "", n->dim[i]);
        if (w < 0)
            break;
        at += (size_t)w;
    }
    return buf;
}

char *nn_graph_param_text(const nn_graph_desc *d, int i, int utf8, char *buf, size_t len)
{
    const nn_graph_node_info *info = &d->nodes[i];
    size_t at = 0;
    buf[0] = '\0';
    for (int k = 0; k < info->n_in; k++) {
        const nn_graph_node_info *p = &d->nodes[info->in[k]];
        if (p->op != NN_OP_PARAM)
            continue;
        char shape[64];
        int w = snprintf(buf + at, len - at, "%s%s %s", at ? ", " : "", param_short_name(p->name),
                         nn_graph_shape_text(p, utf8, shape, sizeof shape));
        if (w < 0 || at + (size_t)w >= len)
            break;
        at += (size_t)w;
    }
    return buf;
}

/* ---- lanes ------------------------------------------------------------------ */

int nn_graph_desc_lanes(const nn_graph_desc *d, int adjacent, int *lane)
{
    int lanes = 0;
    for (int e = 0; e < d->n_edges; e++)
        lane[e] = -1;
    /* shortest first, so short edges run close to the rows and long ones
     * outside them */
    for (int len = adjacent ? 1 : 2; len < d->n_rows; len++)
        for (int e = 0; e < d->n_edges; e++) {
            const nn_graph_edge *a = &d->edges[e];
            if (a->to - a->from != len)
                continue;
            for (int l = 0;; l++) {
                int free_lane = 1;
                for (int o = 0; o < d->n_edges && free_lane; o++) {
                    const nn_graph_edge *b = &d->edges[o];
                    int lo = a->from > b->from ? a->from : b->from, hi = a->to < b->to ? a->to : b->to;
                    free_lane = o == e || lane[o] != l || lo >= hi;
                }
                if (free_lane) {
                    lane[e] = l;
                    if (l + 1 > lanes)
                        lanes = l + 1;
                    break;
                }
            }
        }
    return lanes;
}

const char *nn_graph_line_glyph(unsigned mask, int utf8)
{
    static const char *const box[16] = {
        " ",      "\u2502", "\u2502", "\u2502", /* -, U, D, UD */
        "\u2500", "\u2518", "\u2510", "\u2524", /* L, UL, DL, UDL */
        "\u2500", "\u2514", "\u250c", "\u251c", /* R, UR, DR, UDR */
        "\u2500", "\u2534", "\u252c", "\u253c", /* LR, ULR, DLR, UDLR */
    };
    if (mask & NN_LINE_PASS) {
        int crossed = (mask & (NN_LINE_LEFT | NN_LINE_RIGHT)) && !(mask & (NN_LINE_UP | NN_LINE_DOWN));
        mask = crossed ? NN_LINE_UP | NN_LINE_DOWN : mask | NN_LINE_UP | NN_LINE_DOWN;
    }
    mask &= 15;
    if (utf8)
        return box[mask];
    int vertical = mask & (NN_LINE_UP | NN_LINE_DOWN), horizontal = mask & (NN_LINE_LEFT | NN_LINE_RIGHT);
    return vertical && horizontal ? "+" : vertical ? "|" : horizontal ? "-" : " ";
}

void nn_graph_desc_gutter(const nn_graph_desc *d, const int *lane, int lanes, unsigned char *mask)
{
    int width = 2 * lanes;
    memset(mask, 0, (size_t)d->n_rows * (size_t)(width > 0 ? width : 1));
    for (int e = 0; e < d->n_edges; e++) {
        if (lane[e] < 0)
            continue;
        const nn_graph_edge *a = &d->edges[e];
        int col = width - 2 - 2 * lane[e];
        unsigned char *top = mask + (size_t)a->from * (size_t)width, *bottom = mask + (size_t)a->to * (size_t)width;
        top[col] |= NN_LINE_DOWN | NN_LINE_RIGHT;
        bottom[col] |= NN_LINE_UP | NN_LINE_RIGHT;
        for (int c = col + 1; c < width; c++) {
            top[c] |= NN_LINE_LEFT | NN_LINE_RIGHT;
            bottom[c] |= NN_LINE_LEFT | NN_LINE_RIGHT;
        }
        for (int r = a->from + 1; r < a->to; r++)
            mask[(size_t)r * (size_t)width + (size_t)col] |= NN_LINE_PASS;
    }
}

/* ---- the text drawing --------------------------------------------------------- */

/* A cell holds one glyph, or (when the glyph is empty) a line mask. */
typedef struct cell {
    char glyph[5];
    unsigned char mask;
} cell;

typedef struct grid {
    int rows, cols;
    cell *cells;
} grid;

static cell *at(grid *gr, int y, int x)
{
    return &gr->cells[(size_t)y * (size_t)gr->cols + (size_t)x];
}

static void line(grid *gr, int y, int x, unsigned mask)
{
    at(gr, y, x)->mask |= (unsigned char)mask;
}

/* Write UTF-8 text from (y, x), one glyph per cell; returns the cells used. */
static int text(grid *gr, int y, int x, const char *s)
{
    int n = 0;
    while (*s && x + n < gr->cols) {
        int len = 1;
        while (((unsigned char)s[len] & 0xC0) == 0x80 && len < 4)
            len++;
        cell *c = at(gr, y, x + n);
        memcpy(c->glyph, s, (size_t)len);
        c->glyph[len] = '\0';
        s += len;
        n++;
    }
    return n;
}

static int utf8_width(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void count_text(size_t v, char *buf, size_t len)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%zu", v), at = 0;
    for (int i = 0; i < n && (size_t)at + 2 < len; i++) {
        if (i && (n - i) % 3 == 0)
            buf[at++] = ',';
        buf[at++] = digits[i];
    }
    buf[at] = '\0';
}

int nn_graph_write_text(const nn_graph_desc *d, const char *title, int utf8, FILE *f, nn_error *err)
{
    int n = d->n_rows;
    int *lane = calloc((size_t)d->n_edges + 1, sizeof *lane);
    int *top = calloc((size_t)n + 1, sizeof *top), *lines = calloc((size_t)n + 1, sizeof *lines);
    unsigned char *in_lane = calloc((size_t)n + 1, 1), *out_lane = calloc((size_t)n + 1, 1);
    grid gr = {0};
    int rc = NN_OK;
    if (!lane || !top || !lines || !in_lane || !out_lane) {
        rc = nn_error_set(err, NN_ERUNTIME, "graph drawing: out of memory");
        goto done;
    }
    int lanes = nn_graph_desc_lanes(d, 0, lane);
    for (int e = 0; e < d->n_edges; e++)
        if (lane[e] >= 0) {
            out_lane[d->edges[e].from] = 1;
            in_lane[d->edges[e].to] = 1;
        }

    /* column widths, shared by every box */
    int name_w = 4, op_w = 2, shape_w = 5, par_w = 0, extra_w = 0;
    char shape[64], count[32], params[48], extra[128];
    for (int r = 0; r < n; r++) {
        const nn_graph_node_info *info = &d->nodes[d->rows[r]];
        int w = utf8_width(info->name);
        name_w = w > name_w ? w : name_w;
        w = utf8_width(info->op_text);
        op_w = w > op_w ? w : op_w;
        w = utf8_width(nn_graph_shape_text(info, utf8, shape, sizeof shape));
        shape_w = w > shape_w ? w : shape_w;
        if (info->params) {
            count_text(info->params, count, sizeof count);
            snprintf(params, sizeof params, "%s params", count);
            w = utf8_width(params);
            par_w = w > par_w ? w : par_w;
        }
        w = utf8_width(nn_graph_param_text(d, d->rows[r], utf8, extra, sizeof extra));
        extra_w = w > extra_w ? w : extra_w;
    }
    int inner = name_w + 2 + op_w + 2 + shape_w + (par_w ? 2 + par_w : 0);
    if (name_w + 2 + extra_w > inner)
        inner = name_w + 2 + extra_w;
    int box_w = inner + 4, right = box_w - 1, mid = box_w / 2;

    /* rows: each box is a border, one or two lines of text, a border, and
     * a line for the arrow to the next */
    int y = 0;
    for (int r = 0; r < n; r++) {
        const nn_graph_node_info *info = &d->nodes[d->rows[r]];
        top[r] = y;
        lines[r] = info->params || (in_lane[r] && out_lane[r]) ? 2 : 1;
        y += lines[r] + 3;
    }
    gr.rows = y > 0 ? y - 1 : 0;
    gr.cols = box_w + 3 + 2 * lanes;
    gr.cells = calloc((size_t)gr.rows * (size_t)gr.cols + 1, sizeof *gr.cells);
    if (!gr.cells) {
        rc = nn_error_set(err, NN_ERUNTIME, "graph drawing: out of memory");
        goto done;
    }
    for (int r = 0; r < n; r++) {
        const nn_graph_node_info *info = &d->nodes[d->rows[r]];
        int y0 = top[r], y1 = top[r] + lines[r] + 1;
        for (int x = 0; x <= right; x++) {
            line(&gr, y0, x, (x > 0 ? NN_LINE_LEFT : 0) | (x < right ? NN_LINE_RIGHT : 0));
            line(&gr, y1, x, (x > 0 ? NN_LINE_LEFT : 0) | (x < right ? NN_LINE_RIGHT : 0));
        }
        for (int yy = y0; yy <= y1; yy++) {
            line(&gr, yy, 0, (yy > y0 ? NN_LINE_UP : 0) | (yy < y1 ? NN_LINE_DOWN : 0));
            line(&gr, yy, right, (yy > y0 ? NN_LINE_UP : 0) | (yy < y1 ? NN_LINE_DOWN : 0));
        }
        int x = 2;
        text(&gr, y0 + 1, x, info->name);
        x += name_w + 2;
        text(&gr, y0 + 1, x, info->op_text);
        x += op_w + 2;
        text(&gr, y0 + 1, x, nn_graph_shape_text(info, utf8, shape, sizeof shape));
        if (info->params) {
            count_text(info->params, count, sizeof count);
            snprintf(params, sizeof params, "%s params", count);
            text(&gr, y0 + 1, right - 1 - utf8_width(params), params);
        }
        if (info->params)
            text(&gr, y0 + 2, 2 + name_w + 2, nn_graph_param_text(d, d->rows[r], utf8, extra, sizeof extra));
    }
    for (int e = 0; e < d->n_edges; e++) {
        const nn_graph_edge *a = &d->edges[e];
        if (lane[e] < 0) { /* to the next row: an arrow down the middle */
            int yb = top[a->from] + lines[a->from] + 1;
            line(&gr, yb, mid, NN_LINE_DOWN);
            text(&gr, yb + 1, mid, utf8 ? "\u25bc" : "v");
            continue;
        }
        int col = box_w + 2 + 2 * lane[e];
        int ya = top[a->from] + lines[a->from], yb = top[a->to] + 1;
        line(&gr, ya, right, NN_LINE_RIGHT);
        for (int x = right + 1; x < col; x++)
            line(&gr, ya, x, NN_LINE_LEFT | NN_LINE_RIGHT);
        line(&gr, ya, col, NN_LINE_LEFT | NN_LINE_DOWN);
        for (int yy = ya + 1; yy < yb; yy++)
            line(&gr, yy, col, NN_LINE_PASS);
        line(&gr, yb, col, NN_LINE_UP | NN_LINE_LEFT);
        for (int x = right + 2; x < col; x++)
            line(&gr, yb, x, NN_LINE_LEFT | NN_LINE_RIGHT);
        text(&gr, yb, right + 1, utf8 ? "\u25c0" : "<");
    }

    count_text(d->params, count, sizeof count);
    if (fprintf(f, "%s: %d nodes (%d inputs and ops, %d parameter tensors), %s parameters; N is the batch size\n\n",
                title, d->n_nodes, d->n_rows, d->n_tensors, count) < 0)
        rc = NN_ERUNTIME;
    for (int yy = 0; yy < gr.rows && rc == NN_OK; yy++) {
        char buf[4096];
        size_t len = 0, end = 0;
        for (int x = 0; x < gr.cols; x++) {
            const cell *c = at(&gr, yy, x);
            const char *s = c->glyph[0] ? c->glyph : nn_graph_line_glyph(c->mask, utf8);
            size_t l = strlen(s);
            if (len + l + 2 >= sizeof buf)
                break;
            memcpy(buf + len, s, l);
            len += l;
            if (strcmp(s, " "))
                end = len;
        }
        buf[end] = '\n';
        if (fwrite(buf, 1, end + 1, f) != end + 1)
            rc = NN_ERUNTIME;
    }
    if (rc != NN_OK || fflush(f) != 0 || ferror(f))
        rc = nn_error_set(err, NN_ERUNTIME, "cannot write the graph drawing");
done:
    free(gr.cells);
    free(lane);
    free(top);
    free(lines);
    free(in_lane);
    free(out_lane);
    return rc;
}

/* ---- Graphviz ------------------------------------------------------------------- */

/* s with quotes and backslashes escaped, for a DOT string. */
static void dot_string(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
}

int nn_graph_write_dot(const nn_graph_desc *d, const char *title, FILE *f, nn_error *err)
{
    char shape[64], count[32];
    count_text(d->params, count, sizeof count);
    fputs("digraph \"", f);
    dot_string(f, title);
    fputs("\" {\n", f);
    fputs("  graph [rankdir=TB, labelloc=t, fontname=\"Helvetica\", label=\"", f);
    dot_string(f, title);
    fprintf(f, ": %s parameters; N is the batch size\"];\n", count);
    fputs("  node [fontname=\"Helvetica\", fontsize=11, shape=box, style=rounded];\n", f);
    fputs("  edge [arrowsize=0.7];\n", f);
    for (int i = 0; i < d->n_nodes; i++) {
        const nn_graph_node_info *info = &d->nodes[i];
        fprintf(f, "  n%d [label=\"", i);
        dot_string(f, info->name);
        fputs("\\n", f);
        if (info->op != NN_OP_PARAM && strcmp(info->op_text, info->name)) {
            dot_string(f, info->op_text);
            fputs("\\n", f);
        }
        dot_string(f, nn_graph_shape_text(info, 1, shape, sizeof shape));
        if (info->op == NN_OP_PARAM) {
            count_text(info->params, count, sizeof count);
            fprintf(f, " (%s)\", shape=box, style=\"filled,dashed\", fillcolor=\"#eeeeee\", fontsize=9", count);
        } else if (info->op == NN_OP_INPUT) {
            fputs("\", shape=oval", f);
        } else if (info->role & NN_ROLE_LOSS) {
            fputs("\", style=\"rounded,bold\"", f);
        } else {
            fputs("\"", f);
        }
        fputs("];\n", f);
    }
    for (int i = 0; i < d->n_nodes; i++) {
        const nn_graph_node_info *info = &d->nodes[i];
        for (int k = 0; k < info->n_in; k++) {
            int dup = 0;
            for (int j = 0; j < k; j++)
                dup |= info->in[j] == info->in[k];
            if (!dup)
                fprintf(f, "  n%d -> n%d;\n", info->in[k], i);
        }
    }
    fputs("}\n", f);
    if (fflush(f) != 0 || ferror(f))
        return nn_error_set(err, NN_ERUNTIME, "cannot write the graph in DOT");
    return NN_OK;
}
