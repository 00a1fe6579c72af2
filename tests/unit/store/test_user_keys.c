/* Unit tests for store/user_keys.c: insert, get, list, update, delete of user keys, the change
 * counter (a last-used touch does not move it), usage recorded through the writer with a request
 * record carrying a key name (the day's and month's sums, the request log's key_name), and an
 * older file upgraded to the same tables. */
#include "ag_test.h"

#include "core/err.h"
#include "store/migrate.h"
#include "store/store.h"
#include "store/user_keys.h"
#include "store/writer.h"

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

static void key_init(struct ag_user_key *k, const char *name, char hexdigit)
{
    memset(k, 0, sizeof(*k));
    snprintf(k->name, sizeof(k->name), "%s", name);
    memset(k->hash, hexdigit, AG_USER_KEY_HASH_HEX);
    k->hash[AG_USER_KEY_HASH_HEX] = '\0';
}

static void crud_and_change_counter(void **state)
{
    struct fixture *f = *state;
    struct ag_user_key k, got;
    uint64_t v0, v1, v2;
    assert_int_equal(ag_store_user_keys_version(f->s, &v0), 0);
    key_init(&k, "alice", 'a');
    snprintf(k.models, sizeof(k.models), "gemini-*");
    snprintf(k.cidrs, sizeof(k.cidrs), "10.0.0.0/8");
    snprintf(k.note, sizeof(k.note), "laptop");
    k.rpm = 10;
    k.daily_tokens = 5000;
    k.expires_at = 1900000000;
    assert_int_equal(ag_store_user_key_insert(f->s, &k, 1700000000), 0);
    assert_int_equal(ag_store_user_keys_version(f->s, &v1), 0);
    assert_true(v1 > v0);
    assert_int_equal(ag_store_user_key_insert(f->s, &k, 1700000000), AG_EEXIST);
    key_init(&k, "bob", 'a'); /* same hash, another name */
    assert_int_equal(ag_store_user_key_insert(f->s, &k, 1700000000), AG_EEXIST);
    key_init(&k, "bad name", 'b');
    assert_int_equal(ag_store_user_key_insert(f->s, &k, 1700000000), AG_EINVAL);
    key_init(&k, "bob", 'b');
    assert_int_equal(ag_store_user_key_insert(f->s, &k, 1700000001), 0);

    assert_int_equal(ag_store_user_key_get(f->s, "alice", &got), 0);
    assert_string_equal(got.models, "gemini-*");
    assert_string_equal(got.cidrs, "10.0.0.0/8");
    assert_string_equal(got.note, "laptop");
    assert_int_equal(got.rpm, 10);
    assert_int_equal(got.daily_tokens, 5000);
    assert_int_equal(got.expires_at, 1900000000);
    assert_int_equal(got.state, AG_USER_KEY_ACTIVE);
    assert_int_equal(got.created_at, 1700000000);
    assert_int_equal(ag_store_user_key_get(f->s, "carol", &got), AG_ENOTFOUND);

    got.state = AG_USER_KEY_REVOKED;
    assert_int_equal(ag_store_user_key_update(f->s, &got, 1700000100), 0);
    struct ag_user_key *all = NULL;
    size_t n = 0;
    assert_int_equal(ag_store_user_key_list(f->s, &all, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(all[0].name, "alice");
    assert_int_equal(all[0].state, AG_USER_KEY_REVOKED);
    assert_int_equal(all[0].updated_at, 1700000100);
    assert_string_equal(all[1].name, "bob");
    free(all);

    /* Usage touches last_used_at without moving the counter. */
    assert_int_equal(ag_store_user_keys_version(f->s, &v1), 0);
    struct ag_key_usage_delta d = {.ts_s = 1700000200,
                                   .key_name = "bob",
                                   .requests = 1,
                                   .input_tokens = 10,
                                   .output_tokens = 5};
    assert_int_equal(ag_store_key_usage_add(f->s, &d), 0);
    assert_int_equal(ag_store_user_keys_version(f->s, &v2), 0);
    assert_int_equal(v1, v2);
    assert_int_equal(ag_store_user_key_get(f->s, "bob", &got), 0);
    assert_int_equal(got.last_used_at, 1700000200);

    assert_int_equal(ag_store_user_key_delete(f->s, "bob"), 0);
    assert_int_equal(ag_store_user_key_delete(f->s, "bob"), AG_ENOTFOUND);
    assert_int_equal(ag_store_user_keys_version(f->s, &v2), 0);
    assert_true(v2 > v1);
}

struct rows {
    int n;
    int64_t bucket[8], tokens[8];
};

static void on_row(const struct ag_key_usage_row *row, void *ud)
{
    struct rows *v = ud;
    assert_true(v->n < 8);
    assert_string_equal(row->key_name, "alice");
    v->bucket[v->n] = row->bucket_s;
    v->tokens[v->n] = row->input_tokens + row->output_tokens;
    v->n++;
}

static void usage_through_the_writer(void **state)
{
    struct fixture *f = *state;
    struct ag_user_key k;
    key_init(&k, "alice", 'c');
    assert_int_equal(ag_store_user_key_insert(f->s, &k, 1700000000), 0);
    struct ag_writer *w = ag_writer_new(f->s, NULL);
    assert_non_null(w);
    /* 2026-05-01T10:00:00Z and an hour later, and one on April 30th. */
    int64_t may1 = 1777629600, apr30 = may1 - 86400;
    struct ag_request_record r = {.ts_ms = may1 * 1000,
                                  .method = "POST",
                                  .path = "/v1/x",
                                  .status = 200,
                                  .key_name = "alice",
                                  .input_tokens = 100,
                                  .output_tokens = 20};
    assert_int_equal(ag_writer_record(w, &r), 0);
    r.ts_ms += 3600 * 1000;
    r.status = 429;
    r.input_tokens = 1;
    r.output_tokens = 0;
    assert_int_equal(ag_writer_record(w, &r), 0);
    r.ts_ms = apr30 * 1000;
    r.status = 200;
    r.input_tokens = 1000;
    assert_int_equal(ag_writer_record(w, &r), 0);
    r.key_name = NULL; /* the main key: no key usage */
    assert_int_equal(ag_writer_record(w, &r), 0);
    assert_int_equal(ag_writer_flush(w), 0);
    ag_writer_free(w);

    struct ag_user_key_usage u;
    int64_t day = may1 - may1 % 86400;
    assert_int_equal(ag_store_key_usage_since(f->s, "alice", day, &u), 0);
    assert_int_equal(u.requests, 2);
    assert_int_equal(u.tokens, 121);
    assert_int_equal(ag_store_key_usage_since(f->s, "alice", day - 86400, &u), 0);
    assert_int_equal(u.tokens, 1121);
    assert_int_equal(ag_store_key_usage_since(f->s, "nobody", 0, &u), 0);
    assert_int_equal(u.tokens, 0);
    assert_int_equal(raw_int(f->t.db, "SELECT count(*) FROM request_log WHERE key_name = 'alice'"),
                     3);
    assert_int_equal(raw_int(f->t.db, "SELECT count(*) FROM request_log WHERE key_name IS NULL"),
                     1);
    assert_int_equal(raw_int(f->t.db, "SELECT SUM(errors) FROM key_usage_hourly"), 1);
    struct ag_user_key got;
    assert_int_equal(ag_store_user_key_get(f->s, "alice", &got), 0);
    assert_int_equal(got.last_used_at, may1 + 3600);

    /* By day: UTC days, and days of a zone 13.5 hours east (10:00Z is 23:30 there, 11:00Z the
     * next day's 00:30). */
    const int64_t off = 13 * 3600 + 1800;
    struct rows v = {0};
    assert_int_equal(ag_store_key_usage_query(f->s, 0, may1 + 86400, 86400, 0, on_row, &v), 0);
    assert_int_equal(v.n, 2);
    assert_int_equal(v.bucket[0], day - 86400);
    assert_int_equal(v.tokens[0], 1000);
    assert_int_equal(v.bucket[1], day);
    assert_int_equal(v.tokens[1], 121);
    memset(&v, 0, sizeof(v));
    assert_int_equal(ag_store_key_usage_query(f->s, 0, may1 + 86400, 86400, off, on_row, &v), 0);
    assert_int_equal(v.n, 3);
    assert_int_equal(v.bucket[0], day - 86400 - off);
    assert_int_equal(v.bucket[1], day - off);
    assert_int_equal(v.tokens[1], 120);
    assert_int_equal(v.bucket[2], day + 86400 - off);
    assert_int_equal(v.tokens[2], 1);
    memset(&v, 0, sizeof(v));
    assert_int_equal(ag_store_key_usage_query(f->s, may1, may1 + 86400, 3600, 0, on_row, &v), 0);
    assert_int_equal(v.n, 2);
    assert_int_equal(v.bucket[1], may1 + 3600);
}

static void an_older_file_gets_the_tables(void **state)
{
    SQLITE_ONLY();
    struct fixture *f = *state;
    struct tmpdir old;
    char err[256];
    tmpdir_make(&old);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(old.db, &db), SQLITE_OK);
    assert_int_equal(ag_store_migrate(db, 4, err, sizeof(err)), 0);
    sqlite3_close(db);
    raw_exec(old.db, "INSERT INTO request_log (ts_ms, method, path, status) VALUES (1, 'GET',"
                     " '/', 200)");
    struct ag_store *s = NULL;
    assert_int_equal(ag_store_open(old.dir, &s, err, sizeof(err)), 0);
    struct ag_user_key k;
    key_init(&k, "alice", 'd');
    assert_int_equal(ag_store_user_key_insert(s, &k, 1), 0);
    ag_store_free(s);
    assert_int_equal(raw_int(old.db, "SELECT count(*) FROM request_log WHERE key_name IS NULL"), 1);
    assert_int_equal(raw_int(old.db, "PRAGMA user_version"), AG_STORE_SCHEMA_VERSION);
    (void)f;
    tmpdir_remove(&old);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(crud_and_change_counter, setup, teardown),
        cmocka_unit_test_setup_teardown(usage_through_the_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(an_older_file_gets_the_tables, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
