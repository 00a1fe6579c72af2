/* admin/redact.c: byte-level secret redaction for captured bodies (see redact.h). */
#include "admin/redact.h"

#include "core/err.h"
#include "core/hex.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* Scanned beyond the output cap so a long token that starts before the cut is still seen. */
#define SCAN_SLACK 2048

static const char *const secret_names[] = {
    "authorization",
    "api_key",
    "apikey",
    "api-key",
    "x-api-key",
    "x-goog-api-key",
    "key",
    "refresh_token",
    "access_token",
    "id_token",
    "client_secret",
    "password",
    "admin_password",
    "code",
    "token",
    "private_key",
    "secret",
    NULL,
};

/* Longest member or parameter name looked at (decoded bytes); secret names are all shorter. */
#define NAME_MAX_BYTES 32

/* "code" is secret only as a form/query parameter (OAuth redirects); in JSON it is usually an
 * error code worth keeping. */
static bool name_is_secret(const char *p, size_t n, bool form)
{
    if (!form && n == 4 && strncasecmp(p, "code", 4) == 0)
        return false;
    for (size_t i = 0; secret_names[i]; i++) {
        if (strlen(secret_names[i]) == n && strncasecmp(p, secret_names[i], n) == 0)
            return true;
    }
    return false;
}

static bool tokch(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.' || c == '/' || c == '+' ||
           c == '=' || c == '~';
}

/* Decodes the JSON string body at n (up to its closing quote, which must come before end) into
 * out (NAME_MAX_BYTES): escapes such as \u0061 or \/ become their character, so an escaped name
 * is recognised as the plain one. Returns the decoded length and sets *close to the closing quote,
 * or returns -1 when the string is not closed in time, too long, or holds a character no secret
 * name has (then it is not a secret name). */
static int json_name(const char *n, const char *end, char *out, const char **close)
{
    int len = 0;
    const char *q = n;
    while (q < end && *q != '"') {
        unsigned c = (unsigned char)*q++;
        if (c == '\\') {
            if (q >= end)
                return -1;
            char e = *q++;
            if (e == 'u') {
                if (end - q < 4)
                    return -1;
                int v = 0;
                for (int i = 0; i < 4; i++) {
                    int h = ag_hex_value(q[i]);
                    if (h < 0)
                        return -1;
                    v = v * 16 + h;
                }
                q += 4;
                if (v >= 0x80)
                    return -1;
                c = (unsigned)v;
            } else if (e == '"' || e == '\\' || e == '/') {
                c = (unsigned char)e;
            } else {
                return -1; /* \n, \t, ...: never part of a secret name */
            }
        }
        if (len == NAME_MAX_BYTES)
            return -1;
        out[len++] = (char)c;
    }
    if (q >= end)
        return -1;
    *close = q;
    return len;
}

/* Length of the prefix at p when it is pre, also in its JSON-escaped form where '/' is written
 * "\/" (some JSON writers do); 0 when p does not start with it. */
static size_t prefix_at(const char *p, const char *end, const char *pre)
{
    const char *q = p;
    for (; *pre; pre++) {
        if (q < end && *q == *pre)
            q++;
        else if (*pre == '/' && end - q >= 2 && q[0] == '\\' && q[1] == '/')
            q += 2;
        else
            return 0;
    }
    return (size_t)(q - p);
}

/* Length of a token-shaped secret starting at p (0 when none): sk-..., ya29...., refresh tokens
 * 1//... and Google API keys (AIza + 35 characters); *keep gets how much of its start may stay
 * (the prefix that says what kind of secret it was). */
static size_t secret_token_at(const char *p, const char *end, const char *start, size_t *keep)
{
    if (p > start && (isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '-'))
        return 0;
    if (end - p >= 39 && memcmp(p, "AIza", 4) == 0) {
        const char *q = p + 4;
        while (q < end && (isalnum((unsigned char)*q) || *q == '_' || *q == '-'))
            q++;
        if (q - p >= 39) {
            *keep = 4;
            return (size_t)(q - p);
        }
        return 0;
    }
    size_t pre = 0;
    if (end - p >= 3 && memcmp(p, "sk-", 3) == 0)
        pre = 3;
    else if (end - p >= 5 && memcmp(p, "ya29.", 5) == 0)
        pre = 5;
    else
        pre = prefix_at(p, end, "1//");
    if (!pre)
        return 0;
    const char *q = p + pre;
    /* "\/" inside a JSON-escaped token is part of it */
    while (q < end && (tokch(*q) || (*q == '\\' && q + 1 < end && q[1] == '/')))
        q += *q == '\\' ? 2 : 1;
    *keep = pre;
    return (size_t)(q - p) >= pre + 8 ? (size_t)(q - p) : 0;
}

/* Decodes a form or query parameter name (percent escapes) into out (NAME_MAX_BYTES); -1 when
 * too long. */
