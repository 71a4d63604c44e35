/* Parsing one Postfix queue file into what a queue list needs.
 *
 * The reader reads the envelope, the header block and the extracted segment
 * that follows the content; it jumps over the body using the size record, so
 * a 50 MB message costs a few kilobytes of reads.  Every string it returns
 * points into qf->arena and lives until the next qt_queue_file_read() or
 * qt_queue_file_free() on the same struct. */
#ifndef QTRIAGE_QUEUE_FILE_H
#define QTRIAGE_QUEUE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "qtriage/arena.h"
#include "qtriage/record.h"

#define QT_QUEUE_ID_MAX 63

enum qt_rcpt_state {
    QT_RCPT_PENDING,    /* R record: still to be delivered */
    QT_RCPT_DONE,       /* D record: delivered or bounced, R overwritten in place */
    QT_RCPT_CANCELED,   /* '/' record: eliminated duplicate */
};

struct qt_qf_rcpt {
    const char *address;        /* raw, as in the file ("" is possible) */
    const char *orig;           /* original recipient (O record) or NULL */
    enum qt_rcpt_state state;
    off_t offset;               /* record offset; defer logs refer to it */
};

struct qt_qf_attr {
    const char *name;
    const char *value;
};

struct qt_qf_header {
    const char *name;
    const char *value;          /* unfolded, raw bytes (not decoded) */
};

struct qt_queue_file_limits {
    size_t max_record;          /* largest record accepted */
    size_t max_header_bytes;    /* header bytes collected; the rest skipped */
    size_t max_headers;
    size_t max_decoded;         /* decoded Subject/From are cut to this */
};

extern const struct qt_queue_file_limits qt_queue_file_default_limits;

struct qt_queue_file {
    char id[QT_QUEUE_ID_MAX + 1];
    /* Set when the file could not be read to its end; what was read before
     * the problem is kept, and `error` says what went wrong. */
    bool unreadable;
    char error[200];

    off_t file_size;
    long arrival_sec, arrival_usec;     /* T record (0 when absent) */
    long create_time;                   /* create_time attribute or c record */
    const char *sender;                 /* raw; "" is the null sender */
    bool have_sender;
    bool size_ok;                       /* C record present and well-formed */
    long content_size;                  /* C field 1 */
    long data_offset;                   /* C field 2 */
    long rcpt_count;                    /* C field 3 */
    long qmgr_flags;                    /* C field 4 */
    long content_length;                /* C field 5 (Postfix >= 2.4) */
    long smtputf8;                      /* C field 6 (Postfix >= 3.0) */

    struct qt_qf_rcpt *rcpts;
    size_t nrcpts, rcpts_cap;
    struct qt_qf_attr *attrs;
    size_t nattrs, attrs_cap;
    struct qt_qf_header *headers;
    size_t nheaders, headers_cap;
    bool headers_truncated;

    const char *subject;                /* decoded UTF-8, NULL when absent */
    const char *from;                   /* decoded UTF-8, NULL when absent */

    off_t bytes_read;                   /* how much of the file was read */

    struct qt_arena arena;
    struct qt_record_reader reader;
    struct qt_buf line;                 /* scratch: one content line */
    struct qt_buf header;               /* scratch: the header being unfolded */
};

void qt_queue_file_init(struct qt_queue_file *qf);
void qt_queue_file_free(struct qt_queue_file *qf);

/* Parse the open queue file `fd` whose name is `id`.  `maildrop` relaxes the
 * size record rules as Postfix does for maildrop files.  Returns true when the
 * whole file was understood; false leaves qf->unreadable and qf->error set,
 * with everything parsed up to the problem still available. */
bool qt_queue_file_read(struct qt_queue_file *qf, int fd, const char *id, bool maildrop,
                        const struct qt_queue_file_limits *limits);

/* The same for a caller that has just done fstat(fd) itself: `size` is its
 * st_size (a scan of a million files saves a million system calls). */
bool qt_queue_file_read_sized(struct qt_queue_file *qf, int fd, off_t size, const char *id,
                              bool maildrop, const struct qt_queue_file_limits *limits);

/* Convenience: open `path` (O_NOFOLLOW) and parse it.  Returns false with
 * errno set (ENOENT when the file vanished) if it cannot be opened. */
bool qt_queue_file_read_path(struct qt_queue_file *qf, const char *path, const char *id,
                             bool maildrop, const struct qt_queue_file_limits *limits);

/* Value of attribute `name`, or NULL. */
const char *qt_queue_file_attr(const struct qt_queue_file *qf, const char *name);

/* Value of the first header `name` (case-insensitive), or NULL. */
const char *qt_queue_file_header(const struct qt_queue_file *qf, const char *name);

#endif
