/* The configuration file reader.  Every line stands alone: a bad one is
 * reported and skipped, never the file. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qtriage/config.h"
#include "qtriage/text.h"
#include "qtriage/trust.h"
#include "qtriage/util.h"

#define SYSTEM_CONFIG "/etc/qtriage.conf"
/* A line is cut to this many bytes in warnings. */
#define WARN_QUOTE 60

static const char *const element_names[QT_COLOR_COUNT] = {
    "title", "demo",      "header", "cursor",  "tagged", "match",  "error",
    "hold",  "separator", "name",   "warning", "attach", "status",
};

static const char *const color_names[] = {
    "black", "red", "green", "yellow", "blue", "magenta", "cyan", "white",
};

static const struct {
    const char *name;
    int key;
} key_names[] = {
    {"Enter", QT_KEY_ENTER},   {"Return", QT_KEY_ENTER},  {"Space", ' '},
    {"Tab", '\t'},             {"S-Tab", QT_KEY_BTAB},    {"BTab", QT_KEY_BTAB},
    {"Up", QT_KEY_UP},         {"Down", QT_KEY_DOWN},     {"Left", QT_KEY_LEFT},
    {"Right", QT_KEY_RIGHT},   {"PgUp", QT_KEY_PGUP},     {"PageUp", QT_KEY_PGUP},
    {"PgDn", QT_KEY_PGDN},     {"PageDown", QT_KEY_PGDN}, {"Home", QT_KEY_HOME},
    {"End", QT_KEY_END},       {"Insert", QT_KEY_INSERT}, {"Delete", QT_KEY_DELETE},
    {"Del", QT_KEY_DELETE},    {"Backspace", QT_KEY_BACKSPACE},
};

const char *qt_color_element_name(enum qt_color_element e)
{
    return (unsigned)e < QT_COLOR_COUNT ? element_names[e] : NULL;
}

void qt_config_init(struct qt_config *c)
{
    size_t i;

    memset(c, 0, sizeof(*c));
    c->trusted_owner = qt_trust_enforced() ? 0 : -1;
    c->mouse = -1;
    c->color = -1;
    for (i = 0; i < QT_COLOR_COUNT; i++)
        c->colors[i].fg = c->colors[i].bg = -1;
}

void qt_config_free(struct qt_config *c)
{
    size_t i;

    free(c->columns);
    free(c->sort);
    free(c->filter);
    free(c->backup_dir);
    for (i = 0; i < c->nbinds; i++)
        free(c->binds[i].command);
    free(c->binds);
    for (i = 0; i < c->nhosts; i++) {
        free(c->hosts[i].name);
        free(c->hosts[i].destination);
        free(c->hosts[i].config_dir);
        free(c->hosts[i].program);
    }
    free(c->hosts);
    free(c->ssh);
    for (i = 0; i < c->nfiles; i++)
        free(c->files[i]);
    free(c->files);
    for (i = 0; i < c->nwarnings; i++)
        free(c->warnings[i]);
    free(c->warnings);
    memset(c, 0, sizeof(*c));
}

static void add_warning(struct qt_config *c, char *text)
{
    c->warnings = xgrow(c->warnings, &c->warnings_cap, c->nwarnings + 1, sizeof(*c->warnings));
    c->warnings[c->nwarnings++] = text;
}

void qt_config_warn(struct qt_config *c, const char *file, unsigned line, const char *fmt, ...)
{
    struct qt_buf b = {0};
    va_list ap;

    if (line)
        qt_buf_printf(&b, "%s:%u: ", file, line);
    else
        qt_buf_printf(&b, "%s: ", file);
    va_start(ap, fmt);
    qt_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    add_warning(c, b.data);
}

