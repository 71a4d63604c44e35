/* Header decoding and sanitising: charsets, invalid bytes, controls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "qtriage/text.h"

static void check_decode(const char *raw, const char *want)
{
    char *got = qt_text_decode_header(raw, 0);

    assert_string_equal(got, want);
    free(got);
}

static void test_charsets(void **state)
{
    (void)state;
    check_decode(" =?UTF-8?B?w4RyZ2VyIMO8YmVyIFN0ZXVlcm4=?=", "Ärger über Steuern");
    check_decode("=?utf-8?q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=", "Grüße aus Köln");
    check_decode("=?ISO-8859-1?Q?Caf=E9?=", "Café");
    check_decode("=?GB2312?B?suLK1NPKvP4=?=", "测试邮件");
    check_decode("=?big5?B?tPq41aFJ?=", "測試！");
    /* Adjacent encoded words join without the blank between them. */
    check_decode("=?UTF-8?Q?a?= =?UTF-8?Q?b?=", "ab");
    check_decode("plain ascii", "plain ascii");
    /* Adjacent B words whose first is padded: GMime alone dropped the rest. */
    check_decode("=?UTF-8?B?YQ==?= =?UTF-8?B?Yg==?=", "ab");
    check_decode(" =?UTF-8?B?Vm90cmUgY29saXMgbsKwIDMwNTE2MSBlc3QgZW4gYXR0ZW50ZSA=?=\t"
                 "=?UTF-8?B?4pyI?=", "Votre colis n° 305161 est en attente ✈");
    /* A multibyte character split across two padded words. */
    check_decode("=?UTF-8?B?w6nD?= =?UTF-8?B?qQ==?=", "éé");
    check_decode("=?GB2312?B?suLK1A==?= =?GB2312?B?08q8/g==?=", "测试邮件");
}

static void test_invalid_input(void **state)
{
    char *got;

    (void)state;
    /* Raw 8-bit Latin-1 is taken as Latin-1 when it is not UTF-8. */
    check_decode("Gr\xfc\xdf" "e", "Grüße");
    /* A charset iconv does not know must not lose the text or crash. */
    got = qt_text_decode_header("=?x-unknown-charset?Q?abc?=", 0);
    assert_non_null(strstr(got, "abc"));
    free(got);
    /* Broken base64. */
    got = qt_text_decode_header("=?UTF-8?B?!!!not base64***?=", 0);
    assert_non_null(got);
    free(got);
}

static void test_controls_removed(void **state)
{
    struct qt_buf b = {0};
    size_t i;

    (void)state;
    qt_text_sanitize(&b, "a\x1b[2Jb\x07" "c\t\x7f\xc2\x9b" "d\xff", 14);
    for (i = 0; i < b.len; i++) {
        unsigned char c = (unsigned char)b.data[i];

        assert_true(c >= 0x20 && c != 0x7f);
    }
    assert_null(strstr(b.data, "\xc2\x9b"));
    /* DEL, and each byte of the C1 control CSI (C2 9B), become U+FFFD. */
    assert_string_equal(b.data, "a\xef\xbf\xbd[2Jb\xef\xbf\xbd" "c \xef\xbf\xbd\xef\xbf\xbd"
                                "\xef\xbf\xbd" "d\xef\xbf\xbd");
    qt_buf_free(&b);
    /* Encoded escape sequences are caught after decoding too. */
    check_decode("=?UTF-8?B?G10yOwd4?=", "\xef\xbf\xbd]2;\xef\xbf\xbdx");
}

static void test_limit_keeps_whole_chars(void **state)
{
    char *got;

    (void)state;
    got = qt_text_decode_header("=?UTF-8?B?5rWL6K+V6YKu5Lu2?=", 7);   /* 测试邮件 */
    assert_string_equal(got, "测试");
    free(got);
}

static void test_utf8_validation(void **state)
{
    (void)state;
    assert_int_equal(qt_utf8_seq_len((const unsigned char *)"\xe6\xb5\x8b", 3), 3);
    assert_int_equal(qt_utf8_seq_len((const unsigned char *)"\xc0\xaf", 2), 0);   /* overlong */
    assert_int_equal(qt_utf8_seq_len((const unsigned char *)"\xed\xa0\x80", 3), 0); /* surrogate */
    assert_int_equal(qt_utf8_seq_len((const unsigned char *)"\xf4\x90\x80\x80", 4), 0);
    assert_int_equal(qt_utf8_seq_len((const unsigned char *)"\xe6\xb5", 2), 0);   /* cut */
    assert_int_equal(qt_utf8_seq_len((const unsigned char *)"\xf0\x9f\x8e\x89", 4), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_charsets),
        cmocka_unit_test(test_invalid_input),
        cmocka_unit_test(test_controls_removed),
        cmocka_unit_test(test_limit_keeps_whole_chars),
        cmocka_unit_test(test_utf8_validation),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
