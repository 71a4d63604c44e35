/* stats_bench: how long the statistics take over a large store.
 *
 * Usage: stats_bench [N]   (default 1000000 messages)
 *
 * Builds a store of N flood-shaped messages in memory (a few hundred
 * senders, Zipf-skewed; 1-3 pending recipients over 2000 domains; 60
 * distinct delay reasons; 5000 subjects), then times each grouping, a
 * filtered grouping, and qshape's table, and prints one line each. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qtriage/filter.h"
#include "qtriage/stats.h"
#include "qtriage/store.h"

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* CPU time beside wall time: on a shared machine the wall measures the scheduler. */
static double cpu_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void print_loadavg(void)
{
    char buf[64] = "";
    FILE *f = fopen("/proc/loadavg", "r");

    if (f) {
        if (!fgets(buf, sizeof(buf), f))
            buf[0] = 0;
        fclose(f);
    }
    printf("load average: %s", buf[0] ? buf : "unknown\n");
}

static unsigned next(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (*seed >> 8) & 0xffffff;
}

/* Skewed pick in [0, n): small numbers far more often. */
static unsigned skewed(unsigned *seed, unsigned n)
{
    double u = next(seed) / (double)0x1000000;

    return (unsigned)(u * u * u * n);
}

int main(int argc, char **argv)
{
    /* What follows "mx.N.example[192.0.2.N]" in each kind of reason. */
    static const char *const answers[] = {
        ":25: Connection refused",
        " said: 450 4.2.0 Greylisted, try again later",
        " said: 552 5.2.2 Mailbox full",
        " timed out while receiving the initial server greeting",
    };
    static const char *const starts[] = {"connect to", "host", "host", "conversation with"};
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    struct qt_store s;
    unsigned seed = 1;
    double t;
    long i;
    int by;

    qt_store_init(&s);
    t = now_ms();
    for (i = 0; i < n; i++) {
        char id[24], sender[64], subject[64], client[32], sasl[32], addr[3][64], reason[3][160];
        struct qt_rcpt_data rc[3];
        struct qt_msg_data d;
        unsigned k, nr = 1 + next(&seed) % 3;

        memset(&d, 0, sizeof(d));
        memset(rc, 0, sizeof(rc));
        snprintf(id, sizeof(id), "%010lX", i + 1);
        snprintf(sender, sizeof(sender), "user%u@sender%u.example", skewed(&seed, 400),
                 skewed(&seed, 50));
        snprintf(subject, sizeof(subject), "Offer number %u", skewed(&seed, 5000));
        snprintf(client, sizeof(client), "198.51.100.%u", skewed(&seed, 250));
        snprintf(sasl, sizeof(sasl), "account%u", skewed(&seed, 100));
        for (k = 0; k < nr; k++) {
            unsigned dom = skewed(&seed, 2000);

            snprintf(addr[k], sizeof(addr[k]), "rcpt%u@domain%u.example", next(&seed) % 1000,
                     dom);
            snprintf(reason[k], sizeof(reason[k]), "%s mx.%u.example[192.0.2.%u]%s",
                     starts[dom % 4], dom % 15, dom % 15, answers[dom % 4]);
            rc[k].address = addr[k];
            rc[k].reason = reason[k];
            rc[k].state = QT_RCPT_PENDING;
        }
        d.id = id;
        d.queue = i % 10 ? QT_Q_DEFERRED : QT_Q_ACTIVE;
        d.sender = sender;
        d.subject = subject;
        d.attr_fields[QT_ATTR_CLIENT_ADDRESS] = client;
        d.attr_fields[QT_ATTR_SASL_USERNAME] = sasl;
        d.rcpts = rc;
        d.nrcpts = nr;
        d.arrival = 1700000000 - (int64_t)skewed(&seed, 5 * 86400);
        d.msg_size = 1000 + next(&seed) % 50000;
        qt_store_upsert(&s, &d);
    }
    printf("store of %ld messages built in %.0f ms, %zu distinct strings\n", n, now_ms() - t,
           s.pool.count);
    print_loadavg();
    for (by = 0; by < QT_BY_COUNT; by++) {
        struct qt_stats st;
        double c;

        qt_stats_init(&st);
        t = now_ms();
        c = cpu_ms();
        qt_stats_compute(&st, &s, NULL, (enum qt_stats_by)by, 1700000000);
        c = cpu_ms() - c;
        printf("stats --by %-13s %7.1f ms (CPU %7.1f ms)  %6zu groups, top %" PRIu64
               " messages\n", qt_stats_by_info[by].name, now_ms() - t, c, st.n,
               st.n ? st.groups[0].count : 0);
        qt_stats_free(&st);
    }
    {
        struct qt_filter *f = qt_filter_compile("class=greylisted and sender_domain:sender1",
                                                NULL);
        struct qt_stats st;

        qt_stats_init(&st);
        t = now_ms();
        qt_stats_compute(&st, &s, f, QT_BY_RCPT_DOMAIN, 1700000000);
        printf("stats --by rcpt_domain, filter class=... and sender_domain:... %7.1f ms "
               "(%" PRIu64 " messages)\n", now_ms() - t, st.messages);
        qt_stats_free(&st);
        qt_filter_free(f);
    }
    {
        struct qt_shape_options o;
        struct qt_shape sh;

        qt_shape_options_default(&o);
        o.queues[QT_Q_DEFERRED] = o.queues[QT_Q_ACTIVE] = true;
        qt_shape_init(&sh);
        t = now_ms();
        qt_shape_compute(&sh, &s, NULL, &o, 1700000000);
        printf("shape deferred active          %7.1f ms  %zu rows\n", now_ms() - t, sh.n);
        qt_shape_free(&sh);
        o.parents = o.sender = true;
        t = now_ms();
        qt_shape_compute(&sh, &s, NULL, &o, 1700000000);
        printf("shape -s -p deferred active    %7.1f ms  %zu rows\n", now_ms() - t, sh.n);
        qt_shape_free(&sh);
    }
    qt_store_free(&s);
    return 0;
}
