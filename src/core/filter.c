/* The filter bar's query language (grammar in filter.h): a recursive-descent
 * compiler into a tree of AND/OR/NOT nodes over terms, and an evaluator that
 * walks the tree without allocating.  Needles are lowercased and regexes
 * compiled (and JIT-compiled) once, here, so that per message only the
 * comparisons remain. */
#include "qtriage/filter.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "qtriage/fields.h"
#include "qtriage/reason.h"
#include "qtriage/spool.h"
#include "qtriage/text.h"
#include "qtriage/util.h"

/* Limits for one pcre2_match(): far above what a sane pattern needs on a
 * header-sized subject, low enough that catastrophic backtracking gives up
 * within milliseconds instead of freezing the list. */
#define MATCH_LIMIT 100000
#define DEPTH_LIMIT 10000
#define HEAP_LIMIT_KIB 8192
/* JIT code keeps its backtracking state on a stack of its own; the default
 * 32 KiB is used up by ^(a|b)+$ on a 1 KiB subject, a legitimate pattern. */
#define JIT_STACK_START (32 * 1024)
#define JIT_STACK_MAX (1024 * 1024)
/* Nesting of parentheses and "not"; bounds the recursion of both the
 * compiler and the evaluator, whatever is typed. */
#define MAX_NESTING 64

enum op {
    OP_CONTAINS,
    OP_EQUALS,
    OP_REGEX,
    OP_NULL_SENDER,             /* sender:<> and sender=<> */
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE,
    OP_NUM_EQ,
};

/* A text term's result for each distinct interned string of one field
 * (most senders, subjects and reasons repeat, so a regex over a million
 * messages runs once per distinct value).  Strings are interned in a pool
 * that only grows, so a result holds while the pool's serial does; another
 * pool (another store) empties the cache.  Slots hold ref << 2 | result.
 *
 * A field whose values hardly repeat (queue IDs, subjects of a varied
 * queue) would only pay for the table: after CACHE_TRIAL lookups a cache
 * that found fewer than a quarter of them stops, for the filter's life. */
enum { CACHE_EMPTY, CACHE_NO, CACHE_YES };
#define CACHE_TRIAL 32768
struct ref_cache {
    uint64_t pool_serial;
    uint64_t *slots;
    size_t nslots, count;
    size_t lookups, hits;
    bool off;
};

struct term {
    const struct qt_field *field;   /* NULL: a bare word or regex (QT_FIELD_BARE fields) */
    enum op op;
    char *text;                 /* lowercased needle; for a regex "/src/flags" */
    size_t len;
    pcre2_code *re;
    int64_t number;
    /* Scratch for evaluation (like the match block): results per value of
     * each field the term looks at (a bare word looks at several). */
    struct ref_cache *cache[QT_FIELD_COUNT];
};

enum node_kind { N_TERM, N_NOT, N_AND, N_OR };

struct node {
    enum node_kind kind;
    struct node **kids;         /* N_NOT: one; N_AND, N_OR: two or more */
    size_t nkids;
    struct term term;
};

struct qt_filter {
    struct node *root;          /* NULL: the empty query */
    bool uses_time;
    /* One match at a time, so all regexes share one match block, context
     * and JIT stack, made once: matching allocates nothing (pcre2 keeps the
     * interpreter's backtracking frames in the match block between calls). */
    pcre2_match_data *match_data;
    pcre2_match_context *match_context;
    pcre2_jit_stack *jit_stack;
    size_t gave_up;             /* messages on which a regex gave up */
    char gave_up_text[64];      /* the regex, as typed, cut */
    char gave_up_id[QT_QUEUE_ID_MAX + 1];
    char gave_up_why[128];
    char runtime_error[384];
    /* "class" terms: each distinct reason is classified once. */
    struct qt_reason_cache reasons;
    /* The fields a bare word or regex searches, in the registry's order. */
    const struct qt_field *bare[QT_FIELD_COUNT];
    size_t nbare;
    char *query;                /* as compiled, for qt_filter_clone */
    uint64_t serial;            /* unique per compiled filter */
};

/* ---- compiling ---- */

struct parser {
    const char *q;
    size_t pos;
    struct qt_filter *f;
    struct qt_filter_error *err;
    bool failed;
    int nesting;
};

enum token { T_END, T_LPAREN, T_RPAREN, T_AND, T_OR, T_NOT, T_TERM };

