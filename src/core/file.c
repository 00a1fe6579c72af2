/* core/file.c: capped reads, atomic writes and mkdir -p (see file.h). */
#include "core/file.h"

#include "core/err.h"
#include "core/mem.h"
#include "core/str.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ag_file_read(const char *path, size_t cap, struct ag_buf *out)
{
    int rc = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? AG_ENOTFOUND : AG_EIO;
    size_t total = 0;
    char chunk[8192];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = AG_EIO;
            goto out;
        }
        if (n == 0)
            break;
        total += (size_t)n;
        if (total > cap) {
            rc = AG_ETOOBIG;
            goto out;
        }
        rc = ag_buf_append(out, chunk, (size_t)n);
        if (rc)
            goto out;
    }
out:
    if (fd >= 0) {
        int saved = errno;
        close(fd);
        errno = saved;
    }
    return rc;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return AG_EIO;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Length of the directory part of path ("." semantics when there is no slash: returns 0). */
static size_t dir_len(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return 0;
    return slash == path ? 1 : (size_t)(slash - path);
}

int ag_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    int rc = AG_EIO;
    int fd = -1, dfd = -1;
    size_t plen = strlen(path);
    char *tmp = ag_malloc(plen + sizeof(".tmp.XXXXXX"));
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", sizeof(".tmp.XXXXXX"));

    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        goto out;
    if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0)
        goto out;
    if (close(fd) != 0) {
        fd = -1;
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto out;
    tmp[0] = '\0'; /* renamed: nothing left to clean up */

    /* The rename is durable only once the directory entry is on disk. */
    size_t dl = dir_len(path);
    char *dir = dl ? ag_str_dup(ag_str_make(path, dl)) : ag_strdup(".");
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (dfd < 0 || fsync(dfd) != 0)
        goto out;
    rc = 0;
out:;
    int saved = errno;
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    if (tmp[0])
        unlink(tmp);
    free(tmp);
    errno = saved;
    return rc;
}

int ag_file_mkdirs(const char *path, mode_t mode)
{
    int rc = 0;
    char *p = ag_strdup(path);
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, mode) != 0) {
            struct stat st;
            if (errno != EEXIST || stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
                if (errno == EEXIST)
                    errno = ENOTDIR;
                rc = AG_EIO;
                p[i] = c;
                goto out;
            }
        }
        p[i] = c;
    }
out:;
    int saved = errno;
    free(p);
    errno = saved;
    return rc;
}