static int form_name(const char *n, const char *e, char *out)
{
    int len = 0;
    for (const char *q = n; q < e; q++) {
        char c = *q;
        if (c == '%' && e - q >= 3 && ag_hex_value(q[1]) >= 0 && ag_hex_value(q[2]) >= 0) {
            c = (char)(ag_hex_value(q[1]) * 16 + ag_hex_value(q[2]));
            q += 2;
        }
        if (len == NAME_MAX_BYTES)
            return -1;
        out[len++] = c;
    }
    return len;
}

static bool json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* "name" : "value" at p, a JSON member with a secret name: appends it with the value redacted and
 * returns where the scan goes on (the value's closing quote); NULL when p starts no such member. */
static const char *redact_member(const char *p, const char *end, struct ag_buf *tmp, int *rc)
{
    char name[NAME_MAX_BYTES];
    const char *q = NULL;
    int nl = json_name(p + 1, end, name, &q);
    if (nl < 0 || !name_is_secret(name, (size_t)nl, false))
        return NULL;
    const char *v = q + 1;
    while (v < end && json_space(*v))
        v++;
    if (v >= end || *v != ':')
        return NULL;
    v++;
    while (v < end && json_space(*v))
        v++;
    if (v >= end || *v != '"')
        return NULL;
    const char *e = v + 1;
    while (e < end && *e != '"')
        e += (*e == '\\' && e + 1 < end) ? 2 : 1;
    *rc = ag_buf_append(tmp, p, (size_t)(v + 1 - p));
    if (!*rc && e > v + 1)
        *rc = ag_buf_append_c(tmp, AG_REDACTED);
    return e;
}

/* name=value in a form or query string, p at the '=' (s is the start of the input): appends "="
 * and the redacted value when the name is a secret's and returns the value's end; else NULL. */
static const char *redact_param(const char *s, const char *p, const char *end, struct ag_buf *tmp,
                                int *rc)
{
    const char *n = p;
    char name[NAME_MAX_BYTES];
    while (n > s && p - n <= 3 * NAME_MAX_BYTES &&
           (isalnum((unsigned char)n[-1]) || n[-1] == '_' || n[-1] == '-' || n[-1] == '%'))
        n--;
    int nl = form_name(n, p, name);
    if (!((n == s || n[-1] == '&' || n[-1] == '?' || isspace((unsigned char)n[-1])) && nl >= 0 &&
          name_is_secret(name, (size_t)nl, true)))
        return NULL;
    const char *e = p + 1;
    while (e < end && *e != '&' && *e != '"' && !isspace((unsigned char)*e))
        e++;
    *rc = ag_buf_append(tmp, "=", 1);
    if (!*rc && e > p + 1)
        *rc = ag_buf_append_c(tmp, AG_REDACTED);
    return e;
}

/* "Bearer <token>" at p: appends "Bearer " and the redaction, returns the token's end; else NULL.
 */
static const char *redact_bearer(const char *p, const char *end, struct ag_buf *tmp, int *rc)
{
    if (end - p <= 7 || strncasecmp(p, "bearer ", 7) != 0)
        return NULL;
    const char *e = p + 7;
    while (e < end && tokch(*e))
        e++;
    if (e == p + 7)
        return NULL;
    *rc = ag_buf_append(tmp, p, 7);
    if (!*rc)
        *rc = ag_buf_append_c(tmp, AG_REDACTED);
    return e;
}

int ag_redact(struct ag_str in, size_t cap, struct ag_buf *out)
{
    struct ag_buf tmp;
    size_t scan = in.len < cap + SCAN_SLACK ? in.len : cap + SCAN_SLACK;
    const char *s = in.p, *end = in.p + scan;
    const char *p = s;
    int rc = 0;
    ag_buf_init(
        &tmp,
        AG_BUF_UNBOUNDED); /* holds at most the scanned input, itself cut at cap + SCAN_SLACK */
    while (p < end && !rc) {
        const char *next = NULL;
        if (*p == '"')
            next = redact_member(p, end, &tmp, &rc);
        if (!next && *p == '=' && p > s)
            next = redact_param(s, p, end, &tmp, &rc);
        if (!next && (*p == 'B' || *p == 'b'))
            next = redact_bearer(p, end, &tmp, &rc);
        if (next) {
            p = next;
            continue;
        }
        size_t keep = 0;
        size_t t = secret_token_at(p, end, s, &keep);
        if (t) {
            rc = ag_buf_append(&tmp, p, keep);
            if (!rc)
                rc = ag_buf_append_c(&tmp, AG_REDACTED);
            p += t;
            continue;
        }
        rc = ag_buf_append(&tmp, p, 1);
        p++;
    }
    if (!rc) {
        size_t n = tmp.len < cap ? tmp.len : cap;
        if (n < tmp.len) {
            while (n > 0 && ((unsigned char)tmp.data[n] & 0xC0) == 0x80)
                n--;
        }
        rc = ag_buf_append(out, tmp.data ? tmp.data : "", n);
    }
    ag_buf_dispose(&tmp);
    return rc;
}
