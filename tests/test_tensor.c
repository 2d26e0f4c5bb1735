/* Tests for nn/tensor.c and nn/rng.c: shapes, allocation, the shared vector
 * kernels, and the random number generator every seeded choice draws from.
 *
 * The generator is checked against published xoshiro256** and splitmix64
 * values, not only for self-consistency: model files store its state, so
 * the stream for a seed must never change between builds or machines.
 * Statistical checks use tolerances of about five standard errors, so a
 * correct generator fails them with probability well under one in a
 * million while a biased one (an off-by-one range, a modulo bias of a few
 * percent, a wrong variance) fails them for every seed. */
#include "rng.h"
#include "tensor.h"

#include <check.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- shapes ----------------------------------------------------------- */

START_TEST(test_shape_size)
{
    const int image[] = {64, 1, 28, 28};
    ck_assert_uint_eq(nn_shape_size(4, image), 64 * 28 * 28);
    ck_assert_uint_eq(nn_shape_size(1, image), 64);
    /* No dimensions is a scalar: one element. */
    ck_assert_uint_eq(nn_shape_size(0, image), 1);

    const int zero[] = {3, 0, 2};
    ck_assert_uint_eq(nn_shape_size(3, zero), 0);
    const int negative[] = {3, 4, -2};
    ck_assert_uint_eq(nn_shape_size(3, negative), 0);
    const int negative_pair[] = {-2, -3}; /* a product of 6 must not pass */
    ck_assert_uint_eq(nn_shape_size(2, negative_pair), 0);
    const int int_min[] = {INT_MIN, 1};
    ck_assert_uint_eq(nn_shape_size(2, int_min), 0);
}
END_TEST

START_TEST(test_shape_size_overflow)
{
    /* 2^16 to the fourth is 2^64: one past SIZE_MAX on 64-bit. */
    const int wide[] = {65536, 65536, 65536, 65536};
    ck_assert_uint_eq(nn_shape_size(4, wide), 0);
    /* (2^31-1)^3 overflows, (2^31-1)^2 does not. */
    const int big[] = {INT_MAX, INT_MAX, INT_MAX};
    ck_assert_uint_eq(nn_shape_size(3, big), 0);
    ck_assert(nn_shape_size(2, big) == (size_t)INT_MAX * (size_t)INT_MAX);
    /* The largest product that fits is kept exactly. */
    const int fits[] = {65536, 65536, 65536, 65535};
    ck_assert(nn_shape_size(4, fits) == ((size_t)1 << 48) * 65535u);
}
END_TEST

START_TEST(test_tensor_new_free)
{
    const int dim[] = {2, 3, 4};
    nn_tensor t;
    nn_error err = {0};
    ck_assert_int_eq(nn_tensor_new(&t, 3, dim, &err), NN_OK);
    ck_assert_int_eq(t.ndim, 3);
    ck_assert_int_eq(t.dim[0], 2);
    ck_assert_int_eq(t.dim[1], 3);
    ck_assert_int_eq(t.dim[2], 4);
    ck_assert_uint_eq(nn_tensor_size(&t), 24);
    ck_assert_ptr_nonnull(t.data);
    for (int i = 0; i < 24; i++)
        ck_assert(t.data[i] == 0.0f); /* zero-filled */
    t.data[23] = 5.0f; /* the whole extent is writable (ASan checks) */
    nn_tensor_free(&t);
    ck_assert_ptr_null(t.data);
    ck_assert_int_eq(t.ndim, 0);

    /* A scalar holds one element. */
    ck_assert_int_eq(nn_tensor_new(&t, 0, dim, &err), NN_OK);
    ck_assert_uint_eq(nn_tensor_size(&t), 1);
    ck_assert(t.data[0] == 0.0f);
    nn_tensor_free(&t);
}
END_TEST

START_TEST(test_tensor_new_rejects)
{
    nn_tensor t;
    nn_error err = {0};
    const int five[] = {1, 1, 1, 1, 1};
    ck_assert_int_eq(nn_tensor_new(&t, 5, five, &err), NN_EINPUT);
    ck_assert_int_eq(err.code, NN_EINPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "5 dimensions (at most 4)"));
    ck_assert_ptr_null(t.data);

    ck_assert_int_eq(nn_tensor_new(&t, -1, five, &err), NN_EINPUT);
    ck_assert_ptr_null(t.data);

    const int zero[] = {4, 0};
    ck_assert_int_eq(nn_tensor_new(&t, 2, zero, &err), NN_EINPUT);
    ck_assert_ptr_nonnull(strstr(err.msg, "invalid shape"));
    ck_assert_ptr_null(t.data);

    /* Fits in size_t as a count, not as bytes. */
    const int huge[] = {65536, 65536, 65536, 32768};
    ck_assert_int_eq(nn_tensor_new(&t, 4, huge, &err), NN_EINPUT);
    ck_assert_ptr_null(t.data);

    /* A NULL error pointer is allowed. */
    ck_assert_int_eq(nn_tensor_new(&t, 2, zero, NULL), NN_EINPUT);
}
END_TEST

