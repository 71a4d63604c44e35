/* Tags (selection.h): a set of queue IDs with open addressing and
 * tombstones.  Thousands of IDs, removal and re-adding on tombstones,
 * iteration, pruning, and churn that must not grow the table or loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qtriage/selection.h"

#define MANY 20000

/* A realistic ID for number i: short hex IDs, and every third one a long
 * (base-52 + 'z' + base-51 style) ID, so lengths and hashes vary. */
static void make_id(char *buf, size_t size, int i)
{
    if (i % 3 == 2)
        snprintf(buf, size, "4Vq%dzHk%05dQx", i % 97, i);
    else
        snprintf(buf, size, "%X", 0x10000 + i * 7919);
}

/* Index of `id` in the IDs 0..MANY-1, or -1. */
static int id_number(const char *id)
{
    char buf[32];
    int i;

    for (i = 0; i < MANY; i++) {
        make_id(buf, sizeof(buf), i);
        if (strcmp(buf, id) == 0)
            return i;
    }
    return -1;
}

static void test_empty_set(void **state)
{
    struct qt_selection s;
    size_t pos = 0;

    (void)state;
    qt_selection_init(&s);
    assert_int_equal(s.count, 0);
    assert_false(qt_selection_has(&s, "4ABC1"));
    assert_false(qt_selection_remove(&s, "4ABC1"));
    assert_null(qt_selection_next(&s, &pos));
    assert_int_equal(qt_selection_prune(&s, NULL, NULL), 0);  /* keep never called */
    qt_selection_clear(&s);
    qt_selection_free(&s);
    qt_selection_free(&s);  /* twice is harmless: free resets the set */
}

static void test_add_remove_toggle(void **state)
{
    struct qt_selection s;
    char id[16];

    (void)state;
    qt_selection_init(&s);
    assert_true(qt_selection_add(&s, "4ABC1"));
    assert_false(qt_selection_add(&s, "4ABC1"));    /* already there */
    assert_true(qt_selection_has(&s, "4ABC1"));
    assert_false(qt_selection_has(&s, "4abc1"));     /* IDs are case-sensitive */
    assert_false(qt_selection_has(&s, "4ABC"));
    assert_false(qt_selection_has(&s, "4ABC12"));
    assert_int_equal(s.count, 1);

    /* The set keeps its own copy of the ID. */
    strcpy(id, "7DEF2");
    assert_true(qt_selection_add(&s, id));
    strcpy(id, "XXXXX");
    assert_true(qt_selection_has(&s, "7DEF2"));
    assert_false(qt_selection_has(&s, "XXXXX"));

    assert_true(qt_selection_remove(&s, "4ABC1"));
    assert_false(qt_selection_remove(&s, "4ABC1"));
    assert_false(qt_selection_has(&s, "4ABC1"));
    assert_int_equal(s.count, 1);

    assert_true(qt_selection_toggle(&s, "4ABC1"));   /* now tagged */
    assert_true(qt_selection_has(&s, "4ABC1"));
    assert_false(qt_selection_toggle(&s, "4ABC1"));  /* now untagged */
    assert_false(qt_selection_has(&s, "4ABC1"));
    assert_false(qt_selection_toggle(&s, "7DEF2"));
    assert_int_equal(s.count, 0);

    qt_selection_clear(&s);
    assert_int_equal(s.count, 0);
    assert_false(qt_selection_has(&s, "7DEF2"));
    /* Usable again after clear. */
    assert_true(qt_selection_add(&s, "7DEF2"));
    assert_true(qt_selection_has(&s, "7DEF2"));
    qt_selection_free(&s);
}

