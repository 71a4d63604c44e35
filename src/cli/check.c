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
#include "qtriage/stats.h"
#include "qtriage/text.h"
#include "select.h"

enum { CHECK_OK, CHECK_WARNING, CHECK_CRITICAL, CHECK_UNKNOWN };

static const char *const status_names[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};

/* The queues a plugin reports, in the order of the perfdata. */
static const enum qt_queue perf_queues[] = {
    QT_Q_ACTIVE, QT_Q_DEFERRED, QT_Q_HOLD, QT_Q_INCOMING, QT_Q_MAILDROP,
};

static int unknown(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int unknown(const char *fmt, ...)
{
    struct qt_buf msg = {0}, line = {0};
    va_list ap;

    va_start(ap, fmt);
    qt_buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    /* The message quotes the command line and the reader's errors; a
     * monitoring dashboard shows the line as it is. */
    qt_text_sanitize(&line, msg.data, msg.len);
    printf("QTRIAGE UNKNOWN - %s\n", line.data ? line.data : "");
    qt_buf_free(&msg);
    qt_buf_free(&line);
    return CHECK_UNKNOWN;
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
    uint64_t counts[QT_Q_COUNT] = {0}, checked = 0;
    enum qt_queue only = common->queue;
    struct cli_queue cq;
    struct qt_error why = {""};
    struct qt_filter *f;
    time_t now;
    size_t i;
    bool bad;
    int status;

    if (call->argc > 1)
        return unknown("unexpected argument \"%s\"", call->argv[1]);
    if (warn < 0 || crit < 0)
        return unknown("%s", "--warn and --crit are both needed");
    if (warn > crit)
        return unknown("%s", "--warn must not be above --crit");
    f = cli_filter_compile(expr, NULL, &bad);
    if (bad)
        return unknown("bad --filter \"%s\" (see stderr)", expr);
    if (!cli_load_store(&cq, common, &why)) {
        qt_filter_free(f);
        return unknown("cannot read the queue: %s", why.msg[0] ? why.msg : "see stderr");
    }
    now = time(NULL);
    for (i = 0; i < cq.store.n; i++) {
        const struct qt_msg *m = &cq.store.msgs[i];

        if (age >= 0 && now - (int64_t)m->arrival <= age)
            continue;
        if (f && !qt_filter_match(f, &cq.store, m, now))
            continue;
        counts[m->queue]++;
        if (!queue || m->queue == only)
            checked++;
    }
    /* Plugin guidelines: a threshold N alerts above N. */
    status = checked > (uint64_t)crit ? CHECK_CRITICAL
           : checked > (uint64_t)warn ? CHECK_WARNING : CHECK_OK;
    printf("QTRIAGE %s - %" PRIu64 " message%s in %s", status_names[status], checked,
           checked == 1 ? "" : "s", queue ? queue : "the queue");
    if (age_text)
        printf(" (older than %s)", age_text);
    printf(" |");
    for (i = 0; i < QT_ARRAY_LEN(perf_queues); i++) {
        enum qt_queue q = perf_queues[i];

        if (queue && q == only)
            printf(" %s=%" PRIu64 ";%ld;%ld;0", qt_queue_name(q), counts[q], warn, crit);
        else
            printf(" %s=%" PRIu64 ";;;0", qt_queue_name(q), counts[q]);
    }
    if (!queue)
        printf(" total=%" PRIu64 ";%ld;%ld;0", checked, warn, crit);
    putchar('\n');
    qt_filter_free(f);
    cli_close_queue(&cq);
    return status;
}
