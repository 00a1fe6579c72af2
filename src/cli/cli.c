/* cli/cli.c: the aigate command line. Parses the global options (wherever they appear), picks the
 * subcommand from a table and runs it. `aigate` alone means `aigate serve`. */
#include "cli/cli.h"

#include "cli/cmd.h"
#include "cli/serve.h"
#include "config/schema.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "Usage: aigate [OPTIONS] [COMMAND]\n"
    "\n"
    "A local AI gateway: OpenAI, Anthropic and Gemini clients point their base URL at it\n"
    "(default http://127.0.0.1:8045) and it forwards their requests to a pool of accounts.\n"
    "\n"
    "Commands:\n"
    "%s"
    "\n"
    "Accounts commands:\n"
    "  accounts login [--no-browser] [--timeout S]\n"
    "                           add an account by logging in with Google in a browser: prints\n"
    "                           the URL (opens it when a display is available), waits for the\n"
    "                           redirect on 127.0.0.1, or takes the pasted code / final URL\n"
    "  accounts add --refresh-token TOKEN [--label TEXT] [--proxy URL]\n"
    "                           add (or update) an account from a Google refresh token;\n"
    "                           prints its email, tier and project\n"
    "  accounts add --provider KIND --api-key KEY [--base-url URL] [--models M,...]\n"
    "               [--label TEXT] [--proxy URL]\n"
    "                           add (or update) an API-key account of another provider: KIND\n"
    "                           is gemini, anthropic, openai or openai-compatible (which needs\n"
    "                           --base-url, e.g. http://127.0.0.1:11434/v1; without --models\n"
    "                           its models come from GET <base-url>/models); the key is shown\n"
    "                           masked, and only export writes it out\n"
    "  accounts import FILE     add every account of a JSON file (our export, or Antigravity\n"
    "                           Manager's); a malformed file imports nothing\n"
    "  accounts export [FILE]   write every account as JSON (mode 0600; stdout without FILE)\n"
    "                           -- the output CONTAINS REFRESH TOKENS AND API KEYS: keep it\n"
    "                           private\n"
    "  accounts list [--json]   email, tier, state, project, quota per group, last use, and\n"
    "                           the live cooldowns (and API-key accounts' health) of the\n"
    "                           gateway running on this machine\n"
    "  accounts refresh [ID|EMAIL]\n"
    "                           re-read tokens, tier and quota of one or every enabled account\n"
    "  accounts refresh-models ID|EMAIL\n"
    "                           re-read an openai / openai-compatible account's models from\n"
    "                           GET <base-url>/models (the stored list stays if that fails)\n"
    "  accounts remove ID|EMAIL\n"
    "  accounts enable ID|EMAIL  use the account again (also clears a 403 mark)\n"
    "  accounts disable ID|EMAIL [--reason TEXT]\n"
    "  A running gateway picks up account changes within a second.\n"
    "\n"
    "User keys commands (keys for people and apps, with limits; a running gateway picks\n"
    "changes up within a second):\n"
    "  keys create NAME [--models PATTERN,...] [--expires DATE|DURATION] [--rpm N] [--tpm N]\n"
    "       [--daily-tokens N] [--monthly-tokens N] [--max-concurrency N] [--ips CIDR,...]\n"
    "       [--note TEXT]\n"
    "                           create a key and print it once (sk- + 32 hex); only its\n"
    "                           SHA-256 is stored. Patterns are globs (gemini-*); DATE is\n"
    "                           2026-12-31 or 2026-12-31T18:00:00Z, DURATION 30d, 12h, 90m;\n"
    "                           0 = no limit; budgets count input + output tokens per UTC\n"
    "                           day / month\n"
    "  keys list [--json]       limits, usage today and this month, last use, expiry, state\n"
    "  keys update NAME [the options of create]\n"
    "  keys disable|enable|revoke NAME\n"
    "                           a disabled, revoked or expired key is refused with 401\n"
    "  keys rotate NAME         give the key a new secret (printed once); the old one stops\n"
    "                           working; limits and usage stay\n"
    "\n"
    "Warm-up command:\n"
    "  warmup [--account ID|EMAIL] [--json] [--timeout S]\n"
    "                           ask the running gateway to warm up now: one tiny request per\n"
    "                           account and quota group (warmup.groups) whose quota is full,\n"
    "                           so its quota window starts now; prints what was sent and what\n"
    "                           was skipped (cooling, quota already in use, ...). The schedule\n"
    "                           is warmup.enabled + warmup.times (local \"HH:MM\")\n"
    "\n"
    "Clients commands (write a coding client's own configuration to use this gateway):\n"
    "  clients setup NAME [--dry-run] [--key KEY] [--model MODEL] [--base-url URL]\n"
    "                           NAME is claude-code, codex, gemini-cli or opencode; sets only\n"
    "                           the client's base URL, key (auth.api_key unless --key) and,\n"
    "                           with --model, its model; keeps every other setting and a\n"
    "                           timestamped backup; files holding the key get mode 0600;\n"
    "                           --dry-run prints the change instead; a second run changes\n"
    "                           nothing; a file it cannot parse, or JSON with comments, is\n"
    "                           left untouched\n"
    "  clients restore NAME     put back the files of the newest backup of NAME\n"
    "  clients status [--json]  which clients point at this gateway\n"
    "  (base URL: http://127.0.0.1:<server.port>; the files are found from HOME,\n"
    "  CLAUDE_CONFIG_DIR, CODEX_HOME, GEMINI_CLI_HOME and XDG_CONFIG_HOME)\n"
    "\n"
    "Store command:\n"
    "  store migrate --to postgres URL [--force] [--batch N]\n"
    "                           copy the SQLite database of the data directory (--data-dir)\n"
    "                           into PostgreSQL (URL: postgresql://user:password@host:port/db):\n"
    "                           accounts, keys, request log, statistics, every table, N rows\n"
    "                           at a time (500) in one transaction; refused when the target\n"
    "                           holds data unless --force (which replaces it); prints the\n"
    "                           rows per table and checks the counts before committing\n"
    "\n"
    "Config commands:\n"
    "  config show              print the effective configuration as JSON (secrets masked)\n"
    "  config get KEY           print one value (secrets in full)\n"
    "  config set KEY VALUE     validate VALUE and save it to config.json\n"
    "  config path              print the path of config.json\n"
    "\n"
    "Options (anywhere on the line; -- ends them):\n"
    "  --data-dir DIR           data directory (overrides AIGATE_DATA_DIR)\n"
    "  --port N                 listen port, same as --set server.port=N\n"
    "  --allow-lan              listen on all interfaces, same as --set "
    "server.allow_lan_access=true\n"
    "  --auth-mode MODE         off | strict | all_except_health | auto (--set auth.mode=MODE)\n"
    "  --set KEY=VALUE          override any configuration key for this run (repeatable)\n"
    "  -h, --help               print this help and exit\n"
    "  -V, --version            print the version and exit\n"
    "\n"
    "Configuration: <data dir>/config.json (mode 0600), created with every default and a new\n"
    "API key (auth.api_key, sk- + 32 hex digits) on first start. Precedence, highest first:\n"
    "command-line option > environment variable > config.json > default. Options and\n"
    "environment variables apply to this run only and are never written to config.json;\n"
    "use `aigate config set` to change the file. `aigate config show` lists every key.\n"
    "\n"
    "Data directory: --data-dir DIR, else $AIGATE_DATA_DIR, else $XDG_DATA_HOME/aigate,\n"
    "else ~/.local/share/aigate; created with mode 0700.\n"
    "\n"
    "Environment:\n"
    "  AIGATE_DATA_DIR             data directory\n"
    "%s"
    "  AIGATE_OAUTH_CLIENT_ID      with AIGATE_OAUTH_CLIENT_SECRET: an OAuth client named "
    "\"env\",\n"
    "  AIGATE_OAUTH_CLIENT_SECRET  tried before those in oauth.clients\n"
    "  (empty variables count as unset; booleans take 1/0, true/false, yes/no, on/off;\n"
    "  lists take comma-separated items)\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 wrong command line.\n";

