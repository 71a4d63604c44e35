/* The bars: filter (live), search, and the small prompts (sort, columns,
 * flush-site, ':' commands, y/n confirmations). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "script.h"
#include "qtriage/util.h"

static struct lineedit *history_for(struct app *a, enum prompt_kind kind)
{
    switch (kind) {
    case PROMPT_FILTER:
        return &a->filter_edit;
    case PROMPT_SEARCH:
    case PROMPT_VIEWER_SEARCH:
        return &a->search_edit;
    case PROMPT_COMMAND:
        return &a->command_edit;
    default:
        return NULL;
    }
}

void prompt_open(struct app *a, enum prompt_kind kind, const char *label, const char *initial)
{
    struct lineedit *h = history_for(a, kind);

    a->prompt = kind;
    snprintf(a->prompt_label, sizeof(a->prompt_label), "%s", label);
    a->message[0] = '\0';
    a->filter_error = false;
    lineedit_set(&a->edit, initial);
    /* The bar's history lives with its kind; the editor borrows it. */
    if (h) {
        a->edit.history = h->history;
        a->edit.nhistory = h->nhistory;
        a->edit.history_pos = h->nhistory;
    } else {
        a->edit.history = NULL;
        a->edit.nhistory = a->edit.history_pos = 0;
    }
    if (kind == PROMPT_FILTER) {
        qt_filter_free(a->saved_filter);
        free(a->saved_filter_text);
        a->saved_filter = NULL;
        a->saved_filter_text = a->filter_text ? xstrdup(a->filter_text) : NULL;
    }
    curs_set(kind == PROMPT_CONFIRM ? 0 : 1);
}

