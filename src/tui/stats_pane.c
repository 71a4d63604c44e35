/* The statistics pane: who and what fills the queue, and who is growing
 * it right now, over the messages the list's filter shows; and the way from
 * a number to an action: Enter turns the row under the cursor into the
 * list's filter, t tags the whole group, and the action keys then act on
 * the tags.
 *
 * Views, cycled with Tab (S-Tab back): top groups by sender, sender domain,
 * sasl_username, client address, client name, recipient domain, Subject,
 * delay reason and reason class; then qshape's table by recipient domain
 * and by sender domain.  The groups show their arrival rates over the last
 * 5, 15 and 60 minutes and are ordered by them (o: by count instead).
 *
 * The pane never holds a key up: the groups are counted in slices between
 * keys (stats_continue, from the main loop, which keeps the store as it is
 * meanwhile), the Postfix settings are read by a thread.  The figures
 * follow rescans (recounted at most once a second, or every four times what
 * the last counting cost, and every half minute for the rates to move).
 *
 * Hooks that act on a row (block its source, make a standing rule) take
 * the row with stats_row_group, stats_row_source, stats_row_expr or
 * stats_row_filter, and may go through stats_guard, which asks first when
 * the group is over half of the queue. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "script.h"
#include "list_pane.h"
#include "prompt.h"
#include "qtriage/stats.h"
#include "qtriage/util.h"
#include "stats_pane.h"

#define VIEW_SHAPE_RCPT  QT_BY_COUNT
#define VIEW_SHAPE_SENDER (QT_BY_COUNT + 1)
#define NVIEWS (QT_BY_COUNT + 2)

/* Counting works this long per turn of the main loop, looking at the
 * clock every STEP messages. */
#define SLICE_MS 20
#define STEP 4096
/* Rates move with the clock even when the queue does not. */
#define RATE_REFRESH_MS 30000

/* Which queues qshape's table counts (w cycles). */
static const struct {
    const char *label;
    unsigned mask;              /* bits of enum qt_queue; 0: qshape's default */
} queue_sets[] = {
    {"all queues", (1u << QT_Q_MAILDROP) | (1u << QT_Q_INCOMING) | (1u << QT_Q_ACTIVE) |
                       (1u << QT_Q_DEFERRED) | (1u << QT_Q_HOLD)},
    {"incoming+active (qshape's default)", 0},
    {"deferred", 1u << QT_Q_DEFERRED},
    {"hold", 1u << QT_Q_HOLD},
    {"active", 1u << QT_Q_ACTIVE},
};

/* The Postfix settings, read once by a thread: postconf takes a good part
 * of a second on a loaded server. */
struct settings_reader {
    pthread_t thread;
    bool started;
    atomic_bool done;
    const struct qt_spool_layout *layout;
    struct qt_queue_settings settings;
    bool ok;
    char error[256];
};

struct stats_pane {
    struct pane pane;
    int view;                   /* enum qt_stats_by, then the two qshape tables */
    int queue_set;              /* qshape: which queues */
    enum qt_stats_sort sort;    /* of the groups; o toggles */
    struct qt_stats stats;      /* shown: the last complete counting, or none */
    struct qt_stats counting;   /* under way while `counting_on` (groups) */
    bool counting_on;
    int64_t counting_work_ms;   /* spent on it so far */
    struct qt_shape shape;      /* shown, as `stats` */
    struct qt_shape shape_counting;     /* under way while `counting_on` (qshape) */
    struct settings_reader settings;
    uint64_t store_version;     /* what the figures were computed from */
    uint64_t filter_serial;
    int64_t computed_ms, cost_ms;
    size_t cursor, top, page;
    /* The group under the cursor, so that new figures (a new order) keep it
     * there; `place_cursor`: the next figures put it on the first real group. */
    struct qt_buf cursor_key;
    bool cursor_null_sender, cursor_known, place_cursor;
    /* stats_guard waits for y/n: what to do then. */
    unsigned (*pending)(struct app *a);
};

static const struct pane_ops stats_ops;

static struct stats_pane *stats_of(const struct app *a)
{
    return (struct stats_pane *)pane_find(a, &stats_ops);
}

static bool is_shape(const struct stats_pane *p)
{
    return p->view >= VIEW_SHAPE_RCPT;
}

