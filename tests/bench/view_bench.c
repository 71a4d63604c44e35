/* view_bench - time the queue list's filter and sort over a synthetic store
 * (by default a million messages shaped like qgen's flood: a few senders
 * send most of the mail, subjects nearly all distinct).
 *
 * Usage: view_bench [N [quick | store | -- QUERY...]]
 * Prints one line per case: wall and CPU milliseconds of qt_view_rebuild (a cold
 * one sorts the store first; a warm one reuses the sorted order, as the
 * filter bar does while a query is typed) and the rows it kept.  Run under
 * valgrind --tool=callgrind with a smaller N to see where time goes. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qtriage/feed.h"
#include "qtriage/filter.h"
#include "qtriage/store.h"
#include "qtriage/view.h"

#define NOW 1700000000

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Message i of the synthetic queue, its strings in `a`. */
static void gen(struct qt_arena *a, uint64_t *r, size_t i, struct qt_msg_data *d)
{
    static const char *const words[] = {"Invoice", "Cheap", "meds", "Your", "account",
                                        "payment", "Re:", "urgent", "offer", "Delivery"};
    static const char *const reasons[] = {
        "connect to mx.corp.example[192.0.2.5]:25: Connection refused",
        "host mx.list.example[198.51.100.9] said: 450 4.2.0 Greylisted",
        "delivery temporarily suspended: lost connection with mx.corp.example"};
    struct qt_rcpt_data *rc = qt_arena_alloc(a, 2 * sizeof(*rc));
    char buf[128];
    uint64_t x = rng_next(r);
    /* A skewed sender: small numbers far more often. */
    unsigned snum = (unsigned)((x % 1000) * (x % 1000) / 1000 * ((x >> 20) % 50) / 49);

    memset(d, 0, sizeof(*d));
    memset(rc, 0, 2 * sizeof(*rc));
    snprintf(buf, sizeof(buf), "%05X%06zX", (unsigned)(x >> 40) % 0xFFFFF, i);
    d->id = qt_arena_strdup(a, buf);
    snprintf(buf, sizeof(buf), "%s%u@%s.example", snum % 3 ? "user" : "Flood", snum,
             snum % 2 ? "spam" : "corp");
    d->sender = qt_arena_strdup(a, buf);
    snprintf(buf, sizeof(buf), "%s %s %s [qt-%06" PRIx64 "-%zu]", words[x % 10],
             words[(x >> 8) % 10], words[(x >> 16) % 10], (x >> 24) & 0xffffff, i);
    d->subject = qt_arena_strdup(a, buf);
    snprintf(buf, sizeof(buf), "192.0.2.%u", (unsigned)(x >> 48) % 250);
    d->attr_fields[QT_ATTR_CLIENT_ADDRESS] = qt_arena_strdup(a, buf);
    d->queue = x % 10 ? QT_Q_DEFERRED : QT_Q_HOLD;
    d->arrival = d->create_time = NOW - (int64_t)((x >> 3) % 86400);
    d->mtime = NOW + (int64_t)((x >> 5) % 3600);
    d->msg_size = d->file_size = 500 + (int64_t)((x >> 9) % 40000);
    snprintf(buf, sizeof(buf), "rcpt%u@dom%u.example", (unsigned)(x >> 32) % 5000,
             (unsigned)(x >> 12) % 300);
    rc[0].address = qt_arena_strdup(a, buf);
    rc[0].state = QT_RCPT_PENDING;
    rc[0].reason = reasons[(x >> 30) % 3];
    snprintf(buf, sizeof(buf), "other%u@dom%u.example", (unsigned)(x >> 28) % 900,
             (unsigned)(x >> 4) % 40);
    rc[1].address = qt_arena_strdup(a, buf);
    rc[1].state = x % 3 ? QT_RCPT_PENDING : QT_RCPT_DONE;
    d->rcpts = rc;
    d->nrcpts = x % 4 ? 2 : 1;
}

/* The synthetic queue as a backend hands it over: batches of 512. */
static void push_all(struct qt_feed *f, size_t n)
{
    uint64_t r = 88172645463325252ULL;
    struct qt_batch *b = NULL;
    size_t i;

    for (i = 0; i < n; i++) {
        if (!b)
            b = qt_batch_new();
        gen(&b->arena, &r, i, &qt_batch_add(b, QT_EV_UPSERT)->msg);
        if (b->n == 512 || i + 1 == n)
            qt_feed_push(f, b), b = NULL;
    }
}

