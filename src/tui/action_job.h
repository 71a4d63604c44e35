/* A bulk action running on a thread of its own, so the list, the viewer
 * and the filter stay usable while postsuper works through a batch of
 * 100k IDs.  The thread touches nothing of the app's: it gets a private
 * copy of the IDs and the spool layout (read-only), and says it is done
 * by writing a byte to done_wr, which the loop polls. */
#ifndef QTRIAGE_TUI_ACTION_JOB_H
#define QTRIAGE_TUI_ACTION_JOB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qtriage/actions.h"
#include "qtriage/pace.h"
#include "qtriage/rules.h"
#include "qtriage/spool.h"

struct app;

enum action_job_kind {
    JOB_ACTION,                 /* qt_action_run */
    JOB_EXPORT_DELETE,          /* export to backup_dir, then delete what was exported */
    JOB_EXPORT,                 /* export to backup_dir only; the queue is not changed */
    JOB_PACED,                  /* qt_action_run_paced: steps, progress, stoppable */
    JOB_RULES,                  /* standing rules' batches (rules.h) */
};

struct action_job {
    bool running;
    pthread_t thread;
    int done_rd, done_wr;
    enum action_job_kind kind;
    enum qt_action act;
    struct qt_action_target *targets;
    size_t n;
    char *ids;                  /* the targets' IDs, one after another */
    char *site;
    const struct qt_spool_layout *layout;
    struct qt_action_result res;
    char *backup_dir;           /* JOB_EXPORT*: the directory (export.h) */
    char summary[700];          /* JOB_EXPORT*: what came of it */
    bool backup_ok;
    char doing[160];            /* "holding 10000 messages" */
    int64_t started_ms, finished_ms;
    /* JOB_PACED: how, how far (written by the thread, read by the loop),
     * and the stop the loop asks for. */
    struct qt_pace pace;
    atomic_size_t paced_done, paced_acted, paced_step, paced_steps;
    atomic_int stop;
    size_t paced_total;
    /* A paced action waiting for its confirmation (pace_confirm.c): a
     * copy of the targets, the default pace and whether it paces. */
    struct {
        enum qt_action act;
        struct qt_action_target *t;
        char *ids;
        size_t n;
        struct qt_pace pace;
        bool paced;
        char how[200];
    } asked;
    /* JOB_RULES: the batches (owned) and what each did. */
    struct qt_rule_batch *batches;
    struct qt_rule_outcome *outcomes;
    size_t nbatches;
};

/* start copies what it needs from the targets and returns at once (false:
 * could not start, message shown); finish, when done_rd is readable,
 * reports and asks for the rescan. */
void action_job_init(struct app *a);
bool action_job_running(const struct app *a);
bool action_job_start(struct app *a, enum action_job_kind kind, enum qt_action act,
                      const struct qt_action_target *t, size_t n, const char *site,
                      const char *backup_dir);
unsigned action_job_finish(struct app *a);
/* `act` on `t` in steps as `pace` says; the status line shows how far it
 * got and action_job_stop() ends it after the current step. */
bool action_job_start_paced(struct app *a, enum qt_action act, const struct qt_action_target *t,
                            size_t n, const struct qt_pace *pace);
/* Run the rules' batches (taking them over: the job frees them). */
bool action_job_start_rules(struct app *a, struct qt_rule_batch *batches, size_t n);
/* Whether a paced action runs (and may be stopped). */
bool action_job_stoppable(const struct app *a);
void action_job_stop(struct app *a);
/* What the status line says while it runs ("releasing 300 messages: 100
 * done, step 1 of 3 (X stops)"). */
void action_job_describe(const struct app *a, char *buf, size_t size);
/* Block until the running action is done (quitting). */
void action_job_wait(struct app *a);
void action_job_free(struct app *a);

#endif
