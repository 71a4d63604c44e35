/* Every command of the TUI, declared once: its name (for ':' and the
 * README), its help text, what it needs, and its handler.  Keys map to
 * commands in a separate table, per context; the help screen is generated
 * from both. */
#ifndef QTRIAGE_TUI_COMMANDS_H
#define QTRIAGE_TUI_COMMANDS_H

#include "app.h"

enum {
    NEEDS_WRITE = 1 << 0,       /* refused in read-only mode */
    NEEDS_MESSAGE = 1 << 1,     /* refused when the list is empty */
};

/* Where a key binding applies. */
enum context {
    CTX_ANY,                    /* list and viewer */
    CTX_LIST,
    CTX_VIEWER,
    CTX_HELP,
    CTX_STATS,
};

struct command {
    const char *name;
    const char *group;          /* help section */
    const char *help;
    unsigned flags;
    unsigned (*run)(struct app *a);
};

struct key_binding {
    int key;
    enum context ctx;
    const char *command;        /* a command's name */
};

extern const struct command commands[];
extern const size_t ncommands;
/* The key bindings in force (the defaults changed by tui_apply_bindings). */
const struct key_binding *keymap_get(size_t *n);

/* "j", "Down", "C-d", "PgDn", "Space": a key as the help shows it (and
 * as the configuration file names it). */
void describe_key(int key, char *buf, size_t size);

#endif
