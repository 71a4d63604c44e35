/* A fleet: the queues of several hosts in one store, over OpenSSH.
 *
 * Each host is one `ssh ... -- DESTINATION qtriage agent [-c DIR]` child
 * (the command line is fixed text, doc/fleet-protocol.md), read on a thread
 * of its own; its messages reach the shared qt_feed with the store ID
 * "HOST:QUEUEID" (a queue ID never holds ':').  The fleet is a qt_backend:
 * start() asks every host for a rescan (and reconnects a lost one), one
 * SCAN_DONE is pushed when every host has answered or failed, so the CLI's
 * qt_backend_load() works on it unchanged.
 *
 * The protocol's encoder and decoder (fleet_proto.c) are shared by the
 * agent and the client. */
#ifndef QTRIAGE_FLEET_H
#define QTRIAGE_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qtriage/actions.h"
#include "qtriage/arena.h"
#include "qtriage/backend.h"
#include "qtriage/config.h"
#include "qtriage/export.h"
#include "qtriage/message.h"
#include "qtriage/util.h"

#define QT_FLEET_PROTO 2
#define QT_FLEET_MAX_LINE (4u << 20)        /* agent -> client */
#define QT_FLEET_AGENT_MAX_LINE (1u << 20)  /* client -> agent */
#define QT_FLEET_FETCH_CHUNK 49152
/* Fields of a U line before its recipients (the type included). */
#define QT_FLEET_MSG_FIELDS 25
#define QT_FLEET_RCPT_FIELDS 6
#define QT_FLEET_HOST_MAX 64
/* Seconds a rescan may go unanswered before the host shows as stale. */
#define QT_FLEET_STALE_AFTER 20

/* ---- the protocol (fleet_proto.c) ---- */

char qt_fleet_queue_letter(enum qt_queue q);
bool qt_fleet_queue_from_letter(const char *s, enum qt_queue *q);

/* Append `s` (len bytes; NULL: absent) escaped as one field, with a tab
 * before it. */
void qt_fleet_put(struct qt_buf *out, const char *s, size_t len);
void qt_fleet_put_str(struct qt_buf *out, const char *s);
void qt_fleet_put_num(struct qt_buf *out, int64_t n);

/* `s` escaped, without the tab (the body of a field). */
void qt_fleet_put_escaped(struct qt_buf *out, const char *s, size_t len);

/* ---- the dictionary of repeated strings (fleet_dict.c) ---- */

/* Hard limits of one connection's dictionary, both sides. */
#define QT_FLEET_DICT_ENTRIES (1u << 18)
#define QT_FLEET_DICT_BYTES (32u << 20)
#define QT_FLEET_DICT_MAX_LEN 1024
/* The agent never defines a string shorter than this (a reference would
 * save nothing). */
#define QT_FLEET_DICT_MIN_LEN 6

/* Kinds of fields the agent tells apart (see tries below). */
#define QT_FLEET_DICT_KINDS 20

/* The agent's side: which strings it defined, and which it saw once. */
struct qt_fleet_dict_enc {
    uint32_t *slot;             /* entry + 1; 0: empty */
    size_t nslots;
    struct {
        uint64_t hash;
        uint32_t off, len;
    } *e;
    size_t n, cap;
    struct qt_buf bytes;
    uint64_t *seen;             /* hashes of strings sent once */
    size_t seen_slots, seen_used;
    /* Per kind of field (the caller's numbering): strings looked up, and
     * those found or defined.  A kind whose values hardly repeat (queue
     * IDs in log_ident, most recipients of a flood) is sent plain for a
     * while without hashing or probing. */
    uint32_t tries[QT_FLEET_DICT_KINDS], hits[QT_FLEET_DICT_KINDS];
    uint32_t resting[QT_FLEET_DICT_KINDS];
};

void qt_fleet_dict_enc_free(struct qt_fleet_dict_enc *d);
/* Append `s` as one field (with its tab): a reference when `d` holds it, a
 * definition the second time it is sent, else as qt_fleet_put().  d NULL:
 * qt_fleet_put().  `kind` (< QT_FLEET_DICT_KINDS) says which field it is. */
void qt_fleet_put_dict(struct qt_buf *out, struct qt_fleet_dict_enc *d, unsigned kind,
                       const char *s, size_t len);
