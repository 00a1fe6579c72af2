/* cli/live.h: asking the gateway that runs on this machine for its live state (what only its
 * memory knows: cooldowns, requests in flight), for commands like `aigate accounts list`. */
#ifndef AG_CLI_LIVE_H
#define AG_CLI_LIVE_H

#include <yyjson.h>

struct ag_config;

/**
 * GET http://127.0.0.1:<server.port>/api/accounts with the admin secret of cfg (admin password,
 * else API key), waiting at most one second. Returns the parsed answer (the caller frees it with
 * yyjson_doc_free), or NULL when no gateway answered or it refused.
 */
yyjson_doc *ag_cli_live_accounts(const struct ag_config *cfg);

/**
 * One call to the local gateway's admin API: method on path (e.g. "/api/warmup") with the JSON
 * body (NULL = none) and the admin secret of cfg, waiting at most timeout_ms. Returns the parsed
 * JSON answer (the caller frees it), or NULL when no gateway answered, there is no admin secret,
 * or the answer is not JSON; *status (may be NULL) gets the HTTP status (0 = no answer).
 */
yyjson_doc *ag_cli_live_call(const struct ag_config *cfg, const char *method, const char *path,
                             const char *body, long timeout_ms, long *status);

/** The live entry of account id in a document from ag_cli_live_accounts, or NULL. */
yyjson_val *ag_cli_live_account(yyjson_doc *live, const char *id);

#endif
