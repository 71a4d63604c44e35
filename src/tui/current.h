/* What the panes share about the admin's choice of messages (in the
 * spirit of neomutt's IndexSharedData): the message under the list's
 * cursor, by queue ID, and the tags.  The list pane keeps `id` up to
 * date; the viewer, the statistics and the actions read it. */
#ifndef QTRIAGE_TUI_CURRENT_H
#define QTRIAGE_TUI_CURRENT_H

#include "qtriage/selection.h"

struct current {
    char id[64];                /* "" when the list is empty */
    int queue;                  /* where it was last seen (enum qt_queue) */
    struct qt_selection tags;
};

#endif
