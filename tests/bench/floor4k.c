/*
 * floor4k - the I/O floor for listing a Postfix queue: walk the queue
 * directories (hashed subdirectories included), open every queue file and read
 * its first 4 KB, nothing else.  Any tool that looks into every queue file
 * (showq behind `postqueue -j`, qtriage's spool backend) has to do at least this
 * much, so its time is a lower bound for them (single-threaded, warm cache).
 *
 * Usage: floor4k QUEUE_DIRECTORY [QUEUE...]
 *        (default queues: incoming active deferred hold maildrop)
 * Prints "files bytes" on stdout.
 *
 * Build: cc -O2 -o floor4k tests/bench/floor4k.c     (libc only)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static long n_files, n_bytes;
static char buf[4096];

static void walk(int dfd, const char *name, int depth)
{
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            fprintf(stderr, "floor4k: %s: %s\n", name, strerror(errno));
        return;
    }
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        unsigned char t = e->d_type;
        if (t == DT_UNKNOWN) {
            struct stat st;
            if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                continue;
            t = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
        }
        if (t == DT_DIR) {
            if (depth < 16)
                walk(fd, e->d_name, depth + 1);
        } else if (t == DT_REG) {
            int f = openat(fd, e->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
            if (f < 0)
                continue;           /* moved or deleted meanwhile: normal */
            ssize_t k = read(f, buf, sizeof buf);
            if (k > 0)
                n_bytes += k;
            close(f);
            n_files++;
        }
    }
    closedir(d);
}

int main(int argc, char **argv)
{
    static const char *def[] = {"incoming", "active", "deferred", "hold", "maildrop"};
    if (argc < 2) {
        fprintf(stderr, "usage: floor4k QUEUE_DIRECTORY [QUEUE...]\n");
        return 2;
    }
    int q = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (q < 0) {
        fprintf(stderr, "floor4k: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    if (argc > 2) {
        for (int i = 2; i < argc; i++)
            walk(q, argv[i], 0);
    } else {
        for (size_t i = 0; i < sizeof def / sizeof def[0]; i++)
            walk(q, def[i], 0);
    }
    printf("%ld %ld\n", n_files, n_bytes);
    return 0;
}
