/* A queue copy's layout (QTRIAGE_SPOOL): Postfix's defaults without a
 * layout file, the file's settings with one, and a clear error for a line
 * it does not understand. */
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

#include "qtriage/spool_copy.h"

static char dir[] = "/tmp/qtriage-spool-copy-XXXXXX";

static void write_layout(const char *text)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, QT_SPOOL_COPY_LAYOUT_FILE);
    if (!text) {
        unlink(path);
        return;
    }
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_defaults(void **state)
{
    struct qt_spool_layout l;
    struct qt_error e = {""};

    (void)state;
    write_layout(NULL);
    assert_true(qt_spool_layout_from_copy(&l, dir, &e));
    assert_string_equal(l.queue_directory, dir);
    assert_true(l.hashed[QT_Q_DEFERRED]);
    assert_false(l.hashed[QT_Q_HOLD]);
    assert_true(l.defer_hashed);
    assert_false(l.bounce_hashed);
    assert_int_equal(l.hash_depth, 1);
    assert_null(l.postsuper);       /* nothing may act on a copy */
    assert_null(l.postconf);
    qt_spool_layout_free(&l);
}

static void test_layout_file(void **state)
{
    struct qt_spool_layout l;
    struct qt_error e = {""};

    (void)state;
    write_layout("# comment\n\nhash_queue_names = hold, incoming,bounce\n"
                 "hash_queue_depth=2\n  enable_long_queue_ids = yes\n");
    assert_true(qt_spool_layout_from_copy(&l, dir, &e));
    assert_false(l.hashed[QT_Q_DEFERRED]);
    assert_true(l.hashed[QT_Q_HOLD]);
    assert_true(l.hashed[QT_Q_INCOMING]);
    assert_false(l.defer_hashed);
    assert_true(l.bounce_hashed);
    assert_int_equal(l.hash_depth, 2);
    assert_true(l.long_ids);
    qt_spool_layout_free(&l);
}

static void test_bad_lines(void **state)
{
    static const char *const bad[] = {"queue_directory = /etc\n", "hash_queue_depth = 99\n",
                                      "hash_queue_depth = two\n", "no equals sign\n"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct qt_spool_layout l;
        struct qt_error e = {""};

        write_layout(bad[i]);
        assert_false(qt_spool_layout_from_copy(&l, dir, &e));
        assert_non_null(strstr(e.msg, "line 1: not understood"));
    }
    write_layout(NULL);
}

static void test_not_a_directory(void **state)
{
    struct qt_spool_layout l;
    struct qt_error e = {""};

    (void)state;
    assert_false(qt_spool_layout_from_copy(&l, "/nonexistent/qtriage-copy", &e));
    assert_non_null(strstr(e.msg, "No such file"));
    assert_false(qt_spool_layout_from_copy(&l, "/etc/passwd", &e));
    assert_non_null(strstr(e.msg, "not a directory"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_layout_file),
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_not_a_directory),
    };
    int rc;

    if (!mkdtemp(dir))
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    write_layout(NULL);
    rmdir(dir);
    return rc;
}
