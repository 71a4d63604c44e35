/* The fleet protocol's encoder and decoder (fleet_proto.c), the host lines
 * of the configuration, and the fleet backend against agents that
 * misbehave (scripts standing in for ssh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qtriage/config.h"
#include "qtriage/feed.h"
#include "qtriage/fleet.h"
#include "qtriage/store.h"

static const char attrs_blob[] = "rewrite_context=local\0dsn_ret=2\0";

static void sample(struct qt_msg_data *m, struct qt_rcpt_data *r)
{
    memset(m, 0, sizeof(*m));
    memset(r, 0, 2 * sizeof(*r));
    m->id = "3F4ADA72165";
    m->queue = QT_Q_HOLD;
    m->forced_expire = true;
    m->sender = "we\\ird\tsender@example.com";
    m->subject = "line\nbreak\r and \\N";
    m->from = NULL;
    m->error = NULL;
    m->attrs = attrs_blob;
    m->attrs_len = sizeof(attrs_blob);
    m->attr_fields[QT_ATTR_CLIENT_ADDRESS] = "192.0.2.7";
    m->attr_fields[QT_ATTR_SASL_USERNAME] = "";
    m->rcpts = r;
    m->nrcpts = 2;
    r[0].address = "a@example.net";
    r[0].reason = "connect to x: Connection refused";
    r[0].status = "4.4.1";
    r[0].state = QT_RCPT_PENDING;
    r[1].address = "b@example.org";
    r[1].orig = "B@Example.org";
    r[1].state = QT_RCPT_DONE;
    r[1].bounced = true;
    m->arrival = 1796470231;
    m->create_time = 1796470232;
    m->mtime = -5;
    m->msg_size = 12345;
    m->file_size = 13000;
    m->content_size = 12000;
    m->data_offset = 700;
}

/* Encode `m`, split the line (without its newline), decode it. */
static bool round_trip(const struct qt_msg_data *m, const char *prefix, size_t max_line,
                       struct qt_buf *line, struct qt_fleet_fields *ff, struct qt_arena *a,
                       struct qt_msg_data *out, struct qt_error *err)
{
    qt_buf_reset(line);
    qt_fleet_encode_msg(line, m, max_line, NULL);
    assert_true(line->len > 0);
    assert_int_equal(line->data[line->len - 1], '\n');
    assert_null(memchr(line->data, '\n', line->len - 1));
    line->data[--line->len] = '\0';
    return qt_fleet_split(line->data, line->len, ff, err) &&
           qt_fleet_decode_msg(ff, prefix, a, out, err);
}

