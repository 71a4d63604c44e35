/* The raw view: a queue file as `postcat -q` (Postfix 3.7, default flags)
 * prints it, produced a few records at a time.
 *
 * postcat's state machine is followed closely, because admins compare the
 * two: an `L` record in the content is written without a line break, so the
 * next record's text, or even a marker, is glued to it; size and content
 * markers do not count as "the previous record"; attribute values are
 * trimmed as split_nameval() trims them; times are asctime(localtime()).
 * What postcat reports on stderr (malformed attributes, markers out of
 * order, read errors) becomes a warning line here. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "qtriage/queue_file.h"
#include "qtriage/record.h"
#include "render_internal.h"

enum raw_state {
    RAW_ENVELOPE,               /* initial or extracted envelope */
    RAW_HEADER,                 /* primary message header */
    RAW_BODY,
};

struct raw_view {
    struct qt_record_reader reader;
    enum raw_state state;
    int prev_type;
    bool started;
    off_t peeked;               /* bytes read outside the record reader */
    /* The output line being assembled: postcat may write several records
     * on one line. */
    struct qt_buf line;
    bool line_open;
    enum qt_line_kind line_kind;
    size_t line_name_len;
};

/* The record types whose first byte postcat accepts as a queue file. */
static const char envelope_types[] = "MCTcFILSDRO/WVA>K<ion";

/* Record names as Postfix 3.7's rec_type_name() gives them. */
static const char *postcat_name(int type)
{
    switch (type) {
    case 'C': return "message_size";
    case 'T': return "message_arrival_time";
    case 'c': return "queue_file_create_time";
    case 'F': return "sender_fullname";
    case 'I': return "content_inspector";
    case 'L': return "content_filter";
    case 'S': return "sender";
    case 'D': return "done_recipient";
    case '/': return "canceled_recipient";
    case 'R': return "recipient";
    case 'O': return "original_recipient";
    case 'W': return "warning_message_time";
    case 'A': return "named_attribute";
    case 'p': return "pointer_record";
    case 'K': return "killed_record";
    case 'M': return "message_content";
    case 'N': return "regular_text";
    case 'w': return "padding";
    case 'X': return "extracted_info";
    case 'r': return "return_receipt";
    case 'e': return "errors_to";
    case 'P': return "priority";
    case 'V': return "verp_delimiters";
    case 'E': return "message_end";
    case '>': return "redirect_to";
    case 'f': return "flags";
    case '<': return "dsn_return_flags";
    case 'i': return "dsn_envelope_id";
    case 'o': return "dsn_original_recipient";
    case 'n': return "dsn_notify_flags";
    default: return "unknown_record_type";
    }
}

static void put(struct qt_render *r, enum qt_line_kind kind, size_t name_len,
                const char *text, size_t len)
{
    struct raw_view *v = r->view;

    if (!v->line_open) {
        v->line_open = true;
        v->line_kind = kind;
        v->line_name_len = name_len;
    }
    qt_buf_append(&v->line, text, len);
    /* A line of a million L records is shown in pieces, not held whole. */
    while (v->line.len > QT_RENDER_LINE_MAX) {
        size_t cut = render_cut_point(v->line.data, v->line.len);

        render_emit_piece(r, v->line_kind, v->line_name_len, v->line.data, cut, true);
        v->line_name_len = v->line_name_len > cut ? v->line_name_len - cut : 0;
        memmove(v->line.data, v->line.data + cut, v->line.len - cut);
        v->line.len -= cut;
        v->line.data[v->line.len] = 0;
    }
}

static void put_str(struct qt_render *r, enum qt_line_kind kind, const char *s)
{
    put(r, kind, 0, s, strlen(s));
}

static void newline(struct qt_render *r)
{
    struct raw_view *v = r->view;

    if (!v->line_open)
        put(r, QT_LINE_BODY, 0, "", 0);
    render_emit_piece(r, v->line_kind, v->line_name_len, v->line.data ? v->line.data : "",
                      v->line.len, false);
    qt_buf_reset(&v->line);
    v->line_open = false;
}

/* "name: value" on a line of its own (unless an L record left one open). */
static void put_record(struct qt_render *r, const char *name, const char *value,
                       size_t value_len)
{
    struct raw_view *v = r->view;
    size_t name_len = v->line_open ? 0 : strlen(name) + 1;

    put(r, QT_LINE_RECORD, name_len, name, strlen(name));
    put(r, QT_LINE_RECORD, 0, ": ", 2);
    put(r, QT_LINE_RECORD, 0, value, value_len);
    newline(r);
}

