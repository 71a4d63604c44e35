/* The Postfix settings that shape the queue (see queue_settings.h), from postconf. */
#include "qtriage/queue_settings.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

const char *const qt_queue_setting_names[QT_SET_COUNT] = {
    [QT_SET_QUEUE_RUN_DELAY] = "queue_run_delay",
    [QT_SET_MINIMAL_BACKOFF_TIME] = "minimal_backoff_time",
    [QT_SET_MAXIMAL_BACKOFF_TIME] = "maximal_backoff_time",
    [QT_SET_MAXIMAL_QUEUE_LIFETIME] = "maximal_queue_lifetime",
    [QT_SET_BOUNCE_QUEUE_LIFETIME] = "bounce_queue_lifetime",
    [QT_SET_QMGR_MESSAGE_ACTIVE_LIMIT] = "qmgr_message_active_limit",
    [QT_SET_DEFAULT_DESTINATION_CONCURRENCY_LIMIT] = "default_destination_concurrency_limit",
};

/* The unit of a bare number, as Postfix's own tables give it (the two
 * lifetimes count days, the delays seconds); 0 for counts. */
static const char default_units[QT_SET_COUNT] = {
    [QT_SET_QUEUE_RUN_DELAY] = 's',
    [QT_SET_MINIMAL_BACKOFF_TIME] = 's',
    [QT_SET_MAXIMAL_BACKOFF_TIME] = 's',
    [QT_SET_MAXIMAL_QUEUE_LIFETIME] = 'd',
    [QT_SET_BOUNCE_QUEUE_LIFETIME] = 'd',
};

bool qt_queue_setting_is_time(enum qt_queue_setting i)
{
    return (unsigned)i < QT_SET_COUNT && default_units[i] != 0;
}

int64_t qt_postfix_time(const char *text, char default_unit)
{
    int64_t v = 0, mult;
    const char *p = text;
    char unit;

    while (isblank((unsigned char)*p))
        p++;
    if (!isdigit((unsigned char)*p))
        return -1;
    for (; isdigit((unsigned char)*p); p++) {
        if (v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*p - '0');
    }
    unit = *p ? *p++ : default_unit;
    while (isblank((unsigned char)*p))
        p++;
    if (*p)
        return -1;
    switch (unit) {
    case 's':
        mult = 1;
        break;
    case 'm':
        mult = 60;
        break;
    case 'h':
        mult = 3600;
        break;
    case 'd':
        mult = 86400;
        break;
    case 'w':
        mult = 7 * 86400;
        break;
    default:
        return -1;
    }
    return v > INT64_MAX / mult ? -1 : v * mult;
}

bool qt_queue_settings_load(struct qt_queue_settings *qs, const struct qt_spool_layout *l,
                            struct qt_error *err)
{
    char **v;
    int i;

    memset(qs, 0, sizeof(*qs));
    for (i = 0; i < QT_SET_COUNT; i++)
        qs->value[i] = -1;
    if (!l->postconf) {
        qt_error_set(err, "postconf not found");
        return false;
    }
    v = qt_postconf_values(l->postconf, l->config_dir, qt_queue_setting_names, QT_SET_COUNT,
                           err);
    if (!v)
        return false;
    for (i = 0; i < QT_SET_COUNT; i++) {
        long n;

        qs->text[i] = v[i];
        if (default_units[i])
            qs->value[i] = qt_postfix_time(v[i], default_units[i]);
        else if (qt_parse_long(v[i], &n) && n >= 0)
            qs->value[i] = n;
    }
    free(v);
    return true;
}

void qt_queue_settings_free(struct qt_queue_settings *qs)
{
    int i;

    for (i = 0; i < QT_SET_COUNT; i++)
        free(qs->text[i]);
    memset(qs, 0, sizeof(*qs));
}

bool qt_queue_settings_active_full(const struct qt_queue_settings *qs, size_t active)
{
    int64_t limit = qs->value[QT_SET_QMGR_MESSAGE_ACTIVE_LIMIT];

    return limit > 0 && (int64_t)active >= limit;
}
