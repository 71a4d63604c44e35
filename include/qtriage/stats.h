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
    bool null_sender;           /* QT_BY_SENDER: the group of the null sender */
    /* QT_BY_REASON: the distinct raw reasons (folded) shortened to key. */
    const char **raws;
    size_t *raw_lens;
    size_t nraws;
};

struct qt_stats {
    enum qt_stats_by by;
    struct qt_stats_group *groups;  /* count desc, then size desc, then key */
    size_t n;
    uint64_t messages;          /* messages the filter matched */
    uint64_t size;              /* their total msg_size */
    uint64_t ungrouped;         /* of which in no group (see above) */
    void *priv;                 /* owns the groups' strings */
};

void qt_stats_init(struct qt_stats *st);
void qt_stats_free(struct qt_stats *st);
/* Group the messages of `s` that `f` matches (NULL: all; `now` as for
 * qt_filter_match) by `by`, replacing what `st` held.  All groups are kept,
 * sorted; the top N are the first N. */
void qt_stats_compute(struct qt_stats *st, const struct qt_store *s, struct qt_filter *f,
                      enum qt_stats_by by, int64_t now);

/* Append to `out` a filter expression (the filter bar's language) that
 * selects exactly the messages of group `g` of `st`, e.g.
 * sender_domain="example.com", sender=<>, class="greylisted", or for a
 * reason (reason="..." or reason="..."), values quoted.  Returns false
 * (appending nothing) when no exact expression exists: a key with a NUL
 * byte, which a query cannot hold. */
bool qt_stats_filter_expr(const struct qt_stats *st, const struct qt_stats_group *g,
                          struct qt_buf *out);

#endif
