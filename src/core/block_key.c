/* What may be a key or a reply text in qtriage's access tables (block.h):
 * each kind's syntax as smtpd looks it up, nothing that could split a line
 * of the table's source or end up on a terminal. */
#include "qtriage/block.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool domain_valid(const char *d)
{
    size_t label = 0, len = strlen(d);

    if (len == 0 || len > 253 || d[0] == '.' || d[len - 1] == '.')
        return false;
    for (const char *p = d; *p; p++) {
        if (*p == '.') {
            if (label == 0 || p[-1] == '-')
                return false;
            label = 0;
        } else if (isalnum((unsigned char)*p) || (*p == '-' && label > 0) || *p == '_') {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return d[len - 1] != '-';
}

/* Characters a login name or a local part may hold in a table: printable
 * ASCII without blanks (the source format splits on them), quotes,
 * backslashes and the comment sign. */
static bool word_char(char c)
{
    return c > ' ' && c < 0x7f && c != '"' && c != '\\' && c != '#' && c != ',' && c != '<' &&
           c != '>';
}

/* 1..4 decimal octets, no leading zeros: the address and the networks
 * smtpd looks up (it strips octets from the right). */
static bool ipv4_prefix(const char *s)
{
    int parts = 0;

    for (const char *p = s;;) {
        long v = 0;
        int digits = 0;

        while (isdigit((unsigned char)*p)) {
            v = v * 10 + (*p++ - '0');
            if (++digits > 3)
                return false;
        }
        if (digits == 0 || v > 255 || (digits > 1 && p[-digits] == '0'))
            return false;
        parts++;
        if (*p == '\0')
            break;
        if (*p++ != '.' || parts == 4)
            return false;
    }
    return parts >= 1;
}

/* The first 1..7 groups of an IPv6 address, without "::": what smtpd looks
 * up for a client's networks. */
static bool ipv6_prefix(const char *s)
{
    int groups = 0;

    for (const char *p = s;;) {
        int digits = 0;

        while (isxdigit((unsigned char)*p)) {
            p++;
            if (++digits > 4)
                return false;
        }
        if (digits == 0)
            return false;
        groups++;
        if (*p == '\0')
            break;
        if (*p++ != ':' || groups == 7)
            return false;
    }
    return groups >= 2;
}

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static bool set_key(char *out, size_t size, const char *s, struct qt_error *err)
{
    if (strlen(s) >= size || strlen(s) > QT_BLOCK_KEY_MAX) {
        qt_error_set(err, "the key is too long (at most %d characters)", QT_BLOCK_KEY_MAX);
        return false;
    }
    strcpy(out, s);
    lower(out);
    return true;
}

bool qt_block_key_normalize(enum qt_block_kind kind, const char *in, char *out, size_t size,
                            struct qt_error *err)
{
    const char *at;
    unsigned char bin[16];
    char v6[INET6_ADDRSTRLEN];

    if (!in || !*in) {
        qt_error_set(err, "an empty %s cannot be blocked", qt_block_kind_name(kind));
        return false;
    }
    switch (kind) {
    case QT_BLOCK_SASL:
        for (const char *p = in; *p; p++)
            if (!word_char(*p)) {
                qt_error_set(err, "\"%.80s\" is not a SASL login name qtriage puts into a "
                             "table (printable ASCII without blanks, quotes, #, comma or <>)",
                             in);
                return false;
            }
        return set_key(out, size, in, err);
    case QT_BLOCK_CLIENT:
        if (ipv4_prefix(in))
            return set_key(out, size, in, err);
        if (inet_pton(AF_INET6, in, bin) == 1 && inet_ntop(AF_INET6, bin, v6, sizeof(v6)))
            return set_key(out, size, v6, err);
        if (strchr(in, ':') && !strstr(in, "::") && ipv6_prefix(in))
            return set_key(out, size, in, err);
        qt_error_set(err, "\"%.80s\" is not a client address or network as Postfix's access "
                     "tables take them (192.0.2.7, 192.0.2, 2001:db8::7 or 2001:db8)", in);
        return false;
    case QT_BLOCK_SENDER:
        at = strrchr(in, '@');
        if (at && at > in && domain_valid(at + 1)) {
            const char *p;

            for (p = in; p < at && word_char(*p); p++)
                ;
            if (p == at)
                return set_key(out, size, in, err);
        }
        if (strcmp(in, "<>") == 0 || strcasecmp(in, "MAILER-DAEMON") == 0)
            qt_error_set(err, "the null sender (bounces) is not blocked by address; bounces "
                         "come from everyone");
        else
            qt_error_set(err, "\"%.80s\" is not a sender address (local@domain)", in);
        return false;
    case QT_BLOCK_SENDER_DOMAIN:
        if (in[0] == '@')
            in++;
        if (domain_valid(in))
            return set_key(out, size, in, err);
        qt_error_set(err, "\"%.80s\" is not a domain name", in);
        return false;
    default:
        qt_error_set(err, "unknown kind of entry");
        return false;
    }
}

bool qt_block_text_valid(const char *text, struct qt_error *err)
{
    size_t n = 0;

    for (const char *p = text ? text : ""; *p; p++, n++)
        if (*p < ' ' || *p > '~') {
            qt_error_set(err, "the reply text may hold printable ASCII only (no control "
                         "characters, no newline)");
            return false;
        }
    if (n > QT_BLOCK_TEXT_MAX) {
        qt_error_set(err, "the reply text is too long (at most %d characters)",
                     QT_BLOCK_TEXT_MAX);
        return false;
    }
    return true;
}
