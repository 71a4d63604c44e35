/* Drawing the title, the queue list, the message line and the status line.
 * Panes only draw into their windows (wnoutrefresh); app.c calls doupdate()
 * once per pass of the loop. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "app.h"
#include "script.h"
#include "qtriage/text.h"
#include "qtriage/util.h"
#include "version.h"

/* Decode one character of `s` (at most `len` bytes); returns its length
 * (at least 1) and stores the code point, or -1 for an invalid byte. */
static size_t next_char(const char *s, size_t len, long *cp)
{
    unsigned c;
    size_t n = qt_utf8_decode((const unsigned char *)s, len, &c);

    *cp = n ? (long)c : -1;
    return n ? n : 1;
}

/* Columns a code point takes, or -1 when it must be shown as '?'. */
static int char_width(const struct app *a, long cp)
{
    int w;

    if (cp < 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) ||
        qt_text_invisible((unsigned)cp))
        return -1;
    if (cp < 0x7f)
        return 1;
    if (!a->utf8)
        return -1;
    w = wcwidth((wchar_t)cp);
    return w < 0 ? -1 : w;
}

int text_width(const struct app *a, const char *s, size_t len)
{
    size_t i = 0;
    int cols = 0;

    while (i < len) {
        long cp;
        int w;

        i += next_char(s + i, len - i, &cp);
        w = char_width(a, cp);
        cols += w < 0 ? 1 : w;
    }
    return cols;
}

void draw_text(struct app *a, WINDOW *w, const char *s, size_t len, int width, attr_t attr,
               struct qt_search *search, attr_t match_attr)
{
    size_t i = 0, mstart = (size_t)-1, mend = 0;
    int col = 0;

    if (width <= 0)
        return;
    if (search && len) {
        if (qt_search_match(search, s, len, &mstart, &mend) != 1)
            mstart = (size_t)-1;
    }
    wattrset(w, attr);
    while (i < len && col < width) {
        long cp;
        size_t n = next_char(s + i, len - i, &cp);
        int cw = char_width(a, cp);
        bool in_match = i >= mstart && i < mend;

        if (cw < 0)
            cw = 1;
        if (col + cw > width)
            break;
        if (in_match)
            wattrset(w, match_attr);
        if (char_width(a, cp) < 0) {
            waddch(w, '?');
        } else if (cp < 0x80) {
            waddch(w, (chtype)cp);
        } else {
            wchar_t wc = (wchar_t)cp;

            waddnwstr(w, &wc, 1);
        }
        if (in_match)
            wattrset(w, attr);
        col += cw;
        i += n;
        /* Further matches on the same text. */
        if (search && i >= mend && mstart != (size_t)-1 && i < len) {
            size_t s2, e2;

            if (qt_search_match(search, s + i, len - i, &s2, &e2) == 1 && e2 > s2) {
                mstart = i + s2;
                mend = i + e2;
            } else {
                mstart = (size_t)-1;
            }
        }
    }
    while (col++ < width)
        waddch(w, ' ');
    wattrset(w, A_NORMAL);
}

static attr_t pair_attr(const struct app *a, int pair, attr_t fallback)
{
    return a->colors ? (attr_t)COLOR_PAIR(pair) | a->pair_attrs[pair] : fallback;
}

void draw_layout(struct app *a)
{
    int h = LINES, w = COLS, list_h, viewer_h = 0;

    if (a->title_win)
        delwin(a->title_win), delwin(a->list_win), delwin(a->msg_win), delwin(a->status_win);
    if (a->viewer_win)
        delwin(a->viewer_win);
    a->viewer_win = NULL;
    list_h = h - 3;
    if (list_h < 1)
        list_h = 1;
    if (a->viewer.open) {
        if (a->viewer.full || list_h < 8) {
            viewer_h = list_h;
            list_h = 0;
        } else {
            /* The list keeps a third, at least 4 rows (header and 3). */
            int keep = list_h / 3 < 4 ? 4 : list_h / 3;

            viewer_h = list_h - keep;
            list_h = keep;
        }
    }
    a->title_win = newwin(1, w, 0, 0);
    a->list_win = newwin(list_h > 0 ? list_h : 1, w, 1, 0);
    if (viewer_h > 0)
        a->viewer_win = newwin(viewer_h, w, 1 + list_h, 0);
    a->msg_win = newwin(1, w, h - 2 > 0 ? h - 2 : 0, 0);
    a->status_win = newwin(1, w, h - 1, 0);
    a->list_rows = list_h > 1 ? list_h - 1 : 0;
    if (list_h == 0)
        a->list_rows = 0;
    /* Keys are read through the title window: it is redrawn on every pass
     * anyway, so the implicit refresh of wget_wch costs nothing. */
    keypad(a->title_win, TRUE);
    nodelay(a->title_win, TRUE);
}

