/* `nnlab bench`: training and inference throughput per preset, beside the
 * rate the machine's sgemm allows at the same matrix shapes.
 *
 * Each preset is measured in a child process so its peak resident memory is
 * its own.  Every figure is the median of several timed repetitions after a
 * warm-up. */
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "json.h"
#include "model.h"
#include "trainer.h"

static const char bench_help[] =
    "Usage: nnlab bench [options]\n"
    "\n"
    "Measures, for each preset: training samples/s at each batch size (data\n"
    "augmentation off, evaluation excluded), the sgemm-bound rate (the\n"
    "training step's matrix products timed alone with cblas_sgemm at the same\n"
    "shapes, each at the better of OpenBLAS's own threads and one thread's\n"
    "time shared evenly over the cores: the ceiling the step could reach),\n"
    "batch-1 inference latency\n"
    "(median and 99th percentile) and peak resident memory. Each figure is the\n"
    "median of --reps timed repetitions after a warm-up.\n"
    "\n"
    "Options:\n"
    "  --presets A,B,...    presets or spec files (default: every preset in assets/models)\n"
    "  --batches N,N,...    training batch sizes (default 64,256)\n"
    "  --reps N             repetitions per figure (default 5)\n"
    "  --seconds S          length of one training repetition (default 0.3)\n"
    "  --threads N          threads (default: one per core)\n"
    "  --data DIR           training images (default data/mnist-small)\n"
    "  --profile            also time every op of a step and show where the step's\n"
    "                       time goes, by kind of op\n"
    "  --json               one JSON object on stdout\n"
    "\n"
    "Examples:\n"
    "  nnlab bench\n"
    "  nnlab bench --presets mlp --batches 64 --reps 9\n"
    "  nnlab bench --presets lenet,lstm --batches 64 --profile\n"
    "  nnlab bench --threads 1 --json > bench-1thread.json\n";

#define MAX_BATCHES 8
#define MAX_PRESETS 32
#define MAX_OP_KINDS 16

/* Where a training step's time goes, per kind of op (--profile). */
typedef struct op_time {
    char op[24];
    double forward_ms, backward_ms; /* per step */
} op_time;

typedef struct batch_result {
    int batch;
    double samples_per_sec;   /* measured, median */
    double bound_per_sec;     /* sgemm-bound rate */
    double gemm_gflops;       /* sgemm rate over this step's shapes */
    double flops_per_sample;  /* training FLOPs in products, per sample */
    double step_ms;           /* --profile: one step, all of it */
    int n_ops;
    op_time ops[MAX_OP_KINDS];
} batch_result;

typedef struct preset_result {
    int ok;
    char error[sizeof(((nn_error *)0)->msg)];
    long params;
    int n_batches;
    batch_result batches[MAX_BATCHES];
    double infer_median_us, infer_p99_us;
    long peak_rss_kb;
} preset_result;

typedef struct bench_options {
    const char *presets[MAX_PRESETS];
    int n_presets;
    int batches[MAX_BATCHES];
    int n_batches;
    int reps;
    double seconds;
    int threads;
    const char *data;
    int json;
    int profile;
} bench_options;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, compare_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Seconds for one product of this shape with OpenBLAS on the given number
 * of threads: the median over reps of a timed loop. */
static double time_gemm_on(const nn_gemm *s, int reps, int threads, float *a, float *b, float *c)
{
    int lda = s->trans_a ? s->m : s->k, ldb = s->trans_b ? s->k : s->n;
    CBLAS_TRANSPOSE ta = s->trans_a ? CblasTrans : CblasNoTrans, tb = s->trans_b ? CblasTrans : CblasNoTrans;
    double flops = 2.0 * s->m * s->n * s->k;
    int calls = (int)fmax(3, fmin(2000, 2e7 / flops)); /* about 20 MFLOP per sample of the timing */
    double t[64];
    reps = reps > 64 ? 64 : reps;
    openblas_set_num_threads(threads);
    cblas_sgemm(CblasRowMajor, ta, tb, s->m, s->n, s->k, 1.0f, a, lda, b, ldb, 1.0f, c, s->n);
    for (int r = 0; r < reps; r++) {
        double start = now_seconds();
        for (int i = 0; i < calls; i++)
            cblas_sgemm(CblasRowMajor, ta, tb, s->m, s->n, s->k, 1.0f, a, lda, b, ldb, 1.0f, c, s->n);
        t[r] = (now_seconds() - start) / calls;
    }
    openblas_set_num_threads(1); /* as training keeps it (nn/gemm.h) */
    return median(t, reps);
}

