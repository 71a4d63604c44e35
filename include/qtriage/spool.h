/* Where an instance keeps its queue, and how its file names map to paths.
 *
 * Settings come from `postconf -h` (with `-c CONFIG_DIR` for another
 * instance), never from parsing main.cf ourselves, so defaults, $name
 * expansion and multi-instance setups are Postfix's own. */
#ifndef QTRIAGE_SPOOL_H
#define QTRIAGE_SPOOL_H

#include <stdbool.h>
#include <stddef.h>

#include "qtriage/util.h"

enum qt_queue {
    QT_Q_MAILDROP,
    QT_Q_INCOMING,
    QT_Q_ACTIVE,
    QT_Q_DEFERRED,
    QT_Q_HOLD,
    QT_Q_CORRUPT,
    QT_Q_COUNT,
};

const char *qt_queue_name(enum qt_queue q);
bool qt_queue_from_name(const char *name, enum qt_queue *q);

struct qt_spool_layout {
    char *config_dir;           /* NULL: the default instance */
    char *queue_directory;
    char *command_directory;
    char *mail_owner;
    bool hashed[QT_Q_COUNT];    /* per message queue */
    bool defer_hashed, bounce_hashed;
    int hash_depth;
    bool long_ids;
    char *postconf;             /* absolute paths of Postfix's tools */
    char *postsuper;
    char *postqueue;
    char *postkick;
};

/* Ask postconf for the layout of the instance in `config_dir` (NULL: the
 * one $MAIL_CONFIG names, else the default).  On failure fills `err` with
 * what went wrong and returns false.
 *
 * As root (trust.h) it refuses, naming the path and why: a configuration
 * directory or main.cf that someone other than root owns or can write (or
 * whose parent directories someone else can write), and a command_directory
 * likewise; postconf itself comes from a fixed list of system directories,
 * never $PATH.  Every program is checked again where it is run (proc.h). */
bool qt_spool_layout_load(struct qt_spool_layout *l, const char *config_dir,
                          struct qt_error *err);
void qt_spool_layout_free(struct qt_spool_layout *l);

/* The instance qtriage works on: `config_dir` (-c) when given, else
 * $MAIL_CONFIG when set and not empty, as Postfix's own tools take it;
 * NULL for the default instance. */
const char *qt_spool_config_dir(const char *config_dir);

/* As root: whether a Postfix configuration directory and its main.cf
 * (when there is one) are root's and writable by no one else, parents
 * included; else false with `err` naming the path and what is wrong.
 * Always true for other users. */
bool qt_spool_config_dir_trusted(const char *dir, struct qt_error *err);

/* The path of one of Postfix's tools in the layout's command_directory
 * (postsuper, postqueue, postcat, postkick, postdrop, sendmail, postmap,
 * postmulti), malloc'd; running it goes through the checks of proc.h. */
char *qt_spool_tool_path(const struct qt_spool_layout *l, const char *name);

/* Run `postconf [-c DIR] -h NAME...` and return the values, one per name
 * (malloc'd array of malloc'd strings), or NULL with `err` set. */
char **qt_postconf_values(const char *postconf, const char *config_dir,
                          const char *const *names, size_t n, struct qt_error *err);
void qt_strv_free(char **v, size_t n);

/* Start an argv for one of Postfix's tools (`tool` is its path): the tool,
 * then "-c DIR" when the layout names an instance.  Returns the count. */
int qt_spool_tool_argv(const struct qt_spool_layout *l, const char *tool, const char **argv);

/* Path of `id` in `dir` ("deferred", "defer", "hold", ...) relative to the
 * queue directory, with Postfix's hashing applied when `hashed`.  Returns
 * false when the ID is not valid. */
bool qt_spool_relpath(const struct qt_spool_layout *l, const char *dir, bool hashed,
                      const char *id, char *buf, size_t size);

/* Which queue holds `id` right now (an lstat per queue, so root or the
 * mail owner only).  False when it is in none, or the ID is invalid. */
bool qt_spool_locate(const struct qt_spool_layout *l, const char *id, enum qt_queue *where);
/* The same, relative to `qdir_fd`, an open fd of the queue directory (-1:
 * by the path from /): for many IDs, the kernel then walks two or three
 * names per lookup instead of the whole path. */
bool qt_spool_locate_at(const struct qt_spool_layout *l, int qdir_fd, const char *id,
                        enum qt_queue *where);

/* Open the queue file of `id` read-only (O_NOFOLLOW): first in `hint` when
 * it is a queue, then wherever qt_spool_locate finds it, twice, because
 * qmgr may move the file between locating and opening it.  Returns the fd
 * with its queue in *where and its path relative to the queue directory in
 * `rel`; or -1 with errno set (ENOENT: it is in no queue any more). */
int qt_spool_open_message(const struct qt_spool_layout *l, const char *id, int hint,
                          enum qt_queue *where, char *rel, size_t relsize);

/* A queue ID as postsuper accepts it: 1..63 characters of [0-9A-Za-z]. */
bool qt_queue_id_valid(const char *id);

#endif
