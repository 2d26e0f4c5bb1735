/* Tests for nn/prune.c and sparse model files: pruning reaches the exact
 * sparsity and removes the smallest weights across layers, biases stay,
 * the mask keeps pruned weights at zero through fine-tuning, and a sparse
 * file round-trips exactly and is several times smaller than a dense one. */
#include "checkpoint.h"
#include "data.h"
#include "model.h"
#include "prune.h"
#include "spec.h"
#include "trainer.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static nn_error err;
static nn_dataset train_full, test_set;

static void load_data(void)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/data/mnist-small", getenv("NNLAB_SOURCE_ROOT"));
    if (nn_dataset_load_dir(dir, &train_full, &test_set, &err) != NN_OK) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    nn_set_threads(1);
}

static void load_preset(nn_spec *spec, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/assets/models/%s.spec", getenv("NNLAB_SOURCE_ROOT"), name);
    ck_assert_msg(nn_spec_load(spec, path, &err) == NN_OK, "%s", err.msg);
}

static size_t zeros_in(const nn_node *p)
{
    size_t z = 0;
    for (size_t i = 0; i < p->size; i++)
        z += p->value[i] == 0.0f;
    return z;
}

START_TEST(test_exact_sparsity)
{
    nn_spec spec;
    load_preset(&spec, "mlp");
    static const double levels[] = {0.0, 0.5, 0.9, 0.97, 0.333};
    for (size_t L = 0; L < sizeof levels / sizeof *levels; L++) {
        nn_graph g;
        ck_assert_int_eq(nn_model_build(&g, &spec, &spec.hp, 4, &err), NN_OK);
        /* Biases nonzero too, so that leaving them alone shows. */
        for (int t = 0; t < g.n_param_tensors; t++) {
            nn_node *p = nn_graph_param_node(&g, t);
            if (!p->decay)
                for (size_t i = 0; i < p->size; i++)
                    p->value[i] = 0.01f * (float)(i + 1);
        }
        nn_prune_mask mask;
        ck_assert_int_eq(nn_prune_magnitude(&g, levels[L], &mask, &err), NN_OK);
        size_t weights = 784 * 128 + 128 * 10, want = (size_t)llround(levels[L] * (double)weights);
        ck_assert_uint_eq(mask.weights, weights);
        ck_assert_uint_eq(mask.pruned, want);
        size_t zeros = 0;
        for (int t = 0; t < g.n_param_tensors; t++) {
            const nn_node *p = nn_graph_param_node(&g, t);
            if (!p->decay) {
                ck_assert_uint_eq(zeros_in(p), 0); /* biases kept */
                continue;
            }
            zeros += zeros_in(p);
            for (size_t i = 0; i < p->size; i++)
                if (!mask.keep[p->param_offset + i])
                    ck_assert_float_eq(p->value[i], 0.0f);
        }
        ck_assert_uint_eq(zeros, want);
        ck_assert_double_eq_tol(nn_prune_sparsity(&g), (double)want / (double)weights, 1e-12);
        nn_prune_mask_free(&mask);
        nn_graph_free(&g);
    }
    nn_graph g;
    ck_assert_int_eq(nn_model_build(&g, &spec, &spec.hp, 4, &err), NN_OK);
    nn_prune_mask mask;
    ck_assert_int_eq(nn_prune_magnitude(&g, 1.0, &mask, &err), NN_EINPUT);
    ck_assert_int_eq(nn_prune_magnitude(&g, -0.1, &mask, &err), NN_EINPUT);
    ck_assert_int_eq(nn_prune_magnitude(&g, NAN, &mask, &err), NN_EINPUT);
    nn_graph_free(&g);
    nn_spec_free(&spec);
}
END_TEST

/* The smallest magnitudes go, across layers: copy the weights, prune, and
 * check that every pruned magnitude is at most every kept one. */
