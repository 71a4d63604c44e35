#include "qtriage/strpool.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "qtriage/text.h"
#include "qtriage/util.h"

void qt_strpool_init(struct qt_strpool *p)
{
    static _Atomic uint64_t next_serial = 1;

    memset(p, 0, sizeof(*p));
    p->serial = next_serial++;
    p->cap = 1 << 16;
    p->bytes = xmalloc(p->cap);
    memset(p->bytes, 0, 8);
    p->len = 8;                 /* offset 0 is "no string" */
    p->nslots = 1 << 12;
    p->slots = xcalloc(p->nslots, sizeof(*p->slots));
    p->tags = xcalloc(p->nslots, 1);
}

void qt_strpool_free(struct qt_strpool *p)
{
    free(p->bytes);
    free(p->slots);
    free(p->tags);
    memset(p, 0, sizeof(*p));
}

uint32_t qt_strpool_hash(const char *s, size_t len)
{
    return qt_hash_bytes(s, len);
}

static uint32_t hash_of(const struct qt_strpool *p, qt_str ref)
{
    return qt_strpool_hash(p->bytes + ref, qt_strpool_len(p, ref));
}

/* The tag of a hash: its top byte, never 0 (which marks an empty slot). */
static uint8_t tag_of(uint32_t h)
{
    return (uint8_t)(h >> 24) ? (uint8_t)(h >> 24) : 1;
}

static void rehash(struct qt_strpool *p)
{
    size_t n = p->nslots * 2, i;
    uint32_t *slots = xcalloc(n, sizeof(*slots));
    uint8_t *tags = xcalloc(n, 1);

    qt_huge_pages(slots, n * sizeof(*slots));
    qt_huge_pages(tags, n);

    for (i = 0; i < p->nslots; i++) {
        uint32_t h;
        size_t j;

        /* The strings are all over the pool: ask for one well ahead of
         * hashing it (a quarter of the load's interning was this loop
         * waiting for the pool). */
        if (i + 16 < p->nslots && p->tags[i + 16])
            __builtin_prefetch(p->bytes + p->slots[i + 16] - 4);
        if (!p->tags[i])
            continue;
        h = hash_of(p, p->slots[i]);
        for (j = h & (n - 1); tags[j]; j = (j + 1) & (n - 1))
            ;
        slots[j] = p->slots[i];
        tags[j] = tag_of(h);
    }
    free(p->slots);
    free(p->tags);
    p->slots = slots;
    p->tags = tags;
    p->nslots = n;
}

static uint32_t append(struct qt_strpool *p, const char *s, size_t len)
{
    uint32_t off, n32 = (uint32_t)len;

    if (p->len + len + 5 > UINT32_MAX)
        qt_die("string pool exceeds 4 GiB");
    if (p->len + len + 5 > p->cap) {
        p->bytes = xgrow(p->bytes, &p->cap, p->len + len + 5, 1);
        qt_huge_pages(p->bytes, p->cap);
    }
    memcpy(p->bytes + p->len, &n32, 4);
    off = (uint32_t)(p->len + 4);
    memcpy(p->bytes + off, s, len);
    p->bytes[off + len] = 0;
    p->len = off + len + 1;
    return off;
}

qt_str qt_strpool_add(struct qt_strpool *p, const char *s, size_t len)
{
    return append(p, s, len);
}

void qt_strpool_prefetch(const struct qt_strpool *p, uint32_t h)
{
    size_t i = h & (p->nslots - 1);

    __builtin_prefetch(p->tags + i);
    __builtin_prefetch(p->slots + i);
}

void qt_strpool_prefetch_string(const struct qt_strpool *p, uint32_t h)
{
    size_t i = h & (p->nslots - 1);

    if (p->tags[i] == tag_of(h))
        __builtin_prefetch(p->bytes + p->slots[i] - 4);
}

qt_str qt_strpool_intern(struct qt_strpool *p, const char *s, size_t len)
{
    return qt_strpool_intern_hashed(p, s, len, qt_strpool_hash(s, len));
}

qt_str qt_strpool_intern_hashed(struct qt_strpool *p, const char *s, size_t len, uint32_t h)
{
    uint32_t off;
    size_t mask = p->nslots - 1, i;
    uint8_t tag = tag_of(h);

    for (i = h & mask; p->tags[i]; i = (i + 1) & mask) {
        if (p->tags[i] == tag && qt_strpool_len(p, p->slots[i]) == len &&
            memcmp(p->bytes + p->slots[i], s, len) == 0)
            return p->slots[i];
    }
    off = append(p, s, len);
    p->slots[i] = off;
    p->tags[i] = tag;
    if (++p->count * 4 > p->nslots * 3)
        rehash(p);
    return off;
}

qt_str qt_strpool_intern_cstr(struct qt_strpool *p, const char *s)
{
    return s ? qt_strpool_intern(p, s, strlen(s)) : 0;
}

size_t qt_strpool_memory(const struct qt_strpool *p)
{
    return p->cap + p->nslots * (sizeof(*p->slots) + 1);
}

