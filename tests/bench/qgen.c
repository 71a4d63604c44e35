/*
 * qgen - write realistic Postfix queue files straight into a (test) instance's
 * queue, tens of thousands per second, for benchmarks and large-queue tests.
 *
 * Usage:
 *   qgen -c CONFIG_DIR -n N [--seed S] [--hold-percent P] [--deferred-percent P]
 *        [-j JOBS] [--force]
 *
 *   --seed S              contents are a function of S (default 1)
 *   --hold-percent P      share of messages put in hold (default 10)
 *   --deferred-percent P  share put in deferred (default 100 - hold)
 *   -j JOBS               worker processes (default 2 per CPU, at most 8)
 *   --force               allow /etc/postfix or /var/spool/postfix (don't)
 * A one-line summary with the rate (messages/s) goes to stderr.  Run as root
 * (the workers switch their effective IDs to mail_owner, so the files are
 * created owned by it, as cleanup(8) does) or as mail_owner.
 *
 * The instance's parameters come from
 *   postconf -c CONFIG_DIR -h queue_directory hash_queue_names hash_queue_depth
 *                            enable_long_queue_ids mail_owner myhostname
 * (fork + execv with an argv array; no shell).
 *
 * Every message is written the way cleanup(8) writes one:
 *   - an unnamed file (O_TMPFILE in incoming/, mode 0700) is created; where the
 *     file system lacks O_TMPFILE, a temporary file incoming/<usec>.<pid> (not
 *     a valid queue ID, so qmgr, showq and postsuper ignore it) with mode 0600,
 *     as cleanup(8) does;
 *   - fstat gives the inode; the queue ID is derived from the current time and
 *     the inode exactly as Postfix's mail_queue_enter() does:
 *       short IDs: "%05X" of the microseconds, then the inode in upper-case hex;
 *       long IDs:  seconds in base 52 (at least 6 digits), microseconds in base
 *                  52 (exactly 4 digits), 'z', inode in base 51, all with the
 *                  alphabet 0-9 B-Z b-z without vowels;
 *   - the records are written (C size record with the real offsets, T, A
 *     attributes, S, A dsn_orig_rcpt + O + R per recipient, M, N/L content, X, E);
 *   - the file (owned by mail_owner) is made 0700 (= "complete"), and, for the
 *     deferred queue, its mtime is put 1-3 hours into the future (= next retry
 *     time, so qmgr leaves it alone);
 *   - deferred messages get a defer log defer/<hash>/<ID> (mode 0600, owned by
 *     mail_owner) with one block per pending recipient;
 *   - finally the file is linked (O_TMPFILE, through /proc/self/fd) or renamed
 *     to deferred/<hash>/<ID> or hold/[<hash>/]<ID>.
 *     Hashed queues follow hash_queue_names / hash_queue_depth; a long ID is
 *     hashed on its microseconds converted back to 5 hex digits.  Missing
 *     subdirectories are created with mode 0700, owned by mail_owner.
 *
 * Contents are deterministic for a given seed (apart from queue IDs, times and
 * the strings derived from them): message i is generated from its own random
 * stream seeded with (seed, i), so the result does not depend on -j.
 *
 * The traffic is skewed on purpose: a few flooders send most of the mail
 * (Zipf over senders), one hijacked SASL account sends from many IPs,
 * ~5 % are MAILER-DAEMON bounces (null sender), recipient domains are skewed,
 * subjects come in several charsets as RFC 2047 encoded-words, some messages
 * are multipart/mixed with a base64 attachment, some have lines longer than
 * 2048 bytes (L records), a few are large (~100 KB).
 *
 * Speed: the work is nearly all in the kernel (an unnamed file, a link, a
 * defer log and ~7 KB of page-cache writes per message: ~95 us of CPU per
 * message on the 2-CPU VM; nothing is fsync'd).  Under a shared machine's
 * load the rate is the scheduler's share of that, e.g. 2.5k/s at load 17.  On the 2-CPU CI VM (ext4 without a
 * journal) it wrote 100k messages at 9-24k messages/s; it drops to 1-5k/s for a
 * while after many files were deleted on the same file system (ext4 then scans
 * past recently freed inodes on every file creation: see recently_deleted() in
 * the kernel's ext4/ialloc.c) and when other jobs compete for the disk.
 *
 * Build: cc -O2 -o qgen tests/bench/qgen.c     (libc only)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* What the files look like: bench.sh keys its queue cache on this, so a
 * change to the records, the corpus or the layout must change it (a change
 * to how fast they are written need not).  Its value is the source hash
 * of the version that last changed the output. */
#define QGEN_FORMAT "efecf1b0997f"

#define LINE_LIMIT 2048          /* Postfix line_length_limit default */
#define OUR_IP "192.0.2.25"      /* the address our relay connects from */

static const char *progname = "qgen";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* ------------------------------------------------------------------ buffers */

typedef struct {
    char *p;
    size_t len, cap;
} buf_t;

static void b_grow(buf_t *b, size_t need)
{
    if (b->len + need + 1 <= b->cap)
        return;
    size_t ncap = b->cap ? b->cap : 4096;
    while (ncap < b->len + need + 1)
        ncap *= 2;
    char *np = realloc(b->p, ncap);
    if (!np)
        die("out of memory");
    b->p = np;
    b->cap = ncap;
}

static void b_put(buf_t *b, const void *s, size_t n)
{
    b_grow(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void b_puts(buf_t *b, const char *s) { b_put(b, s, strlen(s)); }

static void b_putc(buf_t *b, int c)
{
    b_grow(b, 1);
    b->p[b->len++] = (char)c;
    b->p[b->len] = 0;
}

static void b_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void b_printf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        size_t room = b->cap > b->len ? b->cap - b->len : 0;
        va_start(ap, fmt);
        int n = vsnprintf(room ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0)
            die("vsnprintf failed");
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        b_grow(b, (size_t)n + 1);
    }
}

static void b_reset(buf_t *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = 0;
}

/* ---------------------------------------------------------------------- RNG */

typedef struct {
    uint64_t s;
} rng_t;

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t r64(rng_t *r)
{
    r->s += 0x9E3779B97F4A7C15ULL;
    return mix64(r->s);
}

static uint32_t rbelow(rng_t *r, uint32_t n)   /* 0 .. n-1 */
{
    return (uint32_t)(((r64(r) >> 32) * (uint64_t)n) >> 32);
}

static double runit(rng_t *r) { return (double)(r64(r) >> 11) * (1.0 / 9007199254740992.0); }

static int rpct(rng_t *r, double pct) { return runit(r) * 100.0 < pct; }

#define PICK(r, arr) ((arr)[rbelow((r), (uint32_t)(sizeof(arr) / sizeof((arr)[0])))])

