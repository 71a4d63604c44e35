/* A standing rule from the command line: act, rescan, act on what is new. */
#include "follow.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "qtriage/rules.h"

atomic_int cli_stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    atomic_store(&cli_stop_requested, 1);
}

void cli_catch_stop_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a pause between rescans ends at once. */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* Between rescans: a rescan reads only what changed, but still walks the
 * queue directories; once a second keeps a new message's wait short
 * without spending a core on watching. */
#define RESCAN_INTERVAL_MS 1000

static void print_catch(const struct qt_rule_batch *b, const struct qt_rule_outcome *o)
{
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    size_t i;

    localtime_r(&now, &tm);
    strftime(when, sizeof(when), "%H:%M:%S", &tm);
    if (o->nacted) {
        printf("%s %s %zu:", when, qt_action_describe(b->action)->done, o->nacted);
        for (i = 0; i < o->nacted; i++)
            printf(" %s", o->acted[i]);
        printf("\n");
    }
    if (o->failed)
        fprintf(stderr, "qtriage: %s\n", o->message);
    fflush(stdout);
}

static size_t run_batch(struct cli_queue *cq, struct qt_rules *rules, struct qt_rule_batch *b,
                        bool *failed)
{
    struct qt_rule_outcome o;
    size_t n;

    sigset_t block, old;

    if (!b->n)
        return 0;
    /* As for paced steps (pace.c): a Ctrl-C waits for the batch. */
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    if (!qt_rule_batch_run(&cq->layout, b, &o))
        *failed = true;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    qt_rules_credit(rules, b->rule_id, &o);
    print_catch(b, &o);
    n = o.nacted;
    qt_rule_outcome_free(&o);
    return n;
}

static void print_error(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "qtriage: %s\n", msg);
}

/* Wait until `until_ms` (monotonic) or a stop signal. */
static void pause_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

    if (!atomic_load(&cli_stop_requested))
        nanosleep(&ts, NULL);
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cli_follow(struct cli_queue *cq, enum qt_action a, const char *filter,
               const char *backup_dir, int64_t seconds, const char *duration_text)
{
    struct qt_rules rules;
    struct qt_error err = {""};
    struct qt_rule *rule;
    struct qt_rule_batch first;
    int64_t start = mono_ms(), end = start + seconds * 1000;
    size_t rescans = 0;
    bool failed = false;
    unsigned id;

    qt_rules_init(&rules);
    rule = qt_rules_add(&rules, filter, a, backup_dir, seconds, (int64_t)time(NULL), &err);
    if (!rule) {
        fprintf(stderr, "qtriage: %s --follow: %s\n", qt_action_name(a), err.msg);
        qt_rules_free(&rules);
        return 2;
    }
    id = rule->id;
    cli_catch_stop_signals();
    printf("%s --follow %s: acting on \"%s\" until %s or SIGINT/SIGTERM\n", qt_action_name(a),
           duration_text ? duration_text : "", filter, duration_text ? duration_text : "then");
    fflush(stdout);
    /* What matches now, from the store the confirmation counted. */
    qt_rules_collect_rule(&rules, rule, &cq->store, (int64_t)time(NULL), &first);
    run_batch(cq, &rules, &first, &failed);
    qt_rule_batch_free(&first);
    while (!atomic_load(&cli_stop_requested) && mono_ms() < end) {
        struct qt_rule_batch *v;
        size_t nb, i;
        int64_t left = end - mono_ms();

        pause_ms(left < RESCAN_INTERVAL_MS ? left : RESCAN_INTERVAL_MS);
        if (atomic_load(&cli_stop_requested) || mono_ms() >= end)
            break;
        /* Only what the rescan found new or changed is looked at. */
        qt_backend_load_changes(cq->backend, &cq->store, print_error, qt_rules_note, &rules);
        rescans++;
        nb = qt_rules_collect(&rules, &cq->store, (int64_t)time(NULL), &v);
        for (i = 0; i < nb; i++)
            run_batch(cq, &rules, &v[i], &failed);
        qt_rule_batches_free(v, nb);
    }
    rule = qt_rules_find(&rules, id);
    printf("%s --follow: %zu message%s %s by \"%s\" in %.0f s (%zu rescans)%s; %zu let go "
           "(no longer matching or gone when acted on)\n",
           qt_action_name(a), rule->caught, rule->caught == 1 ? "" : "s",
           qt_action_describe(a)->done, filter, (double)(mono_ms() - start) / 1000.0, rescans,
           atomic_load(&cli_stop_requested) ? ", stopped by a signal" : "", rule->let_go);
    qt_rules_free(&rules);
    return failed ? 1 : 0;
}
