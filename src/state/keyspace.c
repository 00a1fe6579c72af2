/* state/keyspace.c: the redis:// URL, key names and the message format (see keyspace.h). */
#include "state/keyspace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/json_depth.h"
#include "core/str.h"
#include "core/hex.h"

static void say(char *why, size_t cap, const char *msg)
{
    if (why && cap)
        ag_strlcpy(why, msg, cap);
}

/* Decodes the %XX escapes of [p, p+n) into out ('+' stays '+': this is not a query string);
 * false when it does not fit. */
static bool decode_part(const char *p, size_t n, char *out, size_t cap)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        int hi = i + 2 < n ? ag_hex_value(p[i + 1]) : -1;
        int lo = i + 2 < n ? ag_hex_value(p[i + 2]) : -1;
        if (len + 1 >= cap)
            return false;
        if (p[i] == '%' && hi >= 0 && lo >= 0) {
            out[len++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[len++] = p[i];
        }
    }
    if (len >= cap)
        return false;
    out[len] = '\0';
    return true;
}

int ag_state_url_parse(const char *url, struct ag_state_url *out, char *why, size_t cap)
{
    struct ag_str u = ag_str_c(url ? url : "");
    const char *p, *end, *at, *host_end;
    int64_t v;

    memset(out, 0, sizeof(*out));
    out->port = 6379;
    if (ag_str_has_prefix_ci(u, "rediss://")) {
        say(why, cap,
            "rediss:// (TLS) is not available: Debian 12's hiredis 0.14 has no TLS support; use "
            "redis:// on a private network or through a TLS tunnel (stunnel, spiped)");
        return AG_EINVAL;
    }
    if (!ag_str_has_prefix_ci(u, "redis://")) {
        say(why, cap, "a redis://[[user]:password@]host[:port][/db] URL");
        return AG_EINVAL;
    }
    p = u.p + 8;
    end = u.p + u.len;
    const char *slash = memchr(p, '/', (size_t)(end - p));
    const char *auth_end = slash ? slash : end;
    at = NULL;
    for (const char *q = p; q < auth_end; q++)
        if (*q == '@')
            at = q; /* the last '@': a password may hold one, escaped or not */
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (!colon) { /* redis://password@host: the common short form */
            colon = p - 1;
        } else if (!decode_part(p, (size_t)(colon - p), out->user, sizeof(out->user))) {
            say(why, cap, "the user name in the redis:// URL is too long");
            return AG_EINVAL;
        }
        if (!decode_part(colon + 1, (size_t)(at - colon - 1), out->password,
                         sizeof(out->password))) {
            say(why, cap, "the password in the redis:// URL is too long");
            return AG_EINVAL;
        }
        p = at + 1;
    }
    /* host, [v6], :port */
    const char *port_p = NULL;
    if (p < auth_end && *p == '[') {
        const char *rb = memchr(p, ']', (size_t)(auth_end - p));
        if (!rb) {
            say(why, cap, "an IPv6 address in the redis:// URL lacks its ']'");
            return AG_EINVAL;
        }
        host_end = rb;
        p++;
        if (rb + 1 < auth_end) {
            if (rb[1] != ':')
                goto bad_host;
            port_p = rb + 2;
        }
    } else {
        const char *colon = memchr(p, ':', (size_t)(auth_end - p));
        host_end = colon ? colon : auth_end;
        if (colon)
            port_p = colon + 1;
    }
    if (host_end <= p || (size_t)(host_end - p) >= sizeof(out->host))
        goto bad_host;
    memcpy(out->host, p, (size_t)(host_end - p));
    out->host[host_end - p] = '\0';
    if (port_p) {
        if (ag_str_to_i64(ag_str_make(port_p, (size_t)(auth_end - port_p)), 1, 65535, &v) != 0) {
            say(why, cap, "the port in the redis:// URL must be 1 to 65535");
            return AG_EINVAL;
        }
        out->port = (int)v;
    }
    if (slash && slash + 1 < end) {
        if (ag_str_to_i64(ag_str_make(slash + 1, (size_t)(end - slash - 1)), 0, 15, &v) != 0) {
            say(why, cap, "the database in the redis:// URL must be a number 0 to 15");
            return AG_EINVAL;
        }
        out->db = (int)v;
    }
    return 0;
