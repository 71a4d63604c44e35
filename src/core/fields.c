/* The registry of message fields (see fields.h): one row per field.  The
 * functions here are the few renderings that are more than a string of
 * the store sanitised; a plain string field needs none. */
#include "qtriage/fields.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "qtriage/reason.h"
#include "qtriage/spool.h"
#include "qtriage/text.h"

qt_str qt_msg_first_rcpt(const struct qt_store *s, const struct qt_msg *m)
{
    const struct qt_rcpt *r = qt_store_rcpts(s, m);
    uint32_t i;

    for (i = 0; i < m->nrcpts; i++)
        if (r[i].state == QT_RCPT_PENDING)
            return r[i].address;
    return m->nrcpts ? r[0].address : 0;
}

static void put_str(const struct qt_store *s, qt_str ref, struct qt_buf *out)
{
    if (ref)
        qt_text_sanitize(out, qt_store_str(s, ref), qt_strpool_len(&s->pool, ref));
}

/* --format has always taken a string up to its first NUL. */
static void put_cstr(const struct qt_store *s, qt_str ref, struct qt_buf *out)
{
    const char *p = ref ? qt_store_str(s, ref) : NULL;

    if (p)
        qt_text_sanitize(out, p, strlen(p));
}

/* ---- cells ---- */

static void cell_id(const struct qt_store *s, const struct qt_msg *m, int64_t now,
                    struct qt_buf *out)
{
    (void)now;
    put_str(s, m->id, out);
    if (m->queue == QT_Q_ACTIVE)
        qt_buf_putc(out, '*');
    else if (m->queue == QT_Q_HOLD)
        qt_buf_putc(out, '!');
    if (m->flags & QT_MSG_FORCED_EXPIRE)
        qt_buf_putc(out, '#');
}

static void queue_name(const struct qt_store *s, const struct qt_msg *m, int64_t now,
                       struct qt_buf *out)
{
    (void)s, (void)now;
    qt_buf_printf(out, "%s", qt_queue_name((enum qt_queue)m->queue));
}

static void cell_queue(const struct qt_store *s, const struct qt_msg *m, int64_t now,
                       struct qt_buf *out)
{
    queue_name(s, m, now, out);
    if (m->flags & QT_MSG_UNREADABLE)
        qt_buf_printf(out, "?");
}

static void cell_age(const struct qt_store *s, const struct qt_msg *m, int64_t now,
                     struct qt_buf *out)
{
    char tmp[64];

    (void)s;
    qt_format_duration(now - (int64_t)m->arrival, tmp, sizeof(tmp));
    qt_buf_printf(out, "%s", tmp);
}

static void cell_retry(const struct qt_store *s, const struct qt_msg *m, int64_t now,
                       struct qt_buf *out)
{
    char tmp[64];

    (void)s;
    /* Only deferred mail waits for a retry; qmgr sets the file's mtime
     * to the time of the next attempt. */
    if (m->queue != QT_Q_DEFERRED || !m->mtime)     /* postqueue -j does not say */
        return;
    if ((int64_t)m->mtime <= now) {
        qt_buf_printf(out, "due");
    } else {
        qt_format_duration((int64_t)m->mtime - now, tmp, sizeof(tmp));
        qt_buf_printf(out, "%s", tmp);
    }
}

static void cell_size(const struct qt_store *s, const struct qt_msg *m, int64_t now,
                      struct qt_buf *out)
{
    char tmp[64];

    (void)s, (void)now;
    qt_format_size(m->msg_size, tmp, sizeof(tmp));
    qt_buf_printf(out, "%s", tmp);
}

static void bytes(const struct qt_store *s, const struct qt_msg *m, int64_t now,
                  struct qt_buf *out)
{
    (void)s, (void)now;
    qt_buf_printf(out, "%lu", (unsigned long)m->msg_size);
}

