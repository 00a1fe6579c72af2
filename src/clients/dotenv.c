/* clients/dotenv.c: see dotenv.h. One pass per call over the lines; nothing is kept. */
#include "clients/dotenv.h"

#include "core/err.h"

#include <stdio.h>
#include <string.h>

/* One parsed line: [name, name + nlen) and the value's text [v, v + vlen) (quotes included). */
struct line {
    const char *name;
    size_t nlen;
    const char *v;
    size_t vlen;
    bool def; /* a definition (else blank or a comment) */
};

static bool name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

/* Parses the line [p, e) (without its newline). Returns 0 or AG_EPARSE with why in *why. */
static int parse_line(const char *p, const char *e, struct line *l, const char **why)
{
    memset(l, 0, sizeof(*l));
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    if (p == e || *p == '#' || (e - p == 1 && *p == '\r'))
        return 0;
    if (e - p > 7 && !memcmp(p, "export", 6) && (p[6] == ' ' || p[6] == '\t')) {
        p += 6;
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
    }
    l->name = p;
    while (p < e && name_char(*p))
        p++;
    l->nlen = (size_t)(p - l->name);
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    if (!l->nlen || p == e || (*p != '=' && *p != ':')) {
        *why = "not NAME=value";
        return AG_EPARSE;
    }
    p++;
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    l->v = p;
    if (p < e && (*p == '"' || *p == '\'' || *p == '`')) {
        char q = *p++;
        while (p < e && *p != q)
            p += (*p == '\\' && p + 1 < e) ? 2 : 1;
        if (p >= e) {
            *why = "a quoted value that does not end on its line";
            return AG_EPARSE;
        }
        p++;
    } else {
        while (p < e && *p != '#' && *p != '\r')
            p++;
        while (p > l->v && (p[-1] == ' ' || p[-1] == '\t'))
            p--;
    }
    l->vlen = (size_t)(p - l->v);
    l->def = true;
    return 0;
}

int ag_dotenv_check(const char *text, size_t len, char *err, size_t cap)
{
    if (len > AG_DOTENV_MAX_TEXT) {
        snprintf(err, cap, "larger than %u bytes", AG_DOTENV_MAX_TEXT);
        return AG_ETOOBIG;
    }
    if (memchr(text, '\0', len)) {
        snprintf(err, cap, "has a NUL byte");
        return AG_EPARSE;
    }
    const char *p = text, *end = text + len;
    for (size_t n = 1; p < end; n++) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        if (!e)
            e = end;
        struct line l;
        const char *why = "";
        if (parse_line(p, e, &l, &why)) {
            snprintf(err, cap, "line %zu: %s", n, why);
            return AG_EPARSE;
        }
        p = e < end ? e + 1 : end;
    }
    return 0;
}

static bool is_def(const struct line *l, const char *name)
{
    return l->def && l->nlen == strlen(name) && !memcmp(l->name, name, l->nlen);
}

int ag_dotenv_set(const char *text, size_t len, const char *name, const char *value,
                  struct ag_buf *out, bool *changed)
{
    const char *p = text, *end = text + len;
    bool found = false;
    int rc = 0;
    ag_buf_reset(out);
    *changed = false;
    while (p < end && !rc) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        const char *next = e ? e + 1 : end;
        if (!e)
            e = end;
        struct line l;
        const char *why;
        if (!parse_line(p, e, &l, &why) && is_def(&l, name)) {
            found = true;
            size_t vlen = strlen(value);
            bool same = l.vlen == vlen && !memcmp(l.v, value, vlen);
            if (same) {
                rc = ag_buf_append(out, p, (size_t)(next - p));
            } else {
                *changed = true;
                rc = ag_buf_printf(out, "%s=%s%s", name, value, e < end ? "\n" : "");
            }
        } else {
            rc = ag_buf_append(out, p, (size_t)(next - p));
        }
        p = next;
    }
    if (!found && !rc) {
        *changed = true;
        if (len && text[len - 1] != '\n')
            rc = ag_buf_append(out, "\n", 1);
        if (!rc)
            rc = ag_buf_printf(out, "%s=%s\n", name, value);
    }
    return rc;
}

bool ag_dotenv_get(const char *text, size_t len, const char *name, char *out, size_t cap)
{
    const char *p = text, *end = text + len;
    bool found = false;
    while (p < end) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        const char *next = e ? e + 1 : end;
        if (!e)
            e = end;
        struct line l;
        const char *why;
        if (!parse_line(p, e, &l, &why) && is_def(&l, name)) {
            const char *v = l.v;
            size_t n = l.vlen;
            if (n >= 2 && (v[0] == '"' || v[0] == '\'' || v[0] == '`')) {
                v++;
                n -= 2;
            }
            if (n < cap) {
                memcpy(out, v, n);
                out[n] = '\0';
                found = true;
            } else {
                found = false;
            }
        }
        p = next;
    }
    return found;
}
