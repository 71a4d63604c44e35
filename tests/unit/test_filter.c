/* The filter bar's query language: every field, every operator, precedence,
 * every kind of compile error with its position, and regexes that give up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qtriage/filter.h"
#include "qtriage/store.h"
#include "qtriage/util.h"

#define NOW 1700000000

static struct qt_store store;

static void add(const struct qt_msg_data *d)
{
    qt_store_upsert(&store, d);
}

/* A small queue with one message for each situation the fields care about. */
static int setup(void **state)
{
    static struct qt_rcpt_data flood_rcpts[] = {
        {.address = "alice@corp.example", .state = QT_RCPT_PENDING,
         .reason = "connect to mx.corp.example[192.0.2.5]:25: Connection refused"},
        {.address = "bob@corp.example", .state = QT_RCPT_DONE},
    };
    static struct qt_rcpt_data bounce_rcpts[] = {
        {.address = "flood@spam.example", .state = QT_RCPT_PENDING,
         .reason = "host mx.spam.example said: 550 5.1.1 User unknown"},
    };
    static struct qt_rcpt_data many_rcpts[12];
    static char many_addrs[12][32];
    /* Attributes the filter reads have fields of their own (message.h);
     * the rest go into the shared blob. */
    static const char flood_attrs[] = "rewrite_context=remote\0protocol_name=ESMTP\0";
    struct qt_msg_data d;
    int i;

    (void)state;
    qt_store_init(&store);

    memset(&d, 0, sizeof(d));
    d.id = "A1B2C3";
    d.queue = QT_Q_DEFERRED;
    d.sender = "flood@spam.example";
    d.from = "Cheap Meds <flood@spam.example>";
    d.subject = "Cheap MEDS today (50% off)";
    d.attrs = flood_attrs;
    d.attrs_len = sizeof(flood_attrs);
    d.attr_fields[QT_ATTR_CLIENT_ADDRESS] = "192.0.2.1";
    d.attr_fields[QT_ATTR_CLIENT_NAME] = "mail.spam.example";
    d.attr_fields[QT_ATTR_HELO_NAME] = "SpamHelo";
    d.attr_fields[QT_ATTR_SASL_USERNAME] = "hijacked";
    d.rcpts = flood_rcpts;
    d.nrcpts = 2;
    d.msg_size = 6 * 1024 * 1024;
    d.arrival = NOW - 6 * 86400;
    add(&d);

    memset(&d, 0, sizeof(d));
    d.id = "D4E5F6";
    d.queue = QT_Q_HOLD;
    d.null_sender = true;
    d.sender = "MAILER-DAEMON";
    d.from = "Mail Delivery System <MAILER-DAEMON@corp.example>";
    d.subject = "Undelivered Mail Returned to Sender";
    d.rcpts = bounce_rcpts;
    d.nrcpts = 1;
    d.msg_size = 2000;
    d.arrival = NOW - 30 * 60;
    add(&d);

    for (i = 0; i < 12; i++) {
        snprintf(many_addrs[i], sizeof(many_addrs[i]), "u%d@x.example", i);
        many_rcpts[i].address = many_addrs[i];
        many_rcpts[i].state = QT_RCPT_PENDING;
    }
    memset(&d, 0, sizeof(d));
    d.id = "0FF1CE";
    d.queue = QT_Q_ACTIVE;
    d.sender = "ceo@corp.example";
    d.attr_fields[QT_ATTR_CLIENT_ADDRESS] = "2001:db8::1";
    d.attr_fields[QT_ATTR_HELO_NAME] = "corp.example";
    d.rcpts = many_rcpts;
    d.nrcpts = 12;
    d.msg_size = 10 * 1024;
    d.arrival = NOW - 2 * 3600;
    add(&d);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    qt_store_free(&store);
    return 0;
}

static struct qt_filter *compile_ok(const char *query)
{
    struct qt_filter_error err;
    struct qt_filter *f = qt_filter_compile(query, &err);

    if (!f)
        fail_msg("'%s' did not compile: %s at %zu", query, err.msg, err.pos);
    return f;
}

