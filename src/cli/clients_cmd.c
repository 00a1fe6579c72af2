/* cli/clients_cmd.c: `aigate clients setup|restore|status` — write a coding client's own
 * configuration (Claude Code, Codex CLI, Gemini CLI, OpenCode) so that it uses this gateway, undo
 * it, and show which clients point here (clients/clients.h does the work). The base URL is
 * http://127.0.0.1:<server.port> and the key auth.api_key, both from the effective configuration
 * (so --port and --data-dir count), unless --base-url / --key say otherwise. */
#include "cli/cmd.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clients/clients.h"
#include "core/buf.h"
#include "core/err.h"

static const char clients_usage[] =
    "usage: aigate clients setup NAME [--dry-run] [--key KEY] [--model MODEL] [--base-url URL]\n"
    "       aigate clients restore NAME\n"
    "       aigate clients status [--json]\n"
    "NAME: claude-code, codex, gemini-cli or opencode";

struct opts {
    const char *name;
    bool dry_run, json;
    const char *key, *model, *base_url;
};

static int parse(int argc, char **argv, int from, bool want_name, struct opts *o)
{
    memset(o, 0, sizeof(*o));
    for (int i = from; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = NULL;
        if (!strcmp(a, "--dry-run")) {
            o->dry_run = true;
            continue;
        }
        if (!strcmp(a, "--json")) {
            o->json = true;
            continue;
        }
        if (!strcmp(a, "--key"))
            dst = &o->key;
        else if (!strcmp(a, "--model"))
            dst = &o->model;
        else if (!strcmp(a, "--base-url"))
            dst = &o->base_url;
        if (dst) {
            if (i + 1 >= argc)
                return ag_cli_usage_error("%s needs a value\n%s", a, clients_usage);
            *dst = argv[++i];
            continue;
        }
        if (a[0] == '-' || !want_name || o->name)
            return ag_cli_usage_error("unexpected argument \"%s\"\n%s", a, clients_usage);
        o->name = a;
    }
    if (want_name && !o->name)
        return ag_cli_usage_error("which client? %s", clients_usage);
    return 0;
}

static long client_index(const char *name)
{
    long i = ag_clients_find(name);
    if (i < 0)
        ag_cli_usage_error("unknown client \"%s\"\n%s", name, clients_usage);
    return i;
}

/* The target from the configuration and the options; url holds the base URL. */
static struct ag_config *target(struct ag_cli *cli, const struct opts *o, char *url, size_t cap,
                                struct ag_clients_target *t)
{
    struct ag_config *cfg = ag_cli_load(cli);
    if (!cfg)
        return NULL;
    if (o->base_url) {
        size_t n = strlen(o->base_url);
        while (n > 1 && o->base_url[n - 1] == '/')
            n--;
        snprintf(url, cap, "%.*s", (int)n, o->base_url);
    } else {
        snprintf(url, cap, "http://127.0.0.1:%lld", (long long)cfg->server.port);
    }
    t->base_url = url;
    t->key = o->key ? o->key : cfg->auth.api_key;
    t->model = o->model;
    return cfg;
}

static int need_env(struct ag_clients_env *env)
{
    if (ag_clients_env_from_process(env)) {
        fprintf(stderr, "aigate: HOME is not set: cannot find the clients' configuration\n");
        return AG_CLI_EXIT_FAIL;
    }
    return 0;
}

static int setup(struct ag_cli *cli, int argc, char **argv)
{
    struct opts o;
    struct ag_clients_env env;
    struct ag_clients_target t;
    struct ag_clients_plan plan;
    char url[512], err[1024] = "", stamp[32];
    int rc = parse(argc, argv, 2, true, &o);
    if (rc)
        return rc;
    long ci = client_index(o.name);
    if (ci < 0)
        return AG_CLI_EXIT_USAGE;
    if ((rc = need_env(&env)))
        return rc;
    struct ag_config *cfg = target(cli, &o, url, sizeof(url), &t);
    if (!cfg)
        return AG_CLI_EXIT_FAIL;
    if (ag_clients_check_target(&t, err, sizeof(err))) {
        ag_config_unref(cfg);
        return ag_cli_usage_error("%s", err);
    }
    int exit = AG_CLI_EXIT_OK;
    rc = ag_clients_plan(&env, (size_t)ci, &t, &plan, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "aigate: %s\n", err);
        exit = AG_CLI_EXIT_FAIL;
        goto out;
    }
    if (o.dry_run) {
        struct ag_buf d;
        ag_buf_init(&d, 4 * AG_CLIENTS_FILE_CAP);
        ag_clients_plan_diff(&plan, t.key, &d);
        printf("%s", d.data ? d.data : "");
        printf("%s\n", ag_clients_plan_changes(&plan)
                           ? "(dry run: nothing was written)"
                           : "(dry run: already set up, nothing to change)");
        ag_buf_dispose(&d);
        goto out;
    }
    if (!ag_clients_plan_changes(&plan)) {
        ag_clients_apply(&plan, time(NULL), NULL, err, sizeof(err)); /* records the set-up */
        printf("%s already uses %s: nothing changed\n", ag_clients_title((size_t)ci), url);
        goto out;
    }
    if (ag_clients_apply(&plan, time(NULL), stamp, err, sizeof(err))) {
        fprintf(stderr, "aigate: %s\n", err);
        exit = AG_CLI_EXIT_FAIL;
        goto out;
    }
    printf("%s now uses %s\n", ag_clients_title((size_t)ci), url);
    for (size_t i = 0; i < plan.nfiles; i++) {
        const struct ag_clients_file *f = &plan.files[i];
        if (f->changed)
            printf("  wrote %s%s (backup: %s.aigate-%s.%s)\n", f->path,
                   f->secret ? ", mode 0600" : "", f->path, stamp, f->exists ? "bak" : "new");
        else
            printf("  %s: no change\n", f->path);
    }
    printf("undo with: aigate clients restore %s\n", o.name);
