/* The statistics core: grouping, reason classes on Postfix's own texts, the
 * group -> filter expression round trip on hostile keys, qshape's buckets,
 * ordering and layout, and the queue settings' parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qtriage/filter.h"
#include "qtriage/stats.h"
#include "qtriage/store.h"
#include "qtriage/util.h"

#define NOW 1700000000

static struct qt_store store;

struct spec {
    const char *id, *sender;
    bool null_sender, forced;
    const char *subject, *sasl, *client, *client_name;
    const char *rcpt[4];        /* pending */
    const char *reason[4];      /* per pending recipient */
    const char *done;           /* a delivered recipient */
    enum qt_queue queue;
    int64_t age;
    int64_t size;
};

/* Keys an attacker chooses: quotes, backslashes, blanks, parentheses,
 * words of the query language, bytes that are not UTF-8, case variants of
 * one another, and a sender spelled like the null sender. */
static const struct spec specs[] = {
    {"A00001", "flood@spam.example", .subject = "Cheap \"meds\" (50% off)", .sasl = "hijacked",
     .client = "192.0.2.1", .client_name = "mail.spam.example",
     .rcpt = {"a@gmail.example", "b@gmail.example", "c@yahoo.example"},
     .reason = {"connect to mx.gmail.example[192.0.2.10]:25: Connection refused",
                "delivery temporarily suspended: connect to mx.gmail.example[192.0.2.10]:25: "
                "Connection refused",
                "host mx.yahoo.example[192.0.2.20] said: 421 4.7.0 [TSS04] Messages from "
                "192.0.2.1 temporarily deferred due to unexpected volume or user complaints "
                "(in reply to MAIL FROM command)"},
     .queue = QT_Q_DEFERRED, .age = 3600, .size = 1000},
    {"A00002", "FLOOD@Spam.Example", .subject = "cheap \"MEDS\" (50% OFF)", .sasl = "Hijacked",
     .client = "192.0.2.1", .rcpt = {"d@GMAIL.example"},
     .reason = {"Connect to mx.gmail.example[192.0.2.10]:25: Connection refused"},
     .queue = QT_Q_DEFERRED, .age = 7200, .size = 3000},
    {"A00003", "MAILER-DAEMON", .null_sender = true, .subject = "Undelivered Mail",
     .rcpt = {"flood@spam.example"},
     .reason = {"host mx.spam.example[192.0.2.30] said: 550 5.1.1 <flood@spam.example>: "
                "Recipient address rejected: User unknown in virtual mailbox table (in reply "
                "to RCPT TO command)"},
     .queue = QT_Q_DEFERRED, .age = 600, .size = 500},
    {"A00004", "MAILER-DAEMON@corp.example", .subject = "or not (x", .sasl = "a\\b \"c\"",
     .client = "2001:db8::1", .client_name = "\xff\xfe bad.utf8",
     .rcpt = {"x@corp.example", "y@corp.example"}, .queue = QT_Q_ACTIVE, .age = 30, .size = 77},
    {"A00005", "MAILER-DAEMON", .subject = "", .rcpt = {"z@\"quoted) dom\\ain"},
     .reason = {"mail for corp.example loops back to myself"},
     .done = "old@gmail.example", .queue = QT_Q_HOLD, .age = 86400 * 3, .size = 12},
    {"A00006", "user@[192.0.2.99]", .subject = "\xe9t\xe9 latin1", .sasl = "\xff",
     .rcpt = {"q@", "r"}, .reason = {"", "TLS is required, but was not offered by host "
                                         "mx.example[192.0.2.7]"},
     .queue = QT_Q_INCOMING, .age = 120, .size = 4096},
    {"A00007", "nobody", .forced = true, .subject = "not", .rcpt = {"s@yahoo.example"},
     .reason = {"host mx.yahoo.example[192.0.2.20] said: 450 4.2.0 <s@yahoo.example>: "
                "Recipient address rejected: Greylisted, see "
                "http://postgrey.schweikert.ch/help/yahoo.example.html (in reply to RCPT TO "
                "command)"},
     .queue = QT_Q_DEFERRED, .age = 86400 * 40, .size = 10},
};

