/* clients/toml_edit.c: the TOML scanner and splicing editor of toml_edit.h. The scanner reads the
 * text once, line by line, with one bounded recursive descent for values (arrays and inline
 * tables nest at most AG_TOML_MAX_NEST deep); an edit copies the text around the one span it
 * replaces or the one place it inserts at. */
#include "clients/toml_edit.h"

#include "core/err.h"
#include "core/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct scan {
    const char *s;
    size_t len, p;
    size_t line;
    char *err;
    size_t cap;
};

static int fail(struct scan *sc, const char *what)
{
    if (sc->err && sc->cap)
        snprintf(sc->err, sc->cap, "line %zu: %s", sc->line, what);
    return AG_EPARSE;
}

static bool at_end(const struct scan *sc)
{
    return sc->p >= sc->len;
}

static char cur(const struct scan *sc)
{
    return sc->p < sc->len ? sc->s[sc->p] : '\0';
}

static bool at_newline(const struct scan *sc)
{
    if (at_end(sc))
        return false;
    if (sc->s[sc->p] == '\n')
        return true;
    return sc->s[sc->p] == '\r' && sc->p + 1 < sc->len && sc->s[sc->p + 1] == '\n';
}

/* Steps over one newline (at_newline must be true). */
static void eat_newline(struct scan *sc)
{
    sc->p += sc->s[sc->p] == '\r' ? 2 : 1;
    sc->line++;
}

static void skip_ws(struct scan *sc)
{
    while (!at_end(sc) && (sc->s[sc->p] == ' ' || sc->s[sc->p] == '\t'))
        sc->p++;
}

/* A comment runs to the end of the line; control characters other than tab are not allowed. */
static int skip_comment(struct scan *sc)
{
    while (!at_end(sc) && !at_newline(sc)) {
        unsigned char c = (unsigned char)sc->s[sc->p];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return fail(sc, "control character in a comment");
        sc->p++;
    }
    return 0;
}

/* After a header or value: spaces, an optional comment, then a newline or the end. */
static int end_of_line(struct scan *sc)
{
    skip_ws(sc);
    if (cur(sc) == '#') {
        int rc = skip_comment(sc);
        if (rc)
            return rc;
    }
    if (at_end(sc))
        return 0;
    if (!at_newline(sc))
        return fail(sc, "unexpected text after the value (expected a newline or a comment)");
    eat_newline(sc);
    return 0;
}

static bool bare_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* A one-line string starting at sc->p (a quote); on return sc->p is past the closing quote and
 * *escaped tells whether a backslash escape appeared (basic strings only). */
static int one_line_string(struct scan *sc, bool *escaped)
{
    char q = sc->s[sc->p++];
    *escaped = false;
    while (!at_end(sc)) {
        char c = sc->s[sc->p];
        if (c == '\n' || c == '\r')
            return fail(sc, "string not closed on its line");
        if (c == q) {
            sc->p++;
            return 0;
        }
        if (c == '\\' && q == '"') {
            *escaped = true;
            sc->p++;
            if (at_end(sc) || sc->s[sc->p] == '\n' || sc->s[sc->p] == '\r')
                return fail(sc, "bad escape in a string");
        }
        sc->p++;
    }
    return fail(sc, "string not closed");
}

/* A multi-line string starting at sc->p (three quotes). */
static int multi_line_string(struct scan *sc)
{
    char q = sc->s[sc->p];
    sc->p += 3;
    while (!at_end(sc)) {
        char c = sc->s[sc->p];
        if (c == '\\' && q == '"') {
            sc->p++;
            if (at_newline(sc))
                eat_newline(sc);
            else if (!at_end(sc))
                sc->p++;
            continue;
        }
        if (at_newline(sc)) {
            eat_newline(sc);
            continue;
        }
        if (c == q && sc->p + 2 < sc->len && sc->s[sc->p + 1] == q && sc->s[sc->p + 2] == q) {
            sc->p += 3;
            /* up to two more quotes belong to the content */
            for (int i = 0; i < 2 && cur(sc) == q; i++)
                sc->p++;
            return 0;
        }
        sc->p++;
    }
    return fail(sc, "multi-line string not closed");
}

