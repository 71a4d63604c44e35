/* The configuration file (config.h): good lines set what they say, every
 * bad line gives one "FILE:LINE: why" warning and changes nothing, and
 * hostile files (huge lines, NUL bytes, invalid UTF-8, FIFOs, directories)
 * never stop the rest of the file from applying.  Which files root trusts
 * (trust.h): the decision per component, the walk from /, and the reader
 * that ignores an untrusted file with one warning. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qtriage/config.h"
#include "qtriage/trust.h"
#include "qtriage/util.h"

static void parse(struct qt_config *c, const char *text)
{
    qt_config_init(c);
    qt_config_parse(c, "test.conf", text, strlen(text));
}

/* Each warning in order contains what `want` says, and there are no more. */
static void assert_warnings(const struct qt_config *c, const char *const *want, size_t n)
{
    size_t i;

    assert_int_equal(c->nwarnings, n);
    for (i = 0; i < n; i++)
        if (!strstr(c->warnings[i], want[i]))
            fail_msg("warning %zu is \"%s\", want \"%s\"", i, c->warnings[i], want[i]);
}

static void test_good_settings(void **state)
{
    struct qt_config c;

    (void)state;
    parse(&c, "# a comment\n"
              "   # an indented comment\n"
              "\n"
              "columns = id,age,sender,subject\n"
              "sort=-size\n"
              "filter = \"sender:@spam.example and age>2d\"\n"
              "refresh = 5.5\n"
              "confirm = all\n"
              "backup_dir = '/var/backups/qtriage'\n"
              "mouse = no\n"
              "color = off\n"
              "color.cursor = black white bold\n"
              "color.title = color33 default underline reverse\n"
              "color.tagged = yellow bold\n");
    assert_int_equal(c.nwarnings, 0);
    assert_string_equal(c.columns, "id,age,sender,subject");
    assert_string_equal(c.sort, "-size");
    assert_string_equal(c.filter, "sender:@spam.example and age>2d");
    assert_int_equal(c.refresh_ms, 5500);
    assert_int_equal(c.confirm, QT_CONFIRM_ALL);
    assert_string_equal(c.backup_dir, "/var/backups/qtriage");
    assert_int_equal(c.mouse, 0);
    assert_int_equal(c.color, 0);
    assert_true(c.colors[QT_COLOR_CURSOR].set);
    assert_int_equal(c.colors[QT_COLOR_CURSOR].fg, 0);
    assert_int_equal(c.colors[QT_COLOR_CURSOR].bg, 7);
    assert_int_equal(c.colors[QT_COLOR_CURSOR].attrs, QT_ATTR_BOLD);
    assert_int_equal(c.colors[QT_COLOR_TITLE].fg, 33);
    assert_int_equal(c.colors[QT_COLOR_TITLE].bg, -1);
    assert_int_equal(c.colors[QT_COLOR_TITLE].attrs, QT_ATTR_UNDERLINE | QT_ATTR_REVERSE);
    /* One colour and an attribute: the background stays the terminal's. */
    assert_int_equal(c.colors[QT_COLOR_TAGGED].fg, 3);
    assert_int_equal(c.colors[QT_COLOR_TAGGED].bg, -1);
    assert_int_equal(c.colors[QT_COLOR_TAGGED].attrs, QT_ATTR_BOLD);
    assert_false(c.colors[QT_COLOR_HOLD].set);
    qt_config_free(&c);
}

static void test_later_lines_override(void **state)
{
    struct qt_config c;

    (void)state;
    qt_config_init(&c);
    qt_config_parse(&c, "/etc/qtriage.conf", "sort = size\nconfirm = all\n", 26);
    qt_config_parse(&c, "user", "sort = age\n", 11);
    assert_string_equal(c.sort, "age");
    assert_int_equal(c.confirm, QT_CONFIRM_ALL);  /* kept: the user did not set it */
    qt_config_free(&c);
}

static void test_quoting(void **state)
{
    struct qt_config c;

    (void)state;
    parse(&c, "filter = \"subject~/a \\\"b\\\" \\\\ c/\"\n"
              "sort = '  spaced  '\n"
              "columns = id,age   \t\n"
              "filter2 = x\n");
    assert_string_equal(c.sort, "  spaced  ");
    assert_string_equal(c.columns, "id,age");
    /* \" and \\ are the only escapes in double quotes. */
    assert_string_equal(c.filter, "subject~/a \"b\" \\ c/");
    assert_int_equal(c.nwarnings, 1);
    qt_config_free(&c);

    parse(&c, "filter = \"unterminated\nsort = \"size\" trailing\n"
              "columns = \"ok\" # not allowed after a quote either\n");
    assert_int_equal(c.nwarnings, 3);
    assert_string_equal(c.warnings[0], "test.conf:1: unterminated quoted value; line ignored");
    assert_string_equal(c.warnings[1], "test.conf:2: text after the closing quote; line ignored");
    assert_null(c.filter);
    assert_null(c.sort);
    assert_null(c.columns);
    qt_config_free(&c);
}

