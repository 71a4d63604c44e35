/* Bulk actions off the UI path: one thread runs qt_action_run on a private
 * copy of the targets while the loop goes on drawing and reading keys.
 * One action at a time: a second one is refused while the first runs
 * (queueing it would act on tags and rows as they were when asked, which
 * the admin can no longer see once the first has changed the queue). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "action_job.h"

#include "qtriage/fleet.h"
#include "app.h"
#include "qtriage/export.h"
#include "qtriage/util.h"

void action_job_init(struct app *a)
{
    int p[2];

    memset(&a->job, 0, sizeof(a->job));
    a->job.done_rd = a->job.done_wr = -1;
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0) {
        a->job.done_rd = p[0];
        a->job.done_wr = p[1];
    }
}

bool action_job_running(const struct app *a)
{
    return a->job.running;
}

/* "exported 41 to /root/bk; 0 failed", and why the first one failed. */
static void export_summary(struct action_job *j, const struct qt_export_result *er)
{
    int len;

    if (!er->nexported && !er->ngone && !er->nfailed) {    /* the target could not open */
        snprintf(j->summary, sizeof(j->summary), "%s", er->message);
        return;
    }
    len = snprintf(j->summary, sizeof(j->summary), "exported %zu to %.300s; %zu failed",
                   er->nexported, j->backup_dir, er->nfailed);
    if (er->ngone && len > 0 && (size_t)len < sizeof(j->summary))
        len += snprintf(j->summary + len, sizeof(j->summary) - (size_t)len,
                        "; %zu no longer queued", er->ngone);
    if (er->nfailed && len > 0 && (size_t)len < sizeof(j->summary))
        snprintf(j->summary + len, sizeof(j->summary) - (size_t)len, " (%s: %.200s)",
                 er->failed[0], er->failed_why[0]);
}

/* A fleet: exports are fetched to this machine (DIR/HOST/ID.eml), actions
 * go to every host at once; the summary is one line per host. */
static void fleet_job(struct action_job *j)
{
    struct qt_fleet_act_result *r = NULL;
    struct qt_export_result er;
    struct qt_buf line = {0};
    size_t n;

    j->backup_ok = true;
    if (j->kind == JOB_EXPORT || j->kind == JOB_EXPORT_DELETE) {
        struct qt_action_target *saved;
        size_t i, k;

        j->backup_ok = qt_fleet_export_run(j->fleet, QT_EXPORT_EML_DIR, j->backup_dir,
                                           j->targets, j->n, &er);
        if (j->kind == JOB_EXPORT) {
            snprintf(j->summary, sizeof(j->summary), "%s", er.message);
            qt_export_result_free(&er);
            return;
        }
        /* Only what is saved here is deleted there. */
        saved = xcalloc(er.nexported ? er.nexported : 1, sizeof(*saved));
        for (i = 0; i < er.nexported; i++) {
            saved[i].id = er.exported[i];
            saved[i].queue = QT_Q_COUNT;
            for (k = 0; k < j->n; k++)
                if (strcmp(j->targets[k].id, er.exported[i]) == 0)
                    saved[i].queue = j->targets[k].queue;
        }
        qt_buf_printf(&line, "%s; ", er.message);
        n = er.nexported ? qt_fleet_act(j->fleet, QT_ACT_DELETE, saved, er.nexported, NULL, &r)
                         : 0;
        if (n)
            qt_fleet_act_summary(QT_ACT_DELETE, r, n, &line);
        else
            qt_buf_printf(&line, "nothing deleted");
        j->backup_ok = j->backup_ok && qt_fleet_act_ok(r, n);
        free(saved);
        qt_export_result_free(&er);
    } else {
        n = qt_fleet_act(j->fleet, j->act, j->targets, j->n, j->site, &r);
        qt_fleet_act_summary(j->act, r, n, &line);
        j->backup_ok = qt_fleet_act_ok(r, n);
    }
    snprintf(j->summary, sizeof(j->summary), "%s", line.data ? line.data : "");
    qt_buf_free(&line);
    free(r);
}

