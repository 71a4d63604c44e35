#include "qtriage/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qtriage/trust.h"

extern char **environ;

#define DEFAULT_CAPTURE (1u << 20)

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void capture(struct qt_buf *b, bool *truncated, const char *data, size_t n, size_t max)
{
    if (b->len + n > max) {
        *truncated = true;
        n = b->len < max ? max - b->len : 0;
    }
    qt_buf_append(b, data, n);
}

/* Hand complete lines of `pending` to the callback; keep the partial tail. */
static void flush_lines(qt_proc_line_fn fn, void *ctx, struct qt_buf *pending, bool final)
{
    size_t start = 0;

    for (;;) {
        char *nl = memchr(pending->data + start, '\n', pending->len - start);

        if (!nl)
            break;
        *nl = 0;
        fn(ctx, pending->data + start, (size_t)(nl - (pending->data + start)));
        start = (size_t)(nl - pending->data) + 1;
    }
    if (final && start < pending->len) {
        pending->data[pending->len] = 0;
        fn(ctx, pending->data + start, pending->len - start);
        start = pending->len;
    }
    memmove(pending->data, pending->data + start, pending->len - start);
    pending->len -= start;
    if (pending->data)
        pending->data[pending->len] = 0;
}

/* Whether `path` is a regular file we may execute; sets *err otherwise. */
static bool executable_file(const char *path, int *err)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        *err = errno;
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        *err = S_ISDIR(st.st_mode) ? EISDIR : EACCES;
        return false;
    }
    if (access(path, X_OK) != 0) {
        *err = errno;
        return false;
    }
    return true;
}

/* Our environment without MAIL_CONFIG: a child learns its Postfix
 * instance only from the "-c DIR" its argv carries (spool.h), never from a
 * variable another user may have left in the environment (su, sudo -E).
 * The array is malloc'd; the strings are environ's own. */
static char **environment_for_children(void)
{
    static const char drop[] = "MAIL_CONFIG=";
    size_t n = 0, i, o = 0;
    char **env;

    while (environ && environ[n])
        n++;
    env = xcalloc(n + 1, sizeof(*env));
    for (i = 0; i < n; i++)
        if (strncmp(environ[i], drop, sizeof(drop) - 1) != 0)
            env[o++] = environ[i];
    env[o] = NULL;
    return env;
}

static bool make_pipe(int p[2])
{
    return pipe2(p, O_CLOEXEC) == 0;
}

/* qtriage ignores SIGPIPE (a closed reader of its own output is not an
 * error); children get the default disposition back. */
static void child_signals(posix_spawnattr_t *attr)
{
    sigset_t defaults;

    posix_spawnattr_init(attr);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigdefault(attr, &defaults);
    posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGDEF);
}

/* The child's standard input: a pipe we write, or /dev/null. */
enum child_stdin { STDIN_PIPE, STDIN_NULL };

/* Everything both ways of running a child share: the checks on argv[0]
 * (absolute, executable, trusted as root), the pipes, the file actions, the
 * signals and the environment.  `child` gets our ends (in_fd -1 with
 * STDIN_NULL).  False with res->spawn_errno (and res->untrusted) set. */