static size_t nrows(const struct stats_pane *p)
{
    return is_shape(p) ? p->shape.n : p->stats.n;
}

/* ---- the cursor across new figures ---- */

static void remember_cursor(struct stats_pane *p)
{
    const struct qt_stats_group *g;

    p->cursor_known = false;
    if (is_shape(p) || p->cursor >= p->stats.n)
        return;
    g = &p->stats.groups[p->cursor];
    qt_buf_reset(&p->cursor_key);
    qt_buf_append(&p->cursor_key, g->key, g->key_len);
    p->cursor_null_sender = g->null_sender;
    p->cursor_known = true;
}

/* After new figures or a new order: the first real group when the pane
 * just opened (a catch-all like "(none)" may hold nearly the whole queue,
 * and t there would tag it all), else the group the cursor was on. */
static void place_cursor(struct stats_pane *p)
{
    size_t i;

    if (p->place_cursor) {
        p->place_cursor = false;
        p->cursor = p->top = 0;
        for (i = 0; i < p->stats.n; i++)
            if (!qt_stats_group_catchall(&p->stats.groups[i])) {
                p->cursor = i;
                break;
            }
    } else if (p->cursor_known) {
        for (i = 0; i < p->stats.n; i++) {
            const struct qt_stats_group *g = &p->stats.groups[i];

            if (g->null_sender == p->cursor_null_sender && g->key_len == p->cursor_key.len &&
                (g->key_len == 0 || memcmp(g->key, p->cursor_key.data, g->key_len) == 0)) {
                p->cursor = i;
                break;
            }
        }
    }
    if (p->cursor >= nrows(p))
        p->cursor = nrows(p) ? nrows(p) - 1 : 0;
    remember_cursor(p);
}

/* ---- counting ---- */

static void shape_options(const struct stats_pane *p, struct qt_shape_options *o)
{
    int q;

    qt_shape_options_default(o);
    o->sender = p->view == VIEW_SHAPE_SENDER;
    for (q = 0; q < QT_Q_COUNT; q++)
        o->queues[q] = (queue_sets[p->queue_set].mask >> q) & 1u;
}

static void begin(struct app *a)
{
    struct stats_pane *p = stats_of(a);
    int64_t now = app_wall_clock(a);

    p->filter_serial = list_filter_serial(a);
    p->store_version = a->store.version;
    if (is_shape(p)) {
        struct qt_shape_options o;

        shape_options(p, &o);
        qt_shape_begin(&p->shape_counting, &a->store, list_filter(a), &o, now);
    } else {
        p->counting.sort = p->sort;
        qt_stats_begin(&p->counting, &a->store, list_filter(a), (enum qt_stats_by)p->view, now);
    }
}

static void adopt(struct app *a)
{
    struct stats_pane *p = stats_of(a);

    if (is_shape(p)) {
        qt_shape_free(&p->shape);
        p->shape = p->shape_counting;
        qt_shape_init(&p->shape_counting);
        p->counting_on = false;
        p->computed_ms = app_now_ms();
        p->cost_ms = p->counting_work_ms;
        if (p->cursor >= nrows(p))
            p->cursor = nrows(p) ? nrows(p) - 1 : 0;
        app_bench(a, "stats_counted");
        return;
    }
    remember_cursor(p);
    qt_stats_free(&p->stats);
    p->stats = p->counting;
    qt_stats_init(&p->counting);
    p->counting_on = false;
    p->computed_ms = app_now_ms();
    p->cost_ms = p->counting_work_ms;
    place_cursor(p);
    app_bench(a, "stats_counted");
}

bool stats_counting(const struct app *a)
{
    const struct stats_pane *p = stats_of(a);

    return p && p->counting_on;
}

bool stats_continue(struct app *a)
{
    struct stats_pane *p = stats_of(a);
    int64_t t0 = app_now_ms(), t = t0;
    bool done = false;

    if (!p->counting_on)
        return false;
    /* The list's filter (which the counting holds) or the store changed:
     * start over. */
    if (p->filter_serial != list_filter_serial(a) || p->store_version != a->store.version)
        begin(a);
    while (!done && t - t0 < SLICE_MS) {
        done = is_shape(p) ? qt_shape_step(&p->shape_counting, &a->store, STEP)
                           : qt_stats_step(&p->counting, &a->store, STEP);
        t = app_now_ms();
    }
    p->counting_work_ms += t - t0;
    if (done)
        adopt(a);
    return true;
}

