/* A message's history from the mail log: timestamps, whole-word matches,
 * lines across the backward reader's blocks, the limits, the rotated file,
 * hostile lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qtriage/maillog.h"
#include "qtriage/text.h"

/* 2026-11-22 12:00:00 UTC */
#define NOW ((int64_t)1795348800)

struct tmpdir {
    char path[64];
};

static void make_dir(struct tmpdir *d)
{
    snprintf(d->path, sizeof(d->path), "/tmp/qt-maillog-XXXXXX");
    assert_non_null(mkdtemp(d->path));
}

static void remove_dir(struct tmpdir *d)
{
    char cmd[128];
    const char *names[] = {"log", "log.1"};
    size_t i;

    for (i = 0; i < 2; i++) {
        snprintf(cmd, sizeof(cmd), "%s/%s", d->path, names[i]);
        unlink(cmd);
    }
    rmdir(d->path);
}

static char *write_file(struct tmpdir *d, const char *name, const char *data, size_t len)
{
    char *path = xasprintf("%s/%s", d->path, name);
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return path;
}

/* A syslog line at `t` (UTC, RFC 3339 so the test does not depend on TZ). */
static void log_line(struct qt_buf *b, int64_t t, const char *text)
{
    time_t tt = (time_t)t;
    struct tm tm;
    char stamp[64];

    gmtime_r(&tt, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S.000000+00:00", &tm);
    qt_buf_printf(b, "%s mx postfix/%s\n", stamp, text);
}

static void test_line_time(void **state)
{
    int64_t t;

    (void)state;
    assert_true(qt_maillog_line_time("2026-11-22T12:00:00.123456+00:00 mx x", 37, NOW, &t));
    assert_int_equal(t, NOW);
    assert_true(qt_maillog_line_time("2026-11-22T13:30:00+01:30 mx", 28, NOW, &t));
    assert_int_equal(t, NOW);
    assert_true(qt_maillog_line_time("2026-11-22T12:00:05Z mx", 23, NOW, &t));
    assert_int_equal(t, NOW + 5);
    /* Syslog's local time without a year: compare with mktime's view. */
    {
        struct tm tm = {.tm_year = 126, .tm_mon = 10, .tm_mday = 2, .tm_hour = 3,
                        .tm_min = 4, .tm_sec = 5, .tm_isdst = -1};
        int64_t want = (int64_t)mktime(&tm);

        assert_true(qt_maillog_line_time("Nov  2 03:04:05 mx postfix/qmgr[1]: x", 37, NOW, &t));
        assert_int_equal(t, want);
        /* December's lines read in January belong to the year before. */
        tm = (struct tm){.tm_year = 126, .tm_mon = 11, .tm_mday = 31, .tm_hour = 23,
                         .tm_min = 59, .tm_sec = 59, .tm_isdst = -1};
        want = (int64_t)mktime(&tm);
        assert_true(qt_maillog_line_time("Dec 31 23:59:59 mx", 18, NOW + 60 * 86400, &t));
        assert_int_equal(t, want);
    }
    assert_false(qt_maillog_line_time("Foo 22 12:00:00 mx", 18, NOW, &t));
    assert_false(qt_maillog_line_time("Nov 22 25:00:00 mx", 18, NOW, &t));
    assert_false(qt_maillog_line_time("2026-13-22T12:00:00Z", 20, NOW, &t));
    assert_false(qt_maillog_line_time("2026-11-22T12:00:00", 19, NOW, &t));
    assert_false(qt_maillog_line_time("", 0, NOW, &t));
    assert_false(qt_maillog_line_time("Nov 2", 5, NOW, &t));
}

static void test_whole_words_in_order(void **state)
{
    struct tmpdir d;
    struct qt_buf b = {0};
    struct qt_maillog_history h;
    struct qt_error err = {""};
    char *path;

    (void)state;
    make_dir(&d);
    log_line(&b, NOW - 50, "pickup[1]: 4ABC123: uid=0 from=<a@b>");
    log_line(&b, NOW - 49, "pickup[1]: 4ABC1234: uid=0 from=<other@b>");     /* longer ID */
    log_line(&b, NOW - 48, "pickup[1]: X4ABC123: uid=0 from=<other@b>");     /* prefixed */
    log_line(&b, NOW - 40, "qmgr[2]: 4ABC123: from=<a@b>, size=10, nrcpt=1 (queue active)");
    log_line(&b, NOW - 30, "smtp[3]: 4ABC123: to=<x@y>, status=deferred (4.4.1 refused)");
    log_line(&b, NOW - 20, "bounce[4]: 77DEF: sender non-delivery notification: 4ABC123");
    b.len--;    /* the last line has no newline: it still counts */
    path = write_file(&d, "log", b.data, b.len);
    assert_true(qt_maillog_history(path, "4ABC123", NOW - 60, NOW, NULL, &h, &err));
    assert_int_equal(h.n, 4);
    assert_non_null(strstr(h.lines[0], "uid=0 from=<a@b>"));
    assert_non_null(strstr(h.lines[1], "queue active"));
    assert_non_null(strstr(h.lines[2], "status=deferred"));
    assert_non_null(strstr(h.lines[3], "non-delivery notification: 4ABC123"));
    assert_false(h.incomplete);
    assert_non_null(strstr(h.note, "4 lines about 4ABC123"));
    qt_maillog_history_free(&h);
    /* An ID nobody logged: nothing, and not an error. */
    assert_true(qt_maillog_history(path, "9999", 0, NOW, NULL, &h, &err));
    assert_int_equal(h.n, 0);
    qt_maillog_history_free(&h);
    /* IDs are validated before anything is read. */
    assert_false(qt_maillog_history(path, "a b", 0, NOW, NULL, &h, &err));
    qt_maillog_history_free(&h);
    free(path);
    qt_buf_free(&b);
    remove_dir(&d);
}

/* 3 MB of noise with matches placed on and around the reader's 1 MiB block
 * boundaries: each is found once and whole. */
static void test_block_boundaries(void **state)
{
    struct tmpdir d;
    struct qt_buf b = {0};
    struct qt_maillog_history h;
    struct qt_error err = {""};
    size_t i, want = 0;
    char *path;

    (void)state;
    make_dir(&d);
    for (i = 0; b.len < (size_t)3 << 20; i++) {
        char text[200];

        if (i % 4999 == 0) {
            snprintf(text, sizeof(text), "smtp[3]: 5D1F00: to=<u%zu@y>, status=deferred", i);
            want++;
        } else {
            snprintf(text, sizeof(text), "smtp[3]: 6E2A%05zu: to=<n%zu@y>, status=sent", i % 99999, i);
        }
        log_line(&b, NOW - 3600 + (int64_t)i / 100, text);
    }
    path = write_file(&d, "log", b.data, b.len);
    assert_true(qt_maillog_history(path, "5D1F00", NOW - 3600, NOW, NULL, &h, &err));
    assert_int_equal(h.n, want);
    for (i = 0; i < h.n; i++) {
        assert_non_null(strstr(h.lines[i], "status=deferred"));
        assert_int_equal(strncmp(h.lines[i], "2026-11-22T11:", 14), 0);  /* whole */
        if (i > 0) {    /* oldest first */
            size_t prev = strtoul(strstr(h.lines[i - 1], "<u") + 2, NULL, 10);
            size_t cur = strtoul(strstr(h.lines[i], "<u") + 2, NULL, 10);

            assert_true(prev < cur);
        }
    }
    qt_maillog_history_free(&h);
    /* The byte budget: only the last MiB is read, the note says so. */
    {
        struct qt_maillog_limits lim = {.max_bytes = (size_t)1 << 20};

        assert_true(qt_maillog_history(path, "5D1F00", NOW - 3600, NOW, &lim, &h, &err));
        assert_true(h.n < want && h.n > 0);
        assert_true(h.incomplete);
        assert_true(h.bytes_read <= lim.max_bytes);
        assert_non_null(strstr(h.note, "search limit reached"));
        qt_maillog_history_free(&h);
    }
    /* The line budget keeps the newest. */
    {
        struct qt_maillog_limits lim = {.max_lines = 3};
        char last[32];

        snprintf(last, sizeof(last), "<u%zu@", (want - 1) * 4999);
        assert_true(qt_maillog_history(path, "5D1F00", NOW - 3600, NOW, &lim, &h, &err));
        assert_int_equal(h.n, 3);
        assert_non_null(strstr(h.lines[2], last));
        qt_maillog_history_free(&h);
    }
    /* A message that arrived 10 minutes ago: the search stops at the first
     * block that starts before it (minus the slack), so not everything is read. */
    assert_true(qt_maillog_history(path, "5D1F00", NOW - 600, NOW, NULL, &h, &err));
    assert_true(h.bytes_read < b.len);
    qt_maillog_history_free(&h);
    free(path);
    qt_buf_free(&b);
    remove_dir(&d);
}

/* The current file begins after the message arrived: the rotated one is
 * read on.  When the current file reaches back far enough, it is not. */
static void test_rotated(void **state)
{
    struct tmpdir d;
    struct qt_buf old = {0}, cur = {0};
    struct qt_maillog_history h;
    struct qt_error err = {""};
    char *p1, *p0;

    (void)state;
    make_dir(&d);
    log_line(&old, NOW - 7200, "pickup[1]: 7C0FFEE: uid=0 from=<a@b>");
    log_line(&old, NOW - 7100, "smtp[3]: 7C0FFEE: to=<x@y>, status=deferred (first try)");
    log_line(&cur, NOW - 1000, "smtp[3]: 7C0FFEE: to=<x@y>, status=deferred (again)");
    p1 = write_file(&d, "log.1", old.data, old.len);
    p0 = write_file(&d, "log", cur.data, cur.len);
    assert_true(qt_maillog_history(p0, "7C0FFEE", NOW - 7200, NOW, NULL, &h, &err));
    assert_int_equal(h.n, 3);
    assert_non_null(strstr(h.lines[0], "uid=0"));
    assert_non_null(strstr(h.lines[2], "(again)"));
    assert_non_null(strstr(h.note, "log.1"));
    qt_maillog_history_free(&h);
    /* Arrived after the current file began: log.1 is not read. */
    assert_true(qt_maillog_history(p0, "7C0FFEE", NOW - 500, NOW, NULL, &h, &err));
    assert_int_equal(h.n, 1);
    assert_null(strstr(h.note, "log.1"));
    qt_maillog_history_free(&h);
    free(p0);
    free(p1);
    qt_buf_free(&old);
    qt_buf_free(&cur);
    remove_dir(&d);
}

/* Log lines quote remote servers: escape sequences, C1 controls, invalid
 * UTF-8 and a line longer than the reader's block. */
static void test_hostile_lines(void **state)
{
    struct tmpdir d;
    struct qt_buf b = {0};
    struct qt_maillog_history h;
    struct qt_error err = {""};
    size_t i, j;
    char *path, *big;

    (void)state;
    make_dir(&d);
    log_line(&b, NOW - 10, "smtp[3]: 8BAD: to=<x@y>, status=deferred (host said: \x1b]0;pwned\x07"
                           "\x1b[2J\xc2\x9b" "31m \xff\xfe bad)");
    big = xmalloc((size_t)3 << 20);
    memset(big, 'A', (size_t)3 << 20);
    memcpy(big + 1000, " 8BAD ", 6);
    qt_buf_append(&b, big, (size_t)3 << 20);   /* one 3 MB line mentioning the ID */
    qt_buf_putc(&b, '\n');
    log_line(&b, NOW - 5, "qmgr[2]: 8BAD: removed");
    path = write_file(&d, "log", b.data, b.len);
    assert_true(qt_maillog_history(path, "8BAD", NOW - 20, NOW, NULL, &h, &err));
    assert_true(h.n >= 2);
    assert_non_null(strstr(h.lines[0], "status=deferred"));
    assert_non_null(strstr(h.lines[h.n - 1], "removed"));
    for (i = 0; i < h.n; i++) {
        const unsigned char *s = (const unsigned char *)h.lines[i];
        size_t len = strlen(h.lines[i]);

        assert_true(len <= 4 * 4096);
        for (j = 0; j < len; j++)
            assert_true(s[j] >= 0x20 && s[j] != 0x7f);
        for (j = 0; j < len;) {
            size_t n = qt_utf8_seq_len(s + j, len - j);
            unsigned cp = 0;

            assert_true(n > 0);
            qt_utf8_decode(s + j, len - j, &cp);
            assert_false(cp >= 0x80 && cp < 0xa0);     /* no C1 */
            j += n;
        }
    }
    qt_maillog_history_free(&h);
    free(big);
    free(path);
    qt_buf_free(&b);
    remove_dir(&d);
}

static void test_missing_and_locate(void **state)
{
    struct qt_maillog_history h;
    struct qt_error err = {""};
    char *p;

    (void)state;
    assert_false(qt_maillog_history("/nonexistent/qtriage/log", "4ABC", 0, NOW, NULL, &h, &err));
    assert_non_null(strstr(err.msg, "/nonexistent/qtriage/log"));
    qt_maillog_history_free(&h);
    assert_false(qt_maillog_history("/tmp", "4ABC", 0, NOW, NULL, &h, &err));
    qt_maillog_history_free(&h);
    /* A configured path wins, and must be a readable file. */
    p = qt_maillog_locate(NULL, NULL, "/nonexistent/qtriage/log", &err);
    assert_null(p);
    assert_non_null(strstr(err.msg, "configured"));
    p = qt_maillog_locate(NULL, NULL, "/etc/passwd", &err);
    assert_non_null(p);
    assert_string_equal(p, "/etc/passwd");
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_time),
        cmocka_unit_test(test_whole_words_in_order),
        cmocka_unit_test(test_block_boundaries),
        cmocka_unit_test(test_rotated),
        cmocka_unit_test(test_hostile_lines),
        cmocka_unit_test(test_missing_and_locate),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
