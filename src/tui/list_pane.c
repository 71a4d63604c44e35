/* The queue list pane: the rows the filter and the sort make of the queue,
 * a cursor that follows its message by queue ID, tag ranges, the row
 * search, and the bars that change the filter, the sort and the columns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "script.h"
#include "list_pane.h"

#include "qtriage/fleet.h"
#include "prompt.h"
#include "qtriage/header_cache.h"
#include "qtriage/search.h"
#include "qtriage/util.h"
#include "viewer.h"

struct list_pane {
    struct pane pane;
    /* The filter in force and the text it came from. */
    struct qt_filter *filter;
    char *filter_text;
    /* Headers read for header.NAME filters, kept across filters and
     * rescans; NULL until one asks (and with postqueue -j, for good). */
    struct qt_header_cache *headers;
    uint64_t filter_serial;     /* bumped whenever the filter changes */
    /* While the filter bar is open: what to go back to on Esc. */
    char *saved_filter_text;
    bool filter_error;
    long filter_error_pos;      /* character where the query went wrong */
    bool show_count;            /* say "N of M match" after the next rebuild */

    struct qt_search *search;   /* row search; NULL: none */

    enum qt_col cols[QT_COL_COUNT];
    size_t ncols;
    bool cols_set;              /* chosen by the admin (else adapt to width) */
    int id_width;

    /* The cursor is a queue ID (current.id); its row is looked up after
     * every rebuild. */
    bool cursor_pinned;         /* the admin moved it: follow its message */
    size_t cursor;
    size_t top;
    long range_anchor;          /* row where a tag range starts, -1: none */
};

static const struct pane_ops list_ops;

static struct list_pane *list_of(const struct app *a)
{
    return (struct list_pane *)pane_find(a, &list_ops);
}

/* A full-screen pane (help, statistics) hides the list's cursor. */
static bool hidden_by_focus(const struct app *a)
{
    return a->focus && (a->focus->ops->flags & PANE_FULL_SCREEN);
}

const struct qt_msg *list_current(const struct app *a)
{
    const struct list_pane *l = list_of(a);

    if (l->cursor >= a->view.n)
        return NULL;
    return &a->store.msgs[a->view.rows[l->cursor]];
}

size_t list_cursor_row(const struct app *a)
{
    return list_of(a)->cursor;
}

static void set_cursor(struct list_pane *l, size_t row)
{
    struct app *a = l->pane.app;
    const struct qt_msg *m;

    l->cursor = row;
    m = list_current(a);
    if (m)
        snprintf(a->current.id, sizeof(a->current.id), "%s", qt_store_str(&a->store, m->id));
    else
        a->current.id[0] = '\0';
    a->current.queue = m ? m->queue : -1;
}

unsigned list_move(struct app *a, long delta)
{
    struct list_pane *l = list_of(a);
    long row;

    if (a->view.n == 0)
        return R_NONE;
    if (delta == PANE_TOP)
        row = 0;
    else if (delta == PANE_BOTTOM)
        row = (long)a->view.n - 1;
    else
        row = (long)l->cursor + delta;
    if (row < 0)
        row = 0;
    if (row >= (long)a->view.n)
        row = (long)a->view.n - 1;
    l->cursor_pinned = true;
    set_cursor(l, (size_t)row);
    return R_REDRAW;
}

static unsigned list_pane_move(struct pane *p, long delta)
{
    return list_move(p->app, delta);
}

static long list_page(const struct pane *p)
{
    return p->app->list_rows;
}

/* In the list, Esc forgets a range start and the search highlight. */
static unsigned list_close(struct pane *p)
{
    struct list_pane *l = (struct list_pane *)p;

    l->range_anchor = -1;
    if (l->search) {
        qt_search_free(l->search);
        l->search = NULL;
    }
    p->app->message[0] = '\0';
    return R_REDRAW;
}

