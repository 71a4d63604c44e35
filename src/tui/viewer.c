/* The message viewer: lines from the core's renderer, fetched lazily as the
 * admin scrolls (a 50 MB message opens at once), wrapped to the pane. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "app.h"
#include "script.h"
#include "list_pane.h"
#include "prompt.h"
#include "qtriage/maillog.h"
#include "qtriage/render.h"
#include "qtriage/search.h"
#include "qtriage/util.h"
#include "viewer.h"

#include "qtriage/fleet.h"

#define FETCH_LINES 256

struct viewer_line {
    char *text;
    uint32_t len;
    uint16_t name_len;
    uint8_t kind;               /* enum qt_line_kind */
};

/* A screen row of the viewer: part of a line, wrapped to the pane width. */
struct viewer_row {
    uint32_t line;
    uint32_t off, len;
};

/* The message shown; cleared when it closes. */
struct viewer {
    bool open;
    bool full;                  /* full screen, else split under the list */
    char id[64];
    int queue;                  /* where it was when opened */
    enum qt_render_mode mode;
    bool history;               /* the mail-log lines about the message, not the message */
    struct qt_render *render;   /* NULL once every line is read */
    char error[512];            /* the message could not be opened */
    struct viewer_line *lines;
    size_t nlines, lines_cap;
    struct viewer_row *rows;
    size_t nrows, rows_cap;
    int wrap_width;
    size_t top;                 /* first row shown */
    struct qt_search *search;
    long match_row;             /* last row found by n/N, -1: none */
};

struct viewer_pane {
    struct pane pane;
    struct viewer v;
    char *maillog_path;         /* found at the first history view */
    char maillog_error[512];    /* or why none was found */
};

static const struct pane_ops viewer_ops;

static struct viewer_pane *viewer_pane_of(const struct app *a)
{
    return (struct viewer_pane *)pane_find(a, &viewer_ops);
}

static struct viewer *viewer_of(const struct app *a)
{
    return &viewer_pane_of(a)->v;
}

static void viewer_free(struct viewer *v)
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

static int viewer_height(const struct app *a)
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
    struct viewer *v = viewer_of(a);
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
    struct viewer *v = viewer_of(a);
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
    struct viewer *v = viewer_of(a);
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
    while (viewer_of(a)->nrows <= row && fetch(a))
        ;
}

