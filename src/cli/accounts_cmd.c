/* cli/accounts_cmd.c: `aigate accounts add|import|export|list|refresh|remove|enable|disable` —
 * account management from the command line, on the same data dir a running gateway uses (its
 * pool sees the changes within a second through the store's change counter). `login` is in
 * cli/accounts_login.c.
 *
 * add and import talk to the upstream (OAuth refresh, userinfo, Cloud Code) through
 * pool/onboard.h on a private libuv loop; the upstream URLs come from the configuration, so
 * AIGATE_OAUTH_TOKEN_URL / AIGATE_USERINFO_URL / AIGATE_CLOUDCODE_ENDPOINTS redirect them.
 * Tokens are never printed, except by `export`, whose whole point is a backup with them. */
#include "cli/cmd.h"
#include "cli/live.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <uv.h>
#include <yyjson.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/file.h"
#include "core/json_depth.h"
#include "core/str.h"
#include "core/url.h"
#include "pool/onboard.h"
#include "route/models.h"
#include "store/account_json.h"
#include "store/accounts.h"
#include "store/provider.h"
#include "store/store.h"
#include "upstream/client.h"

static const char accounts_usage[] =
    "usage: aigate accounts login [--no-browser] [--timeout S]\n"
    "       aigate accounts add --refresh-token TOKEN [--label TEXT] [--proxy URL]\n"
    "       aigate accounts add --provider gemini|anthropic|openai|openai-compatible\n"
    "                           --api-key KEY [--base-url URL] [--models M,...] [--label TEXT]\n"
    "                           [--proxy URL]\n"
    "       aigate accounts import FILE\n"
    "       aigate accounts export [FILE]\n"
    "       aigate accounts list [--json]\n"
    "       aigate accounts refresh [ID|EMAIL]\n"
    "       aigate accounts refresh-models ID|EMAIL\n"
    "       aigate accounts remove ID|EMAIL\n"
    "       aigate accounts enable ID|EMAIL\n"
    "       aigate accounts disable ID|EMAIL [--reason TEXT]";

/* What every subcommand opens: the configuration and the store. */
struct ctx {
    struct ag_config *cfg;
    struct ag_store *store;
};

static int ctx_open(struct ag_cli *cli, struct ctx *c)
{
    char err[512] = "";
    memset(c, 0, sizeof(*c));
    if (!(c->cfg = ag_cli_load(cli)))
        return AG_CLI_EXIT_FAIL;
    if (ag_store_open_with(c->cfg->data_dir, c->cfg->store.postgres_url, &c->store, err,
                           sizeof(err)) != 0) {
        fprintf(stderr, "aigate: %s\n", err[0] ? err : "cannot open the account store");
        ag_config_unref(c->cfg);
        return AG_CLI_EXIT_FAIL;
    }
    return 0;
}

static void ctx_close(struct ctx *c)
{
    ag_store_free(c->store);
    ag_config_unref(c->cfg);
}

/* Finds an account by id, else by email; prints why not. */
static int find_account(struct ctx *c, const char *key, struct ag_account *out)
{
    int rc = ag_store_account_get(c->store, key, out);
    if (rc == AG_ENOTFOUND)
        rc = ag_store_account_get_by_email(c->store, key, out);
    if (rc == AG_ENOTFOUND)
        fprintf(stderr, "aigate: no account with id or email \"%s\"\n", key);
    else if (rc)
        fprintf(stderr, "aigate: cannot read the accounts: %s\n", ag_strerror(rc));
    return rc;
}

/* ---- onboarding on a private loop ---- */

struct runner {
    uv_loop_t loop;
    struct ag_upstream_client *client;
    bool done;
    bool closed;
    /* the last result, copied */
    int err;
    char stage[16], message[512], warning[512], id[AG_ACCOUNT_ID_SIZE];
    char email[256], project[256], tier_text[64];
    enum ag_tier tier;
    bool created;
    size_t nmodels;
};

