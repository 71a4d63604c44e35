/* The store, its ID index, the string pool and the ID map. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include "qtriage/feed.h"
#include "qtriage/idmap.h"
#include "qtriage/reason.h"
#include "qtriage/store.h"
#include "qtriage/text.h"

static void make_msg(struct qt_msg_data *d, struct qt_rcpt_data *r, const char *id,
                     enum qt_queue q, const char *sender)
{
    memset(d, 0, sizeof(*d));
    memset(r, 0, 2 * sizeof(*r));
    d->id = id;
    d->queue = q;
    d->sender = sender;
    d->subject = "Cheap meds";
    d->attrs = "rewrite_context=remote\0protocol_name=ESMTP\0";
    d->attrs_len = 44;
    d->attr_fields[QT_ATTR_CLIENT_ADDRESS] = "192.0.2.1";
    d->attr_fields[QT_ATTR_SASL_USERNAME] = "bob";
    r[0].address = "a@x.example";
    r[0].reason = "connect to x: Connection refused";
    r[0].state = QT_RCPT_PENDING;
    r[1].address = "b@x.example";
    r[1].state = QT_RCPT_DONE;
    d->rcpts = r;
    d->nrcpts = 2;
    d->msg_size = 1234;
}

/* Whether `hay` holds the lowercase `needle` with ASCII case folded: the
 * plain way, to check the pool's 16-bytes-at-a-time scan against. */
static bool holds_folded(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
    size_t i, k;

    for (i = 0; i + nlen <= hlen; i++) {
        for (k = 0; k < nlen; k++)
            if (qt_ascii_fold((unsigned char)hay[i + k]) != (unsigned char)needle[k])
                break;
        if (k == nlen)
            return true;
    }
    return false;
}

struct found {
    qt_str refs[4096];
    size_t n;
};

static void note_found(void *ctx, qt_str ref)
{
    struct found *f = ctx;

    assert_true(f->n < 4096);
    assert_true(f->n == 0 || ref > f->refs[f->n - 1]);    /* once each, in order */
    f->refs[f->n++] = ref;
}

static void note_each(void *ctx, qt_str ref, const char *s, size_t len)
{
    struct found *f = ctx;

    (void)s;
    (void)len;
    note_found(f, ref);
}

/* qt_strpool_find_folded finds exactly the strings a plain search finds:
 * needles across two strings' records or in a length's bytes are no hit,
 * capitals and NULs inside strings are, and so are the last bytes of the
 * pool (the scan's tail); from an earlier len it sees only what came
 * after. */
static void test_strpool_find_folded(void **state)
{
    static const char *const needles[] = {"ab", "a", "b\x01", "xyz@", "@", "0", "zz",
                                          "\x02\x01", "q", "abab",
                                          "\x01", "\x1f" /* only in lengths */};
    static const char alphabet[] = "abAB@xyzXYZ0\x01\x02 \xc3";
    struct qt_strpool p;
    qt_str refs[3000];
    size_t nrefs = 0, i, k, half = 0;
    uint32_t seed = 12345;
    struct found got, all;

    (void)state;
    qt_strpool_init(&p);
    for (i = 0; i < 3000; i++) {
        char s[40];
        size_t len = (seed = seed * 1103515245 + 12345) >> 16 & 31;

        for (k = 0; k < len; k++)
            s[k] = alphabet[((seed = seed * 1103515245 + 12345) >> 16) % (sizeof(alphabet) - 1)];
        refs[nrefs++] = qt_strpool_add(&p, s, len);
        if (i == 1500)
            half = p.len;
    }
    memset(&got, 0, sizeof(got));
    assert_int_equal(qt_strpool_find_non_ascii(&p, half, note_found, &got), p.len);
    for (i = 0, k = 0; i < nrefs; i++) {
        const char *str = qt_strpool_get(&p, refs[i]);
        size_t j, len = qt_strpool_len(&p, refs[i]);
        bool high = false;

        for (j = 0; j < len; j++)
            high |= (unsigned char)str[j] >= 0x80;
        if (refs[i] < half || !high)
            continue;
        if (k >= got.n || got.refs[k] != refs[i])
            fail_msg("non-ASCII: string %zu missed", i);
        k++;
    }
    assert_int_equal(got.n, k);
    memset(&all, 0, sizeof(all));
    assert_int_equal(qt_strpool_each(&p, QT_STRPOOL_START, note_each, &all), p.len);
    assert_int_equal(all.n, nrefs);
    assert_memory_equal(all.refs, refs, nrefs * sizeof(*refs));
    for (i = 0; i < sizeof(needles) / sizeof(needles[0]); i++) {
        const char *n = needles[i];
        size_t nlen = strlen(n), from, want;

        for (from = QT_STRPOOL_START; from; from = from == half ? 0 : half) {
            memset(&got, 0, sizeof(got));
            assert_int_equal(qt_strpool_find_folded(&p, from, n, nlen, note_found, &got), p.len);
            want = 0;
            for (k = 0; k < nrefs; k++) {
                if (refs[k] < from ||
                    !holds_folded(qt_strpool_get(&p, refs[k]), qt_strpool_len(&p, refs[k]), n,
                                  nlen))
                    continue;
                if (want >= got.n || got.refs[want] != refs[k])
                    fail_msg("needle '%s' from %zu: string %zu missed", n, from, k);
                want++;
            }
            if (got.n != want)
                fail_msg("needle '%s' from %zu: %zu found, %zu hold it", n, from, got.n, want);
        }
    }
    qt_strpool_free(&p);
}

