/* Command handlers, the command table and the key table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "commands.h"
#include "qtriage/config.h"
#include "qtriage/util.h"

static size_t page(const struct app *a)
{
    int h = a->focus == FOCUS_VIEWER ? viewer_height(a)
            : a->focus == FOCUS_STATS ? (int)a->stats.page + 1
                                      : a->list_rows;

    return h > 2 ? (size_t)h - 1 : 1;
}

static unsigned move_cursor(struct app *a, long delta)
{
    long row = (long)a->cursor + delta;

    if (a->view.n == 0)
        return R_NONE;
    if (row < 0)
        row = 0;
    if (row >= (long)a->view.n)
        row = (long)a->view.n - 1;
    a->cursor_pinned = true;
    app_set_cursor(a, (size_t)row);
    return R_REDRAW;
}

/* Navigation commands act on the focused pane. */
static unsigned scroll_by(struct app *a, long delta)
{
    if (a->focus == FOCUS_STATS) {
        stats_move(a, delta);
        return R_REDRAW;
    }
    if (a->focus == FOCUS_HELP) {
        long top = (long)a->help_top + delta;

        a->help_top = top < 0 ? 0 : (size_t)top;
        return R_REDRAW;
    }
    if (a->focus == FOCUS_VIEWER) {
        viewer_scroll(a, delta);
        return R_REDRAW;
    }
    return move_cursor(a, delta);
}

static unsigned cmd_down(struct app *a) { return scroll_by(a, 1); }
static unsigned cmd_up(struct app *a) { return scroll_by(a, -1); }
static unsigned cmd_page_down(struct app *a) { return scroll_by(a, (long)page(a)); }
static unsigned cmd_page_up(struct app *a) { return scroll_by(a, -(long)page(a)); }
static unsigned cmd_half_down(struct app *a) { return scroll_by(a, (long)page(a) / 2 + 1); }
static unsigned cmd_half_up(struct app *a) { return scroll_by(a, -((long)page(a) / 2 + 1)); }

static unsigned cmd_top(struct app *a)
{
    if (a->focus == FOCUS_STATS) {
        stats_move(a, -(long)(a->stats.cursor + 1));
        return R_REDRAW;
    }
    if (a->focus == FOCUS_VIEWER) {
        viewer_goto(a, false);
        return R_REDRAW;
    }
    if (a->focus == FOCUS_HELP) {
        a->help_top = 0;
        return R_REDRAW;
    }
    return move_cursor(a, -(long)a->view.n);
}

static unsigned cmd_bottom(struct app *a)
{
    if (a->focus == FOCUS_STATS) {
        stats_move(a, (long)((size_t)-1 / 4));
        return R_REDRAW;
    }
    if (a->focus == FOCUS_VIEWER) {
        viewer_goto(a, true);
        return R_REDRAW;
    }
    if (a->focus == FOCUS_HELP) {
        a->help_top = (size_t)-1 / 2;
        return R_REDRAW;
    }
    return move_cursor(a, (long)a->view.n);
}

static unsigned cmd_open(struct app *a)
{
    const struct qt_msg *m = app_current(a);

    viewer_open(a, qt_store_str(&a->store, m->id), m->queue);
    return R_LAYOUT | R_REDRAW;
}

static unsigned cmd_close(struct app *a)
{
    if (a->focus == FOCUS_STATS) {
        stats_close(a);
        return R_REDRAW;
    }
    if (a->focus == FOCUS_HELP) {
        a->focus = a->viewer.open ? FOCUS_VIEWER : FOCUS_LIST;
        return R_REDRAW;
    }
    if (a->focus == FOCUS_VIEWER) {
        viewer_close(a);
        return R_LAYOUT | R_REDRAW;
    }
    /* In the list, Esc forgets a range start and the search highlight. */
    a->range_anchor = -1;
    if (a->search) {
        qt_search_free(a->search);
        a->search = NULL;
    }
    a->message[0] = '\0';
    return R_REDRAW;
}

static unsigned cmd_quit(struct app *a)
{
    (void)a;
    return R_QUIT;
}

static unsigned cmd_toggle_split(struct app *a)
{
    a->viewer.full = !a->viewer.full;
    if (!a->viewer.open) {
        app_message(a, false, "the viewer will open %s", a->viewer.full ? "full screen" : "split");
        return R_REDRAW;
    }
    return R_LAYOUT | R_REDRAW;
}

