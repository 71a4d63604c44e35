/* qtriage hold|release|requeue|delete|expire|deliver (ID...|-|--filter EXPR)
 * [--dry-run] [--yes] [--backup-dir DIR], and qtriage flush, qtriage
 * flush-site SITE. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "follow.h"
#include "open.h"
#include "qtriage/actions.h"
#include "qtriage/export.h"
#include "qtriage/fleet.h"
#include "qtriage/pace.h"

/* What the command line asked of an action. */
struct act_options {
    const char *filter;
    const char *backup_dir;
    bool dry_run, yes;
    const struct cli_duration *follow;  /* NULL: act once */
    struct qt_pace pace;                /* batch 0: all at once */
    char pace_text[200];                /* how, for the plan and the question */
};

/* What would be done: one summary line, then the IDs, one a line (so the
 * list can be fed to another qtriage command with "-"). */
static void print_plan(FILE *out, enum qt_action a, const struct act_options *o,
                       const struct cli_targets *t, const char *why)
{
    size_t i;

    fprintf(out, "%s: %zu message%s would be acted on", qt_action_name(a), t->n,
            t->n == 1 ? "" : "s");
    if (o->backup_dir)
        fprintf(out, " (exported to %s first; only those exported are deleted)",
                o->backup_dir);
    if (o->follow)
        fprintf(out, ", then each new match for %s", o->follow->text);
    if (o->pace.batch)
        fprintf(out, ", %s", o->pace_text);
    fprintf(out, " (%s)\n", why);
    for (i = 0; i < t->n; i++)
        fprintf(out, "%s\n", t->t[i].id);
}

/* Ask on the terminal; true only for an explicit yes, or "u" (then
 * *unpaced) when the pace is the default one the admin may refuse. */
static bool confirm(enum qt_action a, const struct act_options *o, size_t n, bool offer_unpaced,
                    bool *unpaced)
{
    char answer[16];

    fprintf(stderr, "%s %zu message%s matching \"%s\"%s%s%s%s%s%s? %s", qt_action_name(a),
            n, n == 1 ? "" : "s", o->filter, o->backup_dir ? ", exporting them first to " : "",
            o->backup_dir ? o->backup_dir : "",
            o->follow ? ", and each new match for " : "", o->follow ? o->follow->text : "",
            o->pace.batch ? ", " : "", o->pace.batch ? o->pace_text : "",
            offer_unpaced ? "" : "[y/N] ");
    if (offer_unpaced)
        fprintf(stderr, "[y = paced / u = all at once, unpaced / N] ");
    fflush(stderr);
    if (!fgets(answer, sizeof(answer), stdin))
        return false;
    if (offer_unpaced && (strcmp(answer, "u\n") == 0 || strcmp(answer, "U\n") == 0)) {
        *unpaced = true;
        return true;
    }
    return strcmp(answer, "y\n") == 0 || strcmp(answer, "yes\n") == 0 ||
           strcmp(answer, "Y\n") == 0;
}

static void print_result(const struct qt_action_result *res, bool ok)
{
    size_t i;

    if (ok)
        printf("%s\n", res->message);
    else
        fprintf(stderr, "qtriage: %s\n", res->message);
    for (i = 0; i < res->ngone; i++)
        printf("gone: %s\n", res->gone[i]);
    for (i = 0; i < res->nskipped; i++)
        printf("not applicable: %s\n", res->skipped[i]);
}

/* Delete with a backup: the delete's own lines, then what the export did;
 * the messages that were not exported stay queued and are named. */
static int run_backup_delete(struct cli_queue *cq, const struct act_options *o,
                             const struct cli_targets *t)
{
    struct qt_export_result er;
    struct qt_action_result ar;
    bool ok = qt_export_then_delete(&cq->layout, o->backup_dir, t->t, t->n, &er, &ar);
    size_t i;

    print_result(&ar, !ar.failed && !ar.ninvalid);
    if (!ar.ninvalid)
        printf("%s\n", er.message);
    for (i = 0; i < er.ngone; i++)
        printf("gone: %s\n", er.gone[i]);
    for (i = 0; i < er.nfailed; i++)
        printf("not exported: %s: %s\n", er.failed[i], er.failed_why[i]);
    if (er.nfailed)
        fprintf(stderr, "qtriage: delete: %zu message%s could not be exported to %s and "
                "%s NOT deleted (first: %s)\n", er.nfailed, er.nfailed == 1 ? "" : "s",
                o->backup_dir, er.nfailed == 1 ? "was" : "were", er.failed_why[0]);
    else if (!ok && !ar.failed && !ar.ninvalid && er.nexported == 0)
        fprintf(stderr, "qtriage: %s\n", er.message);
    qt_export_result_free(&er);
    qt_action_result_free(&ar);
    return ok ? 0 : ar.ninvalid ? 2 : 1;
}