static void test_strpool_interns(void **state)
{
    struct qt_strpool p;
    qt_str a, b, c, e;
    char buf[32];
    int i;

    (void)state;
    qt_strpool_init(&p);
    a = qt_strpool_intern_cstr(&p, "sender@flood.example");
    b = qt_strpool_intern_cstr(&p, "sender@flood.example");
    c = qt_strpool_intern_cstr(&p, "other@flood.example");
    e = qt_strpool_intern(&p, "x\0y", 3);
    assert_int_equal(a, b);
    assert_int_not_equal(a, c);
    assert_int_equal(qt_strpool_intern_cstr(&p, NULL), 0);
    assert_int_equal(qt_strpool_len(&p, e), 3);
    assert_memory_equal(qt_strpool_get(&p, e), "x\0y", 3);
    for (i = 0; i < 100000; i++) {
        snprintf(buf, sizeof(buf), "s%d", i);
        qt_strpool_intern_cstr(&p, buf);
    }
    assert_string_equal(qt_strpool_get(&p, a), "sender@flood.example");
    assert_int_equal(qt_strpool_intern_cstr(&p, "s99999"), qt_strpool_intern_cstr(&p, "s99999"));
    assert_int_equal(p.count, 100003);
    qt_strpool_free(&p);
}

static void test_store_upsert_update_remove(void **state)
{
    struct qt_store s;
    struct qt_msg_data d;
    struct qt_rcpt_data r[2];
    const struct qt_msg *m;
    long i;

    (void)state;
    qt_store_init(&s);
    make_msg(&d, r, "4ABC1", QT_Q_DEFERRED, "flood@spam.example");
    qt_store_upsert(&s, &d);
    make_msg(&d, r, "4ABC2", QT_Q_HOLD, "flood@spam.example");
    qt_store_upsert(&s, &d);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.per_queue[QT_Q_DEFERRED], 1);
    assert_int_equal(s.per_queue[QT_Q_HOLD], 1);
    i = qt_store_find(&s, "4ABC1");
    assert_true(i >= 0);
    m = &s.msgs[i];
    /* Interned: both messages share one sender string. */
    assert_int_equal(m->sender, s.msgs[qt_store_find(&s, "4ABC2")].sender);
    assert_int_equal(m->npending, 1);
    assert_string_equal(qt_store_str(&s, m->reason), "connect to x: Connection refused");
    assert_string_equal(qt_store_attr(&s, m, "sasl_username"), "bob");
    assert_string_equal(qt_store_attr(&s, m, "protocol_name"), "ESMTP");
    assert_null(qt_store_attr(&s, m, "sasl"));
    /* Upsert replaces. */
    make_msg(&d, r, "4ABC1", QT_Q_DEFERRED, "changed@spam.example");
    qt_store_upsert(&s, &d);
    assert_int_equal(s.n, 2);
    assert_string_equal(qt_store_str(&s, s.msgs[qt_store_find(&s, "4ABC1")].sender),
                        "changed@spam.example");
    assert_true(qt_store_update(&s, "4ABC1", QT_Q_HOLD, 99, true));
    assert_int_equal(s.per_queue[QT_Q_HOLD], 2);
    assert_int_equal(s.per_queue[QT_Q_DEFERRED], 0);
    assert_true(s.msgs[qt_store_find(&s, "4ABC1")].flags & QT_MSG_FORCED_EXPIRE);
    assert_false(qt_store_update(&s, "NOPE", QT_Q_HOLD, 0, false));
    assert_true(qt_store_remove(&s, "4ABC1"));
    assert_false(qt_store_remove(&s, "4ABC1"));
    assert_int_equal(qt_store_find(&s, "4ABC1"), -1);
    assert_true(qt_store_find(&s, "4ABC2") >= 0);
    assert_int_equal(s.n, 1);
    qt_store_free(&s);
}

/* Many inserts and removals in mixed order keep the index consistent
 * (exercises deletion from clusters and wrap-around). */
static void test_store_index_churn(void **state)
{
    struct qt_store s;
    struct qt_msg_data d;
    struct qt_rcpt_data r[2];
    char id[32];
    int i;

    (void)state;
    qt_store_init(&s);
    for (i = 0; i < 20000; i++) {
        snprintf(id, sizeof(id), "%X", i * 7919);
        make_msg(&d, r, id, (enum qt_queue)(i % QT_Q_COUNT), "x@y");
        qt_store_upsert(&s, &d);
    }
    for (i = 0; i < 20000; i += 3) {
        snprintf(id, sizeof(id), "%X", i * 7919);
        assert_true(qt_store_remove(&s, id));
    }
    for (i = 0; i < 20000; i++) {
        snprintf(id, sizeof(id), "%X", i * 7919);
        if (i % 3 == 0)
            assert_int_equal(qt_store_find(&s, id), -1);
        else
            assert_string_equal(qt_store_str(&s, s.msgs[qt_store_find(&s, id)].id), id);
    }
    assert_int_equal(s.n, 20000 - 6667);
    qt_store_free(&s);
}

/* total_size is the sum of msg_size over the messages, through inserts,
 * replacements with another size, updates and removals. */
