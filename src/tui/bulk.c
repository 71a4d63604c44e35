/* Bulk actions: the tagged messages, else the current one, handed to the
 * core's actions module (one postsuper per action and queue) on the action
 * thread, after a confirmation where the action's descriptor asks for one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "script.h"
#include "bulk.h"
#include "list_pane.h"
#include "pace_confirm.h"
#include "qtriage/pace.h"
#include "prompt.h"
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
    struct qt_filter *filter = list_filter(a);
    int64_t now = app_wall_clock(a);

    memset(out, 0, sizeof(*out));
    if (a->current.tags.count) {
        size_t pos = 0;
        const char *id;

        out->from_tags = true;
        out->t = xcalloc(a->current.tags.count, sizeof(*out->t));
        while ((id = qt_selection_next(&a->current.tags, &pos))) {
            long i = qt_store_find(&a->store, id);

            out->t[out->n].id = id;
            out->t[out->n].queue = i >= 0 ? (enum qt_queue)a->store.msgs[i].queue : QT_Q_COUNT;
            if (i < 0 || (filter && !qt_filter_matches_all(filter) &&
                          !qt_filter_match(filter, &a->store, &a->store.msgs[i], now)))
                out->outside_filter++;
            out->n++;
        }
    } else if (list_current(a)) {
        const struct qt_msg *m = list_current(a);

        out->t = xcalloc(1, sizeof(*out->t));
        out->t[0].id = qt_store_str(&a->store, m->id);
        out->t[0].queue = (enum qt_queue)m->queue;
        out->n = 1;
    }
}

static void describe(struct app *a, enum qt_action act, const struct targets *t, char *buf,
                     size_t size)
{
    const struct qt_action_desc *d = qt_action_describe(act);

    if (act == QT_ACT_FLUSH) {
        snprintf(buf, size, "Flush the whole queue (%s): retry every deferred message now",
                 d->tool);
        return;
    }
    if (act == QT_ACT_FLUSH_SITE) {
        snprintf(buf, size, "Flush the mail for site \"%s\" (%s)", a->bulk.pending_site, d->tool);
        return;
    }
    if (act == QT_ACT_DELETE && a->opt->backup_dir)
        snprintf(buf, size, "Export to %.150s, then delete %zu message%s%s", a->opt->backup_dir,
                 t->n, t->n == 1 ? "" : "s",
                 t->outside_filter ? " (some NOT shown by the current filter)" : "");
    else if (!t->from_tags)
        snprintf(buf, size, "%s message %s", d->verb, t->t[0].id);
    else if (t->outside_filter)
        snprintf(buf, size, "%s %zu tagged messages (%zu of them NOT shown by the current filter)",
                 d->verb, t->n, t->outside_filter);
    else
        snprintf(buf, size, "%s %zu tagged messages", d->verb, t->n);
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
    else if (act == QT_ACT_DELETE && a->opt->backup_dir)
        action_job_start(a, JOB_EXPORT_DELETE, act, t.t, t.n, NULL, a->opt->backup_dir);
    else
        action_job_start(a, JOB_ACTION, act, t.t, t.n, a->bulk.pending_site, NULL);
    free(t.t);
    free(a->bulk.pending_site);
    a->bulk.pending_site = NULL;
    return R_REDRAW;
}

static unsigned confirm_yes(struct app *a, const char *text)
{
    (void)text;
    prompt_close(a);
    return run(a, a->bulk.pending_action);
}

static unsigned confirm_no(struct app *a)
{
    prompt_close(a);
    free(a->bulk.pending_site);
    a->bulk.pending_site = NULL;
    app_message(a, false, "cancelled: nothing was done");
    return R_REDRAW;
}

static const struct prompt_type confirm_prompt = {
    .yes_no = true,
    .submit = confirm_yes,
    .cancel = confirm_no,
};

unsigned bulk_request(struct app *a, enum qt_action act)
{
    struct targets t;
    char what[300], label[400];

    /* Many messages released at once flood the active queue: ask how. */
    if (qt_pace_applies(act)) {
        collect_targets(a, &t);
        if (t.n && pace_confirm_wanted(a, act, t.n)) {
            pace_confirm_open(a, act, t.t, t.n);
            free(t.t);
            return R_REDRAW;
        }
        free(t.t);
    }
    if (!qt_action_describe(act)->confirm && !a->opt->confirm_all)
        return run(a, act);
    collect_targets(a, &t);
    if (qt_action_takes_ids(act) && !t.n) {
        free(t.t);
        app_message(a, true, "%s: no message", qt_action_name(act));
        return R_REDRAW;
    }
    describe(a, act, &t, what, sizeof(what));
    free(t.t);
    snprintf(label, sizeof(label), "%s? [y/N] ", what);
    prompt_open(a, &confirm_prompt, label, "");
    a->bulk.pending_action = act;
    return R_REDRAW;
}

static unsigned flush_site_submit(struct app *a, const char *text)
{
    prompt_close(a);
    if (!*text)
        return R_REDRAW;
    free(a->bulk.pending_site);
    a->bulk.pending_site = xstrdup(text);
    return bulk_request(a, QT_ACT_FLUSH_SITE);
}

static const struct prompt_type flush_site_prompt = {.submit = flush_site_submit};

unsigned bulk_request_flush_site(struct app *a)
{
    prompt_open(a, &flush_site_prompt, "flush mail for site (domain): ", "");
    return R_REDRAW;
}

static unsigned export_submit(struct app *a, const char *text)
{
    struct targets t;

    prompt_close(a);
    if (!*text) {
        app_message(a, false, "export cancelled: no directory given");
        return R_REDRAW;
    }
    free(a->bulk.export_dir);
    a->bulk.export_dir = xstrdup(text);
    collect_targets(a, &t);
    if (!t.n)
        app_message(a, true, "export: no message");
    else
        action_job_start(a, JOB_EXPORT, QT_ACT_COUNT, t.t, t.n, NULL, text);
    free(t.t);
    return R_REDRAW;
}

static const struct prompt_type export_prompt = {.submit = export_submit};

unsigned bulk_request_export(struct app *a)
{
    const char *dir = a->bulk.export_dir ? a->bulk.export_dir : a->opt->backup_dir;
    size_t n = a->current.tags.count ? a->current.tags.count : 1;
    char label[120];

    snprintf(label, sizeof(label), "export %s%zu message%s as ID.eml to directory: ",
             a->current.tags.count ? "the tagged " : "", n, n == 1 ? "" : "s");
    prompt_open(a, &export_prompt, label, dir ? dir : "");
    return R_REDRAW;
}

void bulk_free(struct app *a)
{
    free(a->bulk.pending_site);
    free(a->bulk.export_dir);
    memset(&a->bulk, 0, sizeof(a->bulk));
}
