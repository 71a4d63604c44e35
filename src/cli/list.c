/* qtriage list: one line or one JSON object per message. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "open.h"
#include "qtriage/fleet.h"
#include "qtriage/fields.h"
#include "qtriage/filter.h"
#include "qtriage/scanner.h"
#include "qtriage/text.h"
#include "qtriage/view.h"

/* JSON is written straight to stdout: building a json-c object per message
 * cost a third of a 100k-message listing.  A string holds the same text as
 * every other output (qt_text_next decides, as for the terminal): JSON is
 * read by people too, through `jq -r` to a terminal, so a control or bidi
 * override must not come out of the decoder either.  Markers are written as
 * the escape \ufffd, so the output stays ASCII-safe and always valid JSON. */
void cli_json_string(struct qt_buf *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), i = 0, n;
    char *o;

    /* The most a byte can become is the 6 of \ufffd: room for that is made
     * once, and the string is written in place, with no call per piece. */
    qt_buf_reserve(out, 6 * len + 2);
    o = out->data + out->len;
    *o++ = '"';
    while (i < len) {
        size_t run = i;
        enum qt_text_unit u;
        unsigned char c;

        while (i < len && (c = p[i]) >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            i++;
        memcpy(o, p + run, i - run);
        o += i - run;
        if (i == len)
            break;
        c = p[i];
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
            i++;
        } else if ((u = qt_text_next(p + i, len - i, &n)) == QT_TEXT_KEEP) {
            memcpy(o, p + i, n);
            o += n;
            i += n;
        } else if (u == QT_TEXT_BLANK) {
            *o++ = ' ';
            i += n;
        } else {
            memcpy(o, "\\ufffd", 6);
            o += 6;
            i += n;
        }
    }
    *o++ = '"';
    *o = 0;
    out->len = (size_t)(o - out->data);
}

/* Text that needs no escaping (keys, numbers, punctuation). */
static void put(struct qt_buf *out, const char *text, size_t len)
{
    qt_buf_reserve(out, len);
    memcpy(out->data + out->len, text, len);
    out->len += len;
    out->data[out->len] = 0;
}

#define PUT(out, lit) put(out, lit, sizeof(lit) - 1)

/* A key of our own (the registry's JSON names, fixed words: plain ASCII,
 * nothing to escape) goes out as it is; a name taken from the queue file
 * goes through cli_json_string (json_foreign_key_str). */
static void json_key(struct qt_buf *out, const char *key, bool *first)
{
    size_t len = strlen(key);
    char *o;

    qt_buf_reserve(out, len + 4);
    o = out->data + out->len;
    if (!*first)
        *o++ = ',';
    *first = false;
    *o++ = '"';
    memcpy(o, key, len);
    o += len;
    *o++ = '"';
    *o++ = ':';
    *o = 0;
    out->len = (size_t)(o - out->data);
}

static void json_key_str(struct qt_buf *out, const char *key, const char *value, bool *first)
{
    json_key(out, key, first);
    if (value)
        cli_json_string(out, value);
    else
        PUT(out, "null");
}

/* A key the queue file named (an attribute's name is the sender's text):
 * escaped as any value is. */
static void json_foreign_key_str(struct qt_buf *out, const char *key, const char *value,
                                 bool *first)
{
    if (!*first)
        PUT(out, ",");
    *first = false;
    cli_json_string(out, key);
    PUT(out, ":");
    cli_json_string(out, value);
}

static void json_int(struct qt_buf *out, int64_t value)
{
    char digits[24], *d = digits + sizeof(digits);
    uint64_t v = value < 0 ? -(uint64_t)value : (uint64_t)value;

    do
        *--d = (char)('0' + v % 10);
    while (v /= 10);
    if (value < 0)
        *--d = '-';
    put(out, d, (size_t)(digits + sizeof(digits) - d));
}

static void json_key_int(struct qt_buf *out, const char *key, int64_t value, bool *first)
{
    json_key(out, key, first);
    json_int(out, value);
}

static void json_key_bool(struct qt_buf *out, const char *key, bool value, bool *first)
{
    json_key(out, key, first);
    if (value)
        PUT(out, "true");
    else
        PUT(out, "false");
}

/* The store keeps numbers in 32 bits; the listing says what every other
 * view of the message says. */
