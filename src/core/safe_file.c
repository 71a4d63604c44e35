/* Root's files: reached through directories walked without following links,
 * created complete or not at all. */
#include "qtriage/safe_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TMP_TAG ".qtriage-"
#define TMP_SUFFIX ".tmp"

const char *qt_safe_dir_problem(const struct stat *st, uid_t me)
{
    bool shared = (st->st_mode & (S_IWGRP | S_IWOTH)) != 0;

    if (!S_ISDIR(st->st_mode))
        return "is not a directory";
    /* /tmp: others may add entries but not move or remove ours. */
    if (shared && st->st_uid == 0 && (st->st_mode & S_ISVTX))
        return NULL;
    if (shared)
        return (st->st_mode & S_IWOTH) ? "is writable by others (and not a root-owned sticky "
                                         "directory like /tmp)"
                                       : "is writable by its group";
    if (st->st_uid != 0 && st->st_uid != me)
        return "is owned by another user (neither root nor you)";
    return NULL;
}

/* The components of `path` made absolute and lexically normalised; returns
 * the count, or -1 with `err` set.  `*copy` holds the strings. */
static int split_path(const char *path, char **copy, char ***parts, struct qt_error *err)
{
    char *abs, *save = NULL, *tok;
    int n = 0;

    if (!*path) {
        qt_error_set(err, "empty path");
        return -1;
    }
    if (path[0] == '/') {
        abs = xstrdup(path);
    } else {
        char cwd[PATH_MAX];

        if (!getcwd(cwd, sizeof(cwd))) {
            qt_error_set(err, "%s: cannot tell the current directory: %s", path,
                         strerror(errno));
            return -1;
        }
        abs = xasprintf("%s/%s", cwd, path);
    }
    *parts = xcalloc(strlen(abs) / 2 + 2, sizeof(**parts));
    for (tok = strtok_r(abs, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
        if (strcmp(tok, ".") == 0)
            continue;
        if (strcmp(tok, "..") == 0) {
            if (n > 0)
                n--;
            continue;
        }
        (*parts)[n++] = tok;
    }
    *copy = abs;
    return n;
}

/* "/a/b/c" for the first `n` parts. */
static char *join(char **parts, int n)
{
    struct qt_buf b = {0};
    int i;

    if (n == 0)
        return xstrdup("/");
    for (i = 0; i < n; i++)
        qt_buf_printf(&b, "/%s", parts[i]);
    return b.data;
}

static bool check_dir(int fd, char **parts, int depth, struct qt_error *err)
{
    struct stat st;
    const char *why;
    char *shown;

    if (fstat(fd, &st) < 0) {
        shown = join(parts, depth);
        qt_error_set(err, "%s: %s", shown, strerror(errno));
        free(shown);
        return false;
    }
    why = qt_safe_dir_problem(&st, geteuid());
    if (!why)
        return true;
    shown = join(parts, depth);
    qt_error_set(err, "refusing to write below %s: it %s (owner uid %ld, mode %04o)", shown, why,
                 (long)st.st_uid, (unsigned)(st.st_mode & 07777));
    free(shown);
    return false;
}

/* Why openat of a component failed, in words. */
static void explain_open_failure(int dir_fd, const char *name, char **parts, int depth, int e,
                                 struct qt_error *err)
{
    char *shown = join(parts, depth);
    struct stat st;

    if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
        qt_error_set(err, "refusing to write below %s: it is a symbolic link (owner uid %ld); "
                     "no link is followed", shown, (long)st.st_uid);
    else if (e == ENOTDIR)
        qt_error_set(err, "%s is not a directory", shown);
    else
        qt_error_set(err, "%s: %s", shown, strerror(e));
    free(shown);
}

/* Walk the first `n` parts from "/"; create the last when asked. */
static int walk(char **parts, int n, bool create_last, struct qt_error *err)
{
    int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC), next, i;

    if (fd < 0) {
        qt_error_set(err, "/: %s", strerror(errno));
        return -1;
    }
    if (!check_dir(fd, parts, 0, err)) {
        close(fd);
        return -1;
    }
    for (i = 0; i < n; i++) {
        next = openat(fd, parts[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT && create_last && i == n - 1) {
            if (mkdirat(fd, parts[i], 0700) < 0 && errno != EEXIST) {
                char *shown = join(parts, i + 1);

                qt_error_set(err, "cannot create directory %s: %s", shown, strerror(errno));
                free(shown);
                close(fd);
                return -1;
            }
            /* Whoever made it, the checks below decide. */
            next = openat(fd, parts[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (next >= 0)
                fsync(fd);
        }
        if (next < 0) {
            explain_open_failure(fd, parts[i], parts, i + 1, errno, err);
            close(fd);
            return -1;
        }
        close(fd);
        fd = next;
        if (!check_dir(fd, parts, i + 1, err)) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

int qt_safe_open_dir(const char *path, bool create_last, struct qt_error *err)
{
    char *copy = NULL, **parts = NULL;
    int n = split_path(path, &copy, &parts, err), fd = -1;

    if (n >= 0)
        fd = walk(parts, n, create_last, err);
    free(parts);
    free(copy);
    return fd;
}

int qt_safe_open_parent(const char *path, char **name, struct qt_error *err)
{
    char *copy = NULL, **parts = NULL;
    const char *base = strrchr(path, '/');
    int n, fd = -1;

    *name = NULL;
    base = base ? base + 1 : path;
    if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        qt_error_set(err, "%s does not name a file", path);
        return -1;
    }
    n = split_path(path, &copy, &parts, err);
    if (n > 0) {
        fd = walk(parts, n - 1, false, err);
        if (fd >= 0)
            *name = xstrdup(parts[n - 1]);
    }
    free(parts);
    free(copy);
    return fd;
}

/* Whether `st` is a file the caller may append to or call its own. */
static const char *own_file_problem(const struct stat *st)
{
    if (S_ISLNK(st->st_mode))
        return "is a symbolic link";
    if (!S_ISREG(st->st_mode))
        return "is not a regular file";
    if (st->st_uid != geteuid())
        return "is owned by another user";
    if (st->st_nlink != 1)
        return "has more than one link (a hard link elsewhere could expose it)";
    return NULL;
}

int qt_safe_open_append(int dir_fd, const char *name, const char *shown, bool *created,
                        struct qt_error *err)
{
    const int flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC;
    struct stat before, st;
    const char *why;
    int fd, tries;

    *created = false;
    for (tries = 0; tries < 3; tries++) {
        /* Look before opening: opening a device or FIFO can act by itself. */
        if (fstatat(dir_fd, name, &before, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT) {
                qt_error_set(err, "%s: %s", shown, strerror(errno));
                return -1;
            }
            fd = openat(dir_fd, name, flags | O_CREAT | O_EXCL, 0600);
            if (fd < 0 && errno == EEXIST)
                continue;       /* made meanwhile: look again */
            if (fd < 0) {
                qt_error_set(err, "cannot create %s: %s", shown, strerror(errno));
                return -1;
            }
            if (fsync(dir_fd) < 0) {
                qt_error_set(err, "cannot sync the directory of %s: %s", shown, strerror(errno));
                close(fd);
                return -1;
            }
            *created = true;
            return fd;
        }
        if ((why = own_file_problem(&before)) != NULL) {
            qt_error_set(err, "refusing to write to %s: it %s (owner uid %ld)", shown, why,
                         (long)before.st_uid);
            return -1;
        }
        fd = openat(dir_fd, name, flags);
        if (fd < 0 && errno == ENOENT)
            continue;
        if (fd < 0) {
            qt_error_set(err, "cannot open %s: %s%s", shown, strerror(errno),
                         errno == ELOOP ? " (a symbolic link: refused)" : "");
            return -1;
        }
        if (fstat(fd, &st) < 0 || (why = own_file_problem(&st)) != NULL ||
            st.st_ino != before.st_ino || st.st_dev != before.st_dev) {
            qt_error_set(err, "refusing to write to %s: it %s", shown,
                         why ? why : "changed while it was being opened");
            close(fd);
            return -1;
        }
        return fd;
    }
    qt_error_set(err, "%s keeps appearing and disappearing: refused", shown);
    return -1;
}

int qt_safe_open_append_path(const char *path, bool *created, struct qt_error *err)
{
    char *name = NULL;
    int dir_fd = qt_safe_open_parent(path, &name, err), fd = -1;

    *created = false;
    if (dir_fd >= 0)
        fd = qt_safe_open_append(dir_fd, name, path, created, err);
    if (dir_fd >= 0)
        close(dir_fd);
    free(name);
    return fd;
}

bool qt_safe_new_begin(struct qt_safe_new *f, int dir_fd, const char *name, struct qt_error *err)
{
    static unsigned long counter;
    struct timespec ts;
    int tries;

    clock_gettime(CLOCK_REALTIME, &ts);
    f->dir_fd = dir_fd;
    f->fd = -1;
    f->name = xstrdup(name);
    f->tmp = NULL;
    for (tries = 0; tries < 5; tries++) {
        unsigned long r = (unsigned long)ts.tv_nsec ^ ((unsigned long)ts.tv_sec << 20) ^
                          (++counter * 2654435761UL) ^ (unsigned long)tries;

        free(f->tmp);
        f->tmp = xasprintf(".%s" TMP_TAG "%ld-%lx" TMP_SUFFIX, name, (long)getpid(), r);
        f->fd = openat(dir_fd, f->tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (f->fd >= 0 || errno != EEXIST)
            break;
    }
    if (f->fd < 0) {
        qt_error_set(err, "cannot create a temporary file for %s: %s", name, strerror(errno));
        free(f->tmp);
        free(f->name);
        f->tmp = f->name = NULL;
        return false;
    }
    return true;
}

static void new_free(struct qt_safe_new *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    free(f->tmp);
    free(f->name);
    f->tmp = f->name = NULL;
}

void qt_safe_new_abort(struct qt_safe_new *f)
{
    if (f->tmp)
        unlinkat(f->dir_fd, f->tmp, 0);
    new_free(f);
}

/* Whether the existing final file holds exactly the bytes of ours. */
static bool same_content(struct qt_safe_new *f, bool *ours)
{
    struct stat a, b;
    char x[65536], y[65536];
    bool same = false;
    int fd;

    *ours = false;
    fd = openat(f->dir_fd, f->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return false;
    if (fstat(fd, &a) < 0 || fstat(f->fd, &b) < 0 || own_file_problem(&a) != NULL)
        goto out;
    *ours = true;
    if (a.st_size != b.st_size || lseek(f->fd, 0, SEEK_SET) != 0)
        goto out;
    for (;;) {
        ssize_t n = read(fd, x, sizeof(x)), m;

        if (n < 0)
            goto out;
        if (n == 0) {
            same = read(f->fd, y, 1) == 0;
            break;
        }
        /* Both are regular files: a read gives what is there, in full. */
        m = read(f->fd, y, (size_t)n);
        if (m != n || memcmp(x, y, (size_t)n) != 0)
            break;
    }
out:
    close(fd);
    return same;
}

enum qt_safe_commit qt_safe_new_commit(struct qt_safe_new *f, const char *shown_dir,
                                       struct qt_error *err)
{
    enum qt_safe_commit r = QT_SAFE_FAILED;
    bool ours = false;
    int e;

    if (fsync(f->fd) < 0) {
        qt_error_set(err, "fsync %s/%s: %s", shown_dir, f->tmp, strerror(errno));
        goto fail;
    }
    if (renameat2(f->dir_fd, f->tmp, f->dir_fd, f->name, RENAME_NOREPLACE) == 0) {
        r = QT_SAFE_WRITTEN;
    } else if (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP) {
        /* No RENAME_NOREPLACE here: a hard link never replaces either. */
        if (linkat(f->dir_fd, f->tmp, f->dir_fd, f->name, 0) == 0) {
            unlinkat(f->dir_fd, f->tmp, 0);
            r = QT_SAFE_WRITTEN;
        }
    }
    if (r != QT_SAFE_WRITTEN) {
        e = errno;
        if (e == EEXIST && same_content(f, &ours)) {
            r = QT_SAFE_SAME;
            goto fail;          /* drop ours: the one there is the same */
        }
        if (e == EEXIST)
            qt_error_set(err, "%s/%s already exists with different content%s: not overwritten",
                         shown_dir, f->name,
                         ours ? "" : " (and is not a plain file of yours)");
        else
            qt_error_set(err, "cannot move %s/%s into place as %s: %s", shown_dir, f->tmp,
                         f->name, strerror(e));
        goto fail;
    }
    if (fsync(f->dir_fd) < 0) {
        /* The name may not survive a crash: not safely saved. */
        qt_error_set(err, "fsync %s: %s", shown_dir, strerror(errno));
        unlinkat(f->dir_fd, f->name, 0);
        r = QT_SAFE_FAILED;
    }
    new_free(f);
    return r;
fail:
    unlinkat(f->dir_fd, f->tmp, 0);
    new_free(f);
    return r;
}

bool qt_safe_replace_file(const char *path, const void *data, size_t len, mode_t mode,
                          struct qt_error *err)
{
    const char *p = data, *why;
    struct qt_safe_new f;
    char *name = NULL;
    struct stat st;
    size_t done = 0;
    int dir_fd = qt_safe_open_parent(path, &name, err);
    bool ok = false;

    if (dir_fd < 0)
        return false;
    /* rename() replaces a link or a second name without touching what
     * they point at; another user's file it would take from them. */
    why = NULL;
    if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
            why = "is not a regular file";
        else if (S_ISREG(st.st_mode) && st.st_uid != geteuid())
            why = "is owned by another user";
    }
    if (why) {
        qt_error_set(err, "refusing to replace %s: it %s (owner uid %ld)", path, why,
                     (long)st.st_uid);
        goto out;
    }
    if (!qt_safe_new_begin(&f, dir_fd, name, err))
        goto out;
    /* The mode asked for, whatever the umask. */
    if (fchmod(f.fd, mode) < 0) {
        qt_error_set(err, "chmod %s: %s", path, strerror(errno));
        qt_safe_new_abort(&f);
        goto out;
    }
    while (done < len) {
        ssize_t w = write(f.fd, p + done, len - done);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            qt_error_set(err, "write %s: %s", path, strerror(w < 0 ? errno : EIO));
            qt_safe_new_abort(&f);
            goto out;
        }
        done += (size_t)w;
    }
    if (fsync(f.fd) < 0 || renameat(dir_fd, f.tmp, dir_fd, name) < 0 || fsync(dir_fd) < 0) {
        qt_error_set(err, "cannot write %s: %s", path, strerror(errno));
        qt_safe_new_abort(&f);
        goto out;
    }
    f.tmp[0] = '\0';          /* renamed: nothing left to remove */
    new_free(&f);
    ok = true;
out:
    free(name);
    close(dir_fd);
    return ok;
}

/* ".NAME.qtriage-PID-HEX.tmp": the PID, or -1 for any other name. */
static long leftover_pid(const char *name)
{
    size_t len = strlen(name);
    const char *tag, *p;
    char *end;
    long pid;

    if (name[0] != '.' || len < sizeof(TMP_SUFFIX) ||
        strcmp(name + len - (sizeof(TMP_SUFFIX) - 1), TMP_SUFFIX) != 0)
        return -1;
    tag = NULL;
    for (p = strstr(name, TMP_TAG); p; p = strstr(p + 1, TMP_TAG))
        tag = p;
    if (!tag)
        return -1;
    pid = strtol(tag + sizeof(TMP_TAG) - 1, &end, 10);
    if (end == tag + sizeof(TMP_TAG) - 1 || *end != '-' || pid <= 0)
        return -1;
    return pid;
}

int qt_safe_clean_leftovers(int dir_fd)
{
    struct dirent *de;
    struct stat st;
    int fd = dup(dir_fd), removed = 0;
    DIR *d;

    if (fd < 0)
        return 0;
    d = fdopendir(fd);
    if (!d) {
        close(fd);
        return 0;
    }
    rewinddir(d);
    while ((de = readdir(d)) != NULL) {
        long pid = leftover_pid(de->d_name);

        if (pid <= 0 || pid == (long)getpid())
            continue;
        /* A live process (or one we may not signal) may still be writing. */
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        if (fstatat(dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
            st.st_uid != geteuid())
            continue;
        if (unlinkat(dir_fd, de->d_name, 0) == 0)
            removed++;
    }
    closedir(d);
    if (removed)
        fsync(dir_fd);
    return removed;
}
