/* The table of messages: compact records, interned strings, an index by
 * queue ID.  One thread owns a store; backends hand it batches through
 * qt_feed (see feed.h), never by writing into it from their own threads. */
#ifndef QTRIAGE_STORE_H
#define QTRIAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qtriage/message.h"
#include "qtriage/strpool.h"
#include "qtriage/util.h"

#define QT_MSG_FORCED_EXPIRE 0x01
#define QT_MSG_NULL_SENDER   0x02
#define QT_MSG_UNREADABLE    0x04

struct qt_rcpt {
    qt_str address, orig, status;
    /* The delay or bounce reason; when reason_tokens is set, a template
     * (see reason.h) whose tokens are reason_tokens: read it with
     * qt_store_reason(). */
    qt_str reason, reason_tokens;
    uint8_t state;              /* enum qt_rcpt_state */
    uint8_t bounced;
};

struct qt_msg {
    qt_str id, sender, subject, from, attrs, error;
    qt_str attr_fields[QT_ATTR_NFIELDS];    /* see qt_attr_field_names */
    qt_str reason;              /* first reason (a template, maybe), to sort by */
    qt_str host;                /* a fleet's host; 0 on this machine */
    uint32_t nrcpts;            /* all its recipients */
    uint32_t npending;          /* of which still to deliver */
    uint32_t rcpt_first;        /* its recipients: the store's rcpts[] from here */
    /* Seconds since the epoch (unsigned 32 bits last until 2106) and the
     * size (a message over 4 GiB is clamped): at a million messages every
     * byte here is a megabyte, so what nothing reads from the store (the
     * file's size and layout, create_time) is not kept: `list --json`
     * prints those from the scan's data. */
    uint32_t arrival, mtime;
    uint32_t msg_size;
    uint8_t queue;              /* enum qt_queue */
    uint8_t flags;
};

struct qt_store {
    struct qt_strpool pool;
    struct qt_msg *msgs;
    size_t n, cap;
    /* Every message's recipients, one run each (no allocation per message);
     * runs of removed or replaced messages are garbage until the array is
     * compacted. */
    struct qt_rcpt *rcpts;
    size_t rcpts_used, rcpts_cap, rcpts_dead;
    /* Messages removed or replaced since the pool was last compacted: the
     * pool keeps their strings until then. */
    size_t pool_garbage;
    uint32_t *index;            /* open addressing: message number + 1 */
    size_t index_slots;
    size_t per_queue[QT_Q_COUNT];
    uint64_t total_size;        /* sum of msg_size, kept by upsert/remove */
    uint64_t version;           /* bumped on every change */
    struct qt_buf tmpl, tokens; /* upsert's scratch for reason templates */
};

void qt_store_init(struct qt_store *s);
void qt_store_free(struct qt_store *s);

/* Insert or replace the message with d->id. */
void qt_store_upsert(struct qt_store *s, const struct qt_msg_data *d);

/* Upserts that know which messages come next: the hashes of a message's ID
 * and strings, worked out and asked of the memory a few messages ahead
 * (qt_store_look_ahead, then nearer the time qt_store_look_closer), so
 * the cache misses of a million-message load overlap instead of queueing
 * one after the other.  `a` belongs to the caller; it holds d's hashes
 * until qt_store_upsert_ahead(s, d, a) with the same d uses them. */
#define QT_STORE_AHEAD_STRS 48
struct qt_store_ahead {
    const struct qt_msg_data *d;
    uint32_t id_hash;
    unsigned n;                         /* strings in h[] and len[]; the rest are
                                           hashed then */
    uint32_t h[QT_STORE_AHEAD_STRS];
    size_t len[QT_STORE_AHEAD_STRS];
};
void qt_store_look_ahead(const struct qt_store *s, const struct qt_msg_data *d,
                         struct qt_store_ahead *a);
void qt_store_look_closer(const struct qt_store *s, const struct qt_store_ahead *a);
void qt_store_upsert_ahead(struct qt_store *s, const struct qt_msg_data *d,
                           const struct qt_store_ahead *a);
/* Change queue/mtime/flags of a known message; false when unknown. */
bool qt_store_update(struct qt_store *s, const char *id, enum qt_queue queue, int64_t mtime,
                     bool forced_expire);
/* Remove; false when unknown.  The last message moves into the hole, so
 * message numbers are only stable between changes.
 *
 * Upserts and removals may compact the string pool when the strings of
 * messages gone make up much of it: the pool then gets a new serial, and
 * every qt_str taken from it before is void (as its serial says). */
bool qt_store_remove(struct qt_store *s, const char *id);

/* Message number of `id`, or -1. */
long qt_store_find(const struct qt_store *s, const char *id);

/* The recipients of m: nrcpts entries, valid until the store next changes
 * (as message numbers are). */
static inline const struct qt_rcpt *qt_store_rcpts(const struct qt_store *s,
                                                   const struct qt_msg *m)
{
    return s->rcpts + m->rcpt_first;
}

/* The text of r's reason and its length (NULL and 0 when it has none):
 * the pool's string, or for a template the reason built in `scratch`,
 * which the next call overwrites. */
const char *qt_store_reason(const struct qt_store *s, const struct qt_rcpt *r,
                            struct qt_buf *scratch, size_t *len);
/* m's first reason (the one the list shows), as qt_store_reason gives it. */
const char *qt_store_msg_reason(const struct qt_store *s, const struct qt_msg *m,
                                struct qt_buf *scratch, size_t *len);

static inline const char *qt_store_str(const struct qt_store *s, qt_str ref)
{
    return qt_strpool_get(&s->pool, ref);
}

/* Iterate the shared attributes of m (all but create_time and those in
 * qt_attr_field_names, which have fields of their own): returns the next
 * "name=value" after `prev` (NULL to start), or NULL at the end. */
const char *qt_store_next_attr(const struct qt_store *s, const struct qt_msg *m,
                               const char *prev);
/* Value of one attribute (any, but create_time), or NULL. */
const char *qt_store_attr(const struct qt_store *s, const struct qt_msg *m, const char *name);

/* Allocator settings for a long-lived process holding a large store: set
 * once at start, before threads run. */
void qt_store_tune_allocator(void);

/* Give back what the store and the allocator hold beyond what the messages
 * need (the table's growth slack, freed load buffers): after a load. */
void qt_store_release_slack(struct qt_store *s);

/* Approximate heap bytes used. */
size_t qt_store_memory(const struct qt_store *s);

#endif
