/* Error reporting for libnnlab.
 *
 * Library functions never print and never exit: they return a status and fill
 * an nn_error that the caller may print.  The code tells the caller which exit
 * status fits (SPEC §3: 1 runtime failure, 2 bad usage or bad input file). */
#ifndef NN_ERROR_H
#define NN_ERROR_H

#include <stdarg.h>

enum nn_status {
    NN_OK = 0,
    NN_ERUNTIME = 1, /* I/O failure, out of memory, numerical failure */
    NN_EINPUT = 2    /* malformed input file, bad spec, bad option value */
};

typedef struct nn_error {
    int code;       /* an nn_status */
    char msg[512];  /* human readable, names the file and what was wrong */
} nn_error;

/* Fill err (may be NULL) with code and a printf-style message; returns code. */
int nn_error_set(nn_error *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* The input error of a text file's parser: "source:line:col: message",
 * from fmt and its arguments in ap; returns NN_EINPUT. */
int nn_error_at(nn_error *err, const char *source, int line, int col, const char *fmt, va_list ap)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 0)))
#endif
    ;

#endif