START_TEST(test_shape_format)
{
    char buf[64];
    const int image[] = {64, 1, 28, 28};
    ck_assert_str_eq(nn_shape_format(4, image, buf, sizeof buf), "64x1x28x28");
    ck_assert_str_eq(nn_shape_format(1, image, buf, sizeof buf), "64");
    ck_assert_str_eq(nn_shape_format(0, image, buf, sizeof buf), "scalar");
    const int ten[] = {10};
    ck_assert_str_eq(nn_shape_format(1, ten, buf, sizeof buf), "10");
    /* A short buffer truncates and stays terminated. */
    char small[6];
    memset(small, 'Z', sizeof small);
    char *out = nn_shape_format(4, image, small, sizeof small);
    ck_assert_ptr_eq(out, small);
    ck_assert_str_eq(small, "64x1x");
}
END_TEST

/* ---- vector kernels --------------------------------------------------- */

START_TEST(test_vec_fill_axpy)
{
    float y[5] = {1, 2, 3, 4, 5};
    const float x[5] = {10, -10, 0.5f, 0, 2};
    nn_vec_axpy(y, 0.5f, x, 5);
    const float expected[5] = {6, -3, 3.25f, 4, 6};
    for (int i = 0; i < 5; i++)
        ck_assert_msg(y[i] == expected[i], "y[%d] = %g, expected %g", i, (double)y[i],
                      (double)expected[i]);
    /* n bounds the write. */
    nn_vec_fill(y, 3, -7.5f);
    ck_assert(y[0] == -7.5f && y[1] == -7.5f && y[2] == -7.5f);
    ck_assert(y[3] == 4.0f && y[4] == 6.0f);
    nn_vec_axpy(y, 100.0f, x, 0);
    ck_assert(y[0] == -7.5f);
}
END_TEST

START_TEST(test_vec_sumsq_small)
{
    const float x[] = {3, 4, -12, 0.5f};
    ck_assert_double_eq(nn_vec_sumsq(x, 0), 0.0);
    ck_assert_double_eq(nn_vec_sumsq(x, 2), 25.0);
    ck_assert_double_eq(nn_vec_sumsq(x, 3), 169.0);
    ck_assert_double_eq(nn_vec_sumsq(x, 4), 169.25);
    /* Every length up to two lane blocks, to cover the tail handling. */
    float ones[40];
    nn_vec_fill(ones, 40, 1.0f);
    for (size_t n = 0; n <= 40; n++)
        ck_assert_double_eq(nn_vec_sumsq(ones, n), (double)n);
}
END_TEST

/* Long vectors of mixed magnitudes against a double reference: the
 * kernel sums in float lanes, so allow a relative 1e-6 (a plain float
 * accumulator over a million values misses by ~1e-4). */
START_TEST(test_vec_sumsq_long)
{
    const size_t lengths[] = {4095, 4096, 4097, 100003, 1000000};
    nn_rng rng;
    nn_rng_seed(&rng, 7);
    float *x = malloc(1000000 * sizeof *x);
    ck_assert_ptr_nonnull(x);
    for (size_t i = 0; i < 1000000; i++)
        x[i] = (nn_rng_uniform(&rng) - 0.5f) * (i % 3 == 0 ? 1000.0f : 0.01f);
    for (size_t l = 0; l < sizeof lengths / sizeof lengths[0]; l++) {
        size_t n = lengths[l];
        double reference = 0;
        for (size_t i = 0; i < n; i++)
            reference += (double)x[i] * x[i];
        double got = nn_vec_sumsq(x, n);
        ck_assert_msg(fabs(got - reference) <= 1e-6 * reference,
                      "n=%zu: sumsq %.10g, reference %.10g (rel %.3g)", n, got, reference,
                      fabs(got - reference) / reference);
    }
    /* A million squares of 25: one float accumulator passes 2^24 and then
     * rounds every addition; the total must still be exact. */
    nn_vec_fill(x, 1000000, 5.0f);
    ck_assert_double_eq(nn_vec_sumsq(x, 1000000), 25e6);
    free(x);
}
END_TEST

