/* Mini-batch training: shuffling, batch assembly, the step and evaluation. */
#include "trainer.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "model.h"
#include "parallel.h"

#define STREAM_SHUFFLE 0x3c3d4e5fULL
#define STREAM_AUGMENT 0x4a4b5c5dULL
#define STREAM_EVAL_NOISE 0x6c6d7e7fULL
#define AUGMENT_SHIFT 2

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* One product on two OpenBLAS threads before OpenBLAS goes down to one:
 * measured with OpenBLAS 0.3.21 on this project's machines, its
 * single-threaded products run up to three times faster afterwards at some
 * of the presets' shapes (x[64,784] W[128,784]^T: 830 us before, 400 us
 * after), a state inside OpenBLAS that nothing else here reaches. */
static void warm_openblas(void)
{
    enum { N = 256 };
    float *m = calloc(3 * N * N, sizeof(float));
    if (!m)
        return;
    openblas_set_num_threads(2);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1.0f, m, N, m + N * N, N, 0.0f, m + 2 * N * N, N);
    free(m);
}

int nn_set_threads(int threads)
{
    static pthread_once_t warm = PTHREAD_ONCE_INIT;
    if (threads <= 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores > 0 ? (int)cores : 1;
    }
    pthread_once(&warm, warm_openblas);
    openblas_set_num_threads(1); /* nn_sgemm splits products itself (gemm.h) */
    nn_parallel_set_threads(threads);
    return threads;
}

/* Sample order, random streams and counters as before the first step. */
static void start_state(nn_trainer *t)
{
    const nn_hparams *hp = &t->hp;
    for (size_t i = 0; i < t->train->count; i++)
        t->order[i] = i;
    nn_rng_seed(&t->shuffle_rng, hp->seed * 0x9e3779b97f4a7c15ULL ^ STREAM_SHUFFLE);
    nn_rng_seed(&t->augment_rng, hp->seed * 0x9e3779b97f4a7c15ULL ^ STREAM_AUGMENT);
    t->steps_per_epoch = (long)((t->train->count + (size_t)hp->batch - 1) / (size_t)hp->batch);
    t->pos = 0;
    t->epoch = 0;
    t->step = 0;
    t->train_seconds = 0;
    t->epoch_loss = 0;
    t->epoch_seen = t->epoch_correct = 0;
}

int nn_trainer_init(nn_trainer *t, const nn_spec *spec, const nn_hparams *hp, const nn_dataset *train,
                    nn_error *err)
{
    return nn_trainer_init_max(t, spec, hp, train, hp->batch, err);
}

int nn_trainer_init_max(nn_trainer *t, const nn_spec *spec, const nn_hparams *hp, const nn_dataset *train,
                        int max_batch, nn_error *err)
{
    memset(t, 0, sizeof *t);
    t->hp = *hp;
    t->train = train;
    if (max_batch < hp->batch)
        max_batch = hp->batch;
    int rc = nn_model_build(&t->graph, spec, hp, max_batch, err);
    if (rc)
        return rc;
    size_t inputs = t->graph.nodes[t->graph.input].size, outputs = t->graph.nodes[t->graph.output].size;
    if (inputs != (size_t)train->rows * train->cols) {
        nn_trainer_free(t);
        return nn_error_set(err, NN_EINPUT, "%s: the model takes %zu inputs but the images are %dx%d",
                            spec->source, inputs, train->rows, train->cols);
    }
    if (!t->graph.reconstructs && outputs != (size_t)train->classes) {
        nn_trainer_free(t);
        return nn_error_set(err, NN_EINPUT, "%s: the model has %zu outputs but the data has %d classes",
                            spec->source, outputs, train->classes);
    }
    if (nn_optim_init(&t->optim, &t->graph, err)) {
        nn_trainer_free(t);
        return err ? err->code : NN_ERUNTIME;
    }
    t->order = malloc(train->count * sizeof *t->order);
    t->labels = malloc((size_t)max_batch * sizeof *t->labels);
    t->scratch = malloc(2 * inputs * sizeof *t->scratch);
    t->shifts = malloc(2 * (size_t)max_batch);
    t->flips = malloc((size_t)max_batch);
    t->node_grad_norm = malloc(((size_t)t->graph.n_nodes + 1) * sizeof *t->node_grad_norm);
    if (!t->order || !t->labels || !t->scratch || !t->shifts || !t->flips || !t->node_grad_norm) {
        nn_trainer_free(t);
        return nn_error_set(err, NN_ERUNTIME, "trainer: out of memory");
    }
    for (int i = 0; i < t->graph.n_nodes; i++)
        t->node_grad_norm[i] = NAN;
    start_state(t);
    t->graph.training = 1;
    return NN_OK;
}

