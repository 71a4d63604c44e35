/* The TUI's state, shared by its panes and command handlers.  Only src/tui
 * includes curses; everything it shows comes from the core. */
#ifndef QTRIAGE_TUI_APP_H
#define QTRIAGE_TUI_APP_H

#include <curses.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <wchar.h>

#include "qtriage/actions.h"
#include "qtriage/backend.h"
#include "qtriage/feed.h"
#include "qtriage/filter.h"
#include "qtriage/render.h"
#include "qtriage/search.h"
#include "qtriage/selection.h"
#include "qtriage/spool.h"
#include "qtriage/stats.h"
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

/* A key: a character (Unicode code point) or a curses function key. */
#define KEY_FN(k) (0x1000000 | (k))
#define KEY_CTRL(c) ((c) & 0x1f)

enum focus { FOCUS_LIST, FOCUS_VIEWER, FOCUS_HELP, FOCUS_STATS };

/* One line editor, reused by the filter, search and prompt bars. */
struct lineedit {
    wchar_t *text;
    size_t len, cap, cursor;
    size_t scroll;              /* first character shown */
    char **history;
    size_t nhistory, history_pos;
};

enum prompt_kind {
    PROMPT_NONE,
    PROMPT_FILTER,
    PROMPT_SEARCH,
    PROMPT_VIEWER_SEARCH,
    PROMPT_SORT,
    PROMPT_COLUMNS,
    PROMPT_FLUSH_SITE,
    PROMPT_COMMAND,
    PROMPT_CONFIRM,             /* y/n; no line editor */
};

struct viewer_line {
    char *text;
    uint32_t len;
    uint16_t name_len;
    uint8_t kind;               /* enum qt_line_kind */
};

/* A screen row of the viewer: part of a line, wrapped to the pane width. */
struct viewer_row {
    uint32_t line;
    uint32_t off, len;
};

struct viewer {
    bool open;
    bool full;                  /* full screen, else split under the list */
    char id[64];
    int queue;                  /* where it was when opened */
    enum qt_render_mode mode;
    bool history;               /* the mail-log lines about the message, not the message */
    struct qt_render *render;   /* NULL once every line is read */
    char error[512];            /* the message could not be opened */
    struct viewer_line *lines;
    size_t nlines, lines_cap;
    struct viewer_row *rows;
    size_t nrows, rows_cap;
    int wrap_width;
    size_t top;                 /* first row shown */
    struct qt_search *search;
    long match_row;             /* last row found by n/N, -1: none */
};

/* The statistics pane (stats_pane.c). */
struct stats_pane {
    int view;                   /* enum qt_stats_by, then the two qshape tables */
    int queue_set;              /* qshape: which queues */
    struct qt_stats stats;
    struct qt_shape shape;
    struct qt_queue_settings settings;
    bool settings_tried, settings_ok;
    char settings_error[256];
    uint64_t store_version;     /* what the figures were computed from */
    uint64_t filter_serial;
    int64_t computed_ms, cost_ms;
    size_t cursor, top, page;
};
/* Colour pairs, in the order of the configuration's QT_COLOR_* elements. */
enum {
    COLOR_PAIR_TITLE = 1,
    COLOR_PAIR_DEMO,
    COLOR_PAIR_HEADER,
    COLOR_PAIR_CURSOR,
    COLOR_PAIR_TAGGED,
    COLOR_PAIR_MATCH,
    COLOR_PAIR_ERROR,
    COLOR_PAIR_HOLD,
    COLOR_PAIR_SEPARATOR,
    COLOR_PAIR_NAME,
    COLOR_PAIR_WARNING,
    COLOR_PAIR_ATTACH,
    COLOR_PAIR_STATUS,
    COLOR_PAIR_LAST = COLOR_PAIR_STATUS,
};
_Static_assert((int)COLOR_PAIR_LAST == (int)QT_COLOR_COUNT, "a colour pair per configuration element");
/* A bulk action running on a thread of its own (action_job.c), so the
 * list, the viewer and the filter stay usable while postsuper works
 * through a batch of 100k IDs.  The thread touches nothing of the app's:
 * it gets a private copy of the IDs and the spool layout (read-only), and
 * says it is done by writing a byte to done_wr, which the loop polls. */
