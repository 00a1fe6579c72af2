/* tests/support/nginxsrv.h: a real nginx from Debian's package in front of gateways on loopback,
 * for a test: its configuration, logs, temp paths and PID file in a temp directory, a loopback
 * port chosen at run time, one worker (so round-robin goes through the upstreams in turn), no
 * daemon, stopped by its own PID. The proxy settings are the ones deployments use:
 * deploy/nginx/aigate-proxy.conf from the source tree is included as it is. Each response says
 * which upstream served it in an X-Aigate-Upstream header ("127.0.0.1:<port>"). */
#ifndef AG_TEST_NGINXSRV_H
#define AG_TEST_NGINXSRV_H

#include <stdbool.h>

#include "child.h"

#define AG_NGINX_MAX_UPSTREAMS 8

struct ag_nginxsrv {
    struct ag_child child; /* nginx's master process */
    int port;              /* where it listens on 127.0.0.1 */
    char dir[64];          /* nginx.conf, error.log, access.log, nginx.pid, temp paths */
    char bin[256];
};

/** Looks for nginx in $PATH, /usr/sbin and /usr/bin; false when absent. */
bool ag_nginxsrv_find(struct ag_nginxsrv *n);

/**
 * Writes the configuration (round-robin to 127.0.0.1:ports[0..nports-1]) and starts nginx; waits
 * (10 s at most) until its port accepts connections. Fails the test otherwise (the error log is
 * printed). $AIGATE_SOURCE_DIR names the source tree holding deploy/nginx/aigate-proxy.conf.
 */
void ag_nginxsrv_start(struct ag_nginxsrv *n, const int *ports, int nports);

/** Stops nginx by its PID (SIGTERM, then SIGKILL) and removes its directory. */
void ag_nginxsrv_stop(struct ag_nginxsrv *n);

/** The contents of its error log (malloc'd, NUL-terminated; the caller frees). */
char *ag_nginxsrv_error_log(const struct ag_nginxsrv *n);

#endif
