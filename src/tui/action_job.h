/* A bulk action running on a thread of its own, so the list, the viewer
 * and the filter stay usable while postsuper works through a batch of
 * 100k IDs.  The thread touches nothing of the app's: it gets a private
 * copy of the IDs and the spool layout (read-only), and says it is done
 * by writing a byte to done_wr, which the loop polls. */
#ifndef QTRIAGE_TUI_ACTION_JOB_H
#define QTRIAGE_TUI_ACTION_JOB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qtriage/actions.h"
#include "qtriage/spool.h"

struct app;

enum action_job_kind {
    JOB_ACTION,                 /* qt_action_run */
    JOB_EXPORT_DELETE,          /* export to backup_dir, then delete what was exported */
    JOB_EXPORT,                 /* export to backup_dir only; the queue is not changed */
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
    struct qt_backend *fleet;   /* a fleet's backend: one request per host (fleet.h) */
    struct qt_action_result res;
    char *backup_dir;           /* JOB_EXPORT*: the directory (export.h) */
    char summary[700];          /* JOB_EXPORT*: what came of it */
    bool backup_ok;
    char doing[160];            /* "holding 10000 messages" */
    int64_t started_ms, finished_ms;
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
/* Block until the running action is done (quitting). */
void action_job_wait(struct app *a);
void action_job_free(struct app *a);

#endif
