/* The instance picker (postmulti -l). */
#ifndef QTRIAGE_TUI_PICKER_H
#define QTRIAGE_TUI_PICKER_H

#include "qtriage/instances.h"

/* Let the admin choose (curses is up): the chosen config_dir (malloc'd),
 * or NULL when the admin quits. */
char *picker_run(const struct qt_instances *list);

#endif
