/* Whether the SMTP server consults qtriage's access tables (block.h): the
 * smtpd_*_restrictions of main.cf and their overrides in master.cf, as
 * postconf reports them.  Read only: qtriage never edits either file. */
#include "qtriage/block.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "qtriage/proc.h"

/* The lists a check_*_access may sit in and act on every message. */
static const char *const lists[] = {
    "smtpd_client_restrictions", "smtpd_helo_restrictions", "smtpd_sender_restrictions",
    "smtpd_relay_restrictions", "smtpd_recipient_restrictions",
};
#define NLISTS QT_ARRAY_LEN(lists)

/* Where the line qtriage prints puts its checks: at the front of the
 * recipient restrictions, before any permit, and independent of the
 * relay restrictions (a permit there ends only that list). */
#define ADVISED_LIST "smtpd_recipient_restrictions"

static bool run_postconf(const struct qt_block_tables *b, const char *const *args,
                         struct qt_buf *out, struct qt_error *err)
{
    const char *argv[16];
    int argc = 0;
    struct qt_proc_spec spec = {.argv = argv};
    struct qt_proc_result res;
    bool ok;

    argv[argc++] = b->postconf;
    if (b->instance) {
        argv[argc++] = "-c";
        argv[argc++] = b->instance;
    }
    for (; *args && argc < 15; args++)
        argv[argc++] = *args;
    argv[argc] = NULL;
    ok = qt_proc_run(&spec, &res);
    if (ok)
        qt_buf_append(out, res.out.data ? res.out.data : "", res.out.len);
    else
        qt_proc_describe(&spec, &res, err->msg, sizeof(err->msg));
    qt_proc_result_free(&res);
    return ok;
}

/* Where table `t`'s check is in the restriction list `value`: 1 in place,
 * 0 absent, -1 after a permit (its name into `permit`). */
static int check_position(const struct qt_block_tables *b, enum qt_block_table t,
                          const char *value, char *permit, size_t size)
{
    char *copy = xstrdup(value), *save = NULL, *tok, *prev = NULL;
    char *map = xasprintf("%s:%s/%s", b->db_type, b->config_dir, qt_block_table_file(t));
    const char *seen_permit = NULL;
    int r = 0;

    for (tok = strtok_r(copy, " \t\r\n,", &save); tok; tok = strtok_r(NULL, " \t\r\n,", &save)) {
        if (prev && strcasecmp(prev, qt_block_table_check(t)) == 0 && strcmp(tok, map) == 0) {
            if (seen_permit) {
                snprintf(permit, size, "%s", seen_permit);
                r = -1;
            } else {
                r = 1;
            }
            break;
        }
        if (!seen_permit && strncasecmp(tok, "permit", 6) == 0)
            seen_permit = tok;
        prev = tok;
    }
    free(map);
    free(copy);
    return r;
}

/* The table's state over a set of list values: 1 in place, else 0 or -1
 * with `why` saying where. */
static int table_state(const struct qt_block_tables *b, enum qt_block_table t,
                       char *const *values, char *why, size_t size)
{
    char permit[80] = "";
    int best = 0;

    for (size_t i = 0; i < NLISTS; i++) {
        int r = check_position(b, t, values[i], permit, sizeof(permit));

        if (r == 1)
            return 1;
        if (r == -1 && best == 0) {
            best = -1;
            snprintf(why, size, "%s comes after %s in %s: mail that it permits never reaches "
                     "the table", qt_block_table_check(t), permit, lists[i]);
        }
    }
    if (best == 0)
        snprintf(why, size, "%s %s:%s/%s is in no smtpd_*_restrictions",
                 qt_block_table_check(t), b->db_type, b->config_dir, qt_block_table_file(t));
    return best;
}

/* master.cf services that override a restriction list ("-o"): each must
 * use the tables too, or mail through that service is not stopped. */
static void check_overrides(const struct qt_block_tables *b, char *const *main_values,
                            struct qt_block_wiring *w, const char *text)
{
    char services[16][128];
    size_t nserv = 0;

    for (const char *line = text; *line; ) {
        const char *nl = strchr(line, '\n'), *eq;
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char buf[4096], *slash;

        snprintf(buf, sizeof(buf), "%.*s", (int)len, line);
        line += len + (nl ? 1 : 0);
        if (!(eq = strstr(buf, " = ")))
            continue;
        /* service/type/parameter = value: the last '/' before " = " */
        slash = NULL;
        for (char *q = buf; q < eq; q++)
            if (*q == '/')
                slash = q;
        if (!slash)
            continue;
        for (size_t i = 0; i < NLISTS; i++)
            if ((size_t)(eq - slash - 1) == strlen(lists[i]) &&
                strncmp(slash + 1, lists[i], strlen(lists[i])) == 0) {
                size_t j;
                int n = (int)(slash - buf);

                for (j = 0; j < nserv; j++)
                    if (strncmp(services[j], buf, (size_t)n) == 0 && services[j][n] == '\0')
                        break;
                if (j == nserv && nserv < QT_ARRAY_LEN(services))
                    snprintf(services[nserv++], sizeof(services[0]), "%.*s", n, buf);
            }
    }
    for (size_t s = 0; s < nserv; s++) {
        char *values[NLISTS];
        char prefix[160];

        snprintf(prefix, sizeof(prefix), "%s/", services[s]);
        for (size_t i = 0; i < NLISTS; i++) {
            char *key = xasprintf("\n%s%s = ", prefix, lists[i]);
            char *scan = xasprintf("\n%s", text);
            const char *hit = strstr(scan, key);

            if (hit) {
                hit += strlen(key);
                values[i] = xstrndup(hit, strcspn(hit, "\n"));
            } else {
                values[i] = xstrdup(main_values[i]);
            }
            free(key);
            free(scan);
        }
        for (int t = 0; t < QT_BLOCK_TABLE_COUNT; t++) {
            char why[200] = "";

            if (w->in_place[t] && table_state(b, (enum qt_block_table)t, values, why,
                                              sizeof(why)) != 1) {
                w->in_place[t] = false;
                snprintf(w->why[t], sizeof(w->why[t]),
                         "master.cf service %s overrides the restrictions without %s",
                         services[s], qt_block_table_check((enum qt_block_table)t));
            }
        }
        for (size_t i = 0; i < NLISTS; i++)
            free(values[i]);
    }
}

