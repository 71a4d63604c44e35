#include "qtriage/queue_file.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qtriage/text.h"

const struct qt_queue_file_limits qt_queue_file_default_limits = {
    .max_record = 4 << 20,
    .max_header_bytes = 256 << 10,
    .max_headers = 2000,
    .max_decoded = 1024,
};

void qt_queue_file_init(struct qt_queue_file *qf)
{
    memset(qf, 0, sizeof(*qf));
}

void qt_queue_file_free(struct qt_queue_file *qf)
{
    free(qf->rcpts);
    free(qf->attrs);
    free(qf->headers);
    qt_arena_free(&qf->arena);
    qt_record_reader_free(&qf->reader);
    qt_buf_free(&qf->line);
    qt_buf_free(&qf->header);
    memset(qf, 0, sizeof(*qf));
}

static void reset(struct qt_queue_file *qf)
{
    struct qt_queue_file keep = *qf;

    memset(qf, 0, sizeof(*qf));
    qf->rcpts = keep.rcpts;
    qf->rcpts_cap = keep.rcpts_cap;
    qf->attrs = keep.attrs;
    qf->attrs_cap = keep.attrs_cap;
    qf->headers = keep.headers;
    qf->headers_cap = keep.headers_cap;
    qf->arena = keep.arena;
    qf->reader.payload = keep.reader.payload;
    qf->line = keep.line;
    qf->header = keep.header;
    qt_arena_reset(&qf->arena);
    qt_buf_reset(&qf->line);
    qt_buf_reset(&qf->header);
}

/* The message's ID, cut to fit as snprintf("%s") would: no format
 * interpreter for each of a million files. */
static void set_id(struct qt_queue_file *qf, const char *id)
{
    size_t len = strnlen(id, sizeof(qf->id) - 1);

    memcpy(qf->id, id, len);
    qf->id[len] = 0;
}

/* A T or C record's leading number, as sscanf's %ld reads it (blanks, a
 * sign, decimal digits; clamped on overflow); false when there is none. */
static bool leading_long(const char **p, long *out)
{
    char *end;
    long v = strtol(*p, &end, 10);

    if (end == *p)
        return false;
    *out = v;
    *p = end;
    return true;
}

static void set_error(struct qt_queue_file *qf, const char *msg)
{
    if (qf->unreadable)
        return;                 /* keep the first reason */
    qf->unreadable = true;
    snprintf(qf->error, sizeof(qf->error), "%s", msg);
}

/* Parser state shared by the envelope and the extracted segment. */
struct parse_state {
    const char *pending_orig;   /* O record waiting for its recipient */
    bool saw_end;
};

static void add_rcpt(struct qt_queue_file *qf, struct parse_state *ps, int type,
                     const char *addr)
{
    struct qt_qf_rcpt *r;

    qf->rcpts = xgrow(qf->rcpts, &qf->rcpts_cap, qf->nrcpts + 1, sizeof(*qf->rcpts));
    r = &qf->rcpts[qf->nrcpts++];
    r->address = qt_arena_strdup(&qf->arena, addr);
    r->orig = ps->pending_orig;
    r->state = type == QT_REC_RCPT ? QT_RCPT_PENDING
             : type == QT_REC_DONE ? QT_RCPT_DONE : QT_RCPT_CANCELED;
    r->offset = qf->reader.rec_offset;
    ps->pending_orig = NULL;
}

static void add_attr(struct qt_queue_file *qf, const char *payload)
{
    const char *eq = strchr(payload, '=');
    struct qt_qf_attr *a;
    long v;

    if (!eq || eq == payload)
        return;                 /* Postfix ignores malformed attributes too */
    /* dsn_orig_rcpt belongs to the recipient that follows, not to the
     * message; a list has no use for it and it is unique per recipient. */
    if ((size_t)(eq - payload) == 13 && memcmp(payload, "dsn_orig_rcpt", 13) == 0)
        return;
    qf->attrs = xgrow(qf->attrs, &qf->attrs_cap, qf->nattrs + 1, sizeof(*qf->attrs));
    a = &qf->attrs[qf->nattrs++];
    a->name = qt_arena_strndup(&qf->arena, payload, (size_t)(eq - payload));
    a->value = qt_arena_strdup(&qf->arena, eq + 1);
    if (strcmp(a->name, "create_time") == 0 && qt_parse_long(a->value, &v))
        qf->create_time = v;
}

static void parse_size_record(struct qt_queue_file *qf, const char *payload, bool maildrop)
{
    long f[6] = {0, 0, 0, 0, 0, 0};
    int n = 0;
    const char *p = payload;

    if (qf->size_ok || maildrop)
        return;                 /* later size records are obsolete leftovers */
    if (payload[strspn(payload, "0123456789 ")] != 0)
        return;
    while (n < 6) {
        char *end;

        while (*p == ' ')
            p++;
        if (!*p)
            break;
        f[n++] = strtol(p, &end, 10);
        p = end;
    }
    if (n < 3 || f[0] < 0 || f[1] <= 0)
        return;
    qf->content_size = f[0];
    qf->data_offset = f[1];
    qf->rcpt_count = f[2];
    qf->qmgr_flags = f[3];
    qf->content_length = f[4];
    qf->smtputf8 = f[5];
    qf->size_ok = true;
}