void list_rows_rebuilt(struct app *a)
{
    struct list_pane *l = list_of(a);
    size_t screen_line = l->cursor >= l->top ? l->cursor - l->top : 0;
    long msg = a->current.id[0] ? qt_store_find(&a->store, a->current.id) : -1;
    long row = -1;
    size_t i;
    int idw = 8;

    /* Until the admin moves, the cursor stays on the first row while the
     * queue streams in. */
    if (msg >= 0 && l->cursor_pinned)
        row = qt_view_row_of(&a->view, (uint32_t)msg);
    else if (!l->cursor_pinned)
        row = 0, screen_line = 0;
    if (row < 0)    /* gone or filtered out: stay on the same row number */
        row = l->cursor < a->view.n ? (long)l->cursor : (long)a->view.n - 1;
    if (row < 0)
        row = 0;
    set_cursor(l, (size_t)row);
    l->top = l->cursor >= screen_line ? l->cursor - screen_line : 0;
    if (l->range_anchor >= (long)a->view.n)
        l->range_anchor = -1;
    /* The ID column fits the longest ID on screen and a marker. */
    for (i = 0; i < a->view.n && i < 4096; i++) {
        size_t len = qt_strpool_len(&a->store.pool, a->store.msgs[a->view.rows[i]].id);

        if ((int)len + 2 > idw)
            idw = (int)len + 2;
    }
    l->id_width = idw > 20 ? 20 : idw;
    if (l->show_count) {
        const char *rt = l->filter ? qt_filter_runtime_error(l->filter) : NULL;

        if (rt)
            app_message(a, true, "%s", rt);
        else if (!l->filter_error)
            app_message(a, false, "%zu of %zu messages match", a->view.n, a->store.n);
        l->show_count = false;
    }
}

void list_default_columns(struct app *a)
{
    static const enum qt_col narrow[] = {QT_COL_ID,     QT_COL_AGE,  QT_COL_RETRY,
                                         QT_COL_SIZE,   QT_COL_SENDER, QT_COL_RCPT,
                                         QT_COL_SUBJECT, QT_COL_REASON};
    static const enum qt_col wide[] = {QT_COL_ID,     QT_COL_QUEUE,  QT_COL_AGE,
                                       QT_COL_RETRY,  QT_COL_SIZE,   QT_COL_SENDER,
                                       QT_COL_RCPT,   QT_COL_SUBJECT, QT_COL_REASON,
                                       QT_COL_CLIENT, QT_COL_SASL};
    struct list_pane *l = list_of(a);

    if (l->cols_set)
        return;
    if (COLS >= 200) {
        memcpy(l->cols, wide, sizeof(wide));
        l->ncols = sizeof(wide) / sizeof(wide[0]);
    } else if (COLS >= 130) {
        memcpy(l->cols, wide, 9 * sizeof(wide[0]));
        l->ncols = 9;
    } else {
        memcpy(l->cols, narrow, sizeof(narrow));
        l->ncols = sizeof(narrow) / sizeof(narrow[0]);
    }
    /* Several hosts: which one a row is on, right after its ID. */
    if (qt_backend_is_fleet(a->backend) && qt_fleet_status(a->backend, NULL, 0) > 1 &&
        l->ncols < QT_COL_COUNT) {
        memmove(l->cols + 2, l->cols + 1, (l->ncols - 1) * sizeof(l->cols[0]));
        l->cols[1] = QT_COL_HOST;
        l->ncols++;
    }
}

void list_setup_options(struct app *a)
{
    struct list_pane *l = list_of(a);
    struct qt_error err = {""};

    if (a->opt->columns) {
        l->ncols = qt_cols_parse(a->opt->columns, l->cols, &err);
        l->cols_set = l->ncols > 0;
        if (!l->ncols)
            app_message(a, true, "--columns: %s", err.msg);
    }
    if (a->opt->sort) {
        const char *name = a->opt->sort;
        enum qt_col c;

        if (*name == '-')
            a->view.reverse = true, name++;
        if (qt_col_from_name(name, &c))
            a->view.sort = c;
        else
            app_message(a, true, "--sort: unknown column \"%s\"", a->opt->sort);
    }
    /* A bad --filter: the message says why and the list shows everything. */
    if (a->opt->filter)
        list_apply_filter(a, a->opt->filter);
}

/* ------------------------------------------------------------ filter */

struct qt_filter *list_filter(const struct app *a)
{
    return list_of(a)->filter;
}