static void on_onboarded(const struct ag_onboard_result *r, void *ud)
{
    struct runner *run = ud;
    run->err = r->err;
    run->created = r->created;
    run->tier = r->tier;
    run->nmodels = r->nmodels;
    ag_strlcpy(run->stage, r->stage, sizeof(run->stage));
    ag_strlcpy(run->message, r->message, sizeof(run->message));
    ag_strlcpy(run->warning, r->warning, sizeof(run->warning));
    ag_strlcpy(run->id, r->id, sizeof(run->id));
    ag_strlcpy(run->email, r->email, sizeof(run->email));
    ag_strlcpy(run->project, r->project_id, sizeof(run->project));
    ag_strlcpy(run->tier_text, r->tier_text, sizeof(run->tier_text));
    run->done = true;
}

static int runner_init(struct runner *run)
{
    memset(run, 0, sizeof(*run));
    if (uv_loop_init(&run->loop) != 0)
        return AG_EIO;
    if (!(run->client = ag_upstream_client_new(&run->loop, NULL))) {
        uv_loop_close(&run->loop);
        return AG_EIO;
    }
    return 0;
}

static void on_client_closed(void *ud)
{
    ((struct runner *)ud)->closed = true;
}

static void runner_dispose(struct runner *run)
{
    ag_upstream_client_close(run->client, on_client_closed, run);
    while (!run->closed)
        uv_run(&run->loop, UV_RUN_ONCE);
    uv_run(&run->loop, UV_RUN_NOWAIT);
    uv_loop_close(&run->loop);
}

/* Onboards one refresh token and waits for the outcome (the upstream calls carry timeouts). */
static int onboard_one(struct runner *run, struct ctx *c, const struct ag_onboard_req *req)
{
    int err = 0;
    run->done = false;
    if (!ag_onboard_start(run->client, c->store, c->cfg, req, on_onboarded, run, &err)) {
        run->err = err;
        ag_strlcpy(run->stage, "start", sizeof(run->stage));
        ag_strlcpy(run->message,
                   c->cfg->oauth.clients.n ? ag_strerror(err)
                                           : "no OAuth client is configured (oauth.clients)",
                   sizeof(run->message));
        return err;
    }
    while (!run->done)
        uv_run(&run->loop, UV_RUN_ONCE);
    return run->err;
}

/* "pro, project p-123" style summary of an onboarded account. */
static void print_added(const struct runner *run)
{
    printf("%s %s (tier %s, project %s, %zu models with quota)\n",
           run->created ? "added" : "updated", run->email, ag_tier_name(run->tier),
           run->project[0] ? run->project : "unknown", run->nmodels);
    if (run->warning[0])
        fprintf(stderr, "aigate: warning: %s: %s\n", run->email, run->warning);
}

static int add(struct ag_cli *cli, int argc, char **argv)
{
    const char *token = NULL, *label = NULL, *proxy = NULL;
    struct ctx c;
    struct runner run;
    int rc;

    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--provider") == 0)
            return ag_cli_accounts_add_provider(cli, argc, argv);
    }
    for (int i = 2; i < argc; i++) {
        const char **dst = strcmp(argv[i], "--refresh-token") == 0 ? &token
                           : strcmp(argv[i], "--label") == 0       ? &label
                           : strcmp(argv[i], "--proxy") == 0       ? &proxy
                                                                   : NULL;
        if (!dst || i + 1 >= argc)
            return ag_cli_usage_error("%s", accounts_usage);
        *dst = argv[++i];
    }
    if (!token || !*token)
        return ag_cli_usage_error("accounts add needs --refresh-token TOKEN");
    if ((rc = ctx_open(cli, &c)) != 0)
        return rc;
    if (runner_init(&run) != 0) {
        fprintf(stderr, "aigate: cannot start the upstream client\n");
        ctx_close(&c);
        return AG_CLI_EXIT_FAIL;
    }
    struct ag_onboard_req req = {.refresh_token = token, .label = label, .proxy_url = proxy};
    rc = onboard_one(&run, &c, &req);
    if (rc == 0)
        print_added(&run);
    else
        fprintf(stderr, "aigate: cannot add the account (%s): %s\n", run.stage, run.message);
    runner_dispose(&run);
    ctx_close(&c);
    return rc ? AG_CLI_EXIT_FAIL : AG_CLI_EXIT_OK;
}

