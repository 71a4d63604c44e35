/* Change detection for the queue directories (see queue_watch.h).  The
 * directories watched are those of the message queues and of the defer
 * and bounce logs, with their hash subdirectories (Postfix creates those
 * as it needs them: a new one is a change, and is watched from then on). */
#include "qtriage/queue_watch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qtriage/util.h"

/* Hash levels below a queue (hash_queue_depth allows up to 16; Postfix
 * installs use 1 or 2).  Deeper directories go unwatched and are left to
 * the caller's slow full rescan. */
#define MAX_DEPTH 4

static const char *const watched_dirs[] = {
    "maildrop", "incoming", "active", "deferred", "hold", "corrupt", "defer", "bounce",
};

#define WATCH_EVENTS \
    (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | IN_MODIFY | \
     IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW)

/* The queue directory itself: only directories come and go in it. */
#define TOP_EVENTS (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR)

struct dir_state {
    char *rel;                  /* relative to the queue directory */
    int64_t mtime_ns;
    int64_t noted_ns;           /* when it was noted (CLOCK_REALTIME) */
    ino_t ino;
    /* Its entries are directories (a hashed queue, or the queue directory),
     * so a change may be a new directory to note. */
    bool parent;
};

struct qt_queue_watch {
    char *qdir;
    int qdir_fd;
    int ino_fd;                 /* inotify, or -1 */
    bool rewatch;               /* a directory came or went: walk again */
    struct dir_state *dirs;     /* mtime mode: what was seen last */
    size_t ndirs, cap;
};

static int64_t mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* The kernel stamps directories with a coarse clock (a jiffy, up to 10 ms
 * here and there): a change in the same tick as the stat that noted the
 * directory leaves the mtime as it was.  An mtime that close to the time
 * it was noted is "racy" and counts as a change once more, later. */
#define RACY_NS (20 * 1000000LL)

static int64_t realtime_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void forget_dirs(struct qt_queue_watch *w)
{
    size_t i;

    for (i = 0; i < w->ndirs; i++)
        free(w->dirs[i].rel);
    w->ndirs = 0;
}

/* Note the directory `rel` (inotify: watch it), then, down to `depth`
 * MAX_DEPTH, its subdirectories.  False when inotify ran out of watches. */
static bool add_dir(struct qt_queue_watch *w, const char *rel, int depth)
{
    char sub[PATH_MAX];
    struct dirent *de;
    struct stat st;
    size_t me = w->ndirs;
    DIR *d;
    int fd = openat(w->qdir_fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0)
        return true;            /* not there (yet): its parent's change says when */
    if (fstat(fd, &st) < 0) {
        close(fd);
        return true;
    }
    if (w->ino_fd >= 0) {
        if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", w->qdir, rel) >= sizeof(sub) ||
            inotify_add_watch(w->ino_fd, sub, depth ? WATCH_EVENTS : TOP_EVENTS) < 0) {
            close(fd);
            return false;
        }
    }
    if (w->ndirs == w->cap)
        w->dirs = xgrow(w->dirs, &w->cap, w->ndirs + 1, sizeof(*w->dirs));
    w->dirs[me].rel = xstrdup(rel);
    w->dirs[me].mtime_ns = mtime_ns(&st);
    w->dirs[me].noted_ns = realtime_ns();
    w->dirs[me].ino = st.st_ino;
    w->dirs[me].parent = depth == 0;
    w->ndirs++;
    if (depth == 0) {           /* the queue directory: the queues, not all in it */
        close(fd);
        for (size_t i = 0; i < QT_ARRAY_LEN(watched_dirs); i++)
            if (!add_dir(w, watched_dirs[i], 1))
                return false;
        return true;
    }
    /* A directory whose link count is 2 has no subdirectory (Linux file
     * systems count each subdirectory's ".."; those that do not say 1):
     * a queue's leaf hash directories hold only files, 60k of them each at
     * a million messages, and listing them all here kept the first screen
     * back almost a second.  find(1) skips leaves the same way. */
    if (depth >= MAX_DEPTH || st.st_nlink == 2 || !(d = fdopendir(fd))) {
        close(fd);
        return true;
    }
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
            continue;
        if (de->d_type == DT_UNKNOWN &&
            (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)))
            continue;
        if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", rel, de->d_name) >= sizeof(sub))
            continue;
        w->dirs[me].parent = true;
        if (!add_dir(w, sub, depth + 1)) {
            closedir(d);
            return false;
        }
    }
    closedir(d);
    return true;
}

