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

#include <errno.h>
#include <sys/stat.h>

#include "qfbuild.h"
#include "qtriage/filter.h"
#include "qtriage/header_cache.h"
#include "qtriage/spool.h"
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
        assert_string_equal(ids("sender=\"\""), "D4E5F6");
    }
}

/* sender="" is the null sender (the queue file's empty S record), as
 * sender=<> is; neither a real address at MAILER-DAEMON nor the text
 * "MAILER-DAEMON" is. */
static void test_null_sender_empty(void **state)
{
    struct qt_msg_data d = {.id = "DAE40", .queue = QT_Q_DEFERRED,
                            .sender = "MAILER-DAEMON@x.example"};

    (void)state;
    add(&d);
    assert_string_equal(ids("sender=\"\""), "D4E5F6");
    assert_string_equal(ids("sender=<>"), "D4E5F6");
    assert_string_equal(ids("sender!=\"\""), "A1B2C3 0FF1CE DAE40");
    assert_string_equal(ids("not sender=\"\""), "A1B2C3 0FF1CE DAE40");
    assert_string_equal(ids("sender=\"\" or sender_domain=x.example"), "D4E5F6 DAE40");
    /* Only "=" means the null sender: ":" with nothing is every sender. */
    assert_string_equal(ids("sender:\"\""), "A1B2C3 D4E5F6 0FF1CE DAE40");
    assert_string_equal(ids("sender:mailer-daemon@"), "DAE40");
}

/* Messages whose recipients tell "one recipient satisfies the group" from
 * "each term is satisfied by some recipient". */
static void add_recipient_mix(void)
{
    static struct qt_rcpt_data same[] = {   /* the full mailbox is at qq.example */
        {.address = "ann@qq.example", .state = QT_RCPT_PENDING, .status = "4.2.2",
         .reason = "host mx.qq.example said: 552 5.2.2 Mailbox full"},
        {.address = "ben@other.example", .state = QT_RCPT_PENDING, .status = "4.4.1",
         .reason = "connect to mx.other.example[192.0.2.9]:25: Connection refused"},
    };
    static struct qt_rcpt_data crossed[] = {    /* full elsewhere, refused at qq */
        {.address = "cat@qq.example", .state = QT_RCPT_PENDING, .status = "4.4.1",
         .reason = "connect to mx.qq.example[192.0.2.8]:25: Connection refused"},
        {.address = "dan@other.example", .state = QT_RCPT_PENDING, .status = "4.2.2",
         .reason = "host mx.other.example said: 452 4.2.2 Mailbox full"},
    };
    static struct qt_rcpt_data done[] = {   /* the qq.example one is delivered */
        {.address = "eve@qq.example", .state = QT_RCPT_DONE, .orig = "alias@qq.example"},
        {.address = "fay@other.example", .state = QT_RCPT_PENDING, .status = "4.2.2",
         .reason = "host mx.other.example said: 452 4.2.2 Mailbox full"},
    };
    struct qt_msg_data d = {.queue = QT_Q_DEFERRED, .sender = "s@x.example"};

    d.id = "5A3E";
    d.rcpts = same;
    d.nrcpts = 2;
    add(&d);
    d.id = "C7055";
    d.rcpts = crossed;
    add(&d);
    d.id = "D0AE";
    d.rcpts = done;
    add(&d);
}