bad_host:
    say(why, cap, "the redis:// URL needs a host (redis://host:port/db)");
    return AG_EINVAL;
}

static bool plain(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '@' || c == '+' || c == '-';
}

/* Appends the escaped s at out[*n]; false when it does not fit (cap includes the NUL). */
static bool put_escaped(char *out, size_t cap, size_t *n, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        size_t need = plain(*c) ? 1 : 3;
        if (*n + need >= cap)
            return false;
        if (need == 1) {
            out[(*n)++] = (char)*c;
        } else {
            out[(*n)++] = '%';
            out[(*n)++] = hex[*c >> 4];
            out[(*n)++] = hex[*c & 15];
        }
    }
    return true;
}

size_t ag_state_key(char *out, size_t cap, const char *prefix, const char *kind, const char *a,
                    const char *b)
{
    int len = snprintf(out, cap, "%s%s:", prefix ? prefix : "", kind);
    size_t n;
    if (len < 0 || (size_t)len >= cap)
        goto fail;
    n = (size_t)len;
    if (!put_escaped(out, cap, &n, a ? a : ""))
        goto fail;
    if (b) {
        if (n + 1 >= cap)
            goto fail;
        out[n++] = ':';
        if (!put_escaped(out, cap, &n, b))
            goto fail;
    }
    out[n] = '\0';
    return n;
fail:
    if (cap)
        out[0] = '\0';
    return 0;
}

static const char *kind_name(enum ag_state_msg_kind k)
{
    switch (k) {
    case AG_STATE_MSG_COOLDOWN:
        return "cd";
    case AG_STATE_MSG_STICKY:
        return "st";
    case AG_STATE_MSG_ACCOUNT:
        return "acct";
    case AG_STATE_MSG_SYNC:
        return "sync";
    case AG_STATE_MSG_INFLIGHT:
        return "if";
    }
    return NULL;
}

int ag_state_msg_encode(const struct ag_state_msg *m, const char *rec_json, struct ag_buf *out)
{
    const char *kind = kind_name(m->kind);
    yyjson_mut_doc *doc = NULL;
    yyjson_doc *rec = NULL;
    char *json = NULL;
    size_t len = 0;
    int rc = AG_EINVAL;

    if (!kind)
        return AG_EINVAL;
    doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *o = yyjson_mut_obj(doc);
    yyjson_mut_doc_set_root(doc, o);
    yyjson_mut_obj_add_str(doc, o, "k", kind);
    yyjson_mut_obj_add_strcpy(doc, o, "i", m->instance);
    switch (m->kind) {
    case AG_STATE_MSG_COOLDOWN:
        yyjson_mut_obj_add_strcpy(doc, o, "a", m->account);
        yyjson_mut_obj_add_strcpy(doc, o, "g", m->group);
        yyjson_mut_obj_add_int(doc, o, "u", m->until_ms);
        yyjson_mut_obj_add_uint(doc, o, "s", m->strikes);
        yyjson_mut_obj_add_bool(doc, o, "p", m->probing);
        yyjson_mut_obj_add_strcpy(doc, o, "r", m->reason);
        break;
    case AG_STATE_MSG_STICKY:
        yyjson_mut_obj_add_strcpy(doc, o, "s", m->session);
        yyjson_mut_obj_add_strcpy(doc, o, "a", m->account);
        yyjson_mut_obj_add_int(doc, o, "u", m->until_ms);
        break;
    case AG_STATE_MSG_ACCOUNT:
        rec = rec_json ? yyjson_read(rec_json, strlen(rec_json), 0) : NULL;
        if (!rec || !yyjson_is_obj(yyjson_doc_get_root(rec)))
            goto out;
        yyjson_mut_obj_add_val(doc, o, "rec", yyjson_val_mut_copy(doc, yyjson_doc_get_root(rec)));
        break;
    case AG_STATE_MSG_SYNC:
        break;
    case AG_STATE_MSG_INFLIGHT:
        yyjson_mut_obj_add_strcpy(doc, o, "a", m->account);
        yyjson_mut_obj_add_uint(doc, o, "n", m->count);
        break;
    }
    json = yyjson_mut_write(doc, 0, &len);
    if (!json) {
        rc = AG_ENOMEM;
        goto out;
    }
    rc = ag_buf_append(out, json, len);
out:
    free(json);
    yyjson_doc_free(rec);
    yyjson_mut_doc_free(doc);
    return rc;
}

