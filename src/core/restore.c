/* Exported messages back into the queue through sendmail, each once. */
#include "qtriage/restore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qtriage/message.h"
#include "qtriage/proc.h"
#include "qtriage/queue_file.h"
#include "qtriage/safe_file.h"
#include "qtriage/store.h"
#include "qtriage/text.h"

#define MAX_SOURCE_FILE ((off_t)1 << 31)
#define FIND_TIMEOUT_MS 30000
#define FIND_GRACE_MS 2000

/* ------------------------------------------------- exported messages */

static char *dup_n(const char *p, size_t n)
{
    char *s = xmalloc(n + 1);

    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* "<addr>" -> "addr": the first '<' and the last '>' are export's. */
static char *unbracket(const char *v, size_t n)
{
    if (n >= 2 && v[0] == '<' && v[n - 1] == '>')
        return dup_n(v + 1, n - 2);
    return NULL;
}

static void strv_push(char ***v, size_t *n, char *s)
{
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[(*n)++] = s;
}

bool qt_exported_parse(struct qt_exported *e, const char *data, size_t len)
{
    static const char *const names[] = {
        "X-Qtriage-Queue-ID", "X-Qtriage-Queue-Name", "X-Qtriage-Arrival-Date",
        "X-Qtriage-Envelope-From", "X-Qtriage-Envelope-To", "X-Qtriage-Envelope-Done",
    };
    size_t pos = 0;
    int last = -1;

    memset(e, 0, sizeof(*e));
    /* Only export's own block, in export's order: an X-Qtriage header of
     * the original message after it stays. */
    while (pos < len) {
        const char *line = data + pos, *nl = memchr(line, '\n', len - pos), *colon;
        size_t llen, nlen, vlen;
        int which = -1, i;

        if (!nl)
            break;
        llen = (size_t)(nl - line);
        colon = memchr(line, ':', llen);
        if (!colon || (size_t)(colon - line) + 2 > llen || colon[1] != ' ')
            break;
        nlen = (size_t)(colon - line);
        for (i = 0; i < 6; i++)
            if (strlen(names[i]) == nlen && memcmp(line, names[i], nlen) == 0)
                which = i;
        /* Single headers once, in order; To and Done may repeat. */
        if (which < 0 || which < last || (which == last && which < 4))
            break;
        last = which;
        vlen = llen - nlen - 2;
        switch (which) {
        case 0:
            e->old_id = dup_n(colon + 2, vlen);
            break;
        case 1:
            e->queue_name = dup_n(colon + 2, vlen);
            break;
        case 2:
            e->arrival = dup_n(colon + 2, vlen);
            break;
        case 3:
            e->sender = unbracket(colon + 2, vlen);
            if (!e->sender)
                goto bad;
            break;
        default: {
            char *a = unbracket(colon + 2, vlen);

            if (!a)
                goto bad;
            if (which == 4)
                strv_push(&e->rcpts, &e->nrcpts, a);
            else
                strv_push(&e->done, &e->ndone, a);
        }
        }
        pos += llen + 1;
    }
    if (!e->old_id || !qt_queue_id_valid(e->old_id) || !e->sender)
        goto bad;
    e->content = data + pos;
    e->content_len = len - pos;
    return true;
bad:
    qt_exported_free(e);
    return false;
}

void qt_exported_free(struct qt_exported *e)
{
    size_t i;

    free(e->old_id);
    free(e->queue_name);
    free(e->arrival);
    free(e->sender);
    for (i = 0; i < e->nrcpts; i++)
        free(e->rcpts[i]);
    for (i = 0; i < e->ndone; i++)
        free(e->done[i]);
    free(e->rcpts);
    free(e->done);
    memset(e, 0, sizeof(*e));
}

/* ------------------------------------------------------- the source */

struct source_msg {
    char *where;                /* "DIR/ID.eml" or "MBOX, message N" */
    char *data;
    size_t len;
};

struct source {
    struct source_msg *msgs;
    size_t n;
    int dir_fd;                 /* where the journal goes */
    char *journal_name;
    char *journal_shown;
};

/* Read a file of the caller's that no one else can change. */
static bool read_own_file(int dir_fd, const char *name, const char *shown, char **data,
                          size_t *len, struct qt_error *err)
{
    struct stat st;
    size_t got = 0;
    int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

    if (fd < 0) {
        qt_error_set(err, "cannot open %s: %s%s", shown, strerror(errno),
                     errno == ELOOP ? " (a symbolic link: refused)" : "");
        return false;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & (S_IWGRP | S_IWOTH)) || st.st_size > MAX_SOURCE_FILE) {
        qt_error_set(err, "refusing to read %s: it must be a regular file of yours, "
                     "writable by no one else, under 2 GiB", shown);
        close(fd);
        return false;
    }
    *data = xmalloc((size_t)st.st_size + 1);
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, *data + got, (size_t)st.st_size - got);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    *len = got;
    (*data)[got] = '\0';
    return true;
}

