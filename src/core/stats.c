/* Top-N groups (see stats.h).
 *
 * Grouping a million messages works on interned strings: each distinct
 * string (a sender, a reason) is turned into its group once, and a table
 * keyed by its qt_str remembers the answer, so per message only a hash
 * probe remains. */
#include "qtriage/stats.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "qtriage/arena.h"
#include "qtriage/reason.h"
#include "qtriage/text.h"

/* Spread interned-string numbers (small, dense) over a table. */
static uint32_t ref_hash(qt_str ref)
{
    uint32_t h = ref * 2654435761u;

    return h ^ (h >> 16);
}

/* ---- top-N groups ---- */

const int64_t qt_stats_windows[QT_STATS_NWINDOWS] = {5 * 60, 15 * 60, 60 * 60};
const char *const qt_stats_window_names[QT_STATS_NWINDOWS] = {"5m", "15m", "60m"};

bool qt_stats_arrived(int64_t arrival, int64_t now, int64_t window)
{
    return now - arrival < window;
}

double qt_stats_rate(uint64_t arrived, int w)
{
    return (double)arrived * 60.0 / (double)qt_stats_windows[w];
}

static struct qt_stats_key by_table[QT_BY_COUNT];
static pthread_once_t by_table_once = PTHREAD_ONCE_INIT;

static void fill_by_table(void)
{
    int by;

    for (by = 0; by < QT_BY_COUNT; by++) {
        const struct qt_field *f = qt_field_of_group((enum qt_stats_by)by);

        if (!f)
            qt_die("stats key %d has no field in the registry", by);
        by_table[by].name = f->name;
        by_table[by].title = f->title;
    }
}

const struct qt_stats_key *qt_stats_by_table(void)
{
    pthread_once(&by_table_once, fill_by_table);
    return by_table;
}

bool qt_stats_by_from_name(const char *name, enum qt_stats_by *by)
{
    const struct qt_field *f = qt_field_find(name, strlen(name), QT_ROLE_GROUP);

    if (!f)
        return false;
    *by = (enum qt_stats_by)(f->by_plus_one - 1);
    return true;
}

static uint32_t hash_folded(const char *p, size_t len)
{
    uint32_t h = 2166136261u;
    size_t i;

    for (i = 0; i < len; i++)
        h = (h ^ qt_ascii_fold((unsigned char)p[i])) * 16777619u;
    return h ? h : 1;
}

struct group_work {
    struct qt_stats_group g;
    uint32_t hash;
    uint32_t stamp;             /* message number + 1 last counted */
    size_t raws_cap;
};

struct stats_priv {
    struct qt_arena arena;
    struct group_work *work;
    size_t nwork, work_cap;
    uint32_t *by_key;           /* folded key -> group + 1 */
    size_t key_slots;
    uint32_t *ref_keys;         /* qt_str -> group + 1 (0: none) */
    uint32_t *ref_groups;
    size_t ref_slots, ref_count;
    struct qt_reason_cache reasons;
    struct qt_buf scratch, key;
    struct qt_buf reason_text;  /* a templated reason, built */
    /* Counting in steps: what begin was given. */
    const struct qt_field *fd;
    struct qt_filter *filter;
    int64_t now;
    /* The message being counted: which windows it arrived within. */
    bool in_window[QT_STATS_NWINDOWS];
};

void qt_stats_init(struct qt_stats *st)
{
    memset(st, 0, sizeof(*st));
}

static void priv_free(struct stats_priv *p)
{
    size_t i;

    if (!p)
        return;
    for (i = 0; i < p->nwork; i++) {
        free(p->work[i].g.raws);
        free(p->work[i].g.raw_lens);
    }
    free(p->work);
    free(p->by_key);
    free(p->ref_keys);
    free(p->ref_groups);
    qt_reason_cache_free(&p->reasons);
    qt_buf_free(&p->scratch);
    qt_buf_free(&p->key);
    qt_buf_free(&p->reason_text);
    qt_arena_free(&p->arena);
    free(p);
}

