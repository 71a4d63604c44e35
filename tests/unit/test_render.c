/* The message viewer's renderer: the raw view against what postcat -q said
 * about the same queue files (tests/data/NAME.postcat), its laziness on a
 * 20 MB message, sanitising, and the decoded view on real and hostile
 * MIME. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "qfbuild.h"
#include "testutil.h"
#include "qtriage/defer_log.h"
#include "qtriage/render.h"
#include "qtriage/text.h"

/* ---- rendering a whole file ---- */

struct copied_line {
    enum qt_line_kind kind;
    char *text;
    size_t len, name_len;
    bool continued;
};

struct rendered {
    struct qt_buf bytes;        /* lines joined as postcat would print them */
    struct copied_line *lines;
    size_t n, cap;
    off_t bytes_read;
};

static void rendered_free(struct rendered *out)
{
    size_t i;

    for (i = 0; i < out->n; i++)
        free(out->lines[i].text);
    free(out->lines);
    qt_buf_free(&out->bytes);
    memset(out, 0, sizeof(*out));
}

static void render_fd(int fd, const char *label, enum qt_render_mode mode,
                      const struct qt_render_options *opt, size_t batch, struct rendered *out)
{
    struct qt_render_line *lines = xcalloc(batch, sizeof(*lines));
    struct qt_error err = {{0}};
    struct qt_render *r = qt_render_open(fd, label, mode, opt, &err);
    size_t n, i;

    memset(out, 0, sizeof(*out));
    assert_non_null(r);
    while ((n = qt_render_lines(r, lines, batch)) > 0) {
        assert_true(n <= batch);
        for (i = 0; i < n; i++) {
            struct copied_line *c;

            assert_int_equal(lines[i].text[lines[i].len], 0);
            assert_true(lines[i].name_len <= lines[i].len);
            out->lines = xgrow(out->lines, &out->cap, out->n + 1, sizeof(*out->lines));
            c = &out->lines[out->n++];
            c->kind = lines[i].kind;
            c->text = xmalloc(lines[i].len + 1);
            memcpy(c->text, lines[i].text, lines[i].len + 1);
            c->len = lines[i].len;
            c->name_len = lines[i].name_len;
            c->continued = lines[i].continued;
            qt_buf_append(&out->bytes, lines[i].text, lines[i].len);
            if (!lines[i].continued)
                qt_buf_putc(&out->bytes, '\n');
        }
    }
    assert_true(qt_render_done(r));
    assert_int_equal(qt_render_lines(r, lines, batch), 0);
    out->bytes_read = qt_render_bytes_read(r);
    qt_render_close(r);
    free(lines);
}

static void render_path(const char *path, const char *label, enum qt_render_mode mode,
                        const struct qt_render_options *opt, struct rendered *out)
{
    int fd = open(path, O_RDONLY);

    assert_true(fd >= 0);
    render_fd(fd, label, mode, opt, 7, out);
    close(fd);
}

static void render_data(const struct qt_buf *qf, enum qt_render_mode mode,
                        const struct qt_render_options *opt, struct rendered *out)
{
    int fd = qfb_tempfile(qf->data, qf->len);

    render_fd(fd, "test/QUEUEID", mode, opt, 50, out);
    close(fd);
}

/* Index of the first line of `kind` (or any kind when -1) containing
 * `needle`, or -1. */
static long find_line(const struct rendered *out, int kind, const char *needle)
{
    size_t i;

    for (i = 0; i < out->n; i++)
        if ((kind < 0 || (int)out->lines[i].kind == kind) && strstr(out->lines[i].text, needle))
            return (long)i;
    return -1;
}

static void dump(const struct rendered *out)
{
    static const char *const kinds[] = {"sep", "rec", "hdr", "body", "att", "warn"};
    size_t i;

    if (!getenv("QTRIAGE_TEST_VERBOSE"))
        return;
    for (i = 0; i < out->n; i++)
        printf("%-4s %s\n", kinds[out->lines[i].kind], out->lines[i].text);
}

/* Safe for a terminal: valid UTF-8, no C0/C1 control, no DEL, no ESC. */
static void assert_terminal_safe(const char *s, size_t len)
{
    size_t i = 0, n;

    while (i < len) {
        unsigned char c = (unsigned char)s[i];

        assert_true(c >= 0x20);
        assert_true(c != 0x7f);
        n = qt_utf8_seq_len((const unsigned char *)s + i, len - i);
        assert_true(n > 0);
        i += n;
    }
}

static void assert_all_safe(const struct rendered *out)
{
    size_t i;

    for (i = 0; i < out->n; i++) {
        assert_terminal_safe(out->lines[i].text, out->lines[i].len);
        /* A piece of QT_RENDER_LINE_MAX input bytes grows at most 8 times
         * (a tab expanded), plus the decoded view's indentation. */
        assert_true(out->lines[i].len <= 8 * QT_RENDER_LINE_MAX + 64);
    }
}

/* ---- building queue files ---- */

/* A queue file around `message` (LF line breaks): lines become N records,
 * long ones L records first, as cleanup writes them. */
