/* core/jsonw.c: the small JSON writer (see jsonw.h). */
#include "core/jsonw.h"

#include <math.h>
#include <string.h>

#include "core/hex.h"

static int quote(struct ag_buf *out, const char *s, size_t len)
{
    int rc = ag_buf_reserve(out, len + 2);
    if (rc)
        return rc;
    out->data[out->len++] = '"';
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[7];
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            if (c < 0x20) {
                memcpy(u, "\\u00", sizeof("\\u00"));
                ag_hex_encode(u + 4, &c, 1);
                esc = u;
            }
        }
        if (!esc)
            continue;
        if ((rc = ag_buf_append(out, s + start, i - start)) || (rc = ag_buf_append_c(out, esc)))
            return rc;
        start = i + 1;
    }
    if ((rc = ag_buf_append(out, s + start, len - start)))
        return rc;
    return ag_buf_append(out, "\"", 1);
}

int ag_jsonw_quote(struct ag_buf *out, const char *s, size_t len)
{
    size_t mark = out->len;
    int rc = quote(out, s, len);
    if (rc && out->data) {
        out->len = mark; /* no half string left behind */
        out->data[mark] = '\0';
    }
    return rc;
}

int ag_jsonw_sep(struct ag_buf *b)
{
    if (b->len && !strchr("{[:", b->data[b->len - 1]))
        return ag_buf_append(b, ",", 1);
    return 0;
}

int ag_jsonw_key(struct ag_buf *b, const char *k)
{
    int rc = ag_jsonw_sep(b);
    if (!rc && k && !(rc = ag_jsonw_quote(b, k, strlen(k))))
        rc = ag_buf_append(b, ":", 1);
    return rc;
}

int ag_jsonw_str(struct ag_buf *b, const char *k, const char *v)
{
    return ag_jsonw_strn(b, k, v ? ag_str_c(v) : AG_STR_NULL);
}

int ag_jsonw_strn(struct ag_buf *b, const char *k, struct ag_str v)
{
    int rc = ag_jsonw_key(b, k);
    if (rc)
        return rc;
    return v.p ? ag_jsonw_quote(b, v.p, v.len) : ag_buf_append_c(b, "null");
}

int ag_jsonw_int(struct ag_buf *b, const char *k, int64_t v)
{
    int rc = ag_jsonw_key(b, k);
    return rc ? rc : ag_buf_append_int(b, (long long)v);
}

int ag_jsonw_num(struct ag_buf *b, const char *k, double v)
{
    int rc = ag_jsonw_key(b, k);
    if (rc)
        return rc;
    return isfinite(v) ? ag_buf_printf(b, "%.6g", v) : ag_buf_append_c(b, "null");
}

int ag_jsonw_bool(struct ag_buf *b, const char *k, bool v)
{
    int rc = ag_jsonw_key(b, k);
    return rc ? rc : ag_buf_append_c(b, v ? "true" : "false");
}

int ag_jsonw_raw(struct ag_buf *b, const char *k, const char *json)
{
    int rc = ag_jsonw_key(b, k);
    return rc ? rc : ag_buf_append_c(b, json ? json : "null");
}

int ag_jsonw_open(struct ag_buf *b, const char *k, char c)
{
    int rc = ag_jsonw_key(b, k);
    return rc ? rc : ag_buf_append(b, &c, 1);
}

int ag_jsonw_close(struct ag_buf *b, char c)
{
    return ag_buf_append(b, &c, 1);
}
