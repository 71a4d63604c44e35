/* The instance picker: with several Postfix instances (postmulti -l) and
 * no -c, the admin chooses which queue to open before anything is read. */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "picker.h"
#include "qtriage/instances.h"
#include "qtriage/util.h"

static void picker_draw(const struct qt_instances *list, char (*cells)[4][24], size_t cur)
{
    char row[1300];
    size_t visible = LINES > 4 ? (size_t)LINES - 4 : 1, i;
    int y = 3;

    erase();
    attrset(A_BOLD);
    mvaddnstr(0, 0, "qtriage: this host has several Postfix instances; choose one", COLS);
    attrset(A_NORMAL);
    mvaddnstr(1, 0, "j/k or Up/Down move, Enter opens, q quits", COLS);
    attrset(A_BOLD | A_UNDERLINE);
    snprintf(row, sizeof(row), "  %-20.20s %-15.15s %-7s %8s %7s %7s %8s  %s", "NAME", "GROUP",
             "ENABLED", "DEFERRED", "HOLD", "ACTIVE", "INCOMING", "CONFIG_DIR");
    mvaddnstr(2, 0, row, COLS);
    attrset(A_NORMAL);
    /* Scroll so that the cursor's row is on the screen. */
    for (i = cur >= visible ? cur - visible + 1 : 0; i < list->n && y < 3 + (int)visible;
         i++, y++) {
        const struct qt_instance *in = &list->v[i];

        /* The fields passed the core's checks: printable UTF-8, no controls. */
        attrset(i == cur ? A_REVERSE | A_BOLD : A_NORMAL);
        snprintf(row, sizeof(row), "%c %-20.20s %-15.15s %-7s %8s %7s %7s %8s  %s",
                 i == cur ? '>' : ' ', in->name, in->group, in->enabled ? "yes" : "no",
                 cells[i][0], cells[i][1], cells[i][2], cells[i][3], in->config_dir);
        /* Cut at the screen's edge: a wrapped row would overwrite the next. */
        mvaddnstr(y, 0, row, COLS);
    }
    attrset(A_NORMAL);
    refresh();
}

char *picker_run(const struct qt_instances *list)
{
    size_t cur = 0, i;
    char *chosen = NULL;
    char (*cells)[4][24] = xcalloc(list->n, sizeof(*cells));

    /* Counted once: at most QT_INSTANCE_COUNT_CAP entries a queue. */
    for (i = 0; i < list->n; i++) {
        struct qt_error err = {""};

        qt_instance_count_cells(list->v[i].config_dir, cells[i], &err);
    }
    for (;;) {
        int k;

        picker_draw(list, cells, cur);
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
    free(cells);
    erase();
    refresh();
    return chosen;
}