void nn_trainer_reset(nn_trainer *t, const nn_spec *spec)
{
    nn_model_init_params(&t->graph, spec, &t->hp);
    if (t->hp.dropout >= 0)
        nn_model_set_dropout(&t->graph, t->hp.dropout);
    nn_optim_reset(&t->optim);
    start_state(t);
    t->n_history = 0;
}

void nn_trainer_free(nn_trainer *t)
{
    nn_graph_free(&t->graph);
    nn_optim_free(&t->optim);
    free(t->order);
    free(t->labels);
    free(t->scratch);
    free(t->shifts);
    free(t->history);
    free(t->flips);
    free(t->node_grad_norm);
    if (t->teacher)
        nn_graph_free(t->teacher);
    free(t->teacher);
    memset(t, 0, sizeof *t);
}

int nn_trainer_set_teacher(nn_trainer *t, const nn_spec *spec, const float *params, float temperature,
                           float weight, nn_error *err)
{
    if (t->teacher)
        nn_graph_free(t->teacher);
    free(t->teacher);
    t->teacher = NULL;
    memset(&t->distill, 0, sizeof t->distill);
    if (temperature == 0)
        return NN_OK;
    const nn_graph *g = &t->graph;
    if (!(temperature > 0 && temperature <= 100) || !(weight >= 0 && weight <= 1))
        return nn_error_set(err, NN_EINPUT, "distillation: temperature %g must be in (0, 100] and weight %g in 0..1",
                            (double)temperature, (double)weight);
    if (g->loss < 0 || g->nodes[g->loss].op != NN_OP_SOFTMAX_XENT || g->output < 0)
        return nn_error_set(err, NN_EINPUT, "%s: distillation needs a classifier with a softmax_xent loss",
                            spec->source);
    nn_graph *teacher = malloc(sizeof *teacher);
    if (!teacher)
        return nn_error_set(err, NN_ERUNTIME, "distillation: out of memory for the teacher");
    int rc = nn_model_build(teacher, spec, &t->hp, g->max_batch, err);
    if (rc) {
        free(teacher);
        return rc;
    }
    if (teacher->n_params != g->n_params || teacher->nodes[teacher->output].size != g->nodes[g->output].size) {
        nn_graph_free(teacher);
        free(teacher);
        return nn_error_set(err, NN_EINPUT, "%s: the teacher's parameters do not fit the model", spec->source);
    }
    memcpy(teacher->params, params, g->n_params * sizeof *params);
    if (teacher->target >= 0) /* its loss is computed and ignored: keep it finite */
        memset(teacher->nodes[teacher->target].value, 0,
               (size_t)teacher->max_batch * teacher->nodes[teacher->target].size * sizeof(float));
    teacher->training = 0;
    t->teacher = teacher;
    t->distill.teacher = teacher->nodes[teacher->output].value;
    t->distill.temperature = temperature;
    t->distill.weight = weight;
    return NN_OK;
}

/* Shift an image by (dx, dy) pixels, filling with background (0). */
static void shift_image(float *img, int rows, int cols, int dx, int dy, float *scratch)
{
    memcpy(scratch, img, (size_t)rows * cols * sizeof(float));
    for (int r = 0; r < rows; r++) {
        int sr = r - dy;
        for (int c = 0; c < cols; c++) {
            int sc = c - dx;
            img[r * cols + c] = sr >= 0 && sr < rows && sc >= 0 && sc < cols ? scratch[sr * cols + sc] : 0.0f;
        }
    }
}

typedef struct batch_job {
    nn_trainer *t;
    const size_t *samples;
} batch_job;

/* Mirror an image left to right. */
static void flip_image(float *img, int rows, int cols)
{
    for (int r = 0; r < rows; r++)
        for (int a = 0, b = cols - 1; a < b; a++, b--) {
            float v = img[r * cols + a];
            img[r * cols + a] = img[r * cols + b];
            img[r * cols + b] = v;
        }
}

/* Convert samples [begin, end) of the batch into the input and target
 * nodes, mirrored and shifted when augmenting; both threads may run this on
 * halves. */
