/* Delay reasons: the text a remote server (or Postfix) gave for not
 * delivering yet, as the defer log keeps it.  This module is the one place
 * that takes them apart: split into answer and host, shortened for a list
 * column, sorted into classes an admin reasons with (refused, timed out,
 * greylisted...), and the class of each interned reason remembered.
 *
 * Curses-free; reasons are strangers' bytes, so nothing here assumes UTF-8
 * or a terminating NUL inside `len`. */
#ifndef QTRIAGE_REASON_H
#define QTRIAGE_REASON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qtriage/store.h"
#include "qtriage/util.h"

/* ---- split and shorten ---- */

/* The pieces of a reason, pointing into it: the answer, and the host when
 * the reason names one where Postfix puts it ("connect to HOST: ...",
 * "host HOST said: ..."), else host is NULL.  A leading "delivery
 * temporarily suspended: " is dropped. */
struct qt_reason_parts {
    const char *answer, *host;
    size_t answer_len, host_len;
};
void qt_reason_split(const char *reason, size_t len, struct qt_reason_parts *parts);
/* The REASON column's form of a delay reason (`len` bytes; NULL appends
 * nothing): the answer, then the host in parentheses:
 * "Connection refused (mx.example[192.0.2.1]:25)".  With `sanitize`, each
 * piece is made safe as qt_text_sanitize does. */
void qt_reason_shorten(const char *reason, size_t len, bool sanitize, struct qt_buf *out);

/* ---- templates ----
 *
 * In a flood most delay reasons differ from one another only by a few
 * words: the recipient's own address ("<jo@example.com>: Recipient address
 * rejected: Greylisted") and a token the remote server makes up for each
 * transaction ("... UnsolicitedRateLimitError d9443c01a7336-2a1e2c8b3f4si12
 * - gsmtp").  A store keeps such a reason as a template shared by all of
 * them plus the words that vary, so that a million messages do not hold a
 * million copies of the same 300 bytes.
 *
 * In a template, QT_REASON_ADDR stands for the recipient's address and
 * each QT_REASON_TOKEN for the next of the variable words, which are kept
 * apart, separated by QT_REASON_TOKEN.  A token is a run of ASCII letters,
 * digits, '.', '-' and '_' of at least 8 bytes with a letter and two
 * digits in it: the words that are unique per message, and host names
 * with digits, which then repeat as tokens instead. */
#define QT_REASON_TOKEN '\x01'
#define QT_REASON_ADDR '\x02'

/* Split `reason` (`len` bytes) of the recipient `addr` into a template and
 * its tokens (both buffers reset first); false, with both empty, when
 * nothing in it varies, or when it holds a placeholder byte itself (reasons
 * from the defer log never do: control bytes are replaced there). */
bool qt_reason_template(const char *reason, size_t len, const char *addr, size_t addr_len,
                        struct qt_buf *tmpl, struct qt_buf *tokens);
/* Append the reason a template stands for to `out`: the exact bytes that
 * qt_reason_template took apart. */
void qt_reason_expand(const char *tmpl, size_t tmpl_len, const char *tokens, size_t tokens_len,
                      const char *addr, size_t addr_len, struct qt_buf *out);

/* ---- classes ---- */

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
/* Class of the reason `ref` of store `s`; -1 for no reason (ref 0 or "").
 * For a recipient whose reason is a template (reason_tokens set), `ref` is
 * the template: a class is decided by the words a reason shares with the
 * others, not by an address or a token of one message. */
int qt_reason_cache_class(struct qt_reason_cache *c, const struct qt_store *s, qt_str ref);

#endif