/* IDs of the messages `query` matches, in store order, space separated. */
static const char *ids(const char *query)
{
    static char out[256];
    struct qt_filter *f = compile_ok(query);
    size_t i;

    out[0] = 0;
    for (i = 0; i < store.n; i++) {
        if (!qt_filter_match(f, &store, &store.msgs[i], NOW))
            continue;
        if (out[0])
            strcat(out, " ");
        strcat(out, qt_store_str(&store, store.msgs[i].id));
    }
    assert_null(qt_filter_runtime_error(f));
    qt_filter_free(f);
    return out;
}

static void test_empty_query_matches_all(void **state)
{
    struct qt_filter *f;

    (void)state;
    assert_string_equal(ids(""), "A1B2C3 D4E5F6 0FF1CE");
    assert_string_equal(ids(" \t "), "A1B2C3 D4E5F6 0FF1CE");
    f = compile_ok("");
    assert_true(qt_filter_matches_all(f));
    assert_false(qt_filter_uses_time(f));
    qt_filter_free(f);
    f = qt_filter_compile(NULL, NULL);
    assert_non_null(f);
    assert_true(qt_filter_matches_all(f));
    qt_filter_free(f);
    f = compile_ok("x");
    assert_false(qt_filter_matches_all(f));
    qt_filter_free(f);
    qt_filter_free(NULL);
}

static void test_text_fields(void **state)
{
    (void)state;
    assert_string_equal(ids("id:b2"), "A1B2C3");
    assert_string_equal(ids("queue:hold"), "D4E5F6");
    assert_string_equal(ids("queue=deferred"), "A1B2C3");
    assert_string_equal(ids("queue:act"), "0FF1CE");
    assert_string_equal(ids("sender:corp"), "0FF1CE");
    assert_string_equal(ids("from:\"Mail Delivery\""), "D4E5F6");
    assert_string_equal(ids("rcpt:bob@"), "A1B2C3");     /* a done recipient counts */
    assert_string_equal(ids("recipient:u11@"), "0FF1CE");
    assert_string_equal(ids("to:flood@"), "D4E5F6");
    assert_string_equal(ids("subject:undelivered"), "D4E5F6");
    assert_string_equal(ids("reason:refused"), "A1B2C3");
    assert_string_equal(ids("reason:\"user unknown\""), "D4E5F6");
    assert_string_equal(ids("client:192.0.2."), "A1B2C3");
    assert_string_equal(ids("client=2001:db8::1"), "0FF1CE");
    assert_string_equal(ids("client_name:spam"), "A1B2C3");
    assert_string_equal(ids("sasl:hijack"), "A1B2C3");
    assert_string_equal(ids("sasl_username=hijacked"), "A1B2C3");
    assert_string_equal(ids("helo=corp.example"), "0FF1CE");
    assert_string_equal(ids("helo:spamhelo"), "A1B2C3");
}

/* A missing value (no subject, no SASL login) is the empty string. */
static void test_absent_values_are_empty(void **state)
{
    (void)state;
    assert_string_equal(ids("subject=\"\""), "0FF1CE");
    assert_string_equal(ids("sasl=\"\""), "D4E5F6 0FF1CE");
    assert_string_equal(ids("subject~/^$/"), "0FF1CE");
    assert_string_equal(ids("subject:\"\""), "A1B2C3 D4E5F6 0FF1CE");
}

/* Fields the statistics' group rows filter on: the sender's domain, the
 * pending recipients' domains and the class of any delay reason. */
static void test_domain_and_class_fields(void **state)
{
    struct qt_buf q = {0};

    (void)state;
    assert_string_equal(ids("sender_domain=spam.example"), "A1B2C3");
    assert_string_equal(ids("sender_domain=SPAM.example"), "A1B2C3");
    assert_string_equal(ids("sender_domain:example"), "A1B2C3 0FF1CE");
    /* The null sender has no domain. */
    assert_string_equal(ids("sender_domain=\"\""), "D4E5F6");
    assert_string_equal(ids("rcpt_domain=corp.example"), "A1B2C3");   /* bob is done */
    assert_string_equal(ids("domain=x.example"), "0FF1CE");
    assert_string_equal(ids("rcpt_domain~/^spam\\./"), "D4E5F6");
    assert_string_equal(ids("rcpt_domain=example"), "");
    assert_string_equal(ids("class=connection-refused"), "A1B2C3");
    assert_string_equal(ids("class=USER-UNKNOWN"), "D4E5F6");
    assert_string_equal(ids("class:refused or class:unknown"), "A1B2C3 D4E5F6");
    assert_string_equal(ids("not class:\"\""), "0FF1CE");     /* no reason, no class */
    assert_string_equal(ids("class=other"), "");
    /* Quoting round-trips any bytes but NUL. */
    qt_filter_quote("a\"b\\c d)", 8, &q);
    assert_string_equal(q.data, "\"a\\\"b\\\\c d)\"");
    qt_buf_free(&q);
}

