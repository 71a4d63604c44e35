/* The statistics pane's B: an access-table entry for the row's source
 * (block_prompt.h), and the expiry of such entries while the view runs. */
#include "block_prompt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "prompt.h"
#include "script.h"
#include "stats_pane.h"
#include "qtriage/block.h"
#include "qtriage/fleet.h"
#include "qtriage/queue_settings.h"

/* Expiry is checked this often; entries live for minutes to hours. */
#define EXPIRE_EVERY_MS 10000
#define DEFAULT_EXPIRY "1h"

struct tui_block {
    struct qt_block_tables tables;
    bool opened;
    bool broken;                /* the tables cannot be used: said once, not retried */
    char why_broken[512];
    bool expiry_stopped;        /* expiring failed: said once, not retried */
    int64_t next_expire_ms;
    enum qt_block_kind kind;    /* what the open prompt blocks */
    char key[QT_BLOCK_KEY_MAX + 1];
};

static struct tui_block *state(struct app *a)
{
    if (!a->block)
        a->block = xcalloc(1, sizeof(*a->block));
    return a->block;
}

static bool tables(struct app *a, struct qt_error *err)
{
    struct tui_block *b = state(a);

    if (b->broken) {
        qt_error_set(err, "%s", b->why_broken);
        return false;
    }
    if (!b->opened && !qt_block_tables_open(&b->tables, &a->layout, err)) {
        b->broken = true;
        snprintf(b->why_broken, sizeof(b->why_broken), "%s", err->msg);
        return false;
    }
    b->opened = true;
    return true;
}

/* A blocked source's key comes from the group; these groupings have one. */
static bool kind_of_view(int by, enum qt_block_kind *kind)
{
    switch (by) {
    case QT_BY_SASL:
        *kind = QT_BLOCK_SASL;
        return true;
    case QT_BY_CLIENT:
        *kind = QT_BLOCK_CLIENT;
        return true;
    case QT_BY_SENDER:
        *kind = QT_BLOCK_SENDER;
        return true;
    case QT_BY_SENDER_DOMAIN:
        *kind = QT_BLOCK_SENDER_DOMAIN;
        return true;
    default:
        return false;
    }
}

/* "in place" or what is missing, for the message line. */
static void wiring_words(struct app *a, enum qt_block_kind kind, char *buf, size_t size)
{
    struct tui_block *b = state(a);
    struct qt_block_wiring w;
    struct qt_error err = {""};
    enum qt_block_table t = qt_block_kind_table(kind);

    if (!qt_block_wiring_check(&b->tables, &w, &err)) {
        snprintf(buf, size, "cannot tell whether smtpd uses it: %s", err.msg);
        return;
    }
    if (w.in_place[t])
        snprintf(buf, size, "restriction in place");
    else
        snprintf(buf, size, "restriction NOT in place (%s); qtriage block list prints the "
                 "main.cf line", w.why[t]);
    qt_block_wiring_free(&w);
}

static unsigned block_submit(struct app *a, const char *text)
{
    struct tui_block *b = state(a);
    struct qt_block_entry e = {.kind = b->kind, .key = b->key};
    struct qt_error err = {""};
    char word[32], next[32], dur[32] = DEFAULT_EXPIRY, how[400];
    const char *p = text;
    int64_t now = app_wall_clock(a), secs;
    int n = 0;

    while (*p == ' ')
        p++;
    if (sscanf(p, "%31s%n", word, &n) != 1 || !qt_block_action_from_name(word, &e.action)) {
        app_message(a, true, "block: start with hold, defer or reject");
        return R_REDRAW;
    }
    p += n;
    while (*p == ' ')
        p++;
    secs = qt_postfix_time(DEFAULT_EXPIRY, 's');
    n = 0;
    if (sscanf(p, "%31s%n", next, &n) == 1 &&
        (strcmp(next, "never") == 0 || qt_postfix_time(next, 's') >= 0)) {
        snprintf(dur, sizeof(dur), "%s", next);
        secs = strcmp(dur, "never") == 0 ? 0 : qt_postfix_time(dur, 's');
        p += n;
        while (*p == ' ')
            p++;
    }
    e.text = (char *)p;
    e.added = now;
    e.expires = secs ? now + secs : 0;
    if (!qt_block_text_valid(e.text, &err) || !tables(a, &err) ||
        !qt_block_add(&b->tables, &e, &err)) {
        app_message(a, true, "block: %s", err.msg);
        return R_REDRAW;
    }
    prompt_close(a);
    wiring_words(a, e.kind, how, sizeof(how));
    app_message(a, false, "blocked %s %s: %s, %s%s; %s", qt_block_kind_name(e.kind), b->key,
                word, secs ? "expires in " : "no expiry", secs ? dur : "", how);
    return R_REDRAW;
}