static void fail(struct parser *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Only the first problem is reported: what follows it is usually noise. */
static void fail(struct parser *p, size_t pos, const char *fmt, ...)
{
    va_list ap;

    if (p->failed)
        return;
    p->failed = true;
    p->err->pos = pos;
    va_start(ap, fmt);
    vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
    va_end(ap);
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool ends_word(char c)
{
    return c == 0 || is_blank(c) || c == '(' || c == ')';
}

static bool is_ident(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (!first && c >= '0' && c <= '9');
}

static size_t word_end(const char *q, size_t pos)
{
    while (!ends_word(q[pos]))
        pos++;
    return pos;
}

/* Length of the word at pos, capped for quoting it in a message. */
static int quote_len(const char *q, size_t pos)
{
    size_t n = word_end(q, pos) - pos;

    return n > 40 ? 40 : (int)n;
}

/* The token at the current position after blanks, and its length in *len. */
static enum token peek(struct parser *p, size_t *len)
{
    const char *s;

    while (is_blank(p->q[p->pos]))
        p->pos++;
    s = p->q + p->pos;
    *len = 1;
    switch (s[0]) {
    case 0:
        *len = 0;
        return T_END;
    case '(':
        return T_LPAREN;
    case ')':
        return T_RPAREN;
    case '!':
        return T_NOT;
    }
    *len = 2;
    if (s[0] == '&' && s[1] == '&')
        return T_AND;
    if (s[0] == '|' && s[1] == '|')
        return T_OR;
    *len = word_end(p->q, p->pos) - p->pos;
    if (*len == 3 && strncasecmp(s, "and", 3) == 0)
        return T_AND;
    if (*len == 2 && strncasecmp(s, "or", 2) == 0)
        return T_OR;
    if (*len == 3 && strncasecmp(s, "not", 3) == 0)
        return T_NOT;
    return T_TERM;
}

static const char *token_name(enum token t)
{
    switch (t) {
    case T_END:
        return "the end of the query";
    case T_RPAREN:
        return "')'";
    case T_AND:
        return "'and'";
    case T_OR:
        return "'or'";
    default:
        return "this";
    }
}

static void node_free(struct node *n)
{
    size_t i;

    if (!n)
        return;
    for (i = 0; i < n->nkids; i++)
        node_free(n->kids[i]);
    free(n->kids);
    free(n->term.text);
    pcre2_code_free(n->term.re);
    for (i = 0; i < QT_FIELD_COUNT; i++) {
        if (n->term.cache[i])
            free(n->term.cache[i]->slots);
        free(n->term.cache[i]);
    }
    free(n);
}

static struct node *node_new(enum node_kind kind)
{
    struct node *n = xcalloc(1, sizeof(*n));

    n->kind = kind;
    return n;
}

static void node_add(struct node *n, struct node *kid, size_t *cap)
{
    n->kids = xgrow(n->kids, cap, n->nkids + 1, sizeof(*n->kids));
    n->kids[n->nkids++] = kid;
}

/* An AND or OR of one is that one. */
static struct node *node_collapse(struct node *n)
{
    struct node *kid;

    if (n->nkids != 1)
        return n;
    kid = n->kids[0];
    n->nkids = 0;
    node_free(n);
    return kid;
}

/* A "quoted string" at p->pos; returns it unescaped, NUL-terminated, with
 * its length in *len. */
static char *parse_quoted(struct parser *p, size_t *len)
{
    struct qt_buf b = {0};
    size_t open = p->pos, i = open + 1;

    qt_buf_reserve(&b, 16);
    for (; p->q[i] != '"'; i++) {
        if (!p->q[i]) {
            fail(p, open, "unterminated quoted string: no closing '\"'");
            qt_buf_free(&b);
            return NULL;
        }
        if (p->q[i] == '\\' && (p->q[i + 1] == '"' || p->q[i + 1] == '\\'))
            i++;
        qt_buf_putc(&b, p->q[i]);
    }
    i++;
    if (!ends_word(p->q[i])) {
        fail(p, i, "unexpected text after the closing quote; put a blank before the next term");
        qt_buf_free(&b);
        return NULL;
    }
    p->pos = i;
    *len = b.len;
    return b.data;
}

/* The value after ':' or '=': a quoted string or a word. */
static char *parse_value(struct parser *p, const char *field, const char *opname, size_t *len)
{
    size_t end;

    if (p->q[p->pos] == '"')
        return parse_quoted(p, len);
    if (ends_word(p->q[p->pos])) {
        fail(p, p->pos, "missing value after '%s%s'", field, opname);
        return NULL;
    }
    end = word_end(p->q, p->pos);
    *len = end - p->pos;
    p->pos = end;
    return xstrndup(p->q + end - *len, *len);
}

static void lowercase(char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        s[i] = (char)qt_ascii_fold((unsigned char)s[i]);
}

static bool ensure_match_blocks(struct qt_filter *f)
{
    if (!f->match_data)
        f->match_data = pcre2_match_data_create(1, NULL);
    if (!f->match_context) {
        f->match_context = pcre2_match_context_create(NULL);
        if (f->match_context) {
            pcre2_set_match_limit(f->match_context, MATCH_LIMIT);
            pcre2_set_depth_limit(f->match_context, DEPTH_LIMIT);
            pcre2_set_heap_limit(f->match_context, HEAP_LIMIT_KIB);
        }
        /* Without a stack of our own the JIT uses its small default. */
        f->jit_stack = pcre2_jit_stack_create(JIT_STACK_START, JIT_STACK_MAX, NULL);
        if (f->match_context && f->jit_stack)
            pcre2_jit_stack_assign(f->match_context, NULL, f->jit_stack);
    }
    return f->match_data && f->match_context;
}

/* "/REGEX/FLAGS" at p->pos, compiled into t; `after` is what came before
 * it ("subject~"), for messages. */
static bool parse_regex(struct parser *p, struct term *t, const char *after)
{
    uint32_t options = PCRE2_UTF | PCRE2_UCP;
    size_t open = p->pos, i = open + 1, body_len;
    PCRE2_SIZE erroff;
    int errcode;
    char why[160];

#ifdef PCRE2_MATCH_INVALID_UTF
    /* Addresses may carry raw 8-bit bytes: match around them rather than
     * failing the whole subject. */
    options |= PCRE2_MATCH_INVALID_UTF;
#endif
    if (p->q[open] != '/') {
        if (ends_word(p->q[open]))
            fail(p, open, "missing value after '%s': write %s/REGEX/", after, after);
        else
            fail(p, open, "a regex goes between slashes: %s/REGEX/FLAGS", after);
        return false;
    }
    for (; p->q[i] != '/'; i++) {
        if (!p->q[i]) {
            fail(p, open, "unterminated regex: no closing '/' (write \\/ for a slash inside)");
            return false;
        }
        if (p->q[i] == '\\' && p->q[i + 1])
            i++;
    }
    body_len = i - open - 1;
    for (i++; !ends_word(p->q[i]); i++) {
        switch (p->q[i]) {
        case 'i':
            options |= PCRE2_CASELESS;
            break;
        case 'x':
            options |= PCRE2_EXTENDED;
            break;
        case 's':
            options |= PCRE2_DOTALL;
            break;
        case 'm':
            options |= PCRE2_MULTILINE;
            break;
        default:
            fail(p, i, "unknown regex flag: the flags are i, x, s and m");
            return false;
        }
    }
    t->re = pcre2_compile((PCRE2_SPTR)(p->q + open + 1), body_len, options, &errcode, &erroff,
                          NULL);
    if (!t->re) {
        pcre2_get_error_message(errcode, (PCRE2_UCHAR *)why, sizeof(why));
        fail(p, open + 1 + erroff, "bad regex: %s", why);
        return false;
    }
    /* Without JIT support (or memory for it) the interpreter does the same
     * work, only slower. */
    pcre2_jit_compile(t->re, PCRE2_JIT_COMPLETE);
    if (!ensure_match_blocks(p->f))
        qt_die("out of memory creating a pcre2 match block");
    t->op = OP_REGEX;
    t->text = xstrndup(p->q + open, i - open);
    t->len = i - open;
    p->pos = i;
    return true;
}

static int64_t unit_multiplier(enum qt_field_type kind, char c)
{
    switch (kind) {
    case QT_TYPE_BYTES:
        switch (c) {
        case 'k': case 'K':
            return 1024;
        case 'm': case 'M':
            return 1024 * 1024;
        case 'g': case 'G':
            return 1024 * 1024 * 1024;
        }
        return 0;
    case QT_TYPE_SECONDS:
        switch (c) {
        case 's':
            return 1;
        case 'm':
            return 60;
        case 'h':
            return 3600;
        case 'd':
            return 86400;
        case 'w':
            return 7 * 86400;
        }
        return 0;
    default:
        return 0;
    }
}

static const char *unit_help(enum qt_field_type kind)
{
    switch (kind) {
    case QT_TYPE_BYTES:
        return "k, M or G (powers of 1024), or none for bytes";
    case QT_TYPE_SECONDS:
        return "s, m, h, d or w, or none for seconds";
    default:
        return "none: it is a plain count";
    }
}

/* NUMBER[UNIT] after a comparison. */
static bool parse_number(struct parser *p, const struct qt_field *def, const char *opname,
                         int64_t *out)
{
    size_t start = p->pos, i = start;
    int64_t v = 0, mult = 1;

    if (ends_word(p->q[i])) {
        fail(p, i, "missing value after '%s%s'", def->name, opname);
        return false;
    }
    if (p->q[i] < '0' || p->q[i] > '9') {
        fail(p, i, "bad number '%.*s': %s wants digits, as in %s>%s", quote_len(p->q, i),
             p->q + i, def->name, def->name,
             def->type == QT_TYPE_BYTES ? "5M" : def->type == QT_TYPE_SECONDS ? "2d" : "10");
        return false;
    }
    for (; p->q[i] >= '0' && p->q[i] <= '9'; i++) {
        if (v > (INT64_MAX - (p->q[i] - '0')) / 10) {
            fail(p, start, "number too large");
            return false;
        }
        v = v * 10 + (p->q[i] - '0');
    }
    if (!ends_word(p->q[i])) {
        mult = unit_multiplier(def->type, p->q[i]);
        if (!mult || !ends_word(p->q[i + 1])) {
            fail(p, i, "bad unit '%.*s' for %s: use %s", quote_len(p->q, i), p->q + i,
                 def->name, unit_help(def->type));
            return false;
        }
        i++;
    }
    if (v > INT64_MAX / mult) {
        fail(p, start, "number too large");
        return false;
    }
    *out = v * mult;
    p->pos = i;
    return true;
}

/* The comparison at q, its length in *len; false when there is none. */
static bool parse_op(const char *q, enum op *op, size_t *len)
{
    *len = 1;
    switch (q[0]) {
    case ':':
        *op = OP_CONTAINS;
        return true;
    case '=':
        *op = OP_EQUALS;
        return true;
    case '~':
        *op = OP_REGEX;
        return true;
    case '<':
    case '>':
        if (q[1] == '=') {
            *len = 2;
            *op = q[0] == '<' ? OP_LE : OP_GE;
        } else {
            *op = q[0] == '<' ? OP_LT : OP_GT;
        }
        return true;
    }
    return false;
}

/* FIELD OP VALUE, with p->pos on the field name, which ends at name_end;
 * the comparison is at op_at (after the '!' of a negated one). */
static bool parse_field_term(struct parser *p, struct term *t, size_t name_end, size_t op_at)
{
    size_t start = p->pos, oplen;
    const struct qt_field *def = qt_field_find(p->q + start, name_end - start, QT_ROLE_FILTER);
    char opname[4] = {0}, label[32];
    enum op op;

    if (!def) {
        struct qt_buf names = {0};

        qt_field_names(QT_ROLE_FILTER, &names);
        fail(p, start, "unknown field '%.*s' (fields: %s)", (int)(name_end - start) > 40 ? 40
             : (int)(name_end - start), p->q + start, names.data);
        qt_buf_free(&names);
        return false;
    }
    parse_op(p->q + op_at, &op, &oplen);
    memcpy(opname, p->q + name_end, op_at - name_end + oplen);
    p->pos = op_at + oplen;
    t->field = def;
    if (def->type != QT_TYPE_TEXT) {
        if (op == OP_CONTAINS || op == OP_REGEX) {
            fail(p, name_end, "%s is a number: compare it with <, <=, >, >= or =", def->name);
            return false;
        }
        if (def->source == QT_SRC_AGE)
            p->f->uses_time = true;
        t->op = op == OP_EQUALS ? OP_NUM_EQ : op;
        return parse_number(p, def, opname, &t->number);
    }
    if (op != OP_CONTAINS && op != OP_EQUALS && op != OP_REGEX) {
        fail(p, name_end, "%s is text: use %s:VALUE, %s=VALUE or %s~/REGEX/", def->name,
             def->name, def->name, def->name);
        return false;
    }
    if (op == OP_REGEX) {
        snprintf(label, sizeof(label), "%s%s", def->name, opname);
        return parse_regex(p, t, label);
    }
    t->op = op;
    if (!(t->text = parse_value(p, def->name, opname, &t->len)))
        return false;
    if ((def->flags & QT_FIELD_NULL_SENDER) && strcmp(t->text, "<>") == 0)
        t->op = OP_NULL_SENDER;
    return true;
}

static struct node *node_not(struct node *kid)
{
    struct node *n = node_new(N_NOT);

    n->kids = xmalloc(sizeof(*n->kids));
    n->kids[0] = kid;
    n->nkids = 1;
    return n;
}

static struct node *parse_term(struct parser *p)
{
    struct node *n = node_new(N_TERM);
    struct term *t = &n->term;
    size_t name_end = p->pos, op_at, end, oplen;
    bool ok, negated = false;
    enum op op;

    while (is_ident(p->q[name_end], name_end == p->pos))
        name_end++;
    op_at = name_end;
    /* FIELD!=VALUE, FIELD!:VALUE and FIELD!~/REGEX/ are "not" the term. */
    if (name_end > p->pos && p->q[op_at] == '!' && p->q[op_at + 1] &&
        strchr(":=~", p->q[op_at + 1])) {
        negated = true;
        op_at++;
    }
    t->field = NULL;
    t->op = OP_CONTAINS;
    if (name_end > p->pos && parse_op(p->q + op_at, &op, &oplen)) {
        ok = parse_field_term(p, t, name_end, op_at);
    } else if (p->q[p->pos] == '/') {
        ok = parse_regex(p, t, "");
    } else if (p->q[p->pos] == '"') {
        ok = (t->text = parse_quoted(p, &t->len)) != NULL;
    } else {
        end = word_end(p->q, p->pos);
        t->len = end - p->pos;
        t->text = xstrndup(p->q + p->pos, t->len);
        p->pos = end;
        ok = true;
    }
    if (t->text && t->op != OP_REGEX)
        lowercase(t->text, t->len);
    if (!ok) {
        node_free(n);
        return NULL;
    }
    return negated ? node_not(n) : n;
}

static struct node *parse_or(struct parser *p);

static struct node *parse_unary(struct parser *p)
{
    struct node *n = NULL, *kid;
    size_t len, open;
    enum token t = peek(p, &len);

    if (++p->nesting > MAX_NESTING) {
        fail(p, p->pos, "query nested too deeply (more than %d levels)", MAX_NESTING);
        return NULL;
    }
    switch (t) {
    case T_NOT:
        p->pos += len;
        if ((kid = parse_unary(p)))
            n = node_not(kid);
        break;
    case T_LPAREN:
        open = p->pos++;
        if (peek(p, &len) == T_RPAREN) {
            fail(p, open, "empty parentheses");
            break;
        }
        n = parse_or(p);
        if (n && peek(p, &len) != T_RPAREN) {
            fail(p, open, "unbalanced parenthesis: this '(' is never closed");
            node_free(n);
            n = NULL;
        }
        p->pos++;
        break;
    case T_TERM:
        n = parse_term(p);
        break;
    default:
        fail(p, p->pos, "expected a term, found %s", token_name(t));
        break;
    }
    p->nesting--;
    return n;
}

static struct node *parse_and(struct parser *p)
{
    struct node *n = node_new(N_AND), *kid;
    size_t cap = 0, len;
    enum token t;

    for (;;) {
        if (!(kid = parse_unary(p))) {
            node_free(n);
            return NULL;
        }
        node_add(n, kid, &cap);
        t = peek(p, &len);
        if (t == T_AND)
            p->pos += len;
        else if (t != T_TERM && t != T_NOT && t != T_LPAREN)
            break;              /* anything else ends the AND; a term continues it */
    }
    return node_collapse(n);
}

static struct node *parse_or(struct parser *p)
{
    struct node *n = node_new(N_OR), *kid;
    size_t cap = 0, len;

    for (;;) {
        if (!(kid = parse_and(p))) {
            node_free(n);
            return NULL;
        }
        node_add(n, kid, &cap);
        if (peek(p, &len) != T_OR)
            break;
        p->pos += len;
    }
    return node_collapse(n);
}

struct qt_filter *qt_filter_compile(const char *query, struct qt_filter_error *err)
{
    static _Atomic uint64_t next_serial = 1;
    struct qt_filter_error ignored;
    struct qt_filter *f = xcalloc(1, sizeof(*f));
    struct parser p = {.q = query ? query : "", .f = f, .err = err ? err : &ignored};
    size_t len;

    p.err->pos = 0;
    p.err->msg[0] = 0;
    f->query = xstrdup(p.q);
    f->serial = next_serial++;
    for (len = 0; len < QT_FIELD_COUNT; len++)
        if (qt_fields[len].flags & QT_FIELD_BARE)
            f->bare[f->nbare++] = &qt_fields[len];
    if (peek(&p, &len) == T_END)
        return f;
    f->root = parse_or(&p);
    if (f->root && peek(&p, &len) != T_END)
        fail(&p, p.pos, "unbalanced parenthesis: this ')' has no '('");
    if (p.failed) {
        qt_filter_free(f);
        return NULL;
    }
    return f;
}

void qt_filter_free(struct qt_filter *f)
{
    if (!f)
        return;
    node_free(f->root);
    pcre2_match_data_free(f->match_data);
    pcre2_match_context_free(f->match_context);
    pcre2_jit_stack_free(f->jit_stack);
    qt_reason_cache_free(&f->reasons);
    free(f->query);
    free(f);
}

static void format_runtime_error(struct qt_filter *f);

struct qt_filter *qt_filter_clone(const struct qt_filter *f)
{
    struct qt_filter *c = qt_filter_compile(f->query, NULL);

    if (!c)
        qt_die("a compiled query failed to compile again: %s", f->query);
    return c;
}

uint64_t qt_filter_serial(const struct qt_filter *f)
{
    return f->serial;
}

void qt_filter_absorb_runtime_error(struct qt_filter *f, struct qt_filter *other)
{
    if (!other->gave_up)
        return;
    if (!f->gave_up) {
        memcpy(f->gave_up_text, other->gave_up_text, sizeof(f->gave_up_text));
        memcpy(f->gave_up_id, other->gave_up_id, sizeof(f->gave_up_id));
        memcpy(f->gave_up_why, other->gave_up_why, sizeof(f->gave_up_why));
    }
    f->gave_up += other->gave_up;
    format_runtime_error(f);
    qt_filter_clear_runtime_error(other);
}

bool qt_filter_matches_all(const struct qt_filter *f)
{
    return !f->root;
}

bool qt_filter_uses_time(const struct qt_filter *f)
{
    return f->uses_time;
}

/* ---- matching ---- */

struct eval {
    struct qt_filter *f;
    const struct qt_store *s;
    const struct qt_msg *m;
    int64_t now;
    bool gave_up;
};

/* a[0..n) equals the lowercase b[0..n), ASCII case folded. */
static bool equal_folded(const char *a, const char *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (qt_ascii_fold((unsigned char)a[i]) != (unsigned char)b[i])
            return false;
    return true;
}

/* Scan for the needle's first byte in either case, then compare the rest
 * folded: no copy of the haystack. */
static bool contains_folded(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
    unsigned char first, other;
    size_t i;

    if (nlen == 0)
        return true;
    if (nlen > hlen)
        return false;
    first = (unsigned char)needle[0];
    other = (unsigned char)((unsigned)(first - 'a') < 26u ? first - ('a' - 'A') : first);
    for (i = 0; i <= hlen - nlen; i++) {
        unsigned char c = (unsigned char)hay[i];

        if ((c == first || c == other) && equal_folded(hay + i + 1, needle + 1, nlen - 1))
            return true;
    }
    return false;
}

static void format_runtime_error(struct qt_filter *f)
{
    snprintf(f->runtime_error, sizeof(f->runtime_error),
             "regex %s gave up on %zu message%s (first %s: %s); they do not match",
             f->gave_up_text, f->gave_up, f->gave_up == 1 ? "" : "s", f->gave_up_id,
             f->gave_up_why);
}

static void record_give_up(struct eval *e, const struct term *t, int rc)
{
    struct qt_filter *f = e->f;

    e->gave_up = true;
    if (f->gave_up++ == 0) {
        snprintf(f->gave_up_text, sizeof(f->gave_up_text), "%.60s%s", t->text,
                 t->len > 60 ? "..." : "");
        snprintf(f->gave_up_id, sizeof(f->gave_up_id), "%s",
                 e->m->id ? qt_store_str(e->s, e->m->id) : "?");
        if (pcre2_get_error_message(rc, (PCRE2_UCHAR *)f->gave_up_why,
                                    sizeof(f->gave_up_why)) < 0)
            snprintf(f->gave_up_why, sizeof(f->gave_up_why), "pcre2 error %d", rc);
    }
    format_runtime_error(f);
}

static bool regex_match(struct eval *e, const struct term *t, const char *str, size_t len)
{
    int rc = pcre2_match(t->re, (PCRE2_SPTR)str, len, 0, 0, e->f->match_data,
                         e->f->match_context);

    if (rc >= 0)
        return true;
    if (rc == PCRE2_ERROR_NOMATCH)
        return false;
#ifndef PCRE2_MATCH_INVALID_UTF
    /* Older pcre2 refuses invalid UTF-8 outright: such text cannot match. */
    if (rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21)
        return false;
#endif
    record_give_up(e, t, rc);
    return false;
}

static bool text_match(struct eval *e, const struct term *t, const char *str, size_t len)
{
    if (!str)
        str = "";               /* absent is empty */
    switch (t->op) {
    case OP_CONTAINS:
        return contains_folded(str, len, t->text, t->len);
    case OP_EQUALS:
        return len == t->len && equal_folded(str, t->text, len);
    case OP_REGEX:
        return regex_match(e, t, str, len);
    default:
        return false;
    }
}

/* Cached results: a hash of the ref (multiplicative; refs are offsets, so
 * their low bits are nearly random already). */
static size_t cache_home(const struct ref_cache *c, qt_str ref)
{
    return (size_t)(((uint64_t)ref * 0x9E3779B97F4A7C15ull) >> 20) & (c->nslots - 1);
}

static int cache_get(const struct ref_cache *c, qt_str ref)
{
    size_t mask = c->nslots - 1, i;

    for (i = cache_home(c, ref); c->slots[i]; i = (i + 1) & mask)
        if (c->slots[i] >> 2 == ref)
            return (int)(c->slots[i] & 3);
    return CACHE_EMPTY;
}

static void cache_put(struct ref_cache *c, qt_str ref, int result)
{
    size_t mask, i;

    if ((c->count + 1) * 2 > c->nslots) {
        uint64_t *old = c->slots;
        size_t n = c->nslots, j;

        c->nslots *= 2;
        c->slots = xcalloc(c->nslots, sizeof(*c->slots));
        mask = c->nslots - 1;
        for (j = 0; j < n; j++) {
            if (!old[j])
                continue;
            for (i = cache_home(c, (qt_str)(old[j] >> 2)); c->slots[i]; i = (i + 1) & mask)
                ;
            c->slots[i] = old[j];
        }
        free(old);
    }
    mask = c->nslots - 1;
    for (i = cache_home(c, ref); c->slots[i]; i = (i + 1) & mask)
        ;
    c->slots[i] = (uint64_t)ref << 2 | (uint64_t)result;
    c->count++;
}

/* The cache of field `fd` of term t, ready for the pool of store s; NULL
 * when it was given up. */
static struct ref_cache *term_cache(const struct term *t, const struct qt_store *s,
                                    const struct qt_field *fd)
{
    /* The cache is scratch space, as the match block is: the term it
     * belongs to stays as compiled. */
    struct ref_cache **slot = (struct ref_cache **)&t->cache[qt_field_index(fd)];
    struct ref_cache *c = *slot;

    if (!c) {
        c = *slot = xcalloc(1, sizeof(*c));
        c->nslots = 1 << 10;
        c->slots = xcalloc(c->nslots, sizeof(*c->slots));
        c->pool_serial = s->pool.serial;
    }
    if (c->off)
        return NULL;
    if (c->pool_serial != s->pool.serial) {
        memset(c->slots, 0, c->nslots * sizeof(*c->slots));
        c->count = 0;
        c->pool_serial = s->pool.serial;
    }
    if (c->lookups == CACHE_TRIAL && c->hits < CACHE_TRIAL / 4) {
        c->off = true;
        free(c->slots);
        c->slots = NULL;
        c->nslots = c->count = 0;
        return NULL;
    }
    return c;
}

/* Whether the value `ref` of field `fd` matches t (for the domain fields:
 * the domain of the address `ref`), from the cache when the value was met
 * before. */
static bool cached_match(struct eval *e, const struct term *t, const struct qt_field *fd,
                         qt_str ref)
{
    const struct qt_store *s = e->s;
    struct ref_cache *c = ref ? term_cache(t, s, fd) : NULL;
    const char *str;
    size_t len;
    bool hit;

    if (c) {
        int got = cache_get(c, ref);

        c->lookups++;
        if (got != CACHE_EMPTY) {
            c->hits++;
            return got == CACHE_YES;
        }
    }
    str = qt_store_str(s, ref);
    len = qt_strpool_len(&s->pool, ref);
    if (fd->source == QT_SRC_SENDER_DOMAIN || fd->source == QT_SRC_RCPT_DOMAIN)
        str = qt_address_domain(str, len, &len);
    hit = text_match(e, t, str, len);
    /* A regex that gave up decided nothing: it is asked again (and
     * counted) on each message that holds the value. */
    if (c && !e->gave_up)
        cache_put(c, ref, hit ? CACHE_YES : CACHE_NO);
    return hit;
}

/* Any pending recipient's domain matches. */
static bool rcpt_domains_match(struct eval *e, const struct term *t, const struct qt_field *fd)
{
    uint32_t i;

    for (i = 0; i < e->m->nrcpts && !e->gave_up; i++) {
        const struct qt_rcpt *r = &e->m->rcpts[i];

        if (r->state == QT_RCPT_PENDING && cached_match(e, t, fd, r->address))
            return true;
    }
    return false;
}

/* Any recipient's delay reason is of a matching class. */
static bool classes_match(struct eval *e, const struct term *t)
{
    uint32_t i;

    for (i = 0; i < e->m->nrcpts && !e->gave_up; i++) {
        int cls = qt_reason_cache_class(&e->f->reasons, e->s, e->m->rcpts[i].reason);
        const char *name;

        if (cls < 0)
            continue;
        name = qt_reason_class_name((size_t)cls);
        if (text_match(e, t, name, strlen(name)))
            return true;
    }
    return false;
}

/* Any recipient's address (or delay reason) matches. */
static bool rcpts_match(struct eval *e, const struct term *t, const struct qt_field *fd,
                        bool reason)
{
    uint32_t i;

    for (i = 0; i < e->m->nrcpts && !e->gave_up; i++)
        if (cached_match(e, t, fd, reason ? e->m->rcpts[i].reason : e->m->rcpts[i].address))
            return true;
    return false;
}

static bool compare(int64_t v, const struct term *t)
{
    switch (t->op) {
    case OP_LT:
        return v < t->number;
    case OP_LE:
        return v <= t->number;
    case OP_GT:
        return v > t->number;
    case OP_GE:
        return v >= t->number;
    default:
        return v == t->number;
    }
}

static bool field_match(struct eval *e, const struct term *t, const struct qt_field *fd)
{
    const struct qt_msg *m = e->m;
    const char *v;

    switch (fd->source) {
    case QT_SRC_STR:
        if (t->op == OP_NULL_SENDER)
            return (m->flags & QT_MSG_NULL_SENDER) != 0;
        return cached_match(e, t, fd, qt_field_str(fd, m));
    case QT_SRC_U32:
        return compare(qt_field_u32(fd, m), t);
    case QT_SRC_AGE:
        return compare(e->now - m->arrival, t);
    case QT_SRC_QUEUE:
        v = qt_queue_name((enum qt_queue)m->queue);
        return text_match(e, t, v, strlen(v));
    case QT_SRC_SENDER_DOMAIN:
        return cached_match(e, t, fd, m->sender);
    case QT_SRC_RCPT_ADDRESS:
        return rcpts_match(e, t, fd, false);
    case QT_SRC_RCPT_REASON:
        return rcpts_match(e, t, fd, true);
    case QT_SRC_RCPT_DOMAIN:
        return rcpt_domains_match(e, t, fd);
    case QT_SRC_RCPT_CLASS:
        return classes_match(e, t);
    case QT_SRC_NONE:
        break;
    }
    return false;
}

/* A bare word or regex: any of the fields that one searches. */
static bool bare_match(struct eval *e, const struct term *t)
{
    size_t i;

    for (i = 0; i < e->f->nbare; i++)
        if (field_match(e, t, e->f->bare[i]))
            return true;
    return false;
}

static bool term_match(struct eval *e, const struct term *t)
{
    return t->field ? field_match(e, t, t->field) : bare_match(e, t);
}

static bool eval_node(struct eval *e, const struct node *n)
{
    size_t i;

    switch (n->kind) {
    case N_TERM:
        return term_match(e, &n->term);
    case N_NOT:
        return !eval_node(e, n->kids[0]);
    case N_AND:
        for (i = 0; i < n->nkids && !e->gave_up; i++)
            if (!eval_node(e, n->kids[i]))
                return false;
        return !e->gave_up;
    case N_OR:
        for (i = 0; i < n->nkids && !e->gave_up; i++)
            if (eval_node(e, n->kids[i]))
                return true;
        return false;
    }
    return false;
}

bool qt_filter_match(struct qt_filter *f, const struct qt_store *s, const struct qt_msg *m,
                     int64_t now)
{
    struct eval e = {.f = f, .s = s, .m = m, .now = now};
    bool hit;

    if (!f->root)
        return true;
    hit = eval_node(&e, f->root);
    /* A regex that gave up decided nothing: even under a "not", a message it
     * could not judge is not shown (and so not acted on in bulk). */
    return hit && !e.gave_up;
}

const char *qt_filter_runtime_error(const struct qt_filter *f)
{
    return f->gave_up ? f->runtime_error : NULL;
}

void qt_filter_clear_runtime_error(struct qt_filter *f)
{
    f->gave_up = 0;
    f->gave_up_text[0] = 0;
    f->runtime_error[0] = 0;
}

void qt_filter_quote(const char *value, size_t len, struct qt_buf *out)
{
    size_t i;

    qt_buf_putc(out, '"');
    for (i = 0; i < len; i++) {
        if (value[i] == '"' || value[i] == '\\')
            qt_buf_putc(out, '\\');
        qt_buf_putc(out, value[i]);
    }
    qt_buf_putc(out, '"');
}
