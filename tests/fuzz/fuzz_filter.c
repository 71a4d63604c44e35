/* The input's first line is a filter query; the rest makes the messages it
 * is matched against:
 *   - the rest taken whole as a queue file (usually garbage: an unreadable
 *     message with empty fields, which every field must cope with);
 *   - up to three well-formed messages whose fields come from the rest's
 *     lines, six a message: sender (empty: the null sender), recipient,
 *     Subject, From, client_address, delay reason.
 * They are built the way the scanner builds them (queue file, defer log,
 * qt_msg_data_build, qt_store_upsert), so the filter sees real stores.
 *
 * Checked: a rejected query says why and where, within the query; a
 * compiled one matches every message without crashing, within pcre2's
 * limits, and "not (QUERY)" matches exactly the messages QUERY does not
 * (where no regex gave up). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "qtriage/defer_log.h"
#include "qtriage/filter.h"
#include "qtriage/message_build.h"
#include "qtriage/queue_file.h"
#include "qtriage/store.h"
#include "qtriage/text.h"

#define NOW 1800000000L
#define FIELDS_PER_MESSAGE 6
#define MAX_MESSAGES 3

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_fixed_environment();
    qt_text_init();
    return 0;
}

struct line {
    const char *text;
    size_t len;
};

static void add_message(struct qt_store *store, struct qt_arena *arena, const char *id,
                        const void *qf_bytes, size_t qf_len, const char *defer_text,
                        size_t defer_len)
{
    struct qt_defer_log log = {0};
    struct qt_queue_file qf;
    struct qt_msg_data d;
    struct stat st;
    int fd = fuzz_memfd(qf_bytes, qf_len);

    qt_queue_file_init(&qf);
    qt_queue_file_read(&qf, fd, id, false, NULL);
    FUZZ_CHECK(fstat(fd, &st) == 0, "fstat");
    if (defer_text)
        qt_defer_log_parse(&log, defer_text, defer_len);
    qt_msg_data_build(arena, &d, &qf, QT_Q_DEFERRED, &st, defer_text ? &log : NULL, NULL);
    qt_store_upsert(store, &d);
    qt_defer_log_free(&log);
    qt_queue_file_free(&qf);
    close(fd);
}

static void header_record(struct qt_buf *qf, struct qt_buf *scratch, const char *name,
                          const struct line *value)
{
    qt_buf_reset(scratch);
    qt_buf_printf(scratch, "%s: ", name);
    qt_buf_append(scratch, value->text, value->len);
    qfb_record(qf, 'N', scratch->data, scratch->len);
}

/* A well-formed message from six lines (see the top of the file). */
static void add_synthetic(struct qt_store *store, struct qt_arena *arena, int k,
                          const struct line *f)
{
    static const long ages[MAX_MESSAGES] = {30, 90 * 60, 9 * 86400};
    struct qt_buf qf = {0}, scratch = {0}, defer = {0};
    struct fuzz_qf q;
    char id[16];

    snprintf(id, sizeof(id), "SYN%dABC", k);
    fuzz_qf_begin(&q, &qf, 2);
    qt_buf_printf(&scratch, "%ld 0", NOW - ages[k]);
    qfb_record(&qf, 'T', scratch.data, scratch.len);
    qt_buf_reset(&scratch);
    qt_buf_printf(&scratch, "create_time=%ld", NOW - ages[k]);
    qfb_record(&qf, 'A', scratch.data, scratch.len);
    qt_buf_reset(&scratch);
    qt_buf_printf(&scratch, "client_address=");
    qt_buf_append(&scratch, f[4].text, f[4].len);
    qfb_record(&qf, 'A', scratch.data, scratch.len);
    qfb_str(&qf, 'A', "helo_name=fuzz.example");
    qfb_str(&qf, 'A', "sasl_username=fuzz");
    qfb_record(&qf, 'S', f[0].text, f[0].len);
    qfb_record(&qf, 'R', f[1].text, f[1].len);
    qfb_str(&qf, 'D', "done@example.net");
    fuzz_qf_content(&q);
    header_record(&qf, &scratch, "Subject", &f[2]);
    header_record(&qf, &scratch, "From", &f[3]);
    qfb_str(&qf, 'N', "");
    qfb_str(&qf, 'N', "Body.");
    fuzz_qf_extracted(&q);
    qfb_str(&qf, 'E', "");

    qt_buf_printf(&defer, "recipient=");
    qt_buf_append(&defer, f[1].text, f[1].len);
    qt_buf_printf(&defer, "\nstatus=4.4.1\nreason=");
    qt_buf_append(&defer, f[5].text, f[5].len);
    qt_buf_putc(&defer, '\n');

    add_message(store, arena, id, qf.data, qf.len, defer.data, defer.len);
    qt_buf_free(&qf);
    qt_buf_free(&scratch);
    qt_buf_free(&defer);
}