/* The least time one product of this shape can take on `threads` cores:
 * OpenBLAS splitting it over its own threads, or one thread's time shared
 * perfectly among the cores, whichever is less. */
static double time_gemm(const nn_gemm *s, int reps, int threads, float *a, float *b, float *c)
{
    double one = time_gemm_on(s, reps, 1, a, b, c);
    if (threads <= 1)
        return one;
    return fmin(one / threads, time_gemm_on(s, reps, threads, a, b, c));
}

/* Time every product of one training step; fills the bound figures. */
static void measure_bound(const nn_gemm_list *list, int batch, int reps, int threads, batch_result *r)
{
    size_t biggest = 1;
    for (int i = 0; i < list->count; i++) {
        const nn_gemm *s = &list->gemm[i];
        size_t sizes[3] = {(size_t)s->m * s->k, (size_t)s->k * s->n, (size_t)s->m * s->n};
        for (int k = 0; k < 3; k++)
            biggest = sizes[k] > biggest ? sizes[k] : biggest;
    }
    float *a = calloc(biggest, sizeof(float)), *b = calloc(biggest, sizeof(float)), *c = calloc(biggest, sizeof(float));
    double seconds = 0;
    for (int i = 0; a && b && c && i < list->count; i++)
        seconds += time_gemm(&list->gemm[i], reps, threads, a, b, c) * list->gemm[i].count;
    free(a);
    free(b);
    free(c);
    double flops = nn_gemm_flops(list);
    r->flops_per_sample = flops / batch;
    r->bound_per_sec = seconds > 0 ? batch / seconds : INFINITY;
    r->gemm_gflops = seconds > 0 ? flops / seconds / 1e9 : 0;
}

/* Train for about `seconds` with every node timed; fills the step time and
 * the time per kind of op, in the order the ops first appear. */
static void profile_steps(nn_trainer *t, double seconds, batch_result *r)
{
    nn_graph *g = &t->graph;
    nn_graph_profile prof = {calloc((size_t)g->n_nodes, sizeof(double)), calloc((size_t)g->n_nodes, sizeof(double)),
                             0, 0};
    if (!prof.forward || !prof.backward) {
        free(prof.forward);
        free(prof.backward);
        return;
    }
    g->profile = &prof;
    nn_step_info info;
    long steps = 0;
    double start = now_seconds(), elapsed;
    do {
        nn_trainer_step(t, &info);
        steps++;
        elapsed = now_seconds() - start;
    } while (elapsed < seconds);
    g->profile = NULL;
    r->step_ms = 1e3 * elapsed / steps;
    for (int i = 0; i < g->n_nodes; i++) {
        if (prof.forward[i] == 0 && prof.backward[i] == 0)
            continue;
        const char *op = nn_op_name(g->nodes[i].op);
        int k = 0;
        while (k < r->n_ops && strcmp(r->ops[k].op, op) != 0)
            k++;
        if (k == MAX_OP_KINDS)
            continue;
        if (k == r->n_ops)
            snprintf(r->ops[r->n_ops++].op, sizeof r->ops[0].op, "%s", op);
        r->ops[k].forward_ms += 1e3 * prof.forward[i] / steps;
        r->ops[k].backward_ms += 1e3 * prof.backward[i] / steps;
    }
    free(prof.forward);
    free(prof.backward);
}