START_TEST(test_smallest_go_first)
{
    nn_spec spec;
    load_preset(&spec, "mlp");
    nn_graph g;
    ck_assert_int_eq(nn_model_build(&g, &spec, &spec.hp, 4, &err), NN_OK);
    float *before = malloc(g.n_params * sizeof *before);
    memcpy(before, g.params, g.n_params * sizeof *before);
    nn_prune_mask mask;
    ck_assert_int_eq(nn_prune_magnitude(&g, 0.8, &mask, &err), NN_OK);
    float max_pruned = 0, min_kept = INFINITY;
    size_t pruned_per_tensor[4] = {0};
    for (int t = 0; t < g.n_param_tensors; t++) {
        const nn_node *p = nn_graph_param_node(&g, t);
        if (!p->decay)
            continue;
        for (size_t i = 0; i < p->size; i++) {
            float m = fabsf(before[p->param_offset + i]);
            if (mask.keep[p->param_offset + i]) {
                min_kept = fminf(min_kept, m);
                ck_assert_float_eq(p->value[i], before[p->param_offset + i]);
            } else {
                max_pruned = fmaxf(max_pruned, m);
                pruned_per_tensor[t]++;
            }
        }
    }
    ck_assert_float_le(max_pruned, min_kept);
    /* Global, not per layer: the two layers lose different fractions. */
    double f0 = (double)pruned_per_tensor[0] / (784 * 128), f2 = (double)pruned_per_tensor[2] / (128 * 10);
    ck_assert_double_gt(fabs(f0 - f2), 0.01);
    free(before);
    nn_prune_mask_free(&mask);
    nn_graph_free(&g);
    nn_spec_free(&spec);
}
END_TEST

START_TEST(test_mask_survives_finetuning)
{
    nn_spec spec;
    load_preset(&spec, "mlp");
    nn_hparams hp = spec.hp;
    hp.epochs = 2;
    hp.optimizer = NN_ADAM; /* moments would revive pruned weights without the mask */
    hp.lr = 2e-3f;
    hp.schedule = NN_SCHEDULE_CONSTANT;
    nn_trainer t;
    /* The whole training set: its first 2,000 digits are only 0s, 1s and 2s. */
    ck_assert_int_eq(nn_trainer_init(&t, &spec, &hp, &train_full, &err), NN_OK);
    while (t.epoch < 1) {
        nn_step_info s;
        nn_trainer_step(&t, &s);
    }
    nn_prune_mask mask;
    ck_assert_int_eq(nn_prune_magnitude(&t.graph, 0.9, &mask, &err), NN_OK);
    nn_eval pruned;
    nn_trainer_evaluate(&t, &test_set, &pruned);
    float *pruned_at = malloc(t.graph.n_params * sizeof *pruned_at);
    memcpy(pruned_at, t.graph.params, t.graph.n_params * sizeof *pruned_at);
    while (!nn_trainer_done(&t)) {
        nn_step_info s;
        nn_trainer_step(&t, &s);
        nn_prune_apply(&t.graph, &mask);
    }
    size_t changed = 0;
    for (size_t i = 0; i < mask.n; i++) {
        if (!mask.keep[i])
            ck_assert_float_eq(t.graph.params[i], 0.0f);
        else
            changed += t.graph.params[i] != pruned_at[i];
    }
    /* The kept weights trained on (those of always-blank border pixels get no gradient). */
    ck_assert_uint_gt(changed, (mask.weights - mask.pruned) / 2);
    ck_assert_double_eq_tol(nn_prune_sparsity(&t.graph), 0.9, 1e-5);
    nn_eval ev;
    nn_trainer_evaluate(&t, &test_set, &ev);
    ck_assert_msg(ev.accuracy > pruned.accuracy + 0.02, "pruned %.4f, fine-tuned %.4f", pruned.accuracy, ev.accuracy);
    free(pruned_at);
    nn_prune_mask_free(&mask);
    nn_trainer_free(&t);
    nn_spec_free(&spec);
}
END_TEST

