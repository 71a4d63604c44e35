/* qtriage export (--mbox FILE | --dir DIR) (--filter EXPR | ID... | -) */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "open.h"
#include "qtriage/export.h"
#include "qtriage/fleet.h"

int cli_export(const struct cli_call *call)
{
    const struct cli_export_args *a = call->args;
    struct cli_common *common = call->common;
    enum qt_export_format fmt = a->mbox ? QT_EXPORT_MBOX : QT_EXPORT_EML_DIR;
    const char *path = a->mbox ? a->mbox : a->dir, *filter = common->filter;
    struct cli_targets t = {0};
    struct qt_export_result res;
    struct cli_queue cq;
    bool ok;
    size_t i;
    int rc;

    if (!path) {
        fprintf(stderr, "qtriage: export: where to? --mbox FILE or --dir DIR\n");
        return 2;
    }
    if (filter && call->argc > 1) {
        fprintf(stderr, "qtriage: export: give either --filter or queue IDs, not both\n");
        return 2;
    }
    if (!cli_open_queue(&cq, common, filter == NULL))
        return 3;
    if (cq.fleet && !filter)
        cli_load_queue(&cq);    /* which hosts answer; the feed is drained */
    if (filter) {
        if ((rc = cli_targets_from_filter(&t, &cq, filter)) != 0)
            goto out;
    } else {
        cli_targets_from_args(&t, call->argc, call->argv, 1);
        if (t.n == 0) {
            fprintf(stderr, "qtriage: export: no queue IDs given (list them, '-' to read "
                    "them from standard input, or --filter EXPR)\n");
            rc = 2;
            goto out;
        }
    }
    if (cq.fleet ? !cli_fleet_targets_valid(&t, &cq, "export")
                 : !cli_targets_valid(&t, "export")) {
        rc = 2;
        goto out;
    }
    ok = cq.fleet ? qt_fleet_export_run(cq.backend, fmt, path, t.t, t.n, &res)
                  : qt_export_run(&cq.layout, fmt, path, t.t, t.n, &res);
    if (res.nexported || res.ngone || res.nfailed || ok)
        printf("%s\n", res.message);
    for (i = 0; i < res.ngone; i++)
        printf("gone: %s\n", res.gone[i]);
    for (i = 0; i < res.nfailed; i++)
        printf("not exported: %s: %s\n", res.failed[i], res.failed_why[i]);
    if (!ok)
        fprintf(stderr, "qtriage: %s\n", res.message);
    rc = ok ? 0 : 1;
    qt_export_result_free(&res);
out:
    cli_close_queue(&cq);
    cli_targets_free(&t);
    return rc;
}
