#include "qtriage/view.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "qtriage/spool.h"
#include "qtriage/text.h"

const struct qt_col_info qt_col_info[QT_COL_COUNT] = {
    [QT_COL_ID] = {"id", "QUEUE ID", 12, 0, 8, false},
    [QT_COL_QUEUE] = {"queue", "QUEUE", 8, 0, 8, false},
    [QT_COL_AGE] = {"age", "AGE", 5, 0, 5, true},
    [QT_COL_RETRY] = {"retry", "RETRY", 5, 0, 5, true},
    [QT_COL_SIZE] = {"size", "SIZE", 5, 0, 5, true},
    [QT_COL_SENDER] = {"sender", "SENDER", 0, 3, 10, false},
    [QT_COL_RCPT] = {"rcpt", "RECIPIENT", 0, 3, 10, false},
    [QT_COL_SUBJECT] = {"subject", "SUBJECT", 0, 4, 10, false},
    [QT_COL_REASON] = {"reason", "DELAY REASON", 0, 3, 10, false},
    [QT_COL_CLIENT] = {"client", "CLIENT", 15, 0, 7, false},
    [QT_COL_SASL] = {"sasl", "SASL USER", 0, 2, 8, false},
    [QT_COL_HELO] = {"helo", "HELO", 0, 2, 8, false},
};

bool qt_col_from_name(const char *name, enum qt_col *col)
{
    int c;

    for (c = 0; c < QT_COL_COUNT; c++)
        if (strcasecmp(name, qt_col_info[c].name) == 0) {
            *col = (enum qt_col)c;
            return true;
        }
    /* The filter language's names for the same things. */
    if (strcasecmp(name, "recipient") == 0 || strcasecmp(name, "to") == 0)
        return *col = QT_COL_RCPT, true;
    if (strcasecmp(name, "sasl_username") == 0)
        return *col = QT_COL_SASL, true;
    if (strcasecmp(name, "from") == 0)
        return *col = QT_COL_SENDER, true;
    return false;
}

