/* Where the message list comes from.
 *
 * A backend is a struct of operations over private data.  Both backends
 * report through the same qt_feed, so the store's owner does not care which
 * one it talks to:
 *   - spool: reads the queue directory directly (root or the mail owner),
 *     incremental, multi-threaded;
 *   - postqueue: runs `postqueue -j` (any user allowed by
 *     authorized_mailq_users), read-only: no Subject, no attributes, and
 *     actions are refused. */
#ifndef QTRIAGE_BACKEND_H
#define QTRIAGE_BACKEND_H

#include <stdbool.h>

#include "qtriage/feed.h"
#include "qtriage/spool.h"
#include "qtriage/store.h"

enum qt_backend_kind {
    QT_BACKEND_AUTO,        /* spool when readable, else postqueue */
    QT_BACKEND_SPOOL,
    QT_BACKEND_POSTQUEUE,
};

struct qt_backend;

struct qt_backend_ops {
    const char *name;
    /* Start a scan in the background; false when one is still running. */
    bool (*start)(struct qt_backend *b);
    bool (*running)(struct qt_backend *b);
    void (*wait)(struct qt_backend *b);
    void (*destroy)(struct qt_backend *b);
};

struct qt_backend {
    const struct qt_backend_ops *ops;
    const struct qt_spool_layout *layout;   /* borrowed */
    struct qt_feed *feed;                   /* borrowed */
    bool read_only;
    char read_only_reason[256];             /* why actions are refused */
    char read_only_why[200];                /* why the spool was not readable
                                               ("" when postqueue was asked for) */
    void *priv;
};

/* `layout` and `feed` must outlive the backend.  A queue directory that does
 * not exist is an error whatever the kind (postqueue -j could not list it
 * either); one this user may not read makes AUTO choose postqueue. */
struct qt_backend *qt_backend_open(const struct qt_spool_layout *layout, struct qt_feed *feed,
                                   enum qt_backend_kind kind, struct qt_error *err);
void qt_backend_close(struct qt_backend *b);

/* Run one complete scan and apply it to `store` (blocking).  Every error the
 * scan reports goes to `on_error` (when set).  Returns false when there was
 * at least one. */
bool qt_backend_load(struct qt_backend *b, struct qt_store *store,
                     void (*on_error)(void *ctx, const char *msg), void *ctx);
/* The same, and `on_change` gets the ID of every message the scan added to
 * `store` or changed in it (feed.h): a rescan into a loaded store reports
 * only what is new or different since the last one. */
bool qt_backend_load_changes(struct qt_backend *b, struct qt_store *store,
                             void (*on_error)(void *ctx, const char *msg),
                             void (*on_change)(void *ctx, const char *id), void *ctx);

/* Run one complete scan without a store: every message goes to `on_msg` as
 * it is read (its strings live until on_msg returns), in the order the
 * scan reads them; errors as for qt_backend_load().  Memory stays that of
 * the batches in flight, whatever the size of the queue. */
bool qt_backend_stream(struct qt_backend *b,
                       void (*on_msg)(void *ctx, const struct qt_msg_data *m),
                       void (*on_error)(void *ctx, const char *msg), void *ctx);

/* The same, but `on_msg` may run on several threads at once: the spool
 * backend calls it from the threads that parse the files, `slot` (below
 * QT_SCANNER_MAX_WORKERS) naming the thread; calls with the same slot never
 * overlap.  Other backends call it from this thread with slot 0. */
bool qt_backend_stream_parallel(struct qt_backend *b,
                                void (*on_msg)(void *ctx, int slot,
                                               const struct qt_msg_data *m),
                                void (*on_error)(void *ctx, const char *msg), void *ctx);

/* Constructors used by qt_backend_open. */
struct qt_backend *qt_spool_backend_new(const struct qt_spool_layout *layout,
                                        struct qt_feed *feed);
struct qt_backend *qt_postqueue_backend_new(const struct qt_spool_layout *layout,
                                            struct qt_feed *feed);

/* Parse one line of `postqueue -j` output into `out` (strings from `arena`).
 * Returns false, with `err` set, when the line is not a message object.
 * Unknown members are ignored. */
bool qt_postqueue_json_parse(const char *line, struct qt_arena *arena, struct qt_msg_data *out,
                             struct qt_error *err);

#endif