static void put_marker(struct qt_render *r, const char *what)
{
    put_str(r, QT_LINE_SEPARATOR, "*** ");
    put_str(r, QT_LINE_SEPARATOR, what);
    put_str(r, QT_LINE_SEPARATOR, " ");
    put_str(r, QT_LINE_SEPARATOR, r->label);
    put_str(r, QT_LINE_SEPARATOR, " ***");
    newline(r);
}

/* Postfix's atol(): leading blanks, a sign, digits; saturates. */
static long postfix_atol(const char *s)
{
    return strtol(s, NULL, 10);
}

/* asctime(localtime(&t)) without its line break, in the C locale whatever
 * the viewer's locale is. */
static void put_time(struct qt_render *r, const char *name, long t)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t when = (time_t)t;
    struct tm tm;
    char buf[96];
    int n;

    if (!localtime_r(&when, &tm) || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 ||
        tm.tm_mon > 11) {
        n = snprintf(buf, sizeof(buf), "(time %ld out of range)", t);
        render_emitf(r, QT_LINE_WARNING, "%s: time value %ld is out of range", name, t);
    } else {
        n = snprintf(buf, sizeof(buf), "%.3s %.3s%3d %.2d:%.2d:%.2d %lld", days[tm.tm_wday],
                     months[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (long long)tm.tm_year + 1900);
    }
    put_record(r, name, buf, (size_t)n);
}

static bool postfix_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Postfix's split_nameval(): name and value with surrounding blanks
 * trimmed.  Returns NULL when well-formed, else postcat's complaint. */
static const char *split_nameval(char *buf, char **name, char **value)
{
    char *np, *ep, *cp, *vp, *end;

    for (np = buf; *np && postfix_space((unsigned char)*np); np++)
        ;
    if (*np == 0 || *np == '=')
        return "missing attribute name";
    for (ep = np; *ep && !postfix_space((unsigned char)*ep) && *ep != '='; ep++)
        ;
    for (cp = ep; *cp && postfix_space((unsigned char)*cp); cp++)
        ;
    if (*cp != '=')
        return "missing '=' after attribute name";
    *ep = 0;
    for (vp = cp + 1; *vp && postfix_space((unsigned char)*vp); vp++)
        ;
    for (end = vp + strlen(vp); end > vp && postfix_space((unsigned char)end[-1]); end--)
        ;
    *end = 0;
    *name = np;
    *value = vp;
    return NULL;
}

static void put_attribute(struct qt_render *r, char *payload)
{
    char *name, *value;
    const char *problem = split_nameval(payload, &name, &value);

    if (problem) {
        render_emitf(r, QT_LINE_WARNING, "malformed attribute: %s: %.100s", problem, payload);
        return;
    }
    if (strcmp(name, "create_time") == 0) {
        put_time(r, "create_time", postfix_atol(value));
        return;
    }
    put(r, QT_LINE_RECORD, ((struct raw_view *)r->view)->line_open ? 0 : 16,
        "named_attribute: ", 17);
    put_str(r, QT_LINE_RECORD, name);
    put_str(r, QT_LINE_RECORD, "=");
    put_str(r, QT_LINE_RECORD, value);
    newline(r);
}

/* Postfix's is_header(): length of the header name when `s` starts a
 * header ("Name:" or the obsolete "Name :"), else 0. */
static size_t header_name_len(const char *s)
{
    const unsigned char *cp;
    size_t len = 0;
    bool spaced = false;

    for (cp = (const unsigned char *)s;; cp++) {
        unsigned c = *cp;

        if (c == ':')
            return len;
        if (c == ' ' || c == '\t') {
            if (len == 0)
                return 0;
            spaced = true;
            continue;
        }
        if (c == 0 || c >= 0x80 || iscntrl((int)c) || spaced)
            return 0;
        len++;
    }
}

static void text_record(struct qt_render *r, int type)
{
    struct raw_view *v = r->view;
    const struct qt_buf *p = &v->reader.payload;
    size_t hdr;

    if (v->state == RAW_ENVELOPE) {
        /* Outside the content, 'L' is a content_filter record. */
        if (type == QT_REC_CONT)
            put_record(r, postcat_name(type), p->data, p->len);
        else {
            put(r, QT_LINE_BODY, 0, p->data, p->len);
            newline(r);
        }
        v->prev_type = type == QT_REC_CONT ? 0 : type;
        return;
    }
    hdr = header_name_len(p->data);
    /* postcat's test, including its blind spot: a body that starts with
     * a blank line continues the header block. */
    if (v->state == RAW_HEADER && v->prev_type != QT_REC_CONT &&
        !(hdr > 0 || p->data[0] == ' ' || p->data[0] == '\t'))
        v->state = RAW_BODY;
    if (v->state == RAW_HEADER) {
        const char *colon = hdr ? memchr(p->data, ':', p->len) : NULL;

        put(r, QT_LINE_HEADER, colon ? (size_t)(colon - p->data) + 1 : 0, p->data, p->len);
    } else {
        put(r, QT_LINE_BODY, 0, p->data, p->len);
    }
    if (type == QT_REC_NORM)
        newline(r);
    v->prev_type = type;
}

