/* A map from queue ID to what a backend last saw of that file, so a rescan
 * parses only what changed and can tell which messages went away. */
#ifndef QTRIAGE_IDMAP_H
#define QTRIAGE_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "qtriage/strpool.h"

struct qt_idmap_entry {
    qt_str id;                  /* 0: empty slot */
    uint32_t gen;               /* scan generation that last saw it */
    uint64_t ino;
    int64_t size;
    int64_t mtime_ns;
    uint32_t mode;
    uint8_t queue;
    uint8_t dead;               /* removed; slot kept until the next rebuild */
};

struct qt_idmap {
    struct qt_strpool ids;
    struct qt_idmap_entry *slots;
    size_t nslots, used, live;
};

void qt_idmap_init(struct qt_idmap *m);
void qt_idmap_free(struct qt_idmap *m);
/* The entry for `id`, or NULL. */
struct qt_idmap_entry *qt_idmap_get(struct qt_idmap *m, const char *id);
/* The entry for `id`, created (zeroed but for id) when missing.  Pointers
 * stay valid until the next qt_idmap_put() or qt_idmap_sweep(). */
struct qt_idmap_entry *qt_idmap_put(struct qt_idmap *m, const char *id, bool *created);
void qt_idmap_forget(struct qt_idmap *m, const char *id);
/* Call `gone` for every live entry whose gen differs from `gen`, drop them,
 * and compact the map when many entries died. */
void qt_idmap_sweep(struct qt_idmap *m, uint32_t gen,
                    void (*gone)(void *ctx, const char *id), void *ctx);
static inline const char *qt_idmap_id(const struct qt_idmap *m, const struct qt_idmap_entry *e)
{
    return qt_strpool_get(&m->ids, e->id);
}

#endif
