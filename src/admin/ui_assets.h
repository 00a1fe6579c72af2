/* admin/ui_assets.h: the web admin UI built into the binary. The files of web/'s Vite build are
 * compiled in as byte arrays (build/generated/ui_assets_data.c, written by web/scripts/embed.mjs,
 * never edited by hand), each with its content type, an ETag and pre-compressed gzip and brotli
 * copies, and served from the gateway's own port: GET / and the UI's page paths answer index.html
 * (the single-page app routes itself), GET /assets/... the hashed bundles. A binary built without
 * Node.js has an empty table; the UI's paths then answer 503 with a page saying how to build it.
 *
 * Threading: the loop thread (the table is immutable static data). */
#ifndef AG_ADMIN_UI_ASSETS_H
#define AG_ADMIN_UI_ASSETS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/str.h"

struct ag_router;

/** One embedded file. Variants whose pointer is NULL are absent (not smaller than raw). */
struct ag_ui_asset {
    const char *path;         /* "/index.html", "/assets/index-3f9a1c.js" */
    const char *content_type; /* "text/javascript; charset=utf-8" */
    const char *etag;         /* quoted strong validator: "\"<16 hex of SHA-256>\"" */
    bool immutable;           /* content-hashed name: cacheable for a year */
    const unsigned char *raw;
    size_t raw_len;
    const unsigned char *gz;
    size_t gz_len;
    const unsigned char *br;
    size_t br_len;
};

/* The generated table (build/generated/ui_assets_data.c). */
extern const struct ag_ui_asset ag_ui_asset_table[];
extern const size_t ag_ui_asset_count;
/* The UI's page paths ("/accounts", ...), from web/src/router.ts; NULL-terminated. */
extern const char *const ag_ui_page_paths[];
/* Why the table is empty ("" when the UI is built in). */
extern const char ag_ui_missing_reason[];

/** The asset at path, or NULL. */
const struct ag_ui_asset *ag_ui_assets_find(struct ag_str path);

/** True when the UI was built into this binary. */
bool ag_ui_assets_present(void);

/**
 * Which variant to send for an Accept-Encoding header value: 'b' (br), 'g' (gzip) or 0 (raw),
 * given which variants exist. Tokens are matched case-insensitively; "q=0" refuses one; "*"
 * accepts any.
 */
char ag_ui_assets_pick_encoding(struct ag_str accept_encoding, bool have_br, bool have_gz);

/**
 * Registers GET "/", the page paths, "/index.html", everything under "/assets/" and the other
 * top-level files as
 * public routes (the UI itself needs no secret; its API calls carry the admin token).
 * Returns 0 or a negative AG_E*.
 */
int ag_ui_assets_add_routes(struct ag_router *router);

#endif