bool qt_block_wiring_check(const struct qt_block_tables *b, struct qt_block_wiring *w,
                           struct qt_error *err)
{
    const char *args_x[NLISTS + 4] = {"-h", "-x"};
    const char *args_raw[] = {"-h", ADVISED_LIST, NULL};
    const char *args_p[] = {"-P", "-x", NULL};
    char *values[NLISTS] = {0};
    struct qt_buf out = {0}, raw = {0}, master = {0};
    bool main_ok[QT_BLOCK_TABLE_COUNT], ok = false;
    const char *p;

    memset(w, 0, sizeof(*w));
    for (size_t i = 0; i < NLISTS; i++)
        args_x[2 + i] = lists[i];
    args_x[2 + NLISTS] = "smtpd_sasl_auth_enable";
    if (!run_postconf(b, args_x, &out, err) || !run_postconf(b, args_raw, &raw, err))
        goto out;
    p = out.data ? out.data : "";
    for (size_t i = 0; i < NLISTS; i++) {
        size_t len = strcspn(p, "\n");

        values[i] = xstrndup(p, len);
        p += len + (p[len] ? 1 : 0);
    }
    /* smtpd skips check_sasl_access ("ignored: no SASL support", a
     * warning per session) unless SASL is on: the line leaves it out then. */
    w->sasl_off = strncasecmp(p, "yes", 3) != 0;
    for (int t = 0; t < QT_BLOCK_TABLE_COUNT; t++) {
        w->in_place[t] = table_state(b, (enum qt_block_table)t, values, w->why[t],
                                     sizeof(w->why[t])) == 1;
        main_ok[t] = w->in_place[t];
    }
    if (w->sasl_off) {
        w->in_place[QT_BLOCK_TABLE_SASL] = false;
        main_ok[QT_BLOCK_TABLE_SASL] = true;
        snprintf(w->why[QT_BLOCK_TABLE_SASL], sizeof(w->why[0]),
                 "smtpd_sasl_auth_enable is off: smtpd ignores check_sasl_access");
    }
    /* Without master.cf overrides main.cf decides; a postconf too old for
     * -P says nothing about them. */
    if (run_postconf(b, args_p, &master, err))
        check_overrides(b, values, w, master.data ? master.data : "");
    err->msg[0] = '\0';
    for (int t = 0; t < QT_BLOCK_TABLE_COUNT; t++) {
        char *map = xasprintf("%s/%s%s", b->config_dir, qt_block_table_file((enum qt_block_table)t),
                              strcmp(b->db_type, "lmdb") == 0  ? ".lmdb"
                              : strcmp(b->db_type, "cdb") == 0 ? ".cdb"
                                                               : ".db");
        struct stat st;

        if (stat(map, &st) < 0)
            w->maps_missing = true;
        free(map);
    }
    if (!main_ok[0] || !main_ok[1] || !main_ok[2]) {
        struct qt_buf line = {0};
        const char *cur = raw.data ? raw.data : "";
        size_t curlen = strcspn(cur, "\n");
        bool first = true;

        qt_buf_printf(&line, "%s =", ADVISED_LIST);
        for (int t = 0; t < QT_BLOCK_TABLE_COUNT; t++) {
            if (main_ok[t])
                continue;
            qt_buf_printf(&line, "%s %s %s:%s/%s", first ? "" : ",",
                          qt_block_table_check((enum qt_block_table)t), b->db_type,
                          b->config_dir, qt_block_table_file((enum qt_block_table)t));
            first = false;
        }
        if (curlen)
            qt_buf_printf(&line, ", %.*s", (int)curlen, cur);
        w->line = xstrdup(line.data);
        qt_buf_free(&line);
    }
    ok = true;
out:
    for (size_t i = 0; i < NLISTS; i++)
        free(values[i]);
    qt_buf_free(&out);
    qt_buf_free(&raw);
    qt_buf_free(&master);
    return ok;
}

void qt_block_wiring_free(struct qt_block_wiring *w)
{
    free(w->line);
    w->line = NULL;
}

bool qt_block_wiring_complete(const struct qt_block_wiring *w)
{
    for (int t = 0; t < QT_BLOCK_TABLE_COUNT; t++)
        if (!w->in_place[t] && !(t == QT_BLOCK_TABLE_SASL && w->sasl_off))
            return false;
    return true;
}
