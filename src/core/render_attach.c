/* What an attachment is, against what it claims to be.
 *
 * libmagic looks at the first few KB of the decoded bytes.  A mismatch is
 * judged on families rather than exact types (a .docx is a zip, a .csv is
 * text), so that what gets flagged is what matters in a flood: an
 * executable behind a harmless name, a "PDF" that is something else.
 * libmagic answers that tell nothing (octet-stream, empty) are never
 * called a mismatch. */
#include <magic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "render_internal.h"

#define MAGIC_BYTES 8192

/* One libmagic database for the process, loaded on the first attachment
 * and kept: loading it took a few milliseconds per message viewed (well
 * over 100 under the sanitizers, which held the render fuzzer to 22
 * inputs a second).  A cookie is not safe to share between threads at
 * once, hence the lock; its answer lives in the cookie, hence the copy. */
static pthread_once_t magic_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t magic_lock = PTHREAD_MUTEX_INITIALIZER;
static magic_t magic_cookie;

static void magic_load_once(void)
{
    magic_cookie = magic_open(MAGIC_MIME_TYPE);
    if (magic_cookie && magic_load(magic_cookie, NULL) != 0) {
        magic_close(magic_cookie);
        magic_cookie = NULL;
    }
}

struct render_magic {
    char type[256];             /* the last answer, copied out of the cookie */
};

struct render_magic *render_magic_new(void)
{
    return xcalloc(1, sizeof(struct render_magic));
}

void render_magic_free(struct render_magic *m)
{
    free(m);
}

const char *render_magic_type(struct render_magic *m, const void *data, size_t len)
{
    const char *t;

    pthread_once(&magic_once, magic_load_once);
    if (!magic_cookie)
        return NULL;
    pthread_mutex_lock(&magic_lock);
    t = magic_buffer(magic_cookie, data, len < MAGIC_BYTES ? len : MAGIC_BYTES);
    if (t)
        snprintf(m->type, sizeof(m->type), "%s", t);
    pthread_mutex_unlock(&magic_lock);
    return t ? m->type : NULL;
}

enum family {
    FAM_NONE,                   /* says nothing: octet-stream, empty, unknown */
    FAM_EXACT,                  /* compare the (aliased) types themselves */
    FAM_EXECUTABLE,
    FAM_ZIP,                    /* zip and the formats built on it */
    FAM_OLE,                    /* OLE compound files: old Office, msg */
    FAM_TEXT,
};

struct type_family {
    const char *type;           /* a full type, or a prefix ending in '*' */
    enum family family;
};

static const struct type_family families[] = {
    {"application/octet-stream", FAM_NONE},
    {"application/x-empty", FAM_NONE},
    {"inode/x-empty", FAM_NONE},
    {"application/unknown", FAM_NONE},
    {"application/x-download", FAM_NONE},
    {"application/force-download", FAM_NONE},
    {"binary/octet-stream", FAM_NONE},
    {"application/x-dosexec", FAM_EXECUTABLE},
    {"application/vnd.microsoft.portable-executable", FAM_EXECUTABLE},
    {"application/x-msdownload", FAM_EXECUTABLE},
    {"application/x-msdos-program", FAM_EXECUTABLE},
    {"application/x-ms-dos-executable", FAM_EXECUTABLE},
    {"application/x-executable", FAM_EXECUTABLE},
    {"application/x-pie-executable", FAM_EXECUTABLE},
    {"application/x-sharedlib", FAM_EXECUTABLE},
    {"application/x-mach-binary", FAM_EXECUTABLE},
    {"application/x-elf", FAM_EXECUTABLE},
    {"application/x-msi", FAM_EXECUTABLE},
    {"application/x-ms-installer", FAM_EXECUTABLE},
    {"application/zip", FAM_ZIP},
    {"application/x-zip-compressed", FAM_ZIP},
    {"application/x-zip", FAM_ZIP},
    {"application/java-archive", FAM_ZIP},
    {"application/epub+zip", FAM_ZIP},
    {"application/vnd.openxmlformats-*", FAM_ZIP},
    {"application/vnd.oasis.opendocument.*", FAM_ZIP},
    {"application/vnd.ms-excel.*", FAM_ZIP},
    {"application/vnd.ms-word.*", FAM_ZIP},
    {"application/vnd.ms-powerpoint.*", FAM_ZIP},
    {"application/msword", FAM_OLE},
    {"application/vnd.ms-excel", FAM_OLE},
    {"application/vnd.ms-powerpoint", FAM_OLE},
    {"application/vnd.ms-office", FAM_OLE},
    {"application/vnd.ms-outlook", FAM_OLE},
    {"application/x-ole-storage", FAM_OLE},
    {"application/cdfv2", FAM_OLE},
    {"application/vnd.visio", FAM_OLE},
    {"text/*", FAM_TEXT},
    {"message/*", FAM_TEXT},
    {"application/xml", FAM_TEXT},
    {"application/json", FAM_TEXT},
    {"application/javascript", FAM_TEXT},
};