void draw_title(struct app *a)
{
    WINDOW *w = a->title_win;
    char left[512], right[160];
    int lw;

    snprintf(left, sizeof(left), " qtriage %s  %s%s%s", QTRIAGE_VERSION, a->config_label,
             a->backend && a->backend->read_only ? "  [read-only]" : "",
             a->opt->demo_dir ? "" : "");
    if (!a->first_scan_done) {
        static const char spin[] = "|/-\\";
        snprintf(right, sizeof(right), "loading %c %zu messages ",
                 spin[(app_now_ms() / 250) % 4], a->store.n);
    } else {
        snprintf(right, sizeof(right), "sort: %s%s  ? help ", qt_col_info[a->view.sort].name,
                 a->view.reverse ? " (rev)" : "");
    }
    wmove(w, 0, 0);
    lw = COLS - (int)strlen(right);
    if (a->opt->demo_dir) {
        char demo[256];
        int dw;

        snprintf(demo, sizeof(demo), " DEMO QUEUE (throwaway Postfix in %s) ",
                 a->opt->demo_dir);
        dw = (int)strlen(demo);
        draw_text(a, w, left, strlen(left), lw - dw > 0 ? lw - dw : 0,
                  pair_attr(a, COLOR_PAIR_TITLE, A_REVERSE), NULL, 0);
        draw_text(a, w, demo, strlen(demo), dw < lw ? dw : lw,
                  pair_attr(a, COLOR_PAIR_DEMO, A_REVERSE | A_BOLD) | A_BOLD, NULL, 0);
    } else {
        draw_text(a, w, left, strlen(left), lw, pair_attr(a, COLOR_PAIR_TITLE, A_REVERSE),
                  NULL, 0);
    }
    if (lw >= 0)
        draw_text(a, w, right, strlen(right), COLS - lw,
                  pair_attr(a, COLOR_PAIR_TITLE, A_REVERSE), NULL, 0);
    wnoutrefresh(w);
}

/* Widths of the shown columns for a window `width` wide; returns how many
 * columns fit (the rightmost are dropped when even their minimum does not). */
