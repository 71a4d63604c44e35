/* The command table and the one place that checks what a command needs
 * before its handler runs.  Navigation goes to the focused pane's ops. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "block_prompt.h"
#include "bulk.h"
#include "commands.h"
#include "help.h"
#include "list_pane.h"
#include "prompt.h"
#include "qtriage/fleet.h"
#include "qtriage/util.h"
#include "rules_pane.h"
#include "stats_pane.h"
#include "tui.h"
#include "viewer.h"

/* Rows one page moves in the focused pane. */
static long page(const struct app *a)
{
    long h = a->focus->ops->page(a->focus);

    return h > 2 ? h - 1 : 1;
}

static unsigned scroll_by(struct app *a, long delta)
{
    return a->focus->ops->move_by(a->focus, delta);
}

static unsigned cmd_down(struct app *a, const struct command *c)
{
    (void)c;
    return scroll_by(a, 1);
}

static unsigned cmd_up(struct app *a, const struct command *c)
{
    (void)c;
    return scroll_by(a, -1);
}

static unsigned cmd_page_down(struct app *a, const struct command *c)
{
    (void)c;
    return scroll_by(a, page(a));
}

static unsigned cmd_page_up(struct app *a, const struct command *c)
{
    (void)c;
    return scroll_by(a, -page(a));
}

static unsigned cmd_half_down(struct app *a, const struct command *c)
{
    (void)c;
    return scroll_by(a, page(a) / 2 + 1);
}

static unsigned cmd_half_up(struct app *a, const struct command *c)
{
    (void)c;
    return scroll_by(a, -(page(a) / 2 + 1));
}

static unsigned cmd_top(struct app *a, const struct command *c)
{
    (void)c;
    return scroll_by(a, PANE_TOP);
}

static unsigned cmd_bottom(struct app *a, const struct command *c)
{
    (void)c;
    return scroll_by(a, PANE_BOTTOM);
}

static unsigned cmd_open(struct app *a, const struct command *c)
{
    const struct qt_msg *m = list_current(a);

    (void)c;
    viewer_open(a, qt_store_str(&a->store, m->id), m->queue, false);
    return R_LAYOUT | R_REDRAW;
}

static unsigned cmd_close(struct app *a, const struct command *c)
{
    (void)c;
    return a->focus->ops->close(a->focus);
}

static unsigned cmd_quit(struct app *a, const struct command *c)
{
    (void)a, (void)c;
    return R_QUIT;
}

static unsigned cmd_toggle_split(struct app *a, const struct command *c)
{
    (void)c;
    return viewer_toggle_split(a);
}

static unsigned cmd_view_mode(struct app *a, const struct command *c)
{
    (void)c;
    return viewer_toggle_mode(a);
}

static unsigned cmd_history(struct app *a, const struct command *c)
{
    (void)c;
    return viewer_toggle_history(a);
}

/* J/K in the viewer: the next message of the list, in the viewer. */
static unsigned step_message(struct app *a, long delta)
{
    const struct qt_msg *m;

    list_move(a, delta);
    m = list_current(a);
    if (m && strcmp(qt_store_str(&a->store, m->id), viewer_id(a)) != 0)
        viewer_open(a, qt_store_str(&a->store, m->id), m->queue, false);
    return R_REDRAW;
}

static unsigned cmd_next_message(struct app *a, const struct command *c)
{
    (void)c;
    return step_message(a, 1);
}

static unsigned cmd_prev_message(struct app *a, const struct command *c)
{
    (void)c;
    return step_message(a, -1);
}

static unsigned cmd_filter(struct app *a, const struct command *c)
{
    (void)c;
    return list_open_filter_bar(a);
}

static unsigned cmd_clear_filter(struct app *a, const struct command *c)
{
    (void)c;
    list_apply_filter(a, "");
    app_message(a, false, "filter cleared: all %zu messages shown", a->store.n);
    return R_REBUILD | R_REDRAW;
}

static unsigned cmd_search(struct app *a, const struct command *c)
{
    (void)c;
    return a->focus->ops->search(a->focus);
}

static unsigned cmd_search_next(struct app *a, const struct command *c)
{
    (void)c;
    return a->focus->ops->search_next(a->focus, false);
}

