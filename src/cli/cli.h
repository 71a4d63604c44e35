/* The command line as data: every command is one row of cli_commands[]
 * (src/cli/commands.c) with its options as descriptors; one parser
 * (src/cli/parse.c) reads them all, and --help, the man page's COMMANDS
 * section and the shell completion are printed from the same rows. */
#ifndef QTRIAGE_CLI_H
#define QTRIAGE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "qtriage/backend.h"
#include "qtriage/spool.h"
#include "qtriage/util.h"

/* What an option's argument becomes, converted and checked by the parser
 * (so each conversion and its error message exist once). */
enum cli_type {
    CLI_FLAG,           /* bool: true */
    CLI_SET,            /* int: .value (several options choosing one mode) */
    CLI_STRING,         /* const char *: the argument as given */
    CLI_OPT_STRING,     /* const char *: the optional argument, else .fallback */
    CLI_LONG,           /* long within [.min, .max] */
    CLI_NUMBER,         /* double within [.min, .max] */
    CLI_QUEUE,          /* enum qt_queue, by its name */
    CLI_DURATION,       /* struct cli_duration, Postfix style: 30m, 1h, 2d */
    CLI_WORD,           /* int: what .parse makes of one of .words */
};

/* How the shell completes an option's argument (or a command's operands). */
enum cli_complete {
    CLI_COMPLETE_NONE,
    CLI_COMPLETE_FILE,
    CLI_COMPLETE_DIR,
    CLI_COMPLETE_WORDS, /* the option's .words */
};

struct cli_option {
    const char *name;           /* the long name without "--" */
    int letter;                 /* the short letter; 0: none */
    enum cli_type type;
    const char *arg;            /* the argument's name in usage ("EXPR"); NULL: none */
    size_t offset;              /* where the value goes in the command's argument struct */
    const char *help;           /* one sentence; NULL: hidden from help and completion */
    double min, max;            /* CLI_LONG, CLI_NUMBER: the accepted range */
    int value;                  /* CLI_SET */
    const char *fallback;       /* CLI_OPT_STRING: the value without an argument */
    const char *wants;          /* error text: "--top wants WANTS, not ..."; CLI_WORD: "unknown WANTS" */
    int group;                  /* options sharing a non-zero group exclude each other */
    bool (*parse)(const char *word, int *out);      /* CLI_WORD */
    void (*words)(struct qt_buf *out);  /* the accepted words, blank-separated */
    enum cli_complete complete;
    unsigned shared;            /* in cli_shared_options: its CLI_S_* bit */
};

/* The options every command may take, before or after its name; the row's
 * `shared` says which besides CLI_S_ALWAYS. */
enum {
    CLI_S_QUEUE = 1 << 0,       /* --queue Q */
    CLI_S_FILTER = 1 << 1,      /* --filter EXPR */
    CLI_S_HOSTS = 1 << 2,       /* --hosts LIST (the fleet; refused until it exists) */
    CLI_S_BACKUP_DIR = 1 << 3,  /* --backup-dir DIR */
    CLI_S_MAILLOG = 1 << 4,     /* --maillog FILE */
    CLI_S_ALWAYS = 1 << 5,      /* -c, --backend, --config-file, --no-config, --demo, --help */
};

/* The shared options' values (struct cli_common is where their descriptors
 * point), then what the configuration adds. */
struct cli_common {
    const char *config_dir;     /* -c DIR, or NULL */
    int backend;                /* --backend: enum qt_backend_kind, QT_BACKEND_AUTO when not given */
    enum qt_queue queue;        /* --queue, when have_queue */
    bool have_queue;
    const char *filter;         /* --filter EXPR; NULL: none */
    const char *hosts;          /* --hosts LIST; NULL: this host only */
    const char *backup_dir;     /* --backup-dir, else the configuration's; NULL: none */
    const char *maillog;        /* --maillog FILE; NULL: find it */
    const char *config_file;    /* --config-file FILE */
    bool no_config;             /* --no-config */
    const char *demo_dir;       /* --demo[=DIR] */
    bool help;                  /* --help */
};

struct cli_command;

/* One parsed command line, as a command's run() gets it. */
struct cli_call {
    const struct cli_command *command;
    struct cli_common *common;
    void *args;                 /* the command's own argument struct (below), filled */
    int argc;                   /* argv[0]: the command's name; then its operands */
    char **argv;
    uint64_t given;             /* bit i: the command's options[i] was given */
    uint64_t shared_given;      /* bit i: cli_shared_options[i] was given */
};

struct cli_command {
    const char *name;
    const char *synopsis;       /* the operands: "ID...|-"; NULL: none */
    const char *summary;        /* one line for the command list */
    const char *description;    /* plain sentences for COMMAND --help and the man page */
    const char *notes;          /* sentences several rows share (the same pointer): the
                                 * man page says them once, under the first */
    const struct cli_option *options;   /* its own, ending with {0} */
    unsigned shared;            /* CLI_S_* it takes besides CLI_S_ALWAYS */
    unsigned flags;             /* CLI_CMD_* */
    size_t args_size;           /* sizeof its argument struct */
    int (*run)(const struct cli_call *call);
    enum cli_complete operands; /* how the shell completes the operands */
    void (*operand_words)(struct qt_buf *out);  /* with CLI_COMPLETE_WORDS */
};

enum {
    /* Usage errors as a monitoring plugin reports them: one line on stdout,
     * "QTRIAGE UNKNOWN - why", exit 3. */
    CLI_CMD_PLUGIN = 1 << 0,
};

extern const struct cli_command cli_commands[];         /* ends with {0} */
extern const struct cli_option cli_shared_options[];    /* offsets into struct cli_common */
/* The interactive view, with no command: options into struct cli_view_args. */
extern const struct cli_command cli_view;

