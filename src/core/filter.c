/* The filter bar's query language (grammar in filter.h): a recursive-descent
 * compiler into a tree of AND/OR/NOT nodes over terms, and an evaluator that
 * walks the tree without allocating.  Needles are lowercased and regexes
 * compiled (and JIT-compiled) once, here, so that per message only the
 * comparisons remain. */
#include "qtriage/filter.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "qtriage/fields.h"
#include "qtriage/header_cache.h"
#include "qtriage/reason.h"
#include "qtriage/regex_literals.h"
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
    OP_TIME_IN,                 /* arrival=2026-12-01: [number, upto) */
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

/* What a text term makes of each string of a store's pool, set up by
 * qt_filter_prepare(): a bit per string (at ref / 4: records are 5 bytes
 * or more) in `yes`, and for a regex a bit in `known` once the string was
 * tried.  A ":" or "=" term's bits are all found in one pass over the
 * pool's bytes, 16 at a time; a regex's are filled in as messages are
 * matched.  At a million messages the hash cache above cost a probe and a
 * cache miss per field per message (and its growth page faults), and the
 * bare word's unique IDs and subjects never hit it; here a message's test
 * is a bit.  Strings added since (from `upto` on) go the cache's way
 * until the next prepare.  Shared by a filter and its clone (refs), which
 * match on two threads at once: a regex's bits are set atomically, `yes`
 * before `known`. */
struct pool_marks {
    unsigned refs;
    uint64_t pool_serial;
    size_t upto;                /* strings whose record starts below are covered */
    /* `yes` words, or for a regex `yes` and `known` words in turns (one
     * cache line holds both bits of a string): stride 1 or 2. */
    uint64_t *words;
    size_t nwords;              /* of each kind */
    size_t cap;                 /* words allocated */
    unsigned stride;
    /* A regex with literals (see regex_literals.h): the strings holding
     * none of them are known not to match from the start. */
    bool prefiltered;
};

enum { MARKS_WHOLE, MARKS_DOMAIN, MARKS_MODES };

struct term {
    const struct qt_field *field;   /* NULL: a bare word or regex (QT_FIELD_BARE fields) */
    enum op op;
    char *text;                 /* lowercased needle; for a regex "/src/flags" */
    size_t len;
    pcre2_code *re;
    int64_t number, upto;
    char *header;               /* header.NAME: the NAME; field is NULL then */
    /* Scratch for evaluation (like the match block): results per value of
     * each field the term looks at (a bare word looks at several). */
    struct ref_cache *cache[QT_FIELD_COUNT];
    /* What qt_filter_prepare() found: for the string itself, and for the
     * domain of an address (sender_domain, rcpt_domain). */
    struct pool_marks *marks[MARKS_MODES];
    /* A regex: text its every match contains (n = 0: none known). */
    struct qt_regex_literals lits;
};

/* N_RCPT: rcpt(...), its one kid evaluated for one recipient at a time. */
enum node_kind { N_TERM, N_NOT, N_AND, N_OR, N_RCPT };

