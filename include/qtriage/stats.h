/* Statistics over the queue: the top-N groups.  The messages a filter
 * matches, grouped by one key (sender, domain, client, subject, delay
 * reason, reason class...), each group with its message count and total
 * size, and for every group a filter expression that selects exactly its
 * messages.
 *
 * qshape's table is in shape.h, the Postfix settings that shape the queue
 * in queue_settings.h, the delay-reason classes in reason.h.
 *
 * Curses-free.  Results own copies of everything they show, so they stay
 * valid after the store changes (a rescan); rebuild them to see the change. */
#ifndef QTRIAGE_STATS_H
#define QTRIAGE_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qtriage/fields.h"
#include "qtriage/filter.h"
#include "qtriage/store.h"
#include "qtriage/util.h"
/* Not used here: the modules that stats.h once declared, for the code
 * that still reaches them through it. */
#include "qtriage/queue_settings.h"
#include "qtriage/reason.h"
#include "qtriage/shape.h"

/* ---- top-N groups ---- */

/* Growth: the windows arrival rates are taken over, in seconds (5, 15 and
 * 60 minutes), and their names ("5m", "15m", "60m"). */
#define QT_STATS_NWINDOWS 3
extern const int64_t qt_stats_windows[QT_STATS_NWINDOWS];
extern const char *const qt_stats_window_names[QT_STATS_NWINDOWS];

/* Whether a message that arrived at `arrival` (seconds since the epoch:
 * the queue file's arrival time, as postqueue -j's arrival_time) arrived
 * within the last `window` seconds before `now`: now - arrival < window.
 * An arrival after `now` (a clock stepped back, a file from a faster
 * clock) counts as arrived just now. */
bool qt_stats_arrived(int64_t arrival, int64_t now, int64_t window);
/* Messages per minute: `arrived` messages over window number `w`. */
double qt_stats_rate(uint64_t arrived, int w);

/* How groups are ordered. */
enum qt_stats_sort {
    QT_STATS_SORT_COUNT,        /* who fills the queue most: count, size, key */
    /* Who floods right now: arrivals in the last 5 minutes, then 15, then
     * 60, then as by count (so with nothing recent it is the count order). */
    QT_STATS_SORT_RATE,
};

/* The keys (enum qt_stats_by) are fields of the registry (fields.h). */

struct qt_stats_key {
    const char *name;           /* as typed: "sender_domain" (the CLI's --by) */
    const char *title;          /* column header: "SENDER DOMAIN" */
};
/* Name and title of each key, indexed by enum qt_stats_by: the registry's
 * name and title of its field, so qt_stats_by_info[by].name reads as an
 * array. */
const struct qt_stats_key *qt_stats_by_table(void);
#define qt_stats_by_info (qt_stats_by_table())
/* Accepts the keys' field names and their aliases ("domain" for
 * rcpt_domain, "sasl_username"). */
bool qt_stats_by_from_name(const char *name, enum qt_stats_by *by);

/* Keys are grouped ASCII case-insensitively, like the filter's "=": one
 * group per folded key, shown with the spelling met first.  A message
 * counts once in every group it belongs to; with QT_BY_RCPT_DOMAIN,
 * QT_BY_REASON and QT_BY_CLASS it can belong to several (one per distinct
 * domain of its pending recipients, or per distinct reason of its
 * recipients), or to none (no pending recipient, no delay reason). */
struct qt_stats_group {
    const char *key;            /* raw bytes as grouped (may be empty, not UTF-8);
                                 * QT_BY_REASON: the short form of the lowercased
                                 * reason, QT_BY_CLASS: the class name */
    size_t key_len;
    const char *label;          /* for display: sanitized UTF-8, "(none)" for "" */
    uint64_t count;             /* messages */
    uint64_t size;              /* sum of their msg_size */
    /* Of them, arrived within each of qt_stats_windows (see qt_stats_arrived). */
    uint64_t arrived[QT_STATS_NWINDOWS];
    bool null_sender;           /* QT_BY_SENDER: the group of the null sender */
    /* QT_BY_REASON: the distinct raw reasons (folded) shortened to key. */
    const char **raws;
    size_t *raw_lens;
    size_t nraws;
};

struct qt_stats {
    enum qt_stats_by by;
    enum qt_stats_sort sort;
    struct qt_stats_group *groups;  /* in `sort` order; NULL until complete */
    size_t n;
    uint64_t messages;          /* messages the filter matched */
    uint64_t size;              /* their total msg_size */
    uint64_t ungrouped;         /* of which in no group (see above) */
    uint64_t arrived[QT_STATS_NWINDOWS];    /* of the messages, arrived within */
    int64_t now;                /* the clock the arrivals were measured against */
    bool complete;              /* every message counted, groups sorted */
    size_t counted;             /* messages of the store looked at so far */
    size_t total;               /* messages of the store to look at */
    void *priv;                 /* owns the groups' strings */
};

void qt_stats_init(struct qt_stats *st);
void qt_stats_free(struct qt_stats *st);
/* Group the messages of `s` that `f` matches (NULL: all; `now` as for
 * qt_filter_match) by `by`, replacing what `st` held.  All groups are kept,
 * sorted; the top N are the first N. */
void qt_stats_compute(struct qt_stats *st, const struct qt_store *s, struct qt_filter *f,
                      enum qt_stats_by by, int64_t now);

/* The same in steps, for a screen that must answer keys meanwhile:
 * begin, then step until it returns true (st->complete).  Between steps
 * neither the store nor the filter may change (begin again if they do);
 * st->counted of st->total tells the progress. */
void qt_stats_begin(struct qt_stats *st, const struct qt_store *s, struct qt_filter *f,
                    enum qt_stats_by by, int64_t now);
/* Look at up to `budget` more messages; true once complete. */
bool qt_stats_step(struct qt_stats *st, const struct qt_store *s, size_t budget);

/* Reorder the groups of a complete `st`. */
void qt_stats_sort(struct qt_stats *st, enum qt_stats_sort sort);

/* A group that holds what has no value rather than one source: the empty
 * key ("(none)": no sasl login, no client), or Postfix's "unknown" (a
 * client name without reverse DNS).  The null sender is a real group. */
bool qt_stats_group_catchall(const struct qt_stats_group *g);

/* Append to `out` a filter expression (the filter bar's language) that
 * selects exactly the messages of group `g` of `st`, e.g.
 * sender_domain="example.com", sender=<>, class="greylisted", or for a
 * reason (reason="..." or reason="..."), values quoted.  Returns false
 * (appending nothing) when no exact expression exists: a key with a NUL
 * byte, which a query cannot hold. */
bool qt_stats_filter_expr(const struct qt_stats *st, const struct qt_stats_group *g,
                          struct qt_buf *out);

#endif