/* A pruned model written sparsely reads back bit for bit, and is smaller. */
START_TEST(test_sparse_file)
{
    nn_spec spec;
    load_preset(&spec, "mlp");
    nn_graph g;
    ck_assert_int_eq(nn_model_build(&g, &spec, &spec.hp, 8, &err), NN_OK);
    nn_prune_mask mask;
    ck_assert_int_eq(nn_prune_magnitude(&g, 0.9, &mask, &err), NN_OK);
    nn_node *bias = nn_graph_param_node(&g, 1);
    for (size_t i = 0; i < bias->size; i++)
        bias->value[i] = 0.5f - 0.01f * (float)i;
    char dense_path[] = "/tmp/nnlab-dense-XXXXXX", sparse_path[] = "/tmp/nnlab-sparse-XXXXXX";
    close(mkstemp(dense_path));
    close(mkstemp(sparse_path));
    nn_export dense = {.encoding = NN_TENSOR_DENSE, .test_loss = NAN, .test_accuracy = NAN};
    nn_export sparse = {.encoding = NN_TENSOR_SPARSE, .weights = "pruned to 90.0% sparsity", .test_loss = 0.25,
                        .test_accuracy = 0.5, .test_count = 2000};
    size_t dense_size, sparse_size, counted;
    ck_assert_int_eq(nn_checkpoint_export(&g, &spec, &spec.hp, &dense, dense_path, &dense_size, &err), NN_OK);
    ck_assert_int_eq(nn_checkpoint_export(&g, &spec, &spec.hp, &sparse, NULL, &counted, &err), NN_OK);
    ck_assert_int_eq(nn_checkpoint_export(&g, &spec, &spec.hp, &sparse, sparse_path, &sparse_size, &err), NN_OK);
    ck_assert_uint_eq(counted, sparse_size);
    /* 90% zeros: a bit and 10% of a float per weight, against a float. */
    ck_assert_msg(sparse_size * 6 < dense_size, "sparse %zu bytes, dense %zu", sparse_size, dense_size);

    nn_checkpoint ck;
    ck_assert_msg(nn_checkpoint_load(&ck, sparse_path, &err) == NN_OK, "%s", err.msg);
    ck_assert_uint_eq(ck.file_size, sparse_size);
    ck_assert_uint_eq(ck.major, 1);
    ck_assert_uint_eq(ck.minor, 1);
    ck_assert_str_eq(ck.weights, "pruned to 90.0% sparsity");
    ck_assert_double_eq(ck.test_accuracy, 0.5);
    ck_assert_int_eq(ck.quantised, 0);
    ck_assert_int_eq(ck.has_optim, 0);
    ck_assert_int_eq(ck.n_tensors, 4);
    ck_assert_int_eq(ck.tensors[0].encoding, NN_TENSOR_SPARSE); /* dense1.weight */
    ck_assert_int_eq(ck.tensors[1].encoding, NN_TENSOR_DENSE);  /* dense1.bias: no zeros */
    for (int t = 0; t < ck.n_tensors; t++)
        ck_assert_mem_eq(ck.tensors[t].value, nn_graph_param_node(&g, t)->value, ck.tensors[t].size * sizeof(float));
    nn_checkpoint_free(&ck);
    /* The dense export holds TENS too (so 1.1), every tensor dense. */
    ck_assert_int_eq(nn_checkpoint_load(&ck, dense_path, &err), NN_OK);
    for (int t = 0; t < ck.n_tensors; t++)
        ck_assert_int_eq(ck.tensors[t].encoding, NN_TENSOR_DENSE);
    nn_checkpoint_free(&ck);

    /* A damaged sparse file is refused with the file's name. */
    FILE *f = fopen(sparse_path, "r+b");
    fseek(f, (long)sparse_size / 2, SEEK_SET);
    fputc(0x5a, f);
    fclose(f);
    ck_assert_int_eq(nn_checkpoint_load(&ck, sparse_path, &err), NN_EINPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, sparse_path));
    unlink(dense_path);
    unlink(sparse_path);
    nn_prune_mask_free(&mask);
    nn_graph_free(&g);
    nn_spec_free(&spec);
}
END_TEST

