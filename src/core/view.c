#include "qtriage/view.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "qtriage/text.h"

bool qt_col_from_name(const char *name, enum qt_col *col)
{
    const struct qt_field *f = qt_field_find(name, strlen(name), QT_ROLE_COLUMN);

    if (!f)
        return false;
    *col = (enum qt_col)qt_field_index(f);
    return true;
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
            struct qt_buf names = {0};

            qt_field_names(QT_ROLE_COLUMN, &names);
            qt_error_set(err, "unknown column \"%s\" (columns: %s)", name, names.data);
            qt_buf_free(&names);
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
/* Below these sizes a second filtering thread costs more than it saves. */
#define PARALLEL_MIN_STORE 50000
#define PARALLEL_MIN_SLICE 4096

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
    /* A second copy of the filter, with scratch of its own, that a second
     * thread evaluates on half of each slice; kept while the filter is the
     * same one (its cache of results per value goes on being useful). */
    struct qt_filter *helper;
    uint64_t helper_of;         /* qt_filter_serial of the filter it copies */
    uint32_t *rows;             /* the new rows */
    size_t n, cap;
    size_t done_units, total_units;
};

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
            k = k << 8 | (fold_case ? qt_ascii_fold(c) : c);
    }
    return k;
}

static void make_item(const struct qt_store *s, enum qt_col col, uint32_t msg,
                      struct sort_item *it)
{
    const struct qt_field *f = &qt_fields[col];
    const struct qt_msg *m = &s->msgs[msg];
    const char *id = qt_store_str(s, m->id);

    it->msg = msg;
    it->str = 0;
    it->key2 = 0;
    it->id_key = prefix_key(id, 0, false);
    switch (f->sort) {
    case QT_SORT_ID:
        it->key = 0;    /* the tie-break decides */
        break;
    case QT_SORT_U8:
        it->key = *((const uint8_t *)m + f->sort_offset);
        break;
    case QT_SORT_U32:
        it->key = *(const uint32_t *)(const void *)((const char *)m + f->sort_offset);
        break;
    case QT_SORT_STR:
    case QT_SORT_FIRST_RCPT:
        it->str = f->sort == QT_SORT_FIRST_RCPT
                      ? qt_msg_first_rcpt(s, m)
                      : *(const qt_str *)(const void *)((const char *)m + f->sort_offset);
        it->key = prefix_key(qt_store_str(s, it->str), 0, true);
        it->key2 = prefix_key(qt_store_str(s, it->str), 1, true);
        break;
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
        r = qt_ascii_casecmp(qt_store_str(b->s, x->str), qt_store_str(b->s, y->str));
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
    if (b->f && s->n >= PARALLEL_MIN_STORE &&
        (!b->helper || b->helper_of != qt_filter_serial(b->f))) {
        qt_filter_free(b->helper);
        b->helper = qt_filter_clone(b->f);
        b->helper_of = qt_filter_serial(b->f);
    }
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
 * messages in sort order.  Two threads take chunks of the range in turn
 * from a shared counter: fixed halves left one thread waiting for the
 * other whenever a regex met costlier text in one half (a bare regex at
 * 1M kept 1.3 of the 2 cores busy). */
#define FILTER_CHUNK 1024

struct filter_work {
    const struct qt_store *s;
    uint8_t *marks;
    size_t hi;
    int64_t now;
    size_t next;                /* the next chunk's first message (atomic) */
};

struct filter_part {
    struct filter_work *w;
    struct qt_filter *f;
};

static void *filter_part_run(void *arg)
{
    struct filter_part *p = arg;
    struct filter_work *w = p->w;
    size_t i, lo, hi;

    while ((lo = __atomic_fetch_add(&w->next, FILTER_CHUNK, __ATOMIC_RELAXED)) < w->hi) {
        hi = w->hi - lo < FILTER_CHUNK ? w->hi : lo + FILTER_CHUNK;
        for (i = lo; i < hi; i++)
            w->marks[i] = qt_filter_match(p->f, w->s, &w->s->msgs[i], w->now);
    }
    return NULL;
}

/* Mark messages [lo, hi): with the helper copy of the filter on a second
 * thread too when the range is worth it (the machine this runs on has two
 * cores or more; with one, the threads take turns). */
static void filter_range(struct qt_view_build *b, size_t lo, size_t hi)
{
    struct filter_work w = {b->s, b->marks, hi, b->now, lo};
    struct filter_part mine = {&w, b->f}, other = {&w, b->helper};
    pthread_t th;

    if (b->helper && b->helper_of == qt_filter_serial(b->f) && hi - lo >= PARALLEL_MIN_SLICE &&
        pthread_create(&th, NULL, filter_part_run, &other) == 0) {
        filter_part_run(&mine);
        pthread_join(th, NULL);
        qt_filter_absorb_runtime_error(b->f, b->helper);
        return;
    }
    filter_part_run(&mine);     /* all here */
}

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
    if (b->next == 0) {
        if (b->nmarks < n) {
            b->nmarks = n;
            b->marks = xrealloc(b->marks, n);
        }
        qt_filter_prepare(b->f, b->s,
                          b->helper && b->helper_of == qt_filter_serial(b->f) ? b->helper : NULL);
    }
    filter_range(b, b->next, end);
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
        qt_filter_free(v->build->helper);
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

void qt_view_cell(const struct qt_store *s, const struct qt_msg *m, enum qt_col col,
                  int64_t now, struct qt_buf *out)
{
    if ((unsigned)col < QT_COL_COUNT)
        qt_field_cell(&qt_fields[col], s, m, now, out);
}
