/* The remote side of a fleet: `qtriage agent`, started by ssh.  It reads
 * its own queue with the spool scanner and speaks doc/fleet-protocol.md on
 * its standard input and output.  Everything that arrives on standard
 * input is a request from the admin's qtriage; nothing of it reaches a
 * shell or a command line but as validated queue IDs on postsuper's
 * standard input (actions.c). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qtriage/actions.h"
#include "qtriage/feed.h"
#include "qtriage/fleet.h"
#include "qtriage/scanner.h"

/* Output is written when this much is waiting, when the scanner has
 * nothing more ready, and at every scan end or answer: big writes keep
 * ssh's channel full. */
#define FLUSH_AT (256u << 10)

struct agent {
    const struct qt_spool_layout *layout;
    int in_fd, out_fd;
    const char *version;
    struct qt_feed feed;
    struct qt_scanner *scanner;
    bool scanning, rescan_wanted;
    struct qt_buf out;
    bool out_broken;
    struct qt_buf in;           /* bytes read, not yet a whole line */
    bool skipping;              /* inside a line longer than allowed */
    bool greeted, quit;
    struct qt_action_target *targets;
    size_t ntargets, targets_cap;
    struct qt_fleet_fields ff;
    struct qt_fleet_dict_enc dict;  /* this connection's repeated strings */
};

static void flush_out(struct agent *ag)
{
    size_t done = 0;

    while (done < ag->out.len && !ag->out_broken) {
        ssize_t n = write(ag->out_fd, ag->out.data + done, ag->out.len - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            struct pollfd p = {.fd = ag->out_fd, .events = POLLOUT};

            poll(&p, 1, -1);
            continue;
        }
        if (n <= 0) {
            /* The client went away: nobody to answer; stop. */
            ag->out_broken = true;
            ag->quit = true;
            break;
        }
        done += (size_t)n;
    }
    qt_buf_reset(&ag->out);
}

static void say(struct agent *ag, char type, const char *text)
{
    qt_buf_putc(&ag->out, type);
    qt_fleet_put_str(&ag->out, text);
    qt_buf_putc(&ag->out, '\n');
}

static void on_event(void *ctx, const struct qt_event *e)
{
    struct agent *ag = ctx;

    switch (e->kind) {
    case QT_EV_UPSERT:
        qt_fleet_encode_msg(&ag->out, &e->msg, QT_FLEET_MAX_LINE, &ag->dict);
        break;
    case QT_EV_UPDATE:
        qt_fleet_encode_update(&ag->out, &e->msg);
        break;
    case QT_EV_GONE:
        qt_buf_putc(&ag->out, 'G');
        qt_fleet_put_str(&ag->out, e->msg.id);
        qt_buf_putc(&ag->out, '\n');
        break;
    default:
        break;
    }
    if (ag->out.len >= FLUSH_AT)
        flush_out(ag);
}

static void on_scan_error(void *ctx, const char *msg)
{
    say(ctx, 'E', msg);
}

static void start_scan(struct agent *ag)
{
    if (ag->scanning) {
        ag->rescan_wanted = true;
        return;
    }
    if (!qt_scanner_start(ag->scanner)) {
        say(ag, 'E', "cannot start a scan (out of threads?)");
        qt_buf_printf(&ag->out, "D\t0\tno scan\n");
        flush_out(ag);
        return;
    }
    ag->scanning = true;
    ag->rescan_wanted = false;
}

static void drain_feed(struct agent *ag)
{
    struct qt_feed_result res = {.on_error = on_scan_error, .ctx = ag};

    qt_feed_each(&ag->feed, &res, on_event, ag);
    /* Nothing more is waiting: send what there is rather than wait for
     * FLUSH_AT, so the admin sees the first rows while the scan goes on
     * (the scanner's first batch is small for the same reason). */
    if (ag->out.len && !res.scans_done)
        flush_out(ag);
    if (res.scans_done) {
        struct qt_scan_stats st;

        qt_scanner_wait(ag->scanner);
        qt_scanner_stats(ag->scanner, &st);
        qt_buf_putc(&ag->out, 'D');
        qt_fleet_put_num(&ag->out, (int64_t)st.files_seen);
        qt_fleet_put_str(&ag->out, res.scan_summary[0] ? res.scan_summary : NULL);
        qt_buf_putc(&ag->out, '\n');
        flush_out(ag);
        ag->scanning = false;
        if (ag->rescan_wanted)
            start_scan(ag);
    }
}

