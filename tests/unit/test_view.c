/* The queue list's view (view.h): filtering, every sort column in both
 * directions with the queue-ID tie-break, row lookup, the text of every
 * column (markers, retry, sizes, recipients, the shortened delay reason,
 * sanitising), durations and sizes, and column lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "qtriage/filter.h"
#include "qtriage/store.h"
#include "qtriage/util.h"
#include "qtriage/view.h"

#define NOW 1700000000

/* One message in a compact form; NULL strings are absent. */
struct spec {
    const char *id;
    enum qt_queue queue;
    int64_t age;                /* arrival = NOW - age */
    int64_t retry;              /* mtime = NOW + retry */
    int64_t size;
    const char *sender;         /* NULL: the null sender */
    const char *subject;
    const char *client, *sasl, *helo;
    const char *rcpts;          /* "+addr" pending, "-addr" done, space separated */
    const char *reason;         /* on the first pending recipient */
    bool expired, unreadable;
};

static void add_spec(struct qt_store *s, const struct spec *sp)
{
    struct qt_msg_data d;
    struct qt_rcpt_data r[32];
    char buf[512], *tok, *save = NULL;
    bool reason_set = false;

    memset(&d, 0, sizeof(d));
    memset(r, 0, sizeof(r));
    d.id = sp->id;
    d.queue = sp->queue;
    d.arrival = NOW - sp->age;
    d.create_time = d.arrival;
    d.mtime = NOW + sp->retry;
    d.msg_size = sp->size;
    d.file_size = sp->size + 600;
    d.null_sender = !sp->sender;
    d.sender = sp->sender ? sp->sender : "MAILER-DAEMON";  /* as the backends give it */
    d.subject = sp->subject;
    d.forced_expire = sp->expired;
    d.error = sp->unreadable ? "truncated file" : NULL;
    d.attr_fields[QT_ATTR_CLIENT_ADDRESS] = sp->client;
    d.attr_fields[QT_ATTR_SASL_USERNAME] = sp->sasl;
    d.attr_fields[QT_ATTR_HELO_NAME] = sp->helo;
    snprintf(buf, sizeof(buf), "%s", sp->rcpts ? sp->rcpts : "");
    for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        struct qt_rcpt_data *rd = &r[d.nrcpts++];

        assert_true(d.nrcpts <= 32);
        rd->address = tok + 1;
        rd->state = tok[0] == '+' ? QT_RCPT_PENDING : QT_RCPT_DONE;
        if (rd->state == QT_RCPT_PENDING && !reason_set) {
            rd->reason = sp->reason;
            reason_set = true;
        }
    }
    d.rcpts = r;
    qt_store_upsert(s, &d);
}

/* Five messages with ties in nearly every column (see the orders below). */
static const struct spec five[] = {
    {"A1", QT_Q_DEFERRED, 500, 600, 3000, "carol@c.example", "Re: invoice", "192.0.2.30",
     "carol", "c.example", "+dave@d.example",
     "connect to mx.d.example[192.0.2.4]:25: Connection refused", false, false},
    {"B2", QT_Q_HOLD, 100, -1000, 500, NULL, "Undelivered Mail", NULL, NULL, NULL,
     "+alice@a.example", NULL, true, false},
    {"C3", QT_Q_DEFERRED, 500, 60, 3000, "Alice@a.example", "cheap meds", "192.0.2.10", "alice",
     "a.example", "-zz@z.example +bob@b.example", "Mailbox full", true, false},
    {"D4", QT_Q_ACTIVE, 900, 60, 10, "carol@c.example", "Cheap meds", "192.0.2.10", NULL,
     "a.example", "+Bob@b.example", "host mx said: 450 Greylisted", false, false},
    {"E5", QT_Q_INCOMING, 50, -5, 1 << 20, "bob@b.example", NULL, "2001:db8::1", "bob", NULL,
     NULL, NULL, false, true},
};

/* Ascending order of `five` for each column: keys compared as documented
 * (numbers; strings with ASCII case folded, absent last), ties by ID. */
static const char *const five_order[QT_COL_COUNT] = {
    [QT_COL_ID] = "A1 B2 C3 D4 E5",
    [QT_COL_QUEUE] = "E5 D4 A1 C3 B2",     /* incoming active deferred deferred hold */
    [QT_COL_AGE] = "D4 A1 C3 B2 E5",       /* oldest first */
    [QT_COL_RETRY] = "B2 E5 C3 D4 A1",     /* by mtime, whatever the queue */
    [QT_COL_SIZE] = "D4 B2 A1 C3 E5",
    [QT_COL_SENDER] = "C3 E5 A1 D4 B2",    /* Alice bob carol carol MAILER-DAEMON */
    [QT_COL_RCPT] = "B2 C3 D4 A1 E5",      /* bob = Bob; E5 has none */
    [QT_COL_SUBJECT] = "C3 D4 A1 B2 E5",   /* cheap = Cheap */
    [QT_COL_REASON] = "A1 D4 C3 B2 E5",    /* raw reasons; B2 and E5 have none */
    [QT_COL_CLIENT] = "C3 D4 A1 E5 B2",
    [QT_COL_SASL] = "C3 E5 A1 B2 D4",
    [QT_COL_HELO] = "C3 D4 A1 B2 E5",
    [QT_COL_HOST] = "A1 B2 C3 D4 E5",     /* none has a host: the ID decides */
};

static void fill_five(struct qt_store *s, bool backwards)
{
    size_t i, n = QT_ARRAY_LEN(five);

    qt_store_init(s);
    for (i = 0; i < n; i++)
        add_spec(s, &five[backwards ? n - 1 - i : i]);
}

/* The IDs of the view's rows, space separated. */
static const char *view_ids(const struct qt_view *v, const struct qt_store *s)
{
    static char out[65536];
    size_t i, len = 0;

    out[0] = '\0';
    for (i = 0; i < v->n; i++) {
        assert_true(v->rows[i] < s->n);
        len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s", i ? " " : "",
                                qt_store_str(s, s->msgs[v->rows[i]].id));
        assert_true(len < sizeof(out));
    }
    return out;
}

static void reverse_words(const char *in, char *out, size_t size)
{
    char tmp[256], *words[64], *save = NULL, *w;
    size_t n = 0, len = 0;

    snprintf(tmp, sizeof(tmp), "%s", in);
    for (w = strtok_r(tmp, " ", &save); w; w = strtok_r(NULL, " ", &save))
        words[n++] = w;
    out[0] = '\0';
    while (n--)
        len += (size_t)snprintf(out + len, size - len, "%s%s", len ? " " : "", words[n]);
}

static struct qt_filter *compile_ok(const char *query)
{
    struct qt_filter_error err;
    struct qt_filter *f = qt_filter_compile(query, &err);

    if (!f)
        fail_msg("'%s' did not compile: %s at %zu", query, err.msg, err.pos);
    return f;
}

static void test_default_sort_is_age(void **state)
{
    struct qt_view v;

    (void)state;
    qt_view_init(&v);
    assert_int_equal(v.sort, QT_COL_AGE);
    assert_false(v.reverse);
    assert_int_equal(v.n, 0);
    qt_view_free(&v);
}

