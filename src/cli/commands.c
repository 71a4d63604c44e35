/* The table of qtriage's commands and their options.  A new command is one
 * row here (and its argument struct in cli.h when it has options of its
 * own); the parser, --help, the man page's COMMANDS section and the shell
 * completion all read it. */
#include <stddef.h>
#include <string.h>

#include "cli.h"
#include "qtriage/block.h"
#include "qtriage/metrics.h"
#include "qtriage/stats.h"

#define DEFAULT_DEMO_DIR "/tmp/qtriage-demo"

static void backend_words(struct qt_buf *out)
{
    qt_buf_printf(out, "spool postqueue auto");
}

static void shell_words(struct qt_buf *out)
{
    qt_buf_printf(out, "bash zsh");
}

static void stats_by_words(struct qt_buf *out)
{
    for (int i = 0; i < QT_BY_COUNT; i++)
        qt_buf_printf(out, "%s%s", i ? " " : "", qt_stats_by_info[i].name);
}

static void stats_sort_words(struct qt_buf *out)
{
    qt_buf_printf(out, "count rate");
}

static bool stats_sort_parse(const char *word, int *out)
{
    if (strcmp(word, "count") == 0)
        *out = QT_STATS_SORT_COUNT;
    else if (strcmp(word, "rate") == 0)
        *out = QT_STATS_SORT_RATE;
    else
        return false;
    return true;
}

static bool stats_by_parse(const char *word, int *out)
{
    enum qt_stats_by by;

    if (!qt_stats_by_from_name(word, &by))
        return false;
    *out = (int)by;
    return true;
}

/* An option: its name, letter, type, argument, where its value goes and its
 * help, then any of the other fields by name. */
#define OPT(name_, letter_, type_, arg_, offset_, help_, ...) \
    {.name = name_, .letter = letter_, .type = type_, .arg = arg_, .offset = offset_, \
     .help = help_, __VA_ARGS__}

#define COMMON(field) offsetof(struct cli_common, field)

const struct cli_option cli_shared_options[] = {
    OPT("config", 'c', CLI_STRING, "DIR", COMMON(config_dir),
     "use the Postfix instance whose main.cf is in DIR (as postconf -c)",
     .complete = CLI_COMPLETE_DIR, .shared = CLI_S_ALWAYS),
    OPT("backend", 'b', CLI_WORD, "B", COMMON(backend),
     "spool (read the queue files; root), postqueue (postqueue -j, read-only) or auto",
     .wants = "backend", .parse = cli_parse_backend, .words = backend_words,
     .complete = CLI_COMPLETE_WORDS, .shared = CLI_S_ALWAYS),
    OPT("config-file", 0, CLI_STRING, "FILE", COMMON(config_file),
     "read this configuration file, not /etc/qtriage.conf and ~/.config/qtriage/config",
     .complete = CLI_COMPLETE_FILE, .shared = CLI_S_ALWAYS),
    OPT("no-config", 0, CLI_FLAG, NULL, COMMON(no_config), "read no configuration file",
     .shared = CLI_S_ALWAYS),
    OPT("demo", 0, CLI_OPT_STRING, "DIR", COMMON(demo_dir),
     "use a throwaway demo Postfix queue (default " DEFAULT_DEMO_DIR "), creating it and "
     "filling it with a realistic flood first", .fallback = DEFAULT_DEMO_DIR,
     .complete = CLI_COMPLETE_DIR, .shared = CLI_S_ALWAYS),
    OPT("help", 'h', CLI_FLAG, NULL, COMMON(help), "print the usage (of the command) and exit",
     .shared = CLI_S_ALWAYS),
    OPT("queue", 'q', CLI_QUEUE, "Q", COMMON(queue), "only the messages in queue Q",
     .words = cli_queue_words, .complete = CLI_COMPLETE_WORDS, .shared = CLI_S_QUEUE),
    OPT("filter", 'f', CLI_STRING, "EXPR", COMMON(filter),
     "only the messages that match EXPR (the filter bar's language)",
     .shared = CLI_S_FILTER),
    /* Hidden until the fleet exists: accepted, then refused with a reason. */
    OPT("hosts", 0, CLI_STRING, "LIST", COMMON(hosts), NULL, .shared = CLI_S_HOSTS),
    OPT("backup-dir", 0, CLI_STRING, "DIR", COMMON(backup_dir),
     "delete exports the messages to DIR/ID.eml first and deletes only those exported",
     .complete = CLI_COMPLETE_DIR, .shared = CLI_S_BACKUP_DIR),
    OPT("maillog", 0, CLI_STRING, "FILE", COMMON(maillog),
     "the mail log that message histories come from (default: maillog_file, else "
     "/var/log/mail.log and the like)", .complete = CLI_COMPLETE_FILE,
     .shared = CLI_S_MAILLOG),
    {0},
};

