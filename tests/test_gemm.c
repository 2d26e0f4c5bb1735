/* Tests for nn/gemm.c and nn/parallel.c: a product split in two is the same,
 * bit for bit, on one thread as on two (the split does not depend on the
 * threads), and matches one whole cblas_sgemm to rounding (OpenBLAS's edge
 * tiles may order a sum differently), for every transpose, split
 * direction, odd size and beta; two products run as a pair are each the
 * same as alone; and a range split by nn_parallel_for covers every index
 * exactly once. */
#include "gemm.h"
#include "parallel.h"
#include "rng.h"
#include "trainer.h"

#include <cblas.h>
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float *random_matrix(nn_rng *rng, size_t n)
{
    float *m = malloc(n * sizeof(float));
    ck_assert_ptr_nonnull(m);
    for (size_t i = 0; i < n; i++)
        m[i] = nn_rng_uniform(rng) * 2.0f - 1.0f;
    return m;
}

/* C of one product made by nn_sgemm on two threads, by nn_sgemm on one, and
 * by one cblas_sgemm, from the same starting C (beta 1 reads it). */
static void check_product(int trans_a, int trans_b, int m, int n, int k, float beta)
{
    nn_rng rng;
    nn_rng_seed(&rng, (uint64_t)(m * 131 + n * 17 + k + trans_a * 7 + trans_b * 3));
    size_t size = (size_t)m * n;
    float *a = random_matrix(&rng, (size_t)m * k), *b = random_matrix(&rng, (size_t)k * n);
    float *two = random_matrix(&rng, size), *one = malloc(size * sizeof(float)), *want = malloc(size * sizeof(float));
    ck_assert(one && want);
    memcpy(one, two, size * sizeof(float));
    memcpy(want, two, size * sizeof(float));
    int lda = trans_a ? m : k, ldb = trans_b ? k : n;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k,
                1.0f, a, lda, b, ldb, beta, want, n);
    nn_sgemm_args g = {.trans_a = trans_a, .trans_b = trans_b, .m = m, .n = n, .k = k, .a = a, .lda = lda,
                       .b = b, .ldb = ldb, .beta = beta, .c = two, .ldc = n};
    nn_set_threads(2);
    nn_sgemm(&g);
    g.c = one;
    nn_set_threads(1);
    nn_sgemm(&g);
    nn_set_threads(2);
    char what[64];
    snprintf(what, sizeof what, "%c%c %dx%dx%d beta %g", trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k,
             (double)beta);
    ck_assert_msg(memcmp(one, two, size * sizeof(float)) == 0, "%s: one thread and two differ", what);
    /* terms are below 1 in size, so a sum of k of them rounds within k ulps of 1 */
    for (size_t i = 0; i < size; i++)
        ck_assert_msg(fabsf(two[i] - want[i]) <= 1e-6f * (float)k, "%s: C[%zu] = %g, cblas_sgemm gives %g", what,
                      i, (double)two[i], (double)want[i]);
    free(a);
    free(b);
    free(one);
    free(two);
    free(want);
}

START_TEST(test_split_products_match)
{
    /* m larger (split along m), n larger (along n), sizes that are not
     * multiples of 16, and the presets' shapes */
    static const int shapes[][3] = {{64, 128, 784}, {128, 784, 64}, {64, 784, 128}, {301, 77, 129},
                                    {33, 500, 97},  {512, 156, 64}, {200, 200, 40}, {17, 999, 90}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                check_product(ta, tb, shapes[s][0], shapes[s][1], shapes[s][2], 0.0f);
                check_product(ta, tb, shapes[s][0], shapes[s][1], shapes[s][2], 1.0f);
            }
}
END_TEST

START_TEST(test_small_products_match)
{
    check_product(0, 1, 4, 5, 6, 0.0f); /* too small to split */
    check_product(1, 0, 1, 300, 300, 1.0f);
    check_product(0, 0, 300, 1, 300, 1.0f);
}
END_TEST

START_TEST(test_pair_matches_each_alone)
{
    nn_set_threads(2);
    nn_rng rng;
    nn_rng_seed(&rng, 5);
    int m = 96, n = 130, k = 70;
    float *a = random_matrix(&rng, (size_t)m * k), *b = random_matrix(&rng, (size_t)k * n);
    float *c1 = calloc((size_t)m * n, sizeof(float)), *c2 = calloc((size_t)m * n, sizeof(float));
    float *w1 = calloc((size_t)m * n, sizeof(float)), *w2 = calloc((size_t)m * n, sizeof(float));
    ck_assert(c1 && c2 && w1 && w2);
    nn_sgemm_args g1 = {.m = m, .n = n, .k = k, .a = a, .lda = k, .b = b, .ldb = n, .c = c1, .ldc = n};
    nn_sgemm_args g2 = {.m = m, .n = n, .k = k / 2, .a = a, .lda = k, .b = b, .ldb = n, .c = c2, .ldc = n};
    nn_sgemm_pair(&g1, &g2);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, w1, n);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k / 2, 1.0f, a, k, b, n, 0.0f, w2, n);
    ck_assert(memcmp(c1, w1, (size_t)m * n * sizeof(float)) == 0);
    ck_assert(memcmp(c2, w2, (size_t)m * n * sizeof(float)) == 0);
    free(a);
    free(b);
    free(c1);
    free(c2);
    free(w1);
    free(w2);
}
END_TEST

/* Counts each index it is given; parts record which thread ran them. */
typedef struct cover_job {
    unsigned char *seen;
    int parts_seen[2];
} cover_job;

static void cover(void *ctx, size_t begin, size_t end, int part)
{
    cover_job *job = ctx;
    for (size_t i = begin; i < end; i++)
        job->seen[i]++;
    job->parts_seen[part] = 1;
}

START_TEST(test_parallel_for_covers_each_index_once)
{
    nn_set_threads(2);
    static const size_t lengths[] = {0, 1, 2, 3, 15, 255, 256, 257, 1000, 4097};
    for (size_t l = 0; l < sizeof lengths / sizeof *lengths; l++) {
        size_t n = lengths[l];
        cover_job job = {calloc(n + 1, 1), {0, 0}};
        ck_assert_ptr_nonnull(job.seen);
        int parts = nn_parallel_for(n, 2, cover, &job);
        for (size_t i = 0; i < n; i++)
            ck_assert_msg(job.seen[i] == 1, "n = %zu: index %zu run %d times", n, i, job.seen[i]);
        ck_assert_int_eq(parts, n >= 2 ? 2 : 1);
        ck_assert(job.parts_seen[0] || n == 0);
        ck_assert_int_eq(job.parts_seen[1], parts == 2);
        free(job.seen);
    }
    /* below min_split, or with one thread: one part, on the caller */
    cover_job job = {calloc(100, 1), {0, 0}};
    ck_assert_int_eq(nn_parallel_for(100, 1000, cover, &job), 1);
    nn_set_threads(1);
    ck_assert_int_eq(nn_parallel_for(100, 2, cover, &job), 1);
    ck_assert(!job.parts_seen[1]);
    free(job.seen);
    nn_set_threads(2);
}
END_TEST

static Suite *gemm_suite(void)
{
    Suite *suite = suite_create("gemm");
    TCase *tc = tcase_create("gemm");
    tcase_add_test(tc, test_split_products_match);
    tcase_add_test(tc, test_small_products_match);
    tcase_add_test(tc, test_pair_matches_each_alone);
    tcase_add_test(tc, test_parallel_for_covers_each_index_once);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(gemm_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