START_TEST(test_vec_argmax)
{
    const float x[] = {0.1f, 0.7f, -2, 0.7f, 0.3f};
    ck_assert_int_eq(nn_vec_argmax(x, 5), 1); /* first of the tie */
    ck_assert_int_eq(nn_vec_argmax(x, 1), 0);
    const float all_same[] = {2, 2, 2};
    ck_assert_int_eq(nn_vec_argmax(all_same, 3), 0);
    const float negative[] = {-5, -3, -4, -3};
    ck_assert_int_eq(nn_vec_argmax(negative, 4), 1);
    const float last[] = {-INFINITY, 0, 1e30f};
    ck_assert_int_eq(nn_vec_argmax(last, 3), 2);
}
END_TEST

START_TEST(test_vec_first_nonfinite)
{
    float x[10] = {0};
    ck_assert_int_eq(nn_vec_first_nonfinite(x, 10), -1);
    ck_assert_int_eq(nn_vec_first_nonfinite(x, 0), -1);
    x[7] = NAN;
    ck_assert_int_eq(nn_vec_first_nonfinite(x, 10), 7);
    ck_assert_int_eq(nn_vec_first_nonfinite(x, 7), -1);
    x[3] = -INFINITY;
    ck_assert_int_eq(nn_vec_first_nonfinite(x, 10), 3);
    x[0] = INFINITY;
    ck_assert_int_eq(nn_vec_first_nonfinite(x, 10), 0);
    /* Large finite values are finite. */
    float big[2] = {3.4e38f, -3.4e38f};
    ck_assert_int_eq(nn_vec_first_nonfinite(big, 2), -1);
}
END_TEST

