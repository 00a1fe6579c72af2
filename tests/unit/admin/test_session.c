/* Unit tests for admin/session.c: tokens expire and revoke, the oldest is evicted from a full
 * table, and a session persisted through the store (its hash only) is valid again after a
 * restart until its own expiry. */
#include "ag_test.h"

#include "admin/session.h"
#include "store/store.h"
#include "store/writer.h"

#include "../store/store_test_util.h"

#include <string.h>

static void tokens(void **state)
{
    struct ag_sessions *s = ag_sessions_new();
    char t[AG_SESSION_TOKEN_SIZE];
    assert_int_equal(ag_sessions_create(s, 1000, 5000, t, NULL), 0);
    assert_int_equal(strlen(t), AG_SESSION_TOKEN_SIZE - 1);
    assert_true(ag_sessions_valid(s, ag_str_c(t), 1001));
    assert_false(ag_sessions_valid(s, ag_str_c(t), 6000)); /* expired */
    assert_false(ag_sessions_valid(s, AG_STR("ags_nope"), 1001));
    char t2[AG_SESSION_TOKEN_SIZE];
    assert_int_equal(ag_sessions_create(s, 2000, 5000, t2, NULL), 0);
    assert_string_not_equal(t, t2);
    assert_true(ag_sessions_revoke(s, ag_str_c(t2), NULL));
    assert_false(ag_sessions_valid(s, ag_str_c(t2), 2001));
    assert_false(ag_sessions_revoke(s, ag_str_c(t2), NULL));
    ag_sessions_free(s);
}

static void eviction(void **state)
{
    struct ag_sessions *s = ag_sessions_new();
    char first[AG_SESSION_TOKEN_SIZE], t[AG_SESSION_TOKEN_SIZE];
    assert_int_equal(ag_sessions_create(s, 0, 1000000, first, NULL), 0);
    for (int i = 1; i <= 64; i++)
        assert_int_equal(ag_sessions_create(s, i, 1000000, t, NULL), 0);
    assert_false(ag_sessions_valid(s, ag_str_c(first), 100)); /* the oldest made room */
    assert_true(ag_sessions_valid(s, ag_str_c(t), 100));
    ag_sessions_clear(s);
    assert_false(ag_sessions_valid(s, ag_str_c(t), 100));
    ag_sessions_free(s);
}

struct seen {
    size_t n;
    struct ag_session_row rows[8];
};

static void on_row(const struct ag_session_row *row, void *ud)
{
    struct seen *v = ud;
    assert_true(v->n < 8);
    v->rows[v->n++] = *row;
}

/* What the gateway persists for a login is the token's hash: the token is nowhere in the file. */
static void token_never_stored(void **state)
{
    struct tmpdir td;
    struct ag_store *st = NULL;
    tmpdir_make(&td);
    assert_int_equal(ag_store_open(td.dir, &st, NULL, 0), 0);
    struct ag_writer *w = ag_writer_new(st, NULL);
    assert_non_null(w);
    struct ag_sessions *ss = ag_sessions_new();
    char token[AG_SESSION_TOKEN_SIZE];
    struct ag_session_row row;
    assert_int_equal(ag_sessions_create(ss, 1000, 60000, token, &row), 0);
    assert_int_equal(ag_writer_session_put(w, &row, AG_SESSIONS_MAX), 0);
    assert_int_equal(ag_writer_flush(w), 0);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM admin_sessions WHERE instr(CAST(token_hash AS TEXT), '%s') "
             "OR instr(hex(token_hash), upper(hex('%s')))",
             token + 4, token + 4);
    assert_int_equal(raw_int(td.db, sql), 0);
    assert_int_equal(raw_int(td.db, "SELECT length(token_hash) FROM admin_sessions"), 32);

    /* restored into a fresh table (a restart): the token is accepted until its expiry */
    struct ag_sessions *again = ag_sessions_new();
    struct seen v = {0};
    assert_int_equal(ag_store_sessions_load(st, 2000, on_row, &v), 1);
    ag_sessions_restore(again, &v.rows[0], 2000);
    assert_true(ag_sessions_valid(again, ag_str_c(token), 2000));
    assert_false(ag_sessions_valid(again, ag_str_c(token), 61000));
    ag_sessions_free(again);
    ag_sessions_free(ss);
    ag_writer_free(w);
    ag_store_free(st);
    tmpdir_remove(&td);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tokens),
        cmocka_unit_test(eviction),
        cmocka_unit_test(token_never_stored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
