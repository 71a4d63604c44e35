/* Turning stranger-supplied text into safe UTF-8: the one sanitiser every
 * text qtriage shows goes through (CLI lines, JSON strings, the TUI).
 *
 * Everything that leaves it is valid UTF-8 with no C0/C1 control character
 * (raw or UTF-8 encoded), no DEL and no invisible formatting character
 * (bidi overrides and isolates, zero-width characters and marks, line and
 * paragraph separators: see qt_text_invisible): each of those, and each
 * byte that is not part of valid UTF-8 (a raw 0x9B among them), becomes
 * U+FFFD; tabs and line breaks become spaces.  Terminal escape sequences
 * therefore cannot survive (their ESC/CSI/OSC introducers are controls),
 * and what is shown is what the text says, in the order it is stored. */
#ifndef QTRIAGE_TEXT_H
#define QTRIAGE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qtriage/util.h"

/* Initialise GMime once (thread-safe). */
void qt_text_init(void);

/* Append `len` bytes of `in` to `out`, sanitised as described above. */
void qt_text_sanitize(struct qt_buf *out, const char *in, size_t len);
/* The same for a NUL-terminated string; NULL appends nothing. */
void qt_text_sanitize_str(struct qt_buf *out, const char *s);

/* The sanitiser's one decision, for writers that escape as they go (JSON):
 * the next unit of s is *len bytes, to be kept as they are, shown as a
 * blank (tab, CR, LF) or shown as U+FFFD (a marker). */
enum qt_text_unit { QT_TEXT_KEEP, QT_TEXT_BLANK, QT_TEXT_MARK };
enum qt_text_unit qt_text_next(const unsigned char *s, size_t avail, size_t *len);
/* Whether code point cp is an invisible formatting character the sanitiser
 * replaces (bidi controls, zero-width characters, separators, tags). */
bool qt_text_invisible(unsigned cp);

/* Decode RFC 2047 encoded-words (any charset iconv knows) in an unfolded
 * header value and sanitise the result.  Undecodable 8-bit text is taken as
 * UTF-8 when valid, else as Latin-1.  Output is at most `max_bytes` bytes of
 * whole characters (0 = no limit).  Returns a malloc'd string. */
char *qt_text_decode_header(const char *raw, size_t max_bytes);

/* GMime's charset caches are not thread-safe: code that drives GMime itself
 * (the message viewer's MIME parser) holds this lock around it.  It is not
 * recursive: qt_text_decode_header() must not be called while holding it. */
void qt_text_gmime_lock(void);
void qt_text_gmime_unlock(void);

/* Decode the UTF-8 sequence at s: its length (1..4) with the code point in
 * *cp, or 0 when it is invalid (overlong, surrogate, truncated, ...). */
size_t qt_utf8_decode(const unsigned char *s, size_t avail, unsigned *cp);
/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid or a
 * C1 control. */
size_t qt_utf8_seq_len(const unsigned char *s, size_t avail);

/* ---- small text helpers shared by the core ---- */

/* ASCII case folding only, as the filter's ":" and "=" compare: the
 * result does not depend on the locale, and bytes >= 0x80 stay as they are. */
static inline unsigned char qt_ascii_fold(unsigned char c)
{
    return (unsigned char)((unsigned)(c - 'A') < 26u ? c + ('a' - 'A') : c);
}
/* a[0..n) and b[0..n) are equal with ASCII case folded. */
bool qt_ascii_equal_folded(const char *a, const char *b, size_t n);
/* a[0..n), ASCII case folded, equals `lower` (already lowercase): the
 * filter's needles against the text they are looked for in. */
static inline bool qt_ascii_equal_lower(const char *a, const char *lower, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (qt_ascii_fold((unsigned char)a[i]) != (unsigned char)lower[i])
            return false;
    return true;
}
/* strcmp of two NUL-terminated strings with ASCII case folded. */
int qt_ascii_casecmp(const char *a, const char *b);

/* The domain of an address as the store shows it: after its last '@', or
 * "" (length 0) without one.  Points into `addr`. */
const char *qt_address_domain(const char *addr, size_t len, size_t *dlen);

/* "3d4h", "12m", "45s": the two largest units of `secs` (>= 0). */
void qt_format_duration(int64_t secs, char *buf, size_t size);
/* "512", "12K", "3.4M": sizes in 1024s, as ls -h. */
void qt_format_size(uint64_t bytes, char *buf, size_t size);

#endif