/* Other names of one type. */
static const char *const aliases[][2] = {
    {"image/jpg", "image/jpeg"},
    {"image/pjpeg", "image/jpeg"},
    {"image/x-png", "image/png"},
    {"image/x-ms-bmp", "image/bmp"},
    {"application/x-pdf", "application/pdf"},
    {"application/acrobat", "application/pdf"},
    {"application/x-gzip", "application/gzip"},
    {"application/x-rar-compressed", "application/x-rar"},
    {"application/vnd.rar", "application/x-rar"},
    {"application/rtf", "text/rtf"},
};

static const char *const extension_types[][2] = {
    {"pdf", "application/pdf"},
    {"zip", "application/zip"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"bmp", "image/bmp"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"webp", "image/webp"},
    {"txt", "text/plain"},
    {"csv", "text/csv"},
    {"htm", "text/html"},
    {"html", "text/html"},
    {"xml", "text/xml"},
    {"ics", "text/calendar"},
    {"eml", "message/rfc822"},
    {"rtf", "text/rtf"},
    {"doc", "application/msword"},
    {"xls", "application/vnd.ms-excel"},
    {"ppt", "application/vnd.ms-powerpoint"},
    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
    {"odt", "application/vnd.oasis.opendocument.text"},
    {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
    {"jar", "application/java-archive"},
    {"rar", "application/x-rar"},
    {"7z", "application/x-7z-compressed"},
    {"gz", "application/gzip"},
    {"tgz", "application/gzip"},
    {"tar", "application/x-tar"},
    {"exe", "application/x-dosexec"},
    {"dll", "application/x-dosexec"},
    {"scr", "application/x-dosexec"},
    {"com", "application/x-dosexec"},
    {"pif", "application/x-dosexec"},
    {"cpl", "application/x-dosexec"},
    {"msi", "application/x-msi"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"svg", "image/svg+xml"},
};

static const char *unalias(const char *type)
{
    size_t i;

    for (i = 0; i < QT_ARRAY_LEN(aliases); i++)
        if (strcasecmp(type, aliases[i][0]) == 0)
            return aliases[i][1];
    return type;
}

static enum family family_of(const char *type)
{
    size_t i;

    if (!type || !*type)
        return FAM_NONE;
    for (i = 0; i < QT_ARRAY_LEN(families); i++) {
        const char *t = families[i].type;
        size_t n = strlen(t);

        if (t[n - 1] == '*' ? strncasecmp(type, t, n - 1) == 0 : strcasecmp(type, t) == 0)
            return families[i].family;
    }
    return FAM_EXACT;
}

static bool same_kind(const char *a, const char *b)
{
    enum family fa = family_of(a), fb = family_of(b);

    if (fa != fb)
        return false;
    return fa != FAM_EXACT || strcasecmp(unalias(a), unalias(b)) == 0;
}

/* The type a file name's extension stands for, or NULL. */
static const char *extension_type(const char *name, const char **ext)
{
    const char *dot = name ? strrchr(name, '.') : NULL;
    size_t i;

    if (!dot || !dot[1])
        return NULL;
    for (i = 0; i < QT_ARRAY_LEN(extension_types); i++)
        if (strcasecmp(dot + 1, extension_types[i][0]) == 0) {
            *ext = dot;
            return extension_types[i][1];
        }
    return NULL;
}

bool render_type_mismatch(const char *declared, const char *const *names, size_t nnames,
                          const char *magic, char *why, size_t why_size)
{
    enum family found = family_of(magic);
    const char *ext = NULL, *ext_type;
    size_t i;

    if (found == FAM_NONE)
        return false;
    if (found == FAM_EXECUTABLE) {
        bool claimed = family_of(declared) == FAM_EXECUTABLE;

        for (i = 0; i < nnames && !claimed; i++)
            claimed = (ext_type = extension_type(names[i], &ext)) &&
                      family_of(ext_type) == FAM_EXECUTABLE;
        if (claimed)
            return false;
        snprintf(why, why_size, "MISMATCH: declared %s%s%s but libmagic finds a program (%s)",
                 declared ? declared : "(no type)", nnames && names[0] ? ", named " : "",
                 nnames && names[0] ? names[0] : "", magic);
        return true;
    }
    if (family_of(declared) != FAM_NONE && !same_kind(declared, magic)) {
        snprintf(why, why_size, "MISMATCH: declared %s but libmagic finds %s", declared, magic);
        return true;
    }
    for (i = 0; i < nnames; i++) {
        if ((ext_type = extension_type(names[i], &ext)) && !same_kind(ext_type, magic)) {
            snprintf(why, why_size, "MISMATCH: named %s (%s) but libmagic finds %s", names[i],
                     ext_type, magic);
            return true;
        }
    }
    return false;
}
