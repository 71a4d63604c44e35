/* The fleet protocol's lines (doc/fleet-protocol.md): tab-separated fields,
 * backslash escapes, one letter per line type.  Shared by the agent, which
 * encodes what its scanner reads, and the client, which decodes it as
 * hostile input. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qtriage/fleet.h"

static const char queue_letters[QT_Q_COUNT] = {
    [QT_Q_MAILDROP] = 'm', [QT_Q_INCOMING] = 'i', [QT_Q_ACTIVE] = 'a',
    [QT_Q_DEFERRED] = 'd', [QT_Q_HOLD] = 'h',     [QT_Q_CORRUPT] = 'c',
};

char qt_fleet_queue_letter(enum qt_queue q)
{
    return (unsigned)q < QT_Q_COUNT ? queue_letters[q] : '-';
}

bool qt_fleet_queue_from_letter(const char *s, enum qt_queue *q)
{
    if (!s || !s[0] || s[1])
        return false;
    for (int i = 0; i < QT_Q_COUNT; i++)
        if (queue_letters[i] == s[0]) {
            *q = (enum qt_queue)i;
            return true;
        }
    return false;
}

void qt_fleet_put(struct qt_buf *out, const char *s, size_t len)
{
    qt_buf_putc(out, '\t');
    if (!s) {
        qt_buf_append(out, "\\N", 2);
        return;
    }
    qt_fleet_put_escaped(out, s, len);
}

void qt_fleet_put_escaped(struct qt_buf *out, const char *s, size_t len)
{
    size_t i, start = 0;

    qt_buf_reserve(out, len + 8);
    for (i = 0; i < len; i++) {
        char esc;

        switch (s[i]) {
        case '\\': esc = '\\'; break;
        case '\t': esc = 't'; break;
        case '\n': esc = 'n'; break;
        case '\r': esc = 'r'; break;
        case '\0': esc = '0'; break;
        default: continue;
        }
        qt_buf_append(out, s + start, i - start);
        qt_buf_putc(out, '\\');
        qt_buf_putc(out, esc);
        start = i + 1;
    }
    qt_buf_append(out, s + start, len - start);
}

void qt_fleet_put_str(struct qt_buf *out, const char *s)
{
    qt_fleet_put(out, s, s ? strlen(s) : 0);
}

void qt_fleet_put_num(struct qt_buf *out, int64_t n)
{
    char tmp[24];
    int len = snprintf(tmp, sizeof(tmp), "\t%lld", (long long)n);

    qt_buf_append(out, tmp, (size_t)len);
}

static void put_flags(struct qt_buf *out, bool forced_expire, bool null_sender)
{
    char f[4];
    size_t n = 0;

    if (forced_expire)
        f[n++] = 'e';
    if (null_sender)
        f[n++] = 'n';
    if (!n)
        f[n++] = '-';
    qt_buf_putc(out, '\t');
    qt_buf_append(out, f, n);
}

static char rcpt_state_letter(enum qt_rcpt_state s)
{
    return s == QT_RCPT_DONE ? 'd' : s == QT_RCPT_CANCELED ? 'x' : 'p';
}

/* The attribute blob without its closing empty string. */
static size_t attrs_wire_len(const struct qt_msg_data *m)
{
    size_t len = m->attrs_len;

    while (len && m->attrs[len - 1] == '\0')
        len--;
    return len;
}

/* The kinds of a U line's string fields, for the dictionary. */
enum {
    K_SENDER, K_SUBJECT, K_FROM, K_ERROR, K_ATTRS, K_ADDRESS, K_ORIG, K_STATUS, K_REASON,
    K_ATTR_FIELD    /* + QT_ATTR_NFIELDS */
};
_Static_assert(K_ATTR_FIELD + QT_ATTR_NFIELDS <= QT_FLEET_DICT_KINDS, "dictionary kinds");

/* A string field through the dictionary. */
static void put_s(struct qt_buf *out, struct qt_fleet_dict_enc *d, unsigned kind,
                  const char *s)
{
    qt_fleet_put_dict(out, d, kind, s, s ? strlen(s) : 0);
}

