/* `nnlab lesson`: a classroom scenario from assets/lessons, on the
 * dashboard with a caption panel (Enter for the next step), or as plain
 * lines with --no-tui; --auto runs it unattended and fails when one of its
 * assertions does not hold. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "json.h"
#include "lesson.h"
#include "lesson_run.h"
#include "nnlab_config.h"
#if NNLAB_HAVE_TUI
#include "dash.h"
#endif
#if NNLAB_HAVE_GUI
#include "pad.h"
#endif

static const char lesson_help[] =
    "Usage: nnlab lesson [NAME|FILE] [options]\n"
    "\n"
    "Classroom lessons: each core idea of neural-network training as a scenario\n"
    "to show on a projector. A lesson trains a model on a small subset of the\n"
    "digits in steps; each step has a caption and actions (a learning rate, a new\n"
    "run whose predecessors stay on the chart as faint curves, a number of epochs\n"
    "or single steps, pruning...) and checks what it should show.\n"
    "\n"
    "With no name, lists the lessons in assets/lessons. With a name, runs it on the\n"
    "dashboard: the caption is in the panel at the bottom, Enter goes to the next\n"
    "step when the current one is done, and every other key works as in train\n"
    "(space pauses, + and - change the learning rate, q quits, ? lists them).\n"
    "The drawing pad opens too where a display is available.\n"
    "\n"
    "Options:\n"
    "  --auto                each step follows the one before as soon as its actions\n"
    "                        are done; the exit status is 1 if an expectation failed\n"
    "  --lang en|zh          caption language (default from LC_ALL, LC_MESSAGES or\n"
    "                        LANG: zh* gives Simplified Chinese, else English)\n"
    "  --big                 a dashboard of fewer, larger panels for a projector\n"
    "  --contrast high       a high-contrast colour scheme\n"
    "  --data DIR            the dataset (default data/mnist-small)\n"
    "  --no-tui              plain lines (captions, actions and results) instead of\n"
    "                        the dashboard; Enter on stdin for the next step\n"
    "  --no-gui              no drawing pad\n"
    "  --no-color            a dashboard without colours (as does NO_COLOR=1)\n"
    "  --fps N               dashboard redraws per second (default 10)\n"
    "  --json                at the end, one JSON object on stdout: the lesson, its\n"
    "                        steps, and every expectation with the figure it compared\n"
    "                        (the plain lines then go to stderr)\n"
    "  -h, --help            this help\n"
    "\n"
    "Examples:\n"
    "  nnlab lesson                                   the list\n"
    "  nnlab lesson gradient-descent                  on the dashboard\n"
    "  nnlab lesson init --lang zh --big              in Chinese, large panels\n"
    "  nnlab lesson overfitting --auto --no-tui       unattended, as CI runs it\n"
    "  nnlab lesson init --auto --no-tui --json       its figures for a script\n";

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

typedef struct lesson_options {
    const char *name;
    const char *data;
    const char *lang;
    int auto_advance, big, contrast, no_tui, no_gui, no_color, json;
    long fps;
} lesson_options;

static int parse_options(int argc, char **argv, lesson_options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *value;
        int r;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(lesson_help, stdout);
            exit(0);
        } else if (!strcmp(argv[i], "--auto")) {
            o->auto_advance = 1;
        } else if (!strcmp(argv[i], "--big")) {
            o->big = 1;
        } else if (!strcmp(argv[i], "--no-tui")) {
            o->no_tui = 1;
        } else if (!strcmp(argv[i], "--no-gui")) {
            o->no_gui = 1;
        } else if (!strcmp(argv[i], "--no-color")) {
            o->no_color = 1;
        } else if (!strcmp(argv[i], "--json")) {
            o->json = 1;
        } else if ((r = cli_option(argc, argv, &i, "lang", &value))) {
            if (r < 0)
                return EXIT_USAGE;
            if (strcmp(value, "en") && strcmp(value, "zh")) {
                cli_error("--lang: '%s' is not a caption language (expected en or zh)", value);
                return EXIT_USAGE;
            }
            o->lang = value;
        } else if ((r = cli_option(argc, argv, &i, "contrast", &value))) {
            if (r < 0)
                return EXIT_USAGE;
            if (strcmp(value, "high") && strcmp(value, "normal")) {
                cli_error("--contrast: '%s' is not a scheme (expected high or normal)", value);
                return EXIT_USAGE;
            }
            o->contrast = !strcmp(value, "high");
        } else if ((r = cli_option(argc, argv, &i, "data", &value))) {
            if (r < 0)
                return EXIT_USAGE;
            o->data = value;
        } else if ((r = cli_option(argc, argv, &i, "fps", &value))) {
            if (r < 0)
                return EXIT_USAGE;
            char *end;
            o->fps = strtol(value, &end, 10);
            if (end == value || *end || o->fps < 1 || o->fps > 60) {
                cli_error("--fps: '%s' is not a whole number in 1..60", value);
                return EXIT_USAGE;
            }
        } else if (argv[i][0] == '-' && argv[i][1]) {
            cli_error("lesson: unknown option '%s' (see nnlab lesson --help)", argv[i]);
            return EXIT_USAGE;
        } else if (o->name) {
            cli_error("lesson: one lesson at a time ('%s' and '%s')", o->name, argv[i]);
            return EXIT_USAGE;
        } else {
            o->name = argv[i];
        }
    }
    return 0;
}

static int language(const lesson_options *o)
{
    if (o->lang)
        return !strcmp(o->lang, "zh") ? NN_LANG_ZH : NN_LANG_EN;
    const char *vars[] = {"LC_ALL", "LC_MESSAGES", "LANG"};
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return nn_lang_from_locale(v);
    }
    return NN_LANG_EN;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lessons in assets/lessons, each with its title. */