static void source_add(struct source *s, char *where, char *data, size_t len)
{
    s->msgs = xrealloc(s->msgs, (s->n + 1) * sizeof(*s->msgs));
    s->msgs[s->n].where = where;
    s->msgs[s->n].data = data;
    s->msgs[s->n].len = len;
    s->n++;
}

static bool is_eml_name(const char *name)
{
    size_t n = strspn(name, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    return n > 0 && strcmp(name + n, ".eml") == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool load_dir(struct source *s, const char *path, struct qt_error *err)
{
    char **names = NULL;
    size_t n = 0, i;
    struct dirent *de;
    int fd;
    DIR *d;

    fd = dup(s->dir_fd);
    d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        qt_error_set(err, "cannot read %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return false;
    }
    while ((de = readdir(d)) != NULL)
        if (is_eml_name(de->d_name))
            strv_push(&names, &n, xstrdup(de->d_name));
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_str);
    for (i = 0; i < n; i++) {
        char *shown = xasprintf("%s/%s", path, names[i]), *data;
        size_t len;

        if (read_own_file(s->dir_fd, names[i], shown, &data, &len, err)) {
            source_add(s, shown, data, len);
        } else {
            /* One bad file must not hide the others: it is reported as
             * a message that failed. */
            source_add(s, shown, NULL, 0);
            s->msgs[s->n - 1].data = xstrdup(err->msg);
            s->msgs[s->n - 1].len = (size_t)-1;
        }
        free(names[i]);
    }
    free(names);
    s->journal_name = xstrdup(".qtriage-restore.journal");
    s->journal_shown = xasprintf("%s/%s", path, s->journal_name);
    return true;
}

/* mboxrd as export.h writes it: every line starting "From " begins a
 * message (others were quoted), a blank line ends each, ">From" lines lost
 * one '>'. */
static void split_mbox(struct source *s, const char *path, const char *data, size_t len)
{
    size_t pos = 0, count = 0;

    while (pos < len) {
        const char *from_end = memchr(data + pos, '\n', len - pos);
        size_t start, end, p;
        struct qt_buf msg = {0};

        if (!from_end)
            break;
        start = (size_t)(from_end - data) + 1;
        for (end = start; end < len;) {
            const char *nl = memchr(data + end, '\n', len - end);
            size_t next = nl ? (size_t)(nl - data) + 1 : len;

            if (end > start && len - end >= 5 && memcmp(data + end, "From ", 5) == 0)
                break;
            end = next;
        }
        count++;
        /* Drop the blank line export put after the message. */
        if (end - start >= 2 && data[end - 1] == '\n' && data[end - 2] == '\n')
            end--;
        for (p = start; p < end;) {
            const char *nl = memchr(data + p, '\n', end - p);
            size_t next = nl ? (size_t)(nl - data) + 1 : end, gt = 0;

            while (p + gt < next && data[p + gt] == '>')
                gt++;
            if (gt > 0 && next - p - gt >= 5 && memcmp(data + p + gt, "From ", 5) == 0)
                p++;
            qt_buf_append(&msg, data + p, next - p);
            p = next;
        }
        if (!msg.data)
            qt_buf_append(&msg, "", 0);
        source_add(s, xasprintf("%s, message %zu", path, count), msg.data, msg.len);
        pos = end;
        while (pos < len && data[pos] == '\n')
            pos++;
    }
}

static bool load_mbox(struct source *s, const char *path, const char *name, struct qt_error *err)
{
    char *data;
    size_t len;

    if (!read_own_file(s->dir_fd, name, path, &data, &len, err))
        return false;
    if (len > 0 && memcmp(data, "From ", len < 5 ? len : 5) != 0) {
        qt_error_set(err, "%s is not an mbox (it does not start with \"From \")", path);
        free(data);
        return false;
    }
    split_mbox(s, path, data, len);
    free(data);
    s->journal_name = xasprintf("%s.qtriage-restore.journal", name);
    s->journal_shown = xasprintf("%s.qtriage-restore.journal", path);
    return true;
}

static bool source_load(struct source *s, const char *path, struct qt_error *err)
{
    char *name = NULL;
    struct stat st;
    bool ok;
    int fd;

    memset(s, 0, sizeof(*s));
    s->dir_fd = -1;
    /* A directory if it is one (not through a link), else an mbox. */
    fd = qt_safe_open_parent(path, &name, err);
    if (fd < 0)
        return false;
    if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        free(name);
        s->dir_fd = qt_safe_open_dir(path, false, err);
        return s->dir_fd >= 0 && load_dir(s, path, err);
    }
    s->dir_fd = fd;
    ok = load_mbox(s, path, name, err);
    free(name);
    return ok;
}

