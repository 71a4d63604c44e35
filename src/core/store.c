#include "qtriage/store.h"

#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string.h>

#include "qtriage/reason.h"
#include "qtriage/util.h"

void qt_store_init(struct qt_store *s)
{
    memset(s, 0, sizeof(*s));
    qt_strpool_init(&s->pool);
    s->index_slots = 1 << 10;
    s->index = xcalloc(s->index_slots, sizeof(*s->index));
    s->rcpts_cap = 64;
    s->rcpts = xmalloc(s->rcpts_cap * sizeof(*s->rcpts));
}

void qt_store_free(struct qt_store *s)
{
    free(s->msgs);
    free(s->rcpts);
    free(s->index);
    qt_strpool_free(&s->pool);
    qt_buf_free(&s->tmpl);
    qt_buf_free(&s->tokens);
    memset(s, 0, sizeof(*s));
}

static uint32_t id_hash(const char *id)
{
    return qt_hash_bytes(id, strlen(id));
}

/* Slot holding `id` (whose hash is h), or the empty slot where it would go. */
static size_t index_slot_hashed(const struct qt_store *s, const char *id, uint32_t h)
{
    size_t mask = s->index_slots - 1, i;

    for (i = h & mask; s->index[i]; i = (i + 1) & mask)
        if (strcmp(qt_store_str(s, s->msgs[s->index[i] - 1].id), id) == 0)
            break;
    return i;
}

static size_t index_slot(const struct qt_store *s, const char *id)
{
    return index_slot_hashed(s, id, id_hash(id));
}

