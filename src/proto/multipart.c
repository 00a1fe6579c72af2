/* proto/multipart.c: the multipart/form-data parser (see multipart.h). One pass over a complete
 * body: find each delimiter line, read the part's header block, and take the bytes up to the next
 * delimiter as its data without copying them. */
#include "proto/multipart.h"

#include <string.h>

#include "core/err.h"

#define MAX_BOUNDARY 70

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static struct ag_str trim_ws(struct ag_str s)
{
    while (s.len && is_space(s.p[0])) {
        s.p++;
        s.len--;
    }
    while (s.len && is_space(s.p[s.len - 1]))
        s.len--;
    return s;
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool eq_ci(struct ag_str a, const char *b)
{
    size_t n = strlen(b);
    if (a.len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(a.p[i]) != lower(b[i]))
            return false;
    return true;
}

/* Reads one "key=value" parameter from s at *i (after a ';'). A quoted value is unescaped into
 * arena; a token value is borrowed. Returns false on a malformed parameter or the arena's cap. */
static bool next_param(struct ag_arena *arena, struct ag_str s, size_t *i, struct ag_str *key,
                       struct ag_str *val)
{
    size_t p = *i;
    while (p < s.len && (is_space(s.p[p]) || s.p[p] == ';'))
        p++;
    size_t k = p;
    while (p < s.len && s.p[p] != '=' && s.p[p] != ';')
        p++;
    *key = trim_ws(ag_str_make(s.p + k, p - k));
    *val = AG_STR_NULL;
    if (p >= s.len || s.p[p] == ';') {
        *i = p;
        return key->len > 0;
    }
    p++; /* '=' */
    while (p < s.len && is_space(s.p[p]))
        p++;
    if (p < s.len && s.p[p] == '"') {
        char *buf = ag_arena_alloc(arena, s.len - p + 1);
        size_t n = 0;
        if (!buf)
            return false;
        for (p++; p < s.len && s.p[p] != '"'; p++) {
            if (s.p[p] == '\\' && p + 1 < s.len)
                p++;
            buf[n++] = s.p[p];
        }
        if (p >= s.len)
            return false; /* unterminated quote */
        p++;
        buf[n] = '\0';
        *val = ag_str_make(buf, n);
    } else {
        size_t v = p;
        while (p < s.len && s.p[p] != ';')
            p++;
        *val = trim_ws(ag_str_make(s.p + v, p - v));
    }
    *i = p;
    return key->len > 0;
}

int ag_multipart_boundary(struct ag_str ct, struct ag_str *out)
{
    size_t i = 0;
    while (i < ct.len && ct.p[i] != ';')
        i++;
    if (!eq_ci(trim_ws(ag_str_make(ct.p, i)), "multipart/form-data"))
        return AG_EINVAL;
    /* The boundary is borrowed: a quoted one must not contain escapes (the RFC's boundary
     * alphabet has no backslash or quote), so its inside is the value itself. */
    while (i < ct.len) {
        while (i < ct.len && (is_space(ct.p[i]) || ct.p[i] == ';'))
            i++;
        size_t k = i;
        while (i < ct.len && ct.p[i] != '=' && ct.p[i] != ';')
            i++;
        struct ag_str key = trim_ws(ag_str_make(ct.p + k, i - k));
        if (i >= ct.len || ct.p[i] != '=')
            continue;
        i++;
        struct ag_str val;
        if (i < ct.len && ct.p[i] == '"') {
            size_t v = ++i;
            while (i < ct.len && ct.p[i] != '"' && ct.p[i] != '\\')
                i++;
            if (i >= ct.len || ct.p[i] != '"')
                return AG_EPARSE;
            val = ag_str_make(ct.p + v, i - v);
            i++;
        } else {
            size_t v = i;
            while (i < ct.len && ct.p[i] != ';')
                i++;
            val = trim_ws(ag_str_make(ct.p + v, i - v));
        }
        if (eq_ci(key, "boundary")) {
            if (val.len < 1 || val.len > MAX_BOUNDARY || is_space(val.p[val.len - 1]))
                return AG_EPARSE;
            for (size_t j = 0; j < val.len; j++)
                if ((unsigned char)val.p[j] < 0x20 || (unsigned char)val.p[j] > 0x7e)
                    return AG_EPARSE;
            *out = val;
            return 0;
        }
    }
    return AG_EPARSE;
}

/* Content-Disposition: form-data; name="..."; filename="..." */
static int disposition(struct ag_arena *arena, struct ag_str v, struct ag_multipart_part *part)
{
    size_t i = 0;
    while (i < v.len && v.p[i] != ';')
        i++;
    if (!eq_ci(trim_ws(ag_str_make(v.p, i)), "form-data"))
        return AG_EPARSE;
    while (i < v.len) {
        struct ag_str key, val;
        if (!next_param(arena, v, &i, &key, &val))
            return AG_EPARSE;
        if (eq_ci(key, "name")) {
            part->name = val;
        } else if (eq_ci(key, "filename")) {
            part->filename = val;
            part->is_file = true;
        } else if (eq_ci(key, "filename*")) {
            part->is_file = true; /* RFC 7578 §4.2: senders should not use it; kept raw */
            if (!part->filename.len)
                part->filename = val;
        }
    }
    return 0;
}

/* Parses the header block [p, p+len) of one part (lines without their terminators). */
static int headers(struct ag_arena *arena, struct ag_str block, struct ag_multipart_part *part)
{
    size_t i = 0, nh = 0;
    bool have_disp = false;
    while (i < block.len) {
        size_t e = i;
        while (e < block.len && block.p[e] != '\n')
            e++;
        struct ag_str line = ag_str_make(block.p + i, e - i);
        if (line.len && line.p[line.len - 1] == '\r')
            line.len--;
        i = e + 1;
        if (!line.len)
            continue;
        if (++nh > AG_MULTIPART_MAX_HEADERS)
            return AG_EPARSE;
        if (is_space(line.p[0]))
            continue; /* an obsolete folded continuation of a header we skip */
        ptrdiff_t colon = ag_str_find(line, ':');
        if (colon <= 0)
            return AG_EPARSE;
        struct ag_str name = trim_ws(ag_str_make(line.p, (size_t)colon));
        struct ag_str val = trim_ws(ag_str_make(line.p + colon + 1, line.len - (size_t)colon - 1));
        if (eq_ci(name, "content-disposition")) {
            int rc = disposition(arena, val, part);
            if (rc)
                return rc;
            have_disp = true;
        } else if (eq_ci(name, "content-type")) {
            part->content_type = val;
        }
    }
    return have_disp && part->name.len ? 0 : AG_EPARSE;
}

/* Position of the next delimiter line "--boundary" at or after from that starts the body or
 * follows a LF; -1 when none. */
static ptrdiff_t find_delim(struct ag_str body, size_t from, struct ag_str delim)
{
    size_t i = from;
    while (i + delim.len <= body.len) {
        ptrdiff_t hit = ag_str_search(ag_str_make(body.p + i, body.len - i), delim);
        if (hit < 0)
            return -1;
        size_t at = i + (size_t)hit;
        if (at == 0 || body.p[at - 1] == '\n')
            return (ptrdiff_t)at;
        i = at + 1;
    }
    return -1;
}

int ag_multipart_parse(struct ag_arena *arena, struct ag_str boundary, struct ag_str body,
                       struct ag_multipart *m)
{
    char dbuf[MAX_BOUNDARY + 3];
    if (boundary.len < 1 || boundary.len > MAX_BOUNDARY)
        return AG_EPARSE;
    dbuf[0] = dbuf[1] = '-';
    memcpy(dbuf + 2, boundary.p, boundary.len);
    struct ag_str delim = ag_str_make(dbuf, boundary.len + 2);
    m->n_parts = 0;

    ptrdiff_t at = find_delim(body, 0, delim);
    if (at < 0)
        return AG_EPARSE;
    size_t i = (size_t)at + delim.len;
    for (;;) {
        /* after a delimiter: "--" closes the body; otherwise padding then the line end */
        if (i + 2 <= body.len && body.p[i] == '-' && body.p[i + 1] == '-')
            return 0;
        while (i < body.len && is_space(body.p[i]))
            i++;
        if (i < body.len && body.p[i] == '\r')
            i++;
        if (i >= body.len || body.p[i] != '\n')
            return AG_EPARSE;
        i++;

        /* header block: up to an empty line */
        size_t hstart = i, hend = 0, dstart = 0;
        while (i < body.len) {
            size_t e = i;
            while (e < body.len && body.p[e] != '\n')
                e++;
            if (e >= body.len)
                return AG_EPARSE;
            size_t ll = e - i;
            if (ll == 0 || (ll == 1 && body.p[i] == '\r')) {
                hend = i;
                dstart = e + 1;
                break;
            }
            i = e + 1;
            if (i - hstart > AG_MULTIPART_MAX_HEADER_BYTES)
                return AG_EPARSE;
        }
        if (!dstart)
            return AG_EPARSE;
        if (m->n_parts >= AG_MULTIPART_MAX_PARTS)
            return AG_ETOOBIG;
        struct ag_multipart_part *part = &m->parts[m->n_parts];
        memset(part, 0, sizeof(*part));
        int rc = headers(arena, ag_str_make(body.p + hstart, hend - hstart), part);
        if (rc)
            return rc;

        /* data: up to the line end before the next delimiter */
        at = find_delim(body, dstart, delim);
        if (at < 0 || (size_t)at == 0)
            return AG_EPARSE;
        size_t dend = (size_t)at - 1; /* the LF before the delimiter */
        if ((size_t)at <= dstart)
            dend = dstart; /* the delimiter follows the blank line at once: empty data */
        else if (dend > dstart && body.p[dend - 1] == '\r')
            dend--;
        part->data = ag_str_make(body.p + dstart, dend - dstart);
        m->n_parts++;
        i = (size_t)at + delim.len;
    }
}

const struct ag_multipart_part *ag_multipart_get(const struct ag_multipart *m, const char *name)
{
    for (size_t i = 0; i < m->n_parts; i++)
        if (ag_str_eq_c(m->parts[i].name, name))
            return &m->parts[i];
    return NULL;
}
