/* Tests for nn/graph_desc.c and the per-node gradient norms: the
 * description of each preset agrees node for node with the graph the model
 * builder makes (shapes, parameter counts, edges), the lanes never overlap,
 * the text drawing and the DOT output are well formed, and the norms after
 * backward are the norms of the gradients, published by a session for a
 * single step and while a reader asks for them. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph_desc.h"
#include "model.h"
#include "monitor.h"
#include "session.h"
#include "spec.h"

static void load_preset(const char *name, nn_spec *spec)
{
    const char *root = getenv("NNLAB_SOURCE_ROOT");
    char path[4096];
    snprintf(path, sizeof path, "%s/assets/models/%s.spec", root ? root : ".", name);
    nn_error err;
    ck_assert_msg(nn_spec_load(spec, path, &err) == NN_OK, "%s", err.msg);
}

/* Build a preset for batches of max_batch and describe it. */
static void build(const char *name, int max_batch, nn_spec *spec, nn_graph *g, nn_graph_desc *d)
{
    load_preset(name, spec);
    nn_error err;
    ck_assert_msg(nn_model_build(g, spec, &spec->hp, max_batch, &err) == NN_OK, "%s", err.msg);
    ck_assert_msg(nn_graph_describe(g, d, &err) == NN_OK, "%s", err.msg);
}

static void release(nn_spec *spec, nn_graph *g, nn_graph_desc *d)
{
    nn_graph_desc_free(d);
    nn_graph_free(g);
    nn_spec_free(spec);
}

static const nn_graph_node_info *node(const nn_graph_desc *d, const char *name)
{
    for (int i = 0; i < d->n_nodes; i++)
        if (!strcmp(d->nodes[i].name, name))
            return &d->nodes[i];
    ck_abort_msg("no node %s", name);
    return NULL;
}

static const char *shape(const nn_graph_desc *d, const char *name, char *buf, size_t len)
{
    return nn_graph_shape_text(node(d, name), 0, buf, len);
}

static int has_edge(const nn_graph_desc *d, const char *from, const char *to)
{
    int a = node(d, from)->row, b = node(d, to)->row;
    for (int e = 0; e < d->n_edges; e++)
        if (d->edges[e].from == a && d->edges[e].to == b)
            return 1;
    return 0;
}

/* What every description must agree on with its graph. */
static void check_against_graph(const nn_graph *g, const nn_graph_desc *d)
{
    ck_assert_int_eq(d->n_nodes, g->n_nodes);
    ck_assert_int_eq(d->n_tensors, g->n_param_tensors);
    ck_assert_uint_eq(d->params, g->param_count);
    int rows = 0, edges = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const nn_node *n = &g->nodes[i];
        const nn_graph_node_info *info = &d->nodes[i];
        ck_assert_str_eq(info->name, n->name);
        ck_assert_int_eq(info->op, n->op);
        ck_assert_int_eq(info->ndim, n->ndim);
        for (int k = 0; k < n->ndim; k++)
            ck_assert_int_eq(info->dim[k], n->dim[k]);
        size_t params = n->op == NN_OP_PARAM ? n->size : 0;
        for (int k = 0; k < n->n_in; k++) {
            if (g->nodes[n->in[k]].op == NN_OP_PARAM)
                params += g->nodes[n->in[k]].size;
            else
                edges++;
        }
        ck_assert_uint_eq(info->params, params);
        if (n->op == NN_OP_PARAM) {
            ck_assert_int_eq(info->row, -1);
            ck_assert_int_eq(info->tensor, n->param_index);
        } else {
            ck_assert_int_ge(info->row, 0);
            ck_assert_int_eq(d->rows[info->row], i);
            rows++;
        }
    }
    ck_assert_int_eq(d->n_rows, rows);
    ck_assert_int_eq(d->n_edges, edges);
    for (int e = 0; e < d->n_edges; e++)
        ck_assert_int_lt(d->edges[e].from, d->edges[e].to);
    /* lanes: edges sharing one never overlap between their rows */
    for (int adjacent = 0; adjacent < 2; adjacent++) {
        int lane[256];
        ck_assert_int_lt(d->n_edges, 256);
        int lanes = nn_graph_desc_lanes(d, adjacent, lane);
        ck_assert_int_ge(lanes, 0);
        for (int a = 0; a < d->n_edges; a++) {
            int len = d->edges[a].to - d->edges[a].from;
            ck_assert_int_eq(lane[a] < 0, !adjacent && len == 1);
            ck_assert_int_lt(lane[a], lanes);
            for (int b = a + 1; b < d->n_edges; b++) {
                if (lane[a] < 0 || lane[a] != lane[b])
                    continue;
                int lo = d->edges[a].from > d->edges[b].from ? d->edges[a].from : d->edges[b].from;
                int hi = d->edges[a].to < d->edges[b].to ? d->edges[a].to : d->edges[b].to;
                ck_assert_msg(lo >= hi, "edges %d and %d overlap in lane %d", a, b, lane[a]);
            }
        }
    }
}