const char *list_filter_text(const struct app *a)
{
    return list_of(a)->filter_text;
}

uint64_t list_filter_serial(const struct app *a)
{
    return list_of(a)->filter_serial;
}

void list_show_count(struct app *a)
{
    list_of(a)->show_count = true;
}

/* Character index of byte offset `pos` of the UTF-8 text in the editor. */
static long char_index(const char *utf8, size_t pos)
{
    long n = 0;
    size_t i;

    for (i = 0; utf8[i] && i < pos; i++)
        if (((unsigned char)utf8[i] & 0xc0) != 0x80)
            n++;
    return n;
}

struct qt_filter *list_compile_filter(struct app *a, const char *text,
                                      struct qt_filter_error *err)
{
    struct list_pane *l = list_of(a);
    struct qt_filter *f = qt_filter_compile(text, err);

    /* Only the spool backend has the queue files; without them the
     * filter's header terms match nothing and say why. */
    if (f && qt_filter_uses_headers(f) && a->backend &&
        strcmp(a->backend->ops->name, "spool") == 0) {
        if (!l->headers)
            l->headers = qt_header_cache_new(&a->layout);
        qt_filter_set_headers(f, l->headers);
    }
    return f;
}

bool list_apply_filter(struct app *a, const char *text)
{
    struct list_pane *l = list_of(a);
    struct qt_filter_error err = {0, ""};
    struct qt_filter *f = list_compile_filter(a, text, &err);

    if (!f) {
        l->filter_error = true;
        app_message(a, true, "error at character %ld: %s", char_index(text, err.pos) + 1,
                    err.msg);
        l->filter_error_pos = char_index(text, err.pos);
        return false;
    }
    l->filter_error = false;
    /* A rebuild under way uses the old filter: it starts over with this one
     * (the loop begins it before the next slice). */
    qt_view_rebuild_cancel(&a->view);
    a->rows_for_query = true;
    qt_filter_free(l->filter);
    l->filter = f;
    free(l->filter_text);
    l->filter_text = xstrdup(text);
    l->filter_serial++;
    a->rows_stale = true;
    a->rebuild_now = true;
    return true;
}

static unsigned filter_submit(struct app *a, const char *text)
{
    if (!list_apply_filter(a, text))
        return R_REDRAW;    /* stay in the bar with the error shown */
    prompt_remember(a, text);
    prompt_close(a);
    list_show_count(a);
    return R_REDRAW;
}

/* Live: the list narrows and the count updates as the query is typed.
 * Not for a query that reads headers: each partial name ("header.X-Ma")
 * would read every queue file once more; Enter applies it. */
static unsigned filter_changed(struct app *a, const char *text)
{
    struct qt_filter *f = qt_filter_compile(text, NULL);
    bool reads_files = f && qt_filter_uses_headers(f);

    qt_filter_free(f);
    if (reads_files) {
        struct list_pane *l = list_of(a);
        const char *before = l->saved_filter_text ? l->saved_filter_text : "";

        /* Meanwhile the list is what it was when the bar opened, not what
         * the last keys before "header." made of it. */
        if (strcmp(l->filter_text ? l->filter_text : "", before) != 0)
            list_apply_filter(a, before);
        l->filter_error = false;
        app_message(a, false, "a header filter reads the queue files: Enter applies it");
        return R_REDRAW;
    }
    if (list_apply_filter(a, text))
        list_show_count(a);
    return R_REDRAW;
}

/* Back to the filter that was in force when the bar opened. */
static unsigned filter_cancel(struct app *a)
{
    struct list_pane *l = list_of(a);
    char *saved = l->saved_filter_text;

    l->saved_filter_text = NULL;
    list_apply_filter(a, saved ? saved : "");
    free(saved);
    prompt_close(a);
    a->message[0] = '\0';
    return R_REDRAW;
}

static long filter_error_at(const struct app *a)
{
    const struct list_pane *l = list_of(a);

    return l->filter_error ? l->filter_error_pos : -1;
}

static const struct prompt_type filter_prompt = {
    .history = HISTORY_FILTER,
    .submit = filter_submit,
    .changed = filter_changed,
    .cancel = filter_cancel,
    .error_at = filter_error_at,
};

