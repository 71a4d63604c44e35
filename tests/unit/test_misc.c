/* Queue IDs and paths, defer logs, postqueue -j lines, address display and
 * the child-process runner. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qtriage/actions.h"
#include "qtriage/backend.h"
#include "qtriage/defer_log.h"
#include "qtriage/message_build.h"
#include "qtriage/proc.h"
#include "qtriage/spool.h"

static void test_queue_id_valid(void **state)
{
    (void)state;
    assert_true(qt_queue_id_valid("3F4ADA72165"));
    assert_true(qt_queue_id_valid("4Xyz9k75plzB2C"));
    assert_false(qt_queue_id_valid(""));
    assert_false(qt_queue_id_valid("abc;rm"));
    assert_false(qt_queue_id_valid("../etc"));
    assert_false(qt_queue_id_valid("A B"));
    assert_false(qt_queue_id_valid("ABC\n"));
    assert_false(qt_queue_id_valid("flush_site_example")); /* postsuper's '_' is for flush logs */
    assert_false(qt_queue_id_valid(
        "0123456789012345678901234567890123456789012345678901234567890123"));
}

static void test_relpath(void **state)
{
    struct qt_spool_layout l = {.hash_depth = 1};
    char buf[128];

    (void)state;
    assert_true(qt_spool_relpath(&l, "deferred", true, "3F4ADA72165", buf, sizeof(buf)));
    assert_string_equal(buf, "deferred/3/3F4ADA72165");
    assert_true(qt_spool_relpath(&l, "hold", false, "3F4ADA72165", buf, sizeof(buf)));
    assert_string_equal(buf, "hold/3F4ADA72165");
    l.hash_depth = 2;
    assert_true(qt_spool_relpath(&l, "defer", true, "3F4ADA72165", buf, sizeof(buf)));
    assert_string_equal(buf, "defer/3/F/3F4ADA72165");
    /* Long IDs hash on their microseconds as five hex digits: "75pl" is
     * 999999 in Postfix's base-52 alphabet, 0xF423F. */
    assert_true(qt_spool_relpath(&l, "deferred", true, "4Xyz9k75plzB2C", buf, sizeof(buf)));
    assert_string_equal(buf, "deferred/F/4/4Xyz9k75plzB2C");
    /* Short names pad with '_', as dir_forest does. */
    l.hash_depth = 3;
    assert_true(qt_spool_relpath(&l, "deferred", true, "AB", buf, sizeof(buf)));
    assert_string_equal(buf, "deferred/A/B/_/AB");
    assert_false(qt_spool_relpath(&l, "deferred", true, "../x", buf, sizeof(buf)));
    assert_false(qt_spool_relpath(&l, "deferred", true, "3F4ADA72165", buf, 12));
}

static void test_defer_log(void **state)
{
    static const char text[] =
        "\n"
        "<zed702@example.net>: connect to 127.0.0.1[127.0.0.1]:25: Connection refused\n"
        "recipient=zed702@example.net\n"
        "offset=256\n"
        "dsn_orig_rcpt=rfc822;zed702@example.net\n"
        "status=4.4.1\n"
        "action=delayed\n"
        "reason=connect to 127.0.0.1[127.0.0.1]:25: Connection refused\n"
        "\n"
        "recipient = second@example.net\n"
        "original_recipient=alias@example.net\n"
        "reason=host said: 452 \x1b[31mmailbox full\n"
        "\n"
        "<>: old style bounce\n"
        "\n"
        "status=5.0.0\n";
    struct qt_defer_log log = {0};

    (void)state;
    qt_defer_log_parse(&log, text, sizeof(text) - 1);
    assert_int_equal(log.n, 4);
    assert_string_equal(log.entries[0].recipient, "zed702@example.net");
    assert_int_equal(log.entries[0].offset, 256);
    assert_string_equal(log.entries[0].status, "4.4.1");
    assert_string_equal(log.entries[0].action, "delayed");
    assert_string_equal(log.entries[0].reason, "connect to 127.0.0.1[127.0.0.1]:25: Connection refused");
    assert_string_equal(log.entries[1].recipient, "second@example.net");
    assert_string_equal(log.entries[1].orig_rcpt, "alias@example.net");
    /* Control characters become '?', as Postfix's printable() does. */
    assert_string_equal(log.entries[1].reason, "host said: 452 ?[31mmailbox full");
    assert_string_equal(log.entries[2].recipient, "(MAILER-DAEMON)");
    assert_string_equal(log.entries[2].reason, "old style bounce");
    assert_string_equal(log.entries[3].recipient, "(recipient address unavailable)");
    assert_string_equal(log.entries[3].reason, "(description unavailable)");
    qt_defer_log_free(&log);
}