static int import(struct ag_cli *cli, int argc, char **argv)
{
    struct ag_account_import imp = {0};
    struct ctx c;
    struct runner run;
    size_t ok = 0, failed = 0;
    int rc;

    if (argc != 3)
        return ag_cli_usage_error("usage: aigate accounts import FILE");
    /* Parse before touching anything: a malformed file imports nothing. */
    rc = ag_account_import_parse_file(argv[2], &imp);
    if (rc) {
        fprintf(stderr, "aigate: %s: %s\naigate: nothing was imported\n", argv[2],
                imp.error[0] ? imp.error : ag_strerror(rc));
        ag_account_import_dispose(&imp);
        return AG_CLI_EXIT_FAIL;
    }
    if ((rc = ctx_open(cli, &c)) != 0) {
        ag_account_import_dispose(&imp);
        return rc;
    }
    if (runner_init(&run) != 0) {
        fprintf(stderr, "aigate: cannot start the upstream client\n");
        ctx_close(&c);
        ag_account_import_dispose(&imp);
        return AG_CLI_EXIT_FAIL;
    }
    for (size_t i = 0; i < imp.len; i++) {
        const struct ag_import_entry *e = &imp.entries[i];
        const char *who = e->email ? e->email : "(no email)";
        if (e->error) {
            fprintf(stderr, "aigate: entry %zu (%s): skipped: %s\n", e->index + 1, who, e->error);
            failed++;
            continue;
        }
        if (e->api_key) {
            char msg[600];
            if (ag_cli_provider_put(c.store, e->provider, e->api_key, e->base_url, e->models,
                                    e->label, e->proxy_url, e->email, msg, sizeof(msg)) == 0) {
                printf("entry %zu: %s\n", e->index + 1, msg);
                ok++;
            } else {
                fprintf(stderr, "aigate: entry %zu (%s): failed: %s\n", e->index + 1, who, msg);
                failed++;
            }
            continue;
        }
        struct ag_onboard_req req = {
            .refresh_token = e->refresh_token, .label = e->label, .proxy_url = e->proxy_url};
        if (onboard_one(&run, &c, &req) == 0) {
            printf("entry %zu: ", e->index + 1);
            print_added(&run);
            ok++;
        } else {
            fprintf(stderr, "aigate: entry %zu (%s): failed (%s): %s\n", e->index + 1, who,
                    run.stage, run.message);
            failed++;
        }
    }
    printf("imported %zu of %zu accounts%s", ok, imp.len, failed ? "" : "\n");
    if (failed)
        printf(", %zu failed\n", failed);
    runner_dispose(&run);
    ctx_close(&c);
    ag_account_import_dispose(&imp);
    return failed ? AG_CLI_EXIT_FAIL : AG_CLI_EXIT_OK;
}

static int export(struct ag_cli *cli, int argc, char **argv)
{
    struct ag_account_list l = {0};
    struct ctx c;
    char *json = NULL;
    size_t len = 0;
    int rc;

    if (argc > 3)
        return ag_cli_usage_error("usage: aigate accounts export [FILE]");
    if ((rc = ctx_open(cli, &c)) != 0)
        return rc;
    rc = ag_store_account_list(c.store, &l);
    if (!rc)
        rc = ag_account_export_json(l.items, l.len, &json, &len);
    if (rc) {
        fprintf(stderr, "aigate: cannot export the accounts: %s\n", ag_strerror(rc));
    } else if (argc == 3) {
        rc = ag_file_write_atomic(argv[2], json, len, 0600);
        if (rc)
            fprintf(stderr, "aigate: cannot write %s: %s\n", argv[2], strerror(errno));
        else
            fprintf(stderr,
                    "aigate: exported %zu accounts to %s (it contains their refresh tokens: keep "
                    "it private)\n",
                    l.len, argv[2]);
    } else {
        fwrite(json, 1, len, stdout);
        if (len && json[len - 1] != '\n')
            fputc('\n', stdout);
    }
    free(json);
    ag_account_list_dispose(&l);
    ctx_close(&c);
    return rc ? AG_CLI_EXIT_FAIL : AG_CLI_EXIT_OK;
}