static int serve_cmd(struct ag_cli *cli, int argc, char **argv);
static int version_cmd(struct ag_cli *cli, int argc, char **argv);
static int help_cmd(struct ag_cli *cli, int argc, char **argv);

/* `aigate accounts ...` (cli/accounts_cmd.c). */
int ag_cli_accounts_cmd(struct ag_cli *cli, int argc, char **argv);

/* `aigate keys ...` (cli/keys_cmd.c). */
int ag_cli_keys_cmd(struct ag_cli *cli, int argc, char **argv);

/* `aigate clients ...` (cli/clients_cmd.c). */
int ag_cli_clients_cmd(struct ag_cli *cli, int argc, char **argv);

/* `aigate warmup ...` (cli/warmup_cmd.c). */
int ag_cli_warmup_cmd(struct ag_cli *cli, int argc, char **argv);

/* `aigate store migrate ...` (cli/store_cmd.c). */
int ag_cli_store_cmd(struct ag_cli *cli, int argc, char **argv);

/* Subcommands. Add a group (e.g. accounts, in cli/accounts_cmd.c) with one row here. */
static const struct ag_cli_cmd commands[] = {
    {"serve", serve_cmd, "run the gateway until SIGINT/SIGTERM (the default)"},
    {"accounts", ag_cli_accounts_cmd,
     "login, add, import, export, list, refresh, refresh-models, remove, enable, disable accounts"},
    {"keys", ag_cli_keys_cmd,
     "create, list, update, disable, enable, revoke, rotate user keys (below)"},
    {"config", ag_cli_config_cmd, "show, get, set configuration values (below)"},
    {"clients", ag_cli_clients_cmd,
     "set up, restore, show Claude Code, Codex, Gemini CLI, OpenCode (below)"},
    {"warmup", ag_cli_warmup_cmd,
     "warm up now: one tiny request per account and quota group (below)"},
    {"store", ag_cli_store_cmd, "copy the SQLite data into PostgreSQL: store migrate (below)"},
    {"version", version_cmd, "print the version"},
    {"help", help_cmd, "print this help"},
};

