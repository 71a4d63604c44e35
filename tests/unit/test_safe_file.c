/* safe_file.c: the directory walk's rules, complete-or-absent new files,
 * leftovers of killed runs, and append-only opens.  No root needed: the
 * tree lives in a mkdtemp directory of the caller's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qtriage/safe_file.h"
#include "testutil.h"

static struct stat dir_stat(uid_t uid, mode_t mode)
{
    struct stat st;

    memset(&st, 0, sizeof(st));
    st.st_uid = uid;
    st.st_mode = S_IFDIR | mode;
    return st;
}

static void test_dir_rules(void **state)
{
    const uid_t me = 1000, other = 2000;
    struct stat st;

    (void)state;
    st = dir_stat(0, 0755);
    assert_null(qt_safe_dir_problem(&st, me));
    st = dir_stat(me, 0700);
    assert_null(qt_safe_dir_problem(&st, me));
    st = dir_stat(0, 01777);                    /* /tmp */
    assert_null(qt_safe_dir_problem(&st, me));
    st = dir_stat(other, 0755);
    assert_non_null(strstr(qt_safe_dir_problem(&st, me), "another user"));
    st = dir_stat(other, 01777);                /* sticky, but not root's */
    assert_non_null(qt_safe_dir_problem(&st, me));
    st = dir_stat(0, 0777);                     /* not sticky */
    assert_non_null(strstr(qt_safe_dir_problem(&st, me), "writable by others"));
    st = dir_stat(me, 0770);
    assert_non_null(strstr(qt_safe_dir_problem(&st, me), "group"));
    st = dir_stat(0, 0755);
    st.st_mode = S_IFREG | 0644;
    assert_non_null(strstr(qt_safe_dir_problem(&st, me), "not a directory"));
}

static char *make_base(void)
{
    char *base = xstrdup("/tmp/qtriage-safe-file-XXXXXX");

    assert_non_null(mkdtemp(base));
    return base;
}

