/* The default key table, the configuration's changes to it, and key names. */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keymap.h"
#include "qtriage/util.h"

static const struct key_binding default_key_bindings[] = {
    {'j', CTX_ANY, "down"},
    {KEY_FN(KEY_DOWN), CTX_ANY, "down"},
    {'k', CTX_ANY, "up"},
    {KEY_FN(KEY_UP), CTX_ANY, "up"},
    {KEY_FN(KEY_NPAGE), CTX_ANY, "page-down"},
    {KEY_CTRL('f'), CTX_ANY, "page-down"},
    {' ', CTX_VIEWER, "page-down"},
    {KEY_FN(KEY_PPAGE), CTX_ANY, "page-up"},
    {KEY_CTRL('b'), CTX_ANY, "page-up"},
    {'b', CTX_VIEWER, "page-up"},
    {KEY_CTRL('d'), CTX_ANY, "half-down"},
    {KEY_CTRL('u'), CTX_ANY, "half-up"},
    {'g', CTX_ANY, "top"},
    {KEY_FN(KEY_HOME), CTX_ANY, "top"},
    {'G', CTX_ANY, "bottom"},
    {KEY_FN(KEY_END), CTX_ANY, "bottom"},
    {'\n', CTX_LIST, "open"},
    {'\r', CTX_LIST, "open"},
    {KEY_FN(KEY_ENTER), CTX_LIST, "open"},
    {'q', CTX_VIEWER, "close"},
    {KEY_ESC, CTX_ANY, "close"},
    {'z', CTX_ANY, "toggle-split"},
    {'m', CTX_VIEWER, "view-mode"},
    {'\t', CTX_VIEWER, "view-mode"},
    {'l', CTX_ANY, "history"},
    {'J', CTX_VIEWER, "next-message"},
    {'K', CTX_VIEWER, "prev-message"},
    {'f', CTX_ANY, "filter"},
    {'\\', CTX_ANY, "filter"},
    {'F', CTX_LIST, "clear-filter"},
    {'/', CTX_ANY, "search"},
    {'n', CTX_ANY, "search-next"},
    {'N', CTX_ANY, "search-prev"},
    {'o', CTX_LIST, "sort"},
    {'O', CTX_LIST, "sort-reverse"},
    {'c', CTX_LIST, "columns"},
    {'t', CTX_ANY, "tag"},
    {' ', CTX_LIST, "tag"},
    {'v', CTX_LIST, "tag-range"},
    {'T', CTX_LIST, "tag-all"},
    {'U', CTX_LIST, "untag-all"},
    {'~', CTX_LIST, "invert-tags"},
    {'h', CTX_ANY, "hold"},
    {'H', CTX_ANY, "release"},
    {'r', CTX_ANY, "requeue"},
    {'d', CTX_ANY, "delete"},
    {'e', CTX_ANY, "expire"},
    {'i', CTX_ANY, "deliver"},
    {'E', CTX_ANY, "export"},
    {'s', CTX_LIST, "stats"},
    {'s', CTX_STATS, "stats"},
    {'\t', CTX_STATS, "stats-next"},
    {KEY_FN(KEY_RIGHT), CTX_STATS, "stats-next"},
    {KEY_FN(KEY_BTAB), CTX_STATS, "stats-prev"},
    {KEY_FN(KEY_LEFT), CTX_STATS, "stats-prev"},
    {'\n', CTX_STATS, "stats-filter"},
    {'\r', CTX_STATS, "stats-filter"},
    {KEY_FN(KEY_ENTER), CTX_STATS, "stats-filter"},
    {'t', CTX_STATS, "stats-tag"},
    {' ', CTX_STATS, "stats-tag"},
    {'w', CTX_STATS, "stats-queues"},
    {'o', CTX_STATS, "stats-sort"},
    {'B', CTX_STATS, "stats-block"},
    {'q', CTX_STATS, "close"},
    {'U', CTX_STATS, "untag-all"},
    {'K', CTX_LIST, "keep-doing"},
    {'K', CTX_STATS, "keep-doing"},
    {'W', CTX_ANY, "rules"},
    {'X', CTX_ANY, "stop-action"},
    {'R', CTX_ANY, "rescan"},
    {KEY_CTRL('l'), CTX_ANY, "redraw"},
    {':', CTX_ANY, "command"},
    {'?', CTX_ANY, "help"},
    {KEY_FN(KEY_F(1)), CTX_ANY, "help"},
    {'q', CTX_LIST, "quit"},
    {'Q', CTX_ANY, "quit"},
};

void keymap_init(struct keymap *km)
{
    km->n = QT_ARRAY_LEN(default_key_bindings);
    km->cap = 0;
    km->bindings = xgrow(NULL, &km->cap, km->n, sizeof(*km->bindings));
    memcpy(km->bindings, default_key_bindings, sizeof(default_key_bindings));
}

