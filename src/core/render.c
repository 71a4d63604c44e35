/* The viewer's line iterator: a queue of lines that a view (raw or decoded)
 * fills on demand, and the sanitising every line goes through. */
#include "qtriage/render.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qtriage/text.h"
#include "render_internal.h"

#define TAB_WIDTH 8

size_t render_cut_point(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t cut, lead;

    if (len <= QT_RENDER_LINE_MAX)
        return len;
    cut = lead = QT_RENDER_LINE_MAX;
    /* Back up to the start of a character when the cut would split one;
     * a run of more than 3 continuation bytes is not UTF-8 anyway. */
    while (cut - lead < 3 && (s[lead] & 0xc0) == 0x80)
        lead--;
    if (lead < cut && qt_utf8_seq_len(s + lead, len - lead) > cut - lead)
        cut = lead;
    return cut;
}

/* Sanitise one piece and expand its tabs; a tab becomes blanks up to the
 * next multiple of TAB_WIDTH columns (a character counted as one column). */
static void sanitize_expand(struct qt_buf *out, const char *in, size_t len, size_t *col)
{
    size_t i = 0;

    while (i < len) {
        const char *tab = memchr(in + i, '\t', len - i);
        size_t seg = tab ? (size_t)(tab - (in + i)) : len - i, start = out->len, k;

        qt_text_sanitize(out, in + i, seg);
        for (k = start; k < out->len; k++)
            if (((unsigned char)out->data[k] & 0xc0) != 0x80)
                (*col)++;
        i += seg;
        if (tab) {
            do {
                qt_buf_putc(out, ' ');
                (*col)++;
            } while (*col % TAB_WIDTH);
            i++;
        }
    }
}

static struct render_slot *new_slot(struct qt_render *r)
{
    struct render_queue *q = &r->queue;
    struct render_slot *s;

    q->slots = xgrow(q->slots, &q->cap, q->n + 1, sizeof(*q->slots));
    s = &q->slots[q->n++];
    memset(s, 0, sizeof(*s));
    return s;
}

void render_emit_piece(struct qt_render *r, enum qt_line_kind kind, size_t name_len,
                       const char *text, size_t len, bool continued)
{
    struct render_queue *q = &r->queue;
    struct render_slot *s = new_slot(r);
    size_t col = 0;

    if (name_len > len)
        name_len = len;
    s->kind = kind;
    s->continued = continued;
    s->off = q->text.len;
    if (r->mode == QT_RENDER_RAW_BYTES) {
        qt_buf_append(&q->text, text, len);
        s->name_len = name_len;
    } else {
        /* The name is sanitised on its own so its length is known after. */
        sanitize_expand(&q->text, text, name_len, &col);
        s->name_len = q->text.len - s->off;
        sanitize_expand(&q->text, text + name_len, len - name_len, &col);
    }
    s->len = q->text.len - s->off;
    /* Every line ends in a NUL of its own. */
    qt_buf_putc(&q->text, 0);
}

void render_emit(struct qt_render *r, enum qt_line_kind kind, size_t name_len,
                 const char *text, size_t len)
{
    do {
        size_t cut = render_cut_point(text, len);

        render_emit_piece(r, kind, name_len, text, cut, cut < len);
        name_len = name_len > cut ? name_len - cut : 0;
        text += cut;
        len -= cut;
    } while (len > 0);
}

void render_emitf(struct qt_render *r, enum qt_line_kind kind, const char *fmt, ...)
{
    struct qt_buf b = {0};
    va_list ap;

    va_start(ap, fmt);
    qt_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    render_emit(r, kind, 0, b.data ? b.data : "", b.len);
    qt_buf_free(&b);
}

void render_finish(struct qt_render *r)
{
    r->finished = true;
}

size_t render_queued(const struct qt_render *r)
{
    return r->queue.n;
}

struct qt_render *qt_render_open(int fd, const char *label, enum qt_render_mode mode,
                                 const struct qt_render_options *opt, struct qt_error *err)
{
    static const struct qt_render_options no_options;
    struct qt_render *r;
    struct stat st;
    int own;

    if (fstat(fd, &st) < 0) {
        qt_error_set(err, "cannot stat the queue file: %s", strerror(errno));
        return NULL;
    }
    /* The views read lazily with pread(): the file must outlive the
     * caller's descriptor. */
    if ((own = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) {
        qt_error_set(err, "cannot duplicate the queue file descriptor: %s", strerror(errno));
        return NULL;
    }
    r = xcalloc(1, sizeof(*r));
    r->mode = mode;
    r->fd = own;
    r->file_size = st.st_size;
    r->label = xstrdup(label ? label : "");
    r->ops = mode == QT_RENDER_DECODED ? &qt_render_decoded_ops : &qt_render_raw_ops;
    if (!r->ops->start(r, opt ? opt : &no_options)) {
        qt_error_set(err, "cannot start the message view");
        qt_render_close(r);
        return NULL;
    }
    return r;
}

/* Drop the lines handed out last time; the text they used is reclaimed
 * once most of the queue is gone, so a long message is not copied over and
 * over. */
static void queue_drop_handed(struct qt_render *r)
{
    struct render_queue *q = &r->queue;
    size_t keep, text_start, i;

    q->head += r->handed;
    r->handed = 0;
    if (q->head == q->n) {
        q->head = q->n = 0;
        qt_buf_reset(&q->text);
        return;
    }
    if (q->head < 256 || q->head * 2 < q->n)
        return;
    keep = q->n - q->head;
    text_start = q->slots[q->head].off;
    memmove(q->slots, q->slots + q->head, keep * sizeof(*q->slots));
    for (i = 0; i < keep; i++)
        q->slots[i].off -= text_start;
    memmove(q->text.data, q->text.data + text_start, q->text.len - text_start);
    q->text.len -= text_start;
    q->text.data[q->text.len] = 0;
    q->head = 0;
    q->n = keep;
}

size_t qt_render_lines(struct qt_render *r, struct qt_render_line *out, size_t max)
{
    struct render_queue *q = &r->queue;
    size_t n, i;

    queue_drop_handed(r);
    while (q->n - q->head < max && !r->finished)
        r->ops->produce(r);
    n = q->n - q->head < max ? q->n - q->head : max;
    for (i = 0; i < n; i++) {
        const struct render_slot *s = &q->slots[q->head + i];

        out[i].kind = s->kind;
        out[i].text = q->text.data + s->off;
        out[i].len = s->len;
        out[i].name_len = s->name_len;
        out[i].continued = s->continued;
    }
    r->handed = n;
    return n;
}

bool qt_render_done(const struct qt_render *r)
{
    return r->finished && r->queue.head + r->handed >= r->queue.n;
}

off_t qt_render_bytes_read(const struct qt_render *r)
{
    return r->ops->bytes_read(r);
}

void qt_render_close(struct qt_render *r)
{
    if (!r)
        return;
    if (r->view)
        r->ops->free(r);
    close(r->fd);
    free(r->label);
    free(r->queue.slots);
    qt_buf_free(&r->queue.text);
    free(r);
}
