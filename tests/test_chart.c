/* Tests for ui/chart.c and ui/format.c: a known series rendered into an
 * off-screen canvas gives exactly the expected cells, in braille, block and
 * ASCII; axes keep every point; numbers print with three digits. */
#include "chart.h"
#include "format.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The canvas as rows of glyphs joined by '\n'. */
static char *render(const ui_canvas *c)
{
    static char out[8192];
    size_t at = 0;
    for (int y = 0; y < c->h; y++) {
        for (int x = 0; x < c->w; x++) {
            const char *g = ui_canvas_glyph(c, x, y);
            size_t n = strlen(g);
            memcpy(out + at, g, n);
            at += n;
        }
        out[at++] = y + 1 < c->h ? '\n' : 0;
    }
    out[at] = 0;
    return out;
}

static void axes(ui_axis *ax, ui_axis *ay, const float *x, const float *y, int n, int log)
{
    ui_axis_begin(ax, 0);
    ui_axis_fit(ax, x, n);
    ui_axis_finish(ax);
    ui_axis_begin(ay, log);
    ui_axis_fit(ay, y, n);
    ui_axis_finish(ay);
}

START_TEST(braille_diagonal)
{
    /* y = x over 4x4 dots: two braille cells, dots 7+6 then 2+4 */
    ui_canvas c;
    ck_assert_int_eq(ui_canvas_init(&c, 2, 1, UI_GLYPHS_BRAILLE), 0);
    float x[] = {0, 1, 2, 3}, y[] = {0, 1, 2, 3};
    ui_axis ax, ay;
    axes(&ax, &ay, x, y, 4, 0);
    ui_chart_plot(&c, &ax, &ay, x, y, 4, 1, UI_PLOT_POINTS);
    ck_assert_str_eq(render(&c), "\u2860\u280a");
    ck_assert_int_eq(ui_canvas_color(&c, 0, 0), 1);
    ui_canvas_free(&c);
}
END_TEST

START_TEST(braille_line_joins_points)
{
    /* two points at the corners of a 4x2-cell canvas (8x8 dots): the line
     * between them sets one dot per column */
    ui_canvas c;
    ck_assert_int_eq(ui_canvas_init(&c, 4, 2, UI_GLYPHS_BRAILLE), 0);
    float x[] = {0, 7}, y[] = {7, 0};
    ui_axis ax, ay;
    axes(&ax, &ay, x, y, 2, 0);
    ui_chart_plot(&c, &ax, &ay, x, y, 2, 2, UI_PLOT_LINE);
    /* top row: (0,0) (1,1) | (2,2) (3,3) | nothing | nothing
     * bottom:  nothing | nothing | (4,4) (5,5) | (6,6) (7,7)
     * i.e. dots 1+5 and 3+8 in each row */
    ck_assert_str_eq(render(&c), "\u2811\u2884  \n  \u2811\u2884");
    ui_canvas_free(&c);
}
END_TEST

START_TEST(blocks_and_ascii)
{
    float x[] = {0, 1, 2, 3}, y[] = {0, 1, 2, 3};
    ui_axis ax, ay;
    axes(&ax, &ay, x, y, 4, 0);
    ui_canvas c;
    /* 2x2 quadrants: 4x2 dots; y maps to rows 1, 1, 0, 0 */
    ck_assert_int_eq(ui_canvas_init(&c, 2, 1, UI_GLYPHS_BLOCK), 0);
    ui_chart_plot(&c, &ax, &ay, x, y, 4, 1, UI_PLOT_POINTS);
    ck_assert_str_eq(render(&c), "\u2584\u2580");
    /* 1x3 ASCII: rows 2, 1, 1, 0 */
    ck_assert_int_eq(ui_canvas_resize(&c, 4, 1, UI_GLYPHS_ASCII), 0);
    ui_chart_plot(&c, &ax, &ay, x, y, 4, 1, UI_PLOT_LINE);
    ck_assert_str_eq(render(&c), ".--'");
    ui_canvas_free(&c);
}
END_TEST

START_TEST(higher_layer_wins_a_cell)
{
    ui_canvas c;
    ck_assert_int_eq(ui_canvas_init(&c, 1, 1, UI_GLYPHS_BRAILLE), 0);
    ui_canvas_set(&c, 0, 0, 3);
    ui_canvas_set(&c, 1, 3, 1);
    ck_assert_int_eq(ui_canvas_color(&c, 0, 0), 3);
    ck_assert_str_eq(ui_canvas_glyph(&c, 0, 0), "\u2881");
    ui_canvas_clear(&c);
    ck_assert_str_eq(ui_canvas_glyph(&c, 0, 0), " ");
    ck_assert_int_eq(ui_canvas_color(&c, 0, 0), 0);
    ui_canvas_free(&c);
}
END_TEST

START_TEST(log_axis_is_a_true_log_scale)
{
    /* 1, 10, 100, 1000 land on evenly spaced rows of a 4-row ASCII canvas
     * (12 dots: rows 11, 7.33, 3.67, 0 round to 11, 7, 4, 0) */
    ui_canvas c;
    ck_assert_int_eq(ui_canvas_init(&c, 4, 4, UI_GLYPHS_ASCII), 0);
    float x[] = {0, 1, 2, 3}, y[] = {1, 10, 100, 1000};
    ui_axis ax, ay;
    axes(&ax, &ay, x, y, 4, 1);
    ck_assert_double_eq(ay.lo, 1);
    ck_assert_double_eq(ay.hi, 1000);
    ck_assert_double_eq_tol(ui_axis_frac(&ay, 10), 1.0 / 3, 1e-12);
    ck_assert(isnan(ui_axis_frac(&ay, 0)));
    ui_chart_plot(&c, &ax, &ay, x, y, 4, 1, UI_PLOT_POINTS);
    ck_assert_str_eq(render(&c), "   '\n  - \n -  \n.   ");
    double ticks[8];
    ck_assert_int_eq(ui_axis_ticks(&ay, ticks, 8), 4);
    ck_assert_double_eq(ticks[0], 1);
    ck_assert_double_eq(ticks[3], 1000);
    ui_canvas_free(&c);
}
END_TEST