static void test_round_trip(void **state)
{
    struct qt_msg_data m, out;
    struct qt_rcpt_data r[2];
    struct qt_buf line = {0};
    struct qt_fleet_fields ff = {0};
    struct qt_arena a = {0};
    struct qt_error err = {""};

    (void)state;
    sample(&m, r);
    assert_true(round_trip(&m, "mx1", QT_FLEET_MAX_LINE, &line, &ff, &a, &out, &err));
    assert_string_equal(out.id, "mx1:3F4ADA72165");
    assert_string_equal(out.host, "mx1");
    assert_int_equal(out.queue, QT_Q_HOLD);
    assert_true(out.forced_expire);
    assert_false(out.null_sender);
    assert_string_equal(out.sender, m.sender);
    assert_string_equal(out.subject, m.subject);
    assert_null(out.from);
    assert_null(out.error);
    assert_int_equal(out.attrs_len, m.attrs_len);
    assert_memory_equal(out.attrs, m.attrs, m.attrs_len);
    assert_string_equal(out.attr_fields[QT_ATTR_CLIENT_ADDRESS], "192.0.2.7");
    assert_string_equal(out.attr_fields[QT_ATTR_SASL_USERNAME], "");
    assert_null(out.attr_fields[QT_ATTR_HELO_NAME]);
    assert_int_equal(out.arrival, m.arrival);
    assert_int_equal(out.create_time, m.create_time);
    assert_int_equal(out.mtime, -5);
    assert_int_equal(out.msg_size, 12345);
    assert_int_equal(out.file_size, 13000);
    assert_int_equal(out.content_size, 12000);
    assert_int_equal(out.data_offset, 700);
    assert_int_equal(out.nrcpts, 2);
    assert_string_equal(out.rcpts[0].address, "a@example.net");
    assert_null(out.rcpts[0].orig);
    assert_string_equal(out.rcpts[0].reason, r[0].reason);
    assert_string_equal(out.rcpts[0].status, "4.4.1");
    assert_int_equal(out.rcpts[0].state, QT_RCPT_PENDING);
    assert_false(out.rcpts[0].bounced);
    assert_string_equal(out.rcpts[1].orig, "B@Example.org");
    assert_int_equal(out.rcpts[1].state, QT_RCPT_DONE);
    assert_true(out.rcpts[1].bounced);

    /* Without a prefix the ID stays bare; the null sender's flag travels. */
    m.null_sender = true;
    m.sender = "MAILER-DAEMON";
    m.nrcpts = 0;
    m.attrs = NULL;
    m.attrs_len = 0;
    assert_true(round_trip(&m, NULL, QT_FLEET_MAX_LINE, &line, &ff, &a, &out, &err));
    assert_string_equal(out.id, "3F4ADA72165");
    assert_null(out.host);
    assert_true(out.null_sender);
    assert_int_equal(out.nrcpts, 0);
    assert_null(out.attrs);

    /* Updates and gone lines. */
    qt_buf_reset(&line);
    m.queue = QT_Q_DEFERRED;
    m.mtime = 1796470299;
    qt_fleet_encode_update(&line, &m);
    line.data[--line.len] = '\0';
    assert_true(qt_fleet_split(line.data, line.len, &ff, &err));
    assert_true(qt_fleet_decode_update(&ff, "mx2", &a, &out, &err));
    assert_string_equal(out.id, "mx2:3F4ADA72165");
    assert_int_equal(out.queue, QT_Q_DEFERRED);
    assert_int_equal(out.mtime, 1796470299);
    assert_true(out.forced_expire);

    qt_buf_free(&line);
    qt_fleet_fields_free(&ff);
    qt_arena_free(&a);
}

/* Each of these is refused with a reason, never taken in part. */
/* The dictionary: a string is sent, then defined, then referred to; the
 * client's copy gives the same message each time, and references it does
 * not hold, or definitions past its limits, are protocol errors. */
static void test_dictionary(void **state)
{
    struct qt_msg_data m, out;
    struct qt_rcpt_data r[2];
    struct qt_buf line = {0};
    struct qt_fleet_fields ff = {0};
    struct qt_fleet_dict dict = {0};
    struct qt_fleet_dict_enc enc = {0};
    struct qt_arena a = {0};
    struct qt_error err = {""};
    size_t sizes[3];
    char bad[64];

    (void)state;
    sample(&m, r);
    ff.dict = &dict;
    for (int i = 0; i < 3; i++) {
        qt_buf_reset(&line);
        qt_fleet_encode_msg(&line, &m, QT_FLEET_MAX_LINE, &enc);
        sizes[i] = line.len;
        line.data[--line.len] = '\0';
        if (i == 1)
            assert_non_null(strstr(line.data, "\t\\=connect to x: Connection refused"));
        if (i == 2)
            assert_non_null(strstr(line.data, "\t\\#"));
        assert_true(qt_fleet_split(line.data, line.len, &ff, &err));
        assert_true(qt_fleet_decode_msg(&ff, "mx1", &a, &out, &err));
        assert_string_equal(out.sender, m.sender);
        assert_string_equal(out.subject, m.subject);
        assert_int_equal(out.attrs_len, m.attrs_len);
        assert_memory_equal(out.attrs, m.attrs, m.attrs_len);
        assert_string_equal(out.attr_fields[QT_ATTR_CLIENT_ADDRESS], "192.0.2.7");
        assert_string_equal(out.rcpts[0].reason, r[0].reason);
        assert_string_equal(out.rcpts[1].orig, "B@Example.org");
        assert_string_equal(out.rcpts[0].status, "4.4.1");
    }
    assert_int_equal(dict.n, enc.n);
    assert_true(sizes[1] > sizes[0] && sizes[2] < sizes[0] - 40);

    /* A reference past the entries, a bad number, a bad definition. */
    snprintf(bad, sizeof(bad), "E\t\\#%zu", dict.n);
    assert_false(qt_fleet_split(bad, strlen(bad), &ff, &err));
    assert_non_null(strstr(err.msg, "dictionary entry"));
    strcpy(bad, "E\t\\#1x");
    assert_false(qt_fleet_split(bad, strlen(bad), &ff, &err));
    strcpy(bad, "E\t\\=\\q");
    assert_false(qt_fleet_split(bad, strlen(bad), &ff, &err));
    /* Without a dictionary (the agent reading requests) both are garbage. */
    ff.dict = NULL;
    strcpy(bad, "E\t\\#0");
    assert_false(qt_fleet_split(bad, strlen(bad), &ff, &err));
    /* The client's limits hold whatever the agent sends. */
    {
        char big[QT_FLEET_DICT_MAX_LEN + 2];

        memset(big, 'x', sizeof(big));
        assert_false(qt_fleet_dict_define(&dict, big, sizeof(big), &err));
    }
    qt_fleet_dict_free(&dict);
    qt_fleet_dict_enc_free(&enc);
    qt_fleet_fields_free(&ff);
    qt_buf_free(&line);
    qt_arena_free(&a);
}

