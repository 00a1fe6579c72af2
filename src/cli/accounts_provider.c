/* cli/accounts_provider.c: `aigate accounts add --provider KIND --api-key KEY [--base-url URL]
 * [--models M,...] [--label TEXT] [--proxy URL]` and `aigate accounts refresh-models ACCOUNT` —
 * API-key accounts of other providers (kinds in store/provider.h), and storing the provider
 * entries of an import file. The checks, the account's name and the endpoint's model list
 * (GET <base>/models when --models is not given) are pool/provider_accounts.h's. The key is never
 * printed (export aside). */
#include "cli/cmd.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/str.h"
#include "pool/provider_accounts.h"
#include "store/accounts.h"
#include "store/provider.h"
#include "store/store.h"

int ag_cli_provider_put(struct ag_store *store, const char *kind_name, const char *key,
                        const char *base_url, const char *models, const char *label,
                        const char *proxy, const char *name, char *msg, size_t cap)
{
    struct ag_provider_put in = {.kind = kind_name,
                                 .api_key = key,
                                 .base_url = base_url,
                                 .models = models,
                                 .label = label,
                                 .proxy = proxy,
                                 .name = name};
    return ag_provider_account_put(store, &in, NULL, msg, cap);
}

int ag_cli_accounts_add_provider(struct ag_cli *cli, int argc, char **argv)
{
    const char *kind = NULL, *key = NULL, *base = NULL, *models = NULL, *label = NULL,
               *proxy = NULL;
    struct ag_config *cfg;
    struct ag_store *store = NULL;
    char err[512] = "", msg[600] = "";
    int rc;

    for (int i = 2; i < argc; i++) {
        const char **dst = strcmp(argv[i], "--provider") == 0   ? &kind
                           : strcmp(argv[i], "--api-key") == 0  ? &key
                           : strcmp(argv[i], "--base-url") == 0 ? &base
                           : strcmp(argv[i], "--models") == 0   ? &models
                           : strcmp(argv[i], "--label") == 0    ? &label
                           : strcmp(argv[i], "--proxy") == 0    ? &proxy
                                                                : NULL;
        if (!dst || i + 1 >= argc)
            return ag_cli_usage_error(
                "usage: aigate accounts add --provider KIND --api-key KEY [--base-url URL] "
                "[--models M,...] [--label TEXT] [--proxy URL]");
        *dst = argv[++i];
    }
    if (!key || !*key)
        return ag_cli_usage_error("accounts add --provider needs --api-key KEY");
    if (!(cfg = ag_cli_load(cli)))
        return AG_CLI_EXIT_FAIL;
    if (ag_store_open_with(cfg->data_dir, cfg->store.postgres_url, &store, err, sizeof(err)) != 0) {
        fprintf(stderr, "aigate: %s\n", err[0] ? err : "cannot open the account store");
        ag_config_unref(cfg);
        return AG_CLI_EXIT_FAIL;
    }
    rc = ag_cli_provider_put(store, kind, key, base, models, label, proxy, NULL, msg, sizeof(msg));
    if (rc)
        fprintf(stderr, "aigate: cannot add the account: %s\n", msg);
    else
        printf("%s\n", msg);
    ag_store_free(store);
    ag_config_unref(cfg);
    return rc == AG_EINVAL ? AG_CLI_EXIT_USAGE : rc ? AG_CLI_EXIT_FAIL : AG_CLI_EXIT_OK;
}

int ag_cli_accounts_refresh_models(struct ag_cli *cli, int argc, char **argv)
{
    struct ag_config *cfg;
    struct ag_store *store = NULL;
    struct ag_account a = {0};
    char err[512] = "", msg[700] = "";
    int rc;

    if (argc != 3)
        return ag_cli_usage_error("usage: aigate accounts refresh-models ID|EMAIL");
    if (!(cfg = ag_cli_load(cli)))
        return AG_CLI_EXIT_FAIL;
    if (ag_store_open_with(cfg->data_dir, cfg->store.postgres_url, &store, err, sizeof(err)) != 0) {
        fprintf(stderr, "aigate: %s\n", err[0] ? err : "cannot open the account store");
        ag_config_unref(cfg);
        return AG_CLI_EXIT_FAIL;
    }
    rc = ag_store_account_get(store, argv[2], &a);
    if (rc == AG_ENOTFOUND)
        rc = ag_store_account_get_by_email(store, argv[2], &a);
    if (rc == AG_ENOTFOUND)
        snprintf(msg, sizeof(msg), "no account with id or email \"%.200s\"", argv[2]);
    else if (rc)
        snprintf(msg, sizeof(msg), "cannot read the accounts: %s", ag_strerror(rc));
    else
        rc = ag_provider_account_refresh_models(store, a.id, msg, sizeof(msg));
    if (rc)
        fprintf(stderr, "aigate: %s\n", msg);
    else
        printf("%s\n", msg);
    ag_account_dispose(&a);
    ag_store_free(store);
    ag_config_unref(cfg);
    return rc == AG_EINVAL ? AG_CLI_EXIT_USAGE : rc ? AG_CLI_EXIT_FAIL : AG_CLI_EXIT_OK;
}
