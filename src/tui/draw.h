/* The screen's frame: the windows' layout, the title, the message line and
 * the status line, and the text primitives every pane draws with. */
#ifndef QTRIAGE_TUI_DRAW_H
#define QTRIAGE_TUI_DRAW_H

#include <curses.h>
#include <stddef.h>

#include "qtriage/config.h"
#include "qtriage/search.h"

struct app;

/* Colour pairs, in the order of the configuration's QT_COLOR_* elements. */
enum {
    COLOR_PAIR_TITLE = 1,
    COLOR_PAIR_DEMO,
    COLOR_PAIR_HEADER,
    COLOR_PAIR_CURSOR,
    COLOR_PAIR_TAGGED,
    COLOR_PAIR_MATCH,
    COLOR_PAIR_ERROR,
    COLOR_PAIR_HOLD,
    COLOR_PAIR_SEPARATOR,
    COLOR_PAIR_NAME,
    COLOR_PAIR_WARNING,
    COLOR_PAIR_ATTACH,
    COLOR_PAIR_STATUS,
    COLOR_PAIR_LAST = COLOR_PAIR_STATUS,
};
_Static_assert((int)COLOR_PAIR_LAST == (int)QT_COLOR_COUNT, "a colour pair per configuration element");

void draw_layout(struct app *a);
/* Every pane that is in view, the title, status and message lines
 * (wnoutrefresh only; the loop calls doupdate). */
void draw_all(struct app *a);
/* The attributes of colour pair `pair`, or `fallback` without colours. */
attr_t pair_attr(const struct app *a, int pair, attr_t fallback);
/* Write `len` bytes of UTF-8 `s` into `w` at its cursor in exactly `width`
 * columns (cut or padded).  Control characters and undecodable bytes show
 * as '?'.  When `search` is set, its matches are drawn with `match_attr`. */
void draw_text(struct app *a, WINDOW *w, const char *s, size_t len, int width, attr_t attr,
               struct qt_search *search, attr_t match_attr);
/* Columns `s` takes on screen, at most `limit` bytes considered. */
int text_width(const struct app *a, const char *s, size_t len);

#endif
