/* Reading model files.  The file is read whole, then decoded section by
 * section with every count checked against the bytes that are really left
 * before anything is allocated from it; the CRC is checked at the end, so a
 * truncated file is reported where its data stops, and any other damage
 * fails either a field check or the checksum. */
#include "checkpoint.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bytes.h"
#include "checkpoint_format.h"
#include "model.h"

enum { HAVE_SPEC = 1, HAVE_HPAR = 2, HAVE_PARM = 4, HAVE_OPTM = 8, HAVE_RNGS = 16, HAVE_TRAN = 32,
       HAVE_META = 64, HAVE_HIST = 128, HAVE_TENS = 256, HAVE_QACT = 512 };

typedef struct loader {
    nn_bytes_reader r;
    nn_checkpoint *ck;
    int newer;      /* the file's minor version is newer than ours */
    int have;       /* HAVE_ bits of the sections read */
} loader;

/* A text section (spec or hyperparameters) as a NUL-terminated copy. */
static char *read_text(loader *l, size_t len, const char *what)
{
    nn_bytes_reader *r = &l->r;
    if (len > NN_CKPT_MAX_TEXT) {
        nn_bytes_fail(r, "%s is %zu bytes long (at most %u expected)", what, len, NN_CKPT_MAX_TEXT);
        return NULL;
    }
    size_t at = r->pos;
    const unsigned char *p = nn_bytes_get_span(r, len, what);
    if (!p)
        return NULL;
    if (memchr(p, 0, len)) {
        r->pos = at;
        nn_bytes_fail(r, "%s contains a NUL byte", what);
        return NULL;
    }
    char *text = malloc(len + 1);
    if (!text) {
        nn_error_set(r->err, NN_ERUNTIME, "%s: out of memory", r->path);
        r->failed = 1;
        return NULL;
    }
    memcpy(text, p, len);
    text[len] = '\0';
    return text;
}

static int read_spec(loader *l, size_t len)
{
    char *text = read_text(l, len, "spec text");
    if (!text)
        return NN_EINPUT;
    char source[sizeof l->ck->spec.source];
    snprintf(source, sizeof source, "%s:spec", l->r.path);
    int rc = nn_spec_parse(&l->ck->spec, text, source, l->r.err);
    free(text);
    l->r.failed |= rc != 0;
    return rc;
}

static int read_hparams(loader *l, size_t len)
{
    size_t at = l->r.pos;
    char *text = read_text(l, len, "hyperparameters");
    if (!text)
        return NN_EINPUT;
    nn_hparams_defaults(&l->ck->hp);
    nn_error inner;
    for (char *save, *tok = strtok_r(text, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (eq)
            *eq = '\0';
        if (eq && !nn_hparams_known(tok) && l->newer)
            continue; /* a key a newer nnlab added */
        if (!eq || nn_hparams_set(&l->ck->hp, tok, eq + 1, &inner)) {
            l->r.pos = at;
            nn_bytes_fail(&l->r, "hyperparameters: %s", eq ? inner.msg : "expected key=value");
            break;
        }
    }
    free(text);
    return l->r.failed ? NN_EINPUT : NN_OK;
}

static int read_params(loader *l)
{
    nn_bytes_reader *r = &l->r;
    nn_checkpoint *ck = l->ck;
    uint32_t count = nn_bytes_get_u32(r, "parameter tensor count");
    if (r->failed)
        return NN_EINPUT;
    if (nn_bytes_need(r, 12 * (size_t)count, "parameter tensors")) /* a name length, ndim, a dimension each */
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
        if (r->failed || nn_bytes_need(r, 4 * p->size, what))
            return NN_EINPUT;
        p->value = malloc(4 * p->size);
        if (!p->value)
            return nn_error_set(r->err, NN_ERUNTIME, "%s: out of memory for parameter %s", r->path, p->name);
        nn_bytes_get_floats(r, p->value, p->size, what);
    }
    return r->failed ? NN_EINPUT : NN_OK;
}

