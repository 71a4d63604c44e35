/* The queue as Prometheus text exposition (see metrics.h). */
#include "qtriage/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qtriage/spool.h"
#include "qtriage/stats.h"
#include "qtriage/text.h"

/* qshape's default buckets (-t 5 -b 10): upper bounds in minutes.  The same
 * bounds as `qtriage shape` and the statistics pane, so a graph and the
 * table an admin runs by hand agree. */
static const int age_bucket_minutes[] = {5, 10, 20, 40, 80, 160, 320, 640, 1280};

/* The queues reported, in qshape's order; maildrop is where postdrop and
 * `postsuper -r` put mail, so it belongs in a graph too. */
static const enum qt_queue queues[] = {QT_Q_MAILDROP, QT_Q_INCOMING, QT_Q_ACTIVE,
                                       QT_Q_DEFERRED, QT_Q_HOLD, QT_Q_CORRUPT};

void qt_metrics_options_default(struct qt_metrics_options *o, int64_t now)
{
    memset(o, 0, sizeof(*o));
    o->top = QT_METRICS_TOP_DEFAULT;
    o->label_max = QT_METRICS_LABEL_MAX;
    o->now = now;
}

void qt_metrics_label_value(struct qt_buf *out, const char *s, size_t len, size_t max)
{
    struct qt_buf clean = {0};
    size_t i, cut;

    qt_text_sanitize(&clean, s, len);
    cut = clean.len;
    if (cut > max) {
        /* Back up to a character boundary, leaving room for the marker. */
        cut = max > 3 ? max - 3 : 0;
        while (cut > 0 && ((unsigned char)clean.data[cut] & 0xc0) == 0x80)
            cut--;
    }
    for (i = 0; i < cut; i++) {
        char c = clean.data[i];

        if (c == '\\' || c == '"')
            qt_buf_putc(out, '\\');
        qt_buf_putc(out, c);
    }
    if (cut < clean.len)
        qt_buf_append(out, "...", 3);
    qt_buf_free(&clean);
}