static uint32_t record_len(const struct qt_strpool *p, size_t rec)
{
    uint32_t n;

    memcpy(&n, p->bytes + rec, 4);
    return n;
}

size_t qt_strpool_each(const struct qt_strpool *p, size_t from,
                       void (*each)(void *ctx, qt_str ref, const char *s, size_t len), void *ctx)
{
    size_t rec;

    for (rec = from; rec < p->len; rec += 4 + (size_t)record_len(p, rec) + 1)
        each(ctx, (qt_str)(rec + 4), p->bytes + rec + 4, record_len(p, rec));
    return p->len;
}

/* Sixteen bytes, compared all at once (SSE2 on x86-64, NEON on arm64, and
 * plain words where the machine has neither: GCC and clang both lower
 * these vector types to what the target has). */
typedef unsigned char qt_v16 __attribute__((vector_size(16)));

static qt_v16 v16_load(const char *at)
{
    qt_v16 v;

    memcpy(&v, at, sizeof(v));
    return v;
}

static qt_v16 v16_splat(unsigned char c)
{
    qt_v16 v;

    memset(&v, c, sizeof(v));
    return v;
}

static bool v16_any(qt_v16 v)
{
    uint64_t w[2];

    memcpy(w, &v, sizeof(w));
    return (w[0] | w[1]) != 0;
}

/* The mask that folds a byte for comparing it with the lowercase `c`:
 * for a letter, c | 0x20 is c exactly for c and its capital, and no other
 * byte; anything else is compared as it is. */
static unsigned char fold_mask(unsigned char c)
{
    return c >= 'a' && c <= 'z' ? 0x20 : 0;
}

struct finder {
    const struct qt_strpool *p;
    const char *needle;         /* NULL: any byte >= 0x80 (nlen 1) */
    size_t nlen;
    size_t rec, end;            /* the record holding the last candidate, its end */
    size_t next;                /* bytes before this are decided */
    void (*hit)(void *ctx, qt_str ref);
    void *ctx;
};

/* A candidate at `at`: when the needle is there, inside one string, that
 * string is a hit and the scan goes on after it. */
static void candidate(struct finder *f, size_t at)
{
    const struct qt_strpool *p = f->p;

    if (at < f->next)
        return;
    while (f->end <= at) {
        f->rec = f->end;
        f->end = f->rec + 4 + (size_t)record_len(p, f->rec) + 1;
    }
    if (at < f->rec + 4 || at + f->nlen > f->end - 1 ||
        (f->needle ? !qt_ascii_equal_lower(p->bytes + at, f->needle, f->nlen)
                   : (unsigned char)p->bytes[at] < 0x80))
        return;
    f->hit(f->ctx, (qt_str)(f->rec + 4));
    f->next = f->end;
}

/* The candidates at the lanes of `eq` that are set (from `at` on). */
static void candidates(struct finder *f, size_t at, qt_v16 eq)
{
    unsigned char lanes[16];
    size_t k;

    if (!v16_any(eq))
        return;
    memcpy(lanes, &eq, sizeof(lanes));
    for (k = 0; k < 16; k++)
        if (lanes[k])
            candidate(f, at + k);
}

size_t qt_strpool_find_folded(const struct qt_strpool *p, size_t from, const char *needle,
                              size_t nlen, void (*hit)(void *ctx, qt_str ref), void *ctx)
{
    struct finder f = {p, needle, nlen, from, from, from, hit, ctx};
    unsigned char c0, c1;
    qt_v16 m0, n0, m1, n1;
    size_t at = from;

    if (nlen == 0 || from >= p->len)
        return p->len;
    c0 = (unsigned char)needle[0];
    c1 = nlen > 1 ? (unsigned char)needle[1] : 0;
    m0 = v16_splat(fold_mask(c0));
    n0 = v16_splat(c0);
    m1 = v16_splat(fold_mask(c1));
    n1 = v16_splat(c1);
    /* Sixteen places at a time while both loads stay below len; the last
     * few bytes one at a time. */
    while (at + 17 <= p->len) {
        qt_v16 eq = (qt_v16)((v16_load(p->bytes + at) | m0) == n0);

        if (nlen > 1)
            eq &= (qt_v16)((v16_load(p->bytes + at + 1) | m1) == n1);
        candidates(&f, at, eq);
        at += 16;
    }
    for (; at < p->len; at++)
        if ((((unsigned char)p->bytes[at] | fold_mask(c0)) == c0))
            candidate(&f, at);
    return p->len;
}

size_t qt_strpool_find_non_ascii(const struct qt_strpool *p, size_t from,
                                 void (*hit)(void *ctx, qt_str ref), void *ctx)
{
    struct finder f = {p, NULL, 1, from, from, from, hit, ctx};
    qt_v16 high = v16_splat(0x80), zero = v16_splat(0);
    size_t at = from;

    while (at + 16 <= p->len) {
        candidates(&f, at, (qt_v16)((v16_load(p->bytes + at) & high) != zero));
        at += 16;
    }
    for (; at < p->len; at++)
        if ((unsigned char)p->bytes[at] >= 0x80)
            candidate(&f, at);
    return p->len;
}