static int read_optimiser(loader *l)
{
    nn_bytes_reader *r = &l->r;
    nn_checkpoint *ck = l->ck;
    if (!(l->have & (HAVE_PARM | HAVE_TENS)))
        return nn_bytes_fail(r, "the optimiser state comes before the parameters (section PARM first expected)");
    uint64_t t = nn_bytes_get_u64(r, "optimiser step count");
    size_t at = r->pos;
    uint32_t count = nn_bytes_get_u32(r, "optimiser tensor count");
    if (r->failed)
        return NN_EINPUT;
    if (t > LONG_MAX)
        return nn_bytes_fail(r, "optimiser step count %llu is out of range", (unsigned long long)t);
    if (count != (uint32_t)ck->n_tensors) {
        r->pos = at;
        return nn_bytes_fail(r, "optimiser state for %u tensors, but there are %d parameter tensors", count,
                             ck->n_tensors);
    }
    ck->optim_t = (long)t;
    for (int i = 0; i < ck->n_tensors; i++) {
        nn_checkpoint_tensor *p = &ck->tensors[i];
        char name[NN_NAME_LEN], what[80];
        at = r->pos;
        if (nn_bytes_get_string(r, name, sizeof name, "optimiser tensor name"))
            return NN_EINPUT;
        if (strcmp(name, p->name)) {
            r->pos = at;
            return nn_bytes_fail(r, "optimiser state for '%s' where '%s' was expected", name, p->name);
        }
        at = r->pos;
        uint64_t n = nn_bytes_get_u64(r, "optimiser tensor size");
        if (!r->failed && n != p->size) {
            r->pos = at;
            return nn_bytes_fail(r, "optimiser state for %s has %llu values, the parameter %zu", name,
                                 (unsigned long long)n, p->size);
        }
        snprintf(what, sizeof what, "optimiser state of %s", name);
        at = r->pos;
        const unsigned char *flags = nn_bytes_get_span(r, 1, what);
        if (!flags)
            return NN_EINPUT;
        if (*flags > 3) {
            r->pos = at;
            return nn_bytes_fail(r, "optimiser state of %s: flags %u (0..3 expected)", name, *flags);
        }
        for (int k = 0; k < 2; k++) {
            if (!(*flags & (1 << k)))
                continue; /* all zero */
            if (nn_bytes_need(r, 4 * p->size, what))
                return NN_EINPUT;
            float *x = malloc(4 * p->size);
            if (!x)
                return nn_error_set(r->err, NN_ERUNTIME, "%s: out of memory for the optimiser state", r->path);
            *(k ? &p->v : &p->m) = x;
            nn_bytes_get_floats(r, x, p->size, what);
        }
    }
    ck->has_optim = 1;
    return r->failed ? NN_EINPUT : NN_OK;
}

static int read_rngs(loader *l)
{
    nn_bytes_reader *r = &l->r;
    nn_checkpoint *ck = l->ck;
    size_t at = r->pos;
    uint32_t count = nn_bytes_get_u32(r, "random stream count");
    if (!r->failed && count > NN_CHECKPOINT_MAX_RNGS) {
        r->pos = at;
        return nn_bytes_fail(r, "%u random streams (at most %d expected)", count, NN_CHECKPOINT_MAX_RNGS);
    }
    for (uint32_t i = 0; i < count && !r->failed; i++) {
        nn_checkpoint_rng *s = &ck->rngs[i];
        if (nn_bytes_get_string(r, s->name, sizeof s->name, "random stream name"))
            break;
        at = r->pos;
        uint64_t any = 0;
        for (int k = 0; k < 4; k++)
            any |= s->state.s[k] = nn_bytes_get_u64(r, "random stream state");
        if (!r->failed && !any) {
            r->pos = at;
            nn_bytes_fail(r, "random stream %s has an all-zero state", s->name);
        }
        ck->n_rngs = (int)i + 1;
    }
    return r->failed ? NN_EINPUT : NN_OK;
}

