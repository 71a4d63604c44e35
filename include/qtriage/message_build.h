/* Turning a parsed queue file and its logs into a qt_msg_data, with the
 * recipient list in the order and form `postqueue -j` uses: recipients from
 * the defer and bounce logs first (with their reasons), then the queue
 * file's pending recipients not already listed, then the delivered and
 * cancelled ones.  Addresses are quoted and made printable as Postfix's
 * showq does, so the two listings compare equal. */
#ifndef QTRIAGE_MESSAGE_BUILD_H
#define QTRIAGE_MESSAGE_BUILD_H

#include <sys/stat.h>

#include "qtriage/arena.h"
#include "qtriage/defer_log.h"
#include "qtriage/message.h"
#include "qtriage/queue_file.h"

/* Strings in `out` are allocated from `arena`.  `defer`/`bounce` may be NULL. */
void qt_msg_data_build(struct qt_arena *arena, struct qt_msg_data *out,
                       const struct qt_queue_file *qf, enum qt_queue queue,
                       const struct stat *st, const struct qt_defer_log *defer,
                       const struct qt_defer_log *bounce);

/* An address as showq prints it: local part quoted when it is not a
 * dot-string, control characters replaced by '?', "" -> "MAILER-DAEMON". */
char *qt_address_display(struct qt_arena *arena, const char *addr);

#endif
