/* A message as a backend reports it: plain strings, owned by whoever made it
 * (a scan batch's arena).  The store interns it into its compact form. */
#ifndef QTRIAGE_MESSAGE_H
#define QTRIAGE_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qtriage/queue_file.h"
#include "qtriage/spool.h"

/* Attributes with a field of their own instead of a place in the shared
 * attribute blob: those whose value differs for nearly every message (in
 * the blob they would make every blob unique; create_time is kept as a
 * number), and those the filter and the statistics read for every message. */
enum qt_attr_field {
    QT_ATTR_LOG_IDENT,
    QT_ATTR_CLIENT_PORT,
    QT_ATTR_LOG_CLIENT_PORT,
    QT_ATTR_CLIENT_ADDRESS,
    QT_ATTR_CLIENT_NAME,
    QT_ATTR_HELO_NAME,
    QT_ATTR_SASL_USERNAME,
    QT_ATTR_SASL_METHOD,
    QT_ATTR_NFIELDS,
};
extern const char *const qt_attr_field_names[QT_ATTR_NFIELDS];

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
    const char *host;           /* a fleet's host (fleet.h); NULL: this machine */
    enum qt_queue queue;
    bool forced_expire;
    bool null_sender;
    const char *sender;         /* "MAILER-DAEMON" for the null sender */
    const char *subject, *from; /* decoded, NULL when absent */
    const char *error;          /* unreadable: why; NULL when fine */
    /* Attributes as "name=value" strings separated by NUL, ending in an
     * empty string; NULL when none.  Without create_time and those named
     * in qt_attr_field_names, whose values are in attr_fields[]. */
    const char *attrs;
    size_t attrs_len;
    const char *attr_fields[QT_ATTR_NFIELDS];
    struct qt_rcpt_data *rcpts; /* pending (postqueue -j order), then done */
    size_t nrcpts;
    int64_t arrival, create_time, mtime;
    int64_t msg_size, file_size;
    int64_t content_size, data_offset;
};

#endif
