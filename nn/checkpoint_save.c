/* Writing model files: the trainer's state is encoded into memory section by
 * section, then written to a temporary file beside the target, flushed to
 * disk and renamed over it, so a crash or a full disk never leaves a
 * half-written model where a good one was. */
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


#include "bytes.h"
#include "checkpoint_format.h"
#include "nnlab_config.h"

/* Start a section; returns where its length goes, patched by section_end. */
static size_t section_begin(nn_bytes *b, const char *tag)
{
    nn_bytes_put(b, tag, 4);
    size_t at = b->len;
    nn_bytes_put_u64(b, 0);
    return at;
}

static void section_end(nn_bytes *b, size_t at)
{
    nn_bytes_patch_u64(b, at, b->len - at - 8);
}

static const nn_node *param_node(const nn_graph *g, int i)
{
    return &g->nodes[g->param_nodes[i]];
}

static void put_params(nn_bytes *b, const nn_graph *g)
{
    size_t at = section_begin(b, NN_CKPT_PARM);
    nn_bytes_put_u32(b, (uint32_t)g->n_param_tensors);
    for (int i = 0; i < g->n_param_tensors; i++) {
        const nn_node *p = param_node(g, i);
        nn_bytes_put_string(b, p->name);
        nn_bytes_put_u32(b, (uint32_t)p->ndim);
        for (int d = 0; d < p->ndim; d++)
            nn_bytes_put_u32(b, (uint32_t)p->dim[d]);
        nn_bytes_put_floats(b, p->value, p->size);
    }
    section_end(b, at);
}

/* A moment buffer the optimiser does not use (SGD's, momentum's second)
 * stays zero and is left out of the file. */
static int any_nonzero(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (x[i] != 0.0f)
            return 1;
    return 0;
}

static void put_optimiser(nn_bytes *b, const nn_trainer *t)
{
    const nn_graph *g = &t->graph;
    size_t at = section_begin(b, NN_CKPT_OPTM);
    nn_bytes_put_u64(b, (uint64_t)t->optim.t);
    nn_bytes_put_u32(b, (uint32_t)g->n_param_tensors);
    for (int i = 0; i < g->n_param_tensors; i++) {
        const nn_node *p = param_node(g, i);
        const float *m = t->optim.m + p->param_offset, *v = t->optim.v + p->param_offset;
        int flags = any_nonzero(m, p->size) | any_nonzero(v, p->size) << 1;
        nn_bytes_put_string(b, p->name);
        nn_bytes_put_u64(b, p->size);
        nn_bytes_put(b, &(unsigned char){(unsigned char)flags}, 1);
        if (flags & 1)
            nn_bytes_put_floats(b, m, p->size);
        if (flags & 2)
            nn_bytes_put_floats(b, v, p->size);
    }
    section_end(b, at);
}

static void put_rngs(nn_bytes *b, const nn_trainer *t)
{
    size_t at = section_begin(b, NN_CKPT_RNGS);
    nn_bytes_put_u32(b, NN_CKPT_STREAMS);
    for (int i = 0; i < NN_CKPT_STREAMS; i++) {
        const nn_rng *rng = (const nn_rng *)((const char *)t + nn_checkpoint_streams[i].offset);
        nn_bytes_put_string(b, nn_checkpoint_streams[i].name);
        for (int k = 0; k < 4; k++)
            nn_bytes_put_u64(b, rng->s[k]);
    }
    section_end(b, at);
}

static void put_position(nn_bytes *b, const nn_trainer *t)
{
    size_t at = section_begin(b, NN_CKPT_TRAN);
    nn_bytes_put_u32(b, (uint32_t)t->epoch);
    nn_bytes_put_u64(b, (uint64_t)t->step);
    nn_bytes_put_u64(b, t->pos);
    nn_bytes_put_u64(b, t->train->count);
    for (size_t i = 0; i < t->train->count; i++)
        nn_bytes_put_u32(b, (uint32_t)t->order[i]);
    nn_bytes_put_f64(b, t->epoch_loss);
    nn_bytes_put_u64(b, (uint64_t)t->epoch_seen);
    nn_bytes_put_u64(b, (uint64_t)t->epoch_correct);
    nn_bytes_put_f64(b, t->train_seconds);
    section_end(b, at);
}

/* Metadata entries, counted as they are written. */
typedef struct meta_writer {
    nn_bytes *b;
    size_t count_at;
    uint32_t count;
} meta_writer;

static void put_meta_text(meta_writer *m, const char *key, const char *value)
{
    nn_bytes_put_string(m->b, key);
    nn_bytes_put_string(m->b, value);
    nn_bytes_patch_u32(m->b, m->count_at, ++m->count);
}

static void put_meta_number(meta_writer *m, const char *key, double value)
{
    char text[40];
    snprintf(text, sizeof text, "%.17g", value);
    put_meta_text(m, key, text);
}

/* "mlp" for assets/models/mlp.spec. */
static void model_name(const char *source, char *out, size_t len)
{
    const char *base = strrchr(source, '/');
    base = base ? base + 1 : source;
    size_t n = strlen(base);
    if (n > 5 && !strcmp(base + n - 5, ".spec"))
        n -= 5;
    snprintf(out, len, "%.*s", (int)n, base);
}