static void paced_progress(void *ctx, const struct qt_pace_progress *pr)
{
    struct action_job *j = ctx;

    atomic_store(&j->paced_done, pr->done);
    atomic_store(&j->paced_acted, pr->acted);
    atomic_store(&j->paced_step, pr->step);
    atomic_store(&j->paced_steps, pr->steps);
}

static void *job_main(void *arg)
{
    struct action_job *j = arg;
    char byte = 1;

    if (j->fleet) {
        fleet_job(j);
    } else if (j->kind == JOB_PACED) {
        size_t done;

        qt_action_run_paced(j->layout, j->act, j->targets, j->n, &j->pace, &j->stop,
                            paced_progress, j, &j->res, &done);
    } else if (j->kind == JOB_RULES) {
        size_t i;

        /* Each batch is read again from the spool and checked against its
         * rule's filter right before postsuper runs (rules.h). */
        for (i = 0; i < j->nbatches; i++)
            qt_rule_batch_run(j->layout, &j->batches[i], &j->outcomes[i]);
    } else if (j->kind == JOB_EXPORT_DELETE) {
        /* Export first; postsuper -d only what is safely on disk. */
        struct qt_export_result er;

        j->backup_ok = qt_export_then_delete(j->layout, j->backup_dir, j->targets, j->n, &er,
                                             &j->res);
        qt_export_delete_summary(j->backup_dir, &er, &j->res, j->summary, sizeof(j->summary));
        qt_export_result_free(&er);
    } else if (j->kind == JOB_EXPORT) {
        struct qt_export_result er;

        j->backup_ok = qt_export_run(j->layout, QT_EXPORT_EML_DIR, j->backup_dir, j->targets,
                                     j->n, &er);
        export_summary(j, &er);
        qt_export_result_free(&er);
    } else {
        qt_action_run(j->layout, j->act, j->targets, j->n, j->site, &j->res);
    }
    while (write(j->done_wr, &byte, 1) < 0 && errno == EINTR)
        ;
    return NULL;
}

/* "holding 10000 messages", as the status line says while it runs. */
static void describe_doing(struct action_job *j)
{
    if (j->kind == JOB_RULES) {
        size_t i, n = 0;

        for (i = 0; i < j->nbatches; i++)
            n += j->batches[i].n;
        snprintf(j->doing, sizeof(j->doing), "rules: checking and acting on %zu new match%s",
                 n, n == 1 ? "" : "es");
    } else if (j->act == QT_ACT_FLUSH)
        snprintf(j->doing, sizeof(j->doing), "flushing the queue");
    else if (j->act == QT_ACT_FLUSH_SITE)
        snprintf(j->doing, sizeof(j->doing), "flushing site %.60s", j->site ? j->site : "");
    else if (j->kind == JOB_EXPORT_DELETE)
        snprintf(j->doing, sizeof(j->doing), "exporting to %.100s and deleting %zu message%s",
                 j->backup_dir, j->n, j->n == 1 ? "" : "s");
    else if (j->kind == JOB_EXPORT)
        snprintf(j->doing, sizeof(j->doing), "exporting %zu message%s to %.100s", j->n,
                 j->n == 1 ? "" : "s", j->backup_dir);
    else
        snprintf(j->doing, sizeof(j->doing), "%s %zu message%s",
                 qt_action_describe(j->act)->doing, j->n,
                 j->n == 1 ? "" : "s");
}

static bool start(struct app *a, enum action_job_kind kind, enum qt_action act,
                  const struct qt_action_target *t, size_t n, const char *site,
                  const char *backup_dir, const struct qt_pace *pace,
                  struct qt_rule_batch *batches, size_t nbatches)
{
    struct action_job *j = &a->job;
    sigset_t all, old;
    size_t i, len = 0;
    char *p;
    int rc;

