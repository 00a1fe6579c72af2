/* tests/support/proc.c: child processes and small blocking HTTP calls for tests (see proc.h). */
#include "proc.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/str.h"

/* Spawning, waiting for the ready line and stopping are child.c's; this adds the port. */
int ag_proc_spawn(struct ag_proc *p, char *const argv[], uint32_t timeout_ms)
{
    memset(p, 0, sizeof(*p));
    p->pid = -1;
    if (!ag_child_start(&p->child, (const char *const *)argv, NULL, "listening on ",
                        (int)timeout_ms))
        return -1;
    /* The ready line is one write, but read it again briefly if its end is not there yet. */
    char *out = ag_child_output(&p->child);
    for (int i = 0;
         i < 100 && !(strstr(out, "listening on ") && strchr(strstr(out, "listening on "), '\n'));
         i++) {
        free(out);
        usleep(10000);
        out = ag_child_output(&p->child);
    }
    const char *at = strstr(out, "listening on ");
    const char *nl = at ? strchr(at, '\n') : NULL;
    const char *colon = NULL;
    uint64_t port;
    for (const char *q = at; q && q < (nl ? nl : at + strlen(at)); q++)
        if (*q == ':')
            colon = q;
    bool ok = colon && nl &&
              ag_str_to_u64(ag_str_make(colon + 1, (size_t)(nl - colon - 1)), 65535, &port) == 0;
    free(out);
    if (!ok) {
        ag_child_stop(&p->child, SIGKILL, 1000);
        ag_child_cleanup(&p->child);
        return -1;
    }
    p->pid = p->child.pid;
    p->port = (int)port;
    snprintf(p->base_url, sizeof(p->base_url), "http://127.0.0.1:%d", p->port);
    return 0;
}

int ag_proc_stop(struct ag_proc *p, uint32_t grace_ms)
{
    int rc = p->child.pid > 0 ? ag_child_stop(&p->child, SIGTERM, (int)grace_ms) : -1;
    ag_child_cleanup(&p->child);
    p->pid = -1;
    return rc;
}

int ag_proc_start_mock(struct ag_proc *p, const char *const *extra)
{
    const char *bin = getenv("AIGATE_MOCK_BIN");
    char *argv[32];
    size_t n = 0;

    if (!bin || access(bin, X_OK) != 0) {
        fprintf(stderr, "AIGATE_MOCK_BIN is not set or not executable\n");
        return -1;
    }
    argv[n++] = (char *)bin;
    argv[n++] = "--port";
    argv[n++] = "0";
    for (size_t i = 0; extra && extra[i] && n < 31; i++)
        argv[n++] = (char *)extra[i];
    argv[n] = NULL;
    return ag_proc_spawn(p, argv, 10000);
}

static size_t on_body(char *ptr, size_t size, size_t n, void *ud)
{
    return ag_buf_append(ud, ptr, size * n) == 0 ? size * n : 0;
}

long ag_test_http(const char *method, const char *url, const char *body, const char *const *headers,
                  struct ag_buf *out)
{
    CURL *e = curl_easy_init();
    struct curl_slist *sl = NULL;
    long status = -1;

    if (!e)
        return -1;
    for (size_t i = 0; headers && headers[i]; i++)
        sl = curl_slist_append(sl, headers[i]);
    if (body)
        sl = curl_slist_append(sl, "Content-Type: application/json");
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, sl);
    if (body)
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
    if (curl_easy_perform(e) == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(sl);
    curl_easy_cleanup(e);
    return status;
}

int ag_test_refused_port(void)
{
    return ag_child_free_port();
}