static void test_bad_lines_warn_and_go_on(void **state)
{
    struct qt_config c;

    (void)state;
    parse(&c, "frobnicate = 1\n"          /* 1 unknown key */
              "just words\n"              /* 2 no '=' */
              "= value\n"                 /* 3 no key */
              "refresh = 0.01\n"          /* 4 out of range */
              "refresh = soon\n"          /* 5 */
              "confirm = never\n"         /* 6 weaker than the built-in rule */
              "confirm = destructive\n"   /* 7 ok */
              "mouse = maybe\n"           /* 8 */
              "color.cursor = purple\n"   /* 9 */
              "color.nope = red\n"        /* 10 */
              "color.hold = red blue bold blink\n"  /* 11 */
              "color.hold = color256\n"   /* 12 */
              "color.hold =\n"            /* 13 */
              "backup_dir = relative/dir\n"  /* 14 */
              "sort = size\n");           /* 15 ok */
    {
        static const char *const want[] = {
            "test.conf:1: unknown key \"frobnicate\"; line ignored",
            "test.conf:2: want \"key = value\"",
            "test.conf:3: no key before '='; line ignored",
            "test.conf:4: want seconds",
            "test.conf:5: want seconds",
            "test.conf:6: confirm is",
            "test.conf:8: want yes or no",
            "test.conf:9: unknown colour",
            "test.conf:10: unknown colour element",
            "test.conf:11: unknown colour or attribute",
            "test.conf:12: unknown colour",
            "test.conf:13: a colour wants",
            "test.conf:14: backup_dir wants",
        };

        assert_warnings(&c, want, sizeof(want) / sizeof(want[0]));
    }
    assert_int_equal(c.refresh_ms, 0);
    assert_int_equal(c.confirm, QT_CONFIRM_DESTRUCTIVE);
    assert_int_equal(c.mouse, -1);
    assert_false(c.colors[QT_COLOR_HOLD].set);
    assert_null(c.backup_dir);
    assert_string_equal(c.sort, "size");
    qt_config_free(&c);
}

static void test_bindings(void **state)
{
    struct qt_config c;

    (void)state;
    parse(&c, "bind x delete\n"
              "bind list ^X hold\n"
              "bind viewer F5 rescan\n"
              "bind  Enter   open\n"
              "bind Space tag\n"
              "bind C-k none\n"
              "unbind viewer q\n"
              "bind \xc3\xa9 help\n"
              "bind Esc quit\n"      /* 9: never */
              "bind ^[ quit\n"       /* 10 */
              "bind F13 quit\n"      /* 11 */
              "bind xy quit\n"       /* 12 */
              "bind x\n"             /* 13 */
              "bind list x y z\n"    /* 14 */
              "unbind x y\n"         /* 15 */
              "bind ^1 quit\n");     /* 16 */
    assert_int_equal(c.nbinds, 8);
    assert_int_equal(c.binds[0].key, 'x');
    assert_int_equal(c.binds[0].context, QT_BIND_ANY);
    assert_string_equal(c.binds[0].command, "delete");
    assert_int_equal(c.binds[0].line, 1);
    assert_string_equal(c.binds[0].file, "test.conf");
    assert_int_equal(c.binds[1].key, 24);
    assert_int_equal(c.binds[1].context, QT_BIND_LIST);
    assert_int_equal(c.binds[2].key, QT_KEY_F0 + 5);
    assert_int_equal(c.binds[2].context, QT_BIND_VIEWER);
    assert_int_equal(c.binds[3].key, QT_KEY_ENTER);
    assert_int_equal(c.binds[4].key, ' ');
    assert_int_equal(c.binds[5].key, 11);
    assert_null(c.binds[5].command);
    assert_int_equal(c.binds[6].key, 'q');
    assert_int_equal(c.binds[6].context, QT_BIND_VIEWER);
    assert_null(c.binds[6].command);
    assert_int_equal(c.binds[7].key, 0xe9);
    {
        static const char *const want[] = {
            "test.conf:9: Esc is not bindable",
            "test.conf:10: Esc is not bindable",
            "test.conf:11: unknown key",
            "test.conf:12: unknown key",
            "test.conf:13: want: bind",
            "test.conf:14: want: bind",
            "test.conf:15: want: unbind",
            "test.conf:16: a control key",
        };

        assert_warnings(&c, want, sizeof(want) / sizeof(want[0]));
    }
    qt_config_free(&c);
}