static void test_substring_equal_regex(void **state)
{
    (void)state;
    assert_string_equal(ids("sender:flood"), "A1B2C3");
    assert_string_equal(ids("sender=flood"), "");
    assert_string_equal(ids("sender=flood@spam.example"), "A1B2C3");
    assert_string_equal(ids("rcpt=u7@x.example"), "0FF1CE");
    assert_string_equal(ids("rcpt=u7@x"), "");
    assert_string_equal(ids("subject~/^Cheap/"), "A1B2C3");
    assert_string_equal(ids("subject~/^cheap/"), "");
    assert_string_equal(ids("subject~/^cheap/i"), "A1B2C3");
    assert_string_equal(ids("rcpt~/^u1[01]@/"), "0FF1CE");
    assert_string_equal(ids("id~/^[0-9]/"), "0FF1CE");
    assert_string_equal(ids("reason~/\\b550\\b/"), "D4E5F6");
    assert_string_equal(ids("subject~/\\(50%/"), "A1B2C3");
    assert_string_equal(ids("client~/^192\\.0\\.2\\.\\d+$/"), "A1B2C3");
}

static void test_regex_flags(void **state)
{
    struct qt_msg_data d = {.id = "F1A65", .queue = QT_Q_DEFERRED, .sender = "a@b",
                            .subject = "first line\nSecond"};

    (void)state;
    add(&d);
    assert_string_equal(ids("subject~/line.Second/"), "");
    assert_string_equal(ids("subject~/line.Second/s"), "F1A65");
    assert_string_equal(ids("subject~/line.second/is"), "F1A65");
    assert_string_equal(ids("subject~/^second/im"), "F1A65");
    assert_string_equal(ids("subject~/^second/i"), "");
    assert_string_equal(ids("subject~/ first \\s line /x"), "F1A65");
    /* \/ is a slash inside the regex. */
    d.subject = "50/50 chance";
    add(&d);
    assert_string_equal(ids("subject~/0\\/5/"), "F1A65");
    /* Unicode case folding with the i flag (UCP). */
    d.subject = "ÉNORME promo";
    add(&d);
    assert_string_equal(ids("subject~/énorme/i"), "F1A65");
    assert_string_equal(ids("subject~/^\\w+ promo/"), "F1A65");
}

static void test_case_insensitive(void **state)
{
    (void)state;
    assert_string_equal(ids("SUBJECT:cheap"), "A1B2C3");
    assert_string_equal(ids("Subject:CHEAP"), "A1B2C3");
    assert_string_equal(ids("subject:mEdS"), "A1B2C3");
    assert_string_equal(ids("SENDER=FLOOD@SPAM.EXAMPLE"), "A1B2C3");
    assert_string_equal(ids("Queue=HOLD"), "D4E5F6");
    assert_string_equal(ids("id=a1b2c3"), "A1B2C3");
    assert_string_equal(ids("cheap AND NOT medicine"), "A1B2C3");
    assert_string_equal(ids("queue:hold Or ceo"), "D4E5F6 0FF1CE");
    assert_string_equal(ids("SIZE>5m"), "A1B2C3");
}