static bool spawn_child(const char *const *argv, enum child_stdin stdin_kind,
                        size_t out_pipe_size, bool err_file, struct qt_proc_child *child,
                        struct qt_proc_result *res)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    pid_t pid;
    int rc;
    char *program = NULL;
    char **child_env;

    memset(res, 0, sizeof(*res));
    child->pid = -1;
    child->in_fd = child->out_fd = child->err_fd = -1;
    /* No program at all (a layout without postconf, as a fleet's): said
     * as "not found", never a crash. */
    if (!argv[0]) {
        res->spawn_errno = ENOENT;
        return false;
    }
    /* glibc's posix_spawn reports a failed exec as its own error, but only
     * where it can share memory with the child (clone with CLONE_VFORK);
     * elsewhere -- under valgrind, on other libcs -- the child just exits
     * with 127 and "cannot run X: No such file" would read as "X exited
     * with status 127".  Check first, so the reason is always the errno. */
    if (!executable_file(argv[0], &res->spawn_errno))
        return false;
    /* The one place every program starts: as root, only one that no one
     * but root can have put there or changed (trust.h). */
    if (qt_trust_enforced()) {
        program = qt_trusted_path_check(argv[0], 0, QT_TRUST_PROGRAM, res->untrusted,
                                        sizeof(res->untrusted));
        if (!program) {
            res->spawn_errno = EPERM;
            return false;
        }
    }
    /* A child that exits before reading all its input must not kill us. */
    signal(SIGPIPE, SIG_IGN);
    /* A memory file for stderr (err_file): the child's end and ours are one
     * file, read with pread once the child is gone.  Where there is none,
     * a pipe. */
    if (err_file && (err[1] = memfd_create("qtriage-child-stderr", MFD_CLOEXEC)) >= 0 &&
        (err[0] = fcntl(err[1], F_DUPFD_CLOEXEC, 0)) < 0)
        close_fd(&err[1]);
    if ((stdin_kind == STDIN_PIPE && !make_pipe(in)) || !make_pipe(out) ||
        (err[0] < 0 && !make_pipe(err))) {
        res->spawn_errno = errno;
        free(program);
        close_fd(&in[0]), close_fd(&in[1]), close_fd(&out[0]), close_fd(&out[1]);
        close_fd(&err[0]), close_fd(&err[1]);
        return false;
    }
    /* A child that streams a lot (ssh with a fleet host's listing) writes
     * more per wakeup into a bigger pipe; too big a size is only refused. */
    if (out_pipe_size)
        (void)fcntl(out[0], F_SETPIPE_SZ, (int)out_pipe_size);
    child_env = environment_for_children();
    posix_spawn_file_actions_init(&fa);
    if (stdin_kind == STDIN_PIPE)
        posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    else
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    /* The signal mask is inherited on purpose: the TUI's action thread
     * blocks the signals its main thread handles, so a Ctrl-C does not cut
     * a postsuper batch. */
    child_signals(&attr);
    rc = posix_spawn(&pid, program ? program : argv[0], &fa, &attr, (char *const *)argv,
                     child_env);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    free(program);
    free(child_env);
    close_fd(&in[0]);
    close_fd(&out[1]);
    close_fd(&err[1]);
    if (rc != 0) {
        res->spawn_errno = rc;
        close_fd(&in[1]), close_fd(&out[0]), close_fd(&err[0]);
        return false;
    }
    child->pid = pid;
    child->in_fd = in[1];
    child->out_fd = out[0];
    child->err_fd = err[0];
    return true;
}

/* A piece of a child's output: handed on line by line to `fn`, or without
 * one captured into `cap` (up to `max` bytes). */
static void take_output(qt_proc_line_fn fn, void *ctx, struct qt_buf *pending,
                        struct qt_buf *cap, bool *truncated, const char *chunk, size_t n,
                        size_t max)
{
    if (fn) {
        qt_buf_append(pending, chunk, n);
        flush_lines(fn, ctx, pending, false);
    } else {
        capture(cap, truncated, chunk, n, max);
    }
}

