/* Numbers as the interfaces print them: three significant digits (so a
 * loss of 0.00042 does not show as 0.000), rates with k/M, durations as
 * m:ss or h:mm:ss, counts with thousands separators. */
#ifndef UI_FORMAT_H
#define UI_FORMAT_H

#include <stddef.h>

/* %.3g, with "nan"/"inf" spelled out; returns buf. */
char *ui_fmt_num(double v, char *buf, size_t len);
/* 950, 27.1k, 1.25M; returns buf. */
char *ui_fmt_rate(double v, char *buf, size_t len);
/* 0:07, 12:34, 1:02:03; "--:--" when negative or not finite; returns buf. */
char *ui_fmt_duration(double seconds, char *buf, size_t len);
/* 101,770; returns buf. */
char *ui_fmt_count(long long v, char *buf, size_t len);

#endif
