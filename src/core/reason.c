/* Delay reasons (see reason.h): split, shortened, classified, and the
 * class of each interned reason cached. */
#include "qtriage/reason.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "qtriage/text.h"

/* ---- split and shorten ---- */

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


/* ---- templates ---- */

static bool token_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-' || c == '_';
}

bool qt_reason_template(const char *reason, size_t len, const char *addr, size_t addr_len,
                        struct qt_buf *tmpl, struct qt_buf *tokens)
{
    size_t i = 0, copied = 0, ntokens = 0;
    bool any = false;

    qt_buf_reset(tmpl);
    qt_buf_reset(tokens);
    if (memchr(reason, QT_REASON_TOKEN, len) || memchr(reason, QT_REASON_ADDR, len))
        return false;
    /* An address of a byte or two would turn up inside every word. */
    if (addr_len < 3)
        addr = NULL;
    while (i < len) {
        size_t j, letters = 0, digits = 0;

        if (addr && len - i >= addr_len && memcmp(reason + i, addr, addr_len) == 0) {
            qt_buf_append(tmpl, reason + copied, i - copied);
            qt_buf_putc(tmpl, QT_REASON_ADDR);
            i = copied = i + addr_len;
            any = true;
            continue;
        }
        if (!token_byte((unsigned char)reason[i])) {
            i++;
            continue;
        }
        /* A run of token bytes from its start: a token, or words kept. */
        for (j = i; j < len && token_byte((unsigned char)reason[j]); j++) {
            unsigned char c = (unsigned char)reason[j];

            if (c >= '0' && c <= '9')
                digits++;
            else if (c != '.' && c != '-' && c != '_')
                letters++;
        }
        if (j - i >= 8 && letters >= 1 && digits >= 2) {
            qt_buf_append(tmpl, reason + copied, i - copied);
            qt_buf_putc(tmpl, QT_REASON_TOKEN);
            if (ntokens++)
                qt_buf_putc(tokens, QT_REASON_TOKEN);
            qt_buf_append(tokens, reason + i, j - i);
            copied = j;
            any = true;
        }
        i = j;
    }
    if (!any) {
        qt_buf_reset(tmpl);
        return false;
    }
    qt_buf_append(tmpl, reason + copied, len - copied);
    return true;
}

void qt_reason_expand(const char *tmpl, size_t tmpl_len, const char *tokens, size_t tokens_len,
                      const char *addr, size_t addr_len, struct qt_buf *out)
{
    const char *t = tmpl, *end = tmpl + tmpl_len, *tok = tokens ? tokens : "";
    const char *tok_end = tok + tokens_len;

    while (t < end) {
        const char *p = t;

        while (p < end && *p != QT_REASON_TOKEN && *p != QT_REASON_ADDR)
            p++;
        qt_buf_append(out, t, (size_t)(p - t));
        if (p == end)
            break;
        if (*p == QT_REASON_ADDR) {
            qt_buf_append(out, addr, addr_len);
        } else {
            const char *e = tok < tok_end ? memchr(tok, QT_REASON_TOKEN, (size_t)(tok_end - tok))
                                          : NULL;

            if (!e)
                e = tok_end;
            qt_buf_append(out, tok, (size_t)(e - tok));
            tok = e < tok_end ? e + 1 : tok_end;
        }
        t = p + 1;
    }
}

/* ---- classes ---- */

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

