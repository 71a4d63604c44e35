#include "qtriage/scanner.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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

/* A directory of the queue, open for the whole scan: every file in it is
 * opened by its bare name relative to `fd` (one path component for the
 * kernel to look up instead of three or four from the queue directory). */
struct scan_dir {
    struct scan_dir *next;
    int fd;                     /* -1: over the fd budget, open by `rel` */
    char rel[];                 /* path from the queue directory */
};

/* The file names below one log tree (defer/, bounce/), learnt from reading
 * its directories once: a message without a log costs no failing open(). */
struct log_index {
    char *names;                /* NUL-terminated names, back to back */
    size_t names_len, names_cap;
    struct log_slot {
        uint32_t hash;
        uint32_t name;          /* offset in names + 1; 0: empty slot */
        const struct scan_dir *dir;
    } *slots;
    size_t nslots, n;
    struct scan_dir *dirs;
};

/* What the walker's fstatat() said of a file: the worker trusts it instead
 * of a second fstat() (a file that changes in between differs from it at
 * the next scan, and is read again then).  On a first scan the walker does
 * not stat (stat_later): every file is read anyway, and the worker's
 * fstat() of the open file spares the kernel a second lookup by name. */
struct scan_item {
    enum qt_queue queue;
    bool stat_later;
    char id[QT_QUEUE_ID_MAX + 1];
    const struct scan_dir *dir;
    uint64_t ino;
    int64_t size;
    struct timespec mtim;
    uint32_t mode;
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
    /* Taken by the walker around its own map's changes, and by a worker
     * filling in what a first scan's fstat() learnt (stat_later). */
    pthread_mutex_t known_lock[WALKERS];
    uint32_t gen;
    int qdir_fd;

    pthread_mutex_t lock;       /* protects the ring and what follows it */
    pthread_cond_t nonempty, nonfull;
    struct scan_item ring[RING_SIZE];
    size_t head, count;
    bool closing;
    int idle_workers;           /* waiting on nonempty */
    int producers_waiting;      /* walkers waiting on nonfull */

    /* The defer and bounce logs that exist, read once per scan while the
     * workers start on the first files; read-only once logs_indexed is
     * set.  Until then a worker looks for each log where Postfix puts it,
     * so the first rows wait for no directory listing (at 1M the defer
     * tree alone is 900k entries). */
    struct log_index defer_logs, bounce_logs;
    atomic_bool logs_indexed;
    /* How many directories each walker and each log index may keep open
     * (from RLIMIT_NOFILE); the rest are opened by path. */
    size_t dir_fd_budget;
    /* This scan reads the defer tree once instead of trying each message's
     * log: a first scan, which parses every file (a rescan parses few). */
    bool use_log_index;
    /* Cleared when the kernel refuses O_NOATIME (not the files' owner and
     * no CAP_FOWNER): reads then update atime as any reader's do. */
    atomic_bool noatime;
    /* Set: parsed messages go to the sink on the worker threads, not to
     * the feed (qt_scanner_set_sink). */
    qt_scan_sink sink;
    void *sink_ctx;

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
    if (sc->nworkers > QT_SCANNER_MAX_WORKERS)
        sc->nworkers = QT_SCANNER_MAX_WORKERS;
    sc->qdir_fd = -1;
    for (int k = 0; k < WALKERS; k++) {
        qt_idmap_init(&sc->known[k]);
        pthread_mutex_init(&sc->known_lock[k], NULL);
    }
    pthread_mutex_init(&sc->lock, NULL);
    pthread_cond_init(&sc->nonempty, NULL);
    pthread_cond_init(&sc->nonfull, NULL);
    atomic_init(&sc->noatime, true);
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
    /* A walker waiting for room is woken once half the ring is free, not
     * after every pop: a wake-up per chunk was a futex call per 16 files. */
    if (sc->producers_waiting && sc->count <= RING_SIZE / 2)
        pthread_cond_broadcast(&sc->nonfull);
    pthread_mutex_unlock(&sc->lock);
    return n;
}

