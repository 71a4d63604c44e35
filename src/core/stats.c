/* Top-N groups and delay-reason classes (see stats.h).  qshape's table is
 * in shape.c, the queue settings in queue_settings.c.
 *
 * Grouping a million messages works on interned strings: each distinct
 * string (a sender, a reason) is turned into its group once, and a table
 * keyed by its qt_str remembers the answer, so per message only a hash
 * probe remains. */
#include "qtriage/stats.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "qtriage/arena.h"
#include "qtriage/text.h"
#include "qtriage/view.h"

/* ---- delay-reason classes ---- */

/* The classes and the rules that sort reasons into them: the one place to
 * extend.  Rules are tried in order, case-insensitively, and the first that
 * matches decides, so specific texts come before broad ones ("SASL
 * authentication failed; server x said: 535 ..." is about authentication,
 * not about what the server said; "Greylisted, try again later" is
 * greylisting, "421 Too many connections, try again later" a rate limit).
 * The texts are Postfix's own (smtp_connect.c, smtp_proto.c, smtp_addr.c,
 * dns_lookup.c, smtp_sasl_glue.c, smtp_tls_policy.c) and the replies that
 * common servers and policy daemons send. */
enum {
    C_REFUSED, C_TIMEOUT, C_NOTFOUND, C_GREYLIST, C_RATE, C_FULL, C_UNKNOWN,
    C_AUTH, C_LOOP, C_TLS, C_POLICY, C_OTHER, C_COUNT,
};

static const struct {
    const char *name, *title;
} classes[C_COUNT] = {
    [C_REFUSED] = {"connection-refused", "connection refused"},
    [C_TIMEOUT] = {"timed-out", "timed out"},
    [C_NOTFOUND] = {"host-not-found", "host or domain not found"},
    [C_GREYLIST] = {"greylisted", "greylisted / try again later"},
    [C_RATE] = {"rate-limited", "rate limited"},
    [C_FULL] = {"mailbox-full", "mailbox full"},
    [C_UNKNOWN] = {"user-unknown", "user unknown"},
    [C_AUTH] = {"auth-failed", "authentication failed"},
    [C_LOOP] = {"mail-loop", "loops back to myself"},
    [C_TLS] = {"tls-failure", "TLS failure"},
    [C_POLICY] = {"policy-rejection", "policy rejection / blacklisted"},
    [C_OTHER] = {"other", "other"},
};

static const struct {
    int cls;
    const char *pattern;
} rules[] = {
    {C_AUTH, "SASL authentication failed|authentication (failed|failure|required)"
             "|\\b5\\.7\\.8\\b|\\b535[ -]"},
    {C_LOOP, "loops back to myself|mail forwarding loop|too many hops|\\b5\\.4\\.6\\b"},
    {C_TLS, "\\bTLS\\b|STARTTLS|\\bSSL\\b|certificate|handshake"},
    {C_TIMEOUT, "timed out|time-?out"},
    {C_REFUSED, "connection refused|no route to host|network is unreachable"
                "|host is unreachable|\\b4\\.4\\.1\\b"},
    {C_NOTFOUND, "host or domain name not found|name service error|host not found"
                 "|domain not found|no mx |no mail exchanger|NXDOMAIN"},
    {C_GREYLIST, "gr[ae]y-?list"},
    {C_RATE, "too many (connections|concurrent|messages|recipients|mails|errors)"
             "|rate.?limit|throttl|too fast|sending rate|\\b4\\.7\\.28\\b|^(host .* said: )?421[ -]"},
    {C_GREYLIST, "try again later|please try later|try again in|temporarily (deferred|rejected)"},
    {C_FULL, "mailbox (is )?full|over ?quota|quota (exceeded|exceed)|exceeded storage"
             "|insufficient (system )?storage|mailbox size limit|\\b[45]\\.2\\.2\\b"},
    {C_UNKNOWN, "user unknown|unknown user|no such (user|mailbox|recipient)"
                "|does not exist|unknown recipient|invalid recipient|recipient unknown"
                "|mailbox unavailable|mailbox not found|\\b5\\.1\\.1\\b"},
    {C_POLICY, "black-?list|block-?list|blocked|spamhaus|\\bRBL\\b|DNSBL|listed (at|in|on|by)"
               "|policy|spam|reject|denied|not (permitted|allowed)|refused"
               "|reputation|\\b[45]\\.7\\.[0-9]+\\b"},
};

static pcre2_code *compiled[QT_ARRAY_LEN(rules)];
static pthread_once_t compile_once = PTHREAD_ONCE_INIT;

