/* "qtriage block": entries in the access tables qtriage keeps (block.h),
 * and whether the SMTP server uses them. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "open.h"
#include "qtriage/block.h"
#include "qtriage/text.h"

#define DEFAULT_EXPIRY 3600

static void print_clean(FILE *out, const char *s)
{
    struct qt_buf b = {0};

    qt_text_sanitize_str(&b, s ? s : "");
    fputs(b.data ? b.data : "", out);
    qt_buf_free(&b);
}

static void format_expiry(int64_t expires, int64_t now, char *buf, size_t size)
{
    time_t t = (time_t)expires;
    struct tm tm;
    char when[32];

    if (!expires) {
        snprintf(buf, size, "never");
        return;
    }
    localtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
    if (expires <= now)
        snprintf(buf, size, "%s (expired)", when);
    else
        snprintf(buf, size, "%s (in %" PRId64 "m)", when, (expires - now + 59) / 60);
}

/* Say whether the SMTP server uses the tables; the line to add when not. */
static void report_wiring(const struct qt_block_tables *b, bool always, bool call_kind_sasl)
{
    struct qt_block_wiring w;
    struct qt_error err = {""};

    if (!qt_block_wiring_check(b, &w, &err)) {
        fprintf(stderr, "qtriage: block: cannot tell whether the tables are used: %s\n",
                err.msg);
        return;
    }
    if (qt_block_wiring_complete(&w)) {
        if (always)
            fprintf(stderr, "qtriage: block: the restriction is in place: smtpd consults "
                    "the qtriage tables\n");
        if (w.sasl_off && (always || call_kind_sasl))
            fprintf(stderr, "qtriage: block: sasl entries do nothing: %s\n",
                    w.why[QT_BLOCK_TABLE_SASL]);
    } else {
        fprintf(stderr, "qtriage: block: the restriction is NOT in place, so entries have no "
                "effect yet:\n");
        for (int t = 0; t < QT_BLOCK_TABLE_COUNT; t++)
            if (!w.in_place[t])
                fprintf(stderr, "  %s\n", w.why[t]);
        if (w.line)
            fprintf(stderr, "Add this line to %s/main.cf (then postfix reload); qtriage never "
                    "edits it:\n  %s\n", b->config_dir, w.line);
        if (w.line && w.maps_missing)
            fprintf(stderr, "Add it only after the first block add: smtpd defers all mail "
                    "while a map it names is missing, and that creates all three.\n");
    }
    qt_block_wiring_free(&w);
}

static bool open_tables(const struct cli_common *common, struct qt_block_tables *b,
                        struct qt_spool_layout *l)
{
    struct qt_error err = {""};

    if (!qt_spool_layout_load(l, qt_spool_config_dir(common->config_dir), &err)) {
        fprintf(stderr, "qtriage: block: %s\n", err.msg);
        return false;
    }
    if (!qt_block_tables_open(b, l, &err)) {
        fprintf(stderr, "qtriage: block: %s\n", err.msg);
        qt_spool_layout_free(l);
        return false;
    }
    return true;
}

static bool needs_root(const char *verb)
{
    if (geteuid() == 0)
        return true;
    fprintf(stderr, "qtriage: block %s: changing Postfix's access tables needs root (the "
            "tables and postmap's maps are root's); nothing done\n", verb);
    return false;
}

static int block_add(const struct cli_call *call, const struct qt_block_tables *b)
{
    const struct cli_block_args *a = call->args;
    struct qt_block_entry e = {0};
    struct qt_error err = {""};
    char key[QT_BLOCK_KEY_MAX + 1], exp[64];
    int64_t now = (int64_t)time(NULL);

    if (call->argc != 4) {
        fprintf(stderr, "qtriage: block add wants KIND VALUE (kinds: sasl client sender "
                "sender_domain)\n");
        return 2;
    }
    if (!qt_block_kind_from_name(call->argv[2], &e.kind)) {
        fprintf(stderr, "qtriage: block add: unknown kind \"%s\" (sasl client sender "
                "sender_domain)\n", call->argv[2]);
        return 2;
    }
    if (!cli_given(call, "action")) {
        fprintf(stderr, "qtriage: block add wants --action hold|defer|reject\n");
        return 2;
    }
    if (!qt_block_key_normalize(e.kind, call->argv[3], key, sizeof(key), &err) ||
        !qt_block_text_valid(a->text, &err)) {
        fprintf(stderr, "qtriage: block add: %s\n", err.msg);
        return 2;
    }
    e.key = key;
    e.action = (enum qt_block_action)a->action;
    e.text = (char *)(a->text ? a->text : "");
    e.added = now;
    e.expires = cli_given(call, "expire")
                    ? (a->expire.seconds ? now + a->expire.seconds : 0)
                    : now + DEFAULT_EXPIRY;
    if (!needs_root("add"))
        return 1;
    if (!qt_block_add(b, &e, &err)) {
        fprintf(stderr, "qtriage: block add: %s\n", err.msg);
        return 1;
    }
    format_expiry(e.expires, now, exp, sizeof(exp));
    printf("%s %s: %s, expires %s\n", qt_block_kind_name(e.kind), key,
           qt_block_action_name(e.action), exp);
    report_wiring(b, false, e.kind == QT_BLOCK_SASL);
    return 0;
}