static void test_rcpt_group(void **state)
{
    (void)state;
    add_recipient_mix();
    /* Each term on its own looks at any recipient: both mixes match. */
    assert_string_equal(ids("rcpt_domain=qq.example and class=mailbox-full"), "5A3E C7055");
    /* The group wants one recipient with both. */
    assert_string_equal(ids("rcpt(domain=qq.example and class=mailbox-full)"), "5A3E");
    assert_string_equal(ids("RCPT( rcpt_domain=qq.example class=mailbox-full )"), "5A3E");
    assert_string_equal(ids("recipient(domain=other.example and status=4.4.1)"), "5A3E");
    assert_string_equal(ids("to(domain=other.example and status:4.2)"), "C7055 D0AE");
    /* Every recipient field and operator inside. */
    assert_string_equal(ids("rcpt(address~/^(ann|dan)@/ and reason:full)"), "5A3E C7055");
    assert_string_equal(ids("rcpt(domain=qq.example and not class=mailbox-full)"), "C7055 D0AE");
    assert_string_equal(ids("rcpt(domain=qq.example and (class=connection-refused or "
                            "state=done))"), "C7055 D0AE");
    assert_string_equal(ids("rcpt(domain=qq.example and state=pending)"), "5A3E C7055");
    assert_string_equal(ids("rcpt(domain!=qq.example and class!=mailbox-full)"),
                        "A1B2C3 D4E5F6 0FF1CE 5A3E");
    assert_string_equal(ids("rcpt(orig=alias@qq.example and state=done)"), "D0AE");
    assert_string_equal(ids("rcpt(ann or dan@)"), "5A3E C7055");   /* bare: the address */
    assert_string_equal(ids("rcpt(/^eve@/ and state!=pending)"), "D0AE");
    assert_string_equal(ids("rcpt(domain=qq.example class=mailbox-full) or queue=hold"),
                        "D4E5F6 5A3E");
    assert_string_equal(ids("not rcpt(domain=qq.example and class=mailbox-full) and "
                            "sender=s@x.example"), "C7055 D0AE");
    /* Outside a group, the recipient fields still mean any recipient;
     * rcpt_domain there only the pending ones, in a group whatever state. */
    assert_string_equal(ids("status=4.4.1"), "5A3E C7055");
    assert_string_equal(ids("state=done"), "A1B2C3 D0AE");
    assert_string_equal(ids("rcpt_domain=qq.example"), "5A3E C7055");
    assert_string_equal(ids("rcpt(domain=qq.example)"), "5A3E C7055 D0AE");
    /* A message without recipients has none that satisfies a group. */
    {
        struct qt_msg_data d = {.id = "E0", .queue = QT_Q_HOLD, .sender = "a@b"};

        add(&d);
        assert_string_equal(ids("rcpt(domain:\"\")"), "A1B2C3 D4E5F6 0FF1CE 5A3E C7055 D0AE");
        assert_string_equal(ids("not rcpt(domain:\"\") and queue=hold"), "E0");
    }
}

/* Local time, as the clock on the server reads: a zone with a DST switch,
 * written as a POSIX TZ rule so no zone file is needed. */
static void test_arrival_times(void **state)
{
    char *old = getenv("TZ") ? xstrdup(getenv("TZ")) : NULL;
    /* 2023-03-27 00:30 CEST, just after the 23-hour day of the switch,
     * and 2023-03-25 23:30 CET, just before it. */
    struct qt_msg_data after = {.id = "D57A", .queue = QT_Q_DEFERRED, .sender = "a@b",
                                .arrival = 1679869800};
    struct qt_msg_data before = {.id = "D57B", .queue = QT_Q_DEFERRED, .sender = "a@b",
                                 .arrival = 1679783400};

    (void)state;
    setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
    tzset();
    /* NOW is 2023-11-14 23:13:20 CET; the messages arrived 6 days, 30
     * minutes and 2 hours before: 11-08 23:13:20, 11-14 22:43:20, 21:13:20. */
    assert_string_equal(ids("arrival>2023-11-14"), "D4E5F6 0FF1CE");
    assert_string_equal(ids("arrival<2023-11-14"), "A1B2C3");
    assert_string_equal(ids("arrival=2023-11-14"), "D4E5F6 0FF1CE");
    assert_string_equal(ids("arrival=2023-11-08"), "A1B2C3");
    assert_string_equal(ids("arrival=2023-11-09"), "");
    /* Local, not UTC: 22:43 CET is 21:43 UTC. */
    assert_string_equal(ids("arrival>2023-11-14T22:00"), "D4E5F6");
    assert_string_equal(ids("arrival>2023-11-14T22:43"), "D4E5F6");
    assert_string_equal(ids("arrival=2023-11-14T22:43"), "D4E5F6");
    assert_string_equal(ids("arrival>2023-11-14T22:43:20"), "");
    assert_string_equal(ids("arrival>=2023-11-14T22:43:20"), "D4E5F6");
    assert_string_equal(ids("arrival<=2023-11-14t21:13:20"), "A1B2C3 0FF1CE");
    assert_string_equal(ids("arrival=2023-11-14T21:13:20"), "0FF1CE");
    assert_string_equal(ids("arrival>2023-11-08T23:00 and age>1d"), "A1B2C3");
    {   /* an absolute time does not move with the clock */
        struct qt_filter *f = compile_ok("arrival>2023-11-14");

        assert_false(qt_filter_uses_time(f));
        assert_false(qt_filter_uses_headers(f));
        qt_filter_free(f);
    }
    /* A day is from midnight to midnight, 23 hours on the switch. */
    add(&after);
    add(&before);
    assert_string_equal(ids("arrival=2023-03-26"), "");
    assert_string_equal(ids("arrival=2023-03-27"), "D57A");
    assert_string_equal(ids("arrival=2023-03-25"), "D57B");
    assert_string_equal(ids("arrival>=2023-03-27 and arrival<2023-03-27T00:31"), "D57A");
    if (old)
        setenv("TZ", old, 1);
    else
        unsetenv("TZ");
    free(old);
    tzset();
}