/* --hosts: one request per host, in parallel; one line per host, and a
 * failure status naming every host where it did not work. */
static int run_fleet_action(struct cli_queue *cq, enum qt_action a, const struct cli_targets *t,
                            const char *site)
{
    struct qt_fleet_act_result *r = NULL;
    size_t n = qt_fleet_act(cq->backend, a, t->t, t->n, site, &r), i;
    struct qt_buf line = {0}, bad = {0};
    bool ok;

    qt_fleet_act_summary(a, r, n, &line);
    printf("%s\n", line.data ? line.data : "");
    for (i = 0; i < n; i++) {
        if (r[i].outcome == QT_FLEET_DONE)
            continue;
        qt_buf_printf(&bad, "%s%s", bad.len ? ", " : "", r[i].host);
        if (r[i].message[0])
            fprintf(stderr, "qtriage: %s: %s: %s\n", qt_action_name(a), r[i].host,
                    r[i].message);
    }
    ok = qt_fleet_act_ok(r, n);
    if (!ok)
        fprintf(stderr, "qtriage: %s: not done on every host: %s\n", qt_action_name(a),
                bad.data);
    qt_buf_free(&line);
    qt_buf_free(&bad);
    free(r);
    return ok ? 0 : 1;
}

bool cli_fleet_targets_valid(const struct cli_targets *t, struct cli_queue *cq,
                                const char *cmd)
{
    for (size_t i = 0; i < t->n; i++) {
        char host[QT_FLEET_HOST_MAX + 1], why[400];
        const char *qid;

        if (!qt_fleet_split_id(t->t[i].id, host, sizeof(host), &qid) ||
            !qt_queue_id_valid(qid)) {
            fprintf(stderr, "qtriage: %s: \"%.64s\" is not HOST:QUEUEID (with --hosts, as "
                    "list shows them); nothing done\n", cmd, t->t[i].id);
            return false;
        }
        if (!qt_fleet_host_usable(cq->backend, host, why, sizeof(why)) &&
            strstr(why, "not a host")) {
            fprintf(stderr, "qtriage: %s: %s; nothing done\n", cmd, why);
            return false;
        }
    }
    return true;
}

int cli_fleet_backup_delete(struct cli_queue *cq, const char *backup_dir,
                            const struct cli_targets *t)
{
    struct qt_export_result er;
    struct cli_targets exported = {0};
    size_t i;
    int rc = 0;

    qt_fleet_export_run(cq->backend, QT_EXPORT_EML_DIR, backup_dir, t->t, t->n, &er);
    printf("%s\n", er.message);
    for (i = 0; i < er.ngone; i++)
        printf("gone: %s\n", er.gone[i]);
    for (i = 0; i < er.nfailed; i++)
        printf("not exported: %s: %s\n", er.failed[i], er.failed_why[i]);
    if (er.nfailed) {
        fprintf(stderr, "qtriage: delete: %zu message%s could not be exported to %s and "
                "%s NOT deleted (first: %s)\n", er.nfailed, er.nfailed == 1 ? "" : "s",
                backup_dir, er.nfailed == 1 ? "was" : "were", er.failed_why[0]);
        rc = 1;
    }
    /* Only what is saved on this machine is deleted on its host. */
    for (i = 0; i < er.nexported; i++) {
        long k = qt_store_find(&cq->store, er.exported[i]);

        exported.t = xgrow(exported.t, &exported.cap, exported.n + 1, sizeof(*exported.t));
        exported.t[exported.n].id = xstrdup(er.exported[i]);
        exported.t[exported.n].queue =
            k >= 0 ? (enum qt_queue)cq->store.msgs[k].queue : QT_Q_COUNT;
        exported.n++;
    }
    if (exported.n && run_fleet_action(cq, QT_ACT_DELETE, &exported, NULL) != 0)
        rc = 1;
    cli_targets_free(&exported);
    qt_export_result_free(&er);
    return rc;
}

