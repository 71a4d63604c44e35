/* Any header of a queued message, for the filter's header.NAME terms.
 *
 * The store keeps only Subject and From; other headers are read from the
 * queue file when a filter asks for them (its header block only: the
 * reader jumps over the body), unfolded, RFC 2047 decoded and sanitised as
 * the Subject is, each value cut to QT_HEADER_VALUE_MAX bytes.  What was
 * read is kept per message for the header names asked for so far, so a
 * filter over the whole queue reads each file once, and the next filter
 * with the same names reads none.  A cached message is recognised by its
 * queue ID and arrival time: a queue ID Postfix reuses for another message
 * is read afresh, and a message that only moved between queues is not
 * (Postfix never rewrites a queued message's headers).
 *
 * One lock guards the cache; the callback of qt_header_cache_any() runs
 * under it, so a cache may serve filters on several threads. */
#ifndef QTRIAGE_HEADER_CACHE_H
#define QTRIAGE_HEADER_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "qtriage/spool.h"
#include "qtriage/store.h"

#define QT_HEADER_VALUE_MAX 1024
#define QT_HEADER_NAME_MAX 76
/* Header names remembered at once; asking for one more starts afresh. */
#define QT_HEADER_NAMES_MAX 32

struct qt_header_cache;

/* `layout` (borrowed; must outlive the cache) says where the queue files
 * are. */
struct qt_header_cache *qt_header_cache_new(const struct qt_spool_layout *layout);
void qt_header_cache_free(struct qt_header_cache *c);   /* NULL is fine */

enum qt_header_answer {
    QT_HEADER_NO,           /* no value passed the test */
    QT_HEADER_YES,          /* one did */
    QT_HEADER_GONE,         /* the message is in no queue any more */
    QT_HEADER_UNREADABLE,   /* its file could not be read: see last_error */
};

/* Whether one value of header `name` of message `m` passes `test`.  A
 * header the message does not have is one empty value, as the filter
 * takes every absent value.  The values are NUL-terminated UTF-8 without
 * control characters; `test` runs under the cache's lock and must not call
 * back into it. */
enum qt_header_answer qt_header_cache_any(struct qt_header_cache *c, const struct qt_store *s,
                                          const struct qt_msg *m, const char *name,
                                          bool (*test)(void *ctx, const char *value,
                                                       size_t len),
                                          void *ctx);

/* Why the last QT_HEADER_UNREADABLE came ("A1B2C3: Permission denied"). */
const char *qt_header_cache_last_error(const struct qt_header_cache *c);

/* Queue files read so far, and messages remembered (for measurements). */
size_t qt_header_cache_reads(const struct qt_header_cache *c);
size_t qt_header_cache_size(const struct qt_header_cache *c);

/* Forget the messages `s` no longer has (after a rescan); a cache also
 * does this by itself when it holds many more messages than the store. */
void qt_header_cache_prune(struct qt_header_cache *c, const struct qt_store *s);

#endif
