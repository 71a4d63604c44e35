#include "qtriage/scanner.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qtriage/defer_log.h"
#include "qtriage/idmap.h"
#include "qtriage/message_build.h"
#include "qtriage/queue_file.h"

#define RING_SIZE 4096
#define BATCH_EVENTS 512
#define FIRST_BATCH_EVENTS 64
#define MAX_DIR_DEPTH 8
/* Threads that walk the queue directories, each stat()ing its share of the
 * queue IDs (by hash).  A rescan of an unchanged queue is nothing but
 * readdir and one stat per file, mostly in the kernel: two walkers halve it
 * on two cores. */
#define WALKERS 2

/* Walk order: as showq lists them, then corrupt. */
static const enum qt_queue walk_order[] = {QT_Q_MAILDROP, QT_Q_ACTIVE, QT_Q_INCOMING,
                                           QT_Q_DEFERRED, QT_Q_HOLD, QT_Q_CORRUPT};

struct scan_item {
    enum qt_queue queue;
    char id[QT_QUEUE_ID_MAX + 1];
    char relpath[192];
};

struct qt_scanner {
    const struct qt_spool_layout *layout;
    struct qt_feed *feed;
    int nworkers;

    pthread_t coordinator;
    bool thread_live;
    atomic_bool running;
    atomic_bool stop;

    /* What each walker knows of its share of the IDs (walker k: the IDs
     * whose hash is k modulo WALKERS), used by that walker only.  An ID
     * stays in one share wherever it moves, so its events come from one
     * thread, in order. */
    struct qt_idmap known[WALKERS];
    uint32_t gen;
    int qdir_fd;

    pthread_mutex_t lock;       /* protects the ring and what follows it */
    pthread_cond_t nonempty, nonfull;
    struct scan_item ring[RING_SIZE];
    size_t head, count;
    bool closing;
    int idle_workers;           /* waiting on nonempty */
    int producers_waiting;      /* walkers waiting on nonfull */

    /* IDs that have a bounce log (usually none), read once per scan so that
     * a hundred thousand messages do not each try to open one. */
    struct qt_idmap bounced;

    atomic_ulong files_seen, parsed, unreadable, vanished;
    struct qt_scan_stats last;
};

struct qt_scanner *qt_scanner_new(const struct qt_spool_layout *layout, struct qt_feed *feed,
                                  int nworkers)
{
    struct qt_scanner *sc = xcalloc(1, sizeof(*sc));
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    sc->layout = layout;
    sc->feed = feed;
    sc->nworkers = nworkers > 0 ? nworkers : (cpus > 0 && cpus < 64 ? (int)cpus : 2);
    sc->qdir_fd = -1;
    for (int k = 0; k < WALKERS; k++)
        qt_idmap_init(&sc->known[k]);
    qt_idmap_init(&sc->bounced);
    pthread_mutex_init(&sc->lock, NULL);
    pthread_cond_init(&sc->nonempty, NULL);
    pthread_cond_init(&sc->nonfull, NULL);
    return sc;
}

/* ---- work ring ----
 * Items move in chunks, one lock round trip per chunk, and a thread is only
 * woken when someone is actually waiting: per-item signalling made the
 * futex the hottest thing in a 100k-message scan. */

#define CHUNK 32

static void ring_push_many(struct qt_scanner *sc, const struct scan_item *it, size_t n)
{
    size_t i;

    pthread_mutex_lock(&sc->lock);
    for (i = 0; i < n; i++) {
        while (sc->count == RING_SIZE) {
            if (sc->idle_workers)
                pthread_cond_broadcast(&sc->nonempty);
            sc->producers_waiting++;
            pthread_cond_wait(&sc->nonfull, &sc->lock);
            sc->producers_waiting--;
        }
        sc->ring[(sc->head + sc->count) % RING_SIZE] = it[i];
        sc->count++;
    }
    if (sc->idle_workers)
        pthread_cond_broadcast(&sc->nonempty);
    pthread_mutex_unlock(&sc->lock);
}

/* Take up to `max` items.  Returns 0 when the ring is closed and empty;
 * *was_empty tells whether the ring was empty when we asked (a good moment
 * to publish a partial batch). */