/* flush and flush-site take no IDs and none of the selection options. */
static int run_flush(enum qt_action a, int argc, char **argv, struct cli_common *common,
                     const struct act_options *o)
{
    struct qt_action_result res;
    struct cli_queue cq;
    const char *site = NULL;
    bool ok;

    if (a == QT_ACT_FLUSH_SITE) {
        if (argc != 2) {
            fprintf(stderr, "qtriage: flush-site needs exactly one site name\n");
            return 2;
        }
        site = argv[1];
    } else if (argc != 1) {
        fprintf(stderr, "qtriage: flush takes no arguments\n");
        return 2;
    }
    if (o->dry_run) {
        printf("%s%s%s: would be run (dry run; nothing changed)\n", argv[0], site ? " " : "",
               site ? site : "");
        return 0;
    }
    if (common->hosts) {
        struct cli_targets none = {0};
        int rc;

        if (!cli_open_queue(&cq, common, false))
            return 3;
        cli_load_queue(&cq);
        rc = run_fleet_action(&cq, a, &none, site);
        cli_close_queue(&cq);
        return rc;
    }
    if (geteuid() != 0) {
        fprintf(stderr, "qtriage: %s: changing the queue needs root; nothing done\n", argv[0]);
        return 1;
    }
    if (!cli_open_queue(&cq, common, true))
        return 3;
    ok = qt_action_run(&cq.layout, a, NULL, 0, site, &res);
    print_result(&res, ok);
    qt_action_result_free(&res);
    cli_close_queue(&cq);
    return ok ? 0 : 1;
}

static void print_progress(void *ctx, const struct qt_pace_progress *pr)
{
    const enum qt_action *a = ctx;

    if (pr->waiting)
        return;
    fprintf(stderr, "%s: step %zu of %zu: %zu of %zu handed to %s, %zu acted on\n",
            qt_action_name(*a), pr->step, pr->steps, pr->done, pr->total,
            qt_action_describe(*a)->tool, pr->acted);
}

/* A paced run: steps, progress on stderr, and on SIGINT/SIGTERM the IDs
 * that were not handed to Postfix, one a line, so they can be fed back. */
static int run_paced(struct cli_queue *cq, enum qt_action a, const struct act_options *o,
                     const struct cli_targets *t)
{
    struct qt_action_result res;
    size_t done = 0, i;
    bool ok;

    cli_catch_stop_signals();
    fprintf(stderr, "%s: %zu messages %s; SIGINT (^C) stops after the current step\n",
            qt_action_name(a), t->n, o->pace_text);
    ok = qt_action_run_paced(&cq->layout, a, t->t, t->n, &o->pace, &cli_stop_requested,
                             print_progress, &a, &res, &done);
    print_result(&res, ok);
    for (i = done; i < t->n; i++)
        printf("not done: %s\n", t->t[i].id);
    qt_action_result_free(&res);
    return ok ? 0 : 1;
}

/* --follow, --rate, --batch, --every and --unpaced: which actions take
 * them and with what.  Returns 0 or the exit status of a usage error. */
static int check_options(enum qt_action a, const struct cli_action_args *args,
                         struct act_options *o, bool *explicit_pace)
{
    const char *name = qt_action_name(a);
    struct qt_error err = {""};

    *explicit_pace = false;
    if (args->follow.seconds > 0) {
        if (a != QT_ACT_HOLD && a != QT_ACT_DELETE) {
            fprintf(stderr, "qtriage: %s: --follow is for hold and delete\n", name);
            return 2;
        }
        if (!o->filter) {
            fprintf(stderr, "qtriage: %s: --follow needs --filter EXPR (what to keep "
                    "acting on)\n", name);
            return 2;
        }
        if (a == QT_ACT_DELETE && !o->backup_dir) {
            fprintf(stderr, "qtriage: delete --follow needs --backup-dir DIR: a standing "
                    "rule exports before it deletes\n");
            return 2;
        }
        o->follow = &args->follow;
    }
    if ((args->rate || args->batch || args->unpaced || args->every.seconds) &&
        !qt_pace_applies(a)) {
        fprintf(stderr, "qtriage: %s: --rate, --batch, --every and --unpaced are for "
                "release, requeue and deliver\n", name);
        return 2;
    }
    if (args->every.seconds && !args->batch) {
        fprintf(stderr, "qtriage: %s: --every goes with --batch N\n", name);
        return 2;
    }
    if (args->rate && args->batch) {
        fprintf(stderr, "qtriage: %s: give --rate or --batch, not both\n", name);
        return 2;
    }
    if (args->rate) {
        if (!qt_pace_parse_rate(args->rate, &o->pace, &err)) {
            fprintf(stderr, "qtriage: %s: %s\n", name, err.msg);
            return 2;
        }
        *explicit_pace = true;
    } else if (args->batch) {
        o->pace.batch = (size_t)args->batch;
        o->pace.every_ms = args->every.seconds > 0 ? args->every.seconds * 1000 : 1000;
        *explicit_pace = true;
    }
    if (*explicit_pace)
        qt_pace_describe(&o->pace, o->pace_text, sizeof(o->pace_text));
    return 0;
}

