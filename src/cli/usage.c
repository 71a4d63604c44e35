/* qtriage --help, COMMAND --help and the man page's COMMANDS section, all
 * printed from the command table. */
#include <ctype.h>
#include <string.h>

#include "cli.h"

#define HELP_COLUMN 24
#define WIDTH 79

/* `text` from column `col` (where the caller already is), wrapped at WIDTH
 * and indented to `indent` on the following lines. */
static void wrap(FILE *out, const char *text, int col, int indent)
{
    const char *p = text;

    while (*p) {
        size_t word = strcspn(p, " ");

        if (col > indent && col + 1 + (int)word > WIDTH) {
            fprintf(out, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', out);
            col++;
        }
        fwrite(p, 1, word, out);
        col += (int)word;
        p += word;
        p += strspn(p, " ");
    }
    fputc('\n', out);
}

/* "  LEFT            help", the help wrapped in its column. */
static void two_columns(FILE *out, const char *left, const char *help)
{
    int col = fprintf(out, "  %s", left);

    if (col >= HELP_COLUMN - 1) {
        fprintf(out, "\n%*s", HELP_COLUMN, "");
        col = HELP_COLUMN;
    } else {
        col += fprintf(out, "%*s", HELP_COLUMN - col, "");
    }
    wrap(out, help, col, HELP_COLUMN);
}

static void option_usage(FILE *out, const struct cli_option *o, int letter)
{
    char left[96];
    int n;

    if (letter)
        n = snprintf(left, sizeof(left), "-%c, ", letter);
    else
        n = snprintf(left, sizeof(left), "    ");
    if (o->type == CLI_OPT_STRING)
        snprintf(left + n, sizeof(left) - (size_t)n, "--%s[=%s]", o->name, o->arg);
    else
        snprintf(left + n, sizeof(left) - (size_t)n, "--%s%s%s", o->name, o->arg ? " " : "",
                 o->arg ? o->arg : "");
    two_columns(out, left, o->help);
}

static void options_usage(FILE *out, const struct cli_command *row, unsigned takes)
{
    const struct cli_option *o;
    size_t pos = 0;
    int letter;

    while ((o = cli_option_next(row, takes, &pos, &letter)) != NULL)
        option_usage(out, o, letter);
}

void cli_usage(FILE *out)
{
    static const struct cli_option none[] = {{0}};
    static const struct cli_command shared_only = {.options = none};

    fputs("usage: qtriage [OPTIONS] [VIEW OPTIONS]\n"
          "       qtriage [OPTIONS] COMMAND [COMMAND OPTIONS] [ARGS]\n"
          "\n"
          "Without a command, qtriage opens the interactive queue view (press ? in it\n"
          "for the keys); when standard output is not a terminal it lists the queue.\n"
          "\n"
          "commands:\n", out);
    for (const struct cli_command *c = cli_commands; c->name; c++) {
        char left[64];

        snprintf(left, sizeof(left), "%s%s%s", c->name, c->synopsis ? " " : "",
                 c->synopsis ? c->synopsis : "");
        two_columns(out, left, c->summary);
    }
    fputs("\n'qtriage COMMAND --help' prints the command's options.\n"
          "options (before or after the command, where the command takes them):\n", out);
    options_usage(out, &shared_only, ~0u);
    fputs("options of the interactive view:\n", out);
    options_usage(out, &cli_view, 0);
}

void cli_command_usage(const struct cli_command *cmd, FILE *out)
{
    fprintf(out, "usage: qtriage %s [OPTIONS]%s%s\n", cmd->name, cmd->synopsis ? " " : "",
            cmd->synopsis ? cmd->synopsis : "");
    wrap(out, cmd->summary, 0, 0);
    if (cmd->description) {
        fputc('\n', out);
        wrap(out, cmd->description, 0, 0);
    }
    if (cmd->notes) {
        fputc('\n', out);
        wrap(out, cmd->notes, 0, 0);
    }
    fputs("\noptions:\n", out);
    options_usage(out, cmd, cmd->shared | CLI_S_ALWAYS);
}

/* Plain text as roff: a backslash, a minus and a line's first dot or
 * apostrophe would otherwise mean something. */
static void roff_text(FILE *out, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\')
            fputs("\\e", out);
        else if (s[i] == '-')
            fputs("\\-", out);
        else
            fputc(s[i], out);
    }
}