static unsigned cmd_search_prev(struct app *a, const struct command *c)
{
    (void)c;
    return a->focus->ops->search_next(a->focus, true);
}

static unsigned cmd_sort(struct app *a, const struct command *c)
{
    (void)c;
    return list_open_sort_bar(a);
}

static unsigned cmd_sort_reverse(struct app *a, const struct command *c)
{
    (void)c;
    a->view.reverse = !a->view.reverse;
    return R_REBUILD | R_REDRAW;
}

static unsigned cmd_columns(struct app *a, const struct command *c)
{
    (void)c;
    return list_open_columns_bar(a);
}

static unsigned cmd_tag(struct app *a, const struct command *c)
{
    (void)c;
    return list_tag(a);
}

static unsigned cmd_tag_range(struct app *a, const struct command *c)
{
    (void)c;
    return list_tag_range(a);
}

static unsigned cmd_tag_all(struct app *a, const struct command *c)
{
    (void)c;
    return list_tag_all(a);
}

static unsigned cmd_untag_all(struct app *a, const struct command *c)
{
    size_t n = a->current.tags.count;

    (void)c;
    qt_selection_clear(&a->current.tags);
    app_message(a, false, "untagged %zu messages", n);
    return R_REDRAW;
}

static unsigned cmd_invert_tags(struct app *a, const struct command *c)
{
    (void)c;
    return list_invert_tags(a);
}

static unsigned cmd_act(struct app *a, const struct command *c)
{
    return bulk_request(a, c->action);
}

static unsigned cmd_flush_site(struct app *a, const struct command *c)
{
    (void)c;
    return bulk_request_flush_site(a);
}

static unsigned cmd_export(struct app *a, const struct command *c)
{
    (void)c;
    return bulk_request_export(a);
}

static unsigned cmd_rescan(struct app *a, const struct command *c)
{
    (void)c;
    app_message(a, false, "rescanning the queue");
    return R_RESCAN | R_REDRAW;
}

static unsigned cmd_redraw(struct app *a, const struct command *c)
{
    (void)a, (void)c;
    clearok(curscr, TRUE);
    return R_LAYOUT | R_REDRAW;
}

static unsigned cmd_stats(struct app *a, const struct command *c)
{
    (void)c;
    return stats_toggle(a);
}

static unsigned cmd_stats_next(struct app *a, const struct command *c)
{
    (void)c;
    return stats_next_view(a, 1);
}

static unsigned cmd_stats_prev(struct app *a, const struct command *c)
{
    (void)c;
    return stats_next_view(a, -1);
}

static unsigned cmd_stats_filter(struct app *a, const struct command *c)
{
    (void)c;
    return stats_drill(a);
}

static unsigned cmd_stats_tag(struct app *a, const struct command *c)
{
    (void)c;
    return stats_tag(a);
}

static unsigned cmd_stats_block(struct app *a, const struct command *c)
{
    (void)c;
    return block_from_stats(a);
}

static unsigned cmd_stats_queues(struct app *a, const struct command *c)
{
    (void)c;
    return stats_next_queues(a);
}

static unsigned cmd_stats_sort(struct app *a, const struct command *c)
{
    (void)c;
    return stats_next_sort(a);
}

static unsigned cmd_keep_doing(struct app *a, const struct command *c)
{
    (void)c;
    if (qt_backend_is_fleet(a->backend)) {
        app_message(a, true, "keep doing: standing rules act on one queue; on a fleet run "
                             "qtriage hold --filter EXPR --follow 1h on each host");
        return R_REDRAW;
    }
    /* A rule from a statistics row acts on the whole group, now and as
     * it grows: over half of the queue, ask first, as for tagging. */
    if (a->focus->ops->context == CTX_STATS)
        return stats_guard(a, "keep acting on", rules_keep_doing);
    return rules_keep_doing(a);
}

static unsigned cmd_rules(struct app *a, const struct command *c)
{
    (void)c;
    return rules_open(a);
}

static unsigned cmd_stop_action(struct app *a, const struct command *c)
{
    (void)c;
    if (!action_job_stoppable(a)) {
        app_message(a, true, "no paced action is running");
        return R_REDRAW;
    }
    action_job_stop(a);
    app_message(a, false, "stopping after the current step; the rest stays as it is");
    return R_REDRAW;
}