#define VIEW(field) offsetof(struct cli_view_args, field)

static const struct cli_option view_options[] = {
    OPT("sort", 0, CLI_STRING, "COL", VIEW(sort),
     "sort by COL (-COL: reversed): id queue age retry size sender rcpt subject reason "
     "client sasl helo"),
    OPT("columns", 0, CLI_STRING, "LIST", VIEW(columns),
     "the columns to show, e.g. id,age,size,sender,rcpt,subject"),
    OPT("refresh", 0, CLI_NUMBER, "SEC", VIEW(refresh),
     "rescan the queue every SEC seconds (default 2)", .min = 0.2, .max = 3600,
     .wants = "seconds between 0.2 and 3600"),
    OPT("confirm-all", 0, CLI_FLAG, NULL, VIEW(confirm_all),
     "ask before every action, not only delete, expire and flush"),
    OPT("no-mouse", 0, CLI_FLAG, NULL, VIEW(no_mouse), "leave the mouse to the terminal"),
    OPT("keys", 0, CLI_FLAG, NULL, VIEW(keys),
     "print the interactive view's keys (a Markdown table) and exit"),
    OPT("version", 'V', CLI_FLAG, NULL, VIEW(version), "print the version and exit"),
    OPT("completion", 0, CLI_STRING, "SHELL", VIEW(completion),
     "print the shell completion script for SHELL (bash or zsh) and exit", .words = shell_words,
     .complete = CLI_COMPLETE_WORDS),
    /* The man page's COMMANDS section is this output (tests/doc/test_man.py). */
    OPT("man-commands", 0, CLI_FLAG, NULL, VIEW(man_commands), NULL),
    {0},
};

const struct cli_command cli_view = {
    .name = "",
    .summary = "the interactive queue view",
    .options = view_options,
    .shared = CLI_S_FILTER | CLI_S_HOSTS | CLI_S_BACKUP_DIR | CLI_S_MAILLOG,
    .args_size = sizeof(struct cli_view_args),
};

static const struct cli_option no_options[] = {{0}};

#define LIST(field) offsetof(struct cli_list_args, field)
static const struct cli_option list_options[] = {
    OPT("json", 'j', CLI_FLAG, NULL, LIST(json), "one JSON object a line", .group = 1),
    OPT("ids", 0, CLI_FLAG, NULL, LIST(ids), "only the queue IDs (for a pipe into an action's -)",
     .group = 1),
    OPT("format", 0, CLI_STRING, "FMT", LIST(format),
     "the fields to print: %i id, %q queue, %s sender, %r recipients, %S subject, %z size "
     "(bytes), %a age, %R delay reason, %f From, %c client, %% a %; \\t a tab", .group = 1),
    OPT("stats", 's', CLI_FLAG, NULL, LIST(stats), "memory figures on standard error"),
    {0},
};

#define SHOW(field) offsetof(struct cli_show_args, field)
static const struct cli_option show_options[] = {
    OPT("decoded", 0, CLI_SET, NULL, SHOW(mode), "as the viewer shows it (the default)",
     .value = CLI_SHOW_DECODED, .group = 1),
    OPT("raw", 0, CLI_SET, NULL, SHOW(mode), "the queue file's records as postcat shows them",
     .value = CLI_SHOW_RAW, .group = 1),
    OPT("bytes", 0, CLI_SET, NULL, SHOW(mode),
     "exactly what postcat -q prints; refused on a terminal without --force",
     .value = CLI_SHOW_BYTES, .group = 1),
    OPT("log", 0, CLI_FLAG, NULL, SHOW(log),
     "the mail-log lines about the message instead, oldest first", .group = 1),
    OPT("force", 0, CLI_FLAG, NULL, SHOW(force),
     "with --bytes: write to a terminal all the same (escape sequences included)"),
    {0},
};