/* A value quoted into a warning: printable ASCII only, bounded. */
static void quote_for_warning(const char *s, char *out, size_t size)
{
    size_t i, o = 0;

    for (i = 0; s[i] && o + 4 < size; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (i == WARN_QUOTE) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        out[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    out[o] = '\0';
}

bool qt_config_parse_key(const char *name, int *key, const char **why)
{
    size_t i, len = strlen(name);
    unsigned cp;

    *why = NULL;
    if (strcmp(name, "Esc") == 0 || strcmp(name, "Escape") == 0 || strcmp(name, "^[") == 0 ||
        strcmp(name, "C-[") == 0) {
        *why = "Esc is not bindable: it always closes and cancels";
        return false;
    }
    for (i = 0; i < QT_ARRAY_LEN(key_names); i++)
        if (strcasecmp(name, key_names[i].name) == 0) {
            *key = key_names[i].key;
            return true;
        }
    if ((name[0] == 'F' || name[0] == 'f') && len >= 2 && len <= 3) {
        long n;

        if (qt_parse_long(name + 1, &n) && n >= 1 && n <= 12 && name[1] != '+' &&
            name[1] != '-' && name[1] != ' ') {
            *key = QT_KEY_F0 + (int)n;
            return true;
        }
    }
    if ((len == 2 && name[0] == '^') ||
        (len == 3 && (name[0] == 'C' || name[0] == 'c') && name[1] == '-')) {
        char ch = name[len - 1];

        if (ch >= 'a' && ch <= 'z')
            ch = (char)(ch - 'a' + 'A');
        if (ch < '@' || ch > '_' || ch == '@') {
            *why = "a control key is ^A to ^Z (or ^\\, ^], ^^, ^_)";
            return false;
        }
        *key = ch & 0x1f;
        if (*key == 27) {
            *why = "Esc is not bindable: it always closes and cancels";
            return false;
        }
        return true;
    }
    /* One character, in UTF-8. */
    if (len > 0 && qt_utf8_decode((const unsigned char *)name, len, &cp) == len && cp >= 0x21 &&
        cp != 0x7f && !(cp >= 0x80 && cp < 0xa0)) {
        *key = (int)cp;
        return true;
    }
    *why = "unknown key (a character, ^X, F1-F12, Enter, Space, Tab, Up, PgDn, Home, ...)";
    return false;
}

void qt_config_key_name(int key, char *buf, size_t size)
{
    size_t i;

    for (i = 0; i < QT_ARRAY_LEN(key_names); i++)
        if (key_names[i].key == key) {
            snprintf(buf, size, "%s", key_names[i].name);
            return;
        }
    if (key == 27)
        snprintf(buf, size, "Esc");
    else if (key > QT_KEY_F0 && key <= QT_KEY_F12)
        snprintf(buf, size, "F%d", key - QT_KEY_F0);
    else if (key > 0 && key < 32)
        snprintf(buf, size, "C-%c", key + 'a' - 1);
    else if (key > 32 && key < 127)
        snprintf(buf, size, "%c", key);
    else if (key >= 0xa0 && key < 0x110000) {
        char u[5] = {0};

        if (key < 0x800)
            u[0] = (char)(0xc0 | (key >> 6)), u[1] = (char)(0x80 | (key & 0x3f));
        else if (key < 0x10000)
            u[0] = (char)(0xe0 | (key >> 12)), u[1] = (char)(0x80 | ((key >> 6) & 0x3f)),
            u[2] = (char)(0x80 | (key & 0x3f));
        else
            u[0] = (char)(0xf0 | (key >> 18)), u[1] = (char)(0x80 | ((key >> 12) & 0x3f)),
            u[2] = (char)(0x80 | ((key >> 6) & 0x3f)), u[3] = (char)(0x80 | (key & 0x3f));
        snprintf(buf, size, "%s", u);
    } else
        snprintf(buf, size, "key %d", key);
}

/* Split `s` into blank-separated words, in place; at most `max`. */
static size_t split_words(char *s, char **words, size_t max)
{
    size_t n = 0;

    for (;;) {
        while (*s == ' ' || *s == '\t')
            *s++ = '\0';
        if (!*s)
            return n;
        if (n == max)
            return max + 1;
        words[n++] = s;
        while (*s && *s != ' ' && *s != '\t')
            s++;
    }
}

static bool parse_color(const char *s, int *color)
{
    size_t i;
    long n;

    if (strcmp(s, "default") == 0) {
        *color = -1;
        return true;
    }
    for (i = 0; i < QT_ARRAY_LEN(color_names); i++)
        if (strcmp(s, color_names[i]) == 0) {
            *color = (int)i;
            return true;
        }
    if (strncmp(s, "color", 5) == 0 && s[5] >= '0' && s[5] <= '9' && qt_parse_long(s + 5, &n) &&
        n >= 0 && n <= 255) {
        *color = (int)n;
        return true;
    }
    return false;
}

static bool parse_attr(const char *s, unsigned *attrs)
{
    if (strcmp(s, "bold") == 0)
        *attrs |= QT_ATTR_BOLD;
    else if (strcmp(s, "reverse") == 0)
        *attrs |= QT_ATTR_REVERSE;
    else if (strcmp(s, "underline") == 0)
        *attrs |= QT_ATTR_UNDERLINE;
    else
        return false;
    return true;
}

/* "FG [BG] [bold|reverse|underline]..." */
static const char *parse_color_spec(char *value, struct qt_config_color *out)
{
    char *w[8];
    size_t n = split_words(value, w, 6), i = 1;
    struct qt_config_color c = {true, -1, -1, 0};

    if (n == 0)
        return "a colour wants FG [BG] [bold|reverse|underline]";
    if (n > 6)
        return "too many words: FG [BG] [bold|reverse|underline]";
    if (!parse_color(w[0], &c.fg))
        return "unknown colour (default, black, red, green, yellow, blue, magenta, cyan, "
               "white, color0-color255)";
    if (n > 1 && parse_color(w[1], &c.bg))
        i = 2;
    for (; i < n; i++)
        if (!parse_attr(w[i], &c.attrs))
            return "unknown colour or attribute (bold, reverse, underline)";
    *out = c;
    return NULL;
}

static const char *parse_bool(const char *v, int *out)
{
    if (!strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "1"))
        *out = 1;
    else if (!strcmp(v, "no") || !strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "0"))
        *out = 0;
    else
        return "want yes or no";
    return NULL;
}

