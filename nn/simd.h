/* Hand-vectorised kernels: x86-64 with AVX2 and FMA, compiled for those
 * instructions function by function and chosen at run time, so that one
 * binary runs on any x86-64 CPU.  Elsewhere callers take their plain C
 * path. */
#ifndef NN_SIMD_H
#define NN_SIMD_H

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define NN_X86_KERNELS 1
#define NN_AVX2 __attribute__((target("avx2,fma")))

static inline int nn_cpu_has_avx2(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
#define NN_X86_KERNELS 0

static inline int nn_cpu_has_avx2(void)
{
    return 0;
}
#endif

#endif
