#include "qtriage/defer_log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qtriage/util.h"

void qt_defer_log_reset(struct qt_defer_log *log)
{
    log->n = 0;
    log->truncated = false;
    qt_arena_reset(&log->arena);
}

void qt_defer_log_free(struct qt_defer_log *log)
{
    free(log->entries);
    qt_arena_free(&log->arena);
    qt_buf_free(&log->raw);
    memset(log, 0, sizeof(*log));
}

static char *printable_copy(struct qt_defer_log *log, const char *s, size_t n)
{
    char *p = qt_arena_strndup(&log->arena, s, n);
    size_t i;

    for (i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
            p[i] = '?';
    return p;
}

static struct qt_defer_entry *new_entry(struct qt_defer_log *log)
{
    struct qt_defer_entry *e;

    log->entries = xgrow(log->entries, &log->cap, log->n + 1, sizeof(*log->entries));
    e = &log->entries[log->n++];
    memset(e, 0, sizeof(*e));
    return e;
}

static void finish_entry(struct qt_defer_log *log, struct qt_defer_entry *e)
{
    if (!e->recipient)
        e->recipient = "(recipient address unavailable)";
    if (!e->reason)
        e->reason = "(description unavailable)";
    (void)log;
}

/* Apply one `name=value` line (blanks around '=' allowed, as Postfix's
 * split_nameval permits). */
static void entry_attr(struct qt_defer_log *log, struct qt_defer_entry *e, const char *line,
                       size_t len)
{
    const char *eq = memchr(line, '=', len);
    size_t nlen, vlen;
    const char *val;
    char *v;

    if (!eq)
        return;
    nlen = (size_t)(eq - line);
    while (nlen > 0 && (line[nlen - 1] == ' ' || line[nlen - 1] == '\t'))
        nlen--;
    val = eq + 1;
    vlen = len - (size_t)(val - line);
    while (vlen > 0 && (*val == ' ' || *val == '\t'))
        val++, vlen--;
    v = printable_copy(log, val, vlen);
#define NAME_IS(s) (nlen == sizeof(s) - 1 && memcmp(line, s, nlen) == 0)
    if (NAME_IS("recipient"))
        e->recipient = *v ? v : "(MAILER-DAEMON)";
    else if (NAME_IS("original_recipient"))
        e->orig_rcpt = *v ? v : "(MAILER-DAEMON)";
    else if (NAME_IS("status"))
        e->status = v;
    else if (NAME_IS("action"))
        e->action = v;
    else if (NAME_IS("reason"))
        e->reason = v;
    else if (NAME_IS("offset"))
        e->offset = atol(v);
#undef NAME_IS
}

/* Old style: "<address>: reason text". */
static void old_style_line(struct qt_defer_log *log, struct qt_defer_entry *e,
                           const char *line, size_t len)
{
    const char *end = NULL;
    size_t i;

    for (i = 1; i + 2 < len; i++)
        if (line[i] == '>' && line[i + 1] == ':' && line[i + 2] == ' ') {
            end = line + i;
            break;
        }
    if (!end)
        return;
    e->recipient = end > line + 1 ? printable_copy(log, line + 1, (size_t)(end - line - 1))
                                  : "(MAILER-DAEMON)";
    end += 2;
    while (end < line + len && (*end == ' ' || *end == '\t'))
        end++;
    e->reason = printable_copy(log, end, (size_t)(line + len - end));
}

void qt_defer_log_parse(struct qt_defer_log *log, const char *text, size_t len)
{
    const char *p = text, *stop = text + len;
    struct qt_defer_entry *cur = NULL;

    while (p < stop) {
        const char *nl = memchr(p, '\n', (size_t)(stop - p));
        size_t llen = nl ? (size_t)(nl - p) : (size_t)(stop - p);

        if (llen == 0) {
            if (cur)
                finish_entry(log, cur);
            cur = NULL;
        } else {
            if (!cur)
                cur = new_entry(log);
            if (p[0] == '<')
                old_style_line(log, cur, p, llen);
            else
                entry_attr(log, cur, p, llen);
            /* Entries may move when the array grows; keep `cur` valid. */
            cur = &log->entries[log->n - 1];
        }
        p = nl ? nl + 1 : stop;
    }
    if (cur)
        finish_entry(log, cur);
}

bool qt_defer_log_read_fd(struct qt_defer_log *log, int fd)
{
    struct qt_buf *buf = &log->raw;
    const size_t chunk = 8192;

    /* Read straight into a buffer the log keeps: no copy from a chunk and
     * no allocation for each of a million logs. */
    qt_buf_reset(buf);
    for (;;) {
        size_t want = chunk;
        ssize_t n;

        if (buf->len + want > QT_DEFER_LOG_MAX_BYTES)
            want = QT_DEFER_LOG_MAX_BYTES - buf->len;
        if (want == 0) {
            char probe;

            /* At the limit: truncated only if there is more to read. */
            while ((n = read(fd, &probe, 1)) < 0 && errno == EINTR)
                ;
            log->truncated = n > 0;
            break;
        }
        qt_buf_reserve(buf, want);
        n = read(fd, buf->data + buf->len, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return false;
        buf->len += (size_t)n;
        buf->data[buf->len] = 0;
        /* A regular file reads short only at its end: no second read just
         * to be told so (one system call less for each of a million logs).
         * Anything else that reads short (the log is opened O_NONBLOCK) is
         * taken as it is, as when it ends. */
        if ((size_t)n < want)
            break;
    }
    /* A truncated log may end mid-block: drop the incomplete last line. */
    if (log->truncated) {
        char *nl = memrchr(buf->data, '\n', buf->len);

        buf->len = nl ? (size_t)(nl - buf->data) + 1 : 0;
    }
    qt_defer_log_parse(log, buf->data ? buf->data : "", buf->len);
    return true;
}
