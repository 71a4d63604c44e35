#include "qtriage/view.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "qtriage/spool.h"
#include "qtriage/text.h"

const struct qt_col_info qt_col_info[QT_COL_COUNT] = {
    [QT_COL_ID] = {"id", "QUEUE ID", 12, 0, 8, false},
    [QT_COL_QUEUE] = {"queue", "QUEUE", 8, 0, 8, false},
    [QT_COL_AGE] = {"age", "AGE", 5, 0, 5, true},
    [QT_COL_RETRY] = {"retry", "RETRY", 5, 0, 5, true},
    [QT_COL_SIZE] = {"size", "SIZE", 5, 0, 5, true},
    [QT_COL_SENDER] = {"sender", "SENDER", 0, 3, 10, false},
    [QT_COL_RCPT] = {"rcpt", "RECIPIENT", 0, 3, 10, false},
    [QT_COL_SUBJECT] = {"subject", "SUBJECT", 0, 4, 10, false},
    [QT_COL_REASON] = {"reason", "DELAY REASON", 0, 3, 10, false},
    [QT_COL_CLIENT] = {"client", "CLIENT", 15, 0, 7, false},
    [QT_COL_SASL] = {"sasl", "SASL USER", 0, 2, 8, false},
    [QT_COL_HELO] = {"helo", "HELO", 0, 2, 8, false},
};

bool qt_col_from_name(const char *name, enum qt_col *col)
{
    int c;

    for (c = 0; c < QT_COL_COUNT; c++)
        if (strcasecmp(name, qt_col_info[c].name) == 0) {
            *col = (enum qt_col)c;
            return true;
        }
    /* The filter language's names for the same things. */
    if (strcasecmp(name, "recipient") == 0 || strcasecmp(name, "to") == 0)
        return *col = QT_COL_RCPT, true;
    if (strcasecmp(name, "sasl_username") == 0)
        return *col = QT_COL_SASL, true;
    if (strcasecmp(name, "from") == 0)
        return *col = QT_COL_SENDER, true;
    return false;
}

