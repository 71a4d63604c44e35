/* The field registry: every row is complete for the roles it claims, names
 * resolve per role, and letters, JSON keys and stats keys are unique. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "qtriage/fields.h"
#include "qtriage/filter.h"
#include "qtriage/stats.h"
#include "qtriage/view.h"

static const struct qt_field *find(const char *name, enum qt_field_role role)
{
    return qt_field_find(name, strlen(name), role);
}

static void test_rows_are_complete(void **state)
{
    size_t i, j;

    (void)state;
    for (i = 0; i < QT_FIELD_COUNT; i++) {
        const struct qt_field *f = &qt_fields[i];

        assert_non_null(f->name);
        assert_non_null(f->title);
        assert_int_equal(qt_field_index(f), i);
        if (i < QT_COL_COUNT) {         /* a column: a width policy, a cell */
            assert_true(f->width > 0 || f->weight > 0);
            assert_true(f->cell || f->source == QT_SRC_STR);
        }
        if (f->flags & QT_FIELD_FILTER)
            assert_int_not_equal(f->source, QT_SRC_NONE);
        if (f->by_plus_one)             /* a stats key groups text */
            assert_int_equal(f->type, QT_TYPE_TEXT);
        if (f->format) {
            assert_non_null(f->format_help);
            assert_true(f->format_text || f->source == QT_SRC_STR);
            assert_ptr_equal(qt_field_of_format(f->format), f);
        }
        for (j = 0; j < i; j++) {
            assert_string_not_equal(f->name, qt_fields[j].name);
            if (f->format)
                assert_int_not_equal(f->format, qt_fields[j].format);
            if (f->json && qt_fields[j].json)
                assert_string_not_equal(f->json, qt_fields[j].json);
            if (f->by_plus_one)
                assert_int_not_equal(f->by_plus_one, qt_fields[j].by_plus_one);
        }
    }
    for (i = 0; i < QT_BY_COUNT; i++)
        assert_non_null(qt_field_of_group((enum qt_stats_by)i));
    assert_null(qt_field_of_format('%'));
    assert_null(qt_field_of_format(0));
}

/* Every name and alias of a filter field compiles in a term of its type. */
static void test_filter_fields_compile(void **state)
{
    size_t i, k;

    (void)state;
    for (i = 0; i < QT_FIELD_COUNT; i++) {
        const struct qt_field *f = &qt_fields[i];
        const char *names[5] = {f->name, f->aliases[0], f->aliases[1], f->aliases[2],
                                f->aliases[3]};

        for (k = 0; k < 5 && names[k]; k++) {
            struct qt_filter_error err;
            struct qt_filter *flt;
            char q[64];

            snprintf(q, sizeof(q), f->type == QT_TYPE_TEXT ? "%s:x"
                     : f->type == QT_TYPE_TIME ? "%s>2026-12-01" : "%s>1", names[k]);
            flt = qt_filter_compile(q, &err);
            if ((f->flags & QT_FIELD_FILTER) && !flt)
                fail_msg("\"%s\" does not compile: %s", q, err.msg);
            if (!(f->flags & QT_FIELD_FILTER) && flt)
                fail_msg("\"%s\" compiles, but %s is no filter field", q, f->name);
            qt_filter_free(flt);
        }
    }
}

/* "from" is the sender's column but the From header's filter field. */
static void test_names_per_role(void **state)
{
    (void)state;
    assert_ptr_equal(find("from", QT_ROLE_COLUMN), &qt_fields[QT_FIELD_SENDER]);
    assert_ptr_equal(find("FROM", QT_ROLE_FILTER), &qt_fields[QT_FIELD_FROM]);
    assert_null(find("from", QT_ROLE_GROUP));
    assert_ptr_equal(find("to", QT_ROLE_COLUMN), &qt_fields[QT_FIELD_RCPT]);
    assert_ptr_equal(find("domain", QT_ROLE_GROUP), &qt_fields[QT_FIELD_RCPT_DOMAIN]);
    assert_ptr_equal(find("sasl_username", QT_ROLE_GROUP), &qt_fields[QT_FIELD_SASL]);
    assert_null(find("retry", QT_ROLE_FILTER));
    assert_null(find("class", QT_ROLE_COLUMN));
    assert_null(find("size", QT_ROLE_GROUP));
    assert_null(find("sende", QT_ROLE_FILTER));
    /* The stats keys keep their order and names. */
    assert_string_equal(qt_stats_by_info[QT_BY_RCPT_DOMAIN].name, "rcpt_domain");
    assert_string_equal(qt_stats_by_info[QT_BY_RCPT_DOMAIN].title, "RECIPIENT DOMAIN");
    assert_string_equal(qt_stats_by_info[QT_BY_SASL].title, "SASL USER");
}

/* The fields a filter's rcpt(...) group takes are exactly those with one
 * value per recipient; arrival is an absolute time. */
static void test_recipient_and_time_fields(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < QT_FIELD_COUNT; i++) {
        enum qt_field_source src = qt_fields[i].source;
        bool per_rcpt = src == QT_SRC_RCPT_ADDRESS || src == QT_SRC_RCPT_REASON ||
                        src == QT_SRC_RCPT_DOMAIN || src == QT_SRC_RCPT_CLASS ||
                        src == QT_SRC_RCPT_STATUS || src == QT_SRC_RCPT_STATE ||
                        src == QT_SRC_RCPT_ORIG;

        if (per_rcpt != ((qt_fields[i].flags & QT_FIELD_PER_RCPT) != 0))
            fail_msg("%s: per-recipient flag wrong", qt_fields[i].name);
    }
    assert_ptr_equal(find("address", QT_ROLE_FILTER), &qt_fields[QT_FIELD_RCPT]);
    assert_ptr_equal(find("Status", QT_ROLE_FILTER), &qt_fields[QT_FIELD_STATUS]);
    assert_ptr_equal(find("orig_rcpt", QT_ROLE_FILTER), &qt_fields[QT_FIELD_ORIG]);
    assert_ptr_equal(find("arrival", QT_ROLE_FILTER), &qt_fields[QT_FIELD_ARRIVAL]);
    assert_int_equal(qt_fields[QT_FIELD_ARRIVAL].type, QT_TYPE_TIME);
    assert_int_equal(qt_fields[QT_FIELD_ARRIVAL].offset, offsetof(struct qt_msg, arrival));
    assert_null(find("arrival", QT_ROLE_COLUMN));
    assert_null(find("state", QT_ROLE_GROUP));
}

static void test_name_lists(void **state)
{
    struct qt_buf b = {0};

    (void)state;
    qt_field_names(QT_ROLE_COLUMN, &b);
    assert_string_equal(b.data, "id queue age retry size sender rcpt subject reason client "
                                "sasl helo host");
    qt_buf_reset(&b);
    qt_field_names(QT_ROLE_GROUP, &b);
    assert_string_equal(b.data, "sender sender_domain sasl client client_name rcpt_domain "
                                "subject reason class host");
    qt_buf_reset(&b);
    qt_field_format_help(&b);
    assert_non_null(strstr(b.data, "%f From header"));
    assert_non_null(strstr(b.data, "%% a percent sign"));
    qt_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_are_complete),
        cmocka_unit_test(test_filter_fields_compile),
        cmocka_unit_test(test_names_per_role),
        cmocka_unit_test(test_recipient_and_time_fields),
        cmocka_unit_test(test_name_lists),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
