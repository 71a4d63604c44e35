#include "qtriage/store.h"

#include <stdlib.h>
#include <string.h>

#include "qtriage/util.h"

void qt_store_init(struct qt_store *s)
{
    memset(s, 0, sizeof(*s));
    qt_strpool_init(&s->pool);
    s->index_slots = 1 << 10;
    s->index = xcalloc(s->index_slots, sizeof(*s->index));
}

void qt_store_free(struct qt_store *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        free(s->msgs[i].rcpts);
    free(s->msgs);
    free(s->index);
    qt_strpool_free(&s->pool);
    memset(s, 0, sizeof(*s));
}

static uint32_t id_hash(const char *id)
{
    return qt_hash_bytes(id, strlen(id));
}

/* Slot holding `id`, or the empty slot where it would go. */
static size_t index_slot(const struct qt_store *s, const char *id)
{
    size_t mask = s->index_slots - 1, i;

    for (i = id_hash(id) & mask; s->index[i]; i = (i + 1) & mask)
        if (strcmp(qt_store_str(s, s->msgs[s->index[i] - 1].id), id) == 0)
            break;
    return i;
}

static void index_grow(struct qt_store *s)
{
    size_t i;

    free(s->index);
    s->index_slots *= 2;
    s->index = xcalloc(s->index_slots, sizeof(*s->index));
    for (i = 0; i < s->n; i++)
        s->index[index_slot(s, qt_store_str(s, s->msgs[i].id))] = (uint32_t)(i + 1);
}

/* Remove the entry at slot i, re-placing the cluster after it (linear
 * probing deletion without tombstones). */
static void index_delete_slot(struct qt_store *s, size_t i)
{
    size_t mask = s->index_slots - 1, j = i;

    s->index[i] = 0;
    for (;;) {
        size_t home;
        uint32_t v;

        j = (j + 1) & mask;
        if (!(v = s->index[j]))
            break;
        home = id_hash(qt_store_str(s, s->msgs[v - 1].id)) & mask;
        /* Move v back into the hole when its home is not in (i, j]. */
        if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
            s->index[i] = v;
            s->index[j] = 0;
            i = j;
        }
    }
}

long qt_store_find(const struct qt_store *s, const char *id)
{
    size_t slot = index_slot(s, id);

    return s->index[slot] ? (long)s->index[slot] - 1 : -1;
}

static qt_str intern(struct qt_store *s, const char *str)
{
    return qt_strpool_intern_cstr(&s->pool, str);
}

