/* The messages a reporting command (stats, check) works on. */
#ifndef QTRIAGE_CLI_SELECT_H
#define QTRIAGE_CLI_SELECT_H

#include <stdbool.h>

#include "open.h"
#include "qtriage/filter.h"

/* The filter for --filter EXPR (the filter bar's language; NULL: none) and
 * --queue NAME (NULL: all queues).  Says what is wrong on stderr and sets
 * *bad when either is; otherwise returns a filter the caller frees. */
struct qt_filter *cli_compile_filter(const char *expr, const char *queue, bool *bad);
/* Open the instance's queue and load it whole; false after saying why on
 * stderr and in `why` (may be NULL). */
bool cli_load_store(struct cli_queue *cq, struct cli_common *common, struct qt_error *why);

#endif
