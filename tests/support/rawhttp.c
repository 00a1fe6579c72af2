/* tests/support/rawhttp.c: see rawhttp.h. */
#include "rawhttp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

bool rh_connect(struct rh_conn *c, int port, int timeout_ms)
{
    memset(c, 0, sizeof(*c));
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0)
        return false;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(c->fd);
        c->fd = -1;
        return false;
    }
    return true;
}

bool rh_send(struct rh_conn *c, const char *data, size_t len)
{
    while (len) {
        ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
        if (n <= 0)
            return false;
        data += n;
        len -= (size_t)n;
    }
    return true;
}

bool rh_send_str(struct rh_conn *c, const char *s)
{
    return rh_send(c, s, strlen(s));
}

/* Reads more bytes into the buffer; false on EOF/timeout/error. */
static bool fill(struct rh_conn *c)
{
    if (c->cap - c->len < 4096) {
        c->cap = c->cap ? c->cap * 2 : 16384;
        c->buf = realloc(c->buf, c->cap + 1);
    }
    ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
    if (n <= 0)
        return false;
    c->len += (size_t)n;
    c->buf[c->len] = '\0';
    return true;
}

static void consume(struct rh_conn *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

static const char *find_crlf2(struct rh_conn *c)
{
    if (!c->buf)
        return NULL;
    return memmem(c->buf, c->len, "\r\n\r\n", 4);
}

bool rh_header(const struct rh_resp *r, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *p = r->head ? strstr(r->head, "\r\n") : NULL;
    while (p && p[2]) {
        const char *line = p + 2;
        const char *end = strstr(line, "\r\n");
        if (!end)
            break;
        if ((size_t)(end - line) > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ')
                v++;
            size_t vl = (size_t)(end - v);
            if (vl >= cap)
                vl = cap - 1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return true;
        }
        p = end;
    }
    return false;
}

bool rh_read_head(struct rh_conn *c, struct rh_resp *r)
{
    const char *e;
    memset(r, 0, sizeof(*r));
    while (!(e = find_crlf2(c))) {
        if (!fill(c))
            return false;
    }
    size_t hl = (size_t)(e - c->buf) + 4;
    r->head = strndup(c->buf, hl);
    if (sscanf(r->head, "HTTP/1.%*d %d", &r->status) != 1)
        return false;
    consume(c, hl);
    return true;
}

static bool read_one(struct rh_conn *c, struct rh_resp *r, bool head_request)
{
    if (!rh_read_head(c, r))
        return false;
    char v[64];
    bool no_body = head_request || r->status == 204 || r->status == 304 || r->status < 200;
    if (no_body) {
        r->body = strdup("");
        return true;
    }
    if (rh_header(r, "content-length", v, sizeof(v))) {
        size_t n = strtoul(v, NULL, 10);
        while (c->len < n) {
            if (!fill(c))
                return false;
        }
        r->body = strndup(c->buf, n);
        r->body_len = n;
        consume(c, n);
        return true;
    }
    if (rh_header(r, "transfer-encoding", v, sizeof(v)) && strcasecmp(v, "chunked") == 0) {
        size_t cap = 4096, len = 0;
        char *body = malloc(cap);
        r->chunked = true;
        for (;;) {
            char *crlf;
            while (!(crlf = c->buf ? memmem(c->buf, c->len, "\r\n", 2) : NULL)) {
                if (!fill(c)) {
                    free(body);
                    return false;
                }
            }
            size_t n = strtoul(c->buf, NULL, 16);
            size_t skip = (size_t)(crlf - c->buf) + 2;
            while (c->len < skip + n + 2) {
                if (!fill(c)) {
                    free(body);
                    return false;
                }
            }
            if (len + n + 1 > cap) {
                cap = (len + n + 1) * 2;
                body = realloc(body, cap);
            }
            memcpy(body + len, c->buf + skip, n);
            len += n;
            consume(c, skip + n + 2);
            if (n == 0)
                break;
        }
        body[len] = '\0';
        r->body = body;
        r->body_len = len;
        return true;
    }
    /* close-delimited */
    while (fill(c))
        ;
    r->body = strndup(c->buf ? c->buf : "", c->len);
    r->body_len = c->len;
    consume(c, c->len);
    return true;
}

bool rh_read(struct rh_conn *c, struct rh_resp *r, bool head_request)
{
    for (;;) {
        if (!read_one(c, r, head_request))
            return false;
        if (r->status >= 200)
            return true;
        rh_resp_free(r);
    }
}

bool rh_read_any(struct rh_conn *c, struct rh_resp *r)
{
    return read_one(c, r, false);
}

bool rh_wait_readable(struct rh_conn *c, int timeout_ms)
{
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    return c->len > 0 || poll(&pfd, 1, timeout_ms) > 0;
}

bool rh_wait_closed(struct rh_conn *c, int timeout_ms)
{
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    int waited = 0;
    while (waited < timeout_ms) {
        int n = poll(&pfd, 1, 100);
        waited += 100;
        if (n > 0) {
            char tmp[4096];
            ssize_t got = recv(c->fd, tmp, sizeof(tmp), MSG_DONTWAIT);
            if (got == 0)
                return true;
            if (got < 0 && errno != EAGAIN)
                return true; /* reset counts as closed */
        }
    }
    return false;
}

void rh_resp_free(struct rh_resp *r)
{
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

void rh_close(struct rh_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

bool rh_request(int port, const char *method, const char *path, const char *extra_headers,
                const char *body, struct rh_resp *r)
{
    struct rh_conn c;
    char head[8192];
    if (!rh_connect(&c, port, 10000))
        return false;
    snprintf(
        head, sizeof(head),
        "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%sContent-Length: %zu\r\n\r\n",
        method, path, extra_headers ? extra_headers : "", body ? strlen(body) : (size_t)0);
    bool ok = rh_send_str(&c, head) && (!body || rh_send_str(&c, body)) &&
              rh_read(&c, r, strcmp(method, "HEAD") == 0);
    rh_close(&c);
    return ok;
}