void qt_fleet_encode_msg(struct qt_buf *out, const struct qt_msg_data *m, size_t max_line,
                         struct qt_fleet_dict_enc *dict)
{
    size_t start = out->len, i, nr = m->nrcpts, count_at;
    size_t dict_n = dict ? dict->n : 0;
    char note[96];
    const char *error = m->error;

    for (;;) {
        out->len = start;
        qt_fleet_dict_enc_rollback(dict, dict_n);   /* a retry defines again */
        qt_buf_putc(out, 'U');
        qt_fleet_put_str(out, m->id);
        qt_buf_putc(out, '\t');
        qt_buf_putc(out, qt_fleet_queue_letter(m->queue));
        put_flags(out, m->forced_expire, m->null_sender);
        qt_fleet_put_num(out, m->arrival);
        qt_fleet_put_num(out, m->create_time);
        qt_fleet_put_num(out, m->mtime);
        qt_fleet_put_num(out, m->msg_size);
        qt_fleet_put_num(out, m->file_size);
        qt_fleet_put_num(out, m->content_size);
        qt_fleet_put_num(out, m->data_offset);
        put_s(out, dict, K_SENDER, m->sender);
        put_s(out, dict, K_SUBJECT, m->subject);
        put_s(out, dict, K_FROM, m->from);
        put_s(out, dict, K_ERROR, error);
        if (m->attrs && attrs_wire_len(m))
            qt_fleet_put_dict(out, dict, K_ATTRS, m->attrs, attrs_wire_len(m));
        else
            qt_fleet_put(out, NULL, 0);
        for (i = 0; i < QT_ATTR_NFIELDS; i++)
            put_s(out, dict, K_ATTR_FIELD + (unsigned)i, m->attr_fields[i]);
        count_at = out->len;
        qt_fleet_put_num(out, (int64_t)nr);
        for (i = 0; i < nr; i++) {
            const struct qt_rcpt_data *r = &m->rcpts[i];

            put_s(out, dict, K_ADDRESS, r->address);
            /* An original address equal to the address says nothing. */
            put_s(out, dict, K_ORIG,
                  r->orig && r->address && strcmp(r->orig, r->address) == 0 ? NULL : r->orig);
            qt_buf_putc(out, '\t');
            qt_buf_putc(out, rcpt_state_letter(r->state));
            qt_buf_append(out, r->bounced ? "\tb" : "\t-", 2);
            put_s(out, dict, K_STATUS, r->status);
            put_s(out, dict, K_REASON, r->reason);
            if (out->len - start + 1 > max_line)
                break;
        }
        if (out->len - start + 1 <= max_line || nr == 0)
            break;
        /* Too many recipients for one line: keep those that fit, and say so
         * where the viewer shows problems. */
        nr = i > 0 ? i - 1 : 0;
        snprintf(note, sizeof(note), "%zu recipients, only the first %zu listed by the agent",
                 m->nrcpts, nr);
        error = note;
        (void)count_at;
    }
    qt_buf_putc(out, '\n');
}

void qt_fleet_encode_update(struct qt_buf *out, const struct qt_msg_data *m)
{
    qt_buf_putc(out, 'P');
    qt_fleet_put_str(out, m->id);
    qt_buf_putc(out, '\t');
    qt_buf_putc(out, qt_fleet_queue_letter(m->queue));
    put_flags(out, m->forced_expire, false);
    qt_fleet_put_num(out, m->mtime);
    qt_buf_putc(out, '\n');
}

void qt_fleet_fields_free(struct qt_fleet_fields *ff)
{
    free(ff->f);
    free(ff->len);
    memset(ff, 0, sizeof(*ff));
}

/* Unescape field [s, s+n) in place; returns its new length, or -1. */
static long unescape(char *s, size_t n)
{
    char *in = memchr(s, '\\', n), *end = s + n, *o;

    if (!in)
        return (long)n;
    if (n == 2 && s[1] == 'N')
        return -2;      /* absent */
    for (o = in; in < end; in++) {
        if (*in != '\\') {
            *o++ = *in;
            continue;
        }
        if (++in == end)
            return -1;
        switch (*in) {
        case '\\': *o++ = '\\'; break;
        case 't': *o++ = '\t'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case '0': *o++ = '\0'; break;
        default: return -1;
        }
    }
    return (long)(o - s);
}

