/* The dashboard's terminal: entering and leaving curses mode, and the
 * signals that must leave the terminal as it was found.
 *
 * Signal handlers only set flags and write a byte to a self-pipe, which the
 * main loop polls next to the keyboard.  The one exception is a crash
 * (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT): its handler puts back the
 * saved terminal modes and writes the reset sequences itself, both
 * async-signal-safe, then re-raises the signal with its default action. */
#ifndef DASH_TERM_H
#define DASH_TERM_H

enum dash_signal {
    DASH_SIG_INT = 1,       /* Ctrl-C */
    DASH_SIG_TERM = 2,      /* SIGTERM or SIGHUP */
    DASH_SIG_TSTP = 4,      /* Ctrl-Z */
    DASH_SIG_WINCH = 8,     /* resized */
    DASH_SIG_CONT = 16      /* continued after a stop */
};

/* Enter curses mode on the controlling terminal; *utf8 says whether the
 * locale's encoding is UTF-8 and *colors whether colour is available and
 * wanted.  Returns 0, or -1 if the terminal cannot be set up. */
int dash_term_open(int want_color, int *utf8, int *colors);
/* Leave curses mode and put the signal handlers back; safe to call twice. */
void dash_term_close(void);
/* The descriptor that becomes readable when a signal arrived. */
int dash_term_signal_fd(void);
/* The signals that arrived since the last call (enum dash_signal bits). */
int dash_term_take_signals(void);
/* Ctrl-Z: leave curses mode, stop, and come back redrawn on SIGCONT. */
void dash_term_suspend(void);
/* Take the terminal's new size after SIGWINCH. */
void dash_term_resize(void);

#endif