/* Median training samples/s at one batch size, and the step's products. */
static int measure_training(const nn_spec *spec, const nn_hparams *base, const nn_dataset *train, int batch,
                            const bench_options *o, batch_result *r, nn_gemm_list *gemms, char *error,
                            size_t error_len)
{
    nn_hparams hp = *base;
    hp.batch = batch;
    hp.augment = 0;
    hp.epochs = 1000000; /* never finish during the measurement */
    nn_trainer t;
    nn_error err;
    if (nn_trainer_init(&t, spec, &hp, train, &err)) {
        snprintf(error, error_len, "%s", err.msg);
        return -1;
    }
    nn_step_info info;
    for (int i = 0; i < 10; i++) /* warm-up: caches, BLAS threads, page faults */
        nn_trainer_step(&t, &info);
    double rates[64];
    int reps = o->reps > 64 ? 64 : o->reps;
    for (int rep = 0; rep < reps; rep++) {
        long samples = 0;
        double start = now_seconds(), elapsed;
        do {
            nn_trainer_step(&t, &info);
            samples += info.batch;
            elapsed = now_seconds() - start;
        } while (elapsed < o->seconds);
        rates[rep] = samples / elapsed;
    }
    r->batch = batch;
    r->samples_per_sec = median(rates, reps);
    nn_graph_gemms(&t.graph, batch, gemms);
    if (o->profile)
        profile_steps(&t, o->seconds, r);
    nn_trainer_free(&t);
    return 0;
}

/* Batch-1 inference latency in microseconds: median and 99th percentile. */
static int measure_inference(const nn_spec *spec, const nn_hparams *hp, const nn_dataset *data, preset_result *r,
                             char *error, size_t error_len)
{
    nn_graph g;
    nn_error err;
    if (nn_model_build(&g, spec, hp, 1, &err)) {
        snprintf(error, error_len, "%s", err.msg);
        return -1;
    }
    g.training = 0;
    enum { WARMUP = 200, SAMPLES = 3000 };
    double *t = malloc(SAMPLES * sizeof *t);
    if (!t) {
        nn_graph_free(&g);
        snprintf(error, error_len, "out of memory");
        return -1;
    }
    nn_node *in = &g.nodes[g.input];
    for (int i = 0; i < WARMUP + SAMPLES; i++) {
        size_t index = (size_t)i % data->count;
        nn_dataset_batch(data, &index, 1, in->value, NULL, NULL);
        double start = now_seconds();
        nn_graph_forward(&g, 1);
        if (i >= WARMUP)
            t[i - WARMUP] = (now_seconds() - start) * 1e6;
    }
    qsort(t, SAMPLES, sizeof *t, compare_double);
    r->infer_median_us = t[SAMPLES / 2];
    r->infer_p99_us = t[SAMPLES * 99 / 100];
    free(t);
    nn_graph_free(&g);
    return 0;
}

static void measure_preset(const char *name, const bench_options *o, preset_result *r)
{
    memset(r, 0, sizeof *r);
    nn_spec spec;
    nn_hparams hp;
    cli_hparams none = {0};
    char data_dir[4096];
    if (o->data)
        snprintf(data_dir, sizeof data_dir, "%s", o->data);
    else
        cli_default_data(data_dir, sizeof data_dir);
    /* cli_load_model prints its own errors; the parent reports the rest. */
    if (cli_load_model(name, &none, &spec, &hp)) {
        snprintf(r->error, sizeof r->error, "cannot load model '%s'", name);
        return;
    }
    hp.threads = nn_set_threads(o->threads);
    nn_dataset train, test;
    nn_error err;
    if (nn_dataset_load_dir(data_dir, &train, &test, &err)) {
        snprintf(r->error, sizeof r->error, "%s", err.msg);
        nn_spec_free(&spec);
        return;
    }
    r->ok = 1;
    static nn_gemm_list gemms[MAX_BATCHES];
    for (int b = 0; b < o->n_batches && r->ok; b++)
        if (measure_training(&spec, &hp, &train, o->batches[b], o, &r->batches[b], &gemms[b], r->error,
                             sizeof r->error))
            r->ok = 0;
        else
            r->n_batches = b + 1;
    /* After all the training: timing on OpenBLAS's own threads wakes them,
     * and they spin for a while after the last product. */
    for (int b = 0; b < r->n_batches; b++)
        measure_bound(&gemms[b], o->batches[b], o->reps, o->threads, &r->batches[b]);
    if (r->ok && measure_inference(&spec, &hp, &test, r, r->error, sizeof r->error))
        r->ok = 0;
    if (r->ok) {
        nn_graph g;
        if (nn_model_build(&g, &spec, &hp, 1, &err) == NN_OK) {
            r->params = (long)g.param_count;
            nn_graph_free(&g);
        }
    }
    nn_dataset_free(&train);
    nn_dataset_free(&test);
    nn_spec_free(&spec);
}