START_TEST(test_schedule_and_lamp)
{
    ck_assert_double_eq(nn_prune_schedule(0.9, 0), 0);
    ck_assert_double_eq_tol(nn_prune_schedule(0.9, 0.5), 0.9 * (1 - 0.125), 1e-12);
    ck_assert_double_eq(nn_prune_schedule(0.9, 1), 0.9);
    ck_assert_double_eq(nn_prune_schedule(0.9, 7), 0.9);
    for (int i = 1; i <= 10; i++) /* never decreasing */
        ck_assert_double_ge(nn_prune_schedule(0.8, i / 10.0), nn_prune_schedule(0.8, (i - 1) / 10.0));

    /* LAMP: the same exact count, and the small output layer (1,280 of
     * 101,632 weights) keeps more of its weights than by magnitude alone. */
    nn_spec spec;
    load_preset(&spec, "mlp");
    nn_graph a, b;
    ck_assert_int_eq(nn_model_build(&a, &spec, &spec.hp, 4, &err), NN_OK);
    ck_assert_int_eq(nn_model_build(&b, &spec, &spec.hp, 4, &err), NN_OK);
    float *before = malloc(b.n_params * sizeof *before);
    memcpy(before, b.params, b.n_params * sizeof *before);
    nn_prune_mask ma, mb;
    ck_assert_int_eq(nn_prune_global(&a, 0.95, NN_PRUNE_MAGNITUDE, &ma, &err), NN_OK);
    ck_assert_int_eq(nn_prune_global(&b, 0.95, NN_PRUNE_LAMP, &mb, &err), NN_OK);
    ck_assert_uint_eq(ma.pruned, mb.pruned);
    ck_assert_double_eq(nn_prune_sparsity(&a), nn_prune_sparsity(&b));
    ck_assert_uint_lt(zeros_in(nn_graph_param_node(&b, 2)), zeros_in(nn_graph_param_node(&a, 2)));
    /* Within a layer LAMP is magnitude: every pruned weight is at most every kept one. */
    for (int t = 0; t < b.n_param_tensors; t++) {
        const nn_node *p = nn_graph_param_node(&b, t);
        if (!p->decay)
            continue;
        float max_pruned = 0, min_kept = INFINITY;
        for (size_t i = 0; i < p->size; i++) {
            float m = fabsf(before[p->param_offset + i]);
            if (mb.keep[p->param_offset + i])
                min_kept = fminf(min_kept, m);
            else
                max_pruned = fmaxf(max_pruned, m);
        }
        ck_assert_float_le(max_pruned, min_kept);
    }
    free(before);
    nn_prune_mask_free(&ma);
    nn_prune_mask_free(&mb);
    nn_graph_free(&a);
    nn_graph_free(&b);
    nn_spec_free(&spec);
}
END_TEST

/* ---- distillation: the softmax_xent loss with a teacher (nn_distill) ---- */

enum { DK = 4, DN = 2 };

/* logits[n,DK] -> identity matmul -> softmax_xent with targets: the matmul
 * node's gradient after backward is dL/dlogits. */
typedef struct distill_graph {
    nn_graph g;
    int x, w, z, t;
} distill_graph;

static void distill_graph_build(distill_graph *d, const float *logits, const float *targets)
{
    nn_graph *g = &d->g;
    int k = DK, wdim[2] = {DK, DK};
    ck_assert_int_eq(nn_graph_init(g, DN, &err), NN_OK);
    d->x = nn_graph_input(g, "logits", 1, &k, &err);
    d->w = nn_graph_param(g, "identity", 2, wdim, 1, &err);
    int pair[2] = {d->x, d->w};
    d->z = nn_graph_op(g, NN_OP_MATMUL, "z", pair, 2, 0, &err);
    d->t = nn_graph_input(g, "target", 1, &k, &err);
    pair[0] = d->z;
    pair[1] = d->t;
    g->output = d->z;
    g->target = d->t;
    g->loss = nn_graph_op(g, NN_OP_SOFTMAX_XENT, "loss", pair, 2, 0, &err);
    ck_assert_int_ge(g->loss, 0);
    ck_assert_int_eq(nn_graph_finalise(g, &err), NN_OK);
    nn_node *w = &g->nodes[d->w];
    memset(w->value, 0, w->size * sizeof(float));
    for (int i = 0; i < DK; i++)
        w->value[i * DK + i] = 1.0f;
    memcpy(g->nodes[d->x].value, logits, DN * DK * sizeof(float));
    memcpy(g->nodes[d->t].value, targets, DN * DK * sizeof(float));
    g->training = 1;
}

static float distill_run(distill_graph *d, const nn_distill *distill, float *grad)
{
    d->g.distill = distill;
    nn_graph_forward(&d->g, DN);
    nn_graph_backward(&d->g);
    float loss = nn_graph_loss(&d->g);
    memcpy(grad, d->g.nodes[d->z].grad, DN * DK * sizeof(float));
    d->g.distill = NULL;
    return loss;
}

static const float distill_logits[DN * DK] = {2.0f, -1.0f, 0.5f, 0.0f, -0.3f, 1.2f, 0.7f, -2.0f};
static const float distill_teacher[DN * DK] = {3.0f, -2.0f, 1.0f, 0.5f, 0.0f, 2.5f, -1.0f, -1.5f};
static const float distill_labels[DN * DK] = {1, 0, 0, 0, 0, 0, 1, 0};