    if (j->running || j->done_rd < 0) {
        if (kind == JOB_RULES) {    /* the rules wait for their turn */
            qt_rule_batches_free(batches, nbatches);
            return false;
        }
        app_message(a, true, j->running ? "busy: %s; wait for it to finish"
                                        : "cannot run actions: no pipe (%s)",
                    j->running ? j->doing : "out of file descriptors?");
        return false;
    }
    /* The IDs point into the store and the tags, which change meanwhile. */
    for (i = 0; i < n; i++)
        len += strlen(t[i].id) + 1;
    j->ids = p = xmalloc(len ? len : 1);
    j->targets = xcalloc(n ? n : 1, sizeof(*j->targets));
    for (i = 0; i < n; i++) {
        size_t l = strlen(t[i].id) + 1;

        memcpy(p, t[i].id, l);
        j->targets[i].id = p;
        j->targets[i].queue = t[i].queue;
        p += l;
    }
    j->n = n;
    j->kind = kind;
    j->act = act;
    j->site = site ? xstrdup(site) : NULL;
    j->backup_dir = backup_dir ? xstrdup(backup_dir) : NULL;
    j->summary[0] = '\0';
    j->layout = &a->layout;
    j->fleet = qt_backend_is_fleet(a->backend) ? a->backend : NULL;
    memset(&j->res, 0, sizeof(j->res));
    memset(&j->pace, 0, sizeof(j->pace));
    if (pace)
        j->pace = *pace;
    j->paced_total = n;
    atomic_store(&j->paced_done, 0);
    atomic_store(&j->paced_acted, 0);
    atomic_store(&j->paced_step, 0);
    atomic_store(&j->paced_steps, 0);
    atomic_store(&j->stop, 0);
    j->batches = batches;
    j->nbatches = nbatches;
    j->outcomes = nbatches ? xcalloc(nbatches, sizeof(*j->outcomes)) : NULL;
    describe_doing(j);
    /* Signals (^C, SIGWINCH, SIGCHLD) are the loop's business. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&j->thread, NULL, job_main, j);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        app_message(a, true, "%s: cannot start a thread: %s",
                    kind == JOB_EXPORT ? "export" : qt_action_name(act), strerror(rc));
        free(j->ids);
        free(j->targets);
        free(j->site);
        free(j->backup_dir);
        j->ids = NULL, j->targets = NULL, j->site = NULL, j->backup_dir = NULL;
        qt_rule_batches_free(j->batches, j->nbatches);
        free(j->outcomes);
        j->batches = NULL, j->outcomes = NULL, j->nbatches = 0;
        return false;
    }
    j->running = true;
    j->started_ms = app_now_ms();
    if (kind != JOB_RULES)      /* rules work quietly; their catches are reported */
        app_message(a, false, "%s...", j->doing);
    return true;
}

bool action_job_start(struct app *a, enum action_job_kind kind, enum qt_action act,
                      const struct qt_action_target *t, size_t n, const char *site,
                      const char *backup_dir)
{
    return start(a, kind, act, t, n, site, backup_dir, NULL, NULL, 0);
}

bool action_job_start_paced(struct app *a, enum qt_action act, const struct qt_action_target *t,
                            size_t n, const struct qt_pace *pace)
{
    return start(a, JOB_PACED, act, t, n, NULL, NULL, pace, NULL, 0);
}

bool action_job_start_rules(struct app *a, struct qt_rule_batch *batches, size_t n)
{
    return start(a, JOB_RULES, QT_ACT_HOLD, NULL, 0, NULL, NULL, NULL, batches, n);
}

bool action_job_stoppable(const struct app *a)
{
    return a->job.running && a->job.kind == JOB_PACED;
}

void action_job_stop(struct app *a)
{
    if (action_job_stoppable(a))
        atomic_store(&a->job.stop, 1);
}

