/* Read-only backend: lists the queue through `postqueue -j`, which works for
 * any user that authorized_mailq_users allows, when the spool itself is not
 * readable. */
#include <json-c/json.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "qtriage/backend.h"
#include "qtriage/idmap.h"
#include "qtriage/proc.h"

#define BATCH_EVENTS 512

struct pq_backend {
    const struct qt_spool_layout *layout;
    struct qt_feed *feed;
    pthread_t thread;
    bool thread_live;
    atomic_bool running;
    struct qt_idmap seen;
    uint32_t gen;
    struct qt_batch *batch;
    unsigned long bad_lines;
    char first_bad[200];
};

static const char *json_str(struct json_object *o, const char *key)
{
    struct json_object *v;

    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static bool json_int(struct json_object *o, const char *key, int64_t *out)
{
    struct json_object *v;

    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
        return false;
    *out = json_object_get_int64(v);
    return true;
}

static const char *dup_or_null(struct qt_arena *a, const char *s)
{
    return s ? qt_arena_strdup(a, s) : NULL;
}

bool qt_postqueue_json_parse(const char *line, struct qt_arena *arena, struct qt_msg_data *out,
                             struct qt_error *err)
{
    struct json_object *o = json_tokener_parse(line), *rcpts, *fe;
    const char *id, *queue, *sender;
    size_t i, n;

    memset(out, 0, sizeof(*out));
    if (!o || !json_object_is_type(o, json_type_object)) {
        qt_error_set(err, "not a JSON object");
        goto fail;
    }
    id = json_str(o, "queue_id");
    queue = json_str(o, "queue_name");
    sender = json_str(o, "sender");
    if (!id || !queue || !sender || !qt_queue_id_valid(id)) {
        qt_error_set(err, "queue_id, queue_name or sender missing or invalid");
        goto fail;
    }
    if (!qt_queue_from_name(queue, &out->queue)) {
        qt_error_set(err, "unknown queue name \"%.40s\"", queue);
        goto fail;
    }
    out->id = qt_arena_strdup(arena, id);
    out->sender = qt_arena_strdup(arena, sender);
    /* postqueue shows the null sender as MAILER-DAEMON; so does qtriage. */
    out->null_sender = strcmp(sender, "MAILER-DAEMON") == 0;
    json_int(o, "arrival_time", &out->arrival);
    json_int(o, "message_size", &out->msg_size);
    out->forced_expire = json_object_object_get_ex(o, "forced_expire", &fe) &&
                         json_object_get_boolean(fe);
    if (json_object_object_get_ex(o, "recipients", &rcpts) &&
        json_object_is_type(rcpts, json_type_array)) {
        n = json_object_array_length(rcpts);
        out->rcpts = n ? qt_arena_alloc(arena, n * sizeof(*out->rcpts)) : NULL;
        for (i = 0; i < n; i++) {
            struct json_object *r = json_object_array_get_idx(rcpts, i);
            struct qt_rcpt_data *d = &out->rcpts[out->nrcpts];
            const char *addr = r ? json_str(r, "address") : NULL;
            const char *orig, *why;

            if (!addr)
                continue;
            memset(d, 0, sizeof(*d));
            d->address = qt_arena_strdup(arena, addr);
            orig = json_str(r, "orig_address");
            d->orig = orig && strcmp(orig, addr) != 0 ? qt_arena_strdup(arena, orig) : NULL;
            if ((why = json_str(r, "delay_reason"))) {
                d->reason = qt_arena_strdup(arena, why);
            } else if ((why = json_str(r, "bounce_reason"))) {
                d->reason = qt_arena_strdup(arena, why);
                d->bounced = true;
            } else {
                d->reason = dup_or_null(arena, json_str(r, "other_reason"));
            }
            d->state = QT_RCPT_PENDING;
            out->nrcpts++;
        }
    }
    json_object_put(o);
    return true;
fail:
    if (o)
        json_object_put(o);
    return false;
}

static void flush(struct pq_backend *pq)
{
    if (pq->batch && pq->batch->n)
        qt_feed_push(pq->feed, pq->batch);
    else
        qt_batch_free(pq->batch);
    pq->batch = NULL;
}

static struct qt_batch *batch(struct pq_backend *pq)
{
    if (pq->batch && pq->batch->n >= BATCH_EVENTS)
        flush(pq);
    if (!pq->batch)
        pq->batch = qt_batch_new();
    return pq->batch;
}

static void on_line(void *ctx, char *line, size_t len)
{
    struct pq_backend *pq = ctx;
    struct qt_batch *b = batch(pq);
    struct qt_event *ev;
    struct qt_error err;
    struct qt_idmap_entry *e;
    bool created;

    if (len == 0)
        return;
    ev = qt_batch_add(b, QT_EV_UPSERT);
    if (!qt_postqueue_json_parse(line, &b->arena, &ev->msg, &err)) {
        b->n--;
        if (pq->bad_lines++ == 0)
            snprintf(pq->first_bad, sizeof(pq->first_bad), "%.150s", err.msg);
        return;
    }
    e = qt_idmap_put(&pq->seen, ev->msg.id, &created);
    e->gen = pq->gen;
}

static void gone(void *ctx, const char *id)
{
    struct pq_backend *pq = ctx;
    struct qt_batch *b = batch(pq);
    struct qt_event *ev = qt_batch_add(b, QT_EV_GONE);

    ev->msg.id = qt_arena_strdup(&b->arena, id);
}

static void report(struct pq_backend *pq, enum qt_event_kind kind, const char *text)
{
    struct qt_batch *b = batch(pq);
    struct qt_event *ev = qt_batch_add(b, kind);

    ev->text = text ? qt_arena_strdup(&b->arena, text) : NULL;
}

static void *pq_main(void *arg)
{
    struct pq_backend *pq = arg;
    const char *argv[6];
    struct qt_proc_spec spec = {.argv = argv, .on_stdout_line = on_line, .ctx = pq};
    struct qt_proc_result res;
    int argc;
    bool ok;

    argc = qt_spool_tool_argv(pq->layout, pq->layout->postqueue, argv);
    argv[argc++] = "-j";
    argv[argc] = NULL;
    pq->gen++;
    pq->bad_lines = 0;
    ok = qt_proc_run(&spec, &res);
    if (!ok) {
        char how[512];

        qt_proc_describe(&spec, &res, how, sizeof(how));
        report(pq, QT_EV_ERROR, how);
    } else {
        qt_idmap_sweep(&pq->seen, pq->gen, gone, pq);
    }
    if (pq->bad_lines) {
        char msg[300];

        snprintf(msg, sizeof(msg), "%lu unparsable line%s from postqueue -j (first: %s)",
                 pq->bad_lines, pq->bad_lines == 1 ? "" : "s", pq->first_bad);
        report(pq, QT_EV_ERROR, msg);
    }
    report(pq, QT_EV_SCAN_DONE, NULL);
    flush(pq);
    qt_proc_result_free(&res);
    atomic_store(&pq->running, false);
    return NULL;
}

static bool pq_start(struct qt_backend *b)
{
    struct pq_backend *pq = b->priv;

    if (atomic_load(&pq->running))
        return false;
    if (pq->thread_live)
        pthread_join(pq->thread, NULL);
    pq->thread_live = false;
    atomic_store(&pq->running, true);
    if (pthread_create(&pq->thread, NULL, pq_main, pq) != 0) {
        atomic_store(&pq->running, false);
        return false;
    }
    pq->thread_live = true;
    return true;
}

static bool pq_running(struct qt_backend *b)
{
    return atomic_load(&((struct pq_backend *)b->priv)->running);
}

static void pq_wait(struct qt_backend *b)
{
    struct pq_backend *pq = b->priv;

    if (pq->thread_live) {
        pthread_join(pq->thread, NULL);
        pq->thread_live = false;
    }
}

static void pq_destroy(struct qt_backend *b)
{
    struct pq_backend *pq = b->priv;

    pq_wait(b);
    qt_idmap_free(&pq->seen);
    free(pq);
}

static const struct qt_backend_ops pq_ops = {
    .name = "postqueue",
    .start = pq_start,
    .running = pq_running,
    .wait = pq_wait,
    .destroy = pq_destroy,
};

struct qt_backend *qt_postqueue_backend_new(const struct qt_spool_layout *layout,
                                            struct qt_feed *feed)
{
    struct qt_backend *b = xcalloc(1, sizeof(*b));
    struct pq_backend *pq = xcalloc(1, sizeof(*pq));

    pq->layout = layout;
    pq->feed = feed;
    qt_idmap_init(&pq->seen);
    b->ops = &pq_ops;
    b->layout = layout;
    b->feed = feed;
    b->priv = pq;
    return b;
}