static unsigned cmd_help(struct app *a, const struct command *c)
{
    (void)c;
    return help_open(a);
}

static unsigned command_submit(struct app *a, const char *text)
{
    char *name = xstrdup(text);
    unsigned r;

    prompt_remember(a, text);
    prompt_close(a);
    r = *name ? commands_run_named(a, name) : R_REDRAW;
    free(name);
    return r;
}

static const struct prompt_type command_prompt = {.history = HISTORY_COMMAND,
                                                  .submit = command_submit};

static unsigned cmd_command(struct app *a, const struct command *c)
{
    (void)c;
    prompt_open(a, &command_prompt, ":", "");
    return R_REDRAW;
}

/* Where commands apply: the list and the viewer show the current row
 * (and the help, over them, lets the keys through); the statistics have
 * their own keys and act on tags. */
#define ROWS (CTX_BIT(CTX_LIST) | CTX_BIT(CTX_VIEWER) | CTX_BIT(CTX_HELP))
#define SEARCHABLE (CTX_BIT(CTX_LIST) | CTX_BIT(CTX_VIEWER))
#define ANYWHERE CTX_ALL
#define STATS CTX_BIT(CTX_STATS)
#define ACTING "Acting (on the tagged messages, else the current one)"
#define ACTION(act) \
    NULL, CMD_WRITES | CMD_ACTING | CMD_ACTION | CMD_NEEDS_ROW, ANYWHERE, cmd_act, act

