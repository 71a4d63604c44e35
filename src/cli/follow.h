/* qtriage hold|delete --filter EXPR --follow DURATION: a standing rule on
 * the command line, and the signal flag it and the paced actions stop on. */
#ifndef QTRIAGE_CLI_FOLLOW_H
#define QTRIAGE_CLI_FOLLOW_H

#include <stdatomic.h>
#include <stdint.h>

#include "open.h"
#include "qtriage/actions.h"

/* Set by SIGINT and SIGTERM once cli_catch_stop_signals() ran. */
extern atomic_int cli_stop_requested;
void cli_catch_stop_signals(void);

/* Act on what `filter` matches in cq->store (loaded, with a backend), then
 * rescan and act on every new or changed match until `seconds` have passed
 * or a stop signal came: one line per catch (time, count, IDs), then a
 * summary.  Returns the exit status. */
int cli_follow(struct cli_queue *cq, enum qt_action a, const char *filter,
               const char *backup_dir, int64_t seconds, const char *duration_text);

#endif
