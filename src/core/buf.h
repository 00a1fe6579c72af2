/* core/buf.h: a growable byte buffer with a hard cap. Appends past the cap fail with AG_ETOOBIG
 * and leave the buffer as it was, so callers can answer 413/502 instead of crashing. The data is
 * always NUL-terminated (the NUL is not counted in len). */
#ifndef AG_CORE_BUF_H
#define AG_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "core/str.h"

struct ag_buf {
    char *data; /* owned; NULL until the first append */
    size_t len;
    size_t _alloc;
    size_t cap; /* max len; AG_BUF_UNBOUNDED = none */
};

/**
 * The cap that means none. Every use carries a comment on its line saying what bounds the buffer
 * instead (its input's own cap, a fixed number of fixed pieces); anything else gets a real cap.
 */
#define AG_BUF_UNBOUNDED 0

/** A cap for short texts: a message, a path, a header, a small form or JSON answer. */
#define AG_BUF_CAP_SHORT (64u * 1024)

/** A cap for a JSON answer or document built in memory (account lists, logs, statistics). */
#define AG_BUF_CAP_DOC (64u * 1024 * 1024)

/** Prepares an empty buffer with the given cap (AG_BUF_UNBOUNDED: none). */
void ag_buf_init(struct ag_buf *b, size_t cap);

/** Releases the storage (to the thread's block cache from AG_BLOCK_SMALL_MIN bytes up, else
 * free); the buffer is empty and reusable afterwards. */
void ag_buf_dispose(struct ag_buf *b);

/** Empties the buffer and keeps its storage. */
static inline void ag_buf_reset(struct ag_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

/** Makes room for n more bytes (storage from AG_BLOCK_SMALL_MIN bytes up comes from the thread's
 * block cache, core/blocks.h); 0 or AG_ETOOBIG. */
int ag_buf_reserve(struct ag_buf *b, size_t n);

/**
 * As ag_buf_reserve, for buffers that may grow large and live briefly (request bodies, read
 * buffers): storage of AG_BLOCK_MIN bytes or more comes from the thread's block cache
 * (core/blocks.h) and is sized to the need (at least 1.5 times the old storage when it grows),
 * instead of realloc doubling. The storage stays ordinary heap memory: ag_buf_dispose,
 * ag_buf_steal and later appends remain correct; ag_buf_dispose gives it back to the cache.
 */
int ag_buf_reserve_cached(struct ag_buf *b, size_t n);

/** Appends n bytes; 0 or AG_ETOOBIG. */
int ag_buf_append(struct ag_buf *b, const void *p, size_t n);

static inline int ag_buf_append_str(struct ag_buf *b, struct ag_str s)
{
    return ag_buf_append(b, s.p, s.len);
}

static inline int ag_buf_append_c(struct ag_buf *b, const char *s)
{
    return ag_buf_append(b, s, strlen(s));
}

/** Appends v in decimal (no printf); 0 or AG_ETOOBIG. */
int ag_buf_append_int(struct ag_buf *b, long long v);

/** v as decimal digits (a '-' first when negative), NUL-terminated, written into the end of buf;
 * returns where they begin. */
const char *ag_int_text(char buf[24], long long v);

/** printf-appends; 0, AG_ETOOBIG, or AG_EINVAL for a bad format. */
int ag_buf_printf(struct ag_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ag_buf_vprintf(struct ag_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/** Drops the first n bytes (consumed input). */
void ag_buf_consume(struct ag_buf *b, size_t n);

/** Takes the storage out of the buffer; the caller frees it. The buffer becomes empty. */
char *ag_buf_steal(struct ag_buf *b, size_t *len);

static inline struct ag_str ag_buf_str(const struct ag_buf *b)
{
    return ag_str_make(b->data, b->len);
}

#endif
