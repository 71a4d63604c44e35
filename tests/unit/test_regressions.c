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
#include <sys/stat.h>
#include <unistd.h>

#include "qtriage/message_build.h"
#include "qtriage/queue_file.h"
#include "qtriage/render.h"
#include "qtriage/util.h"
#include "qtriage/reason.h"

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

/* fuzz_queue_file (its slowest inputs): a pointer record leading back to an
 * earlier record made the reader go round the loop until Postfix's limit of
 * 10000 backward jumps, parsing the looped records 10000 times: 41 s for a
 * 48 MB file, in a scanner worker or when the viewer opens the message.
 * Now parsing more than twice the file is an error. */
static void test_pointer_loop_over_big_records(void **state)
{
    struct qt_buf b = {0};
    struct qt_queue_file qf;
    char ptr[32];
    size_t loop_start;
    int fd;

    (void)state;
    qt_buf_append(&b, "S\x03" "a@b", 5);
    loop_start = b.len;
    /* 40000 bytes of padding (w), more than the reader's window. */
    qt_buf_append(&b, "w\xc0\xb8\x02", 4);
    qt_buf_reserve(&b, 40000);
    memset(b.data + b.len, 'x', 40000);
    b.len += 40000;
    snprintf(ptr, sizeof(ptr), "%15zu", loop_start);
    qt_buf_putc(&b, 'p');
    qt_buf_putc(&b, 15);
    qt_buf_append(&b, ptr, 15);
    fd = file_with(b.data, b.len);

    qt_queue_file_init(&qf);
    assert_false(qt_queue_file_read(&qf, fd, "4F2A1B3C5D", false, NULL));
    assert_non_null(strstr(qf.error, "pointer"));
    assert_true(qf.bytes_read < 10 * (off_t)b.len);
    qt_queue_file_free(&qf);
    assert_true(render_count(fd, QT_RENDER_RAW, "pointer records loop") >= 1);
    assert_true(render_count(fd, QT_RENDER_DECODED, "pointer records loop") >= 1);
    close(fd);
    qt_buf_free(&b);
}

/* fuzz_queue_file: a recipient with a source route ("@route:user") whose
 * route held a control character (here 0x13) came out of
 * qt_address_display unchanged, into the list and the viewer: the fast
 * path checked the local part and the domain but not the route. */
static void test_control_in_source_route(void **state)
{
    static const char qf_bytes[] =
        "R=@C-\x13" "prcoblcaldtESMTPt71habaldtct:heiheintabaldtaldtabaldtaldt";
    struct qt_queue_file qf;
    struct qt_arena arena = {0};
    struct qt_msg_data d;
    struct stat st;
    int fd = file_with(qf_bytes, sizeof(qf_bytes) - 1);

    (void)state;
    qt_queue_file_init(&qf);
    qt_queue_file_read(&qf, fd, "4F2A1B3C5D", false, NULL);
    assert_int_equal(qf.nrcpts, 1);
    assert_int_equal(fstat(fd, &st), 0);
    qt_msg_data_build(&arena, &d, &qf, QT_Q_DEFERRED, &st, NULL, NULL);
    assert_int_equal(d.nrcpts, 1);
    assert_string_equal(d.rcpts[0].address,
                        "@C-?prcoblcaldtESMTPt71habaldtct:heiheintabaldtaldtabaldtaldt");
    /* As showq prints it: the whole address made printable. */
    assert_string_equal(qt_address_display(&arena, "@a\x1b[31m,@b:user@example.org"),
                        "@a?[31m,@b:user@example.org");
    qt_arena_free(&arena);
    qt_queue_file_free(&qf);
    close(fd);
}

/* fuzz_defer_log: a reason "host said: x" (no host name) made the host's
 * length negative, and shortening it read past the reason.  The reason is
 * copied to a buffer of its exact size so ASan sees any overread. */
static void test_reason_host_without_name(void **state)
{
    static const char *const reasons[] = {"host said: x", "host  said: ", "connect to : x",
                                          "connect to: "};
    struct qt_buf out = {0};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        size_t len = strlen(reasons[i]);
        char *r = malloc(len);

        memcpy(r, reasons[i], len);
        qt_buf_reset(&out);
        qt_reason_shorten(r, len, true, &out);
        assert_true(out.len <= 2 * len + 3);
        free(r);
    }
    qt_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_record_overflow),
        cmocka_unit_test(test_text_part_without_notes),
        cmocka_unit_test(test_pointer_loop_over_big_records),
        cmocka_unit_test(test_control_in_source_route),
        cmocka_unit_test(test_reason_host_without_name),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