START_TEST(no_point_is_an_outlier)
{
    float y[] = {0.5f, 0.4f, 0.3f, 1000.0f, 0.2f, NAN, INFINITY};
    ui_axis a;
    ui_axis_begin(&a, 0);
    ui_axis_fit(&a, y, 7);
    ui_axis_finish(&a);
    ck_assert_double_eq_tol(a.lo, 0.2, 1e-7);
    ck_assert_double_eq(a.hi, 1000);
    /* a flat series gets a range around it */
    float flat[] = {2, 2};
    ui_axis_begin(&a, 0);
    ui_axis_fit(&a, flat, 2);
    ui_axis_finish(&a);
    ck_assert(a.lo < 2 && a.hi > 2);
    /* non-positive values do not break a log axis */
    float mixed[] = {0, -1, 0.01f, 5};
    ui_axis_begin(&a, 1);
    ui_axis_fit(&a, mixed, 4);
    ui_axis_finish(&a);
    ck_assert_double_eq_tol(a.lo, 0.01, 1e-7);
    ck_assert_double_eq(a.hi, 5);
}
END_TEST

START_TEST(linear_ticks_are_round)
{
    ui_axis a = {0.013, 0.87, 0};
    double t[8];
    int n = ui_axis_ticks(&a, t, 5);
    ck_assert_int_eq(n, 4);
    ck_assert_double_eq_tol(t[0], 0.2, 1e-12);
    ck_assert_double_eq_tol(t[3], 0.8, 1e-12);
}
END_TEST

START_TEST(sparkline_and_bar)
{
    char out[256];
    float v[] = {1, 2, 3, 4, 5, 6, 7, 8};
    ui_sparkline(v, 8, 8, 0, 0, out, sizeof out);
    ck_assert_str_eq(out, "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588");
    ui_sparkline(v, 8, 4, 0, 1, out, sizeof out); /* buckets 1.5 3.5 5.5 7.5 */
    ck_assert_str_eq(out, "_-+#");
    ui_sparkline(v, 2, 4, 0, 1, out, sizeof out); /* fewer points than cells: right-aligned */
    ck_assert_str_eq(out, "  _#");
    float decades[] = {0.001f, 0.01f, 0.1f, 1};
    ui_sparkline(decades, 4, 4, 1, 1, out, sizeof out);
    ck_assert_str_eq(out, "_-+#");
    ui_logbar(1e-3, 1e-5, 1e-1, 4, 0, out, sizeof out); /* half way in log terms */
    ck_assert_str_eq(out, "\u2588\u2588  ");
    ui_logbar(1e-1, 1e-5, 1e-1, 4, 1, out, sizeof out);
    ck_assert_str_eq(out, "####");
    ui_logbar(1e-9, 1e-5, 1e-1, 4, 1, out, sizeof out);
    ck_assert_str_eq(out, "....");
    ui_logbar(sqrt(10) * 1e-5, 1e-5, 1e-1, 4, 0, out, sizeof out); /* 1/8 of the way: half a cell */
    ck_assert_str_eq(out, "\u258c   ");
}
END_TEST

START_TEST(numbers_keep_three_digits)
{
    char b[32];
    ck_assert_str_eq(ui_fmt_num(0.000423, b, sizeof b), "0.000423");
    ck_assert_str_eq(ui_fmt_num(2.302585, b, sizeof b), "2.3");
    ck_assert_str_eq(ui_fmt_num(1e-7, b, sizeof b), "1e-07");
    ck_assert_str_eq(ui_fmt_num(NAN, b, sizeof b), "nan");
    ck_assert_str_eq(ui_fmt_num(-INFINITY, b, sizeof b), "-inf");
    ck_assert_str_eq(ui_fmt_rate(27134, b, sizeof b), "27.1k");
    ck_assert_str_eq(ui_fmt_rate(950, b, sizeof b), "950");
    ck_assert_str_eq(ui_fmt_duration(7, b, sizeof b), "0:07");
    ck_assert_str_eq(ui_fmt_duration(3723, b, sizeof b), "1:02:03");
    ck_assert_str_eq(ui_fmt_duration(-1, b, sizeof b), "--:--");
    ck_assert_str_eq(ui_fmt_count(101770, b, sizeof b), "101,770");
    ck_assert_str_eq(ui_fmt_count(999, b, sizeof b), "999");
}
END_TEST

static Suite *chart_suite(void)
{
    Suite *s = suite_create("chart");
    TCase *c = tcase_create("canvas");
    tcase_add_test(c, braille_diagonal);
    tcase_add_test(c, braille_line_joins_points);
    tcase_add_test(c, blocks_and_ascii);
    tcase_add_test(c, higher_layer_wins_a_cell);
    tcase_add_test(c, log_axis_is_a_true_log_scale);
    tcase_add_test(c, no_point_is_an_outlier);
    tcase_add_test(c, linear_ticks_are_round);
    tcase_add_test(c, sparkline_and_bar);
    tcase_add_test(c, numbers_keep_three_digits);
    suite_add_tcase(s, c);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(chart_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
