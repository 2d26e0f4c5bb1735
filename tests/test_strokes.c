/* Tests for nn/strokes.c and nn/canvas.c: the strokes format (and every
 * error pointing at its line and column), and the brush: continuous,
 * anti-aliased strokes that land 2-3 px wide once a digit is brought to
 * MNIST's 28x28. */
#include "canvas.h"
#include "preprocess.h"
#include "strokes.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CANVAS NN_CANVAS_SIZE
#define SIDE NN_MNIST_SIDE
#define PI 3.14159265358979323846

/* ---- parsing -------------------------------------------------------------- */

START_TEST(parse_drawings)
{
    const char *text = "# two drawings and a blank one\n"
                       "0.1,0.2 0.3,0.4\n"
                       "  0.5,0.5   # a dot\n"
                       "=\n"
                       "\n"
                       "=\r\n"
                       "0,1 1,0\t1,1\r\n"
                       "1e-1,.5\n";
    nn_strokes s;
    nn_error err;
    ck_assert_msg(nn_strokes_parse(&s, text, "t.strokes", &err) == NN_OK, "%s", err.msg);
    ck_assert_int_eq(s.n_drawings, 3);
    ck_assert_int_eq(s.drawings[0].n_strokes, 2);
    ck_assert_int_eq(s.drawings[0].line, 2);
    ck_assert_int_eq(s.drawings[0].strokes[0].n_points, 2);
    ck_assert_float_eq(s.drawings[0].strokes[0].points[1].x, 0.3f);
    ck_assert_float_eq(s.drawings[0].strokes[0].points[1].y, 0.4f);
    ck_assert_int_eq(s.drawings[0].strokes[1].n_points, 1);
    ck_assert_int_eq(s.drawings[1].n_strokes, 0); /* blank */
    ck_assert_int_eq(s.drawings[1].line, 6);
    ck_assert_int_eq(s.drawings[2].n_strokes, 2); /* no closing '=' */
    ck_assert_int_eq(s.drawings[2].line, 7);
    ck_assert_int_eq(s.drawings[2].strokes[0].n_points, 3);
    ck_assert_float_eq(s.drawings[2].strokes[0].points[2].x, 1.0f);
    ck_assert_float_eq(s.drawings[2].strokes[1].points[0].x, 0.1f);
    ck_assert_float_eq(s.drawings[2].strokes[1].points[0].y, 0.5f);
    nn_strokes_free(&s);

    ck_assert_int_eq(nn_strokes_parse(&s, "", "empty", &err), NN_OK);
    ck_assert_int_eq(s.n_drawings, 0);
    nn_strokes_free(&s);
    ck_assert_int_eq(nn_strokes_parse(&s, "# nothing\n\n", "empty", &err), NN_OK);
    ck_assert_int_eq(s.n_drawings, 0);
    nn_strokes_free(&s);
}
END_TEST

typedef struct bad_case {
    const char *text;
    const char *message; /* expected error, after "t.strokes:" */
} bad_case;

static const bad_case bad_cases[] = {
    {"0.1,0.2 0.3\n", "1:9: expected x,y (two numbers joined by a comma), found '0.3'"},
    {"0.1,abc\n", "1:5: expected a number, found 'abc'"},
    {"0.5,0.5\n0.1,1.5\n", "2:5: coordinate 1.5 is outside [0,1]"},
    {"-0.1,0.5", "1:1: coordinate -0.1 is outside [0,1]"},
    {"\n\n= 0.1,0.2\n", "3:3: '=' ends a drawing and must stand alone on its line"},
    {"nan,0.5\n", "1:1: expected a number, found 'nan'"},
    {"0.5,\n", "1:5: expected a number"},
    {",0.5\n", "1:1: expected a number"},
    {"0.1,0.2,0.3\n", "1:5: expected a number, found '0.2,0.3'"},
    {"0.2,0.2\n=\n  0.3,0.3 0.4;0.4\n", "3:11: expected x,y (two numbers joined by a comma), found '0.4;0.4'"},
    {"0.1,1e5\n", "1:5: coordinate 1e5 is outside [0,1]"},
    {"0.1,0x1p-1\n", "1:5: expected a number, found '0x1p-1'"},
};

START_TEST(parse_errors)
{
    const bad_case *c = &bad_cases[_i];
    nn_strokes s;
    nn_error err = {0};
    ck_assert_int_eq(nn_strokes_parse(&s, c->text, "t.strokes", &err), NN_EINPUT);
    char want[300];
    snprintf(want, sizeof want, "t.strokes:%s", c->message);
    ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "got \"%s\", want \"%s\"", err.msg, want);
    ck_assert_int_eq(s.n_drawings, 0);
    ck_assert_ptr_null(s.drawings);
}
END_TEST

