/* proto/json.h: the small yyjson glue every adapter uses: an allocator that draws from a request
 * arena, typed getters that return slices, and writers that append to an ag_buf or the arena. */
#ifndef AG_PROTO_JSON_H
#define AG_PROTO_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <yyjson.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/json_depth.h"
#include "core/str.h"

/**
 * Fills alc with an allocator backed by arena: memory is released with the arena, free is a
 * no-op. Documents read or built with it never need yyjson_doc_free.
 */
void ag_json_arena_alc(yyjson_alc *alc, struct ag_arena *arena);

/**
 * Parses body into a document allocated from arena and checks its nesting against max_depth
 * (core/json_depth.h; 0 = AG_JSON_DEPTH_DEFAULT). NULL when it cannot, with *err (may be NULL)
 * set to AG_EPARSE (not JSON), AG_ETOOBIG (the arena cap was hit) or AG_EDEPTH (nested deeper
 * than max_depth); *err is 0 on success. The body is only borrowed.
 */
yyjson_doc *ag_json_read(struct ag_arena *arena, struct ag_str body, size_t max_depth, int *err);

/**
 * Checks JSON text that a request carries inside a string (tool-call arguments) against
 * max_depth, parsing it into arena: 0 when it nests no deeper (or is not JSON at all: what to do
 * with such text is the caller's choice), AG_EDEPTH when deeper, AG_ETOOBIG on the arena cap.
 */
int ag_json_text_depth_check(struct ag_arena *arena, struct ag_str text, size_t max_depth);

/** The largest token count or similar integer a request field may carry (clients sending more,
 * such as 1e30, get a 400 rather than an overflowing conversion). */
#define AG_JSON_INT_MAX 2147483647

/** The largest token count read from an upstream's usage (larger ones are read as unknown), so that
 * sums of counts can never overflow. */
#define AG_USAGE_MAX (1LL << 40)

/**
 * Reads v as an integer no larger than max: a JSON integer, or a number without a fraction (2.0,
 * 1e3). Returns 0 with *out set, AG_EINVAL when v is not such a number (a string, 1.5, NaN), or
 * AG_ETOOBIG when it is beyond max or outside int64_t (1e30, 18446744073709551615). Never converts
 * an out-of-range double (undefined behaviour in C).
 */
int ag_json_int(yyjson_val *v, int64_t max, int64_t *out);

/** True when v is there and not JSON null (a member sent as null counts as absent). */
static inline bool ag_json_present(yyjson_val *v)
{
    return v && !yyjson_is_null(v);
}

/** The string value as a slice (AG_STR_NULL when v is not a string). */
static inline struct ag_str ag_json_str(yyjson_val *v)
{
    if (!yyjson_is_str(v))
        return AG_STR_NULL;
    return ag_str_make(yyjson_get_str(v), yyjson_get_len(v));
}

/** obj[key] as a slice (AG_STR_NULL when absent or not a string). */
static inline struct ag_str ag_json_get_str(yyjson_val *obj, const char *key)
{
    return ag_json_str(yyjson_obj_get(obj, key));
}

/**
 * As ag_json_read, for the many small documents of a stream (one per upstream event): the
 * document lives in memory the calling thread keeps from one call to the next (documents of up
 * to 256 KiB of reader memory; larger ones, or one read while another is still held, come from
 * malloc), so parsing an event allocates nothing. Free it with ag_json_event_free, before the
 * thread's next ag_json_event_read.
 */
yyjson_doc *ag_json_event_read(struct ag_str text, size_t max_depth, int *err);

/** Frees a document of ag_json_event_read (NULL is fine). */
void ag_json_event_free(yyjson_doc *doc);

/** Serializes v into arena as compact JSON; AG_STR_NULL on cap. */
struct ag_str ag_json_val_text(struct ag_arena *arena, yyjson_val *v);

/**
 * Where the strings of a document read by ag_json_read came from: its input text and the copy of
 * it the document's strings were unescaped into (yyjson's string pool). Zeroed = unknown.
 */
