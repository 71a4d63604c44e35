#include "qtriage/text.h"

#include <gmime/gmime.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static pthread_once_t text_once = PTHREAD_ONCE_INIT;
static GMimeParserOptions *header_options;
/* GMime fills its charset caches lazily without locking (ThreadSanitizer
 * shows the race when scanner workers decode at once), so its decoder is
 * entered by one thread at a time.  Plain headers never get that far. */
static pthread_mutex_t gmime_lock = PTHREAD_MUTEX_INITIALIZER;

static void text_init_once(void)
{
    static const char *fallback[] = {"UTF-8", "ISO-8859-1", NULL};

    g_mime_init();
    header_options = g_mime_parser_options_new();
    g_mime_parser_options_set_fallback_charsets(header_options, fallback);
    g_mime_parser_options_set_rfc2047_compliance_mode(header_options,
                                                      GMIME_RFC_COMPLIANCE_LOOSE);
}

void qt_text_init(void)
{
    pthread_once(&text_once, text_init_once);
}

void qt_text_gmime_lock(void)
{
    pthread_mutex_lock(&gmime_lock);
}

void qt_text_gmime_unlock(void)
{
    pthread_mutex_unlock(&gmime_lock);
}

size_t qt_utf8_decode(const unsigned char *s, size_t avail, unsigned *out)
{
    unsigned c = s[0];
    size_t n, i;
    unsigned cp;

    if (c < 0x80) {
        *out = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    if (avail < n)
        return 0;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    /* Reject overlong forms, surrogates and values past U+10FFFF. */
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    *out = cp;
    return n;
}

size_t qt_utf8_seq_len(const unsigned char *s, size_t avail)
{
    unsigned cp;
    size_t n = qt_utf8_decode(s, avail, &cp);

    /* C1 controls (U+0080..U+009F) are as dangerous as C0 ones. */
    if (n == 2 && cp < 0xa0)
        return 0;
    return n;
}

static const char replacement[] = "\xef\xbf\xbd";   /* U+FFFD */

/* Characters that draw nothing yet change what the terminal shows: bidi
 * embeddings, overrides and isolates (U+202A..U+202E, U+2066..U+2069) can
 * make "moc.evil" read "live.com" or reorder a column, zero-width spaces,
 * joiners and direction marks (U+200B..U+200F, U+2060..U+2064, U+206A..
 * U+206F, U+FEFF, U+061C, U+180E) hide text inside what looks like one
 * word, U+2028/U+2029 break lines where no line feed is, the interlinear
 * annotation controls (U+FFF9..U+FFFB) and the tag characters (U+E0000..
 * U+E007F) carry invisible text.  Each is shown as one U+FFFD, like a
 * control: one column wide everywhere (a bracketed "<U+202E>" would be 8
 * columns for a character of none, make truncated columns jump, and could
 * be typed by the sender as plain text, so it would prove nothing). */
bool qt_text_invisible(unsigned cp)
{
    return (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
           (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x206f) ||
           cp == 0xfeff || cp == 0x061c || cp == 0x180e || (cp >= 0xfff9 && cp <= 0xfffb) ||
           (cp >= 0xe0000 && cp <= 0xe007f);
}

enum qt_text_unit qt_text_next(const unsigned char *s, size_t avail, size_t *len)
{
    unsigned char c = s[0];
    unsigned cp;
    size_t n;

    *len = 1;
    if (c >= 0x20 && c < 0x7f)
        return QT_TEXT_KEEP;
    if (c == '\t' || c == '\r' || c == '\n')
        return QT_TEXT_BLANK;
    if (c < 0x80)
        return QT_TEXT_MARK;                    /* C0, DEL */
    /* Invalid UTF-8 (a raw 0x9B CSI among it) and C1 controls: one marker
     * per byte, as the bytes cannot be trusted to form a character. */
    if ((n = qt_utf8_seq_len(s, avail)) == 0)
        return QT_TEXT_MARK;
    *len = n;
    qt_utf8_decode(s, avail, &cp);
    return qt_text_invisible(cp) ? QT_TEXT_MARK : QT_TEXT_KEEP;
}

void qt_text_sanitize(struct qt_buf *out, const char *in, size_t len)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t i = 0, n;

    qt_buf_reserve(out, len);
    while (i < len) {
        size_t run = i;

        /* Printable ASCII, most of any text, is copied a run at a time. */
        while (run < len && s[run] >= 0x20 && s[run] < 0x7f)
            run++;
        if (run > i) {
            qt_buf_append(out, s + i, run - i);
            i = run;
            continue;
        }
        switch (qt_text_next(s + i, len - i, &n)) {
        case QT_TEXT_KEEP:
            qt_buf_append(out, s + i, n);
            break;
        case QT_TEXT_BLANK:
            qt_buf_putc(out, ' ');
            break;
        case QT_TEXT_MARK:
            qt_buf_append(out, replacement, 3);
            break;
        }
        i += n;
    }
}

void qt_text_sanitize_str(struct qt_buf *out, const char *s)
{
    if (s)
        qt_text_sanitize(out, s, strlen(s));
}

static bool utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), i = 0, n;

    while (i < len) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        if ((n = qt_utf8_seq_len(p + i, len - i)) == 0)
            return false;
        i += n;
    }
    return true;
}