static void stop_counting(struct stats_pane *p)
{
    qt_stats_free(&p->counting);
    qt_shape_free(&p->shape_counting);
    p->counting_on = false;
}

/* Count anew (the groups or qshape's table of the current view). */
static void compute(struct app *a)
{
    struct stats_pane *p = stats_of(a);

    stop_counting(p);
    begin(a);
    p->counting_on = true;
    p->counting_work_ms = 0;
    /* A small queue is counted at once; a large one goes on between keys. */
    stats_continue(a);
}

/* ---- the Postfix settings ---- */

static void *settings_main(void *arg)
{
    struct settings_reader *r = arg;
    struct qt_error err = {""};

    r->ok = qt_queue_settings_load(&r->settings, r->layout, &err);
    if (!r->ok)
        snprintf(r->error, sizeof(r->error), "%s", err.msg);
    atomic_store(&r->done, true);
    return NULL;
}

static void settings_start(struct app *a)
{
    struct settings_reader *r = &stats_of(a)->settings;

    if (r->started || atomic_load(&r->done))
        return;
    r->layout = &a->layout;
    /* Without postconf there is nothing to wait for (and a scripted run
     * shows the same screen every time). */
    if (!a->layout.postconf || pthread_create(&r->thread, NULL, settings_main, r) != 0) {
        settings_main(r);
        return;
    }
    r->started = true;
}

static const struct qt_queue_settings *settings_of(const struct stats_pane *p)
{
    const struct settings_reader *r = &p->settings;

    return atomic_load(&r->done) && r->ok ? &r->settings : NULL;
}

/* ---- opening, closing, following the queue ---- */

static void stats_open(struct app *a)
{
    struct stats_pane *p = stats_of(a);

    app_bench(a, "stats_key");
    settings_start(a);
    pane_focus(&p->pane);
    p->place_cursor = true;
    compute(a);
}

static unsigned stats_close(struct pane *pane)
{
    stop_counting((struct stats_pane *)pane);
    pane_focus_back(pane->app);
    return R_REDRAW;
}

unsigned stats_toggle(struct app *a)
{
    struct stats_pane *p = stats_of(a);

    if (pane_has_focus(&p->pane))
        return stats_close(&p->pane);
    stats_open(a);
    return R_REDRAW;
}

static void stats_free(struct pane *pane)
{
    struct stats_pane *p = (struct stats_pane *)pane;

    if (p->settings.started)
        pthread_join(p->settings.thread, NULL);
    qt_stats_free(&p->stats);
    qt_stats_free(&p->counting);
    qt_shape_free(&p->shape);
    qt_shape_free(&p->shape_counting);
    if (atomic_load(&p->settings.done) && p->settings.ok)
        qt_queue_settings_free(&p->settings.settings);
    qt_buf_free(&p->cursor_key);
    free(p);
}

/* Recount when the store or the filter changed (rate-limited), and now and
 * then for the rates to follow the clock. */
static void stats_tick(struct app *a)
{
    struct stats_pane *p = stats_of(a);
    int64_t wait = p->cost_ms * 4 > 1000 ? p->cost_ms * 4 : 1000;
    int64_t since = app_now_ms() - p->computed_ms;

    if (!pane_has_focus(&p->pane) || p->counting_on)
        return;
    if (p->filter_serial != list_filter_serial(a) ||
        (p->store_version != a->store.version && since >= wait) ||
        (!is_shape(p) && since >= (wait * 5 > RATE_REFRESH_MS ? wait * 5 : RATE_REFRESH_MS)))
        compute(a);
}

static unsigned stats_move(struct pane *pane, long delta)
{
    struct stats_pane *p = (struct stats_pane *)pane;
    long n = (long)nrows(p), c;

    if (delta == PANE_TOP)
        c = 0;
    else if (delta == PANE_BOTTOM)
        c = n - 1;
    else
        c = (long)p->cursor + delta;
    if (c >= n)
        c = n - 1;
    if (c < 0)
        c = 0;
    p->cursor = (size_t)c;
    remember_cursor(p);
    return R_REDRAW;
}

static long stats_page(const struct pane *pane)
{
    return (long)((const struct stats_pane *)pane)->page + 1;
}

