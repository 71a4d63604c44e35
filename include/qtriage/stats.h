/* Statistics over the queue: who and what fills it, and for how long.
 *
 * - Top-N groups: the messages a filter matches, grouped by one key
 *   (sender, domain, client, subject, delay reason, reason class...), each
 *   group with its message count and total size, and for every group a
 *   filter expression that selects exactly its messages.
 * - Delay-reason classes: a table of patterns that sorts Postfix's delay
 *   reasons into what an admin reasons with (refused, timed out, greylisted...).
 * - qshape's table: domains by age buckets, computed as /usr/sbin/qshape does.
 * - The Postfix settings that shape the queue (backoff times, lifetimes, the
 *   active queue's limit).
 *
 * Curses-free.  Results own copies of everything they show, so they stay
 * valid after the store changes (a rescan); rebuild them to see the change. */
#ifndef QTRIAGE_STATS_H
#define QTRIAGE_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qtriage/filter.h"
#include "qtriage/spool.h"
#include "qtriage/store.h"
#include "qtriage/util.h"

/* ---- delay-reason classes ---- */

/* The classes, in the order their patterns are tried (first match wins);
 * the last one, "other", takes what no pattern matched.  Names are single
 * words, as typed in the filter: class=greylisted. */
size_t qt_reason_class_count(void);
const char *qt_reason_class_name(size_t cls);        /* "connection-refused" */
const char *qt_reason_class_title(size_t cls);       /* "connection refused" */
/* Class of one reason text (any bytes, `len` of them); never fails. */
size_t qt_reason_classify(const char *reason, size_t len);
/* Index of the class called `name` (ASCII case-insensitive), or -1. */
int qt_reason_class_from_name(const char *name, size_t len);

/* The class of each distinct reason string of one store, worked out once:
 * strings are interned, so the cache is keyed by qt_str (and forgets all
 * when it meets another pool).  Not thread-safe; one per user. */
struct qt_reason_cache {
    uint64_t pool_serial;
    uint32_t *keys;             /* qt_str, 0 = empty slot */
    uint8_t *classes;
    size_t nslots, count;
};
void qt_reason_cache_init(struct qt_reason_cache *c);
void qt_reason_cache_free(struct qt_reason_cache *c);
/* Class of the reason `ref` of store `s`; -1 for no reason (ref 0 or ""). */
int qt_reason_cache_class(struct qt_reason_cache *c, const struct qt_store *s, qt_str ref);

/* The domain of an address as the store shows it: after its last '@', or
 * "" (length 0) without one.  Points into `addr`. */
const char *qt_address_domain(const char *addr, size_t len, size_t *dlen);

/* ---- top-N groups ---- */

enum qt_stats_by {
    QT_BY_SENDER,           /* envelope sender; the null sender is its own group */
    QT_BY_SENDER_DOMAIN,    /* after the sender's last '@'; "" without one */
    QT_BY_SASL,             /* sasl_username attribute; "" when absent */
    QT_BY_CLIENT,           /* client_address attribute */
    QT_BY_CLIENT_NAME,      /* client_name attribute */
    QT_BY_RCPT_DOMAIN,      /* pending recipients' domains: once per distinct domain */
    QT_BY_SUBJECT,          /* decoded Subject as stored */
    QT_BY_REASON,           /* delay reason, shortened as the list's REASON column */
    QT_BY_CLASS,            /* delay-reason class */
    QT_BY_COUNT,
};

struct qt_stats_by_info {
    const char *name;           /* as typed: "sender_domain" (the CLI's --by) */
    const char *title;          /* column header: "SENDER DOMAIN" */
};
extern const struct qt_stats_by_info qt_stats_by_info[QT_BY_COUNT];
/* Accepts the names above and the filter language's aliases ("domain" for
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

/* ---- qshape ---- */

/* What /usr/sbin/qshape counts (Postfix 3.x): in the queues chosen
 * (default incoming and active), every readable message with mode 0700
 * (forced-to-expire ones, 0710, are skipped), by arrival time, that has at
 * least one pending recipient; each pending recipient counts once in its
 * domain (lowercased, after the last '@'), or with sender = true the
 * message counts once in its sender's domain, the null sender as
 * "MAILER-DAEMON".  Bucket 1 is [0, tick) minutes old, bucket b >= 2 is
 * [tick * 2^(b-2), tick * 2^(b-1)), the last bucket takes all older mail.
 * With parents, each domain also counts in its parent domains (".example.com";
 * never a TLD), shown when they have at least min_subdomains children. */