static int list_lessons(int lang)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/assets/lessons", cli_root());
    DIR *d = opendir(dir);
    if (!d) {
        cli_error("%s: no lessons directory", dir);
        return EXIT_RUNTIME;
    }
    char *names[256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 256) {
        size_t len = strlen(e->d_name);
        if (len > 7 && !strcmp(e->d_name + len - 7, ".lesson"))
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, compare_names);
    printf("Lessons (nnlab lesson NAME):\n");
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        names[i][strlen(names[i]) - 7] = '\0';
        nn_lesson l;
        nn_error err;
        if (nn_lesson_load(&l, path, &err)) {
            printf("  %-18s (cannot be read: %s)\n", names[i], err.msg);
            rc = EXIT_USAGE;
        } else {
            printf("  %-18s %s\n", names[i], nn_lesson_title(&l, lang));
            nn_lesson_free(&l);
        }
        free(names[i]);
    }
    return rc;
}

/* NAME in assets/lessons, or a file. */
static void lesson_path(const char *name, char *path, size_t len)
{
    if (strchr(name, '/') || access(name, R_OK) == 0)
        snprintf(path, len, "%s", name);
    else
        snprintf(path, len, "%s/assets/lessons/%s.lesson", cli_root(), name);
}

/* ---- the interfaces ------------------------------------------------------------------ */

typedef struct lesson_ui {
    lesson_run *run;
    int key;                /* a key the lesson pressed, for the dashboard */
    const lesson_options *o;
#if NNLAB_HAVE_GUI
    pad *pad;
    char font[4096];
    const char *pad_view;   /* a view asked for before the pad was open */
#endif
} lesson_ui;

static void on_key(void *ctx, int key)
{
    lesson_ui *ui = ctx;
    ui->key = key;
}

#if NNLAB_HAVE_GUI
static void on_pad(void *ctx, const char *view)
{
    lesson_ui *ui = ctx;
    if (ui->pad)
        pad_show(ui->pad, view);
}

/* A new model: the pad follows it (before its trainer thread starts, as
 * opening a window may fork). */
static void on_session(void *ctx, nn_session *s, const nn_spec *spec, const char *model)
{
    lesson_ui *ui = ctx;
    if (ui->o->no_gui || !pad_display_available())
        return;
    if (ui->pad)
        pad_close(ui->pad);
    pad_config cfg = {.title = model, .font_path = ui->font, .spec = spec, .session = s, .big = 1};
    nn_error err;
    if (pad_open(&ui->pad, &cfg, &err)) {
        cli_error("no drawing pad: %s (the lesson goes on without it; --no-gui)", err.msg);
        ui->pad = NULL;
    }
}