/* Every column, both directions, from two stores holding the same messages
 * inserted in opposite orders: the rows come out the same. */
static void test_sort_every_column(void **state)
{
    struct qt_store fwd, bwd;
    struct qt_view v;
    char want[256];
    int c;

    (void)state;
    fill_five(&fwd, false);
    fill_five(&bwd, true);
    qt_view_init(&v);
    for (c = 0; c < QT_COL_COUNT; c++) {
        v.sort = (enum qt_col)c;
        v.reverse = false;
        qt_view_rebuild(&v, &fwd, NULL, NOW);
        if (strcmp(view_ids(&v, &fwd), five_order[c]) != 0)
            fail_msg("sort by %s: %s, want %s", qt_col_info[c].name, view_ids(&v, &fwd),
                     five_order[c]);
        qt_view_rebuild(&v, &bwd, NULL, NOW);
        if (strcmp(view_ids(&v, &bwd), five_order[c]) != 0)
            fail_msg("sort by %s (other insertion order): %s, want %s", qt_col_info[c].name,
                     view_ids(&v, &bwd), five_order[c]);
        /* Reverse is the exact mirror image, ties included. */
        v.reverse = true;
        reverse_words(five_order[c], want, sizeof(want));
        qt_view_rebuild(&v, &fwd, NULL, NOW);
        if (strcmp(view_ids(&v, &fwd), want) != 0)
            fail_msg("reverse sort by %s: %s, want %s", qt_col_info[c].name,
                     view_ids(&v, &fwd), want);
        qt_view_rebuild(&v, &bwd, NULL, NOW);
        assert_string_equal(view_ids(&v, &bwd), want);
    }
    qt_view_free(&v);
    qt_store_free(&fwd);
    qt_store_free(&bwd);
}

static void test_filter_and_row_of(void **state)
{
    struct qt_store s;
    struct qt_view v;
    struct qt_filter *f;
    long b2, d4;

    (void)state;
    fill_five(&s, false);
    qt_view_init(&v);
    b2 = qt_store_find(&s, "B2");
    d4 = qt_store_find(&s, "D4");

    f = compile_ok("sender:carol");
    qt_view_rebuild(&v, &s, f, NOW);
    assert_string_equal(view_ids(&v, &s), "D4 A1");
    assert_int_equal(qt_view_row_of(&v, (uint32_t)d4), 0);
    assert_int_equal(qt_view_row_of(&v, (uint32_t)b2), -1);
    assert_int_equal(qt_view_row_of(&v, 12345), -1);
    qt_filter_free(f);

    f = compile_ok("not queue=hold and not queue=incoming");
    v.sort = QT_COL_SIZE;
    v.reverse = true;
    qt_view_rebuild(&v, &s, f, NOW);
    assert_string_equal(view_ids(&v, &s), "C3 A1 D4");
    qt_filter_free(f);

    /* "age" is measured from the `now` given to rebuild. */
    f = compile_ok("age>=500");
    v.sort = QT_COL_ID;
    v.reverse = false;
    qt_view_rebuild(&v, &s, f, NOW);
    assert_string_equal(view_ids(&v, &s), "A1 C3 D4");
    qt_view_rebuild(&v, &s, f, NOW + 400);
    assert_string_equal(view_ids(&v, &s), "A1 B2 C3 D4");
    qt_filter_free(f);

    /* The empty query and NULL both show everything. */
    f = compile_ok("");
    qt_view_rebuild(&v, &s, f, NOW);
    assert_string_equal(view_ids(&v, &s), "A1 B2 C3 D4 E5");
    qt_filter_free(f);
    qt_view_rebuild(&v, &s, NULL, NOW);
    assert_string_equal(view_ids(&v, &s), "A1 B2 C3 D4 E5");
    assert_int_equal(qt_view_row_of(&v, (uint32_t)b2), 1);

    /* Nothing matches. */
    f = compile_ok("sender:nobody.example");
    qt_view_rebuild(&v, &s, f, NOW);
    assert_int_equal(v.n, 0);
    assert_int_equal(qt_view_row_of(&v, (uint32_t)b2), -1);
    qt_filter_free(f);

    /* The store shrinks (message numbers move) and grows again. */
    assert_true(qt_store_remove(&s, "A1"));
    assert_true(qt_store_remove(&s, "C3"));
    qt_view_rebuild(&v, &s, NULL, NOW);
    assert_string_equal(view_ids(&v, &s), "B2 D4 E5");
    add_spec(&s, &five[0]);
    add_spec(&s, &five[2]);
    v.sort = QT_COL_QUEUE;
    qt_view_rebuild(&v, &s, NULL, NOW);
    assert_string_equal(view_ids(&v, &s), five_order[QT_COL_QUEUE]);
    qt_view_free(&v);
    qt_store_free(&s);
}

/* An empty store (an empty queue, or the first frame before any scan batch)
 * gives an empty view.  Regression: with a fresh view v->rows was still
 * NULL and went to qsort_r(), whose first argument glibc declares nonnull
 * (UBSan aborted there). */
static void test_empty_store(void **state)
{
    struct qt_store s;
    struct qt_view v;
    int c;

    (void)state;
    qt_store_init(&s);
    qt_view_init(&v);
    for (c = 0; c < QT_COL_COUNT; c++) {
        v.sort = (enum qt_col)c;
        qt_view_rebuild(&v, &s, NULL, NOW);
        assert_int_equal(v.n, 0);
    }
    assert_int_equal(qt_view_row_of(&v, 0), -1);
    qt_view_free(&v);
    qt_store_free(&s);
}

/* ---- A big store with many ties: check the order against the documented
 * comparison for every adjacent pair. */

static const char *opt_str(const struct qt_store *s, qt_str ref)
{
    return ref ? qt_store_str(s, ref) : NULL;
}

static const char *ref_first_rcpt(const struct qt_store *s, const struct qt_msg *m)
{
    uint32_t i;

    for (i = 0; i < m->nrcpts; i++)
        if (qt_store_rcpts(s, m)[i].state == QT_RCPT_PENDING)
            return opt_str(s, qt_store_rcpts(s, m)[i].address);
    return m->nrcpts ? opt_str(s, qt_store_rcpts(s, m)[0].address) : NULL;
}

static int ref_cmp_str(const char *a, const char *b)
{
    if (!a || !b)
        return (a == NULL) - (b == NULL);   /* absent last */
    return strcasecmp(a, b);
}

static int ref_cmp_num(uint64_t a, uint64_t b)
{
    return a < b ? -1 : a > b;
}

/* <0, 0, >0 as message a sorts before, with or after b by `col` ascending,
 * ID tie-break included. */