void keymap_free(struct keymap *km)
{
    free(km->bindings);
    memset(km, 0, sizeof(*km));
}

const struct key_binding *keymap_find(const struct keymap *km, int key, enum context ctx)
{
    size_t i;

    for (i = 0; i < km->n; i++)
        if (km->bindings[i].key == key && km->bindings[i].ctx == ctx)
            return &km->bindings[i];
    return NULL;
}

/* The curses keys a configuration key stands for (Enter is three). */
static size_t curses_keys(int qkey, int *out)
{
    static const struct {
        int qkey, key;
    } named[] = {
        {QT_KEY_ENTER, '\r'},
        {QT_KEY_ENTER, '\n'},
        {QT_KEY_ENTER, KEY_FN(KEY_ENTER)},
        {QT_KEY_UP, KEY_FN(KEY_UP)},
        {QT_KEY_DOWN, KEY_FN(KEY_DOWN)},
        {QT_KEY_LEFT, KEY_FN(KEY_LEFT)},
        {QT_KEY_RIGHT, KEY_FN(KEY_RIGHT)},
        {QT_KEY_PGUP, KEY_FN(KEY_PPAGE)},
        {QT_KEY_PGDN, KEY_FN(KEY_NPAGE)},
        {QT_KEY_HOME, KEY_FN(KEY_HOME)},
        {QT_KEY_END, KEY_FN(KEY_END)},
        {QT_KEY_INSERT, KEY_FN(KEY_IC)},
        {QT_KEY_DELETE, KEY_FN(KEY_DC)},
        {QT_KEY_BACKSPACE, KEY_FN(KEY_BACKSPACE)},
        {QT_KEY_BACKSPACE, 127},
        {QT_KEY_BTAB, KEY_FN(KEY_BTAB)},
    };
    size_t i, n = 0;

    if (qkey > QT_KEY_F0 && qkey <= QT_KEY_F12) {
        out[0] = KEY_FN(KEY_F(qkey - QT_KEY_F0));
        return 1;
    }
    for (i = 0; i < QT_ARRAY_LEN(named); i++)
        if (named[i].qkey == qkey)
            out[n++] = named[i].key;
    if (!n)
        out[n++] = qkey;
    return n;
}

void describe_key(int key, char *buf, size_t size)
{
    int qkey, keys[4];
    size_t i, n;

    if (key >= KEY_FN(KEY_F(1)) && key <= KEY_FN(KEY_F(12))) {
        qt_config_key_name(QT_KEY_F0 + (key - KEY_FN(KEY_F0)), buf, size);
        return;
    }
    for (qkey = QT_KEY_ENTER; qkey <= QT_KEY_BTAB; qkey++)
        for (i = 0, n = curses_keys(qkey, keys); i < n; i++)
            if (keys[i] == key) {
                qt_config_key_name(qkey, buf, size);
                return;
            }
    if (key & 0x1000000)
        snprintf(buf, size, "key %d", key & 0xffffff);
    else
        qt_config_key_name(key, buf, size);
}

/* Bind curses key `key` in `ctx` to `command` (NULL: unbind). */
static void keymap_bind(struct keymap *km, int key, enum context ctx, const char *command)
{
    size_t i = 0;

    while (i < km->n) {
        struct key_binding *k = &km->bindings[i];

        if (k->key != key || !(ctx == CTX_ANY || k->ctx == ctx || k->ctx == CTX_ANY)) {
            i++;
            continue;
        }
        if (ctx != CTX_ANY && k->ctx == CTX_ANY) {
            /* The other pane keeps what the key did there. */
            k->ctx = ctx == CTX_LIST ? CTX_VIEWER : CTX_LIST;
            i++;
            continue;
        }
        memmove(k, k + 1, (km->n - i - 1) * sizeof(*k));
        km->n--;
    }
    if (command) {
        km->bindings = xgrow(km->bindings, &km->cap, km->n + 1, sizeof(*km->bindings));
        km->bindings[km->n++] = (struct key_binding){key, ctx, command};
    }
}


void keymap_apply_config(struct keymap *km, const struct qt_config *cfg,
                         const char *(*command_name)(const char *name))
{
    size_t i, j, n;

    for (i = 0; i < cfg->nbinds; i++) {
        const struct qt_config_binding *b = &cfg->binds[i];
        const char *name = NULL;
        enum context ctx = b->context == QT_BIND_LIST     ? CTX_LIST
                           : b->context == QT_BIND_VIEWER ? CTX_VIEWER
                                                          : CTX_ANY;
        int keys[4];

        /* The configuration was read with tui_command_exists: unknown
         * ones were reported there and are skipped here. */
        if (b->command && !(name = command_name(b->command)))
            continue;
        n = curses_keys(b->key, keys);
        for (j = 0; j < n; j++)
            keymap_bind(km, keys[j], ctx, name);
    }
}