const struct command commands[] = {
    {"down", "Moving", "next row (in the viewer: scroll down)", 0, ANYWHERE, cmd_down, 0},
    {"up", "Moving", "previous row (in the viewer: scroll up)", 0, ANYWHERE, cmd_up, 0},
    {"page-down", "Moving", "one page down", 0, ANYWHERE, cmd_page_down, 0},
    {"page-up", "Moving", "one page up", 0, ANYWHERE, cmd_page_up, 0},
    {"half-down", "Moving", "half a page down", 0, ANYWHERE, cmd_half_down, 0},
    {"half-up", "Moving", "half a page up", 0, ANYWHERE, cmd_half_up, 0},
    {"top", "Moving", "first row (top of the message)", 0, ANYWHERE, cmd_top, 0},
    {"bottom", "Moving", "last row (end of the message)", 0, ANYWHERE, cmd_bottom, 0},
    {"open", "Viewing", "open the message in the viewer", CMD_NEEDS_ROW, ANYWHERE, cmd_open, 0},
    {"close", "Viewing", "close the viewer or help; in the list: forget range and search", 0,
     ANYWHERE, cmd_close, 0},
    {"toggle-split", "Viewing", "viewer split under the list or full screen", 0, ROWS,
     cmd_toggle_split, 0},
    {"view-mode", "Viewing", "viewer: decoded MIME or raw postcat -q view", 0, ANYWHERE,
     cmd_view_mode, 0},
    {"history", "Viewing",
     "the mail-log lines about the message (every delivery attempt); again: the message",
     CMD_NEEDS_ROW, ROWS, cmd_history, 0},
    {"next-message", "Viewing", "viewer: next message of the list", CMD_NEEDS_ROW, ANYWHERE,
     cmd_next_message, 0},
    {"prev-message", "Viewing", "viewer: previous message of the list", CMD_NEEDS_ROW, ANYWHERE,
     cmd_prev_message, 0},
    {"filter", "Filtering and searching",
     "filter bar: show only matching messages (Up/Down: history, Esc: cancel)", 0, ANYWHERE,
     cmd_filter, 0},
    {"clear-filter", "Filtering and searching", "show every message again", 0, ANYWHERE,
     cmd_clear_filter, 0},
    {"search", "Filtering and searching",
     "search bar: regex over the rows (or the message), keeps other rows", 0, SEARCHABLE,
     cmd_search, 0},
    {"search-next", "Filtering and searching", "next match", 0, SEARCHABLE, cmd_search_next, 0},
    {"search-prev", "Filtering and searching", "previous match", 0, SEARCHABLE, cmd_search_prev,
     0},
    {"sort", "Filtering and searching", "choose the sort column", 0, ANYWHERE, cmd_sort, 0},
    {"sort-reverse", "Filtering and searching", "reverse the sort order", 0, ANYWHERE,
     cmd_sort_reverse, 0},
    {"columns", "Filtering and searching", "choose and order the columns", 0, ANYWHERE,
     cmd_columns, 0},
    {"tag", "Tagging", "tag or untag the current message (and move down)", CMD_NEEDS_ROW, ROWS,
     cmd_tag, 0},
    {"tag-range", "Tagging", "start a range; again: tag every row between", CMD_NEEDS_ROW,
     ANYWHERE, cmd_tag_range, 0},
    {"tag-all", "Tagging", "tag every message the filter shows", 0, ANYWHERE, cmd_tag_all, 0},
    {"untag-all", "Tagging", "clear all tags", 0, ANYWHERE, cmd_untag_all, 0},
    {"invert-tags", "Tagging", "invert the tags of the shown messages", 0, ANYWHERE,
     cmd_invert_tags, 0},
    {"hold", ACTING, ACTION(QT_ACT_HOLD)},
    {"release", ACTING, ACTION(QT_ACT_RELEASE)},
    {"requeue", ACTING, ACTION(QT_ACT_REQUEUE)},
    {"delete", ACTING, ACTION(QT_ACT_DELETE)},
    {"expire", ACTING, ACTION(QT_ACT_EXPIRE)},
    {"deliver", ACTING, ACTION(QT_ACT_DELIVER)},
    {"flush", ACTING, NULL, CMD_WRITES | CMD_ACTING | CMD_ACTION, ANYWHERE, cmd_act,
     QT_ACT_FLUSH},
    {"flush-site", ACTING, NULL, CMD_WRITES | CMD_ACTING | CMD_ACTION, ANYWHERE,
     cmd_flush_site, QT_ACT_FLUSH_SITE},
    {"export", ACTING,
     "export as ID.eml files into a directory (asked for; default: the backup directory); "
     "the queue is not changed",
     CMD_ACTING | CMD_NEEDS_ROW, ANYWHERE, cmd_export, 0},
    {"stats", "Statistics",
     "statistics: top senders, domains, sasl users, clients, subjects, delay reasons "
     "and their classes, qshape's table, the queue's Postfix settings", 0, ANYWHERE, cmd_stats,
     0},
    {"stats-next", "Statistics", "statistics: next view (S-Tab: previous)", 0, STATS,
     cmd_stats_next, 0},
    {"stats-prev", "Statistics", "statistics: previous view", 0, STATS, cmd_stats_prev, 0},
    {"stats-filter", "Statistics", "statistics: filter the list to the group under the cursor",
     0, STATS, cmd_stats_filter, 0},
    {"stats-tag", "Statistics",
     "statistics: tag every message of the group under the cursor (then h, d, ... act on them)",
     0, STATS, cmd_stats_tag, 0},
    {"stats-block", "Statistics",
     "statistics: stop the row's source (sasl user, client, sender, sender domain): a Postfix "
     "access-table entry that holds, defers or rejects its next mail until it expires",
     CMD_WRITES, STATS, cmd_stats_block, 0},
    {"stats-queues", "Statistics", "statistics: which queues qshape's tables count", 0, STATS,
     cmd_stats_queues, 0},
    {"stats-sort", "Statistics",
     "statistics: order the groups by arrival rate (who grows the queue now) or by count", 0,
     STATS, cmd_stats_sort, 0},
    {"keep-doing", "Standing rules",
     "keep doing this: hold (or delete, with a backup directory) what the filter or the "
     "statistics row matches, now and as it arrives (a standing rule)",
     CMD_WRITES, CTX_BIT(CTX_LIST) | STATS, cmd_keep_doing, 0},
    {"rules", "Standing rules", "the rules: what each caught, pause, resume, remove", 0,
     ANYWHERE, cmd_rules, 0},
    {"stop-action", "Standing rules", "paced release, requeue or deliver: stop after the current step", 0,
     ANYWHERE, cmd_stop_action, 0},
    {"rescan", "Other", "rescan the queue now (it rescans by itself every few seconds)", 0,
     ANYWHERE, cmd_rescan, 0},
    {"redraw", "Other", "redraw the screen", 0, ANYWHERE, cmd_redraw, 0},
    {"command", "Other", "run a command by name", 0, ANYWHERE, cmd_command, 0},
    {"help", "Other", "this help", 0, ANYWHERE, cmd_help, 0},
    {"quit", "Other", "quit qtriage", 0, ANYWHERE, cmd_quit, 0},
};
const size_t ncommands = sizeof(commands) / sizeof(commands[0]);

