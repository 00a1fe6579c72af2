/* core/jsonw.h: writing small JSON texts straight into a buffer: a string escaper and a handful of
 * member writers that put the commas in. For answers built field by field (error bodies, admin
 * API answers, WebSocket and mock frames); documents that are parsed, changed or built as trees
 * use yyjson (proto/json.h). The writers keep no state: a comma goes before a value unless the
 * buffer ends in '{', '[' or ':'. Each returns 0 or AG_ETOOBIG when the buffer's cap is reached
 * (the buffer then holds a cut text: answer with an error instead). */
#ifndef AG_CORE_JSONW_H
#define AG_CORE_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/**
 * Appends the len bytes at s as a JSON string literal: quotes, and escapes for '"', '\\' and the
 * control characters (other bytes, UTF-8 included, are copied). 0 or AG_ETOOBIG.
 */
int ag_jsonw_quote(struct ag_buf *out, const char *s, size_t len);

/** Appends the comma that separates a value from the one before it, when one is needed. */
int ag_jsonw_sep(struct ag_buf *b);

/** Starts a member: the comma, then "k": (nothing more when k is NULL, inside an array). */
int ag_jsonw_key(struct ag_buf *b, const char *k);

/** A string member (k NULL inside an array); v NULL writes null. */
int ag_jsonw_str(struct ag_buf *b, const char *k, const char *v);

/** A string member from a slice; a slice with a NULL pointer writes null. */
int ag_jsonw_strn(struct ag_buf *b, const char *k, struct ag_str v);

/** An integer member. */
int ag_jsonw_int(struct ag_buf *b, const char *k, int64_t v);

/** A number member, with 6 significant digits (%.6g); not finite writes null. */
int ag_jsonw_num(struct ag_buf *b, const char *k, double v);

/** A boolean member. */
int ag_jsonw_bool(struct ag_buf *b, const char *k, bool v);

/** A member whose value is JSON text the caller vouches for; NULL writes null. */
int ag_jsonw_raw(struct ag_buf *b, const char *k, const char *json);

/** Opens an object ('{') or array ('[') member. */
int ag_jsonw_open(struct ag_buf *b, const char *k, char c);

/** Closes an object ('}') or array (']'). */
int ag_jsonw_close(struct ag_buf *b, char c);

#endif