#define EXPORT(field) offsetof(struct cli_export_args, field)
static const struct cli_option export_options[] = {
    OPT("mbox", 0, CLI_STRING, "FILE", EXPORT(mbox), "write one mboxrd file",
     .group = 1, .complete = CLI_COMPLETE_FILE),
    OPT("dir", 0, CLI_STRING, "DIR", EXPORT(dir), "write DIR/ID.eml, one file a message",
     .group = 1, .complete = CLI_COMPLETE_DIR),
    {0},
};

#define RESTORE(field) offsetof(struct cli_restore_args, field)
static const struct cli_option restore_options[] = {
    OPT("dry-run", 'n', CLI_FLAG, NULL, RESTORE(dry_run),
     "print what would be restored; send nothing, write nothing"),
    OPT("force", 0, CLI_FLAG, NULL, RESTORE(force),
     "send again what an interrupted restore may or may not have sent"),
    {0},
};

#define ACTION(field) offsetof(struct cli_action_args, field)
static const struct cli_option action_options[] = {
    OPT("dry-run", 'n', CLI_FLAG, NULL, ACTION(dry_run),
     "print what would be acted on; change nothing"),
    OPT("yes", 'y', CLI_FLAG, NULL, ACTION(yes),
     "act on what --filter selects without asking"),
    OPT("follow", 0, CLI_DURATION, "DURATION", ACTION(follow),
     "hold or delete: with --filter, go on acting on each new match for DURATION (a "
     "standing rule), printing every catch", .wants = "a duration such as 30m or 1h"),
    OPT("rate", 0, CLI_STRING, "N/s", ACTION(rate),
     "release, requeue, deliver: at most N messages a second (N/m, N/h too)", .group = 2),
    OPT("batch", 0, CLI_LONG, "N", ACTION(batch),
     "release, requeue, deliver: N messages at a time (with --every)", .min = 1, .max = 1e9,
     .wants = "a positive number"),
    OPT("every", 0, CLI_DURATION, "S", ACTION(every),
     "with --batch: wait S (seconds, or 30s, 2m) between batches",
     .wants = "a duration such as 2 or 30s"),
    OPT("unpaced", 0, CLI_FLAG, NULL, ACTION(unpaced),
     "all at once, even above 10000 messages (paced by default)", .group = 2),
    {0},
};

static const struct cli_option flush_site_options[] = {
    OPT("dry-run", 'n', CLI_FLAG, NULL, ACTION(dry_run), "print what would be run; run nothing"),
    {0},
};

static const struct cli_option flush_options[] = {
    OPT("dry-run", 'n', CLI_FLAG, NULL, ACTION(dry_run), "print what would be run; run nothing"),
    OPT("rate", 0, CLI_STRING, "N/s", ACTION(rate),
     "flush: deliver the deferred messages (postqueue -i) at most N a second, not all at once",
     .group = 2),
    OPT("batch", 0, CLI_LONG, "N", ACTION(batch),
     "flush: deliver the deferred messages N at a time (with --every)", .min = 1, .max = 1e9,
     .wants = "a positive number"),
    OPT("every", 0, CLI_DURATION, "S", ACTION(every),
     "with --batch: wait S (seconds, or 30s, 2m) between batches",
     .wants = "a duration such as 2 or 30s"),
    {0},
};

#define STATS(field) offsetof(struct cli_stats_args, field)
static const struct cli_option stats_options[] = {
    OPT("by", 'B', CLI_WORD, "KEY", STATS(by), "group by KEY (default sender)",
     .wants = "--by key", .parse = stats_by_parse, .words = stats_by_words,
     .complete = CLI_COMPLETE_WORDS),
    OPT("sort", 'o', CLI_WORD, "ORDER", STATS(sort),
     "count (who fills the queue most, the default) or rate (who is growing fastest: "
     "arrivals in the last 5, then 15, then 60 minutes)",
     .wants = "--sort order", .parse = stats_sort_parse, .words = stats_sort_words,
     .complete = CLI_COMPLETE_WORDS),
    OPT("top", 'n', CLI_LONG, "N", STATS(top), "the N first groups (default 20)", .min = 1,
     .max = 1e9, .wants = "a positive number"),
    OPT("json", 'j', CLI_FLAG, NULL, STATS(json), "one JSON object"),
    {0},
};

