/* "qtriage agent": the remote side of a fleet, started by ssh with a fixed
 * command line; speaks doc/fleet-protocol.md on standard input and output. */
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "qtriage/fleet.h"
#include "version.h"

int cli_agent(const struct cli_call *call)
{
    struct qt_spool_layout layout = {0};
    struct qt_error err = {""};
    char fatal[600] = "";
    int status;

    if (call->argc > 1) {
        fprintf(stderr, "qtriage: agent: unexpected argument \"%.64s\"\n", call->argv[1]);
        return 2;
    }
    if (isatty(STDOUT_FILENO))
        fprintf(stderr, "qtriage: agent: speaks the fleet protocol on standard input and "
                        "output (doc/fleet-protocol.md); ssh runs it for qtriage --hosts\n");
    /* The refusal goes to the client, which shows it as the host's state. */
    if (!qt_spool_layout_load(&layout, call->common->config_dir, &err))
        snprintf(fatal, sizeof(fatal), "cannot read the Postfix configuration: %s", err.msg);
    else if (access(layout.queue_directory, R_OK | X_OK) != 0)
        snprintf(fatal, sizeof(fatal),
                 "cannot read the queue directory %s as this user (sudo=yes runs the agent "
                 "with sudo -n)", layout.queue_directory);
    status = qt_agent_serve(&layout, fatal[0] ? fatal : NULL, STDIN_FILENO, STDOUT_FILENO,
                            QTRIAGE_VERSION);
    qt_spool_layout_free(&layout);
    return status;
}
