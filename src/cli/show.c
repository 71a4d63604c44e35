/* qtriage show ID: the viewer's text on standard output. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "open.h"
#include "qtriage/render.h"

int cli_show(int argc, char **argv, struct cli_common *common)
{
    static const struct option opts[] = {
        {"raw", no_argument, NULL, 'r'},
        {"bytes", no_argument, NULL, 'b'},
        {"decoded", no_argument, NULL, 'd'},
        {NULL, 0, NULL, 0},
    };
    enum qt_render_mode mode = QT_RENDER_DECODED;
    struct cli_queue cq;
    struct qt_error err = {""};
    struct qt_render *r;
    struct qt_render_line lines[256];
    size_t n, i;
    int c, status = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        if (c == 'r')
            mode = QT_RENDER_RAW;
        else if (c == 'b')
            mode = QT_RENDER_RAW_BYTES;
        else if (c == 'd')
            mode = QT_RENDER_DECODED;
        else
            return 2;
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: qtriage show [--decoded|--raw|--bytes] QUEUE_ID\n");
        return 2;
    }
    if (!cli_open_queue(&cq, common, true))
        return 1;
    r = qt_render_open_queued(&cq.layout, argv[optind], -1, mode, &err);
    if (!r) {
        fprintf(stderr, "qtriage: %s\n", err.msg);
        cli_close_queue(&cq);
        return 1;
    }
    while ((n = qt_render_lines(r, lines, 256)) > 0) {
        for (i = 0; i < n; i++) {
            if (fwrite(lines[i].text, 1, lines[i].len, stdout) != lines[i].len ||
                (!lines[i].continued && putchar('\n') == EOF)) {
                status = 1;
                break;
            }
        }
        if (status)
            break;
    }
    qt_render_close(r);
    cli_close_queue(&cq);
    if (fflush(stdout) != 0)
        status = 1;
    return status;
}