static void build_store(struct qt_store *store, struct qt_arena *arena, const char *rest,
                        size_t len)
{
    struct line f[MAX_MESSAGES * FIELDS_PER_MESSAGE];
    size_t nlines = 0, i;
    const char *p = rest, *end = rest + len;
    int k;

    add_message(store, arena, "RAW0", rest, len, NULL, 0);
    while (p < end && nlines < QT_ARRAY_LEN(f)) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));

        f[nlines].text = p;
        f[nlines].len = (size_t)((nl ? nl : end) - p);
        nlines++;
        p = nl ? nl + 1 : end;
    }
    for (i = nlines; i < QT_ARRAY_LEN(f); i++) {
        f[i].text = "";
        f[i].len = 0;
    }
    /* At least one message, more as the lines run. */
    for (k = 0; k < MAX_MESSAGES && (k == 0 || (size_t)k * FIELDS_PER_MESSAGE < nlines); k++)
        add_synthetic(store, arena, k, f + k * FIELDS_PER_MESSAGE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    const char *nl = memchr(in, '\n', size);
    size_t qlen = nl ? (size_t)(nl - in) : size;
    char *query = xstrndup(in, qlen);
    struct qt_filter_error err;
    struct qt_filter *f = qt_filter_compile(query, &err), *negated = NULL;
    struct qt_store store;
    struct qt_arena arena = {0};
    size_t i;

    if (!f) {
        FUZZ_CHECK(err.msg[0], "rejected without a message");
        FUZZ_CHECK(err.pos <= strlen(query), "error position %zu past the query (%zu bytes)",
                   err.pos, strlen(query));
        free(query);
        return 0;
    }
    qt_store_init(&store);
    build_store(&store, &arena, nl ? nl + 1 : "", nl ? size - qlen - 1 : 0);
    (void)qt_filter_uses_time(f);
    /* "not (QUERY)" must select exactly the other messages, except where a
     * regex gave up (then neither matches).  It may not compile when QUERY
     * is already nested to the limit. */
    if (!qt_filter_matches_all(f)) {
        char *negated_query = xasprintf("not (%s)", query);

        negated = qt_filter_compile(negated_query, &err);
        free(negated_query);
    }
    for (i = 0; i < store.n; i++) {
        bool hit = qt_filter_match(f, &store, &store.msgs[i], NOW);
        bool gave_up = qt_filter_runtime_error(f) != NULL;

        if (qt_filter_matches_all(f))
            FUZZ_CHECK(hit, "the empty query rejected a message");
        if (negated) {
            bool miss = qt_filter_match(negated, &store, &store.msgs[i], NOW);

            if (!gave_up && !qt_filter_runtime_error(negated))
                FUZZ_CHECK(hit != miss, "message %zu: query %d, not (query) %d", i, hit, miss);
            else
                FUZZ_CHECK(!hit && !miss, "a regex gave up, yet a message matched");
            qt_filter_clear_runtime_error(negated);
        }
        if (gave_up) {
            FUZZ_CHECK(strlen(qt_filter_runtime_error(f)) > 0, "empty runtime error");
            qt_filter_clear_runtime_error(f);
            FUZZ_CHECK(!qt_filter_runtime_error(f), "runtime error not cleared");
        }
    }
    qt_filter_free(negated);
    qt_filter_free(f);
    qt_store_free(&store);
    qt_arena_free(&arena);
    free(query);
    return 0;
}