static unsigned cmd_view_mode(struct app *a)
{
    if (a->viewer.history)
        a->viewer.history = false;      /* m from the history: the message again */
    else
        a->viewer.mode = a->viewer.mode == QT_RENDER_DECODED ? QT_RENDER_RAW : QT_RENDER_DECODED;
    viewer_reload(a);
    return R_REDRAW;
}

/* l: the mail-log lines about the message; again: back to the message. */
static unsigned cmd_history(struct app *a)
{
    const struct qt_msg *m = app_current(a);

    if (a->focus == FOCUS_VIEWER && a->viewer.open) {
        a->viewer.history = !a->viewer.history;
        viewer_reload(a);
        return R_REDRAW;
    }
    a->open_history = true;
    viewer_open(a, qt_store_str(&a->store, m->id), m->queue);
    return R_LAYOUT | R_REDRAW;
}

static unsigned step_message(struct app *a, long delta)
{
    const struct qt_msg *m;

    move_cursor(a, delta);
    m = app_current(a);
    if (m && strcmp(qt_store_str(&a->store, m->id), a->viewer.id) != 0)
        viewer_open(a, qt_store_str(&a->store, m->id), m->queue);
    return R_REDRAW;
}

static unsigned cmd_next_message(struct app *a) { return step_message(a, 1); }
static unsigned cmd_prev_message(struct app *a) { return step_message(a, -1); }

static unsigned cmd_filter(struct app *a)
{
    prompt_open(a, PROMPT_FILTER, "filter: ", a->filter_text ? a->filter_text : "");
    return R_REDRAW;
}

static unsigned cmd_clear_filter(struct app *a)
{
    app_apply_filter(a, "", false);
    app_message(a, false, "filter cleared: all %zu messages shown", a->store.n);
    return R_REBUILD | R_REDRAW;
}

static unsigned cmd_search(struct app *a)
{
    if (a->focus == FOCUS_VIEWER)
        prompt_open(a, PROMPT_VIEWER_SEARCH, "search message: ", "");
    else
        prompt_open(a, PROMPT_SEARCH, "search rows (regex): ", "");
    return R_REDRAW;
}

static unsigned cmd_search_next(struct app *a)
{
    if (a->focus == FOCUS_VIEWER) {
        viewer_search_next(a, false);
        return R_REDRAW;
    }
    return list_search_next(a, false);
}

static unsigned cmd_search_prev(struct app *a)
{
    if (a->focus == FOCUS_VIEWER) {
        viewer_search_next(a, true);
        return R_REDRAW;
    }
    return list_search_next(a, true);
}

static unsigned cmd_tag(struct app *a)
{
    const struct qt_msg *m = app_current(a);

    qt_selection_toggle(&a->tags, qt_store_str(&a->store, m->id));
    if (a->focus == FOCUS_LIST)
        move_cursor(a, 1);
    return R_REDRAW;
}

static unsigned cmd_tag_range(struct app *a)
{
    size_t from, to, i, added = 0;

    if (a->range_anchor < 0) {
        a->range_anchor = (long)a->cursor;
        app_message(a, false, "range starts here: move, then press v again to tag the rows "
                              "between (Esc cancels)");
        return R_REDRAW;
    }
    from = (size_t)a->range_anchor < a->cursor ? (size_t)a->range_anchor : a->cursor;
    to = (size_t)a->range_anchor < a->cursor ? a->cursor : (size_t)a->range_anchor;
    if (to >= a->view.n)
        to = a->view.n - 1;
    for (i = from; i <= to && i < a->view.n; i++)
        added += qt_selection_add(&a->tags,
                                  qt_store_str(&a->store, a->store.msgs[a->view.rows[i]].id));
    a->range_anchor = -1;
    app_message(a, false, "tagged %zu rows (%zu newly)", to - from + 1, added);
    return R_REDRAW;
}

static unsigned cmd_tag_all(struct app *a)
{
    size_t i, added = 0;

    for (i = 0; i < a->view.n; i++)
        added += qt_selection_add(&a->tags,
                                  qt_store_str(&a->store, a->store.msgs[a->view.rows[i]].id));
    app_message(a, false, "tagged all %zu shown messages (%zu newly); %zu tagged in all",
                a->view.n, added, a->tags.count);
    return R_REDRAW;
}

