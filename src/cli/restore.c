/* qtriage restore DIR|MBOX [--dry-run] [--filter EXPR] [--force] [ID...] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "open.h"
#include "qtriage/proc.h"
#include "qtriage/restore.h"

/* Postfix's own answer for where its sendmail is (sendmail_path). */
static char *find_sendmail(const struct qt_spool_layout *l)
{
    static const char *const names[] = {"sendmail_path"};
    char **v = qt_postconf_values(l->postconf, l->config_dir, names, 1, NULL);
    char *path = NULL;

    if (v && v[0][0] == '/')
        path = xstrdup(v[0]);
    if (v)
        qt_strv_free(v, 1);
    return path ? path : qt_proc_find_program("sendmail");
}

static void print_item(const struct qt_restore_item *it)
{
    switch (it->status) {
    case QT_RESTORE_SENT:
        if (it->new_id[0])
            printf("restored %s as %s (%zu recipient%s)\n", it->old_id, it->new_id, it->nrcpts,
                   it->nrcpts == 1 ? "" : "s");
        else
            printf("restored %s (%zu recipient%s; new queue ID not seen: delivered at once, "
                   "or pickup is not running)\n", it->old_id, it->nrcpts,
                   it->nrcpts == 1 ? "" : "s");
        break;
    case QT_RESTORE_ALREADY:
        printf("already restored: %s%s%s\n", it->old_id, it->new_id[0] ? " as " : "",
               it->new_id);
        break;
    case QT_RESTORE_WOULD:
        printf("would restore %s (%zu recipient%s)\n", it->old_id, it->nrcpts,
               it->nrcpts == 1 ? "" : "s");
        break;
    case QT_RESTORE_NOTHING:
        printf("nothing to restore: %s (no pending recipients)\n", it->old_id);
        break;
    case QT_RESTORE_SUPERSEDED:
        printf("skipped %s: an older copy; a later export of it in the same backup is "
               "the one restored\n", it->old_id);
        break;
    case QT_RESTORE_FAILED:
        printf("not restored: %s: %s\n", it->old_id, it->why);
        break;
    }
}

int cli_restore(const struct cli_call *call)
{
    const struct cli_restore_args *a = call->args;
    struct cli_common *common = call->common;
    struct qt_restore_options opt = {0};
    struct qt_restore_result res;
    struct qt_spool_layout layout = {0};
    struct qt_filter_error ferr;
    struct qt_error err = {""};
    char *sendmail = NULL;
    size_t i;
    bool ok;
    int rc = 1;

    if (call->argc < 2) {
        fprintf(stderr, "qtriage: restore: from where? restore DIR|MBOX [ID...]\n");
        return 2;
    }
    opt.source = call->argv[1];
    opt.ids = call->argv + 2;
    opt.nids = (size_t)(call->argc - 2);
    opt.dry_run = a->dry_run;
    opt.force = a->force;
    for (i = 0; i < opt.nids; i++)
        if (!qt_queue_id_valid(opt.ids[i])) {
            fprintf(stderr, "qtriage: restore: not a queue ID: \"%.64s\"\n", opt.ids[i]);
            return 2;
        }
    if (common->filter && !(opt.filter = qt_filter_compile(common->filter, &ferr))) {
        fprintf(stderr, "qtriage: restore: --filter: %s (at %zu)\n", ferr.msg, ferr.pos);
        return 2;
    }
    if (!qt_spool_layout_load(&layout, common->config_dir, &err)) {
        fprintf(stderr, "qtriage: restore: %s\n", err.msg);
        rc = 3;
        goto out;
    }
    sendmail = find_sendmail(&layout);
    if (!sendmail) {
        fprintf(stderr, "qtriage: restore: Postfix's sendmail was not found\n");
        rc = 3;
        goto out;
    }
    opt.layout = &layout;
    opt.sendmail = sendmail;
    ok = qt_restore_run(&opt, &res);
    for (i = 0; i < res.n; i++)
        print_item(&res.items[i]);
    for (i = 0; i < res.nmissing; i++)
        printf("not in the backup: %s\n", res.missing[i]);
    printf("%s\n", res.message);
    if (!ok)
        fprintf(stderr, "qtriage: %s\n", res.message);
    rc = ok ? 0 : 1;
    qt_restore_result_free(&res);
out:
    free(sendmail);
    qt_spool_layout_free(&layout);
    if (opt.filter)
        qt_filter_free(opt.filter);
    return rc;
}
