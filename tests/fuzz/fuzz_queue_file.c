/* The input is a queue file.  It is read three times into one struct (so
 * the reuse path is covered): as a queued file with the default limits, as
 * a maildrop file, and with tiny limits that make every cap bite; each
 * result becomes a qt_msg_data and goes into a store, as the scanner does.
 *
 * Checked: the parse ends, the decoded Subject/From are safe terminal text
 * within their cap, the addresses postqueue would show have no control
 * characters, an unreadable file says why.
 *
 * Then the same with the input as the message content of a well-formed
 * queue file (fuzz_wrap_message), for the header collector and decoder. */
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "qtriage/message_build.h"
#include "qtriage/queue_file.h"
#include "qtriage/store.h"
#include "qtriage/text.h"

static const struct qt_queue_file_limits tiny_limits = {
    .max_record = 256,
    .max_header_bytes = 64,
    .max_headers = 3,
    .max_decoded = 16,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_fixed_environment();
    qt_text_init();
    return 0;
}

static void check_parsed(const struct qt_queue_file *qf, bool ok,
                         const struct qt_queue_file_limits *lim)
{
    size_t i;

    FUZZ_CHECK(ok == !qf->unreadable, "return value disagrees with unreadable");
    FUZZ_CHECK(!qf->unreadable || qf->error[0], "unreadable without a reason");
    FUZZ_CHECK(!ok || qf->have_sender, "readable without a sender");
    FUZZ_CHECK(!qf->have_sender || qf->sender, "have_sender with a NULL sender");
    FUZZ_CHECK(qf->nheaders <= lim->max_headers, "%zu headers, limit %zu", qf->nheaders,
               lim->max_headers);
    if (qf->subject) {
        fuzz_check_safe_text("decoded Subject", qf->subject, strlen(qf->subject));
        FUZZ_CHECK(strlen(qf->subject) <= lim->max_decoded, "Subject of %zu bytes",
                   strlen(qf->subject));
    }
    if (qf->from) {
        fuzz_check_safe_text("decoded From", qf->from, strlen(qf->from));
        FUZZ_CHECK(strlen(qf->from) <= lim->max_decoded, "From of %zu bytes", strlen(qf->from));
    }
    for (i = 0; i < qf->nrcpts; i++)
        FUZZ_CHECK(qf->rcpts[i].address, "recipient %zu without an address", i);
    for (i = 0; i < qf->nheaders; i++)
        FUZZ_CHECK(qf->headers[i].name && qf->headers[i].value, "header %zu incomplete", i);
}

static void check_built(const struct qt_msg_data *d)
{
    size_t i;

    fuzz_check_no_controls("sender", d->sender);
    for (i = 0; i < d->nrcpts; i++) {
        fuzz_check_no_controls("recipient", d->rcpts[i].address);
        if (d->rcpts[i].orig)
            fuzz_check_no_controls("original recipient", d->rcpts[i].orig);
    }
    if (d->attrs) {
        FUZZ_CHECK(d->attrs_len >= 2 && d->attrs[d->attrs_len - 1] == 0 &&
                   d->attrs[d->attrs_len - 2] == 0, "attribute list not terminated");
    }
}

static void read_file(const void *data, size_t size, bool well_formed)
{
    static const struct {
        const char *id;
        enum qt_queue queue;
        bool maildrop;
        const struct qt_queue_file_limits *lim;
    } passes[] = {
        {"4F2A1B3C5D", QT_Q_DEFERRED, false, &qt_queue_file_default_limits},
        {"4F2A1B3C5E", QT_Q_MAILDROP, true, &qt_queue_file_default_limits},
        {"4bQnZx2lmPzB7T", QT_Q_HOLD, false, &tiny_limits},
    };
    struct qt_queue_file qf;
    struct qt_store store;
    struct qt_arena arena = {0};
    struct stat st;
    int fd = fuzz_memfd(data, size);
    size_t i;

    qt_queue_file_init(&qf);
    qt_store_init(&store);
    FUZZ_CHECK(fstat(fd, &st) == 0, "fstat");
    for (i = 0; i < QT_ARRAY_LEN(passes); i++) {
        struct qt_msg_data d;
        bool ok = qt_queue_file_read(&qf, fd, passes[i].id, passes[i].maildrop, passes[i].lim);

        check_parsed(&qf, ok, passes[i].lim);
        if (well_formed && passes[i].lim == &qt_queue_file_default_limits)
            FUZZ_CHECK(ok, "a well-formed queue file is unreadable: %s", qf.error);
        qt_msg_data_build(&arena, &d, &qf, passes[i].queue, &st, NULL, NULL);
        check_built(&d);
        qt_store_upsert(&store, &d);
        FUZZ_CHECK(qt_store_find(&store, passes[i].id) >= 0, "message not in the store");
        qt_arena_reset(&arena);
    }
    qt_arena_free(&arena);
    qt_store_free(&store);
    qt_queue_file_free(&qf);
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct qt_buf wrapped = {0};

    read_file(data, size, false);
    fuzz_wrap_message(&wrapped, (const char *)data, size);
    read_file(wrapped.data, wrapped.len, true);
    qt_buf_free(&wrapped);
    return 0;
}