unsigned list_open_filter_bar(struct app *a)
{
    struct list_pane *l = list_of(a);

    free(l->saved_filter_text);
    l->saved_filter_text = l->filter_text ? xstrdup(l->filter_text) : NULL;
    l->filter_error = false;
    prompt_open(a, &filter_prompt, "filter: ", l->filter_text ? l->filter_text : "");
    return R_REDRAW;
}

/* ------------------------------------------------------ sort, columns */

static unsigned sort_submit(struct app *a, const char *text)
{
    enum qt_col c;
    const char *name = text;
    bool rev = false;

    if (*name == '-')
        rev = true, name++;
    if (!qt_col_from_name(name, &c)) {
        app_message(a, true, "sort: unknown column \"%s\"", text);
        return R_REDRAW;
    }
    prompt_close(a);
    a->view.sort = c;
    a->view.reverse = rev;
    return R_REBUILD | R_REDRAW;
}

static const struct prompt_type sort_prompt = {.submit = sort_submit};

unsigned list_open_sort_bar(struct app *a)
{
    prompt_open(a, &sort_prompt,
                "sort by (id queue age retry size sender rcpt subject reason client sasl helo): ",
                qt_col_info[a->view.sort].name);
    return R_REDRAW;
}

static unsigned columns_submit(struct app *a, const char *text)
{
    struct list_pane *l = list_of(a);
    struct qt_error err = {""};
    enum qt_col cols[QT_COL_COUNT];
    size_t n = qt_cols_parse(text, cols, &err);

    if (!n) {
        app_message(a, true, "columns: %s", err.msg);
        return R_REDRAW;
    }
    prompt_close(a);
    memcpy(l->cols, cols, n * sizeof(cols[0]));
    l->ncols = n;
    l->cols_set = true;
    return R_REDRAW;
}

static const struct prompt_type columns_prompt = {.submit = columns_submit};

unsigned list_open_columns_bar(struct app *a)
{
    struct list_pane *l = list_of(a);
    struct qt_buf b = {0};

    qt_cols_format(l->cols, l->ncols, &b);
    qt_buf_putc(&b, '\0');
    prompt_open(a, &columns_prompt, "columns: ", b.data);
    qt_buf_free(&b);
    return R_REDRAW;
}

/* ------------------------------------------------------------ search */

/* Does any shown cell of `row` match the row search? */
static int row_matches(struct list_pane *l, size_t row, int64_t now, struct qt_buf *cell)
{
    struct app *a = l->pane.app;
    const struct qt_msg *m = &a->store.msgs[a->view.rows[row]];
    size_t i;

    for (i = 0; i < l->ncols; i++) {
        size_t s, e;
        int rc;

        qt_buf_reset(cell);
        qt_view_cell(&a->store, m, l->cols[i], now, cell);
        rc = qt_search_match(l->search, cell->data ? cell->data : "", cell->len, &s, &e);
        if (rc)
            return rc;
    }
    return 0;
}

static unsigned list_search_next(struct pane *p, bool backwards)
{
    struct list_pane *l = (struct list_pane *)p;
    struct app *a = p->app;
    struct qt_buf cell = {0};
    int64_t now = app_wall_clock(a);
    size_t i, n = a->view.n;

    if (!l->search) {
        app_message(a, true, "no search: press / to search");
        return R_REDRAW;
    }
    for (i = 1; i <= n; i++) {
        size_t row = backwards ? (l->cursor + n - i) % n : (l->cursor + i) % n;
        int rc = row_matches(l, row, now, &cell);

        if (rc < 0) {
            app_message(a, true, "%s", qt_search_error(l->search));
            break;
        }
        if (rc == 1) {
            bool wrapped = backwards ? row >= l->cursor : row <= l->cursor;

            l->cursor_pinned = true;
            set_cursor(l, row);
            app_message(a, false, "/%s: row %zu of %zu%s", qt_search_pattern(l->search), row + 1,
                        n, wrapped ? " (wrapped around)" : "");
            qt_buf_free(&cell);
            return R_REDRAW;
        }
    }
    if (i > n)
        app_message(a, true, "/%s: no row matches", qt_search_pattern(l->search));
    qt_buf_free(&cell);
    return R_REDRAW;
}