void qt_stats_free(struct qt_stats *st)
{
    priv_free(st->priv);
    free(st->groups);
    memset(st, 0, sizeof(*st));
}

static void key_table_grow(struct stats_priv *p)
{
    size_t n = p->key_slots ? p->key_slots * 2 : 256, i, j;

    free(p->by_key);
    p->key_slots = n;
    p->by_key = xcalloc(n, sizeof(*p->by_key));
    for (i = 0; i < p->nwork; i++) {
        for (j = p->work[i].hash & (n - 1); p->by_key[j]; j = (j + 1) & (n - 1))
            ;
        p->by_key[j] = (uint32_t)(i + 1);
    }
}

/* The group of the folded `key`, made (labelled `label`) when new. */
static uint32_t group_of(struct stats_priv *p, const char *key, size_t len, bool null_sender,
                         const char *label, size_t label_len)
{
    uint32_t h = hash_folded(key, len) ^ (null_sender ? 0x9e3779b9u : 0);
    size_t mask, i;
    struct group_work *w;
    struct qt_buf lb = {0};

    if ((p->nwork + 1) * 2 > p->key_slots)
        key_table_grow(p);
    mask = p->key_slots - 1;
    for (i = h & mask; p->by_key[i]; i = (i + 1) & mask) {
        w = &p->work[p->by_key[i] - 1];
        if (w->hash == h && w->g.key_len == len && w->g.null_sender == null_sender &&
            qt_ascii_equal_folded(w->g.key, key, len))
            return p->by_key[i] - 1;
    }
    p->work = xgrow(p->work, &p->work_cap, p->nwork + 1, sizeof(*p->work));
    w = &p->work[p->nwork];
    memset(w, 0, sizeof(*w));
    w->hash = h;
    w->g.key = qt_arena_strndup(&p->arena, key, len);
    w->g.key_len = len;
    w->g.null_sender = null_sender;
    if (null_sender)
        qt_buf_printf(&lb, "<> (null sender)");
    else if (label_len == 0)
        qt_buf_printf(&lb, "(none)");
    else
        qt_text_sanitize(&lb, label, label_len);
    w->g.label = qt_arena_strndup(&p->arena, lb.data, lb.len);
    qt_buf_free(&lb);
    p->by_key[i] = (uint32_t)(p->nwork + 1);
    return (uint32_t)p->nwork++;
}

static void ref_table_grow(struct stats_priv *p)
{
    size_t n = p->ref_slots ? p->ref_slots * 2 : 1024, i, j;
    uint32_t *keys = xcalloc(n, sizeof(*keys)), *groups = xcalloc(n, sizeof(*groups));

    for (i = 0; i < p->ref_slots; i++) {
        if (!p->ref_keys[i])
            continue;
        for (j = ref_hash(p->ref_keys[i]) & (n - 1); keys[j]; j = (j + 1) & (n - 1))
            ;
        keys[j] = p->ref_keys[i];
        groups[j] = p->ref_groups[i];
    }
    free(p->ref_keys);
    free(p->ref_groups);
    p->ref_keys = keys;
    p->ref_groups = groups;
    p->ref_slots = n;
}

/* Remember a raw reason of a QT_BY_REASON group, once per folded spelling. */
static void group_add_raw(struct stats_priv *p, struct group_work *w, const char *raw,
                          size_t len)
{
    size_t i, cap;

    for (i = 0; i < w->g.nraws; i++)
        if (w->g.raw_lens[i] == len && qt_ascii_equal_folded(w->g.raws[i], raw, len))
            return;
    cap = w->raws_cap;
    w->g.raws = xgrow(w->g.raws, &w->raws_cap, w->g.nraws + 1, sizeof(*w->g.raws));
    w->g.raw_lens = xgrow(w->g.raw_lens, &cap, w->g.nraws + 1, sizeof(*w->g.raw_lens));
    w->g.raws[w->g.nraws] = qt_arena_strndup(&p->arena, raw, len);
    w->g.raw_lens[w->g.nraws++] = len;
}

