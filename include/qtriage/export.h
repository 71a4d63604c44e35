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
 * A message counts as exported only once its bytes are written, checked,
 * fsync'd, and (for a new file) its directory fsync'd.  Any failure (disk
 * full, file size limit, I/O error, a truncated or garbled queue file)
 * removes what was written for that message: the .eml file is unlinked, the
 * mbox is cut back to where the message started.  Files are created
 * O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, never over an existing name; a
 * missing directory is created mode 0700, a symlink or non-directory is
 * refused.  Queue files are only read.
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
 * The mbox is locked (flock) while open. */
bool qt_export_open(struct qt_exporter *x, enum qt_export_format fmt, const char *path,
                    struct qt_error *err);
void qt_export_close(struct qt_exporter *x);

enum qt_export_status {
    QT_EXPORT_DONE,             /* written and synced */
    QT_EXPORT_GONE,             /* no longer in the queue (delivered, deleted) */
    QT_EXPORT_FAILED,           /* not exported; `why` says why */
};

/* Export one queued message (looked for in `hint` first, QT_Q_COUNT when
 * unknown, then in every queue). */
enum qt_export_status qt_export_message(struct qt_exporter *x, const struct qt_spool_layout *l,
                                        const char *id, int hint, struct qt_error *why);

struct qt_export_result {
    size_t requested;           /* distinct IDs */
    char **exported;            /* written and synced */
    size_t nexported;
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