static void source_free(struct source *s)
{
    size_t i;

    for (i = 0; i < s->n; i++) {
        free(s->msgs[i].where);
        free(s->msgs[i].data);
    }
    free(s->msgs);
    if (s->dir_fd >= 0)
        close(s->dir_fd);
    free(s->journal_name);
    free(s->journal_shown);
}

/* ------------------------------------------------------- the journal */

enum jstate { J_NONE, J_SENDING, J_SENT };

struct jentry {
    char key[96];
    char envid[96];
    long when;
    enum jstate state;
    char new_id[64];
};

struct journal {
    struct jentry *e;
    size_t n;
    int fd;                     /* -1 until the first write (dry runs never) */
    int dir_fd;                 /* borrowed */
    const char *name, *shown;
};

static struct jentry *journal_find(struct journal *j, const char *key)
{
    size_t i;

    for (i = j->n; i-- > 0;)
        if (strcmp(j->e[i].key, key) == 0)
            return &j->e[i];
    return NULL;
}

/* Any sent entry for the old queue ID `id`, whatever the copy's bytes: an
 * mbox exported to twice holds two copies of a message whose queue state
 * changed in between, and only one may be sent. */
static struct jentry *journal_find_sent_id(struct journal *j, const char *id)
{
    size_t i, n = strlen(id);

    for (i = j->n; i-- > 0;)
        if (j->e[i].state == J_SENT && strncmp(j->e[i].key, id, n) == 0 &&
            j->e[i].key[n] == '-')
            return &j->e[i];
    return NULL;
}

static struct jentry *journal_entry(struct journal *j, const char *key)
{
    struct jentry *e = journal_find(j, key);

    if (e)
        return e;
    j->e = xrealloc(j->e, (j->n + 1) * sizeof(*j->e));
    e = &j->e[j->n++];
    memset(e, 0, sizeof(*e));
    snprintf(e->key, sizeof(e->key), "%s", key);
    return e;
}

static void journal_line(struct journal *j, const char *line)
{
    char verb[16], key[96], arg[96];
    long when = 0;
    struct jentry *e;

    if (sscanf(line, "%15s %95s %95s %ld", verb, key, arg, &when) < 3)
        return;
    e = journal_entry(j, key);
    if (strcmp(verb, "sending") == 0) {
        e->state = J_SENDING;
        snprintf(e->envid, sizeof(e->envid), "%s", arg);
        e->when = when;
        e->new_id[0] = '\0';
    } else if (strcmp(verb, "sent") == 0) {
        e->state = J_SENT;
    } else if (strcmp(verb, "failed") == 0) {
        e->state = J_NONE;
    } else if (strcmp(verb, "queued") == 0) {
        e->state = J_SENT;
        snprintf(e->new_id, sizeof(e->new_id), "%.63s", arg);
    }
}

