/* admin/redact.c: byte-level secret redaction for captured bodies (see redact.h). */
#include "admin/redact.h"

#include "core/err.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* Scanned beyond the output cap so a long token that starts before the cut is still seen. */
#define SCAN_SLACK 2048

static const char *const secret_names[] = {
    "authorization", "api_key",        "apikey",       "x-api-key", "x-goog-api-key",
    "key",           "refresh_token",  "access_token", "id_token",  "client_secret",
    "password",      "admin_password", "code",         "token",     NULL,
};

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

/* Length of a token-shaped secret starting at p (0 when none): sk-..., ya29...., 1//.... */
static size_t secret_token_at(const char *p, const char *end, const char *start)
{
    if (p > start && (isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '-'))
        return 0;
    size_t pre = 0;
    if (end - p >= 3 && memcmp(p, "sk-", 3) == 0)
        pre = 3;
    else if (end - p >= 5 && memcmp(p, "ya29.", 5) == 0)
        pre = 5;
    else if (end - p >= 3 && memcmp(p, "1//", 3) == 0)
        pre = 3;
    if (!pre)
        return 0;
    const char *q = p + pre;
    while (q < end && tokch(*q))
        q++;
    return (size_t)(q - p) >= pre + 8 ? (size_t)(q - p) : 0;
}

int ag_redact(struct ag_str in, size_t cap, struct ag_buf *out)
{
    struct ag_buf tmp;
    size_t scan = in.len < cap + SCAN_SLACK ? in.len : cap + SCAN_SLACK;
    const char *s = in.p, *end = in.p + scan;
    const char *p = s;
    int rc = 0;
    ag_buf_init(&tmp, 0);
    while (p < end && !rc) {
        /* "name" : "value"  (JSON member with a secret name) */
        if (*p == '"') {
            const char *n = p + 1, *q = n;
            while (q < end && *q != '"' && *q != '\\' && q - n < 32)
                q++;
            if (q < end && *q == '"' && name_is_secret(n, (size_t)(q - n), false)) {
                const char *v = q + 1;
                while (v < end && (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r'))
                    v++;
                if (v < end && *v == ':') {
                    v++;
                    while (v < end && (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r'))
                        v++;
                    if (v < end && *v == '"') {
                        const char *e = v + 1;
                        while (e < end && *e != '"')
                            e += (*e == '\\' && e + 1 < end) ? 2 : 1;
                        rc = ag_buf_append(&tmp, p, (size_t)(v + 1 - p));
                        if (!rc && e > v + 1)
                            rc = ag_buf_append_c(&tmp, AG_REDACTED);
                        p = e;
                        continue;
                    }
                }
            }
        }
        /* name=value in a form or query string */
        if (*p == '=' && p > s) {
            const char *n = p;
            while (n > s && (isalnum((unsigned char)n[-1]) || n[-1] == '_' || n[-1] == '-'))
                n--;
            if ((n == s || n[-1] == '&' || n[-1] == '?' || isspace((unsigned char)n[-1])) &&
                name_is_secret(n, (size_t)(p - n), true)) {
                const char *e = p + 1;
                while (e < end && *e != '&' && *e != '"' && !isspace((unsigned char)*e))
                    e++;
                rc = ag_buf_append(&tmp, "=", 1);
                if (!rc && e > p + 1)
                    rc = ag_buf_append_c(&tmp, AG_REDACTED);
                p = e;
                continue;
            }
        }
        /* Bearer <token> */
        if ((*p == 'B' || *p == 'b') && end - p > 7 && strncasecmp(p, "bearer ", 7) == 0) {
            const char *e = p + 7;
            while (e < end && tokch(*e))
                e++;
            if (e > p + 7) {
                rc = ag_buf_append(&tmp, p, 7);
                if (!rc)
                    rc = ag_buf_append_c(&tmp, AG_REDACTED);
                p = e;
                continue;
            }
        }
        size_t t = secret_token_at(p, end, s);
        if (t) {
            size_t keep = p[0] == 's' ? 3 : (p[0] == 'y' ? 5 : 3);
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
