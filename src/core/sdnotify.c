/* core/sdnotify.c: the service manager's readiness protocol (sd_notify(3)), written out: a
 * datagram of "KEY=VALUE" lines to $NOTIFY_SOCKET. A leading '@' names an abstract socket, whose
 * address is a NUL byte followed by the rest of the name (length-delimited, not NUL-terminated). */
#include "core/sdnotify.h"

#include "core/err.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int ag_sdnotify_send(const char *state)
{
    const char *name = getenv("NOTIFY_SOCKET");
    if (!name || !name[0])
        return 0;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    size_t n = strlen(name);
    if ((name[0] != '/' && name[0] != '@') || n < 2 || n > sizeof(sa.sun_path))
        return AG_EINVAL;
    /* A filesystem path needs room for its terminating NUL; an abstract name does not. */
    if (name[0] == '/' && n == sizeof(sa.sun_path))
        return AG_EINVAL;
    memcpy(sa.sun_path, name, n);
    if (name[0] == '@')
        sa.sun_path[0] = '\0';
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);

    int rc = AG_EIO;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto out;
    size_t m = strlen(state);
    ssize_t w = sendto(fd, state, m, MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
    if (w == (ssize_t)m)
        rc = 1;
out:
    if (fd >= 0)
        close(fd);
    return rc;
}
