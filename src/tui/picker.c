/* The instance picker: with several Postfix instances (postmulti -l) and
 * no -c, the admin chooses which queue to open before anything is read. */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "qtriage/instances.h"
#include "qtriage/util.h"

static void picker_draw(const struct qt_instances *list, size_t cur, const char *note)
{
    size_t i;
    int y = 3;

    erase();
    attrset(A_BOLD);
    mvaddnstr(0, 0, "qtriage: this host has several Postfix instances; choose one", COLS);
    attrset(A_NORMAL);
    mvaddnstr(1, 0, "j/k or Up/Down move, Enter opens, q quits", COLS);
    attrset(A_BOLD | A_UNDERLINE);
    mvprintw(2, 0, "  %-20.20s %-15.15s %-7s %s", "NAME", "GROUP", "ENABLED", "CONFIG_DIR");
    attrset(A_NORMAL);
    for (i = 0; i < list->n && y < LINES - 1; i++, y++) {
        const struct qt_instance *in = &list->v[i];

        /* The fields passed the core's checks: printable UTF-8, no controls. */
        attrset(i == cur ? A_REVERSE | A_BOLD : A_NORMAL);
        move(y, 0);
        clrtoeol();
        mvprintw(y, 0, "%c %-20.20s %-15.15s %-7s %.*s", i == cur ? '>' : ' ', in->name,
                 in->group, in->enabled ? "yes" : "no", COLS > 50 ? COLS - 50 : 1,
                 in->config_dir);
    }
    attrset(A_NORMAL);
    if (note)
        mvaddnstr(LINES - 1, 0, note, COLS);
    refresh();
}

char *picker_run(const struct qt_instances *list)
{
    size_t cur = 0;
    char *chosen = NULL;

    for (;;) {
        int k;

        picker_draw(list, cur, NULL);
        k = getch();
        if (k == 'q' || k == 'Q' || k == 27 || k == ERR)
            break;
        if ((k == 'j' || k == KEY_DOWN) && cur + 1 < list->n)
            cur++;
        else if ((k == 'k' || k == KEY_UP) && cur > 0)
            cur--;
        else if (k == '\n' || k == '\r' || k == KEY_ENTER) {
            chosen = xstrdup(list->v[cur].config_dir);
            break;
        }
    }
    erase();
    refresh();
    return chosen;
}
