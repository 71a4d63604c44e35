/* The queue file reader on exact byte layouts: a typical file, pointer
 * records, every truncation point, corrupted lengths and pointer loops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "qfbuild.h"
#include "qtriage/queue_file.h"

static void parse_buf(struct qt_queue_file *qf, const struct qt_buf *b, bool *ok)
{
    int fd = qfb_tempfile(b->data, b->len);

    *ok = qt_queue_file_read(qf, fd, "4ABCDEF12", false, NULL);
    close(fd);
}

static void test_typical(void **state)
{
    struct qt_buf b = {0};
    struct qt_queue_file qf;
    bool ok;

    (void)state;
    qt_queue_file_init(&qf);
    qfb_typical(&b, "Subject: =?GB2312?B?suLK1NPKvP4=?=");
    parse_buf(&qf, &b, &ok);
    assert_true(ok);
    assert_false(qf.unreadable);
    assert_string_equal(qf.id, "4ABCDEF12");
    assert_int_equal(qf.arrival_sec, 1795354822);
    assert_int_equal(qf.arrival_usec, 123456);
    assert_int_equal(qf.create_time, 1795354821);
    assert_string_equal(qf.sender, "flooder@spam.example");
    assert_true(qf.size_ok);
    assert_int_equal(qf.rcpt_count, 3);
    assert_int_equal(qf.nrcpts, 4);
    assert_string_equal(qf.rcpts[0].address, "rewritten@dest.example");
    assert_string_equal(qf.rcpts[0].orig, "orig@dest.example");
    assert_int_equal(qf.rcpts[0].state, QT_RCPT_PENDING);
    assert_string_equal(qf.rcpts[1].address, "done@dest.example");
    assert_null(qf.rcpts[1].orig);
    assert_int_equal(qf.rcpts[1].state, QT_RCPT_DONE);
    assert_string_equal(qf.rcpts[3].address, "extracted@dest.example");
    assert_string_equal(qt_queue_file_attr(&qf, "client_address"), "192.0.2.7");
    assert_string_equal(qt_queue_file_attr(&qf, "sasl_username"), "hijacked");
    assert_null(qt_queue_file_attr(&qf, "nope"));
    assert_int_equal(qf.nheaders, 3);
    assert_string_equal(qf.headers[0].name, "Received");
    /* Unfolding removes only the line break. */
    assert_string_equal(qf.headers[0].value, " from x\tby y; Sun, 22 Nov 2026 10:00:00 +0000");
    /* An L record continues the line in the next record. */
    assert_string_equal(qf.headers[2].value, " =?UTF-8?Q?J=C3=BCrgen?= <j@spam.example>");
    assert_string_equal(qf.subject, "测试邮件");
    assert_string_equal(qf.from, "Jürgen <j@spam.example>");
    qt_queue_file_free(&qf);
    qt_buf_free(&b);
}

static void test_skips_body(void **state)
{
    struct qt_buf b = {0};
    struct qt_queue_file qf;
    size_t size_pos, content_start, content_end, i;
    char line[926];
    bool ok;

    (void)state;
    /* A message with a 4 MB body: the reader must not read it. */
    memset(line, '0', sizeof(line));
    size_pos = qfb_size_placeholder(&b);
    qfb_str(&b, 'T', "100 0");
    qfb_str(&b, 'S', "");
    qfb_str(&b, 'R', "a@b.example");
    qfb_str(&b, 'M', "");
    content_start = b.len;
    qfb_str(&b, 'N', "Subject: big");
    qfb_str(&b, 'N', "");
    for (i = 0; i < 4096; i++)
        qfb_record(&b, 'N', line, sizeof(line));
    content_end = b.len;
    qfb_str(&b, 'X', "");
    qfb_str(&b, 'R', "late@b.example");
    qfb_str(&b, 'E', "");
    qfb_size_patch(&b, size_pos, content_start, content_end, 2);
    qt_queue_file_init(&qf);
    parse_buf(&qf, &b, &ok);
    assert_true(ok);
    assert_true(qf.have_sender);
    assert_string_equal(qf.sender, "");
    assert_string_equal(qf.subject, "big");
    assert_int_equal(qf.nrcpts, 2);
    assert_string_equal(qf.rcpts[1].address, "late@b.example");
    assert_true(b.len > 3u << 20);
    /* Envelope + headers + one window past them, never the body. */
    assert_true(qf.bytes_read < 64 * 1024);
    qt_queue_file_free(&qf);
    qt_buf_free(&b);
}