static void compile_rules(void)
{
    size_t i;

    for (i = 0; i < QT_ARRAY_LEN(rules); i++) {
        PCRE2_SIZE erroff;
        int errcode;

        compiled[i] = pcre2_compile((PCRE2_SPTR)rules[i].pattern, PCRE2_ZERO_TERMINATED,
                                    PCRE2_CASELESS | PCRE2_NEVER_UTF, &errcode, &erroff, NULL);
        if (!compiled[i])
            qt_die("reason class rule %zu does not compile at %zu", i, (size_t)erroff);
        pcre2_jit_compile(compiled[i], PCRE2_JIT_COMPLETE);
    }
}

size_t qt_reason_class_count(void)
{
    return C_COUNT;
}

const char *qt_reason_class_name(size_t cls)
{
    return cls < C_COUNT ? classes[cls].name : "?";
}

const char *qt_reason_class_title(size_t cls)
{
    return cls < C_COUNT ? classes[cls].title : "?";
}

int qt_reason_class_from_name(const char *name, size_t len)
{
    int i;

    for (i = 0; i < C_COUNT; i++)
        if (strlen(classes[i].name) == len && strncasecmp(classes[i].name, name, len) == 0)
            return i;
    return -1;
}

size_t qt_reason_classify(const char *reason, size_t len)
{
    struct qt_reason_parts parts;
    pcre2_match_data *md;
    size_t i, cls = C_OTHER;

    pthread_once(&compile_once, compile_rules);
    /* Host names are strangers' words ("tls.example", "blocked-mx.example"):
     * where Postfix puts the host before the answer, only the answer counts. */
    qt_reason_split(reason, len, &parts);
    reason = parts.answer;
    len = parts.answer_len;
    /* Byte patterns (NEVER_UTF): any bytes match or not, none are an error. */
    md = pcre2_match_data_create(1, NULL);
    if (!md)
        qt_die("out of memory creating a pcre2 match block");
    for (i = 0; i < QT_ARRAY_LEN(rules); i++)
        if (pcre2_match(compiled[i], (PCRE2_SPTR)reason, len, 0, 0, md, NULL) >= 0) {
            cls = (size_t)rules[i].cls;
            break;
        }
    pcre2_match_data_free(md);
    return cls;
}

void qt_reason_cache_init(struct qt_reason_cache *c)
{
    memset(c, 0, sizeof(*c));
}

void qt_reason_cache_free(struct qt_reason_cache *c)
{
    free(c->keys);
    free(c->classes);
    memset(c, 0, sizeof(*c));
}

static uint32_t ref_hash(qt_str ref)
{
    uint32_t h = ref * 2654435761u;

    return h ^ (h >> 16);
}

static void cache_reset(struct qt_reason_cache *c, size_t nslots)
{
    free(c->keys);
    free(c->classes);
    c->nslots = nslots;
    c->count = 0;
    c->keys = xcalloc(nslots, sizeof(*c->keys));
    c->classes = xcalloc(nslots, sizeof(*c->classes));
}

static void cache_put(struct qt_reason_cache *c, qt_str ref, uint8_t cls)
{
    size_t mask = c->nslots - 1, i;

    for (i = ref_hash(ref) & mask; c->keys[i]; i = (i + 1) & mask)
        ;
    c->keys[i] = ref;
    c->classes[i] = cls;
    c->count++;
}

int qt_reason_cache_class(struct qt_reason_cache *c, const struct qt_store *s, qt_str ref)
{
    size_t mask, i;
    uint8_t cls;

    if (!ref || qt_strpool_len(&s->pool, ref) == 0)
        return -1;
    if (c->pool_serial != s->pool.serial || !c->keys) {
        cache_reset(c, 256);
        c->pool_serial = s->pool.serial;
    }
    mask = c->nslots - 1;
    for (i = ref_hash(ref) & mask; c->keys[i]; i = (i + 1) & mask)
        if (c->keys[i] == ref)
            return c->classes[i];
    cls = (uint8_t)qt_reason_classify(qt_store_str(s, ref), qt_strpool_len(&s->pool, ref));
    if ((c->count + 1) * 2 > c->nslots) {
        uint32_t *keys = c->keys;
        uint8_t *old = c->classes;
        size_t n = c->nslots, j;

        c->keys = NULL;
        c->classes = NULL;
        cache_reset(c, n * 2);
        for (j = 0; j < n; j++)
            if (keys[j])
                cache_put(c, keys[j], old[j]);
        free(keys);
        free(old);
    }
    cache_put(c, ref, cls);
    return cls;
}

/* ---- addresses ---- */