void command_help(const struct command *c, char *buf, size_t size)
{
    const struct qt_action_desc *d;

    if (!(c->flags & CMD_ACTION) || !(d = qt_action_describe(c->action))) {
        snprintf(buf, size, "%s", c->help ? c->help : "");
        return;
    }
    snprintf(buf, size, "%s%s (%s)", d->summary, d->confirm ? ", after confirmation" : "",
             d->tool);
}

const struct command *command_find(const char *name)
{
    size_t i;

    for (i = 0; i < ncommands; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* The one place a command's needs are checked.  `what` names it in the
 * messages: the key pressed, or the command's name. */
static unsigned run_command(struct app *a, const struct command *c, const char *what)
{
    const struct pane_ops *here = a->focus->ops;

    if (!(c->contexts & CTX_BIT(here->context))) {
        if (c->contexts == STATS)
            app_message(a, true, "open the statistics first (s)");
        else
            app_message(a, true, "%s: not in %s (? for help, q goes back)", what, here->where);
        return R_REDRAW;
    }
    if ((c->flags & CMD_WRITES) && a->backend->read_only) {
        app_message(a, true, "%s: read-only mode: %s", c->name, a->backend->read_only_reason);
        return R_REDRAW;
    }
    /* Where the list's row is not in view, an action acts on the tags,
     * never on a row the admin cannot see. */
    if ((here->flags & PANE_HIDES_ROW) && (c->flags & CMD_ACTING) &&
        (c->flags & CMD_NEEDS_ROW) && a->current.tags.count == 0) {
        app_message(a, true, "%s: nothing tagged: t tags the group under the cursor", c->name);
        return R_REDRAW;
    }
    if ((c->flags & CMD_NEEDS_ROW) && !list_current(a)) {
        app_message(a, true, "%s: no message here", c->name);
        return R_REDRAW;
    }
    if ((c->flags & CMD_ACTING) && action_job_running(a)) {    /* one at a time */
        app_message(a, true, "busy: %s; wait for it to finish", a->job.doing);
        return R_REDRAW;
    }
    return c->run(a, c);
}

unsigned commands_run_named(struct app *a, const char *name)
{
    const struct command *c = command_find(name);

    if (!c) {
        app_message(a, true, "no command \"%s\" (? lists them)", name);
        return R_REDRAW;
    }
    return run_command(a, c, c->name);
}

unsigned commands_dispatch(struct app *a, int key)
{
    const struct pane_ops *here = a->focus->ops;
    const struct key_binding *k;
    unsigned r = R_NONE;
    char name[32];

    if (here->key && here->key(a->focus, key, &r))
        return r;
    /* The pane's own bindings first, then those that work anywhere. */
    k = keymap_find(&a->keymap, key, here->keys);
    if (!k)
        k = keymap_find(&a->keymap, key, CTX_ANY);
    describe_key(key, name, sizeof(name));
    if (!k) {
        if (here->keys == CTX_STATS)
            app_message(a, true, "%s: not in the statistics (? for help, q goes back)", name);
        else
            app_message(a, true, "%s: no command on this key (? for help)", name);
        return R_REDRAW;
    }
    {
        const struct command *c = command_find(k->command);

        if (!c) {
            app_message(a, true, "no command \"%s\" (? lists them)", k->command);
            return R_REDRAW;
        }
        return run_command(a, c, name);
    }
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
    if (ev.bstate & (BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON1_DOUBLE_CLICKED))
        return list_click(a, ev.y - 2, /* title and list header */
                          (ev.bstate & BUTTON1_DOUBLE_CLICKED) != 0);
    return R_NONE;
}

bool tui_command_exists(const char *name)
{
    return command_find(name) != NULL;
}
