/* The messages a reporting command works on: a loaded queue and the filter
 * made of its --filter and --queue options. */
#include "select.h"

#include <stdio.h>

#include "qtriage/text.h"

struct qt_filter *cli_filter_compile(const char *expr, const enum qt_queue *queue, bool *bad)
{
    struct qt_filter_error err = {0};
    struct qt_filter *f = NULL;
    struct qt_buf q = {0};

    *bad = false;
    if (!expr && !queue)
        return NULL;
    /* The expression alone first, so an error points into what was typed. */
    if (expr && !(f = qt_filter_compile(expr, &err))) {
        struct qt_buf line = {0};

        /* The expression may be pasted from a message: quoted sanitised. */
        qt_buf_printf(&q, "%s (at character %zu of \"%s\")", err.msg, err.pos + 1, expr);
        qt_text_sanitize(&line, q.data, q.len);
        fprintf(stderr, "qtriage: filter: %s\n", line.data);
        qt_buf_free(&line);
        qt_buf_free(&q);
        *bad = true;
        return NULL;
    }
    if (!queue)
        return f;
    if (expr)
        qt_filter_free(f);
    qt_buf_printf(&q, "queue=%s", qt_queue_name(*queue));
    if (expr)
        qt_buf_printf(&q, " and (%s)", expr);
    f = qt_filter_compile(q.data, &err);
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
    /* A fleet's lost host is said on stderr and in its state; the hosts
     * that answered still count. */
    if (!cli_load_queue(cq) && !cq->fleet) {
        if (why)
            *why = cq->error;
        cli_close_queue(cq);
        return false;
    }
    return true;
}