static unsigned cmd_untag_all(struct app *a)
{
    size_t n = a->tags.count;

    qt_selection_clear(&a->tags);
    app_message(a, false, "untagged %zu messages", n);
    return R_REDRAW;
}

static unsigned cmd_invert_tags(struct app *a)
{
    size_t i, now_tagged = 0;

    for (i = 0; i < a->view.n; i++)
        now_tagged += qt_selection_toggle(
            &a->tags, qt_store_str(&a->store, a->store.msgs[a->view.rows[i]].id));
    app_message(a, false, "inverted the tags of the %zu shown messages: %zu of them tagged",
                a->view.n, now_tagged);
    return R_REDRAW;
}

static unsigned cmd_hold(struct app *a) { return bulk_request(a, QT_ACT_HOLD); }
static unsigned cmd_release(struct app *a) { return bulk_request(a, QT_ACT_RELEASE); }
static unsigned cmd_requeue(struct app *a) { return bulk_request(a, QT_ACT_REQUEUE); }
static unsigned cmd_delete(struct app *a) { return bulk_request(a, QT_ACT_DELETE); }
static unsigned cmd_expire(struct app *a) { return bulk_request(a, QT_ACT_EXPIRE); }
static unsigned cmd_deliver(struct app *a) { return bulk_request(a, QT_ACT_DELIVER); }
static unsigned cmd_flush(struct app *a) { return bulk_request(a, QT_ACT_FLUSH); }

static unsigned cmd_flush_site(struct app *a)
{
    prompt_open(a, PROMPT_FLUSH_SITE, "flush mail for site (domain): ", "");
    return R_REDRAW;
}

static unsigned cmd_sort(struct app *a)
{
    char label[200];

    snprintf(label, sizeof(label),
             "sort by (id queue age retry size sender rcpt subject reason client sasl helo): ");
    prompt_open(a, PROMPT_SORT, label, qt_col_info[a->view.sort].name);
    return R_REDRAW;
}

static unsigned cmd_sort_reverse(struct app *a)
{
    a->view.reverse = !a->view.reverse;
    return R_REBUILD | R_REDRAW;
}

static unsigned cmd_columns(struct app *a)
{
    struct qt_buf b = {0};

    qt_cols_format(a->cols, a->ncols, &b);
    qt_buf_putc(&b, '\0');
    prompt_open(a, PROMPT_COLUMNS, "columns: ", b.data);
    qt_buf_free(&b);
    return R_REDRAW;
}

static unsigned cmd_rescan(struct app *a)
{
    app_message(a, false, "rescanning the queue");
    return R_RESCAN | R_REDRAW;
}

static unsigned cmd_redraw(struct app *a)
{
    (void)a;
    clearok(curscr, TRUE);
    return R_LAYOUT | R_REDRAW;
}

static bool in_stats(struct app *a)
{
    if (a->focus == FOCUS_STATS)
        return true;
    app_message(a, true, "open the statistics first (s)");
    return false;
}

static unsigned cmd_stats(struct app *a)
{
    if (a->focus == FOCUS_STATS) {
        stats_close(a);
        return R_REDRAW;
    }
    stats_open(a);
    return R_REDRAW;
}

static unsigned cmd_stats_next(struct app *a)
{
    if (!in_stats(a))
        return R_REDRAW;
    stats_next_view(a, 1);
    return R_REDRAW;
}

static unsigned cmd_stats_prev(struct app *a)
{
    if (!in_stats(a))
        return R_REDRAW;
    stats_next_view(a, -1);
    return R_REDRAW;
}

static unsigned cmd_stats_filter(struct app *a)
{
    return in_stats(a) ? stats_drill(a) : R_REDRAW;
}

static unsigned cmd_stats_tag(struct app *a)
{
    return in_stats(a) ? stats_tag(a) : R_REDRAW;
}

static unsigned cmd_stats_queues(struct app *a)
{
    if (!in_stats(a))
        return R_REDRAW;
    stats_next_queues(a);
    return R_REDRAW;
}

