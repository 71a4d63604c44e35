/* The RFC 822 rebuild of queue files for export, checked against what
 * Postfix's own postcat said about the same real queue files (tests/data):
 * the content between postcat's MESSAGE CONTENTS and HEADER EXTRACTED
 * markers must come out byte for byte, behind envelope headers built from
 * postcat's sender/recipient lines and postqueue -j's arrival time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qfbuild.h"
#include "testutil.h"
#include "qtriage/export.h"
#include "qtriage/restore.h"

static char *data_path(const char *name, const char *ext)
{
    return xasprintf("%s/%s%s", test_data_dir(), name, ext);
}

/* The bytes written to `fd` (a temp file) so far. */
static char *read_back(int fd, size_t *len)
{
    struct qt_buf b = {0};
    char chunk[65536];
    ssize_t n;
    off_t pos = 0;

    while ((n = pread(fd, chunk, sizeof(chunk), pos)) > 0) {
        qt_buf_append(&b, chunk, (size_t)n);
        pos += n;
    }
    *len = b.len;
    return b.data ? b.data : xstrdup("");
}

/* mboxrd quoting of one line, as the format defines it. */
static void mboxrd_line(struct qt_buf *out, const char *line, size_t len)
{
    size_t gt = 0;

    while (gt < len && line[gt] == '>')
        gt++;
    if (len - gt >= 5 && memcmp(line + gt, "From ", 5) == 0)
        qt_buf_putc(out, '>');
    qt_buf_append(out, line, len);
}

/* What export must produce for fixture `name`, from postcat's output. */
static void expected_export(const char *name, const char *id, const char *queue,
                            long arrival, bool mbox, struct qt_buf *out)
{
    char *pc_path = data_path(name, ".postcat"), *postcat = test_slurp(pc_path, NULL);
    struct qt_buf env = {0}, done = {0}, content = {0};
    const char *sender = NULL;
    char *p, *nl;
    bool in_content = false;
    char date[64];
    struct tm tm;
    time_t t = (time_t)arrival;

    assert_non_null(postcat);
    for (p = postcat; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        assert_non_null(nl);
        *nl = 0;
        if (strncmp(p, "*** MESSAGE CONTENTS", 20) == 0) {
            in_content = true;
        } else if (strncmp(p, "***", 3) == 0) {
            in_content = false;
        } else if (in_content) {
            if (mbox)
                mboxrd_line(&content, p, strlen(p));
            else
                qt_buf_append(&content, p, strlen(p));
            qt_buf_putc(&content, '\n');
        } else if (strncmp(p, "sender: ", 8) == 0 || strcmp(p, "sender:") == 0) {
            sender = p[7] ? p + 8 : "";
        } else if (strncmp(p, "recipient: ", 11) == 0) {
            qt_buf_printf(&env, "X-Qtriage-Envelope-To: <%s>\n", p + 11);
        } else if (strncmp(p, "done_recipient: ", 16) == 0) {
            qt_buf_printf(&done, "X-Qtriage-Envelope-Done: <%s>\n", p + 16);
        }
    }
    assert_non_null(sender);
    qt_buf_reset(out);
    gmtime_r(&t, &tm);
    if (mbox) {
        strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
        qt_buf_printf(out, "From %s %s\n", sender[0] ? sender : "MAILER-DAEMON", date);
    }
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    qt_buf_printf(out, "X-Qtriage-Queue-ID: %s\nX-Qtriage-Queue-Name: %s\n"
                  "X-Qtriage-Arrival-Date: %s\nX-Qtriage-Envelope-From: <%s>\n",
                  id, queue, date, sender);
    if (env.len)
        qt_buf_append(out, env.data, env.len);
    if (done.len)
        qt_buf_append(out, done.data, done.len);
    qt_buf_append(out, content.data, content.len);
    if (mbox)
        qt_buf_putc(out, '\n');
    qt_buf_free(&env);
    qt_buf_free(&done);
    qt_buf_free(&content);
    free(postcat);
    free(pc_path);
}

