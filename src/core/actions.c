#include "qtriage/actions.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qtriage/idmap.h"
#include "qtriage/proc.h"
#include "qtriage/queue_file.h"

/* How an action runs; what is said about it is in descs[] below. */
struct action_info {
    const char *postsuper_flag;     /* NULL: not a postsuper action */
    const char *log_verb;           /* postsuper's per-ID message: "ID: <verb>" */
    /* Queues postsuper may find the message in for this action. */
    bool from[QT_Q_COUNT];
};

static const struct action_info actions[QT_ACT_COUNT] = {
    [QT_ACT_HOLD] = {"-h", "placed on hold",
                     {[QT_Q_INCOMING] = 1, [QT_Q_ACTIVE] = 1, [QT_Q_DEFERRED] = 1}},
    [QT_ACT_RELEASE] = {"-H", "released from hold", {[QT_Q_HOLD] = 1}},
    [QT_ACT_REQUEUE] = {"-r", "requeued",
                        {[QT_Q_INCOMING] = 1, [QT_Q_ACTIVE] = 1, [QT_Q_DEFERRED] = 1,
                         [QT_Q_HOLD] = 1}},
    /* postsuper refuses "corrupt" as a queue name: those files are left to
     * the admin (postsuper -s, by hand). */
    [QT_ACT_DELETE] = {"-d", "removed",
                       {[QT_Q_MAILDROP] = 1, [QT_Q_INCOMING] = 1, [QT_Q_ACTIVE] = 1,
                        [QT_Q_DEFERRED] = 1, [QT_Q_HOLD] = 1}},
    [QT_ACT_EXPIRE] = {"-e", "expired",
                       {[QT_Q_INCOMING] = 1, [QT_Q_ACTIVE] = 1, [QT_Q_DEFERRED] = 1,
                        [QT_Q_HOLD] = 1}},
    [QT_ACT_DELIVER] = {NULL, NULL, {[QT_Q_DEFERRED] = 1}},
    [QT_ACT_FLUSH] = {NULL, NULL, {0}},
    [QT_ACT_FLUSH_SITE] = {NULL, NULL, {0}},
};

static const struct qt_action_desc descs[QT_ACT_COUNT] = {
    [QT_ACT_HOLD] = {"hold", "Hold", "holding", "held", "postsuper -h", "put on hold", true,
                     false, true},
    [QT_ACT_RELEASE] = {"release", "Release", "releasing", "released", "postsuper -H",
                        "release from hold", true, false, true},
    [QT_ACT_REQUEUE] = {"requeue", "Requeue", "requeueing", "requeued", "postsuper -r",
                        "requeue: they get new IDs", true, false, true},
    [QT_ACT_DELETE] = {"delete", "DELETE", "deleting", "deleted", "postsuper -d", "delete",
                       true, true, true},
    /* Force-expiring bounces the mail to its senders at the next attempt. */
    [QT_ACT_EXPIRE] = {"expire", "Force-expire", "force-expiring", "force-expired",
                       "postsuper -e", "force-expire: bounce at the next attempt", true, true,
                       true},
    [QT_ACT_DELIVER] = {"deliver", "Attempt delivery of", "delivering", "delivery attempted",
                        "postqueue -i", "attempt delivery now", false, false, true},
    [QT_ACT_FLUSH] = {"flush", "Flush", "flushing", "flushed", "postqueue -f",
                      "flush the whole queue", false, true, false},
    [QT_ACT_FLUSH_SITE] = {"flush-site", "Flush", "flushing", "flushed", "postqueue -s",
                           "flush the mail for one site", false, true, false},
};

const struct qt_action_desc *qt_action_describe(enum qt_action a)
{
    return (unsigned)a < QT_ACT_COUNT ? &descs[a] : NULL;
}

const char *qt_action_name(enum qt_action a)
{
    return (unsigned)a < QT_ACT_COUNT ? descs[a].name : "?";
}

bool qt_action_from_name(const char *name, enum qt_action *a)
{
    int i;

    for (i = 0; i < QT_ACT_COUNT; i++)
        if (strcmp(name, descs[i].name) == 0) {
            *a = (enum qt_action)i;
            return true;
        }
    return false;
}

