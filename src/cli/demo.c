/* --demo: a throwaway real Postfix instance, filled with a realistic flood,
 * so that every action can be tried without touching real mail.  The
 * instance is made by the project's test-bed script (tests/testbed/), run
 * with an argv array like every other program qtriage starts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "qtriage/proc.h"
#include "qtriage/spool.h"
#include "qtriage/trust.h"
#include "qtriage/util.h"
#include "version.h"

#define DEMO_MESSAGES "2000"

static void to_stderr(void *ctx, char *line, size_t len)
{
    (void)ctx;
    fprintf(stderr, "  %.*s\n", (int)len, line);
}

static bool run(const char *const *argv)
{
    struct qt_proc_spec spec = {.argv = argv, .on_stdout_line = to_stderr,
                                .on_stderr_line = to_stderr};
    struct qt_proc_result res;
    bool ok = qt_proc_run(&spec, &res);

    if (!ok) {
        char why[512];

        qt_proc_describe(&spec, &res, why, sizeof(why));
        fprintf(stderr, "qtriage: demo: %s\n", why);
    }
    qt_proc_result_free(&res);
    return ok;
}

static char *find_testbed(void)
{
    const char *env = getenv("QTRIAGE_TESTBED");
    const char *candidates[] = {env, QTRIAGE_SOURCE_DIR "/tests/testbed/testbed.sh",
                                QTRIAGE_DATA_DIR "/testbed/testbed.sh"};
    size_t i;

    for (i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
        if (candidates[i] && access(candidates[i], X_OK) == 0)
            return xstrdup(candidates[i]);
    return NULL;
}

/* The demo directory is made and started by root: one another user owns
 * or can write (/tmp/qtriage-demo is a name anyone can take first) would
 * let them choose what root writes there and which programs its Postfix
 * configuration makes root run. */
static bool demo_dir_trusted(const char *dir)
{
    char *parent = xstrdup(dir), *slash, *real, why[512];
    struct stat st;
    bool exists = lstat(dir, &st) == 0, ok;

    if ((slash = strrchr(parent, '/')))
        slash[slash == parent ? 1 : 0] = '\0';
    else {
        free(parent);
        parent = xstrdup(".");
    }
    real = qt_trusted_path_check(exists ? dir : parent, 0, QT_TRUST_DIR, why, sizeof(why));
    ok = real != NULL;
    if (!ok)
        fprintf(stderr, "qtriage: demo: refusing %s as root: %s\n", exists ? dir : parent, why);
    free(real);
    free(parent);
    return ok;
}

char *cli_demo_setup(const char *dir)
{
    char *testbed = find_testbed();
    char *main_cf = xasprintf("%s/etc/main.cf", dir);
    char *config = xasprintf("%s/etc", dir);
    struct stat st;

    if (!testbed) {
        fprintf(stderr, "qtriage: demo: cannot find the test-bed script testbed.sh "
                        "(set QTRIAGE_TESTBED to its path)\n");
        goto fail;
    }
    if (geteuid() != 0) {
        fprintf(stderr, "qtriage: demo: a demo Postfix instance needs root to set up\n");
        goto fail;
    }
    if (!demo_dir_trusted(dir))
        goto fail;
    if (stat(main_cf, &st) != 0) {
        const char *up[] = {testbed, "up", dir, NULL};
        const char *inject[] = {testbed, "inject-corpus", dir, DEMO_MESSAGES, NULL};
        const char *settle[] = {testbed, "settle", dir, NULL};

        fprintf(stderr, "qtriage: no demo queue yet: starting a throwaway Postfix in %s\n"
                        "  (no network; all its mail stays queued) and injecting %s "
                        "messages, about 15 s...\n", dir, DEMO_MESSAGES);
        if (!run(up) || !run(inject) || !run(settle))
            goto fail;
        fprintf(stderr, "qtriage: demo ready; remove it with: %s down %s --purge\n", testbed,
                dir);
    } else {
        char *postfix = qt_proc_find_program("postfix");
        struct qt_error err = {0};

        if (!qt_spool_config_dir_trusted(config, &err)) {
            fprintf(stderr, "qtriage: demo: %s\n", err.msg);
            free(postfix);
            goto fail;
        }
        const char *status[] = {postfix, "-c", config, "status", NULL};
        const char *start[] = {postfix, "-c", config, "start", NULL};

        if (postfix) {
            struct qt_proc_spec spec = {.argv = status};
            struct qt_proc_result res;

            if (!qt_proc_run(&spec, &res))
                run(start);
            qt_proc_result_free(&res);
        }
        free(postfix);
    }
    free(testbed);
    free(main_cf);
    return config;
fail:
    free(testbed);
    free(main_cf);
    free(config);
    return NULL;
}
