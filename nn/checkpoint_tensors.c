/* Model files of reduced models (format 1.1): parameters stored sparsely
 * after pruning or as int8 after quantisation (section TENS), the int8
 * layers' input scales (QACT), and writing such inference files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bytes.h"
#include "checkpoint.h"
#include "checkpoint_format.h"
#include "nnlab_config.h"
#include "quant.h"

/* ---- reading ------------------------------------------------------------- */

int nn_checkpoint_read_shape(nn_bytes_reader *r, nn_checkpoint_tensor *p)
{
    char what[80];
    snprintf(what, sizeof what, "the shape of parameter %s", p->name);
    size_t at = r->pos;
    uint32_t ndim = nn_bytes_get_u32(r, what);
    if (!r->failed && (ndim < 1 || ndim > NN_MAX_DIMS)) {
        r->pos = at;
        return nn_bytes_fail(r, "parameter %s has %u dimensions (1..%d expected)", p->name, ndim, NN_MAX_DIMS);
    }
    p->ndim = (int)ndim;
    p->size = 1;
    for (int d = 0; d < p->ndim && !r->failed; d++) {
        at = r->pos;
        uint32_t dim = nn_bytes_get_u32(r, what);
        if (!r->failed && (dim < 1 || dim > 1u << 30 || p->size > SIZE_MAX / 4 / dim)) {
            r->pos = at;
            return nn_bytes_fail(r, "parameter %s: dimension %d is %u (1..%u expected)", p->name, d + 1, dim,
                                 1u << 30);
        }
        p->dim[d] = (int)dim;
        p->size *= dim;
    }
    return r->failed ? NN_EINPUT : NN_OK;
}

static int read_sparse(nn_bytes_reader *r, nn_checkpoint_tensor *p, const char *what)
{
    size_t bytes = (p->size + 7) / 8, at = r->pos;
    const unsigned char *bits = nn_bytes_get_span(r, bytes, what);
    if (!bits)
        return NN_EINPUT;
    size_t set = 0;
    for (size_t i = 0; i < p->size; i++)
        set += bits[i / 8] >> (i % 8) & 1;
    if (p->size % 8 && bits[bytes - 1] >> (p->size % 8)) {
        r->pos = at + bytes - 1;
        return nn_bytes_fail(r, "parameter %s: bitmap bits set past its %zu values", p->name, p->size);
    }
    at = r->pos;
    uint64_t n = nn_bytes_get_u64(r, what);
    if (!r->failed && n != set) {
        r->pos = at;
        return nn_bytes_fail(r, "parameter %s: %llu values stored, but the bitmap marks %zu", p->name,
                             (unsigned long long)n, set);
    }
    if (r->failed || nn_bytes_need(r, 4 * set, what))
        return NN_EINPUT;
    float *packed = malloc(4 * (set ? set : 1));
    if (!packed)
        return nn_error_set(r->err, NN_ERUNTIME, "%s: out of memory for parameter %s", r->path, p->name);
    nn_bytes_get_floats(r, packed, set, what);
    for (size_t i = 0, k = 0; i < p->size; i++)
        p->value[i] = bits[i / 8] >> (i % 8) & 1 ? packed[k++] : 0.0f;
    free(packed);
    return r->failed ? NN_EINPUT : NN_OK;
}

static int read_int8(nn_bytes_reader *r, nn_checkpoint_tensor *p, const char *what)
{
    size_t at = r->pos;
    uint32_t rows = nn_bytes_get_u32(r, what);
    if (!r->failed && (rows < 1 || p->size % rows)) {
        r->pos = at;
        return nn_bytes_fail(r, "parameter %s: %u rows do not divide its %zu values", p->name, rows, p->size);
    }
    if (r->failed || nn_bytes_need(r, 4 * (size_t)rows + p->size, what))
        return NN_EINPUT;
    p->rows = (int)rows;
    p->scales = malloc(4 * (size_t)rows);
    p->q = malloc(p->size);
    if (!p->scales || !p->q)
        return nn_error_set(r->err, NN_ERUNTIME, "%s: out of memory for parameter %s", r->path, p->name);
    at = r->pos;
    nn_bytes_get_floats(r, p->scales, rows, what);
    for (uint32_t k = 0; k < rows; k++)
        if (!(p->scales[k] >= 0) || !isfinite(p->scales[k])) {
            r->pos = at + 4 * k;
            return nn_bytes_fail(r, "parameter %s: row %u has scale %g (a finite number >= 0 expected)", p->name,
                                 k + 1, p->scales[k]);
        }
    at = r->pos;
    const unsigned char *q = nn_bytes_get_span(r, p->size, what);
    if (!q)
        return NN_EINPUT;
    memcpy(p->q, q, p->size);
    size_t per_row = p->size / rows;
    for (size_t i = 0; i < p->size; i++) {
        if (p->q[i] == -128) {
            r->pos = at + i;
            return nn_bytes_fail(r, "parameter %s: int8 value -128 (-127..127 expected)", p->name);
        }
        p->value[i] = (float)p->q[i] * p->scales[i / per_row];
    }
    return NN_OK;
}