static size_t column_widths(struct app *a, int width, int *out)
{
    size_t n = a->ncols, i;

    for (;;) {
        int fixed = 2, weights = 0, left;   /* 2: the tag mark and a blank */

        for (i = 0; i < n; i++) {
            const struct qt_field *ci = &qt_fields[a->cols[i]];
            int cw = a->cols[i] == QT_COL_ID ? a->id_width : ci->width;

            out[i] = cw;
            fixed += (cw ? cw : ci->min_width) + (i ? 1 : 0);
            weights += ci->width ? 0 : ci->weight;
        }
        if (fixed <= width || n == 1) {
            left = width - fixed;
            for (i = 0; i < n; i++) {
                const struct qt_field *ci = &qt_fields[a->cols[i]];

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

static void draw_header(struct app *a, const int *widths, size_t n)
{
    WINDOW *w = a->list_win;
    attr_t attr = pair_attr(a, COLOR_PAIR_HEADER, A_BOLD | A_UNDERLINE) | A_BOLD;
    size_t i;

    wmove(w, 0, 0);
    draw_text(a, w, "  ", 2, 2, attr, NULL, 0);
    for (i = 0; i < n; i++) {
        const struct qt_field *ci = &qt_fields[a->cols[i]];
        char title[64];
        int tw;

        snprintf(title, sizeof(title), "%s%s", ci->title,
                 a->cols[i] == a->view.sort ? (a->view.reverse ? "v" : "^") : "");
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

static void draw_row(struct app *a, int y, size_t row, const int *widths, size_t n,
                     int64_t now, struct qt_buf *cell)
{
    WINDOW *w = a->list_win;
    const struct qt_msg *m = &a->store.msgs[a->view.rows[row]];
    const char *id = qt_store_str(&a->store, m->id);
    bool tagged = qt_selection_has(&a->tags, id);
    bool is_cursor = row == a->cursor && a->focus != FOCUS_HELP;
    bool in_range = a->range_anchor >= 0 &&
                    ((row >= (size_t)a->range_anchor && row <= a->cursor) ||
                     (row <= (size_t)a->range_anchor && row >= a->cursor));
    attr_t attr = A_NORMAL, match = pair_attr(a, COLOR_PAIR_MATCH, A_REVERSE) | A_BOLD;
    size_t i;

    if (m->queue == QT_Q_HOLD)
        attr = pair_attr(a, COLOR_PAIR_HOLD, A_DIM);
    if (m->flags & QT_MSG_UNREADABLE)
        attr = pair_attr(a, COLOR_PAIR_ERROR, A_DIM);
    if (tagged)
        attr = pair_attr(a, COLOR_PAIR_TAGGED, A_BOLD) | A_BOLD;
    if (in_range)
        attr |= A_UNDERLINE;
    if (is_cursor)
        attr = pair_attr(a, COLOR_PAIR_CURSOR, A_REVERSE) | (tagged ? A_BOLD : 0);
    wmove(w, y, 0);
    draw_text(a, w, tagged ? "+ " : "  ", 2, 2, attr, NULL, 0);
    for (i = 0; i < n; i++) {
        const struct qt_field *ci = &qt_fields[a->cols[i]];
        int tw;

        qt_buf_reset(cell);
        qt_view_cell(&a->store, m, a->cols[i], now, cell);
        if (i)
            draw_text(a, w, " ", 1, 1, attr, NULL, 0);
        tw = text_width(a, cell->data ? cell->data : "", cell->len);
        if (ci->right_align && tw < widths[i]) {
            draw_text(a, w, "", 0, widths[i] - tw, attr, NULL, 0);
            draw_text(a, w, cell->data, cell->len, tw, attr, a->search, match);
        } else {
            draw_text(a, w, cell->data ? cell->data : "", cell->len, widths[i], attr, a->search,
                      match);
        }
    }
    if (getcurx(w) < COLS && getcurx(w) > 0)
        draw_text(a, w, "", 0, COLS - getcurx(w), attr, NULL, 0);
}

void draw_list(struct app *a)
{
    WINDOW *w = a->list_win;
    int widths[QT_COL_COUNT];
    struct qt_buf cell = {0};
    int64_t now = app_wall_clock(a);
    size_t n, row;
    int y;

    if (a->list_rows <= 0 && !a->viewer.open) {
        werase(w);
        wnoutrefresh(w);
        return;
    }
    if (a->list_rows <= 0)
        return;
    werase(w);
    n = column_widths(a, COLS, widths);
    draw_header(a, widths, n);
    if (a->cursor < a->top)
        a->top = a->cursor;
    if (a->cursor >= a->top + (size_t)a->list_rows)
        a->top = a->cursor - (size_t)a->list_rows + 1;
    /* No blank rows at the bottom while there are rows above (the pane may
     * just have grown back when the viewer closed). */
    if (a->top + (size_t)a->list_rows > a->view.n)
        a->top = a->view.n > (size_t)a->list_rows ? a->view.n - (size_t)a->list_rows : 0;
    for (y = 0, row = a->top; y < a->list_rows && row < a->view.n; y++, row++)
        draw_row(a, y + 1, row, widths, n, now, &cell);
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

void draw_message_line(struct app *a)
{
    WINDOW *w = a->msg_win;

    wmove(w, 0, 0);
    if (a->prompt != PROMPT_NONE && a->prompt != PROMPT_CONFIRM) {
        int lw = text_width(a, a->prompt_label, strlen(a->prompt_label));
        int mw = 0, ew;

        /* The filter bar keeps its count or error in view at the right. */
        if (a->message[0] && COLS >= 60) {
            mw = text_width(a, a->message, strlen(a->message)) + 2;
            if (mw > COLS / 2)
                mw = COLS / 2;
        }
        ew = COLS - lw - mw;
        if (ew < 10) {
            ew = COLS - lw;
            mw = 0;
        }
        draw_text(a, w, a->prompt_label, strlen(a->prompt_label), lw, A_BOLD, NULL, 0);
        if (mw) {
            wmove(w, 0, lw + ew);
            draw_text(a, w, "  ", 2, 2, A_NORMAL, NULL, 0);
            draw_text(a, w, a->message, strlen(a->message), mw - 2,
                      a->message_is_error ? pair_attr(a, COLOR_PAIR_ERROR, A_BOLD) | A_BOLD
                                          : A_DIM,
                      NULL, 0);
        }
        lineedit_draw(a, w, &a->edit, lw, ew, a->filter_error ? a->filter_error_pos : -1);
        return;
    }
    if (a->prompt == PROMPT_CONFIRM) {
        draw_text(a, w, a->prompt_label, strlen(a->prompt_label), COLS,
                  pair_attr(a, COLOR_PAIR_ERROR, A_REVERSE) | A_BOLD, NULL, 0);
        wmove(w, 0, text_width(a, a->prompt_label, strlen(a->prompt_label)) < COLS - 1
                        ? text_width(a, a->prompt_label, strlen(a->prompt_label))
                        : COLS - 1);
        return;
    }
    if (a->message[0]) {
        draw_text(a, w, a->message, strlen(a->message), COLS,
                  a->message_is_error ? pair_attr(a, COLOR_PAIR_ERROR, A_BOLD) | A_BOLD
                                      : A_NORMAL,
                  NULL, 0);
    } else if (a->filter_text && *a->filter_text) {
        char buf[600];

        snprintf(buf, sizeof(buf), "filter: %s", a->filter_text);
        draw_text(a, w, buf, strlen(buf), COLS, A_DIM, NULL, 0);
    } else {
        draw_text(a, w, "", 0, COLS, A_NORMAL, NULL, 0);
    }
}

/* 1234567 -> "1,234,567" */
static const char *grouped(size_t n, char *buf)
{
    char digits[32];
    size_t len = (size_t)snprintf(digits, sizeof(digits), "%zu", n), i, j = 0;

    for (i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0)
            buf[j++] = ',';
        buf[j++] = digits[i];
    }
    buf[j] = '\0';
    return buf;
}

void draw_status(struct app *a)
{
    static const enum qt_queue order[] = {QT_Q_DEFERRED, QT_Q_HOLD,     QT_Q_ACTIVE,
                                          QT_Q_INCOMING, QT_Q_MAILDROP, QT_Q_CORRUPT};
    struct qt_buf b = {0};
    char size[32], n1[32], n2[32], n3[32];
    size_t i;

    for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        /* Queues that are usually empty only show when they are not. */
        if (!a->store.per_queue[order[i]] && i >= 3)
            continue;
        qt_buf_printf(&b, " %s %s", qt_queue_name(order[i]),
                      grouped(a->store.per_queue[order[i]], n1));
    }
    qt_format_size(a->store.total_size, size, sizeof(size));
    qt_buf_printf(&b, " | %s | shown %s/%s | tagged %s", size, grouped(a->view.n, n1),
                  grouped(a->store.n, n2), grouped(a->tags.count, n3));
    if (a->view.n)
        qt_buf_printf(&b, " | row %s", grouped(a->cursor + 1, n2));
    if (a->rows_for_query && qt_view_rebuilding(&a->view))
        qt_buf_printf(&b, " | filtering%s %d%%", a->utf8 ? "\u2026" : "...",
                      qt_view_rebuild_percent(&a->view));
    if (action_job_running(a))
        qt_buf_printf(&b, " | %s%s", a->job.doing, a->utf8 ? "\u2026" : "...");
    wmove(a->status_win, 0, 0);
    draw_text(a, a->status_win, b.data, b.len, COLS, pair_attr(a, COLOR_PAIR_STATUS, A_REVERSE),
              NULL, 0);
    qt_buf_free(&b);
    wnoutrefresh(a->status_win);
}

void draw_all(struct app *a)
{
    draw_title(a);
    if (a->focus == FOCUS_HELP) {
        help_draw(a);
    } else if (a->focus == FOCUS_STATS) {
        stats_draw(a);
    } else {
        draw_list(a);
        if (a->viewer.open)
            viewer_draw(a);
    }
    draw_status(a);
    draw_message_line(a);
    wnoutrefresh(a->msg_win);
}