/* ---- list ---- */

static void fmt_time(int64_t unix_s, char *out, size_t cap)
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    if (unix_s <= 0 || !gmtime_r(&t, &tm) || !strftime(out, cap, "%Y-%m-%d %H:%M UTC", &tm))
        ag_strlcpy(out, unix_s <= 0 ? "never" : "?", cap);
}

/* "active", "disabled (reason)", "forbidden (reason, until T)". */
static void fmt_state(const struct ag_account *a, struct ag_buf *out)
{
    char when[40];
    if (a->disabled) {
        ag_buf_printf(out, "disabled (%s)", a->disabled_reason ? a->disabled_reason : "by user");
    } else if (a->forbidden && !(a->forbidden_until > 0 && a->forbidden_until <= time(NULL))) {
        ag_buf_printf(out, "forbidden (%s", a->forbidden_reason ? a->forbidden_reason : "403");
        if (a->forbidden_until > 0) {
            fmt_time(a->forbidden_until, when, sizeof(when));
            ag_buf_printf(out, ", until %s", when);
        }
        ag_buf_append_c(out, ")");
    } else {
        ag_buf_append_c(out, "active");
    }
}

/* Quota per group (route/models.h groups, as the scheduler sees them): the best model of the
 * group and the earliest reset. */
struct qgroup {
    char name[96];
    double remaining;
    int64_t reset_at;
};

static size_t quota_groups(const struct ag_account *a, struct qgroup *g, size_t cap, bool *ok)
{
    yyjson_doc *doc = a->quota_json ? ag_json_depth_read(a->quota_json, strlen(a->quota_json),
                                                         AG_JSON_DEPTH_DEFAULT, NULL, NULL, NULL)
                                    : NULL;
    yyjson_val *k, *v;
    size_t idx, max, n = 0;
    *ok = doc != NULL;
    yyjson_obj_foreach(yyjson_doc_get_root(doc), idx, max, k, v)
    {
        char name[96];
        double f = yyjson_get_num(yyjson_obj_get(v, "remaining"));
        int64_t r = yyjson_get_sint(yyjson_obj_get(v, "reset_at"));
        size_t j = 0;
        ag_models_quota_group(ag_str_make(yyjson_get_str(k), yyjson_get_len(k)), name,
                              sizeof(name));
        while (j < n && strcmp(g[j].name, name) != 0)
            j++;
        if (j == n) {
            if (n == cap)
                continue;
            ag_strlcpy(g[n].name, name, sizeof(g[n].name));
            g[n].remaining = f;
            g[n++].reset_at = r;
            continue;
        }
        if (f > g[j].remaining)
            g[j].remaining = f;
        if (r > 0 && (g[j].reset_at <= 0 || r < g[j].reset_at))
            g[j].reset_at = r;
    }
    yyjson_doc_free(doc);
    return n;
}

/* "claude 80% (resets 2025-01-01 10:00 UTC), gemini-3-flash 0% (out until ...)", or "not
 * fetched". */
static void fmt_quota(const struct ag_account *a, struct ag_buf *out)
{
    struct qgroup g[32];
    char when[40];
    bool ok;
    size_t n = quota_groups(a, g, 32, &ok);
    if (!ok) {
        ag_buf_append_c(out, "not fetched");
        return;
    }
    if (!n)
        ag_buf_append_c(out, "no models");
    for (size_t i = 0; i < n; i++) {
        bool out_now = g[i].remaining <= 0 && g[i].reset_at > time(NULL);
        ag_buf_printf(out, "%s%s %.0f%%", i ? ", " : "", g[i].name, g[i].remaining * 100.0);
        if (g[i].reset_at > 0 && (out_now || g[i].remaining < 1.0)) {
            fmt_time(g[i].reset_at, when, sizeof(when));
            ag_buf_printf(out, " (%s %s)", out_now ? "limited until" : "resets", when);
        }
    }
    fmt_time(a->quota_updated_at, when, sizeof(when));
    ag_buf_printf(out, "; fetched %s", when);
}

/* The live cooldowns of one account from the running gateway, as "group until HH:MM:SS" text
 * (nothing when the gateway did not answer or the account is not cooling down). */
