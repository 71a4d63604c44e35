/* The decoded view: delivery status, decoded headers, then every MIME part
 * of the message as a reader (or a triager) wants it (the bytes of a part
 * are decoded by render_decode.c).
 *
 * The content is rebuilt from the queue file's N/L records between the M
 * and X records, at most decode_limit bytes of it, and parsed with GMime.
 * GMime's charset caches are not thread-safe (see text.c), so the parse runs
 * under text.c's GMime lock and does nothing but copy the MIME tree into a
 * flat list of items: headers, containers, leaf parts with their still
 * encoded bytes.  Everything after that (transfer decoding, charsets, HTML,
 * libmagic, header decoding, which takes the lock itself) runs unlocked, one item per produce() call, so a
 * long message is turned into lines only as far as the viewer scrolls. */
#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "qtriage/message_build.h"
#include "qtriage/queue_file.h"
#include "qtriage/record.h"
#include "qtriage/text.h"
#include "render_internal.h"

#define MAX_DEPTH 64            /* parts nested deeper are listed as a warning */
#define MAX_CONTAINERS 256      /* GMime parses recursively: bound its depth */
#define MAX_INDENT 16           /* levels of indentation shown */
#define MAX_NAME 1024           /* bytes of a decoded file name */
#define MAX_DECODE_LIMIT ((size_t)1 << 30)

enum item_kind {
    ITEM_HEADERS,               /* a message's (or an attached message's) headers */
    ITEM_CONTAINER,             /* multipart/..., message/rfc822 */
    ITEM_LEAF,                  /* one part with content */
    ITEM_NOTE,                  /* a problem found while parsing */
};

struct mime_header {
    char *name;
    char *value;                /* raw, folded */
};

struct mime_item {
    enum item_kind kind;
    unsigned depth;
    char *path;                 /* IMAP-style part number, "2.1" */
    char *type;                 /* lower case "type/subtype" */
    char *charset, *filename, *ct_name, *disposition, *cte;
    GMimeContentEncoding encoding;
    int nchildren;
    struct qt_buf raw;          /* content, still transfer-encoded */
    struct mime_header *headers;
    size_t nheaders, headers_cap;
    char *note;
};

struct decoded_view {
    size_t limit;
    off_t bytes_read;
    long content_size;          /* from the size record; -1 when unknown */
    char *problem;              /* why the file could not be read to its end */
    bool parsed;
    struct mime_item *items;
    size_t nitems, cap, next;
    struct render_magic *magic;
    struct qt_buf scratch;
};

/* ---- output helpers ---- */

static unsigned indent_of(unsigned depth)
{
    return 2 * (depth < MAX_INDENT ? depth : MAX_INDENT);
}

/* A line indented for its nesting depth; `name_len` counts from `text`. */
static void emit_indented(struct qt_render *r, enum qt_line_kind kind, unsigned depth,
                          size_t name_len, const char *text, size_t len)
{
    struct decoded_view *v = r->view;
    unsigned ind = indent_of(depth);

    qt_buf_reset(&v->scratch);
    qt_buf_reserve(&v->scratch, ind + len);
    memset(v->scratch.data, ' ', ind);
    v->scratch.len = ind;
    qt_buf_append(&v->scratch, text, len);
    render_emit(r, kind, name_len ? name_len + ind : 0, v->scratch.data, v->scratch.len);
}

static void emit_named(struct qt_render *r, enum qt_line_kind kind, unsigned depth,
                       const char *name, const char *value)
{
    char *line = xasprintf("%s: %s", name, value);

    emit_indented(r, kind, depth, strlen(name) + 1, line, strlen(line));
    free(line);
}

