/* The fleet backend: one ssh child and one reading thread per host, all
 * feeding one qt_feed with store IDs "HOST:QUEUEID".  The agent's output is
 * hostile input: lines are bounded, every field is checked, and a host
 * that sends something wrong is dropped (lost) while the others go on. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "qtriage/fleet.h"
#include "qtriage/idmap.h"
#include "qtriage/proc.h"
#include "qtriage/text.h"
#include "version.h"

#define BATCH_EVENTS 512
#define READ_CHUNK (256u << 10)
#define FETCH_MAX (256u << 20)
#define IDS_PER_LINE 4000

enum req_kind { REQ_NONE, REQ_ACT, REQ_FETCH };

struct host {
    struct fleet *fl;
    char *name, *destination, *config_dir, *program;
    bool sudo, local;
    pthread_t thread;
    bool thread_live;

    /* Under fl->lock. */
    enum qt_host_state state;
    int64_t since;
    size_t messages;
    char reason[256];
    bool connected;             /* handshake done, requests may be written */
    bool scanning;              /* an R (or the first listing) is unanswered */
    int64_t scan_asked;         /* when the R went out */
    bool round_pending;         /* its part of the current round is missing */
    bool reconnect;             /* asked to connect again */
    bool read_only;             /* no agent there: postqueue -j listings */
    bool req_busy;              /* a request is in flight */
    enum req_kind req_kind;
    int64_t req_id;
    bool req_done, req_lost;
    struct qt_fleet_act_result *req_act;
    struct qt_buf *req_bytes;
    bool req_fetch_ok;
    char req_error[256];

    /* The connection, owned by the thread (in_fd written under wlock). */
    struct qt_proc_child child;
    pthread_mutex_t wlock;
    bool write_failed;

    /* Reader-thread only. */
    struct qt_idmap known;
    uint32_t gen;
    bool first_scan;
    struct qt_batch *batch;
    struct qt_fleet_fields ff;
    struct qt_fleet_dict dict;  /* the connection's repeated strings */
    struct qt_buf in;
    char last_err[256];
    unsigned long lineno;
};

struct fleet {
    struct qt_feed *feed;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct host *hosts;
    size_t nhosts;
    char **ssh;                 /* ssh argv start (argv[0] absolute), then our options */
    size_t nssh;
    bool round_running;
    size_t round_left;
    int64_t next_req;
    atomic_bool stopping;
    char *self;                 /* this program, for the local host */
};

static const char *const state_names[] = {
    [QT_HOST_CONNECTING] = "connecting", [QT_HOST_LOADING] = "loading",
    [QT_HOST_LIVE] = "live",             [QT_HOST_STALE] = "stale",
    [QT_HOST_LOST] = "lost",             [QT_HOST_RECONNECTING] = "reconnecting",
    [QT_HOST_READONLY] = "read-only",
};

const char *qt_host_state_name(enum qt_host_state s)
{
    return (unsigned)s < QT_ARRAY_LEN(state_names) ? state_names[s] : "?";
}

/* Text from a host for messages: printable, one line, bounded. */
static void shown(const char *s, size_t len, char *out, size_t size)
{
    struct qt_buf b = {0};

    qt_text_sanitize(&b, s, len);
    snprintf(out, size, "%s", b.data ? b.data : "");
    qt_buf_free(&b);
}

static void set_state(struct host *h, enum qt_host_state s)
{
    if (h->state != s)
        h->since = (int64_t)time(NULL);
    h->state = s;
}

/* ---- feeding the store ---- */

static struct qt_batch *batch_of(struct host *h)
{
    if (!h->batch)
        h->batch = qt_batch_new();
    return h->batch;
}

static void push_batch(struct host *h)
{
    if (h->batch && h->batch->n) {
        qt_feed_push(h->fl->feed, h->batch);
        h->batch = NULL;
    }
}

