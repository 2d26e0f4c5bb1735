/* Model files (SPEC §8): binary, little-endian, versioned, CRC-32 checked.
 *
 * A file holds the spec text, the hyperparameters, every parameter tensor
 * with its shape, the optimiser state, every random stream and the training
 * position, so that resuming continues exactly; and training metadata for
 * `nnlab info`.  Files are written to a temporary name, flushed and renamed,
 * so a crash leaves either the old file or the new one. */
#ifndef NN_CHECKPOINT_H
#define NN_CHECKPOINT_H

#include "error.h"
#include "spec.h"
#include "trainer.h"

/* Write the trainer's whole state (and the spec it was built from) to path. */
int nn_checkpoint_save(const nn_trainer *t, const nn_spec *spec, const char *path, nn_error *err);

#endif