static void test_address_display(void **state)
{
    struct qt_arena a = {0};

    (void)state;
    assert_string_equal(qt_address_display(&a, ""), "MAILER-DAEMON");
    assert_string_equal(qt_address_display(&a, "plain.user@example.com"), "plain.user@example.com");
    assert_string_equal(qt_address_display(&a, "john doe@example.com"), "\"john doe\"@example.com");
    assert_string_equal(qt_address_display(&a, "a..b@example.com"), "\"a..b\"@example.com");
    assert_string_equal(qt_address_display(&a, "q\"x@example.com"), "\"q\\\"x\"@example.com");
    assert_string_equal(qt_address_display(&a, "bell\a@example.com"), "\"bell?\"@example.com");
    assert_string_equal(qt_address_display(&a, "@route:u@example.com"), "@route:u@example.com");
    assert_string_equal(qt_address_display(&a, "local-only"), "local-only");
    qt_arena_free(&a);
}

static void test_postqueue_json(void **state)
{
    struct qt_arena a = {0};
    struct qt_msg_data d;
    struct qt_error err;

    (void)state;
    assert_true(qt_postqueue_json_parse(
        "{\"queue_name\": \"deferred\", \"queue_id\": \"3A4C5A72305\", \"arrival_time\": 1795354822, "
        "\"message_size\": 542, \"forced_expire\": true, \"sender\": \"MAILER-DAEMON\", "
        "\"future_member\": [1, 2], "
        "\"recipients\": [{\"address\": \"a@x.test\", \"delay_reason\": \"refused\"}, "
        "{\"address\": \"b@x.test\", \"orig_address\": \"o@x.test\", \"bounce_reason\": \"gone\"}]}",
        &a, &d, &err));
    assert_string_equal(d.id, "3A4C5A72305");
    assert_int_equal(d.queue, QT_Q_DEFERRED);
    assert_int_equal(d.arrival, 1795354822);
    assert_int_equal(d.msg_size, 542);
    assert_true(d.forced_expire);
    assert_true(d.null_sender);
    assert_int_equal(d.nrcpts, 2);
    assert_string_equal(d.rcpts[0].reason, "refused");
    assert_null(d.rcpts[0].orig);
    assert_string_equal(d.rcpts[1].orig, "o@x.test");
    assert_true(d.rcpts[1].bounced);
    assert_false(qt_postqueue_json_parse("{\"queue_name\": \"deferred\"}", &a, &d, &err));
    assert_false(qt_postqueue_json_parse("not json", &a, &d, &err));
    assert_false(qt_postqueue_json_parse(
        "{\"queue_name\": \"x\", \"queue_id\": \"A\", \"sender\": \"s\"}", &a, &d, &err));
    assert_false(qt_postqueue_json_parse(
        "{\"queue_name\": \"hold\", \"queue_id\": \"A;B\", \"sender\": \"s\"}", &a, &d, &err));
    qt_arena_free(&a);
}

static int lines_seen;
static void count_line(void *ctx, char *line, size_t len)
{
    (void)ctx;
    assert_int_equal(strlen(line), len);
    lines_seen++;
}

static int err_lines_seen;
static void count_err_line(void *ctx, char *line, size_t len)
{
    (void)ctx;
    assert_int_equal(len, 41);
    assert_memory_equal(line, "line ", 5);
    err_lines_seen++;
}