START_TEST(test_mlp)
{
    nn_spec spec;
    nn_graph g;
    nn_graph_desc d;
    char buf[64];
    build("mlp", 4, &spec, &g, &d);
    check_against_graph(&g, &d);
    ck_assert_int_eq(d.n_nodes, 12);   /* target, input, 2 x (matmul, weight, bias, add), relu, loss */
    ck_assert_int_eq(d.n_rows, 8);
    ck_assert_uint_eq(d.params, 101770);
    ck_assert_str_eq(shape(&d, "input", buf, sizeof buf), "Nx1x28x28");
    ck_assert_str_eq(shape(&d, "dense1", buf, sizeof buf), "Nx128");
    ck_assert_str_eq(shape(&d, "loss", buf, sizeof buf), "scalar");
    ck_assert_str_eq(nn_graph_shape_text(node(&d, "relu1"), 1, buf, sizeof buf), "N\u00d7128");
    ck_assert_uint_eq(node(&d, "dense1")->params, 784 * 128);
    ck_assert_uint_eq(node(&d, "dense1.add")->params, 128);
    ck_assert_uint_eq(node(&d, "relu1")->params, 0);
    ck_assert_str_eq(node(&d, "dense1")->op_text, "matmul");
    ck_assert_int_eq(node(&d, "loss")->role, NN_ROLE_LOSS);
    ck_assert_int_eq(node(&d, "dense2.add")->role, NN_ROLE_OUTPUT);
    ck_assert_int_eq(node(&d, "target")->role, NN_ROLE_TARGET);
    /* the target heads the drawing, so the layers run straight down */
    ck_assert_int_eq(node(&d, "target")->row, 0);
    ck_assert_int_eq(node(&d, "input")->row, 1);
    ck_assert(has_edge(&d, "dense2.add", "loss"));
    ck_assert(has_edge(&d, "target", "loss"));
    ck_assert(has_edge(&d, "input", "dense1"));
    char text[128];
    ck_assert_str_eq(nn_graph_param_text(&d, nn_graph_find(&g, "dense1"), 0, text, sizeof text), "weight 128x784");
    release(&spec, &g, &d);
}
END_TEST

START_TEST(test_lenet)
{
    nn_spec spec;
    nn_graph g;
    nn_graph_desc d;
    char buf[64];
    build("lenet", 2, &spec, &g, &d);
    check_against_graph(&g, &d);
    ck_assert_int_eq(d.n_rows, 17); /* the convolutions add their own bias */
    ck_assert_uint_eq(d.params, 61706);
    ck_assert_str_eq(shape(&d, "conv1", buf, sizeof buf), "Nx6x28x28");
    ck_assert_str_eq(shape(&d, "maxpool1", buf, sizeof buf), "Nx6x14x14");
    ck_assert_str_eq(shape(&d, "conv2", buf, sizeof buf), "Nx16x10x10");
    ck_assert_str_eq(shape(&d, "maxpool2", buf, sizeof buf), "Nx16x5x5");
    ck_assert_str_eq(shape(&d, "dense1", buf, sizeof buf), "Nx120");
    ck_assert_uint_eq(node(&d, "conv1")->params, 6 * 1 * 5 * 5 + 6);
    ck_assert_uint_eq(node(&d, "conv2")->params, 16 * 6 * 5 * 5 + 16);
    ck_assert_uint_eq(node(&d, "dense1")->params, 400 * 120);
    ck_assert_str_eq(node(&d, "conv1")->op_text, "conv2d 5x5 pad 2");
    ck_assert_str_eq(node(&d, "conv2")->op_text, "conv2d 5x5");
    ck_assert_str_eq(node(&d, "maxpool1")->op_text, "maxpool 2x2");
    release(&spec, &g, &d);
}
END_TEST

