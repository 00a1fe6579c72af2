/* bench/sseload.c: the benchmark's stream driver. Opens N HTTP/1.1 connections to one loopback
 * address (at a bounded rate), sends the same raw request on each, reads every response to its
 * end (chunked terminator, Content-Length or EOF) and counts the SSE "data:" lines it carried.
 * Prints one JSON object: how many streams completed with 2xx, the status counts, events seen,
 * time to first byte and total duration percentiles, and the wall time. Everything is bounded
 * by --timeout. One thread, one epoll set; built by bench/run.sh with a plain cc line.
 *
 *   sseload --port P --request FILE [--conns N] [--rate PER_S] [--timeout S]
 *   sseload --probe --port P [--timeout S]   poll GET /healthz every 0.2 ms until a 200;
 *                                             print the CLOCK_REALTIME ns of that answer
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { ST_CONNECTING, ST_WRITING, ST_HEAD, ST_BODY, ST_DONE };

struct conn {
    int fd, state, status;
    size_t wrote;
    int64_t t_start, t_first, t_end;
    char head[4096];
    size_t head_len;
    int64_t clen; /* -1 = unknown */
    int chunked;
    size_t body_seen;
    char tail[8]; /* last bytes of the body, to spot the chunked terminator */
    size_t tail_len;
    char prev; /* last body byte, for "data:" at line start */
    int match; /* chars of "data:" matched at line start */
    long events;
};

static int64_t now_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(int64_t *v, size_t n, double p)
{
    size_t i;
    if (!n)
        return 0;
    i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return (double)v[i < n ? i : n - 1] / 1000.0; /* µs */
}

static int open_conn(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Scans body bytes: counts "data:" at line starts and keeps the tail. */
static void scan_body(struct conn *c, const char *p, size_t n)
{
    static const char pat[] = "data:";
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (c->match > 0 || c->prev == '\n' || (c->body_seen == 0 && i == 0)) {
            if (ch == pat[c->match]) {
                if (++c->match == 5) {
                    c->events++;
                    c->match = 0;
                }
            } else {
                c->match = 0;
            }
        }
        c->prev = ch;
    }
    c->body_seen += n;
    if (n >= sizeof(c->tail)) {
        memcpy(c->tail, p + n - sizeof(c->tail), sizeof(c->tail));
        c->tail_len = sizeof(c->tail);
    } else {
        size_t keep = c->tail_len + n > sizeof(c->tail) ? sizeof(c->tail) - n : c->tail_len;
        memmove(c->tail, c->tail + c->tail_len - keep, keep);
        memcpy(c->tail + keep, p, n);
        c->tail_len = keep + n;
    }
}

static int body_complete(const struct conn *c)
{
    if (c->chunked)
        return c->tail_len >= 5 && memcmp(c->tail + c->tail_len - 5, "0\r\n\r\n", 5) == 0;
    return c->clen >= 0 && (int64_t)c->body_seen >= c->clen;
}

