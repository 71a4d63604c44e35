/* `postmulti -l` output (instances.h), in the format postmulti.c prints:
 * "%-15s %-15s %-9s %s\n" with "-" for no name or group and y/n. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "qtriage/instances.h"

static void test_default_only(void **state)
{
    /* A host without multi-instance support: the default instance alone. */
    const char *out = "-               -               y         /etc/postfix\n";
    struct qt_instances l = {0};

    (void)state;
    assert_int_equal(qt_instances_parse(&l, out, strlen(out)), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].name, "-");
    assert_string_equal(l.v[0].group, "-");
    assert_true(l.v[0].enabled);
    assert_string_equal(l.v[0].config_dir, "/etc/postfix");
    qt_instances_free(&l);
}

static void test_several(void **state)
{
    const char *out =
        "-               -               y         /etc/postfix\n"
        "postfix-out     mta             y         /etc/postfix-out\n"
        "postfix-null    -               n         /etc/postfix-null\n"
        /* Longer than the 15-column field: one blank still separates. */
        "postfix-a-very-long-name a-group-longer-than-15 y /etc/postfix long\r\n";
    struct qt_instances l = {0};

    (void)state;
    assert_int_equal(qt_instances_parse(&l, out, strlen(out)), 0);
    assert_int_equal(l.n, 4);
    assert_string_equal(l.v[1].name, "postfix-out");
    assert_string_equal(l.v[1].group, "mta");
    assert_true(l.v[1].enabled);
    assert_string_equal(l.v[1].config_dir, "/etc/postfix-out");
    assert_string_equal(l.v[2].group, "-");
    assert_false(l.v[2].enabled);
    assert_string_equal(l.v[3].name, "postfix-a-very-long-name");
    assert_string_equal(l.v[3].group, "a-group-longer-than-15");
    assert_string_equal(l.v[3].config_dir, "/etc/postfix long");
    qt_instances_free(&l);
}

static void test_garbage_skipped(void **state)
{
    const char *out = "postmulti: warning: something\n"
                      "\n"
                      "a b maybe /x\n"               /* enabled not y/n */
                      "a b y relative/dir\n"         /* not absolute */
                      "a b y\n"                      /* no directory */
                      "a\x1b[2J b y /x\n"            /* an escape */
                      "a b y /x\xff\n"               /* invalid UTF-8 */
                      "ok - n /srv/postfix-ok";      /* no final newline: fine */
    struct qt_instances l = {0};

    (void)state;
    assert_int_equal(qt_instances_parse(&l, out, strlen(out)), 6);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].name, "ok");
    assert_string_equal(l.v[0].config_dir, "/srv/postfix-ok");
    qt_instances_free(&l);
    qt_instances_free(&l);
}

static void test_real_postmulti(void **state)
{
    /* Whatever this host has: it runs, and lists at least the default. */
    struct qt_instances l = {0};
    struct qt_error err = {""};

    (void)state;
    if (!qt_instances_list(&l, &err)) {
        if (strstr(err.msg, "not found"))
            skip();
        fail_msg("postmulti -l: %s", err.msg);
    }
    assert_true(l.n >= 1);
    assert_true(l.v[0].config_dir[0] == '/');
    qt_instances_free(&l);
}

static void test_counts_of_a_missing_instance(void **state)
{
    char cells[4][24];
    struct qt_error err = {""};
    size_t i;

    (void)state;
    assert_false(qt_instance_count_cells("/nonexistent/postfix", cells, &err));
    assert_true(err.msg[0] != '\0');
    for (i = 0; i < 4; i++)
        assert_string_equal(cells[i], "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_only),
        cmocka_unit_test(test_several),
        cmocka_unit_test(test_garbage_skipped),
        cmocka_unit_test(test_real_postmulti),
        cmocka_unit_test(test_counts_of_a_missing_instance),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