static void test_garbage(void **state)
{
    static const char *const bad_split[] = {
        "",                     /* no type */
        "U\tabc\\x",            /* unknown escape */
        "U\tabc\\",             /* escape at the end */
        "UU\tx",                /* a type is one letter */
    };
    struct qt_msg_data m, out;
    struct qt_rcpt_data r[2];
    struct qt_buf line = {0};
    struct qt_fleet_fields ff = {0};
    struct qt_arena a = {0};
    struct qt_error err = {""};
    size_t i;
    char buf[256];

    (void)state;
    for (i = 0; i < sizeof(bad_split) / sizeof(*bad_split); i++) {
        snprintf(buf, sizeof(buf), "%s", bad_split[i]);
        err.msg[0] = '\0';
        assert_false(qt_fleet_split(buf, strlen(buf), &ff, &err));
        assert_true(err.msg[0] != '\0');
    }

    sample(&m, r);
    /* Fields that would pass the splitter but not the decoder. */
    {
        const struct {
            const char *id;
            enum qt_queue q;
            int64_t size;
        } cases[] = {{"abc;rm", QT_Q_HOLD, 1}, {"../etc", QT_Q_HOLD, 1}};

        for (i = 0; i < 2; i++) {
            m.id = cases[i].id;
            err.msg[0] = '\0';
            assert_false(round_trip(&m, "mx1", QT_FLEET_MAX_LINE, &line, &ff, &a, &out, &err));
            assert_string_equal(err.msg, "invalid queue ID");
        }
        m.id = "3F4ADA72165";
    }
    /* A recipient count that does not match the fields. */
    snprintf(buf, sizeof(buf), "U\tABC\td\t-\t1\t2\t3\t4\t5\t6\t7\ts\t\\N\t\\N\t\\N\t\\N"
                               "\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t2\ta\t\\N\tp\t-\t\\N\t\\N");
    assert_true(qt_fleet_split(buf, strlen(buf), &ff, &err));
    assert_false(qt_fleet_decode_msg(&ff, "h", &a, &out, &err));
    assert_non_null(strstr(err.msg, "2 recipients"));
    /* A number that is not one, a queue letter that is none. */
    snprintf(buf, sizeof(buf), "U\tABC\td\t-\t1x\t2\t3\t4\t5\t6\t7\ts\t\\N\t\\N\t\\N\t\\N"
                               "\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t0");
    assert_true(qt_fleet_split(buf, strlen(buf), &ff, &err));
    assert_false(qt_fleet_decode_msg(&ff, "h", &a, &out, &err));
    snprintf(buf, sizeof(buf), "U\tABC\tq\t-\t1\t2\t3\t4\t5\t6\t7\ts\t\\N\t\\N\t\\N\t\\N"
                               "\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t0");
    assert_true(qt_fleet_split(buf, strlen(buf), &ff, &err));
    assert_false(qt_fleet_decode_msg(&ff, "h", &a, &out, &err));
    /* The same line with a good letter decodes: the cases above failed for
     * the one thing each changed. */
    snprintf(buf, sizeof(buf), "U\tABC\td\t-\t1\t2\t3\t4\t5\t6\t7\ts\t\\N\t\\N\t\\N\t\\N"
                               "\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t0");
    assert_true(qt_fleet_split(buf, strlen(buf), &ff, &err));
    assert_true(qt_fleet_decode_msg(&ff, "h", &a, &out, &err));
    assert_string_equal(out.id, "h:ABC");
    /* No sender at all. */
    snprintf(buf, sizeof(buf), "U\tABC\td\t-\t1\t2\t3\t4\t5\t6\t7\t\\N\t\\N\t\\N\t\\N\t\\N"
                               "\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t0");
    assert_true(qt_fleet_split(buf, strlen(buf), &ff, &err));
    assert_false(qt_fleet_decode_msg(&ff, "h", &a, &out, &err));
    /* An update with a field too many. */
    snprintf(buf, sizeof(buf), "P\tABC\td\t-\t5\textra");
    assert_true(qt_fleet_split(buf, strlen(buf), &ff, &err));
    assert_false(qt_fleet_decode_update(&ff, "h", &a, &out, &err));

    qt_buf_free(&line);
    qt_fleet_fields_free(&ff);
    qt_arena_free(&a);
}

