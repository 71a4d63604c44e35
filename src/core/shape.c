/* qshape's table (see shape.h): the same counting, rounding, ordering and
 * layout as Postfix's qshape script, so that its output can be compared
 * byte for byte.  Where the script works on raw queue file records, this
 * works on the store's addresses, which are the same but for control
 * characters (shown as '?'). */
#include "qtriage/shape.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qtriage/arena.h"
#include "qtriage/text.h"

void qt_shape_options_default(struct qt_shape_options *o)
{
    memset(o, 0, sizeof(*o));
    o->tick = 5;
    o->buckets = 10;
    o->min_subdomains = 5;
}

int qt_shape_bucket(int64_t age, const struct qt_shape_options *o)
{
    /* As qshape: minutes as a double, then log2 through the same libm. */
    double m = (double)age / (60 * o->tick);
    int b;

    if (m < 1)
        return 1;
    if (o->linear)
        b = m + 1 >= o->buckets ? o->buckets : (int)(m + 1);
    else
        b = 2 + (int)(log(m) / log(2));
    return b < o->buckets ? b : o->buckets;
}

struct shape_entry {
    char *key;
    size_t len;
    uint32_t hash;
    uint64_t *counts;
    size_t sub;
};

struct shape_priv {
    struct qt_arena arena;
    struct shape_entry *e;
    size_t n, cap;
    uint32_t *slots;            /* entry + 1 */
    size_t nslots;
    /* Counting in steps: what begin was given, the address buffer. */
    struct qt_filter *filter;
    int64_t now;
    char *buf;
    size_t bufcap;
};

void qt_shape_init(struct qt_shape *sh)
{
    memset(sh, 0, sizeof(*sh));
}

void qt_shape_free(struct qt_shape *sh)
{
    struct shape_priv *p = sh->priv;

    if (p) {
        free(p->e);
        free(p->slots);
        free(p->buf);
        qt_arena_free(&p->arena);
        free(p);
    }
    free(sh->rows);
    memset(sh, 0, sizeof(*sh));
}

static void slots_grow(struct shape_priv *p)
{
    size_t n = p->nslots ? p->nslots * 2 : 256, i, j;

    free(p->slots);
    p->slots = xcalloc(n, sizeof(*p->slots));
    p->nslots = n;
    for (i = 0; i < p->n; i++) {
        for (j = p->e[i].hash & (n - 1); p->slots[j]; j = (j + 1) & (n - 1))
            ;
        p->slots[j] = (uint32_t)(i + 1);
    }
}

/* The entry for `key`, made when new. */
static struct shape_entry *entry(struct shape_priv *p, int buckets, const char *key, size_t len)
{
    uint32_t h = qt_hash_bytes(key, len);
    size_t i, mask;
    struct shape_entry *e;

    if ((p->n + 1) * 2 > p->nslots)
        slots_grow(p);
    mask = p->nslots - 1;
    for (i = h & mask; p->slots[i]; i = (i + 1) & mask) {
        e = &p->e[p->slots[i] - 1];
        if (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0)
            return e;
    }
    p->e = xgrow(p->e, &p->cap, p->n + 1, sizeof(*p->e));
    e = &p->e[p->n];
    e->key = qt_arena_strndup(&p->arena, key, len);
    e->len = len;
    e->hash = h;
    e->counts = qt_arena_alloc(&p->arena, (size_t)(buckets + 1) * sizeof(*e->counts));
    memset(e->counts, 0, (size_t)(buckets + 1) * sizeof(*e->counts));
    e->sub = 0;
    p->slots[i] = (uint32_t)++p->n;
    return e;
}

/* qshape's domain of an address: lowercased, after the last '@', ".."
 * made ".", one leading and one trailing dot taken off. */
static size_t shape_domain(const char *addr, size_t len, char *out)
{
    const char *at = memrchr(addr, '@', len);
    size_t n = 0, i, start = 0, end;

    if (at) {
        len -= (size_t)(at + 1 - addr);
        addr = at + 1;
    }
    for (i = 0; i < len; i++) {
        char c = addr[i];

        /* s/\.\././g: each pair of dots, scanning left to right, is one dot. */
        if (c == '.' && i + 1 < len && addr[i + 1] == '.')
            i++;
        out[n++] = (char)qt_ascii_fold((unsigned char)c);
    }
    if (n == 0)
        return 0;
    /* s/\.?(.+?)\.?$/$1/ */
    if (out[0] == '.' && n >= 2)
        start = 1;
    end = n;
    if (out[n - 1] == '.' && n - 1 - start >= 1)
        end = n - 1;
    memmove(out, out + start, end - start);
    return end - start;
}

/* s/^(?:\.)?[^.]+\.(.*\.)/.$1/: the parent of a domain, in place; false
 * when it has none (a TLD stays out). */