static int64_t clamp_u32(int64_t v)
{
    return v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : v;
}

/* One message as the scan delivered it: no interning into a store first
 * (that was a seventh of a listing's CPU), the same text as the store's
 * copy gives, since the store keeps every string as it came. */
static void print_json(struct qt_buf *out, const struct qt_msg_data *m)
{
    bool first = true, inner;
    const char *a;
    size_t i;
    int k;

    const char *id = m->id, *queue_id;
    char host[QT_FLEET_HOST_MAX + 1];

    PUT(out, "{");
    /* A fleet's message: its host, then the queue ID as the host's Postfix
     * knows it (fleet.h: store IDs are "HOST:QUEUEID"). */
    if (qt_fleet_split_id(id, host, sizeof(host), &queue_id)) {
        json_key_str(out, "host", host, &first);
        id = queue_id;
    }
    json_key_str(out, qt_fields[QT_FIELD_ID].json, id, &first);
    json_key_str(out, qt_fields[QT_FIELD_QUEUE].json, qt_queue_name(m->queue), &first);
    json_key_int(out, qt_fields[QT_FIELD_AGE].json, clamp_u32(m->arrival), &first);
    if (clamp_u32(m->create_time))
        json_key_int(out, "create_time", clamp_u32(m->create_time), &first);
    else
        json_key_str(out, "create_time", NULL, &first);
    json_key_int(out, qt_fields[QT_FIELD_SIZE].json, clamp_u32(m->msg_size), &first);
    json_key_int(out, "file_size", clamp_u32(m->file_size), &first);
    json_key_bool(out, "forced_expire", m->forced_expire, &first);
    json_key_str(out, qt_fields[QT_FIELD_SENDER].json, m->sender, &first);
    json_key_bool(out, "null_sender", m->null_sender, &first);
    json_key(out, qt_fields[QT_FIELD_RCPT].json, &first);
    PUT(out, "[");
    for (i = 0, inner = true; i < m->nrcpts; i++) {
        const struct qt_rcpt_data *r = &m->rcpts[i];
        bool rfirst = true;

        if (r->state != QT_RCPT_PENDING)
            continue;
        if (!inner)
            PUT(out, ",");
        inner = false;
        PUT(out, "{");
        json_key_str(out, "address", r->address, &rfirst);
        json_key_str(out, "orig_address", r->orig ? r->orig : r->address, &rfirst);
        if (r->reason)
            json_key_str(out, r->bounced ? "bounce_reason" : "delay_reason", r->reason,
                         &rfirst);
        if (r->status)
            json_key_str(out, "dsn_status", r->status, &rfirst);
        PUT(out, "}");
    }
    PUT(out, "]");
    json_key(out, "done_recipients", &first);
    PUT(out, "[");
    for (i = 0, inner = true; i < m->nrcpts; i++) {
        if (m->rcpts[i].state == QT_RCPT_PENDING)
            continue;
        if (!inner)
            PUT(out, ",");
        inner = false;
        cli_json_string(out, m->rcpts[i].address);
    }
    PUT(out, "]");
    if (m->queue == QT_Q_DEFERRED)
        json_key_int(out, qt_fields[QT_FIELD_RETRY].json, clamp_u32(m->mtime), &first);
    else
        json_key_str(out, qt_fields[QT_FIELD_RETRY].json, NULL, &first);
    json_key_str(out, qt_fields[QT_FIELD_SUBJECT].json, m->subject, &first);
    json_key_str(out, qt_fields[QT_FIELD_FROM].json, m->from, &first);
    json_key(out, "attributes", &first);
    PUT(out, "{");
    inner = true;
    for (a = m->attrs; a && *a; a += strlen(a) + 1) {
        const char *eq = strchr(a, '=');
        char name[128];

        if (!eq || (size_t)(eq - a) >= sizeof(name))
            continue;
        memcpy(name, a, (size_t)(eq - a));
        name[eq - a] = 0;
        json_foreign_key_str(out, name, eq + 1, &inner);
    }
    if (clamp_u32(m->create_time)) {
        char ct[32];

        snprintf(ct, sizeof(ct), "%lld", (long long)clamp_u32(m->create_time));
        json_key_str(out, "create_time", ct, &inner);
    }
    for (k = 0; k < QT_ATTR_NFIELDS; k++)
        if (m->attr_fields[k])
            json_key_str(out, qt_attr_field_names[k], m->attr_fields[k], &inner);
    PUT(out, "}");
    json_key_int(out, "content_size", clamp_u32(m->content_size), &first);
    json_key_int(out, "data_offset", clamp_u32(m->data_offset), &first);
    if (m->error)
        json_key_str(out, "unreadable", m->error, &first);
    PUT(out, "}\n");
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

/* The default line.  Every piece taken from the message goes through the
 * sanitiser: addresses and delay reasons are what the sender or a remote
 * server wrote (a 4xx reply is stored in the defer log as it came). */
static void print_text(struct qt_buf *out, const struct qt_store *s, const struct qt_msg *m,
                       time_t now)
{
    static const char marker[QT_Q_COUNT] = {[QT_Q_ACTIVE] = '*', [QT_Q_HOLD] = '!'};
    const char *first = NULL;
    uint32_t i, pending = 0;
    char age[32];
    size_t id_start;

    for (i = 0; i < m->nrcpts; i++)
        if (qt_store_rcpts(s, m)[i].state == QT_RCPT_PENDING && pending++ == 0)
            first = qt_store_str(s, qt_store_rcpts(s, m)[i].address);
    id_start = out->len;
    qt_text_sanitize(out, qt_store_str(s, m->id), strnlen(qt_store_str(s, m->id), 70));
    qt_buf_putc(out, (m->flags & QT_MSG_FORCED_EXPIRE) ? '#'
                     : marker[m->queue] ? marker[m->queue] : ' ');
    if (out->len - id_start < 18)
        qt_buf_printf(out, "%*s", (int)(18 - (out->len - id_start)), "");
    format_age(age, sizeof(age), (int64_t)now - m->arrival);
    qt_buf_printf(out, " %-8s %5s %9lld  ", qt_queue_name(m->queue), age,
                  (long long)m->msg_size);
    qt_text_sanitize_str(out, qt_store_str(s, m->sender));
    qt_buf_append(out, " -> ", 4);
    qt_text_sanitize_str(out, first ? first : "(none)");
    if (pending > 1)
        qt_buf_printf(out, " (+%u)", pending - 1);
    if (m->subject) {
        qt_buf_append(out, "  \"", 3);
        qt_text_sanitize_str(out, qt_store_str(s, m->subject));
        qt_buf_putc(out, '"');
    }
    if (m->reason) {
        struct qt_buf tmp = {0};
        size_t len;
        const char *reason = qt_store_msg_reason(s, m, &tmp, &len);

        qt_buf_append(out, "  [", 3);
        qt_text_sanitize_str(out, reason);
        qt_buf_putc(out, ']');
        qt_buf_free(&tmp);
    }
    if (m->flags & QT_MSG_UNREADABLE) {
        qt_buf_append(out, "  UNREADABLE: ", 14);
        qt_text_sanitize_str(out, qt_store_str(s, m->error));
    }
    qt_buf_putc(out, '\n');
}

/* --format: the fields a line may hold (the registry's letters).
 * Everything taken from a message is sanitised (no control characters,
 * valid UTF-8), so a hostile address or subject cannot drive the terminal
 * or split a line. */
static bool format_valid(const char *fmt)
{
    for (const char *p = fmt; *p; p++)
        if (*p == '%' && (!*++p || (*p != '%' && !qt_field_of_format(*p)))) {
            struct qt_buf known = {0};

            qt_field_format_help(&known);
            fprintf(stderr, "qtriage: list: --format: unknown field \"%%%.1s\" (known: %s)\n",
                    p, known.data);
            qt_buf_free(&known);
            return false;
        }
    return true;
}

static void format_field(struct qt_buf *out, const struct qt_store *s, const struct qt_msg *m,
                         char field, time_t now)
{
    const struct qt_field *f = qt_field_of_format(field);

    if (f)
        qt_field_format(f, s, m, (int64_t)now, out);
    else
        qt_buf_putc(out, '%');
}

/* One line per message; \t and \n in FMT stand for a tab and a line break. */
static void print_format(struct qt_buf *out, const char *fmt, const struct qt_store *s,
                         const struct qt_msg *m, time_t now)
{
    for (const char *p = fmt; *p; p++) {
        if (*p == '%')
            format_field(out, s, m, *++p, now);
        else if (*p == '\\' && (p[1] == 't' || p[1] == 'n' || p[1] == '\\'))
            qt_buf_putc(out, *++p == 't' ? '\t' : *p == 'n' ? '\n' : '\\');
        else
            qt_buf_putc(out, *p);
    }
    qt_buf_putc(out, '\n');
}

/* A figure from /proc/self/status in KB, or -1. */
static long rss_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, field, strlen(field)) == 0)
            kb = atol(line + strlen(field));
    fclose(f);
    return kb;
}