/* Copies the string member key of o into dst; false when missing, not a string or too long. */
static bool get_str(yyjson_val *o, const char *key, char *dst, size_t cap)
{
    yyjson_val *v = yyjson_obj_get(o, key);
    if (!yyjson_is_str(v) || yyjson_get_len(v) >= cap)
        return false;
    memcpy(dst, yyjson_get_str(v), yyjson_get_len(v) + 1);
    return true;
}

int ag_state_msg_decode(const char *data, size_t len, struct ag_state_msg *m)
{
    char kind[8];
    yyjson_val *o, *v;

    memset(m, 0, sizeof(*m));
    m->doc = ag_json_depth_read(data, len, AG_JSON_DEPTH_INTERNAL, NULL, NULL, NULL);
    o = m->doc ? yyjson_doc_get_root(m->doc) : NULL;
    if (!yyjson_is_obj(o) || !get_str(o, "k", kind, sizeof(kind)) ||
        !get_str(o, "i", m->instance, sizeof(m->instance)))
        goto bad;
    if (strcmp(kind, "cd") == 0) {
        m->kind = AG_STATE_MSG_COOLDOWN;
        if (!get_str(o, "a", m->account, sizeof(m->account)) ||
            !get_str(o, "g", m->group, sizeof(m->group)))
            goto bad;
        v = yyjson_obj_get(o, "s");
        m->strikes =
            yyjson_is_uint(v) && yyjson_get_uint(v) < 1000 ? (unsigned)yyjson_get_uint(v) : 0;
        m->probing = yyjson_get_bool(yyjson_obj_get(o, "p"));
        get_str(o, "r", m->reason, sizeof(m->reason)); /* optional */
    } else if (strcmp(kind, "st") == 0) {
        m->kind = AG_STATE_MSG_STICKY;
        if (!get_str(o, "s", m->session, sizeof(m->session)) || !m->session[0] ||
            !get_str(o, "a", m->account, sizeof(m->account)))
            goto bad;
    } else if (strcmp(kind, "acct") == 0) {
        m->kind = AG_STATE_MSG_ACCOUNT;
        m->rec = yyjson_obj_get(o, "rec");
        if (!yyjson_is_obj(m->rec))
            goto bad;
        return 0;
    } else if (strcmp(kind, "if") == 0) {
        m->kind = AG_STATE_MSG_INFLIGHT;
        v = yyjson_obj_get(o, "n");
        if (!get_str(o, "a", m->account, sizeof(m->account)) || !m->account[0] ||
            !yyjson_is_uint(v) || yyjson_get_uint(v) > 1000000)
            goto bad;
        m->count = (unsigned)yyjson_get_uint(v);
        yyjson_doc_free(m->doc);
        m->doc = NULL;
        return 0;
    } else if (strcmp(kind, "sync") == 0) {
        m->kind = AG_STATE_MSG_SYNC;
        yyjson_doc_free(m->doc);
        m->doc = NULL;
        return 0;
    } else {
        goto bad;
    }
    v = yyjson_obj_get(o, "u");
    if (!yyjson_is_int(v) || yyjson_get_sint(v) <= 0 || !m->account[0])
        goto bad;
    m->until_ms = yyjson_get_sint(v);
    yyjson_doc_free(m->doc); /* only account messages keep their document */
    m->doc = NULL;
    return 0;
bad:
    ag_state_msg_dispose(m);
    memset(m, 0, sizeof(*m));
    return AG_EINVAL;
}

void ag_state_msg_dispose(struct ag_state_msg *m)
{
    if (!m)
        return;
    yyjson_doc_free(m->doc);
    m->doc = NULL;
    m->rec = NULL;
}

