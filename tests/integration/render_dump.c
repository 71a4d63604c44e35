/* render_dump: run the core's message renderer (include/qtriage/render.h) on
 * one queue file and write every line it yields, for tests that look at what
 * would reach the viewer (tests/integration/test_hostile.py).
 *
 *   render_dump raw|decoded|raw-bytes QUEUE_FILE [LABEL [DEFER_LOG]]
 *
 * Output: per line a header "L KIND CONTINUED LEN\n", then LEN bytes of the
 * line's text, then "\n"; at the end "E LINES BYTES_READ DONE PEAK_KB\n"
 * (PEAK_KB: VmHWM, this program's peak resident memory).  Lines are
 * asked for 256 at a time, as a viewer scrolling down would.  Exit status 0
 * when the renderer got to the end, 1 when qt_render_open failed, 2 on a
 * usage error. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qtriage/defer_log.h"
#include "qtriage/render.h"

/* Peak resident memory of this process image in KB (VmHWM), or -1. */
static long peak_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = atol(line + 6);
    fclose(f);
    return kb;
}

int main(int argc, char **argv)
{
    struct qt_render_line lines[256];
    struct qt_render_options opt = {0};
    struct qt_defer_log defer = {0};
    enum qt_render_mode mode;
    struct qt_error err = {""};
    struct qt_render *r;
    unsigned long total = 0;
    size_t n, i;
    int fd;

    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: render_dump raw|decoded|raw-bytes QUEUE_FILE [LABEL [DEFER_LOG]]\n");
        return 2;
    }
    if (strcmp(argv[1], "raw") == 0)
        mode = QT_RENDER_RAW;
    else if (strcmp(argv[1], "decoded") == 0)
        mode = QT_RENDER_DECODED;
    else if (strcmp(argv[1], "raw-bytes") == 0)
        mode = QT_RENDER_RAW_BYTES;
    else {
        fprintf(stderr, "render_dump: unknown mode \"%s\"\n", argv[1]);
        return 2;
    }
    if (argc == 5) {
        int dfd = open(argv[4], O_RDONLY | O_CLOEXEC);

        if (dfd >= 0) {
            qt_defer_log_read_fd(&defer, dfd);
            close(dfd);
            opt.defer = &defer;
        }
    }
    fd = open(argv[2], O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        perror(argv[2]);
        return 1;
    }
    r = qt_render_open(fd, argc >= 4 ? argv[3] : argv[2], mode, &opt, &err);
    close(fd);
    if (!r) {
        fprintf(stderr, "render_dump: %s\n", err.msg);
        return 1;
    }
    while ((n = qt_render_lines(r, lines, QT_ARRAY_LEN(lines))) > 0) {
        for (i = 0; i < n; i++) {
            printf("L %d %d %zu\n", (int)lines[i].kind, lines[i].continued ? 1 : 0, lines[i].len);
            fwrite(lines[i].text, 1, lines[i].len, stdout);
            putchar('\n');
        }
        total += n;
    }
    printf("E %lu %lld %d %ld\n", total, (long long)qt_render_bytes_read(r),
           qt_render_done(r) ? 1 : 0, peak_kb());
    qt_render_close(r);
    qt_defer_log_free(&defer);
    return fflush(stdout) == 0 ? 0 : 1;
}
