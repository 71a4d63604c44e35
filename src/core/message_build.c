#include "qtriage/message_build.h"

#include <string.h>

#include "qtriage/util.h"

const char *const qt_attr_field_names[QT_ATTR_NFIELDS] = {
    [QT_ATTR_LOG_IDENT] = "log_ident",
    [QT_ATTR_CLIENT_PORT] = "client_port",
    [QT_ATTR_LOG_CLIENT_PORT] = "log_client_port",
    [QT_ATTR_CLIENT_ADDRESS] = "client_address",
    [QT_ATTR_CLIENT_NAME] = "client_name",
    [QT_ATTR_HELO_NAME] = "helo_name",
    [QT_ATTR_SASL_USERNAME] = "sasl_username",
    [QT_ATTR_SASL_METHOD] = "sasl_method",
};

static bool is_dot_string(const char *start, const char *end)
{
    const char *cp;

    if (start == end || *start == '.')
        return false;
    for (cp = start; cp < end; cp++) {
        unsigned char ch = (unsigned char)*cp;

        if (ch == '.' && cp + 1 < end && cp[1] == '.')
            return false;
        if (ch == ' ' || ch < 0x20 || ch == 0x7f)
            return false;
        if (strchr("()<>@,;:\\\"[]", ch))
            return false;
    }
    return cp[-1] != '.';
}

static bool has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

char *qt_address_display(struct qt_arena *arena, const char *addr)
{
    struct qt_buf b = {0};
    const char *start = addr, *end, *colon, *cp;
    char *out;
    size_t i;

    if (!*addr)
        return "MAILER-DAEMON";
    if (addr[0] == '@' && (colon = strchr(addr, ':')))
        start = colon + 1;
    end = strrchr(start, '@');
    if (!end)
        end = start + strlen(start);
    /* has_control(addr), not (end): a source route before `start`
     * ("@a,@b:user@c") may hold control characters too. */
    if (is_dot_string(start, end) && !has_control(addr)) {
        /* The common case: nothing to quote or replace. */
        return qt_arena_strdup(arena, addr);
    }
    if (is_dot_string(start, end)) {
        qt_buf_append(&b, addr, strlen(addr));
    } else {
        qt_buf_append(&b, addr, (size_t)(start - addr));
        qt_buf_putc(&b, '"');
        for (cp = start; cp < end; cp++) {
            if (*cp == '"' || *cp == '\\' || *cp == '\r')
                qt_buf_putc(&b, '\\');
            qt_buf_putc(&b, *cp);
        }
        qt_buf_putc(&b, '"');
        qt_buf_append(&b, end, strlen(end));
    }
    for (i = 0; i < b.len; i++)
        if ((unsigned char)b.data[i] < 0x20 || b.data[i] == 0x7f)
            b.data[i] = '?';
    out = qt_arena_strndup(arena, b.data, b.len);
    qt_buf_free(&b);
    return out;
}

static const char *copy(struct qt_arena *arena, const char *s)
{
    return s ? qt_arena_strdup(arena, s) : NULL;
}

/* The original recipient of the queue file record at `offset`, if any. */
static const char *orig_at(const struct qt_queue_file *qf, long offset)
{
    size_t i;

    for (i = 0; offset > 0 && i < qf->nrcpts; i++)
        if (qf->rcpts[i].offset == offset)
            return qf->rcpts[i].orig;
    return NULL;
}

static void add_log(struct qt_arena *arena, struct qt_rcpt_data *r, size_t *n,
                    const struct qt_defer_log *log, const struct qt_queue_file *qf,
                    bool bounced)
{
    size_t i;

    if (!log)
        return;
    for (i = 0; i < log->n; i++) {
        const struct qt_defer_entry *e = &log->entries[i];
        struct qt_rcpt_data *d = &r[(*n)++];

        /* The log's strings die with the log: copy them into the batch. */
        d->address = copy(arena, e->recipient);
        /* The log names the original recipient only when it differs; the
         * queue file's O record at the logged offset knows it too. */
        d->orig = e->orig_rcpt ? copy(arena, e->orig_rcpt)
                : orig_at(qf, e->offset) ? qt_address_display(arena, orig_at(qf, e->offset))
                : NULL;
        d->reason = copy(arena, e->reason);
        d->status = copy(arena, e->status);
        d->state = QT_RCPT_PENDING;
        d->bounced = bounced;
    }
}