unsigned stats_next_view(struct app *a, int dir)
{
    struct stats_pane *p = stats_of(a);

    p->view = (p->view + dir + NVIEWS) % NVIEWS;
    p->cursor = p->top = 0;
    /* Another key's figures mean nothing here: none until counted. */
    qt_stats_free(&p->stats);
    qt_shape_free(&p->shape);
    p->place_cursor = true;
    compute(a);
    return R_REDRAW;
}

unsigned stats_next_sort(struct app *a)
{
    struct stats_pane *p = stats_of(a);

    if (is_shape(p)) {
        app_message(a, false, "o orders the groups (Tab to them); qshape's table keeps "
                              "qshape's order");
        return R_REDRAW;
    }
    p->sort = p->sort == QT_STATS_SORT_RATE ? QT_STATS_SORT_COUNT : QT_STATS_SORT_RATE;
    p->counting.sort = p->sort;
    if (p->stats.complete) {
        remember_cursor(p);
        qt_stats_sort(&p->stats, p->sort);
        place_cursor(p);
    }
    app_message(a, false, "%s", p->sort == QT_STATS_SORT_RATE
                ? "by arrival rate: who is growing the queue now (5 min, then 15, then 60)"
                : "by count: who fills the queue most");
    return R_REDRAW;
}

unsigned stats_next_queues(struct app *a)
{
    struct stats_pane *p = stats_of(a);
    size_t n = sizeof(queue_sets) / sizeof(queue_sets[0]);

    if (!is_shape(p)) {
        app_message(a, false, "w chooses the queues of the qshape tables (Tab to them); "
                              "the groups count what the list's filter shows");
        return R_REDRAW;
    }
    p->queue_set = (p->queue_set + 1) % (int)n;
    qt_shape_free(&p->shape);
    compute(a);
    app_message(a, false, "qshape over %s", queue_sets[p->queue_set].label);
    return R_REDRAW;
}

/* ---- the row under the cursor ---- */

const struct qt_stats_group *stats_row_group(const struct app *a, enum qt_stats_by *by)
{
    const struct stats_pane *p = stats_of(a);

    if (is_shape(p) || !p->stats.complete || p->cursor >= p->stats.n)
        return NULL;
    if (by)
        *by = p->stats.by;
    return &p->stats.groups[p->cursor];
}

/* The messages of the row under the cursor (0: no row, or TOTAL). */
static uint64_t row_count(const struct stats_pane *p)
{
    if (is_shape(p)) {
        const struct qt_shape_row *r = p->cursor < p->shape.n ? &p->shape.rows[p->cursor] : NULL;

        return r && !r->total ? r->counts[0] : 0;
    }
    return p->stats.complete && p->cursor < p->stats.n ? p->stats.groups[p->cursor].count : 0;
}

bool stats_row_expr(struct app *a, struct qt_buf *out, char *label, size_t label_size)
{
    struct stats_pane *p = stats_of(a);

    if (is_shape(p) ? !p->shape.complete : !p->stats.complete) {
        app_message(a, true, "still counting: a moment");
        return false;
    }
    if (nrows(p) == 0) {
        app_message(a, true, "no rows here");
        return false;
    }
    if (is_shape(p)) {
        /* A domain of qshape's table: the same domain's group of the
         * matching grouping gives the exact expression. */
        const struct qt_shape_row *r = &p->shape.rows[p->cursor];
        struct qt_stats st;
        size_t i;
        bool ok = false;

        if (r->total || r->parent) {
            app_message(a, true, "%s: pick a domain's row (TOTAL and parent domains "
                                 "have no filter of their own)", r->total ? "TOTAL" : r->domain);
            return false;
        }
        qt_stats_init(&st);
        qt_stats_compute(&st, &a->store, list_filter(a),
                         p->view == VIEW_SHAPE_SENDER ? QT_BY_SENDER_DOMAIN : QT_BY_RCPT_DOMAIN,
                         app_wall_clock(a));
        for (i = 0; i < st.n && !ok; i++) {
            const struct qt_stats_group *g = &st.groups[i];
            bool same = g->key_len == r->domain_len &&
                        strncasecmp(g->key, r->domain, r->domain_len) == 0;

            if (p->view == VIEW_SHAPE_SENDER && r->domain_len == 13 &&
                strncmp(r->domain, "MAILER-DAEMON", 13) == 0)
                same = g->key_len == 0;     /* qshape's name for the null sender */
            if (same && qt_stats_filter_expr(&st, g, out)) {
                snprintf(label, label_size, "%.*s", (int)r->domain_len, r->domain);
                ok = true;
            }
        }
        qt_stats_free(&st);
        if (!ok)
            app_message(a, true, "no filter selects exactly %.*s's messages",
                        (int)r->domain_len, r->domain);
        return ok;
    }
    if (!qt_stats_filter_expr(&p->stats, &p->stats.groups[p->cursor], out)) {
        app_message(a, true, "no filter selects exactly this group (its key holds a NUL byte)");
        return false;
    }
    snprintf(label, label_size, "%s", p->stats.groups[p->cursor].label);
    return true;
}

