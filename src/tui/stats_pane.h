/* The statistics pane (stats_pane.c). */
#ifndef QTRIAGE_TUI_STATS_PANE_H
#define QTRIAGE_TUI_STATS_PANE_H

struct app;

unsigned stats_toggle(struct app *a);
unsigned stats_next_view(struct app *a, int dir);
unsigned stats_next_queues(struct app *a);
unsigned stats_drill(struct app *a);
unsigned stats_tag(struct app *a);

#endif