/* ---- directories ---- */

#define DIRENT_BUF 32768

static struct scan_dir *dir_new(struct scan_dir **list, int fd, const char *rel)
{
    size_t len = strlen(rel);
    struct scan_dir *d = xmalloc(sizeof(*d) + len + 1);

    d->fd = fd;
    memcpy(d->rel, rel, len + 1);
    d->next = *list;
    *list = d;
    return d;
}

static void dirs_free(struct scan_dir **list)
{
    struct scan_dir *d, *next;

    for (d = *list; d; d = next) {
        next = d->next;
        if (d->fd >= 0)
            close(d->fd);
        free(d);
    }
    *list = NULL;
}

/* The entries of one directory, read with getdents64() into a buffer of our
 * own (readdir()'s DIR would own the fd, which must stay open). */
struct dir_reader {
    int fd;
    char *buf;
    size_t len, pos;
    int error;                  /* errno of a failed read, else 0 */
};

static void dir_reader_init(struct dir_reader *r, int fd)
{
    r->fd = fd;
    r->buf = xmalloc(DIRENT_BUF);
    r->len = r->pos = 0;
    r->error = 0;
}

static struct dirent64 *dir_next(struct dir_reader *r)
{
    struct dirent64 *de;

    for (;;) {
        if (r->pos >= r->len) {
            ssize_t n = getdents64(r->fd, r->buf, DIRENT_BUF);

            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                r->error = n < 0 ? errno : 0;
                return NULL;
            }
            r->len = (size_t)n;
            r->pos = 0;
        }
        de = (struct dirent64 *)(void *)(r->buf + r->pos);
        r->pos += de->d_reclen;
        if (de->d_name[0] != '.')
            return de;
    }
}

/* Open `name` (relative to `base`) for reading, without writing its atime
 * where the kernel lets us (we own the file or have CAP_FOWNER): reading a
 * queue must not dirty every inode in it. */
static int open_noatime(struct qt_scanner *sc, int base, const char *name)
{
    const int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
    int fd;

    if (atomic_load_explicit(&sc->noatime, memory_order_relaxed)) {
        fd = openat(base, name, flags | O_NOATIME);
        if (fd >= 0 || errno != EPERM)
            return fd;
        atomic_store(&sc->noatime, false);
    }
    return openat(base, name, flags);
}

/* Open `name` in `dir`: relative to the directory's fd when it is open. */
static int open_in(struct qt_scanner *sc, const struct scan_dir *dir, const char *name)
{
    char path[256];

    if (dir->fd >= 0)
        return open_noatime(sc, dir->fd, name);
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir->rel, name) >= sizeof(path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return open_noatime(sc, sc->qdir_fd, path);
}

/* ---- log indexes ---- */

static void log_index_free(struct log_index *x)
{
    free(x->names);
    free(x->slots);
    dirs_free(&x->dirs);
    memset(x, 0, sizeof(*x));
}

static void log_index_insert(struct log_slot *slots, size_t nslots, const struct log_slot *e)
{
    size_t i = e->hash & (nslots - 1);

    while (slots[i].name)
        i = (i + 1) & (nslots - 1);
    slots[i] = *e;
}

