#include "qtriage/pace.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool qt_pace_applies(enum qt_action a)
{
    return a == QT_ACT_RELEASE || a == QT_ACT_REQUEUE || a == QT_ACT_DELIVER;
}

bool qt_pace_parse_rate(const char *text, struct qt_pace *p, struct qt_error *err)
{
    char *end;
    unsigned long long n;
    int64_t per_ms;

    memset(p, 0, sizeof(*p));
    errno = 0;
    n = strtoull(text, &end, 10);
    if (end == text || errno || n == 0 || n > 100000000 || end[0] != '/' || !end[1] || end[2]) {
        qt_error_set(err, "--rate wants N/s, N/m or N/h with N > 0, not \"%s\"", text);
        return false;
    }
    switch (end[1]) {
    case 's': per_ms = 1000; break;
    case 'm': per_ms = 60000; break;
    case 'h': per_ms = 3600000; break;
    default:
        qt_error_set(err, "--rate wants N/s, N/m or N/h with N > 0, not \"%s\"", text);
        return false;
    }
    /* One step a second at most (postsuper per message would cost more
     * than it spares); a slow rate gets one message every so often. */
    if (n * 1000 >= (unsigned long long)per_ms) {
        p->batch = (size_t)(n * 1000 / (unsigned long long)per_ms);
        p->every_ms = 1000;
    } else {
        p->batch = 1;
        p->every_ms = per_ms / (int64_t)n;
    }
    return true;
}

long qt_pace_active_count(const struct qt_spool_layout *l)
{
    char path[4096];
    DIR *d;
    struct dirent *e;
    long n = 0;

    /* The active queue is never hashed by default; when it is, count the
     * files one level down too. */
    snprintf(path, sizeof(path), "%s/active", l->queue_directory);
    if (!(d = opendir(path)))
        return -1;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (l->hashed[QT_Q_ACTIVE] && e->d_name[1] == 0) {
            char sub[4200];
            DIR *sd;
            struct dirent *se;

            snprintf(sub, sizeof(sub), "%.4000s/%c", path, e->d_name[0]);
            if ((sd = opendir(sub))) {
                while ((se = readdir(sd)))
                    n += se->d_name[0] != '.';
                closedir(sd);
            }
            continue;
        }
        n++;
    }
    closedir(d);
    return n;
}

bool qt_pace_default(const struct qt_spool_layout *l, size_t n, struct qt_pace *p, char *why,
                     size_t size)
{
    static const char *const names[] = {"qmgr_message_active_limit"};
    char **v;
    long limit = 20000;

    memset(p, 0, sizeof(*p));
    if (n <= QT_PACE_DEFAULT_ABOVE) {
        snprintf(why, size, "all at once");
        return false;
    }
    if ((v = qt_postconf_values(l->postconf, l->config_dir, names, 1, NULL))) {
        long got;

        if (qt_parse_long(v[0], &got) && got > 1)
            limit = got;
        qt_strv_free(v, 1);
    }
    p->batch = (size_t)(limit / 2);
    p->every_ms = 1000;
    p->drain_below = (size_t)(limit / 2);
    snprintf(why, size,
             "paced: steps of %zu (qmgr_message_active_limit %ld / 2), each once the active "
             "queue is below %zu", p->batch, limit, p->drain_below);
    return true;
}

void qt_pace_describe(const struct qt_pace *p, char *buf, size_t size)
{
    if (!p->batch) {
        snprintf(buf, size, "all at once");
        return;
    }
    if (p->every_ms % 1000 == 0)
        snprintf(buf, size, "in steps of %zu every %lld s%s", p->batch,
                 (long long)p->every_ms / 1000, p->drain_below ? ", active queue permitting" : "");
    else
        snprintf(buf, size, "in steps of %zu every %.1f s%s", p->batch,
                 (double)p->every_ms / 1000.0, p->drain_below ? ", active queue permitting" : "");
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        break;      /* a signal: let the caller look at its stop flag */
}

/* Until `until` (monotonic ms) and, with drain_below, until the active
 * queue is small enough; false when stopped meanwhile. */