/* "bind [list|viewer] KEY COMMAND" and "unbind [list|viewer] KEY". */
static const char *parse_binding(struct qt_config *c, char *rest, bool unbind, const char *file,
                                 unsigned line)
{
    char *w[4];
    size_t n = split_words(rest, w, 3), i = 0;
    struct qt_config_binding b = {QT_BIND_ANY, 0, NULL, file, line};
    const char *why;

    if (n > 0 && (strcmp(w[0], "list") == 0 || strcmp(w[0], "viewer") == 0)) {
        b.context = w[0][0] == 'l' ? QT_BIND_LIST : QT_BIND_VIEWER;
        i = 1;
    }
    if (unbind ? n != i + 1 : n != i + 2)
        return unbind ? "want: unbind [list|viewer] KEY" : "want: bind [list|viewer] KEY COMMAND";
    if (!qt_config_parse_key(w[i], &b.key, &why))
        return why;
    if (!unbind && strcmp(w[i + 1], "none") != 0) {
        if (c->is_command && !c->is_command(w[i + 1]))
            return "no such command (qtriage --keys lists them)";
        b.command = xstrdup(w[i + 1]);
    }
    c->binds = xgrow(c->binds, &c->binds_cap, c->nbinds + 1, sizeof(*c->binds));
    c->binds[c->nbinds++] = b;
    return NULL;
}

bool qt_config_host_name_valid(const char *name)
{
    size_t i, n = strlen(name);

    if (n == 0 || n > 64 || strcmp(name, "local") == 0 || strcmp(name, "all") == 0 ||
        name[0] == '-' || name[0] == '.')
        return false;
    for (i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
              (name[i] >= '0' && name[i] <= '9') || name[i] == '-' || name[i] == '_' ||
              name[i] == '.'))
            return false;
    return true;
}

/* A word that goes onto the remote command line, which ssh hands to the
 * remote user's shell: only characters no shell gives a meaning to. */
static bool remote_word_safe(const char *s)
{
    if (!*s || strlen(s) > 255)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '/' || *s == '.' || *s == '_' || *s == '+' ||
              *s == '-'))
            return false;
    return true;
}