static uint64_t sum_sizes(const struct qt_store *s)
{
    uint64_t t = 0;
    size_t i;

    for (i = 0; i < s->n; i++)
        t += s->msgs[i].msg_size;
    return t;
}

static void test_store_total_size(void **state)
{
    struct qt_store s;
    struct qt_msg_data d;
    struct qt_rcpt_data r[2];
    char id[32];
    int i;

    (void)state;
    qt_store_init(&s);
    assert_int_equal(s.total_size, 0);
    for (i = 0; i < 3000; i++) {
        snprintf(id, sizeof(id), "%X", i * 104729 + 1);
        make_msg(&d, r, id, (enum qt_queue)(i % QT_Q_COUNT), "x@y");
        d.msg_size = 100 + i;
        qt_store_upsert(&s, &d);
    }
    assert_int_equal(s.total_size, 3000 * 100 + 2999 * 3000 / 2);
    assert_int_equal(s.total_size, sum_sizes(&s));
    /* Replacing a message counts its new size instead of the old one. */
    make_msg(&d, r, "1", QT_Q_HOLD, "x@y");
    d.msg_size = 5000000000LL;      /* clamped to 32 bits in the table */
    qt_store_upsert(&s, &d);
    assert_int_equal(s.total_size, sum_sizes(&s));
    assert_true(qt_store_update(&s, "1", QT_Q_DEFERRED, 7, false));
    assert_int_equal(s.total_size, sum_sizes(&s));
    for (i = 0; i < 3000; i += 2) {
        snprintf(id, sizeof(id), "%X", i * 104729 + 1);
        assert_true(qt_store_remove(&s, id));
        assert_false(qt_store_remove(&s, id));
    }
    assert_int_equal(s.total_size, sum_sizes(&s));
    for (i = 1; i < 3000; i += 2) {
        snprintf(id, sizeof(id), "%X", i * 104729 + 1);
        assert_true(qt_store_remove(&s, id));
    }
    assert_int_equal(s.n, 0);
    assert_int_equal(s.total_size, 0);
    qt_store_free(&s);
}

/* The feed makes a backend wait when QT_FEED_MAX_WAITING batches wait for
 * the owner, never loses or reorders one, and stops making it wait once
 * unblocked (a backend being closed while nobody drains). */
struct producer {
    struct qt_feed *feed;
    int nbatches;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    int i;

    for (i = 0; i < p->nbatches; i++) {
        struct qt_batch *b = qt_batch_new();
        struct qt_event *e = qt_batch_add(b, QT_EV_UPSERT);
        char id[16];

        snprintf(id, sizeof(id), "B%X", i + 1);
        e->msg.id = qt_arena_strdup(&b->arena, id);
        e->msg.sender = "s@example.com";
        e->msg.queue = QT_Q_DEFERRED;
        e->msg.msg_size = i + 1;
        qt_feed_push(p->feed, b);
    }
    return NULL;
}

static size_t waiting(struct qt_feed *f)
{
    size_t n;

    pthread_mutex_lock(&f->lock);
    n = f->waiting;
    pthread_mutex_unlock(&f->lock);
    return n;
}

static void test_feed_backpressure(void **state)
{
    struct qt_feed f;
    struct qt_store s;
    struct qt_feed_result res;
    struct producer p;
    pthread_t t;
    int i, max_seen = 0;

    (void)state;
    qt_feed_init(&f);
    qt_store_init(&s);
    p.feed = &f;
    p.nbatches = 40 * QT_FEED_MAX_WAITING;
    assert_int_equal(pthread_create(&t, NULL, produce, &p), 0);
    while (s.n < (size_t)p.nbatches) {
        struct pollfd pfd = {.fd = f.notify_fd, .events = POLLIN};
        int w;

        poll(&pfd, 1, 100);
        w = (int)waiting(&f);
        assert_true(w <= QT_FEED_MAX_WAITING);
        if (w > max_seen)
            max_seen = w;
        memset(&res, 0, sizeof(res));
        qt_feed_apply(&f, &s, &res);
        usleep(1000);           /* a slow owner: the producer must wait */
    }
    pthread_join(t, NULL);
    assert_true(max_seen >= 1);
    assert_int_equal(s.n, (size_t)p.nbatches);
    assert_int_equal(s.total_size, (uint64_t)p.nbatches * (p.nbatches + 1) / 2);
    for (i = 1; i <= p.nbatches; i++) {
        char id[16];

        snprintf(id, sizeof(id), "B%X", i);
        assert_true(qt_store_find(&s, id) >= 0);
    }

    /* Nobody drains: the producer waits at the limit until unblocked. */
    p.nbatches = 3 * QT_FEED_MAX_WAITING;
    assert_int_equal(pthread_create(&t, NULL, produce, &p), 0);
    for (i = 0; i < 200 && waiting(&f) < QT_FEED_MAX_WAITING; i++)
        usleep(5000);
    usleep(20000);
    assert_int_equal(waiting(&f), QT_FEED_MAX_WAITING);
    qt_feed_unblock(&f);
    pthread_join(t, NULL);
    assert_int_equal(waiting(&f), 3 * QT_FEED_MAX_WAITING);
    qt_store_free(&s);
    qt_feed_destroy(&f);    /* frees the batches nobody took */
}

