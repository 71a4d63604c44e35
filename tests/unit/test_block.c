/* Keys and texts of qtriage's access tables (block.h): what each kind
 * accepts, the form smtpd looks it up in, and what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "qtriage/block.h"

static void expect_key(enum qt_block_kind kind, const char *in, const char *want)
{
    char out[QT_BLOCK_KEY_MAX + 1];
    struct qt_error err = {""};
    bool ok = qt_block_key_normalize(kind, in, out, sizeof(out), &err);

    if (!want) {
        if (ok)
            fail_msg("%s \"%s\" accepted as \"%s\"", qt_block_kind_name(kind), in, out);
        assert_true(err.msg[0] != '\0');
        return;
    }
    if (!ok)
        fail_msg("%s \"%s\" refused: %s", qt_block_kind_name(kind), in, err.msg);
    assert_string_equal(out, want);
}

static void test_sasl(void **state)
{
    (void)state;
    expect_key(QT_BLOCK_SASL, "J.Smith", "j.smith");
    expect_key(QT_BLOCK_SASL, "user@example.com", "user@example.com");
    expect_key(QT_BLOCK_SASL, "", NULL);
    expect_key(QT_BLOCK_SASL, "a b", NULL);
    expect_key(QT_BLOCK_SASL, "a\tb", NULL);
    expect_key(QT_BLOCK_SASL, "a\nREJECT", NULL);
    expect_key(QT_BLOCK_SASL, "#comment", NULL);
    expect_key(QT_BLOCK_SASL, "caf\xc3\xa9", NULL);
}

static void test_client(void **state)
{
    (void)state;
    expect_key(QT_BLOCK_CLIENT, "192.0.2.7", "192.0.2.7");
    expect_key(QT_BLOCK_CLIENT, "192.0.2", "192.0.2");
    expect_key(QT_BLOCK_CLIENT, "10", "10");
    expect_key(QT_BLOCK_CLIENT, "192.0.2.300", NULL);
    expect_key(QT_BLOCK_CLIENT, "192.0.02.1", NULL);
    expect_key(QT_BLOCK_CLIENT, "192.0.2.0/24", NULL);   /* a cidr: table's syntax */
    expect_key(QT_BLOCK_CLIENT, "1.2.3.4.5", NULL);
    expect_key(QT_BLOCK_CLIENT, "2001:DB8:0:0::7", "2001:db8::7");
    expect_key(QT_BLOCK_CLIENT, "2001:db8:1", "2001:db8:1");
    expect_key(QT_BLOCK_CLIENT, "2001:db8::", "2001:db8::");
    expect_key(QT_BLOCK_CLIENT, "host.example", NULL);
    expect_key(QT_BLOCK_CLIENT, "192.0.2.7 OK", NULL);
}

static void test_sender(void **state)
{
    (void)state;
    expect_key(QT_BLOCK_SENDER, "Flood@Bulk.Example", "flood@bulk.example");
    expect_key(QT_BLOCK_SENDER, "a+b@x-y.example", "a+b@x-y.example");
    expect_key(QT_BLOCK_SENDER, "nobody", NULL);
    expect_key(QT_BLOCK_SENDER, "@example.com", NULL);
    expect_key(QT_BLOCK_SENDER, "<>", NULL);
    expect_key(QT_BLOCK_SENDER, "MAILER-DAEMON", NULL);
    expect_key(QT_BLOCK_SENDER, "a b@example.com", NULL);
    expect_key(QT_BLOCK_SENDER, "a@exa mple.com", NULL);
    expect_key(QT_BLOCK_SENDER_DOMAIN, "Spam.Example", "spam.example");
    expect_key(QT_BLOCK_SENDER_DOMAIN, "@spam.example", "spam.example");
    expect_key(QT_BLOCK_SENDER_DOMAIN, "-bad.example", NULL);
    expect_key(QT_BLOCK_SENDER_DOMAIN, "bad..example", NULL);
    expect_key(QT_BLOCK_SENDER_DOMAIN, "bad.example.", NULL);
    expect_key(QT_BLOCK_SENDER_DOMAIN, "", NULL);
}

static void test_text(void **state)
{
    struct qt_error err = {""};
    char longer[QT_BLOCK_TEXT_MAX + 2];

    (void)state;
    assert_true(qt_block_text_valid("", &err));
    assert_true(qt_block_text_valid(NULL, &err));
    assert_true(qt_block_text_valid("hijacked account, call 555-1234", &err));
    assert_false(qt_block_text_valid("two\nlines", &err));
    assert_false(qt_block_text_valid("esc \x1b[31m", &err));
    assert_false(qt_block_text_valid("caf\xc3\xa9", &err));
    memset(longer, 'x', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    assert_false(qt_block_text_valid(longer, &err));
}

static void test_names(void **state)
{
    enum qt_block_kind k;
    enum qt_block_action a;

    (void)state;
    assert_true(qt_block_kind_from_name("sender_domain", &k));
    assert_int_equal(k, QT_BLOCK_SENDER_DOMAIN);
    assert_int_equal(qt_block_kind_table(k), QT_BLOCK_TABLE_SENDER);
    assert_false(qt_block_kind_from_name("helo", &k));
    assert_true(qt_block_action_from_name("defer", &a));
    assert_int_equal(a, QT_BLOCK_DEFER);
    assert_false(qt_block_action_from_name("DEFER", &a));
    assert_string_equal(qt_block_table_file(QT_BLOCK_TABLE_CLIENT), "qtriage_client_access");
    assert_string_equal(qt_block_table_check(QT_BLOCK_TABLE_SASL), "check_sasl_access");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sasl),
        cmocka_unit_test(test_client),
        cmocka_unit_test(test_sender),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
