/* Every command of the TUI, declared once: its name (for ':' and the
 * README), its help text, where it applies and what it needs, and its
 * handler.  The preconditions are checked in one place (run_command), so
 * a handler runs only where it makes sense.  Keys map to commands in the
 * key map (keymap.h); the help screen is generated from both. */
#ifndef QTRIAGE_TUI_COMMANDS_H
#define QTRIAGE_TUI_COMMANDS_H

#include <stddef.h>

#include "qtriage/actions.h"

struct app;

/* What a command needs before it runs. */
enum {
    CMD_WRITES = 1 << 0,        /* changes the queue: refused in read-only mode */
    CMD_NEEDS_ROW = 1 << 1,     /* a current message (or, where no row shows, tags) */
    CMD_ACTING = 1 << 2,        /* runs on the action thread: refused while one runs */
    CMD_ACTION = 1 << 3,        /* a core action (`action`); help from its descriptor */
};

struct command {
    const char *name;
    const char *group;          /* help section */
    const char *help;           /* NULL for CMD_ACTION: from the action's descriptor */
    unsigned flags;
    unsigned contexts;          /* CTX_BIT()s where it applies (keymap.h) */
    unsigned (*run)(struct app *a, const struct command *c);
    enum qt_action action;      /* CMD_ACTION */
};

extern const struct command commands[];
extern const size_t ncommands;

const struct command *command_find(const char *name);
/* The help line of `c` ("put on hold (postsuper -h)"). */
void command_help(const struct command *c, char *buf, size_t size);

/* Run the command bound to `key` in the focused pane. */
unsigned commands_dispatch(struct app *a, int key);
unsigned commands_mouse(struct app *a);
/* Run a command by name (the ':' prompt). */
unsigned commands_run_named(struct app *a, const char *name);

#endif
