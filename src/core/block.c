/* qtriage's access tables (block.h): the table files, their lock, postmap. */
#include "qtriage/block.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qtriage/proc.h"
#include "qtriage/safe_file.h"

static const char *const kind_names[QT_BLOCK_KIND_COUNT] = {
    [QT_BLOCK_SASL] = "sasl", [QT_BLOCK_CLIENT] = "client",
    [QT_BLOCK_SENDER] = "sender", [QT_BLOCK_SENDER_DOMAIN] = "sender_domain",
};

static const char *const table_files[QT_BLOCK_TABLE_COUNT] = {
    [QT_BLOCK_TABLE_SASL] = "qtriage_sasl_access",
    [QT_BLOCK_TABLE_CLIENT] = "qtriage_client_access",
    [QT_BLOCK_TABLE_SENDER] = "qtriage_sender_access",
};

static const char *const table_checks[QT_BLOCK_TABLE_COUNT] = {
    [QT_BLOCK_TABLE_SASL] = "check_sasl_access",
    [QT_BLOCK_TABLE_CLIENT] = "check_client_access",
    [QT_BLOCK_TABLE_SENDER] = "check_sender_access",
};

static const char *const action_names[] = {
    [QT_BLOCK_HOLD] = "hold", [QT_BLOCK_DEFER] = "defer", [QT_BLOCK_REJECT] = "reject",
};

/* The marker comment that makes the next line qtriage's. */
#define MARKER "# qtriage: expires="
/* Larger table sources are refused rather than read into memory. */
#define TABLE_MAX (64u << 20)

const char *qt_block_kind_name(enum qt_block_kind kind)
{
    return (unsigned)kind < QT_BLOCK_KIND_COUNT ? kind_names[kind] : "?";
}

bool qt_block_kind_from_name(const char *name, enum qt_block_kind *kind)
{
    for (int i = 0; i < QT_BLOCK_KIND_COUNT; i++)
        if (strcmp(name, kind_names[i]) == 0) {
            *kind = (enum qt_block_kind)i;
            return true;
        }
    return false;
}

enum qt_block_table qt_block_kind_table(enum qt_block_kind kind)
{
    switch (kind) {
    case QT_BLOCK_SASL:
        return QT_BLOCK_TABLE_SASL;
    case QT_BLOCK_CLIENT:
        return QT_BLOCK_TABLE_CLIENT;
    default:
        return QT_BLOCK_TABLE_SENDER;
    }
}

const char *qt_block_table_file(enum qt_block_table t)
{
    return table_files[t];
}

const char *qt_block_table_check(enum qt_block_table t)
{
    return table_checks[t];
}

const char *qt_block_action_name(enum qt_block_action a)
{
    return (unsigned)a < QT_ARRAY_LEN(action_names) ? action_names[a] : "?";
}

bool qt_block_action_from_name(const char *name, enum qt_block_action *a)
{
    for (size_t i = 0; i < QT_ARRAY_LEN(action_names); i++)
        if (strcmp(name, action_names[i]) == 0) {
            *a = (enum qt_block_action)i;
            return true;
        }
    return false;
}

void qt_block_entries_free(struct qt_block_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(e[i].key);
        free(e[i].text);
    }
    free(e);
}

/* ------------------------------------------------------------ the files */

/* One line of a table source: kept as it is, or an entry of qtriage's
 * (its marker line and its entry line, written anew). */
struct line {
    char *raw;                  /* a line kept verbatim (no newline); NULL for an entry */
    struct qt_block_entry e;
};

struct table {
    enum qt_block_table t;
    struct line *lines;
    size_t n, cap;
    bool exists;
};

static void table_free(struct table *tb)
{
    for (size_t i = 0; i < tb->n; i++) {
        free(tb->lines[i].raw);
        free(tb->lines[i].e.key);
        free(tb->lines[i].e.text);
    }
    free(tb->lines);
    memset(tb, 0, sizeof(*tb));
}

