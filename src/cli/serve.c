/* cli/serve.c: `aigate serve` — runs the gateway on a libuv loop until SIGINT/SIGTERM, then stops
 * gracefully (requests in flight finish within server.shutdown_grace_s) and exits 0. A second
 * signal during the grace period exits at once. Under a service manager (systemd Type=notify) it
 * reports READY=1 once the listening sockets are open and STOPPING=1 when a stop begins. */
#include "cli/serve.h"

#include "config/config.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/sdnotify.h"
#include "cli/gateway.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

struct serve {
    uv_loop_t *loop;
    struct ag_gateway *gw;
    uv_signal_t sigint, sigterm;
    int signals;
};

static void gateway_stopped(void *ud)
{
    struct serve *s = ud;
    uv_close((uv_handle_t *)&s->sigint, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct serve *s = h->data;
    if (s->signals++ > 0) {
        ag_log_warn("second signal: exiting now");
        exit(1);
    }
    ag_log_info("signal %d: stopping (in-flight requests may finish)", signum);
    ag_sdnotify_send("STOPPING=1");
    ag_gateway_shutdown(s->gw, gateway_stopped, s);
}

int ag_cli_serve(struct ag_config *cfg)
{
    struct serve s = {0};
    struct ag_buf err;
    signal(SIGPIPE, SIG_IGN);
    ag_log_set_level(cfg->log.level);
    s.loop = uv_default_loop();
    ag_buf_init(&err, 4096);
    s.gw = ag_gateway_new(s.loop, cfg, &err);
    if (!s.gw) {
        fprintf(stderr, "aigate: %s\n", err.data ? err.data : "cannot start");
        ag_buf_dispose(&err);
        return 1;
    }
    ag_buf_dispose(&err);
    uv_signal_init(s.loop, &s.sigint);
    uv_signal_init(s.loop, &s.sigterm);
    s.sigint.data = s.sigterm.data = &s;
    uv_signal_start(&s.sigint, on_signal, SIGINT);
    uv_signal_start(&s.sigterm, on_signal, SIGTERM);
    int rc = ag_sdnotify_send("READY=1");
    if (rc < 0)
        ag_log_warn("cannot tell the service manager we are ready (NOTIFY_SOCKET): %s",
                    ag_strerror(rc));
    uv_run(s.loop, UV_RUN_DEFAULT);
    ag_gateway_free(s.gw);
    uv_loop_close(s.loop);
    ag_log_info("stopped");
    return 0;
}