static int ref_compare(const struct qt_store *s, enum qt_col col, const struct qt_msg *a,
                       const struct qt_msg *b)
{
    int r = 0;

    switch (col) {
    case QT_COL_ID:
    case QT_COL_COUNT:
        break;
    case QT_COL_HOST:
        r = ref_cmp_str(opt_str(s, a->host), opt_str(s, b->host));
        break;
    case QT_COL_QUEUE:
        r = ref_cmp_num(a->queue, b->queue);
        break;
    case QT_COL_AGE:
        r = ref_cmp_num(a->arrival, b->arrival);
        break;
    case QT_COL_RETRY:
        r = ref_cmp_num(a->mtime, b->mtime);
        break;
    case QT_COL_SIZE:
        r = ref_cmp_num(a->msg_size, b->msg_size);
        break;
    case QT_COL_SENDER:
        r = ref_cmp_str(opt_str(s, a->sender), opt_str(s, b->sender));
        break;
    case QT_COL_RCPT:
        r = ref_cmp_str(ref_first_rcpt(s, a), ref_first_rcpt(s, b));
        break;
    case QT_COL_SUBJECT:
        r = ref_cmp_str(opt_str(s, a->subject), opt_str(s, b->subject));
        break;
    case QT_COL_REASON:
        r = ref_cmp_str(opt_str(s, a->reason), opt_str(s, b->reason));
        break;
    case QT_COL_CLIENT:
        r = ref_cmp_str(opt_str(s, a->attr_fields[QT_ATTR_CLIENT_ADDRESS]),
                        opt_str(s, b->attr_fields[QT_ATTR_CLIENT_ADDRESS]));
        break;
    case QT_COL_SASL:
        r = ref_cmp_str(opt_str(s, a->attr_fields[QT_ATTR_SASL_USERNAME]),
                        opt_str(s, b->attr_fields[QT_ATTR_SASL_USERNAME]));
        break;
    case QT_COL_HELO:
        r = ref_cmp_str(opt_str(s, a->attr_fields[QT_ATTR_HELO_NAME]),
                        opt_str(s, b->attr_fields[QT_ATTR_HELO_NAME]));
        break;
    }
    return r ? r : strcmp(qt_store_str(s, a->id), qt_store_str(s, b->id));
}

#define BIG 3000

static void fill_big(struct qt_store *s, int order)
{
    static const char *senders[] = {"flood@spam.example", "Flood@Spam.example",
                                    "ceo@corp.example", "news@list.example", NULL};
    static const char *subjects[] = {"Cheap meds", "cheap MEDS", "Invoice", NULL,
                                     "件名 テスト"};
    static const char *clients[] = {"192.0.2.1", "192.0.2.10", "198.51.100.7", NULL};
    static const char *reasons[] = {
        "connect to mx.corp.example[192.0.2.5]:25: Connection refused",
        "host mx.list.example[198.51.100.9] said: 450 4.2.0 Greylisted", NULL,
        "delivery temporarily suspended: lost connection with mx.corp.example"};
    static const enum qt_queue queues[] = {QT_Q_DEFERRED, QT_Q_HOLD, QT_Q_ACTIVE,
                                           QT_Q_INCOMING, QT_Q_DEFERRED};
    char id[16], rcpts[128];
    int k;

    qt_store_init(s);
    for (k = 0; k < BIG; k++) {
        /* order 0: ascending; 1: descending; 2: a scrambled permutation */
        int i = order == 0 ? k : order == 1 ? BIG - 1 - k : (k * 1777) % BIG;
        struct spec sp = {0};

        snprintf(id, sizeof(id), "%X", 0xA0000 + i * 37);
        snprintf(rcpts, sizeof(rcpts), "%s+%s@rcpt%d.example +x@y.example",
                 i % 4 == 0 ? "-done@corp.example " : "", i % 2 ? "U" : "u", i % 7);
        sp.id = id;
        sp.queue = queues[i % 5];
        sp.age = (i % 13) * 3600;
        sp.retry = (i % 11) * 300 - 1000;
        sp.size = (i % 6) * 1000;
        sp.sender = senders[i % 5];
        sp.subject = subjects[i % 5 == 4 ? 4 : i % 4];
        sp.client = clients[i % 4];
        sp.sasl = i % 3 ? NULL : "bob";
        sp.helo = i % 9 ? "mail.example" : NULL;
        sp.rcpts = i % 17 ? rcpts : NULL;
        sp.reason = reasons[i % 4];
        add_spec(s, &sp);
    }
}

static void test_total_order_big(void **state)
{
    struct qt_store st[3];
    struct qt_view v;
    char *first = NULL;
    int o, c, rev;

    (void)state;
    for (o = 0; o < 3; o++)
        fill_big(&st[o], o);
    qt_view_init(&v);
    for (c = 0; c < QT_COL_COUNT; c++) {
        for (rev = 0; rev < 2; rev++) {
            v.sort = (enum qt_col)c;
            v.reverse = rev;
            for (o = 0; o < 3; o++) {
                const struct qt_store *s = &st[o];
                unsigned char *seen = calloc(s->n, 1);
                size_t i;

                assert_non_null(seen);
                qt_view_rebuild(&v, s, NULL, NOW);
                assert_int_equal(v.n, BIG);
                for (i = 0; i < v.n; i++) {
                    assert_true(v.rows[i] < s->n);
                    assert_int_equal(seen[v.rows[i]], 0);
                    seen[v.rows[i]] = 1;
                    if (i > 0) {
                        int r = ref_compare(s, (enum qt_col)c, &s->msgs[v.rows[i - 1]],
                                            &s->msgs[v.rows[i]]);

                        if (rev ? r <= 0 : r >= 0)
                            fail_msg("sort by %s%s: row %zu (%s) and row %zu (%s) out of "
                                     "order", qt_col_info[c].name, rev ? " reversed" : "",
                                     i - 1, qt_store_str(s, s->msgs[v.rows[i - 1]].id), i,
                                     qt_store_str(s, s->msgs[v.rows[i]].id));
                    }
                    if (i % 37 == 0)    /* row_of is a linear search */
                        assert_int_equal(qt_view_row_of(&v, v.rows[i]), (long)i);
                }
                free(seen);
                /* Same ID sequence whatever order the store holds them in. */
                if (o == 0) {
                    free(first);
                    first = strdup(view_ids(&v, s));
                } else if (strcmp(first, view_ids(&v, s)) != 0) {
                    fail_msg("sort by %s%s differs with insertion order %d",
                             qt_col_info[c].name, rev ? " reversed" : "", o);
                }
            }
        }
    }
    free(first);
    qt_view_free(&v);
    for (o = 0; o < 3; o++)
        qt_store_free(&st[o]);
}

/* ---- Cells */

static const char *cell(const struct qt_store *s, const char *id, enum qt_col col)
{
    static char out[1024];
    struct qt_buf b = {0};
    long i = qt_store_find(s, id);

    assert_true(i >= 0);
    qt_view_cell(s, &s->msgs[i], col, NOW, &b);
    snprintf(out, sizeof(out), "%s", b.data ? b.data : "");
    assert_int_equal(strlen(out), b.len);
    qt_buf_free(&b);
    return out;
}

#define assert_cell(s, id, col, want)                                                     \
    do {                                                                                  \
        const char *got_ = cell(s, id, col);                                              \
        if (strcmp(got_, want) != 0)                                                      \
            fail_msg("%s of %s: \"%s\", want \"%s\"", qt_col_info[col].name, id, got_,    \
                     want);                                                               \
    } while (0)

