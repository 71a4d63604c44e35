/* Reader for Postfix's queue file record format.
 *
 * A record is one type byte, the payload length in little-endian base-128
 * (7 bits per byte, high bit set when more length bytes follow), then the
 * payload.  The reader reads through a small window with pread(), so it can
 * follow `p` pointer records and skip over a message body without reading it,
 * and every length is checked against the file size and a hard limit before
 * anything is allocated: a garbled file ends in QT_REC_ERROR with a reason,
 * never in an unbounded read. */
#ifndef QTRIAGE_RECORD_H
#define QTRIAGE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "qtriage/util.h"

#define QT_REC_EOF   (-1)
#define QT_REC_ERROR (-2)

/* Record types, as Postfix's rec_type.h names them. */
#define QT_REC_SIZE   'C'
#define QT_REC_TIME   'T'
#define QT_REC_CTIME  'c'
#define QT_REC_FULL   'F'
#define QT_REC_INSP   'I'
#define QT_REC_FILT   'L'   /* envelope: content filter */
#define QT_REC_CONT   'L'   /* content: line continues in the next record */
#define QT_REC_FROM   'S'
#define QT_REC_DONE   'D'
#define QT_REC_RCPT   'R'
#define QT_REC_ORCP   'O'
#define QT_REC_DRCP   '/'
#define QT_REC_WARN   'W'
#define QT_REC_ATTR   'A'
#define QT_REC_KILL   'K'
#define QT_REC_RDR    '>'
#define QT_REC_FLGS   'f'
#define QT_REC_DELAY  'd'
#define QT_REC_MESG   'M'
#define QT_REC_NORM   'N'
#define QT_REC_DTXT   'w'
#define QT_REC_XTRA   'X'
#define QT_REC_RRTO   'r'
#define QT_REC_ERTO   'e'
#define QT_REC_PRIO   'P'
#define QT_REC_PTR    'p'
#define QT_REC_VERP   'V'
#define QT_REC_DSN_RET    '<'
#define QT_REC_DSN_ENVID  'i'
#define QT_REC_DSN_ORCPT  'o'
#define QT_REC_DSN_NOTIFY 'n'
#define QT_REC_MILT_COUNT 'm'
#define QT_REC_END    'E'

/* Postfix gives up on a file after this many backward pointer jumps. */
#define QT_REC_REVERSE_JUMP_LIMIT 10000
/* A sound file's records are each parsed once, pointers or not; parsing
 * more than twice the file plus this means the pointers go round in a loop
 * (which the jump limit alone would let run 10000 times over the file). */
#define QT_REC_LOOP_SLACK (64 * 1024)

struct qt_record_reader {
    int fd;
    off_t file_size;
    off_t pos;                  /* offset of the next unread byte */
    off_t rec_offset;           /* offset where the last record started */
    size_t max_payload;         /* records larger than this are an error */
    off_t parsed;               /* bytes of records parsed (pointer loops) */
    unsigned char window[16384];
    off_t window_start;
    size_t window_len;
    unsigned reverse_jumps;
    off_t bytes_read;           /* total bytes read from the file */
    struct qt_buf payload;      /* last record's data, NUL-terminated */
    char error[160];
};

/* Start reading `fd` (of `file_size` bytes) from offset 0. */
void qt_record_reader_init(struct qt_record_reader *r, int fd, off_t file_size,
                           size_t max_payload);
void qt_record_reader_free(struct qt_record_reader *r);

/* Read the next record.  Returns its type byte (0..255), QT_REC_EOF at a
 * clean end of file, or QT_REC_ERROR with r->error set.  `w` padding records
 * are skipped; `p` pointer records are followed when follow_pointers is set
 * (a pointer to offset 0 is a no-op, as in Postfix). */
int qt_record_next(struct qt_record_reader *r, bool follow_pointers);

/* Continue reading at `offset`.  Returns false (with r->error) when the
 * offset lies outside the file. */
bool qt_record_seek(struct qt_record_reader *r, off_t offset);

#endif
