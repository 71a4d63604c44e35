/* A copy of a queue directory (a test fixture, a backup), read without
 * Postfix: no postconf, no instance, no tools.
 *
 * The layout Postfix would report comes from the copy's own file
 * `qtriage-layout` ("name = value" lines for hash_queue_names,
 * hash_queue_depth and enable_long_queue_ids), else from Postfix's
 * defaults (deferred and defer hashed, depth 1, short IDs).  The tool
 * paths stay NULL: nothing can act on a copy. */
#ifndef QTRIAGE_SPOOL_COPY_H
#define QTRIAGE_SPOOL_COPY_H

#include <stdbool.h>

#include "qtriage/spool.h"
#include "qtriage/util.h"

#define QT_SPOOL_COPY_LAYOUT_FILE "qtriage-layout"

/* Fill `l` for the copy in `dir`.  False, with `err` set, when `dir` is not
 * a directory or its layout file has a line that is not understood. */
bool qt_spool_layout_from_copy(struct qt_spool_layout *l, const char *dir, struct qt_error *err);

#endif