START_TEST(test_lstm)
{
    nn_spec spec;
    nn_graph g;
    nn_graph_desc d;
    char buf[64];
    build("lstm", 2, &spec, &g, &d);
    check_against_graph(&g, &d);
    ck_assert_str_eq(shape(&d, "lstm1", buf, sizeof buf), "Nx128");
    /* W[4H, F+H] and b[4H] with H = 128, F = 28 */
    ck_assert_uint_eq(node(&d, "lstm1")->params, 4 * 128 * (28 + 128) + 4 * 128);
    ck_assert_uint_eq(d.params, 81674);
    ck_assert(has_edge(&d, "input", "lstm1"));
    ck_assert(has_edge(&d, "lstm1", "dense1"));
    release(&spec, &g, &d);
}
END_TEST

START_TEST(test_vae_branches)
{
    nn_spec spec;
    nn_graph g;
    nn_graph_desc d;
    char buf[64];
    build("vae", 2, &spec, &g, &d);
    check_against_graph(&g, &d);
    ck_assert_uint_eq(d.params, 631188);
    ck_assert_str_eq(shape(&d, "gaussian1.add", buf, sizeof buf), "Nx4"); /* mu | logvar */
    ck_assert_str_eq(shape(&d, "gaussian1.sample", buf, sizeof buf), "Nx2");
    ck_assert_str_eq(shape(&d, "gaussian1.kl", buf, sizeof buf), "scalar");
    /* mu and logvar feed both the sample and the KL term */
    ck_assert(has_edge(&d, "gaussian1.add", "gaussian1.sample"));
    ck_assert(has_edge(&d, "gaussian1.add", "gaussian1.kl"));
    ck_assert(has_edge(&d, "gaussian1.sample", "dense2"));
    ck_assert(!has_edge(&d, "gaussian1.sample", "gaussian1.kl"));
    /* the loss is reconstruction + KL, the reconstruction scored against the input */
    ck_assert(has_edge(&d, "input", "reconstruction"));
    ck_assert(has_edge(&d, "reconstruction", "loss"));
    ck_assert(has_edge(&d, "gaussian1.kl", "loss"));
    ck_assert_int_eq(node(&d, "input")->role, NN_ROLE_INPUT);
    int lane[64];
    ck_assert_int_ge(nn_graph_desc_lanes(&d, 0, lane), 2);
    release(&spec, &g, &d);
}
END_TEST

static char *write_to_string(int dot, const char *preset, int utf8)
{
    nn_spec spec;
    nn_graph g;
    nn_graph_desc d;
    build(preset, 1, &spec, &g, &d);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    nn_error err;
    int rc = dot ? nn_graph_write_dot(&d, preset, f, &err) : nn_graph_write_text(&d, preset, utf8, f, &err);
    ck_assert_int_eq(rc, NN_OK);
    fclose(f);
    release(&spec, &g, &d);
    return text;
}

START_TEST(test_dot_well_formed)
{
    static const char *const presets[] = {"mlp", "lenet", "lstm", "vae", "cnn", "mlp-tanh", "linear"};
    for (size_t p = 0; p < sizeof presets / sizeof *presets; p++) {
        char *text = write_to_string(1, presets[p], 1);
        ck_assert_msg(!strncmp(text, "digraph \"", 9), "%s", presets[p]);
        int depth = 0, declared[256] = {0}, edges = 0;
        for (const char *c = text; *c; c++) {
            depth += *c == '{' ? 1 : *c == '}' ? -1 : 0;
            ck_assert_int_ge(depth, 0);
        }
        ck_assert_int_eq(depth, 0);
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            int quotes = 0;
            for (const char *c = line; *c; c++)
                quotes += *c == '"' && (c == line || c[-1] != '\\');
            ck_assert_msg(quotes % 2 == 0, "unbalanced quotes: %s", line);
            int a, b, used;
            if (sscanf(line, "  n%d -> n%d;%n", &a, &b, &used) == 2 && line[used] == '\0') {
                ck_assert_msg(a >= 0 && a < 256 && declared[a], "%s: n%d used before it was declared", presets[p], a);
                ck_assert_msg(b >= 0 && b < 256 && declared[b], "%s: n%d used before it was declared", presets[p], b);
                edges++;
            } else if (sscanf(line, "  n%d [label=", &a) == 1) {
                ck_assert(a >= 0 && a < 256);
                ck_assert_msg(!declared[a], "n%d declared twice", a);
                declared[a] = 1;
            }
        }
        ck_assert_int_gt(edges, 0);
        free(text);
    }
    char *text = write_to_string(1, "lenet", 1);
    ck_assert_ptr_nonnull(strstr(text, "conv1\\nconv2d 5x5 pad 2\\nN\u00d76\u00d728\u00d728"));
    ck_assert_ptr_nonnull(strstr(text, "conv1.weight\\n6\u00d71\u00d75\u00d75 (150)"));
    free(text);
}
END_TEST

