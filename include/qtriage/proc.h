/* The one place that runs child processes.
 *
 * Programs are started with posix_spawn() from an argv array: no shell, no
 * system(), no popen().  Standard input is fed from a buffer, standard output
 * is either streamed line by line to a callback or captured (bounded), and
 * standard error is captured (bounded).  Writes and reads are multiplexed
 * with poll(), so a child that writes a lot while we still feed it cannot
 * deadlock us.  The first run sets SIGPIPE to be ignored for the whole
 * process, so that a child exiting before it read all its input is an
 * error return, not the death of qtriage.
 *
 * As root, a program runs only when no one but root can have changed it or
 * any directory above it (trust.h), and no child inherits MAIL_CONFIG: a
 * Postfix tool learns its instance from "-c DIR" in its argv. */
#ifndef QTRIAGE_PROC_H
#define QTRIAGE_PROC_H

#include <stdbool.h>
#include <stddef.h>

#include "qtriage/util.h"

typedef void (*qt_proc_line_fn)(void *ctx, char *line, size_t len);

struct qt_proc_spec {
    const char *const *argv;    /* argv[0] is an absolute path */
    const char *stdin_data;     /* NULL: the child gets /dev/null */
    size_t stdin_len;
    qt_proc_line_fn on_stdout_line;  /* NULL: capture stdout into result.out */
    qt_proc_line_fn on_stderr_line;  /* NULL: capture stderr into result.err */
    void *ctx;
    size_t max_capture;         /* per stream; 0 means 1 MiB */
    /* Keep the child's stderr in a memory file and read it once the child
     * has exited: a child that writes a line per item (postsuper, for each
     * ID it acted on) then costs no wakeup, poll and read per line. */
    bool stderr_after_exit;
};

struct qt_proc_result {
    int spawn_errno;            /* non-zero: the program could not be started */
    int exit_status;            /* valid when !signaled */
    bool signaled;
    int term_signal;
    struct qt_buf out;
    struct qt_buf err;
    bool out_truncated, err_truncated;
    /* Set when root refused to run the program: why it is not trusted
     * (spawn_errno is EPERM then). */
    char untrusted[320];
};

/* Run the program to completion.  Returns true when it ran and exited with
 * status 0. */
bool qt_proc_run(const struct qt_proc_spec *spec, struct qt_proc_result *res);
void qt_proc_result_free(struct qt_proc_result *res);

/* One-line description of how the run ended, for messages:
 * "/x exited with status 1: <first line of its captured stderr>",
 * "/x was killed by signal 9", "cannot run /x: No such file". */
void qt_proc_describe(const struct qt_proc_spec *spec, const struct qt_proc_result *res,
                      char *buf, size_t size);

/* A child that lives on while we talk to it (ssh to a fleet host): its
 * standard input, output and error are pipes whose other ends we hold.
 * The same checks as qt_proc_run (argv[0] absolute, trusted as root, no
 * MAIL_CONFIG in its environment). */
struct qt_proc_child {
    int pid;                    /* pid_t */
    int in_fd, out_fd, err_fd;  /* ours: write to its stdin, read its stdout, stderr */
};

/* Start the child.  False with res->spawn_errno (and res->untrusted) set
 * when it could not be started. */
bool qt_proc_start(const char *const *argv, struct qt_proc_child *child,
                   struct qt_proc_result *res);
/* Close what is still open of our ends, wait for the child and fill `res`
 * (exit status or signal).  Returns true when it exited with status 0. */
bool qt_proc_finish(struct qt_proc_child *child, struct qt_proc_result *res);

/* Find `name` in $PATH and then in the usual sbin directories.  As root,
 * never in $PATH: only in /usr/sbin, /usr/bin, /sbin, /bin, /usr/local/sbin
 * and /usr/local/bin, and only a program that it and every directory above
 * it are root's and writable by no one else (trust.h).  Returns a malloc'd
 * absolute path or NULL. */
char *qt_proc_find_program(const char *name);

#endif
