/* The spool scanner: reads a queue directory directly (needs root or the
 * mail owner's rights).
 *
 * A scan walks maildrop, incoming, active, deferred, hold and corrupt (hashed
 * or flat, any depth) on its own thread and hands files to worker threads to
 * parse.  Results reach the store's owner through a qt_feed in batches, so
 * the first rows can be shown while the rest stream in.  Rescans are
 * incremental: a file whose inode, size and mtime are unchanged is not read
 * again (a move to another queue is reported as an UPDATE), files that went
 * away are reported GONE.  Files that vanish between readdir() and open() are
 * normal churn, not errors; files whose mode is not yet 0700 are skipped, as
 * Postfix skips them. */
#ifndef QTRIAGE_SCANNER_H
#define QTRIAGE_SCANNER_H

#include <stdbool.h>

#include "qtriage/feed.h"
#include "qtriage/spool.h"

struct qt_scanner;

struct qt_scan_stats {
    unsigned long files_seen;   /* queue files found in the last scan */
    unsigned long parsed;       /* of which (re)parsed */
    unsigned long unreadable;
    unsigned long vanished;
};

/* `layout` and `feed` must outlive the scanner.  nworkers 0 = one per CPU. */
struct qt_scanner *qt_scanner_new(const struct qt_spool_layout *layout, struct qt_feed *feed,
                                  int nworkers);
/* Hand every message a scan parses to `fn` on the worker thread that read
 * it (`worker` numbers the thread, 0 <= worker < QT_SCANNER_MAX_WORKERS)
 * instead of queuing it to the feed: a one-shot listing formats on every
 * core at once, with no batch copied to a single consumer.  `m` and what it
 * points to live only during the call.  Errors and the end of the scan
 * still come through the feed.  NULL turns it off.  Set while no scan runs. */
#define QT_SCANNER_MAX_WORKERS 64
typedef void (*qt_scan_sink)(void *ctx, int worker, const struct qt_msg_data *m);
void qt_scanner_set_sink(struct qt_scanner *sc, qt_scan_sink fn, void *ctx);

/* Start a scan in the background.  Returns false when one is still running. */
bool qt_scanner_start(struct qt_scanner *sc);
bool qt_scanner_running(struct qt_scanner *sc);
/* Wait for the running scan (if any) to finish. */
void qt_scanner_wait(struct qt_scanner *sc);
void qt_scanner_stats(struct qt_scanner *sc, struct qt_scan_stats *out);
/* Stops a running scan early and frees everything. */
void qt_scanner_free(struct qt_scanner *sc);

#endif