static void index_grow(struct qt_store *s)
{
    size_t i;

    free(s->index);
    s->index_slots *= 2;
    s->index = xcalloc(s->index_slots, sizeof(*s->index));
    qt_huge_pages(s->index, s->index_slots * sizeof(*s->index));
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

/* Copy the live runs of recipients into an array of their own size, in
 * message order. */
static void compact_rcpts(struct qt_store *s)
{
    size_t live = s->rcpts_used - s->rcpts_dead, cap = live + live / 4 + 64, used = 0, i;
    struct qt_rcpt *r = xmalloc(cap * sizeof(*r));

    for (i = 0; i < s->n; i++) {
        struct qt_msg *m = &s->msgs[i];

        if (m->nrcpts)
            memcpy(r + used, s->rcpts + m->rcpt_first, m->nrcpts * sizeof(*r));
        m->rcpt_first = m->nrcpts ? (uint32_t)used : 0;
        used += m->nrcpts;
    }
    free(s->rcpts);
    s->rcpts = r;
    s->rcpts_used = used;
    s->rcpts_cap = cap;
    s->rcpts_dead = 0;
}

/* Room for a run of n recipients; the index of its first. */
static uint32_t alloc_rcpts(struct qt_store *s, size_t n)
{
    size_t first;

    if (s->rcpts_used + n > s->rcpts_cap && s->rcpts_dead > (s->rcpts_used - s->rcpts_dead) / 2)
        compact_rcpts(s);
    if (s->rcpts_used + n > s->rcpts_cap) {
        size_t cap = s->rcpts_cap < 4096 ? 4096 : s->rcpts_cap + s->rcpts_cap / 2;

        if (cap < s->rcpts_used + n)
            cap = s->rcpts_used + n;
        s->rcpts = xrealloc(s->rcpts, cap * sizeof(*s->rcpts));
        s->rcpts_cap = cap;
        qt_huge_pages(s->rcpts, cap * sizeof(*s->rcpts));
    }
    if (s->rcpts_used + n > UINT32_MAX)
        qt_die("more than 4 billion recipients");
    first = s->rcpts_used;
    s->rcpts_used += n;
    return (uint32_t)first;
}

/* m's recipients are no longer needed (m is replaced or removed). */
static void drop_rcpts(struct qt_store *s, const struct qt_msg *m)
{
    if (m->rcpt_first + m->nrcpts == s->rcpts_used)
        s->rcpts_used = m->rcpt_first;      /* the last run: reuse it at once */
    else
        s->rcpts_dead += m->nrcpts;
}

/* The strings fill() interns straight from d, in its order: the look-ahead
 * hashes them in this order, fill() takes the hashes in the same order.
 * (The reasons are not among them: fill() makes templates of them first.) */
static void each_plain_string(const struct qt_msg_data *d,
                              void (*each)(void *ctx, const char *str, size_t len), void *ctx)
{
    size_t i;

    each(ctx, d->sender, d->sender ? strlen(d->sender) : 0);
    each(ctx, d->subject, d->subject ? strlen(d->subject) : 0);
    each(ctx, d->from, d->from ? strlen(d->from) : 0);
    each(ctx, d->error, d->error ? strlen(d->error) : 0);
    each(ctx, d->host, d->host ? strlen(d->host) : 0);
    each(ctx, d->attrs, d->attrs ? d->attrs_len : 0);
    for (i = 0; i < QT_ATTR_NFIELDS; i++)
        each(ctx, d->attr_fields[i], d->attr_fields[i] ? strlen(d->attr_fields[i]) : 0);
    for (i = 0; i < d->nrcpts; i++) {
        const struct qt_rcpt_data *rd = &d->rcpts[i];

        each(ctx, rd->address, rd->address ? strlen(rd->address) : 0);
        each(ctx, rd->orig, rd->orig ? strlen(rd->orig) : 0);
        each(ctx, rd->status, rd->status ? strlen(rd->status) : 0);
    }
}

struct look_ahead {
    const struct qt_store *s;
    struct qt_store_ahead *a;
};

static void hash_ahead(void *ctx, const char *str, size_t len)
{
    struct look_ahead *la = ctx;
    uint32_t h;

    if (la->a->n == QT_STORE_AHEAD_STRS)
        return;
    h = str ? qt_strpool_hash(str, len) : 0;
    if (str)
        qt_strpool_prefetch(&la->s->pool, h);
    la->a->len[la->a->n] = len;
    la->a->h[la->a->n++] = h;
}

void qt_store_look_ahead(const struct qt_store *s, const struct qt_msg_data *d,
                         struct qt_store_ahead *a)
{
    struct look_ahead la = {s, a};

    a->d = d;
    a->n = 0;
    a->id_hash = id_hash(d->id);
    __builtin_prefetch(&s->index[a->id_hash & (s->index_slots - 1)]);
    each_plain_string(d, hash_ahead, &la);
}

void qt_store_look_closer(const struct qt_store *s, const struct qt_store_ahead *a)
{
    uint32_t at = s->index[a->id_hash & (s->index_slots - 1)];
    unsigned k;

    if (at)
        __builtin_prefetch(&s->msgs[at - 1]);
    for (k = 0; k < a->n; k++)
        if (a->h[k])
            qt_strpool_prefetch_string(&s->pool, a->h[k]);
}

/* fill()'s way through the strings each_plain_string() names: the next
 * one's hash and length, from the look-ahead while it has them. */
struct hashes {
    const struct qt_store_ahead *a;
    unsigned k;
};

static qt_str intern_next(struct qt_store *s, struct hashes *hs, const char *str, size_t len)
{
    unsigned k = hs->k++;

    if (!str)
        return 0;
    return k < hs->a->n ? qt_strpool_intern_hashed(&s->pool, str, len, hs->a->h[k])
                        : qt_strpool_intern(&s->pool, str, len);
}

static qt_str intern_next_cstr(struct qt_store *s, struct hashes *hs, const char *str)
{
    size_t len = hs->k < hs->a->n ? hs->a->len[hs->k] : str ? strlen(str) : 0;

    return intern_next(s, hs, str, len);
}

/* `old` is m's run when m is replaced (its room is reused when the new list
 * fits), or (uint32_t)-1 for a new message.  `a`: d's look-ahead (its n
 * may be 0). */
static void fill(struct qt_store *s, struct qt_msg *m, const struct qt_msg_data *d,
                 const struct qt_store_ahead *a)
{
    struct hashes hs = {a, 0};
    uint32_t first, old_first = m->rcpt_first, old_n = m->nrcpts;
    bool replacing = old_first != UINT32_MAX;
    size_t i;

    if (replacing && d->nrcpts <= old_n) {
        first = old_first;      /* updated in place: the tail of the run is garbage */
        s->rcpts_dead += old_n - d->nrcpts;
    } else {
        if (replacing) {
            drop_rcpts(s, m);
            m->nrcpts = 0;      /* a compaction now has nothing of m to keep */
        }
        first = alloc_rcpts(s, d->nrcpts);
    }
    memset(m, 0, sizeof(*m));
    /* The store's index keeps IDs unique: the pool's would only cost a
     * slot and a probe per message. */
    m->id = qt_strpool_add(&s->pool, d->id, strlen(d->id));
    m->sender = intern_next_cstr(s, &hs, d->sender);
    m->subject = intern_next_cstr(s, &hs, d->subject);
    m->from = intern_next_cstr(s, &hs, d->from);
    m->error = intern_next_cstr(s, &hs, d->error);
    m->host = intern_next_cstr(s, &hs, d->host);
    m->attrs = intern_next(s, &hs, d->attrs, d->attrs_len);
    for (i = 0; i < QT_ATTR_NFIELDS; i++)
        m->attr_fields[i] = intern_next_cstr(s, &hs, d->attr_fields[i]);
    m->nrcpts = (uint32_t)d->nrcpts;
    /* An empty run points at the start, never past the array's end. */
    m->rcpt_first = d->nrcpts ? first : 0;
    for (i = 0; i < d->nrcpts; i++) {
        const struct qt_rcpt_data *rd = &d->rcpts[i];
        struct qt_rcpt *r = &s->rcpts[first + i];

        memset(r, 0, sizeof(*r));
        r->address = intern_next_cstr(s, &hs, rd->address);
        r->orig = intern_next_cstr(s, &hs, rd->orig);
        r->status = intern_next_cstr(s, &hs, rd->status);
        if (rd->reason && qt_reason_template(rd->reason, strlen(rd->reason), rd->address,
                                             rd->address ? strlen(rd->address) : 0,
                                             &s->tmpl, &s->tokens)) {
            r->reason = qt_strpool_intern(&s->pool, s->tmpl.data, s->tmpl.len);
            r->reason_tokens = qt_strpool_intern(&s->pool, s->tokens.len ? s->tokens.data : "",
                                                 s->tokens.len);
        } else {
            r->reason = intern(s, rd->reason);
        }
        r->state = (uint8_t)rd->state;
        r->bounced = rd->bounced;
        if (rd->state == QT_RCPT_PENDING)
            m->npending++;
        if (!m->reason && r->reason)
            m->reason = r->reason;
    }
    m->arrival = clamp_u32(d->arrival);
    m->mtime = clamp_u32(d->mtime);
    m->msg_size = clamp_u32(d->msg_size);
    m->queue = (uint8_t)d->queue;
    m->flags = (d->forced_expire ? QT_MSG_FORCED_EXPIRE : 0) |
               (d->null_sender ? QT_MSG_NULL_SENDER : 0) |
               (d->error ? QT_MSG_UNREADABLE : 0);
}

static qt_str move_str(struct qt_strpool *to, const struct qt_strpool *from, qt_str ref)
{
    return ref ? qt_strpool_intern(to, qt_strpool_get(from, ref), qt_strpool_len(from, ref))
               : 0;
}

/* Intern every live string into a fresh pool and drop the old one with the
 * strings of the messages gone.  The new pool has a serial of its own, so
 * whoever remembered facts per reference knows they are void. */
static void compact_pool(struct qt_store *s)
{
    struct qt_strpool old = s->pool;
    size_t i, k;

    qt_strpool_init(&s->pool);
    for (i = 0; i < s->n; i++) {
        struct qt_msg *m = &s->msgs[i];
        struct qt_rcpt *r = s->rcpts + m->rcpt_first;

        m->id = qt_strpool_add(&s->pool, qt_strpool_get(&old, m->id),
                               qt_strpool_len(&old, m->id));
        m->sender = move_str(&s->pool, &old, m->sender);
        m->subject = move_str(&s->pool, &old, m->subject);
        m->from = move_str(&s->pool, &old, m->from);
        m->attrs = move_str(&s->pool, &old, m->attrs);
        m->error = move_str(&s->pool, &old, m->error);
        for (k = 0; k < QT_ATTR_NFIELDS; k++)
            m->attr_fields[k] = move_str(&s->pool, &old, m->attr_fields[k]);
        m->reason = move_str(&s->pool, &old, m->reason);
        m->host = move_str(&s->pool, &old, m->host);
        for (k = 0; k < m->nrcpts; k++) {
            r[k].address = move_str(&s->pool, &old, r[k].address);
            r[k].orig = move_str(&s->pool, &old, r[k].orig);
            r[k].reason = move_str(&s->pool, &old, r[k].reason);
            r[k].reason_tokens = move_str(&s->pool, &old, r[k].reason_tokens);
            r[k].status = move_str(&s->pool, &old, r[k].status);
        }
    }
    qt_strpool_free(&old);
    s->pool_garbage = 0;
}

/* The pool is compacted once as many messages went (or were replaced) as
 * the store holds, and at least 16k: the cost, one interning of every live
 * string, is then spread over as many changes, and at most about half the
 * pool is garbage. */
static void note_garbage(struct qt_store *s)
{
    if (++s->pool_garbage >= 16384 && s->pool_garbage >= s->n)
        compact_pool(s);
}

void qt_store_upsert(struct qt_store *s, const struct qt_msg_data *d)
{
    struct qt_store_ahead none = {.d = d, .id_hash = id_hash(d->id), .n = 0};

    qt_store_upsert_ahead(s, d, &none);
}

void qt_store_upsert_ahead(struct qt_store *s, const struct qt_msg_data *d,
                           const struct qt_store_ahead *a)
{
    size_t slot;
    bool replaced;
    struct qt_msg *m;

    if (a->d != d) {            /* another message's hashes: none, then */
        qt_store_upsert(s, d);
        return;
    }
    slot = index_slot_hashed(s, d->id, a->id_hash);
    replaced = s->index[slot] != 0;

    if (replaced) {
        m = &s->msgs[s->index[slot] - 1];
        s->per_queue[m->queue]--;
        s->total_size -= m->msg_size;
    } else {
        if (s->n == s->cap) {
            /* Grow by half, not double: less slack in the largest array. */
            s->cap = s->cap < 64 ? 64 : s->cap + s->cap / 2;
            s->msgs = xrealloc(s->msgs, s->cap * sizeof(*s->msgs));
            qt_huge_pages(s->msgs, s->cap * sizeof(*s->msgs));
        }
        m = &s->msgs[s->n++];
        m->rcpt_first = UINT32_MAX;
        m->nrcpts = 0;
        s->index[slot] = (uint32_t)s->n;
    }
    fill(s, m, d, a);
    s->per_queue[m->queue]++;
    s->total_size += m->msg_size;
    if (s->n * 2 > s->index_slots)
        index_grow(s);          /* after fill(): rehashing reads the new ID */
    if (replaced)
        note_garbage(s);        /* the old strings stay in the pool */
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
    drop_rcpts(s, &s->msgs[victim]);
    if (victim != last) {
        s->msgs[victim] = s->msgs[last];
        s->index[index_slot(s, qt_store_str(s, s->msgs[victim].id))] = (uint32_t)(victim + 1);
    }
    s->n--;
    note_garbage(s);
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

const char *qt_store_reason(const struct qt_store *s, const struct qt_rcpt *r,
                            struct qt_buf *scratch, size_t *len)
{
    if (!r->reason_tokens) {
        *len = qt_strpool_len(&s->pool, r->reason);
        return qt_store_str(s, r->reason);
    }
    qt_buf_reset(scratch);
    qt_reason_expand(qt_store_str(s, r->reason), qt_strpool_len(&s->pool, r->reason),
                     qt_store_str(s, r->reason_tokens), qt_strpool_len(&s->pool, r->reason_tokens),
                     qt_store_str(s, r->address), qt_strpool_len(&s->pool, r->address), scratch);
    qt_buf_putc(scratch, '\0');
    *len = --scratch->len;
    return scratch->data;
}

const char *qt_store_msg_reason(const struct qt_store *s, const struct qt_msg *m,
                                struct qt_buf *scratch, size_t *len)
{
    const struct qt_rcpt *r = qt_store_rcpts(s, m);
    uint32_t i;

    if (m->reason)
        for (i = 0; i < m->nrcpts; i++)
            if (r[i].reason)
                return qt_store_reason(s, &r[i], scratch, len);
    *len = 0;
    return NULL;
}

size_t qt_store_memory(const struct qt_store *s)
{
    return s->cap * sizeof(*s->msgs) + s->index_slots * sizeof(*s->index) +
           s->rcpts_cap * sizeof(*s->rcpts) + qt_strpool_memory(&s->pool);
}

void qt_store_tune_allocator(void)
{
#ifdef __GLIBC__
    /* glibc raises its mmap threshold to the size of each large block freed
     * (up to 32 MiB), and its trim threshold to twice that: after the
     * first sort of a large store, megabytes freed at the top of the scan
     * threads' heaps are never given back, not even by malloc_trim().
     * Fixed thresholds keep large blocks in mmap and free tops trimmed. */
    mallopt(M_MMAP_THRESHOLD, 256 << 10);
    mallopt(M_TRIM_THRESHOLD, 512 << 10);
#endif
}

void qt_store_release_slack(struct qt_store *s)
{
    if (s->rcpts_dead)
        compact_rcpts(s);
    else if (s->rcpts_cap > s->rcpts_used + 64) {
        s->rcpts = xrealloc(s->rcpts, (s->rcpts_used + 64) * sizeof(*s->rcpts));
        s->rcpts_cap = s->rcpts_used + 64;
    }
    if (s->n && s->cap > s->n) {
        s->msgs = xrealloc(s->msgs, s->n * sizeof(*s->msgs));
        s->cap = s->n;
    }
#ifdef __GLIBC__
    /* glibc keeps freed heap below its top and in its arenas; the scan's
     * threads freed tens of megabytes of batches there. */
    malloc_trim(0);
#endif
}
