/* core/sdnotify.h: tells a service manager (systemd, with Type=notify) how the process is doing,
 * without libsystemd: one datagram to the AF_UNIX socket named by $NOTIFY_SOCKET. */
#ifndef AG_CORE_SDNOTIFY_H
#define AG_CORE_SDNOTIFY_H

/**
 * Sends state (newline-separated KEY=VALUE assignments, e.g. "READY=1" or "STOPPING=1") to the
 * socket named by $NOTIFY_SOCKET: a filesystem path ("/run/systemd/notify") or, when it starts
 * with '@', a name in the abstract namespace. Returns 1 when it was sent, 0 when NOTIFY_SOCKET is
 * unset or empty (no service manager is listening: nothing to do), AG_EINVAL for an address this
 * sender does not speak (too long, neither '/' nor '@'), or AG_EIO when the socket cannot be made
 * or the datagram is refused. Blocks for no longer than a local sendto().
 */
int ag_sdnotify_send(const char *state);

#endif