static void clear_targets(struct agent *ag)
{
    for (size_t i = 0; i < ag->ntargets; i++)
        free((char *)ag->targets[i].id);
    ag->ntargets = 0;
}

/* I QUEUE ID... */
static void take_ids(struct agent *ag)
{
    enum qt_queue q = QT_Q_COUNT;
    size_t i;

    if (ag->ff.n < 2 || !ag->ff.f[1] ||
        (strcmp(ag->ff.f[1], "-") != 0 && !qt_fleet_queue_from_letter(ag->ff.f[1], &q))) {
        say(ag, 'E', "an I line wants a queue letter, then IDs");
        return;
    }
    for (i = 2; i < ag->ff.n; i++) {
        ag->targets = xgrow(ag->targets, &ag->targets_cap, ag->ntargets + 1,
                            sizeof(*ag->targets));
        /* Validated by qt_action_run before anything runs. */
        ag->targets[ag->ntargets].id = xstrdup(ag->ff.f[i] ? ag->ff.f[i] : "");
        ag->targets[ag->ntargets].queue = q;
        ag->ntargets++;
    }
}

/* A REQ ACTION [SITE] */
static void run_action(struct agent *ag)
{
    struct qt_action_result res;
    enum qt_action a;
    const char *req = ag->ff.n > 1 && ag->ff.f[1] ? ag->ff.f[1] : "0";
    int64_t reqnum;

    if (ag->ff.n < 3 || !qt_fleet_parse_num(req, &reqnum) || !ag->ff.f[2] ||
        !qt_action_from_name(ag->ff.f[2], &a)) {
        qt_buf_printf(&ag->out, "a\t%lld\tfailed\t0\t0\t0\t0", (long long)0);
        qt_fleet_put_str(&ag->out, "unknown action or bad request");
        qt_buf_putc(&ag->out, '\n');
        clear_targets(ag);
        flush_out(ag);
        return;
    }
    qt_action_run(ag->layout, a, ag->targets, ag->ntargets,
                  ag->ff.n > 3 ? ag->ff.f[3] : NULL, &res);
    qt_buf_printf(&ag->out, "a\t%lld\t%s", (long long)reqnum, res.failed ? "failed" : "ok");
    qt_fleet_put_num(&ag->out, (int64_t)res.requested);
    qt_fleet_put_num(&ag->out, (int64_t)res.acted);
    qt_fleet_put_num(&ag->out, (int64_t)res.ngone);
    qt_fleet_put_num(&ag->out, (int64_t)res.nskipped);
    qt_fleet_put_str(&ag->out, res.message);
    qt_buf_putc(&ag->out, '\n');
    qt_action_result_free(&res);
    clear_targets(ag);
    flush_out(ag);
}

/* F REQ ID: the queue file's bytes, in pieces. */
static void fetch(struct agent *ag)
{
    int64_t req;
    enum qt_queue where;
    char rel[256], chunk[QT_FLEET_FETCH_CHUNK];
    int fd;
    int64_t total = 0;
    ssize_t n;

    if (ag->ff.n != 3 || !qt_fleet_parse_num(ag->ff.f[1], &req) || !ag->ff.f[2]) {
        say(ag, 'E', "an F line wants REQ ID");
        flush_out(ag);
        return;
    }
    if (!qt_queue_id_valid(ag->ff.f[2])) {
        qt_buf_printf(&ag->out, "F\t%lld\terr", (long long)req);
        qt_fleet_put_str(&ag->out, "invalid queue ID");
        qt_buf_putc(&ag->out, '\n');
        flush_out(ag);
        return;
    }
    fd = qt_spool_open_message(ag->layout, ag->ff.f[2], -1, &where, rel, sizeof(rel));
    if (fd < 0) {
        qt_buf_printf(&ag->out, "F\t%lld\terr", (long long)req);
        qt_fleet_put_str(&ag->out, errno == ENOENT ? "no longer in the queue" : strerror(errno));
        qt_buf_putc(&ag->out, '\n');
        flush_out(ag);
        return;
    }
    while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        qt_buf_printf(&ag->out, "f\t%lld", (long long)req);
        qt_fleet_put(&ag->out, chunk, (size_t)n);
        qt_buf_putc(&ag->out, '\n');
        total += n;
        if (ag->out.len >= FLUSH_AT)
            flush_out(ag);
    }
    if (n < 0) {
        qt_buf_printf(&ag->out, "F\t%lld\terr", (long long)req);
        qt_fleet_put_str(&ag->out, strerror(errno));
    } else {
        qt_buf_printf(&ag->out, "F\t%lld\tok", (long long)req);
        qt_fleet_put_num(&ag->out, total);
    }
    qt_buf_putc(&ag->out, '\n');
    close(fd);
    flush_out(ag);
}

