/* proto/json.c: yyjson glue (see json.h): arena allocator, readers, writers. */
#include "proto/json.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hash.h"

/* The arena allocator keeps each block's size just before it so realloc can copy. */
static void *alc_malloc(void *ctx, size_t size)
{
    size_t *p = ag_arena_alloc(ctx, size + 16);
    if (!p)
        return NULL;
    p[0] = size;
    return (char *)p + 16;
}

static void *alc_realloc(void *ctx, void *ptr, size_t old_size, size_t size)
{
    if (!ptr)
        return alc_malloc(ctx, size);
    size_t have = *(size_t *)((char *)ptr - 16);
    if (size <= have)
        return ptr;
    void *n = alc_malloc(ctx, size);
    if (n)
        memcpy(n, ptr, old_size < have ? old_size : have);
    return n;
}

static void alc_free(void *ctx, void *ptr)
{
    (void)ctx;
    (void)ptr; /* released with the arena */
}

void ag_json_arena_alc(yyjson_alc *alc, struct ag_arena *arena)
{
    alc->malloc = alc_malloc;
    alc->realloc = alc_realloc;
    alc->free = alc_free;
    alc->ctx = arena;
}

/* The reader's allocator for a large text. Told to stop at the document's end, yyjson starts
 * with a value array for a short text and grows it by half whenever it is full; this allocator
 * makes that first array one value per 128 bytes of text, and hands out four times what each
 * growth asks for (so most growths fit and copy nothing), but never more than the one value per
 * six bytes of text yyjson reserves at once without that flag. A 1 MB conversation (a few
 * thousand values) then takes ~130 KB for its values instead of 3 MB: fewer large blocks per
 * request, so more requests' blocks stay in the thread's block cache (core/blocks.h). */
struct read_alc {
    struct ag_arena *arena;
    size_t first; /* the first value array (the only block smaller than the text's copy) */
    size_t most;  /* what yyjson would have reserved for the values at once */
};

static void *read_malloc(void *ctx, size_t size)
{
    struct read_alc *r = ctx;
    size_t want = size < r->first ? r->first : size;
    if (want > size)
        r->first = 0;
    void *p = alc_malloc(r->arena, want);
    return p || want == size ? p : alc_malloc(r->arena, size);
}

static void *read_realloc(void *ctx, void *ptr, size_t old_size, size_t size)
{
    const struct read_alc *r = ctx;
    if (!ptr)
        return alc_malloc(r->arena, size);
    size_t have = *(size_t *)((char *)ptr - 16);
    if (size <= have)
        return ptr;
    size_t want = size < r->most ? (size <= r->most / 4 ? size * 4 : r->most) : size;
    void *n = alc_malloc(r->arena, want);
    if (!n && want > size)
        n = alc_malloc(r->arena, size); /* the headroom never costs a request its arena cap */
    if (n)
        memcpy(n, ptr, old_size < have ? old_size : have);
    return n;
}

/* Texts from this size on are read with the reader's allocator above; smaller ones as they come
 * (yyjson's own reservation is then small, and one read is cheaper than a growth). */
#define READ_GROW_MIN (32 * 1024)

yyjson_doc *ag_json_read(struct ag_arena *arena, struct ag_str body, size_t max_depth, int *err)
{
    int rc = AG_ENOMEM;
    yyjson_doc *doc = NULL;
    yyjson_alc alc;
    if (body.len < READ_GROW_MIN) {
        ag_json_arena_alc(&alc, arena);
        doc = ag_json_depth_read(body.p, body.len, max_depth, &alc, NULL, &rc);
    } else {
        struct read_alc *r = ag_arena_alloc(arena, sizeof(*r)); /* the document keeps it */
        if (r) {
            size_t most = (body.len / 6 + 8) * sizeof(yyjson_val);
            size_t first = (body.len / 128 + 64) * sizeof(yyjson_val);
            *r = (struct read_alc){arena, first, most};
            alc = (yyjson_alc){read_malloc, read_realloc, alc_free, r};
            doc = ag_json_depth_read_flags(body.p, body.len, YYJSON_READ_STOP_WHEN_DONE, max_depth,
                                           &alc, NULL, &rc);
        }
    }
    if (err)
        *err = rc == AG_ENOMEM ? AG_ETOOBIG : rc;
    return doc;
}

/* The reader memory of ag_json_event_read: one buffer per thread, grown to the largest document
 * read so far (up to EVENT_READ_MAX) and kept. */
