/* qtriage show ID: the viewer's text on standard output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "open.h"
#include "qtriage/maillog.h"
#include "qtriage/queue_file.h"
#include "qtriage/render.h"

/* When message `id` arrived, from its queue file; 0 when it is no longer
 * queued (its history is still in the log) or the file says nothing. */
static int64_t cli_arrival_time(const struct qt_spool_layout *l, const char *id)
{
    struct qt_queue_file qf;
    enum qt_queue q;
    char rel[256];
    int64_t t;
    int fd = qt_spool_open_message(l, id, -1, &q, rel, sizeof(rel));

    if (fd < 0)
        return 0;
    qt_queue_file_init(&qf);
    /* A damaged file may still have said when it arrived (0 when not). */
    qt_queue_file_read(&qf, fd, id, q == QT_Q_MAILDROP, NULL);
    t = qf.arrival_sec;
    qt_queue_file_free(&qf);
    close(fd);
    return t;
}

/* qtriage show --log ID: the mail-log lines about ID, oldest first. */
static int show_log(struct cli_queue *cq, const char *id, const char *maillog)
{
    struct qt_error err = {""};
    struct qt_maillog_history h;
    char *path = qt_maillog_locate(cq->layout.postconf, cq->layout.config_dir, maillog, &err);
    size_t i;
    int status = 0;

    if (!path) {
        fprintf(stderr, "qtriage: %s\n", err.msg);
        return 1;
    }
    if (!qt_maillog_history(path, id, cli_arrival_time(&cq->layout, id), (int64_t)time(NULL),
                            NULL, &h, &err)) {
        fprintf(stderr, "qtriage: %s\n", err.msg);
        status = 1;
    }
    for (i = 0; i < h.n && !ferror(stdout); i++)
        puts(h.lines[i]);
    if (cli_output_finish() != 0)
        status = 1;
    if (h.note[0])
        fprintf(stderr, "qtriage: %s\n", h.note);
    qt_maillog_history_free(&h);
    free(path);
    return status;
}

int cli_show(const struct cli_call *call)
{
    static const enum qt_render_mode modes[] = {
        [CLI_SHOW_DECODED] = QT_RENDER_DECODED, [CLI_SHOW_RAW] = QT_RENDER_RAW,
        [CLI_SHOW_BYTES] = QT_RENDER_RAW_BYTES,
    };
    const struct cli_show_args *a = call->args;
    struct cli_common *common = call->common;
    enum qt_render_mode mode = modes[a->mode];
    struct cli_queue cq;
    struct qt_error err = {""};
    struct qt_render *r;
    struct qt_render_line lines[256];
    size_t n, i;
    int status = 0;
    bool log = a->log;
    const char *maillog = common->maillog;
    const char *id = call->argv[1];

    if (call->argc != 2)
        return cli_usage_error(call->command, "give one queue ID (qtriage show --help)");
    if (!qt_queue_id_valid(id)) {
        fprintf(stderr, "qtriage: invalid queue ID \"%.64s\"\n", id);
        return 2;
    }
    /* --bytes is the queue file's content byte for byte, for a pipe or a
     * file (| xxd, > copy): on a terminal, the escape sequences any sender
     * may put in a message would be obeyed. */
    if (mode == QT_RENDER_RAW_BYTES && !a->force && isatty(STDOUT_FILENO)) {
        fprintf(stderr, "qtriage: show --bytes: standard output is a terminal, and the message's "
                        "bytes are written as they are (escape sequences included); pipe it "
                        "(| xxd, | less) or add --force; --raw shows it made safe\n");
        return 2;
    }
    if (!cli_open_queue(&cq, common, true))
        return 1;
    if (log) {
        status = show_log(&cq, id, maillog);
        cli_close_queue(&cq);
        return status;
    }
    r = qt_render_open_queued(&cq.layout, id, -1, mode, &err);
    if (!r) {
        fprintf(stderr, "qtriage: %s\n", err.msg);
        cli_close_queue(&cq);
        return 1;
    }
    while (!ferror(stdout) && (n = qt_render_lines(r, lines, 256)) > 0) {
        for (i = 0; i < n; i++) {
            cli_write(lines[i].text, lines[i].len);
            if (!lines[i].continued)
                cli_write("\n", 1);
        }
    }
    qt_render_close(r);
    cli_close_queue(&cq);
    if (cli_output_finish() != 0)
        status = 1;
    return status;
}