START_TEST(load_files)
{
    char dir[] = "/tmp/nnlab-test-strokes-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    nn_strokes s;
    nn_error err;
    snprintf(path, sizeof path, "%s/a.strokes", dir);
    FILE *f = fopen(path, "wb");
    fputs("0.2,0.2 0.8,0.8\n=\n0.5,0.1 0.5,0.9\n=\n", f);
    fclose(f);
    ck_assert_msg(nn_strokes_load(&s, path, &err) == NN_OK, "%s", err.msg);
    ck_assert_int_eq(s.n_drawings, 2);
    nn_strokes_free(&s);

    f = fopen(path, "wb");
    fputs("0.2,0.2\n", f);
    fputc('\0', f);
    fclose(f);
    ck_assert_int_eq(nn_strokes_load(&s, path, &err), NN_EINPUT);
    ck_assert_msg(strstr(err.msg, "byte 8 is NUL") && strstr(err.msg, path), "%s", err.msg);

    f = fopen(path, "wb");
    fputs("0.2,0.2 0.3\n", f);
    fclose(f);
    ck_assert_int_eq(nn_strokes_load(&s, path, &err), NN_EINPUT);
    char want[300];
    snprintf(want, sizeof want, "%s:1:9:", path);
    ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "%s", err.msg);
    unlink(path);

    ck_assert_int_eq(nn_strokes_load(&s, path, &err), NN_EINPUT);
    ck_assert_msg(strstr(err.msg, "cannot open"), "%s", err.msg);
    rmdir(dir);
}
END_TEST

/* ---- rendering -------------------------------------------------------------- */

static double column_sum(const float *ink, int w, int h, int x)
{
    double s = 0;
    for (int y = 0; y < h; y++)
        s += ink[y * w + x];
    return s;
}

START_TEST(brush_on_canvas)
{
    nn_canvas c;
    ck_assert_int_eq(nn_canvas_new(&c, CANVAS, CANVAS, NULL), NN_OK);
    /* A horizontal line is 2r wide, with soft edges and a solid core. */
    nn_canvas_begin(&c, 40, 140.3f, 0);
    nn_canvas_line_to(&c, 240, 140.3f);
    nn_canvas_end(&c);
    double width = column_sum(c.ink, CANVAS, CANVAS, 140);
    ck_assert_msg(fabs(width - 2 * NN_CANVAS_BRUSH_RADIUS) < 0.5, "width %.2f", width);
    ck_assert_float_eq(c.ink[140 * CANVAS + 140], 1.0f);
    int soft = 0;
    for (int y = 0; y < CANVAS; y++) {
        float v = c.ink[y * CANVAS + 140];
        soft += v > 0.0f && v < 1.0f;
    }
    ck_assert_int_ge(soft, 1);
    /* Round caps: nothing beyond r+1 past the end points. */
    ck_assert_float_eq(column_sum(c.ink, CANVAS, CANVAS, 40 - (int)NN_CANVAS_BRUSH_RADIUS - 2), 0.0);
    ck_assert(column_sum(c.ink, CANVAS, CANVAS, 40 - (int)NN_CANVAS_BRUSH_RADIUS + 2) > 0.0);

    /* Two far-apart mouse positions still give an unbroken stroke. */
    nn_canvas_clear(&c);
    nn_canvas_begin(&c, 20, 20, 0);
    nn_canvas_line_to(&c, 260, 260);
    nn_canvas_end(&c);
    for (int t = 20; t <= 260; t++)
        ck_assert_float_eq(c.ink[t * CANVAS + t], 1.0f);

    /* Overlapping strokes do not darken beyond full ink, and a dot is a disc. */
    nn_canvas_clear(&c);
    nn_canvas_begin(&c, 140, 140, 0);
    nn_canvas_line_to(&c, 140, 140);
    nn_canvas_line_to(&c, 140.5f, 140);
    nn_canvas_end(&c);
    double area = 0;
    for (int i = 0; i < CANVAS * CANVAS; i++) {
        ck_assert(c.ink[i] <= 1.0f);
        area += c.ink[i];
    }
    double disc = PI * (NN_CANVAS_BRUSH_RADIUS + 0.5) * (NN_CANVAS_BRUSH_RADIUS + 0.5);
    ck_assert_msg(fabs(area - disc) < 0.05 * disc, "dot area %.1f, disc %.1f", area, disc);

    /* The eraser removes what it passes over, and nothing else. */
    nn_canvas_clear(&c);
    nn_canvas_begin(&c, 40, 140, 0);
    nn_canvas_line_to(&c, 240, 140);
    nn_canvas_end(&c);
    nn_canvas_begin(&c, 140, 100, 1);
    nn_canvas_line_to(&c, 140, 180);
    nn_canvas_end(&c);
    ck_assert_float_eq(c.ink[140 * CANVAS + 140], 0.0f);
    ck_assert_float_eq(c.ink[140 * CANVAS + 60], 1.0f);
    ck_assert(!nn_canvas_blank(&c));
    nn_canvas_clear(&c);
    ck_assert(nn_canvas_blank(&c));
    /* Off-canvas and non-finite points are harmless. */
    nn_canvas_begin(&c, -500, -500, 0);
    nn_canvas_line_to(&c, -400, 2000);
    nn_canvas_line_to(&c, NAN, 5);
    nn_canvas_end(&c);
    ck_assert(nn_canvas_blank(&c));
    nn_canvas_free(&c);
}
END_TEST

