/* Turning stranger-supplied header text into safe UTF-8.
 *
 * Everything that leaves this module is valid UTF-8 with no C0/C1 control
 * characters and no DEL: invalid bytes and controls become U+FFFD, tabs and
 * line breaks become spaces.  Terminal escape sequences therefore cannot
 * survive (their ESC/CSI introducers are controls). */
#ifndef QTRIAGE_TEXT_H
#define QTRIAGE_TEXT_H

#include <stddef.h>

#include "qtriage/util.h"

/* Initialise GMime once (thread-safe). */
void qt_text_init(void);

/* Append `len` bytes of `in` to `out`, sanitised as described above. */
void qt_text_sanitize(struct qt_buf *out, const char *in, size_t len);

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

#endif