static int parse_head(struct conn *c, size_t *body_off)
{
    char *end = memmem(c->head, c->head_len, "\r\n\r\n", 4), *line;
    if (!end)
        return c->head_len >= sizeof(c->head) - 1 ? -1 : 0;
    *end = '\0';
    if (sscanf(c->head, "HTTP/1.%*d %d", &c->status) != 1)
        return -1;
    c->clen = -1;
    for (line = strstr(c->head, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        const char *h = line + 2;
        if (strncasecmp(h, "content-length:", 15) == 0)
            c->clen = strtoll(h + 15, NULL, 10);
        else if (strncasecmp(h, "transfer-encoding:", 18) == 0 && strcasestr(h, "chunked"))
            c->chunked = 1;
    }
    *body_off = (size_t)(end + 4 - c->head);
    return 1;
}

static int probe(int port, double timeout_s)
{
    static const char req[] =
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    int64_t deadline = now_ns(CLOCK_MONOTONIC) + (int64_t)(timeout_s * 1e9);
    while (now_ns(CLOCK_MONOTONIC) < deadline) {
        int fd = open_conn(port);
        if (fd >= 0) {
            int flags = fcntl(fd, F_GETFL);
            struct timeval tv = {0, 200000};
            fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
            /* A non-blocking connect on loopback resolves at once; wait for it blocking. */
            struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
            sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
            if ((connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EISCONN) &&
                write(fd, req, sizeof(req) - 1) == (ssize_t)(sizeof(req) - 1)) {
                char buf[256];
                ssize_t n = read(fd, buf, sizeof(buf) - 1);
                if (n > 12 && memcmp(buf + 9, "200", 3) == 0) {
                    printf("%lld\n", (long long)now_ns(CLOCK_REALTIME));
                    close(fd);
                    return 0;
                }
            }
            close(fd);
        }
        usleep(200);
    }
    fprintf(stderr, "sseload: no 200 from /healthz within %.1f s\n", timeout_s);
    return 1;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *p;
    long n;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = malloc((size_t)n + 1);
    if (fread(p, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(p);
        return NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return p;
}

int main(int argc, char **argv)
{
    int port = 0, nconns = 1, is_probe = 0, ep, opened = 0, finished = 0, ok = 0, status_n[6] = {0};
    double rate = 2000, timeout_s = 60;
    const char *reqfile = NULL;
    char *req;
    size_t req_len = 0, nt = 0, nd = 0;
    long events = 0, conn_errors = 0;
    struct conn *cs;
    int64_t t0, deadline, *ttfb, *dur, all_open_at = 0;
    static char buf[65536];

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--probe"))
            is_probe = 1;
        else if (!strcmp(a, "--port") && ++i)
            port = atoi(v);
        else if (!strcmp(a, "--request") && ++i)
            reqfile = v;
        else if (!strcmp(a, "--conns") && ++i)
            nconns = atoi(v);
        else if (!strcmp(a, "--rate") && ++i)
            rate = atof(v);
        else if (!strcmp(a, "--timeout") && ++i)
            timeout_s = atof(v);
        else {
            fprintf(stderr, "sseload: unknown argument %s\n", a);
            return 2;
        }
    }
    if (port <= 0)
        return 2;
    if (is_probe)
        return probe(port, timeout_s);
    if (!reqfile || !(req = read_file(reqfile, &req_len)) || nconns < 1)
        return 2;

    cs = calloc((size_t)nconns, sizeof(*cs));
    ttfb = calloc((size_t)nconns, sizeof(*ttfb));
    dur = calloc((size_t)nconns, sizeof(*dur));
    ep = epoll_create1(EPOLL_CLOEXEC);
    t0 = now_ns(CLOCK_MONOTONIC);
    deadline = t0 + (int64_t)(timeout_s * 1e9);

    while (finished < nconns) {
        int64_t now = now_ns(CLOCK_MONOTONIC);
        struct epoll_event evs[256];
        int n;
        /* Open connections at the configured rate. */
        int64_t due = (int64_t)((double)(now - t0) / 1e9 * rate) + 1;
        while (opened < nconns && opened < due) {
            struct conn *c = &cs[opened];
            struct epoll_event e = {.events = EPOLLOUT | EPOLLIN, .data.u32 = (uint32_t)opened};
            c->t_start = now;
            c->fd = open_conn(port);
            c->state = ST_CONNECTING;
            opened++;
            if (c->fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e) < 0) {
                conn_errors++;
                c->state = ST_DONE;
                if (c->fd >= 0)
                    close(c->fd);
                finished++;
            }
        }
        if (now > deadline)
            break;
        n = epoll_wait(ep, evs, 256, opened < nconns ? 1 : 50);
        for (int k = 0; k < n; k++) {
            struct conn *c = &cs[evs[k].data.u32];
            int done = 0;
            if (c->state == ST_CONNECTING || c->state == ST_WRITING) {
                ssize_t w = write(c->fd, req + c->wrote, req_len - c->wrote);
                if (w < 0 && errno != EAGAIN) {
                    done = -1;
                } else if (w > 0) {
                    c->wrote += (size_t)w;
                    c->state = ST_WRITING;
                    if (c->wrote == req_len) {
                        struct epoll_event e = {.events = EPOLLIN, .data.u32 = evs[k].data.u32};
                        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
                        c->state = ST_HEAD;
                    }
                }
            } else {
                for (;;) {
                    ssize_t r = read(c->fd, buf, sizeof(buf));
                    size_t off = 0;
                    if (r < 0 && errno == EAGAIN)
                        break;
                    if (r <= 0) {
                        /* EOF: complete only for a close-delimited body. */
                        done =
                            (r == 0 && c->state == ST_BODY && !c->chunked && c->clen < 0) ? 1 : -1;
                        break;
                    }
                    if (!c->t_first)
                        c->t_first = now_ns(CLOCK_MONOTONIC);
                    if (c->state == ST_HEAD) {
                        size_t take = sizeof(c->head) - 1 - c->head_len;
                        int h;
                        if (take > (size_t)r)
                            take = (size_t)r;
                        memcpy(c->head + c->head_len, buf, take);
                        c->head_len += take;
                        h = parse_head(c, &off);
                        if (h < 0) {
                            done = -1;
                            break;
                        }
                        if (!h)
                            continue;
                        /* off counts from the head buffer's start; map it into this read. */
                        off = off - (c->head_len - take);
                        c->state = ST_BODY;
                    }
                    scan_body(c, buf + off, (size_t)r - off);
                    if (body_complete(c)) {
                        done = 1;
                        break;
                    }
                }
            }
            if (done) {
                c->t_end = now_ns(CLOCK_MONOTONIC);
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                c->state = ST_DONE;
                finished++;
                if (done > 0 && c->status >= 200 && c->status < 300) {
                    ok++;
                    events += c->events;
                    ttfb[nt++] = c->t_first - c->t_start;
                    dur[nd++] = c->t_end - c->t_start;
                } else if (done < 0) {
                    conn_errors++;
                }
                if (c->status >= 100 && c->status < 600)
                    status_n[c->status / 100]++;
            }
        }
        if (!all_open_at && opened == nconns) {
            int waiting = 0;
            for (int i = 0; i < nconns && !waiting; i++)
                waiting = cs[i].state != ST_DONE && !cs[i].t_first;
            if (!waiting)
                all_open_at = now_ns(CLOCK_MONOTONIC);
        }
    }
    for (int i = 0; i < nconns; i++) {
        if (cs[i].state != ST_DONE && cs[i].fd >= 0 && i < opened) {
            close(cs[i].fd);
            conn_errors++;
        }
    }
    qsort(ttfb, nt, sizeof(*ttfb), cmp_i64);
    qsort(dur, nd, sizeof(*dur), cmp_i64);
    printf("{\"conns\":%d,\"ok\":%d,\"errors\":%ld,\"status\":{\"2xx\":%d,\"3xx\":%d,\"4xx\":%d,"
           "\"5xx\":%d},\"events\":%ld,\"events_per_stream\":%.1f,"
           "\"ttfb_us\":{\"p50\":%.0f,\"p99\":%.0f,\"max\":%.0f},"
           "\"duration_us\":{\"p50\":%.0f,\"p99\":%.0f,\"p999\":%.0f,\"max\":%.0f},"
           "\"all_open_s\":%.3f,\"wall_s\":%.3f,\"timed_out\":%s}\n",
           nconns, ok, conn_errors, status_n[2], status_n[3], status_n[4], status_n[5], events,
           ok ? (double)events / ok : 0.0, pct(ttfb, nt, 50), pct(ttfb, nt, 99), pct(ttfb, nt, 100),
           pct(dur, nd, 50), pct(dur, nd, 99), pct(dur, nd, 99.9), pct(dur, nd, 100),
           all_open_at ? (double)(all_open_at - t0) / 1e9 : -1.0,
           (double)(now_ns(CLOCK_MONOTONIC) - t0) / 1e9, finished < nconns ? "true" : "false");
    return 0;
}