static void test_null_sender(void **state)
{
    (void)state;
    assert_string_equal(ids("sender:<>"), "D4E5F6");
    assert_string_equal(ids("sender=<>"), "D4E5F6");
    assert_string_equal(ids("not sender=<>"), "A1B2C3 0FF1CE");
    assert_string_equal(ids("sender:mailer-daemon"), "D4E5F6");
    assert_string_equal(ids("sender=MAILER-DAEMON"), "D4E5F6");
    /* The flag decides, not the text: a real sender named like that is not
     * the null sender. */
    {
        struct qt_msg_data d = {.id = "FA4E", .queue = QT_Q_DEFERRED,
                                .sender = "MAILER-DAEMON"};

        add(&d);
        assert_string_equal(ids("sender=<>"), "D4E5F6");
        assert_string_equal(ids("sender=mailer-daemon"), "D4E5F6 FA4E");
    }
}

static void test_numbers_and_units(void **state)
{
    (void)state;
    assert_string_equal(ids("size>5M"), "A1B2C3");
    assert_string_equal(ids("size>5242880"), "A1B2C3");
    assert_string_equal(ids("size>6M"), "");
    assert_string_equal(ids("size>=6M"), "A1B2C3");
    assert_string_equal(ids("size=10k"), "0FF1CE");
    assert_string_equal(ids("size=10K"), "0FF1CE");
    assert_string_equal(ids("size=10240"), "0FF1CE");
    assert_string_equal(ids("size<2001"), "D4E5F6");
    assert_string_equal(ids("size<=2000"), "D4E5F6");
    assert_string_equal(ids("size<2000"), "");
    assert_string_equal(ids("size<1G"), "A1B2C3 D4E5F6 0FF1CE");
    assert_string_equal(ids("age>5d"), "A1B2C3");
    assert_string_equal(ids("age<1h"), "D4E5F6");
    assert_string_equal(ids("age=30m"), "D4E5F6");
    assert_string_equal(ids("age=1800"), "D4E5F6");
    assert_string_equal(ids("age=1800s"), "D4E5F6");
    assert_string_equal(ids("age>=2h"), "A1B2C3 0FF1CE");
    assert_string_equal(ids("age<1w"), "A1B2C3 D4E5F6 0FF1CE");
    assert_string_equal(ids("age<6d"), "D4E5F6 0FF1CE");
    assert_string_equal(ids("rcpts>=10"), "0FF1CE");
    assert_string_equal(ids("rcpts=1"), "A1B2C3 D4E5F6");  /* done ones do not count */
    assert_string_equal(ids("rcpts<12"), "A1B2C3 D4E5F6");
    assert_string_equal(ids("size>1k age<1d"), "D4E5F6 0FF1CE");
    assert_string_equal(ids("size>3k age<1d"), "0FF1CE");
}

static void test_uses_time(void **state)
{
    struct qt_filter *f = compile_ok("age>1h or size>1");
    const struct qt_msg *m = &store.msgs[qt_store_find(&store, "0FF1CE")];

    (void)state;
    assert_true(qt_filter_uses_time(f));
    qt_filter_free(f);
    f = compile_ok("age>3h");
    assert_false(qt_filter_match(f, &store, m, NOW));
    assert_true(qt_filter_match(f, &store, m, NOW + 7200));
    qt_filter_free(f);
    f = compile_ok("size>1 subject:x");
    assert_false(qt_filter_uses_time(f));
    qt_filter_free(f);
}