/* A header added later lives elsewhere, reached through pointer records:
 * Postfix writes a 'p' to the new text and a 'p' back. */
static void test_pointer_records(void **state)
{
    struct qt_buf b = {0};
    struct qt_queue_file qf;
    char ptr[32];
    size_t p1_pos, back_target, added_pos;
    bool ok;

    (void)state;
    qfb_str(&b, 'T', "100 0");
    qfb_str(&b, 'S', "s@x.example");
    qfb_str(&b, 'R', "r@y.example");
    qfb_str(&b, 'M', "");
    p1_pos = b.len;
    qfb_str(&b, 'p', "              0");     /* patched below */
    back_target = b.len;
    qfb_str(&b, 'N', "Subject: after pointer");
    qfb_str(&b, 'N', "");
    qfb_str(&b, 'N', "body");
    qfb_str(&b, 'X', "");
    qfb_str(&b, 'E', "");
    added_pos = b.len;
    qfb_str(&b, 'N', "X-Added: yes");
    snprintf(ptr, sizeof(ptr), "%15ld", (long)back_target);
    qfb_str(&b, 'p', ptr);
    snprintf(ptr, sizeof(ptr), "%15ld", (long)added_pos);
    memcpy(b.data + p1_pos + 2, ptr, 15);
    qt_queue_file_init(&qf);
    parse_buf(&qf, &b, &ok);
    assert_true(ok);
    assert_int_equal(qf.nheaders, 2);
    assert_string_equal(qf.headers[0].name, "X-Added");
    assert_string_equal(qf.subject, "after pointer");
    qt_queue_file_free(&qf);
    qt_buf_free(&b);
}

static void test_pointer_loop(void **state)
{
    struct qt_buf b = {0};
    struct qt_queue_file qf;
    char ptr[32];
    size_t loop_pos;
    bool ok;

    (void)state;
    qfb_str(&b, 'T', "100 0");
    qfb_str(&b, 'S', "s@x.example");
    loop_pos = b.len;
    snprintf(ptr, sizeof(ptr), "%15ld", (long)loop_pos);
    qfb_str(&b, 'p', ptr);               /* points at itself */
    qt_queue_file_init(&qf);
    parse_buf(&qf, &b, &ok);
    assert_false(ok);
    assert_true(qf.unreadable);
    assert_non_null(strstr(qf.error, "pointer"));
    qt_queue_file_free(&qf);
    qt_buf_free(&b);
}

/* Every prefix of a valid file parses without crashing and, but for the
 * whole file, is reported unreadable with a reason. */
static void test_every_truncation(void **state)
{
    struct qt_buf b = {0}, cut = {0};
    struct qt_queue_file qf;
    size_t len;
    bool ok;

    (void)state;
    qfb_typical(&b, "Subject: =?Big5?B?tPq41aFJ?=");
    qt_queue_file_init(&qf);
    for (len = 0; len < b.len; len++) {
        qt_buf_reset(&cut);
        qt_buf_append(&cut, b.data, len);
        parse_buf(&qf, &cut, &ok);
        assert_false(ok);
        assert_true(qf.unreadable);
        assert_true(qf.error[0] != 0);
    }
    parse_buf(&qf, &b, &ok);
    assert_true(ok);
    assert_string_equal(qf.subject, "測試！");
    qt_queue_file_free(&qf);
    qt_buf_free(&b);
    qt_buf_free(&cut);
}

/* Flipping any single byte must never crash or read out of bounds; the
 * result is either a parse or a clear error. */
