/* How backends hand results to the thread that owns the store.
 *
 * A backend's threads fill batches (events plus an arena holding their
 * strings) and push them; the owner calls qt_feed_apply() from its own loop,
 * typically when feed->notify_fd becomes readable.  Nothing else is shared
 * between the two sides. */
#ifndef QTRIAGE_FEED_H
#define QTRIAGE_FEED_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "qtriage/arena.h"
#include "qtriage/message.h"
#include "qtriage/store.h"

enum qt_event_kind {
    QT_EV_UPSERT,       /* msg is complete */
    QT_EV_UPDATE,       /* only msg.id, queue, mtime, forced_expire are set */
    QT_EV_GONE,         /* only msg.id is set */
    QT_EV_SCAN_DONE,    /* a scan finished; text summarises problems or is NULL */
    QT_EV_ERROR,        /* text says what went wrong; the scan goes on */
};

struct qt_event {
    enum qt_event_kind kind;
    struct qt_msg_data msg;
    const char *text;
};

struct qt_batch {
    struct qt_event *ev;
    size_t n, cap;
    struct qt_arena arena;
    struct qt_batch *next;
};

struct qt_batch *qt_batch_new(void);
struct qt_event *qt_batch_add(struct qt_batch *b, enum qt_event_kind kind);
void qt_batch_free(struct qt_batch *b);

/* At most this many batches wait for the owner: a backend that reads
 * faster than the owner applies (a store rebuilding a million-row view)
 * waits instead of piling up hundreds of megabytes of batches. */
#define QT_FEED_MAX_WAITING 16

struct qt_feed {
    pthread_mutex_t lock;
    pthread_cond_t drained;     /* signalled when the owner took the batches */
    struct qt_batch *head, *tail;
    size_t waiting;             /* batches in head..tail */
    bool unblocked;             /* qt_feed_unblock(): pushes never wait again */
    int notify_fd;              /* readable while batches are waiting */
    int notify_wr;
    /* IDs the store did not know when an UPDATE arrived; the scanner reads
     * and clears this so it parses those files again. */
    char **forget;
    size_t nforget, forget_cap;
};

struct qt_feed_result {
    size_t upserts, updates, removals;
    size_t scans_done;
    size_t errors;
    char last_error[512];       /* last ERROR text, "" if none */
    char scan_summary[256];     /* last SCAN_DONE text, "" if none */
    /* Called for every ERROR event when set. */
    void (*on_error)(void *ctx, const char *msg);
    void *ctx;
    /* Called by qt_feed_apply() with the ID of every message the store
     * gained or that changed (not those removed), after the store has it;
     * standing rules look at these instead of at the whole queue. */
    void (*on_change)(void *ctx, const char *id);
    void *change_ctx;
};

void qt_feed_init(struct qt_feed *f);
void qt_feed_destroy(struct qt_feed *f);
/* Takes ownership; waits while QT_FEED_MAX_WAITING batches are waiting
 * (unless unblocked). */
void qt_feed_push(struct qt_feed *f, struct qt_batch *b);
/* From now on pushes never wait: called before a backend's threads are
 * joined, when nobody may drain the feed any more. */
void qt_feed_unblock(struct qt_feed *f);
/* Apply every waiting batch to `store`. */
void qt_feed_apply(struct qt_feed *f, struct qt_store *store, struct qt_feed_result *res);
/* Hand every waiting UPSERT, UPDATE and GONE event to `on_msg` (its strings
 * live until it returns) instead of a store; SCAN_DONE and ERROR events are
 * counted in `res` as qt_feed_apply() does. */
void qt_feed_each(struct qt_feed *f, struct qt_feed_result *res,
                  void (*on_msg)(void *ctx, const struct qt_event *ev), void *ctx);
/* Take the list of IDs to forget (caller frees each and the array). */
char **qt_feed_take_forget(struct qt_feed *f, size_t *n);

#endif