int nn_checkpoint_read_tensors(nn_bytes_reader *r, nn_checkpoint *ck)
{
    uint32_t count = nn_bytes_get_u32(r, "parameter tensor count");
    if (r->failed || nn_bytes_need(r, 13 * (size_t)count, "parameter tensors"))
        return NN_EINPUT;
    ck->tensors = calloc(count ? count : 1, sizeof *ck->tensors);
    if (!ck->tensors)
        return nn_error_set(r->err, NN_ERUNTIME, "%s: out of memory", r->path);
    for (uint32_t i = 0; i < count; i++) {
        nn_checkpoint_tensor *p = &ck->tensors[i];
        char what[80];
        snprintf(what, sizeof what, "the name of parameter tensor %u", i + 1);
        if (nn_bytes_get_string(r, p->name, sizeof p->name, what))
            return NN_EINPUT;
        ck->n_tensors = (int)i + 1;
        if (nn_checkpoint_read_shape(r, p))
            return NN_EINPUT;
        snprintf(what, sizeof what, "parameter %s", p->name);
        size_t at = r->pos;
        const unsigned char *enc = nn_bytes_get_span(r, 1, what);
        if (!enc)
            return NN_EINPUT;
        if (*enc > NN_TENSOR_INT8) {
            r->pos = at;
            return nn_bytes_fail(r, "parameter %s: encoding %u (0 dense, 1 sparse or 2 int8 expected)", p->name, *enc);
        }
        p->encoding = *enc;
        /* The least each encoding can take (4 bytes a value, a bit, a byte)
         * must be in the file before the values are allocated, so a short
         * file cannot make the reader allocate for a shape it only claims. */
        size_t least = p->encoding == NN_TENSOR_DENSE    ? 4 * p->size
                       : p->encoding == NN_TENSOR_SPARSE ? (p->size + 7) / 8
                                                         : p->size;
        if (nn_bytes_need(r, least, what))
            return NN_EINPUT;
        p->value = malloc(4 * p->size);
        if (!p->value)
            return nn_error_set(r->err, NN_ERUNTIME, "%s: out of memory for parameter %s", r->path, p->name);
        int rc = p->encoding == NN_TENSOR_DENSE    ? nn_bytes_get_floats(r, p->value, p->size, what)
                 : p->encoding == NN_TENSOR_SPARSE ? read_sparse(r, p, what)
                                                   : read_int8(r, p, what);
        if (rc || r->failed)
            return NN_EINPUT;
        ck->quantised |= p->encoding == NN_TENSOR_INT8;
    }
    return NN_OK;
}

int nn_checkpoint_read_scales(nn_bytes_reader *r, nn_checkpoint *ck)
{
    size_t at = r->pos;
    uint32_t count = nn_bytes_get_u32(r, "input scale count");
    if (!r->failed && count > (uint32_t)ck->n_tensors) {
        r->pos = at;
        return nn_bytes_fail(r, "%u input scales for %d tensors", count, ck->n_tensors);
    }
    for (uint32_t i = 0; i < count && !r->failed; i++) {
        char name[NN_NAME_LEN];
        at = r->pos;
        if (nn_bytes_get_string(r, name, sizeof name, "input scale name"))
            return NN_EINPUT;
        nn_checkpoint_tensor *p = NULL;
        for (int k = 0; k < ck->n_tensors && !p; k++)
            if (!strcmp(ck->tensors[k].name, name))
                p = &ck->tensors[k];
        if (!p || p->encoding != NN_TENSOR_INT8) {
            r->pos = at;
            return nn_bytes_fail(r, "input scale for '%s', which is not an int8 tensor", name);
        }
        at = r->pos;
        float scale;
        nn_bytes_get_floats(r, &scale, 1, "input scale");
        if (!r->failed && !(scale > 0 && isfinite(scale))) {
            r->pos = at;
            return nn_bytes_fail(r, "input scale of %s is %g (a positive number expected)", name, scale);
        }
        p->x_scale = scale;
    }
    return r->failed ? NN_EINPUT : NN_OK;
}

