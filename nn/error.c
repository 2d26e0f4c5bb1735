/* The one place that formats library errors. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

int nn_error_set(nn_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

int nn_error_at(nn_error *err, const char *source, int line, int col, const char *fmt, va_list ap)
{
    char what[sizeof err->msg];
    vsnprintf(what, sizeof what, fmt, ap);
    return nn_error_set(err, NN_EINPUT, "%s:%d:%d: %s", source, line, col, what);
}