/* One key (dotted parts) into key (normalised, see toml_edit.h), stopping before what follows. */
static int scan_key(struct scan *sc, char *key, size_t cap)
{
    size_t n = 0;
    for (;;) {
        skip_ws(sc);
        size_t from = sc->p;
        size_t pfrom, pto; /* the part's text to copy */
        if (cur(sc) == '"' || cur(sc) == '\'') {
            bool escaped;
            int rc = one_line_string(sc, &escaped);
            if (rc)
                return rc;
            pfrom = from + 1;
            pto = sc->p - 1;
            bool bare = pto > pfrom && !escaped;
            for (size_t i = pfrom; bare && i < pto; i++)
                bare = bare_char(sc->s[i]);
            if (!bare) { /* keep the quotes: it never equals a bare name */
                pfrom = from;
                pto = sc->p;
            }
        } else {
            while (!at_end(sc) && bare_char(sc->s[sc->p]))
                sc->p++;
            if (sc->p == from)
                return fail(sc, "expected a key");
            pfrom = from;
            pto = sc->p;
        }
        size_t plen = pto - pfrom;
        if (n + plen + 2 > cap)
            return fail(sc, "key too long");
        if (n)
            key[n++] = '.';
        memcpy(key + n, sc->s + pfrom, plen);
        n += plen;
        key[n] = '\0';
        skip_ws(sc);
        if (cur(sc) != '.')
            return 0;
        sc->p++;
    }
}

static int scan_value(struct scan *sc, unsigned depth);

/* Inside an array: spaces, newlines and comments. */
static int skip_array_space(struct scan *sc)
{
    for (;;) {
        skip_ws(sc);
        if (at_newline(sc)) {
            eat_newline(sc);
        } else if (cur(sc) == '#') {
            int rc = skip_comment(sc);
            if (rc)
                return rc;
        } else {
            return 0;
        }
    }
}

static int scan_array(struct scan *sc, unsigned depth)
{
    sc->p++; /* [ */
    for (;;) {
        int rc = skip_array_space(sc);
        if (rc)
            return rc;
        if (cur(sc) == ']') {
            sc->p++;
            return 0;
        }
        rc = scan_value(sc, depth + 1);
        if (rc)
            return rc;
        rc = skip_array_space(sc);
        if (rc)
            return rc;
        if (cur(sc) == ',') {
            sc->p++;
            continue;
        }
        if (cur(sc) == ']') {
            sc->p++;
            return 0;
        }
        return fail(sc, "expected ',' or ']' in an array");
    }
}

static int scan_inline_table(struct scan *sc, unsigned depth)
{
    char key[AG_TOML_MAX_KEY];
    sc->p++; /* { */
    int rc = skip_array_space(sc);
    if (rc)
        return rc;
    if (cur(sc) == '}') {
        sc->p++;
        return 0;
    }
    for (;;) {
        rc = scan_key(sc, key, sizeof(key));
        if (rc)
            return rc;
        if (cur(sc) != '=')
            return fail(sc, "expected '=' in an inline table");
        sc->p++;
        skip_ws(sc);
        rc = scan_value(sc, depth + 1);
        if (rc)
            return rc;
        rc = skip_array_space(sc);
        if (rc)
            return rc;
        if (cur(sc) == ',') {
            sc->p++;
            if ((rc = skip_array_space(sc)))
                return rc;
            if (cur(sc) == '}') { /* a trailing comma, as TOML 1.1 allows */
                sc->p++;
                return 0;
            }
            continue;
        }
        if (cur(sc) == '}') {
            sc->p++;
            return 0;
        }
        return fail(sc, "expected ',' or '}' in an inline table");
    }
}

static bool scalar_char(char c)
{
    return bare_char(c) || c == '+' || c == '.' || c == ':';
}

