/* Standing rules (rules.h) on the store's side, and pacing (pace.h):
 * which noted messages become batches, for which rule; what is refused;
 * how a rate becomes steps.  Acting on the spool is tested on the real
 * test bed (tests/integration/test_rules.py, test_pace.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "qtriage/pace.h"
#include "qtriage/rules.h"

#define NOW 1800000000

static void add(struct qt_store *s, const char *id, const char *sender, enum qt_queue q)
{
    struct qt_msg_data d;

    memset(&d, 0, sizeof(d));
    d.id = id;
    d.sender = sender;
    d.queue = q;
    d.arrival = d.create_time = d.mtime = NOW - 60;
    qt_store_upsert(s, &d);
}

static void test_refusals(void **state)
{
    struct qt_rules r;
    struct qt_error err = {""};

    (void)state;
    qt_rules_init(&r);
    assert_null(qt_rules_add(&r, "sender=a@b.example", QT_ACT_RELEASE, NULL, 0, NOW, &err));
    assert_null(qt_rules_add(&r, "sender=a@b.example", QT_ACT_DELETE, NULL, 0, NOW, &err));
    assert_non_null(strstr(err.msg, "backup"));
    assert_null(qt_rules_add(&r, "", QT_ACT_HOLD, NULL, 0, NOW, &err));
    assert_null(qt_rules_add(&r, "sender=(", QT_ACT_HOLD, NULL, 0, NOW, &err));
    /* A rule has no header cache: refused, not a rule that never matches. */
    assert_null(qt_rules_add(&r, "header.X-Mailer~/PHPMailer/", QT_ACT_HOLD, NULL, 0, NOW,
                             &err));
    assert_non_null(strstr(err.msg, "header"));
    assert_int_equal(r.n, 0);
    qt_rules_free(&r);
}

static void test_only_noted_and_matching(void **state)
{
    struct qt_rules r;
    struct qt_store s;
    struct qt_error err = {""};
    struct qt_rule_batch *v;
    struct qt_rule *hold, *del;
    size_t n, i;

    (void)state;
    qt_rules_init(&r);
    qt_store_init(&s);
    add(&s, "A1", "x@spam.example", QT_Q_DEFERRED);
    add(&s, "A2", "x@spam.example", QT_Q_HOLD);        /* held already: not for hold */
    add(&s, "A3", "x@good.example", QT_Q_DEFERRED);
    add(&s, "A4", "x@spam.example", QT_Q_INCOMING);    /* not noted */
    add(&s, "A5", "y@bulk.example", QT_Q_DEFERRED);
    add(&s, "A6", "x@spam.example", QT_Q_DEFERRED);
    hold = qt_rules_add(&r, "sender_domain=spam.example", QT_ACT_HOLD, NULL, 0, NOW, &err);
    assert_non_null(hold);
    assert_int_equal(hold->expires, NOW + QT_RULE_DEFAULT_LIFETIME);
    del = qt_rules_add(&r, "sender~/example/", QT_ACT_DELETE, "/tmp/bk", 60, NOW, &err);
    assert_non_null(del);
    qt_rules_note(&r, "A1");
    qt_rules_note(&r, "A2");
    qt_rules_note(&r, "A3");
    qt_rules_note(&r, "A6");
    qt_rules_note(&r, "GONE1");                         /* not in the store */
    n = qt_rules_collect(&r, &s, NOW, &v);
    assert_int_equal(n, 2);
    /* The older rule takes A1 and A6; A2 (held) and A3 go to the delete rule. */
    assert_int_equal(v[0].rule_id, 1);
    assert_int_equal(v[0].n, 2);
    for (i = 0; i < v[0].n; i++)
        assert_true(strcmp(v[0].t[i].id, "A1") == 0 || strcmp(v[0].t[i].id, "A6") == 0);
    assert_int_equal(v[1].rule_id, 2);
    assert_int_equal(v[1].n, 2);
    assert_string_equal(v[1].backup_dir, "/tmp/bk");
    qt_rule_batches_free(v, n);
    /* Collected once: nothing noted any more. */
    assert_int_equal(qt_rules_collect(&r, &s, NOW, &v), 0);
    /* Paused and expired rules take nothing. */
    qt_rules_note(&r, "A1");
    qt_rules_note(&r, "A5");
    hold->paused = true;
    n = qt_rules_collect(&r, &s, NOW + 61, &v);  /* the delete rule lived 60 s */
    assert_int_equal(n, 0);
    assert_int_equal(qt_rules_count_active(&r, NOW + 61), 0);
    hold->paused = false;
    assert_int_equal(qt_rules_count_active(&r, NOW + 61), 1);
    assert_true(qt_rules_remove(&r, 1));
    assert_false(qt_rules_remove(&r, 1));
    assert_int_equal(r.n, 1);
    qt_store_free(&s);
    qt_rules_free(&r);
}

static void test_collect_rule_whole_store(void **state)
{
    struct qt_rules r;
    struct qt_store s;
    struct qt_error err = {""};
    struct qt_rule_batch b;
    struct qt_rule *rule;

    (void)state;
    qt_rules_init(&r);
    qt_store_init(&s);
    add(&s, "B1", "x@spam.example", QT_Q_DEFERRED);
    add(&s, "B2", "x@good.example", QT_Q_DEFERRED);
    add(&s, "B3", "x@spam.example", QT_Q_ACTIVE);
    rule = qt_rules_add(&r, "sender_domain=spam.example", QT_ACT_HOLD, NULL, 0, NOW, &err);
    qt_rules_collect_rule(&r, rule, &s, NOW, &b);
    assert_int_equal(b.n, 2);
    assert_int_equal(b.t[1].queue, QT_Q_ACTIVE);
    qt_rule_batch_free(&b);
    qt_store_free(&s);
    qt_rules_free(&r);
}

static void test_rates(void **state)
{
    struct qt_pace p;
    struct qt_error err = {""};

    (void)state;
    assert_true(qt_pace_parse_rate("100/s", &p, &err));
    assert_int_equal(p.batch, 100);
    assert_int_equal(p.every_ms, 1000);
    assert_true(qt_pace_parse_rate("120/m", &p, &err));
    assert_int_equal(p.batch, 2);
    assert_int_equal(p.every_ms, 1000);
    assert_true(qt_pace_parse_rate("6/m", &p, &err));
    assert_int_equal(p.batch, 1);
    assert_int_equal(p.every_ms, 10000);
    assert_false(qt_pace_parse_rate("0/s", &p, &err));
    assert_false(qt_pace_parse_rate("10", &p, &err));
    assert_false(qt_pace_parse_rate("10/sx", &p, &err));
    assert_false(qt_pace_parse_rate("-5/s", &p, &err));
    assert_true(qt_pace_applies(QT_ACT_RELEASE));
    assert_false(qt_pace_applies(QT_ACT_DELETE));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_only_noted_and_matching),
        cmocka_unit_test(test_collect_rule_whole_store),
        cmocka_unit_test(test_rates),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
