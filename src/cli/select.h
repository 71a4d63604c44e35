/* The messages a reporting command (stats, check) works on. */
#ifndef QTRIAGE_CLI_SELECT_H
#define QTRIAGE_CLI_SELECT_H

#include <stdbool.h>

#include "open.h"
#include "qtriage/filter.h"

/* Open the instance's queue and load it whole; false after saying why on
 * stderr and in `why` (may be NULL). */
bool cli_load_store(struct cli_queue *cq, struct cli_common *common, struct qt_error *why);

#endif