static void test_cells_basic(void **state)
{
    static const struct spec more[] = {
        /* deferred, retry time reached or passed: "due" */
        {"F6", QT_Q_DEFERRED, 10, 0, 1023, "x@y", NULL, NULL, NULL, NULL,
         "-a@done.example -b@done.example", NULL, false, false},
        {"F7", QT_Q_DEFERRED, -60, -30, 1024, "x@y", "", NULL, NULL, NULL,
         "+p1@x +p2@x -d@x +p3@x", NULL, false, false},
        {"F8", QT_Q_CORRUPT, 86400 * 8 + 3600 * 5, 100, 0, "x@y", NULL, NULL, NULL, NULL, NULL,
         NULL, true, true},
        {"F9", QT_Q_MAILDROP, 3 * 86400 + 4 * 3600 + 59, 100, 3 * 1048576 + 419431, "x@y",
         NULL, NULL, NULL, NULL, NULL, NULL, false, false},
    };
    struct qt_store s;
    size_t i;

    (void)state;
    fill_five(&s, false);
    for (i = 0; i < QT_ARRAY_LEN(more); i++)
        add_spec(&s, &more[i]);

    /* ID with Postfix's markers: * active, ! hold, # forced to expire. */
    assert_cell(&s, "A1", QT_COL_ID, "A1");
    assert_cell(&s, "B2", QT_COL_ID, "B2!#");
    assert_cell(&s, "C3", QT_COL_ID, "C3#");
    assert_cell(&s, "D4", QT_COL_ID, "D4*");
    assert_cell(&s, "E5", QT_COL_ID, "E5");
    assert_cell(&s, "F8", QT_COL_ID, "F8#");

    assert_cell(&s, "A1", QT_COL_QUEUE, "deferred");
    assert_cell(&s, "B2", QT_COL_QUEUE, "hold");
    assert_cell(&s, "D4", QT_COL_QUEUE, "active");
    assert_cell(&s, "E5", QT_COL_QUEUE, "incoming?");  /* unreadable */
    assert_cell(&s, "F8", QT_COL_QUEUE, "corrupt?");
    assert_cell(&s, "F9", QT_COL_QUEUE, "maildrop");

    assert_cell(&s, "A1", QT_COL_AGE, "8m20s");
    assert_cell(&s, "B2", QT_COL_AGE, "1m40s");
    assert_cell(&s, "D4", QT_COL_AGE, "15m");
    assert_cell(&s, "E5", QT_COL_AGE, "50s");
    assert_cell(&s, "F7", QT_COL_AGE, "0s");          /* arrival in the future */
    assert_cell(&s, "F8", QT_COL_AGE, "1w1d");
    assert_cell(&s, "F9", QT_COL_AGE, "3d4h");

    /* RETRY only for deferred mail. */
    assert_cell(&s, "A1", QT_COL_RETRY, "10m");
    assert_cell(&s, "C3", QT_COL_RETRY, "1m");
    assert_cell(&s, "F6", QT_COL_RETRY, "due");       /* mtime == now */
    assert_cell(&s, "F7", QT_COL_RETRY, "due");       /* mtime in the past */
    assert_cell(&s, "B2", QT_COL_RETRY, "");          /* hold, mtime in the past */
    assert_cell(&s, "D4", QT_COL_RETRY, "");          /* active, mtime in the future */
    assert_cell(&s, "E5", QT_COL_RETRY, "");
    assert_cell(&s, "F8", QT_COL_RETRY, "");
    assert_cell(&s, "F9", QT_COL_RETRY, "");

    assert_cell(&s, "D4", QT_COL_SIZE, "10");
    assert_cell(&s, "B2", QT_COL_SIZE, "500");
    assert_cell(&s, "F6", QT_COL_SIZE, "1023");
    assert_cell(&s, "F7", QT_COL_SIZE, "1.0K");
    assert_cell(&s, "A1", QT_COL_SIZE, "2.9K");
    assert_cell(&s, "E5", QT_COL_SIZE, "1.0M");
    assert_cell(&s, "F8", QT_COL_SIZE, "0");
    assert_cell(&s, "F9", QT_COL_SIZE, "3.4M");

    assert_cell(&s, "A1", QT_COL_SENDER, "carol@c.example");
    assert_cell(&s, "B2", QT_COL_SENDER, "MAILER-DAEMON");
    {
        /* The flag decides, whatever text came with it. */
        struct qt_msg_data d = {.id = "NUL1", .queue = QT_Q_DEFERRED, .null_sender = true,
                                .sender = ""};

        qt_store_upsert(&s, &d);
        assert_cell(&s, "NUL1", QT_COL_SENDER, "MAILER-DAEMON");
    }

    /* First pending recipient, "+N" for the other pending ones. */
    assert_cell(&s, "A1", QT_COL_RCPT, "dave@d.example");
    assert_cell(&s, "C3", QT_COL_RCPT, "bob@b.example");      /* the done one skipped */
    assert_cell(&s, "F7", QT_COL_RCPT, "p1@x +2");            /* a done one not counted */
    assert_cell(&s, "F6", QT_COL_RCPT, "a@done.example");     /* all done: the first */
    assert_cell(&s, "E5", QT_COL_RCPT, "");                   /* none */

    assert_cell(&s, "C3", QT_COL_SUBJECT, "cheap meds");
    assert_cell(&s, "E5", QT_COL_SUBJECT, "");
    assert_cell(&s, "F7", QT_COL_SUBJECT, "");

    assert_cell(&s, "C3", QT_COL_CLIENT, "192.0.2.10");
    assert_cell(&s, "E5", QT_COL_CLIENT, "2001:db8::1");
    assert_cell(&s, "B2", QT_COL_CLIENT, "");
    assert_cell(&s, "A1", QT_COL_SASL, "carol");
    assert_cell(&s, "D4", QT_COL_SASL, "");
    assert_cell(&s, "C3", QT_COL_HELO, "a.example");
    assert_cell(&s, "E5", QT_COL_HELO, "");
    qt_store_free(&s);
}

/* Many recipients: "+N" counts pending ones only. */
static void test_cells_many_rcpts(void **state)
{
    struct qt_store s;
    struct spec sp = {"1ABCD", QT_Q_DEFERRED, 0, 0, 0, "a@b", NULL, NULL, NULL, NULL, NULL, NULL,
                      false, false};
    char rcpts[512];
    size_t len = 0;
    int i;

    (void)state;
    for (i = 0; i < 12; i++)
        len += (size_t)snprintf(rcpts + len, sizeof(rcpts) - len, "%cu%d@x.example ",
                                i < 3 ? '-' : '+', i);
    sp.rcpts = rcpts;
    qt_store_init(&s);
    add_spec(&s, &sp);
    assert_cell(&s, "1ABCD", QT_COL_RCPT, "u3@x.example +8");
    qt_store_free(&s);
}