static unsigned search_submit(struct app *a, const char *text)
{
    struct list_pane *l = list_of(a);
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
    qt_search_free(l->search);
    l->search = s;
    return list_search_next(&l->pane, false);
}

static const struct prompt_type search_prompt = {.history = HISTORY_SEARCH,
                                                 .submit = search_submit};

static unsigned list_search(struct pane *p)
{
    prompt_open(p->app, &search_prompt, "search rows (regex): ", "");
    return R_REDRAW;
}

/* ----------------------------------------------------------- tagging */

unsigned list_tag(struct app *a)
{
    const struct qt_msg *m = list_current(a);

    qt_selection_toggle(&a->current.tags, qt_store_str(&a->store, m->id));
    if (pane_has_focus(&list_of(a)->pane))
        list_move(a, 1);
    return R_REDRAW;
}

unsigned list_tag_range(struct app *a)
{
    struct list_pane *l = list_of(a);
    size_t from, to, i, added = 0;

    if (l->range_anchor < 0) {
        l->range_anchor = (long)l->cursor;
        app_message(a, false, "range starts here: move, then press v again to tag the rows "
                              "between (Esc cancels)");
        return R_REDRAW;
    }
    from = (size_t)l->range_anchor < l->cursor ? (size_t)l->range_anchor : l->cursor;
    to = (size_t)l->range_anchor < l->cursor ? l->cursor : (size_t)l->range_anchor;
    if (to >= a->view.n)
        to = a->view.n - 1;
    for (i = from; i <= to && i < a->view.n; i++)
        added += qt_selection_add(&a->current.tags,
                                  qt_store_str(&a->store, a->store.msgs[a->view.rows[i]].id));
    l->range_anchor = -1;
    app_message(a, false, "tagged %zu rows (%zu newly)", to - from + 1, added);
    return R_REDRAW;
}

unsigned list_tag_all(struct app *a)
{
    size_t i, added = 0;

    for (i = 0; i < a->view.n; i++)
        added += qt_selection_add(&a->current.tags,
                                  qt_store_str(&a->store, a->store.msgs[a->view.rows[i]].id));
    app_message(a, false, "tagged all %zu shown messages (%zu newly); %zu tagged in all",
                a->view.n, added, a->current.tags.count);
    return R_REDRAW;
}

unsigned list_invert_tags(struct app *a)
{
    size_t i, now_tagged = 0;

    for (i = 0; i < a->view.n; i++)
        now_tagged += qt_selection_toggle(
            &a->current.tags, qt_store_str(&a->store, a->store.msgs[a->view.rows[i]].id));
    app_message(a, false, "inverted the tags of the %zu shown messages: %zu of them tagged",
                a->view.n, now_tagged);
    return R_REDRAW;
}

unsigned list_click(struct app *a, int y, bool twice)
{
    struct list_pane *l = list_of(a);

    if (!pane_has_focus(&l->pane) || y < 0 || y >= a->list_rows ||
        l->top + (size_t)y >= a->view.n)
        return R_NONE;
    l->cursor_pinned = true;
    set_cursor(l, l->top + (size_t)y);
    if (twice && list_current(a)) {
        const struct qt_msg *m = list_current(a);

        viewer_open(a, qt_store_str(&a->store, m->id), m->queue, false);
        return R_LAYOUT | R_REDRAW;
    }
    return R_REDRAW;
}

/* ------------------------------------------------------------ drawing */

/* Widths of the shown columns for a window `width` wide; returns how many
 * columns fit (the rightmost are dropped when even their minimum does not). */
