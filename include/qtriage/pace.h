/* Gentle release: releasing, requeueing or delivering many messages in
 * steps, so the active queue (qmgr_message_active_limit) is not flooded at
 * once.  A step is one qt_action_run() on the next `batch` IDs; between
 * steps qtriage waits `every_ms`, and, with `drain_below`, until the active
 * queue holds fewer messages than that.  A stop flag, checked between steps
 * and while waiting, ends it half way: what was done and what was not are
 * both reported, and nothing is left half acted on. */
#ifndef QTRIAGE_PACE_H
#define QTRIAGE_PACE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qtriage/actions.h"
#include "qtriage/spool.h"
#include "qtriage/util.h"

/* Above this many messages release/requeue/deliver are paced unless the
 * admin says otherwise. */
#define QT_PACE_DEFAULT_ABOVE 10000

struct qt_pace {
    size_t batch;               /* IDs per step; 0: all at once */
    int64_t every_ms;           /* pause between steps */
    size_t drain_below;         /* > 0: also wait until the active queue has fewer */
};

/* Whether `a` may be paced (release, requeue, deliver). */
bool qt_pace_applies(enum qt_action a);
/* "100/s", "20/m", "5/h" (N messages per second, minute, hour): one step a
 * second (or N per minute in steps of a second's share).  False with err
 * set for anything else. */
bool qt_pace_parse_rate(const char *text, struct qt_pace *p, struct qt_error *err);
/* The default pace for `n` messages: none up to QT_PACE_DEFAULT_ABOVE;
 * above, steps of qmgr_message_active_limit / 2 (read with postconf; 20000
 * when it cannot be read) waiting until the active queue is below half the
 * limit.  Returns whether it paces; `why` says how, for the confirmation. */
bool qt_pace_default(const struct qt_spool_layout *l, size_t n, struct qt_pace *p, char *why,
                     size_t size);
/* "in steps of 500 every 2 s" and the like. */
void qt_pace_describe(const struct qt_pace *p, char *buf, size_t size);
/* Messages in the active queue now (a directory count); -1 if unreadable. */
long qt_pace_active_count(const struct qt_spool_layout *l);

struct qt_pace_progress {
    size_t done, total;         /* IDs handed to the tool so far, of all */
    size_t acted;               /* what Postfix reported acting on */
    size_t step, steps;
    bool waiting;               /* between steps */
};

/* Run `a` on `targets` in steps as `p` says (p->batch 0: one step).
 * `progress` (may be NULL) is called after every step, from this thread.
 * When *stop becomes non-zero no further step starts; *done_n is then the
 * number of leading targets handed to the tool (the rest untouched).  The
 * results of the steps are merged into `res`; res->message says how far it
 * got.  Returns false when a step failed (nothing after it ran) or it was
 * stopped. */
bool qt_action_run_paced(const struct qt_spool_layout *l, enum qt_action a,
                         const struct qt_action_target *targets, size_t n,
                         const struct qt_pace *p, atomic_int *stop,
                         void (*progress)(void *ctx, const struct qt_pace_progress *pr),
                         void *ctx, struct qt_action_result *res, size_t *done_n);

#endif