START_TEST(test_matmul_ref)
{
    /* [2,3] * [3,2], worked by hand. */
    const float a[6] = {1, 2, 3, 4, 5, 6};
    const float b[6] = {7, 8, 9, 10, 11, 12};
    float c[4] = {-1, -1, -1, -1};
    nn_matmul_ref(c, a, b, 2, 3, 2);
    ck_assert(c[0] == 58.0f);  /* 1*7 + 2*9 + 3*11 */
    ck_assert(c[1] == 64.0f);  /* 1*8 + 2*10 + 3*12 */
    ck_assert(c[2] == 139.0f); /* 4*7 + 5*9 + 6*11 */
    ck_assert(c[3] == 154.0f); /* 4*8 + 5*10 + 6*12 */

    /* A row times a column, and an outer product. */
    float dot;
    nn_matmul_ref(&dot, a, b, 1, 6, 1);
    ck_assert(dot == 1 * 7 + 2 * 8 + 3 * 9 + 4 * 10 + 5 * 11 + 6 * 12);
    float outer[6];
    nn_matmul_ref(outer, a, b, 2, 1, 3);
    const float expected[6] = {7, 8, 9, 14, 16, 18};
    for (int i = 0; i < 6; i++)
        ck_assert(outer[i] == expected[i]);

    /* The identity leaves a matrix unchanged. */
    const float eye[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    float same[6];
    nn_matmul_ref(same, a, eye, 2, 3, 3);
    ck_assert_int_eq(memcmp(same, a, sizeof same), 0);
}
END_TEST

/* ---- random numbers --------------------------------------------------- */

START_TEST(test_rng_reference_values)
{
    /* xoshiro256** from state {1, 2, 3, 4}: the authors' reference code gives
     * 11520, 0, 1509978240, 1215971899390074240. */
    nn_rng rng = {{1, 2, 3, 4}};
    ck_assert(nn_rng_next(&rng) == 11520u);
    ck_assert(nn_rng_next(&rng) == 0u);
    ck_assert(nn_rng_next(&rng) == 1509978240u);
    ck_assert(nn_rng_next(&rng) == 1215971899390074240u);

    /* splitmix64 from 0 gives e220a8397b1dcdaf, 6e789e6aa1b965f4, ... */
    nn_rng_seed(&rng, 0);
    ck_assert(rng.s[0] == 0xe220a8397b1dcdafu);
    ck_assert(rng.s[1] == 0x6e789e6aa1b965f4u);
    ck_assert(rng.s[2] == 0x06c45d188009454fu);
    ck_assert(rng.s[3] == 0xf88bb8a8724c81ecu);
    ck_assert(nn_rng_next(&rng) == 0x99ec5f36cb75f2b4u);
    ck_assert(nn_rng_next(&rng) == 0xbf6e1f784956452au);

    /* Seed 42, through uniform(): the top 24 bits over 2^24. */
    nn_rng_seed(&rng, 42);
    ck_assert(nn_rng_uniform(&rng) == (float)(0x15780b2e0c2ec716u >> 40) / 16777216.0f);
    ck_assert(nn_rng_uniform(&rng) == (float)(0x6104d9866d113a7eu >> 40) / 16777216.0f);
}
END_TEST

START_TEST(test_rng_same_seed_same_stream)
{
    nn_rng a, b;
    nn_rng_seed(&a, 12345);
    nn_rng_seed(&b, 12345);
    for (int i = 0; i < 1000; i++)
        ck_assert(nn_rng_next(&a) == nn_rng_next(&b));
    for (int i = 0; i < 100; i++) {
        ck_assert(nn_rng_uniform(&a) == nn_rng_uniform(&b));
        ck_assert(nn_rng_normal(&a) == nn_rng_normal(&b));
        ck_assert_uint_eq(nn_rng_below(&a, 17), nn_rng_below(&b, 17));
    }
    /* The state is plain data: a copy continues the same stream. */
    nn_rng c = a;
    for (int i = 0; i < 100; i++)
        ck_assert(nn_rng_next(&a) == nn_rng_next(&c));
}
END_TEST

START_TEST(test_rng_different_seeds_differ)
{
    /* Neighbouring seeds (the common case: --seed 1, --seed 2) must give
     * unrelated streams, not shifted copies. */
    enum { SEEDS = 8, DRAWS = 64 };
    uint64_t first[SEEDS][DRAWS];
    for (int s = 0; s < SEEDS; s++) {
        nn_rng rng;
        nn_rng_seed(&rng, (uint64_t)s);
        for (int i = 0; i < DRAWS; i++)
            first[s][i] = nn_rng_next(&rng);
    }
    for (int s = 0; s < SEEDS; s++)
        for (int t = s + 1; t < SEEDS; t++) {
            int same = 0;
            for (int i = 0; i < DRAWS; i++)
                for (int j = 0; j < DRAWS; j++)
                    same += first[s][i] == first[t][j];
            ck_assert_msg(same == 0, "seeds %d and %d share %d values", s, t, same);
        }
}
END_TEST

START_TEST(test_rng_uniform)
{
    enum { N = 100000 };
    nn_rng rng;
    nn_rng_seed(&rng, 3);
    double sum = 0, sumsq = 0;
    int below_tenth = 0;
    float lo = 1, hi = 0;
    for (int i = 0; i < N; i++) {
        float u = nn_rng_uniform(&rng);
        ck_assert_msg(u >= 0.0f && u < 1.0f, "draw %d: %.9g is outside [0,1)", i, (double)u);
        sum += u;
        sumsq += (double)u * u;
        below_tenth += u < 0.1f;
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
    }
    double mean = sum / N, var = sumsq / N - mean * mean;
    /* Standard error of the mean: sqrt(1/12 / 1e5) = 0.00091; 0.005 is 5.5 of them. */
    ck_assert_double_eq_tol(mean, 0.5, 0.005);
    /* Variance 1/12 = 0.0833; its standard error here is about 0.0002. */
    ck_assert_double_eq_tol(var, 1.0 / 12.0, 0.002);
    /* 10% below 0.1, standard error 0.00095. */
    ck_assert_double_eq_tol(below_tenth / (double)N, 0.1, 0.005);
    ck_assert_float_lt(lo, 0.001f);
    ck_assert_float_gt(hi, 0.999f);
}
END_TEST

/* The batch form draws the same stream and leaves the same state. */
START_TEST(test_rng_fill_uniform_matches_single_draws)
{
    enum { N = 1001 };
    nn_rng one, many;
    nn_rng_seed(&one, 11);
    nn_rng_seed(&many, 11);
    float *u = malloc(N * sizeof *u);
    nn_rng_fill_uniform(&many, u, N);
    for (int i = 0; i < N; i++) {
        float v = nn_rng_uniform(&one);
        ck_assert_msg(u[i] == v, "draw %d: %.9g against %.9g", i, (double)u[i], (double)v);
    }
    ck_assert_mem_eq(one.s, many.s, sizeof one.s);
    nn_rng_fill_uniform(&many, u, 0);
    ck_assert_mem_eq(one.s, many.s, sizeof one.s);
    free(u);
}
END_TEST

START_TEST(test_rng_seed_never_zero_state)
{
    /* An all-zero state is a fixed point of xoshiro: it returns 0 forever,
     * so seeding must never produce it. */
    nn_rng rng = {{0, 0, 0, 0}};
    ck_assert(nn_rng_next(&rng) == 0);
    ck_assert(nn_rng_next(&rng) == 0);
    for (uint64_t seed = 0; seed < 1000; seed++) {
        nn_rng_seed(&rng, seed);
        ck_assert(rng.s[0] | rng.s[1] | rng.s[2] | rng.s[3]);
    }
}
END_TEST

START_TEST(test_rng_normal)
{
    enum { N = 100000 };
    nn_rng rng;
    nn_rng_seed(&rng, 4);
    double sum = 0, sumsq = 0, sum4 = 0;
    int beyond2 = 0;
    for (int i = 0; i < N; i++) {
        double z = nn_rng_normal(&rng);
        ck_assert_msg(isfinite(z), "draw %d is not finite", i);
        sum += z;
        sumsq += z * z;
        sum4 += z * z * z * z;
        beyond2 += fabs(z) > 2.0;
    }
    double mean = sum / N, var = sumsq / N - mean * mean;
    /* Standard errors: mean 1/sqrt(1e5) = 0.0032, variance sqrt(2/1e5) =
     * 0.0045, fourth moment sqrt(96/1e5) = 0.031; tolerances are ~5x. */
    ck_assert_double_eq_tol(mean, 0.0, 0.016);
    ck_assert_double_eq_tol(var, 1.0, 0.025);
    ck_assert_double_eq_tol(sum4 / N, 3.0, 0.16);
    /* P(|z| > 2) = 0.0455, standard error 0.00066. */
    ck_assert_double_eq_tol(beyond2 / (double)N, 0.0455, 0.0035);
}
END_TEST

START_TEST(test_rng_below)
{
    enum { N = 100000, K = 10 };
    nn_rng rng;
    nn_rng_seed(&rng, 5);
    long counts[K] = {0};
    for (int i = 0; i < N; i++) {
        uint32_t r = nn_rng_below(&rng, K);
        ck_assert_uint_lt(r, K);
        counts[r]++;
    }
    /* Each bucket expects 10000 with standard deviation 95; allow 500. */
    double chi2 = 0;
    for (int k = 0; k < K; k++) {
        ck_assert_msg(labs(counts[k] - N / K) < 500, "bucket %d has %ld of %d", k, counts[k], N);
        chi2 += (double)(counts[k] - N / K) * (counts[k] - N / K) / (N / K);
    }
    /* 9 degrees of freedom: P(chi2 > 33.7) is 1e-4. */
    ck_assert_double_lt(chi2, 33.7);

    for (int i = 0; i < 1000; i++)
        ck_assert_uint_eq(nn_rng_below(&rng, 1), 0);
    /* Large n exercises the rejection step: the low 2^32 mod n values of a
     * draw are biased and must be refused, so 3e9 keeps the top third rare. */
    uint32_t big = 3000000000u;
    long upper = 0;
    for (int i = 0; i < N; i++) {
        uint32_t r = nn_rng_below(&rng, big);
        ck_assert_uint_lt(r, big);
        upper += r >= 2000000000u;
    }
    /* One third should land in [2e9, 3e9); standard error 0.0015. */
    ck_assert_double_eq_tol(upper / (double)N, 1.0 / 3.0, 0.008);
    for (int i = 0; i < 1000; i++)
        ck_assert_uint_lt(nn_rng_below(&rng, UINT32_MAX), UINT32_MAX);
}
END_TEST

START_TEST(test_rng_below_small_n_uniform)
{
    /* n = 3 does not divide 2^32; a modulo-biased version still passes,
     * but each of the three values must appear about equally. */
    enum { N = 90000 };
    nn_rng rng;
    nn_rng_seed(&rng, 6);
    long counts[3] = {0};
    for (int i = 0; i < N; i++)
        counts[nn_rng_below(&rng, 3)]++;
    for (int k = 0; k < 3; k++) /* 30000 each, standard deviation 141 */
        ck_assert_msg(labs(counts[k] - 30000) < 750, "value %d drawn %ld times", k, counts[k]);
}
END_TEST

START_TEST(test_rng_shuffle)
{
    enum { N = 1000 };
    size_t a[N], b[N];
    for (size_t i = 0; i < N; i++)
        a[i] = b[i] = i;
    nn_rng ra, rb;
    nn_rng_seed(&ra, 9);
    nn_rng_seed(&rb, 9);
    nn_rng_shuffle(&ra, a, N);
    nn_rng_shuffle(&rb, b, N);
    /* Deterministic for a seed. */
    ck_assert_int_eq(memcmp(a, b, sizeof a), 0);
    /* A permutation: every index exactly once. */
    int seen[N] = {0};
    int fixed = 0;
    for (size_t i = 0; i < N; i++) {
        ck_assert_uint_lt(a[i], N);
        seen[a[i]]++;
        fixed += a[i] == i;
    }
    for (size_t i = 0; i < N; i++)
        ck_assert_int_eq(seen[i], 1);
    /* Actually shuffled: a random permutation has about one fixed point. */
    ck_assert_int_lt(fixed, 10);

    /* A different seed gives a different order. */
    for (size_t i = 0; i < N; i++)
        b[i] = i;
    nn_rng_seed(&rb, 10);
    nn_rng_shuffle(&rb, b, N);
    ck_assert_int_ne(memcmp(a, b, sizeof a), 0);

    /* Shuffling zero or one element is a no-op. */
    size_t one = 42;
    nn_rng_shuffle(&ra, &one, 1);
    ck_assert_uint_eq(one, 42);
    nn_rng_shuffle(&ra, NULL, 0);
}
END_TEST

/* Every one of the 6 orders of 3 items appears about equally often, which
 * an off-by-one in Fisher-Yates (j in [0, i-1) or [0, n)) would break. */
START_TEST(test_rng_shuffle_unbiased)
{
    enum { N = 60000 };
    nn_rng rng;
    nn_rng_seed(&rng, 11);
    long counts[3][3][3] = {{{0}}};
    for (int r = 0; r < N; r++) {
        size_t x[3] = {0, 1, 2};
        nn_rng_shuffle(&rng, x, 3);
        counts[x[0]][x[1]][x[2]]++;
    }
    int orders = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 3; k++) {
                if (!counts[i][j][k])
                    continue;
                orders++;
                /* 10000 expected, standard deviation 91 */
                ck_assert_msg(labs(counts[i][j][k] - 10000) < 500, "order %d%d%d seen %ld times", i, j,
                              k, counts[i][j][k]);
            }
    ck_assert_int_eq(orders, 6);
}
END_TEST

