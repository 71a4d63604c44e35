/* A bump allocator for strings that live and die together (one parsed queue
 * file, one batch of scan results).  Reset keeps the first chunk so a reused
 * arena stops allocating once it has warmed up. */
#ifndef QTRIAGE_ARENA_H
#define QTRIAGE_ARENA_H

#include <stddef.h>

struct qt_arena_chunk;

struct qt_arena {
    struct qt_arena_chunk *head;
    size_t total;               /* bytes handed out since the last reset */
};

void *qt_arena_alloc(struct qt_arena *a, size_t size);
char *qt_arena_strndup(struct qt_arena *a, const char *s, size_t n);
char *qt_arena_strdup(struct qt_arena *a, const char *s);
void qt_arena_reset(struct qt_arena *a);
void qt_arena_free(struct qt_arena *a);

#endif