struct list_ctx {
    bool json, have_queue, keep;
    enum qt_queue only;
    const char *format;
    struct qt_filter *filter;
    time_t now;
    struct qt_buf line;
    /* With --stats every message stays (that is what it measures); else
     * each is interned, printed and dropped, and the store (its strings)
     * starts afresh now and then: memory does not grow with the queue. */
    struct qt_store *store;
    const struct qt_backend *backend;
    /* Plain --json: each parsing thread formats into its own buffer and
     * writes whole pieces under out_lock (list_json_slot). */
    struct qt_buf slot_line[QT_SCANNER_MAX_WORKERS];
    pthread_mutex_t out_lock;
};

/* A read-only listing that fails has two reasons: why the spool could not
 * be read, and why postqueue -j failed.  One line says both. */
static void print_error(void *ctx, const char *msg)
{
    const struct qt_backend *b = ((const struct list_ctx *)ctx)->backend;

    if (b->read_only && b->read_only_why[0])
        fprintf(stderr, "qtriage: cannot list the queue: %s, and postqueue -j failed: %s\n",
                b->read_only_why, msg);
    else
        fprintf(stderr, "qtriage: %s\n", msg);
}

/* Lines are collected and written in pieces of this size: one write() per
 * ~60 messages instead of one per 4 KB of stdio buffer, and no copy into
 * stdio's buffer on the way (fwrite() passes a large piece straight on). */