/* softmax(v / T) in double */
static void softmax_t(const float *v, double T, double *p)
{
    double max = v[0], sum = 0;
    for (int j = 1; j < DK; j++)
        max = v[j] > max ? v[j] : max;
    for (int j = 0; j < DK; j++)
        sum += p[j] = exp((v[j] - max) / T);
    for (int j = 0; j < DK; j++)
        p[j] /= sum;
}

/* The loss and its gradient against the formulas written out in double:
 * (1 - a) CE(labels, p) + a T^2 KL(q_T || p_T), gradient
 * ((1 - a) (p - y) + a T (p_T - q_T)) / n. */
START_TEST(test_distill_loss_and_gradient)
{
    distill_graph d;
    distill_graph_build(&d, distill_logits, distill_labels);
    const double T = 3, a = 0.6;
    nn_distill distill = {distill_teacher, (float)T, (float)a};
    float grad[DN * DK];
    float loss = distill_run(&d, &distill, grad);
    double want = 0;
    for (int i = 0; i < DN; i++) {
        const float *x = distill_logits + i * DK, *s = distill_teacher + i * DK, *y = distill_labels + i * DK;
        double p[DK], pt[DK], qt[DK], ce = 0, kl = 0;
        softmax_t(x, 1, p);
        softmax_t(x, T, pt);
        softmax_t(s, T, qt);
        for (int j = 0; j < DK; j++) {
            ce -= y[j] * log(p[j]);
            kl += qt[j] * log(qt[j] / pt[j]);
            double g = ((1 - a) * (p[j] - y[j]) + a * T * (pt[j] - qt[j])) / DN;
            ck_assert_msg(fabs(grad[i * DK + j] - g) < 1e-6, "grad[%d][%d] = %.8f, expected %.8f", i, j,
                          (double)grad[i * DK + j], g);
        }
        want += ((1 - a) * ce + a * T * T * kl) / DN;
    }
    ck_assert_msg(fabs(loss - want) < 1e-5, "loss %.7f, expected %.7f", (double)loss, want);
    /* Without the teacher, the plain cross-entropy comes back: evaluation is unaffected. */
    float plain[DN * DK];
    float plain_loss = distill_run(&d, NULL, plain);
    ck_assert_float_ne(plain_loss, loss);
    nn_graph_free(&d.g);
}
END_TEST

/* At T = 1 the teacher's term is cross-entropy to its probabilities q minus
 * their entropy, so the gradient is that of plain cross-entropy against the
 * mixed soft target (1 - a) y + a q; with a = 0 everything is plain
 * cross-entropy, bit for bit; and a student equal to its teacher gets no
 * gradient from it. */
START_TEST(test_distill_matches_soft_targets)
{
    const float a = 0.25f;
    float mixed[DN * DK], grad[DN * DK], want[DN * DK];
    double entropy = 0;
    for (int i = 0; i < DN; i++) {
        double q[DK];
        softmax_t(distill_teacher + i * DK, 1, q);
        for (int j = 0; j < DK; j++) {
            mixed[i * DK + j] = (1 - a) * distill_labels[i * DK + j] + a * (float)q[j];
            entropy -= q[j] * log(q[j]) / DN;
        }
    }
    distill_graph soft, hard;
    distill_graph_build(&soft, distill_logits, mixed);
    distill_graph_build(&hard, distill_logits, distill_labels);
    float soft_loss = distill_run(&soft, NULL, want);
    nn_distill t1 = {distill_teacher, 1.0f, a};
    float loss = distill_run(&hard, &t1, grad);
    for (int i = 0; i < DN * DK; i++)
        ck_assert_msg(fabsf(grad[i] - want[i]) < 1e-6f, "grad[%d] = %.8f, soft target gives %.8f", i,
                      (double)grad[i], (double)want[i]);
    ck_assert_double_eq_tol(loss, soft_loss - a * entropy, 1e-5);

    nn_distill none = {distill_teacher, 4.0f, 0.0f};
    float plain_loss = distill_run(&hard, NULL, want);
    loss = distill_run(&hard, &none, grad);
    ck_assert_float_eq(loss, plain_loss);
    ck_assert_mem_eq(grad, want, sizeof grad);

    nn_distill self = {distill_logits, 2.0f, 1.0f};
    loss = distill_run(&hard, &self, grad);
    ck_assert_float_eq_tol(loss, 0.0f, 1e-6f);
    for (int i = 0; i < DN * DK; i++)
        ck_assert_float_eq_tol(grad[i], 0.0f, 1e-7f);
    nn_graph_free(&soft.g);
    nn_graph_free(&hard.g);
}
END_TEST

