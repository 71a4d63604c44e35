/* The query language of the queue list's filter bar.
 *
 * A query is compiled once, as it is typed, and then evaluated against every
 * message in the store; evaluation allocates nothing, so refiltering a
 * million messages on each keystroke costs only the comparisons.
 *
 *   query   := [expr]                    empty or blank: every message
 *   expr    := and ( ("or" | "||") and )*
 *   and     := unary ( ["and" | "&&"] unary )*    adjacent terms: AND
 *   unary   := ("not" | "!") unary | "(" expr ")" | "rcpt(" expr ")" | term
 *   term    := FIELD ":" VALUE           substring, ASCII case-insensitive
 *            | FIELD "=" VALUE           whole value, ASCII case-insensitive
 *            | FIELD "~" /REGEX/FLAGS    pcre2; flags i, x, s, m as in Perl
 *            | FIELD ("!:" | "!=" | "!~") ...   negated (size!=0 too)
 *            | NUMFIELD OP NUMBER[UNIT]  OP: < <= > >= =
 *            | arrival OP TIME           TIME: YYYY-MM-DD[THH:MM[:SS]], local
 *            | "header." NAME (":" | "=" | "~" | "!:" | "!=" | "!~") ...
 *            | WORD | "QUOTED"           substring of id, sender, any
 *            | /REGEX/FLAGS              recipient or subject
 *
 * Text fields: id, queue, sender, from, rcpt (also recipient, to: any
 * recipient, pending or done), subject, reason (any recipient's delay
 * reason), client, client_name, sasl (also sasl_username), helo,
 * sender_domain (the sender's domain: after its last '@', "" for the null
 * sender or without '@'), rcpt_domain (also domain: any pending recipient's
 * domain), class (the class of any recipient's delay reason, as reason.h
 * sorts them: connection-refused, timed-out, host-not-found, greylisted,
 * rate-limited, mailbox-full, user-unknown, auth-failed, mail-loop,
 * tls-failure, policy-rejection, other), status (any recipient's DSN status
 * from the log), state (pending, done or canceled), orig (any recipient's
 * original address).  The null sender shows as "MAILER-DAEMON"; sender="",
 * sender=<> and sender:<> select it by its flag.  An absent value (no
 * subject, no sasl_username) is the empty string.
 *
 * rcpt(EXPR) (also recipient(, to(, address() matches when one recipient
 * satisfies all of EXPR: inside it the recipient's fields (address or rcpt,
 * domain, reason, class, status, state, orig; a bare word or regex is the
 * address) are that recipient's alone, and domain is its domain whatever
 * its state.  Groups do not nest.
 *
 * header.NAME (letters, digits, '-', '_', '.'; any case) is every value of
 * that header, unfolded, RFC 2047 decoded and sanitised like the subject,
 * without the blanks around it; it matches when one value does, and a
 * missing header is "".  Headers are read from the queue files through the
 * cache given with qt_filter_set_headers(): a message whose file is gone,
 * or cannot be read, matches no header term (not even under "not").
 *
 * arrival compares the arrival time with a local ISO 8601 time; a date
 * alone is its midnight, and "=" matches the whole day, minute or second
 * written (arrival=2026-12-01 is that day).
 * Numeric fields: size (bytes; k, M, G are powers of 1024), age (now minus
 * arrival; s, m, h, d, w; seconds without a unit) and rcpts (pending
 * recipients).  Field names and and/or/not are case-insensitive; "not" binds
 * tighter than "and", "and" tighter than "or".
 *
 * A WORD or VALUE runs to the next blank or parenthesis.  "Quoted" values
 * may hold blanks and parentheses; inside them \" is a quote and \\ a
 * backslash.  In a regex, \/ is a slash.  Case folding of substrings and
 * equality is ASCII only; use ~/.../i for Unicode case-insensitivity. */
#ifndef QTRIAGE_FILTER_H
#define QTRIAGE_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qtriage/store.h"
#include "qtriage/util.h"

struct qt_filter;

/* Why a query did not compile, and where: `pos` is a byte offset into the
 * query (equal to its length when something is missing at the end), so the
 * filter bar can put the cursor on it. */
struct qt_filter_error {
    size_t pos;
    char msg[256];
};

/* Compile `query`.  Returns a filter the caller owns (free it with
 * qt_filter_free), or NULL with `err` filled.  The query string is not
 * referred to afterwards. */
struct qt_filter *qt_filter_compile(const char *query, struct qt_filter_error *err);

/* Whether message `m` of store `s` matches; `now` (seconds since the epoch)
 * is what "age" is measured from.  Text terms remember their result per
 * distinct interned string of the store (valid while the pool's serial
 * holds: pools only grow), so a value is evaluated once however many
 * messages hold it; that cache and qt_filter_prepare's marks are its only
 * allocations.  The filter keeps scratch space for regex matching and the
 * runtime error below, so one filter must not be used by two threads at
 * once. */
bool qt_filter_match(struct qt_filter *f, const struct qt_store *s, const struct qt_msg *m,
                     int64_t now);

/* Before matching many messages of `s`: find, in one pass over its pool,
 * the strings that each ":" and "=" term matches, so that matching a
 * message tests a bit per field instead of its text (strings the pool
 * gains later are tested as before, until the next prepare, which looks
 * only at those).  `copy`, a clone of f or NULL, shares what was found;
 * neither may be matching on another thread meanwhile.  Costs a bit per
 * four bytes of the pool per such term. */
void qt_filter_prepare(struct qt_filter *f, const struct qt_store *s, struct qt_filter *copy);

/* Non-NULL after a regex gave up on some message (pcre2's match, depth or
 * heap limit, which stop patterns such as (a+)+$ from running for hours),
 * or a header term could not read some message's headers (no cache, a file
 * that cannot be read): says which and on how many messages.  Those messages did not match,
 * even under a "not": a regex that gave up decided nothing.
 * The text belongs to the filter and stays until the next clear or free. */
const char *qt_filter_runtime_error(const struct qt_filter *f);
void qt_filter_clear_runtime_error(struct qt_filter *f);

struct qt_header_cache;
/* True when the query has header.NAME terms: give it a cache to read the
 * queue files with (borrowed; it must outlive the filter's use). */
bool qt_filter_uses_headers(const struct qt_filter *f);
void qt_filter_set_headers(struct qt_filter *f, struct qt_header_cache *c);

/* True for the empty query, so a caller can skip evaluating it. */
bool qt_filter_matches_all(const struct qt_filter *f);
/* True when the query tests "age": its results change as time passes, not
 * only when the store does. */
bool qt_filter_uses_time(const struct qt_filter *f);

void qt_filter_free(struct qt_filter *f);   /* NULL is fine */

/* The same query compiled again, with scratch space of its own, so that a
 * second thread can evaluate it beside the first (on other messages). */
struct qt_filter *qt_filter_clone(const struct qt_filter *f);
/* A number no other filter compiled by this process has (a pointer may be
 * reused after a free): what a cache of a filter's results is keyed by. */
uint64_t qt_filter_serial(const struct qt_filter *f);
/* Add the regexes that gave up in `other` (a clone of f) to f's runtime
 * error, and clear other's. */
void qt_filter_absorb_runtime_error(struct qt_filter *f, struct qt_filter *other);

/* Append `value` (`len` bytes, no NUL among them) to `out` as a quoted
 * VALUE that compiles back to exactly those bytes: "..." with \" and \\. */
void qt_filter_quote(const char *value, size_t len, struct qt_buf *out);

#endif