/* ---- per-key limits ---- */

size_t ag_state_key_window(char *out, size_t cap, const char *prefix, const char *key, char w,
                           int64_t start)
{
    char win[32];
    if (w != 'r' && w != 't' && w != 'd' && w != 'm') {
        if (cap)
            out[0] = '\0';
        return 0;
    }
    snprintf(win, sizeof(win), "%c%lld", w, (long long)start);
    return ag_state_key(out, cap, prefix, "kw", key, win);
}

int ag_state_keymsg_encode(const struct ag_state_keymsg *m, struct ag_buf *out)
{
    char *json = NULL;
    size_t len = 0;
    int rc;

    if (!m->key[0])
        return AG_EINVAL;
    yyjson_mut_doc *doc = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *o = yyjson_mut_obj(doc);
    yyjson_mut_doc_set_root(doc, o);
    yyjson_mut_obj_add_str(doc, o, "k", "ku");
    yyjson_mut_obj_add_strcpy(doc, o, "i", m->instance);
    yyjson_mut_obj_add_strcpy(doc, o, "n", m->key);
    yyjson_mut_obj_add_int(doc, o, "c", m->in_flight);
    yyjson_mut_obj_add_int(doc, o, "v", m->reserved);
    yyjson_mut_obj_add_int(doc, o, "r", m->requests);
    yyjson_mut_obj_add_int(doc, o, "t", m->tokens);
    yyjson_mut_obj_add_int(doc, o, "u", m->used);
    yyjson_mut_obj_add_int(doc, o, "d", m->day_start);
    yyjson_mut_obj_add_int(doc, o, "m", m->month_start);
    json = yyjson_mut_write(doc, 0, &len);
    rc = json ? ag_buf_append(out, json, len) : AG_ENOMEM;
    free(json);
    yyjson_mut_doc_free(doc);
    return rc;
}

/* The integer member key of o into *dst when within [lo, hi]; false otherwise. */
static bool get_int(yyjson_val *o, const char *key, int64_t lo, int64_t hi, int64_t *dst)
{
    yyjson_val *v = yyjson_obj_get(o, key);
    if (!yyjson_is_int(v))
        return false;
    int64_t x = yyjson_get_sint(v);
    if (yyjson_is_uint(v) && yyjson_get_uint(v) > (uint64_t)INT64_MAX)
        return false;
    if (x < lo || x > hi)
        return false;
    *dst = x;
    return true;
}

#define KEYMSG_MAX INT64_C(1000000000000)

int ag_state_keymsg_decode(const char *data, size_t len, struct ag_state_keymsg *m)
{
    char kind[8];
    int rc = AG_EINVAL;

    memset(m, 0, sizeof(*m));
    yyjson_doc *doc = ag_json_depth_read(data, len, AG_JSON_DEPTH_INTERNAL, NULL, NULL, NULL);
    yyjson_val *o = doc ? yyjson_doc_get_root(doc) : NULL;
    if (!yyjson_is_obj(o) || !get_str(o, "k", kind, sizeof(kind)) || strcmp(kind, "ku") != 0 ||
        !get_str(o, "i", m->instance, sizeof(m->instance)) || !m->instance[0] ||
        !get_str(o, "n", m->key, sizeof(m->key)) || !m->key[0])
        goto out;
    if (!get_int(o, "c", 0, KEYMSG_MAX, &m->in_flight) ||
        !get_int(o, "v", 0, KEYMSG_MAX, &m->reserved) ||
        !get_int(o, "r", 0, KEYMSG_MAX, &m->requests) ||
        !get_int(o, "t", -KEYMSG_MAX, KEYMSG_MAX, &m->tokens) ||
        !get_int(o, "u", 0, KEYMSG_MAX, &m->used) ||
        !get_int(o, "d", 0, INT64_C(1) << 40, &m->day_start) ||
        !get_int(o, "m", 0, INT64_C(1) << 40, &m->month_start))
        goto out;
    rc = 0;
out:
    yyjson_doc_free(doc);
    if (rc)
        memset(m, 0, sizeof(*m));
    return rc;
}
