/* The lesson runner: one action at a time on the current session, each
 * started when the one before it has taken effect, and each assertion
 * checked and reported as a plain line. */
#include "lesson_run.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "lesson_check.h"
#include "data.h"
#include "monitor.h"

#define MAX_MODELS 8

typedef struct model_slot {
    nn_spec spec;
    nn_session *session;
    char name[128];
} model_slot;

struct lesson_run {
    lesson_run_config cfg;
    const nn_lesson *l;
    nn_dataset train, test;
    model_slot models[MAX_MODELS];
    int n_models;
    nn_session *s;
    int step;               /* current step, -1 before the first */
    int action;             /* the action in progress or next, within the step */
    int phase;              /* 0: not started; 1: waiting for seq */
    long seq;
    int need_idle;          /* wait for the trainer to stop, not just for seq */
    long singles_left;      /* `step N`: single steps still to take */
    double resume_at;       /* `step N`: the next single step not before this */
    int step_done, ended;
    int passed, failed;
    lesson_gap gap;         /* the last train/test gap measured */
    double step_start, lesson_start, action_start;
    char doing[160];
    char results[3][192];
    lesson_result *checked;     /* every assertion checked, for --json */
    int n_checked, cap_checked;
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void say(lesson_run *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void say(lesson_run *r, const char *fmt, ...)
{
    if (!r->cfg.out)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(r->cfg.out, fmt, ap);
    va_end(ap);
    fputc('\n', r->cfg.out);
    fflush(r->cfg.out);
}

static void result(lesson_run *r, int ok, const char *what, const char *detail)
{
    ok ? r->passed++ : r->failed++;
    memmove(r->results[0], r->results[1], sizeof r->results[0] * 2);
    snprintf(r->results[2], sizeof r->results[2], "%s %.60s: %.120s", ok ? "ok    " : "FAILED", what, detail);
    say(r, "  %s %s: %s", ok ? "ok    " : "FAILED", what, detail);
}

/* ---- models and sessions ----------------------------------------------------------- */

/* Load a model (a preset or file, or the lesson's inline spec when name is
 * NULL), apply the lesson's options, and start a paused session on it. */
static int open_model(lesson_run *r, const char *name)
{
    if (r->n_models == MAX_MODELS) {
        cli_error("%s: more than %d models in one lesson", r->l->source, MAX_MODELS);
        return EXIT_USAGE;
    }
    model_slot *m = &r->models[r->n_models];
    nn_error err;
    if (name) {
        char path[4096];
        if (cli_model_path(name, path, sizeof path)) {
            cli_error("%s: no model '%s' (a preset in %s/assets/models, or a spec file)", r->l->source, name,
                      cli_root());
            return EXIT_USAGE;
        }
        if (nn_spec_load(&m->spec, path, &err))
            return cli_report(&err);
        snprintf(m->name, sizeof m->name, "%.127s", name);
    } else {
        char source[300];
        snprintf(source, sizeof source, "%s (layer lines)", r->l->source);
        if (nn_spec_parse(&m->spec, r->l->spec_text, source, &err))
            return cli_report(&err);
        snprintf(m->name, sizeof m->name, "%.127s", r->cfg.name);
    }
    nn_hparams hp = m->spec.hp;
    /* Lesson models are small: one BLAS thread is as fast, and far faster
     * on a machine that is busy with something else. */
    hp.threads = 1;
    for (int i = 0; i < r->l->n_options; i++)
        if (nn_hparams_set(&hp, r->l->option_key[i], r->l->option_value[i], &err)) {
            nn_spec_free(&m->spec);
            return cli_report(&err);
        }
    if (r->n_models == 0)
        hp.threads = nn_set_threads(hp.threads);
    nn_session_config sc = {.start_paused = 1, .weights_ms = r->cfg.snapshots ? 0 : -1, .dataset = r->cfg.data_dir};
    nn_session *s;
    if (nn_session_new(&s, &m->spec, &hp, &r->train, &r->test, &sc, &err)) {
        nn_spec_free(&m->spec);
        return cli_report(&err);
    }
    m->session = s;
    r->n_models++;
    nn_session *prev = r->s;
    if (prev) {
        nn_session_stop(prev);
        nn_session_adopt_runs(s, prev);
    }
    r->s = s;
    if (r->cfg.on_session)
        r->cfg.on_session(r->cfg.ctx, s, &m->spec, m->name);
    if (r->l->speed > 0 && !r->cfg.auto_advance) /* slow enough to watch */
        nn_session_set_speed(s, r->l->speed);
    if (nn_session_start(s, &err))
        return cli_report(&err);
    return 0;
}

/* Keep limit samples spread evenly over the set (the bundled files hold
 * the digits class by class, so the first ones would all be zeros). */
static int subset(nn_dataset *ds, long limit)
{
    if (limit <= 0 || (size_t)limit >= ds->count)
        return 0;
    size_t n = (size_t)limit, pixels = (size_t)ds->rows * (size_t)ds->cols;
    uint8_t *images = malloc(n * pixels), *labels = malloc(n);
    if (!images || !labels) {
        free(images);
        free(labels);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        size_t from = i * ds->count / n;
        memcpy(images + i * pixels, ds->images + from * pixels, pixels);
        labels[i] = ds->labels[from];
    }
    free(ds->images);
    free(ds->labels);
    ds->images = images;
    ds->labels = labels;
    ds->count = n;
    return 0;
}

int lesson_run_new(lesson_run **out, const lesson_run_config *cfg)
{
    *out = NULL;
    lesson_run *r = calloc(1, sizeof *r);
    if (!r) {
        cli_error("out of memory");
        return EXIT_RUNTIME;
    }
    r->cfg = *cfg;
    r->l = cfg->lesson;
    r->step = -1;
    nn_error err;
    if (nn_dataset_load_dir(cfg->data_dir, &r->train, &r->test, &err)) {
        free(r);
        return cli_report(&err);
    }
    if (subset(&r->train, r->l->train_limit) || subset(&r->test, r->l->test_limit)) {
        cli_error("out of memory");
        nn_dataset_free(&r->train);
        nn_dataset_free(&r->test);
        free(r);
        return EXIT_RUNTIME;
    }
    int rc = open_model(r, r->l->model[0] ? r->l->model : NULL);
    if (rc) {
        lesson_run_free(r);
        return rc;
    }
    r->lesson_start = now_seconds();
    say(r, "Lesson %s: %s (%d steps; model %s, %zu training and %zu test digits)", cfg->name,
        nn_lesson_title(r->l, cfg->lang), r->l->n_steps, r->models[0].name, r->train.count, r->test.count);
    *out = r;
    return 0;
}

void lesson_run_free(lesson_run *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n_models; i++) {
        nn_session_free(r->models[i].session);
        nn_spec_free(&r->models[i].spec);
    }
    nn_dataset_free(&r->train);
    nn_dataset_free(&r->test);
    free(r->checked);
    free(r);
}

nn_session *lesson_run_session(lesson_run *r) { return r->s; }
const nn_spec *lesson_run_spec(lesson_run *r) { return &r->models[r->n_models - 1].spec; }
const char *lesson_run_model(lesson_run *r) { return r->models[r->n_models - 1].name; }
int lesson_run_failures(const lesson_run *r) { return r->failed; }
double lesson_run_seconds(const lesson_run *r) { return now_seconds() - r->lesson_start; }

int lesson_run_results(const lesson_run *r, const lesson_result **out)
{
    *out = r->checked;
    return r->n_checked;
}

/* ---- assertions ------------------------------------------------------------------------ */

/* Does an action before this one in the step compress the model? */
static int step_compressed(const lesson_run *r, int upto)
{
    const nn_lesson_step *st = &r->l->steps[r->step];
    for (int i = 0; i < upto; i++) {
        int op = r->l->actions[st->first + i].op;
        if (op == NN_LESSON_PRUNE || op == NN_LESSON_QUANTIZE)
            return 1;
    }
    return 0;
}

static void check(lesson_run *r, const nn_lesson_action *a)
{
    char what[160], detail[192];
    nn_lesson_action_text(a, what, sizeof what);
    memmove(what, what + 7, strlen(what + 7) + 1); /* without "expect " */
    double value;
    int ok = lesson_check(a, r->s, &r->gap, &value, detail, sizeof detail);
    result(r, ok, what, detail);
    if (r->n_checked == r->cap_checked) {
        int cap = r->cap_checked ? 2 * r->cap_checked : 16;
        lesson_result *c = realloc(r->checked, (size_t)cap * sizeof *c);
        if (!c)
            return; /* the line above has said it; only --json misses it */
        r->checked = c;
        r->cap_checked = cap;
    }
    lesson_result *c = &r->checked[r->n_checked++];
    c->step = r->step + 1;
    c->ok = ok;
    c->value = value;
    snprintf(c->expect, sizeof c->expect, "%s", what);
    snprintf(c->detail, sizeof c->detail, "%s", detail);
}

/* ---- actions ------------------------------------------------------------------------ */

/* Room for n more batches: the epoch count is raised when it would end them early. */
static void make_room(lesson_run *r, long n)
{
    nn_run_status st;
    nn_monitor_status(nn_session_monitor(r->s), &st);
    if (st.state != NN_STATE_DONE && st.hp.epochs > st.epoch + 1)
        return;
    long spe = st.samples_per_epoch > 0 ? (st.samples_per_epoch + st.hp.batch - 1) / st.hp.batch : 1;
    long epochs = st.epoch + 2 + n / (spe > 0 ? spe : 1);
    char v[32];
    snprintf(v, sizeof v, "%ld", epochs > 100000 ? 100000 : epochs);
    nn_session_set(r->s, "epochs", v);
}

static void report_training(lesson_run *r)
{
    nn_monitor *m = nn_session_monitor(r->s);
    nn_run_status st;
    nn_monitor_status(m, &st);
    double secs = now_seconds() - r->action_start;
    if (st.state == NN_STATE_DIVERGED) {
        char text[160];
        say(r, "    %s (%.1fs)", lesson_diverged_text(&st, text, sizeof text), secs);
        return;
    }
    nn_epoch_summary e;
    if (nn_monitor_epochs(m, &e, 1) == 1 && e.epoch == st.epoch && !isnan(e.test_accuracy))
        say(r, "    epoch %d, step %ld: train loss %.4f, test loss %.4f, test accuracy %.2f%% (%.1fs)", e.epoch,
            st.step, e.train_loss, e.test_loss, 100 * e.test_accuracy, secs);
    else if (nn_monitor_epochs(m, &e, 1) == 1 && e.epoch == st.epoch)
        say(r, "    epoch %d, step %ld: train loss %.4f, test loss %.4f (%.1fs)", e.epoch, st.step, e.train_loss,
            e.test_loss, secs);
    else
        say(r, "    step %ld: loss %.4f (%.1fs)", st.step, st.loss_smooth, secs);
}

/* One line per single step: each layer's gradient norm and update ratio. */
static void report_single_step(lesson_run *r)
{
    nn_monitor *m = nn_session_monitor(r->s);
    nn_run_status st;
    nn_monitor_status(m, &st);
    char line[1024];
    int len = snprintf(line, sizeof line, "    batch %ld: loss %.4f", st.step, st.loss);
    float x[NN_MONITOR_TENSOR_POINTS], y[NN_MONITOR_TENSOR_POINTS];
    for (int t = 0; t < st.n_tensors && len < (int)sizeof line - 80; t++) {
        int n = nn_monitor_series(m, NN_SERIES_GRAD_NORM, t, x, y, NN_MONITOR_TENSOR_POINTS);
        double g = n ? y[n - 1] : NAN;
        n = nn_monitor_series(m, NN_SERIES_UPDATE_RATIO, t, x, y, NN_MONITOR_TENSOR_POINTS);
        double u = n ? y[n - 1] : NAN;
        char update[32] = "-"; /* a weight that was zero has no ratio */
        if (isfinite(u))
            snprintf(update, sizeof update, "%.2g", u);
        len += snprintf(line + len, sizeof line - (size_t)len, " | %s grad %.3g update %s",
                        nn_session_tensor_name(r->s, t), g, update);
    }
    say(r, "%s", line);
}

/* Start action a; 1 when it is done already, 0 when it waits (phase 1),
 * -1 when the command queue was full (try again). */
static int start_action(lesson_run *r, const nn_lesson_action *a)
{
    nn_session *s = r->s;
    nn_run_status st;
    nn_monitor_status(nn_session_monitor(s), &st);
    char text[192], v[32];
    nn_lesson_action_text(a, text, sizeof text);
    if (!nn_lesson_is_expect(a->op)) {
        snprintf(r->doing, sizeof r->doing, "%.*s", (int)sizeof r->doing - 1, text);
        say(r, "  > %s", text);
    }
    r->action_start = now_seconds();
    r->need_idle = 0;
    long seq = 0;
    switch (a->op) {
    case NN_LESSON_SET:
        seq = nn_session_set(s, a->key, a->value);
        break;
    case NN_LESSON_RUN:
        nn_session_pause(s);
        nn_session_reset(s);
        snprintf(text, sizeof text, "run %d%s%s", st.run + 1, a->value[0] ? ": " : "", a->value);
        seq = nn_session_note(s, text);
        break;
    case NN_LESSON_TRAIN_EPOCHS:
    case NN_LESSON_PAUSE_AT: {
        long target = a->op == NN_LESSON_PAUSE_AT ? (long)a->number : st.epoch + (long)a->number;
        if (target <= st.epoch)
            return 1;
        snprintf(v, sizeof v, "%ld", target);
        nn_session_set(s, "epochs", v);
        seq = nn_session_resume(s);
        r->need_idle = 1;
        break;
    }
    case NN_LESSON_TRAIN_STEPS:
        make_room(r, (long)a->number);
        seq = nn_session_step_batches(s, (long)a->number);
        r->need_idle = 1;
        break;
    case NN_LESSON_STEP:
        make_room(r, (long)a->number);
        r->singles_left = (long)a->number;
        r->resume_at = 0;
        seq = nn_session_step_batch(s);
        r->need_idle = 1;
        break;
    case NN_LESSON_KEY:
        if (r->cfg.on_key)
            r->cfg.on_key(r->cfg.ctx, (unsigned char)a->value[0]);
        else
            say(r, "    (no dashboard: key %s is for the dashboard)", a->value);
        return 1;
    case NN_LESSON_MODEL:
        if (open_model(r, a->value))
            return 1; /* reported; the lesson goes on with the model it had */
        return 1;
    case NN_LESSON_PRUNE:
        seq = nn_session_prune(s, a->number);
        break;
    case NN_LESSON_QUANTIZE:
        seq = nn_session_quantize(s);
        break;
    case NN_LESSON_PAD:
        if (r->cfg.on_pad)
            r->cfg.on_pad(r->cfg.ctx, a->value);
        else
            say(r, "    (no drawing pad: the %s view is on the pad)", a->value);
        return 1;
    case NN_LESSON_EXPECT_GAP:
    case NN_LESSON_EXPECT_GAP_SHRINKS:
    case NN_LESSON_EXPECT_ACCURACY:
        if (a->op == NN_LESSON_EXPECT_ACCURACY && step_compressed(r, r->action)) {
            seq = nn_session_pause(s);
        } else {
            seq = nn_session_measure(s);
        }
        r->need_idle = 1;
        break;
    default: /* the other assertions read the trainer: wait until it rests */
        seq = nn_session_pause(s);
        r->need_idle = 1;
        break;
    }
    if (seq < 0)
        return -1;
    r->seq = seq;
    r->phase = 1;
    return 0;
}

/* The action in progress: 1 when done. */
static int poll_action(lesson_run *r, const nn_lesson_action *a)
{
    nn_session *s = r->s;
    if (a->op == NN_LESSON_STEP && r->resume_at > 0) { /* between single steps */
        if (now_seconds() < r->resume_at)
            return 0;
        r->resume_at = 0;
        long seq = nn_session_step_batch(s);
        if (seq > 0)
            r->seq = seq;
        return 0;
    }
    int waited = r->need_idle ? nn_session_wait_idle(s, r->seq, 0) : nn_session_wait_applied(s, r->seq, 0);
    if (waited != 0)
        return 0;
    switch (a->op) {
    case NN_LESSON_TRAIN_EPOCHS:
    case NN_LESSON_PAUSE_AT:
    case NN_LESSON_TRAIN_STEPS:
        report_training(r);
        break;
    case NN_LESSON_STEP: {
        report_single_step(r);
        nn_run_status st;
        nn_monitor_status(nn_session_monitor(s), &st);
        if (--r->singles_left > 0 && st.state != NN_STATE_DIVERGED) {
            r->resume_at = now_seconds() + r->cfg.pace_ms / 1000.0 + 1e-9;
            return 0;
        }
        break;
    }
    case NN_LESSON_PRUNE:
    case NN_LESSON_QUANTIZE: {
        nn_run_status st;
        nn_monitor_status(nn_session_monitor(s), &st);
        say(r, "    %s: test accuracy %.2f%% -> %.2f%%, weights %.1f kB -> %.1f kB, %.1f%% zeros", st.probe.what,
            100 * st.probe.accuracy_before, 100 * st.probe.accuracy, st.probe.bytes_before / 1024,
            st.probe.bytes / 1024, 100 * st.probe.sparsity);
        break;
    }
    default:
        if (nn_lesson_is_expect(a->op))
            check(r, a);
        break;
    }
    return 1;
}

/* ---- steps ------------------------------------------------------------------------------ */

static void start_step(lesson_run *r, int step)
{
    r->step = step;
    r->action = 0;
    r->phase = 0;
    r->step_done = 0;
    r->step_start = now_seconds();
    r->doing[0] = '\0';
    say(r, "\n[%d/%d] %s", step + 1, r->l->n_steps, nn_lesson_caption(r->l, step, r->cfg.lang));
    char note[96];
    snprintf(note, sizeof note, "lesson step %d/%d", step + 1, r->l->n_steps);
    nn_session_note(r->s, note);
}

int lesson_run_tick(lesson_run *r)
{
    if (r->ended)
        return LESSON_END;
    if (r->step < 0)
        start_step(r, 0);
    for (;;) {
        if (r->step_done) {
            if (r->step + 1 >= r->l->n_steps) {
                r->ended = 1;
                say(r, "\nLesson %s done: %d expectation%s held, %d failed (%.1fs)", r->cfg.name, r->passed,
                    r->passed == 1 ? "" : "s", r->failed, now_seconds() - r->lesson_start);
                return LESSON_END;
            }
            if (!r->cfg.auto_advance)
                return LESSON_WAITING;
            start_step(r, r->step + 1);
        }
        const nn_lesson_step *st = &r->l->steps[r->step];
        if (r->action >= st->count) {
            r->step_done = 1;
            say(r, "  (step %d done in %.1fs)", r->step + 1, now_seconds() - r->step_start);
            continue;
        }
        const nn_lesson_action *a = &r->l->actions[st->first + r->action];
        int done = r->phase == 0 ? start_action(r, a) : poll_action(r, a);
        if (done <= 0)
            return LESSON_BUSY;
        r->phase = 0;
        r->action++;
    }
}

void lesson_run_next(lesson_run *r)
{
    if (!r->ended && r->step_done && r->step + 1 < r->l->n_steps)
        start_step(r, r->step + 1);
}

void lesson_run_view(lesson_run *r, lesson_view *v)
{
    memset(v, 0, sizeof *v);
    v->title = nn_lesson_title(r->l, r->cfg.lang);
    int step = r->step < 0 ? 0 : r->step;
    v->caption = nn_lesson_caption(r->l, step, r->cfg.lang);
    v->step = step + 1;
    v->steps = r->l->n_steps;
    v->state = r->ended ? LESSON_END : r->step_done ? LESSON_WAITING : LESSON_BUSY;
    snprintf(v->doing, sizeof v->doing, "%s", r->doing);
    memcpy(v->results, r->results, sizeof v->results);
    v->passed = r->passed;
    v->failed = r->failed;
}