/* The delay reason puts the answer first and the host after it. */
static void test_cells_reason(void **state)
{
    static const struct {
        const char *reason, *want;
    } cases[] = {
        {"connect to mx.corp.example[192.0.2.5]:25: Connection refused",
         "Connection refused (mx.corp.example[192.0.2.5]:25)"},
        {"connect to mx.corp.example[2001:db8::25]:25: Connection timed out",
         "Connection timed out (mx.corp.example[2001:db8::25]:25)"},
        {"host mx.list.example[198.51.100.9] said: 450 4.2.0 <u@list.example>: Recipient "
         "address rejected: Greylisted (in reply to RCPT TO command)",
         "450 4.2.0 <u@list.example>: Recipient address rejected: Greylisted (in reply to "
         "RCPT TO command) (mx.list.example[198.51.100.9])"},
        {"host mx said: 421 Try later", "421 Try later (mx)"},
        {"delivery temporarily suspended: connect to mx.corp.example[192.0.2.5]:25: "
         "Connection refused",
         "Connection refused (mx.corp.example[192.0.2.5]:25)"},
        {"delivery temporarily suspended: host mx.x[192.0.2.7] said: 452 Too many",
         "452 Too many (mx.x[192.0.2.7])"},
        {"delivery temporarily suspended: lost connection with mx.corp.example[192.0.2.5] "
         "while receiving the initial server greeting",
         "lost connection with mx.corp.example[192.0.2.5] while receiving the initial server "
         "greeting"},
        /* Left alone: other reasons, and prefixes without their separator. */
        {"Mailbox full (testbed)", "Mailbox full (testbed)"},
        {"connect to mx.corp.example[192.0.2.5]", "connect to mx.corp.example[192.0.2.5]"},
        {"host mx.corp.example greeted me with 554", "host mx.corp.example greeted me with 554"},
        {"delivery temporarily suspended: ", "delivery temporarily suspended: "},
        {"conversation with mx[192.0.2.5] timed out while sending RCPT TO",
         "conversation with mx[192.0.2.5] timed out while sending RCPT TO"},
        /* Hostile text in either part is sanitised. */
        {"connect to evil\x1b[31m[192.0.2.66]:25: Connection\trefused\x07",
         "Connection refused\xef\xbf\xbd (evil\xef\xbf\xbd[31m[192.0.2.66]:25)"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < QT_ARRAY_LEN(cases); i++) {
        struct qt_store s;
        struct spec sp = {"R1", QT_Q_DEFERRED, 0, 0, 0, "a@b", NULL, NULL, NULL, NULL,
                          "-done@x +p@x +q@x", cases[i].reason, false, false};

        qt_store_init(&s);
        add_spec(&s, &sp);
        assert_cell(&s, "R1", QT_COL_REASON, cases[i].want);
        qt_store_free(&s);
    }
    /* No reason: empty. */
    {
        struct qt_store s;
        struct spec sp = {"R2", QT_Q_DEFERRED, 0, 0, 0, "a@b", NULL, NULL, NULL, NULL, "+p@x",
                          NULL, false, false};

        qt_store_init(&s);
        add_spec(&s, &sp);
        assert_cell(&s, "R2", QT_COL_REASON, "");
        qt_store_free(&s);
    }
}

/* True when `s` is valid UTF-8 without C0 controls, DEL or C1 controls:
 * safe to write to a terminal. */
static bool terminal_safe(const char *s, size_t len, size_t *bad_at)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        unsigned c = p[i], cp, n, k;

        if (c < 0x20 || c == 0x7f)
            return *bad_at = i, false;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            n = 2, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            n = 3, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 4, cp = c & 0x07;
        else
            return *bad_at = i, false;
        if (i + n > len)
            return *bad_at = i, false;
        for (k = 1; k < n; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return *bad_at = i, false;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
            return *bad_at = i, false;
        i += n;
    }
    return true;
}

static void test_cells_sanitised(void **state)
{
    /* ESC sequences (CSI, OSC 52 clipboard write, title), C1 CSI both as
     * UTF-8 (U+009B) and as a raw byte, DEL, a NEL, tabs and newlines,
     * invalid and truncated UTF-8, an overlong '/', a surrogate. */
    static const char subject[] = "\x1b[2J\x1b]0;pwned\x07Hi \xc2\x9b" "31m \x9b" "1;1H "
                                  "\xff\xfe\x7f\r\n\tthere \xc0\xaf \xed\xa0\x80 "
                                  "\xc2\x85 caf\xc3\xa9 \xe2\x80";
    static const struct spec hostile = {
        "H0STILE", QT_Q_DEFERRED, 0, 10, 100, "evil\x1b]52;c;cm0gLXJm\x07@spam.example",
        subject, "192.0.2.1\x1b[K", "\xc2\x9b" "6n", "\x01\x02helo\x7f",
        "+a\x1b[1m@x.example\x0b +b@x", "connect to h\x9b[0.0.0.0]:25: \x1b[5mrefused",
        false, false};
    struct qt_store s;
    int c;

    (void)state;
    qt_store_init(&s);
    add_spec(&s, &hostile);
    for (c = 0; c < QT_COL_COUNT; c++) {
        const char *got = cell(&s, "H0STILE", (enum qt_col)c);
        size_t bad = 0;

        if (!terminal_safe(got, strlen(got), &bad))
            fail_msg("%s cell \"%s\": unsafe byte 0x%02x at %zu", qt_col_info[c].name, got,
                     (unsigned char)got[bad], bad);
    }
    /* What is fine stays. */
    assert_non_null(strstr(cell(&s, "H0STILE", QT_COL_SUBJECT), "Hi "));
    assert_non_null(strstr(cell(&s, "H0STILE", QT_COL_SUBJECT), "there"));
    assert_non_null(strstr(cell(&s, "H0STILE", QT_COL_SUBJECT), "caf\xc3\xa9"));
    /* Each control becomes U+FFFD; tab, CR and LF a blank. */
    assert_cell(&s, "H0STILE", QT_COL_HELO, "\xef\xbf\xbd\xef\xbf\xbdhelo\xef\xbf\xbd");
    assert_cell(&s, "H0STILE", QT_COL_RCPT, "a\xef\xbf\xbd[1m@x.example\xef\xbf\xbd +1");
    qt_store_free(&s);
}

/* ---- Durations and sizes */

static void test_format_duration(void **state)
{
    static const struct {
        int64_t secs;
        const char *want;
    } cases[] = {
        {0, "0s"},
        {-1, "0s"},
        {INT64_MIN, "0s"},
        {1, "1s"},
        {59, "59s"},
        {60, "1m"},
        {61, "1m1s"},
        {119, "1m59s"},
        {3599, "59m"},            /* two digits: one unit, to fit 5 columns */
        {3600, "1h"},
        {3601, "1h"},           /* two largest units: hours and minutes */
        {3660, "1h1m"},
        {86399, "23h"},
        {86400, "1d"},
        {90061, "1d1h"},
        {3 * 86400 + 4 * 3600 + 59 * 60, "3d4h"},
        {604799, "6d23h"},
        {604800, "1w"},
        {604800 + 86400, "1w1d"},
        {99 * 604800 + 6 * 86400, "99w"},
        {100 * 604800 + 6 * 86400, "100w"},  /* three-digit weeks: no second unit */
        {INT64_MAX, "15250284452471w"},
    };
    char buf[64];
    size_t i;

    (void)state;
    for (i = 0; i < QT_ARRAY_LEN(cases); i++) {
        memset(buf, 'X', sizeof(buf));
        qt_format_duration(cases[i].secs, buf, sizeof(buf));
        if (strcmp(buf, cases[i].want) != 0)
            fail_msg("duration %lld: \"%s\", want \"%s\"", (long long)cases[i].secs, buf,
                     cases[i].want);
    }
    /* A small buffer is filled and terminated, not overrun. */
    memset(buf, 'X', sizeof(buf));
    qt_format_duration(3 * 86400 + 4 * 3600, buf, 3);
    assert_string_equal(buf, "3d");
    assert_int_equal(buf[3], 'X');
    qt_format_duration(5, buf, 1);
    assert_string_equal(buf, "");
}