/* Handle one record as postcat does.  Returns false after the end record. */
static bool raw_record(struct qt_render *r, int type)
{
    struct raw_view *v = r->view;
    char *payload = v->reader.payload.data;

    switch (type) {
    case QT_REC_NORM:
    case QT_REC_CONT:
        text_record(r, type);
        return true;
    case QT_REC_MESG:
        if (v->state != RAW_ENVELOPE)
            render_emitf(r, QT_LINE_WARNING, "out-of-order message content marker");
        put_marker(r, "MESSAGE CONTENTS");
        v->state = RAW_HEADER;
        return true;
    case QT_REC_XTRA:
        if (v->state == RAW_ENVELOPE)
            render_emitf(r, QT_LINE_WARNING, "out-of-order extracted segment marker");
        if (v->prev_type == QT_REC_CONT)
            newline(r);
        put_marker(r, "HEADER EXTRACTED");
        v->state = RAW_ENVELOPE;
        return true;
    case QT_REC_END:
        if (v->state != RAW_ENVELOPE)
            render_emitf(r, QT_LINE_WARNING, "out-of-order message end marker");
        put_marker(r, "MESSAGE FILE END");
        return false;
    case QT_REC_SIZE:
        put_record(r, postcat_name(type), payload, strlen(payload));
        return true;
    case QT_REC_TIME:
        put_time(r, postcat_name(type), postfix_atol(payload));
        break;
    case QT_REC_WARN:
        put_time(r, postcat_name(type), postfix_atol(payload));
        break;
    case QT_REC_ATTR:
        put_attribute(r, payload);
        break;
    default:
        put_record(r, postcat_name(type), payload, strlen(payload));
        break;
    }
    v->prev_type = type;
    return true;
}

/* postcat checks the first byte before it prints anything. */
static bool raw_begin(struct qt_render *r)
{
    struct raw_view *v = r->view;
    unsigned char first;
    ssize_t n;

    do
        n = pread(r->fd, &first, 1, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        render_emitf(r, QT_LINE_WARNING, "cannot read the queue file: %s", strerror(errno));
        return false;
    }
    v->peeked = n;
    /* postcat's strchr() also finds a NUL byte: it lets 0 through. */
    if (n == 1 && first != 0 && !strchr(envelope_types, first)) {
        render_emitf(r, QT_LINE_WARNING, "input is not a valid queue file");
        return false;
    }
    put_marker(r, "ENVELOPE RECORDS");
    return true;
}

static void raw_produce(struct qt_render *r)
{
    struct raw_view *v = r->view;
    size_t before = render_queued(r);

    if (!v->started) {
        v->started = true;
        if (!raw_begin(r))
            render_finish(r);
        return;
    }
    while (render_queued(r) == before) {
        int type = qt_record_next(&v->reader, true);

        if (type == QT_REC_ERROR || type == QT_REC_EOF) {
            if (v->line_open)
                newline(r);
            render_emitf(r, QT_LINE_WARNING, "%s",
                         type == QT_REC_ERROR ? v->reader.error
                         : "file ends without an end record: truncated");
            render_finish(r);
            return;
        }
        if (!raw_record(r, type)) {
            render_finish(r);
            return;
        }
    }
}

static bool raw_start(struct qt_render *r, const struct qt_render_options *opt)
{
    struct raw_view *v = xcalloc(1, sizeof(*v));

    (void)opt;
    r->view = v;
    qt_record_reader_init(&v->reader, r->fd, r->file_size,
                          qt_queue_file_default_limits.max_record);
    v->state = RAW_ENVELOPE;
    return true;
}

static off_t raw_bytes_read(const struct qt_render *r)
{
    const struct raw_view *v = r->view;

    return v->reader.bytes_read + v->peeked;
}

static void raw_free(struct qt_render *r)
{
    struct raw_view *v = r->view;

    qt_record_reader_free(&v->reader);
    qt_buf_free(&v->line);
    free(v);
    r->view = NULL;
}

const struct render_view_ops qt_render_raw_ops = {
    .start = raw_start,
    .produce = raw_produce,
    .bytes_read = raw_bytes_read,
    .free = raw_free,
};
