/* tests/support/wsclient.c: see wsclient.h. */
#include "wsclient.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

bool ws_open(struct rh_conn *c, int port, const char *path, const char *extra_headers,
             struct rh_resp *r)
{
    char head[8192];
    if (!rh_connect(c, port, 10000))
        return false;
    snprintf(head, sizeof(head),
             "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: Upgrade\r\n"
             "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
             "Sec-WebSocket-Key: " WS_TEST_KEY "\r\n%s\r\n",
             path, port, extra_headers ? extra_headers : "");
    if (!rh_send_str(c, head))
        return false;
    return rh_read_any(c, r);
}

bool ws_send_frame(struct rh_conn *c, int opcode, bool fin, const void *data, size_t len,
                   bool masked)
{
    static unsigned seed = 12345;
    unsigned char h[14];
    size_t hl = 2;
    h[0] = (unsigned char)((fin ? 0x80 : 0) | (opcode & 15));
    if (len < 126) {
        h[1] = (unsigned char)len;
    } else if (len < 65536) {
        h[1] = 126;
        h[2] = (unsigned char)(len >> 8);
        h[3] = (unsigned char)len;
        hl = 4;
    } else {
        h[1] = 127;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
        hl = 10;
    }
    unsigned char mask[4] = {0};
    if (masked) {
        h[1] |= 0x80;
        for (int i = 0; i < 4; i++) {
            seed = seed * 1103515245u + 12345u;
            mask[i] = (unsigned char)(seed >> 16);
        }
        memcpy(h + hl, mask, 4);
        hl += 4;
    }
    char *buf = malloc(hl + len + 1);
    memcpy(buf, h, hl);
    for (size_t i = 0; i < len; i++)
        buf[hl + i] = (char)(((const unsigned char *)data)[i] ^ mask[i & 3]);
    bool ok = rh_send(c, buf, hl + len);
    free(buf);
    return ok;
}

bool ws_send_text(struct rh_conn *c, const char *s)
{
    return ws_send_frame(c, WS_TEXT, true, s, strlen(s), true);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Waits for n buffered bytes, reading with poll until the deadline. */
static bool need(struct rh_conn *c, size_t n, long deadline)
{
    while (c->len < n) {
        long left = deadline - now_ms();
        if (left <= 0)
            return false;
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int pr = poll(&pfd, 1, (int)(left > 200 ? 200 : left));
        if (pr < 0 && errno != EINTR)
            return false;
        if (pr <= 0)
            continue;
        if (c->cap - c->len < 65537) {
            c->cap = (c->cap ? c->cap * 2 : 65536) + 65537;
            c->buf = realloc(c->buf, c->cap);
        }
        ssize_t got = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
        if (got <= 0)
            return false;
        c->len += (size_t)got;
    }
    return true;
}

bool ws_read(struct rh_conn *c, struct ws_frame *f, int timeout_ms)
{
    long deadline = now_ms() + timeout_ms;
    memset(f, 0, sizeof(*f));
    if (!need(c, 2, deadline))
        return false;
    const unsigned char *b = (const unsigned char *)c->buf;
    size_t hl = 2;
    uint64_t len = b[1] & 127;
    if (b[1] & 0x80)
        return false; /* a server never masks */
    if (len == 126) {
        if (!need(c, 4, deadline))
            return false;
        b = (const unsigned char *)c->buf;
        len = (uint64_t)b[2] << 8 | b[3];
        hl = 4;
    } else if (len == 127) {
        if (!need(c, 10, deadline))
            return false;
        b = (const unsigned char *)c->buf;
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | b[2 + i];
        hl = 10;
    }
    if (len > (64u << 20) || !need(c, hl + (size_t)len, deadline))
        return false;
    b = (const unsigned char *)c->buf;
    f->fin = b[0] & 0x80;
    f->opcode = b[0] & 15;
    f->len = (size_t)len;
    f->data = malloc(f->len + 1);
    memcpy(f->data, c->buf + hl, f->len);
    f->data[f->len] = '\0';
    memmove(c->buf, c->buf + hl + f->len, c->len - hl - f->len);
    c->len -= hl + f->len;
    return true;
}

bool ws_read_message(struct rh_conn *c, struct ws_frame *f, int timeout_ms)
{
    for (int i = 0; i < 1000; i++) {
        if (!ws_read(c, f, timeout_ms))
            return false;
        if (f->opcode != WS_PING && f->opcode != WS_PONG)
            return true;
        ws_frame_free(f);
    }
    return false;
}

int ws_close_code(const struct ws_frame *f)
{
    if (f->opcode != WS_CLOSE || f->len < 2)
        return 0;
    return ((unsigned char)f->data[0] << 8) | (unsigned char)f->data[1];
}

void ws_frame_free(struct ws_frame *f)
{
    free(f->data);
    memset(f, 0, sizeof(*f));
}
