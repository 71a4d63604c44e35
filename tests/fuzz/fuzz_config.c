/* The input is a configuration file (qt_config_parse from memory, as
 * qt_config_read_file parses what it read), parsed into a fresh struct and
 * again on top of the first result, as the system file and then the
 * user's are.
 *
 * Checked: a bad line never stops the parse (the same input parsed twice
 * gives twice the warnings); every warning is safe terminal text, since it
 * goes to standard error and the TUI's status line; every string kept is
 * NUL-terminated within the input's size; every binding names a key in
 * range and a file that was read. */
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "qtriage/config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_fixed_environment();
    return 0;
}

static void check_string(const char *what, const char *s, size_t size)
{
    if (s)
        FUZZ_CHECK(strlen(s) <= size, "%s longer than the input", what);
}

static void check_config(const struct qt_config *c, size_t size)
{
    size_t i;

    for (i = 0; i < c->nwarnings; i++)
        fuzz_check_safe_text("warning", c->warnings[i], strlen(c->warnings[i]));
    check_string("columns", c->columns, size);
    check_string("sort", c->sort, size);
    check_string("filter", c->filter, size);
    check_string("backup_dir", c->backup_dir, size);
    for (i = 0; i < c->nbinds; i++) {
        const struct qt_config_binding *b = &c->binds[i];

        FUZZ_CHECK(b->key > 0 && b->key <= QT_KEY_F12, "binding of key %d", b->key);
        FUZZ_CHECK(b->file && b->line > 0, "binding without its place");
        check_string("binding command", b->command, size);
    }
    for (i = 0; i < QT_COLOR_COUNT; i++)
        if (c->colors[i].set)
            FUZZ_CHECK(c->colors[i].fg >= -1 && c->colors[i].fg <= 255 &&
                       c->colors[i].bg >= -1 && c->colors[i].bg <= 255,
                       "colour %zu: %d/%d", i, c->colors[i].fg, c->colors[i].bg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct qt_config c;
    size_t once;

    qt_config_init(&c);
    qt_config_parse(&c, "/etc/qtriage.conf", (const char *)data, size);
    check_config(&c, size);
    once = c.nwarnings;
    qt_config_parse(&c, "/root/.config/qtriage/config", (const char *)data, size);
    check_config(&c, size);
    FUZZ_CHECK(c.nwarnings == 2 * once, "%zu warnings after the second parse, %zu after the first",
               c.nwarnings, once);
    qt_config_free(&c);
    return 0;
}
