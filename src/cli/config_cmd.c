/* cli/config_cmd.c: `aigate config show|get|set|path` — the configuration from the command line.
 * show and get print the effective configuration (file + environment + options); set changes
 * config.json only, after validating the value with the key table. */
#include "cli/cmd.h"

#include "config/schema.h"
#include "core/buf.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

static int show(struct ag_cli *cli, int argc, char **argv)
{
    if (argc != 2)
        return ag_cli_usage_error("usage: aigate config show");
    struct ag_config *cfg = ag_cli_load(cli);
    if (!cfg)
        return AG_CLI_EXIT_FAIL;
    struct ag_buf out;
    ag_buf_init(&out, AG_BUF_CAP_DOC);
    int rc = ag_config_to_json(cfg, true, true, &out);
    if (rc == 0)
        fwrite(out.data, 1, out.len, stdout);
    ag_buf_dispose(&out);
    ag_config_unref(cfg);
    return rc ? AG_CLI_EXIT_FAIL : AG_CLI_EXIT_OK;
}

static int get(struct ag_cli *cli, int argc, char **argv)
{
    if (argc != 3)
        return ag_cli_usage_error("usage: aigate config get KEY");
    if (!ag_config_key_find(argv[2]))
        return ag_cli_usage_error("unknown configuration key \"%s\"", argv[2]);
    struct ag_config *cfg = ag_cli_load(cli);
    if (!cfg)
        return AG_CLI_EXIT_FAIL;
    struct ag_buf out, err;
    ag_buf_init(&out, AG_BUF_CAP_DOC);
    ag_buf_init(&err, AG_BUF_CAP_SHORT);
    /* The user named this key, so a secret is printed in full (unlike `config show`). */
    int rc = ag_config_get(cfg, argv[2], false, &out, &err);
    if (rc == 0)
        printf("%s\n", out.data ? out.data : "");
    else
        fprintf(stderr, "aigate: %s\n", err.data ? err.data : ag_strerror(rc));
    ag_buf_dispose(&out);
    ag_buf_dispose(&err);
    ag_config_unref(cfg);
    return rc ? AG_CLI_EXIT_FAIL : AG_CLI_EXIT_OK;
}

/* Tells the user when this run's options or environment hide the value just saved. */
static void note_overrides(const struct ag_cli *cli, const struct ag_config_key *key)
{
    const char *env = key->env ? getenv(key->env) : NULL;
    if (env && env[0])
        fprintf(stderr, "aigate: note: environment variable %s overrides %s while it is set\n",
                key->env, key->name);
    for (size_t i = 0; i < cli->n_overrides; i++) {
        if (strcmp(cli->overrides[i].key, key->name) == 0)
            fprintf(stderr, "aigate: note: %s on the command line overrides %s for that run\n",
                    cli->overrides[i].origin, key->name);
    }
}

static int set(struct ag_cli *cli, int argc, char **argv)
{
    if (argc != 4)
        return ag_cli_usage_error("usage: aigate config set KEY VALUE");
    const char *name = argv[2], *value = argv[3];
    struct ag_buf err;
    ag_buf_init(&err, AG_BUF_CAP_SHORT);
    int rc = ag_config_check(name, value, "config set", &err);
    if (rc) {
        fprintf(stderr, "aigate: %s\n", err.data);
        ag_buf_dispose(&err);
        return AG_CLI_EXIT_USAGE;
    }
    struct ag_config_source src;
    ag_cli_source(cli, &src);
    rc = ag_config_set(&src, name, value, &err);
    if (rc) {
        fprintf(stderr, "aigate: %s\n", err.data ? err.data : ag_strerror(rc));
        ag_buf_dispose(&err);
        return AG_CLI_EXIT_FAIL;
    }
    ag_buf_dispose(&err);
    const struct ag_config_key *key = ag_config_key_find(name);
    char shown[2048];
    if (key->flags & AG_CONFIG_SECRET)
        printf("%s saved\n", key->name);
    else
        printf("%s = %s saved\n", key->name, ag_config_key_shown(key, value, shown, sizeof(shown)));
    if (key->flags & AG_CONFIG_RESTART)
        printf("restart aigate for %s to take effect\n", key->name);
    note_overrides(cli, key);
    return AG_CLI_EXIT_OK;
}

static int path(struct ag_cli *cli, int argc, char **argv)
{
    if (argc != 2)
        return ag_cli_usage_error("usage: aigate config path");
    struct ag_config_source src;
    struct ag_buf err;
    char *dir = NULL;
    ag_buf_init(&err, AG_BUF_CAP_SHORT);
    ag_cli_source(cli, &src);
    int rc = ag_config_data_dir(&src, &dir, &err);
    if (rc == 0)
        printf("%s/config.json\n", dir);
    else
        fprintf(stderr, "aigate: %s\n", err.data);
    free(dir);
    ag_buf_dispose(&err);
    return rc ? AG_CLI_EXIT_FAIL : AG_CLI_EXIT_OK;
}

static const struct ag_cli_cmd config_cmds[] = {
    {"show", show, "print the effective configuration (secrets masked)"},
    {"get", get, "print one value"},
    {"set", set, "validate and save one value"},
    {"path", path, "print the path of config.json"},
};

int ag_cli_config_cmd(struct ag_cli *cli, int argc, char **argv)
{
    if (argc < 2)
        return ag_cli_usage_error("config needs a subcommand: show, get, set or path");
    for (size_t i = 0; i < sizeof(config_cmds) / sizeof(config_cmds[0]); i++) {
        if (strcmp(argv[1], config_cmds[i].name) == 0)
            return config_cmds[i].fn(cli, argc, argv);
    }
    return ag_cli_usage_error("unknown config subcommand \"%s\"", argv[1]);
}