static int read_position(loader *l)
{
    nn_bytes_reader *r = &l->r;
    nn_checkpoint *ck = l->ck;
    uint32_t epoch = nn_bytes_get_u32(r, "epoch");
    uint64_t step = nn_bytes_get_u64(r, "step");
    uint64_t pos = nn_bytes_get_u64(r, "position in the epoch");
    size_t at = r->pos;
    uint64_t count = nn_bytes_get_u64(r, "training set size");
    if (r->failed)
        return NN_EINPUT;
    if (epoch > 1000000 || step > LONG_MAX || count < 1 || count > UINT32_MAX || pos >= count) {
        r->pos = at;
        return nn_bytes_fail(r, "training position epoch %u, step %llu, sample %llu of %llu is impossible", epoch,
                             (unsigned long long)step, (unsigned long long)pos, (unsigned long long)count);
    }
    if (nn_bytes_need(r, 4 * (size_t)count, "sample order"))
        return NN_EINPUT;
    ck->order = malloc((size_t)count * sizeof *ck->order);
    unsigned char *seen = calloc((size_t)count, 1);
    if (!ck->order || !seen) {
        free(seen);
        return nn_error_set(r->err, NN_ERUNTIME, "%s: out of memory for the sample order", r->path);
    }
    for (size_t i = 0; i < count && !r->failed; i++) {
        at = r->pos;
        uint32_t s = nn_bytes_get_u32(r, "sample order");
        if (s >= count || seen[s]) {
            r->pos = at;
            nn_bytes_fail(r, "sample order: %u is %s (a permutation of 0..%llu expected)", s,
                          s >= count ? "out of range" : "repeated", (unsigned long long)count - 1);
        } else {
            seen[s] = 1;
            ck->order[i] = s;
        }
    }
    free(seen);
    ck->epoch_loss = nn_bytes_get_f64(r, "epoch loss");
    at = r->pos;
    uint64_t seen_count = nn_bytes_get_u64(r, "epoch sample count");
    uint64_t correct = nn_bytes_get_u64(r, "epoch correct count");
    ck->train_seconds = nn_bytes_get_f64(r, "training time");
    if (r->failed)
        return NN_EINPUT;
    if (seen_count > count || correct > seen_count || !(ck->train_seconds >= 0)) {
        r->pos = at;
        return nn_bytes_fail(r, "epoch sums (%llu seen, %llu correct of %llu, %g s) are impossible",
                             (unsigned long long)seen_count, (unsigned long long)correct,
                             (unsigned long long)count, ck->train_seconds);
    }
    ck->epoch = (int)epoch;
    ck->step = (long)step;
    ck->pos = (size_t)pos;
    ck->train_count = (size_t)count;
    ck->epoch_seen = (long)seen_count;
    ck->epoch_correct = (long)correct;
    ck->has_position = 1;
    return NN_OK;
}

