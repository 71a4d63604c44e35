#include "qtriage/rules.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qtriage/arena.h"
#include "qtriage/defer_log.h"
#include "qtriage/export.h"
#include "qtriage/message_build.h"
#include "qtriage/queue_file.h"

void qt_rules_init(struct qt_rules *r)
{
    memset(r, 0, sizeof(*r));
    r->next_id = 1;
    qt_selection_init(&r->changed);
}

static void rule_free(struct qt_rule *rule)
{
    free(rule->query);
    free(rule->backup_dir);
    qt_filter_free(rule->filter);
}

void qt_rules_free(struct qt_rules *r)
{
    size_t i;

    for (i = 0; i < r->n; i++)
        rule_free(&r->v[i]);
    free(r->v);
    qt_selection_free(&r->changed);
    memset(r, 0, sizeof(*r));
}

struct qt_rule *qt_rules_add(struct qt_rules *r, const char *query, enum qt_action action,
                             const char *backup_dir, int64_t lifetime, int64_t now,
                             struct qt_error *err)
{
    struct qt_filter_error fe = {0};
    struct qt_filter *f;
    struct qt_rule *rule;

    if (action != QT_ACT_HOLD && action != QT_ACT_DELETE) {
        qt_error_set(err, "a rule holds or deletes; \"%s\" is not for rules",
                     qt_action_name(action));
        return NULL;
    }
    if (action == QT_ACT_DELETE && (!backup_dir || !*backup_dir)) {
        qt_error_set(err, "a deleting rule needs a backup directory (--backup-dir, or "
                     "backup_dir in the configuration): it exports before it deletes");
        return NULL;
    }
    if (!query || !(f = qt_filter_compile(query, &fe))) {
        qt_error_set(err, "filter: %s (at %zu)", query ? fe.msg : "none", fe.pos);
        return NULL;
    }
    if (qt_filter_matches_all(f)) {
        qt_filter_free(f);
        qt_error_set(err, "a rule needs a filter: it would act on every message");
        return NULL;
    }
    /* Header terms read queue files through a cache the list owns; a rule
     * runs on the action thread with a copy of its filter and none, so
     * its header terms would never match.  Said, rather than a rule that
     * silently catches nothing. */
    if (qt_filter_uses_headers(f)) {
        qt_filter_free(f);
        qt_error_set(err, "a rule cannot test header.NAME yet: use the fields the list "
                     "shows (sender, subject, client, sasl, ...)");
        return NULL;
    }
    r->v = xgrow(r->v, &r->cap, r->n + 1, sizeof(*r->v));
    rule = &r->v[r->n++];
    memset(rule, 0, sizeof(*rule));
    rule->id = r->next_id++;
    rule->query = xstrdup(query);
    rule->filter = f;
    rule->action = action;
    rule->backup_dir = action == QT_ACT_DELETE ? xstrdup(backup_dir) : NULL;
    rule->created = now;
    rule->expires = now + (lifetime > 0 ? lifetime : QT_RULE_DEFAULT_LIFETIME);
    return rule;
}

struct qt_rule *qt_rules_find(struct qt_rules *r, unsigned id)
{
    size_t i;

    for (i = 0; i < r->n; i++)
        if (r->v[i].id == id)
            return &r->v[i];
    return NULL;
}

bool qt_rules_remove(struct qt_rules *r, unsigned id)
{
    struct qt_rule *rule = qt_rules_find(r, id);
    size_t i;

    if (!rule)
        return false;
    i = (size_t)(rule - r->v);
    rule_free(rule);
    /* Order is precedence: the older rule takes a message first. */
    memmove(&r->v[i], &r->v[i + 1], (r->n - i - 1) * sizeof(*r->v));
    r->n--;
    return true;
}

bool qt_rule_active(const struct qt_rule *rule, int64_t now)
{
    return !rule->paused && now < rule->expires;
}

size_t qt_rules_count_active(const struct qt_rules *r, int64_t now)
{
    size_t i, n = 0;

    for (i = 0; i < r->n; i++)
        n += qt_rule_active(&r->v[i], now);
    return n;
}

