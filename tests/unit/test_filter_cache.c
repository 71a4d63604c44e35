/* The filter's results cached per interned string, and the view's second
 * filtering thread: results must follow the strings, not the refs, and
 * a split evaluation must say exactly what one thread says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qtriage/filter.h"
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_pool_forgets),
        cmocka_unit_test(test_store_changes),
        cmocka_unit_test(test_caches_that_give_up_stay_right),
        cmocka_unit_test(test_view_two_threads),
        cmocka_unit_test(test_clone),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
