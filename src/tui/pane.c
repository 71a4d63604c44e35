/* The panes of the app: finding one by type, and where the focus goes. */
#include "app.h"
#include "pane.h"
#include "qtriage/util.h"

struct pane *pane_find(const struct app *a, const struct pane_ops *ops)
{
    size_t i;

    for (i = 0; i < a->npanes; i++)
        if (a->panes[i]->ops == ops)
            return a->panes[i];
    qt_die("no %s pane", ops->name);
}

bool pane_is_open(const struct pane *p)
{
    return !p->ops->is_open || p->ops->is_open(p);
}

bool pane_has_focus(const struct pane *p)
{
    return p->app->focus == p;
}

void pane_focus(struct pane *p)
{
    p->app->focus = p;
}

void pane_focus_back(struct app *a)
{
    size_t i = a->npanes;

    while (i-- > 0) {
        struct pane *p = a->panes[i];

        if (!(p->ops->flags & PANE_FULL_SCREEN) && pane_is_open(p)) {
            a->focus = p;
            return;
        }
    }
}