static void push_error(struct host *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void push_error(struct host *h, const char *fmt, ...)
{
    struct qt_event *e = qt_batch_add(batch_of(h), QT_EV_ERROR);
    struct qt_buf b = {0};
    va_list ap;

    qt_buf_printf(&b, "%s: ", h->name);
    va_start(ap, fmt);
    qt_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    e->text = qt_arena_strdup(&h->batch->arena, b.data);
    qt_buf_free(&b);
}

/* This host's part of the round is in; the last one ends the round. */
static void round_part_done(struct host *h)
{
    struct fleet *fl = h->fl;
    bool done = false;

    pthread_mutex_lock(&fl->lock);
    if (h->round_pending) {
        h->round_pending = false;
        if (fl->round_left && --fl->round_left == 0) {
            fl->round_running = false;
            done = true;
        }
    }
    pthread_mutex_unlock(&fl->lock);
    if (done) {
        qt_batch_add(batch_of(h), QT_EV_SCAN_DONE);
    }
    push_batch(h);
    pthread_cond_broadcast(&fl->cond);
}

static void gone_id(void *ctx, const char *id)
{
    struct host *h = ctx;
    struct qt_event *e = qt_batch_add(batch_of(h), QT_EV_GONE);

    e->msg.id = qt_arena_strdup(&h->batch->arena, id);
    if (h->batch->n >= BATCH_EVENTS)
        push_batch(h);
}

/* ---- writing to the agent ---- */

static bool host_write(struct host *h, const char *data, size_t len)
{
    size_t done = 0;
    bool ok = true;

    pthread_mutex_lock(&h->wlock);
    if (h->write_failed || h->child.in_fd < 0)
        ok = false;
    while (ok && done < len) {
        ssize_t n = write(h->child.in_fd, data + done, len - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            h->write_failed = true;
            ok = false;
            break;
        }
        done += (size_t)n;
    }
    pthread_mutex_unlock(&h->wlock);
    return ok;
}

/* ---- reading the agent ---- */

static bool protocol_error(struct host *h, const char *what)
{
    pthread_mutex_lock(&h->fl->lock);
    snprintf(h->reason, sizeof(h->reason), "protocol error on line %lu: %s", h->lineno, what);
    pthread_mutex_unlock(&h->fl->lock);
    return false;
}

static bool on_hello(struct host *h)
{
    struct qt_error err = {""};

    if (h->ff.f[0][0] == 'X' && h->ff.n == 2) {
        char text[200];

        shown(h->ff.f[1] ? h->ff.f[1] : "", h->ff.len[1], text, sizeof(text));
        pthread_mutex_lock(&h->fl->lock);
        snprintf(h->reason, sizeof(h->reason), "agent refused: %s", text);
        pthread_mutex_unlock(&h->fl->lock);
        return false;
    }
    if (!qt_fleet_hello_check(&h->ff, "qtriage-agent", QTRIAGE_VERSION, &err)) {
        pthread_mutex_lock(&h->fl->lock);
        snprintf(h->reason, sizeof(h->reason), "%s", err.msg);
        pthread_mutex_unlock(&h->fl->lock);
        return false;
    }
    pthread_mutex_lock(&h->fl->lock);
    h->connected = true;
    h->scanning = true;
    set_state(h, QT_HOST_LOADING);
    pthread_mutex_unlock(&h->fl->lock);
    return true;
}

static bool on_message(struct host *h)
{
    struct qt_error err = {""};
    struct qt_batch *b = batch_of(h);
    struct qt_event *e = qt_batch_add(b, h->ff.f[0][0] == 'U'   ? QT_EV_UPSERT
                                         : h->ff.f[0][0] == 'P' ? QT_EV_UPDATE
                                                                : QT_EV_GONE);
    bool ok = e->kind == QT_EV_UPSERT
                  ? qt_fleet_decode_msg(&h->ff, h->name, &b->arena, &e->msg, &err)
                  : qt_fleet_decode_update(&h->ff, h->name, &b->arena, &e->msg, &err);
    const char *qid;
    bool created;

    if (!ok) {
        b->n--;     /* the event just added */
        return protocol_error(h, err.msg);
    }
    qid = e->msg.id + strlen(h->name) + 1;
    if (e->kind == QT_EV_GONE)
        qt_idmap_forget(&h->known, qid);
    else
        qt_idmap_put(&h->known, qid, &created)->gen = h->gen;
    if (b->n >= BATCH_EVENTS) {
        pthread_mutex_lock(&h->fl->lock);
        h->messages = h->known.live;
        pthread_mutex_unlock(&h->fl->lock);
        push_batch(h);
    }
    return true;
}

static bool on_scan_done(struct host *h)
{
    if (h->first_scan) {
        qt_idmap_sweep(&h->known, h->gen, gone_id, h);
        h->first_scan = false;
    }
    pthread_mutex_lock(&h->fl->lock);
    h->messages = h->known.live;
    h->scanning = false;
    set_state(h, QT_HOST_LIVE);
    pthread_mutex_unlock(&h->fl->lock);
    round_part_done(h);
    return true;
}

static bool on_answer(struct host *h)
{
    struct fleet *fl = h->fl;
    char type = h->ff.f[0][0];
    int64_t req, nums[4];
    bool ok = true;

    if (h->ff.n < 3 || !qt_fleet_parse_num(h->ff.f[1], &req))
        return protocol_error(h, "an answer without its request number");
    pthread_mutex_lock(&fl->lock);
    if (!h->req_busy || h->req_id != req || h->req_done) {
        pthread_mutex_unlock(&fl->lock);
        return protocol_error(h, "an answer to no request");
    }
    if (type == 'a') {
        if (h->req_kind != REQ_ACT || h->ff.n != 8 || !h->ff.f[2] ||
            !qt_fleet_parse_num(h->ff.f[3], &nums[0]) ||
            !qt_fleet_parse_num(h->ff.f[4], &nums[1]) ||
            !qt_fleet_parse_num(h->ff.f[5], &nums[2]) ||
            !qt_fleet_parse_num(h->ff.f[6], &nums[3]) || nums[0] < 0 || nums[1] < 0 ||
            nums[2] < 0 || nums[3] < 0) {
            ok = false;
        } else {
            struct qt_fleet_act_result *r = h->req_act;

            r->outcome = strcmp(h->ff.f[2], "ok") == 0 ? QT_FLEET_DONE : QT_FLEET_FAILED;
            r->requested = (size_t)nums[0];
            r->acted = (size_t)nums[1];
            r->gone = (size_t)nums[2];
            r->skipped = (size_t)nums[3];
            shown(h->ff.f[7] ? h->ff.f[7] : "", h->ff.len[7], r->message, sizeof(r->message));
            h->req_done = true;
        }
    } else if (type == 'f') {
        if (h->req_kind != REQ_FETCH || h->ff.n != 3 || !h->ff.f[2] ||
            h->req_bytes->len + h->ff.len[2] > FETCH_MAX)
            ok = false;
        else
            qt_buf_append(h->req_bytes, h->ff.f[2], h->ff.len[2]);
    } else {    /* F */
        if (h->req_kind != REQ_FETCH || h->ff.n != 4 || !h->ff.f[2])
            ok = false;
        else {
            h->req_fetch_ok = strcmp(h->ff.f[2], "ok") == 0;
            if (!h->req_fetch_ok)
                shown(h->ff.f[3] ? h->ff.f[3] : "", h->ff.len[3], h->req_error,
                      sizeof(h->req_error));
            h->req_done = true;
        }
    }
    pthread_mutex_unlock(&fl->lock);
    if (!ok)
        return protocol_error(h, "a malformed answer");
    pthread_cond_broadcast(&fl->cond);
    return true;
}

static bool handle_line(struct host *h, char *line, size_t len, bool *greeted)
{
    struct qt_error err = {""};
    char text[300];

    h->lineno++;
    if (!qt_fleet_split(line, len, &h->ff, &err))
        return protocol_error(h, err.msg);
    if (!*greeted) {
        if (!on_hello(h))
            return false;
        *greeted = true;
        return true;
    }
    switch (h->ff.f[0][0]) {
    case 'U':
    case 'P':
    case 'G':
        return on_message(h);
    case 'D':
        return on_scan_done(h);
    case 'E':
        if (h->ff.n != 2)
            return protocol_error(h, "an E line has one field");
        shown(h->ff.f[1] ? h->ff.f[1] : "", h->ff.len[1], text, sizeof(text));
        push_error(h, "%s", text);
        return true;
    case 'X':
        shown(h->ff.n > 1 && h->ff.f[1] ? h->ff.f[1] : "", h->ff.n > 1 ? h->ff.len[1] : 0,
              text, sizeof(text));
        pthread_mutex_lock(&h->fl->lock);
        snprintf(h->reason, sizeof(h->reason), "agent stopped: %.200s", text);
        pthread_mutex_unlock(&h->fl->lock);
        return false;
    case 'a':
    case 'f':
    case 'F':
        return on_answer(h);
    default:
        return protocol_error(h, "unknown line type");
    }
}

/* Keep the last non-empty line ssh (or sudo) wrote on stderr. */
static void take_stderr(struct host *h, struct qt_buf *pending, const char *data, size_t n)
{
    qt_buf_append(pending, data, n);
    for (;;) {
        char *nl = memchr(pending->data, '\n', pending->len);
        size_t len;

        if (!nl) {
            if (pending->len > 4096)
                pending->len = 0;
            return;
        }
        len = (size_t)(nl - pending->data);
        if (len && pending->data[len - 1] == '\r')
            len--;
        if (len)
            shown(pending->data, len, h->last_err, sizeof(h->last_err));
        memmove(pending->data, nl + 1, pending->len - (size_t)(nl + 1 - pending->data));
        pending->len -= (size_t)(nl + 1 - pending->data);
    }
}

/* Read the connection until it ends or a line is wrong.  False: a
 * protocol error (reason set); true: end of file. */
static bool read_connection(struct host *h)
{
    struct qt_buf errbuf = {0};
    bool greeted = false, ok = true;
    int out = h->child.out_fd, err = h->child.err_fd;

    qt_buf_reset(&h->in);
    while (out >= 0 || err >= 0) {
        struct pollfd p[2];
        int n = 0;

        if (out >= 0)
            p[n++] = (struct pollfd){.fd = out, .events = POLLIN};
        if (err >= 0)
            p[n++] = (struct pollfd){.fd = err, .events = POLLIN};
        if (poll(p, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < n; i++) {
            ssize_t got;
            char chunk[4096];

            if (!p[i].revents)
                continue;
            if (p[i].fd == err) {
                got = read(err, chunk, sizeof(chunk));
                if (got > 0)
                    take_stderr(h, &errbuf, chunk, (size_t)got);
                else if (got == 0 || (errno != EINTR && errno != EAGAIN))
                    err = -1;
                continue;
            }
            qt_buf_reserve(&h->in, READ_CHUNK + 1);
            got = read(out, h->in.data + h->in.len, READ_CHUNK);
            if (got < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (got <= 0) {
                out = -1;
                continue;
            }
            h->in.len += (size_t)got;
            {
                size_t start = 0;

                for (;;) {
                    char *nl = memchr(h->in.data + start, '\n', h->in.len - start);
                    size_t len;

                    if (!nl)
                        break;
                    len = (size_t)(nl - (h->in.data + start));
                    if (len > QT_FLEET_MAX_LINE) {
                        ok = protocol_error(h, "line longer than 4 MiB");
                        break;
                    }
                    *nl = '\0';
                    if (!handle_line(h, h->in.data + start, len, &greeted)) {
                        ok = false;
                        break;
                    }
                    start += len + 1;
                }
                if (ok && h->in.len - start > QT_FLEET_MAX_LINE)
                    ok = protocol_error(h, "line longer than 4 MiB");
                memmove(h->in.data, h->in.data + start, h->in.len - start);
                h->in.len -= start;
            }
            if (!ok)
                goto out;
            /* Nothing more waiting: show what came so far. */
            if ((size_t)got < READ_CHUNK)
                push_batch(h);
        }
    }
out:
    push_batch(h);
    if (errbuf.len)
        take_stderr(h, &errbuf, "\n", 1);
    qt_buf_free(&errbuf);
    return ok;
}

/* ---- connecting ---- */

static void build_argv(struct host *h, const char **argv, size_t max, bool listing)
{
    struct fleet *fl = h->fl;
    size_t n = 0;

    (void)max;
    if (h->local && !listing) {
        argv[n++] = fl->self;
    } else {
        for (size_t i = 0; i < fl->nssh; i++)
            argv[n++] = fl->ssh[i];
        argv[n++] = "--";
        argv[n++] = h->destination;
        if (listing) {
            argv[n++] = "postqueue";
            if (h->config_dir) {
                argv[n++] = "-c";
                argv[n++] = h->config_dir;
            }
            argv[n++] = "-j";
            argv[n] = NULL;
            return;
        }
        if (h->sudo) {
            argv[n++] = "sudo";
            argv[n++] = "-n";
        }
        argv[n++] = h->program ? h->program : "qtriage";
    }
    argv[n++] = "agent";
    if (h->config_dir) {
        argv[n++] = "-c";
        argv[n++] = h->config_dir;
    }
    argv[n] = NULL;
}

struct listing_ctx {
    struct host *h;
    unsigned long bad;
};

static void listing_line(void *ctx, char *line, size_t len)
{
    struct listing_ctx *lc = ctx;
    struct host *h = lc->h;
    struct qt_batch *b = batch_of(h);
    struct qt_event *e;
    struct qt_msg_data m;
    struct qt_error err = {""};
    struct qt_idmap_entry *known;
    /* The line's fingerprint: a listing repeated (a rescan, or the first
     * one racing the first round's request) reports only what changed, as
     * an agent does, so a CLI listing never prints a message twice. */
    uint64_t print = qt_hash64_bytes(line, len);
    char *id;
    bool created;

    if (!qt_postqueue_json_parse(line, &b->arena, &m, &err)) {
        lc->bad++;
        return;
    }
    known = qt_idmap_put(&h->known, m.id, &created);
    known->gen = h->gen;
    if (!created && known->ino == print)
        return;
    known->ino = print;
    e = qt_batch_add(b, QT_EV_UPSERT);
    e->msg = m;
    id = qt_arena_alloc(&b->arena, strlen(h->name) + strlen(m.id) + 2);
    sprintf(id, "%s:%s", h->name, m.id);
    e->msg.id = id;
    e->msg.host = qt_arena_strdup(&b->arena, h->name);
    if (b->n >= BATCH_EVENTS)
        push_batch(h);
}

/* No qtriage on the host: list it read-only with `postqueue -j` over ssh. */
static void read_only_listing(struct host *h)
{
    const char *argv[64];
    struct qt_proc_spec spec = {.argv = argv, .on_stdout_line = listing_line};
    struct qt_proc_result res;
    struct listing_ctx lc = {h, 0};
    char why[300];

    build_argv(h, argv, QT_ARRAY_LEN(argv), true);
    spec.ctx = &lc;
    h->gen++;
    qt_proc_run(&spec, &res);
    if (res.spawn_errno || res.signaled || res.exit_status != 0) {
        qt_proc_describe(&spec, &res, why, sizeof(why));
        push_error(h, "postqueue -j over ssh: %s", why);
    } else {
        qt_idmap_sweep(&h->known, h->gen, gone_id, h);
    }
    if (lc.bad)
        push_error(h, "postqueue -j: %lu lines not understood", lc.bad);
    qt_proc_result_free(&res);
    pthread_mutex_lock(&h->fl->lock);
    h->messages = h->known.live;
    h->read_only = true;
    snprintf(h->reason, sizeof(h->reason),
             "qtriage not found on %s: listed read-only by postqueue -j; install qtriage "
             "there to act", h->name);
    set_state(h, QT_HOST_READONLY);
    pthread_mutex_unlock(&h->fl->lock);
}

/* End the connection: the outcome of a request in flight is unknown. */
static void connection_ended(struct host *h, bool clean, struct qt_proc_result *res)
{
    struct fleet *fl = h->fl;

    pthread_mutex_lock(&fl->lock);
    if (clean && !h->reason[0]) {
        if (res->spawn_errno)
            snprintf(h->reason, sizeof(h->reason), "cannot run ssh: %s%s%.160s",
                     strerror(res->spawn_errno), res->untrusted[0] ? ": " : "",
                     res->untrusted);
        else if (res->signaled)
            snprintf(h->reason, sizeof(h->reason), "ssh killed by signal %d%s%.200s",
                     res->term_signal, h->last_err[0] ? ": " : "", h->last_err);
        else if (h->last_err[0])
            snprintf(h->reason, sizeof(h->reason), "%s", h->last_err);
        else
            snprintf(h->reason, sizeof(h->reason), "connection closed (ssh exit status %d)",
                     res->exit_status);
    }
    h->connected = false;
    h->scanning = false;
    if (h->req_busy && !h->req_done) {
        h->req_lost = true;
        h->req_done = true;
    }
    set_state(h, QT_HOST_LOST);
    if (clean || h->reason[0]) {
        char why[sizeof(h->reason)];

        snprintf(why, sizeof(why), "%s", h->reason);
        pthread_mutex_unlock(&fl->lock);
        if (!fl->stopping)
            push_error(h, "lost: %s", why);
    } else {
        pthread_mutex_unlock(&fl->lock);
    }
    pthread_cond_broadcast(&fl->cond);
}

static void connect_once(struct host *h)
{
    const char *argv[64];
    struct qt_proc_result res;
    bool clean;

    pthread_mutex_lock(&h->fl->lock);
    h->reason[0] = '\0';
    pthread_mutex_unlock(&h->fl->lock);
    h->last_err[0] = '\0';
    h->lineno = 0;
    build_argv(h, argv, QT_ARRAY_LEN(argv), false);
    pthread_mutex_lock(&h->wlock);
    if (h->fl->stopping || !qt_proc_start(argv, &h->child, &res)) {
        pthread_mutex_unlock(&h->wlock);
        connection_ended(h, true, &res);
        return;
    }
    pthread_mutex_unlock(&h->wlock);
    h->write_failed = false;
    h->gen++;
    h->first_scan = true;
    qt_fleet_dict_free(&h->dict);
    h->ff.dict = &h->dict;
    /* Our handshake and the first listing's request go out with the ssh
     * login, not after the agent's handshake came back: the agent reads
     * them once it has sent its own, so its scan starts a round trip
     * sooner.  An agent that refuses us never reads them. */
    {
        struct qt_buf b = {0};

        qt_fleet_hello(&b, "qtriage-fleet", QTRIAGE_VERSION);
        qt_buf_append(&b, "R\n", 2);
        host_write(h, b.data, b.len);
        qt_buf_free(&b);
    }
    clean = read_connection(h);
    pthread_mutex_lock(&h->wlock);
    if (!clean && h->child.pid > 0)
        kill(h->child.pid, SIGTERM);    /* a broken agent gets no more say */
    memset(&res, 0, sizeof(res));
    qt_proc_finish(&h->child, &res);
    pthread_mutex_unlock(&h->wlock);
    if (clean && !res.signaled && res.exit_status == 127 && !h->local) {
        connection_ended(h, false, &res);
        read_only_listing(h);
        return;
    }
    connection_ended(h, clean, &res);
}

static void *host_thread(void *arg)
{
    struct host *h = arg;
    struct fleet *fl = h->fl;

    for (;;) {
        bool read_only;

        pthread_mutex_lock(&fl->lock);
        read_only = h->read_only;
        pthread_mutex_unlock(&fl->lock);
        if (read_only)
            read_only_listing(h);
        else
            connect_once(h);
        round_part_done(h);
        pthread_mutex_lock(&fl->lock);
        while (!h->reconnect && !fl->stopping)
            pthread_cond_wait(&fl->cond, &fl->lock);
        h->reconnect = false;
        if (fl->stopping) {
            pthread_mutex_unlock(&fl->lock);
            break;
        }
        if (!h->read_only)
            set_state(h, QT_HOST_RECONNECTING);
        pthread_mutex_unlock(&fl->lock);
    }
    return NULL;
}

/* ---- the backend ---- */

static bool fleet_start(struct qt_backend *b)
{
    struct fleet *fl = b->priv;
    size_t i;

    pthread_mutex_lock(&fl->lock);
    if (fl->round_running) {
        pthread_mutex_unlock(&fl->lock);
        return false;
    }
    fl->round_running = true;
    fl->round_left = fl->nhosts;
    for (i = 0; i < fl->nhosts; i++) {
        struct host *h = &fl->hosts[i];

        h->round_pending = true;
        if (h->scanning)
            continue;           /* its listing under way counts */
        if (h->connected) {
            h->scanning = true;
            h->scan_asked = (int64_t)time(NULL);
            if (!host_write(h, "R\n", 2))
                h->scanning = false;    /* the reader sees the end soon */
        } else if (h->state == QT_HOST_LOST || h->state == QT_HOST_READONLY) {
            h->reconnect = true;
        }
    }
    pthread_mutex_unlock(&fl->lock);
    pthread_cond_broadcast(&fl->cond);
    return true;
}

static bool fleet_running(struct qt_backend *b)
{
    struct fleet *fl = b->priv;
    bool r;

    pthread_mutex_lock(&fl->lock);
    r = fl->round_running;
    pthread_mutex_unlock(&fl->lock);
    return r;
}

static void fleet_wait(struct qt_backend *b)
{
    struct fleet *fl = b->priv;

    pthread_mutex_lock(&fl->lock);
    while (fl->round_running)
        pthread_cond_wait(&fl->cond, &fl->lock);
    pthread_mutex_unlock(&fl->lock);
}

static void fleet_destroy(struct qt_backend *b)
{
    struct fleet *fl = b->priv;
    size_t i;

    pthread_mutex_lock(&fl->lock);
    fl->stopping = true;
    pthread_mutex_unlock(&fl->lock);
    pthread_cond_broadcast(&fl->cond);
    for (i = 0; i < fl->nhosts; i++) {
        struct host *h = &fl->hosts[i];

        /* Closing its input ends the agent (and ssh) cleanly; the reader
         * then sees the end of its output. */
        pthread_mutex_lock(&h->wlock);
        if (h->child.in_fd >= 0) {
            ssize_t unused = write(h->child.in_fd, "Q\n", 2);

            (void)unused;
            close(h->child.in_fd);
            h->child.in_fd = -1;
        }
        /* ssh still connecting to a host that does not answer would keep
         * us waiting for its timeout. */
        if (h->child.pid > 0)
            kill(h->child.pid, SIGTERM);
        pthread_mutex_unlock(&h->wlock);
    }
    for (i = 0; i < fl->nhosts; i++) {
        struct host *h = &fl->hosts[i];

        if (h->thread_live)
            pthread_join(h->thread, NULL);
        if (h->batch)
            qt_batch_free(h->batch);
        qt_idmap_free(&h->known);
        qt_fleet_fields_free(&h->ff);
        qt_fleet_dict_free(&h->dict);
        qt_buf_free(&h->in);
        pthread_mutex_destroy(&h->wlock);
        free(h->name);
        free(h->destination);
        free(h->config_dir);
        free(h->program);
    }
    free(fl->hosts);
    for (i = 0; i < fl->nssh; i++)
        free(fl->ssh[i]);
    free(fl->ssh);
    free(fl->self);
    pthread_mutex_destroy(&fl->lock);
    pthread_cond_destroy(&fl->cond);
    free(fl);
}

static const struct qt_backend_ops fleet_ops = {
    .name = "fleet",
    .start = fleet_start,
    .running = fleet_running,
    .wait = fleet_wait,
    .destroy = fleet_destroy,
};

bool qt_backend_is_fleet(const struct qt_backend *b)
{
    return b && b->ops == &fleet_ops;
}

/* Whether an ssh -o option among `words` sets `name`. */
static bool ssh_sets(char **words, size_t n, const char *name)
{
    size_t len = strlen(name);

    for (size_t i = 0; i < n; i++) {
        const char *w = words[i];

        if (strncmp(w, "-o", 2) == 0 && w[2])
            w += 2;
        else if (strcmp(w, "-o") == 0 && i + 1 < n)
            w = words[++i];
        else
            continue;
        while (*w == ' ')
            w++;
        if (strncasecmp(w, name, len) == 0 && (w[len] == '=' || w[len] == ' '))
            return true;
    }
    return false;
}

static bool split_ssh(struct fleet *fl, const char *cmd, struct qt_error *err)
{
    char *copy = xstrdup(cmd ? cmd : "ssh"), *save = NULL, *w;
    char **words = NULL;
    size_t n = 0, cap = 0, i;
    char *path;

    for (w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
        words = xgrow(words, &cap, n + 1, sizeof(*words));
        words[n++] = xstrdup(w);
    }
    free(copy);
    if (n == 0 || n > 40) {
        qt_error_set(err, "the ssh command line is empty or longer than 40 words");
        goto fail;
    }
    /* An absolute path is taken as it is; as root, qt_proc_start() runs it
     * only when root owns it and everything above it. */
    path = words[0][0] == '/' ? (access(words[0], X_OK) == 0 ? xstrdup(words[0]) : NULL)
                              : qt_proc_find_program(words[0]);
    if (!path) {
        qt_error_set(err, "cannot find the ssh program \"%.100s\"%s", words[0],
                     geteuid() == 0 ? " (as root: only in root's system directories, "
                                      "or an absolute path root owns)" : "");
        goto fail;
    }
    free(words[0]);
    words[0] = path;
    /* A password or host-key prompt must never reach the terminal qtriage
     * draws on: ssh fails instead, with a message we show. */
    if (!ssh_sets(words, n, "BatchMode")) {
        words = xgrow(words, &cap, n + 2, sizeof(*words));
        words[n++] = xstrdup("-o");
        words[n++] = xstrdup("BatchMode=yes");
    }
    /* A host that vanishes without a word (a cable, a firewall) is noticed
     * in under a minute instead of hanging an action. */
    if (!ssh_sets(words, n, "ServerAliveInterval")) {
        words = xgrow(words, &cap, n + 2, sizeof(*words));
        words[n++] = xstrdup("-o");
        words[n++] = xstrdup("ServerAliveInterval=15");
    }
    fl->ssh = words;
    fl->nssh = n;
    return true;
fail:
    for (i = 0; i < n; i++)
        free(words[i]);
    free(words);
    return false;
}

struct qt_backend *qt_fleet_backend_new(const struct qt_fleet_spec *spec, struct qt_feed *feed,
                                        struct qt_error *err)
{
    struct fleet *fl;
    struct qt_backend *b;
    size_t i, n = spec->nhosts + (spec->local ? 1 : 0);

    if (n == 0) {
        qt_error_set(err, "no host to open");
        return NULL;
    }
    fl = xcalloc(1, sizeof(*fl));
    fl->feed = feed;
    pthread_mutex_init(&fl->lock, NULL);
    pthread_cond_init(&fl->cond, NULL);
    if (spec->nhosts && !split_ssh(fl, spec->ssh, err)) {
        pthread_mutex_destroy(&fl->lock);
        pthread_cond_destroy(&fl->cond);
        free(fl);
        return NULL;
    }
    if (spec->local) {
        char self[PATH_MAX];
        ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

        if (len <= 0) {
            qt_error_set(err, "cannot find this program for the local host: %s",
                         strerror(errno));
            for (i = 0; i < fl->nssh; i++)
                free(fl->ssh[i]);
            free(fl->ssh);
            free(fl);
            return NULL;
        }
        self[len] = '\0';
        fl->self = xstrdup(self);
    }
    fl->hosts = xcalloc(n, sizeof(*fl->hosts));
    fl->nhosts = n;
    for (i = 0; i < n; i++) {
        struct host *h = &fl->hosts[i];
        const struct qt_config_host *c = i < spec->nhosts ? &spec->hosts[i] : NULL;

        h->fl = fl;
        h->local = !c;
        h->name = xstrdup(c ? c->name : "local");
        h->destination = c ? xstrdup(c->destination) : NULL;
        h->config_dir = c ? (c->config_dir ? xstrdup(c->config_dir) : NULL)
                          : (spec->local_config_dir ? xstrdup(spec->local_config_dir) : NULL);
        h->program = c && c->program ? xstrdup(c->program) : NULL;
        h->sudo = c && c->sudo;
        h->state = QT_HOST_CONNECTING;
        h->since = (int64_t)time(NULL);
        h->child.pid = -1;
        h->child.in_fd = h->child.out_fd = h->child.err_fd = -1;
        pthread_mutex_init(&h->wlock, NULL);
        qt_idmap_init(&h->known);
    }
    b = xcalloc(1, sizeof(*b));
    b->ops = &fleet_ops;
    b->feed = feed;
    b->priv = fl;
    for (i = 0; i < n; i++)
        fl->hosts[i].thread_live =
            pthread_create(&fl->hosts[i].thread, NULL, host_thread, &fl->hosts[i]) == 0;
    return b;
}

bool qt_fleet_spec_select(struct qt_fleet_spec *spec, const struct qt_config *cfg,
                          const char *list, struct qt_error *err)
{
    char *copy = xstrdup(list), *save = NULL, *w;
    struct qt_config_host *chosen = NULL;
    size_t n = 0, cap = 0, i;
    bool ok = true;

    spec->local = false;
    for (w = strtok_r(copy, ",", &save); w && ok; w = strtok_r(NULL, ",", &save)) {
        bool found = false;

        if (strcmp(w, "local") == 0) {
            spec->local = true;
            continue;
        }
        for (i = 0; i < cfg->nhosts; i++) {
            bool dup = false;

            if (strcmp(w, "all") != 0 && strcmp(w, cfg->hosts[i].name) != 0)
                continue;
            found = true;
            for (size_t j = 0; j < n; j++)
                dup |= strcmp(chosen[j].name, cfg->hosts[i].name) == 0;
            if (dup)
                continue;
            chosen = xgrow(chosen, &cap, n + 1, sizeof(*chosen));
            chosen[n++] = cfg->hosts[i];
        }
        if (!found) {
            struct qt_buf b = {0};

            qt_text_sanitize_str(&b, w);
            if (strcmp(w, "all") == 0)
                qt_error_set(err, "--hosts all: no host is configured (host NAME DESTINATION "
                                  "in the configuration or --fleet FILE)");
            else
                qt_error_set(err, "--hosts: no host \"%.64s\" in the configuration%s",
                             b.data ? b.data : "",
                             cfg->nhosts ? "" : " (none is: host NAME DESTINATION, or "
                                                "--fleet FILE)");
            qt_buf_free(&b);
            ok = false;
        }
    }
    free(copy);
    if (ok && n == 0 && !spec->local) {
        qt_error_set(err, "--hosts names no host");
        ok = false;
    }
    if (!ok) {
        free(chosen);
        return false;
    }
    spec->hosts = chosen;
    spec->nhosts = n;
    return true;
}

size_t qt_fleet_status(struct qt_backend *b, struct qt_host_status *out, size_t max)
{
    struct fleet *fl = b->priv;
    size_t i;

    pthread_mutex_lock(&fl->lock);
    for (i = 0; i < fl->nhosts && i < max; i++) {
        struct host *h = &fl->hosts[i];

        snprintf(out[i].name, sizeof(out[i].name), "%s", h->name);
        out[i].state = h->state;
        out[i].messages = h->messages;
        out[i].since = h->since;
        /* A rescan unanswered for a while: its rows are as old as that. */
        if (h->state == QT_HOST_LIVE && h->scanning &&
            (int64_t)time(NULL) - h->scan_asked > QT_FLEET_STALE_AFTER) {
            out[i].state = QT_HOST_STALE;
            out[i].since = h->scan_asked;
        }
        snprintf(out[i].reason, sizeof(out[i].reason), "%s", h->reason);
    }
    pthread_mutex_unlock(&fl->lock);
    return fl->nhosts;
}

static struct host *find_host(struct fleet *fl, const char *name)
{
    for (size_t i = 0; i < fl->nhosts; i++)
        if (strcmp(fl->hosts[i].name, name) == 0)
            return &fl->hosts[i];
    return NULL;
}

bool qt_fleet_host_usable(struct qt_backend *b, const char *host, char *why, size_t size)
{
    struct fleet *fl = b->priv;
    struct host *h = find_host(fl, host);
    bool ok;

    if (!h) {
        snprintf(why, size, "%s is not a host of this fleet", host);
        return false;
    }
    pthread_mutex_lock(&fl->lock);
    ok = h->connected;
    if (!ok)
        snprintf(why, size, "%s is %s%s%s", h->name, qt_host_state_name(h->state),
                 h->reason[0] ? ": " : "", h->reason);
    pthread_mutex_unlock(&fl->lock);
    return ok;
}

/* ---- requests ---- */

/* Claim the host's request slot; false when it is not connected. */
static bool claim(struct host *h, enum req_kind kind, int64_t *req)
{
    struct fleet *fl = h->fl;

    pthread_mutex_lock(&fl->lock);
    while (h->req_busy && h->connected)
        pthread_cond_wait(&fl->cond, &fl->lock);
    if (!h->connected || h->req_busy) {
        pthread_mutex_unlock(&fl->lock);
        return false;
    }
    h->req_busy = true;
    h->req_kind = kind;
    h->req_id = ++fl->next_req;
    h->req_done = h->req_lost = false;
    h->req_error[0] = '\0';
    *req = h->req_id;
    pthread_mutex_unlock(&fl->lock);
    return true;
}

static void release(struct host *h)
{
    pthread_mutex_lock(&h->fl->lock);
    h->req_busy = false;
    h->req_kind = REQ_NONE;
    h->req_act = NULL;
    h->req_bytes = NULL;
    pthread_mutex_unlock(&h->fl->lock);
    pthread_cond_broadcast(&h->fl->cond);
}

static void wait_answer(struct host *h)
{
    pthread_mutex_lock(&h->fl->lock);
    while (!h->req_done)
        pthread_cond_wait(&h->fl->cond, &h->fl->lock);
    pthread_mutex_unlock(&h->fl->lock);
}

/* The request's lines for host `h`: its IDs grouped by queue, then A. */
static void act_request(struct qt_buf *b, enum qt_action a, int64_t req,
                        const struct qt_action_target *t, const size_t *idx, size_t n,
                        size_t hostlen, const char *site)
{
    for (int q = 0; q <= QT_Q_COUNT; q++) {
        size_t in_line = 0;

        for (size_t i = 0; i < n; i++) {
            const struct qt_action_target *x = &t[idx[i]];

            if ((int)x->queue != q && !(q == QT_Q_COUNT && (unsigned)x->queue > QT_Q_COUNT))
                continue;
            if (in_line == 0) {
                qt_buf_putc(b, 'I');
                qt_buf_putc(b, '\t');
                qt_buf_putc(b, q == QT_Q_COUNT ? '-' : qt_fleet_queue_letter((enum qt_queue)q));
            }
            qt_fleet_put_str(b, x->id + hostlen + 1);
            if (++in_line == IDS_PER_LINE) {
                qt_buf_putc(b, '\n');
                in_line = 0;
            }
        }
        if (in_line)
            qt_buf_putc(b, '\n');
    }
    qt_buf_printf(b, "A\t%lld", (long long)req);
    qt_fleet_put_str(b, qt_action_name(a));
    if (site)
        qt_fleet_put_str(b, site);
    qt_buf_putc(b, '\n');
}

size_t qt_fleet_act(struct qt_backend *b, enum qt_action a,
                    const struct qt_action_target *targets, size_t n, const char *site,
                    struct qt_fleet_act_result **results)
{
    struct fleet *fl = b->priv;
    struct qt_fleet_act_result *r = xcalloc(fl->nhosts, sizeof(*r));
    size_t **idx = xcalloc(fl->nhosts, sizeof(*idx)), *cnt = xcalloc(fl->nhosts, sizeof(*cnt));
    bool *sent = xcalloc(fl->nhosts, sizeof(*sent)), *lost = xcalloc(fl->nhosts, sizeof(*lost));
    size_t i, k, nres = 0;
    bool all_hosts = !qt_action_takes_ids(a);

    /* A host that is not there had no say in what was selected: it is
     * named in the result (nothing done there), so no one takes the
     * action as done on the whole fleet. */
    pthread_mutex_lock(&fl->lock);
    for (k = 0; k < fl->nhosts; k++)
        lost[k] = !fl->hosts[k].connected && !fl->hosts[k].read_only;
    pthread_mutex_unlock(&fl->lock);

    for (i = 0; i < n; i++) {
        char host[QT_FLEET_HOST_MAX + 1];
        const char *qid;
        struct host *h;

        if (!qt_fleet_split_id(targets[i].id, host, sizeof(host), &qid) ||
            !(h = find_host(fl, host)))
            continue;
        k = (size_t)(h - fl->hosts);
        idx[k] = xrealloc(idx[k], (cnt[k] + 1) * sizeof(**idx));
        idx[k][cnt[k]++] = i;
    }
    /* Send every request first, then wait: the hosts work in parallel. */
    for (k = 0; k < fl->nhosts; k++) {
        struct host *h = &fl->hosts[k];
        struct qt_fleet_act_result *x = &r[nres];
        int64_t req;
        struct qt_buf lines = {0};

        if (!cnt[k] && !all_hosts && !lost[k])
            continue;
        nres++;
        snprintf(x->host, sizeof(x->host), "%s", h->name);
        x->requested = cnt[k];
        if (!claim(h, REQ_ACT, &req)) {
            pthread_mutex_lock(&fl->lock);
            x->outcome = h->read_only ? QT_FLEET_REFUSED : QT_FLEET_UNREACHABLE;
            snprintf(x->message, sizeof(x->message), "%s", h->reason);
            pthread_mutex_unlock(&fl->lock);
            continue;
        }
        pthread_mutex_lock(&fl->lock);
        h->req_act = x;
        pthread_mutex_unlock(&fl->lock);
        act_request(&lines, a, req, targets, idx[k], cnt[k], strlen(h->name),
                    a == QT_ACT_FLUSH_SITE ? site : NULL);
        /* A failed write is seen by the reader as the end of the
         * connection, which answers the request as lost. */
        host_write(h, lines.data, lines.len);
        qt_buf_free(&lines);
        sent[k] = true;
    }
    for (k = 0, i = 0; k < fl->nhosts; k++) {
        struct host *h = &fl->hosts[k];

        if (!cnt[k] && !all_hosts && !lost[k])
            continue;
        if (sent[k]) {
            wait_answer(h);
            pthread_mutex_lock(&fl->lock);
            if (h->req_lost) {
                r[i].outcome = QT_FLEET_UNKNOWN;
                snprintf(r[i].message, sizeof(r[i].message), "%s", h->reason);
                /* List it again as soon as it is back. */
                h->reconnect = true;
            }
            pthread_mutex_unlock(&fl->lock);
            pthread_cond_broadcast(&fl->cond);
            release(h);
        }
        i++;
    }
    for (k = 0; k < fl->nhosts; k++)
        free(idx[k]);
    free(idx);
    free(cnt);
    free(sent);
    free(lost);
    *results = r;
    return nres;
}

static void put_count(struct qt_buf *out, size_t n)
{
    char digits[32];
    int len = snprintf(digits, sizeof(digits), "%zu", n);

    for (int i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0)
            qt_buf_putc(out, ',');
        qt_buf_putc(out, digits[i]);
    }
}

void qt_fleet_act_summary(enum qt_action a, const struct qt_fleet_act_result *r, size_t n,
                          struct qt_buf *out)
{
    qt_buf_printf(out, "%s:", qt_action_name(a));
    for (size_t i = 0; i < n; i++) {
        qt_buf_printf(out, "%s %s ", i ? ";" : "", r[i].host);
        switch (r[i].outcome) {
        case QT_FLEET_DONE:
            put_count(out, r[i].acted);
            qt_buf_printf(out, " acted on");
            if (r[i].gone)
                qt_buf_printf(out, ", %zu gone", r[i].gone);
            if (r[i].skipped)
                qt_buf_printf(out, ", %zu skipped", r[i].skipped);
            break;
        case QT_FLEET_FAILED:
            qt_buf_printf(out, "failed (");
            put_count(out, r[i].acted);
            qt_buf_printf(out, " acted on): %s", r[i].message);
            break;
        case QT_FLEET_UNREACHABLE:
            qt_buf_printf(out, "unreachable, nothing done");
            break;
        case QT_FLEET_UNKNOWN:
            qt_buf_printf(out, "connection lost, outcome unknown");
            break;
        case QT_FLEET_REFUSED:
            qt_buf_printf(out, "read-only (no qtriage there), nothing done");
            break;
        }
    }
}

bool qt_fleet_act_ok(const struct qt_fleet_act_result *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (r[i].outcome != QT_FLEET_DONE)
            return false;
    return true;
}

bool qt_fleet_fetch(struct qt_backend *b, const char *store_id, struct qt_buf *out,
                    struct qt_error *err)
{
    struct fleet *fl = b->priv;
    char host[QT_FLEET_HOST_MAX + 1];
    const char *qid;
    struct host *h;
    struct qt_buf line = {0};
    int64_t req;
    bool ok;

    if (!qt_fleet_split_id(store_id, host, sizeof(host), &qid) || !(h = find_host(fl, host))) {
        qt_error_set(err, "not a message of this fleet");
        return false;
    }
    if (!qt_queue_id_valid(qid)) {
        qt_error_set(err, "invalid queue ID");
        return false;
    }
    if (!claim(h, REQ_FETCH, &req)) {
        qt_error_set(err, "%s is not connected", h->name);
        return false;
    }
    pthread_mutex_lock(&fl->lock);
    h->req_bytes = out;
    pthread_mutex_unlock(&fl->lock);
    qt_buf_printf(&line, "F\t%lld", (long long)req);
    qt_fleet_put_str(&line, qid);
    qt_buf_putc(&line, '\n');
    host_write(h, line.data, line.len);
    qt_buf_free(&line);
    wait_answer(h);
    pthread_mutex_lock(&fl->lock);
    ok = !h->req_lost && h->req_fetch_ok;
    if (h->req_lost)
        qt_error_set(err, "%s: connection lost: %s", h->name, h->reason);
    else if (!ok)
        qt_error_set(err, "%s: %s", h->name, h->req_error);
    pthread_mutex_unlock(&fl->lock);
    release(h);
    return ok;
}
