/* Unit tests for store/accounts.c: upsert by email, reads, setters, ordering, deletion, and the
 * change counter seen from a second connection (the CLI writing while the gateway runs). */
#include "ag_test.h"

#include "core/err.h"
#include "store/accounts.h"
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

static void add(struct ag_store *s, const char *email, const char *rt, char *id, bool *created)
{
    struct ag_account in = {.email = (char *)email, .refresh_token = (char *)rt};
    assert_int_equal(ag_store_account_upsert(s, &in, id, created), 0);
}

static void upsert_is_keyed_by_email(void **state)
{
    struct fixture *f = *state;
    char id1[AG_ACCOUNT_ID_SIZE], id2[AG_ACCOUNT_ID_SIZE], id3[AG_ACCOUNT_ID_SIZE];
    bool created = false;
    struct ag_account in = {.email = "a@example.com",
                            .refresh_token = "1//a",
                            .access_token = "ya29.a",
                            .token_expiry = 1000,
                            .project_id = "proj-a",
                            .oauth_client = "antigravity",
                            .label = "work"};
    assert_int_equal(ag_store_account_upsert(f->s, &in, id1, &created), 0);
    assert_true(created);
    assert_int_equal(strlen(id1), 36);
    assert_int_equal(id1[14], '4'); /* UUID v4 */

    /* Same email in another case: an update of the same row, keeping what was not given. */
    struct ag_account again = {.email = "A@Example.com", .refresh_token = "1//a2"};
    assert_int_equal(ag_store_account_upsert(f->s, &again, id2, &created), 0);
    assert_false(created);
    assert_string_equal(id1, id2);

    struct ag_account a;
    assert_int_equal(ag_store_account_get(f->s, id1, &a), 0);
    assert_string_equal(a.email, "a@example.com");
    assert_string_equal(a.refresh_token, "1//a2");
    assert_string_equal(a.access_token, "ya29.a");
    assert_int_equal(a.token_expiry, 1000);
    assert_string_equal(a.project_id, "proj-a");
    assert_string_equal(a.oauth_client, "antigravity");
    assert_string_equal(a.label, "work");
    assert_int_equal(a.tier, AG_TIER_UNKNOWN);
    assert_false(a.disabled);
    assert_true(a.created_at > 0);
    ag_account_dispose(&a);

    add(f->s, "b@example.com", "1//b", id3, &created);
    assert_true(created);
    assert_string_not_equal(id1, id3);
    int64_t n = 0;
    assert_int_equal(ag_store_account_count(f->s, &n), 0);
    assert_int_equal(n, 2);

    /* Missing email or token is refused. */
    struct ag_account bad = {.email = "c@example.com"};
    assert_int_equal(ag_store_account_upsert(f->s, &bad, NULL, NULL), AG_EINVAL);
}

static void upsert_with_new_token_reenables(void **state)
{
    struct fixture *f = *state;
    char id[AG_ACCOUNT_ID_SIZE];
    struct ag_account a;
    add(f->s, "a@example.com", "1//a", id, NULL);
    assert_int_equal(ag_store_account_set_disabled(f->s, id, true, "invalid_grant: revoked"), 0);
    assert_int_equal(ag_store_account_get(f->s, id, &a), 0);
    assert_true(a.disabled);
    assert_string_equal(a.disabled_reason, "invalid_grant: revoked");
    assert_true(a.disabled_at > 0);
    ag_account_dispose(&a);

    /* The same token again does not lift the disable... */
    add(f->s, "a@example.com", "1//a", NULL, NULL);
    assert_int_equal(ag_store_account_get(f->s, id, &a), 0);
    assert_true(a.disabled);
    ag_account_dispose(&a);
    /* ...a new one does. */
    add(f->s, "a@example.com", "1//a-new", NULL, NULL);
    assert_int_equal(ag_store_account_get(f->s, id, &a), 0);
    assert_false(a.disabled);
    assert_null(a.disabled_reason);
    assert_int_equal(a.disabled_at, 0);
    ag_account_dispose(&a);
}