/* pick an index from a cumulative distribution */
static int cdf_pick(rng_t *r, const double *cdf, int n)
{
    double u = runit(r) * cdf[n - 1];
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (cdf[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static double sqrt_newton(double v)
{
    double g = v > 1 ? v / 2 : 1;
    for (int it = 0; it < 60; it++)
        g = 0.5 * (g + v / g);
    return g;
}

/* Zipf weights 1/r^s for s in {1, 1.25, 1.5, ...} (no libm needed) */
static void zipf_cdf(double *cdf, int n, double s)
{
    int quarters = (int)((s - 1.0) * 4.0 + 0.5);
    double acc = 0;
    for (int i = 0; i < n; i++) {
        double x = (double)(i + 1), w = x;
        double q = sqrt_newton(sqrt_newton(x));     /* x^(1/4) */
        for (int j = 0; j < quarters; j++)
            w *= q;
        acc += 1.0 / w;
        cdf[i] = acc;
    }
}

/* ------------------------------------------------------------- the universe */

static const char *first_names[] = {
    "james", "mary", "john", "patricia", "robert", "jennifer", "michael", "linda",
    "william", "elizabeth", "david", "barbara", "richard", "susan", "joseph", "jessica",
    "thomas", "sarah", "carlos", "maria", "wei", "li", "yuki", "hiroshi", "olga",
    "ivan", "anna", "pierre", "sophie", "hans", "greta", "ahmed", "fatima", "raj",
    "priya", "lucas", "emma", "noah", "mia", "liam", "chloe", "mateo", "sven", "ingrid",
};
static const char *last_names[] = {
    "smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis",
    "rodriguez", "martinez", "hernandez", "lopez", "wilson", "anderson", "taylor",
    "thomas", "moore", "jackson", "martin", "lee", "chen", "wang", "zhang", "tanaka",
    "suzuki", "ivanov", "petrova", "dubois", "moreau", "mueller", "schmidt", "rossi",
    "nguyen", "kim", "park", "singh", "patel", "silva", "santos", "novak", "berg",
};
static const char *syll[] = {
    "ka", "lo", "mi", "ra", "ve", "no", "ta", "zi", "be", "do", "fa", "gu", "ho",
    "ju", "ke", "li", "mo", "ne", "pa", "qu", "ri", "so", "tu", "vi", "wa", "xe",
    "yo", "ze", "bri", "cor", "dan", "el", "for", "gra", "hal", "ion", "jet", "kor",
    "lux", "mar", "nor", "ost", "pri", "quin", "ros", "sel", "tor", "ul", "var", "wen",
};
static const char *tlds[] = {"com", "com", "com", "net", "org", "de", "fr", "ru",
                             "cn", "jp", "com.br", "co.uk", "it", "nl", "pl", "in"};

#define N_NAMED_DOMAINS 30
static const char *named_domains[N_NAMED_DOMAINS] = {
    "gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "aol.com", "qq.com",
    "mail.ru", "163.com", "icloud.com", "gmx.de", "yandex.ru", "web.de", "orange.fr",
    "comcast.net", "live.com", "free.fr", "libero.it", "naver.com", "att.net",
    "btinternet.com", "126.com", "sina.com", "rediffmail.com", "t-online.de",
    "wanadoo.fr", "rambler.ru", "sbcglobal.net", "uol.com.br", "seznam.cz", "ymail.com",
};

/* reason classes for deferral */
enum {
    RS_REFUSED, RS_TIMEOUT, RS_TOOMANY, RS_GREYLIST, RS_MBOXFULL, RS_NOTFOUND,
    RS_TLS, RS_BLACKLIST, RS_GMAIL, RS_YAHOO, RS_LOSTCONN, RS_MSFT, RS_DATA_TIMEOUT,
    RS_QQ, RS_MAILRU, RS_COUNT
};

#define N_DOMAINS 400
typedef struct {
    char name[64];
    char mx[96];
    char ip[20];
    int reason;
} domain_t;

static domain_t domains[N_DOMAINS];
static double domain_cdf[N_DOMAINS];

enum { K_FLOOD, K_HIJACK, K_NEWS, K_PHISH, K_CNSPAM, K_PHARMA, K_LEGIT, K_SMALLSPAM };

#define MAX_IPS 48
#define N_SENDERS 240
typedef struct {
    char addr[96];
    char display[64];
    int display_utf8;            /* display name is UTF-8: encode it */
    int kind;
    char sasl_user[96];          /* "" = none */
    const char *sasl_method;
    uint32_t ips[MAX_IPS];
    int n_ips;
    char helo[96];
    char client_name[96];        /* "" = derive from the IP */
    const char *xmailer;
    int tz_minutes;
} sender_t;

static sender_t senders[N_SENDERS];
static double sender_cdf[N_SENDERS];

static void ip_str(uint32_t ip, char *out, size_t n)
{
    snprintf(out, n, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

static uint32_t public_ip(rng_t *r)
{
    static const uint8_t firsts[] = {5, 14, 27, 31, 36, 37, 41, 42, 45, 46, 58, 59, 61,
                                     77, 78, 79, 81, 82, 83, 85, 89, 91, 93, 94, 95, 103,
                                     109, 110, 112, 113, 114, 115, 116, 117, 118, 119,
                                     120, 121, 122, 123, 125, 171, 175, 177, 178, 179,
                                     180, 181, 182, 183, 185, 186, 187, 188, 189, 190,
                                     191, 196, 197, 200, 201, 212, 213, 217, 218, 219,
                                     220, 221, 222, 223};
    uint32_t a = PICK(r, firsts);
    return (a << 24) | (rbelow(r, 256) << 16) | (rbelow(r, 256) << 8) | (1 + rbelow(r, 254));
}

static void word_name(rng_t *r, char *out, size_t n, int parts)
{
    out[0] = 0;
    for (int i = 0; i < parts; i++)
        strncat(out, PICK(r, syll), n - strlen(out) - 1);
}

static void build_universe(uint64_t seed)
{
    rng_t r = {mix64(seed ^ 0x5175657565ULL)};

    /* recipient domains: famous ones first, then a long tail */
    for (int i = 0; i < N_DOMAINS; i++) {
        domain_t *d = &domains[i];
        if (i < N_NAMED_DOMAINS) {
            snprintf(d->name, sizeof d->name, "%s", named_domains[i]);
        } else {
            char w[40];
            word_name(&r, w, sizeof w, 2 + (int)rbelow(&r, 2));
            snprintf(d->name, sizeof d->name, "%s%s.%s", w,
                     rbelow(&r, 4) == 0 ? "-mail" : "", PICK(&r, tlds));
        }
        uint32_t ip = public_ip(&r);
        ip_str(ip, d->ip, sizeof d->ip);
        snprintf(d->mx, sizeof d->mx, "%s.%s", rbelow(&r, 2) ? "mx1" : "mail", d->name);
        static const int tail_reasons[] = {
            RS_REFUSED, RS_REFUSED, RS_TIMEOUT, RS_TIMEOUT, RS_TIMEOUT, RS_TOOMANY,
            RS_GREYLIST, RS_GREYLIST, RS_NOTFOUND, RS_NOTFOUND, RS_TLS, RS_BLACKLIST,
            RS_BLACKLIST, RS_LOSTCONN, RS_DATA_TIMEOUT, RS_MBOXFULL};
        d->reason = PICK(&r, tail_reasons);
    }
    /* hand-tuned reasons/MX for the big ones */
    struct { const char *dom, *mx, *ip; int reason; } big[] = {
        {"gmail.com", "gmail-smtp-in.l.google.com", "142.250.153.27", RS_GMAIL},
        {"yahoo.com", "mta7.am0.yahoodns.net", "67.195.204.77", RS_YAHOO},
        {"ymail.com", "mta6.am0.yahoodns.net", "98.136.96.74", RS_YAHOO},
        {"hotmail.com", "hotmail-com.olc.protection.outlook.com", "52.101.8.34", RS_MSFT},
        {"outlook.com", "outlook-com.olc.protection.outlook.com", "52.101.42.1", RS_MSFT},
        {"live.com", "live-com.olc.protection.outlook.com", "52.101.11.6", RS_MSFT},
        {"aol.com", "mx-aol.mail.gm0.yahoodns.net", "67.195.228.94", RS_YAHOO},
        {"qq.com", "mx3.qq.com", "183.47.101.192", RS_QQ},
        {"mail.ru", "mxs.mail.ru", "217.69.139.150", RS_MAILRU},
        {"163.com", "163mx01.mxmail.netease.com", "220.181.12.180", RS_TOOMANY},
        {"126.com", "126mx01.mxmail.netease.com", "220.181.15.112", RS_TOOMANY},
        {"icloud.com", "mx01.mail.icloud.com", "17.57.154.33", RS_BLACKLIST},
        {"gmx.de", "mx00.emig.gmx.net", "212.227.15.9", RS_GREYLIST},
        {"web.de", "mx-ha03.web.de", "212.227.17.8", RS_GREYLIST},
        {"yandex.ru", "mx.yandex.ru", "77.88.21.249", RS_TOOMANY},
        {"orange.fr", "smtp-in.orange.fr", "80.12.242.2", RS_BLACKLIST},
        {"comcast.net", "mx1a1.comcast.net", "96.114.157.80", RS_BLACKLIST},
        {"free.fr", "mx1.free.fr", "212.27.48.6", RS_TLS},
        {"rambler.ru", "mxs.rambler.ru", "81.19.78.64", RS_TIMEOUT},
    };
    for (size_t k = 0; k < sizeof big / sizeof big[0]; k++)
        for (int i = 0; i < N_NAMED_DOMAINS; i++)
            if (strcmp(domains[i].name, big[k].dom) == 0) {
                snprintf(domains[i].mx, sizeof domains[i].mx, "%s", big[k].mx);
                snprintf(domains[i].ip, sizeof domains[i].ip, "%s", big[k].ip);
                domains[i].reason = big[k].reason;
            }
    zipf_cdf(domain_cdf, N_DOMAINS, 1.0);

    /* senders: rank 1 is the biggest flooder */
    static const struct {
        const char *addr, *display;
        int utf8, kind;
        const char *sasl, *helo, *cname, *xmailer;
        int n_ips, tz;
    } named[] = {
        {"promo@bulk-deals.example", "Bulk Deals", 0, K_FLOOD, "", "mta1.bulk-deals.example",
         "mta1.bulk-deals.example", "PHPMailer 6.1.4 (https://github.com/PHPMailer/PHPMailer)", 4, 0},
        {"j.smith@customer-isp.example", "John Smith", 0, K_HIJACK, "j.smith@customer-isp.example",
         "", "", "Microsoft Outlook 16.0", 40, 480},
        {"newsletter@mass-mailer.example", "Les Bons Plans", 0, K_NEWS, "", "out.mass-mailer.example",
         "out.mass-mailer.example", "Mailchimp Mailer - **CID1234**", 2, 60},
        {"security@account-verify-center.test", "Account Security", 0, K_PHISH, "",
         "vps-2231.hoster.test", "unknown", NULL, 3, 0},
        {"info@cn-trade-fair.example", "\xe5\x9b\xbd\xe9\x99\x85\xe8\xb4\xb8\xe6\x98\x93\xe5\xb1\x95",
         1, K_CNSPAM, "", "smtp.cn-trade-fair.example", "unknown", "Foxmail 7.2", 6, 480},
        {"sales@pharma-discount.test", "Pharmacy Online", 0, K_PHARMA, "", "localhost", "unknown",
         NULL, 8, -300},
        {"orders@shop-notify.example", "Shop Notifications", 0, K_LEGIT, "orders", "relay.shop-notify.example",
         "relay.shop-notify.example", NULL, 2, 0},
    };
    int nn = (int)(sizeof named / sizeof named[0]);
    for (int i = 0; i < N_SENDERS; i++) {
        sender_t *s = &senders[i];
        memset(s, 0, sizeof *s);
        if (i < nn) {
            snprintf(s->addr, sizeof s->addr, "%s", named[i].addr);
            snprintf(s->display, sizeof s->display, "%s", named[i].display);
            s->display_utf8 = named[i].utf8;
            s->kind = named[i].kind;
            snprintf(s->sasl_user, sizeof s->sasl_user, "%s", named[i].sasl);
            snprintf(s->helo, sizeof s->helo, "%s", named[i].helo);
            snprintf(s->client_name, sizeof s->client_name, "%s", named[i].cname);
            s->xmailer = named[i].xmailer;
            s->n_ips = named[i].n_ips;
            s->tz_minutes = named[i].tz;
            if (s->kind == K_HIJACK) {
                for (int k = 0; k < s->n_ips; k++)
                    s->ips[k] = public_ip(&r);
                s->sasl_method = "LOGIN";
            } else {
                uint32_t base = public_ip(&r) & ~0xFFu;
                base |= 10 + rbelow(&r, 200);
                for (int k = 0; k < s->n_ips; k++)
                    s->ips[k] = base + (uint32_t)k;
                if (s->sasl_user[0])
                    s->sasl_method = "PLAIN";
            }
            continue;
        }
        /* long tail: mostly legitimate users of a few customer domains, some
         * small spammers */
        static const char *corp[] = {"corp.example", "acme-widgets.example", "northwind.test",
                                     "contoso-mail.example", "smallbiz.test", "uni-campus.example",
                                     "lawfirm-llp.example", "clinic-care.test"};
        const char *fn = PICK(&r, first_names), *ln = PICK(&r, last_names);
        if (rbelow(&r, 6) == 0) {
            char w[40];
            word_name(&r, w, sizeof w, 3);
            s->kind = K_SMALLSPAM;
            snprintf(s->addr, sizeof s->addr, "%s%u@%s.%s", PICK(&r, syll), rbelow(&r, 1000),
                     w, PICK(&r, tlds));
            snprintf(s->display, sizeof s->display, "%c%s %c%s", fn[0] - 32, fn + 1, ln[0] - 32, ln + 1);
            s->n_ips = 1;
            s->ips[0] = public_ip(&r);
            snprintf(s->helo, sizeof s->helo, "%s", rbelow(&r, 2) ? "User" : "localhost.localdomain");
            s->client_name[0] = 0;
            s->tz_minutes = 0;
        } else {
            const char *dom = PICK(&r, corp);
            s->kind = K_LEGIT;
            switch (rbelow(&r, 3)) {
            case 0: snprintf(s->addr, sizeof s->addr, "%s.%s@%s", fn, ln, dom); break;
            case 1: snprintf(s->addr, sizeof s->addr, "%c%s@%s", fn[0], ln, dom); break;
            default: snprintf(s->addr, sizeof s->addr, "%s%u@%s", fn, rbelow(&r, 100), dom); break;
            }
            snprintf(s->display, sizeof s->display, "%c%s %c%s", fn[0] - 32, fn + 1, ln[0] - 32, ln + 1);
            snprintf(s->sasl_user, sizeof s->sasl_user, "%.*s", (int)(strchr(s->addr, '@') - s->addr), s->addr);
            s->sasl_method = rbelow(&r, 4) ? "PLAIN" : "LOGIN";
            s->n_ips = 1 + (int)rbelow(&r, 2);
            for (int k = 0; k < s->n_ips; k++)
                s->ips[k] = (10u << 24) | (20u << 16) | (rbelow(&r, 8) << 8) | (2 + rbelow(&r, 250));
            snprintf(s->helo, sizeof s->helo, "[10.20.%u.%u]", (s->ips[0] >> 8) & 255, s->ips[0] & 255);
            snprintf(s->client_name, sizeof s->client_name, "ws-%u.%s", s->ips[0] & 255, dom);
            static const char *mua[] = {"Microsoft Outlook 16.0", "Mozilla Thunderbird",
                                        "Apple Mail (2.3774.300.61.1.2)", NULL, NULL};
            s->xmailer = PICK(&r, mua);
            static const int tzs[] = {0, 60, 120, -300, -480, 330, 540};
            s->tz_minutes = PICK(&r, tzs);
        }
    }
    zipf_cdf(sender_cdf, N_SENDERS, 1.25);
}

/* ------------------------------------------------------------ subject texts */

typedef struct {
    const char *charset;
    const char *text;             /* bytes in that charset, '#' = a number */
} cs_text_t;

static const cs_text_t cs_subjects[] = {
    {"GB2312", "\xc4\xfa\xb5\xc4\xd5\xcb\xbb\xa7\xb4\xe6\xd4\xda\xb0\xb2\xc8\xab\xb7\xe7\xcf\xd5\xa3\xac\xc7\xeb\xc1\xa2\xbc\xb4\xd1\xe9\xd6\xa4 #"},
    {"GB2312", "\xb4\xfa\xbf\xaa\xd4\xf6\xd6\xb5\xcb\xb0\xb7\xa2\xc6\xb1 \xd3\xc5\xbb\xdd #"},
    {"GB2312", "\xa1\xbe\xcf\xde\xca\xb1\xa1\xbf\xcd\xf8\xc2\xe7\xd3\xaa\xcf\xfa\xcd\xc6\xb9\xe3\xb7\xbd\xb0\xb8 \xb5\xda#\xc6\xda"},
    {"BIG5", "\xad\xad\xae\xc9\xc0u\xb4" "f \xa5\xfe\xc0]\xa7\xe9\xa6\xa9 #"},
    {"BIG5", "\xb1z\xaa\xba\xa5]\xbbq\xa4w\xa8\xec\xb9" "F \xb3\xe6\xb8\xb9#"},
    {"KOI8-R", "\xf7\xd9\xc7\xcf\xc4\xce\xcf\xc5 \xd0\xd2\xc5\xc4\xcc\xcf\xd6\xc5\xce\xc9\xc5 \xc4\xcc\xd1 \xd7\xc1\xd3 N #"},
    {"KOI8-R", "\xf3\xde\xa3\xd4 \xce\xc1 \xcf\xd0\xcc\xc1\xd4\xd5 # \xcf\xd4 \xd0\xcf\xd3\xd4\xc1\xd7\xdd\xc9\xcb\xc1"},
    {"ISO-8859-1", "R\xe9union du comit\xe9 n\xb0# - ordre du jour"},
    {"ISO-8859-1", "Votre facture num\xe9ro # est disponible"},
    {"ISO-8859-1", "Ihre Bestellung Nr. # wurde versandt, Gr\xfc\xdf" "e"},
    {"UTF-8", "\xd0\x92\xd0\xb0\xd1\x88 \xd0\xb7\xd0\xb0\xd0\xba\xd0\xb0\xd0\xb7 \xe2\x84\x96 # \xd0\xbe\xd1\x82\xd0\xbf\xd1\x80\xd0\xb0\xd0\xb2\xd0\xbb\xd0\xb5\xd0\xbd"},
    {"UTF-8", "\xe3\x80\x90\xe9\x99\x90\xe6\x97\xb6\xe4\xbc\x98\xe6\x83\xa0\xe3\x80\x91\xe7\xac\xac#\xe6\x9c\x9f \xe7\x89\xb9\xe4\xbb\xb7\xe5\x95\x86\xe5\x93\x81 \xf0\x9f\x94\xa5"},
    {"UTF-8", "\xf0\x9f\x94\xa5 Flash sale: # % off everything \xe2\x80\x94 today only"},
    {"UTF-8", "Zahlungserinnerung f\xc3\xbcr Rechnung # \xe2\x80\x93 bitte \xc3\xbc" "berweisen"},
    {"UTF-8", "Votre colis n\xc2\xb0 # est en attente \xe2\x9c\x88"},
    {"UTF-8", "\xe3\x81\x8a\xe6\x94\xaf\xe6\x89\x95\xe3\x81\x84\xe6\x83\x85\xe5\xa0\xb1\xe3\x81\xae\xe7\xa2\xba\xe8\xaa\x8d\xe3\x81\xae\xe3\x81\x8a\xe9\xa1\x98\xe3\x81\x84 #"},
};
/* indexes into cs_subjects by family */
static const int subj_gb[] = {0, 1, 2}, subj_big5[] = {3, 4}, subj_koi[] = {5, 6},
                 subj_latin1[] = {7, 8, 9}, subj_utf8_ru_cn[] = {10, 11, 15},
                 subj_utf8_promo[] = {12, 11}, subj_utf8_eu[] = {13, 14};

static const char *ascii_spam[] = {
    "Limited time offer: # % off all products", "Your order ## has shipped",
    "Invoice # from Accounts Payable", "URGENT: Payment # overdue",
    "Congratulations! You have won a $# gift card", "Re: your inquiry #",
    "Best prices on watches - # models in stock", "You have (#) new voicemail messages",
    "Final notice: subscription # expires today", "Re: Re: business proposal #",
};
static const char *ascii_phish[] = {
    "Your account has been suspended - verify now", "Action required: unusual sign-in activity #",
    "Your mailbox is almost full (# MB)", "Security alert: password expires in # hours",
    "Document shared with you: Payment_Advice_#.pdf",
};
static const char *ascii_pharma[] = {
    "Cheap meds without prescription #", "V1agra & C1alis from $0.#", "Lose # lbs in 2 weeks",
    "Online pharmacy - order # confirmed",
};
static const char *ascii_legit[] = {
    "Re: meeting notes #", "Quarterly report Q# draft", "Lunch on Thursday?",
    "Re: contract renewal #", "Fwd: travel itinerary #", "Updated slides for #",
    "Re: Re: budget #", "Invoice # attached", "Your order # has shipped",
    "Reminder: team call at # pm", "Question about ticket ##",
};

/* replace '#' in tmpl by num; result to out */
static void subst_num(buf_t *out, const char *tmpl, unsigned num)
{
    for (const char *p = tmpl; *p; p++) {
        if (*p == '#')
            b_printf(out, "%u", num);
        else
            b_putc(out, *p);
    }
}

/* --------------------------------------------------------- RFC 2047 & base64 */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_enc(buf_t *out, const unsigned char *s, size_t n)
{
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];
        char q[4] = {b64chars[v >> 18], b64chars[(v >> 12) & 63], b64chars[(v >> 6) & 63], b64chars[v & 63]};
        b_put(out, q, 4);
    }
    if (n - i == 1) {
        unsigned v = (unsigned)s[i] << 16;
        char q[4] = {b64chars[v >> 18], b64chars[(v >> 12) & 63], '=', '='};
        b_put(out, q, 4);
    } else if (n - i == 2) {
        unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8;
        char q[4] = {b64chars[v >> 18], b64chars[(v >> 12) & 63], b64chars[(v >> 6) & 63], '='};
        b_put(out, q, 4);
    }
}

/* length of the character starting at p in charset cs */
static size_t cs_charlen(const char *cs, const unsigned char *p, size_t left)
{
    size_t n = 1;
    if (strcmp(cs, "UTF-8") == 0) {
        if (*p >= 0xF0) n = 4;
        else if (*p >= 0xE0) n = 3;
        else if (*p >= 0xC0) n = 2;
    } else if (strcmp(cs, "GB2312") == 0 || strcmp(cs, "BIG5") == 0) {
        if (*p >= 0x80) n = 2;
    }
    return n > left ? left : n;
}

static int q_plain(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '!' || c == '*' || c == '+' || c == '-' || c == '/';
}

/*
 * Encode text (bytes in charset cs) as a header value of one or more
 * encoded-words of at most 75 characters (the first one shorter by `indent`,
 * the length of what precedes it on its line); words are joined by "\n "
 * (folding), each line later becomes its own N record.
 */
static void rfc2047(buf_t *out, const char *cs, int qenc, const char *text, size_t n, size_t indent)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t pre = strlen(cs) + 7;     /* =?cs?X? ... ?= */
    size_t i = 0;
    int first = 1;
    while (i < n) {
        /* take as many whole characters as fit */
        size_t j = i, enc = 0;
        while (j < n) {
            size_t cl = cs_charlen(cs, p + j, n - j), add = 0;
            if (qenc) {
                for (size_t k = 0; k < cl; k++)
                    add += (p[j + k] == ' ' || q_plain(p[j + k])) ? 1 : 3;
            } else {
                add = ((j - i + cl + 2) / 3) * 4 - enc;
            }
            if (pre + enc + add > (first ? 75 - indent : 75) && j > i)
                break;
            enc += add;
            j += cl;
        }
        if (!first)
            b_puts(out, "\n ");
        first = 0;
        b_printf(out, "=?%s?%c?", cs, qenc ? 'Q' : 'B');
        if (qenc) {
            for (size_t k = i; k < j; k++) {
                if (p[k] == ' ')
                    b_putc(out, '_');
                else if (q_plain(p[k]))
                    b_putc(out, p[k]);
                else
                    b_printf(out, "=%02X", p[k]);
            }
        } else {
            b64_enc(out, p + i, j - i);
        }
        b_puts(out, "?=");
        i = j;
    }
}

/* ------------------------------------------------------------ queue records */

static void rec_hdr(buf_t *f, int type, size_t len)
{
    unsigned char h[12];
    size_t k = 0;
    h[k++] = (unsigned char)type;
    do {
        unsigned char c = len & 0x7f;
        len >>= 7;
        if (len)
            c |= 0x80;
        h[k++] = c;
    } while (len);
    b_put(f, h, k);
}

static void rec(buf_t *f, int type, const char *data, size_t len)
{
    rec_hdr(f, type, len);
    if (len)
        b_put(f, data, len);
}

static void recs(buf_t *f, int type, const char *s) { rec(f, type, s, strlen(s)); }

static void recf(buf_t *f, int type, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void recf(buf_t *f, int type, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        die("record too long");
    rec(f, type, tmp, (size_t)n);
}

/* one content line: L records of LINE_LIMIT bytes, then the N record */
static void content_line(buf_t *f, const char *s, size_t n)
{
    while (n > LINE_LIMIT) {
        rec(f, 'L', s, LINE_LIMIT);
        s += LINE_LIMIT;
        n -= LINE_LIMIT;
    }
    rec(f, 'N', s, n);
}

/* a block of text with '\n' separated lines -> content records */
static void content_text(buf_t *f, const char *s, size_t n)
{
    const char *end = s + n;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t ln = nl ? (size_t)(nl - s) : (size_t)(end - s);
        content_line(f, s, ln);
        s += ln + (nl ? 1 : 0);
    }
}

/* ------------------------------------------------------------ configuration */

typedef struct {
    char qdir[PATH_MAX];
    char hash_names[16][32];
    int n_hash;
    int depth;
    int long_ids;
    uid_t uid;
    gid_t gid;
    char owner[64];
    char myhostname[256];
} config_t;

static config_t cfg;
static int use_tmpfile = 1;  /* O_TMPFILE + linkat (cleared where unsupported) */
static int need_chown = 1;   /* 0 once we run with mail_owner's effective IDs */

static const char *find_postconf(void)
{
    static const char *cands[] = {"/usr/sbin/postconf", "/usr/local/sbin/postconf",
                                  "/usr/bin/postconf", "/sbin/postconf"};
    const char *env = getenv("QGEN_POSTCONF");
    if (env && *env)
        return env;
    for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++)
        if (access(cands[i], X_OK) == 0)
            return cands[i];
    die("cannot find postconf (set QGEN_POSTCONF)");
}

static void read_config(const char *confdir)
{
    const char *pc = find_postconf();
    char *argv[] = {(char *)pc, "-c", (char *)confdir, "-h", "queue_directory", "hash_queue_names",
                    "hash_queue_depth", "enable_long_queue_ids", "mail_owner", "myhostname", NULL};
    int pfd[2];
    if (pipe(pfd) < 0)
        die("pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        execv(pc, argv);
        fprintf(stderr, "%s: exec %s: %s\n", progname, pc, strerror(errno));
        _exit(127);
    }
    close(pfd[1]);
    buf_t out = {0};
    char tmp[4096];
    ssize_t r;
    while ((r = read(pfd[0], tmp, sizeof tmp)) != 0) {
        if (r < 0) {
            if (errno == EINTR)
                continue;
            die("read from postconf: %s", strerror(errno));
        }
        b_put(&out, tmp, (size_t)r);
    }
    close(pfd[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            die("waitpid: %s", strerror(errno));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("postconf -c %s failed (status %d)", confdir, st);

    char *lines[6] = {0};
    int nl = 0;
    char *save = NULL;
    for (char *l = strtok_r(out.p ? out.p : (char *)"", "\n", &save); l && nl < 6;
         l = strtok_r(NULL, "\n", &save))
        lines[nl++] = l;
    if (nl != 6)
        die("postconf printed %d lines, expected 6", nl);
    if (lines[0][0] != '/')
        die("queue_directory is not absolute: %s", lines[0]);
    snprintf(cfg.qdir, sizeof cfg.qdir, "%s", lines[0]);
    for (char *t = strtok_r(lines[1], ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
        if (cfg.n_hash < 16)
            snprintf(cfg.hash_names[cfg.n_hash++], sizeof cfg.hash_names[0], "%s", t);
    }
    cfg.depth = atoi(lines[2]);
    if (cfg.depth < 1 || cfg.depth > 16)
        die("bad hash_queue_depth %s", lines[2]);
    cfg.long_ids = (strcasecmp(lines[3], "yes") == 0 || strcasecmp(lines[3], "true") == 0 ||
                    strcmp(lines[3], "1") == 0);
    snprintf(cfg.owner, sizeof cfg.owner, "%s", lines[4]);
    struct passwd *pw = getpwnam(lines[4]);
    if (!pw)
        die("mail_owner %s: no such user", lines[4]);
    cfg.uid = pw->pw_uid;
    cfg.gid = pw->pw_gid;
    snprintf(cfg.myhostname, sizeof cfg.myhostname, "%s", lines[5]);
    free(out.p);
}

static int is_hashed(const char *queue)
{
    for (int i = 0; i < cfg.n_hash; i++)
        if (strcasecmp(cfg.hash_names[i], queue) == 0)
            return 1;
    return 0;
}

/* ------------------------------------------------------------------ queue IDs */

static const char safe_alpha[] = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz";

static size_t enc_base(char *out, unsigned long v, unsigned base, size_t pad)
{
    char tmp[64];
    size_t n = 0;
    while (v) {
        tmp[n++] = safe_alpha[v % base];
        v /= base;
    }
    while (n < pad)
        tmp[n++] = '0';
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = 0;
    return n;
}

static unsigned long dec_base(const char *s, size_t n, unsigned base)
{
    unsigned long v = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = memchr(safe_alpha, s[i], base);
        v = v * base + (unsigned long)(p ? p - safe_alpha : 0);
    }
    return v;
}

static void make_id(char *out, size_t n, const struct timeval *tv, ino_t ino)
{
    if (cfg.long_ids) {
        char tmp[80];
        size_t k = enc_base(tmp, (unsigned long)tv->tv_sec, 52, 6);
        k += enc_base(tmp + k, (unsigned long)tv->tv_usec, 52, 4);
        tmp[k++] = 'z';
        k += enc_base(tmp + k, (unsigned long)ino, 51, 0);
        if (k >= n)
            die("queue ID too long");
        memcpy(out, tmp, k + 1);
    } else {
        snprintf(out, n, "%05X%lX", (int)tv->tv_usec, (unsigned long)ino);
    }
}

/* "queue/" or "queue/a/b/" for the ID, like mail_queue_dir() */
static void queue_dir_of(char *out, size_t n, const char *queue, const char *id)
{
    size_t k = (size_t)snprintf(out, n, "%s/", queue);
    if (!is_hashed(queue))
        return;
    char hex[16];
    const char *src = id;
    const char *z = strrchr(id, 'z');
    if (z && z - id >= 10) {              /* long form: hash the usec part */
        unsigned long us = dec_base(z - 4, 4, 52);
        snprintf(hex, sizeof hex, "%05X", (int)us);
        src = hex;
    }
    for (int d = 0; d < cfg.depth && k + 3 < n; d++) {
        char c = *src ? *src++ : '_';
        out[k++] = c;
        out[k++] = '/';
    }
    out[k] = 0;
}

/* create the missing directories of relative path dir (ends with '/') */
static void mkdirs(int qfd, const char *dir)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp; (p = strchr(p, '/')) != NULL; p++) {
        *p = 0;
        if (mkdirat(qfd, tmp, 0700) == 0) {
            if (need_chown && fchownat(qfd, tmp, cfg.uid, cfg.gid, 0) < 0)
                die("chown %s/%s: %s", cfg.qdir, tmp, strerror(errno));
            if (fchmodat(qfd, tmp, 0700, 0) < 0)
                die("chmod %s/%s: %s", cfg.qdir, tmp, strerror(errno));
        } else if (errno != EEXIST) {
            die("mkdir %s/%s: %s", cfg.qdir, tmp, strerror(errno));
        }
        *p = '/';
    }
}

/* --------------------------------------------------------- message content */

typedef struct {
    char addr[128];
    int domain;
    int done;           /* D record: delivered already */
    long offset;        /* file offset of its R record */
} rcpt_t;

#define MAX_RCPT 64

typedef struct {
    int null_sender;
    int local_bounce;
    const sender_t *s;
    char sender[128];
    rcpt_t rc[MAX_RCPT];
    int nrc;
    long arrival, arrival_us;
    int hold;
    uint32_t client_ip;
    char client_ip_s[20];
    char client_name[128];
    char helo[128];
    char id[64];
    int tls;
} msg_t;

typedef struct {
    buf_t file;       /* the queue file */
    buf_t txt;        /* scratch: header/body text */
    buf_t tmp;        /* scratch */
    buf_t dlog;       /* defer log */
    unsigned char *bin;
    size_t bin_cap;
} work_t;

static const char *wday_names[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *mon_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static void fmt_date(buf_t *b, long t, int tz_minutes, int with_zone_name)
{
    time_t lt = (time_t)(t + tz_minutes * 60L);
    struct tm tm;
    gmtime_r(&lt, &tm);
    int a = tz_minutes < 0 ? -tz_minutes : tz_minutes;
    b_printf(b, "%s, %d %s %04d %02d:%02d:%02d %c%02d%02d", wday_names[tm.tm_wday], tm.tm_mday,
             mon_names[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
             tz_minutes < 0 ? '-' : '+', a / 60, a % 60);
    if (with_zone_name && tz_minutes == 0)
        b_puts(b, " (UTC)");
}

static const char *words[] = {
    "the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with",
    "be", "by", "on", "not", "this", "are", "at", "from", "your", "all", "have", "new",
    "more", "an", "was", "we", "will", "can", "us", "about", "if", "page", "my", "has",
    "free", "but", "our", "one", "other", "do", "no", "information", "time", "they",
    "site", "he", "up", "may", "what", "which", "their", "news", "out", "use", "any",
    "there", "see", "only", "so", "his", "when", "contact", "here", "business", "who",
    "web", "also", "now", "help", "get", "pm", "view", "online", "first", "am", "been",
    "would", "how", "were", "me", "services", "some", "these", "click", "its", "like",
    "service", "than", "find", "price", "date", "back", "top", "people", "had", "list",
    "invoice", "payment", "account", "order", "delivery", "meeting", "report", "offer",
    "please", "attached", "regards", "thanks", "tomorrow", "schedule", "project", "review",
};

static void lorem_lines(rng_t *r, buf_t *b, int nlines, int width)
{
    for (int l = 0; l < nlines; l++) {
        int col = 0;
        int target = width - 10 + (int)rbelow(r, 12);
        int startword = 1;
        while (col < target) {
            const char *w = PICK(r, words);
            if (!startword) {
                b_putc(b, ' ');
                col++;
            }
            if (startword && w[0] >= 'a' && w[0] <= 'z') {
                b_putc(b, w[0] - 32);
                b_puts(b, w + 1);
            } else {
                b_puts(b, w);
            }
            col += (int)strlen(w);
            startword = 0;
        }
        b_puts(b, rbelow(r, 3) ? "." : ",");
        b_putc(b, '\n');
        if (rbelow(r, 7) == 0)
            b_putc(b, '\n');
    }
}

static void random_bytes(rng_t *r, unsigned char *p, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v = r64(r);
        memcpy(p + i, &v, 8);
    }
    if (i < n) {
        uint64_t v = r64(r);
        memcpy(p + i, &v, n - i);
    }
}

/* base64 of n pseudo-random bytes (with a plausible magic number), 76-col lines */
static void b64_attachment(work_t *w, rng_t *r, buf_t *out, size_t n, const char *magic, size_t mlen)
{
    if (w->bin_cap < n) {
        free(w->bin);
        w->bin_cap = n + 4096;
        w->bin = malloc(w->bin_cap);
        if (!w->bin)
            die("out of memory");
    }
    random_bytes(r, w->bin, n);
    memcpy(w->bin, magic, mlen < n ? mlen : n);
    for (size_t i = 0; i < n; i += 57) {
        size_t k = n - i < 57 ? n - i : 57;
        b64_enc(out, w->bin + i, k);
        b_putc(out, '\n');
    }
}

static void gen_local(rng_t *r, char *out, size_t n)
{
    const char *fn = PICK(r, first_names), *ln = PICK(r, last_names);
    switch (rbelow(r, 6)) {
    case 0: snprintf(out, n, "%s.%s", fn, ln); break;
    case 1: snprintf(out, n, "%s%s%u", fn, ln, rbelow(r, 100)); break;
    case 2: snprintf(out, n, "%c%s", fn[0], ln); break;
    case 3: snprintf(out, n, "%s_%u", fn, 1950 + rbelow(r, 60)); break;
    case 4: snprintf(out, n, "%s%s", PICK(r, syll), PICK(r, syll)); break;
    default: snprintf(out, n, "%s.%s%u", ln, fn, rbelow(r, 10)); break;
    }
}

/* the subject header value (already encoded), into b */
static void make_subject(rng_t *r, const msg_t *m, buf_t *b, buf_t *tmp)
{
    unsigned num = 1000 + rbelow(r, 899000);
    const int *fam = NULL;
    size_t famn = 0;
    const char *ascii = NULL;
#define FAM(a) (fam = (a), famn = sizeof(a) / sizeof((a)[0]))
    switch (m->s->kind) {
    case K_FLOOD:
        if (rbelow(r, 2)) ascii = PICK(r, ascii_spam); else FAM(subj_utf8_promo);
        break;
    case K_HIJACK: {
        uint32_t x = rbelow(r, 100);
        if (x < 30) FAM(subj_gb);
        else if (x < 45) FAM(subj_big5);
        else if (x < 65) FAM(subj_koi);
        else if (x < 90) FAM(subj_utf8_ru_cn);
        else ascii = PICK(r, ascii_spam);
        break;
    }
    case K_NEWS: {
        uint32_t x = rbelow(r, 100);
        if (x < 40) FAM(subj_latin1);
        else if (x < 80) FAM(subj_utf8_eu);
        else ascii = PICK(r, ascii_spam);
        break;
    }
    case K_PHISH:
        if (rbelow(r, 4)) ascii = PICK(r, ascii_phish); else FAM(subj_utf8_ru_cn);
        break;
    case K_CNSPAM:
        if (rbelow(r, 2)) FAM(subj_gb); else FAM(subj_big5);
        break;
    case K_PHARMA: case K_SMALLSPAM:
        if (rbelow(r, 4)) ascii = PICK(r, ascii_pharma); else FAM(subj_koi);
        break;
    default: {
        uint32_t x = rbelow(r, 100);
        if (x < 65) ascii = PICK(r, ascii_legit);
        else if (x < 90) FAM(subj_utf8_eu);
        else FAM(subj_latin1);
        break;
    }
    }
#undef FAM
    if (ascii) {
        subst_num(b, ascii, num);
        return;
    }
    const cs_text_t *t = &cs_subjects[fam[rbelow(r, (uint32_t)famn)]];
    b_reset(tmp);
    if (rbelow(r, 8) == 0)
        b_puts(tmp, "RE: ");
    subst_num(tmp, t->text, num);
    int q;
    if (strcmp(t->charset, "ISO-8859-1") == 0) q = 1;
    else if (strcmp(t->charset, "UTF-8") == 0) q = (int)rbelow(r, 3) == 0;
    else q = 0;
    rfc2047(b, t->charset, q, tmp->p, tmp->len, strlen("Subject: "));
}

static const char *subject_charset_for_body(const msg_t *m)
{
    switch (m->s->kind) {
    case K_CNSPAM: return "gb2312";
    case K_HIJACK: return "utf-8";
    default: return "us-ascii";
    }
}

/*
 * Build the header+body text of message m into w->txt (lines separated by \n).
 */
static void build_content(work_t *w, rng_t *r, msg_t *m)
{
    buf_t *t = &w->txt;
    b_reset(t);
    char date_srv[80];
    {
        buf_t d = {0};
        fmt_date(&d, m->arrival, 0, 1);
        snprintf(date_srv, sizeof date_srv, "%s", d.p);
        free(d.p);
    }

    if (m->null_sender && m->local_bounce) {
        /* a bounce generated by this very Postfix (backscatter of spam) */
        const rcpt_t *rc = &m->rc[0];
        b_printf(t, "Received: by %s (Postfix)\n\tid %s; %s\n", cfg.myhostname, m->id, date_srv);
        b_printf(t, "Date: %s\n", date_srv);
        b_printf(t, "From: MAILER-DAEMON@%s (Mail Delivery System)\n", cfg.myhostname);
        b_puts(t, "Subject: Undelivered Mail Returned to Sender\n");
        b_printf(t, "To: %s\n", rc->addr);
        b_puts(t, "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n");
        b_printf(t, "Content-Type: multipart/report; report-type=delivery-status;\n"
                    "\tboundary=\"%s.%ld/%s\"\n", m->id, m->arrival, cfg.myhostname);
        b_puts(t, "Content-Transfer-Encoding: 8bit\n");
        b_printf(t, "Message-Id: <%ld.%s@%s>\n\n", m->arrival, m->id, cfg.myhostname);
        b_puts(t, "This is a MIME-encapsulated message.\n\n");
        b_printf(t, "--%s.%ld/%s\n", m->id, m->arrival, cfg.myhostname);
        b_puts(t, "Content-Description: Notification\nContent-Type: text/plain; charset=us-ascii\n\n");
        b_printf(t, "This is the mail system at host %s.\n\n"
                    "I'm sorry to have to inform you that your message could not\n"
                    "be delivered to one or more recipients. It's attached below.\n\n"
                    "For further assistance, please send mail to postmaster.\n\n"
                    "If you do so, please include this problem report. You can\n"
                    "delete your own text from the attached returned message.\n\n"
                    "                   The mail system\n\n", cfg.myhostname);
        char lp[64];
        gen_local(r, lp, sizeof lp);
        const domain_t *d = &domains[cdf_pick(r, domain_cdf, N_DOMAINS)];
        b_printf(t, "<%s@%s>: host %s[%s] said: 550 5.1.1 <%s@%s>: Recipient address\n"
                    "    rejected: User unknown in virtual mailbox table (in reply to RCPT TO\n"
                    "    command)\n\n", lp, d->name, d->mx, d->ip, lp, d->name);
        b_printf(t, "--%s.%ld/%s\n", m->id, m->arrival, cfg.myhostname);
        b_puts(t, "Content-Description: Delivery report\nContent-Type: message/delivery-status\n\n");
        b_printf(t, "Reporting-MTA: dns; %s\nX-Postfix-Queue-ID: %s\nX-Postfix-Sender: rfc822; %s\n"
                    "Arrival-Date: %s\n\n", cfg.myhostname, m->id, rc->addr, date_srv);
        b_printf(t, "Final-Recipient: rfc822; %s@%s\nOriginal-Recipient: rfc822;%s@%s\n"
                    "Action: failed\nStatus: 5.1.1\nRemote-MTA: dns; %s\n"
                    "Diagnostic-Code: smtp; 550 5.1.1 <%s@%s>: Recipient address rejected: User\n"
                    "    unknown in virtual mailbox table\n\n",
                 lp, d->name, lp, d->name, d->mx, lp, d->name);
        b_printf(t, "--%s.%ld/%s\n", m->id, m->arrival, cfg.myhostname);
        b_puts(t, "Content-Description: Undelivered Message Headers\nContent-Type: text/rfc822-headers\n\n");
        b_printf(t, "Received: from User (unknown [%u.%u.%u.%u])\n\tby %s (Postfix) with ESMTP id %05X%X\n"
                    "\tfor <%s@%s>; %s\n",
                 5 + rbelow(r, 200), rbelow(r, 256), rbelow(r, 256), 1 + rbelow(r, 254), cfg.myhostname,
                 rbelow(r, 0xFFFFF), 0x10000 + rbelow(r, 0xFFFFF), lp, d->name, date_srv);
        b_printf(t, "From: %s\nTo: %s@%s\n", rc->addr, lp, d->name);
        b_puts(t, "Subject: ");
        subst_num(t, PICK(r, ascii_spam), 1000 + rbelow(r, 9000));
        b_printf(t, "\nDate: %s\n\n", date_srv);
        b_printf(t, "--%s.%ld/%s--\n", m->id, m->arrival, cfg.myhostname);
        return;
    }

    /* Received header as smtpd writes it */
    int auth = m->s && m->s->sasl_user[0] && !m->null_sender;
    b_printf(t, "Received: from %s (%s [%s])\n", m->helo, m->client_name, m->client_ip_s);
    if (m->tls)
        b_puts(t, "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\n"
                  "\t key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256)\n"
                  "\t(No client certificate requested)\n");
    if (auth)
        b_printf(t, "\t(Authenticated sender: %s)\n", m->s->sasl_user);
    b_printf(t, "\tby %s (Postfix) with ESMTP%s%s id %s", cfg.myhostname, m->tls ? "S" : "",
             auth ? "A" : "", m->id);
    if (m->nrc == 1)
        b_printf(t, "\n\tfor <%s>; %s\n", m->rc[0].addr, date_srv);
    else
        b_printf(t, ";\n\t%s\n", date_srv);

    if (m->null_sender) {
        /* backscatter arriving from a remote MTA */
        const rcpt_t *rc = &m->rc[0];
        b_printf(t, "Date: ");
        fmt_date(t, m->arrival - 30 - rbelow(r, 600), 0, 0);
        b_printf(t, "\nFrom: Mail Delivery Subsystem <MAILER-DAEMON@%s>\n", m->helo);
        b_printf(t, "To: <%s>\n", rc->addr);
        b_puts(t, rbelow(r, 2) ? "Subject: Returned mail: see transcript for details\n"
                               : "Subject: Delivery Status Notification (Failure)\n");
        b_printf(t, "Message-ID: <%08x.%04x@%s>\n", (unsigned)r64(r), rbelow(r, 65536), m->helo);
        b_puts(t, "Auto-Submitted: auto-generated (failure)\nMIME-Version: 1.0\n");
        b_puts(t, "Content-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"DSN-boundary-7f3a\"\n\n");
        b_puts(t, "--DSN-boundary-7f3a\nContent-Type: text/plain; charset=us-ascii\n\n");
        b_puts(t, "The original message was received but could not be delivered\nto the following recipient:\n\n");
        b_printf(t, "    <%s%u@%s>\n\n   ----- Transcript of session follows -----\n"
                    "550 5.1.1 User unknown\n\n", PICK(r, syll), rbelow(r, 999), m->helo);
        b_puts(t, "--DSN-boundary-7f3a\nContent-Type: message/delivery-status\n\n");
        b_printf(t, "Reporting-MTA: dns; %s\n\nFinal-Recipient: RFC822; someone@%s\nAction: failed\n"
                    "Status: 5.1.1\n\n", m->helo, m->helo);
        b_puts(t, "--DSN-boundary-7f3a--\n");
        return;
    }

    const sender_t *s = m->s;
    /* Date as the sender's client put it */
    b_puts(t, "Date: ");
    fmt_date(t, m->arrival - (long)rbelow(r, 120), s->tz_minutes, 0);
    b_putc(t, '\n');
    /* From */
    b_puts(t, "From: ");
    if (s->display_utf8) {
        rfc2047(t, "UTF-8", 0, s->display, strlen(s->display), strlen("From: "));
        b_printf(t, " <%s>\n", s->addr);
    } else if (s->kind == K_HIJACK || rbelow(r, 3)) {
        b_printf(t, "\"%s\" <%s>\n", s->display, s->addr);
    } else {
        b_printf(t, "%s\n", s->addr);
    }
    /* To */
    if (m->nrc > 8) {
        b_puts(t, "To: undisclosed-recipients:;\n");
    } else {
        b_puts(t, "To: ");
        for (int i = 0; i < m->nrc; i++)
            b_printf(t, "%s%s", i ? ",\n\t" : "", m->rc[i].addr);
        b_putc(t, '\n');
    }
    /* Subject */
    b_puts(t, "Subject: ");
    make_subject(r, m, t, &w->tmp);
    b_putc(t, '\n');
    const char *sdom = strchr(s->addr, '@') + 1;
    b_printf(t, "Message-ID: <%08x%08x.%u@%s>\n", (unsigned)r64(r), (unsigned)r64(r), rbelow(r, 100000),
             s->kind == K_HIJACK ? "DESKTOP-4QK2M1L" : sdom);
    if (s->xmailer)
        b_printf(t, "X-Mailer: %s\n", s->xmailer);
    if (s->kind == K_NEWS)
        b_printf(t, "List-Unsubscribe: <https://%s/u/%08x>\nPrecedence: bulk\n", sdom, (unsigned)r64(r));
    if (s->kind == K_FLOOD || s->kind == K_PHARMA)
        b_puts(t, "X-Priority: 1 (Highest)\n");
    b_puts(t, "MIME-Version: 1.0\n");

    /* body kind */
    uint32_t x = rbelow(r, 1000);
    int large = x < 5;                                     /* 0.5 % */
    int attach = large || x < 105 || (s->kind == K_PHISH && x < 400) || (s->kind == K_LEGIT && x < 200);
    int longline = !attach && (s->kind == K_NEWS || s->kind == K_FLOOD) && rbelow(r, 3) == 0;
    const char *bcs = subject_charset_for_body(m);

    if (attach) {
        char bnd[64];
        snprintf(bnd, sizeof bnd, "----=_Part_%u_%u.%ld", rbelow(r, 99999), rbelow(r, 999999), m->arrival);
        b_printf(t, "Content-Type: multipart/mixed;\n\tboundary=\"%s\"\n\n", bnd);
        b_puts(t, "This is a multi-part message in MIME format.\n\n");
        b_printf(t, "--%s\nContent-Type: text/plain; charset=\"us-ascii\"\nContent-Transfer-Encoding: 7bit\n\n", bnd);
        lorem_lines(r, t, 3 + (int)rbelow(r, 10), 72);
        b_printf(t, "\n--%s\n", bnd);
        static const struct { const char *ctype, *name, *magic; size_t mlen; } att[] = {
            {"application/pdf", "invoice_#.pdf", "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", 15},
            {"application/zip", "document_#.zip", "PK\x03\x04\x14\x00\x00\x00\x08\x00", 10},
            {"image/jpeg", "scan_#.jpg", "\xff\xd8\xff\xe0\x00\x10JFIF\x00", 11},
            {"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             "Payment_Advice_#.docx", "PK\x03\x04\x14\x00\x06\x00", 8},
            {"application/octet-stream", "\xd0\xa1\xd1\x87\xd0\xb5\xd1\x82_#.pdf", "%PDF-1.7\n", 9},
        };
        int ai = (int)rbelow(r, (uint32_t)(sizeof att / sizeof att[0]));
        b_reset(&w->tmp);
        subst_num(&w->tmp, att[ai].name, rbelow(r, 100000));
        b_printf(t, "Content-Type: %s;\n\tname=\"", att[ai].ctype);
        int nonascii = 0;
        for (size_t k = 0; k < w->tmp.len; k++)
            if ((unsigned char)w->tmp.p[k] >= 0x80)
                nonascii = 1;
        if (nonascii) {
            buf_t fnb = {0};
            b_put(&fnb, w->tmp.p, w->tmp.len);
            rfc2047(t, "UTF-8", 0, fnb.p, fnb.len, 7);
            b_puts(t, "\"\nContent-Disposition: attachment;\n\tfilename=\"");
            rfc2047(t, "UTF-8", 0, fnb.p, fnb.len, 11);
            free(fnb.p);
        } else {
            b_put(t, w->tmp.p, w->tmp.len);
            b_printf(t, "\"\nContent-Disposition: attachment;\n\tfilename=\"%s", w->tmp.p);
        }
        b_puts(t, "\"\nContent-Transfer-Encoding: base64\n\n");
        size_t sz = large ? 72000 + rbelow(r, 6000) : 600 + rbelow(r, 4000);
        b64_attachment(w, r, t, sz, att[ai].magic, att[ai].mlen);
        b_printf(t, "\n--%s--\n", bnd);
    } else if (longline) {
        /* HTML newsletter with a minified, very long line -> L records */
        char bnd[64];
        snprintf(bnd, sizeof bnd, "b1_%08x%08x", (unsigned)r64(r), (unsigned)r64(r));
        b_printf(t, "Content-Type: multipart/alternative;\n\tboundary=\"%s\"\n\n", bnd);
        b_printf(t, "--%s\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n", bnd);
        lorem_lines(r, t, 4 + (int)rbelow(r, 8), 72);
        b_printf(t, "\n--%s\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n", bnd);
        b_puts(t, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>body{font-family:Arial}</style></head><body>");
        int cells = 30 + (int)rbelow(r, 120);
        for (int c = 0; c < cells; c++) {
            b_printf(t, "<table width=\"600\"><tr><td style=\"padding:8px;color:#333\"><a href=\"https://%s/c/%08x\">",
                     strchr(s->addr, '@') + 1, (unsigned)r64(r));
            b_puts(t, PICK(r, words));
            b_puts(t, " ");
            b_puts(t, PICK(r, words));
            b_puts(t, "</a></td></tr></table>");
        }
        b_puts(t, "</body></html>\n");
        b_printf(t, "\n--%s--\n", bnd);
    } else if (strcmp(bcs, "us-ascii") != 0 && rbelow(r, 2)) {
        /* body in the sender's charset, base64 */
        b_printf(t, "Content-Type: text/plain; charset=\"%s\"\nContent-Transfer-Encoding: base64\n\n", bcs);
        const int *fam = strcmp(bcs, "gb2312") == 0 ? subj_gb : subj_utf8_ru_cn;
        b_reset(&w->tmp);
        for (int k = 0; k < 6 + (int)rbelow(r, 20); k++) {
            subst_num(&w->tmp, cs_subjects[fam[rbelow(r, 3)]].text, rbelow(r, 1000));
            b_puts(&w->tmp, "\r\n");
        }
        buf_t enc = {0};
        b64_enc(&enc, (const unsigned char *)w->tmp.p, w->tmp.len);
        for (size_t k = 0; k < enc.len; k += 76) {
            b_put(t, enc.p + k, enc.len - k < 76 ? enc.len - k : 76);
            b_putc(t, '\n');
        }
        free(enc.p);
    } else if (s->kind == K_LEGIT && rbelow(r, 3) == 0) {
        b_puts(t, "Content-Type: text/plain; charset=\"utf-8\"\nContent-Transfer-Encoding: quoted-printable\n\n");
        b_puts(t, "Hallo zusammen,\n\nanbei die =C3=BCberarbeitete Version. Bitte pr=C3=BCft die Zahlen f=C3=BCr=\n"
                  " das n=C3=A4chste Quartal.\n\n");
        lorem_lines(r, t, 2 + (int)rbelow(r, 12), 72);
        b_printf(t, "\n--\n%s\n", s->display);
    } else {
        b_puts(t, "Content-Type: text/plain; charset=\"us-ascii\"\nContent-Transfer-Encoding: 7bit\n\n");
        lorem_lines(r, t, 2 + (int)rbelow(r, 30), 72);
        if (s->kind == K_PHISH)
            b_printf(t, "\nhttps://secure-login.%s/verify?id=%08x\n", "account-verify-center.test", (unsigned)r64(r));
        b_printf(t, "\n-- \n%s\n", s->display);
    }
}

/* ------------------------------------------------------------ defer reasons */

static void defer_block(buf_t *b, rng_t *r, const rcpt_t *rc, int reason, const domain_t *d)
{
    char why[600];
    const char *status = "4.4.1";
    switch (reason) {
    case RS_REFUSED:
        snprintf(why, sizeof why, "connect to %s[%s]:25: Connection refused", d->mx, d->ip);
        break;
    case RS_TIMEOUT:
        snprintf(why, sizeof why, "connect to %s[%s]:25: Connection timed out", d->mx, d->ip);
        break;
    case RS_TOOMANY:
        status = "4.7.0";
        snprintf(why, sizeof why, "host %s[%s] said: 421 4.7.0 Too many connections from your IP "
                 "address, please try again later (in reply to MAIL FROM command)", d->mx, d->ip);
        break;
    case RS_GREYLIST:
        status = "4.7.1";
        snprintf(why, sizeof why, "host %s[%s] said: 450 4.7.1 <%s>: Recipient address rejected: "
                 "Greylisted, try again later (in reply to RCPT TO command)", d->mx, d->ip, rc->addr);
        break;
    case RS_MBOXFULL:
        status = "4.2.2";
        snprintf(why, sizeof why, "host %s[%s] said: 452 4.2.2 <%s>: Mailbox full, quota exceeded "
                 "(in reply to RCPT TO command)", d->mx, d->ip, rc->addr);
        break;
    case RS_NOTFOUND:
        status = "4.4.3";
        snprintf(why, sizeof why, "Host or domain name not found. Name service error for name=%s "
                 "type=MX: Host not found, try again", d->name);
        break;
    case RS_TLS:
        status = "4.7.5";
        snprintf(why, sizeof why, "Cannot start TLS: handshake failure with %s[%s]:25", d->mx, d->ip);
        break;
    case RS_BLACKLIST:
        status = "4.7.1";
        snprintf(why, sizeof why, "host %s[%s] refused to talk to me: 554 5.7.1 Service unavailable; "
                 "Client host [" OUR_IP "] blocked using zen.spamhaus.org; "
                 "https://www.spamhaus.org/query/ip/" OUR_IP, d->mx, d->ip);
        break;
    case RS_GMAIL:
        status = "4.7.28";
        snprintf(why, sizeof why, "host %s[%s] said: 421-4.7.28 Gmail has detected an unusual rate of "
                 "unsolicited mail originating from your IP address. To protect our users from spam, "
                 "mail sent from your IP address has been temporarily rate limited. 421 4.7.28 For more "
                 "information, go to https://support.google.com/mail/?p=UnsolicitedRateLimitError "
                 "%c%c%u-%u.%u - gsmtp (in reply to end of DATA command)",
                 d->mx, d->ip, 'a' + rbelow(r, 26), 'a' + rbelow(r, 26), rbelow(r, 1000000),
                 rbelow(r, 100000), rbelow(r, 100));
        break;
    case RS_YAHOO:
        status = "4.7.0";
        snprintf(why, sizeof why, "host %s[%s] said: 421 4.7.0 [TSS04] Messages from " OUR_IP
                 " temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; "
                 "see https://postmaster.yahooinc.com/error-codes (in reply to MAIL FROM command)",
                 d->mx, d->ip);
        break;
    case RS_MSFT:
        status = "4.7.650";
        snprintf(why, sizeof why, "host %s[%s] said: 451 4.7.650 The mail server [" OUR_IP
                 "] has been temporarily rate limited due to IP reputation. For e-mail delivery "
                 "information, see https://aka.ms/postmaster (S775) [%s.prod.protection.outlook.com] "
                 "(in reply to MAIL FROM command)", d->mx, d->ip,
                 rbelow(r, 2) ? "AM2PEPF0001C70F.eurprd05" : "DM6NAM12FT045.eop-nam12");
        break;
    case RS_LOSTCONN:
        status = "4.4.2";
        snprintf(why, sizeof why, "lost connection with %s[%s] while receiving the initial server greeting",
                 d->mx, d->ip);
        break;
    case RS_DATA_TIMEOUT:
        status = "4.4.2";
        snprintf(why, sizeof why, "conversation with %s[%s] timed out while sending end of data -- "
                 "message may be sent more than once", d->mx, d->ip);
        break;
    case RS_QQ:
        status = "4.7.0";
        snprintf(why, sizeof why, "host %s[%s] said: 451 Mail from your IP is temporarily restricted due "
                 "to excessive volume, please try later. (in reply to RCPT TO command)", d->mx, d->ip);
        break;
    default: /* RS_MAILRU */
        status = "4.7.1";
        snprintf(why, sizeof why, "host %s[%s] said: 450 4.7.1 Try again later, greylisted. "
                 "Please see https://help.mail.ru/postmaster (in reply to RCPT TO command)", d->mx, d->ip);
        break;
    }
    /* like bounce_append_service(): blank line, old-style line, name=value lines */
    b_printf(b, "\n<%s>: %s\nrecipient=%s\noffset=%ld\ndsn_orig_rcpt=rfc822;%s\nstatus=%s\n"
                "action=delayed\nreason=%s\n\n",
             rc->addr, why, rc->addr, rc->offset, rc->addr, status, why);
}

/* ------------------------------------------------------------- one message */

typedef struct {
    uint64_t seed;
    double hold_pct;
    long now;
} params_t;

typedef struct {
    long deferred, hold, rcpts, bytes, large, bounces;
} stats_t;

static void plan_message(const params_t *pp, rng_t *r, msg_t *m)
{
    /* zero everything but the (large) recipient array */
    memset(m, 0, offsetof(msg_t, rc));
    memset(&m->nrc, 0, sizeof *m - offsetof(msg_t, nrc));
    m->null_sender = rpct(r, 5.0);
    m->hold = rpct(r, pp->hold_pct);
    m->s = &senders[cdf_pick(r, sender_cdf, N_SENDERS)];
    if (m->null_sender) {
        m->sender[0] = 0;
        m->local_bounce = rbelow(r, 5) < 3;
    } else {
        snprintf(m->sender, sizeof m->sender, "%s", m->s->addr);
    }

    /* recipients */
    int n;
    if (m->null_sender) {
        n = 1;
    } else {
        uint32_t x = rbelow(r, 1000);
        n = x < 600 ? 1 : x < 750 ? 2 : x < 850 ? 3 : x < 920 ? 4 : x < 975 ? 5 : 50;
        if (m->s->kind == K_LEGIT && n == 50 && rbelow(r, 2))
            n = 2;
    }
    int legit_dom = -1;
    if (m->s->kind == K_LEGIT && rbelow(r, 3) == 0)
        legit_dom = N_NAMED_DOMAINS + (int)rbelow(r, 60);   /* partner company */
    for (int i = 0; i < n; i++) {
        rcpt_t *rc = &m->rc[m->nrc];
        char lp[80];
        int dom = legit_dom >= 0 ? legit_dom : cdf_pick(r, domain_cdf, N_DOMAINS);
        gen_local(r, lp, sizeof lp);
        snprintf(rc->addr, sizeof rc->addr, "%s@%s", lp, domains[dom].name);
        rc->domain = dom;
        rc->done = 0;
        rc->offset = 0;
        int dup = 0;
        for (int k = 0; k < m->nrc; k++)
            if (strcmp(m->rc[k].addr, rc->addr) == 0)
                dup = 1;
        if (!dup)
            m->nrc++;
    }
    /* some multi-recipient messages were already delivered to one recipient */
    if (!m->hold && m->nrc >= 2 && rbelow(r, 100) < 4)
        m->rc[0].done = 1;

    /* arrival: flood mail in the last hours, the rest over a few days */
    long age;
    if (m->s->kind != K_LEGIT && !m->null_sender) {
        double u = runit(r);
        age = 30 + (long)(u * u * 8 * 3600);
    } else {
        age = 60 + (long)(runit(r) * 3 * 86400);
        if (rbelow(r, 30) == 0)
            age += (long)(runit(r) * 2 * 86400);
    }
    m->arrival = pp->now - age;
    m->arrival_us = (long)rbelow(r, 1000000);

    /* client */
    if (!m->null_sender || !m->local_bounce) {
        if (m->null_sender) {
            const domain_t *d = &domains[cdf_pick(r, domain_cdf, N_DOMAINS)];
            m->client_ip = public_ip(r);
            snprintf(m->helo, sizeof m->helo, "%s", d->mx);
            snprintf(m->client_name, sizeof m->client_name, "%s", d->mx);
        } else {
            const sender_t *s = m->s;
            m->client_ip = s->ips[rbelow(r, (uint32_t)s->n_ips)];
            if (s->client_name[0]) {
                snprintf(m->client_name, sizeof m->client_name, "%s", s->client_name);
            } else if (rbelow(r, 3) == 0) {
                snprintf(m->client_name, sizeof m->client_name, "unknown");
            } else {
                static const char *isps[] = {"dyn.telecom-isp.net", "pool.broadband.example",
                                             "dsl.provider.test", "res.cable-isp.example"};
                uint32_t ip = m->client_ip;
                snprintf(m->client_name, sizeof m->client_name, "%u-%u-%u-%u.%s", ip >> 24,
                         (ip >> 16) & 255, (ip >> 8) & 255, ip & 255, isps[(ip >> 8) % 4]);
            }
            if (s->helo[0]) {
                snprintf(m->helo, sizeof m->helo, "%s", s->helo);
            } else {
                static const char *helos[] = {"User", "DESKTOP-4QK2M1L", "WIN-8T3FQ0L2JPR", "[%s]", "localhost"};
                const char *h = PICK(r, helos);
                char ips[20];
                ip_str(m->client_ip, ips, sizeof ips);
                if (strcmp(h, "[%s]") == 0)
                    snprintf(m->helo, sizeof m->helo, "[%s]", ips);
                else
                    snprintf(m->helo, sizeof m->helo, "%s", h);
            }
        }
        ip_str(m->client_ip, m->client_ip_s, sizeof m->client_ip_s);
        m->tls = (m->s->kind == K_LEGIT || m->s->kind == K_HIJACK) ? rbelow(r, 10) < 8 : rbelow(r, 3) == 0;
    }
}

static void build_file(work_t *w, rng_t *r, msg_t *m)
{
    buf_t *f = &w->file;
    b_reset(f);
    /* C record placeholder, patched at the end (fixed width, like cleanup) */
    recf(f, 'C', "%15ld %15ld %15ld %15ld %15ld %15ld", 0L, 0L, 0L, 0L, 0L, 0L);
    recf(f, 'T', "%ld %ld", m->arrival, m->arrival_us);
    recf(f, 'A', "create_time=%ld", m->arrival);
    int smtp = !(m->null_sender && m->local_bounce);
    recs(f, 'A', smtp ? "rewrite_context=remote" : "rewrite_context=local");
    int auth = smtp && !m->null_sender && m->s->sasl_user[0];
    if (auth) {
        recf(f, 'A', "sasl_method=%s", m->s->sasl_method);
        recf(f, 'A', "sasl_username=%s", m->s->sasl_user);
    }
    recs(f, 'S', m->sender);
    if (smtp) {
        unsigned port = 1024 + rbelow(r, 64000);
        recf(f, 'A', "log_client_name=%s", m->client_name);
        recf(f, 'A', "log_client_address=%s", m->client_ip_s);
        recf(f, 'A', "log_client_port=%u", port);
        recf(f, 'A', "log_message_origin=%s[%s]", m->client_name, m->client_ip_s);
        recf(f, 'A', "log_helo_name=%s", m->helo);
        recs(f, 'A', "log_protocol_name=ESMTP");
        recf(f, 'A', "client_name=%s", m->client_name);
        recf(f, 'A', "reverse_client_name=%s", m->client_name);
        recf(f, 'A', "client_address=%s", m->client_ip_s);
        recf(f, 'A', "client_port=%u", port);
        recf(f, 'A', "server_address=%s", OUR_IP);
        recf(f, 'A', "server_port=%s", auth ? "587" : "25");
        recf(f, 'A', "helo_name=%s", m->helo);
        recs(f, 'A', "protocol_name=ESMTP");
        recs(f, 'A', "client_address_type=2");
    }
    for (int i = 0; i < m->nrc; i++) {
        rcpt_t *rc = &m->rc[i];
        recf(f, 'A', "dsn_orig_rcpt=rfc822;%s", rc->addr);
        recs(f, 'O', rc->addr);
        rc->offset = (long)f->len;
        recs(f, rc->done ? 'D' : 'R', rc->addr);
    }
    rec(f, 'M', "", 0);
    long data_offset = (long)f->len;
    build_content(w, r, m);
    content_text(f, w->txt.p, w->txt.len);
    long xtra_offset = (long)f->len;
    rec(f, 'X', "", 0);
    rec(f, 'E', "", 0);
    /* patch the size record: header is 'C' + one length byte (95 < 128) */
    char c[128];
    int n = snprintf(c, sizeof c, "%15ld %15ld %15ld %15ld %15ld %15ld", xtra_offset - data_offset,
                     data_offset, (long)m->nrc, 0L, xtra_offset - data_offset, 0L);
    if (n != 95)
        die("internal error: size record is %d bytes", n);
    memcpy(f->p + 2, c, 95);
}

static void write_all(int fd, const char *p, size_t n, const char *what)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            die("write %s: %s", what, strerror(errno));
        }
        p += k;
        n -= (size_t)k;
    }
}

static void one_message(const params_t *pp, int qfd, work_t *w, int index, stats_t *st)
{
    rng_t r = {mix64(pp->seed * 0x9E3779B97F4A7C15ULL + (uint64_t)index * 0xD1B54A32D192ED03ULL + 1)};
    msg_t m;
    plan_message(pp, &r, &m);

    /* 1. the file before it has a name.  An unnamed O_TMPFILE inode costs no
     * directory entry in incoming/ and no cross-directory rename (all workers
     * would serialise on incoming/'s lock); it gets its one name with linkat
     * once complete, which is as atomic for qmgr as cleanup's rename.  Where
     * the file system lacks O_TMPFILE: incoming/<usec>.<pid> (not a valid
     * queue ID, so qmgr, showq and postsuper ignore it), as cleanup does. */
    char tmpname[64];
    struct timeval tv;
    int fd = -1;
    if (use_tmpfile) {
        fd = openat(qfd, "incoming", O_TMPFILE | O_RDWR | O_CLOEXEC, 0700);
        if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL))
            use_tmpfile = 0;
        else if (fd < 0)
            die("create in %s/incoming: %s", cfg.qdir, strerror(errno));
    }
    while (fd < 0) {
        gettimeofday(&tv, NULL);
        snprintf(tmpname, sizeof tmpname, "incoming/%d.%d", (int)tv.tv_usec, (int)getpid());
        fd = openat(qfd, tmpname, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST)
            die("create %s/%s: %s", cfg.qdir, tmpname, strerror(errno));
    }
    int named = !use_tmpfile;
    struct stat sb;
    if (fstat(fd, &sb) < 0)
        die("fstat: %s", strerror(errno));
    gettimeofday(&tv, NULL);
    make_id(m.id, sizeof m.id, &tv, sb.st_ino);
    if (!named)
        snprintf(tmpname, sizeof tmpname, "/proc/self/fd/%d", fd);

    /* 2. records */
    build_file(w, &r, &m);
    write_all(fd, w->file.p, w->file.len, tmpname);
    if (need_chown && fchown(fd, cfg.uid, cfg.gid) < 0)
        die("chown %s: %s", tmpname, strerror(errno));
    if (named && fchmod(fd, 0700) < 0)
        die("chmod %s: %s", tmpname, strerror(errno));
    const char *queue = m.hold ? "hold" : "deferred";
    if (!m.hold) {
        /* next retry time: 1-3 hours from now */
        struct timespec ts[2];
        ts[0].tv_sec = pp->now;
        ts[0].tv_nsec = 0;
        ts[1].tv_sec = pp->now + 3600 + (long)rbelow(&r, 7200);
        ts[1].tv_nsec = 0;
        if (futimens(fd, ts) < 0)
            die("futimens: %s", strerror(errno));
    } else {
        struct timespec ts[2] = {{m.arrival, 0}, {m.arrival, 0}};
        if (futimens(fd, ts) < 0)
            die("futimens: %s", strerror(errno));
    }
    if (named && close(fd) < 0)
        die("close %s: %s", tmpname, strerror(errno));

    /* 3. defer log */
    if (!m.hold) {
        b_reset(&w->dlog);
        for (int i = 0; i < m.nrc; i++) {
            const rcpt_t *rc = &m.rc[i];
            if (rc->done)
                continue;
            int reason = domains[rc->domain].reason;
            uint32_t x = rbelow(&r, 100);
            if (x < 6)
                reason = RS_MBOXFULL;
            else if (x < 12)
                reason = RS_GREYLIST;
            defer_block(&w->dlog, &r, rc, reason, &domains[rc->domain]);
        }
        char dpath[PATH_MAX];
        queue_dir_of(dpath, sizeof dpath, "defer", m.id);
        size_t dl = strlen(dpath);
        snprintf(dpath + dl, sizeof dpath - dl, "%s", m.id);
        int dfd = openat(qfd, dpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (dfd < 0 && errno == ENOENT) {
            dpath[dl] = 0;
            mkdirs(qfd, dpath);
            snprintf(dpath + dl, sizeof dpath - dl, "%s", m.id);
            dfd = openat(qfd, dpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        }
        if (dfd < 0)
            die("create %s/%s: %s", cfg.qdir, dpath, strerror(errno));
        write_all(dfd, w->dlog.p, w->dlog.len, dpath);
        if (need_chown && fchown(dfd, cfg.uid, cfg.gid) < 0)
            die("chown %s: %s", dpath, strerror(errno));
        if (close(dfd) < 0)
            die("close %s: %s", dpath, strerror(errno));
    }

    /* 4. into the queue */
    char qpath[PATH_MAX];
    queue_dir_of(qpath, sizeof qpath, queue, m.id);
    size_t ql = strlen(qpath);
    snprintf(qpath + ql, sizeof qpath - ql, "%s", m.id);
    if (!named) {
        /* the /proc link needs no capability, unlike AT_EMPTY_PATH */
        if (linkat(AT_FDCWD, tmpname, qfd, qpath, AT_SYMLINK_FOLLOW) < 0) {
            if (errno != ENOENT)
                die("link %s: %s", qpath, strerror(errno));
            qpath[ql] = 0;
            mkdirs(qfd, qpath);
            snprintf(qpath + ql, sizeof qpath - ql, "%s", m.id);
            if (linkat(AT_FDCWD, tmpname, qfd, qpath, AT_SYMLINK_FOLLOW) < 0)
                die("link %s: %s", qpath, strerror(errno));
        }
        if (close(fd) < 0)
            die("close %s: %s", qpath, strerror(errno));
    } else if (renameat(qfd, tmpname, qfd, qpath) < 0) {
        if (errno != ENOENT)
            die("rename %s to %s: %s", tmpname, qpath, strerror(errno));
        qpath[ql] = 0;
        mkdirs(qfd, qpath);
        snprintf(qpath + ql, sizeof qpath - ql, "%s", m.id);
        if (renameat(qfd, tmpname, qfd, qpath) < 0)
            die("rename %s to %s: %s", tmpname, qpath, strerror(errno));
    }

    if (m.hold)
        st->hold++;
    else
        st->deferred++;
    st->rcpts += m.nrc;
    st->bytes += (long)w->file.len;
    if (m.null_sender)
        st->bounces++;
    if (w->file.len > 90000)
        st->large++;
}

/*
 * Like cleanup(8), create the files as mail_owner: switch the effective IDs
 * (in the workers only; root keeps its real uid), so that no chown is needed.
 */
static void become_owner(void)
{
    if (geteuid() == 0 && cfg.uid != 0) {
        if (setegid(cfg.gid) < 0 || seteuid(cfg.uid) < 0)
            die("cannot switch to %s: %s", cfg.owner, strerror(errno));
        need_chown = 0;
    } else if (geteuid() == cfg.uid && getegid() == cfg.gid) {
        need_chown = 0;
    }
}

/* -------------------------------------------------------------------- main */

static void usage(void)
{
    fprintf(stderr,
            "usage: %s -c CONFIG_DIR -n N [--seed S] [--hold-percent P] [--deferred-percent P]\n"
            "            [-j JOBS] [--force]\n"
            "Writes N realistic queue files into the queue of the Postfix instance whose\n"
            "main.cf is in CONFIG_DIR (deferred, with defer logs and a future retry time,\n"
            "or hold). Meant for throwaway test instances; refuses /etc/postfix unless --force.\n",
            progname);
    exit(2);
}

static long parse_long(const char *s, const char *what, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi)
        die("bad %s: %s", what, s);
    return v;
}

