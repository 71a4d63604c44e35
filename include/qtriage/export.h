/* Exporting queued messages as RFC 822 files, before they are deleted.
 *
 * A message is rebuilt from its queue file's content records: `N` records
 * end a line, `L` records are the first pieces of a long line and are joined
 * to what follows without a break, and every line ends in LF.  In front of
 * the message's own headers go headers that keep its envelope:
 *
 *   X-Qtriage-Queue-ID: 4F2A81C0D3
 *   X-Qtriage-Queue-Name: deferred
 *   X-Qtriage-Arrival-Date: Sun, 22 Nov 2026 19:57:37 +0000
 *   X-Qtriage-Envelope-From: <sender@example.com>     (<> for the null sender)
 *   X-Qtriage-Envelope-To: <rcpt@example.net>          one per pending recipient
 *   X-Qtriage-Envelope-Done: <other@example.org>       one per recipient already
 *                                                      delivered or bounced
 *
 * An address may hold any byte: CR, LF, NUL and other control characters
 * become '?', so no address can add a header of its own.
 *
 * Two formats: a directory with one ID.eml per message, or one mbox file
 * (mboxrd: a "From SENDER DATE" line, lines matching ^>*From  get one more
 * '>', a blank line after each message) that messages are appended to.
 *
 * Every path is reached through safe_file.h: walked from "/" without
 * following links, through directories no one else can write (a root-owned
 * sticky one such as /tmp is fine); the error names the component that is
 * not.  A missing export directory (the last component only) is created
 * mode 0700.
 *
 * A message counts as exported only once its bytes are written, checked,
 * fsync'd, and its directory fsync'd.  An .eml file is written under a
 * temporary name and moved to ID.eml only when complete (never over an
 * existing name), so a killed export leaves no ID.eml, only a temporary
 * file that the next export to that directory removes.  An existing ID.eml
 * with exactly the bytes this export would write (and owned by the caller,
 * one link) means "already exported": it counts as exported, so delete with
 * a backup goes ahead; with other bytes it is an error naming the file.
 * The mbox must be a regular file owned by the caller with one link (else
 * refused; created O_EXCL mode 0600 when absent); it is locked with flock
 * and fcntl while open.  Any failure (disk full, file size limit, I/O
 * error, a truncated or garbled queue file) removes what was written for
 * that message: the temporary file is unlinked, the mbox is cut back to
 * where the message started.  Queue files are only read.
 *
 * SIGXFSZ is ignored from the first qt_export_open() on (as proc.c ignores
 * SIGPIPE), so a file size limit is an EFBIG error, not qtriage's death. */
#ifndef QTRIAGE_EXPORT_H
#define QTRIAGE_EXPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "qtriage/actions.h"
#include "qtriage/spool.h"
#include "qtriage/util.h"

enum qt_export_format {
    QT_EXPORT_EML_DIR,          /* DIR/ID.eml per message */
    QT_EXPORT_MBOX,             /* appended to one mboxrd file */
};

/* Write message `id` (queue `queue_name`), whose queue file is open on
 * `qf_fd`, to `out_fd` at its current position: envelope headers, then the
 * content; in mbox form with the From line, quoting and the blank line
 * after it.  Nothing is synced.  Returns false with `err` set when the
 * queue file is truncated or garbled or a write fails (errno then says
 * which; 0 for a problem of the queue file). */
bool qt_export_write(int qf_fd, const char *id, const char *queue_name,
                     enum qt_export_format fmt, int out_fd, struct qt_error *err);

/* An open export target. */
struct qt_exporter {
    enum qt_export_format fmt;
    char *path;                 /* the directory or the mbox file */
    int dir_fd;                 /* the directory (mbox: the file's directory) */
    int mbox_fd;                /* -1 for QT_EXPORT_EML_DIR */
};

/* Open (creating when missing) the directory or the mbox file at `path`.
 * The mbox is locked (flock and fcntl) while open.  Opening a directory
 * removes temporary files that killed exports left in it. */
bool qt_export_open(struct qt_exporter *x, enum qt_export_format fmt, const char *path,
                    struct qt_error *err);
void qt_export_close(struct qt_exporter *x);

enum qt_export_status {
    QT_EXPORT_DONE,             /* written and synced */
    QT_EXPORT_ALREADY,          /* DIR/ID.eml was there, byte for byte the same:
                                   saved as much as QT_EXPORT_DONE */
    QT_EXPORT_GONE,             /* no longer in the queue (delivered, deleted) */
    QT_EXPORT_FAILED,           /* not exported; `why` says why */
};

/* Export one queued message (looked for in `hint` first, QT_Q_COUNT when
 * unknown, then in every queue). */
enum qt_export_status qt_export_message(struct qt_exporter *x, const struct qt_spool_layout *l,
                                        const char *id, int hint, struct qt_error *why);

/* The same for a queue file already open on `qf_fd` at offset 0 (a copy
 * fetched from a fleet host, fleet.h), in queue `queue_name`. */
enum qt_export_status qt_export_message_fd(struct qt_exporter *x, int qf_fd, const char *id,
                                           const char *queue_name, struct qt_error *why);

struct qt_export_result {
    size_t requested;           /* distinct IDs */
    char **exported;            /* written and synced (or already there, identical) */
    size_t nexported;
    size_t nalready;            /* of those, how many were already there */
    char **gone;                /* no longer queued: nothing to export */
    size_t ngone;
    char **failed;              /* NOT exported */
    char **failed_why;          /* one reason per failed ID */
    size_t nfailed;
    char message[512];          /* one line for a status bar */
};

/* Export `targets` (duplicates once each) to `path`.  Returns true when
 * every message was exported or gone; false when the target could not be
 * opened (res->message says why, nothing exported) or any message failed. */
bool qt_export_run(const struct qt_spool_layout *l, enum qt_export_format fmt, const char *path,
                   const struct qt_action_target *targets, size_t n,
                   struct qt_export_result *res);
/* res->message: "export to PATH[SUFFIX]: N exported", then what was already
 * there, already gone and not exported. */
void qt_export_result_describe(struct qt_export_result *res, const char *path,
                               const char *suffix);
void qt_export_result_free(struct qt_export_result *res);

/* Delete with a backup: export `targets` as .eml files into `backup_dir`,
 * then run postsuper -d on exactly the IDs whose export succeeded.  Messages
 * that could not be exported stay queued and are listed in er->failed;
 * when none was exported, postsuper is not run at all.  An invalid ID
 * stops everything before anything runs (ar->ninvalid).  Returns true when
 * everything was exported (or gone) and deleted. */
bool qt_export_then_delete(const struct qt_spool_layout *l, const char *backup_dir,
                           const struct qt_action_target *targets, size_t n,
                           struct qt_export_result *er, struct qt_action_result *ar);

/* One line for a status bar: "export to DIR, then delete: 10 exported,
 * 10 deleted, 2 KEPT in the queue (not exported: REASON)". */
void qt_export_delete_summary(const char *backup_dir, const struct qt_export_result *er,
                              const struct qt_action_result *ar, char *buf, size_t size);

#endif
