/* The help screen, generated from the command and key tables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "commands.h"
#include "help.h"
#include "keymap.h"
#include "qtriage/util.h"

struct help_pane {
    struct pane pane;
    size_t top;
};

static const struct pane_ops help_ops;

static const char *const ctx_label[] = {"", "list", "viewer", "help", "stats"};

/* "j Down", "q(viewer) Esc": the keys bound to command `name`. */
static void keys_of(const struct keymap *km, const char *name, char *keys, size_t size)
{
    size_t j, klen = 0;

    keys[0] = '\0';
    for (j = 0; j < km->n; j++) {
        const struct key_binding *k = &km->bindings[j];
        char kn[32], entry[48];

        if (strcmp(k->command, name) != 0)
            continue;
        describe_key(k->key, kn, sizeof(kn));
        if (k->ctx == CTX_LIST || k->ctx == CTX_VIEWER || k->ctx == CTX_STATS)
            snprintf(entry, sizeof(entry), "%s(%s)", kn, ctx_label[k->ctx]);
        else
            snprintf(entry, sizeof(entry), "%s", kn);
        if (strstr(keys, entry))    /* '\n' and KEY_ENTER are both "Enter" */
            continue;
        klen += (size_t)snprintf(keys + klen, size - klen, "%s%s", klen ? " " : "", entry);
        if (klen >= size) {
            keys[size - 1] = '\0';
            return;
        }
    }
    if (!klen)      /* no key of its own: it runs from the ':' prompt */
        snprintf(keys, size, ":%s", name);
}

/* main.c applies the configuration's bindings before --keys prints them
 * (tui_apply_bindings) and hands the same configuration to tui_run; this
 * is the one configuration both see. */
static const struct qt_config *bindings_config;

static const char *command_name(const char *name)
{
    const struct command *c = command_find(name);

    return c ? c->name : NULL;
}

void tui_apply_bindings(const struct qt_config *cfg)
{
    bindings_config = cfg;
}

void tui_keymap_init(struct keymap *km, const struct qt_config *cfg)
{
    keymap_init(km);
    if (!cfg)
        cfg = bindings_config;
    if (cfg)
        keymap_apply_config(km, cfg, command_name);
}

void tui_print_keys(FILE *out)
{
    const char *group = NULL;
    struct keymap km;
    size_t i;

    tui_keymap_init(&km, NULL);

    for (i = 0; i < ncommands; i++) {
        const struct command *c = &commands[i];
        char keys[96];

        if (!group || strcmp(group, c->group) != 0) {
            group = c->group;
            fprintf(out, "| **%s** | | |\n", group);
        }
        char help[200];

        keys_of(&km, c->name, keys, sizeof(keys));
        command_help(c, help, sizeof(help));
        fprintf(out, "| %s | `%s` | %s%s |\n", keys, c->name, help,
                c->flags & CMD_WRITES ? " (root)" : "");
    }
    keymap_free(&km);
}

/* The help text, one line per entry, built once per draw (it is small). */
static size_t help_lines(const struct keymap *km, struct qt_buf *lines, size_t **starts)
{
    const char *group = NULL;
    size_t i, n = 0, cap = 0;

    *starts = NULL;
#define LINE_START()                                                   \
    do {                                                               \
        *starts = xgrow(*starts, &cap, n + 1, sizeof(**starts));       \
        (*starts)[n++] = lines->len;                                   \
    } while (0)
    LINE_START();
    qt_buf_printf(lines, "qtriage keys   (q or Esc closes this help; j/k scroll)");
    qt_buf_putc(lines, '\0');
    for (i = 0; i < ncommands; i++) {
        const struct command *c = &commands[i];
        char keys[96];

        if (!group || strcmp(group, c->group) != 0) {
            group = c->group;
            LINE_START();
            qt_buf_putc(lines, '\0');
            LINE_START();
            qt_buf_printf(lines, "%s", group);
            qt_buf_putc(lines, '\0');
        }
        char help[200];

        keys_of(km, c->name, keys, sizeof(keys));
        command_help(c, help, sizeof(help));
        LINE_START();
        qt_buf_printf(lines, "  %-22s %-16s %s%s", keys, c->name, help,
                      c->flags & CMD_WRITES ? " [root]" : "");
        qt_buf_putc(lines, '\0');
    }
    LINE_START();
    qt_buf_putc(lines, '\0');
    LINE_START();
    qt_buf_printf(lines, "Every command also runs by name: press : and type it (e.g. :flush-site).");
    qt_buf_putc(lines, '\0');
    LINE_START();
    qt_buf_printf(lines, "Filter language: sender:spam.example and age>2d, subject~/viagra/i, "
                         "not queue=hold, size>5M, rcpt:@gmail.com or sasl=bob");
    qt_buf_putc(lines, '\0');
#undef LINE_START
    return n;
}

static void help_draw(struct pane *p)
{
    struct help_pane *hp = (struct help_pane *)p;
    struct app *a = p->app;
    struct qt_buf lines = {0};
    size_t *starts, n = help_lines(&a->keymap, &lines, &starts), i;
    int h = LINES - 3, y;
    WINDOW *w;

    if (h < 1)
        h = 1;
    w = newwin(h, COLS, 1, 0);
    if (hp->top + (size_t)h > n)
        hp->top = n > (size_t)h ? n - (size_t)h : 0;
    for (y = 0, i = hp->top; y < h && i < n; y++, i++) {
        const char *s = lines.data + starts[i];
        bool heading = i == 0 || (s[0] && s[0] != ' ' && i + 1 < n && lines.data[starts[i + 1]] == ' ');

        wmove(w, y, 0);
        draw_text(a, w, s, strlen(s), COLS, heading ? A_BOLD | A_UNDERLINE : A_NORMAL, NULL, 0);
    }
    wnoutrefresh(w);
    delwin(w);
    free(starts);
    qt_buf_free(&lines);
}

unsigned help_open(struct app *a)
{
    struct help_pane *hp = (struct help_pane *)pane_find(a, &help_ops);

    hp->top = 0;
    pane_focus(&hp->pane);
    return R_REDRAW;
}

static unsigned help_move(struct pane *p, long delta)
{
    struct help_pane *hp = (struct help_pane *)p;

    if (delta == PANE_TOP)
        hp->top = 0;
    else if (delta == PANE_BOTTOM)
        hp->top = (size_t)-1 / 2;   /* help_draw clips it */
    else
        hp->top = (long)hp->top + delta < 0 ? 0 : (size_t)((long)hp->top + delta);
    return R_REDRAW;
}

static long help_page(const struct pane *p)
{
    return p->app->list_rows;
}

static unsigned help_close(struct pane *p)
{
    pane_focus_back(p->app);
    return R_REDRAW;
}

/* q closes the help whatever the viewer's q is bound to. */
static bool help_key(struct pane *p, int key, unsigned *reaction)
{
    if (key != 'q')
        return false;
    *reaction = help_close(p);
    return true;
}

static void help_free(struct pane *p)
{
    free(p);
}

/* The help scrolls like the viewer: it takes the viewer's keys. */
static const struct pane_ops help_ops = {
    .name = "help",
    .where = "the help",
    .context = CTX_HELP,
    .keys = CTX_VIEWER,
    .flags = PANE_FULL_SCREEN,
    .draw = help_draw,
    .move_by = help_move,
    .page = help_page,
    .close = help_close,
    .key = help_key,
    .free = help_free,
};

struct pane *help_pane_new(struct app *a)
{
    struct help_pane *hp = xcalloc(1, sizeof(*hp));

    hp->pane.ops = &help_ops;
    hp->pane.app = a;
    return &hp->pane;
}
