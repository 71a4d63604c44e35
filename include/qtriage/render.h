/* Turning one queue file into lines for the message viewer.
 *
 * Two views of the same file:
 *
 *  - raw: what `postcat -q ID` prints (Postfix 3.7's default output):
 *    envelope records, the message content with `L` continuation records
 *    joined, the extracted segment, between postcat's `*** … ***` markers.
 *    Lazy: records are read through qt_record_reader's pread window only
 *    as far as the lines asked for so far, so the first screen of a 50 MB
 *    message costs a few kilobytes of reads.
 *
 *  - decoded: the delivery status of every recipient, the headers with
 *    RFC 2047 decoded, then each MIME part: text decoded from its transfer
 *    encoding and charset, HTML reduced to text, and one line per attachment
 *    with its declared type, name, size and the type libmagic finds in its
 *    bytes (a mismatch is flagged).  Only the first decode_limit bytes of
 *    the content are parsed, and a line says so when the message is larger.
 *
 * Everything from the file is sanitised for a terminal (no control
 * characters, no escape sequences, valid UTF-8, tabs expanded) except in
 * QT_RENDER_RAW_BYTES mode, which yields postcat's exact bytes.  A garbled or
 * truncated file is never an error: what could be read is rendered and a
 * QT_LINE_WARNING line says what went wrong. */
#ifndef QTRIAGE_RENDER_H
#define QTRIAGE_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "qtriage/defer_log.h"
#include "qtriage/util.h"

enum qt_render_mode {
    QT_RENDER_RAW,          /* postcat layout, sanitised for the terminal */
    QT_RENDER_RAW_BYTES,    /* postcat layout, postcat's exact bytes (tests, export) */
    QT_RENDER_DECODED,      /* MIME decoded; always sanitised */
};

/* What a line is, so the viewer can colour it. */
enum qt_line_kind {
    QT_LINE_SEPARATOR,      /* postcat's "*** … ***" markers, section and part titles */
    QT_LINE_RECORD,         /* "name: value": envelope records, recipients' delivery state */
    QT_LINE_HEADER,         /* a message header line (or its folded continuation) */
    QT_LINE_BODY,           /* message text */
    QT_LINE_ATTACHMENT,     /* one attachment: name, declared type, size, libmagic type */
    QT_LINE_WARNING,        /* something is wrong with the file or a part */
};

struct qt_render_line {
    enum qt_line_kind kind;
    const char *text;       /* NUL-terminated; may hold NULs in RAW_BYTES mode */
    size_t len;
    size_t name_len;        /* leading bytes that name the line ("Subject:",
                               "recipient:"), for colouring; 0 when none */
    bool continued;         /* the logical line was longer than
                               QT_RENDER_LINE_MAX: it goes on in the next line
                               (no line break between the two) */
};

/* Logical lines are cut into pieces of at most this many input bytes. */
#define QT_RENDER_LINE_MAX 4096

/* Default cap on the content parsed for the decoded view. */
#define QT_RENDER_DECODE_LIMIT ((size_t)8 << 20)

struct qt_render_options {
    /* Logs for the decoded view's delivery status; NULL when there is none.
     * They are read during qt_render_open only. */
    const struct qt_defer_log *defer;
    const struct qt_defer_log *bounce;
    /* Content bytes parsed for the decoded view; 0: QT_RENDER_DECODE_LIMIT
     * (at most 1 GB). */
    size_t decode_limit;
};

struct qt_render;

/* Start rendering the queue file open on `fd`.  The fd is duplicated, so the
 * caller may close its own at once.  `label` names the file in postcat's
 * markers (postcat -q prints the queue path, e.g. "deferred/5/501FBA72379").
 * `opt` may be NULL.  Returns NULL with `err` set only when the file cannot
 * be used at all (fstat or dup fails); problems inside the file become
 * warning lines. */
struct qt_render *qt_render_open(int fd, const char *label, enum qt_render_mode mode,
                                 const struct qt_render_options *opt, struct qt_error *err);

/* Fill `out` with the next lines, at most `max` (> 0).  Lines come once,
 * in order: a viewer that scrolls back keeps the lines it has shown (or
 * opens the file again).  Returns how many; 0 means the end (then
 * qt_render_done() is true).  The lines, and the text they
 * point to, stay valid until the next qt_render_lines() or qt_render_close()
 * on `r`: copy what must live longer. */
size_t qt_render_lines(struct qt_render *r, struct qt_render_line *out, size_t max);

/* True once every line has been returned. */
bool qt_render_done(const struct qt_render *r);

/* Bytes read from the queue file so far (how lazy the rendering was). */
off_t qt_render_bytes_read(const struct qt_render *r);

void qt_render_close(struct qt_render *r);

struct qt_spool_layout;
/* Open the queued message `id` for rendering: look for it in `hint` first
 * (QT_Q_COUNT: no idea), then in every queue (it may have moved since it
 * was listed), and read its defer and bounce logs for the delivery status.
 * NULL with `err` set when the message is not in the queue (any more) or
 * cannot be read. */
struct qt_render *qt_render_open_queued(const struct qt_spool_layout *l, const char *id,
                                        int hint, enum qt_render_mode mode, struct qt_error *err);

#endif
