/* Standing rules in the TUI.  The rules live in app->rules (the store's
 * thread owns them, as it owns the store); the feed tells them which
 * messages each rescan added or changed, rules_tick() turns those into
 * batches for the action thread, and the job credits the catches when it
 * is done (action_job.c).  This file is also the rules pane: one row a
 * rule, p pauses or resumes it, x (or d) removes it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "list_pane.h"
#include "prompt.h"
#include "qtriage/queue_settings.h"
#include "qtriage/rules.h"
#include "qtriage/util.h"
#include "rules_pane.h"
#include "script.h"
#include "stats_pane.h"

struct rules_pane {
    struct pane pane;
    size_t cursor, top;
    /* The rule being asked for (K, then the action, then y). */
    char *pending_query;
    enum qt_action pending_action;
    int64_t pending_lifetime;
};

static const struct pane_ops rules_ops;

static struct rules_pane *rules_of(const struct app *a)
{
    return (struct rules_pane *)pane_find(a, &rules_ops);
}

void rules_status(const struct app *a, struct qt_buf *out)
{
    if (!a->rules.n)
        return;
    qt_buf_printf(out, " | rules %zu active, %zu caught",
                  qt_rules_count_active(&a->rules, app_wall_clock(a)),
                  qt_rules_caught(&a->rules));
}

void rules_tick(struct app *a)
{
    struct qt_rule_batch *v;
    size_t n;

    if (!a->rules.changed.count || action_job_running(a))
        return;
    n = qt_rules_collect(&a->rules, &a->store, app_wall_clock(a), &v);
    if (n)
        action_job_start_rules(a, v, n);
}

/* "hold", "hold 30m", "delete 2h": the action and lifetime typed. */
static bool parse_rule_spec(const char *text, enum qt_action *act, int64_t *lifetime)
{
    char word[16];
    const char *p = text;
    size_t n = 0;

    while (*p == ' ')
        p++;
    while (*p && *p != ' ' && n + 1 < sizeof(word))
        word[n++] = *p++;
    word[n] = 0;
    if (strcmp(word, "hold") == 0)
        *act = QT_ACT_HOLD;
    else if (strcmp(word, "delete") == 0)
        *act = QT_ACT_DELETE;
    else
        return false;
    while (*p == ' ')
        p++;
    *lifetime = QT_RULE_DEFAULT_LIFETIME;
    if (*p) {
        char dur[32];

        snprintf(dur, sizeof(dur), "%s", p);
        dur[strcspn(dur, " ")] = 0;
        if ((*lifetime = qt_postfix_time(dur, 's')) <= 0)
            return false;
    }
    return true;
}

static void forget_pending(struct rules_pane *rp)
{
    free(rp->pending_query);
    rp->pending_query = NULL;
}

static unsigned confirm_rule(struct app *a, const char *text)
{
    struct rules_pane *rp = rules_of(a);
    struct qt_error err = {""};
    struct qt_rule *rule;
    size_t i;

    (void)text;
    prompt_close(a);
    if (!rp->pending_query)
        return R_REDRAW;
    rule = qt_rules_add(&a->rules, rp->pending_query, rp->pending_action,
                        rp->pending_action == QT_ACT_DELETE ? a->opt->backup_dir : NULL,
                        rp->pending_lifetime, app_wall_clock(a), &err);
    forget_pending(rp);
    if (!rule) {
        app_message(a, true, "rule not added: %s", err.msg);
        return R_REDRAW;
    }
    /* What matches now goes the way of what arrives later: every message
     * of the store is "new" to the rule once. */
    for (i = 0; i < a->store.n; i++)
        qt_rules_note(&a->rules, qt_store_str(&a->store, a->store.msgs[i].id));
    app_message(a, false, "rule %u: %s \"%s\" (W: the rules)", rule->id,
                qt_action_name(rule->action), rule->query);
    rules_tick(a);
    return R_REDRAW;
}

static unsigned cancel_rule(struct app *a)
{
    prompt_close(a);
    forget_pending(rules_of(a));
    app_message(a, false, "no rule added");
    return R_REDRAW;
}

