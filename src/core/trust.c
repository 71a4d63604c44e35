/* What root may trust (trust.h): a path whose every component only root
 * can change. */
#include "qtriage/trust.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *qt_trust_stat_problem(const struct stat *st, uid_t owner, bool last, char *buf,
                                  size_t size)
{
    /* A sticky directory of root's keeps others from renaming or removing
     * root's entries, which is all that matters for what lies below. */
    bool sticky_root_dir = !last && S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX) &&
                           st->st_uid == 0;

    if (st->st_uid != 0 && st->st_uid != owner)
        snprintf(buf, size, "owned by uid %lu", (unsigned long)st->st_uid);
    else if ((st->st_mode & S_IWOTH) && !sticky_root_dir)
        snprintf(buf, size, "writable by others");
    else if ((st->st_mode & S_IWGRP) && !sticky_root_dir)
        snprintf(buf, size, "writable by group");
    else
        return NULL;
    return buf;
}

static bool kind_matches(const struct stat *st, enum qt_trust_kind kind)
{
    return kind == QT_TRUST_DIR ? S_ISDIR(st->st_mode) : S_ISREG(st->st_mode);
}

/* Check one component of the real path; `end` is where it ends in `real`.
 * Returns 0 or the errno to fail with (`why` says more). */
static int component_problem(char *real, size_t end, bool last, uid_t owner,
                             enum qt_trust_kind kind, char *why, size_t size)
{
    char saved = real[end], problem[64];
    const char *dir = end ? real : "/";
    struct stat st;
    int e = EPERM;

    real[end] = '\0';
    if (lstat(dir, &st) != 0) {
        e = errno;
        snprintf(why, size, "%s: %s", dir, strerror(e));
    } else if (S_ISLNK(st.st_mode)) {
        /* realpath() resolved every link: one here means a component
         * changed under us, which only its owner could do. */
        snprintf(why, size, "%s changed while it was checked", dir);
    } else if (!last && !S_ISDIR(st.st_mode)) {
        snprintf(why, size, "%s is not a directory", dir);
    } else if (qt_trust_stat_problem(&st, owner, last, problem, sizeof(problem))) {
        if (last)
            snprintf(why, size, "%s", problem);
        else
            snprintf(why, size, "directory %s is %s", dir, problem);
    } else if (last && !kind_matches(&st, kind)) {
        snprintf(why, size, kind == QT_TRUST_DIR ? "not a directory" : "not a regular file");
        e = kind == QT_TRUST_DIR ? ENOTDIR : EINVAL;
    } else {
        e = 0;
    }
    real[end] = saved;
    return e;
}

char *qt_trusted_path_check(const char *path, uid_t owner, enum qt_trust_kind kind, char *why,
                            size_t size)
{
    char *real = realpath(path, NULL);
    size_t end, len;

    if (!real) {
        int e = errno;

        snprintf(why, size, "%s", strerror(e));
        errno = e;
        return NULL;
    }
    len = strlen(real);
    /* "/" itself, then each prefix ending before a '/', then the whole. */
    for (end = 0;; end++) {
        bool last = end == len || (end == 0 && len == 1);

        if (end == 0 || end == len || real[end] == '/') {
            int e = component_problem(real, end, last, owner, kind, why, size);

            if (e) {
                free(real);
                errno = e;
                return NULL;
            }
        }
        if (last)
            break;
    }
    return real;
}

bool qt_trust_enforced(void)
{
    return geteuid() == 0;
}