/* Run measure_preset in a child so its peak resident memory is its own. */
static void measure_in_child(const char *name, const bench_options *o, preset_result *r)
{
    memset(r, 0, sizeof *r);
    int fd[2];
    if (pipe(fd)) {
        snprintf(r->error, sizeof r->error, "pipe: %s", strerror(errno));
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(r->error, sizeof r->error, "fork: %s", strerror(errno));
        close(fd[0]);
        close(fd[1]);
        return;
    }
    if (pid == 0) {
        close(fd[0]);
        preset_result mine;
        measure_preset(name, o, &mine);
        struct rusage usage;
        if (getrusage(RUSAGE_SELF, &usage) == 0)
            mine.peak_rss_kb = usage.ru_maxrss;
        ssize_t written = write(fd[1], &mine, sizeof mine);
        _exit(written == (ssize_t)sizeof mine ? 0 : 1);
    }
    close(fd[1]);
    size_t got = 0;
    while (got < sizeof *r) {
        ssize_t k = read(fd[0], (char *)r + got, sizeof *r - got);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd[0]);
    int status;
    if (waitpid(pid, &status, 0) < 0 || got != sizeof *r) {
        memset(r, 0, sizeof *r);
        snprintf(r->error, sizeof r->error, "the measurement process failed");
    }
}

static int parse_list(const char *text, int *out, int max, const char *what)
{
    int n = 0;
    const char *at = text;
    while (*at) {
        char *end;
        long v = strtol(at, &end, 10);
        if (end == at || v < 1 || v > 65536 || n == max || (*end && *end != ',')) {
            cli_error("bench: --%s expects numbers like 64,256 (at most %d)", what, max);
            return -1;
        }
        out[n++] = (int)v;
        at = *end ? end + 1 : end;
    }
    return n;
}

/* Every preset file in assets/models, in a fixed order. */
static int default_presets(const char **out, int max)
{
    static const char *order[] = {"linear", "mlp", "mlp-tanh", "lenet", "cnn", "lstm", "vae"};
    int n = 0;
    for (size_t i = 0; i < sizeof order / sizeof *order && n < max; i++) {
        char path[4096];
        if (cli_model_path(order[i], path, sizeof path) == 0)
            out[n++] = order[i];
    }
    return n;
}

static int compare_share(const void *a, const void *b)
{
    const op_time *x = a, *y = b;
    double tx = x->forward_ms + x->backward_ms, ty = y->forward_ms + y->backward_ms;
    return (tx < ty) - (tx > ty);
}

/* Per preset and batch: the step time and each kind of op's share of it,
 * largest first, with what falls outside the graph's passes (the batch's
 * assembly, the optimiser and the statistics). */
static void print_profile(const bench_options *o, preset_result *results)
{
    printf("\nWhere a training step's time goes (share of the step; forward + backward ms):\n");
    for (int p = 0; p < o->n_presets; p++) {
        preset_result *r = &results[p];
        for (int b = 0; r->ok && b < r->n_batches; b++) {
            batch_result *x = &r->batches[b];
            qsort(x->ops, (size_t)x->n_ops, sizeof x->ops[0], compare_share);
            double inside = 0;
            printf("%-10s %4d  %7.2f ms:", b == 0 ? o->presets[p] : "", x->batch, x->step_ms);
            for (int k = 0; k < x->n_ops; k++) {
                const op_time *t = &x->ops[k];
                double ms = t->forward_ms + t->backward_ms;
                inside += ms;
                if (100 * ms / x->step_ms >= 0.5)
                    printf(" %s %.0f%% (%.2f + %.2f)%s", t->op, 100 * ms / x->step_ms, t->forward_ms, t->backward_ms,
                           k + 1 < x->n_ops ? "," : "");
            }
            printf(" outside the graph %.0f%%\n", 100 * (x->step_ms - inside) / x->step_ms);
        }
    }
}

