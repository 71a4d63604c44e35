/* The spool scanner and actions against a real Postfix instance: rescans are
 * incremental (unchanged and merely moved files are not parsed again), moves,
 * expiry and deletions made through postsuper show up, and nothing else
 * changes.  Brings up its own test bed with tests/testbed/testbed.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qtriage/actions.h"
#include "qtriage/backend.h"
#include "qtriage/proc.h"
#include "qtriage/scanner.h"

struct bed {
    char dir[64];
    char config[96];
    struct qt_spool_layout layout;
    struct qt_feed feed;
    struct qt_store store;
    struct qt_backend *backend;
};

static void testbed(const char *verb, const char *dir, const char *arg)
{
    const char *script = getenv("QTRIAGE_TESTBED");
    const char *argv[] = {"/bin/bash", script, verb, dir, arg, NULL};
    struct qt_proc_spec spec = {.argv = argv};
    struct qt_proc_result res;

    assert_non_null(script);
    if (!qt_proc_run(&spec, &res)) {
        fprintf(stderr, "testbed.sh %s failed: %s%s\n", verb, res.out.data ? res.out.data : "",
                res.err.data ? res.err.data : "");
        fail();
    }
    qt_proc_result_free(&res);
}

static void fail_on_error(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "scan error: %s\n", msg);
    fail();
}

static unsigned long scan(struct bed *b)
{
    struct qt_scan_stats st;

    assert_true(qt_backend_load(b->backend, &b->store, fail_on_error, NULL));
    qt_scanner_stats(b->backend->priv, &st);
    return st.parsed;
}

static int setup(void **state)
{
    struct bed *b = calloc(1, sizeof(*b));
    struct qt_error err;

    strcpy(b->dir, "/tmp/qtriage-rescan-XXXXXX");
    if (!mkdtemp(b->dir))
        return -1;
    snprintf(b->config, sizeof(b->config), "%s/etc", b->dir);
    testbed("up", b->dir, NULL);
    testbed("inject-corpus", b->dir, "40");
    testbed("settle", b->dir, NULL);
    if (!qt_spool_layout_load(&b->layout, b->config, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    qt_feed_init(&b->feed);
    qt_store_init(&b->store);
    b->backend = qt_backend_open(&b->layout, &b->feed, QT_BACKEND_SPOOL, &err);
    if (!b->backend) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    *state = b;
    return 0;
}

static int teardown(void **state)
{
    struct bed *b = *state;

    qt_backend_close(b->backend);
    qt_store_free(&b->store);
    qt_feed_destroy(&b->feed);
    qt_spool_layout_free(&b->layout);
    testbed("down", b->dir, "--purge");
    free(b);
    return 0;
}

/* IDs of the first `n` messages in `queue`. */
static size_t pick(struct bed *b, enum qt_queue queue, struct qt_action_target *t, size_t n)
{
    size_t i, k = 0;

    for (i = 0; i < b->store.n && k < n; i++)
        if (b->store.msgs[i].queue == queue) {
            t[k].id = strdup(qt_store_str(&b->store, b->store.msgs[i].id));
            t[k].queue = queue;
            k++;
        }
    return k;
}

static void act(struct bed *b, enum qt_action a, struct qt_action_target *t, size_t n,
                size_t want_acted)
{
    struct qt_action_result res;

    assert_true(qt_action_run(&b->layout, a, t, n, NULL, &res));
    assert_int_equal(res.acted, want_acted);
    qt_action_result_free(&res);
}

static void test_incremental_rescans(void **state)
{
    struct bed *b = *state;
    struct qt_action_target held[3], gone[2], exp[1];
    size_t total, i;
    char subject[3][256];
    long idx;

    i = scan(b);
    total = b->store.n;
    assert_int_equal(i, total);
    assert_true(total >= 35);
    assert_true(b->store.per_queue[QT_Q_HOLD] > 0);
    /* Nothing changed: nothing is parsed again. */
    assert_int_equal(scan(b), 0);
    assert_int_equal(b->store.n, total);

    /* Hold three: renames keep inode, size and mtime, so the scanner only
     * moves them; their parsed data (Subject) stays. */
    assert_int_equal(pick(b, QT_Q_DEFERRED, held, 3), 3);
    for (i = 0; i < 3; i++) {
        const char *subj;

        idx = qt_store_find(&b->store, held[i].id);
        subj = qt_store_str(&b->store, b->store.msgs[idx].subject);
        assert_non_null(subj);
        snprintf(subject[i], sizeof(subject[i]), "%s", subj ? subj : "");
    }
    act(b, QT_ACT_HOLD, held, 3, 3);
    assert_int_equal(scan(b), 0);
    for (i = 0; i < 3; i++) {
        idx = qt_store_find(&b->store, held[i].id);
        assert_true(idx >= 0);
        assert_int_equal(b->store.msgs[idx].queue, QT_Q_HOLD);
        assert_string_equal(qt_store_str(&b->store, b->store.msgs[idx].subject), subject[i]);
    }
    assert_int_equal(b->store.n, total);

    /* Release them again. */
    for (i = 0; i < 3; i++)
        held[i].queue = QT_Q_HOLD;
    act(b, QT_ACT_RELEASE, held, 3, 3);
    scan(b);
    for (i = 0; i < 3; i++)
        assert_int_equal(b->store.msgs[qt_store_find(&b->store, held[i].id)].queue,
                         QT_Q_DEFERRED);

    /* Force-expire one: only its mode changes. */
    assert_int_equal(pick(b, QT_Q_DEFERRED, exp, 1), 1);
    act(b, QT_ACT_EXPIRE, exp, 1, 1);
    assert_int_equal(scan(b), 0);
    assert_true(b->store.msgs[qt_store_find(&b->store, exp[0].id)].flags & QT_MSG_FORCED_EXPIRE);

    /* Delete two: they go, nothing else does. */
    assert_int_equal(pick(b, QT_Q_HOLD, gone, 2), 2);
    act(b, QT_ACT_DELETE, gone, 2, 2);
    assert_int_equal(scan(b), 0);
    assert_int_equal(b->store.n, total - 2);
    for (i = 0; i < 2; i++)
        assert_int_equal(qt_store_find(&b->store, gone[i].id), -1);
    for (i = 0; i < 3; i++)
        assert_true(qt_store_find(&b->store, held[i].id) >= 0);

    for (i = 0; i < 3; i++)
        free((char *)held[i].id);
    for (i = 0; i < 2; i++)
        free((char *)gone[i].id);
    free((char *)exp[0].id);
}