static double parse_pct(const char *s, const char *what)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || end == s || v < 0 || v > 100)
        die("bad %s: %s (want 0..100)", what, s);
    return v;
}

int main(int argc, char **argv)
{
    const char *confdir = NULL;
    long n = -1;
    uint64_t seed = 1;
    double hold_pct = -1, def_pct = -1;
    int jobs = 0, force = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = NULL;
#define OPTV(name) ((strcmp(a, name) == 0 && i + 1 < argc && (v = argv[++i])) || \
                    (strncmp(a, name "=", strlen(name) + 1) == 0 && (v = a + strlen(name) + 1)))
        if (OPTV("-c") || OPTV("--config")) confdir = v;
        else if (OPTV("-n") || OPTV("--count")) n = parse_long(v, "-n", 0, 100000000L);
        else if (OPTV("--seed")) seed = (uint64_t)strtoull(v, NULL, 0);
        else if (OPTV("--hold-percent")) hold_pct = parse_pct(v, "--hold-percent");
        else if (OPTV("--deferred-percent")) def_pct = parse_pct(v, "--deferred-percent");
        else if (OPTV("-j") || OPTV("--jobs")) jobs = (int)parse_long(v, "-j", 1, 64);
        else if (strcmp(a, "--force") == 0) force = 1;
        else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) usage();
        else {
            fprintf(stderr, "%s: unknown or incomplete option: %s\n", progname, a);
            usage();
        }
