/* Unit tests of the pool's quota as it reads it from the store (pool/quota.c): loading the
 * accounts parses no account's stored quota_json (nor an API-key account's model list); the first
 * look of the scheduler, the lease, a cooldown or the model lookups reads it, and gives the same
 * answers as the stored JSON says: the group's best remaining fraction and earliest reset, the
 * model list and its limits. An unreadable stored quota counts as never fetched (no quota, list
 * unknown) without crashing; a reload with new stored quota is read anew. Real store (SQLite in a
 * temporary dir), real loop. */
#include "ag_test.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/time.h"
#include "loopwait.h"
#include "pool/pool_internal.h"
#include "route/forward.h"
#include "store/accounts.h"
#include "store/provider.h"
#include "store/store.h"

#define FAR_RESET 4102444800LL /* 2100-01-01: ahead of any test clock */

struct fx {
    uv_loop_t loop;
    char dir[64];
    struct ag_store *store;
    struct ag_config *cfg;
    struct ag_pool *pool;
    bool closed;
    /* the last acquisition */
    bool answered;
    int err;
    char account[AG_ACCOUNT_ID_SIZE];
    char model[64];
    uint32_t max_output_tokens, thinking_budget;
};

static void add_account(struct fx *f, const char *email, const char *quota, char *id)
{
    struct ag_account a = {.email = (char *)email,
                           .refresh_token = "1//refresh",
                           .access_token = "token",
                           .token_expiry = ag_wall_s() + 86400,
                           .project_id = "proj-test"};
    bool created;
    assert_int_equal(ag_store_account_upsert(f->store, &a, id, &created), 0);
    if (quota)
        assert_int_equal(ag_store_account_set_quota(f->store, id, quota, AG_TIER_PRO, ag_wall_s()),
                         0);
}

/* Stores quota_json as it is, past the store's check (a row written by an older or broken
 * version). */