static void fmt_live(yyjson_doc *live, const char *id, struct ag_buf *out)
{
    yyjson_val *acct = ag_cli_live_account(live, id), *cd;
    size_t i, max;
    yyjson_val *cds = yyjson_obj_get(yyjson_obj_get(acct, "runtime"), "cooldowns");
    yyjson_arr_foreach(cds, i, max, cd)
    {
        const char *group = yyjson_get_str(yyjson_obj_get(cd, "group"));
        int64_t until = yyjson_get_sint(yyjson_obj_get(cd, "until_ms"));
        char when[40];
        fmt_time(until / 1000, when, sizeof(when));
        ag_buf_printf(out, "%s%s until %s%s", out->len ? ", " : "",
                      group && group[0] ? group : "all models", when,
                      yyjson_get_bool(yyjson_obj_get(cd, "probing")) ? " (trial request)" : "");
    }
}

/* Adds the live runtime state (cooldowns, in flight, last error) of account id, when known. */
static void add_live_json(yyjson_mut_doc *d, yyjson_mut_val *o, yyjson_doc *live, const char *id)
{
    yyjson_val *rt = yyjson_obj_get(ag_cli_live_account(live, id), "runtime");
    if (rt)
        yyjson_mut_obj_add_val(d, o, "live", yyjson_val_mut_copy(d, rt));
}

/* The base URL an API-key account uses: its own, else its kind's default. */
static const char *provider_base(const struct ag_account *a)
{
    const char *def = ag_provider_info(ag_provider_of(a->provider))->base_url;
    return a->base_url ? a->base_url : def ? def : "";
}

/* The lines of an API-key account in the text list (the key masked). */
static void print_provider(const struct ag_account *a, const char *state, const char *used)
{
    char masked[64];
    ag_provider_mask_key(a->api_key, masked, sizeof(masked));
    printf("%s  %s\n  id %s | %s | key %s | %s\n  base %s | models %s | last used: %s\n",
           a->email ? a->email : "?", a->label ? a->label : "", a->id, a->provider, masked, state,
           provider_base(a), a->models ? a->models : "any of the provider's", used);
}

/* The live health of an API-key account (checks on in the running gateway), one line. */
static void print_health(yyjson_doc *live, const char *id)
{
    yyjson_val *rt = yyjson_obj_get(ag_cli_live_account(live, id), "runtime");
    yyjson_val *h = yyjson_obj_get(rt, "health");
    const char *state = yyjson_get_str(yyjson_obj_get(h, "state"));
    const char *error = yyjson_get_str(yyjson_obj_get(h, "error"));
    char when[40];
    if (!state || strcmp(state, "unchecked") == 0)
        return;
    fmt_time(yyjson_get_sint(yyjson_obj_get(h, "checked_ms")) / 1000, when, sizeof(when));
    printf("  health: %s (checked %s)%s%s\n", state, when, error && *error ? ": " : "",
           error && *error ? error : "");
}

