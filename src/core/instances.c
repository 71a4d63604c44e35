/* `postmulti -l`: which Postfix instances this host has. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qtriage/instances.h"
#include "qtriage/proc.h"
#include "qtriage/text.h"

/* Longest field taken: instance names and paths are short. */
#define MAX_FIELD 1024

static bool next_word(const char **p, const char *end, const char **w, size_t *wlen)
{
    const char *s = *p;

    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    *w = s;
    while (s < end && *s != ' ' && *s != '\t')
        s++;
    *wlen = (size_t)(s - *w);
    *p = s;
    return *wlen > 0 && *wlen <= MAX_FIELD;
}

/* Printable UTF-8 without controls: what a field may hold. */
static bool clean(const char *s, size_t len)
{
    size_t i = 0, l;

    while (i < len) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
        l = qt_utf8_seq_len((const unsigned char *)s + i, len - i);
        if (!l)
            return false;
        i += l;
    }
    return true;
}

static bool parse_line(struct qt_instances *out, const char *s, const char *end)
{
    const char *name, *group, *en, *dir;
    size_t nlen, glen, elen, dlen;
    struct qt_instance in;

    if (!next_word(&s, end, &name, &nlen) || !next_word(&s, end, &group, &glen) ||
        !next_word(&s, end, &en, &elen) || elen != 1 || (*en != 'y' && *en != 'n'))
        return false;
    /* The directory is the rest of the line (a path may hold blanks). */
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    dir = s;
    dlen = (size_t)(end - s);
    while (dlen && (dir[dlen - 1] == ' ' || dir[dlen - 1] == '\t' || dir[dlen - 1] == '\r'))
        dlen--;
    if (!dlen || dlen > MAX_FIELD || dir[0] != '/' || !clean(name, nlen) ||
        !clean(group, glen) || !clean(dir, dlen))
        return false;
    in.name = xstrndup(name, nlen);
    in.group = xstrndup(group, glen);
    in.enabled = *en == 'y';
    in.config_dir = xstrndup(dir, dlen);
    out->v = xgrow(out->v, &out->cap, out->n + 1, sizeof(*out->v));
    out->v[out->n++] = in;
    return true;
}

size_t qt_instances_parse(struct qt_instances *out, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    size_t bad = 0;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;

        if (le > p && !parse_line(out, p, le))
            bad++;
        p = nl ? nl + 1 : end;
    }
    return bad;
}

bool qt_instances_list(struct qt_instances *out, struct qt_error *err)
{
    char *prog = qt_proc_find_program("postmulti");
    const char *argv[] = {prog, "-l", NULL};
    struct qt_proc_spec spec = {.argv = argv};
    struct qt_proc_result res = {0};
    bool ok;

    if (!prog) {
        qt_error_set(err, "postmulti not found (is Postfix installed?)");
        return false;
    }
    ok = qt_proc_run(&spec, &res);
    if (!ok) {
        char why[400];

        qt_proc_describe(&spec, &res, why, sizeof(why));
        qt_error_set(err, "%s", why);
    } else {
        qt_instances_parse(out, res.out.data ? res.out.data : "", res.out.len);
    }
    qt_proc_result_free(&res);
    free(prog);
    return ok;
}

void qt_instances_free(struct qt_instances *list)
{
    size_t i;

    for (i = 0; i < list->n; i++) {
        free(list->v[i].name);
        free(list->v[i].group);
        free(list->v[i].config_dir);
    }
    free(list->v);
    memset(list, 0, sizeof(*list));
}

/* Queue files below `path`, descending `depth` levels of hash directories;
 * stops at `cap`.  -1 when `path` cannot be read. */
static long count_dir(const char *path, int depth, long cap)
{
    DIR *d = opendir(path);
    struct dirent *e;
    long n = 0;

    if (!d)
        return -1;
    while (n < cap && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (e->d_type == DT_DIR || (e->d_type == DT_UNKNOWN && depth > 0 && !e->d_name[1])) {
            if (depth > 0) {
                char *sub = xasprintf("%s/%s", path, e->d_name);
                long m = count_dir(sub, depth - 1, cap - n);

                free(sub);
                if (m > 0)
                    n += m;
            }
        } else if (qt_queue_id_valid(e->d_name)) {
            n++;
        }
    }
    closedir(d);
    return n;
}

bool qt_instance_count(const char *config_dir, long counts[QT_Q_COUNT], long cap,
                       struct qt_error *err)
{
    struct qt_spool_layout l;
    int q;

    if (!qt_spool_layout_load(&l, config_dir, err))
        return false;
    for (q = 0; q < QT_Q_COUNT; q++) {
        char *path = xasprintf("%s/%s", l.queue_directory, qt_queue_name((enum qt_queue)q));

        counts[q] = count_dir(path, l.hashed[q] ? l.hash_depth : 0, cap);
        free(path);
    }
    qt_spool_layout_free(&l);
    return true;
}

bool qt_instance_count_cells(const char *config_dir, char cells[4][24], struct qt_error *err)
{
    static const enum qt_queue shown[4] = {QT_Q_DEFERRED, QT_Q_HOLD, QT_Q_ACTIVE,
                                           QT_Q_INCOMING};
    long counts[QT_Q_COUNT];
    bool ok = qt_instance_count(config_dir, counts, QT_INSTANCE_COUNT_CAP, err);
    size_t i;

    for (i = 0; i < 4; i++) {
        long n = ok ? counts[shown[i]] : -1;

        if (n < 0)
            snprintf(cells[i], 24, "?");
        else
            snprintf(cells[i], 24, "%ld%s", n, n >= QT_INSTANCE_COUNT_CAP ? "+" : "");
    }
    return ok;
}