static void reads_and_setters(void **state)
{
    struct fixture *f = *state;
    char id[AG_ACCOUNT_ID_SIZE];
    struct ag_account a;
    add(f->s, "a@example.com", "1//a", id, NULL);

    assert_int_equal(ag_store_account_get(f->s, "nope", &a), AG_ENOTFOUND);
    assert_int_equal(ag_store_account_get_by_email(f->s, "nobody@example.com", &a), AG_ENOTFOUND);
    assert_int_equal(ag_store_account_set_label(f->s, "nope", "x"), AG_ENOTFOUND);

    assert_int_equal(ag_store_account_set_forbidden(f->s, id, true, "403 VALIDATION_REQUIRED", 5000,
                                                    "https://accounts.google.com/v"),
                     0);
    assert_int_equal(ag_store_account_set_label(f->s, id, "team"), 0);
    assert_int_equal(ag_store_account_set_proxy(f->s, id, "socks5://127.0.0.1:1080"), 0);
    assert_int_equal(ag_store_account_update_tokens(f->s, id, "ya29.new", 7777, NULL, "proj"), 0);
    assert_int_equal(ag_store_account_get_by_email(f->s, "A@EXAMPLE.COM", &a), 0);
    assert_true(a.forbidden);
    assert_string_equal(a.forbidden_reason, "403 VALIDATION_REQUIRED");
    assert_int_equal(a.forbidden_until, 5000);
    assert_string_equal(a.validation_url, "https://accounts.google.com/v");
    assert_string_equal(a.label, "team");
    assert_string_equal(a.proxy_url, "socks5://127.0.0.1:1080");
    assert_string_equal(a.access_token, "ya29.new");
    assert_int_equal(a.token_expiry, 7777);
    assert_string_equal(a.refresh_token, "1//a"); /* NULL kept it */
    assert_string_equal(a.project_id, "proj");
    ag_account_dispose(&a);

    /* Clearing. */
    assert_int_equal(ag_store_account_set_forbidden(f->s, id, false, "ignored", 9, "x"), 0);
    assert_int_equal(ag_store_account_set_label(f->s, id, ""), 0);
    assert_int_equal(ag_store_account_set_proxy(f->s, id, NULL), 0);
    char longlabel[80];
    memset(longlabel, 'x', sizeof(longlabel) - 1);
    longlabel[sizeof(longlabel) - 1] = '\0';
    assert_int_equal(ag_store_account_set_label(f->s, id, longlabel), AG_EINVAL);
    assert_int_equal(ag_store_account_get(f->s, id, &a), 0);
    assert_false(a.forbidden);
    assert_null(a.forbidden_reason);
    assert_int_equal(a.forbidden_until, 0);
    assert_null(a.validation_url);
    assert_null(a.label);
    assert_null(a.proxy_url);
    ag_account_dispose(&a);
}

static void quota_and_tier(void **state)
{
    struct fixture *f = *state;
    char id[AG_ACCOUNT_ID_SIZE];
    struct ag_account a;
    add(f->s, "a@example.com", "1//a", id, NULL);
    const char *q = "{\"gemini-3-flash\":{\"remaining\":0.85,\"reset_at\":1760000000},"
                    "\"claude-sonnet-4-6\":{\"remaining\":0}}";
    assert_int_equal(ag_store_account_set_quota(f->s, id, q, AG_TIER_PRO, 1234), 0);
    /* A fetch without a tier keeps the stored one. */
    assert_int_equal(ag_store_account_set_quota(f->s, id, "{}", AG_TIER_UNKNOWN, 1300), 0);
    assert_int_equal(ag_store_account_get(f->s, id, &a), 0);
    assert_int_equal(a.tier, AG_TIER_PRO);
    assert_string_equal(a.quota_json, "{}");
    assert_int_equal(a.quota_updated_at, 1300);
    ag_account_dispose(&a);
    assert_int_equal(ag_store_account_set_quota(f->s, id, q, AG_TIER_ULTRA, 1400), 0);
    assert_int_equal(ag_store_account_get(f->s, id, &a), 0);
    assert_int_equal(a.tier, AG_TIER_ULTRA);
    assert_string_equal(a.quota_json, q);
    ag_account_dispose(&a);

    /* Bad documents are refused and leave the row alone. */
    assert_int_equal(
        ag_store_account_set_quota(f->s, id, "{\"m\":{\"remaining\":1.5}}", AG_TIER_FREE, 1),
        AG_EINVAL);
    assert_int_equal(ag_store_account_set_quota(f->s, id, "[1]", AG_TIER_FREE, 1), AG_EINVAL);
    assert_int_equal(ag_store_account_get(f->s, id, &a), 0);
    assert_int_equal(a.tier, AG_TIER_ULTRA);
    ag_account_dispose(&a);

    assert_int_equal(ag_tier_from_text("g1-ultra-tier"), AG_TIER_ULTRA);
    assert_int_equal(ag_tier_from_text("Google AI Pro"), AG_TIER_PRO);
    assert_int_equal(ag_tier_from_text("free-tier (Restricted)"), AG_TIER_FREE);
    assert_int_equal(ag_tier_from_text("standard"), AG_TIER_UNKNOWN);
    assert_int_equal(ag_tier_from_text(NULL), AG_TIER_UNKNOWN);
    assert_string_equal(ag_tier_name(AG_TIER_PRO), "pro");
}