bool qt_action_takes_ids(enum qt_action a)
{
    return (unsigned)a < QT_ACT_COUNT && descs[a].takes_ids;
}

void qt_action_result_free(struct qt_action_result *res)
{
    size_t i;

    for (i = 0; i < res->ngone; i++)
        free(res->gone[i]);
    for (i = 0; i < res->nskipped; i++)
        free(res->skipped[i]);
    for (i = 0; i < res->ninvalid; i++)
        free(res->invalid[i]);
    free(res->gone);
    free(res->skipped);
    free(res->invalid);
    memset(res, 0, sizeof(*res));
}

static void push(char ***v, size_t *n, const char *s)
{
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[(*n)++] = xstrdup(s);
}

/* What one postsuper run reported. */
struct run_state {
    const struct action_info *info;
    struct qt_idmap *pending;   /* IDs asked for and not yet acted on */
    size_t acted_lines;         /* per-ID confirmations seen in this run */
    long summary;               /* "Placed on hold: N messages", -1 if absent */
    struct qt_buf errors;       /* lines that are neither */
};

static void on_postsuper_line(void *ctx, char *line, size_t len)
{
    struct run_state *rs = ctx;
    const char *p = line, *colon;
    char id[QT_QUEUE_ID_MAX + 1];
    size_t idlen;

    (void)len;
    /* Lines look like "postsuper: ID: placed on hold" or
     * "postsuper: Placed on hold: 3 messages". */
    if (strncmp(p, "postsuper: ", 11) == 0)
        p += 11;
    colon = strchr(p, ':');
    if (colon && colon[1] == ' ') {
        idlen = (size_t)(colon - p);
        if (idlen <= QT_QUEUE_ID_MAX && strcmp(colon + 2, rs->info->log_verb) == 0) {
            memcpy(id, p, idlen);
            id[idlen] = 0;
            if (qt_queue_id_valid(id)) {
                qt_idmap_forget(rs->pending, id);
                rs->acted_lines++;
                return;
            }
        }
        if (strstr(colon, " message") && (colon[2] >= '0' && colon[2] <= '9')) {
            rs->summary = atol(colon + 2);
            return;
        }
    }
    if (rs->errors.len < 4096) {
        if (rs->errors.len)
            qt_buf_append(&rs->errors, "; ", 2);
        qt_buf_append(&rs->errors, p, strlen(p));
    }
}

/* Run postsuper on the IDs in `ids` (newline-separated), restricted to
 * `queue` or, when NULL, to every queue the action applies to. */
static bool run_postsuper(const struct qt_spool_layout *l, const struct action_info *info,
                          const char *queue, const struct qt_buf *ids, struct run_state *rs,
                          struct qt_action_result *res)
{
    const char *argv[16];
    struct qt_proc_spec spec = {.argv = argv, .stdin_data = ids->data,
                                .stdin_len = ids->len, .on_stderr_line = on_postsuper_line,
                                .stderr_after_exit = true,
                                .ctx = rs};
    struct qt_proc_result pr;
    int argc, q;
    bool ok;

    argc = qt_spool_tool_argv(l, l->postsuper, argv);
    argv[argc++] = info->postsuper_flag;
    argv[argc++] = "-";
    if (queue) {
        argv[argc++] = queue;
    } else {
        for (q = 0; q < QT_Q_COUNT && argc < 14; q++)
            if (info->from[q])
                argv[argc++] = qt_queue_name((enum qt_queue)q);
    }
    argv[argc] = NULL;
    rs->summary = -1;
    rs->acted_lines = 0;
    ok = qt_proc_run(&spec, &pr);
    /* postsuper sums up at the end; one that failed or was killed half way
     * did not, and then its per-ID lines are all there is. */
    if (rs->summary >= 0)
        res->acted += (size_t)rs->summary;
    else
        res->acted += rs->acted_lines;
    if (!ok) {
        char how[256];

        qt_proc_describe(&spec, &pr, how, sizeof(how));
        res->failed = true;
        snprintf(res->message, sizeof(res->message), "%s%s%.300s", how,
                 rs->errors.len ? ": " : "", rs->errors.len ? rs->errors.data : "");
    }
    qt_proc_result_free(&pr);
    return ok;
}

static void add_unacted(void *ctx, const char *id)
{
    struct qt_buf *b = ctx;

    qt_buf_printf(b, "%s\n", id);
}

