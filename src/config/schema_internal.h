/* config/schema_internal.h: what schema.c and schema_json.c share. Not for other files: they use
 * schema.h. */
#ifndef AG_CONFIG_SCHEMA_INTERNAL_H
#define AG_CONFIG_SCHEMA_INTERNAL_H

#include <stdbool.h>
#include <yyjson.h>

#include "config/schema.h"

/* The JSON-valued kinds (schema_json.c). */
extern const struct ag_config_json_ops ag_config_webhooks_ops; /* alerts.webhooks */
extern const struct ag_config_json_ops ag_config_clients_ops;  /* oauth.clients */
extern const struct ag_config_json_ops ag_config_strmap_ops;   /* string -> string maps */

/* s as a JSON string in doc, masked (core/log.h ag_log_mask) when mask (schema_json.c). */
yyjson_mut_val *ag_config_masked_str(yyjson_mut_doc *doc, const char *s, bool mask);

/* True when s is an http:// or https:// URL with something after the scheme (schema.c). */
bool ag_config_http_url(const char *s);

#endif