static void check_fixtures(bool mbox)
{
    char *mpath = data_path("MANIFEST", ".json");
    json_object *manifest = json_object_from_file(mpath);
    size_t i, n, checked = 0;

    assert_non_null(manifest);
    n = json_object_array_length(manifest);
    for (i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(manifest, i), *v, *pq;
        const char *name, *id, *queue;
        char *qf_path, *json_path;
        struct qt_buf want = {0};
        struct qt_error err = {""};
        char *got;
        size_t got_len;
        int qf_fd, out_fd;

        assert_true(json_object_object_get_ex(e, "name", &v));
        name = json_object_get_string(v);
        assert_true(json_object_object_get_ex(e, "queue_id", &v));
        id = json_object_get_string(v);
        assert_true(json_object_object_get_ex(e, "queue_name", &v));
        queue = json_object_get_string(v);
        json_path = data_path(name, ".json");
        pq = json_object_from_file(json_path);
        assert_non_null(pq);
        assert_true(json_object_object_get_ex(pq, "arrival_time", &v));
        expected_export(name, id, queue, (long)json_object_get_int64(v), mbox, &want);

        qf_path = data_path(name, ".qf");
        qf_fd = open(qf_path, O_RDONLY);
        assert_true(qf_fd >= 0);
        out_fd = qfb_tempfile(NULL, 0);
        if (!qt_export_write(qf_fd, id, queue, mbox ? QT_EXPORT_MBOX : QT_EXPORT_EML_DIR,
                             out_fd, &err))
            fail_msg("%s: export failed: %s", name, err.msg);
        got = read_back(out_fd, &got_len);
        if (got_len != want.len || memcmp(got, want.data, want.len) != 0) {
            size_t k = 0;

            while (k < got_len && k < want.len && got[k] == want.data[k])
                k++;
            fail_msg("%s (%s): export differs at byte %zu of %zu (want %zu):\n"
                     "got:  %.80s\nwant: %.80s", name, mbox ? "mbox" : "eml", k, got_len,
                     want.len, got + k, want.data + k);
        }
        checked++;
        free(got);
        close(out_fd);
        close(qf_fd);
        qt_buf_free(&want);
        json_object_put(pq);
        free(qf_path);
        free(json_path);
    }
    assert_true(checked >= 10);
    json_object_put(manifest);
    free(mpath);
}

static void test_fixtures_eml(void **state)
{
    (void)state;
    check_fixtures(false);
}

static void test_fixtures_mbox(void **state)
{
    (void)state;
    check_fixtures(true);
}

/* Export a queue file built in memory; returns the output (malloc'd) or
 * NULL when export failed (err then says why). */
static char *export_buf(const struct qt_buf *qf, enum qt_export_format fmt,
                        struct qt_error *err)
{
    int in = qfb_tempfile(qf->data, qf->len), out = qfb_tempfile(NULL, 0);
    char *got = NULL;
    size_t len;

    if (qt_export_write(in, "4F2A81C0D3", "deferred", fmt, out, err))
        got = read_back(out, &len);
    close(in);
    close(out);
    return got;
}

/* A queue file with `body` (LF-terminated lines) as its content. */
static void build_qf(struct qt_buf *b, const char *sender, const char *rcpt, const char *body)
{
    size_t size_pos, start, end;

    qt_buf_reset(b);
    size_pos = qfb_size_placeholder(b);
    qfb_str(b, 'T', "1795354822 123456");
    qfb_str(b, 'S', sender);
    qfb_str(b, 'R', rcpt);
    qfb_str(b, 'M', "");
    start = b->len;
    qfb_content_lines(b, body, strlen(body));
    end = b->len;
    qfb_str(b, 'X', "");
    qfb_str(b, 'E', "");
    qfb_size_patch(b, size_pos, start, end, 1);
}

