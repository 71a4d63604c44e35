#include "qtriage/backend.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "qtriage/scanner.h"

/* ---- spool backend: a thin shell around the scanner ---- */

static bool spool_start(struct qt_backend *b)
{
    return qt_scanner_start(b->priv);
}

static bool spool_running(struct qt_backend *b)
{
    return qt_scanner_running(b->priv);
}

static void spool_wait(struct qt_backend *b)
{
    qt_scanner_wait(b->priv);
}

static void spool_destroy(struct qt_backend *b)
{
    qt_scanner_free(b->priv);
}

static const struct qt_backend_ops spool_ops = {
    .name = "spool",
    .start = spool_start,
    .running = spool_running,
    .wait = spool_wait,
    .destroy = spool_destroy,
};

struct qt_backend *qt_spool_backend_new(const struct qt_spool_layout *layout,
                                        struct qt_feed *feed)
{
    struct qt_backend *b = xcalloc(1, sizeof(*b));

    b->ops = &spool_ops;
    b->layout = layout;
    b->feed = feed;
    b->priv = qt_scanner_new(layout, feed, 0);
    return b;
}

/* The spool is usable when we can list and read its message queues.  A
 * queue directory that does not exist yet (Postfix creates hold/ when it
 * first starts) is not a reason to go read-only. */
static bool spool_readable(const struct qt_spool_layout *l, char *why, size_t size,
                           bool *missing)
{
    static const char *const dirs[] = {"deferred", "hold", "active", "incoming"};
    size_t i;
    int qfd = open(l->queue_directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    *missing = false;
    if (qfd < 0) {
        /* Not there at all is a wrong configuration, not a matter of rights. */
        *missing = errno == ENOENT || errno == ENOTDIR;
        snprintf(why, size, "%s %s: %s", *missing ? "queue_directory" : "cannot open",
                 l->queue_directory, strerror(errno));
        return false;
    }
    for (i = 0; i < QT_ARRAY_LEN(dirs); i++) {
        if (faccessat(qfd, dirs[i], R_OK | X_OK, AT_EACCESS) != 0 && errno != ENOENT) {
            snprintf(why, size, "%s/%s is not readable by this user", l->queue_directory,
                     dirs[i]);
            close(qfd);
            return false;
        }
    }
    close(qfd);
    return true;
}

struct qt_backend *qt_backend_open(const struct qt_spool_layout *layout, struct qt_feed *feed,
                                   enum qt_backend_kind kind, struct qt_error *err)
{
    char why[200] = "";
    struct qt_backend *b;
    bool readable, missing;

    readable = spool_readable(layout, why, sizeof(why), &missing);
    if (missing || (kind == QT_BACKEND_SPOOL && !readable)) {
        qt_error_set(err, "%s", why);
        return NULL;
    }
    if (kind == QT_BACKEND_AUTO)
        kind = readable ? QT_BACKEND_SPOOL : QT_BACKEND_POSTQUEUE;
    if (kind == QT_BACKEND_SPOOL)
        return qt_spool_backend_new(layout, feed);
    b = qt_postqueue_backend_new(layout, feed);
    b->read_only = true;
    snprintf(b->read_only_why, sizeof(b->read_only_why), "%s", readable ? "" : why);
    snprintf(b->read_only_reason, sizeof(b->read_only_reason),
             "read-only mode (%s): listing through postqueue -j; actions need root",
             readable ? "postqueue backend chosen" : why);
    return b;
}

void qt_backend_close(struct qt_backend *b)
{
    if (!b)
        return;
    qt_feed_unblock(b->feed);   /* nobody drains it while the threads stop */
    b->ops->destroy(b);
    free(b);
}

/* Start one complete scan (waiting for a running one to finish first). */
static bool start_full_scan(struct qt_backend *b,
                            void (*on_error)(void *ctx, const char *msg), void *ctx)
{
    while (!b->ops->start(b)) {
        if (!b->ops->running(b)) {
            if (on_error)
                on_error(ctx, "cannot start a scan (out of threads?)");
            return false;
        }
        b->ops->wait(b);        /* let a running scan finish first */
    }
    return true;
}

static void wait_feed(struct qt_backend *b)
{
    struct pollfd pfd = {.fd = b->feed->notify_fd, .events = POLLIN};

    poll(&pfd, 1, 200);
}

bool qt_backend_load(struct qt_backend *b, struct qt_store *store,
                     void (*on_error)(void *ctx, const char *msg), void *ctx)
{
    return qt_backend_load_changes(b, store, on_error, NULL, ctx);
}

bool qt_backend_load_changes(struct qt_backend *b, struct qt_store *store,
                             void (*on_error)(void *ctx, const char *msg),
                             void (*on_change)(void *ctx, const char *id), void *ctx)
{
    struct qt_feed_result res = {.on_error = on_error, .ctx = ctx, .on_change = on_change,
                                 .change_ctx = ctx};

    if (!start_full_scan(b, on_error, ctx))
        return false;
    while (res.scans_done == 0) {
        wait_feed(b);
        qt_feed_apply(b->feed, store, &res);
    }
    b->ops->wait(b);
    return res.errors == 0;
}

struct stream_ctx {
    void (*on_msg)(void *ctx, const struct qt_msg_data *m);
    void (*on_msg_slot)(void *ctx, int slot, const struct qt_msg_data *m);
    void *ctx;
};

static void stream_event(void *ctx, const struct qt_event *e)
{
    struct stream_ctx *sc = ctx;

    /* A file gone between readdir and open was never listed: nothing to
     * take back.  A first scan has no UPDATE events. */
    if (e->kind != QT_EV_UPSERT)
        return;
    if (sc->on_msg)
        sc->on_msg(sc->ctx, &e->msg);
    else
        sc->on_msg_slot(sc->ctx, 0, &e->msg);
}

static bool stream(struct qt_backend *b, struct stream_ctx *sc,
                   void (*on_error)(void *ctx, const char *msg))
{
    struct qt_feed_result res = {.on_error = on_error, .ctx = sc->ctx};

    if (!start_full_scan(b, on_error, sc->ctx))
        return false;
    while (res.scans_done == 0) {
        wait_feed(b);
        qt_feed_each(b->feed, &res, stream_event, sc);
    }
    b->ops->wait(b);
    return res.errors == 0;
}

bool qt_backend_stream(struct qt_backend *b,
                       void (*on_msg)(void *ctx, const struct qt_msg_data *m),
                       void (*on_error)(void *ctx, const char *msg), void *ctx)
{
    struct stream_ctx sc = {.on_msg = on_msg, .ctx = ctx};

    return stream(b, &sc, on_error);
}

bool qt_backend_stream_parallel(struct qt_backend *b,
                                void (*on_msg)(void *ctx, int slot,
                                               const struct qt_msg_data *m),
                                void (*on_error)(void *ctx, const char *msg), void *ctx)
{
    struct stream_ctx sc = {.on_msg_slot = on_msg, .ctx = ctx};
    bool ok;

    if (b->ops != &spool_ops)
        return stream(b, &sc, on_error);
    qt_scanner_set_sink(b->priv, on_msg, ctx);
    ok = stream(b, &sc, on_error);
    qt_scanner_set_sink(b->priv, NULL, NULL);
    return ok;
}
