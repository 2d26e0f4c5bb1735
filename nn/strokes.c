/* The strokes-file parser and renderer.  Points, strokes and drawings are
 * collected into growing arrays of offsets first and turned into pointers
 * at the end, so one failed parse frees everything in one place. */
#include "strokes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct span {
    size_t first, count; /* into the points (strokes) or the strokes (drawings) */
    int line;
} span;

typedef struct builder {
    nn_point *points;
    size_t n_points, cap_points;
    span *strokes;
    size_t n_strokes, cap_strokes;
    span *drawings;
    size_t n_drawings, cap_drawings;
    const char *source;
    int line;
    nn_error *err;
} builder;

/* Grow *array (of `size`-byte items) to hold one more than *n. */
static int reserve(void **array, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t grown = *cap ? *cap * 2 : 64;
    void *p = realloc(*array, grown * size);
    if (!p)
        return -1;
    *array = p;
    *cap = grown;
    return 0;
}

static int fail(builder *b, int col, const char *what, const char *arg)
{
    char msg[256];
    snprintf(msg, sizeof msg, what, arg);
    return nn_error_set(b->err, NN_EINPUT, "%s:%d:%d: %s", b->source, b->line, col, msg);
}

static int out_of_memory(builder *b)
{
    return nn_error_set(b->err, NN_ERUNTIME, "%s: out of memory", b->source);
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* One coordinate: a plain decimal number in [0,1]. */
static int parse_coordinate(builder *b, const char *s, size_t len, int col, float *out)
{
    char buf[64];
    if (len == 0)
        return fail(b, col, "expected a number%s", "");
    if (len >= sizeof buf)
        return fail(b, col, "number too long (at most %s characters)", "63");
    for (size_t i = 0; i < len; i++)
        if (!strchr("0123456789.eE+-", s[i])) {
            memcpy(buf, s, len);
            buf[len] = '\0';
            return fail(b, col, "expected a number, found '%s'", buf);
        }
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (end == buf || *end)
        return fail(b, col, "expected a number, found '%s'", buf);
    if (!(v >= 0.0 && v <= 1.0))
        return fail(b, col, "coordinate %s is outside [0,1]", buf);
    *out = (float)v;
    return NN_OK;
}

/* A drawing ends: record the strokes collected since the last one. */
static int end_drawing(builder *b, size_t first_stroke, int line)
{
    if (reserve((void **)&b->drawings, &b->cap_drawings, b->n_drawings, sizeof *b->drawings))
        return out_of_memory(b);
    b->drawings[b->n_drawings++] = (span){first_stroke, b->n_strokes - first_stroke, line};
    return NN_OK;
}

/* One line of x,y pairs: a stroke. */
static int parse_stroke(builder *b, const char *line, size_t len)
{
    size_t first = b->n_points;
    size_t i = 0;
    while (i < len) {
        while (i < len && is_blank(line[i]))
            i++;
        if (i >= len || line[i] == '#')
            break;
        size_t start = i;
        while (i < len && !is_blank(line[i]) && line[i] != '#')
            i++;
        const char *tok = line + start;
        size_t tok_len = i - start;
        const char *comma = memchr(tok, ',', tok_len);
        if (!comma) {
            char word[64];
            snprintf(word, sizeof word, "%.*s", (int)(tok_len < 40 ? tok_len : 40), tok);
            return fail(b, (int)start + 1, "expected x,y (two numbers joined by a comma), found '%s'", word);
        }
        size_t x_len = (size_t)(comma - tok);
        nn_point p;
        if (parse_coordinate(b, tok, x_len, (int)start + 1, &p.x) ||
            parse_coordinate(b, comma + 1, tok_len - x_len - 1, (int)(start + x_len) + 2, &p.y))
            return b->err ? b->err->code : NN_EINPUT;
        if (reserve((void **)&b->points, &b->cap_points, b->n_points, sizeof *b->points))
            return out_of_memory(b);
        b->points[b->n_points++] = p;
    }
    if (b->n_points == first)
        return NN_OK; /* blank or comment line */
    if (reserve((void **)&b->strokes, &b->cap_strokes, b->n_strokes, sizeof *b->strokes))
        return out_of_memory(b);
    b->strokes[b->n_strokes++] = (span){first, b->n_points - first, b->line};
    return NN_OK;
}

static void free_builder(builder *b)
{
    free(b->points);
    free(b->strokes);
    free(b->drawings);
}

int nn_strokes_parse(nn_strokes *s, const char *text, const char *source, nn_error *err)
{
    memset(s, 0, sizeof *s);
    builder b = {.source = source, .err = err};
    size_t drawing_first = 0;
    int drawing_line = 0;
    int rc = NN_OK;
    for (const char *line = text; *line && !rc;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        b.line++;
        /* Is it a drawing separator: '=' alone, give or take blanks and a comment? */
        size_t i = 0;
        while (i < len && is_blank(line[i]))
            i++;
        if (i < len && line[i] == '=') {
            size_t j = i + 1;
            while (j < len && is_blank(line[j]))
                j++;
            if (j < len && line[j] != '#')
                rc = fail(&b, (int)j + 1, "'=' ends a drawing and must stand alone on its line%s", "");
            else
                rc = end_drawing(&b, drawing_first, drawing_line ? drawing_line : b.line);
            drawing_first = b.n_strokes;
            drawing_line = 0;
        } else {
            size_t before = b.n_strokes;
            rc = parse_stroke(&b, line, len);
            if (!rc && b.n_strokes > before && !drawing_line)
                drawing_line = b.line;
        }
        line += len + (nl != NULL);
    }
    if (!rc && b.n_strokes > drawing_first)
        rc = end_drawing(&b, drawing_first, drawing_line);
    if (rc) {
        free_builder(&b);
        return rc;
    }

    s->n_drawings = (int)b.n_drawings;
    s->drawings = calloc(b.n_drawings + 1, sizeof *s->drawings);
    nn_stroke *strokes = calloc(b.n_strokes + 1, sizeof *strokes);
    if (!s->drawings || !strokes) {
        free(s->drawings);
        free(strokes);
        free_builder(&b);
        memset(s, 0, sizeof *s);
        return out_of_memory(&b);
    }
    s->storage = b.points;
    for (size_t k = 0; k < b.n_strokes; k++)
        strokes[k] = (nn_stroke){(int)b.strokes[k].count, b.points + b.strokes[k].first};
    for (size_t d = 0; d < b.n_drawings; d++)
        s->drawings[d] = (nn_drawing){b.drawings[d].line, (int)b.drawings[d].count, strokes + b.drawings[d].first};
    s->all_strokes = strokes;
    free(b.strokes);
    free(b.drawings);
    return NN_OK;
}

int nn_strokes_load(nn_strokes *s, const char *path, nn_error *err)
{
    memset(s, 0, sizeof *s);
    FILE *f = fopen(path, "rb");
    if (!f)
        return nn_error_set(err, NN_EINPUT, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *text = malloc(cap + 1);
    while (text) {
        n += fread(text + n, 1, cap - n, f);
        if (n < cap || cap >= NN_STROKES_MAX_BYTES)
            break;
        char *grown = realloc(text, cap * 2 + 1);
        if (!grown) {
            free(text);
            text = NULL;
            break;
        }
        text = grown;
        cap *= 2;
    }
    int failed = ferror(f), full = text && n == cap;
    fclose(f);
    if (!text)
        return nn_error_set(err, NN_ERUNTIME, "%s: out of memory", path);
    if (failed || full) {
        free(text);
        return nn_error_set(err, NN_EINPUT, failed ? "%s: read error" : "%s: larger than 64 MiB", path);
    }
    text[n] = '\0';
    const char *nul = memchr(text, '\0', n);
    if (nul) {
        long offset = (long)(nul - text);
        free(text);
        return nn_error_set(err, NN_EINPUT, "%s: byte %ld is NUL; a strokes file is text", path, offset);
    }
    int rc = nn_strokes_parse(s, text, path, err);
    free(text);
    return rc;
}

void nn_strokes_free(nn_strokes *s)
{
    free(s->drawings);
    free(s->all_strokes);
    free(s->storage);
    memset(s, 0, sizeof *s);
}

void nn_strokes_render(const nn_drawing *d, nn_canvas *c)
{
    nn_canvas_clear(c);
    float sx = (float)c->width, sy = (float)c->height;
    for (int k = 0; k < d->n_strokes; k++) {
        const nn_stroke *st = &d->strokes[k];
        nn_canvas_begin(c, st->points[0].x * sx, st->points[0].y * sy, 0);
        for (int i = 1; i < st->n_points; i++)
            nn_canvas_line_to(c, st->points[i].x * sx, st->points[i].y * sy);
        nn_canvas_end(c);
    }
}
