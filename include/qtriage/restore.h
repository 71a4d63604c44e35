/* Putting exported messages back into the queue.
 *
 * The source is what export.h writes: a directory of ID.eml files or an
 * mboxrd file.  Each message's X-Qtriage-* block (queue ID, queue name,
 * arrival date, envelope sender, pending and done recipients) is read and
 * removed again; the rest, byte for byte what `postcat -bh` showed, goes to
 * Postfix's own submission path:
 *
 *   sendmail [-C CONFIG_DIR] -G -i -V ENVID -f SENDER -- PENDING-RCPT...
 *
 * (argv, no shell; the null sender is -f "").  -G: a relayed message, so
 * cleanup rewrites no address and adds no missing header; cleanup adds
 * only its Received: line.  Done recipients are not sent to again.
 *
 * The new queue ID: sendmail does not print it, so each submission carries
 * a DSN envelope ID (-V) unique to it, "qtriage.HASH.TIME.PID", which
 * cleanup stores in the queue file (attribute envelope_id) and which
 * touches no header or body line.  After the submissions the queue files
 * created since are read until every envelope ID is found, or for 2
 * seconds more once pickup has emptied the maildrop of ours (the rest was
 * delivered already), or 30 seconds in all.  The original message's own ENVID, if it had one,
 * was not exported, so nothing else is lost by this.
 *
 * A journal next to the source (DIR/.qtriage-restore.journal, or
 * MBOX.qtriage-restore.journal) remembers what was sent, keyed by the old
 * queue ID and a hash of the exported message, so a second run sends
 * nothing again.  Order, each line fsync'd before the next step:
 *   "sending KEY ENVID TIME"  then sendmail  then "sent KEY ENVID"
 *   (or "failed KEY ENVID" when sendmail failed: nothing was queued),
 *   then "queued KEY NEWID" once the new queue ID is known.
 * One old queue ID is sent once: of several copies in one source (an
 * mbox exported to twice) only the last, the newest state, is sent, and a
 * copy whose ID the journal already has as sent counts as restored.
 * A run killed between "sending" and "sent" left it open whether postdrop
 * took the message: the next run looks for its ENVID in the queue; found,
 * it counts as restored; not found, it is refused (it may have been
 * delivered already) unless `force` is set.
 *
 * The source and journal are reached through safe_file.h; the source's
 * files must be regular files owned by the caller and not writable by
 * others, since what they hold is sent with any sender root chooses. */
#ifndef QTRIAGE_RESTORE_H
#define QTRIAGE_RESTORE_H

#include <stdbool.h>
#include <stddef.h>

#include "qtriage/filter.h"
#include "qtriage/spool.h"
#include "qtriage/util.h"

struct qt_restore_options {
    const char *source;                 /* DIR or MBOX */
    const struct qt_spool_layout *layout;   /* the instance restored into */
    const char *sendmail;               /* absolute path of Postfix's sendmail */
    struct qt_filter *filter;           /* NULL: every message */
    char *const *ids;                   /* old queue IDs; none: every message */
    size_t nids;
    bool dry_run;
    bool force;                         /* send again what an interrupted run
                                           may or may not have sent */
};

enum qt_restore_status {
    QT_RESTORE_SENT,            /* submitted now; new_id when it was seen */
    QT_RESTORE_ALREADY,         /* an earlier run sent it (new_id when known) */
    QT_RESTORE_WOULD,           /* dry run: would be sent */
    QT_RESTORE_NOTHING,         /* no pending recipients: nothing to send */
    QT_RESTORE_SUPERSEDED,      /* a later copy of the same queue ID in the
                                   source (exported again) is the one sent */
    QT_RESTORE_FAILED,          /* not sent; why says why */
};

struct qt_restore_item {
    char *old_id;
    char *sender;               /* "" for the null sender */
    size_t nrcpts;              /* pending recipients sent to */
    enum qt_restore_status status;
    char new_id[64];            /* "" when not known */
    char *why;                  /* for FAILED, else NULL */
};

struct qt_restore_result {
    struct qt_restore_item *items;
    size_t n, cap;
    size_t nsent, nalready, nfailed, nwould;
    char **missing;             /* IDs asked for that the source does not hold */
    size_t nmissing;
    char message[512];          /* one summary line, or why nothing ran */
};

/* Restore from opt->source.  Returns true when nothing failed and every
 * asked-for ID was found. */
bool qt_restore_run(const struct qt_restore_options *opt, struct qt_restore_result *res);
void qt_restore_result_free(struct qt_restore_result *res);

/* The parts of one exported message (pointers into `data`); false when it
 * does not start with export.h's X-Qtriage block. */
struct qt_exported {
    char *old_id;               /* malloc'd strings */
    char *queue_name;
    char *arrival;
    char *sender;
    char **rcpts, **done;
    size_t nrcpts, ndone;
    const char *content;        /* what postcat -bh showed */
    size_t content_len;
};
bool qt_exported_parse(struct qt_exported *e, const char *data, size_t len);
void qt_exported_free(struct qt_exported *e);

#endif
