/* Allocation wrappers and small helpers shared by the whole core.
 *
 * Error policy: running out of memory is not recoverable for a queue browser,
 * so the x* wrappers abort with a message instead of returning NULL.  Every
 * other failure is returned to the caller as a status. */
#ifndef QTRIAGE_UTIL_H
#define QTRIAGE_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QT_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
/* Grow an array to hold at least `need` elements; doubles its capacity. */
void *xgrow(void *ptr, size_t *cap, size_t need, size_t elem_size);
/* Ask the kernel for transparent huge pages over the 2 MiB-aligned part of
 * a block of len bytes (nothing under 4 MiB; the kernel may say no): the
 * store's large arrays fill page by page as a queue loads, and at a
 * million messages their page faults were a tenth of the upserts' time. */
void qt_huge_pages(void *p, size_t len);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Hook run before a fatal message is printed (the TUI restores the terminal). */
extern void (*qt_fatal_hook)(void);
_Noreturn void qt_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A status message for the caller to show; functions that can fail fill one. */
struct qt_error {
    char msg[512];
};
void qt_error_set(struct qt_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Growable byte buffer, always NUL-terminated. */
struct qt_buf {
    char *data;
    size_t len;
    size_t cap;
};
void qt_buf_reserve(struct qt_buf *b, size_t extra);
void qt_buf_append(struct qt_buf *b, const void *data, size_t len);
void qt_buf_putc(struct qt_buf *b, char c);
void qt_buf_printf(struct qt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void qt_buf_vprintf(struct qt_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
void qt_buf_reset(struct qt_buf *b);
void qt_buf_free(struct qt_buf *b);

/* A hash of `len` bytes (not cryptographic); never 0, so 0 can mean "empty slot". */
uint32_t qt_hash_bytes(const void *data, size_t len);
/* The same hash at its full 64 bits, never 0: for sets that keep only the
 * hash (a collision there is a wrong answer, not a longer probe). */
uint64_t qt_hash64_bytes(const void *data, size_t len);

/* Parse a decimal integer that fills the whole string (leading/trailing
 * blanks allowed).  Returns false on garbage or overflow. */
bool qt_parse_long(const char *s, long *out);

#endif
