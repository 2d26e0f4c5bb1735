/*
 * sgemm-bench: how fast OpenBLAS multiplies single-precision matrices on this
 * machine, at the shapes nnlab's training step actually uses.
 *
 * The default set is the five matrix products of one training step of the
 * `mlp` preset (784 -> 128 -> 10) at batch 64, with the transposes the
 * backward pass uses, plus the input gradient of the first layer (which
 * deeper models need) and a large square product that shows the machine's
 * peak. Each figure is the median of several timed samples taken after a
 * warm-up; a sample repeats the call until it has run for a minimum time, so
 * small products are not lost in the clock's resolution.
 *
 *     sgemm-bench                       the default set, as a table
 *     sgemm-bench --threads 1 --json    the same with one thread, as JSON
 *     sgemm-bench 256 256 256           one shape, M N K (C[M,N] = A[M,K] B[K,N])
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <cblas.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const char *name;  /* NULL: named by its dimensions */
    int m, n, k;       /* C[m,n] = op(A)[m,k] * op(B)[k,n] */
    bool transpose_a;  /* A is stored as [k,m] */
    bool transpose_b;  /* B is stored as [n,k] */
} shape;

/* One training step of `mlp` at batch 64: x[64,784], w1[784,128], w2[128,10]. */
static const shape default_shapes[] = {
    {"mlp.dense1.forward", 64, 128, 784, false, false},       /* x w1 */
    {"mlp.dense1.weight_grad", 784, 128, 64, true, false},    /* x^T dh */
    {"mlp.dense2.forward", 64, 10, 128, false, false},        /* h w2 */
    {"mlp.dense2.weight_grad", 128, 10, 64, true, false},     /* h^T dy */
    {"mlp.dense2.input_grad", 64, 128, 10, false, true},      /* dy w2^T */
    {"mlp.dense1.input_grad", 64, 784, 128, false, true},     /* dh w1^T */
    {"square.1024", 1024, 1024, 1024, false, false},
};

typedef struct {
    int threads;          /* 0: OpenBLAS's own default */
    int samples;
    double min_seconds;   /* per sample */
    bool json;
} options;

static void usage(FILE *out, const char *program)
{
    fprintf(out,
            "usage: %s [--threads N] [--samples N] [--min-time SECONDS] [--json] [M N K]...\n"
            "\n"
            "Measures OpenBLAS cblas_sgemm in GFLOP/s (2*M*N*K per call), the median of\n"
            "N samples (default 7) after a warm-up. Without shapes it measures the\n"
            "products of one training step of the mlp preset at batch 64 and 1024^3.\n"
            "\n"
            "  --threads N        OpenBLAS threads (default: OpenBLAS's own choice)\n"
            "  --samples N        timed samples per shape (default 7)\n"
            "  --min-time SECONDS minimum length of one sample (default 0.05)\n"
            "  --json             print one JSON object instead of a table\n"
            "\n"
            "examples:\n"
            "  %s --threads 1\n"
            "  %s --json 64 128 784 1024 1024 1024\n",
            program, program, program);
}

static bool parse_int(const char *text, int min, int max, int *value)
{
    char *end;
    errno = 0;
    long parsed = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || parsed < min || parsed > max)
        return false;
    *value = (int)parsed;
    return true;
}

