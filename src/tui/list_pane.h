/* The queue list: rows of messages under a filter and a sort, a cursor,
 * tags, a row search.  Its state is private to list_pane.c. */
#ifndef QTRIAGE_TUI_LIST_PANE_H
#define QTRIAGE_TUI_LIST_PANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qtriage/filter.h"
#include "qtriage/store.h"

struct app;

/* The message under the cursor, or NULL when the list is empty. */
const struct qt_msg *list_current(const struct app *a);
/* Its row (meaningful when list_current is not NULL). */
size_t list_cursor_row(const struct app *a);
unsigned list_move(struct app *a, long delta);
/* The filter in force (NULL: none), the text it came from, and a serial
 * bumped whenever it changes. */
struct qt_filter *list_filter(const struct app *a);
const char *list_filter_text(const struct app *a);
uint64_t list_filter_serial(const struct app *a);
/* Compile `text` and make it the filter; false (message shown) when it
 * does not compile. */
bool list_apply_filter(struct app *a, const char *text);
/* Compile `text` as list_apply_filter does, for another use (tagging a
 * statistics row): its header.NAME terms read the queue files through the
 * list's header cache.  NULL with `err` filled when it does not compile. */
struct qt_filter *list_compile_filter(struct app *a, const char *text,
                                      struct qt_filter_error *err);
/* Say "N of M match" once the rows are counted. */
void list_show_count(struct app *a);
/* The rows were rebuilt: keep the cursor on its message (by ID). */
void list_rows_rebuilt(struct app *a);
/* Columns to the terminal's width unless the admin chose them. */
void list_default_columns(struct app *a);
/* Apply --columns, --sort and --filter. */
void list_setup_options(struct app *a);

/* Commands that only make sense in the list. */
unsigned list_open_filter_bar(struct app *a);
unsigned list_open_sort_bar(struct app *a);
unsigned list_open_columns_bar(struct app *a);
unsigned list_tag(struct app *a);
unsigned list_tag_range(struct app *a);
unsigned list_tag_all(struct app *a);
unsigned list_invert_tags(struct app *a);
/* A mouse click on screen line `y` of the list's rows. */
unsigned list_click(struct app *a, int y, bool twice);

#endif