void ag_cli_usage(FILE *f)
{
    struct ag_buf cmds, envs;
    ag_buf_init(&cmds, AG_BUF_CAP_SHORT);
    ag_buf_init(&envs, AG_BUF_CAP_SHORT);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        ag_buf_printf(&cmds, "  %-24s %s\n", commands[i].name, commands[i].summary);
    size_t n;
    const struct ag_config_key *keys = ag_config_keys(&n);
    for (size_t i = 0; i < n; i++) {
        if (keys[i].env)
            ag_buf_printf(&envs, "  %-27s %s\n", keys[i].env, keys[i].name);
    }
    fprintf(f, usage_text, cmds.data, envs.data);
    ag_buf_dispose(&cmds);
    ag_buf_dispose(&envs);
}

int ag_cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("aigate: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n\n", stderr);
    va_end(ap);
    ag_cli_usage(stderr);
    return AG_CLI_EXIT_USAGE;
}

void ag_cli_source(const struct ag_cli *cli, struct ag_config_source *src)
{
    memset(src, 0, sizeof(*src));
    src->data_dir = cli->data_dir;
    src->getenv = ag_config_getenv_process;
    src->overrides = cli->overrides;
    src->n_overrides = cli->n_overrides;
}

struct ag_config *ag_cli_load(const struct ag_cli *cli)
{
    struct ag_config_source src;
    struct ag_config *cfg = NULL;
    struct ag_buf err;
    ag_buf_init(&err, AG_BUF_CAP_SHORT);
    ag_cli_source(cli, &src);
    if (ag_config_load(&src, &cfg, &err) != 0)
        fprintf(stderr, "aigate: %s\n", err.data ? err.data : "cannot load the configuration");
    ag_buf_dispose(&err);
    return cfg;
}

static int serve_cmd(struct ag_cli *cli, int argc, char **argv)
{
    if (argc > 1)
        return ag_cli_usage_error("serve takes no arguments (got \"%s\")", argv[1]);
    struct ag_config *cfg = ag_cli_load(cli);
    if (!cfg)
        return AG_CLI_EXIT_FAIL;
    ag_log_set_level(cfg->log.level);
    int rc = ag_cli_serve(cfg);
    ag_config_unref(cfg);
    return rc;
}

static int version_cmd(struct ag_cli *cli, int argc, char **argv)
{
    printf("aigate %s\n", AIGATE_VERSION);
    return AG_CLI_EXIT_OK;
}

static int help_cmd(struct ag_cli *cli, int argc, char **argv)
{
    ag_cli_usage(stdout);
    return AG_CLI_EXIT_OK;
}

/* Adds a key=value override; key and value are copied. */
static void add_override(struct ag_cli *cli, const char *key, size_t klen, const char *value,
                         const char *origin)
{
    cli->overrides = ag_realloc(cli->overrides, (cli->n_overrides + 1) * sizeof(*cli->overrides));
    cli->overrides[cli->n_overrides++] = (struct ag_config_override){
        .key = ag_str_dup(ag_str_make(key, klen)),
        .value = ag_strdup(value),
        .origin = origin,
    };
}

