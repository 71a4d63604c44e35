/* A message as a backend reports it: plain strings, owned by whoever made it
 * (a scan batch's arena).  The store interns it into its compact form. */
#ifndef QTRIAGE_MESSAGE_H
#define QTRIAGE_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qtriage/queue_file.h"
#include "qtriage/spool.h"

struct qt_rcpt_data {
    const char *address;        /* as postqueue shows it (quoted, printable) */
    const char *orig;           /* original address, NULL when the same */
    const char *reason;         /* delay/bounce reason from the log, or NULL */
    const char *status;         /* DSN status from the log, or NULL */
    enum qt_rcpt_state state;
    bool bounced;               /* reason comes from the bounce log */
};

struct qt_msg_data {
    const char *id;
    enum qt_queue queue;
    bool forced_expire;
    bool null_sender;
    const char *sender;         /* "MAILER-DAEMON" for the null sender */
    const char *subject, *from; /* decoded, NULL when absent */
    const char *error;          /* unreadable: why; NULL when fine */
    /* Attributes as "name=value" strings separated by NUL, ending in an
     * empty string; NULL when none.  The attributes that are different for
     * almost every message are kept apart (create_time as a number,
     * log_ident and client_port as strings), so that the rest is the same
     * for all mail from one client and is stored once. */
    const char *attrs;
    size_t attrs_len;
    const char *log_ident;
    const char *client_port;
    struct qt_rcpt_data *rcpts; /* pending (postqueue -j order), then done */
    size_t nrcpts;
    int64_t arrival, create_time, mtime;
    int64_t msg_size, file_size;
    int64_t content_size, data_offset;
};

#endif