/* Above QT_PACE_DEFAULT_ABOVE messages a release goes in steps unless
 * --unpaced; the admin hears how. */
static void default_pace(const struct cli_queue *cq, enum qt_action a,
                         const struct cli_action_args *args, struct act_options *o, size_t n,
                         bool explicit_pace)
{
    char why[200];

    if (explicit_pace || args->unpaced || !qt_pace_applies(a))
        return;
    if (qt_pace_default(&cq->layout, n, &o->pace, why, sizeof(why))) {
        snprintf(o->pace_text, sizeof(o->pace_text), "%s", why);
        fprintf(stderr, "qtriage: %s: %zu messages (more than %d): %s; --unpaced sends them "
                "all at once\n", qt_action_name(a), n, QT_PACE_DEFAULT_ABOVE, why);
    }
}

/* The queue of each target, for batching by queue: postsuper told the
 * queue renames once, where it would otherwise try each queue in turn
 * (a failed cross-directory rename costs it nearly what a good one does).
 * Lookups are relative to the queue directory (qt_spool_locate_at). */
static void locate_targets(const struct qt_spool_layout *l, struct cli_targets *t)
{
    int qfd = open(l->queue_directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    size_t i;

    for (i = 0; i < t->n; i++)
        if (!qt_spool_locate_at(l, qfd, t->t[i].id, &t->t[i].queue))
            t->t[i].queue = QT_Q_COUNT;
    if (qfd >= 0)
        close(qfd);
}

int cli_action(const struct cli_call *call)
{
    const struct cli_action_args *args = call->args;
    struct cli_common *common = call->common;
    struct act_options o = {common->filter, NULL, args->dry_run, args->yes, NULL, {0}, ""};
    bool explicit_pace, unpaced = false;
    struct cli_targets t = {0};
    struct qt_action_result res;
    struct cli_queue cq;
    bool ok, have_queue = false;
    int argc = call->argc;
    char **argv = call->argv;
    enum qt_action a;
    size_t i;
    int rc;

    if (!qt_action_from_name(argv[0], &a)) {
        fprintf(stderr, "qtriage: unknown command \"%s\"\n", argv[0]);
        return 2;
    }
    /* Only delete's row takes --backup-dir; the configuration's is for
     * every delete (it exports first). */
    if (a == QT_ACT_DELETE && common->backup_dir && *common->backup_dir)
        o.backup_dir = common->backup_dir;
    /* A paced flush: every deferred message gets its delivery attempt
     * (postqueue -i), a step at a time, instead of one postqueue -f that
     * moves them all at once. */
    if (a == QT_ACT_FLUSH && (args->rate || args->batch)) {
        if (argc != 1) {
            fprintf(stderr, "qtriage: flush takes no arguments\n");
            return 2;
        }
        a = QT_ACT_DELIVER;
        o.filter = "queue=deferred";
        o.yes = true;       /* a flush is not asked about on the command line */
    }
    if (!qt_action_takes_ids(a))
        return run_flush(a, argc, argv, common, &o);
    if ((rc = check_options(a, args, &o, &explicit_pace)) != 0)
        return rc;
    if (o.filter && argc > 1) {
        fprintf(stderr, "qtriage: %s: give either --filter or queue IDs, not both\n", argv[0]);
        return 2;
    }
    if (o.filter) {
        if (!cli_open_queue(&cq, common, false))
            return 3;
        have_queue = true;
        if ((rc = cli_targets_from_filter(&t, &cq, o.filter)) != 0)
            goto out;
        if (t.n == 0 && !o.follow && common->hosts && cli_fleet_report(&cq) > 0) {
            /* Nothing matched where the hosts answered; those that did not
             * are named, and the command fails for them. */
            printf("%s: no message matches the filter on the hosts that answered\n", argv[0]);
            rc = run_fleet_action(&cq, a, &t, NULL);
            goto out;
        }
        if (t.n == 0 && !o.follow) {
            printf("%s: no message matches the filter; nothing done\n", argv[0]);
            rc = 0;
            goto out;
        }
    } else {
        cli_targets_from_args(&t, argc, argv, 1);
        if (t.n == 0) {
            fprintf(stderr, "qtriage: %s: no queue IDs given (list them, '-' to read them "
                    "from standard input, or --filter EXPR)\n", argv[0]);
            return 2;
        }
    }
    if (common->hosts && !have_queue) {
        /* The hosts are listed first: which queue each ID is in, and
         * which hosts answer. */
        if (!cli_open_queue(&cq, common, false)) {
            rc = 3;
            goto out;
        }
        have_queue = true;
        cli_load_queue(&cq);
        for (i = 0; i < t.n; i++) {
            long k = qt_store_find(&cq.store, t.t[i].id);

            t.t[i].queue = k >= 0 ? (enum qt_queue)cq.store.msgs[k].queue : QT_Q_COUNT;
        }
    }
    if (common->hosts ? !cli_fleet_targets_valid(&t, &cq, argv[0])
                      : !cli_targets_valid(&t, argv[0])) {
        rc = 2;
        goto out;
    }
    if (have_queue)
        default_pace(&cq, a, args, &o, t.n, explicit_pace);
    if (o.dry_run) {
        print_plan(stdout, a, &o, &t, "dry run; nothing changed");
        rc = 0;
        goto out;
    }
    /* A filter selects what nobody has looked at: a script must say --yes,
     * a person at a terminal answers the question. */
    if (o.filter && !o.yes) {
        if (!isatty(STDIN_FILENO)) {
            print_plan(stdout, a, &o, &t, "NOT done: --yes is needed");
            fprintf(stderr, "qtriage: %s: %zu message%s the filter; standard input is "
                    "not a terminal to confirm on, so nothing is done without --yes\n",
                    argv[0], t.n, t.n == 1 ? " matches" : "s match");
            rc = 2;
            goto out;
        }
        if (!confirm(a, &o, t.n, o.pace.batch && !explicit_pace, &unpaced)) {
            fprintf(stderr, "qtriage: %s: not confirmed; nothing done\n", argv[0]);
            rc = 1;
            goto out;
        }
        if (unpaced)
            o.pace.batch = 0;
    }
    if (common->hosts) {
        rc = o.backup_dir ? cli_fleet_backup_delete(&cq, o.backup_dir, &t)
                          : run_fleet_action(&cq, a, &t, NULL);
        goto out;
    }
    if (geteuid() != 0) {
        fprintf(stderr, "qtriage: %s: changing the queue needs root (postsuper and "
                "postqueue -i/-f/-s refuse other users); nothing done\n", argv[0]);
        rc = 1;
        goto out;
    }
    if (!have_queue) {
        if (!cli_open_queue(&cq, common, true)) {
            rc = 3;
            goto out;
        }
        have_queue = true;
        /* Batch by queue, one postsuper per queue, as the TUI does with what
         * it has listed; an ID found nowhere goes to the all-queues pass. */
        locate_targets(&cq.layout, &t);
        default_pace(&cq, a, args, &o, t.n, explicit_pace);
    }
    if (o.follow) {
        rc = cli_follow(&cq, a, o.filter, o.backup_dir, o.follow->seconds, o.follow->text);
        goto out;
    }
    if (o.pace.batch) {
        rc = run_paced(&cq, a, &o, &t);
        goto out;
    }
    if (o.backup_dir) {
        rc = run_backup_delete(&cq, &o, &t);
        goto out;
    }
    ok = qt_action_run(&cq.layout, a, t.t, t.n, NULL, &res);
    print_result(&res, ok);
    rc = ok ? 0 : res.ninvalid ? 2 : 1;
    qt_action_result_free(&res);
out:
    if (have_queue)
        cli_close_queue(&cq);
    cli_targets_free(&t);
    return rc;
}