static bool journal_load(struct journal *j, struct source *s, struct qt_error *err)
{
    char *data = NULL, *line, *save = NULL;
    size_t len;
    struct stat st;

    memset(j, 0, sizeof(*j));
    j->fd = -1;
    j->dir_fd = s->dir_fd;
    j->name = s->journal_name;
    j->shown = s->journal_shown;
    if (fstatat(s->dir_fd, j->name, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
        return true;
    if (!read_own_file(s->dir_fd, j->name, j->shown, &data, &len, err))
        return false;
    for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        journal_line(j, line);
    free(data);
    return true;
}

/* Append one line and make it durable before the next step. */
static bool journal_write(struct journal *j, const char *line, struct qt_error *err)
{
    size_t len = strlen(line);
    bool created;

    if (j->fd < 0) {
        j->fd = qt_safe_open_append(j->dir_fd, j->name, j->shown, &created, err);
        if (j->fd < 0)
            return false;
    }
    if (write(j->fd, line, len) != (ssize_t)len || fsync(j->fd) < 0) {
        qt_error_set(err, "cannot write the journal %s: %s", j->shown, strerror(errno));
        return false;
    }
    journal_line(j, line);
    return true;
}

static void journal_close(struct journal *j)
{
    if (j->fd >= 0)
        close(j->fd);
    free(j->e);
}

/* ---------------------------------------------- finding new queue IDs */

struct wanted {
    const char *envid;
    char *new_id;               /* 64 bytes, filled when found */
    bool found;
};

/* Look at the queue files of every queue but maildrop changed since
 * `since` (ctime: cleanup created them then) for the envelope IDs. */
static size_t scan_for_envids(const struct qt_spool_layout *l, long since, struct wanted *w,
                              size_t nw)
{
    static const enum qt_queue queues[] = {QT_Q_INCOMING, QT_Q_ACTIVE, QT_Q_DEFERRED,
                                           QT_Q_HOLD, QT_Q_CORRUPT};
    struct qt_queue_file qf;
    size_t found = 0, qi, i;

    qt_queue_file_init(&qf);
    for (qi = 0; qi < sizeof(queues) / sizeof(queues[0]); qi++) {
        /* Directories still to read: the queue, then its hash levels (16
         * per level, hash_queue_depth levels). */
        char **todo = NULL;
        size_t ntodo = 0, cap = 0;

        todo = xgrow(todo, &cap, 1, sizeof(*todo));
        todo[ntodo++] = xasprintf("%s/%s", l->queue_directory, qt_queue_name(queues[qi]));
        while (ntodo > 0) {
            char *dir = todo[--ntodo];
            DIR *d = opendir(dir);
            struct dirent *de;

            while (d && (de = readdir(d)) != NULL) {
                char *path;
                struct stat st;
                const char *envid;

                if (de->d_name[0] == '.')
                    continue;
                path = xasprintf("%s/%s", dir, de->d_name);
                if (lstat(path, &st) < 0) {
                    free(path);
                    continue;
                }
                if (S_ISDIR(st.st_mode) && strlen(de->d_name) == 1 && ntodo < 4096) {
                    todo = xgrow(todo, &cap, ntodo + 1, sizeof(*todo));
                    todo[ntodo++] = path;
                    continue;
                }
                if (S_ISREG(st.st_mode) && st.st_ctime >= since &&
                    qt_queue_id_valid(de->d_name)) {
                    qt_queue_file_read_path(&qf, path, de->d_name, false, NULL);
                    envid = qt_queue_file_attr(&qf, "envelope_id");
                    for (i = 0; envid && i < nw; i++)
                        if (!w[i].found && strcmp(w[i].envid, envid) == 0) {
                            snprintf(w[i].new_id, 64, "%.63s", de->d_name);
                            w[i].found = true;
                            found++;
                        }
                }
                free(path);
            }
            if (d)
                closedir(d);
            free(dir);
        }
        free(todo);
    }
    qt_queue_file_free(&qf);
    return found;
}

/* Files in maildrop made since `since`: submissions pickup has not taken. */
static size_t maildrop_waiting(const struct qt_spool_layout *l, long since)
{
    char *dir = xasprintf("%s/maildrop", l->queue_directory);
    DIR *d = opendir(dir);
    struct dirent *de;
    struct stat st;
    size_t n = 0;

    while (d && (de = readdir(d)) != NULL)
        if (de->d_name[0] != '.' && fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISREG(st.st_mode) && st.st_ctime >= since)
            n++;
    if (d)
        closedir(d);
    free(dir);
    return n;
}

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for pickup and cleanup to take the submissions, then name them.
 * Once the maildrop holds none of ours, every one still queued is in some
 * queue; qmgr may be moving it between two queues while we look, so the
 * looking goes on for a short grace time before the rest counts as
 * delivered already. */
static void find_new_ids(const struct qt_spool_layout *l, long since, struct wanted *w,
                         size_t nw)
{
    long deadline = now_ms() + FIND_TIMEOUT_MS, grace_end = 0;
    size_t found = 0;

    for (;;) {
        struct timespec pause = {0, 50 * 1000 * 1000};

        if (!grace_end && maildrop_waiting(l, since) == 0)
            grace_end = now_ms() + FIND_GRACE_MS;
        found += scan_for_envids(l, since, w, nw);
        if (found >= nw || now_ms() > deadline || (grace_end && now_ms() > grace_end))
            return;
        nanosleep(&pause, NULL);
    }
}

/* ------------------------------------------------------------ sending */

static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    while (n--) {
        h ^= (unsigned char)*p++;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static bool send_one(const struct qt_restore_options *opt, const struct qt_exported *e,
                     const char *envid, struct qt_error *err)
{
    const char **argv = xcalloc(e->nrcpts + 16, sizeof(*argv));
    struct qt_proc_spec spec = {0};
    struct qt_proc_result res = {0};
    size_t i, n = 0;
    bool ok;

    argv[n++] = opt->sendmail;
    if (opt->layout->config_dir) {
        argv[n++] = "-C";
        argv[n++] = opt->layout->config_dir;
    }
    argv[n++] = "-G";
    argv[n++] = "-i";
    argv[n++] = "-V";
    argv[n++] = envid;
    argv[n++] = "-f";
    argv[n++] = e->sender;
    argv[n++] = "--";
    for (i = 0; i < e->nrcpts; i++)
        argv[n++] = e->rcpts[i];
    argv[n] = NULL;
    spec.argv = argv;
    spec.stdin_data = e->content;
    spec.stdin_len = e->content_len;
    ok = qt_proc_run(&spec, &res);
    if (!ok) {
        char buf[400];

        qt_proc_describe(&spec, &res, buf, sizeof(buf));
        qt_error_set(err, "%s", buf);
    }
    qt_proc_result_free(&res);
    free(argv);
    return ok;
}

/* ----------------------------------------------------------- filtering */

/* The unfolded value of header `name` in the header block, or NULL. */
static char *header_value(const char *content, size_t len, const char *name)
{
    size_t nlen = strlen(name), pos = 0;

    while (pos < len && content[pos] != '\n') {
        const char *line = content + pos, *nl = memchr(line, '\n', len - pos);
        size_t llen = nl ? (size_t)(nl - line) : len - pos;

        if (llen > nlen && line[nlen] == ':' && strncasecmp(line, name, nlen) == 0) {
            struct qt_buf v = {0};
            size_t p = pos + nlen + 1;

            for (;;) {
                const char *e = memchr(content + p, '\n', len - p);
                size_t end = e ? (size_t)(e - content) : len;

                qt_buf_append(&v, content + p, end - p);
                p = end + 1;
                if (!e || p >= len || (content[p] != ' ' && content[p] != '\t'))
                    break;
            }
            return v.data ? v.data : xstrdup("");
        }
        pos += llen + 1;
    }
    return NULL;
}

static long parse_arrival(const char *s)
{
    struct tm tm;
    const char *end;

    memset(&tm, 0, sizeof(tm));
    if (!s || !(end = strptime(s, "%a, %d %b %Y %H:%M:%S", &tm)))
        return 0;
    return (long)timegm(&tm);
}

/* A store entry built from the exported headers, for the filter: id,
 * queue, sender, rcpt (pending and done), subject and from (decoded), size
 * (of the message), age (from the arrival date), rcpts. */
static bool filter_matches(struct qt_filter *f, const struct qt_exported *e)
{
    struct qt_rcpt_data *r = xcalloc(e->nrcpts + e->ndone + 1, sizeof(*r));
    struct qt_msg_data d = {0};
    char *subject_raw = header_value(e->content, e->content_len, "Subject");
    char *from_raw = header_value(e->content, e->content_len, "From");
    struct qt_store s;
    enum qt_queue q = QT_Q_DEFERRED;
    size_t i;
    bool match;

    if (e->queue_name)
        qt_queue_from_name(e->queue_name, &q);
    d.id = e->old_id;
    d.queue = q;
    d.null_sender = !e->sender[0];
    d.sender = e->sender[0] ? e->sender : "MAILER-DAEMON";
    d.subject = subject_raw ? qt_text_decode_header(subject_raw, 4096) : NULL;
    d.from = from_raw ? qt_text_decode_header(from_raw, 4096) : NULL;
    for (i = 0; i < e->nrcpts; i++) {
        r[i].address = e->rcpts[i];
        r[i].state = QT_RCPT_PENDING;
    }
    for (i = 0; i < e->ndone; i++) {
        r[e->nrcpts + i].address = e->done[i];
        r[e->nrcpts + i].state = QT_RCPT_DONE;
    }
    d.rcpts = r;
    d.nrcpts = e->nrcpts + e->ndone;
    d.arrival = d.create_time = parse_arrival(e->arrival);
    d.msg_size = d.content_size = (int64_t)e->content_len;
    qt_store_init(&s);
    qt_store_upsert(&s, &d);
    match = s.n == 1 && qt_filter_match(f, &s, &s.msgs[0], (int64_t)time(NULL));
    qt_store_free(&s);
    free((char *)d.subject);
    free((char *)d.from);
    free(subject_raw);
    free(from_raw);
    free(r);
    return match;
}

/* ------------------------------------------------------------- the run */

struct id_at {
    char *id;
    size_t at;
};

static int cmp_id_at(const void *a, const void *b)
{
    const struct id_at *x = a, *y = b;
    int c = strcmp(x->id, y->id);

    return c ? c : (x->at > y->at) - (x->at < y->at);
}

/* superseded[i]: a later message of the source has the same old queue ID
 * (the later export is the newer state: only it is restored). */
static bool *find_superseded(const struct source *src)
{
    struct id_at *v = xcalloc(src->n + 1, sizeof(*v));
    bool *superseded = xcalloc(src->n + 1, sizeof(*superseded));
    size_t n = 0, i;

    for (i = 0; i < src->n; i++) {
        struct qt_exported e;

        if (src->msgs[i].len == (size_t)-1 ||
            !qt_exported_parse(&e, src->msgs[i].data, src->msgs[i].len))
            continue;
        v[n].id = xstrdup(e.old_id);
        v[n++].at = i;
        qt_exported_free(&e);
    }
    qsort(v, n, sizeof(*v), cmp_id_at);
    for (i = 0; i + 1 < n; i++)
        if (strcmp(v[i].id, v[i + 1].id) == 0)
            superseded[v[i].at] = true;
    for (i = 0; i < n; i++)
        free(v[i].id);
    free(v);
    return superseded;
}

static struct qt_restore_item *add_item(struct qt_restore_result *res, const char *old_id,
                                        const char *sender, size_t nrcpts,
                                        enum qt_restore_status st)
{
    struct qt_restore_item *it;

    res->items = xgrow(res->items, &res->cap, res->n + 1, sizeof(*res->items));
    it = &res->items[res->n++];
    memset(it, 0, sizeof(*it));
    it->old_id = xstrdup(old_id);
    it->sender = xstrdup(sender ? sender : "");
    it->nrcpts = nrcpts;
    it->status = st;
    return it;
}

static void item_fail(struct qt_restore_result *res, struct qt_restore_item *it, const char *why)
{
    it->status = QT_RESTORE_FAILED;
    it->why = xstrdup(why);
    res->nfailed++;
}

static bool wanted_id(const struct qt_restore_options *opt, const char *id, bool *seen)
{
    size_t i;
    bool want = opt->nids == 0;

    for (i = 0; i < opt->nids; i++)
        if (strcmp(opt->ids[i], id) == 0) {
            seen[i] = true;
            want = true;
        }
    return want;
}

/* A message of the journal's "sending" state: did postdrop take it? */
static bool settle_interrupted(const struct qt_restore_options *opt, struct journal *j,
                               struct jentry *je, struct qt_error *err)
{
    struct wanted w = {.envid = je->envid};
    char id[64] = "", line[256];

    w.new_id = id;
    if (scan_for_envids(opt->layout, je->when - 2, &w, 1) == 0)
        return false;
    snprintf(line, sizeof(line), "sent %s %s\n", je->key, je->envid);
    if (!journal_write(j, line, err))
        return false;
    snprintf(line, sizeof(line), "queued %s %s\n", je->key, id);
    return journal_write(j, line, err);
}

bool qt_restore_run(const struct qt_restore_options *opt, struct qt_restore_result *res)
{
    struct qt_error err = {""};
    struct source src;
    struct journal j;
    struct wanted *w = NULL;
    size_t *w_item = NULL, nw = 0, i;
    bool *seen = xcalloc(opt->nids + 1, sizeof(*seen)), *superseded;
    long since = (long)time(NULL) - 2;
    char line[1024];

    memset(res, 0, sizeof(*res));
    if (!source_load(&src, opt->source, &err) || !journal_load(&j, &src, &err)) {
        snprintf(res->message, sizeof(res->message), "restore: %s; nothing restored", err.msg);
        source_free(&src);
        free(seen);
        return false;
    }
    superseded = find_superseded(&src);
    for (i = 0; i < src.n; i++) {
        struct source_msg *m = &src.msgs[i];
        struct qt_exported e;
        struct qt_restore_item *it;
        struct jentry *je;
        char key[96], envid[96];

        if (m->len == (size_t)-1) {
            it = add_item(res, "?", "", 0, QT_RESTORE_FAILED);
            item_fail(res, it, m->data);
            continue;
        }
        if (!qt_exported_parse(&e, m->data, m->len)) {
            it = add_item(res, "?", "", 0, QT_RESTORE_FAILED);
            snprintf(line, sizeof(line), "%.200s is not a message qtriage exported (no "
                     "X-Qtriage-Queue-ID and X-Qtriage-Envelope-From at its top)", m->where);
            item_fail(res, it, line);
            continue;
        }
        if (!wanted_id(opt, e.old_id, seen) || (opt->filter && !filter_matches(opt->filter, &e))) {
            qt_exported_free(&e);
            continue;
        }
        snprintf(key, sizeof(key), "%s-%016llx", e.old_id,
                 (unsigned long long)fnv1a(m->data, m->len));
        it = add_item(res, e.old_id, e.sender, e.nrcpts, QT_RESTORE_SENT);
        if (superseded[i]) {
            it->status = QT_RESTORE_SUPERSEDED;
            qt_exported_free(&e);
            continue;
        }
        je = journal_find(&j, key);
        if (je && je->state == J_SENDING && !opt->dry_run && settle_interrupted(opt, &j, je, &err))
            je = journal_find(&j, key);
        if (!je || je->state == J_NONE)
            je = journal_find_sent_id(&j, e.old_id);
        if (je && je->state == J_SENT) {
            it->status = QT_RESTORE_ALREADY;
            snprintf(it->new_id, sizeof(it->new_id), "%s", je->new_id);
            res->nalready++;
        } else if (je && je->state == J_SENDING && !opt->force) {
            snprintf(line, sizeof(line), "an earlier restore was interrupted while sendmail "
                     "ran (envelope ID %s) and it is not in the queue now: it may have been "
                     "delivered; --force sends it again", je->envid);
            item_fail(res, it, line);
        } else if (e.nrcpts == 0) {
            it->status = QT_RESTORE_NOTHING;
        } else if (opt->dry_run) {
            it->status = QT_RESTORE_WOULD;
            res->nwould++;
        } else {
            snprintf(envid, sizeof(envid), "qtriage.%016llx.%lx.%ld",
                     (unsigned long long)fnv1a(m->data, m->len), (unsigned long)time(NULL),
                     (long)getpid());
            snprintf(line, sizeof(line), "sending %s %s %ld\n", key, envid, (long)time(NULL));
            if (!journal_write(&j, line, &err)) {
                item_fail(res, it, err.msg);
            } else if (!send_one(opt, &e, envid, &err)) {
                item_fail(res, it, err.msg);
                snprintf(line, sizeof(line), "failed %s %s\n", key, envid);
                journal_write(&j, line, &err);
            } else {
                snprintf(line, sizeof(line), "sent %s %s\n", key, envid);
                if (!journal_write(&j, line, &err))
                    item_fail(res, it, err.msg);
                else
                    res->nsent++;
                w = xrealloc(w, (nw + 1) * sizeof(*w));
                w_item = xrealloc(w_item, (nw + 1) * sizeof(*w_item));
                w[nw].envid = xstrdup(envid);
                w[nw].found = false;
                w[nw].new_id = NULL;
                w_item[nw++] = res->n - 1;
            }
        }
        qt_exported_free(&e);
    }
    if (nw > 0) {
        for (i = 0; i < nw; i++)
            w[i].new_id = res->items[w_item[i]].new_id;
        find_new_ids(opt->layout, since, w, nw);
        for (i = 0; i < nw; i++) {
            const struct qt_restore_item *it = &res->items[w_item[i]];

            if (w[i].found) {
                /* The key is the journal's: the last "sending" of this ENVID. */
                size_t k;

                for (k = j.n; k-- > 0;)
                    if (strcmp(j.e[k].envid, w[i].envid) == 0)
                        break;
                if (k < j.n) {
                    snprintf(line, sizeof(line), "queued %s %s\n", j.e[k].key, it->new_id);
                    journal_write(&j, line, &err);
                }
            }
            free((char *)w[i].envid);
        }
    }
    for (i = 0; i < opt->nids; i++)
        if (!seen[i]) {
            res->missing = xrealloc(res->missing, (res->nmissing + 1) * sizeof(*res->missing));
            res->missing[res->nmissing++] = xstrdup(opt->ids[i]);
        }
    if (opt->dry_run)
        snprintf(res->message, sizeof(res->message),
                 "restore from %.300s (dry run): %zu would be restored, %zu already restored",
                 opt->source, res->nwould, res->nalready);
    else
        snprintf(res->message, sizeof(res->message),
                 "restore from %.300s: %zu restored, %zu already restored", opt->source,
                 res->nsent, res->nalready);
    if (res->nfailed) {
        size_t len = strlen(res->message);

        snprintf(res->message + len, sizeof(res->message) - len, ", %zu NOT restored",
                 res->nfailed);
    }
    free(w);
    free(w_item);
    free(seen);
    free(superseded);
    journal_close(&j);
    source_free(&src);
    return res->nfailed == 0 && res->nmissing == 0;
}

void qt_restore_result_free(struct qt_restore_result *res)
{
    size_t i;

    for (i = 0; i < res->n; i++) {
        free(res->items[i].old_id);
        free(res->items[i].sender);
        free(res->items[i].why);
    }
    free(res->items);
    for (i = 0; i < res->nmissing; i++)
        free(res->missing[i]);
    free(res->missing);
    memset(res, 0, sizeof(*res));
}