static size_t ring_pop_many(struct qt_scanner *sc, struct scan_item *it, size_t max,
                            bool *was_empty)
{
    size_t n = 0;

    pthread_mutex_lock(&sc->lock);
    *was_empty = sc->count == 0;
    while (sc->count == 0 && !sc->closing) {
        sc->idle_workers++;
        pthread_cond_wait(&sc->nonempty, &sc->lock);
        sc->idle_workers--;
    }
    while (n < max && sc->count > 0) {
        it[n++] = sc->ring[sc->head];
        sc->head = (sc->head + 1) % RING_SIZE;
        sc->count--;
    }
    if (sc->producers_waiting)
        pthread_cond_broadcast(&sc->nonfull);
    pthread_mutex_unlock(&sc->lock);
    return n;
}

/* ---- workers ---- */

struct worker {
    struct qt_scanner *sc;
    struct qt_batch *batch;
    size_t published;
    struct qt_queue_file qf;
    struct qt_defer_log defer, bounce;
};

static void publish(struct worker *w)
{
    if (w->batch && w->batch->n) {
        qt_feed_push(w->sc->feed, w->batch);
        w->published++;
        w->batch = NULL;
    }
}

static struct qt_batch *worker_batch(struct worker *w)
{
    if (!w->batch)
        w->batch = qt_batch_new();
    return w->batch;
}