struct ag_json_src {
    const char *text; /* the input, as given to ag_json_read */
    size_t len;
    const char *pool; /* doc->str_pool: the input's copy, the same offsets */
};

/** The source of doc, read from text (doc NULL or read in place: an unknown source). */
void ag_json_src_init(struct ag_json_src *src, const yyjson_doc *doc, struct ag_str text);

/**
 * The JSON string literal a string value v of src's document was read from, quotes and escapes
 * as the input had them: valid JSON that reads back as v's string (the document was read
 * strictly). An encoder can copy it into its output instead of escaping the string again.
 * AG_STR_NULL when v is not such a string.
 */
struct ag_str ag_json_literal(const struct ag_json_src *src, yyjson_val *v);

/** Serializes a mutable value into arena as compact JSON; AG_STR_NULL on cap. */
struct ag_str ag_json_mut_text(struct ag_arena *arena, yyjson_mut_val *v);

/** Appends a mutable value as compact JSON to out; 0, AG_ETOOBIG or AG_ENOMEM. */
int ag_json_mut_append(struct ag_buf *out, yyjson_mut_val *v);

/** Appends "data: <json>\n\n" to out. */
int ag_json_sse_append(struct ag_buf *out, yyjson_mut_val *v);

/**
 * Appends s as a JSON string value, quotes included, byte for byte as yyjson writes one without
 * flags: '"', '\\' and control bytes escaped (\b \t \n \f \r, others \u00XX), every other byte
 * (DEL, '/', valid multi-byte UTF-8) as it is. Text that is not valid UTF-8 is handed to yyjson's
 * writer itself (which refuses it). 0, AG_ETOOBIG on the buffer's cap, AG_ENOMEM when yyjson
 * refuses; out is unchanged on failure. No allocation besides out's own growth.
 */
int ag_json_str_append(struct ag_buf *out, struct ag_str s);

/** Appends v as decimal digits, as yyjson writes an integer. 0 or AG_ETOOBIG. */
int ag_json_int_append(struct ag_buf *out, int64_t v);

/** Writes v as decimal digits, as yyjson writes an integer, at the end of buf (24 bytes, NUL
 * included); returns where they start. */
const char *ag_json_int_text(char buf[24], int64_t v);

/**
 * Appends the n NUL-terminated pieces in order with one reservation (the literal parts of a
 * stream frame). 0, or AG_ETOOBIG with out unchanged.
 */
int ag_json_lits_append(struct ag_buf *out, const char *const *pieces, size_t n);

/** Adds key -> string slice to a mutable object (copies both into the document). */
static inline bool ag_json_add_str(yyjson_mut_doc *d, yyjson_mut_val *obj, const char *key,
                                   struct ag_str s)
{
    return yyjson_mut_obj_add(obj, yyjson_mut_strcpy(d, key),
                              yyjson_mut_strncpy(d, s.p ? s.p : "", s.len));
}

/** A mutable string value copied from a slice. */
static inline yyjson_mut_val *ag_json_mut_str(yyjson_mut_doc *d, struct ag_str s)
{
    return yyjson_mut_strncpy(d, s.p ? s.p : "", s.len);
}

/**
 * Parses JSON text (e.g. tool arguments) as a mutable value inside d. Text that is not JSON
 * becomes NULL; the caller decides the fallback. The text is one the gateway holds after checking
 * it (canonical arguments, stored input): it is re-checked against AG_JSON_DEPTH_INTERNAL, and
 * text nested deeper is treated as not JSON, so the recursive copies that follow stay bounded.
 */
yyjson_mut_val *ag_json_parse_into(yyjson_mut_doc *d, struct ag_arena *arena, struct ag_str text);

/** A 64-bit FNV-1a hash over a and b with a separator: the seed of deterministic ids. */
uint64_t ag_json_id_hash(struct ag_str a, uint64_t n);

#endif