/* The value of option name at argv[*i]: "--name=value" or "--name value". NULL when missing. */
static const char *option_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0' || *i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

static bool is_option(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

/* The global options (--data-dir, --port, --set, ...) into cli, the rest (the subcommand, its
 * words and options) into pos. 0, or AG_CLI_EXIT_USAGE after saying what is wrong. */
static int parse_globals(struct ag_cli *cli, int argc, char **argv, char **pos, int *npos,
                         bool *help, bool *version)
{
    bool dashdash = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        /* A word and an option after the subcommand (the last branch) both go to the subcommand,
         * but only once no global option matched the latter: the two branches cannot merge. */
        if (dashdash || a[0] != '-' || a[1] == '\0') { // NOLINT(bugprone-branch-clone)
            pos[(*npos)++] = argv[i];
        } else if (strcmp(a, "--") == 0) {
            dashdash = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            *help = true;
        } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            *version = true;
        } else if (strcmp(a, "--allow-lan") == 0) {
            add_override(cli, "server.allow_lan_access", strlen("server.allow_lan_access"), "true",
                         "--allow-lan");
        } else if (is_option(a, "--data-dir")) {
            if (!(v = option_value(argc, argv, &i, "--data-dir")) || !v[0]) {
                return ag_cli_usage_error("--data-dir needs a directory");
            }
            cli->data_dir = v;
        } else if (is_option(a, "--port")) {
            if (!(v = option_value(argc, argv, &i, "--port"))) {
                return ag_cli_usage_error("--port needs a number");
            }
            add_override(cli, "server.port", strlen("server.port"), v, "--port");
        } else if (is_option(a, "--auth-mode")) {
            if (!(v = option_value(argc, argv, &i, "--auth-mode"))) {
                return ag_cli_usage_error("--auth-mode needs a mode");
            }
            add_override(cli, "auth.mode", strlen("auth.mode"), v, "--auth-mode");
        } else if (is_option(a, "--set")) {
            const char *eq;
            if (!(v = option_value(argc, argv, &i, "--set")) || !(eq = strchr(v, '=')) || eq == v) {
                return ag_cli_usage_error("--set needs KEY=VALUE");
            }
            add_override(cli, v, (size_t)(eq - v), eq + 1, "--set");
        } else if (*npos == 0) {
            return ag_cli_usage_error("unknown option \"%s\"", a);
        } else {
            pos[(*npos)++] = argv[i]; /* the subcommand judges its own options */
        }
    }
    return AG_CLI_EXIT_OK;
}

int ag_cli_main(int argc, char **argv)
{
    struct ag_cli cli = {0};
    char **pos = ag_calloc((size_t)argc + 1, sizeof(char *));
    int npos = 0, rc = AG_CLI_EXIT_OK;
    bool help = false, version = false;

    /* Early, so warnings while loading the configuration already follow it. */
    enum ag_log_level lvl;
    if (ag_log_level_parse(getenv("AIGATE_LOG_LEVEL"), &lvl) == 0)
        ag_log_set_level(lvl);

    if ((rc = parse_globals(&cli, argc, argv, pos, &npos, &help, &version)))
        goto out;
    if (help) {
        ag_cli_usage(stdout);
        goto out;
    }
    if (version) {
        rc = version_cmd(&cli, 0, NULL);
        goto out;
    }
    /* Bad flag values are usage errors, reported before anything touches the disk. */
    for (size_t i = 0; i < cli.n_overrides; i++) {
        struct ag_buf err;
        ag_buf_init(&err, AG_BUF_CAP_SHORT);
        const struct ag_config_override *o = &cli.overrides[i];
        if (ag_config_check(o->key, o->value, o->origin, &err) != 0)
            rc = ag_cli_usage_error("%s", err.data);
        ag_buf_dispose(&err);
        if (rc)
            goto out;
    }
    const char *name = npos ? pos[0] : "serve";
    if (npos == 0)
        pos[npos++] = (char *)"serve";
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(commands[i].name, name) == 0) {
            rc = commands[i].fn(&cli, npos, pos);
            goto out;
        }
    }
    rc = ag_cli_usage_error("unknown command \"%s\"", name);
out:
    for (size_t i = 0; i < cli.n_overrides; i++) {
        free((char *)cli.overrides[i].key);
        free((char *)cli.overrides[i].value);
    }
    free(cli.overrides);
    free(pos);
    fflush(stdout);
    return rc;
}