static void test_boolean_operators(void **state)
{
    (void)state;
    /* Implicit AND between adjacent terms. */
    assert_string_equal(ids("cheap today"), "A1B2C3");
    assert_string_equal(ids("cheap undelivered"), "");
    assert_string_equal(ids("cheap and today"), "A1B2C3");
    assert_string_equal(ids("cheap && today"), "A1B2C3");
    assert_string_equal(ids("cheap or undelivered"), "A1B2C3 D4E5F6");
    assert_string_equal(ids("cheap || undelivered"), "A1B2C3 D4E5F6");
    assert_string_equal(ids("not cheap"), "D4E5F6 0FF1CE");
    assert_string_equal(ids("!cheap"), "D4E5F6 0FF1CE");
    assert_string_equal(ids("! cheap"), "D4E5F6 0FF1CE");
    assert_string_equal(ids("not not cheap"), "A1B2C3");
    /* not > and > or. */
    assert_string_equal(ids("not cheap queue:hold"), "D4E5F6");    /* (not cheap) and hold */
    assert_string_equal(ids("not (cheap or queue:hold)"), "0FF1CE");
    /* hold or (cheap and big) */
    assert_string_equal(ids("queue:hold or cheap size>1G"), "D4E5F6");
    assert_string_equal(ids("(queue:hold or cheap) size>1M"), "A1B2C3");
    assert_string_equal(ids("cheap size>1G or queue:active"), "0FF1CE");
    assert_string_equal(ids("cheap or queue:hold and size>1M"), "A1B2C3");
    assert_string_equal(ids("queue:active or queue:hold or queue:deferred"),
                        "A1B2C3 D4E5F6 0FF1CE");
    assert_string_equal(ids("((cheap))"), "A1B2C3");
    assert_string_equal(ids("(cheap)(today)"), "A1B2C3");
    assert_string_equal(ids("!(cheap)!(ceo)"), "D4E5F6");
    assert_string_equal(ids("not(cheap)"), "D4E5F6 0FF1CE");
    /* Negated comparisons. */
    assert_string_equal(ids("queue!=hold"), "A1B2C3 0FF1CE");
    assert_string_equal(ids("subject!:cheap"), "D4E5F6 0FF1CE");
    assert_string_equal(ids("sender!=<>"), "A1B2C3 0FF1CE");
    assert_string_equal(ids("subject!~/^Cheap/ queue!:active"), "D4E5F6");
    assert_string_equal(ids("size!=10k"), "A1B2C3 D4E5F6");
    assert_string_equal(ids("wow!"), "");                       /* just a word */
    /* Keywords only as whole words. */
    assert_string_equal(ids("ceo andrew"), "");
    assert_string_equal(ids("order"), "");
}

static void test_bare_words(void **state)
{
    (void)state;
    assert_string_equal(ids("a1b2"), "A1B2C3");                 /* ID */
    assert_string_equal(ids("ceo@"), "0FF1CE");                 /* sender */
    assert_string_equal(ids("u5@x"), "0FF1CE");                 /* any recipient */
    assert_string_equal(ids("RETURNED"), "D4E5F6");             /* subject */
    assert_string_equal(ids("flood@spam.example"), "A1B2C3 D4E5F6"); /* sender or rcpt */
    assert_string_equal(ids("hijacked"), "");                   /* not attributes */
    assert_string_equal(ids("refused"), "");                    /* not reasons */
    assert_string_equal(ids("2001:db8::1"), "");                /* digits: no field */
    assert_string_equal(ids("50%"), "A1B2C3");
    assert_string_equal(ids("/^u1[01]@/"), "0FF1CE");
    assert_string_equal(ids("/^(ceo|flood)@/"), "A1B2C3 D4E5F6 0FF1CE");
    assert_string_equal(ids("/returned/i"), "D4E5F6");
    assert_string_equal(ids("/^d4e5/i"), "D4E5F6");
}

static void test_quoted_strings(void **state)
{
    struct qt_msg_data d = {.id = "0D0D", .queue = QT_Q_DEFERRED, .sender = "a@b",
                            .subject = "He said \"hi\" and left C:\\temp (really)"};

    (void)state;
    add(&d);
    assert_string_equal(ids("\"cheap meds\""), "A1B2C3");
    assert_string_equal(ids("subject:\"50% off)\""), "A1B2C3");
    assert_string_equal(ids("\"said \\\"hi\\\"\""), "0D0D");
    assert_string_equal(ids("subject:\"C:\\\\temp (really)\""), "0D0D");
    /* A backslash before anything else is itself. */
    assert_string_equal(ids("subject:\"C:\\temp\""), "0D0D");
    assert_string_equal(ids("\"and\""), "0D0D");                /* not a keyword */
    assert_string_equal(ids("\"(really)\" or \"meds today\""), "A1B2C3 0D0D");
    assert_string_equal(ids("(\"(really)\")"), "0D0D");
    /* A quote inside a word is an ordinary character. */
    assert_string_equal(ids("hi\""), "0D0D");
}

struct error_case {
    const char *query;
    size_t pos;
    const char *msg;            /* a piece of the message */
};