static void test_mbox_quoting(void **state)
{
    struct qt_buf qf = {0};
    struct qt_error err = {""};
    size_t size_pos, start, end;
    const char *want_body =
        "From: a@b.example\n"
        "Subject: x\n"
        "\n"
        ">From me, at the start of a line\n"
        ">>From quoted once already\n"
        ">>>>From twice\n"
        "From\n"
        ">From split over records\n"
        " From not at the start\n"
        ">Fro not quite\n"
        "\n";
    char *got;

    (void)state;
    size_pos = qfb_size_placeholder(&qf);
    qfb_str(&qf, 'T', "1795354822 123456");
    qfb_str(&qf, 'S', "");
    qfb_str(&qf, 'R', "r@dest.example");
    qfb_str(&qf, 'M', "");
    start = qf.len;
    qfb_str(&qf, 'N', "From: a@b.example");
    qfb_str(&qf, 'N', "Subject: x");
    qfb_str(&qf, 'N', "");
    qfb_str(&qf, 'N', "From me, at the start of a line");
    qfb_str(&qf, 'N', ">From quoted once already");
    qfb_str(&qf, 'N', ">>>From twice");
    qfb_str(&qf, 'N', "From");
    /* A hostile file cuts "From " over three records. */
    qfb_str(&qf, 'L', "Fr");
    qfb_str(&qf, 'L', "om");
    qfb_str(&qf, 'N', " split over records");
    qfb_str(&qf, 'N', " From not at the start");
    qfb_str(&qf, 'N', ">Fro not quite");
    end = qf.len;
    qfb_str(&qf, 'X', "");
    qfb_str(&qf, 'E', "");
    qfb_size_patch(&qf, size_pos, start, end, 1);

    got = export_buf(&qf, QT_EXPORT_MBOX, &err);
    assert_non_null(got);
    /* The null sender: MAILER-DAEMON in the From line, <> in the header. */
    assert_true(strncmp(got, "From MAILER-DAEMON ", 19) == 0);
    assert_non_null(strstr(got, "\nX-Qtriage-Envelope-From: <>\n"));
    assert_non_null(strstr(got, "\nX-Qtriage-Envelope-To: <r@dest.example>\n"));
    assert_non_null(strstr(got, want_body));
    assert_string_equal(strstr(got, want_body), want_body);
    free(got);

    /* The .eml form quotes nothing. */
    got = export_buf(&qf, QT_EXPORT_EML_DIR, &err);
    assert_non_null(got);
    assert_non_null(strstr(got, "\n\nFrom me, at the start of a line\n>From quoted once"));
    assert_non_null(strstr(got, "\nFrom split over records\n"));
    free(got);
    qt_buf_free(&qf);
}

/* Envelope addresses can hold any byte: none may start a header line. */
static void test_hostile_envelope(void **state)
{
    struct qt_buf qf = {0};
    struct qt_error err = {""};
    const char *body = "Subject: hi\n\nbody\n";
    char *got, *line;

    (void)state;
    build_qf(&qf, "evil@x.example>\r\nBcc: victim@y.example\n\tX-Folded: 1",
             "a\nX-Injected: yes\x01\x1b[31m\x7f", body);
    got = export_buf(&qf, QT_EXPORT_MBOX, &err);
    assert_non_null(got);
    for (line = got; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        assert_false(strncmp(line, "Bcc:", 4) == 0);
        assert_false(strncmp(line, "X-Injected:", 11) == 0);
        assert_false(line[0] == '\t');
    }
    assert_null(strchr(got, '\r'));
    assert_null(strchr(got, '\x1b'));
    assert_null(strchr(got, '\x7f'));
    assert_non_null(strstr(got, "X-Qtriage-Envelope-From: <evil@x.example>??Bcc: "
                                "victim@y.example??X-Folded: 1>\n"));
    assert_non_null(strstr(got, "X-Qtriage-Envelope-To: <a?X-Injected: yes??[31m?>\n"));
    /* In the From line the sender has no blanks: they would end it. */
    {
        const char *from_line = "From evil@x.example>??Bcc:?victim@y.example??X-Folded:?1 ";

        assert_true(strncmp(got, from_line, strlen(from_line)) == 0);
    }
    free(got);
    qt_buf_free(&qf);
}