static void test_thousands(void **state)
{
    struct qt_selection s;
    char id[32];
    int i;

    (void)state;
    qt_selection_init(&s);
    for (i = 0; i < MANY; i++) {
        make_id(id, sizeof(id), i);
        assert_true(qt_selection_add(&s, id));
    }
    assert_int_equal(s.count, MANY);
    /* Load factor stays under 3/4, so probe chains end. */
    assert_true(s.used * 4 < s.nslots * 3);
    for (i = 0; i < MANY; i++) {
        make_id(id, sizeof(id), i);
        assert_true(qt_selection_has(&s, id));
        assert_false(qt_selection_add(&s, id));
    }
    assert_false(qt_selection_has(&s, "NOTTHERE"));
    /* Remove every other one. */
    for (i = 0; i < MANY; i += 2) {
        make_id(id, sizeof(id), i);
        assert_true(qt_selection_remove(&s, id));
    }
    assert_int_equal(s.count, MANY / 2);
    for (i = 0; i < MANY; i++) {
        make_id(id, sizeof(id), i);
        if (qt_selection_has(&s, id) != (i % 2 == 1))
            fail_msg("ID %s (%d): has() says %d after removing the even ones", id, i,
                     qt_selection_has(&s, id));
    }
    qt_selection_free(&s);
}

/* Removing leaves tombstones; adding the same IDs back reuses them, so the
 * table neither grows nor counts more used slots. */
static void test_tombstone_reuse(void **state)
{
    struct qt_selection s;
    size_t nslots, used;
    char id[32];
    int i, round;

    (void)state;
    qt_selection_init(&s);
    for (i = 0; i < 5000; i++) {
        make_id(id, sizeof(id), i);
        qt_selection_add(&s, id);
    }
    nslots = s.nslots;
    used = s.used;
    for (round = 0; round < 20; round++) {
        for (i = round % 3; i < 5000; i += 3) {
            make_id(id, sizeof(id), i);
            assert_true(qt_selection_remove(&s, id));
        }
        assert_int_equal(s.used, used);         /* tombstones still count as used */
        for (i = round % 3; i < 5000; i += 3) {
            make_id(id, sizeof(id), i);
            assert_false(qt_selection_has(&s, id));
            assert_true(qt_selection_add(&s, id));
        }
        assert_int_equal(s.count, 5000);
        assert_int_equal(s.nslots, nslots);
        assert_int_equal(s.used, used);
    }
    for (i = 0; i < 5000; i++) {
        make_id(id, sizeof(id), i);
        assert_true(qt_selection_has(&s, id));
    }
    qt_selection_free(&s);
}

/* Tagging and untagging ever new IDs (a flood going through) fills the
 * table with tombstones; rehashing must clear them instead of growing the
 * table or letting a probe run forever on a table without empty slots. */
static void test_churn_stays_small(void **state)
{
    struct qt_selection s;
    char id[32];
    int i;

    (void)state;
    qt_selection_init(&s);
    assert_true(qt_selection_add(&s, "KEEP1"));
    for (i = 0; i < 200000; i++) {
        snprintf(id, sizeof(id), "C%X", i);
        assert_true(qt_selection_add(&s, id));
        assert_true(qt_selection_has(&s, id));
        assert_false(qt_selection_has(&s, "NOTTHERE"));
        assert_true(qt_selection_remove(&s, id));
        assert_true(s.used * 4 < s.nslots * 3 + 4);
    }
    assert_int_equal(s.count, 1);
    assert_true(s.nslots <= 64);
    assert_true(qt_selection_has(&s, "KEEP1"));
    qt_selection_free(&s);
}

static void test_iterate(void **state)
{
    struct qt_selection s;
    char id[32];
    unsigned char *seen = calloc(MANY, 1);
    const char *e;
    size_t pos = 0, n = 0;
    int i;

    (void)state;
    assert_non_null(seen);
    qt_selection_init(&s);
    for (i = 0; i < MANY; i++) {
        make_id(id, sizeof(id), i);
        qt_selection_add(&s, id);
    }
    for (i = 0; i < MANY; i += 5) {     /* tombstones are skipped */
        make_id(id, sizeof(id), i);
        qt_selection_remove(&s, id);
    }
    /* Look IDs up by number cheaply: the short ones are hex, the long ones
     * carry the number after "Hk". */
    while ((e = qt_selection_next(&s, &pos))) {
        const char *hk = strstr(e, "Hk");
        int k = hk ? atoi(hk + 2) : (int)((strtol(e, NULL, 16) - 0x10000) / 7919);

        make_id(id, sizeof(id), k);
        if (k < 0 || k >= MANY || strcmp(id, e) != 0)
            k = id_number(e);
        assert_true(k >= 0);
        assert_int_equal(seen[k], 0);   /* each ID once */
        assert_true(k % 5 != 0);        /* no removed ID */
        seen[k] = 1;
        n++;
    }
    assert_int_equal(n, s.count);
    assert_int_equal(n, MANY - MANY / 5);
    assert_null(qt_selection_next(&s, &pos));   /* stays at the end */
    free(seen);
    qt_selection_free(&s);
}