/* Message k of the look-ahead test: every string field set, senders and
 * recipients repeating (interned once), every 7th one with 40 recipients
 * (more strings than the look-ahead hashes), IDs coming back. */
static void ahead_msg(struct qt_arena *a, int k, struct qt_msg_data *d)
{
    size_t nr = k % 7 == 0 ? 40 : 1 + (size_t)k % 3, i;
    struct qt_rcpt_data *r = qt_arena_alloc(a, nr * sizeof(*r));
    char buf[64];

    memset(d, 0, sizeof(*d));
    memset(r, 0, nr * sizeof(*r));
    snprintf(buf, sizeof(buf), "A%X", (unsigned)(k % 150));
    d->id = qt_arena_strdup(a, buf);
    d->queue = k % 5 ? QT_Q_DEFERRED : QT_Q_HOLD;
    snprintf(buf, sizeof(buf), "sender%d@example.org", k % 9);
    d->sender = qt_arena_strdup(a, buf);
    snprintf(buf, sizeof(buf), "Subject %d", k % 40);
    d->subject = qt_arena_strdup(a, buf);
    d->from = k % 2 ? "Someone <s@example.org>" : NULL;
    d->error = k % 11 == 0 ? "truncated queue file" : NULL;
    d->host = k % 3 ? "mx1" : "mx2";
    d->attrs = "rewrite_context=remote\0protocol_name=ESMTP\0";
    d->attrs_len = 44;
    snprintf(buf, sizeof(buf), "192.0.2.%d", k % 13);
    d->attr_fields[QT_ATTR_CLIENT_ADDRESS] = qt_arena_strdup(a, buf);
    d->attr_fields[QT_ATTR_SASL_USERNAME] = k % 4 ? "bob" : NULL;
    for (i = 0; i < nr; i++) {
        /* The same address comes back past what the look-ahead hashes:
         * interned once all the same. */
        snprintf(buf, sizeof(buf), "r%zu@d%d.example", i % 5, k % 6);
        r[i].address = qt_arena_strdup(a, buf);
        r[i].orig = i == 1 ? "orig@example.net" : NULL;
        snprintf(buf, sizeof(buf), "host d%d.example[192.0.2.%zu] said: 451 try %d later", k % 6,
                 i, k % 4);
        r[i].reason = i % 2 ? NULL : qt_arena_strdup(a, buf);
        r[i].status = i % 2 ? NULL : "4.0.0";
        r[i].state = i % 3 ? QT_RCPT_PENDING : QT_RCPT_DONE;
    }
    d->rcpts = r;
    d->nrcpts = nr;
    d->msg_size = 100 + k;
}

static void expect_same_str(const struct qt_store *a, qt_str ra, const struct qt_store *b,
                            qt_str rb)
{
    assert_int_equal(!ra, !rb);
    if (ra) {
        assert_int_equal(qt_strpool_len(&a->pool, ra), qt_strpool_len(&b->pool, rb));
        assert_memory_equal(qt_store_str(a, ra), qt_store_str(b, rb),
                            qt_strpool_len(&a->pool, ra));
    }
}

/* qt_feed_apply's look-ahead leaves the store exactly as upserts one by one
 * do: the same messages and strings, each distinct string interned once. */
