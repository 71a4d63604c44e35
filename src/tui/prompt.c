/* The prompt bar: one line editor (or a y/n question) on the message
 * line; what the text is for is the open bar type's business. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "prompt.h"

void prompt_open(struct app *a, const struct prompt_type *type, const char *label,
                 const char *initial)
{
    struct prompt_bar *b = &a->bar;
    struct lineedit *h = type->history != HISTORY_NONE ? &b->history[type->history] : NULL;

    b->type = type;
    snprintf(b->label, sizeof(b->label), "%s", label);
    a->message[0] = '\0';
    lineedit_set(&b->edit, initial);
    /* The bar's history lives with its type; the editor borrows it. */
    b->edit.history = h ? h->history : NULL;
    b->edit.nhistory = h ? h->nhistory : 0;
    b->edit.history_pos = b->edit.nhistory;
    curs_set(type->yes_no ? 0 : 1);
}

bool prompt_is_open(const struct app *a)
{
    return a->bar.type != NULL;
}

void prompt_remember(struct app *a, const char *text)
{
    lineedit_history_add(&a->bar.edit, text);
}

void prompt_close(struct app *a)
{
    struct prompt_bar *b = &a->bar;

    if (b->type && b->type->history != HISTORY_NONE) {  /* give the history back */
        b->history[b->type->history].history = b->edit.history;
        b->history[b->type->history].nhistory = b->edit.nhistory;
    }
    b->edit.history = NULL;
    b->edit.nhistory = 0;
    b->type = NULL;
    curs_set(0);
}

static unsigned cancel(struct app *a)
{
    if (a->bar.type->cancel)
        return a->bar.type->cancel(a);
    prompt_close(a);
    a->message[0] = '\0';
    return R_REDRAW;
}

unsigned prompt_key(struct app *a, int key)
{
    const struct prompt_type *t = a->bar.type;
    unsigned res;
    char *text;
    int r;

    if (t->yes_no)
        return key == 'y' || key == 'Y' ? t->submit(a, "y") : cancel(a);
    if (key == KEY_ESC || key == KEY_CTRL('g') || key == KEY_CTRL('c'))
        return cancel(a);
    if (key == '\n' || key == '\r' || key == KEY_FN(KEY_ENTER)) {
        text = lineedit_utf8(&a->bar.edit);
        res = t->submit(a, text);
        free(text);
        return res;
    }
    r = lineedit_key(&a->bar.edit, key);
    if (r == 1 && t->changed) {
        text = lineedit_utf8(&a->bar.edit);
        res = t->changed(a, text);
        free(text);
        return res;
    }
    return R_REDRAW;
}

void prompt_free(struct app *a)
{
    size_t i;

    if (a->bar.type)
        prompt_close(a);
    lineedit_free(&a->bar.edit);
    for (i = 0; i < HISTORY_COUNT; i++)
        lineedit_free(&a->bar.history[i]);
}