void action_job_describe(const struct app *a, char *buf, size_t size)
{
    const struct action_job *j = &a->job;

    if (j->kind != JOB_PACED) {
        snprintf(buf, size, "%s", j->doing);
        return;
    }
    /* Short: it follows the queue counts on the status line. */
    snprintf(buf, size, "%s %zu/%zu, step %zu/%zu%s", qt_action_describe(j->act)->doing,
             atomic_load(&j->paced_done), j->paced_total, atomic_load(&j->paced_step),
             atomic_load(&j->paced_steps), atomic_load(&j->stop) ? " stopping" : " X:stop");
}

static void job_join(struct action_job *j)
{
    char buf[16];

    pthread_join(j->thread, NULL);
    while (read(j->done_rd, buf, sizeof(buf)) > 0)
        ;
    j->running = false;
    j->finished_ms = app_now_ms();
    free(j->ids);
    free(j->targets);
    free(j->site);
    free(j->backup_dir);
    j->ids = NULL, j->targets = NULL, j->site = NULL, j->backup_dir = NULL;
}

static void release_batches(struct action_job *j)
{
    size_t i;

    for (i = 0; i < j->nbatches; i++)
        qt_rule_outcome_free(&j->outcomes[i]);
    qt_rule_batches_free(j->batches, j->nbatches);
    free(j->outcomes);
    j->batches = NULL, j->outcomes = NULL, j->nbatches = 0;
}

/* Count the catches to their rules and say what they did. */
static void rules_finished(struct app *a)
{
    struct action_job *j = &a->job;
    size_t i, caught = 0;
    bool failed = false;
    char first[700] = "";

    for (i = 0; i < j->nbatches; i++) {
        qt_rules_credit(&a->rules, j->batches[i].rule_id, &j->outcomes[i]);
        caught += j->outcomes[i].nacted;
        if (j->outcomes[i].failed && !failed) {
            failed = true;
            snprintf(first, sizeof(first), "%s", j->outcomes[i].message);
        }
    }
    if (failed)
        app_message(a, true, "rule: %s", first);
    else if (caught)
        app_message(a, false, "rules caught %zu more (%zu in all)", caught,
                    qt_rules_caught(&a->rules));
    release_batches(j);
}

unsigned action_job_finish(struct app *a)
{
    struct action_job *j = &a->job;

    if (!j->running) {
        char buf[16];

        while (read(j->done_rd, buf, sizeof(buf)) > 0)
            ;
        return R_NONE;
    }
    job_join(j);
    if (j->kind == JOB_RULES) {
        rules_finished(a);
        return R_RESCAN | R_REDRAW;
    }
    app_bench(a, "action_done");
    if (j->summary[0])
        app_message(a, !j->backup_ok, "%s (%.1f s)", j->summary,
                    (double)(app_now_ms() - j->started_ms) / 1000.0);
    else
        app_message(a, j->res.failed || j->res.ninvalid, "%s (%.1f s)", j->res.message,
                    (double)(app_now_ms() - j->started_ms) / 1000.0);
    qt_action_result_free(&j->res);
    if (j->kind == JOB_EXPORT)  /* the queue is as it was */
        return R_REDRAW;
    /* The next scan shows the result; tags of messages that are gone
     * (deleted, or requeued under a new ID) are dropped after it. */
    return R_RESCAN | R_REDRAW;
}

void action_job_wait(struct app *a)
{
    if (!a->job.running)
        return;
    job_join(&a->job);
    qt_action_result_free(&a->job.res);
    release_batches(&a->job);
}

void action_job_free(struct app *a)
{
    action_job_wait(a);
    free(a->job.asked.t);
    free(a->job.asked.ids);
    if (a->job.done_rd >= 0)
        close(a->job.done_rd);
    if (a->job.done_wr >= 0)
        close(a->job.done_wr);
    a->job.done_rd = a->job.done_wr = -1;
}
