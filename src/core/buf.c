/* core/buf.c: capped growable buffer (see buf.h). */
#include "core/buf.h"

#include "core/blocks.h"
#include "core/err.h"
#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ag_buf_init(struct ag_buf *b, size_t cap)
{
    b->data = NULL;
    b->len = 0;
    b->_alloc = 0;
    b->cap = cap;
}

void ag_buf_dispose(struct ag_buf *b)
{
    ag_block_put(b->data, b->_alloc); /* freed when the cache does not keep it */
    b->data = NULL;
    b->len = 0;
    b->_alloc = 0;
}

/* Moves b's contents into a block of at least alloc bytes from the thread's cache and gives the
 * old storage back; the room never goes past the cap. */
static void move_to_block(struct ag_buf *b, size_t alloc)
{
    size_t got;
    char *d = ag_block_get(alloc, &got);
    if (b->data)
        memcpy(d, b->data, b->len);
    d[b->len] = '\0';
    ag_block_put(b->data, b->_alloc);
    b->data = d;
    b->_alloc = b->cap && got > b->cap + 1 ? b->cap + 1 : got;
}

int ag_buf_reserve(struct ag_buf *b, size_t n)
{
    if (n > SIZE_MAX / 2 - b->len)
        return AG_ETOOBIG;
    size_t want = b->len + n;
    if (b->cap && want > b->cap)
        return AG_ETOOBIG;
    if (want + 1 <= b->_alloc)
        return 0;
    size_t alloc = b->_alloc ? b->_alloc : 256;
    while (alloc < want + 1)
        alloc *= 2;
    if (b->cap && alloc > b->cap + 1)
        alloc = b->cap + 1;
    if (alloc < AG_BLOCK_SMALL_MIN || alloc > AG_BLOCK_MAX) {
        b->data = ag_realloc(b->data, alloc);
        b->_alloc = alloc;
        return 0;
    }
    /* From a kilobyte up, storage comes from the thread's block cache and goes back to it
     * (ag_buf_dispose): a request's buffers are the previous request's. */
    move_to_block(b, alloc);
    return 0;
}

int ag_buf_reserve_cached(struct ag_buf *b, size_t n)
{
    if (n > SIZE_MAX / 2 - b->len)
        return AG_ETOOBIG;
    size_t want = b->len + n;
    if (b->cap && want > b->cap)
        return AG_ETOOBIG;
    if (want + 1 <= b->_alloc)
        return 0;
    size_t alloc = want + 1;
    if (alloc < b->_alloc + b->_alloc / 2)
        alloc = b->_alloc + b->_alloc / 2; /* geometric growth for appends */
    if (b->cap && alloc > b->cap + 1)
        alloc = b->cap + 1;
    if (alloc < AG_BLOCK_MIN)
        return ag_buf_reserve(b, n);
    move_to_block(b, alloc);
    return 0;
}

int ag_buf_append(struct ag_buf *b, const void *p, size_t n)
{
    int rc = ag_buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

const char *ag_int_text(char buf[24], long long v)
{
    size_t i = 23;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        buf[--i] = '-';
    return buf + i;
}

int ag_buf_append_int(struct ag_buf *b, long long v)
{
    char d[24];
    const char *s = ag_int_text(d, v);
    return ag_buf_append(b, s, (size_t)(d + 23 - s));
}

int ag_buf_vprintf(struct ag_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return AG_EINVAL;
    int rc = ag_buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int ag_buf_printf(struct ag_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = ag_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void ag_buf_consume(struct ag_buf *b, size_t n)
{
    if (n >= b->len) {
        ag_buf_reset(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}

char *ag_buf_steal(struct ag_buf *b, size_t *len)
{
    char *d = b->data;
    if (len)
        *len = b->len;
    if (!d)
        d = ag_strdup("");
    b->data = NULL;
    b->len = 0;
    b->_alloc = 0;
    return d;
}
