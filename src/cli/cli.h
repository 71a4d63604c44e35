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
/* Append `s` as a JSON string holding the sanitised text (qtriage/text.h):
 * markers are written as \ufffd. */
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

/* Before any command: SIGPIPE ignored, standard output blocking (its
 * flags are given back at exit). */
void cli_output_init(void);
/* fwrite to standard output, keeping the errno of a failure for
 * cli_output_finish(). */
size_t cli_write(const void *data, size_t len);
/* Flush standard output.  A reader that went away (| head) is the normal
 * end of the output: 0, nothing said.  Another write error is said on
 * stderr: 3. */
int cli_output_finish(void);

#endif
