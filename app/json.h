/* A minimal streaming JSON writer for --json output: keys in the order the
 * caller writes them, numbers with enough digits to round-trip, NaN and
 * infinities as null. */
#ifndef APP_JSON_H
#define APP_JSON_H

#include <stdio.h>

typedef struct json_writer {
    FILE *out;
    int depth;
    int need_comma[32];
} json_writer;

void json_init(json_writer *j, FILE *out);
void json_object_begin(json_writer *j, const char *key);  /* key NULL inside arrays/top level */
void json_object_end(json_writer *j);
void json_array_begin(json_writer *j, const char *key);
void json_array_end(json_writer *j);
void json_string(json_writer *j, const char *key, const char *value);
void json_number(json_writer *j, const char *key, double value);
void json_int(json_writer *j, const char *key, long long value);
void json_bool(json_writer *j, const char *key, int value);
void json_null(json_writer *j, const char *key);
/* Finish the document with a newline. */
void json_finish(json_writer *j);

#endif