size_t qt_cols_parse(const char *spec, enum qt_col *cols, struct qt_error *err)
{
    size_t n = 0;
    const char *p = spec;

    while (*p) {
        char name[32];
        size_t len = strcspn(p, ", \t");
        enum qt_col c;
        size_t i;

        if (len == 0) {
            p++;
            continue;
        }
        if (len >= sizeof(name)) {
            qt_error_set(err, "unknown column \"%.*s\"", 31, p);
            return 0;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        p += len;
        if (!qt_col_from_name(name, &c)) {
            qt_error_set(err, "unknown column \"%s\" (columns: id queue age retry size sender "
                         "rcpt subject reason client sasl helo)", name);
            return 0;
        }
        for (i = 0; i < n; i++)
            if (cols[i] == c)
                break;
        if (i < n) {
            qt_error_set(err, "column \"%s\" is listed twice", name);
            return 0;
        }
        cols[n++] = c;
    }
    if (n == 0)
        qt_error_set(err, "no columns given");
    return n;
}

void qt_cols_format(const enum qt_col *cols, size_t n, struct qt_buf *out)
{
    size_t i;

    for (i = 0; i < n; i++)
        qt_buf_printf(out, "%s%s", i ? "," : "", qt_col_info[cols[i]].name);
}

void qt_view_init(struct qt_view *v)
{
    memset(v, 0, sizeof(*v));
    v->sort = QT_COL_AGE;
}

void qt_view_free(struct qt_view *v)
{
    free(v->rows);
    memset(v, 0, sizeof(*v));
}

struct sort_ctx {
    const struct qt_store *s;
    enum qt_col col;
    bool reverse;
};

static int cmp_u64(uint64_t a, uint64_t b)
{
    return a < b ? -1 : a > b;
}

/* Strings sort byte-wise with ASCII case folded; absent ones come last. */
static int cmp_str(const struct qt_store *s, qt_str a, qt_str b)
{
    if (!a || !b)
        return (a == 0) - (b == 0);
    return a == b ? 0 : strcasecmp(qt_store_str(s, a), qt_store_str(s, b));
}

static qt_str first_rcpt(const struct qt_msg *m)
{
    uint32_t i;

    for (i = 0; i < m->nrcpts; i++)
        if (m->rcpts[i].state == QT_RCPT_PENDING)
            return m->rcpts[i].address;
    return m->nrcpts ? m->rcpts[0].address : 0;
}

static int compare_msgs(const void *pa, const void *pb, void *arg)
{
    const struct sort_ctx *c = arg;
    const struct qt_msg *a = &c->s->msgs[*(const uint32_t *)pa];
    const struct qt_msg *b = &c->s->msgs[*(const uint32_t *)pb];
    int r = 0;

    switch (c->col) {
    case QT_COL_ID:
        break;
    case QT_COL_QUEUE:
        r = cmp_u64(a->queue, b->queue);
        break;
    case QT_COL_AGE:    /* oldest first */
        r = cmp_u64(a->arrival, b->arrival);
        break;
    case QT_COL_RETRY:
        r = cmp_u64(a->mtime, b->mtime);
        break;
    case QT_COL_SIZE:
        r = cmp_u64(a->msg_size, b->msg_size);
        break;
    case QT_COL_SENDER:
        r = cmp_str(c->s, a->sender, b->sender);
        break;
    case QT_COL_RCPT:
        r = cmp_str(c->s, first_rcpt(a), first_rcpt(b));
        break;
    case QT_COL_SUBJECT:
        r = cmp_str(c->s, a->subject, b->subject);
        break;
    case QT_COL_REASON:
        r = cmp_str(c->s, a->reason, b->reason);
        break;
    case QT_COL_CLIENT:
        r = cmp_str(c->s, a->attr_fields[QT_ATTR_CLIENT_ADDRESS],
                    b->attr_fields[QT_ATTR_CLIENT_ADDRESS]);
        break;
    case QT_COL_SASL:
        r = cmp_str(c->s, a->attr_fields[QT_ATTR_SASL_USERNAME],
                    b->attr_fields[QT_ATTR_SASL_USERNAME]);
        break;
    case QT_COL_HELO:
        r = cmp_str(c->s, a->attr_fields[QT_ATTR_HELO_NAME], b->attr_fields[QT_ATTR_HELO_NAME]);
        break;
    case QT_COL_COUNT:
        break;
    }
    if (r == 0)     /* a total order, so equal keys do not shuffle between rebuilds */
        r = strcmp(qt_store_str(c->s, a->id), qt_store_str(c->s, b->id));
    return c->reverse ? -r : r;
}

void qt_view_rebuild(struct qt_view *v, const struct qt_store *s, struct qt_filter *f,
                     int64_t now)
{
    struct sort_ctx ctx = {s, v->sort, v->reverse};
    size_t i;

    if (f && qt_filter_matches_all(f))
        f = NULL;
    if (v->cap < s->n) {
        v->cap = s->n;
        v->rows = xrealloc(v->rows, v->cap * sizeof(*v->rows));
    }
    v->n = 0;
    for (i = 0; i < s->n; i++)
        if (!f || qt_filter_match(f, s, &s->msgs[i], now))
            v->rows[v->n++] = (uint32_t)i;
    if (v->n > 1)   /* rows is still NULL for an empty store */
        qsort_r(v->rows, v->n, sizeof(*v->rows), compare_msgs, &ctx);
}

long qt_view_row_of(const struct qt_view *v, uint32_t msg)
{
    size_t i;

    for (i = 0; i < v->n; i++)
        if (v->rows[i] == msg)
            return (long)i;
    return -1;
}

void qt_format_duration(int64_t secs, char *buf, size_t size)
{
    static const struct {
        char unit;
        int64_t secs;
    } units[] = {{'w', 604800}, {'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
    size_t i;

    if (secs < 0)
        secs = 0;
    for (i = 0; i < 4; i++)
        if (secs >= units[i].secs) {
            int64_t big = secs / units[i].secs;
            int64_t small = secs % units[i].secs / units[i + 1].secs;

            /* Two units only while they fit the list's 5 columns: "9h59m",
             * then "10h". */
            if (big >= 10 || small == 0)
                snprintf(buf, size, "%" PRId64 "%c", big, units[i].unit);
            else
                snprintf(buf, size, "%" PRId64 "%c%" PRId64 "%c", big, units[i].unit, small,
                         units[i + 1].unit);
            return;
        }
    snprintf(buf, size, "%" PRId64 "s", secs);
}

void qt_format_size(uint64_t bytes, char *buf, size_t size)
{
    static const char units[] = "KMGT";
    double v = (double)bytes;
    int u = -1;

    if (bytes < 1024) {
        snprintf(buf, size, "%" PRIu64, bytes);
        return;
    }
    while (v >= 1024 && u < 3) {
        v /= 1024;
        u++;
    }
    /* Round as printed, so 1023.9K shows as "1.0M" and 9.99K as "10K"
     * (never "1024K" or "10.0K", which do not fit 4 columns). */
    if (v >= 1023.5 && u < 3) {
        v /= 1024;
        u++;
    }
    if (v < 9.95)
        snprintf(buf, size, "%.1f%c", v, units[u]);
    else
        snprintf(buf, size, "%.0f%c", v, units[u]);
}

static void put_str(const struct qt_store *s, qt_str ref, struct qt_buf *out)
{
    if (ref)
        qt_text_sanitize(out, qt_store_str(s, ref), qt_strpool_len(&s->pool, ref));
}

/* Delay reasons start with what a narrow column can least afford: a fixed
 * prefix and the host ("connect to mx.example[192.0.2.1]:25: Connection
 * refused", "host mx.example[192.0.2.1] said: 450 4.2.0 Greylisted").  The
 * list shows the answer first and the host after it. */
static void put_piece(struct qt_buf *out, const char *p, size_t len, bool sanitize)
{
    if (sanitize)
        qt_text_sanitize(out, p, len);
    else
        qt_buf_append(out, p, len);
}

void qt_reason_split(const char *r, size_t len, struct qt_reason_parts *parts)
{
    static const char suspended[] = "delivery temporarily suspended: ";
    const char *sep;
    size_t skip;

    if (len > sizeof(suspended) - 1 && strncmp(r, suspended, sizeof(suspended) - 1) == 0) {
        r += sizeof(suspended) - 1;
        len -= sizeof(suspended) - 1;
    }
    parts->answer = r;
    parts->answer_len = len;
    parts->host = NULL;
    parts->host_len = 0;
    if (len > 11 && strncmp(r, "connect to ", 11) == 0 && (sep = memmem(r, len, ": ", 2))) {
        skip = 11;
    } else if (len > 5 && strncmp(r, "host ", 5) == 0 && (sep = memmem(r, len, " said: ", 7))) {
        skip = 5;
    } else {
        return;
    }
    parts->host = r + skip;
    parts->host_len = (size_t)(sep - r) - skip;
    if (*sep == ' ')
        sep += 5;   /* the ": " of " said: " */
    parts->answer = sep + 2;
    parts->answer_len = len - (size_t)(sep + 2 - r);
}

void qt_reason_shorten(const char *r, size_t len, bool sanitize, struct qt_buf *out)
{
    struct qt_reason_parts parts;

    if (!r)
        return;
    qt_reason_split(r, len, &parts);
    put_piece(out, parts.answer, parts.answer_len, sanitize);
    if (!parts.host)
        return;
    qt_buf_append(out, " (", 2);
    put_piece(out, parts.host, parts.host_len, sanitize);
    qt_buf_putc(out, ')');
}

static void put_reason(const struct qt_store *s, qt_str ref, struct qt_buf *out)
{
    qt_reason_shorten(qt_store_str(s, ref), qt_strpool_len(&s->pool, ref), true, out);
}

void qt_view_cell(const struct qt_store *s, const struct qt_msg *m, enum qt_col col,
                  int64_t now, struct qt_buf *out)
{
    char tmp[64];

    switch (col) {
    case QT_COL_ID:
        put_str(s, m->id, out);
        if (m->queue == QT_Q_ACTIVE)
            qt_buf_putc(out, '*');
        else if (m->queue == QT_Q_HOLD)
            qt_buf_putc(out, '!');
        if (m->flags & QT_MSG_FORCED_EXPIRE)
            qt_buf_putc(out, '#');
        break;
    case QT_COL_QUEUE:
        qt_buf_printf(out, "%s", qt_queue_name((enum qt_queue)m->queue));
        if (m->flags & QT_MSG_UNREADABLE)
            qt_buf_printf(out, "?");
        break;
    case QT_COL_AGE:
        qt_format_duration(now - (int64_t)m->arrival, tmp, sizeof(tmp));
        qt_buf_printf(out, "%s", tmp);
        break;
    case QT_COL_RETRY:
        /* Only deferred mail waits for a retry; qmgr sets the file's mtime
         * to the time of the next attempt. */
        if (m->queue == QT_Q_DEFERRED && m->mtime) {    /* postqueue -j does not say */
            if ((int64_t)m->mtime <= now)
                qt_buf_printf(out, "due");
            else {
                qt_format_duration((int64_t)m->mtime - now, tmp, sizeof(tmp));
                qt_buf_printf(out, "%s", tmp);
            }
        }
        break;
    case QT_COL_SIZE:
        qt_format_size(m->msg_size, tmp, sizeof(tmp));
        qt_buf_printf(out, "%s", tmp);
        break;
    case QT_COL_SENDER:
        if (m->flags & QT_MSG_NULL_SENDER)
            qt_buf_printf(out, "MAILER-DAEMON");
        else
            put_str(s, m->sender, out);
        break;
    case QT_COL_RCPT:
        put_str(s, first_rcpt(m), out);
        if (m->npending > 1)
            qt_buf_printf(out, " +%" PRIu32, m->npending - 1);
        break;
    case QT_COL_SUBJECT:
        put_str(s, m->subject, out);
        break;
    case QT_COL_REASON:
        put_reason(s, m->reason, out);
        break;
    case QT_COL_CLIENT:
        put_str(s, m->attr_fields[QT_ATTR_CLIENT_ADDRESS], out);
        break;
    case QT_COL_SASL:
        put_str(s, m->attr_fields[QT_ATTR_SASL_USERNAME], out);
        break;
    case QT_COL_HELO:
        put_str(s, m->attr_fields[QT_ATTR_HELO_NAME], out);
        break;
    case QT_COL_COUNT:
        break;
    }
}