static void print_table(const bench_options *o, preset_result *results)
{
    printf("nnlab bench: %d thread%s, median of %d; sgemm-bound = the step's products alone\n\n",
           o->threads, o->threads == 1 ? "" : "s", o->reps);
    printf("%-10s %9s %6s %11s %11s %6s %8s %10s %10s %9s\n", "preset", "params", "batch", "samples/s",
           "sgemm-bound", "bound", "GFLOP/s", "infer p50", "infer p99", "peak RSS");
    for (int p = 0; p < o->n_presets; p++) {
        const preset_result *r = &results[p];
        if (!r->ok) {
            printf("%-10s  failed: %s\n", o->presets[p], r->error);
            continue;
        }
        for (int b = 0; b < r->n_batches; b++) {
            const batch_result *x = &r->batches[b];
            if (b == 0)
                printf("%-10s %9ld", o->presets[p], r->params);
            else
                printf("%-10s %9s", "", "");
            printf(" %6d %11.0f %11.0f %5.0f%% %8.1f", x->batch, x->samples_per_sec, x->bound_per_sec,
                   100 * x->samples_per_sec / x->bound_per_sec, x->gemm_gflops);
            if (b == 0)
                printf(" %8.1fus %8.1fus %6.1f MB\n", r->infer_median_us, r->infer_p99_us, r->peak_rss_kb / 1024.0);
            else
                printf("\n");
        }
    }
    if (o->profile)
        print_profile(o, results);
}