static int block_remove(const struct cli_call *call, const struct qt_block_tables *b)
{
    enum qt_block_kind kind;
    struct qt_error err = {""};
    char key[QT_BLOCK_KEY_MAX + 1];
    bool found;

    if (call->argc != 4 || !qt_block_kind_from_name(call->argv[2], &kind)) {
        fprintf(stderr, "qtriage: block remove wants KIND VALUE (kinds: sasl client sender "
                "sender_domain)\n");
        return 2;
    }
    if (!qt_block_key_normalize(kind, call->argv[3], key, sizeof(key), &err)) {
        fprintf(stderr, "qtriage: block remove: %s\n", err.msg);
        return 2;
    }
    if (!needs_root("remove"))
        return 1;
    if (!qt_block_remove(b, kind, key, &found, &err)) {
        fprintf(stderr, "qtriage: block remove: %s\n", err.msg);
        return 1;
    }
    if (!found) {
        fprintf(stderr, "qtriage: block remove: no entry of qtriage's for %s %s\n",
                qt_block_kind_name(kind), key);
        return 1;
    }
    printf("%s %s: removed\n", qt_block_kind_name(kind), key);
    return 0;
}

static int block_expire(const struct cli_call *call, const struct qt_block_tables *b)
{
    struct qt_block_entry *gone;
    struct qt_error err = {""};
    size_t n;

    if (call->argc != 2) {
        fprintf(stderr, "qtriage: block expire takes no arguments\n");
        return 2;
    }
    if (!needs_root("expire"))
        return 1;
    if (!qt_block_expire(b, (int64_t)time(NULL), &gone, &n, &err)) {
        fprintf(stderr, "qtriage: block expire: %s\n", err.msg);
        qt_block_entries_free(gone, n);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        printf("%s ", qt_block_kind_name(gone[i].kind));
        print_clean(stdout, gone[i].key);
        printf(": expired, removed\n");
    }
    qt_block_entries_free(gone, n);
    return 0;
}

static int block_list(const struct cli_call *call, const struct qt_block_tables *b)
{
    const struct cli_block_args *a = call->args;
    struct qt_block_entry *e;
    struct qt_error err = {""};
    int64_t now = (int64_t)time(NULL);
    size_t n;

    if (call->argc != 2) {
        fprintf(stderr, "qtriage: block list takes no arguments\n");
        return 2;
    }
    if (!qt_block_list(b, &e, &n, &err)) {
        fprintf(stderr, "qtriage: block list: %s\n", err.msg);
        return 1;
    }
    if (!a->json && n)
        printf("%-13s %-30s %-6s %-26s %s\n", "KIND", "VALUE", "ACTION", "EXPIRES", "TEXT");
    for (size_t i = 0; i < n; i++) {
        char exp[64];

        if (a->json) {
            struct qt_buf j = {0};

            qt_buf_printf(&j, "{\"kind\":\"%s\",\"value\":", qt_block_kind_name(e[i].kind));
            cli_json_string(&j, e[i].key);
            qt_buf_printf(&j, ",\"action\":\"%s\",\"text\":", qt_block_action_name(e[i].action));
            cli_json_string(&j, e[i].text);
            qt_buf_printf(&j, ",\"added\":%" PRId64 ",\"expires\":", e[i].added);
            if (e[i].expires)
                qt_buf_printf(&j, "%" PRId64 "}\n", e[i].expires);
            else
                qt_buf_printf(&j, "null}\n");
            cli_write(j.data, j.len);
            qt_buf_free(&j);
            continue;
        }
        format_expiry(e[i].expires, now, exp, sizeof(exp));
        printf("%-13s ", qt_block_kind_name(e[i].kind));
        print_clean(stdout, e[i].key);
        printf("%*s %-6s %-26s ", (int)(strlen(e[i].key) < 30 ? 30 - strlen(e[i].key) : 0), "",
               qt_block_action_name(e[i].action), exp);
        print_clean(stdout, e[i].text);
        printf("\n");
    }
    if (!a->json && !n)
        printf("no entries\n");
    qt_block_entries_free(e, n);
    report_wiring(b, !a->json, false);
    return cli_output_finish();
}

int cli_block(const struct cli_call *call)
{
    static const struct {
        const char *verb;
        int (*run)(const struct cli_call *, const struct qt_block_tables *);
    } verbs[] = {{"add", block_add}, {"list", block_list}, {"remove", block_remove},
                 {"expire", block_expire}};
    struct qt_spool_layout layout;
    struct qt_block_tables b;
    int rc;

    for (size_t i = 0; i < QT_ARRAY_LEN(verbs); i++) {
        if (call->argc < 2 || strcmp(call->argv[1], verbs[i].verb) != 0)
            continue;
        if (!open_tables(call->common, &b, &layout))
            return 1;
        rc = verbs[i].run(call, &b);
        qt_block_tables_close(&b);
        qt_spool_layout_free(&layout);
        return rc;
    }
    fprintf(stderr, "qtriage: block wants add, list, remove or expire%s%s\n",
            call->argc >= 2 ? ", not " : "", call->argc >= 2 ? call->argv[1] : "");
    return 2;
}
