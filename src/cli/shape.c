/* qtriage shape: qshape's table, byte for byte, from the loaded queue. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "qtriage/stats.h"
#include "select.h"

int cli_shape(const struct cli_call *call)
{
    const struct cli_shape_args *a = call->args;
    struct qt_shape_options o;
    struct qt_shape sh;
    struct cli_queue cq;
    struct qt_buf out = {0};
    struct qt_error err = {""};
    long width = a->width ? a->width : 80, lines = a->lines;
    time_t now;

    qt_shape_options_default(&o);
    o.sender = a->sender;
    o.parents = a->parents;
    o.linear = a->linear;
    if (a->tick > 0)
        o.tick = a->tick;
    if (a->buckets)
        o.buckets = (int)a->buckets;
    if (a->min_subdomains)
        o.min_subdomains = (int)a->min_subdomains;
    for (int i = 1; i < call->argc; i++) {
        enum qt_queue q;

        if (!cli_parse_queue(call->argv[i], &q, &err))
            return cli_usage_error(call->command, "%s", err.msg);
        o.queues[q] = true;
    }
    /* qshape measures ages from the moment it starts. */
    now = time(NULL);
    if (!cli_load_store(&cq, call->common, NULL))
        return 3;
    qt_shape_init(&sh);
    qt_shape_compute(&sh, &cq.store, NULL, &o, now);
    qt_shape_format(&sh, (int)width, (size_t)lines, &out);
    cli_write(out.data, out.len);
    qt_buf_free(&out);
    qt_shape_free(&sh);
    cli_close_queue(&cq);
    return cli_output_finish();
}
