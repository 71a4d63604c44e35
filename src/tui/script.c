/* Scripted runs (script.h): the TUI's keys from a file, its screen as text.
 *
 * A script is one step a line; '#' starts a comment line:
 *   keys TEXT           type TEXT, one key per pass of the main loop; <Name>
 *                       is a special key: <Enter> <Esc> <Tab> <BackTab> <Space> <BS>
 *                       <Del> <Up> <Down> <Left> <Right> <Home> <End> <PgUp>
 *                       <PgDn> <F1>..<F12> <C-x> (Ctrl+x) <lt> (a '<')
 *   wait-loaded         until the first scan is in and its rows are built
 *   wait-idle           until no rebuild, scan or action is under way
 *   dump NAME           once the rows are settled, print "=== NAME" and the
 *                       screen, one line a row, trailing blanks cut
 *   resize COLSxROWS    the terminal changes size
 *   quit                end here (the end of the file does too)
 * A wait that lasts longer than QTRIAGE_SCRIPT_TIMEOUT seconds (default
 * 60) fails the run: the screen is dumped as "=== timeout" and qtriage
 * exits with status 1. */
#include "script.h"
#include "stats_pane.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "app.h"
#include "qtriage/text.h"
#include "qtriage/util.h"

enum step_kind { STEP_KEYS, STEP_WAIT_LOADED, STEP_WAIT_IDLE, STEP_DUMP, STEP_RESIZE, STEP_QUIT };

struct step {
    enum step_kind kind;
    int line;
    int *keys;
    size_t nkeys;
    char *name;                 /* dump */
    int cols, rows;             /* resize */
};

struct script {
    char *path;
    struct step *steps;
    size_t n, cur;
    size_t key_pos;             /* next key of a keys step */
    bool dump_waited;           /* a dump let the loop make one pass first */
    bool key_given;             /* one key a pass, as a person types */
    int64_t wait_since_ms;
    int64_t timeout_ms;
    bool finished, failed;
    int cols, rows;
    const char *spool;
    bool now_pinned;
    int64_t now;
    int ready_fd;               /* /dev/null: always readable */
    FILE *term_out, *term_in;
    SCREEN *screen;
};

bool script_wanted(void)
{
    const char *p = getenv("QTRIAGE_SCRIPT");

    return p && *p;
}

bool tui_scripted(void)
{
    return script_wanted();
}

static const struct {
    const char *name;
    int key;
} key_names[] = {
    {"Enter", '\r'},
    {"Esc", 27},
    {"Tab", '\t'},
    {"BackTab", KEY_FN(KEY_BTAB)},
    {"Space", ' '},
    {"BS", KEY_FN(KEY_BACKSPACE)},
    {"Del", KEY_FN(KEY_DC)},
    {"Up", KEY_FN(KEY_UP)},
    {"Down", KEY_FN(KEY_DOWN)},
    {"Left", KEY_FN(KEY_LEFT)},
    {"Right", KEY_FN(KEY_RIGHT)},
    {"Home", KEY_FN(KEY_HOME)},
    {"End", KEY_FN(KEY_END)},
    {"PgUp", KEY_FN(KEY_PPAGE)},
    {"PgDn", KEY_FN(KEY_NPAGE)},
    {"lt", '<'},
};

/* One <Name>; `name` is the text between the brackets. */
static bool special_key(const char *name, size_t len, int *key)
{
    size_t i;

    if (len == 3 && name[0] == 'C' && name[1] == '-' && isalpha((unsigned char)name[2])) {
        *key = KEY_CTRL(name[2]);
        return true;
    }
    if (len >= 2 && len <= 3 && name[0] == 'F' && isdigit((unsigned char)name[1])) {
        int n = atoi(name + 1);

        if (n >= 1 && n <= 12) {
            *key = KEY_FN(KEY_F(n));
            return true;
        }
    }
    for (i = 0; i < QT_ARRAY_LEN(key_names); i++)
        if (strlen(key_names[i].name) == len && memcmp(key_names[i].name, name, len) == 0) {
            *key = key_names[i].key;
            return true;
        }
    return false;
}

