/* The filter's results cached per interned string, and the view's second
 * filtering thread: results must follow the strings, not the refs, and
 * a split evaluation must say exactly what one thread says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qtriage/filter.h"
#include "qtriage/regex_literals.h"
#include "qtriage/store.h"
#include "qtriage/view.h"

#define NOW 1700000000

static struct qt_filter *compile_ok(const char *query)
{
    struct qt_filter_error err;
    struct qt_filter *f = qt_filter_compile(query, &err);

    if (!f)
        fail_msg("'%s' did not compile: %s at %zu", query, err.msg, err.pos);
    return f;
}

static void add(struct qt_store *s, const char *id, const char *sender, const char *subject)
{
    static struct qt_rcpt_data r = {.address = "someone@corp.example",
                                    .state = QT_RCPT_PENDING};
    struct qt_msg_data d;

    memset(&d, 0, sizeof(d));
    d.id = id;
    d.queue = QT_Q_DEFERRED;
    d.sender = sender;
    d.subject = subject;
    d.rcpts = &r;
    d.nrcpts = 1;
    d.arrival = NOW - 60;
    qt_store_upsert(s, &d);
}

static size_t count(struct qt_filter *f, const struct qt_store *s)
{
    size_t i, n = 0;

    for (i = 0; i < s->n; i++)
        n += qt_filter_match(f, s, &s->msgs[i], NOW);
    return n;
}

/* Another store interns other strings at the very same offsets: a cache
 * keyed by ref alone would answer for the old strings. */
static void test_new_pool_forgets(void **state)
{
    struct qt_store s;
    struct qt_filter *f = compile_ok("subject~/casino/i sender_domain=spam.example");
    int round;

    (void)state;
    for (round = 0; round < 3; round++) {
        qt_store_init(&s);
        /* Same lengths in the same order: same refs in both pools. */
        add(&s, "AAAA1", round == 1 ? "x@corp.example" : "x@spam.example",
            round == 1 ? "quiet night!" : "casino night");
        add(&s, "AAAA2", "y@spam.example", round == 1 ? "Casino party" : "garden party");
        assert_int_equal(count(f, &s), 1);
        assert_true(qt_filter_match(f, &s, &s.msgs[round == 1 ? 1 : 0], NOW));
        assert_false(qt_filter_match(f, &s, &s.msgs[round == 1 ? 0 : 1], NOW));
        qt_store_free(&s);
    }
    qt_filter_free(f);
}

/* Strings interned after the first evaluation, and a message whose value
 * changes to one met before: each answered by its own string. */
static void test_store_changes(void **state)
{
    struct qt_store s;
    struct qt_filter *f = compile_ok("subject:viagra or rcpt_domain:corp");
    struct qt_filter *g = compile_ok("not subject:viagra");

    (void)state;
    qt_store_init(&s);
    add(&s, "B1", "a@x.example", "cheap viagra");
    add(&s, "B2", "a@x.example", "minutes");
    assert_int_equal(count(f, &s), 2);   /* rcpt domain corp: both */
    assert_int_equal(count(g, &s), 1);
    add(&s, "B3", "a@x.example", "more viagra");
    add(&s, "B2", "a@x.example", "cheap viagra");   /* replaced, an old value */
    assert_int_equal(count(g, &s), 0);
    add(&s, "B2", "a@x.example", "minutes, again");
    assert_int_equal(count(g, &s), 1);
    assert_true(qt_filter_match(g, &s, &s.msgs[qt_store_find(&s, "B2")], NOW));
    qt_filter_free(f);
    qt_filter_free(g);
    qt_store_free(&s);
}

/* A store large enough that the caches of unique values (IDs, subjects)
 * give up while those of repeating values (senders) stay: same answers
 * as worked out directly, on the first pass and on a second. */
static void test_caches_that_give_up_stay_right(void **state)
{
    struct qt_store s;
    struct qt_filter *f = compile_ok("/7$/ or sender=flood3@spam.example");
    char id[16], sender[32], subject[48];
    size_t i, want = 0, pass;

    (void)state;
    qt_store_init(&s);
    for (i = 0; i < 40000; i++) {   /* past the caches' trial */
        snprintf(id, sizeof(id), "C%zX", i);
        snprintf(sender, sizeof(sender), "flood%zu@spam.example", i % 10);
        snprintf(subject, sizeof(subject), "offer number %zu", i);
        add(&s, id, sender, subject);
        /* bare regex: id, sender, subject...; the ID is hex, the subject decimal */
        want += i % 10 == 7 || i % 10 == 3 || (i & 0xf) == 7;
    }
    for (pass = 0; pass < 2; pass++)
        assert_int_equal(count(f, &s), want);
    qt_filter_free(f);
    qt_store_free(&s);
}

