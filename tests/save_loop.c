/* A helper for tests/e2e/faults.sh: saves model files in a loop, to be
 * killed at random moments, and checks what the kill left behind.
 *
 *   save_loop loop PATH     saves state A, then state B, then A... to PATH
 *                           until killed; prints "saved" once PATH exists
 *   save_loop check PATH    loads PATH and prints "A" or "B" when it is
 *                           exactly one of the two states (status 0), else
 *                           says what is wrong (status 1)
 *
 * A and B are a tiny model's training state before and after one step, so
 * they differ in every weight, the optimiser's moments, the random streams
 * and the position. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "trainer.h"

static const char spec_text[] =
    "input 1x4x4\n"
    "dense 6\n"
    "relu\n"
    "dense 3\n"
    "softmax_xent\n"
    "train optimizer=adam lr=0.01 batch=4 epochs=2 seed=7\n";

static void make_dataset(nn_dataset *ds, size_t count)
{
    ds->count = count;
    ds->rows = ds->cols = 4;
    ds->classes = 3;
    ds->images = malloc(count * 16);
    ds->labels = malloc(count);
    if (!ds->images || !ds->labels)
        exit(1);
    for (size_t s = 0; s < count; s++) {
        ds->labels[s] = (uint8_t)(s % 3);
        for (int i = 0; i < 16; i++)
            ds->images[s * 16 + i] = (uint8_t)((i % 3 == (int)(s % 3) ? 200 : 20) + (s * 13 + (size_t)i * 5) % 40);
    }
}

static void die(const nn_error *err)
{
    fprintf(stderr, "save_loop: %s\n", err->msg);
    exit(1);
}

/* 1 if ck holds exactly t's weights and position. */
static int same_state(const nn_checkpoint *ck, nn_trainer *t)
{
    if (ck->step != t->step || ck->n_tensors != t->graph.n_param_tensors)
        return 0;
    for (int i = 0; i < ck->n_tensors; i++) {
        const nn_node *node = nn_graph_param_node(&t->graph, i);
        const float *value = t->graph.params + node->param_offset;
        if (ck->tensors[i].size != node->size ||
            memcmp(ck->tensors[i].value, value, node->size * sizeof *value) != 0)
            return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "loop") != 0 && strcmp(argv[1], "check") != 0)) {
        fprintf(stderr, "usage: save_loop loop|check PATH\n");
        return 2;
    }
    const char *path = argv[2];
    nn_set_threads(1);
    nn_error err;
    nn_spec spec;
    if (nn_spec_parse(&spec, spec_text, "save_loop.spec", &err))
        die(&err);
    nn_dataset train;
    make_dataset(&train, 24);
    nn_trainer a, b;
    if (nn_trainer_init(&a, &spec, &spec.hp, &train, &err) || nn_trainer_init(&b, &spec, &spec.hp, &train, &err))
        die(&err);
    nn_step_info info;
    nn_trainer_step(&b, &info);

    if (strcmp(argv[1], "check") == 0) {
        nn_checkpoint ck;
        if (nn_checkpoint_load(&ck, path, &err))
            die(&err);
        const char *which = same_state(&ck, &a) ? "A" : same_state(&ck, &b) ? "B" : NULL;
        nn_checkpoint_free(&ck);
        if (!which) {
            fprintf(stderr, "save_loop: %s loads but is neither state A nor state B\n", path);
            return 1;
        }
        printf("%s\n", which);
        return 0;
    }
    for (long i = 0;; i++) {
        if (nn_checkpoint_save(i % 2 ? &b : &a, &spec, path, &err))
            die(&err);
        if (i == 0) {
            printf("saved\n");
            fflush(stdout);
        }
    }
}
