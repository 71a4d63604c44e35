/* The queue list as the admin sees it: which messages (the filter), in what
 * order (the sort column), and what each column shows.  Curses-free, so the
 * TUI draws it and the tests check it.
 *
 * Rows are message numbers of a store, valid until the store next changes:
 * the owner rebuilds the view after applying a feed batch.  The row the
 * cursor is on is remembered by queue ID by the caller, never by number. */
#ifndef QTRIAGE_VIEW_H
#define QTRIAGE_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qtriage/fields.h"
#include "qtriage/filter.h"
#include "qtriage/store.h"
#include "qtriage/util.h"
/* qt_format_duration and qt_format_size, which format the list's cells,
 * are there. */
#include "qtriage/text.h"

/* The columns are the first QT_COL_COUNT fields of the registry
 * (fields.h): qt_col_info[c] is the field of column c, whose first
 * members are its name, title, width, weight, min_width and right_align. */
#define qt_col_info qt_fields

bool qt_col_from_name(const char *name, enum qt_col *col);

/* Parse a column list ("id,age,sender,subject"; blanks or commas between
 * names).  Fills cols (at most QT_COL_COUNT, no repeats); returns the count,
 * or 0 with `err` set. */
size_t qt_cols_parse(const char *spec, enum qt_col *cols, struct qt_error *err);
/* The inverse, for editing the current list: "id,age,...". */
void qt_cols_format(const enum qt_col *cols, size_t n, struct qt_buf *out);

struct qt_view_build;

struct qt_view {
    uint32_t *rows;             /* message numbers in the store */
    size_t n, cap;
    enum qt_col sort;
    bool reverse;
    /* Private: a rebuild under way, and the whole store in sort order
     * (kept while neither the store nor the sort changes, so a new filter
     * costs one pass of the filter and no sorting). */
    struct qt_view_build *build;
};

void qt_view_init(struct qt_view *v);
void qt_view_free(struct qt_view *v);
/* Select the messages of `s` that `f` matches (NULL: all) and sort them. */
void qt_view_rebuild(struct qt_view *v, const struct qt_store *s, struct qt_filter *f,
                     int64_t now);

/* The same rebuild in slices, so a program can stay responsive at a
 * million messages: begin, then call step until it returns true.  Until
 * then rows/n are those of the last finished rebuild (the caller keeps the
 * store as it was, or at least knows they are stale).  The result is the
 * one qt_view_rebuild gives.
 *
 * begin snapshots v->sort, v->reverse, `f` and `now`; `f` must stay alive
 * (and unused by others) until the rebuild finishes or is cancelled, and a
 * begin while one runs starts over.  step does about `budget` units of
 * work (a unit: one message filtered or one sort key moved) and returns
 * true when the new rows are in place (and nothing runs any more).  When
 * the store changed since begin, step starts over by itself. */
void qt_view_rebuild_begin(struct qt_view *v, const struct qt_store *s, struct qt_filter *f,
                           int64_t now);
bool qt_view_rebuild_step(struct qt_view *v, const struct qt_store *s, size_t budget);
void qt_view_rebuild_cancel(struct qt_view *v);
bool qt_view_rebuilding(const struct qt_view *v);
/* How far the rebuild under way has come, 0 to 99 (100 when none runs). */
int qt_view_rebuild_percent(const struct qt_view *v);
/* After messages left the store: forget rows numbered `n` or higher, so
 * no stale row points past its end until the next rebuild. */
void qt_view_clip(struct qt_view *v, size_t n);
/* Row of message number `msg`, or -1 when it is not shown. */
long qt_view_row_of(const struct qt_view *v, uint32_t msg);

/* The text of one cell, appended to `out`: UTF-8, free of control
 * characters (the caller cuts it to its column width). */
void qt_view_cell(const struct qt_store *s, const struct qt_msg *m, enum qt_col col,
                  int64_t now, struct qt_buf *out);
#endif
