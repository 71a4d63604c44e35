/* The search bars' pattern: a pcre2 regex matched against text as shown
 * (a list row, a viewer line), with the match's position for highlighting.
 *
 * Smart case: a pattern without upper-case letters ignores case.  JIT when
 * pcre2 has it, and the same match/depth/heap limits as the filter, so a
 * pattern like (a+)+$ gives up with an error instead of hanging the terminal. */
#ifndef QTRIAGE_SEARCH_H
#define QTRIAGE_SEARCH_H

#include <stdbool.h>
#include <stddef.h>

struct qt_search;

/* NULL with `err` (and `*err_pos`, a byte offset into the pattern) when the
 * pattern does not compile. */
struct qt_search *qt_search_compile(const char *pattern, char *err, size_t err_size,
                                    size_t *err_pos);
/* 1: found, with the match at [*start, *end); 0: not found; -1: pcre2 gave
 * up (a limit); qt_search_error() says so. */
int qt_search_match(struct qt_search *s, const char *text, size_t len, size_t *start,
                    size_t *end);
const char *qt_search_pattern(const struct qt_search *s);
/* Non-NULL once a match gave up. */
const char *qt_search_error(const struct qt_search *s);
void qt_search_free(struct qt_search *s);

#endif