/* Recipients from the extracted segment (sendmail -t) are envelope too;
 * done ones are said to be done; L records join without a break. */
static void test_typical(void **state)
{
    struct qt_buf qf = {0};
    struct qt_error err = {""};
    char *got;

    (void)state;
    qfb_typical(&qf, "Subject: typical");
    got = export_buf(&qf, QT_EXPORT_EML_DIR, &err);
    assert_non_null(got);
    assert_string_equal(got,
                        "X-Qtriage-Queue-ID: 4F2A81C0D3\n"
                        "X-Qtriage-Queue-Name: deferred\n"
                        "X-Qtriage-Arrival-Date: Sun, 22 Nov 2026 13:40:22 +0000\n"
                        "X-Qtriage-Envelope-From: <flooder@spam.example>\n"
                        "X-Qtriage-Envelope-To: <rewritten@dest.example>\n"
                        "X-Qtriage-Envelope-To: <second@other.example>\n"
                        "X-Qtriage-Envelope-To: <extracted@dest.example>\n"
                        "X-Qtriage-Envelope-Done: <done@dest.example>\n"
                        "Received: from x\n"
                        "\tby y; Sun, 22 Nov 2026 10:00:00 +0000\n"
                        "Subject: typical\n"
                        "From: =?UTF-8?Q?J=C3=BCrgen?= <j@spam.example>\n"
                        "\n"
                        "Body line one.\n"
                        "Body line two.\n");
    free(got);
    qt_buf_free(&qf);
}

/* restore reads back exactly what export wrote: the envelope from the
 * X-Qtriage block, and the rest (postcat -bh's bytes) untouched. */
static void test_restore_parse(void **state)
{
    struct qt_buf qf = {0};
    struct qt_error err = {""};
    struct qt_exported e;
    char *got;

    (void)state;
    qfb_typical(&qf, "Subject: typical");
    got = export_buf(&qf, QT_EXPORT_EML_DIR, &err);
    assert_non_null(got);
    assert_true(qt_exported_parse(&e, got, strlen(got)));
    assert_string_equal(e.old_id, "4F2A81C0D3");
    assert_string_equal(e.queue_name, "deferred");
    assert_string_equal(e.sender, "flooder@spam.example");
    assert_int_equal(e.nrcpts, 3);
    assert_string_equal(e.rcpts[2], "extracted@dest.example");
    assert_int_equal(e.ndone, 1);
    assert_string_equal(e.done[0], "done@dest.example");
    assert_true(strncmp(e.content, "Received: from x\n", 17) == 0);
    assert_int_equal(e.content_len, strlen(strstr(got, "Received: from x")));
    qt_exported_free(&e);
    /* Not an export: no block, or the block without its sender. */
    assert_false(qt_exported_parse(&e, "Subject: x\n\nbody\n", 17));
    assert_false(qt_exported_parse(&e, "X-Qtriage-Queue-ID: 4F2A81C0D3\n\nb\n", 34));
    /* The null sender; an X-Qtriage header of the message's own stays. */
    {
        static const char m[] = "X-Qtriage-Queue-ID: ABC\nX-Qtriage-Envelope-From: <>\n"
                                "X-Qtriage-Envelope-To: <a@b>\nX-Qtriage-Queue-ID: own\n\nb\n";

        assert_true(qt_exported_parse(&e, m, sizeof(m) - 1));
        assert_string_equal(e.sender, "");
        assert_int_equal(e.nrcpts, 1);
        assert_string_equal(e.content, "X-Qtriage-Queue-ID: own\n\nb\n");
        qt_exported_free(&e);
    }
    free(got);
    qt_buf_free(&qf);
}