static void test_errors(void **state)
{
    static const struct error_case cases[] = {
        {"subjekt:cheap", 0, "unknown field 'subjekt'"},
        {"cheap and x_y=1", 10, "unknown field 'x_y'"},
        {"(cheap or today", 0, "unbalanced parenthesis"},
        {"a (b (c) d", 2, "unbalanced parenthesis"},
        {"cheap or today)", 14, "unbalanced parenthesis"},
        {"())", 0, "empty parentheses"},
        {"cheap ( )", 6, "empty parentheses"},
        {"subject:", 8, "missing value after 'subject:'"},
        {"subject: cheap", 8, "missing value"},
        {"sender=)", 7, "missing value after 'sender='"},
        {"subject~", 8, "missing value after 'subject~'"},
        {"subject!~ x", 9, "missing value after 'subject!~'"},
        {"size>", 5, "missing value after 'size>'"},
        {"size>= 5", 6, "missing value after 'size>='"},
        {"size>5x", 6, "bad unit 'x' for size"},
        {"size>5MB", 6, "bad unit 'MB'"},
        {"size>five", 5, "bad number 'five'"},
        {"size>-5", 5, "bad number"},
        {"age>5M", 5, "bad unit 'M' for age"},
        {"rcpts>=10k", 9, "bad unit 'k' for rcpts"},
        {"size>99999999999999999999", 5, "number too large"},
        {"size>9999999999999G", 5, "number too large"},
        {"size:5M", 4, "size is a number"},
        {"age~/1/", 3, "age is a number"},
        {"subject>5", 7, "subject is text"},
        {"size!:5", 4, "size is a number"},
        {"subject!=", 9, "missing value after 'subject!='"},
        {"size!=x", 6, "bad number"},
        {"nope!=x", 0, "unknown field 'nope'"},
        {"subject~cheap", 8, "between slashes"},
        {"subject~/cheap", 8, "unterminated regex"},
        {"/cheap\\/", 0, "unterminated regex"},
        {"subject~/a(b/", 12, "bad regex: missing closing parenthesis"},
        {"x /a{2,1}/", 8, "bad regex: numbers out of order"},
        {"subject~/cheap/q", 15, "unknown regex flag"},
        {"/cheap/ix-", 9, "unknown regex flag"},
        {"subject:\"cheap", 8, "unterminated quoted string"},
        {"subject:\"a\\\"", 8, "unterminated quoted string"},
        {"subject:\"cheap\"meds", 15, "after the closing quote"},
        {"\"cheap\"\"meds\"", 7, "after the closing quote"},
        {"cheap and", 9, "expected a term, found the end"},
        {"and cheap", 0, "expected a term, found 'and'"},
        {"cheap or or today", 9, "expected a term, found 'or'"},
        {"not", 3, "expected a term"},
        {"(cheap and)", 10, "expected a term, found ')'"},
        {"cheap ||", 8, "expected a term"},
    };
    struct qt_filter_error err;
    struct qt_filter *f;
    char deep[200];
    size_t i;

    (void)state;
    for (i = 0; i < QT_ARRAY_LEN(cases); i++) {
        memset(&err, 0x55, sizeof(err));
        if (qt_filter_compile(cases[i].query, &err))
            fail_msg("'%s' compiled", cases[i].query);
        if (err.pos != cases[i].pos || !strstr(err.msg, cases[i].msg))
            fail_msg("'%s': got \"%s\" at %zu, want \"%s\" at %zu", cases[i].query, err.msg,
                     err.pos, cases[i].msg, cases[i].pos);
    }
    /* Nesting is bounded, whatever is typed. */
    memset(deep, '(', 100);
    strcpy(deep + 100, "x");
    memset(deep + 101, ')', 98);
    deep[199] = 0;
    assert_null(qt_filter_compile(deep, &err));
    assert_int_equal(err.pos, 64);
    assert_non_null(strstr(err.msg, "nested too deeply"));
    /* NULL err is allowed. */
    assert_null(qt_filter_compile("(", NULL));
    /* Success leaves no stale message behind. */
    f = qt_filter_compile("cheap", &err);
    assert_non_null(f);
    assert_string_equal(err.msg, "");
    qt_filter_free(f);
}

static double cpu_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* (a+)+$ against a+b backtracks exponentially: pcre2's limits must stop it,
 * and the message must count as not matching even under a "not". */