/* Read queue_directory/<log>/<hash>/<id> into `log` (empty when absent). */
static void read_log(struct qt_scanner *sc, struct qt_defer_log *log, const char *dir,
                     bool hashed, const char *id)
{
    char rel[192];
    int fd;

    qt_defer_log_reset(log);
    if (!qt_spool_relpath(sc->layout, dir, hashed, id, rel, sizeof(rel)))
        return;
    fd = openat(sc->qdir_fd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return;
    qt_defer_log_read_fd(log, fd);
    close(fd);
}

static int open_queue_file(struct qt_scanner *sc, const char *relpath, struct stat *st)
{
    int fd = openat(sc->qdir_fd, relpath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

    if (fd < 0)
        return -1;
    if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        errno = ENOENT;
        return -1;
    }
    return fd;
}

/* The file moved between readdir() and open(): look in the other queues, as
 * postsuper does.  Returns an open fd and sets *queue, or -1. */
static int find_moved(struct qt_scanner *sc, struct scan_item *it, struct stat *st)
{
    size_t i;

    for (i = 0; i < QT_ARRAY_LEN(walk_order); i++) {
        enum qt_queue q = walk_order[i];
        char rel[192];
        int fd;

        if (q == it->queue ||
            !qt_spool_relpath(sc->layout, qt_queue_name(q), sc->layout->hashed[q], it->id,
                              rel, sizeof(rel)))
            continue;
        if ((fd = open_queue_file(sc, rel, st)) >= 0) {
            if (q != QT_Q_CORRUPT && (st->st_mode & S_IRWXU) != S_IRWXU) {
                close(fd);      /* not finished: the next scan will see it */
                continue;
            }
            it->queue = q;
            return fd;
        }
    }
    errno = ENOENT;
    return -1;
}

static void parse_item(struct worker *w, struct scan_item *it)
{
    struct qt_scanner *sc = w->sc;
    struct stat st;
    struct qt_event *ev;
    int fd = open_queue_file(sc, it->relpath, &st);

    if (fd < 0 && errno == ENOENT)
        fd = find_moved(sc, it, &st);
    if (fd < 0) {
        if (errno == ENOENT) {
            atomic_fetch_add(&sc->vanished, 1);
            ev = qt_batch_add(worker_batch(w), QT_EV_GONE);
            ev->msg.id = qt_arena_strdup(&w->batch->arena, it->id);
        } else {
            char msg[400];

            snprintf(msg, sizeof(msg), "cannot open %s/%s: %s", sc->layout->queue_directory,
                     it->relpath, strerror(errno));
            ev = qt_batch_add(worker_batch(w), QT_EV_ERROR);
            ev->text = qt_arena_strdup(&w->batch->arena, msg);
        }
        return;
    }
    if (!qt_queue_file_read_sized(&w->qf, fd, st.st_size, it->id, it->queue == QT_Q_MAILDROP,
                                  NULL))
        atomic_fetch_add(&sc->unreadable, 1);
    close(fd);
    read_log(sc, &w->defer, "defer", sc->layout->defer_hashed, it->id);
    if (qt_idmap_get(&sc->bounced, it->id))
        read_log(sc, &w->bounce, "bounce", sc->layout->bounce_hashed, it->id);
    else
        qt_defer_log_reset(&w->bounce);
    ev = qt_batch_add(worker_batch(w), QT_EV_UPSERT);
    qt_msg_data_build(&w->batch->arena, &ev->msg, &w->qf, it->queue, &st, &w->defer,
                      &w->bounce);
    atomic_fetch_add(&sc->parsed, 1);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct scan_item *items = xcalloc(CHUNK / 2, sizeof(*items));
    bool was_empty;
    size_t n, i;

    qt_queue_file_init(&w->qf);
    while ((n = ring_pop_many(w->sc, items, CHUNK / 2, &was_empty)) > 0) {
        for (i = 0; i < n; i++)
            parse_item(w, &items[i]);
        if (w->batch && (w->batch->n >= BATCH_EVENTS ||
                         (w->published == 0 && w->batch->n >= FIRST_BATCH_EVENTS) ||
                         was_empty))
            publish(w);
    }
    free(items);
    publish(w);
    qt_queue_file_free(&w->qf);
    qt_defer_log_free(&w->defer);
    qt_defer_log_free(&w->bounce);
    return NULL;
}

/* ---- coordinator ---- */

struct walk {
    struct qt_scanner *sc;
    int share;                  /* this walker's share of the IDs */
    struct qt_idmap *known;     /* sc->known[share] */
    size_t missing;             /* queues that do not exist */
    struct qt_batch *batch;     /* UPDATE and GONE events */
    struct scan_item pending[CHUNK];    /* parse work not yet in the ring */
    size_t npending;
};

static void walk_push_pending(struct walk *wk)
{
    if (wk->npending)
        ring_push_many(wk->sc, wk->pending, wk->npending);
    wk->npending = 0;
}

static void walk_flush(struct walk *wk)
{
    if (wk->batch && wk->batch->n) {
        qt_feed_push(wk->sc->feed, wk->batch);
        wk->batch = NULL;
    }
}

static struct qt_event *walk_event(struct walk *wk, enum qt_event_kind kind)
{
    if (!wk->batch)
        wk->batch = qt_batch_new();
    else if (wk->batch->n >= BATCH_EVENTS)
        walk_flush(wk), wk->batch = qt_batch_new();
    return qt_batch_add(wk->batch, kind);
}

static void walk_error(struct walk *wk, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void walk_error(struct walk *wk, const char *fmt, ...)
{
    char msg[512];
    struct qt_event *ev;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ev = walk_event(wk, QT_EV_ERROR);
    ev->text = qt_arena_strdup(&wk->batch->arena, msg);
}

static int64_t mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static void saw_file(struct walk *wk, enum qt_queue q, const char *relpath, const char *id,
                     const struct stat *st)
{
    struct qt_scanner *sc = wk->sc;
    struct qt_idmap_entry *e;
    struct scan_item *it;
    bool created;

    if (!S_ISREG(st->st_mode) || !qt_queue_id_valid(id))
        return;
    /* Postfix writes a file with mode 0600 and makes it 0700 when done. */
    if (q != QT_Q_CORRUPT && (st->st_mode & S_IRWXU) != S_IRWXU)
        return;
    e = qt_idmap_put(wk->known, id, &created);
    if (!created && e->gen == sc->gen)
        return;                 /* seen twice in one scan: caught mid-rename */
    atomic_fetch_add(&sc->files_seen, 1);
    if (!created && e->ino == (uint64_t)st->st_ino && e->size == st->st_size &&
        e->mtime_ns == mtime_ns(st)) {
        if (e->queue != q || e->mode != st->st_mode) {
            struct qt_event *ev = walk_event(wk, QT_EV_UPDATE);

            ev->msg.id = qt_arena_strdup(&wk->batch->arena, id);
            ev->msg.queue = q;
            ev->msg.mtime = st->st_mtime;
            ev->msg.forced_expire = (st->st_mode & S_IXGRP) != 0;
        }
        e->queue = (uint8_t)q;
        e->mode = st->st_mode;
        e->gen = sc->gen;
        return;
    }
    e->ino = st->st_ino;
    e->size = st->st_size;
    e->mtime_ns = mtime_ns(st);
    e->mode = st->st_mode;
    e->queue = (uint8_t)q;
    e->gen = sc->gen;
    it = &wk->pending[wk->npending++];
    memset(it, 0, sizeof(*it));
    it->queue = q;
    snprintf(it->id, sizeof(it->id), "%.63s", id);
    snprintf(it->relpath, sizeof(it->relpath), "%s", relpath);
    if (wk->npending == CHUNK)
        walk_push_pending(wk);
}

static int id_share(const char *name)
{
    return (int)(qt_hash_bytes(name, strlen(name)) % WALKERS);
}

static void walk_dir(struct walk *wk, enum qt_queue q, int dfd, const char *rel, int depth)
{
    DIR *d = fdopendir(dfd);
    struct dirent *de;

    if (!d) {
        close(dfd);
        return;
    }
    while (!atomic_load(&wk->sc->stop) && (de = readdir(d))) {
        char path[192];
        struct stat st;
        bool mine;

        if (de->d_name[0] == '.')
            continue;
        /* Another walker's file: not even stat()ed.  Directories (and
         * entries whose type readdir does not say) are walked by all. */
        mine = id_share(de->d_name) == wk->share;
        if (!mine && de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
            continue;
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", rel, de->d_name) >= sizeof(path))
            continue;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT && mine)
                walk_error(wk, "cannot stat %s/%s: %s", wk->sc->layout->queue_directory, path,
                           strerror(errno));
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            int sub;

            if (depth >= MAX_DIR_DEPTH)
                continue;
            sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0)
                walk_dir(wk, q, sub, path, depth + 1);
            else if (errno != ENOENT && wk->share == 0)
                walk_error(wk, "cannot open directory %s/%s: %s",
                           wk->sc->layout->queue_directory, path, strerror(errno));
            continue;
        }
        if (mine)
            saw_file(wk, q, path, de->d_name, &st);
    }
    closedir(d);
}

