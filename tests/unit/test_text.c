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

#define FFFD "\xef\xbf\xbd"

static void check_sanitize(const char *in, size_t len, const char *want)
{
    struct qt_buf b = {0};

    qt_text_sanitize(&b, in, len);
    assert_string_equal(b.data ? b.data : "", want);
    qt_buf_free(&b);
}

/* Literals only: their length is taken with sizeof, NULs included. */
#define SANITIZE(in, want) check_sanitize(in, sizeof(in) - 1, want)

/* Each class of the policy in qtriage/text.h, one by one. */
static void test_sanitize_classes(void **state)
{
    (void)state;
    /* Printable ASCII and ordinary UTF-8 (Latin, CJK, emoji) pass as they are. */
    SANITIZE("plain <a@b.example> 4.7.1", "plain <a@b.example> 4.7.1");
    SANITIZE("Gr\xc3\xbc\xc3\x9f \xe6\xb5\x8b \xf0\x9f\x8e\x89",
                   "Gr\xc3\xbc\xc3\x9f \xe6\xb5\x8b \xf0\x9f\x8e\x89");
    /* Tab, CR, LF: one blank each. */
    SANITIZE("a\tb\rc\nd", "a b c d");
    /* C0 controls, ESC, BEL, NUL and DEL: a marker each. */
    SANITIZE("\x1b[31m\x07\x00x\x7f", FFFD "[31m" FFFD FFFD "x" FFFD);
    /* UTF-8 encoded C1: CSI U+009B, OSC U+009D, ST U+009C, NEL U+0085. */
    SANITIZE("\xc2\x9b" "1m", FFFD FFFD "1m");
    SANITIZE("\xc2\x9d" "0;t\xc2\x9c", FFFD FFFD "0;t" FFFD FFFD);
    SANITIZE("\xc2\x85", FFFD FFFD);
    /* U+00A0, the first character after C1, is kept. */
    SANITIZE("\xc2\xa0", "\xc2\xa0");
    /* A raw 0x9B byte (8-bit CSI) and other invalid UTF-8: overlong, surrogate,
     * past U+10FFFF, truncated, stray continuation. */
    SANITIZE("\x9b" "2J", FFFD "2J");
    SANITIZE("\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xe6\xb5|\x80",
                   FFFD FFFD "|" FFFD FFFD FFFD "|" FFFD FFFD FFFD FFFD "|" FFFD FFFD "|" FFFD);
    /* Bidi embeddings and overrides U+202A..U+202E, isolates U+2066..U+2069:
     * one marker per character, never the character. */
    SANITIZE("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad\xe2\x80\xae",
                   FFFD FFFD FFFD FFFD FFFD);
    SANITIZE("moc.\xe2\x80\xaelive", "moc." FFFD "live");
    SANITIZE("\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9",
                   FFFD FFFD FFFD FFFD);
    /* Zero-width space, non-joiner, joiner, LRM, RLM; word joiner; BOM; ALM;
     * line and paragraph separators; a tag character. */
    SANITIZE("a\xe2\x80\x8b\xe2\x80\x8c\xe2\x80\x8d\xe2\x80\x8e\xe2\x80\x8f" "b",
                   "a" FFFD FFFD FFFD FFFD FFFD "b");
    SANITIZE("\xe2\x81\xa0\xef\xbb\xbf\xd8\x9c", FFFD FFFD FFFD);
    SANITIZE("\xe2\x80\xa8\xe2\x80\xa9", FFFD FFFD);
    SANITIZE("\xf3\xa0\x80\x81", FFFD);
    /* Neighbours of the ranges stay: U+200A hair space, U+2030 per mille,
     * U+2065 (unassigned, drawn as a box), U+FEFE. */
    SANITIZE("\xe2\x80\x8a\xe2\x80\xb0\xe2\x81\xa5\xef\xbb\xbe",
                   "\xe2\x80\x8a\xe2\x80\xb0\xe2\x81\xa5\xef\xbb\xbe");
    /* The same decision, unit by unit, for writers that escape (JSON). */
    {
        size_t n;

        assert_int_equal(qt_text_next((const unsigned char *)"\xe2\x80\xae", 3, &n),
                         QT_TEXT_MARK);
        assert_int_equal(n, 3);
        assert_int_equal(qt_text_next((const unsigned char *)"\xc2\x9b", 2, &n), QT_TEXT_MARK);
        assert_int_equal(n, 1);
        assert_int_equal(qt_text_next((const unsigned char *)"\n", 1, &n), QT_TEXT_BLANK);
        assert_int_equal(qt_text_next((const unsigned char *)"\xc3\xa9", 2, &n), QT_TEXT_KEEP);
        assert_int_equal(n, 2);
    }
    /* Encoded words are sanitised after decoding: a B-encoded RLO. */
    check_decode("=?UTF-8?B?4oCuZXZpbA==?=", FFFD "evil");
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
        cmocka_unit_test(test_sanitize_classes),
        cmocka_unit_test(test_limit_keeps_whole_chars),
        cmocka_unit_test(test_utf8_validation),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