const struct cli_command *cli_command_find(const char *name);
/* The options `row` takes as help and completion show them: its own, then
 * the shared ones in `takes`, hidden ones left out.  Start with *pos 0;
 * *letter is the option's short letter there (0 where the row's own option
 * has it).  NULL after the last. */
const struct cli_option *cli_option_next(const struct cli_command *row, unsigned takes,
                                         size_t *pos, int *letter);

/* The argument structs the rows' descriptors fill (zero before parsing). */
struct cli_view_args {
    const char *sort, *columns;
    double refresh;             /* seconds; 0: the configuration's or 2 */
    bool confirm_all, no_mouse, keys, version, man_commands;
    const char *completion;     /* --completion SHELL */
};

struct cli_list_args {
    bool json, ids, stats;
    const char *format;
};

enum cli_show_mode { CLI_SHOW_DECODED, CLI_SHOW_RAW, CLI_SHOW_BYTES };
struct cli_show_args {
    int mode;                   /* enum cli_show_mode */
    bool log;
    bool force;                 /* --bytes on a terminal all the same */
};

struct cli_export_args {
    const char *mbox, *dir;
};

struct cli_restore_args {
    bool dry_run, force;
};

struct cli_duration {
    int64_t seconds;
    const char *text;           /* as given, for messages */
};

struct cli_action_args {
    bool dry_run, yes;
    struct cli_duration follow; /* --follow: keep acting for that long (0: not asked) */
    const char *rate;           /* --rate N/s */
    long batch;                 /* --batch N (0: not asked) */
    struct cli_duration every;  /* --every S, with --batch */
    bool unpaced;               /* --unpaced: all at once, whatever the count */
};

struct cli_stats_args {
    int by;                     /* enum qt_stats_by */
    int sort;                   /* enum qt_stats_sort */
    long top;                   /* 0: 20 */
    bool json;
};

struct cli_shape_args {
    bool sender, parents, linear;
    double tick;                /* 0: qshape's default */
    long buckets, min_subdomains, lines, width;     /* 0: the default */
};

struct cli_check_args {
    long warn, crit;
    struct cli_duration age;
    bool json;                  /* one JSON object instead of the plugin line */
    /* Growth: arrivals per minute over the window ("N/min", "N/h", "N"). */
    const char *growth, *growth_crit;
    struct cli_duration growth_window;      /* 0: 5 minutes */
};

struct cli_metrics_args {
    const char *output;         /* NULL: standard output */
    long top;                   /* 0: QT_METRICS_TOP_DEFAULT */
};

struct cli_block_args {
    int action;                 /* enum qt_block_action */
    const char *text;           /* --text: the reply text; NULL: none */
    struct cli_duration expire; /* --expire; 0 seconds: never */
    bool json;
};

/* Parse argv: the shared options and the interactive view's before the
 * command, then the command's own and the shared ones anywhere after it
 * (up to "--").  Fills `call` (command NULL: the interactive view, its
 * options in *view).  Returns -1 to go on, or the exit status after
 * printing help or what is wrong. */
int cli_parse(int argc, char **argv, struct cli_common *common, struct cli_view_args *view,
              struct cli_call *call);
void cli_call_free(struct cli_call *call);
/* Whether the command line gave the command's option `name`. */
bool cli_given(const struct cli_call *call, const char *name);
/* The one queue-name parser: false after saying which names there are. */
bool cli_parse_queue(const char *name, enum qt_queue *q, struct qt_error *err);
bool cli_parse_backend(const char *word, int *kind);
void cli_queue_words(struct qt_buf *out);
/* Report a usage problem of `cmd` (NULL: none) the way it reports them;
 * returns the exit status. */
int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Generated from the table: qtriage --help, COMMAND --help, the man page's
 * COMMANDS section, the shell completion (false: no such shell). */
void cli_usage(FILE *out);
void cli_command_usage(const struct cli_command *cmd, FILE *out);
void cli_man_commands(FILE *out);
bool cli_completion(const char *shell, FILE *out);

/* The commands' run functions. */
int cli_list(const struct cli_call *call);
int cli_show(const struct cli_call *call);
int cli_export(const struct cli_call *call);
/* qtriage restore: exported messages back into the queue (restore.h). */
int cli_restore(const struct cli_call *call);
int cli_action(const struct cli_call *call);
int cli_stats(const struct cli_call *call);
int cli_shape(const struct cli_call *call);
int cli_check(const struct cli_call *call);
int cli_instances(const struct cli_call *call);
/* "qtriage metrics": Prometheus text exposition (node_exporter textfile). */
int cli_metrics(const struct cli_call *call);
/* "qtriage block": the access tables that stop a flood's source. */
int cli_block(const struct cli_call *call);
/* "qtriage --version": version, git describe, the libraries' versions. */
void cli_print_version(FILE *out);

/* Append `s` as a JSON string holding the sanitised text (qtriage/text.h):
 * markers are written as \ufffd. */
void cli_json_string(struct qt_buf *out, const char *s);
/* Set up (or restart) the demo instance in `dir`; returns its config
 * directory (malloc'd) or NULL after saying why on stderr. */
char *cli_demo_setup(const char *dir);

/* Before any command: SIGPIPE ignored, standard output blocking (its
 * flags are given back at exit). */
void cli_output_init(void);
/* fwrite to standard output, keeping the errno of a failure for
 * cli_output_finish(). */
size_t cli_write(const void *data, size_t len);
/* Flush standard output.  A reader that went away (| head) is the normal
 * end of the output: 0, nothing said.  Another write error is said on
 * stderr: 3. */
int cli_output_finish(void);

#endif
