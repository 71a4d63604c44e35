/* The message viewer: lines from the core's renderer, fetched lazily as the
 * admin scrolls (a 50 MB message opens at once), wrapped to the pane. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "script.h"
#include "qtriage/maillog.h"
#include "qtriage/util.h"

#define FETCH_LINES 256

void viewer_free(struct viewer *v)
{
    size_t i;

    qt_render_close(v->render);
    for (i = 0; i < v->nlines; i++)
        free(v->lines[i].text);
    free(v->lines);
    free(v->rows);
    qt_search_free(v->search);
    memset(v, 0, sizeof(*v));
}

int viewer_height(const struct app *a)
{
    return a->viewer_win ? getmaxy(a->viewer_win) - 1 : 0;   /* minus its title */
}

static int pane_width(void)
{
    return COLS > 1 ? COLS : 1;
}

/* Cut line `li` into rows of at most `width` columns. */
static void wrap_line(struct app *a, size_t li)
{
    struct viewer *v = &a->viewer;
    const struct viewer_line *l = &v->lines[li];
    size_t off = 0;

    do {
        size_t end = off, last_break = 0;
        int cols = 0;

        while (end < l->len) {
            size_t n = 1;
            int cw;

            while (end + n < l->len && ((unsigned char)l->text[end + n] & 0xc0) == 0x80)
                n++;
            cw = text_width(a, l->text + end, n);
            if (cols + cw > v->wrap_width)
                break;
            cols += cw;
            end += n;
            if (l->text[end - 1] == ' ')
                last_break = end;
        }
        /* Break after a blank when there is one in the second half. */
        if (end < l->len && last_break > off + (end - off) / 2)
            end = last_break;
        if (end == off && off < l->len)
            end = off + 1;
        v->rows = xgrow(v->rows, &v->rows_cap, v->nrows + 1, sizeof(*v->rows));
        v->rows[v->nrows].line = (uint32_t)li;
        v->rows[v->nrows].off = (uint32_t)off;
        v->rows[v->nrows].len = (uint32_t)(end - off);
        v->nrows++;
        off = end;
    } while (off < l->len);
}

/* Append one line (and its wrapped rows). */
static void add_line(struct app *a, enum qt_line_kind kind, const char *text, size_t len,
                     size_t name_len)
{
    struct viewer *v = &a->viewer;
    struct viewer_line *l;

    v->lines = xgrow(v->lines, &v->lines_cap, v->nlines + 1, sizeof(*v->lines));
    l = &v->lines[v->nlines];
    l->len = (uint32_t)len;
    l->text = xstrndup(text, len);
    l->name_len = (uint16_t)(name_len < 0xffff ? name_len : 0);
    l->kind = (uint8_t)kind;
    wrap_line(a, v->nlines++);
}

/* Read more lines from the renderer; false at the end. */
static bool fetch(struct app *a)
{
    struct viewer *v = &a->viewer;
    struct qt_render_line out[FETCH_LINES];
    size_t n, i;

    if (!v->render)
        return false;
    n = qt_render_lines(v->render, out, FETCH_LINES);
    if (n == 0) {
        qt_render_close(v->render);
        v->render = NULL;
        return false;
    }
    for (i = 0; i < n; i++)
        add_line(a, out[i].kind, out[i].text, out[i].len, out[i].name_len);
    return true;
}

/* Make sure rows up to `row` (inclusive) exist, as far as there are any. */
static void ensure_rows(struct app *a, size_t row)
{
    while (a->viewer.nrows <= row && fetch(a))
        ;
}

static void rewrap(struct app *a)
{
    struct viewer *v = &a->viewer;
    size_t i, top_line = v->nrows ? v->rows[v->top < v->nrows ? v->top : 0].line : 0;

    v->wrap_width = pane_width();
    v->nrows = 0;
    for (i = 0; i < v->nlines; i++)
        wrap_line(a, i);
    v->top = 0;
    for (i = 0; i < v->nrows; i++)
        if (v->rows[i].line == top_line) {
            v->top = i;
            break;
        }
}


/* How a log line reads at a glance: failures stand out. */
static enum qt_line_kind log_line_kind(const char *line)
{
    static const char *const bad[] = {
        "status=deferred", "status=bounced", "status=expired", "reject:", "warning:",
        "error:", "fatal:", "panic:", "status=undeliverable",
    };
    size_t i;

    if (strstr(line, "status=sent") || strstr(line, "status=deliverable"))
        return QT_LINE_RECORD;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (strstr(line, bad[i]))
            return QT_LINE_WARNING;
    return QT_LINE_BODY;
}