/* A message with more recipients than a line may hold keeps the first
 * ones, says so, and still decodes. */
static void test_oversized(void **state)
{
    struct qt_msg_data m, out;
    struct qt_rcpt_data r[2], *many;
    struct qt_buf line = {0};
    struct qt_fleet_fields ff = {0};
    struct qt_arena a = {0};
    struct qt_error err = {""};
    size_t i, n = 5000;

    (void)state;
    sample(&m, r);
    many = calloc(n, sizeof(*many));
    for (i = 0; i < n; i++) {
        many[i].address = "someone-with-a-long-address@recipients.example.net";
        many[i].reason = "host mx.example.net said: 450 4.7.1 try again later";
    }
    m.rcpts = many;
    m.nrcpts = n;
    assert_true(round_trip(&m, "mx1", 65536, &line, &ff, &a, &out, &err));
    assert_true(line.len + 1 <= 65536);
    assert_true(out.nrcpts > 100 && out.nrcpts < n);
    assert_non_null(out.error);
    assert_non_null(strstr(out.error, "5000 recipients, only the first"));
    /* Under the real limit nothing is dropped. */
    assert_true(round_trip(&m, "mx1", QT_FLEET_MAX_LINE, &line, &ff, &a, &out, &err));
    assert_int_equal(out.nrcpts, n);
    assert_null(out.error);
    free(many);
    qt_buf_free(&line);
    qt_fleet_fields_free(&ff);
    qt_arena_free(&a);
}

static void test_handshake(void **state)
{
    struct qt_buf line = {0};
    struct qt_fleet_fields ff = {0};
    struct qt_error err = {""};
    char buf[128];

    (void)state;
    qt_fleet_hello(&line, "qtriage-agent", "0.2.0");
    line.data[--line.len] = '\0';
    assert_true(qt_fleet_split(line.data, line.len, &ff, &err));
    assert_true(qt_fleet_hello_check(&ff, "qtriage-agent", "0.2.0", &err));
    /* The wrong role (talking to a client instead of an agent). */
    assert_false(qt_fleet_hello_check(&ff, "qtriage-fleet", "0.2.0", &err));
    /* Another protocol version: refused, naming both. */
    snprintf(buf, sizeof(buf), "H\tqtriage-agent\t3\t9.9.9");
    assert_true(qt_fleet_split(buf, strlen(buf), &ff, &err));
    assert_false(qt_fleet_hello_check(&ff, "qtriage-agent", "0.2.0", &err));
    assert_string_equal(err.msg, "qtriage 9.9.9 there speaks fleet protocol 3, this qtriage "
                                 "0.2.0 speaks 2: install the same qtriage on both sides");
    /* A shell's greeting instead of a handshake. */
    snprintf(buf, sizeof(buf), "Welcome to mx1");
    assert_false(qt_fleet_split(buf, strlen(buf), &ff, &err) &&
                 qt_fleet_hello_check(&ff, "qtriage-agent", "0.2.0", &err));
    qt_buf_free(&line);
    qt_fleet_fields_free(&ff);
}