START_TEST(test_text_drawing)
{
    char *text = write_to_string(0, "lenet", 0);
    ck_assert_ptr_nonnull(strstr(text, "lenet: 27 nodes (17 inputs and ops, 10 parameter tensors), 61,706 parameters"));
    ck_assert_ptr_nonnull(strstr(text, "| conv1 "));
    ck_assert_ptr_nonnull(strstr(text, "conv2d 5x5 pad 2  Nx6x28x28      156 params |"));
    ck_assert_ptr_nonnull(strstr(text, "weight 16x6x5x5"));
    /* ASCII only, every box closed, arrows down the middle */
    for (const char *c = text; *c; c++)
        ck_assert_msg((unsigned char)*c < 128, "non-ASCII byte in ASCII drawing");
    char *save = NULL;
    int boxes = 0, arrows = 0;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        boxes += line[0] == '|' && line[1] == ' ' && line[2] != ' ';
        size_t len = strlen(line);
        arrows += strspn(line, " ") < len && line[strspn(line, " ")] == 'v';
    }
    ck_assert_int_eq(boxes, 17);
    ck_assert_int_eq(arrows, 15); /* every row to the next, except target -> input and into the loss */
    free(text);
    text = write_to_string(0, "vae", 1);
    ck_assert_ptr_nonnull(strstr(text, "\u2502 gaussian1.kl"));
    ck_assert_ptr_nonnull(strstr(text, "\u25c0"));
    ck_assert_ptr_nonnull(strstr(text, "N\u00d71\u00d728\u00d728"));
    free(text);
}
END_TEST

START_TEST(test_line_glyphs)
{
    ck_assert_str_eq(nn_graph_line_glyph(NN_LINE_UP | NN_LINE_DOWN | NN_LINE_RIGHT, 1), "\u251c");
    ck_assert_str_eq(nn_graph_line_glyph(NN_LINE_DOWN | NN_LINE_RIGHT, 1), "\u250c");
    ck_assert_str_eq(nn_graph_line_glyph(NN_LINE_LEFT | NN_LINE_RIGHT, 0), "-");
    ck_assert_str_eq(nn_graph_line_glyph(NN_LINE_UP | NN_LINE_LEFT, 0), "+");
    /* a lane passing under a line that crosses it hops, not joins */
    ck_assert_str_eq(nn_graph_line_glyph(NN_LINE_PASS | NN_LINE_LEFT | NN_LINE_RIGHT, 1), "\u2502");
    ck_assert_str_eq(nn_graph_line_glyph(NN_LINE_PASS, 0), "|");
    ck_assert_str_eq(nn_graph_line_glyph(0, 1), " ");
}
END_TEST

/* ---- gradient norms ---------------------------------------------------------- */

START_TEST(test_grad_norms)
{
    nn_spec spec;
    nn_graph g;
    nn_graph_desc d;
    enum { N = 5 };
    build("mlp", N, &spec, &g, &d);
    nn_rng rng;
    nn_rng_seed(&rng, 3);
    nn_node *in = &g.nodes[g.input], *t = &g.nodes[g.target];
    for (size_t i = 0; i < N * in->size; i++)
        in->value[i] = nn_rng_uniform(&rng);
    memset(t->value, 0, N * t->size * sizeof(float));
    for (int s = 0; s < N; s++)
        t->value[s * 10 + s] = 1;
    nn_graph_forward(&g, N);
    nn_graph_backward(&g);
    float norm[64];
    ck_assert_int_lt(g.n_nodes, 64);
    nn_graph_grad_norms(&g, norm);
    ck_assert(isnan(norm[g.input]));
    ck_assert(isnan(norm[g.target]));
    ck_assert_float_eq_tol(norm[g.loss], 1.0f, 1e-6f);
    for (int i = 0; i < g.n_nodes; i++) {
        const nn_node *n = &g.nodes[i];
        if (!n->needs_grad)
            continue;
        size_t len = n->batched ? N * n->size : n->size;
        double sum = 0;
        for (size_t k = 0; k < len; k++)
            sum += (double)n->grad[k] * n->grad[k];
        ck_assert_msg(fabs(norm[i] - sqrt(sum)) <= 1e-5 * (1 + sqrt(sum)), "%s: %g vs %g", n->name, norm[i], sqrt(sum));
        ck_assert_msg(norm[i] > 0, "%s has no gradient", n->name);
    }
    /* softmax cross-entropy over a mean: |p - t| / N per sample, so below 1 */
    ck_assert_float_lt(norm[g.output], 1.0f);
    release(&spec, &g, &d);
}
END_TEST

