/* qtriage: browse and triage a Postfix mail queue. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "qtriage/actions.h"
#include "qtriage/config.h"
#include "tui/tui.h"
#include "qtriage/util.h"
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
          "  show [--decoded|--raw|--bytes [--force]] ID\n"
          "                              the message as the viewer shows it; --bytes:\n"
          "                              exactly what postcat -q prints (refused on a\n"
          "                              terminal unless --force)\n"
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
          "                              than N), 2 CRITICAL (more than M), 3 UNKNOWN\n"
          "  metrics [--output FILE] [--top N]\n"
          "                              Prometheus text format (node_exporter textfile);\n"
          "                              --output: written atomically (temp file, rename)\n"
          "  instances                   the Postfix instances postmulti -l lists\n"
          "\n"
          "'-' reads queue IDs from standard input, one or more per line.\n"
          "Actions also take --filter EXPR instead of IDs (then --yes, or a y at the\n"
          "terminal, is needed), --dry-run (print what would be done), and delete\n"
          "takes --backup-dir DIR: export first, delete only what was exported.\n"
          "COMMAND --help prints that command's usage.\n"
          "options:\n"
          "  -c DIR            use the Postfix instance whose main.cf is in DIR\n"
          "  --backend B       spool (read queue files; root), postqueue (read-only), auto\n"
          "  --config-file FILE  read this configuration file, not /etc/qtriage.conf\n"
          "                    and ~/.config/qtriage/config\n"
          "  --no-config       read no configuration file\n"
          "  --help            print this help\n"
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

/* "qtriage COMMAND --help": the command's entries of cli_usage(), so the
 * two never disagree.  Returns false when cli_usage() has no such command. */
static bool command_usage(const char *name, FILE *out)
{
    char *text = NULL, *line, *save = NULL;
    size_t size = 0, nlen = strlen(name);
    int found = 0;
    bool in_entry = false;
    FILE *mem = open_memstream(&text, &size);

    if (!mem)
        return false;
    cli_usage(mem);
    fclose(mem);
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        bool entry = line[0] == ' ' && line[1] == ' ' && line[2] != ' ' && line[2] != '-';
        char *desc;

        if (!entry && strncmp(line, "    ", 4) != 0) {
            in_entry = false;
            continue;
        }
        if (!entry) {
            if (in_entry)
                fprintf(out, "  %s\n", line + strspn(line, " "));
            continue;
        }
        in_entry = strncmp(line + 2, name, nlen) == 0 &&
                   (line[2 + nlen] == ' ' || line[2 + nlen] == '\0');
        if (!in_entry)
            continue;
        /* "  hold ID...|-      put messages on hold   (postsuper -h)" */
        desc = strstr(line + 2, "  ");
        if (desc)
            *desc++ = '\0';
        fprintf(out, "%s qtriage [-c CONFIG_DIR] %s\n", found++ ? "      " : "usage:", line + 2);
        if (desc && desc[strspn(desc, " ")]) {
            char *p, *q;

            /* Squeeze the table's padding to single blanks. */
            for (p = q = desc + strspn(desc, " "); *p; p++)
                if (!(*p == ' ' && p[1] == ' '))
                    *q++ = *p;
            *q = '\0';
            fprintf(out, "  %s\n", desc + strspn(desc, " "));
        }
    }
    free(text);
    return found > 0;
}

/* --help among a command's arguments (before "--"); -h right after it. */
static bool wants_command_help(int argc, char **argv)
{
    int i;

    if (argc > 1 && strcmp(argv[1], "-h") == 0)
        return true;
    for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--help") == 0)
            return true;
    return false;
}

/* Read the configuration files (or the one named), print every warning on
 * stderr, and put the first into *problem for the TUI to show. */
static void load_config(struct qt_config *cfg, const char *file, bool none, char **problem)
{
    size_t i;

    qt_config_init(cfg);
    cfg->is_command = tui_command_exists;
    if (file) {
        if (qt_config_read_file(cfg, file) == 0)
            qt_config_warn(cfg, file, 0, "no such file");
    } else if (!none) {
        qt_config_load_default(cfg, getenv("HOME"), getenv("XDG_CONFIG_HOME"));
    }
    tui_apply_bindings(cfg);
    for (i = 0; i < cfg->nwarnings; i++)
        fprintf(stderr, "qtriage: %s\n", cfg->warnings[i]);
    if (cfg->nwarnings)
        *problem = xasprintf("configuration: %s%s", cfg->warnings[0],
                             cfg->nwarnings > 1 ? " (and more: see standard error)" : "");
}

