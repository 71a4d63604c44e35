/* Inputs the fuzzers in tests/fuzz found to break the core, minimised,
 * kept so that the bugs stay fixed.  Each test names the harness that found
 * it and what was wrong.  Some of the bugs were undefined behaviour that
 * only clang's UBSan reports (build-fuzz/, run with
 * UBSAN_OPTIONS=halt_on_error=1); their tests also check what the output
 * should be, in every build. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qtriage/queue_file.h"
#include "qtriage/render.h"

/* `len` bytes in a fresh unlinked temporary file, at offset 0. */
static int file_with(const void *data, size_t len)
{
    char path[] = "/tmp/qtriage-regression-XXXXXX";
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    unlink(path);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    return fd;
}

/* Render the file to its end; returns how many lines contain `needle`. */
static size_t render_count(int fd, enum qt_render_mode mode, const char *needle)
{
    struct qt_render_line lines[16];
    struct qt_error err;
    struct qt_render *r = qt_render_open(fd, "regression", mode, NULL, &err);
    size_t n, i, found = 0;

    assert_non_null(r);
    while ((n = qt_render_lines(r, lines, QT_ARRAY_LEN(lines))) > 0)
        for (i = 0; i < n; i++)
            if (strstr(lines[i].text, needle))
                found++;
    assert_true(qt_render_done(r));
    qt_render_close(r);
    return found;
}

/* fuzz_queue_file: a size record claiming LONG_MAX bytes of content (strtol
 * saturates on 20 digits) made content_start + content_size overflow, a
 * signed overflow, when the reader jumped over the body after the headers.
 * Now the claim is compared with what the file holds first. */
static void test_size_record_overflow(void **state)
{
    static const char qf_bytes[] = "C\x18" "99999999999999999999 1 1M\x00N\x00";
    struct qt_queue_file qf;
    int fd = file_with(qf_bytes, sizeof(qf_bytes) - 1);

    (void)state;
    qt_queue_file_init(&qf);
    assert_false(qt_queue_file_read(&qf, fd, "4F2A1B3C5D", false, NULL));
    assert_true(qf.unreadable);
    assert_non_null(strstr(qf.error, "size record"));
    qt_queue_file_free(&qf);
    /* The decoded view reads the envelope the same way. */
    assert_true(render_count(fd, QT_RENDER_DECODED, "size record") >= 1);
    close(fd);
}

/* fuzz_render: a text part whose decoding had nothing to note (every plain
 * message) computed NULL + 0 for the end of the empty notes buffer:
 * undefined behaviour that clang's UBSan stops at. */
static void test_text_part_without_notes(void **state)
{
    static const char qf_bytes[] =
        "C_             41             109               1               0              41   "
        "            0S\x03" "a@bR\x03" "b@cM\x00N\x0eSubject: helloN\x09" "From: a@bN\x00N\x0aJ"
        "ust text.X\x00" "E\x00";
    int fd = file_with(qf_bytes, sizeof(qf_bytes) - 1);

    (void)state;
    assert_int_equal(render_count(fd, QT_RENDER_DECODED, "Just text."), 1);
    assert_int_equal(render_count(fd, QT_RENDER_RAW, "Just text."), 1);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_record_overflow),
        cmocka_unit_test(test_text_part_without_notes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