/* "host NAME DESTINATION [config=DIR] [qtriage=PATH] [sudo=yes|no]" */
static const char *parse_host(struct qt_config *c, char *rest, const char *file, unsigned line)
{
    char *w[8];
    size_t n = split_words(rest, w, 5), i;
    struct qt_config_host h = {.file = file, .line = line};
    int sudo = 0;

    if (n < 2 || n > 5)
        return "want: host NAME DESTINATION [config=DIR] [qtriage=PATH] [sudo=yes]";
    if (!qt_config_host_name_valid(w[0]))
        return "a host name is letters, digits, '-', '_' and '.', starting with a letter, "
               "digit or '_' (not \"local\" or \"all\")";
    if (w[1][0] == '-')
        return "a DESTINATION never starts with '-' (ssh would take it for an option)";
    for (i = 2; i < n; i++) {
        if (strncmp(w[i], "config=", 7) == 0) {
            if (w[i][7] != '/' || !remote_word_safe(w[i] + 7))
                return "config= wants an absolute directory of [A-Za-z0-9/._+-]";
            h.config_dir = w[i] + 7;
        } else if (strncmp(w[i], "qtriage=", 8) == 0) {
            if (w[i][8] == '-' || !remote_word_safe(w[i] + 8))
                return "qtriage= wants a program path of [A-Za-z0-9/._+-]";
            h.program = w[i] + 8;
        } else if (strncmp(w[i], "sudo=", 5) == 0) {
            if (parse_bool(w[i] + 5, &sudo))
                return "sudo= wants yes or no";
        } else
            return "unknown host option (config=DIR, qtriage=PATH, sudo=yes)";
    }
    for (i = 0; i < c->nhosts && strcmp(c->hosts[i].name, w[0]) != 0; i++)
        ;
    if (i == c->nhosts) {
        c->hosts = xgrow(c->hosts, &c->hosts_cap, c->nhosts + 1, sizeof(*c->hosts));
        c->nhosts++;
    } else {
        free(c->hosts[i].name);
        free(c->hosts[i].destination);
        free(c->hosts[i].config_dir);
        free(c->hosts[i].program);
    }
    h.name = xstrdup(w[0]);
    h.destination = xstrdup(w[1]);
    h.config_dir = h.config_dir ? xstrdup(h.config_dir) : NULL;
    h.program = h.program ? xstrdup(h.program) : NULL;
    h.sudo = sudo == 1;
    c->hosts[i] = h;
    return NULL;
}

/* A value: the rest of the line, blanks trimmed, or one quoted string
 * ("..." with \" and \\, or '...' as is) followed by nothing. */
static const char *unquote(char *v)
{
    char q = *v, *in, *out;
    size_t len = strlen(v);

    while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
        v[--len] = '\0';
    if (q != '"' && q != '\'')
        return NULL;
    for (in = v + 1, out = v; *in && *in != q; in++) {
        if (q == '"' && *in == '\\' && (in[1] == '"' || in[1] == '\\'))
            in++;
        *out++ = *in;
    }
    if (*in != q)
        return "unterminated quoted value";
    if (in[1])
        return "text after the closing quote";
    *out = '\0';
    return NULL;
}

static void set_string(char **field, const char *v)
{
    free(*field);
    *field = xstrdup(v);
}

static const char *parse_refresh(const char *v, int *ms)
{
    char *end;
    double secs;

    errno = 0;
    secs = strtod(v, &end);
    if (end == v || *end || errno || !(secs >= 0.2 && secs <= 3600))
        return "want seconds between 0.2 and 3600";
    *ms = (int)(secs * 1000);
    return NULL;
}