static bool parse_double(const char *text, double min, double max, double *value)
{
    char *end;
    errno = 0;
    double parsed = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !(parsed >= min && parsed <= max))
        return false;
    *value = parsed;
    return true;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static float *random_matrix(size_t count, unsigned *state)
{
    float *values = malloc(count * sizeof *values);
    if (values == NULL)
        return NULL;
    for (size_t i = 0; i < count; i++) {
        *state = *state * 1664525u + 1013904223u;
        values[i] = (float)(*state >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
    }
    return values;
}

static void multiply(const shape *s, const float *a, const float *b, float *c, long calls)
{
    /* Row-major leading dimensions follow the stored, not the used, layout. */
    int lda = s->transpose_a ? s->m : s->k;
    int ldb = s->transpose_b ? s->k : s->n;
    for (long i = 0; i < calls; i++)
        cblas_sgemm(CblasRowMajor, s->transpose_a ? CblasTrans : CblasNoTrans,
                    s->transpose_b ? CblasTrans : CblasNoTrans, s->m, s->n, s->k, 1.0f, a,
                    lda, b, ldb, 0.0f, c, s->n);
}

/* Times one shape; returns the median GFLOP/s, or a negative number when
 * memory runs out. */
static double measure(const shape *s, const options *opt, double *seconds_per_call)
{
    unsigned state = 12345u;
    float *a = random_matrix((size_t)s->m * (size_t)s->k, &state);
    float *b = random_matrix((size_t)s->k * (size_t)s->n, &state);
    float *c = random_matrix((size_t)s->m * (size_t)s->n, &state);
    double *rates = malloc((size_t)opt->samples * sizeof *rates);
    double result = -1.0;
    if (a == NULL || b == NULL || c == NULL || rates == NULL)
        goto done;

    /* Warm-up and calibration: find a call count that fills min_seconds. */
    long calls = 1;
    for (;;) {
        double start = now_seconds();
        multiply(s, a, b, c, calls);
        double elapsed = now_seconds() - start;
        if (elapsed >= opt->min_seconds || calls >= (1L << 30))
            break;
        long scaled = elapsed > 0.0 ? (long)(calls * 1.2 * opt->min_seconds / elapsed) : calls * 8;
        calls = scaled > calls * 8 ? calls * 8 : (scaled > calls ? scaled : calls * 2);
    }

    double flops = 2.0 * s->m * s->n * s->k;
    for (int i = 0; i < opt->samples; i++) {
        double start = now_seconds();
        multiply(s, a, b, c, calls);
        double elapsed = now_seconds() - start;
        rates[i] = flops * (double)calls / elapsed * 1e-9;
    }
    qsort(rates, (size_t)opt->samples, sizeof *rates, compare_doubles);
    int middle = opt->samples / 2;
    result = opt->samples % 2 ? rates[middle] : 0.5 * (rates[middle - 1] + rates[middle]);
    *seconds_per_call = flops / (result * 1e9);

done:
    free(a);
    free(b);
    free(c);
    free(rates);
    return result;
}

static void print_json_string(const char *text)
{
    putchar('"');
    for (const char *p = text; *p != '\0'; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

int main(int argc, char **argv)
{
    const char *program = argv[0];
    options opt = {.threads = 0, .samples = 7, .min_seconds = 0.05, .json = false};
    int *dims = malloc((size_t)(argc > 0 ? argc : 1) * sizeof *dims);
    int dim_count = 0;
    if (dims == NULL) {
        fprintf(stderr, "%s: out of memory\n", program);
        return 1;
    }

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout, program);
            free(dims);
            return 0;
        } else if (strcmp(arg, "--json") == 0) {
            opt.json = true;
        } else if (strcmp(arg, "--threads") == 0 && has_value) {
            if (!parse_int(argv[++i], 1, 1024, &opt.threads)) {
                fprintf(stderr, "%s: --threads: expected a whole number from 1 to 1024, got '%s'\n",
                        program, argv[i]);
                goto bad_usage;
            }
        } else if (strcmp(arg, "--samples") == 0 && has_value) {
            if (!parse_int(argv[++i], 1, 1000, &opt.samples)) {
                fprintf(stderr, "%s: --samples: expected a whole number from 1 to 1000, got '%s'\n",
                        program, argv[i]);
                goto bad_usage;
            }
        } else if (strcmp(arg, "--min-time") == 0 && has_value) {
            if (!parse_double(argv[++i], 0.0, 60.0, &opt.min_seconds)) {
                fprintf(stderr, "%s: --min-time: expected seconds from 0 to 60, got '%s'\n",
                        program, argv[i]);
                goto bad_usage;
            }
        } else if (arg[0] == '-' && arg[1] != '\0') {
            fprintf(stderr, "%s: unknown option or missing value: '%s' (see --help)\n", program, arg);
            goto bad_usage;
        } else if (!parse_int(arg, 1, 65536, &dims[dim_count++])) {
            fprintf(stderr, "%s: expected a matrix dimension from 1 to 65536, got '%s'\n", program,
                    arg);
            goto bad_usage;
        }
    }
    if (dim_count % 3 != 0) {
        fprintf(stderr, "%s: shapes are given as M N K triples; got %d number%s\n", program,
                dim_count, dim_count == 1 ? "" : "s");
        goto bad_usage;
    }

    int shape_count = dim_count > 0 ? dim_count / 3
                                    : (int)(sizeof default_shapes / sizeof default_shapes[0]);
    shape *shapes = malloc((size_t)shape_count * sizeof *shapes);
    if (shapes == NULL) {
        free(dims);
        fprintf(stderr, "%s: out of memory\n", program);
        return 1;
    }
    for (int i = 0; i < shape_count; i++) {
        if (dim_count > 0)
            shapes[i] = (shape){NULL, dims[3 * i], dims[3 * i + 1], dims[3 * i + 2], false, false};
        else
            shapes[i] = default_shapes[i];
    }

    if (opt.threads > 0)
        openblas_set_num_threads(opt.threads);
    int threads = openblas_get_num_threads();
    const char *config = openblas_get_config();

    if (opt.json) {
        printf("{\"benchmark\": \"sgemm\", \"openblas\": ");
        print_json_string(config);
        printf(", \"core\": ");
        print_json_string(openblas_get_corename());
        printf(", \"threads\": %d, \"samples\": %d, \"results\": [", threads, opt.samples);
    } else {
        printf("cblas_sgemm, %s, %d thread%s, median of %d\n\n", config, threads,
               threads == 1 ? "" : "s", opt.samples);
        printf("%-24s %6s %6s %6s  %-5s %9s %11s\n", "shape", "M", "N", "K", "op", "GFLOP/s",
               "us/call");
    }

    int status = 0;
    for (int i = 0; i < shape_count; i++) {
        const shape *s = &shapes[i];
        char name[48];
        if (s->name != NULL)
            snprintf(name, sizeof name, "%s", s->name);
        else
            snprintf(name, sizeof name, "%dx%dx%d", s->m, s->n, s->k);
        double seconds_per_call = 0.0;
        double gflops = measure(s, &opt, &seconds_per_call);
        if (gflops < 0.0) {
            fprintf(stderr, "%s: out of memory for %dx%dx%d\n", program, s->m, s->n, s->k);
            status = 1;
            break;
        }
        if (opt.json) {
            printf("%s{\"name\": ", i > 0 ? ", " : "");
            print_json_string(name);
            printf(", \"m\": %d, \"n\": %d, \"k\": %d, \"transpose_a\": %s, \"transpose_b\": %s, "
                   "\"gflops\": %.3f, \"seconds_per_call\": %.9f}",
                   s->m, s->n, s->k, s->transpose_a ? "true" : "false",
                   s->transpose_b ? "true" : "false", gflops, seconds_per_call);
        } else {
            char op[6];
            snprintf(op, sizeof op, "%s%s", s->transpose_a ? "T" : "N", s->transpose_b ? "T" : "N");
            printf("%-24s %6d %6d %6d  %-5s %9.2f %11.2f\n", name, s->m, s->n, s->k, op, gflops,
                   seconds_per_call * 1e6);
        }
        fflush(stdout);
    }
    if (opt.json)
        printf("]}\n");
    free(shapes);
    free(dims);
    return status;

bad_usage:
    free(dims);
    return 2;
}