static void print_json(const bench_options *o, preset_result *results, double peak_gflops)
{
    json_writer j;
    json_init(&j, stdout);
    json_object_begin(&j, NULL);
    json_int(&j, "threads", o->threads);
    json_int(&j, "reps", o->reps);
    json_number(&j, "sgemm_1024_gflops", peak_gflops);
    json_array_begin(&j, "presets");
    for (int p = 0; p < o->n_presets; p++) {
        const preset_result *r = &results[p];
        json_object_begin(&j, NULL);
        json_string(&j, "preset", o->presets[p]);
        if (!r->ok) {
            json_string(&j, "error", r->error);
            json_object_end(&j);
            continue;
        }
        json_int(&j, "params", r->params);
        json_number(&j, "infer_median_us", r->infer_median_us);
        json_number(&j, "infer_p99_us", r->infer_p99_us);
        json_number(&j, "peak_rss_mb", r->peak_rss_kb / 1024.0);
        json_array_begin(&j, "training");
        for (int b = 0; b < r->n_batches; b++) {
            const batch_result *x = &r->batches[b];
            json_object_begin(&j, NULL);
            json_int(&j, "batch", x->batch);
            json_number(&j, "samples_per_sec", x->samples_per_sec);
            json_number(&j, "sgemm_bound_per_sec", x->bound_per_sec);
            json_number(&j, "fraction_of_bound", x->samples_per_sec / x->bound_per_sec);
            json_number(&j, "sgemm_gflops", x->gemm_gflops);
            json_number(&j, "flops_per_sample", x->flops_per_sample);
            if (o->profile) {
                json_number(&j, "step_ms", x->step_ms);
                json_array_begin(&j, "ops");
                for (int k = 0; k < x->n_ops; k++) {
                    json_object_begin(&j, NULL);
                    json_string(&j, "op", x->ops[k].op);
                    json_number(&j, "forward_ms", x->ops[k].forward_ms);
                    json_number(&j, "backward_ms", x->ops[k].backward_ms);
                    json_object_end(&j);
                }
                json_array_end(&j);
            }
            json_object_end(&j);
        }
        json_array_end(&j);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
    json_finish(&j);
}

/* sgemm GFLOP/s at 1024^3 with the chosen threads: the machine's ceiling. */
static double peak_gflops(int reps, int threads)
{
    nn_gemm s = {0, 0, 1024, 1024, 1024, 1};
    float *a = calloc(1024 * 1024, sizeof(float)), *b = calloc(1024 * 1024, sizeof(float)),
          *c = calloc(1024 * 1024, sizeof(float));
    double seconds = a && b && c ? time_gemm(&s, reps < 3 ? reps : 3, threads, a, b, c) : 0;
    free(a);
    free(b);
    free(c);
    return seconds > 0 ? 2.0 * 1024 * 1024 * 1024 / seconds / 1e9 : 0;
}

int cmd_bench(int argc, char **argv)
{
    bench_options o = {.batches = {64, 256}, .n_batches = 2, .reps = 5, .seconds = 0.3};
    for (int i = 1; i < argc; i++) {
        const char *value;
        int r;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(bench_help, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--json")) {
            o.json = 1;
        } else if (!strcmp(argv[i], "--profile")) {
            o.profile = 1;
        } else if ((r = cli_option(argc, argv, &i, "presets", &value))) {
            if (r < 0)
                return EXIT_USAGE;
            char *copy = strdup(value);
            for (char *tok = strtok(copy, ","); tok && o.n_presets < MAX_PRESETS; tok = strtok(NULL, ","))
                o.presets[o.n_presets++] = tok; /* copy lives until exit */
        } else if ((r = cli_option(argc, argv, &i, "batches", &value))) {
            if (r < 0 || (o.n_batches = parse_list(value, o.batches, MAX_BATCHES, "batches")) < 0)
                return EXIT_USAGE;
        } else if ((r = cli_option(argc, argv, &i, "reps", &value))) {
            if (r < 0 || (o.reps = atoi(value)) < 1 || o.reps > 64) {
                cli_error("bench: --reps expects 1..64");
                return EXIT_USAGE;
            }
        } else if ((r = cli_option(argc, argv, &i, "seconds", &value))) {
            if (r < 0 || !((o.seconds = atof(value)) > 0 && o.seconds <= 60)) {
                cli_error("bench: --seconds expects a duration in (0, 60]");
                return EXIT_USAGE;
            }
        } else if ((r = cli_option(argc, argv, &i, "threads", &value))) {
            if (r < 0 || (o.threads = atoi(value)) < 0 || o.threads > 256) {
                cli_error("bench: --threads expects 0..256");
                return EXIT_USAGE;
            }
        } else if ((r = cli_option(argc, argv, &i, "data", &value))) {
            if (r < 0)
                return EXIT_USAGE;
            o.data = value;
        } else {
            cli_error("bench: unknown option '%s' (see nnlab bench --help)", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (o.n_presets == 0)
        o.n_presets = default_presets(o.presets, MAX_PRESETS);
    o.threads = nn_set_threads(o.threads);
    preset_result *results = calloc((size_t)o.n_presets, sizeof *results);
    if (!results) {
        cli_error("out of memory");
        return EXIT_RUNTIME;
    }
    int failed = 0, live = !o.json && isatty(STDERR_FILENO);
    for (int p = 0; p < o.n_presets; p++) {
        if (live)
            fprintf(stderr, "\rmeasuring %s...\033[K", o.presets[p]);
        measure_in_child(o.presets[p], &o, &results[p]);
        failed |= !results[p].ok;
    }
    if (live)
        fputs("\r\033[K", stderr);
    double peak = peak_gflops(o.reps, o.threads);
    if (o.json) {
        print_json(&o, results, peak);
    } else {
        print_table(&o, results);
        printf("\nsgemm 1024x1024x1024 on this machine: %.1f GFLOP/s\n", peak);
    }
    free(results);
    return failed ? EXIT_RUNTIME : 0;
}