static void test_byte_flips(void **state)
{
    struct qt_buf b = {0}, bad = {0};
    struct qt_queue_file qf;
    static const unsigned char values[] = {0x00, 0x7f, 0x80, 0xff, 'p', 'E', 'M', 'X'};
    size_t pos, v;
    bool ok;

    (void)state;
    qfb_typical(&b, "Subject: \x1b]0;owned\x07 \x1b[31mred\x1b[0m");
    qt_queue_file_init(&qf);
    for (pos = 0; pos < b.len; pos++) {
        for (v = 0; v < sizeof(values); v++) {
            qt_buf_reset(&bad);
            qt_buf_append(&bad, b.data, b.len);
            bad.data[pos] = (char)values[v];
            parse_buf(&qf, &bad, &ok);
            if (!ok)
                assert_true(qf.error[0] != 0);
            if (qf.subject)
                assert_null(strchr(qf.subject, 0x1b));
        }
    }
    qt_queue_file_free(&qf);
    qt_buf_free(&b);
    qt_buf_free(&bad);
}

static void test_huge_length(void **state)
{
    struct qt_buf b = {0};
    struct qt_queue_file qf;
    bool ok;

    (void)state;
    qfb_str(&b, 'T', "100 0");
    /* A record claiming 2^27 bytes: over the record limit. */
    qt_buf_append(&b, "S\x80\x80\x80\x40", 5);
    qt_queue_file_init(&qf);
    parse_buf(&qf, &b, &ok);
    assert_false(ok);
    assert_non_null(strstr(qf.error, "limit"));
    /* A record claiming 16 KB in a 30-byte file. */
    b.len -= 4;
    qt_buf_append(&b, "\x80\x80\x01", 3);
    parse_buf(&qf, &b, &ok);
    assert_false(ok);
    assert_non_null(strstr(qf.error, "truncated"));
    /* Too many length bytes. */
    qt_buf_reset(&b);
    qt_buf_append(&b, "S\xff\xff\xff\xff\xff\x01", 7);
    parse_buf(&qf, &b, &ok);
    assert_false(ok);
    assert_non_null(strstr(qf.error, "length"));
    qt_queue_file_free(&qf);
    qt_buf_free(&b);
}

static void test_escape_sequences_in_headers(void **state)
{
    struct qt_buf b = {0};
    struct qt_queue_file qf;
    bool ok;

    (void)state;
    qfb_typical(&b, "Subject: =?UTF-8?B?G10wO3Bvd25lZAcbWzJK?= plain\x9b" "2J");
    qt_queue_file_init(&qf);
    parse_buf(&qf, &b, &ok);
    assert_true(ok);
    assert_null(strchr(qf.subject, 0x1b));
    assert_null(strchr(qf.subject, 0x07));
    assert_null(strstr(qf.subject, "\xc2\x9b"));
    assert_non_null(strstr(qf.subject, "\xef\xbf\xbd"));
    qt_queue_file_free(&qf);
    qt_buf_free(&b);
}


/* Postfix stores a long header line as L records of line_length_limit
 * bytes.  A 300 KB Subject must be bounded, not collected whole. */
static void test_overlong_header(void **state)
{
    struct qt_buf b = {0};
    struct qt_queue_file qf;
    char chunk[2048];
    bool ok;
    int i;

    (void)state;
    memset(chunk, 'x', sizeof(chunk));
    qfb_str(&b, 'T', "100 0");
    qfb_str(&b, 'S', "s@x.example");
    qfb_str(&b, 'R', "r@y.example");
    qfb_str(&b, 'M', "");
    qfb_str(&b, 'N', "From: a@b.example");
    qfb_str(&b, 'L', "Subject: ");
    for (i = 0; i < 150; i++)
        qfb_record(&b, 'L', chunk, sizeof(chunk));
    qfb_str(&b, 'N', "end");
    qfb_str(&b, 'N', "To: r@y.example");
    qfb_str(&b, 'N', "");
    qfb_str(&b, 'N', "body");
    qfb_str(&b, 'X', "");
    qfb_str(&b, 'E', "");
    qt_queue_file_init(&qf);
    parse_buf(&qf, &b, &ok);
    assert_true(ok);
    assert_true(qf.headers_truncated);
    assert_string_equal(qf.from, "a@b.example");
    assert_null(qf.subject);
    assert_int_equal(qf.nrcpts, 1);
    qt_queue_file_free(&qf);
    qt_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_typical),
        cmocka_unit_test(test_skips_body),
        cmocka_unit_test(test_pointer_records),
        cmocka_unit_test(test_pointer_loop),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_byte_flips),
        cmocka_unit_test(test_huge_length),
        cmocka_unit_test(test_escape_sequences_in_headers),
        cmocka_unit_test(test_overlong_header),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
