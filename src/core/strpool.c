#include "qtriage/strpool.h"

#include <stdlib.h>
#include <string.h>

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

static uint32_t hash_of(const struct qt_strpool *p, qt_str ref)
{
    return qt_hash_bytes(p->bytes + ref, qt_strpool_len(p, ref));
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
    if (p->len + len + 5 > p->cap)
        p->bytes = xgrow(p->bytes, &p->cap, p->len + len + 5, 1);
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

qt_str qt_strpool_intern(struct qt_strpool *p, const char *s, size_t len)
{
    uint32_t h = qt_hash_bytes(s, len), off;
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
