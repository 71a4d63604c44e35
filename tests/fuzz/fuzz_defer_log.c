/* The input is a defer (and, again, a bounce) log.  Its entries are joined
 * with a small well-formed queue file into a qt_msg_data, as the scanner
 * does for a deferred message, so the offset lookup of original recipients
 * and the merge with the queue file's recipients run on hostile entries.
 *
 * Checked: every entry has a recipient and a reason with no control
 * characters (Postfix's reader turns them into '?', and so does ours), and
 * what the outputs show of them (sanitised, shortened) is safe terminal
 * text: a reason is what a remote server wrote. */
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "qtriage/defer_log.h"
#include "qtriage/message_build.h"
#include "qtriage/queue_file.h"
#include "qtriage/text.h"
#include "qtriage/reason.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_fixed_environment();
    return 0;
}

/* What every output shows of a reason: the sanitiser's text, and the
 * shortened reason stats and the list's column show. */
static void check_shown(const char *reason)
{
    struct qt_buf shown = {0};

    qt_text_sanitize(&shown, reason, strlen(reason));
    fuzz_check_safe_text("shown reason", shown.data ? shown.data : "", shown.len);
    qt_buf_reset(&shown);
    qt_reason_shorten(reason, strlen(reason), true, &shown);
    fuzz_check_safe_text("shortened reason", shown.data ? shown.data : "", shown.len);
    qt_buf_free(&shown);
}

static void check_log(const struct qt_defer_log *log)
{
    size_t i;

    for (i = 0; i < log->n; i++) {
        const struct qt_defer_entry *e = &log->entries[i];

        FUZZ_CHECK(e->recipient && e->reason, "entry %zu lacks recipient or reason", i);
        fuzz_check_no_controls("log recipient", e->recipient);
        fuzz_check_no_controls("log reason", e->reason);
        check_shown(e->reason);
        check_shown(e->recipient);
        if (e->orig_rcpt)
            fuzz_check_no_controls("log original recipient", e->orig_rcpt);
        if (e->status)
            fuzz_check_no_controls("log status", e->status);
        if (e->action)
            fuzz_check_no_controls("log action", e->action);
    }
}

/* A queue file with recipients at known offsets, some with an O record. */
static int small_queue_file(void)
{
    struct qt_buf b = {0};
    struct fuzz_qf q;
    int fd;

    fuzz_qf_begin(&q, &b, 3);
    qfb_str(&b, 'T', "1795354822 123456");
    qfb_str(&b, 'S', "sender@example.org");
    qfb_str(&b, 'O', "orig@example.net");
    qfb_str(&b, 'R', "rewritten@example.net");
    qfb_str(&b, 'R', "remote@mail.example");
    qfb_str(&b, 'D', "done@mail.example");
    fuzz_qf_content(&q);
    qfb_str(&b, 'N', "Subject: x");
    qfb_str(&b, 'N', "");
    qfb_str(&b, 'N', "body");
    fuzz_qf_extracted(&q);
    qfb_str(&b, 'E', "");
    fd = fuzz_memfd(b.data, b.len);
    qt_buf_free(&b);
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct qt_defer_log defer = {0}, bounce = {0};
    struct qt_queue_file qf;
    struct qt_arena arena = {0};
    struct qt_msg_data d;
    struct stat st;
    int fd = small_queue_file();
    size_t i;

    qt_defer_log_parse(&defer, (const char *)data, size);
    check_log(&defer);
    /* A reused log (the scanner's workers keep theirs) parses the same. */
    qt_defer_log_reset(&defer);
    qt_defer_log_parse(&defer, (const char *)data, size);
    check_log(&defer);
    qt_defer_log_parse(&bounce, (const char *)data, size);
    FUZZ_CHECK(bounce.n == defer.n, "second parse found %zu entries, first %zu", bounce.n,
               defer.n);

    qt_queue_file_init(&qf);
    qt_queue_file_read(&qf, fd, "501FBA72379", false, NULL);
    FUZZ_CHECK(!qf.unreadable, "the harness's own queue file: %s", qf.error);
    FUZZ_CHECK(fstat(fd, &st) == 0, "fstat");
    qt_msg_data_build(&arena, &d, &qf, QT_Q_DEFERRED, &st, &defer, &bounce);
    FUZZ_CHECK(d.nrcpts >= 2 * defer.n, "%zu recipients from %zu log entries", d.nrcpts,
               defer.n);
    for (i = 0; i < d.nrcpts; i++) {
        fuzz_check_no_controls("built recipient", d.rcpts[i].address);
        if (d.rcpts[i].orig)
            fuzz_check_no_controls("built original recipient", d.rcpts[i].orig);
    }

    qt_arena_free(&arena);
    qt_queue_file_free(&qf);
    qt_defer_log_free(&defer);
    qt_defer_log_free(&bounce);
    close(fd);
    return 0;
}
