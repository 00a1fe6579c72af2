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

/** The live entry of account id in a document from ag_cli_live_accounts, or NULL. */
yyjson_val *ag_cli_live_account(yyjson_doc *live, const char *id);

#endif