size_t qt_rules_caught(const struct qt_rules *r)
{
    size_t i, n = 0;

    for (i = 0; i < r->n; i++)
        n += r->v[i].caught;
    return n;
}

bool qt_rule_applies_to_queue(enum qt_action action, enum qt_queue queue)
{
    if (queue == QT_Q_CORRUPT)      /* postsuper leaves those to the admin */
        return false;
    if (action == QT_ACT_HOLD)
        return queue != QT_Q_HOLD && queue != QT_Q_MAILDROP;
    return true;
}

void qt_rules_note(void *ctx, const char *id)
{
    struct qt_rules *r = ctx;

    /* Nothing to remember while no rule could act on it. */
    if (r->n)
        qt_selection_add(&r->changed, id);
}

/* Batches under construction: IDs appended to a buffer, offsets fixed up at
 * the end (the buffer moves while it grows). */
struct builder {
    struct qt_buf ids;
    size_t *offsets;
    enum qt_queue *queues;
    size_t n, cap_off, cap_q;
};

static void builder_add(struct builder *bl, const char *id, enum qt_queue queue)
{
    bl->offsets = xgrow(bl->offsets, &bl->cap_off, bl->n + 1, sizeof(*bl->offsets));
    bl->queues = xgrow(bl->queues, &bl->cap_q, bl->n + 1, sizeof(*bl->queues));
    bl->offsets[bl->n] = bl->ids.len;
    bl->queues[bl->n] = queue;
    qt_buf_append(&bl->ids, id, strlen(id) + 1);
    bl->n++;
}

static void builder_finish(struct builder *bl, const struct qt_rule *rule,
                           struct qt_rule_batch *out)
{
    size_t i;

    memset(out, 0, sizeof(*out));
    out->rule_id = rule->id;
    out->query = xstrdup(rule->query);
    out->action = rule->action;
    out->backup_dir = rule->backup_dir ? xstrdup(rule->backup_dir) : NULL;
    out->n = bl->n;
    out->ids = bl->ids.data ? bl->ids.data : xstrdup("");
    out->t = xcalloc(bl->n ? bl->n : 1, sizeof(*out->t));
    for (i = 0; i < bl->n; i++) {
        out->t[i].id = out->ids + bl->offsets[i];
        out->t[i].queue = bl->queues[i];
    }
    free(bl->offsets);
    free(bl->queues);
    memset(bl, 0, sizeof(*bl));
}

static bool rule_takes(struct qt_rule *rule, const struct qt_store *s, const struct qt_msg *m,
                       int64_t now)
{
    return qt_rule_applies_to_queue(rule->action, (enum qt_queue)m->queue) &&
           qt_filter_match(rule->filter, s, m, now);
}

size_t qt_rules_collect(struct qt_rules *r, const struct qt_store *store, int64_t now,
                        struct qt_rule_batch **out)
{
    struct builder *bl;
    const char *id;
    size_t pos = 0, i, nb = 0;

    *out = NULL;
    if (!r->changed.count || !qt_rules_count_active(r, now)) {
        qt_selection_clear(&r->changed);
        return 0;
    }
    bl = xcalloc(r->n, sizeof(*bl));
    while ((id = qt_selection_next(&r->changed, &pos))) {
        long k = qt_store_find(store, id);

        if (k < 0)
            continue;
        for (i = 0; i < r->n; i++) {
            if (!qt_rule_active(&r->v[i], now))
                continue;
            if (rule_takes(&r->v[i], store, &store->msgs[k], now)) {
                builder_add(&bl[i], id, (enum qt_queue)store->msgs[k].queue);
                break;
            }
        }
    }
    qt_selection_clear(&r->changed);
    for (i = 0; i < r->n; i++)
        if (bl[i].n)
            nb++;
    if (nb) {
        size_t j = 0;

        *out = xcalloc(nb, sizeof(**out));
        for (i = 0; i < r->n; i++)
            if (bl[i].n)
                builder_finish(&bl[i], &r->v[i], &(*out)[j++]);
    }
    free(bl);
    return nb;
}