static bool listed(const struct qt_rcpt_data *r, size_t n, const char *addr)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(r[i].address, addr) == 0)
            return true;
    return false;
}

static void build_attrs(struct qt_arena *arena, struct qt_msg_data *out,
                        const struct qt_queue_file *qf)
{
    struct qt_buf b = {0};
    size_t i;
    int k;

    for (i = 0; i < qf->nattrs; i++) {
        const struct qt_qf_attr *a = &qf->attrs[i];

        if (strcmp(a->name, "create_time") == 0)
            continue;           /* qf->create_time */
        for (k = 0; k < QT_ATTR_NFIELDS; k++)
            if (strcmp(a->name, qt_attr_field_names[k]) == 0)
                break;
        if (k < QT_ATTR_NFIELDS) {
            out->attr_fields[k] = qt_arena_strdup(arena, a->value);
            continue;
        }
        qt_buf_printf(&b, "%s=%s", a->name, a->value);
        qt_buf_putc(&b, 0);
    }
    if (!b.len)
        return;
    qt_buf_putc(&b, 0);
    out->attrs = qt_arena_strndup(arena, b.data, b.len);
    out->attrs_len = b.len;
    qt_buf_free(&b);
}

void qt_msg_data_build(struct qt_arena *arena, struct qt_msg_data *out,
                       const struct qt_queue_file *qf, enum qt_queue queue,
                       const struct stat *st, const struct qt_defer_log *defer,
                       const struct qt_defer_log *bounce)
{
    size_t cap = qf->nrcpts + (defer ? defer->n : 0) + (bounce ? bounce->n : 0);
    size_t n = 0, from_logs, i;
    struct qt_rcpt_data *r;
    int pass;

    memset(out, 0, sizeof(*out));
    out->id = qt_arena_strdup(arena, qf->id);
    out->queue = queue;
    out->forced_expire = (st->st_mode & S_IXGRP) != 0;
    out->null_sender = qf->have_sender && qf->sender[0] == 0;
    out->sender = qf->have_sender ? qt_address_display(arena, qf->sender) : "";
    out->subject = qf->subject ? qt_arena_strdup(arena, qf->subject) : NULL;
    out->from = qf->from ? qt_arena_strdup(arena, qf->from) : NULL;
    out->error = qf->unreadable ? qt_arena_strdup(arena, qf->error) : NULL;
    build_attrs(arena, out, qf);
    out->mtime = st->st_mtime;
    out->arrival = qf->arrival_sec > 0 ? qf->arrival_sec : st->st_mtime;
    out->create_time = qf->create_time;
    out->file_size = st->st_size;
    out->msg_size = qf->size_ok && queue != QT_Q_MAILDROP ? qf->content_size : st->st_size;
    out->content_size = qf->size_ok ? qf->content_size : 0;
    out->data_offset = qf->size_ok ? qf->data_offset : 0;

    r = cap ? qt_arena_alloc(arena, cap * sizeof(*r)) : NULL;
    if (r)
        memset(r, 0, cap * sizeof(*r));
    add_log(arena, r, &n, defer, qf, false);
    add_log(arena, r, &n, bounce, qf, true);
    from_logs = n;
    /* Pending first, then delivered and cancelled ones. */
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < qf->nrcpts; i++) {
            const struct qt_qf_rcpt *q = &qf->rcpts[i];
            const char *addr;

            if ((q->state == QT_RCPT_PENDING) != (pass == 0))
                continue;
            addr = qt_address_display(arena, q->address);
            if (pass == 0 && listed(r, from_logs, addr))
                continue;
            r[n].address = addr;
            r[n].orig = q->orig ? qt_address_display(arena, q->orig) : NULL;
            r[n].state = q->state;
            n++;
        }
    }
    out->rcpts = r;
    out->nrcpts = n;
}
