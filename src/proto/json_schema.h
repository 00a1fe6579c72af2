/* proto/json_schema.h: cleans a client's JSON Schema into the subset Gemini (and Cloud Code)
 * accepts: type, description, title, properties, required, items, enum. References are expanded,
 * allOf merged, anyOf/oneOf collapsed to their richest branch, type unions reduced, and every
 * constraint Gemini would reject is kept for the model as a hint in the description. */
#ifndef AG_PROTO_JSON_SCHEMA_H
#define AG_PROTO_JSON_SCHEMA_H

#include <yyjson.h>

#include "core/arena.h"
#include "core/str.h"

/**
 * Builds the cleaned form of schema inside d and returns it; NULL only when d cannot allocate.
 * A schema that is not an object (true, null, missing) becomes {"type":"object","properties":{}}.
 * Types come out lower-case. The input is only read.
 */
yyjson_mut_val *ag_json_schema_clean(yyjson_mut_doc *d, yyjson_val *schema);

/**
 * As ag_json_schema_clean for schema text; text that is not JSON gives NULL. Scratch memory comes
 * from arena. A text converted before on this thread comes back as a raw value of the converted
 * JSON text (proto/schema_cache.h): write it, do not walk it.
 */
yyjson_mut_val *ag_json_schema_clean_text(yyjson_mut_doc *d, struct ag_arena *arena,
                                          struct ag_str text);

#endif
