/* The search dashboard: a live table of a hyperparameter search's trials
 * (parameters, epoch and progress, test figures, state), the best finished
 * trial highlighted, redrawn at a fixed rate from snapshots of the search.
 * It only reads the search; the caller cancels it when the user quits. */
#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dash.h"
#include "term.h"

#define MIN_COLS 60
#define MIN_ROWS 10

enum { S_TEXT, S_DIM, S_TITLE, S_BEST, S_RUNNING, S_DONE, S_CUT, S_FAILED, S_COUNT };

typedef struct search_view {
    nn_search *search;
    dash_search_options opt;
    int n;
    nn_trial *trials;
    int colors, utf8;
    attr_t attr[S_COUNT];
    short pair[S_COUNT];
    WINDOW *win;
    int top;           /* first trial row shown */
    int follow;        /* keep the running trials in view */
    double start;
} search_view;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void style(search_view *v, int role, short fg, short bg, attr_t color_attr, attr_t mono_attr)
{
    if (v->colors) {
        init_pair((short)(role + 1), fg, bg);
        v->pair[role] = fg < 0 && bg < 0 ? 0 : (short)(role + 1);
        v->attr[role] = color_attr;
    } else {
        v->pair[role] = 0;
        v->attr[role] = mono_attr;
    }
}