static const struct prompt_type block_prompt = {
    .submit = block_submit,
};

unsigned block_from_stats(struct app *a)
{
    struct tui_block *b = state(a);
    struct qt_error err = {""};
    const char *key;
    size_t key_len, how_len;
    char raw[QT_BLOCK_KEY_MAX + 1], label[QT_BLOCK_KEY_MAX + 160], how[400];
    int by;

    if (!stats_row_source(a, &by, &key, &key_len) || !kind_of_view(by, &b->kind)) {
        app_message(a, true, "block: pick a row of the sasl, client, sender or sender_domain "
                             "view (Tab)");
        return R_REDRAW;
    }
    if (geteuid() != 0) {
        app_message(a, true, "block: changing Postfix's access tables needs root");
        return R_REDRAW;
    }
    if (qt_backend_is_fleet(a->backend)) {
        app_message(a, true, "block: the access tables are on each host: run qtriage block "
                             "there (ssh HOST qtriage block add ...)");
        return R_REDRAW;
    }
    if (key_len == 0 || key_len >= sizeof(raw) || memchr(key, '\0', key_len)) {
        app_message(a, true, "block: this group has no key to block");
        return R_REDRAW;
    }
    memcpy(raw, key, key_len);
    raw[key_len] = '\0';
    if (!qt_block_key_normalize(b->kind, raw, b->key, sizeof(b->key), &err)) {
        app_message(a, true, "block: %s", err.msg);
        return R_REDRAW;
    }
    if (!tables(a, &err)) {
        app_message(a, true, "block: %s", err.msg);
        return R_REDRAW;
    }
    wiring_words(a, b->kind, how, sizeof(how));
    how_len = strcspn(how, "(;");
    while (how_len > 0 && how[how_len - 1] == ' ')
        how_len--;
    snprintf(label, sizeof(label), "block %s %s (%.*s): hold|defer|reject [EXPIRY|never] [TEXT]: ",
             qt_block_kind_name(b->kind), b->key, (int)how_len, how);
    prompt_open(a, &block_prompt, label, "hold " DEFAULT_EXPIRY);
    return R_REDRAW;
}

unsigned block_tick(struct app *a)
{
    struct qt_block_entry *gone = NULL;
    struct qt_error err = {""};
    struct tui_block *b;
    size_t n = 0;
    int64_t now = app_now_ms();

    /* Only root changes the tables; a scripted run has no Postfix, a
     * fleet's tables are on its hosts. */
    if (a->script || geteuid() != 0 || a->backend->read_only ||
        qt_backend_is_fleet(a->backend))
        return R_NONE;
    b = state(a);
    if (b->broken || b->expiry_stopped || now < b->next_expire_ms)
        return R_NONE;
    b->next_expire_ms = now + EXPIRE_EVERY_MS;
    if (!tables(a, &err) ||
        !qt_block_expire(&b->tables, app_wall_clock(a), &gone, &n, &err)) {
        /* Said once: an instance whose tables cannot be kept is no reason
         * to repeat it every few seconds. */
        b->expiry_stopped = true;
        app_message(a, true, "block: entries are not expired: %s", err.msg);
        qt_block_entries_free(gone, n);
        return R_REDRAW;
    }
    if (n)
        app_message(a, false, "block: %zu entr%s expired and removed (%s %s%s)", n,
                    n == 1 ? "y" : "ies", qt_block_kind_name(gone[0].kind), gone[0].key,
                    n > 1 ? ", ..." : "");
    qt_block_entries_free(gone, n);
    return n ? R_REDRAW : R_NONE;
}

void block_free(struct app *a)
{
    if (!a->block)
        return;
    if (a->block->opened)
        qt_block_tables_close(&a->block->tables);
    free(a->block);
    a->block = NULL;
}