static void test_walk(void **state)
{
    char *base = make_base(), *sub = xasprintf("%s/sub", base), *link = xasprintf("%s/link", base);
    char *via_link = xasprintf("%s/link/x", base), *shared = xasprintf("%s/shared", base);
    char *below_shared = xasprintf("%s/shared/x", base), *dotted = xasprintf("%s/./sub/../sub", base);
    char cwd[4096];
    struct qt_error err = {""};
    struct stat st;
    int fd;

    (void)state;
    /* The last component is created 0700, its parents must exist. */
    fd = qt_safe_open_dir(sub, true, &err);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(lstat(sub, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    assert_true(qt_safe_open_dir(below_shared, true, &err) < 0);

    /* A link anywhere on the path is refused and named. */
    assert_int_equal(symlink(sub, link), 0);
    assert_true(qt_safe_open_dir(via_link, true, &err) < 0);
    assert_non_null(strstr(err.msg, "symbolic link"));
    assert_non_null(strstr(err.msg, link));
    assert_int_equal(lstat(via_link, &st), -1);     /* nothing made through it */
    assert_true(qt_safe_open_dir(link, false, &err) < 0);

    /* Writable by others, not sticky: named. */
    assert_int_equal(mkdir(shared, 0700), 0);
    assert_int_equal(chmod(shared, 0777), 0);
    assert_true(qt_safe_open_dir(below_shared, true, &err) < 0);
    assert_non_null(strstr(err.msg, shared));
    assert_non_null(strstr(err.msg, "writable by others"));
    assert_int_equal(lstat(below_shared, &st), -1);

    /* "." and ".." are taken lexically (no link is ever followed). */
    fd = qt_safe_open_dir(dotted, false, &err);
    assert_true(fd >= 0);
    close(fd);

    /* Relative paths start from the real current directory. */
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(base), 0);
    fd = qt_safe_open_dir("sub", false, &err);
    assert_true(fd >= 0);
    close(fd);
    assert_true(qt_safe_open_dir("link", false, &err) < 0);
    assert_int_equal(chdir(cwd), 0);

    unlink(link);
    rmdir(shared);
    rmdir(sub);
    rmdir(base);
    free(base);
    free(sub);
    free(link);
    free(via_link);
    free(shared);
    free(below_shared);
    free(dotted);
}

static void write_new(int dir_fd, const char *name, const char *text, enum qt_safe_commit want)
{
    struct qt_safe_new f;
    struct qt_error err = {""};

    assert_true(qt_safe_new_begin(&f, dir_fd, name, &err));
    assert_int_equal(write(f.fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(qt_safe_new_commit(&f, "DIR", &err), want);
    if (want == QT_SAFE_FAILED)
        assert_non_null(strstr(err.msg, "different content"));
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void test_new_files(void **state)
{
    char *base = make_base(), *file = xasprintf("%s/A1.eml", base);
    char *leftover = xasprintf("%s/.B2.eml.qtriage-2147483646-1f.tmp", base);
    char *mine = xasprintf("%s/.C3.eml.qtriage-%ld-2.tmp", base, (long)getpid());
    struct qt_error err = {""};
    struct qt_safe_new f;
    size_t len;
    char *data;
    int dir_fd = qt_safe_open_dir(base, false, &err);

    (void)state;
    assert_true(dir_fd >= 0);
    write_new(dir_fd, "A1.eml", "one\n", QT_SAFE_WRITTEN);
    data = test_slurp(file, &len);
    assert_string_equal(data, "one\n");
    free(data);
    /* The same bytes again: already there; other bytes: refused, kept. */
    write_new(dir_fd, "A1.eml", "one\n", QT_SAFE_SAME);
    write_new(dir_fd, "A1.eml", "two\n", QT_SAFE_FAILED);
    data = test_slurp(file, &len);
    assert_string_equal(data, "one\n");
    free(data);
    assert_int_equal(count_entries(base), 1);       /* no temporary files left */

    /* An aborted file leaves nothing; it never had the final name. */
    assert_true(qt_safe_new_begin(&f, dir_fd, "D4.eml", &err));
    assert_int_equal(write(f.fd, "part", 4), 4);
    assert_int_equal(count_entries(base), 2);
    qt_safe_new_abort(&f);
    assert_int_equal(count_entries(base), 1);

    /* A dead process's temporary file goes, a live one's stays. */
    close(open(leftover, O_WRONLY | O_CREAT, 0600));
    close(open(mine, O_WRONLY | O_CREAT, 0600));
    assert_int_equal(qt_safe_clean_leftovers(dir_fd), 1);
    assert_int_equal(access(leftover, F_OK), -1);
    assert_int_equal(access(mine, F_OK), 0);

    close(dir_fd);
    unlink(mine);
    unlink(file);
    rmdir(base);
    free(base);
    free(file);
    free(leftover);
    free(mine);
}

static void test_append(void **state)
{
    char *base = make_base(), *box = xasprintf("%s/box", base), *slink = xasprintf("%s/link", base);
    char *hard = xasprintf("%s/hard", base), *fifo = xasprintf("%s/fifo", base);
    struct qt_error err = {""};
    struct stat st;
    bool created;
    int fd;

    (void)state;
    fd = qt_safe_open_append_path(box, &created, &err);
    assert_true(fd >= 0);
    assert_true(created);
    assert_int_equal(write(fd, "x", 1), 1);
    close(fd);
    assert_int_equal(stat(box, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    fd = qt_safe_open_append_path(box, &created, &err);
    assert_true(fd >= 0);
    assert_false(created);
    close(fd);

    assert_int_equal(symlink(box, slink), 0);
    assert_true(qt_safe_open_append_path(slink, &created, &err) < 0);
    assert_non_null(strstr(err.msg, "symbolic link"));
    assert_int_equal(link(box, hard), 0);
    assert_true(qt_safe_open_append_path(box, &created, &err) < 0);
    assert_non_null(strstr(err.msg, "more than one link"));
    unlink(hard);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_true(qt_safe_open_append_path(fifo, &created, &err) < 0);
    assert_non_null(strstr(err.msg, "not a regular file"));
    assert_true(qt_safe_open_append_path(base, &created, &err) < 0);

    unlink(fifo);
    unlink(slink);
    unlink(box);
    rmdir(base);
    free(base);
    free(box);
    free(slink);
    free(hard);
    free(fifo);
}

static void test_replace(void **state)
{
    char *base = make_base(), *out = xasprintf("%s/x.prom", base);
    char *victim = xasprintf("%s/victim", base), *dir = xasprintf("%s/d", base);
    struct qt_error err = {""};
    struct stat st;
    size_t len;
    char *data;

    (void)state;
    assert_true(qt_safe_replace_file(out, "one\n", 4, 0644, &err));
    assert_int_equal(stat(out, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    assert_true(qt_safe_replace_file(out, "two\n", 4, 0644, &err));
    data = test_slurp(out, &len);
    assert_string_equal(data, "two\n");
    free(data);
    /* A link at the name is replaced, its target untouched. */
    unlink(out);
    close(open(victim, O_WRONLY | O_CREAT, 0600));
    assert_int_equal(symlink(victim, out), 0);
    assert_true(qt_safe_replace_file(out, "three\n", 6, 0644, &err));
    assert_int_equal(lstat(out, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(stat(victim, &st), 0);
    assert_int_equal(st.st_size, 0);
    assert_int_equal(count_entries(base), 2);       /* no temporary file left */
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_false(qt_safe_replace_file(dir, "x", 1, 0644, &err));
    assert_non_null(strstr(err.msg, "not a regular file"));

    rmdir(dir);
    unlink(victim);
    unlink(out);
    rmdir(base);
    free(base);
    free(out);
    free(victim);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dir_rules),
        cmocka_unit_test(test_walk),
        cmocka_unit_test(test_new_files),
        cmocka_unit_test(test_append),
        cmocka_unit_test(test_replace),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