#define EVENT_READ_MAX (256 * 1024)
static _Thread_local struct {
    char *mem;
    size_t cap;
    yyjson_doc *doc; /* the document that holds it, or NULL */
} event_read;

yyjson_doc *ag_json_event_read(struct ag_str text, size_t max_depth, int *err)
{
    size_t need = yyjson_read_max_memory_usage(text.len, YYJSON_READ_NOFLAG);
    if (event_read.doc || need == 0 || need > EVENT_READ_MAX)
        return ag_json_depth_read(text.p, text.len, max_depth, NULL, NULL, err);
    if (need > event_read.cap) {
        size_t cap = event_read.cap ? event_read.cap : 4096;
        while (cap < need)
            cap *= 2;
        char *mem = realloc(event_read.mem, cap);
        if (!mem)
            return ag_json_depth_read(text.p, text.len, max_depth, NULL, NULL, err);
        event_read.mem = mem;
        event_read.cap = cap;
    }
    yyjson_alc alc;
    yyjson_alc_pool_init(&alc, event_read.mem, event_read.cap);
    event_read.doc = ag_json_depth_read(text.p, text.len, max_depth, &alc, NULL, err);
    return event_read.doc;
}

void ag_json_event_free(yyjson_doc *doc)
{
    if (doc && doc == event_read.doc)
        event_read.doc = NULL;
    yyjson_doc_free(doc);
}

int ag_json_text_depth_check(struct ag_arena *arena, struct ag_str text, size_t max_depth)
{
    int rc;
    ag_json_read(arena, text, max_depth, &rc);
    return rc == AG_EPARSE ? 0 : rc;
}

void ag_json_src_init(struct ag_json_src *src, const yyjson_doc *doc, struct ag_str text)
{
    src->text = text.p;
    src->len = text.len;
    src->pool = doc ? doc->str_pool : NULL;
}

struct ag_str ag_json_literal(const struct ag_json_src *src, yyjson_val *v)
{
    const char *s = yyjson_get_str(v);
    if (!s || !src->pool || !src->text || s <= src->pool)
        return AG_STR_NULL;
    /* yyjson unescapes a string into its copy of the input starting where its text starts, so
     * the offset in the copy is the offset in the input. */
    size_t off = (size_t)(s - src->pool), n = yyjson_get_len(v);
    if (off > src->len || n > src->len - off || src->text[off - 1] != '"')
        return AG_STR_NULL;
    const char *p = src->text + off, *end = src->text + src->len;
    for (const char *from = p + n; from < end;) {
        /* the literal is at least as long as the string: its closing quote is at p + n or later,
         * the first '"' not escaped by an odd run of backslashes */
        const char *q = memchr(from, '"', (size_t)(end - from));
        if (!q)
            break;
        size_t bs = 0;
        while (q - bs > p && q[-1 - (ptrdiff_t)bs] == '\\')
            bs++;
        if (bs % 2 == 0)
            return ag_str_make(p - 1, (size_t)(q - p) + 2);
        from = q + 1;
    }
    return AG_STR_NULL;
}

struct ag_str ag_json_val_text(struct ag_arena *arena, yyjson_val *v)
{
    yyjson_alc alc;
    size_t len = 0;
    ag_json_arena_alc(&alc, arena);
    char *s = yyjson_val_write_opts(v, YYJSON_WRITE_NOFLAG, &alc, &len, NULL);
    return s ? ag_str_make(s, len) : AG_STR_NULL;
}

/* Containers deeper than this are estimated as empty (the estimate is only a first size). */
#define ESTIMATE_DEPTH 32

/* The written size of v, roughly: the bytes of its strings and keys plus a few per value, and an
 * eighth for escapes. One walk over the values, not the bytes; bounded by ESTIMATE_DEPTH. */
