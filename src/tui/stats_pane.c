/* The statistics pane: who and what fills the queue, over the messages the
 * list's filter shows, and the way from a number to an action:
 * Enter turns the row under the cursor into the list's filter, t tags the
 * whole group, and the action keys then act on the tags.
 *
 * Views, cycled with Tab (S-Tab back): top groups by sender, sender domain,
 * sasl_username, client address, client name, recipient domain, Subject,
 * delay reason and reason class; then qshape's table by recipient domain
 * and by sender domain.  The figures follow rescans (recomputed at most once
 * a second, or every four times what the last computation cost). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "script.h"
#include "list_pane.h"
#include "qtriage/stats.h"
#include "qtriage/util.h"
#include "stats_pane.h"

#define VIEW_SHAPE_RCPT  QT_BY_COUNT
#define VIEW_SHAPE_SENDER (QT_BY_COUNT + 1)
#define NVIEWS (QT_BY_COUNT + 2)

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

struct stats_pane {
    struct pane pane;
    int view;                   /* enum qt_stats_by, then the two qshape tables */
    int queue_set;              /* qshape: which queues */
    struct qt_stats stats;
    struct qt_shape shape;
    struct qt_queue_settings settings;
    bool settings_tried, settings_ok;
    char settings_error[256];
    uint64_t store_version;     /* what the figures were computed from */
    uint64_t filter_serial;
    int64_t computed_ms, cost_ms;
    size_t cursor, top, page;
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

static void compute(struct app *a)
{
    struct stats_pane *p = stats_of(a);
    int64_t t0 = app_now_ms(), now = app_wall_clock(a);

    if (is_shape(p)) {
        struct qt_shape_options o;
        int q;

        qt_shape_options_default(&o);
        o.sender = p->view == VIEW_SHAPE_SENDER;
        for (q = 0; q < QT_Q_COUNT; q++)
            o.queues[q] = (queue_sets[p->queue_set].mask >> q) & 1u;
        qt_shape_compute(&p->shape, &a->store, list_filter(a), &o, now);
    } else {
        qt_stats_compute(&p->stats, &a->store, list_filter(a), (enum qt_stats_by)p->view, now);
    }
    p->store_version = a->store.version;
    p->filter_serial = list_filter_serial(a);
    p->computed_ms = app_now_ms();
    p->cost_ms = p->computed_ms - t0;
    if (p->cursor >= nrows(p))
        p->cursor = nrows(p) ? nrows(p) - 1 : 0;
}

static void stats_open(struct app *a)
{
    struct stats_pane *p = stats_of(a);

    if (!p->settings_tried) {
        struct qt_error err = {""};

        p->settings_tried = true;
        p->settings_ok = qt_queue_settings_load(&p->settings, &a->layout, &err);
        if (!p->settings_ok)
            snprintf(p->settings_error, sizeof(p->settings_error), "%s", err.msg);
    }
    pane_focus(&p->pane);
    compute(a);
}

static unsigned stats_close(struct pane *p)
{
    pane_focus_back(p->app);
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

    qt_stats_free(&p->stats);
    qt_shape_free(&p->shape);
    if (p->settings_ok)
        qt_queue_settings_free(&p->settings);
    free(p);
}

/* Recompute when the store or the filter changed (rate-limited). */
static void stats_tick(struct app *a)
{
    struct stats_pane *p = stats_of(a);
    int64_t wait = p->cost_ms * 4 > 1000 ? p->cost_ms * 4 : 1000;

    if (!pane_has_focus(&p->pane))
        return;
    if (p->filter_serial != list_filter_serial(a) ||
        (p->store_version != a->store.version && app_now_ms() - p->computed_ms >= wait))
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
    compute(a);
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
    compute(a);
    app_message(a, false, "qshape over %s", queue_sets[p->queue_set].label);
    return R_REDRAW;
}

/* The filter expression for the row under the cursor, in `out`; false with
 * the reason shown when there is none. */
static bool row_expr(struct app *a, struct qt_buf *out, char *label, size_t label_size)
{
    struct stats_pane *p = stats_of(a);

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

    if (row_expr(a, &expr, label, sizeof(label)))
        text = combined(a, expr.data);
    qt_buf_free(&expr);
    return text;
}

