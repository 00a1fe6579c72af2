/* cli/keys_cmd.c: `aigate keys create|list|update|disable|enable|revoke|rotate` — user keys for
 * people and apps, on the same data dir a running gateway uses (it picks changes up within a
 * second through the store's user_keys_version counter). A key's secret is printed once, by create
 * and rotate; only its SHA-256 is stored. */
#include "cli/cmd.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yyjson.h>

#include "core/err.h"
#include "core/str.h"
#include "keys/edit.h"
#include "keys/keys.h"
#include "store/store.h"
#include "store/user_keys.h"

static const char keys_usage[] =
    "usage: aigate keys create NAME [--models PATTERN,...] [--expires DATE|DURATION] [--rpm N]\n"
    "                   [--tpm N] [--daily-tokens N] [--monthly-tokens N] [--max-concurrency N]\n"
    "                   [--ips CIDR,...] [--note TEXT]\n"
    "       aigate keys list [--json]\n"
    "       aigate keys update NAME [the options of create]\n"
    "       aigate keys disable|enable|revoke NAME\n"
    "       aigate keys rotate NAME";

static int open_store(struct ag_cli *cli, struct ag_config **cfg, struct ag_store **s)
{
    char err[512] = "";
    if (!(*cfg = ag_cli_load(cli)))
        return AG_CLI_EXIT_FAIL;
    if (ag_store_open_with((*cfg)->data_dir, (*cfg)->store.postgres_url, s, err, sizeof(err)) !=
        0) {
        fprintf(stderr, "aigate: %s\n", err[0] ? err : "cannot open the store");
        ag_config_unref(*cfg);
        return AG_CLI_EXIT_FAIL;
    }
    return 0;
}

/* Applies "--field VALUE" pairs from argv[from..argc-1] to k. */
static int apply_opts(struct ag_user_key *k, int argc, char **argv, int from, int64_t now)
{
    char err[256];
    for (int i = from; i < argc; i += 2) {
        if (strncmp(argv[i], "--", 2) != 0 || !argv[i][2])
            return ag_cli_usage_error("unexpected argument \"%s\"\n%s", argv[i], keys_usage);
        if (i + 1 >= argc)
            return ag_cli_usage_error("%s needs a value\n%s", argv[i], keys_usage);
        int rc = ag_keys_field_set(k, argv[i] + 2, argv[i + 1], now, err, sizeof(err));
        if (rc == AG_ENOTFOUND)
            return ag_cli_usage_error("unknown option %s\n%s", argv[i], keys_usage);
        if (rc)
            return ag_cli_usage_error("%s", err);
    }
    return 0;
}

static void print_secret(const char *name, const char *secret, bool rotated)
{
    printf("%s key \"%s\":\n\n  %s\n\nThis is the only time the key is shown; aigate keeps only "
           "its SHA-256. Clients send it like the main API key (Authorization: Bearer, x-api-key "
           "or x-goog-api-key).\n",
           rotated ? "New secret of" : "Created", name, secret);
}

static int create(struct ag_cli *cli, int argc, char **argv)
{
    struct ag_config *cfg;
    struct ag_store *s;
    struct ag_user_key k = {0};
    char secret[40], err[256];
    int64_t now = (int64_t)time(NULL);
    if (argc < 3 || argv[2][0] == '-')
        return ag_cli_usage_error("%s", keys_usage);
    if (!ag_user_key_name_valid(argv[2]))
        return ag_cli_usage_error("a key name is 1 to %d characters of A-Z a-z 0-9 . _ -",
                                  AG_USER_KEY_NAME_MAX);
    snprintf(k.name, sizeof(k.name), "%s", argv[2]);
    int rc = apply_opts(&k, argc, argv, 3, now);
    if (rc)
        return rc;
    if ((rc = open_store(cli, &cfg, &s)) != 0)
        return rc;
    rc = ag_keys_create(s, &k, now, secret, sizeof(secret), err, sizeof(err));
    if (rc)
        fprintf(stderr, "aigate: %s\n", err);
    else
        print_secret(k.name, secret, false);
    ag_store_free(s);
    ag_config_unref(cfg);
    return rc ? AG_CLI_EXIT_FAIL : AG_CLI_EXIT_OK;
}

