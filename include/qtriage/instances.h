/* The Postfix instances of a multi-instance setup, as `postmulti -l` lists
 * them: one line per instance, "NAME GROUP ENABLED CONFIG_DIR" (printf
 * "%-15s %-15s %-9s %s"), "-" for an instance without a name or group,
 * "y"/"n" for enabled. */
#ifndef QTRIAGE_INSTANCES_H
#define QTRIAGE_INSTANCES_H

#include <stdbool.h>
#include <stddef.h>

#include "qtriage/spool.h"
#include "qtriage/util.h"

struct qt_instance {
    char *name;                 /* "-": the default instance without a name */
    char *group;                /* "-": none */
    bool enabled;
    char *config_dir;           /* absolute */
};

struct qt_instances {
    struct qt_instance *v;
    size_t n, cap;
};

/* Parse `postmulti -l` output; lines that are not an instance are skipped
 * and counted.  Returns the number skipped. */
size_t qt_instances_parse(struct qt_instances *out, const char *text, size_t len);

/* Run `postmulti -l` (argv, no shell).  False, with a message, when it
 * cannot run or fails; true with out->n >= 0 otherwise. */
bool qt_instances_list(struct qt_instances *out, struct qt_error *err);

void qt_instances_free(struct qt_instances *list);

/* Messages per queue of the instance in `config_dir`, counted by walking its
 * queue directories (root or the mail owner): at most `cap` a queue, so a
 * million-message flood costs no more than `cap` directory entries.  A
 * queue that cannot be read counts -1.  False (and why) when the instance's
 * configuration cannot be read. */
bool qt_instance_count(const char *config_dir, long counts[QT_Q_COUNT], long cap,
                       struct qt_error *err);

/* Counting stops here: a look, not a scan. */
#define QT_INSTANCE_COUNT_CAP 100000

/* The deferred, hold, active and incoming counts as text: "123",
 * "100000+" (at the cap), "?" (unreadable).  False (and why) when the
 * instance's configuration cannot be read: every cell is "?" then. */
bool qt_instance_count_cells(const char *config_dir, char cells[4][24], struct qt_error *err);

#endif
