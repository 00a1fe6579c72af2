/* proto/multipart.h: a small, bounded parser for multipart/form-data bodies (RFC 7578), as the
 * OpenAI images edits endpoint receives them. Pure code over a complete body held in memory (the
 * HTTP server has already capped its size): no I/O, no allocation besides the caller's arena, and
 * every count is capped, so it can be fuzzed alone.
 *
 * What it accepts: a boundary taken from the Content-Type header (token or quoted string, 1-70
 * characters as the RFC allows), parts separated by CRLF "--boundary" lines (a bare LF is tolerated
 * as well), each with headers up to a blank line. Of the headers it reads Content-Disposition
 * (`form-data; name="..."; filename="..."`, quoted or token values, backslash escapes inside
 * quotes) and Content-Type; the others are skipped. A preamble before the first boundary and an
 * epilogue after the closing "--boundary--" are ignored. Anything else (no closing boundary, a
 * header line without a colon, too many parts or headers, a part without a name) is AG_EPARSE. */
#ifndef AG_PROTO_MULTIPART_H
#define AG_PROTO_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/str.h"

/** Most parts one body may hold; more is AG_ETOOBIG. */
#define AG_MULTIPART_MAX_PARTS 64
/** Most header lines one part may carry; more is AG_EPARSE. */
#define AG_MULTIPART_MAX_HEADERS 16
/** Longest header block of one part in bytes; longer is AG_EPARSE. */
#define AG_MULTIPART_MAX_HEADER_BYTES 8192

/** One form field. name/filename are unescaped copies in the arena; data borrows the body. */
struct ag_multipart_part {
    struct ag_str name;         /* the form field name (never empty) */
    struct ag_str filename;     /* empty when the part is not a file */
    struct ag_str content_type; /* the part's Content-Type value, or empty */
    struct ag_str data;         /* the part's bytes, borrowed from the body */
    bool is_file;               /* a filename parameter was present (maybe empty) */
};

struct ag_multipart {
    struct ag_multipart_part parts[AG_MULTIPART_MAX_PARTS];
    size_t n_parts;
};

/**
 * Extracts the boundary from a Content-Type header value ("multipart/form-data; boundary=xyz").
 * Returns 0 and sets *out (borrowing content_type), AG_EINVAL when the media type is not
 * multipart/form-data, or AG_EPARSE when the boundary is missing or invalid.
 */
int ag_multipart_boundary(struct ag_str content_type, struct ag_str *out);

/**
 * Parses body into m (which the caller zeroes or reuses). Returns 0, AG_EPARSE for a malformed
 * body, AG_ETOOBIG past AG_MULTIPART_MAX_PARTS parts or on the arena's cap. The part data slices
 * borrow body, which must outlive m; names are copied into arena.
 */
int ag_multipart_parse(struct ag_arena *arena, struct ag_str boundary, struct ag_str body,
                       struct ag_multipart *m);

/** The first part named name, or NULL. */
const struct ag_multipart_part *ag_multipart_get(const struct ag_multipart *m, const char *name);

#endif