static const struct prompt_type confirm_rule_prompt = {
    .yes_no = true,
    .submit = confirm_rule,
    .cancel = cancel_rule,
};

static unsigned spec_submit(struct app *a, const char *text)
{
    struct rules_pane *rp = rules_of(a);
    char label[256], until[16], left[32];
    time_t end;
    struct tm tm;

    if (!parse_rule_spec(text, &rp->pending_action, &rp->pending_lifetime)) {
        app_message(a, true, "type hold or delete, then a lifetime such as 30m or 2h");
        return R_REDRAW;
    }
    prompt_close(a);
    if (rp->pending_action == QT_ACT_DELETE && (!a->opt->backup_dir || !*a->opt->backup_dir)) {
        forget_pending(rp);
        app_message(a, true, "a deleting rule needs a backup directory (--backup-dir, or "
                             "backup_dir in the configuration); no rule added");
        return R_REDRAW;
    }
    end = (time_t)(app_wall_clock(a) + rp->pending_lifetime);
    localtime_r(&end, &tm);
    strftime(until, sizeof(until), "%H:%M", &tm);
    qt_rule_format_left(rp->pending_lifetime, left, sizeof(left));
    snprintf(label, sizeof(label), "Rule: %s%s%s every message matching \"%.80s\", now and as "
             "it arrives, for %s (until %s)? [y/N] ",
             rp->pending_action == QT_ACT_DELETE ? "export to " : "",
             rp->pending_action == QT_ACT_DELETE ? a->opt->backup_dir : "",
             rp->pending_action == QT_ACT_DELETE ? " and DELETE" : "hold",
             rp->pending_query, left, until);
    prompt_open(a, &confirm_rule_prompt, label, "");
    return R_REDRAW;
}

static const struct prompt_type spec_prompt = {.submit = spec_submit, .cancel = cancel_rule};

unsigned rules_keep_doing(struct app *a)
{
    struct rules_pane *rp = rules_of(a);
    char label[200];
    char *query;

    if (a->focus->ops->context == CTX_STATS) {
        if (!(query = stats_row_filter(a)))
            return R_REDRAW;
    } else {
        const char *t = list_filter_text(a);

        if (!t || !*t || qt_filter_matches_all(list_filter(a))) {
            app_message(a, true, "keep doing: filter the list first (f), or pick a "
                                 "statistics row: a rule acts on what a filter matches");
            return R_REDRAW;
        }
        query = xstrdup(t);
    }
    forget_pending(rp);
    rp->pending_query = query;
    snprintf(label, sizeof(label), "keep doing on \"%.60s\" (hold|delete, lifetime): ", query);
    prompt_open(a, &spec_prompt, label, "hold 1h");
    return R_REDRAW;
}

unsigned rules_open(struct app *a)
{
    struct rules_pane *rp = rules_of(a);

    if (rp->cursor >= a->rules.n)
        rp->cursor = a->rules.n ? a->rules.n - 1 : 0;
    pane_focus(&rp->pane);
    return R_REDRAW;
}

static void rules_draw(struct pane *p)
{
    struct rules_pane *rp = (struct rules_pane *)p;
    struct app *a = p->app;
    int64_t now = app_wall_clock(a);
    int h = LINES - 3, y = 0;
    struct qt_buf line = {0};
    size_t i;
    WINDOW *w;

    if (h < 3)
        h = 3;
    w = newwin(h, COLS, 1, 0);
    qt_buf_printf(&line, "Standing rules: p pause/resume, x remove, q close; K in the list or "
                         "statistics adds one");
    draw_text(a, w, line.data, line.len, COLS, A_BOLD, NULL, 0);
    qt_buf_reset(&line);
    qt_buf_printf(&line, "%-4s %-8s %-30s %8s %8s  %s", "RULE", "STATE", "ACTION", "CAUGHT",
                  "EXPIRES", "FILTER");
    wmove(w, 1, 0);
    draw_text(a, w, line.data, line.len, COLS, pair_attr(a, COLOR_PAIR_HEADER, A_BOLD), NULL, 0);
    if (!a->rules.n) {
        qt_buf_reset(&line);
        qt_buf_printf(&line, "no rules");
        wmove(w, 2, 0);
        draw_text(a, w, line.data, line.len, COLS, A_NORMAL, NULL, 0);
    }
    if (rp->cursor < rp->top)
        rp->top = rp->cursor;
    if (rp->cursor >= rp->top + (size_t)(h - 2))
        rp->top = rp->cursor - (size_t)(h - 3);
    for (i = rp->top, y = 2; i < a->rules.n && y < h; i++, y++) {
        const struct qt_rule *r = &a->rules.v[i];
        char act[300], left[32];

        qt_rule_describe_action(r, act, sizeof(act));
        qt_rule_format_left(r->expires - now, left, sizeof(left));
        qt_buf_reset(&line);
        qt_buf_printf(&line, "%-4u %-8s %-30.30s %8zu %8s  %s", r->id,
                      now >= r->expires ? "expired" : r->paused ? "paused" : "active", act,
                      r->caught, left, r->query);
        wmove(w, y, 0);
        draw_text(a, w, line.data, line.len, COLS,
                  i == rp->cursor ? pair_attr(a, COLOR_PAIR_CURSOR, A_REVERSE) : A_NORMAL,
                  NULL, 0);
    }
    wnoutrefresh(w);
    delwin(w);
    qt_buf_free(&line);
}