/* true, false, a number, a date or time: checked for its characters and its start only. */
static int scan_scalar(struct scan *sc)
{
    size_t from = sc->p;
    while (!at_end(sc) && scalar_char(sc->s[sc->p]))
        sc->p++;
    /* a date and a time may be separated by one space: 1979-05-27 07:32:00Z */
    if (sc->p - from == 10 && sc->s[from + 4] == '-' && cur(sc) == ' ' && sc->p + 1 < sc->len &&
        sc->s[sc->p + 1] >= '0' && sc->s[sc->p + 1] <= '9') {
        sc->p++;
        while (!at_end(sc) && scalar_char(sc->s[sc->p]))
            sc->p++;
    }
    struct ag_str t = ag_str_make(sc->s + from, sc->p - from);
    if (!t.len)
        return fail(sc, "expected a value");
    char c = t.p[0];
    if (ag_str_eq_c(t, "true") || ag_str_eq_c(t, "false") || ag_str_eq_c(t, "inf") ||
        ag_str_eq_c(t, "nan") || (c >= '0' && c <= '9') || c == '+' || c == '-')
        return 0;
    return fail(sc, "invalid value (strings need quotes)");
}

static int scan_value(struct scan *sc, unsigned depth)
{
    if (depth > AG_TOML_MAX_NEST)
        return fail(sc, "value nested too deeply");
    char c = cur(sc);
    if (c == '"' || c == '\'') {
        if (sc->p + 2 < sc->len && sc->s[sc->p + 1] == c && sc->s[sc->p + 2] == c)
            return multi_line_string(sc);
        bool escaped;
        return one_line_string(sc, &escaped);
    }
    if (c == '[')
        return scan_array(sc, depth);
    if (c == '{')
        return scan_inline_table(sc, depth);
    return scan_scalar(sc);
}

static int scan_line(struct scan *sc, struct ag_toml_item *it)
{
    memset(it, 0, sizeof(*it));
    it->start = sc->p;
    it->kind = AG_TOML_TRIVIA;
    skip_ws(sc);
    int rc = 0;
    if (at_end(sc) || at_newline(sc) || cur(sc) == '#') {
        rc = end_of_line(sc);
    } else if (cur(sc) == '[') {
        sc->p++;
        it->kind = AG_TOML_TABLE;
        if (cur(sc) == '[') {
            sc->p++;
            it->kind = AG_TOML_TABLE_ARRAY;
        }
        if ((rc = scan_key(sc, it->key, sizeof(it->key))))
            return rc;
        if (cur(sc) != ']')
            return fail(sc, "expected ']' after a table name");
        sc->p++;
        if (it->kind == AG_TOML_TABLE_ARRAY) {
            if (cur(sc) != ']')
                return fail(sc, "expected ']]' after a table name");
            sc->p++;
        }
        rc = end_of_line(sc);
    } else {
        it->kind = AG_TOML_KEYVAL;
        if ((rc = scan_key(sc, it->key, sizeof(it->key))))
            return rc;
        if (cur(sc) != '=')
            return fail(sc, "expected '=' after a key");
        sc->p++;
        skip_ws(sc);
        it->vstart = sc->p;
        if ((rc = scan_value(sc, 0)))
            return rc;
        it->vend = sc->p;
        rc = end_of_line(sc);
    }
    it->end = sc->p;
    return rc;
}

static int cmp_key(const void *a, const void *b)
{
    const struct ag_toml_item *x = *(const struct ag_toml_item *const *)a;
    const struct ag_toml_item *y = *(const struct ag_toml_item *const *)b;
    return strcmp(x->key, y->key);
}

/* A table header may appear once ([[arrays]] any number of times). */
static int check_tables(struct scan *sc, struct ag_toml_doc *doc)
{
    size_t n = 0;
    for (size_t i = 0; i < doc->nitems; i++)
        n += doc->items[i].kind == AG_TOML_TABLE;
    if (n < 2)
        return 0;
    const struct ag_toml_item **v = calloc(n, sizeof(const struct ag_toml_item *));
    if (!v)
        return AG_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < doc->nitems; i++) {
        if (doc->items[i].kind == AG_TOML_TABLE)
            v[k++] = &doc->items[i];
    }
    qsort(v, n, sizeof(const struct ag_toml_item *), cmp_key);
    int rc = 0;
    for (size_t i = 1; i < n && !rc; i++) {
        if (!strcmp(v[i - 1]->key, v[i]->key)) {
            if (sc->err && sc->cap)
                snprintf(sc->err, sc->cap, "table [%s] is defined twice", v[i]->key);
            rc = AG_EPARSE;
        }
    }
    free(v);
    return rc;
}

