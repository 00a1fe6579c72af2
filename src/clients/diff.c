/* clients/diff.c: a plan's change shown as a diff (one hunk per file: the common lines at both
 * ends stay, the middle is shown removed and added), with the key shortened wherever it appears. */
#include "clients/clients.h"

#include "core/err.h"
#include "core/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIFF_CONTEXT   3
#define DIFF_MAX_LINES 20000

/* Splits b into at most max line starts (the end is starts[n]); returns the number of lines. */
static size_t split_lines(const struct ag_buf *b, const char **starts, size_t max)
{
    const char *p = b->data ? b->data : "", *end = p + b->len;
    size_t n = 0;
    while (p < end && n < max) {
        starts[n++] = p;
        const char *e = memchr(p, '\n', (size_t)(end - p));
        p = e ? e + 1 : end;
    }
    starts[n] = end;
    return n;
}

static bool line_eq(const char **a, size_t i, const char **b, size_t j)
{
    size_t la = (size_t)(a[i + 1] - a[i]), lb = (size_t)(b[j + 1] - b[j]);
    return la == lb && !memcmp(a[i], b[j], la);
}

static int put_line(struct ag_buf *out, char mark, const char *p, const char *e)
{
    int rc = ag_buf_append(out, &mark, 1);
    if (!rc)
        rc = ag_buf_append(out, p, (size_t)(e - p));
    if (!rc && (e == p || e[-1] != '\n'))
        rc = ag_buf_append(out, "\n", 1);
    return rc;
}

/* One hunk: the common lines at both ends stay, the middle is shown removed and added. */
static int diff_file(const struct ag_clients_file *f, struct ag_buf *out)
{
    const char **a = calloc(DIFF_MAX_LINES + 1, sizeof(char *));
    const char **b = calloc(DIFF_MAX_LINES + 1, sizeof(char *));
    int rc = AG_ENOMEM;
    if (!a || !b)
        goto out;
    size_t na = split_lines(&f->old_text, a, DIFF_MAX_LINES);
    size_t nb = split_lines(&f->new_text, b, DIFF_MAX_LINES);
    size_t pre = 0, suf = 0;
    while (pre < na && pre < nb && line_eq(a, pre, b, pre))
        pre++;
    while (suf < na - pre && suf < nb - pre && line_eq(a, na - 1 - suf, b, nb - 1 - suf))
        suf++;
    rc = ag_buf_printf(out, "--- %s%s\n+++ %s\n", f->path, f->exists ? "" : " (new file)", f->path);
    size_t from = pre > DIFF_CONTEXT ? pre - DIFF_CONTEXT : 0;
    if (!rc)
        rc = ag_buf_printf(out, "@@ -%zu,%zu +%zu,%zu @@\n", from + 1, na - from - suf, from + 1,
                           nb - from - suf);
    for (size_t i = from; i < pre && !rc; i++)
        rc = put_line(out, ' ', a[i], a[i + 1]);
    for (size_t i = pre; i < na - suf && !rc; i++)
        rc = put_line(out, '-', a[i], a[i + 1]);
    for (size_t i = pre; i < nb - suf && !rc; i++)
        rc = put_line(out, '+', b[i], b[i + 1]);
    for (size_t i = na - suf; i < na && i < na - suf + DIFF_CONTEXT && !rc; i++)
        rc = put_line(out, ' ', a[i], a[i + 1]);
out:
    free(a);
    free(b);
    return rc;
}

/* Replaces every occurrence of mask in b[from..] with a shortened form. */
static int mask_secret(struct ag_buf *b, size_t from, const char *mask)
{
    size_t ml = mask ? strlen(mask) : 0;
    if (ml < 4 || b->len <= from)
        return 0;
    char shown[32];
    if (ml >= 12)
        snprintf(shown, sizeof(shown), "%.5s...%s", mask, mask + ml - 4);
    else
        snprintf(shown, sizeof(shown), "***");
    struct ag_buf t;
    ag_buf_init(&t, b->cap);
    int rc = 0;
    struct ag_str hay = ag_str_make(b->data + from, b->len - from);
    for (;;) {
        ptrdiff_t at = ag_str_search(hay, ag_str_make(mask, ml));
        if (at < 0)
            break;
        rc = ag_buf_append(&t, hay.p, (size_t)at);
        if (!rc)
            rc = ag_buf_append_c(&t, shown);
        if (rc)
            break;
        hay.p += (size_t)at + ml;
        hay.len -= (size_t)at + ml;
    }
    if (!rc)
        rc = ag_buf_append(&t, hay.p, hay.len);
    if (!rc) {
        b->len = from;
        rc = ag_buf_append(b, t.data ? t.data : "", t.len);
    }
    ag_buf_dispose(&t);
    return rc;
}

int ag_clients_plan_diff(const struct ag_clients_plan *plan, const char *mask, struct ag_buf *out)
{
    size_t from = out->len;
    int rc = 0;
    for (size_t i = 0; i < plan->nfiles && !rc; i++) {
        const struct ag_clients_file *f = &plan->files[i];
        if (!f->changed)
            rc = ag_buf_printf(out, "%s: no change\n", f->path);
        else if (f->old_text.len == f->new_text.len &&
                 !memcmp(f->old_text.data, f->new_text.data, f->new_text.len))
            rc = ag_buf_printf(out, "%s: mode set to %04o (it holds the key)\n", f->path,
                               (unsigned)f->mode);
        else
            rc = diff_file(f, out);
    }
    return rc ? rc : mask_secret(out, from, mask);
}