static unsigned cmd_help(struct app *a)
{
    a->focus = FOCUS_HELP;
    a->help_top = 0;
    return R_REDRAW;
}

static unsigned cmd_command(struct app *a)
{
    prompt_open(a, PROMPT_COMMAND, ":", "");
    return R_REDRAW;
}

const struct command commands[] = {
    {"down", "Moving", "next row (in the viewer: scroll down)", 0, cmd_down},
    {"up", "Moving", "previous row (in the viewer: scroll up)", 0, cmd_up},
    {"page-down", "Moving", "one page down", 0, cmd_page_down},
    {"page-up", "Moving", "one page up", 0, cmd_page_up},
    {"half-down", "Moving", "half a page down", 0, cmd_half_down},
    {"half-up", "Moving", "half a page up", 0, cmd_half_up},
    {"top", "Moving", "first row (top of the message)", 0, cmd_top},
    {"bottom", "Moving", "last row (end of the message)", 0, cmd_bottom},
    {"open", "Viewing", "open the message in the viewer", NEEDS_MESSAGE, cmd_open},
    {"close", "Viewing", "close the viewer or help; in the list: forget range and search", 0,
     cmd_close},
    {"toggle-split", "Viewing", "viewer split under the list or full screen", 0,
     cmd_toggle_split},
    {"view-mode", "Viewing", "viewer: decoded MIME or raw postcat -q view", 0, cmd_view_mode},
    {"history", "Viewing",
     "the mail-log lines about the message (every delivery attempt); again: the message",
     NEEDS_MESSAGE, cmd_history},
    {"next-message", "Viewing", "viewer: next message of the list", NEEDS_MESSAGE,
     cmd_next_message},
    {"prev-message", "Viewing", "viewer: previous message of the list", NEEDS_MESSAGE,
     cmd_prev_message},
    {"filter", "Filtering and searching",
     "filter bar: show only matching messages (Up/Down: history, Esc: cancel)", 0, cmd_filter},
    {"clear-filter", "Filtering and searching", "show every message again", 0, cmd_clear_filter},
    {"search", "Filtering and searching",
     "search bar: regex over the rows (or the message), keeps other rows", 0, cmd_search},
    {"search-next", "Filtering and searching", "next match", 0, cmd_search_next},
    {"search-prev", "Filtering and searching", "previous match", 0, cmd_search_prev},
    {"sort", "Filtering and searching", "choose the sort column", 0, cmd_sort},
    {"sort-reverse", "Filtering and searching", "reverse the sort order", 0, cmd_sort_reverse},
    {"columns", "Filtering and searching", "choose and order the columns", 0, cmd_columns},
    {"tag", "Tagging", "tag or untag the current message (and move down)", NEEDS_MESSAGE,
     cmd_tag},
    {"tag-range", "Tagging", "start a range; again: tag every row between", NEEDS_MESSAGE,
     cmd_tag_range},
    {"tag-all", "Tagging", "tag every message the filter shows", 0, cmd_tag_all},
    {"untag-all", "Tagging", "clear all tags", 0, cmd_untag_all},
    {"invert-tags", "Tagging", "invert the tags of the shown messages", 0, cmd_invert_tags},
    {"hold", "Acting (on the tagged messages, else the current one)",
     "put on hold (postsuper -h)", NEEDS_WRITE | NEEDS_MESSAGE, cmd_hold},
    {"release", "Acting (on the tagged messages, else the current one)",
     "release from hold (postsuper -H)", NEEDS_WRITE | NEEDS_MESSAGE, cmd_release},
    {"requeue", "Acting (on the tagged messages, else the current one)",
     "requeue (postsuper -r; they get new IDs)", NEEDS_WRITE | NEEDS_MESSAGE, cmd_requeue},
    {"delete", "Acting (on the tagged messages, else the current one)",
     "delete, after confirmation (postsuper -d)", NEEDS_WRITE | NEEDS_MESSAGE, cmd_delete},
    {"expire", "Acting (on the tagged messages, else the current one)",
     "force-expire, after confirmation: bounce at the next attempt (postsuper -e)", NEEDS_WRITE | NEEDS_MESSAGE,
     cmd_expire},
    {"deliver", "Acting (on the tagged messages, else the current one)",
     "attempt delivery now (postqueue -i)", NEEDS_WRITE | NEEDS_MESSAGE, cmd_deliver},
    {"flush", "Acting (on the tagged messages, else the current one)",
     "flush the whole queue, after confirmation (postqueue -f)", NEEDS_WRITE, cmd_flush},
    {"flush-site", "Acting (on the tagged messages, else the current one)",
     "flush the mail for one site (postqueue -s)", NEEDS_WRITE, cmd_flush_site},
    {"stats", "Statistics",
     "statistics: top senders, domains, sasl users, clients, subjects, delay reasons "
     "and their classes, qshape's table, the queue's Postfix settings", 0, cmd_stats},
    {"stats-next", "Statistics", "statistics: next view (S-Tab: previous)", 0, cmd_stats_next},
    {"stats-prev", "Statistics", "statistics: previous view", 0, cmd_stats_prev},
    {"stats-filter", "Statistics", "statistics: filter the list to the group under the cursor",
     0, cmd_stats_filter},
    {"stats-tag", "Statistics",
     "statistics: tag every message of the group under the cursor (then h, d, ... act on them)",
     0, cmd_stats_tag},
    {"stats-queues", "Statistics", "statistics: which queues qshape's tables count", 0,
     cmd_stats_queues},
    {"rescan", "Other", "rescan the queue now (it rescans by itself every few seconds)", 0,
     cmd_rescan},
    {"redraw", "Other", "redraw the screen", 0, cmd_redraw},
    {"command", "Other", "run a command by name", 0, cmd_command},
    {"help", "Other", "this help", 0, cmd_help},
    {"quit", "Other", "quit qtriage", 0, cmd_quit},
};
const size_t ncommands = sizeof(commands) / sizeof(commands[0]);

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
    {27, CTX_ANY, "close"},
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
    {'q', CTX_STATS, "close"},
    {'U', CTX_STATS, "untag-all"},
    {'R', CTX_ANY, "rescan"},
    {KEY_CTRL('l'), CTX_ANY, "redraw"},
    {':', CTX_ANY, "command"},
    {'?', CTX_ANY, "help"},
    {KEY_FN(KEY_F(1)), CTX_ANY, "help"},
    {'q', CTX_LIST, "quit"},
    {'Q', CTX_ANY, "quit"},
};

