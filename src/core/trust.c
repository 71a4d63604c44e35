/* What root may trust (trust.h): a path whose every component only root
 * can change. */
#include "qtriage/trust.h"
#include "qtriage/util.h"

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

/* ncurses reads terminal descriptions from where these name.  A description
 * decides every byte qtriage's screen sends, and its parser has had memory
 * bugs (CVE-2023-29491), so as root only root's own may be used.  `su`
 * without "-" keeps them from the user's session. */
static const char *const terminal_vars[] = {"TERMINFO", "TERMINFO_DIRS", "TERMCAP", "TERMPATH"};

/* Whether every entry of a colon-separated list of paths is trusted (an
 * empty entry means ncurses' compiled-in default, which is root's). */
static bool path_list_trusted(const char *list, char *why, size_t size)
{
    char *copy = xstrdup(list), *save = NULL, *p;
    bool ok = true;

    for (p = strtok_r(copy, ":", &save); p && ok; p = strtok_r(NULL, ":", &save)) {
        char *real = qt_trusted_path_check(p, 0, QT_TRUST_DIR, why, size);

        /* A terminal database may also be one hashed file. */
        if (!real && errno == ENOTDIR)
            real = qt_trusted_path_check(p, 0, QT_TRUST_FILE, why, size);
        ok = real != NULL;
        free(real);
    }
    free(copy);
    return ok;
}

void qt_trust_scrub_environment(void (*warn)(const char *name, const char *value,
                                             const char *why))
{
    size_t i;

    if (!qt_trust_enforced())
        return;
    for (i = 0; i < sizeof(terminal_vars) / sizeof(terminal_vars[0]); i++) {
        const char *value = getenv(terminal_vars[i]);
        char why[256] = "";

        if (!value)
            continue;
        /* TERMCAP may hold a whole description instead of a file name:
         * that is the user's text, never trusted. */
        if (value[0] != '/' && strcmp(terminal_vars[i], "TERMCAP") == 0)
            snprintf(why, sizeof(why), "a terminal description given in the environment");
        else if (path_list_trusted(value, why, sizeof(why)))
            continue;
        if (warn)
            warn(terminal_vars[i], value, why);
        unsetenv(terminal_vars[i]);
    }
}
