/* Small helpers shared by the unit tests. */
#ifndef QTRIAGE_TEST_UTIL_H
#define QTRIAGE_TEST_UTIL_H

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "qtriage/util.h"

/* Where the fixture files are (tests/data), as meson passes it. */
static inline const char *test_data_dir(void)
{
    const char *d = getenv("QTRIAGE_TEST_DATA");

    return d ? d : "tests/data";
}

/* The whole file, NUL-terminated (malloc'd), or NULL when it cannot be
 * opened; *len (when given) receives its length. */
static inline char *test_slurp(const char *path, size_t *len)
{
    struct qt_buf b = {0};
    char chunk[65536];
    ssize_t n;
    int fd = open(path, O_RDONLY);

    if (fd < 0)
        return NULL;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        qt_buf_append(&b, chunk, (size_t)n);
    close(fd);
    if (len)
        *len = b.len;
    return b.data ? b.data : xstrdup("");
}

#endif
