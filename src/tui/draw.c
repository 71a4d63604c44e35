/* Drawing the title, the queue list, the message line and the status line.
 * Panes only draw into their windows (wnoutrefresh); app.c calls doupdate()
 * once per pass of the loop. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "app.h"
#include "draw.h"
#include "list_pane.h"
#include "prompt.h"
#include "qtriage/text.h"
#include "rules_pane.h"
#include "qtriage/util.h"
#include "version.h"
#include "viewer.h"

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

attr_t pair_attr(const struct app *a, int pair, attr_t fallback)
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
    if (viewer_is_open(a)) {
        if (viewer_is_full(a) || list_h < 8) {
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

static void draw_title(struct app *a)
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

static void draw_message_line(struct app *a)
{
    WINDOW *w = a->msg_win;
    const struct prompt_bar *bar = &a->bar;
    const char *filter_text = list_filter_text(a);

    wmove(w, 0, 0);
    if (bar->type && !bar->type->yes_no) {
        int lw = text_width(a, bar->label, strlen(bar->label));
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
        draw_text(a, w, bar->label, strlen(bar->label), lw, A_BOLD, NULL, 0);
        if (mw) {
            wmove(w, 0, lw + ew);
            draw_text(a, w, "  ", 2, 2, A_NORMAL, NULL, 0);
            draw_text(a, w, a->message, strlen(a->message), mw - 2,
                      a->message_is_error ? pair_attr(a, COLOR_PAIR_ERROR, A_BOLD) | A_BOLD
                                          : A_DIM,
                      NULL, 0);
        }
        lineedit_draw(a, w, &bar->edit, lw, ew, bar->type->error_at ? bar->type->error_at(a) : -1);
        return;
    }
    if (bar->type) {
        int lw = text_width(a, bar->label, strlen(bar->label));

        draw_text(a, w, bar->label, strlen(bar->label), COLS,
                  pair_attr(a, COLOR_PAIR_ERROR, A_REVERSE) | A_BOLD, NULL, 0);
        wmove(w, 0, lw < COLS - 1 ? lw : COLS - 1);
        return;
    }
    if (a->message[0]) {
        draw_text(a, w, a->message, strlen(a->message), COLS,
                  a->message_is_error ? pair_attr(a, COLOR_PAIR_ERROR, A_BOLD) | A_BOLD
                                      : A_NORMAL,
                  NULL, 0);
    } else if (filter_text && *filter_text) {
        char buf[600];

        snprintf(buf, sizeof(buf), "filter: %s", filter_text);
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

static void draw_status(struct app *a)
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
                  grouped(a->store.n, n2), grouped(a->current.tags.count, n3));
    if (a->view.n)
        qt_buf_printf(&b, " | row %s", grouped(list_cursor_row(a) + 1, n2));
    if (a->rows_for_query && qt_view_rebuilding(&a->view))
        qt_buf_printf(&b, " | filtering%s %d%%", a->utf8 ? "\u2026" : "...",
                      qt_view_rebuild_percent(&a->view));
    rules_status(a, &b);
    if (action_job_running(a)) {
        char doing[300];

        action_job_describe(a, doing, sizeof(doing));
        qt_buf_printf(&b, " | %s%s", doing, a->utf8 ? "\u2026" : "...");
    }
    wmove(a->status_win, 0, 0);
    draw_text(a, a->status_win, b.data, b.len, COLS, pair_attr(a, COLOR_PAIR_STATUS, A_REVERSE),
              NULL, 0);
    qt_buf_free(&b);
    wnoutrefresh(a->status_win);
}

void draw_all(struct app *a)
{
    size_t i;

    draw_title(a);
    if (a->focus->ops->flags & PANE_FULL_SCREEN) {
        a->focus->ops->draw(a->focus);
    } else {
        for (i = 0; i < a->npanes; i++) {
            struct pane *p = a->panes[i];

            if (!(p->ops->flags & PANE_FULL_SCREEN) && pane_is_open(p))
                p->ops->draw(p);
        }
    }
    draw_status(a);
    draw_message_line(a);
    wnoutrefresh(a->msg_win);
}