static void rewrap(struct app *a)
{
    struct viewer *v = viewer_of(a);
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
    struct viewer_pane *vp = viewer_pane_of(a);
    struct viewer *v = &vp->v;
    struct qt_error err = {""};
    struct qt_maillog_history h;
    char title[700];
    long msg = qt_store_find(&a->store, v->id);
    int64_t arrival = msg >= 0 ? a->store.msgs[msg].arrival : 0;
    size_t i;

    v->wrap_width = pane_width();
    if (!vp->maillog_path && !vp->maillog_error[0]) {
        vp->maillog_path = qt_maillog_locate(a->layout.postconf, a->layout.config_dir,
                                             a->opt->maillog, &err);
        if (!vp->maillog_path)
            snprintf(vp->maillog_error, sizeof(vp->maillog_error), "%s", err.msg);
    }
    if (!vp->maillog_path) {
        snprintf(v->error, sizeof(v->error), "%s", vp->maillog_error);
        return;
    }
    if (!qt_maillog_history(vp->maillog_path, v->id, arrival, app_wall_clock(a), NULL, &h,
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
    struct viewer *v = viewer_of(a);
    struct qt_error err = {""};

    if (v->history && qt_backend_is_fleet(a->backend)) {
        snprintf(v->error, sizeof(v->error), "the mail log is on the host: no history here");
        return;
    }
    if (v->history) {
        load_history(a);
        return;
    }
    if (qt_backend_is_fleet(a->backend)) {
        /* The queue file comes from its host into memory no other process
         * can open; it is rendered as a local one (without the host's
         * defer logs: the delay reasons are in the list). */
        int fd = qt_fleet_fetch_fd(a->backend, v->id, &err);

        v->render = fd >= 0 ? qt_render_open(fd, v->id, v->mode, NULL, &err) : NULL;
        if (fd >= 0)
            close(fd);
    } else {
        v->render = qt_render_open_queued(&a->layout, v->id, v->queue, v->mode, &err);
    }
    if (!v->render)
        snprintf(v->error, sizeof(v->error), "%s", err.msg);
    v->wrap_width = pane_width();
    ensure_rows(a, 200);
}

void viewer_open(struct app *a, const char *id, int queue, bool history)
{
    struct viewer *v = viewer_of(a);
    bool full = v->full;
    enum qt_render_mode mode = v->open ? v->mode : QT_RENDER_DECODED;
    struct qt_search *search = v->search;

    history = history || (v->open && v->history);
    v->search = NULL;
    viewer_free(v);
    v->open = true;
    v->full = full;
    v->mode = mode;
    v->history = history;
    v->search = search;
    v->match_row = -1;
    snprintf(v->id, sizeof(v->id), "%s", id);
    v->queue = queue;
    pane_focus(&viewer_pane_of(a)->pane);
    load(a);
}

static void viewer_reload(struct app *a)
{
    struct viewer *v = viewer_of(a);
    char id[64];

    snprintf(id, sizeof(id), "%s", v->id);
    viewer_open(a, id, v->queue, false);
}

bool viewer_is_open(const struct app *a)
{
    return viewer_of(a)->open;
}

bool viewer_is_full(const struct app *a)
{
    return viewer_of(a)->full;
}

const char *viewer_id(const struct app *a)
{
    return viewer_of(a)->id;
}

unsigned viewer_toggle_split(struct app *a)
{
    struct viewer *v = viewer_of(a);

    v->full = !v->full;
    if (!v->open) {
        app_message(a, false, "the viewer will open %s", v->full ? "full screen" : "split");
        return R_REDRAW;
    }
    return R_LAYOUT | R_REDRAW;
}

unsigned viewer_toggle_mode(struct app *a)
{
    struct viewer *v = viewer_of(a);

    if (v->history)
        v->history = false;      /* m from the history: the message again */
    else
        v->mode = v->mode == QT_RENDER_DECODED ? QT_RENDER_RAW : QT_RENDER_DECODED;
    viewer_reload(a);
    return R_REDRAW;
}

/* l: the mail-log lines about the message; again: back to the message. */
unsigned viewer_toggle_history(struct app *a)
{
    struct viewer_pane *vp = viewer_pane_of(a);
    const struct qt_msg *m = list_current(a);

    if (pane_has_focus(&vp->pane) && vp->v.open) {
        vp->v.history = !vp->v.history;
        viewer_reload(a);
        return R_REDRAW;
    }
    viewer_open(a, qt_store_str(&a->store, m->id), m->queue, true);
    return R_LAYOUT | R_REDRAW;
}

static bool viewer_pane_is_open(const struct pane *p)
{
    return ((const struct viewer_pane *)p)->v.open;
}

static unsigned viewer_close(struct pane *p)
{
    viewer_free(viewer_of(p->app));
    pane_focus_back(p->app);
    return R_LAYOUT | R_REDRAW;
}

static void viewer_scroll(struct app *a, long delta)
{
    struct viewer *v = viewer_of(a);
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

static unsigned viewer_move(struct pane *p, long delta)
{
    struct app *a = p->app;
    struct viewer *v = viewer_of(a);

    if (delta == PANE_TOP) {
        v->top = 0;
    } else if (delta == PANE_BOTTOM) {
        while (fetch(a))
            ;
        viewer_scroll(a, (long)v->nrows);
    } else {
        viewer_scroll(a, delta);
    }
    return R_REDRAW;
}

static long viewer_page(const struct pane *p)
{
    return viewer_height(p->app);
}

static unsigned viewer_search_next(struct pane *p, bool backwards)
{
    struct app *a = p->app;
    struct viewer *v = viewer_of(a);
    long start = v->match_row >= 0 ? v->match_row : (long)v->top - (backwards ? 0 : 1);
    long r;

    if (!v->search) {
        app_message(a, true, "no search: press / to search in the message");
        return R_REDRAW;
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
            return R_REDRAW;
        }
        if (rc == 1) {
            long h = viewer_height(a);

            v->match_row = r;
            if (r < (long)v->top || r >= (long)v->top + h)
                v->top = (size_t)(r > h / 3 ? r - h / 3 : 0);
            viewer_scroll(a, 0);
            app_message(a, false, "/%s: line %ld", qt_search_pattern(v->search), r + 1);
            return R_REDRAW;
        }
    }
    app_message(a, true, "/%s: no more matches %s", qt_search_pattern(v->search),
                backwards ? "above" : "below");
    return R_REDRAW;
}

static unsigned search_submit(struct app *a, const char *text)
{
    struct viewer *v = viewer_of(a);
    char msg[200];
    size_t pos;
    struct qt_search *s;

    if (!*text) {
        prompt_close(a);
        return R_REDRAW;
    }
    s = qt_search_compile(text, msg, sizeof(msg), &pos);
    if (!s) {
        app_message(a, true, "%s", msg);
        return R_REDRAW;
    }
    prompt_remember(a, text);
    prompt_close(a);
    qt_search_free(v->search);
    v->search = s;
    v->match_row = -1;
    return viewer_search_next(&viewer_pane_of(a)->pane, false);
}

static const struct prompt_type search_prompt = {.history = HISTORY_SEARCH,
                                                 .submit = search_submit};

static unsigned viewer_search(struct pane *p)
{
    prompt_open(p->app, &search_prompt, "search message: ", "");
    return R_REDRAW;
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

static void viewer_draw(struct pane *p)
{
    struct app *a = p->app;
    struct viewer *v = viewer_of(a);
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

static void viewer_pane_free(struct pane *p)
{
    struct viewer_pane *vp = (struct viewer_pane *)p;

    viewer_free(&vp->v);
    free(vp->maillog_path);
    free(vp);
}

static const struct pane_ops viewer_ops = {
    .name = "viewer",
    .where = "the viewer",
    .context = CTX_VIEWER,
    .keys = CTX_VIEWER,
    .is_open = viewer_pane_is_open,
    .draw = viewer_draw,
    .move_by = viewer_move,
    .page = viewer_page,
    .close = viewer_close,
    .search = viewer_search,
    .search_next = viewer_search_next,
    .free = viewer_pane_free,
};

struct pane *viewer_pane_new(struct app *a)
{
    struct viewer_pane *vp = xcalloc(1, sizeof(*vp));

    vp->pane.ops = &viewer_ops;
    vp->pane.app = a;
    return &vp->pane;
}