static size_t text_estimate(yyjson_mut_val *root)
{
    struct frame {
        bool obj;
        yyjson_mut_arr_iter ai;
        yyjson_mut_obj_iter oi;
    } st[ESTIMATE_DEPTH];
    size_t top = 0, est = 0;
    yyjson_mut_val *v = root;
    for (;;) {
        if (v) {
            est += 8; /* punctuation, numbers, literals */
            if (yyjson_mut_is_str(v) || yyjson_mut_is_raw(v)) {
                est += yyjson_mut_get_len(v);
            } else if (yyjson_mut_is_ctn(v) && top < ESTIMATE_DEPTH) {
                struct frame *f = &st[top++];
                f->obj = yyjson_mut_is_obj(v);
                if (f->obj)
                    yyjson_mut_obj_iter_init(v, &f->oi);
                else
                    yyjson_mut_arr_iter_init(v, &f->ai);
            }
        }
        if (!top)
            break;
        struct frame *f = &st[top - 1];
        if (f->obj) {
            yyjson_mut_val *k = yyjson_mut_obj_iter_next(&f->oi);
            if (k) {
                est += yyjson_mut_get_len(k) + 4;
                v = yyjson_mut_obj_iter_get_val(k);
                continue;
            }
        } else if ((v = yyjson_mut_arr_iter_next(&f->ai))) {
            continue;
        }
        top--;
        v = NULL;
    }
    return est + est / 8;
}

/* The arena allocator with a first allocation of at least `first` bytes: yyjson's writer asks
 * for its output buffer first, guessed from the number of values, and grows it by half whenever
 * it is short, each time a copy in the arena; sized from the document, it is written once.
 * yyjson does not know the buffer is larger than it asked for: its own idea of the size keeps
 * growing by half (free while it fits), so the first block of a large text leaves room for that
 * overshoot (a third more than the estimate), or the last step would copy it all. */
struct sized_alc {
    struct ag_arena *arena;
    size_t first;
};

static void *sized_malloc(void *ctx, size_t size)
{
    struct sized_alc *s = ctx;
    if (size < s->first)
        size = s->first;
    s->first = 0;
    return alc_malloc(s->arena, size);
}

static void *sized_realloc(void *ctx, void *ptr, size_t old_size, size_t size)
{
    struct sized_alc *s = ctx;
    return alc_realloc(s->arena, ptr, old_size, size);
}

struct ag_str ag_json_mut_text(struct ag_arena *arena, yyjson_mut_val *v)
{
    size_t est = text_estimate(v);
    /* a small text is copied cheaply, and the room would stay with the request */
    struct sized_alc sa = {.arena = arena, .first = est < 65536 ? est : est + est / 3};
    yyjson_alc alc = {
        .malloc = sized_malloc, .realloc = sized_realloc, .free = alc_free, .ctx = &sa};
    size_t len = 0;
    char *s = yyjson_mut_val_write_opts(v, YYJSON_WRITE_NOFLAG, &alc, &len, NULL);
    return s ? ag_str_make(s, len) : AG_STR_NULL;
}

int ag_json_mut_append(struct ag_buf *out, yyjson_mut_val *v)
{
    size_t len = 0;
    char *s = yyjson_mut_val_write_opts(v, YYJSON_WRITE_NOFLAG, NULL, &len, NULL);
    if (!s)
        return AG_ENOMEM;
    int rc = ag_buf_append(out, s, len);
    free(s);
    return rc;
}

int ag_json_sse_append(struct ag_buf *out, yyjson_mut_val *v)
{
    size_t mark = out->len;
    int rc = ag_buf_append_c(out, "data: ");
    if (rc == 0)
        rc = ag_json_mut_append(out, v);
    if (rc == 0)
        rc = ag_buf_append_c(out, "\n\n");
    if (rc != 0) {
        out->len = mark; /* never leave half a frame behind */
        if (out->data)
            out->data[mark] = '\0';
    }
    return rc;
}

/* Length of the valid UTF-8 sequence (2 to 4 bytes) that starts at p with a byte >= 0x80, n bytes
 * being left; 0 when it is not one (overlong forms, surrogates, beyond U+10FFFF, cut short). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    if (c >= 0xC2 && c <= 0xDF)
        return n >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F))
            return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] > 0x8F))
            return 0;
        return 4;
    }
    return 0;
}

/* The escape of an ASCII byte: 0 = none, 'u' = \u00XX, else the letter after the backslash. */
static inline char ascii_escape(unsigned char c)
{
    if (c >= 0x20 && c != '"' && c != '\\')
        return 0;
    switch (c) {
    case '"':
        return '"';
    case '\\':
        return '\\';
    case '\b':
        return 'b';
    case '\t':
        return 't';
    case '\n':
        return 'n';
    case '\f':
        return 'f';
    case '\r':
        return 'r';
    default:
        return c < 0x20 ? 'u' : 0;
    }
}

