/* Bulk actions: the tagged messages, else the current one, handed to the
 * core's actions module (one postsuper per action and queue). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "script.h"
#include "qtriage/export.h"
#include "qtriage/util.h"

struct targets {
    struct qt_action_target *t;
    size_t n;
    size_t outside_filter;      /* tagged but hidden by the filter */
    bool from_tags;
};

/* "Tagged, else the current row": the one place every action gets its
 * messages from. */
static void collect_targets(struct app *a, struct targets *out)
{
    int64_t now = app_wall_clock(a);

    memset(out, 0, sizeof(*out));
    if (a->tags.count) {
        size_t pos = 0;
        const char *id;

        out->from_tags = true;
        out->t = xcalloc(a->tags.count, sizeof(*out->t));
        while ((id = qt_selection_next(&a->tags, &pos))) {
            long i = qt_store_find(&a->store, id);

            out->t[out->n].id = id;
            out->t[out->n].queue = i >= 0 ? (enum qt_queue)a->store.msgs[i].queue : QT_Q_COUNT;
            if (i < 0 || (a->filter && !qt_filter_matches_all(a->filter) &&
                          !qt_filter_match(a->filter, &a->store, &a->store.msgs[i], now)))
                out->outside_filter++;
            out->n++;
        }
    } else if (app_current(a)) {
        const struct qt_msg *m = app_current(a);

        out->t = xcalloc(1, sizeof(*out->t));
        out->t[0].id = qt_store_str(&a->store, m->id);
        out->t[0].queue = (enum qt_queue)m->queue;
        out->n = 1;
    }
}

static const char *verb(enum qt_action act)
{
    switch (act) {
    case QT_ACT_HOLD:
        return "Hold";
    case QT_ACT_RELEASE:
        return "Release";
    case QT_ACT_REQUEUE:
        return "Requeue";
    case QT_ACT_DELETE:
        return "DELETE";
    case QT_ACT_EXPIRE:
        return "Force-expire";
    case QT_ACT_DELIVER:
        return "Attempt delivery of";
    default:
        return "Flush";
    }
}

static void describe(struct app *a, enum qt_action act, const struct targets *t, char *buf,
                     size_t size)
{
    if (act == QT_ACT_FLUSH) {
        snprintf(buf, size, "Flush the whole queue (postqueue -f): retry every deferred message now");
        return;
    }
    if (act == QT_ACT_FLUSH_SITE) {
        snprintf(buf, size, "Flush the mail for site \"%s\" (postqueue -s)", a->pending_site);
        return;
    }
    if (act == QT_ACT_DELETE && a->opt->backup_dir)
        snprintf(buf, size, "Export to %.150s, then delete %zu message%s%s", a->opt->backup_dir,
                 t->n, t->n == 1 ? "" : "s",
                 t->outside_filter ? " (some NOT shown by the current filter)" : "");
    else if (!t->from_tags)
        snprintf(buf, size, "%s message %s", verb(act), t->t[0].id);
    else if (t->outside_filter)
        snprintf(buf, size, "%s %zu tagged messages (%zu of them NOT shown by the current filter)",
                 verb(act), t->n, t->outside_filter);
    else
        snprintf(buf, size, "%s %zu tagged messages", verb(act), t->n);
}

/* Hand the action to its thread (action_job.c): a batch of 100k IDs takes
 * postsuper a while, and the list stays usable meanwhile.  The job reports
 * and asks for the rescan when it is done. */
static unsigned run(struct app *a, enum qt_action act)
{
    struct targets t;

    collect_targets(a, &t);
    if (qt_action_takes_ids(act) && !t.n)
        app_message(a, true, "%s: no message", qt_action_name(act));
    else
        action_job_start(a, act, t.t, t.n, a->pending_site,
                         act == QT_ACT_DELETE ? a->opt->backup_dir : NULL);
    free(t.t);
    free(a->pending_site);
    a->pending_site = NULL;
    return R_REDRAW;
}

unsigned bulk_request(struct app *a, enum qt_action act)
{
    /* Deleting and force-expiring (which bounces the mail to its senders)
     * cannot be undone; flushing hits every destination at once. */
    bool confirm = act == QT_ACT_DELETE || act == QT_ACT_EXPIRE || act == QT_ACT_FLUSH ||
                   act == QT_ACT_FLUSH_SITE || a->opt->confirm_all;
    struct targets t;

    if (a->backend->read_only) {
        app_message(a, true, "read-only mode: %s", a->backend->read_only_reason);
        return R_REDRAW;
    }
    if (action_job_running(a)) {    /* one at a time (see action_job.c) */
        app_message(a, true, "busy: %s; wait for it to finish", a->job.doing);
        return R_REDRAW;
    }
    if (!confirm)
        return run(a, act);
    collect_targets(a, &t);
    if (qt_action_takes_ids(act) && !t.n) {
        free(t.t);
        app_message(a, true, "%s: no message", qt_action_name(act));
        return R_REDRAW;
    }
    {
        char what[300], label[400];

        describe(a, act, &t, what, sizeof(what));
        snprintf(label, sizeof(label), "%s? [y/N] ", what);
        free(t.t);
        {
            /* prompt_open clears pending_site; keep it for the answer. */
            char *site = a->pending_site;

            a->pending_site = NULL;
            prompt_open(a, PROMPT_CONFIRM, label, "");
            a->pending_site = site;
        }
    }
    a->pending_action = act;
    return R_REDRAW;
}

unsigned bulk_confirmed(struct app *a)
{
    curs_set(0);
    return run(a, a->pending_action);
}
