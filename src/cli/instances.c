/* "qtriage instances": the Postfix instances of this host, as postmulti
 * lists them, in the picker's columns. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "qtriage/instances.h"

int cli_instances(const struct cli_call *call)
{
    struct qt_instances list = {0};
    struct qt_error err = {""};
    size_t i;

    if (call->argc > 1) {
        fprintf(stderr, "qtriage: instances: unexpected argument \"%s\"\n", call->argv[1]);
        return 2;
    }
    if (!qt_instances_list(&list, &err)) {
        fprintf(stderr, "qtriage: instances: %s\n", err.msg);
        return 1;
    }
    printf("%-20s %-15s %-7s %8s %7s %7s %8s %s\n", "NAME", "GROUP", "ENABLED", "DEFERRED",
           "HOLD", "ACTIVE", "INCOMING", "CONFIG_DIR");
    for (i = 0; i < list.n; i++) {
        char cells[4][24];
        struct qt_error cerr = {""};

        if (!qt_instance_count_cells(list.v[i].config_dir, cells, &cerr))
            fprintf(stderr, "qtriage: instances: %s: %s\n", list.v[i].config_dir, cerr.msg);
        printf("%-20s %-15s %-7s %8s %7s %7s %8s %s\n", list.v[i].name, list.v[i].group,
               list.v[i].enabled ? "yes" : "no", cells[0], cells[1], cells[2], cells[3],
               list.v[i].config_dir);
    }
    qt_instances_free(&list);
    return 0;
}