unsigned stats_drill(struct app *a)
{
    struct qt_buf expr = {0};
    char label[256], *text;
    unsigned r = R_REDRAW;

    if (!row_expr(a, &expr, label, sizeof(label))) {
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

unsigned stats_tag(struct app *a)
{
    struct qt_buf expr = {0};
    struct qt_filter_error ferr = {0, ""};
    struct qt_filter *f;
    char label[256], *text;
    int64_t now = app_wall_clock(a);
    size_t i, added = 0, matched = 0;

    if (!row_expr(a, &expr, label, sizeof(label))) {
        qt_buf_free(&expr);
        return R_REDRAW;
    }
    text = combined(a, expr.data);
    f = list_compile_filter(a, text, &ferr);
    if (!f) {
        app_message(a, true, "cannot tag: %s", ferr.msg);
    } else {
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

bool stats_row_source(struct app *a, int *by, const char **key, size_t *key_len)
{
    struct stats_pane *p = stats_of(a);

    if (!p || is_shape(p) || nrows(p) == 0)
        return false;
    *by = p->view;
    *key = p->stats.groups[p->cursor].key;
    *key_len = p->stats.groups[p->cursor].key_len;
    return true;
}

static void settings_line(struct app *a, struct qt_buf *b, bool *warn)
{
    struct stats_pane *p = stats_of(a);
    size_t i;

    *warn = false;
    if (!p->settings_ok) {
        qt_buf_printf(b, "Postfix settings unavailable: %s", p->settings_error);
        return;
    }
    for (i = 0; i < QT_SET_COUNT; i++) {
        int64_t v = p->settings.value[i];

        qt_buf_printf(b, "%s%s ", i ? "  " : "", qt_queue_setting_names[i]);
        if (v >= 0 && qt_queue_setting_is_time((enum qt_queue_setting)i)) {
            char d[32];

            qt_format_duration(v, d, sizeof(d));
            qt_buf_printf(b, "%s", d);
        } else {
            qt_buf_printf(b, "%s", p->settings.text[i] ? p->settings.text[i] : "?");
        }
    }
    if (qt_queue_settings_active_full(&p->settings, a->store.per_queue[QT_Q_ACTIVE])) {
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

static void draw_groups(struct app *a, WINDOW *w, int y0, int h, attr_t cur_attr)
{
    struct stats_pane *p = stats_of(a);
    const struct qt_stats *st = &p->stats;
    char head[160];
    int y, keyw = COLS - 26;
    size_t i;

    snprintf(head, sizeof(head), "%9s %6s %8s  %s", "MESSAGES", "%", "SIZE",
             qt_stats_by_info[st->by].title);
    put(a, w, y0, 0, head, strlen(head), COLS, A_BOLD | A_UNDERLINE);
    for (y = 0, i = p->top; y < h - 1 && i < st->n; y++, i++) {
        const struct qt_stats_group *g = &st->groups[i];
        char num[96], size[16];

        qt_format_size(g->size, size, sizeof(size));
        snprintf(num, sizeof(num), "%9llu %5.1f%% %8s  ", (unsigned long long)g->count,
                 st->messages ? 100.0 * (double)g->count / (double)st->messages : 0.0, size);
        put(a, w, y0 + 1 + y, 0, num, strlen(num), 26, i == p->cursor ? cur_attr : A_NORMAL);
        put(a, w, y0 + 1 + y, 26, g->label, strlen(g->label), keyw,
            i == p->cursor ? cur_attr : A_NORMAL);
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
    else
        qt_buf_printf(&b, "Top %s over %llu messages (%llu in no group)",
                      qt_stats_by_info[p->stats.by].title,
                      (unsigned long long)p->stats.messages,
                      (unsigned long long)p->stats.ungrouped);
    if (list_filter_text(a) && *list_filter_text(a))
        qt_buf_printf(&b, ", filter: %s", list_filter_text(a));
    qt_buf_printf(&b, "   Tab: next view  Enter: filter the list  t: tag the group  %sq: back",
                  is_shape(p) ? "w: queues  " : "");
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
    return &p->pane;
}
