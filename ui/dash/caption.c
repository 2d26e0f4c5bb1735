/* The lesson's caption panel: the step's caption wrapped to the panel
 * (words kept whole, wide CJK characters counted as two cells and broken
 * between), the newest assertion results and what the lesson does now. */
#include <string.h>

#include "view.h"

/* The end (in bytes) of the line of text starting at s that fits in width
 * cells; *next is where the following line starts. */
static const char *wrap(const char *s, int width, const char **next)
{
    const char *p = s, *brk = NULL, *brk_next = NULL;
    int cells = 0;
    while (*p && *p != '\n') {
        unsigned cp;
        int len = dash_next_char(p, &cp);
        int cw = dash_char_width(cp);
        if (cp == ' ') {
            brk = p;
            brk_next = p + 1;
        } else if (cw == 2 && p != s) { /* between wide characters a line may break */
            brk = p;
            brk_next = p;
        }
        if (cells + cw > width) {
            if (brk && brk > s) {
                *next = brk_next;
                return brk;
            }
            *next = p == s ? p + len : p; /* a word longer than the line is cut */
            return *next;
        }
        cells += cw;
        p += len;
        if (cw == 2) { /* and after one */
            brk = p;
            brk_next = p;
        }
    }
    *next = *p == '\n' ? p + 1 : p;
    return p;
}

/* Rows of the caption's text wrapped to width cells. */
static int caption_lines(const char *s, int width)
{
    int n = 0;
    while (*s && width > 0 && n < 100) {
        const char *next;
        wrap(s, width, &next);
        s = next;
        n++;
    }
    return n;
}

int dash_caption_height(const dash *d, int cols)
{
    int margin = d->opt.big ? 3 : 2;
    int lines = caption_lines(d->caption.text, cols - 2 * margin);
    if (lines < (d->opt.big ? 4 : 3))
        lines = d->opt.big ? 4 : 3;
    return 1 + lines + (d->opt.big ? 3 : 2) + 1; /* title, text, results, status */
}

void dash_draw_caption(dash *d, WINDOW *w)
{
    const dash_caption *c = &d->caption;
    int rows, cols;
    getmaxyx(w, rows, cols);
    werase(w);
    char right[64];
    snprintf(right, sizeof right, "step %d/%d", c->step, c->steps);
    char title[300];
    snprintf(title, sizeof title, "%s", c->title);
    dash_title(d, w, title, right);
    int n_results = d->opt.big ? 3 : 2;
    if (rows < 6)
        n_results = rows > 3 ? 1 : 0;
    int text_rows = rows - 2 - n_results;
    int margin = d->opt.big ? 3 : 2;
    int width = cols - 2 * margin;
    const char *s = c->text;
    int caption_role = d->opt.big ? ROLE_TITLE : ROLE_TEXT;
    for (int y = 1; y <= text_rows && *s && width > 0; y++) {
        const char *next, *end = wrap(s, width, &next);
        char line[1024];
        size_t n = (size_t)(end - s) < sizeof line - 1 ? (size_t)(end - s) : sizeof line - 1;
        memcpy(line, s, n);
        line[n] = '\0';
        dash_put(d, w, y, margin, width, caption_role, line);
        s = next;
    }
    int y = rows - 1 - n_results;
    for (int i = 3 - n_results; i < 3; i++, y++) {
        const char *r = c->results[i];
        if (!*r)
            continue;
        int bad = !strncmp(r, "FAILED", 6);
        int x = margin + dash_put(d, w, y, margin, 2, bad ? ROLE_BAD : ROLE_GOOD,
                                  bad ? dash_glyph(d, "\u2717 ", "x ") : dash_glyph(d, "\u2713 ", "+ "));
        dash_put(d, w, y, x, cols - x - 1, bad ? ROLE_BAD : ROLE_TEXT, r + 7);
    }
    y = rows - 1;
    char status[320];
    int role;
    if (c->ended) {
        snprintf(status, sizeof status, " lesson done: %d expectation%s held, %d failed ", c->passed,
                 c->passed == 1 ? "" : "s", c->failed);
        role = c->failed ? ROLE_DIVERGED : ROLE_DONE;
    } else if (c->waiting) {
        snprintf(status, sizeof status, " Enter: next step ");
        role = ROLE_PAUSED;
    } else {
        snprintf(status, sizeof status, " %s %s ", dash_glyph(d, "\u25b6", ">"), c->doing[0] ? c->doing : "...");
        role = ROLE_STEPPING;
    }
    int x = margin + dash_put(d, w, y, margin, cols - margin, role, status);
    if (!c->ended && c->waiting && c->doing[0])
        dash_putf(d, w, y, x + 2, cols - x - 3, ROLE_DIM, "(done: %s)", c->doing);
    wnoutrefresh(w);
}