static void test_format_size(void **state)
{
    static const struct {
        uint64_t bytes;
        const char *want;
    } cases[] = {
        {0, "0"},
        {1, "1"},
        {512, "512"},
        {1023, "1023"},
        {1024, "1.0K"},
        {1536, "1.5K"},
        {10 * 1024 - 52, "9.9K"},
        {10 * 1024, "10K"},
        {12 * 1024 + 100, "12K"},
        {999 * 1024, "999K"},
        {1048576, "1.0M"},
        {3 * 1048576 + 419431, "3.4M"},
        {25 * 1048576, "25M"},
        {1073741824, "1.0G"},
        {UINT32_MAX, "4.0G"},    /* the store's largest size */
        {1099511627776ULL, "1.0T"},
        {5 * 1099511627776ULL, "5.0T"},
    };
    char buf[64];
    size_t i;

    (void)state;
    for (i = 0; i < QT_ARRAY_LEN(cases); i++) {
        qt_format_size(cases[i].bytes, buf, sizeof(buf));
        if (strcmp(buf, cases[i].want) != 0)
            fail_msg("size %llu: \"%s\", want \"%s\"", (unsigned long long)cases[i].bytes, buf,
                     cases[i].want);
    }
    /* Terabytes are the last unit; a huge size still comes out whole. */
    qt_format_size(UINT64_MAX, buf, sizeof(buf));
    assert_string_equal(buf, "16777216T");
    qt_format_size(123456789, buf, 3);
    assert_string_equal(buf, "11");
}

/* Regression (qt_format_size): the unit and the number of decimals
 * were chosen before rounding, so a value that rounds up to the next step is
 * printed past it: 1048575 bytes gave "1024K" instead of "1.0M" (the next
 * unit), and 10239 bytes gave "10.0K" instead of "10K".  view.h promises
 * sizes "as ls -h", which prints 1.0M and 10K there. */
static void test_size_rounding_at_unit_steps(void **state)
{
    static const struct {
        uint64_t bytes;
        const char *want;
    } cases[] = {
        {1048575, "1.0M"},              /* 1023.999K */
        {1048576 - 400, "1.0M"},        /* 1023.6K */
        {1073741823, "1.0G"},           /* 1023.999M */
        {10 * 1024 - 1, "10K"},         /* 9.999K */
        {10 * 1048576 - 1, "10M"},
    };
    char buf[64];
    size_t i;

    (void)state;
    for (i = 0; i < QT_ARRAY_LEN(cases); i++) {
        qt_format_size(cases[i].bytes, buf, sizeof(buf));
        if (strcmp(buf, cases[i].want) != 0)
            fail_msg("size %llu: \"%s\", want \"%s\"", (unsigned long long)cases[i].bytes, buf,
                     cases[i].want);
    }
}

/* Regression (qt_format_duration vs qt_col_info): AGE and RETRY are 5
 * columns wide, but two units with a two-digit first one took six
 * characters: 610 s was "10m10s", 86340 s "23h59m", which the list cut to
 * "10m10" and "23h59" (seen on screen in the RETRY column of freshly
 * deferred mail: "49m29").  Now the second unit goes when it would not fit
 * ("10m", "23h"); every duration must fit both columns. */
static void test_duration_fits_its_column(void **state)
{
    char buf[64];
    int64_t secs;
    size_t age_w = (size_t)qt_col_info[QT_COL_AGE].width;
    size_t retry_w = (size_t)qt_col_info[QT_COL_RETRY].width;

    (void)state;
    for (secs = 0; secs < 200 * 604800; secs += secs < 3 * 86400 ? 1 : 613) {
        qt_format_duration(secs, buf, sizeof(buf));
        if (strlen(buf) > age_w || strlen(buf) > retry_w)
            fail_msg("%lld s is \"%s\": %zu characters, the AGE column is %zu wide and "
                     "RETRY %zu", (long long)secs, buf, strlen(buf), age_w, retry_w);
    }
}

/* ---- Column lists */

static void test_col_info(void **state)
{
    enum qt_col col;
    int c;

    (void)state;
    for (c = 0; c < QT_COL_COUNT; c++) {
        assert_non_null(qt_col_info[c].name);
        assert_non_null(qt_col_info[c].title);
        assert_true(qt_col_info[c].width > 0 || qt_col_info[c].weight > 0);
        assert_true(qt_col_info[c].min_width > 0);
        assert_true(qt_col_info[c].width == 0 ||
                    qt_col_info[c].min_width <= qt_col_info[c].width);
        assert_true(qt_col_from_name(qt_col_info[c].name, &col));
        assert_int_equal(col, c);
    }
    assert_true(qt_col_from_name("SUBJECT", &col));
    assert_int_equal(col, QT_COL_SUBJECT);
    /* The filter language's names for the same fields. */
    assert_true(qt_col_from_name("to", &col));
    assert_int_equal(col, QT_COL_RCPT);
    assert_true(qt_col_from_name("recipient", &col));
    assert_int_equal(col, QT_COL_RCPT);
    assert_true(qt_col_from_name("from", &col));
    assert_int_equal(col, QT_COL_SENDER);
    assert_true(qt_col_from_name("sasl_username", &col));
    assert_int_equal(col, QT_COL_SASL);
    assert_false(qt_col_from_name("subjekt", &col));
    assert_false(qt_col_from_name("", &col));
}

static void expect_cols(const char *spec, const char *want)
{
    enum qt_col cols[QT_COL_COUNT];
    struct qt_error err = {{0}};
    struct qt_buf b = {0};
    size_t n = qt_cols_parse(spec, cols, &err);

    if (n == 0)
        fail_msg("\"%s\": %s", spec, err.msg);
    qt_cols_format(cols, n, &b);
    if (strcmp(b.data, want) != 0)
        fail_msg("\"%s\" -> \"%s\", want \"%s\"", spec, b.data, want);
    qt_buf_free(&b);
}

static void expect_cols_error(const char *spec, const char *want_msg)
{
    enum qt_col cols[QT_COL_COUNT];
    struct qt_error err = {{0}};
    size_t n = qt_cols_parse(spec, cols, &err);

    if (n != 0)
        fail_msg("\"%s\" parsed (%zu columns), want an error", spec, n);
    if (!strstr(err.msg, want_msg))
        fail_msg("\"%s\": error \"%s\", want it to say \"%s\"", spec, err.msg, want_msg);
}