/* ---- runner ----------------------------------------------------------- */

static Suite *tensor_suite(void)
{
    Suite *suite = suite_create("tensor");

    TCase *shapes = tcase_create("shapes");
    tcase_add_test(shapes, test_shape_size);
    tcase_add_test(shapes, test_shape_size_overflow);
    tcase_add_test(shapes, test_tensor_new_free);
    tcase_add_test(shapes, test_tensor_new_rejects);
    tcase_add_test(shapes, test_shape_format);
    suite_add_tcase(suite, shapes);

    TCase *kernels = tcase_create("kernels");
    tcase_add_test(kernels, test_vec_fill_axpy);
    tcase_add_test(kernels, test_vec_sumsq_small);
    tcase_add_test(kernels, test_vec_sumsq_long);
    tcase_add_test(kernels, test_vec_argmax);
    tcase_add_test(kernels, test_vec_first_nonfinite);
    tcase_add_test(kernels, test_matmul_ref);
    suite_add_tcase(suite, kernels);

    TCase *rng = tcase_create("rng");
    tcase_add_test(rng, test_rng_reference_values);
    tcase_add_test(rng, test_rng_same_seed_same_stream);
    tcase_add_test(rng, test_rng_different_seeds_differ);
    tcase_add_test(rng, test_rng_uniform);
    tcase_add_test(rng, test_rng_fill_uniform_matches_single_draws);
    tcase_add_test(rng, test_rng_seed_never_zero_state);
    tcase_add_test(rng, test_rng_normal);
    tcase_add_test(rng, test_rng_below);
    tcase_add_test(rng, test_rng_below_small_n_uniform);
    tcase_add_test(rng, test_rng_shuffle);
    tcase_add_test(rng, test_rng_shuffle_unbiased);
    suite_add_tcase(suite, rng);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(tensor_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
