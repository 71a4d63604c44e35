/* The fields of a message, declared once: what each is called, where its
 * value comes from, and how every part of qtriage shows or uses it.
 *
 * One row of the registry (fields.c) serves
 * - the queue list's columns (header, width policy, the text of a cell,
 *   the sort key): view.c, the TUI, --columns and --sort;
 * - the filter language's fields (type, value, per recipient or not):
 *   filter.c;
 * - the keys of `stats --by` and the statistics pane: stats.c;
 * - the letters of `list --format` and the keys of `list --json`.
 * A new field (a header, the host of a fleet) is one more row; a plain
 * string of struct qt_msg needs no code of its own.
 *
 * Curses-free; all tables are constant. */
#ifndef QTRIAGE_FIELDS_H
#define QTRIAGE_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qtriage/store.h"
#include "qtriage/util.h"

/* The fields; the list's columns come first, in enum qt_col's order. */
enum qt_field_id {
    QT_FIELD_ID,
    QT_FIELD_QUEUE,
    QT_FIELD_AGE,
    QT_FIELD_RETRY,
    QT_FIELD_SIZE,
    QT_FIELD_SENDER,
    QT_FIELD_RCPT,
    QT_FIELD_SUBJECT,
    QT_FIELD_REASON,
    QT_FIELD_CLIENT,
    QT_FIELD_SASL,
    QT_FIELD_HELO,
    QT_FIELD_HOST,
    QT_FIELD_FROM,
    QT_FIELD_CLIENT_NAME,
    QT_FIELD_RCPTS,
    QT_FIELD_SENDER_DOMAIN,
    QT_FIELD_RCPT_DOMAIN,
    QT_FIELD_CLASS,
    QT_FIELD_STATUS,
    QT_FIELD_STATE,
    QT_FIELD_ORIG,
    QT_FIELD_ARRIVAL,
    QT_FIELD_COUNT,
};

/* The list's columns: the fields that have one, which are the first ones
 * of the registry, so a column's number is its field's. */
enum qt_col {
    QT_COL_ID = QT_FIELD_ID,        /* queue ID with Postfix's marker: * active, ! hold,
                                     * # expired */
    QT_COL_QUEUE = QT_FIELD_QUEUE,
    QT_COL_AGE = QT_FIELD_AGE,      /* since arrival */
    QT_COL_RETRY = QT_FIELD_RETRY,  /* deferred: time to the next retry (the file's mtime) */
    QT_COL_SIZE = QT_FIELD_SIZE,
    QT_COL_SENDER = QT_FIELD_SENDER,
    QT_COL_RCPT = QT_FIELD_RCPT,    /* first pending recipient, "+N" for the others */
    QT_COL_SUBJECT = QT_FIELD_SUBJECT,
    QT_COL_REASON = QT_FIELD_REASON,    /* first delay reason, shortened */
    QT_COL_CLIENT = QT_FIELD_CLIENT,    /* client_address */
    QT_COL_SASL = QT_FIELD_SASL,        /* sasl_username */
    QT_COL_HELO = QT_FIELD_HELO,
    QT_COL_HOST = QT_FIELD_HOST,        /* a fleet's host (fleet.h) */
    QT_COL_COUNT,
};

/* The keys of the statistics' top-N groups (`stats --by`, the statistics
 * pane's views, in this order). */
enum qt_stats_by {
    QT_BY_SENDER,           /* envelope sender; the null sender is its own group */
    QT_BY_SENDER_DOMAIN,    /* after the sender's last '@'; "" without one */
    QT_BY_SASL,             /* sasl_username attribute; "" when absent */
    QT_BY_CLIENT,           /* client_address attribute */
    QT_BY_CLIENT_NAME,      /* client_name attribute */
    QT_BY_RCPT_DOMAIN,      /* pending recipients' domains: once per distinct domain */
    QT_BY_SUBJECT,          /* decoded Subject as stored */
    QT_BY_REASON,           /* delay reason, shortened as the list's REASON column */
    QT_BY_CLASS,            /* delay-reason class */
    QT_BY_HOST,             /* a fleet's host; "" on this machine */
    QT_BY_COUNT,
};

/* Where a field's value comes from, for the filter and the statistics. */
enum qt_field_source {
    QT_SRC_NONE,            /* no value: a column only */
    QT_SRC_STR,             /* the qt_str at `offset` in struct qt_msg ("" when 0) */
    QT_SRC_U32,             /* the uint32_t at `offset` */
    QT_SRC_AGE,             /* now minus arrival, in seconds */
    QT_SRC_QUEUE,           /* the queue's name */
    QT_SRC_SENDER_DOMAIN,   /* the sender's domain (qt_address_domain) */
    /* One value per recipient: the field matches when any does (inside a
     * filter's rcpt(...) group: when the group's recipient does). */
    QT_SRC_RCPT_ADDRESS,    /* every recipient's address, pending or done */
    QT_SRC_RCPT_REASON,     /* every recipient's delay reason */
    QT_SRC_RCPT_DOMAIN,     /* every pending recipient's domain (in a group: any state) */
    QT_SRC_RCPT_CLASS,      /* the class (reason.h) of every recipient's reason */
    QT_SRC_RCPT_STATUS,     /* every recipient's DSN status from the log ("4.2.2") */
    QT_SRC_RCPT_STATE,      /* "pending", "done" or "canceled" */
    QT_SRC_RCPT_ORIG,       /* every recipient's original address ("" when the same) */
};

