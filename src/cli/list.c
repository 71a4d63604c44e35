/* qtriage list: one line or one JSON object per message. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "open.h"

static struct json_object *str_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

static struct json_object *message_json(const struct qt_store *s, const struct qt_msg *m)
{
    struct json_object *o = json_object_new_object();
    struct json_object *rcpts = json_object_new_array();
    struct json_object *done = json_object_new_array();
    struct json_object *attrs = json_object_new_object();
    const char *a;
    uint32_t i;
    int k;

    json_object_object_add(o, "queue_id", json_object_new_string(qt_store_str(s, m->id)));
    json_object_object_add(o, "queue_name", json_object_new_string(qt_queue_name(m->queue)));
    json_object_object_add(o, "arrival_time", json_object_new_int64(m->arrival));
    json_object_object_add(o, "create_time",
                           m->create_time ? json_object_new_int64(m->create_time) : NULL);
    json_object_object_add(o, "message_size", json_object_new_int64(m->msg_size));
    json_object_object_add(o, "file_size", json_object_new_int64(m->file_size));
    json_object_object_add(o, "forced_expire",
                           json_object_new_boolean(m->flags & QT_MSG_FORCED_EXPIRE));
    json_object_object_add(o, "sender", json_object_new_string(qt_store_str(s, m->sender)));
    json_object_object_add(o, "null_sender",
                           json_object_new_boolean(m->flags & QT_MSG_NULL_SENDER));
    for (i = 0; i < m->nrcpts; i++) {
        const struct qt_rcpt *r = &m->rcpts[i];
        const char *addr = qt_store_str(s, r->address);
        struct json_object *ro;

        if (r->state != QT_RCPT_PENDING) {
            json_object_array_add(done, json_object_new_string(addr));
            continue;
        }
        ro = json_object_new_object();
        json_object_object_add(ro, "address", json_object_new_string(addr));
        json_object_object_add(ro, "orig_address",
                               json_object_new_string(r->orig ? qt_store_str(s, r->orig)
                                                              : addr));
        if (r->reason)
            json_object_object_add(ro, r->bounced ? "bounce_reason" : "delay_reason",
                                   json_object_new_string(qt_store_str(s, r->reason)));
        if (r->status)
            json_object_object_add(ro, "dsn_status",
                                   json_object_new_string(qt_store_str(s, r->status)));
        json_object_array_add(rcpts, ro);
    }
    json_object_object_add(o, "recipients", rcpts);
    json_object_object_add(o, "done_recipients", done);
    json_object_object_add(o, "next_retry", m->queue == QT_Q_DEFERRED
                                                ? json_object_new_int64(m->mtime) : NULL);
    json_object_object_add(o, "subject", str_or_null(qt_store_str(s, m->subject)));
    json_object_object_add(o, "from", str_or_null(qt_store_str(s, m->from)));
    for (a = qt_store_next_attr(s, m, NULL); a; a = qt_store_next_attr(s, m, a)) {
        const char *eq = strchr(a, '=');
        char name[128];

        if (!eq || (size_t)(eq - a) >= sizeof(name))
            continue;
        memcpy(name, a, (size_t)(eq - a));
        name[eq - a] = 0;
        json_object_object_add(attrs, name, json_object_new_string(eq + 1));
    }
    if (m->create_time) {
        char ct[32];

        snprintf(ct, sizeof(ct), "%lld", (long long)m->create_time);
        json_object_object_add(attrs, "create_time", json_object_new_string(ct));
    }
    for (k = 0; k < QT_ATTR_APART; k++)
        if (m->apart[k])
            json_object_object_add(attrs, qt_attr_apart_names[k],
                                   json_object_new_string(qt_store_str(s, m->apart[k])));
    json_object_object_add(o, "attributes", attrs);
    json_object_object_add(o, "content_size", json_object_new_int64(m->content_size));
    json_object_object_add(o, "data_offset", json_object_new_int64(m->data_offset));
    if (m->flags & QT_MSG_UNREADABLE)
        json_object_object_add(o, "unreadable",
                               json_object_new_string(qt_store_str(s, m->error)));
    return o;
}

static void format_age(char *buf, size_t size, int64_t seconds)
{
    if (seconds < 0)
        seconds = 0;
    if (seconds < 3600)
        snprintf(buf, size, "%lldm", (long long)(seconds / 60));
    else if (seconds < 86400 * 2)
        snprintf(buf, size, "%lldh", (long long)(seconds / 3600));
    else
        snprintf(buf, size, "%lldd", (long long)(seconds / 86400));
}

static void print_text(const struct qt_store *s, const struct qt_msg *m, time_t now)
{
    static const char marker[QT_Q_COUNT] = {[QT_Q_ACTIVE] = '*', [QT_Q_HOLD] = '!'};
    const char *first = NULL;
    uint32_t i, pending = 0;
    char age[32], id[80];

    for (i = 0; i < m->nrcpts; i++)
        if (m->rcpts[i].state == QT_RCPT_PENDING && pending++ == 0)
            first = qt_store_str(s, m->rcpts[i].address);
    snprintf(id, sizeof(id), "%.70s%c", qt_store_str(s, m->id),
             (m->flags & QT_MSG_FORCED_EXPIRE) ? '#' : marker[m->queue] ? marker[m->queue] : ' ');
    format_age(age, sizeof(age), (int64_t)now - m->arrival);
    printf("%-18s %-8s %5s %9lld  %s -> %s", id, qt_queue_name(m->queue), age,
           (long long)m->msg_size, qt_store_str(s, m->sender), first ? first : "(none)");
    if (pending > 1)
        printf(" (+%u)", pending - 1);
    if (m->subject)
        printf("  \"%s\"", qt_store_str(s, m->subject));
    if (m->reason)
        printf("  [%s]", qt_store_str(s, m->reason));
    if (m->flags & QT_MSG_UNREADABLE)
        printf("  UNREADABLE: %s", qt_store_str(s, m->error));
    putchar('\n');
}

static int compare_msgs(const void *a, const void *b, void *ctx)
{
    const struct qt_store *s = ctx;
    const struct qt_msg *x = &s->msgs[*(const size_t *)a], *y = &s->msgs[*(const size_t *)b];

    if (x->queue != y->queue)
        return x->queue < y->queue ? -1 : 1;
    if (x->arrival != y->arrival)
        return x->arrival < y->arrival ? -1 : 1;
    return strcmp(qt_store_str(s, x->id), qt_store_str(s, y->id));
}

int cli_list(int argc, char **argv, struct cli_common *common)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"queue", required_argument, NULL, 'q'},
        {"config", required_argument, NULL, 'c'},
        {"backend", required_argument, NULL, 'b'},
        {"stats", no_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct cli_queue cq;
    bool json = false, have_queue = false, stats = false, ok;
    enum qt_queue only = QT_Q_DEFERRED;
    size_t *order, i;
    time_t now = time(NULL);
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "jq:c:b:sh", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            stats = true;
            break;
        case 'j':
            json = true;
            break;
        case 'q':
            if (!qt_queue_from_name(optarg, &only)) {
                fprintf(stderr, "qtriage: unknown queue \"%s\" (maildrop, incoming, active, "
                        "deferred, hold, corrupt)\n", optarg);
                return 2;
            }
            have_queue = true;
            break;
        case 'c':
            common->config_dir = optarg;
            break;
        case 'b':
            common->backend = optarg;
            break;
        case 'h':
            cli_usage(stdout);
            return 0;
        default:
            cli_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "qtriage: list: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    if (!cli_open_queue(&cq, common, false))
        return 3;
    if (cq.backend->read_only)
        fprintf(stderr, "qtriage: %s\n", cq.backend->read_only_reason);
    ok = cli_load_queue(&cq);
    order = xcalloc(cq.store.n ? cq.store.n : 1, sizeof(*order));
    for (i = 0; i < cq.store.n; i++)
        order[i] = i;
    qsort_r(order, cq.store.n, sizeof(*order), compare_msgs, &cq.store);
    for (i = 0; i < cq.store.n; i++) {
        const struct qt_msg *m = &cq.store.msgs[order[i]];

        if (have_queue && m->queue != only)
            continue;
        if (ferror(stdout))
            break;              /* the reader went away (| head) */
        if (json) {
            struct json_object *o = message_json(&cq.store, m);

            fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                        JSON_C_TO_STRING_NOSLASHESCAPE),
                  stdout);
            putchar('\n');
            json_object_put(o);
        } else {
            print_text(&cq.store, m, now);
        }
    }
    free(order);
    if (stats) {
        size_t bytes = qt_store_memory(&cq.store);

        size_t rcpts = 0;

        for (i = 0; i < cq.store.n; i++)
            rcpts += cq.store.msgs[i].nrcpts;
        fprintf(stderr, "qtriage: %zu messages, store %zu bytes (%zu per message): "
                "table %zu, index %zu, %zu recipients %zu, %zu distinct strings %zu + "
                "their index %zu; backend %s\n", cq.store.n, bytes,
                cq.store.n ? bytes / cq.store.n : 0, cq.store.cap * sizeof(struct qt_msg),
                cq.store.index_slots * sizeof(uint32_t), rcpts,
                rcpts * sizeof(struct qt_rcpt), cq.store.pool.count, cq.store.pool.len,
                cq.store.pool.nslots * 8, cq.backend->ops->name);
    }
    cli_close_queue(&cq);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (errno == EPIPE)
            return 0;
        perror("qtriage: write");
        return 3;
    }
    return ok ? 0 : 1;
}