const char *qt_address_domain(const char *addr, size_t len, size_t *dlen)
{
    const char *at = addr ? memrchr(addr, '@', len) : NULL;

    if (!at) {
        *dlen = 0;
        return "";
    }
    *dlen = len - (size_t)(at + 1 - addr);
    return at + 1;
}

/* ---- top-N groups ---- */

const struct qt_stats_by_info qt_stats_by_info[QT_BY_COUNT] = {
    [QT_BY_SENDER] = {"sender", "SENDER"},
    [QT_BY_SENDER_DOMAIN] = {"sender_domain", "SENDER DOMAIN"},
    [QT_BY_SASL] = {"sasl", "SASL USER"},
    [QT_BY_CLIENT] = {"client", "CLIENT"},
    [QT_BY_CLIENT_NAME] = {"client_name", "CLIENT NAME"},
    [QT_BY_RCPT_DOMAIN] = {"rcpt_domain", "RECIPIENT DOMAIN"},
    [QT_BY_SUBJECT] = {"subject", "SUBJECT"},
    [QT_BY_REASON] = {"reason", "DELAY REASON"},
    [QT_BY_CLASS] = {"class", "REASON CLASS"},
};

bool qt_stats_by_from_name(const char *name, enum qt_stats_by *by)
{
    int i;

    for (i = 0; i < QT_BY_COUNT; i++)
        if (strcasecmp(name, qt_stats_by_info[i].name) == 0) {
            *by = (enum qt_stats_by)i;
            return true;
        }
    if (strcasecmp(name, "domain") == 0)
        return *by = QT_BY_RCPT_DOMAIN, true;
    if (strcasecmp(name, "sasl_username") == 0)
        return *by = QT_BY_SASL, true;
    return false;
}

static unsigned char fold(unsigned char c)
{
    return (unsigned char)((unsigned)(c - 'A') < 26u ? c + ('a' - 'A') : c);
}

static bool equal_folded(const char *a, const char *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (fold((unsigned char)a[i]) != fold((unsigned char)b[i]))
            return false;
    return true;
}

static uint32_t hash_folded(const char *p, size_t len)
{
    uint32_t h = 2166136261u;
    size_t i;

    for (i = 0; i < len; i++)
        h = (h ^ fold((unsigned char)p[i])) * 16777619u;
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
            equal_folded(w->g.key, key, len))
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
        if (w->g.raw_lens[i] == len && equal_folded(w->g.raws[i], raw, len))
            return;
    cap = w->raws_cap;
    w->g.raws = xgrow(w->g.raws, &w->raws_cap, w->g.nraws + 1, sizeof(*w->g.raws));
    w->g.raw_lens = xgrow(w->g.raw_lens, &cap, w->g.nraws + 1, sizeof(*w->g.raw_lens));
    w->g.raws[w->g.nraws] = qt_arena_strndup(&p->arena, raw, len);
    w->g.raw_lens[w->g.nraws++] = len;
}

/* The group (+ 1) of the string `ref` under `by`, worked out once per
 * distinct string; 0 when it belongs to none (an empty reason). */
static uint32_t group_of_ref(struct stats_priv *p, const struct qt_store *s,
                             enum qt_stats_by by, qt_str ref)
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
    switch (by) {
    case QT_BY_SENDER_DOMAIN:
    case QT_BY_RCPT_DOMAIN:
        key = qt_address_domain(str, len, &klen);
        g = group_of(p, key, klen, false, key, klen) + 1;
        break;
    case QT_BY_REASON:
        if (len == 0)
            break;
        /* Fold first, then shorten: spellings the filter's "=" takes for one
         * land in one group. */
        qt_buf_reset(&p->scratch);
        qt_buf_append(&p->scratch, str, len);
        for (klen = 0; klen < len; klen++)
            p->scratch.data[klen] = (char)fold((unsigned char)p->scratch.data[klen]);
        qt_buf_reset(&p->key);
        qt_reason_shorten(p->scratch.data, len, false, &p->key);
        qt_buf_reset(&p->scratch);
        qt_reason_shorten(str, len, false, &p->scratch);
        g = group_of(p, p->key.data, p->key.len, false, p->scratch.data, p->scratch.len) + 1;
        group_add_raw(p, &p->work[g - 1], str, len);
        break;
    case QT_BY_CLASS:
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
}

