#include "open.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qtriage/filter.h"
#include "qtriage/fleet.h"
#include "qtriage/header_cache.h"

bool cli_fleet_spec(const struct cli_common *common, struct qt_fleet_spec *spec,
                    struct qt_config *from_file)
{
    const struct qt_config *cfg = common->config;
    struct qt_error err = {""};
    static struct qt_config empty;

    memset(spec, 0, sizeof(*spec));
    qt_config_init(from_file);
    if (!cfg) {
        qt_config_init(&empty);
        cfg = &empty;
    }
    if (common->fleet_file) {
        /* As trusted as a configuration file: as root, root's only. */
        if (qt_config_read_file(from_file, common->fleet_file) == 0)
            qt_config_warn(from_file, common->fleet_file, 0, "no such file");
        for (size_t i = 0; i < from_file->nwarnings; i++)
            fprintf(stderr, "qtriage: %s\n", from_file->warnings[i]);
        cfg = from_file;
    }
    if (!qt_fleet_spec_select(spec, cfg, common->hosts, &err)) {
        fprintf(stderr, "qtriage: %s\n", err.msg);
        return false;
    }
    spec->ssh = common->ssh ? common->ssh
                : cfg->ssh  ? cfg->ssh
                : common->config && common->config->ssh ? common->config->ssh : NULL;
    spec->local_config_dir = common->config_dir;
    return true;
}

/* --hosts: one ssh per host (fleet.h). */
static bool open_fleet(struct cli_queue *cq, const struct cli_common *common)
{
    struct qt_config from_file;
    struct qt_fleet_spec spec;
    struct qt_error err = {""};
    bool ok = false;

    if (!cli_fleet_spec(common, &spec, &from_file))
        goto out;
    qt_feed_init(&cq->feed);
    cq->feed_live = true;
    cq->backend = qt_fleet_backend_new(&spec, &cq->feed, &err);
    if (!cq->backend) {
        fprintf(stderr, "qtriage: %s\n", err.msg);
        cq->error = err;
        qt_feed_destroy(&cq->feed);
        cq->feed_live = false;
        goto out;
    }
    cq->fleet = true;
    qt_store_init(&cq->store);
    cq->store_live = true;
    ok = true;
out:
    free((void *)spec.hosts);
    qt_config_free(&from_file);
    return ok;
}

size_t cli_fleet_report(struct cli_queue *cq)
{
    struct qt_host_status st[256];
    size_t n, i, lost = 0;

    if (!cq->fleet)
        return 0;
    n = qt_fleet_status(cq->backend, st, QT_ARRAY_LEN(st));
    for (i = 0; i < n && i < QT_ARRAY_LEN(st); i++) {
        if (st[i].state == QT_HOST_READONLY)
            fprintf(stderr, "qtriage: %s: %s\n", st[i].name, st[i].reason);
        else if (st[i].state != QT_HOST_LIVE)
            lost++;
    }
    return lost;
}

bool cli_open_queue(struct cli_queue *cq, const struct cli_common *common, bool need_actions)
{
    struct qt_error err = {""};
    enum qt_backend_kind kind = (enum qt_backend_kind)common->backend;

    memset(cq, 0, sizeof(*cq));
    if (common->hosts)
        return open_fleet(cq, common);
    if (!qt_spool_layout_load(&cq->layout, common->config_dir, &err)) {
        fprintf(stderr, "qtriage: cannot read the Postfix configuration%s%s: %s\n",
                common->config_dir ? " in " : "",
                common->config_dir ? common->config_dir : "", err.msg);
        cq->error = err;
        return false;
    }
    if (need_actions)
        return true;
    qt_feed_init(&cq->feed);
    cq->feed_live = true;
    cq->backend = qt_backend_open(&cq->layout, &cq->feed, kind, &err);
    if (!cq->backend) {
        fprintf(stderr, "qtriage: %s\n", err.msg);
        cli_close_queue(cq);
        cq->error = err;
        return false;
    }
    qt_store_init(&cq->store);
    cq->store_live = true;
    return true;
}

static void print_error(void *ctx, const char *msg)
{
    struct cli_queue *cq = ctx;

    fprintf(stderr, "qtriage: %s\n", msg);
    if (!cq->error.msg[0])
        qt_error_set(&cq->error, "%s", msg);
}