/* Stroke width at 28x28: the ink across one stroke, summed along a line
 * crossing it, for digits of the sizes people draw (55-80% of the pad). */
START_TEST(width_at_28x28)
{
    nn_canvas c;
    ck_assert_int_eq(nn_canvas_new(&c, CANVAS, CANVAS, NULL), NN_OK);
    float out[SIDE * SIDE];
    for (float size = 0.55f; size <= 0.801f; size += 0.05f) {
        /* A "1": one vertical stroke; each row in its middle crosses it once. */
        char text[200];
        snprintf(text, sizeof text, "0.5,%.3f 0.5,%.3f\n", 0.5 - size / 2, 0.5 + size / 2);
        nn_strokes s;
        ck_assert_int_eq(nn_strokes_parse(&s, text, "one", NULL), NN_OK);
        nn_strokes_render(&s.drawings[0], &c);
        nn_strokes_free(&s);
        nn_preprocess_info info;
        ck_assert_int_eq(nn_preprocess_mnist(c.ink, CANVAS, CANVAS, CANVAS, out, &info, NULL), NN_OK);
        for (int y = 10; y < 18; y++) {
            double w = 0;
            for (int x = 0; x < SIDE; x++)
                w += out[y * SIDE + x];
            /* The crop is exactly the stroke here, so the width is the
             * rounded scaled box width: a whole number. */
            ck_assert_msg(w >= 1.999 && w <= 3.0, "size %.2f row %d: width %.2f px", size, y, w);
        }
        /* A "0": an ellipse of that height; the row through its middle
         * crosses two strokes. */
        const int n = 48;
        static char ring[(48 + 1) * 16 + 8];
        char *p = ring;
        for (int k = 0; k <= n; k++) {
            double a = 2 * PI * k / n;
            p += sprintf(p, "%.4f,%.4f ", 0.5 + 0.32 * size * sin(a), 0.5 - 0.5 * size * cos(a));
        }
        ck_assert_int_eq(nn_strokes_parse(&s, ring, "zero", NULL), NN_OK);
        nn_strokes_render(&s.drawings[0], &c);
        nn_strokes_free(&s);
        ck_assert_int_eq(nn_preprocess_mnist(c.ink, CANVAS, CANVAS, CANVAS, out, &info, NULL), NN_OK);
        int mid = (int)lroundf(info.centre_y);
        double w = 0;
        for (int x = 0; x < SIDE; x++)
            w += out[mid * SIDE + x];
        ck_assert_msg(w / 2 >= 2.0 && w / 2 <= 3.0, "zero, size %.2f: width %.2f px", size, w / 2);
    }
    nn_canvas_free(&c);
}
END_TEST

START_TEST(render_matches_pad_strokes)
{
    /* A strokes file draws exactly what the same pointer moves on the pad would. */
    nn_strokes s;
    ck_assert_int_eq(nn_strokes_parse(&s, "0.2,0.2 0.8,0.25 0.5,0.9\n0.35,0.55 0.7,0.55\n", "seven", NULL), NN_OK);
    nn_canvas a, b;
    ck_assert_int_eq(nn_canvas_new(&a, CANVAS, CANVAS, NULL), NN_OK);
    ck_assert_int_eq(nn_canvas_new(&b, CANVAS, CANVAS, NULL), NN_OK);
    nn_strokes_render(&s.drawings[0], &a);
    nn_canvas_begin(&b, 0.2f * CANVAS, 0.2f * CANVAS, 0);
    nn_canvas_line_to(&b, 0.8f * CANVAS, 0.25f * CANVAS);
    nn_canvas_line_to(&b, 0.5f * CANVAS, 0.9f * CANVAS);
    nn_canvas_end(&b);
    nn_canvas_begin(&b, 0.35f * CANVAS, 0.55f * CANVAS, 0);
    nn_canvas_line_to(&b, 0.7f * CANVAS, 0.55f * CANVAS);
    nn_canvas_end(&b);
    ck_assert_int_eq(memcmp(a.ink, b.ink, sizeof(float) * CANVAS * CANVAS), 0);
    /* Rendering clears what was there before. */
    nn_strokes_render(&s.drawings[0], &b);
    ck_assert_int_eq(memcmp(a.ink, b.ink, sizeof(float) * CANVAS * CANVAS), 0);
    nn_canvas_free(&a);
    nn_canvas_free(&b);
    nn_strokes_free(&s);
}
END_TEST

static Suite *strokes_suite(void)
{
    Suite *s = suite_create("strokes");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, parse_drawings);
    tcase_add_loop_test(tc, parse_errors, 0, (int)(sizeof bad_cases / sizeof *bad_cases));
    tcase_add_test(tc, load_files);
    suite_add_tcase(s, tc);
    tc = tcase_create("render");
    tcase_add_test(tc, brush_on_canvas);
    tcase_add_test(tc, width_at_28x28);
    tcase_add_test(tc, render_matches_pad_strokes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(strokes_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
