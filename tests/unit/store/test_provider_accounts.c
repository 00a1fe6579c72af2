/* Unit tests for API-key accounts: store/provider.c (kind names, base URL checks, key masking),
 * store/accounts.c (put by name, the key kept apart from refresh tokens, the change counter), the
 * migration of an older file (its accounts become "google" ones), and store/account_json.c (the
 * key is in an export and an export imports again). */
#include "ag_test.h"

#include "core/err.h"
#include "store/account_json.h"
#include "store/accounts.h"
#include "store/migrate.h"
#include "store/provider.h"
#include "store/store.h"

#include "store_test_util.h"

struct fixture {
    struct tmpdir t;
    struct ag_store *s;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    tmpdir_make(&f->t);
    assert_int_equal(ag_store_open(f->t.dir, &f->s, NULL, 0), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ag_store_free(f->s);
    tmpdir_remove(&f->t);
    free(f);
    return 0;
}

static void kinds_and_checks(void **state)
{
    enum ag_provider k;
    char out[256], why[128];
    (void)state;
    assert_true(ag_provider_parse("openai-compatible", &k));
    assert_int_equal(k, AG_PROVIDER_OPENAI_COMPAT);
    assert_true(ag_provider_parse(NULL, &k));
    assert_int_equal(k, AG_PROVIDER_GOOGLE);
    assert_false(ag_provider_parse("azure", &k));
    assert_int_equal(ag_provider_of("bogus"), AG_PROVIDER_GOOGLE);
    assert_string_equal(ag_provider_info(AG_PROVIDER_ANTHROPIC)->upstream, "anthropic");
    assert_int_equal(ag_provider_info(AG_PROVIDER_GEMINI)->auth, AG_AUTH_X_GOOG_KEY);
    assert_null(ag_provider_info(AG_PROVIDER_OPENAI_COMPAT)->base_url);

    assert_int_equal(ag_provider_base_url_check(" http://127.0.0.1:11434/v1/ ", out, sizeof(out),
                                                why, sizeof(why)),
                     0);
    assert_string_equal(out, "http://127.0.0.1:11434/v1");
    assert_int_equal(ag_provider_base_url_check("ftp://x", out, sizeof(out), why, sizeof(why)),
                     AG_EINVAL);
    assert_int_equal(
        ag_provider_base_url_check("https://u:p@api.x/v1", out, sizeof(out), why, sizeof(why)),
        AG_EINVAL);
    assert_non_null(strstr(why, "user info"));
    assert_int_equal(
        ag_provider_base_url_check("https://api.x/v1?k=1", out, sizeof(out), why, sizeof(why)),
        AG_EINVAL);
    assert_int_equal(ag_provider_base_url_check("https://", out, sizeof(out), why, sizeof(why)),
                     AG_EINVAL);

    ag_provider_mask_key("sk-abcdefghijklmnopWXYZ", out, sizeof(out));
    assert_string_equal(out, "sk-\u2026WXYZ");
    assert_null(strstr(out, "abcdefgh"));
    ag_provider_mask_key("short1", out, sizeof(out));
    assert_string_equal(out, "\u2026t1");
}

static void put_get_list(void **state)
{
    struct fixture *f = *state;
    char id1[AG_ACCOUNT_ID_SIZE], id2[AG_ACCOUNT_ID_SIZE];
    bool created = false;
    uint64_t since = 0;
    struct ag_account in = {.email = "anthropic:work",
                            .provider = "anthropic",
                            .api_key = "sk-ant-one",
                            .models = "claude-sonnet-4-5,claude-haiku-4-5",
                            .label = "work"};
    assert_int_equal(ag_store_account_put_provider(f->s, &in, id1, &created), 0);
    assert_true(created);

    struct ag_account got = {0};
    assert_int_equal(ag_store_account_get(f->s, id1, &got), 0);
    assert_string_equal(got.provider, "anthropic");
    assert_string_equal(got.api_key, "sk-ant-one");
    assert_string_equal(got.refresh_token, ""); /* the key is not stored as a refresh token */
    assert_null(got.base_url);
    assert_string_equal(got.models, "claude-sonnet-4-5,claude-haiku-4-5");
    assert_true(ag_account_is_provider(&got));
    ag_account_dispose(&got);

    /* disabled, then the same name with a new key: one account, enabled again */
    assert_int_equal(ag_store_account_set_disabled(f->s, id1, true, "401"), 0);
    in.api_key = "sk-ant-two";
    in.base_url = "https://proxy.example/anthropic";
    assert_int_equal(ag_store_account_put_provider(f->s, &in, id2, &created), 0);
    assert_false(created);
    assert_string_equal(id1, id2);
    assert_int_equal(ag_store_account_get(f->s, id1, &got), 0);
    assert_string_equal(got.api_key, "sk-ant-two");
    assert_string_equal(got.base_url, "https://proxy.example/anthropic");
    assert_false(got.disabled);
    ag_account_dispose(&got);

    /* a changed models list is a change the gateway must see */
    assert_int_equal(ag_store_account_set_models(f->s, id1, "claude-opus-4-1"), 0);
    assert_int_equal(ag_store_account_get(f->s, id1, &got), 0);
    assert_string_equal(got.models, "claude-opus-4-1");
    ag_account_dispose(&got);
    ag_store_accounts_changed(f->s, &since);
    assert_int_equal(ag_store_accounts_changed(f->s, &since), 0);
    raw_exec(f->t.db, "UPDATE accounts SET models = 'x' WHERE provider = 'anthropic'");
    assert_int_equal(ag_store_accounts_changed(f->s, &since), 1);

    /* an OAuth account beside it is a google one */
    struct ag_account g = {.email = "a@example.com", .refresh_token = "1//a"};
    assert_int_equal(ag_store_account_upsert(f->s, &g, NULL, NULL), 0);
    struct ag_account_list l = {0};
    assert_int_equal(ag_store_account_list(f->s, &l), 0);
    assert_int_equal(l.len, 2);
    assert_false(ag_account_is_provider(&l.items[1]));
    assert_string_equal(l.items[1].provider, "google");
    ag_account_list_dispose(&l);

    /* what the store refuses */
    struct ag_account bad = {.email = "x", .provider = "google", .api_key = "k"};
    assert_int_equal(ag_store_account_put_provider(f->s, &bad, NULL, NULL), AG_EINVAL);
    bad.provider = "openai";
    bad.api_key = "";
    assert_int_equal(ag_store_account_put_provider(f->s, &bad, NULL, NULL), AG_EINVAL);
}

static void older_file_migrates(void **state)
{
    SQLITE_ONLY();
    struct tmpdir old;
    char err[256];
    (void)state;
    tmpdir_make(&old);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(old.db, &db), SQLITE_OK);
    assert_int_equal(ag_store_migrate(db, 6, err, sizeof(err)), 0);
    sqlite3_close(db);
    raw_exec(old.db, "INSERT INTO accounts (id, email, refresh_token, created_at) VALUES"
                     " ('i1', 'old@example.com', '1//old', 1)");
    struct ag_store *s = NULL;
    assert_int_equal(ag_store_open(old.dir, &s, err, sizeof(err)), 0);
    struct ag_account got = {0};
    assert_int_equal(ag_store_account_get(s, "i1", &got), 0);
    assert_string_equal(got.provider, "google");
    assert_null(got.api_key);
    assert_false(ag_account_is_provider(&got));
    ag_account_dispose(&got);
    ag_store_free(s);
    assert_int_equal(raw_int(old.db, "PRAGMA user_version"), AG_STORE_SCHEMA_VERSION);
    tmpdir_remove(&old);
}