/* ---- header.NAME: queue files in a spool of our own ---- */

static char spool_dir[] = "/tmp/qtriage-filter-spool-XXXXXX";

static void write_queue_file(const char *id, const char *headers)
{
    struct qt_buf b = {0}, path = {0};
    size_t size_pos, content_start, content_end;
    FILE *fp;

    size_pos = qfb_size_placeholder(&b);
    qfb_str(&b, 'T', "1700000000 0");
    qfb_str(&b, 'S', "a@b.example");
    qfb_str(&b, 'R', "c@d.example");
    qfb_str(&b, 'M', "");
    content_start = b.len;
    qfb_content_lines(&b, headers, strlen(headers));
    qfb_str(&b, 'N', "");
    qfb_str(&b, 'N', "X-Mailer: PHPMailer in the body is no header");
    content_end = b.len;
    qfb_str(&b, 'X', "");
    qfb_str(&b, 'E', "");
    qfb_size_patch(&b, size_pos, content_start, content_end, 1);
    qt_buf_printf(&path, "%s/deferred/%s", spool_dir, id);
    fp = fopen(path.data, "w");
    assert_non_null(fp);
    assert_int_equal(fwrite(b.data, 1, b.len, fp), b.len);
    fclose(fp);
    qt_buf_free(&b);
    qt_buf_free(&path);
}

struct header_spool {
    struct qt_spool_layout layout;
    struct qt_header_cache *cache;
};

static int setup_headers(void **state)
{
    static struct header_spool hs;
    struct qt_buf path = {0};
    struct qt_msg_data d = {.queue = QT_Q_DEFERRED, .sender = "a@b.example",
                            .arrival = NOW - 60};

    setup(state);
    strcpy(spool_dir + strlen(spool_dir) - 6, "XXXXXX");
    assert_non_null(mkdtemp(spool_dir));
    qt_buf_printf(&path, "%s/deferred", spool_dir);
    assert_int_equal(mkdir(path.data, 0700), 0);
    qt_buf_free(&path);
    write_queue_file("4A1B2C", "Received: from one\nReceived: from second\n"
                     "X-Mailer: PHPMailer\n 6.1\n"
                     "List-Id: =?UTF-8?Q?J=C3=BCrgen?= <news.list.example>\n");
    write_queue_file("4A1B2D", "Received: from one\nx-mailer:   Outlook  \n"
                     "Subject: hi\n");
    d.id = "4A1B2C";
    add(&d);
    d.id = "4A1B2D";
    add(&d);
    d.id = "4A1B2E";    /* in the store, gone from the spool */
    add(&d);
    memset(&hs, 0, sizeof(hs));
    hs.layout.queue_directory = spool_dir;
    hs.layout.hash_depth = 1;
    hs.cache = qt_header_cache_new(&hs.layout);
    *state = &hs;
    return 0;
}

static int teardown_headers(void **state)
{
    struct header_spool *hs = *state;
    struct qt_buf path = {0};

    qt_header_cache_free(hs->cache);
    qt_buf_printf(&path, "%s/deferred/4A1B2C", spool_dir);
    unlink(path.data);
    qt_buf_reset(&path);
    qt_buf_printf(&path, "%s/deferred/4A1B2D", spool_dir);
    unlink(path.data);
    qt_buf_reset(&path);
    qt_buf_printf(&path, "%s/deferred", spool_dir);
    rmdir(path.data);
    rmdir(spool_dir);
    qt_buf_free(&path);
    return teardown(state);
}