/* The keys of TEXT (UTF-8, with <Name>s). */
static bool parse_keys(struct step *st, const char *text, char *err, size_t size)
{
    size_t len = strlen(text), i = 0;

    st->keys = xcalloc(len + 1, sizeof(*st->keys));
    while (i < len) {
        const char *close;
        unsigned cp;
        size_t n;

        if (text[i] == '<' && (close = strchr(text + i, '>')) != NULL) {
            if (!special_key(text + i + 1, (size_t)(close - text - i - 1),
                             &st->keys[st->nkeys])) {
                snprintf(err, size, "unknown key %.*s", (int)(close - text - i + 1), text + i);
                return false;
            }
            st->nkeys++;
            i = (size_t)(close - text) + 1;
            continue;
        }
        n = qt_utf8_decode((const unsigned char *)text + i, len - i, &cp);
        if (!n) {
            snprintf(err, size, "invalid UTF-8");
            return false;
        }
        st->keys[st->nkeys++] = (int)cp;
        i += n;
    }
    return true;
}

static bool parse_size(const char *s, int *cols, int *rows)
{
    char tail;

    return sscanf(s, "%dx%d%c", cols, rows, &tail) == 2 && *cols >= 10 && *cols <= 1000 &&
           *rows >= 3 && *rows <= 500;
}

static bool dump_name_valid(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("-_.", *s))
            return false;
    return true;
}

/* One line of the script into `st`; false with `err` set. */
static bool parse_step(struct step *st, char *line, char *err, size_t size)
{
    char *arg = line + strcspn(line, " \t");

    if (*arg)
        *arg++ = 0;
    if (strcmp(line, "keys") == 0) {
        st->kind = STEP_KEYS;
        return parse_keys(st, arg, err, size);
    }
    arg += strspn(arg, " \t");
    if (strcmp(line, "wait-loaded") == 0 || strcmp(line, "wait-idle") == 0 ||
        strcmp(line, "quit") == 0) {
        st->kind = line[0] == 'q'              ? STEP_QUIT
                   : strcmp(line, "wait-idle") ? STEP_WAIT_LOADED
                                               : STEP_WAIT_IDLE;
        if (*arg) {
            snprintf(err, size, "%s takes no argument", line);
            return false;
        }
        return true;
    }
    if (strcmp(line, "dump") == 0) {
        st->kind = STEP_DUMP;
        if (!dump_name_valid(arg)) {
            snprintf(err, size, "dump wants a NAME of letters, digits, '-', '_' and '.'");
            return false;
        }
        st->name = xstrdup(arg);
        return true;
    }
    if (strcmp(line, "resize") == 0) {
        st->kind = STEP_RESIZE;
        if (!parse_size(arg, &st->cols, &st->rows)) {
            snprintf(err, size, "resize wants COLSxROWS (10x3 to 1000x500)");
            return false;
        }
        return true;
    }
    snprintf(err, size, "unknown step \"%s\" (keys, wait-loaded, wait-idle, dump, resize, quit)",
             line);
    return false;
}

static bool read_steps(struct script *s, char *err, size_t size)
{
    FILE *f = fopen(s->path, "r");
    char *line = NULL, why[200];
    size_t cap = 0, alloc = 0;
    ssize_t len;
    int lineno = 0;
    bool ok = true;

    if (!f) {
        snprintf(err, size, "QTRIAGE_SCRIPT %s: %s", s->path, strerror(errno));
        return false;
    }
    while (ok && (len = getline(&line, &cap, f)) >= 0) {
        char *p = line;

        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        p += strspn(p, " \t");
        if (!*p || *p == '#')
            continue;
        if (s->n == alloc) {
            alloc = alloc ? alloc * 2 : 16;
            s->steps = xrealloc(s->steps, alloc * sizeof(*s->steps));
        }
        memset(&s->steps[s->n], 0, sizeof(s->steps[0]));
        s->steps[s->n].line = lineno;
        ok = parse_step(&s->steps[s->n], p, why, sizeof(why));
        s->n++;
        if (!ok)
            snprintf(err, size, "%s, line %d: %s", s->path, lineno, why);
    }
    free(line);
    fclose(f);
    return ok;
}

