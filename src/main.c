/* qtriage: browse and triage a Postfix mail queue. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "qtriage/actions.h"
#include "tui/tui.h"
#include "version.h"

#define DEFAULT_DEMO_DIR "/tmp/qtriage-demo"

void cli_usage(FILE *out)
{
    fputs("usage: qtriage [-c CONFIG_DIR] [--backend spool|postqueue] [TUI OPTIONS]\n"
          "       qtriage [-c CONFIG_DIR] [--backend spool|postqueue] COMMAND [ARGS]\n"
          "\n"
          "Without a command, qtriage opens the interactive queue view (press ? in it\n"
          "for the keys); when standard output is not a terminal it lists the queue.\n"
          "\n"
          "commands:\n"
          "  list [--queue Q] [--filter EXPR] [--json|--ids|--format FMT] [--stats]\n"
          "                              one line (or JSON object, or ID) per message;\n"
          "                              --stats: memory figures on stderr\n"
          "                              FMT fields: %i id, %q queue, %s sender, %r\n"
          "                              recipients, %S subject, %z size (bytes), %a age,\n"
          "                              %R delay reason, %f From, %c client, %% a %;\n"
          "                              \\t a tab; control characters never printed\n"
          "  show [--decoded|--raw|--bytes] ID\n"
          "                              the message as the viewer shows it; --bytes:\n"
          "                              exactly what postcat -q prints\n"
          "  show --log [--maillog FILE] ID\n"
          "                              the mail-log lines about the message\n"
          "  export --mbox FILE|--dir DIR (--filter EXPR | ID...|-)\n"
          "                              save messages as RFC 822 with their envelope\n"
          "                              (mboxrd, or DIR/ID.eml; never overwrites)\n"
          "  hold ID...|-                put messages on hold          (postsuper -h)\n"
          "  release ID...|-             release held messages         (postsuper -H)\n"
          "  requeue ID...|-             requeue messages              (postsuper -r)\n"
          "  delete ID...|-              delete messages               (postsuper -d)\n"
          "  expire ID...|-              force-expire messages         (postsuper -e)\n"
          "  deliver ID...|-             attempt delivery now          (postqueue -i)\n"
          "  flush                       flush the whole queue         (postqueue -f)\n"
          "  flush-site SITE             flush mail for one site       (postqueue -s)\n"
          "  stats [--by KEY] [--top N] [--json] [--filter EXPR] [--queue Q]\n"
          "                              top groups by count and size; KEY: sender\n"
          "                              sender_domain sasl client client_name domain\n"
          "                              subject reason class; and the queue's settings\n"
          "  shape [-s] [-p] [-l] [-t MIN] [-b N] [-m N] [-n N] [-w N] [QUEUE...]\n"
          "                              qshape's domain x age table (same output)\n"
          "  check --warn N --crit M [--queue Q] [--age DURATION] [--filter EXPR]\n"
          "                              monitoring plugin: exit 0 OK, 1 WARNING (more\n"
          "                              than N), 2 CRITICAL (more than M), 3 UNKNOWN"
          "\n"
          "'-' reads queue IDs from standard input, one or more per line.\n"
          "Actions also take --filter EXPR instead of IDs (then --yes, or a y at the\n"
          "terminal, is needed), --dry-run (print what would be done), and delete\n"
          "takes --backup-dir DIR: export first, delete only what was exported.\n"
          "  -c DIR            use the Postfix instance whose main.cf is in DIR\n"
          "  --backend B       spool (read queue files; root), postqueue (read-only), auto\n"
          "  --version         print the version\n"
          "  --keys            print the interactive view's keys (a Markdown table)\n"
          "TUI options:\n"
          "  --demo[=DIR]      open a throwaway demo Postfix queue (default " DEFAULT_DEMO_DIR
          "),\n"
          "                    creating it and filling it with a realistic flood first\n"
          "  --filter EXPR     start with this filter (the filter bar's language)\n"
          "  --sort COL        sort by COL (-COL: reversed): id queue age retry size sender\n"
          "                    rcpt subject reason client sasl helo\n"
          "  --columns LIST    columns to show, e.g. id,age,size,sender,rcpt,subject\n"
          "  --refresh SEC     rescan the queue every SEC seconds (default 2)\n"
          "  --confirm-all     ask before every action, not only delete and flush\n"
          "  --no-mouse        leave the mouse to the terminal\n"
          "  --maillog FILE    the mail log that message histories (l) come from (default:\n"
          "                    maillog_file, else /var/log/mail.log and the like)\n"
          "  --backup-dir DIR  delete exports the messages to DIR/ID.eml first and\n"
          "                    deletes only those exported\n",
          out);
}

int main(int argc, char **argv)
{
    enum {
        OPT_DEMO = 256, OPT_FILTER, OPT_SORT, OPT_COLUMNS, OPT_REFRESH, OPT_CONFIRM_ALL,
        OPT_NO_MOUSE, OPT_KEYS, OPT_MAILLOG, OPT_BACKUP_DIR,
    };
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"backend", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"demo", optional_argument, NULL, OPT_DEMO},
        {"filter", required_argument, NULL, OPT_FILTER},
        {"sort", required_argument, NULL, OPT_SORT},
        {"columns", required_argument, NULL, OPT_COLUMNS},
        {"refresh", required_argument, NULL, OPT_REFRESH},
        {"confirm-all", no_argument, NULL, OPT_CONFIRM_ALL},
        {"no-mouse", no_argument, NULL, OPT_NO_MOUSE},
        {"keys", no_argument, NULL, OPT_KEYS},
        {"maillog", required_argument, NULL, OPT_MAILLOG},
        {"backup-dir", required_argument, NULL, OPT_BACKUP_DIR},
        {NULL, 0, NULL, 0},
    };
    struct cli_common common = {0};
    struct tui_options tui = {0};
    enum qt_action a;
    char *list_argv[] = {"list", NULL};
    char *demo_config = NULL;
    const char *demo_dir = NULL;
    int c, status;

    while ((c = getopt_long(argc, argv, "+c:b:hV", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            common.config_dir = optarg;
            break;
        case 'b':
            common.backend = optarg;
            break;
        case 'h':
            cli_usage(stdout);
            return 0;
        case 'V':
            printf("qtriage %s\n", QTRIAGE_VERSION);
            return 0;
        case OPT_DEMO:
            demo_dir = optarg ? optarg : DEFAULT_DEMO_DIR;
            break;
        case OPT_FILTER:
            tui.filter = optarg;
            break;
        case OPT_SORT:
            tui.sort = optarg;
            break;
        case OPT_COLUMNS:
            tui.columns = optarg;
            break;
        case OPT_REFRESH: {
            char *end;
            double secs = strtod(optarg, &end);

            if (*end || secs < 0.2 || secs > 3600) {
                fprintf(stderr, "qtriage: --refresh wants seconds between 0.2 and 3600\n");
                return 2;
            }
            tui.refresh_ms = (int)(secs * 1000);
            break;
        }
        case OPT_CONFIRM_ALL:
            tui.confirm_all = true;
            break;
        case OPT_NO_MOUSE:
            tui.no_mouse = true;
            break;
        case OPT_MAILLOG:
            tui.maillog = optarg;
            break;
        case OPT_BACKUP_DIR:
            tui.backup_dir = optarg;
            break;
        case OPT_KEYS:
            tui_print_keys(stdout);
            return 0;
        default:
            cli_usage(stderr);
            return 2;
        }
    }
    argc -= optind;
    argv += optind;
    if (demo_dir) {
        if (common.config_dir) {
            fprintf(stderr, "qtriage: --demo and -c exclude each other\n");
            return 2;
        }
        demo_config = cli_demo_setup(demo_dir);
        if (!demo_config)
            return 1;
        common.config_dir = demo_config;
        tui.demo_dir = demo_dir;
    }
    if (argc == 0) {
        if (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO)) {
            status = cli_list(1, list_argv, &common);
        } else {
            tui.config_dir = common.config_dir;
            tui.backend = QT_BACKEND_AUTO;
            if (common.backend && strcmp(common.backend, "spool") == 0)
                tui.backend = QT_BACKEND_SPOOL;
            else if (common.backend && strcmp(common.backend, "postqueue") == 0)
                tui.backend = QT_BACKEND_POSTQUEUE;
            else if (common.backend && strcmp(common.backend, "auto") != 0) {
                fprintf(stderr, "qtriage: unknown backend \"%s\" (spool, postqueue or auto)\n",
                        common.backend);
                free(demo_config);
                return 2;
            }
            status = tui_run(&tui);
        }
    } else if (strcmp(argv[0], "list") == 0) {
        status = cli_list(argc, argv, &common);
    } else if (strcmp(argv[0], "show") == 0) {
        status = cli_show(argc, argv, &common);
    } else if (strcmp(argv[0], "export") == 0) {
        status = cli_export(argc, argv, &common);
    } else if (strcmp(argv[0], "stats") == 0) {
        status = cli_stats(argc, argv, &common);
    } else if (strcmp(argv[0], "shape") == 0) {
        status = cli_shape(argc, argv, &common);
    } else if (strcmp(argv[0], "check") == 0) {
        status = cli_check(argc, argv, &common);
    } else if (qt_action_from_name(argv[0], &a)) {
        status = cli_action(argc, argv, &common);
    } else {
        fprintf(stderr, "qtriage: unknown command \"%s\"\n", argv[0]);
        cli_usage(stderr);
        status = 2;
    }
    free(demo_config);
    return status;
}