static size_t column_widths(struct list_pane *l, int width, int *out)
{
    size_t n = l->ncols, i;

    for (;;) {
        int fixed = 2, weights = 0, left;   /* 2: the tag mark and a blank */

        for (i = 0; i < n; i++) {
            const struct qt_field *ci = &qt_fields[l->cols[i]];
            int cw = l->cols[i] == QT_COL_ID ? l->id_width : ci->width;

            out[i] = cw;
            fixed += (cw ? cw : ci->min_width) + (i ? 1 : 0);
            weights += ci->width ? 0 : ci->weight;
        }
        if (fixed <= width || n == 1) {
            left = width - fixed;
            for (i = 0; i < n; i++) {
                const struct qt_field *ci = &qt_fields[l->cols[i]];

                if (!out[i] && weights) {
                    int extra = left * ci->weight / weights;

                    out[i] = ci->min_width + extra;
                    left -= extra;
                    weights -= ci->weight;
                }
            }
            /* Leftover space goes to the last column. */
            if (n && left > 0)
                out[n - 1] += left;
            return n;
        }
        n--;
    }
}

static void draw_header(struct list_pane *l, const int *widths, size_t n)
{
    struct app *a = l->pane.app;
    WINDOW *w = a->list_win;
    attr_t attr = pair_attr(a, COLOR_PAIR_HEADER, A_BOLD | A_UNDERLINE) | A_BOLD;
    size_t i;

    wmove(w, 0, 0);
    draw_text(a, w, "  ", 2, 2, attr, NULL, 0);
    for (i = 0; i < n; i++) {
        const struct qt_field *ci = &qt_fields[l->cols[i]];
        char title[64];
        int tw;

        snprintf(title, sizeof(title), "%s%s", ci->title,
                 l->cols[i] == a->view.sort ? (a->view.reverse ? "v" : "^") : "");
        if (i)
            draw_text(a, w, " ", 1, 1, attr, NULL, 0);
        tw = (int)strlen(title);
        if (ci->right_align && tw < widths[i]) {
            char pad[64];
            int k = widths[i] - tw;

            /* A right-aligned column can be wider than the pad (few columns,
             * a wide terminal): pad in pieces. */
            memset(pad, ' ', sizeof(pad));
            while (k > 0) {
                int piece = k < (int)sizeof(pad) ? k : (int)sizeof(pad);

                draw_text(a, w, pad, (size_t)piece, piece, attr, NULL, 0);
                k -= piece;
            }
            draw_text(a, w, title, (size_t)tw, tw, attr, NULL, 0);
        } else {
            draw_text(a, w, title, (size_t)tw, widths[i], attr, NULL, 0);
        }
    }
    if (getcurx(w) < COLS && getcurx(w) > 0)
        draw_text(a, w, "", 0, COLS - getcurx(w), attr, NULL, 0);
}

/* Whether the row's message is on a fleet host that is not connected now
 * (lost, stale, reconnecting): its rows stay, greyed, and actions on them
 * report "unreachable, nothing done". */
static bool host_lost(struct app *a, const char *id)
{
    char host[QT_FLEET_HOST_MAX + 1], why[300];
    const char *queue_id;

    if (!qt_backend_is_fleet(a->backend) ||
        !qt_fleet_split_id(id, host, sizeof(host), &queue_id))
        return false;
    return !qt_fleet_host_usable(a->backend, host, why, sizeof(why));
}

