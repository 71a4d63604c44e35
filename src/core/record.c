#include "qtriage/record.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void qt_record_reader_init(struct qt_record_reader *r, int fd, off_t file_size,
                           size_t max_payload)
{
    struct qt_buf keep = r->payload;

    memset(r, 0, offsetof(struct qt_record_reader, window));
    r->window_start = 0;
    r->window_len = 0;
    r->reverse_jumps = 0;
    r->bytes_read = 0;
    r->error[0] = 0;
    r->payload = keep;
    qt_buf_reset(&r->payload);
    r->fd = fd;
    r->file_size = file_size;
    r->max_payload = max_payload;
}

void qt_record_reader_free(struct qt_record_reader *r)
{
    qt_buf_free(&r->payload);
}

static void fail(struct qt_record_reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void fail(struct qt_record_reader *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->error, sizeof(r->error), fmt, ap);
    va_end(ap);
}

/* Make r->pos readable in the window.  Returns false at end of file or on a
 * read error (r->error set for the latter). */
static bool window_fill(struct qt_record_reader *r)
{
    ssize_t n;

    if (r->pos >= r->window_start && r->pos < r->window_start + (off_t)r->window_len)
        return true;
    if (r->pos >= r->file_size)
        return false;
    do
        n = pread(r->fd, r->window, sizeof(r->window), r->pos);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        fail(r, "read error at offset %lld: %s", (long long)r->pos, strerror(errno));
        return false;
    }
    r->window_start = r->pos;
    r->window_len = (size_t)n;
    r->bytes_read += n;
    return n > 0;
}

static int get_byte(struct qt_record_reader *r)
{
    int c;

    if (!window_fill(r))
        return -1;
    c = r->window[r->pos - r->window_start];
    r->pos++;
    return c;
}

static bool get_bytes(struct qt_record_reader *r, size_t len)
{
    qt_buf_reset(&r->payload);
    qt_buf_reserve(&r->payload, len);
    while (len > 0) {
        size_t avail, take;

        if (!window_fill(r))
            return false;
        avail = r->window_len - (size_t)(r->pos - r->window_start);
        take = avail < len ? avail : len;
        memcpy(r->payload.data + r->payload.len, r->window + (r->pos - r->window_start), take);
        r->payload.len += take;
        r->pos += take;
        len -= take;
    }
    r->payload.data[r->payload.len] = 0;
    return true;
}

bool qt_record_seek(struct qt_record_reader *r, off_t offset)
{
    if (offset < 0 || offset > r->file_size) {
        fail(r, "offset %lld outside the file (%lld bytes)", (long long)offset,
             (long long)r->file_size);
        return false;
    }
    r->pos = offset;
    return true;
}

static bool follow_pointer(struct qt_record_reader *r)
{
    long target;

    if (!qt_parse_long(r->payload.data, &target) || target < 0) {
        fail(r, "malformed pointer record at offset %lld", (long long)r->rec_offset);
        return false;
    }
    if (target == 0)
        return true;            /* placeholder pointer: keep reading in sequence */
    if (target <= r->rec_offset && ++r->reverse_jumps > QT_REC_REVERSE_JUMP_LIMIT) {
        fail(r, "too many backward pointer records (pointer loop?)");
        return false;
    }
    return qt_record_seek(r, (off_t)target);
}

int qt_record_next(struct qt_record_reader *r, bool follow_pointers)
{
    for (;;) {
        int type, byte;
        size_t len = 0;
        unsigned shift;

        r->rec_offset = r->pos;
        type = get_byte(r);
        if (type < 0)
            return r->error[0] ? QT_REC_ERROR : QT_REC_EOF;
        for (shift = 0;; shift += 7) {
            if (shift >= 28) {
                fail(r, "record '%c' at offset %lld: length has too many bytes",
                     type, (long long)r->rec_offset);
                return QT_REC_ERROR;
            }
            if ((byte = get_byte(r)) < 0) {
                if (!r->error[0])
                    fail(r, "file ends inside the length of record '%c' at offset %lld",
                         type, (long long)r->rec_offset);
                return QT_REC_ERROR;
            }
            len |= (size_t)(byte & 0x7f) << shift;
            if (!(byte & 0x80))
                break;
        }
        if (len > r->max_payload) {
            fail(r, "record '%c' at offset %lld claims %zu bytes (limit %zu)", type,
                 (long long)r->rec_offset, len, r->max_payload);
            return QT_REC_ERROR;
        }
        if ((off_t)len > r->file_size - r->pos) {
            fail(r, "file is truncated: record '%c' at offset %lld needs %zu bytes, "
                 "%lld remain", type, (long long)r->rec_offset, len,
                 (long long)(r->file_size - r->pos));
            return QT_REC_ERROR;
        }
        if (!get_bytes(r, len)) {
            if (!r->error[0])
                fail(r, "file ends inside record '%c' at offset %lld", type,
                     (long long)r->rec_offset);
            return QT_REC_ERROR;
        }
        r->parsed += r->pos - r->rec_offset;
        if (r->parsed > 2 * r->file_size + QT_REC_LOOP_SLACK) {
            fail(r, "pointer records loop: more than twice the file parsed");
            return QT_REC_ERROR;
        }
        if (type == QT_REC_DTXT)
            continue;
        if (type == QT_REC_PTR && follow_pointers) {
            if (!follow_pointer(r))
                return QT_REC_ERROR;
            continue;
        }
        return type;
    }
}