struct node {
    enum node_kind kind;
    struct node **kids;         /* N_NOT, N_RCPT: one; N_AND, N_OR: two or more */
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
    /* header.NAME terms read the queue files through this (NULL: they
     * cannot, and no message matches them). */
    struct qt_header_cache *headers;
    bool uses_headers;
    size_t header_failed;       /* messages whose headers could not be read */
    char header_name[48];       /* the first term that could not, and why */
    char header_why[200];
    char header_error[400];
    /* "class" terms: each distinct reason is classified once. */
    struct qt_reason_cache reasons;
    /* A templated reason, built to be matched (see qt_store_reason). */
    struct qt_buf reason_text;
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
    bool in_rcpt;               /* inside rcpt(...): recipient fields only */
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

/* The words of the largest marks freed, for the next filter's (see
 * grow_bits).  Filters are freed on whichever thread used them. */
static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t *spare_words;
static size_t spare_cap;

static void spare_put(uint64_t *words, size_t cap)
{
    pthread_mutex_lock(&spare_lock);
    if (cap > spare_cap) {
        uint64_t *old = spare_words;

        spare_words = words;
        spare_cap = cap;
        words = old;
    }
    pthread_mutex_unlock(&spare_lock);
    free(words);
}

/* The spare words when there are `want` of them or more, with *cap set;
 * else NULL. */
static uint64_t *spare_take(size_t want, size_t *cap)
{
    uint64_t *words = NULL;

    pthread_mutex_lock(&spare_lock);
    if (spare_words && spare_cap >= want) {
        words = spare_words;
        *cap = spare_cap;
        spare_words = NULL;
        spare_cap = 0;
    }
    pthread_mutex_unlock(&spare_lock);
    return words;
}

static void marks_release(struct pool_marks *pm)
{
    if (pm && --pm->refs == 0) {
        spare_put(pm->words, pm->cap);
        free(pm);
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
    free(n->term.header);
    pcre2_code_free(n->term.re);
    for (i = 0; i < QT_FIELD_COUNT; i++) {
        if (n->term.cache[i])
            free(n->term.cache[i]->slots);
        free(n->term.cache[i]);
    }
    for (i = 0; i < MARKS_MODES; i++)
        marks_release(n->term.marks[i]);
    qt_regex_literals_free(&n->term.lits);
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

/* Whether evaluating n may read a queue file (header.NAME). */
static bool node_reads_files(const struct node *n)
{
    size_t i;

    if (n->kind == N_TERM)
        return n->term.header != NULL;
    for (i = 0; i < n->nkids; i++)
        if (node_reads_files(n->kids[i]))
            return true;
    return false;
}

/* An AND or OR of one is that one.  Otherwise the terms that read queue
 * files go last, so the store's fields decide first and a file is read
 * only when they leave the answer open. */
static struct node *node_collapse(struct node *n)
{
    struct node *kid;
    size_t i, cheap = 0;

    if (n->nkids > 1) {
        struct node **order = xmalloc(n->nkids * sizeof(*order));

        for (i = 0; i < n->nkids; i++)
            if (!node_reads_files(n->kids[i]))
                order[cheap++] = n->kids[i];
        for (i = 0; i < n->nkids; i++)
            if (node_reads_files(n->kids[i]))
                order[cheap++] = n->kids[i];
        memcpy(n->kids, order, n->nkids * sizeof(*order));
        free(order);
    }
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
    qt_regex_literals(p->q + open + 1, body_len, (options & PCRE2_CASELESS) != 0,
                      (options & PCRE2_EXTENDED) != 0, &t->lits);
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

/* `digits` digits at p->pos for a part of a time, between lo and hi. */
static bool time_part(struct parser *p, int digits, int lo, int hi, const char *what, int *out)
{
    size_t start = p->pos;
    int k, v = 0;

    for (k = 0; k < digits; k++) {
        char c = p->q[start + (size_t)k];

        if (c < '0' || c > '9') {
            fail(p, start, "bad %s: %d digits, as in 2026-12-01T10:00:30", what,
                 digits);
            return false;
        }
        v = v * 10 + (c - '0');
    }
    if (v < lo || v > hi) {
        fail(p, start, "bad %s %0*d: it goes from %0*d to %0*d", what, digits, v, digits, lo,
             digits, hi);
        return false;
    }
    p->pos = start + (size_t)digits;
    *out = v;
    return true;
}

/* The character `c` at p->pos, which separates two parts of a time. */
static bool time_sep(struct parser *p, char c, const char *after)
{
    if (p->q[p->pos] != c) {
        fail(p, p->pos, "expected '%c' after the %s: write YYYY-MM-DD[THH:MM[:SS]]", c, after);
        return false;
    }
    p->pos++;
    return true;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return month == 2 && leap ? 29 : days[month - 1];
}

/* A local time, as the admin reads the clock on the server: YYYY-MM-DD,
 * then optionally THH:MM and :SS.  t->number is its first second, t->upto
 * the end of the day, minute or second written (what "=" matches). */
static bool parse_time(struct parser *p, const struct qt_field *def, const char *opname,
                       struct term *t)
{
    size_t start = p->pos, i;
    int year, month, day, hour = 0, min = 0, sec = 0, unit;
    struct tm tm = {0};
    time_t first, end;

    if (ends_word(p->q[start])) {
        fail(p, start, "missing value after '%s%s': a local time, as in %s%s2026-12-01T10:00",
             def->name, opname, def->name, opname);
        return false;
    }
    for (i = start; i < start + 4 && p->q[i] >= '0' && p->q[i] <= '9'; i++)
        ;
    if (i < start + 4 || p->q[i] != '-') {
        fail(p, start, "bad time '%.*s': %s takes a local date and time, as in "
             "%s%s2026-12-01T10:00 (for a time relative to now use age, as in age<2h)",
             quote_len(p->q, start), p->q + start, def->name, def->name, opname);
        return false;
    }
    if (!time_part(p, 4, 1970, 2105, "year", &year) || !time_sep(p, '-', "year") ||
        !time_part(p, 2, 1, 12, "month", &month) || !time_sep(p, '-', "month") ||
        !time_part(p, 2, 1, days_in_month(year, month), "day", &day))
        return false;
    unit = 86400;
    if (p->q[p->pos] == 'T' || p->q[p->pos] == 't') {
        p->pos++;
        if (!time_part(p, 2, 0, 23, "hour", &hour) || !time_sep(p, ':', "hour") ||
            !time_part(p, 2, 0, 59, "minute", &min))
            return false;
        unit = 60;
        if (p->q[p->pos] == ':') {
            p->pos++;
            if (!time_part(p, 2, 0, 59, "second", &sec))
                return false;
            unit = 1;
        }
    }
    /* "2026-12-01 10:00" would be a date and a bare word: surely not meant. */
    if (unit == 86400 && is_blank(p->q[p->pos])) {
        for (i = p->pos; is_blank(p->q[i]); i++)
            ;
        if (p->q[i] >= '0' && p->q[i] <= '9' && p->q[i + 1] >= '0' && p->q[i + 1] <= '9' &&
            p->q[i + 2] == ':') {
            fail(p, p->pos, "join the date and the time with T, as in %.10sT%.5s",
                 p->q + start, p->q + i);
            return false;
        }
    }
    if (!ends_word(p->q[p->pos])) {
        fail(p, p->pos, "unexpected '%.*s' in the time: write YYYY-MM-DD[THH:MM[:SS]], "
             "local time without a zone", quote_len(p->q, p->pos), p->q + p->pos);
        return false;
    }
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    tm.tm_isdst = -1;
    first = mktime(&tm);
    if (unit == 86400) {    /* the next midnight: a day is not always 86400 s */
        memset(&tm, 0, sizeof(tm));
        tm.tm_year = year - 1900;
        tm.tm_mon = month - 1;
        tm.tm_mday = day + 1;
        tm.tm_isdst = -1;
        end = mktime(&tm);
    } else {
        end = first + unit;
    }
    if (first == (time_t)-1 || end == (time_t)-1) {
        fail(p, start, "this time does not exist in the local time zone");
        return false;
    }
    t->number = (int64_t)first;
    t->upto = (int64_t)end;
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

/* The names of the fields a term may name: every filter field, or inside
 * rcpt(...) those of one recipient. */
static void rcpt_field_names(bool in_rcpt, struct qt_buf *out)
{
    size_t i, n = 0;

    if (!in_rcpt) {
        qt_field_names(QT_ROLE_FILTER, out);
        return;
    }
    for (i = 0; i < QT_FIELD_COUNT; i++)
        if (qt_fields[i].flags & QT_FIELD_PER_RCPT)
            qt_buf_printf(out, "%s%s", n++ ? " " : "",
                          i == QT_FIELD_RCPT ? "address (also rcpt)" : qt_fields[i].name);
}

/* FIELD OP VALUE, with p->pos on the field name, which ends at name_end;
 * the comparison is at op_at (after the '!' of a negated one). */
static bool parse_field_term(struct parser *p, struct term *t, size_t name_end, size_t op_at)
{
    size_t start = p->pos, oplen;
    const struct qt_field *def = qt_field_find(p->q + start, name_end - start, QT_ROLE_FILTER);
    char opname[4] = {0}, label[32];
    enum op op;

    if (!def || (p->in_rcpt && !(def->flags & QT_FIELD_PER_RCPT))) {
        struct qt_buf names = {0};

        rcpt_field_names(p->in_rcpt, &names);
        if (def)
            fail(p, start, "%s is not a recipient's field: inside rcpt(...) use %s",
                 def->name, names.data);
        else
            fail(p, start, "unknown field '%.*s' (fields: %s%s)", (int)(name_end - start) > 40
                 ? 40 : (int)(name_end - start), p->q + start, names.data,
                 p->in_rcpt ? "" : " header.NAME rcpt(...)");
        qt_buf_free(&names);
        return false;
    }
    if (!parse_op(p->q + op_at, &op, &oplen)) {
        /* The caller found an operator at op_at; this is a second guard. */
        fail(p, op_at, "expected :, =, ~, <, <=, > or >= after %s", def->name);
        return false;
    }
    memcpy(opname, p->q + name_end, op_at - name_end + oplen);
    p->pos = op_at + oplen;
    t->field = def;
    if (def->type != QT_TYPE_TEXT) {
        if (op == OP_CONTAINS || op == OP_REGEX) {
            fail(p, name_end, "%s is a %s: compare it with <, <=, >, >= or =", def->name,
                 def->type == QT_TYPE_TIME ? "time" : "number");
            return false;
        }
        if (def->source == QT_SRC_AGE)
            p->f->uses_time = true;
        if (def->type == QT_TYPE_TIME) {
            t->op = op == OP_EQUALS ? OP_TIME_IN : op;
            return parse_time(p, def, opname, t);
        }
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
    /* The null sender is "" in the queue file and <> in SMTP; the store
     * keeps "MAILER-DAEMON" as postqueue shows it, so both go by its flag. */
    if ((def->flags & QT_FIELD_NULL_SENDER) &&
        (strcmp(t->text, "<>") == 0 || (op == OP_EQUALS && t->len == 0)))
        t->op = OP_NULL_SENDER;
    return true;
}

/* The characters of a header's name as the filter takes it: those of real
 * header names, none of the filter's operators. */
static bool is_header_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.';
}

/* header.NAME OP VALUE, with p->pos on "header."; *negated for !: != !~. */
static bool parse_header_term(struct parser *p, struct term *t, bool *negated)
{
    size_t start = p->pos, name_at = start + 7, name_end = name_at, op_at, oplen;
    char opname[3] = {0}, label[QT_HEADER_NAME_MAX + 16];
    enum op op;

    if (p->in_rcpt) {
        fail(p, start, "header.NAME is not a recipient's field: put it outside rcpt(...)");
        return false;
    }
    while (is_header_name_char(p->q[name_end]))
        name_end++;
    if (name_end == name_at) {
        fail(p, name_at, "missing header name after 'header.': write header.NAME:VALUE, "
             "as in header.X-Mailer~/PHPMailer/");
        return false;
    }
    if (name_end - name_at > QT_HEADER_NAME_MAX) {
        fail(p, name_at, "header name longer than %d characters", QT_HEADER_NAME_MAX);
        return false;
    }
    op_at = name_end;
    if (p->q[op_at] == '!' && p->q[op_at + 1] && strchr(":=~", p->q[op_at + 1])) {
        *negated = true;
        op_at++;
    }
    if (!parse_op(p->q + op_at, &op, &oplen) ||
        (op != OP_CONTAINS && op != OP_EQUALS && op != OP_REGEX)) {
        fail(p, name_end, "a header is text: write header.%.*s:VALUE, =VALUE or ~/REGEX/",
             (int)(name_end - name_at), p->q + name_at);
        return false;
    }
    memcpy(opname, p->q + name_end, op_at - name_end + oplen);
    t->field = NULL;
    t->header = xstrndup(p->q + name_at, name_end - name_at);
    p->f->uses_headers = true;
    p->pos = op_at + oplen;
    if (op == OP_REGEX) {
        snprintf(label, sizeof(label), "header.%s%s", t->header, opname);
        return parse_regex(p, t, label);
    }
    t->op = op;
    snprintf(label, sizeof(label), "header.%s", t->header);
    return (t->text = parse_value(p, label, opname, &t->len)) != NULL;
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

    if (strncasecmp(p->q + p->pos, "header.", 7) == 0) {
        if (!parse_header_term(p, t, &negated)) {
            node_free(n);
            return NULL;
        }
        if (t->text)
            lowercase(t->text, t->len);
        return negated ? node_not(n) : n;
    }
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
    /* Inside rcpt(...) a bare word or regex is the recipient's address. */
    if (ok && !t->field && p->in_rcpt)
        t->field = &qt_fields[QT_FIELD_RCPT];
    if (!ok) {
        node_free(n);
        return NULL;
    }
    return negated ? node_not(n) : n;
}

static struct node *parse_or(struct parser *p);

/* Whether p->pos is on rcpt( (or recipient(, to(, address(): a group. */
static bool rcpt_group_at(const struct parser *p)
{
    size_t end = p->pos;

    while (is_ident(p->q[end], end == p->pos))
        end++;
    return end > p->pos && p->q[end] == '(' &&
           qt_field_find(p->q + p->pos, end - p->pos, QT_ROLE_FILTER) ==
               &qt_fields[QT_FIELD_RCPT];
}

/* rcpt( EXPR ): a message matches when one of its recipients satisfies
 * all of EXPR, each recipient's field read from that recipient alone. */
static struct node *parse_rcpt_group(struct parser *p)
{
    size_t start = p->pos, open, len;
    struct node *n, *kid;

    while (p->q[p->pos] != '(')
        p->pos++;
    open = p->pos++;
    if (p->in_rcpt) {
        fail(p, start, "rcpt(...) inside rcpt(...): one group already means one recipient");
        return NULL;
    }
    if (peek(p, &len) == T_RPAREN) {
        fail(p, open, "empty rcpt(): put what one recipient must satisfy inside, as in "
             "rcpt(domain=example.com and class=mailbox-full)");
        return NULL;
    }
    p->in_rcpt = true;
    kid = parse_or(p);
    p->in_rcpt = false;
    if (kid && peek(p, &len) != T_RPAREN) {
        fail(p, open, "unbalanced parenthesis: this '(' is never closed");
        node_free(kid);
        return NULL;
    }
    if (!kid)
        return NULL;
    p->pos++;
    n = node_new(N_RCPT);
    n->kids = xmalloc(sizeof(*n->kids));
    n->kids[0] = kid;
    n->nkids = 1;
    return n;
}

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
        n = rcpt_group_at(p) ? parse_rcpt_group(p) : parse_term(p);
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
    qt_buf_free(&f->reason_text);
    free(f->query);
    free(f);
}

static void format_runtime_error(struct qt_filter *f);
static void format_header_error(struct qt_filter *f);

struct qt_filter *qt_filter_clone(const struct qt_filter *f)
{
    struct qt_filter *c = qt_filter_compile(f->query, NULL);

    if (!c)
        qt_die("a compiled query failed to compile again: %s", f->query);
    c->headers = f->headers;    /* the header cache has a lock of its own */
    return c;
}

uint64_t qt_filter_serial(const struct qt_filter *f)
{
    return f->serial;
}

void qt_filter_absorb_runtime_error(struct qt_filter *f, struct qt_filter *other)
{
    if (other->header_failed) {
        if (!f->header_failed) {
            memcpy(f->header_name, other->header_name, sizeof(f->header_name));
            memcpy(f->header_why, other->header_why, sizeof(f->header_why));
        }
        f->header_failed += other->header_failed;
        format_header_error(f);
        other->header_failed = 0;
    }
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
    /* Inside rcpt(...): the recipient whose fields the terms read; else
     * UINT32_MAX, and a recipient's field matches when any does. */
    uint32_t rcpt;
    /* Set when a regex gave up or a message's headers could not be read:
     * the message is undecided, and does not match. */
    bool gave_up;
};

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

        if ((c == first || c == other) &&
            qt_ascii_equal_lower(hay + i + 1, needle + 1, nlen - 1))
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

static bool is_domain_field(const struct qt_field *fd)
{
    return fd->source == QT_SRC_SENDER_DOMAIN || fd->source == QT_SRC_RCPT_DOMAIN;
}

/* ":" and "=": the needle in the text, or the whole text. */
static bool plain_match(const struct term *t, const char *str, size_t len)
{
    if (t->op == OP_CONTAINS)
        return contains_folded(str, len, t->text, t->len);
    return len == t->len && qt_ascii_equal_lower(str, t->text, len);
}

static bool text_match(struct eval *e, const struct term *t, const char *str, size_t len)
{
    if (!str)
        str = "";               /* absent is empty */
    switch (t->op) {
    case OP_CONTAINS:
    case OP_EQUALS:
        return plain_match(t, str, len);
    case OP_REGEX:
        return regex_match(e, t, str, len);
    default:
        return false;
    }
}

/* text_match on the value `ref` of field `fd` (for the domain fields: the
 * domain of the address `ref`). */
static bool ref_match(struct eval *e, const struct term *t, const struct qt_field *fd,
                      qt_str ref)
{
    const char *str = qt_store_str(e->s, ref);
    size_t len = qt_strpool_len(&e->s->pool, ref);

    if (is_domain_field(fd))
        str = qt_address_domain(str, len, &len);
    return text_match(e, t, str, len);
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

static int field_marks_mode(const struct qt_field *fd)
{
    return is_domain_field(fd) ? MARKS_DOMAIN : MARKS_WHOLE;
}

/* The pool marks a term can use (a bit per mode): the text terms on the
 * fields whose values are pool strings compared through cached_match. */
static unsigned term_marks_modes(const struct qt_filter *f, const struct term *t)
{
    unsigned modes = 0;
    size_t i;

    if (t->header || (t->op != OP_CONTAINS && t->op != OP_EQUALS && t->op != OP_REGEX))
        return 0;
    for (i = 0; i < (t->field ? 1 : f->nbare); i++) {
        const struct qt_field *fd = t->field ? t->field : f->bare[i];

        switch (fd->source) {
        case QT_SRC_STR:
        case QT_SRC_SENDER_DOMAIN:
        case QT_SRC_RCPT_ADDRESS:
        case QT_SRC_RCPT_REASON:
        case QT_SRC_RCPT_STATUS:
        case QT_SRC_RCPT_ORIG:
        case QT_SRC_RCPT_DOMAIN:
            modes |= 1u << field_marks_mode(fd);
            break;
        default:
            break;
        }
    }
    return modes;
}

struct marking {
    struct pool_marks *pm;
    const struct term *t;
    const struct qt_strpool *pool;
    bool domain;
};

static uint64_t mark_bit(qt_str ref)
{
    return (uint64_t)1 << (ref >> 2 & 63);
}

static void mark_ref(struct pool_marks *pm, qt_str ref)
{
    pm->words[ref >> 8] |= mark_bit(ref);      /* ":" and "=": stride 1 */
}

/* A string holding the needle somewhere: for a domain, it must be there. */
static void mark_found(void *ctx, qt_str ref)
{
    struct marking *k = ctx;
    size_t len;
    const char *str;

    if (k->domain) {
        str = qt_address_domain(qt_strpool_get(k->pool, ref), qt_strpool_len(k->pool, ref), &len);
        if (!plain_match(k->t, str, len))
            return;
    }
    mark_ref(k->pm, ref);
}

static void mark_each(void *ctx, qt_str ref, const char *str, size_t len)
{
    struct marking *k = ctx;

    if (k->domain)
        str = qt_address_domain(str, len, &len);
    if (plain_match(k->t, str, len))
        mark_ref(k->pm, ref);
}

/* Room for `need` words of each kind, the new ones zero.  Written now:
 * pages first read as the kernel's zero page and written later cost a
 * second fault each, and a flush of both cores' TLBs while the two threads
 * match.  A new filter's marks take the words the last one freed, whose
 * pages are in place: large blocks are fresh mappings (see
 * qt_store_tune_allocator), and faulting in 4.5 MB of them (a ":" term at
 * a million messages) cost this VM 20-40 ms on every query typed. */
static void grow_bits(struct pool_marks *pm, size_t need)
{
    size_t had = pm->nwords * pm->stride, want = need * pm->stride;

    if (want > pm->cap) {
        if (!pm->words)
            pm->words = spare_take(want, &pm->cap);
        if (want > pm->cap) {
            pm->words = xrealloc(pm->words, want * sizeof(*pm->words));
            pm->cap = want;
        }
    }
    memset(pm->words + had, 0, (want - had) * sizeof(*pm->words));
    pm->nwords = need;
}

static void unknown_found(void *ctx, qt_str ref)
{
    struct pool_marks *pm = ctx;

    pm->words[(ref >> 8) * 2 + 1] &= ~mark_bit(ref);
}

struct weak_ctx {
    struct pool_marks *pm;
    const struct qt_strpool *pool;
};

/* A string holding a weak literal: a candidate if it is not ASCII. */
static void unknown_if_non_ascii(void *ctx, qt_str ref)
{
    struct weak_ctx *w = ctx;
    const unsigned char *p = (const unsigned char *)qt_strpool_get(w->pool, ref);
    size_t i, len = qt_strpool_len(w->pool, ref);

    for (i = 0; i < len; i++)
        if (p[i] >= 0x80) {
            unknown_found(w->pm, ref);
            return;
        }
}

/* A regex with literals, on the strings from pm->upto on: all are known
 * not to match but those holding a literal, which are tried as messages
 * meet them. */
static void regex_candidates(struct pool_marks *pm, const struct term *t,
                             const struct qt_strpool *pool)
{
    size_t w, first = pm->upto >> 8, last = pool->len >> 8, i;

    pm->prefiltered = true;
    for (w = first; w <= last; w++)
        pm->words[w * 2 + 1] |= w == first ? ~(uint64_t)0 << (pm->upto >> 2 & 63) : ~(uint64_t)0;
    for (i = 0; i < t->lits.n; i++)
        qt_strpool_find_folded(pool, pm->upto, t->lits.text[i], t->lits.len[i], unknown_found,
                               pm);
    if (t->lits.non_ascii && !t->lits.nweak)
        qt_strpool_find_non_ascii(pool, pm->upto, unknown_found, pm);
    for (i = 0; t->lits.non_ascii && i < t->lits.nweak; i++) {
        struct weak_ctx wc = {pm, pool};

        qt_strpool_find_folded(pool, pm->upto, t->lits.weak[i], t->lits.weak_len[i],
                               unknown_if_non_ascii, &wc);
    }
}

/* Cover the strings added to the pool since the last time (all of them
 * for a pool not seen before): found at once for ":" and "=", left to be
 * tried for a regex. */
static void marks_extend(struct pool_marks *pm, const struct term *t, bool domain,
                         const struct qt_strpool *pool)
{
    struct marking k = {pm, t, pool, domain};
    size_t need = (pool->len >> 8) + 1;

    if (pm->pool_serial != pool->serial) {
        pm->pool_serial = pool->serial;
        pm->upto = QT_STRPOOL_START;
        spare_put(pm->words, pm->cap);
        pm->words = NULL;
        pm->nwords = pm->cap = 0;
    }
    pm->stride = t->op == OP_REGEX ? 2 : 1;
    if (need > pm->nwords) {
        need += need / 8;
        grow_bits(pm, need);
    }
    if (t->op == OP_REGEX) {
        if (t->lits.n)
            regex_candidates(pm, t, pool);
        pm->upto = pool->len;
    } else if (t->op == OP_CONTAINS && t->len > 0)
        pm->upto = qt_strpool_find_folded(pool, pm->upto, t->text, t->len, mark_found, &k);
    else
        pm->upto = qt_strpool_each(pool, pm->upto, mark_each, &k);
}

/* cached_match for a string the marks cover. */
static bool marked_match(struct eval *e, const struct term *t, const struct qt_field *fd,
                         struct pool_marks *pm, qt_str ref)
{
    uint64_t *yes = &pm->words[(ref >> 8) * pm->stride], *known = yes + 1;
    uint64_t bit = mark_bit(ref);
    bool hit;

    if (pm->stride == 1)
        return *yes & bit;
    if (__atomic_load_n(known, __ATOMIC_ACQUIRE) & bit)
        return __atomic_load_n(yes, __ATOMIC_RELAXED) & bit;
    hit = ref_match(e, t, fd, ref);
    /* A regex that gave up decided nothing: it is asked again (and
     * counted) on each message that holds the value. */
    if (!e->gave_up) {
        if (hit)
            __atomic_fetch_or(yes, bit, __ATOMIC_RELAXED);
        __atomic_fetch_or(known, bit, __ATOMIC_RELEASE);
    }
    return hit;
}

static void prepare_node(struct qt_filter *f, struct node *n, struct node *copy,
                         const struct qt_store *s)
{
    unsigned modes;
    size_t i;

    for (i = 0; i < n->nkids; i++)
        prepare_node(f, n->kids[i], copy ? copy->kids[i] : NULL, s);
    if (n->kind != N_TERM || !(modes = term_marks_modes(f, &n->term)))
        return;
    for (i = 0; i < MARKS_MODES; i++) {
        struct pool_marks **pm = &n->term.marks[i];

        if (!(modes & 1u << i))
            continue;
        if (!*pm) {
            *pm = xcalloc(1, sizeof(**pm));
            (*pm)->refs = 1;
        }
        marks_extend(*pm, &n->term, i == MARKS_DOMAIN, &s->pool);
        if (copy && copy->term.marks[i] != *pm) {
            marks_release(copy->term.marks[i]);
            copy->term.marks[i] = *pm;
            (*pm)->refs++;
        }
    }
}

void qt_filter_prepare(struct qt_filter *f, const struct qt_store *s, struct qt_filter *copy)
{
    if (f->root)
        prepare_node(f, f->root, copy && copy->root ? copy->root : NULL, s);
}

/* Whether the value `ref` of field `fd` matches t (for the domain fields:
 * the domain of the address `ref`), from the cache when the value was met
 * before. */
static bool cached_match(struct eval *e, const struct term *t, const struct qt_field *fd,
                         qt_str ref)
{
    const struct qt_store *s = e->s;
    struct pool_marks *pm = t->marks[field_marks_mode(fd)];
    struct ref_cache *c;
    bool hit;

    /* A queue ID is each message's own (never interned, see store.c):
     * there is nothing a regex could remember about it. */
    if (pm && ref && ref < pm->upto && pm->pool_serial == s->pool.serial &&
        (pm->stride == 1 || pm->prefiltered || fd != &qt_fields[QT_FIELD_ID]))
        return marked_match(e, t, fd, pm, ref);
    if (fd == &qt_fields[QT_FIELD_ID])
        return ref_match(e, t, fd, ref);
    c = ref ? term_cache(t, s, fd) : NULL;
    if (c) {
        int got = cache_get(c, ref);

        c->lookups++;
        if (got != CACHE_EMPTY) {
            c->hits++;
            return got == CACHE_YES;
        }
    }
    hit = ref_match(e, t, fd, ref);
    /* A regex that gave up decided nothing: it is asked again (and
     * counted) on each message that holds the value. */
    if (c && !e->gave_up)
        cache_put(c, ref, hit ? CACHE_YES : CACHE_NO);
    return hit;
}

/* The recipients a recipient's field looks at: the group's one, or all. */
static void rcpt_range(const struct eval *e, uint32_t *first, uint32_t *end)
{
    if (e->rcpt != UINT32_MAX) {
        *first = e->rcpt;
        *end = e->rcpt + 1;
    } else {
        *first = 0;
        *end = e->m->nrcpts;
    }
}

/* Any pending recipient's domain matches (in a group: the recipient's,
 * whatever its state; state=pending says more when that matters). */
static bool rcpt_domains_match(struct eval *e, const struct term *t, const struct qt_field *fd)
{
    uint32_t i, end;

    for (rcpt_range(e, &i, &end); i < end && !e->gave_up; i++) {
        const struct qt_rcpt *r = &qt_store_rcpts(e->s, e->m)[i];

        if (r->state != QT_RCPT_PENDING && e->rcpt == UINT32_MAX)
            continue;
        if (cached_match(e, t, fd, r->address))
            return true;
    }
    return false;
}

/* Any recipient's delay reason is of a matching class. */
static bool classes_match(struct eval *e, const struct term *t)
{
    uint32_t i, end;

    for (rcpt_range(e, &i, &end); i < end && !e->gave_up; i++) {
        int cls = qt_reason_cache_class(&e->f->reasons, e->s, qt_store_rcpts(e->s, e->m)[i].reason);
        const char *name;

        if (cls < 0)
            continue;
        name = qt_reason_class_name((size_t)cls);
        if (text_match(e, t, name, strlen(name)))
            return true;
    }
    return false;
}

static const char *rcpt_state_name(uint8_t state)
{
    switch (state) {
    case QT_RCPT_PENDING:
        return "pending";
    case QT_RCPT_DONE:
        return "done";
    default:
        return "canceled";
    }
}

/* Any recipient's string of field `fd` (address, reason, status, original
 * address, state) matches. */
static bool rcpts_match(struct eval *e, const struct term *t, const struct qt_field *fd)
{
    uint32_t i, end;

    for (rcpt_range(e, &i, &end); i < end && !e->gave_up; i++) {
        const struct qt_rcpt *r = &qt_store_rcpts(e->s, e->m)[i];
        const char *state;
        bool hit;

        switch (fd->source) {
        case QT_SRC_RCPT_REASON:
            if (r->reason_tokens) {
                /* Its text is its own: nothing to remember it by. */
                size_t len;
                const char *text = qt_store_reason(e->s, r, &e->f->reason_text, &len);

                hit = text_match(e, t, text, len);
            } else {
                hit = cached_match(e, t, fd, r->reason);
            }
            break;
        case QT_SRC_RCPT_STATUS:
            hit = cached_match(e, t, fd, r->status);
            break;
        case QT_SRC_RCPT_ORIG:
            hit = cached_match(e, t, fd, r->orig);
            break;
        case QT_SRC_RCPT_STATE:
            state = rcpt_state_name(r->state);
            hit = text_match(e, t, state, strlen(state));
            break;
        default:
            hit = cached_match(e, t, fd, r->address);
            break;
        }
        if (hit)
            return true;
    }
    return false;
}

static bool compare(int64_t v, const struct term *t)
{
    switch (t->op) {
    case OP_TIME_IN:
        return v >= t->number && v < t->upto;
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
    case QT_SRC_RCPT_REASON:
    case QT_SRC_RCPT_STATUS:
    case QT_SRC_RCPT_STATE:
    case QT_SRC_RCPT_ORIG:
        return rcpts_match(e, t, fd);
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

/* A header that decided nothing (unreadable file, no way to read one). */
static void format_header_error(struct qt_filter *f)
{
    snprintf(f->header_error, sizeof(f->header_error),
             "header.%s: the headers of %zu message%s could not be read (%s); "
             "they do not match", f->header_name, f->header_failed,
             f->header_failed == 1 ? "" : "s", f->header_why);
}

static void header_failure(struct eval *e, const struct term *t, const char *why)
{
    struct qt_filter *f = e->f;

    e->gave_up = true;
    if (f->header_failed++ == 0) {
        snprintf(f->header_name, sizeof(f->header_name), "%.40s", t->header);
        snprintf(f->header_why, sizeof(f->header_why), "%s", why);
    }
    format_header_error(f);
}

struct header_test {
    struct eval *e;
    const struct term *t;
};

static bool header_value_test(void *ctx, const char *value, size_t len)
{
    struct header_test *h = ctx;

    return text_match(h->e, h->t, value, len) || h->e->gave_up;
}

static bool header_match(struct eval *e, const struct term *t)
{
    struct header_test h = {e, t};

    if (!e->f->headers) {
        header_failure(e, t, "this run cannot read queue files: headers need the spool, "
                       "as root or the mail owner");
        return false;
    }
    switch (qt_header_cache_any(e->f->headers, e->s, e->m, t->header, header_value_test, &h)) {
    case QT_HEADER_YES:
        return !e->gave_up;
    case QT_HEADER_NO:
        return false;
    case QT_HEADER_GONE:
        /* Gone since the scan: not there to act on, even under "not". */
        e->gave_up = true;
        return false;
    case QT_HEADER_UNREADABLE:
        header_failure(e, t, qt_header_cache_last_error(e->f->headers));
        return false;
    }
    return false;
}

static bool term_match(struct eval *e, const struct term *t)
{
    if (t->header)
        return header_match(e, t);
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
    case N_RCPT:
        for (e->rcpt = 0; e->rcpt < e->m->nrcpts && !e->gave_up; e->rcpt++)
            if (eval_node(e, n->kids[0])) {
                e->rcpt = UINT32_MAX;
                return !e->gave_up;
            }
        e->rcpt = UINT32_MAX;
        return false;
    }
    return false;
}

bool qt_filter_match(struct qt_filter *f, const struct qt_store *s, const struct qt_msg *m,
                     int64_t now)
{
    struct eval e = {.f = f, .s = s, .m = m, .now = now, .rcpt = UINT32_MAX};
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
    if (f->gave_up)
        return f->runtime_error;
    return f->header_failed ? f->header_error : NULL;
}

void qt_filter_clear_runtime_error(struct qt_filter *f)
{
    f->gave_up = 0;
    f->gave_up_text[0] = 0;
    f->runtime_error[0] = 0;
    f->header_failed = 0;
    f->header_name[0] = 0;
    f->header_why[0] = 0;
    f->header_error[0] = 0;
}

bool qt_filter_uses_headers(const struct qt_filter *f)
{
    return f->uses_headers;
}

void qt_filter_set_headers(struct qt_filter *f, struct qt_header_cache *c)
{
    f->headers = c;
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