static void build_qf(struct qt_buf *b, const char *message, size_t len)
{
    size_t size_pos, content_start, content_end;

    qt_buf_reset(b);
    size_pos = qfb_size_placeholder(b);
    qfb_str(b, 'T', "1795354822 123456");
    qfb_str(b, 'A', "create_time=1795354821");
    qfb_str(b, 'S', "sender@example.org");
    qfb_str(b, 'O', "rcpt@example.net");
    qfb_str(b, 'R', "rcpt@example.net");
    qfb_str(b, 'M', "");
    content_start = b->len;
    qfb_content_lines(b, message, len);
    content_end = b->len;
    qfb_str(b, 'X', "");
    qfb_str(b, 'E', "");
    qfb_size_patch(b, size_pos, content_start, content_end, 1);
}

static void render_message(const char *message, enum qt_render_mode mode, struct rendered *out)
{
    struct qt_buf qf = {0};

    build_qf(&qf, message, strlen(message));
    render_data(&qf, mode, NULL, out);
    qt_buf_free(&qf);
}

/* ---- the raw view against postcat ---- */

/* The label postcat printed: "*** ENVELOPE RECORDS LABEL ***". */
static char *postcat_label(const char *postcat)
{
    const char *start = postcat + strlen("*** ENVELOPE RECORDS ");
    const char *end = strstr(start, " ***\n");

    assert_true(strncmp(postcat, "*** ENVELOPE RECORDS ", 21) == 0);
    assert_non_null(end);
    return xstrndup(start, (size_t)(end - start));
}

typedef void (*fixture_fn)(const char *base, const char *name);

static int each_fixture(fixture_fn fn)
{
    DIR *d = opendir(test_data_dir());
    struct dirent *de;
    int count = 0;

    assert_non_null(d);
    while ((de = readdir(d))) {
        size_t nlen = strlen(de->d_name);
        char base[1024];

        if (nlen < 4 || strcmp(de->d_name + nlen - 3, ".qf") != 0)
            continue;
        snprintf(base, sizeof(base), "%s/%.*s", test_data_dir(), (int)(nlen - 3), de->d_name);
        fn(base, de->d_name);
        count++;
    }
    closedir(d);
    return count;
}

static void check_postcat(const char *base, const char *name)
{
    char path[1100], *postcat, *label;
    size_t postcat_len, i;
    struct rendered out, safe;
    size_t batch;

    snprintf(path, sizeof(path), "%s.postcat", base);
    postcat = test_slurp(path, &postcat_len);
    assert_non_null(postcat);
    label = postcat_label(postcat);
    snprintf(path, sizeof(path), "%s.qf", base);
    /* Batch sizes must not matter: one line at a time, and a screenful. */
    for (batch = 1; batch <= 64; batch += 63) {
        int fd = open(path, O_RDONLY);

        assert_true(fd >= 0);
        render_fd(fd, label, QT_RENDER_RAW_BYTES, NULL, batch, &out);
        close(fd);
        if (out.bytes.len != postcat_len || memcmp(out.bytes.data, postcat, postcat_len) != 0)
            fprintf(stderr, "%s: raw view differs from postcat:\n%s\n", name, out.bytes.data);
        assert_int_equal(out.bytes.len, postcat_len);
        assert_memory_equal(out.bytes.data, postcat, postcat_len);
        assert_int_equal(find_line(&out, QT_LINE_WARNING, ""), -1);
        /* The lines know what they are. */
        assert_int_equal(out.lines[0].kind, QT_LINE_SEPARATOR);
        assert_int_equal(out.lines[out.n - 1].kind, QT_LINE_SEPARATOR);
        assert_true(find_line(&out, QT_LINE_RECORD, "sender:") >= 0);
        for (i = 0; i < out.n; i++)
            if (out.lines[i].kind == QT_LINE_RECORD)
                assert_int_equal(out.lines[i].text[out.lines[i].name_len - 1], ':');
        rendered_free(&out);
    }
    /* The sanitised raw view has the same lines, safe for a terminal. */
    render_path(path, label, QT_RENDER_RAW_BYTES, NULL, &out);
    render_path(path, label, QT_RENDER_RAW, NULL, &safe);
    assert_int_equal(safe.n, out.n);
    assert_all_safe(&safe);
    for (i = 0; i < safe.n; i++)
        assert_int_equal(safe.lines[i].kind, out.lines[i].kind);
    assert_true(find_line(&safe, QT_LINE_HEADER, "Subject:") >= 0);
    rendered_free(&out);
    rendered_free(&safe);
    free(label);
    free(postcat);
}

static void test_raw_matches_postcat(void **state)
{
    (void)state;
    assert_true(each_fixture(check_postcat) >= 17);
}

static void test_raw_folded_header_tabs(void **state)
{
    char path[1100];
    struct rendered out;
    long i;

    (void)state;
    snprintf(path, sizeof(path), "%s/deferred-plain.qf", test_data_dir());
    render_path(path, "deferred/5/501FBA72379", QT_RENDER_RAW, NULL, &out);
    assert_string_equal(out.lines[0].text, "*** ENVELOPE RECORDS deferred/5/501FBA72379 ***");
    assert_true(find_line(&out, QT_LINE_RECORD, "message_arrival_time: Sun Nov 22 14:05:57 2026") >= 0);
    /* The folded Received line: its tab is expanded, not shown as a control. */
    i = find_line(&out, QT_LINE_HEADER, "id 501FBA72379");
    assert_true(i >= 0);
    assert_memory_equal(out.lines[i].text, "        id", 10);
    i = find_line(&out, QT_LINE_HEADER, "Subject: Plain");
    assert_int_equal(out.lines[i].name_len, 8);
    assert_true(find_line(&out, QT_LINE_BODY, "this is a qtriage fixture message.") >= 0);
    rendered_free(&out);
}

