/* Model files (SPEC §8): binary, little-endian, versioned, CRC-32 checked.
 *
 * A file holds the spec text, the hyperparameters, every parameter tensor
 * with its shape, the optimiser state, every random stream and the training
 * position, so that resuming continues exactly; and training metadata for
 * `nnlab info`.  Files are written to a temporary name, flushed and renamed,
 * so a crash leaves either the old file or the new one.  The layout is
 * described in checkpoint_format.h.
 *
 * Reading checks every field against the bytes that are really there and
 * rejects a truncated or corrupted file, an unknown major version, or
 * parameters that do not fit the stored spec, with NN_EINPUT and a message
 * naming the file and the offset. */
#ifndef NN_CHECKPOINT_H
#define NN_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "graph.h"
#include "rng.h"
#include "spec.h"
#include "trainer.h"

/* The newest format version this nnlab writes; it reads any 1.x. */
#define NN_CHECKPOINT_MAJOR 1
#define NN_CHECKPOINT_MINOR 1

/* How a parameter tensor is stored (format 1.1 adds the last two). */
enum nn_tensor_encoding {
    NN_TENSOR_DENSE,    /* every value as a float */
    NN_TENSOR_SPARSE,   /* the nonzero values and a bitmap of where they are */
    NN_TENSOR_INT8      /* int8 values with a symmetric scale per output row */
};

struct nn_quant;

/* One parameter tensor as stored, with its optimiser moments. */
typedef struct nn_checkpoint_tensor {
    char name[NN_NAME_LEN];     /* "dense1.weight" */
    int ndim;
    int dim[NN_MAX_DIMS];
    size_t size;                /* elements */
    float *value;               /* size floats */
    float *m, *v;               /* optimiser moments (size floats each), NULL when all zero */
    int encoding;               /* enum nn_tensor_encoding, as stored; value holds the floats either way */
    int rows;                   /* int8: rows, their scales and the int8 values */
    float *scales;
    int8_t *q;
    float x_scale;              /* int8: the layer's input scale */
} nn_checkpoint_tensor;

#define NN_CHECKPOINT_MAX_RNGS 8

/* One named random stream ("shuffle", "augment", "dropout"). */
typedef struct nn_checkpoint_rng {
    char name[16];
    nn_rng state;
} nn_checkpoint_rng;

/* A model file read into memory. */
typedef struct nn_checkpoint {
    char path[512];
    unsigned major, minor;      /* format version of the file */
    size_t file_size;
    nn_spec spec;               /* the stored spec, parsed (spec.text is the text) */
    nn_hparams hp;              /* the trainer's hyperparameters when it was saved */
    int n_tensors;
    nn_checkpoint_tensor *tensors;
    int has_optim;              /* the moments and step count below are present */
    long optim_t;
    int n_rngs;
    nn_checkpoint_rng rngs[NN_CHECKPOINT_MAX_RNGS];
    /* the training position, if has_position */
    int has_position;
    int epoch;                  /* 0-based epoch in progress */
    long step;                  /* steps done */
    size_t pos;                 /* next position in order */
    size_t train_count;         /* training images the run used */
    size_t *order;              /* the current epoch's sample order */
    double epoch_loss;          /* the current epoch's running sums */
    long epoch_seen, epoch_correct;
    double train_seconds;
    /* metadata (empty or zero when the file does not say) */
    char version[32];           /* nnlab version that wrote the file */
    char created[32];           /* UTC, ISO 8601 */
    char model[128];            /* preset name or spec file base name */
    char spec_source[256];      /* spec file the run was built from */
    char dataset[512];          /* data directory */
    size_t test_count;
    double test_loss, test_accuracy, samples_per_sec;
    nn_epoch_record *history;   /* n_history finished epochs */
    int n_history;
    char weights[64];           /* how the weights were reduced ("pruned to 90.0% sparsity", "int8") */
    int quantised;              /* int8 tensors: run it with nn_checkpoint_quant */
} nn_checkpoint;

/* Write the trainer's whole state (and the spec it was built from) to path. */
int nn_checkpoint_save(const nn_trainer *t, const nn_spec *spec, const char *path, nn_error *err);
/* Read and check the model file at path into ck (freed with nn_checkpoint_free). */
int nn_checkpoint_load(nn_checkpoint *ck, const char *path, nn_error *err);
/* The same from the file's bytes in memory; path names it in messages. */
int nn_checkpoint_load_memory(nn_checkpoint *ck, const unsigned char *data, size_t size, const char *path,
                              nn_error *err);
void nn_checkpoint_free(nn_checkpoint *ck);
/* 1 if path starts as a model file does (its magic), 0 if not or unreadable. */
int nn_checkpoint_is_file(const char *path);
/* Copy the stored parameters into g, built from the same spec; a tensor
 * count, name or shape that differs gives NN_EINPUT naming the tensor. */
int nn_checkpoint_apply(const nn_checkpoint *ck, nn_graph *g, nn_error *err);
/* Build the stored model for batches of up to max_batch, with its weights
 * (and, for a quantised model, its int8 layers attached). */
int nn_checkpoint_build(const nn_checkpoint *ck, nn_graph *g, int max_batch, nn_error *err);
/* Read path and build its model for inference: spec and g belong to the caller. */
int nn_checkpoint_load_model(const char *path, nn_spec *spec, nn_graph *g, int max_batch, nn_error *err);
/* Make t a trainer that continues ck's run exactly on train (the same
 * training set), with hp (NULL: the stored ones; a caller may change lr,
 * epochs...): weights, optimiser, random streams, position and history. */
int nn_checkpoint_resume(nn_trainer *t, const nn_checkpoint *ck, const nn_hparams *hp, const nn_dataset *train,
                         nn_error *err);
/* The same, with the graph built for batches of up to max_batch (see
 * nn_trainer_init_max). */
int nn_checkpoint_resume_max(nn_trainer *t, const nn_checkpoint *ck, const nn_hparams *hp, const nn_dataset *train,
                             int max_batch, nn_error *err);

/* An inference model file: the spec, hyperparameters, metadata and
 * history, and the weights of g, with no optimiser or position state
 * (such a file is evaluated, or fine-tuned from its weights, not resumed). */
typedef struct nn_export {
    int encoding;               /* NN_TENSOR_SPARSE: tensors with zeros stored sparsely when
                                   that is smaller; NN_TENSOR_INT8: quant's layers as int8 */
    struct nn_quant *quant;     /* the int8 layers (NN_TENSOR_INT8) */
    const char *weights;        /* metadata: how the weights were reduced */
    const nn_checkpoint *from;  /* model name, data set and history to keep (may be NULL) */
    double test_loss, test_accuracy; /* of the model as written (NaN: unknown) */
    size_t test_count;
} nn_export;

/* Write it to path (NULL: write nothing); *bytes (may be NULL) gets the file's size. */
int nn_checkpoint_export(const nn_graph *g, const nn_spec *spec, const nn_hparams *hp, const nn_export *how,
                         const char *path, size_t *bytes, nn_error *err);
/* Set up q to run ck's int8 layers on g, built from ck (nn_checkpoint_build). */
int nn_checkpoint_quant(const nn_checkpoint *ck, const nn_graph *g, struct nn_quant *q, nn_error *err);
/* For a quantised ck, attach its int8 layers to g (built from ck's spec),
 * so that every forward pass of g runs them; nothing for a float model.
 * nn_checkpoint_build does this itself. */
int nn_checkpoint_attach_quant(const nn_checkpoint *ck, nn_graph *g, nn_error *err);

#endif