static void script_free(struct script *s)
{
    size_t i;

    for (i = 0; i < s->n; i++) {
        free(s->steps[i].keys);
        free(s->steps[i].name);
    }
    free(s->steps);
    free(s->path);
    if (s->ready_fd >= 0)
        close(s->ready_fd);
    free(s);
}

struct script *script_open(char *err, size_t size)
{
    struct script *s = xcalloc(1, sizeof(*s));
    const char *env;
    long v;

    s->ready_fd = -1;
    s->path = xstrdup(getenv("QTRIAGE_SCRIPT"));
    s->cols = 120;
    s->rows = 30;
    s->timeout_ms = 60000;
    if ((env = getenv("QTRIAGE_SCREEN")) && !parse_size(env, &s->cols, &s->rows)) {
        snprintf(err, size, "QTRIAGE_SCREEN wants COLSxROWS (10x3 to 1000x500)");
        script_free(s);
        return NULL;
    }
    if ((env = getenv("QTRIAGE_NOW")) && *env) {
        if (!qt_parse_long(env, &v) || v < 0) {
            snprintf(err, size, "QTRIAGE_NOW wants seconds since the epoch");
            script_free(s);
            return NULL;
        }
        s->now_pinned = true;
        s->now = v;
    }
    if ((env = getenv("QTRIAGE_SCRIPT_TIMEOUT")) && *env) {
        if (!qt_parse_long(env, &v) || v < 1) {
            snprintf(err, size, "QTRIAGE_SCRIPT_TIMEOUT wants seconds");
            script_free(s);
            return NULL;
        }
        s->timeout_ms = v * 1000;
    }
    env = getenv("QTRIAGE_SPOOL");
    s->spool = env && *env ? env : NULL;
    /* Keys from a file never drive a live queue: whoever can plant the
     * variable in root's environment (sudo -E, su without -) would
     * otherwise choose root's actions.  A copy is read-only. */
    if (!s->spool) {
        snprintf(err, size, "QTRIAGE_SCRIPT needs QTRIAGE_SPOOL: scripted keys run only on a "
                 "copy of a queue, never on the live one");
        script_free(s);
        return NULL;
    }
    if (!read_steps(s, err, size)) {
        script_free(s);
        return NULL;
    }
    s->ready_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (s->ready_fd < 0) {
        snprintf(err, size, "/dev/null: %s", strerror(errno));
        script_free(s);
        return NULL;
    }
    return s;
}

const char *script_spool_copy(const struct script *s)
{
    return s->spool;
}

bool script_start_curses(struct script *s)
{
    char num[16];

    /* No terminal to ask: curses takes the size from LINES and COLUMNS. */
    snprintf(num, sizeof(num), "%d", s->rows);
    setenv("LINES", num, 1);
    snprintf(num, sizeof(num), "%d", s->cols);
    setenv("COLUMNS", num, 1);
    s->term_out = fopen("/dev/null", "we");
    s->term_in = fopen("/dev/null", "re");
    if (!s->term_out || !s->term_in)
        return false;
    s->screen = newterm("xterm", s->term_out, s->term_in);
    if (!s->screen)
        return false;
    set_term(s->screen);
    cbreak();
    noecho();
    nonl();
    curs_set(0);
    return true;
}

/* The rows show the query, sort and store in force.  (rebuild_now alone
 * means nothing: it only hurries a rebuild that rows_stale asks for.) */
static bool rows_settled(const struct app *a)
{
    return a->first_scan_done && !a->rows_stale && !a->rows_for_query &&
           !qt_view_rebuilding(&a->view) && !stats_counting(a);
}

static bool app_idle(struct app *a)
{
    return rows_settled(a) && !action_job_running(a) && !a->scan_wanted &&
           !a->backend->ops->running(a->backend);
}