static void test_catastrophic_regex(void **state)
{
    struct qt_msg_data d = {.id = "B0B0", .queue = QT_Q_DEFERRED, .sender = "a@b"};
    char *subject = xmalloc(30002);
    struct qt_filter *f, *neg;
    const struct qt_msg *m;
    double start;

    (void)state;
    memset(subject, 'a', 30000);
    subject[30000] = 'b';
    subject[30001] = 0;
    d.subject = subject;
    add(&d);
    free(subject);
    m = &store.msgs[qt_store_find(&store, "B0B0")];

    f = compile_ok("subject~/(a+)+$/");
    neg = compile_ok("not subject~/(a+)+$/");
    assert_null(qt_filter_runtime_error(f));
    start = cpu_seconds();
    assert_false(qt_filter_match(f, &store, m, NOW));
    assert_false(qt_filter_match(neg, &store, m, NOW));
    assert_true(cpu_seconds() - start < 1.0);
    assert_non_null(qt_filter_runtime_error(f));
    assert_non_null(strstr(qt_filter_runtime_error(f), "(a+)+$"));
    assert_non_null(strstr(qt_filter_runtime_error(f), "1 message (first B0B0"));
    assert_non_null(qt_filter_runtime_error(neg));
    /* Messages the regex can judge still work, and failures are counted. */
    assert_false(qt_filter_match(f, &store, &store.msgs[0], NOW));
    assert_false(qt_filter_match(f, &store, m, NOW));
    assert_non_null(strstr(qt_filter_runtime_error(f), "2 messages (first B0B0"));
    qt_filter_clear_runtime_error(f);
    assert_null(qt_filter_runtime_error(f));
    assert_false(qt_filter_match(f, &store, &store.msgs[0], NOW));
    assert_null(qt_filter_runtime_error(f));
    /* The other branch of an OR does not rescue a message the regex gave up on
     * when the regex ran first; short-circuiting may skip the regex. */
    qt_filter_free(neg);
    neg = compile_ok("id=B0B0 or subject~/(a+)+$/");
    assert_true(qt_filter_match(neg, &store, m, NOW));
    assert_null(qt_filter_runtime_error(neg));
    qt_filter_free(neg);
    qt_filter_free(f);
}

/* Legitimate patterns that backtrack deeply on long subjects still work:
 * pcre2's JIT runs out of its default 32 KiB stack on ^(a|b)+$ over 1 KiB. */
static void test_deep_but_sane_regex(void **state)
{
    struct qt_msg_data d = {.id = "DEE9", .queue = QT_Q_DEFERRED, .sender = "a@b"};
    char *subject = xmalloc(4097);

    (void)state;
    memset(subject, 'a', 4096);
    subject[4096] = 0;
    subject[100] = 'b';
    d.subject = subject;
    add(&d);
    free(subject);
    assert_string_equal(ids("subject~/^(a|b)+$/"), "DEE9");
    assert_string_equal(ids("subject~/^(\\w|-)+$/"), "DEE9");
    assert_string_equal(ids("subject~/^(a|b)+c$/"), "");
}

/* Raw 8-bit bytes (an address in Latin-1, a broken subject) must neither
 * break regex matching nor hide the rest of the text from it. */
static void test_invalid_utf8(void **state)
{
    struct qt_rcpt_data r = {.address = "caf\xe9@x.example", .state = QT_RCPT_PENDING};
    struct qt_msg_data d = {.id = "BAD8", .queue = QT_Q_DEFERRED, .sender = "\xff\xfe@x",
                            .subject = "\xc3\x28 price \xe2\x82 list \xf0\x9f\x98\x80",
                            .rcpts = &r, .nrcpts = 1};
    struct qt_filter *f;

    (void)state;
    add(&d);
    assert_string_equal(ids("subject~/price/"), "BAD8");
    assert_string_equal(ids("subject~/list \\x{1F600}/"), "BAD8");
    /* Invalid bytes match nothing, not even ".", as pcre2 documents. */
    assert_string_equal(ids("subject~/price.*list/"), "");
    assert_string_equal(ids("subject~/\\x{1F600}$/"), "BAD8");
    assert_string_equal(ids("rcpt~/^caf.*@x\\.example$/"), "");   /* . never eats a bad byte */
    assert_string_equal(ids("rcpt~/^caf/"), "BAD8");
    assert_string_equal(ids("rcpt~/\\W@x\\.example$/"), "");   /* nor \\W */
    assert_string_equal(ids("rcpt~/@x\\.example$/ not rcpt:u"), "BAD8");
    assert_string_equal(ids("/@x$/"), "BAD8");
    assert_string_equal(ids("rcpt:caf"), "BAD8");
    assert_string_equal(ids("rcpt:\"caf\xe9@\""), "BAD8");
    assert_string_equal(ids("subject:\"\xf0\x9f\x98\x80\""), "BAD8");
    /* A query with invalid UTF-8 in a regex is a compile error, not a crash. */
    f = qt_filter_compile("subject~/caf\xe9/", NULL);
    assert_null(f);
}