static void test_feed_apply_looks_ahead(void **state)
{
    static const size_t sizes[] = {1, 2, 5, 700, 3, 300};
    struct qt_feed f;
    struct qt_store ahead, plain;
    struct qt_feed_result res = {0};
    struct qt_batch *batches[6];
    size_t bi, i, n;
    int k = 0;

    (void)state;
    qt_feed_init(&f);
    qt_feed_unblock(&f);
    qt_store_init(&ahead);
    qt_store_init(&plain);
    for (bi = 0; bi < 6; bi++) {
        struct qt_batch *b = batches[bi] = qt_batch_new();

        for (i = 0; i < sizes[bi]; i++, k++) {
            struct qt_event *e;

            if (k % 17 == 5) {          /* gone, between upserts */
                e = qt_batch_add(b, QT_EV_GONE);
                e->msg.id = qt_arena_strdup(&b->arena, "A3");
            } else if (k % 13 == 4) {
                e = qt_batch_add(b, QT_EV_UPDATE);
                e->msg.id = qt_arena_strdup(&b->arena, "A8");
                e->msg.queue = QT_Q_ACTIVE;
            } else {
                ahead_msg(&b->arena, k, &qt_batch_add(b, QT_EV_UPSERT)->msg);
            }
        }
    }
    /* The same events, one by one, before the feed frees them. */
    for (bi = 0; bi < 6; bi++)
        for (i = 0; i < batches[bi]->n; i++) {
            const struct qt_event *e = &batches[bi]->ev[i];

            if (e->kind == QT_EV_UPSERT)
                qt_store_upsert(&plain, &e->msg);
            else if (e->kind == QT_EV_UPDATE)
                qt_store_update(&plain, e->msg.id, e->msg.queue, e->msg.mtime, false);
            else
                qt_store_remove(&plain, e->msg.id);
        }
    for (bi = 0; bi < 6; bi++)
        qt_feed_push(&f, batches[bi]);
    qt_feed_apply(&f, &ahead, &res);

    assert_int_equal(ahead.n, plain.n);
    assert_int_equal(ahead.pool.count, plain.pool.count);
    assert_int_equal(ahead.total_size, plain.total_size);
    for (n = 0; n < plain.n; n++) {
        const struct qt_msg *mp = &plain.msgs[n], *ma;
        const struct qt_rcpt *rp, *ra;
        long at = qt_store_find(&ahead, qt_store_str(&plain, mp->id));

        assert_true(at >= 0);
        ma = &ahead.msgs[at];
        assert_int_equal(ma->queue, mp->queue);
        assert_int_equal(ma->nrcpts, mp->nrcpts);
        expect_same_str(&ahead, ma->sender, &plain, mp->sender);
        expect_same_str(&ahead, ma->subject, &plain, mp->subject);
        expect_same_str(&ahead, ma->from, &plain, mp->from);
        expect_same_str(&ahead, ma->error, &plain, mp->error);
        expect_same_str(&ahead, ma->host, &plain, mp->host);
        expect_same_str(&ahead, ma->attrs, &plain, mp->attrs);
        for (i = 0; i < QT_ATTR_NFIELDS; i++)
            expect_same_str(&ahead, ma->attr_fields[i], &plain, mp->attr_fields[i]);
        rp = qt_store_rcpts(&plain, mp);
        ra = qt_store_rcpts(&ahead, ma);
        for (i = 0; i < mp->nrcpts; i++) {
            expect_same_str(&ahead, ra[i].address, &plain, rp[i].address);
            expect_same_str(&ahead, ra[i].orig, &plain, rp[i].orig);
            expect_same_str(&ahead, ra[i].status, &plain, rp[i].status);
            expect_same_str(&ahead, ra[i].reason, &plain, rp[i].reason);
            expect_same_str(&ahead, ra[i].reason_tokens, &plain, rp[i].reason_tokens);
            assert_int_equal(ra[i].state, rp[i].state);
        }
    }
    /* Interned once: equal text, equal reference. */
    for (n = 1; n < ahead.n; n++) {
        const struct qt_msg *m0 = &ahead.msgs[0], *m = &ahead.msgs[n];

        if (qt_strpool_len(&ahead.pool, m->sender) == qt_strpool_len(&ahead.pool, m0->sender) &&
            strcmp(qt_store_str(&ahead, m->sender), qt_store_str(&ahead, m0->sender)) == 0)
            assert_int_equal(m->sender, m0->sender);
        if (m->nrcpts && m0->nrcpts &&
            strcmp(qt_store_str(&ahead, qt_store_rcpts(&ahead, m)->address),
                   qt_store_str(&ahead, qt_store_rcpts(&ahead, m0)->address)) == 0)
            assert_int_equal(qt_store_rcpts(&ahead, m)->address,
                             qt_store_rcpts(&ahead, m0)->address);
    }
    qt_store_free(&ahead);
    qt_store_free(&plain);
    qt_feed_destroy(&f);
}

static int gone_count;
static void count_gone(void *ctx, const char *id)
{
    (void)ctx;
    (void)id;
    gone_count++;
}

static void test_idmap_sweep(void **state)
{
    struct qt_idmap m;
    struct qt_idmap_entry *e;
    char id[32];
    bool created;
    int i;

    (void)state;
    qt_idmap_init(&m);
    for (i = 0; i < 5000; i++) {
        snprintf(id, sizeof(id), "A%d", i);
        e = qt_idmap_put(&m, id, &created);
        assert_true(created);
        e->gen = 1;
    }
    e = qt_idmap_put(&m, "A1", &created);
    assert_false(created);
    for (i = 0; i < 5000; i += 2) {
        snprintf(id, sizeof(id), "A%d", i);
        qt_idmap_get(&m, id)->gen = 2;
    }
    gone_count = 0;
    qt_idmap_sweep(&m, 2, count_gone, NULL);
    assert_int_equal(gone_count, 2500);
    assert_null(qt_idmap_get(&m, "A1"));
    assert_non_null(qt_idmap_get(&m, "A2"));
    qt_idmap_forget(&m, "A2");
    assert_null(qt_idmap_get(&m, "A2"));
    e = qt_idmap_put(&m, "A2", &created);
    assert_true(created);
    assert_int_equal(e->gen, 0);
    qt_idmap_free(&m);
}

/* A message's recipients as the store gives them back: "addr/reason/state"
 * joined by spaces. */
static void rcpts_text(const struct qt_store *s, const char *id, char *out, size_t cap)
{
    long i = qt_store_find(s, id);
    const struct qt_msg *m;
    const struct qt_rcpt *r;
    size_t len = 0;
    uint32_t k;

    assert_true(i >= 0);
    m = &s->msgs[i];
    r = qt_store_rcpts(s, m);
    out[0] = 0;
    for (k = 0; k < m->nrcpts && len < cap; k++) {
        struct qt_buf tmp = {0};
        size_t rlen;
        const char *reason = qt_store_reason(s, &r[k], &tmp, &rlen);

        len += (size_t)snprintf(out + len, cap - len, "%s%s/%s/%d", k ? " " : "",
                                qt_store_str(s, r[k].address), reason ? reason : "-", r[k].state);
        qt_buf_free(&tmp);
    }
}