static void list_json(const struct ag_account_list *l, yyjson_doc *live)
{
    yyjson_mut_doc *d = yyjson_mut_doc_new(NULL);
    yyjson_mut_val *arr = yyjson_mut_arr(d);
    struct ag_buf st;
    yyjson_mut_doc_set_root(d, arr);
    ag_buf_init(&st, AG_BUF_CAP_DOC);
    for (size_t i = 0; i < l->len; i++) {
        const struct ag_account *a = &l->items[i];
        yyjson_mut_val *o = yyjson_mut_arr_add_obj(d, arr);
        const char *state =
            a->disabled ? "disabled"
            : a->forbidden && !(a->forbidden_until > 0 && a->forbidden_until <= time(NULL))
                ? "forbidden"
                : "active";
        yyjson_mut_obj_add_strcpy(d, o, "id", a->id);
        yyjson_mut_obj_add_strcpy(d, o, "email", a->email ? a->email : "");
        yyjson_mut_obj_add_str(d, o, "provider",
                               ag_provider_info(ag_provider_of(a->provider))->name);
        if (ag_account_is_provider(a)) {
            char masked[64];
            ag_provider_mask_key(a->api_key, masked, sizeof(masked));
            yyjson_mut_obj_add_strcpy(d, o, "api_key", masked);
            yyjson_mut_obj_add_strcpy(d, o, "base_url", provider_base(a));
            if (a->models)
                yyjson_mut_obj_add_strcpy(d, o, "models", a->models);
        }
        if (a->name)
            yyjson_mut_obj_add_strcpy(d, o, "name", a->name);
        yyjson_mut_obj_add_str(d, o, "tier", ag_tier_name(a->tier));
        yyjson_mut_obj_add_str(d, o, "state", state);
        ag_buf_reset(&st);
        fmt_state(a, &st);
        yyjson_mut_obj_add_strcpy(d, o, "state_text", st.data);
        if (a->disabled_reason)
            yyjson_mut_obj_add_strcpy(d, o, "disabled_reason", a->disabled_reason);
        if (a->forbidden_reason)
            yyjson_mut_obj_add_strcpy(d, o, "forbidden_reason", a->forbidden_reason);
        yyjson_mut_obj_add_int(d, o, "forbidden_until", a->forbidden_until);
        if (a->validation_url)
            yyjson_mut_obj_add_strcpy(d, o, "validation_url", a->validation_url);
        if (a->project_id)
            yyjson_mut_obj_add_strcpy(d, o, "project_id", a->project_id);
        if (a->label)
            yyjson_mut_obj_add_strcpy(d, o, "label", a->label);
        if (a->proxy_url) {
            char proxy[2048];
            ag_url_mask_userinfo(a->proxy_url, proxy, sizeof(proxy)); /* its password is secret */
            yyjson_mut_obj_add_strcpy(d, o, "proxy_url", proxy);
        }
        if (a->quota_json) {
            yyjson_doc *q = ag_json_depth_read(a->quota_json, strlen(a->quota_json),
                                               AG_JSON_DEPTH_DEFAULT, NULL, NULL, NULL);
            if (q)
                yyjson_mut_obj_add_val(d, o, "quota",
                                       yyjson_val_mut_copy(d, yyjson_doc_get_root(q)));
            yyjson_doc_free(q);
        }
        yyjson_mut_obj_add_int(d, o, "quota_updated_at", a->quota_updated_at);
        struct qgroup g[32];
        bool qok;
        size_t ng = quota_groups(a, g, 32, &qok);
        yyjson_mut_val *groups = yyjson_mut_obj_add_arr(d, o, "quota_groups");
        for (size_t j = 0; j < ng; j++) {
            yyjson_mut_val *x = yyjson_mut_arr_add_obj(d, groups);
            yyjson_mut_obj_add_strcpy(d, x, "group", g[j].name);
            yyjson_mut_obj_add_real(d, x, "remaining", g[j].remaining);
            yyjson_mut_obj_add_int(d, x, "reset_at", g[j].reset_at);
        }
        yyjson_mut_obj_add_int(d, o, "created_at", a->created_at);
        yyjson_mut_obj_add_int(d, o, "last_used_at", a->last_used_at);
        add_live_json(d, o, live, a->id);
    }
    size_t n = 0;
    char *json = yyjson_mut_write(d, YYJSON_WRITE_PRETTY_TWO_SPACES, &n);
    if (json)
        printf("%s\n", json);
    free(json);
    ag_buf_dispose(&st);
    yyjson_mut_doc_free(d);
}