static unsigned rules_move(struct pane *p, long delta)
{
    struct rules_pane *rp = (struct rules_pane *)p;
    size_t n = p->app->rules.n;

    if (!n)
        return R_NONE;
    if (delta == PANE_TOP)
        rp->cursor = 0;
    else if (delta == PANE_BOTTOM)
        rp->cursor = n - 1;
    else if (delta < 0)
        rp->cursor = (size_t)-delta > rp->cursor ? 0 : rp->cursor - (size_t)-delta;
    else
        rp->cursor = rp->cursor + (size_t)delta >= n ? n - 1 : rp->cursor + (size_t)delta;
    return R_REDRAW;
}

static long rules_page(const struct pane *p)
{
    return p->app->list_rows;
}

static unsigned rules_close(struct pane *p)
{
    pane_focus_back(p->app);
    return R_REDRAW;
}

static bool rules_key(struct pane *p, int key, unsigned *reaction)
{
    struct rules_pane *rp = (struct rules_pane *)p;
    struct app *a = p->app;
    struct qt_rule *r = rp->cursor < a->rules.n ? &a->rules.v[rp->cursor] : NULL;

    switch (key) {
    case 'q':
        *reaction = rules_close(p);
        return true;
    case 'p':
        if (r) {
            r->paused = !r->paused;
            app_message(a, false, "rule %u %s", r->id, r->paused ? "paused" : "resumed");
            /* Resumed: what arrived meanwhile is its business again. */
            if (!r->paused) {
                size_t i;

                for (i = 0; i < a->store.n; i++)
                    qt_rules_note(&a->rules, qt_store_str(&a->store, a->store.msgs[i].id));
            }
        }
        *reaction = R_REDRAW;
        return true;
    case 'x':
    case 'd':   /* here d removes a rule: it never deletes mail from this pane */
        if (r) {
            unsigned id = r->id;
            size_t caught = r->caught;

            qt_rules_remove(&a->rules, id);
            if (rp->cursor && rp->cursor >= a->rules.n)
                rp->cursor--;
            app_message(a, false, "rule %u removed (it caught %zu)", id, caught);
        }
        *reaction = R_REDRAW;
        return true;
    default:
        return false;
    }
}

static void rules_free(struct pane *p)
{
    forget_pending((struct rules_pane *)p);
    free(p);
}

static const struct pane_ops rules_ops = {
    .name = "rules",
    .where = "the rules",
    .context = CTX_HELP,
    .keys = CTX_VIEWER,
    .flags = PANE_FULL_SCREEN | PANE_HIDES_ROW,
    .draw = rules_draw,
    .move_by = rules_move,
    .page = rules_page,
    .close = rules_close,
    .key = rules_key,
    .free = rules_free,
};

struct pane *rules_pane_new(struct app *a)
{
    struct rules_pane *rp = xcalloc(1, sizeof(*rp));

    rp->pane.ops = &rules_ops;
    rp->pane.app = a;
    return &rp->pane;
}