/* GMime joins the payloads of adjacent B-encoded words in one charset
 * before decoding them (to mend characters split across words), and its
 * base64 decoder stops at the first '=' padding: "=?UTF-8?B?YQ==?=
 * =?UTF-8?B?Yg==?=" came out as "a".  Real mailers pad the first word all
 * the time.  B words are therefore rewritten as Q-encoded words with the
 * same bytes, which GMime joins correctly (all of them, so that a character
 * split across a padded and an unpadded word is still joined).  Returns
 * NULL when there was no B word. */
static char *requote_b_words(const char *s)
{
    struct qt_buf out = {0};
    const char *p = s, *start;
    bool changed = false;

    while ((start = strstr(p, "=?"))) {
        const char *cs_end = strchr(start + 2, '?');
        const char *payload, *end;
        guchar *bytes;
        gsize n, i;
        char *copy;

        if (!cs_end || (cs_end[1] != 'B' && cs_end[1] != 'b') || cs_end[2] != '?') {
            qt_buf_append(&out, p, (size_t)(start + 2 - p));
            p = start + 2;
            continue;
        }
        payload = cs_end + 3;
        end = strstr(payload, "?=");
        if (!end || end == payload ||
            strspn(payload, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
                != (size_t)(end - payload)) {
            qt_buf_append(&out, p, (size_t)(payload - p));
            p = payload;
            continue;
        }
        copy = g_strndup(payload, (gsize)(end - payload));
        bytes = g_base64_decode(copy, &n);
        g_free(copy);
        qt_buf_append(&out, p, (size_t)(cs_end + 1 - p));
        qt_buf_append(&out, "Q?", 2);
        for (i = 0; i < n; i++) {
            if ((bytes[i] >= 'A' && bytes[i] <= 'Z') || (bytes[i] >= 'a' && bytes[i] <= 'z') ||
                (bytes[i] >= '0' && bytes[i] <= '9'))
                qt_buf_putc(&out, (char)bytes[i]);
            else
                qt_buf_printf(&out, "=%02X", bytes[i]);
        }
        g_free(bytes);
        qt_buf_append(&out, "?=", 2);
        p = end + 2;
        changed = true;
    }
    if (!changed) {
        qt_buf_free(&out);
        return NULL;
    }
    qt_buf_append(&out, p, strlen(p));
    return out.data;
}

/* glibc unloads a gconv module (dlclose, munmap: TLB shootdowns on every
 * core) when its last converter is closed, and loads it again (dlopen,
 * mmap) on the next open: GMime opens and closes a converter per decoded
 * header, which made that a third of the time of loading a flood in
 * KOI8-R, GBK and Big5.  One converter per charset, never closed, keeps
 * each module loaded.  The number of charsets pinned is bounded: a hostile
 * queue can name any number of them.  Called with gmime_lock held. */
#define PINNED_CHARSETS_MAX 32

static struct pinned_charset {
    char name[48];
    iconv_t cd;                 /* kept open; (iconv_t)-1 when unknown */
} pinned[PINNED_CHARSETS_MAX];
static size_t npinned;

static bool charset_pinned(const char *name)
{
    size_t i;

    for (i = 0; i < npinned; i++)
        if (pinned[i].cd && strcasecmp(pinned[i].name, name) == 0)
            return true;
    return false;
}

static void pin_charsets(const char *s)
{
    const char *p = s;

    while (npinned < PINNED_CHARSETS_MAX && (p = strstr(p, "=?"))) {
        const char *cs = p + 2;
        size_t len = strcspn(cs, "?*");
        struct pinned_charset *pc = &pinned[npinned];

        p = cs;
        if (len == 0 || len >= sizeof(pc->name) || strspn(cs, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                              "abcdefghijklmnopqrstuvwxyz"
                                                              "0123456789-_.:") < len)
            continue;
        memcpy(pc->name, cs, len);
        pc->name[len] = 0;
        if (charset_pinned(pc->name))
            continue;
        pc->cd = g_mime_iconv_open("UTF-8", pc->name);
        npinned++;
    }
}

/* Cut `b` back to at most max bytes without splitting a character. */
static void truncate_utf8(struct qt_buf *b, size_t max)
{
    size_t cut;

    if (max == 0 || b->len <= max)
        return;
    cut = max;
    while (cut > 0 && ((unsigned char)b->data[cut] & 0xc0) == 0x80)
        cut--;
    b->len = cut;
    b->data[cut] = 0;
}

char *qt_text_decode_header(const char *raw, size_t max_bytes)
{
    struct qt_buf out = {0};
    char *decoded, *requoted;

    qt_text_init();
    /* Skip the leading blank after "Subject:". */
    while (*raw == ' ' || *raw == '\t')
        raw++;
    if (!strstr(raw, "=?") && utf8_valid(raw)) {
        qt_text_sanitize(&out, raw, strlen(raw));
        truncate_utf8(&out, max_bytes);
        return out.data ? out.data : xstrdup("");
    }
    requoted = requote_b_words(raw);
    pthread_mutex_lock(&gmime_lock);
    pin_charsets(requoted ? requoted : raw);
    decoded = g_mime_utils_header_decode_text(header_options, requoted ? requoted : raw);
    pthread_mutex_unlock(&gmime_lock);
    free(requoted);
    if (decoded) {
        qt_text_sanitize(&out, decoded, strlen(decoded));
        g_free(decoded);
    } else {
        qt_text_sanitize(&out, raw, strlen(raw));
    }
    truncate_utf8(&out, max_bytes);
    if (!out.data)
        return xstrdup("");
    return out.data;
}

/* ---- small text helpers shared by the core ---- */

bool qt_ascii_equal_folded(const char *a, const char *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (qt_ascii_fold((unsigned char)a[i]) != qt_ascii_fold((unsigned char)b[i]))
            return false;
    return true;
}

int qt_ascii_casecmp(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;

    while (*x && qt_ascii_fold(*x) == qt_ascii_fold(*y))
        x++, y++;
    return (int)qt_ascii_fold(*x) - (int)qt_ascii_fold(*y);
}

const char *qt_address_domain(const char *addr, size_t len, size_t *dlen)
{
    const char *at = addr ? memrchr(addr, '@', len) : NULL;

    if (!at) {
        *dlen = 0;
        return "";
    }
    *dlen = len - (size_t)(at + 1 - addr);
    return at + 1;
}

void qt_format_duration(int64_t secs, char *buf, size_t size)
{
    static const struct {
        char unit;
        int64_t secs;
    } units[] = {{'w', 604800}, {'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
    size_t i;

    if (secs < 0)
        secs = 0;
    for (i = 0; i < 4; i++)
        if (secs >= units[i].secs) {
            int64_t big = secs / units[i].secs;
            int64_t small = secs % units[i].secs / units[i + 1].secs;

            /* Two units only while they fit the list's 5 columns: "9h59m",
             * then "10h". */
            if (big >= 10 || small == 0)
                snprintf(buf, size, "%" PRId64 "%c", big, units[i].unit);
            else
                snprintf(buf, size, "%" PRId64 "%c%" PRId64 "%c", big, units[i].unit, small,
                         units[i + 1].unit);
            return;
        }
    snprintf(buf, size, "%" PRId64 "s", secs);
}

void qt_format_size(uint64_t bytes, char *buf, size_t size)
{
    static const char units[] = "KMGT";
    double v = (double)bytes;
    int u = -1;

    if (bytes < 1024) {
        snprintf(buf, size, "%" PRIu64, bytes);
        return;
    }
    while (v >= 1024 && u < 3) {
        v /= 1024;
        u++;
    }
    /* Round as printed, so 1023.9K shows as "1.0M" and 9.99K as "10K"
     * (never "1024K" or "10.0K", which do not fit 4 columns). */
    if (v >= 1023.5 && u < 3) {
        v /= 1024;
        u++;
    }
    if (v < 9.95)
        snprintf(buf, size, "%.1f%c", v, units[u]);
    else
        snprintf(buf, size, "%.0f%c", v, units[u]);
}