/* The trainer's teacher: a student that starts equal to its teacher with
 * weight 1 has nothing to learn in its first step (Adam then moves nothing);
 * with a pruned student, two runs are bit-identical and differ from
 * training without the teacher; a model without softmax_xent is refused. */
START_TEST(test_trainer_teacher)
{
    nn_spec spec;
    load_preset(&spec, "mlp");
    nn_hparams hp = spec.hp;
    hp.epochs = 1;
    hp.optimizer = NN_ADAM;
    hp.lr = 2e-3f;
    hp.augment = 1;
    hp.weight_decay = hp.l1 = 0;
    nn_trainer t;
    ck_assert_int_eq(nn_trainer_init(&t, &spec, &hp, &train_full, &err), NN_OK);
    float *start = malloc(t.graph.n_params * sizeof *start);
    memcpy(start, t.graph.params, t.graph.n_params * sizeof *start);
    ck_assert_int_eq(nn_trainer_set_teacher(&t, &spec, start, 2.0f, 1.0f, &err), NN_OK);
    nn_step_info s;
    nn_trainer_step(&t, &s);
    ck_assert_float_eq_tol(s.loss, 0.0f, 1e-5f);
    for (size_t i = 0; i < t.graph.n_params; i++)
        ck_assert_float_eq_tol(t.graph.params[i], start[i], 1e-6f);
    nn_trainer_free(&t);

    float *after[3];
    for (int run = 0; run < 3; run++) {
        ck_assert_int_eq(nn_trainer_init(&t, &spec, &hp, &train_full, &err), NN_OK);
        memcpy(t.graph.params, start, t.graph.n_params * sizeof *start);
        nn_prune_mask mask;
        ck_assert_int_eq(nn_prune_magnitude(&t.graph, 0.8, &mask, &err), NN_OK);
        if (run < 2)
            ck_assert_int_eq(nn_trainer_set_teacher(&t, &spec, start, 4.0f, 0.7f, &err), NN_OK);
        for (int k = 0; k < 20; k++) {
            nn_trainer_step(&t, &s);
            nn_prune_apply(&t.graph, &mask);
        }
        after[run] = malloc(t.graph.n_params * sizeof *start);
        memcpy(after[run], t.graph.params, t.graph.n_params * sizeof *start);
        nn_prune_mask_free(&mask);
        ck_assert_int_eq(nn_trainer_set_teacher(&t, &spec, NULL, 0, 0, &err), NN_OK); /* removes it */
        ck_assert_ptr_null(t.teacher);
        if (run == 2)
            ck_assert_int_ne(memcmp(after[0], after[2], t.graph.n_params * sizeof *start), 0);
        nn_trainer_free(&t);
    }
    ck_assert_mem_eq(after[0], after[1], t.graph.n_params * sizeof *start);
    for (int run = 0; run < 3; run++)
        free(after[run]);
    free(start);
    nn_spec_free(&spec);

    load_preset(&spec, "vae");
    hp = spec.hp;
    ck_assert_int_eq(nn_trainer_init(&t, &spec, &hp, &train_full, &err), NN_OK);
    ck_assert_int_eq(nn_trainer_set_teacher(&t, &spec, t.graph.params, 2.0f, 0.5f, &err), NN_EINPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "softmax_xent"));
    nn_trainer_free(&t);
    nn_spec_free(&spec);
}
END_TEST

int main(void)
{
    load_data();
    Suite *s = suite_create("prune");
    TCase *tc = tcase_create("prune");
    tcase_add_test(tc, test_exact_sparsity);
    tcase_add_test(tc, test_smallest_go_first);
    tcase_add_test(tc, test_mask_survives_finetuning);
    tcase_add_test(tc, test_sparse_file);
    tcase_add_test(tc, test_schedule_and_lamp);
    tcase_add_test(tc, test_distill_loss_and_gradient);
    tcase_add_test(tc, test_distill_matches_soft_targets);
    tcase_add_test(tc, test_trainer_teacher);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    nn_dataset_free(&train_full);
    nn_dataset_free(&test_set);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