static const char *parse_setting(struct qt_config *c, const char *key, char *value)
{
    const char *why = unquote(value);
    size_t i;

    if (why)
        return why;
    if (strcmp(key, "columns") == 0)
        set_string(&c->columns, value);
    else if (strcmp(key, "sort") == 0)
        set_string(&c->sort, value);
    else if (strcmp(key, "filter") == 0)
        set_string(&c->filter, value);
    else if (strcmp(key, "backup_dir") == 0) {
        if (value[0] != '/')
            return "backup_dir wants an absolute path";
        set_string(&c->backup_dir, value);
    } else if (strcmp(key, "refresh") == 0)
        return parse_refresh(value, &c->refresh_ms);
    else if (strcmp(key, "ssh") == 0) {
        if (!value[0] || value[0] == '-')
            return "ssh wants a command line (\"ssh -F FILE -o ...\")";
        set_string(&c->ssh, value);
    }
    else if (strcmp(key, "confirm") == 0) {
        /* Never weaker than the built-in rule: delete, expire and flush
         * always ask. */
        if (strcmp(value, "destructive") == 0)
            c->confirm = QT_CONFIRM_DESTRUCTIVE;
        else if (strcmp(value, "all") == 0)
            c->confirm = QT_CONFIRM_ALL;
        else
            return "confirm is \"destructive\" (delete, expire and flush ask) or \"all\" "
                   "(every action asks)";
    } else if (strcmp(key, "mouse") == 0)
        return parse_bool(value, &c->mouse);
    else if (strcmp(key, "color") == 0 || strcmp(key, "colour") == 0)
        return parse_bool(value, &c->color);
    else if (strncmp(key, "color.", 6) == 0 || strncmp(key, "colour.", 7) == 0) {
        const char *el = strchr(key, '.') + 1;

        for (i = 0; i < QT_COLOR_COUNT; i++)
            if (strcmp(el, element_names[i]) == 0)
                return parse_color_spec(value, &c->colors[i]);
        return "unknown colour element (title, demo, header, cursor, tagged, match, error, "
               "hold, separator, name, warning, attach, status)";
    } else
        return "unknown key";
    return NULL;
}

static void parse_line(struct qt_config *c, const char *file, unsigned lineno, char *line)
{
    char *eq, *key, *end;
    const char *why = NULL;
    char quoted[WARN_QUOTE + 8];

    while (*line == ' ' || *line == '\t')
        line++;
    if (!*line || *line == '#')
        return;
    if (strncmp(line, "bind", 4) == 0 && (line[4] == ' ' || line[4] == '\t')) {
        why = parse_binding(c, line + 5, false, file, lineno);
    } else if (strncmp(line, "unbind", 6) == 0 && (line[6] == ' ' || line[6] == '\t')) {
        why = parse_binding(c, line + 7, true, file, lineno);
    } else if (strncmp(line, "host", 4) == 0 && (line[4] == ' ' || line[4] == '\t')) {
        why = parse_host(c, line + 5, file, lineno);
    } else if (!(eq = strchr(line, '='))) {
        why = "want \"key = value\", \"bind ...\" or \"unbind ...\"";
    } else {
        key = line;
        for (end = eq; end > key && (end[-1] == ' ' || end[-1] == '\t'); end--)
            ;
        *end = '\0';
        for (eq++; *eq == ' ' || *eq == '\t'; eq++)
            ;
        if (!*key)
            why = "no key before '='";
        else {
            why = parse_setting(c, key, eq);
            if (why && strcmp(why, "unknown key") == 0) {
                quote_for_warning(key, quoted, sizeof(quoted));
                qt_config_warn(c, file, lineno, "unknown key \"%s\"; line ignored", quoted);
                return;
            }
        }
    }
    if (why)
        qt_config_warn(c, file, lineno, "%s; line ignored", why);
}

/* The file name kept for bindings and messages. */
static const char *keep_file_name(struct qt_config *c, const char *path)
{
    c->files = xrealloc(c->files, (c->nfiles + 1) * sizeof(*c->files));
    c->files[c->nfiles] = xstrdup(path);
    return c->files[c->nfiles++];
}