/* Forget the definitions from the n-th on (a line that was not sent). */
void qt_fleet_dict_enc_rollback(struct qt_fleet_dict_enc *d, size_t n);

/* The client's side: the definitions received on this connection. */
struct qt_fleet_dict {
    char **s;                   /* NUL-terminated copies */
    size_t *len;
    size_t n, cap, bytes;
};

void qt_fleet_dict_free(struct qt_fleet_dict *d);
/* Add the next entry; false with `err` set past the limits above. */
bool qt_fleet_dict_define(struct qt_fleet_dict *d, const char *s, size_t len,
                          struct qt_error *err);

/* One U line (with its newline) for `m`; recipients are dropped from the
 * end when the line would pass `max_line`, and the error field says so.
 * Its strings go through `dict` (NULL: all literal). */
void qt_fleet_encode_msg(struct qt_buf *out, const struct qt_msg_data *m, size_t max_line,
                         struct qt_fleet_dict_enc *dict);
/* One P line: `m`'s id, queue, forced_expire and mtime. */
void qt_fleet_encode_update(struct qt_buf *out, const struct qt_msg_data *m);

/* A line split into fields and unescaped in place.  f[0] is the type; an
 * absent field (\N) is NULL with length 0. */
struct qt_fleet_fields {
    char **f;
    size_t *len;
    size_t n, cap;
    /* Set by the client for the agent's lines: `\=` and `\#` fields use
     * and fill it (f[i] then may point into it).  NULL: they are bad
     * escapes. */
    struct qt_fleet_dict *dict;
};

void qt_fleet_fields_free(struct qt_fleet_fields *ff);
/* Split `line` (len bytes, no newline; modified) into `ff`.  False with
 * `err` set for a bad escape, a bad dictionary reference or definition, or
 * an empty type. */
bool qt_fleet_split(char *line, size_t len, struct qt_fleet_fields *ff, struct qt_error *err);

/* A U line's fields into `out`, strings copied into `arena`; the ID gets
 * "PREFIX:" in front when `prefix` is not NULL.  False with `err` set when
 * a field is missing, a number or letter is bad, or the ID is invalid. */
bool qt_fleet_decode_msg(const struct qt_fleet_fields *ff, const char *prefix,
                         struct qt_arena *arena, struct qt_msg_data *out, struct qt_error *err);
/* A P line (or G line: only id) likewise. */
bool qt_fleet_decode_update(const struct qt_fleet_fields *ff, const char *prefix,
                            struct qt_arena *arena, struct qt_msg_data *out,
                            struct qt_error *err);

/* The handshake line this side sends (role "qtriage-agent" or
 * "qtriage-fleet"), `version` being qtriage's release. */
void qt_fleet_hello(struct qt_buf *out, const char *role, const char *version);
/* Check the other side's handshake, fields already split: true when it is
 * an H line of role `role` and protocol QT_FLEET_PROTO; else `err` says
 * why (a different version: both versions, and what to do; `version` is
 * ours). */
bool qt_fleet_hello_check(const struct qt_fleet_fields *ff, const char *role,
                          const char *version, struct qt_error *err);

bool qt_fleet_parse_num(const char *s, int64_t *out);

/* ---- the agent (agent.c) ---- */

/* Serve the protocol on in_fd/out_fd for the queue of `layout` until the
 * client quits or goes away.  `fatal` (not NULL): the handshake is
 * followed by an X line saying it, and nothing else.  Returns the exit
 * status: 0, or 3 after a refusal. */
int qt_agent_serve(const struct qt_spool_layout *layout, const char *fatal, int in_fd,
                   int out_fd, const char *version);

/* ---- the client (fleet.c) ---- */

enum qt_host_state {
    QT_HOST_CONNECTING,     /* ssh started, no handshake yet */
    QT_HOST_LOADING,        /* first listing coming in */
    QT_HOST_LIVE,           /* listed, answering */
    QT_HOST_STALE,          /* a rescan is late (since `since`) */
    QT_HOST_LOST,           /* connection gone: `reason` says why; rows kept */
    QT_HOST_RECONNECTING,
    QT_HOST_READONLY,       /* no qtriage there: listed by postqueue -j */
};

const char *qt_host_state_name(enum qt_host_state s);

