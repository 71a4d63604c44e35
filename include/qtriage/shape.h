/* qshape's table: domains by age buckets, computed as /usr/sbin/qshape
 * does, so that the two can be compared byte for byte.
 *
 * Curses-free.  A table owns copies of what it shows, so it stays valid
 * after the store changes; compute it again to see the change. */
#ifndef QTRIAGE_SHAPE_H
#define QTRIAGE_SHAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qtriage/filter.h"
#include "qtriage/spool.h"
#include "qtriage/store.h"
#include "qtriage/util.h"

/* What /usr/sbin/qshape counts (Postfix 3.x): in the queues chosen
 * (default incoming and active), every readable message with mode 0700
 * (forced-to-expire ones, 0710, are skipped), by arrival time, that has at
 * least one pending recipient; each pending recipient counts once in its
 * domain (lowercased, after the last '@'), or with sender = true the
 * message counts once in its sender's domain, the null sender as
 * "MAILER-DAEMON".  Bucket 1 is [0, tick) minutes old, bucket b >= 2 is
 * [tick * 2^(b-2), tick * 2^(b-1)), the last bucket takes all older mail.
 * With parents, each domain also counts in its parent domains (".example.com";
 * never a TLD), shown when they have at least min_subdomains children. */
struct qt_shape_options {
    bool sender;                /* -s */
    bool parents;               /* -p */
    bool linear;                /* -l: bucket b is [(b-1)*tick, b*tick) */
    double tick;                /* -t minutes, > 0 (default 5) */
    int buckets;                /* -b, > 0 (default 10) */
    int min_subdomains;         /* -m, > 0 (default 5) */
    bool queues[QT_Q_COUNT];    /* all false: incoming and active */
};
void qt_shape_options_default(struct qt_shape_options *o);

/* Bucket (1..buckets) of a message `age` seconds old, as qshape rounds it. */
int qt_shape_bucket(int64_t age, const struct qt_shape_options *o);

struct qt_shape_row {
    const char *domain;         /* "TOTAL", "example.com", ".example.com" */
    size_t domain_len;
    uint64_t *counts;           /* [0] all ages, [1..buckets] per bucket */
    bool total;                 /* the TOTAL row */
    bool parent;                /* a parent domain (starts with '.') */
    size_t subdomains;          /* parent: distinct children counted */
};

struct qt_shape {
    struct qt_shape_options opts;
    struct qt_shape_row *rows;  /* qshape's order, TOTAL among them; parents
                                 * with too few children left out */
    size_t n;
    bool complete;              /* every message counted, rows sorted */
    size_t counted, total;      /* messages of the store looked at, to look at */
    void *priv;
};

void qt_shape_init(struct qt_shape *sh);
void qt_shape_free(struct qt_shape *sh);
/* Count the messages of `s` that `f` matches (NULL: all) at time `now`. */
void qt_shape_compute(struct qt_shape *sh, const struct qt_store *s, struct qt_filter *f,
                      const struct qt_shape_options *o, int64_t now);
/* The same in steps (as qt_stats_begin/qt_stats_step): the store and the
 * filter must not change between them; true once complete. */
void qt_shape_begin(struct qt_shape *sh, const struct qt_store *s, struct qt_filter *f,
                    const struct qt_shape_options *o, int64_t now);
bool qt_shape_step(struct qt_shape *sh, const struct qt_store *s, size_t budget);
/* Column heading `col` (0..buckets) as qshape prints it: "T", then each
 * bucket's upper bound in minutes ("5", "10", "20", ... "1280"), the last
 * one its lower bound ("1280+"). */
void qt_shape_heading(const struct qt_shape *sh, int col, struct qt_buf *out);
/* qshape's text: the heading line, then at most `max_rows` rows (0: all)
 * for a terminal `width` columns wide (qshape: 80, or -w when larger). */
void qt_shape_format(const struct qt_shape *sh, int width, size_t max_rows,
                     struct qt_buf *out);

#endif