/* The child's stderr from its memory file, handed on as a pipe's would be. */
static void read_err_file(const struct qt_proc_spec *spec, struct qt_proc_result *res, int fd,
                          size_t max)
{
    struct qt_buf pending = {0};
    char chunk[65536];
    off_t off = 0;
    ssize_t got;

    while ((got = pread(fd, chunk, sizeof(chunk), off)) != 0) {
        if (got < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        off += got;
        take_output(spec->on_stderr_line, spec->ctx, &pending, &res->err, &res->err_truncated,
                    chunk, (size_t)got, max);
    }
    if (pending.len)
        flush_lines(spec->on_stderr_line, spec->ctx, &pending, true);
    qt_buf_free(&pending);
}

bool qt_proc_run(const struct qt_proc_spec *spec, struct qt_proc_result *res)
{
    struct qt_proc_child ch;
    size_t max = spec->max_capture ? spec->max_capture : DEFAULT_CAPTURE;
    size_t written = 0;
    struct qt_buf pending_out = {0}, pending_err = {0};
    struct stat st;
    int status;
    int in = -1, out, err, err_file = -1;

    if (!spawn_child(spec->argv, spec->stdin_data ? STDIN_PIPE : STDIN_NULL, 0,
                     spec->stderr_after_exit, &ch, res))
        return false;
    in = ch.in_fd;
    out = ch.out_fd;
    err = ch.err_fd;
    /* A memory file, not a pipe: nothing to poll, read after the exit. */
    if (spec->stderr_after_exit && fstat(err, &st) == 0 && S_ISREG(st.st_mode)) {
        err_file = err;
        err = -1;
    }
    if (spec->stdin_data && spec->stdin_len == 0)
        close_fd(&in);
    if (in >= 0)
        fcntl(in, F_SETFL, O_NONBLOCK);

    while (out >= 0 || err >= 0) {
        struct pollfd pfd[3];
        int n = 0, i;
        char chunk[65536];

        if (in >= 0)
            pfd[n++] = (struct pollfd){.fd = in, .events = POLLOUT};
        if (out >= 0)
            pfd[n++] = (struct pollfd){.fd = out, .events = POLLIN};
        if (err >= 0)
            pfd[n++] = (struct pollfd){.fd = err, .events = POLLIN};
        if (poll(pfd, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (i = 0; i < n; i++) {
            ssize_t got;

            if (!pfd[i].revents)
                continue;
            if (pfd[i].fd == in) {
                got = write(in, spec->stdin_data + written, spec->stdin_len - written);
                if (got > 0)
                    written += (size_t)got;
                if ((got < 0 && errno != EAGAIN && errno != EINTR) ||
                    written == spec->stdin_len)
                    close_fd(&in);
                continue;
            }
            got = read(pfd[i].fd, chunk, sizeof(chunk));
            if (got < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (got <= 0) {
                if (pfd[i].fd == out)
                    close_fd(&out);
                else
                    close_fd(&err);
                continue;
            }
            if (pfd[i].fd == err)
                take_output(spec->on_stderr_line, spec->ctx, &pending_err, &res->err,
                            &res->err_truncated, chunk, (size_t)got, max);
            else
                take_output(spec->on_stdout_line, spec->ctx, &pending_out, &res->out,
                            &res->out_truncated, chunk, (size_t)got, max);
        }
    }
    if (pending_out.len)
        flush_lines(spec->on_stdout_line, spec->ctx, &pending_out, true);
    if (pending_err.len)
        flush_lines(spec->on_stderr_line, spec->ctx, &pending_err, true);
    qt_buf_free(&pending_out);
    qt_buf_free(&pending_err);
    close_fd(&in);
    close_fd(&out);
    close_fd(&err);
    while (waitpid(ch.pid, &status, 0) < 0) {
        if (errno != EINTR) {
            res->spawn_errno = errno;
            close_fd(&err_file);
            return false;
        }
    }
    if (err_file >= 0) {
        read_err_file(spec, res, err_file, max);
        close_fd(&err_file);
    }
    if (WIFSIGNALED(status)) {
        res->signaled = true;
        res->term_signal = WTERMSIG(status);
        return false;
    }
    res->exit_status = WEXITSTATUS(status);
    return res->exit_status == 0;
}

/* ssh's pipe to us: 1 MiB (Linux's default cap for a user) instead of 64
 * KiB, so ssh hands over its channel buffer in few writes instead of keeping
 * megabytes it moves around itself. */
#define STREAM_PIPE_SIZE (1u << 20)

bool qt_proc_start(const char *const *argv, struct qt_proc_child *child,
                   struct qt_proc_result *res)
{
    return spawn_child(argv, STDIN_PIPE, STREAM_PIPE_SIZE, false, child, res);
}

bool qt_proc_finish(struct qt_proc_child *child, struct qt_proc_result *res)
{
    int status;

    close_fd(&child->in_fd);
    close_fd(&child->out_fd);
    close_fd(&child->err_fd);
    if (child->pid <= 0)
        return false;
    while (waitpid(child->pid, &status, 0) < 0) {
        if (errno != EINTR) {
            res->spawn_errno = errno;
            child->pid = -1;
            return false;
        }
    }
    child->pid = -1;
    if (WIFSIGNALED(status)) {
        res->signaled = true;
        res->term_signal = WTERMSIG(status);
        return false;
    }
    res->exit_status = WEXITSTATUS(status);
    return res->exit_status == 0;
}

void qt_proc_result_free(struct qt_proc_result *res)
{
    qt_buf_free(&res->out);
    qt_buf_free(&res->err);
}

void qt_proc_describe(const struct qt_proc_spec *spec, const struct qt_proc_result *res,
                      char *buf, size_t size)
{
    if (!buf || size == 0)
        return;
    if (res->untrusted[0])
        snprintf(buf, size, "refusing to run %s as root: %s", spec->argv[0], res->untrusted);
    else if (res->spawn_errno)
        snprintf(buf, size, "cannot run %s: %s", spec->argv[0], strerror(res->spawn_errno));
    else if (res->signaled)
        snprintf(buf, size, "%s was killed by signal %d (%s)", spec->argv[0],
                 res->term_signal, strsignal(res->term_signal));
    else
        snprintf(buf, size, "%s exited with status %d", spec->argv[0], res->exit_status);
    if (!res->spawn_errno && res->err.len) {
        size_t used = strlen(buf);
        const char *line = res->err.data;
        int n = (int)strcspn(line, "\n");

        snprintf(buf + used, size - used, ": %.*s", n, line);
    }
}

static char *try_dir(const char *dir, size_t dlen, const char *name)
{
    struct stat st;
    char *path;

    if (dlen == 0)
        return NULL;
    path = xasprintf("%.*s/%s", (int)dlen, dir, name);
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0)
        return path;
    free(path);
    return NULL;
}

/* Root looks only here, in this order, and takes a program only when no one
 * but root can have put it there ($PATH may come from a user's shell under
 * su or sudo -E).  Postfix installs its tools in /usr/sbin; /sbin and /bin
 * are links to /usr on merged systems and resolve to the same files. */
static const char *const system_dirs[] = {"/usr/sbin", "/usr/bin",       "/sbin",
                                          "/bin",      "/usr/local/sbin", "/usr/local/bin"};

static char *find_trusted(const char *name)
{
    size_t i;

    for (i = 0; i < QT_ARRAY_LEN(system_dirs); i++) {
        char *path = xasprintf("%s/%s", system_dirs[i], name), why[512];
        char *real = qt_trusted_path_check(path, 0, QT_TRUST_PROGRAM, why, sizeof(why));

        if (real && access(real, X_OK) == 0) {
            free(real);
            return path;
        }
        free(real);
        free(path);
    }
    return NULL;
}

char *qt_proc_find_program(const char *name)
{
    static const char *const fallback[] = {"/usr/sbin", "/usr/local/sbin", "/sbin",
                                           "/usr/bin", "/bin"};
    const char *path = getenv("PATH");
    char *found;
    size_t i;

    if (qt_trust_enforced())
        return strchr(name, '/') ? NULL : find_trusted(name);
    if (strchr(name, '/'))
        return access(name, X_OK) == 0 ? xstrdup(name) : NULL;
    while (path && *path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);

        if (path[0] == '/' && (found = try_dir(path, len, name)))
            return found;
        path = colon ? colon + 1 : NULL;
    }
    for (i = 0; i < QT_ARRAY_LEN(fallback); i++)
        if ((found = try_dir(fallback[i], strlen(fallback[i]), name)))
            return found;
    return NULL;
}