static void put(search_view *v, int y, int x, int role, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

static void put(search_view *v, int y, int x, int role, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    int cols = getmaxx(v->win);
    if (x >= cols || y < 0 || y >= getmaxy(v->win))
        return;
    wattrset(v->win, v->attr[role] | COLOR_PAIR(v->pair[role]));
    mvwaddnstr(v->win, y, x, buf, cols - x);
}

static int role_of(const nn_trial *t, int best)
{
    if (t->id == best)
        return S_BEST;
    switch (t->state) {
    case NN_TRIAL_RUNNING: return S_RUNNING;
    case NN_TRIAL_DONE: return S_DONE;
    case NN_TRIAL_CUT:
    case NN_TRIAL_CANCELLED: return S_CUT;
    case NN_TRIAL_FAILED: return S_FAILED;
    default: return S_DIM;
    }
}

static void draw(search_view *v)
{
    WINDOW *w = v->win;
    werase(w);
    int rows = getmaxy(w), cols = getmaxx(w);
    if (rows < MIN_ROWS || cols < MIN_COLS) {
        put(v, 0, 0, S_TITLE, "terminal too small for the search table");
        put(v, 1, 0, S_TEXT, "(%dx%d, needs %dx%d); q quits", cols, rows, MIN_COLS, MIN_ROWS);
        wnoutrefresh(w);
        doupdate();
        return;
    }
    nn_search_snapshot(v->search, v->trials);
    int best = nn_search_best_of(v->trials, v->n), done = 0, first_active = -1;
    for (int i = 0; i < v->n; i++) {
        int st = v->trials[i].state;
        done += st == NN_TRIAL_DONE || st == NN_TRIAL_CUT || st == NN_TRIAL_FAILED || st == NN_TRIAL_CANCELLED;
        if (first_active < 0 && (st == NN_TRIAL_RUNNING || st == NN_TRIAL_PENDING))
            first_active = i;
    }
    int finished = nn_search_finished(v->search);
    double elapsed = now_seconds() - v->start;
    put(v, 0, 0, S_TITLE, "nnlab search  %s", v->opt.title ? v->opt.title : "");
    put(v, 0, cols - 30 > 0 ? cols - 30 : 0, S_TEXT, "%4d/%d finished  %7.1fs", done, v->n, elapsed);
    put(v, 1, 0, S_DIM, "%s", v->opt.subtitle ? v->opt.subtitle : "");
    if (best >= 0) {
        char params[256];
        nn_trial_config_format(&v->trials[best].config, params, sizeof params);
        put(v, 2, 0, S_BEST, " best: trial %d  %s  test accuracy %.2f%% ", best + 1, params,
            100 * v->trials[best].test_accuracy);
    } else {
        put(v, 2, 0, S_DIM, "best: none finished yet");
    }
    int pw = cols - 75 < 16 ? 16 : cols - 75 > 50 ? 50 : cols - 75;
    put(v, 4, 0, S_TITLE, "%5s  %-*s  %-13s %8s %9s %7s  %s", "trial", pw, "parameters", "epoch", "test acc", "test loss",
        "time", "state");
    int first_row = 5, shown = rows - first_row - 1;
    if (v->follow && first_active >= 0 && (first_active < v->top || first_active >= v->top + shown))
        v->top = first_active;
    if (v->top > v->n - shown)
        v->top = v->n - shown;
    if (v->top < 0)
        v->top = 0;
    for (int r = 0; r < shown && v->top + r < v->n; r++) {
        const nn_trial *t = &v->trials[v->top + r];
        char params[256], epoch[32], acc[16] = "", loss[16] = "";
        nn_trial_config_format(&t->config, params, sizeof params);
        int target = t->target > 0 ? t->target : t->hp.epochs;
        if (t->state == NN_TRIAL_RUNNING && t->steps_per_epoch > 0) {
            /* epochs done, and a bar for the epoch in progress */
            long in_epoch = t->step - (long)t->epoch * t->steps_per_epoch;
            int fill = (int)(6.0 * (double)in_epoch / (double)t->steps_per_epoch + 0.5);
            fill = fill < 0 ? 0 : fill > 6 ? 6 : fill;
            snprintf(epoch, sizeof epoch, "%d/%d [%.*s%*s]", t->epoch, target, fill, "######", 6 - fill, "");
        } else {
            snprintf(epoch, sizeof epoch, "%d/%d", t->epoch, t->hp.epochs);
        }
        if (!isnan(t->test_accuracy)) {
            snprintf(acc, sizeof acc, "%.2f%%", 100 * t->test_accuracy);
            snprintf(loss, sizeof loss, "%.4f", t->test_loss);
        }
        put(v, first_row + r, 0, role_of(t, best), "%5d  %-*.*s  %-13s %8s %9s %6.1fs  %s%s", t->id + 1, pw, pw, params,
            epoch, acc, loss, t->seconds, nn_trial_state_name(t->state), t->id == best ? "  <- best" : "");
    }
    const char *keys = finished ? "search finished: q leaves, up/down scroll"
                                : "q stops the search (finished trials are kept), up/down scroll";
    put(v, rows - 1, 0, S_DIM, "%s", keys);
    wnoutrefresh(w);
    doupdate();
}

int dash_search_run(nn_search *s, const dash_search_options *opt)
{
    search_view v;
    memset(&v, 0, sizeof v);
    v.search = s;
    v.opt = *opt;
    v.follow = 1;
    v.start = now_seconds();
    if (v.opt.fps <= 0)
        v.opt.fps = 10;
    v.n = nn_search_count(s);
    v.trials = calloc((size_t)v.n, sizeof *v.trials);
    if (!v.trials)
        return DASH_EXIT_ERROR;
    if (dash_term_open(v.opt.color, &v.utf8, &v.colors)) {
        free(v.trials);
        return DASH_EXIT_ERROR;
    }
    style(&v, S_TEXT, -1, -1, A_NORMAL, A_NORMAL);
    style(&v, S_DIM, v.colors >= 256 ? 245 : COLOR_WHITE, -1, v.colors >= 256 ? A_NORMAL : A_DIM, A_DIM);
    style(&v, S_TITLE, -1, -1, A_BOLD, A_BOLD);
    style(&v, S_BEST, COLOR_BLACK, COLOR_GREEN, A_BOLD, A_REVERSE | A_BOLD);
    style(&v, S_RUNNING, COLOR_CYAN, -1, A_BOLD, A_BOLD);
    style(&v, S_DONE, -1, -1, A_NORMAL, A_NORMAL);
    style(&v, S_CUT, v.colors >= 256 ? 245 : COLOR_WHITE, -1, A_NORMAL, A_DIM);
    style(&v, S_FAILED, COLOR_RED, -1, A_BOLD, A_BOLD);
    v.win = newwin(LINES, COLS, 0, 0);
    if (!v.win) {
        dash_term_close();
        free(v.trials);
        return DASH_EXIT_ERROR;
    }
    draw(&v);
    double period = 1.0 / v.opt.fps, next_frame = now_seconds() + period;
    int result = -1;
    struct pollfd fds[2] = {{.fd = STDIN_FILENO, .events = POLLIN}, {.fd = dash_term_signal_fd(), .events = POLLIN}};
    while (result < 0) {
        double now = now_seconds();
        int timeout = next_frame > now ? (int)ceil((next_frame - now) * 1000) : 0;
        if (poll(fds, 2, timeout) < 0 && errno != EINTR)
            break;
        int sig = dash_term_take_signals();
        if (sig & DASH_SIG_INT) {
            result = DASH_EXIT_INTERRUPTED;
            break;
        }
        if (sig & DASH_SIG_TERM) {
            result = DASH_EXIT_TERMINATED;
            break;
        }
        if (sig & DASH_SIG_TSTP) {
            dash_term_suspend();
            sig |= DASH_SIG_WINCH;
        }
        if (sig & (DASH_SIG_WINCH | DASH_SIG_CONT)) {
            dash_term_resize();
            wresize(v.win, LINES, COLS);
            clearok(curscr, TRUE);
            next_frame = 0;
        }
        int ch;
        while (result < 0 && (ch = getch()) != ERR) {
            if (ch == 'q' || ch == 'Q')
                result = DASH_EXIT_QUIT;
            else if (ch == KEY_UP || ch == 'k')
                v.top--, v.follow = 0;
            else if (ch == KEY_DOWN || ch == 'j')
                v.top++, v.follow = 0;
            else if (ch == KEY_PPAGE)
                v.top -= LINES / 2, v.follow = 0;
            else if (ch == KEY_NPAGE)
                v.top += LINES / 2, v.follow = 0;
            else if (ch == 'f')
                v.follow = 1;
            else if (ch == KEY_RESIZE)
                wresize(v.win, LINES, COLS);
            next_frame = 0;
        }
        if (result >= 0)
            break;
        now = now_seconds();
        if (now < next_frame)
            continue;
        draw(&v);
        next_frame = now + period;
        if (v.opt.exit_when_done && nn_search_finished(s))
            result = DASH_EXIT_DONE;
    }
    delwin(v.win);
    dash_term_close();
    free(v.trials);
    return result < 0 ? DASH_EXIT_QUIT : result;
}
