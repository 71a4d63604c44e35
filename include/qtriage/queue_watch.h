/* Whether anything changed in a queue directory, without reading every
 * directory: inotify watches on the queue and log directories (and their
 * hash subdirectories) where the kernel has them, else the directories'
 * mtimes, compared each time it is asked.  A caller that wants no event
 * ever missed still rescans fully now and then: mtimes miss a file
 * changed in place (a defer log appended to, a queue file's mtime set). */
#ifndef QTRIAGE_QUEUE_WATCH_H
#define QTRIAGE_QUEUE_WATCH_H

#include <stdbool.h>

struct qt_queue_watch;

/* Watch the queues below `queue_directory` (message queues and the defer
 * and bounce logs).  With `want_inotify` false, or when inotify cannot be
 * had (no kernel support, out of watches), mtimes are compared instead.
 * Returns NULL when the queue directory cannot be opened. */
struct qt_queue_watch *qt_queue_watch_open(const char *queue_directory, bool want_inotify);
void qt_queue_watch_close(struct qt_queue_watch *w);   /* NULL is fine */

/* The descriptor to poll for POLLIN (inotify), or -1 when only asking
 * qt_queue_watch_changed finds out. */
int qt_queue_watch_fd(const struct qt_queue_watch *w);
bool qt_queue_watch_uses_inotify(const struct qt_queue_watch *w);

/* Whether something changed since the last call (or the open): drains the
 * inotify events, or stats the watched directories. */
bool qt_queue_watch_changed(struct qt_queue_watch *w);

#endif
