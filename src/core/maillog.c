/* A message's history from the mail log, read backwards from the end. */
#include "qtriage/maillog.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qtriage/spool.h"
#include "qtriage/text.h"

#define BLOCK ((size_t)1 << 20)
#define LINE_MAX_SHOWN 4096     /* bytes of one log line kept */

static bool readable_file(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, R_OK) == 0;
}

char *qt_maillog_locate(const char *postconf, const char *config_dir, const char *configured,
                        struct qt_error *err)
{
    static const char *const syslog_files[] = {
        "/var/log/mail.log", "/var/log/maillog", "/var/log/mail/mail.log",
        "/var/log/syslog", "/var/log/messages",
    };
    static const char *const names[] = {"maillog_file"};
    char **v;
    size_t i;

    if (configured && *configured) {
        if (readable_file(configured))
            return xstrdup(configured);
        qt_error_set(err, "mail log %s (configured) is not a readable file: %s", configured,
                     strerror(errno ? errno : EINVAL));
        return NULL;
    }
    if (postconf) {
        v = qt_postconf_values(postconf, config_dir, names, 1, NULL);
        if (v && v[0][0]) {
            char *path = NULL;

            if (readable_file(v[0]))
                path = xstrdup(v[0]);
            else
                qt_error_set(err, "maillog_file %s is not a readable file: %s", v[0],
                             strerror(errno ? errno : EINVAL));
            qt_strv_free(v, 1);
            return path;
        }
        qt_strv_free(v, 1);
    }
    for (i = 0; i < QT_ARRAY_LEN(syslog_files); i++)
        if (readable_file(syslog_files[i]))
            return xstrdup(syslog_files[i]);
    qt_error_set(err, "no mail log found: maillog_file is not set and none of "
                      "/var/log/mail.log, /var/log/maillog, /var/log/syslog is readable "
                      "(name one with --maillog)");
    return NULL;
}

static int month_of(const char *s)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    int m;

    for (m = 0; m < 12; m++)
        if (memcmp(s, months + 3 * m, 3) == 0)
            return m;
    return -1;
}

/* Digits at s[0..n-1] as a number; -1 when any is not a digit. */
static int digits(const char *s, int n)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

bool qt_maillog_line_time(const char *line, size_t len, int64_t now, int64_t *t)
{
    struct tm tm = {0};

    if (len >= 15 && line[3] == ' ' && line[6] == ' ' && line[9] == ':' && line[12] == ':') {
        /* "Nov 22 03:04:05": local time, no year. */
        time_t nowt = (time_t)now, tt;
        struct tm nowtm;
        int day = line[4] == ' ' ? digits(line + 5, 1) : digits(line + 4, 2);

        tm.tm_mon = month_of(line);
        tm.tm_mday = day;
        tm.tm_hour = digits(line + 7, 2);
        tm.tm_min = digits(line + 10, 2);
        tm.tm_sec = digits(line + 13, 2);
        if (tm.tm_mon < 0 || day < 1 || day > 31 || tm.tm_hour < 0 || tm.tm_hour > 23 ||
            tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60)
            return false;
        if (!localtime_r(&nowt, &nowtm))
            return false;
        tm.tm_year = nowtm.tm_year;
        tm.tm_isdst = -1;
        tt = mktime(&tm);
        if (tt == (time_t)-1)
            return false;
        if ((int64_t)tt > now + 86400) {     /* December's lines read in January */
            tm.tm_year--;
            tm.tm_isdst = -1;
            tt = mktime(&tm);
        }
        *t = (int64_t)tt;
        return true;
    }
    if (len >= 20 && line[4] == '-' && line[7] == '-' && line[10] == 'T' && line[13] == ':' &&
        line[16] == ':') {
        /* RFC 3339: 2026-11-22T03:04:05[.frac](Z|+hh:mm|-hh:mm) */
        size_t i = 19;
        int64_t off = 0;

        tm.tm_year = digits(line, 4) - 1900;
        tm.tm_mon = digits(line + 5, 2) - 1;
        tm.tm_mday = digits(line + 8, 2);
        tm.tm_hour = digits(line + 11, 2);
        tm.tm_min = digits(line + 14, 2);
        tm.tm_sec = digits(line + 17, 2);
        if (tm.tm_year < 70 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
            tm.tm_mday > 31 || tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0 ||
            tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60)
            return false;
        if (i < len && line[i] == '.')
            for (i++; i < len && isdigit((unsigned char)line[i]); i++)
                ;
        if (i < len && (line[i] == '+' || line[i] == '-') && i + 6 <= len && line[i + 3] == ':') {
            int hh = digits(line + i + 1, 2), mm = digits(line + i + 4, 2);

            if (hh < 0 || mm < 0)
                return false;
            off = (int64_t)(hh * 3600 + mm * 60) * (line[i] == '-' ? -1 : 1);
        } else if (!(i < len && line[i] == 'Z')) {
            return false;
        }
        *t = (int64_t)timegm(&tm) - off;
        return true;
    }
    return false;
}

