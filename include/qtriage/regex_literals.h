/* What text every match of a regex must contain: for a pattern of plain
 * parts, each top-level alternative's longest run of literal characters.
 * A string holding none of them (ASCII case folded) cannot match, so the
 * filter finds the strings a regex may match with the pool scan it uses
 * for plain words, and runs the regex on those alone. */
#ifndef QTRIAGE_REGEX_LITERALS_H
#define QTRIAGE_REGEX_LITERALS_H

#include <stdbool.h>
#include <stddef.h>

#define QT_REGEX_LITERALS_MAX 16

struct qt_regex_literals {
    size_t n;                               /* 0: nothing is known */
    char *text[QT_REGEX_LITERALS_MAX];      /* ASCII lowercase, NUL-terminated */
    size_t len[QT_REGEX_LITERALS_MAX];
    /* Caseless, pcre2 matches k, s and i with the Kelvin sign, the long s
     * and the Turkish i too: the literals hold on ASCII text only.  A
     * string with a byte >= 0x80 can match if it holds one of the weak
     * literals (the runs without k, s and i); nweak 0: any such string. */
    bool non_ascii;
    size_t nweak;
    char *weak[QT_REGEX_LITERALS_MAX];
    size_t weak_len[QT_REGEX_LITERALS_MAX];
};

/* Fill `out` for the pcre2 pattern `pat` (`len` bytes, compiled with UTF
 * and these options); a string can match only if it holds one of the
 * literals (or, with non_ascii, a byte >= 0x80).  Whatever the pattern has that this does not follow
 * ((?...) groups, escapes that take arguments, POSIX classes, extended
 * mode, a run shorter than two characters) leaves out->n at 0: a literal
 * the pattern does not need would lose matches, so in doubt there is none. */
void qt_regex_literals(const char *pat, size_t len, bool caseless, bool extended,
                       struct qt_regex_literals *out);
void qt_regex_literals_free(struct qt_regex_literals *l);

#endif
