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

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* The collector reads *.prom files whenever it is scraped: it must see the
 * old file or the new one, never half of one.  So: a temporary name in the
 * same directory (the collector ignores names not ending in .prom), fsync,
 * rename over the old file. */
static bool write_atomically(const char *path, const struct qt_buf *text)
{
    char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    size_t done = 0;

    if (fd < 0) {
        fprintf(stderr, "qtriage: metrics: cannot create %s: %s\n", tmp, strerror(errno));
        free(tmp);
        return false;
    }
    /* Readable by the node_exporter user whatever root's umask is. */
    if (fchmod(fd, 0644) != 0)
        goto fail;
    while (done < text->len) {
        ssize_t w = write(fd, text->data + done, text->len - done);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto fail;
        done += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto fail;
    free(tmp);
    return true;
fail:
    fprintf(stderr, "qtriage: metrics: cannot write %s: %s\n", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    free(tmp);
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