static void roff_sentence(FILE *out, const char *s)
{
    if (*s == '.' || *s == '\'')
        fputs("\\&", out);
    fputc(toupper((unsigned char)*s), out);
    roff_text(out, s + 1, strlen(s + 1));
    fputs(".\n", out);
}

/* "ID...|-" as roff: the placeholders (capitals) in italics, lower case. */
static void roff_synopsis(FILE *out, const char *s)
{
    while (*s) {
        size_t caps = 0;

        while (isupper((unsigned char)s[caps]) || (caps && s[caps] == '_'))
            caps++;
        if (caps) {
            fputs("\\fI", out);
            for (size_t i = 0; i < caps; i++)
                fputc(tolower((unsigned char)s[i]), out);
            fputs("\\fR", out);
            s += caps;
        } else {
            roff_text(out, s, 1);
            s++;
        }
    }
}

static void roff_option(FILE *out, const struct cli_option *o)
{
    fputs(".TP\n", out);
    if (o->letter)
        fprintf(out, "\\fB\\-%c\\fR, ", o->letter);
    fputs("\\fB\\-\\-", out);
    roff_text(out, o->name, strlen(o->name));
    fputs("\\fR", out);
    if (o->arg) {
        fputs(o->type == CLI_OPT_STRING ? "[=" : " ", out);
        roff_synopsis(out, o->arg);
        if (o->type == CLI_OPT_STRING)
            fputc(']', out);
    }
    fputc('\n', out);
    roff_sentence(out, o->help);
}

/* The first row with the same options and notes as `c`, when it is not c. */
static const struct cli_command *same_as(const struct cli_command *c)
{
    for (const struct cli_command *e = cli_commands; e < c; e++)
        if (e->options == c->options && e->notes == c->notes && c->options[0].name)
            return e;
    return NULL;
}

static void roff_paragraph(FILE *out, const char *text)
{
    fputs(".br\n", out);
    roff_text(out, text, strlen(text));
    fputc('\n', out);
}

void cli_man_commands(FILE *out)
{
    fputs(".\\\" Generated from src/cli/commands.c by \"qtriage --man-commands\"; edit the\n"
          ".\\\" table there, not this section (tests/doc/test_man.py compares them).\n", out);
    for (const struct cli_command *c = cli_commands; c->name; c++) {
        const struct cli_command *like = same_as(c);
        unsigned also = c->shared & ~CLI_S_ALWAYS;
        bool first = true;

        fputs(".TP\n.B ", out);
        roff_text(out, c->name, strlen(c->name));
        if (c->options[0].name)
            fputs(" \\fR[\\fIoptions\\fR]", out);
        if (c->synopsis) {
            fputs(c->options[0].name ? " " : " \\fR", out);
            roff_synopsis(out, c->synopsis);
        }
        fputc('\n', out);
        roff_sentence(out, c->summary);
        if (c->description)
            roff_paragraph(out, c->description);
        if (c->notes && !like)
            roff_paragraph(out, c->notes);
        for (size_t i = 0; cli_shared_options[i].name; i++) {
            const struct cli_option *o = &cli_shared_options[i];

            if (!(o->shared & also) || !o->help)
                continue;
            fprintf(out, "%s\\fB\\-\\-", first ? ".br\nAlso " : ", ");
            roff_text(out, o->name, strlen(o->name));
            fputs("\\fR", out);
            first = false;
        }
        if (!first)
            fputs(" (see\n.BR OPTIONS ).\n", out);
        if (like) {
            fprintf(out, ".br\nOptions%s as for\n.BR %s .\n", c->notes ? " and IDs" : "",
                    like->name);
        } else if (c->options[0].name) {
            fputs(".RS\n", out);
            for (size_t i = 0; c->options[i].name; i++)
                if (c->options[i].help)
                    roff_option(out, &c->options[i]);
            fputs(".RE\n", out);
        }
    }
}
