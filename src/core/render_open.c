/* Finding a queued message's file and logs for the renderer. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qtriage/render.h"
#include "qtriage/spool.h"

static int open_in(const struct qt_spool_layout *l, const char *dir, bool hashed, const char *id,
                   char *rel, size_t relsize)
{
    char path[4096];

    if (!qt_spool_relpath(l, dir, hashed, id, rel, relsize))
        return -1;
    snprintf(path, sizeof(path), "%s/%s", l->queue_directory, rel);
    return open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
}

static void read_log(const struct qt_spool_layout *l, const char *dir, bool hashed, const char *id,
                     struct qt_defer_log *log, bool *have)
{
    char rel[256];
    int fd = open_in(l, dir, hashed, id, rel, sizeof(rel));

    *have = false;
    if (fd < 0)
        return;
    *have = qt_defer_log_read_fd(log, fd);
    close(fd);
}

struct qt_render *qt_render_open_queued(const struct qt_spool_layout *l, const char *id,
                                        int hint, enum qt_render_mode mode, struct qt_error *err)
{
    struct qt_defer_log defer = {0}, bounce = {0};
    struct qt_render_options opt = {0};
    struct qt_render *r;
    enum qt_queue q = QT_Q_COUNT;
    char rel[256];
    struct stat st;
    int fd;
    bool have_defer, have_bounce;

    if (!qt_queue_id_valid(id)) {
        qt_error_set(err, "not a queue ID: \"%.64s\"", id);
        return NULL;
    }
    fd = qt_spool_open_message(l, id, hint, &q, rel, sizeof(rel));
    if (fd < 0) {
        if (errno == ENOENT)
            qt_error_set(err, "%s is no longer in the queue", id);
        else
            qt_error_set(err, "cannot open %s/%s: %s", l->queue_directory, rel,
                         strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        qt_error_set(err, "%s/%s is not a regular file", l->queue_directory, rel);
        close(fd);
        return NULL;
    }
    read_log(l, "defer", l->defer_hashed, id, &defer, &have_defer);
    read_log(l, "bounce", l->bounce_hashed, id, &bounce, &have_bounce);
    opt.defer = have_defer ? &defer : NULL;
    opt.bounce = have_bounce ? &bounce : NULL;
    r = qt_render_open(fd, rel, mode, &opt, err);
    close(fd);
    qt_defer_log_free(&defer);
    qt_defer_log_free(&bounce);
    return r;
}