static void put_meta(nn_bytes *b, const nn_trainer *t, const nn_spec *spec)
{
    char created[32], model[128];
    time_t now = time(NULL);
    struct tm utc;
    gmtime_r(&now, &utc);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &utc);
    model_name(spec->source, model, sizeof model);
    const nn_epoch_record *last = t->n_history ? &t->history[t->n_history - 1] : NULL;

    size_t at = section_begin(b, NN_CKPT_META);
    meta_writer m = {b, b->len, 0};
    nn_bytes_put_u32(b, 0);
    put_meta_text(&m, "nnlab_version", NNLAB_VERSION);
    put_meta_text(&m, "created", created);
    put_meta_text(&m, "model", model);
    put_meta_text(&m, "spec", spec->source);
    put_meta_text(&m, "dataset", t->dataset);
    put_meta_number(&m, "train_count", (double)t->train->count);
    put_meta_number(&m, "test_count", (double)t->test_count);
    put_meta_number(&m, "epochs_done", t->n_history);
    put_meta_number(&m, "params", (double)t->graph.param_count);
    put_meta_number(&m, "samples_per_sec", nn_trainer_samples_per_sec(t));
    put_meta_number(&m, "train_seconds", t->train_seconds);
    if (last) {
        put_meta_number(&m, "test_loss", last->test_loss);
        put_meta_number(&m, "test_accuracy", last->test_accuracy);
    }
    section_end(b, at);
}

static void put_history(nn_bytes *b, const nn_trainer *t)
{
    size_t at = section_begin(b, NN_CKPT_HIST);
    nn_bytes_put_u32(b, (uint32_t)t->n_history);
    for (int e = 0; e < t->n_history; e++) {
        const nn_epoch_record *r = &t->history[e];
        nn_bytes_put_f64(b, r->train_loss);
        nn_bytes_put_f64(b, r->train_accuracy);
        nn_bytes_put_f64(b, r->test_loss);
        nn_bytes_put_f64(b, r->test_accuracy);
        nn_bytes_put_f64(b, r->seconds);
    }
    section_end(b, at);
}

static void encode(nn_bytes *b, const nn_trainer *t, const nn_spec *spec)
{
    nn_bytes_put(b, NN_CKPT_MAGIC, NN_CKPT_MAGIC_LEN);
    nn_bytes_put_u16(b, NN_CHECKPOINT_MAJOR);
    nn_bytes_put_u16(b, NN_CKPT_MINOR_PLAIN); /* no TENS or QACT: readable by any 1.x */

    size_t at = section_begin(b, NN_CKPT_SPEC);
    nn_bytes_put(b, spec->text, strlen(spec->text));
    section_end(b, at);

    char hp[1024];
    nn_hparams_format(&t->hp, hp, sizeof hp);
    at = section_begin(b, NN_CKPT_HPAR);
    nn_bytes_put(b, hp, strlen(hp));
    section_end(b, at);

    put_params(b, &t->graph);
    put_optimiser(b, t);
    put_rngs(b, t);
    put_position(b, t);
    put_meta(b, t, spec);
    put_history(b, t);

    nn_bytes_put(b, NN_CKPT_END, 4);
    nn_bytes_put_u64(b, 4);
    if (!b->failed)
        nn_bytes_put_u32(b, nn_checkpoint_crc(b->data, b->len));
}

/* Write all of data to f, then flush it to the disk. */
static int write_and_sync(FILE *f, const unsigned char *data, size_t n)
{
    if (fwrite(data, 1, n, f) != n || fflush(f) != 0)
        return -1;
    return fsync(fileno(f)) != 0 && errno != EINVAL ? -1 : 0;
}

/* A device or a pipe (/dev/stdout, /dev/full) is written in place: it
 * cannot be replaced by renaming, and must not be. */
static int save_in_place(const char *path, const unsigned char *data, size_t n, nn_error *err)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return nn_error_set(err, NN_ERUNTIME, "%s: cannot save the model: %s", path, strerror(errno));
    int rc = write_and_sync(f, data, n);
    int saved = errno;
    if (fclose(f) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc)
        return nn_error_set(err, NN_ERUNTIME, "%s: cannot save the model: %s", path, strerror(saved));
    return NN_OK;
}

/* Make the rename itself durable; a file system that cannot sync a
 * directory still has the new file, so failures here are not reported. */
static void sync_directory(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int nn_checkpoint_write_file(const char *path, const unsigned char *data, size_t n, nn_error *err)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return save_in_place(path, data, n, err);
    char tmp[4200];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp)
        return nn_error_set(err, NN_EINPUT, "%s: path too long", path);
    unlink(tmp); /* a leftover of an earlier process with the same id */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
    if (fd < 0)
        return nn_error_set(err, NN_ERUNTIME, "%s: cannot save the model: cannot create %s: %s", path, tmp,
                            strerror(errno));
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        int saved = errno;
        close(fd);
        unlink(tmp);
        return nn_error_set(err, NN_ERUNTIME, "%s: cannot save the model: %s", path, strerror(saved));
    }
    int rc = write_and_sync(f, data, n);
    int saved = errno;
    if (fclose(f) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = -1;
        saved = errno;
    }
    if (rc) {
        unlink(tmp);
        return nn_error_set(err, NN_ERUNTIME, "%s: cannot save the model: writing %s: %s", path, tmp,
                            strerror(saved));
    }
    sync_directory(path);
    return NN_OK;
}

int nn_checkpoint_save(const nn_trainer *t, const nn_spec *spec, const char *path, nn_error *err)
{
    if (!spec->text)
        return nn_error_set(err, NN_EINPUT, "%s: the spec has no text to store", path);
    nn_bytes b = {0};
    encode(&b, t, spec);
    if (b.failed) {
        nn_bytes_free(&b);
        return nn_error_set(err, NN_ERUNTIME, "%s: out of memory encoding the model", path);
    }
    int rc = nn_checkpoint_write_file(path, b.data, b.len, err);
    nn_bytes_free(&b);
    return rc;
}
