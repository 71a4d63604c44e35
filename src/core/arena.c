#include "qtriage/arena.h"

#include <stdlib.h>
#include <string.h>

#include "qtriage/util.h"

#define ARENA_CHUNK_MIN 8192

struct qt_arena_chunk {
    struct qt_arena_chunk *next;
    size_t size;
    size_t used;
    max_align_t data[];
};

void *qt_arena_alloc(struct qt_arena *a, size_t size)
{
    struct qt_arena_chunk *c = a->head;
    size_t align = sizeof(max_align_t);
    size_t need = (size + align - 1) / align * align;
    void *p;

    if (!c || c->size - c->used < need) {
        size_t csize = need > ARENA_CHUNK_MIN ? need : ARENA_CHUNK_MIN;

        c = xmalloc(sizeof(*c) + csize);
        c->size = csize;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    p = (char *)c->data + c->used;
    c->used += need;
    a->total += size;
    return p;
}

char *qt_arena_strndup(struct qt_arena *a, const char *s, size_t n)
{
    char *p = qt_arena_alloc(a, n + 1);

    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *qt_arena_strdup(struct qt_arena *a, const char *s)
{
    return qt_arena_strndup(a, s, strlen(s));
}

void qt_arena_reset(struct qt_arena *a)
{
    struct qt_arena_chunk *c, *next;

    if (!a->head)
        return;
    /* Keep the oldest chunk (the last in the list); free the rest. */
    for (c = a->head; c->next; c = next) {
        next = c->next;
        free(c);
    }
    c->used = 0;
    a->head = c;
    a->total = 0;
}

void qt_arena_free(struct qt_arena *a)
{
    struct qt_arena_chunk *c, *next;

    for (c = a->head; c; c = next) {
        next = c->next;
        free(c);
    }
    a->head = NULL;
    a->total = 0;
}