void qt_rules_collect_rule(struct qt_rules *r, const struct qt_rule *rule,
                           const struct qt_store *store, int64_t now,
                           struct qt_rule_batch *out)
{
    struct qt_rule *mine = qt_rules_find(r, rule->id);
    struct builder bl = {0};
    size_t k;

    if (mine && qt_rule_active(mine, now))
        for (k = 0; k < store->n; k++)
            if (rule_takes(mine, store, &store->msgs[k], now))
                builder_add(&bl, qt_store_str(store, store->msgs[k].id),
                            (enum qt_queue)store->msgs[k].queue);
    builder_finish(&bl, rule, out);
}

void qt_rule_batch_free(struct qt_rule_batch *b)
{
    free(b->query);
    free(b->backup_dir);
    free(b->t);
    free(b->ids);
    memset(b, 0, sizeof(*b));
}

void qt_rule_batches_free(struct qt_rule_batch *v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        qt_rule_batch_free(&v[i]);
    free(v);
}

void qt_rule_outcome_free(struct qt_rule_outcome *o)
{
    size_t i;

    for (i = 0; i < o->nacted; i++)
        free(o->acted[i]);
    free(o->acted);
    memset(o, 0, sizeof(*o));
}

/* A log of Postfix's next to the queue file: defer/ or bounce/. */
static void read_log(const struct qt_spool_layout *l, struct qt_defer_log *log, const char *dir,
                     bool hashed, const char *id)
{
    char rel[192], path[4096];
    int fd;

    qt_defer_log_reset(log);
    if (!qt_spool_relpath(l, dir, hashed, id, rel, sizeof(rel)))
        return;
    snprintf(path, sizeof(path), "%s/%s", l->queue_directory, rel);
    if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) < 0)
        return;
    qt_defer_log_read_fd(log, fd);
    close(fd);
}

/* The message as it is on disk now, into `s`; false when it is gone or
 * cannot be read whole (then the rule leaves it alone). */
static bool reread(const struct qt_spool_layout *l, const struct qt_action_target *t,
                   struct qt_store *s, struct qt_queue_file *qf, struct qt_defer_log *defer,
                   struct qt_defer_log *bounce, struct qt_arena *arena)
{
    struct qt_msg_data d;
    enum qt_queue where;
    struct stat st;
    char rel[192];
    bool ok;
    int fd = qt_spool_open_message(l, t->id, (int)t->queue, &where, rel, sizeof(rel));

    if (fd < 0)
        return false;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
        (where != QT_Q_CORRUPT && (st.st_mode & S_IRWXU) != S_IRWXU)) {
        close(fd);
        return false;
    }
    ok = qt_queue_file_read_sized(qf, fd, st.st_size, t->id, where == QT_Q_MAILDROP, NULL);
    close(fd);
    if (!ok)
        return false;
    read_log(l, defer, "defer", l->defer_hashed, t->id);
    read_log(l, bounce, "bounce", l->bounce_hashed, t->id);
    qt_arena_reset(arena);
    qt_msg_data_build(arena, &d, qf, where, &st, defer, bounce);
    qt_store_upsert(s, &d);
    return true;
}

/* The targets of `b` that its filter still matches, read from the spool. */
static size_t recheck(const struct qt_spool_layout *l, const struct qt_rule_batch *b,
                      struct qt_filter *f, struct qt_action_target *keep)
{
    struct qt_store s;
    struct qt_queue_file qf;
    struct qt_defer_log defer = {0}, bounce = {0};
    struct qt_arena arena = {0};
    int64_t now = (int64_t)time(NULL);
    size_t i, n = 0;

    qt_store_init(&s);
    qt_queue_file_init(&qf);
    for (i = 0; i < b->n; i++) {
        long k;

        if (!reread(l, &b->t[i], &s, &qf, &defer, &bounce, &arena))
            continue;
        k = qt_store_find(&s, b->t[i].id);
        if (k < 0 ||
            !qt_rule_applies_to_queue(b->action, (enum qt_queue)s.msgs[k].queue) ||
            !qt_filter_match(f, &s, &s.msgs[k], now))
            continue;
        keep[n].id = b->t[i].id;
        keep[n].queue = (enum qt_queue)s.msgs[k].queue;
        n++;
    }
    qt_queue_file_free(&qf);
    qt_defer_log_free(&defer);
    qt_defer_log_free(&bounce);
    qt_arena_free(&arena);
    qt_store_free(&s);
    return n;
}

