/* The queue as Prometheus metrics, in the text exposition format that
 * node_exporter's textfile collector reads.
 *
 * Names carry the prefix postfix_queue_ (what Postfix holds) or qtriage_
 * (what qtriage saw while reading it).  Label values come from strangers
 * (envelope senders, SASL logins): they are made valid UTF-8, escaped as
 * the format requires (backslash, double quote, line feed), cut to a
 * bounded length, and only the top N groups get a series of their own, so
 * a flood of random senders cannot create a flood of series. */
#ifndef QTRIAGE_METRICS_H
#define QTRIAGE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "qtriage/store.h"
#include "qtriage/util.h"

#define QT_METRICS_TOP_DEFAULT 10
#define QT_METRICS_TOP_MAX 100
#define QT_METRICS_LABEL_MAX 128    /* bytes of a label value, before escaping */

struct qt_metrics_options {
    size_t top;                 /* series per top-N family (1..QT_METRICS_TOP_MAX) */
    size_t label_max;           /* bytes of a label value (16..1024) */
    int64_t now;                /* ages are counted to this time */
    double scan_seconds;        /* how long reading the queue took */
    const char *host;           /* NULL: no host label (the local queue) */
};

void qt_metrics_options_default(struct qt_metrics_options *o, int64_t now);

/* Append the metrics of every message in `s` to `out`: each family once,
 * with its HELP and TYPE lines, series sorted as documented in the man page. */
void qt_metrics_format(struct qt_buf *out, const struct qt_store *s,
                       const struct qt_metrics_options *o);

/* Append `s` (`len` bytes, any bytes) as a label value: invalid UTF-8
 * becomes U+FFFD, control characters become U+FFFD, \ " and line feeds are
 * escaped, and the value is cut (at a character boundary, marked with "...")
 * to at most `max` bytes of its unescaped form. */
void qt_metrics_label_value(struct qt_buf *out, const char *s, size_t len, size_t max);

#endif