/* ---- asking before acting on most of the queue ---- */

/* 98900 -> "98,900" */
static void group_digits(uint64_t n, char *out, size_t size)
{
    char raw[32];
    size_t len, i, o = 0;

    snprintf(raw, sizeof(raw), "%llu", (unsigned long long)n);
    len = strlen(raw);
    for (i = 0; i < len && o + 2 < size; i++) {
        if (i && (len - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = raw[i];
    }
    out[o] = 0;
}

static unsigned guard_yes(struct app *a, const char *text)
{
    struct stats_pane *p = stats_of(a);
    unsigned (*go)(struct app *) = p->pending;

    (void)text;
    prompt_close(a);
    p->pending = NULL;
    return go ? go(a) : R_REDRAW;
}

static unsigned guard_no(struct app *a)
{
    prompt_close(a);
    stats_of(a)->pending = NULL;
    app_message(a, false, "cancelled: nothing was done");
    return R_REDRAW;
}

static const struct prompt_type guard_prompt = {
    .yes_no = true,
    .submit = guard_yes,
    .cancel = guard_no,
};

unsigned stats_guard(struct app *a, const char *verb, unsigned (*go)(struct app *a))
{
    struct stats_pane *p = stats_of(a);
    uint64_t n = row_count(p), queue = a->store.n;
    char count[40], label[200];

    if (!queue || n * 2 <= queue)
        return go(a);
    group_digits(n, count, sizeof(count));
    snprintf(label, sizeof(label), "%s %s messages, %.1f %% of the queue? y/N ", verb, count,
             100.0 * (double)n / (double)queue);
    p->pending = go;
    prompt_open(a, &guard_prompt, label, "");
    return R_REDRAW;
}

/* ---- Enter and t ---- */

/* The list's filter and the row's, both. */
static char *combined(struct app *a, const char *expr)
{
    if (list_filter_text(a) && *list_filter_text(a) && !qt_filter_matches_all(list_filter(a)))
        return xasprintf("(%s) (%s)", list_filter_text(a), expr);
    return xstrdup(expr);
}

char *stats_row_filter(struct app *a)
{
    struct qt_buf expr = {0};
    char label[256], *text = NULL;

    if (stats_row_expr(a, &expr, label, sizeof(label)))
        text = combined(a, expr.data);
    qt_buf_free(&expr);
    return text;
}

unsigned stats_drill(struct app *a)
{
    struct qt_buf expr = {0};
    char label[256], *text;
    unsigned r = R_REDRAW;

    if (!stats_row_expr(a, &expr, label, sizeof(label))) {
        qt_buf_free(&expr);
        return R_REDRAW;
    }
    text = combined(a, expr.data);
    if (list_apply_filter(a, text)) {
        stats_close(&stats_of(a)->pane);
        list_show_count(a);
        r = R_REBUILD | R_REDRAW;
    }
    free(text);
    qt_buf_free(&expr);
    return r;
}

static unsigned tag_row(struct app *a)
{
    struct qt_buf expr = {0};
    struct qt_filter_error ferr = {0, ""};
    struct qt_filter *f;
    char label[256], *text;
    int64_t now = app_wall_clock(a);
    size_t i, added = 0, matched = 0;

    if (!stats_row_expr(a, &expr, label, sizeof(label))) {
        qt_buf_free(&expr);
        return R_REDRAW;
    }
    text = combined(a, expr.data);
    f = list_compile_filter(a, text, &ferr);
    if (!f) {
        app_message(a, true, "cannot tag: %s", ferr.msg);
    } else {
        qt_filter_prepare(f, &a->store, NULL);
        for (i = 0; i < a->store.n; i++) {
            const struct qt_msg *m = &a->store.msgs[i];

            if (!qt_filter_match(f, &a->store, m, now))
                continue;
            matched++;
            if (qt_selection_add(&a->current.tags, qt_store_str(&a->store, m->id)))
                added++;
        }
        app_message(a, false, "tagged %zu messages of %s (%zu new; %zu tagged in all): "
                              "h holds, d deletes them, Enter shows them",
                    matched, label, added, a->current.tags.count);
        qt_filter_free(f);
    }
    free(text);
    qt_buf_free(&expr);
    return R_REDRAW;
}

unsigned stats_tag(struct app *a)
{
    return stats_guard(a, "tag", tag_row);
}

bool stats_row_source(struct app *a, int *by, const char **key, size_t *key_len)
{
    struct stats_pane *p = stats_of(a);

    /* Counting (no groups yet) or an empty view: no row. */
    if (!p || is_shape(p) || !p->stats.complete || p->cursor >= p->stats.n)
        return false;
    *by = p->stats.by;
    *key = p->stats.groups[p->cursor].key;
    *key_len = p->stats.groups[p->cursor].key_len;
    return true;
}

/* ---- drawing ---- */

static void settings_line(struct app *a, struct qt_buf *b, bool *warn)
{
    struct stats_pane *p = stats_of(a);
    const struct qt_queue_settings *qs = settings_of(p);
    size_t i;

    *warn = false;
    if (!atomic_load(&p->settings.done)) {
        qt_buf_printf(b, "reading the Postfix settings (postconf)...");
        return;
    }
    if (!qs) {
        qt_buf_printf(b, "Postfix settings unavailable: %s", p->settings.error);
        return;
    }
    for (i = 0; i < QT_SET_COUNT; i++) {
        int64_t v = qs->value[i];

        qt_buf_printf(b, "%s%s ", i ? "  " : "", qt_queue_setting_names[i]);
        if (v >= 0 && qt_queue_setting_is_time((enum qt_queue_setting)i)) {
            char d[32];

            qt_format_duration(v, d, sizeof(d));
            qt_buf_printf(b, "%s", d);
        } else {
            qt_buf_printf(b, "%s", qs->text[i] ? qs->text[i] : "?");
        }
    }
    if (qt_queue_settings_active_full(qs, a->store.per_queue[QT_Q_ACTIVE])) {
        *warn = true;
        qt_buf_printf(b, "  ACTIVE QUEUE FULL: %zu messages at qmgr_message_active_limit; "
                         "incoming and deferred mail waits",
                      a->store.per_queue[QT_Q_ACTIVE]);
    }
}

/* Draw `s` (any bytes: labels are sanitised, headings ASCII) at y, x. */
static void put(struct app *a, WINDOW *w, int y, int x, const char *s, size_t len, int width,
                attr_t attr)
{
    if (width <= 0)
        return;
    wmove(w, y, x);
    draw_text(a, w, s, len, width, attr, NULL, 0);
}

/* A rate cell: messages a minute (one in an hour is 0.02), "-" for none,
 * so that the groups growing stand out. */
static void rate_cell(char *out, size_t size, uint64_t arrived, int w)
{
    double r = qt_stats_rate(arrived, w);

    if (arrived)
        snprintf(out, size, r < 1000 ? "%7.2f " : "%7.0f ", r);
    else
        snprintf(out, size, "%7s ", "-");
}

/* Nothing counted yet for this view: how far the counting is. */
static void draw_counting(struct app *a, WINDOW *w, int y0, size_t counted, size_t total)
{
    char line[160];

    snprintf(line, sizeof(line), "counting... %d%% of %zu messages",
             total ? (int)(100 * (double)counted / (double)total) : 0, total);
    put(a, w, y0 + 1, 2, line, strlen(line), COLS - 2, A_NORMAL);
}

/* MESSAGES % SIZE, the three rates, then the key. */
#define NUM_W 26
#define RATES_W 25

static void draw_groups(struct app *a, WINDOW *w, int y0, int h, attr_t cur_attr)
{
    struct stats_pane *p = stats_of(a);
    const struct qt_stats *st = &p->stats;
    char head[160];
    int y, k, keyw = COLS - NUM_W - RATES_W;
    size_t i;

    if (!st->complete) {
        draw_counting(a, w, y0, p->counting.counted, p->counting.total);
        return;
    }
    snprintf(head, sizeof(head), "%9s %6s %8s  %7s %7s %7s  %s", "MESSAGES", "%", "SIZE",
             "5M/MIN", "15M/MIN", "60M/MIN", qt_stats_by_info[st->by].title);
    put(a, w, y0, 0, head, strlen(head), COLS, A_BOLD | A_UNDERLINE);
    for (y = 0, i = p->top; y < h - 1 && i < st->n; y++, i++) {
        const struct qt_stats_group *g = &st->groups[i];
        attr_t at = i == p->cursor ? cur_attr : A_NORMAL;
        char num[96], size[16], rates[96];
        size_t o = 0;

        qt_format_size(g->size, size, sizeof(size));
        snprintf(num, sizeof(num), "%9llu %5.1f%% %8s  ", (unsigned long long)g->count,
                 st->messages ? 100.0 * (double)g->count / (double)st->messages : 0.0, size);
        put(a, w, y0 + 1 + y, 0, num, strlen(num), NUM_W, at);
        for (k = 0; k < QT_STATS_NWINDOWS; k++) {
            rate_cell(rates + o, sizeof(rates) - o, g->arrived[k], k);
            o += strlen(rates + o);
        }
        snprintf(rates + o, sizeof(rates) - o, " ");
        put(a, w, y0 + 1 + y, NUM_W, rates, strlen(rates), RATES_W, at);
        put(a, w, y0 + 1 + y, NUM_W + RATES_W, g->label, strlen(g->label), keyw, at);
    }
    if (st->n == 0)
        put(a, w, y0 + 1, 2, "(no groups: no message has this key)", 36, COLS - 2, A_NORMAL);
}

static void draw_shape(struct app *a, WINDOW *w, int y0, int h, attr_t cur_attr)
{
    struct stats_pane *p = stats_of(a);
    const struct qt_shape *sh = &p->shape;
    int ncols = sh->opts.buckets + 1, col, y, cw[64], domw, x;
    struct qt_buf cell = {0};
    size_t i;

    if (!sh->complete) {
        draw_counting(a, w, y0, p->shape_counting.counted, p->shape_counting.total);
        return;
    }
    if (ncols > 64)
        ncols = 64;
    /* Each column as wide as its heading or its largest number. */
    for (col = 0; col < ncols; col++) {
        uint64_t max = 0;
        char num[32];

        qt_buf_reset(&cell);
        qt_shape_heading(sh, col, &cell);
        cw[col] = (int)cell.len;
        for (i = 0; i < sh->n; i++)
            if (sh->rows[i].counts[col] > max)
                max = sh->rows[i].counts[col];
        snprintf(num, sizeof(num), "%llu", (unsigned long long)max);
        if ((int)strlen(num) > cw[col])
            cw[col] = (int)strlen(num);
        cw[col] += 1;
    }
    domw = COLS;
    for (col = 0; col < ncols; col++)
        domw -= cw[col];
    if (domw > 40)
        domw = 40;
    if (domw < 8)
        domw = 8;
    put(a, w, y0, 0, p->view == VIEW_SHAPE_SENDER ? "SENDER DOMAIN" : "RECIPIENT DOMAIN", 13 + 3 *
        (p->view != VIEW_SHAPE_SENDER), domw, A_BOLD | A_UNDERLINE);
    for (col = 0, x = domw; col < ncols && x < COLS; x += cw[col], col++) {
        char buf[32];

        qt_buf_reset(&cell);
        qt_shape_heading(sh, col, &cell);
        snprintf(buf, sizeof(buf), "%*.*s", cw[col], (int)cell.len, cell.data ? cell.data : "");
        put(a, w, y0, x, buf, strlen(buf), COLS - x, A_BOLD | A_UNDERLINE);
    }
    for (y = 0, i = p->top; y < h - 1 && i < sh->n; y++, i++) {
        const struct qt_shape_row *r = &sh->rows[i];
        attr_t at = i == p->cursor ? cur_attr : r->total ? A_BOLD : A_NORMAL;

        put(a, w, y0 + 1 + y, 0, r->domain, r->domain_len, domw, at);
        for (col = 0, x = domw; col < ncols && x < COLS; x += cw[col], col++) {
            char buf[32];

            snprintf(buf, sizeof(buf), "%*llu", cw[col], (unsigned long long)r->counts[col]);
            put(a, w, y0 + 1 + y, x, buf, strlen(buf), COLS - x, at);
        }
    }
    qt_buf_free(&cell);
}

static void stats_draw(struct pane *pane)
{
    struct app *a = pane->app;
    struct stats_pane *p = (struct stats_pane *)pane;
    int h = LINES - 3, y = 0;
    attr_t cur = a->colors ? COLOR_PAIR(COLOR_PAIR_CURSOR) : A_REVERSE;
    struct qt_buf b = {0};
    bool warn;
    WINDOW *w;

    if (h < 2)
        h = 2;
    stats_tick(a);
    w = newwin(h, COLS, 1, 0);
    if (is_shape(p))
        qt_buf_printf(&b, "qshape by %s domain over %s", p->view == VIEW_SHAPE_SENDER ? "sender"
                                                                                       : "recipient",
                      queue_sets[p->queue_set].label);
    else if (!p->stats.complete)
        qt_buf_printf(&b, "Top %s: counting...", qt_stats_by_info[p->view].title);
    else
        qt_buf_printf(&b, "Top %s by %s over %llu messages (%llu in no group)%s",
                      qt_stats_by_info[p->stats.by].title,
                      p->stats.sort == QT_STATS_SORT_RATE ? "arrival rate" : "count",
                      (unsigned long long)p->stats.messages,
                      (unsigned long long)p->stats.ungrouped,
                      p->counting_on ? ", recounting..." : "");
    if (list_filter_text(a) && *list_filter_text(a))
        qt_buf_printf(&b, ", filter: %s", list_filter_text(a));
    qt_buf_printf(&b, "   Tab: next view  %sEnter: filter the list  t: tag the group  q: back",
                  is_shape(p) ? "w: queues  " : "o: order  ");
    put(a, w, y++, 0, b.data, b.len, COLS, A_BOLD);
    qt_buf_reset(&b);
    settings_line(a, &b, &warn);
    /* The settings wrap onto a second line when the screen is narrow. */
    {
        size_t first = b.len;
        int lines = 1;

        if (text_width(a, b.data, b.len) > COLS) {
            size_t cut = 0, i;

            for (i = 0; i < b.len && text_width(a, b.data, i) <= COLS; i++)
                if (b.data[i] == ' ' && i + 1 < b.len && b.data[i + 1] == ' ')
                    cut = i;
            if (cut) {
                first = cut;
                lines = 2;
            }
        }
        attr_t sattr = warn ? (a->colors ? COLOR_PAIR(COLOR_PAIR_WARNING) | A_BOLD : A_BOLD)
                            : A_DIM;

        put(a, w, y++, 0, b.data, first, COLS, sattr);
        if (lines == 2) {
            size_t rest = first;

            while (rest < b.len && b.data[rest] == ' ')
                rest++;
            put(a, w, y++, 0, b.data + rest, b.len - rest, COLS, sattr);
        }
    }
    qt_buf_free(&b);
    y++;
    h -= y;
    if (h < 2)      /* a tiny terminal: a heading and one row, clipped */
        h = 2;
    p->page = h > 2 ? (size_t)h - 2 : 1;
    if (p->cursor < p->top)
        p->top = p->cursor;
    if (p->cursor >= p->top + (size_t)(h - 1))
        p->top = p->cursor - (size_t)(h - 2);
    if (is_shape(p))
        draw_shape(a, w, y, h, cur);
    else
        draw_groups(a, w, y, h, cur);
    wnoutrefresh(w);
    delwin(w);
}

static const struct pane_ops stats_ops = {
    .name = "stats",
    .where = "the statistics",
    .context = CTX_STATS,
    .keys = CTX_STATS,
    .flags = PANE_FULL_SCREEN | PANE_HIDES_ROW,
    .draw = stats_draw,
    .move_by = stats_move,
    .page = stats_page,
    .close = stats_close,
    .free = stats_free,
};

struct pane *stats_pane_new(struct app *a)
{
    struct stats_pane *p = xcalloc(1, sizeof(*p));

    p->pane.ops = &stats_ops;
    p->pane.app = a;
    /* Who is flooding right now before who flooded most: with nothing
     * arrived in the last hour the rate order is the count order. */
    p->sort = QT_STATS_SORT_RATE;
    return &p->pane;
}
