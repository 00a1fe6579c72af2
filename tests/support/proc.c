/* tests/support/proc.c: child processes and small blocking HTTP calls for tests (see proc.h). */
#include "proc.h"

#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/str.h"
#include "core/time.h"

int ag_proc_spawn(struct ag_proc *p, char *const argv[], uint32_t timeout_ms)
{
    int fds[2];
    char line[256];
    size_t len = 0;
    uint64_t deadline = ag_now_ms() + timeout_ms;
    const char *colon;
    uint64_t port;

    memset(p, 0, sizeof(*p));
    p->pid = -1;
    p->out_fd = -1;
    if (pipe(fds) < 0)
        return -1;
    p->pid = fork();
    if (p->pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (p->pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    p->out_fd = fds[0];
    while (len < sizeof(line) - 1) {
        struct pollfd pfd = {.fd = p->out_fd, .events = POLLIN};
        uint64_t now = ag_now_ms();
        ssize_t n;
        if (now >= deadline || poll(&pfd, 1, (int)(deadline - now)) <= 0)
            goto fail;
        n = read(p->out_fd, line + len, 1);
        if (n <= 0)
            goto fail;
        if (line[len] == '\n')
            break;
        len++;
    }
    line[len] = '\0';
    colon = strrchr(line, ':');
    if (strncmp(line, "listening on ", 13) != 0 || !colon ||
        ag_str_to_u64(ag_str_c(colon + 1), 65535, &port) < 0)
        goto fail;
    p->port = (int)port;
    snprintf(p->base_url, sizeof(p->base_url), "http://127.0.0.1:%d", p->port);
    return 0;
fail:
    ag_proc_stop(p, 0);
    return -1;
}

int ag_proc_stop(struct ag_proc *p, uint32_t grace_ms)
{
    int status = 0, rc = -1;
    uint64_t deadline = ag_now_ms() + grace_ms;

    if (p->pid > 0) {
        kill(p->pid, SIGTERM);
        for (;;) {
            pid_t w = waitpid(p->pid, &status, WNOHANG);
            if (w == p->pid)
                break;
            if (w < 0 && errno != EINTR) {
                status = -1;
                break;
            }
            if (ag_now_ms() >= deadline) {
                kill(p->pid, SIGKILL);
                waitpid(p->pid, &status, 0);
                break;
            }
            usleep(5000);
        }
        if (status >= 0)
            rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (p->out_fd >= 0)
        close(p->out_fd);
    p->out_fd = -1;
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
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}
