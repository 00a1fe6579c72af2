/* core/json_depth.h: the one nesting limit for every JSON text the gateway reads.
 *
 * Client bodies, JSON strings inside them (tool arguments), upstream answers and stream events,
 * config files and updates, account imports and admin bodies are all parsed by yyjson, whose
 * reader, writers and immutable-to-mutable copy are iterative. Several walks after parsing are not
 * (yyjson_mut_val_mut_copy, yyjson_mut_doc_imut_copy, yyjson_equals and the gateway's own
 * recursive helpers), so every document is checked right after parsing: nothing deeper than the
 * limit (server.max_json_depth) goes further, and with the limit capped at AG_JSON_DEPTH_MAX no
 * stack depth is decided by input. The check itself uses a fixed amount of stack. */
#ifndef AG_CORE_JSON_DEPTH_H
#define AG_CORE_JSON_DEPTH_H

#include <stddef.h>
#include <yyjson.h>

/** The default of server.max_json_depth, and the limit where no configuration is at hand. */
#define AG_JSON_DEPTH_DEFAULT 128
/** The smallest value server.max_json_depth accepts. */
#define AG_JSON_DEPTH_MIN 8
/** The largest value server.max_json_depth accepts. */
#define AG_JSON_DEPTH_MAX 1024
/**
 * The limit for JSON text the gateway wrote itself from input already checked (stored responses,
 * canonical tool arguments): the largest limit plus room for the envelopes the gateway wraps
 * around checked values. Real data never reaches it; it keeps every later walk bounded.
 */
#define AG_JSON_DEPTH_INTERNAL (AG_JSON_DEPTH_MAX + 32)

/** The wording of a refusal in every protocol, log and config error; printf with the limit. */
#define AG_JSON_DEPTH_MSG "JSON nested deeper than %zu levels"

/** The limit in force for a configured value: 0 means AG_JSON_DEPTH_DEFAULT. */
static inline size_t ag_json_depth_limit(size_t configured)
{
    if (!configured)
        return AG_JSON_DEPTH_DEFAULT;
    return configured > AG_JSON_DEPTH_INTERNAL ? AG_JSON_DEPTH_INTERNAL : configured;
}

/**
 * Checks that no array or object under root (an immutable value as yyjson_read returns it) nests
 * deeper than limit levels: a scalar has depth 0, [] and {} depth 1, [[]] depth 2. Returns 0, or
 * AG_EDEPTH on the first container past the limit. limit goes through ag_json_depth_limit (0 is
 * the default). root NULL is depth 0. Iterative, with a fixed stack of AG_JSON_DEPTH_INTERNAL
 * pointers; it borrows root.
 */
int ag_json_depth_check(yyjson_val *root, size_t limit);

/**
 * yyjson_read_opts (no flags) of text followed by ag_json_depth_check of its root. Returns the
 * document (the caller frees it with yyjson_doc_free), or NULL with *err (may be NULL) set to
 * AG_EPARSE (not JSON; *rerr says where, when rerr is given), AG_ENOMEM (alc failed, e.g. an
 * arena cap) or AG_EDEPTH (nested deeper than limit; the document is already freed). alc may be
 * NULL (malloc). text is only borrowed.
 */
yyjson_doc *ag_json_depth_read(const char *text, size_t len, size_t limit, const yyjson_alc *alc,
                               yyjson_read_err *rerr, int *err);

/**
 * As ag_json_depth_read, with yyjson read flags: only YYJSON_READ_STOP_WHEN_DONE is honoured
 * (others are dropped). With it, yyjson sizes its first value array for a short text and grows
 * it as it reads (with alc's realloc) instead of reserving one value per six bytes of text up
 * front; the text after the document must still be whitespace only, else AG_EPARSE exactly as
 * without the flag. The same text is accepted or rejected either way.
 */
yyjson_doc *ag_json_depth_read_flags(const char *text, size_t len, yyjson_read_flag flg,
                                     size_t limit, const yyjson_alc *alc, yyjson_read_err *rerr,
                                     int *err);

#endif