static void test_proc(void **state)
{
    char *cat = qt_proc_find_program("cat");
    char *fls = qt_proc_find_program("false");
    char *tee = qt_proc_find_program("tee");
    const char *argv[] = {cat, NULL};
    const char *argv_tee[] = {tee, "/dev/stderr", NULL};
    const char *argv_false[] = {fls, NULL};
    const char *argv_missing[] = {"/nonexistent/program", NULL};
    struct qt_proc_spec spec = {.argv = argv};
    struct qt_proc_result res;
    struct qt_buf big = {0};
    char how[256];
    int i;

    (void)state;
    assert_non_null(cat);
    assert_non_null(fls);
    /* 4 MB through a pipe both ways: feeding and reading must interleave. */
    for (i = 0; i < 100000; i++)
        qt_buf_printf(&big, "line %06d of a long stream of queue IDs\n", i);
    spec.stdin_data = big.data;
    spec.stdin_len = big.len;
    spec.on_stdout_line = count_line;
    lines_seen = 0;
    assert_true(qt_proc_run(&spec, &res));
    assert_int_equal(lines_seen, 100000);
    qt_proc_result_free(&res);
    /* Captured and bounded. */
    spec.on_stdout_line = NULL;
    spec.max_capture = 1000;
    assert_true(qt_proc_run(&spec, &res));
    assert_int_equal(res.out.len, 1000);
    assert_true(res.out_truncated);
    qt_proc_result_free(&res);
    /* stderr in a memory file, read once the child is gone (postsuper's
     * line per ID): every line, as from a pipe; captured, bounded. */
    spec.argv = argv_tee;
    spec.max_capture = 0;
    spec.stderr_after_exit = true;
    spec.on_stdout_line = count_line;
    spec.on_stderr_line = count_err_line;
    lines_seen = err_lines_seen = 0;
    assert_true(qt_proc_run(&spec, &res));
    assert_int_equal(lines_seen, 100000);
    assert_int_equal(err_lines_seen, 100000);
    qt_proc_result_free(&res);
    spec.on_stderr_line = NULL;
    spec.max_capture = 1000;
    assert_true(qt_proc_run(&spec, &res));
    assert_int_equal(res.err.len, 1000);
    assert_true(res.err_truncated);
    assert_memory_equal(res.err.data, "line 000000 of", 14);
    qt_proc_result_free(&res);
    spec.stderr_after_exit = false;
    spec.on_stdout_line = NULL;
    spec.argv = argv_false;
    spec.stdin_data = NULL;
    assert_false(qt_proc_run(&spec, &res));
    assert_int_equal(res.exit_status, 1);
    qt_proc_describe(&spec, &res, how, sizeof(how));
    assert_non_null(strstr(how, "status 1"));
    qt_proc_result_free(&res);
    spec.argv = argv_missing;
    assert_false(qt_proc_run(&spec, &res));
    assert_int_not_equal(res.spawn_errno, 0);
    qt_proc_describe(&spec, &res, how, sizeof(how));
    assert_non_null(strstr(how, "cannot run"));
    qt_proc_result_free(&res);
    qt_buf_free(&big);
    free(cat);
    free(fls);
    free(tee);
}

/* A program that cannot be started is reported with the errno, whatever
 * posix_spawn does with a failed exec: glibc reports it only when it can
 * share memory with the child, and under valgrind (or another libc) the
 * child exited with 127 and the error read "exited with status 127".
 * Found running the unit tests under valgrind. */