/* Control characters, escape sequences and invalid UTF-8 from strangers. */
static void test_raw_hostile_bytes(void **state)
{
    static const char message[] =
        "Subject: \x1b]0;owned\x07 \x1b[31mred\x1b[0m\n"
        "X-C1: \xc2\x9b" "31m csi\n"
        "X-Bad: \xff\xfe broken \xe4\xb8 utf8 \x7f del\n"
        "\n"
        "body \x1b[2J clear\r\n"
        "nul \0 inside\n";
    struct qt_buf qf = {0};
    struct rendered raw, safe;

    (void)state;
    build_qf(&qf, message, sizeof(message) - 1);
    render_data(&qf, QT_RENDER_RAW_BYTES, NULL, &raw);
    render_data(&qf, QT_RENDER_RAW, NULL, &safe);
    /* The raw bytes survive in the byte-exact mode only. */
    assert_non_null(memchr(raw.bytes.data, 0x1b, raw.bytes.len));
    assert_non_null(memchr(raw.bytes.data, 0, raw.bytes.len));
    assert_null(memchr(safe.bytes.data, 0x1b, safe.bytes.len));
    assert_all_safe(&safe);
    assert_true(find_line(&safe, QT_LINE_HEADER, "red") >= 0);
    assert_true(find_line(&safe, QT_LINE_BODY, "clear") >= 0);
    assert_true(find_line(&safe, QT_LINE_HEADER, "\xef\xbf\xbd broken") >= 0);
    rendered_free(&raw);
    rendered_free(&safe);
    qt_buf_free(&qf);
}

/* Records that cleanup appended after the end, reached through pointer
 * records, are shown where the pointers put them, as postcat does. */
static void test_raw_pointer_records(void **state)
{
    struct qt_buf b = {0};
    struct rendered out;
    char ptr[32];
    size_t ptr1, back, heap;

    (void)state;
    qfb_str(&b, 'C', "              9              60               1               0              9               0");
    qfb_str(&b, 'T', "1795354822 0");
    qfb_str(&b, 'S', "s@example.org");
    qfb_str(&b, 'R', "first@example.net");
    ptr1 = b.len;
    qfb_str(&b, 'p', "              0");
    back = b.len;
    qfb_str(&b, 'M', "");
    qfb_str(&b, 'N', "Subject: x");
    qfb_str(&b, 'X', "");
    qfb_str(&b, 'E', "");
    heap = b.len;
    qfb_str(&b, 'R', "appended@example.net");
    snprintf(ptr, sizeof(ptr), "%15ld", (long)back);
    qfb_str(&b, 'p', ptr);
    snprintf(ptr, sizeof(ptr), "%15ld", (long)heap);
    memcpy(b.data + ptr1 + 2, ptr, 15);
    render_data(&b, QT_RENDER_RAW, NULL, &out);
    dump(&out);
    assert_int_equal(find_line(&out, QT_LINE_WARNING, ""), -1);
    assert_true(find_line(&out, QT_LINE_RECORD, "recipient: first@") <
                find_line(&out, QT_LINE_RECORD, "recipient: appended@"));
    assert_true(find_line(&out, QT_LINE_RECORD, "recipient: appended@") <
                find_line(&out, QT_LINE_SEPARATOR, "MESSAGE CONTENTS"));
    assert_string_equal(out.lines[out.n - 1].text, "*** MESSAGE FILE END test/QUEUEID ***");
    rendered_free(&out);
    qt_buf_free(&b);
}

/* A logical line longer than QT_RENDER_LINE_MAX comes in pieces that join
 * back exactly, and no piece splits a character. */
static void test_raw_long_line_pieces(void **state)
{
    struct qt_buf msg = {0}, qf = {0}, joined = {0};
    struct rendered out;
    size_t i, first;

    (void)state;
    qt_buf_printf(&msg, "Subject: long\n\n");
    for (i = 0; i < 30000; i++)
        qt_buf_append(&msg, i % 3 ? "a" : "\xc3\xa9", i % 3 ? 1 : 2);
    qt_buf_printf(&msg, "\nafter\n");
    build_qf(&qf, msg.data, msg.len);
    render_data(&qf, QT_RENDER_RAW, NULL, &out);
    first = (size_t)find_line(&out, QT_LINE_BODY, "\xc3\xa9");
    for (i = first; out.lines[i].continued; i++) {
        assert_true(out.lines[i].len <= QT_RENDER_LINE_MAX);
        qt_buf_append(&joined, out.lines[i].text, out.lines[i].len);
    }
    qt_buf_append(&joined, out.lines[i].text, out.lines[i].len);
    assert_true(i > first + 5);
    assert_string_equal(out.lines[i + 1].text, "after");
    assert_int_equal(joined.len, msg.len - strlen("Subject: long\n\n") - strlen("\nafter\n"));
    assert_memory_equal(joined.data, msg.data + strlen("Subject: long\n\n"), joined.len);
    assert_all_safe(&out);
    rendered_free(&out);
    qt_buf_free(&msg);
    qt_buf_free(&qf);
    qt_buf_free(&joined);
}

/* ---- laziness ---- */