/* Deleting again, or IDs that never existed: reported gone, not failures. */
static void test_gone_ids(void **state)
{
    struct bed *b = *state;
    struct qt_action_target t[2] = {{"4ZZZZZZZZZ", QT_Q_DEFERRED}, {"4YYYYYYYYY", QT_Q_COUNT}};
    struct qt_action_result res;

    assert_true(qt_action_run(&b->layout, QT_ACT_DELETE, t, 2, NULL, &res));
    assert_int_equal(res.acted, 0);
    assert_int_equal(res.ngone, 2);
    assert_int_equal(res.requested, 2);
    qt_action_result_free(&res);
}

/* A bad ID anywhere in the set: nothing runs. */
static void test_invalid_ids_refused(void **state)
{
    struct bed *b = *state;
    struct qt_action_target t[2];
    struct qt_action_result res;
    size_t before = b->store.n;

    assert_int_equal(pick(b, QT_Q_DEFERRED, t, 1), 1);
    t[1].id = "x;rm -rf /";
    t[1].queue = QT_Q_COUNT;
    assert_false(qt_action_run(&b->layout, QT_ACT_DELETE, t, 2, NULL, &res));
    assert_int_equal(res.ninvalid, 1);
    assert_int_equal(res.acted, 0);
    qt_action_result_free(&res);
    scan(b);
    assert_int_equal(b->store.n, before);
    assert_true(qt_store_find(&b->store, t[0].id) >= 0);
    free((char *)t[0].id);
}

/* Write `len` bytes of fixture `name` into the instance's hold queue as
 * queue file `id` with `mode`. */
static void plant(struct bed *b, const char *name, size_t len, const char *id, mode_t mode)
{
    char src[1024], dst[1024], buf[65536];
    int in, out;
    ssize_t n;

    snprintf(src, sizeof(src), "%s/%s", getenv("QTRIAGE_TEST_DATA"), name);
    snprintf(dst, sizeof(dst), "%s/hold/%s", b->layout.queue_directory, id);
    in = open(src, O_RDONLY);
    assert_true(in >= 0);
    out = open(dst, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(out >= 0);
    n = read(in, buf, sizeof(buf));
    assert_true(n > 0);
    if ((size_t)n > len)
        n = (ssize_t)len;
    assert_int_equal(write(out, buf, (size_t)n), n);
    close(in);
    assert_int_equal(fchmod(out, mode), 0);
    close(out);
}

static void unplant(struct bed *b, const char *id)
{
    char path[1024];

    snprintf(path, sizeof(path), "%s/hold/%s", b->layout.queue_directory, id);
    assert_int_equal(unlink(path), 0);
}

/* A file still being written (mode 0600) is skipped as Postfix skips it;
 * once it is 0700 it is listed.  A truncated file is listed as unreadable
 * with the reason, and the rest of the queue is unaffected. */
static void test_unfinished_and_damaged_files(void **state)
{
    struct bed *b = *state;
    size_t before;
    long i;

    scan(b);
    before = b->store.n;
    plant(b, "hold-gb2312-subject.qf", 1 << 20, "4DEC0Y1234", 0600);
    scan(b);
    assert_int_equal(b->store.n, before);
    assert_int_equal(qt_store_find(&b->store, "4DEC0Y1234"), -1);
    unplant(b, "4DEC0Y1234");
    plant(b, "hold-gb2312-subject.qf", 1 << 20, "4DEC0Y1234", 0700);
    scan(b);
    assert_int_equal(b->store.n, before + 1);
    i = qt_store_find(&b->store, "4DEC0Y1234");
    assert_true(i >= 0);
    assert_int_equal(b->store.msgs[i].queue, QT_Q_HOLD);
    assert_false(b->store.msgs[i].flags & QT_MSG_UNREADABLE);
    unplant(b, "4DEC0Y1234");

    plant(b, "deferred-multipart-attach.qf", 300, "4BAD0F1235", 0700);
    scan(b);
    i = qt_store_find(&b->store, "4BAD0F1235");
    assert_true(i >= 0);
    assert_true(b->store.msgs[i].flags & QT_MSG_UNREADABLE);
    assert_non_null(strstr(qt_store_str(&b->store, b->store.msgs[i].error), "truncated"));
    unplant(b, "4BAD0F1235");
    scan(b);
    assert_int_equal(b->store.n, before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_incremental_rescans),
        cmocka_unit_test(test_gone_ids),
        cmocka_unit_test(test_invalid_ids_refused),
        cmocka_unit_test(test_unfinished_and_damaged_files),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
