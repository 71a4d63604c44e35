/* Acting on messages: the tagged ones, else the current one. */
#ifndef QTRIAGE_TUI_BULK_H
#define QTRIAGE_TUI_BULK_H

#include "qtriage/actions.h"

struct app;

/* What an open confirmation or directory bar will act on. */
struct bulk_state {
    enum qt_action pending_action;
    char *pending_site;         /* flush-site: the site asked for */
    char *export_dir;           /* the last directory exported to */
};

/* Run `act` on the thread, after a confirmation when its descriptor (or
 * --confirm-all) asks for one. */
unsigned bulk_request(struct app *a, enum qt_action act);
/* Ask for the site, then flush it. */
unsigned bulk_request_flush_site(struct app *a);
/* Ask for a directory, then export the messages there as ID.eml. */
unsigned bulk_request_export(struct app *a);
void bulk_free(struct app *a);

#endif
