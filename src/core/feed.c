#include "qtriage/feed.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qtriage/util.h"

/* How many events ahead of its upsert a message is looked at. */
#define FEED_AHEAD 3

struct qt_batch *qt_batch_new(void)
{
    return xcalloc(1, sizeof(struct qt_batch));
}

struct qt_event *qt_batch_add(struct qt_batch *b, enum qt_event_kind kind)
{
    struct qt_event *e;

    b->ev = xgrow(b->ev, &b->cap, b->n + 1, sizeof(*b->ev));
    e = &b->ev[b->n++];
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    return e;
}

void qt_batch_free(struct qt_batch *b)
{
    if (!b)
        return;
    free(b->ev);
    qt_arena_free(&b->arena);
    free(b);
}

void qt_feed_init(struct qt_feed *f)
{
    int p[2];

    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->drained, NULL);
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
        qt_die("pipe: %s", strerror(errno));
    f->notify_fd = p[0];
    f->notify_wr = p[1];
}

void qt_feed_destroy(struct qt_feed *f)
{
    struct qt_batch *b, *next;
    size_t i;

    for (b = f->head; b; b = next) {
        next = b->next;
        qt_batch_free(b);
    }
    for (i = 0; i < f->nforget; i++)
        free(f->forget[i]);
    free(f->forget);
    close(f->notify_fd);
    close(f->notify_wr);
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->drained);
    memset(f, 0, sizeof(*f));
}

void qt_feed_push(struct qt_feed *f, struct qt_batch *b)
{
    char c = 1;
    ssize_t unused;

    b->next = NULL;
    pthread_mutex_lock(&f->lock);
    while (f->waiting >= QT_FEED_MAX_WAITING && !f->unblocked)
        pthread_cond_wait(&f->drained, &f->lock);
    f->waiting++;
    if (f->tail)
        f->tail->next = b;
    else
        f->head = b;
    f->tail = b;
    pthread_mutex_unlock(&f->lock);
    /* A full pipe already signals "something waiting"; EAGAIN is fine. */
    unused = write(f->notify_wr, &c, 1);
    (void)unused;
}

void qt_feed_unblock(struct qt_feed *f)
{
    pthread_mutex_lock(&f->lock);
    f->unblocked = true;
    pthread_cond_broadcast(&f->drained);
    pthread_mutex_unlock(&f->lock);
}

static void forget_id(struct qt_feed *f, const char *id)
{
    pthread_mutex_lock(&f->lock);
    f->forget = xgrow(f->forget, &f->forget_cap, f->nforget + 1, sizeof(*f->forget));
    f->forget[f->nforget++] = xstrdup(id);
    pthread_mutex_unlock(&f->lock);
}

char **qt_feed_take_forget(struct qt_feed *f, size_t *n)
{
    char **v;

    pthread_mutex_lock(&f->lock);
    v = f->forget;
    *n = f->nforget;
    f->forget = NULL;
    f->nforget = f->forget_cap = 0;
    pthread_mutex_unlock(&f->lock);
    return v;
}

/* on_ahead, when set, hears of every message event some events before
 * on_msg does (see qt_store_look_ahead). */
static void each_event(struct qt_feed *f, struct qt_feed_result *res,
                       void (*on_msg)(void *ctx, const struct qt_event *ev),
                       void (*on_ahead)(void *ctx, const struct qt_event *ev), void *ctx)
{
    struct qt_batch *b, *next;
    char drain[256];
    size_t i;

    while (read(f->notify_fd, drain, sizeof(drain)) > 0)
        ;
    pthread_mutex_lock(&f->lock);
    b = f->head;
    f->head = f->tail = NULL;
    f->waiting = 0;
    pthread_cond_broadcast(&f->drained);
    pthread_mutex_unlock(&f->lock);
    for (; b; b = next) {
        next = b->next;
        for (i = 0; on_ahead && i < FEED_AHEAD && i < b->n; i++)
            on_ahead(ctx, &b->ev[i]);
        for (i = 0; i < b->n; i++) {
            struct qt_event *e = &b->ev[i];

            if (on_ahead && i + FEED_AHEAD < b->n)
                on_ahead(ctx, &b->ev[i + FEED_AHEAD]);
            switch (e->kind) {
            case QT_EV_UPSERT:
            case QT_EV_UPDATE:
            case QT_EV_GONE:
                on_msg(ctx, e);
                break;
            case QT_EV_SCAN_DONE:
                res->scans_done++;
                snprintf(res->scan_summary, sizeof(res->scan_summary), "%s",
                         e->text ? e->text : "");
                break;
            case QT_EV_ERROR:
                res->errors++;
                snprintf(res->last_error, sizeof(res->last_error), "%s",
                         e->text ? e->text : "unknown error");
                if (res->on_error)
                    res->on_error(res->ctx, res->last_error);
                break;
            }
        }
        qt_batch_free(b);
    }
}

void qt_feed_each(struct qt_feed *f, struct qt_feed_result *res,
                  void (*on_msg)(void *ctx, const struct qt_event *ev), void *ctx)
{
    each_event(f, res, on_msg, NULL, ctx);
}

/* The upserts' look-ahead: hashes are worked out and asked of the memory
 * FEED_AHEAD events before the upsert; the strings their slots name, one
 * event before.  A ring, consumed in the order it is filled. */
struct apply_ctx {
    struct qt_feed *feed;
    struct qt_store *store;
    struct qt_feed_result *res;
    struct qt_store_ahead ahead[FEED_AHEAD + 1];
    unsigned head, tail;        /* next to use, next to fill */
};

static void apply_ahead(void *ctx, const struct qt_event *e)
{
    struct apply_ctx *a = ctx;
    unsigned k;

    if (e->kind != QT_EV_UPSERT)
        return;
    qt_store_look_ahead(a->store, &e->msg, &a->ahead[a->tail++ % (FEED_AHEAD + 1)]);
    /* The one before it is next but one: its slots should be here by now. */
    if (a->tail - a->head >= 2) {
        k = (a->tail - 2) % (FEED_AHEAD + 1);
        qt_store_look_closer(a->store, &a->ahead[k]);
    }
}

static void apply_event(void *ctx, const struct qt_event *e)
{
    struct apply_ctx *a = ctx;

    switch (e->kind) {
    case QT_EV_UPSERT:
        if (a->head != a->tail && a->ahead[a->head % (FEED_AHEAD + 1)].d == &e->msg)
            qt_store_upsert_ahead(a->store, &e->msg, &a->ahead[a->head++ % (FEED_AHEAD + 1)]);
        else
            qt_store_upsert(a->store, &e->msg);
        a->res->upserts++;
        if (a->res->on_change)
            a->res->on_change(a->res->change_ctx, e->msg.id);
        break;
    case QT_EV_UPDATE:
        if (qt_store_update(a->store, e->msg.id, e->msg.queue, e->msg.mtime,
                            e->msg.forced_expire)) {
            a->res->updates++;
            if (a->res->on_change)
                a->res->on_change(a->res->change_ctx, e->msg.id);
        } else
            forget_id(a->feed, e->msg.id);
        break;
    case QT_EV_GONE:
        if (qt_store_remove(a->store, e->msg.id))
            a->res->removals++;
        break;
    default:
        break;
    }
}

void qt_feed_apply(struct qt_feed *f, struct qt_store *store, struct qt_feed_result *res)
{
    struct apply_ctx a = {.feed = f, .store = store, .res = res};

    each_event(f, res, apply_event, apply_ahead, &a);
}
