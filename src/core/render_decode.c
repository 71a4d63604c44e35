/* A part's bytes made into UTF-8 text: transfer encodings (GMime's codecs,
 * which are table-driven and keep no shared state, so no lock is needed)
 * and charsets (iconv).  What goes wrong is said in `notes`, one problem a
 * line, for the viewer to show; nothing here fails. */
#include <errno.h>
#include <gmime/gmime.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "qtriage/text.h"
#include "render_internal.h"

static bool starts_ci(const char *p, const char *end, const char *prefix)
{
    size_t n = strlen(prefix);

    return (size_t)(end - p) >= n && strncasecmp(p, prefix, n) == 0;
}

static void base64_check(const char *s, size_t len, struct qt_buf *notes)
{
    size_t bad = 0, significant = 0, i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '+' || c == '/' || c == '=')
            significant++;
        else if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
            bad++;
    }
    if (bad)
        qt_buf_printf(notes, "base64 content holds %zu bytes that are not base64: "
                      "they were skipped\n", bad);
    if (significant % 4)
        qt_buf_printf(notes, "base64 content ends inside a 4-character group: cut short?\n");
}

/* uuencoded content starts after its "begin MODE NAME" line. */
static const char *uu_body(const char *s, size_t *len)
{
    const char *p = s, *end = s + *len;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));

        if (starts_ci(p, end, "begin ")) {
            if (!nl)
                break;
            *len = (size_t)(end - (nl + 1));
            return nl + 1;
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    return s;
}

void render_transfer_decode(int encoding, const char *cte, const char *raw, size_t len,
                            struct qt_buf *out, struct qt_buf *notes)
{
    switch (encoding) {
    case GMIME_CONTENT_ENCODING_BASE64:
    case GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE:
    case GMIME_CONTENT_ENCODING_UUENCODE: {
        GMimeEncoding state;
        size_t n;

        if (encoding == GMIME_CONTENT_ENCODING_BASE64)
            base64_check(raw, len, notes);
        if (encoding == GMIME_CONTENT_ENCODING_UUENCODE)
            raw = uu_body(raw, &len);
        /* GMime's codecs are table-driven and keep no shared state. */
        g_mime_encoding_init_decode(&state, (GMimeContentEncoding)encoding);
        qt_buf_reserve(out, g_mime_encoding_outlen(&state, len) + 64);
        n = g_mime_encoding_step(&state, raw, len, out->data + out->len);
        out->len += n;
        n = g_mime_encoding_flush(&state, "", 0, out->data + out->len);
        out->len += n;
        out->data[out->len] = 0;
        if (out->len == 0 && len > 0 && strspn(raw, " \t\r\n") < len)
            qt_buf_printf(notes, "%s content does not decode to anything\n",
                          g_mime_content_encoding_to_string((GMimeContentEncoding)encoding));
        return;
    }
    default:
        break;
    }
    qt_buf_append(out, raw, len);
    if (cte) {
        const char *p = cte;

        while (*p == ' ' || *p == '\t')
            p++;
        if (!starts_ci(p, p + strlen(p), "7bit") && !starts_ci(p, p + strlen(p), "8bit") &&
            !starts_ci(p, p + strlen(p), "binary"))
            qt_buf_printf(notes, "unknown Content-Transfer-Encoding \"%.60s\": shown as it is\n",
                          p);
    }
}

static bool utf8_valid(const char *s, size_t len)
{
    size_t i = 0, n;

    while (i < len) {
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        if ((n = qt_utf8_seq_len((const unsigned char *)s + i, len - i)) == 0)
            return false;
        i += n;
    }
    return true;
}

/* iconv from `charset`; bytes that do not convert become U+FFFD.  Returns
 * false when iconv does not know the charset. */
