/* upstream/h1_head.c: the native HTTP/1.1 path's side of a request before it is sent: which
 * URLs it takes (http://, a host name or address, an optional port, no user name), the host entry
 * of each host and port (an address is kept at once; a name is resolved by h1.c), and the request
 * head, built once, with the caller's headers read the way libcurl reads them. */
#include "upstream/client.h"
#include "upstream/client_internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/err.h"
#include "core/mem.h"

#define H1_HEAD_CAP (256u * 1024u)

struct h1_url {
    struct ag_str authority, host, target;
    int port;
};

static bool host_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '-' || ch == '_';
}

/* http://host[:port][/path][?query][#fragment] with a plain host name, an IPv4 address or a
 * bracketed IPv6 address; false for anything else (libcurl takes those). */
static bool parse_url(const char *url, struct h1_url *u)
{
    const char *p = url + 7, *end;
    size_t alen = 0;
    int port = 80;

    if (strncasecmp(url, "http://", 7) != 0)
        return false;
    while (p[alen] && p[alen] != '/' && p[alen] != '?' && p[alen] != '#')
        alen++;
    u->authority = ag_str_make(p, alen);
    end = p + alen;
    if (*p == '[') {
        const char *close = memchr(p, ']', alen);
        if (!close || close == p + 1)
            return false;
        for (const char *q = p + 1; q < close; q++) {
            if (!((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') ||
                  (*q >= 'A' && *q <= 'F') || *q == ':' || *q == '.'))
                return false;
        }
        u->host = ag_str_make(p + 1, (size_t)(close - p - 1));
        p = close + 1;
    } else {
        const char *q = p;
        while (q < end && *q != ':') {
            if (!host_char(*q))
                return false;
            q++;
        }
        if (q == p)
            return false;
        u->host = ag_str_make(p, (size_t)(q - p));
        p = q;
    }
    if (p < end) {
        if (*p != ':' || p + 1 == end || end - p > 6)
            return false;
        port = 0;
        for (p++; p < end; p++) {
            if (*p < '0' || *p > '9')
                return false;
            port = port * 10 + (*p - '0');
        }
        if (port < 1 || port > 65535)
            return false;
    }
    u->port = port;
    {
        const char *t = end, *hash = strchr(t, '#');
        size_t tlen = hash ? (size_t)(hash - t) : strlen(t);
        for (size_t i = 0; i < tlen; i++) {
            if ((unsigned char)t[i] <= ' ' || t[i] == 0x7f)
                return false;
        }
        u->target = ag_str_make(t, tlen);
    }
    return true;
}

static struct ag_h1_host *host_get(struct ag_upstream_client *c, const struct h1_url *u)
{
    struct ag_h1_host *h;
    struct in6_addr a6;
    struct in_addr a4;
    char name[256];

    for (h = c->h1_hosts; h; h = h->next) {
        if (h->port == u->port && ag_str_eq_ci(ag_str_c(h->name), u->host) &&
            ag_str_eq(ag_str_c(h->authority), u->authority))
            return h;
    }
    if (u->host.len >= sizeof(name))
        return NULL;
    memcpy(name, u->host.p, u->host.len);
    name[u->host.len] = '\0';
    h = AG_NEW(struct ag_h1_host);
    h->name = ag_str_dup(u->host);
    h->authority = ag_str_dup(u->authority);
    h->port = u->port;
    if (inet_pton(AF_INET, name, &a4) == 1) {
        struct sockaddr_in *sa = (struct sockaddr_in *)&h->addrs[0];
        sa->sin_family = AF_INET;
        sa->sin_addr = a4;
        sa->sin_port = htons((uint16_t)u->port);
        h->naddrs = 1;
        h->numeric = true;
    } else if (inet_pton(AF_INET6, name, &a6) == 1) {
        struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&h->addrs[0];
        sa->sin6_family = AF_INET6;
        sa->sin6_addr = a6;
        sa->sin6_port = htons((uint16_t)u->port);
        h->naddrs = 1;
        h->numeric = true;
    }
    h->next = c->h1_hosts;
    c->h1_hosts = h;
    return h;
}

static bool header_ok(struct ag_str s)
{
    return !memchr(s.p, '\r', s.len) && !memchr(s.p, '\n', s.len) && !memchr(s.p, '\0', s.len);
}

static bool header_is(struct ag_str line, const char *name)
{
    size_t n = strlen(name);
    return line.len > n && line.p[n] == ':' && strncasecmp(line.p, name, n) == 0;
}

/* Appends one caller header the way libcurl reads them: "Name:" with nothing after it removes a
 * header (nothing to send here), "Name;" sends it empty. Framing headers are ours. */
static int put_header(struct ag_buf *b, const char *hdr, bool *has_host, bool *has_accept)
{
    struct ag_str line = ag_str_c(hdr), value;
    ptrdiff_t colon = ag_str_find(line, ':');

    if (!header_ok(line))
        return AG_EINVAL;
    if (colon < 0) {
        if (line.len > 1 && line.p[line.len - 1] == ';') {
            ag_buf_append(b, line.p, line.len - 1);
            return ag_buf_append(b, ":\r\n", 3);
        }
        return AG_EINVAL;
    }
    if (colon == 0)
        return AG_EINVAL;
    value = ag_str_trim(ag_str_make(line.p + colon + 1, line.len - (size_t)colon - 1));
    if (!value.len)
        return 0;
    if (header_is(line, "content-length") || header_is(line, "transfer-encoding"))
        return 0;
    *has_host = *has_host || header_is(line, "host");
    *has_accept = *has_accept || header_is(line, "accept");
    ag_buf_append_str(b, line);
    return ag_buf_append(b, "\r\n", 2);
}

int ag_h1_prepare(struct ag_upstream_req *r, const struct ag_upstream_req_spec *spec,
                  const char *method)
{
    struct h1_url u;
    struct ag_buf b;
    bool has_host = false, has_accept = false;
    int rc = 0;

    if (r->c->opts.curl_only || (spec->proxy && *spec->proxy) || !parse_url(spec->url, &u))
        return AG_EUNSUPPORTED;
    r->host = host_get(r->c, &u);
    if (!r->host)
        return AG_EUNSUPPORTED;
    ag_buf_init(&b, H1_HEAD_CAP);
    ag_buf_append_c(&b, method);
    ag_buf_append(&b, " ", 1);
    if (!u.target.len || u.target.p[0] == '?')
        ag_buf_append(&b, "/", 1);
    ag_buf_append_str(&b, u.target);
    ag_buf_append_c(&b, " HTTP/1.1\r\n");
    for (size_t i = 0; i < spec->nheaders && rc == 0; i++)
        rc = put_header(&b, spec->headers[i], &has_host, &has_accept);
    if (!has_host) {
        ag_buf_append_c(&b, "Host: ");
        ag_buf_append_str(&b, u.authority);
        ag_buf_append(&b, "\r\n", 2);
    }
    if (!has_accept)
        ag_buf_append_c(&b, "Accept: */*\r\n");
    if (spec->body || (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)) {
        ag_buf_append_c(&b, "Content-Length: ");
        ag_buf_append_int(&b, (long long)spec->body_len);
        ag_buf_append(&b, "\r\n", 2);
    }
    if (rc == 0)
        rc = ag_buf_append(&b, "\r\n", 2);
    if (rc < 0) {
        ag_buf_dispose(&b);
        return rc == AG_ETOOBIG ? AG_EINVAL : rc;
    }
    r->h1_head = ag_buf_steal(&b, &r->h1_head_len);
    r->native = true;
    return 0;
}