static void test_cols_parse(void **state)
{
    static const char all[] = "id,queue,age,retry,size,sender,rcpt,subject,reason,client,sasl,"
                              "helo";
    enum qt_col cols[QT_COL_COUNT], again[QT_COL_COUNT];
    struct qt_error err = {{0}};
    struct qt_buf b = {0};
    size_t n, m, i;

    (void)state;
    expect_cols("id,age,sender,subject", "id,age,sender,subject");
    expect_cols("id age  sender\tsubject", "id,age,sender,subject");
    expect_cols(" ,id,, age ,", "id,age");
    expect_cols("ID,Age,SENDER", "id,age,sender");
    expect_cols("to,from,sasl_username", "rcpt,sender,sasl");
    expect_cols("helo", "helo");
    expect_cols(all, all);

    expect_cols_error("id,bogus,age", "unknown column \"bogus\"");
    expect_cols_error("id,age,id", "column \"id\" is listed twice");
    expect_cols_error("rcpt,to", "column \"to\" is listed twice");   /* the same column */
    expect_cols_error("", "no columns given");
    expect_cols_error("  , ,\t", "no columns given");
    expect_cols_error("id,averyveryverylongcolumnnamethatgoesonandon",
                      "unknown column \"averyveryverylongcolumnnamethat");
    expect_cols_error("id;age", "unknown column \"id;age\"");

    /* Round trip: every column, in a scrambled order. */
    n = qt_cols_parse("host helo sasl client reason subject rcpt sender size retry age queue id",
                      cols, &err);
    assert_int_equal(n, QT_COL_COUNT);
    qt_cols_format(cols, n, &b);
    m = qt_cols_parse(b.data, again, &err);
    assert_int_equal(m, n);
    for (i = 0; i < n; i++)
        assert_int_equal(again[i], cols[i]);
    assert_string_equal(b.data, "host,helo,sasl,client,reason,subject,rcpt,sender,size,retry,"
                                "age,queue,id");
    qt_buf_free(&b);
    /* Formatting nothing appends nothing. */
    qt_cols_format(cols, 0, &b);
    assert_int_equal(b.len, 0);
    qt_buf_free(&b);
}

/* ---- Rebuilding in slices */

static const char *const slice_queries[] = {
    "", "sender:flood", "not subject:cheap", "subject~/^cheap/i or rcpt~/rcpt[36]/",
    "age<5h and size>=2000", "client=192.0.2.1 || sasl=bob", "helo:nothing",
};

/* The rows a filter and a sort must give: filter in store order, then sort
 * with the reference comparison (the queue ID breaking ties). */
struct ref_ctx {
    const struct qt_store *s;
    enum qt_col col;
    bool reverse;
};

static int ref_compare_rows(const void *pa, const void *pb, void *arg)
{
    const struct ref_ctx *c = arg;
    int r = ref_compare(c->s, c->col, &c->s->msgs[*(const uint32_t *)pa],
                        &c->s->msgs[*(const uint32_t *)pb]);

    return c->reverse ? -r : r;
}

static char *expected_ids(const struct qt_store *s, const char *query, enum qt_col col,
                          bool reverse)
{
    struct qt_filter_error err;
    struct qt_filter *f = qt_filter_compile(query, &err);
    struct ref_ctx c = {s, col, reverse};
    struct qt_view v = {0};
    size_t i;
    char *ids;

    assert_non_null(f);
    v.rows = calloc(s->n + 1, sizeof(*v.rows));
    assert_non_null(v.rows);
    for (i = 0; i < s->n; i++)
        if (qt_filter_match(f, s, &s->msgs[i], NOW))
            v.rows[v.n++] = (uint32_t)i;
    qsort_r(v.rows, v.n, sizeof(*v.rows), ref_compare_rows, &c);
    ids = strdup(view_ids(&v, s));
    free(v.rows);
    qt_filter_free(f);
    return ids;
}

/* Step with `budget` until done; returns the number of steps. */
static size_t step_to_end(struct qt_view *v, const struct qt_store *s, size_t budget)
{
    size_t steps = 0;
    int last = 0;

    while (!qt_view_rebuild_step(v, s, budget)) {
        int pct = qt_view_rebuild_percent(v);

        assert_true(qt_view_rebuilding(v));
        assert_true(pct >= last && pct <= 99);
        last = pct;
        assert_true(++steps < 10000000);
    }
    assert_false(qt_view_rebuilding(v));
    assert_int_equal(qt_view_rebuild_percent(v), 100);
    return steps;
}

static void test_slices_match_one_shot(void **state)
{
    static const size_t budgets[] = {1, 7, 1000, 100000};
    struct qt_store s;
    struct qt_view one, inc;
    size_t q, b;
    int c, rev;

    (void)state;
    fill_big(&s, 2);
    qt_view_init(&one);
    qt_view_init(&inc);
    for (c = 0; c < QT_COL_COUNT; c++)
        for (rev = 0; rev < 2; rev++)
            for (q = 0; q < sizeof(slice_queries) / sizeof(slice_queries[0]); q++) {
                struct qt_filter_error err;
                struct qt_filter *f = qt_filter_compile(slice_queries[q], &err);
                char *want = expected_ids(&s, slice_queries[q], (enum qt_col)c, rev);

                assert_non_null(f);
                one.sort = inc.sort = (enum qt_col)c;
                one.reverse = inc.reverse = rev;
                qt_view_rebuild(&one, &s, f, NOW);
                if (strcmp(view_ids(&one, &s), want) != 0)
                    fail_msg("one-shot, sort %s%s, \"%s\": rows differ from the reference",
                             qt_col_info[c].name, rev ? " reversed" : "", slice_queries[q]);
                for (b = 0; b < sizeof(budgets) / sizeof(budgets[0]); b++) {
                    size_t steps;

                    /* A fresh view (nothing cached) and a used one alike. */
                    if (b == 0) {
                        qt_view_free(&inc);
                        qt_view_init(&inc);
                        inc.sort = (enum qt_col)c;
                        inc.reverse = rev;
                    }
                    qt_view_rebuild_begin(&inc, &s, f, NOW);
                    steps = step_to_end(&inc, &s, budgets[b]);
                    if (budgets[b] == 1 && b == 0)
                        assert_true(steps > s.n);   /* it really went in slices */
                    if (strcmp(view_ids(&inc, &s), want) != 0)
                        fail_msg("budget %zu, sort %s%s, \"%s\": rows differ", budgets[b],
                                 qt_col_info[c].name, rev ? " reversed" : "",
                                 slice_queries[q]);
                }
                free(want);
                qt_filter_free(f);
            }
    qt_view_free(&one);
    qt_view_free(&inc);
    qt_store_free(&s);
}

/* Until a rebuild finishes, the rows are the last ones; a cancelled one
 * leaves them alone; a begin while one runs starts over with the new query. */
