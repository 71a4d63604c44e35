/* "qtriage metrics": the queue in Prometheus's text format, on standard
 * output or written atomically for node_exporter's textfile collector. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "select.h"
#include "qtriage/metrics.h"
#include "qtriage/safe_file.h"

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* The collector reads *.prom files whenever it is scraped: it must see the
 * old file or the new one, never half of one.  safe_file.h writes it under
 * a temporary name in the same directory (not ending in .prom, so the
 * collector ignores it), fsyncs and renames it over the old file, reached
 * without following links through directories no one else can write.
 * 0644: readable by the node_exporter user whatever root's umask is. */
static bool write_atomically(const char *path, const struct qt_buf *text)
{
    struct qt_error err;

    if (qt_safe_replace_file(path, text->data, text->len, 0644, &err))
        return true;
    fprintf(stderr, "qtriage: metrics: %s\n", err.msg);
    return false;
}

int cli_metrics(const struct cli_call *call)
{
    const struct cli_metrics_args *a = call->args;
    struct qt_metrics_options mo;
    const char *output = a->output;
    struct qt_buf text = {0};
    struct timespec t0;
    struct cli_queue cq;
    long top = a->top ? a->top : QT_METRICS_TOP_DEFAULT;
    bool ok;

    if (call->argc > 1) {
        fprintf(stderr, "qtriage: metrics: unexpected argument \"%s\"\n", call->argv[1]);
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (!cli_load_store(&cq, call->common, NULL))
        return 3;
    qt_metrics_options_default(&mo, (int64_t)time(NULL));
    mo.top = (size_t)top;
    mo.scan_seconds = seconds_since(&t0);
    qt_metrics_format(&text, &cq.store, &mo);
    cli_close_queue(&cq);
    if (output) {
        ok = write_atomically(output, &text);
    } else {
        cli_write(text.data, text.len);
        ok = cli_output_finish() == 0;
    }
    qt_buf_free(&text);
    return ok ? 0 : 3;
}
