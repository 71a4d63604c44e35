/* Stopping a source from the statistics pane (block_prompt.c): B on a row
 * grouped by sasl user, client address, sender or sender domain asks for
 * an action, an expiry and a text, and adds an entry to qtriage's access
 * tables (qtriage/block.h).  While the view runs as root it also removes
 * the entries whose time is up. */
#ifndef QTRIAGE_TUI_BLOCK_PROMPT_H
#define QTRIAGE_TUI_BLOCK_PROMPT_H

struct app;

unsigned block_from_stats(struct app *a);
/* Called on the main loop's clock: expires entries now and then. */
unsigned block_tick(struct app *a);
void block_free(struct app *a);

#endif
