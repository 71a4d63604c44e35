/* The statistics pane (stats_pane.c). */
#ifndef QTRIAGE_TUI_STATS_PANE_H
#define QTRIAGE_TUI_STATS_PANE_H

struct app;

unsigned stats_toggle(struct app *a);
unsigned stats_next_view(struct app *a, int dir);
unsigned stats_next_queues(struct app *a);
unsigned stats_drill(struct app *a);
unsigned stats_tag(struct app *a);
/* The filter of the row under the cursor combined with the list's
 * (malloc'd), or NULL with the reason shown. */
char *stats_row_filter(struct app *a);

#endif
