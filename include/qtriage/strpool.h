/* Interned strings.  In a flood the same senders, domains, subjects and
 * delay reasons repeat hundreds of thousands of times; each distinct string
 * is stored once and referred to by a 32-bit reference.  Reference 0 means
 * "no string".  Strings may contain NUL bytes; lengths are kept.
 *
 * A reference stays valid, and keeps naming the same string, for the life
 * of the pool: nothing is ever removed or moved to another reference.  With
 * the pool's serial (never reused, unlike its address), a caller may
 * remember facts about strings, e.g. a filter that matched each distinct
 * subject once. */
#ifndef QTRIAGE_STRPOOL_H
#define QTRIAGE_STRPOOL_H

#include <stddef.h>
#include <stdint.h>

typedef uint32_t qt_str;

struct qt_strpool {
    char *bytes;                /* [len:u32][data][NUL] per string, from offset 8 */
    size_t len, cap;
    /* Open addressing: string offsets, 0 = empty.  No full hashes are
     * kept (at a million messages four bytes a slot matter), but a byte of
     * each string's hash, 0 for an empty slot: a probe reads the pool only
     * for a string whose tag matches.  Without them, a new string cost a
     * cache miss in the pool for each slot it probed (four on average as
     * the table fills to 3/4), and interning was the interactive view's
     * largest cost while a queue loads. */
    uint32_t *slots;
    uint8_t *tags;
    size_t nslots, count;
    uint64_t serial;            /* unique per pool in this process */
};

void qt_strpool_init(struct qt_strpool *p);
void qt_strpool_free(struct qt_strpool *p);
qt_str qt_strpool_intern(struct qt_strpool *p, const char *s, size_t len);
qt_str qt_strpool_intern_cstr(struct qt_strpool *p, const char *s);  /* NULL -> 0 */
/* Interning in two steps, for a caller that knows which strings come next:
 * their hashes, and a hint to the memory where each will be looked for,
 * some work before it is interned (a million messages' strings miss the
 * cache at every probe: the table's slot, then the string it names).
 * qt_strpool_prefetch() asks for the slot; later, once that has had time
 * to arrive, qt_strpool_prefetch_string() asks for the string the slot
 * names when it may be this one.  Both only read: a hash stays valid as
 * the pool grows, a hint may just go stale. */
uint32_t qt_strpool_hash(const char *s, size_t len);
void qt_strpool_prefetch(const struct qt_strpool *p, uint32_t h);
void qt_strpool_prefetch_string(const struct qt_strpool *p, uint32_t h);
qt_str qt_strpool_intern_hashed(struct qt_strpool *p, const char *s, size_t len, uint32_t h);
/* Store a string known to be distinct from every other in the pool (a
 * queue ID of a store, which its own index keeps unique) without entering
 * it in the pool's index: no slot for it, no probing.  The reference is
 * as good as an interned one, but interning the same text later gives
 * another reference. */
qt_str qt_strpool_add(struct qt_strpool *p, const char *s, size_t len);

static inline const char *qt_strpool_get(const struct qt_strpool *p, qt_str ref)
{
    return ref ? p->bytes + ref : NULL;
}

static inline size_t qt_strpool_len(const struct qt_strpool *p, qt_str ref)
{
    uint32_t n;

    if (!ref)
        return 0;
    __builtin_memcpy(&n, p->bytes + ref - 4, 4);
    return n;
}

/* Where the first string's record starts: qt_strpool_find_folded() and
 * qt_strpool_each() from here look at every string. */
#define QT_STRPOOL_START 8

/* Call `hit` once for every string whose record starts at or after `from`
 * (QT_STRPOOL_START, or the pool's len at an earlier time: strings are only
 * ever appended) that contains `needle` (nlen >= 1 bytes, ASCII lowercase)
 * with ASCII case folded, in pool order.  The bytes are scanned 16 at a
 * time for the needle's first two bytes; only candidates cost a look at
 * the strings they fall in.  Returns the pool's len: where the next call
 * starts to see what was added since. */
size_t qt_strpool_find_folded(const struct qt_strpool *p, size_t from, const char *needle,
                              size_t nlen, void (*hit)(void *ctx, qt_str ref), void *ctx);
/* The same for every string holding a byte >= 0x80. */
size_t qt_strpool_find_non_ascii(const struct qt_strpool *p, size_t from,
                                 void (*hit)(void *ctx, qt_str ref), void *ctx);
/* Call `each` for every string whose record starts at or after `from`;
 * returns the pool's len, as qt_strpool_find_folded does. */
size_t qt_strpool_each(const struct qt_strpool *p, size_t from,
                       void (*each)(void *ctx, qt_str ref, const char *s, size_t len),
                       void *ctx);

/* Bytes used by the pool (strings plus index). */
size_t qt_strpool_memory(const struct qt_strpool *p);

#endif
