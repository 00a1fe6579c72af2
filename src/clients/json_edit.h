/* clients/json_edit.h: setting a few string members deep inside a client's JSON settings file
 * while keeping everything else: other members stay in their order, numbers keep their exact
 * text, and the file is written back the way the clients themselves write it (two-space
 * indentation, a final newline). A file that is not strict JSON is refused; when it would parse
 * as JSON with comments or trailing commas the message says so, since writing it back would drop
 * the comments. */
#ifndef AG_CLIENTS_JSON_EDIT_H
#define AG_CLIENTS_JSON_EDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <yyjson.h>

#include "core/buf.h"

/** Nesting limit of a settings file. */
#define AG_JSON_EDIT_MAX_DEPTH 64

/**
 * Parses text (len bytes; empty or only whitespace = {}) into a mutable document whose root is
 * an object. Returns the document (the caller frees it with yyjson_mut_doc_free) or NULL with the
 * reason in err (cap bytes): not JSON (with the byte offset), JSONC, not an object, too deep.
 */
yyjson_mut_doc *ag_json_edit_load(const char *text, size_t len, char *err, size_t cap);

/**
 * Sets the member at path (npath keys from the root, e.g. {"env", "ANTHROPIC_BASE_URL"}) to the
 * string value, creating objects on the way. *changed is set true when the value was not already
 * that string (it is never set false). Returns 0, or AG_EPARSE with a message in err when a member
 * on the way exists and is not an object.
 */
int ag_json_edit_set(yyjson_mut_doc *doc, const char *const *path, size_t npath, const char *value,
                     bool *changed, char *err, size_t cap);

/** The string at path, or NULL (absent or not a string). Borrowed from doc. */
const char *ag_json_edit_get(yyjson_mut_doc *doc, const char *const *path, size_t npath);

/** True when the member at path exists (any type). */
bool ag_json_edit_has(yyjson_mut_doc *doc, const char *const *path, size_t npath);

/** Appends doc to out, two-space indented, with a final newline. Returns 0 or an AG_E* code. */
int ag_json_edit_dump(yyjson_mut_doc *doc, struct ag_buf *out);

#endif