static void emit_depthf(struct qt_render *r, enum qt_line_kind kind, unsigned depth,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void emit_depthf(struct qt_render *r, enum qt_line_kind kind, unsigned depth,
                        const char *fmt, ...)
{
    struct qt_buf b = {0};
    va_list ap;

    va_start(ap, fmt);
    qt_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    emit_indented(r, kind, depth, 0, b.data ? b.data : "", b.len);
    qt_buf_free(&b);
}

/* Text split into lines (LF or CRLF); no empty line for a final break. */
static void emit_text_lines(struct qt_render *r, unsigned depth, const char *text, size_t len)
{
    const char *p = text, *end = text + len;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);

        if (n && p[n - 1] == '\r')
            n--;
        emit_indented(r, QT_LINE_BODY, depth, 0, p, n);
        if (!nl)
            break;
        p = nl + 1;
    }
}

/* ---- delivery status ---- */

static const char *rcpt_state(const struct qt_rcpt_data *d)
{
    switch (d->state) {
    case QT_RCPT_DONE:
        return "done";
    case QT_RCPT_CANCELED:
        return "duplicate";
    case QT_RCPT_PENDING:
    default:
        return !d->reason ? "pending" : d->bounced ? "bounced" : "deferred";
    }
}

static void delivery_status(struct qt_render *r, const struct qt_queue_file *qf,
                            const struct qt_render_options *opt)
{
    struct qt_arena arena = {0};
    struct qt_msg_data d;
    struct qt_buf b = {0};
    struct stat st;
    size_t i;

    if (fstat(r->fd, &st) < 0)
        memset(&st, 0, sizeof(st));
    qt_msg_data_build(&arena, &d, qf, QT_Q_DEFERRED, &st, opt->defer, opt->bounce);
    render_emitf(r, QT_LINE_SEPARATOR, "--- Delivery status ---");
    if (qf->have_sender)
        emit_named(r, QT_LINE_RECORD, 0, "sender",
                   d.null_sender ? "<> (null sender: a bounce or notification)" : d.sender);
    for (i = 0; i < d.nrcpts; i++) {
        const struct qt_rcpt_data *rc = &d.rcpts[i];

        qt_buf_reset(&b);
        qt_buf_printf(&b, "%s", rc->address);
        if (rc->orig && strcmp(rc->orig, rc->address) != 0)
            qt_buf_printf(&b, " (original recipient %s)", rc->orig);
        if (rc->reason)
            qt_buf_printf(&b, ": %s%s%s", rc->status ? rc->status : "", rc->status ? " " : "",
                          rc->reason);
        emit_named(r, QT_LINE_RECORD, 0, rcpt_state(rc), b.data);
    }
    if (d.nrcpts == 0)
        emit_named(r, QT_LINE_RECORD, 0, "recipients", "none found");
    qt_buf_free(&b);
    qt_arena_free(&arena);
}

/* ---- reading the content ---- */

static void set_problem(struct decoded_view *v, const char *why)
{
    if (!v->problem)
        v->problem = xstrdup(why);
}

/* Rebuild the message from its N/L records.  Returns false when the file
 * has no content. */
static bool read_content(struct qt_render *r, GByteArray *content, bool *capped)
{
    struct decoded_view *v = r->view;
    struct qt_record_reader *rd = xcalloc(1, sizeof(*rd));
    int type;
    bool found = false;

    qt_record_reader_init(rd, r->fd, r->file_size, qt_queue_file_default_limits.max_record);
    while ((type = qt_record_next(rd, true)) >= 0 && type != QT_REC_MESG && type != QT_REC_END)
        ;
    if (type == QT_REC_MESG) {
        found = true;
        while ((type = qt_record_next(rd, true)) >= 0) {
            if (type == QT_REC_NORM || type == QT_REC_CONT) {
                if (content->len >= v->limit) {
                    *capped = true;
                    break;
                }
                g_byte_array_append(content, (const guint8 *)rd->payload.data,
                                    (guint)rd->payload.len);
                if (type == QT_REC_NORM)
                    g_byte_array_append(content, (const guint8 *)"\n", 1);
            } else if (type == QT_REC_XTRA || type == QT_REC_END) {
                break;
            }
        }
    }
    if (type == QT_REC_ERROR)
        set_problem(v, rd->error);
    else if (type == QT_REC_EOF)
        set_problem(v, "file ends inside the message: truncated");
    v->bytes_read += rd->bytes_read;
    qt_record_reader_free(rd);
    free(rd);
    return found;
}

