/* A pane: one thing on the screen with its own state and its own answers
 * to the navigation commands (in the spirit of tig's view_ops).  Commands
 * act on the focused pane through its ops and never ask which pane it is.
 *
 * Adding a pane: a file that defines its ops and a constructor
 * NAME_new(struct app *), and one line in TUI_PANES below. */
#ifndef QTRIAGE_TUI_PANE_H
#define QTRIAGE_TUI_PANE_H

#include <limits.h>
#include <stdbool.h>

#include "keymap.h"

struct app;
struct pane;

/* move() deltas that mean "the first row" and "the last row". */
#define PANE_TOP LONG_MIN
#define PANE_BOTTOM LONG_MAX

enum {
    PANE_FULL_SCREEN = 1 << 0,  /* covers the list and the viewer while focused */
    PANE_HIDES_ROW = 1 << 1,    /* the list's current row is not in view: commands that
                                   act on messages act on the tagged ones only */
};

struct pane_ops {
    const char *name;           /* "list", "viewer", "stats", "help" */
    const char *where;          /* "the statistics": for "not in ..." messages */
    enum context context;       /* which commands apply (their contexts bits) */
    enum context keys;          /* which key bindings apply while it has the focus */
    unsigned flags;             /* PANE_* */
    /* Whether it is on screen (NULL: always); a closed pane is not drawn
     * and does not get the focus back. */
    bool (*is_open)(const struct pane *p);
    void (*draw)(struct pane *p);
    /* Move the cursor or scroll by `delta` rows (PANE_TOP, PANE_BOTTOM);
     * returns R_* reactions. */
    unsigned (*move_by)(struct pane *p, long delta);
    long (*page)(const struct pane *p);        /* rows one page moves */
    unsigned (*close)(struct pane *p);
    unsigned (*search)(struct pane *p);        /* open its search bar; NULL: none */
    unsigned (*search_next)(struct pane *p, bool backwards);
    /* A key of its own, before the key map; returns true when it took it. */
    bool (*key)(struct pane *p, int key, unsigned *reaction);
    /* Frees the pane and what it owns (once, when the program ends). */
    void (*free)(struct pane *p);
};

/* Every pane type embeds this first; its constructor allocates it, the
 * app keeps it in panes[] until free. */
struct pane {
    const struct pane_ops *ops;
    struct app *app;
};

/* The panes, in registration order (a closed full-screen pane gives the
 * focus to the last open tiled pane of this list). */
#define TUI_PANES(X) X(list_pane) X(viewer_pane) X(stats_pane) X(help_pane) X(rules_pane)

#define TUI_PANE_DECLARE(name) struct pane *name##_new(struct app *a);
TUI_PANES(TUI_PANE_DECLARE)
#undef TUI_PANE_DECLARE

/* The pane of type `ops` (every type has exactly one). */
struct pane *pane_find(const struct app *a, const struct pane_ops *ops);
bool pane_is_open(const struct pane *p);
bool pane_has_focus(const struct pane *p);
void pane_focus(struct pane *p);
/* Give the focus back to the last open tiled pane (the viewer, else the list). */
void pane_focus_back(struct app *a);

#endif