#define OUTPUT_PIECE (128 << 10)

static void list_flush(struct list_ctx *lc)
{
    if (lc->line.len)
        cli_write(lc->line.data, lc->line.len);
    qt_buf_reset(&lc->line);
}

static void slot_flush(struct list_ctx *lc, struct qt_buf *line)
{
    pthread_mutex_lock(&lc->out_lock);
    if (line->len)
        cli_write(line->data, line->len);
    pthread_mutex_unlock(&lc->out_lock);
    qt_buf_reset(line);
}

/* Plain --json (no filter, no --stats): called on the thread that parsed
 * the message, formatted there, so every core formats and no batch goes
 * through one writer.  Lines of different threads interleave in pieces of
 * whole lines; within a queue the order was the workers' anyway. */
static void list_json_slot(void *ctx, int slot, const struct qt_msg_data *d)
{
    struct list_ctx *lc = ctx;
    struct qt_buf *line = &lc->slot_line[slot];

    if ((lc->have_queue && d->queue != lc->only) || ferror(stdout))
        return;
    print_json(line, d);
    if (line->len >= OUTPUT_PIECE)
        slot_flush(lc, line);
}

/* One message as the scan reads it: printed at once, in scan order (queue
 * by queue, as postqueue -j).  The filter and the text formats go through
 * the store-based code of the rest of qtriage, so the fields mean the same;
 * JSON holds each string as the store would, and is written straight from
 * what the scan delivered when there is nothing to match. */
static void list_one(void *ctx, const struct qt_msg_data *d)
{
    struct list_ctx *lc = ctx;
    const struct qt_msg *m = NULL;
    long i;

    if (lc->have_queue && d->queue != lc->only) {
        if (lc->keep)
            qt_store_upsert(lc->store, d);
        return;
    }
    if (ferror(stdout))         /* the reader went away (| head) */
        return;
    if (lc->json && !lc->filter && !lc->keep) {
        print_json(&lc->line, d);
        if (lc->line.len >= OUTPUT_PIECE)
            list_flush(lc);
        return;
    }
    qt_store_upsert(lc->store, d);
    i = qt_store_find(lc->store, d->id);
    if (i < 0)
        goto done;
    m = &lc->store->msgs[i];
    if (lc->filter && !qt_filter_match(lc->filter, lc->store, m, (int64_t)lc->now))
        goto done;
    if (lc->json)
        print_json(&lc->line, d);
    else if (lc->format)
        print_format(&lc->line, lc->format, lc->store, m, lc->now);
    else
        print_text(&lc->line, lc->store, m, lc->now);
    if (lc->line.len >= OUTPUT_PIECE)
        list_flush(lc);
done:
    if (!lc->keep) {
        qt_store_remove(lc->store, d->id);
        if (lc->store->pool.len > ((size_t)8 << 20)) {
            qt_store_free(lc->store);
            qt_store_init(lc->store);
        }
    }
}