out:
    ag_clients_plan_dispose(&plan);
    ag_config_unref(cfg);
    return exit;
}

static int restore(struct ag_cli *cli, int argc, char **argv)
{
    struct opts o;
    struct ag_clients_env env;
    char err[1024] = "";
    int rc = parse(argc, argv, 2, true, &o);
    if (rc)
        return rc;
    if (o.dry_run || o.key || o.model || o.base_url || o.json)
        return ag_cli_usage_error("restore takes only the client's name\n%s", clients_usage);
    long ci = client_index(o.name);
    if (ci < 0)
        return AG_CLI_EXIT_USAGE;
    if ((rc = need_env(&env)))
        return rc;
    struct ag_buf report;
    ag_buf_init(&report, AG_BUF_CAP_SHORT);
    rc = ag_clients_restore(&env, (size_t)ci, &report, err, sizeof(err));
    if (rc)
        fprintf(stderr, "aigate: %s\n", err);
    else
        printf("%s", report.data ? report.data : "");
    ag_buf_dispose(&report);
    return rc ? AG_CLI_EXIT_FAIL : AG_CLI_EXIT_OK;
}

static const char *state_word(const struct ag_clients_state *s)
{
    if (s->error[0])
        return "unreadable";
    if (!s->configured)
        return "not set up";
    if (!s->points_here)
        return "points elsewhere";
    return s->key_matches ? "points here" : "points here, other key";
}

static int status(struct ag_cli *cli, int argc, char **argv)
{
    struct opts o;
    struct ag_clients_env env;
    struct ag_clients_target t;
    char url[512];
    int rc = parse(argc, argv, 2, false, &o);
    if (rc)
        return rc;
    if ((rc = need_env(&env)))
        return rc;
    struct ag_config *cfg = target(cli, &o, url, sizeof(url), &t);
    if (!cfg)
        return AG_CLI_EXIT_FAIL;
    if (o.json) {
        struct ag_buf b;
        ag_buf_init(&b, AG_BUF_CAP_SHORT);
        ag_clients_status_json(&env, &t, &b);
        printf("%s\n", b.data ? b.data : "");
        ag_buf_dispose(&b);
        ag_config_unref(cfg);
        return AG_CLI_EXIT_OK;
    }
    printf("gateway: %s\n", url);
    for (size_t i = 0; i < ag_clients_count(); i++) {
        struct ag_clients_state s;
        ag_clients_status(&env, i, &t, &s);
        printf("%-12s %-22s %s%s%s\n", ag_clients_name(i), state_word(&s),
               s.error[0] ? s.error : s.path, s.configured && !s.points_here ? " -> " : "",
               s.configured && !s.points_here ? s.url : "");
    }
    ag_config_unref(cfg);
    return AG_CLI_EXIT_OK;
}

/** `aigate clients setup|restore|status` (cli/clients_cmd.c). */
int ag_cli_clients_cmd(struct ag_cli *cli, int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "help")) {
        printf("%s\n", clients_usage);
        return argc < 2 ? AG_CLI_EXIT_USAGE : AG_CLI_EXIT_OK;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "setup"))
        return setup(cli, argc, argv);
    if (!strcmp(sub, "restore"))
        return restore(cli, argc, argv);
    if (!strcmp(sub, "status"))
        return status(cli, argc, argv);
    return ag_cli_usage_error("unknown clients command \"%s\"\n%s", sub, clients_usage);
}