static int setup(void **state)
{
    size_t i;
    int r;

    (void)state;
    qt_store_init(&store);
    for (i = 0; i < QT_ARRAY_LEN(specs); i++) {
        const struct spec *sp = &specs[i];
        struct qt_rcpt_data rc[5];
        struct qt_msg_data d;
        size_t n = 0;

        memset(&d, 0, sizeof(d));
        memset(rc, 0, sizeof(rc));
        for (r = 0; r < 4 && sp->rcpt[r]; r++) {
            rc[n].address = sp->rcpt[r];
            rc[n].reason = sp->reason[r];
            rc[n++].state = QT_RCPT_PENDING;
        }
        if (sp->done) {
            rc[n].address = sp->done;
            rc[n++].state = QT_RCPT_DONE;
        }
        d.id = sp->id;
        d.sender = sp->sender;
        d.null_sender = sp->null_sender;
        d.forced_expire = sp->forced;
        d.subject = sp->subject;
        d.attr_fields[QT_ATTR_SASL_USERNAME] = sp->sasl;
        d.attr_fields[QT_ATTR_CLIENT_ADDRESS] = sp->client;
        d.attr_fields[QT_ATTR_CLIENT_NAME] = sp->client_name;
        d.rcpts = rc;
        d.nrcpts = n;
        d.queue = sp->queue;
        d.arrival = NOW - sp->age;
        d.msg_size = sp->size;
        qt_store_upsert(&store, &d);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    qt_store_free(&store);
    return 0;
}

static const struct qt_stats_group *find_group(const struct qt_stats *st, const char *key)
{
    size_t i;

    for (i = 0; i < st->n; i++)
        if (!st->groups[i].null_sender && st->groups[i].key_len == strlen(key) &&
            memcmp(st->groups[i].key, key, st->groups[i].key_len) == 0)
            return &st->groups[i];
    return NULL;
}

static void test_group_by_sender_folds_case(void **state)
{
    struct qt_stats st;
    const struct qt_stats_group *g;

    (void)state;
    qt_stats_init(&st);
    qt_stats_compute(&st, &store, NULL, QT_BY_SENDER, NOW);
    assert_int_equal(st.messages, 7);
    assert_int_equal(st.ungrouped, 0);
    /* flood@ and FLOOD@ are one sender, shown as met first. */
    g = &st.groups[0];
    assert_int_equal(g->count, 2);
    assert_int_equal(g->size, 4000);
    assert_string_equal(g->key, "flood@spam.example");
    /* The null sender and a sender spelled MAILER-DAEMON stay apart. */
    assert_non_null(g = find_group(&st, "MAILER-DAEMON"));
    assert_int_equal(g->count, 1);
    assert_int_equal(g->size, 12);
    assert_int_equal(st.n, 6);
    qt_stats_free(&st);

    qt_stats_compute(&st, &store, NULL, QT_BY_SENDER_DOMAIN, NOW);
    /* Null sender, "MAILER-DAEMON" and "nobody" have no domain. */
    g = &st.groups[0];
    assert_int_equal(g->key_len, 0);
    assert_int_equal(g->count, 3);
    assert_string_equal(g->label, "(none)");
    assert_string_equal(st.groups[1].key, "spam.example");
    assert_int_equal(st.groups[1].count, 2);
    qt_stats_free(&st);
}

static void test_group_by_rcpt_domain_counts_messages_once(void **state)
{
    struct qt_stats st;
    const struct qt_stats_group *g;

    (void)state;
    qt_stats_init(&st);
    qt_stats_compute(&st, &store, NULL, QT_BY_RCPT_DOMAIN, NOW);
    /* A00001 has two gmail recipients: one message; A00002's GMAIL folds. */
    assert_non_null(g = find_group(&st, "gmail.example"));
    assert_int_equal(g->count, 2);
    assert_int_equal(g->size, 4000);
    /* A00005's done recipient at gmail does not count. */
    assert_non_null(g = find_group(&st, "yahoo.example"));
    assert_int_equal(g->count, 2);
    assert_non_null(g = find_group(&st, "corp.example"));
    assert_int_equal(g->count, 1);
    assert_non_null(g = find_group(&st, ""));                 /* "q@" and "r" */
    assert_int_equal(g->count, 1);
    assert_int_equal(st.ungrouped, 0);
    qt_stats_free(&st);
}

static void test_group_by_reason_and_class(void **state)
{
    struct qt_stats st;
    const struct qt_stats_group *g;

    (void)state;
    qt_stats_init(&st);
    qt_stats_compute(&st, &store, NULL, QT_BY_REASON, NOW);
    /* The suspended variant and the capitalised one shorten alike. */
    g = &st.groups[0];
    assert_int_equal(g->count, 2);
    assert_string_equal(g->label, "Connection refused (mx.gmail.example[192.0.2.10]:25)");
    assert_int_equal(g->nraws, 2);          /* "Connect to" is "connect to" to reason= */
    /* A00004 has no reason; A00006's empty reason is none either. */
    assert_int_equal(st.ungrouped, 1);
    qt_stats_free(&st);

    qt_stats_compute(&st, &store, NULL, QT_BY_CLASS, NOW);
    assert_non_null(g = find_group(&st, "connection-refused"));
    assert_int_equal(g->count, 2);
    assert_non_null(g = find_group(&st, "greylisted"));
    assert_int_equal(g->count, 1);
    assert_non_null(g = find_group(&st, "rate-limited"));   /* A00001's third recipient */
    assert_int_equal(g->count, 1);
    /* A00006's empty reason is no reason: not "other". */
    assert_null(find_group(&st, "other"));
    assert_non_null(g = find_group(&st, "user-unknown"));
    assert_int_equal(g->count, 1);
    assert_non_null(g = find_group(&st, "mail-loop"));
    assert_non_null(g = find_group(&st, "tls-failure"));
    assert_int_equal(st.ungrouped, 1);
    qt_stats_free(&st);
}

/* For every grouping and every group, the expression selects exactly the
 * group's messages: as many as the group counts, and all of them in it. */
static void test_expression_round_trip(void **state)
{
    int by;

    (void)state;
    for (by = 0; by < QT_BY_COUNT; by++) {
        struct qt_stats st;
        size_t i, j;

        qt_stats_init(&st);
        qt_stats_compute(&st, &store, NULL, (enum qt_stats_by)by, NOW);
        assert_true(st.n > 0);
        for (i = 0; i < st.n; i++) {
            const struct qt_stats_group *g = &st.groups[i];
            struct qt_buf expr = {0};
            struct qt_filter_error err;
            struct qt_filter *f;
            struct qt_stats sub;
            uint64_t matched = 0, size = 0;

            assert_true(qt_stats_filter_expr(&st, g, &expr));
            f = qt_filter_compile(expr.data, &err);
            if (!f)
                fail_msg("by %s: \"%s\" does not compile: %s", qt_stats_by_info[by].name,
                         expr.data, err.msg);
            for (j = 0; j < store.n; j++)
                if (qt_filter_match(f, &store, &store.msgs[j], NOW)) {
                    matched++;
                    size += store.msgs[j].msg_size;
                }
            if (matched != g->count || size != g->size)
                fail_msg("by %s: \"%s\" matches %llu messages, the group has %llu",
                         qt_stats_by_info[by].name, expr.data, (unsigned long long)matched,
                         (unsigned long long)g->count);
            /* Every message it matches is in the group. */
            qt_stats_init(&sub);
            qt_stats_compute(&sub, &store, f, (enum qt_stats_by)by, NOW);
            for (j = 0; j < sub.n; j++)
                if (sub.groups[j].key_len == g->key_len &&
                    sub.groups[j].null_sender == g->null_sender &&
                    memcmp(sub.groups[j].key, g->key, g->key_len) == 0)
                    break;
            assert_true(j < sub.n);
            assert_int_equal(sub.groups[j].count, matched);
            qt_stats_free(&sub);
            qt_filter_free(f);
            qt_buf_free(&expr);
        }
        qt_stats_free(&st);
    }
}

static void test_expression_text(void **state)
{
    struct qt_stats st;
    struct qt_buf b = {0};
    size_t i;

    (void)state;
    qt_stats_init(&st);
    qt_stats_compute(&st, &store, NULL, QT_BY_SENDER, NOW);
    for (i = 0; i < st.n; i++) {
        qt_buf_reset(&b);
        qt_stats_filter_expr(&st, &st.groups[i], &b);
        if (st.groups[i].null_sender)
            assert_string_equal(b.data, "sender=<>");
        else if (strcmp(st.groups[i].key, "MAILER-DAEMON") == 0)
            assert_string_equal(b.data, "sender=\"MAILER-DAEMON\" and not sender=<>");
    }
    qt_stats_free(&st);
    qt_stats_compute(&st, &store, NULL, QT_BY_SASL, NOW);
    qt_buf_reset(&b);
    assert_true(qt_stats_filter_expr(&st, find_group(&st, "a\\b \"c\""), &b));
    assert_string_equal(b.data, "sasl=\"a\\\\b \\\"c\\\"\"");
    qt_stats_free(&st);
    qt_buf_free(&b);
}

/* Only what the filter matches is grouped. */
static void test_filtered(void **state)
{
    struct qt_filter *f = qt_filter_compile("queue=deferred", NULL);
    struct qt_stats st;

    (void)state;
    qt_stats_init(&st);
    qt_stats_compute(&st, &store, f, QT_BY_SENDER_DOMAIN, NOW);
    assert_int_equal(st.messages, 4);
    assert_int_equal(st.size, 1000 + 3000 + 500 + 10);
    assert_string_equal(st.groups[0].key, "spam.example");
    qt_stats_free(&st);
    qt_filter_free(f);
}

/* Reasons as Postfix writes them (smtp_connect.c, smtp_proto.c,
 * smtp_addr.c, dns_lookup.c, smtp_sasl_glue.c, smtp_tls_policy.c, local's
 * mailbox delivery) and as common servers answer. */
static void test_classes(void **state)
{
    static const struct {
        const char *reason, *cls;
    } cases[] = {
        {"connect to mx.example.com[192.0.2.1]:25: Connection refused", "connection-refused"},
        {"delivery temporarily suspended: connect to mx.example.com[192.0.2.1]:25: "
         "Connection refused", "connection-refused"},
        {"connect to mx.example.com[2001:db8::1]:25: Network is unreachable",
         "connection-refused"},
        {"connect to mx.example.com[192.0.2.1]:25: No route to host", "connection-refused"},
        {"connect to mx.example.com[192.0.2.1]:25: Connection timed out", "timed-out"},
        {"conversation with mx.example.com[192.0.2.1] timed out while receiving the initial "
         "server greeting", "timed-out"},
        {"Host or domain name not found. Name service error for name=example.invalid "
         "type=MX: Host not found, try again", "host-not-found"},
        {"Host or domain name not found. Name service error for name=mx.example.com "
         "type=AAAA: Host not found", "host-not-found"},
        {"host mx.example.com[192.0.2.1] said: 450 4.2.0 <bob@example.com>: Recipient "
         "address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.com.html "
         "(in reply to RCPT TO command)", "greylisted"},
        {"host mx.example.com[192.0.2.1] said: 451 4.7.1 Please try again later (in reply to "
         "RCPT TO command)", "greylisted"},
        {"host mx.example.com[192.0.2.1] refused to talk to me: 421 4.7.0 mx.example.com "
         "Error: too many connections from 198.51.100.7", "rate-limited"},
        {"host mx.example.com[192.0.2.1] said: 421 4.7.28 [198.51.100.7] Our system has "
         "detected an unusual rate of unsolicited mail (in reply to end of DATA command)",
         "rate-limited"},
        {"host mx.example.com[192.0.2.1] said: 452 4.2.2 Mailbox full (in reply to RCPT TO "
         "command)", "mailbox-full"},
        {"cannot update mailbox /var/mail/bob for user bob. error writing message: Disk quota "
         "exceeded", "mailbox-full"},
        {"host mx.example.com[192.0.2.1] said: 550 5.1.1 <nobody@example.com>: Recipient "
         "address rejected: User unknown in virtual mailbox table (in reply to RCPT TO "
         "command)", "user-unknown"},
        {"unknown user: \"nobody\"", "user-unknown"},
        {"SASL authentication failed; server mx.example.com[192.0.2.1] said: 535 5.7.8 "
         "Error: authentication failed: authentication failure", "auth-failed"},
        {"SASL authentication failed; cannot authenticate to server mx.example.com"
         "[192.0.2.1]: no mechanism available", "auth-failed"},
        {"mail for example.com loops back to myself", "mail-loop"},
        {"TLS is required, but was not offered by host mx.example.com[192.0.2.1]",
         "tls-failure"},
        {"Cannot start TLS: handshake failure", "tls-failure"},
        {"host mx.example.com[192.0.2.1] said: 554 5.7.1 Service unavailable; Client host "
         "[198.51.100.7] blocked using zen.spamhaus.org (in reply to RCPT TO command)",
         "policy-rejection"},
        {"lost connection with mx.example.com[192.0.2.1] while receiving the initial server "
         "greeting", "other"},
        {"mail transport unavailable", "other"},
        /* The host's name does not decide. */
        {"connect to tls.blocked.example[192.0.2.1]:25: Connection refused",
         "connection-refused"},
        {"", "other"},
        {"\xff\xfe\x00zz", "other"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < QT_ARRAY_LEN(cases); i++) {
        size_t len = strlen(cases[i].reason);
        const char *got = qt_reason_class_name(qt_reason_classify(cases[i].reason,
                                                                  i + 1 == QT_ARRAY_LEN(cases) ?
                                                                  5 : len));

        if (strcmp(got, cases[i].cls) != 0)
            fail_msg("\"%s\": %s, expected %s", cases[i].reason, got, cases[i].cls);
    }
    assert_int_equal(qt_reason_class_from_name("GREYLISTED", 10),
                     (int)qt_reason_classify("greylisted", 10));
    assert_int_equal(qt_reason_class_from_name("nope", 4), -1);
    assert_string_equal(qt_reason_class_name(qt_reason_class_count() - 1), "other");
}

static void test_class_cache(void **state)
{
    struct qt_reason_cache c;
    struct qt_store other;
    qt_str refs[300];
    char text[64];
    size_t i;

    (void)state;
    qt_reason_cache_init(&c);
    for (i = 0; i < 300; i++) {
        snprintf(text, sizeof(text), "%s %zu", i % 2 ? "Connection refused" : "Mailbox full",
                 i);
        refs[i] = qt_strpool_intern_cstr(&store.pool, text);
    }
    for (i = 0; i < 600; i++)
        assert_string_equal(qt_reason_class_name((size_t)qt_reason_cache_class(&c, &store,
                                                                               refs[i % 300])),
                            i % 2 ? "connection-refused" : "mailbox-full");
    assert_int_equal(c.count, 300);
    assert_int_equal(qt_reason_cache_class(&c, &store, 0), -1);
    /* Another pool's references mean other strings: the cache starts over. */
    qt_store_init(&other);
    assert_string_equal(qt_reason_class_name((size_t)qt_reason_cache_class(
                            &c, &other, qt_strpool_intern_cstr(&other.pool, "timed out"))),
                        "timed-out");
    assert_int_equal(c.count, 1);
    qt_store_free(&other);
    qt_reason_cache_free(&c);
}

/* qshape: [0,5) min is bucket 1, [5,10) 2, [10,20) 3 ... and the last
 * takes the rest; the boundaries are exact. */
static void test_shape_buckets(void **state)
{
    struct qt_shape_options o;

    (void)state;
    qt_shape_options_default(&o);
    assert_int_equal(qt_shape_bucket(-50, &o), 1);
    assert_int_equal(qt_shape_bucket(0, &o), 1);
    assert_int_equal(qt_shape_bucket(299, &o), 1);
    assert_int_equal(qt_shape_bucket(300, &o), 2);
    assert_int_equal(qt_shape_bucket(599, &o), 2);
    assert_int_equal(qt_shape_bucket(600, &o), 3);
    assert_int_equal(qt_shape_bucket(1199, &o), 3);
    assert_int_equal(qt_shape_bucket(1200, &o), 4);
    assert_int_equal(qt_shape_bucket(300 * 128 - 1, &o), 8);
    assert_int_equal(qt_shape_bucket(300 * 128, &o), 9);
    assert_int_equal(qt_shape_bucket(300 * 256, &o), 10);
    assert_int_equal(qt_shape_bucket(86400 * 365, &o), 10);
    o.tick = 1;
    o.buckets = 3;
    assert_int_equal(qt_shape_bucket(59, &o), 1);
    assert_int_equal(qt_shape_bucket(60, &o), 2);
    assert_int_equal(qt_shape_bucket(120, &o), 3);
    assert_int_equal(qt_shape_bucket(100000, &o), 3);
    o.linear = true;
    o.buckets = 10;
    assert_int_equal(qt_shape_bucket(119, &o), 2);
    assert_int_equal(qt_shape_bucket(120, &o), 3);
    assert_int_equal(qt_shape_bucket(60 * 9, &o), 10);
    assert_int_equal(qt_shape_bucket(60 * 90, &o), 10);
}

static void test_shape_headings(void **state)
{
    static const char *const want[] = {"T", "5", "10", "20", "40", "80", "160", "320", "640",
                                       "1280", "1280+"};
    struct qt_shape sh;
    struct qt_buf b = {0};
    int i;

    (void)state;
    qt_shape_init(&sh);
    qt_shape_options_default(&sh.opts);
    for (i = 0; i <= 10; i++) {
        qt_buf_reset(&b);
        qt_shape_heading(&sh, i, &b);
        assert_string_equal(b.data, want[i]);
    }
    sh.opts.tick = 2.5;
    sh.opts.buckets = 3;
    qt_buf_reset(&b);
    qt_shape_heading(&sh, 1, &b);
    assert_string_equal(b.data, "2.5");
    qt_buf_reset(&b);
    qt_shape_heading(&sh, 3, &b);
    assert_string_equal(b.data, "5+");
    qt_buf_free(&b);
}

static const struct qt_shape_row *shape_row(const struct qt_shape *sh, const char *d)
{
    size_t i;

    for (i = 0; i < sh->n; i++)
        if (sh->rows[i].domain_len == strlen(d) && memcmp(sh->rows[i].domain, d,
                                                          sh->rows[i].domain_len) == 0)
            return &sh->rows[i];
    return NULL;
}

static void test_shape_counts(void **state)
{
    struct qt_shape_options o;
    struct qt_shape sh;
    const struct qt_shape_row *r;
    struct qt_buf out = {0};
    char line[256];

    (void)state;
    qt_shape_options_default(&o);
    o.queues[QT_Q_DEFERRED] = true;
    o.queues[QT_Q_HOLD] = true;
    qt_shape_init(&sh);
    qt_shape_compute(&sh, &store, NULL, &o, NOW);
    /* A00007 (forced to expire) is left out, as qshape skips mode 0710. */
    assert_non_null(r = shape_row(&sh, "TOTAL"));
    assert_int_equal(r->counts[0], 3 + 1 + 1 + 1);
    assert_string_equal(sh.rows[0].domain, "TOTAL");
    /* Each recipient counts: gmail twice in A00001, once in A00002. */
    assert_non_null(r = shape_row(&sh, "gmail.example"));
    assert_int_equal(r->counts[0], 3);
    assert_int_equal(r->counts[5], 2);      /* 60 min: [40, 80) */
    assert_int_equal(r->counts[6], 1);      /* 120 min: [80, 160) */
    assert_non_null(shape_row(&sh, "\"quoted) dom\\ain"));
    assert_non_null(r = shape_row(&sh, "yahoo.example"));  /* A00007's is left out */
    assert_int_equal(r->counts[0], 1);
    /* Widths: 3 for T and 5..80, 4 for 160..640, 5 and 6 for 1280 and
     * 1280+: 41, leaving 39 of 80 for the domain. */
    qt_shape_format(&sh, 80, 0, &out);
    snprintf(line, sizeof(line), "%39s  T  5 10 20 40 80 160 320 640 1280 1280+\n"
             "%39s  6  0  0  1  0  3   1   0   0    0     1\n", "", "TOTAL");
    assert_memory_equal(out.data, line, strlen(line));
    qt_shape_free(&sh);

    o.sender = true;
    qt_shape_compute(&sh, &store, NULL, &o, NOW);
    assert_non_null(r = shape_row(&sh, "MAILER-DAEMON"));     /* the null sender */
    assert_int_equal(r->counts[0], 1);
    assert_non_null(r = shape_row(&sh, "mailer-daemon"));     /* lowercased */
    assert_int_equal(r->counts[0], 1);
    assert_non_null(r = shape_row(&sh, "spam.example"));
    assert_int_equal(r->counts[0], 2);
    qt_shape_free(&sh);
    qt_buf_free(&out);
}

static void test_shape_parents_and_order(void **state)
{
    static const char *const domains[] = {"a.x.example.com", "b.x.example.com",
                                          "c.x.example.com", "d.x.example.com",
                                          "e.x.example.com", "f.example.com", "example.com",
                                          "..Dots..Example.COM.", "other.org"};
    struct qt_shape_options o;
    struct qt_store s;
    struct qt_shape sh;
    const struct qt_shape_row *r;
    struct qt_buf out = {0};
    const char *p;
    size_t i;

    (void)state;
    qt_store_init(&s);
    for (i = 0; i < QT_ARRAY_LEN(domains); i++) {
        char id[16], addr[64];
        struct qt_rcpt_data rc = {.address = addr, .state = QT_RCPT_PENDING};
        struct qt_msg_data d = {.id = id, .sender = "s@example.net", .queue = QT_Q_ACTIVE,
                                .rcpts = &rc, .nrcpts = 1, .arrival = NOW};

        snprintf(id, sizeof(id), "B%05zu", i);
        snprintf(addr, sizeof(addr), "u@%s", domains[i]);
        qt_store_upsert(&s, &d);
    }
    qt_shape_options_default(&o);
    o.parents = true;
    qt_shape_init(&sh);
    qt_shape_compute(&sh, &s, NULL, &o, NOW);
    /* ".x.example.com" has 5 children; ".example.com" has 2 (.x and f.). */
    assert_non_null(r = shape_row(&sh, ".x.example.com"));
    assert_int_equal(r->counts[0], 5);
    assert_int_equal(r->subdomains, 5);
    assert_null(shape_row(&sh, ".example.com"));
    assert_null(shape_row(&sh, ".com"));
    /* qshape's cleanup: lowercased, ".." is ".", one dot off each end. */
    assert_non_null(shape_row(&sh, "dots.example.com"));
    /* Order: count, then shorter first. */
    assert_string_equal(sh.rows[0].domain, "TOTAL");
    assert_string_equal(sh.rows[1].domain, ".x.example.com");
    assert_string_equal(sh.rows[2].domain, "other.org");
    assert_string_equal(sh.rows[3].domain, "example.com");
    qt_shape_format(&sh, 80, 3, &out);
    assert_int_equal(strchr(out.data, 'T') - out.data, 39 + 2);
    assert_non_null(strstr(out.data, "\n                         .x.example.com  5  5  0"));
    assert_int_equal(out.data[out.len - 1], '\n');
    for (i = 0, p = out.data; (p = strchr(p, '\n')); p++)
        i++;
    assert_int_equal(i, 1 + 3);             /* the heading and 3 rows */
    qt_shape_free(&sh);
    qt_buf_free(&out);
    qt_store_free(&s);
}

static void test_shape_long_domain_cut(void **state)
{
    struct qt_store s;
    struct qt_shape_options o;
    struct qt_shape sh;
    struct qt_buf out = {0};
    char addr[200];
    struct qt_rcpt_data rc = {.address = addr, .state = QT_RCPT_PENDING};
    struct qt_msg_data d = {.id = "C00001", .sender = "x@y", .queue = QT_Q_INCOMING,
                            .rcpts = &rc, .nrcpts = 1, .arrival = NOW};

    (void)state;
    memset(addr, 'a', sizeof(addr));
    memcpy(addr, "u@", 2);
    memcpy(addr + 150, ".example", 9);
    qt_store_init(&s);
    qt_store_upsert(&s, &d);
    qt_shape_options_default(&o);
    qt_shape_init(&sh);
    qt_shape_compute(&sh, &s, NULL, &o, NOW);
    qt_shape_format(&sh, 80, 0, &out);
    /* 39 columns for the domain: '+' and its last 38 bytes. */
    assert_non_null(strstr(out.data, "\n+aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example  1  1  0"));
    qt_shape_free(&sh);
    qt_buf_free(&out);
    qt_store_free(&s);
}

static void test_settings(void **state)
{
    struct qt_queue_settings qs;

    (void)state;
    assert_int_equal(qt_postfix_time("300s", 's'), 300);
    assert_int_equal(qt_postfix_time("5d", 's'), 5 * 86400);
    assert_int_equal(qt_postfix_time("5", 'd'), 5 * 86400);
    assert_int_equal(qt_postfix_time("1h", 'd'), 3600);
    assert_int_equal(qt_postfix_time("2w", 's'), 14 * 86400);
    assert_int_equal(qt_postfix_time("10m", 's'), 600);
    assert_int_equal(qt_postfix_time("", 's'), -1);
    assert_int_equal(qt_postfix_time("5x", 's'), -1);
    assert_int_equal(qt_postfix_time("$foo", 's'), -1);
    assert_int_equal(qt_postfix_time("5ss", 's'), -1);
    assert_int_equal(qt_postfix_time("99999999999999999999", 's'), -1);
    assert_true(qt_queue_setting_is_time(QT_SET_MAXIMAL_QUEUE_LIFETIME));
    assert_false(qt_queue_setting_is_time(QT_SET_QMGR_MESSAGE_ACTIVE_LIMIT));
    memset(&qs, 0, sizeof(qs));
    qs.value[QT_SET_QMGR_MESSAGE_ACTIVE_LIMIT] = 20000;
    assert_false(qt_queue_settings_active_full(&qs, 19999));
    assert_true(qt_queue_settings_active_full(&qs, 20000));
    assert_true(qt_queue_settings_active_full(&qs, 20001));
    qs.value[QT_SET_QMGR_MESSAGE_ACTIVE_LIMIT] = -1;
    assert_false(qt_queue_settings_active_full(&qs, 1000000));
}

static void test_by_names(void **state)
{
    enum qt_stats_by by;
    int i;

    (void)state;
    for (i = 0; i < QT_BY_COUNT; i++) {
        assert_true(qt_stats_by_from_name(qt_stats_by_info[i].name, &by));
        assert_int_equal(by, i);
    }
    assert_true(qt_stats_by_from_name("domain", &by));
    assert_int_equal(by, QT_BY_RCPT_DOMAIN);
    assert_false(qt_stats_by_from_name("nope", &by));
}

/* ---- growth ---- */

static void test_arrival_windows(void **state)
{
    (void)state;
    /* now - arrival < window: 299 s ago is within 5 minutes, 300 s is not. */
    assert_true(qt_stats_arrived(NOW - 299, NOW, 300));
    assert_false(qt_stats_arrived(NOW - 300, NOW, 300));
    assert_true(qt_stats_arrived(NOW, NOW, 300));
    /* A clock stepped back: a future arrival counts as just arrived. */
    assert_true(qt_stats_arrived(NOW + 5000, NOW, 300));
    assert_int_equal(qt_stats_windows[0], 300);
    assert_int_equal(qt_stats_windows[1], 900);
    assert_int_equal(qt_stats_windows[2], 3600);
    /* Messages a minute. */
    assert_true(qt_stats_rate(15, 0) == 3.0);
    assert_true(qt_stats_rate(15, 1) == 1.0);
    assert_true(qt_stats_rate(90, 2) == 1.5);
    assert_true(qt_stats_rate(0, 0) == 0.0);
}

static void assert_arrived(const struct qt_stats_group *g, uint64_t a5, uint64_t a15,
                           uint64_t a60)
{
    assert_non_null(g);
    assert_int_equal(g->arrived[0], a5);
    assert_int_equal(g->arrived[1], a15);
    assert_int_equal(g->arrived[2], a60);
}

static const struct qt_stats_group *null_sender_group(const struct qt_stats *st)
{
    size_t i;

    for (i = 0; i < st->n; i++)
        if (st->groups[i].null_sender)
            return &st->groups[i];
    return NULL;
}

static void test_rates_per_group(void **state)
{
    struct qt_stats st;

    (void)state;
    qt_stats_init(&st);
    qt_stats_compute(&st, &store, NULL, QT_BY_SENDER, NOW);
    assert_int_equal(st.now, NOW);
    /* Ages 30 and 120 s within 5 minutes, 600 s within 15, 3600 s (exactly
     * the hour) in none; 7200 s, days in none. */
    assert_int_equal(st.arrived[0], 2);
    assert_int_equal(st.arrived[1], 3);
    assert_int_equal(st.arrived[2], 3);
    assert_arrived(find_group(&st, "flood@spam.example"), 0, 0, 0);
    assert_arrived(find_group(&st, "MAILER-DAEMON@corp.example"), 1, 1, 1);
    assert_arrived(find_group(&st, "user@[192.0.2.99]"), 1, 1, 1);
    assert_arrived(null_sender_group(&st), 0, 1, 1);
    assert_arrived(find_group(&st, "nobody"), 0, 0, 0);
    qt_stats_free(&st);

    /* An hour later nothing is recent; a minute later the 2-minute-old
     * message is 3 minutes old and still within 5. */
    qt_stats_compute(&st, &store, NULL, QT_BY_SENDER, NOW + 3600);
    assert_int_equal(st.arrived[2], 0);
    qt_stats_free(&st);
    qt_stats_compute(&st, &store, NULL, QT_BY_SENDER, NOW + 60);
    assert_arrived(find_group(&st, "user@[192.0.2.99]"), 1, 1, 1);
    assert_int_equal(st.arrived[0], 2);
    qt_stats_free(&st);

    /* A message in several recipient-domain groups arrives once in each;
     * the total counts it once. */
    qt_stats_compute(&st, &store, NULL, QT_BY_RCPT_DOMAIN, NOW);
    assert_arrived(find_group(&st, "corp.example"), 1, 1, 1);
    assert_int_equal(st.arrived[0], 2);
    qt_stats_free(&st);
}

static void test_rate_order(void **state)
{
    struct qt_stats st;

    (void)state;
    qt_stats_init(&st);
    st.sort = QT_STATS_SORT_RATE;
    qt_stats_compute(&st, &store, NULL, QT_BY_SENDER, NOW);
    assert_int_equal(st.sort, QT_STATS_SORT_RATE);
    /* 5-minute arrivals first (a tie: then 15, 60, count, size), then the
     * null sender (15 minutes only), then the rest as by count: the flood,
     * largest, last arrived over an hour ago. */
    assert_string_equal(st.groups[0].key, "user@[192.0.2.99]");
    assert_string_equal(st.groups[1].key, "MAILER-DAEMON@corp.example");
    assert_true(st.groups[2].null_sender);
    assert_string_equal(st.groups[3].key, "flood@spam.example");
    /* And back to the count order. */
    qt_stats_sort(&st, QT_STATS_SORT_COUNT);
    assert_string_equal(st.groups[0].key, "flood@spam.example");
    qt_stats_free(&st);
}

/* Counting one message a step gives what counting at once gives. */
static void test_stepped_counting(void **state)
{
    struct qt_stats once, steps;
    size_t i, n = 0;
    int by, k;

    (void)state;
    for (by = 0; by < QT_BY_COUNT; by++) {
        qt_stats_init(&once);
        qt_stats_init(&steps);
        qt_stats_compute(&once, &store, NULL, (enum qt_stats_by)by, NOW);
        qt_stats_begin(&steps, &store, NULL, (enum qt_stats_by)by, NOW);
        assert_false(steps.complete);
        assert_int_equal(steps.total, store.n);
        while (!qt_stats_step(&steps, &store, 1)) {
            assert_false(steps.complete);
            assert_null(steps.groups);
            n++;
        }
        assert_true(steps.complete);
        assert_int_equal(steps.counted, store.n);
        assert_int_equal(steps.n, once.n);
        assert_int_equal(steps.messages, once.messages);
        assert_int_equal(steps.ungrouped, once.ungrouped);
        for (i = 0; i < once.n; i++) {
            assert_int_equal(steps.groups[i].key_len, once.groups[i].key_len);
            assert_memory_equal(steps.groups[i].key, once.groups[i].key, once.groups[i].key_len);
            assert_int_equal(steps.groups[i].count, once.groups[i].count);
            for (k = 0; k < QT_STATS_NWINDOWS; k++)
                assert_int_equal(steps.groups[i].arrived[k], once.groups[i].arrived[k]);
        }
        qt_stats_free(&once);
        qt_stats_free(&steps);
    }
    assert_true(n >= (size_t)QT_BY_COUNT * (store.n - 1));
}

static void test_catchall(void **state)
{
    struct qt_stats_group g;
    struct qt_stats st;
    const struct qt_stats_group *found;

    (void)state;
    memset(&g, 0, sizeof(g));
    g.key = "";
    assert_true(qt_stats_group_catchall(&g));
    g.null_sender = true;       /* bounces are a source like any other */
    assert_false(qt_stats_group_catchall(&g));
    g.null_sender = false;
    g.key = "Unknown";
    g.key_len = 7;
    assert_true(qt_stats_group_catchall(&g));
    g.key = "(none)";
    g.key_len = 6;
    assert_true(qt_stats_group_catchall(&g));
    g.key = "unknown.example";
    g.key_len = 15;
    assert_false(qt_stats_group_catchall(&g));
    /* The sasl view's "(none)": the messages with no login. */
    qt_stats_init(&st);
    qt_stats_compute(&st, &store, NULL, QT_BY_SASL, NOW);
    assert_non_null(found = find_group(&st, ""));
    assert_true(qt_stats_group_catchall(found));
    assert_non_null(found = find_group(&st, "hijacked"));
    assert_false(qt_stats_group_catchall(found));
    qt_stats_free(&st);
}

/* qshape's table counted one message a step is the table counted at once. */
static void test_stepped_shape(void **state)
{
    struct qt_shape_options o;
    struct qt_shape once, steps;
    size_t i;
    int sender, b;

    (void)state;
    for (sender = 0; sender < 2; sender++) {
        qt_shape_options_default(&o);
        o.sender = sender;
        o.parents = true;
        for (i = 0; i < QT_Q_COUNT; i++)
            o.queues[i] = true;
        qt_shape_init(&once);
        qt_shape_init(&steps);
        qt_shape_compute(&once, &store, NULL, &o, NOW);
        qt_shape_begin(&steps, &store, NULL, &o, NOW);
        while (!qt_shape_step(&steps, &store, 1))
            assert_false(steps.complete);
        assert_true(steps.complete && once.complete);
        assert_int_equal(steps.n, once.n);
        for (i = 0; i < once.n; i++) {
            assert_int_equal(steps.rows[i].domain_len, once.rows[i].domain_len);
            assert_memory_equal(steps.rows[i].domain, once.rows[i].domain, once.rows[i].domain_len);
            for (b = 0; b <= o.buckets; b++)
                assert_int_equal(steps.rows[i].counts[b], once.rows[i].counts[b]);
        }
        qt_shape_free(&once);
        qt_shape_free(&steps);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_group_by_sender_folds_case, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_by_rcpt_domain_counts_messages_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_group_by_reason_and_class, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expression_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expression_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filtered, setup, teardown),
        cmocka_unit_test(test_classes),
        cmocka_unit_test_setup_teardown(test_class_cache, setup, teardown),
        cmocka_unit_test(test_shape_buckets),
        cmocka_unit_test(test_shape_headings),
        cmocka_unit_test_setup_teardown(test_shape_counts, setup, teardown),
        cmocka_unit_test(test_shape_parents_and_order),
        cmocka_unit_test(test_shape_long_domain_cut),
        cmocka_unit_test(test_settings),
        cmocka_unit_test(test_by_names),
        cmocka_unit_test(test_arrival_windows),
        cmocka_unit_test_setup_teardown(test_rates_per_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stepped_counting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_catchall, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stepped_shape, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