static void test_proc_cannot_run(void **state)
{
    char script[] = "/tmp/qtriage-test-noexec-XXXXXX";
    const char *argv[] = {script, NULL};
    const char *argv_dir[] = {"/tmp", NULL};
    const char *argv_missing[] = {"/nonexistent/postsuper", NULL};
    struct qt_proc_spec spec = {.argv = argv};
    struct qt_proc_result res;
    char how[256];
    int fd;

    (void)state;
    fd = mkstemp(script);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "#!/bin/sh\nexit 0\n", 18), 18);
    close(fd);
    /* Not executable (0644): not even root may run it. */
    assert_int_equal(chmod(script, 0644), 0);
    assert_false(qt_proc_run(&spec, &res));
    assert_int_equal(res.spawn_errno, EACCES);
    qt_proc_describe(&spec, &res, how, sizeof(how));
    assert_non_null(strstr(how, "cannot run"));
    assert_non_null(strstr(how, strerror(EACCES)));
    qt_proc_result_free(&res);
    /* Once it is, it runs. */
    assert_int_equal(chmod(script, 0755), 0);
    assert_true(qt_proc_run(&spec, &res));
    qt_proc_result_free(&res);
    unlink(script);

    spec.argv = argv_dir;
    assert_false(qt_proc_run(&spec, &res));
    assert_int_equal(res.spawn_errno, EISDIR);
    qt_proc_result_free(&res);

    spec.argv = argv_missing;
    assert_false(qt_proc_run(&spec, &res));
    assert_int_equal(res.spawn_errno, ENOENT);
    assert_false(res.signaled);
    assert_int_equal(res.exit_status, 0);
    qt_proc_describe(&spec, &res, how, sizeof(how));
    assert_string_equal(how, "cannot run /nonexistent/postsuper: No such file or directory");
    qt_proc_result_free(&res);
}

/* A queue directory that does not exist is a wrong configuration: no
 * backend, whatever the kind, and the error names queue_directory.  (It used
 * to fall back to read-only postqueue -j, which then failed too, so the
 * user got two lines and the wrong idea.) */
static void test_backend_missing_queue_directory(void **state)
{
    char missing[] = "/nonexistent/qtriage-spool";
    char file[] = "/etc/passwd";
    char *dirs[] = {missing, file};
    static const enum qt_backend_kind kinds[] = {QT_BACKEND_AUTO, QT_BACKEND_SPOOL,
                                                 QT_BACKEND_POSTQUEUE};
    struct qt_spool_layout l;
    struct qt_feed feed;
    struct qt_error err;
    size_t d, k;

    (void)state;
    qt_feed_init(&feed);
    for (d = 0; d < QT_ARRAY_LEN(dirs); d++)
        for (k = 0; k < QT_ARRAY_LEN(kinds); k++) {
            memset(&l, 0, sizeof(l));
            l.queue_directory = dirs[d];
            memset(&err, 0, sizeof(err));
            assert_null(qt_backend_open(&l, &feed, kinds[k], &err));
            assert_non_null(strstr(err.msg, "queue_directory"));
            assert_non_null(strstr(err.msg, dirs[d]));
        }
    qt_feed_destroy(&feed);
}

/* A tool that cannot run or fails: the action fails with one line that
 * names the action and the tool, and says nothing was done. */
static void test_action_tool_failure(void **state)
{
    char missing[] = "/nonexistent/postsuper", fls[] = "/bin/false", qdir[] = "/nonexistent";
    struct qt_action_target t[] = {{"ABCDEF123", QT_Q_DEFERRED}, {"BCDEF1234", QT_Q_HOLD}};
    struct qt_spool_layout l;
    struct qt_action_result res;

    (void)state;
    memset(&l, 0, sizeof(l));
    l.queue_directory = qdir;
    l.hash_depth = 1;
    l.postsuper = missing;
    assert_false(qt_action_run(&l, QT_ACT_DELETE, t, 2, NULL, &res));
    assert_true(res.failed);
    assert_string_equal(res.message, "delete: cannot run /nonexistent/postsuper: "
                        "No such file or directory; nothing done");
    assert_int_equal(res.acted, 0);
    assert_int_equal(res.ngone, 0);     /* nothing is "gone" when nothing ran */
    qt_action_result_free(&res);

    if (access(fls, X_OK) != 0)
        return;
    l.postsuper = fls;
    assert_false(qt_action_run(&l, QT_ACT_HOLD, t, 2, NULL, &res));
    assert_string_equal(res.message, "hold: /bin/false exited with status 1; nothing done");
    qt_action_result_free(&res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_id_valid),
        cmocka_unit_test(test_relpath),
        cmocka_unit_test(test_defer_log),
        cmocka_unit_test(test_address_display),
        cmocka_unit_test(test_postqueue_json),
        cmocka_unit_test(test_proc),
        cmocka_unit_test(test_proc_cannot_run),
        cmocka_unit_test(test_backend_missing_queue_directory),
        cmocka_unit_test(test_action_tool_failure),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
