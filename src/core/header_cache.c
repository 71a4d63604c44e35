/* Headers read from queue files on demand, remembered per message for the
 * names asked for (see header_cache.h).  A message's values are one blob:
 * for each value, the index of its name as one byte, then the value with
 * its NUL; a name whose bit is set in `have` but that has no value in the
 * blob is a header the message does not have. */
#include "qtriage/header_cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "qtriage/queue_file.h"
#include "qtriage/text.h"
#include "qtriage/util.h"

struct entry {
    char *id;
    uint32_t arrival;
    uint32_t have;              /* bit k: the values of names[k] are in `values` */
    bool gone;
    char *values;
    size_t len;
};

struct qt_header_cache {
    const struct qt_spool_layout *layout;
    pthread_mutex_t lock;
    char names[QT_HEADER_NAMES_MAX][QT_HEADER_NAME_MAX + 1];
    size_t nnames;
    struct entry *entries;
    size_t n, cap;
    uint32_t *slots;            /* open addressing by ID: entry number + 1 */
    size_t nslots;
    size_t reads;
    struct qt_queue_file qf;
    struct qt_buf blob;
    char last_error[200];
};

/* Only the header block matters here; a huge header block is cut where the
 * reader's own limit cuts it. */
static const struct qt_queue_file_limits limits = {
    .max_record = 4 << 20,
    .max_header_bytes = 256 << 10,
    .max_headers = 2000,
    .max_decoded = QT_HEADER_VALUE_MAX,
};

struct qt_header_cache *qt_header_cache_new(const struct qt_spool_layout *layout)
{
    struct qt_header_cache *c = xcalloc(1, sizeof(*c));

    c->layout = layout;
    pthread_mutex_init(&c->lock, NULL);
    qt_queue_file_init(&c->qf);
    return c;
}

static void forget_all(struct qt_header_cache *c)
{
    size_t i;

    for (i = 0; i < c->n; i++) {
        free(c->entries[i].id);
        free(c->entries[i].values);
    }
    c->n = 0;
    if (c->slots)
        memset(c->slots, 0, c->nslots * sizeof(*c->slots));
}

