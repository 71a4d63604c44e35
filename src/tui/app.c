/* The TUI's main loop: one place blocks (poll on the terminal and the
 * backend's feed), handlers return what changed, and one doupdate() per
 * pass puts it on the screen. */
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "action_job.h"
#include "rules_pane.h"
#include "app.h"
#include "block_prompt.h"
#include "bulk.h"
#include "commands.h"
#include "help.h"
#include "list_pane.h"
#include "pane.h"
#include "picker.h"
#include "prompt.h"
#include "script.h"
#include "stats_pane.h"
#include "qtriage/instances.h"
#include "qtriage/queue_watch.h"
#include "qtriage/spool_copy.h"
#include "qtriage/safe_file.h"
#include "qtriage/text.h"
#include "qtriage/util.h"

#define DEFAULT_REFRESH_MS 2000
/* With a queue watch, a rescan follows a change; without one seen, a full
 * rescan still comes now and then (mtimes miss a defer log appended to or
 * a retry time set; inotify may lose events), at most a hundredth of the
 * time: an unchanged queue costs under 1 % of a core. */
#define IDLE_RESCAN_MS 60000
#define IDLE_RESCAN_FACTOR 100
/* mtime mode: how often the directories are stat()ed. */
#define WATCH_CHECK_MS 500
/* Rows are rebuilt at most this often while a big queue streams in. */
#define MIN_REBUILD_INTERVAL_MS 150

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

/* CPU time of the whole process (both filtering threads), microseconds. */
static int64_t process_cpu_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t app_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void app_message(struct app *a, bool error, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(a->message, sizeof(a->message), fmt, ap);
    va_end(ap);
    a->message_is_error = error;
}

/* Bench milestones (QTRIAGE_BENCH_LOG): "name seconds-since-start messages",
 * then details, e.g. a duration in ms. */
