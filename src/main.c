/* qtriage: browse and triage a Postfix mail queue. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/open.h"
#include "qtriage/actions.h"
#include "qtriage/config.h"
#include "qtriage/text.h"
#include "qtriage/trust.h"
#include "tui/tui.h"
#include "qtriage/util.h"
#include "version.h"

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

/* The interactive view's options from the command line. */
static void view_to_options(const struct cli_view_args *view, const struct cli_common *common,
                            struct tui_options *tui)
{
    tui->config_dir = common->config_dir;
    tui->backend = (enum qt_backend_kind)common->backend;
    tui->filter = common->filter;
    tui->maillog = common->maillog;
    tui->backup_dir = common->backup_dir;
    tui->sort = view->sort;
    tui->columns = view->columns;
    tui->refresh_ms = (int)(view->refresh * 1000);
    tui->confirm_all = view->confirm_all;
    tui->no_mouse = view->no_mouse;
}

/* What the interactive view's own options print instead of opening it;
 * -1 when none was given. */
static int print_and_exit(const struct cli_view_args *view)
{
    if (view->version) {
        cli_print_version(stdout);
        return 0;
    }
    if (view->man_commands) {
        cli_man_commands(stdout);
        return 0;
    }
    if (view->completion) {
        if (cli_completion(view->completion, stdout))
            return 0;
        fprintf(stderr, "qtriage: no completion for the shell \"%s\" (bash, zsh)\n",
                view->completion);
        return 2;
    }
    return -1;
}

static void environment_warning(const char *name, const char *value, const char *why)
{
    struct qt_buf clean = {0};

    qt_text_sanitize(&clean, value, strlen(value));
    fprintf(stderr, "qtriage: ignoring %s=%s: %s\n", name, clean.data ? clean.data : "", why);
    qt_buf_free(&clean);
}

int main(int argc, char **argv)
{
    struct cli_common common = {0};
    struct cli_view_args view = {0};
    struct cli_call call;
    struct tui_options tui = {0};
    char *list_argv[] = {"list", NULL};
    char *demo_config = NULL;
    struct qt_config cfg;
    char *config_problem = NULL;
    int status;

    /* Before anything reads them (ncurses at the first screen). */
    qt_trust_scrub_environment(environment_warning);
    if ((status = cli_parse(argc, argv, &common, &view, &call)) >= 0)
        return status;
    if (!call.command && (status = print_and_exit(&view)) >= 0) {
        cli_call_free(&call);
        return status;
    }
    view_to_options(&view, &common, &tui);
    /* The command line overrides the file: it was read first, above, and
     * config_to_options() fills only what it left unset. */
    load_config(&cfg, common.config_file, common.no_config, &config_problem);
    config_to_options(&cfg, &tui, &common);
    common.config = &cfg;
    tui.config_problem = config_problem;
    if (!call.command && view.keys) {
        tui_print_keys(stdout);
        status = 0;
        goto out;
    }
    if (common.demo_dir) {
        if (common.config_dir) {
            fprintf(stderr, "qtriage: --demo and -c exclude each other\n");
            status = 2;
            goto out;
        }
        demo_config = cli_demo_setup(common.demo_dir);
        if (!demo_config) {
            status = 1;
            goto out;
        }
        common.config_dir = demo_config;
        tui.config_dir = demo_config;
        tui.demo_dir = common.demo_dir;
    }
    cli_output_init();
    if (call.command) {
        status = call.command->run(&call);
    } else if (!tui_scripted() && (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO))) {
        struct cli_list_args list = {0};
        struct cli_call listing = {cli_command_find("list"), &common, &list, 1, list_argv, 0, 0};

        status = cli_list(&listing);
    } else if (common.hosts) {
        struct qt_config fleet_file;
        struct qt_fleet_spec spec;

        if (cli_fleet_spec(&common, &spec, &fleet_file)) {
            tui.fleet = &spec;
            status = tui_run(&tui);
        } else {
            status = 2;
        }
        free((void *)spec.hosts);
        qt_config_free(&fleet_file);
    } else {
        status = tui_run(&tui);
    }
out:
    cli_call_free(&call);
    free(demo_config);
    qt_config_free(&cfg);
    free(config_problem);
    return status;
}