/* IDs `query` matches with headers read through `c`. */
static const char *header_ids(struct qt_header_cache *c, const char *query)
{
    static char out[256];
    struct qt_filter *f = compile_ok(query);
    size_t i;

    assert_true(qt_filter_uses_headers(f));
    qt_filter_set_headers(f, c);
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

static void test_header_terms(void **state)
{
    struct qt_header_cache *c = ((struct header_spool *)*state)->cache;

    assert_string_equal(header_ids(c, "header.X-Mailer~/PHPMailer/"), "4A1B2C");
    /* Two files read, once: the gone message costs a failed open only. */
    assert_int_equal(qt_header_cache_reads(c), 2);
    /* Unfolded, blanks around the value dropped, names in any case. */
    assert_string_equal(header_ids(c, "header.x-mailer=\"phpmailer 6.1\""), "4A1B2C");
    assert_string_equal(header_ids(c, "HEADER.X-MAILER=outlook"), "4A1B2D");
    assert_string_equal(header_ids(c, "header.X-Mailer!:php and queue=deferred"), "4A1B2D");
    /* The same names again read nothing. */
    assert_int_equal(qt_header_cache_reads(c), 2);
    /* RFC 2047 decoded, as the subject is. */
    assert_string_equal(header_ids(c, "header.List-Id:Jürgen"), "4A1B2C");
    assert_string_equal(header_ids(c, "header.List-Id:news.list.example"), "4A1B2C");
    assert_string_equal(header_ids(c, "header.List-Id~/^J\\x{fc}rgen </"), "4A1B2C");
    assert_int_equal(qt_header_cache_reads(c), 4);    /* a new name: read once more */
    /* Any value of a repeated header; a missing header is "". */
    assert_string_equal(header_ids(c, "header.Received=\"from second\""), "4A1B2C");
    assert_string_equal(header_ids(c, "header.List-Id=\"\""), "4A1B2D");
    /* The body's lines are no headers; the store's subject is not needed. */
    assert_string_equal(header_ids(c, "header.X-Mailer:\"in the body\""), "");
    assert_string_equal(header_ids(c, "header.subject=hi or header.X-Mailer:php"),
                        "4A1B2C 4A1B2D");
    /* A gone message matches nothing, not even under "not". */
    assert_string_equal(header_ids(c, "not header.X-Mailer:php"), "4A1B2D");
    assert_string_equal(header_ids(c, "not header.X-Nothing:x and id:4A1B2"),
                        "4A1B2C 4A1B2D");
}

/* Terms on the store decide first: a file is read only when they leave
 * the answer open. */
static void test_header_read_last(void **state)
{
    struct qt_header_cache *c = ((struct header_spool *)*state)->cache;

    assert_string_equal(header_ids(c, "header.X-Mailer:php and queue=hold"), "");
    assert_int_equal(qt_header_cache_reads(c), 0);
    assert_string_equal(header_ids(c, "header.X-Mailer:php or id:4a"), "4A1B2C 4A1B2D 4A1B2E");
    assert_int_equal(qt_header_cache_reads(c), 0);
    assert_string_equal(header_ids(c, "(header.X-Mailer:php or sender=x) and id=4A1B2D"), "");
    assert_int_equal(qt_header_cache_reads(c), 1);
}

/* A queue ID Postfix gives to another message is read afresh; a message
 * that only moved queue is not. */
static void test_header_cache_identity(void **state)
{
    struct qt_header_cache *c = ((struct header_spool *)*state)->cache;
    struct qt_msg_data d = {.id = "4A1B2D", .queue = QT_Q_HOLD, .sender = "a@b.example",
                            .arrival = NOW - 60};

    assert_string_equal(header_ids(c, "header.X-Mailer=outlook"), "4A1B2D");
    assert_int_equal(qt_header_cache_reads(c), 2);
    add(&d);        /* moved to hold in the store; the file is still where it was */
    assert_string_equal(header_ids(c, "header.X-Mailer=outlook"), "4A1B2D");
    assert_int_equal(qt_header_cache_reads(c), 2);
    write_queue_file("4A1B2D", "X-Mailer: Thunderbird\n");
    d.arrival = NOW - 5;
    add(&d);
    assert_string_equal(header_ids(c, "header.X-Mailer=outlook"), "");
    assert_string_equal(header_ids(c, "header.X-Mailer=thunderbird"), "4A1B2D");
    assert_int_equal(qt_header_cache_reads(c), 3);
    /* After a rescan that lost messages, pruning forgets them. */
    assert_int_equal(qt_header_cache_size(c), 6);  /* setup()'s three are gone too */
    qt_store_remove(&store, "4A1B2E");
    qt_header_cache_prune(c, &store);
    assert_int_equal(qt_header_cache_size(c), 5);
    assert_string_equal(header_ids(c, "header.X-Mailer=thunderbird"), "4A1B2D");
    assert_int_equal(qt_header_cache_reads(c), 3);
}

/* Headers that cannot be read decide nothing, and say so. */
static void test_header_unavailable(void **state)
{
    struct qt_header_cache *c = ((struct header_spool *)*state)->cache;
    struct qt_msg_data d = {.id = "host1:4A1B2C", .queue = QT_Q_DEFERRED,
                            .sender = "a@b.example"};
    struct qt_filter *f = compile_ok("not header.X-Mailer:php");
    size_t i, hits = 0;

    /* No cache: the filter cannot read files, and no message matches. */
    for (i = 0; i < store.n; i++)
        hits += qt_filter_match(f, &store, &store.msgs[i], NOW);
    assert_int_equal(hits, 0);
    assert_non_null(qt_filter_runtime_error(f));
    assert_non_null(strstr(qt_filter_runtime_error(f), "cannot read queue files"));
    qt_filter_clear_runtime_error(f);
    assert_null(qt_filter_runtime_error(f));
    /* Not a queue ID of this host (a fleet's HOST:ID). */
    add(&d);
    qt_filter_set_headers(f, c);
    for (i = 0; i < store.n; i++)
        if (qt_filter_match(f, &store, &store.msgs[i], NOW))
            assert_string_equal(qt_store_str(&store, store.msgs[i].id), "4A1B2D");
    assert_non_null(qt_filter_runtime_error(f));
    assert_non_null(strstr(qt_filter_runtime_error(f), "host1:4A1B2C: not a queue ID"));
    assert_non_null(strstr(qt_filter_runtime_error(f), "1 message could"));
    qt_filter_free(f);
    f = compile_ok("sender:x or header.X:y");
    assert_true(qt_filter_uses_headers(f));
    qt_filter_free(f);
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
        {"arrival>2026-13-01", 13, "bad month 13: it goes from 01 to 12"},
        {"arrival>2026-02-29", 16, "bad day 29: it goes from 01 to 28"},
        {"arrival>2026-12-1", 16, "bad day: 2 digits"},
        {"arrival>2h", 8, "bad time '2h': arrival takes a local date and time"},
        {"arrival>1700000000", 8, "bad time"},
        {"arrival>2026/12/01", 8, "bad time"},
        {"arrival>2026-12-01T25:00", 19, "bad hour 25"},
        {"arrival>2026-12-01T10", 21, "expected ':' after the hour"},
        {"arrival>2026-12-01T10:60", 22, "bad minute 60"},
        {"arrival>2026-12-01T10:00:7", 25, "bad second: 2 digits"},
        {"arrival>2026-12-01T10:00Z", 24, "unexpected 'Z' in the time"},
        {"arrival>2026-12-01 10:00", 18, "join the date and the time with T"},
        {"arrival>", 8, "missing value after 'arrival>'"},
        {"arrival:2026", 7, "arrival is a time"},
        {"arrival>1969-12-31", 8, "bad year 1969"},
        {"rcpt(sender=x)", 5, "sender is not a recipient's field"},
        {"rcpt(domain=x and size>1)", 18, "size is not a recipient's field"},
        {"rcpt()", 4, "empty rcpt()"},
        {"rcpt(domain=x", 4, "unbalanced parenthesis"},
        {"rcpt(rcpt(domain=x))", 5, "rcpt(...) inside rcpt(...)"},
        {"rcpt(nope=x)", 5, "unknown field 'nope' (fields: address (also rcpt) reason"},
        {"rcpt(header.X:y)", 5, "header.NAME is not a recipient's field"},
        {"header.:x", 7, "missing header name"},
        {"header.X-Mailer>5", 15, "a header is text"},
        {"header.X-Mailer", 15, "a header is text"},
        {"header.X-Mailer:", 16, "missing value after 'header.X-Mailer:'"},
        {"header.X-Mailer!~", 17, "missing value after 'header.X-Mailer!~'"},
        {"header.X~/a(/", 12, "bad regex"},
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
        cmocka_unit_test_setup_teardown(test_null_sender_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rcpt_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arrival_times, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_terms, setup_headers, teardown_headers),
        cmocka_unit_test_setup_teardown(test_header_read_last, setup_headers, teardown_headers),
        cmocka_unit_test_setup_teardown(test_header_cache_identity, setup_headers,
                                        teardown_headers),
        cmocka_unit_test_setup_teardown(test_header_unavailable, setup_headers,
                                        teardown_headers),
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
