/* The TUI without a terminal, for tests: keys come from a script file, the
 * screen goes to stdout as text after named steps (in the spirit of tig's
 * TIG_SCRIPT and :save-display).
 *
 * Environment (only read when QTRIAGE_SCRIPT is set):
 *   QTRIAGE_SCRIPT=FILE      the steps (syntax in script.c and the README)
 *   QTRIAGE_SCREEN=COLSxROWS the screen size (default 120x30)
 *   QTRIAGE_SPOOL=DIR        (required) read this copy of a queue directory instead of
 *                            asking postconf (spool_copy.h); read-only
 *   QTRIAGE_NOW=SECONDS      the wall clock ages are computed from */
#ifndef QTRIAGE_TUI_SCRIPT_H
#define QTRIAGE_TUI_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct app;
struct script;

/* Whether this run is scripted (QTRIAGE_SCRIPT is set). */
bool script_wanted(void);

/* Read and check the whole script; NULL with `err` set on a bad line. */
struct script *script_open(char *err, size_t size);
/* The copy of a queue directory to read, or NULL: ask Postfix. */
const char *script_spool_copy(const struct script *s);
/* Start curses on no terminal, with the script's screen size. */
bool script_start_curses(struct script *s);
/* What the main loop polls for the script: readable while the next step
 * can run at once, -1 while it waits for the program. */
int script_poll_fd(struct script *s, struct app *a);
/* The next key of the script, or ERR when there is none yet (a wait, or a
 * screen dump that needs a settled screen first). */
int script_next_key(struct script *s, struct app *a, int *key);
/* Every step ran (or one failed): the program quits. */
bool script_finished(const struct script *s);
/* Ends the scripted run: false when a step failed (the exit status). */
bool script_close(struct script *s);

/* Seconds since the epoch that ages are computed from: QTRIAGE_NOW in a
 * scripted run, else the real clock. */
int64_t app_wall_clock(const struct app *a);

#endif
