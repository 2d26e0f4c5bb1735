/* Curses set-up and teardown, and every exit path's terminal restore. */
#include "term.h"

#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

static int active;
static int pipe_fd[2] = {-1, -1};
static volatile sig_atomic_t pending;
static struct termios saved_modes;
static int have_saved_modes;

static const int async_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGTSTP, SIGWINCH, SIGCONT};
static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#define N_ASYNC (int)(sizeof async_signals / sizeof *async_signals)
#define N_CRASH (int)(sizeof crash_signals / sizeof *crash_signals)
static struct sigaction old_async[N_ASYNC], old_crash[N_CRASH];

static void on_signal(int sig)
{
    int saved_errno = errno;
    switch (sig) {
    case SIGINT:
        pending |= DASH_SIG_INT;
        break;
    case SIGTERM:
    case SIGHUP:
        pending |= DASH_SIG_TERM;
        break;
    case SIGTSTP:
        pending |= DASH_SIG_TSTP;
        break;
    case SIGWINCH:
        pending |= DASH_SIG_WINCH;
        break;
    case SIGCONT:
        pending |= DASH_SIG_CONT;
        break;
    }
    if (pipe_fd[1] >= 0) {
        char byte = 1;
        ssize_t ignored = write(pipe_fd[1], &byte, 1);
        (void)ignored;
    }
    errno = saved_errno;
}

/* Leave the alternate screen, show the cursor, reset attributes and the
 * keypad mode, and put the terminal modes back: what endwin would do,
 * using only async-signal-safe calls. */
static void raw_restore(void)
{
    static const char reset[] = "\033[0m\033[?25h\033[?1l\033>\033[?1049l\r\n";
    ssize_t ignored = write(STDOUT_FILENO, reset, sizeof reset - 1);
    (void)ignored;
    if (have_saved_modes)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_modes);
}

static void on_crash(int sig)
{
    if (active)
        raw_restore();
    active = 0;
    /* SA_RESETHAND put the default action back: the re-raised signal ends
     * the process as it would have without us (core dump included). */
    raise(sig);
}

static void restore_at_exit(void)
{
    if (active)
        dash_term_close();
}

static void install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    for (int i = 0; i < N_ASYNC; i++)
        sigaction(async_signals[i], &sa, &old_async[i]);
    sa.sa_handler = on_crash;
    sa.sa_flags = SA_RESETHAND | SA_NODEFER;
    for (int i = 0; i < N_CRASH; i++)
        sigaction(crash_signals[i], &sa, &old_crash[i]);
}

static void remove_handlers(void)
{
    for (int i = 0; i < N_ASYNC; i++)
        sigaction(async_signals[i], &old_async[i], NULL);
    for (int i = 0; i < N_CRASH; i++)
        sigaction(crash_signals[i], &old_crash[i], NULL);
}

int dash_term_open(int want_color, int *utf8, int *colors)
{
    static int registered;
    setlocale(LC_ALL, "");
    const char *codeset = nl_langinfo(CODESET);
    *utf8 = codeset && (!strcmp(codeset, "UTF-8") || !strcmp(codeset, "utf8"));
    if (tcgetattr(STDIN_FILENO, &saved_modes) == 0)
        have_saved_modes = 1;
    if (pipe_fd[0] < 0) {
        if (pipe(pipe_fd) != 0)
            return -1;
        for (int i = 0; i < 2; i++) {
            fcntl(pipe_fd[i], F_SETFL, fcntl(pipe_fd[i], F_GETFL) | O_NONBLOCK);
            fcntl(pipe_fd[i], F_SETFD, FD_CLOEXEC);
        }
    }
    /* Handlers first: ncurses then leaves SIGWINCH and SIGTSTP to us. */
    install_handlers();
    if (!registered) {
        atexit(restore_at_exit);
        registered = 1;
    }
    set_escdelay(25);
    if (!initscr()) {
        remove_handlers();
        return -1;
    }
    active = 1;
    cbreak(); /* Ctrl-C and Ctrl-Z stay signals */
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    curs_set(0);
    *colors = 0;
    if (want_color && has_colors() && start_color() == OK) {
        use_default_colors();
        *colors = COLORS >= 256 ? 256 : 8;
    }
    /* stdscr is never drawn on: the panels are windows of their own.  One
     * refresh now clears the screen, so that reading keys from stdscr
     * never repaints it over them. */
    refresh();
    return 0;
}

void dash_term_close(void)
{
    if (!active)
        return;
    endwin();
    active = 0;
    remove_handlers();
}

int dash_term_signal_fd(void)
{
    return pipe_fd[0];
}

int dash_term_take_signals(void)
{
    char buf[64];
    while (read(pipe_fd[0], buf, sizeof buf) > 0)
        ;
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    int got = pending;
    pending = 0;
    sigprocmask(SIG_SETMASK, &old, NULL);
    return got;
}

void dash_term_resize(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
        resizeterm(ws.ws_row, ws.ws_col);
}

void dash_term_suspend(void)
{
    endwin();
    struct sigaction dfl, ours;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGTSTP, &dfl, &ours);
    sigset_t tstp, old;
    sigemptyset(&tstp);
    sigaddset(&tstp, SIGTSTP);
    pthread_sigmask(SIG_UNBLOCK, &tstp, &old);
    raise(SIGTSTP); /* stops here until SIGCONT */
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    sigaction(SIGTSTP, &ours, NULL);
    dash_term_resize();
    clearok(curscr, TRUE);
    doupdate();
}