void qt_header_cache_free(struct qt_header_cache *c)
{
    if (!c)
        return;
    forget_all(c);
    free(c->entries);
    free(c->slots);
    qt_queue_file_free(&c->qf);
    qt_buf_free(&c->blob);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static size_t hash_id(const char *id)
{
    uint64_t h = 1469598103934665603ull;

    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 1099511628211ull;
    return (size_t)(h ^ (h >> 29));
}

static void slots_rebuild(struct qt_header_cache *c, size_t nslots)
{
    size_t i, k, mask = nslots - 1;

    free(c->slots);
    c->slots = xcalloc(nslots, sizeof(*c->slots));
    c->nslots = nslots;
    for (i = 0; i < c->n; i++) {
        for (k = hash_id(c->entries[i].id) & mask; c->slots[k]; k = (k + 1) & mask)
            ;
        c->slots[k] = (uint32_t)i + 1;
    }
}

static struct entry *find(struct qt_header_cache *c, const char *id)
{
    size_t k, mask = c->nslots - 1;

    if (!c->nslots)
        return NULL;
    for (k = hash_id(id) & mask; c->slots[k]; k = (k + 1) & mask)
        if (strcmp(c->entries[c->slots[k] - 1].id, id) == 0)
            return &c->entries[c->slots[k] - 1];
    return NULL;
}

static struct entry *add(struct qt_header_cache *c, const char *id)
{
    size_t k, mask;
    struct entry *e;

    if ((c->n + 1) * 2 > c->nslots)
        slots_rebuild(c, c->nslots ? c->nslots * 2 : 1024);
    c->entries = xgrow(c->entries, &c->cap, c->n + 1, sizeof(*c->entries));
    e = &c->entries[c->n];
    memset(e, 0, sizeof(*e));
    e->id = xstrdup(id);
    mask = c->nslots - 1;
    for (k = hash_id(id) & mask; c->slots[k]; k = (k + 1) & mask)
        ;
    c->slots[k] = (uint32_t)++c->n;
    return e;
}

static void prune_locked(struct qt_header_cache *c, const struct qt_store *s)
{
    size_t i, kept = 0;

    for (i = 0; i < c->n; i++) {
        struct entry *e = &c->entries[i];

        if (qt_store_find(s, e->id) < 0) {
            free(e->id);
            free(e->values);
            continue;
        }
        c->entries[kept++] = *e;
    }
    c->n = kept;
    if (c->nslots)
        slots_rebuild(c, c->nslots);
}

void qt_header_cache_prune(struct qt_header_cache *c, const struct qt_store *s)
{
    pthread_mutex_lock(&c->lock);
    prune_locked(c, s);
    pthread_mutex_unlock(&c->lock);
}

/* The index of `name` among the names asked for, adding it (and starting
 * afresh when the table is full). */
static size_t name_index(struct qt_header_cache *c, const char *name)
{
    size_t k;

    for (k = 0; k < c->nnames; k++)
        if (strcasecmp(c->names[k], name) == 0)
            return k;
    if (c->nnames == QT_HEADER_NAMES_MAX) {
        forget_all(c);
        c->nnames = 0;
    }
    snprintf(c->names[c->nnames], sizeof(c->names[0]), "%s", name);
    return c->nnames++;
}

static size_t known_name(const struct qt_header_cache *c, const char *name)
{
    size_t k;

    for (k = 0; k < c->nnames; k++)
        if (strcasecmp(c->names[k], name) == 0)
            return k;
    return SIZE_MAX;
}

/* Decoded, without the blanks around it (the one after the colon above all). */
static void put_value(struct qt_buf *blob, size_t k, const char *raw)
{
    char *d = qt_text_decode_header(raw, QT_HEADER_VALUE_MAX);
    size_t start = 0, end = strlen(d);

    while (start < end && (d[start] == ' ' || d[start] == '\t'))
        start++;
    while (end > start && (d[end - 1] == ' ' || d[end - 1] == '\t'))
        end--;
    qt_buf_putc(blob, (char)k);
    qt_buf_append(blob, d + start, end - start);
    qt_buf_putc(blob, 0);
    free(d);
}

/* Read message `id`'s file and keep the values of every name asked for. */
static enum qt_header_answer read_headers(struct qt_header_cache *c, struct entry *e,
                                          const char *id, int hint)
{
    enum qt_queue where;
    char rel[256];
    size_t i, k;
    int fd = qt_spool_open_message(c->layout, id, hint, &where, rel, sizeof(rel));

    if (fd < 0) {
        if (errno == ENOENT) {
            e->gone = true;
            return QT_HEADER_GONE;
        }
        snprintf(c->last_error, sizeof(c->last_error), "%s: %s", id,
                 errno == EINVAL ? "not a queue ID of this host" : strerror(errno));
        return QT_HEADER_UNREADABLE;
    }
    c->reads++;
    /* A file Postfix has not finished, or a damaged one, still has the
     * headers read before the problem: those count. */
    qt_queue_file_read(&c->qf, fd, id, where == QT_Q_MAILDROP, &limits);
    close(fd);
    qt_buf_reset(&c->blob);
    for (i = 0; i < c->qf.nheaders; i++)
        if ((k = known_name(c, c->qf.headers[i].name)) != SIZE_MAX)
            put_value(&c->blob, k, c->qf.headers[i].value);
    free(e->values);
    e->values = NULL;
    e->len = c->blob.len;
    if (c->blob.len) {
        e->values = xmalloc(c->blob.len);
        memcpy(e->values, c->blob.data, c->blob.len);
    }
    e->have = c->nnames >= 32 ? UINT32_MAX : (UINT32_C(1) << c->nnames) - 1;
    e->gone = false;
    return QT_HEADER_NO;
}

enum qt_header_answer qt_header_cache_any(struct qt_header_cache *c, const struct qt_store *s,
                                          const struct qt_msg *m, const char *name,
                                          bool (*test)(void *ctx, const char *value,
                                                       size_t len),
                                          void *ctx)
{
    const char *id = m->id ? qt_store_str(s, m->id) : "";
    enum qt_header_answer answer = QT_HEADER_NO;
    struct entry *e;
    size_t k, i, vlen;
    bool any = false;

    pthread_mutex_lock(&c->lock);
    if (c->n > 2 * s->n + 4096)
        prune_locked(c, s);
    k = name_index(c, name);
    e = find(c, id);
    if (e && e->arrival != m->arrival) {
        e->have = 0;            /* the queue ID now names another message */
        e->gone = false;
    }
    if (!e)
        e = add(c, id);
    e->arrival = m->arrival;
    if (!e->gone && !(e->have & (UINT32_C(1) << k)))
        answer = read_headers(c, e, id, m->queue);
    if (e->gone) {
        answer = QT_HEADER_GONE;
    } else if (answer == QT_HEADER_NO) {
        for (i = 0; i < e->len && answer == QT_HEADER_NO; i += vlen + 2) {
            vlen = strlen(e->values + i + 1);
            if ((unsigned char)e->values[i] != k)
                continue;
            any = true;
            if (test(ctx, e->values + i + 1, vlen))
                answer = QT_HEADER_YES;
        }
        if (!any && test(ctx, "", 0))
            answer = QT_HEADER_YES;
    }
    pthread_mutex_unlock(&c->lock);
    return answer;
}

const char *qt_header_cache_last_error(const struct qt_header_cache *c)
{
    return c->last_error;
}

size_t qt_header_cache_reads(const struct qt_header_cache *c)
{
    return c->reads;
}

size_t qt_header_cache_size(const struct qt_header_cache *c)
{
    return c->n;
}