/* Compiling once and matching many messages: correct counts, no leaks (the
 * sanitizer build checks), no allocation needed per message. */
static void test_many_messages(void **state)
{
    static const char *const queries[] = {
        "sender:flood3", "subject~/^offer [0-9]*7$/i", "size>50k and not queue:hold",
        "age>1d or rcpts>=3", "/flood1/ client=198.51.100.7",
    };
    struct qt_store big;
    struct qt_rcpt_data r[3];
    struct qt_msg_data d;
    char id[16], sender[32], subject[32], rcpt[3][32], attrs[64];
    size_t counts[QT_ARRAY_LEN(queries)] = {0}, want[QT_ARRAY_LEN(queries)] = {0};
    size_t i, q;

    (void)state;
    qt_store_init(&big);
    for (i = 0; i < 100000; i++) {
        memset(&d, 0, sizeof(d));
        memset(r, 0, sizeof(r));
        snprintf(id, sizeof(id), "%zX", i + 0x100000);
        snprintf(sender, sizeof(sender), "flood%zu@spam.example", i % 50);
        snprintf(subject, sizeof(subject), "Offer %zu", i % 1000);
        snprintf(attrs, sizeof(attrs), "198.51.100.%zu", i % 10);
        d.attr_fields[QT_ATTR_CLIENT_ADDRESS] = attrs;
        d.id = id;
        d.queue = i % 4 == 0 ? QT_Q_HOLD : QT_Q_DEFERRED;
        d.sender = sender;
        d.subject = subject;
        d.msg_size = (int64_t)(i % 100) * 1024;
        d.arrival = NOW - (int64_t)(i % 48) * 3600;
        d.nrcpts = 1 + i % 3;
        for (q = 0; q < d.nrcpts; q++) {
            snprintf(rcpt[q], sizeof(rcpt[q]), "user%zu@corp.example", (i + q) % 7);
            r[q].address = rcpt[q];
        }
        d.rcpts = r;
        qt_store_upsert(&big, &d);
        /* What each query should say, worked out directly. */
        want[0] += i % 50 == 3 || (i % 50 >= 30 && i % 50 < 40);
        want[1] += i % 10 == 7;
        want[2] += i % 100 > 50 && i % 4 != 0;
        want[3] += i % 48 > 24 || i % 3 == 2;
        want[4] += (i % 50 == 1 || (i % 50 >= 10 && i % 50 < 20)) && i % 10 == 7;
    }
    for (q = 0; q < QT_ARRAY_LEN(queries); q++) {
        struct qt_filter *f = compile_ok(queries[q]);

        for (i = 0; i < big.n; i++)
            counts[q] += qt_filter_match(f, &big, &big.msgs[i], NOW);
        assert_null(qt_filter_runtime_error(f));
        qt_filter_free(f);
        if (counts[q] != want[q])
            fail_msg("'%s': %zu matches, want %zu", queries[q], counts[q], want[q]);
    }
    qt_store_free(&big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty_query_matches_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absent_values_are_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_domain_and_class_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_substring_equal_regex, setup, teardown),
        cmocka_unit_test_setup_teardown(test_regex_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_case_insensitive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_sender, setup, teardown),
        cmocka_unit_test_setup_teardown(test_numbers_and_units, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uses_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_boolean_operators, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bare_words, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quoted_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_catastrophic_regex, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deep_but_sane_regex, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8, setup, teardown),
        cmocka_unit_test(test_many_messages),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