static void put_rcpts(struct qt_store *s, const char *id, size_t n, const char *tag)
{
    struct qt_msg_data d;
    struct qt_rcpt_data r[2], many[300];
    char addr[300][32], reason[300][32];
    size_t k;

    assert_true(n <= 300);
    make_msg(&d, r, id, QT_Q_DEFERRED, "s@example.org");
    for (k = 0; k < n; k++) {
        memset(&many[k], 0, sizeof(many[k]));
        snprintf(addr[k], sizeof(addr[k]), "%s%zu@x.example", tag, k);
        snprintf(reason[k], sizeof(reason[k]), "%s says %zu", tag, k);
        many[k].address = addr[k];
        many[k].reason = k % 2 ? reason[k] : NULL;
        many[k].state = k % 3 ? QT_RCPT_PENDING : QT_RCPT_DONE;
    }
    d.rcpts = many;
    d.nrcpts = n;
    qt_store_upsert(s, &d);
}

static void expect_rcpts(const struct qt_store *s, const char *id, size_t n, const char *tag)
{
    char got[300 * 64], want[300 * 64];
    size_t len = 0, k;
    long i = qt_store_find(s, id);
    uint32_t pending = 0;

    want[0] = 0;
    for (k = 0; k < n; k++) {
        char reason[32];

        snprintf(reason, sizeof(reason), "%s says %zu", tag, k);
        len += (size_t)snprintf(want + len, sizeof(want) - len, "%s%s%zu@x.example/%s/%d",
                                k ? " " : "", tag, k, k % 2 ? reason : "-",
                                k % 3 ? QT_RCPT_PENDING : QT_RCPT_DONE);
        pending += k % 3 != 0;
    }
    rcpts_text(s, id, got, sizeof(got));
    assert_string_equal(got, want);
    assert_int_equal(s->msgs[i].npending, pending);
    assert_int_equal(s->msgs[i].nrcpts, n);
}

/* Reasons that differ only by the recipient's address or a per-message
 * token share one template; each reads back byte for byte, also after the
 * pool was compacted, and a reason holding a placeholder byte itself (a
 * hostile fleet agent's) is kept as it came. */
static void test_store_reason_templates(void **state)
{
    static const char gmail[] =
        "host gmail-smtp-in.l.google.com[142.250.153.27] said: 421-4.7.28 Gmail has "
        "detected an unusual rate of unsolicited mail. 421 4.7.28 For more information, go to "
        "https://support.google.com/mail/?p=UnsolicitedRateLimitError %s - gsmtp (in reply to "
        "end of DATA command)";
    static const char grey[] = "host mx1.example.com[192.0.2.7] said: 450 4.7.1 <%s>: "
                               "Recipient address rejected: Greylisted, try again later";
    static const char *const tokens[] = {"qv828541-81399.48", "d9443c01a7336-2a1e2c8b3f4si1.123"};
    static const char *const addrs[] = {"jo@example.com", "\"ann smith\"@example.org"};
    struct qt_store s;
    struct qt_msg_data d;
    struct qt_rcpt_data r[2], rc[4];
    char reasons[2][4][400], id[16];
    qt_str tmpl[4];
    int k, i, round;

    (void)state;
    qt_store_init(&s);
    for (k = 0; k < 2; k++) {
        make_msg(&d, r, k ? "TPL2" : "TPL1", QT_Q_DEFERRED, "s@example.org");
        memset(rc, 0, sizeof(rc));
        snprintf(reasons[k][0], sizeof(reasons[k][0]), gmail, tokens[k]);
        snprintf(reasons[k][1], sizeof(reasons[k][1]), grey, addrs[k]);
        snprintf(reasons[k][2], sizeof(reasons[k][2]),
                 "connect to 127.0.0.1[127.0.0.1]:25: Connection refused");
        snprintf(reasons[k][3], sizeof(reasons[k][3]), "x%c <%s> y12345678ab", QT_REASON_TOKEN,
                 addrs[k]);
        for (i = 0; i < 4; i++) {
            rc[i].address = i == 0 ? "g@gmail.com" : addrs[k];
            rc[i].reason = reasons[k][i];
            rc[i].state = QT_RCPT_PENDING;
        }
        d.rcpts = rc;
        d.nrcpts = 4;
        qt_store_upsert(&s, &d);
    }
    for (round = 0; round < 2; round++) {
        for (k = 0; k < 2; k++) {
            const struct qt_msg *m = &s.msgs[qt_store_find(&s, k ? "TPL2" : "TPL1")];
            const struct qt_rcpt *rr = qt_store_rcpts(&s, m);
            struct qt_buf tmp = {0};
            size_t len;

            for (i = 0; i < 4; i++) {
                const char *got = qt_store_reason(&s, &rr[i], &tmp, &len);

                assert_string_equal(got, reasons[k][i]);
                assert_int_equal(len, strlen(reasons[k][i]));
                if (k == 0)
                    tmpl[i] = rr[i].reason;
                else if (i < 2)     /* one template for both messages */
                    assert_int_equal(rr[i].reason, tmpl[i]);
            }
            /* The token is kept apart; the address is the recipient's own. */
            assert_string_equal(qt_store_str(&s, rr[0].reason_tokens), tokens[k]);
            assert_string_equal(qt_store_str(&s, rr[1].reason_tokens), "");
            /* Nothing varies, and a placeholder byte of its own: as it came. */
            assert_int_equal(rr[2].reason_tokens, 0);
            assert_int_equal(rr[3].reason_tokens, 0);
            assert_string_equal(qt_store_msg_reason(&s, m, &tmp, &len), reasons[k][0]);
            qt_buf_free(&tmp);
        }
        /* Enough replacements of another message to compact the pool. */
        for (i = 0; i < 20000 && round == 0; i++) {
            snprintf(id, sizeof(id), "CHURN");
            make_msg(&d, r, id, QT_Q_DEFERRED, i % 2 ? "a@example.org" : "b@example.org");
            qt_store_upsert(&s, &d);
        }
    }
    qt_store_free(&s);
}