/* The pad's turn in the loop; returns 1 when q was pressed there. */
static int serve_pad(void *ctx, int timeout_ms)
{
    lesson_ui *ui = ctx;
    if (!ui->pad) {
        if (timeout_ms > 0)
            nanosleep(&(struct timespec){0, timeout_ms * 1000000L}, NULL);
        return 0;
    }
    int r = pad_update(ui->pad, timeout_ms);
    if (r == PAD_CLOSED) {
        pad_close(ui->pad);
        ui->pad = NULL;
        return 0;
    }
    return r == PAD_QUIT;
}
#else
static int serve_pad(void *ctx, int timeout_ms)
{
    (void)ctx;
    if (timeout_ms > 0)
        nanosleep(&(struct timespec){0, timeout_ms * 1000000L}, NULL);
    return 0;
}
#endif

#if NNLAB_HAVE_TUI
static nn_session *dash_tick(void *ctx, dash_caption *c)
{
    lesson_ui *ui = ctx;
    lesson_run_tick(ui->run);
    lesson_view v;
    lesson_run_view(ui->run, &v);
    snprintf(c->title, sizeof c->title, "%s", v.title);
    snprintf(c->text, sizeof c->text, "%s", v.caption);
    snprintf(c->doing, sizeof c->doing, "%s", v.doing);
    for (int i = 0; i < 3; i++)
        snprintf(c->results[i], sizeof c->results[i], "%s", v.results[i]);
    c->step = v.step;
    c->steps = v.steps;
    c->waiting = v.state == LESSON_WAITING;
    c->ended = v.state == LESSON_END;
    c->passed = v.passed;
    c->failed = v.failed;
    c->key = ui->key;
    ui->key = 0;
    snprintf(c->model, sizeof c->model, "%s", lesson_run_model(ui->run));
    return lesson_run_session(ui->run);
}

static void dash_enter(void *ctx)
{
    lesson_ui *ui = ctx;
    lesson_run_next(ui->run);
}
#endif

/* Without the dashboard: plain lines, Enter on stdin between steps. */
static int run_plain(lesson_ui *ui)
{
    int waiting_said = 0;
    for (;;) {
        if (interrupted)
            return EXIT_INTERRUPTED;
        int state = lesson_run_tick(ui->run);
        if (state == LESSON_END)
            return 0;
        if (state == LESSON_WAITING) {
            if (!waiting_said) {
                printf("  (Enter for the next step)\n");
                fflush(stdout);
                waiting_said = 1;
            }
            struct timeval tv = {0, 0};
            fd_set fds;
            FD_ZERO(&fds);
            FD_SET(STDIN_FILENO, &fds);
            if (select(STDIN_FILENO + 1, &fds, NULL, NULL, &tv) > 0) {
                /* A line, or the end of the input (which then reads as
                 * ready every time: the rest runs unattended). */
                char line[256];
                if (!fgets(line, sizeof line, stdin))
                    clearerr(stdin);
                lesson_run_next(ui->run);
                waiting_said = 0;
            }
        }
        if (serve_pad(ui, 10))
            return EXIT_INTERRUPTED;
    }
}

