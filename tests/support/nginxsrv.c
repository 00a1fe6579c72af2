/* tests/support/nginxsrv.c: see nginxsrv.h. */
#include "nginxsrv.h"

#include "ag_test.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rawhttp.h"

bool ag_nginxsrv_find(struct ag_nginxsrv *n)
{
    const char *path = getenv("PATH");
    char dirs[2048];
    snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/usr/bin", path ? path : "");
    for (const char *d = dirs; *d;) {
        size_t len = strcspn(d, ":");
        snprintf(n->bin, sizeof(n->bin), "%.*s/nginx", (int)len, d);
        if (len && access(n->bin, X_OK) == 0)
            return true;
        d += len + (d[len] == ':');
    }
    n->bin[0] = '\0';
    return false;
}

/* The main configuration around the shared proxy settings. */
static void write_conf(const struct ag_nginxsrv *n, const int *ports, int nports)
{
    char path[128];
    const char *src = getenv("AIGATE_SOURCE_DIR");
    if (!src)
        fail_msg("AIGATE_SOURCE_DIR is not set (run through ctest)");
    snprintf(path, sizeof(path), "%s/nginx.conf", n->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "worker_processes 1;\n");
    /* as root the workers would switch to nobody, who cannot enter the 0700 temp directory */
    if (geteuid() == 0)
        fprintf(f, "user root root;\n");
    fprintf(f, "error_log %s/error.log notice;\n", n->dir);
    fprintf(f, "events { worker_connections 256; }\n");
    fprintf(f, "http {\n");
    fprintf(f, "    log_format upstream '$request $status $upstream_addr $request_time';\n");
    fprintf(f, "    access_log %s/access.log upstream;\n", n->dir);
    static const char *const temps[] = {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"};
    for (size_t i = 0; i < sizeof(temps) / sizeof(temps[0]); i++)
        fprintf(f, "    %s_temp_path %s/%s;\n", temps[i], n->dir, temps[i]);
    fprintf(f, "    map $http_upgrade $connection_upgrade { default upgrade; '' ''; }\n");
    fprintf(f, "    upstream aigate {\n");
    for (int i = 0; i < nports; i++)
        fprintf(f, "        server 127.0.0.1:%d;\n", ports[i]);
    fprintf(f, "        keepalive 16;\n    }\n");
    fprintf(f, "    server {\n        listen 127.0.0.1:%d;\n", n->port);
    fprintf(f, "        add_header X-Aigate-Upstream $upstream_addr always;\n");
    fprintf(f, "        include %s/deploy/nginx/aigate-proxy.conf;\n    }\n}\n", src);
    assert_int_equal(fclose(f), 0);
}

char *ag_nginxsrv_error_log(const struct ag_nginxsrv *n)
{
    struct ag_child c = {0};
    snprintf(c.log_path, sizeof(c.log_path), "%s/error.log", n->dir);
    return ag_child_output(&c);
}

void ag_nginxsrv_start(struct ag_nginxsrv *n, const int *ports, int nports)
{
    char conf[128], elog[128], globals[192];
    assert_true(nports >= 1 && nports <= AG_NGINX_MAX_UPSTREAMS);
    if (!n->bin[0] && !ag_nginxsrv_find(n))
        fail_msg("nginx is not installed");
    snprintf(n->dir, sizeof(n->dir), "/tmp/ag-nginx-XXXXXX");
    assert_non_null(mkdtemp(n->dir));
    n->port = ag_child_free_port();
    write_conf(n, ports, nports);
    snprintf(conf, sizeof(conf), "%s/nginx.conf", n->dir);
    snprintf(elog, sizeof(elog), "%s/error.log", n->dir);
    snprintf(globals, sizeof(globals), "daemon off; pid %s/nginx.pid;", n->dir);
    const char *argv[] = {n->bin, "-p", n->dir, "-c", conf, "-e", elog, "-g", globals, NULL};
    assert_true(ag_child_start(&n->child, argv, NULL, NULL, 0));
    /* ready once the port accepts: 200 tries 50 ms apart */
    bool up = false;
    for (int i = 0; i < 200 && !up && n->child.pid > 0; i++) {
        struct rh_conn c;
        up = rh_connect(&c, n->port, 1000);
        if (up)
            rh_close(&c);
        else
            usleep(50 * 1000);
    }
    if (!up) {
        char *log = ag_nginxsrv_error_log(n), *out = ag_child_output(&n->child);
        fprintf(stderr, "nginx did not start; its output:\n%s\nerror.log:\n%s\n", out, log);
        free(out);
        free(log);
        fail_msg("nginx did not start");
    }
}

void ag_nginxsrv_stop(struct ag_nginxsrv *n)
{
    char cmd[128];
    if (n->child.pid > 0)
        ag_child_stop(&n->child, SIGTERM, 5000);
    ag_child_cleanup(&n->child);
    n->child.pid = 0;
    if (n->dir[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", n->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", n->dir);
    }
    n->dir[0] = '\0';
}
