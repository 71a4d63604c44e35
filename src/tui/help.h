/* The help screen, generated from the command and key tables. */
#ifndef QTRIAGE_TUI_HELP_H
#define QTRIAGE_TUI_HELP_H

struct app;
struct keymap;
struct qt_config;

unsigned help_open(struct app *a);
/* The default key map with the configuration's bindings (cfg NULL: those
 * main.c applied with tui_apply_bindings). */
void tui_keymap_init(struct keymap *km, const struct qt_config *cfg);

#endif