struct leftover_ctx {
    const struct qt_spool_layout *l;
    struct qt_action_result *res;
};

static void classify_leftover(void *ctx, const char *id)
{
    struct leftover_ctx *lc = ctx;
    enum qt_queue where;

    if (qt_spool_locate(lc->l, id, &where))
        push(&lc->res->skipped, &lc->res->nskipped, id);
    else
        push(&lc->res->gone, &lc->res->ngone, id);
}

static void noop_gone(void *ctx, const char *id)
{
    (void)ctx;
    (void)id;
}

static bool run_postsuper_action(const struct qt_spool_layout *l, enum qt_action a,
                                 const struct qt_action_target *t, size_t n,
                                 struct qt_action_result *res)
{
    const struct action_info *info = &actions[a];
    struct qt_idmap pending;
    struct run_state rs = {.info = info, .pending = &pending};
    struct leftover_ctx lc = {.l = l, .res = res};
    struct qt_buf ids[QT_Q_COUNT + 1] = {{0}};
    struct qt_buf rest = {0};
    size_t i;
    int q;
    bool ok = true;

    qt_idmap_init(&pending);
    for (i = 0; i < n; i++) {
        bool created;
        struct qt_idmap_entry *e = qt_idmap_put(&pending, t[i].id, &created);
        enum qt_queue tq = t[i].queue;

        if (!created)
            continue;           /* asked twice: once is enough */
        e->gen = 1;
        res->requested++;
        /* Unknown queue, or one the action cannot apply to: let the second
         * pass (all applicable queues) deal with it. */
        q = (unsigned)tq < QT_Q_COUNT && info->from[tq] ? (int)tq : QT_Q_COUNT;
        qt_buf_printf(&ids[q], "%s\n", t[i].id);
    }
    /* After a failure nothing more runs: what failed once (a missing or
     * broken postsuper, a queue it cannot write) would fail again, and the
     * admin should find the rest of the queue as it was. */
    for (q = 0; q < QT_Q_COUNT && ok; q++)
        if (ids[q].len && !run_postsuper(l, info, qt_queue_name((enum qt_queue)q), &ids[q],
                                         &rs, res))
            ok = false;
    /* Second pass: whatever was not acted on yet, in any applicable queue. */
    if (ok) {
        for (i = 0; i < pending.used; i++) {
            struct qt_idmap_entry *e = &pending.entries[i];

            if (!e->dead)
                add_unacted(&rest, qt_idmap_id(&pending, e));
        }
        if (rest.len && !run_postsuper(l, info, NULL, &rest, &rs, res))
            ok = false;
    }
    if (ok)
        qt_idmap_sweep(&pending, 2, classify_leftover, &lc);
    else
        qt_idmap_sweep(&pending, 2, noop_gone, NULL);
    for (q = 0; q <= QT_Q_COUNT; q++)
        qt_buf_free(&ids[q]);
    qt_buf_free(&rest);
    qt_buf_free(&rs.errors);
    qt_idmap_free(&pending);
    return ok;
}

/* postsuper -r moves mail to maildrop; pickup only polls it every minute
 * unless told.  Returns false with a note in res->message on failure. */
static bool wake_pickup(const struct qt_spool_layout *l, struct qt_action_result *res)
{
    const char *argv[8];
    struct qt_proc_spec spec = {.argv = argv};
    struct qt_proc_result pr;
    int argc;
    bool ok;

    argc = qt_spool_tool_argv(l, l->postkick, argv);
    argv[argc++] = "public";
    argv[argc++] = "pickup";
    argv[argc++] = "W";
    argv[argc] = NULL;
    ok = qt_proc_run(&spec, &pr);
    if (!ok)
        snprintf(res->pickup_note, sizeof(res->pickup_note),
                 "pickup not woken (is Postfix running?); it will find the mail within a minute");
    qt_proc_result_free(&pr);
    return ok;
}

static bool run_postqueue(const struct qt_spool_layout *l, const char *flag, const char *arg,
                          struct qt_action_result *res)
{
    const char *argv[8];
    struct qt_proc_spec spec = {.argv = argv};
    struct qt_proc_result pr;
    int argc;
    bool ok;

