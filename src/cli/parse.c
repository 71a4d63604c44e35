/* The one command-line parser: getopt_long tables built from the rows'
 * option descriptors, every argument converted and checked here. */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "qtriage/stats.h"

#define MAX_OPTIONS 64
#define VAL_BASE 256            /* getopt_long's val for entry i: VAL_BASE + i */

enum origin { FROM_VIEW, FROM_COMMAND, FROM_SHARED };

struct entry {
    const struct cli_option *opt;
    void *base;                 /* the struct its offset is into */
    enum origin origin;
    unsigned index;             /* in its own descriptor list */
};

/* The options one getopt_long pass accepts. */
struct option_set {
    struct entry e[MAX_OPTIONS];
    size_t n;
    struct option longopts[MAX_OPTIONS + 1];
    char shortopts[3 * MAX_OPTIONS + 3];
    unsigned char by_letter[256];   /* entry index + 1; 0: none */
};

/* An option met, applied once the whole line is read (so --help wins over
 * a bad argument anywhere). */
struct seen {
    const struct entry *entry;
    const char *arg;
};

struct parse_state {
    const struct cli_command *cmd;      /* NULL while before the command */
    struct seen seen[256];
    size_t nseen;
    char **operands;
    int noperands;
};

/* Add `opts` to the set; a letter already taken (the command's own come
 * first) leaves the later option with its long name only: check's -c is
 * --crit, shape's -b is --buckets. */
static void set_add(struct option_set *s, const struct cli_option *opts, void *base,
                    enum origin origin)
{
    unsigned i;

    for (i = 0; opts[i].name && s->n < MAX_OPTIONS; i++) {
        struct entry *e = &s->e[s->n];
        struct option *lo = &s->longopts[s->n];
        int l = opts[i].letter;

        e->opt = &opts[i];
        e->base = base;
        e->origin = origin;
        e->index = i;
        lo->name = opts[i].name;
        lo->has_arg = opts[i].type == CLI_OPT_STRING ? optional_argument
                    : opts[i].arg ? required_argument : no_argument;
        lo->flag = NULL;
        lo->val = VAL_BASE + (int)s->n;
        s->n++;
        if (l > 0 && l < 256 && !s->by_letter[l]) {
            size_t len = strlen(s->shortopts);

            s->by_letter[l] = (unsigned char)s->n;
            s->shortopts[len++] = (char)l;
            if (lo->has_arg == required_argument)
                s->shortopts[len++] = ':';
            s->shortopts[len] = '\0';
        }
    }
    memset(&s->longopts[s->n], 0, sizeof(s->longopts[0]));
}

int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (cmd && (cmd->flags & CLI_CMD_PLUGIN)) {
        printf("QTRIAGE UNKNOWN - ");
        vprintf(fmt, ap);
        putchar('\n');
        va_end(ap);
        return 3;
    }
    fprintf(stderr, "qtriage: %s%s", cmd ? cmd->name : "", cmd ? ": " : "");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

static const char *dashes(const struct cli_option *o)
{
    static char buf[64];

    snprintf(buf, sizeof(buf), "--%s", o->name);
    return buf;
}

void cli_queue_words(struct qt_buf *out)
{
    for (int q = 0; q < QT_Q_COUNT; q++)
        qt_buf_printf(out, "%s%s", q ? " " : "", qt_queue_name((enum qt_queue)q));
}

bool cli_parse_queue(const char *name, enum qt_queue *q, struct qt_error *err)
{
    struct qt_buf words = {0};

    if (qt_queue_from_name(name, q))
        return true;
    cli_queue_words(&words);
    qt_error_set(err, "unknown queue \"%s\" (%s)", name, words.data);
    qt_buf_free(&words);
    return false;
}

bool cli_parse_backend(const char *word, int *kind)
{
    static const char *const names[] = {
        [QT_BACKEND_AUTO] = "auto", [QT_BACKEND_SPOOL] = "spool",
        [QT_BACKEND_POSTQUEUE] = "postqueue",
    };

    for (size_t i = 0; i < QT_ARRAY_LEN(names); i++)
        if (strcmp(word, names[i]) == 0) {
            *kind = (int)i;
            return true;
        }
    return false;
}