/* The history view: every log line about the message, oldest first, under
 * a line that says which log was searched and how far.  The log is found
 * once per session. */
static void load_history(struct app *a)
{
    struct viewer *v = &a->viewer;
    struct qt_error err = {""};
    struct qt_maillog_history h;
    char title[700];
    long msg = qt_store_find(&a->store, v->id);
    int64_t arrival = msg >= 0 ? a->store.msgs[msg].arrival : 0;
    size_t i;

    v->wrap_width = pane_width();
    if (!a->maillog_path && !a->maillog_error[0]) {
        a->maillog_path = qt_maillog_locate(a->layout.postconf, a->layout.config_dir,
                                            a->opt->maillog, &err);
        if (!a->maillog_path)
            snprintf(a->maillog_error, sizeof(a->maillog_error), "%s", err.msg);
    }
    if (!a->maillog_path) {
        snprintf(v->error, sizeof(v->error), "%s", a->maillog_error);
        return;
    }
    if (!qt_maillog_history(a->maillog_path, v->id, arrival, app_wall_clock(a), NULL, &h,
                            &err))
        snprintf(v->error, sizeof(v->error), "%s", err.msg);
    snprintf(title, sizeof(title), "*** %s ***", h.note[0] ? h.note : "mail log");
    add_line(a, QT_LINE_SEPARATOR, title, strlen(title), 0);
    if (h.n == 0 && !v->error[0]) {
        static const char none[] = "no log line mentions this message (yet)";

        add_line(a, QT_LINE_BODY, none, strlen(none), 0);
    }
    for (i = 0; i < h.n; i++)
        add_line(a, log_line_kind(h.lines[i]), h.lines[i], strlen(h.lines[i]), 0);
    qt_maillog_history_free(&h);
}

static void load(struct app *a)
{
    struct viewer *v = &a->viewer;
    struct qt_error err = {""};

    if (v->history) {
        load_history(a);
        return;
    }
    v->render = qt_render_open_queued(&a->layout, v->id, v->queue, v->mode, &err);
    if (!v->render)
        snprintf(v->error, sizeof(v->error), "%s", err.msg);
    v->wrap_width = pane_width();
    ensure_rows(a, 200);
}

void viewer_open(struct app *a, const char *id, int queue)
{
    struct viewer *v = &a->viewer;
    bool full = v->full;
    enum qt_render_mode mode = v->open ? v->mode : QT_RENDER_DECODED;
    bool history = a->open_history || (v->open && v->history);
    struct qt_search *search = v->search;

    v->search = NULL;
    viewer_free(v);
    v->open = true;
    v->full = full;
    v->mode = mode;
    v->history = history;
    a->open_history = false;
    v->search = search;
    v->match_row = -1;
    snprintf(v->id, sizeof(v->id), "%s", id);
    v->queue = queue;
    a->focus = FOCUS_VIEWER;
    load(a);
}

void viewer_reload(struct app *a)
{
    struct viewer *v = &a->viewer;
    char id[64];

    snprintf(id, sizeof(id), "%s", v->id);
    viewer_open(a, id, v->queue);
}

void viewer_close(struct app *a)
{
    viewer_free(&a->viewer);
    a->focus = FOCUS_LIST;
}

void viewer_scroll(struct app *a, long delta)
{
    struct viewer *v = &a->viewer;
    long h = viewer_height(a), top = (long)v->top + delta;

    if (top < 0)
        top = 0;
    ensure_rows(a, (size_t)top + (size_t)h);
    if (top + h > (long)v->nrows)
        top = (long)v->nrows - h;
    if (top < 0)
        top = 0;
    v->top = (size_t)top;
}

void viewer_goto(struct app *a, bool end)
{
    struct viewer *v = &a->viewer;

    if (!end) {
        v->top = 0;
        return;
    }
    while (fetch(a))
        ;
    viewer_scroll(a, (long)v->nrows);
}