static bool is_word(unsigned char c)
{
    return isalnum(c) != 0;
}

struct search {
    const char *id;
    size_t idlen;
    int64_t arrival, now;
    size_t max_bytes, max_lines;
    struct qt_maillog_history *h;
    size_t cap;                 /* of h->lines, newest first while searching */
    bool done;                  /* the arrival time or a limit was reached */
};

static void add_line(struct search *s, const char *line, size_t len)
{
    struct qt_buf b = {0};

    if (len > LINE_MAX_SHOWN)
        len = LINE_MAX_SHOWN;
    qt_text_sanitize(&b, line, len);
    s->h->lines = xgrow(s->h->lines, &s->cap, s->h->n + 1, sizeof(*s->h->lines));
    s->h->lines[s->h->n++] = b.data ? b.data : xstrdup("");
}

/* The matching lines of one block of whole lines, newest first. */
static void search_block(struct search *s, const char *buf, size_t len)
{
    const char *hit = NULL;
    size_t nfound = 0, first = s->h->n, i;

    /* memmem forwards, then reverse what this block added. */
    for (const char *from = buf; (hit = memmem(from, (size_t)(buf + len - from), s->id,
                                               s->idlen)) != NULL;) {
        const char *ls = hit, *le = hit + s->idlen;

        from = hit + 1;
        if ((hit > buf && is_word((unsigned char)hit[-1])) ||
            (le < buf + len && is_word((unsigned char)*le)))
            continue;
        while (ls > buf && ls[-1] != '\n')
            ls--;
        le = memchr(le, '\n', (size_t)(buf + len - le));
        if (!le)
            le = buf + len;
        add_line(s, ls, (size_t)(le - ls));
        nfound++;
        from = le;
    }
    for (i = 0; i < nfound / 2; i++) {
        char *t = s->h->lines[first + i];

        s->h->lines[first + i] = s->h->lines[first + nfound - 1 - i];
        s->h->lines[first + nfound - 1 - i] = t;
    }
}

/* Read `path` backwards.  Returns 1 when the search is over (arrival
 * reached or a limit), 0 when the file's start came first, -1 on error. */
