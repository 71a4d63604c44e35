/* The confirmation of a release, requeue or delivery that may be paced:
 * above QT_PACE_DEFAULT_ABOVE messages (or with --confirm-all) it says how
 * it will go and lets the admin choose: Enter keeps the default, "N/s"
 * sets a rate, "all" sends everything at once, Esc cancels. */
#ifndef QTRIAGE_TUI_PACE_CONFIRM_H
#define QTRIAGE_TUI_PACE_CONFIRM_H

#include <stdbool.h>
#include <stddef.h>

#include "qtriage/actions.h"

struct app;

bool pace_confirm_wanted(const struct app *a, enum qt_action act, size_t n);
/* Copies the targets; the action starts (on the action thread) once
 * answered. */
unsigned pace_confirm_open(struct app *a, enum qt_action act, const struct qt_action_target *t,
                           size_t n);
void pace_confirm_free(struct app *a);

#endif