static void fill_batch(void *ctx, size_t begin, size_t end, int part)
{
    batch_job *job = ctx;
    nn_trainer *t = job->t;
    nn_graph *g = &t->graph;
    const nn_dataset *ds = t->train;
    nn_node *in = &g->nodes[g->input];
    float *targets = g->target >= 0 ? g->nodes[g->target].value + begin * g->nodes[g->target].size : NULL;
    int n = (int)(end - begin);
    nn_dataset_batch(ds, job->samples + begin, n, in->value + begin * in->size, targets, t->labels + begin);
    float *scratch = t->scratch + (size_t)part * in->size;
    for (size_t i = begin; i < end && (t->hp.augment || t->hp.flip); i++) {
        if (t->hp.flip && t->flips[i])
            flip_image(in->value + i * in->size, ds->rows, ds->cols);
        int dx = t->hp.augment ? t->shifts[2 * i] : 0, dy = t->hp.augment ? t->shifts[2 * i + 1] : 0;
        if (dx || dy)
            shift_image(in->value + i * in->size, ds->rows, ds->cols, dx, dy, scratch);
    }
}

void nn_trainer_step(nn_trainer *t, nn_step_info *info)
{
    double start = now_seconds();
    nn_graph *g = &t->graph;
    const nn_dataset *ds = t->train;
    if (t->pos == 0) {
        nn_rng_shuffle(&t->shuffle_rng, t->order, ds->count);
        t->epoch_loss = 0;
        t->epoch_seen = t->epoch_correct = 0;
    }
    int batch = t->hp.batch < g->max_batch ? t->hp.batch : g->max_batch;
    size_t left = ds->count - t->pos;
    int n = left < (size_t)batch ? (int)left : batch;

    if (t->hp.augment) /* drawn here, in order, so the threads' split cannot change them */
        for (int i = 0; i < 2 * n; i++)
            t->shifts[i] = (signed char)((int)nn_rng_below(&t->augment_rng, 2 * AUGMENT_SHIFT + 1) - AUGMENT_SHIFT);
    if (t->hp.flip)
        for (int i = 0; i < n; i++)
            t->flips[i] = (unsigned char)nn_rng_below(&t->augment_rng, 2);
    batch_job job = {t, t->order + t->pos};
    nn_parallel_for((size_t)n, 16, fill_batch, &job);

    /* Counted in samples so that a batch size changed mid-run keeps the schedule. */
    double progress = ((double)t->epoch * (double)ds->count + (double)t->pos) / ((double)ds->count * t->hp.epochs);
    float lr = nn_hparams_lr_at(&t->hp, t->epoch, progress);
    if (t->teacher) { /* on the same, augmented, batch */
        const nn_node *in = &g->nodes[g->input];
        memcpy(t->teacher->nodes[t->teacher->input].value, in->value, (size_t)n * in->size * sizeof(float));
        nn_graph_forward(t->teacher, n);
        g->distill = &t->distill;
    }
    nn_graph_forward(g, n);
    nn_graph_backward(g);
    g->distill = NULL;
    if (t->node_grads) /* before the optimiser, which clears the parameter gradients */
        nn_graph_grad_norms(g, t->node_grad_norm);
    nn_optim_step(&t->optim, g, &t->hp, lr);

    const nn_node *out = &g->nodes[g->output];
    int correct = 0;
    for (int i = 0; i < n && !g->reconstructs; i++)
        correct += nn_vec_argmax(out->value + (size_t)i * out->size, (int)out->size) == t->labels[i];
    float loss = nn_graph_loss(g);

    memset(info, 0, sizeof *info);
    info->bad_tensor = -1;
    info->bad_loss = !isfinite(loss) ? 1 : t->hp.max_loss > 0 && loss > t->hp.max_loss ? 2 : 0;
    /* The norm is a float sum of squares, which also overflows for huge but
     * finite weights: only a weight that is itself NaN or infinite counts. */
    for (int p = 0; p < g->n_param_tensors; p++) {
        const nn_node *node = nn_graph_param_node(g, p);
        if (!isfinite(g->stats[p].weight_norm) && nn_vec_first_nonfinite(node->value, node->size) >= 0) {
            info->bad_tensor = p;
            break;
        }
    }
    t->step++;
    t->pos += (size_t)n;
    t->epoch_loss += (double)loss * n;
    t->epoch_seen += n;
    t->epoch_correct += correct;
    info->step = t->step;
    info->epoch = t->epoch;
    info->batch = n;
    info->loss = loss;
    info->accuracy = g->reconstructs ? NAN : (float)correct / (float)n;
    info->lr = lr;
    if (t->pos >= ds->count) {
        t->pos = 0;
        t->epoch++;
        info->epoch_done = 1;
    }
    t->train_seconds += now_seconds() - start;
}