static bool known_command(const char *name)
{
    return strcmp(name, "help") == 0 || strcmp(name, "quit") == 0;
}

static void test_unknown_command(void **state)
{
    struct qt_config c;

    (void)state;
    qt_config_init(&c);
    c.is_command = known_command;
    qt_config_parse(&c, "t", "bind x help\nbind y frobnicate\nbind z none\n", 42);
    assert_int_equal(c.nbinds, 2);
    assert_int_equal(c.nwarnings, 1);
    assert_string_equal(c.warnings[0], "t:2: no such command (qtriage --keys lists them); "
                                       "line ignored");
    qt_config_free(&c);
}

static void test_key_names_round_trip(void **state)
{
    static const char *const names[] = {
        "x", "C-x", "F1", "F12", "Enter", "Space", "Tab", "S-Tab", "Up", "Down", "Left",
        "Right", "PgUp", "PgDn", "Home", "End", "Insert", "Delete", "Backspace", "~", "\xc3\xa9",
        "\xe2\x82\xac", "\xf0\x9f\x98\x80",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *why;
        char back[32];
        int key;

        assert_true(qt_config_parse_key(names[i], &key, &why));
        qt_config_key_name(key, back, sizeof(back));
        assert_string_equal(back, names[i]);
    }
}

static void test_hostile_lines(void **state)
{
    struct qt_config c;
    struct qt_buf b = {0};
    size_t i;

    (void)state;
    qt_buf_printf(&b, "sort = size\n");
    qt_buf_printf(&b, "filter = ");
    for (i = 0; i < 100000; i++)
        qt_buf_putc(&b, 'a');
    qt_buf_putc(&b, '\n');                       /* 2: huge */
    qt_buf_append(&b, "columns = id\0,age\n", 18);  /* 3: NUL */
    qt_buf_printf(&b, "filter = caf\xe9\n");     /* 4: Latin-1, not UTF-8 */
    qt_buf_printf(&b, "filter = \xed\xa0\x80\n");  /* 5: a surrogate */
    qt_buf_printf(&b, "filter = a\x1b[2Jb\n");   /* 6: an escape sequence */
    qt_buf_printf(&b, "\xff\xfe\n");             /* 7 */
    qt_buf_printf(&b, "refresh = 3\r\n");        /* 8: CRLF is fine */
    qt_buf_printf(&b, "\xc3\xa9t\xc3\xa9 = 1\n");  /* 9: unknown key, UTF-8 */
    qt_buf_printf(&b, "confirm = all");          /* 10: no final newline */
    qt_config_init(&c);
    qt_config_parse(&c, "hostile", b.data, b.len);
    assert_int_equal(c.nwarnings, 7);
    assert_string_equal(c.warnings[0], "hostile:2: line longer than 4096 bytes; ignored");
    assert_string_equal(c.warnings[1], "hostile:3: NUL byte in the line; ignored");
    assert_string_equal(c.warnings[2], "hostile:4: invalid UTF-8 at byte 13; line ignored");
    assert_non_null(strstr(c.warnings[3], "hostile:5: invalid UTF-8"));
    assert_string_equal(c.warnings[4], "hostile:6: control character in the line; ignored");
    assert_non_null(strstr(c.warnings[5], "hostile:7: invalid UTF-8"));
    assert_non_null(strstr(c.warnings[6], "hostile:9: unknown key"));
    assert_null(c.filter);
    assert_null(c.columns);
    assert_string_equal(c.sort, "size");
    assert_int_equal(c.refresh_ms, 3000);
    assert_int_equal(c.confirm, QT_CONFIRM_ALL);
    qt_config_free(&c);
    qt_buf_free(&b);

    /* The unknown UTF-8 key is quoted in ASCII. */
    parse(&c, "\xc3\xa9t\xc3\xa9 = 1\n");
    assert_string_equal(c.warnings[0], "test.conf:1: unknown key \"??t??\"; line ignored");
    qt_config_free(&c);
}