static void test_slices_cancel_and_restart(void **state)
{
    struct qt_filter_error err;
    struct qt_filter *flood = qt_filter_compile("sender:flood", &err);
    struct qt_filter *bob = qt_filter_compile("sasl=bob", &err);
    struct qt_store s;
    struct qt_view v;
    char *all, *want;

    (void)state;
    assert_non_null(flood);
    assert_non_null(bob);
    fill_big(&s, 1);
    qt_view_init(&v);
    qt_view_rebuild(&v, &s, NULL, NOW);
    all = strdup(view_ids(&v, &s));
    assert_int_equal(qt_view_rebuild_percent(&v), 100);

    qt_view_rebuild_begin(&v, &s, flood, NOW);
    assert_true(qt_view_rebuilding(&v));
    assert_false(qt_view_rebuild_step(&v, &s, 100));
    assert_string_equal(view_ids(&v, &s), all);     /* still the old rows */
    qt_view_rebuild_cancel(&v);
    assert_false(qt_view_rebuilding(&v));
    assert_true(qt_view_rebuild_step(&v, &s, 100)); /* nothing to do */
    assert_string_equal(view_ids(&v, &s), all);

    /* Typing on: each keystroke begins again before the last one ends. */
    qt_view_rebuild_begin(&v, &s, flood, NOW);
    assert_false(qt_view_rebuild_step(&v, &s, BIG / 2));
    qt_view_rebuild_begin(&v, &s, bob, NOW);
    step_to_end(&v, &s, 333);
    want = expected_ids(&s, "sasl=bob", QT_COL_AGE, false);
    assert_string_equal(view_ids(&v, &s), want);
    free(want);

    /* A new sort column mid-way: the rebuild that begins after it sorts by it. */
    v.sort = QT_COL_SUBJECT;
    v.reverse = true;
    qt_view_rebuild_begin(&v, &s, flood, NOW);
    assert_false(qt_view_rebuild_step(&v, &s, 10));
    v.sort = QT_COL_SENDER;
    v.reverse = false;
    qt_view_rebuild_begin(&v, &s, flood, NOW);
    step_to_end(&v, &s, 4096);
    want = expected_ids(&s, "sender:flood", QT_COL_SENDER, false);
    assert_string_equal(view_ids(&v, &s), want);
    free(want);

    /* A new query while the store is being sorted: the sort goes on where
     * it was (the keys typed during a long sort do not start it again). */
    {
        struct qt_view fresh;
        size_t full, resumed;

        qt_view_init(&fresh);
        fresh.sort = QT_COL_RCPT;
        qt_view_rebuild_begin(&fresh, &s, bob, NOW);
        full = step_to_end(&fresh, &s, 100);
        v.sort = QT_COL_RCPT;
        qt_view_rebuild_begin(&v, &s, flood, NOW);
        assert_false(qt_view_rebuild_step(&v, &s, 2 * BIG));
        qt_view_rebuild_cancel(&v);
        qt_view_rebuild_begin(&v, &s, bob, NOW);
        resumed = step_to_end(&v, &s, 100);
        assert_true(resumed + 40 <= full);     /* keys and runs (6000 units) not redone */
        assert_string_equal(view_ids(&v, &s), view_ids(&fresh, &s));
        want = expected_ids(&s, "sasl=bob", QT_COL_RCPT, false);
        assert_string_equal(view_ids(&v, &s), want);
        free(want);
        qt_view_free(&fresh);
    }

    free(all);
    qt_view_free(&v);
    qt_store_free(&s);
    qt_filter_free(flood);
    qt_filter_free(bob);
}

/* The store changes half way (the feed applied a batch): the rebuild starts
 * over by itself and gives the rows of the store as it is now, whether it
 * was sorting or filtering when the change came. */
static void test_slices_store_changes(void **state)
{
    struct qt_filter_error err;
    struct qt_filter *f = qt_filter_compile("not subject:invoice", &err);
    size_t at;

    (void)state;
    assert_non_null(f);
    for (at = 0; at < 4; at++) {
        struct qt_store s;
        struct qt_view v;
        struct spec sp = {"FFFF1", QT_Q_DEFERRED, 10, 100, 5, "zz@late.example", "late",
                          NULL, NULL, NULL, "+a@b.example", NULL, false, false};
        char id[16];
        char *want;
        size_t i;

        fill_big(&s, 2);
        qt_view_init(&v);
        v.sort = at % 2 ? QT_COL_SENDER : QT_COL_AGE;
        if (at >= 2)    /* sorted already: the change comes while filtering */
            qt_view_rebuild(&v, &s, NULL, NOW);
        qt_view_rebuild_begin(&v, &s, f, NOW);
        assert_false(qt_view_rebuild_step(&v, &s, BIG / 3));
        /* One message added, five removed (the last ones move into the holes). */
        add_spec(&s, &sp);
        for (i = 0; i < 5; i++) {
            snprintf(id, sizeof(id), "%X", 0xA0000 + (unsigned)(i * 400) * 37);
            assert_true(qt_store_remove(&s, id));
        }
        step_to_end(&v, &s, 500);
        {
            uint64_t total = 0;

            for (i = 0; i < s.n; i++)
                total += s.msgs[i].msg_size;
            assert_int_equal(s.total_size, total);  /* kept by upsert and remove */
        }
        want = expected_ids(&s, "not subject:invoice", v.sort, false);
        assert_string_equal(view_ids(&v, &s), want);
        assert_true(qt_view_row_of(&v, (uint32_t)qt_store_find(&s, "FFFF1")) >= 0);
        free(want);
        qt_view_free(&v);
        qt_store_free(&s);
    }
    qt_filter_free(f);
}

/* Rows past the end of a store that shrank are dropped until the rebuild. */
static void test_clip(void **state)
{
    struct qt_store s;
    struct qt_view v;
    size_t i;

    (void)state;
    fill_big(&s, 0);
    qt_view_init(&v);
    qt_view_rebuild(&v, &s, NULL, NOW);
    qt_view_clip(&v, BIG - 10);
    assert_int_equal(v.n, BIG - 10);
    for (i = 0; i < v.n; i++)
        assert_true(v.rows[i] < BIG - 10);
    qt_view_free(&v);
    qt_store_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_sort_is_age),
        cmocka_unit_test(test_sort_every_column),
        cmocka_unit_test(test_filter_and_row_of),
        cmocka_unit_test(test_total_order_big),
        cmocka_unit_test(test_cells_basic),
        cmocka_unit_test(test_cells_many_rcpts),
        cmocka_unit_test(test_cells_reason),
        cmocka_unit_test(test_cells_sanitised),
        cmocka_unit_test(test_format_duration),
        cmocka_unit_test(test_format_size),
        cmocka_unit_test(test_size_rounding_at_unit_steps),
        cmocka_unit_test(test_duration_fits_its_column),
        cmocka_unit_test(test_col_info),
        cmocka_unit_test(test_cols_parse),
        cmocka_unit_test(test_empty_store),
        cmocka_unit_test(test_slices_match_one_shot),
        cmocka_unit_test(test_slices_cancel_and_restart),
        cmocka_unit_test(test_slices_store_changes),
        cmocka_unit_test(test_clip),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