static struct line *table_push(struct table *tb)
{
    tb->lines = xgrow(tb->lines, &tb->cap, tb->n + 1, sizeof(*tb->lines));
    memset(&tb->lines[tb->n], 0, sizeof(*tb->lines));
    return &tb->lines[tb->n++];
}

static const char *map_suffix(const char *type)
{
    if (strcmp(type, "hash") == 0 || strcmp(type, "btree") == 0)
        return ".db";
    if (strcmp(type, "lmdb") == 0)
        return ".lmdb";
    if (strcmp(type, "cdb") == 0)
        return ".cdb";
    return NULL;
}

/* An action as the table spells it.  What "defer" means differs per
 * lookup (see the README's "Stopping the source"): a SASL login is
 * someone who authenticated, and every later restriction would let them
 * through, so DEFER answers 4xx at once wherever the check sits.  A client
 * address or a sender address is a stranger's claim: DEFER_IF_PERMIT only
 * defers mail that the later restrictions would accept, so mail they
 * reject anyway (unauthorised relaying) gets its 5xx instead of an
 * invitation to retry. */
static const char *table_action(enum qt_block_kind kind, enum qt_block_action a)
{
    switch (a) {
    case QT_BLOCK_HOLD:
        return "HOLD";
    case QT_BLOCK_REJECT:
        return "REJECT";
    default:
        return kind == QT_BLOCK_SASL ? "DEFER" : "DEFER_IF_PERMIT";
    }
}

static bool parse_action(const char *word, size_t len, enum qt_block_action *a)
{
    static const struct {
        const char *word;
        enum qt_block_action a;
    } words[] = {{"HOLD", QT_BLOCK_HOLD}, {"DEFER", QT_BLOCK_DEFER},
                 {"DEFER_IF_PERMIT", QT_BLOCK_DEFER}, {"REJECT", QT_BLOCK_REJECT}};

    for (size_t i = 0; i < QT_ARRAY_LEN(words); i++)
        if (strlen(words[i].word) == len && strncmp(word, words[i].word, len) == 0) {
            *a = words[i].a;
            return true;
        }
    return false;
}

/* An entry line "KEY<blank>ACTION[ TEXT]" after a marker. */
static bool parse_entry(enum qt_block_table t, const char *line, struct qt_block_entry *e)
{
    const char *k = line, *v, *w;

    while (*k == ' ' || *k == '\t')
        k++;
    for (v = k; *v && *v != ' ' && *v != '\t'; v++)
        ;
    if (v == k || *k == '#')
        return false;
    for (w = v; *w == ' ' || *w == '\t'; w++)
        ;
    for (v = w; *v && *v != ' ' && *v != '\t'; v++)
        ;
    if (!parse_action(w, (size_t)(v - w), &e->action))
        return false;
    while (*v == ' ' || *v == '\t')
        v++;
    e->key = xstrndup(k, (size_t)(strcspn(k, " \t")));
    e->text = xstrdup(v);
    if (t == QT_BLOCK_TABLE_SASL)
        e->kind = QT_BLOCK_SASL;
    else if (t == QT_BLOCK_TABLE_CLIENT)
        e->kind = QT_BLOCK_CLIENT;
    else
        e->kind = strchr(e->key, '@') ? QT_BLOCK_SENDER : QT_BLOCK_SENDER_DOMAIN;
    return true;
}

static bool parse_marker(const char *line, int64_t *expires, int64_t *added)
{
    const char *p;
    char *end;
    long long v;

    if (strncmp(line, MARKER, sizeof(MARKER) - 1) != 0)
        return false;
    v = strtoll(line + sizeof(MARKER) - 1, &end, 10);
    if (end == line + sizeof(MARKER) - 1 || v < 0)
        return false;
    *expires = v;
    *added = 0;
    if ((p = strstr(end, " added=")))
        *added = strtoll(p + 7, NULL, 10);
    return true;
}

