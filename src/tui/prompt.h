/* The prompt bar on the message line: a label and a line editor (or a
 * y/n question).  Each kind of bar is a `struct prompt_type` declared by
 * the code it serves, with the callback that takes the submitted text. */
#ifndef QTRIAGE_TUI_PROMPT_H
#define QTRIAGE_TUI_PROMPT_H

#include <stdbool.h>

#include "lineedit.h"

struct app;

/* Bars whose history is kept between openings. */
enum prompt_history {
    HISTORY_NONE,
    HISTORY_FILTER,
    HISTORY_SEARCH,             /* the list's and the viewer's search share it */
    HISTORY_COMMAND,
    HISTORY_COUNT,
};

struct prompt_type {
    bool yes_no;                /* a y/n question: no editor, 'y' submits "y" */
    enum prompt_history history;
    /* Enter (or 'y'): returns R_* reactions.  The bar is still open: the
     * callback closes it (prompt_close), or leaves it open to show an error. */
    unsigned (*submit)(struct app *a, const char *text);
    /* The text changed (a live bar); NULL: nothing happens until Enter. */
    unsigned (*changed)(struct app *a, const char *text);
    /* Esc, or a y/n question answered no; NULL: close and say nothing. */
    unsigned (*cancel)(struct app *a);
    /* Where the text went wrong (a character index), -1: nowhere; NULL: never. */
    long (*error_at)(const struct app *a);
};

struct prompt_bar {
    const struct prompt_type *type;     /* NULL: closed */
    char label[256];
    struct lineedit edit;
    struct lineedit history[HISTORY_COUNT];
};

void prompt_open(struct app *a, const struct prompt_type *type, const char *label,
                 const char *initial);
bool prompt_is_open(const struct app *a);
unsigned prompt_key(struct app *a, int key);
void prompt_close(struct app *a);
/* Remember `text` in the open bar's history. */
void prompt_remember(struct app *a, const char *text);
void prompt_free(struct app *a);

#endif
