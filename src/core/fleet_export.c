/* Exports of a fleet's messages on the admin's machine: each queue file is
 * fetched from its host (the agent's F request) into an anonymous memory
 * file and written by the same export writer as a local one, into one
 * subdirectory per host. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "qtriage/fleet.h"
#include "qtriage/store.h"

int qt_fleet_fetch_fd(struct qt_backend *b, const char *store_id, struct qt_error *err)
{
    struct qt_buf bytes = {0};
    size_t done = 0;
    int fd;

    if (!qt_fleet_fetch(b, store_id, &bytes, err)) {
        qt_buf_free(&bytes);
        return -1;
    }
    /* Private to this process: no name anyone else could open. */
    fd = memfd_create("qtriage-fetched", MFD_CLOEXEC);
    if (fd < 0) {
        qt_error_set(err, "memfd_create: %s", strerror(errno));
        qt_buf_free(&bytes);
        return -1;
    }
    while (done < bytes.len) {
        ssize_t n = write(fd, bytes.data + done, bytes.len - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            qt_error_set(err, "writing the fetched copy: %s", strerror(errno));
            close(fd);
            qt_buf_free(&bytes);
            return -1;
        }
        done += (size_t)n;
    }
    qt_buf_free(&bytes);
    lseek(fd, 0, SEEK_SET);
    return fd;
}

static void push(char ***v, size_t *n, const char *s)
{
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[(*n)++] = xstrdup(s);
}

bool qt_fleet_export_run(struct qt_backend *b, enum qt_export_format fmt, const char *path,
                         const struct qt_action_target *targets, size_t n,
                         struct qt_export_result *res)
{
    struct qt_exporter x = {.mbox_fd = -1, .dir_fd = -1};
    struct qt_error err = {""};
    char host[QT_FLEET_HOST_MAX + 1] = "", open_host[QT_FLEET_HOST_MAX + 1] = "";
    bool open = false;
    size_t i;

    memset(res, 0, sizeof(*res));
    if (fmt == QT_EXPORT_MBOX) {
        if (!qt_export_open(&x, fmt, path, &err)) {
            snprintf(res->message, sizeof(res->message), "%s", err.msg);
            return false;
        }
        open = true;
    } else {
        /* The top directory first: qt_export_open creates only the last
         * component of a path. */
        if (!qt_export_open(&x, fmt, path, &err)) {
            snprintf(res->message, sizeof(res->message), "%s", err.msg);
            return false;
        }
        qt_export_close(&x);
    }
    for (i = 0; i < n; i++) {
        const char *qid;
        int fd;

        res->requested++;
        if (!qt_fleet_split_id(targets[i].id, host, sizeof(host), &qid)) {
            size_t k = res->nfailed;

            push(&res->failed, &res->nfailed, targets[i].id);
            push(&res->failed_why, &k, "not HOST:QUEUEID");
            continue;
        }
        if (fmt == QT_EXPORT_EML_DIR && strcmp(host, open_host) != 0) {
            char *sub = xasprintf("%s/%s", path, host);

            if (open)
                qt_export_close(&x);
            open = qt_export_open(&x, fmt, sub, &err);
            free(sub);
            snprintf(open_host, sizeof(open_host), "%s", host);
        }
        if (!open) {
            size_t k = res->nfailed;

            push(&res->failed, &res->nfailed, targets[i].id);
            push(&res->failed_why, &k, err.msg);
            continue;
        }
        fd = qt_fleet_fetch_fd(b, targets[i].id, &err);
        if (fd < 0) {
            size_t k = res->nfailed;

            if (strstr(err.msg, "no longer in the queue")) {
                push(&res->gone, &res->ngone, targets[i].id);
                continue;
            }
            push(&res->failed, &res->nfailed, targets[i].id);
            push(&res->failed_why, &k, err.msg);
            continue;
        }
        switch (qt_export_message_fd(&x, fd, qid,
                                     qt_queue_name(targets[i].queue < QT_Q_COUNT
                                                       ? targets[i].queue
                                                       : QT_Q_DEFERRED),
                                     &err)) {
        case QT_EXPORT_ALREADY:
            res->nalready++;
            __attribute__((fallthrough));
        case QT_EXPORT_DONE:
            push(&res->exported, &res->nexported, targets[i].id);
            break;
        case QT_EXPORT_GONE:
            push(&res->gone, &res->ngone, targets[i].id);
            break;
        case QT_EXPORT_FAILED: {
            size_t k = res->nfailed;

            push(&res->failed, &res->nfailed, targets[i].id);
            push(&res->failed_why, &k, err.msg);
            break;
        }
        }
        close(fd);
    }
    if (open)
        qt_export_close(&x);
    qt_export_result_describe(res, path, fmt == QT_EXPORT_EML_DIR ? "/HOST" : "");
    return res->nfailed == 0;
}