static bool shape_parent(char *d, size_t *len)
{
    size_t i = d[0] == '.' ? 1 : 0, first;
    char *rest;

    if (i >= *len || d[i] == '.')
        return false;
    rest = memchr(d + i, '.', *len - i);
    if (!rest)
        return false;
    first = (size_t)(rest - d) + 1;
    if (!memchr(d + first, '.', *len - first))
        return false;
    d[0] = '.';
    memmove(d + 1, d + first, *len - first);
    *len = *len - first + 1;
    return true;
}

static void count_address(struct shape_priv *p, const struct qt_shape_options *o,
                          const char *addr, size_t len, int bucket, char *buf)
{
    struct shape_entry *e;
    size_t dlen;
    bool is_new = false;

    p->e[0].counts[0]++;        /* TOTAL counts every address */
    p->e[0].counts[bucket]++;
    if (len == 0) {
        memcpy(buf, "MAILER-DAEMON", 13);
        dlen = 13;
    } else {
        dlen = shape_domain(addr, len, buf);
    }
    do {
        bool old;

        e = entry(p, o->buckets, buf, dlen);
        old = ++e->counts[0] > 1;
        e->counts[bucket]++;
        if (is_new)
            e->sub++;
        is_new = !old;
    } while (o->parents && shape_parent(buf, &dlen));
}

static int compare_rows(const void *pa, const void *pb)
{
    const struct qt_shape_row *a = pa, *b = pb;
    size_t n = a->domain_len < b->domain_len ? a->domain_len : b->domain_len;
    int r;

    if (a->counts[0] != b->counts[0])
        return a->counts[0] > b->counts[0] ? -1 : 1;
    if (a->domain_len != b->domain_len)
        return a->domain_len < b->domain_len ? -1 : 1;
    /* qshape leaves the rest to Perl's hash order; this is stable. */
    r = memcmp(a->domain, b->domain, n);
    return r;
}

static bool shape_queue(const struct qt_shape_options *o, enum qt_queue q)
{
    int i;

    for (i = 0; i < QT_Q_COUNT; i++)
        if (o->queues[i])
            return o->queues[q];
    return q == QT_Q_INCOMING || q == QT_Q_ACTIVE;
}

void qt_shape_begin(struct qt_shape *sh, const struct qt_store *s, struct qt_filter *f,
                    const struct qt_shape_options *o, int64_t now)
{
    struct shape_priv *p;

    qt_shape_free(sh);
    p = xcalloc(1, sizeof(*p));
    sh->priv = p;
    sh->opts = *o;
    sh->total = s->n;
    p->filter = f && !qt_filter_matches_all(f) ? f : NULL;
    p->now = now;
    if (p->filter)
        qt_filter_prepare(p->filter, s, NULL);
    entry(p, o->buckets, "TOTAL", 5);     /* entry 0 */
}

static void shape_finish(struct qt_shape *sh)
{
    struct shape_priv *p = sh->priv;
    const struct qt_shape_options *o = &sh->opts;
    size_t i;

    free(p->buf);
    p->buf = NULL;
    p->bufcap = 0;
    sh->rows = xcalloc(p->n, sizeof(*sh->rows));
    for (i = 0; i < p->n; i++) {
        struct shape_entry *e = &p->e[i];
        struct qt_shape_row *row = &sh->rows[sh->n];

        if (e->key[0] == '.' && e->sub < (size_t)o->min_subdomains)
            continue;
        row->domain = e->key;
        row->domain_len = e->len;
        row->counts = e->counts;
        row->total = i == 0;
        row->parent = e->key[0] == '.';
        row->subdomains = e->sub;
        sh->n++;
    }
    qsort(sh->rows, sh->n, sizeof(*sh->rows), compare_rows);
    sh->complete = true;
}

bool qt_shape_step(struct qt_shape *sh, const struct qt_store *s, size_t budget)
{
    struct shape_priv *p = sh->priv;
    const struct qt_shape_options *o = &sh->opts;
    size_t i, n, end;

    if (sh->complete)
        return true;
    end = sh->total - sh->counted < budget ? sh->total : sh->counted + budget;
    for (i = sh->counted; i < end && i < s->n; i++) {
        const struct qt_msg *m = &s->msgs[i];
        int b;
        uint32_t r;

        /* qshape reads only finished files of mode 0700 (not 0710, forced
         * to expire) that name a sender and at least one pending recipient. */
        if (!shape_queue(o, (enum qt_queue)m->queue) || m->npending == 0 ||
            (m->flags & (QT_MSG_UNREADABLE | QT_MSG_FORCED_EXPIRE)))
            continue;
        if (!(m->flags & QT_MSG_NULL_SENDER) && qt_strpool_len(&s->pool, m->sender) == 0)
            continue;
        if (p->filter && !qt_filter_match(p->filter, s, m, p->now))
            continue;
        b = qt_shape_bucket(p->now - (int64_t)m->arrival, o);
        if (o->sender) {
            n = qt_strpool_len(&s->pool, m->sender);
            p->buf = xgrow(p->buf, &p->bufcap, n + 16, 1);
            count_address(p, o, qt_store_str(s, m->sender),
                          (m->flags & QT_MSG_NULL_SENDER) ? 0 : n, b, p->buf);
            continue;
        }
        for (r = 0; r < m->nrcpts; r++) {
            const struct qt_rcpt *rc = &qt_store_rcpts(s, m)[r];
            const char *a = qt_store_str(s, rc->address);

            if (rc->state != QT_RCPT_PENDING)
                continue;
            n = qt_strpool_len(&s->pool, rc->address);
            /* The store shows the empty address as MAILER-DAEMON. */
            if (n == 13 && memcmp(a, "MAILER-DAEMON", 13) == 0)
                n = 0;
            p->buf = xgrow(p->buf, &p->bufcap, n + 16, 1);
            count_address(p, o, a, n, b, p->buf);
        }
    }
    sh->counted = end;
    if (sh->counted < sh->total)
        return false;
    shape_finish(sh);
    return true;
}

