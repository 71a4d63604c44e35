/* "qtriage --version": what an admin pastes into a bug report. */
#include <curses.h>
#include <gmime/gmime.h>
#include <json-c/json_c_version.h>
#include <magic.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "vcs.h"
#include "version.h"

void cli_print_version(FILE *out)
{
    char pcre2[64] = "";
    int magic = magic_version();

    fprintf(out, "qtriage %s\n", QTRIAGE_VERSION);
    /* Built from a tarball or a package there is no git to ask. */
    if (QTRIAGE_GIT_DESCRIBE[0] && strcmp(QTRIAGE_GIT_DESCRIBE, QTRIAGE_VERSION) != 0)
        fprintf(out, "git: %s\n", QTRIAGE_GIT_DESCRIBE);
    /* The libraries as loaded at run time, which may be newer than the
     * headers this was compiled with. */
    if (pcre2_config(PCRE2_CONFIG_VERSION, pcre2) < 0)
        snprintf(pcre2, sizeof(pcre2), "unknown");
    fprintf(out, "ncursesw: %s\n", curses_version());
    fprintf(out, "pcre2: %s\n", pcre2);
    fprintf(out, "libmagic: %d.%02d\n", magic / 100, magic % 100);
    fprintf(out, "gmime: %u.%u.%u\n", gmime_major_version, gmime_minor_version,
            gmime_micro_version);
    fprintf(out, "json-c: %s\n", json_c_version());
}
