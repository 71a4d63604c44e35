/* Tags: the set of queue IDs the admin has marked.
 *
 * Tags are keyed by queue ID, not by row or message number, so they survive
 * every rescan, re-sort and refilter: a message keeps its tag while it moves
 * from deferred to hold and back, since Postfix keeps its ID.  The set owns
 * copies of the IDs. */
#ifndef QTRIAGE_SELECTION_H
#define QTRIAGE_SELECTION_H

#include <stdbool.h>
#include <stddef.h>

struct qt_selection {
    char **slots;               /* open addressing: NULL empty, or a tombstone */
    size_t nslots;
    size_t count;               /* IDs in the set */
    size_t used;                /* count plus tombstones */
};

void qt_selection_init(struct qt_selection *s);
void qt_selection_free(struct qt_selection *s);
bool qt_selection_has(const struct qt_selection *s, const char *id);
/* True when `id` was not in the set before. */
bool qt_selection_add(struct qt_selection *s, const char *id);
/* True when `id` was in the set. */
bool qt_selection_remove(struct qt_selection *s, const char *id);
/* Add when absent, remove when present; returns whether it is now tagged. */
bool qt_selection_toggle(struct qt_selection *s, const char *id);
void qt_selection_clear(struct qt_selection *s);
/* Iterate: start with *pos = 0; returns the next ID or NULL at the end.
 * The set must not change during the iteration. */
const char *qt_selection_next(const struct qt_selection *s, size_t *pos);
/* Remove every ID for which keep() returns false; returns how many went. */
size_t qt_selection_prune(struct qt_selection *s, bool (*keep)(void *ctx, const char *id),
                          void *ctx);

#endif