void prompt_close(struct app *a)
{
    struct lineedit *h = history_for(a, a->prompt);

    if (h) {    /* give the history back */
        h->history = a->edit.history;
        h->nhistory = a->edit.nhistory;
    }
    a->edit.history = NULL;
    a->edit.nhistory = 0;
    a->prompt = PROMPT_NONE;
    a->filter_error = false;
    free(a->pending_site);
    a->pending_site = NULL;
    curs_set(0);
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

bool app_apply_filter(struct app *a, const char *text, bool live)
{
    struct qt_filter_error err = {0, ""};
    struct qt_filter *f = qt_filter_compile(text, &err);

    if (!f) {
        a->filter_error = true;
        app_message(a, true, "error at character %ld: %s", char_index(text, err.pos) + 1,
                    err.msg);
        a->filter_error_pos = char_index(text, err.pos);
        (void)live;
        return false;
    }
    a->filter_error = false;
    /* A rebuild under way uses the old filter: it starts over with this one
     * (the loop begins it before the next slice). */
    qt_view_rebuild_cancel(&a->view);
    a->rows_for_query = true;
    qt_filter_free(a->filter);
    a->filter = f;
    free(a->filter_text);
    a->filter_text = xstrdup(text);
    a->filter_serial++;
    a->rows_stale = true;
    a->rebuild_now = true;
    return true;
}

static void show_filter_count(struct app *a)
{
    a->show_count = true;   /* app_rebuild says it, once the rows are counted */
}

/* Does any shown cell of `row` match the list search? */
static int row_matches(struct app *a, size_t row, int64_t now, struct qt_buf *cell)
{
    const struct qt_msg *m = &a->store.msgs[a->view.rows[row]];
    size_t i;

    for (i = 0; i < a->ncols; i++) {
        size_t s, e;
        int rc;

        qt_buf_reset(cell);
        qt_view_cell(&a->store, m, a->cols[i], now, cell);
        rc = qt_search_match(a->search, cell->data ? cell->data : "", cell->len, &s, &e);
        if (rc)
            return rc;
    }
    return 0;
}

unsigned list_search_next(struct app *a, bool backwards)
{
    struct qt_buf cell = {0};
    int64_t now = app_wall_clock(a);
    size_t i, n = a->view.n;

    if (!a->search) {
        app_message(a, true, "no search: press / to search");
        return R_REDRAW;
    }
    for (i = 1; i <= n; i++) {
        size_t row = backwards ? (a->cursor + n - i) % n : (a->cursor + i) % n;
        int rc = row_matches(a, row, now, &cell);

        if (rc < 0) {
            app_message(a, true, "%s", qt_search_error(a->search));
            break;
        }
        if (rc == 1) {
            bool wrapped = backwards ? row >= a->cursor : row <= a->cursor;

            a->cursor_pinned = true;
            app_set_cursor(a, row);
            app_message(a, false, "/%s: row %zu of %zu%s", qt_search_pattern(a->search), row + 1,
                        n, wrapped ? " (wrapped around)" : "");
            qt_buf_free(&cell);
            return R_REDRAW;
        }
    }
    if (i > n)
        app_message(a, true, "/%s: no row matches", qt_search_pattern(a->search));
    qt_buf_free(&cell);
    return R_REDRAW;
}

static unsigned submit(struct app *a, const char *text)
{
    struct qt_error err = {""};
    enum qt_col cols[QT_COL_COUNT];
    size_t n;

    switch (a->prompt) {
    case PROMPT_FILTER:
        if (!app_apply_filter(a, text, false))
            return R_REDRAW;    /* stay in the bar with the error shown */
        lineedit_history_add(&a->edit, text);
        prompt_close(a);
        show_filter_count(a);
        return R_REDRAW;
    case PROMPT_SEARCH:
    case PROMPT_VIEWER_SEARCH: {
        char msg[200];
        size_t pos;
        struct qt_search *s;
        bool viewer = a->prompt == PROMPT_VIEWER_SEARCH;

        if (!*text) {
            prompt_close(a);
            return R_REDRAW;
        }
        s = qt_search_compile(text, msg, sizeof(msg), &pos);
        if (!s) {
            app_message(a, true, "%s", msg);
            return R_REDRAW;
        }
        lineedit_history_add(&a->edit, text);
        prompt_close(a);
        if (viewer) {
            qt_search_free(a->viewer.search);
            a->viewer.search = s;
            a->viewer.match_row = -1;
            viewer_search_next(a, false);
            return R_REDRAW;
        }
        qt_search_free(a->search);
        a->search = s;
        return list_search_next(a, false);
    }
    case PROMPT_SORT: {
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
    case PROMPT_COLUMNS:
        n = qt_cols_parse(text, cols, &err);
        if (!n) {
            app_message(a, true, "columns: %s", err.msg);
            return R_REDRAW;
        }
        prompt_close(a);
        memcpy(a->cols, cols, n * sizeof(cols[0]));
        a->ncols = n;
        a->cols_set = true;
        return R_REDRAW;
    case PROMPT_FLUSH_SITE: {
        char *site = xstrdup(text);

        prompt_close(a);
        if (!*site) {
            free(site);
            return R_REDRAW;
        }
        a->pending_site = site;
        return bulk_request(a, QT_ACT_FLUSH_SITE);
    }
    case PROMPT_COMMAND: {
        char *name = xstrdup(text);
        unsigned r;

        lineedit_history_add(&a->edit, text);
        prompt_close(a);
        r = *name ? commands_run_named(a, name) : R_REDRAW;
        free(name);
        return r;
    }
    default:
        prompt_close(a);
        return R_REDRAW;
    }
}

static unsigned cancel(struct app *a)
{
    if (a->prompt == PROMPT_FILTER) {
        /* Back to the filter that was in force when the bar opened. */
        char *saved = a->saved_filter_text;

        a->saved_filter_text = NULL;
        app_apply_filter(a, saved ? saved : "", false);
        free(saved);
    }
    prompt_close(a);
    a->message[0] = '\0';
    return R_REDRAW;
}

unsigned prompt_key(struct app *a, int key)
{
    int r;

    if (a->prompt == PROMPT_CONFIRM) {
        if (key == 'y' || key == 'Y') {
            a->prompt = PROMPT_NONE;
            return bulk_confirmed(a);
        }
        prompt_close(a);
        app_message(a, false, "cancelled: nothing was done");
        return R_REDRAW;
    }
    if (key == 27 || key == KEY_CTRL('g') || key == KEY_CTRL('c'))
        return cancel(a);
    if (key == '\n' || key == '\r' || key == KEY_FN(KEY_ENTER)) {
        char *text = lineedit_utf8(&a->edit);
        unsigned res = submit(a, text);

        free(text);
        return res;
    }
    r = lineedit_key(&a->edit, key);
    if (r == 1 && a->prompt == PROMPT_FILTER) {
        /* Live: the list narrows and the count updates as the query is typed. */
        char *text = lineedit_utf8(&a->edit);

        if (app_apply_filter(a, text, true))
            show_filter_count(a);
        free(text);
        return R_REDRAW;
    }
    if (r == 1 && a->filter_error)
        a->filter_error = false;
    return R_REDRAW;
}