int nn_checkpoint_quant(const nn_checkpoint *ck, const nn_graph *g, nn_quant *q, nn_error *err)
{
    if (!ck->quantised)
        return nn_error_set(err, NN_EINPUT, "%s: not a quantised model (no int8 tensors)", ck->path);
    int rc = nn_quant_begin(q, g, err);
    for (int i = 0; i < ck->n_tensors && !rc; i++) {
        const nn_checkpoint_tensor *p = &ck->tensors[i];
        if (p->encoding != NN_TENSOR_INT8)
            continue;
        if (nn_graph_param_node((nn_graph *)g, i)->dim[0] != p->rows)
            rc = nn_error_set(err, NN_EINPUT, "%s: int8 tensor %s has %d rows, its layer %d outputs", ck->path,
                              p->name, p->rows, nn_graph_param_node((nn_graph *)g, i)->dim[0]);
        else
            rc = nn_quant_add(q, g, i, p->q, p->scales, p->x_scale, err);
        if (rc && err && !strstr(err->msg, ck->path)) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            nn_error_set(err, rc, "%s: %s", ck->path, msg);
        }
    }
    if (!rc)
        rc = nn_quant_end(q, g, err);
    if (rc)
        nn_quant_free(q);
    return rc;
}

int nn_checkpoint_attach_quant(const nn_checkpoint *ck, nn_graph *g, nn_error *err)
{
    if (!ck->quantised)
        return NN_OK;
    nn_quant *q = malloc(sizeof *q);
    if (!q)
        return nn_error_set(err, NN_ERUNTIME, "%s: out of memory", ck->path);
    int rc = nn_checkpoint_quant(ck, g, q, err);
    if (rc) {
        free(q);
        return rc;
    }
    if (g->quant) {
        nn_quant_free(g->quant);
        free(g->quant);
    }
    g->quant = q;
    return NN_OK;
}

/* ---- writing -------------------------------------------------------------- */

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

static void put_text_section(nn_bytes *b, const char *tag, const char *text)
{
    size_t at = section_begin(b, tag);
    nn_bytes_put(b, text, strlen(text));
    section_end(b, at);
}

static void put_sparse(nn_bytes *b, const float *x, size_t n)
{
    size_t bytes = (n + 7) / 8, set = 0;
    unsigned char *bits = calloc(bytes ? bytes : 1, 1);
    if (!bits) {
        b->failed = 1;
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (x[i] != 0.0f) {
            bits[i / 8] |= (unsigned char)(1u << (i % 8));
            set++;
        }
    nn_bytes_put(b, bits, bytes);
    nn_bytes_put_u64(b, set);
    for (size_t i = 0; i < n; i++)
        if (x[i] != 0.0f)
            nn_bytes_put_floats(b, &x[i], 1);
    free(bits);
}

static void put_tensors(nn_bytes *b, const nn_graph *g, const nn_export *how)
{
    size_t at = section_begin(b, NN_CKPT_TENS);
    nn_bytes_put_u32(b, (uint32_t)g->n_param_tensors);
    for (int i = 0; i < g->n_param_tensors; i++) {
        const nn_node *p = &g->nodes[g->param_nodes[i]];
        nn_bytes_put_string(b, p->name);
        nn_bytes_put_u32(b, (uint32_t)p->ndim);
        for (int d = 0; d < p->ndim; d++)
            nn_bytes_put_u32(b, (uint32_t)p->dim[d]);
        const nn_quant_layer *l = how->encoding == NN_TENSOR_INT8 && how->quant ? nn_quant_find(how->quant, i) : NULL;
        size_t nonzero = 0;
        for (size_t k = 0; k < p->size; k++)
            nonzero += p->value[k] != 0.0f;
        /* Sparse when the bitmap and the values take less room than the floats. */
        int sparse = how->encoding == NN_TENSOR_SPARSE && (p->size + 7) / 8 + 8 + 4 * nonzero < 4 * p->size;
        unsigned char enc = l ? NN_TENSOR_INT8 : sparse ? NN_TENSOR_SPARSE : NN_TENSOR_DENSE;
        nn_bytes_put(b, &enc, 1);
        if (l) {
            int8_t *q = malloc(p->size);
            if (!q) {
                b->failed = 1;
                continue;
            }
            nn_quant_layer_values(l, q);
            nn_bytes_put_u32(b, (uint32_t)l->rows);
            nn_bytes_put_floats(b, l->w_scale, (size_t)l->rows);
            nn_bytes_put(b, q, p->size);
            free(q);
        } else if (sparse) {
            put_sparse(b, p->value, p->size);
        } else {
            nn_bytes_put_floats(b, p->value, p->size);
        }
    }
    section_end(b, at);
    if (how->encoding != NN_TENSOR_INT8 || !how->quant)
        return;
    at = section_begin(b, NN_CKPT_QACT);
    nn_bytes_put_u32(b, (uint32_t)how->quant->n_layers);
    for (int k = 0; k < how->quant->n_layers; k++) {
        const nn_quant_layer *l = &how->quant->layers[k];
        nn_bytes_put_string(b, g->nodes[g->param_nodes[l->param]].name);
        nn_bytes_put_floats(b, &l->x_scale, 1);
    }
    section_end(b, at);
}

static void put_meta(nn_bytes *b, const nn_graph *g, const nn_spec *spec, const nn_export *how)
{
    char created[32];
    time_t now = time(NULL);
    struct tm utc;
    gmtime_r(&now, &utc);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &utc);
    const nn_checkpoint *from = how->from;
    const char *pairs[16][2];
    char numbers[4][40];
    int n = 0;
    pairs[n][0] = "nnlab_version", pairs[n++][1] = NNLAB_VERSION;
    pairs[n][0] = "created", pairs[n++][1] = created;
    if (from && from->model[0])
        pairs[n][0] = "model", pairs[n++][1] = from->model;
    pairs[n][0] = "spec", pairs[n++][1] = from && from->spec_source[0] ? from->spec_source : spec->source;
    if (from && from->dataset[0])
        pairs[n][0] = "dataset", pairs[n++][1] = from->dataset;
    if (how->weights)
        pairs[n][0] = "weights", pairs[n++][1] = how->weights;
    snprintf(numbers[0], sizeof numbers[0], "%zu", g->param_count);
    pairs[n][0] = "params", pairs[n++][1] = numbers[0];
    if (how->test_count) {
        snprintf(numbers[1], sizeof numbers[1], "%zu", how->test_count);
        pairs[n][0] = "test_count", pairs[n++][1] = numbers[1];
    }
    if (isfinite(how->test_loss) && isfinite(how->test_accuracy)) {
        snprintf(numbers[2], sizeof numbers[2], "%.17g", how->test_loss);
        snprintf(numbers[3], sizeof numbers[3], "%.17g", how->test_accuracy);
        pairs[n][0] = "test_loss", pairs[n++][1] = numbers[2];
        pairs[n][0] = "test_accuracy", pairs[n++][1] = numbers[3];
    }
    size_t at = section_begin(b, NN_CKPT_META);
    nn_bytes_put_u32(b, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        nn_bytes_put_string(b, pairs[i][0]);
        nn_bytes_put_string(b, pairs[i][1]);
    }
    section_end(b, at);
}