static void handle_line(struct agent *ag, char *line, size_t len)
{
    struct qt_error err = {""};

    if (!qt_fleet_split(line, len, &ag->ff, &err)) {
        say(ag, 'E', err.msg);
        flush_out(ag);
        return;
    }
    if (!ag->greeted) {
        if (!qt_fleet_hello_check(&ag->ff, "qtriage-fleet", ag->version, &err)) {
            say(ag, 'X', err.msg);
            flush_out(ag);
            ag->quit = true;
            return;
        }
        ag->greeted = true;
        return;
    }
    switch (ag->ff.f[0][0]) {
    case 'R':
        start_scan(ag);
        break;
    case 'I':
        take_ids(ag);
        break;
    case 'A':
        run_action(ag);
        break;
    case 'F':
        fetch(ag);
        break;
    case 'Q':
        ag->quit = true;
        break;
    default:
        say(ag, 'E', "unknown request");
        flush_out(ag);
        break;
    }
}

/* Take whole lines out of ag->in; a line longer than allowed is answered
 * with an error and skipped up to its newline. */
static void read_input(struct agent *ag)
{
    size_t start = 0;

    for (;;) {
        char *nl = memchr(ag->in.data + start, '\n', ag->in.len - start);
        size_t len;

        if (!nl) {
            if (ag->in.len - start > QT_FLEET_AGENT_MAX_LINE) {
                if (!ag->skipping) {
                    say(ag, 'E', "request line too long; ignored");
                    flush_out(ag);
                }
                ag->skipping = true;
                start = ag->in.len;
            }
            break;
        }
        len = (size_t)(nl - (ag->in.data + start));
        *nl = '\0';
        if (!ag->skipping)
            handle_line(ag, ag->in.data + start, len);
        ag->skipping = false;
        start += len + 1;
        if (ag->quit)
            break;
    }
    memmove(ag->in.data, ag->in.data + start, ag->in.len - start);
    ag->in.len -= start;
}

int qt_agent_serve(const struct qt_spool_layout *layout, const char *fatal, int in_fd,
                   int out_fd, const char *version)
{
    struct agent ag = {.layout = layout, .in_fd = in_fd, .out_fd = out_fd, .version = version};
    int status = 0;

    qt_fleet_hello(&ag.out, "qtriage-agent", version);
    if (fatal) {
        say(&ag, 'X', fatal);
        flush_out(&ag);
        qt_buf_free(&ag.out);
        return 3;
    }
    flush_out(&ag);
    /* A listing is megabytes: sshd takes it in big reads from a big pipe
     * (not a pipe: nothing to do; a refusal costs only the default). */
    (void)fcntl(out_fd, F_SETPIPE_SZ, (int)FLUSH_AT);
    qt_feed_init(&ag.feed);
    ag.scanner = qt_scanner_new(layout, &ag.feed, 0);
    while (!ag.quit) {
        struct pollfd p[2] = {{.fd = in_fd, .events = POLLIN},
                              {.fd = ag.feed.notify_fd, .events = POLLIN}};

        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents)
            drain_feed(&ag);
        if (p[0].revents) {
            ssize_t n;

            qt_buf_reserve(&ag.in, 65536);
            n = read(in_fd, ag.in.data + ag.in.len, 65536);
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n <= 0)
                break;          /* end of input: the client is gone */
            ag.in.len += (size_t)n;
            read_input(&ag);
            if (!ag.greeted && ag.quit)
                status = 3;
        }
    }
    qt_feed_unblock(&ag.feed);
    qt_scanner_free(ag.scanner);
    qt_feed_destroy(&ag.feed);
    clear_targets(&ag);
    free(ag.targets);
    qt_fleet_fields_free(&ag.ff);
    qt_fleet_dict_enc_free(&ag.dict);
    qt_buf_free(&ag.in);
    qt_buf_free(&ag.out);
    return status;
}