/* The configuration's settings where the command line left them unset. */
static void config_to_options(const struct qt_config *cfg, struct tui_options *tui,
                              struct cli_common *common)
{
    if (!tui->columns)
        tui->columns = cfg->columns;
    if (!tui->sort)
        tui->sort = cfg->sort;
    if (!tui->filter)
        tui->filter = cfg->filter;
    if (!tui->refresh_ms)
        tui->refresh_ms = cfg->refresh_ms;
    if (cfg->confirm == QT_CONFIRM_ALL)
        tui->confirm_all = true;
    if (cfg->mouse == 0)
        tui->no_mouse = true;
    if (!tui->backup_dir)
        tui->backup_dir = cfg->backup_dir;
    if (!common->backup_dir)
        common->backup_dir = tui->backup_dir;
    tui->config = cfg;
}

int main(int argc, char **argv)
{
    enum {
        OPT_DEMO = 256, OPT_FILTER, OPT_SORT, OPT_COLUMNS, OPT_REFRESH, OPT_CONFIRM_ALL,
        OPT_NO_MOUSE, OPT_KEYS, OPT_CONFIG_FILE, OPT_NO_CONFIG, OPT_MAILLOG, OPT_BACKUP_DIR,
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
        {"config-file", required_argument, NULL, OPT_CONFIG_FILE},
        {"no-config", no_argument, NULL, OPT_NO_CONFIG},
        {"maillog", required_argument, NULL, OPT_MAILLOG},
        {"backup-dir", required_argument, NULL, OPT_BACKUP_DIR},
        {NULL, 0, NULL, 0},
    };
    struct cli_common common = {0};
    struct tui_options tui = {0};
    enum qt_action a;
    char *list_argv[] = {"list", NULL};
    char *demo_config = NULL;
    const char *demo_dir = NULL, *config_file = NULL;
    bool no_config = false, print_keys = false;
    struct qt_config cfg;
    char *config_problem = NULL;
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
            cli_print_version(stdout);
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
            print_keys = true;
            break;
        case OPT_CONFIG_FILE:
            config_file = optarg;
            break;
        case OPT_NO_CONFIG:
            no_config = true;
            break;
        default:
            cli_usage(stderr);
            return 2;
        }
    }
    argc -= optind;
    argv += optind;
    if (argc > 0 && wants_command_help(argc, argv)) {
        if (command_usage(argv[0], stdout))
            return 0;
        fprintf(stderr, "qtriage: unknown command \"%s\"\n", argv[0]);
        cli_usage(stderr);
        return 2;
    }
    /* The command line overrides the file: it was read first, above, and
     * config_to_options() fills only what it left unset. */
    load_config(&cfg, config_file, no_config, &config_problem);
    config_to_options(&cfg, &tui, &common);
    tui.config_problem = config_problem;
    if (print_keys) {
        tui_print_keys(stdout);
        qt_config_free(&cfg);
        free(config_problem);
        return 0;
    }
    if (demo_dir) {
        if (common.config_dir) {
            fprintf(stderr, "qtriage: --demo and -c exclude each other\n");
            return 2;
        }
        demo_config = cli_demo_setup(demo_dir);
        if (!demo_config) {
            status = 1;
            goto out;
        }
        common.config_dir = demo_config;
        tui.demo_dir = demo_dir;
    }
    cli_output_init();
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
                status = 2;
                goto out;
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
    } else if (strcmp(argv[0], "metrics") == 0) {
        status = cli_metrics(argc, argv, &common);
    } else if (strcmp(argv[0], "instances") == 0) {
        status = cli_instances(argc, argv, &common);
    } else if (qt_action_from_name(argv[0], &a)) {
        status = cli_action(argc, argv, &common);
    } else {
        fprintf(stderr, "qtriage: unknown command \"%s\"\n", argv[0]);
        cli_usage(stderr);
        status = 2;
    }
out:
    free(demo_config);
    qt_config_free(&cfg);
    free(config_problem);
    return status;
}
