/* qtriage stats: the top groups of the queue (who and what fills it), and
 * the Postfix settings that decide how fast it drains. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "qtriage/stats.h"
#include "qtriage/text.h"
#include "qtriage/view.h"
#include "select.h"

static void print_settings_text(const struct qt_queue_settings *qs, size_t active)
{
    int i;

    printf("\nPostfix settings that shape the queue:\n");
    for (i = 0; i < QT_SET_COUNT; i++) {
        struct qt_buf v = {0};

        /* postconf's words for the value: the config is not ours to trust. */
        qt_text_sanitize_str(&v, qs->text[i]);
        printf("  %-38s %s", qt_queue_setting_names[i], v.data ? v.data : "");
        qt_buf_free(&v);
        if (i == QT_SET_QMGR_MESSAGE_ACTIVE_LIMIT)
            printf(" (active queue: %zu)", active);
        putchar('\n');
    }
    if (qt_queue_settings_active_full(qs, active))
        printf("WARNING: the active queue is at its limit (%zu of %" PRId64 " messages): qmgr "
               "moves no more mail in from incoming or deferred until some leaves\n", active,
               qs->value[QT_SET_QMGR_MESSAGE_ACTIVE_LIMIT]);
}

static void json_settings(struct qt_buf *out, const struct qt_queue_settings *qs, size_t active)
{
    int i;

    qt_buf_printf(out, ",\"settings\":{");
    for (i = 0; i < QT_SET_COUNT; i++) {
        cli_json_string(out, qt_queue_setting_names[i]);
        if (qs->value[i] >= 0)
            qt_buf_printf(out, ":%" PRId64 ",", qs->value[i]);
        else
            qt_buf_printf(out, ":null,");
    }
    qt_buf_printf(out, "\"active_messages\":%zu,\"active_queue_full\":%s}", active,
                  qt_queue_settings_active_full(qs, active) ? "true" : "false");
}

/* With --sort rate, the arrival rates (messages a minute) beside the
 * counts; the count table keeps its old columns for whoever reads it. */
static void print_text(const struct qt_stats *st, size_t top)
{
    bool rates = st->sort == QT_STATS_SORT_RATE;
    size_t i;
    char size[32];
    int k;

    printf("%8s %6s  ", "COUNT", "SIZE");
    if (rates)
        printf("%7s %7s %7s  ", "5M/MIN", "15M/MIN", "60M/MIN");
    printf("%s\n", qt_stats_by_info[st->by].title);
    for (i = 0; i < st->n && i < top; i++) {
        qt_format_size(st->groups[i].size, size, sizeof(size));
        printf("%8" PRIu64 " %6s  ", st->groups[i].count, size);
        for (k = 0; rates && k < QT_STATS_NWINDOWS; k++)
            printf("%7.1f%s", qt_stats_rate(st->groups[i].arrived[k], k),
                   k + 1 < QT_STATS_NWINDOWS ? " " : "  ");
        printf("%s\n", st->groups[i].label);
    }
    qt_format_size(st->size, size, sizeof(size));
    printf("%" PRIu64 " message%s (%s) in %zu group%s", st->messages,
           st->messages == 1 ? "" : "s", size, st->n, st->n == 1 ? "" : "s");
    if (st->n > top)
        printf(", top %zu shown", top);
    if (st->ungrouped)
        printf("; %" PRIu64 " in none (%s)", st->ungrouped,
               st->by == QT_BY_RCPT_DOMAIN ? "no pending recipient" : "no delay reason");
    putchar('\n');
    if (rates)
        printf("arrived in the last 5/15/60 minutes: %" PRIu64 "/%" PRIu64 "/%" PRIu64
               " messages still queued (%.1f/%.1f/%.1f a minute)\n", st->arrived[0],
               st->arrived[1], st->arrived[2], qt_stats_rate(st->arrived[0], 0),
               qt_stats_rate(st->arrived[1], 1), qt_stats_rate(st->arrived[2], 2));
}

/* "arrived":{"5m":N,...},"rate_per_min":{"5m":R,...} */
static void json_arrivals(struct qt_buf *out, const uint64_t *arrived)
{
    int k;

    qt_buf_printf(out, ",\"arrived\":{");
    for (k = 0; k < QT_STATS_NWINDOWS; k++)
        qt_buf_printf(out, "%s\"%s\":%" PRIu64, k ? "," : "", qt_stats_window_names[k],
                      arrived[k]);
    qt_buf_printf(out, "},\"rate_per_min\":{");
    for (k = 0; k < QT_STATS_NWINDOWS; k++)
        qt_buf_printf(out, "%s\"%s\":%.6g", k ? "," : "", qt_stats_window_names[k],
                      qt_stats_rate(arrived[k], k));
    qt_buf_putc(out, '}');
}