struct action_job {
    bool running;
    pthread_t thread;
    int done_rd, done_wr;
    enum qt_action act;
    struct qt_action_target *targets;
    size_t n;
    char *ids;                  /* the targets' IDs, one after another */
    char *site;
    const struct qt_spool_layout *layout;
    struct qt_action_result res;
    char *backup_dir;           /* delete: export here first (export.h) */
    char summary[700];          /* ... and what came of both */
    bool backup_ok;
    char doing[160];            /* "holding 10000 messages" */
    int64_t started_ms, finished_ms;
};

struct app {
    const struct tui_options *opt;
    struct script *script;      /* a scripted run (script.h); NULL: the terminal */
    struct qt_spool_layout layout;
    struct qt_feed feed;
    struct qt_backend *backend;
    struct qt_store store;
    struct qt_view view;
    struct qt_selection tags;
    char *config_label;         /* "/etc/postfix" or the -c directory */

    /* The filter in force and the text it came from. */
    struct qt_filter *filter;
    char *filter_text;
    /* While the filter bar is open: what to go back to on Esc. */
    struct qt_filter *saved_filter;
    char *saved_filter_text;
    bool filter_error;
    long filter_error_pos;      /* character where the query went wrong */
    bool show_count;            /* say "N of M match" after the next rebuild */
    bool rebuild_now;           /* start a rebuild at once */
    bool rows_for_query;        /* a new query or sort awaits its rows */
    int64_t rebuild_work_ms;    /* time spent on the rebuild under way */

    struct qt_search *search;   /* list search; NULL: none */

    enum qt_col cols[QT_COL_COUNT];
    size_t ncols;
    bool cols_set;              /* chosen by the admin (else adapt to width) */

    /* The cursor is a queue ID; its row is looked up after every rebuild. */
    char cursor_id[64];
    bool cursor_pinned;         /* the admin moved it: follow its message */
    size_t cursor;
    size_t top;
    long range_anchor;          /* row where a tag range starts, -1: none */

    /* Loading and rescans. */
    bool first_scan_done;
    uint64_t scans_done;
    int64_t next_scan_ms;       /* when to start the next rescan */
    int64_t scan_started_ms;
    bool scan_wanted;           /* rescan as soon as the running one ends */
    bool rows_stale;            /* the store changed since the last rebuild */
    int64_t last_rebuild_ms, rebuild_cost_ms;
    int64_t start_ms;
    bool bench_first_rows_logged;
    int id_width;

    /* The message/prompt line. */
    char message[512];
    bool message_is_error;
    enum prompt_kind prompt;
    char prompt_label[256];
    struct lineedit edit;
    struct lineedit filter_edit, search_edit, command_edit;
    /* What a confirmation will do when answered 'y'. */
    enum qt_action pending_action;
    char *pending_site;

    struct action_job job;

