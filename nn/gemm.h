/* Matrix products over the two threads.
 *
 * OpenBLAS runs single-threaded; nn_parallel_for's helper is the only other
 * thread.  A second pool of OpenBLAS workers, spinning between products
 * beside a helper spinning between elementwise loops, would put three busy
 * threads on two cores.  A product is split here into two halves of C, each
 * an ordinary single-threaded cblas_sgemm; K is never split, so every
 * element of C is summed in the same order however many threads run. */
#ifndef NN_GEMM_H
#define NN_GEMM_H

/* C[m,n] = op(A)[m,k] op(B)[k,n] + beta C, row-major, as cblas_sgemm with
 * alpha 1: A is stored [k,m] when trans_a, B [n,k] when trans_b. */
typedef struct nn_sgemm_args {
    int trans_a, trans_b;
    int m, n, k;
    const float *a;
    int lda;
    const float *b;
    int ldb;
    float beta;
    float *c;
    int ldc;
} nn_sgemm_args;

/* One product, split in two along m or n when it is large enough. */
void nn_sgemm(const nn_sgemm_args *g);
/* Two independent products at once, one per thread (each whole). */
void nn_sgemm_pair(const nn_sgemm_args *g1, const nn_sgemm_args *g2);

#endif