/* Field ff->n is "\\#N" (entry N) or "\\=TEXT" (TEXT, the next entry):
 * [p, p+n), modified in place. */
static bool dict_field(struct qt_fleet_fields *ff, char *p, size_t n, struct qt_error *err)
{
    struct qt_fleet_dict *d = ff->dict;

    if (p[1] == '#') {
        size_t idx = 0, i;

        if (n < 3 || n > 12) {
            qt_error_set(err, "bad dictionary reference in field %zu", ff->n + 1);
            return false;
        }
        for (i = 2; i < n; i++) {
            if (p[i] < '0' || p[i] > '9') {
                qt_error_set(err, "bad dictionary reference in field %zu", ff->n + 1);
                return false;
            }
            idx = idx * 10 + (size_t)(p[i] - '0');
        }
        if (idx >= d->n) {
            qt_error_set(err, "field %zu refers to dictionary entry %zu of %zu", ff->n + 1,
                         idx, d->n);
            return false;
        }
        ff->f[ff->n] = d->s[idx];
        ff->len[ff->n] = d->len[idx];
        return true;
    }
    {
        long got = unescape(p + 2, n - 2);

        if (got < 0) {
            qt_error_set(err, "bad dictionary definition in field %zu", ff->n + 1);
            return false;
        }
        if (!qt_fleet_dict_define(d, p + 2, (size_t)got, err))
            return false;
        p[2 + got] = '\0';
        ff->f[ff->n] = p + 2;
        ff->len[ff->n] = (size_t)got;
        return true;
    }
}

bool qt_fleet_split(char *line, size_t len, struct qt_fleet_fields *ff, struct qt_error *err)
{
    char *p = line, *end = line + len;

    ff->n = 0;
    for (;;) {
        char *tab = memchr(p, '\t', (size_t)(end - p));
        size_t n = tab ? (size_t)(tab - p) : (size_t)(end - p);
        long got;

        if (ff->n == ff->cap) {
            size_t cap = ff->cap;

            ff->f = xgrow(ff->f, &cap, ff->n + 1, sizeof(*ff->f));
            ff->len = xrealloc(ff->len, cap * sizeof(*ff->len));
            ff->cap = cap;
        }
        if (n >= 2 && p[0] == '\\' && (p[1] == '#' || p[1] == '=') && ff->dict) {
            if (!dict_field(ff, p, n, err))
                return false;
            ff->n++;
            if (!tab)
                break;
            p = tab + 1;
            continue;
        }
        got = unescape(p, n);
        if (got == -1) {
            qt_error_set(err, "bad escape in field %zu", ff->n + 1);
            return false;
        }
        if (got == -2) {
            ff->f[ff->n] = NULL;
            ff->len[ff->n] = 0;
        } else {
            p[got] = '\0';      /* over the tab, or at end: line has room */
            ff->f[ff->n] = p;
            ff->len[ff->n] = (size_t)got;
        }
        ff->n++;
        if (!tab)
            break;
        p = tab + 1;
    }
    if (!ff->f[0] || ff->len[0] != 1) {
        qt_error_set(err, "no line type");
        return false;
    }
    return true;
}