static uint32_t clamp_u32(int64_t v)
{
    return v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static void fill(struct qt_store *s, struct qt_msg *m, const struct qt_msg_data *d)
{
    size_t i;

    free(m->rcpts);
    memset(m, 0, sizeof(*m));
    m->id = intern(s, d->id);
    m->sender = intern(s, d->sender);
    m->subject = intern(s, d->subject);
    m->from = intern(s, d->from);
    m->error = intern(s, d->error);
    m->host = intern(s, d->host);
    m->attrs = d->attrs ? qt_strpool_intern(&s->pool, d->attrs, d->attrs_len) : 0;
    for (i = 0; i < QT_ATTR_NFIELDS; i++)
        m->attr_fields[i] = intern(s, d->attr_fields[i]);
    m->nrcpts = (uint32_t)d->nrcpts;
    m->rcpts = d->nrcpts ? xcalloc(d->nrcpts, sizeof(*m->rcpts)) : NULL;
    for (i = 0; i < d->nrcpts; i++) {
        const struct qt_rcpt_data *rd = &d->rcpts[i];
        struct qt_rcpt *r = &m->rcpts[i];

        r->address = intern(s, rd->address);
        r->orig = intern(s, rd->orig);
        r->reason = intern(s, rd->reason);
        r->status = intern(s, rd->status);
        r->state = (uint8_t)rd->state;
        r->bounced = rd->bounced;
        if (rd->state == QT_RCPT_PENDING)
            m->npending++;
        if (!m->reason && r->reason)
            m->reason = r->reason;
    }
    m->arrival = clamp_u32(d->arrival);
    m->create_time = clamp_u32(d->create_time);
    m->mtime = clamp_u32(d->mtime);
    m->msg_size = clamp_u32(d->msg_size);
    m->file_size = clamp_u32(d->file_size);
    m->content_size = clamp_u32(d->content_size);
    m->data_offset = clamp_u32(d->data_offset);
    m->queue = (uint8_t)d->queue;
    m->flags = (d->forced_expire ? QT_MSG_FORCED_EXPIRE : 0) |
               (d->null_sender ? QT_MSG_NULL_SENDER : 0) |
               (d->error ? QT_MSG_UNREADABLE : 0);
}

void qt_store_upsert(struct qt_store *s, const struct qt_msg_data *d)
{
    size_t slot = index_slot(s, d->id);
    struct qt_msg *m;

    if (s->index[slot]) {
        m = &s->msgs[s->index[slot] - 1];
        s->per_queue[m->queue]--;
        s->total_size -= m->msg_size;
    } else {
        if (s->n == s->cap) {
            /* Grow by half, not double: less slack in the largest array. */
            s->cap = s->cap < 64 ? 64 : s->cap + s->cap / 2;
            s->msgs = xrealloc(s->msgs, s->cap * sizeof(*s->msgs));
        }
        m = &s->msgs[s->n++];
        m->rcpts = NULL;
        s->index[slot] = (uint32_t)s->n;
    }
    fill(s, m, d);
    s->per_queue[m->queue]++;
    s->total_size += m->msg_size;
    if (s->n * 2 > s->index_slots)
        index_grow(s);          /* after fill(): rehashing reads the new ID */
    s->version++;
}

bool qt_store_update(struct qt_store *s, const char *id, enum qt_queue queue, int64_t mtime,
                     bool forced_expire)
{
    long i = qt_store_find(s, id);
    struct qt_msg *m;

    if (i < 0)
        return false;
    m = &s->msgs[i];
    s->per_queue[m->queue]--;
    m->queue = (uint8_t)queue;
    s->per_queue[m->queue]++;
    m->mtime = clamp_u32(mtime);
    m->flags = (uint8_t)((m->flags & ~QT_MSG_FORCED_EXPIRE) |
                         (forced_expire ? QT_MSG_FORCED_EXPIRE : 0));
    s->version++;
    return true;
}

bool qt_store_remove(struct qt_store *s, const char *id)
{
    size_t slot = index_slot(s, id);
    size_t victim, last;

    if (!s->index[slot])
        return false;
    victim = s->index[slot] - 1;
    last = s->n - 1;
    s->per_queue[s->msgs[victim].queue]--;
    s->total_size -= s->msgs[victim].msg_size;
    index_delete_slot(s, slot);
    free(s->msgs[victim].rcpts);
    if (victim != last) {
        s->msgs[victim] = s->msgs[last];
        s->index[index_slot(s, qt_store_str(s, s->msgs[victim].id))] = (uint32_t)(victim + 1);
    }
    s->n--;
    s->version++;
    return true;
}

const char *qt_store_next_attr(const struct qt_store *s, const struct qt_msg *m,
                               const char *prev)
{
    const char *p;

    if (!m->attrs)
        return NULL;
    p = prev ? prev + strlen(prev) + 1 : qt_store_str(s, m->attrs);
    return *p ? p : NULL;
}

const char *qt_store_attr(const struct qt_store *s, const struct qt_msg *m, const char *name)
{
    size_t nlen = strlen(name);
    const char *a;

    int i;

    for (i = 0; i < QT_ATTR_NFIELDS; i++)
        if (strcmp(name, qt_attr_field_names[i]) == 0)
            return qt_store_str(s, m->attr_fields[i]);
    for (a = qt_store_next_attr(s, m, NULL); a; a = qt_store_next_attr(s, m, a))
        if (strncmp(a, name, nlen) == 0 && a[nlen] == '=')
            return a + nlen + 1;
    return NULL;
}

size_t qt_store_memory(const struct qt_store *s)
{
    size_t bytes = s->cap * sizeof(*s->msgs) + s->index_slots * sizeof(*s->index) +
                   qt_strpool_memory(&s->pool);
    size_t i;

    for (i = 0; i < s->n; i++)
        if (s->msgs[i].nrcpts)
            bytes += s->msgs[i].nrcpts * sizeof(struct qt_rcpt) + 16;
    return bytes;
}