/* The group (+ 1) of the reason `str` (`len` bytes); 0 for an empty one. */
static uint32_t reason_group(struct stats_priv *p, const char *str, size_t len)
{
    size_t klen;
    uint32_t g;

    if (len == 0)
        return 0;
    /* Fold first, then shorten: spellings the filter's "=" takes for one
     * land in one group. */
    qt_buf_reset(&p->scratch);
    qt_buf_append(&p->scratch, str, len);
    for (klen = 0; klen < len; klen++)
        p->scratch.data[klen] = (char)qt_ascii_fold((unsigned char)p->scratch.data[klen]);
    qt_buf_reset(&p->key);
    qt_reason_shorten(p->scratch.data, len, false, &p->key);
    qt_buf_reset(&p->scratch);
    qt_reason_shorten(str, len, false, &p->scratch);
    g = group_of(p, p->key.data, p->key.len, false, p->scratch.data, p->scratch.len) + 1;
    group_add_raw(p, &p->work[g - 1], str, len);
    return g;
}

/* The group (+ 1) of the string `ref` as a value of field `fd`, worked
 * out once per distinct string; 0 when it belongs to none (an empty
 * reason). */
static uint32_t group_of_ref(struct stats_priv *p, const struct qt_store *s,
                             const struct qt_field *fd, qt_str ref)
{
    const char *str = qt_store_str(s, ref), *key;
    size_t len = qt_strpool_len(&s->pool, ref), klen, mask, i;
    uint32_t g = 0;
    int cls;

    if ((p->ref_count + 1) * 2 > p->ref_slots)
        ref_table_grow(p);
    mask = p->ref_slots - 1;
    /* Reference 0 ("absent") is stored as UINT32_MAX: 0 marks empty slots. */
    for (i = ref_hash(ref ? ref : UINT32_MAX) & mask; p->ref_keys[i]; i = (i + 1) & mask)
        if (p->ref_keys[i] == (ref ? ref : UINT32_MAX))
            return p->ref_groups[i];
    if (!str)
        str = "";
    switch (fd->source) {
    case QT_SRC_SENDER_DOMAIN:
    case QT_SRC_RCPT_DOMAIN:
        key = qt_address_domain(str, len, &klen);
        g = group_of(p, key, klen, false, key, klen) + 1;
        break;
    case QT_SRC_RCPT_REASON:
        g = reason_group(p, str, len);
        break;
    case QT_SRC_RCPT_CLASS:
        cls = qt_reason_cache_class(&p->reasons, s, ref);
        if (cls >= 0) {
            key = qt_reason_class_name((size_t)cls);
            g = group_of(p, key, strlen(key), false, key, strlen(key)) + 1;
        }
        break;
    default:
        g = group_of(p, str, len, false, str, len) + 1;
        break;
    }
    p->ref_keys[i] = ref ? ref : UINT32_MAX;
    p->ref_groups[i] = g;
    p->ref_count++;
    return g;
}

static void count_in(struct stats_priv *p, uint32_t g, uint32_t msgno, const struct qt_msg *m)
{
    struct group_work *w = &p->work[g];

    if (w->stamp == msgno + 1)
        return;                 /* this message is counted here already */
    w->stamp = msgno + 1;
    w->g.count++;
    w->g.size += m->msg_size;
    for (int k = 0; k < QT_STATS_NWINDOWS; k++)
        w->g.arrived[k] += p->in_window[k];
}

/* Count message number `i` in its groups by field `fd`; false when it is
 * in none. */