struct qt_shape_options {
    bool sender;                /* -s */
    bool parents;               /* -p */
    bool linear;                /* -l: bucket b is [(b-1)*tick, b*tick) */
    double tick;                /* -t minutes, > 0 (default 5) */
    int buckets;                /* -b, > 0 (default 10) */
    int min_subdomains;         /* -m, > 0 (default 5) */
    bool queues[QT_Q_COUNT];    /* all false: incoming and active */
};
void qt_shape_options_default(struct qt_shape_options *o);

/* Bucket (1..buckets) of a message `age` seconds old, as qshape rounds it. */
int qt_shape_bucket(int64_t age, const struct qt_shape_options *o);

struct qt_shape_row {
    const char *domain;         /* "TOTAL", "example.com", ".example.com" */
    size_t domain_len;
    uint64_t *counts;           /* [0] all ages, [1..buckets] per bucket */
    bool total;                 /* the TOTAL row */
    bool parent;                /* a parent domain (starts with '.') */
    size_t subdomains;          /* parent: distinct children counted */
};

struct qt_shape {
    struct qt_shape_options opts;
    struct qt_shape_row *rows;  /* qshape's order, TOTAL among them; parents
                                 * with too few children left out */
    size_t n;
    void *priv;
};

void qt_shape_init(struct qt_shape *sh);
void qt_shape_free(struct qt_shape *sh);
/* Count the messages of `s` that `f` matches (NULL: all) at time `now`. */
void qt_shape_compute(struct qt_shape *sh, const struct qt_store *s, struct qt_filter *f,
                      const struct qt_shape_options *o, int64_t now);
/* Column heading `col` (0..buckets) as qshape prints it: "T", then each
 * bucket's upper bound in minutes ("5", "10", "20", ... "1280"), the last
 * one its lower bound ("1280+"). */
void qt_shape_heading(const struct qt_shape *sh, int col, struct qt_buf *out);
/* qshape's text: the heading line, then at most `max_rows` rows (0: all)
 * for a terminal `width` columns wide (qshape: 80, or -w when larger). */
void qt_shape_format(const struct qt_shape *sh, int width, size_t max_rows,
                     struct qt_buf *out);

/* ---- the settings that shape the queue ---- */

enum qt_queue_setting {
    QT_SET_QUEUE_RUN_DELAY,                 /* seconds */
    QT_SET_MINIMAL_BACKOFF_TIME,            /* seconds */
    QT_SET_MAXIMAL_BACKOFF_TIME,            /* seconds */
    QT_SET_MAXIMAL_QUEUE_LIFETIME,          /* seconds */
    QT_SET_BOUNCE_QUEUE_LIFETIME,           /* seconds */
    QT_SET_QMGR_MESSAGE_ACTIVE_LIMIT,       /* messages */
    QT_SET_DEFAULT_DESTINATION_CONCURRENCY_LIMIT,
    QT_SET_COUNT,
};

struct qt_queue_settings {
    int64_t value[QT_SET_COUNT];    /* -1: postconf's value was not understood */
    char *text[QT_SET_COUNT];       /* as postconf printed it */
};
extern const char *const qt_queue_setting_names[QT_SET_COUNT];  /* main.cf names */
/* Whether setting `i` is a time (in seconds) rather than a count. */
bool qt_queue_setting_is_time(enum qt_queue_setting i);

/* Read them with `postconf [-c DIR] -h -x NAME...` (the layout says where
 * postconf is and which instance).  False with `err` set when postconf
 * fails; values postconf printed but that do not parse are -1. */
bool qt_queue_settings_load(struct qt_queue_settings *qs, const struct qt_spool_layout *l,
                            struct qt_error *err);
void qt_queue_settings_free(struct qt_queue_settings *qs);
/* A Postfix time value ("300s", "5d", "1h"; bare numbers in `default_unit`)
 * in seconds, or -1. */
int64_t qt_postfix_time(const char *text, char default_unit);
/* True when `active` messages fill the active queue to its limit
 * (qmgr_message_active_limit): qmgr takes no more from incoming and
 * deferred until some leave. */
bool qt_queue_settings_active_full(const struct qt_queue_settings *qs, size_t active);

#endif
