/* The message viewer: a queued message (decoded or raw) or its mail-log
 * history, split under the list or full screen. */
#ifndef QTRIAGE_TUI_VIEWER_H
#define QTRIAGE_TUI_VIEWER_H

#include <stdbool.h>

struct app;

void viewer_open(struct app *a, const char *id, int queue, bool history);
bool viewer_is_open(const struct app *a);
bool viewer_is_full(const struct app *a);
/* The queue ID shown ("" when closed). */
const char *viewer_id(const struct app *a);
unsigned viewer_toggle_split(struct app *a);
unsigned viewer_toggle_mode(struct app *a);
unsigned viewer_toggle_history(struct app *a);

#endif