static bool group_message(struct stats_priv *p, const struct qt_store *s,
                          const struct qt_field *fd, uint32_t i)
{
    const struct qt_msg *m = &s->msgs[i];
    uint32_t r, g;
    qt_str key = 0;
    bool any = false;

    switch (fd->source) {
    case QT_SRC_STR:
        if ((fd->flags & QT_FIELD_NULL_SENDER) && (m->flags & QT_MSG_NULL_SENDER)) {
            g = group_of(p, "", 0, true, "", 0);
            count_in(p, g, i, m);
            return true;
        }
        key = qt_field_str(fd, m);
        break;
    case QT_SRC_SENDER_DOMAIN:
        key = m->sender;
        break;
    case QT_SRC_RCPT_DOMAIN:
    case QT_SRC_RCPT_REASON:
    case QT_SRC_RCPT_CLASS:
        for (r = 0; r < m->nrcpts; r++) {
            const struct qt_rcpt *rc = &qt_store_rcpts(s, m)[r];
            bool domain = fd->source == QT_SRC_RCPT_DOMAIN;

            if (domain ? rc->state != QT_RCPT_PENDING : !rc->reason)
                continue;
            if (domain) {
                /* Addresses are nearly all distinct, their domains few:
                 * remembering each address would only thrash the cache. */
                size_t dlen;
                const char *d = qt_address_domain(qt_store_str(s, rc->address),
                                                  qt_strpool_len(&s->pool, rc->address), &dlen);

                g = group_of(p, d, dlen, false, d, dlen) + 1;
            } else if (rc->reason_tokens && fd->source == QT_SRC_RCPT_REASON) {
                /* A templated reason's text is its own: built, not
                 * remembered. */
                size_t len;
                const char *text = qt_store_reason(s, rc, &p->reason_text, &len);

                g = reason_group(p, text, len);
            } else {
                g = group_of_ref(p, s, fd, rc->reason);
            }
            if (g) {
                count_in(p, g - 1, i, m);
                any = true;
            }
        }
        return any;
    default:    /* numbers and the like are no keys */
        return false;
    }
    /* One key per message. */
    count_in(p, group_of_ref(p, s, fd, key) - 1, i, m);
    return true;
}

static int compare_groups(const void *pa, const void *pb)
{
    const struct qt_stats_group *a = pa, *b = pb;
    size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int r;

    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    if (a->size != b->size)
        return a->size > b->size ? -1 : 1;
    if (a->null_sender != b->null_sender)
        return a->null_sender ? -1 : 1;
    if ((r = memcmp(a->key, b->key, n)) != 0)
        return r;
    return a->key_len < b->key_len ? -1 : a->key_len > b->key_len;
}

static int compare_rates(const void *pa, const void *pb)
{
    const struct qt_stats_group *a = pa, *b = pb;
    int k;

    for (k = 0; k < QT_STATS_NWINDOWS; k++)
        if (a->arrived[k] != b->arrived[k])
            return a->arrived[k] > b->arrived[k] ? -1 : 1;
    return compare_groups(pa, pb);
}

void qt_stats_sort(struct qt_stats *st, enum qt_stats_sort sort)
{
    st->sort = sort;
    if (st->n)
        qsort(st->groups, st->n, sizeof(*st->groups),
              sort == QT_STATS_SORT_RATE ? compare_rates : compare_groups);
}

bool qt_stats_group_catchall(const struct qt_stats_group *g)
{
    static const char *const words[] = {"unknown", "(unknown)", "(none)"};
    size_t i;

    if (g->null_sender)
        return false;
    if (g->key_len == 0)
        return true;
    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (g->key_len == strlen(words[i]) && qt_ascii_equal_folded(g->key, words[i], g->key_len))
            return true;
    return false;
}

void qt_stats_begin(struct qt_stats *st, const struct qt_store *s, struct qt_filter *f,
                    enum qt_stats_by by, int64_t now)
{
    enum qt_stats_sort sort = st->sort;
    struct stats_priv *p;

