/* Standing rules in the TUI: "keep doing this" from the list or a
 * statistics row, the rules pane, the status line's count, and handing
 * the rules' new matches to the action thread. */
#ifndef QTRIAGE_TUI_RULES_PANE_H
#define QTRIAGE_TUI_RULES_PANE_H

#include <stddef.h>

struct app;
struct qt_buf;

/* K: ask for the action and lifetime, confirm, then add the rule over the
 * list's filter (or, in the statistics, the row's group). */
unsigned rules_keep_doing(struct app *a);
unsigned rules_open(struct app *a);
/* Once a loop turn: when the action thread is free, hand it what the
 * active rules match among the messages new or changed since last time. */
void rules_tick(struct app *a);
/* " | rules 2 active, 41 caught" for the status line ("" without rules). */
void rules_status(const struct app *a, struct qt_buf *out);

#endif
