/* The reader on queue files that a real Postfix wrote (tests/data/NAME.qf),
 * checked against what Postfix's own tools said about the same files:
 * NAME.postcat (postcat -q) and NAME.json (the message's postqueue -j
 * object, with NAME.defer its defer log).  Every fixture is also cut at
 * many points and corrupted, and must then fail cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qfbuild.h"
#include "testutil.h"
#include "qtriage/defer_log.h"
#include "qtriage/message_build.h"
#include "qtriage/queue_file.h"

/* Compare the reader's envelope and headers with postcat's rendering. */
static void check_postcat(const struct qt_queue_file *qf, char *postcat, const char *name)
{
    char *line, *save = NULL;
    size_t attr = 0, rcpt = 0, hdr = 0;
    bool in_content = false, in_headers = false;
    struct qt_buf cur = {0};

    for (line = strtok_r(postcat, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "*** MESSAGE CONTENTS", 20) == 0) {
            in_content = in_headers = true;
            continue;
        }
        if (strncmp(line, "***", 3) == 0) {
            in_content = false;
            continue;
        }
        if (in_content) {
            /* strtok skips empty lines; a line without a colon that does not
             * start with blank ends the header block (it is body text). */
            if (!in_headers)
                continue;
            if (line[0] == ' ' || line[0] == '\t') {
                qt_buf_append(&cur, line, strlen(line));
                continue;
            }
            if (cur.len) {
                char *colon = strchr(cur.data, ':');

                assert_true(hdr < qf->nheaders);
                *colon = 0;
                assert_string_equal(qf->headers[hdr].name, cur.data);
                assert_string_equal(qf->headers[hdr].value, colon + 1);
                hdr++;
                qt_buf_reset(&cur);
            }
            if (!strchr(line, ':') || hdr >= qf->nheaders) {
                in_headers = false;
                continue;
            }
            qt_buf_append(&cur, line, strlen(line));
            continue;
        }
        if (strncmp(line, "sender: ", 8) == 0) {
            assert_string_equal(qf->sender, line + 8);
        } else if (strcmp(line, "sender:") == 0) {
            assert_string_equal(qf->sender, "");
        } else if (strncmp(line, "named_attribute: ", 17) == 0) {
            if (strncmp(line + 17, "dsn_orig_rcpt=", 14) == 0)
                continue;
            /* postcat shows create_time as a date line, not as an attribute. */
            if (attr < qf->nattrs && strcmp(qf->attrs[attr].name, "create_time") == 0)
                attr++;
            assert_true(attr < qf->nattrs);
            assert_memory_equal(line + 17, qf->attrs[attr].name, strlen(qf->attrs[attr].name));
            assert_string_equal(strchr(line + 17, '=') + 1, qf->attrs[attr].value);
            attr++;
        } else if (strncmp(line, "recipient: ", 11) == 0 ||
                   strncmp(line, "done_recipient: ", 16) == 0) {
            const char *addr = strchr(line, ' ') + 1;

            assert_true(rcpt < qf->nrcpts);
            assert_string_equal(qf->rcpts[rcpt].address, addr);
            assert_int_equal(qf->rcpts[rcpt].state,
                             line[0] == 'd' ? QT_RCPT_DONE : QT_RCPT_PENDING);
            rcpt++;
        }
    }
    if (!qf->headers_truncated)
        assert_int_equal(hdr, qf->nheaders);
    if (attr < qf->nattrs && strcmp(qf->attrs[attr].name, "create_time") == 0)
        attr++;
    assert_int_equal(attr, qf->nattrs);
    assert_int_equal(rcpt, qf->nrcpts);
    (void)name;
    qt_buf_free(&cur);
}

/* Compare the postqueue-compatible view with postqueue -j's object. */
static void check_json(const struct qt_queue_file *qf, const char *json_text,
                       const char *defer_path, const char *queue_name)
{
    struct json_object *o = json_tokener_parse(json_text), *v, *rcpts;
    struct qt_defer_log defer = {0};
    struct qt_arena arena = {0};
    struct qt_msg_data d;
    struct stat st = {0};
    enum qt_queue q = QT_Q_DEFERRED;
    size_t i, n, k = 0;
    int fd;

    assert_non_null(o);
    if ((fd = open(defer_path, O_RDONLY)) >= 0) {
        assert_true(qt_defer_log_read_fd(&defer, fd));
        close(fd);
    }
    assert_true(qt_queue_from_name(queue_name, &q));
    st.st_mode = S_IFREG | 0700;
    st.st_size = qf->file_size;
    qt_msg_data_build(&arena, &d, qf, q, &st, &defer, NULL);
    assert_true(json_object_object_get_ex(o, "sender", &v));
    assert_string_equal(d.sender, json_object_get_string(v));
    assert_true(json_object_object_get_ex(o, "message_size", &v));
    assert_int_equal(d.msg_size, json_object_get_int64(v));
    assert_true(json_object_object_get_ex(o, "arrival_time", &v));
    assert_int_equal(d.arrival, json_object_get_int64(v));
    assert_true(json_object_object_get_ex(o, "recipients", &rcpts));
    n = json_object_array_length(rcpts);
    for (i = 0; i < n; i++, k++) {
        struct json_object *r = json_object_array_get_idx(rcpts, i), *why;

        assert_true(k < d.nrcpts);
        assert_int_equal(d.rcpts[k].state, QT_RCPT_PENDING);
        assert_true(json_object_object_get_ex(r, "address", &v));
        assert_string_equal(d.rcpts[k].address, json_object_get_string(v));
        if (json_object_object_get_ex(r, "delay_reason", &why))
            assert_string_equal(d.rcpts[k].reason, json_object_get_string(why));
        else
            assert_null(d.rcpts[k].reason);
    }
    /* Whatever follows is delivered or cancelled, which postqueue omits. */
    for (; k < d.nrcpts; k++)
        assert_int_not_equal(d.rcpts[k].state, QT_RCPT_PENDING);
    json_object_put(o);
    qt_defer_log_free(&defer);
    qt_arena_free(&arena);
}