static void test_config_hosts(void **state)
{
    static const char text[] =
        "host mx1 root@mx1.example.net\n"
        "host mx2 admin@mx2.example.net config=/etc/postfix-out qtriage=/usr/local/bin/qtriage "
        "sudo=yes\n"
        "host -x root@x\n"
        "host bad!name root@x\n"
        "host local root@x\n"
        "host mx3 -oProxyCommand=evil\n"
        "host mx4 root@x config=/etc/$(reboot)\n"
        "host mx5 root@x config=relative\n"
        "host mx6 root@x qtriage=/bin/qtriage;reboot\n"
        "host mx7 root@x colour=blue\n"
        "host mx1 root@mx1-new.example.net\n"
        "ssh = ssh -F /etc/qtriage/ssh_config\n";
    struct qt_config c;

    (void)state;
    qt_config_init(&c);
    qt_config_parse(&c, "test.conf", text, sizeof(text) - 1);
    assert_int_equal(c.nhosts, 2);
    assert_string_equal(c.hosts[0].name, "mx1");
    assert_string_equal(c.hosts[0].destination, "root@mx1-new.example.net");
    assert_null(c.hosts[0].config_dir);
    assert_false(c.hosts[0].sudo);
    assert_string_equal(c.hosts[1].config_dir, "/etc/postfix-out");
    assert_string_equal(c.hosts[1].program, "/usr/local/bin/qtriage");
    assert_true(c.hosts[1].sudo);
    assert_string_equal(c.ssh, "ssh -F /etc/qtriage/ssh_config");
    assert_int_equal(c.nwarnings, 8);
    assert_non_null(strstr(c.warnings[3], "never starts with '-'"));
    assert_true(qt_config_host_name_valid("mx-1_a.b"));
    assert_false(qt_config_host_name_valid("all"));
    assert_false(qt_config_host_name_valid("a:b"));
    qt_config_free(&c);
}

/* ---- the client against agents that misbehave ---- */

static char script_dir[64];

/* A script standing in for ssh: it ignores its arguments and prints what
 * `body` prints.  /tmp is root's and sticky, so root may run it. */
