/* Test helper: build queue files record by record, as Postfix's cleanup
 * writes them, to exercise the reader on exact byte layouts. */
#ifndef QTRIAGE_TEST_QFBUILD_H
#define QTRIAGE_TEST_QFBUILD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qtriage/util.h"

static inline void qfb_record(struct qt_buf *b, int type, const char *data, size_t len)
{
    size_t rest = len;

    qt_buf_putc(b, (char)type);
    do {
        unsigned char byte = rest & 0x7f;

        rest >>= 7;
        if (rest)
            byte |= 0x80;
        qt_buf_putc(b, (char)byte);
    } while (rest);
    qt_buf_append(b, data, len);
}

static inline void qfb_str(struct qt_buf *b, int type, const char *s)
{
    qfb_record(b, type, s, strlen(s));
}

/* The lines of `msg` (LF-terminated) as content records, as cleanup writes
 * them: each line an N record, a line longer than 2048 bytes cut into L
 * records first. */
static inline void qfb_content_lines(struct qt_buf *b, const char *msg, size_t len)
{
    const char *p = msg, *end = msg + len;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);

        while (n > 2048) {
            qfb_record(b, 'L', p, 2048);
            p += 2048;
            n -= 2048;
        }
        qfb_record(b, 'N', p, n);
        p += n + (nl ? 1 : 0);
    }
}

/* A size record of zeros, to be filled in by qfb_size_patch() once the
 * content is written.  Returns its offset. */
static inline size_t qfb_size_placeholder(struct qt_buf *b)
{
    char size[128];
    size_t pos = b->len;

    snprintf(size, sizeof(size), "%15ld %15ld %15ld %15ld %15ld %15ld", 0L, 0L, 0L, 0L, 0L, 0L);
    qfb_str(b, 'C', size);
    return pos;
}

/* Fill in the size record at `pos`: the content runs from content_start to
 * content_end (where the X record begins). */
static inline void qfb_size_patch(struct qt_buf *b, size_t pos, size_t content_start,
                                  size_t content_end, long nrcpt)
{
    char size[128];

    snprintf(size, sizeof(size), "%15ld %15ld %15ld %15ld %15ld %15ld",
             (long)(content_end - content_start), (long)content_start, nrcpt, 0L,
             (long)(content_end - content_start), 0L);
    memcpy(b->data + pos + 2, size, strlen(size));
}

/* A complete, typical queue file:  C T A... S O R R M <headers> <body> X R E.
 * The size record is patched once the content size is known. */
static inline void qfb_typical(struct qt_buf *b, const char *subject_header)
{
    size_t size_pos, content_start, content_end;

    qt_buf_reset(b);
    size_pos = qfb_size_placeholder(b);
    qfb_str(b, 'T', "1795354822 123456");
    qfb_str(b, 'A', "create_time=1795354821");
    qfb_str(b, 'A', "client_address=192.0.2.7");
    qfb_str(b, 'A', "sasl_username=hijacked");
    qfb_str(b, 'S', "flooder@spam.example");
    qfb_str(b, 'O', "orig@dest.example");
    qfb_str(b, 'R', "rewritten@dest.example");
    qfb_str(b, 'D', "done@dest.example");
    qfb_str(b, 'R', "second@other.example");
    qfb_str(b, 'M', "");
    content_start = b->len;
    qfb_str(b, 'N', "Received: from x");
    qfb_str(b, 'N', "\tby y; Sun, 22 Nov 2026 10:00:00 +0000");
    qfb_str(b, 'N', subject_header);
    qfb_str(b, 'L', "From: =?UTF-8?Q?J=C3=BCrgen?= ");
    qfb_str(b, 'N', "<j@spam.example>");
    qfb_str(b, 'N', "");
    qfb_str(b, 'N', "Body line one.");
    qfb_str(b, 'N', "Body line two.");
    content_end = b->len;
    qfb_str(b, 'X', "");
    qfb_str(b, 'R', "extracted@dest.example");
    qfb_str(b, 'E', "");
    qfb_size_patch(b, size_pos, content_start, content_end, 3);
}

/* Write `len` bytes to a fresh temporary file; returns an fd at offset 0. */
static inline int qfb_tempfile(const void *data, size_t len)
{
    char path[] = "/tmp/qtriage-test-XXXXXX";
    int fd = mkstemp(path);

    if (fd < 0) {
        perror("mkstemp");
        abort();
    }
    unlink(path);
    if (len && write(fd, data, len) != (ssize_t)len) {
        perror("write");
        abort();
    }
    return fd;
}

#endif
