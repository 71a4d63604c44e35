/* The fleet protocol's dictionary of repeated strings (protocol 2,
 * doc/fleet-protocol.md): the agent defines a string the second time it
 * sends it (`\=TEXT`) and from then on sends its number (`\#N`); the client
 * keeps the definitions of its connection.  Delay reasons, senders, client
 * addresses and recipients repeat a lot in a flood: each then costs a few
 * bytes on the wire, in ssh's encryption on both ends and in the client's
 * unescaping.  The agent's side is a heuristic (what to define); the
 * client's side is hostile input with hard limits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qtriage/fleet.h"

/* Strings sighted once, as 64-bit hashes: at most this many slots, then
 * the set starts afresh (only the chance of a definition is lost). */
#define SEEN_MAX_SLOTS (1u << 20)

void qt_fleet_dict_enc_free(struct qt_fleet_dict_enc *d)
{
    free(d->slot);
    free(d->e);
    free(d->seen);
    qt_buf_free(&d->bytes);
    memset(d, 0, sizeof(*d));
}

static void slots_rebuild(struct qt_fleet_dict_enc *d, size_t nslots)
{
    free(d->slot);
    d->slot = xcalloc(nslots, sizeof(*d->slot));
    d->nslots = nslots;
    for (size_t i = 0; i < d->n; i++) {
        size_t k = (size_t)d->e[i].hash & (nslots - 1);

        while (d->slot[k])
            k = (k + 1) & (nslots - 1);
        d->slot[k] = (uint32_t)i + 1;
    }
}

/* The entry holding s, or -1; *at is the empty slot where it would go. */
static long find(const struct qt_fleet_dict_enc *d, uint64_t h, const char *s, size_t len,
                 size_t *at)
{
    size_t k = (size_t)h & (d->nslots - 1);

    for (; d->slot[k]; k = (k + 1) & (d->nslots - 1)) {
        size_t i = d->slot[k] - 1;

        if (d->e[i].hash == h && d->e[i].len == len &&
            memcmp(d->bytes.data + d->e[i].off, s, len) == 0)
            return (long)i;
    }
    *at = k;
    return -1;
}

/* Whether h was sighted before; records it when not. */
static bool seen_before(struct qt_fleet_dict_enc *d, uint64_t h)
{
    size_t k;

    if (d->seen_used * 4 >= d->seen_slots * 3) {
        size_t old = d->seen_slots;
        uint64_t *prev = d->seen;

        d->seen_slots = old ? (old < SEEN_MAX_SLOTS ? old * 2 : old) : 4096;
        d->seen = xcalloc(d->seen_slots, sizeof(*d->seen));
        d->seen_used = 0;
        for (size_t i = 0; prev && old < SEEN_MAX_SLOTS && i < old; i++) {
            if (!prev[i])
                continue;
            for (k = (size_t)prev[i] & (d->seen_slots - 1); d->seen[k];
                 k = (k + 1) & (d->seen_slots - 1))
                ;
            d->seen[k] = prev[i];
            d->seen_used++;
        }
        free(prev);
    }
    for (k = (size_t)h & (d->seen_slots - 1); d->seen[k]; k = (k + 1) & (d->seen_slots - 1))
        if (d->seen[k] == h)
            return true;
    d->seen[k] = h;
    d->seen_used++;
    return false;
}

/* A kind of field is judged on this many strings: when fewer than one in
 * RARE of them was found or defined, it is sent plain for the next REST
 * strings, then judged again (a queue changes). */
#define JUDGE_AFTER 2048
#define RARE 16
#define REST 65536

void qt_fleet_put_dict(struct qt_buf *out, struct qt_fleet_dict_enc *d, unsigned kind,
                       const char *s, size_t len)
{
    uint64_t h;
    size_t at = 0;
    long i;

    if (!d || !s || len < QT_FLEET_DICT_MIN_LEN || len > QT_FLEET_DICT_MAX_LEN) {
        qt_fleet_put(out, s, len);
        return;
    }
    kind %= QT_FLEET_DICT_KINDS;
    if (d->resting[kind]) {
        d->resting[kind]--;
        qt_fleet_put(out, s, len);
        return;
    }
    if (++d->tries[kind] >= JUDGE_AFTER) {
        if (d->hits[kind] < d->tries[kind] / RARE)
            d->resting[kind] = REST;
        d->tries[kind] = d->hits[kind] = 0;
    }
    if (!d->nslots)
        slots_rebuild(d, 1024);
    h = qt_hash64_bytes(s, len);   /* never 0, which marks an empty slot */
    i = find(d, h, s, len, &at);
    if (i >= 0) {
        char ref[24], *p = ref + sizeof(ref);

        d->hits[kind]++;
        do
            *--p = (char)('0' + i % 10);
        while ((i /= 10) != 0);
        *--p = '#';
        *--p = '\\';
        *--p = '\t';
        qt_buf_append(out, p, (size_t)(ref + sizeof(ref) - p));
        return;
    }
    if (d->n >= QT_FLEET_DICT_ENTRIES || d->bytes.len + len > QT_FLEET_DICT_BYTES ||
        !seen_before(d, h)) {
        qt_fleet_put(out, s, len);
        return;
    }
    d->hits[kind]++;
    d->e = xgrow(d->e, &d->cap, d->n + 1, sizeof(*d->e));
    d->e[d->n].hash = h;
    d->e[d->n].off = (uint32_t)d->bytes.len;
    d->e[d->n].len = (uint32_t)len;
    qt_buf_append(&d->bytes, s, len);
    d->slot[at] = (uint32_t)d->n + 1;
    d->n++;
    if (d->n * 2 > d->nslots)
        slots_rebuild(d, d->nslots * 2);
    qt_buf_append(out, "\t\\=", 3);
    qt_fleet_put_escaped(out, s, len);
}

void qt_fleet_dict_enc_rollback(struct qt_fleet_dict_enc *d, size_t n)
{
    if (!d || n >= d->n)
        return;
    d->n = n;
    d->bytes.len = n ? d->e[n - 1].off + d->e[n - 1].len : 0;
    slots_rebuild(d, d->nslots);
}

void qt_fleet_dict_free(struct qt_fleet_dict *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->s[i]);
    free(d->s);
    free(d->len);
    memset(d, 0, sizeof(*d));
}

bool qt_fleet_dict_define(struct qt_fleet_dict *d, const char *s, size_t len,
                          struct qt_error *err)
{
    if (len > QT_FLEET_DICT_MAX_LEN || d->n >= QT_FLEET_DICT_ENTRIES ||
        d->bytes + len > QT_FLEET_DICT_BYTES) {
        qt_error_set(err, "dictionary entry %zu (%zu bytes) past the dictionary's limits",
                     d->n, len);
        return false;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap;

        d->s = xgrow(d->s, &cap, d->n + 1, sizeof(*d->s));
        d->len = xrealloc(d->len, cap * sizeof(*d->len));
        d->cap = cap;
    }
    d->s[d->n] = xmalloc(len + 1);
    memcpy(d->s[d->n], s, len);
    d->s[d->n][len] = '\0';
    d->len[d->n] = len;
    d->n++;
    d->bytes += len;
    return true;
}
