/* One line editor for every bar: filter, search, prompts. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

#include "app.h"
#include "draw.h"
#include "keymap.h"
#include "lineedit.h"
#include "qtriage/util.h"

#define HISTORY_MAX 100

static void reserve(struct lineedit *e, size_t extra)
{
    e->text = xgrow(e->text, &e->cap, e->len + extra + 1, sizeof(*e->text));
}

void lineedit_set(struct lineedit *e, const char *utf8)
{
    mbstate_t st;
    const char *p = utf8 ? utf8 : "";
    size_t left = strlen(p);

    memset(&st, 0, sizeof(st));
    e->len = 0;
    reserve(e, left);
    while (left) {
        wchar_t wc;
        size_t n = mbrtowc(&wc, p, left, &st);

        if (n == (size_t)-1 || n == (size_t)-2) {
            wc = L'?';
            n = 1;
            memset(&st, 0, sizeof(st));
        } else if (n == 0) {
            break;
        }
        e->text[e->len++] = wc;
        p += n;
        left -= n;
    }
    e->text[e->len] = L'\0';
    e->cursor = e->len;
    e->scroll = 0;
}

char *lineedit_utf8(const struct lineedit *e)
{
    struct qt_buf b = {0};
    mbstate_t st;
    size_t i;

    memset(&st, 0, sizeof(st));
    for (i = 0; i < e->len; i++) {
        char mb[MB_LEN_MAX];
        size_t n = wcrtomb(mb, e->text[i], &st);

        if (n == (size_t)-1) {
            mb[0] = '?';
            n = 1;
            memset(&st, 0, sizeof(st));
        }
        qt_buf_append(&b, mb, n);
    }
    qt_buf_putc(&b, '\0');
    return b.data;
}

static void insert(struct lineedit *e, wchar_t wc)
{
    reserve(e, 1);
    memmove(e->text + e->cursor + 1, e->text + e->cursor,
            (e->len - e->cursor + 1) * sizeof(*e->text));
    e->text[e->cursor++] = wc;
    e->len++;
}

static void delete_range(struct lineedit *e, size_t from, size_t to)
{
    memmove(e->text + from, e->text + to, (e->len - to + 1) * sizeof(*e->text));
    e->len -= to - from;
    e->cursor = from;
}

static void history_move(struct lineedit *e, int dir)
{
    size_t pos = e->history_pos;

    if (dir < 0 && pos > 0)
        pos--;
    else if (dir > 0 && pos < e->nhistory)
        pos++;
    else
        return;
    e->history_pos = pos;
    lineedit_set(e, pos < e->nhistory ? e->history[pos] : "");
}

int lineedit_key(struct lineedit *e, int k)
{
    size_t p;

    if (!e->text)
        lineedit_set(e, "");
    switch (k) {
    case KEY_FN(KEY_LEFT):
    case KEY_CTRL('b'):
        if (e->cursor)
            e->cursor--;
        return 0;
    case KEY_FN(KEY_RIGHT):
    case KEY_CTRL('f'):
        if (e->cursor < e->len)
            e->cursor++;
        return 0;
    case KEY_FN(KEY_HOME):
    case KEY_CTRL('a'):
        e->cursor = 0;
        return 0;
    case KEY_FN(KEY_END):
    case KEY_CTRL('e'):
        e->cursor = e->len;
        return 0;
    case KEY_FN(KEY_BACKSPACE):
    case 127:
    case KEY_CTRL('h'):
        if (!e->cursor)
            return 0;
        delete_range(e, e->cursor - 1, e->cursor);
        return 1;
    case KEY_FN(KEY_DC):
    case KEY_CTRL('d'):
        if (e->cursor == e->len)
            return 0;
        delete_range(e, e->cursor, e->cursor + 1);
        return 1;
    case KEY_CTRL('u'):
        delete_range(e, 0, e->cursor);
        return 1;
    case KEY_CTRL('k'):
        delete_range(e, e->cursor, e->len);
        return 1;
    case KEY_CTRL('w'):
        p = e->cursor;
        while (p && iswspace((wint_t)e->text[p - 1]))
            p--;
        while (p && !iswspace((wint_t)e->text[p - 1]))
            p--;
        delete_range(e, p, e->cursor);
        return 1;
    case KEY_FN(KEY_UP):
    case KEY_CTRL('p'):
        history_move(e, -1);
        return 1;
    case KEY_FN(KEY_DOWN):
    case KEY_CTRL('n'):
        history_move(e, 1);
        return 1;
    default:
        if (k >= 0x20 && k < 0x110000 && k != 127 && !(k >= 0x80 && k < 0xa0)) {
            insert(e, (wchar_t)k);
            return 1;
        }
        return -1;
    }
}

void lineedit_history_add(struct lineedit *e, const char *utf8)
{
    if (!*utf8 || (e->nhistory && strcmp(e->history[e->nhistory - 1], utf8) == 0)) {
        e->history_pos = e->nhistory;
        return;
    }
    if (e->nhistory == HISTORY_MAX) {
        free(e->history[0]);
        memmove(e->history, e->history + 1, (HISTORY_MAX - 1) * sizeof(*e->history));
        e->nhistory--;
    }
    e->history = xrealloc(e->history, (e->nhistory + 1) * sizeof(*e->history));
    e->history[e->nhistory++] = xstrdup(utf8);
    e->history_pos = e->nhistory;
}

static int wc_width(const struct app *a, wchar_t wc)
{
    int w = a->utf8 ? wcwidth(wc) : (wc < 0x80 ? 1 : 1);

    return w < 0 ? 1 : w;
}

void lineedit_draw(struct app *a, WINDOW *w, const struct lineedit *e, int x, int width,
                   long mark_pos)
{
    size_t i;
    int col = 0, cursor_col = 0, used;

    if (width <= 1)
        return;
    /* Scroll so the cursor stays in view, a few columns from the edge. */
    if (e->cursor < e->scroll)
        ((struct lineedit *)e)->scroll = e->cursor;
    for (;;) {
        used = 0;
        for (i = e->scroll; i < e->cursor; i++)
            used += wc_width(a, e->text[i]);
        if (used < width - 1 || e->scroll >= e->cursor)
            break;
        ((struct lineedit *)e)->scroll++;
    }
    wmove(w, 0, x);
    for (i = e->scroll; i < e->len; i++) {
        wchar_t wc = e->text[i];
        int cw = wc_width(a, wc);
        bool printable = a->utf8 ? (wcwidth(wc) >= 0) : (wc >= 0x20 && wc < 0x7f);

        if (col + cw > width - 1)
            break;
        if (i == e->cursor)
            cursor_col = col;
        if ((long)i == mark_pos)
            wattron(w, A_REVERSE);
        if (printable)
            waddnwstr(w, &wc, 1);
        else
            waddch(w, '?');
        if ((long)i == mark_pos)
            wattroff(w, A_REVERSE);
        col += cw;
    }
    if (e->cursor >= i)
        cursor_col = col;
    if (mark_pos >= 0 && (size_t)mark_pos >= e->len && col < width) {
        wattron(w, A_REVERSE);
        waddch(w, ' ');
        wattroff(w, A_REVERSE);
        col++;
    }
    while (col++ < width)
        waddch(w, ' ');
    wmove(w, 0, x + cursor_col);
}

void lineedit_free(struct lineedit *e)
{
    size_t i;

    for (i = 0; i < e->nhistory; i++)
        free(e->history[i]);
    free(e->history);
    free(e->text);
    memset(e, 0, sizeof(*e));
}
