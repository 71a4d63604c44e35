/* Non-interactive sub-commands. */
#ifndef QTRIAGE_CLI_H
#define QTRIAGE_CLI_H

#include <stdio.h>

#include "qtriage/util.h"

struct cli_common {
    const char *config_dir;     /* -c DIR, or NULL */
    const char *backend;        /* --backend spool|postqueue|auto */
    const char *backup_dir;     /* the configuration's backup_dir; NULL: none */
};

int cli_list(int argc, char **argv, struct cli_common *common);
int cli_action(int argc, char **argv, struct cli_common *common);
int cli_export(int argc, char **argv, struct cli_common *common);
void cli_usage(FILE *out);
int cli_stats(int argc, char **argv, struct cli_common *common);
int cli_shape(int argc, char **argv, struct cli_common *common);
int cli_check(int argc, char **argv, struct cli_common *common);
/* Append `s` as a JSON string: bytes that are not UTF-8 become U+FFFD. */
void cli_json_string(struct qt_buf *out, const char *s);
/* "qtriage instances": the Postfix instances postmulti -l lists. */
int cli_instances(int argc, char **argv, struct cli_common *common);
/* "qtriage metrics": Prometheus text exposition (node_exporter textfile). */
int cli_metrics(int argc, char **argv, struct cli_common *common);
/* "qtriage --version": version, git describe, the libraries' versions. */
void cli_print_version(FILE *out);
int cli_show(int argc, char **argv, struct cli_common *common);
/* Set up (or restart) the demo instance in `dir`; returns its config
 * directory (malloc'd) or NULL after saying why on stderr. */
char *cli_demo_setup(const char *dir);

#endif
