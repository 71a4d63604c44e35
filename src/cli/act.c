/* qtriage hold|release|requeue|delete|expire|deliver ID...|-
 * and qtriage flush, qtriage flush-site SITE. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "open.h"
#include "qtriage/actions.h"

static void read_ids(FILE *in, struct qt_action_target **t, size_t *n, size_t *cap)
{
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;

    while ((len = getline(&line, &lcap, in)) >= 0) {
        char *p = line, *tok;

        /* Accept one ID per line, or several separated by blanks; ignore
         * postqueue -p markers ('*', '!') pasted along with them. */
        while ((tok = strtok(p, " \t\r\n")) != NULL) {
            size_t tl = strlen(tok);

            p = NULL;
            if (tl > 1 && (tok[tl - 1] == '*' || tok[tl - 1] == '!'))
                tok[tl - 1] = 0;
            *t = xgrow(*t, cap, *n + 1, sizeof(**t));
            (*t)[*n].id = xstrdup(tok);
            (*t)[*n].queue = QT_Q_COUNT;
            (*n)++;
        }
    }
    free(line);
}

int cli_action(int argc, char **argv, struct cli_common *common)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct qt_action_target *t = NULL;
    size_t n = 0, cap = 0, i;
    struct qt_action_result res;
    struct cli_queue cq;
    enum qt_action a;
    const char *site = NULL;
    bool ok;
    int c, rc;

    if (!qt_action_from_name(argv[0], &a)) {
        fprintf(stderr, "qtriage: unknown command \"%s\"\n", argv[0]);
        return 2;
    }
    optind = 1;
    while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            common->config_dir = optarg;
            break;
        case 'h':
            cli_usage(stdout);
            return 0;
        default:
            cli_usage(stderr);
            return 2;
        }
    }
    if (a == QT_ACT_FLUSH_SITE) {
        if (optind + 1 != argc) {
            fprintf(stderr, "qtriage: flush-site needs exactly one site name\n");
            return 2;
        }
        site = argv[optind];
    } else if (a == QT_ACT_FLUSH) {
        if (optind != argc) {
            fprintf(stderr, "qtriage: flush takes no arguments\n");
            return 2;
        }
    } else {
        for (i = (size_t)optind; i < (size_t)argc; i++) {
            if (strcmp(argv[i], "-") == 0) {
                read_ids(stdin, &t, &n, &cap);
                continue;
            }
            t = xgrow(t, &cap, n + 1, sizeof(*t));
            t[n].id = xstrdup(argv[i]);
            t[n].queue = QT_Q_COUNT;
            n++;
        }
        if (n == 0) {
            fprintf(stderr, "qtriage: %s: no queue IDs given (list them, or '-' to read "
                    "them from standard input)\n", argv[0]);
            free(t);
            return 2;
        }
    }
    for (i = 0; i < n; i++)
        if (!qt_queue_id_valid(t[i].id)) {
            fprintf(stderr, "qtriage: %s: invalid queue ID \"%.64s\"; nothing done\n",
                    argv[0], t[i].id);
            rc = 2;
            goto out;
        }
    if (geteuid() != 0) {
        fprintf(stderr, "qtriage: %s: changing the queue needs root (postsuper and "
                "postqueue -i/-f/-s refuse other users); nothing done\n", argv[0]);
        rc = 1;
        goto out;
    }
    if (!cli_open_queue(&cq, common, true)) {
        rc = 3;
        goto out;
    }
    /* Batch by queue, one postsuper per queue, as the TUI does with what it
     * has listed; an ID found nowhere goes to the all-queues pass. */
    for (i = 0; i < n; i++)
        if (!qt_spool_locate(&cq.layout, t[i].id, &t[i].queue))
            t[i].queue = QT_Q_COUNT;
    ok = qt_action_run(&cq.layout, a, t, n, site, &res);
    if (ok)
        printf("%s\n", res.message);
    else
        fprintf(stderr, "qtriage: %s\n", res.message);
    for (i = 0; i < res.ngone; i++)
        printf("gone: %s\n", res.gone[i]);
    for (i = 0; i < res.nskipped; i++)
        printf("not applicable: %s\n", res.skipped[i]);
    rc = ok ? 0 : res.ninvalid ? 2 : 1;
    qt_action_result_free(&res);
    cli_close_queue(&cq);
out:
    for (i = 0; i < n; i++)
        free((char *)t[i].id);
    free(t);
    return rc;
}