/* A queue file cut anywhere is never exported as if it were whole. */
static void test_truncated(void **state)
{
    struct qt_buf qf = {0}, cut = {0};
    struct qt_error err = {""};
    size_t at;
    char *got;

    (void)state;
    qfb_typical(&qf, "Subject: typical");
    for (at = 0; at < qf.len; at++) {
        qt_buf_reset(&cut);
        qt_buf_append(&cut, qf.data, at);
        err.msg[0] = 0;
        got = export_buf(&cut, at % 2 ? QT_EXPORT_MBOX : QT_EXPORT_EML_DIR, &err);
        if (got)
            fail_msg("a file cut at %zu of %zu bytes was exported", at, qf.len);
        assert_true(err.msg[0] != 0);
    }
    /* A record other than N/L inside the content: garbled, not exported. */
    qfb_typical(&qf, "Subject: typical");
    {
        char *n = memmem(qf.data, qf.len, "Body line one.", 14);

        assert_non_null(n);
        assert_int_equal(n[-2], 'N');
        n[-2] = 'R';
    }
    got = export_buf(&qf, QT_EXPORT_EML_DIR, &err);
    assert_null(got);
    assert_non_null(strstr(err.msg, "unexpected record 'R'"));
    qt_buf_free(&qf);
    qt_buf_free(&cut);
}

/* A full disk is a failure of that message, with errno ENOSPC. */
static void test_disk_full(void **state)
{
    struct qt_buf qf = {0};
    struct qt_error err = {""};
    int in, out = open("/dev/full", O_WRONLY);

    (void)state;
    if (out < 0)
        skip();
    qfb_typical(&qf, "Subject: typical");
    in = qfb_tempfile(qf.data, qf.len);
    assert_false(qt_export_write(in, "4F2A81C0D3", "deferred", QT_EXPORT_EML_DIR, out, &err));
    assert_int_equal(errno, ENOSPC);
    assert_non_null(strstr(err.msg, "write"));
    close(in);
    close(out);
    qt_buf_free(&qf);
}

/* The target: a missing directory is made 0700; a symlink or a file where
 * the directory should be is refused; an mbox symlink is not followed. */
static void test_open_target(void **state)
{
    char base[] = "/tmp/qtriage-export-test-XXXXXX";
    struct qt_exporter x;
    struct qt_error err = {""};
    struct stat st;
    char *dir, *link, *file, *mbox;

    (void)state;
    assert_non_null(mkdtemp(base));
    dir = xasprintf("%s/new", base);
    link = xasprintf("%s/link", base);
    file = xasprintf("%s/file", base);
    mbox = xasprintf("%s/box", base);

    assert_true(qt_export_open(&x, QT_EXPORT_EML_DIR, dir, &err));
    qt_export_close(&x);
    assert_int_equal(lstat(dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0700);

    assert_int_equal(symlink(dir, link), 0);
    assert_false(qt_export_open(&x, QT_EXPORT_EML_DIR, link, &err));
    assert_non_null(strstr(err.msg, "symbolic link"));
    assert_false(qt_export_open(&x, QT_EXPORT_MBOX, link, &err));

    close(open(file, O_WRONLY | O_CREAT, 0600));
    assert_false(qt_export_open(&x, QT_EXPORT_EML_DIR, file, &err));
    assert_non_null(strstr(err.msg, "not a directory"));

    assert_true(qt_export_open(&x, QT_EXPORT_MBOX, mbox, &err));
    /* A second writer is locked out. */
    {
        struct qt_exporter y;

        assert_false(qt_export_open(&y, QT_EXPORT_MBOX, mbox, &err));
        assert_non_null(strstr(err.msg, "locked"));
    }
    qt_export_close(&x);
    assert_int_equal(stat(mbox, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);

    unlink(mbox);
    unlink(file);
    unlink(link);
    rmdir(dir);
    rmdir(base);
    free(dir);
    free(link);
    free(file);
    free(mbox);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures_eml),
        cmocka_unit_test(test_fixtures_mbox),
        cmocka_unit_test(test_mbox_quoting),
        cmocka_unit_test(test_hostile_envelope),
        cmocka_unit_test(test_typical),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_disk_full),
        cmocka_unit_test(test_open_target),
        cmocka_unit_test(test_restore_parse),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
