/* Queued messages as RFC 822 files (.eml or mboxrd), written so that a
 * message counts as exported only once it is safely on disk. */
#include "qtriage/export.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qtriage/idmap.h"
#include "qtriage/queue_file.h"
#include "qtriage/record.h"
#include "qtriage/safe_file.h"

/* ------------------------------------------------------------ output */

/* Buffered writes to an fd; the first failure sticks (errno in `err`). */
struct sink {
    int fd;
    int err;
    size_t len;
    char buf[65536];
};

static bool write_all(int fd, const char *p, size_t len, int *err)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            *err = errno;
            return false;
        }
        if (n == 0) {
            *err = EIO;
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static void sink_flush(struct sink *s)
{
    if (!s->err && s->len)
        write_all(s->fd, s->buf, s->len, &s->err);
    s->len = 0;
}

static void sink_put(struct sink *s, const char *p, size_t len)
{
    if (s->err)
        return;
    if (len >= sizeof(s->buf)) {
        sink_flush(s);
        if (!s->err)
            write_all(s->fd, p, len, &s->err);
        return;
    }
    if (s->len + len > sizeof(s->buf))
        sink_flush(s);
    memcpy(s->buf + s->len, p, len);
    s->len += len;
}

static void sink_str(struct sink *s, const char *str)
{
    sink_put(s, str, strlen(str));
}

/* An address from the envelope in a header or the From line: control
 * characters (CR, LF, ...) become '?' so it stays on its one line; in the
 * From line blanks too, which would end the address. */
static void sink_address(struct sink *s, const char *addr, bool no_blanks)
{
    const unsigned char *p = (const unsigned char *)addr;

    for (; *p; p++) {
        char c = (char)*p;

        if (*p < 0x20 || *p == 0x7f || (no_blanks && *p == ' '))
            c = '?';
        sink_put(s, &c, 1);
    }
}

static void sink_header_address(struct sink *s, const char *name, const char *addr)
{
    sink_str(s, name);
    sink_str(s, ": <");
    sink_address(s, addr, false);
    sink_str(s, ">\n");
}

/* --------------------------------------------------- mboxrd quoting */

/* The start of the current line is held back until it is known whether it
 * matches ^>*From  (a hostile file may cut "From " over several records). */
struct line_head {
    bool at_start;              /* nothing of this line written yet */
    char held[8];
    size_t nheld;
    size_t gt;                  /* leading '>' seen (counted, not held) */
};

static void head_release(struct sink *s, struct line_head *h, bool quote)
{
    if (quote)
        sink_put(s, ">", 1);
    for (size_t i = 0; i < h->gt; i++)
        sink_put(s, ">", 1);
    sink_put(s, h->held, h->nheld);
    h->at_start = false;
    h->nheld = h->gt = 0;
}

/* Feed text of the current line; whatever is decided gets written. */
static void mbox_text(struct sink *s, struct line_head *h, const char *p, size_t len)
{
    static const char from[] = "From ";

    while (h->at_start && len > 0) {
        if (h->nheld == 0 && *p == '>') {
            h->gt++;
        } else if (*p == from[h->nheld]) {
            h->held[h->nheld++] = *p;
            if (h->nheld == 5) {
                p++, len--;
                head_release(s, h, true);
                break;
            }
        } else {
            head_release(s, h, false);
            break;
        }
        p++, len--;
    }
    sink_put(s, p, len);
}

static void mbox_line_end(struct sink *s, struct line_head *h)
{
    if (h->at_start)
        head_release(s, h, false);
    sink_put(s, "\n", 1);
    h->at_start = true;
}

/* ------------------------------------------------- message rebuild */

static void format_date(char *buf, size_t size, long t, bool asctime_form)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t when = (time_t)t;
    struct tm tm;

    if (!gmtime_r(&when, &tm) || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 ||
        tm.tm_mon > 11 || tm.tm_year > 8000) {
        when = 0;
        gmtime_r(&when, &tm);
    }
    if (asctime_form)
        snprintf(buf, size, "%s %s %2d %02d:%02d:%02d %d", days[tm.tm_wday], months[tm.tm_mon],
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
    else
        snprintf(buf, size, "%s, %02d %s %d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
                 months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void write_envelope(struct sink *s, const struct qt_queue_file *qf, const char *id,
                           const char *queue_name, enum qt_export_format fmt)
{
    char date[64];
    size_t i;

    if (fmt == QT_EXPORT_MBOX) {
        sink_str(s, "From ");
        if (qf->sender[0])
            sink_address(s, qf->sender, true);
        else
            sink_str(s, "MAILER-DAEMON");
        format_date(date, sizeof(date), qf->arrival_sec, true);
        sink_str(s, " ");
        sink_str(s, date);
        sink_str(s, "\n");
    }
    /* The ID is checked by the caller; the queue name is ours. */
    sink_str(s, "X-Qtriage-Queue-ID: ");
    sink_str(s, id);
    sink_str(s, "\nX-Qtriage-Queue-Name: ");
    sink_str(s, queue_name);
    format_date(date, sizeof(date), qf->arrival_sec, false);
    sink_str(s, "\nX-Qtriage-Arrival-Date: ");
    sink_str(s, date);
    sink_str(s, "\n");
    sink_header_address(s, "X-Qtriage-Envelope-From", qf->sender);
    for (i = 0; i < qf->nrcpts; i++)
        if (qf->rcpts[i].state == QT_RCPT_PENDING)
            sink_header_address(s, "X-Qtriage-Envelope-To", qf->rcpts[i].address);
    for (i = 0; i < qf->nrcpts; i++)
        if (qf->rcpts[i].state == QT_RCPT_DONE)
            sink_header_address(s, "X-Qtriage-Envelope-Done", qf->rcpts[i].address);
}

/* Stream the content records, from the M record to the X record.  Returns
 * false with `err` set when the file ends or breaks first. */
static bool write_content(struct sink *s, int qf_fd, off_t size, enum qt_export_format fmt,
                          struct qt_error *err)
{
    struct qt_record_reader r = {0};
    struct line_head head = {.at_start = true};
    bool in_content = false, ok = false;
    int type;

    qt_record_reader_init(&r, qf_fd, size, qt_queue_file_default_limits.max_record);
    while (!s->err) {
        type = qt_record_next(&r, true);
        if (type == QT_REC_ERROR) {
            qt_error_set(err, "%s", r.error);
            break;
        }
        if (type == QT_REC_EOF) {
            qt_error_set(err, "file is truncated: it ends inside the message %s",
                         in_content ? "content" : "envelope");
            break;
        }
        if (!in_content) {
            in_content = type == QT_REC_MESG;
            continue;
        }
        if (type == QT_REC_XTRA) {
            /* A last L record without its N would leave the line open. */
            if (fmt == QT_EXPORT_MBOX && !head.at_start)
                mbox_line_end(s, &head);
            ok = true;
            break;
        }
        if (type != QT_REC_NORM && type != QT_REC_CONT) {
            qt_error_set(err, "unexpected record '%c' in the message content at offset %lld",
                         type >= 0x21 && type < 0x7f ? type : '?', (long long)r.rec_offset);
            break;
        }
        if (fmt == QT_EXPORT_MBOX) {
            mbox_text(s, &head, r.payload.data, r.payload.len);
            if (type == QT_REC_NORM)
                mbox_line_end(s, &head);
        } else {
            head.at_start = type == QT_REC_NORM;
            sink_put(s, r.payload.data, r.payload.len);
            if (type == QT_REC_NORM)
                sink_put(s, "\n", 1);
        }
    }
    if (ok && fmt == QT_EXPORT_EML_DIR && !head.at_start)
        sink_put(s, "\n", 1);
    if (ok && fmt == QT_EXPORT_MBOX)
        sink_put(s, "\n", 1);
    qt_record_reader_free(&r);
    return ok;
}

bool qt_export_write(int qf_fd, const char *id, const char *queue_name,
                     enum qt_export_format fmt, int out_fd, struct qt_error *err)
{
    struct qt_queue_file qf;
    struct sink *s;
    bool ok = false;

    errno = 0;
    if (!qt_queue_id_valid(id)) {
        qt_error_set(err, "not a queue ID: \"%.64s\"", id);
        return false;
    }
    /* First the envelope, the extracted segment included (sendmail -t puts
     * recipients there, after the content), then the content itself. */
    qt_queue_file_init(&qf);
    if (!qt_queue_file_read(&qf, qf_fd, id, strcmp(queue_name, "maildrop") == 0, NULL)) {
        qt_error_set(err, "%s", qf.error);
        qt_queue_file_free(&qf);
        errno = 0;
        return false;
    }
    s = xmalloc(sizeof(*s));
    s->fd = out_fd;
    s->err = 0;
    s->len = 0;
    write_envelope(s, &qf, id, queue_name, fmt);
    if (write_content(s, qf_fd, qf.file_size, fmt, err)) {
        sink_flush(s);
        ok = !s->err;
        if (s->err)
            qt_error_set(err, "write: %s", strerror(s->err));
    } else if (s->err) {
        qt_error_set(err, "write: %s", strerror(s->err));
    }
    errno = ok ? 0 : s->err;
    free(s);
    qt_queue_file_free(&qf);
    return ok;
}

/* ------------------------------------------------------- targets */

/* Besides flock (which mutt and dovecot take), an fcntl lock (procmail,
 * mutt too): on Linux the two are independent, so a reader honouring
 * either keeps out while we append. */
static bool lock_mbox(int fd)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

    if (flock(fd, LOCK_EX | LOCK_NB) < 0)
        return false;
    return fcntl(fd, F_SETLK, &fl) == 0;
}

static bool open_mbox(struct qt_exporter *x, const char *path, struct qt_error *err)
{
    char *name = NULL;
    bool created;

    x->dir_fd = qt_safe_open_parent(path, &name, err);
    if (x->dir_fd < 0)
        return false;
    x->mbox_fd = qt_safe_open_append(x->dir_fd, name, path, &created, err);
    free(name);
    if (x->mbox_fd < 0)
        return false;
    if (!lock_mbox(x->mbox_fd)) {
        qt_error_set(err, "%s is locked by another program", path);
        return false;
    }
    return true;
}

bool qt_export_open(struct qt_exporter *x, enum qt_export_format fmt, const char *path,
                    struct qt_error *err)
{
    bool ok;

    signal(SIGXFSZ, SIG_IGN);
    memset(x, 0, sizeof(*x));
    x->fmt = fmt;
    x->dir_fd = x->mbox_fd = -1;
    x->path = xstrdup(path);
    if (!*path) {
        qt_error_set(err, "empty export path");
        ok = false;
    } else if (fmt == QT_EXPORT_MBOX) {
        ok = open_mbox(x, path, err);
    } else {
        x->dir_fd = qt_safe_open_dir(path, true, err);
        ok = x->dir_fd >= 0;
        if (ok)
            qt_safe_clean_leftovers(x->dir_fd);
    }
    if (!ok)
        qt_export_close(x);
    return ok;
}

void qt_export_close(struct qt_exporter *x)
{
    if (x->mbox_fd >= 0)
        close(x->mbox_fd);      /* also drops the lock */
    if (x->dir_fd >= 0)
        close(x->dir_fd);
    free(x->path);
    x->path = NULL;
    x->dir_fd = x->mbox_fd = -1;
}

/* Write one message into its own new file: complete under its final name,
 * or not there at all. */
static enum qt_export_status export_eml(struct qt_exporter *x, int qf_fd, const char *id,
                                        const char *queue_name, struct qt_error *why)
{
    char name[QT_QUEUE_ID_MAX + 8];
    struct qt_safe_new f;

    snprintf(name, sizeof(name), "%s.eml", id);
    if (!qt_safe_new_begin(&f, x->dir_fd, name, why))
        return QT_EXPORT_FAILED;
    if (!qt_export_write(qf_fd, id, queue_name, QT_EXPORT_EML_DIR, f.fd, why)) {
        qt_safe_new_abort(&f);
        return QT_EXPORT_FAILED;
    }
    switch (qt_safe_new_commit(&f, x->path, why)) {
    case QT_SAFE_WRITTEN:
        return QT_EXPORT_DONE;
    case QT_SAFE_SAME:
        return QT_EXPORT_ALREADY;
    case QT_SAFE_FAILED:
        break;
    }
    return QT_EXPORT_FAILED;
}

/* Append one message to the mbox; on failure cut the file back. */
static bool export_mbox(struct qt_exporter *x, int qf_fd, const char *id, const char *queue_name,
                        struct qt_error *why)
{
    struct stat st;
    int e = 0;

    if (fstat(x->mbox_fd, &st) < 0) {
        qt_error_set(why, "fstat %s: %s", x->path, strerror(errno));
        return false;
    }
    if (!qt_export_write(qf_fd, id, queue_name, QT_EXPORT_MBOX, x->mbox_fd, why))
        e = errno ? errno : -1;
    else if (fsync(x->mbox_fd) < 0)
        qt_error_set(why, "fsync %s: %s", x->path, strerror(e = errno));
    if (e) {
        if (ftruncate(x->mbox_fd, st.st_size) < 0 || fsync(x->mbox_fd) < 0) {
            size_t len = strlen(why->msg);

            snprintf(why->msg + len, sizeof(why->msg) - len,
                     "; could not cut %s back to %lld bytes: %s (a partial message is at "
                     "its end)", x->path, (long long)st.st_size, strerror(errno));
        }
        return false;
    }
    return true;
}

enum qt_export_status qt_export_message(struct qt_exporter *x, const struct qt_spool_layout *l,
                                        const char *id, int hint, struct qt_error *why)
{
    enum qt_queue q = QT_Q_COUNT;
    char rel[256];
    enum qt_export_status status;
    struct stat st;
    int fd;

    if (!qt_queue_id_valid(id)) {
        qt_error_set(why, "not a queue ID: \"%.64s\"", id);
        return QT_EXPORT_FAILED;
    }
    fd = qt_spool_open_message(l, id, hint, &q, rel, sizeof(rel));
    if (fd < 0) {
        if (errno == ENOENT) {
            qt_error_set(why, "%s is no longer in the queue", id);
            return QT_EXPORT_GONE;
        }
        qt_error_set(why, "cannot open %s/%s: %s", l->queue_directory, rel, strerror(errno));
        return QT_EXPORT_FAILED;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        qt_error_set(why, "%s/%s is not a regular file", l->queue_directory, rel);
        close(fd);
        return QT_EXPORT_FAILED;
    }
    status = qt_export_message_fd(x, fd, id, qt_queue_name(q), why);
    close(fd);
    return status;
}

enum qt_export_status qt_export_message_fd(struct qt_exporter *x, int qf_fd, const char *id,
                                           const char *queue_name, struct qt_error *why)
{
    if (!qt_queue_id_valid(id)) {
        qt_error_set(why, "not a queue ID: \"%.64s\"", id);
        return QT_EXPORT_FAILED;
    }
    if (x->fmt == QT_EXPORT_MBOX)
        return export_mbox(x, qf_fd, id, queue_name, why) ? QT_EXPORT_DONE : QT_EXPORT_FAILED;
    return export_eml(x, qf_fd, id, queue_name, why);
}

/* ------------------------------------------------------- batches */

static void push(char ***v, size_t *n, size_t *cap, const char *s)
{
    *v = xgrow(*v, cap, *n + 1, sizeof(**v));
    (*v)[(*n)++] = xstrdup(s);
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

bool qt_export_run(const struct qt_spool_layout *l, enum qt_export_format fmt, const char *path,
                   const struct qt_action_target *targets, size_t n,
                   struct qt_export_result *res)
{
    struct qt_exporter x;
    struct qt_error err = {""};
    struct qt_idmap seen;
    size_t cap_done = 0, cap_gone = 0, cap_failed = 0, cap_why = 0, i;

    memset(res, 0, sizeof(*res));
    if (!qt_export_open(&x, fmt, path, &err)) {
        snprintf(res->message, sizeof(res->message), "export: %s; nothing exported", err.msg);
        res->requested = n;
        return false;
    }
    qt_idmap_init(&seen);
    for (i = 0; i < n; i++) {
        const char *id = targets[i].id;
        size_t nwhy = res->nfailed;

        bool created;

        qt_idmap_put(&seen, id, &created);
        if (!created)
            continue;           /* a duplicate */
        res->requested++;
        switch (qt_export_message(&x, l, id, (int)targets[i].queue, &err)) {
        case QT_EXPORT_ALREADY:
            res->nalready++;
            /* it is saved, as much as one written now */
            __attribute__((fallthrough));
        case QT_EXPORT_DONE:
            push(&res->exported, &res->nexported, &cap_done, id);
            break;
        case QT_EXPORT_GONE:
            push(&res->gone, &res->ngone, &cap_gone, id);
            break;
        case QT_EXPORT_FAILED:
            push(&res->failed_why, &nwhy, &cap_why, err.msg);
            push(&res->failed, &res->nfailed, &cap_failed, id);
            break;
        }
    }
    qt_idmap_free(&seen);
    qt_export_close(&x);
    qt_export_result_describe(res, path, "");
    return res->nfailed == 0;
}

void qt_export_result_describe(struct qt_export_result *res, const char *path,
                               const char *suffix)
{
    int len = snprintf(res->message, sizeof(res->message), "export to %.300s%s: %zu exported",
                       path, suffix, res->nexported);

    if (res->nalready && len > 0 && (size_t)len < sizeof(res->message))
        len += snprintf(res->message + len, sizeof(res->message) - (size_t)len,
                        " (%zu of them already there, identical)", res->nalready);
    if (res->ngone && len > 0 && (size_t)len < sizeof(res->message))
        len += snprintf(res->message + len, sizeof(res->message) - (size_t)len,
                        ", %zu already gone", res->ngone);
    if (res->nfailed && len > 0 && (size_t)len < sizeof(res->message))
        snprintf(res->message + len, sizeof(res->message) - (size_t)len,
                 ", %zu NOT exported (first: %s)", res->nfailed, res->failed_why[0]);
}

void qt_export_result_free(struct qt_export_result *res)
{
    strv_free(res->exported, res->nexported);
    strv_free(res->gone, res->ngone);
    strv_free(res->failed, res->nfailed);
    strv_free(res->failed_why, res->nfailed);
    memset(res, 0, sizeof(*res));
}

bool qt_export_then_delete(const struct qt_spool_layout *l, const char *backup_dir,
                           const struct qt_action_target *targets, size_t n,
                           struct qt_export_result *er, struct qt_action_result *ar)
{
    struct qt_action_target *del;
    bool export_ok, delete_ok;
    size_t i;

    /* Nothing runs with an invalid ID, as for every action. */
    for (i = 0; i < n; i++)
        if (!qt_queue_id_valid(targets[i].id)) {
            memset(er, 0, sizeof(*er));
            return qt_action_run(l, QT_ACT_DELETE, targets, n, NULL, ar);
        }
    export_ok = qt_export_run(l, QT_EXPORT_EML_DIR, backup_dir, targets, n, er);
    if (er->nexported == 0) {
        memset(ar, 0, sizeof(*ar));
        snprintf(ar->message, sizeof(ar->message), "delete: nothing run, nothing was exported");
        return export_ok;
    }
    del = xcalloc(er->nexported, sizeof(*del));
    for (i = 0; i < er->nexported; i++) {
        del[i].id = er->exported[i];
        del[i].queue = QT_Q_COUNT;
    }
    delete_ok = qt_action_run(l, QT_ACT_DELETE, del, er->nexported, NULL, ar);
    free(del);
    return export_ok && delete_ok;
}

void qt_export_delete_summary(const char *backup_dir, const struct qt_export_result *er,
                              const struct qt_action_result *ar, char *buf, size_t size)
{
    int len;

    if (ar->failed || ar->ninvalid) {
        snprintf(buf, size, "export to %.200s: %zu exported; then %.250s", backup_dir,
                 er->nexported, ar->message);
        return;
    }
    len = snprintf(buf, size, "export to %.200s, then delete: %zu exported, %zu deleted",
                   backup_dir, er->nexported, ar->acted);
    if (er->ngone + ar->ngone && len > 0 && (size_t)len < size)
        len += snprintf(buf + len, size - (size_t)len, ", %zu already gone",
                        er->ngone + ar->ngone);
    if (er->nfailed && len > 0 && (size_t)len < size)
        snprintf(buf + len, size - (size_t)len, ", %zu KEPT in the queue (not exported: %.200s)",
                 er->nfailed, er->failed_why[0]);
}