static void export_and_import(void **state)
{
    struct fixture *f = *state;
    struct ag_account in = {.email = "openai-compatible:local",
                            .provider = "openai-compatible",
                            .api_key = "ollama-key",
                            .base_url = "http://127.0.0.1:11434/v1",
                            .models = "llama3,qwen3"};
    assert_int_equal(ag_store_account_put_provider(f->s, &in, NULL, NULL), 0);
    struct ag_account_list l = {0};
    assert_int_equal(ag_store_account_list(f->s, &l), 0);
    char *json = NULL;
    size_t len = 0;
    assert_int_equal(ag_account_export_json(l.items, l.len, &json, &len), 0);
    assert_non_null(strstr(json, "\"api_key\": \"ollama-key\""));
    assert_non_null(strstr(json, "\"provider\": \"openai-compatible\""));
    assert_null(strstr(json, "refresh_token"));

    struct ag_account_import imp = {0};
    assert_int_equal(ag_account_import_parse(json, len, &imp), 0);
    assert_int_equal(imp.usable, 1);
    assert_null(imp.entries[0].error);
    assert_null(imp.entries[0].refresh_token);
    assert_string_equal(imp.entries[0].api_key, "ollama-key");
    assert_string_equal(imp.entries[0].base_url, "http://127.0.0.1:11434/v1");
    assert_string_equal(imp.entries[0].models, "llama3,qwen3");
    assert_string_equal(imp.entries[0].email, "openai-compatible:local");
    ag_account_import_dispose(&imp);

    /* an openai-compatible entry without its base URL is skipped with a reason */
    static const char nobase[] =
        "[{\"email\":\"x\",\"provider\":\"openai-compatible\",\"api_key\":\"k\"},"
        " {\"email\":\"y\",\"provider\":\"azure\",\"api_key\":\"k\"}]";
    assert_int_equal(ag_account_import_parse(nobase, sizeof(nobase) - 1, &imp), 0);
    assert_int_equal(imp.usable, 0);
    assert_non_null(strstr(imp.entries[0].error, "base_url"));
    assert_non_null(strstr(imp.entries[1].error, "provider"));
    ag_account_import_dispose(&imp);
    free(json);
    ag_account_list_dispose(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kinds_and_checks),
        cmocka_unit_test_setup_teardown(put_get_list, setup, teardown),
        cmocka_unit_test(older_file_migrates),
        cmocka_unit_test_setup_teardown(export_and_import, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
