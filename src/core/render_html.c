/* HTML reduced to readable text for the decoded view.
 *
 * Not a browser: the aim is to read what a spam or phishing mail says
 * (and where its links go) without rendering it.  Tags vanish, block tags
 * break lines, script and style content and comments are dropped, runs of
 * blanks collapse as a browser collapses them (except in <pre>), and the
 * common character entities are decoded.  Link targets are kept in angle
 * brackets after the link text, because that is what a triager needs. */
#include <ctype.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "render_internal.h"

struct html_out {
    struct qt_buf *out;
    bool pending_space;         /* a collapsed blank waits for the next word */
    bool at_line_start;
    unsigned blank_lines;       /* consecutive line breaks already written */
};

static void out_break(struct html_out *h)
{
    h->pending_space = false;
    if (h->blank_lines >= 2)
        return;
    qt_buf_putc(h->out, '\n');
    h->blank_lines++;
    h->at_line_start = true;
}

static void out_text(struct html_out *h, const char *s, size_t len)
{
    if (!len)
        return;
    if (h->pending_space && !h->at_line_start)
        qt_buf_putc(h->out, ' ');
    h->pending_space = false;
    qt_buf_append(h->out, s, len);
    h->at_line_start = false;
    h->blank_lines = 0;
}

static void put_utf8(struct html_out *h, unsigned long cp)
{
    char b[4];
    size_t n;

    if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        cp = 0xfffd;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xc0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xe0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (char)(0xf0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    out_text(h, b, n);
}

static const struct {
    const char *name;
    unsigned long cp;
} entities[] = {
    {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''},
    {"nbsp", 0xa0}, {"copy", 0xa9}, {"reg", 0xae}, {"trade", 0x2122}, {"euro", 0x20ac},
    {"pound", 0xa3}, {"yen", 0xa5}, {"cent", 0xa2}, {"sect", 0xa7}, {"deg", 0xb0},
    {"middot", 0xb7}, {"bull", 0x2022}, {"hellip", 0x2026}, {"ndash", 0x2013},
    {"mdash", 0x2014}, {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"ldquo", 0x201c},
    {"rdquo", 0x201d}, {"laquo", 0xab}, {"raquo", 0xbb}, {"times", 0xd7},
    {"auml", 0xe4}, {"ouml", 0xf6}, {"uuml", 0xfc}, {"Auml", 0xc4}, {"Ouml", 0xd6},
    {"Uuml", 0xdc}, {"szlig", 0xdf}, {"eacute", 0xe9}, {"egrave", 0xe8}, {"ecirc", 0xea},
    {"Eacute", 0xc9}, {"agrave", 0xe0}, {"aacute", 0xe1}, {"acirc", 0xe2}, {"ccedil", 0xe7},
    {"iacute", 0xed}, {"oacute", 0xf3}, {"uacute", 0xfa}, {"ntilde", 0xf1}, {"zwnj", 0x200c},
    {"shy", 0xad},
};

/* Decode the entity at s (just after '&'); returns bytes consumed after
 * the '&', 0 when it is not an entity we know. */
static size_t entity(struct html_out *h, const char *s, size_t len)
{
    size_t i = 0, j;
    unsigned long cp = 0;

    if (len > 1 && s[0] == '#') {
        bool hex = len > 2 && (s[1] == 'x' || s[1] == 'X');
        size_t digits = 0;

        for (i = hex ? 2 : 1; i < len && digits < 8; i++, digits++) {
            int c = (unsigned char)s[i];

            if (hex && isxdigit(c))
                cp = cp * 16 + (unsigned long)(isdigit(c) ? c - '0' : (tolower(c) - 'a' + 10));
            else if (!hex && isdigit(c))
                cp = cp * 10 + (unsigned long)(c - '0');
            else
                break;
        }
        if (!digits)
            return 0;
        if (i < len && s[i] == ';')
            i++;
        /* Zero-width characters hide words from filters: drop them. */
        if (cp != 0x200b && cp != 0x200c && cp != 0x200d && cp != 0xfeff && cp != 0xad)
            put_utf8(h, cp);
        return i;
    }
    for (j = 0; j < QT_ARRAY_LEN(entities); j++) {
        size_t n = strlen(entities[j].name);

        if (n < len && memcmp(s, entities[j].name, n) == 0 && s[n] == ';') {
            if (entities[j].cp == 0xa0)
                out_text(h, " ", 1);
            else if (entities[j].cp != 0x200c && entities[j].cp != 0xad)
                put_utf8(h, entities[j].cp);
            return n + 1;
        }
    }
    return 0;
}

static bool tag_is(const char *name, size_t n, const char *want)
{
    return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

static bool block_tag(const char *name, size_t n)
{
    static const char *const blocks[] = {
        "br", "p", "div", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5",
        "h6", "blockquote", "hr", "pre", "title", "dd", "dt", "dl", "center", "section",
        "article", "header", "footer", "address", "form",
    };
    size_t i;

    for (i = 0; i < QT_ARRAY_LEN(blocks); i++)
        if (tag_is(name, n, blocks[i]))
            return true;
    return false;
}

/* Find the end of a raw-text element (script, style) from `p`: the
 * position after "</name ...>", or `end`. */
static const char *skip_raw_element(const char *p, const char *end, const char *name)
{
    size_t n = strlen(name);

    for (; p + n + 2 <= end; p++) {
        if (p[0] == '<' && p[1] == '/' && strncasecmp(p + 2, name, n) == 0) {
            const char *gt = memchr(p, '>', (size_t)(end - p));

            return gt ? gt + 1 : end;
        }
    }
    return end;
}

/* The value of attribute `attr` in a tag's text, or NULL (length in *len). */
static const char *tag_attribute(const char *tag, size_t tag_len, const char *attr, size_t *len)
{
    size_t n = strlen(attr), i;

    for (i = 0; i + n + 1 < tag_len; i++) {
        const char *v;

        if (!isspace((unsigned char)tag[i]) || strncasecmp(tag + i + 1, attr, n) != 0)
            continue;
        v = tag + i + 1 + n;
        while (v < tag + tag_len && isspace((unsigned char)*v))
            v++;
        if (v >= tag + tag_len || *v != '=')
            continue;
        v++;
        while (v < tag + tag_len && isspace((unsigned char)*v))
            v++;
        if (v < tag + tag_len && (*v == '"' || *v == '\'')) {
            const char *q = memchr(v + 1, *v, (size_t)(tag + tag_len - v - 1));

            *len = q ? (size_t)(q - v - 1) : (size_t)(tag + tag_len - v - 1);
            return v + 1;
        }
        for (*len = 0; v + *len < tag + tag_len && !isspace((unsigned char)v[*len]); (*len)++)
            ;
        return v;
    }
    return NULL;
}

void render_html_to_text(struct qt_buf *out, const char *html, size_t len)
{
    struct html_out h = {.out = out, .at_line_start = true, .blank_lines = 2};
    const char *p = html, *end = html + len;
    char *pending_href = NULL;
    bool in_pre = false;

    while (p < end) {
        if (*p == '<') {
            const char *name, *gt;
            size_t n;
            bool closing;

            if (end - p >= 4 && memcmp(p, "<!--", 4) == 0) {
                const char *c = p + 4;

                while (c + 3 <= end && memcmp(c, "-->", 3) != 0)
                    c++;
                p = c + 3 <= end ? c + 3 : end;
                continue;
            }
            gt = memchr(p, '>', (size_t)(end - p));
            if (!gt) {
                out_text(&h, p, 1);     /* a lone '<' is text */
                p++;
                continue;
            }
            closing = p + 1 < gt && p[1] == '/';
            name = p + (closing ? 2 : 1);
            for (n = 0; name + n < gt && (isalnum((unsigned char)name[n])); n++)
                ;
            if (!closing && (tag_is(name, n, "script") || tag_is(name, n, "style"))) {
                char which[8];

                memcpy(which, name, n);
                which[n] = 0;
                p = skip_raw_element(gt + 1, end, which);
                continue;
            }
            if (tag_is(name, n, "pre"))
                in_pre = !closing;
            if (tag_is(name, n, "a")) {
                const char *href;
                size_t hlen;

                if (!closing && (href = tag_attribute(p, (size_t)(gt - p), "href", &hlen))) {
                    free(pending_href);
                    pending_href = xstrndup(href, hlen);
                } else if (closing && pending_href) {
                    out_text(&h, " <", 2);
                    out_text(&h, pending_href, strlen(pending_href));
                    out_text(&h, ">", 1);
                    free(pending_href);
                    pending_href = NULL;
                }
            }
            if (block_tag(name, n))
                out_break(&h);
            else if (tag_is(name, n, "td") || tag_is(name, n, "th"))
                h.pending_space = true;
            if (!closing && tag_is(name, n, "li"))
                out_text(&h, "* ", 2);
            p = gt + 1;
            continue;
        }
        if (*p == '&') {
            size_t used = entity(&h, p + 1, (size_t)(end - p - 1));

            if (used) {
                p += 1 + used;
                continue;
            }
            out_text(&h, p, 1);
            p++;
            continue;
        }
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == '\f') {
            if (in_pre && *p == '\n')
                out_break(&h);
            else if (in_pre)
                out_text(&h, " ", 1);
            else
                h.pending_space = true;
            p++;
            continue;
        }
        {
            const char *q = p;

            while (q < end && *q != '<' && *q != '&' && *q != ' ' && *q != '\t' &&
                   *q != '\r' && *q != '\n' && *q != '\f')
                q++;
            out_text(&h, p, (size_t)(q - p));
            p = q;
        }
    }
    free(pending_href);
}

/* An HTML part without a charset parameter may name one in a <meta> tag. */
char *render_html_meta_charset(const char *html, size_t len)
{
    size_t scan = len < 4096 ? len : 4096, i, n;

    for (i = 0; i + 8 < scan; i++) {
        if (strncasecmp(html + i, "charset=", 8) != 0)
            continue;
        i += 8;
        if (i < scan && (html[i] == '"' || html[i] == '\''))
            i++;
        for (n = 0; i + n < scan && n < 40 &&
             (g_ascii_isalnum(html[i + n]) || strchr("-_.:", html[i + n])) && html[i + n];
             n++)
            ;
        return n ? xstrndup(html + i, n) : NULL;
    }
    return NULL;
}
