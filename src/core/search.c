#include "qtriage/search.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qtriage/util.h"

/* As the filter: enough for any sane pattern on a line, tiny for a
 * catastrophic one. */
#define MATCH_LIMIT 100000
#define DEPTH_LIMIT 10000
#define HEAP_LIMIT_KIB 8192

struct qt_search {
    char *pattern;
    pcre2_code *re;
    pcre2_match_data *md;
    pcre2_match_context *mc;
    char error[200];
};

/* Smart case: does the pattern hold an upper-case letter, in any script
 * ("Été", "ПРИВЕТ")?  Escapes (\W, \S, \D) are not letters to match.
 * pcre2's Unicode properties decide, so the answer does not depend on the
 * locale. */
static bool has_upper(const char *p)
{
    static const char prop[] = "[\\p{Lu}\\p{Lt}]";
    struct qt_buf plain = {0};
    pcre2_code *re;
    pcre2_match_data *md;
    int code, rc = -1;
    PCRE2_SIZE off;

    for (; *p; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            continue;
        }
        qt_buf_putc(&plain, *p);
    }
    re = pcre2_compile((PCRE2_SPTR)prop, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF,
                       &code, &off, NULL);
    if (re && plain.len) {
        md = pcre2_match_data_create(1, NULL);
        rc = pcre2_match(re, (PCRE2_SPTR)plain.data, plain.len, 0, 0, md, NULL);
        pcre2_match_data_free(md);
    }
    pcre2_code_free(re);
    qt_buf_free(&plain);
    return rc >= 0;
}

struct qt_search *qt_search_compile(const char *pattern, char *err, size_t err_size,
                                    size_t *err_pos)
{
    struct qt_search *s;
    uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
    int code;
    PCRE2_SIZE off;
    pcre2_code *re;

    if (!has_upper(pattern))
        opts |= PCRE2_CASELESS;
    re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, opts, &code, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[120];

        pcre2_get_error_message(code, msg, sizeof(msg));
        snprintf(err, err_size, "regex: %s at offset %zu", (char *)msg, (size_t)off);
        if (err_pos)
            *err_pos = off;
        return NULL;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);   /* no JIT: interpreted, same limits */
    s = xcalloc(1, sizeof(*s));
    s->pattern = xstrdup(pattern);
    s->re = re;
    s->md = pcre2_match_data_create_from_pattern(re, NULL);
    s->mc = pcre2_match_context_create(NULL);
    if (!s->md || !s->mc) {
        qt_search_free(s);
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    pcre2_set_match_limit(s->mc, MATCH_LIMIT);
    pcre2_set_depth_limit(s->mc, DEPTH_LIMIT);
    pcre2_set_heap_limit(s->mc, HEAP_LIMIT_KIB);
    return s;
}

int qt_search_match(struct qt_search *s, const char *text, size_t len, size_t *start,
                    size_t *end)
{
    int rc = pcre2_match(s->re, (PCRE2_SPTR)text, len, 0, 0, s->md, s->mc);

    if (rc >= 0) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);

        *start = ov[0];
        *end = ov[1] > ov[0] ? ov[1] : ov[0];
        return 1;
    }
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    if (!s->error[0]) {
        PCRE2_UCHAR msg[120];

        pcre2_get_error_message(rc, msg, sizeof(msg));
        snprintf(s->error, sizeof(s->error), "/%.40s/ gave up: %s", s->pattern, (char *)msg);
    }
    return -1;
}

const char *qt_search_pattern(const struct qt_search *s)
{
    return s->pattern;
}

const char *qt_search_error(const struct qt_search *s)
{
    return s->error[0] ? s->error : NULL;
}

void qt_search_free(struct qt_search *s)
{
    if (!s)
        return;
    pcre2_match_data_free(s->md);
    pcre2_match_context_free(s->mc);
    pcre2_code_free(s->re);
    free(s->pattern);
    free(s);
}