static void check_damage(const char *data, size_t len)
{
    struct qt_queue_file qf;
    struct qt_buf b = {0};
    size_t step = len > 4096 ? len / 1024 : 1, cut, pos;
    int fd;

    qt_queue_file_init(&qf);
    for (cut = 0; cut < len; cut += step) {
        fd = qfb_tempfile(data, cut);
        assert_false(qt_queue_file_read(&qf, fd, "TRUNCATED", false, NULL));
        assert_true(qf.error[0] != 0);
        close(fd);
    }
    for (pos = 0; pos < len && pos < 8192; pos += 7) {
        qt_buf_reset(&b);
        qt_buf_append(&b, data, len);
        b.data[pos] ^= 0xa5;
        fd = qfb_tempfile(b.data, b.len);
        if (!qt_queue_file_read(&qf, fd, "CORRUPTED", false, NULL))
            assert_true(qf.error[0] != 0);
        close(fd);
    }
    qt_buf_free(&b);
    qt_queue_file_free(&qf);
}

static void test_fixtures(void **state)
{
    DIR *d = opendir(test_data_dir());
    struct dirent *de;
    int checked = 0;

    (void)state;
    assert_non_null(d);
    while ((de = readdir(d))) {
        size_t nlen = strlen(de->d_name), qlen = 0;
        char base[512], path[1024], *postcat, *json, *data;
        struct qt_queue_file qf;
        struct json_object *o, *v;
        char queue[32] = "deferred";
        bool ok;
        int fd;

        if (nlen < 4 || strcmp(de->d_name + nlen - 3, ".qf") != 0)
            continue;
        snprintf(base, sizeof(base), "%s/%.*s", test_data_dir(), (int)(nlen - 3), de->d_name);
        snprintf(path, sizeof(path), "%s.qf", base);
        data = test_slurp(path, &qlen);
        assert_non_null(data);
        fd = open(path, O_RDONLY);
        assert_true(fd >= 0);
        qt_queue_file_init(&qf);
        ok = qt_queue_file_read(&qf, fd, "FIXTURE", false, NULL);
        close(fd);
        if (!ok)
            fprintf(stderr, "%s: %s\n", path, qf.error);
        assert_true(ok);
        snprintf(path, sizeof(path), "%s.postcat", base);
        if ((postcat = test_slurp(path, NULL))) {
            check_postcat(&qf, postcat, de->d_name);
            free(postcat);
        }
        snprintf(path, sizeof(path), "%s.json", base);
        if ((json = test_slurp(path, NULL))) {
            o = json_tokener_parse(json);
            if (o && json_object_object_get_ex(o, "queue_name", &v))
                snprintf(queue, sizeof(queue), "%s", json_object_get_string(v));
            json_object_put(o);
            snprintf(path, sizeof(path), "%s.defer", base);
            check_json(&qf, json, path, queue);
            free(json);
        }
        check_damage(data, qlen);
        free(data);
        qt_queue_file_free(&qf);
        checked++;
    }
    closedir(d);
    /* The fixtures are part of the repository: finding none is a failure. */
    assert_true(checked >= 5);
}

/* canonical_maps rewrote someone@alias.example: the defer log names the
 * original recipient, the other recipient's comes from its O record. */
static void test_original_recipient(void **state)
{
    char path[1024];
    struct qt_queue_file qf;
    struct qt_defer_log defer = {0};
    struct qt_arena arena = {0};
    struct qt_msg_data d;
    struct stat st;
    int fd;

    (void)state;
    snprintf(path, sizeof(path), "%s/deferred-canonical-rcpt.qf", test_data_dir());
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    qt_queue_file_init(&qf);
    assert_true(qt_queue_file_read(&qf, fd, "FIXTURE", false, NULL));
    close(fd);
    snprintf(path, sizeof(path), "%s/deferred-canonical-rcpt.defer", test_data_dir());
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_true(qt_defer_log_read_fd(&defer, fd));
    close(fd);
    qt_msg_data_build(&arena, &d, &qf, QT_Q_DEFERRED, &st, &defer, NULL);
    assert_int_equal(d.nrcpts, 2);
    assert_string_equal(d.rcpts[0].address, "someone@canonical.example");
    assert_string_equal(d.rcpts[0].orig, "someone@alias.example");
    assert_string_equal(d.rcpts[1].address, "other@mail.example");
    assert_string_equal(d.rcpts[1].orig, "other@mail.example");
    qt_queue_file_free(&qf);
    qt_defer_log_free(&defer);
    qt_arena_free(&arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_original_recipient),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