/* The view splits the filter across two threads on a big store: the rows
 * are those one thread finds, and a regex that gives up on the second
 * thread's half is reported on the filter the caller holds. */
static void test_view_two_threads(void **state)
{
    static const char *const queries[] = {
        "subject~/offer [0-9]*[13]$/i", "sender:flood4 or rcpt:corp", "not /9/",
        "subject~/^(a+)+$/",
    };
    struct qt_store s;
    struct qt_view v;
    char id[16], sender[32], subject[80];
    size_t i, q;

    (void)state;
    qt_store_init(&s);
    for (i = 0; i < 52000; i++) {    /* over the view's two-thread threshold */
        snprintf(id, sizeof(id), "D%zX", i);
        snprintf(sender, sizeof(sender), "flood%zu@spam.example", i % 13);
        if (i % 26000 == 25999)     /* the second one in the second thread's half */
            snprintf(subject, sizeof(subject), "%s", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab");
        else
            snprintf(subject, sizeof(subject), "Offer %zu", i % 997);
        add(&s, id, sender, subject);
    }
    qt_view_init(&v);
    for (q = 0; q < sizeof(queries) / sizeof(queries[0]); q++) {
        struct qt_filter *f = compile_ok(queries[q]), *alone = compile_ok(queries[q]);
        size_t want = count(alone, &s), n, k, j;
        const char *err;

        for (k = 0; k < 2; k++) {   /* again: the helper and its caches are reused */
            qt_view_rebuild(&v, &s, f, NOW);
            n = v.n;
            if (n != want)
                fail_msg("'%s': %zu rows, want %zu", queries[q], n, want);
            for (j = 0; j < v.n; j++)
                assert_true(qt_filter_match(alone, &s, &s.msgs[v.rows[j]], NOW));
        }
        err = qt_filter_runtime_error(f);
        if (q == 3) {
            /* two rebuilds, each met the two catastrophic subjects */
            assert_non_null(err);
            assert_non_null(strstr(err, "gave up on 4 messages"));
            assert_non_null(qt_filter_runtime_error(alone));
        } else {
            assert_null(err);
        }
        qt_filter_free(f);
        qt_filter_free(alone);
    }
    qt_view_free(&v);
    qt_store_free(&s);
}

/* A clone has scratch of its own; its runtime errors move to the original. */
static void test_clone(void **state)
{
    struct qt_store s;
    struct qt_filter *f = compile_ok("subject~/^(a+)+$/"), *c = qt_filter_clone(f);

    (void)state;
    qt_store_init(&s);
    add(&s, "E1", "a@x.example", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab");
    assert_true(qt_filter_serial(f) != qt_filter_serial(c));
    assert_false(qt_filter_match(c, &s, &s.msgs[0], NOW));
    assert_null(qt_filter_runtime_error(f));
    qt_filter_absorb_runtime_error(f, c);
    assert_null(qt_filter_runtime_error(c));
    assert_non_null(qt_filter_runtime_error(f));
    assert_non_null(strstr(qt_filter_runtime_error(f), "gave up on 1 message (first E1"));
    qt_filter_free(c);
    qt_filter_free(f);
    qt_store_free(&s);
}

static void add_full(struct qt_store *s, const char *id, const char *sender, const char *subject,
                     const char *rcpt, const char *reason)
{
    struct qt_rcpt_data r[2];
    struct qt_msg_data d;

    memset(&d, 0, sizeof(d));
    memset(r, 0, sizeof(r));
    r[0].address = rcpt;
    r[0].reason = reason;
    r[0].state = QT_RCPT_PENDING;
    r[1].address = "postmaster@Corp.Example";
    r[1].state = QT_RCPT_DONE;
    d.id = id;
    d.queue = QT_Q_DEFERRED;
    d.sender = sender;
    d.subject = subject;
    d.rcpts = r;
    d.nrcpts = 2;
    d.arrival = NOW - 60;
    qt_store_upsert(s, &d);
}

static uint32_t next_rand(uint32_t *seed)
{
    return (*seed = *seed * 1103515245 + 12345) >> 16;
}

static void add_random(struct qt_store *s, size_t i, uint32_t *seed)
{
    static const char *const senders[] = {"Flood@Spam.example", "bob@corp.example",
                                          "casino@deals.example", "x@spam.example.net", ""};
    static const char *const words[] = {"Casino", "night", "VIAGRA", "offer", "spam", "corp",
                                        "ab", "\xc3\xa9t\xc3\xa9", "\xff\xfe", "x@y",
                                        "ca\xc5\xbfino" /* the long s */,
                                        "\xe2\x84\xaa" "elvin" /* the Kelvin sign */,
                                        "o\xe2\x84\xaa" "s"};
    static const char *const reasons[] = {"connect to mx.example[192.0.2.1]:25: Connection refused",
                                          "host mx said: 450 4.7.1 try later (in reply to RCPT TO)",
                                          NULL};
    char id[16], subject[80], rcpt[48];
    size_t k, n = next_rand(seed) % 5;

    snprintf(id, sizeof(id), "P%zX", i);
    subject[0] = 0;
    for (k = 0; k < n; k++) {
        strcat(subject, words[next_rand(seed) % 13]);
        strcat(subject, k + 1 < n ? " " : "");
    }
    snprintf(rcpt, sizeof(rcpt), "user%u@%s", next_rand(seed) % 50,
             next_rand(seed) % 2 ? "Spam.example" : "casino.example");
    add_full(s, id, senders[next_rand(seed) % 5], subject, rcpt, reasons[next_rand(seed) % 3]);
}

/* Each message matched the plain way (a filter never prepared) and the
 * prepared way (the filter and its clone taking turns, as the view's two
 * threads do) must agree. */
static void check_prepared(const char *query, struct qt_filter *plain, struct qt_filter *f,
                           struct qt_filter *c, const struct qt_store *s, const char *when)
{
    size_t i;

    for (i = 0; i < s->n; i++) {
        bool want = qt_filter_match(plain, s, &s->msgs[i], NOW);
        bool got = qt_filter_match(i % 2 ? c : f, s, &s->msgs[i], NOW);

        if (want != got)
            fail_msg("'%s' %s: message %s: %d prepared, %d plain", query, when,
                     qt_store_str(s, s->msgs[i].id), got, want);
    }
}

/* qt_filter_prepare's marks say what matching each string says: after the
 * prepare, for strings the pool gained since (no prepare yet, then one),
 * and after the pool was compacted under them. */
static void test_prepared_marks(void **state)
{
    static const char *const queries[] = {
        "casino", "CASINO", "sp", "x@y", "\xc3\xa9t\xc3\xa9", "a", "subject:viagra",
        "subject=\"\"", "subject:\"\"", "sender=bob@corp.example", "sender:<>",
        "sender_domain=spam.example", "sender_domain:example.net", "rcpt_domain:casino",
        "rcpt_domain=corp.example", "rcpt:user1", "rcpt=postmaster@corp.example",
        "reason:refused", "reason:\"4.7.1 try\"", "rcpt(rcpt:spam and state=pending)",
        "not casino", "/casino/", "/^p[0-9a-f]*7$/i", "subject~/^$/", "sender_domain~/^spam/",
        "rcpt_domain~/CASINO/i", "reason~/mx\\.example\\[/", "/\\xff/", "id:P1", "id=p1f",
        "casino and not subject:night or rcpt:user7",
        /* regexes with literals: only the strings holding one are tried */
        "/casino/i", "/v[i1]agra|casino/i", "/ca(s|z)ino/", "sender~/spam\\.example$/",
        "rcpt~/USER1[0-9]@/i", "/x@y|corp/", "/night$/", "/^Casino/", "rcpt_domain~/^spam\\./i",
        "not /offer|spam/i", "subject~/nights?$/", "/kelvin/i", "subject~/CASINO/i", "/\\w+ kelvin/i",
        "/ks/i" /* no literal without k, s and i: every non-ASCII string is tried */,
    };
    enum { NQ = sizeof(queries) / sizeof(queries[0]) };
    /* Enough messages gone that the store compacts its pool. */
    enum { N = 17000, GROWN = N + 500, LAST = N + 800 };
    /* late: prepared as f is, but matched only after the pool grew and the
     * second prepare (its regexes have tried no string before). */
    struct qt_filter *plain[NQ], *f[NQ], *c[NQ], *late[NQ];
    static const char *const stages[] = {"prepared", "grown", "grown, prepared", "compacted",
                                         "compacted, prepared"};
    struct qt_store s;
    uint32_t seed = 4242;
    size_t q, i = 0, stage;
    uint64_t serial = 0;

    (void)state;
    qt_store_init(&s);
    for (q = 0; q < NQ; q++) {
        plain[q] = compile_ok(queries[q]);
        f[q] = compile_ok(queries[q]);
        c[q] = qt_filter_clone(f[q]);
        late[q] = compile_ok(queries[q]);
    }
    for (stage = 0; stage < 5; stage++) {
        switch (stage) {
        case 0:
            for (; i < N; i++)
                add_random(&s, i, &seed);
            break;
        case 1:             /* strings the marks do not cover yet */
            for (; i < GROWN; i++)
                add_random(&s, i, &seed);
            break;
        case 3:
            serial = s.pool.serial;
            for (i = 0; i < N; i++) {
                char id[16];

                snprintf(id, sizeof(id), "P%zX", i);
                assert_true(qt_store_remove(&s, id));
            }
            assert_true(s.pool.serial != serial);
            for (i = GROWN; i < LAST; i++)
                add_random(&s, i, &seed);
            break;
        }
        for (q = 0; q < NQ; q++) {
            if (stage % 2 == 0) {
                qt_filter_prepare(f[q], &s, c[q]);
                qt_filter_prepare(late[q], &s, NULL);
            }
            check_prepared(queries[q], plain[q], f[q], c[q], &s, stages[stage]);
            if (stage >= 2)
                check_prepared(queries[q], plain[q], late[q], late[q], &s, "late");
        }
    }
    /* The marks are shared: either may go first. */
    for (q = 0; q < NQ; q++) {
        struct qt_filter *left = q % 2 ? c[q] : f[q];

        qt_filter_free(q % 2 ? f[q] : c[q]);
        check_prepared(queries[q], plain[q], left, left, &s, "one left");
        qt_filter_free(left);
        qt_filter_free(late[q]);
        qt_filter_free(plain[q]);
    }
    qt_store_free(&s);
}

/* The literals a regex's matches must contain: only what is sure. */
static void test_regex_literals(void **state)
{
    static const struct {
        const char *pat;
        bool caseless, extended;
        const char *want;       /* "a|b": the literals; NULL: none */
    } cases[] = {
        {"casino", false, false, "casino"},
        /* caseless: also any string with a byte >= 0x80 (the long s, the Kelvin sign) */
        {"casino", true, false, "casino +non-ASCII:ca"},
        {"v[i1]agra|casino", true, false, "agra|casino +non-ASCII:agra|ca"},
        {"kiss", true, false, "kiss +non-ASCII:"},     /* every non-ASCII string */
        {"casinos?", false, false, "casino"},
        {"casinos*x", false, false, "casino"},
        {"abc+de", false, false, "ab"},
        {"ab+c", false, false, NULL},        /* runs of one: too short to help */
        {"hello{2}x", false, false, "hell"},
        {"hello{2,}x", false, false, "hell"},
        {"ab{x", false, false, NULL},        /* a literal brace: not followed */
        {"(?i)casino", false, false, NULL},
        {"(*UTF)casino", false, false, NULL},
        {"(foo|bar)baz", false, false, "baz"},
        {"(foo|bar)+bazz?", false, false, "baz"},
        {"foo|", false, false, NULL},
        {"\\.example\\.com", false, false, ".example.com"},
        {"\\x41bc", false, false, NULL},
        {"\\Qa.b\\E", false, false, NULL},
        {"\\d+abc\\b", false, false, "abc"},
        {"[[:alpha:]]abc", false, false, NULL},
        {"[]a]bc", false, false, "bc"},
        {"[^\\]]xyz", false, false, "xyz"},
        {"casino", false, true, NULL},
        {"caf\xc3\xa9 time", false, false, " time"},
        {"MX\\.Example\\[", false, false, "mx.example["},
        {"a)b", false, false, NULL},
        {"(ab", false, false, NULL},
    };
    size_t i, k;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct qt_regex_literals l;
        char got[256] = "";

        qt_regex_literals(cases[i].pat, strlen(cases[i].pat), cases[i].caseless,
                          cases[i].extended, &l);
        for (k = 0; k < l.n; k++) {
            assert_int_equal(strlen(l.text[k]), l.len[k]);
            strcat(got, k ? "|" : "");
            strcat(got, l.text[k]);
        }
        if (l.non_ascii)
            strcat(got, " +non-ASCII:");
        for (k = 0; k < l.nweak; k++) {
            strcat(got, k ? "|" : "");
            strcat(got, l.weak[k]);
        }
        if (cases[i].want ? strcmp(got, cases[i].want) != 0 : l.n != 0)
            fail_msg("/%s/: literals '%s', want '%s'", cases[i].pat, got,
                     cases[i].want ? cases[i].want : "(none)");
        qt_regex_literals_free(&l);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_pool_forgets),
        cmocka_unit_test(test_store_changes),
        cmocka_unit_test(test_caches_that_give_up_stay_right),
        cmocka_unit_test(test_view_two_threads),
        cmocka_unit_test(test_clone),
        cmocka_unit_test(test_prepared_marks),
        cmocka_unit_test(test_regex_literals),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