static void cell_sender(const struct qt_store *s, const struct qt_msg *m, int64_t now,
                        struct qt_buf *out)
{
    (void)now;
    if (m->flags & QT_MSG_NULL_SENDER)
        qt_buf_printf(out, "MAILER-DAEMON");
    else
        put_str(s, m->sender, out);
}

static void cell_rcpt(const struct qt_store *s, const struct qt_msg *m, int64_t now,
                      struct qt_buf *out)
{
    (void)now;
    put_str(s, qt_msg_first_rcpt(s, m), out);
    if (m->npending > 1)
        qt_buf_printf(out, " +%" PRIu32, m->npending - 1);
}

static void pending_rcpts(const struct qt_store *s, const struct qt_msg *m, int64_t now,
                          struct qt_buf *out)
{
    bool first = true;
    uint32_t i;

    (void)now;
    for (i = 0; i < m->nrcpts; i++) {
        if (qt_store_rcpts(s, m)[i].state != QT_RCPT_PENDING)
            continue;
        if (!first)
            qt_buf_append(out, ", ", 2);
        first = false;
        put_cstr(s, qt_store_rcpts(s, m)[i].address, out);
    }
}

static void cell_reason(const struct qt_store *s, const struct qt_msg *m, int64_t now,
                        struct qt_buf *out)
{
    struct qt_buf tmp = {0};
    size_t len;
    const char *reason = qt_store_msg_reason(s, m, &tmp, &len);

    (void)now;
    qt_reason_shorten(reason, len, true, out);
    qt_buf_free(&tmp);
}

static void first_reason(const struct qt_store *s, const struct qt_msg *m, int64_t now,
                         struct qt_buf *out)
{
    struct qt_buf tmp = {0};
    size_t len;
    const char *reason = qt_store_msg_reason(s, m, &tmp, &len);

    (void)now;
    /* --format has always taken a string up to its first NUL. */
    if (reason)
        qt_text_sanitize(out, reason, strlen(reason));
    qt_buf_free(&tmp);
}

/* ---- the registry ---- */

#define MSG_STR(member) QT_SRC_STR, (uint16_t)offsetof(struct qt_msg, member)
#define MSG_ATTR(attr) QT_SRC_STR, (uint16_t)offsetof(struct qt_msg, attr_fields[attr])
#define SORT_STR(member) QT_SORT_STR, (uint16_t)offsetof(struct qt_msg, member)
#define SORT_ATTR(attr) QT_SORT_STR, (uint16_t)offsetof(struct qt_msg, attr_fields[attr])

