/* What the libFuzzer harnesses share: the input as an open file (the core
 * reads queue files through an fd), a writer of well-formed Postfix records
 * for inputs the harness builds itself, and the checks of what the core
 * promises about text that reaches a terminal.
 *
 * A failed check aborts with a message, so libFuzzer saves the input as a
 * crash.  Nothing here keeps state between inputs. */
#ifndef QTRIAGE_FUZZ_COMMON_H
#define QTRIAGE_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "qfbuild.h"
#include "qtriage/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond, ...)                                                   \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "fuzz check failed at %s:%d: %s: ", __FILE__,       \
                    __LINE__, #cond);                                           \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
            abort();                                                            \
        }                                                                       \
    } while (0)

/* Times rendered by the core do not depend on the machine's zone. */
static inline void fuzz_fixed_environment(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
}

/* `len` bytes in a fresh anonymous file, at offset 0; the caller closes it. */
static inline int fuzz_memfd(const void *data, size_t len)
{
    const char *p = data;
    int fd = memfd_create("qtriage-fuzz", MFD_CLOEXEC);

    if (fd < 0) {
        perror("memfd_create");
        abort();
    }
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n <= 0) {
            perror("write to memfd");
            abort();
        }
        p += n;
        len -= (size_t)n;
    }
    return fd;
}

/* Building a well-formed queue file: fuzz_qf_begin() writes a size record
 * to be filled in; after the envelope, fuzz_qf_content() writes the M
 * record; after the content, fuzz_qf_extracted() writes X and fills in the
 * size record, as Postfix's cleanup does. */
struct fuzz_qf {
    struct qt_buf *b;
    size_t size_pos, content_start;
    long rcpts;
};

static inline void fuzz_qf_begin(struct fuzz_qf *q, struct qt_buf *b, long rcpts)
{
    q->b = b;
    q->rcpts = rcpts;
    q->size_pos = qfb_size_placeholder(b);
}

static inline void fuzz_qf_content(struct fuzz_qf *q)
{
    qfb_str(q->b, 'M', "");
    q->content_start = q->b->len;
}

static inline void fuzz_qf_extracted(struct fuzz_qf *q)
{
    qfb_size_patch(q->b, q->size_pos, q->content_start, q->b->len, q->rcpts);
    qfb_str(q->b, 'X', "");
}

/* A well-formed queue file whose message content is `msg` (an RFC 5322
 * message, lines ending in LF): each line an N record, long lines cut into
 * L records first as cleanup cuts them.  Lets the fuzzer work on MIME
 * without having to keep record lengths right. */

static inline void fuzz_wrap_message(struct qt_buf *b, const char *msg, size_t len)
{
    struct fuzz_qf q;

    qt_buf_reset(b);
    fuzz_qf_begin(&q, b, 2);
    qfb_str(b, 'T', "1795354822 123456");
    qfb_str(b, 'A', "create_time=1795354821");
    qfb_str(b, 'A', "client_address=192.0.2.7");
    qfb_str(b, 'S', "flooder@spam.example");
    qfb_str(b, 'O', "orig@dest.example");
    qfb_str(b, 'R', "rewritten@dest.example");
    qfb_str(b, 'D', "done@dest.example");
    fuzz_qf_content(&q);
    qfb_content_lines(b, msg, len);
    fuzz_qf_extracted(&q);
    qfb_str(b, 'R', "extracted@dest.example");
    qfb_str(b, 'E', "");
}

/* Length of the UTF-8 character at s that a terminal may safely be sent:
 * shortest form, no surrogate, at most U+10FFFF, no C1 control.  0 when
 * invalid.  Written apart from the core's own check on purpose. */
static inline size_t fuzz_utf8_char(const unsigned char *s, size_t avail)
{
    uint32_t cp;
    size_t n, i;

    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xe0) == 0xc0)
        n = 2, cp = s[0] & 0x1f;
    else if ((s[0] & 0xf0) == 0xe0)
        n = 3, cp = s[0] & 0x0f;
    else if ((s[0] & 0xf8) == 0xf0)
        n = 4, cp = s[0] & 0x07;
    else
        return 0;
    if (avail < n)
        return 0;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000))
        return 0;               /* overlong */
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    if (cp >= 0x80 && cp <= 0x9f)
        return 0;               /* C1 control */
    /* Bidi controls, zero-width characters and marks, separators, tags:
     * invisible, and shown as U+FFFD by the core (qtriage/text.h). */
    if ((cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
        (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x206f) || cp == 0xfeff ||
        cp == 0x061c || cp == 0x180e || (cp >= 0xfff9 && cp <= 0xfffb) ||
        (cp >= 0xe0000 && cp <= 0xe007f))
        return 0;
    return n;
}

/* Why `len` bytes are not safe terminal text (valid UTF-8, no C0/C1
 * control, no DEL, no NUL, no invisible formatting character), or NULL
 * when they are; *at gets the offset. */
static inline const char *fuzz_unsafe_text(const char *text, size_t len, size_t *at)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0, n;

    while (i < len) {
        *at = i;
        if (s[i] < 0x20)
            return "control character";
        if (s[i] == 0x7f)
            return "DEL";
        if ((n = fuzz_utf8_char(s + i, len - i)) == 0)
            return "invalid UTF-8, C1 control or invisible character";
        i += n;
    }
    return NULL;
}

static inline void fuzz_check_safe_text(const char *what, const char *text, size_t len)
{
    size_t at = 0;
    const char *why = fuzz_unsafe_text(text, len, &at);

    FUZZ_CHECK(!why, "%s: %s at byte %zu of %zu (0x%02x)", what, why, at, len,
               (unsigned)(unsigned char)text[at]);
}

/* No byte below 0x20 and no DEL (8-bit bytes are allowed: raw addresses). */
static inline void fuzz_check_no_controls(const char *what, const char *s)
{
    size_t i;

    for (i = 0; s[i]; i++)
        FUZZ_CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f,
                   "%s: control byte 0x%02x at %zu in \"%s\"", what,
                   (unsigned)(unsigned char)s[i], i, s);
}

#endif
