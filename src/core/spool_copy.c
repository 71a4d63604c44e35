#include "qtriage/spool_copy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Sets the queues `list` names (comma or space separated) as hashed. */
static void set_hashed(struct qt_spool_layout *l, const char *list)
{
    const char *p = list;
    int q;

    for (q = 0; q < QT_Q_COUNT; q++)
        l->hashed[q] = false;
    l->defer_hashed = l->bounce_hashed = false;
    while (*p) {
        char name[32];
        size_t len;
        enum qt_queue queue;

        p += strspn(p, ", \t");
        len = strcspn(p, ", \t");
        if (len && len < sizeof(name)) {
            memcpy(name, p, len);
            name[len] = 0;
            if (qt_queue_from_name(name, &queue))
                l->hashed[queue] = true;
            else if (strcmp(name, "defer") == 0)
                l->defer_hashed = true;
            else if (strcmp(name, "bounce") == 0)
                l->bounce_hashed = true;
        }
        p += len;
    }
}

static char *trim(char *s)
{
    char *end;

    s += strspn(s, " \t");
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
        *--end = 0;
    return s;
}

/* One "name = value" line of the layout file; false when not understood. */
static bool layout_line(struct qt_spool_layout *l, char *line)
{
    char *eq = strchr(line, '='), *name, *value;
    long depth;

    if (!eq)
        return false;
    *eq = 0;
    name = trim(line);
    value = trim(eq + 1);
    if (strcmp(name, "hash_queue_names") == 0) {
        set_hashed(l, value);
    } else if (strcmp(name, "hash_queue_depth") == 0) {
        if (!qt_parse_long(value, &depth) || depth < 1 || depth > 15)
            return false;
        l->hash_depth = (int)depth;
    } else if (strcmp(name, "enable_long_queue_ids") == 0) {
        l->long_ids = strcasecmp(value, "yes") == 0;
    } else {
        return false;
    }
    return true;
}

bool qt_spool_layout_from_copy(struct qt_spool_layout *l, const char *dir, struct qt_error *err)
{
    char path[4096], line[512];
    struct stat st;
    FILE *f;
    int fd, lineno = 0;

    memset(l, 0, sizeof(*l));
    if (stat(dir, &st) != 0) {
        qt_error_set(err, "%s: %s", dir, strerror(errno));
        return false;
    }
    if (!S_ISDIR(st.st_mode)) {
        qt_error_set(err, "%s: not a directory", dir);
        return false;
    }
    l->queue_directory = xstrdup(dir);
    l->hash_depth = 1;
    set_hashed(l, "deferred, defer");
    snprintf(path, sizeof(path), "%s/%s", dir, QT_SPOOL_COPY_LAYOUT_FILE);
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return true;    /* no file: Postfix's defaults */
    f = fdopen(fd, "r");
    if (!f) {
        close(fd);
        return true;
    }
    while (fgets(line, sizeof(line), f)) {
        char *s = trim(line);

        lineno++;
        if (!*s || *s == '#')
            continue;
        if (!layout_line(l, s)) {
            qt_error_set(err, "%s, line %d: not understood (hash_queue_names, "
                              "hash_queue_depth or enable_long_queue_ids = VALUE)",
                         path, lineno);
            fclose(f);
            qt_spool_layout_free(l);
            return false;
        }
    }
    fclose(f);
    return true;
}
