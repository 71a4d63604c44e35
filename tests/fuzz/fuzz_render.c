/* The input is a queue file, rendered to its end in every mode: RAW,
 * RAW_BYTES and DECODED (with a small defer log, so the delivery status
 * has reasons to show).  Lines are taken a few at a time, as a viewer
 * scrolling down takes them.  Then the same again with the input as the
 * message content of a well-formed queue file (fuzz_wrap_message), which
 * is how the MIME decoder gets hostile messages rather than broken
 * records.
 *
 * Checked: RAW and DECODED lines are safe terminal text (valid UTF-8, no
 * C0 or C1 control, no DEL, no NUL) and bounded; every line is
 * NUL-terminated; the renderer finishes and says so. */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "qtriage/defer_log.h"
#include "qtriage/render.h"
#include "qtriage/text.h"

/* Lines asked for per call: small and varied, to cross the queue's
 * bookkeeping (dropping handed-out lines, compacting its text). */
static const size_t batch_sizes[] = {1, 7, 64, 3};

/* A piece holds at most QT_RENDER_LINE_MAX input bytes (plus an indent of
 * at most 32 columns); a tab grows to at most 8 blanks, a bad byte to a
 * 3-byte U+FFFD. */
#define MAX_LINE_BYTES (8 * (QT_RENDER_LINE_MAX + 64))

static const char defer_text[] =
    "recipient=remote@mail.example\n"
    "offset=335\n"
    "status=4.4.1\n"
    "action=delayed\n"
    "reason=connect to 127.0.0.1[127.0.0.1]:56969: Connection \x1b[31mrefused\n"
    "\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_fixed_environment();
    qt_text_init();
    return 0;
}

static void check_line(enum qt_render_mode mode, const struct qt_render_line *l)
{
    FUZZ_CHECK(l->text, "line without text");
    FUZZ_CHECK(l->text[l->len] == 0, "line not NUL-terminated");
    FUZZ_CHECK(l->name_len <= l->len, "name of %zu bytes in a line of %zu", l->name_len,
               l->len);
    FUZZ_CHECK(l->kind <= QT_LINE_WARNING, "line kind %d", (int)l->kind);
    if (mode == QT_RENDER_RAW_BYTES)
        return;
    FUZZ_CHECK(l->len <= MAX_LINE_BYTES, "line of %zu bytes", l->len);
    fuzz_check_safe_text(mode == QT_RENDER_RAW ? "RAW line" : "DECODED line", l->text, l->len);
    /* The name is a prefix of whole characters. */
    if (l->name_len < l->len)
        FUZZ_CHECK(((unsigned char)l->text[l->name_len] & 0xc0) != 0x80,
                   "name ends inside a character");
}

static void render_all(int fd, enum qt_render_mode mode, const struct qt_render_options *opt)
{
    struct qt_render_line lines[64];
    struct qt_error err = {{0}};
    struct qt_render *r = qt_render_open(fd, "deferred/F/FUZZ1234", mode, opt, &err);
    size_t calls = 0, n, i;

    FUZZ_CHECK(r, "qt_render_open failed: %s", err.msg);
    do {
        size_t want = batch_sizes[calls % QT_ARRAY_LEN(batch_sizes)];

        n = qt_render_lines(r, lines, want);
        FUZZ_CHECK(n <= want, "%zu lines for %zu asked", n, want);
        for (i = 0; i < n; i++)
            check_line(mode, &lines[i]);
        calls++;
    } while (n > 0);
    FUZZ_CHECK(qt_render_done(r), "no more lines but not done");
    FUZZ_CHECK(qt_render_lines(r, lines, 8) == 0, "lines after the end");
    (void)qt_render_bytes_read(r);
    qt_render_close(r);
}

static void render_file(const void *data, size_t size, const struct qt_defer_log *defer)
{
    static const enum qt_render_mode modes[] = {
        QT_RENDER_RAW, QT_RENDER_RAW_BYTES, QT_RENDER_DECODED,
    };
    struct qt_render_options opt = {.defer = defer};
    int fd = fuzz_memfd(data, size);
    size_t i;

    for (i = 0; i < QT_ARRAY_LEN(modes); i++)
        render_all(fd, modes[i], modes[i] == QT_RENDER_DECODED ? &opt : NULL);
    /* A small decode limit, so the cap on the parsed content bites. */
    opt.decode_limit = 512;
    render_all(fd, QT_RENDER_DECODED, &opt);
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct qt_defer_log defer = {0};
    struct qt_buf wrapped = {0};

    qt_defer_log_parse(&defer, defer_text, sizeof(defer_text) - 1);
    render_file(data, size, &defer);
    fuzz_wrap_message(&wrapped, (const char *)data, size);
    render_file(wrapped.data, wrapped.len, &defer);
    qt_buf_free(&wrapped);
    qt_defer_log_free(&defer);
    return 0;
}