static bool wait_for_next_step(const struct qt_spool_layout *l, const struct qt_pace *p,
                               int64_t until, atomic_int *stop)
{
    for (;;) {
        int64_t now = mono_ms();
        long active;

        if (stop && atomic_load(stop))
            return false;
        if (now >= until) {
            if (!p->drain_below)
                return true;
            active = qt_pace_active_count(l);
            if (active < 0 || (size_t)active < p->drain_below)
                return true;
            until = now + 200;
        }
        nap_ms(until - now < 50 ? until - now : 50);
    }
}

static void steal(char ***dst, size_t *ndst, char ***src, size_t *nsrc)
{
    if (!*nsrc)
        return;
    *dst = xrealloc(*dst, (*ndst + *nsrc + 1) * sizeof(**dst));
    memcpy(*dst + *ndst, *src, *nsrc * sizeof(**src));
    *ndst += *nsrc;
    free(*src);
    *src = NULL;
    *nsrc = 0;
}

static void merge(struct qt_action_result *into, struct qt_action_result *step)
{
    into->requested += step->requested;
    into->acted += step->acted;
    steal(&into->gone, &into->ngone, &step->gone, &step->ngone);
    steal(&into->skipped, &into->nskipped, &step->skipped, &step->nskipped);
    steal(&into->invalid, &into->ninvalid, &step->invalid, &step->ninvalid);
    into->failed |= step->failed;
    if (step->pickup_note[0])
        snprintf(into->pickup_note, sizeof(into->pickup_note), "%s", step->pickup_note);
    snprintf(into->message, sizeof(into->message), "%s", step->message);
}

bool qt_action_run_paced(const struct qt_spool_layout *l, enum qt_action a,
                         const struct qt_action_target *targets, size_t n,
                         const struct qt_pace *p, atomic_int *stop,
                         void (*progress)(void *ctx, const struct qt_pace_progress *pr),
                         void *ctx, struct qt_action_result *res, size_t *done_n)
{
    struct qt_pace_progress pr = {0};
    size_t batch = p && p->batch ? p->batch : n;
    bool ok = true, stopped = false;
    int64_t next = 0;
    size_t i = 0;

    memset(res, 0, sizeof(*res));
    if (!batch)
        batch = 1;
    pr.total = n;
    pr.steps = n ? (n + batch - 1) / batch : 0;
    while (i < n) {
        struct qt_action_result step;
        size_t k = n - i < batch ? n - i : batch;

        if (i > 0) {
            pr.waiting = true;
            if (progress)
                progress(ctx, &pr);
            if (!wait_for_next_step(l, p, next, stop)) {
                stopped = true;
                break;
            }
            pr.waiting = false;
        }
        if (stop && atomic_load(stop)) {
            stopped = true;
            break;
        }
        next = mono_ms() + (p ? p->every_ms : 0);
        {
            /* A Ctrl-C at the terminal reaches the whole process group:
             * with SIGINT and SIGTERM blocked (the tools inherit the mask)
             * it cannot cut a step half way; it takes effect between
             * steps, through the caller's stop flag. */
            sigset_t block, old;

            sigemptyset(&block);
            sigaddset(&block, SIGINT);
            sigaddset(&block, SIGTERM);
            pthread_sigmask(SIG_BLOCK, &block, &old);
            ok = qt_action_run(l, a, targets + i, k, NULL, &step);
            pthread_sigmask(SIG_SETMASK, &old, NULL);
        }
        merge(res, &step);
        i += k;
        pr.done = i;
        pr.acted = res->acted;
        pr.step++;
        if (progress)
            progress(ctx, &pr);
        if (!ok)
            break;
    }
    *done_n = i;
    if (stopped || (!ok && i < n)) {
        snprintf(res->message, sizeof(res->message),
                           "%s: %s after %zu of %zu: %zu acted on; %zu NOT handed to %s "
                           "(left as they were)",
                           qt_action_name(a), stopped ? "stopped" : "failed", i, n, res->acted,
                           n - i, qt_action_describe(a)->tool);
        return false;
    }
    if (ok && pr.steps > 1)
        snprintf(res->message, sizeof(res->message), "%s: %zu acted on in %zu steps%s%s",
                 qt_action_name(a), res->acted, pr.steps,
                 res->ngone ? ", some already gone" : "",
                 res->pickup_note[0] ? " (pickup not woken)" : "");
    return ok;
}
