#include "open.h"

#include <stdio.h>
#include <string.h>

bool cli_open_queue(struct cli_queue *cq, const struct cli_common *common, bool need_actions)
{
    struct qt_error err = {""};
    enum qt_backend_kind kind = QT_BACKEND_AUTO;

    memset(cq, 0, sizeof(*cq));
    if (common->backend) {
        if (strcmp(common->backend, "spool") == 0)
            kind = QT_BACKEND_SPOOL;
        else if (strcmp(common->backend, "postqueue") == 0)
            kind = QT_BACKEND_POSTQUEUE;
        else if (strcmp(common->backend, "auto") != 0) {
            fprintf(stderr, "qtriage: unknown backend \"%s\" (spool, postqueue or auto)\n",
                    common->backend);
            return false;
        }
    }
    if (!qt_spool_layout_load(&cq->layout, common->config_dir, &err)) {
        fprintf(stderr, "qtriage: cannot read the Postfix configuration%s%s: %s\n",
                common->config_dir ? " in " : "",
                common->config_dir ? common->config_dir : "", err.msg);
        cq->error = err;
        return false;
    }
    if (need_actions)
        return true;
    qt_feed_init(&cq->feed);
    cq->feed_live = true;
    cq->backend = qt_backend_open(&cq->layout, &cq->feed, kind, &err);
    if (!cq->backend) {
        fprintf(stderr, "qtriage: %s\n", err.msg);
        cli_close_queue(cq);
        cq->error = err;
        return false;
    }
    qt_store_init(&cq->store);
    cq->store_live = true;
    return true;
}

static void print_error(void *ctx, const char *msg)
{
    struct cli_queue *cq = ctx;

    fprintf(stderr, "qtriage: %s\n", msg);
    if (!cq->error.msg[0])
        qt_error_set(&cq->error, "%s", msg);
}

bool cli_load_queue(struct cli_queue *cq)
{
    return qt_backend_load(cq->backend, &cq->store, print_error, cq);
}

void cli_close_queue(struct cli_queue *cq)
{
    qt_backend_close(cq->backend);
    if (cq->store_live)
        qt_store_free(&cq->store);
    if (cq->feed_live)
        qt_feed_destroy(&cq->feed);
    qt_spool_layout_free(&cq->layout);
    memset(cq, 0, sizeof(*cq));
}