static int search_file(struct search *s, const char *path, struct qt_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    struct stat st;
    char *buf;
    off_t end;
    int rc = 0;

    if (fd < 0) {
        qt_error_set(err, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        qt_error_set(err, "%s is not a regular file", path);
        close(fd);
        return -1;
    }
    buf = xmalloc(BLOCK);
    end = st.st_size;
    while (end > 0) {
        size_t want = (size_t)end < BLOCK ? (size_t)end : BLOCK, got = 0, start_line;
        off_t start;
        int64_t t;

        if (s->h->bytes_read >= s->max_bytes) {
            s->h->incomplete = true;
            rc = 1;
            break;
        }
        if (want > s->max_bytes - s->h->bytes_read)
            want = s->max_bytes - s->h->bytes_read;
        start = end - (off_t)want;
        while (got < want) {
            ssize_t r = pread(fd, buf + got, want - got, start + (off_t)got);

            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                if (r < 0)
                    qt_error_set(err, "reading %s: %s", path, strerror(errno));
                else
                    qt_error_set(err, "%s shrank while it was read", path);
                free(buf);
                close(fd);
                return -1;
            }
            got += (size_t)r;
        }
        s->h->bytes_read += want;
        /* The block's first line may begin in the previous block: leave it
         * for the next read, unless this block starts the file. */
        start_line = 0;
        if (start > 0) {
            const char *nl = memchr(buf, '\n', want);

            if (!nl || (size_t)(nl - buf) + 1 >= want) {
                /* One line longer than a block: skip it whole. */
                end = start;
                continue;
            }
            start_line = (size_t)(nl - buf) + 1;
        }
        search_block(s, buf + start_line, want - start_line);
        end = start + (off_t)start_line;
        if (s->h->n >= s->max_lines) {
            s->h->incomplete = end > 0;
            rc = 1;
            break;
        }
        if (s->arrival > 0 &&
            qt_maillog_line_time(buf + start_line, want - start_line, s->now, &t) &&
            t < s->arrival - QT_MAILLOG_SLACK) {
            rc = 1;
            break;
        }
    }
    free(buf);
    close(fd);
    return rc;
}

bool qt_maillog_history(const char *path, const char *id, int64_t arrival, int64_t now,
                        const struct qt_maillog_limits *lim, struct qt_maillog_history *h,
                        struct qt_error *err)
{
    struct search s = {
        .id = id, .idlen = strlen(id), .arrival = arrival, .now = now, .h = h,
        .max_bytes = lim && lim->max_bytes ? lim->max_bytes : QT_MAILLOG_MAX_BYTES,
        .max_lines = lim && lim->max_lines ? lim->max_lines : QT_MAILLOG_MAX_LINES,
    };
    char *rotated = NULL;
    int rc;
    size_t i;

    memset(h, 0, sizeof(*h));
    if (s.idlen == 0 || !qt_queue_id_valid(id)) {
        qt_error_set(err, "invalid queue ID");
        return false;
    }
    rc = search_file(&s, path, err);
    if (rc < 0)
        return false;
    if (rc == 0 && arrival > 0) {
        /* The file begins after the message arrived: its first lines are
         * in the file logrotate moved aside. */
        struct qt_error ignored;

        rotated = xasprintf("%s.1", path);
        if (readable_file(rotated)) {
            rc = search_file(&s, rotated, &ignored);
        } else {
            free(rotated);
            rotated = NULL;
        }
    }
    /* Keep the newest max_lines (the list is newest first), then turn it
     * around: oldest first. */
    while (h->n > s.max_lines)
        free(h->lines[--h->n]);
    for (i = 0; i < h->n / 2; i++) {
        char *t = h->lines[i];

        h->lines[i] = h->lines[h->n - 1 - i];
        h->lines[h->n - 1 - i] = t;
    }
    if (h->n >= s.max_lines)
        snprintf(h->note, sizeof(h->note), "the last %zu lines about %s in %s%s%s", h->n, id,
                 path, rotated ? " and " : "", rotated ? rotated : "");
    else if (h->incomplete)
        snprintf(h->note, sizeof(h->note),
                 "%zu lines about %s in the last %zu MB of %s%s%s (search limit reached; "
                 "older lines not read)",
                 h->n, id, h->bytes_read >> 20, path, rotated ? " and " : "",
                 rotated ? rotated : "");
    else
        snprintf(h->note, sizeof(h->note), "%zu lines about %s in %s%s%s", h->n, id, path,
                 rotated ? " and " : "", rotated ? rotated : "");
    free(rotated);
    return true;
}

void qt_maillog_history_free(struct qt_maillog_history *h)
{
    size_t i;

    for (i = 0; i < h->n; i++)
        free(h->lines[i]);
    free(h->lines);
    memset(h, 0, sizeof(*h));
}
