/* Writing files as root where other users cannot redirect or read them.
 *
 * Every file qtriage writes (exports, backups, mboxes, the restore journal,
 * the bench log) is reached through a directory fd walked from "/": each
 * component is opened with openat(O_NOFOLLOW | O_DIRECTORY), so no symbolic
 * link is ever followed, and each directory on the way, the last included,
 * must be
 *   - owned by root or by the caller (euid), and not writable by group or
 *     others; or
 *   - owned by root, sticky (+t) and writable by anyone, as /tmp is: there
 *     no one but the owner of an entry can rename or remove it.
 * Otherwise the walk stops and says which component is wrong and why.
 *
 * A relative path is taken relative to the real path of the current
 * directory (getcwd(), which the kernel gives without symbolic links), and
 * walked from "/" like any other, so the current directory's parents are
 * checked too.  "." is skipped; ".." removes the previous component before
 * anything is opened (no link is followed, so that is what the kernel would
 * do).
 *
 * New files are written under a temporary name in their final directory
 * (".NAME.qtriage-PID-RANDOM.tmp", O_CREAT | O_EXCL | O_NOFOLLOW, 0600),
 * fsync'd, then moved to NAME with renameat2(RENAME_NOREPLACE) (linkat where
 * the filesystem cannot), and the directory fsync'd: a file under its final
 * name is always complete.  A temporary file left by a killed run is removed
 * by qt_safe_clean_leftovers() once its process is gone. */
#ifndef QTRIAGE_SAFE_FILE_H
#define QTRIAGE_SAFE_FILE_H

#include <stdbool.h>
#include <sys/stat.h>

#include "qtriage/util.h"

/* Why the directory described by `st` may not be written into by the
 * caller (static text), or NULL when it may. */
const char *qt_safe_dir_problem(const struct stat *st, uid_t me);

/* Open the directory `path` (walked as above) read-only, O_CLOEXEC.  With
 * `create_last`, a missing last component is created mode 0700 (its parents
 * must exist).  Returns the fd, or -1 with `err` naming the component. */
int qt_safe_open_dir(const char *path, bool create_last, struct qt_error *err);

/* Open the directory that holds the file `path` (walked as above); the
 * file's own name goes into *name (malloc'd).  A path ending in '/' or
 * naming "." or ".." has no file name: refused. */
int qt_safe_open_parent(const char *path, char **name, struct qt_error *err);

/* Open NAME in `dir_fd` for appending (O_WRONLY | O_APPEND | O_NOFOLLOW),
 * creating it O_EXCL mode 0600 when absent.  An existing file must be a
 * regular file owned by the caller with one link; a symbolic link,
 * anything else, another owner or a second link is refused, with `shown`
 * (the path for messages) in the error.  *created says whether it was new
 * (then the directory has been fsync'd). */
int qt_safe_open_append(int dir_fd, const char *name, const char *shown, bool *created,
                        struct qt_error *err);

/* Both steps at once: qt_safe_open_parent + qt_safe_open_append. */
int qt_safe_open_append_path(const char *path, bool *created, struct qt_error *err);

/* A new file being written under its temporary name. */
struct qt_safe_new {
    int dir_fd;                 /* borrowed */
    int fd;                     /* the temporary file, O_RDWR; write here */
    char *name;                 /* the final name */
    char *tmp;                  /* the temporary name */
};

/* Create the temporary file for NAME in `dir_fd`. */
bool qt_safe_new_begin(struct qt_safe_new *f, int dir_fd, const char *name, struct qt_error *err);

enum qt_safe_commit {
    QT_SAFE_WRITTEN,            /* NAME now holds what was written, synced */
    QT_SAFE_SAME,               /* NAME already held exactly these bytes (and is
                                   ours: regular, one link); ours is dropped */
    QT_SAFE_FAILED,             /* `err` says why; nothing is left behind */
};

/* fsync the file, move it to its final name without replacing anything,
 * fsync the directory.  Closes and frees `f` whatever happens; `shown_dir`
 * is the directory's path for messages. */
enum qt_safe_commit qt_safe_new_commit(struct qt_safe_new *f, const char *shown_dir,
                                       struct qt_error *err);

/* Drop the temporary file (after a failed write). */
void qt_safe_new_abort(struct qt_safe_new *f);

/* Replace the file PATH (walked as above) with `len` bytes of `data`, mode
 * `mode`, so that a reader sees the old file or the new one, whole: a
 * temporary name, fsync, rename over PATH, fsync of the directory.  An
 * existing PATH that is a symbolic link or a hard link is replaced (what it
 * points at is untouched); another user's file, a directory or a device is
 * refused and left alone. */
bool qt_safe_replace_file(const char *path, const void *data, size_t len, mode_t mode,
                          struct qt_error *err);

/* Remove temporary files of qt_safe_new_begin() whose process is gone (a
 * killed run), when they are regular files owned by the caller.  Returns
 * how many were removed. */
int qt_safe_clean_leftovers(int dir_fd);

#endif
