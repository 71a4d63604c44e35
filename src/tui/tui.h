/* The interactive program: what main.c needs to start it. */
#ifndef QTRIAGE_TUI_H
#define QTRIAGE_TUI_H

#include <stdbool.h>
#include <stdio.h>

#include "qtriage/backend.h"
#include "qtriage/config.h"
#include "qtriage/fleet.h"

struct tui_options {
    const char *config_dir;     /* -c DIR, or NULL */
    enum qt_backend_kind backend;
    const char *demo_dir;       /* non-NULL: this is a demo queue, say so */
    const char *columns;        /* "id,age,..."; NULL: the default */
    const char *sort;           /* column name, "-name" for reversed; NULL: age */
    const char *filter;         /* initial filter; NULL: none */
    const char *maillog;        /* mail log for message histories; NULL: find it */
    int refresh_ms;             /* rescan interval; 0: 2000 */
    bool confirm_all;           /* confirm every action, not only delete and flush */
    bool no_mouse;
    const char *backup_dir;     /* copy messages here before deleting them; NULL: none */
    const struct qt_config *config;  /* colours; NULL: none */
    const char *config_problem; /* shown at start: the configuration had bad lines */
    const struct qt_fleet_spec *fleet;  /* --hosts: the fleet (fleet.h); NULL: this host */
};

/* Whether the interactive view has a command of this name (for the
 * configuration's is_command, so unknown ones are reported by line). */
bool tui_command_exists(const char *name);
/* Apply the configuration's key bindings to the key map. */
void tui_apply_bindings(const struct qt_config *cfg);

/* The key table as Markdown rows (the README's table is this output). */
void tui_print_keys(FILE *out);

/* Whether keys come from a script instead of the terminal (QTRIAGE_SCRIPT,
 * src/tui/script.h): the interactive view runs without one. */
bool tui_scripted(void);

/* Runs until the admin quits; returns the exit status. */
int tui_run(const struct tui_options *opt);

#endif