const struct qt_field qt_fields[QT_FIELD_COUNT] = {
    [QT_FIELD_ID] = {
        "id", "QUEUE ID", 12, 0, 8, false, {NULL}, NULL, QT_FIELD_FILTER | QT_FIELD_BARE,
        MSG_STR(id), QT_TYPE_TEXT, cell_id, QT_SORT_ID, 0,
        0, 'i', "id", NULL, "queue_id"},
    [QT_FIELD_QUEUE] = {
        "queue", "QUEUE", 8, 0, 8, false, {NULL}, NULL, QT_FIELD_FILTER,
        QT_SRC_QUEUE, 0, QT_TYPE_TEXT, cell_queue, QT_SORT_U8, offsetof(struct qt_msg, queue),
        0, 'q', "queue", queue_name, "queue_name"},
    [QT_FIELD_AGE] = {  /* sorted by arrival: oldest first */
        "age", "AGE", 5, 0, 5, true, {NULL}, NULL, QT_FIELD_FILTER,
        QT_SRC_AGE, 0, QT_TYPE_SECONDS, cell_age, QT_SORT_U32, offsetof(struct qt_msg, arrival),
        0, 'a', "age", cell_age, "arrival_time"},
    [QT_FIELD_RETRY] = {
        "retry", "RETRY", 5, 0, 5, true, {NULL}, NULL, 0,
        QT_SRC_NONE, 0, QT_TYPE_TEXT, cell_retry, QT_SORT_U32, offsetof(struct qt_msg, mtime),
        0, 0, NULL, NULL, "next_retry"},
    [QT_FIELD_SIZE] = {
        "size", "SIZE", 5, 0, 5, true, {NULL}, NULL, QT_FIELD_FILTER,
        QT_SRC_U32, offsetof(struct qt_msg, msg_size), QT_TYPE_BYTES, cell_size,
        QT_SORT_U32, offsetof(struct qt_msg, msg_size),
        0, 'z', "size", bytes, "message_size"},
    [QT_FIELD_SENDER] = {
        "sender", "SENDER", 0, 3, 10, false, {NULL}, "from",
        QT_FIELD_FILTER | QT_FIELD_BARE | QT_FIELD_NULL_SENDER,
        MSG_STR(sender), QT_TYPE_TEXT, cell_sender, SORT_STR(sender),
        QT_BY_SENDER + 1, 's', "sender", cell_sender, "sender"},
    [QT_FIELD_RCPT] = {
        "rcpt", "RECIPIENT", 0, 3, 10, false, {"recipient", "to", "address"}, NULL,
        QT_FIELD_FILTER | QT_FIELD_BARE | QT_FIELD_PER_RCPT,
        QT_SRC_RCPT_ADDRESS, 0, QT_TYPE_TEXT, cell_rcpt, QT_SORT_FIRST_RCPT, 0,
        0, 'r', "recipients", pending_rcpts, "recipients"},
    [QT_FIELD_SUBJECT] = {
        "subject", "SUBJECT", 0, 4, 10, false, {NULL}, NULL, QT_FIELD_FILTER | QT_FIELD_BARE,
        MSG_STR(subject), QT_TYPE_TEXT, NULL, SORT_STR(subject),
        QT_BY_SUBJECT + 1, 'S', "subject", NULL, "subject"},
    [QT_FIELD_REASON] = {  /* the column: the first reason; the filter: any */
        "reason", "DELAY REASON", 0, 3, 10, false, {NULL}, NULL,
        QT_FIELD_FILTER | QT_FIELD_PER_RCPT,
        QT_SRC_RCPT_REASON, 0, QT_TYPE_TEXT, cell_reason, SORT_STR(reason),
        QT_BY_REASON + 1, 'R', "reason", first_reason, NULL},
    [QT_FIELD_CLIENT] = {
        "client", "CLIENT", 15, 0, 7, false, {NULL}, NULL, QT_FIELD_FILTER,
        MSG_ATTR(QT_ATTR_CLIENT_ADDRESS), QT_TYPE_TEXT, NULL, SORT_ATTR(QT_ATTR_CLIENT_ADDRESS),
        QT_BY_CLIENT + 1, 'c', "client", NULL, NULL},
    [QT_FIELD_SASL] = {
        "sasl", "SASL USER", 0, 2, 8, false, {"sasl_username", NULL}, NULL, QT_FIELD_FILTER,
        MSG_ATTR(QT_ATTR_SASL_USERNAME), QT_TYPE_TEXT, NULL, SORT_ATTR(QT_ATTR_SASL_USERNAME),
        QT_BY_SASL + 1, 0, NULL, NULL, NULL},
    [QT_FIELD_HELO] = {
        "helo", "HELO", 0, 2, 8, false, {NULL}, NULL, QT_FIELD_FILTER,
        MSG_ATTR(QT_ATTR_HELO_NAME), QT_TYPE_TEXT, NULL, SORT_ATTR(QT_ATTR_HELO_NAME),
        0, 0, NULL, NULL, NULL},
    [QT_FIELD_HOST] = {
        "host", "HOST", 0, 1, 4, false, {NULL}, NULL, QT_FIELD_FILTER,
        MSG_STR(host), QT_TYPE_TEXT, NULL, SORT_STR(host),
        QT_BY_HOST + 1, 'h', "host", NULL, NULL},
    /* No columns from here on. */
    [QT_FIELD_FROM] = {
        "from", "FROM", 0, 0, 0, false, {NULL}, NULL, QT_FIELD_FILTER,
        MSG_STR(from), QT_TYPE_TEXT, NULL, QT_SORT_ID, 0,
        0, 'f', "From header", NULL, "from"},
    [QT_FIELD_CLIENT_NAME] = {
        "client_name", "CLIENT NAME", 0, 0, 0, false, {NULL}, NULL, QT_FIELD_FILTER,
        MSG_ATTR(QT_ATTR_CLIENT_NAME), QT_TYPE_TEXT, NULL, QT_SORT_ID, 0,
        QT_BY_CLIENT_NAME + 1, 0, NULL, NULL, NULL},
    [QT_FIELD_RCPTS] = {
        "rcpts", "RCPTS", 0, 0, 0, false, {NULL}, NULL, QT_FIELD_FILTER,
        QT_SRC_U32, offsetof(struct qt_msg, npending), QT_TYPE_COUNT, NULL, QT_SORT_ID, 0,
        0, 0, NULL, NULL, NULL},
    [QT_FIELD_SENDER_DOMAIN] = {
        "sender_domain", "SENDER DOMAIN", 0, 0, 0, false, {NULL}, NULL, QT_FIELD_FILTER,
        QT_SRC_SENDER_DOMAIN, 0, QT_TYPE_TEXT, NULL, QT_SORT_ID, 0,
        QT_BY_SENDER_DOMAIN + 1, 0, NULL, NULL, NULL},
    [QT_FIELD_RCPT_DOMAIN] = {
        "rcpt_domain", "RECIPIENT DOMAIN", 0, 0, 0, false, {"domain", NULL}, NULL,
        QT_FIELD_FILTER | QT_FIELD_PER_RCPT, QT_SRC_RCPT_DOMAIN, 0, QT_TYPE_TEXT, NULL, QT_SORT_ID, 0,
        QT_BY_RCPT_DOMAIN + 1, 0, NULL, NULL, NULL},
    [QT_FIELD_CLASS] = {
        "class", "REASON CLASS", 0, 0, 0, false, {NULL}, NULL,
        QT_FIELD_FILTER | QT_FIELD_PER_RCPT,
        QT_SRC_RCPT_CLASS, 0, QT_TYPE_TEXT, NULL, QT_SORT_ID, 0,
        QT_BY_CLASS + 1, 0, NULL, NULL, NULL},
    [QT_FIELD_STATUS] = {  /* the DSN status the defer or bounce log gives */
        "status", "DSN STATUS", 0, 0, 0, false, {NULL}, NULL,
        QT_FIELD_FILTER | QT_FIELD_PER_RCPT,
        QT_SRC_RCPT_STATUS, 0, QT_TYPE_TEXT, NULL, QT_SORT_ID, 0,
        0, 0, NULL, NULL, NULL},
    [QT_FIELD_STATE] = {  /* pending, done (delivered or bounced) or canceled */
        "state", "RECIPIENT STATE", 0, 0, 0, false, {NULL}, NULL,
        QT_FIELD_FILTER | QT_FIELD_PER_RCPT,
        QT_SRC_RCPT_STATE, 0, QT_TYPE_TEXT, NULL, QT_SORT_ID, 0,
        0, 0, NULL, NULL, NULL},
    [QT_FIELD_ORIG] = {  /* the original recipient, "" when it is the same */
        "orig", "ORIGINAL RECIPIENT", 0, 0, 0, false, {"orig_rcpt", NULL}, NULL,
        QT_FIELD_FILTER | QT_FIELD_PER_RCPT,
        QT_SRC_RCPT_ORIG, 0, QT_TYPE_TEXT, NULL, QT_SORT_ID, 0,
        0, 0, NULL, NULL, NULL},
    [QT_FIELD_ARRIVAL] = {  /* absolute, local time; "age" is the relative view */
        "arrival", "ARRIVAL", 0, 0, 0, false, {NULL}, NULL, QT_FIELD_FILTER,
        QT_SRC_U32, offsetof(struct qt_msg, arrival), QT_TYPE_TIME, NULL, QT_SORT_ID, 0,
        0, 0, NULL, NULL, NULL},
};