#define SHAPE(field) offsetof(struct cli_shape_args, field)
static const struct cli_option shape_options[] = {
    OPT("sender", 's', CLI_FLAG, NULL, SHAPE(sender), "sender domains, not recipient domains"),
    OPT("parents", 'p', CLI_FLAG, NULL, SHAPE(parents), "also the parent domains' totals"),
    OPT("linear", 'l', CLI_FLAG, NULL, SHAPE(linear), "buckets of equal width, not doubling"),
    OPT("tick", 't', CLI_NUMBER, "MIN", SHAPE(tick), "the first bucket's width in minutes",
     .min = 1e-9, .max = 1e9, .wants = "minutes, more than 0"),
    OPT("buckets", 'b', CLI_LONG, "N", SHAPE(buckets), "the number of age buckets", .min = 1,
     .max = 999999, .wants = "a positive number"),
    OPT("min-subdomains", 'm', CLI_LONG, "N", SHAPE(min_subdomains),
     "with -p, show a parent domain only with N or more subdomains", .min = 1,
     .max = 999999, .wants = "a positive number"),
    OPT("lines", 'n', CLI_LONG, "N", SHAPE(lines), "show the first N domains", .min = 1,
     .max = 999999, .wants = "a positive number"),
    OPT("width", 'w', CLI_LONG, "N", SHAPE(width), "the output's width (default 80)", .min = 1,
     .max = 999999, .wants = "a positive number"),
    {0},
};

#define CHECK(field) offsetof(struct cli_check_args, field)
static const struct cli_option check_options[] = {
    OPT("warn", 'w', CLI_LONG, "N", CHECK(warn), "WARNING (exit 1) above N messages", .min = 0,
     .max = 1e15, .wants = "a count of messages"),
    OPT("crit", 'c', CLI_LONG, "M", CHECK(crit), "CRITICAL (exit 2) above M messages", .min = 0,
     .max = 1e15, .wants = "a count of messages"),
    OPT("age", 'a', CLI_DURATION, "DURATION", CHECK(age), "count only messages older than that",
     .wants = "a duration such as 30m, 1h or 2d"),
    OPT("growth", 'g', CLI_STRING, "N/min", CHECK(growth),
        "WARNING (exit 1) when more than N messages a minute arrived over the growth window "
        "(counting those still queued)"),
    OPT("growth-crit", 'G', CLI_STRING, "M/min", CHECK(growth_crit),
        "CRITICAL (exit 2) above M messages a minute"),
    OPT("growth-window", 0, CLI_DURATION, "DURATION", CHECK(growth_window),
        "the window arrivals are counted over (default 5m)",
     .wants = "a duration such as 5m, 15m or 1h"),
    OPT("json", 'j', CLI_FLAG, NULL, CHECK(json),
        "one JSON object (state, exit code, counts, thresholds, per queue) instead of the "
        "plugin line"),
    {0},
};

#define METRICS(field) offsetof(struct cli_metrics_args, field)
static const struct cli_option metrics_options[] = {
    OPT("output", 'o', CLI_STRING, "FILE", METRICS(output),
        "write FILE atomically (a temporary file, fsync, rename) instead of standard output",
        .complete = CLI_COMPLETE_FILE),
    OPT("top", 'n', CLI_LONG, "N", METRICS(top),
        "the N largest senders, sasl users and clients (default 10)", .min = 1,
        .max = QT_METRICS_TOP_MAX),
    {0},
};

static void block_action_words(struct qt_buf *out)
{
    qt_buf_printf(out, "hold defer reject");
}

static bool block_action_parse(const char *word, int *out)
{
    enum qt_block_action a;

    if (!qt_block_action_from_name(word, &a))
        return false;
    *out = (int)a;
    return true;
}

static void block_verb_words(struct qt_buf *out)
{
    qt_buf_printf(out, "add list remove expire sasl client sender sender_domain");
}

#define BLOCK(field) offsetof(struct cli_block_args, field)
static const struct cli_option block_options[] = {
    OPT("action", 'a', CLI_WORD, "ACTION", BLOCK(action),
        "add: hold, defer or reject the source's next messages", .wants = "action",
        .parse = block_action_parse, .words = block_action_words,
        .complete = CLI_COMPLETE_WORDS),
    OPT("text", 't', CLI_STRING, "TEXT", BLOCK(text),
        "add: the text of the reply (printable ASCII, at most 200 characters)"),
    OPT("expire", 'e', CLI_DURATION, "DURATION", BLOCK(expire),
        "add: remove the entry after DURATION (default 1h; 0: never)",
        .wants = "a duration such as 30m, 1h or 2d"),
    OPT("json", 'j', CLI_FLAG, NULL, BLOCK(json), "list: one JSON object a line"),
    {0},
};