static void log_index_add(struct log_index *x, const char *name, const struct scan_dir *dir)
{
    size_t len = strlen(name);
    struct log_slot e;

    if (x->names_len + len + 1 > UINT32_MAX - 1)
        return;                 /* 4 GB of names: not a queue */
    if ((x->n + 1) * 2 > x->nslots) {
        size_t nslots = x->nslots ? x->nslots * 2 : 4096, i;
        /* Zeroed by writing, not by calloc: fresh pages calloc leaves to the
         * kernel are mapped to the zero page on the first probe and copied
         * on the first insert, each copy a TLB shootdown across the other
         * threads' CPUs (1.4 % of a 100k-message listing). */
        struct log_slot *slots = xmalloc(nslots * sizeof(*slots));

        memset(slots, 0, nslots * sizeof(*slots));

        for (i = 0; i < x->nslots; i++)
            if (x->slots[i].name)
                log_index_insert(slots, nslots, &x->slots[i]);
        free(x->slots);
        x->slots = slots;
        x->nslots = nslots;
    }
    x->names = xgrow(x->names, &x->names_cap, x->names_len + len + 1, 1);
    memcpy(x->names + x->names_len, name, len + 1);
    e.hash = qt_hash_bytes(name, len);
    e.name = (uint32_t)x->names_len + 1;
    e.dir = dir;
    x->names_len += len + 1;
    log_index_insert(x->slots, x->nslots, &e);
    x->n++;
}

/* The directory holding the log named `name` at the place Postfix looks for
 * it (hash_queue_depth may have changed: a log left at another depth is
 * not the message's log, for Postfix neither), or NULL. */
static const struct scan_dir *log_index_find(const struct qt_scanner *sc,
                                             const struct log_index *x, const char *tree,
                                             bool hashed, const char *name)
{
    uint32_t h;
    size_t i;

    if (!x->n)
        return NULL;
    h = qt_hash_bytes(name, strlen(name));
    for (i = h & (x->nslots - 1); x->slots[i].name; i = (i + 1) & (x->nslots - 1)) {
        const struct log_slot *e = &x->slots[i];
        char rel[192];
        size_t dlen;

        if (e->hash != h || strcmp(x->names + e->name - 1, name) != 0)
            continue;
        dlen = strlen(e->dir->rel);
        if (qt_spool_relpath(sc->layout, tree, hashed, name, rel, sizeof(rel)) &&
            strncmp(rel, e->dir->rel, dlen) == 0 && rel[dlen] == '/' &&
            strcmp(rel + dlen + 1, name) == 0)
            return e->dir;
    }
    return NULL;
}

/* Read the names below `dfd` (a directory at `rel`) into `x`; closes dfd
 * unless the index keeps it. */
static void log_index_walk(struct qt_scanner *sc, struct log_index *x, size_t *kept, int dfd,
                           const char *rel, int depth)
{
    bool keep = *kept < sc->dir_fd_budget;
    struct scan_dir *dir = dir_new(&x->dirs, keep ? dfd : -1, rel);
    struct dir_reader dr;
    struct dirent64 *de;

    *kept += keep;
    dir_reader_init(&dr, dfd);
    while ((de = dir_next(&dr))) {
        if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN) {
            char path[192];
            int sub = -1;

            if (depth < MAX_DIR_DEPTH &&
                (size_t)snprintf(path, sizeof(path), "%s/%s", rel, de->d_name) < sizeof(path))
                sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0) {
                log_index_walk(sc, x, kept, sub, path, depth + 1);
                continue;
            }
        }
        if (qt_queue_id_valid(de->d_name))
            log_index_add(x, de->d_name, dir);
    }
    free(dr.buf);
    if (!keep)
        close(dfd);
}

static void log_index_build(struct qt_scanner *sc, struct log_index *x, const char *tree)
{
    size_t kept = 0;
    int dfd;

    log_index_free(x);
    dfd = openat(sc->qdir_fd, tree, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd >= 0)
        log_index_walk(sc, x, &kept, dfd, tree, 0);
}

/* ---- workers ---- */