static void list_order_reorder_touch_delete(void **state)
{
    struct fixture *f = *state;
    char a[AG_ACCOUNT_ID_SIZE], b[AG_ACCOUNT_ID_SIZE], c[AG_ACCOUNT_ID_SIZE];
    struct ag_account_list l;
    add(f->s, "a@example.com", "1//a", a, NULL);
    add(f->s, "b@example.com", "1//b", b, NULL);
    add(f->s, "c@example.com", "1//c", c, NULL);
    assert_int_equal(ag_store_account_list(f->s, &l), 0);
    assert_int_equal(l.len, 3);
    assert_string_equal(l.items[0].email, "a@example.com");
    assert_string_equal(l.items[2].email, "c@example.com");
    ag_account_list_dispose(&l);

    const char *order[] = {c, "unknown-id"};
    assert_int_equal(ag_store_account_reorder(f->s, order, 2), 0);
    assert_int_equal(ag_store_account_list(f->s, &l), 0);
    assert_int_equal(l.len, 3);
    assert_string_equal(l.items[0].id, c);
    assert_string_equal(l.items[1].id, a);
    assert_string_equal(l.items[2].id, b);
    ag_account_list_dispose(&l);

    /* Touch moves last_used_at forward only. */
    struct ag_account x;
    assert_int_equal(ag_store_account_touch(f->s, b, 4000000000), 0);
    assert_int_equal(ag_store_account_touch(f->s, b, 5), 0);
    assert_int_equal(ag_store_account_get(f->s, b, &x), 0);
    assert_int_equal(x.last_used_at, 4000000000);
    ag_account_dispose(&x);

    assert_int_equal(ag_store_account_delete(f->s, a), 0);
    assert_int_equal(ag_store_account_delete(f->s, a), AG_ENOTFOUND);
    assert_int_equal(ag_store_account_list(f->s, &l), 0);
    assert_int_equal(l.len, 2);
    ag_account_list_dispose(&l);
    /* A new account goes to the end. */
    add(f->s, "d@example.com", "1//d", NULL, NULL);
    assert_int_equal(ag_store_account_list(f->s, &l), 0);
    assert_string_equal(l.items[2].email, "d@example.com");
    ag_account_list_dispose(&l);
}

static void change_counter_across_connections(void **state)
{
    struct fixture *f = *state;
    struct ag_store *cli = NULL; /* a second process's connection */
    char id[AG_ACCOUNT_ID_SIZE];
    uint64_t since = 0;

    assert_int_equal(ag_store_open(f->t.dir, &cli, NULL, 0), 0);
    /* Nothing was ever written: no change. */
    assert_int_equal(ag_store_accounts_changed(f->s, &since), 0);

    add(cli, "a@example.com", "1//a", id, NULL);
    assert_int_equal(ag_store_accounts_changed(f->s, &since), 1);
    assert_true(since > 0);
    assert_int_equal(ag_store_accounts_changed(f->s, &since), 0);

    /* A touch is not a change worth a reload. */
    assert_int_equal(ag_store_account_touch(cli, id, 4000000000), 0);
    assert_int_equal(ag_store_accounts_changed(f->s, &since), 0);

    assert_int_equal(ag_store_account_set_disabled(cli, id, true, "by the CLI"), 0);
    assert_int_equal(ag_store_accounts_changed(f->s, &since), 1);

    /* The gateway's own writes count too (data_version does not report them). */
    assert_int_equal(ag_store_account_set_label(f->s, id, "mine"), 0);
    assert_int_equal(ag_store_accounts_changed(f->s, &since), 1);
    assert_int_equal(ag_store_accounts_changed(f->s, &since), 0);

    /* The CLI sees the gateway's write as well, and deletions. */
    uint64_t cli_since = 0;
    assert_int_equal(ag_store_accounts_changed(cli, &cli_since), 1);
    assert_int_equal(cli_since, since);
    assert_int_equal(ag_store_account_delete(cli, id), 0);
    assert_int_equal(ag_store_accounts_changed(f->s, &since), 1);
    ag_store_free(cli);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(upsert_is_keyed_by_email, setup, teardown),
        cmocka_unit_test_setup_teardown(upsert_with_new_token_reenables, setup, teardown),
        cmocka_unit_test_setup_teardown(reads_and_setters, setup, teardown),
        cmocka_unit_test_setup_teardown(quota_and_tier, setup, teardown),
        cmocka_unit_test_setup_teardown(list_order_reorder_touch_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(change_counter_across_connections, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