#undef OPTV
    }
    if (!confdir || n < 0)
        usage();
    if (hold_pct < 0 && def_pct < 0) hold_pct = 10;
    else if (hold_pct < 0) hold_pct = 100 - def_pct;
    else if (def_pct >= 0 && (hold_pct + def_pct < 99.999 || hold_pct + def_pct > 100.001))
        die("--hold-percent and --deferred-percent must add up to 100");

    char rc[PATH_MAX];
    if (!realpath(confdir, rc))
        die("%s: %s", confdir, strerror(errno));
    if (!force && strcmp(rc, "/etc/postfix") == 0)
        die("refusing to fill the default instance (%s); use a test instance or --force", rc);
    read_config(rc);
    if (!force && strcmp(cfg.qdir, "/var/spool/postfix") == 0)
        die("refusing to fill the default queue %s; use a test instance or --force", cfg.qdir);

    int qfd = open(cfg.qdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (qfd < 0)
        die("%s: %s", cfg.qdir, strerror(errno));
    struct stat sb;
    if (fstatat(qfd, "incoming", &sb, 0) < 0 || fstatat(qfd, "deferred", &sb, 0) < 0 ||
        fstatat(qfd, "hold", &sb, 0) < 0 || fstatat(qfd, "defer", &sb, 0) < 0)
        die("%s does not look like a Postfix queue (run postfix set-permissions first)", cfg.qdir);

    build_universe(seed);
    umask(077);
    if (jobs <= 0) {
        /* the work is mostly in the kernel (create, write, rename); two
         * workers per CPU hide the directory-lock waits */
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        jobs = c < 1 ? 2 : c > 4 ? 8 : (int)(2 * c);
    }
    if (n < 1000L * jobs)
        jobs = n >= 1000 ? (int)(n / 1000) : 1;

    params_t pp = {seed, hold_pct, (long)time(NULL)};
    struct timeval t0, t1;
    gettimeofday(&t0, NULL);

    stats_t total = {0};
    pid_t pids[64];
    int pipes[64];
    for (int j = 0; j < jobs; j++) {
        long lo = n * j / jobs, hi = n * (j + 1) / jobs;
        int pfd[2];
        if (pipe(pfd) < 0)
            die("pipe: %s", strerror(errno));
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
            die("fork: %s", strerror(errno));
        if (pid == 0) {
            close(pfd[0]);
            become_owner();
            work_t w = {0};
            stats_t st = {0};
            for (long i = lo; i < hi; i++)
                one_message(&pp, qfd, &w, (int)i, &st);
            write_all(pfd[1], (const char *)&st, sizeof st, "pipe");
            _exit(0);
        }
        close(pfd[1]);
        pids[j] = pid;
        pipes[j] = pfd[0];
    }
    int failed = 0;
    for (int j = 0; j < jobs; j++) {
        stats_t st;
        size_t got = 0;
        while (got < sizeof st) {
            ssize_t k = read(pipes[j], (char *)&st + got, sizeof st - got);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                break;
            got += (size_t)k;
        }
        close(pipes[j]);
        int status;
        while (waitpid(pids[j], &status, 0) < 0 && errno == EINTR)
            ;
        if (got != sizeof st || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            failed = 1;
            continue;
        }
        total.deferred += st.deferred;
        total.hold += st.hold;
        total.rcpts += st.rcpts;
        total.bytes += st.bytes;
        total.large += st.large;
        total.bounces += st.bounces;
    }
    gettimeofday(&t1, NULL);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_usec - t0.tv_usec) / 1e6;
    long done = total.deferred + total.hold;
    fprintf(stderr,
            "qgen: %ld messages (%ld deferred, %ld hold; %ld recipients, %ld null-sender, %ld large; "
            "%.1f MB) into %s (%s IDs) in %.2f s with %d jobs: %.0f msg/s\n",
            done, total.deferred, total.hold, total.rcpts, total.bounces, total.large,
            (double)total.bytes / 1e6, cfg.qdir, cfg.long_ids ? "long" : "short", secs, jobs,
            secs > 0 ? (double)done / secs : 0.0);
    if (failed)
        die("a worker failed; the queue holds %ld messages from this run", done);
    return 0;
}