    qt_stats_free(st);
    p = xcalloc(1, sizeof(*p));
    st->priv = p;
    st->by = by;
    st->sort = sort;
    st->now = now;
    st->total = s->n;
    p->fd = qt_field_of_group(by);
    p->filter = f && !qt_filter_matches_all(f) ? f : NULL;
    p->now = now;
    if (p->filter)
        qt_filter_prepare(p->filter, s, NULL);
}

static void finish(struct qt_stats *st)
{
    struct stats_priv *p = st->priv;
    size_t i;

    st->n = p->nwork;
    st->groups = xcalloc(st->n ? st->n : 1, sizeof(*st->groups));
    for (i = 0; i < st->n; i++)
        st->groups[i] = p->work[i].g;
    st->complete = true;
    qt_stats_sort(st, st->sort);
    /* The lookup tables served their purpose; the strings stay. */
    free(p->by_key);
    free(p->ref_keys);
    free(p->ref_groups);
    p->by_key = p->ref_keys = p->ref_groups = NULL;
    p->key_slots = p->ref_slots = p->ref_count = 0;
    qt_reason_cache_free(&p->reasons);
    qt_buf_free(&p->scratch);
    qt_buf_free(&p->key);
    qt_buf_free(&p->reason_text);
}

bool qt_stats_step(struct qt_stats *st, const struct qt_store *s, size_t budget)
{
    struct stats_priv *p = st->priv;
    size_t i, end;
    int k;

    if (st->complete)
        return true;
    end = st->total - st->counted < budget ? st->total : st->counted + budget;
    for (i = st->counted; i < end && i < s->n; i++) {
        const struct qt_msg *m = &s->msgs[i];

        if (p->filter && !qt_filter_match(p->filter, s, m, p->now))
            continue;
        st->messages++;
        st->size += m->msg_size;
        for (k = 0; k < QT_STATS_NWINDOWS; k++) {
            p->in_window[k] = qt_stats_arrived(m->arrival, p->now, qt_stats_windows[k]);
            st->arrived[k] += p->in_window[k];
        }
        if (!p->fd || !group_message(p, s, p->fd, (uint32_t)i))
            st->ungrouped++;
    }
    st->counted = end;
    if (st->counted < st->total)
        return false;
    finish(st);
    return true;
}

void qt_stats_compute(struct qt_stats *st, const struct qt_store *s, struct qt_filter *f,
                      enum qt_stats_by by, int64_t now)
{
    qt_stats_begin(st, s, f, by, now);
    qt_stats_step(st, s, SIZE_MAX);
}

bool qt_stats_filter_expr(const struct qt_stats *st, const struct qt_stats_group *g,
                          struct qt_buf *out)
{
    const struct qt_field *fd = qt_field_of_group(st->by);
    size_t i;

    if (memchr(g->key, 0, g->key_len))
        return false;
    for (i = 0; i < g->nraws; i++)
        if (memchr(g->raws[i], 0, g->raw_lens[i]))
            return false;
    if (g->null_sender) {
        qt_buf_printf(out, "sender=<>");
        return true;
    }
    if (fd->source == QT_SRC_RCPT_REASON) {
        if (g->nraws > 1)
            qt_buf_putc(out, '(');
        for (i = 0; i < g->nraws; i++) {
            qt_buf_printf(out, "%sreason=", i ? " or " : "");
            qt_filter_quote(g->raws[i], g->raw_lens[i], out);
        }
        if (g->nraws > 1)
            qt_buf_putc(out, ')');
        return true;
    }
    qt_buf_printf(out, "%s=", fd->name);
    qt_filter_quote(g->key, g->key_len, out);
    /* The null sender shows as MAILER-DAEMON, and sender= compares what
     * is shown: a real sender spelled so must leave it out. */
    if ((fd->flags & QT_FIELD_NULL_SENDER) && g->key_len == 13 &&
        qt_ascii_equal_folded(g->key, "MAILER-DAEMON", 13))
        qt_buf_printf(out, " and not sender=<>");
    return true;
}