size_t qt_cols_parse(const char *spec, enum qt_col *cols, struct qt_error *err)
{
    size_t n = 0;
    const char *p = spec;

    while (*p) {
        char name[32];
        size_t len = strcspn(p, ", \t");
        enum qt_col c;
        size_t i;

        if (len == 0) {
            p++;
            continue;
        }
        if (len >= sizeof(name)) {
            qt_error_set(err, "unknown column \"%.*s\"", 31, p);
            return 0;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        p += len;
        if (!qt_col_from_name(name, &c)) {
            qt_error_set(err, "unknown column \"%s\" (columns: id queue age retry size sender "
                         "rcpt subject reason client sasl helo)", name);
            return 0;
        }
        for (i = 0; i < n; i++)
            if (cols[i] == c)
                break;
        if (i < n) {
            qt_error_set(err, "column \"%s\" is listed twice", name);
            return 0;
        }
        cols[n++] = c;
    }
    if (n == 0)
        qt_error_set(err, "no columns given");
    return n;
}

void qt_cols_format(const enum qt_col *cols, size_t n, struct qt_buf *out)
{
    size_t i;

    for (i = 0; i < n; i++)
        qt_buf_printf(out, "%s%s", i ? "," : "", qt_col_info[cols[i]].name);
}

void qt_view_init(struct qt_view *v)
{
    memset(v, 0, sizeof(*v));
    v->sort = QT_COL_AGE;
}

/* ---- Sorting and filtering, in slices ----
 *
 * The whole store is put in sort order once (merge sort on precomputed
 * keys), and kept while the store and the sort stay the same; a filter is
 * then one pass over that order, whose matches come out sorted.  Typing a
 * query into the filter bar therefore costs one filter pass a keystroke. */

/* A message's sort key: numbers as they are; strings as their first
 * sixteen bytes with ASCII case folded (big-endian, so integer order is
 * byte order), the rest compared only when those are equal.  The keys make
 * most comparisons two integer compares with no look into the store, which
 * at a million messages is a cache miss each. */
struct sort_item {
    uint64_t key, key2;
    uint64_t id_key;            /* the queue ID's first eight bytes (the tie-break) */
    uint32_t msg;
    qt_str str;                 /* string columns: the value, 0 when absent (last) */
};

enum build_phase { PHASE_KEYS, PHASE_RUNS, PHASE_MERGE, PHASE_FILTER, PHASE_DONE };

#define SORT_RUN 256    /* sorted by qsort_r before merging */

struct qt_view_build {
    /* The store in sort order, valid for (serial, version, sort, reverse). */
    uint32_t *order;
    size_t norder;
    uint64_t order_serial, order_version;
    enum qt_col order_sort;
    bool order_reverse, order_valid;

    /* The rebuild under way. */
    bool active;
    enum build_phase phase;
    const struct qt_store *s;
    uint64_t serial, version;
    struct qt_filter *f;
    int64_t now;
    enum qt_col sort;
    bool reverse;
    size_t next;                /* keys/runs/filter: next position */
    struct sort_item *a, *b;    /* merge: from a into b */
    size_t width, lo, mid, hi, i, j, k;
    uint8_t *marks;             /* filter: whether message i matched */
    size_t nmarks;
    uint32_t *rows;             /* the new rows */
    size_t n, cap;
    size_t done_units, total_units;
};

static inline unsigned char fold(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* Bytes [8 * part, 8 * part + 8) of string `p` (up to its first NUL) as a
 * big-endian number, zero-padded. */
static uint64_t prefix_key(const char *p, int part, bool fold_case)
{
    uint64_t k = 0;
    int i;

    for (i = 0; i < 8 * (part + 1); i++) {
        unsigned char c = p && *p ? (unsigned char)*p++ : 0;

        if (!c)
            p = NULL;
        if (i >= 8 * part)
            k = k << 8 | (fold_case ? fold(c) : c);
    }
    return k;
}

/* strcasecmp with ASCII folding only, as the filter's substrings: the order
 * does not depend on the locale. */
static int fold_cmp(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;

    while (*x && fold(*x) == fold(*y))
        x++, y++;
    return (int)fold(*x) - (int)fold(*y);
}

static qt_str first_rcpt(const struct qt_msg *m)
{
    uint32_t i;

    for (i = 0; i < m->nrcpts; i++)
        if (m->rcpts[i].state == QT_RCPT_PENDING)
            return m->rcpts[i].address;
    return m->nrcpts ? m->rcpts[0].address : 0;
}

/* The string a column sorts by, or 0 for the numeric columns. */
static qt_str sort_str(const struct qt_msg *m, enum qt_col col)
{
    switch (col) {
    case QT_COL_SENDER:
        return m->sender;
    case QT_COL_RCPT:
        return first_rcpt(m);
    case QT_COL_SUBJECT:
        return m->subject;
    case QT_COL_REASON:
        return m->reason;
    case QT_COL_CLIENT:
        return m->attr_fields[QT_ATTR_CLIENT_ADDRESS];
    case QT_COL_SASL:
        return m->attr_fields[QT_ATTR_SASL_USERNAME];
    case QT_COL_HELO:
        return m->attr_fields[QT_ATTR_HELO_NAME];
    default:
        return 0;
    }
}

static void make_item(const struct qt_store *s, enum qt_col col, uint32_t msg,
                      struct sort_item *it)
{
    const struct qt_msg *m = &s->msgs[msg];
    const char *id = qt_store_str(s, m->id);

    it->msg = msg;
    it->str = 0;
    it->key2 = 0;
    it->id_key = prefix_key(id, 0, false);
    switch (col) {
    case QT_COL_ID:
        it->key = 0;    /* the tie-break decides */
        break;
    case QT_COL_QUEUE:
        it->key = m->queue;
        break;
    case QT_COL_AGE:    /* oldest first */
        it->key = m->arrival;
        break;
    case QT_COL_RETRY:
        it->key = m->mtime;
        break;
    case QT_COL_SIZE:
        it->key = m->msg_size;
        break;
    default: {
        it->str = sort_str(m, col);
        it->key = prefix_key(qt_store_str(s, it->str), 0, true);
        it->key2 = prefix_key(qt_store_str(s, it->str), 1, true);
        break;
    }
    }
}

/* A total order, so equal keys do not shuffle between rebuilds: the queue
 * ID breaks ties.  Strings sort with ASCII case folded, absent ones last. */
static int compare_items(const struct qt_view_build *b, const struct sort_item *x,
                         const struct sort_item *y)
{
    int r = 0;

    if ((x->str == 0) != (y->str == 0))
        r = x->str ? -1 : 1;
    else if (x->key != y->key)
        r = x->key < y->key ? -1 : 1;
    else if (x->key2 != y->key2)
        r = x->key2 < y->key2 ? -1 : 1;
    else if (x->str != y->str)
        r = fold_cmp(qt_store_str(b->s, x->str), qt_store_str(b->s, y->str));
    if (r == 0) {
        if (x->id_key != y->id_key)
            r = x->id_key < y->id_key ? -1 : 1;
        else
            r = strcmp(qt_store_str(b->s, b->s->msgs[x->msg].id),
                       qt_store_str(b->s, b->s->msgs[y->msg].id));
    }
    return b->reverse ? -r : r;
}

static void free_sort(struct qt_view_build *b)
{
    free(b->a);
    free(b->b);
    b->a = b->b = NULL;
}

static bool order_fits(const struct qt_view_build *b, const struct qt_store *s,
                       enum qt_col sort, bool reverse)
{
    return b->order_valid && b->order_serial == s->pool.serial &&
           b->order_version == s->version && b->norder == s->n && b->order_sort == sort &&
           b->order_reverse == reverse;
}

/* Merge passes over n items: about log2(n / SORT_RUN). */
static size_t merge_passes(size_t n)
{
    size_t w, passes = 0;

    for (w = SORT_RUN; w < n; w *= 2)
        passes++;
    return passes;
}

static void start_over(struct qt_view_build *b, const struct qt_store *s)
{
    bool sorted = order_fits(b, s, b->sort, b->reverse);

    free_sort(b);
    b->s = s;
    b->serial = s->pool.serial;
    b->version = s->version;
    b->next = 0;
    b->n = 0;
    b->done_units = 0;
    b->total_units = s->n;
    if (sorted) {
        b->phase = PHASE_FILTER;
        return;
    }
    b->order_valid = false;
    b->phase = PHASE_KEYS;
    b->total_units += s->n * (2 + merge_passes(s->n));
    if (s->n) {
        b->a = xmalloc(s->n * sizeof(*b->a));
        b->b = xmalloc(s->n * sizeof(*b->b));
    }
}

void qt_view_rebuild_begin(struct qt_view *v, const struct qt_store *s, struct qt_filter *f,
                           int64_t now)
{
    struct qt_view_build *b = v->build;

    if (!b)
        b = v->build = xcalloc(1, sizeof(*b));
    /* Only the query changed while the store was being sorted (keys typed
     * into the filter bar during a long sort): the sort goes on. */
    bool resume = b->a && b->phase < PHASE_FILTER && b->s == s && b->serial == s->pool.serial &&
                  b->version == s->version && b->sort == v->sort && b->reverse == v->reverse;

    b->active = true;
    b->f = f && !qt_filter_matches_all(f) ? f : NULL;
    b->now = now;
    if (resume) {
        b->n = 0;
        return;
    }
    b->sort = v->sort;
    b->reverse = v->reverse;
    start_over(b, s);
}

/* The sort done so far stays for a begin that can use it. */
void qt_view_rebuild_cancel(struct qt_view *v)
{
    if (!v->build)
        return;
    v->build->active = false;
    v->build->f = NULL;
}

bool qt_view_rebuilding(const struct qt_view *v)
{
    return v->build && v->build->active;
}

int qt_view_rebuild_percent(const struct qt_view *v)
{
    const struct qt_view_build *b = v->build;
    size_t pct;

    if (!b || !b->active)
        return 100;
    if (!b->total_units)
        return 0;
    pct = b->done_units / (b->total_units / 100 + 1);
    return pct > 99 ? 99 : (int)pct;
}

static void step_keys(struct qt_view_build *b, size_t budget)
{
    size_t n = b->s->n, end = b->next + (budget < n - b->next ? budget : n - b->next);
    size_t i;

    for (i = b->next; i < end; i++)
        make_item(b->s, b->sort, (uint32_t)i, &b->a[i]);
    b->done_units += end - b->next;
    b->next = end;
    if (end == n) {
        b->phase = PHASE_RUNS;
        b->next = 0;
    }
}

static int compare_items_r(const void *x, const void *y, void *b)
{
    return compare_items(b, x, y);
}

static void insertion_sort(const struct qt_view_build *b, struct sort_item *it, size_t n)
{
    qsort_r(it, n, sizeof(*it), compare_items_r, (void *)b);
}

static void start_pair(struct qt_view_build *b)
{
    size_t n = b->s->n;

    b->mid = b->lo + b->width < n ? b->lo + b->width : n;
    b->hi = b->mid + b->width < n ? b->mid + b->width : n;
    b->i = b->lo;
    b->j = b->mid;
    b->k = b->lo;
}

static void start_merge(struct qt_view_build *b)
{
    b->phase = PHASE_MERGE;
    b->width = SORT_RUN;
    b->lo = 0;
    start_pair(b);
}

static void step_runs(struct qt_view_build *b, size_t budget)
{
    size_t n = b->s->n, done = 0;

    while (b->next < n && done < budget) {
        size_t len = n - b->next < SORT_RUN ? n - b->next : SORT_RUN;

        insertion_sort(b, b->a + b->next, len);
        b->next += len;
        done += len;
    }
    b->done_units += done;
    if (b->next == n)
        start_merge(b);
}

/* The sort is done: keep the order, drop the keys. */
static void finish_sort(struct qt_view_build *b)
{
    size_t i, n = b->s->n;

    if (!b->order || b->norder < n)
        b->order = xrealloc(b->order, (n ? n : 1) * sizeof(*b->order));
    for (i = 0; i < n; i++)
        b->order[i] = b->a[i].msg;
    b->norder = n;
    b->order_serial = b->s->pool.serial;
    b->order_version = b->s->version;
    b->order_sort = b->sort;
    b->order_reverse = b->reverse;
    b->order_valid = true;
    free_sort(b);
    b->phase = PHASE_FILTER;
    b->next = 0;
}

static void step_merge(struct qt_view_build *b, size_t budget)
{
    size_t n = b->s->n, done = 0;

    while (b->width < n && done < budget) {
        const struct sort_item *in = b->a;
        struct sort_item *out = b->b;
        size_t i = b->i, j = b->j, k = b->k, mid = b->mid, hi = b->hi;
        size_t stop = hi - k < budget - done ? hi : k + (budget - done);

        while (k < stop) {
            if (i < mid && (j >= hi || compare_items(b, &in[i], &in[j]) <= 0))
                out[k++] = in[i++];
            else
                out[k++] = in[j++];
        }
        done += k - b->k;
        b->i = i, b->j = j, b->k = k;
        if (k < hi)
            break;
        b->lo = hi;
        if (b->lo >= n) {   /* a pass is done */
            struct sort_item *t = b->a;

            b->a = b->b;
            b->b = t;
            b->width *= 2;
            b->lo = 0;
        }
        start_pair(b);
    }
    b->done_units += done;
    if (b->width >= n)
        finish_sort(b);
}

/* The filter runs over the store in its own order (at a million messages,
 * walking it in sort order instead costs a cache miss or three a message
 * and triples the time), marking matches; the rows are then the marked
 * messages in sort order. */
static void step_filter(struct qt_view_build *b, size_t budget)
{
    size_t n = b->s->n, end = b->next + (budget < n - b->next ? budget : n - b->next);
    size_t i;

    if (b->cap < n) {
        b->cap = n;
        b->rows = xrealloc(b->rows, b->cap * sizeof(*b->rows));
    }
    if (!b->f) {    /* everything: the order as it is */
        if (n)      /* an empty store has no order array yet */
            memcpy(b->rows, b->order, n * sizeof(*b->rows));
        b->n = n;
        b->done_units += n - b->next;
        b->phase = PHASE_DONE;
        return;
    }
    if (b->next == 0 && b->nmarks < n) {
        b->nmarks = n;
        b->marks = xrealloc(b->marks, n);
    }
    for (i = b->next; i < end; i++)
        b->marks[i] = qt_filter_match(b->f, b->s, &b->s->msgs[i], b->now);
    b->done_units += end - b->next;
    b->next = end;
    if (end < n)
        return;
    for (i = 0; i < n; i++)
        if (b->marks[b->order[i]])
            b->rows[b->n++] = b->order[i];
    b->phase = PHASE_DONE;
}

/* Hand the new rows to the view (swapping buffers, so neither is freed). */
static void finish_rebuild(struct qt_view *v, struct qt_view_build *b)
{
    uint32_t *rows = v->rows;
    size_t cap = v->cap;

    v->rows = b->rows;
    v->cap = b->cap;
    v->n = b->n;
    b->rows = rows;
    b->cap = cap;
    b->n = 0;
    b->active = false;
    b->f = NULL;
}

static void (*const phase_steps[PHASE_DONE])(struct qt_view_build *, size_t) = {
    [PHASE_KEYS] = step_keys,
    [PHASE_RUNS] = step_runs,
    [PHASE_MERGE] = step_merge,
    [PHASE_FILTER] = step_filter,
};

bool qt_view_rebuild_step(struct qt_view *v, const struct qt_store *s, size_t budget)
{
    struct qt_view_build *b = v->build;

    if (!b || !b->active)
        return true;
    if (b->s != s || b->serial != s->pool.serial || b->version != s->version)
        start_over(b, s);
    if (budget == 0)
        budget = 1;
    while (budget && b->phase != PHASE_DONE) {
        size_t before = b->done_units;

        phase_steps[b->phase](b, budget);
        budget -= b->done_units - before < budget ? b->done_units - before : budget;
    }
    if (b->phase != PHASE_DONE)
        return false;
    finish_rebuild(v, b);
    return true;
}

void qt_view_rebuild(struct qt_view *v, const struct qt_store *s, struct qt_filter *f,
                     int64_t now)
{
    qt_view_rebuild_begin(v, s, f, now);
    qt_view_rebuild_step(v, s, SIZE_MAX);
}

void qt_view_clip(struct qt_view *v, size_t n)
{
    size_t i, kept = 0;

    for (i = 0; i < v->n; i++)
        if (v->rows[i] < n)
            v->rows[kept++] = v->rows[i];
    v->n = kept;
}

void qt_view_free(struct qt_view *v)
{
    if (v->build) {
        free_sort(v->build);
        free(v->build->order);
        free(v->build->rows);
        free(v->build->marks);
        free(v->build);
    }
    free(v->rows);
    memset(v, 0, sizeof(*v));
}

long qt_view_row_of(const struct qt_view *v, uint32_t msg)
{
    size_t i;

    for (i = 0; i < v->n; i++)
        if (v->rows[i] == msg)
            return (long)i;
    return -1;
}

void qt_format_duration(int64_t secs, char *buf, size_t size)
{
    static const struct {
        char unit;
        int64_t secs;
    } units[] = {{'w', 604800}, {'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
    size_t i;

    if (secs < 0)
        secs = 0;
    for (i = 0; i < 4; i++)
        if (secs >= units[i].secs) {
            int64_t big = secs / units[i].secs;
            int64_t small = secs % units[i].secs / units[i + 1].secs;

            /* Two units only while they fit the list's 5 columns: "9h59m",
             * then "10h". */
            if (big >= 10 || small == 0)
                snprintf(buf, size, "%" PRId64 "%c", big, units[i].unit);
            else
                snprintf(buf, size, "%" PRId64 "%c%" PRId64 "%c", big, units[i].unit, small,
                         units[i + 1].unit);
            return;
        }
    snprintf(buf, size, "%" PRId64 "s", secs);
}

void qt_format_size(uint64_t bytes, char *buf, size_t size)
{
    static const char units[] = "KMGT";
    double v = (double)bytes;
    int u = -1;

    if (bytes < 1024) {
        snprintf(buf, size, "%" PRIu64, bytes);
        return;
    }
    while (v >= 1024 && u < 3) {
        v /= 1024;
        u++;
    }
    /* Round as printed, so 1023.9K shows as "1.0M" and 9.99K as "10K"
     * (never "1024K" or "10.0K", which do not fit 4 columns). */
    if (v >= 1023.5 && u < 3) {
        v /= 1024;
        u++;
    }
    if (v < 9.95)
        snprintf(buf, size, "%.1f%c", v, units[u]);
    else
        snprintf(buf, size, "%.0f%c", v, units[u]);
}

static void put_str(const struct qt_store *s, qt_str ref, struct qt_buf *out)
{
    if (ref)
        qt_text_sanitize(out, qt_store_str(s, ref), qt_strpool_len(&s->pool, ref));
}

/* Delay reasons start with what a narrow column can least afford: a fixed
 * prefix and the host ("connect to mx.example[192.0.2.1]:25: Connection
 * refused", "host mx.example[192.0.2.1] said: 450 4.2.0 Greylisted").  The
 * list shows the answer first and the host after it. */
static void put_piece(struct qt_buf *out, const char *p, size_t len, bool sanitize)
{
    if (sanitize)
        qt_text_sanitize(out, p, len);
    else
        qt_buf_append(out, p, len);
}

void qt_reason_split(const char *r, size_t len, struct qt_reason_parts *parts)
{
    static const char suspended[] = "delivery temporarily suspended: ";
    const char *sep;
    size_t skip;

    if (len > sizeof(suspended) - 1 && strncmp(r, suspended, sizeof(suspended) - 1) == 0) {
        r += sizeof(suspended) - 1;
        len -= sizeof(suspended) - 1;
    }
    parts->answer = r;
    parts->answer_len = len;
    parts->host = NULL;
    parts->host_len = 0;
    /* The separator is looked for after the prefix: in "host said: x" the
     * " said: " overlaps "host " and the host's length went negative. */
    if (len > 11 && strncmp(r, "connect to ", 11) == 0 &&
        (sep = memmem(r + 11, len - 11, ": ", 2))) {
        skip = 11;
    } else if (len > 5 && strncmp(r, "host ", 5) == 0 &&
               (sep = memmem(r + 5, len - 5, " said: ", 7))) {
        skip = 5;
    } else {
        return;
    }
    parts->host = r + skip;
    parts->host_len = (size_t)(sep - r) - skip;
    if (*sep == ' ')
        sep += 5;   /* the ": " of " said: " */
    parts->answer = sep + 2;
    parts->answer_len = len - (size_t)(sep + 2 - r);
}

void qt_reason_shorten(const char *r, size_t len, bool sanitize, struct qt_buf *out)
{
    struct qt_reason_parts parts;

    if (!r)
        return;
    qt_reason_split(r, len, &parts);
    put_piece(out, parts.answer, parts.answer_len, sanitize);
    if (!parts.host)
        return;
    qt_buf_append(out, " (", 2);
    put_piece(out, parts.host, parts.host_len, sanitize);
    qt_buf_putc(out, ')');
}

static void put_reason(const struct qt_store *s, qt_str ref, struct qt_buf *out)
{
    qt_reason_shorten(qt_store_str(s, ref), qt_strpool_len(&s->pool, ref), true, out);
}

void qt_view_cell(const struct qt_store *s, const struct qt_msg *m, enum qt_col col,
                  int64_t now, struct qt_buf *out)
{
    char tmp[64];

    switch (col) {
    case QT_COL_ID:
        put_str(s, m->id, out);
        if (m->queue == QT_Q_ACTIVE)
            qt_buf_putc(out, '*');
        else if (m->queue == QT_Q_HOLD)
            qt_buf_putc(out, '!');
        if (m->flags & QT_MSG_FORCED_EXPIRE)
            qt_buf_putc(out, '#');
        break;
    case QT_COL_QUEUE:
        qt_buf_printf(out, "%s", qt_queue_name((enum qt_queue)m->queue));
        if (m->flags & QT_MSG_UNREADABLE)
            qt_buf_printf(out, "?");
        break;
    case QT_COL_AGE:
        qt_format_duration(now - (int64_t)m->arrival, tmp, sizeof(tmp));
        qt_buf_printf(out, "%s", tmp);
        break;
    case QT_COL_RETRY:
        /* Only deferred mail waits for a retry; qmgr sets the file's mtime
         * to the time of the next attempt. */
        if (m->queue == QT_Q_DEFERRED && m->mtime) {    /* postqueue -j does not say */
            if ((int64_t)m->mtime <= now)
                qt_buf_printf(out, "due");
            else {
                qt_format_duration((int64_t)m->mtime - now, tmp, sizeof(tmp));
                qt_buf_printf(out, "%s", tmp);
            }
        }
        break;
    case QT_COL_SIZE:
        qt_format_size(m->msg_size, tmp, sizeof(tmp));
        qt_buf_printf(out, "%s", tmp);
        break;
    case QT_COL_SENDER:
        if (m->flags & QT_MSG_NULL_SENDER)
            qt_buf_printf(out, "MAILER-DAEMON");
        else
            put_str(s, m->sender, out);
        break;
    case QT_COL_RCPT:
        put_str(s, first_rcpt(m), out);
        if (m->npending > 1)
            qt_buf_printf(out, " +%" PRIu32, m->npending - 1);
        break;
    case QT_COL_SUBJECT:
        put_str(s, m->subject, out);
        break;
    case QT_COL_REASON:
        put_reason(s, m->reason, out);
        break;
    case QT_COL_CLIENT:
        put_str(s, m->attr_fields[QT_ATTR_CLIENT_ADDRESS], out);
        break;
    case QT_COL_SASL:
        put_str(s, m->attr_fields[QT_ATTR_SASL_USERNAME], out);
        break;
    case QT_COL_HELO:
        put_str(s, m->attr_fields[QT_ATTR_HELO_NAME], out);
        break;
    case QT_COL_COUNT:
        break;
    }
}