struct qt_host_status {
    char name[QT_FLEET_HOST_MAX + 1];
    enum qt_host_state state;
    size_t messages;            /* rows listed (while loading: so far) */
    int64_t since;              /* when the state began (time()) */
    char reason[256];           /* lost/read-only: why (ssh's last line) */
};

struct qt_fleet_spec {
    const struct qt_config_host *hosts;   /* copied */
    size_t nhosts;
    const char *ssh;            /* the ssh command line; NULL: "ssh" */
    bool local;                 /* include this machine's queue as host "local" */
    const char *local_config_dir;   /* -c for the local agent */
};

/* Fill spec->hosts (malloc'd array; the strings stay cfg's) and
 * spec->local from a --hosts LIST: names separated by ',', "all" for every
 * configured host, "local" for this machine's queue.  False with `err` set
 * for an unknown name. */
bool qt_fleet_spec_select(struct qt_fleet_spec *spec, const struct qt_config *cfg,
                          const char *list, struct qt_error *err);

/* Open every host (connections start at once, in parallel).  `feed` must
 * outlive the backend.  NULL with `err` set when the ssh command cannot be
 * found or is not trusted, or no host is given. */
struct qt_backend *qt_fleet_backend_new(const struct qt_fleet_spec *spec, struct qt_feed *feed,
                                        struct qt_error *err);
bool qt_backend_is_fleet(const struct qt_backend *b);
/* The hosts' states, at most `max`; returns the count of hosts. */
size_t qt_fleet_status(struct qt_backend *b, struct qt_host_status *out, size_t max);
/* Whether the store ID belongs to a host that is not live (refuse acting). */
bool qt_fleet_host_usable(struct qt_backend *b, const char *host, char *why, size_t size);

/* Split a store ID "HOST:QUEUEID" into its parts (host into `host`);
 * false when there is no ':'. */
bool qt_fleet_split_id(const char *store_id, char *host, size_t hsize, const char **queue_id);

enum qt_fleet_outcome {
    QT_FLEET_DONE,          /* the host answered (see failed/acted) */
    QT_FLEET_FAILED,        /* the host answered: its tools failed */
    QT_FLEET_UNREACHABLE,   /* not connected: nothing was sent */
    QT_FLEET_UNKNOWN,       /* connection lost after the request: outcome unknown */
    QT_FLEET_REFUSED,       /* read-only host (no agent) */
};

struct qt_fleet_act_result {
    char host[QT_FLEET_HOST_MAX + 1];
    enum qt_fleet_outcome outcome;
    size_t requested, acted, gone, skipped;
    char message[512];
};

/* Run action `a` on `targets` (store IDs "HOST:ID"): one request per host,
 * in parallel; for flush/flush-site (no IDs) every host of the fleet.
 * Fills *results (malloc'd, one per host concerned) and returns their
 * count.  Blocking. */
size_t qt_fleet_act(struct qt_backend *b, enum qt_action a,
                    const struct qt_action_target *targets, size_t n, const char *site,
                    struct qt_fleet_act_result **results);
/* "hold: mx1 1,204 acted on; mx2 980 acted on; mx3 unreachable, nothing done" */
void qt_fleet_act_summary(enum qt_action a, const struct qt_fleet_act_result *r, size_t n,
                          struct qt_buf *out);
/* Whether every host of the result answered without a failure. */
bool qt_fleet_act_ok(const struct qt_fleet_act_result *r, size_t n);

/* The queue file bytes of store ID "HOST:ID" into `out` (blocking). */
bool qt_fleet_fetch(struct qt_backend *b, const char *store_id, struct qt_buf *out,
                    struct qt_error *err);

/* ---- exports (fleet_export.c) ---- */

/* The queue file of "HOST:ID" fetched into an anonymous memory file (no
 * name on any file system), positioned at 0; -1 with `err` set. */
int qt_fleet_fetch_fd(struct qt_backend *b, const char *store_id, struct qt_error *err);
/* Export `targets` (HOST:ID) as export.h does, fetched from their hosts:
 * as PATH/HOST/ID.eml, or all into one mbox.  The result's IDs are store
 * IDs. */
bool qt_fleet_export_run(struct qt_backend *b, enum qt_export_format fmt, const char *path,
                         const struct qt_action_target *targets, size_t n,
                         struct qt_export_result *res);

#endif