static int list(struct ag_cli *cli, int argc, char **argv)
{
    struct ag_account_list l = {0};
    struct ctx c;
    bool json = argc == 3 && strcmp(argv[2], "--json") == 0;
    int rc;

    if (argc > 3 || (argc == 3 && !json))
        return ag_cli_usage_error("usage: aigate accounts list [--json]");
    if ((rc = ctx_open(cli, &c)) != 0)
        return rc;
    rc = ag_store_account_list(c.store, &l);
    yyjson_doc *live = rc || l.len == 0 ? NULL : ag_cli_live_accounts(c.cfg);
    if (rc) {
        fprintf(stderr, "aigate: cannot read the accounts: %s\n", ag_strerror(rc));
    } else if (json) {
        list_json(&l, live);
    } else if (l.len == 0) {
        printf("no accounts (add one with `aigate accounts add --refresh-token TOKEN`)\n");
    } else {
        struct ag_buf st, q;
        char used[40];
        ag_buf_init(&st, AG_BUF_CAP_DOC);
        ag_buf_init(&q, AG_BUF_CAP_DOC);
        for (size_t i = 0; i < l.len; i++) {
            const struct ag_account *a = &l.items[i];
            ag_buf_reset(&st);
            ag_buf_reset(&q);
            fmt_state(a, &st);
            fmt_quota(a, &q);
            fmt_time(a->last_used_at, used, sizeof(used));
            if (ag_account_is_provider(a)) {
                print_provider(a, st.data, used);
                print_health(live, a->id);
                continue;
            }
            printf("%s  %s\n  id %s | tier %s | %s | project %s\n  quota: %s | last used: %s\n",
                   a->email ? a->email : "?", a->label ? a->label : "", a->id,
                   ag_tier_name(a->tier), st.data, a->project_id ? a->project_id : "unknown",
                   q.data, used);
            ag_buf_reset(&st);
            fmt_live(live, a->id, &st);
            if (st.len)
                printf("  cooling down: %s\n", st.data);
        }
        ag_buf_dispose(&st);
        ag_buf_dispose(&q);
        if (live)
            printf("\nStored state plus the live cooldowns of the gateway running on port %lld.\n",
                   (long long)c.cfg->server.port);
        else
            printf("\nThis is the stored state: disabled and forbidden marks (with their end), "
                   "quota per group and when a used-up group resets. No gateway answered on port "
                   "%lld, so live cooldowns after rate limits are not shown.\n",
                   (long long)c.cfg->server.port);
    }
    yyjson_doc_free(live);
    ag_account_list_dispose(&l);
    ctx_close(&c);
    return rc ? AG_CLI_EXIT_FAIL : AG_CLI_EXIT_OK;
}

/* ---- refresh ---- */

/* Refreshes one account through onboarding; a refused refresh token disables it. */
static bool refresh_one(struct runner *run, struct ctx *c, const struct ag_account *a)
{
    if (ag_account_is_provider(a)) {
        printf("skipped %s (an API-key account: nothing to refresh)\n", a->email);
        return true;
    }
    struct ag_onboard_req req = {.refresh_token = a->refresh_token, .proxy_url = a->proxy_url};
    if (onboard_one(run, c, &req) == 0) {
        printf("refreshed %s (tier %s, project %s, %zu models with quota)\n", run->email,
               ag_tier_name(run->tier), run->project[0] ? run->project : "unknown", run->nmodels);
        if (run->warning[0])
            fprintf(stderr, "aigate: warning: %s: %s\n", run->email, run->warning);
        return true;
    }
    fprintf(stderr, "aigate: cannot refresh %s (%s): %s\n", a->email, run->stage, run->message);
    if (strcmp(run->stage, "refresh") == 0 && strstr(run->message, "invalid_grant")) {
        char reason[600];
        snprintf(reason, sizeof(reason), "invalid_grant: %s", run->message);
        if (ag_store_account_set_disabled(c->store, a->id, true, reason) == 0)
            fprintf(stderr,
                    "aigate: %s disabled: its refresh token is revoked or expired; log "
                    "in again with `aigate accounts login`\n",
                    a->email);
    }
    return false;
}

