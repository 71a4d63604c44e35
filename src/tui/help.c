/* The help screen, generated from the command and key tables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "commands.h"
#include "qtriage/util.h"

static const char *const ctx_label[] = {"", "list", "viewer", "help", "stats"};

/* "j Down", "q(viewer) Esc": the keys bound to command `name`. */
static void keys_of(const char *name, char *keys, size_t size)
{
    size_t j, klen = 0, nmap;
    const struct key_binding *map = keymap_get(&nmap);

    keys[0] = '\0';
    for (j = 0; j < nmap; j++) {
        const struct key_binding *k = &map[j];
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

void tui_print_keys(FILE *out)
{
    const char *group = NULL;
    size_t i;

    for (i = 0; i < ncommands; i++) {
        const struct command *c = &commands[i];
        char keys[96];

        if (!group || strcmp(group, c->group) != 0) {
            group = c->group;
            fprintf(out, "| **%s** | | |\n", group);
        }
        keys_of(c->name, keys, sizeof(keys));
        fprintf(out, "| %s | `%s` | %s%s |\n", keys, c->name, c->help,
                c->flags & NEEDS_WRITE ? " (root)" : "");
    }
}

/* The help text, one line per entry, built once per draw (it is small). */
static size_t help_lines(struct qt_buf *lines, size_t **starts)
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
        keys_of(c->name, keys, sizeof(keys));
        LINE_START();
        qt_buf_printf(lines, "  %-22s %-16s %s%s", keys, c->name, c->help,
                      c->flags & NEEDS_WRITE ? " [root]" : "");
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

void help_draw(struct app *a)
{
    struct qt_buf lines = {0};
    size_t *starts, n = help_lines(&lines, &starts), i;
    int h = LINES - 3, y;
    WINDOW *w;

    if (h < 1)
        h = 1;
    w = newwin(h, COLS, 1, 0);
    if (a->help_top + (size_t)h > n)
        a->help_top = n > (size_t)h ? n - (size_t)h : 0;
    for (y = 0, i = a->help_top; y < h && i < n; y++, i++) {
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