struct worker {
    struct qt_scanner *sc;
    int index;                  /* for the sink */
    struct qt_arena sink_arena; /* one message for the sink, reused */
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

/* Read the message's log from `tree` into `log` (empty when absent).  With
 * an index only the logs it lists are opened, but for a deferred message's
 * defer log (`young_logs`): that may be younger than the index (qmgr
 * writes the log, then moves the file into deferred/).  Without one (a
 * rescan, which reads few files) each is looked for where Postfix puts it. */
static void read_log(struct qt_scanner *sc, struct qt_defer_log *log, const struct log_index *x,
                     const char *tree, bool hashed, const struct scan_item *it, bool indexed,
                     bool young_logs)
{
    const struct scan_dir *dir = NULL;
    char rel[192];
    int fd;

    qt_defer_log_reset(log);
    if (indexed && !(dir = log_index_find(sc, x, tree, hashed, it->id)) &&
        !(young_logs && it->queue == QT_Q_DEFERRED))
        return;
    if (dir)
        fd = open_in(sc, dir, it->id);
    else if (qt_spool_relpath(sc->layout, tree, hashed, it->id, rel, sizeof(rel)))
        fd = open_noatime(sc, sc->qdir_fd, rel);
    else
        return;
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

static int64_t mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static int id_share(const char *name)
{
    return (int)(qt_hash_bytes(name, strlen(name)) % WALKERS);
}

/* Whether a file of mode `mode` in queue q is a queue file Postfix has
 * finished: regular, and 0700 (Postfix writes it with mode 0600 and makes
 * it 0700 when done; corrupt/ keeps whatever mode it had). */
static bool finished_file(enum qt_queue q, mode_t mode)
{
    return S_ISREG(mode) && (q == QT_Q_CORRUPT || (mode & S_IRWXU) == S_IRWXU);
}

/* A first scan's file, open: what the walker did not stat.  False when it
 * is not a finished queue file after all (not regular, or not yet 0700:
 * the next scan looks again, as the walker would have skipped it). */
static bool stat_open_file(struct qt_scanner *sc, const struct scan_item *it, int fd,
                           struct stat *st)
{
    struct qt_idmap_entry *e;
    int share = id_share(it->id);

    if (fstat(fd, st) < 0 || !finished_file(it->queue, st->st_mode))
        return false;
    /* The walker left the entry unlike any file (inode 0, mode 0: a
     * stat()ed regular file has S_IFREG in its mode); a rescan compares
     * with what is filled in here. */
    pthread_mutex_lock(&sc->known_lock[share]);
    e = qt_idmap_get(&sc->known[share], it->id);
    if (e && e->gen == sc->gen && e->mode == 0) {
        e->ino = st->st_ino;
        e->size = st->st_size;
        e->mtime_ns = mtime_ns(st);
        e->mode = st->st_mode;
    }
    pthread_mutex_unlock(&sc->known_lock[share]);
    return true;
}

static void parse_item(struct worker *w, struct scan_item *it)
{
    struct qt_scanner *sc = w->sc;
    struct stat st;
    struct qt_event *ev;
    bool indexed;
    int fd = open_in(sc, it->dir, it->id);

    if (fd >= 0 && it->stat_later) {
        if (!stat_open_file(sc, it, fd, &st)) {
            close(fd);
            atomic_fetch_sub(&sc->files_seen, 1);
            return;
        }
    } else if (fd >= 0) {
        memset(&st, 0, sizeof(st));
        st.st_ino = (ino_t)it->ino;
        st.st_size = (off_t)it->size;
        st.st_mtim = it->mtim;
        st.st_mode = (mode_t)it->mode;
    } else if (it->stat_later && errno == ELOOP) {
        atomic_fetch_sub(&sc->files_seen, 1);
        return;                 /* became a symlink: not a queue file */
    } else if (errno == ENOENT) {
        fd = find_moved(sc, it, &st);
    }
    if (fd < 0) {
        if (errno == ENOENT) {
            atomic_fetch_add(&sc->vanished, 1);
            ev = qt_batch_add(worker_batch(w), QT_EV_GONE);
            ev->msg.id = qt_arena_strdup(&w->batch->arena, it->id);
        } else {
            char msg[400];

            snprintf(msg, sizeof(msg), "cannot open %s/%s/%s: %s",
                     sc->layout->queue_directory, it->dir->rel, it->id, strerror(errno));
            ev = qt_batch_add(worker_batch(w), QT_EV_ERROR);
            ev->text = qt_arena_strdup(&w->batch->arena, msg);
        }
        return;
    }
    if (!qt_queue_file_read_sized(&w->qf, fd, st.st_size, it->id, it->queue == QT_Q_MAILDROP,
                                  NULL))
        atomic_fetch_add(&sc->unreadable, 1);
    close(fd);
    indexed = atomic_load_explicit(&sc->logs_indexed, memory_order_acquire);
    read_log(sc, &w->defer, &sc->defer_logs, "defer", sc->layout->defer_hashed, it,
             indexed && sc->use_log_index, true);
    read_log(sc, &w->bounce, &sc->bounce_logs, "bounce", sc->layout->bounce_hashed, it,
             indexed, false);
    atomic_fetch_add(&sc->parsed, 1);
    if (sc->sink) {
        struct qt_msg_data m;

        qt_msg_data_build(&w->sink_arena, &m, &w->qf, it->queue, &st, &w->defer, &w->bounce);
        sc->sink(sc->sink_ctx, w->index, &m);
        qt_arena_reset(&w->sink_arena);
        return;
    }
    ev = qt_batch_add(worker_batch(w), QT_EV_UPSERT);
    qt_msg_data_build(&w->batch->arena, &ev->msg, &w->qf, it->queue, &st, &w->defer,
                      &w->bounce);
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
    qt_arena_free(&w->sink_arena);
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
    struct scan_dir *dirs;      /* open until the workers are done */
    size_t kept;                /* of them with an fd */
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

/* A file of this walker's share: `st` is what fstatat() said, NULL when the
 * worker is to stat it (a first scan's regular file). */
static void saw_file(struct walk *wk, enum qt_queue q, const struct scan_dir *dir,
                     const char *id, const struct stat *st)
{
    struct qt_scanner *sc = wk->sc;
    struct qt_idmap_entry *e;
    struct scan_item *it;
    bool created;
    size_t len;

    if ((st && !finished_file(q, st->st_mode)) || !qt_queue_id_valid(id))
        return;
    pthread_mutex_lock(&sc->known_lock[wk->share]);
    e = qt_idmap_put(wk->known, id, &created);
    if (!created && e->gen == sc->gen) {
        pthread_mutex_unlock(&sc->known_lock[wk->share]);
        return;                 /* seen twice in one scan: caught mid-rename */
    }
    atomic_fetch_add(&sc->files_seen, 1);
    if (st && !created && e->ino == (uint64_t)st->st_ino && e->size == st->st_size &&
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
        pthread_mutex_unlock(&sc->known_lock[wk->share]);
        return;
    }
    /* Without a stat: inode 0, which no file has, until the worker's
     * fstat(). */
    e->ino = st ? st->st_ino : 0;
    e->size = st ? st->st_size : 0;
    e->mtime_ns = st ? mtime_ns(st) : 0;
    e->mode = st ? st->st_mode : 0;
    e->queue = (uint8_t)q;
    e->gen = sc->gen;
    pthread_mutex_unlock(&sc->known_lock[wk->share]);
    it = &wk->pending[wk->npending++];
    it->queue = q;
    it->stat_later = !st;
    len = strnlen(id, sizeof(it->id) - 1);
    memcpy(it->id, id, len);
    it->id[len] = 0;
    it->dir = dir;
    if (st) {
        it->ino = st->st_ino;
        it->size = st->st_size;
        it->mtim = st->st_mtim;
        it->mode = st->st_mode;
    }
    if (wk->npending == CHUNK)
        walk_push_pending(wk);
}

static void walk_dir(struct walk *wk, enum qt_queue q, int dfd, const char *rel, int depth)
{
    /* Whether the fd stays open is settled before any of the directory's
     * files is handed to a worker, which reads dir->fd unlocked. */
    bool keep = wk->kept < wk->sc->dir_fd_budget;
    struct scan_dir *dir = dir_new(&wk->dirs, keep ? dfd : -1, rel);
    struct dir_reader dr;
    struct dirent64 *de;

    wk->kept += keep;
    dir_reader_init(&dr, dfd);
    while (!atomic_load(&wk->sc->stop) && (de = dir_next(&dr))) {
        char path[192];
        struct stat st;
        bool mine;

        /* Another walker's file: not even stat()ed.  Directories (and
         * entries whose type getdents does not say) are walked by all. */
        mine = id_share(de->d_name) == wk->share;
        if (!mine && de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
            continue;
        if (de->d_type == DT_REG && wk->sc->use_log_index) {
            saw_file(wk, q, dir, de->d_name, NULL);
            continue;
        }
        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT && mine)
                walk_error(wk, "cannot stat %s/%s/%s: %s", wk->sc->layout->queue_directory, rel,
                           de->d_name, strerror(errno));
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            int sub;

            if (depth >= MAX_DIR_DEPTH ||
                (size_t)snprintf(path, sizeof(path), "%s/%s", rel, de->d_name) >= sizeof(path))
                continue;
            sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0)
                walk_dir(wk, q, sub, path, depth + 1);
            else if (errno != ENOENT && wk->share == 0)
                walk_error(wk, "cannot open directory %s/%s: %s",
                           wk->sc->layout->queue_directory, path, strerror(errno));
            continue;
        }
        if (mine)
            saw_file(wk, q, dir, de->d_name, &st);
    }
    if (dr.error && wk->share == 0)
        walk_error(wk, "cannot read directory %s/%s: %s", wk->sc->layout->queue_directory, rel,
                   strerror(dr.error));
    free(dr.buf);
    if (!keep)
        close(dfd);             /* its files are opened by path (open_in) */
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

/* Directory fds each walker and each log index may keep open: a quarter of
 * what is left of RLIMIT_NOFILE, so that a hash_queue_depth of 2 (272
 * directories per queue) cannot run the process out of descriptors. */
static size_t dir_fd_budget(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 64;
    if (rl.rlim_cur == RLIM_INFINITY)
        return 4096;
    return rl.rlim_cur > 256 ? (size_t)(rl.rlim_cur - 128) / (WALKERS + 2) : 0;
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
    sc->dir_fd_budget = dir_fd_budget();
    sc->use_log_index = true;
    for (k = 0; k < WALKERS; k++)
        sc->use_log_index = sc->use_log_index && sc->known[k].live == 0;
    sc->closing = false;
    /* The other walkers and the workers start at once, filling and
     * draining the ring while this thread reads the log trees; the workers
     * use the indexes once logs_indexed says they are complete. */
    atomic_store(&sc->logs_indexed, false);
    for (k = 1; k < WALKERS; k++)
        walker_live[k] = pthread_create(&walker_threads[k], NULL, walker_main, &walks[k]) == 0;
    for (n = 0; n < sc->nworkers; n++) {
        workers[n].sc = sc;
        workers[n].index = n;
        pthread_create(&threads[n], NULL, worker_main, &workers[n]);
    }
    if (sc->use_log_index)
        log_index_build(sc, &sc->defer_logs, "defer");
    log_index_build(sc, &sc->bounce_logs, "bounce");
    atomic_store_explicit(&sc->logs_indexed, true, memory_order_release);
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
    for (k = 0; k < WALKERS; k++)
        dirs_free(&walks[k].dirs);
    log_index_free(&sc->defer_logs);
    log_index_free(&sc->bounce_logs);
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

void qt_scanner_set_sink(struct qt_scanner *sc, qt_scan_sink fn, void *ctx)
{
    sc->sink = fn;
    sc->sink_ctx = ctx;
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
    for (int k = 0; k < WALKERS; k++) {
        qt_idmap_free(&sc->known[k]);
        pthread_mutex_destroy(&sc->known_lock[k]);
    }
    pthread_mutex_destroy(&sc->lock);
    pthread_cond_destroy(&sc->nonempty);
    pthread_cond_destroy(&sc->nonfull);
    free(sc);
}
