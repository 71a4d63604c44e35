/* Standing rules: "keep doing this".  A rule is a filter and an action
 * (hold, or delete with a backup directory) that applies to every message
 * matching now and to each one that arrives or changes later, until it is
 * removed or expires.
 *
 * Two halves, on two threads:
 *   - on the thread that owns the store, qt_rules_note() hears of every
 *     message a scan added or changed (the feed's on_change hook), and
 *     qt_rules_collect() turns those, and only those, into batches: one
 *     struct qt_rule_batch per rule, a private copy of IDs (never the whole
 *     queue again on a rescan);
 *   - anywhere (the TUI's action thread, the CLI's loop), qt_rule_batch_run()
 *     reads each listed message again from the spool and tests it against
 *     the rule's filter once more right before acting, because the list is
 *     only IDs and the message may have changed since: a rule never touches
 *     a message outside its filter.  The caught count comes back to the
 *     store's thread with qt_rules_credit().
 * A message matching several rules is taken by the first (oldest) one. */
#ifndef QTRIAGE_RULES_H
#define QTRIAGE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qtriage/actions.h"
#include "qtriage/filter.h"
#include "qtriage/selection.h"
#include "qtriage/spool.h"
#include "qtriage/store.h"
#include "qtriage/util.h"

#define QT_RULE_DEFAULT_LIFETIME 3600   /* seconds: one hour unless told */

struct qt_rule {
    unsigned id;                /* 1, 2, ...: how the pane and the CLI name it */
    char *query;                /* the filter as given */
    struct qt_filter *filter;   /* compiled from query; the store's thread only */
    enum qt_action action;      /* QT_ACT_HOLD or QT_ACT_DELETE */
    char *backup_dir;           /* delete: exported there first; NULL for hold */
    int64_t created, expires;   /* seconds since the epoch */
    bool paused;
    size_t caught;              /* messages it acted on */
    size_t let_go;              /* listed, but no longer matching when acted on */
};

struct qt_rules {
    struct qt_rule *v;
    size_t n, cap;
    unsigned next_id;
    struct qt_selection changed;    /* IDs added or changed since the last collect */
};

/* What one rule acts on next: built by qt_rules_collect() or
 * qt_rules_collect_rule(), owned by the caller, independent of the rules
 * and the store (it may go to another thread). */
struct qt_rule_batch {
    unsigned rule_id;
    char *query;
    enum qt_action action;
    char *backup_dir;
    struct qt_action_target *t;     /* ids point into `ids` */
    size_t n;
    char *ids;
};

/* What running a batch did. */
struct qt_rule_outcome {
    char **acted;               /* the IDs acted on (held, or exported and deleted) */
    size_t nacted;
    size_t let_go;              /* no longer matching (or gone) when read again */
    bool failed;
    char message[700];          /* one line: the action's or the export's */
};

void qt_rules_init(struct qt_rules *r);
void qt_rules_free(struct qt_rules *r);

/* Add a rule.  `lifetime` in seconds (<= 0: QT_RULE_DEFAULT_LIFETIME).
 * Refused (NULL, err set) for an action other than hold and delete, a
 * delete without a backup directory, an empty filter (a rule over every
 * message is not a rule) or a filter that does not compile. */
struct qt_rule *qt_rules_add(struct qt_rules *r, const char *query, enum qt_action action,
                             const char *backup_dir, int64_t lifetime, int64_t now,
                             struct qt_error *err);
struct qt_rule *qt_rules_find(struct qt_rules *r, unsigned id);
bool qt_rules_remove(struct qt_rules *r, unsigned id);
/* Active: not paused and not expired. */
bool qt_rule_active(const struct qt_rule *rule, int64_t now);
size_t qt_rules_count_active(const struct qt_rules *r, int64_t now);
size_t qt_rules_caught(const struct qt_rules *r);
/* Whether the action still applies to a message in `queue` (holding a
 * held message does nothing). */
bool qt_rule_applies_to_queue(enum qt_action action, enum qt_queue queue);

/* The feed's on_change hook (ctx: struct qt_rules *). */
void qt_rules_note(void *ctx, const char *id);

/* Batches for the messages noted since the last call that an active rule's
 * filter matches in `store`; the noted set is emptied.  Returns how many
 * batches were put in *out (malloc'd array; free with
 * qt_rule_batches_free). */
size_t qt_rules_collect(struct qt_rules *r, const struct qt_store *store, int64_t now,
                        struct qt_rule_batch **out);
/* One batch for everything `rule` matches in `store` now (a new rule). */
void qt_rules_collect_rule(struct qt_rules *r, const struct qt_rule *rule,
                           const struct qt_store *store, int64_t now,
                           struct qt_rule_batch *out);
void qt_rule_batch_free(struct qt_rule_batch *b);
void qt_rule_batches_free(struct qt_rule_batch *v, size_t n);

/* Read every message of `b` again from the spool, keep those the rule's
 * filter still matches (and the action applies to), and act on them: hold,
 * or export to the backup directory and delete what was exported.  Safe on
 * any thread: it uses nothing but `l` (read-only) and its own copies. */
bool qt_rule_batch_run(const struct qt_spool_layout *l, const struct qt_rule_batch *b,
                       struct qt_rule_outcome *out);
void qt_rule_outcome_free(struct qt_rule_outcome *o);
/* Count an outcome to its rule (if the rule still exists). */
void qt_rules_credit(struct qt_rules *r, unsigned rule_id, const struct qt_rule_outcome *o);

/* "hold" or "delete (backup /root/bk)"; "2h 3m" and the like for a time
 * left; for the pane, the status line and the CLI. */
void qt_rule_describe_action(const struct qt_rule *rule, char *buf, size_t size);
void qt_rule_format_left(int64_t seconds, char *buf, size_t size);

#endif
