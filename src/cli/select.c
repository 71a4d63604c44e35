/* The messages a reporting command works on: a loaded queue and the filter
 * made of its --filter and --queue options. */
#include "select.h"

#include <stdio.h>

struct qt_filter *cli_compile_filter(const char *expr, const char *queue, bool *bad)
{
    struct qt_filter_error err;
    struct qt_filter *f;
    struct qt_buf q = {0};
    enum qt_queue qq;

    *bad = false;
    if (expr && !(f = qt_filter_compile(expr, &err))) {
        fprintf(stderr, "qtriage: bad filter at byte %zu: %s\n", err.pos, err.msg);
        *bad = true;
        return NULL;
    } else if (expr) {
        qt_filter_free(f);
    }
    if (queue && !qt_queue_from_name(queue, &qq)) {
        fprintf(stderr, "qtriage: unknown queue \"%s\" (maildrop, incoming, active, deferred, "
                "hold, corrupt)\n", queue);
        *bad = true;
        return NULL;
    }
    if (queue)
        qt_buf_printf(&q, "queue=%s", queue);
    if (expr)
        qt_buf_printf(&q, "%s(%s)", queue ? " and " : "", expr);
    f = qt_filter_compile(q.data ? q.data : "", &err);
    qt_buf_free(&q);
    return f;
}

bool cli_load_store(struct cli_queue *cq, struct cli_common *common, struct qt_error *why)
{
    if (!cli_open_queue(cq, common, false)) {
        if (why)
            *why = cq->error;
        return false;
    }
    if (!cli_load_queue(cq)) {
        if (why)
            *why = cq->error;
        cli_close_queue(cq);
        return false;
    }
    return true;
}