static int update(struct ag_cli *cli, int argc, char **argv)
{
    struct ag_config *cfg;
    struct ag_store *s;
    struct ag_user_key k;
    int64_t now = (int64_t)time(NULL);
    if (argc < 4 || argv[2][0] == '-')
        return ag_cli_usage_error("%s", keys_usage);
    int rc = open_store(cli, &cfg, &s);
    if (rc)
        return rc;
    rc = ag_store_user_key_get(s, argv[2], &k);
    if (rc == AG_ENOTFOUND) {
        fprintf(stderr, "aigate: no key named \"%s\"\n", argv[2]);
        rc = AG_CLI_EXIT_FAIL;
    } else if (rc) {
        fprintf(stderr, "aigate: cannot read the keys: %s\n", ag_strerror(rc));
        rc = AG_CLI_EXIT_FAIL;
    } else if ((rc = apply_opts(&k, argc, argv, 3, now)) == 0) {
        rc = ag_store_user_key_update(s, &k, now);
        if (rc)
            fprintf(stderr, "aigate: cannot write the key: %s\n", ag_strerror(rc));
        else
            printf("Updated key \"%s\".\n", k.name);
        rc = rc ? AG_CLI_EXIT_FAIL : AG_CLI_EXIT_OK;
    }
    ag_store_free(s);
    ag_config_unref(cfg);
    return rc;
}

static int state(struct ag_cli *cli, int argc, char **argv)
{
    struct ag_config *cfg;
    struct ag_store *s;
    char err[256];
    if (argc != 3)
        return ag_cli_usage_error("usage: aigate keys %s NAME", argv[1]);
    int rc = open_store(cli, &cfg, &s);
    if (rc)
        return rc;
    rc = ag_keys_set_state(s, argv[2], argv[1], (int64_t)time(NULL), err, sizeof(err));
    if (rc)
        fprintf(stderr, "aigate: %s\n", err);
    else
        printf("Key \"%s\" %s.\n", argv[2],
               strcmp(argv[1], "enable") == 0    ? "enabled"
               : strcmp(argv[1], "disable") == 0 ? "disabled"
                                                 : "revoked");
    ag_store_free(s);
    ag_config_unref(cfg);
    return rc ? AG_CLI_EXIT_FAIL : AG_CLI_EXIT_OK;
}

static int rotate(struct ag_cli *cli, int argc, char **argv)
{
    struct ag_config *cfg;
    struct ag_store *s;
    char secret[40], err[256];
    if (argc != 3)
        return ag_cli_usage_error("usage: aigate keys rotate NAME");
    int rc = open_store(cli, &cfg, &s);
    if (rc)
        return rc;
    rc = ag_keys_rotate(s, argv[2], (int64_t)time(NULL), secret, sizeof(secret), err, sizeof(err));
    if (rc)
        fprintf(stderr, "aigate: %s\n", err);
    else
        print_secret(argv[2], secret, true);
    ag_store_free(s);
    ag_config_unref(cfg);
    return rc ? AG_CLI_EXIT_FAIL : AG_CLI_EXIT_OK;
}

static void fmt_time(int64_t unix_s, const char *none, char *out, size_t cap)
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    if (unix_s <= 0 || !gmtime_r(&t, &tm) || !strftime(out, cap, "%Y-%m-%d %H:%M UTC", &tm))
        snprintf(out, cap, "%s", unix_s <= 0 ? none : "?");
}

static void fmt_limit(char *out, size_t cap, int64_t v)
{
    if (v > 0)
        snprintf(out, cap, "%lld", (long long)v);
    else
        snprintf(out, cap, "-");
}