/* Count message number `i` in its groups; false when it is in none. */
static bool group_message(struct stats_priv *p, const struct qt_store *s, enum qt_stats_by by,
                          uint32_t i)
{
    const struct qt_msg *m = &s->msgs[i];
    uint32_t r, g;
    qt_str key = 0;
    bool any = false;

    switch (by) {
    case QT_BY_SENDER:
        if (m->flags & QT_MSG_NULL_SENDER) {
            g = group_of(p, "", 0, true, "", 0);
            count_in(p, g, i, m);
            return true;
        }
        /* fall through */
    case QT_BY_SENDER_DOMAIN:
        key = m->sender;
        break;
    case QT_BY_SASL:
        key = m->attr_fields[QT_ATTR_SASL_USERNAME];
        break;
    case QT_BY_CLIENT:
        key = m->attr_fields[QT_ATTR_CLIENT_ADDRESS];
        break;
    case QT_BY_CLIENT_NAME:
        key = m->attr_fields[QT_ATTR_CLIENT_NAME];
        break;
    case QT_BY_SUBJECT:
        key = m->subject;
        break;
    case QT_BY_RCPT_DOMAIN:
    case QT_BY_REASON:
    case QT_BY_CLASS:
        for (r = 0; r < m->nrcpts; r++) {
            const struct qt_rcpt *rc = &m->rcpts[r];

            if (by == QT_BY_RCPT_DOMAIN ? rc->state != QT_RCPT_PENDING : !rc->reason)
                continue;
            if (by == QT_BY_RCPT_DOMAIN) {
                /* Addresses are nearly all distinct, their domains few:
                 * remembering each address would only thrash the cache. */
                size_t dlen;
                const char *d = qt_address_domain(qt_store_str(s, rc->address),
                                                  qt_strpool_len(&s->pool, rc->address), &dlen);

                g = group_of(p, d, dlen, false, d, dlen) + 1;
            } else {
                g = group_of_ref(p, s, by, rc->reason);
            }
            if (g) {
                count_in(p, g - 1, i, m);
                any = true;
            }
        }
        return any;
    case QT_BY_COUNT:
        return false;
    }
    /* One key per message. */
    count_in(p, group_of_ref(p, s, by, key) - 1, i, m);
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

void qt_stats_compute(struct qt_stats *st, const struct qt_store *s, struct qt_filter *f,
                      enum qt_stats_by by, int64_t now)
{
    struct stats_priv *p;
    size_t i;

    qt_stats_free(st);
    p = xcalloc(1, sizeof(*p));
    st->priv = p;
    st->by = by;
    if (f && qt_filter_matches_all(f))
        f = NULL;
    for (i = 0; i < s->n; i++) {
        const struct qt_msg *m = &s->msgs[i];

        if (f && !qt_filter_match(f, s, m, now))
            continue;
        st->messages++;
        st->size += m->msg_size;
        if (!group_message(p, s, by, (uint32_t)i))
            st->ungrouped++;
    }
    st->n = p->nwork;
    st->groups = xcalloc(st->n ? st->n : 1, sizeof(*st->groups));
    for (i = 0; i < st->n; i++)
        st->groups[i] = p->work[i].g;
    qsort(st->groups, st->n, sizeof(*st->groups), compare_groups);
    /* The lookup tables served their purpose; the strings stay. */
    free(p->by_key);
    free(p->ref_keys);
    free(p->ref_groups);
    p->by_key = p->ref_keys = p->ref_groups = NULL;
    qt_reason_cache_free(&p->reasons);
    qt_buf_free(&p->scratch);
    qt_buf_free(&p->key);
}

static const char *const expr_field[QT_BY_COUNT] = {
    [QT_BY_SENDER] = "sender",
    [QT_BY_SENDER_DOMAIN] = "sender_domain",
    [QT_BY_SASL] = "sasl",
    [QT_BY_CLIENT] = "client",
    [QT_BY_CLIENT_NAME] = "client_name",
    [QT_BY_RCPT_DOMAIN] = "rcpt_domain",
    [QT_BY_SUBJECT] = "subject",
    [QT_BY_REASON] = "reason",
    [QT_BY_CLASS] = "class",
};

bool qt_stats_filter_expr(const struct qt_stats *st, const struct qt_stats_group *g,
                          struct qt_buf *out)
{
    const char *field = expr_field[st->by];
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
    if (st->by == QT_BY_REASON) {
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
    qt_buf_printf(out, "%s=", field);
    qt_filter_quote(g->key, g->key_len, out);
    /* The null sender shows as MAILER-DAEMON, and sender= compares what
     * is shown: a real sender spelled so must leave it out. */
    if (st->by == QT_BY_SENDER && g->key_len == 13 && equal_folded(g->key, "MAILER-DAEMON", 13))
        qt_buf_printf(out, " and not sender=<>");
    return true;
}