static void build_big(struct qt_buf *b, size_t body_bytes)
{
    size_t size_pos, content_start, content_end, written = 0;
    char line[80];

    qt_buf_reset(b);
    size_pos = qfb_size_placeholder(b);
    qfb_str(b, 'T', "1795354822 0");
    qfb_str(b, 'S', "bulk@example.org");
    qfb_str(b, 'R', "victim@example.net");
    qfb_str(b, 'M', "");
    content_start = b->len;
    qfb_str(b, 'N', "Subject: big");
    qfb_str(b, 'N', "Content-Type: text/plain; charset=us-ascii");
    qfb_str(b, 'N', "");
    while (written < body_bytes) {
        int n = snprintf(line, sizeof(line), "line %09zu of a very large message body, padded to 76 chars",
                         written / 76);

        qfb_record(b, 'N', line, (size_t)n);
        written += (size_t)n + 1;
    }
    content_end = b->len;
    qfb_str(b, 'X', "");
    qfb_str(b, 'E', "");
    qfb_size_patch(b, size_pos, content_start, content_end, 1);
}

static void test_raw_lazy_20mb(void **state)
{
    struct qt_buf big = {0};
    struct qt_render_line lines[100];
    struct qt_error err = {{0}};
    struct qt_render *r;
    size_t n, total = 0;
    int fd;

    (void)state;
    build_big(&big, 20u << 20);
    fd = qfb_tempfile(big.data, big.len);
    r = qt_render_open(fd, "deferred/B/BIG", QT_RENDER_RAW, NULL, &err);
    close(fd);                  /* the renderer keeps its own descriptor */
    assert_non_null(r);
    n = qt_render_lines(r, lines, 100);
    assert_int_equal(n, 100);
    assert_string_equal(lines[0].text, "*** ENVELOPE RECORDS deferred/B/BIG ***");
    assert_non_null(strstr(lines[99].text, "of a very large message body"));
    if (getenv("QTRIAGE_TEST_VERBOSE"))
        printf("first 100 lines of a %zu-byte queue file: %lld bytes read\n", big.len,
               (long long)qt_render_bytes_read(r));
    /* One pread window, not the message. */
    assert_true(qt_render_bytes_read(r) <= 32768);
    /* Going on to the end reads the rest, once. */
    total = n;
    while ((n = qt_render_lines(r, lines, 100)) > 0)
        total += n;
    assert_true(qt_render_done(r));
    assert_true(total > 270000);
    assert_true(qt_render_bytes_read(r) >= (off_t)big.len);
    assert_true(qt_render_bytes_read(r) < (off_t)big.len + 65536);
    qt_render_close(r);
    qt_buf_free(&big);
}

