/* Opening an instance's queue for a CLI command. */
#ifndef QTRIAGE_CLI_OPEN_H
#define QTRIAGE_CLI_OPEN_H

#include <stdbool.h>

#include "cli.h"
#include "qtriage/actions.h"
#include "qtriage/backend.h"
#include "qtriage/filter.h"
#include "qtriage/fleet.h"

struct cli_queue {
    struct qt_spool_layout layout;
    struct qt_feed feed;
    struct qt_store store;
    struct qt_backend *backend;
    bool feed_live, store_live;
    bool fleet;                 /* --hosts: backend is the fleet; layout is empty */
    struct qt_header_cache *headers;    /* for header.NAME filters; NULL until asked */
    struct qt_error error;      /* the first problem printed, for one-line reports */
};

/* Load the layout; unless `layout_only`, also open a backend and a store.
 * Prints what went wrong and returns false on failure. */
bool cli_open_queue(struct cli_queue *cq, const struct cli_common *common, bool layout_only);
/* With --hosts: say on stderr which hosts were not read fully (read-only,
 * lost); returns how many were lost. */
size_t cli_fleet_report(struct cli_queue *cq);
/* One full scan into cq->store; errors are printed to stderr. */
bool cli_load_queue(struct cli_queue *cq);
void cli_close_queue(struct cli_queue *cq);

/* The messages a command acts on, IDs malloc'd (free with cli_targets_free). */
struct cli_targets {
    struct qt_action_target *t;
    size_t n, cap;
};

/* Add the IDs of argv[first..argc): "-" reads IDs from standard input, one
 * or more a line (postqueue -p's '*' and '!' markers are dropped). */
void cli_targets_from_args(struct cli_targets *t, int argc, char **argv, int first);
/* Load the queue (cq opened with a store) and add every message `expr`
 * selects, with the queue it is in, sorted by ID.  Returns 0, or the exit
 * status after saying why on stderr (2: the filter does not compile). */
int cli_targets_from_filter(struct cli_targets *t, struct cli_queue *cq, const char *expr);
void cli_targets_free(struct cli_targets *t);
/* False, after saying which on stderr, when an ID is not a valid queue ID. */
bool cli_targets_valid(const struct cli_targets *t, const char *cmd);
/* The filter for --filter EXPR (the filter bar's language; NULL: none) and
 * --queue (NULL: every queue); NULL when both are NULL.  Says on stderr
 * where EXPR is wrong and sets *bad; otherwise the caller frees the filter. */
struct qt_filter *cli_filter_compile(const char *expr, const enum qt_queue *queue, bool *bad);
/* Let `f` (NULL is fine) read headers from cq's queue files when it has
 * header.NAME terms and the queue is read from the spool; with postqueue -j
 * its header terms match nothing and it says why. */
void cli_filter_headers(struct qt_filter *f, struct cli_queue *cq);

/* --hosts: false, after saying why, when an ID is not HOST:QUEUEID of a
 * host of the fleet. */
bool cli_fleet_targets_valid(const struct cli_targets *t, struct cli_queue *cq, const char *cmd);
/* --hosts delete --backup-dir: fetch and export each message into
 * DIR/HOST/ID.eml on this machine, then delete exactly those exported. */
int cli_fleet_backup_delete(struct cli_queue *cq, const char *backup_dir,
                            const struct cli_targets *t);

/* The fleet --hosts, --fleet and --ssh ask for (`from_file` holds the
 * --fleet file's configuration while the spec is used; free it and
 * spec->hosts after).  False after saying why on stderr. */
bool cli_fleet_spec(const struct cli_common *common, struct qt_fleet_spec *spec,
                    struct qt_config *from_file);

#endif