/* What the filter compares a value as. */
enum qt_field_type {
    QT_TYPE_TEXT,           /* ":", "=", "~" */
    QT_TYPE_COUNT,          /* a plain number */
    QT_TYPE_BYTES,          /* k, M, G: powers of 1024 */
    QT_TYPE_SECONDS,        /* s, m, h, d, w */
    QT_TYPE_TIME,           /* seconds since the epoch; the filter takes local
                             * ISO 8601 times: 2026-12-01, 2026-12-01T10:00[:30] */
};

/* What a column sorts by. */
enum qt_sort_source {
    QT_SORT_ID,             /* nothing but the tie-break: the queue ID */
    QT_SORT_U8,             /* the uint8_t at sort_offset */
    QT_SORT_U32,            /* the uint32_t at sort_offset */
    QT_SORT_STR,            /* the qt_str at sort_offset, ASCII case folded, absent last */
    QT_SORT_FIRST_RCPT,     /* the first pending recipient (else the first one) */
};

/* Flags of a field. */
#define QT_FIELD_FILTER      0x01u  /* a field of the filter language */
#define QT_FIELD_BARE        0x02u  /* a bare word or /regex/ searches it */
#define QT_FIELD_NULL_SENDER 0x04u  /* the sender: "<>", "" and a group of its own
                                     * stand for the null sender */
#define QT_FIELD_PER_RCPT    0x08u  /* one value per recipient: allowed inside
                                     * the filter's rcpt(...) groups */

/* Renders one message's field into `out`: sanitised UTF-8. */
typedef void qt_field_render(const struct qt_store *s, const struct qt_msg *m, int64_t now,
                             struct qt_buf *out);

struct qt_field {
    /* The column part comes first: view.h's qt_col_info[c] is this table,
     * and its first QT_COL_COUNT rows are the columns. */
    const char *name;           /* as typed: "sender" */
    const char *title;          /* column header ("SENDER"), stats heading */
    int width;                  /* column: fixed width, or 0: shares what is left */
    int weight;                 /* share of the space left (width 0 only) */
    int min_width;
    bool right_align;

    const char *aliases[4];     /* other names in every role (NULL-terminated) */
    const char *column_alias;   /* a name for the column only ("from": sender) */
    unsigned flags;             /* QT_FIELD_* */

    /* The value, for the filter and the statistics. */
    enum qt_field_source source;
    uint16_t offset;            /* QT_SRC_STR, QT_SRC_U32 */
    enum qt_field_type type;

    /* The column: the cell's text (NULL: the QT_SRC_STR value sanitised),
     * and what it sorts by. */
    qt_field_render *cell;
    enum qt_sort_source sort;
    uint16_t sort_offset;

    /* The statistics: enum qt_stats_by + 1 (0: not a key); its heading
     * is `title`. */
    int by_plus_one;

    /* list --format: the letter (0: none), what it says in the help, and
     * the text (NULL: the QT_SRC_STR value sanitised). */
    char format;
    const char *format_help;
    qt_field_render *format_text;

    /* list --json: the key of the field's value (NULL: none). */
    const char *json;
};

extern const struct qt_field qt_fields[QT_FIELD_COUNT];

/* The roles a field can be looked up in by name. */
enum qt_field_role { QT_ROLE_COLUMN, QT_ROLE_FILTER, QT_ROLE_GROUP };
/* The field called `name` (`len` bytes, ASCII case-insensitive; its name
 * or an alias) in `role`, or NULL. */
const struct qt_field *qt_field_find(const char *name, size_t len, enum qt_field_role role);
/* Append the names a role knows, blank-separated, in the registry's order
 * ("id queue age ..."), for messages. */
void qt_field_names(enum qt_field_role role, struct qt_buf *out);

static inline enum qt_field_id qt_field_index(const struct qt_field *f)
{
    return (enum qt_field_id)(f - qt_fields);
}

/* The qt_str or number a QT_SRC_STR / QT_SRC_U32 field reads. */
static inline qt_str qt_field_str(const struct qt_field *f, const struct qt_msg *m)
{
    return *(const qt_str *)(const void *)((const char *)m + f->offset);
}
static inline uint32_t qt_field_u32(const struct qt_field *f, const struct qt_msg *m)
{
    return *(const uint32_t *)(const void *)((const char *)m + f->offset);
}

/* The text of a column's cell, appended to `out`: UTF-8, free of control
 * characters (the caller cuts it to its column width). */
void qt_field_cell(const struct qt_field *f, const struct qt_store *s, const struct qt_msg *m,
                   int64_t now, struct qt_buf *out);

/* The field of the statistics' key `by`, or NULL. */
const struct qt_field *qt_field_of_group(enum qt_stats_by by);

/* list --format: the field of letter `c`, or NULL; its text. */
const struct qt_field *qt_field_of_format(char c);
void qt_field_format(const struct qt_field *f, const struct qt_store *s, const struct qt_msg *m,
                     int64_t now, struct qt_buf *out);
/* "%i id, %q queue, ...": the letters and what they print, for a message. */
void qt_field_format_help(struct qt_buf *out);

/* The first pending recipient of `m` (else the first one; 0 without any). */
qt_str qt_msg_first_rcpt(const struct qt_store *s, const struct qt_msg *m);

#endif
