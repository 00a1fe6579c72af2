/* cli/cmd.h: what the subcommands of the aigate command share: the parsed global options, the
 * subcommand signature and table row, and loading the configuration the way every subcommand
 * does. A subcommand group (config, accounts, ...) is one file cli/<group>_cmd.c exporting one
 * ag_cli_cmd_fn, plus a row in the table in cli.c. */
#ifndef AG_CLI_CMD_H
#define AG_CLI_CMD_H

#include <stdio.h>

#include "config/config.h"

/** Process exit codes. */
#define AG_CLI_EXIT_OK    0
#define AG_CLI_EXIT_FAIL  1 /* the command ran and failed (bad config file, I/O, ...) */
#define AG_CLI_EXIT_USAGE 2 /* the command line was wrong (unknown command, flag, key or value) */

/** Global options, parsed once by ag_cli_main() and borrowed by subcommands. */
struct ag_cli {
    const char *data_dir;                 /* --data-dir, or NULL */
    struct ag_config_override *overrides; /* --port, --allow-lan, --auth-mode, --set, in order */
    size_t n_overrides;
};

/**
 * A subcommand. argv[0] is the subcommand's name, argv[1..argc-1] its own arguments (global
 * options already removed). Returns the process exit code.
 */
typedef int (*ag_cli_cmd_fn)(struct ag_cli *cli, int argc, char **argv);

/** One row of a subcommand table. */
struct ag_cli_cmd {
    const char *name;
    ag_cli_cmd_fn fn;
    const char *summary; /* one line for --help */
};

/** Fills src for cli: its data dir and overrides, and the process environment. */
void ag_cli_source(const struct ag_cli *cli, struct ag_config_source *src);

/**
 * Loads the effective configuration for cli (ag_config_load with the process environment). On
 * failure prints the message to stderr and returns NULL; otherwise the caller owns one reference.
 */
struct ag_config *ag_cli_load(const struct ag_cli *cli);

/** Prints the full usage text to f. */
void ag_cli_usage(FILE *f);

/** Prints "aigate: <message>" and a hint to run --help on stderr; returns AG_CLI_EXIT_USAGE. */
int ag_cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** `aigate accounts login [--no-browser] [--timeout S]` (cli/accounts_login.c). */
int ag_cli_accounts_login(struct ag_cli *cli, int argc, char **argv);

/**
 * `aigate accounts add --provider KIND --api-key KEY [--base-url URL] [--models M,...]
 * [--label TEXT] [--proxy URL]` (cli/accounts_provider.c).
 */
int ag_cli_accounts_add_provider(struct ag_cli *cli, int argc, char **argv);

/**
 * `aigate accounts refresh-models ID|EMAIL` (cli/accounts_provider.c): reads the endpoint's model
 * list of an openai / openai-compatible account again and stores it.
 */
int ag_cli_accounts_refresh_models(struct ag_cli *cli, int argc, char **argv);

struct ag_store;

/**
 * Checks and stores one API-key account (cli/accounts_provider.c): kind_name and key required;
 * base_url, models, label, proxy and name (the account's name; NULL = made from the kind, label or
 * host and key) may be NULL (pool/provider_accounts.h does the work). Without models, an openai /
 * openai-compatible account's models come from GET <base>/models. Writes one line for the user to
 * msg (cap bytes): what was stored, or why not. Returns 0, AG_EINVAL (bad argument), AG_EUPSTREAM /
 * AG_EPARSE (model list) or a store error. Every argument is borrowed.
 */
int ag_cli_provider_put(struct ag_store *store, const char *kind_name, const char *key,
                        const char *base_url, const char *models, const char *label,
                        const char *proxy, const char *name, char *msg, size_t cap);

/** `aigate config show|get|set|path` (cli/config_cmd.c). */
int ag_cli_config_cmd(struct ag_cli *cli, int argc, char **argv);

#endif