void viewer_search_next(struct app *a, bool backwards)
{
    struct viewer *v = &a->viewer;
    long start = v->match_row >= 0 ? v->match_row : (long)v->top - (backwards ? 0 : 1);
    long r;

    if (!v->search) {
        app_message(a, true, "no search: press / to search in the message");
        return;
    }
    for (r = start + (backwards ? -1 : 1); r >= 0; r += backwards ? -1 : 1) {
        const struct viewer_row *row;
        size_t s, e;
        int rc;

        if ((size_t)r >= v->nrows) {
            ensure_rows(a, (size_t)r);
            if ((size_t)r >= v->nrows)
                break;
        }
        row = &v->rows[r];
        rc = qt_search_match(v->search, v->lines[row->line].text + row->off, row->len, &s, &e);
        if (rc < 0) {
            app_message(a, true, "%s", qt_search_error(v->search));
            return;
        }
        if (rc == 1) {
            long h = viewer_height(a);

            v->match_row = r;
            if (r < (long)v->top || r >= (long)v->top + h)
                v->top = (size_t)(r > h / 3 ? r - h / 3 : 0);
            viewer_scroll(a, 0);
            app_message(a, false, "/%s: line %ld", qt_search_pattern(v->search), r + 1);
            return;
        }
    }
    app_message(a, true, "/%s: no more matches %s", qt_search_pattern(v->search),
                backwards ? "above" : "below");
}

static attr_t kind_attr(const struct app *a, int kind, attr_t *name_attr)
{
    *name_attr = A_BOLD;
    if (!a->colors) {
        switch (kind) {
        case QT_LINE_SEPARATOR:
            return A_BOLD;
        case QT_LINE_WARNING:
            return A_BOLD | A_UNDERLINE;
        case QT_LINE_ATTACHMENT:
            return A_UNDERLINE;
        default:
            return A_NORMAL;
        }
    }
    *name_attr = COLOR_PAIR(COLOR_PAIR_NAME) | A_BOLD;
    switch (kind) {
    case QT_LINE_SEPARATOR:
        return COLOR_PAIR(COLOR_PAIR_SEPARATOR) | A_BOLD;
    case QT_LINE_WARNING:
        return COLOR_PAIR(COLOR_PAIR_WARNING) | A_BOLD;
    case QT_LINE_ATTACHMENT:
        return COLOR_PAIR(COLOR_PAIR_ATTACH) | A_BOLD;
    default:
        return A_NORMAL;
    }
}

void viewer_draw(struct app *a)
{
    struct viewer *v = &a->viewer;
    WINDOW *w = a->viewer_win;
    int h, y;
    char title[300];

    if (!w)
        return;
    if (v->wrap_width != pane_width())
        rewrap(a);
    h = viewer_height(a);
    ensure_rows(a, v->top + (size_t)h);
    werase(w);
    snprintf(title, sizeof(title), " %s  %s  [%s view: m switches, l history]  %s  line %zu/%zu%s ", v->id,
             v->queue >= 0 && v->queue < QT_Q_COUNT ? qt_queue_name((enum qt_queue)v->queue)
                                                    : "",
             v->history ? "history" : v->mode == QT_RENDER_DECODED ? "decoded" : "raw",
             v->full ? "full" : "split",
             v->nrows ? v->top + 1 : 0, v->nrows, v->render ? "+" : "");
    wmove(w, 0, 0);
    draw_text(a, w, title, strlen(title), COLS,
              a->colors ? COLOR_PAIR(COLOR_PAIR_HEADER) | A_BOLD | A_REVERSE
                        : A_REVERSE | A_BOLD,
              NULL, 0);
    if (v->error[0]) {
        wmove(w, 2, 2);
        draw_text(a, w, v->error, strlen(v->error), COLS - 4,
                  a->colors ? COLOR_PAIR(COLOR_PAIR_ERROR) | A_BOLD : A_BOLD, NULL, 0);
    }
    for (y = 0; y < h && v->top + (size_t)y < v->nrows; y++) {
        const struct viewer_row *r = &v->rows[v->top + (size_t)y];
        const struct viewer_line *l = &v->lines[r->line];
        attr_t name_attr, attr = kind_attr(a, l->kind, &name_attr);
        attr_t match = (a->colors ? COLOR_PAIR(COLOR_PAIR_MATCH) : A_REVERSE) | A_BOLD;
        size_t name_end = r->off < l->name_len ? l->name_len - r->off : 0;
        int used = 0;

        if (name_end > r->len)
            name_end = r->len;
        if ((long)(v->top + (size_t)y) == v->match_row)
            attr |= A_UNDERLINE;
        wmove(w, y + 1, 0);
        if (name_end) {
            used = text_width(a, l->text + r->off, name_end);
            draw_text(a, w, l->text + r->off, name_end, used, name_attr, v->search, match);
        }
        draw_text(a, w, l->text + r->off + name_end, r->len - name_end, COLS - used, attr,
                  v->search, match);
    }
    wnoutrefresh(w);
}