/* Handle one envelope or extracted-segment record.  Content markers (M, X)
 * are handled by the caller. */
static void envelope_record(struct qt_queue_file *qf, struct parse_state *ps, int type,
                            const char *payload, bool maildrop)
{
    const char *p = payload;
    long sec, usec = 0;

    switch (type) {
    case QT_REC_SIZE:
        parse_size_record(qf, payload, maildrop);
        break;
    case QT_REC_TIME:
        if (qf->arrival_sec == 0 && leading_long(&p, &sec)) {
            (void)leading_long(&p, &usec);
            qf->arrival_sec = sec;
            qf->arrival_usec = usec;
        }
        break;
    case QT_REC_CTIME:
        if (qf->create_time == 0 && leading_long(&p, &sec))
            qf->create_time = sec;
        break;
    case QT_REC_FROM:
        if (!qf->have_sender) {
            qf->sender = qt_arena_strdup(&qf->arena, payload);
            qf->have_sender = true;
        }
        break;
    case QT_REC_ORCP:
        ps->pending_orig = qt_arena_strdup(&qf->arena, payload);
        break;
    case QT_REC_RCPT:
    case QT_REC_DONE:
    case QT_REC_DRCP:
        add_rcpt(qf, ps, type, payload);
        break;
    case QT_REC_ATTR:
        add_attr(qf, payload);
        break;
    case QT_REC_END:
        ps->saw_end = true;
        break;
    default:
        break;                  /* records a queue list does not need */
    }
}

static bool is_header_start(const char *line, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];

        if (c == ':')
            return i > 0;
        if (c <= ' ' || c >= 0x7f)
            return false;
    }
    return false;
}

/* Collects header lines; the current header is committed when the next one
 * starts or the block ends. */
struct header_state {
    struct qt_buf *cur;         /* qf->header */
    bool in_headers;
    bool have_cur;
    size_t bytes;
};

static void commit_header(struct qt_queue_file *qf, struct header_state *hs,
                          const struct qt_queue_file_limits *lim)
{
    struct qt_qf_header *h;
    char *colon;

    if (!hs->have_cur)
        return;
    hs->have_cur = false;
    if (qf->nheaders >= lim->max_headers) {
        qf->headers_truncated = true;
        return;
    }
    colon = hs->cur->data ? strchr(hs->cur->data, ':') : NULL;
    if (!colon)
        return;                 /* the header's first line was over the limit */
    qf->headers = xgrow(qf->headers, &qf->headers_cap, qf->nheaders + 1,
                        sizeof(*qf->headers));
    h = &qf->headers[qf->nheaders++];
    h->name = qt_arena_strndup(&qf->arena, hs->cur->data, (size_t)(colon - hs->cur->data));
    h->value = qt_arena_strdup(&qf->arena, colon + 1);
}

static void header_line(struct qt_queue_file *qf, struct header_state *hs, const char *line,
                        size_t len, const struct qt_queue_file_limits *lim)
{
    if (len == 0) {
        commit_header(qf, hs, lim);
        hs->in_headers = false;
        return;
    }
    if ((line[0] == ' ' || line[0] == '\t') && hs->have_cur) {
        /* Continuation: unfolding removes only the line break. */
    } else if (is_header_start(line, len)) {
        commit_header(qf, hs, lim);
        qt_buf_reset(hs->cur);
        hs->have_cur = true;
    } else {
        /* Not a header: the body starts without a blank line. */
        commit_header(qf, hs, lim);
        hs->in_headers = false;
        return;
    }
    hs->bytes += len;
    if (hs->bytes > lim->max_header_bytes) {
        qf->headers_truncated = true;
        commit_header(qf, hs, lim);
        hs->in_headers = false;
        return;
    }
    qt_buf_append(hs->cur, line, len);
}

/* Read content records from just after the M record.  Stops at the end of
 * the header block when the size record lets us jump to the extracted
 * segment, otherwise reads on until the X record.  Returns the record type
 * that ended the content (X, E), QT_REC_EOF or QT_REC_ERROR. */
