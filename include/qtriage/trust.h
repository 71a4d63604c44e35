/* What root may trust: files and programs that no one but root can change.
 *
 * qtriage as root must not be steerable by another user.  A file it reads
 * (its own configuration, a Postfix main.cf) or a program it runs
 * (postconf, postsuper, ...) is trusted only when it, and every directory
 * from / down to it, is owned by root and writable by no one else, as
 * OpenSSH checks its files: a user who owns any directory on the way can
 * swap what lies below it.  A root-owned sticky directory (/tmp) may be
 * writable by all, since no one but root can rename or remove root's
 * entries in it.  Symbolic links are resolved first, and the real path is
 * what is checked and then used, so a check and the later open or exec
 * name the same object: no one but root can change any part of it.
 *
 * This module only decides; it writes nothing (files root writes are
 * another module's business). */
#ifndef QTRIAGE_TRUST_H
#define QTRIAGE_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* What the last component must be: a regular file, a directory, or a
 * regular file root may execute. */
enum qt_trust_kind { QT_TRUST_FILE, QT_TRUST_DIR, QT_TRUST_PROGRAM };

/* The decision for one component, from its lstat: NULL when an object
 * owned by `owner` (or by root) and in this mode is safe, else why not
 * ("owned by uid 1000", "writable by group", "writable by others").
 * `last` is the object itself; only directories above it may be
 * world-writable, and then only when owned by root and sticky.  The
 * returned text is in `buf`. */
const char *qt_trust_stat_problem(const struct stat *st, uid_t owner, bool last, char *buf,
                                  size_t size);

/* Check `path` and every directory above it (after resolving symlinks).
 * Returns the real path (malloc'd) when trusted; else NULL with errno set
 * (ENOENT etc. when it cannot be resolved, ENOTDIR or EINVAL when the last
 * component is not a directory or not a regular file as `kind` wants,
 * EPERM when a component is not safe) and `why` filled: "owned by uid 1000", "directory /tmp/x is
 * writable by others", "not a regular file", "No such file or directory".
 * `owner` is the user trusted besides root: 0 for root itself (the unit
 * tests pass their own uid). */
char *qt_trusted_path_check(const char *path, uid_t owner, enum qt_trust_kind kind, char *why,
                            size_t size);

/* Whether this process must apply the checks: it runs as root (euid 0).
 * Other users run with their own rights only, so nothing changes for them. */
bool qt_trust_enforced(void);

/* As root, remove from the environment the terminal-description variables
 * (TERMINFO, TERMINFO_DIRS, TERMCAP, TERMPATH) that name anything but
 * trusted paths, calling `warn` for each (NULL: silently).  Nothing for
 * other users. */
void qt_trust_scrub_environment(void (*warn)(const char *name, const char *value,
                                             const char *why));

#endif
