/* A small seeded random number generator (xoshiro256**, seeded by splitmix64).
 *
 * Every random choice nnlab makes (initial weights, shuffling, dropout masks,
 * augmentation) draws from an nn_rng so that one seed reproduces a whole run,
 * and the state is plain data so checkpoints can store it. */
#ifndef NN_RNG_H
#define NN_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct nn_rng {
    uint64_t s[4];
} nn_rng;

/* Seed the generator; distinct seeds give independent-looking streams. */
void nn_rng_seed(nn_rng *rng, uint64_t seed);
/* Next 64 random bits. */
uint64_t nn_rng_next(nn_rng *rng);
/* Uniform float in [0, 1). */
float nn_rng_uniform(nn_rng *rng);
/* n of them, the same values as n calls of nn_rng_uniform. */
void nn_rng_fill_uniform(nn_rng *rng, float *out, size_t n);
/* Standard normal float (Box-Muller). */
float nn_rng_normal(nn_rng *rng);
/* Uniform integer in [0, n), without modulo bias; n > 0. */
uint32_t nn_rng_below(nn_rng *rng, uint32_t n);
/* Fisher-Yates shuffle of n indices. */
void nn_rng_shuffle(nn_rng *rng, size_t *index, size_t n);

#endif