/* Why an existing table file may not be read or replaced by the caller, or
 * NULL. */
static const char *file_problem(const struct stat *st)
{
    if (S_ISLNK(st->st_mode))
        return "is a symbolic link";
    if (!S_ISREG(st->st_mode))
        return "is not a regular file";
    if (st->st_uid != geteuid() && st->st_uid != 0)
        return "is owned by another user";
    if (st->st_nlink != 1)
        return "has more than one name (a hard link)";
    return NULL;
}

static bool read_all(int fd, struct qt_buf *out, const char *shown, struct qt_error *err)
{
    char chunk[65536];

    for (;;) {
        ssize_t r = read(fd, chunk, sizeof(chunk));

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            qt_error_set(err, "cannot read %s: %s", shown, strerror(errno));
            return false;
        }
        if (r == 0)
            return true;
        if (out->len + (size_t)r > TABLE_MAX) {
            qt_error_set(err, "%s is larger than %u MiB; not read", shown, TABLE_MAX >> 20);
            return false;
        }
        qt_buf_append(out, chunk, (size_t)r);
    }
}

/* Read table `t` from `dir_fd` (absent: no lines).  A link, a second name
 * or another user's file is refused, for reading as for replacing. */
static bool table_read(const struct qt_block_tables *b, int dir_fd, enum qt_block_table t,
                       struct table *tb, struct qt_error *err)
{
    const char *name = table_files[t], *why = NULL;
    struct qt_buf text = {0};
    struct stat st;
    char *line, *next;
    int fd;
    bool ok;

    memset(tb, 0, sizeof(*tb));
    tb->t = t;
    fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return true;
    if (fd < 0 && errno == ELOOP) {
        qt_error_set(err, "refusing %s/%s: it is a symbolic link", b->config_dir, name);
        return false;
    }
    if (fd < 0) {
        qt_error_set(err, "cannot open %s/%s: %s", b->config_dir, name, strerror(errno));
        return false;
    }
    if (fstat(fd, &st) < 0 || (why = file_problem(&st)) != NULL) {
        qt_error_set(err, "refusing %s/%s: it %s", b->config_dir, name,
                     why ? why : strerror(errno));
        close(fd);
        return false;
    }
    tb->exists = true;
    ok = read_all(fd, &text, name, err);
    close(fd);
    if (!ok) {
        qt_buf_free(&text);
        return false;
    }
    for (line = text.data; line && *line; line = next) {
        int64_t expires, added;
        struct line *l;

        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (next && parse_marker(line, &expires, &added)) {
            char *entry = next, *after = strchr(next, '\n');
            struct qt_block_entry e = {0};

            if (after)
                *after = '\0';
            if (parse_entry(t, entry, &e)) {
                e.expires = expires;
                e.added = added;
                table_push(tb)->e = e;
                next = after ? after + 1 : NULL;
                continue;
            }
            if (after)
                *after = '\n';
        }
        l = table_push(tb);
        l->raw = xstrdup(line);
    }
    qt_buf_free(&text);
    return true;
}

static void format_time(int64_t t, char *buf, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (!gmtime_r(&tt, &tm) || !strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm))
        snprintf(buf, size, "?");
}

static void table_format(const struct table *tb, struct qt_buf *out)
{
    if (!tb->exists)
        qt_buf_printf(out,
                      "# Kept by qtriage (qtriage block): the line after each \"# qtriage:\"\n"
                      "# line is removed when it expires.  Other lines are left alone.\n");
    for (size_t i = 0; i < tb->n; i++) {
        const struct line *l = &tb->lines[i];
        char exp[64], add[64];

        if (l->raw) {
            qt_buf_printf(out, "%s\n", l->raw);
            continue;
        }
        format_time(l->e.added, add, sizeof(add));
        if (l->e.expires)
            format_time(l->e.expires, exp, sizeof(exp));
        else
            snprintf(exp, sizeof(exp), "never");
        qt_buf_printf(out, MARKER "%" PRId64 " added=%" PRId64 " (%s: expires %s, added %s)\n",
                      l->e.expires, l->e.added, qt_block_kind_name(l->e.kind), exp, add);
        qt_buf_printf(out, "%s\t%s%s%s\n", l->e.key, table_action(l->e.kind, l->e.action),
                      l->e.text && *l->e.text ? " " : "", l->e.text ? l->e.text : "");
    }
}