    enum focus focus;
    struct viewer viewer;
    bool open_history;          /* the next viewer_open shows the history */
    char *maillog_path;         /* found at the first history view */
    char maillog_error[512];    /* or why none was found */
    struct stats_pane stats;
    uint64_t filter_serial;     /* bumped whenever the filter changes */
    size_t help_top;

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
/* The message under the cursor, or NULL when the list is empty. */
const struct qt_msg *app_current(const struct app *a);
void app_set_cursor(struct app *a, size_t row);
/* Record the bench milestone `name` (QTRIAGE_BENCH_LOG). */
void app_bench(struct app *a, const char *name);

/* Panes (draw.c, viewer.c, help.c). */
void draw_layout(struct app *a);
void draw_all(struct app *a);
void draw_list(struct app *a);
void draw_title(struct app *a);
void draw_status(struct app *a);
void draw_message_line(struct app *a);
/* Write `len` bytes of UTF-8 `s` into `w` at its cursor in exactly `width`
 * columns (cut or padded).  Control characters and undecodable bytes show
 * as '?'.  When `search` is set, its matches are drawn with `match_attr`. */
void draw_text(struct app *a, WINDOW *w, const char *s, size_t len, int width, attr_t attr,
               struct qt_search *search, attr_t match_attr);
/* Columns `s` takes on screen, at most `limit` bytes considered. */
int text_width(const struct app *a, const char *s, size_t len);

void viewer_open(struct app *a, const char *id, int queue);
void viewer_close(struct app *a);
void viewer_reload(struct app *a);
void viewer_draw(struct app *a);
/* Rows of the viewer pane (0 when closed). */
int viewer_height(const struct app *a);
void viewer_scroll(struct app *a, long delta);
void viewer_goto(struct app *a, bool end);
void viewer_search_next(struct app *a, bool backwards);
void viewer_free(struct viewer *v);

void help_draw(struct app *a);

/* The statistics pane (stats_pane.c). */
void stats_open(struct app *a);
void stats_close(struct app *a);
void stats_free(struct stats_pane *p);
void stats_draw(struct app *a);
/* Recompute when the store or the filter changed (rate-limited). */
void stats_tick(struct app *a);
void stats_move(struct app *a, long delta);
void stats_next_view(struct app *a, int dir);
void stats_next_queues(struct app *a);
unsigned stats_drill(struct app *a);
unsigned stats_tag(struct app *a);
struct qt_instances;
/* The instance picker (curses is up): the chosen config_dir (malloc'd), or
 * NULL when the admin quits. */
char *picker_run(const struct qt_instances *list);

/* Line editor (lineedit.c). */
void lineedit_set(struct lineedit *e, const char *utf8);
char *lineedit_utf8(const struct lineedit *e);  /* malloc'd */
/* Apply key `k`; returns 1 when the text changed, 0 when not, -1 when the
 * key is not an editing key (Enter, Esc, ...). */
int lineedit_key(struct lineedit *e, int k);
void lineedit_history_add(struct lineedit *e, const char *utf8);
void lineedit_draw(struct app *a, WINDOW *w, const struct lineedit *e, int x, int width,
                   long mark_pos);
void lineedit_free(struct lineedit *e);

/* Commands (commands.c). */
unsigned commands_dispatch(struct app *a, int key);
unsigned commands_mouse(struct app *a);
/* Run a command by name (the ':' prompt). */
unsigned commands_run_named(struct app *a, const char *name);

/* Prompts and bulk actions (prompt.c, bulk.c). */
void prompt_open(struct app *a, enum prompt_kind kind, const char *label, const char *initial);
unsigned prompt_key(struct app *a, int key);
void prompt_close(struct app *a);
unsigned bulk_request(struct app *a, enum qt_action act);

/* The action thread (action_job.c).  start copies what it needs from the
 * targets and returns at once (false: could not start, message shown);
 * finish, when done_rd is readable, reports and asks for the rescan. */
void action_job_init(struct app *a);
bool action_job_running(const struct app *a);
bool action_job_start(struct app *a, enum qt_action act, const struct qt_action_target *t,
                      size_t n, const char *site, const char *backup_dir);
unsigned action_job_finish(struct app *a);
/* Block until the running action is done (quitting). */
void action_job_wait(struct app *a);
void action_job_free(struct app *a);
unsigned bulk_confirmed(struct app *a);
unsigned list_search_next(struct app *a, bool backwards);
/* Filter: compile `text` and make it current; false (message shown) when
 * it does not compile. */
bool app_apply_filter(struct app *a, const char *text, bool live);
void app_rebuild(struct app *a);

#endif
