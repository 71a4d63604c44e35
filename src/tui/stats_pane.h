/* The statistics pane (stats_pane.c). */
#ifndef QTRIAGE_TUI_STATS_PANE_H
#define QTRIAGE_TUI_STATS_PANE_H

#include <stdbool.h>
#include <stddef.h>

#include "qtriage/stats.h"
#include "qtriage/util.h"

struct app;

unsigned stats_toggle(struct app *a);
unsigned stats_next_view(struct app *a, int dir);
unsigned stats_next_queues(struct app *a);
unsigned stats_next_sort(struct app *a);
unsigned stats_drill(struct app *a);
unsigned stats_tag(struct app *a);
/* The filter of the row under the cursor combined with the list's
 * (malloc'd), or NULL with the reason shown. */
char *stats_row_filter(struct app *a);
/* The grouping (enum qt_stats_by) and raw key of the group under the
 * cursor (block_prompt.c); false in qshape's tables or without rows. */
bool stats_row_source(struct app *a, int *by, const char **key, size_t *key_len);

/* For the main loop: the groups are being counted (the store must stay as
 * it is meanwhile), and one more slice of that counting (true: redraw). */
bool stats_counting(const struct app *a);
bool stats_continue(struct app *a);

/* For keys that act on the row under the cursor (block its source, make a
 * rule of it): the group (NULL on qshape's table or while counting; `by`
 * gets its grouping), and its filter expression appended to `out` with a
 * label for messages (false, with the reason shown, when there is none). */
const struct qt_stats_group *stats_row_group(const struct app *a, enum qt_stats_by *by);
bool stats_row_expr(struct app *a, struct qt_buf *out, char *label, size_t label_size);
/* Run go(a) at once, or, when the row holds more than half of the queue,
 * after "VERB 98,900 messages, 98.9 % of the queue? y/N" is answered y. */
unsigned stats_guard(struct app *a, const char *verb, unsigned (*go)(struct app *a));

#endif
