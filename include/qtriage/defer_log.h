/* Reader for Postfix's per-message defer and bounce logs
 * (queue_directory/defer/<hash>/<ID>, bounce/...).
 *
 * A log holds one block per recipient, blocks separated by blank lines, each
 * line `name=value` (recipient, original_recipient (only when it differs),
 * offset, dsn_orig_rcpt, status, action, reason, ...).  Old-style `<address>: reason` lines are understood too.  Unprintable
 * bytes become '?' as Postfix's own reader does, so addresses compare equal to
 * what `postqueue -j` shows. */
#ifndef QTRIAGE_DEFER_LOG_H
#define QTRIAGE_DEFER_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "qtriage/arena.h"
#include "qtriage/util.h"

struct qt_defer_entry {
    const char *recipient;      /* never NULL */
    const char *orig_rcpt;      /* NULL when absent */
    const char *status;         /* DSN status, e.g. "4.4.1"; NULL when absent */
    const char *action;         /* "delayed", "failed", ... or NULL */
    const char *reason;         /* never NULL */
    long offset;                /* queue file offset of the recipient, 0 if unknown */
};

struct qt_defer_log {
    struct qt_defer_entry *entries;
    size_t n, cap;
    bool truncated;             /* the file was larger than the read limit */
    struct qt_arena arena;
    struct qt_buf raw;          /* the file's bytes, kept for the next read */
};

#define QT_DEFER_LOG_MAX_BYTES (8u << 20)

/* Parse `len` bytes of log text, appending entries to `log`. */
void qt_defer_log_parse(struct qt_defer_log *log, const char *text, size_t len);

/* Read and parse an open log file, at most QT_DEFER_LOG_MAX_BYTES of it.
 * Returns false on a read error. */
bool qt_defer_log_read_fd(struct qt_defer_log *log, int fd);

void qt_defer_log_reset(struct qt_defer_log *log);
void qt_defer_log_free(struct qt_defer_log *log);

#endif
