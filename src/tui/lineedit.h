/* One line editor, reused by the filter, search and prompt bars. */
#ifndef QTRIAGE_TUI_LINEEDIT_H
#define QTRIAGE_TUI_LINEEDIT_H

#include <curses.h>
#include <stddef.h>
#include <wchar.h>

struct app;

struct lineedit {
    wchar_t *text;
    size_t len, cap, cursor;
    size_t scroll;              /* first character shown */
    char **history;
    size_t nhistory, history_pos;
};

void lineedit_set(struct lineedit *e, const char *utf8);
char *lineedit_utf8(const struct lineedit *e);  /* malloc'd */
/* Apply key `k`; returns 1 when the text changed, 0 when not, -1 when the
 * key is not an editing key (Enter, Esc, ...). */
int lineedit_key(struct lineedit *e, int k);
void lineedit_history_add(struct lineedit *e, const char *utf8);
void lineedit_draw(struct app *a, WINDOW *w, const struct lineedit *e, int x, int width,
                   long mark_pos);
void lineedit_free(struct lineedit *e);

#endif