struct prune_ctx {
    int calls;
    int modulus;
};

/* Keep the IDs whose number is not a multiple of ctx->modulus. */
static bool keep_not_multiple(void *arg, const char *id)
{
    struct prune_ctx *c = arg;
    const char *hk = strstr(id, "Hk");
    int k = hk ? atoi(hk + 2) : (int)((strtol(id, NULL, 16) - 0x10000) / 7919);

    c->calls++;
    return k % c->modulus != 0;
}

static bool keep_all(void *arg, const char *id)
{
    (void)id;
    ++*(int *)arg;
    return true;
}

static bool keep_none(void *arg, const char *id)
{
    (void)arg;
    (void)id;
    return false;
}

static void test_prune(void **state)
{
    struct qt_selection s;
    struct prune_ctx c = {0, 10};
    char id[32];
    size_t nslots, removed;
    int i, calls = 0;

    (void)state;
    qt_selection_init(&s);
    for (i = 0; i < MANY; i++) {
        make_id(id, sizeof(id), i);
        qt_selection_add(&s, id);
    }
    assert_int_equal(qt_selection_prune(&s, keep_all, &calls), 0);
    assert_int_equal(calls, MANY);
    assert_int_equal(s.count, MANY);

    /* A light prune (10%) leaves tombstones that later adds reuse. */
    nslots = s.nslots;
    removed = qt_selection_prune(&s, keep_not_multiple, &c);
    assert_int_equal(removed, MANY / 10);
    assert_int_equal(c.calls, MANY);
    assert_int_equal(s.count, MANY - MANY / 10);
    assert_int_equal(s.nslots, nslots);
    for (i = 0; i < MANY; i++) {
        make_id(id, sizeof(id), i);
        assert_int_equal(qt_selection_has(&s, id), i % 10 != 0);
    }
    for (i = 0; i < MANY; i += 10) {
        make_id(id, sizeof(id), i);
        assert_true(qt_selection_add(&s, id));
    }
    assert_int_equal(s.count, MANY);
    assert_int_equal(s.nslots, nslots);

    /* A heavy prune (all of them: every number is a multiple of 1)
     * rehashes, which leaves no tombstones. */
    c.modulus = 1;
    c.calls = 0;
    removed = qt_selection_prune(&s, keep_not_multiple, &c);
    assert_int_equal(removed, MANY);
    assert_int_equal(s.count, 0);
    assert_int_equal(s.used, 0);
    for (i = 0; i < MANY; i += 97) {
        make_id(id, sizeof(id), i);
        assert_false(qt_selection_has(&s, id));
    }
    /* And the set still works. */
    for (i = 0; i < 1000; i++) {
        make_id(id, sizeof(id), i);
        assert_true(qt_selection_add(&s, id));
    }
    assert_int_equal(qt_selection_prune(&s, keep_none, NULL), 1000);
    assert_int_equal(s.count, 0);
    assert_true(qt_selection_add(&s, "4ABC1"));
    assert_true(qt_selection_has(&s, "4ABC1"));
    qt_selection_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_set),
        cmocka_unit_test(test_add_remove_toggle),
        cmocka_unit_test(test_thousands),
        cmocka_unit_test(test_tombstone_reuse),
        cmocka_unit_test(test_churn_stays_small),
        cmocka_unit_test(test_iterate),
        cmocka_unit_test(test_prune),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