/* The bindings in force: the defaults, changed by the configuration file. */
static struct key_binding *keymap;
static size_t nkeymap, keymap_cap;

static void keymap_init(void)
{
    if (keymap)
        return;
    nkeymap = QT_ARRAY_LEN(default_key_bindings);
    keymap = xgrow(NULL, &keymap_cap, nkeymap, sizeof(*keymap));
    memcpy(keymap, default_key_bindings, sizeof(default_key_bindings));
}

const struct key_binding *keymap_get(size_t *n)
{
    keymap_init();
    *n = nkeymap;
    return keymap;
}

static const struct command *find_command(const char *name)
{
    size_t i;

    for (i = 0; i < ncommands; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static unsigned run_command(struct app *a, const struct command *c)
{
    if ((c->flags & NEEDS_WRITE) && a->backend->read_only) {
        app_message(a, true, "%s: read-only mode: %s", c->name, a->backend->read_only_reason);
        return R_REDRAW;
    }
    /* In the statistics an action acts on the tagged groups, never on a
     * list row the admin cannot see. */
    if (a->focus == FOCUS_STATS && strncmp(c->group, "Acting", 6) == 0 &&
        a->tags.count == 0 && (c->flags & NEEDS_MESSAGE)) {
        app_message(a, true, "%s: nothing tagged: t tags the group under the cursor", c->name);
        return R_REDRAW;
    }
    if ((c->flags & NEEDS_MESSAGE) && !app_current(a)) {
        app_message(a, true, "%s: no message here", c->name);
        return R_REDRAW;
    }
    return c->run(a);
}

unsigned commands_run_named(struct app *a, const char *name)
{
    const struct command *c = find_command(name);

    if (!c) {
        app_message(a, true, "no command \"%s\" (? lists them)", name);
        return R_REDRAW;
    }
    return run_command(a, c);
}

unsigned commands_dispatch(struct app *a, int key)
{
    enum context ctx = a->focus == FOCUS_VIEWER ? CTX_VIEWER
                       : a->focus == FOCUS_HELP ? CTX_HELP
                       : a->focus == FOCUS_STATS ? CTX_STATS
                                                : CTX_LIST;
    size_t i;

    if (ctx == CTX_STATS) {
        /* The pane's own keys first; then the keys that work anywhere,
         * except those about the list's current row or the viewer. */
        static const char *const not_here[] = {
            "history", "toggle-split", "search", "search-next", "search-prev", "tag",
        };

        keymap_init();
        for (i = 0; i < nkeymap; i++)
            if (keymap[i].key == key && keymap[i].ctx == CTX_STATS)
                return commands_run_named(a, keymap[i].command);
        for (i = 0; i < nkeymap; i++) {
            const struct key_binding *k = &keymap[i];
            size_t j;

            if (k->key != key || k->ctx != CTX_ANY)
                continue;
            for (j = 0; j < sizeof(not_here) / sizeof(not_here[0]); j++)
                if (strcmp(k->command, not_here[j]) == 0)
                    break;
            if (j < sizeof(not_here) / sizeof(not_here[0]))
                break;
            return commands_run_named(a, k->command);
        }
        {
            char name[32];

            describe_key(key, name, sizeof(name));
            app_message(a, true, "%s: not in the statistics (? for help, q goes back)", name);
        }
        return R_REDRAW;
    }

    if (ctx == CTX_HELP) {
        /* Help scrolls like a viewer and closes on q too. */
        if (key == 'q')
            return commands_run_named(a, "close");
        ctx = CTX_VIEWER;
    }
    keymap_init();
    for (i = 0; i < nkeymap; i++) {
        const struct key_binding *k = &keymap[i];

        if (k->key == key && (k->ctx == ctx || k->ctx == CTX_ANY))
            return commands_run_named(a, k->command);
    }
    {
        char name[32];

        describe_key(key, name, sizeof(name));
        app_message(a, true, "%s: no command on this key (? for help)", name);
    }
    return R_REDRAW;
}

unsigned commands_mouse(struct app *a)
{
    MEVENT ev;

    if (getmouse(&ev) != OK)
        return R_NONE;
    if (ev.bstate & BUTTON4_PRESSED)
        return scroll_by(a, -3);
#ifdef BUTTON5_PRESSED
    if (ev.bstate & BUTTON5_PRESSED)
        return scroll_by(a, 3);
#endif
    if (ev.bstate & (BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON1_DOUBLE_CLICKED)) {
        int y = ev.y - 2;   /* title and list header */

        if (a->focus == FOCUS_LIST && y >= 0 && y < a->list_rows &&
            a->top + (size_t)y < a->view.n) {
            a->cursor_pinned = true;
            app_set_cursor(a, a->top + (size_t)y);
            if (ev.bstate & BUTTON1_DOUBLE_CLICKED)
                return commands_run_named(a, "open");
            return R_REDRAW;
        }
    }
    return R_NONE;
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
static void keymap_bind(int key, enum context ctx, const char *command)
{
    size_t i = 0;

    while (i < nkeymap) {
        struct key_binding *k = &keymap[i];

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
        memmove(k, k + 1, (nkeymap - i - 1) * sizeof(*k));
        nkeymap--;
    }
    if (command) {
        keymap = xgrow(keymap, &keymap_cap, nkeymap + 1, sizeof(*keymap));
        keymap[nkeymap++] = (struct key_binding){key, ctx, command};
    }
}

bool tui_command_exists(const char *name)
{
    return find_command(name) != NULL;
}

void tui_apply_bindings(const struct qt_config *cfg)
{
    size_t i, j, n;

    keymap_init();
    for (i = 0; i < cfg->nbinds; i++) {
        const struct qt_config_binding *b = &cfg->binds[i];
        const struct command *c = NULL;
        enum context ctx = b->context == QT_BIND_LIST     ? CTX_LIST
                           : b->context == QT_BIND_VIEWER ? CTX_VIEWER
                                                          : CTX_ANY;
        int keys[4];

        /* main.c parsed with tui_command_exists: unknown ones are gone. */
        if (b->command && !(c = find_command(b->command)))
            continue;
        n = curses_keys(b->key, keys);
        for (j = 0; j < n; j++)
            keymap_bind(keys[j], ctx, c ? c->name : NULL);
    }
}