int nn_trainer_done(const nn_trainer *t)
{
    return t->epoch >= t->hp.epochs;
}

void nn_trainer_epoch_stats(const nn_trainer *t, double *loss, double *accuracy)
{
    *loss = t->epoch_seen ? t->epoch_loss / (double)t->epoch_seen : 0;
    *accuracy = t->graph.reconstructs ? NAN : t->epoch_seen ? (double)t->epoch_correct / (double)t->epoch_seen : 0;
}

void nn_trainer_evaluate(nn_trainer *t, const nn_dataset *ds, nn_eval *out)
{
    nn_graph *g = &t->graph;
    memset(out, 0, sizeof *out);
    out->classes = ds->classes < NN_EVAL_MAX_CLASSES ? ds->classes : NN_EVAL_MAX_CLASSES;
    int saved = g->training;
    g->training = 0;
    /* The latent noise of an evaluation comes from its own stream, the same
     * every time, so test figures do not depend on when they were taken and
     * training draws the same noise whether or not it is evaluated. */
    nn_rng saved_noise = g->noise_rng;
    nn_rng_seed(&g->noise_rng, t->hp.seed * 0x9e3779b97f4a7c15ULL ^ STREAM_EVAL_NOISE);
    nn_node *in = &g->nodes[g->input];
    float *targets = g->target >= 0 ? g->nodes[g->target].value : NULL;
    const nn_node *pred = &g->nodes[g->output];
    size_t idx[1024];
    /* Chunks of the training batch size, so a graph built for larger batches
     * sums the loss in the same order and reports the same figures. */
    int chunk = t->hp.batch < g->max_batch ? t->hp.batch : g->max_batch;
    if (chunk > 1024)
        chunk = 1024;
    double loss = 0;
    long correct = 0;
    for (size_t start = 0; start < ds->count; start += (size_t)chunk) {
        int n = ds->count - start < (size_t)chunk ? (int)(ds->count - start) : chunk;
        for (int i = 0; i < n; i++)
            idx[i] = start + (size_t)i;
        nn_dataset_batch(ds, idx, n, in->value, targets, t->labels);
        nn_graph_forward(g, n);
        loss += (double)nn_graph_loss(g) * n;
        for (int i = 0; i < n && !g->reconstructs; i++) {
            int p = nn_vec_argmax(pred->value + (size_t)i * pred->size, (int)pred->size);
            int y = t->labels[i];
            correct += p == y;
            if (y < out->classes && p < out->classes)
                out->confusion[y][p]++;
        }
    }
    g->training = saved;
    g->noise_rng = saved_noise;
    out->count = ds->count;
    out->loss = ds->count ? loss / (double)ds->count : 0;
    out->accuracy = g->reconstructs ? NAN : ds->count ? (double)correct / (double)ds->count : 0;
    for (int c = 0; c < out->classes; c++) {
        long total = 0;
        for (int p = 0; p < out->classes; p++)
            total += out->confusion[c][p];
        out->class_accuracy[c] = total ? (double)out->confusion[c][c] / (double)total : 0;
    }
}

double nn_trainer_samples_per_sec(const nn_trainer *t)
{
    double samples = (double)t->step > 0 ? (double)t->epoch * t->train->count + (double)t->pos : 0;
    return t->train_seconds > 0 ? samples / t->train_seconds : 0;
}

int nn_trainer_record_epoch(nn_trainer *t, const nn_epoch_record *r, nn_error *err)
{
    if (t->n_history == t->cap_history) {
        int cap = t->cap_history ? 2 * t->cap_history : 16;
        nn_epoch_record *h = realloc(t->history, (size_t)cap * sizeof *h);
        if (!h)
            return nn_error_set(err, NN_ERUNTIME, "trainer: out of memory for the epoch history");
        t->history = h;
        t->cap_history = cap;
    }
    t->history[t->n_history++] = *r;
    return NN_OK;
}