static void draw_row(struct list_pane *l, int y, size_t row, const int *widths, size_t n,
                     int64_t now, struct qt_buf *cell)
{
    struct app *a = l->pane.app;
    WINDOW *w = a->list_win;
    const struct qt_msg *m = &a->store.msgs[a->view.rows[row]];
    const char *id = qt_store_str(&a->store, m->id);
    bool tagged = qt_selection_has(&a->current.tags, id);
    bool is_cursor = row == l->cursor && !hidden_by_focus(a);
    bool in_range = l->range_anchor >= 0 &&
                    ((row >= (size_t)l->range_anchor && row <= l->cursor) ||
                     (row <= (size_t)l->range_anchor && row >= l->cursor));
    attr_t attr = A_NORMAL, match = pair_attr(a, COLOR_PAIR_MATCH, A_REVERSE) | A_BOLD;
    size_t i;

    if (m->queue == QT_Q_HOLD)
        attr = pair_attr(a, COLOR_PAIR_HOLD, A_DIM);
    if (m->flags & QT_MSG_UNREADABLE)
        attr = pair_attr(a, COLOR_PAIR_ERROR, A_DIM);
    if (host_lost(a, id))
        attr = A_DIM;   /* a lost host's last rows: shown, greyed, not acted on */
    if (tagged)
        attr = pair_attr(a, COLOR_PAIR_TAGGED, A_BOLD) | A_BOLD;
    if (in_range)
        attr |= A_UNDERLINE;
    if (is_cursor)
        attr = pair_attr(a, COLOR_PAIR_CURSOR, A_REVERSE) | (tagged ? A_BOLD : 0);
    wmove(w, y, 0);
    draw_text(a, w, tagged ? "+ " : "  ", 2, 2, attr, NULL, 0);
    for (i = 0; i < n; i++) {
        const struct qt_field *ci = &qt_fields[l->cols[i]];
        int tw;

        qt_buf_reset(cell);
        qt_view_cell(&a->store, m, l->cols[i], now, cell);
        if (i)
            draw_text(a, w, " ", 1, 1, attr, NULL, 0);
        tw = text_width(a, cell->data ? cell->data : "", cell->len);
        if (ci->right_align && tw < widths[i]) {
            draw_text(a, w, "", 0, widths[i] - tw, attr, NULL, 0);
            draw_text(a, w, cell->data, cell->len, tw, attr, l->search, match);
        } else {
            draw_text(a, w, cell->data ? cell->data : "", cell->len, widths[i], attr, l->search,
                      match);
        }
    }
    if (getcurx(w) < COLS && getcurx(w) > 0)
        draw_text(a, w, "", 0, COLS - getcurx(w), attr, NULL, 0);
}

static void list_draw(struct pane *p)
{
    struct list_pane *l = (struct list_pane *)p;
    struct app *a = p->app;
    WINDOW *w = a->list_win;
    int widths[QT_COL_COUNT];
    struct qt_buf cell = {0};
    int64_t now = app_wall_clock(a);
    size_t n, row;
    int y;

    if (a->list_rows <= 0 && !viewer_is_open(a)) {
        werase(w);
        wnoutrefresh(w);
        return;
    }
    if (a->list_rows <= 0)
        return;
    werase(w);
    n = column_widths(l, COLS, widths);
    draw_header(l, widths, n);
    if (l->cursor < l->top)
        l->top = l->cursor;
    if (l->cursor >= l->top + (size_t)a->list_rows)
        l->top = l->cursor - (size_t)a->list_rows + 1;
    /* No blank rows at the bottom while there are rows above (the pane may
     * just have grown back when the viewer closed). */
    if (l->top + (size_t)a->list_rows > a->view.n)
        l->top = a->view.n > (size_t)a->list_rows ? a->view.n - (size_t)a->list_rows : 0;
    for (y = 0, row = l->top; y < a->list_rows && row < a->view.n; y++, row++)
        draw_row(l, y + 1, row, widths, n, now, &cell);
    if (a->view.n == 0) {
        const char *why = !a->first_scan_done ? "loading the queue..."
                          : a->store.n ? "no message matches the filter (f to change it)"
                                       : "the queue is empty";

        wmove(w, 2, 2);
        draw_text(a, w, why, strlen(why), COLS - 4, A_DIM, NULL, 0);
    }
    qt_buf_free(&cell);
    wnoutrefresh(w);
}


/* ------------------------------------------------------------- the pane */

static void list_free(struct pane *p)
{
    struct list_pane *l = (struct list_pane *)p;

    qt_search_free(l->search);
    qt_filter_free(l->filter);
    qt_header_cache_free(l->headers);
    free(l->filter_text);
    free(l->saved_filter_text);
    free(l);
}

static const struct pane_ops list_ops = {
    .name = "list",
    .where = "the list",
    .context = CTX_LIST,
    .keys = CTX_LIST,
    .draw = list_draw,
    .move_by = list_pane_move,
    .page = list_page,
    .close = list_close,
    .search = list_search,
    .search_next = list_search_next,
    .free = list_free,
};

struct pane *list_pane_new(struct app *a)
{
    struct list_pane *l = xcalloc(1, sizeof(*l));

    l->pane.ops = &list_ops;
    l->pane.app = a;
    l->range_anchor = -1;
    return &l->pane;
}