/* Put the names of the files below `dfd` into `ids` (closes dfd). */
static void collect_ids(int dfd, int depth, struct qt_idmap *ids)
{
    DIR *d = fdopendir(dfd);
    struct dirent *de;
    bool created;

    if (!d) {
        close(dfd);
        return;
    }
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN) {
            int sub = depth < MAX_DIR_DEPTH
                      ? openat(dirfd(d), de->d_name,
                               O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                      : -1;

            if (sub >= 0) {
                collect_ids(sub, depth + 1, ids);
                continue;
            }
        }
        if (qt_queue_id_valid(de->d_name))
            qt_idmap_put(ids, de->d_name, &created);
    }
    closedir(d);
}

static void gone_cb(void *ctx, const char *id)
{
    struct walk *wk = ctx;
    struct qt_event *ev = walk_event(wk, QT_EV_GONE);

    ev->msg.id = qt_arena_strdup(&wk->batch->arena, id);
}

/* Walk every queue, stat()ing this walker's share of the files. */
static void walk_queues(struct walk *wk)
{
    struct qt_scanner *sc = wk->sc;
    size_t i;

    for (i = 0; i < QT_ARRAY_LEN(walk_order) && !atomic_load(&sc->stop); i++) {
        const char *name = qt_queue_name(walk_order[i]);
        int dfd = openat(sc->qdir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        if (dfd < 0) {
            /* A queue Postfix has not created yet is empty (hold/ and
             * corrupt/ appear when first needed). */
            if (errno == ENOENT)
                wk->missing++;
            else if (wk->share == 0)
                walk_error(wk, "cannot open queue directory %s/%s: %s",
                           sc->layout->queue_directory, name, strerror(errno));
            continue;
        }
        walk_dir(wk, walk_order[i], dfd, name, 0);
        walk_push_pending(wk);
        walk_flush(wk);
    }
}

static void *walker_main(void *arg)
{
    walk_queues(arg);
    return NULL;
}

static void *coordinator_main(void *arg)
{
    struct qt_scanner *sc = arg;
    struct walk walks[WALKERS];
    struct walk *wk = &walks[0];    /* also says the scan's errors and its end */
    pthread_t *threads = xcalloc((size_t)sc->nworkers, sizeof(*threads));
    struct worker *workers = xcalloc((size_t)sc->nworkers, sizeof(*workers));
    pthread_t walker_threads[WALKERS];
    bool walker_live[WALKERS] = {false};
    struct qt_event *ev;
    char **forget;
    size_t nforget, i;
    int n, k;

    memset(walks, 0, sizeof(walks));
    for (k = 0; k < WALKERS; k++) {
        walks[k].sc = sc;
        walks[k].share = k;
        walks[k].known = &sc->known[k];
    }
    sc->gen++;
    atomic_store(&sc->files_seen, 0);
    atomic_store(&sc->parsed, 0);
    atomic_store(&sc->unreadable, 0);
    atomic_store(&sc->vanished, 0);
    forget = qt_feed_take_forget(sc->feed, &nforget);
    for (i = 0; i < nforget; i++) {
        qt_idmap_forget(&sc->known[id_share(forget[i])], forget[i]);
        free(forget[i]);
    }
    free(forget);

    sc->qdir_fd = open(sc->layout->queue_directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sc->qdir_fd < 0) {
        walk_error(wk, "cannot open queue directory %s: %s", sc->layout->queue_directory,
                   strerror(errno));
        goto done;
    }
    qt_idmap_free(&sc->bounced);
    qt_idmap_init(&sc->bounced);
    n = openat(sc->qdir_fd, "bounce", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (n >= 0)
        collect_ids(n, 0, &sc->bounced);
    sc->closing = false;
    for (n = 0; n < sc->nworkers; n++) {
        workers[n].sc = sc;
        pthread_create(&threads[n], NULL, worker_main, &workers[n]);
    }
    for (k = 1; k < WALKERS; k++)
        walker_live[k] = pthread_create(&walker_threads[k], NULL, walker_main, &walks[k]) == 0;
    walk_queues(wk);
    for (k = 1; k < WALKERS; k++) {
        if (walker_live[k])
            pthread_join(walker_threads[k], NULL);
        else
            walk_queues(&walks[k]);     /* no thread: walk its share here */
    }
    if (wk->missing == QT_ARRAY_LEN(walk_order))
        walk_error(wk, "%s has none of Postfix's queues (%s): is it a queue directory?",
                   sc->layout->queue_directory, "maildrop, active, incoming, deferred, hold");
    pthread_mutex_lock(&sc->lock);
    sc->closing = true;
    pthread_cond_broadcast(&sc->nonempty);
    pthread_mutex_unlock(&sc->lock);
    for (n = 0; n < sc->nworkers; n++)
        pthread_join(threads[n], NULL);
    close(sc->qdir_fd);
    sc->qdir_fd = -1;
    if (!atomic_load(&sc->stop))
        for (k = 0; k < WALKERS; k++)
            qt_idmap_sweep(&sc->known[k], sc->gen, gone_cb, wk);

done:
    sc->last.files_seen = atomic_load(&sc->files_seen);
    sc->last.parsed = atomic_load(&sc->parsed);
    sc->last.unreadable = atomic_load(&sc->unreadable);
    sc->last.vanished = atomic_load(&sc->vanished);
    ev = walk_event(wk, QT_EV_SCAN_DONE);
    if (sc->last.unreadable) {
        char msg[128];

        snprintf(msg, sizeof(msg), "%lu unreadable queue file%s", sc->last.unreadable,
                 sc->last.unreadable == 1 ? "" : "s");
        ev->text = qt_arena_strdup(&wk->batch->arena, msg);
    }
    walk_flush(wk);
    free(threads);
    free(workers);
    atomic_store(&sc->running, false);
    return NULL;
}

bool qt_scanner_start(struct qt_scanner *sc)
{
    if (atomic_load(&sc->running))
        return false;
    if (sc->thread_live)
        pthread_join(sc->coordinator, NULL);
    sc->thread_live = false;
    atomic_store(&sc->running, true);
    atomic_store(&sc->stop, false);
    if (pthread_create(&sc->coordinator, NULL, coordinator_main, sc) != 0) {
        atomic_store(&sc->running, false);
        return false;
    }
    sc->thread_live = true;
    return true;
}

bool qt_scanner_running(struct qt_scanner *sc)
{
    return atomic_load(&sc->running);
}

void qt_scanner_wait(struct qt_scanner *sc)
{
    if (sc->thread_live) {
        pthread_join(sc->coordinator, NULL);
        sc->thread_live = false;
    }
}

void qt_scanner_stats(struct qt_scanner *sc, struct qt_scan_stats *out)
{
    *out = sc->last;
}

void qt_scanner_free(struct qt_scanner *sc)
{
    if (!sc)
        return;
    atomic_store(&sc->stop, true);
    qt_scanner_wait(sc);
    for (int k = 0; k < WALKERS; k++)
        qt_idmap_free(&sc->known[k]);
    qt_idmap_free(&sc->bounced);
    pthread_mutex_destroy(&sc->lock);
    pthread_cond_destroy(&sc->nonempty);
    pthread_cond_destroy(&sc->nonfull);
    free(sc);
}