/* The key of a line as Postfix reads it (for a line not qtriage's), or
 * NULL for a comment or blank line. */
static char *raw_key(const char *raw)
{
    const char *p = raw;

    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '#' || *p == '\0' || p != raw)
        return NULL;        /* a leading blank continues the previous line */
    return xstrndup(p, strcspn(p, " \t"));
}

static bool check_existing(const struct qt_block_tables *b, int dir_fd, const char *name,
                           struct qt_error *err)
{
    struct stat st;
    const char *why;

    if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return true;
    if ((why = file_problem(&st)) != NULL || (st.st_uid != geteuid())) {
        qt_error_set(err, "refusing to replace %s/%s: it %s", b->config_dir, name,
                     why ? why : "is not owned by the user running qtriage");
        return false;
    }
    return true;
}

static bool write_all(int fd, const struct qt_buf *text)
{
    size_t done = 0;

    while (done < text->len) {
        ssize_t w = write(fd, text->data + done, text->len - done);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        done += (size_t)w;
    }
    return true;
}

static bool run_postmap(const struct qt_block_tables *b, const char *source,
                        struct qt_error *err)
{
    char *map = xasprintf("%s:%s", b->db_type, source);
    const char *argv[6];
    int argc = 0;
    struct qt_proc_spec spec = {.argv = argv};
    struct qt_proc_result res;
    bool ok;

    argv[argc++] = b->postmap;
    if (b->instance) {
        argv[argc++] = "-c";
        argv[argc++] = b->instance;
    }
    argv[argc++] = map;
    argv[argc] = NULL;
    ok = qt_proc_run(&spec, &res);
    if (!ok)
        qt_proc_describe(&spec, &res, err->msg, sizeof(err->msg));
    qt_proc_result_free(&res);
    free(map);
    return ok;
}

/* Write table `tb` (the caller holds the lock): new source under a
 * temporary name, postmap on it, then the map and the source renamed into
 * place. */
static bool table_write(const struct qt_block_tables *b, int dir_fd, const struct table *tb,
                        struct qt_error *err)
{
    const char *name = table_files[tb->t], *suffix = map_suffix(b->db_type);
    char *map_name = xasprintf("%s%s", name, suffix), *tmp_map = NULL, *tmp_path = NULL;
    struct qt_buf text = {0};
    struct qt_safe_new f;
    struct stat st;
    bool ok = false;
    int fd;