static void family(struct qt_buf *out, const char *name, const char *type, const char *help)
{
    qt_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* "{host="mx1",queue="deferred"" without the closing brace, or "{". */
static void labels_open(struct qt_buf *out, const struct qt_metrics_options *o)
{
    qt_buf_putc(out, '{');
    if (o->host) {
        qt_buf_append(out, "host=\"", 6);
        qt_metrics_label_value(out, o->host, strlen(o->host), o->label_max);
        qt_buf_putc(out, '"');
    }
}

static void series_queue(struct qt_buf *out, const struct qt_metrics_options *o,
                         const char *name, enum qt_queue q, const char *extra, double value)
{
    qt_buf_append(out, name, strlen(name));
    labels_open(out, o);
    qt_buf_printf(out, "%squeue=\"%s\"%s} %.17g\n", o->host ? "," : "", qt_queue_name(q),
                  extra ? extra : "", value);
}

struct per_queue {
    uint64_t count, bytes;
    uint64_t buckets[QT_ARRAY_LEN(age_bucket_minutes) + 1];  /* qshape's 10, not cumulative */
    double age_sum;
    int64_t oldest;             /* seconds; -1: empty */
};

static void count_queues(const struct qt_store *s, int64_t now, struct per_queue pq[QT_Q_COUNT],
                         uint64_t *unreadable)
{
    struct qt_shape_options shape_opts;
    const struct qt_shape_options *shape = &shape_opts;
    size_t i, b;

    qt_shape_options_default(&shape_opts);

    memset(pq, 0, sizeof(struct per_queue) * QT_Q_COUNT);
    for (i = 0; i < QT_Q_COUNT; i++)
        pq[i].oldest = -1;
    *unreadable = 0;
    for (i = 0; i < s->n; i++) {
        const struct qt_msg *m = &s->msgs[i];
        struct per_queue *p;
        int64_t age;

        if (m->queue >= QT_Q_COUNT)
            continue;
        if (m->flags & QT_MSG_UNREADABLE)
            (*unreadable)++;
        p = &pq[m->queue];
        /* A clock set back, or a file from the future: no negative ages. */
        age = m->arrival && now > (int64_t)m->arrival ? now - (int64_t)m->arrival : 0;
        p->count++;
        p->bytes += m->msg_size;
        p->age_sum += (double)age;
        if (age > p->oldest)
            p->oldest = age;
        /* qshape's own rounding, so the buckets equal its table's. */
        b = (size_t)qt_shape_bucket(age, shape);
        if (b >= 1 && b <= QT_ARRAY_LEN(p->buckets))
            p->buckets[b - 1]++;
    }
}

static void format_queues(struct qt_buf *out, const struct qt_store *s,
                          const struct qt_metrics_options *o, uint64_t *unreadable)
{
    struct per_queue pq[QT_Q_COUNT];
    size_t i, b;

    count_queues(s, o->now, pq, unreadable);
    family(out, "postfix_queue_messages", "gauge", "Messages in each Postfix queue.");
    for (i = 0; i < QT_ARRAY_LEN(queues); i++)
        series_queue(out, o, "postfix_queue_messages", queues[i], NULL,
                     (double)pq[queues[i]].count);
    family(out, "postfix_queue_bytes", "gauge",
           "Total size of the messages in each queue (Postfix's message_size), in bytes.");
    for (i = 0; i < QT_ARRAY_LEN(queues); i++)
        series_queue(out, o, "postfix_queue_bytes", queues[i], NULL,
                     (double)pq[queues[i]].bytes);
    family(out, "postfix_queue_message_age_seconds", "histogram",
           "Age of queued messages since their arrival, in qshape's buckets "
           "(5, 10, 20 ... 1280 minutes).");
    for (i = 0; i < QT_ARRAY_LEN(queues); i++) {
        const struct per_queue *p = &pq[queues[i]];
        uint64_t cumulative = 0;
        char le[64];

        for (b = 0; b < QT_ARRAY_LEN(age_bucket_minutes); b++) {
            cumulative += p->buckets[b];
            snprintf(le, sizeof(le), ",le=\"%d\"", age_bucket_minutes[b] * 60);
            series_queue(out, o, "postfix_queue_message_age_seconds_bucket", queues[i], le,
                         (double)cumulative);
        }
        /* The last of qshape's buckets ("1280+") is +Inf's share. */
        series_queue(out, o, "postfix_queue_message_age_seconds_bucket", queues[i],
                     ",le=\"+Inf\"", (double)p->count);
        series_queue(out, o, "postfix_queue_message_age_seconds_sum", queues[i], NULL,
                     p->age_sum);
        series_queue(out, o, "postfix_queue_message_age_seconds_count", queues[i], NULL,
                     (double)p->count);
    }
    family(out, "postfix_queue_oldest_message_age_seconds", "gauge",
           "Age of the oldest message in each queue, in seconds (0 when the queue is empty).");
    for (i = 0; i < QT_ARRAY_LEN(queues); i++)
        series_queue(out, o, "postfix_queue_oldest_message_age_seconds", queues[i], NULL,
                     pq[queues[i]].oldest < 0 ? 0.0 : (double)pq[queues[i]].oldest);
}

static void format_classes(struct qt_buf *out, const struct qt_store *s,
                           const struct qt_metrics_options *o)
{
    struct qt_stats st;
    size_t cls, i;

    qt_stats_init(&st);
    qt_stats_compute(&st, s, NULL, QT_BY_CLASS, o->now);
    family(out, "postfix_queue_delay_reason_class_messages", "gauge",
           "Messages with a recipient deferred for a reason of this class "
           "(a message can count in several).");
    /* Every class, zeros included: a series that comes and goes makes
     * rate() and alerts on it unreliable. */
    for (cls = 0; cls < qt_reason_class_count(); cls++) {
        const char *name = qt_reason_class_name(cls);
        uint64_t n = 0;

        for (i = 0; i < st.n; i++)
            if (st.groups[i].key_len == strlen(name) &&
                memcmp(st.groups[i].key, name, st.groups[i].key_len) == 0)
                n = st.groups[i].count;
        qt_buf_append(out, "postfix_queue_delay_reason_class_messages",
                      strlen("postfix_queue_delay_reason_class_messages"));
        labels_open(out, o);
        qt_buf_printf(out, "%sclass=\"%s\"} %llu\n", o->host ? "," : "", name,
                      (unsigned long long)n);
    }
    qt_stats_free(&st);
}

/* One top-N family: the N biggest groups, each a series; groups whose
 * labels are equal once cut to label_max are summed into the first, so
 * no series repeats; and one more family with what the N left out. */
static void format_top(struct qt_buf *out, const struct qt_store *s,
                       const struct qt_metrics_options *o, enum qt_stats_by by,
                       const char *metric, const char *label, const char *what)
{
    struct qt_stats st;
    struct qt_buf help = {0}, value = {0}, name = {0};
    char **seen = xcalloc(o->top, sizeof(*seen));
    uint64_t *counts = xcalloc(o->top, sizeof(*counts));
    uint64_t rest = 0;
    size_t i, j, nseen = 0;

    qt_stats_init(&st);
    qt_stats_compute(&st, s, NULL, by, o->now);
    for (i = 0; i < st.n; i++) {
        const struct qt_stats_group *g = &st.groups[i];

        if (g->key_len == 0 && !g->null_sender)
            continue;           /* no login, no client: not a group anyone floods as */
        qt_buf_reset(&value);
        if (g->null_sender)
            qt_buf_append(&value, "<>", 2);
        else
            qt_metrics_label_value(&value, g->key, g->key_len, o->label_max);
        for (j = 0; j < nseen; j++)
            if (strcmp(seen[j], value.data) == 0)
                break;
        if (j < nseen) {
            counts[j] += g->count;
        } else if (nseen < o->top) {
            seen[nseen] = xstrdup(value.data);
            counts[nseen++] = g->count;
        } else {
            rest += g->count;
        }
    }
    qt_buf_printf(&help, "Messages of the %zu %s with the most queued mail.", o->top, what);
    qt_buf_printf(&name, "qtriage_top_%s_messages", metric);
    family(out, name.data, "gauge", help.data);
    for (j = 0; j < nseen; j++) {
        qt_buf_append(out, name.data, name.len);
        labels_open(out, o);
        qt_buf_printf(out, "%s%s=\"%s\"} %llu\n", o->host ? "," : "", label, seen[j],
                      (unsigned long long)counts[j]);
        free(seen[j]);
    }
    qt_buf_reset(&help);
    qt_buf_printf(&help, "Messages of the %s outside the top %zu.", what, o->top);
    qt_buf_reset(&name);
    qt_buf_printf(&name, "qtriage_top_%s_other_messages", metric);
    family(out, name.data, "gauge", help.data);
    qt_buf_append(out, name.data, name.len);
    if (o->host) {
        labels_open(out, o);
        qt_buf_putc(out, '}');
    }
    qt_buf_printf(out, " %llu\n", (unsigned long long)rest);
    qt_stats_free(&st);
    qt_buf_free(&help);
    qt_buf_free(&value);
    qt_buf_free(&name);
    free(seen);
    free(counts);
}

static void scalar(struct qt_buf *out, const struct qt_metrics_options *o, const char *name,
                   const char *help, double value)
{
    family(out, name, "gauge", help);
    qt_buf_append(out, name, strlen(name));
    if (o->host) {
        labels_open(out, o);
        qt_buf_putc(out, '}');
    }
    /* Counts print exactly; a duration needs no more than microseconds. */
    if (value == (double)(int64_t)value)
        qt_buf_printf(out, " %lld\n", (long long)value);
    else
        qt_buf_printf(out, " %.6f\n", value);
}

void qt_metrics_format(struct qt_buf *out, const struct qt_store *s,
                       const struct qt_metrics_options *o)
{
    struct qt_metrics_options opt = *o;
    uint64_t unreadable = 0;

    if (opt.top < 1)
        opt.top = 1;
    if (opt.top > QT_METRICS_TOP_MAX)
        opt.top = QT_METRICS_TOP_MAX;
    if (opt.label_max < 16)
        opt.label_max = 16;
    if (opt.label_max > 1024)
        opt.label_max = 1024;
    format_queues(out, s, &opt, &unreadable);
    format_classes(out, s, &opt);
    format_top(out, s, &opt, QT_BY_SENDER, "sender", "sender", "envelope senders");
    format_top(out, s, &opt, QT_BY_SASL, "sasl_username", "sasl_username", "SASL logins");
    format_top(out, s, &opt, QT_BY_CLIENT, "client_address", "client_address",
               "client addresses");
    scalar(out, &opt, "qtriage_unreadable_files",
           "Queue files qtriage found but could not read (vanished ones are not counted).",
           (double)unreadable);
    scalar(out, &opt, "qtriage_scan_duration_seconds",
           "How long reading the queue took, in seconds.", opt.scan_seconds);
    scalar(out, &opt, "qtriage_scan_timestamp_seconds",
           "When the queue was read, in seconds since the epoch.", (double)opt.now);
}