/* The template's own rules: a token needs 8 bytes, a letter and two
 * digits; an address under 3 bytes is never looked for; expansion gives
 * back the bytes taken apart. */
static void test_reason_template_rules(void **state)
{
    static const struct {
        const char *reason, *addr, *tmpl, *tokens;
    } cases[] = {
        {"450 4.7.1 mx1.paze.nl said no", "a@b.c", NULL, NULL},
        {"via mx00.emig.gmx.net id ABCDEF12 and abcdefg1", "x@y.z", "via \x01 id \x01 and abcdefg1",
         "mx00.emig.gmx.net\x01" "ABCDEF12"},
        {"<a@b.c> and a@b.c again", "a@b.c", "<\x02> and \x02 again", ""},
        {"short x@ id 2024-01-01T00:00:00Z", "x@", "short x@ id \x01:00:00Z", "2024-01-01T00"},
        {"142.250.153.27 4.7.28 UnsolicitedRateLimitError", "q@r.s", NULL, NULL},
    };
    struct qt_buf t = {0}, k = {0}, back = {0};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *r = cases[i].reason;
        bool did = qt_reason_template(r, strlen(r), cases[i].addr, strlen(cases[i].addr), &t, &k);

        assert_int_equal(did, cases[i].tmpl != NULL);
        if (!did) {
            assert_int_equal(t.len, 0);
            continue;
        }
        assert_int_equal(t.len, strlen(cases[i].tmpl));
        assert_memory_equal(t.data, cases[i].tmpl, t.len);
        assert_int_equal(k.len, strlen(cases[i].tokens));
        assert_memory_equal(k.data ? k.data : "", cases[i].tokens, k.len);
        qt_buf_reset(&back);
        qt_reason_expand(t.data, t.len, k.data, k.len, cases[i].addr, strlen(cases[i].addr),
                         &back);
        assert_int_equal(back.len, strlen(r));
        assert_memory_equal(back.data, r, back.len);
    }
    qt_buf_free(&t);
    qt_buf_free(&k);
    qt_buf_free(&back);
}

/* Messages with many, one or no recipients, replaced by ones with fewer
 * (kept in place) and more (moved), next to neighbours that must not
 * change; then so many replacements that the recipients are compacted. */
static void test_store_recipient_runs(void **state)
{
    struct qt_store s;
    char id[32];
    int round, i;

    (void)state;
    qt_store_init(&s);
    put_rcpts(&s, "MANY", 300, "m");
    put_rcpts(&s, "ONE", 1, "o");
    put_rcpts(&s, "NONE", 0, "n");
    put_rcpts(&s, "LAST", 5, "l");
    expect_rcpts(&s, "MANY", 300, "m");
    expect_rcpts(&s, "ONE", 1, "o");
    expect_rcpts(&s, "NONE", 0, "n");
    put_rcpts(&s, "MANY", 7, "m2");         /* fewer: updated in place */
    expect_rcpts(&s, "MANY", 7, "m2");
    expect_rcpts(&s, "ONE", 1, "o");
    put_rcpts(&s, "ONE", 40, "o2");         /* more: a new run */
    expect_rcpts(&s, "ONE", 40, "o2");
    expect_rcpts(&s, "MANY", 7, "m2");
    expect_rcpts(&s, "LAST", 5, "l");
    put_rcpts(&s, "NONE", 3, "n2");
    expect_rcpts(&s, "NONE", 3, "n2");
    for (round = 0; round < 200; round++) {
        for (i = 0; i < 20; i++) {
            snprintf(id, sizeof(id), "C%d", i);
            put_rcpts(&s, id, (size_t)(round + i) % 50 + 1, round % 2 ? "a" : "b");
        }
        assert_true(qt_store_remove(&s, "LAST"));
        put_rcpts(&s, "LAST", (size_t)round % 9, "l");
    }
    for (i = 0; i < 20; i++) {
        snprintf(id, sizeof(id), "C%d", i);
        expect_rcpts(&s, id, (size_t)(199 + i) % 50 + 1, "a");
    }
    expect_rcpts(&s, "MANY", 7, "m2");
    expect_rcpts(&s, "ONE", 40, "o2");
    expect_rcpts(&s, "NONE", 3, "n2");
    expect_rcpts(&s, "LAST", 199 % 9, "l");
    /* 200 rounds moved ~100k recipients through; garbage stays bounded. */
    assert_true(s.rcpts_used < 4 * (7 + 40 + 3 + 8 + 20 * 50) + 8192);
    qt_store_release_slack(&s);
    assert_int_equal(s.rcpts_dead, 0);
    expect_rcpts(&s, "C3", (size_t)(199 + 3) % 50 + 1, "a");
    qt_store_free(&s);
}

