/* Stopping the source of a flood: entries in Postfix access tables that
 * qtriage keeps, each with an expiry.
 *
 * One table per lookup the SMTP server makes, in the instance's
 * configuration directory: qtriage_sasl_access (check_sasl_access, the
 * SASL login name), qtriage_client_access (check_client_access, the client
 * address or network) and qtriage_sender_access (check_sender_access; an
 * address there matches that sender, a domain the whole domain).  Each is a
 * source file plus the map postmap builds from it, in the instance's
 * default_database_type.
 *
 * An entry qtriage wrote is the line after a marker comment
 * "# qtriage: expires=EPOCH ...".  Every other line (the admin's own
 * entries, comments) is kept as it is and never changed.
 *
 * Changing a table takes an exclusive lock on the configuration directory
 * (flock), reads the source again under it, writes the new source under a
 * temporary name (safe_file.h), runs postmap on that, and renames first the
 * new map and then the new source over the old ones: the SMTP server opens
 * either the old map or the new one, whole, and notices the change by
 * itself.  qtriage never edits main.cf or master.cf; it says which
 * restriction line would use the tables and whether it is in place. */
#ifndef QTRIAGE_BLOCK_H
#define QTRIAGE_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qtriage/spool.h"
#include "qtriage/util.h"

enum qt_block_kind {
    QT_BLOCK_SASL,
    QT_BLOCK_CLIENT,
    QT_BLOCK_SENDER,
    QT_BLOCK_SENDER_DOMAIN,
    QT_BLOCK_KIND_COUNT,
};

/* The tables (sender and sender_domain share one). */
enum qt_block_table {
    QT_BLOCK_TABLE_SASL,
    QT_BLOCK_TABLE_CLIENT,
    QT_BLOCK_TABLE_SENDER,
    QT_BLOCK_TABLE_COUNT,
};

enum qt_block_action { QT_BLOCK_HOLD, QT_BLOCK_DEFER, QT_BLOCK_REJECT };

#define QT_BLOCK_TEXT_MAX 200
#define QT_BLOCK_KEY_MAX 255

/* "sasl", "client", "sender", "sender_domain". */
const char *qt_block_kind_name(enum qt_block_kind kind);
bool qt_block_kind_from_name(const char *name, enum qt_block_kind *kind);
enum qt_block_table qt_block_kind_table(enum qt_block_kind kind);
/* "qtriage_sasl_access", ... */
const char *qt_block_table_file(enum qt_block_table t);
/* "check_sasl_access", ... */
const char *qt_block_table_check(enum qt_block_table t);

/* "hold", "defer", "reject". */
const char *qt_block_action_name(enum qt_block_action a);
bool qt_block_action_from_name(const char *name, enum qt_block_action *a);

/* The key as the table holds it (lower case; an IPv6 address in the form
 * smtpd looks it up), or false with `err` saying what a `kind` key looks
 * like: a SASL login name; an IPv4 address or its first 1-3 octets, an IPv6
 * address or its first colon-separated groups; an address local@domain; a
 * domain. */
bool qt_block_key_normalize(enum qt_block_kind kind, const char *in, char *out, size_t size,
                            struct qt_error *err);
/* Whether the reply text may go into a table: printable ASCII only, at most
 * QT_BLOCK_TEXT_MAX characters. */
bool qt_block_text_valid(const char *text, struct qt_error *err);

struct qt_block_entry {
    enum qt_block_kind kind;
    char *key;
    enum qt_block_action action;
    char *text;                 /* "" when none */
    int64_t added;              /* Unix time */
    int64_t expires;            /* Unix time; 0: never */
};

void qt_block_entries_free(struct qt_block_entry *e, size_t n);

/* One instance's tables. */
struct qt_block_tables {
    char *config_dir;           /* the instance's config_directory */
    char *db_type;              /* default_database_type: hash, btree, lmdb, cdb */
    char *postmap;
    char *postconf;
    char *instance;             /* -c DIR for the tools, NULL: the default instance */
};

/* Find the instance's config_directory, default_database_type and postmap
 * (layout: an opened spool layout).  False with `err` when the map type is
 * one qtriage cannot replace atomically (dbm, sdbm: two files). */
bool qt_block_tables_open(struct qt_block_tables *b, const struct qt_spool_layout *layout,
                          struct qt_error *err);
void qt_block_tables_close(struct qt_block_tables *b);

/* The path of table `t`'s source file (malloc'd). */
char *qt_block_table_path(const struct qt_block_tables *b, enum qt_block_table t);

/* qtriage's entries in every table (for anyone who may read them).  A
 * table that does not exist yet has none. */
bool qt_block_list(const struct qt_block_tables *b, struct qt_block_entry **out, size_t *n,
                   struct qt_error *err);

/* Add the entry (key already normalised), replacing qtriage's own entry for
 * the same key.  Refused when the table holds the key on a line qtriage did
 * not write, when the source or map is a symbolic link, not a regular file
 * or not the caller's. */
bool qt_block_add(const struct qt_block_tables *b, const struct qt_block_entry *e,
                  struct qt_error *err);

/* Remove qtriage's entry for (kind, key); *found says whether there was
 * one (nothing is rewritten when not). */
bool qt_block_remove(const struct qt_block_tables *b, enum qt_block_kind kind, const char *key,
                     bool *found, struct qt_error *err);

/* Remove every qtriage entry that expired at `now`; the removed ones go to
 * *gone (may be NULL).  Tables with nothing expired are not rewritten. */
bool qt_block_expire(const struct qt_block_tables *b, int64_t now, struct qt_block_entry **gone,
                     size_t *ngone, struct qt_error *err);

/* Whether the SMTP server consults the tables. */
struct qt_block_wiring {
    bool in_place[QT_BLOCK_TABLE_COUNT];
    /* smtpd_sasl_auth_enable is off: smtpd ignores check_sasl_access, so
     * the sasl table cannot act (and is left out of `line`). */
    bool sasl_off;
    /* A map the line names does not exist yet: smtpd would answer every
     * message with a temporary error ("table lookup problem"); the first
     * block add creates all three. */
    bool maps_missing;
    /* Why a table is not in place, or a warning ("after permit_mynetworks
     * in smtpd_recipient_restrictions", "master.cf service submission/inet
     * overrides ..."); "" when none. */
    char why[QT_BLOCK_TABLE_COUNT][240];
    /* The line the admin adds to main.cf: the missing checks first, then
     * the current smtpd_recipient_restrictions (malloc'd; NULL when every
     * table is in place in main.cf). */
    char *line;
};

bool qt_block_wiring_check(const struct qt_block_tables *b, struct qt_block_wiring *w,
                           struct qt_error *err);
void qt_block_wiring_free(struct qt_block_wiring *w);
/* Every table that can act is in place (the sasl one only with SASL on). */
bool qt_block_wiring_complete(const struct qt_block_wiring *w);

#endif