static bool starts_ci(const char *p, const char *end, const char *prefix)
{
    size_t n = strlen(prefix);

    return (size_t)(end - p) >= n && strncasecmp(p, prefix, n) == 0;
}

/* GMime parses nested parts recursively: a hostile message nested a
 * hundred thousand levels deep would exhaust the stack.  Returns the offset
 * where the MAX_CONTAINERS+1st multipart or message part is declared, or
 * `len`. */
static size_t container_guard(const char *s, size_t len)
{
    size_t pos = 0, n = 0;

    while (pos < len) {
        const char *nl = memchr(s + pos, '\n', len - pos);
        size_t line_end = nl ? (size_t)(nl - s) : len;

        if (starts_ci(s + pos, s + line_end, "content-type:")) {
            const char *p = s + pos + 13, *end = s + line_end;

            while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
                p++;
            if (p == end && line_end + 1 < len) {       /* value folded onto the next line */
                p = s + line_end + 1;
                end = memchr(p, '\n', (size_t)(s + len - p));
                if (!end)
                    end = s + len;
                while (p < end && (*p == ' ' || *p == '\t'))
                    p++;
            }
            if ((starts_ci(p, end, "multipart/") || starts_ci(p, end, "message/")) &&
                ++n > MAX_CONTAINERS)
                return pos;
        }
        pos = line_end + 1;
    }
    return len;
}

/* ---- copying GMime's tree (under the GMime lock) ---- */

static struct mime_item *add_item(struct decoded_view *v, enum item_kind kind, unsigned depth,
                                  const char *path)
{
    struct mime_item *it;

    v->items = xgrow(v->items, &v->cap, v->nitems + 1, sizeof(*v->items));
    it = &v->items[v->nitems++];
    memset(it, 0, sizeof(*it));
    it->kind = kind;
    it->depth = depth;
    it->path = xstrdup(path);
    return it;
}

