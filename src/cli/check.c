/* qtriage check: a monitoring plugin (Nagios, Icinga, Naemon conventions).
 * Exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; one line of text, then
 * performance data per queue. */
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "qtriage/fleet.h"
#include "qtriage/stats.h"
#include "qtriage/text.h"
#include "select.h"

enum { CHECK_OK, CHECK_WARNING, CHECK_CRITICAL, CHECK_UNKNOWN };

static const char *const status_names[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};

/* The queues a plugin reports, in the order of the perfdata. */
static const enum qt_queue perf_queues[] = {
    QT_Q_ACTIVE, QT_Q_DEFERRED, QT_Q_HOLD, QT_Q_INCOMING, QT_Q_MAILDROP,
};

/* Zabbix, Icinga's JSON checks and scripts read one JSON object instead of
 * the plugin line (--json); the exit status is the same either way. */
static bool json_output;

static int unknown(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int unknown(const char *fmt, ...)
{
    struct qt_buf why = {0}, out = {0};
    va_list ap;

    va_start(ap, fmt);
    qt_buf_vprintf(&why, fmt, ap);
    va_end(ap);
    if (json_output) {
        qt_buf_printf(&out, "{\"state\":\"UNKNOWN\",\"exit_code\":%d,\"summary\":",
                      CHECK_UNKNOWN);
        cli_json_string(&out, why.data);
        qt_buf_printf(&out, "}\n");
        fputs(out.data, stdout);
    } else {
        /* The message quotes the command line and the reader's errors; a
         * monitoring dashboard shows the line as it is. */
        qt_text_sanitize(&out, why.data, why.len);
        printf("QTRIAGE UNKNOWN - %s\n", out.data ? out.data : "");
    }
    qt_buf_free(&why);
    qt_buf_free(&out);
    return CHECK_UNKNOWN;
}

/* The growth check: messages still queued that arrived within the window,
 * per minute.  A single run sees arrival times only: mail that came and
 * already left is not counted, nor is old mail leaving subtracted, so this
 * is the queue's growth by new mail that stayed, not its net size change
 * (two readings of the message count give that). */
struct growth {
    bool wanted;
    double warn, crit;          /* per minute; < 0: no such threshold */
    int64_t window;             /* seconds */
    const char *window_text;
    uint64_t arrived;
    double rate;                /* arrived per minute */
};

/* "N/min", "N/m", "N/h" or a bare N (per minute): a rate per minute, or
 * -1 when `text` is none of these. */
static double parse_rate(const char *text)
{
    char *end;
    double v;

    if (!text || !*text)
        return -1;
    v = strtod(text, &end);
    if (end == text || !(v >= 0) || v > 1e12)
        return -1;
    if (*end == 0 || strcmp(end, "/min") == 0 || strcmp(end, "/m") == 0)
        return v;
    if (strcmp(end, "/h") == 0)
        return v / 60.0;
    if (strcmp(end, "/s") == 0)
        return v * 60.0;
    return -1;
}

static void print_rate(struct qt_buf *out, double v)
{
    if (v < 0)
        return;
    qt_buf_printf(out, "%.2f", v);
}

struct queue_tally {
    uint64_t messages, bytes;
    int64_t oldest;             /* seconds since arrival; 0 when empty */
};

/* The plugin line: text, then perfdata as the plugin guidelines spell it,
 * 'label'=value[UOM];[warn];[crit];[min];[max]: message counts have no
 * unit, sizes are in bytes (B) and ages in seconds (s). */
struct host_check;
static void print_hosts_perf(const struct host_check *h, size_t n, long warn, long crit);

static void print_plugin(int status, const char *summary, const struct queue_tally *t,
                         const char *queue, enum qt_queue only, uint64_t checked, long warn,
                         long crit, const struct growth *g, const struct host_check *hosts,
                         size_t nhosts)
{
    size_t i;
    struct qt_buf perf = {0};

    printf("QTRIAGE %s - %s |", status_names[status], summary);
    for (i = 0; i < QT_ARRAY_LEN(perf_queues); i++) {
        enum qt_queue q = perf_queues[i];

        if (queue && q == only && warn >= 0)
            printf(" %s=%" PRIu64 ";%ld;%ld;0", qt_queue_name(q), t[q].messages, warn, crit);
        else
            printf(" %s=%" PRIu64 ";;;0", qt_queue_name(q), t[q].messages);
    }
    if (!queue && warn >= 0)
        printf(" total=%" PRIu64 ";%ld;%ld;0", checked, warn, crit);
    else if (!queue)
        printf(" total=%" PRIu64 ";;;0", checked);
    for (i = 0; i < QT_ARRAY_LEN(perf_queues); i++)
        printf(" %s_bytes=%" PRIu64 "B;;;0", qt_queue_name(perf_queues[i]),
               t[perf_queues[i]].bytes);
    for (i = 0; i < QT_ARRAY_LEN(perf_queues); i++)
        printf(" %s_oldest=%" PRId64 "s;;;0", qt_queue_name(perf_queues[i]),
               t[perf_queues[i]].oldest);
    if (g->wanted) {
        /* Messages a minute: the guidelines know no such unit, so none. */
        qt_buf_printf(&perf, " growth_per_min=");
        print_rate(&perf, g->rate);
        qt_buf_putc(&perf, ';');
        print_rate(&perf, g->warn);
        qt_buf_putc(&perf, ';');
        print_rate(&perf, g->crit);
        qt_buf_printf(&perf, ";0 growth_arrived=%" PRIu64 ";;;0", g->arrived);
        fputs(perf.data, stdout);
        qt_buf_free(&perf);
    }
    print_hosts_perf(hosts, nhosts, warn, crit);
    putchar('\n');
}

static void json_hosts(struct qt_buf *out, const struct host_check *h, size_t n);

static void print_json(int status, const char *summary, const struct queue_tally *t,
                       const char *queue, uint64_t checked, long warn, long crit,
                       const char *age_text, int64_t age, const char *expr,
                       const struct growth *g, int64_t now, const struct host_check *hosts,
                       size_t nhosts)
{
    struct qt_buf out = {0};
    size_t i;

    qt_buf_printf(&out, "{\"state\":\"%s\",\"exit_code\":%d,\"summary\":",
                  status_names[status], status);
    cli_json_string(&out, summary);
    qt_buf_printf(&out, ",\"checked\":%" PRIu64 ",\"queue\":", checked);
    if (queue)
        cli_json_string(&out, queue);
    else
        qt_buf_printf(&out, "null");
    qt_buf_printf(&out, ",\"age\":");
    if (age_text) {
        cli_json_string(&out, age_text);
        qt_buf_printf(&out, ",\"age_seconds\":%" PRId64, age);
    } else {
        qt_buf_printf(&out, "null,\"age_seconds\":null");
    }
    qt_buf_printf(&out, ",\"filter\":");
    if (expr)
        cli_json_string(&out, expr);
    else
        qt_buf_printf(&out, "null");
    qt_buf_printf(&out, ",\"now\":%" PRId64 ",\"thresholds\":{\"warn\":", now);
    if (warn >= 0)
        qt_buf_printf(&out, "%ld", warn);
    else
        qt_buf_printf(&out, "null");
    qt_buf_printf(&out, ",\"crit\":");
    if (crit >= 0)
        qt_buf_printf(&out, "%ld", crit);
    else
        qt_buf_printf(&out, "null");
    qt_buf_printf(&out, "},\"growth\":");
    if (g->wanted) {
        qt_buf_printf(&out, "{\"window_seconds\":%" PRId64 ",\"arrived\":%" PRIu64
                      ",\"per_minute\":%.6g,\"warn\":", g->window, g->arrived, g->rate);
        if (g->warn >= 0)
            qt_buf_printf(&out, "%.6g", g->warn);
        else
            qt_buf_printf(&out, "null");
        qt_buf_printf(&out, ",\"crit\":");
        if (g->crit >= 0)
            qt_buf_printf(&out, "%.6g", g->crit);
        else
            qt_buf_printf(&out, "null");
        qt_buf_putc(&out, '}');
    } else {
        qt_buf_printf(&out, "null");
    }
    qt_buf_printf(&out, ",\"queues\":{");
    for (i = 0; i < QT_ARRAY_LEN(perf_queues); i++) {
        const struct queue_tally *q = &t[perf_queues[i]];

        qt_buf_printf(&out, "%s\"%s\":{\"messages\":%" PRIu64 ",\"bytes\":%" PRIu64
                      ",\"oldest_age_seconds\":%" PRId64 "}", i ? "," : "",
                      qt_queue_name(perf_queues[i]), q->messages, q->bytes, q->oldest);
    }
    qt_buf_printf(&out, "}");
    json_hosts(&out, hosts, nhosts);
    qt_buf_printf(&out, "}\n");
    fputs(out.data, stdout);
    qt_buf_free(&out);
}

/* Severity for the worst state of a fleet: an unreachable host is worse
 * than a warning, not than a critical queue. */
static int severity(int status)
{
    static const int rank[] = {0, 1, 3, 2};

    return rank[status];
}

struct host_check {
    struct qt_host_status st;
    uint64_t checked;
    int status;
};

/* --hosts: each host's count against the thresholds, and the worst. */
static int fleet_status(struct cli_queue *cq, const struct queue_tally *unused, long warn,
                        long crit, struct qt_buf *summary, struct host_check **hc_out,
                        size_t *nh_out, const bool *counted)
{
    struct qt_host_status st[256];
    size_t nh = qt_fleet_status(cq->backend, st, QT_ARRAY_LEN(st)), i, k;
    struct host_check *hc = xcalloc(nh ? nh : 1, sizeof(*hc));
    int worst = CHECK_OK;

    (void)unused;
    for (k = 0; k < nh && k < QT_ARRAY_LEN(st); k++)
        hc[k].st = st[k];
    for (i = 0; i < cq->store.n; i++) {
        const char *id = qt_store_str(&cq->store, cq->store.msgs[i].id), *qid;
        char host[QT_FLEET_HOST_MAX + 1];

        if (!counted[i] || !qt_fleet_split_id(id, host, sizeof(host), &qid))
            continue;
        for (k = 0; k < nh; k++)
            if (strcmp(hc[k].st.name, host) == 0) {
                hc[k].checked++;
                break;
            }
    }
    for (k = 0; k < nh; k++) {
        struct host_check *h = &hc[k];

        if (h->st.state != QT_HOST_LIVE && h->st.state != QT_HOST_READONLY)
            h->status = CHECK_UNKNOWN;
        else
            h->status = h->checked > (uint64_t)crit   ? CHECK_CRITICAL
                        : h->checked > (uint64_t)warn ? CHECK_WARNING
                                                      : CHECK_OK;
        if (severity(h->status) > severity(worst))
            worst = h->status;
        qt_buf_printf(summary, "%s%s %s ", k ? "; " : "", h->st.name, status_names[h->status]);
        if (h->status == CHECK_UNKNOWN)
            qt_buf_printf(summary, "(%s: %s)", qt_host_state_name(h->st.state), h->st.reason);
        else
            qt_buf_printf(summary, "%" PRIu64 " message%s", h->checked,
                          h->checked == 1 ? "" : "s");
    }
    *hc_out = hc;
    *nh_out = nh;
    return worst;
}

/* Per host: 'mx1'=N;warn;crit;0 */
static void print_hosts_perf(const struct host_check *h, size_t n, long warn, long crit)
{
    for (size_t i = 0; i < n; i++) {
        if (warn >= 0)
            printf(" '%s'=%" PRIu64 ";%ld;%ld;0", h[i].st.name, h[i].checked, warn, crit);
        else
            printf(" '%s'=%" PRIu64 ";;;0", h[i].st.name, h[i].checked);
    }
}

static void json_hosts(struct qt_buf *out, const struct host_check *h, size_t n)
{
    if (!h)
        return;
    qt_buf_printf(out, ",\"hosts\":[");
    for (size_t i = 0; i < n; i++) {
        qt_buf_printf(out, "%s{\"host\":", i ? "," : "");
        cli_json_string(out, h[i].st.name);
        qt_buf_printf(out, ",\"state\":\"%s\",\"exit_code\":%d,\"checked\":%" PRIu64
                      ",\"connection\":\"%s\",\"reason\":", status_names[h[i].status],
                      h[i].status, h[i].checked, qt_host_state_name(h[i].st.state));
        cli_json_string(out, h[i].st.reason);
        qt_buf_printf(out, "}");
    }
    qt_buf_printf(out, "]");
}

int cli_check(const struct cli_call *call)
{
    const struct cli_check_args *a = call->args;
    struct cli_common *common = call->common;
    const char *queue = common->have_queue ? qt_queue_name(common->queue) : NULL;
    const char *age_text = a->age.text, *expr = common->filter;
    long warn = cli_given(call, "warn") ? a->warn : -1;
    long crit = cli_given(call, "crit") ? a->crit : -1;
    int64_t age = a->age.text ? a->age.seconds : -1;
    struct queue_tally tally[QT_Q_COUNT];
    uint64_t checked = 0;
    enum qt_queue only = common->queue;
    struct qt_buf summary = {0};
    struct cli_queue cq;
    struct qt_error why = {""};
    struct qt_filter *f;
    struct growth g = {0};
    time_t now;
    size_t i;
    bool bad, counting, *counted;
    int status;
    struct host_check *hosts = NULL;
    size_t nhosts = 0;

    json_output = a->json;
    memset(tally, 0, sizeof(tally));
    if (call->argc > 1)
        return unknown("unexpected argument \"%s\"", call->argv[1]);
    g.wanted = a->growth || a->growth_crit;
    g.warn = g.crit = -1;
    if (a->growth && (g.warn = parse_rate(a->growth)) < 0)
        return unknown("--growth wants a rate such as 100/min or 6000/h, not \"%s\"", a->growth);
    if (a->growth_crit && (g.crit = parse_rate(a->growth_crit)) < 0)
        return unknown("--growth-crit wants a rate such as 500/min, not \"%s\"",
                       a->growth_crit);
    if (g.warn >= 0 && g.crit >= 0 && g.warn > g.crit)
        return unknown("%s", "--growth must not be above --growth-crit");
    g.window = a->growth_window.text ? a->growth_window.seconds : 300;
    g.window_text = a->growth_window.text ? a->growth_window.text : "5m";
    if (a->growth_window.text && !g.wanted)
        return unknown("%s", "--growth-window goes with --growth or --growth-crit");
    if (g.window < 60)
        return unknown("%s", "--growth-window must be a minute or more");
    if (g.wanted && age >= 0)
        return unknown("%s", "--age counts old mail, --growth new mail: use one");
    /* The count thresholds: both, or neither when growth is checked. */
    counting = warn >= 0 || crit >= 0 || !g.wanted;
    if (counting && (warn < 0 || crit < 0))
        return unknown("%s", "--warn and --crit are both needed");
    if (counting && warn > crit)
        return unknown("%s", "--warn must not be above --crit");
    f = cli_filter_compile(expr, NULL, &bad);
    if (bad)
        return unknown("bad --filter \"%s\" (see stderr)", expr);
    if (!cli_load_store(&cq, common, &why)) {
        qt_filter_free(f);
        return unknown("cannot read the queue: %s", why.msg[0] ? why.msg : "see stderr");
    }
    cli_filter_headers(f, &cq);
    now = time(NULL);
    counted = xcalloc(cq.store.n ? cq.store.n : 1, sizeof(*counted));
    for (i = 0; i < cq.store.n; i++) {
        const struct qt_msg *m = &cq.store.msgs[i];
        struct queue_tally *t = &tally[m->queue];
        int64_t msg_age = now > (int64_t)m->arrival ? now - (int64_t)m->arrival : 0;

        if (age >= 0 && msg_age <= age)
            continue;
        if (f && !qt_filter_match(f, &cq.store, m, now))
            continue;
        t->messages++;
        t->bytes += m->msg_size;
        if (msg_age > t->oldest)
            t->oldest = msg_age;
        if (!queue || m->queue == only) {
            checked++;
            g.arrived += qt_stats_arrived(m->arrival, now, g.window);
            counted[i] = true;
        }
    }
    g.rate = (double)g.arrived * 60.0 / (double)g.window;
    /* Plugin guidelines: a threshold N alerts above N. */
    status = !counting ? CHECK_OK
           : checked > (uint64_t)crit ? CHECK_CRITICAL
           : checked > (uint64_t)warn ? CHECK_WARNING : CHECK_OK;
    if (cq.fleet)
        status = fleet_status(&cq, tally, warn, crit, &summary, &hosts, &nhosts, counted);
    else
        qt_buf_printf(&summary, "%" PRIu64 " message%s in %s", checked,
                      checked == 1 ? "" : "s", queue ? queue : "the queue");
    /* The growth of everything checked (all hosts together), over the worst
     * of the counts. */
    if (g.crit >= 0 && g.rate > g.crit && severity(status) < severity(CHECK_CRITICAL))
        status = CHECK_CRITICAL;
    else if (g.warn >= 0 && g.rate > g.warn && severity(status) < severity(CHECK_WARNING))
        status = CHECK_WARNING;
    if (age_text)
        qt_buf_printf(&summary, " (older than %s)", age_text);
    if (g.wanted)
        qt_buf_printf(&summary, ", %" PRIu64 " arrived in the last %s (%.2f/min)", g.arrived,
                      g.window_text, g.rate);
    if (a->json)
        print_json(status, summary.data, tally, queue, checked, warn, crit, age_text, age, expr,
                   &g, (int64_t)now, hosts, nhosts);
    else
        print_plugin(status, summary.data, tally, queue, only, checked, warn, crit, &g, hosts,
                     nhosts);
    qt_buf_free(&summary);
    free(hosts);
    free(counted);
    if (f && qt_filter_runtime_error(f))
        fprintf(stderr, "qtriage: filter: %s\n", qt_filter_runtime_error(f));
    qt_filter_free(f);
    cli_close_queue(&cq);
    return status;
}