static void test_files(void **state)
{
    char dir[] = "/tmp/qtriage-config-test-XXXXXX";
    char path[256], fifo[256], *user;
    struct qt_config c;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/qtriage", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/qtriage/config", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("sort = sender\nbogus\n", f);
    fclose(f);

    user = qt_config_user_path("/home/x", dir);
    assert_string_equal(user, path);
    free(user);
    user = qt_config_user_path("/home/x", "relative");
    assert_string_equal(user, "/home/x/.config/qtriage/config");
    free(user);
    user = qt_config_user_path("/home/x", "");
    assert_string_equal(user, "/home/x/.config/qtriage/config");
    free(user);
    assert_null(qt_config_user_path(NULL, NULL));

    qt_config_init(&c);
    assert_int_equal(qt_config_read_file(&c, path), 1);
    assert_string_equal(c.sort, "sender");
    assert_int_equal(c.nwarnings, 1);
    assert_string_equal(c.warnings[0] + strlen(path), ":2: want \"key = value\", \"bind ...\" or "
                                                      "\"unbind ...\"; line ignored");
    /* Missing: quietly nothing.  A directory or a FIFO: a warning, no hang. */
    assert_int_equal(qt_config_read_file(&c, "/nonexistent/qtriage.conf"), 0);
    assert_int_equal(c.nwarnings, 1);
    assert_int_equal(qt_config_read_file(&c, dir), -1);
    assert_non_null(strstr(c.warnings[1], "not a regular file"));
    snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(qt_config_read_file(&c, fifo), -1);
    assert_non_null(strstr(c.warnings[2], "not a regular file"));
    qt_config_free(&c);

    /* The user's file over the system's (which may or may not exist here). */
    qt_config_init(&c);
    qt_config_load_default(&c, "/nonexistent", dir);
    assert_string_equal(c.sort, "sender");
    qt_config_free(&c);

    unlink(fifo);
    unlink(path);
    snprintf(path, sizeof(path), "%s/qtriage", dir);
    rmdir(path);
    rmdir(dir);
}

static struct stat fake_stat(mode_t mode, uid_t uid)
{
    struct stat st;

    memset(&st, 0, sizeof(st));
    st.st_mode = mode;
    st.st_uid = uid;
    return st;
}

static const char *problem(mode_t mode, uid_t uid, uid_t owner, bool last)
{
    static char buf[64];
    struct stat st = fake_stat(mode, uid);

    return qt_trust_stat_problem(&st, owner, last, buf, sizeof(buf));
}

static void test_trust_decision(void **state)
{
    (void)state;
    /* Root's, writable by root only: trusted, as the file or above it. */
    assert_null(problem(S_IFREG | 0644, 0, 0, true));
    assert_null(problem(S_IFREG | 0755, 0, 0, true));
    assert_null(problem(S_IFDIR | 0755, 0, 0, false));
    assert_null(problem(S_IFREG | 0444, 0, 0, true));
    /* Another user's: never, whatever the mode. */
    assert_string_equal(problem(S_IFREG | 0600, 1000, 0, true), "owned by uid 1000");
    assert_string_equal(problem(S_IFDIR | 0700, 65534, 0, false), "owned by uid 65534");
    /* The trusted user besides root (the tests' own uid). */
    assert_null(problem(S_IFREG | 0644, 1000, 1000, true));
    assert_string_equal(problem(S_IFREG | 0644, 1001, 1000, true), "owned by uid 1001");
    /* Writable by anyone else: not trusted. */
    assert_string_equal(problem(S_IFREG | 0664, 0, 0, true), "writable by group");
    assert_string_equal(problem(S_IFREG | 0646, 0, 0, true), "writable by others");
    assert_string_equal(problem(S_IFREG | 0666, 0, 0, true), "writable by others");
    assert_string_equal(problem(S_IFDIR | 0775, 0, 0, false), "writable by group");
    assert_string_equal(problem(S_IFDIR | 0777, 0, 0, false), "writable by others");
    /* Root's sticky directory (/tmp) above the object: others cannot move
     * root's entries in it.  As the object itself, or someone else's
     * sticky directory, it is still writable by others. */
    assert_null(problem(S_IFDIR | 01777, 0, 0, false));
    assert_null(problem(S_IFDIR | 01775, 0, 0, false));
    assert_string_equal(problem(S_IFDIR | 01777, 0, 0, true), "writable by others");
    assert_string_equal(problem(S_IFDIR | 01777, 1000, 1000, false), "writable by others");
    /* The sticky bit on a file means nothing. */
    assert_string_equal(problem(S_IFREG | 01666, 0, 0, false), "writable by others");
}