void qt_config_parse(struct qt_config *c, const char *file, const char *data, size_t len)
{
    size_t pos = 0;
    unsigned lineno = 0;
    char *line = xmalloc(QT_CONFIG_MAX_LINE + 1);

    file = keep_file_name(c, file);

    while (pos < len) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (data + pos)) : len - pos, i;

        lineno++;
        if (n && data[pos + n - 1] == '\r')
            n--;
        if (n > QT_CONFIG_MAX_LINE) {
            qt_config_warn(c, file, lineno, "line longer than %d bytes; ignored",
                           QT_CONFIG_MAX_LINE);
        } else if (memchr(data + pos, '\0', n)) {
            qt_config_warn(c, file, lineno, "NUL byte in the line; ignored");
        } else {
            for (i = 0; i < n;) {
                size_t l = qt_utf8_seq_len((const unsigned char *)data + pos + i, n - i);

                if (!l)
                    break;
                i += l;
            }
            if (i < n) {
                qt_config_warn(c, file, lineno, "invalid UTF-8 at byte %zu; line ignored", i + 1);
            } else {
                memcpy(line, data + pos, n);
                line[n] = '\0';
                for (i = 0; i < n; i++)
                    if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
                        break;
                if (i < n)
                    qt_config_warn(c, file, lineno, "control character in the line; ignored");
                else
                    parse_line(c, file, lineno, line);
            }
        }
        if (!nl)
            break;
        pos += n + 1 + (data[pos + n] == '\r');
    }
    free(line);
}

/* Whether root may read `path` (trust.h), as OpenSSH does with its
 * configuration: else one warning naming what is wrong.  The file then
 * opened is the checked real path.  0: no such file; -1: refused. */
static int trusted_file(struct qt_config *c, const char *path, char **real)
{
    char why[512];
    struct qt_buf shown = {0};

    *real = qt_trusted_path_check(path, (uid_t)c->trusted_owner, QT_TRUST_FILE, why,
                                  sizeof(why));
    if (*real)
        return 1;
    if (errno == ENOENT || errno == ENOTDIR)
        return 0;
    /* The name came from the environment, which the user chose. */
    qt_text_sanitize(&shown, path, strlen(path));
    qt_buf_printf(&shown, ": %s (as root, only files that root owns and no one else can write "
                          "are read)", why);
    add_warning(c, xasprintf("ignoring %s", shown.data));
    qt_buf_free(&shown);
    return -1;
}

int qt_config_read_file(struct qt_config *c, const char *path)
{
    struct qt_buf b = {0};
    struct stat st;
    const char *name = path;
    char *real = NULL;
    int fd, trusted;
    ssize_t got;

    if (c->trusted_owner >= 0 && (trusted = trusted_file(c, path, &real)) <= 0)
        return trusted;
    fd = open(real ? real : path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY |
                                      (real ? O_NOFOLLOW : 0));
    free(real);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        /* Another user's home (sudo -u nobody keeps HOME=/root): a file
         * that cannot even be looked up is one this user has none of. */
        if (errno == EACCES && stat(path, &st) != 0)
            return 0;
        qt_config_warn(c, path, 0, "cannot open: %s; ignored", strerror(errno));
        return -1;
    }
    /* A FIFO or a device could block or never end. */
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        qt_config_warn(c, name, 0, "not a regular file; ignored");
        close(fd);
        return -1;
    }
    for (;;) {
        qt_buf_reserve(&b, 65536);
        got = read(fd, b.data + b.len, 65536);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        b.len += (size_t)got;
        if (b.len > QT_CONFIG_MAX_FILE)
            break;
    }
    close(fd);
    if (got < 0) {
        qt_config_warn(c, name, 0, "cannot read: %s; ignored", strerror(errno));
        qt_buf_free(&b);
        return -1;
    }
    if (b.len > QT_CONFIG_MAX_FILE) {
        qt_config_warn(c, name, 0, "larger than %d bytes: only the start is read",
                       QT_CONFIG_MAX_FILE);
        b.len = QT_CONFIG_MAX_FILE;
    }
    qt_config_parse(c, name, b.data ? b.data : "", b.len);
    qt_buf_free(&b);
    return 1;
}

char *qt_config_user_path(const char *home, const char *xdg_config_home)
{
    /* The XDG base directory rules: a relative $XDG_CONFIG_HOME is invalid. */
    if (xdg_config_home && xdg_config_home[0] == '/')
        return xasprintf("%s/qtriage/config", xdg_config_home);
    if (home && *home)
        return xasprintf("%s/.config/qtriage/config", home);
    return NULL;
}

void qt_config_load_default(struct qt_config *c, const char *home, const char *xdg_config_home)
{
    char *user = qt_config_user_path(home, xdg_config_home);

    qt_config_read_file(c, SYSTEM_CONFIG);
    if (user)
        qt_config_read_file(c, user);
    free(user);
}
