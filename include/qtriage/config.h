/* The configuration file: simple "key = value" lines read before the
 * command line, which overrides them.
 *
 * Where it comes from: `--config-file FILE` names the only file read;
 * otherwise /etc/qtriage.conf is read first and then
 * $XDG_CONFIG_HOME/qtriage/config (default ~/.config/qtriage/config), so
 * the user's file overrides the system's key by key (bindings and colours
 * of both apply, the user's last).
 *
 * A configuration file must never make qtriage unusable: every line that is
 * wrong (unknown key, bad value, too long, NUL byte, invalid UTF-8, ...) is
 * skipped with a warning "FILE:LINE: why", and everything else still
 * applies.  The warnings are kept in the struct for the caller to print. */
#ifndef QTRIAGE_CONFIG_H
#define QTRIAGE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* Longest line taken (bytes, without the newline), biggest file read. */
#define QT_CONFIG_MAX_LINE 4096
#define QT_CONFIG_MAX_FILE (1024 * 1024)

/* The TUI's colour pairs, in the order of its COLOR_PAIR_* constants. */
enum qt_color_element {
    QT_COLOR_TITLE,
    QT_COLOR_DEMO,
    QT_COLOR_HEADER,
    QT_COLOR_CURSOR,
    QT_COLOR_TAGGED,
    QT_COLOR_MATCH,
    QT_COLOR_ERROR,
    QT_COLOR_HOLD,
    QT_COLOR_SEPARATOR,
    QT_COLOR_NAME,
    QT_COLOR_WARNING,
    QT_COLOR_ATTACH,
    QT_COLOR_STATUS,
    QT_COLOR_COUNT
};

enum {
    QT_ATTR_BOLD = 1 << 0,
    QT_ATTR_REVERSE = 1 << 1,
    QT_ATTR_UNDERLINE = 1 << 2,
};

/* A colour: -1 is the terminal's default, 0-7 the ANSI colours (black red
 * green yellow blue magenta cyan white, as curses numbers them), up to 255
 * for colorN. */
struct qt_config_color {
    bool set;
    int fg, bg;
    unsigned attrs;             /* QT_ATTR_* */
};

/* Keys a binding can name that are not characters. */
enum qt_named_key {
    QT_KEY_ENTER = 0x200000,    /* above every Unicode code point */
    QT_KEY_UP,
    QT_KEY_DOWN,
    QT_KEY_LEFT,
    QT_KEY_RIGHT,
    QT_KEY_PGUP,
    QT_KEY_PGDN,
    QT_KEY_HOME,
    QT_KEY_END,
    QT_KEY_INSERT,
    QT_KEY_DELETE,
    QT_KEY_BACKSPACE,
    QT_KEY_BTAB,
    QT_KEY_F0,                  /* F1..F12 are QT_KEY_F0 + n */
    QT_KEY_F12 = QT_KEY_F0 + 12,
};

enum qt_bind_context { QT_BIND_ANY, QT_BIND_LIST, QT_BIND_VIEWER };

struct qt_config_binding {
    enum qt_bind_context context;
    int key;                    /* a code point (controls 1-31 but Esc) or QT_KEY_* */
    char *command;              /* NULL: unbind the key */
    const char *file;           /* where it was written, for messages */
    unsigned line;
};

enum qt_confirm { QT_CONFIRM_UNSET, QT_CONFIRM_DESTRUCTIVE, QT_CONFIRM_ALL };

/* A host of the fleet: "host NAME DESTINATION [config=DIR] [qtriage=PATH]
 * [sudo=yes]".  NAME is letters, digits, '-', '_' and '.', not starting
 * with '-' or '.' ("local" and "all" are taken); DESTINATION is what ssh takes and never starts with
 * '-'; DIR and PATH go onto the remote command line, so they are limited to
 * [A-Za-z0-9/._+-] (DIR absolute).  A later line for the same NAME
 * replaces the earlier one (the user's file overrides the system's). */
struct qt_config_host {
    char *name;
    char *destination;
    char *config_dir;           /* NULL: the remote default instance */
    char *program;              /* NULL: "qtriage" in the remote PATH */
    bool sudo;
    const char *file;           /* where it was written, for messages */
    unsigned line;
};

/* Whether `name` is a valid host name for the fleet (not "local"/"all"). */
bool qt_config_host_name_valid(const char *name);

struct qt_config {
    /* NULL / 0 / -1: not set by any file. */
    char *columns;
    char *sort;
    char *filter;
    char *backup_dir;
    int refresh_ms;
    enum qt_confirm confirm;
    int mouse;                  /* -1, 0, 1 */
    int color;                  /* -1, 0 (off), 1 */
    struct qt_config_color colors[QT_COLOR_COUNT];
    struct qt_config_binding *binds;
    size_t nbinds, binds_cap;
    struct qt_config_host *hosts;   /* the fleet, in the order first named */
    size_t nhosts, hosts_cap;
    char *ssh;                  /* "ssh = CMD ...": the ssh command line; NULL: "ssh" */

    /* Set by qt_config_init: -1 reads any file (not root); else only files
     * that this uid or root owns and that, with every directory above
     * them, no one else can write (trust.h): 0 when running as root. */
    long trusted_owner;

    /* Set before parsing: whether a binding's command exists (NULL: any). */
    bool (*is_command)(const char *name);

    char **files;               /* every file read, owned (bindings point here) */
    size_t nfiles;
    char **warnings;            /* "FILE:LINE: why", in order */
    size_t nwarnings, warnings_cap;
};

void qt_config_init(struct qt_config *c);
void qt_config_free(struct qt_config *c);

/* Parse `len` bytes of configuration text named `file` in messages. */
void qt_config_parse(struct qt_config *c, const char *file, const char *data, size_t len);

/* Read and parse one file.  Returns 1 when it was read, 0 when it does not
 * exist (no warning), -1 when it exists but cannot be read or, as root, is
 * not trusted (one warning: "ignoring FILE: owned by uid 1000 ..."). */
int qt_config_read_file(struct qt_config *c, const char *path);

/* The default files: /etc/qtriage.conf, then the user's.  `home` and
 * `xdg_config_home` are $HOME and $XDG_CONFIG_HOME (NULL or empty: unset). */
void qt_config_load_default(struct qt_config *c, const char *home, const char *xdg_config_home);

/* The user's file name (malloc'd), NULL when neither variable helps. */
char *qt_config_user_path(const char *home, const char *xdg_config_home);

/* Add a warning about line `line` of `file` (line 0: the file itself). */
void qt_config_warn(struct qt_config *c, const char *file, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "title", "cursor", ...; NULL when out of range. */
const char *qt_color_element_name(enum qt_color_element e);

/* Parse a key as a binding names it: "x", "^X", "C-x", "F5", "Enter",
 * "Space", "Tab", "Up", "PgDn", ...  Returns false (and why) for an unknown
 * name and for Esc, which always closes and cancels. */
bool qt_config_parse_key(const char *name, int *key, const char **why);

/* The name qt_config_parse_key() takes for `key` ("x", "C-x", "F5", ...). */
void qt_config_key_name(int key, char *buf, size_t size);

#endif