static void test_decoded_cap(void **state)
{
    struct qt_buf big = {0};
    struct qt_render_options opt = {0};
    struct rendered out;
    long cap;

    (void)state;
    build_big(&big, 20u << 20);
    if (getenv("QTRIAGE_TEST_VERBOSE")) {
        struct qt_render_line lines[50];
        struct qt_error err = {{0}};
        struct timespec t0, t1;
        int fd = qfb_tempfile(big.data, big.len);
        struct qt_render *r;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        r = qt_render_open(fd, "x", QT_RENDER_DECODED, NULL, &err);
        assert_int_equal(qt_render_lines(r, lines, 50), 50);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        printf("decoded view, first 50 lines of a %zu-byte queue file: %lld bytes read, %.0f ms\n",
               big.len, (long long)qt_render_bytes_read(r),
               (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
        qt_render_close(r);
        close(fd);
    }
    render_data(&big, QT_RENDER_DECODED, NULL, &out);
    cap = find_line(&out, QT_LINE_WARNING, "the decoded view shows the first");
    assert_true(cap >= 0);
    assert_true(cap < find_line(&out, QT_LINE_HEADER, "Subject: big"));
    assert_true(out.bytes_read < (off_t)QT_RENDER_DECODE_LIMIT + (1 << 20));
    assert_true(find_line(&out, QT_LINE_BODY, "line 000000000 of") >= 0);
    rendered_free(&out);
    /* The cap is the caller's to choose. */
    opt.decode_limit = 100000;
    render_data(&big, QT_RENDER_DECODED, &opt, &out);
    assert_true(find_line(&out, QT_LINE_WARNING, "shows the first") >= 0);
    assert_true(out.bytes_read < 200000);
    assert_true(out.n < 2000);
    rendered_free(&out);
    qt_buf_free(&big);
}

/* ---- the decoded view ---- */

static void render_fixture_decoded(const char *name, struct rendered *out, bool with_log)
{
    char path[1100];
    struct qt_defer_log log = {0};
    struct qt_render_options opt = {0};
    int fd;

    if (with_log) {
        snprintf(path, sizeof(path), "%s/%s.defer", test_data_dir(), name);
        fd = open(path, O_RDONLY);
        assert_true(fd >= 0);
        assert_true(qt_defer_log_read_fd(&log, fd));
        close(fd);
        opt.defer = &log;
    }
    snprintf(path, sizeof(path), "%s/%s.qf", test_data_dir(), name);
    render_path(path, name, QT_RENDER_DECODED, &opt, out);
    qt_defer_log_free(&log);        /* read during open only */
    assert_all_safe(out);
}

static void test_decoded_multipart_attachments(void **state)
{
    struct rendered out;
    long text, pdf, zip, png;

    (void)state;
    render_fixture_decoded("deferred-multipart-attach", &out, true);
    dump(&out);
    assert_int_equal(find_line(&out, QT_LINE_WARNING, ""), -1);
    assert_true(find_line(&out, QT_LINE_RECORD,
                          "deferred: accounts@customer-isp.example: 4.4.1 connect to") >= 0);
    assert_true(find_line(&out, QT_LINE_HEADER, "Subject: Rechnung für März – 3 Anhänge") >= 0);
    assert_true(find_line(&out, QT_LINE_HEADER, "From: Vendor Billing <billing@vendor.example>") >= 0);
    assert_true(find_line(&out, QT_LINE_SEPARATOR, "multipart/mixed, 4 parts") >= 0);
    text = find_line(&out, QT_LINE_SEPARATOR, "[1] text/plain; charset=utf-8");
    assert_true(text >= 0);
    assert_true(find_line(&out, QT_LINE_BODY, "  Grüße") > text);
    pdf = find_line(&out, QT_LINE_ATTACHMENT, "[2] attachment \"invoice-6468.pdf\"");
    zip = find_line(&out, QT_LINE_ATTACHMENT, "[3] attachment \"archive.zip\"");
    png = find_line(&out, QT_LINE_ATTACHMENT, "[4] inline \"logo.png\"");
    assert_true(pdf > text && zip > pdf && png > zip);
    assert_non_null(strstr(out.lines[pdf].text, "(Content-Type name \"invoice-2471.pdf\")"));
    assert_non_null(strstr(out.lines[pdf].text, ": application/pdf, 89 bytes, libmagic: application/pdf"));
    assert_non_null(strstr(out.lines[zip].text, ": application/zip, "));
    assert_non_null(strstr(out.lines[zip].text, "libmagic: application/zip"));
    assert_non_null(strstr(out.lines[png].text, ": image/png, "));
    assert_non_null(strstr(out.lines[png].text, "libmagic: image/png"));
    assert_int_equal(find_line(&out, QT_LINE_BODY, "JVBERi0xLjQ"), -1);
    rendered_free(&out);
}

static void test_decoded_cjk_subjects(void **state)
{
    struct rendered out;

    (void)state;
    render_fixture_decoded("hold-gb2312-subject", &out, false);
    dump(&out);
    assert_true(find_line(&out, QT_LINE_HEADER, "Subject: 测试邮件：发票已开具") >= 0);
    /* The 8-bit GB2312 body, converted. */
    assert_true(find_line(&out, QT_LINE_BODY, "您好，这是测试。") >= 0);
    assert_true(find_line(&out, QT_LINE_RECORD, "pending: li.wei@mail.example") >= 0);
    rendered_free(&out);
    render_fixture_decoded("deferred-big5-subject", &out, true);
    assert_true(find_line(&out, QT_LINE_HEADER, "Subject: 測試郵件 繁體中文") >= 0);
    assert_true(find_line(&out, QT_LINE_RECORD, "deferred: chen@mail.example: 4.4.1") >= 0);
    rendered_free(&out);
}

static void test_decoded_delivery_status(void **state)
{
    struct rendered out;

    (void)state;
    render_fixture_decoded("deferred-partly-delivered", &out, true);
    assert_true(find_line(&out, QT_LINE_RECORD, "deferred: kept@mail.example") >= 0);
    assert_true(find_line(&out, QT_LINE_RECORD, "done: gone@discard.example") >= 0);
    assert_true(find_line(&out, QT_LINE_RECORD, "done: gone2@discard.example") >= 0);
    rendered_free(&out);
    render_fixture_decoded("deferred-null-sender", &out, true);
    dump(&out);
    assert_true(find_line(&out, QT_LINE_RECORD, "sender: <> (null sender") >= 0);
    assert_true(find_line(&out, QT_LINE_SEPARATOR, "message/delivery-status") >= 0);
    assert_true(find_line(&out, QT_LINE_BODY, "Diagnostic-Code: smtp; 550 5.1.1 User unknown") >= 0);
    assert_true(find_line(&out, QT_LINE_BODY, "Subject: you won [fixture]") >= 0);
    rendered_free(&out);
    render_fixture_decoded("deferred-canonical-rcpt", &out, true);
    assert_true(find_line(&out, QT_LINE_RECORD, "(original recipient someone@alias.example)") >= 0);
    rendered_free(&out);
}

/* Every fixture decodes without a warning and shows its decoded subject. */
static void check_decoded_fixture(const char *base, const char *name)
{
    char path[1100];
    struct rendered out;

    (void)name;
    snprintf(path, sizeof(path), "%s.qf", base);
    render_path(path, "x", QT_RENDER_DECODED, NULL, &out);
    assert_all_safe(&out);
    assert_int_equal(find_line(&out, QT_LINE_WARNING, ""), -1);
    assert_true(find_line(&out, QT_LINE_HEADER, "Subject: ") >= 0);
    rendered_free(&out);
}

static void test_decoded_all_fixtures(void **state)
{
    (void)state;
    assert_true(each_fixture(check_decoded_fixture) >= 17);
}

static void test_decoded_bad_base64(void **state)
{
    static const char message[] =
        "Subject: broken\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"b\"\n"
        "\n"
        "--b\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: base64\n"
        "\n"
        "!!!! this is *not* base64 at all ????\n"
        "--b\n"
        "Content-Type: application/octet-stream; name=\"junk.bin\"\n"
        "Content-Transfer-Encoding: base64\n"
        "\n"
        "%%%%\n"
        "--b\n"
        "Content-Type: text/plain\n"
        "Content-Transfer-Encoding: x-made-up\n"
        "\n"
        "plain after all\n"
        "--b\n"
        "Content-Type: text/plain\n"
        "Content-Transfer-Encoding: x-uuencode\n"
        "\n"
        "begin 644 hi.txt\n"
        "):&5L;&\\@=74*\n"
        "`\n"
        "end\n"
        "--b--\n";
    struct rendered out;

    (void)state;
    render_message(message, QT_RENDER_DECODED, &out);
    dump(&out);
    assert_all_safe(&out);
    assert_true(find_line(&out, QT_LINE_WARNING, "[1] base64 content holds") >= 0);
    assert_true(find_line(&out, QT_LINE_WARNING, "[2] base64 content does not decode") >= 0);
    assert_true(find_line(&out, QT_LINE_ATTACHMENT, "[2] part \"junk.bin\"") >= 0);
    assert_true(find_line(&out, QT_LINE_WARNING, "unknown Content-Transfer-Encoding \"x-made-up\"") >= 0);
    assert_true(find_line(&out, QT_LINE_BODY, "plain after all") >= 0);
    assert_true(find_line(&out, QT_LINE_BODY, "  hello uu") >= 0);
    rendered_free(&out);
}

static void test_decoded_charsets(void **state)
{
    static const char message[] =
        "Subject: =?KOI8-R?B?8NLJ18XU?=\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/alternative; boundary=\"b\"\n"
        "\n"
        "--b\n"
        "Content-Type: text/plain; charset=x-klingon-9\n"
        "\n"
        "tlhIngan Hol\n"
        "--b\n"
        "Content-Type: text/plain; charset=koi8-r\n"
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n"
        "=F0=D2=C9=D7=C5=D4, =CD=C9=D2\n"
        "--b\n"
        "Content-Type: text/plain; charset=iso-8859-2\n"
        "Content-Transfer-Encoding: base64\n"
        "\n"
        "WmG/87PmIGfqtmyxIGphvPE=\n"
        "--b\n"
        "Content-Type: text/plain; charset=big5\n"
        "Content-Transfer-Encoding: 8bit\n"
        "\n"
        "\xb4\xfa\xb8\xd5\n"
        "--b\n"
        "Content-Type: text/plain\n"
        "\n"
        "unlabelled caf\xe9\n"
        "--b--\n";
    struct rendered out;

    (void)state;
    render_message(message, QT_RENDER_DECODED, &out);
    dump(&out);
    assert_all_safe(&out);
    assert_true(find_line(&out, QT_LINE_HEADER, "Subject: Привет") >= 0);
    assert_true(find_line(&out, QT_LINE_WARNING, "[1] charset \"x-klingon-9\" is unknown to iconv") >= 0);
    assert_true(find_line(&out, QT_LINE_BODY, "tlhIngan Hol") >= 0);
    assert_true(find_line(&out, QT_LINE_BODY, "Привет, мир") >= 0);
    assert_true(find_line(&out, QT_LINE_BODY, "Zażółć gęślą jaźń") >= 0);
    assert_true(find_line(&out, QT_LINE_BODY, "測試") >= 0);
    assert_true(find_line(&out, QT_LINE_BODY, "unlabelled café") >= 0);
    rendered_free(&out);
}

static void test_decoded_html(void **state)
{
    static const char message[] =
        "Subject: html\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/html; charset=utf-8\n"
        "\n"
        "<html><head><title>T</title><style>p { color: red }</style>\n"
        "<script>alert('x')</script></head><body>\n"
        "<p>Dear&nbsp;customer, your <b>account</b> &amp; card &lt;3 &#8364;5 &#x263A;</p>\n"
        "<!-- hidden comment -->\n"
        "<p>Click <a href=\"http://phish.example/login\">here</a><br>now</p>\n"
        "<ul><li>one<li>two</ul></body></html>\n";
    struct rendered out;

    (void)state;
    render_message(message, QT_RENDER_DECODED, &out);
    dump(&out);
    assert_all_safe(&out);
    assert_true(find_line(&out, QT_LINE_BODY, "Dear customer, your account & card <3 €5 ☺") >= 0);
    assert_true(find_line(&out, QT_LINE_BODY, "Click here <http://phish.example/login>") >= 0);
    assert_true(find_line(&out, QT_LINE_BODY, "now") >= 0);
    assert_true(find_line(&out, QT_LINE_BODY, "* two") >= 0);
    assert_int_equal(find_line(&out, -1, "alert"), -1);
    assert_int_equal(find_line(&out, -1, "color"), -1);
    assert_int_equal(find_line(&out, -1, "hidden comment"), -1);
    assert_int_equal(find_line(&out, -1, "<p>"), -1);
    rendered_free(&out);
}

static void test_decoded_attached_message(void **state)
{
    static const char message[] =
        "Subject: fwd\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"outer\"\n"
        "\n"
        "--outer\n"
        "Content-Type: text/plain\n"
        "\n"
        "see attached\n"
        "--outer\n"
        "Content-Type: message/rfc822\n"
        "\n"
        "From: =?UTF-8?Q?J=C3=BCrgen?= <j@example.org>\n"
        "Subject: =?ISO-8859-1?Q?inner_caf=E9?=\n"
        "Content-Type: multipart/mixed; boundary=\"inner\"\n"
        "\n"
        "--inner\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "\n"
        "inner body\n"
        "--inner\n"
        "Content-Type: application/pdf\n"
        "Content-Disposition: attachment; filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf\n"
        "Content-Transfer-Encoding: base64\n"
        "\n"
        "JVBERi0xLjQKJSBmYWtlCg==\n"
        "--inner--\n"
        "--outer--\n";
    struct rendered out;

    (void)state;
    render_message(message, QT_RENDER_DECODED, &out);
    dump(&out);
    assert_all_safe(&out);
    assert_true(find_line(&out, QT_LINE_SEPARATOR, "[2] message/rfc822: attached message") >= 0);
    assert_true(find_line(&out, QT_LINE_HEADER, "    Subject: inner café") >= 0);
    assert_true(find_line(&out, QT_LINE_HEADER, "    From: Jürgen <j@example.org>") >= 0);
    assert_true(find_line(&out, QT_LINE_SEPARATOR, "[2.1] text/plain") >= 0);
    assert_true(find_line(&out, QT_LINE_BODY, "inner body") >= 0);
    /* RFC 2231 file name. */
    assert_true(find_line(&out, QT_LINE_ATTACHMENT,
                          "[2.2] attachment \"Rechnung März.pdf\": application/pdf") >= 0);
    assert_int_equal(find_line(&out, QT_LINE_WARNING, ""), -1);
    rendered_free(&out);
}

static void nested_message(struct qt_buf *m, int depth, const char *leaf)
{
    int i;

    qt_buf_reset(m);
    qt_buf_printf(m, "Subject: nested %d\nMIME-Version: 1.0\n", depth);
    for (i = 0; i < depth; i++)
        qt_buf_printf(m, "Content-Type: multipart/mixed; boundary=\"level%d\"\n\n--level%d\n", i, i);
    qt_buf_printf(m, "Content-Type: text/plain\n\n%s\n", leaf);
    for (i = depth - 1; i >= 0; i--)
        qt_buf_printf(m, "--level%d--\n", i);
}

static void test_decoded_nested(void **state)
{
    struct qt_buf m = {0};
    struct rendered out;
    char want[64];

    (void)state;
    nested_message(&m, 50, "deep inside");
    render_message(m.data, QT_RENDER_DECODED, &out);
    assert_all_safe(&out);
    assert_true(find_line(&out, QT_LINE_BODY, "deep inside") >= 0);
    snprintf(want, sizeof(want), "[1.1.1.1.1.1.1.1.1.1");
    assert_true(find_line(&out, QT_LINE_SEPARATOR, want) >= 0);
    assert_int_equal(find_line(&out, QT_LINE_WARNING, ""), -1);
    rendered_free(&out);
    /* Deeper than the viewer shows, and deeper than GMime is let recurse. */
    nested_message(&m, 100, "too deep");
    render_message(m.data, QT_RENDER_DECODED, &out);
    assert_true(find_line(&out, QT_LINE_WARNING, "nested deeper than") >= 0);
    rendered_free(&out);
    nested_message(&m, 5000, "far too deep");
    render_message(m.data, QT_RENDER_DECODED, &out);
    assert_true(find_line(&out, QT_LINE_WARNING, "multipart or message parts") >= 0);
    rendered_free(&out);
    qt_buf_free(&m);
}

/* An executable behind a PDF's name and type. */
static void test_decoded_exe_as_pdf(void **state)
{
    unsigned char pe[1024] = {0};
    struct qt_buf m = {0};
    struct rendered out;
    gchar *b64;
    long att, warn;

    (void)state;
    pe[0] = 'M';
    pe[1] = 'Z';
    pe[2] = 0x90;
    pe[4] = 3;
    pe[8] = 4;
    pe[12] = 0xff;
    pe[13] = 0xff;
    pe[0x18] = 0x40;
    pe[0x3c] = 0x80;
    memcpy(pe + 0x4e, "This program cannot be run in DOS mode.", 39);
    memcpy(pe + 0x80, "PE\0\0\x4c\x01\x03\0", 8);
    pe[0x94] = 0xe0;
    pe[0x96] = 0x02;
    pe[0x97] = 0x01;
    pe[0x98] = 0x0b;
    pe[0x99] = 0x01;
    pe[0x98 + 68] = 2;
    b64 = g_base64_encode(pe, sizeof(pe));
    qt_buf_printf(&m,
                  "Subject: your invoice\n"
                  "MIME-Version: 1.0\n"
                  "Content-Type: multipart/mixed; boundary=\"b\"\n"
                  "\n"
                  "--b\n"
                  "Content-Type: text/plain\n"
                  "\n"
                  "Please pay.\n"
                  "--b\n"
                  "Content-Type: application/pdf; name=\"invoice.pdf\"\n"
                  "Content-Disposition: attachment; filename=\"invoice.pdf\"\n"
                  "Content-Transfer-Encoding: base64\n"
                  "\n"
                  "%s\n"
                  "--b--\n", b64);
    g_free(b64);
    render_message(m.data, QT_RENDER_DECODED, &out);
    dump(&out);
    att = find_line(&out, QT_LINE_ATTACHMENT, "\"invoice.pdf\": application/pdf, 1024 bytes");
    assert_true(att >= 0);
    assert_true(strstr(out.lines[att].text, "libmagic: application/x-dosexec") ||
                strstr(out.lines[att].text, "libmagic: application/vnd.microsoft.portable-executable"));
    warn = find_line(&out, QT_LINE_WARNING, "MISMATCH");
    assert_int_equal(warn, att + 1);
    assert_non_null(strstr(out.lines[warn].text, "declared application/pdf, named invoice.pdf"));
    rendered_free(&out);
    qt_buf_free(&m);
}

/* ---- damaged files ---- */

static void check_truncated(const char *base, const char *name)
{
    static const enum qt_render_mode modes[] = {QT_RENDER_RAW, QT_RENDER_RAW_BYTES,
                                                QT_RENDER_DECODED};
    char path[1100], *data;
    size_t len, cut, step, m;

    (void)name;
    snprintf(path, sizeof(path), "%s.qf", base);
    data = test_slurp(path, &len);
    assert_non_null(data);
    step = len / 97 + 1;
    for (cut = 0; cut < len; cut += step) {
        int fd = qfb_tempfile(data, cut);

        for (m = 0; m < QT_ARRAY_LEN(modes); m++) {
            struct rendered out;

            render_fd(fd, "cut", modes[m], NULL, 13, &out);
            assert_true(out.n > 0);
            if (out.lines[out.n - 1].kind != QT_LINE_WARNING)
                fprintf(stderr, "%s cut at %zu, mode %d: last line \"%s\"\n", name, cut,
                        (int)modes[m], out.lines[out.n - 1].text);
            assert_int_equal(out.lines[out.n - 1].kind, QT_LINE_WARNING);
            if (modes[m] != QT_RENDER_RAW_BYTES)
                assert_all_safe(&out);
            rendered_free(&out);
        }
        close(fd);
    }
    free(data);
}

static void test_truncated_fixtures(void **state)
{
    (void)state;
    assert_true(each_fixture(check_truncated) >= 17);
}

static void check_corrupted(const char *base, const char *name)
{
    static const enum qt_render_mode modes[] = {QT_RENDER_RAW, QT_RENDER_DECODED};
    char path[1100], *data;
    size_t len, pos, m;

    (void)name;
    snprintf(path, sizeof(path), "%s.qf", base);
    data = test_slurp(path, &len);
    for (pos = 0; pos < len; pos += len / 23 + 1) {
        int fd;

        data[pos] ^= 0xa5;
        fd = qfb_tempfile(data, len);
        for (m = 0; m < QT_ARRAY_LEN(modes); m++) {
            struct rendered out;

            render_fd(fd, "corrupt", modes[m], NULL, 64, &out);
            assert_all_safe(&out);
            rendered_free(&out);
        }
        close(fd);
        data[pos] ^= 0xa5;
    }
    free(data);
}

static void test_corrupted_fixtures(void **state)
{
    (void)state;
    assert_true(each_fixture(check_corrupted) >= 17);
}

static void test_not_a_queue_file(void **state)
{
    struct qt_buf b = {0};
    struct rendered out;

    (void)state;
    qt_buf_printf(&b, "Hello, this is no queue file\n");
    render_data(&b, QT_RENDER_RAW, NULL, &out);
    assert_int_equal(out.n, 1);
    assert_int_equal(out.lines[0].kind, QT_LINE_WARNING);
    assert_string_equal(out.lines[0].text, "input is not a valid queue file");
    rendered_free(&out);
    render_data(&b, QT_RENDER_DECODED, NULL, &out);
    assert_int_equal(out.lines[out.n - 1].kind, QT_LINE_WARNING);
    rendered_free(&out);
    /* An empty file: postcat prints its first marker, and we say why
     * nothing follows. */
    qt_buf_reset(&b);
    render_data(&b, QT_RENDER_RAW, NULL, &out);
    assert_int_equal(out.n, 2);
    assert_int_equal(out.lines[1].kind, QT_LINE_WARNING);
    rendered_free(&out);
    qt_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_matches_postcat),
        cmocka_unit_test(test_raw_folded_header_tabs),
        cmocka_unit_test(test_raw_hostile_bytes),
        cmocka_unit_test(test_raw_pointer_records),
        cmocka_unit_test(test_raw_long_line_pieces),
        cmocka_unit_test(test_raw_lazy_20mb),
        cmocka_unit_test(test_decoded_cap),
        cmocka_unit_test(test_decoded_multipart_attachments),
        cmocka_unit_test(test_decoded_cjk_subjects),
        cmocka_unit_test(test_decoded_delivery_status),
        cmocka_unit_test(test_decoded_all_fixtures),
        cmocka_unit_test(test_decoded_bad_base64),
        cmocka_unit_test(test_decoded_charsets),
        cmocka_unit_test(test_decoded_html),
        cmocka_unit_test(test_decoded_attached_message),
        cmocka_unit_test(test_decoded_nested),
        cmocka_unit_test(test_decoded_exe_as_pdf),
        cmocka_unit_test(test_truncated_fixtures),
        cmocka_unit_test(test_corrupted_fixtures),
        cmocka_unit_test(test_not_a_queue_file),
    };

    /* postcat prints local times; the fixtures were made in UTC. */
    setenv("TZ", "UTC", 1);
    tzset();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
