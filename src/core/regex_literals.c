#include "qtriage/regex_literals.h"

#include <stdlib.h>
#include <string.h>

#include "qtriage/text.h"
#include "qtriage/util.h"

#define RUN_MAX 64

struct scan {
    const char *p;
    size_t i, len;
    bool no_ksi;                /* k, s and i end runs */
    char run[RUN_MAX], best[RUN_MAX];
    size_t nrun, nbest;
    bool last_literal;          /* the run's last character may yet be quantified */
};

static bool is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static void end_run(struct scan *s)
{
    if (s->nrun > s->nbest) {
        memcpy(s->best, s->run, s->nrun);
        s->nbest = s->nrun;
    }
    s->nrun = 0;
    s->last_literal = false;
}

static void literal(struct scan *s, unsigned char c)
{
    /* A non-ASCII letter may match forms of other bytes (caseless), and
     * a character's bytes are not looked for one by one: the run ends. */
    if (c >= 0x80 || (s->no_ksi && (qt_ascii_fold(c) == 'k' || qt_ascii_fold(c) == 's' ||
                                    qt_ascii_fold(c) == 'i'))) {
        end_run(s);
        return;
    }
    if (s->nrun == RUN_MAX)
        end_run(s);
    s->run[s->nrun++] = (char)qt_ascii_fold(c);
    s->last_literal = true;
}

/* A quantifier: the atom before it may be absent or repeated, so a
 * literal before it leaves the run. */
static void quantified(struct scan *s)
{
    if (s->last_literal)
        s->nrun--;
    end_run(s);
}

/* {n}, {n,} or {n,m} at s->i: its length, or 0 when it is not one (pcre2
 * would take the brace as a literal; this gives up instead). */
static size_t counted_quantifier(const struct scan *s)
{
    size_t i = s->i + 1, digits = 0;

    while (i < s->len && s->p[i] >= '0' && s->p[i] <= '9')
        i++, digits++;
    if (!digits)
        return 0;
    if (i < s->len && s->p[i] == ',')
        for (i++; i < s->len && s->p[i] >= '0' && s->p[i] <= '9'; i++)
            ;
    return i < s->len && s->p[i] == '}' ? i + 1 - s->i : 0;
}

/* Skip a class at s->i ('['); false when it holds what this does not
 * follow (a '[' inside: POSIX classes). */
static bool skip_class(struct scan *s)
{
    size_t i = s->i + 1;

    if (i < s->len && s->p[i] == '^')
        i++;
    if (i < s->len && s->p[i] == ']')
        i++;
    for (; i < s->len && s->p[i] != ']'; i++) {
        if (s->p[i] == '[')
            return false;
        if (s->p[i] == '\\')
            i++;
    }
    if (i >= s->len)
        return false;
    s->i = i + 1;
    return true;
}

/* An escape at s->i: a literal, an atom of one letter, or give up. */
static bool escape(struct scan *s, int depth)
{
    unsigned char c;

    if (s->i + 1 >= s->len)
        return false;
    c = (unsigned char)s->p[s->i + 1];
    s->i += 2;
    if (!is_alnum(c)) {
        if (depth == 0)
            literal(s, c);
        return c < 0x80;
    }
    if (!strchr("dDwWsShHvVRbBAzZG", c))
        return false;       /* \x41, \p{L}, \Q, \1, \k<n>, ...: not followed */
    if (depth == 0)
        end_run(s);
    return true;
}

struct found {
    size_t *n;
    char **text;
    size_t *len;
};

static void add_alternative(struct scan *s, struct found *out, bool *ok)
{
    end_run(s);
    if (s->nbest < 2 || *out->n == QT_REGEX_LITERALS_MAX) {
        *ok = false;
        return;
    }
    out->text[*out->n] = xstrndup(s->best, s->nbest);
    out->len[(*out->n)++] = s->nbest;
    s->nbest = 0;
}

static void drop(struct found *out)
{
    while (*out->n)
        free(out->text[--*out->n]);
}

/* One literal per top-level alternative into `out`; false (and none)
 * when the pattern has what this does not follow. */
static bool extract(const char *pat, size_t len, bool no_ksi, struct found *out)
{
    struct scan s = {.p = pat, .len = len, .no_ksi = no_ksi};
    int depth = 0;
    bool ok = true;
    size_t q;

    while (ok && s.i < len) {
        unsigned char c = (unsigned char)pat[s.i];

        switch (c) {
        case '\\':
            ok = escape(&s, depth);
            continue;
        case '[':
            if (depth == 0)
                end_run(&s);
            ok = skip_class(&s);
            continue;
        case '(':
            if (s.i + 1 < len && pat[s.i + 1] == '?')
                ok = false;     /* options, lookarounds, named groups: not followed */
            else if (s.i + 1 < len && pat[s.i + 1] == '*')
                ok = false;     /* (*VERB) */
            if (depth++ == 0)
                end_run(&s);
            break;
        case ')':
            if (depth-- == 0)
                ok = false;
            break;
        case '|':
            if (depth == 0)
                add_alternative(&s, out, &ok);
            break;
        case '?':
        case '*':
        case '+':
            if (depth == 0)
                quantified(&s);
            break;
        case '{':
            if (!(q = counted_quantifier(&s))) {
                ok = false;
                break;
            }
            if (depth == 0)
                quantified(&s);
            s.i += q;
            continue;
        case '.':
        case '^':
        case '$':
            if (depth == 0)
                end_run(&s);
            break;
        default:
            if (depth == 0)
                literal(&s, c);
            break;
        }
        s.i++;
    }
    if (ok && depth == 0)
        add_alternative(&s, out, &ok);
    if (!ok || depth != 0) {
        drop(out);
        return false;
    }
    return true;
}

void qt_regex_literals(const char *pat, size_t len, bool caseless, bool extended,
                       struct qt_regex_literals *out)
{
    struct found strict = {&out->n, out->text, out->len};
    struct found weak = {&out->nweak, out->weak, out->weak_len};

    memset(out, 0, sizeof(*out));
    if (extended || !extract(pat, len, false, &strict))
        return;
    out->non_ascii = caseless;
    if (caseless)
        extract(pat, len, true, &weak);     /* none: every non-ASCII string */
}

void qt_regex_literals_free(struct qt_regex_literals *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        free(l->text[i]);
    for (i = 0; i < l->nweak; i++)
        free(l->weak[i]);
    memset(l, 0, sizeof(*l));
}
