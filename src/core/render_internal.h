/* What the render views (render_raw.c, render_mime.c) share with the line
 * queue in render.c.  Not a public header. */
#ifndef QTRIAGE_RENDER_INTERNAL_H
#define QTRIAGE_RENDER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "qtriage/render.h"
#include "qtriage/util.h"

/* A view turns the file into lines.  produce() is called while the viewer
 * wants more lines than are queued; each call must queue at least one line
 * or advance towards the end, and call render_finish() when there is no
 * more to come. */
struct render_view_ops {
    bool (*start)(struct qt_render *r, const struct qt_render_options *opt);
    void (*produce)(struct qt_render *r);
    off_t (*bytes_read)(const struct qt_render *r);
    void (*free)(struct qt_render *r);
};

extern const struct render_view_ops qt_render_raw_ops;
extern const struct render_view_ops qt_render_decoded_ops;

struct render_slot {
    enum qt_line_kind kind;
    size_t off, len, name_len;
    bool continued;
};

/* Lines produced but not yet handed out.  Slots before `head` were handed
 * out; they are dropped at the next qt_render_lines() call. */
struct render_queue {
    struct qt_buf text;
    struct render_slot *slots;
    size_t n, cap, head;
};

struct qt_render {
    enum qt_render_mode mode;
    int fd;
    off_t file_size;
    char *label;
    const struct render_view_ops *ops;
    void *view;                 /* the view's private state */
    bool finished;              /* the view has nothing more to produce */
    size_t handed;              /* lines returned by the last call */
    struct render_queue queue;
};

/* Queue one logical line: cut into QT_RENDER_LINE_MAX pieces and, unless the
 * mode is RAW_BYTES, sanitised and tab-expanded.  The first `name_len` bytes
 * of `text` are its name (see struct qt_render_line). */
void render_emit(struct qt_render *r, enum qt_line_kind kind, size_t name_len,
                 const char *text, size_t len);
/* Queue one piece of a line as it is (after sanitising); `continued` says
 * that the logical line goes on in the next piece. */
void render_emit_piece(struct qt_render *r, enum qt_line_kind kind, size_t name_len,
                       const char *text, size_t len, bool continued);
void render_emitf(struct qt_render *r, enum qt_line_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void render_finish(struct qt_render *r);
/* Lines queued so far (produce() uses it to see whether it made progress). */
size_t render_queued(const struct qt_render *r);

/* The longest prefix of `len` bytes, at most QT_RENDER_LINE_MAX, that does
 * not end inside a UTF-8 sequence (so a cut line keeps its characters). */
size_t render_cut_point(const char *text, size_t len);

/* A part's content decoded from its Content-Transfer-Encoding (`encoding`
 * is a GMimeContentEncoding, `cte` the header as written or NULL) into
 * `out`; problems go to `notes`, one a line (render_decode.c). */
void render_transfer_decode(int encoding, const char *cte, const char *raw, size_t len,
                            struct qt_buf *out, struct qt_buf *notes);
/* Text in `charset` appended to `out` as UTF-8: unknown charsets and bytes
 * that do not convert are said in `notes`.  Without a real charset (none,
 * us-ascii), UTF-8 when valid, else Windows-1252. */
void render_to_utf8(struct qt_buf *out, const char *in, size_t len, const char *charset,
                    struct qt_buf *notes);
bool render_charset_missing(const char *charset);

/* HTML to plain text, good enough to read a message: tags dropped, block
 * tags become line breaks, script/style/comments removed, common entities
 * decoded.  `html` is UTF-8; the result is appended to `out`. */
void render_html_to_text(struct qt_buf *out, const char *html, size_t len);
/* The charset an HTML document names in a <meta> tag (malloc'd), or NULL. */
char *render_html_meta_charset(const char *html, size_t len);

/* libmagic and the comparison of what an attachment claims to be with
 * what it is (render_attach.c). */
struct render_magic;
struct render_magic *render_magic_new(void);
void render_magic_free(struct render_magic *m);
/* MIME type libmagic finds in the first few KB of `data` (static or owned
 * by `m` until the next call), or NULL when libmagic is unavailable. */
const char *render_magic_type(struct render_magic *m, const void *data, size_t len);
/* Does `magic` contradict the declared type or a file name's extension?
 * When it does, `why` says how. */
bool render_type_mismatch(const char *declared, const char *const *names, size_t nnames,
                          const char *magic, char *why, size_t why_size);

#endif