void qt_shape_compute(struct qt_shape *sh, const struct qt_store *s, struct qt_filter *f,
                      const struct qt_shape_options *o, int64_t now)
{
    qt_shape_begin(sh, s, f, o, now);
    qt_shape_step(sh, s, SIZE_MAX);
}

/* Perl prints numbers with %.15g. */
static void put_number(double v, struct qt_buf *out)
{
    qt_buf_printf(out, "%.15g", v);
}

void qt_shape_heading(const struct qt_shape *sh, int col, struct qt_buf *out)
{
    double t = 0;
    bool plus = false;
    int i;

    if (col == 0) {
        qt_buf_putc(out, 'T');
        return;
    }
    /* qshape's loop: after each column t grows by tick, then doubles
     * (linear: keeps adding tick); before the last column it becomes "t+". */
    for (i = 0; i < col; i++) {
        if (i + 1 < sh->opts.buckets)
            t += (t != 0 && !sh->opts.linear) ? t : sh->opts.tick;
        else
            plus = true;
    }
    put_number(t, out);
    if (plus)
        qt_buf_putc(out, '+');
}

/* A recipient domain is whatever the sender wrote: sanitised as any text. */
static void put_domain(const char *d, size_t len, size_t dw, struct qt_buf *out)
{
    if (len > dw) {
        if (d[0] == '.') {
            qt_buf_append(out, ".+", 2);
            qt_text_sanitize(out, d + len - dw + 2, dw - 2);
        } else {
            qt_buf_putc(out, '+');
            qt_text_sanitize(out, d + len - dw + 1, dw - 1);
        }
        return;
    }
    for (; len < dw; dw--)
        qt_buf_putc(out, ' ');
    qt_text_sanitize(out, d, len);
}

static void put_cell(const char *text, size_t len, int width, struct qt_buf *out)
{
    for (; (int)len < width; width--)
        qt_buf_putc(out, ' ');
    qt_buf_append(out, text, len);
}

void qt_shape_format(const struct qt_shape *sh, int width, size_t max_rows, struct qt_buf *out)
{
    int nb = sh->opts.buckets, i;
    int *widths = xcalloc((size_t)nb + 1, sizeof(*widths));
    struct qt_buf *heads = xcalloc((size_t)nb + 1, sizeof(*heads));
    const struct qt_shape_row *total = NULL;
    long dw = width < 80 ? 80 : width;
    size_t r;
    char num[32];

    for (r = 0; r < sh->n; r++)
        if (sh->rows[r].total)
            total = &sh->rows[r];
    for (i = 0; i <= nb; i++) {
        size_t l = (size_t)snprintf(num, sizeof(num), "%llu",
                                    total ? (unsigned long long)total->counts[i] : 0ULL);

        qt_shape_heading(sh, i, &heads[i]);
        if (heads[i].len >= l)
            l = heads[i].len;
        widths[i] = l > 2 ? (int)l + 1 : 3;
        dw -= widths[i];
    }
    if (dw < 18)
        dw = 18;
    put_domain("", 0, (size_t)dw, out);
    for (i = 0; i <= nb; i++)
        put_cell(heads[i].data, heads[i].len, widths[i], out);
    qt_buf_putc(out, '\n');
    for (r = 0; r < sh->n && (max_rows == 0 || r < max_rows); r++) {
        const struct qt_shape_row *row = &sh->rows[r];

        put_domain(row->domain, row->domain_len, (size_t)dw, out);
        for (i = 0; i <= nb; i++) {
            int l = snprintf(num, sizeof(num), "%llu", (unsigned long long)row->counts[i]);

            put_cell(num, (size_t)l, widths[i], out);
        }
        qt_buf_putc(out, '\n');
    }
    for (i = 0; i <= nb; i++)
        qt_buf_free(&heads[i]);
    free(heads);
    free(widths);
}