static char *fake_ssh(const char *name, const char *body)
{
    char *path;
    FILE *f;

    if (!script_dir[0]) {
        snprintf(script_dir, sizeof(script_dir), "/tmp/qtriage-fleet-unit-XXXXXX");
        assert_non_null(mkdtemp(script_dir));
        chmod(script_dir, 0755);
    }
    path = xasprintf("%s/%s", script_dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n%s\n", body);
    fclose(f);
    chmod(path, 0755);
    return path;
}

struct load_errors {
    char text[2048];
};

static void keep_error(void *ctx, const char *msg)
{
    struct load_errors *e = ctx;
    size_t len = strlen(e->text);

    snprintf(e->text + len, sizeof(e->text) - len, "%s\n", msg);
}

/* Open a one-host fleet whose ssh is `ssh`, load it, return the host's
 * state and reason. */
static enum qt_host_state load_with(const char *ssh, struct qt_host_status *st,
                                    struct load_errors *errors, size_t *nmsgs)
{
    struct qt_config_host h = {.name = "mx9", .destination = "root@mx9.example"};
    struct qt_fleet_spec spec = {.hosts = &h, .nhosts = 1, .ssh = ssh};
    struct qt_feed feed;
    struct qt_store store;
    struct qt_error err = {""};
    struct qt_backend *b;

    qt_feed_init(&feed);
    qt_store_init(&store);
    b = qt_fleet_backend_new(&spec, &feed, &err);
    assert_non_null(b);
    memset(errors, 0, sizeof(*errors));
    qt_backend_load(b, &store, keep_error, errors);
    assert_int_equal(qt_fleet_status(b, st, 1), 1);
    *nmsgs = store.n;
    qt_backend_close(b);
    qt_store_free(&store);
    qt_feed_destroy(&feed);
    return st->state;
}

static void test_client_faults(void **state)
{
    struct qt_host_status st;
    struct load_errors errors;
    size_t n;
    char *s;

    (void)state;
    /* Not a handshake at all (a shell's motd). */
    s = fake_ssh("motd", "echo 'Welcome to mx9'; cat >/dev/null");
    assert_int_equal(load_with(s, &st, &errors, &n), QT_HOST_LOST);
    assert_non_null(strstr(st.reason, "protocol error on line 1"));
    assert_non_null(strstr(errors.text, "mx9: lost: protocol error"));
    free(s);

    /* Another protocol version. */
    s = fake_ssh("version", "printf 'H\\tqtriage-agent\\t7\\t9.0\\n'; cat >/dev/null");
    assert_int_equal(load_with(s, &st, &errors, &n), QT_HOST_LOST);
    assert_non_null(strstr(st.reason, "speaks fleet protocol 7"));
    free(s);

    /* A line longer than the limit: lost, whatever came before stays. */
    s = fake_ssh("oversized",
                 "printf 'H\\tqtriage-agent\\t2\\tx\\n'; read hello; read r;"
                 "printf 'U\\tABC\\td\\t-\\t1\\t2\\t3\\t4\\t5\\t6\\t7\\ts\\t\\\\N\\t\\\\N\\t\\\\N"
                 "\\t\\\\N\\t\\\\N\\t\\\\N\\t\\\\N\\t\\\\N\\t\\\\N\\t\\\\N\\t\\\\N\\t\\\\N\\t0\\n';"
                 "head -c 5000000 /dev/zero | tr '\\0' x; cat >/dev/null");
    assert_int_equal(load_with(s, &st, &errors, &n), QT_HOST_LOST);
    assert_non_null(strstr(st.reason, "longer than 4 MiB"));
    assert_int_equal(n, 1);
    free(s);

    /* Garbage after a good start. */
    s = fake_ssh("garbage",
                 "printf 'H\\tqtriage-agent\\t2\\tx\\n'; read hello; read r;"
                 "printf 'U\\tnot;an;id\\n'; cat >/dev/null");
    assert_int_equal(load_with(s, &st, &errors, &n), QT_HOST_LOST);
    assert_non_null(strstr(st.reason, "protocol error on line 2"));
    free(s);

    /* ssh failing: its last stderr line is the reason. */
    s = fake_ssh("refused", "echo 'ssh: connect to host mx9 port 22: Connection refused' >&2;"
                            " exit 255");
    assert_int_equal(load_with(s, &st, &errors, &n), QT_HOST_LOST);
    assert_string_equal(st.reason, "ssh: connect to host mx9 port 22: Connection refused");
    free(s);

    /* A well-behaved empty host. */
    s = fake_ssh("empty", "printf 'H\\tqtriage-agent\\t2\\tx\\n'; read hello; read r;"
                          "printf 'D\\t0\\t\\\\N\\n'; cat >/dev/null");
    assert_int_equal(load_with(s, &st, &errors, &n), QT_HOST_LIVE);
    assert_string_equal(errors.text, "");
    free(s);
}

static int cleanup(void **state)
{
    (void)state;
    if (script_dir[0]) {
        char *cmd[] = {"motd", "version", "oversized", "garbage", "refused", "empty"};

        for (size_t i = 0; i < sizeof(cmd) / sizeof(*cmd); i++) {
            char *p = xasprintf("%s/%s", script_dir, cmd[i]);

            unlink(p);
            free(p);
        }
        rmdir(script_dir);
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_dictionary),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_oversized),
        cmocka_unit_test(test_handshake),
        cmocka_unit_test(test_config_hosts),
        cmocka_unit_test(test_client_faults),
    };

    return cmocka_run_group_tests(tests, NULL, cleanup);
}
