/* Opening an instance's queue for a CLI command. */
#ifndef QTRIAGE_CLI_OPEN_H
#define QTRIAGE_CLI_OPEN_H

#include <stdbool.h>

#include "cli.h"
#include "qtriage/backend.h"

struct cli_queue {
    struct qt_spool_layout layout;
    struct qt_feed feed;
    struct qt_store store;
    struct qt_backend *backend;
    bool feed_live, store_live;
    struct qt_error error;      /* the first problem printed, for one-line reports */
};

/* Load the layout; unless `layout_only`, also open a backend and a store.
 * Prints what went wrong and returns false on failure. */
bool cli_open_queue(struct cli_queue *cq, const struct cli_common *common, bool layout_only);
/* One full scan into cq->store; errors are printed to stderr. */
bool cli_load_queue(struct cli_queue *cq);
void cli_close_queue(struct cli_queue *cq);

#endif
