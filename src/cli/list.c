/* qtriage list: one line or one JSON object per message. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "open.h"
#include "qtriage/fields.h"
#include "qtriage/filter.h"
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
    size_t len = strlen(s), i = 0, run = 0, n;

    qt_buf_putc(out, '"');
    while (i < len) {
        unsigned char c = p[i];
        enum qt_text_unit u;

        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            i++;
            continue;           /* part of a run copied in one go */
        }
        qt_buf_append(out, p + run, i - run);
        if (c == '"' || c == '\\') {
            qt_buf_putc(out, '\\');
            qt_buf_putc(out, (char)c);
            i++;
        } else if ((u = qt_text_next(p + i, len - i, &n)) == QT_TEXT_KEEP) {
            qt_buf_append(out, p + i, n);
            i += n;
        } else {
            qt_buf_append(out, u == QT_TEXT_BLANK ? " " : "\\ufffd", u == QT_TEXT_BLANK ? 1 : 6);
            i += n;
        }
        run = i;
    }
    qt_buf_append(out, p + run, i - run);
    qt_buf_putc(out, '"');
}

static void json_key(struct qt_buf *out, const char *key, bool *first)
{
    if (!*first)
        qt_buf_putc(out, ',');
    *first = false;
    cli_json_string(out, key);
    qt_buf_putc(out, ':');
}

static void json_key_str(struct qt_buf *out, const char *key, const char *value, bool *first)
{
    json_key(out, key, first);
    if (value)
        cli_json_string(out, value);
    else
        qt_buf_append(out, "null", 4);
}

static void json_key_int(struct qt_buf *out, const char *key, int64_t value, bool *first)
{
    json_key(out, key, first);
    qt_buf_printf(out, "%lld", (long long)value);
}

static void json_key_bool(struct qt_buf *out, const char *key, bool value, bool *first)
{
    json_key(out, key, first);
    qt_buf_printf(out, "%s", value ? "true" : "false");
}

