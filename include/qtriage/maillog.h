/* A message's history: the mail-log lines that mention its queue ID.
 *
 * The log is Postfix's own `maillog_file` (postlogd, Postfix 3.4 and later)
 * when the instance sets one, else the first syslog file that exists, or a
 * path the admin configured.  Logs of busy servers are gigabytes, so the file
 * is read backwards from its end, in large blocks, and the search stops at
 * the first of:
 *   - a block whose first line is older than the message's arrival minus
 *     QT_MAILLOG_SLACK seconds (clocks step; a line from before the message
 *     existed is about an earlier message that had the same queue ID);
 *   - `max_bytes` read in all;
 *   - `max_lines` matching lines found (the newest are kept).
 * When the current file starts after the message arrived, the rotated file
 * (PATH.1, uncompressed) is read on, within the same budget.
 *
 * Lines match when they hold the queue ID as a whole word: "ID:" at the start
 * of Postfix's message text, and also other programs' mentions ("sender
 * non-delivery notification: ID").  Everything returned is sanitised for a
 * terminal: log lines quote remote servers' replies, which are hostile. */
#ifndef QTRIAGE_MAILLOG_H
#define QTRIAGE_MAILLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qtriage/util.h"

#define QT_MAILLOG_MAX_BYTES ((size_t)256 << 20)
#define QT_MAILLOG_MAX_LINES 2000
#define QT_MAILLOG_SLACK 300

struct qt_maillog_limits {
    size_t max_bytes;           /* 0: QT_MAILLOG_MAX_BYTES */
    size_t max_lines;           /* 0: QT_MAILLOG_MAX_LINES */
};

struct qt_maillog_history {
    char **lines;               /* oldest first; sanitised UTF-8, no newline */
    size_t n;
    size_t bytes_read;          /* what the search read, all files together */
    bool incomplete;            /* a limit stopped it before the arrival time */
    char note[512];             /* one line: what was searched, and how far */
};

/* Which log to read for the instance in `config_dir` (NULL: the default):
 * `configured` when not NULL, else postconf's maillog_file when set, else
 * /var/log/mail.log, /var/log/maillog, /var/log/mail/mail.log,
 * /var/log/syslog, /var/log/messages (the first that is a readable file).
 * `postconf` is postconf's path (NULL: skip asking it).  Returns a malloc'd
 * path, or NULL with `err` saying what was tried. */
char *qt_maillog_locate(const char *postconf, const char *config_dir, const char *configured,
                        struct qt_error *err);

/* The lines of the log at `path` that mention `id`, for a message that
 * arrived at `arrival` (seconds since the epoch; 0 when unknown: then only
 * the limits stop the search).  `now` is what a syslog timestamp without a
 * year is taken relative to.  `lim` may be NULL.  False with `err` set when
 * the file cannot be read at all; `h` is filled either way and must be freed. */
bool qt_maillog_history(const char *path, const char *id, int64_t arrival, int64_t now,
                        const struct qt_maillog_limits *lim, struct qt_maillog_history *h,
                        struct qt_error *err);
void qt_maillog_history_free(struct qt_maillog_history *h);

/* The time at the start of a log line: "Nov 22 03:04:05" (syslog's, local
 * time, year from `now`: a date more than a day ahead of `now` is last
 * year's) or RFC 3339 "2026-11-22T03:04:05.123456+01:00" (rsyslog's).
 * Returns false when the line starts with neither. */
bool qt_maillog_line_time(const char *line, size_t len, int64_t now, int64_t *t);

#endif