int nn_checkpoint_export(const nn_graph *g, const nn_spec *spec, const nn_hparams *hp, const nn_export *how,
                         const char *path, size_t *bytes, nn_error *err)
{
    const char *name = path ? path : "model";
    if (!spec->text)
        return nn_error_set(err, NN_EINPUT, "%s: the spec has no text to store", name);
    if (how->encoding == NN_TENSOR_INT8 && !how->quant)
        return nn_error_set(err, NN_EINPUT, "%s: int8 export without quantised layers", name);
    nn_bytes b = {0};
    nn_bytes_put(&b, NN_CKPT_MAGIC, NN_CKPT_MAGIC_LEN);
    nn_bytes_put_u16(&b, NN_CHECKPOINT_MAJOR);
    nn_bytes_put_u16(&b, NN_CHECKPOINT_MINOR);
    put_text_section(&b, NN_CKPT_SPEC, spec->text);
    char text[1024];
    nn_hparams_format(hp, text, sizeof text);
    put_text_section(&b, NN_CKPT_HPAR, text);
    put_tensors(&b, g, how);
    put_meta(&b, g, spec, how);
    const nn_checkpoint *from = how->from;
    if (from && from->n_history) {
        size_t at = section_begin(&b, NN_CKPT_HIST);
        nn_bytes_put_u32(&b, (uint32_t)from->n_history);
        for (int e = 0; e < from->n_history; e++) {
            const nn_epoch_record *r = &from->history[e];
            nn_bytes_put_f64(&b, r->train_loss);
            nn_bytes_put_f64(&b, r->train_accuracy);
            nn_bytes_put_f64(&b, r->test_loss);
            nn_bytes_put_f64(&b, r->test_accuracy);
            nn_bytes_put_f64(&b, r->seconds);
        }
        section_end(&b, at);
    }
    nn_bytes_put(&b, NN_CKPT_END, 4);
    nn_bytes_put_u64(&b, 4);
    if (!b.failed)
        nn_bytes_put_u32(&b, nn_checkpoint_crc(b.data, b.len));
    if (b.failed) {
        nn_bytes_free(&b);
        return nn_error_set(err, NN_ERUNTIME, "%s: out of memory encoding the model", name);
    }
    if (bytes)
        *bytes = b.len;
    int rc = path ? nn_checkpoint_write_file(path, b.data, b.len, err) : NN_OK;
    nn_bytes_free(&b);
    return rc;
}