static int read_content(struct qt_queue_file *qf, off_t content_start,
                        const struct qt_queue_file_limits *lim)
{
    struct qt_record_reader *r = &qf->reader;
    struct header_state hs = {.cur = &qf->header, .in_headers = true};
    bool line_overflow = false;
    int type;

    qt_buf_reset(&qf->line);
    for (;;) {
        type = qt_record_next(r, true);
        if (type == QT_REC_NORM || type == QT_REC_CONT) {
            if (hs.in_headers && !line_overflow) {
                if (qf->line.len + r->payload.len > lim->max_header_bytes)
                    line_overflow = true;
                else
                    qt_buf_append(&qf->line, r->payload.data, r->payload.len);
            }
            if (type == QT_REC_CONT)
                continue;
            if (hs.in_headers) {
                if (line_overflow) {
                    qf->headers_truncated = true;
                    commit_header(qf, &hs, lim);
                    hs.in_headers = false;
                } else {
                    header_line(qf, &hs, qf->line.data, qf->line.len, lim);
                }
            }
            qt_buf_reset(&qf->line);
            line_overflow = false;
            if (!hs.in_headers && qf->size_ok) {
                off_t xtra;

                /* The size record may claim up to LONG_MAX bytes: compare
                 * before adding, or the sum overflows. */
                if (qf->content_size > r->file_size - content_start) {
                    set_error(qf, "file is truncated: the size record claims more content "
                              "than the file holds");
                    return QT_REC_ERROR;
                }
                xtra = content_start + qf->content_size;
                if (!qt_record_seek(r, xtra))
                    return QT_REC_ERROR;
                type = qt_record_next(r, true);
                if (type != QT_REC_XTRA && type >= 0) {
                    char msg[120];

                    snprintf(msg, sizeof(msg),
                             "size record points at '%c', not at the extracted segment",
                             type);
                    set_error(qf, msg);
                    return QT_REC_ERROR;
                }
                break;
            }
            continue;
        }
        if (type == QT_REC_XTRA || type == QT_REC_END || type < 0)
            break;
        /* Any other record inside content is unexpected but harmless. */
    }
    if (hs.in_headers)
        commit_header(qf, &hs, lim);
    return type;
}

static void decode_headers(struct qt_queue_file *qf, const struct qt_queue_file_limits *lim)
{
    const char *subject = qt_queue_file_header(qf, "Subject");
    const char *from = qt_queue_file_header(qf, "From");
    char *d;

    if (subject) {
        d = qt_text_decode_header(subject, lim->max_decoded);
        qf->subject = qt_arena_strdup(&qf->arena, d);
        free(d);
    }
    if (from) {
        d = qt_text_decode_header(from, lim->max_decoded);
        qf->from = qt_arena_strdup(&qf->arena, d);
        free(d);
    }
}

bool qt_queue_file_read(struct qt_queue_file *qf, int fd, const char *id, bool maildrop,
                        const struct qt_queue_file_limits *lim)
{
    struct stat st;

    if (fstat(fd, &st) < 0) {
        reset(qf);
        set_id(qf, id);
        set_error(qf, "cannot stat the file");
        return false;
    }
    return qt_queue_file_read_sized(qf, fd, st.st_size, id, maildrop, lim);
}

bool qt_queue_file_read_sized(struct qt_queue_file *qf, int fd, off_t size, const char *id,
                              bool maildrop, const struct qt_queue_file_limits *lim)
{
    struct parse_state ps = {0};
    struct qt_record_reader *r = &qf->reader;
    int type;
    bool in_extracted = false;

    if (!lim)
        lim = &qt_queue_file_default_limits;
    reset(qf);
    set_id(qf, id);
    qf->file_size = size;
    qt_record_reader_init(r, fd, size, lim->max_record);

    for (;;) {
        type = qt_record_next(r, true);
        if (type < 0)
            break;
        if (type == QT_REC_MESG && !in_extracted) {
            off_t content_start = r->pos;

            type = read_content(qf, content_start, lim);
            if (type == QT_REC_XTRA) {
                in_extracted = true;
                continue;
            }
            if (type == QT_REC_END)
                ps.saw_end = true;
            break;
        }
        envelope_record(qf, &ps, type, r->payload.data, maildrop);
        if (ps.saw_end)
            break;
    }
    qf->bytes_read = r->bytes_read;
    if (type == QT_REC_ERROR)
        set_error(qf, r->error[0] ? r->error : "malformed record");
    else if (!ps.saw_end)
        set_error(qf, in_extracted || qf->nheaders
                  ? "file is truncated: no end record"
                  : "file is truncated or not a queue file: no message content");
    if (!qf->have_sender && !qf->unreadable)
        set_error(qf, "no sender record");
    decode_headers(qf, lim);
    return !qf->unreadable;
}

bool qt_queue_file_read_path(struct qt_queue_file *qf, const char *path, const char *id,
                             bool maildrop, const struct qt_queue_file_limits *lim)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    bool ok;
    int saved;

    if (fd < 0)
        return false;
    ok = qt_queue_file_read(qf, fd, id, maildrop, lim);
    saved = errno;
    close(fd);
    errno = saved;
    if (!ok)
        errno = 0;
    return true;
}

const char *qt_queue_file_attr(const struct qt_queue_file *qf, const char *name)
{
    size_t i;

    for (i = 0; i < qf->nattrs; i++)
        if (strcmp(qf->attrs[i].name, name) == 0)
            return qf->attrs[i].value;
    return NULL;
}

const char *qt_queue_file_header(const struct qt_queue_file *qf, const char *name)
{
    size_t i;

    for (i = 0; i < qf->nheaders; i++)
        if (strcasecmp(qf->headers[i].name, name) == 0)
            return qf->headers[i].value;
    return NULL;
}
