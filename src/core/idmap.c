#include "qtriage/idmap.h"

#include <stdlib.h>
#include <string.h>

#include "qtriage/util.h"

#define MIN_SLOTS 1024

void qt_idmap_init(struct qt_idmap *m)
{
    memset(m, 0, sizeof(*m));
    m->nslots = MIN_SLOTS;
    m->slots = xcalloc(m->nslots, sizeof(*m->slots));
    m->ids = xgrow(NULL, &m->ids_cap, 4096, 1);
    m->ids[0] = 0;
    m->ids_len = 1;             /* offset 0 is never an ID */
}

void qt_idmap_free(struct qt_idmap *m)
{
    free(m->ids);
    free(m->entries);
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

static uint32_t hash_id(const char *id)
{
    return qt_hash_bytes(id, strlen(id));
}

/* Slot holding `id`, or the empty slot where it would go. */
static size_t find_slot(const struct qt_idmap *m, const char *id)
{
    size_t mask = m->nslots - 1, i;

    for (i = hash_id(id) & mask; m->slots[i]; i = (i + 1) & mask)
        if (strcmp(m->ids + m->entries[m->slots[i] - 1].id, id) == 0)
            break;
    return i;
}

struct qt_idmap_entry *qt_idmap_get(struct qt_idmap *m, const char *id)
{
    size_t slot = find_slot(m, id);
    struct qt_idmap_entry *e;

    if (!m->slots[slot])
        return NULL;
    e = &m->entries[m->slots[slot] - 1];
    return e->dead ? NULL : e;
}

static uint32_t add_id(struct qt_idmap *m, const char *id)
{
    size_t len = strlen(id) + 1, off = m->ids_len;

    if (off + len > UINT32_MAX)
        qt_die("too many queue IDs");
    m->ids = xgrow(m->ids, &m->ids_cap, off + len, 1);
    memcpy(m->ids + off, id, len);
    m->ids_len += len;
    return (uint32_t)off;
}

/* Keep only live entries, in a fresh ID buffer, with `nslots` slots. */
static void rebuild(struct qt_idmap *m, size_t nslots)
{
    struct qt_idmap old = *m;
    size_t i;

    m->ids = NULL;
    m->ids_len = m->ids_cap = 0;
    m->ids = xgrow(NULL, &m->ids_cap, old.ids_len ? old.ids_len : 1, 1);
    m->ids[0] = 0;
    m->ids_len = 1;
    m->cap = old.live + old.live / 2 + 16;
    m->entries = xmalloc(m->cap * sizeof(*m->entries));
    m->used = m->live = 0;
    m->nslots = nslots;
    m->slots = xcalloc(nslots, sizeof(*m->slots));
    for (i = 0; i < old.used; i++) {
        const struct qt_idmap_entry *o = &old.entries[i];
        const char *id = old.ids + o->id;
        struct qt_idmap_entry *n;

        if (o->dead)
            continue;
        n = &m->entries[m->used];
        *n = *o;
        n->id = add_id(m, id);
        m->slots[find_slot(m, id)] = (uint32_t)++m->used;
        m->live++;
    }
    free(old.ids);
    free(old.entries);
    free(old.slots);
}

struct qt_idmap_entry *qt_idmap_put(struct qt_idmap *m, const char *id, bool *created)
{
    struct qt_idmap_entry *e;
    size_t slot;

    if ((m->used + 1) * 2 > m->nslots)
        rebuild(m, m->live * 4 > m->nslots ? m->nslots * 2 : m->nslots);
    slot = find_slot(m, id);
    if (m->slots[slot]) {
        e = &m->entries[m->slots[slot] - 1];
        *created = e->dead;
        if (e->dead) {
            uint32_t keep = e->id;

            memset(e, 0, sizeof(*e));
            e->id = keep;
            m->live++;
        }
        return e;
    }
    *created = true;
    if (m->used == UINT32_MAX - 1)
        qt_die("too many queue IDs");
    m->entries = xgrow(m->entries, &m->cap, m->used + 1, sizeof(*m->entries));
    e = &m->entries[m->used];
    memset(e, 0, sizeof(*e));
    e->id = add_id(m, id);
    m->slots[slot] = (uint32_t)++m->used;
    m->live++;
    return e;
}

void qt_idmap_forget(struct qt_idmap *m, const char *id)
{
    struct qt_idmap_entry *e = qt_idmap_get(m, id);

    if (e) {
        e->dead = 1;
        m->live--;
    }
}

void qt_idmap_sweep(struct qt_idmap *m, uint32_t gen,
                    void (*gone)(void *ctx, const char *id), void *ctx)
{
    size_t i;

    for (i = 0; i < m->used; i++) {
        struct qt_idmap_entry *e = &m->entries[i];

        if (e->dead || e->gen == gen)
            continue;
        if (gone)
            gone(ctx, m->ids + e->id);
        e->dead = 1;
        m->live--;
    }
    if (m->used > 1024 && m->live * 2 < m->used)
        rebuild(m, m->nslots);
}