static void add_note(struct decoded_view *v, unsigned depth, const char *note)
{
    add_item(v, ITEM_NOTE, depth, "")->note = xstrdup(note);
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static char *lower_dup(const char *s)
{
    char *d, *p;

    if (!s)
        return NULL;
    d = xstrdup(s);
    for (p = d; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return d;
}

static char *object_type(GMimeObject *obj)
{
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    char *t = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
    char *out = lower_dup(t ? t : "text/plain");

    g_free(t);
    return out;
}

struct header_ref {
    GMimeHeader *header;
    gint64 offset;
    size_t order;
};

static int header_ref_cmp(const void *a, const void *b)
{
    const struct header_ref *x = a, *y = b;

    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static void collect_headers(GMimeObject *obj, struct header_ref **refs, size_t *n, size_t *cap)
{
    GMimeHeaderList *list = obj ? g_mime_object_get_header_list(obj) : NULL;
    int count = list ? g_mime_header_list_get_count(list) : 0, i;

    for (i = 0; i < count; i++) {
        GMimeHeader *h = g_mime_header_list_get_header_at(list, i);

        if (!h || !g_mime_header_get_name(h))
            continue;
        *refs = xgrow(*refs, cap, *n + 1, sizeof(**refs));
        (*refs)[*n].header = h;
        (*refs)[*n].offset = g_mime_header_get_offset(h);
        (*refs)[*n].order = *n;
        (*n)++;
    }
}

/* A message's header block as it was written.  GMime files the Content-*
 * headers under the message's body part, so the two lists are merged back
 * in file order. */
static void add_headers(struct decoded_view *v, GMimeMessage *msg, GMimeObject *body,
                        unsigned depth)
{
    struct mime_item *it = add_item(v, ITEM_HEADERS, depth, "");
    struct header_ref *refs = NULL;
    size_t n = 0, cap = 0, i;

    collect_headers(GMIME_OBJECT(msg), &refs, &n, &cap);
    collect_headers(body, &refs, &n, &cap);
    if (n)
        qsort(refs, n, sizeof(*refs), header_ref_cmp);
    for (i = 0; i < n; i++) {
        const char *raw = g_mime_header_get_raw_value(refs[i].header);
        struct mime_header *mh;

        it->headers = xgrow(it->headers, &it->headers_cap, it->nheaders + 1,
                            sizeof(*it->headers));
        mh = &it->headers[it->nheaders++];
        mh->name = xstrdup(g_mime_header_get_name(refs[i].header));
        mh->value = xstrdup(raw ? raw : "");
    }
    free(refs);
}

static void add_leaf(struct decoded_view *v, GMimePart *part, unsigned depth, const char *path)
{
    GMimeObject *obj = GMIME_OBJECT(part);
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    GMimeDataWrapper *wrapper = g_mime_part_get_content(part);
    GMimeStream *stream = wrapper ? g_mime_data_wrapper_get_stream(wrapper) : NULL;
    struct mime_item *it = add_item(v, ITEM_LEAF, depth, path);

    it->type = object_type(obj);
    it->charset = dup_or_null(ct ? g_mime_content_type_get_parameter(ct, "charset") : NULL);
    it->ct_name = dup_or_null(ct ? g_mime_content_type_get_parameter(ct, "name") : NULL);
    it->filename = dup_or_null(g_mime_part_get_filename(part));
    it->disposition = lower_dup(g_mime_object_get_disposition(obj));
    it->cte = dup_or_null(g_mime_object_get_header(obj, "Content-Transfer-Encoding"));
    it->encoding = wrapper ? g_mime_data_wrapper_get_encoding(wrapper)
                           : g_mime_part_get_content_encoding(part);
    if (stream) {
        char buf[16384];
        ssize_t n;

        g_mime_stream_reset(stream);
        while ((n = g_mime_stream_read(stream, buf, sizeof(buf))) > 0)
            qt_buf_append(&it->raw, buf, (size_t)n);
    }
}

static void flatten(struct decoded_view *v, GMimeObject *obj, unsigned depth, const char *path);

static void flatten_message(struct decoded_view *v, GMimeMessage *msg, unsigned depth,
                            const char *path)
{
    GMimeObject *body = g_mime_message_get_mime_part(msg);
    char *inner;

    add_headers(v, msg, body, depth);
    if (!body) {
        add_note(v, depth, "the message has no body");
        return;
    }
    /* A multipart's children are numbered under the message's own number;
     * a single body is part 1 of it (IMAP's numbering). */
    if (GMIME_IS_MULTIPART(body))
        inner = xstrdup(path);
    else
        inner = *path ? xasprintf("%s.1", path) : xstrdup("1");
    flatten(v, body, depth, inner);
    free(inner);
}

static void flatten(struct decoded_view *v, GMimeObject *obj, unsigned depth, const char *path)
{
    struct mime_item *it;

    if (depth > MAX_DEPTH) {
        char note[120];

        snprintf(note, sizeof(note), "parts nested deeper than %d levels are not shown",
                 MAX_DEPTH);
        add_note(v, depth, note);
        return;
    }
    if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *msg = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

        it = add_item(v, ITEM_CONTAINER, depth, path);
        it->type = object_type(obj);
        if (msg)
            flatten_message(v, msg, depth + 1, path);
        else
            add_note(v, depth + 1, "the attached message is empty");
    } else if (GMIME_IS_MULTIPART(obj)) {
        GMimeMultipart *mp = GMIME_MULTIPART(obj);
        int n = g_mime_multipart_get_count(mp), i;

        it = add_item(v, ITEM_CONTAINER, depth, path);
        it->type = object_type(obj);
        it->nchildren = n;
        if (n == 0)
            add_note(v, depth + 1, "no parts found (a missing or wrong boundary?)");
        for (i = 0; i < n; i++) {
            char *child = *path ? xasprintf("%s.%d", path, i + 1) : xasprintf("%d", i + 1);

            flatten(v, g_mime_multipart_get_part(mp, i), depth + 1, child);
            free(child);
        }
    } else if (GMIME_IS_PART(obj)) {
        add_leaf(v, GMIME_PART(obj), depth, path);
    } else {
        add_note(v, depth, "a MIME object of unknown kind");
    }
}

static void parse_message(struct qt_render *r)
{
    struct decoded_view *v = r->view;
    GByteArray *content = g_byte_array_new();
    GMimeParserOptions *options;
    GMimeStream *stream;
    GMimeParser *parser;
    GMimeMessage *msg;
    bool capped = false;
    size_t cut;

    if (!read_content(r, content, &capped)) {
        render_emitf(r, QT_LINE_WARNING, "no message content found in the queue file");
        g_byte_array_unref(content);
        return;
    }
    if (capped && v->content_size > 0)
        render_emitf(r, QT_LINE_WARNING,
                     "the message has %ld bytes: the decoded view shows the first %u; "
                     "the raw view shows all", v->content_size, content->len);
    else if (capped)
        render_emitf(r, QT_LINE_WARNING,
                     "the message is larger than %u bytes: the decoded view shows only "
                     "that much; the raw view shows all", content->len);
    cut = container_guard((const char *)content->data, content->len);
    if (cut < content->len) {
        render_emitf(r, QT_LINE_WARNING,
                     "more than %d multipart or message parts: the decoded view stops at "
                     "byte %zu", MAX_CONTAINERS, cut);
        g_byte_array_set_size(content, (guint)cut);
    }
    qt_text_init();
    qt_text_gmime_lock();
    stream = g_mime_stream_mem_new_with_byte_array(content);    /* owns content */
    parser = g_mime_parser_new_with_stream(stream);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
    options = g_mime_parser_options_new();
    g_mime_parser_options_set_rfc2047_compliance_mode(options, GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_parameter_compliance_mode(options, GMIME_RFC_COMPLIANCE_LOOSE);
    msg = g_mime_parser_construct_message(parser, options);
    if (msg) {
        flatten_message(v, msg, 0, "");
        g_object_unref(msg);
    } else {
        add_note(v, 0, "the MIME structure could not be parsed: see the raw view");
    }
    g_mime_parser_options_free(options);
    g_object_unref(parser);
    g_object_unref(stream);
    qt_text_gmime_unlock();
}

static bool is_text_type(const char *t)
{
    return strncmp(t, "text/", 5) == 0 || strcmp(t, "message/delivery-status") == 0 ||
           strcmp(t, "message/global-delivery-status") == 0 ||
           strcmp(t, "message/disposition-notification") == 0 ||
           strcmp(t, "message/feedback-report") == 0;
}

static void emit_notes(struct qt_render *r, unsigned depth, const char *path,
                       const struct qt_buf *notes)
{
    /* No notes: data is NULL, and NULL + 0 is undefined behaviour. */
    const char *p = notes->data, *end = p ? p + notes->len : NULL;

    while (p && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);

        emit_depthf(r, QT_LINE_WARNING, depth, "[%s] %.*s", path, (int)n, p);
        p = nl ? nl + 1 : end;
    }
}

static char *decoded_name(const char *raw)
{
    return raw ? qt_text_decode_header(raw, MAX_NAME) : NULL;
}

static void render_attachment(struct qt_render *r, const struct mime_item *it,
                              const struct qt_buf *data, const struct qt_buf *notes)
{
    struct decoded_view *v = r->view;
    char *name = decoded_name(it->filename), *ct_name = decoded_name(it->ct_name);
    const char *names[2];
    const char *magic = render_magic_type(v->magic, data->data ? data->data : "", data->len);
    struct qt_buf line = {0};
    char why[600];
    size_t nnames = 0;

    qt_buf_printf(&line, "[%s] %s ", it->path, it->disposition ? it->disposition : "part");
    if (name)
        qt_buf_printf(&line, "\"%s\"", name);
    else
        qt_buf_printf(&line, "(no name)");
    if (ct_name && (!name || strcmp(ct_name, name) != 0))
        qt_buf_printf(&line, " (Content-Type name \"%s\")", ct_name);
    qt_buf_printf(&line, ": %s, %zu bytes, libmagic: %s", it->type, data->len,
                  magic ? magic : "unavailable");
    emit_indented(r, QT_LINE_ATTACHMENT, it->depth, 0, line.data, line.len);
    if (name)
        names[nnames++] = name;
    if (ct_name)
        names[nnames++] = ct_name;
    if (magic && render_type_mismatch(it->type, names, nnames, magic, why, sizeof(why)))
        emit_depthf(r, QT_LINE_WARNING, it->depth, "[%s] %s", it->path, why);
    emit_notes(r, it->depth, it->path, notes);
    qt_buf_free(&line);
    free(name);
    free(ct_name);
}

static void render_text(struct qt_render *r, const struct mime_item *it,
                        const struct qt_buf *data, struct qt_buf *notes)
{
    struct qt_buf utf8 = {0}, html = {0};
    bool is_html = strcmp(it->type, "text/html") == 0;
    char *meta = NULL;
    const char *charset = it->charset;

    if (is_html && render_charset_missing(charset))
        charset = meta = render_html_meta_charset(data->data ? data->data : "", data->len);
    emit_depthf(r, QT_LINE_SEPARATOR, it->depth, "--- [%s] %s%s%s, %zu bytes ---", it->path,
                it->type, charset ? "; charset=" : "", charset ? charset : "", data->len);
    render_to_utf8(&utf8, data->data ? data->data : "", data->len, charset, notes);
    emit_notes(r, it->depth, it->path, notes);
    if (is_html) {
        render_html_to_text(&html, utf8.data ? utf8.data : "", utf8.len);
        emit_text_lines(r, it->depth, html.data ? html.data : "", html.len);
    } else {
        emit_text_lines(r, it->depth, utf8.data ? utf8.data : "", utf8.len);
    }
    qt_buf_free(&utf8);
    qt_buf_free(&html);
    free(meta);
}

static void render_leaf(struct qt_render *r, const struct mime_item *it)
{
    struct qt_buf data = {0}, notes = {0};
    bool attachment = !is_text_type(it->type) ||
                      (it->disposition && strcmp(it->disposition, "attachment") == 0);

    render_transfer_decode((int)it->encoding, it->cte, it->raw.data ? it->raw.data : "",
                           it->raw.len, &data, &notes);
    if (attachment)
        render_attachment(r, it, &data, &notes);
    else
        render_text(r, it, &data, &notes);
    qt_buf_free(&data);
    qt_buf_free(&notes);
}

/* Unfolding removes only the line breaks. */
static void render_headers(struct qt_render *r, const struct mime_item *it)
{
    struct qt_buf unfolded = {0};
    size_t i;

    if (it->depth == 0)
        render_emitf(r, QT_LINE_SEPARATOR, "--- Headers ---");
    for (i = 0; i < it->nheaders; i++) {
        const char *p;
        char *value;

        qt_buf_reset(&unfolded);
        for (p = it->headers[i].value; *p; p++)
            if (*p != '\r' && *p != '\n')
                qt_buf_putc(&unfolded, *p);
        value = qt_text_decode_header(unfolded.data ? unfolded.data : "", 0);
        emit_named(r, QT_LINE_HEADER, it->depth, it->headers[i].name, value);
        free(value);
    }
    qt_buf_free(&unfolded);
}

static void render_item(struct qt_render *r, const struct mime_item *it)
{
    switch (it->kind) {
    case ITEM_HEADERS:
        render_headers(r, it);
        break;
    case ITEM_CONTAINER:
        if (strncmp(it->type, "multipart/", 10) == 0)
            emit_depthf(r, QT_LINE_SEPARATOR, it->depth, "--- %s%s%s%s, %d part%s ---",
                        *it->path ? "[" : "", *it->path ? it->path : "",
                        *it->path ? "] " : "", it->type, it->nchildren,
                        it->nchildren == 1 ? "" : "s");
        else
            emit_depthf(r, QT_LINE_SEPARATOR, it->depth, "--- [%s] %s: attached message ---",
                        it->path, it->type);
        break;
    case ITEM_LEAF:
        render_leaf(r, it);
        break;
    case ITEM_NOTE:
        emit_indented(r, QT_LINE_WARNING, it->depth, 0, it->note, strlen(it->note));
        break;
    }
}

static void item_free(struct mime_item *it)
{
    size_t i;

    for (i = 0; i < it->nheaders; i++) {
        free(it->headers[i].name);
        free(it->headers[i].value);
    }
    free(it->headers);
    free(it->path);
    free(it->type);
    free(it->charset);
    free(it->filename);
    free(it->ct_name);
    free(it->disposition);
    free(it->cte);
    free(it->note);
    qt_buf_free(&it->raw);
    memset(it, 0, sizeof(*it));
}

/* ---- the view ---- */

static bool decoded_start(struct qt_render *r, const struct qt_render_options *opt)
{
    struct decoded_view *v = xcalloc(1, sizeof(*v));
    struct qt_queue_file qf;

    r->view = v;
    v->limit = opt->decode_limit ? opt->decode_limit : QT_RENDER_DECODE_LIMIT;
    if (v->limit > MAX_DECODE_LIMIT)
        v->limit = MAX_DECODE_LIMIT;    /* GByteArray counts in 32 bits */
    v->magic = render_magic_new();
    /* The envelope costs a few KB of reads: the delivery status is ready at
     * once, the MIME parse waits for the first lines asked for. */
    qt_queue_file_init(&qf);
    qt_queue_file_read(&qf, r->fd, "", false, NULL);
    v->bytes_read += qf.bytes_read;
    v->content_size = qf.size_ok ? qf.content_size : -1;
    if (qf.unreadable) {
        set_problem(v, qf.error);
        render_emitf(r, QT_LINE_WARNING, "the queue file is damaged: %s", qf.error);
    }
    delivery_status(r, &qf, opt);
    qt_queue_file_free(&qf);
    return true;
}

static void decoded_produce(struct qt_render *r)
{
    struct decoded_view *v = r->view;

    if (!v->parsed) {
        v->parsed = true;
        parse_message(r);
        return;
    }
    if (v->next < v->nitems) {
        render_item(r, &v->items[v->next]);
        item_free(&v->items[v->next]);
        v->next++;
        return;
    }
    if (v->problem)
        render_emitf(r, QT_LINE_WARNING, "end of what could be read: %s", v->problem);
    render_finish(r);
}

static off_t decoded_bytes_read(const struct qt_render *r)
{
    const struct decoded_view *v = r->view;

    return v->bytes_read;
}

static void decoded_free(struct qt_render *r)
{
    struct decoded_view *v = r->view;
    size_t i;

    for (i = 0; i < v->nitems; i++)
        item_free(&v->items[i]);
    free(v->items);
    free(v->problem);
    render_magic_free(v->magic);
    qt_buf_free(&v->scratch);
    free(v);
    r->view = NULL;
}

const struct render_view_ops qt_render_decoded_ops = {
    .start = decoded_start,
    .produce = decoded_produce,
    .bytes_read = decoded_bytes_read,
    .free = decoded_free,
};
