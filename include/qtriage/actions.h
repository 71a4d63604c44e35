/* Changing the queue, only ever through Postfix's own tools.
 *
 * IDs are validated ([0-9A-Za-z]) before anything runs.  A set of messages is
 * acted on with one `postsuper -X - QUEUE` per queue (IDs on standard input),
 * exec'd from an argv array.  IDs that postsuper did not act on in their
 * queue (qmgr may have moved them meanwhile) get a second pass over all the
 * queues the action applies to; whatever is still left is reported as gone
 * or as not applicable (e.g. releasing a message that is not on hold).
 * qtriage never renames, writes or unlinks a queue file itself. */
#ifndef QTRIAGE_ACTIONS_H
#define QTRIAGE_ACTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "qtriage/spool.h"

enum qt_action {
    QT_ACT_HOLD,
    QT_ACT_RELEASE,
    QT_ACT_REQUEUE,
    QT_ACT_DELETE,
    QT_ACT_EXPIRE,
    QT_ACT_DELIVER,     /* postqueue -i ID, one message at a time */
    QT_ACT_FLUSH,       /* postqueue -f: no IDs */
    QT_ACT_FLUSH_SITE,  /* postqueue -s SITE: no IDs */
    QT_ACT_COUNT,
};

/* What every front end says about an action, declared once: the TUI's
 * confirmations, status line and help, the CLI's prompts and usage. */
struct qt_action_desc {
    const char *name;           /* "hold": the command name */
    const char *verb;           /* "Hold": a confirmation starts with it ("DELETE" shouts) */
    const char *doing;          /* "holding": while it runs */
    const char *done;           /* "held": once it ran */
    const char *tool;           /* "postsuper -h": what runs */
    const char *summary;        /* "put on hold": one line for help texts */
    bool postsuper;             /* run by postsuper (else postqueue) */
    bool confirm;               /* asked before it runs: it cannot be undone, or it
                                   hits every destination at once */
    bool takes_ids;             /* acts on messages (flush and flush-site do not) */
};

/* The descriptor of `a`; NULL when `a` is not an action. */
const struct qt_action_desc *qt_action_describe(enum qt_action a);
const char *qt_action_name(enum qt_action a);        /* "hold", "release", ... */
bool qt_action_from_name(const char *name, enum qt_action *a);
bool qt_action_takes_ids(enum qt_action a);

struct qt_action_target {
    const char *id;
    enum qt_queue queue;        /* where it was last seen; QT_Q_COUNT if unknown */
};

struct qt_action_result {
    size_t requested;           /* distinct valid IDs asked for */
    size_t acted;               /* what Postfix reports it acted on */
    char **gone;                /* no longer in the queue */
    size_t ngone;
    char **skipped;             /* still there, but the action does not apply */
    size_t nskipped;
    char **invalid;             /* rejected before running anything */
    size_t ninvalid;
    bool failed;                /* a tool could not run or failed */
    char pickup_note[128];      /* requeue: pickup could not be woken */
    char message[512];          /* one line for a status bar */
};

/* Run `a` on `targets` (or on `site` for QT_ACT_FLUSH_SITE).  When any ID is
 * invalid nothing runs.  Returns true when the tools ran and reported no
 * failure (gone IDs are not a failure). */
bool qt_action_run(const struct qt_spool_layout *l, enum qt_action a,
                   const struct qt_action_target *targets, size_t n, const char *site,
                   struct qt_action_result *res);
void qt_action_result_free(struct qt_action_result *res);

#endif