/* Print the screen as the terminal would show it (curscr), row by row. */
static void dump_screen(const char *name)
{
    size_t cap = (size_t)COLS * 5 + 1;
    wchar_t *row = xcalloc(cap, sizeof(*row));
    int y;

    printf("=== %s\n", name);
    for (y = 0; y < LINES; y++) {
        char out[8192];
        size_t o = 0, end = 0, i;
        mbstate_t ps;

        memset(&ps, 0, sizeof(ps));
        row[0] = 0;
        mvwinnwstr(curscr, y, 0, row, (int)cap - 1);
        for (i = 0; row[i] && o + MB_LEN_MAX < sizeof(out); i++) {
            size_t n = wcrtomb(out + o, row[i], &ps);

            if (n == (size_t)-1) {
                out[o] = '?';
                n = 1;
                memset(&ps, 0, sizeof(ps));
            }
            o += n;
            if (row[i] != L' ')
                end = o;
        }
        fwrite(out, 1, end, stdout);
        putchar('\n');
    }
    fflush(stdout);
    free(row);
}

static void next_step(struct script *s)
{
    s->cur++;
    s->key_pos = 0;
    s->dump_waited = false;
    s->wait_since_ms = 0;
    if (s->cur >= s->n)
        s->finished = true;
}

/* A wait that is over its time fails the run. */
static bool waited_too_long(struct script *s, const struct step *st)
{
    int64_t now = app_now_ms();

    if (!s->wait_since_ms)
        s->wait_since_ms = now;
    if (now - s->wait_since_ms < s->timeout_ms)
        return false;
    fprintf(stderr, "qtriage: %s, line %d: still waiting after %lld s\n", s->path, st->line,
            (long long)(s->timeout_ms / 1000));
    dump_screen("timeout");
    s->failed = s->finished = true;
    return true;
}

/* Whether the current step can run now. */
static bool step_ready(struct script *s, struct app *a)
{
    const struct step *st = &s->steps[s->cur];

    switch (st->kind) {
    case STEP_WAIT_LOADED:
        return rows_settled(a);
    case STEP_WAIT_IDLE:
        return app_idle(a);
    case STEP_DUMP:
        return !s->dump_waited || rows_settled(a);
    default:
        return true;
    }
}

int script_poll_fd(struct script *s, struct app *a)
{
    s->key_given = false;
    if (s->finished)    /* wake the loop at once: it quits at its top */
        return s->ready_fd;
    return step_ready(s, a) ? s->ready_fd : -1;
}

int script_next_key(struct script *s, struct app *a, int *key)
{
    while (!s->finished && !s->key_given) {
        struct step *st = &s->steps[s->cur];

        if (!step_ready(s, a)) {
            waited_too_long(s, st);
            return ERR;
        }
        switch (st->kind) {
        case STEP_KEYS:
            if (s->key_pos >= st->nkeys) {
                next_step(s);
                continue;
            }
            *key = st->keys[s->key_pos++];
            s->key_given = true;
            return OK;
        case STEP_RESIZE:
            resizeterm(st->rows, st->cols);
            next_step(s);
            *key = KEY_FN(KEY_RESIZE);
            s->key_given = true;
            return OK;
        case STEP_DUMP:
            if (!s->dump_waited) {
                /* Let the loop act on the last key's result (a new layout,
                 * a rebuild) before the screen is read. */
                s->dump_waited = true;
                s->key_given = true;
                return ERR;
            }
            draw_all(a);
            doupdate();
            dump_screen(st->name);
            next_step(s);
            break;
        case STEP_QUIT:
            s->finished = true;
            break;
        case STEP_WAIT_LOADED:
        case STEP_WAIT_IDLE:
            next_step(s);
            break;
        }
    }
    return ERR;
}

bool script_finished(const struct script *s)
{
    return s->finished;
}

bool script_close(struct script *s)
{
    bool ok = !s->failed;

    if (s->screen) {
        if (!isendwin())
            endwin();
        delscreen(s->screen);
    }
    if (s->term_out)
        fclose(s->term_out);
    if (s->term_in)
        fclose(s->term_in);
    script_free(s);
    return ok;
}

int64_t app_wall_clock(const struct app *a)
{
    if (a->script && a->script->now_pinned)
        return a->script->now;
    return (int64_t)time(NULL);
}