/* Watch (or note) every directory anew. */
static bool walk(struct qt_queue_watch *w)
{
    forget_dirs(w);
    return add_dir(w, ".", 0);
}

static void use_mtimes(struct qt_queue_watch *w)
{
    if (w->ino_fd >= 0)
        close(w->ino_fd);
    w->ino_fd = -1;
    walk(w);
}

struct qt_queue_watch *qt_queue_watch_open(const char *queue_directory, bool want_inotify)
{
    struct qt_queue_watch *w;
    int fd = open(queue_directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return NULL;
    w = xcalloc(1, sizeof(*w));
    w->qdir = xstrdup(queue_directory);
    w->qdir_fd = fd;
    w->ino_fd = want_inotify ? inotify_init1(IN_NONBLOCK | IN_CLOEXEC) : -1;
    /* Out of watches half way: mtimes for all, one way of knowing. */
    if (w->ino_fd >= 0 && !walk(w))
        use_mtimes(w);
    else if (w->ino_fd < 0)
        walk(w);
    return w;
}

void qt_queue_watch_close(struct qt_queue_watch *w)
{
    if (!w)
        return;
    forget_dirs(w);
    free(w->dirs);
    if (w->ino_fd >= 0)
        close(w->ino_fd);
    close(w->qdir_fd);
    free(w->qdir);
    free(w);
}

int qt_queue_watch_fd(const struct qt_queue_watch *w)
{
    return w->ino_fd;
}

bool qt_queue_watch_uses_inotify(const struct qt_queue_watch *w)
{
    return w->ino_fd >= 0;
}

static bool inotify_changed(struct qt_queue_watch *w)
{
    /* Aligned as struct inotify_event wants. */
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool changed = false;
    ssize_t n;

    while ((n = read(w->ino_fd, buf, sizeof(buf))) > 0) {
        const char *p = buf;

        changed = true;
        while (p < buf + n) {
            const struct inotify_event *ev = (const void *)p;

            /* A directory came or went (or the queue overflowed and who
             * knows): the set of watches is walked again. */
            if ((ev->mask & (IN_ISDIR | IN_IGNORED | IN_Q_OVERFLOW | IN_DELETE_SELF |
                             IN_MOVE_SELF)))
                w->rewatch = true;
            p += sizeof(*ev) + ev->len;
        }
    }
    if (w->rewatch) {
        /* Watches on directories seen before are kept (inotify gives the
         * same one back); new ones are added. */
        w->rewatch = false;
        if (!walk(w))
            use_mtimes(w);
        changed = true;
    }
    return changed;
}

/* Directory mtimes change when an entry is added, removed or renamed:
 * a message arriving, moving between queues, or leaving.  A directory
 * whose entries are directories is walked again when it changes. */
static bool mtimes_changed(struct qt_queue_watch *w)
{
    bool changed = false, rewalk = false;
    size_t i;

    for (i = 0; i < w->ndirs; i++) {
        struct dir_state *ds = &w->dirs[i];
        struct stat st;

        if (fstatat(w->qdir_fd, ds->rel, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            changed = rewalk = true;
            continue;
        }
        if (mtime_ns(&st) == ds->mtime_ns && st.st_ino == ds->ino &&
            ds->mtime_ns < ds->noted_ns - RACY_NS)
            continue;
        if (mtime_ns(&st) == ds->mtime_ns && st.st_ino == ds->ino) {
            /* Racy: noted again now; once the tick is past, it settles. */
            int64_t now = realtime_ns();

            if (now - RACY_NS <= ds->mtime_ns) {
                continue;   /* still inside the tick: asked again later */
            }
            ds->noted_ns = now;
            changed = true;
            continue;
        }
        changed = true;
        rewalk |= ds->parent || st.st_ino != ds->ino;
        ds->mtime_ns = mtime_ns(&st);
        ds->noted_ns = realtime_ns();
        ds->ino = st.st_ino;
    }
    if (rewalk)
        walk(w);
    return changed;
}

bool qt_queue_watch_changed(struct qt_queue_watch *w)
{
    return w->ino_fd >= 0 ? inotify_changed(w) : mtimes_changed(w);
}
