/* qtriage shape: qshape's table, byte for byte, from the loaded queue. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "qtriage/stats.h"
#include "select.h"

static bool positive(const char *opt, const char *arg, long *out)
{
    if (qt_parse_long(arg, out) && *out > 0 && *out < 1000000)
        return true;
    fprintf(stderr, "qtriage: shape: %s wants a positive number\n", opt);
    return false;
}

int cli_shape(int argc, char **argv, struct cli_common *common)
{
    struct qt_shape_options o;
    struct qt_shape sh;
    struct cli_queue cq;
    struct qt_buf out = {0};
    long n, width = 80, lines = 0;
    char *end;
    time_t now;
    int c;

    qt_shape_options_default(&o);
    /* qshape's own letters; -c is qtriage's (before the command). */
    optind = 1;
    while ((c = getopt(argc, argv, "+spt:b:n:m:lw:h")) != -1) {
        switch (c) {
        case 's':
            o.sender = true;
            break;
        case 'p':
            o.parents = true;
            break;
        case 'l':
            o.linear = true;
            break;
        case 't':
            o.tick = strtod(optarg, &end);
            if (*end || end == optarg || !(o.tick > 0) || o.tick > 1e9) {
                fprintf(stderr, "qtriage: shape: -t wants minutes, more than 0\n");
                return 2;
            }
            break;
        case 'b':
            if (!positive("-b", optarg, &n))
                return 2;
            o.buckets = (int)n;
            break;
        case 'm':
            if (!positive("-m", optarg, &n))
                return 2;
            o.min_subdomains = (int)n;
            break;
        case 'n':
            if (!positive("-n", optarg, &lines))
                return 2;
            break;
        case 'w':
            if (!positive("-w", optarg, &width))
                return 2;
            break;
        case 'h':
            cli_usage(stdout);
            return 0;
        default:
            cli_usage(stderr);
            return 2;
        }
    }
    for (; optind < argc; optind++) {
        enum qt_queue q;

        if (!qt_queue_from_name(argv[optind], &q)) {
            fprintf(stderr, "qtriage: shape: unknown queue \"%s\" (maildrop, incoming, active, "
                    "deferred, hold, corrupt)\n", argv[optind]);
            return 2;
        }
        o.queues[q] = true;
    }
    /* qshape measures ages from the moment it starts. */
    now = time(NULL);
    if (!cli_load_store(&cq, common, NULL))
        return 3;
    qt_shape_init(&sh);
    qt_shape_compute(&sh, &cq.store, NULL, &o, now);
    qt_shape_format(&sh, (int)width, (size_t)lines, &out);
    cli_write(out.data, out.len);
    qt_buf_free(&out);
    qt_shape_free(&sh);
    cli_close_queue(&cq);
    return cli_output_finish();
}