static void print_json(const struct qt_stats *st, size_t top, const struct qt_queue_settings *qs,
                       size_t active)
{
    struct qt_buf out = {0}, expr = {0};
    size_t i;

    qt_buf_printf(&out, "{\"by\":\"%s\",\"sort\":\"%s\",\"now\":%" PRId64
                  ",\"messages\":%" PRIu64 ",\"size\":%" PRIu64 ",\"ungrouped\":%" PRIu64,
                  qt_stats_by_info[st->by].name,
                  st->sort == QT_STATS_SORT_RATE ? "rate" : "count", st->now, st->messages,
                  st->size, st->ungrouped);
    json_arrivals(&out, st->arrived);
    qt_buf_printf(&out, ",\"groups\":[");
    for (i = 0; i < st->n && i < top; i++) {
        const struct qt_stats_group *g = &st->groups[i];

        qt_buf_printf(&out, "%s{\"key\":", i ? "," : "");
        cli_json_string(&out, g->key);
        qt_buf_printf(&out, ",\"label\":");
        cli_json_string(&out, g->label);
        if (g->null_sender)
            qt_buf_printf(&out, ",\"null_sender\":true");
        qt_buf_printf(&out, ",\"count\":%" PRIu64 ",\"size\":%" PRIu64, g->count, g->size);
        json_arrivals(&out, g->arrived);
        qt_buf_printf(&out, ",\"filter\":");
        qt_buf_reset(&expr);
        if (qt_stats_filter_expr(st, g, &expr))
            cli_json_string(&out, expr.data);
        else
            qt_buf_printf(&out, "null");
        qt_buf_putc(&out, '}');
    }
    qt_buf_putc(&out, ']');
    if (qs)
        json_settings(&out, qs, active);
    qt_buf_printf(&out, "}\n");
    cli_write(out.data, out.len);
    qt_buf_free(&out);
    qt_buf_free(&expr);
}

int cli_stats(const struct cli_call *call)
{
    const struct cli_stats_args *a = call->args;
    struct cli_common *common = call->common;
    enum qt_stats_by by = (enum qt_stats_by)a->by;
    bool json = a->json, bad, have_settings;
    long top = a->top ? a->top : 20;
    struct qt_queue_settings qs;
    struct qt_error err = {""};
    struct cli_queue cq;
    struct qt_filter *f;
    struct qt_stats st;
    time_t now;

    if (call->argc > 1) {
        fprintf(stderr, "qtriage: stats: unexpected argument \"%s\"\n", call->argv[1]);
        return 2;
    }
    f = cli_filter_compile(common->filter, common->have_queue ? &common->queue : NULL, &bad);
    if (bad)
        return 2;
    if (!cli_load_store(&cq, common, NULL)) {
        qt_filter_free(f);
        return 3;
    }
    cli_filter_headers(f, &cq);
    now = time(NULL);
    qt_stats_init(&st);
    st.sort = (enum qt_stats_sort)a->sort;
    qt_stats_compute(&st, &cq.store, f, by, now);
    /* A fleet has one set of settings per host: none shown. */
    have_settings = !cq.fleet && qt_queue_settings_load(&qs, &cq.layout, &err);
    if (!have_settings && !cq.fleet)
        fprintf(stderr, "qtriage: cannot read the queue settings: %s\n", err.msg);
    if (json) {
        print_json(&st, (size_t)top, have_settings ? &qs : NULL, cq.store.per_queue[QT_Q_ACTIVE]);
    } else {
        print_text(&st, (size_t)top);
        if (have_settings)
            print_settings_text(&qs, cq.store.per_queue[QT_Q_ACTIVE]);
    }
    if (f && qt_filter_runtime_error(f))
        fprintf(stderr, "qtriage: %s\n", qt_filter_runtime_error(f));
    if (have_settings)
        qt_queue_settings_free(&qs);
    qt_stats_free(&st);
    qt_filter_free(f);
    cli_close_queue(&cq);
    return cli_output_finish();
}