/* Copy src into dst (cap bytes), cut short if it does not fit. */
static void copy_text(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* A number in the metadata entry that starts at offset at. */
static int meta_number(loader *l, size_t at, const char *key, const char *value, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    if (end == value || *end || errno == ERANGE) {
        l->r.pos = at;
        return nn_bytes_fail(&l->r, "metadata %s: '%s' is not a number", key, value);
    }
    *out = v;
    return NN_OK;
}

static int read_meta(loader *l)
{
    nn_bytes_reader *r = &l->r;
    nn_checkpoint *ck = l->ck;
    size_t at = r->pos;
    uint32_t count = nn_bytes_get_u32(r, "metadata entry count");
    if (!r->failed && count > NN_CKPT_MAX_META) {
        r->pos = at;
        return nn_bytes_fail(r, "%u metadata entries (at most %d expected)", count, NN_CKPT_MAX_META);
    }
    for (uint32_t i = 0; i < count && !r->failed; i++) {
        char key[32], value[512];
        double v = 0;
        at = r->pos;
        if (nn_bytes_get_string(r, key, sizeof key, "metadata key") ||
            nn_bytes_get_string(r, value, sizeof value, "metadata value"))
            break;
        if (!strcmp(key, "nnlab_version"))
            copy_text(ck->version, sizeof ck->version, value);
        else if (!strcmp(key, "created"))
            copy_text(ck->created, sizeof ck->created, value);
        else if (!strcmp(key, "model"))
            copy_text(ck->model, sizeof ck->model, value);
        else if (!strcmp(key, "spec"))
            copy_text(ck->spec_source, sizeof ck->spec_source, value);
        else if (!strcmp(key, "dataset"))
            copy_text(ck->dataset, sizeof ck->dataset, value);
        else if (!strcmp(key, "test_count") && !meta_number(l, at, key, value, &v))
            ck->test_count = v >= 0 && v < 1e15 ? (size_t)v : 0;
        else if (!strcmp(key, "test_loss"))
            meta_number(l, at, key, value, &ck->test_loss);
        else if (!strcmp(key, "test_accuracy"))
            meta_number(l, at, key, value, &ck->test_accuracy);
        else if (!strcmp(key, "samples_per_sec"))
            meta_number(l, at, key, value, &ck->samples_per_sec);
        else if (!strcmp(key, "weights"))
            copy_text(ck->weights, sizeof ck->weights, value);
        /* other keys are descriptive copies of the sections, or newer */
    }
    return r->failed ? NN_EINPUT : NN_OK;
}

static int read_history(loader *l)
{
    nn_bytes_reader *r = &l->r;
    nn_checkpoint *ck = l->ck;
    uint32_t count = nn_bytes_get_u32(r, "history length");
    if (r->failed || nn_bytes_need(r, 40 * (size_t)count, "epoch history"))
        return NN_EINPUT;
    ck->history = calloc(count ? count : 1, sizeof *ck->history);
    if (!ck->history)
        return nn_error_set(r->err, NN_ERUNTIME, "%s: out of memory", r->path);
    for (uint32_t e = 0; e < count; e++) {
        nn_epoch_record *h = &ck->history[e];
        h->train_loss = nn_bytes_get_f64(r, "epoch history");
        h->train_accuracy = nn_bytes_get_f64(r, "epoch history");
        h->test_loss = nn_bytes_get_f64(r, "epoch history");
        h->test_accuracy = nn_bytes_get_f64(r, "epoch history");
        h->seconds = nn_bytes_get_f64(r, "epoch history");
    }
    ck->n_history = (int)count;
    return r->failed ? NN_EINPUT : NN_OK;
}

/* The END section's CRC, the last four bytes of the file. */
static int read_end(loader *l)
{
    nn_bytes_reader *r = &l->r;
    size_t at = r->pos;
    uint32_t stored = nn_bytes_get_u32(r, "checksum");
    if (r->failed)
        return NN_EINPUT;
    if (r->pos != r->size)
        return nn_bytes_fail(r, "%zu bytes after the end of the model", r->size - r->pos);
    uint32_t crc = nn_checkpoint_crc(r->data, at);
    if (crc != stored) {
        r->pos = at;
        return nn_bytes_fail(r, "checksum mismatch (stored %08x, computed %08x): the file is corrupted", stored, crc);
    }
    return NN_OK;
}

static const struct {
    const char *tag;
    int bit;
} known_sections[] = {
    {NN_CKPT_SPEC, HAVE_SPEC}, {NN_CKPT_HPAR, HAVE_HPAR}, {NN_CKPT_PARM, HAVE_PARM}, {NN_CKPT_OPTM, HAVE_OPTM},
    {NN_CKPT_RNGS, HAVE_RNGS}, {NN_CKPT_TRAN, HAVE_TRAN}, {NN_CKPT_META, HAVE_META}, {NN_CKPT_HIST, HAVE_HIST},
    {NN_CKPT_TENS, HAVE_TENS}, {NN_CKPT_QACT, HAVE_QACT},
};

/* Decode one section's payload of len bytes (r->limit already set). */
static int read_section(loader *l, int bit, size_t len)
{
    switch (bit) {
    case HAVE_SPEC: return read_spec(l, len);
    case HAVE_HPAR: return read_hparams(l, len);
    case HAVE_PARM:
        if (l->have & HAVE_TENS)
            return nn_bytes_fail(&l->r, "parameters in both TENS and PARM");
        return read_params(l);
    case HAVE_OPTM: return read_optimiser(l);
    case HAVE_RNGS: return read_rngs(l);
    case HAVE_TRAN: return read_position(l);
    case HAVE_META: return read_meta(l);
    case HAVE_HIST: return read_history(l);
    case HAVE_TENS:
        if (l->have & HAVE_PARM)
            return nn_bytes_fail(&l->r, "parameters in both PARM and TENS");
        return nn_checkpoint_read_tensors(&l->r, l->ck);
    case HAVE_QACT:
        if (!(l->have & HAVE_TENS))
            return nn_bytes_fail(&l->r, "input scales before the tensors (section TENS first expected)");
        return nn_checkpoint_read_scales(&l->r, l->ck);
    default: /* a section of a newer minor version */
        return nn_bytes_get_span(&l->r, len, "section") ? NN_OK : NN_EINPUT;
    }
}

static int decode(loader *l)
{
    nn_bytes_reader *r = &l->r;
    nn_checkpoint *ck = l->ck;
    const unsigned char *magic = nn_bytes_get_span(r, NN_CKPT_MAGIC_LEN, "the file header");
    if (!magic)
        return NN_EINPUT;
    if (memcmp(magic, NN_CKPT_MAGIC, NN_CKPT_MAGIC_LEN)) {
        r->pos = 0;
        return nn_bytes_fail(r, "not an nnlab model file (it does not start with \"NNLAB\\0MF\")");
    }
    ck->major = nn_bytes_get_u16(r, "the format version");
    ck->minor = nn_bytes_get_u16(r, "the format version");
    if (r->failed)
        return NN_EINPUT;
    if (ck->major != NN_CHECKPOINT_MAJOR) {
        r->pos = NN_CKPT_MAGIC_LEN;
        return nn_bytes_fail(r, "format version %u.%u is not supported (this nnlab reads %d.x)", ck->major,
                             ck->minor, NN_CHECKPOINT_MAJOR);
    }
    l->newer = ck->minor > NN_CHECKPOINT_MINOR;
    /* A file that ends as a whole file does is checked first, so damage
     * inside it reads as damage rather than as a strange field; a file
     * cut short is decoded to the field where it stops. */
    static const unsigned char end[NN_CKPT_SECTION_HEADER_LEN] = {'E', 'N', 'D', ' ', 4};
    if (r->size >= NN_CKPT_HEADER_LEN + sizeof end + 4 &&
        !memcmp(r->data + r->size - 4 - sizeof end, end, sizeof end)) {
        r->pos = r->size - 4;
        if (read_end(l))
            return NN_EINPUT;
        r->pos = NN_CKPT_HEADER_LEN;
    }
    for (;;) {
        size_t start = r->pos;
        const unsigned char *tag = nn_bytes_get_span(r, 4, "the next section tag");
        if (!tag)
            return NN_EINPUT;
        char name[5] = {0};
        for (int i = 0; i < 4; i++) {
            if (tag[i] < 0x20 || tag[i] > 0x7e) {
                r->pos = start;
                return nn_bytes_fail(r, "expected a section tag, found bytes %02x %02x %02x %02x", tag[0], tag[1],
                                     tag[2], tag[3]);
            }
            name[i] = (char)tag[i];
        }
        char what[40];
        snprintf(what, sizeof what, "the length of section %s", name);
        uint64_t len64 = nn_bytes_get_u64(r, what);
        if (r->failed)
            return NN_EINPUT;
        size_t payload = r->pos, left = r->size - payload;
        size_t len = len64 < left ? (size_t)len64 : left;
        if (!memcmp(name, NN_CKPT_END, 4)) {
            if (len64 != 4)
                return nn_bytes_fail(r, "section END is %llu bytes long (4 expected)", (unsigned long long)len64);
            return read_end(l);
        }
        int bit = 0;
        for (size_t k = 0; k < sizeof known_sections / sizeof *known_sections; k++)
            if (!memcmp(name, known_sections[k].tag, 4))
                bit = known_sections[k].bit;
        if (bit & l->have) {
            r->pos = start;
            return nn_bytes_fail(r, "a second section %s", name);
        }
        if ((bit & (HAVE_TENS | HAVE_QACT)) && ck->minor < 1) {
            r->pos = start;
            return nn_bytes_fail(r, "section %s in a version %u.%u file (it came with 1.1)", name, ck->major,
                                 ck->minor);
        }
        if (!bit && !l->newer) {
            r->pos = start;
            return nn_bytes_fail(r, "unknown section '%s' in a version %u.%u file", name, ck->major, ck->minor);
        }
        /* Fields are read up to the section's end, or to the file's end if
         * it is cut short, so a truncation is reported in the field it hit. */
        r->limit = payload + len;
        r->section = name;
        int rc = read_section(l, bit, len64 > SIZE_MAX ? SIZE_MAX : (size_t)len64);
        if (rc)
            return rc;
        if (len64 > left) {
            snprintf(what, sizeof what, "section %s", name);
            r->pos = payload;
            return nn_bytes_need(r, (size_t)(len64 > SIZE_MAX ? SIZE_MAX : len64), what);
        }
        if (r->pos != payload + len && !l->newer)
            return nn_bytes_fail(r, "section %s has %zu bytes after its last field", name, payload + len - r->pos);
        r->pos = payload + len;
        r->limit = r->size;
        r->section = NULL;
        l->have |= bit;
    }
}

/* After the checksum: the required sections are there, and the parameters
 * are exactly what the stored spec builds. */
static int check_complete(loader *l)
{
    static const struct {
        int bit;
        const char *what;
    } required[] = {{HAVE_SPEC, "SPEC (the model spec)"}, {HAVE_HPAR, "HPAR (the hyperparameters)"},
                    {HAVE_PARM | HAVE_TENS, "PARM (the parameters)"}};
    nn_checkpoint *ck = l->ck;
    for (int i = 0; i < ck->n_tensors; i++)
        if (ck->tensors[i].encoding == NN_TENSOR_INT8 && !(ck->tensors[i].x_scale > 0))
            return nn_error_set(l->r.err, NN_EINPUT, "%s: int8 tensor %s has no input scale in section QACT", ck->path,
                                ck->tensors[i].name);
    for (size_t i = 0; i < sizeof required / sizeof *required; i++)
        if (!(l->have & required[i].bit))
            return nn_error_set(l->r.err, NN_EINPUT, "%s: no section %s", ck->path, required[i].what);
    /* The stored tensors are checked against the spec's shapes before the
     * model is built: a small file whose spec asks for gigabytes of
     * parameters is refused without allocating them. */
    nn_graph g;
    int rc = nn_model_plan(&g, &ck->spec, &ck->hp, 1, l->r.err);
    if (rc)
        return rc;
    rc = nn_checkpoint_check_fit(ck, &g, l->r.err);
    nn_graph_free(&g);
    if (rc)
        return rc;
    rc = nn_model_build(&g, &ck->spec, &ck->hp, 1, l->r.err);
    if (rc)
        return rc;
    rc = nn_checkpoint_apply(ck, &g, l->r.err);
    nn_graph_free(&g);
    return rc;
}

/* The whole file in memory; sizes come from the file system, not the file. */
static int read_whole(const char *path, unsigned char **data, size_t *size, nn_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return nn_error_set(err, NN_EINPUT, "%s: cannot open model file: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return nn_error_set(err, NN_EINPUT, "%s: not a regular file", path);
    }
    size_t want = (size_t)st.st_size;
    *data = malloc(want ? want : 1);
    if (!*data) {
        fclose(f);
        return nn_error_set(err, NN_ERUNTIME, "%s: out of memory for %zu bytes", path, want);
    }
    *size = fread(*data, 1, want, f);
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(*data);
        return nn_error_set(err, NN_ERUNTIME, "%s: read error", path);
    }
    return NN_OK;
}