bool cli_load_queue(struct cli_queue *cq)
{
    return qt_backend_load(cq->backend, &cq->store, print_error, cq);
}

void cli_filter_headers(struct qt_filter *f, struct cli_queue *cq)
{
    /* A fleet's queue files are on its hosts: header terms match nothing
     * there, and the filter says why, as with postqueue -j. */
    if (!f || !qt_filter_uses_headers(f) || !cq->backend || cq->backend->read_only || cq->fleet)
        return;
    if (!cq->headers)
        cq->headers = qt_header_cache_new(&cq->layout);
    qt_filter_set_headers(f, cq->headers);
}

void cli_close_queue(struct cli_queue *cq)
{
    qt_header_cache_free(cq->headers);
    qt_backend_close(cq->backend);
    if (cq->store_live)
        qt_store_free(&cq->store);
    if (cq->feed_live)
        qt_feed_destroy(&cq->feed);
    qt_spool_layout_free(&cq->layout);
    memset(cq, 0, sizeof(*cq));
}

static void add_target(struct cli_targets *t, const char *id, enum qt_queue queue)
{
    t->t = xgrow(t->t, &t->cap, t->n + 1, sizeof(*t->t));
    t->t[t->n].id = xstrdup(id);
    t->t[t->n].queue = queue;
    t->n++;
}

static void read_ids(struct cli_targets *t, FILE *in)
{
    char *line = NULL;
    size_t lcap = 0;

    while (getline(&line, &lcap, in) >= 0) {
        char *p = line, *tok;

        /* Accept one ID per line, or several separated by blanks; ignore
         * postqueue -p markers ('*', '!') pasted along with them. */
        while ((tok = strtok(p, " \t\r\n")) != NULL) {
            size_t tl = strlen(tok);

            p = NULL;
            if (tl > 1 && (tok[tl - 1] == '*' || tok[tl - 1] == '!'))
                tok[tl - 1] = 0;
            add_target(t, tok, QT_Q_COUNT);
        }
    }
    free(line);
}

void cli_targets_from_args(struct cli_targets *t, int argc, char **argv, int first)
{
    for (int i = first; i < argc; i++) {
        if (strcmp(argv[i], "-") == 0)
            read_ids(t, stdin);
        else
            add_target(t, argv[i], QT_Q_COUNT);
    }
}

static int compare_targets(const void *a, const void *b)
{
    return strcmp(((const struct qt_action_target *)a)->id,
                  ((const struct qt_action_target *)b)->id);
}

bool cli_targets_valid(const struct cli_targets *t, const char *cmd)
{
    for (size_t i = 0; i < t->n; i++)
        if (!qt_queue_id_valid(t->t[i].id)) {
            fprintf(stderr, "qtriage: %s: invalid queue ID \"%.64s\"; nothing done\n", cmd,
                    t->t[i].id);
            return false;
        }
    return true;
}

int cli_targets_from_filter(struct cli_targets *t, struct cli_queue *cq, const char *expr)
{
    bool bad;
    struct qt_filter *f = cli_filter_compile(expr, NULL, &bad);
    int64_t now = (int64_t)time(NULL);
    size_t i, first = t->n;

    if (bad)
        return 2;
    cli_filter_headers(f, cq);
    /* What could not be read is said on stderr; what was read still counts
     * (a message that could not be read is listed as unreadable). */
    cli_load_queue(cq);
    for (i = 0; i < cq->store.n; i++) {
        const struct qt_msg *m = &cq->store.msgs[i];

        if (qt_filter_match(f, &cq->store, m, now))
            add_target(t, qt_store_str(&cq->store, m->id), (enum qt_queue)m->queue);
    }
    if (qt_filter_runtime_error(f))
        fprintf(stderr, "qtriage: filter: %s\n", qt_filter_runtime_error(f));
    qt_filter_free(f);
    if (t->n > first)     /* t->t is NULL while nothing matched */
        qsort(t->t + first, t->n - first, sizeof(*t->t), compare_targets);
    return 0;
}

void cli_targets_free(struct cli_targets *t)
{
    for (size_t i = 0; i < t->n; i++)
        free((char *)t->t[i].id);
    free(t->t);
    memset(t, 0, sizeof(*t));
}