static bool listed(char **v, size_t n, const char *id)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(v[i], id) == 0)
            return true;
    return false;
}

static void push_acted(struct qt_rule_outcome *o, const char *id)
{
    o->acted = xrealloc(o->acted, (o->nacted + 1) * sizeof(*o->acted));
    o->acted[o->nacted++] = xstrdup(id);
}

bool qt_rule_batch_run(const struct qt_spool_layout *l, const struct qt_rule_batch *b,
                       struct qt_rule_outcome *out)
{
    struct qt_filter_error fe = {0};
    struct qt_filter *f;
    struct qt_action_target *keep;
    struct qt_action_result ar;
    size_t n, i;
    bool ok;

    memset(out, 0, sizeof(*out));
    /* A filter of its own: a compiled filter keeps match state, and the
     * rule's belongs to the store's thread. */
    if (!(f = qt_filter_compile(b->query, &fe))) {
        out->failed = true;
        snprintf(out->message, sizeof(out->message), "rule %u: filter: %.500s", b->rule_id,
                 fe.msg);
        return false;
    }
    keep = xcalloc(b->n ? b->n : 1, sizeof(*keep));
    n = recheck(l, b, f, keep);
    qt_filter_free(f);
    out->let_go = b->n - n;
    if (!n) {
        free(keep);
        snprintf(out->message, sizeof(out->message), "rule %u: nothing left to act on",
                 b->rule_id);
        return true;
    }
    if (b->action == QT_ACT_DELETE) {
        struct qt_export_result er;

        ok = qt_export_then_delete(l, b->backup_dir, keep, n, &er, &ar);
        /* Deleted: exported, and not reported gone or left by postsuper. */
        for (i = 0; i < er.nexported; i++)
            if (!listed(ar.gone, ar.ngone, er.exported[i]) &&
                !listed(ar.skipped, ar.nskipped, er.exported[i]))
                push_acted(out, er.exported[i]);
        qt_export_delete_summary(b->backup_dir, &er, &ar, out->message, sizeof(out->message));
        qt_export_result_free(&er);
    } else {
        ok = qt_action_run(l, b->action, keep, n, NULL, &ar);
        if (!ar.failed)
            for (i = 0; i < n; i++)
                if (!listed(ar.gone, ar.ngone, keep[i].id) &&
                    !listed(ar.skipped, ar.nskipped, keep[i].id))
                    push_acted(out, keep[i].id);
        snprintf(out->message, sizeof(out->message), "%s", ar.message);
    }
    out->failed = !ok;
    out->let_go += ar.ngone + ar.nskipped;
    qt_action_result_free(&ar);
    free(keep);
    return ok;
}

void qt_rules_credit(struct qt_rules *r, unsigned rule_id, const struct qt_rule_outcome *o)
{
    struct qt_rule *rule = qt_rules_find(r, rule_id);

    if (!rule)
        return;
    rule->caught += o->nacted;
    rule->let_go += o->let_go;
}

void qt_rule_describe_action(const struct qt_rule *rule, char *buf, size_t size)
{
    if (rule->action == QT_ACT_DELETE)
        snprintf(buf, size, "delete (backup %s)", rule->backup_dir);
    else
        snprintf(buf, size, "%s", qt_action_name(rule->action));
}

void qt_rule_format_left(int64_t seconds, char *buf, size_t size)
{
    if (seconds <= 0)
        snprintf(buf, size, "expired");
    else if (seconds < 60)
        snprintf(buf, size, "%llds", (long long)seconds);
    else if (seconds < 3600)
        snprintf(buf, size, "%lldm", (long long)(seconds + 59) / 60);
    else
        snprintf(buf, size, "%lldh%02lldm", (long long)seconds / 3600,
                 (long long)(seconds % 3600) / 60);
}
