/* The search bars' regex (search.h): smart case, match offsets in bytes,
 * compile errors with their offset, and patterns that must give up instead
 * of hanging the terminal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qtriage/search.h"

static struct qt_search *compile_ok(const char *pattern)
{
    char err[256] = "";
    size_t pos = 12345;
    struct qt_search *s = qt_search_compile(pattern, err, sizeof(err), &pos);

    if (!s)
        fail_msg("/%s/ did not compile: %s", pattern, err);
    assert_string_equal(qt_search_pattern(s), pattern);
    return s;
}

/* 1/0/-1 of matching `pattern` against `text`, with the match's bounds. */
static int match(const char *pattern, const char *text, size_t *start, size_t *end)
{
    struct qt_search *s = compile_ok(pattern);
    size_t a = 999, b = 999;
    int rc = qt_search_match(s, text, strlen(text), &a, &b);

    if (rc >= 0)
        assert_null(qt_search_error(s));
    qt_search_free(s);
    if (start)
        *start = a;
    if (end)
        *end = b;
    return rc;
}

static void expect_match(const char *pattern, const char *text, size_t start, size_t end)
{
    size_t a, b;
    int rc = match(pattern, text, &a, &b);

    if (rc != 1)
        fail_msg("/%s/ on \"%s\": %d, want a match", pattern, text, rc);
    if (a != start || b != end)
        fail_msg("/%s/ on \"%s\": [%zu,%zu), want [%zu,%zu)", pattern, text, a, b, start,
                 end);
}

static void expect_no_match(const char *pattern, const char *text)
{
    int rc = match(pattern, text, NULL, NULL);

    if (rc != 0)
        fail_msg("/%s/ on \"%s\": %d, want no match", pattern, text, rc);
}

static void test_smart_case(void **state)
{
    (void)state;
    /* No upper case in the pattern: case is ignored. */
    expect_match("cheap", "Buy CHEAP meds", 4, 9);
    expect_match("cheap", "Buy Cheap meds", 4, 9);
    expect_match("cheap", "buy cheap meds", 4, 9);
    /* An upper-case letter makes it case-sensitive. */
    expect_no_match("Cheap", "Buy CHEAP meds");
    expect_no_match("Cheap", "buy cheap meds");
    expect_match("Cheap", "Buy Cheap meds", 4, 9);
    expect_match("CHEAP", "Buy CHEAP meds", 4, 9);
    /* Escapes such as \D \S \W are not upper-case letters to match. */
    expect_match("\\Dheap", "Buy CHEAP meds", 4, 9);
    expect_match("\\Sheap\\W", "Buy CHEAP meds", 4, 10);
    expect_match("\\bmeds\\b", "CHEAP MEDS", 6, 10);
    /* A class with upper case counts too: [A-Z] means upper case. */
    expect_no_match("[A-Z]heap", "buy cheap");
    expect_match("[A-Z]heap", "buy Cheap", 4, 9);
    /* Case folding is Unicode-aware (UTF mode). */
    expect_match("été", "Offre d'ÉTÉ", 8, 13);
    expect_match("привет", "ПРИВЕТ мир", 0, 12);
}

static void test_offsets(void **state)
{
    (void)state;
    expect_match("meds", "Buy cheap meds now", 10, 14);
    expect_match("^buy", "Buy cheap meds now", 0, 3);
    expect_match("now$", "Buy cheap meds now", 15, 18);
    expect_match("e+", "Buy cheap meeeds", 6, 7);   /* the first match, leftmost */
    /* Offsets are bytes, not characters: the subject "件名: 日本語のテスト". */
    expect_match("日本語", "件名: 日本語のテスト", 8, 17);
    expect_match("テスト", "件名: 日本語のテスト", 20, 29);
    /* An empty match has start == end. */
    expect_match("x*", "abc", 0, 0);
    expect_match("(?=c)", "abc", 2, 2);
    expect_no_match("viagra", "Buy cheap meds now");
    expect_no_match("^meds", "Buy cheap meds now");
}

/* The length is honoured: text need not end in NUL, and bytes past `len`
 * are not looked at. */
static void test_length_and_bytes(void **state)
{
    struct qt_search *s = compile_ok("abc");
    static const char text[] = "xxabcxx";
    size_t a, b;

    (void)state;
    assert_int_equal(qt_search_match(s, text, 4, &a, &b), 0);
    assert_int_equal(qt_search_match(s, text, 5, &a, &b), 1);
    assert_int_equal(a, 2);
    assert_int_equal(b, 5);
    assert_int_equal(qt_search_match(s, "", 0, &a, &b), 0);
    /* Embedded NUL: what follows it is still searched. */
    assert_int_equal(qt_search_match(s, "x\0abc", 5, &a, &b), 1);
    assert_int_equal(a, 2);
    /* The same compiled search, many times (match data is reused). */
    for (int i = 0; i < 1000; i++)
        assert_int_equal(qt_search_match(s, text, sizeof(text) - 1, &a, &b), 1);
    assert_null(qt_search_error(s));
    qt_search_free(s);
    qt_search_free(NULL);
}

/* Lines on screen are sanitised, but the search must not trip over invalid
 * UTF-8 either (raw bytes of a broken message). */
