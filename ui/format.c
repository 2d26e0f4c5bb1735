/* Number formatting shared by the dashboard and the pad (see format.h). */
#include "format.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

char *ui_fmt_num(double v, char *buf, size_t len)
{
    if (isnan(v))
        snprintf(buf, len, "nan");
    else if (isinf(v))
        snprintf(buf, len, v > 0 ? "inf" : "-inf");
    else
        snprintf(buf, len, "%.3g", v);
    return buf;
}

char *ui_fmt_rate(double v, char *buf, size_t len)
{
    if (!isfinite(v) || v < 0)
        snprintf(buf, len, "-");
    else if (v >= 1e6)
        snprintf(buf, len, "%.3gM", v / 1e6);
    else if (v >= 1e3)
        snprintf(buf, len, "%.3gk", v / 1e3);
    else
        snprintf(buf, len, "%.0f", v);
    return buf;
}

char *ui_fmt_duration(double seconds, char *buf, size_t len)
{
    if (!isfinite(seconds) || seconds < 0) {
        snprintf(buf, len, "--:--");
        return buf;
    }
    long s = (long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(buf, len, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, len, "%ld:%02ld", s / 60, s % 60);
    return buf;
}

char *ui_fmt_count(long long v, char *buf, size_t len)
{
    char digits[32];
    snprintf(digits, sizeof digits, "%lld", v < 0 ? -v : v);
    size_t n = strlen(digits), at = 0;
    char out[48];
    if (v < 0)
        out[at++] = '-';
    for (size_t i = 0; i < n; i++) {
        out[at++] = digits[i];
        if ((n - i - 1) % 3 == 0 && i + 1 < n)
            out[at++] = ',';
    }
    out[at] = 0;
    snprintf(buf, len, "%s", out);
    return buf;
}
