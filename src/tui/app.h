/* The TUI's state shared by every part: the queue as the core sees it,
 * the loop's bookkeeping, the message line, the panes and the windows.
 * What belongs to one pane lives in that pane's file.  Only src/tui
 * includes curses; everything it shows comes from the core. */
#ifndef QTRIAGE_TUI_APP_H
#define QTRIAGE_TUI_APP_H

#include <curses.h>
#include <signal.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "action_job.h"
#include "bulk.h"
#include "current.h"
#include "draw.h"
#include "keymap.h"
#include "pane.h"
#include "prompt.h"
#include "qtriage/backend.h"
#include "qtriage/feed.h"
#include "qtriage/rules.h"
#include "qtriage/spool.h"
#include "qtriage/store.h"
#include "qtriage/view.h"
#include "tui.h"

/* What a command handler changed; the main loop decides what to redraw
 * (and whether to rebuild the rows or rescan) from this alone. */
enum {
    R_NONE = 0,
    R_REDRAW = 1 << 0,          /* repaint everything */
    R_REBUILD = 1 << 1,         /* filter or sort changed: recompute rows */
    R_RESCAN = 1 << 2,          /* the queue changed: rescan now */
    R_QUIT = 1 << 3,
    R_LAYOUT = 1 << 4,          /* pane sizes changed */
};

#define TUI_MAX_PANES 8

struct tui_block;

struct app {
    const struct tui_options *opt;
    struct script *script;      /* a scripted run (script.h); NULL: the terminal */
    struct qt_spool_layout layout;
    struct qt_feed feed;
    struct qt_backend *backend;
    struct qt_store store;
    struct qt_view view;        /* the rows the list's filter and sort make of the store */
    struct current current;
    struct keymap keymap;
    char *config_label;         /* "/etc/postfix" or the -c directory */

    /* The rows and when to recompute them. */
    bool rebuild_now;           /* start a rebuild at once */
    bool rows_for_query;        /* a new query or sort awaits its rows */
    bool rows_stale;            /* the store changed since the last rebuild */
    int64_t rebuild_work_ms;    /* time spent on the rebuild under way */
    int64_t rebuild_cpu_us;     /* CPU (all threads) the rebuild under way took */
    int64_t last_rebuild_ms, rebuild_cost_ms;

    /* Loading and rescans. */
    bool first_scan_done;
    bool trimmed_after_load;   /* memory handed back after the first load */
    uint64_t scans_done;
    int64_t next_scan_ms;       /* when to start the next rescan */
    int64_t scan_started_ms;
    bool scan_wanted;           /* rescan as soon as the running one ends */
    /* What changed in the queue directories (spool backend only; NULL:
     * rescan every next_scan_ms, as for postqueue). */
    struct qt_queue_watch *watch;
    /* The watch is set up on a thread of its own once the first rows are
     * on screen: an inotify watch on a directory costs the kernel a pass
     * over the directory's cached entries (tens of thousands in each hash
     * directory of a million-message queue).  watch_wanted: not started
     * yet; watch_pending: the thread runs; watch_made: it is done, its
     * result in watch_result.  Until then rescans come every next_scan_ms,
     * and the first one after it is there looks at everything again. */
    bool watch_wanted;
    bool watch_pending;
    pthread_t watch_thread;
    _Atomic bool watch_made;
    struct qt_queue_watch *watch_result;
    char *watch_dir;
    bool watch_inotify;
    bool queue_changed;         /* seen since the last rescan started */
    int64_t next_watch_check_ms;    /* mtime mode: when to stat again */
    int64_t idle_scan_ms;       /* a full rescan even if nothing was seen */
    int64_t start_ms;
    bool bench_first_rows_logged;
    /* Bench: 1 once the queue watch arrived, 2 while the scan it asked
     * for runs; "watch_settled" is logged when that scan is done (from
     * then on an unchanged queue costs nothing). */
    int bench_watch_scan;

    /* The message/prompt line. */
    char message[512];
    bool message_is_error;
    struct prompt_bar bar;

    struct bulk_state bulk;
    struct tui_block *block;    /* block_prompt.c; NULL until used */
    struct action_job job;
    struct qt_rules rules;      /* standing rules (rules_pane.c) */

    struct pane *panes[TUI_MAX_PANES];
    size_t npanes;
    struct pane *focus;

    WINDOW *title_win, *list_win, *viewer_win, *msg_win, *status_win;
    int list_rows;              /* rows of messages the list shows */
    bool utf8;                  /* the terminal takes UTF-8 */
    bool colors;
    attr_t pair_attrs[COLOR_PAIR_LAST + 1];  /* the configuration's bold/reverse/... */
    volatile sig_atomic_t *stop_signal;
};

/* Milliseconds on a monotonic clock. */
int64_t app_now_ms(void);
void app_message(struct app *a, bool error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Record the bench milestone `name` (QTRIAGE_BENCH_LOG). */
void app_bench(struct app *a, const char *name);
/* Recompute the rows now, whatever it costs. */
void app_rebuild(struct app *a);

#endif
