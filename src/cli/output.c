/* Standard output of the commands: a reader that goes away, and a
 * descriptor inherited in non-blocking mode. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int stdout_flags = -1;
static int first_error;           /* errno of the first failed write seen */

static void restore_stdout_flags(void)
{
    if (stdout_flags >= 0)
        fcntl(STDOUT_FILENO, F_SETFL, stdout_flags);
}

void cli_output_init(void)
{
    int fl = fcntl(STDOUT_FILENO, F_GETFL);

    /* SIGPIPE is ignored from the start, not only once a child has been
     * run: a reader that closes early (| head) must never kill qtriage
     * between two steps of an action, and a write to it fails with EPIPE,
     * which cli_output_finish() takes as the normal end of the output. */
    signal(SIGPIPE, SIG_IGN);
    /* A descriptor shared with a program that made it non-blocking (some
     * shells and runtimes leave a terminal or pipe so) makes a write to a
     * full pipe fail with EAGAIN and output is lost.  It is made blocking
     * for our run and given back as it was. */
    if (fl >= 0 && (fl & O_NONBLOCK) && fcntl(STDOUT_FILENO, F_SETFL, fl & ~O_NONBLOCK) == 0) {
        stdout_flags = fl;
        atexit(restore_stdout_flags);
    }
}

/* Whether nobody reads standard output any more: a pipe or socket without
 * a reader reports POLLERR (POLLHUP for a socket) to a writer at once. */
static bool reader_gone(void)
{
    struct pollfd p = {.fd = STDOUT_FILENO, .events = POLLOUT};

    return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP));
}

size_t cli_write(const void *data, size_t len)
{
    size_t n = fwrite(data, 1, len, stdout);

    if (n != len && !first_error)
        first_error = errno;
    return n;
}

int cli_output_finish(void)
{
    int err;

    errno = 0;
    if (fflush(stdout) == 0 && !ferror(stdout))
        return 0;
    /* stdio does not keep the errno of the write that failed: errno now is
     * the flush's, or 0 when the failed write had already dropped the
     * buffer (anything since may have changed it: "write: Resource
     * temporarily unavailable" was a scanner's read), so cli_write() keeps
     * it, and a reader that went away is told from the descriptor too. */
    err = first_error ? first_error : errno;
    if (err == EPIPE || reader_gone())
        return 0;
    fprintf(stderr, "qtriage: cannot write to standard output: %s\n",
            err ? strerror(err) : "write error");
    return 3;
}
