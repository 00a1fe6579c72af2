/* tests/support/hookrx.c: see hookrx.h. */
#include "hookrx.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads one request from fd (5 s bound) into m; false on a malformed or cut request. */
static bool read_request(int fd, struct hookrx_msg *m)
{
    char buf[sizeof(m->head) + sizeof(m->body)];
    size_t len = 0, head_len = 0, body_len = 0;
    long long end = now_ms() + 5000;
    memset(m, 0, sizeof(*m));
    while (len < sizeof(buf) && now_ms() < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t k = read(fd, buf + len, sizeof(buf) - len);
        if (k <= 0)
            return false;
        len += (size_t)k;
        if (!head_len) {
            char *e = memmem(buf, len, "\r\n\r\n", 4);
            if (!e)
                continue;
            head_len = (size_t)(e - buf) + 4;
            if (head_len >= sizeof(m->head))
                return false;
            memcpy(m->head, buf, head_len);
            char cl[32];
            if (hookrx_header(m, "content-length", cl, sizeof(cl)))
                body_len = strtoul(cl, NULL, 10);
            if (body_len >= sizeof(m->body))
                return false;
        }
        if (head_len && len >= head_len + body_len) {
            memcpy(m->body, buf + head_len, body_len);
            m->body_len = body_len;
            return true;
        }
    }
    return false;
}

static void *run(void *arg)
{
    struct hookrx *rx = arg;
    while (!atomic_load(&rx->stop)) {
        struct pollfd p = {.fd = rx->fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(rx->fd, NULL, NULL);
        if (c < 0)
            continue;
        struct hookrx_msg *m = calloc(1, sizeof(*m));
        if (m && read_request(c, m)) {
            int status = 200;
            pthread_mutex_lock(&rx->mu);
            if (rx->n < HOOKRX_MAX)
                rx->msgs[rx->n++] = *m;
            if (rx->fail_first > 0) {
                rx->fail_first--;
                status = 500;
            }
            pthread_mutex_unlock(&rx->mu);
            char resp[128];
            int n = snprintf(resp, sizeof(resp),
                             "HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                             status);
            if (write(c, resp, (size_t)n) < 0)
                perror("hookrx write");
        }
        free(m);
        close(c);
    }
    return NULL;
}

bool hookrx_start(struct hookrx *rx)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    memset(rx, 0, sizeof(*rx));
    rx->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (rx->fd < 0 || bind(rx->fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(rx->fd, 16) != 0 || getsockname(rx->fd, (struct sockaddr *)&a, &al) != 0)
        return false;
    rx->port = ntohs(a.sin_port);
    pthread_mutex_init(&rx->mu, NULL);
    return pthread_create(&rx->thread, NULL, run, rx) == 0;
}

void hookrx_stop(struct hookrx *rx)
{
    atomic_store(&rx->stop, true);
    pthread_join(rx->thread, NULL);
    close(rx->fd);
    pthread_mutex_destroy(&rx->mu);
}

int hookrx_wait(struct hookrx *rx, int n, int timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    int have = 0;
    for (;;) {
        pthread_mutex_lock(&rx->mu);
        have = rx->n;
        pthread_mutex_unlock(&rx->mu);
        if (have >= n || now_ms() >= end)
            return have;
        usleep(20000);
    }
}

bool hookrx_get(struct hookrx *rx, int i, struct hookrx_msg *out)
{
    bool ok = false;
    pthread_mutex_lock(&rx->mu);
    if (i >= 0 && i < rx->n) {
        *out = rx->msgs[i];
        ok = true;
    }
    pthread_mutex_unlock(&rx->mu);
    return ok;
}

bool hookrx_header(const struct hookrx_msg *m, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *p = strstr(m->head, "\r\n");
    while (p && p[2] != '\r') {
        p += 2;
        const char *eol = strstr(p, "\r\n");
        if (!eol)
            break;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            snprintf(out, cap, "%.*s", (int)(eol - v), v);
            return true;
        }
        p = eol;
    }
    return false;
}
