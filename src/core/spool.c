#include "qtriage/spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "qtriage/proc.h"
#include "qtriage/queue_file.h"
#include "qtriage/trust.h"

static const char *const queue_names[QT_Q_COUNT] = {
    [QT_Q_MAILDROP] = "maildrop", [QT_Q_INCOMING] = "incoming",
    [QT_Q_ACTIVE] = "active",     [QT_Q_DEFERRED] = "deferred",
    [QT_Q_HOLD] = "hold",         [QT_Q_CORRUPT] = "corrupt",
};

const char *qt_queue_name(enum qt_queue q)
{
    return (unsigned)q < QT_Q_COUNT ? queue_names[q] : "?";
}

bool qt_queue_from_name(const char *name, enum qt_queue *q)
{
    int i;

    for (i = 0; i < QT_Q_COUNT; i++)
        if (strcmp(name, queue_names[i]) == 0) {
            *q = (enum qt_queue)i;
            return true;
        }
    return false;
}

void qt_strv_free(char **v, size_t n)
{
    size_t i;

    if (!v)
        return;
    for (i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

char **qt_postconf_values(const char *postconf, const char *config_dir,
                          const char *const *names, size_t n, struct qt_error *err)
{
    const char *argv[64];
    struct qt_proc_spec spec = {.argv = argv};
    struct qt_proc_result res;
    size_t argc = 0, i;
    char **values;
    char *line;

    if (n + 6 > QT_ARRAY_LEN(argv))
        qt_die("too many postconf parameters");
    argv[argc++] = postconf;
    if (config_dir) {
        argv[argc++] = "-c";
        argv[argc++] = config_dir;
    }
    argv[argc++] = "-h";
    argv[argc++] = "-x";        /* expand $name references */
    for (i = 0; i < n; i++)
        argv[argc++] = names[i];
    argv[argc] = NULL;
    if (!qt_proc_run(&spec, &res)) {
        qt_proc_describe(&spec, &res, err ? err->msg : NULL, err ? sizeof(err->msg) : 0);
        qt_proc_result_free(&res);
        return NULL;
    }
    values = xcalloc(n, sizeof(*values));
    line = res.out.data ? res.out.data : "";
    for (i = 0; i < n; i++) {
        char *nl = strchr(line, '\n');

        if (!nl && !*line) {
            qt_error_set(err, "postconf printed %zu values for %zu parameters", i, n);
            qt_strv_free(values, n);
            qt_proc_result_free(&res);
            return NULL;
        }
        values[i] = nl ? xstrndup(line, (size_t)(nl - line)) : xstrdup(line);
        line = nl ? nl + 1 : line + strlen(line);
    }
    qt_proc_result_free(&res);
    return values;
}

static bool name_in_list(const char *list, const char *name)
{
    const char *p = list;
    size_t nlen = strlen(name);

    while (*p) {
        size_t len;

        p += strspn(p, ", \t\r\n");
        len = strcspn(p, ", \t\r\n");
        if (len == nlen && strncasecmp(p, name, len) == 0)
            return true;
        p += len;
    }
    return false;
}

/* The instance's main.cf chooses command_directory, the programs root
 * runs: so it must be root's alone. */
bool qt_spool_config_dir_trusted(const char *dir, struct qt_error *err)
{
    char why[512], *main_cf, *real;

    if (!qt_trust_enforced())
        return true;
    real = qt_trusted_path_check(dir, 0, QT_TRUST_DIR, why, sizeof(why));
    /* No such directory: postconf says so in its own words (main.cf ...). */
    if (!real && errno == EPERM) {
        qt_error_set(err, "refusing the Postfix configuration directory %s as root: %s", dir,
                     why);
        return false;
    }
    free(real);
    main_cf = xasprintf("%s/main.cf", dir);
    real = qt_trusted_path_check(main_cf, 0, QT_TRUST_FILE, why, sizeof(why));
    /* A missing main.cf is postconf's to report, in its own words. */
    if (!real && errno == EPERM) {
        qt_error_set(err, "refusing %s as root: %s", main_cf, why);
        free(main_cf);
        return false;
    }
    free(real);
    free(main_cf);
    return true;
}

/* As root: the directory Postfix's tools are run from. */
static bool command_dir_trusted(const char *dir, struct qt_error *err)
{
    char why[512], *real;

    if (!qt_trust_enforced())
        return true;
    real = qt_trusted_path_check(dir, 0, QT_TRUST_DIR, why, sizeof(why));
    if (!real) {
        qt_error_set(err, "refusing to run Postfix's tools as root from command_directory %s: %s",
                     dir, why);
        return false;
    }
    free(real);
    return true;
}

const char *qt_spool_config_dir(const char *config_dir)
{
    const char *env = getenv("MAIL_CONFIG");

    if (config_dir)
        return config_dir;
    return env && *env ? env : NULL;
}

bool qt_spool_layout_load(struct qt_spool_layout *l, const char *config_dir,
                          struct qt_error *err)
{
    static const char *const names[] = {"queue_directory",      "hash_queue_names",
                                        "hash_queue_depth",     "enable_long_queue_ids",
                                        "command_directory",    "mail_owner",
                                        "config_directory"};
    char **v;
    long depth;
    int q;

    memset(l, 0, sizeof(*l));
    /* MAIL_CONFIG names an instance as -c does, for Postfix's tools and so
     * for us; children then get it as -c (proc.h drops the variable). */
    config_dir = qt_spool_config_dir(config_dir);
    if (config_dir && !qt_spool_config_dir_trusted(config_dir, err))
        return false;
    l->postconf = qt_proc_find_program("postconf");
    if (!l->postconf) {
        qt_error_set(err, qt_trust_enforced()
                              ? "postconf not found in /usr/sbin, /usr/bin, /sbin, /bin, "
                                "/usr/local/sbin or /usr/local/bin (as root, $PATH is not "
                                "searched): is Postfix installed?"
                              : "postconf not found in PATH or /usr/sbin: is Postfix installed?");
        return false;
    }
    v = qt_postconf_values(l->postconf, config_dir, names, QT_ARRAY_LEN(names), err);
    if (!v) {
        qt_spool_layout_free(l);
        return false;
    }
    /* The default instance's directory too (postconf knows where it is). */
    if ((!config_dir && !qt_spool_config_dir_trusted(v[6], err)) || !command_dir_trusted(v[4], err)) {
        qt_strv_free(v, QT_ARRAY_LEN(names));
        qt_spool_layout_free(l);
        return false;
    }
    l->config_dir = config_dir ? xstrdup(config_dir) : NULL;
    l->queue_directory = v[0];
    v[0] = NULL;
    for (q = 0; q < QT_Q_COUNT; q++)
        l->hashed[q] = name_in_list(v[1], queue_names[q]);
    l->defer_hashed = name_in_list(v[1], "defer");
    l->bounce_hashed = name_in_list(v[1], "bounce");
    l->hash_depth = qt_parse_long(v[2], &depth) && depth > 0 && depth < 16 ? (int)depth : 1;
    l->long_ids = strcasecmp(v[3], "yes") == 0;
    l->command_directory = v[4];
    v[4] = NULL;
    l->mail_owner = v[5];
    v[5] = NULL;
    qt_strv_free(v, QT_ARRAY_LEN(names));
    l->postsuper = qt_spool_tool_path(l, "postsuper");
    l->postqueue = qt_spool_tool_path(l, "postqueue");
    l->postkick = qt_spool_tool_path(l, "postkick");
    return true;
}

char *qt_spool_tool_path(const struct qt_spool_layout *l, const char *name)
{
    return xasprintf("%s/%s", l->command_directory, name);
}

void qt_spool_layout_free(struct qt_spool_layout *l)
{
    free(l->config_dir);
    free(l->queue_directory);
    free(l->command_directory);
    free(l->mail_owner);
    free(l->postconf);
    free(l->postsuper);
    free(l->postqueue);
    free(l->postkick);
    memset(l, 0, sizeof(*l));
}

bool qt_spool_locate(const struct qt_spool_layout *l, const char *id, enum qt_queue *where)
{
    return qt_spool_locate_at(l, -1, id, where);
}

bool qt_spool_locate_at(const struct qt_spool_layout *l, int qdir_fd, const char *id,
                        enum qt_queue *where)
{
    /* Where mail usually is first: a bulk action on 100k IDs of a flood
     * stats each one once instead of four times.  A file is in one queue
     * at a time (Postfix moves it with rename), so the order changes only
     * the cost. */
    static const enum qt_queue likely[] = {QT_Q_DEFERRED, QT_Q_HOLD,     QT_Q_ACTIVE,
                                           QT_Q_INCOMING, QT_Q_MAILDROP, QT_Q_CORRUPT};
    size_t i;

    for (i = 0; i < QT_ARRAY_LEN(likely); i++) {
        enum qt_queue q = likely[i];
        char rel[256], path[4096];
        struct stat st;

        if (!qt_spool_relpath(l, qt_queue_name(q), l->hashed[q], id, rel, sizeof(rel)))
            return false;
        if (qdir_fd < 0)
            snprintf(path, sizeof(path), "%s/%s", l->queue_directory, rel);
        if (fstatat(qdir_fd < 0 ? AT_FDCWD : qdir_fd, qdir_fd < 0 ? path : rel, &st,
                    AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISREG(st.st_mode)) {
            *where = q;
            return true;
        }
    }
    return false;
}

int qt_spool_open_message(const struct qt_spool_layout *l, const char *id, int hint,
                          enum qt_queue *where, char *rel, size_t relsize)
{
    enum qt_queue q = QT_Q_COUNT;
    int fd = -1, open_errno = ENOENT;

    if (relsize)
        rel[0] = 0;
    if (!qt_queue_id_valid(id)) {
        errno = EINVAL;
        return -1;
    }
    for (int round = 0; round < 2 && fd < 0; round++) {
        char path[4096];

        if (round == 0 && hint >= 0 && hint < QT_Q_COUNT)
            q = (enum qt_queue)hint;
        else if (!qt_spool_locate(l, id, &q))
            break;
        if (!qt_spool_relpath(l, qt_queue_name(q), l->hashed[q], id, rel, relsize))
            break;
        snprintf(path, sizeof(path), "%s/%s", l->queue_directory, rel);
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
            open_errno = errno;
    }
    if (fd < 0) {
        errno = open_errno;
        return -1;
    }
    *where = q;
    return fd;
}

int qt_spool_tool_argv(const struct qt_spool_layout *l, const char *tool, const char **argv)
{
    int argc = 0;

    argv[argc++] = tool;
    if (l->config_dir) {
        argv[argc++] = "-c";
        argv[argc++] = l->config_dir;
    }
    return argc;
}

bool qt_queue_id_valid(const char *id)
{
    size_t i;

    for (i = 0; id[i]; i++) {
        char c = id[i];

        if (i >= QT_QUEUE_ID_MAX)
            return false;
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
            return false;
    }
    return i > 0;
}

/* Long queue IDs hash on their microseconds, converted back to the five hex
 * digits a short ID starts with (Postfix's MQID_LG_GET_HEX_USEC). */
static void long_id_hash_source(const char *id, char out[6])
{
    static const char alphabet[] = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz";
    const char *z = strrchr(id, 'z');
    unsigned long usec = 0;
    int i;

    for (i = 0; i < 4; i++) {
        const char *pos = strchr(alphabet, z[i - 4]);

        if (!pos || !z[i - 4]) {
            usec = 0;
            break;
        }
        usec = usec * 52 + (unsigned long)(pos - alphabet);
    }
    snprintf(out, 6, "%05lX", usec & 0xfffff);
}

bool qt_spool_relpath(const struct qt_spool_layout *l, const char *dir, bool hashed,
                      const char *id, char *buf, size_t size)
{
    char hex[6];
    const char *src = id;
    const char *z;
    size_t off;
    int i, n;

    if (!qt_queue_id_valid(id))
        return false;
    /* No snprintf: this runs for every message of a scan. */
    n = (int)strlen(dir);
    if ((size_t)n + 1 >= size)
        return false;
    memcpy(buf, dir, (size_t)n);
    buf[n] = '/';
    off = (size_t)n + 1;
    if (hashed) {
        /* A 'z' at position >= 10 separates a long ID's time and inode. */
        if ((z = strrchr(id, 'z')) && z - id >= 10) {
            long_id_hash_source(id, hex);
            src = hex;
        }
        for (i = 0; i < l->hash_depth; i++) {
            if (off + 2 >= size)
                return false;
            buf[off++] = *src ? *src++ : '_';
            buf[off++] = '/';
        }
    }
    n = (int)strlen(id);
    if ((size_t)n >= size - off)
        return false;
    memcpy(buf + off, id, (size_t)n + 1);
    return true;
}
