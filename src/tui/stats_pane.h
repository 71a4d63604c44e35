/* The statistics pane (stats_pane.c). */
#ifndef QTRIAGE_TUI_STATS_PANE_H
#define QTRIAGE_TUI_STATS_PANE_H

#include <stdbool.h>
#include <stddef.h>

struct app;

unsigned stats_toggle(struct app *a);
unsigned stats_next_view(struct app *a, int dir);
unsigned stats_next_queues(struct app *a);
unsigned stats_drill(struct app *a);
unsigned stats_tag(struct app *a);
/* The filter of the row under the cursor combined with the list's
 * (malloc'd), or NULL with the reason shown. */
char *stats_row_filter(struct app *a);
/* The grouping (enum qt_stats_by) and raw key of the group under the
 * cursor (block_prompt.c); false in qshape's tables or without rows. */
bool stats_row_source(struct app *a, int *by, const char **key, size_t *key_len);

#endif
