/* The --json writer shared by every command. */
#include "json.h"

#include <math.h>

void json_init(json_writer *j, FILE *out)
{
    j->out = out;
    j->depth = 0;
    j->need_comma[0] = 0;
}

static void write_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", out);
        else if (*p < 0x20)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static void key(json_writer *j, const char *k)
{
    if (j->need_comma[j->depth])
        fputc(',', j->out);
    j->need_comma[j->depth] = 1;
    if (k) {
        write_string(j->out, k);
        fputc(':', j->out);
    }
}

static void open(json_writer *j, const char *k, char c)
{
    key(j, k);
    fputc(c, j->out);
    if (j->depth < 31)
        j->depth++;
    j->need_comma[j->depth] = 0;
}

void json_object_begin(json_writer *j, const char *k) { open(j, k, '{'); }
void json_array_begin(json_writer *j, const char *k) { open(j, k, '['); }

void json_object_end(json_writer *j)
{
    j->depth--;
    fputc('}', j->out);
}

void json_array_end(json_writer *j)
{
    j->depth--;
    fputc(']', j->out);
}

void json_string(json_writer *j, const char *k, const char *value)
{
    key(j, k);
    write_string(j->out, value);
}

void json_number(json_writer *j, const char *k, double value)
{
    key(j, k);
    if (isfinite(value))
        fprintf(j->out, "%.9g", value);
    else
        fputs("null", j->out);
}

void json_int(json_writer *j, const char *k, long long value)
{
    key(j, k);
    fprintf(j->out, "%lld", value);
}

void json_bool(json_writer *j, const char *k, int value)
{
    key(j, k);
    fputs(value ? "true" : "false", j->out);
}

void json_null(json_writer *j, const char *k)
{
    key(j, k);
    fputs("null", j->out);
}

void json_finish(json_writer *j)
{
    fputc('\n', j->out);
    fflush(j->out);
}