    argc = qt_spool_tool_argv(l, l->postqueue, argv);
    argv[argc++] = flag;
    if (arg)
        argv[argc++] = arg;
    argv[argc] = NULL;
    ok = qt_proc_run(&spec, &pr);
    if (!ok) {
        res->failed = true;
        qt_proc_describe(&spec, &pr, res->message, sizeof(res->message));
    }
    qt_proc_result_free(&pr);
    return ok;
}

static bool run_deliver(const struct qt_spool_layout *l, const struct qt_action_target *t,
                        size_t n, struct qt_action_result *res)
{
    struct qt_idmap seen;
    size_t i;
    bool ok = true;

    qt_idmap_init(&seen);
    for (i = 0; i < n; i++) {
        bool created;
        enum qt_queue where;

        qt_idmap_put(&seen, t[i].id, &created);
        if (!created)
            continue;
        res->requested++;
        if (!qt_spool_locate(l, t[i].id, &where)) {
            push(&res->gone, &res->ngone, t[i].id);
            continue;
        }
        if (!run_postqueue(l, "-i", t[i].id, res)) {
            ok = false;
            break;
        }
        res->acted++;
    }
    qt_idmap_free(&seen);
    return ok;
}

bool qt_action_run(const struct qt_spool_layout *l, enum qt_action a,
                   const struct qt_action_target *targets, size_t n, const char *site,
                   struct qt_action_result *res)
{
    size_t i;
    bool ok;

    memset(res, 0, sizeof(*res));
    if ((unsigned)a >= QT_ACT_COUNT) {
        snprintf(res->message, sizeof(res->message), "unknown action");
        res->failed = true;
        return false;
    }
    for (i = 0; i < n; i++)
        if (!qt_queue_id_valid(targets[i].id))
            push(&res->invalid, &res->ninvalid, targets[i].id);
    if (res->ninvalid) {
        snprintf(res->message, sizeof(res->message),
                 "%s: %zu invalid queue ID%s (first: \"%.64s\"); nothing done",
                 descs[a].name, res->ninvalid, res->ninvalid == 1 ? "" : "s",
                 res->invalid[0]);
        res->failed = true;
        return false;
    }
    switch (a) {
    case QT_ACT_FLUSH:
        ok = run_postqueue(l, "-f", NULL, res);
        break;
    case QT_ACT_FLUSH_SITE:
        if (!site || !*site || strchr(site, '\n') || site[0] == '-') {
            snprintf(res->message, sizeof(res->message), "flush-site: invalid site name");
            res->failed = true;
            return false;
        }
        ok = run_postqueue(l, "-s", site, res);
        break;
    case QT_ACT_DELIVER:
        ok = run_deliver(l, targets, n, res);
        break;
    default:
        ok = run_postsuper_action(l, a, targets, n, res);
        if (a == QT_ACT_REQUEUE && res->acted > 0)
            wake_pickup(l, res);
        break;
    }
    if (!ok && res->failed) {
        char how[sizeof(res->message)];

        /* One line: which action, what went wrong, and how far it got. */
        snprintf(how, sizeof(how), "%s", res->message);
        if (res->acted == 0)
            snprintf(res->message, sizeof(res->message), "%s: %.400s; nothing done",
                     descs[a].name, how);
        else
            snprintf(res->message, sizeof(res->message),
                     "%s: %.400s; %zu of %zu acted on before that, nothing more was run",
                     descs[a].name, how, res->acted, res->requested);
    }
    if (ok) {
        int len = snprintf(res->message, sizeof(res->message), "%s: %zu acted on",
                           descs[a].name, res->acted);

        if (res->ngone && len > 0 && (size_t)len < sizeof(res->message))
            len += snprintf(res->message + len, sizeof(res->message) - (size_t)len,
                            ", %zu already gone", res->ngone);
        if (res->nskipped && len > 0 && (size_t)len < sizeof(res->message))
            len += snprintf(res->message + len, sizeof(res->message) - (size_t)len,
                            ", %zu not applicable", res->nskipped);
        if (res->pickup_note[0] && len > 0 && (size_t)len < sizeof(res->message))
            snprintf(res->message + len, sizeof(res->message) - (size_t)len, " (%s)",
                     res->pickup_note);
    }
    return ok;
}