/* A long-running view of a busy queue: messages come and go for ever,
 * each with strings of its own.  The pool must not keep the strings of
 * every message ever seen, and every string must survive compaction. */
static void test_store_churn_bounded(void **state)
{
    struct qt_store s;
    struct qt_msg_data d;
    struct qt_rcpt_data r[2];
    char id[32], subject[64], addr[64], reason[64], old[32];
    size_t peak_pool = 0, peak_rcpts = 0, i;
    struct qt_buf tmp = {0};
    uint64_t serial;
    const size_t live = 2000, total = 200000;

    (void)state;
    qt_store_init(&s);
    serial = s.pool.serial;
    for (i = 0; i < total; i++) {
        snprintf(id, sizeof(id), "ID%zu", i);
        snprintf(subject, sizeof(subject), "subject of %zu", i);
        snprintf(addr, sizeof(addr), "rcpt%zu@example.net", i);
        snprintf(reason, sizeof(reason), "host said: 450 <rcpt%zu@example.net>", i);
        make_msg(&d, r, id, QT_Q_DEFERRED, "flood@example.org");
        d.subject = subject;
        r[0].address = addr;
        r[0].reason = reason;
        qt_store_upsert(&s, &d);
        if (i >= live) {
            snprintf(old, sizeof(old), "ID%zu", i - live);
            assert_true(qt_store_remove(&s, old));
        }
        if (i % 7 == 0)         /* some are replaced in place */
            qt_store_upsert(&s, &d);
        if (i > total / 2) {
            peak_pool = s.pool.len > peak_pool ? s.pool.len : peak_pool;
            peak_rcpts = s.rcpts_cap > peak_rcpts ? s.rcpts_cap : peak_rcpts;
        }
    }
    assert_int_equal(s.n, live);
    assert_int_not_equal(s.pool.serial, serial);    /* it was compacted */
    /* ~100 bytes of strings per message: bounded by the compaction rule
     * (garbage of at most max(n, 16k) messages), far from 200k messages. */
    assert_true(peak_pool < (live + 16384 + 1) * 160 + (1 << 16));
    assert_true(peak_rcpts < 8 * live + 8192);
    for (i = total - live; i < total; i++) {
        long k;
        const struct qt_msg *m;
        char want[64];
        size_t len;

        snprintf(id, sizeof(id), "ID%zu", i);
        k = qt_store_find(&s, id);
        assert_true(k >= 0);
        m = &s.msgs[k];
        snprintf(want, sizeof(want), "subject of %zu", i);
        assert_string_equal(qt_store_str(&s, m->subject), want);
        assert_string_equal(qt_store_str(&s, m->id), id);
        assert_string_equal(qt_store_str(&s, m->sender), "flood@example.org");
        assert_string_equal(qt_store_attr(&s, m, "sasl_username"), "bob");
        assert_string_equal(qt_store_attr(&s, m, "protocol_name"), "ESMTP");
        snprintf(want, sizeof(want), "host said: 450 <rcpt%zu@example.net>", i);
        /* The address in the reason is the recipient's: one template. */
        assert_string_equal(qt_store_reason(&s, &qt_store_rcpts(&s, m)[0], &tmp, &len), want);
        assert_string_equal(qt_store_msg_reason(&s, m, &tmp, &len), want);
        assert_string_equal(qt_store_str(&s, m->reason), "host said: 450 <\x02>");
        assert_string_equal(qt_store_str(&s, qt_store_rcpts(&s, m)[1].address), "b@x.example");
    }
    qt_buf_free(&tmp);
    qt_store_free(&s);
}

/* The scanner's map sees IDs come and go for ever: it stays the size of
 * what is live. */
static void test_idmap_churn_bounded(void **state)
{
    struct qt_idmap m;
    char id[32];
    bool created;
    size_t i, peak = 0;

    (void)state;
    qt_idmap_init(&m);
    for (i = 0; i < 100000; i++) {
        snprintf(id, sizeof(id), "Q%zu", i);
        qt_idmap_put(&m, id, &created)->ino = i;
        assert_true(created);
        if (i >= 1000) {
            snprintf(id, sizeof(id), "Q%zu", i - 1000);
            qt_idmap_forget(&m, id);
        }
        peak = m.used > peak ? m.used : peak;
    }
    assert_int_equal(m.live, 1000);
    assert_true(peak <= 4096);
    assert_true(m.ids_cap <= 1 << 16);
    for (i = 99000; i < 100000; i++) {
        snprintf(id, sizeof(id), "Q%zu", i);
        assert_int_equal(qt_idmap_get(&m, id)->ino, i);
    }
    assert_null(qt_idmap_get(&m, "Q98999"));
    qt_idmap_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strpool_interns),
        cmocka_unit_test(test_strpool_find_folded),
        cmocka_unit_test(test_store_upsert_update_remove),
        cmocka_unit_test(test_store_index_churn),
        cmocka_unit_test(test_store_total_size),
        cmocka_unit_test(test_feed_backpressure),
        cmocka_unit_test(test_idmap_sweep),
        cmocka_unit_test(test_store_recipient_runs),
        cmocka_unit_test(test_store_reason_templates),
        cmocka_unit_test(test_reason_template_rules),
        cmocka_unit_test(test_store_churn_bounded),
        cmocka_unit_test(test_idmap_churn_bounded),
        cmocka_unit_test(test_feed_apply_looks_ahead),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
