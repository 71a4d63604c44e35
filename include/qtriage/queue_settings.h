/* The Postfix settings that shape the queue: backoff times, lifetimes,
 * the active queue's limit.  Read with postconf, so the values are the
 * instance's own, defaults included. */
#ifndef QTRIAGE_QUEUE_SETTINGS_H
#define QTRIAGE_QUEUE_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qtriage/spool.h"
#include "qtriage/util.h"

enum qt_queue_setting {
    QT_SET_QUEUE_RUN_DELAY,                 /* seconds */
    QT_SET_MINIMAL_BACKOFF_TIME,            /* seconds */
    QT_SET_MAXIMAL_BACKOFF_TIME,            /* seconds */
    QT_SET_MAXIMAL_QUEUE_LIFETIME,          /* seconds */
    QT_SET_BOUNCE_QUEUE_LIFETIME,           /* seconds */
    QT_SET_QMGR_MESSAGE_ACTIVE_LIMIT,       /* messages */
    QT_SET_DEFAULT_DESTINATION_CONCURRENCY_LIMIT,
    QT_SET_COUNT,
};

struct qt_queue_settings {
    int64_t value[QT_SET_COUNT];    /* -1: postconf's value was not understood */
    char *text[QT_SET_COUNT];       /* as postconf printed it */
};
extern const char *const qt_queue_setting_names[QT_SET_COUNT];  /* main.cf names */
/* Whether setting `i` is a time (in seconds) rather than a count. */
bool qt_queue_setting_is_time(enum qt_queue_setting i);

/* Read them with `postconf [-c DIR] -h -x NAME...` (the layout says where
 * postconf is and which instance).  False with `err` set when postconf
 * fails; values postconf printed but that do not parse are -1. */
bool qt_queue_settings_load(struct qt_queue_settings *qs, const struct qt_spool_layout *l,
                            struct qt_error *err);
void qt_queue_settings_free(struct qt_queue_settings *qs);
/* A Postfix time value ("300s", "5d", "1h"; bare numbers in `default_unit`)
 * in seconds, or -1. */
int64_t qt_postfix_time(const char *text, char default_unit);
/* True when `active` messages fill the active queue to its limit
 * (qmgr_message_active_limit): qmgr takes no more from incoming and
 * deferred until some leave. */
bool qt_queue_settings_active_full(const struct qt_queue_settings *qs, size_t active);

#endif
