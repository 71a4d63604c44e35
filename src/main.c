/* qtriage: browse and triage a Postfix mail queue. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "qtriage/actions.h"
#include "version.h"

void cli_usage(FILE *out)
{
    fputs("usage: qtriage [-c CONFIG_DIR] [--backend spool|postqueue] COMMAND [ARGS]\n"
          "\n"
          "commands:\n"
          "  list [--queue Q] [--json] [--stats]\n"
          "                              one line (or JSON object) per message;\n"
          "                              --stats: memory figures on stderr\n"
          "  hold ID...|-                put messages on hold          (postsuper -h)\n"
          "  release ID...|-             release held messages         (postsuper -H)\n"
          "  requeue ID...|-             requeue messages              (postsuper -r)\n"
          "  delete ID...|-              delete messages               (postsuper -d)\n"
          "  expire ID...|-              force-expire messages         (postsuper -e)\n"
          "  deliver ID...|-             attempt delivery now          (postqueue -i)\n"
          "  flush                       flush the whole queue         (postqueue -f)\n"
          "  flush-site SITE             flush mail for one site       (postqueue -s)\n"
          "\n"
          "'-' reads queue IDs from standard input, one or more per line.\n"
          "Without a command, qtriage lists the queue.\n"
          "  -c DIR       use the Postfix instance whose main.cf is in DIR\n"
          "  --backend B  spool (read queue files; root), postqueue (read-only), auto\n"
          "  --version    print the version\n",
          out);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"backend", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct cli_common common = {0};
    enum qt_action a;
    char *list_argv[] = {"list", NULL};
    int c;

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
        default:
            cli_usage(stderr);
            return 2;
        }
    }
    argc -= optind;
    argv += optind;
    if (argc == 0)
        return cli_list(1, list_argv, &common);
    if (strcmp(argv[0], "list") == 0)
        return cli_list(argc, argv, &common);
    if (qt_action_from_name(argv[0], &a))
        return cli_action(argc, argv, &common);
    fprintf(stderr, "qtriage: unknown command \"%s\"\n", argv[0]);
    cli_usage(stderr);
    return 2;
}