/* What every action that takes IDs says about them. */
static const char ids_notes[] =
    "An ID of - reads queue IDs from standard input, one or more a line (postqueue -p's "
    "* and ! markers are ignored); --filter acts on every queued message that matches "
    "instead, after a y at the terminal or with --yes.";

#define ACTION_ROW(verb, summary_text, ...) \
    {.name = verb, .synopsis = "ID...|-", .summary = summary_text, .notes = ids_notes, \
     .options = action_options, .shared = CLI_S_FILTER | CLI_S_HOSTS, \
     .args_size = sizeof(struct cli_action_args), .run = cli_action, __VA_ARGS__}

const struct cli_command cli_commands[] = {
    {.name = "list",
     .summary = "one line (or JSON object, or ID) per message",
     .description = "Without --queue every queue is listed; control characters, bidi "
                    "controls and zero-width characters in the fields are shown as U+FFFD, "
                    "never printed (see TERMINAL SAFETY in the man page).",
     .options = list_options, .shared = CLI_S_QUEUE | CLI_S_FILTER | CLI_S_HOSTS,
     .args_size = sizeof(struct cli_list_args), .run = cli_list},
    {.name = "show", .synopsis = "ID",
     .summary = "the message as the viewer shows it",
     .description = "Decoded: the delivery status of every recipient, the headers and text "
                    "parts decoded, the attachments; --log: each delivery attempt and the "
                    "remote server's answer.",
     .options = show_options, .shared = CLI_S_MAILLOG,
     .args_size = sizeof(struct cli_show_args), .run = cli_show},
    {.name = "export", .synopsis = "ID...|-",
     .summary = "save messages as RFC 822 with their envelope",
     .description = "Messages are written as they are queued, to one mboxrd file or as "
                    "DIR/ID.eml; an existing file is never overwritten (one with the same "
                    "bytes counts as already exported). No symbolic link on the path is "
                    "followed, and no directory others can write is used unless it is "
                    "root-owned and sticky. Give IDs, - (IDs on standard input) or --filter.",
     .options = export_options, .shared = CLI_S_FILTER | CLI_S_HOSTS,
     .args_size = sizeof(struct cli_export_args), .run = cli_export},
    {.name = "restore", .synopsis = "DIR|MBOX [ID...]",
     .summary = "put exported messages back into the queue, each once",
     .description = "Each message goes through sendmail -G -i with its original envelope "
                    "sender to its pending recipients, without the X-Qtriage headers; the "
                    "new queue ID is printed. A journal next to the backup makes a second "
                    "run send nothing. Give IDs or --filter to restore only some.",
     .options = restore_options, .shared = CLI_S_FILTER,
     .args_size = sizeof(struct cli_restore_args), .run = cli_restore,
     .operands = CLI_COMPLETE_FILE},
    ACTION_ROW("hold", "put messages on hold (postsuper -h)"),
    ACTION_ROW("release", "release held messages (postsuper -H)"),
    ACTION_ROW("requeue", "requeue messages (postsuper -r)",
               .description = "They get new queue IDs."),
    {.name = "delete", .synopsis = "ID...|-",
     .summary = "delete messages (postsuper -d)",
     .description = "With --backup-dir (or the configuration's backup_dir) the messages are "
                    "exported first and only those exported are deleted.",
     .notes = ids_notes, .options = action_options,
     .shared = CLI_S_FILTER | CLI_S_HOSTS | CLI_S_BACKUP_DIR,
     .args_size = sizeof(struct cli_action_args), .run = cli_action},
    ACTION_ROW("expire", "force-expire messages (postsuper -e)",
               .description = "They bounce at the next delivery attempt."),
    ACTION_ROW("deliver", "attempt delivery now (postqueue -i)"),
    {.name = "flush",
     .summary = "flush the whole queue (postqueue -f)",
     .options = flush_options, .shared = CLI_S_HOSTS,
     .args_size = sizeof(struct cli_action_args), .run = cli_action},
    {.name = "flush-site", .synopsis = "SITE",
     .summary = "flush the mail for one site (postqueue -s)",
     .options = flush_site_options, .shared = CLI_S_HOSTS,
     .args_size = sizeof(struct cli_action_args), .run = cli_action},
    {.name = "stats",
     .summary = "top groups by count and size, and the queue's settings",
     .description = "Who fills the queue: message counts and sizes grouped by KEY, then the "
                    "Postfix settings that decide how fast it drains.",
     .options = stats_options, .shared = CLI_S_QUEUE | CLI_S_FILTER | CLI_S_HOSTS,
     .args_size = sizeof(struct cli_stats_args), .run = cli_stats},
    {.name = "shape", .synopsis = "[QUEUE...]",
     .summary = "qshape's domain x age table (the same output)",
     .description = "A qshape(1)-compatible histogram of recipient (or sender) domains by "
                    "age, over the incoming and active queues unless QUEUEs are named.",
     .options = shape_options, .shared = CLI_S_HOSTS,
     .args_size = sizeof(struct cli_shape_args), .run = cli_shape,
     .operands = CLI_COMPLETE_WORDS, .operand_words = cli_queue_words},
    {.name = "check",
     .summary = "a monitoring plugin: OK, WARNING or CRITICAL by message count or growth",
     .description = "Counts the messages and exits 0 (OK), 1 (WARNING: more than N), 2 "
                    "(CRITICAL: more than M) or 3 (UNKNOWN), with one line of text and "
                    "performance data per queue.  With --growth, --growth-crit or both, "
                    "it also measures growth: the messages still queued that arrived "
                    "within the growth window (default 5m), per minute; mail that "
                    "arrived and already left does not count, nor does old mail leaving.",
     .options = check_options, .shared = CLI_S_QUEUE | CLI_S_FILTER | CLI_S_HOSTS,
     .flags = CLI_CMD_PLUGIN,
     .args_size = sizeof(struct cli_check_args), .run = cli_check},
    {.name = "metrics",
     .summary = "the queue as Prometheus metrics (node_exporter textfile)",
     .description = "Prometheus's text exposition format; see METRICS in the man page for "
                    "the families.",
     .options = metrics_options, .args_size = sizeof(struct cli_metrics_args),
     .run = cli_metrics},
    {.name = "block", .synopsis = "add KIND VALUE|list|remove KIND VALUE|expire",
     .summary = "stop a source: entries in Postfix access tables, with an expiry",
     .description = "KIND is sasl (a SASL login), client (an address or network), sender "
                    "(an address) or sender_domain. Entries go into qtriage_sasl_access, "
                    "qtriage_client_access and qtriage_sender_access in the instance's "
                    "configuration directory, built with postmap in default_database_type; "
                    "lines qtriage did not write are never changed. add, remove and expire "
                    "need root; expire (for cron) removes the entries whose time is up. "
                    "qtriage never edits main.cf: it says whether check_sasl_access, "
                    "check_client_access and check_sender_access are in place and prints "
                    "the line to add when not.",
     .options = block_options, .args_size = sizeof(struct cli_block_args), .run = cli_block,
     .operands = CLI_COMPLETE_WORDS, .operand_words = block_verb_words},
    {.name = "instances",
     .summary = "the Postfix instances postmulti -l lists",
     .description = "Name, group, enabled, the messages in the deferred, hold, active and "
                    "incoming queues (100000+ past that many; ? where a queue cannot be "
                    "read), configuration directory.",
     .options = no_options, .run = cli_instances},
    {0},
};

const struct cli_command *cli_command_find(const char *name)
{
    for (const struct cli_command *c = cli_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

const struct cli_option *cli_option_next(const struct cli_command *row, unsigned takes,
                                         size_t *pos, int *letter)
{
    size_t own = 0;

    while (row->options[own].name)
        own++;
    for (; *pos < own; (*pos)++)
        if (row->options[*pos].help) {
            *letter = row->options[*pos].letter;
            return &row->options[(*pos)++];
        }
    for (; cli_shared_options[*pos - own].name; (*pos)++) {
        const struct cli_option *o = &cli_shared_options[*pos - own];

        if (!o->help || !(o->shared & takes))
            continue;
        *letter = o->letter;
        for (size_t j = 0; j < own; j++)
            if (row->options[j].letter == o->letter)
                *letter = 0;
        (*pos)++;
        return o;
    }
    return NULL;
}