/* Convert and store one option's argument; false with the reason in err. */
static bool apply(const struct entry *e, const char *arg, struct qt_error *err)
{
    const struct cli_option *o = e->opt;
    char *at = (char *)e->base + o->offset, *end;
    long n;
    double d;
    int64_t secs;
    int word;

    switch (o->type) {
    case CLI_FLAG:
        *(bool *)at = true;
        return true;
    case CLI_SET:
        *(int *)at = o->value;
        return true;
    case CLI_STRING:
        *(const char **)at = arg;
        return true;
    case CLI_OPT_STRING:
        *(const char **)at = arg ? arg : o->fallback;
        return true;
    case CLI_LONG:
        if (qt_parse_long(arg, &n) && n >= o->min && n <= o->max) {
            *(long *)at = n;
            return true;
        }
        break;
    case CLI_NUMBER:
        d = strtod(arg, &end);
        if (end != arg && !*end && d >= o->min && d <= o->max) {
            *(double *)at = d;
            return true;
        }
        break;
    case CLI_QUEUE:
        return cli_parse_queue(arg, (enum qt_queue *)(void *)at, err);
    case CLI_DURATION:
        if ((secs = qt_postfix_time(arg, 's')) >= 0) {
            ((struct cli_duration *)(void *)at)->seconds = secs;
            ((struct cli_duration *)(void *)at)->text = arg;
            return true;
        }
        break;
    case CLI_WORD:
        if (o->parse(arg, &word)) {
            *(int *)at = word;
            return true;
        }
        {
            struct qt_buf words = {0};

            o->words(&words);
            qt_error_set(err, "unknown %s \"%s\" (%s)", o->wants, arg, words.data);
            qt_buf_free(&words);
        }
        return false;
    }
    if (o->wants)
        qt_error_set(err, "%s wants %s, not \"%s\"", dashes(o), o->wants, arg);
    else
        qt_error_set(err, "%s wants a number from %g to %g, not \"%s\"", dashes(o), o->min,
                     o->max, arg);
    return false;
}

/* One getopt_long pass over argv[1..]: "+" stops at the command's name,
 * "-" collects operands in order wherever they stand.  Returns -1, or the
 * exit status after saying what is wrong. */
static int scan(struct option_set *s, int argc, char **argv, bool to_command,
                struct parse_state *st)
{
    char optstring[sizeof(s->shortopts) + 2];
    int c, longindex;

    snprintf(optstring, sizeof(optstring), "%s:%s", to_command ? "+" : "-", s->shortopts);
    optind = 0;                 /* glibc: start afresh, re-reading the mode */
    opterr = 0;
    while ((c = getopt_long(argc, argv, optstring, s->longopts, &longindex)) != -1) {
        const struct entry *e = NULL;

        if (c == 1) {
            st->operands[st->noperands++] = optarg;
            continue;
        }
        if (c == ':')
            return cli_usage_error(st->cmd, "%s needs an argument", argv[optind - 1]);
        if (c == '?') {
            if (optopt >= VAL_BASE)
                return cli_usage_error(st->cmd, "--%s takes no argument",
                                       s->e[optopt - VAL_BASE].opt->name);
            if (optopt)
                return cli_usage_error(st->cmd, "unknown option \"-%c\"", optopt);
            return cli_usage_error(st->cmd, "unknown option \"%s\"", argv[optind - 1]);
        }
        if (c >= VAL_BASE)
            e = &s->e[c - VAL_BASE];
        else if (c > 0 && c < 256 && s->by_letter[c])
            e = &s->e[s->by_letter[c] - 1];
        if (!e || st->nseen == QT_ARRAY_LEN(st->seen))
            return cli_usage_error(st->cmd, "too many options");
        st->seen[st->nseen].entry = e;
        st->seen[st->nseen].arg = optarg;
        st->nseen++;
    }
    for (; optind < argc && !to_command; optind++)
        st->operands[st->noperands++] = argv[optind];
    return -1;
}

