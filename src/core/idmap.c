#include "qtriage/idmap.h"

#include <stdlib.h>
#include <string.h>

#include "qtriage/util.h"

void qt_idmap_init(struct qt_idmap *m)
{
    memset(m, 0, sizeof(*m));
    qt_strpool_init(&m->ids);
    m->nslots = 1 << 10;
    m->slots = xcalloc(m->nslots, sizeof(*m->slots));
}

void qt_idmap_free(struct qt_idmap *m)
{
    qt_strpool_free(&m->ids);
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

static uint32_t hash_id(const char *id)
{
    return qt_hash_bytes(id, strlen(id));
}

static size_t find_slot(const struct qt_idmap *m, const char *id)
{
    size_t mask = m->nslots - 1, i;

    for (i = hash_id(id) & mask; m->slots[i].id; i = (i + 1) & mask)
        if (strcmp(qt_strpool_get(&m->ids, m->slots[i].id), id) == 0)
            break;
    return i;
}

struct qt_idmap_entry *qt_idmap_get(struct qt_idmap *m, const char *id)
{
    struct qt_idmap_entry *e = &m->slots[find_slot(m, id)];

    return e->id && !e->dead ? e : NULL;
}

/* Rebuild with only live entries (and a fresh string pool). */
static void rebuild(struct qt_idmap *m, size_t nslots)
{
    struct qt_idmap old = *m;
    size_t i;

    qt_strpool_init(&m->ids);
    m->nslots = nslots;
    m->slots = xcalloc(nslots, sizeof(*m->slots));
    m->used = m->live = 0;
    for (i = 0; i < old.nslots; i++) {
        struct qt_idmap_entry *o = &old.slots[i], *n;

        if (!o->id || o->dead)
            continue;
        n = &m->slots[find_slot(m, qt_strpool_get(&old.ids, o->id))];
        *n = *o;
        n->id = qt_strpool_intern_cstr(&m->ids, qt_strpool_get(&old.ids, o->id));
        m->used++;
        m->live++;
    }
    qt_strpool_free(&old.ids);
    free(old.slots);
}

struct qt_idmap_entry *qt_idmap_put(struct qt_idmap *m, const char *id, bool *created)
{
    struct qt_idmap_entry *e;

    if ((m->used + 1) * 2 > m->nslots)
        rebuild(m, m->live * 4 > m->nslots ? m->nslots * 2 : m->nslots);
    e = &m->slots[find_slot(m, id)];
    *created = !e->id || e->dead;
    if (!e->id) {
        e->id = qt_strpool_intern_cstr(&m->ids, id);
        m->used++;
        m->live++;
    } else if (e->dead) {
        qt_str keep = e->id;

        memset(e, 0, sizeof(*e));
        e->id = keep;
        m->live++;
    }
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

    for (i = 0; i < m->nslots; i++) {
        struct qt_idmap_entry *e = &m->slots[i];

        if (!e->id || e->dead || e->gen == gen)
            continue;
        if (gone)
            gone(ctx, qt_strpool_get(&m->ids, e->id));
        e->dead = 1;
        m->live--;
    }
    if (m->used > 1024 && m->live * 2 < m->used)
        rebuild(m, m->nslots);
}