int cli_list(const struct cli_call *call)
{
    const struct cli_list_args *a = call->args;
    struct cli_common *common = call->common;
    struct cli_queue cq;
    bool json = a->json, have_queue = common->have_queue, stats = a->stats, ok, bad;
    const char *format = a->ids ? "%i" : a->format;
    struct qt_filter *filter;
    enum qt_queue only = common->queue;
    struct list_ctx lc = {0};
    size_t i;
    time_t now = time(NULL);
    int status;

    if (call->argc > 1) {
        fprintf(stderr, "qtriage: list: unexpected argument \"%s\"\n", call->argv[1]);
        return 2;
    }
    if (format && !format_valid(format))
        return 2;
    filter = cli_filter_compile(common->filter, NULL, &bad);
    if (bad)
        return 2;
    if (!cli_open_queue(&cq, common, false)) {
        qt_filter_free(filter);
        return 3;
    }
    cli_filter_headers(filter, &cq);
    lc.json = json;
    lc.have_queue = have_queue;
    lc.keep = stats;
    lc.only = only;
    lc.format = format;
    lc.filter = filter;
    lc.now = now;
    lc.store = &cq.store;
    lc.backend = cq.backend;
    if (json && !filter && !stats) {
        pthread_mutex_init(&lc.out_lock, NULL);
        ok = qt_backend_stream_parallel(cq.backend, list_json_slot, print_error, &lc);
        for (i = 0; i < QT_SCANNER_MAX_WORKERS; i++) {
            slot_flush(&lc, &lc.slot_line[i]);
            qt_buf_free(&lc.slot_line[i]);
        }
        pthread_mutex_destroy(&lc.out_lock);
    } else {
        ok = qt_backend_stream(cq.backend, list_one, print_error, &lc);
    }
    list_flush(&lc);
    /* Said after the listing worked; when it did not, the error says it. */
    if (ok && cq.backend->read_only)
        fprintf(stderr, "qtriage: %s\n", cq.backend->read_only_reason);
    cli_fleet_report(&cq);
    qt_buf_free(&lc.line);
    if (filter && qt_filter_runtime_error(filter))
        fprintf(stderr, "qtriage: filter: %s\n", qt_filter_runtime_error(filter));
    qt_filter_free(filter);
    if (stats) {
        size_t bytes = qt_store_memory(&cq.store), rcpts = 0;
        long peak = rss_kb("VmHWM:"), now_kb;

        /* What stays once the scan's batches are gone is what a long-running
         * qtriage holds. */
        malloc_trim(0);
        now_kb = rss_kb("VmRSS:");
        fprintf(stderr, "qtriage: resident %ld KB after loading (%ld B per message), "
                "peak %ld KB\n", now_kb, cq.store.n ? now_kb * 1024 / (long)cq.store.n : 0,
                peak);

        for (i = 0; i < cq.store.n; i++)
            rcpts += cq.store.msgs[i].nrcpts;
        fprintf(stderr, "qtriage: %zu messages, store %zu bytes (%zu per message): "
                "table %zu, index %zu, %zu recipients %zu, %zu distinct strings %zu + "
                "their index %zu; backend %s\n", cq.store.n, bytes,
                cq.store.n ? bytes / cq.store.n : 0, cq.store.cap * sizeof(struct qt_msg),
                cq.store.index_slots * sizeof(uint32_t), rcpts,
                rcpts * sizeof(struct qt_rcpt), cq.store.pool.count, cq.store.pool.len,
                cq.store.pool.nslots * (sizeof(*cq.store.pool.slots) + 1), cq.backend->ops->name);
    }
    cli_close_queue(&cq);
    if ((status = cli_output_finish()) != 0)
        return status;
    return ok ? 0 : 1;
}