static void print_json(struct qt_buf *out, const struct qt_store *s, const struct qt_msg *m)
{
    bool first = true, inner;
    const char *a;
    uint32_t i;
    int k;

    qt_buf_putc(out, '{');
    json_key_str(out, qt_fields[QT_FIELD_ID].json, qt_store_str(s, m->id), &first);
    json_key_str(out, qt_fields[QT_FIELD_QUEUE].json, qt_queue_name(m->queue), &first);
    json_key_int(out, qt_fields[QT_FIELD_AGE].json, m->arrival, &first);
    if (m->create_time)
        json_key_int(out, "create_time", m->create_time, &first);
    else
        json_key_str(out, "create_time", NULL, &first);
    json_key_int(out, qt_fields[QT_FIELD_SIZE].json, m->msg_size, &first);
    json_key_int(out, "file_size", m->file_size, &first);
    json_key_bool(out, "forced_expire", m->flags & QT_MSG_FORCED_EXPIRE, &first);
    json_key_str(out, qt_fields[QT_FIELD_SENDER].json, qt_store_str(s, m->sender), &first);
    json_key_bool(out, "null_sender", m->flags & QT_MSG_NULL_SENDER, &first);
    json_key(out, qt_fields[QT_FIELD_RCPT].json, &first);
    qt_buf_putc(out, '[');
    for (i = 0, inner = true; i < m->nrcpts; i++) {
        const struct qt_rcpt *r = &m->rcpts[i];
        const char *addr = qt_store_str(s, r->address);
        bool rfirst = true;

        if (r->state != QT_RCPT_PENDING)
            continue;
        if (!inner)
            qt_buf_putc(out, ',');
        inner = false;
        qt_buf_putc(out, '{');
        json_key_str(out, "address", addr, &rfirst);
        json_key_str(out, "orig_address", r->orig ? qt_store_str(s, r->orig) : addr, &rfirst);
        if (r->reason)
            json_key_str(out, r->bounced ? "bounce_reason" : "delay_reason",
                         qt_store_str(s, r->reason), &rfirst);
        if (r->status)
            json_key_str(out, "dsn_status", qt_store_str(s, r->status), &rfirst);
        qt_buf_putc(out, '}');
    }
    qt_buf_putc(out, ']');
    json_key(out, "done_recipients", &first);
    qt_buf_putc(out, '[');
    for (i = 0, inner = true; i < m->nrcpts; i++) {
        if (m->rcpts[i].state == QT_RCPT_PENDING)
            continue;
        if (!inner)
            qt_buf_putc(out, ',');
        inner = false;
        cli_json_string(out, qt_store_str(s, m->rcpts[i].address));
    }
    qt_buf_putc(out, ']');
    if (m->queue == QT_Q_DEFERRED)
        json_key_int(out, qt_fields[QT_FIELD_RETRY].json, m->mtime, &first);
    else
        json_key_str(out, qt_fields[QT_FIELD_RETRY].json, NULL, &first);
    json_key_str(out, qt_fields[QT_FIELD_SUBJECT].json, qt_store_str(s, m->subject), &first);
    json_key_str(out, qt_fields[QT_FIELD_FROM].json, qt_store_str(s, m->from), &first);
    json_key(out, "attributes", &first);
    qt_buf_putc(out, '{');
    inner = true;
    for (a = qt_store_next_attr(s, m, NULL); a; a = qt_store_next_attr(s, m, a)) {
        const char *eq = strchr(a, '=');
        char name[128];

        if (!eq || (size_t)(eq - a) >= sizeof(name))
            continue;
        memcpy(name, a, (size_t)(eq - a));
        name[eq - a] = 0;
        json_key_str(out, name, eq + 1, &inner);
    }
    if (m->create_time) {
        char ct[32];

        snprintf(ct, sizeof(ct), "%lld", (long long)m->create_time);
        json_key_str(out, "create_time", ct, &inner);
    }
    for (k = 0; k < QT_ATTR_NFIELDS; k++)
        if (m->attr_fields[k])
            json_key_str(out, qt_attr_field_names[k], qt_store_str(s, m->attr_fields[k]),
                         &inner);
    qt_buf_putc(out, '}');
    json_key_int(out, "content_size", m->content_size, &first);
    json_key_int(out, "data_offset", m->data_offset, &first);
    if (m->flags & QT_MSG_UNREADABLE)
        json_key_str(out, "unreadable", qt_store_str(s, m->error), &first);
    qt_buf_append(out, "}\n", 2);
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
        if (m->rcpts[i].state == QT_RCPT_PENDING && pending++ == 0)
            first = qt_store_str(s, m->rcpts[i].address);
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
        qt_buf_append(out, "  [", 3);
        qt_text_sanitize_str(out, qt_store_str(s, m->reason));
        qt_buf_putc(out, ']');
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

/* One message as the scan reads it: printed at once, in scan order (queue
 * by queue, as postqueue -j), through the same store-based code as the
 * rest of qtriage so the filter and the fields mean the same. */
static void list_one(void *ctx, const struct qt_msg_data *d)
{
    struct list_ctx *lc = ctx;
    const struct qt_msg *m;
    long i;

    if (lc->have_queue && d->queue != lc->only) {
        if (lc->keep)
            qt_store_upsert(lc->store, d);
        return;
    }
    qt_store_upsert(lc->store, d);
    i = qt_store_find(lc->store, d->id);
    if (i < 0 || ferror(stdout))        /* ferror: the reader went away (| head) */
        goto done;
    m = &lc->store->msgs[i];
    if (lc->filter && !qt_filter_match(lc->filter, lc->store, m, (int64_t)lc->now))
        goto done;
    qt_buf_reset(&lc->line);
    if (lc->json)
        print_json(&lc->line, lc->store, m);
    else if (lc->format)
        print_format(&lc->line, lc->format, lc->store, m, lc->now);
    else
        print_text(&lc->line, lc->store, m, lc->now);
    cli_write(lc->line.data, lc->line.len);
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
    ok = qt_backend_stream(cq.backend, list_one, print_error, &lc);
    /* Said after the listing worked; when it did not, the error says it. */
    if (ok && cq.backend->read_only)
        fprintf(stderr, "qtriage: %s\n", cq.backend->read_only_reason);
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
                cq.store.pool.nslots * sizeof(*cq.store.pool.slots), cq.backend->ops->name);
    }
    cli_close_queue(&cq);
    if ((status = cli_output_finish()) != 0)
        return status;
    return ok ? 0 : 1;
}