/* Text that is not valid UTF-8: what yyjson's writer makes of it (it refuses it). */
static int str_append_yyjson(struct ag_buf *out, struct ag_str s)
{
    yyjson_mut_val v;
    size_t len = 0;
    yyjson_mut_set_strn(&v, s.p ? s.p : "", s.len);
    char *t = yyjson_mut_val_write_opts(&v, YYJSON_WRITE_NOFLAG, NULL, &len, NULL);
    if (!t)
        return AG_ENOMEM;
    int rc = ag_buf_append(out, t, len);
    free(t);
    return rc;
}

int ag_json_str_append(struct ag_buf *out, struct ag_str s)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s.p;
    size_t need = 2;
    for (size_t i = 0; i < s.len;) {
        if (p[i] < 0x80) {
            char e = ascii_escape(p[i++]);
            need += e == 0 ? 1 : e == 'u' ? 6 : 2;
            continue;
        }
        size_t k = utf8_len(p + i, s.len - i);
        if (!k)
            return str_append_yyjson(out, s);
        need += k;
        i += k;
    }
    int rc = ag_buf_reserve(out, need);
    if (rc)
        return rc;
    char *w = out->data + out->len;
    *w++ = '"';
    if (need == s.len + 2) {
        if (s.len)
            memcpy(w, p, s.len);
        w += s.len;
    } else {
        for (size_t i = 0; i < s.len; i++) {
            char e = p[i] < 0x80 ? ascii_escape(p[i]) : 0;
            if (!e) {
                *w++ = (char)p[i];
            } else if (e == 'u') {
                memcpy(w, "\\u00", 4);
                w[4] = hex[p[i] >> 4];
                w[5] = hex[p[i] & 15];
                w += 6;
            } else {
                w[0] = '\\';
                w[1] = e;
                w += 2;
            }
        }
    }
    *w++ = '"';
    out->len += need;
    *w = '\0';
    return 0;
}

int ag_json_int_append(struct ag_buf *out, int64_t v)
{
    return ag_buf_append_int(out, (long long)v);
}

const char *ag_json_int_text(char buf[24], int64_t v)
{
    return ag_int_text(buf, (long long)v);
}

int ag_json_lits_append(struct ag_buf *out, const char *const *pieces, size_t n)
{
    size_t len[16], total = 0;
    if (n > sizeof(len) / sizeof(len[0]))
        return AG_ETOOBIG;
    for (size_t i = 0; i < n; i++)
        total += len[i] = strlen(pieces[i]);
    int rc = ag_buf_reserve(out, total);
    if (rc)
        return rc;
    char *w = out->data + out->len;
    for (size_t i = 0; i < n; i++) {
        memcpy(w, pieces[i], len[i]);
        w += len[i];
    }
    *w = '\0';
    out->len += total;
    return 0;
}

yyjson_mut_val *ag_json_parse_into(yyjson_mut_doc *d, struct ag_arena *arena, struct ag_str text)
{
    if (!text.len)
        return NULL;
    yyjson_doc *doc = ag_json_read(arena, text, AG_JSON_DEPTH_INTERNAL, NULL);
    if (!doc)
        return NULL;
    return yyjson_val_mut_copy(d, yyjson_doc_get_root(doc));
}

uint64_t ag_json_id_hash(struct ag_str a, uint64_t n)
{
    unsigned char le[8]; /* n little-endian: the ids already handed out keep their value */
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)(n >> (8 * i));
    uint64_t h = ag_hash_fnv1a_add(AG_FNV_INIT, a.p, a.len);
    h = ag_hash_fnv1a_add(h, "/", 1);
    return ag_hash_fnv1a_add(h, le, sizeof(le));
}

int ag_json_int(yyjson_val *v, int64_t max, int64_t *out)
{
    if (yyjson_is_uint(v)) {
        uint64_t u = yyjson_get_uint(v);
        if (max < 0 || u > (uint64_t)max)
            return AG_ETOOBIG;
        *out = (int64_t)u;
        return 0;
    }
    if (yyjson_is_sint(v)) {
        int64_t x = yyjson_get_sint(v);
        if (x > max)
            return AG_ETOOBIG;
        *out = x;
        return 0;
    }
    if (!yyjson_is_real(v))
        return AG_EINVAL;
    double d = yyjson_get_real(v);
    if (!isfinite(d) || d != floor(d))
        return AG_EINVAL;
    /* 2^63 is exactly representable; every double below it converts without overflow. */
    if (d >= 9223372036854775808.0 || d < -9223372036854775808.0 || d > (double)max)
        return AG_ETOOBIG;
    int64_t x = (int64_t)d;
    if (x > max)
        return AG_ETOOBIG;
    *out = x;
    return 0;
}