/* ---- lookups ---- */

static bool in_role(const struct qt_field *f, enum qt_field_role role)
{
    switch (role) {
    case QT_ROLE_COLUMN:
        return (int)qt_field_index(f) < (int)QT_COL_COUNT;
    case QT_ROLE_FILTER:
        return (f->flags & QT_FIELD_FILTER) != 0;
    case QT_ROLE_GROUP:
        return f->by_plus_one > 0;
    }
    return false;
}

static bool name_is(const char *want, const char *name, size_t len)
{
    return want && strlen(want) == len && strncasecmp(want, name, len) == 0;
}

const struct qt_field *qt_field_find(const char *name, size_t len, enum qt_field_role role)
{
    size_t i, k;

    for (i = 0; i < QT_FIELD_COUNT; i++) {
        const struct qt_field *f = &qt_fields[i];

        if (!in_role(f, role))
            continue;
        if (name_is(f->name, name, len))
            return f;
        for (k = 0; k < QT_ARRAY_LEN(f->aliases) && f->aliases[k]; k++)
            if (name_is(f->aliases[k], name, len))
                return f;
        if (role == QT_ROLE_COLUMN && name_is(f->column_alias, name, len))
            return f;
    }
    return NULL;
}

void qt_field_names(enum qt_field_role role, struct qt_buf *out)
{
    size_t i, n = 0;

    if (role == QT_ROLE_GROUP) {    /* in the order of the keys */
        for (i = 0; i < QT_BY_COUNT; i++) {
            const struct qt_field *f = qt_field_of_group((enum qt_stats_by)i);

            if (f)
                qt_buf_printf(out, "%s%s", n++ ? " " : "", f->name);
        }
        return;
    }
    for (i = 0; i < QT_FIELD_COUNT; i++)
        if (in_role(&qt_fields[i], role))
            qt_buf_printf(out, "%s%s", n++ ? " " : "", qt_fields[i].name);
}