START_TEST(test_session_publishes_node_grads)
{
    const char *root = getenv("NNLAB_SOURCE_ROOT");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/data/mnist-small", root ? root : ".");
    nn_dataset train, test;
    nn_error err;
    ck_assert_msg(nn_dataset_load_dir(dir, &train, &test, &err) == NN_OK, "%s", err.msg);
    nn_spec spec;
    load_preset("mlp", &spec);
    nn_hparams hp = spec.hp;
    hp.batch = 16;
    nn_session_config cfg = {.start_paused = 1, .max_batch = 16};
    nn_session *s;
    ck_assert_msg(nn_session_new(&s, &spec, &hp, &train, &test, &cfg, &err) == NN_OK, "%s", err.msg);
    ck_assert_int_eq(nn_session_start(s, &err), NN_OK);
    nn_monitor *m = nn_session_monitor(s);
    const nn_graph_desc *d = nn_session_graph(s);
    ck_assert_int_eq(d->n_rows, 8);
    float norm[64];
    ck_assert_int_eq(nn_monitor_node_grads(m, norm, 64), 0); /* none before a step */

    /* a single step computes them without being asked */
    ck_assert_int_eq(nn_session_wait_idle(s, nn_session_step_batch(s), 30000), 0);
    ck_assert_int_eq(nn_monitor_node_grads(m, norm, 64), 1);
    int loss = -1, input = -1;
    for (int i = 0; i < d->n_nodes; i++) {
        loss = d->nodes[i].role & NN_ROLE_LOSS ? i : loss;
        input = d->nodes[i].role & NN_ROLE_INPUT ? i : input;
    }
    ck_assert_float_eq_tol(norm[loss], 1.0f, 1e-6f);
    ck_assert(isnan(norm[input]));

    /* an epoch step does not, unless a reader wants them */
    ck_assert_int_eq(nn_session_wait_idle(s, nn_session_step_epoch(s), 60000), 0);
    nn_run_status st;
    nn_monitor_status(m, &st);
    ck_assert_int_gt(st.step, 2);
    ck_assert_int_eq(nn_monitor_node_grads(m, norm, 64), 1);
    nn_monitor_want_node_grads(m, 1);
    /* the wish reaches the trainer with the next publish, then every step has them */
    ck_assert_int_eq(nn_session_wait_idle(s, nn_session_step_epoch(s), 60000), 0);
    nn_monitor_status(m, &st);
    ck_assert_int_eq(nn_monitor_node_grads(m, norm, 64), st.step);
    ck_assert_float_eq_tol(norm[loss], 1.0f, 1e-6f);
    /* a reset forgets them */
    ck_assert_int_eq(nn_session_wait_idle(s, nn_session_reset(s), 30000), 0);
    ck_assert_int_eq(nn_monitor_node_grads(m, norm, 64), 0);
    nn_session_free(s);
    nn_spec_free(&spec);
    nn_dataset_free(&train);
    nn_dataset_free(&test);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("graph_desc");
    TCase *desc = tcase_create("describe");
    tcase_add_test(desc, test_mlp);
    tcase_add_test(desc, test_lenet);
    tcase_add_test(desc, test_lstm);
    tcase_add_test(desc, test_vae_branches);
    tcase_add_test(desc, test_dot_well_formed);
    tcase_add_test(desc, test_text_drawing);
    tcase_add_test(desc, test_line_glyphs);
    suite_add_tcase(s, desc);
    TCase *norms = tcase_create("norms");
    tcase_set_timeout(norms, 120);
    tcase_add_test(norms, test_grad_norms);
    tcase_add_test(norms, test_session_publishes_node_grads);
    suite_add_tcase(s, norms);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