    if (!check_existing(b, dir_fd, name, err) || !check_existing(b, dir_fd, map_name, err))
        goto out;
    table_format(tb, &text);
    if (!qt_safe_new_begin(&f, dir_fd, name, err))
        goto out;
    if (fchmod(f.fd, 0644) < 0 || !write_all(f.fd, &text) || fsync(f.fd) < 0) {
        qt_error_set(err, "cannot write %s/%s: %s", b->config_dir, f.tmp, strerror(errno));
        qt_safe_new_abort(&f);
        goto out;
    }
    tmp_map = xasprintf("%s%s", f.tmp, suffix);
    tmp_path = xasprintf("%s/%s", b->config_dir, f.tmp);
    if (!run_postmap(b, tmp_path, err)) {
        unlinkat(dir_fd, tmp_map, 0);
        qt_safe_new_abort(&f);
        goto out;
    }
    /* postmap made the map; it must be a plain file of ours before it
     * replaces what smtpd reads, and on disk before the rename. */
    fd = openat(dir_fd, tmp_map, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        fsync(fd) < 0) {
        qt_error_set(err, "postmap did not leave a map %s/%s of ours", b->config_dir, tmp_map);
        if (fd >= 0)
            close(fd);
        unlinkat(dir_fd, tmp_map, 0);
        qt_safe_new_abort(&f);
        goto out;
    }
    fchmod(fd, 0644);
    close(fd);
    if (renameat(dir_fd, tmp_map, dir_fd, map_name) < 0) {
        qt_error_set(err, "cannot rename %s to %s: %s", tmp_map, map_name, strerror(errno));
        unlinkat(dir_fd, tmp_map, 0);
        qt_safe_new_abort(&f);
        goto out;
    }
    if (renameat(dir_fd, f.tmp, dir_fd, name) < 0) {
        /* The map is in place already; the old source would rebuild the
         * old map, so say so. */
        qt_error_set(err, "the map %s is new but its source could not be renamed: %s",
                     map_name, strerror(errno));
        qt_safe_new_abort(&f);
        goto out;
    }
    fsync(dir_fd);
    free(f.tmp);
    f.tmp = NULL;
    qt_safe_new_abort(&f);
    ok = true;
out:
    qt_buf_free(&text);
    free(map_name);
    free(tmp_map);
    free(tmp_path);
    return ok;
}

/* A run killed between postmap and the renames leaves its temporary
 * source (safe_file.h removes those) and the map postmap made of it,
 * ".qtriage_*_access.qtriage-PID-HEX.tmp.db": removed here once PID is
 * gone, when it is a plain file of ours. */