bool qt_fleet_parse_num(const char *s, int64_t *out)
{
    char *end;
    long long v;

    if (!s || !*s || (*s != '-' && (*s < '0' || *s > '9')))
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

static bool parse_flags(const char *s, bool *expire, bool *null_sender)
{
    *expire = *null_sender = false;
    if (!s || !*s)
        return false;
    if (strcmp(s, "-") == 0)
        return true;
    for (; *s; s++) {
        if (*s == 'e')
            *expire = true;
        else if (*s == 'n')
            *null_sender = true;
        else
            return false;
    }
    return true;
}

/* The store ID: "PREFIX:ID", or ID.  Validates ID. */
static const char *take_id(const char *id, const char *prefix, struct qt_arena *a,
                           struct qt_error *err)
{
    size_t pl, il;
    char *s;

    if (!id || !qt_queue_id_valid(id)) {
        qt_error_set(err, "invalid queue ID");
        return NULL;
    }
    if (!prefix)
        return qt_arena_strdup(a, id);
    pl = strlen(prefix);
    il = strlen(id);
    s = qt_arena_alloc(a, pl + il + 2);
    memcpy(s, prefix, pl);
    s[pl] = ':';
    memcpy(s + pl + 1, id, il + 1);
    return s;
}

/* Strings from the wire keep their bytes; one with a NUL in it is cut
 * there (the store keeps C strings). */
static const char *take_str(const struct qt_fleet_fields *ff, size_t i, struct qt_arena *a)
{
    return ff->f[i] ? qt_arena_strndup(a, ff->f[i], ff->len[i]) : NULL;
}

static bool take_num(const struct qt_fleet_fields *ff, size_t i, int64_t *out,
                     struct qt_error *err)
{
    if (!qt_fleet_parse_num(ff->f[i], out)) {
        qt_error_set(err, "field %zu is not a number", i);
        return false;
    }
    return true;
}

bool qt_fleet_decode_msg(const struct qt_fleet_fields *ff, const char *prefix,
                         struct qt_arena *arena, struct qt_msg_data *out, struct qt_error *err)
{
    int64_t nr, *nums[7] = {&out->arrival,   &out->create_time,  &out->mtime,
                            &out->msg_size,  &out->file_size,    &out->content_size,
                            &out->data_offset};
    size_t i;

    memset(out, 0, sizeof(*out));
    if (ff->n < QT_FLEET_MSG_FIELDS || ff->f[0][0] != 'U') {
        qt_error_set(err, "a message line has %zu fields, not at least %d", ff->n,
                     QT_FLEET_MSG_FIELDS);
        return false;
    }
    if (!(out->id = take_id(ff->f[1], prefix, arena, err)))
        return false;
    /* The host is the ID's prefix: the same bytes. */
    if (prefix)
        out->host = qt_arena_strndup(arena, out->id, strlen(prefix));
    if (!qt_fleet_queue_from_letter(ff->f[2], &out->queue) ||
        !parse_flags(ff->f[3], &out->forced_expire, &out->null_sender)) {
        qt_error_set(err, "bad queue or flags");
        return false;
    }
    for (i = 0; i < 7; i++)
        if (!take_num(ff, 4 + i, nums[i], err))
            return false;
    if (!ff->f[11]) {
        qt_error_set(err, "no sender");
        return false;
    }
    out->sender = take_str(ff, 11, arena);
    out->subject = take_str(ff, 12, arena);
    out->from = take_str(ff, 13, arena);
    out->error = take_str(ff, 14, arena);
    if (ff->f[15] && ff->len[15]) {
        char *blob = qt_arena_alloc(arena, ff->len[15] + 2);

        memcpy(blob, ff->f[15], ff->len[15]);
        blob[ff->len[15]] = '\0';
        blob[ff->len[15] + 1] = '\0';
        out->attrs = blob;
        out->attrs_len = ff->len[15] + 2;
    }
    for (i = 0; i < QT_ATTR_NFIELDS; i++)
        out->attr_fields[i] = take_str(ff, 16 + i, arena);
    if (!take_num(ff, 16 + QT_ATTR_NFIELDS, &nr, err))
        return false;
    if (nr < 0 || ff->n != QT_FLEET_MSG_FIELDS + (size_t)nr * QT_FLEET_RCPT_FIELDS) {
        qt_error_set(err, "a message line with %lld recipients has %zu fields, not %zu",
                     (long long)nr, ff->n,
                     QT_FLEET_MSG_FIELDS + (size_t)(nr < 0 ? 0 : nr) * QT_FLEET_RCPT_FIELDS);
        return false;
    }
    out->nrcpts = (size_t)nr;
    out->rcpts = nr ? qt_arena_alloc(arena, (size_t)nr * sizeof(*out->rcpts)) : NULL;
    for (i = 0; i < (size_t)nr; i++) {
        size_t b = QT_FLEET_MSG_FIELDS + i * QT_FLEET_RCPT_FIELDS;
        struct qt_rcpt_data *r = &out->rcpts[i];
        const char *st = ff->f[b + 2], *bo = ff->f[b + 3];

        if (!ff->f[b] || !st || !bo || ff->len[b + 2] != 1 || ff->len[b + 3] != 1 ||
            !strchr("pdx", st[0]) || !strchr("b-", bo[0])) {
            qt_error_set(err, "recipient %zu: bad address, state or bounce flag", i + 1);
            return false;
        }
        r->address = take_str(ff, b, arena);
        r->orig = take_str(ff, b + 1, arena);
        r->state = st[0] == 'd' ? QT_RCPT_DONE : st[0] == 'x' ? QT_RCPT_CANCELED
                                                              : QT_RCPT_PENDING;
        r->bounced = bo[0] == 'b';
        r->status = take_str(ff, b + 4, arena);
        r->reason = take_str(ff, b + 5, arena);
    }
    return true;
}

bool qt_fleet_decode_update(const struct qt_fleet_fields *ff, const char *prefix,
                            struct qt_arena *arena, struct qt_msg_data *out,
                            struct qt_error *err)
{
    bool ignored;

    memset(out, 0, sizeof(*out));
    if (ff->f[0][0] == 'G') {
        if (ff->n != 2) {
            qt_error_set(err, "a gone line has %zu fields, not 2", ff->n);
            return false;
        }
        return (out->id = take_id(ff->f[1], prefix, arena, err)) != NULL;
    }
    if (ff->n != 5) {
        qt_error_set(err, "an update line has %zu fields, not 5", ff->n);
        return false;
    }
    if (!(out->id = take_id(ff->f[1], prefix, arena, err)))
        return false;
    if (!qt_fleet_queue_from_letter(ff->f[2], &out->queue) ||
        !parse_flags(ff->f[3], &out->forced_expire, &ignored) ||
        !qt_fleet_parse_num(ff->f[4], &out->mtime)) {
        qt_error_set(err, "bad queue, flags or time in an update line");
        return false;
    }
    return true;
}

void qt_fleet_hello(struct qt_buf *out, const char *role, const char *version)
{
    qt_buf_putc(out, 'H');
    qt_fleet_put_str(out, role);
    qt_fleet_put_num(out, QT_FLEET_PROTO);
    qt_fleet_put_str(out, version);
    qt_buf_putc(out, '\n');
}

bool qt_fleet_hello_check(const struct qt_fleet_fields *ff, const char *role,
                          const char *version, struct qt_error *err)
{
    int64_t proto;
    const char *theirs;

    if (ff->n < 4 || ff->f[0][0] != 'H' || !ff->f[1] || strcmp(ff->f[1], role) != 0 ||
        !qt_fleet_parse_num(ff->f[2], &proto)) {
        qt_error_set(err, "not a qtriage %s handshake", role);
        return false;
    }
    theirs = ff->f[3] ? ff->f[3] : "?";
    if (proto != QT_FLEET_PROTO) {
        /* Their version is a stranger's text: printable ASCII only. */
        char shown[40];
        size_t i;

        for (i = 0; theirs[i] && i + 1 < sizeof(shown); i++)
            shown[i] = theirs[i] > 0x20 && theirs[i] < 0x7f ? theirs[i] : '?';
        shown[i] = '\0';
        qt_error_set(err,
                     "qtriage %s there speaks fleet protocol %lld, this qtriage %s speaks %d: "
                     "install the same qtriage on both sides",
                     shown, (long long)proto, version, QT_FLEET_PROTO);
        return false;
    }
    return true;
}

bool qt_fleet_split_id(const char *store_id, char *host, size_t hsize, const char **queue_id)
{
    const char *colon = strchr(store_id, ':');
    size_t n;

    if (!colon)
        return false;
    n = (size_t)(colon - store_id);
    if (n == 0 || n >= hsize)
        return false;
    memcpy(host, store_id, n);
    host[n] = '\0';
    *queue_id = colon + 1;
    return true;
}
