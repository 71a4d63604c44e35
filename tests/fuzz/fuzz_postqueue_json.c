/* The input is one line of `postqueue -j` output (made NUL-terminated, as
 * the backend's line reader hands it over).  A message that parses goes
 * into a store, as the postqueue backend's batches do.
 *
 * Checked: a parsed message has a valid queue ID, a sender and whole
 * recipients; a rejected line says why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "qtriage/backend.h"
#include "qtriage/spool.h"
#include "qtriage/store.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_fixed_environment();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = xstrndup((const char *)data, size);
    struct qt_arena arena = {0};
    struct qt_error err = {{0}};
    struct qt_msg_data d;
    struct qt_store store;
    size_t i;

    if (qt_postqueue_json_parse(line, &arena, &d, &err)) {
        FUZZ_CHECK(d.id && qt_queue_id_valid(d.id), "invalid queue ID accepted");
        FUZZ_CHECK(d.sender, "no sender");
        FUZZ_CHECK(d.queue < QT_Q_COUNT, "queue %d", (int)d.queue);
        FUZZ_CHECK(d.nrcpts == 0 || d.rcpts, "recipients without an array");
        for (i = 0; i < d.nrcpts; i++)
            FUZZ_CHECK(d.rcpts[i].address, "recipient %zu without an address", i);
        qt_store_init(&store);
        qt_store_upsert(&store, &d);
        FUZZ_CHECK(qt_store_find(&store, d.id) == 0, "message not in the store");
        qt_store_free(&store);
    } else {
        FUZZ_CHECK(err.msg[0], "rejected without a reason");
    }
    qt_arena_free(&arena);
    free(line);
    return 0;
}