/* Everything the line said that the command cannot take. */
static int check_fit(const struct cli_command *cmd, const struct parse_state *st,
                     uint64_t given)
{
    const struct cli_command *row = cmd ? cmd : &cli_view;
    unsigned takes = row->shared | CLI_S_ALWAYS;
    size_t i, j;

    for (i = 0; i < st->nseen; i++) {
        const struct entry *e = st->seen[i].entry;

        if (e->origin == FROM_SHARED && !(e->opt->shared & takes))
            return cli_usage_error(cmd, "%s is not an option of %s", dashes(e->opt),
                                   cmd ? cmd->name : "the interactive view");
        if (cmd && e->origin == FROM_VIEW)
            return cli_usage_error(cmd, "%s is an option of the interactive view (give it "
                                   "without a command)", dashes(e->opt));
    }
    /* Options of one group exclude each other. */
    for (i = 0; row->options[i].name; i++) {
        if (!row->options[i].group || !(given & ((uint64_t)1 << i)))
            continue;
        for (j = i + 1; row->options[j].name; j++)
            if (row->options[j].group == row->options[i].group &&
                (given & ((uint64_t)1 << j)))
                return cli_usage_error(cmd, "--%s and --%s exclude each other",
                                       row->options[i].name, row->options[j].name);
    }
    return -1;
}

int cli_parse(int argc, char **argv, struct cli_common *common, struct cli_view_args *view,
              struct cli_call *call)
{
    /* Two sets: what was met before the command points into the first. */
    struct option_set *sets = xcalloc(2, sizeof(*sets)), *s = &sets[0];
    struct parse_state *st = xcalloc(1, sizeof(*st));
    struct qt_error err = {""};
    const struct cli_command *cmd = NULL;
    int status, first = 0;
    size_t i;

    memset(call, 0, sizeof(*call));
    call->common = common;
    st->operands = xcalloc((size_t)argc + 1, sizeof(char *));
    /* Before the command: the shared options and the interactive view's. */
    set_add(s, cli_view.options, view, FROM_VIEW);
    set_add(s, cli_shared_options, common, FROM_SHARED);
    if ((status = scan(s, argc, argv, true, st)) >= 0)
        goto out;
    if (optind < argc) {
        first = optind;
        cmd = cli_command_find(argv[first]);
        if (!cmd) {
            status = cli_usage_error(NULL, "unknown command \"%s\" (qtriage --help lists "
                                     "them)", argv[first]);
            goto out;
        }
        call->args = xcalloc(1, cmd->args_size ? cmd->args_size : 1);
        st->cmd = cmd;
        /* After it: its own options, then the shared ones. */
        s = &sets[1];
        set_add(s, cmd->options, call->args, FROM_COMMAND);
        set_add(s, cli_shared_options, common, FROM_SHARED);
        st->operands[st->noperands++] = argv[first];
        if ((status = scan(s, argc - first, argv + first, false, st)) >= 0)
            goto out;
    }
    call->command = cmd;
    for (i = 0; i < st->nseen; i++) {
        const struct entry *e = st->seen[i].entry;

        if (e->origin == FROM_SHARED)
            call->shared_given |= (uint64_t)1 << e->index;
        else if ((e->origin == FROM_VIEW) == (cmd == NULL))
            call->given |= (uint64_t)1 << e->index;
    }
    if (cli_given(call, "help")) {
        if (cmd)
            cli_command_usage(cmd, stdout);
        else
            cli_usage(stdout);
        status = 0;
        goto out;
    }
    if ((status = check_fit(cmd, st, call->given)) >= 0)
        goto out;
    for (i = 0; i < st->nseen; i++)
        if (!apply(st->seen[i].entry, st->seen[i].arg, &err)) {
            status = cli_usage_error(cmd, "%s", err.msg);
            goto out;
        }
    common->have_queue = cli_given(call, "queue");
    if ((common->fleet_file || common->ssh) && !common->hosts) {
        status = cli_usage_error(cmd, "--fleet and --ssh go with --hosts LIST; nothing done");
        goto out;
    }
    call->argc = st->noperands;
    call->argv = st->operands;
    st->operands = NULL;
    status = -1;
out:
    free(st->operands);
    free(st);
    free(sets);
    if (status >= 0)
        cli_call_free(call);
    return status;
}

void cli_call_free(struct cli_call *call)
{
    free(call->args);
    free(call->argv);
    call->args = NULL;
    call->argv = NULL;
    call->argc = 0;
}

bool cli_given(const struct cli_call *call, const char *name)
{
    const struct cli_option *opts = call->command ? call->command->options : cli_view.options;

    for (unsigned i = 0; opts[i].name; i++)
        if (strcmp(opts[i].name, name) == 0)
            return call->given & ((uint64_t)1 << i);
    for (unsigned i = 0; cli_shared_options[i].name; i++)
        if (strcmp(cli_shared_options[i].name, name) == 0)
            return call->shared_given & ((uint64_t)1 << i);
    return false;
}