static void clean_leftover_maps(const struct qt_block_tables *b, int dir_fd)
{
    const char *suffix = map_suffix(b->db_type);
    char *want = xasprintf(".tmp%s", suffix);
    size_t wl = strlen(want);
    struct dirent *de;
    int fd = dup(dir_fd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

    if (!d) {
        if (fd >= 0)
            close(fd);
        free(want);
        return;
    }
    rewinddir(d);   /* a dup shares the offset another reader left at the end */
    while ((de = readdir(d)) != NULL) {
        const char *n = de->d_name, *tag = strstr(n, ".qtriage-");
        size_t len = strlen(n);
        struct stat st;
        char *end;
        long pid;

        if (strncmp(n, ".qtriage_", 9) != 0 || !tag || len <= wl ||
            strcmp(n + len - wl, want) != 0)
            continue;
        pid = strtol(tag + 9, &end, 10);
        if (pid <= 0 || *end != '-' || pid == (long)getpid() ||
            kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        if (fstatat(dir_fd, n, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
            st.st_uid == geteuid())
            unlinkat(dir_fd, n, 0);
    }
    closedir(d);
    free(want);
}

/* The configuration directory, walked without links (safe_file.h), and
 * with `lock` flock'd exclusively so that two runs never lose each other's
 * entries. */
static int open_dir(const struct qt_block_tables *b, bool lock, struct qt_error *err)
{
    int fd = qt_safe_open_dir(b->config_dir, false, err);

    if (fd >= 0 && lock && flock(fd, LOCK_EX) < 0) {
        qt_error_set(err, "cannot lock %s: %s", b->config_dir, strerror(errno));
        close(fd);
        return -1;
    }
    if (fd >= 0 && lock) {
        qt_safe_clean_leftovers(fd);
        clean_leftover_maps(b, fd);
    }
    return fd;
}

/* ----------------------------------------------------------- the verbs */

bool qt_block_tables_open(struct qt_block_tables *b, const struct qt_spool_layout *layout,
                          struct qt_error *err)
{
    static const char *const names[] = {"config_directory", "default_database_type"};
    char **v;

    memset(b, 0, sizeof(*b));
    v = qt_postconf_values(layout->postconf, layout->config_dir, names, QT_ARRAY_LEN(names),
                           err);
    if (!v)
        return false;
    b->config_dir = v[0];
    b->db_type = v[1];
    free(v);
    b->postconf = xstrdup(layout->postconf);
    b->instance = layout->config_dir ? xstrdup(layout->config_dir) : NULL;
    if (b->config_dir[0] != '/') {
        qt_error_set(err, "config_directory \"%.200s\" is not an absolute path", b->config_dir);
        qt_block_tables_close(b);
        return false;
    }
    if (!map_suffix(b->db_type)) {
        qt_error_set(err, "default_database_type is %.40s: qtriage builds hash, btree, lmdb "
                     "and cdb tables only", b->db_type);
        qt_block_tables_close(b);
        return false;
    }
    b->postmap = qt_spool_tool_path(layout, "postmap");
    if (!b->postmap) {
        qt_error_set(err, "postmap not found in command_directory %s",
                     layout->command_directory ? layout->command_directory : "?");
        qt_block_tables_close(b);
        return false;
    }
    return true;
}

void qt_block_tables_close(struct qt_block_tables *b)
{
    free(b->config_dir);
    free(b->db_type);
    free(b->postmap);
    free(b->postconf);
    free(b->instance);
    memset(b, 0, sizeof(*b));
}

char *qt_block_table_path(const struct qt_block_tables *b, enum qt_block_table t)
{
    return xasprintf("%s/%s", b->config_dir, table_files[t]);
}

static void entry_copy(struct qt_block_entry *to, const struct qt_block_entry *from)
{
    *to = *from;
    to->key = xstrdup(from->key);
    to->text = xstrdup(from->text ? from->text : "");
}

static void entries_push(struct qt_block_entry **v, size_t *n, size_t *cap,
                         const struct qt_block_entry *e)
{
    *v = xgrow(*v, cap, *n + 1, sizeof(**v));
    entry_copy(&(*v)[(*n)++], e);
}

bool qt_block_list(const struct qt_block_tables *b, struct qt_block_entry **out, size_t *n,
                   struct qt_error *err)
{
    int dir_fd = open_dir(b, false, err);
    size_t cap = 0;

    *out = NULL;
    *n = 0;
    if (dir_fd < 0)
        return false;
    for (int t = 0; t < QT_BLOCK_TABLE_COUNT; t++) {
        struct table tb;

        if (!table_read(b, dir_fd, (enum qt_block_table)t, &tb, err)) {
            close(dir_fd);
            qt_block_entries_free(*out, *n);
            *out = NULL;
            *n = 0;
            return false;
        }
        for (size_t i = 0; i < tb.n; i++)
            if (!tb.lines[i].raw)
                entries_push(out, n, &cap, &tb.lines[i].e);
        table_free(&tb);
    }
    close(dir_fd);
    return true;
}

/* The restriction line names all three maps, and smtpd answers every
 * message with a temporary error while a map it names is missing: the
 * first entry creates the other tables too, empty. */
static bool tables_complete(const struct qt_block_tables *b, int dir_fd, enum qt_block_table done,
                            struct qt_error *err)
{
    for (int t = 0; t < QT_BLOCK_TABLE_COUNT; t++) {
        char *map = xasprintf("%s%s", table_files[t], map_suffix(b->db_type));
        struct stat st;
        struct table tb;
        bool ok = true;

        if (t != (int)done && fstatat(dir_fd, map, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            ok = table_read(b, dir_fd, (enum qt_block_table)t, &tb, err) &&
                 table_write(b, dir_fd, &tb, err);
            table_free(&tb);
        }
        free(map);
        if (!ok)
            return false;
    }
    return true;
}

bool qt_block_add(const struct qt_block_tables *b, const struct qt_block_entry *e,
                  struct qt_error *err)
{
    enum qt_block_table t = qt_block_kind_table(e->kind);
    struct line *mine = NULL;
    struct table tb;
    int dir_fd;
    bool ok = false;

    if (!qt_block_text_valid(e->text, err))
        return false;
    if ((dir_fd = open_dir(b, true, err)) < 0)
        return false;
    if (!table_read(b, dir_fd, t, &tb, err))
        goto out;
    for (size_t i = 0; i < tb.n; i++) {
        struct line *l = &tb.lines[i];
        char *k;

        if (!l->raw) {
            if (strcasecmp(l->e.key, e->key) == 0)
                mine = l;
            continue;
        }
        if ((k = raw_key(l->raw)) && strcasecmp(k, e->key) == 0) {
            qt_error_set(err, "%s/%s already has an entry for %s on line %zu that qtriage did "
                         "not write; left alone", b->config_dir, table_files[t], e->key, i + 1);
            free(k);
            goto out;
        }
        free(k);
    }
    if (!mine)
        mine = table_push(&tb);
    free(mine->e.key);
    free(mine->e.text);
    entry_copy(&mine->e, e);
    ok = table_write(b, dir_fd, &tb, err) && tables_complete(b, dir_fd, t, err);
out:
    table_free(&tb);
    close(dir_fd);
    return ok;
}

/* Drop the entries `drop` says to from `tb`, copying them to *gone. */
static size_t table_drop(struct table *tb, bool (*drop)(const struct qt_block_entry *, const void *),
                         const void *ctx, struct qt_block_entry **gone, size_t *ngone,
                         size_t *gcap)
{
    size_t kept = 0, dropped = 0;

    for (size_t i = 0; i < tb->n; i++) {
        struct line *l = &tb->lines[i];

        if (!l->raw && drop(&l->e, ctx)) {
            if (gone)
                entries_push(gone, ngone, gcap, &l->e);
            free(l->e.key);
            free(l->e.text);
            dropped++;
            continue;
        }
        tb->lines[kept++] = *l;
    }
    tb->n = kept;
    return dropped;
}

struct key_match {
    enum qt_block_kind kind;
    const char *key;
};

static bool drop_key(const struct qt_block_entry *e, const void *ctx)
{
    const struct key_match *m = ctx;

    return e->kind == m->kind && strcasecmp(e->key, m->key) == 0;
}

bool qt_block_remove(const struct qt_block_tables *b, enum qt_block_kind kind, const char *key,
                     bool *found, struct qt_error *err)
{
    struct key_match m = {kind, key};
    struct table tb;
    int dir_fd;
    bool ok = false;

    *found = false;
    if ((dir_fd = open_dir(b, true, err)) < 0)
        return false;
    if (table_read(b, dir_fd, qt_block_kind_table(kind), &tb, err)) {
        *found = table_drop(&tb, drop_key, &m, NULL, NULL, NULL) > 0;
        ok = !*found || table_write(b, dir_fd, &tb, err);
    }
    table_free(&tb);
    close(dir_fd);
    return ok;
}

static bool drop_expired(const struct qt_block_entry *e, const void *ctx)
{
    return e->expires != 0 && e->expires <= *(const int64_t *)ctx;
}

bool qt_block_expire(const struct qt_block_tables *b, int64_t now, struct qt_block_entry **gone,
                     size_t *ngone, struct qt_error *err)
{
    size_t gcap = 0, dummy_n = 0;
    int dir_fd;
    bool ok = true;

    if (gone) {
        *gone = NULL;
        *ngone = 0;
    } else {
        ngone = &dummy_n;
    }
    if ((dir_fd = open_dir(b, true, err)) < 0)
        return false;
    for (int t = 0; ok && t < QT_BLOCK_TABLE_COUNT; t++) {
        struct table tb;

        if (!table_read(b, dir_fd, (enum qt_block_table)t, &tb, err)) {
            ok = false;
            break;
        }
        if (table_drop(&tb, drop_expired, &now, gone, ngone, &gcap) > 0)
            ok = table_write(b, dir_fd, &tb, err);
        table_free(&tb);
    }
    close(dir_fd);
    return ok;
}