static bool iconv_to_utf8(struct qt_buf *out, const char *in, size_t len, const char *charset,
                          size_t *bad)
{
    iconv_t cd = iconv_open("UTF-8", charset);
    char *ip = (char *)in;
    size_t il = len;

    if (cd == (iconv_t)-1)
        return false;
    for (;;) {
        char tmp[8192], *op = tmp;
        size_t ol = sizeof(tmp), rc;

        rc = il ? iconv(cd, &ip, &il, &op, &ol) : iconv(cd, NULL, NULL, &op, &ol);
        qt_buf_append(out, tmp, (size_t)(op - tmp));
        if (rc != (size_t)-1) {
            if (il == 0 && op == tmp)
                break;
            continue;
        }
        if (errno == E2BIG)
            continue;
        /* EILSEQ, or EINVAL for a sequence cut off at the end. */
        qt_buf_append(out, "\xef\xbf\xbd", 3);
        (*bad)++;
        ip++;
        il--;
        iconv(cd, NULL, NULL, NULL, NULL);
    }
    iconv_close(cd);
    return true;
}

static const char *const charset_aliases[][2] = {
    /* What mailers label GB2312 is GBK more often than not; GB18030 holds both. */
    {"gb2312", "GB18030"}, {"gbk", "GB18030"}, {"x-gbk", "GB18030"}, {"cp936", "GB18030"},
    {"euc-cn", "GB18030"}, {"csgb2312", "GB18030"}, {"gb_2312-80", "GB18030"},
    {"ks_c_5601-1987", "CP949"}, {"ks_c_5601", "CP949"}, {"euc-kr", "CP949"},
    {"shift_jis", "CP932"}, {"shift-jis", "CP932"}, {"x-sjis", "CP932"}, {"sjis", "CP932"},
    {"iso-8859-8-i", "ISO-8859-8"}, {"windows-874", "CP874"},
    {"unicode-1-1-utf-7", "UTF-7"},
    /* Text labelled Latin-1 is usually Windows-1252 (curly quotes in C1). */
    {"iso-8859-1", "WINDOWS-1252"}, {"latin1", "WINDOWS-1252"},
};

bool render_charset_missing(const char *cs)
{
    return !cs || !*cs || strcasecmp(cs, "us-ascii") == 0 || strcasecmp(cs, "ascii") == 0 ||
           strcasecmp(cs, "ansi_x3.4-1968") == 0;
}

/* Text in an unknown or missing charset: UTF-8 when it is valid, else
 * Windows-1252, as the header decoder guesses. */
static void best_effort_utf8(struct qt_buf *out, const char *in, size_t len)
{
    size_t bad = 0;

    if (utf8_valid(in, len) || !iconv_to_utf8(out, in, len, "WINDOWS-1252", &bad))
        qt_buf_append(out, in, len);
}

void render_to_utf8(struct qt_buf *out, const char *in, size_t len, const char *charset,
                    struct qt_buf *notes)
{
    const char *cs = charset;
    size_t bad = 0, i;

    if (render_charset_missing(cs)) {
        best_effort_utf8(out, in, len);
        return;
    }
    if (strcasecmp(cs, "utf-8") == 0 || strcasecmp(cs, "utf8") == 0) {
        qt_buf_append(out, in, len);    /* invalid bytes become U+FFFD when shown */
        return;
    }
    for (i = 0; i < QT_ARRAY_LEN(charset_aliases); i++)
        if (strcasecmp(cs, charset_aliases[i][0]) == 0)
            cs = charset_aliases[i][1];
    if (strlen(cs) > 64 || strchr(cs, '/') || !iconv_to_utf8(out, in, len, cs, &bad)) {
        qt_buf_printf(notes, "charset \"%.64s\" is unknown to iconv: shown as UTF-8 where "
                      "valid, else as Windows-1252\n", charset);
        best_effort_utf8(out, in, len);
        return;
    }
    if (bad)
        qt_buf_printf(notes, "%zu bytes are not valid %.64s: shown as U+FFFD\n", bad, charset);
}