const struct qt_field *qt_field_of_group(enum qt_stats_by by)
{
    size_t i;

    for (i = 0; i < QT_FIELD_COUNT; i++)
        if (qt_fields[i].by_plus_one == (int)by + 1)
            return &qt_fields[i];
    return NULL;
}

/* ---- rendering ---- */

void qt_field_cell(const struct qt_field *f, const struct qt_store *s, const struct qt_msg *m,
                   int64_t now, struct qt_buf *out)
{
    if (f->cell)
        f->cell(s, m, now, out);
    else if (f->source == QT_SRC_STR)
        put_str(s, qt_field_str(f, m), out);
}

const struct qt_field *qt_field_of_format(char c)
{
    size_t i;

    for (i = 0; c && i < QT_FIELD_COUNT; i++)
        if (qt_fields[i].format == c)
            return &qt_fields[i];
    return NULL;
}

void qt_field_format(const struct qt_field *f, const struct qt_store *s, const struct qt_msg *m,
                     int64_t now, struct qt_buf *out)
{
    if (f->format_text)
        f->format_text(s, m, now, out);
    else if (f->source == QT_SRC_STR)
        put_cstr(s, qt_field_str(f, m), out);
}

void qt_field_format_help(struct qt_buf *out)
{
    size_t i;

    for (i = 0; i < QT_FIELD_COUNT; i++)
        if (qt_fields[i].format)
            qt_buf_printf(out, "%%%c %s, ", qt_fields[i].format, qt_fields[i].format_help);
    qt_buf_printf(out, "%%%% a percent sign");
}
