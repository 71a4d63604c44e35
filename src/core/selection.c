#include "qtriage/selection.h"

#include <stdlib.h>
#include <string.h>

#include "qtriage/util.h"

/* A removed entry: keeps probe chains intact until the next rehash. */
static char tombstone_mark;
#define TOMBSTONE (&tombstone_mark)

void qt_selection_init(struct qt_selection *s)
{
    memset(s, 0, sizeof(*s));
}

static void free_slots(char **slots, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (slots[i] && slots[i] != TOMBSTONE)
            free(slots[i]);
    free(slots);
}

void qt_selection_free(struct qt_selection *s)
{
    free_slots(s->slots, s->nslots);
    memset(s, 0, sizeof(*s));
}

/* Slot holding `id`, or the slot where it would go (the first tombstone on
 * its probe chain, else the empty slot ending it).  nslots > 0. */
static size_t find_slot(const struct qt_selection *s, const char *id, bool *found)
{
    size_t mask = s->nslots - 1;
    size_t i = qt_hash_bytes(id, strlen(id)) & mask;
    size_t first_free = (size_t)-1;

    for (;;) {
        char *e = s->slots[i];

        if (!e) {
            *found = false;
            return first_free != (size_t)-1 ? first_free : i;
        }
        if (e == TOMBSTONE) {
            if (first_free == (size_t)-1)
                first_free = i;
        } else if (strcmp(e, id) == 0) {
            *found = true;
            return i;
        }
        i = (i + 1) & mask;
    }
}

static void rehash(struct qt_selection *s, size_t nslots)
{
    char **old = s->slots;
    size_t oldn = s->nslots, i;

    s->slots = xcalloc(nslots, sizeof(*s->slots));
    s->nslots = nslots;
    s->used = s->count;
    for (i = 0; i < oldn; i++) {
        bool found;

        if (old[i] && old[i] != TOMBSTONE)
            s->slots[find_slot(s, old[i], &found)] = old[i];
    }
    free(old);
}

bool qt_selection_has(const struct qt_selection *s, const char *id)
{
    bool found = false;

    if (s->count)
        find_slot(s, id, &found);
    return found;
}

bool qt_selection_add(struct qt_selection *s, const char *id)
{
    bool found;
    size_t i;

    if ((s->used + 1) * 4 >= s->nslots * 3) {
        size_t n = s->nslots ? s->nslots : 64;

        while ((s->count + 1) * 2 >= n)
            n *= 2;
        rehash(s, n);
    }
    i = find_slot(s, id, &found);
    if (found)
        return false;
    if (!s->slots[i])
        s->used++;
    s->slots[i] = xstrdup(id);
    s->count++;
    return true;
}

bool qt_selection_remove(struct qt_selection *s, const char *id)
{
    bool found = false;
    size_t i;

    if (!s->count)
        return false;
    i = find_slot(s, id, &found);
    if (!found)
        return false;
    free(s->slots[i]);
    s->slots[i] = TOMBSTONE;
    s->count--;
    return true;
}

bool qt_selection_toggle(struct qt_selection *s, const char *id)
{
    if (qt_selection_remove(s, id))
        return false;
    qt_selection_add(s, id);
    return true;
}

void qt_selection_clear(struct qt_selection *s)
{
    qt_selection_free(s);
}

const char *qt_selection_next(const struct qt_selection *s, size_t *pos)
{
    while (*pos < s->nslots) {
        char *e = s->slots[(*pos)++];

        if (e && e != TOMBSTONE)
            return e;
    }
    return NULL;
}

size_t qt_selection_prune(struct qt_selection *s, bool (*keep)(void *ctx, const char *id),
                          void *ctx)
{
    size_t i, removed = 0;

    for (i = 0; i < s->nslots; i++) {
        char *e = s->slots[i];

        if (e && e != TOMBSTONE && !keep(ctx, e)) {
            free(e);
            s->slots[i] = TOMBSTONE;
            s->count--;
            removed++;
        }
    }
    if (removed && s->count * 4 < s->nslots)
        rehash(s, s->nslots);   /* drop the tombstones */
    return removed;
}