static void write_json(lesson_run *run, const nn_lesson *l, const char *name, int lang, int interrupted)
{
    const lesson_result *res;
    int n = lesson_run_results(run, &res);
    int passed = 0;
    for (int i = 0; i < n; i++)
        passed += res[i].ok;
    json_writer j;
    json_init(&j, stdout);
    json_object_begin(&j, NULL);
    json_string(&j, "lesson", name);
    json_string(&j, "title", nn_lesson_title(l, lang));
    json_string(&j, "lang", nn_lang_name(lang));
    json_int(&j, "steps", l->n_steps);
    json_int(&j, "passed", passed);
    json_int(&j, "failed", n - passed);
    json_number(&j, "seconds", lesson_run_seconds(run));
    json_bool(&j, "interrupted", interrupted);
    json_array_begin(&j, "expectations");
    for (int i = 0; i < n; i++) {
        json_object_begin(&j, NULL);
        json_int(&j, "step", res[i].step);
        json_string(&j, "expect", res[i].expect);
        json_bool(&j, "ok", res[i].ok);
        json_number(&j, "value", res[i].value);
        json_string(&j, "detail", res[i].detail);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
    json_finish(&j);
}

int cmd_lesson(int argc, char **argv)
{
    lesson_options o = {0};
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc;
    int lang = language(&o);
    if (!o.name)
        return list_lessons(lang);
    char path[4096];
    lesson_path(o.name, path, sizeof path);
    nn_lesson l;
    nn_error err;
    if (nn_lesson_load(&l, path, &err)) {
        if (access(path, R_OK) != 0)
            cli_error("no lesson '%s' (nnlab lesson lists them)", o.name);
        else
            cli_report(&err);
        return EXIT_USAGE;
    }
    char data[4096];
    if (o.data)
        snprintf(data, sizeof data, "%s", o.data);
    else
        cli_default_data(data, sizeof data);
    const char *term = getenv("TERM");
    int use_tui = NNLAB_HAVE_TUI && !o.no_tui && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO) && term && *term &&
                  strcmp(term, "dumb") != 0;
    /* Unattended without a terminal to press Enter on. */
    if (!use_tui && !isatty(STDIN_FILENO))
        o.auto_advance = 1;
    lesson_ui ui = {.o = &o};
#if NNLAB_HAVE_GUI
    cli_font_path(ui.font, sizeof ui.font);
#endif
    FILE *log = NULL;
    char *log_text = NULL;
    size_t log_len = 0;
    if (use_tui && !(log = open_memstream(&log_text, &log_len))) {
        cli_error("out of memory");
        nn_lesson_free(&l);
        return EXIT_RUNTIME;
    }
    char name[256];
    const char *base = strrchr(o.name, '/') ? strrchr(o.name, '/') + 1 : o.name;
    snprintf(name, sizeof name, "%s", base);
    if (strlen(name) > 7 && !strcmp(name + strlen(name) - 7, ".lesson"))
        name[strlen(name) - 7] = '\0';
    lesson_run_config cfg = {
        .lesson = &l,
        .name = name,
        .lang = lang,
        .auto_advance = o.auto_advance,
        .out = use_tui ? log : o.json ? stderr : stdout,
        .data_dir = data,
        .snapshots = !o.no_gui && NNLAB_HAVE_GUI,
        .pace_ms = o.auto_advance ? 0 : 600,
        .on_key = on_key,
#if NNLAB_HAVE_GUI
        .on_session = on_session,
        .on_pad = on_pad,
#endif
        .ctx = &ui,
    };
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    if ((rc = lesson_run_new(&ui.run, &cfg))) {
        if (log)
            fclose(log);
        free(log_text);
        nn_lesson_free(&l);
        return rc;
    }
#if NNLAB_HAVE_TUI
    if (use_tui) {
        const char *no_color = getenv("NO_COLOR");
        dash_options d = {
            .model = lesson_run_model(ui.run),
            .data = data,
            .fps = (int)o.fps,
            .color = !o.no_color && !(no_color && *no_color),
            .big = o.big,
            .contrast = o.contrast,
            .lesson_tick = dash_tick,
            .lesson_enter = dash_enter,
            .lesson_ctx = &ui,
            .exit_when_done = o.auto_advance,
            .serve = serve_pad,
            .serve_ctx = &ui,
        };
        int how = dash_run(lesson_run_session(ui.run), &d);
        if (how == DASH_EXIT_ERROR) {
            cli_error("cannot set up the terminal for the dashboard (nnlab lesson --no-tui runs without it)");
            rc = EXIT_RUNTIME;
        } else if (how == DASH_EXIT_INTERRUPTED || how == DASH_EXIT_TERMINATED) {
            rc = EXIT_INTERRUPTED;
        }
    } else
#endif
    {
        rc = run_plain(&ui);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    int failed = lesson_run_failures(ui.run);
    if (o.json)
        write_json(ui.run, &l, name, lang, rc == EXIT_INTERRUPTED);
#if NNLAB_HAVE_GUI
    if (ui.pad)
        pad_close(ui.pad);
#endif
    lesson_run_free(ui.run);
    if (log) {
        fclose(log);
        fputs(log_text, o.json ? stderr : stdout); /* what the lesson did, on the normal screen */
        free(log_text);
    }
    nn_lesson_free(&l);
    if (rc)
        return rc;
    if (failed) {
        cli_error("lesson %s: %d expectation%s did not hold", name, failed, failed == 1 ? "" : "s");
        return EXIT_RUNTIME;
    }
    return 0;
}