int ag_toml_scan(const char *text, size_t len, struct ag_toml_doc *doc, char *err, size_t cap)
{
    struct scan sc = {text, len, 0, 1, err, cap};
    size_t n = 0, alloc = 0;
    struct ag_toml_item *items = NULL;
    int rc = 0;
    memset(doc, 0, sizeof(*doc));
    if (err && cap)
        err[0] = '\0';
    if (len > AG_TOML_MAX_TEXT) {
        if (err && cap)
            snprintf(err, cap, "larger than %u bytes", AG_TOML_MAX_TEXT);
        return AG_ETOOBIG;
    }
    if (memchr(text, '\0', len)) {
        rc = fail(&sc, "NUL byte in the text");
        goto out;
    }
    while (!at_end(&sc)) {
        if (n == AG_TOML_MAX_ITEMS) {
            rc = AG_ETOOBIG;
            fail(&sc, "too many lines");
            goto out;
        }
        if (n == alloc) {
            size_t na = alloc ? alloc * 2 : 64;
            if (na > AG_TOML_MAX_ITEMS)
                na = AG_TOML_MAX_ITEMS;
            struct ag_toml_item *ni = realloc(items, na * sizeof(*ni));
            if (!ni) {
                rc = AG_ENOMEM;
                goto out;
            }
            items = ni;
            alloc = na;
        }
        if ((rc = scan_line(&sc, &items[n])))
            goto out;
        n++;
    }
    doc->text = text;
    doc->len = len;
    doc->items = items;
    doc->nitems = n;
    items = NULL;
    if ((rc = check_tables(&sc, doc)))
        ag_toml_dispose(doc);
out:
    free(items);
    return rc;
}

void ag_toml_dispose(struct ag_toml_doc *doc)
{
    free(doc->items);
    memset(doc, 0, sizeof(*doc));
}

static bool is_header(const struct ag_toml_item *it)
{
    return it->kind == AG_TOML_TABLE || it->kind == AG_TOML_TABLE_ARRAY;
}

/* The items of table: (first, last] as indexes [*from, *to); false when the table is absent. */
static bool table_range(const struct ag_toml_doc *doc, const char *table, size_t *from, size_t *to)
{
    size_t i = 0;
    if (table && *table) {
        long h = ag_toml_find_table(doc, table);
        if (h < 0)
            return false;
        i = (size_t)h + 1;
    }
    *from = i;
    while (i < doc->nitems && !is_header(&doc->items[i]))
        i++;
    *to = i;
    return true;
}

long ag_toml_find_table(const struct ag_toml_doc *doc, const char *table)
{
    for (size_t i = 0; i < doc->nitems; i++) {
        if (doc->items[i].kind == AG_TOML_TABLE && !strcmp(doc->items[i].key, table))
            return (long)i;
    }
    return -1;
}

long ag_toml_find(const struct ag_toml_doc *doc, const char *table, const char *key)
{
    size_t from, to;
    if (!table_range(doc, table, &from, &to))
        return -1;
    for (size_t i = from; i < to; i++) {
        if (doc->items[i].kind == AG_TOML_KEYVAL && !strcmp(doc->items[i].key, key))
            return (long)i;
    }
    return -1;
}

