/* A model's computational graph described for people: every node with its
 * op, output shape and parameter count, and the edges between them, as
 * `nnlab info --graph` draws it in a terminal, `--dot` writes it for
 * Graphviz, and the dashboard's graph view shows it live.  One description
 * serves all three, so they cannot disagree.
 *
 * The drawing puts the data nodes (inputs and ops) in rows, top to bottom;
 * parameter tensors are folded into the op that reads them.  An edge from a
 * row to the next is an arrow down the middle; any other edge runs in a lane
 * beside the rows, so branches (a VAE's mean and log-variance feeding both
 * the sample and the KL term) and long edges (the target into the loss)
 * stay visible. */
#ifndef NN_GRAPH_DESC_H
#define NN_GRAPH_DESC_H

#include <stddef.h>
#include <stdio.h>

#include "error.h"
#include "graph.h"

enum nn_graph_role {
    NN_ROLE_INPUT = 1,      /* the images */
    NN_ROLE_TARGET = 2,     /* the labels the loss compares against */
    NN_ROLE_OUTPUT = 4,     /* the prediction */
    NN_ROLE_LOSS = 8
};

typedef struct nn_graph_node_info {
    int op;                     /* enum nn_op */
    char name[NN_NAME_LEN];     /* "conv1", "dense1.add", "input" */
    char op_text[40];           /* the op and its attributes: "conv2d 5x5 pad 2" */
    int batched;                /* the shape has a leading batch axis, N */
    int ndim;                   /* 0: a scalar (a loss) */
    int dim[NN_MAX_DIMS];       /* per sample when batched */
    size_t params;              /* a parameter: its values; an op: the values of the parameters it reads */
    int tensor;                 /* a parameter: its index among the tensors; else -1 */
    int n_in;
    int in[NN_MAX_INPUTS];      /* nodes it reads (graph indices), parameters included */
    int has_grad;               /* a gradient flows into it in backward */
    int role;                   /* enum nn_graph_role bits */
    int row;                    /* its row in the drawing; -1 for a parameter */
} nn_graph_node_info;

/* An edge of the drawing, between rows (from < to). */
typedef struct nn_graph_edge {
    int from, to;
} nn_graph_edge;

typedef struct nn_graph_desc {
    int n_nodes;                /* every node of the graph, in graph order */
    nn_graph_node_info *nodes;
    size_t params;              /* trainable values in all */
    int n_tensors;              /* parameter tensors */
    int n_rows;                 /* data nodes, in drawing order */
    int *rows;                  /* the graph index of each row */
    int n_edges;
    nn_graph_edge *edges;       /* between data nodes, by target row */
} nn_graph_desc;

/* Line-drawing directions, combined into a cell's mask. */
enum {
    NN_LINE_UP = 1, NN_LINE_DOWN = 2, NN_LINE_LEFT = 4, NN_LINE_RIGHT = 8,
    NN_LINE_PASS = 16   /* a lane passing straight down: where a line crosses it, it hops */
};

/* Describe g (built, finalised or not); free with nn_graph_desc_free. */
int nn_graph_describe(const nn_graph *g, nn_graph_desc *out, nn_error *err);
void nn_graph_desc_free(nn_graph_desc *d);

/* A node's output shape, the batch axis as N: "N×6×28×28" (utf8) or
 * "Nx6x28x28", "scalar" for a loss; returns buf. */
char *nn_graph_shape_text(const nn_graph_node_info *n, int utf8, char *buf, size_t len);
/* The parameters node i reads, "weight 6×1×5×5, bias 6" (or with x), ""
 * for none; returns buf. */
char *nn_graph_param_text(const nn_graph_desc *d, int i, int utf8, char *buf, size_t len);
/* Put the edges in lanes: lane[e] for each edge, so that edges sharing a
 * lane never overlap between their rows; shorter edges get lower lanes.
 * With adjacent 0, edges from a row to the next get lane -1 (they are drawn
 * as arrows).  Returns the number of lanes. */
int nn_graph_desc_lanes(const nn_graph_desc *d, int adjacent, int *lane);
/* The box-drawing character of a line mask (NN_LINE_* bits), or its ASCII
 * form ("|", "-", "+").  A lane passing under a crossing line stays a
 * straight "|", so a crossing never reads as a junction. */
const char *nn_graph_line_glyph(unsigned mask, int utf8);
/* A gutter of lanes left of a one-line-per-row list: mask[r * width + c]
 * for row r and column c, width 2 * lanes (from nn_graph_desc_lanes with
 * adjacent 1); each edge leaves and enters its rows on the right edge. */
void nn_graph_desc_gutter(const nn_graph_desc *d, const int *lane, int lanes, unsigned char *mask);

/* Draw the graph as text: boxes top to bottom, arrows and lanes, with UTF-8
 * box drawing or ASCII.  Returns NN_OK or NN_ERUNTIME on a write error. */
int nn_graph_write_text(const nn_graph_desc *d, const char *title, int utf8, FILE *f, nn_error *err);
/* Write the whole graph, parameters included, as a Graphviz digraph. */
int nn_graph_write_dot(const nn_graph_desc *d, const char *title, FILE *f, nn_error *err);

#endif
