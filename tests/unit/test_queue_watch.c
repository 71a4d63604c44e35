/* The queue watch, both ways (inotify and directory mtimes): a message
 * arriving, leaving, moving between queues, or landing in a hash directory
 * that did not exist is a change; nothing happening is none. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qtriage/queue_watch.h"

static char qdir[64];

static void path(char *buf, size_t size, const char *rel)
{
    snprintf(buf, size, "%s/%s", qdir, rel);
}

static void mkdir_rel(const char *rel)
{
    char p[256];

    path(p, sizeof(p), rel);
    assert_int_equal(mkdir(p, 0700), 0);
}

static void write_rel(const char *rel)
{
    char p[256];
    int fd;

    path(p, sizeof(p), rel);
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "x", 1), 1);
    close(fd);
}

static void rename_rel(const char *from, const char *to)
{
    char a[256], b[256];

    path(a, sizeof(a), from);
    path(b, sizeof(b), to);
    assert_int_equal(rename(a, b), 0);
}

static void unlink_rel(const char *rel)
{
    char p[256];

    path(p, sizeof(p), rel);
    assert_int_equal(unlink(p), 0);
}

/* mtime mode: the kernel stamps directories with a coarse clock, so two
 * changes in one tick can leave the same mtime (the watch then waits for
 * the tick to pass).  Putting every directory's mtime far in the past
 * after each change makes the next one stand out at once, without waiting
 * for time. */
static void age_dirs(bool inotify)
{
    /* Every directory the watch looks at: one left out keeps the real
     * clock's mtime, and when the test is slow (ASan, a busy machine) its
     * racy mtime is reported once more, 20 ms later, as a change of some
     * later step ("seen twice"). */
    static const char *const dirs[] = {".", "incoming", "active", "deferred", "deferred/A",
                                       "deferred/B", "deferred/C", "deferred/C/D", "hold",
                                       "defer", "defer/A"};
    static time_t when = 1000000000;
    size_t i;

    if (inotify)
        return;
    when -= 10;
    for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        struct timespec ts[2] = {{when, 0}, {when, 0}};
        char p[256];

        path(p, sizeof(p), dirs[i]);
        utimensat(AT_FDCWD, p, ts, 0);  /* not there yet: nothing to age */
    }
}

/* The change `what` just made is seen, once. */
static void seen(struct qt_queue_watch *w, bool inotify, const char *what)
{
    age_dirs(inotify);
    if (!qt_queue_watch_changed(w))
        fail_msg("%s: not seen (%s)", what, inotify ? "inotify" : "mtimes");
    if (qt_queue_watch_changed(w))
        fail_msg("%s: seen twice (%s)", what, inotify ? "inotify" : "mtimes");
}

static int setup(void **state)
{
    (void)state;
    snprintf(qdir, sizeof(qdir), "/tmp/qt-watch-XXXXXX");
    assert_non_null(mkdtemp(qdir));
    mkdir_rel("incoming");
    mkdir_rel("active");
    mkdir_rel("deferred");
    mkdir_rel("deferred/A");
    mkdir_rel("deferred/C");    /* hash_queue_depth 2: a directory of directories */
    mkdir_rel("deferred/C/D");
    mkdir_rel("defer");
    mkdir_rel("defer/A");
    mkdir_rel("private");   /* not a queue: never watched */
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    /* a test directory of our own making, below /tmp */
    snprintf(cmd, sizeof(cmd), "%s", qdir);
    {
        static const char *const rels[] = {
            "incoming/A1", "active/A1", "deferred/A/A1", "deferred/B/B2", "deferred/B",
            "deferred/C/D/D4", "deferred/C/D", "deferred/C",
            "defer/A/A1", "hold/C3", "hold", "private/x", "incoming", "active",
            "deferred/A", "deferred", "defer/A", "defer", "private",
        };
        size_t i;

        for (i = 0; i < sizeof(rels) / sizeof(rels[0]); i++) {
            char p[256];

            path(p, sizeof(p), rels[i]);
            if (unlink(p) < 0)
                rmdir(p);
        }
    }
    rmdir(cmd);
    return 0;
}

static void exercise(bool inotify)
{
    struct qt_queue_watch *w;

    age_dirs(inotify);
    w = qt_queue_watch_open(qdir, inotify);
    assert_non_null(w);
    if (inotify && !qt_queue_watch_uses_inotify(w))
        skip();     /* no inotify here: the mtime run covers the rest */
    assert_int_equal(qt_queue_watch_uses_inotify(w), inotify);
    assert_int_equal(qt_queue_watch_fd(w) >= 0, inotify);
    assert_false(qt_queue_watch_changed(w));

    write_rel("incoming/A1");
    seen(w, inotify, "a message arriving");
    rename_rel("incoming/A1", "active/A1");
    seen(w, inotify, "a message moving to active");
    rename_rel("active/A1", "deferred/A/A1");
    seen(w, inotify, "a message moving to a hash directory");
    write_rel("private/x");
    assert_false(qt_queue_watch_changed(w));    /* not a queue */
    /* Leaf directories are not listed (their link count says they hold no
     * directory); those that hold some still are, down to the files. */
    write_rel("deferred/C/D/D4");
    seen(w, inotify, "a message two hash levels down");

    mkdir_rel("deferred/B");
    seen(w, inotify, "a new hash directory");
    write_rel("deferred/B/B2");
    seen(w, inotify, "a message in the new hash directory");
    mkdir_rel("hold");
    seen(w, inotify, "a queue that did not exist");
    write_rel("hold/C3");
    seen(w, inotify, "a message in the new queue");

    unlink_rel("deferred/B/B2");
    seen(w, inotify, "a message leaving a hash directory");
    unlink_rel("hold/C3");
    seen(w, inotify, "a message leaving");
    if (inotify) {
        write_rel("defer/A/A1");
        seen(w, inotify, "a defer log written in place (only inotify sees it)");
    }
    qt_queue_watch_close(w);
}

static void test_inotify(void **state)
{
    (void)state;
    exercise(true);
}

static void test_mtimes(void **state)
{
    (void)state;
    exercise(false);
}

static void test_missing_queue_directory(void **state)
{
    (void)state;
    assert_null(qt_queue_watch_open("/nonexistent/qt-watch", true));
    qt_queue_watch_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_inotify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mtimes, setup, teardown),
        cmocka_unit_test(test_missing_queue_directory),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