static void print_key(struct ag_store *s, const struct ag_user_key *k, int64_t now)
{
    char used[40], exp[40], rpm[24], tpm[24], day[24], month[24], conc[24];
    struct ag_user_key_usage ud = {0}, um = {0};
    ag_store_key_usage_since(s, k->name, ag_keys_day_start(now), &ud);
    ag_store_key_usage_since(s, k->name, ag_keys_month_start(now), &um);
    fmt_time(k->last_used_at, "never", used, sizeof(used));
    fmt_time(k->expires_at, "never", exp, sizeof(exp));
    fmt_limit(rpm, sizeof(rpm), k->rpm);
    fmt_limit(tpm, sizeof(tpm), k->tpm);
    fmt_limit(day, sizeof(day), k->daily_tokens);
    fmt_limit(month, sizeof(month), k->monthly_tokens);
    fmt_limit(conc, sizeof(conc), k->max_concurrency);
    bool expired = k->expires_at > 0 && now >= k->expires_at;
    printf("%s  %s%s\n", k->name, ag_user_key_state_name(k->state),
           expired && k->state == AG_USER_KEY_ACTIVE ? " (expired)" : "");
    printf("  models: %s | ips: %s | expires: %s\n", k->models[0] ? k->models : "any",
           k->cidrs[0] ? k->cidrs : "any", exp);
    printf("  limits: rpm %s, tpm %s, daily tokens %s, monthly tokens %s, concurrency %s\n", rpm,
           tpm, day, month, conc);
    printf("  usage: today %lld requests, %lld tokens | this month %lld requests, %lld tokens | "
           "last used: %s\n",
           (long long)ud.requests, (long long)ud.tokens, (long long)um.requests,
           (long long)um.tokens, used);
    if (k->note[0])
        printf("  note: %s\n", k->note);
}

static int list(struct ag_cli *cli, int argc, char **argv)
{
    struct ag_config *cfg;
    struct ag_store *s;
    struct ag_user_key *keys = NULL;
    size_t n = 0;
    bool json = argc == 3 && strcmp(argv[2], "--json") == 0;
    int64_t now = (int64_t)time(NULL);
    if (argc > 3 || (argc == 3 && !json))
        return ag_cli_usage_error("usage: aigate keys list [--json]");
    int rc = open_store(cli, &cfg, &s);
    if (rc)
        return rc;
    rc = ag_store_user_key_list(s, &keys, &n);
    if (rc) {
        fprintf(stderr, "aigate: cannot read the keys: %s\n", ag_strerror(rc));
    } else if (json) {
        yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
        yyjson_mut_val *arr = yyjson_mut_arr(d);
        yyjson_mut_doc_set_root(d, arr);
        for (size_t i = 0; i < n; i++)
            yyjson_mut_arr_append(arr, ag_keys_to_json(d, s, &keys[i], now));
        char *text = yyjson_mut_write(d, YYJSON_WRITE_PRETTY_TWO_SPACES, NULL);
        if (text)
            printf("%s\n", text);
        free(text);
        yyjson_mut_doc_free(d);
    } else if (n == 0) {
        printf("no user keys (create one with `aigate keys create NAME`)\n");
    } else {
        for (size_t i = 0; i < n; i++)
            print_key(s, &keys[i], now);
        printf("\nUsage counts input + output tokens per UTC day and month.\n");
    }
    free(keys);
    ag_store_free(s);
    ag_config_unref(cfg);
    return rc ? AG_CLI_EXIT_FAIL : AG_CLI_EXIT_OK;
}

int ag_cli_keys_cmd(struct ag_cli *cli, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        printf("%s\n", keys_usage);
        return argc < 2 ? AG_CLI_EXIT_USAGE : AG_CLI_EXIT_OK;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "create") == 0)
        return create(cli, argc, argv);
    if (strcmp(sub, "list") == 0)
        return list(cli, argc, argv);
    if (strcmp(sub, "update") == 0)
        return update(cli, argc, argv);
    if (strcmp(sub, "disable") == 0 || strcmp(sub, "enable") == 0 || strcmp(sub, "revoke") == 0)
        return state(cli, argc, argv);
    if (strcmp(sub, "rotate") == 0)
        return rotate(cli, argc, argv);
    return ag_cli_usage_error("unknown keys command \"%s\"\n%s", sub, keys_usage);
}
