/* The dashboard's colours: one colour pair and attribute per role, in the
 * usual scheme, a high-contrast one, or none (NO_COLOR, a terminal
 * without colours). */
#include "view.h"

static void set_role(dash *d, int role, short fg, short bg, attr_t color_attr, attr_t mono_attr)
{
    if (d->colors) {
        short pair = (short)(role + 1);
        init_pair(pair, fg, bg);
        d->pair[role] = fg < 0 && bg < 0 ? 0 : pair;
        d->attr[role] = color_attr;
    } else {
        d->pair[role] = 0;
        d->attr[role] = mono_attr;
    }
}

/* High contrast: bright colours in bold on black, nothing faint. */
static void init_contrast_styles(dash *d)
{
    short bg = COLOR_BLACK;
    set_role(d, ROLE_TEXT, COLOR_WHITE, bg, A_BOLD, A_BOLD);
    set_role(d, ROLE_DIM, COLOR_WHITE, bg, A_NORMAL, A_NORMAL);
    set_role(d, ROLE_TITLE, COLOR_WHITE, bg, A_BOLD, A_BOLD);
    set_role(d, ROLE_LOSS, COLOR_CYAN, bg, A_BOLD, A_BOLD);
    set_role(d, ROLE_ACC, COLOR_GREEN, bg, A_BOLD, A_BOLD);
    set_role(d, ROLE_TEST, COLOR_YELLOW, bg, A_BOLD, A_BOLD | A_UNDERLINE);
    set_role(d, ROLE_PREV, COLOR_MAGENTA, bg, A_BOLD, A_NORMAL);
    set_role(d, ROLE_MARK, COLOR_YELLOW, bg, A_BOLD, A_BOLD);
    set_role(d, ROLE_GOOD, COLOR_GREEN, bg, A_BOLD, A_BOLD);
    set_role(d, ROLE_WARN, COLOR_YELLOW, bg, A_BOLD, A_BOLD);
    set_role(d, ROLE_BAD, COLOR_RED, bg, A_BOLD, A_BOLD);
    set_role(d, ROLE_INFO, COLOR_CYAN, bg, A_BOLD, A_BOLD);
    set_role(d, ROLE_SELECT, COLOR_BLACK, COLOR_WHITE, A_BOLD, A_REVERSE);
    set_role(d, ROLE_RUNNING, COLOR_BLACK, COLOR_GREEN, A_BOLD, A_REVERSE | A_BOLD);
    set_role(d, ROLE_PAUSED, COLOR_BLACK, COLOR_YELLOW, A_BOLD, A_REVERSE | A_BOLD);
    set_role(d, ROLE_STEPPING, COLOR_BLACK, COLOR_CYAN, A_BOLD, A_REVERSE | A_BOLD);
    set_role(d, ROLE_DONE, COLOR_BLACK, COLOR_WHITE, A_BOLD, A_REVERSE | A_BOLD);
    set_role(d, ROLE_DIVERGED, COLOR_WHITE, COLOR_RED, A_BOLD, A_REVERSE | A_BOLD);
    set_role(d, ROLE_COLD, COLOR_CYAN, bg, A_BOLD, A_DIM);
    if (d->colors)
        bkgd(COLOR_PAIR(ROLE_TEXT + 1));
}

void dash_init_styles(dash *d)
{
    if (d->opt.contrast) {
        init_contrast_styles(d);
        return;
    }
    short grey = d->colors >= 256 ? 245 : COLOR_WHITE;
    attr_t faint = d->colors >= 256 ? A_NORMAL : A_DIM;
    set_role(d, ROLE_TEXT, -1, -1, A_NORMAL, A_NORMAL);
    set_role(d, ROLE_DIM, grey, -1, faint, A_DIM);
    set_role(d, ROLE_TITLE, -1, -1, A_BOLD, A_BOLD);
    set_role(d, ROLE_LOSS, COLOR_CYAN, -1, A_BOLD, A_BOLD);
    set_role(d, ROLE_ACC, COLOR_GREEN, -1, A_BOLD, A_BOLD);
    set_role(d, ROLE_TEST, COLOR_YELLOW, -1, A_BOLD, A_BOLD | A_UNDERLINE);
    set_role(d, ROLE_PREV, COLOR_MAGENTA, -1, A_NORMAL, A_DIM);
    set_role(d, ROLE_MARK, COLOR_YELLOW, -1, A_NORMAL, A_BOLD);
    set_role(d, ROLE_GOOD, COLOR_GREEN, -1, A_NORMAL, A_NORMAL);
    set_role(d, ROLE_WARN, COLOR_YELLOW, -1, A_NORMAL, A_BOLD);
    set_role(d, ROLE_BAD, COLOR_RED, -1, A_BOLD, A_BOLD);
    set_role(d, ROLE_INFO, COLOR_CYAN, -1, A_NORMAL, A_NORMAL);
    set_role(d, ROLE_SELECT, -1, -1, A_REVERSE, A_REVERSE);
    set_role(d, ROLE_RUNNING, COLOR_BLACK, COLOR_GREEN, A_BOLD, A_REVERSE | A_BOLD);
    set_role(d, ROLE_PAUSED, COLOR_BLACK, COLOR_YELLOW, A_BOLD, A_REVERSE | A_BOLD);
    set_role(d, ROLE_STEPPING, COLOR_BLACK, COLOR_CYAN, A_BOLD, A_REVERSE | A_BOLD);
    set_role(d, ROLE_DONE, COLOR_WHITE, COLOR_BLUE, A_BOLD, A_REVERSE | A_BOLD);
    set_role(d, ROLE_DIVERGED, COLOR_WHITE, COLOR_RED, A_BOLD, A_REVERSE | A_BOLD);
    set_role(d, ROLE_COLD, COLOR_BLUE, -1, A_BOLD, A_DIM);
}
