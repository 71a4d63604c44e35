/* A map from queue ID to what a backend last saw of that file, so a rescan
 * parses only what changed and can tell which messages went away. */
#ifndef QTRIAGE_IDMAP_H
#define QTRIAGE_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct qt_idmap_entry {
    uint32_t id;                /* offset of the ID in the map's ids */
    uint32_t gen;               /* scan generation that last saw it */
    uint64_t ino;
    int64_t mtime_ns;
    /* 32 bytes an entry: a file over 4 GiB never compares equal to its
     * size here, so it is only read again on each scan; st_mode fits in
     * 16 bits on Linux. */
    uint32_t size;
    uint16_t mode;
    uint8_t queue;
    uint8_t dead;               /* removed; kept until the next rebuild */
};

/* Entries are kept dense, in the order they came, with a hash index of
 * 32-bit entry numbers beside them: at a million IDs a sparse table of
 * 40-byte entries cost three times what the entries do.  IDs are all
 * distinct, so they are copied, not interned. */
struct qt_idmap {
    char *ids;                  /* NUL-terminated IDs, from offset 1 */
    size_t ids_len, ids_cap;
    struct qt_idmap_entry *entries;
    size_t used, cap;           /* entries in use (dead ones too) */
    uint32_t *slots;            /* entry number + 1; 0 = empty */
    size_t nslots, live;
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
    return m->ids + e->id;
}

#endif