bool ag_toml_get_string(const struct ag_toml_doc *doc, const char *table, const char *key,
                        char *out, size_t cap)
{
    long i = ag_toml_find(doc, table, key);
    if (i < 0)
        return false;
    const struct ag_toml_item *it = &doc->items[i];
    const char *v = doc->text + it->vstart;
    size_t n = it->vend - it->vstart;
    if (n < 2 || (v[0] != '"' && v[0] != '\'') || v[n - 1] != v[0])
        return false;
    if (n >= 6 && v[1] == v[0] && v[2] == v[0]) /* multi-line */
        return false;
    if (v[0] == '"' && memchr(v, '\\', n))
        return false;
    if (n - 2 >= cap)
        return false;
    memcpy(out, v + 1, n - 2);
    out[n - 2] = '\0';
    return true;
}

int ag_toml_quote(struct ag_buf *out, const char *s)
{
    int rc = ag_buf_append(out, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c && !rc; c++) {
        if (*c == '"' || *c == '\\')
            rc = ag_buf_printf(out, "\\%c", *c);
        else if (*c < 0x20 || *c == 0x7f)
            rc = ag_buf_printf(out, "\\u%04x", *c);
        else
            rc = ag_buf_append(out, c, 1);
    }
    return rc ? rc : ag_buf_append(out, "\"", 1);
}

/* out = text[0, at) + ins + text[at, len) where ins is "key = value\n", preceded by a newline
 * when the text before at does not end in one. */
static int insert_line(const struct ag_toml_doc *doc, size_t at, const char *prefix,
                       const char *key, const char *value, struct ag_buf *out)
{
    int rc = ag_buf_append(out, doc->text, at);
    if (!rc && at > 0 && doc->text[at - 1] != '\n')
        rc = ag_buf_append(out, "\n", 1);
    if (!rc && prefix)
        rc = ag_buf_append_c(out, prefix);
    if (!rc)
        rc = ag_buf_printf(out, "%s = %s\n", key, value);
    if (!rc)
        rc = ag_buf_append(out, doc->text + at, doc->len - at);
    return rc;
}

int ag_toml_set(const struct ag_toml_doc *doc, const char *table, const char *key,
                const char *value, struct ag_buf *out, bool *changed)
{
    int rc;
    ag_buf_reset(out);
    *changed = false;
    long i = ag_toml_find(doc, table, key);
    if (i >= 0) {
        const struct ag_toml_item *it = &doc->items[i];
        size_t vlen = strlen(value);
        *changed =
            vlen != it->vend - it->vstart || memcmp(doc->text + it->vstart, value, vlen) != 0;
        rc = ag_buf_append(out, doc->text, it->vstart);
        if (!rc)
            rc = ag_buf_append(out, value, vlen);
        if (!rc)
            rc = ag_buf_append(out, doc->text + it->vend, doc->len - it->vend);
        return rc;
    }
    *changed = true;
    size_t from, to;
    if (table_range(doc, table, &from, &to)) {
        size_t at;
        size_t last = to;
        for (size_t k = from; k < to; k++) {
            if (doc->items[k].kind == AG_TOML_KEYVAL)
                last = k;
        }
        if (last < to)
            at = doc->items[last].end;
        else if (from > 0)
            at = doc->items[from - 1].end; /* right after the header */
        else
            at = 0;
        return insert_line(doc, at, NULL, key, value, out);
    }
    /* a new table at the end, after a blank line */
    struct ag_buf head;
    ag_buf_init(&head, AG_TOML_MAX_KEY + 16);
    rc = ag_buf_printf(&head, "%s[%s]\n", doc->len ? "\n" : "", table);
    if (!rc)
        rc = insert_line(doc, doc->len, head.data, key, value, out);
    ag_buf_dispose(&head);
    return rc;
}

int ag_toml_remove(const struct ag_toml_doc *doc, const char *table, const char *key,
                   struct ag_buf *out, bool *changed)
{
    ag_buf_reset(out);
    long i = ag_toml_find(doc, table, key);
    *changed = i >= 0;
    if (i < 0)
        return ag_buf_append(out, doc->text, doc->len);
    const struct ag_toml_item *it = &doc->items[i];
    int rc = ag_buf_append(out, doc->text, it->start);
    if (!rc)
        rc = ag_buf_append(out, doc->text + it->end, doc->len - it->end);
    return rc;
}