static void app_bench_detail(struct app *a, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void app_bench_detail(struct app *a, const char *name, const char *fmt, ...)
{
    const char *path = getenv("QTRIAGE_BENCH_LOG");
    va_list ap;
    FILE *f;

    struct qt_error err;
    bool created;
    int fd;

    if (!path || !*path)
        return;
    /* Root's TUI appends here: never through a link, never to a file or
     * below a directory another user owns (safe_file.h). */
    fd = qt_safe_open_append_path(path, &created, &err);
    if (fd < 0)
        return;
    f = fdopen(fd, "a");
    if (!f) {
        close(fd);
        return;
    }
    fprintf(f, "%s %.3f %zu", name, (double)(app_now_ms() - a->start_ms) / 1000.0,
            a->store.n);
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fclose(f);
}

void app_bench(struct app *a, const char *name)
{
    app_bench_detail(a, name, "%s", "");
}

/* Bench: changes a rescan brought (events applied since it started). */
static size_t bench_scan_changes;

/* Rows are rebuilt in slices of about this long, so keys are read and
 * echoed between them however large the queue. */
#define REBUILD_SLICE_MS 8
#define REBUILD_STEP_UNITS 16384

/* The new rows are in. */
static void rebuild_done(struct app *a)
{
    static const struct qt_filter *bench_filter;   /* last one logged */
    const struct qt_filter *filter = list_filter(a);

    /* Bench: the time a new filter took over the whole store, once. */
    if (filter && filter != bench_filter && a->first_scan_done)
        app_bench_detail(a, "filter_applied", " %lld %zu %lld", (long long)a->rebuild_work_ms,
                         a->view.n, (long long)a->rebuild_cpu_us);
    bench_filter = filter;
    list_rows_rebuilt(a);
    /* The load's batches and the sort's keys are gone: give their memory
     * back once, so what stays resident is what the queue needs. */
    if (a->first_scan_done && !a->trimmed_after_load) {
        a->trimmed_after_load = true;
        qt_store_release_slack(&a->store);
    }
    a->rows_for_query = false;
    a->last_rebuild_ms = app_now_ms();
    a->rebuild_cost_ms = a->rebuild_work_ms;
}

/* Start (or start over) computing the rows of the store as it is now. */
static void rebuild_begin(struct app *a)
{
    qt_view_rebuild_begin(&a->view, &a->store, list_filter(a), app_wall_clock(a));
    a->rebuild_work_ms = 0;
    a->rebuild_cpu_us = 0;
    a->rows_stale = false;
    a->rebuild_now = false;
}

/* Work on the rows for up to `slice_ms` (-1: until done); true once the
 * new rows are in place. */
static bool rebuild_continue(struct app *a, int64_t slice_ms)
{
    int64_t t0 = app_now_ms(), t = t0, c0 = process_cpu_us();
    bool done;

    do {
        done = qt_view_rebuild_step(&a->view, &a->store, REBUILD_STEP_UNITS);
        t = app_now_ms();
    } while (!done && (slice_ms < 0 || t - t0 < slice_ms));
    a->rebuild_work_ms += t - t0;
    a->rebuild_cpu_us += process_cpu_us() - c0;   /* one clock read per slice */
    if (done)
        rebuild_done(a);
    return done;
}

/* Recompute the rows now, whatever it costs. */
void app_rebuild(struct app *a)
{
    rebuild_begin(a);
    rebuild_continue(a, -1);
}

/* Keys that act on rows (move, tag, act) must see the rows of the query
 * and sort in force: finish a rebuild that a new query or sort started.
 * (A rebuild for a changed store may go on: its rows are those of the
 * same query, only older.) */
static void settle_rows(struct app *a)
{
    if (!a->rows_for_query)
        return;
    if (a->rebuild_now || !qt_view_rebuilding(&a->view))
        rebuild_begin(a);   /* the query changed since the last key */
    rebuild_continue(a, -1);
}

static bool tag_still_queued(void *ctx, const char *id)
{
    return qt_store_find(ctx, id) >= 0;
}

static void on_scan_error(void *ctx, const char *msg)
{
    struct app *a = ctx;

    app_message(a, true, "%s", msg);
}

static void apply_feed(struct app *a)
{
    /* New and changed messages go past the standing rules. */
    struct qt_feed_result res = {.on_error = on_scan_error, .ctx = a,
                                 .on_change = qt_rules_note, .change_ctx = &a->rules};
    uint64_t version = a->store.version;

    qt_feed_apply(&a->feed, &a->store, &res);
    bench_scan_changes += res.upserts + res.updates + res.removals;
    if (a->store.version != version)
        a->rows_stale = true;
    if (res.removals)   /* until the next rebuild no row may point past the end */
        qt_view_clip(&a->view, a->store.n);
    if (res.scans_done) {
        if (a->bench_watch_scan == 2) {
            a->bench_watch_scan = 0;
            app_bench(a, "watch_settled");
        }
        if (!a->first_scan_done) {
            a->first_scan_done = true;
            a->rebuild_now = true;
            app_bench(a, "load_done");
            if (!a->message[0] || !a->message_is_error)
                app_message(a, false, "%zu messages loaded in %.1f s%s%s", a->store.n,
                            (double)(app_now_ms() - a->start_ms) / 1000.0,
                            res.scan_summary[0] ? ": " : "", res.scan_summary);
        } else {
            app_bench_detail(a, "rescan_done", " %lld %zu",
                             (long long)(app_now_ms() - a->scan_started_ms), bench_scan_changes);
            if (res.scan_summary[0] && !a->message[0])
                app_message(a, true, "%s", res.scan_summary);
        }
        a->scans_done += res.scans_done;
        /* A completed scan knows every message: tags of the ones that are
         * gone (delivered, deleted, requeued under a new ID) go too.  Not
         * after a scan that ran while postsuper moved files: it may have
         * missed a message on its way from one queue to another. */
        if (a->scan_started_ms >= a->job.finished_ms && !action_job_running(a) &&
            qt_selection_prune(&a->current.tags, tag_still_queued, &a->store))
            a->rows_stale = true;
        {
            /* A rescan of a huge queue costs CPU: wait at least four times
             * as long as the last one took, so qtriage never spends more
             * than a fifth of a core on watching. */
            int64_t now = app_now_ms(), took = now - a->scan_started_ms;
            int64_t wait = a->opt->refresh_ms > 0 ? a->opt->refresh_ms : DEFAULT_REFRESH_MS;

            if (took * 4 > wait)
                wait = took * 4;
            a->next_scan_ms = now + wait;
            a->idle_scan_ms = now + (took * IDLE_RESCAN_FACTOR > IDLE_RESCAN_MS
                                         ? took * IDLE_RESCAN_FACTOR
                                         : IDLE_RESCAN_MS);
        }
    }
}

/* Whether a rescan is due: asked for; with a watch, a change seen (no
 * sooner than next_scan_ms) or the idle rescan's time; without one, the
 * next_scan_ms. */
static bool scan_due(struct app *a, int64_t now)
{
    if (a->scan_wanted)
        return true;
    if (!a->watch)
        return now >= a->next_scan_ms;
    if (!a->queue_changed && qt_queue_watch_fd(a->watch) < 0 && now >= a->next_watch_check_ms) {
        a->queue_changed = qt_queue_watch_changed(a->watch);
        a->next_watch_check_ms = now + WATCH_CHECK_MS;
    }
    return (a->queue_changed && now >= a->next_scan_ms) || now >= a->idle_scan_ms;
}

static void maybe_start_scan(struct app *a)
{
    /* No scan starts while an action runs (see apply_feed); the action
     * asks for one when it is done. */
    if (a->backend->ops->running(a->backend) || action_job_running(a))
        return;
    if (scan_due(a, app_now_ms())) {
        /* What changed up to here, this scan sees: the watch starts
         * afresh (after the start, it might not). */
        if (a->watch)
            qt_queue_watch_changed(a->watch);
        if (a->backend->ops->start(a->backend)) {
            a->scan_started_ms = app_now_ms();
            bench_scan_changes = 0;
            if (a->bench_watch_scan == 1)
                a->bench_watch_scan = 2;
            a->scan_wanted = false;
            a->queue_changed = false;
            a->next_scan_ms = a->idle_scan_ms = INT64_MAX;
        }
    }
}

static void init_colors(struct app *a)
{
    static const short defaults[COLOR_PAIR_LAST][2] = {
        [COLOR_PAIR_TITLE - 1] = {COLOR_BLACK, COLOR_CYAN},
        [COLOR_PAIR_DEMO - 1] = {COLOR_WHITE, COLOR_MAGENTA},
        [COLOR_PAIR_HEADER - 1] = {COLOR_CYAN, -1},
        [COLOR_PAIR_CURSOR - 1] = {COLOR_BLACK, COLOR_WHITE},
        [COLOR_PAIR_TAGGED - 1] = {COLOR_YELLOW, -1},
        [COLOR_PAIR_MATCH - 1] = {COLOR_BLACK, COLOR_YELLOW},
        [COLOR_PAIR_ERROR - 1] = {COLOR_RED, -1},
        [COLOR_PAIR_HOLD - 1] = {COLOR_MAGENTA, -1},
        [COLOR_PAIR_SEPARATOR - 1] = {COLOR_BLUE, -1},
        [COLOR_PAIR_NAME - 1] = {COLOR_GREEN, -1},
        [COLOR_PAIR_WARNING - 1] = {COLOR_RED, -1},
        [COLOR_PAIR_ATTACH - 1] = {COLOR_YELLOW, -1},
        [COLOR_PAIR_STATUS - 1] = {COLOR_BLACK, COLOR_CYAN},
    };
    const struct qt_config *cfg = a->opt->config;
    const char *no_color = getenv("NO_COLOR");
    int pair;

    /* NO_COLOR (https://no-color.org) and "color = off" leave only
     * attributes: the cursor is reversed, tags bold, without colour. */
    a->colors = has_colors() && !(no_color && *no_color) && !(cfg && cfg->color == 0);
    if (!a->colors)
        return;
    start_color();
    use_default_colors();
    for (pair = 1; pair <= COLOR_PAIR_LAST; pair++) {
        const struct qt_config_color *c = cfg ? &cfg->colors[pair - 1] : NULL;

        init_pair((short)pair, defaults[pair - 1][0], defaults[pair - 1][1]);
        if (!c || !c->set)
            continue;
        /* A colour the terminal lacks keeps the default pair. */
        if (c->fg < COLORS && c->bg < COLORS)
            init_pair((short)pair, (short)c->fg, (short)c->bg);
        a->pair_attrs[pair] = (c->attrs & QT_ATTR_BOLD ? A_BOLD : 0) |
                              (c->attrs & QT_ATTR_REVERSE ? A_REVERSE : 0) |
                              (c->attrs & QT_ATTR_UNDERLINE ? A_UNDERLINE : 0);
    }
}

static void restore_terminal(void)
{
    if (!isendwin())
        endwin();
}

static bool curses_up;

static void fatal_hook(void)
{
    if (curses_up)
        restore_terminal();
}

/* Start curses once: the instance picker may have started it already. */
static bool start_curses(void)
{
    if (curses_up)
        return true;
    if (!getenv("ESCDELAY"))
        set_escdelay(25);
    if (!initscr()) {
        fprintf(stderr, "qtriage: cannot start the terminal (TERM=%s)\n",
                getenv("TERM") ? getenv("TERM") : "");
        return false;
    }
    curses_up = true;
    cbreak();
    noecho();
    nonl();
    curs_set(0);
    return true;
}

/* With no -c and several instances (postmulti -l), let the admin choose.
 * *config_dir: the chosen one (malloc'd), NULL: no choice to make.  False
 * when the terminal cannot start. */
static bool pick_instance(char **config_dir, bool *quit)
{
    struct qt_instances list = {0};
    struct qt_error e = {""};

    *config_dir = NULL;
    /* No postmulti, or it fails: the default instance, as without it. */
    if (!qt_instances_list(&list, &e) || list.n < 2) {
        qt_instances_free(&list);
        return true;
    }
    if (!start_curses()) {
        qt_instances_free(&list);
        return false;
    }
    keypad(stdscr, TRUE);
    *config_dir = picker_run(&list);
    *quit = !*config_dir;
    qt_instances_free(&list);
    return true;
}

/* A key from the terminal, or ERR. */
static int next_key(struct app *a, int *key)
{
    wint_t wc;
    int rc;

    if (a->script)
        return script_next_key(a->script, a, key);
    rc = wget_wch(a->title_win, &wc);

    if (rc == ERR)
        return ERR;
    *key = rc == KEY_CODE_YES ? KEY_FN((int)wc) : (int)wc;
    return OK;
}

/* An escape sequence curses did not recognise (a terminal whose TERM is
 * wrong sends them for End, F5, ...) must not turn into commands: its bytes
 * would otherwise be read as '[', '4', '~' and so on.  Swallow it up to its
 * final byte.  A lone Esc is a key of its own. */
static bool swallow_escape_sequence(struct app *a, int *pending)
{
    int k, n = 0;

    if (next_key(a, &k) == ERR)
        return false;
    if (k != '[' && k != 'O') {
        *pending = k;       /* Esc then another key: both are keys */
        return false;
    }
    while (n++ < 32 && next_key(a, &k) == OK) {
        if ((k >= 0x40 && k <= 0x7e && !(n == 1 && k == '[')) || k > 0x7e)
            break;
    }
    app_message(a, true, "an unknown key sequence was ignored (is TERM right?)");
    return true;
}

/* Read every key waiting; returns what changed. */
static unsigned read_input(struct app *a)
{
    unsigned r = R_NONE;
    int key, pending = -1;

    for (;;) {
        if (pending >= 0) {
            key = pending;
            pending = -1;
        } else if (next_key(a, &key) == ERR) {
            break;
        }
        if (key == KEY_FN(KEY_RESIZE)) {
            r |= R_LAYOUT | R_REDRAW;
            continue;
        }
        if (key == KEY_FN(KEY_MOUSE)) {
            settle_rows(a);
            r |= commands_mouse(a);
            continue;
        }
        if (key == 27 && swallow_escape_sequence(a, &pending)) {
            r |= R_REDRAW;
            continue;
        }
        if (prompt_is_open(a)) {
            r |= prompt_key(a, key);
        } else {
            settle_rows(a);
            r |= commands_dispatch(a, key);
        }
        if (r & R_REBUILD)  /* the next key must see the new sort's rows */
            a->rows_stale = a->rebuild_now = a->rows_for_query = true;
        if (r & R_QUIT)
            break;
        /* Actions need the rescan they asked for before the next key. */
        if (r & R_RESCAN)
            break;
    }
    return r;
}

/* Rows are rebuilt at most this often: a rebuild that costs much (a huge
 * queue) gets proportionally rarer while the queue streams in.  While the
 * first scan loads, once rows are on screen, the rows are a preview and
 * the load is what the admin waits for: a tenth of the main thread's time
 * for them instead of a fifth (at 100k the sorts were 6 % of the load's
 * CPU, on the thread that interns every message). */
static int64_t rebuild_interval(const struct app *a)
{
    int64_t factor = a->first_scan_done || !a->view.n ? 4 : 10;

    return a->rebuild_cost_ms * factor > MIN_REBUILD_INTERVAL_MS ? a->rebuild_cost_ms * factor
                                                                : MIN_REBUILD_INTERVAL_MS;
}

static int loop_timeout(struct app *a)
{
    int64_t now = app_now_ms(), wake = now + 1000;

    if (!a->first_scan_done)
        wake = now + 250;   /* the spinner */
    if (a->rows_stale && a->last_rebuild_ms + rebuild_interval(a) < wake)
        wake = a->last_rebuild_ms + rebuild_interval(a);
    /* While an action or a scan runs no scan can start: waking for one
     * would spin (the job's pipe and the feed wake the loop when they end;
     * a spinning loop took a core from postsuper during bulk actions). */
    if (action_job_running(a) || a->backend->ops->running(a->backend)) {
        ;
    } else if (a->scan_wanted) {
        wake = now;
    } else if (!a->watch || a->queue_changed) {
        if (a->next_scan_ms < wake)
            wake = a->next_scan_ms;
    } else {
        if (a->idle_scan_ms < wake)
            wake = a->idle_scan_ms;
        if (qt_queue_watch_fd(a->watch) < 0 && a->next_watch_check_ms < wake)
            wake = a->next_watch_check_ms;
    }
    return wake <= now ? 0 : (int)(wake - now);
}

/* Quitting while an action runs: never leave postsuper half way. */
static void wait_for_action(struct app *a)
{
    if (!action_job_running(a))
        return;
    action_job_stop(a);     /* a paced one ends after its current step */
    app_message(a, false, "waiting for the running action to finish (%s) before quitting...",
                a->job.doing);
    draw_all(a);
    doupdate();
    action_job_wait(a);
}

static void start_watch(struct app *a);
static void take_watch(struct app *a, bool wait);

static void run_loop(struct app *a)
{
    unsigned r = R_LAYOUT | R_REDRAW;
    int64_t last_clock = 0, last_progress = 0;

    for (;;) {
        struct pollfd pfd[4] = {{a->script ? script_poll_fd(a->script, a) : 0, POLLIN, 0},
                                {a->feed.notify_fd, POLLIN, 0},
                                {a->job.done_rd, POLLIN, 0},
                                {-1, POLLIN, 0}};
        bool building;
        int64_t now;

        if (stop_signal || (r & R_QUIT) || (a->script && script_finished(a->script))) {
            wait_for_action(a);
            return;
        }
        if (r & R_RESCAN)
            a->scan_wanted = true;
        start_watch(a);
        take_watch(a, false);
        maybe_start_scan(a);
        if (r & R_REBUILD)     /* the sort or filter changed, not the store */
            a->rows_stale = a->rebuild_now = a->rows_for_query = true;
        now = app_now_ms();
        if (a->rows_stale && (a->rebuild_now || now - a->last_rebuild_ms >= rebuild_interval(a)))
            rebuild_begin(a);
        if (stats_counting(a) && stats_continue(a))
            r |= R_REDRAW;      /* "counting... 37%", then the figures */
        if (qt_view_rebuilding(&a->view)) {
            if (rebuild_continue(a, REBUILD_SLICE_MS))
                r |= R_REDRAW;
            else if (now - last_progress >= 100)
                r |= R_REDRAW, last_progress = now;     /* "filtering... 37%" */
        }
        if (r & R_LAYOUT) {
            list_default_columns(a);
            draw_layout(a);
            r |= R_REDRAW;
        }
        if (now - last_clock >= (a->first_scan_done ? 1000 : 250))
            r |= R_REDRAW | block_tick(a);  /* ages and the spinner move; entries expire */
        if (r & R_REDRAW) {
            draw_all(a);
            doupdate();
            last_clock = now;
            if (!a->bench_first_rows_logged && a->view.n) {
                a->bench_first_rows_logged = true;
                app_bench(a, "first_rows");
            }
        }
        r = R_NONE;
        /* While the rows are rebuilt the store must stay as it is: the feed
         * waits (its batches queue up) and the loop only looks for keys
         * between slices. */
        building = qt_view_rebuilding(&a->view) || stats_counting(a);
        pfd[1].fd = building ? -1 : a->feed.notify_fd;
        /* Once a change is known, more of them say nothing new until the
         * rescan starts (and drains them): a busy queue does not wake the
         * loop for each. */
        pfd[3].fd = a->watch && !a->queue_changed ? qt_queue_watch_fd(a->watch) : -1;
        if (poll(pfd, 4, building ? 0 : loop_timeout(a)) < 0 && errno != EINTR)
            return;
        if (pfd[3].revents & POLLIN)
            a->queue_changed |= qt_queue_watch_changed(a->watch);
        if (pfd[1].revents & POLLIN)
            apply_feed(a);
        if (pfd[2].revents & POLLIN)
            r |= action_job_finish(a);
        rules_tick(a);
        /* Always try the terminal: a signal (SIGWINCH) interrupts poll and
         * curses may hold keys it already read. */
        r |= read_input(a);
    }
}

static void *watch_open_main(void *arg)
{
    struct app *a = arg;

    a->watch_result = qt_queue_watch_open(a->watch_dir, a->watch_inotify);
    atomic_store(&a->watch_made, true);
    return NULL;
}

static bool open_queue(struct app *a, char *err, size_t size)
{
    struct qt_error e = {""};
    const char *copy = a->script ? script_spool_copy(a->script) : NULL;

    if (a->opt->fleet && !copy) {
        /* A fleet: no local layout; every host is an ssh child (fleet.h). */
        qt_feed_init(&a->feed);
        a->backend = qt_fleet_backend_new(a->opt->fleet, &a->feed, &e);
        if (!a->backend) {
            snprintf(err, size, "%s", e.msg);
            qt_feed_destroy(&a->feed);
            return false;
        }
        qt_store_init(&a->store);
        a->config_label = xasprintf("fleet of %zu host%s [fleet]",
                                    qt_fleet_status(a->backend, NULL, 0),
                                    qt_fleet_status(a->backend, NULL, 0) == 1 ? "" : "s");
        return true;
    }
    if (copy && !qt_spool_layout_from_copy(&a->layout, copy, &e)) {
        snprintf(err, size, "QTRIAGE_SPOOL: %s", e.msg);
        return false;
    }
    if (!copy && !qt_spool_layout_load(&a->layout, a->opt->config_dir, &e)) {
        snprintf(err, size, "cannot read the Postfix configuration%s%s: %s",
                 a->opt->config_dir ? " in " : "", a->opt->config_dir ? a->opt->config_dir : "",
                 e.msg);
        return false;
    }
    qt_feed_init(&a->feed);
    a->backend = qt_backend_open(&a->layout, &a->feed, copy ? QT_BACKEND_SPOOL : a->opt->backend, &e);
    if (!a->backend) {
        snprintf(err, size, "%s", e.msg);
        qt_feed_destroy(&a->feed);
        qt_spool_layout_free(&a->layout);
        return false;
    }
    if (copy) {
        a->backend->read_only = true;
        snprintf(a->backend->read_only_reason, sizeof(a->backend->read_only_reason),
                 "a copy of a queue directory: nothing acts on it");
    }
    qt_store_init(&a->store);
    qt_rules_init(&a->rules);
    a->config_label = xasprintf("%s [%s]", a->layout.queue_directory, a->backend->ops->name);
    /* Only the spool backend reads the queue directories, so only it can
     * watch them (postqueue's user may not even list them). */
    if (strcmp(a->backend->ops->name, "spool") == 0) {
        const char *no = getenv("QTRIAGE_NO_INOTIFY");

        a->watch_dir = xstrdup(a->layout.queue_directory);
        a->watch_inotify = !(no && *no && *no != '0');
        a->watch_wanted = true;     /* see start_watch */
    }
    return true;
}

/* Set up the watch on its thread once the first scan is over.  Made
 * before the scan, its pass over every hash directory's entries held up
 * the first rows (at a million messages 0.3-1.1 s, against 0.13-0.37 s
 * with it made beside the scan); made beside the scan, the kernel's walk
 * of each directory's cached entries (0.12 s of CPU at 100k) competed
 * with the load for the two cores.  Nothing is missed: no rescan starts
 * while the first scan runs, and the first one after the watch is made
 * looks at everything (take_watch). */
static void start_watch(struct app *a)
{
    if (!a->watch_wanted || !a->first_scan_done)
        return;
    a->watch_wanted = false;
    atomic_store(&a->watch_made, false);
    a->watch_pending = pthread_create(&a->watch_thread, NULL, watch_open_main, a) == 0;
    if (!a->watch_pending) {    /* no thread to be had: here, then */
        a->watch = qt_queue_watch_open(a->watch_dir, a->watch_inotify);
        a->queue_changed = a->watch != NULL;
    }
}

/* The watch thread's result, once it is done: from then on changes are
 * seen; what changed before it watched, a rescan after the running one
 * finds (queue_changed). */
static void take_watch(struct app *a, bool wait)
{
    if (!a->watch_pending || (!wait && !atomic_load(&a->watch_made)))
        return;
    pthread_join(a->watch_thread, NULL);
    a->watch_pending = false;
    a->watch = a->watch_result;
    a->watch_result = NULL;
    if (a->watch) {
        a->queue_changed = true;
        a->bench_watch_scan = 1;
    }
}

static void close_queue(struct app *a)
{
    take_watch(a, true);
    free(a->watch_dir);
    a->watch_dir = NULL;
    qt_queue_watch_close(a->watch);
    a->watch = NULL;
    qt_backend_close(a->backend);
    qt_store_free(&a->store);
    qt_rules_free(&a->rules);
    qt_feed_destroy(&a->feed);
    qt_spool_layout_free(&a->layout);
    free(a->config_label);
}

#define TUI_PANE_CREATE(name) a->panes[a->npanes++] = name##_new(a);

static void create_panes(struct app *a)
{
    TUI_PANES(TUI_PANE_CREATE)
    a->focus = a->panes[0];
}

static void free_panes(struct app *a)
{
    while (a->npanes > 0) {
        struct pane *p = a->panes[--a->npanes];

        p->ops->free(p);
    }
}

static void setup_options(struct app *a)
{
    qt_view_init(&a->view);
    list_setup_options(a);
    if (a->opt->config_problem && !a->message_is_error)
        app_message(a, true, "%s", a->opt->config_problem);
}

int tui_run(const struct tui_options *opt)
{
    struct app app;
    struct app *a = &app;
    struct sigaction sa;
    struct tui_options picked_opt;
    char err[600], *picked = NULL;
    const char *cs;

    memset(a, 0, sizeof(*a));
    a->opt = opt;
    a->current.queue = -1;
    a->start_ms = app_now_ms();
    a->next_scan_ms = 0;
    setlocale(LC_ALL, "");
    qt_store_tune_allocator();
    cs = nl_langinfo(CODESET);
    a->utf8 = cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
    if (script_wanted()) {
        a->script = script_open(err, sizeof(err));
        if (!a->script) {
            fprintf(stderr, "qtriage: %s\n", err);
            return 2;
        }
    } else if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(stderr, "qtriage: the interactive view needs a terminal; for scripts use "
                        "\"qtriage list\" (see qtriage --help)\n");
        return 2;
    }
    qt_text_init();
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    a->stop_signal = &stop_signal;
    qt_fatal_hook = fatal_hook;

    /* $MAIL_CONFIG chooses the instance as -c does (spool.h). */
    if (!qt_spool_config_dir(opt->config_dir) && !opt->demo_dir && !a->script) {
        bool quit = false;

        if (!pick_instance(&picked, &quit)) {
            qt_fatal_hook = NULL;
            return 1;
        }
        if (quit || stop_signal) {
            restore_terminal();
            qt_fatal_hook = NULL;
            free(picked);
            return stop_signal ? 128 + (int)stop_signal : 0;
        }
        if (picked) {
            picked_opt = *opt;
            picked_opt.config_dir = picked;
            a->opt = opt = &picked_opt;
        }
    }
    if (!open_queue(a, err, sizeof(err))) {
        if (curses_up)
            restore_terminal();
        fprintf(stderr, "qtriage: %s\n", err);
        qt_fatal_hook = NULL;
        free(picked);
        if (a->script)
            script_close(a->script);
        return 1;
    }
    qt_selection_init(&a->current.tags);
    tui_keymap_init(&a->keymap, opt->config);
    create_panes(a);
    action_job_init(a);
    setup_options(a);

    if (a->script ? !(curses_up = script_start_curses(a->script)) : !start_curses()) {
        free_panes(a);
        keymap_free(&a->keymap);
        qt_selection_free(&a->current.tags);
        action_job_free(a);
        qt_view_free(&a->view);
        close_queue(a);
        qt_fatal_hook = NULL;
        free(picked);
        if (a->script)
            script_close(a->script);
        return 1;
    }
    init_colors(a);
    if (!opt->no_mouse)
        mousemask(BUTTON1_CLICKED | BUTTON1_DOUBLE_CLICKED | BUTTON4_PRESSED
#ifdef BUTTON5_PRESSED
                      | BUTTON5_PRESSED
#endif
                  ,
                  NULL);
    draw_layout(a);
    nodelay(a->title_win, TRUE);
    keypad(a->title_win, TRUE);

    run_loop(a);

    restore_terminal();
    curses_up = false;
    qt_fatal_hook = NULL;
    if (stop_signal)
        fprintf(stderr, "qtriage: stopped by signal %d; the queue was not changed by it\n",
                (int)stop_signal);
    prompt_free(a);
    free_panes(a);
    keymap_free(&a->keymap);
    bulk_free(a);
    block_free(a);
    qt_selection_free(&a->current.tags);
    action_job_free(a);
    qt_view_free(&a->view);
    delwin(a->title_win);
    delwin(a->list_win);
    delwin(a->msg_win);
    delwin(a->status_win);
    if (a->viewer_win)
        delwin(a->viewer_win);
    close_queue(a);
    free(picked);
    if (a->script && !script_close(a->script))
        return 1;
    return stop_signal ? 128 + (int)stop_signal : 0;
}