int nn_checkpoint_load_memory(nn_checkpoint *ck, const unsigned char *data, size_t size, const char *path,
                              nn_error *err)
{
    nn_error local;
    if (!err)
        err = &local;
    memset(ck, 0, sizeof *ck);
    snprintf(ck->path, sizeof ck->path, "%s", path);
    loader l = {.ck = ck};
    nn_hparams_defaults(&ck->hp);
    nn_bytes_reader_init(&l.r, data, size, ck->path, err);
    ck->file_size = size;
    int rc = decode(&l);
    if (!rc)
        rc = check_complete(&l);
    if (rc)
        nn_checkpoint_free(ck);
    return rc;
}

int nn_checkpoint_load(nn_checkpoint *ck, const char *path, nn_error *err)
{
    memset(ck, 0, sizeof *ck);
    unsigned char *data = NULL;
    size_t size = 0;
    int rc = read_whole(path, &data, &size, err);
    if (rc)
        return rc;
    rc = nn_checkpoint_load_memory(ck, data, size, path, err);
    free(data);
    return rc;
}

int nn_checkpoint_is_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    char magic[NN_CKPT_MAGIC_LEN];
    int is = fread(magic, 1, sizeof magic, f) == sizeof magic && !memcmp(magic, NN_CKPT_MAGIC, sizeof magic);
    fclose(f);
    return is;
}

void nn_checkpoint_free(nn_checkpoint *ck)
{
    nn_spec_free(&ck->spec);
    for (int i = 0; i < ck->n_tensors; i++) {
        free(ck->tensors[i].value);
        free(ck->tensors[i].m);
        free(ck->tensors[i].v);
        free(ck->tensors[i].scales);
        free(ck->tensors[i].q);
    }
    free(ck->tensors);
    free(ck->order);
    free(ck->history);
    memset(ck, 0, sizeof *ck);
}