/* A private directory under /tmp (root's sticky directory) holding one
 * file; the test's own uid is the trusted owner besides root. */
struct trust_tree {
    char dir[64], sub[96], file[128], link[128];
};

static void trust_tree_make(struct trust_tree *t, const char *text)
{
    FILE *f;

    snprintf(t->dir, sizeof(t->dir), "/tmp/qtriage-trust-test-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    assert_int_equal(chmod(t->dir, 0755), 0);
    snprintf(t->sub, sizeof(t->sub), "%s/sub", t->dir);
    assert_int_equal(mkdir(t->sub, 0755), 0);
    snprintf(t->file, sizeof(t->file), "%s/config", t->sub);
    f = fopen(t->file, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(t->file, 0644), 0);
    snprintf(t->link, sizeof(t->link), "%s/link", t->dir);
    assert_int_equal(symlink("sub/config", t->link), 0);
}

static void trust_tree_remove(struct trust_tree *t)
{
    unlink(t->link);
    unlink(t->file);
    rmdir(t->sub);
    rmdir(t->dir);
}

static void test_trusted_path(void **state)
{
    struct trust_tree t;
    char why[512], *real;
    uid_t me = getuid();

    (void)state;
    trust_tree_make(&t, "sort = sender\n");
    real = qt_trusted_path_check(t.file, me, QT_TRUST_FILE, why, sizeof(why));
    assert_non_null(real);
    assert_string_equal(real, t.file);
    free(real);
    /* A link is followed; the real path is what is checked and returned. */
    real = qt_trusted_path_check(t.link, me, QT_TRUST_FILE, why, sizeof(why));
    assert_non_null(real);
    assert_string_equal(real, t.file);
    free(real);
    real = qt_trusted_path_check(t.sub, me, QT_TRUST_DIR, why, sizeof(why));
    assert_non_null(real);
    free(real);
    /* The wrong kind. */
    assert_null(qt_trusted_path_check(t.sub, me, QT_TRUST_FILE, why, sizeof(why)));
    assert_string_equal(why, "not a regular file");
    assert_null(qt_trusted_path_check(t.file, me, QT_TRUST_DIR, why, sizeof(why)));
    assert_string_equal(why, "not a directory");
    /* Missing: errno says so, not EPERM. */
    errno = 0;
    assert_null(qt_trusted_path_check("/tmp/qtriage-no-such/x", me, QT_TRUST_FILE, why,
                                      sizeof(why)));
    assert_int_equal(errno, ENOENT);
    /* The file writable by group or others. */
    assert_int_equal(chmod(t.file, 0664), 0);
    errno = 0;
    assert_null(qt_trusted_path_check(t.file, me, QT_TRUST_FILE, why, sizeof(why)));
    assert_int_equal(errno, EPERM);
    assert_string_equal(why, "writable by group");
    assert_int_equal(chmod(t.file, 0646), 0);
    assert_null(qt_trusted_path_check(t.link, me, QT_TRUST_FILE, why, sizeof(why)));
    assert_string_equal(why, "writable by others");
    assert_int_equal(chmod(t.file, 0644), 0);
    /* A directory above it writable by others (not sticky, or sticky but
     * not root's): whoever can write it can swap the file.  The message
     * names that directory. */
    assert_int_equal(chmod(t.sub, 0777), 0);
    assert_null(qt_trusted_path_check(t.file, me, QT_TRUST_FILE, why, sizeof(why)));
    {
        char want[256];

        snprintf(want, sizeof(want), "directory %s is writable by others", t.sub);
        assert_string_equal(why, want);
    }
    assert_int_equal(chmod(t.sub, 01777), 0);
    if (me != 0) {
        assert_null(qt_trusted_path_check(t.file, me, QT_TRUST_FILE, why, sizeof(why)));
        assert_non_null(strstr(why, "is writable by others"));
    }
    assert_int_equal(chmod(t.sub, 0755), 0);
    /* Trusting root only: a file of the test's user is refused (root's own
     * files are accepted: /etc/passwd and all its parents are root's). */
    if (me != 0) {
        char want[64];

        assert_null(qt_trusted_path_check(t.file, 0, QT_TRUST_FILE, why, sizeof(why)));
        snprintf(want, sizeof(want), "owned by uid %lu", (unsigned long)me);
        assert_non_null(strstr(why, want));
    }
    real = qt_trusted_path_check("/etc/passwd", 0, QT_TRUST_FILE, why, sizeof(why));
    assert_non_null(real);
    free(real);
    trust_tree_remove(&t);
}

/* As root: another user's file is refused although root could read it
 * (the case su and sudo -E make). */
static void test_trusted_path_root(void **state)
{
    struct trust_tree t;
    char why[512], want[256];

    (void)state;
    if (geteuid() != 0)
        skip();
    trust_tree_make(&t, "sort = sender\n");
    assert_int_equal(chown(t.file, 65534, 65534), 0);
    assert_null(qt_trusted_path_check(t.file, 0, QT_TRUST_FILE, why, sizeof(why)));
    assert_string_equal(why, "owned by uid 65534");
    assert_int_equal(chown(t.file, 0, 0), 0);
    assert_int_equal(chown(t.sub, 65534, 65534), 0);
    assert_null(qt_trusted_path_check(t.file, 0, QT_TRUST_FILE, why, sizeof(why)));
    snprintf(want, sizeof(want), "directory %s is owned by uid 65534", t.sub);
    assert_string_equal(why, want);
    trust_tree_remove(&t);
}

/* The reader: an untrusted file changes nothing and gives one warning;
 * with trust off (not root) it is read as before. */
static void test_config_trust(void **state)
{
    struct trust_tree t;
    struct qt_config c;
    char want[256];

    (void)state;
    trust_tree_make(&t, "sort = sender\nbind j release\n");

    qt_config_init(&c);
    c.trusted_owner = (long)getuid();
    assert_int_equal(qt_config_read_file(&c, t.file), 1);
    assert_string_equal(c.sort, "sender");
    assert_int_equal(c.nbinds, 1);
    assert_int_equal(c.nwarnings, 0);
    qt_config_free(&c);

    assert_int_equal(chmod(t.file, 0666), 0);
    qt_config_init(&c);
    c.trusted_owner = (long)getuid();
    assert_int_equal(qt_config_read_file(&c, t.link), -1);
    assert_null(c.sort);
    assert_int_equal(c.nbinds, 0);
    assert_int_equal(c.nwarnings, 1);
    snprintf(want, sizeof(want), "ignoring %s: writable by others (", t.link);
    assert_true(strncmp(c.warnings[0], want, strlen(want)) == 0);
    /* A missing file is still quietly nothing. */
    assert_int_equal(qt_config_read_file(&c, "/tmp/qtriage-no-such/config"), 0);
    assert_int_equal(c.nwarnings, 1);
    qt_config_free(&c);

    /* Not root: no check, the file is read as before. */
    qt_config_init(&c);
    c.trusted_owner = -1;
    assert_int_equal(qt_config_read_file(&c, t.file), 1);
    assert_string_equal(c.sort, "sender");
    qt_config_free(&c);
    assert_int_equal(chmod(t.file, 0644), 0);

    /* Through the default files: $XDG_CONFIG_HOME in a directory others
     * can write. */
    {
        char xdg[128], path[160];
        FILE *f;

        snprintf(xdg, sizeof(xdg), "%s/xdg", t.dir);
        snprintf(path, sizeof(path), "%s/qtriage", xdg);
        assert_int_equal(mkdir(xdg, 0777), 0);
        assert_int_equal(chmod(xdg, 0777), 0);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/qtriage/config", xdg);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs("filter = \"sender=x@y\"\n", f);
        fclose(f);
        assert_int_equal(chmod(path, 0644), 0);
        qt_config_init(&c);
        c.trusted_owner = (long)getuid();
        qt_config_load_default(&c, "/nonexistent", xdg);
        assert_null(c.filter);
        assert_int_equal(c.nwarnings, 1);
        snprintf(want, sizeof(want), "directory %s is writable by others", xdg);
        assert_non_null(strstr(c.warnings[0], want));
        qt_config_free(&c);
        unlink(path);
        snprintf(path, sizeof(path), "%s/qtriage", xdg);
        rmdir(path);
        rmdir(xdg);
    }
    trust_tree_remove(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_settings),
        cmocka_unit_test(test_later_lines_override),
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_bad_lines_warn_and_go_on),
        cmocka_unit_test(test_bindings),
        cmocka_unit_test(test_unknown_command),
        cmocka_unit_test(test_key_names_round_trip),
        cmocka_unit_test(test_hostile_lines),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_trust_decision),
        cmocka_unit_test(test_trusted_path),
        cmocka_unit_test(test_trusted_path_root),
        cmocka_unit_test(test_config_trust),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