static void test_invalid_utf8_text(void **state)
{
    (void)state;
    expect_match("meds", "\xff\xfe cheap meds", 9, 13);
    expect_match("cheap", "\xc3(cheap\x80", 2, 7);
    expect_no_match("\\xff", "\xff\xfe");   /* U+00FF is not the byte 0xff */
    expect_match(".", "\xff" "a", 1, 2);     /* invalid bytes are never matched */
}

static void expect_compile_error(const char *pattern, size_t want_pos, const char *want_text)
{
    char err[256] = "";
    size_t pos = 99999;
    struct qt_search *s = qt_search_compile(pattern, err, sizeof(err), &pos);

    if (s) {
        qt_search_free(s);
        fail_msg("/%s/ compiled, want an error", pattern);
    }
    if (pos != want_pos)
        fail_msg("/%s/: error at %zu (%s), want %zu", pattern, pos, err, want_pos);
    if (!strstr(err, want_text))
        fail_msg("/%s/: error \"%s\", want it to say \"%s\"", pattern, err, want_text);
    /* The message names the offset too, for a status line. */
    {
        char at[32];

        snprintf(at, sizeof(at), "offset %zu", want_pos);
        if (!strstr(err, at))
            fail_msg("/%s/: error \"%s\" does not say \"%s\"", pattern, err, at);
    }
}

static void test_compile_errors(void **state)
{
    char err[8];
    size_t pos = 0;

    (void)state;
    expect_compile_error("a(b", 3, "missing closing parenthesis");
    expect_compile_error("cheap)", 5, "unmatched closing parenthesis");
    expect_compile_error("[z-a]", 3, "range out of order");
    expect_compile_error("*meds", 0, "quantifier does not follow a repeatable item");
    expect_compile_error("meds[", 5, "missing terminating ]");
    expect_compile_error("a{2,1}", 5, "numbers out of order");
    expect_compile_error("\\", 1, "\\ at end of pattern");
    /* Without a place for the offset, and with a tiny message buffer: the
     * message is cut, not overrun (ASan would see it). */
    assert_null(qt_search_compile("a(b", err, sizeof(err), NULL));
    assert_true(strlen(err) < sizeof(err));
    assert_null(qt_search_compile("a(b", err, sizeof(err), &pos));
    assert_int_equal(pos, 3);
}

static double elapsed(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* (a+)+$ against 30k a's and a b backtracks for ever without limits.  The
 * search must give up quickly with -1 and an error, and stay usable. */
static void test_catastrophic_pattern(void **state)
{
    static const char *patterns[] = {"(a+)+$", "(a|aa)+$", "^(\\w+\\s?)*$"};
    size_t n = 30000, i, a, b;
    char *text = malloc(n + 2);
    struct timespec t0;

    (void)state;
    assert_non_null(text);
    memset(text, 'a', n);
    text[n] = 'b';
    text[n + 1] = '\0';
    for (i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
        struct qt_search *s = compile_ok(patterns[i]);
        int rc;
        double t;

        if (i == 2)
            text[n] = '!';  /* \w+ cannot match it: the whole line backtracks */
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = qt_search_match(s, text, n + 1, &a, &b);
        t = elapsed(&t0);
        if (rc != -1)
            fail_msg("/%s/ on 30000 a's: %d, want -1 (gave up)", patterns[i], rc);
        /* Generous for sanitizer builds on a busy machine; without limits
         * this takes longer than the age of the universe. */
        if (t > 5.0)
            fail_msg("/%s/ took %.1f s to give up", patterns[i], t);
        assert_non_null(qt_search_error(s));
        if (!strstr(qt_search_error(s), "gave up"))
            fail_msg("/%s/: error \"%s\"", patterns[i], qt_search_error(s));
        /* Short lines still match with the same search. */
        assert_int_equal(qt_search_match(s, "aaa", 3, &a, &b), 1);
        /* The error stays, so the status line can say a search gave up. */
        assert_non_null(qt_search_error(s));
        qt_search_free(s);
    }
    free(text);
}

/* Patterns that are heavy but sane succeed within the limits. */
static void test_long_but_sane(void **state)
{
    size_t n = 30000, a, b;
    char *text = malloc(n + 1);
    struct qt_search *s;

    (void)state;
    assert_non_null(text);
    memset(text, 'a', n);
    memcpy(text + n - 5, "meds!", 5);
    text[n] = '\0';
    s = compile_ok("a+meds");
    assert_int_equal(qt_search_match(s, text, n, &a, &b), 1);
    assert_int_equal(a, 0);
    assert_int_equal(b, n - 1);
    qt_search_free(s);
    s = compile_ok("m[a-z]+!$");
    assert_int_equal(qt_search_match(s, text, n, &a, &b), 1);
    assert_int_equal(a, n - 5);
    assert_null(qt_search_error(s));
    qt_search_free(s);
    free(text);
}

/* Regression: smart case looked only at ASCII A-Z, so a pattern whose only
 * capitals are non-ASCII ("Été", "ПРИВЕТ") still ignored case. */
static void test_smart_case_non_ascii_capitals(void **state)
{
    (void)state;
    expect_no_match("ÉTÉ", "offre d'été");
    expect_no_match("Été", "offre d'été");
    expect_no_match("ПРИВЕТ", "привет мир");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smart_case),
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_length_and_bytes),
        cmocka_unit_test(test_invalid_utf8_text),
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_catastrophic_pattern),
        cmocka_unit_test(test_long_but_sane),
        cmocka_unit_test(test_smart_case_non_ascii_capitals),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