static void put_raw_quota(struct fx *f, const char *id, const char *quota)
{
    char path[128], sql[512];
    sqlite3 *db = NULL;
    snprintf(path, sizeof(path), "%s/aigate.db", f->dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    snprintf(sql, sizeof(sql),
             "UPDATE accounts SET quota_json = '%s', tier = 'pro' WHERE id = '%s'", quota, id);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static struct fx *fx_new(void)
{
    static const char conf[] = "{\"scheduling\":{\"sticky_ttl_s\":0}}";
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    snprintf(f->dir, sizeof(f->dir), "/tmp/aigate-qlazy-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(ag_store_open(f->dir, &f->store, NULL, 0), 0);
    assert_int_equal(ag_config_from_json(conf, sizeof(conf) - 1, &f->cfg, NULL), 0);
    return f;
}

static void fx_start(struct fx *f)
{
    f->pool = ag_pool_new(&f->loop, NULL, f->store, NULL, f->cfg);
    assert_non_null(f->pool);
}

static void on_closed(void *ud)
{
    ((struct fx *)ud)->closed = true;
}

static void fx_free(struct fx *f)
{
    ag_pool_close(f->pool, on_closed, f);
    assert_true(ag_test_run_until(&f->loop, &f->closed, 5000));
    ag_pool_free(f->pool);
    ag_config_unref(f->cfg);
    ag_store_free(f->store);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    ag_test_rmtree(f->dir);
    free(f);
}

static struct pool_acct *acct_of(struct fx *f, const char *id)
{
    struct pool_acct *a = pool_find_acct(f->pool, id);
    assert_non_null(a);
    return a;
}

static void on_acquired(int err, const struct ag_lease *lease, const struct ag_pool_denial *d,
                        void *ud)
{
    struct fx *f = ud;
    (void)d;
    f->answered = true;
    f->err = err;
    if (lease) {
        snprintf(f->account, sizeof(f->account), "%s", lease->account_id);
        snprintf(f->model, sizeof(f->model), "%s", lease->model);
        f->max_output_tokens = lease->max_output_tokens;
        f->thinking_budget = lease->thinking_budget;
        ag_pool_release(f->pool, lease);
    }
}

/* Acquires an account for one model of the gemini-3-flash group; waits for the answer. */
static void acquire_flash(struct fx *f, const char *model)
{
    const char *models[] = {model};
    struct ag_pool_want want = {
        .group = "gemini-3-flash", .model = model, .models = models, .nmodels = 1};
    f->answered = false;
    f->err = -1;
    f->account[0] = '\0';
    f->model[0] = '\0';
    f->max_output_tokens = f->thinking_budget = 0;
    assert_non_null(ag_pool_acquire(f->pool, &want, on_acquired, f));
    assert_true(ag_test_run_until(&f->loop, &f->answered, 5000));
}

/* Loading parses nothing; the scheduler's first look parses what it needs and schedules by it: the
 * first account in order is out of quota for the group, the second's quota is unreadable
 * (unknown), the third has 80 % left and wins. Without the parse all three would look unknown and
 * the first in order would be chosen. */
static void the_first_acquisition_schedules_by_the_stored_quota(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    char a[AG_ACCOUNT_ID_SIZE], b[AG_ACCOUNT_ID_SIZE], c[AG_ACCOUNT_ID_SIZE];
    char q[512];
    snprintf(q, sizeof(q), "{\"gemini-3-flash\":{\"remaining\":0,\"reset_at\":%lld}}", FAR_RESET);
    add_account(f, "a@example.com", q, a);
    add_account(f, "b@example.com", NULL, b);
    put_raw_quota(f, b, "{\"gemini-3-flash\": {\"remaining\": 1.0,");
    snprintf(q, sizeof(q),
             "{\"gemini-3-flash\":{\"remaining\":0.8,\"reset_at\":%lld,"
             "\"max_output_tokens\":12345,\"thinking_budget\":2048}}",
             FAR_RESET);
    add_account(f, "c@example.com", q, c);
    fx_start(f);
    assert_int_equal(f->pool->naccts, 3);
    for (size_t i = 0; i < f->pool->naccts; i++) {
        assert_false(f->pool->accts[i]->quota_parsed);
        assert_null(f->pool->accts[i]->quota);
        assert_null(f->pool->accts[i]->models);
    }
    acquire_flash(f, "gemini-3-flash");
    assert_int_equal(f->err, 0);
    assert_string_equal(f->account, c);
    assert_string_equal(f->model, "gemini-3-flash");
    assert_int_equal(f->max_output_tokens, 12345);
    assert_int_equal(f->thinking_budget, 2048);
    assert_true(acct_of(f, a)->quota_parsed);
    assert_true(acct_of(f, c)->quota_parsed);
    fx_free(f);
}

/* The answers read lazily are those of the stored JSON: the group's best remaining and earliest
 * reset over its models, a group per family, the model list with its limits. */
static void lazy_answers_are_the_stored_ones(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    char a[AG_ACCOUNT_ID_SIZE];
    double rem;
    int64_t reset;
    add_account(f, "a@example.com",
                "{\"gemini-3-flash\":{\"remaining\":0.2,\"reset_at\":2000000000},"
                "\"gemini-2.5-flash\":{\"remaining\":0.6,\"reset_at\":1900000000,"
                "\"max_output_tokens\":65535},"
                "\"claude-sonnet-4-6\":{\"remaining\":0.5,\"reset_at\":1950000000,"
                "\"thinking_budget\":32768}}",
                a);
    fx_start(f);
    struct pool_acct *x = acct_of(f, a);
    assert_false(x->quota_parsed);
    pool_quota_for(x, "gemini-3-flash", NULL, &rem, &reset);
    assert_true(x->quota_parsed);
    assert_true(rem > 0.59 && rem < 0.61);
    assert_int_equal(reset, 1900000000);
    pool_quota_for(x, NULL, "claude-sonnet-4-6", &rem, &reset);
    assert_true(rem > 0.49 && rem < 0.51);
    assert_int_equal(reset, 1950000000);
    pool_quota_for(x, "gemini-3-pro-high", NULL, &rem, &reset);
    assert_true(rem < 0);
    assert_int_equal(reset, 0);
    assert_int_equal(pool_acct_nmodels(x), 3);
    assert_non_null(pool_acct_model(x, "gemini-2.5-flash"));
    assert_int_equal(pool_acct_model(x, "gemini-2.5-flash")->max_output_tokens, 65535);
    assert_int_equal(pool_acct_model(x, "claude-sonnet-4-6")->thinking_budget, 32768);
    assert_null(pool_acct_model(x, "gemini-3-pro-high"));
    /* The model list's own first reader parses too. */
    pool_quota_stale(x);
    assert_false(x->quota_parsed);
    assert_non_null(pool_acct_model(x, "gemini-3-flash"));
    pool_quota_stale(x);
    assert_int_equal(pool_acct_nmodels(x), 3);
    fx_free(f);
}

/* An unreadable stored quota: no crash, no quota and an unknown model list (as never fetched),
 * parsed once; the account is still granted for any model. */
static void an_unreadable_quota_counts_as_never_fetched(void **state)
{
    (void)state;
    static const char *const bad[] = {"{\"gemini-3-flash\": {\"remaining\": 1.0,", "[1,2,3]",
                                      "\"text\"", "", "nul"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct fx *f = fx_new();
        char a[AG_ACCOUNT_ID_SIZE];
        double rem;
        int64_t reset;
        add_account(f, "a@example.com", NULL, a);
        put_raw_quota(f, a, bad[i]);
        fx_start(f);
        struct pool_acct *x = acct_of(f, a);
        assert_non_null(x->rec.quota_json);
        acquire_flash(f, "gemini-3-flash");
        assert_int_equal(f->err, 0);
        assert_string_equal(f->account, a);
        assert_string_equal(f->model, "gemini-3-flash");
        assert_true(x->quota_parsed);
        pool_quota_for(x, "gemini-3-flash", NULL, &rem, &reset);
        assert_true(rem < 0);
        assert_int_equal(reset, 0);
        assert_int_equal(pool_acct_nmodels(x), 0);
        assert_int_equal(f->max_output_tokens, 0);
        fx_free(f);
    }
}

/* A reload with a new stored quota is read anew (the old parse is dropped), and the scheduler
 * follows it: the account that was out of quota is chosen once it has quota again. An account
 * whose stored quota did not change keeps its parse. */
static void a_reload_reads_the_new_quota(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    char a[AG_ACCOUNT_ID_SIZE], b[AG_ACCOUNT_ID_SIZE], q[256];
    double rem;
    int64_t reset;
    snprintf(q, sizeof(q), "{\"gemini-3-flash\":{\"remaining\":0,\"reset_at\":%lld}}", FAR_RESET);
    add_account(f, "a@example.com", q, a);
    snprintf(q, sizeof(q), "{\"gemini-3-flash\":{\"remaining\":0.3,\"reset_at\":%lld}}", FAR_RESET);
    add_account(f, "b@example.com", q, b);
    fx_start(f);
    acquire_flash(f, "gemini-3-flash");
    assert_string_equal(f->account, b);
    snprintf(q, sizeof(q), "{\"gemini-3-flash\":{\"remaining\":0.9,\"reset_at\":%lld}}", FAR_RESET);
    assert_int_equal(ag_store_account_set_quota(f->store, a, q, AG_TIER_PRO, ag_wall_s()), 0);
    assert_int_equal(ag_store_account_set_label(f->store, b, "other"), 0);
    assert_true(acct_of(f, b)->quota_parsed);
    assert_int_equal(ag_pool_reload(f->pool), 0);
    assert_false(acct_of(f, a)->quota_parsed);
    /* b's stored quota did not change (only its label): its parse is kept, with its answers. */
    assert_true(acct_of(f, b)->quota_parsed);
    assert_string_equal(acct_of(f, b)->rec.label, "other");
    pool_quota_for(acct_of(f, b), "gemini-3-flash", NULL, &rem, &reset);
    assert_true(rem > 0.29 && rem < 0.31);
    pool_quota_for(acct_of(f, a), "gemini-3-flash", NULL, &rem, &reset);
    assert_true(rem > 0.89 && rem < 0.91);
    acquire_flash(f, "gemini-3-flash");
    assert_string_equal(f->account, a);
    fx_free(f);
}

/* The retired ids the accounts' models replace come from the same parse: the table has them
 * (not a disabled account's), and follows a reload that changes them. Two accounts listing the
 * same models get the same groups. */
static void replaced_ids_and_groups_come_from_the_parse(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    char a[AG_ACCOUNT_ID_SIZE], b[AG_ACCOUNT_ID_SIZE], c[AG_ACCOUNT_ID_SIZE];
    struct ag_str to;
    double rem;
    int64_t reset;
    static const char qa[] =
        "{\"gemini-3-flash\":{\"remaining\":0.4,\"reset_at\":1900000000,"
        "\"replaces\":[\"old-flash-a\",7,\"old-flash-b\"]},"
        "\"claude-sonnet-4-6\":{\"remaining\":0.7,\"replaces\":[\"old-sonnet\"]}}";
    add_account(f, "a@example.com", qa, a);
    add_account(f, "b@example.com", qa, b);
    add_account(f, "c@example.com",
                "{\"gemini-3-flash\":{\"remaining\":1,\"replaces\":[\"old-disabled\"]}}", c);
    assert_int_equal(ag_store_account_set_disabled(f->store, c, true, "test"), 0);
    fx_start(f);
    const struct ag_forward *fw = ag_pool_forward(f->pool);
    assert_true(ag_forward_lookup(fw, ag_str_c("old-flash-a"), &to));
    assert_true(ag_str_eq(to, ag_str_c("gemini-3-flash")));
    assert_true(ag_forward_lookup(fw, ag_str_c("old-flash-b"), &to));
    assert_true(ag_str_eq(to, ag_str_c("gemini-3-flash")));
    assert_true(ag_forward_lookup(fw, ag_str_c("old-sonnet"), &to));
    assert_true(ag_str_eq(to, ag_str_c("claude-sonnet-4-6")));
    assert_false(ag_forward_lookup(fw, ag_str_c("old-disabled"), &to));
    assert_int_equal(acct_of(f, a)->nreplaces, 3);
    for (int i = 0; i < 2; i++) {
        struct pool_acct *x = acct_of(f, i ? b : a);
        pool_quota_for(x, NULL, "claude-sonnet-4-6", &rem, &reset);
        assert_true(rem > 0.69 && rem < 0.71);
        assert_int_equal(reset, 0);
        pool_quota_for(x, "gemini-3-flash", NULL, &rem, &reset);
        assert_true(rem > 0.39 && rem < 0.41);
        assert_int_equal(reset, 1900000000);
        pool_quota_for(x, "claude", NULL, &rem, &reset);
        assert_true(rem > 0.69 && rem < 0.71);
    }
    /* b's refresh drops old-flash-b; a still has it. Then a's too. */
    assert_int_equal(ag_store_account_set_quota(f->store, b,
                                                "{\"gemini-3-flash\":{\"remaining\":0.4,"
                                                "\"replaces\":[\"old-flash-c\"]}}",
                                                AG_TIER_PRO, ag_wall_s()),
                     0);
    assert_int_equal(ag_store_account_set_quota(f->store, a, "{}", AG_TIER_PRO, ag_wall_s()), 0);
    assert_int_equal(ag_pool_reload(f->pool), 0);
    fw = ag_pool_forward(f->pool);
    assert_true(ag_forward_lookup(fw, ag_str_c("old-flash-c"), &to));
    assert_false(ag_forward_lookup(fw, ag_str_c("old-flash-a"), &to));
    assert_false(ag_forward_lookup(fw, ag_str_c("old-sonnet"), &to));
    fx_free(f);
}

/* A reload finds each account again whatever the changes of order (one added first, one removed,
 * two swapped): the same in-memory account (its parse kept), in the store's order; the removed
 * one is gone. */
static void a_reload_finds_every_account_again(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    char id[5][AG_ACCOUNT_ID_SIZE], added[AG_ACCOUNT_ID_SIZE];
    struct pool_acct *before[5];
    const char *order[4];
    for (int i = 0; i < 5; i++) {
        char email[32];
        snprintf(email, sizeof(email), "u%d@example.com", i);
        add_account(f, email, "{\"gemini-3-flash\":{\"remaining\":0.5}}", id[i]);
    }
    fx_start(f);
    for (int i = 0; i < 5; i++) {
        before[i] = acct_of(f, id[i]);
        assert_int_equal(pool_acct_nmodels(before[i]), 1);
    }
    add_account(f, "new@example.com", NULL, added);
    assert_int_equal(ag_store_account_delete(f->store, id[2]), 0);
    order[0] = added;
    order[1] = id[4];
    order[2] = id[0];
    order[3] = id[1];
    assert_int_equal(ag_store_account_reorder(f->store, order, 4), 0);
    assert_int_equal(ag_pool_reload(f->pool), 0);
    assert_int_equal(f->pool->naccts, 5);
    assert_string_equal(f->pool->accts[0]->rec.id, added);
    assert_ptr_equal(f->pool->accts[1], before[4]);
    assert_ptr_equal(f->pool->accts[2], before[0]);
    assert_ptr_equal(f->pool->accts[3], before[1]);
    assert_ptr_equal(f->pool->accts[4], before[3]);
    assert_null(pool_find_acct(f->pool, id[2]));
    for (size_t i = 0; i < f->pool->naccts; i++) {
        assert_int_equal(f->pool->accts[i]->order, i);
        assert_false(f->pool->accts[i]->kept);
        assert_true(f->pool->accts[i]->quota_parsed == (i != 0));
    }
    fx_free(f);
}

/* An API-key account's model list (its stored comma-separated models) is read on first use too. */
static void a_key_accounts_models_are_read_on_first_use(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    char id[AG_ACCOUNT_ID_SIZE];
    bool created;
    struct ag_account k = {.provider = "openai",
                           .api_key = "sk-test",
                           .email = "openai-test",
                           .models = " gpt-x , gpt-y"};
    assert_int_equal(ag_store_account_put_provider(f->store, &k, id, &created), 0);
    fx_start(f);
    assert_false(acct_of(f, id)->quota_parsed);
    assert_true(ag_pool_provider_lists(f->pool, "gpt-x"));
    assert_true(ag_pool_provider_lists(f->pool, "gpt-y"));
    assert_false(ag_pool_provider_lists(f->pool, "gpt-z"));
    assert_int_equal(pool_acct_nmodels(acct_of(f, id)), 2);
    /* A new models list is read anew after the reload. */
    assert_int_equal(ag_store_account_set_models(f->store, id, "gpt-z"), 0);
    assert_int_equal(ag_pool_reload(f->pool), 0);
    assert_false(ag_pool_provider_lists(f->pool, "gpt-x"));
    assert_true(ag_pool_provider_lists(f->pool, "gpt-z"));
    fx_free(f);
}

struct ids {
    char v[16][64];
    size_t n;
};

static void collect_id(void *ud, const char *model, size_t len)
{
    struct ids *ids = ud;
    assert_true(ids->n < 16 && len < 64);
    memcpy(ids->v[ids->n], model, len);
    ids->v[ids->n++][len] = '\0';
}

static void models_of(struct fx *f, struct ids *ids)
{
    memset(ids, 0, sizeof(*ids));
    ag_pool_foreach_quota_model(f->pool, collect_id, ids);
}

/* The model lists of the accounts, for /v1/models: each id once, in the order first listed; a
 * disabled account's and an unreadable quota's add nothing; a reload's new quota shows. */
static void every_listed_model_comes_once(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    char a[AG_ACCOUNT_ID_SIZE], b[AG_ACCOUNT_ID_SIZE], c[AG_ACCOUNT_ID_SIZE];
    char d[AG_ACCOUNT_ID_SIZE], e[AG_ACCOUNT_ID_SIZE];
    struct ids ids;
    add_account(f, "a@example.com", "{\"m-one\":{\"remaining\":1},\"m-two\":{\"remaining\":1}}", a);
    add_account(f, "b@example.com", "{\"m-one\":{\"remaining\":0},\"m-two\":{\"remaining\":1}}", b);
    add_account(f, "c@example.com", "{\"m-two\":{\"remaining\":1},\"m-three\":{\"remaining\":1}}",
                c);
    add_account(f, "d@example.com", "{\"m-four\":{\"remaining\":1}}", d);
    assert_int_equal(ag_store_account_set_disabled(f->store, d, true, "test"), 0);
    add_account(f, "e@example.com", NULL, e);
    put_raw_quota(f, e, "[\"m-five\"]");
    fx_start(f);
    models_of(f, &ids);
    assert_int_equal(ids.n, 3);
    assert_string_equal(ids.v[0], "m-one");
    assert_string_equal(ids.v[1], "m-two");
    assert_string_equal(ids.v[2], "m-three");
    /* b's list changes: the same ids as a's no longer, and a new one shows */
    assert_int_equal(ag_store_account_set_quota(f->store, b,
                                                "{\"m-one\":{\"remaining\":1},"
                                                "\"m-six\":{\"remaining\":1}}",
                                                AG_TIER_PRO, ag_wall_s()),
                     0);
    assert_int_equal(ag_pool_reload(f->pool), 0);
    models_of(f, &ids);
    assert_int_equal(ids.n, 4);
    assert_string_equal(ids.v[1], "m-two");
    assert_string_equal(ids.v[2], "m-six");
    assert_string_equal(ids.v[3], "m-three");
    fx_free(f);
}

/* An id longer than an account keeps one (AG_POOL_GROUP_MAX) is not listed cut short: a name no
 * account serves and no client asked for. */
static void a_model_id_too_long_to_keep_is_not_listed(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    char a[AG_ACCOUNT_ID_SIZE], quota[512], long_id[AG_POOL_GROUP_MAX + 16];
    struct ids ids;
    memset(long_id, 'x', sizeof(long_id) - 1);
    memcpy(long_id, "gemini-", 7);
    long_id[sizeof(long_id) - 1] = '\0';
    snprintf(quota, sizeof(quota), "{\"%s\":{\"remaining\":1},\"m-seven\":{\"remaining\":1}}",
             long_id);
    add_account(f, "a@example.com", quota, a);
    fx_start(f);
    models_of(f, &ids);
    assert_int_equal(ids.n, 1);
    assert_string_equal(ids.v[0], "m-seven");
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_first_acquisition_schedules_by_the_stored_quota),
        cmocka_unit_test(lazy_answers_are_the_stored_ones),
        cmocka_unit_test(an_unreadable_quota_counts_as_never_fetched),
        cmocka_unit_test(a_reload_reads_the_new_quota),
        cmocka_unit_test(replaced_ids_and_groups_come_from_the_parse),
        cmocka_unit_test(a_reload_finds_every_account_again),
        cmocka_unit_test(a_key_accounts_models_are_read_on_first_use),
        cmocka_unit_test(every_listed_model_comes_once),
        cmocka_unit_test(a_model_id_too_long_to_keep_is_not_listed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
