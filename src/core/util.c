#include "qtriage/util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void (*qt_fatal_hook)(void);

_Noreturn void qt_die(const char *fmt, ...)
{
    va_list ap;

    if (qt_fatal_hook)
        qt_fatal_hook();
    fputs("qtriage: fatal: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(3);
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (!p)
        qt_die("out of memory allocating %zu bytes", size);
    return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

    if (!p)
        qt_die("out of memory allocating %zu x %zu bytes", nmemb, size);
    return p;
}

void *xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);

    if (!p)
        qt_die("out of memory reallocating %zu bytes", size);
    return p;
}

void *xgrow(void *ptr, size_t *cap, size_t need, size_t elem_size)
{
    size_t ncap = *cap ? *cap : 8;

    if (need <= *cap)
        return ptr;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / elem_size)
            qt_die("array too large");
        ncap *= 2;
    }
    *cap = ncap;
    return xrealloc(ptr, ncap * elem_size);
}

void qt_huge_pages(void *p, size_t len)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t hi = ((uintptr_t)p + len) & ~(huge - 1);

    if (len >= 2 * huge && hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
    (void)p;
    (void)len;
#endif
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);

    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    struct qt_buf b = {0};
    va_list ap;

    va_start(ap, fmt);
    qt_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    return b.data ? b.data : xstrdup("");
}

void qt_error_set(struct qt_error *err, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

void qt_buf_reserve(struct qt_buf *b, size_t extra)
{
    if (b->len + extra + 1 > b->cap) {
        b->data = xgrow(b->data, &b->cap, b->len + extra + 1, 1);
        b->data[b->len] = 0;    /* a reserved but empty buffer is "" */
    }
}

void qt_buf_append(struct qt_buf *b, const void *data, size_t len)
{
    qt_buf_reserve(b, len);
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = 0;
}

void qt_buf_putc(struct qt_buf *b, char c)
{
    qt_buf_append(b, &c, 1);
}

void qt_buf_vprintf(struct qt_buf *b, const char *fmt, va_list ap)
{
    char small[256];
    va_list again;
    int n;

    va_copy(again, ap);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    if (n < 0) {
        va_end(again);
        return;
    }
    if ((size_t)n < sizeof(small)) {
        qt_buf_append(b, small, (size_t)n);
    } else {
        qt_buf_reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, again);
        b->len += (size_t)n;
    }
    va_end(again);
}

void qt_buf_printf(struct qt_buf *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    qt_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void qt_buf_reset(struct qt_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = 0;
}

void qt_buf_free(struct qt_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* Eight bytes a step: byte-wise FNV-1a was a chain of one multiply per
 * byte, and the store hashes every string of every message (delay reasons
 * are hundreds of bytes).  Each word is mixed in with a multiply by an odd
 * constant and a rotation; the tail is read as a partial word. */
static uint64_t mix_word(uint64_t h, uint64_t w)
{
    h ^= w * 0x9e3779b97f4a7c15ull;
    h = (h << 27) | (h >> 37);
    return h * 0xc2b2ae3d27d4eb4full;
}

uint64_t qt_hash64_bytes(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0x27d4eb2f165667c5ull ^ len, w;

    for (; len >= 8; p += 8, len -= 8) {
        memcpy(&w, p, 8);
        h = mix_word(h, w);
    }
    if (len) {
        w = 0;
        memcpy(&w, p, len);
        h = mix_word(h, w);
    }
    h ^= h >> 29;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 32;
    return h ? h : 1;
}

uint32_t qt_hash_bytes(const void *data, size_t len)
{
    uint32_t out = (uint32_t)qt_hash64_bytes(data, len);

    return out ? out : 1;
}

bool qt_parse_long(const char *s, long *out)
{
    char *end;
    long v;

    while (*s == ' ' || *s == '\t')
        s++;
    if (!*s)
        return false;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno == ERANGE || end == s)
        return false;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end)
        return false;
    *out = v;
    return true;
}