static int refresh(struct ag_cli *cli, int argc, char **argv)
{
    struct ag_account_list l = {0};
    struct ag_account one = {0};
    struct ctx c;
    struct runner run;
    size_t ok = 0, failed = 0;
    int rc;

    if (argc > 3)
        return ag_cli_usage_error("usage: aigate accounts refresh [ID|EMAIL]");
    if ((rc = ctx_open(cli, &c)) != 0)
        return rc;
    if (argc == 3) {
        if ((rc = find_account(&c, argv[2], &one)) != 0) {
            ctx_close(&c);
            return AG_CLI_EXIT_FAIL;
        }
        if (one.disabled) {
            fprintf(stderr, "aigate: %s is disabled (%s); enable it first\n", one.email,
                    one.disabled_reason ? one.disabled_reason : "by the user");
            ag_account_dispose(&one);
            ctx_close(&c);
            return AG_CLI_EXIT_FAIL;
        }
    } else if ((rc = ag_store_account_list(c.store, &l)) != 0) {
        fprintf(stderr, "aigate: cannot read the accounts: %s\n", ag_strerror(rc));
        ctx_close(&c);
        return AG_CLI_EXIT_FAIL;
    }
    if (runner_init(&run) != 0) {
        fprintf(stderr, "aigate: cannot start the upstream client\n");
        ag_account_dispose(&one);
        ag_account_list_dispose(&l);
        ctx_close(&c);
        return AG_CLI_EXIT_FAIL;
    }
    if (argc == 3) {
        refresh_one(&run, &c, &one) ? ok++ : failed++;
    } else {
        for (size_t i = 0; i < l.len; i++) {
            if (l.items[i].disabled) {
                printf("skipped %s (disabled)\n", l.items[i].email);
                continue;
            }
            refresh_one(&run, &c, &l.items[i]) ? ok++ : failed++;
        }
        printf("refreshed %zu of %zu enabled accounts\n", ok, ok + failed);
    }
    runner_dispose(&run);
    ag_account_dispose(&one);
    ag_account_list_dispose(&l);
    ctx_close(&c);
    return failed ? AG_CLI_EXIT_FAIL : AG_CLI_EXIT_OK;
}

/* ---- remove / enable / disable ---- */

static int change(struct ag_cli *cli, int argc, char **argv)
{
    const char *verb = argv[1], *reason = NULL;
    struct ag_account a = {0};
    struct ctx c;
    int rc;

    if (argc == 5 && strcmp(verb, "disable") == 0 && strcmp(argv[3], "--reason") == 0)
        reason = argv[4];
    else if (argc != 3)
        return ag_cli_usage_error("usage: aigate accounts %s ID|EMAIL%s", verb,
                                  strcmp(verb, "disable") == 0 ? " [--reason TEXT]" : "");
    if ((rc = ctx_open(cli, &c)) != 0)
        return rc;
    if ((rc = find_account(&c, argv[2], &a)) != 0)
        goto out;
    if (strcmp(verb, "remove") == 0) {
        rc = ag_store_account_delete(c.store, a.id);
    } else if (strcmp(verb, "disable") == 0) {
        rc = ag_store_account_set_disabled(c.store, a.id, true,
                                           reason ? reason : "disabled by the user");
    } else {
        /* Enabling is the user's "try it again": it lifts a 403 mark as well. */
        rc = ag_store_account_set_disabled(c.store, a.id, false, NULL);
        if (!rc && a.forbidden)
            rc = ag_store_account_set_forbidden(c.store, a.id, false, NULL, 0, NULL);
    }
    if (rc)
        fprintf(stderr, "aigate: cannot %s %s: %s\n", verb, a.email, ag_strerror(rc));
    else
        printf("%s %s (%s)\n",
               strcmp(verb, "remove") == 0    ? "removed"
               : strcmp(verb, "disable") == 0 ? "disabled"
                                              : "enabled",
               a.email, a.id);
out:
    ag_account_dispose(&a);
    ctx_close(&c);
    return rc ? AG_CLI_EXIT_FAIL : AG_CLI_EXIT_OK;
}

int ag_cli_accounts_cmd(struct ag_cli *cli, int argc, char **argv)
{
    static const struct {
        const char *name;
        ag_cli_cmd_fn fn;
    } subs[] = {
        {"login", ag_cli_accounts_login},
        {"add", add},
        {"import", import},
        {"export", export},
        {"list", list},
        {"refresh", refresh},
        {"refresh-models", ag_cli_accounts_refresh_models},
        {"remove", change},
        {"enable", change},
        {"disable", change},
    };
    if (argc < 2)
        return ag_cli_usage_error("%s", accounts_usage);
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        if (strcmp(argv[1], subs[i].name) == 0)
            return subs[i].fn(cli, argc, argv);
    }
    return ag_cli_usage_error("unknown accounts command \"%s\"\n%s", argv[1], accounts_usage);
}
