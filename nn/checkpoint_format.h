/* The layout of a model file, shared by the writer and the reader.
 *
 *   offset  size  field
 *   0       8     magic "NNLAB\0MF"
 *   8       2     major format version (u16): a reader rejects a newer one
 *   10      2     minor format version (u16): newer minors only add sections
 *                 or append fields at the end of a section, which a reader skips
 *   12      ...   sections: tag (4 ASCII bytes), payload length (u64), payload
 *
 *   SPEC  the spec text (UTF-8, no NUL)
 *   HPAR  the hyperparameters as "key=value ..." text (nn_hparams_format)
 *   PARM  u32 count; per tensor: name, u32 ndim, u32 dim[ndim], f32 value[]
 *   OPTM  u64 step count t; u32 count; per tensor: name, u64 n, u8 flags,
 *         f32 m[n] if flags & 1, f32 v[n] if flags & 2 (a moment left out is zero)
 *   RNGS  u32 count; per stream: name, u64 state[4]
 *   TRAN  u32 epoch, u64 step, u64 pos, u64 train count n, u32 order[n],
 *         f64 epoch loss sum, u64 epoch samples, u64 epoch correct, f64 train seconds
 *   META  u32 count; per entry: key, value (text; unknown keys are ignored)
 *   HIST  u32 count; per epoch: f64 train loss, train accuracy, test loss,
 *         test accuracy, seconds
 *   END   u32 CRC-32 (zlib's) of every byte of the file before it; the last section
 *
 * Added in 1.1, for pruned and quantised models (a file that needs neither
 * is still written as 1.0):
 *
 *   TENS  the parameters, in place of PARM, each tensor in its own encoding:
 *         u32 count; per tensor: name, u32 ndim, u32 dim[ndim], u8 encoding, then
 *           0 dense:  f32 value[size]
 *           1 sparse: u8 bitmap[(size + 7) / 8] (bit i % 8 of byte i / 8 set
 *                     where value i is stored), u64 n, f32 value[n] in order;
 *                     the others are zero
 *           2 int8:   u32 rows, f32 scale[rows], i8 q[size] (-127..127); value
 *                     i is q[i] * scale[i / (size / rows)]
 *   QACT  the input scale of every int8 tensor's layer: u32 count; per
 *         layer: the weight tensor's name, f32 scale (> 0)
 *
 * Every integer and float is little-endian; a name or text field inside a
 * section is a u32 length and the bytes.  SPEC, HPAR, PARM (or TENS) and END
 * are required, the others optional (a file without OPTM, RNGS and TRAN can be
 * evaluated but not resumed); each appears at most once. */
#ifndef NN_CHECKPOINT_FORMAT_H
#define NN_CHECKPOINT_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include <zlib.h>

#include "checkpoint.h"
#include "trainer.h"

#define NN_CKPT_MAGIC "NNLAB\0MF"
#define NN_CKPT_MAGIC_LEN 8
#define NN_CKPT_HEADER_LEN 12
#define NN_CKPT_SECTION_HEADER_LEN 12 /* tag and length */

#define NN_CKPT_SPEC "SPEC"
#define NN_CKPT_HPAR "HPAR"
#define NN_CKPT_PARM "PARM"
#define NN_CKPT_OPTM "OPTM"
#define NN_CKPT_RNGS "RNGS"
#define NN_CKPT_TRAN "TRAN"
#define NN_CKPT_META "META"
#define NN_CKPT_HIST "HIST"
#define NN_CKPT_END "END "
#define NN_CKPT_TENS "TENS"
#define NN_CKPT_QACT "QACT"

/* The minor version of a file without TENS and QACT. */
#define NN_CKPT_MINOR_PLAIN 0

/* Bounds a reader enforces before trusting a count. */
#define NN_CKPT_MAX_TEXT (1u << 20)   /* spec and hyperparameter text */
#define NN_CKPT_MAX_META 256          /* metadata entries */

/* The trainer's random streams and the names files give them.  A stream
 * added here is simply missing from older files, and keeps its seeding. */
static const struct {
    const char *name;
    size_t offset; /* of its nn_rng in nn_trainer */
} nn_checkpoint_streams[] = {
    {"shuffle", offsetof(nn_trainer, shuffle_rng)},
    {"augment", offsetof(nn_trainer, augment_rng)},
    {"dropout", offsetof(nn_trainer, graph.rng)},
    {"noise", offsetof(nn_trainer, graph.noise_rng)}, /* the VAE's latent samples */
};
#define NN_CKPT_STREAMS ((int)(sizeof nn_checkpoint_streams / sizeof nn_checkpoint_streams[0]))

/* Encoding and decoding TENS and QACT (checkpoint_tensors.c). */
struct nn_bytes;
struct nn_bytes_reader;
int nn_checkpoint_read_tensors(struct nn_bytes_reader *r, nn_checkpoint *ck);
int nn_checkpoint_read_scales(struct nn_bytes_reader *r, nn_checkpoint *ck);
/* A parameter's dimension count and dimensions, checked, into p (PARM and TENS). */
int nn_checkpoint_read_shape(struct nn_bytes_reader *r, nn_checkpoint_tensor *p);
/* Write data to path through a temporary file, flushed and renamed. */
int nn_checkpoint_write_file(const char *path, const unsigned char *data, size_t n, nn_error *err);
/* NN_OK when ck's tensors have the names and shapes of g's parameters, in
 * order; g may be only planned (nn_model_plan), not yet finalised. */
int nn_checkpoint_check_fit(const nn_checkpoint *ck, const nn_graph *g, nn_error *err);

/* zlib's CRC-32 of n bytes, in pieces that fit its length type. */
static inline uint32_t nn_checkpoint_crc(const unsigned char *data, size_t n)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    while (n > 0) {
        uInt piece = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = crc32(crc, data, piece);
        data += piece;
        n -= piece;
    }
    return (uint32_t)crc;
}

#endif
