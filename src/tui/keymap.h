/* Keys and the key map: which command a key runs, per context.  The map
 * is a value the app owns (the defaults, changed by the configuration). */
#ifndef QTRIAGE_TUI_KEYMAP_H
#define QTRIAGE_TUI_KEYMAP_H

#include <stddef.h>

#include "qtriage/config.h"

/* A key: a character (Unicode code point) or a curses function key. */
#define KEY_FN(k) (0x1000000 | (k))
#define KEY_CTRL(c) ((c) & 0x1f)
#define KEY_ESC 27

/* Where a key binding applies. */
enum context {
    CTX_ANY,                    /* list and viewer (and, where the command allows, stats) */
    CTX_LIST,
    CTX_VIEWER,
    CTX_HELP,
    CTX_STATS,
};

/* The same contexts as bits, for what a command applies in. */
#define CTX_BIT(ctx) (1u << (ctx))
#define CTX_ALL (CTX_BIT(CTX_LIST) | CTX_BIT(CTX_VIEWER) | CTX_BIT(CTX_HELP) | CTX_BIT(CTX_STATS))

struct key_binding {
    int key;
    enum context ctx;
    const char *command;        /* a command's name (static storage) */
};

struct keymap {
    struct key_binding *bindings;
    size_t n, cap;
};

/* The default bindings. */
void keymap_init(struct keymap *km);
/* Apply the configuration's bindings.  `command_name` maps a name to the
 * command table's own (static) copy, NULL for an unknown one (reported
 * when the file was read); the map never points into `cfg`. */
void keymap_apply_config(struct keymap *km, const struct qt_config *cfg,
                         const char *(*command_name)(const char *name));
void keymap_free(struct keymap *km);
/* The first binding of `key` in exactly `ctx`, or NULL. */
const struct key_binding *keymap_find(const struct keymap *km, int key, enum context ctx);

/* "j", "Down", "C-d", "PgDn", "Space": a key as the help shows it (and
 * as the configuration file names it). */
void describe_key(int key, char *buf, size_t size);

#endif