/* Build the store from the feed (qt_feed_apply, which looks ahead), or
 * with plain upserts one after the other; print how long the store took. */
static void fill(struct qt_store *s, size_t n, bool look_ahead)
{
    struct qt_feed f;
    struct qt_feed_result res = {0};
    double t0, c0;

    qt_feed_init(&f);
    qt_feed_unblock(&f);
    push_all(&f, n);
    qt_store_init(s);
    t0 = now_ms();
    c0 = cpu_ms();
    if (look_ahead) {
        qt_feed_apply(&f, s, &res);
    } else {
        struct qt_batch *b;
        size_t i;

        for (b = f.head; b; b = b->next)
            for (i = 0; i < b->n; i++)
                qt_store_upsert(s, &b->ev[i].msg);
    }
    printf("store: %zu messages, built in %.0f ms wall %.0f ms CPU (%s)\n", s->n,
           now_ms() - t0, cpu_ms() - c0, look_ahead ? "qt_feed_apply, looking ahead" : "qt_store_upsert");
    qt_feed_destroy(&f);
}

static void run(struct qt_view *v, const struct qt_store *s, const char *label,
                const char *query, enum qt_col sort)
{
    struct qt_filter_error err;
    struct qt_filter *f = *query ? qt_filter_compile(query, &err) : NULL;
    double t0, c0;

    if (*query && !f) {
        fprintf(stderr, "view_bench: %s: %s\n", query, err.msg);
        exit(1);
    }
    v->sort = sort;
    t0 = now_ms();
    c0 = cpu_ms();
    qt_view_rebuild(v, s, f, NOW);
    printf("%-8s %-34s sort %-8s %8.1f ms wall %8.1f ms CPU  %zu rows\n", label,
           *query ? query : "(all)", qt_col_info[sort].name, now_ms() - t0, cpu_ms() - c0, v->n);
    qt_filter_free(f);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    struct qt_store s;
    struct qt_view v;
    int c;

    if (argc > 2 && strcmp(argv[2], "store") == 0) {
        /* "view_bench N store": the store's build, both ways, twice. */
        for (c = 0; c < 4; c++) {
            fill(&s, n, c % 2);
            qt_store_free(&s);
        }
        return 0;
    }
    fill(&s, n, true);
    qt_view_init(&v);
    /* "view_bench N -- QUERY...": only those, warm, each twice (the second
     * sees the term caches of the first only if the filter is reused: it
     * is not, as the filter bar compiles each query anew). */
    if (argc > 2 && strcmp(argv[2], "--") == 0) {
        run(&v, &s, "cold", "", QT_COL_AGE);
        for (c = 3; c < argc; c++) {
            run(&v, &s, "warm", argv[c], QT_COL_AGE);
            run(&v, &s, "warm", argv[c], QT_COL_AGE);
        }
        qt_view_free(&v);
        qt_store_free(&s);
        return 0;
    }
    /* Cold: each sort column from scratch ("view_bench N quick": none). */
    for (c = 0; c < QT_COL_COUNT && !(argc > 2 && strcmp(argv[2], "quick") == 0); c++)
        run(&v, &s, "cold", "", (enum qt_col)c);
    /* The default sort, then queries as the filter bar sees them. */
    run(&v, &s, "cold", "", QT_COL_AGE);
    run(&v, &s, "warm", "", QT_COL_AGE);
    run(&v, &s, "warm", "flood", QT_COL_AGE);
    run(&v, &s, "warm", "sender:flood", QT_COL_AGE);
    run(&v, &s, "warm", "subject:invoice", QT_COL_AGE);
    run(&v, &s, "warm", "subject~/invoice.*meds/i", QT_COL_AGE);
    run(&v, &s, "warm", "/cheap|urgent/", QT_COL_AGE);
    run(&v, &s, "warm", "subject~/v[i1]agra|casino/i", QT_COL_AGE);
    run(&v, &s, "warm", "rcpt~/^rcpt1[0-9]+@/ and size>10k", QT_COL_AGE);
    run(&v, &s, "warm", "reason:greylisted", QT_COL_AGE);
    run(&v, &s, "warm", "age<1h", QT_COL_AGE);
    run(&v, &s, "cold", "sender:flood", QT_COL_SENDER);
    qt_view_free(&v);
    qt_store_free(&s);
    return 0;
}
